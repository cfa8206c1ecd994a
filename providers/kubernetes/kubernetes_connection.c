/* kubernetes_connection.c: a cluster's connection, a node of the DAG (see CONTRACT: driver.h's
 * `connects`). Its outputs say how to reach and authenticate (server, CA, EKS cluster and region,
 * or a kubeconfig path and context), never a secret; they are exactly what kube_conn_open gets
 * for the resources that belong to it. create waits until the API server answers GET /version
 * (a new EKS endpoint answers minutes after the cluster is ACTIVE); read asks once, quickly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/duration.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "http.h"
#include "kubernetes/kube.h"

#define CONNECT_CREATE_TIMEOUT 900.0

static const struct attr conn_schema[] = {
    {"cluster", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "mesh's name of the cluster (\"cluster-1\"), used in every message"},
    {"server", T_STRING, ATTR_FORCE_NEW, "API server URL; for a kubeconfig connection taken from the file when absent"},
    {"ca_data", T_STRING, 0, "base64 of the API server's CA certificate (PEM)"},
    {"auth", T_STRING, 0, "\"eks\": a token from the EKS authentication hook; absent: the kubeconfig's own auth"},
    {"eks_cluster_name", T_STRING, 0, "EKS cluster name the token is for (auth eks)"},
    {"region", T_STRING, 0, "AWS region of that cluster (auth eks)"},
    {"kubeconfig", T_STRING, 0, "path of a kubeconfig (existing clusters); stored absolute"},
    {"context", T_STRING, 0, "context in the kubeconfig (default: its current-context)"},
    {"id", T_STRING, ATTR_COMPUTED, "the server URL"},
    {"kubernetes_version", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "the server's gitVersion (GET /version)"},
    {NULL, 0, 0, NULL},
};

static const char *const conn_inputs[] = {"cluster", "server", "ca_data", "auth", "eks_cluster_name", "region",
                                          "kubeconfig", "context", NULL};

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* "~/x" and relative paths made absolute (against HOME and the working directory). */
static char *absolute(const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    const char *home = getenv("HOME");
    char cwd[4096];
    if (path[0] == '/') strbuf_adds(&sb, path);
    else if (path[0] == '~' && path[1] == '/' && home) strbuf_addf(&sb, "%s/%s", home, path + 2);
    else if (getcwd(cwd, sizeof(cwd))) strbuf_addf(&sb, "%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
    else strbuf_adds(&sb, path);
    return strbuf_detach(&sb);
}

/* The inputs as the connection stores them (the kubeconfig path absolute). */
static json_t *normalized(const json_t *desired)
{
    json_t *o = json_object();
    for (int i = 0; conn_inputs[i]; i++) {
        const json_t *v = json_object_get(desired, conn_inputs[i]);
        if (json_is_string(v) && *json_string_value(v)) json_object_set(o, conn_inputs[i], (json_t *)v);
    }
    const char *kc = str_of(o, "kubeconfig");
    if (kc) {
        char *abs = absolute(kc);
        json_object_set_new(o, "kubeconfig", json_string(abs));
        free(abs);
    }
    return o;
}

static int validate(struct call *c, const json_t *cfg)
{
    const char *cluster = str_of(cfg, "cluster"), *auth = str_of(cfg, "auth");
    if (auth && strcmp(auth, "eks") != 0)
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "%s: auth \"%s\" is not known: \"eks\", or none to use the kubeconfig's",
                            cluster, auth);
    if (auth && (!str_of(cfg, "eks_cluster_name") || (!str_of(cfg, "server") && !str_of(cfg, "kubeconfig"))))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "%s: auth \"eks\" needs server and eks_cluster_name", cluster);
    if (!auth && !str_of(cfg, "kubeconfig"))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "%s: give either server with auth \"eks\", or a kubeconfig",
                            cluster);
    return 0;
}

