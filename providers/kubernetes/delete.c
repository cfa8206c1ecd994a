/* delete.c: DELETE with preconditions.uid, then wait until the object is gone. What it waits
 * for is said on every poll and in the timeout's error: a namespace's phase, its conditions'
 * messages and the finalizers holding it (spec.finalizers and metadata.finalizers), so a
 * namespace stuck on a finalizer is named, not hidden. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "kubernetes/kube_int.h"

#define DELETE_DEFAULT_LIMIT 600.0

struct gone_ctx {
    struct kube_conn *k;
    const struct kube_ref *ref;
    const char *uid;
    const char *what;
};

static void add_list(struct strbuf *sb, const json_t *arr, const char *where, int *first)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) continue;
        strbuf_addf(sb, "%s%s (%s)", *first ? "" : ", ", json_string_value(v), where);
        *first = 0;
    }
}

/* "namespace foo is Terminating; waiting on finalizers kubernetes (spec.finalizers); ..." */
static void describe(const struct gone_ctx *g, const json_t *live, char *note, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    const json_t *status = json_object_get(live, "status");
    const char *phase = json_string_value(json_object_get(status, "phase"));
    strbuf_addf(&sb, "waiting for %s to be deleted", g->what);
    if (phase) strbuf_addf(&sb, " (%s)", phase);
    int first = 1;
    struct strbuf fin = STRBUF_INIT;
    strbuf_init(&fin);
    add_list(&fin, json_object_get(json_object_get(live, "spec"), "finalizers"), "spec.finalizers", &first);
    add_list(&fin, json_object_get(json_object_get(live, "metadata"), "finalizers"), "metadata.finalizers", &first);
    if (fin.len) strbuf_addf(&sb, "; finalizers left: %s", fin.buf);
    size_t i;
    const json_t *cond;
    json_array_foreach(json_object_get(status, "conditions"), i, cond) {
        const char *st = json_string_value(json_object_get(cond, "status"));
        const char *msg = json_string_value(json_object_get(cond, "message"));
        const char *type = json_string_value(json_object_get(cond, "type"));
        if (!st || strcmp(st, "True") != 0 || !msg || !*msg) continue;
        strbuf_addf(&sb, "; %s: %s", type ? type : "condition", msg);
    }
    snprintf(note, n, "%s", sb.buf);
    strbuf_release(&fin);
    strbuf_release(&sb);
}

static int poll_gone(struct call *c, void *ctx, char *note, size_t n, struct mesh_err *e)
{
    struct gone_ctx *g = ctx;
    json_t *live = NULL;
    struct mesh_err ge;
    int rc = kube_get(c, g->k, g->ref, &live, &ge);
    if (rc == MESH_ENOTFOUND) return 1;
    if (rc < 0) return mesh_err_copy(e, &ge, NULL);
    const char *uid = json_string_value(json_object_get(json_object_get(live, "metadata"), "uid"));
    if (g->uid && uid && strcmp(uid, g->uid) != 0) {  /* someone made a new one: ours is gone */
        json_decref(live);
        return 1;
    }
    describe(g, live, note, n);
    json_decref(live);
    return 0;
}

static json_t *delete_options(const struct kube_ref *ref, const char *uid)
{
    /* Background: the object goes at once and its dependents after it; the wait below sees it
     * gone. (Foreground would hold it until every dependent is gone, through a finalizer.) */
    json_t *o = json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "DeleteOptions", "propagationPolicy",
                          "Background");
    if (uid && *uid) json_object_set_new(o, "preconditions", json_pack("{s:s}", "uid", uid));
    (void)ref;
    return o;
}

int kube_delete(struct call *c, struct kube_conn *k, const struct kube_ref *ref, const char *uid, struct mesh_err *e)
{
    mesh_err_init(e);
    char what[400];
    kube_what(ref, what, sizeof(what));
    struct kube_resource res;
    if (kube_resource_of(c, k, ref->api_version, ref->kind, &res, e) < 0) return e->code;
    char *path = kube_path(&res, ref->ns, ref->name);
    json_t *opts = delete_options(ref, uid);
    struct kube_req r = {.method = "DELETE", .path = path, .body = opts, .what = what,
                         .secret = strcmp(ref->kind, "Secret") == 0};
    int rc = kube_request(c, k, &r, NULL, e);
    json_decref(opts);
    free(path);
    if (rc == MESH_ECONFLICT && uid && strstr(e->msg, "recondition")) {
        /* The name holds another incarnation (its uid differs): ours is gone already. */
        char msg[sizeof(e->msg)];
        snprintf(msg, sizeof(msg), "%s", e->msg);
        mesh_err_clear(e);
        return mesh_err_set(e, MESH_ENOTFOUND, NULL, "%s (another object of that name, not uid %s)", msg, uid);
    }
    if (rc) return rc;
    struct gone_ctx g = {k, ref, uid, what};
    return kube_wait_until(c, DELETE_DEFAULT_LIMIT, poll_gone, &g, k->cluster, e);
}
