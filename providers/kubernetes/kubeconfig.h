/* kubeconfig.h: what one context of a kubeconfig says: the server, its CA, and how to
 * authenticate (a bearer token or token file, a client certificate and key, or an exec credential
 * plugin). File paths in it are relative to the kubeconfig's directory, as kubectl reads them;
 * files named by it are read into memory at load time (a token file each time a token is made). */
#ifndef MESH_KUBECONFIG_H
#define MESH_KUBECONFIG_H

#include <stddef.h>

#include "base/err.h"

/* users[].user.exec: a credential plugin (client.authentication.k8s.io). */
struct kube_exec_config {
    char *api_version;       /* "client.authentication.k8s.io/v1" (or v1beta1) */
    char *command;
    char **args;             /* NULL-terminated */
    char **env;              /* "NAME=value", NULL-terminated */
    char *install_hint;      /* may be NULL */
    char *interactive_mode;  /* "Never", "IfAvailable", "Always" or NULL */
    char *dir;               /* the kubeconfig's directory: a command with a '/' is relative to it */
    int provide_cluster_info;
    char *cluster_json;      /* provideClusterInfo: {"server": …, "certificate-authority-data": …} for
                              * KUBERNETES_EXEC_INFO's spec.cluster; NULL otherwise */
};

struct kubeconfig {
    char *path;
    char *context, *cluster, *user;   /* the names resolved */
    char *server;
    unsigned char *ca_pem;            /* NULL: the system's CAs */
    size_t ca_len;
    char *token;                      /* users[].user.token: a secret */
    char *token_file;                 /* absolute path, read when a token is needed */
    unsigned char *cert_pem, *key_pem;  /* client certificate and its key (a secret) */
    size_t cert_len, key_len;
    struct kube_exec_config *exec;    /* NULL unless the user has an exec plugin */
};

/* Loads context (NULL or "": current-context) of the kubeconfig at path. Errors name the file
 * and what is missing: `kubeconfig /x: context "foo" not found (contexts: a, b)`. */
int kubeconfig_load(const char *path, const char *context, struct kubeconfig *kc, struct mesh_err *e);
/* The same from text (a kubeconfig held in a Secret), never written to disk; name says which in
 * errors ("secret istio-system/istio-remote-secret-c1"). It must carry its own credential: an
 * exec plugin, a tokenFile or any file reference is refused (MESH_EINVAL). */
int kubeconfig_load_text(const char *name, const char *text, size_t len, const char *context, struct kubeconfig *kc,
                         struct mesh_err *e);
/* Frees kc, wiping the token and key. */
void kubeconfig_release(struct kubeconfig *kc);
void kube_exec_config_free(struct kube_exec_config *x);

/* Reads a whole file of at most max bytes into a malloc'd NUL-terminated buffer (wipe_free it
 * when it may hold a secret). what names it in errors ("kubeconfig /x: client-key"). */
int kube_read_file(const char *path, size_t max, const char *what, char **buf, size_t *len, struct mesh_err *e);
/* path made absolute against dir (a copy when already absolute); malloc'd. */
char *kube_path_join(const char *dir, const char *path);

#endif
