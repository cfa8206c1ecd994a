/* kubeconfig_write.h: the kubeconfig `mesh kubeconfig` writes for a cluster mesh made: a cluster
 * (server, CA), a user whose `exec` entry runs `mesh token CLUSTER` (no secret is ever written), and a
 * context, all named after the cluster, merged into an existing file as `aws eks
 * update-kubeconfig` merges: this cluster's three entries are replaced or added, current-context
 * is set, and everything else is kept as it was. */
#ifndef MESH_KUBECONFIG_WRITE_H
#define MESH_KUBECONFIG_WRITE_H

#include <stddef.h>

#include "base/err.h"

struct kubeconfig_entry {
    const char *name;          /* the cluster's, user's and context's name */
    const char *server;        /* https://... */
    const char *ca_data;       /* base64 of the CA PEM; NULL: none (the system's CAs) */
    const char *command;       /* the exec plugin: an absolute path */
    const char *const *args;   /* its arguments */
    size_t nargs;
};

/* The YAML text of existing (len bytes; NULL, empty or a null document: a new kubeconfig) with e
 * merged in, in *out (caller frees). Other entries and keys keep their values, order, styles and
 * tags (comments are lost: libyaml does not report them; aliases are expanded). MESH_EINVAL,
 * where = "file:line:col" (file names existing in messages), when existing is not YAML or not a
 * kubeconfig: more than one document, not a mapping, clusters/users/contexts not lists. */
int kubeconfig_merge(const char *file, const char *existing, size_t len, const struct kubeconfig_entry *e, char **out,
                     struct mesh_err *err);

#endif
