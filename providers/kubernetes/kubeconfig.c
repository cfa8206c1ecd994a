/* kubeconfig.c: one context of a kubeconfig, resolved (see kubeconfig.h). */
#include "kubernetes/kubeconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/strbuf.h"
#include "base/wipe.h"
#include "base/xalloc.h"
#include "base64.h"
#include "kubernetes/yaml_json.h"

#define KUBECONFIG_MAX (4u << 20)
#define PEM_MAX (1u << 20)

int kube_read_file(const char *path, size_t max, const char *what, char **buf, size_t *len, struct mesh_err *e)
{
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mesh_err_set(e, MESH_EINVAL, NULL, "%s: cannot read %s: %s", what, path, strerror(errno));
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (sb.len + n > max) {
            rc = mesh_err_set(e, MESH_EINVAL, NULL, "%s: %s is larger than %zu bytes", what, path, max);
            break;
        }
        strbuf_add(&sb, chunk, n);
    }
    if (!rc && ferror(f)) rc = mesh_err_set(e, MESH_EINVAL, NULL, "%s: cannot read %s: %s", what, path, strerror(errno));
    fclose(f);
    memset(chunk, 0, sizeof(chunk));
    if (rc) {
        wipe_free(sb.buf);
        return rc;
    }
    if (len) *len = sb.len;
    *buf = strbuf_detach(&sb);
    return 0;
}

char *kube_path_join(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir || !*dir) return xstrdup(path);
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    strbuf_addf(&sb, "%s/%s", dir, path);
    return strbuf_detach(&sb);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

static const char *str_at(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* The entry of list (clusters, users, contexts) named name; *names gets "a, b" for errors. */
static const json_t *named(const json_t *doc, const char *list, const char *inner, const char *name,
                           struct strbuf *names)
{
    const json_t *arr = json_object_get(doc, list), *item;
    size_t i;
    json_array_foreach(arr, i, item) {
        const char *n = str_at(item, "name");
        if (!n) continue;
        if (names->len) strbuf_adds(names, ", ");
        strbuf_adds(names, n);
        if (strcmp(n, name) == 0) {
            const json_t *v = json_object_get(item, inner);
            return json_is_object(v) ? v : item;  /* "- name: u" alone: an empty entry */
        }
    }
    return NULL;
}

/* PEM from field-data (base64) or field (a file relative to the kubeconfig). */
static int load_pem(const struct kubeconfig *kc, const char *dir, const json_t *o, const char *field,
                    unsigned char **out, size_t *len, struct mesh_err *e)
{
    char key[64];
    snprintf(key, sizeof(key), "%s-data", field);
    const char *data = str_at(o, key), *file = str_at(o, field);
    *out = NULL;
    *len = 0;
    if (data) {
        *out = b64_decode(data, len);
        if (!*out) return mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: %s is not base64", kc->path, key);
        return 0;
    }
    if (!file) return 0;
    if (!dir)  /* a kubeconfig from a secret: reading local files on its word is not for it */
        return mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: %s names a file; only %s is taken here", kc->path, field,
                            key);
    char *abs = kube_path_join(dir, file), what[512];
    snprintf(what, sizeof(what), "kubeconfig %s: %s", kc->path, field);
    int rc = kube_read_file(abs, PEM_MAX, what, (char **)out, len, e);
    free(abs);
    return rc;
}

static char **string_list(const json_t *arr)
{
    size_t n = json_array_size(arr), k = 0;
    char **v = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s) v[k++] = xstrdup(s);
    }
    return v;
}

static int load_exec(struct kubeconfig *kc, const char *dir, const json_t *x, struct mesh_err *e)
{
    const char *cmd = str_at(x, "command");
    if (!cmd) return mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: user \"%s\": exec has no command", kc->path, kc->user);
    const char *api = str_at(x, "apiVersion");
    if (!api) api = "client.authentication.k8s.io/v1";
    if (strcmp(api, "client.authentication.k8s.io/v1") && strcmp(api, "client.authentication.k8s.io/v1beta1"))
        return mesh_err_set(e, MESH_EINVAL, NULL,
                            "kubeconfig %s: user \"%s\": exec apiVersion \"%s\" is not supported "
                            "(client.authentication.k8s.io/v1 or v1beta1)", kc->path, kc->user, api);
    struct kube_exec_config *p = xcalloc(1, sizeof(*p));
    kc->exec = p;
    p->api_version = xstrdup(api);
    p->command = xstrdup(cmd);
    p->args = string_list(json_object_get(x, "args"));
    const json_t *env = json_object_get(x, "env"), *item;
    p->env = xcalloc(json_array_size(env) + 1, sizeof(char *));
    size_t i, k = 0;
    json_array_foreach(env, i, item) {
        const char *name = str_at(item, "name");
        const char *value = json_string_value(json_object_get(item, "value"));
        if (!name) continue;
        struct strbuf sb = STRBUF_INIT;
        strbuf_init(&sb);
        strbuf_addf(&sb, "%s=%s", name, value ? value : "");
        p->env[k++] = strbuf_detach(&sb);
    }
    if (str_at(x, "installHint")) p->install_hint = xstrdup(str_at(x, "installHint"));
    if (str_at(x, "interactiveMode")) p->interactive_mode = xstrdup(str_at(x, "interactiveMode"));
    if (p->interactive_mode && strcmp(p->interactive_mode, "Always") == 0)
        return mesh_err_set(e, MESH_EINVAL, NULL,
                            "kubeconfig %s: user \"%s\": the exec plugin %s wants a terminal (interactiveMode: Always); "
                            "mesh runs plugins without one", kc->path, kc->user, cmd);
    p->dir = dir ? xstrdup(dir) : NULL;
    p->provide_cluster_info = json_is_true(json_object_get(x, "provideClusterInfo"));
    return 0;
}

