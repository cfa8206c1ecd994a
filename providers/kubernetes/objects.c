/* objects.c: the driver half of objects.h: create-or-adopt, get that tells incarnations apart,
 * find by mesh's markers, delete with a uid precondition, polling. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "http.h"
#include "kubernetes/objects.h"

int kobj_conn(struct call *c, struct kube_conn **k)
{
    *k = c->provider;
    if (*k) return 0;
    return mesh_err_set(c->err, MESH_EINVAL, c->address,
                        "no Kubernetes connection: say `connection: kubernetes_connection.CLUSTER` on the resource");
}

static const char *ns_slash(const struct kube_ref *r) { return r->ns && *r->ns ? "/" : ""; }

/* "configmap", as the client's messages name kinds. */
static const char *lower(const char *kind, char *buf, size_t n)
{
    size_t i = 0;
    for (; kind && kind[i] && i + 1 < n; i++) buf[i] = (char)tolower((unsigned char)kind[i]);
    buf[i] = 0;
    return buf;
}

int kobj_poll_sleep(struct call *c, int *n, const char *what)
{
    if (c->cancel && *c->cancel) return mesh_err_set(c->err, MESH_ECANCELED, c->address, "cancelled while %s", what);
    double now = mesh_now_mono();
    if (c->deadline > 0 && now >= c->deadline)
        return mesh_err_set(c->err, MESH_ETIMEOUT, c->address, "timed out %s", what);
    if (c->progress) c->progress(c->progress_ctx, c->address, "%s", what);
    double d = 0.25 * pow(1.5, *n < 10 ? *n : 10);
    if (d > 5) d = 5;
    d *= http_backoff_scale();
    if (d < 0.01) d = 0.01;
    if (c->deadline > 0 && now + d > c->deadline) d = c->deadline - now + 0.01;
    (*n)++;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        if (c->cancel && *c->cancel) break;
    }
    return 0;
}

static int deleting(const json_t *live) { return kobj_at(live, "metadata", "deletionTimestamp", NULL) != NULL; }

int kobj_get_ours(struct call *c, const struct kube_ref *ref, const char *uid, json_t **live)
{
    struct kube_conn *k;
    int rc = kobj_conn(c, &k);
    if (rc) return rc;
    struct mesh_err e;
    mesh_err_init(&e);
    json_t *o = NULL;
    rc = kube_get(c, k, ref, &o, &e);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return kube_fail(c, &e);
    const char *have = kobj_str(kobj_at(o, "metadata", NULL, NULL), "uid");
    /* another uid: ours was deleted and someone made a new one under the name; being deleted:
     * going (a namespace on its finalizers), so a plan makes it again once it is gone */
    if ((uid && (!have || strcmp(have, uid) != 0)) || deleting(o)) {
        json_decref(o);
        return MESH_ENOTFOUND;
    }
    *live = o;
    return 0;
}

/* Waits until ref, being deleted, is gone; *live is then NULL (or the object, when it came
 * back under another owner before we looked). */
static int wait_gone(struct call *c, struct kube_conn *k, const struct kube_ref *ref, json_t **live)
{
    int n = 0;
    while (*live && deleting(*live)) {
        char what[700], kb[64];
        snprintf(what, sizeof(what), "waiting for %s %s%s%s, being deleted, to be gone before making it again",
                 lower(ref->kind, kb, sizeof(kb)), ref->ns ? ref->ns : "", ns_slash(ref), ref->name);
        int rc = kobj_poll_sleep(c, &n, what);
        if (rc) return rc;
        json_decref(*live);
        *live = NULL;
        struct mesh_err e;
        mesh_err_init(&e);
        rc = kube_get(c, k, ref, live, &e);
        if (rc == MESH_ENOTFOUND) return 0;
        if (rc) return kube_fail(c, &e);
    }
    return 0;
}

int kobj_apply(struct call *c, const json_t *obj, int force, json_t **live)
{
    struct kube_conn *k;
    int rc = kobj_conn(c, &k);
    if (rc) return rc;
    struct mesh_err e;
    mesh_err_init(&e);
    rc = kube_apply(c, k, obj, force, live, &e);
    if (rc == MESH_ECONFLICT && !force && c->type && strcmp(c->type, "kubernetes_manifest") == 0) {
        size_t n = strlen(e.msg);
        snprintf(e.msg + n, sizeof(e.msg) - n, "; `force_conflicts: true` takes these fields over");
    }
    return rc ? kube_fail(c, &e) : 0;
}

