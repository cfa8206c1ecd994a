/* kubernetes_namespace.c: a namespace, applied with server-side apply. Its labels and annotations
 * are compared on the keys mesh set (the ones Kubernetes or other tools add are theirs); an
 * update takes back the keys someone else changed (force), since mesh made the namespace. Delete
 * waits until it is gone; kube_delete reports the finalizers a stuck one still waits on. Import ID:
 * the namespace's name. */
#include <string.h>

#include "kubernetes/objects.h"

static const struct attr ns_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the namespace's name"},
    {"labels", T_MAP, 0, "labels (strings); mesh adds app.kubernetes.io/managed-by: mesh"},
    {"annotations", T_MAP, 0, "annotations (strings); mesh adds mesh/address, mesh/run and mesh/name"},
    {"id", T_STRING, ATTR_COMPUTED, "metadata.uid: new for every incarnation"},
    {"uid", T_STRING, ATTR_COMPUTED, "metadata.uid"},
    {"object_ref", T_STRING, ATTR_COMPUTED, "the name: where the object is (the ID `mesh import` takes)"},
    {"phase", T_STRING, ATTR_COMPUTED, "status.phase (Active, Terminating)"},
    {NULL, 0, 0, NULL},
};

static const char *const ns_echo[] = {"name", "labels", "annotations", NULL};

static json_t *ns_object(struct call *c, const json_t *desired)
{
    json_t *meta = kobj_metadata(c->address, c->run_id, NULL, kobj_str(desired, "name"),
                                 json_object_get(desired, "labels"), json_object_get(desired, "annotations"));
    return json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "Namespace", "metadata", meta);
}

static json_t *ns_outputs(const json_t *live, const json_t *desired)
{
    json_t *o = json_object();
    kobj_echo(o, desired, ns_echo);
    kobj_put_ids(o, "kubernetes_namespace", live);
    const char *phase = kobj_str(kobj_at(live, "status", NULL, NULL), "phase");
    if (phase) json_object_set_new(o, "phase", json_string(phase));
    return o;
}

/* The namespace of outputs: its name, or the import ID. */
static int ns_ref(struct call *c, const json_t *outputs, struct kube_ref *ref, char *buf, size_t n)
{
    return kobj_locate(c, outputs, "v1", "Namespace", 0, ref, buf, n);
}

static int ns_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx);

static int ns_create(struct call *c, const json_t *desired, json_t **outputs)
{
    if (kobj_checked(c, desired, ns_check)) return c->err->code;
    json_t *obj = ns_object(c, desired), *live = NULL;
    int rc = kobj_create(c, obj, 0, &live);
    json_decref(obj);
    if (rc) return rc;
    *outputs = ns_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int ns_find(struct call *c, const json_t *desired, json_t **outputs)
{
    json_t *live = NULL;
    int rc = kobj_find(c, "v1", "Namespace", NULL, kobj_str(desired, "name"), &live);
    if (rc) return rc;
    *outputs = ns_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int ns_read(struct call *c, const json_t *outputs, json_t **current)
{
    struct kube_ref ref;
    char buf[512];
    int rc = ns_ref(c, outputs, &ref, buf, sizeof(buf));
    if (rc) return rc;
    json_t *live = NULL;
    rc = kobj_get_ours(c, &ref, kobj_str(outputs, "uid"), &live);
    if (rc) return rc;
    int import = !kobj_str(outputs, "name");
    json_t *cur = json_deep_copy(outputs);
    json_object_set_new(cur, "name", json_string(ref.name));
    kobj_observe_meta(cur, outputs, live, import);
    json_t *o = ns_outputs(live, json_null());
    json_object_update(cur, o);
    json_decref(o);
    json_decref(live);
    *current = cur;
    return 0;
}

static int ns_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                     json_t **new_outputs)
{
    if (kobj_checked(c, desired, ns_check)) return c->err->code;
    (void)prior;
    struct kube_ref ref = {"v1", "Namespace", NULL, kobj_str(desired, "name")};
    json_t *live = NULL;
    int rc = kobj_get_ours(c, &ref, kobj_str(outputs, "uid"), &live);
    if (rc == MESH_ENOTFOUND)
        return mesh_err_set(c->err, MESH_ENOTFOUND, c->address, "namespace %s was deleted outside mesh since the plan",
                            ref.name ? ref.name : "");
    json_decref(live);
    if (rc) return rc;
    json_t *obj = ns_object(c, desired);
    live = NULL;
    rc = kobj_apply(c, obj, 1, &live);  /* force: a key mesh sets that someone changed is drift */
    json_decref(obj);
    if (rc) return rc;
    *new_outputs = ns_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int ns_delete(struct call *c, const json_t *outputs)
{
    struct kube_ref ref;
    char buf[512];
    int rc = ns_ref(c, outputs, &ref, buf, sizeof(buf));
    return rc ? rc : kobj_delete(c, &ref, kobj_str(outputs, "uid"));
}

static int ns_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    return kobj_check_meta(desired, "labels", "labels", report, ctx) + kobj_check_meta(desired, "annotations", "annotations", report, ctx);
}

const struct driver kubernetes_namespace_driver = {
    .type = "kubernetes_namespace",
    .provider = &kubernetes_provider,
    .schema = ns_schema,
    .doc = "a Kubernetes namespace (server-side apply; delete waits until it is gone)",
    .timeout_create = KOBJ_TIMEOUT_CREATE,
    .timeout_update = KOBJ_TIMEOUT_UPDATE,
    .timeout_delete = KOBJ_TIMEOUT_DELETE,
    .create = ns_create,
    .find = ns_find,
    .read = ns_read,
    .update = ns_update,
    .delete = ns_delete,
    .check = ns_check,
};
