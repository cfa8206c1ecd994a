/* planfile.c: writing and reading saved plans (see planfile.h). */
#include "planfile.h"
#include "base/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/wipe.h"
#include "plan.h"
#include "session.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "store.h"

#define PLANFILE_FORMAT 1

static void fp_add(EVP_MD_CTX *md, const char *s)
{
    EVP_DigestUpdate(md, s, strlen(s) + 1);  /* with the NUL: fields cannot run together */
}

static void fp_add_json(EVP_MD_CTX *md, const json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    fp_add(md, t ? t : "(absent)");
    wipe_free(t);  /* a sensitive attribute's value */
}

void plan_fingerprint(const struct plan *p, char out[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < p->entries.len; i++) {
        const struct plan_entry *e = p->entries.items[i];
        if (e->action == ACT_NOOP) continue;
        fp_add(md, e->address);
        fp_add(md, e->deposed);
        fp_add(md, plan_action_name(e->action));
        for (size_t k = 0; k < e->changes.len; k++) {
            const struct plan_change *c = e->changes.items[k];
            char flags[16];
            snprintf(flags, sizeof(flags), "%d", c->flags);
            fp_add(md, c->name);
            fp_add(md, flags);
            fp_add_json(md, c->old);
            fp_add_json(md, c->new);
        }
    }
    unsigned char h[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, h, &n);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static char *file_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct strbuf sb = STRBUF_INIT;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) strbuf_add(&sb, buf, got);
    fclose(f);
    OPENSSL_cleanse(buf, sizeof(buf));  /* a var file's secrets; sb wipes what it lets go of */
    if (len) *len = sb.len;
    return strbuf_detach(&sb);
}

/* The header is authenticated as the associated data: lineage, serial and format bound. */
static void planfile_aad(char *buf, size_t n, const char *lineage, long long serial)
{
    snprintf(buf, n, "mesh-plan/%d/%s/%lld", PLANFILE_FORMAT, lineage, serial);
}

static json_t *planfile_payload(const struct plan *p, struct session *s, const char *lineage, long long serial,
                                struct mesh_err *err)
{
    size_t len;
    char *spec = file_text(s->o->spec_path, &len);
    if (!spec) {
        mesh_err_set(err, MESH_ERR, s->o->spec_path, "cannot read the spec: %s", strerror(errno));
        return NULL;
    }
    char fp[65];
    plan_fingerprint(p, fp);
    json_t *vars = json_array(), *files = json_array(), *targets = json_array();
    /* Variables as they were: MESH_VAR_ values of now, then --var (which wins), as --var. */
    extern char **environ;
    for (char **e = environ; e && *e; e++)  /* only the spec's: others were ignored with a warning */
        if (strncmp(*e, "MESH_VAR_", 9) == 0 && json_object_getn(s->spec->vars, *e + 9, strcspn(*e + 9, "=")))
            json_array_append_new(vars, json_string(*e + 9));
    for (size_t i = 0; i < s->o->vars.len; i++) json_array_append_new(vars, json_string(s->o->vars.items[i]));
    for (size_t i = 0; i < s->o->var_files.len; i++) {
        char *t = file_text(s->o->var_files.items[i], NULL);
        json_array_append_new(files, json_pack("{s:s, s:s}", "path", (const char *)s->o->var_files.items[i], "text", t ? t : ""));
        wipe_free(t);  /* its sensitive values; the payload's copy is wiped by jansson's free */
    }
    for (size_t i = 0; i < s->o->targets.len; i++) json_array_append_new(targets, json_string(s->o->targets.items[i]));
    json_t *payload = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:I}", "spec_path", s->o->spec_path, "spec_text",
                                spec, "vars", vars, "var_files", files, "targets", targets, "fingerprint", fp, "lineage",
                                lineage, "serial", (json_int_t)serial);
    wipe_free(spec);  /* defaults of sensitive variables may be in it */
    return payload;
}

int planfile_write(const char *path, const struct plan *p, struct session *s, const char *lineage, long long serial,
                   struct mesh_err *err)
{
    json_t *payload = planfile_payload(p, s, lineage, serial, err);
    if (!payload) return MESH_ERR;
    char aad[256];
    planfile_aad(aad, sizeof(aad), lineage, serial);
    json_t *enc = NULL;
    int rc = crypt_encrypt_value(lineage, aad, payload, &enc, err);
    json_decref(payload);
    if (rc) return rc;
    time_t now = time(NULL);
    char when[32];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    json_t *doc = json_pack("{s:i, s:s, s:I, s:s, s:{s:i, s:i, s:i}, s:o}", "mesh_plan", PLANFILE_FORMAT, "lineage", lineage,
                            "serial", (json_int_t)serial, "created", when, "summary", "add", p->add, "change", p->change,
                            "destroy", p->destroy, "payload", enc);
    /* Team state: where it is, in the clear, so that another machine can fetch the key that
     * opens the rest (a wrong place only means the key found there cannot) */
    char *url = session_state_url(s);
    if (url) json_object_set_new(doc, "state", json_string(url));
    free(url);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(doc);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t w = fd >= 0 ? write(fd, text, strlen(text)) : -1;
    int ok = fd >= 0 && w == (ssize_t)strlen(text) && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    free(text);
    if (!ok) return mesh_err_set(err, MESH_ERR, path, "cannot write the plan file: %s", strerror(errno));
    return 0;
}

char *planfile_state(const char *path)
{
    json_t *doc = json_load_file(path, 0, NULL);
    const char *url = json_string_value(json_object_get(doc, "state"));
    char *out = url ? xstrdup(url) : NULL;
    json_decref(doc);
    return out;
}

int planfile_read(const char *path, json_t **payload, struct mesh_err *err)
{
    *payload = NULL;
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) return mesh_err_set(err, MESH_EINVAL, path, "not a mesh plan file: %s", jerr.text);
    const char *lineage = json_string_value(json_object_get(doc, "lineage"));
    json_t *serial = json_object_get(doc, "serial"), *enc = json_object_get(doc, "payload");
    int rc = 0;
    if (json_integer_value(json_object_get(doc, "mesh_plan")) != PLANFILE_FORMAT || !lineage || !json_is_integer(serial) || !enc) {
        rc = mesh_err_set(err, MESH_EINVAL, path, "not a mesh plan file (or one from another version of mesh)");
    } else {
        char aad[256];
        planfile_aad(aad, sizeof(aad), lineage, json_integer_value(serial));
        struct mesh_err e;
        mesh_err_init(&e);
        if (crypt_decrypt_value(lineage, aad, enc, payload, &e) != 0)
            rc = mesh_err_set(err, MESH_ECONFLICT, path,
                              "the plan file was altered, or was made for another state (its state key cannot open "
                              "it); make a new one with `mesh plan -out`");
    }
    json_decref(doc);
    return rc;
}
