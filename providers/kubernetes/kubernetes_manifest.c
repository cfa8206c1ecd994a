/* kubernetes_manifest.c: any Kubernetes object, applied with server-side apply (field manager
 * mesh). Drift is a change to the fields mesh owns: read reports the live object restricted to
 * the paths of the manifest mesh applied, so a field the server defaults or another manager adds
 * is no difference, while a field mesh set and someone changed is. Fields another manager took
 * over make apply fail with a conflict naming that manager, unless force_conflicts.
 *
 * The whole manifest is one attribute, so the engine cannot plan a replacement when the object's
 * identity (API group, kind, namespace, name) changes: update does it itself, creating the new
 * object and then deleting the old one (an apiVersion change within the group is the same object
 * and applies in place). The plan shows it as an update of `manifest`.
 *
 * patch: true applies the manifest's fields to an object something else made (EKS's aws-node):
 * create refuses when it does not exist, the object gets mesh's annotations but not its
 * managed-by label (it is not mesh's), and delete does not delete it but gives mesh's fields
 * back: an apply of only its identity, after which the API server drops what mesh owned.
 *
 * After `mesh import` (ID: APIVERSION/KIND/[NAMESPACE/]NAME) state holds the whole object as it
 * was; the first apply then takes ownership of the manifest's fields and narrows the comparison
 * to them. No readiness wait: create returns once the server accepted the object. */
#include <stdio.h>
#include <string.h>

#include "kubernetes/objects.h"

static const struct attr manifest_schema[] = {
    {"manifest", T_MAP, ATTR_REQUIRED,
     "the object: apiVersion, kind, metadata.name (metadata.namespace for namespaced kinds), and the rest"},
    {"force_conflicts", T_BOOL, 0, "take over fields another field manager owns (default false: a conflict fails)"},
    {"patch", T_BOOL, ATTR_FORCE_NEW,
     "the object exists and is not mesh's: apply only these fields to it (create fails when it is absent); "
     "delete gives them back instead of deleting it"},
    {"id", T_STRING, ATTR_COMPUTED, "metadata.uid: new for every incarnation"},
    {"uid", T_STRING, ATTR_COMPUTED, "metadata.uid"},
    {"object_ref", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED,
     "APIVERSION/KIND/[NAMESPACE/]NAME: where the object is (the ID `mesh import` takes)"},
    {NULL, 0, 0, NULL},
};

static const char *const manifest_echo[] = {"manifest", "force_conflicts", "patch", NULL};

static int force(const json_t *desired) { return json_is_true(json_object_get(desired, "force_conflicts")); }

static int patching(const json_t *attrs) { return json_is_true(json_object_get(attrs, "patch")); }

/* What mesh applies: the manifest with its markers; a patch without the managed-by label. */
static json_t *applied_object(struct call *c, const json_t *desired)
{
    json_t *obj = kobj_marked(c->address, c->run_id, json_object_get(desired, "manifest"));
    if (patching(desired)) {
        json_t *labels = kobj_at(obj, "metadata", "labels", NULL);
        json_object_del(labels, KOBJ_LABEL_MANAGED_BY);
        if (!json_object_size(labels)) json_object_del(json_object_get(obj, "metadata"), "labels");
    }
    return obj;
}

static json_t *manifest_outputs(const json_t *live, const json_t *desired)
{
    json_t *o = json_object();
    kobj_echo(o, desired, manifest_echo);
    kobj_put_ids(o, "kubernetes_manifest", live);
    return o;
}

/* The ref of a manifest; MESH_EINVAL naming what is missing. */
static int manifest_ref(struct call *c, const json_t *m, struct kube_ref *ref)
{
    struct mesh_err e;
    mesh_err_init(&e);
    if (!json_is_object(m) || kube_ref_of(m, ref, &e))
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "manifest: needs apiVersion, kind and metadata.name (%s)", e.msg[0] ? e.msg : "not a map");
    return 0;
}

/* Where the object of outputs is: its manifest's identity, or the import ID. */
static int stored_ref(struct call *c, const json_t *outputs, struct kube_ref *ref, char *buf, size_t n)
{
    const json_t *m = json_object_get(outputs, "manifest");
    if (m) return manifest_ref(c, m, ref);
    memset(ref, 0, sizeof(*ref));
    const char *id = kobj_str(outputs, "object_ref");
    if (!id) id = kobj_str(outputs, "id");
    if (kobj_split_manifest_id(id, buf, n, ref))
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "a manifest's import ID is APIVERSION/KIND/[NAMESPACE/]NAME (v1/ConfigMap/ns/name), not `%s`",
                            id ? id : "");
    return 0;
}

