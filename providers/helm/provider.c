/* provider.c: the `helm` provider. SCAFFOLD (issue 12's contract, CONTRACT.md §1): its
 * resources belong to a kubernetes_connection, so the spec can say `connection:
 * kubernetes_connection.C` on a helm_release; the helm helper's provider.c replaces this file
 * (open: a kube_conn from the connection's outputs). */
#include "driver.h"

extern const struct provider kubernetes_provider;  /* providers/kubernetes/provider.c */

static int helm_scaffold_open(const json_t *config, void **handle, struct mesh_err *err)
{
    (void)config;
    *handle = NULL;
    return mesh_err_set(err, MESH_EINVAL, "helm", "the helm provider is not built in yet");
}

const struct provider helm_provider = {
    .name = "helm",
    .open = helm_scaffold_open,
    .needs_connection = 1,
    .connections_of = &kubernetes_provider,
};
