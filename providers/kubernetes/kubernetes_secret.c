/* kubernetes_secret.c: a Secret, applied with server-side apply. data holds plain strings (mesh
 * base64-encodes them; read decodes them), SENSITIVE: encrypted in state, never in a message.
 * Like the namespace, only the data keys, labels and annotations mesh set are compared, and an
 * update takes back what someone else changed. Import ID: NAMESPACE/NAME. */
#include <stdio.h>
#include <string.h>

#include "kubernetes/objects.h"

static const struct attr secret_schema[] = {
    {"namespace", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the namespace it lives in"},
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the secret's name"},
    {"type", T_STRING, ATTR_FORCE_NEW, "the secret's type (default Opaque; Kubernetes cannot change it in place)"},
    {"data", T_MAP, ATTR_SENSITIVE, "key -> plain text value; mesh base64-encodes them"},
    {"labels", T_MAP, 0, "labels (strings); mesh adds app.kubernetes.io/managed-by: mesh"},
    {"annotations", T_MAP, 0, "annotations (strings); mesh adds mesh/address, mesh/run and mesh/name"},
    {"id", T_STRING, ATTR_COMPUTED, "metadata.uid: new for every incarnation"},
    {"uid", T_STRING, ATTR_COMPUTED, "metadata.uid"},
    {"object_ref", T_STRING, ATTR_COMPUTED, "NAMESPACE/NAME: where the object is (the ID `mesh import` takes)"},
    {"data_sha256", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED,
     "hex SHA-256 of the data mesh applied (sorted keys, each key and value NUL-terminated): a pod annotation "
     "that rolls a Deployment when the secret changes (istiod and cacerts)"},
    {NULL, 0, 0, NULL},
};

static const char *const secret_echo[] = {"namespace", "name", "type", "data", "labels", "annotations", NULL};

/* The Secret mesh applies; NULL (c->err set, naming the key only) when a value is not text. */
static json_t *secret_object(struct call *c, const json_t *desired)
{
    const char *bad = NULL;
    json_t *data = kobj_encode_data(json_object_get(desired, "data"), &bad);
    if (!data) {
        mesh_err_set(c->err, MESH_EINVAL, c->address, "data.%s must be a string", bad ? bad : "?");
        return NULL;
    }
    const char *type = kobj_str(desired, "type");
    json_t *meta = kobj_metadata(c->address, c->run_id, kobj_str(desired, "namespace"), kobj_str(desired, "name"),
                                 json_object_get(desired, "labels"), json_object_get(desired, "annotations"));
    return json_pack("{s:s, s:s, s:o, s:s, s:o}", "apiVersion", "v1", "kind", "Secret", "metadata", meta, "type",
                     type ? type : "Opaque", "data", data);
}

static json_t *secret_outputs(const json_t *live, const json_t *desired)
{
    json_t *o = json_object();
    kobj_echo(o, desired, secret_echo);
    kobj_put_ids(o, "kubernetes_secret", live);
    char hex[65];
    kobj_data_sha256(json_object_get(desired, "data"), hex);
    json_object_set_new(o, "data_sha256", json_string(hex));
    return o;
}

static int secret_ref(struct call *c, const json_t *outputs, struct kube_ref *ref, char *buf, size_t n)
{
    return kobj_locate(c, outputs, "v1", "Secret", 1, ref, buf, n);
}

static int secret_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx);

