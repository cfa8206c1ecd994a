/* check.c: the "istio" check hook (check_hooks.def): from the state's rows it finds the clusters
 * (kubernetes_connection rows) and Istio's namespace in each, opens one Kubernetes handle per
 * cluster from the connection's outputs (as the kubernetes provider does: an EKS token through
 * the registry's auth hook), learns who each cluster is (kube-system's uid, which a remote
 * secret's kubeconfig must reach too), then runs the checks and returns the report. */
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/strbuf.h"
#include "base/wipe.h"
#include "base/xalloc.h"
#include "istio/check.h"

#define CONN_TYPE "kubernetes_connection"
#define DEFAULT_NS "istio-system"

void check_row(struct check_cluster *cl, const char *check, int ok, const char *fix, const char *fmt, ...)
{
    char detail[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_t *row = json_pack("{s:s, s:b, s:s}", "check", check, "ok", ok, "detail", detail);
    if (!ok && fix) json_object_set_new(row, "fix", json_string(fix));
    json_array_append_new(cl->rows, row);
}

const char *check_attr(const json_t *res, const char *name)
{
    const char *s = json_string_value(json_object_get(json_object_get(res, "attributes"), name));
    if (!s || !*s) s = json_string_value(json_object_get(json_object_get(res, "outputs"), name));
    return s && *s ? s : NULL;
}

struct check_cluster *check_cluster_named(struct check_ctx *x, const char *name)
{
    for (size_t i = 0; name && i < x->n; i++)
        if (strcmp(x->cl[i].name, name) == 0) return &x->cl[i];
    return NULL;
}

unsigned char *check_b64_decode(const char *s, size_t *len)
{
    struct strbuf clean = STRBUF_INIT;
    strbuf_init(&clean);
    for (const char *p = s; *p; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ') strbuf_add(&clean, p, 1);
    unsigned char *out = NULL;
    if (clean.len % 4 == 0) {
        out = xmalloc(clean.len / 4 * 3 + 1);
        int n = clean.len ? EVP_DecodeBlock(out, (const unsigned char *)clean.buf, (int)clean.len) : 0;
        if (n < 0) {
            wipe_free(out);
            out = NULL;
        } else {
            if (clean.len >= 1 && clean.buf[clean.len - 1] == '=') n--;
            if (clean.len >= 2 && clean.buf[clean.len - 2] == '=') n--;
            out[n] = '\0';
            *len = (size_t)n;
        }
    }
    if (clean.buf) wipe_free(strbuf_detach(&clean));
    return out;
}

void check_call(struct check_ctx *x, struct call *c, struct mesh_err *err, double seconds)
{
    memset(c, 0, sizeof(*c));
    mesh_err_init(err);
    c->address = x->c->address;
    c->type = x->c->type;
    c->run_id = x->c->run_id;
    c->cancel = x->c->cancel;
    c->progress = x->c->progress;
    c->progress_ctx = x->c->progress_ctx;
    c->err = err;
    c->deadline = mesh_now_mono() + seconds;
}

/* Istio's namespace in cluster: the istiod release's, else the cacerts secret's, else the default. */
static char *istio_namespace(const json_t *resources, const char *conn)
{
    const char *ns = NULL;
    size_t i;
    const json_t *r;
    json_array_foreach(resources, i, r) {
        const char *rc = json_string_value(json_object_get(r, "connection"));
        const char *type = json_string_value(json_object_get(r, "type"));
        if (!rc || !type || strcmp(rc, conn) != 0) continue;
        const char *name = check_attr(r, "name"), *rns = check_attr(r, "namespace");
        if (!name || !rns) continue;
        if (strcmp(type, "helm_release") == 0 && strcmp(name, "istiod") == 0) return xstrdup(rns);
        if (strcmp(type, "kubernetes_secret") == 0 && strcmp(name, "cacerts") == 0) ns = rns;
    }
    return xstrdup(ns ? ns : DEFAULT_NS);
}

/* Opens the handle and asks for kube-system: the cluster answers, and who it is. */
static void open_cluster(struct check_ctx *x, struct check_cluster *cl, const json_t *outputs)
{
    struct mesh_err err;
    mesh_err_init(&err);
    json_t *config = json_deep_copy(outputs);
    if (!json_string_value(json_object_get(config, "cluster")))
        json_object_set_new(config, "cluster", json_string(cl->name));
    json_object_del(config, "retry_unreachable");
    int rc = kube_conn_open(config, &cl->k, &err);
    json_decref(config);
    if (rc) {
        check_row(cl, "API server reachable", 0, "fix the connection (mesh state show " CONN_TYPE ".<cluster>) and run mesh apply",
                  "%s", err.msg);
        return;
    }
    kube_conn_set_patience(cl->k, 5000, 20000, 2);
    struct call c;
    check_call(x, &c, &err, 30);
    struct kube_ref ref = {"v1", "Namespace", NULL, "kube-system"};
    json_t *ns = NULL;
    if (kube_get(&c, cl->k, &ref, &ns, &err)) {
        check_row(cl, "API server reachable", 0,
                  "is the cluster up and its credential valid? try `kubectl get ns kube-system` against it",
                  "%s", err.msg);
        kube_conn_close(cl->k);
        cl->k = NULL;
        return;
    }
    const char *uid = json_string_value(json_object_get(json_object_get(ns, "metadata"), "uid"));
    cl->uid = uid ? xstrdup(uid) : NULL;
    check_row(cl, "API server reachable", 1, NULL, "%s answers", kube_conn_server(cl->k));
    json_decref(ns);
}

static int all_ok(const struct check_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        size_t j;
        const json_t *row;
        json_array_foreach(x->cl[i].rows, j, row) if (!json_is_true(json_object_get(row, "ok"))) return 0;
    }
    return 1;
}

int istio_check(struct call *c, const json_t *input, json_t **report)
{
    *report = NULL;
    const json_t *resources = json_object_get(input, "resources");
    const json_t *options = json_object_get(input, "options");
    struct check_ctx x = {.c = c, .resources = resources};
    x.timeout = json_number_value(json_object_get(options, "timeout"));
    if (x.timeout <= 0) x.timeout = 300;
    size_t i;
    const json_t *r;
    x.cl = xcalloc(json_array_size(resources) + 1, sizeof(*x.cl));
    json_array_foreach(resources, i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        const char *addr = json_string_value(json_object_get(r, "address"));
        if (!type || !addr || strcmp(type, CONN_TYPE) != 0) continue;
        struct check_cluster *cl = &x.cl[x.n++];
        const char *name = json_string_value(json_object_get(json_object_get(r, "outputs"), "cluster"));
        cl->name = xstrdup(name && *name ? name : strchr(addr, '.') + 1);
        cl->conn = xstrdup(addr);
        cl->ns = istio_namespace(resources, addr);
        cl->rows = json_array();
        cl->outputs = json_object_get(r, "outputs");
    }
    if (x.n == 0) {
        free(x.cl);
        return mesh_err_set(c->err, MESH_EINVAL, NULL,
                            "the state holds no cluster (no " CONN_TYPE "); run mesh apply with a clusters: section first");
    }
    for (i = 0; i < x.n; i++) open_cluster(&x, &x.cl[i], x.cl[i].outputs);
    check_remote_secrets(&x);
    check_certs(&x);
    check_releases(&x);
    if (json_is_true(json_object_get(options, "traffic"))) check_traffic(&x);
    json_t *clusters = json_object();
    for (i = 0; i < x.n; i++) {
        json_object_set_new(clusters, x.cl[i].name, x.cl[i].rows);
        if (x.cl[i].k) kube_conn_close(x.cl[i].k);
        free(x.cl[i].name);
        free(x.cl[i].conn);
        free(x.cl[i].ns);
        free(x.cl[i].uid);
    }
    *report = json_pack("{s:b, s:o}", "ok", all_ok(&x), "clusters", clusters);
    free(x.cl);
    return 0;
}