static int manifest_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx);

static void describe(const struct kube_ref *r, char *buf, size_t n)
{
    snprintf(buf, n, "%s %s%s%s", r->kind, r->ns && *r->ns ? r->ns : "", r->ns && *r->ns ? "/" : "", r->name);
}

/* A patch goes on an object that exists (whoever made it); *live: that object. */
static int patch_target(struct call *c, const struct kube_ref *ref, json_t **live)
{
    struct kube_conn *k;
    int rc = kobj_conn(c, &k);
    if (rc) return rc;
    struct mesh_err e;
    mesh_err_init(&e);
    rc = kube_get(c, k, ref, live, &e);
    if (rc == MESH_ENOTFOUND) {
        char d[600];
        describe(ref, d, sizeof(d));
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "%s: %s does not exist; `patch: true` changes an object something else made (leave "
                            "`patch` out to make the object)",
                            kube_conn_cluster(k), d);
    }
    return rc ? kube_fail(c, &e) : 0;
}

/* Gives back the fields mesh applied to an object it patched: an apply by mesh's field manager
 * of the object's identity alone, so the server drops every field only mesh owned. */
static int patch_release(struct call *c, const struct kube_ref *ref, const char *uid)
{
    json_t *live = NULL;
    int rc = kobj_get_ours(c, ref, uid, &live);
    if (rc == MESH_ENOTFOUND) return 0;  /* gone, or made anew: nothing of mesh's is left on it */
    json_decref(live);
    if (rc) return rc;
    json_t *meta = json_pack("{s:s}", "name", ref->name);
    if (ref->ns && *ref->ns) json_object_set_new(meta, "namespace", json_string(ref->ns));
    json_t *bare = json_pack("{s:s, s:s, s:o}", "apiVersion", ref->api_version, "kind", ref->kind, "metadata", meta);
    rc = kobj_apply(c, bare, 0, &live);
    json_decref(bare);
    json_decref(live);
    return rc;
}

