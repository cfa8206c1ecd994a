/* conn.c: a Kubernetes handle: opened from a connection's outputs (see kube.h), it holds the
 * server, the CA and how to authenticate, and makes the credential when a request needs one:
 * an EKS token through the auth hook "eks" (kept until 60 s before its expiry), a kubeconfig's
 * token, token file, client certificate or exec plugin (kept until its expirationTimestamp). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/wipe.h"
#include "base/xalloc.h"
#include "base64.h"
#include "kubernetes/exec_cred.h"
#include "kubernetes/kube_int.h"

#define EKS_MARGIN 60   /* seconds before an EKS token's end when a new one is made */
#define EXEC_MARGIN 10

static const char *cfg_str(const json_t *config, const char *key)
{
    const char *s = json_string_value(json_object_get(config, key));
    return s && *s ? s : NULL;
}

static void describe_credential(struct kube_conn *k)
{
    const char *user = k->kc.user ? k->kc.user : "";
    switch (k->auth) {
    case KUBE_AUTH_EKS:
        snprintf(k->credential, sizeof(k->credential), "an EKS token for cluster %s", k->eks_cluster);
        break;
    case KUBE_AUTH_TOKEN:
        snprintf(k->credential, sizeof(k->credential), "the token of kubeconfig user %s", user);
        break;
    case KUBE_AUTH_TOKEN_FILE:
        snprintf(k->credential, sizeof(k->credential), "the token file %s of kubeconfig user %s", k->kc.token_file, user);
        break;
    case KUBE_AUTH_CERT:
        snprintf(k->credential, sizeof(k->credential), "the client certificate of kubeconfig user %s", user);
        break;
    case KUBE_AUTH_EXEC:
        snprintf(k->credential, sizeof(k->credential), "exec plugin %s of kubeconfig user %s", k->kc.exec->command, user);
        break;
    default:
        snprintf(k->credential, sizeof(k->credential), "no credentials (kubeconfig context %s names no user)",
                 k->kc.context ? k->kc.context : "?");
    }
}

/* The kubeconfig's way in, unless the connection says auth: eks. */
static enum kube_auth kubeconfig_auth(const struct kubeconfig *kc)
{
    if (kc->exec) return KUBE_AUTH_EXEC;
    if (kc->token) return KUBE_AUTH_TOKEN;
    if (kc->token_file) return KUBE_AUTH_TOKEN_FILE;
    if (kc->cert_pem) return KUBE_AUTH_CERT;
    return KUBE_AUTH_NONE;
}

static int open_from(struct kube_conn *k, const json_t *config, struct mesh_err *e)
{
    const char *server = cfg_str(config, "server"), *ca = cfg_str(config, "ca_data");
    const char *auth = cfg_str(config, "auth"), *path = cfg_str(config, "kubeconfig");
    const char *text = cfg_str(config, "kubeconfig_text");
    if (text) {
        struct mesh_err inner;
        mesh_err_init(&inner);
        const char *name = cfg_str(config, "kubeconfig_name");
        if (kubeconfig_load_text(name ? name : "(text)", text, strlen(text), cfg_str(config, "context"), &k->kc, &inner) < 0)
            return mesh_err_set(e, inner.code, NULL, "%s: %s", k->cluster, inner.msg);
        k->has_kc = 1;
        if (!server) server = k->kc.server;
        k->auth = kubeconfig_auth(&k->kc);
        path = k->kc.path;
    } else if (path) {
        struct mesh_err inner;
        mesh_err_init(&inner);
        if (kubeconfig_load(path, cfg_str(config, "context"), &k->kc, &inner) < 0)
            return mesh_err_set(e, inner.code, NULL, "%s: %s", k->cluster, inner.msg);
        k->has_kc = 1;
        if (!server) server = k->kc.server;
        k->auth = kubeconfig_auth(&k->kc);
    }
    if (!server)
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: the connection gives no server and no kubeconfig", k->cluster);
    if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: server \"%s\" is not an http(s) URL", k->cluster, server);
    k->server = xstrdup(server);
    size_t n = strlen(k->server);
    while (n > 0 && k->server[n - 1] == '/') k->server[--n] = '\0';
    if (auth && strcmp(auth, "eks") == 0) {
        k->auth = KUBE_AUTH_EKS;
        const char *name = cfg_str(config, "eks_cluster_name");
        if (!name) return mesh_err_set(e, MESH_EINVAL, NULL, "%s: auth \"eks\" needs eks_cluster_name", k->cluster);
        k->eks_cluster = xstrdup(name);
        if (cfg_str(config, "region")) k->region = xstrdup(cfg_str(config, "region"));
    } else if (auth) {
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: auth \"%s\" is not known (\"eks\", or none to use the kubeconfig's)",
                            k->cluster, auth);
    } else if (!path) {
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: the connection says neither auth: eks nor a kubeconfig", k->cluster);
    }
    if (ca) {
        k->ca_pem = b64_decode(ca, &k->ca_len);
        if (!k->ca_pem || !strstr((const char *)k->ca_pem, "-----BEGIN CERTIFICATE-----"))
            return mesh_err_set(e, MESH_EINVAL, NULL, "%s: ca_data is not the base64 of a PEM certificate", k->cluster);
    } else if (k->kc.ca_pem) {
        k->ca_pem = xmalloc(k->kc.ca_len + 1);
        memcpy(k->ca_pem, k->kc.ca_pem, k->kc.ca_len + 1);
        k->ca_len = k->kc.ca_len;
    }
    return 0;
}

