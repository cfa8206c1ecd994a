/* kube_int.h: the inside of a Kubernetes handle, shared by the files of providers/kubernetes/
 * (conn.c opens it and makes credentials, request.c sends, discovery.c maps kinds, client.c and
 * delete.c are the REST calls). Nothing outside this folder includes it. */
#ifndef MESH_KUBE_INT_H
#define MESH_KUBE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <jansson.h>

#include "base/strbuf.h"
#include "http.h"
#include "kubernetes/kube.h"
#include "kubernetes/kubeconfig.h"

enum kube_auth {
    KUBE_AUTH_NONE,        /* anonymous (a kubeconfig context without a user) */
    KUBE_AUTH_EKS,         /* auth hook "eks" */
    KUBE_AUTH_TOKEN,       /* kubeconfig token */
    KUBE_AUTH_TOKEN_FILE,  /* kubeconfig tokenFile, read when a token is made */
    KUBE_AUTH_CERT,        /* kubeconfig client certificate only */
    KUBE_AUTH_EXEC,        /* kubeconfig exec plugin */
};

/* One credential as made at one time; requests in flight hold a reference while a refresh
 * replaces the handle's. */
struct kube_cred {
    int refs;                          /* under kube_conn.cred_mu */
    char *token;                       /* bearer token (a secret) or NULL */
    unsigned char *cert_pem, *key_pem; /* an exec plugin's client certificate, or NULL */
    size_t cert_len, key_len;
    long long expires;                 /* unix seconds; 0: does not expire */
};

struct kube_conn {
    char *cluster, *server;
    enum kube_auth auth;
    char *eks_cluster, *region;
    struct kubeconfig kc;              /* zeroed unless the connection names a kubeconfig */
    int has_kc;
    unsigned char *ca_pem;             /* NULL: the system's CAs */
    size_t ca_len;
    char credential[512];              /* what authenticates, for a 401: "the EKS token for cluster c1" */
    int retry_unreachable;
    struct http_client http;           /* the template: timeouts, CA, retries; per request a copy */
    struct http_retries retries;
    atomic_long calls;
    pthread_mutex_t cred_mu;           /* cred: held while one is made (workers wait for it) */
    struct kube_cred *cred;            /* the cached one, or NULL */
    pthread_mutex_t mu;                /* discovery */
    json_t *discovery;                 /* {"apps/v1": {"Deployment": {"name": "deployments", "namespaced": true}}} */
};

/* conn.c: the current credential (a new reference; made when none is cached or it is near its
 * expiry), dropping one after a 401, releasing a reference. */
int kube_cred_get(struct kube_conn *k, struct kube_cred **out, struct mesh_err *e);
void kube_cred_drop(struct kube_conn *k, struct kube_cred *cred);
void kube_cred_put(struct kube_conn *k, struct kube_cred *cred);

/* request.c: one REST call. path is already encoded, query without '?' (may be NULL), body may
 * be NULL. what names the object in errors ("secret ns/name"); apply: a 409 is an SSA conflict.
 * *reply (may be NULL) gets the parsed JSON of a 2xx reply. */
struct kube_req {
    const char *method, *path, *query;
    const json_t *body;
    const char *content_type;          /* NULL: application/json when there is a body */
    const char *what;                  /* "secret istio-system/cacerts", or NULL for the cluster */
    int apply;
    int secret;                        /* the body or the reply may hold a secret: keep it out of logs */
    struct strbuf *text;               /* non-NULL: a 2xx reply's body goes here as it is (not JSON) */
};
int kube_request(struct call *c, struct kube_conn *k, const struct kube_req *r, json_t **reply, struct mesh_err *e);

/* status.c: e from a failed reply (a Status object, or whatever the server said). */
int kube_status_error(long status, const char *body, size_t len, const char *cluster, const char *what,
                      const char *credential, int apply, struct mesh_err *e);
enum http_verdict kube_classify(const struct http_response *resp);
enum http_verdict kube_classify_apply(const struct http_response *resp);

/* discovery.c: where a kind lives. */
struct kube_resource {
    char prefix[256];    /* "/api/v1", "/apis/apps/v1" */
    char plural[128];    /* "deployments" */
    int namespaced;
};
int kube_resource_of(struct call *c, struct kube_conn *k, const char *api_version, const char *kind,
                     struct kube_resource *out, struct mesh_err *e);
/* "/api/v1/namespaces/ns/secrets/name" (ns ignored for cluster-scoped kinds; name may be NULL). */
char *kube_path(const struct kube_resource *r, const char *ns, const char *name);
/* s percent-encoded for a path segment or query value, appended to sb. */
void kube_escape(struct strbuf *sb, const char *s);
/* "secret istio-system/cacerts", "namespace foo" into buf. */
const char *kube_what(const struct kube_ref *ref, char *buf, size_t n);

/* wait.c: polling with backoff until done, the call's deadline (default_limit seconds when it
 * has none), or cancel (like aws/wait.h). A poll returns 1 done, 0 not yet (note: what it waits
 * for), < 0 an error in e. A timeout's error ends with the last note. */
typedef int kube_poll_fn(struct call *c, void *ctx, char *note, size_t n, struct mesh_err *e);
int kube_wait_until(struct call *c, double default_limit, kube_poll_fn *poll, void *ctx, const char *cluster,
                    struct mesh_err *e);

#endif
