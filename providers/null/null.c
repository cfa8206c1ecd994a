/* null.c: null_resource, a resource that does nothing (like Terraform's terraform_data), for tests
 * and benchmarks. With MESH_NULL_STORE=DIR every live object is one JSON file DIR/<id>.json holding
 * its address, run and attributes, written atomically, so tests can count orphans and exercise
 * find; without it nothing is written and read answers from the outputs alone.
 *
 * null_connection proves the connection contract without a cluster: a null_resource that says
 * `connection: null_connection.X` gets the null provider's handle opened from X's outputs, and its
 * object file records the connection it was made through. Every later call checks it is reached
 * through that same connection (refresh, update, delete, rollback, recovery), so an engine that
 * hands a call the wrong handle fails loudly. A connection named in MESH_NULL_UNREACHABLE (a
 * comma-separated list of names) does not answer, like a cluster whose API server is down. */
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

#include "base/xalloc.h"
#include "driver.h"

static const struct attr null_schema[] = {
    {"triggers", T_MAP, ATTR_FORCE_NEW, "arbitrary values; a change replaces the resource"},
    {"sensitive_triggers", T_MAP, ATTR_FORCE_NEW | ATTR_SENSITIVE, "like triggers, never shown or stored in the clear"},
    {"input", T_ANY, 0, "any value; a change updates in place; copied to the output `output`"},
    {"id", T_STRING, ATTR_COMPUTED, "random identifier"},
    {"output", T_ANY, ATTR_COMPUTED | ATTR_RECOMPUTED, "the value of input"},
    {NULL, 0, 0, NULL},
};

/* The provider handle: the connection a call reaches objects through (NULL name: none). */
struct null_handle {
    char *connection;
};

static int null_open(const json_t *config, void **handle, struct mesh_err *err)
{
    (void)err;
    struct null_handle *h = xcalloc(1, sizeof(*h));
    /* the mesh: section has no connection_name: only a null_connection's outputs do */
    const char *name = json_string_value(json_object_get(config, "connection_name"));
    h->connection = name ? xstrdup(name) : NULL;
    *handle = h;
    return 0;
}

static void null_close(void *handle)
{
    struct null_handle *h = handle;
    if (!h) return;
    free(h->connection);
    free(h);
}

static const struct provider null_provider = {.name = "null", .open = null_open, .close = null_close};

static const char *call_connection(const struct call *c)
{
    const struct null_handle *h = c->provider;
    return h ? h->connection : NULL;
}

/* An object made through one connection reached through another: the engine's mistake. */
static int null_check_connection(struct call *c, const json_t *doc)
{
    const char *made = json_string_value(json_object_get(doc, "connection"));
    const char *now = call_connection(c);
    if ((!made && !now) || (made && now && strcmp(made, now) == 0)) return 0;
    return mesh_err_set(c->err, MESH_ERR, c->address, "null store: the object lives in connection %s but was reached through %s",
                        made ? made : "(none)", now ? now : "(none)");
}

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
    if (call_connection(c)) json_object_set_new(doc, "connection", json_string(call_connection(c)));
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

/* Before changing an object: it must be reached through the connection it was made in. */
static int null_store_check(struct call *c, const char *id)
{
    const char *dir = null_store();
    if (!dir) return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.json", dir, id);
    json_t *doc = json_load_file(path, 0, NULL);
    int rc = doc ? null_check_connection(c, doc) : 0;
    json_decref(doc);
    return rc;
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

static int null_touches_world(void)
{
    return null_store() != NULL;
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
            if (null_check_connection(c, doc)) {
                json_decref(doc);
                closedir(d);
                return MESH_ERR;
            }
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
    if (null_check_connection(c, doc)) {
        json_decref(doc);
        return MESH_ERR;
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
    int rc = null_store_check(c, id);
    if (!rc) rc = null_store_write(c, id, desired);
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
    int rc = null_store_check(c, id);
    if (rc) return rc;
    if (unlink(path) != 0 && errno != ENOENT)
        return mesh_err_set(c->err, MESH_ERR, c->address, "null store: cannot remove %s: %s", path, strerror(errno));
    return 0;
}

const struct driver null_resource_driver = {
    .type = "null_resource",
    .provider = &null_provider,
    .schema = null_schema,
    .flags = DRIVER_CREATE_BEFORE_DESTROY,
    .doc = "does nothing; for tests, benchmarks and ordering (like terraform_data)",
    .create = null_create,
    .wait = NULL,
    .find = null_find,
    .touches_world = null_touches_world,
    .read = null_read,
    .update = null_update,
    .delete = null_delete,
};

/* ---- null_connection ---- */

static const struct attr null_connection_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the connection's name; a new name is a new connection"},
    {"id", T_STRING, ATTR_COMPUTED, "nullconn-<name>"},
    {"connection_name", T_STRING, ATTR_COMPUTED, "what opens the handles of the resources that belong to it"},
    {NULL, 0, 0, NULL},
};

static int nullconn_answer(struct call *c, const json_t *attrs, json_t **outputs)
{
    const char *name = json_string_value(json_object_get(attrs, "name"));
    if (!name) name = json_string_value(json_object_get(attrs, "connection_name"));
    if (!name) return mesh_err_set(c->err, MESH_EINVAL, c->address, "null_connection: no name");
    const char *down = getenv("MESH_NULL_UNREACHABLE");
    size_t n = strlen(name);
    for (const char *p = down; p && *p; p += strcspn(p, ","), p += *p == ',')
        if (strncmp(p, name, n) == 0 && (p[n] == ',' || !p[n]))
            return mesh_err_set(c->err, MESH_ERR, c->address, "connection %s does not answer (MESH_NULL_UNREACHABLE)", name);
    char id[300];
    snprintf(id, sizeof(id), "nullconn-%s", name);
    *outputs = json_pack("{s:s, s:s, s:s}", "id", id, "connection_name", name, "name", name);
    return 0;
}

static int nullconn_create(struct call *c, const json_t *desired, json_t **outputs)
{
    return nullconn_answer(c, desired, outputs);
}

static int nullconn_read(struct call *c, const json_t *outputs, json_t **current)
{
    return nullconn_answer(c, outputs, current);
}

static int nullconn_delete(struct call *c, const json_t *outputs)
{
    (void)c;
    (void)outputs;
    return 0;
}

const struct driver null_connection_driver = {
    .type = "null_connection",
    .connects = &null_provider,
    .schema = null_connection_schema,
    .doc = "a connection for null_resource (for tests of the connection contract)",
    .create = nullconn_create,
    .read = nullconn_read,
    .delete = nullconn_delete,
};