int kube_conn_open(const json_t *config, struct kube_conn **out, struct mesh_err *e)
{
    *out = NULL;
    const char *cluster = cfg_str(config, "cluster");
    if (!cluster) return mesh_err_set(e, MESH_EINVAL, NULL, "kubernetes: the connection names no cluster");
    struct kube_conn *k = xcalloc(1, sizeof(*k));
    k->cluster = xstrdup(cluster);
    pthread_mutex_init(&k->mu, NULL);
    pthread_mutex_init(&k->cred_mu, NULL);
    atomic_init(&k->calls, 0);
    const char *b = getenv("MESH_RETRY_BUDGET");
    http_retries_init(&k->retries, b && *b ? atol(b) : 2000);
    http_client_init(&k->http);
    k->http.retries = &k->retries;
    k->retry_unreachable = json_is_true(json_object_get(config, "retry_unreachable"));
    if (open_from(k, config, e) < 0) {
        kube_conn_close(k);
        return e->code;
    }
    k->http.ca_pem = (struct http_blob){k->ca_pem, k->ca_len};
    if (k->kc.cert_pem) {
        k->http.cert_pem = (struct http_blob){k->kc.cert_pem, k->kc.cert_len};
        k->http.key_pem = (struct http_blob){k->kc.key_pem, k->kc.key_len};
    }
    describe_credential(k);
    *out = k;
    return 0;
}

static void cred_free(struct kube_cred *c)
{
    if (!c) return;
    wipe_free(c->token);
    free(c->cert_pem);
    wipe_free(c->key_pem);
    free(c);
}

void kube_conn_close(struct kube_conn *k)
{
    if (!k) return;
    if (k->cred && --k->cred->refs == 0) cred_free(k->cred);
    json_decref(k->discovery);
    kubeconfig_release(&k->kc);
    free(k->ca_pem);
    free(k->cluster);
    free(k->server);
    free(k->eks_cluster);
    free(k->region);
    pthread_mutex_destroy(&k->mu);
    pthread_mutex_destroy(&k->cred_mu);
    free(k);
}

const char *kube_conn_cluster(const struct kube_conn *k) { return k->cluster; }
const char *kube_conn_server(const struct kube_conn *k) { return k->server; }

void kube_conn_set_patience(struct kube_conn *k, long connect_timeout_ms, long timeout_ms, int max_attempts)
{
    if (connect_timeout_ms > 0) k->http.connect_timeout_ms = connect_timeout_ms;
    if (timeout_ms > 0) k->http.timeout_ms = timeout_ms;
    if (max_attempts > 0) k->http.max_attempts = max_attempts;
}

json_t *kube_conn_stats(const struct kube_conn *k)
{
    return json_pack("{s:s, s:I, s:I}", "display_name", "Kubernetes", "api_calls",
                     (json_int_t)atomic_load(&((struct kube_conn *)k)->calls), "retries",
                     (json_int_t)http_retries_count(&k->retries));
}

/* ---- credentials ---- */

static char *trimmed(char *s)
{
    char *p = s;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\t')) n--;
    char *t = xstrndup(p, n);
    wipe_free(s);
    return t;
}

