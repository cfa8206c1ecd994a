/* check.h: the inside of the "istio" check hook (`mesh check`, check_hooks.def), shared by the
 * files of providers/istio/: check.c reads the input and opens one Kubernetes handle per cluster,
 * check_secrets.c (remote secrets present and authenticating), check_certs.c (one root, every CA
 * chained to it), check_releases.c (helm releases deployed, their Deployments ready) and
 * check_traffic.c (the helloworld sample answered from both sides) add rows to the report.
 * Nothing here ever puts a secret value (token, key, kubeconfig text) in a row. */
#ifndef MESH_ISTIO_CHECK_H
#define MESH_ISTIO_CHECK_H

#include <stddef.h>

#include <jansson.h>

#include "driver.h"
#include "kubernetes/kube.h"

struct check_cluster {
    char *name;           /* "c1" */
    char *conn;           /* "kubernetes_connection.c1" */
    char *ns;             /* Istio's namespace there (istio-system unless state says otherwise) */
    struct kube_conn *k;  /* NULL when the handle could not be opened */
    char *uid;            /* kube-system's uid: who this cluster is; NULL when it did not answer */
    json_t *rows;         /* the report's array for this cluster */
    const json_t *outputs;  /* its connection's outputs (how to reach it; no secret) */
};

struct check_ctx {
    struct call *c;
    const json_t *resources;  /* the state's rows, no sensitive value */
    struct check_cluster *cl;
    size_t n;
    double timeout;           /* seconds, for --traffic's waits */
};

/* One row: check names what, detail what was seen, fix (NULL when ok) what to do. */
void check_row(struct check_cluster *cl, const char *check, int ok, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* The attribute (else output) name of a state resource, or NULL. */
const char *check_attr(const json_t *res, const char *name);
/* The cluster named name, or NULL. */
struct check_cluster *check_cluster_named(struct check_ctx *x, const char *name);
/* The bytes of base64 text s (NUL-terminated; wipe_free them when secret), or NULL. */
unsigned char *check_b64_decode(const char *s, size_t *len);
/* A short call for one cluster's requests: cancel and progress of x->c, its own deadline. */
void check_call(struct check_ctx *x, struct call *c, struct mesh_err *err, double seconds);

void check_remote_secrets(struct check_ctx *x);
void check_certs(struct check_ctx *x);
void check_releases(struct check_ctx *x);
void check_traffic(struct check_ctx *x);

/* check_certs.c: whether ca_pem and every certificate of chain_pem (may be NULL) chain to the
 * self-signed root_pem. 0 when they do; else -1 with why (no secret in it). */
int check_cert_chain(const char *root_pem, const char *ca_pem, const char *chain_pem, char *why, size_t n);
/* "ab:cd:ef:01:23:45:67:89": the start of a certificate's SHA-256 fingerprint; -1 if pem is none. */
int check_cert_fingerprint(const char *pem, char *out, size_t n);

#endif