/* provideClusterInfo: what the plugin is told about the cluster (never a credential). */
static void exec_cluster_info(struct kubeconfig *kc)
{
    if (!kc->exec || !kc->exec->provide_cluster_info) return;
    json_t *o = json_pack("{s:s}", "server", kc->server);
    if (kc->ca_pem) {
        char *b64 = b64_encode(kc->ca_pem, kc->ca_len);
        json_object_set_new(o, "certificate-authority-data", json_string(b64));
        free(b64);
    }
    kc->exec->cluster_json = json_dumps(o, JSON_COMPACT);
    json_decref(o);
}

static int load_user(struct kubeconfig *kc, const char *dir, const json_t *u, struct mesh_err *e)
{
    if (json_object_get(u, "auth-provider"))
        return mesh_err_set(e, MESH_EINVAL, NULL,
                            "kubeconfig %s: user \"%s\" uses an auth-provider, which mesh does not support: "
                            "use an exec credential plugin", kc->path, kc->user);
    if (str_at(u, "username") || str_at(u, "password"))
        return mesh_err_set(e, MESH_EINVAL, NULL,
                            "kubeconfig %s: user \"%s\" uses basic authentication, which Kubernetes no longer "
                            "supports", kc->path, kc->user);
    if (str_at(u, "token")) kc->token = xstrdup(str_at(u, "token"));
    if (str_at(u, "tokenFile")) kc->token_file = kube_path_join(dir, str_at(u, "tokenFile"));
    if (load_pem(kc, dir, u, "client-certificate", &kc->cert_pem, &kc->cert_len, e) < 0) return e->code;
    if (load_pem(kc, dir, u, "client-key", &kc->key_pem, &kc->key_len, e) < 0) return e->code;
    if (!kc->cert_pem != !kc->key_pem)
        return mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: user \"%s\" has a client %s but no client %s",
                            kc->path, kc->user, kc->cert_pem ? "certificate" : "key",
                            kc->cert_pem ? "key (client-key or client-key-data)"
                                         : "certificate (client-certificate or client-certificate-data)");
    const json_t *x = json_object_get(u, "exec");
    if (json_is_object(x)) return load_exec(kc, dir, x, e);
    return 0;
}

static int load_cluster(struct kubeconfig *kc, const char *dir, const json_t *c, struct mesh_err *e)
{
    if (!str_at(c, "server"))
        return mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: cluster \"%s\" has no server", kc->path, kc->cluster);
    kc->server = xstrdup(str_at(c, "server"));
    const json_t *insecure = json_object_get(c, "insecure-skip-tls-verify");
    if (json_is_true(insecure) || (json_is_string(insecure) && !strcmp(json_string_value(insecure), "true")))
        return mesh_err_set(e, MESH_EINVAL, NULL,
                            "kubeconfig %s: cluster \"%s\" sets insecure-skip-tls-verify: mesh always verifies "
                            "the API server's certificate; give its CA (certificate-authority-data) instead",
                            kc->path, kc->cluster);
    return load_pem(kc, dir, c, "certificate-authority", &kc->ca_pem, &kc->ca_len, e);
}

