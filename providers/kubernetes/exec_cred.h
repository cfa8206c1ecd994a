/* exec_cred.h: an exec credential plugin run as kubectl runs it (client.authentication.k8s.io
 * v1/v1beta1): the command (looked up in PATH, or relative to the kubeconfig's directory when it
 * holds a '/'), its args, the inherited environment plus the plugin's env and
 * KUBERNETES_EXEC_INFO, stdin from /dev/null (never interactive), stdout read as an
 * ExecCredential (at most KUBE_EXEC_MAX_OUTPUT bytes), stderr kept for the error message, and a
 * time limit. The token and key it prints are never logged. */
#ifndef MESH_KUBE_EXEC_CRED_H
#define MESH_KUBE_EXEC_CRED_H

#include <stddef.h>

#include "base/err.h"
#include "kubernetes/kubeconfig.h"

#define KUBE_EXEC_MAX_OUTPUT (1u << 20)
#define KUBE_EXEC_TIMEOUT 60.0   /* seconds */

struct kube_exec_cred {
    char *token;                 /* a secret, or NULL */
    unsigned char *cert_pem;     /* clientCertificateData, or NULL */
    unsigned char *key_pem;      /* clientKeyData (a secret), or NULL */
    size_t cert_len, key_len;
    long long expires;           /* unix seconds of expirationTimestamp; 0: none given */
};

/* Runs the plugin; timeout in seconds (<= 0: KUBE_EXEC_TIMEOUT). Errors name the plugin, its exit
 * status or signal, the end of its stderr, and the installHint. */
int kube_exec_run(const struct kube_exec_config *x, double timeout, struct kube_exec_cred *out, struct mesh_err *e);
/* Parses a plugin's stdout (exposed for tests). */
int kube_exec_parse(const char *text, size_t len, const struct kube_exec_config *x, struct kube_exec_cred *out,
                    struct mesh_err *e);
void kube_exec_cred_release(struct kube_exec_cred *c);

/* RFC 3339 ("2026-12-05T13:00:00Z", "...T13:00:00.5+02:00") -> unix seconds; -1 when not one. */
long long kube_rfc3339(const char *s);

#endif
