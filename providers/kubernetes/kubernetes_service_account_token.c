/* kubernetes_service_account_token.c: a long-lived token of a service account: a Secret of type
 * kubernetes.io/service-account-token annotated with the account's name, which the token
 * controller fills with data.token and data.ca.crt. create returns once the Secret exists; wait
 * polls until the token is there. The token is SENSITIVE: never in a message or a note. The
 * controller deletes such a Secret when its service account does not exist, which wait reports.
 * Import ID: NAMESPACE/NAME. */
#include <stdio.h>
#include <string.h>

#include "kubernetes/objects.h"

#define SA_TYPE "kubernetes.io/service-account-token"
#define SA_ANNOTATION "kubernetes.io/service-account.name"

static const struct attr token_schema[] = {
    {"namespace", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the namespace of the service account"},
    {"service_account", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the service account's name"},
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the name of the token's Secret"},
    {"id", T_STRING, ATTR_COMPUTED, "metadata.uid: new for every incarnation"},
    {"uid", T_STRING, ATTR_COMPUTED, "metadata.uid"},
    {"object_ref", T_STRING, ATTR_COMPUTED, "NAMESPACE/NAME: where the object is (the ID `mesh import` takes)"},
    {"token", T_STRING, ATTR_COMPUTED | ATTR_SENSITIVE, "the bearer token the token controller wrote"},
    {"ca_crt", T_STRING, ATTR_COMPUTED, "the cluster's CA certificate (PEM) from the Secret's ca.crt"},
    {"ca_data", T_STRING, ATTR_COMPUTED,
     "the Secret's ca.crt as it holds it (base64 of the PEM): a kubeconfig's certificate-authority-data"},
    {NULL, 0, 0, NULL},
};

static const char *const token_echo[] = {"namespace", "service_account", "name", NULL};

static json_t *token_object(struct call *c, const json_t *desired)
{
    json_t *ann = json_pack("{s:s}", SA_ANNOTATION, kobj_str(desired, "service_account") ? kobj_str(desired, "service_account") : "");
    json_t *meta = kobj_metadata(c->address, c->run_id, kobj_str(desired, "namespace"), kobj_str(desired, "name"), NULL, ann);
    json_decref(ann);
    return json_pack("{s:s, s:s, s:o, s:s}", "apiVersion", "v1", "kind", "Secret", "metadata", meta, "type", SA_TYPE);
}

/* The decoded data[key], or NULL when absent or empty. */
static json_t *data_value(const json_t *live, const char *key)
{
    const char *b64 = kobj_str(json_object_get(live, "data"), key);
    if (!b64 || !*b64) return NULL;
    return kobj_decode_value(b64);
}

static json_t *token_outputs(const json_t *live, const json_t *desired)
{
    json_t *o = json_object();
    kobj_echo(o, desired, token_echo);
    kobj_put_ids(o, "kubernetes_service_account_token", live);
    json_t *tok = data_value(live, "token"), *ca = data_value(live, "ca.crt");
    if (tok) json_object_set_new(o, "token", tok);
    if (ca) json_object_set_new(o, "ca_crt", ca);
    const char *b64 = kobj_str(json_object_get(live, "data"), "ca.crt");
    if (b64 && *b64) json_object_set_new(o, "ca_data", json_string(b64));
    return o;
}

static int token_ref(struct call *c, const json_t *outputs, struct kube_ref *ref, char *buf, size_t n)
{
    return kobj_locate(c, outputs, "v1", "Secret", 1, ref, buf, n);
}

static int token_create(struct call *c, const json_t *desired, json_t **outputs)
{
    json_t *obj = token_object(c, desired), *live = NULL;
    int rc = kobj_create(c, obj, 0, &live);
    json_decref(obj);
    if (rc) return rc;
    *outputs = token_outputs(live, desired);
    json_decref(live);
    return 0;
}

/* 1 when the service account is known to be absent (a failing GET says nothing). */
static int sa_missing(struct call *c, const char *ns, const char *sa)
{
    struct kube_conn *k;
    if (!sa || kobj_conn(c, &k)) return 0;
    struct kube_ref ref = {"v1", "ServiceAccount", ns, sa};
    struct mesh_err e;
    mesh_err_init(&e);
    json_t *live = NULL;
    int rc = kube_get(c, k, &ref, &live, &e);
    json_decref(live);
    return rc == MESH_ENOTFOUND;
}

static int token_wait(struct call *c, const json_t *outputs, json_t **ready)
{
    struct kube_ref ref;
    char buf[512];
    int rc = token_ref(c, outputs, &ref, buf, sizeof(buf));
    if (rc) return rc;
    const char *sa = kobj_str(outputs, "service_account");
    char what[900];
    snprintf(what, sizeof(what), "waiting for the token controller to fill secret %s/%s (service account %s)", ref.ns,
             ref.name, sa ? sa : "?");
    for (int n = 0;;) {
        /* the usual reason it never comes: no such account (then the timeout's error says so) */
        if (n % 4 == 3 && sa_missing(c, ref.ns, sa))
            snprintf(what, sizeof(what), "waiting for the token controller to fill secret %s/%s: service account %s "
                     "does not exist in namespace %s", ref.ns, ref.name, sa ? sa : "?", ref.ns);
        json_t *live = NULL;
        rc = kobj_get_ours(c, &ref, kobj_str(outputs, "uid"), &live);
        if (rc == MESH_ENOTFOUND)
            return mesh_err_set(c->err, MESH_ENOTFOUND, c->address,
                                "secret %s/%s was deleted while %s: the token controller deletes a token secret whose "
                                "service account does not exist; does service account %s exist in namespace %s?",
                                ref.ns, ref.name, "waiting for its token", sa ? sa : "?", ref.ns);
        if (rc) return rc;
        json_t *tok = data_value(live, "token");
        if (tok) {
            json_decref(tok);
            *ready = token_outputs(live, outputs);
            json_decref(live);
            return 0;
        }
        json_decref(live);
        rc = kobj_poll_sleep(c, &n, what);
        if (rc) return rc;
    }
}

static int token_find(struct call *c, const json_t *desired, json_t **outputs)
{
    json_t *live = NULL;
    int rc = kobj_find(c, "v1", "Secret", kobj_str(desired, "namespace"), kobj_str(desired, "name"), &live);
    if (rc) return rc;
    *outputs = token_outputs(live, desired);
    json_decref(live);
    return 0;
}

static int token_read(struct call *c, const json_t *outputs, json_t **current)
{
    struct kube_ref ref;
    char buf[512];
    int rc = token_ref(c, outputs, &ref, buf, sizeof(buf));
    if (rc) return rc;
    json_t *live = NULL;
    rc = kobj_get_ours(c, &ref, kobj_str(outputs, "uid"), &live);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    json_object_set_new(cur, "namespace", json_string(ref.ns));
    json_object_set_new(cur, "name", json_string(ref.name));
    const char *sa = kobj_str(kobj_at(live, "metadata", "annotations", NULL), SA_ANNOTATION);
    if (sa) json_object_set_new(cur, "service_account", json_string(sa));
    json_t *o = token_outputs(live, json_null());
    json_object_update(cur, o);
    json_decref(o);
    json_decref(live);
    *current = cur;
    return 0;
}

static int token_delete(struct call *c, const json_t *outputs)
{
    struct kube_ref ref;
    char buf[512];
    int rc = token_ref(c, outputs, &ref, buf, sizeof(buf));
    return rc ? rc : kobj_delete(c, &ref, kobj_str(outputs, "uid"));
}

const struct driver kubernetes_service_account_token_driver = {
    .type = "kubernetes_service_account_token",
    .provider = &kubernetes_provider,
    .schema = token_schema,
    .doc = "a service account's long-lived token (a kubernetes.io/service-account-token Secret); token is sensitive",
    .timeout_create = KOBJ_TIMEOUT_CREATE,
    .timeout_update = KOBJ_TIMEOUT_UPDATE,
    .timeout_delete = KOBJ_TIMEOUT_DELETE,
    .create = token_create,
    .wait = token_wait,
    .find = token_find,
    .read = token_read,
    .delete = token_delete,
};