static int resolve(struct kubeconfig *kc, const json_t *doc, const char *dir, const char *context, struct mesh_err *e)
{
    struct strbuf names = STRBUF_INIT;
    strbuf_init(&names);
    int rc = 0;
    if (!context || !*context) context = str_at(doc, "current-context");
    if (!context) {
        named(doc, "contexts", "context", "", &names);
        rc = mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: no context given and no current-context set (contexts: %s)",
                          kc->path, names.len ? names.buf : "none");
        goto out;
    }
    kc->context = xstrdup(context);
    const json_t *ctx = named(doc, "contexts", "context", context, &names);
    if (!ctx) {
        rc = mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: context \"%s\" not found (contexts: %s)", kc->path,
                          context, names.len ? names.buf : "none");
        goto out;
    }
    const char *cluster = str_at(ctx, "cluster"), *user = str_at(ctx, "user");
    if (!cluster) {
        rc = mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: context \"%s\" names no cluster", kc->path, context);
        goto out;
    }
    kc->cluster = xstrdup(cluster);
    strbuf_reset(&names);
    const json_t *c = named(doc, "clusters", "cluster", cluster, &names);
    if (!c) {
        rc = mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: context \"%s\" names cluster \"%s\", which is not there (clusters: %s)",
                          kc->path, context, cluster, names.len ? names.buf : "none");
        goto out;
    }
    if ((rc = load_cluster(kc, dir, c, e)) < 0) goto out;
    if (!user) goto out;  /* anonymous */
    kc->user = xstrdup(user);
    strbuf_reset(&names);
    const json_t *u = named(doc, "users", "user", user, &names);
    if (!u) {
        rc = mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: context \"%s\" names user \"%s\", which is not there (users: %s)",
                          kc->path, context, user, names.len ? names.buf : "none");
        goto out;
    }
    if ((rc = load_user(kc, dir, u, e)) == 0) exec_cluster_info(kc);
out:
    strbuf_release(&names);
    return rc;
}

/* Resolves context of the document text (the bytes of a kubeconfig) into kc; dir: where its
 * relative paths point (NULL: none may be relative). */
static int load_text(const char *text, size_t len, const char *dir, const char *context, struct kubeconfig *kc,
                     struct mesh_err *e)
{
    char what[512];
    snprintf(what, sizeof(what), "kubeconfig %s", kc->path);
    json_t *doc = NULL;
    int rc = kube_yaml_to_json(text, len, what, &doc, e);
    if (rc == 0 && !json_is_object(doc)) rc = mesh_err_set(e, MESH_EINVAL, NULL, "%s: not a kubeconfig (no mapping at the top)", what);
    if (rc == 0) rc = resolve(kc, doc, dir, context, e);
    json_decref(doc);  /* jansson's allocator wipes: the token in it does not linger */
    if (rc < 0) kubeconfig_release(kc);
    return rc;
}

int kubeconfig_load(const char *path, const char *context, struct kubeconfig *kc, struct mesh_err *e)
{
    memset(kc, 0, sizeof(*kc));
    kc->path = xstrdup(path);
    char *text = NULL;
    size_t len = 0;
    if (kube_read_file(path, KUBECONFIG_MAX, "kubeconfig", &text, &len, e) < 0) {
        kubeconfig_release(kc);
        return e->code;
    }
    char *dir = dir_of(path);
    int rc = load_text(text, len, dir, context, kc, e);
    free(dir);
    wipe_free(text);
    return rc;
}

int kubeconfig_load_text(const char *name, const char *text, size_t len, const char *context, struct kubeconfig *kc,
                         struct mesh_err *e)
{
    memset(kc, 0, sizeof(*kc));
    kc->path = xstrdup(name);
    if (len > KUBECONFIG_MAX) {
        kubeconfig_release(kc);
        return mesh_err_set(e, MESH_EINVAL, NULL, "kubeconfig %s: larger than %u bytes", name, KUBECONFIG_MAX);
    }
    int rc = load_text(text, len, NULL, context, kc, e);
    if (rc == 0 && (kc->exec || kc->token_file)) {
        rc = mesh_err_set(e, MESH_EINVAL, NULL,
                          "kubeconfig %s: user \"%s\" uses %s: a kubeconfig held in memory (a secret's) must "
                          "carry its credential (token or client certificate data), not run or read anything",
                          name, kc->user ? kc->user : "", kc->exec ? "an exec plugin" : "a tokenFile");
        kubeconfig_release(kc);
    }
    return rc;
}

void kube_exec_config_free(struct kube_exec_config *x)
{
    if (!x) return;
    free(x->api_version);
    free(x->command);
    for (char **p = x->args; p && *p; p++) free(*p);
    free(x->args);
    for (char **p = x->env; p && *p; p++) wipe_free(*p);  /* plugins take secrets in env at times */
    free(x->env);
    free(x->install_hint);
    free(x->interactive_mode);
    free(x->dir);
    free(x->cluster_json);
    free(x);
}

void kubeconfig_release(struct kubeconfig *kc)
{
    free(kc->path);
    free(kc->context);
    free(kc->cluster);
    free(kc->user);
    free(kc->server);
    free(kc->ca_pem);
    wipe_free(kc->token);
    free(kc->token_file);
    free(kc->cert_pem);
    wipe_free(kc->key_pem);
    kube_exec_config_free(kc->exec);
    memset(kc, 0, sizeof(*kc));
}