/* Makes a credential (under k->cred_mu). Errors name the cluster and the way. */
static int cred_make(struct kube_conn *k, struct kube_cred *c, struct mesh_err *e)
{
    struct mesh_err inner;
    mesh_err_init(&inner);
    switch (k->auth) {
    case KUBE_AUTH_EKS: {
        json_t *params = json_pack("{s:s}", "cluster_name", k->eks_cluster);
        if (k->region) json_object_set_new(params, "region", json_string(k->region));
        struct auth_token t;
        int rc = auth_hook_token("eks", params, &t, &inner);
        json_decref(params);
        if (rc) return mesh_err_set(e, rc, NULL, "%s: cannot make %s: %s", k->cluster, k->credential, inner.msg);
        c->token = t.secret;  /* moved */
        c->expires = t.expires ? t.expires - EKS_MARGIN : 0;
        t.secret = NULL;
        return 0;
    }
    case KUBE_AUTH_TOKEN:
        c->token = xstrdup(k->kc.token);
        return 0;
    case KUBE_AUTH_TOKEN_FILE: {
        char *buf = NULL;
        if (kube_read_file(k->kc.token_file, 64 * 1024, "token file", &buf, NULL, &inner) < 0)
            return mesh_err_set(e, MESH_ERR, NULL, "%s: %s (kubeconfig %s, user %s)", k->cluster, inner.msg, k->kc.path,
                                k->kc.user);
        c->token = trimmed(buf);
        return 0;
    }
    case KUBE_AUTH_EXEC: {
        struct kube_exec_cred x;
        if (kube_exec_run(k->kc.exec, 0, &x, &inner) < 0)
            return mesh_err_set(e, MESH_ERR, NULL, "%s: %s (kubeconfig %s, user %s)", k->cluster, inner.msg, k->kc.path,
                                k->kc.user);
        c->token = x.token;
        c->cert_pem = x.cert_pem;
        c->key_pem = x.key_pem;
        c->cert_len = x.cert_len;
        c->key_len = x.key_len;
        c->expires = x.expires ? x.expires - EXEC_MARGIN : 0;
        return 0;
    }
    default:
        return 0;  /* a client certificate (set on the client) or nothing */
    }
}

int kube_cred_get(struct kube_conn *k, struct kube_cred **out, struct mesh_err *e)
{
    *out = NULL;
    pthread_mutex_lock(&k->cred_mu);
    struct kube_cred *c = k->cred;
    if (c && c->expires && (long long)time(NULL) >= c->expires) {
        if (--c->refs == 0) cred_free(c);
        k->cred = c = NULL;
    }
    int rc = 0;
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        if ((rc = cred_make(k, c, e)) < 0) {
            cred_free(c);
            c = NULL;
        } else {
            c->refs = 1;
            k->cred = c;
        }
    }
    if (c) {
        c->refs++;
        *out = c;
    }
    pthread_mutex_unlock(&k->cred_mu);
    return rc;
}

void kube_cred_drop(struct kube_conn *k, struct kube_cred *cred)
{
    pthread_mutex_lock(&k->cred_mu);
    if (k->cred == cred) {
        k->cred = NULL;
        if (--cred->refs == 0) cred_free(cred);
    }
    pthread_mutex_unlock(&k->cred_mu);
}

void kube_cred_put(struct kube_conn *k, struct kube_cred *cred)
{
    if (!cred) return;
    pthread_mutex_lock(&k->cred_mu);
    if (--cred->refs == 0) cred_free(cred);
    pthread_mutex_unlock(&k->cred_mu);
}

static char *pem_copy(const unsigned char *pem, size_t len) { return pem ? xstrndup((const char *)pem, len) : NULL; }

int kube_conn_credential(struct kube_conn *k, struct kube_credential *out, struct mesh_err *e)
{
    memset(out, 0, sizeof(*out));
    struct kube_cred *c = NULL;
    if (kube_cred_get(k, &c, e) < 0) return -1;
    if (c) {
        out->token = c->token ? xstrdup(c->token) : NULL;
        out->cert_pem = pem_copy(c->cert_pem, c->cert_len);
        out->key_pem = pem_copy(c->key_pem, c->key_len);
        out->expires = c->expires;
        kube_cred_put(k, c);
    }
    if (!out->token && !out->cert_pem && k->has_kc && k->kc.cert_pem) {  /* a kubeconfig's client certificate */
        out->cert_pem = pem_copy(k->kc.cert_pem, k->kc.cert_len);
        out->key_pem = pem_copy(k->kc.key_pem, k->kc.key_len);
    }
    return 0;
}

void kube_credential_release(struct kube_credential *c)
{
    wipe_free(c->token);
    free(c->cert_pem);
    wipe_free(c->key_pem);
    memset(c, 0, sizeof(*c));
}

const unsigned char *kube_conn_ca(const struct kube_conn *k, size_t *len)
{
    *len = k->ca_len;
    return k->ca_pem;
}
