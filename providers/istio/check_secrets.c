/* check_secrets.c: the remote secrets, as `istioctl remote-clusters` sees them from outside.
 * Each cluster must hold istio-remote-secret-<other> (label istio/multiCluster=true, which is
 * what istiod watches) for every other cluster, and the kubeconfig in each must reach the
 * cluster it names: a handle is opened from the kubeconfig's text (in memory only) and asked
 * for kube-system, whose uid must be the one that cluster's own connection sees, so a secret
 * pointing at the wrong server or holding a stale token fails here rather than in istiod's log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wipe.h"
#include "base/xalloc.h"
#include "istio/check.h"

#define PREFIX "istio-remote-secret-"
#define LABEL "istio/multiCluster"

static const json_t *secret_named(const json_t *items, const char *name)
{
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it) {
        const char *n = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
        if (n && strcmp(n, name) == 0) return it;
    }
    return NULL;
}

/* (a): one row per other cluster. */
static void presence(struct check_ctx *x, struct check_cluster *o, const json_t *items)
{
    for (size_t i = 0; i < x->n; i++) {
        struct check_cluster *c = &x->cl[i];
        if (c == o) continue;
        char name[300], check[340], fix[900];
        snprintf(name, sizeof(name), PREFIX "%s", c->name);
        snprintf(check, sizeof(check), "remote secret for %s", c->name);
        if (secret_named(items, name)) {
            check_row(o, check, 1, NULL, "%s/%s (label " LABEL "=true)", o->ns, name);
            continue;
        }
        snprintf(fix, sizeof(fix),
                 "run mesh apply with istio.remote_secrets: true (it makes kubernetes_secret.%s.%s), or by hand: "
                 "istioctl create-remote-secret --context=%s --name=%s | kubectl apply --context=%s -f -",
                 o->name, name, c->name, c->name, o->name);
        struct call call;
        struct mesh_err err;
        check_call(x, &call, &err, 30);
        struct kube_ref ref = {"v1", "Secret", o->ns, name};
        json_t *live = NULL;
        int rc = kube_get(&call, o->k, &ref, &live, &err);
        json_decref(live);  /* holds the token: wiped by jansson's allocator */
        if (rc == 0)
            check_row(o, check, 0, fix, "%s/%s exists but has no label " LABEL "=true: istiod ignores it", o->ns, name);
        else if (rc == MESH_ENOTFOUND)
            check_row(o, check, 0, fix, "%s/%s is missing: istiod here does not see %s's endpoints", o->ns, name,
                      c->name);
        else
            check_row(o, check, 0, fix, "cannot read %s/%s: %s", o->ns, name, err.msg);
    }
}

/* (b): the kubeconfig under key cluster of secret sname reaches that cluster. */
static void authenticates(struct check_ctx *x, struct check_cluster *o, const char *sname, const char *cluster,
                          const char *b64)
{
    char check[340], fix[900], what[400];
    snprintf(check, sizeof(check), "remote secret for %s authenticates", cluster);
    snprintf(what, sizeof(what), "secret %s/%s", o->ns, sname);
    snprintf(fix, sizeof(fix),
             "the reader token or server in %s is stale: run mesh apply (it renews "
             "kubernetes_service_account_token.%s.istio-reader and the remote secrets), or recreate it with "
             "istioctl create-remote-secret --context=%s --name=%s",
             what, cluster, cluster, cluster);
    struct check_cluster *c = check_cluster_named(x, cluster);
    if (!c) {
        check_row(o, check, 0, "remove the secret, or add the cluster to the spec and mesh apply",
                  "%s names cluster %s, which is not in state", what, cluster);
        return;
    }
    size_t len = 0;
    unsigned char *text = check_b64_decode(b64, &len);
    if (!text) {
        check_row(o, check, 0, fix, "%s: key %s is not base64", what, cluster);
        return;
    }
    json_t *config = json_pack("{s:s, s:s, s:s}", "cluster", cluster, "kubeconfig_text", (const char *)text,
                               "kubeconfig_name", what);
    wipe_free(text);
    struct kube_conn *k = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    int rc = kube_conn_open(config, &k, &err);
    json_decref(config);
    if (rc) {
        check_row(o, check, 0, fix, "%s", err.msg);
        return;
    }
    kube_conn_set_patience(k, 5000, 20000, 2);
    struct call call;
    check_call(x, &call, &err, 30);
    struct kube_ref ref = {"v1", "Namespace", NULL, "kube-system"};
    json_t *ns = NULL;
    if (kube_get(&call, k, &ref, &ns, &err)) {
        check_row(o, check, 0, fix, "with the kubeconfig in %s: %s", what, err.msg);
    } else {
        const char *uid = json_string_value(json_object_get(json_object_get(ns, "metadata"), "uid"));
        if (!c->uid)
            check_row(o, check, 0, "make the cluster reachable first (see its API server row)",
                      "%s authenticates at %s, but %s's own connection does not answer to compare", what,
                      kube_conn_server(k), cluster);
        else if (!uid || strcmp(uid, c->uid) != 0)
            check_row(o, check, 0, fix, "%s reaches %s, which is not %s (kube-system uid %s, not %s)", what,
                      kube_conn_server(k), cluster, uid ? uid : "none", c->uid);
        else
            check_row(o, check, 1, NULL, "reaches %s at %s (kube-system uid matches)", cluster, kube_conn_server(k));
    }
    json_decref(ns);
    kube_conn_close(k);
}

void check_remote_secrets(struct check_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        struct check_cluster *o = &x->cl[i];
        if (!o->k || x->n < 2) continue;
        struct call call;
        struct mesh_err err;
        check_call(x, &call, &err, 60);
        json_t *items = NULL;
        if (kube_list(&call, o->k, "v1", "Secret", o->ns, LABEL "=true", &items, &err)) {
            check_row(o, "remote secrets", 0, "is the cluster reachable, and may its credential list secrets?",
                      "cannot list the secrets in %s: %s", o->ns, err.msg);
            continue;
        }
        presence(x, o, items);
        size_t j;
        const json_t *it;
        json_array_foreach(items, j, it) {
            const char *sname = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
            const json_t *data = json_object_get(it, "data");
            const char *key;
            const json_t *v;
            if (!sname || !json_object_size(data)) {
                char check[340];
                snprintf(check, sizeof(check), "remote secret %s", sname ? sname : "?");
                check_row(o, check, 0, "recreate it (mesh apply, or istioctl create-remote-secret)",
                          "%s/%s holds no kubeconfig", o->ns, sname ? sname : "?");
                continue;
            }
            json_object_foreach((json_t *)data, key, v) {
                if (json_string_value(v)) authenticates(x, o, sname, key, json_string_value(v));
            }
        }
        json_decref(items);
    }
}
