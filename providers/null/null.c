/* null.c: null_resource, a resource that does nothing (like Terraform's terraform_data), for tests
 * and benchmarks. With MESH_NULL_STORE=DIR every live object is one JSON file DIR/<id>.json holding
 * its address, run and attributes, written atomically, so tests can count orphans and exercise
 * find; without it nothing is written and read answers from the outputs alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "driver.h"

static const struct attr null_schema[] = {
    {"triggers", T_MAP, ATTR_FORCE_NEW, "arbitrary values; a change replaces the resource"},
    {"sensitive_triggers", T_MAP, ATTR_FORCE_NEW | ATTR_SENSITIVE, "like triggers, never shown or stored in the clear"},
    {"input", T_ANY, 0, "any value; a change updates in place; copied to the output `output`"},
    {"id", T_STRING, ATTR_COMPUTED, "random identifier"},
    {"output", T_ANY, ATTR_COMPUTED | ATTR_RECOMPUTED, "the value of input"},
    {NULL, 0, 0, NULL},
};

static const char *null_store_dir(void)
{
    const char *d = getenv("MESH_NULL_STORE");
    return d && *d ? d : NULL;
}

/* A process killed between writing DIR/<id>.json.tmp.PID and renaming it leaves the temporary
 * file behind; the first use of the store in each process removes those of dead processes. */
static void null_sweep_tmp(void)
{
    const char *dir = null_store_dir();
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *t = strstr(e->d_name, ".json.tmp.");
        if (!t) continue;
        char *end = NULL;
        long pid = strtol(t + 10, &end, 10);
        if (pid <= 0 || *end) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;   /* alive: still writing it */
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static const char *null_store(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, null_sweep_tmp);
    return null_store_dir();
}

static void null_new_id(char *buf, size_t n)
{
    unsigned char raw[8];
    if (RAND_bytes(raw, sizeof(raw)) != 1) memset(raw, 0, sizeof(raw));
    snprintf(buf, n, "null-%02x%02x%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3], raw[4],
             raw[5], raw[6], raw[7]);
}

/* Writes DIR/<id>.json atomically (temp file + rename). */
static int null_store_write(struct call *c, const char *id, const json_t *desired)
{
    const char *dir = null_store();
    if (!dir) return 0;
    char path[4096], tmp[4200];
    snprintf(path, sizeof(path), "%s/%s.json", dir, id);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    json_t *doc = json_pack("{s:s, s:s, s:s, s:o}", "id", id, "address", c->address, "run",
                            c->run_id ? c->run_id : "", "attributes", json_deep_copy(desired));
    /* Sensitive values are never stored in the clear, not even by the test store. */
    json_t *attrs = json_object_get(doc, "attributes");
    if (json_object_get(attrs, "sensitive_triggers"))
        json_object_set_new(attrs, "sensitive_triggers", json_string("(sensitive)"));
    int rc = json_dump_file(doc, tmp, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    if (rc != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return mesh_err_set(c->err, MESH_ERR, c->address, "null store: cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

static json_t *null_outputs(const char *id, const json_t *desired)
{
    json_t *in = json_object_get(desired, "input");
    return json_pack("{s:s, s:O}", "id", id, "output", in ? in : json_null());
}

static int null_create(struct call *c, const json_t *desired, json_t **outputs)
{
    char id[64];
    null_new_id(id, sizeof(id));
    int rc = null_store_write(c, id, desired);
    if (rc) return rc;
    *outputs = null_outputs(id, desired);
    return 0;
}

static int null_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *dir = null_store();
    if (!dir) return MESH_ENOTFOUND;
    DIR *d = opendir(dir);
    if (!d) return MESH_ENOTFOUND;
    struct dirent *e;
    int rc = MESH_ENOTFOUND;
    while (rc == MESH_ENOTFOUND && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        json_t *doc = json_load_file(path, 0, NULL);
        const char *addr = json_string_value(json_object_get(doc, "address"));
        const char *run = json_string_value(json_object_get(doc, "run"));
        if (addr && run && strcmp(addr, c->address) == 0 && c->run_id && strcmp(run, c->run_id) == 0) {
            const char *id = json_string_value(json_object_get(doc, "id"));
            json_t *attrs = json_object_get(doc, "attributes");
            *outputs = null_outputs(id ? id : "", attrs ? attrs : desired);
            rc = 0;
        }
        json_decref(doc);
    }
    closedir(d);
    return rc;
}

static int null_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = json_string_value(json_object_get(outputs, "id"));
    const char *dir = null_store();
    if (!dir || !id) {
        *current = json_deep_copy(outputs);
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.json", dir, id);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) {
        if (access(path, F_OK) != 0) return MESH_ENOTFOUND;
        return mesh_err_set(c->err, MESH_ERR, c->address, "null store: %s: %s", path, jerr.text);
    }
    json_t *attrs = json_object_get(doc, "attributes");
    json_t *cur = json_is_object(attrs) ? json_deep_copy(attrs) : json_object();
    json_object_del(cur, "sensitive_triggers");  /* not observable: the store never holds it */
    json_object_update(cur, (json_t *)outputs);
    json_object_set(cur, "output", json_object_get(cur, "input") ? json_object_get(cur, "input") : json_null());
    json_decref(doc);
    *current = cur;
    return 0;
}

static int null_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    const char *id = json_string_value(json_object_get(outputs, "id"));
    if (!id) return mesh_err_set(c->err, MESH_ERR, c->address, "update: no id in state");
    int rc = null_store_write(c, id, desired);
    if (rc) return rc;
    *new_outputs = null_outputs(id, desired);
    return 0;
}

static int null_delete(struct call *c, const json_t *outputs)
{
    const char *id = json_string_value(json_object_get(outputs, "id"));
    const char *dir = null_store();
    if (!dir || !id) return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.json", dir, id);
    if (unlink(path) != 0 && errno != ENOENT)
        return mesh_err_set(c->err, MESH_ERR, c->address, "null store: cannot remove %s: %s", path, strerror(errno));
    return 0;
}

const struct driver null_resource_driver = {
    .type = "null_resource",
    .schema = null_schema,
    .flags = DRIVER_CREATE_BEFORE_DESTROY,
    .doc = "does nothing; for tests, benchmarks and ordering (like terraform_data)",
    .create = null_create,
    .wait = NULL,
    .find = null_find,
    .read = null_read,
    .update = null_update,
    .delete = null_delete,
};