static int manifest_create(struct call *c, const json_t *desired, json_t **outputs)
{
    if (kobj_checked(c, desired, manifest_check)) return c->err->code;
    struct kube_ref ref;
    int rc = manifest_ref(c, json_object_get(desired, "manifest"), &ref);
    if (rc) return rc;
    json_t *obj = applied_object(c, desired), *live = NULL;
    if (patching(desired)) {
        rc = patch_target(c, &ref, &live);
        json_decref(live);
        live = NULL;
        if (!rc) rc = kobj_apply(c, obj, force(desired), &live);
    } else {
        rc = kobj_create(c, obj, force(desired), &live);
    }
    json_decref(obj);
    if (rc) return rc;
    *outputs = manifest_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int manifest_find(struct call *c, const json_t *desired, json_t **outputs)
{
    struct kube_ref ref;
    struct mesh_err e;
    mesh_err_init(&e);
    const json_t *m = json_object_get(desired, "manifest");
    if (!json_is_object(m) || kube_ref_of(m, &ref, &e)) return MESH_ENOTFOUND;
    json_t *live = NULL;
    int rc;
    if (patching(desired)) {  /* not listed by mesh's label: the object itself, if mesh's marks are on it */
        rc = kobj_get_ours(c, &ref, NULL, &live);
        if (!rc && !kobj_ours(live, c->address)) rc = MESH_ENOTFOUND;
    } else {
        rc = kobj_find(c, ref.api_version, ref.kind, ref.ns, ref.name, &live);
    }
    if (rc) {
        json_decref(live);
        return rc;
    }
    *outputs = manifest_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int manifest_read(struct call *c, const json_t *outputs, json_t **current)
{
    struct kube_ref ref;
    char buf[1024];
    int rc = stored_ref(c, outputs, &ref, buf, sizeof(buf));
    if (rc) return rc;
    json_t *live = NULL;
    rc = kobj_get_ours(c, &ref, kobj_str(outputs, "uid"), &live);
    if (rc) return rc;
    const json_t *m = json_object_get(outputs, "manifest");
    json_t *cur = json_deep_copy(outputs);
    json_object_set_new(cur, "manifest", m ? kobj_project(live, m) : kobj_clean(live));
    kobj_put_ids(cur, "kubernetes_manifest", live);
    json_decref(live);
    *current = cur;
    return 0;
}


static int manifest_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                           json_t **new_outputs)
{
    if (kobj_checked(c, desired, manifest_check)) return c->err->code;
    (void)prior;
    struct kube_ref was, now;
    char buf[1024];
    int rc = stored_ref(c, outputs, &was, buf, sizeof(buf));
    if (!rc) rc = manifest_ref(c, json_object_get(desired, "manifest"), &now);
    if (rc) return rc;
    int moved = !kobj_same_identity(&was, &now);
    json_t *live = NULL;
    if (!moved) {
        rc = kobj_get_ours(c, &was, kobj_str(outputs, "uid"), &live);
        if (rc == MESH_ENOTFOUND) {
            char d[600];
            describe(&was, d, sizeof(d));
            return mesh_err_set(c->err, MESH_ENOTFOUND, c->address, "%s was deleted outside mesh since the plan", d);
        }
        json_decref(live);
        live = NULL;
        if (rc) return rc;
    }
    json_t *obj = applied_object(c, desired);
    if (moved && patching(desired)) {
        rc = patch_target(c, &now, &live);
        json_decref(live);
        live = NULL;
        if (!rc) rc = kobj_apply(c, obj, force(desired), &live);
        if (!rc) rc = patch_release(c, &was, kobj_str(outputs, "uid"));
    } else if (moved) {
        char a[600], b[600], note[1300];
        describe(&was, a, sizeof(a));
        describe(&now, b, sizeof(b));
        snprintf(note, sizeof(note), "the manifest now names %s instead of %s: making it, then deleting the old one", b, a);
        if (c->progress) c->progress(c->progress_ctx, c->address, "%s", note);
        rc = kobj_create(c, obj, force(desired), &live);
        if (!rc) rc = kobj_delete(c, &was, kobj_str(outputs, "uid"));
    } else {
        rc = kobj_apply(c, obj, force(desired), &live);
    }
    json_decref(obj);
    if (rc) {
        json_decref(live);
        return rc;
    }
    *new_outputs = manifest_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int manifest_delete(struct call *c, const json_t *outputs)
{
    struct kube_ref ref;
    char buf[1024];
    int rc = stored_ref(c, outputs, &ref, buf, sizeof(buf));
    if (rc) return rc;
    const char *uid = kobj_str(outputs, "uid");
    return patching(outputs) ? patch_release(c, &ref, uid) : kobj_delete(c, &ref, uid);
}

static int manifest_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    const json_t *m = json_object_get(desired, "manifest");
    if (!json_is_object(m)) return 0;
    int bad = 0;
    static const char *const need[][2] = {{"apiVersion", NULL}, {"kind", NULL}, {"metadata", "name"}};
    for (int i = 0; i < 3; i++) {
        const json_t *v = kobj_at(m, need[i][0], need[i][1], NULL);
        if (json_is_string(v) && *json_string_value(v)) continue;
        char msg[200];
        snprintf(msg, sizeof(msg), "the manifest needs %s%s%s (a string)", need[i][0], need[i][1] ? "." : "",
                 need[i][1] ? need[i][1] : "");
        report(ctx, "manifest", msg);
        bad++;
    }
    const json_t *meta = json_object_get(m, "metadata");
    if (json_is_object(meta)) {
        bad += kobj_check_meta(meta, "labels", "manifest", report, ctx);
        bad += kobj_check_meta(meta, "annotations", "manifest", report, ctx);
    }
    return bad;
}

const struct driver kubernetes_manifest_driver = {
    .type = "kubernetes_manifest",
    .provider = &kubernetes_provider,
    .schema = manifest_schema,
    .doc = "any Kubernetes object, applied with server-side apply; drift = fields mesh owns changed",
    .timeout_create = KOBJ_TIMEOUT_CREATE,
    .timeout_update = KOBJ_TIMEOUT_UPDATE,
    .timeout_delete = KOBJ_TIMEOUT_DELETE,
    .create = manifest_create,
    .find = manifest_find,
    .read = manifest_read,
    .update = manifest_update,
    .delete = manifest_delete,
    .check = manifest_check,
};