/* Outputs: the inputs, the server (resolved from the kubeconfig), id and the version. */
static json_t *outputs_of(const json_t *cfg, struct kube_conn *k, const json_t *version)
{
    json_t *o = json_deep_copy(cfg);
    json_object_set_new(o, "server", json_string(kube_conn_server(k)));
    json_object_set_new(o, "id", json_string(kube_conn_server(k)));
    const char *v = json_string_value(json_object_get(version, "gitVersion"));
    if (v) json_object_set_new(o, "kubernetes_version", json_string(v));
    return o;
}

static int open_conn(struct call *c, const json_t *cfg, struct kube_conn **k)
{
    struct mesh_err e;
    mesh_err_init(&e);
    if (kube_conn_open(cfg, k, &e) < 0) return kube_fail(c, &e);
    return 0;
}

/* The client's message without what the connection's note already says ("cluster-1: the API
 * server at https://… does not answer: "). */
static const char *reason_of(struct kube_conn *k, const char *msg)
{
    char prefix[1200];
    snprintf(prefix, sizeof(prefix), "%s: the API server at %s does not answer: ", kube_conn_cluster(k), kube_conn_server(k));
    if (strncmp(msg, prefix, strlen(prefix)) == 0) return msg + strlen(prefix);
    size_t n = strlen(kube_conn_cluster(k));
    if (strncmp(msg, kube_conn_cluster(k), n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') return msg + n + 2;
    return msg;
}

/* Asks until the server answers, the deadline, or cancel; every failed try is a progress note. */
static int wait_answer(struct call *c, const json_t *cfg, json_t **outputs)
{
    if (validate(c, cfg) < 0) return c->err->code;
    struct kube_conn *k = NULL;
    if (open_conn(c, cfg, &k) < 0) return c->err->code;
    kube_conn_set_patience(k, 5000, 20000, 2);
    double start = mesh_now_mono();
    double deadline = c->deadline > 0 ? c->deadline : start + CONNECT_CREATE_TIMEOUT * http_backoff_scale();
    int rc;
    for (int n = 0;; n++) {
        struct mesh_err e;
        mesh_err_init(&e);
        json_t *version = NULL;
        rc = kube_version(c, k, &version, &e);
        if (rc == 0) {
            *outputs = outputs_of(cfg, k, version);
            json_decref(version);
            break;
        }
        /* Bad input or a credential that cannot be made (a missing exec plugin) will not get
         * better; anything else (refused, TLS not up, 5xx, a 401 while the cluster's access
         * entries propagate) may. */
        if (rc == MESH_EINVAL || rc == MESH_ECANCELED || (c->cancel && *c->cancel) ||
            strcmp(e.cause, KUBE_CAUSE_CREDENTIAL) == 0) {
            kube_fail(c, &e);
            break;
        }
        double now = mesh_now_mono();
        if (now >= deadline) {
            rc = mesh_err_set(c->err, MESH_ETIMEOUT, c->address, "%s: the API server at %s did not answer within %.0f s: %s",
                              kube_conn_cluster(k), kube_conn_server(k), now - start, reason_of(k, e.msg));
            break;
        }
        if (c->progress)
            c->progress(c->progress_ctx, c->address, "waiting for the API server of %s at %s to answer: %s",
                        kube_conn_cluster(k), kube_conn_server(k), reason_of(k, e.msg));
        double d = (n < 4 ? 0.5 * (1 << n) : 5.0) * http_backoff_scale();
        if (d < 0.02) d = 0.02;
        if (now + d > deadline) d = deadline - now;
        for (; d > 0 && !(c->cancel && *c->cancel); d -= 0.05) usleep((useconds_t)((d < 0.05 ? d : 0.05) * 1e6));
    }
    kube_conn_close(k);
    return rc;
}

static int conn_create(struct call *c, const json_t *desired, json_t **outputs)
{
    json_t *cfg = normalized(desired);
    int rc = wait_answer(c, cfg, outputs);
    json_decref(cfg);
    return rc;
}

static int conn_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    (void)outputs;
    (void)prior;
    return conn_create(c, desired, new_outputs);
}

/* One quick question: does the server answer? Never MESH_ENOTFOUND (a connection is not an object). */
static int probe(struct call *c, const json_t *cfg, json_t **current)
{
    struct kube_conn *k = NULL;
    if (open_conn(c, cfg, &k) < 0) return c->err->code;
    kube_conn_set_patience(k, 5000, 15000, 2);
    struct mesh_err e;
    mesh_err_init(&e);
    json_t *version = NULL;
    int rc = kube_version(c, k, &version, &e);
    if (rc == 0) {
        *current = outputs_of(cfg, k, version);
    } else if (strstr(e.msg, "does not answer")) {  /* the client said so, naming the cluster */
        rc = mesh_err_set(c->err, rc, c->address, "%s; check that the cluster is up and reachable, or plan with "
                          "--refresh=false", e.msg);
    } else {
        rc = mesh_err_set(c->err, rc == MESH_ENOTFOUND ? MESH_ERR : rc, c->address,
                          "%s: the API server at %s does not answer GET /version: %s; or plan with --refresh=false",
                          kube_conn_cluster(k), kube_conn_server(k), e.msg);
    }
    json_decref(version);
    kube_conn_close(k);
    return rc;
}

/* What a read observes is that the server answers, and its version: the settable attributes
 * are how mesh reaches it, not something the world holds, so the plan compares them with what
 * was applied (the kubeconfig path as written, not as stored absolute). */
static int conn_read(struct call *c, const json_t *outputs, json_t **current)
{
    json_t *cfg = normalized(outputs), *full = NULL;
    int rc = probe(c, cfg, &full);
    json_decref(cfg);
    if (rc) return rc;
    *current = json_object();
    json_object_set(*current, "id", json_object_get(full, "id"));
    json_object_set(*current, "kubernetes_version", json_object_get(full, "kubernetes_version"));
    json_decref(full);
    return 0;
}

/* Nothing remote to adopt: answers when the server does; otherwise (unreachable, or a bad
 * kubeconfig) create runs, which waits or says what is wrong. */
static int conn_find(struct call *c, const json_t *desired, json_t **outputs)
{
    json_t *cfg = normalized(desired);
    struct mesh_err saved = *c->err;
    int rc = validate(c, cfg);
    if (rc == 0) rc = probe(c, cfg, outputs);
    if (rc < 0 && rc != MESH_ECANCELED) {
        *c->err = saved;
        rc = MESH_ENOTFOUND;
    }
    json_decref(cfg);
    return rc;
}

static int conn_delete(struct call *c, const json_t *outputs)
{
    (void)c;
    (void)outputs;
    return 0;  /* nothing remote: the cluster is another resource's */
}

static int conn_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    const char *auth = str_of(desired, "auth");
    if (auth && strcmp(auth, "eks") != 0 && !strstr(auth, "${")) {
        report(ctx, "auth", "\"eks\", or leave it out to use the kubeconfig's own authentication");
        return 1;
    }
    if (!auth && !json_object_get(desired, "kubeconfig")) {
        report(ctx, "kubeconfig", "a connection needs either auth: eks (with server and eks_cluster_name) or a kubeconfig");
        return 1;
    }
    return 0;
}

const struct driver kubernetes_connection_driver = {
    .type = "kubernetes_connection",
    .provider = NULL,
    .connects = &kubernetes_provider,
    .schema = conn_schema,
    .doc = "how to reach a Kubernetes cluster's API (an EKS endpoint and token, or a kubeconfig context); no secret is stored",
    .timeout_create = CONNECT_CREATE_TIMEOUT,
    .timeout_update = CONNECT_CREATE_TIMEOUT,
    .create = conn_create,
    .find = conn_find,
    .read = conn_read,
    .update = conn_update,
    .delete = conn_delete,
    .check = conn_check,
};
