/* meta.c: the pure half of objects.h: mesh's markers merged into an object's metadata, which
 * labels and annotations are the user's, secret data to and from base64 (base64.c), import IDs. No I/O,
 * so the unit tests cover all of it. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wipe.h"
#include "base/xalloc.h"
#include "base64.h"
#include "kubernetes/objects.h"

const char *kobj_str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

json_t *kobj_at(const json_t *o, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(o, a);
    if (v && b) v = json_object_get(v, b);
    if (v && b && c) v = json_object_get(v, c);
    return v;
}

/* Copies the string members of user into out (labels and annotations are strings only: check()
 * reports the rest before any call). */
static void copy_strings(json_t *out, const json_t *user)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)user, k, v) if (json_is_string(v)) json_object_set(out, k, v);
}

static void put_markers(json_t *labels, json_t *annotations, const char *address, const char *run_id,
                        const char *name)
{
    json_object_set_new(labels, KOBJ_LABEL_MANAGED_BY, json_string(KOBJ_MANAGED_BY));
    json_object_set_new(annotations, KOBJ_ANN_ADDRESS, json_string(address ? address : ""));
    json_object_set_new(annotations, KOBJ_ANN_RUN, json_string(run_id ? run_id : ""));
    json_object_set_new(annotations, KOBJ_ANN_NAME, json_string(name ? name : ""));
}

json_t *kobj_metadata(const char *address, const char *run_id, const char *ns, const char *name,
                      const json_t *labels, const json_t *annotations)
{
    json_t *m = json_object(), *l = json_object(), *a = json_object();
    json_object_set_new(m, "name", json_string(name ? name : ""));
    if (ns && *ns) json_object_set_new(m, "namespace", json_string(ns));
    copy_strings(l, labels);
    copy_strings(a, annotations);
    put_markers(l, a, address, run_id, name);
    json_object_set_new(m, "labels", l);
    json_object_set_new(m, "annotations", a);
    return m;
}

json_t *kobj_marked(const char *address, const char *run_id, const json_t *obj)
{
    json_t *o = json_deep_copy(obj);
    json_t *m = json_object_get(o, "metadata");
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(o, "metadata", m);
    }
    json_t *l = json_object_get(m, "labels"), *a = json_object_get(m, "annotations");
    if (!json_is_object(l)) json_object_set_new(m, "labels", l = json_object());
    if (!json_is_object(a)) json_object_set_new(m, "annotations", a = json_object());
    put_markers(l, a, address, run_id, kobj_str(m, "name"));
    return o;
}

int kobj_mesh_key(const char *key)
{
    return strcmp(key, KOBJ_LABEL_MANAGED_BY) == 0 || strncmp(key, "mesh/", 5) == 0;
}

int kobj_system_key(const char *key)
{
    const char *slash = strchr(key, '/');
    if (!slash) return 0;
    size_t n = (size_t)(slash - key);
    static const char *const domains[] = {"kubernetes.io", "k8s.io", NULL};
    for (int i = 0; domains[i]; i++) {
        size_t d = strlen(domains[i]);
        if (n >= d && strncmp(slash - d, domains[i], d) == 0 && (n == d || slash[-(long)d - 1] == '.')) return 1;
    }
    return 0;
}

json_t *kobj_user_map(const json_t *live, const json_t *applied, int all)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)live, k, v) {
        if (kobj_mesh_key(k)) continue;
        if (applied ? !json_object_get(applied, k) : !all || kobj_system_key(k)) continue;
        json_object_set(out, k, v);
    }
    return out;
}

int kobj_ours(const json_t *obj, const char *address)
{
    const char *a = kobj_str(kobj_at(obj, "metadata", "annotations", NULL), KOBJ_ANN_ADDRESS);
    return a && address && strcmp(a, address) == 0;
}

json_t *kobj_encode_data(const json_t *data, const char **bad)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)data, k, v) {
        if (!json_is_string(v)) {
            if (bad) *bad = k;
            json_decref(out);
            return NULL;
        }
        char *b = b64_encode(json_string_value(v), json_string_length(v));
        json_object_set_new(out, k, json_string(b));
        wipe_free(b);
    }
    return out;
}

json_t *kobj_decode_value(const char *b64)
{
    size_t n = 0;
    unsigned char *b = b64_decode(b64, &n);
    if (!b) return NULL;
    json_t *s = json_stringn((const char *)b, n);
    if (!s) {
        char note[64];
        snprintf(note, sizeof(note), "(binary data, %zu bytes)", n);
        s = json_string(note);
    }
    wipe_free(b);
    return s;
}

