/* exec_cred.c: running an exec credential plugin (see exec_cred.h). */
#include "kubernetes/exec_cred.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/duration.h"
#include "base/strbuf.h"
#include "base/wipe.h"
#include "base/xalloc.h"
#include "base64.h"
#include "proc.h"

#define STDERR_KEEP 4096

extern char **environ;

/* ---- RFC 3339 ---- */

static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

long long kube_rfc3339(const char *s)
{
    int y, mo, d, h, mi, sec;
    if (!s || strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') p++;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om)) return -1;
        off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p) return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    return (long long)timegm(&tm) - off;
}

/* ---- the reply ---- */

static int field_pem(const json_t *status, const char *key, unsigned char **out, size_t *len)
{
    const char *s = json_string_value(json_object_get(status, key));
    if (!s || !*s) return 0;
    /* The v1 contract says PEM text; accept base64 of it too, as some plugins print. */
    if (strstr(s, "-----BEGIN")) {
        *out = (unsigned char *)xstrdup(s);
        *len = strlen(s);
    } else if (!(*out = b64_decode(s, len))) {
        return -1;
    }
    return 0;
}

int kube_exec_parse(const char *text, size_t len, const struct kube_exec_config *x, struct kube_exec_cred *out,
                    struct mesh_err *e)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    /* je.text may quote the output (the token): only the position is shown. */
    if (!doc)
        return mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s printed something that is not JSON (line %d, column %d); "
                            "it must print an ExecCredential", x->command, je.line, je.column);
    int rc = 0;
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const char *api = json_string_value(json_object_get(doc, "apiVersion"));
    const json_t *status = json_object_get(doc, "status");
    if (!kind || strcmp(kind, "ExecCredential") != 0 || !json_is_object(status)) {
        rc = mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s printed JSON that is not an ExecCredential with a status",
                          x->command);
    } else if (api && x->api_version && strcmp(api, x->api_version) != 0) {
        rc = mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s answered with apiVersion %s; the kubeconfig asked for %s",
                          x->command, api, x->api_version);
    } else {
        const char *tok = json_string_value(json_object_get(status, "token"));
        if (tok && *tok) out->token = xstrdup(tok);
        if (field_pem(status, "clientCertificateData", &out->cert_pem, &out->cert_len) < 0 ||
            field_pem(status, "clientKeyData", &out->key_pem, &out->key_len) < 0)
            rc = mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s: clientCertificateData/clientKeyData is not PEM",
                              x->command);
        else if (!out->cert_pem != !out->key_pem)
            rc = mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s gave a client %s without its %s", x->command,
                              out->cert_pem ? "certificate" : "key", out->cert_pem ? "key" : "certificate");
        else if (!out->token && !out->cert_pem)
            rc = mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s gave neither a token nor a client certificate",
                              x->command);
        const char *exp = json_string_value(json_object_get(status, "expirationTimestamp"));
        if (rc == 0 && exp && *exp && (out->expires = kube_rfc3339(exp)) < 0)
            rc = mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s: expirationTimestamp \"%s\" is not RFC 3339",
                              x->command, exp);
    }
    json_decref(doc);
    if (rc) kube_exec_cred_release(out);
    return rc;
}

void kube_exec_cred_release(struct kube_exec_cred *c)
{
    wipe_free(c->token);
    free(c->cert_pem);
    wipe_free(c->key_pem);
    memset(c, 0, sizeof(*c));
}

/* ---- running it ---- */

/* environ without the names the plugin sets, then the plugin's env and KUBERNETES_EXEC_INFO. */
static char **child_env(const struct kube_exec_config *x, char *info)
{
    size_t n = 0, m = 0;
    while (environ[n]) n++;
    while (x->env && x->env[m]) m++;
    char **env = xcalloc(n + m + 2, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int override = strncmp(environ[i], "KUBERNETES_EXEC_INFO=", 21) == 0;
        for (size_t j = 0; j < m && !override; j++)
            override = strncmp(x->env[j], environ[i], len) == 0 && x->env[j][len] == '=';
        if (!override) env[k++] = environ[i];
    }
    for (size_t j = 0; j < m; j++) env[k++] = x->env[j];
    env[k++] = info;
    env[k] = NULL;
    return env;
}

static int report(const struct kube_exec_config *x, const struct proc_result *r, double timeout, struct mesh_err *e)
{
    char tail[512], why[128];
    proc_stderr_tail(r, tail, sizeof(tail));
    if (r->how == PROC_TIMEOUT)
        snprintf(why, sizeof(why), "did not finish within %.0f s", timeout);
    else if (r->how == PROC_TOO_MUCH)
        snprintf(why, sizeof(why), "printed more than %u bytes", KUBE_EXEC_MAX_OUTPUT);
    else
        proc_describe(r, why, sizeof(why));
    return mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s %s%s%s%s%s", x->command, why, tail[0] ? ": " : "", tail,
                        x->install_hint ? "; " : "", x->install_hint ? x->install_hint : "");
}

int kube_exec_run(const struct kube_exec_config *x, double timeout, struct kube_exec_cred *out, struct mesh_err *e)
{
    memset(out, 0, sizeof(*out));
    if (timeout <= 0) timeout = KUBE_EXEC_TIMEOUT;
    char *path = strchr(x->command, '/') ? kube_path_join(x->dir, x->command) : xstrdup(x->command);
    struct strbuf info = STRBUF_INIT;
    strbuf_init(&info);
    strbuf_addf(&info, "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"spec\":{%s%s%s\"interactive\":false}}",
                x->api_version ? x->api_version : "client.authentication.k8s.io/v1", x->cluster_json ? "\"cluster\":" : "",
                x->cluster_json ? x->cluster_json : "", x->cluster_json ? "," : "");
    char **env = child_env(x, info.buf);
    size_t nargs = 0;
    while (x->args && x->args[nargs]) nargs++;
    char **argv = xcalloc(nargs + 2, sizeof(char *));
    argv[0] = path;
    for (size_t i = 0; i < nargs; i++) argv[i + 1] = x->args[i];
    struct proc_spec spec = {.path = path, .argv = argv, .env = env, .deadline = mesh_now_mono() + timeout,
                             .out_max = KUBE_EXEC_MAX_OUTPUT, .err_keep = STDERR_KEEP};
    struct proc_result r;
    int rc = 0;
    if (proc_run(&spec, &r) < 0)
        rc = mesh_err_set(e, MESH_ERR, NULL, "exec plugin %s: cannot start it: %s", x->command, strerror(r.exec_errno));
    else if (!proc_ok(&r))
        rc = report(x, &r, timeout, e);
    else
        rc = kube_exec_parse(r.out.buf, r.out.len, x, out, e);
    proc_result_release(&r);
    free(argv);
    free(env);
    strbuf_release(&info);
    free(path);
    return rc;
}
