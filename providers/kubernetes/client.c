/* client.c: the REST calls of kube.h: version, server-side apply, get, list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "kubernetes/kube_int.h"

int kube_fail(struct call *c, const struct mesh_err *e) { return mesh_err_copy(c->err, e, c->address); }

int kube_version(struct call *c, struct kube_conn *k, json_t **info, struct mesh_err *e)
{
    struct kube_req r = {.method = "GET", .path = "/version", .what = NULL};
    json_t *reply = NULL;
    int rc = kube_request(c, k, &r, &reply, e);
    if (rc == 0 && !json_string_value(json_object_get(reply, "gitVersion")))
        rc = mesh_err_set(e, MESH_ERR, NULL, "%s: GET /version answered without a gitVersion: is %s a Kubernetes API server?",
                          k->cluster, k->server);
    if (rc == 0 && info) *info = reply;
    else json_decref(reply);
    return rc;
}

/* Secrets carry data mesh must keep out of logs. */
static int is_secret_kind(const char *kind) { return kind && strcmp(kind, "Secret") == 0; }

int kube_apply(struct call *c, struct kube_conn *k, const json_t *obj, int force, json_t **live, struct mesh_err *e)
{
    mesh_err_init(e);
    if (live) *live = NULL;
    struct kube_ref ref;
    struct mesh_err inner;
    mesh_err_init(&inner);
    if (kube_ref_of(obj, &ref, &inner) < 0) return mesh_err_set(e, MESH_EINVAL, NULL, "%s: %s", k->cluster, inner.msg);
    char what[400];
    kube_what(&ref, what, sizeof(what));
    struct kube_resource res;
    if (kube_resource_of(c, k, ref.api_version, ref.kind, &res, e) < 0) return e->code;
    if (res.namespaced && (!ref.ns || !*ref.ns))
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: %s: a %s lives in a namespace: set metadata.namespace", k->cluster,
                            what, ref.kind);
    char *path = kube_path(&res, ref.ns, ref.name);
    char query[64];
    snprintf(query, sizeof(query), "fieldManager=%s%s", KUBE_FIELD_MANAGER, force ? "&force=true" : "");
    struct kube_req r = {.method = "PATCH", .path = path, .query = query, .body = obj,
                         .content_type = "application/apply-patch+yaml", .what = what, .apply = 1,
                         .secret = is_secret_kind(ref.kind)};
    int rc = kube_request(c, k, &r, live, e);
    free(path);
    return rc;
}

int kube_get(struct call *c, struct kube_conn *k, const struct kube_ref *ref, json_t **live, struct mesh_err *e)
{
    mesh_err_init(e);
    if (live) *live = NULL;
    char what[400];
    kube_what(ref, what, sizeof(what));
    struct kube_resource res;
    if (kube_resource_of(c, k, ref->api_version, ref->kind, &res, e) < 0) return e->code;
    char *path = kube_path(&res, ref->ns, ref->name);
    struct kube_req r = {.method = "GET", .path = path, .what = what, .secret = is_secret_kind(ref->kind)};
    int rc = kube_request(c, k, &r, live, e);
    free(path);
    return rc;
}

int kube_list(struct call *c, struct kube_conn *k, const char *api_version, const char *kind, const char *ns,
              const char *label_selector, json_t **items, struct mesh_err *e)
{
    mesh_err_init(e);
    *items = NULL;
    struct kube_resource res;
    if (kube_resource_of(c, k, api_version, kind, &res, e) < 0) return e->code;
    char *path = kube_path(&res, ns, NULL);
    char what[300];
    snprintf(what, sizeof(what), "list of %s%s%s", kind, ns ? " in " : "", ns ? ns : "");
    json_t *all = json_array();
    char *cont = NULL;
    int rc = 0;
    do {  /* pages of 500: a big cluster's list fits under the reply cap */
        struct strbuf q = STRBUF_INIT;
        strbuf_init(&q);
        strbuf_adds(&q, "limit=500");
        if (label_selector && *label_selector) {
            strbuf_adds(&q, "&labelSelector=");
            kube_escape(&q, label_selector);
        }
        if (cont) {
            strbuf_adds(&q, "&continue=");
            kube_escape(&q, cont);
        }
        struct kube_req r = {.method = "GET", .path = path, .query = q.buf, .what = what,
                             .secret = is_secret_kind(kind)};
        json_t *page = NULL;
        rc = kube_request(c, k, &r, &page, e);
        strbuf_release(&q);
        free(cont);
        cont = NULL;
        if (rc) break;
        json_array_extend(all, json_object_get(page, "items"));
        const char *next = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
        if (next && *next) cont = xstrdup(next);
        json_decref(page);
    } while (cont);
    free(path);
    if (rc) {
        json_decref(all);
        return rc;
    }
    /* A list's items carry no apiVersion/kind; give them theirs so kube_ref_of works on them. */
    size_t i;
    json_t *it;
    json_array_foreach(all, i, it) {
        if (!json_object_get(it, "apiVersion")) json_object_set_new(it, "apiVersion", json_string(api_version));
        if (!json_object_get(it, "kind")) json_object_set_new(it, "kind", json_string(kind));
    }
    *items = all;
    return 0;
}

int kube_log(struct call *c, struct kube_conn *k, const char *ns, const char *name, const char *container, char **text,
             struct mesh_err *e)
{
    mesh_err_init(e);
    *text = NULL;
    struct strbuf path = STRBUF_INIT, query = STRBUF_INIT, body = STRBUF_INIT;
    strbuf_init(&path);
    strbuf_init(&query);
    strbuf_init(&body);
    strbuf_adds(&path, "/api/v1/namespaces/");
    kube_escape(&path, ns);
    strbuf_adds(&path, "/pods/");
    kube_escape(&path, name);
    strbuf_adds(&path, "/log");
    if (container) {
        strbuf_adds(&query, "container=");
        kube_escape(&query, container);
    }
    char what[400];
    snprintf(what, sizeof(what), "log of pod %s/%s", ns, name);
    struct kube_req r = {.method = "GET", .path = path.buf, .query = query.buf, .what = what, .text = &body};
    int rc = kube_request(c, k, &r, NULL, e);
    if (rc == 0) *text = strbuf_detach(&body);
    strbuf_release(&body);
    strbuf_release(&path);
    strbuf_release(&query);
    return rc;
}
