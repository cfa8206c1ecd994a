/* kube.h: mesh's Kubernetes client: one handle per connection (the provider handle of the
 * `kubernetes` provider), REST over the shared HTTP layer (providers/http.h).
 *
 * A handle is opened from a connection's outputs (kubernetes_connection), which say how to reach
 * and authenticate but hold no secret:
 *   {"cluster": "cluster-1", "server": "https://…", "ca_data": "<base64 PEM>",
 *    "auth": "eks", "eks_cluster_name": "cluster-1", "region": "eu-west-1"}     clusters mesh made
 *   {"cluster": "cluster-2", "kubeconfig": "/abs/kubeconfig", "context": "ctx"} existing clusters
 * A kubeconfig is read when the handle opens: server, CA (certificate-authority-data or file),
 * and a bearer token (token or tokenFile), a client certificate and key (data or files), or an
 * `exec` credential plugin (client.authentication.k8s.io/v1, run as kubectl runs it). CA and
 * client certificates stay in memory (libcurl blobs), never in temporary files. An "eks" token
 * comes from the registry's auth hook "eks" (auth_hook_token), cached until near its expiry; an
 * exec credential likewise until its expirationTimestamp. A 401 drops the cached token and makes
 * one new one before the error is reported.
 *
 * Every failure fills e with a message naming the cluster and the object (`cluster-1: secret
 * istio-system/cacerts: ...`) and the API's Status message; e->code is MESH_ENOTFOUND (404),
 * MESH_ECONFLICT (409: an SSA field conflict, whose message names the other field manager and the
 * fields, or a precondition/resourceVersion conflict), MESH_EINVAL (400/422), else MESH_ERR (a
 * 401 says "unauthorized (401)" and which credential was used, a 403 "forbidden"); e->cause is
 * the Status reason ("Conflict", "AlreadyExists", "NotFound"). 429 and 5xx are retried by the HTTP
 * layer's policy, honouring Retry-After; a 409 is final (the same request would conflict again).
 * Replies larger than KUBE_MAX_REPLY are refused. Connection errors (refused, reset,
 * TLS not up yet) are retried until c->deadline when the handle's config has "retry_unreachable":
 * true (a cluster created in this run: EKS endpoints answer minutes after ACTIVE), with a progress
 * note `waiting for the API server of cluster-1 to answer (…)`. */
#ifndef MESH_KUBE_H
#define MESH_KUBE_H

#include <jansson.h>

#include "driver.h"

#define KUBE_MAX_REPLY (32u << 20)   /* bytes */
/* e->cause of failures that are not the API's answer: no reply came (refused, reset, TLS,
 * timeout), or the credential could not be made (exec plugin, token file, EKS hook). */
#define KUBE_CAUSE_UNREACHABLE "Unreachable"
#define KUBE_CAUSE_CREDENTIAL "CredentialFailed"
#define KUBE_FIELD_MANAGER "mesh"

struct kube_conn;

/* Opens a handle from a connection's outputs (see above): parses the kubeconfig, loads the CA,
 * prepares authentication. Does not call the server. */
int kube_conn_open(const json_t *config, struct kube_conn **out, struct mesh_err *err);
void kube_conn_close(struct kube_conn *k);
const char *kube_conn_cluster(const struct kube_conn *k);   /* "cluster-1" */
const char *kube_conn_server(const struct kube_conn *k);    /* "https://…" */
/* How long one request may take and how often a failed one is tried (0: keep): a connection's
 * read asks once, quickly, whether the server answers. */
void kube_conn_set_patience(struct kube_conn *k, long connect_timeout_ms, long timeout_ms, int max_attempts);
/* {"display_name": "Kubernetes", "api_calls": N, "retries": M}: the provider's stats. */
json_t *kube_conn_stats(const struct kube_conn *k);

/* Which object: apiVersion ("v1", "apps/v1"), kind ("Secret"), namespace (NULL or "" for
 * cluster-scoped kinds), name. */
struct kube_ref {
    const char *api_version;
    const char *kind;
    const char *ns;
    const char *name;
};
/* The ref of an object's own apiVersion/kind/metadata (pointers into obj). MESH_EINVAL if any is missing. */
int kube_ref_of(const json_t *obj, struct kube_ref *ref, struct mesh_err *e);

/* GET /version; *info (may be NULL) gets the reply. Used by kubernetes_connection to know the
 * cluster answers (and wait until it does). */
int kube_version(struct call *c, struct kube_conn *k, json_t **info, struct mesh_err *e);

/* Server-side apply (PATCH application/apply-patch+yaml, fieldManager=mesh, force when asked):
 * obj is the whole object mesh wants (apiVersion, kind, metadata, ...). *live gets the object
 * the server returned. Creates the object when absent. The kind's path comes from discovery
 * (cached per handle; refreshed once when a kind is unknown, e.g. right after its CRD). */
int kube_apply(struct call *c, struct kube_conn *k, const json_t *obj, int force, json_t **live,
               struct mesh_err *e);
/* GET one object. MESH_ENOTFOUND when absent. */
int kube_get(struct call *c, struct kube_conn *k, const struct kube_ref *ref, json_t **live, struct mesh_err *e);
/* Objects of a kind (in ns, or every namespace when ns is NULL) with label selector (may be
 * NULL): *items gets the array. */
int kube_list(struct call *c, struct kube_conn *k, const char *api_version, const char *kind, const char *ns,
              const char *label_selector, json_t **items, struct mesh_err *e);
/* DELETE with propagationPolicy=Background and, when uid is not NULL, preconditions.uid: an
 * object of that name with another uid is not ours (MESH_ENOTFOUND).
 * Then waits until the object is gone (polling GET with backoff until c->deadline; progress notes
 * name what it waits for: a namespace's remaining finalizers and conditions are reported, not
 * hidden). MESH_ENOTFOUND when it was already gone. */
int kube_delete(struct call *c, struct kube_conn *k, const struct kube_ref *ref, const char *uid,
                struct mesh_err *e);

/* For a child program that reaches the cluster through mesh (helm, docs/helm.md): the handle's
 * current credential (made or refreshed as for a request): a bearer token, or a client
 * certificate and key (PEM text), and when it expires (unix seconds; 0: not known to). All NULL
 * for an anonymous connection. Release it with kube_credential_release, which wipes it. */
struct kube_credential {
    char *token;
    char *cert_pem, *key_pem;
    long long expires;
};
int kube_conn_credential(struct kube_conn *k, struct kube_credential *out, struct mesh_err *e);
void kube_credential_release(struct kube_credential *c);
/* The CA (PEM) the handle trusts, *len its size; NULL: the system's CAs. */
const unsigned char *kube_conn_ca(const struct kube_conn *k, size_t *len);
/* Every non-empty document of a multi-document YAML text (a rendered chart), as a JSON array
 * (*docs, a new reference). what names the text in errors. */
int kube_yaml_documents(const char *text, size_t len, const char *what, json_t **docs, struct mesh_err *e);

/* Puts e into c->err at c->address; returns e->code (like aws_fail). */
int kube_fail(struct call *c, const struct mesh_err *e);

/* The provider (registered for every kubernetes_* driver but the connection's). Its open is
 * kube_conn_open. */
extern const struct provider kubernetes_provider;

#endif
