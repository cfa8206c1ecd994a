/* discovery.c: which path serves a kind (GET /api/v1 or /apis/GROUP/VERSION, the kinds of one
 * group version at a time), cached on the handle for the run and fetched again once when a kind
 * is unknown (a CRD installed a moment ago). Also the path and name helpers. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "kubernetes/kube_int.h"

void kube_escape(struct strbuf *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            strbuf_addch(sb, (char)*p);
        else
            strbuf_addf(sb, "%%%02X", *p);
    }
}

char *kube_path(const struct kube_resource *r, const char *ns, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    strbuf_adds(&sb, r->prefix);
    if (r->namespaced && ns && *ns) {
        strbuf_adds(&sb, "/namespaces/");
        kube_escape(&sb, ns);
    }
    strbuf_addf(&sb, "/%s", r->plural);
    if (name) {
        strbuf_addch(&sb, '/');
        kube_escape(&sb, name);
    }
    return strbuf_detach(&sb);
}

const char *kube_what(const struct kube_ref *ref, char *buf, size_t n)
{
    char kind[64];
    size_t i = 0;
    for (; ref->kind && ref->kind[i] && i + 1 < sizeof(kind); i++) kind[i] = (char)tolower((unsigned char)ref->kind[i]);
    kind[i] = '\0';
    if (ref->ns && *ref->ns)
        snprintf(buf, n, "%s %s/%s", kind, ref->ns, ref->name ? ref->name : "");
    else
        snprintf(buf, n, "%s %s", kind, ref->name ? ref->name : "");
    return buf;
}

int kube_ref_of(const json_t *obj, struct kube_ref *ref, struct mesh_err *e)
{
    const json_t *meta = json_object_get(obj, "metadata");
    ref->api_version = json_string_value(json_object_get(obj, "apiVersion"));
    ref->kind = json_string_value(json_object_get(obj, "kind"));
    ref->name = json_string_value(json_object_get(meta, "name"));
    ref->ns = json_string_value(json_object_get(meta, "namespace"));
    const char *missing = !ref->api_version ? "apiVersion" : !ref->kind ? "kind" : !ref->name ? "metadata.name" : NULL;
    if (missing) return mesh_err_set(e, MESH_EINVAL, NULL, "the object has no %s", missing);
    return 0;
}

static void prefix_of(const char *api_version, char *buf, size_t n)
{
    if (strchr(api_version, '/')) snprintf(buf, n, "/apis/%s", api_version);
    else snprintf(buf, n, "/api/%s", api_version);
}

/* GET the group version's resource list into the cache (under no lock: requests may be slow). */
static int fetch(struct call *c, struct kube_conn *k, const char *api_version, const char *kind, struct mesh_err *e)
{
    char prefix[256], what[300];
    prefix_of(api_version, prefix, sizeof(prefix));
    snprintf(what, sizeof(what), "discovery of %s", api_version);
    struct kube_req r = {.method = "GET", .path = prefix, .what = what};
    json_t *list = NULL;
    int rc = kube_request(c, k, &r, &list, e);
    if (rc == MESH_ENOTFOUND) {
        mesh_err_clear(e);
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: the API server serves no %s (kind %s): is its CustomResourceDefinition installed?",
                            k->cluster, api_version, kind);
    }
    if (rc) return rc;
    json_t *kinds = json_object();
    size_t i;
    const json_t *res;
    json_array_foreach(json_object_get(list, "resources"), i, res) {
        const char *name = json_string_value(json_object_get(res, "name"));
        const char *rk = json_string_value(json_object_get(res, "kind"));
        if (!name || !rk || strchr(name, '/')) continue;  /* subresources: pods/status */
        json_object_set_new(kinds, rk, json_pack("{s:s, s:b}", "name", name, "namespaced",
                                                 json_is_true(json_object_get(res, "namespaced"))));
    }
    json_decref(list);
    pthread_mutex_lock(&k->mu);
    if (!k->discovery) k->discovery = json_object();
    json_object_set_new(k->discovery, api_version, kinds);
    pthread_mutex_unlock(&k->mu);
    return 0;
}

/* 1 when the cache knows the kind (out filled), 0 when not. */
static int cached(struct kube_conn *k, const char *api_version, const char *kind, struct kube_resource *out)
{
    pthread_mutex_lock(&k->mu);
    const json_t *gv = json_object_get(k->discovery, api_version);
    const json_t *res = json_object_get(gv, kind);
    int found = res != NULL;
    if (found) {
        prefix_of(api_version, out->prefix, sizeof(out->prefix));
        snprintf(out->plural, sizeof(out->plural), "%s", json_string_value(json_object_get(res, "name")));
        out->namespaced = json_is_true(json_object_get(res, "namespaced"));
    }
    int known_gv = gv != NULL;
    pthread_mutex_unlock(&k->mu);
    return found ? 1 : known_gv ? 0 : -1;
}

int kube_resource_of(struct call *c, struct kube_conn *k, const char *api_version, const char *kind,
                     struct kube_resource *out, struct mesh_err *e)
{
    mesh_err_init(e);
    memset(out, 0, sizeof(*out));
    if (cached(k, api_version, kind, out) == 1) return 0;
    /* Unknown group version, or a kind it did not list when asked: ask once more. */
    if (fetch(c, k, api_version, kind, e) < 0) return e->code;
    if (cached(k, api_version, kind, out) == 1) return 0;
    return mesh_err_set(e, MESH_EINVAL, NULL, "%s: the API server knows no kind %s in %s", k->cluster, kind, api_version);
}
