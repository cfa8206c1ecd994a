/* provider.c: the `kubernetes` provider: one handle per connection (struct kube_conn), opened
 * from the connection's outputs; its resources must belong to a connection. */
#include "kubernetes/kube.h"

static int kube_provider_open(const json_t *config, void **handle, struct mesh_err *err)
{
    struct kube_conn *k = NULL;
    int rc = kube_conn_open(config, &k, err);
    *handle = k;
    return rc;
}

static json_t *kube_provider_stats(void *handle) { return handle ? kube_conn_stats(handle) : NULL; }

static void kube_provider_close(void *handle) { kube_conn_close(handle); }

const struct provider kubernetes_provider = {
    .name = "kubernetes",
    .open = kube_provider_open,
    .needs_connection = 1,
    .stats = kube_provider_stats,
    .close = kube_provider_close,
};