int kobj_create(struct call *c, const json_t *obj, int force, json_t **live)
{
    struct kube_conn *k;
    int rc = kobj_conn(c, &k);
    if (rc) return rc;
    struct kube_ref ref;
    struct mesh_err e;
    mesh_err_init(&e);
    if (kube_ref_of(obj, &ref, &e)) return kube_fail(c, &e);
    json_t *have = NULL;
    rc = kube_get(c, k, &ref, &have, &e);
    if (rc && rc != MESH_ENOTFOUND) return kube_fail(c, &e);
    rc = wait_gone(c, k, &ref, &have);
    if (!rc && have && !kobj_ours(have, c->address)) {
        const char *other = kobj_str(kobj_at(have, "metadata", "annotations", NULL), KOBJ_ANN_ADDRESS);
        char id[600], owner[400], kb[64];
        kobj_import_id(c->type, &ref, id, sizeof(id));
        if (other) snprintf(owner, sizeof(owner), "mesh made it for %.300s", other);
        else snprintf(owner, sizeof(owner), "%s", "mesh did not make it");
        rc = mesh_err_set(c->err, MESH_ECONFLICT, c->address,
                          "%s: %s %s%s%s already exists and %s: `mesh import %s %s` adopts it, or choose another name",
                          kube_conn_cluster(k), lower(ref.kind, kb, sizeof(kb)), ref.ns ? ref.ns : "", ns_slash(&ref), ref.name, owner,
                          c->address, id);
    }
    json_decref(have);
    return rc ? rc : kobj_apply(c, obj, force, live);
}

int kobj_find(struct call *c, const char *api_version, const char *kind, const char *ns, const char *name,
              json_t **live)
{
    struct kube_conn *k;
    if (!name || kobj_conn(c, &k)) return MESH_ENOTFOUND;
    struct mesh_err e;
    mesh_err_init(&e);
    json_t *items = NULL;
    int rc = kube_list(c, k, api_version, kind, ns && *ns ? ns : NULL, KOBJ_SELECTOR, &items, &e);
    if (rc == MESH_ENOTFOUND) return rc;  /* the kind itself is unknown (a CRD not made yet) */
    if (rc) return kube_fail(c, &e);
    rc = MESH_ENOTFOUND;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *n = kobj_str(kobj_at(it, "metadata", NULL, NULL), "name");
        if (n && strcmp(n, name) == 0 && kobj_ours(it, c->address) && !deleting(it)) {
            *live = json_incref(it);
            rc = 0;
            break;
        }
    }
    json_decref(items);
    return rc;
}

int kobj_delete(struct call *c, const struct kube_ref *ref, const char *uid)
{
    struct kube_conn *k;
    int rc = kobj_conn(c, &k);
    if (rc) return rc;
    struct mesh_err e;
    mesh_err_init(&e);
    rc = kube_delete(c, k, ref, uid, &e);
    if (rc == MESH_ENOTFOUND) return 0;
    return rc ? kube_fail(c, &e) : 0;
}

int kobj_locate(struct call *c, const json_t *outputs, const char *api_version, const char *kind, int namespaced,
                struct kube_ref *ref, char *buf, size_t n)
{
    memset(ref, 0, sizeof(*ref));
    ref->api_version = api_version;
    ref->kind = kind;
    ref->ns = namespaced ? kobj_str(outputs, "namespace") : NULL;
    ref->name = kobj_str(outputs, "name");
    if (ref->name && (ref->ns || !namespaced)) return 0;
    const char *id = kobj_str(outputs, "object_ref");
    if (!id) id = kobj_str(outputs, "id");
    if (kobj_split_id(id, buf, n, &ref->ns, &ref->name) || !ref->ns != !namespaced)
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "the ID of a %s is %s, not `%s`", c->type,
                            namespaced ? "NAMESPACE/NAME" : "its name", id ? id : "");
    return 0;
}

static void check_to_err(void *ctx, const char *attr, const char *msg)
{
    struct call *c = ctx;
    mesh_err_set(c->err, MESH_EINVAL, c->address, "%s: %s", attr, msg);
}

int kobj_checked(struct call *c, const json_t *desired,
                 int (*check)(struct call *, const json_t *, check_report_fn, void *))
{
    return check(c, desired, check_to_err, c) ? c->err->code : 0;
}
