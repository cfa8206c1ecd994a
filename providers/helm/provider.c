/* provider.c: the `helm` provider: one handle per Kubernetes connection, holding that
 * cluster's client (helm reaches the cluster as mesh does: through the connection's credential,
 * handed over by the broker). */
#include <stdlib.h>

#include "base/xalloc.h"
#include "helm/helm.h"

static int helm_open(const json_t *config, void **handle, struct mesh_err *err)
{
    *handle = NULL;
    struct kube_conn *k = NULL;
    if (kube_conn_open(config, &k, err)) return -1;
    struct helm_conn *h = xcalloc(1, sizeof(*h));
    h->k = k;
    *handle = h;
    return 0;
}

static json_t *helm_stats(void *handle)
{
    struct helm_conn *h = handle;
    if (!h) return NULL;
    json_t *st = kube_conn_stats(h->k);  /* the driver's own Kubernetes calls (drift, events) */
    if (!st) st = json_object();
    json_int_t calls = json_integer_value(json_object_get(st, "api_calls")) + (json_int_t)atomic_load(&h->runs);
    json_object_set_new(st, "api_calls", json_integer(calls));
    json_object_set_new(st, "display_name", json_string("Helm (helm runs and Kubernetes calls)"));
    return st;
}

static void helm_close(void *handle)
{
    struct helm_conn *h = handle;
    if (!h) return;
    kube_conn_close(h->k);
    free(h);
}

const struct provider helm_provider = {
    .name = "helm",
    .open = helm_open,
    .needs_connection = 1,
    .uses_connections_of = &kubernetes_provider,
    .stats = helm_stats,
    .close = helm_close,
};
