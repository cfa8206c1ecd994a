/* session.c: one driver call's helm: a private 0700 directory under $TMPDIR holding the
 * kubeconfig (no secret: its user runs `mesh token --broker`), the broker's socket, the 0600
 * values file and helm's cache/config/data homes (a user's repositories.yaml and registry logins
 * are not read); helm runs from it as a guarded child (proc.h), with an environment stripped of
 * what could point it elsewhere or hand it secrets. The directory goes when the call ends; one
 * left by a mesh that was killed is removed by the next session. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/duration.h"
#include "base/wipe.h"
#include "base/xalloc.h"
#include "helm/helm.h"
#include "proc.h"

#define DIR_PREFIX "mesh-helm-"

extern char **environ;

static int executable(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

static int self_path(char *buf, size_t n)
{
    ssize_t len = readlink("/proc/self/exe", buf, n - 1);
    if (len <= 0) return -1;
    buf[len] = '\0';
    return 0;
}

int helm_find(char **path, struct mesh_err *e)
{
    *path = NULL;
    const char *env = getenv("MESH_HELM");
    if (env && *env) {
        if (!executable(env))
            return mesh_err_set(e, MESH_ERR, NULL, "MESH_HELM=%s is not an executable file", env);
        *path = xstrdup(env);
        return 0;
    }
    char self[PATH_MAX], cand[PATH_MAX + 16];
    if (self_path(self, sizeof(self)) == 0) {
        char *slash = strrchr(self, '/');
        if (slash) *slash = '\0';
        snprintf(cand, sizeof(cand), "%s/bin/helm", self);
        if (executable(cand)) {
            *path = xstrdup(cand);
            return 0;
        }
    }
    const char *p = getenv("PATH");
    while (p && *p) {
        size_t n = strcspn(p, ":");
        if (n > 0 && n < PATH_MAX) {
            snprintf(cand, sizeof(cand), "%.*s/helm", (int)n, p);
            if (executable(cand)) {
                *path = xstrdup(cand);
                return 0;
            }
        }
        p += n + (p[n] == ':');
    }
    return mesh_err_set(e, MESH_ERR, NULL, "helm is not installed: run `make deps` (it puts helm in bin/ beside mesh), "
                        "put helm on PATH, or set MESH_HELM to it");
}

/* Names a child must not inherit: cloud credentials, another kubeconfig, helm's own settings
 * (homes, drivers, registry config, debug), mesh's (the state key). */
static int dropped(const char *kv)
{
    static const char *const prefixes[] = {"AWS_", "KUBECONFIG=", "KUBECACHEDIR=", "HELM_", "MESH_", "KUBERNETES_", NULL};
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

static char **child_env(const char *dir)
{
    size_t n = 0;
    while (environ[n]) n++;
    char **env = xcalloc(n + 8, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!dropped(environ[i])) env[k++] = xstrdup(environ[i]);
    /* KUBECACHEDIR: client-go's discovery cache, else ~/.kube/cache of the user's HOME, which a
     * run must not write to. */
    static const char *const homes[][2] = {{"HELM_CACHE_HOME", "cache"}, {"HELM_CONFIG_HOME", "config"},
                                           {"HELM_DATA_HOME", "data"}, {"KUBECACHEDIR", "kubecache"}};
    for (int i = 0; i < 4; i++) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "%s=%s/%s", homes[i][0], dir, homes[i][1]);
        env[k++] = strbuf_detach(&sb);
    }
    env[k] = NULL;
    return env;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP) rmdir(path);
    else unlink(path);
    return 0;
}

static void rm_tree(const char *dir) { nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

/* Directories of meshes that died (kill -9) while helm ran: DIR_PREFIX<pid>-XXXXXX of ours whose
 * pid is gone. Their values file may hold a secret. */
static void sweep(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0) continue;
        long pid = strtol(de->d_name + strlen(DIR_PREFIX), NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char path[PATH_MAX];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", tmp, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid()) rm_tree(path);
    }
    closedir(d);
}

static int write_private(const char *path, const char *text, struct mesh_err *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return mesh_err_set(e, MESH_ERR, NULL, "helm: cannot write %s: %s", path, strerror(errno));
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int en = errno;
            close(fd);
            return mesh_err_set(e, MESH_ERR, NULL, "helm: cannot write %s: %s", path, strerror(en));
        }
        done += (size_t)w;
    }
    return close(fd) == 0 ? 0 : mesh_err_set(e, MESH_ERR, NULL, "helm: cannot write %s: %s", path, strerror(errno));
}