static int secret_create(struct call *c, const json_t *desired, json_t **outputs)
{
    if (kobj_checked(c, desired, secret_check)) return c->err->code;
    json_t *obj = secret_object(c, desired), *live = NULL;
    if (!obj) return c->err->code;
    int rc = kobj_create(c, obj, 0, &live);
    json_decref(obj);
    if (rc) return rc;
    *outputs = secret_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int secret_find(struct call *c, const json_t *desired, json_t **outputs)
{
    json_t *live = NULL;
    int rc = kobj_find(c, "v1", "Secret", kobj_str(desired, "namespace"), kobj_str(desired, "name"), &live);
    if (rc) return rc;
    *outputs = secret_outputs(live, desired);
    json_decref(live);
    return 0;
}

/* data as the world holds it, on the keys mesh set (every key for an import). */
static void observe_data(json_t *cur, const json_t *outputs, const json_t *live, int import)
{
    const json_t *applied = json_object_get(outputs, "data");
    if (!import && !applied) return;
    json_t *all = kobj_decode_data(json_object_get(live, "data"));
    if (!all) all = json_object();  /* not base64: as if empty, which shows as a change */
    json_t *mine = import ? json_incref(all) : kobj_user_map(all, applied, 0);
    if (!import || json_object_size(mine)) json_object_set(cur, "data", mine);
    json_decref(mine);
    json_decref(all);
}

static int secret_read(struct call *c, const json_t *outputs, json_t **current)
{
    struct kube_ref ref;
    char buf[512];
    int rc = secret_ref(c, outputs, &ref, buf, sizeof(buf));
    if (rc) return rc;
    json_t *live = NULL;
    rc = kobj_get_ours(c, &ref, kobj_str(outputs, "uid"), &live);
    if (rc) return rc;
    int import = !kobj_str(outputs, "name");
    json_t *cur = json_deep_copy(outputs);
    json_object_set_new(cur, "namespace", json_string(ref.ns));
    json_object_set_new(cur, "name", json_string(ref.name));
    const char *type = kobj_str(live, "type");
    /* the default is diffed only when the user named a type */
    if (type && (strcmp(type, "Opaque") != 0 || kobj_str(outputs, "type"))) json_object_set_new(cur, "type", json_string(type));
    observe_data(cur, outputs, live, import);
    if (!json_object_get(cur, "data_sha256") && json_object_get(cur, "data")) {  /* imported, or older state */
        char hex[65];
        kobj_data_sha256(json_object_get(cur, "data"), hex);
        json_object_set_new(cur, "data_sha256", json_string(hex));
    }
    kobj_observe_meta(cur, outputs, live, import);
    kobj_put_ids(cur, "kubernetes_secret", live);
    json_decref(live);
    *current = cur;
    return 0;
}

static int secret_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                         json_t **new_outputs)
{
    if (kobj_checked(c, desired, secret_check)) return c->err->code;
    (void)prior;
    struct kube_ref ref = {"v1", "Secret", kobj_str(desired, "namespace"), kobj_str(desired, "name")};
    json_t *live = NULL;
    int rc = kobj_get_ours(c, &ref, kobj_str(outputs, "uid"), &live);
    if (rc == MESH_ENOTFOUND)
        return mesh_err_set(c->err, MESH_ENOTFOUND, c->address, "secret %s/%s was deleted outside mesh since the plan",
                            ref.ns ? ref.ns : "", ref.name ? ref.name : "");
    json_decref(live);
    if (rc) return rc;
    json_t *obj = secret_object(c, desired);
    if (!obj) return c->err->code;
    live = NULL;
    rc = kobj_apply(c, obj, 1, &live);  /* force: take back what someone else changed */
    json_decref(obj);
    if (rc) return rc;
    *new_outputs = secret_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int secret_delete(struct call *c, const json_t *outputs)
{
    struct kube_ref ref;
    char buf[512];
    int rc = secret_ref(c, outputs, &ref, buf, sizeof(buf));
    return rc ? rc : kobj_delete(c, &ref, kobj_str(outputs, "uid"));
}

static int secret_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    int bad = kobj_check_meta(desired, "labels", "labels", report, ctx) + kobj_check_meta(desired, "annotations", "annotations", report, ctx);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(desired, "data"), k, v) {
        if (json_is_string(v)) continue;
        char msg[300];
        snprintf(msg, sizeof(msg), "the value of `%.200s` must be a string (quote it)", k);  /* never the value */
        report(ctx, "data", msg);
        bad++;
    }
    return bad;
}

const struct driver kubernetes_secret_driver = {
    .type = "kubernetes_secret",
    .provider = &kubernetes_provider,
    .schema = secret_schema,
    .doc = "a Kubernetes Secret; data is sensitive, base64-encoded by mesh",
    .timeout_create = KOBJ_TIMEOUT_CREATE,
    .timeout_update = KOBJ_TIMEOUT_UPDATE,
    .timeout_delete = KOBJ_TIMEOUT_DELETE,
    .create = secret_create,
    .find = secret_find,
    .read = secret_read,
    .update = secret_update,
    .delete = secret_delete,
    .check = secret_check,
};