json_t *kobj_decode_data(const json_t *data)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)data, k, v) {
        json_t *s = json_is_string(v) ? kobj_decode_value(json_string_value(v)) : NULL;
        if (!s) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, k, s);
    }
    return out;
}

int kobj_split_id(const char *id, char *buf, size_t n, const char **ns, const char **name)
{
    if (!id || !*id || strlen(id) >= n) return -1;
    snprintf(buf, n, "%s", id);
    char *slash = strchr(buf, '/');
    *ns = NULL;
    *name = buf;
    if (!slash) return 0;
    if (strchr(slash + 1, '/') || slash == buf || !slash[1]) return -1;
    *slash = 0;
    *ns = buf;
    *name = slash + 1;
    return 0;
}

void kobj_put_ids(json_t *outputs, const char *type, const json_t *live)
{
    const char *uid = kobj_str(kobj_at(live, "metadata", NULL, NULL), "uid");
    if (uid) {
        json_object_set_new(outputs, "id", json_string(uid));
        json_object_set_new(outputs, "uid", json_string(uid));
    }
    struct kube_ref ref;
    struct mesh_err e;
    mesh_err_init(&e);
    if (kube_ref_of(live, &ref, &e) == 0) {
        char id[1024];
        kobj_import_id(type, &ref, id, sizeof(id));
        json_object_set_new(outputs, "object_ref", json_string(id));
    }
}

void kobj_echo(json_t *outputs, const json_t *desired, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(desired, keys[i]);
        if (v && !json_is_null(v)) json_object_set(outputs, keys[i], v);
        else json_object_del(outputs, keys[i]);
    }
}

void kobj_observe_meta(json_t *cur, const json_t *outputs, const json_t *live, int import)
{
    static const char *const keys[] = {"labels", "annotations"};
    for (int i = 0; i < 2; i++) {
        const json_t *applied = json_object_get(outputs, keys[i]);
        if (!import && !applied) {
            json_object_del(cur, keys[i]);
            continue;
        }
        json_t *m = kobj_user_map(kobj_at(live, "metadata", keys[i], NULL), import ? NULL : applied, import);
        if (import && json_object_size(m) == 0) json_decref(m);
        else json_object_set_new(cur, keys[i], m);
    }
}

int kobj_check_meta(const json_t *desired, const char *key, const char *attr, check_report_fn report, void *ctx)
{
    const json_t *m = json_object_get(desired, key);
    if (!json_is_object(m)) return 0;
    int bad = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v) {
        char msg[600];
        if (kobj_mesh_key(k)) {
            snprintf(msg, sizeof(msg), "`%.200s` is mesh's own marker (it finds the objects it made by it): use another key", k);
            report(ctx, attr, msg);
            bad++;
        } else if (!json_is_string(v)) {
            snprintf(msg, sizeof(msg), "the value of `%.200s` must be a string (quote it: \"%s\")", k,
                     json_is_true(v) ? "true" : json_is_false(v) ? "false" : "...");
            report(ctx, attr, msg);
            bad++;
        }
    }
    return bad;
}

void kobj_import_id(const char *type, const struct kube_ref *ref, char *buf, size_t n)
{
    int manifest = type && strcmp(type, "kubernetes_manifest") == 0;
    int nsd = ref->ns && *ref->ns;
    snprintf(buf, n, "%s%s%s%s%s%s", manifest ? ref->api_version : "", manifest ? "/" : "", manifest ? ref->kind : "",
             manifest ? "/" : "", nsd ? ref->ns : "", nsd ? "/" : "");
    size_t len = strlen(buf);
    if (len < n) snprintf(buf + len, n - len, "%s", ref->name ? ref->name : "");
}

/* Sorted keys, each key and value followed by a NUL (neither holds one: JSON text), so that
 * {"ab": "c"} and {"a": "bc"} differ. */
static int key_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

void kobj_data_sha256(const json_t *data, char hex[65])
{
    size_t n = json_object_size(data), i = 0;
    const char **keys = xcalloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)data, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), key_cmp);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (i = 0; i < n; i++) {
        const json_t *val = json_object_get(data, keys[i]);
        const char *s = json_is_string(val) ? json_string_value(val) : "";
        EVP_DigestUpdate(ctx, keys[i], strlen(keys[i]) + 1);
        EVP_DigestUpdate(ctx, s, (json_is_string(val) ? json_string_length(val) : 0) + 1);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    free(keys);
    for (unsigned int j = 0; j < len && j < 32; j++) snprintf(hex + 2 * j, 3, "%02x", md[j]);
    hex[64] = 0;
}