int helm_session_open(struct call *c, struct helm_session *s, struct mesh_err *e)
{
    memset(s, 0, sizeof(*s));
    s->c = c;
    s->h = c->provider;
    if (!s->h) return mesh_err_set(e, MESH_ERR, NULL, "helm: no connection handle");
    if (helm_find(&s->helm, e)) return -1;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    sweep(tmp);
    snprintf(s->dir, sizeof(s->dir), "%s/" DIR_PREFIX "%ld-XXXXXX", tmp, (long)getpid());
    if (!mkdtemp(s->dir)) {  /* 0700 */
        int en = errno;
        s->dir[0] = '\0';
        return mesh_err_set(e, MESH_ERR, NULL, "helm: cannot make a private directory in %s: %s", tmp, strerror(en));
    }
    snprintf(s->kubeconfig, sizeof(s->kubeconfig), "%s/kubeconfig", s->dir);
    snprintf(s->socket, sizeof(s->socket), "%s/broker.sock", s->dir);
    char self[PATH_MAX];
    if (self_path(self, sizeof(self)))
        return mesh_err_set(e, MESH_ERR, NULL, "helm: cannot tell where this mesh binary is (/proc/self/exe)");
    size_t ca_len = 0;
    const unsigned char *ca = kube_conn_ca(s->h->k, &ca_len);
    char *text = helm_kubeconfig_text(kube_conn_cluster(s->h->k), kube_conn_server(s->h->k), ca, ca_len, self,
                                      s->socket);
    int rc = write_private(s->kubeconfig, text, e);
    free(text);
    if (rc) return rc;
    if (!(s->broker = helm_broker_start(s->socket, s->h->k, e))) return -1;
    s->env = child_env(s->dir);
    return 0;
}

/* The values may be secret: overwritten with zeros (and synced) before the file goes. */
static void zero_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        char zero[4096] = {0};
        for (off_t left = st.st_size; left > 0;) {
            ssize_t w = write(fd, zero, left > (off_t)sizeof(zero) ? sizeof(zero) : (size_t)left);
            if (w <= 0) break;
            left -= w;
        }
        fsync(fd);
    }
    close(fd);
    unlink(path);
}

int helm_session_values(struct helm_session *s, const json_t *values, const char **path, struct mesh_err *e)
{
    *path = NULL;
    if (s->values[0]) zero_file(s->values);  /* the values of an earlier run of this call */
    s->values[0] = '\0';
    if (!values || !json_is_object(values) || json_object_size(values) == 0) return 0;
    snprintf(s->values, sizeof(s->values), "%s/values.json", s->dir);  /* JSON is YAML */
    char *text = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = write_private(s->values, text, e);
    wipe_free(text);
    if (rc == 0) *path = s->values;
    return rc;
}

static void helm_started(pid_t pid, void *ctx) { helm_broker_allow(ctx, pid); }

static int run(struct helm_session *s, const struct vec *argv, struct strbuf *out, int cleanup, struct mesh_err *e)
{
    char **args = xcalloc(argv->len + 1, sizeof(char *));
    for (size_t i = 0; i < argv->len; i++) args[i] = argv->items[i];
    double deadline = s->c->deadline > 0 ? s->c->deadline : mesh_now_mono() + HELM_DEFAULT_TIMEOUT + 60;
    if (cleanup) deadline = mesh_now_mono() + HELM_CLEANUP + HELM_GRACE;
    struct proc_spec spec = {.path = s->helm, .argv = args, .env = s->env, .cwd = NULL, .deadline = deadline,
                             .cancel = cleanup ? NULL : s->c->cancel, .grace = HELM_GRACE, .out_max = HELM_MAX_OUTPUT,
                             .err_keep = 8192, .flags = PROC_GUARD, .started = helm_started,
                             .started_ctx = s->broker};
    struct proc_result r;
    int rc = 0;
    const char *verb = argv->len > 1 ? argv->items[1] : "";
    const char *verb2 = strcmp(verb, "get") == 0 && argv->len > 2 ? argv->items[2] : "";
    atomic_fetch_add(&s->h->runs, 1);
    if (proc_run(&spec, &r) < 0) {
        rc = mesh_err_set(e, MESH_ERR, NULL, "helm %s: cannot start %s: %s", verb, s->helm, strerror(r.exec_errno));
    } else if (!proc_ok(&r)) {
        char why[128], tail[600];
        proc_describe(&r, why, sizeof(why));
        proc_stderr_tail(&r, tail, sizeof(tail));
        int code = r.how == PROC_CANCELED ? MESH_ECANCELED : r.how == PROC_TIMEOUT ? MESH_ETIMEOUT : MESH_ERR;
        if (helm_says_not_found(tail)) code = MESH_ENOTFOUND;
        rc = mesh_err_set(e, code, NULL, "helm %s%s%s %s%s%s", verb, verb2[0] ? " " : "", verb2,
                          r.how == PROC_NOT_RUN ? s->helm : "", why, tail[0] ? ": " : "");
        if (tail[0]) snprintf(e->msg + strlen(e->msg), sizeof(e->msg) - strlen(e->msg), "%s", tail);
    } else if (out) {
        strbuf_add(out, r.out.buf, r.out.len);
    }
    helm_broker_allow(s->broker, 0);
    proc_result_release(&r);
    free(args);
    return rc;
}

int helm_session_run(struct helm_session *s, const struct vec *argv, struct strbuf *out, struct mesh_err *e)
{
    return run(s, argv, out, 0, e);
}

int helm_session_run_cleanup(struct helm_session *s, const struct vec *argv, struct strbuf *out, struct mesh_err *e)
{
    return run(s, argv, out, 1, e);
}

void helm_session_close(struct helm_session *s)
{
    helm_broker_stop(s->broker);
    s->broker = NULL;
    if (s->values[0]) zero_file(s->values);
    if (s->dir[0]) rm_tree(s->dir);
    if (s->env) {
        for (size_t i = 0; s->env[i]; i++) free(s->env[i]);
        free(s->env);
    }
    free(s->helm);
    memset(s, 0, sizeof(*s));
}
