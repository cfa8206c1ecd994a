/* cmd_kube.c: reaching a cluster mesh made with kubectl. `mesh token CLUSTER` prints the
 * ExecCredential kubectl's exec plugin contract asks for (as `aws eks get-token` does): the one
 * place a token is printed, by design, made fresh through the connection's authentication hook
 * and never stored. `mesh kubeconfig CLUSTER [-o FILE]` writes a kubeconfig whose user runs that
 * command. Both read the cluster's kubernetes_connection row from state: no lock, no refresh,
 * and never a new state file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/wipe.h"
#include "base/xalloc.h"
#include "cli.h"
#include "cmd.h"
#include "driver.h"
#include "kubeconfig_write.h"
#include "session.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"

#define CONN_TYPE "kubernetes_connection"

/* CLUSTER, or the connection's address (as `mesh state list` shows it) naming it. */
static const char *cluster_arg(const struct cli_opts *o)
{
    const char *a = o->args.items[0];
    return strncmp(a, CONN_TYPE ".", sizeof(CONN_TYPE)) == 0 && a[sizeof(CONN_TYPE)] ? a + sizeof(CONN_TYPE) : a;
}

static const char *row_str(const struct state_row *r, const char *name)
{
    const char *s = json_string_value(state_row_value(r, name));
    return s && *s ? s : NULL;
}

/* The spec, when there is one, says where state is and holds the mesh: section (credentials
 * profile) the token is made with. As for `mesh output`, a missing variable is no error. */
static void load_spec_lenient(struct session *s)
{
    struct cli_opts *o = s->o;
    if (access(o->spec_path, F_OK) != 0) return;
    struct spec_vars_in vars = {(const char *const *)o->vars.items, o->vars.len, (const char *const *)o->var_files.items,
                                o->var_files.len, 1};
    struct diag_list dl;
    diag_list_init(&dl);
    if (spec_load_opts(o->spec_path, &vars, &s->spec, &dl)) {
        s->spec = NULL;
        ui_warn("the spec %s does not load (`mesh validate` says why); going on without its mesh: section", o->spec_path);
    }
    diag_list_release(&dl);
    if (s->spec) provider_configure(s->spec->mesh);
}

/* "no cluster named X in state S (clusters: a, b); run mesh apply first, or did you mean 'a'?" */
static void no_such_cluster(const struct vec *rows, const char *cluster, const char *state)
{
    struct strbuf names = STRBUF_INIT;
    struct suggest sg;
    suggest_init(&sg, cluster);
    for (size_t i = 0; i < rows->len; i++) {
        const struct state_row *r = rows->items[i];
        if (r->deposed[0] || strcmp(r->type, CONN_TYPE) != 0) continue;
        const char *name = strchr(r->address, '.') + 1;
        strbuf_addf(&names, "%s%s", names.len ? ", " : "", name);
        suggest_try(&sg, name);
    }
    char hint[300] = "";
    if (sg.best) snprintf(hint, sizeof(hint), ", or did you mean '%s'?", sg.best);
    ui_errorf("no cluster named %s in state %s (%s%s); run mesh apply first%s", cluster, state,
              names.len ? "clusters: " : "it has no clusters", names.len ? names.buf : "", hint);
    strbuf_release(&names);
}

/* Opens the state read-only and finds the connection of cluster; -1 after printing why not. */
static int find_connection(struct session *s, const char *cluster, const struct state_row **out)
{
    struct mesh_err err;
    mesh_err_init(&err);
    load_spec_lenient(s);
    int opened = session_open_state(s, 0, &err);
    if (opened == 1) {
        ui_errorf("no cluster named %s: there is no state at %s; run mesh apply first", cluster, session_state_path(s));
        return -1;
    }
    if (opened < 0 || session_load_rows(s, &err)) {
        ui_error(&err);
        return -1;
    }
    char address[512];
    snprintf(address, sizeof(address), CONN_TYPE ".%s", cluster);
    for (size_t i = 0; i < s->rows.len; i++) {
        const struct state_row *r = s->rows.items[i];
        if (!r->deposed[0] && strcmp(r->type, CONN_TYPE) == 0 && strcmp(r->address, address) == 0) {
            *out = r;
            return 0;
        }
    }
    no_such_cluster(&s->rows, cluster, session_state_path(s));
    return -1;
}

/* Only clusters mesh reaches with a token it makes have one to give; 0 when r is one. */
static int needs_mesh_auth(const struct state_row *r, const char *cluster)
{
    const char *auth = row_str(r, "auth"), *kubeconfig = row_str(r, "kubeconfig");
    if (auth && strcmp(auth, "eks") == 0) return 0;
    if (kubeconfig) {
        const char *context = row_str(r, "context");
        ui_errorf("cluster %s is reached through your kubeconfig %s (context %s); use it directly", cluster, kubeconfig,
                  context ? context : "its current-context");
    } else {
        ui_errorf("cluster %s: its connection has no authentication mesh makes tokens for (auth %s%s%s)", cluster,
                  auth ? "\"" : "", auth ? auth : "unset", auth ? "\"" : "");
    }
    return -1;
}

/* ---- mesh token ---- */

static int print_exec_credential(const struct auth_token *t)
{
    char stamp[32];
    time_t expires = (time_t)t->expires;
    struct tm tm;
    gmtime_r(&expires, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *cred = json_pack("{s:s, s:s, s:{}, s:{s:s, s:s}}", "kind", "ExecCredential", "apiVersion",
                             "client.authentication.k8s.io/v1", "spec", "status", "expirationTimestamp", stamp, "token",
                             t->secret);
    int rc = json_dumpf(cred, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(cred);  /* jansson's allocator wipes (wipe_install_json) */
    if (rc == 0) fputc('\n', stdout);
    return fflush(stdout) || rc ? -1 : 0;
}

/* --broker SOCKET: the running mesh that started helm answers with the ExecCredential of its
 * connection (providers/helm/broker.c), or "error: ..."; this process only carries it to
 * stdout, so the engine knows nothing of how it was made. */
static int token_from_broker(const char *cluster, const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        ui_errorf("cluster %s: broker socket path too long: %s", cluster, path);
        return 1;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        ui_errorf("cluster %s: cannot reach the mesh that runs helm at %s: %s", cluster, path, strerror(errno));
        if (fd >= 0) close(fd);
        return 1;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    strbuf_grow(&sb, 65536);  /* no realloc leaving a copy of the credential behind */
    char buf[4096];
    ssize_t n;
    while (sb.len < (1u << 20) && ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0) strbuf_add(&sb, buf, (size_t)n);
    close(fd);
    memset(buf, 0, sizeof(buf));
    int rc = 0;
    if (sb.len == 0 || sb.buf[0] != '{') {
        while (sb.len && sb.buf[sb.len - 1] == '\n') sb.buf[--sb.len] = '\0';
        ui_errorf("cluster %s: the mesh that runs helm gave no credential%s%s", cluster, sb.len ? ": " : "",
                  sb.len ? sb.buf : "");
        rc = 1;
    } else if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len || fflush(stdout)) {
        ui_errorf("cluster %s: writing the credential to stdout failed", cluster);
        rc = 1;
    }
    wipe_free(strbuf_detach(&sb));
    return rc;
}

int cmd_token(struct cli_opts *o)
{
    ui_init(0);
    if (o->broker) return token_from_broker(cluster_arg(o), o->broker);
    const char *cluster = cluster_arg(o);
    struct session s;
    session_init(&s, o);
    const struct state_row *r = NULL;
    int rc = find_connection(&s, cluster, &r) || needs_mesh_auth(r, cluster) ? 1 : 0;
    if (rc == 0) {
        const char *name = row_str(r, "eks_cluster_name"), *region = row_str(r, "region");
        json_t *params = json_object();
        if (name) json_object_set_new(params, "cluster_name", json_string(name));
        if (region) json_object_set_new(params, "region", json_string(region));
        struct auth_token tok;
        struct mesh_err err;
        mesh_err_init(&err);
        if (auth_hook_token("eks", params, &tok, &err)) {
            ui_errorf("cluster %s: cannot make a token: %s%s%s", cluster, err.where[0] ? err.where : "",
                      err.where[0] ? ": " : "", err.msg);
            rc = 1;
        } else if (print_exec_credential(&tok)) {
            ui_errorf("cluster %s: writing the credential to stdout failed", cluster);
            rc = 1;
        }
        auth_token_release(&tok);
        json_decref(params);
    }
    session_release(&s);
    return rc;
}

/* ---- mesh kubeconfig ---- */

/* path, absolute (its directory resolved; the file itself need not exist). */
static char *absolute(const char *path)
{
    char buf[PATH_MAX];
    if (realpath(path, buf)) return xstrdup(buf);
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
    char *res = NULL;
    if (realpath(dir, buf)) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "%s/%s", strcmp(buf, "/") ? buf : "", slash ? slash + 1 : path);
        res = strbuf_detach(&sb);
    }
    free(dir);
    return res ? res : xstrdup(path);
}

/* A kubeconfig is a few kilobytes; past this it is not one (or not a regular file). */
#define KUBECONFIG_MAX (16 << 20)

/* The file's text in *text (NULL when it does not exist); -1 with err set on a read error. */
static int read_file(const char *path, char **text, size_t *len, struct mesh_err *err)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : mesh_err_set(err, MESH_ERR, path, "cannot read it: %s", strerror(errno));
    struct strbuf sb = STRBUF_INIT;
    char buf[8192];
    size_t n;
    while (sb.len <= KUBECONFIG_MAX && (n = fread(buf, 1, sizeof(buf), f)) > 0) strbuf_add(&sb, buf, n);
    int bad = ferror(f), big = sb.len > KUBECONFIG_MAX;
    fclose(f);
    if (bad || big) {
        strbuf_release(&sb);
        return mesh_err_set(err, MESH_EINVAL, path, "%s; the file was not changed",
                            big ? "not a kubeconfig: larger than 16 MiB" : "cannot read it");
    }
    *len = sb.len;
    *text = strbuf_detach(&sb);
    return 0;
}

/* Beside it, then renamed over it: a reader sees the old file or the new one, never half. */
static int write_atomic(const char *path, const char *text, struct mesh_err *err)
{
    struct strbuf tmp = STRBUF_INIT;
    strbuf_addf(&tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp.buf);  /* 0600 */
    if (fd < 0) {
        int e = errno;
        strbuf_release(&tmp);
        return mesh_err_set(err, MESH_ERR, path, "cannot write beside it: %s", strerror(e));
    }
    size_t len = strlen(text), done = 0;
    int rc = 0;
    while (rc == 0 && done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) rc = -1;
        else done += (size_t)w;
    }
    if (rc == 0 && fchmod(fd, 0600)) rc = -1;
    if (rc == 0 && fsync(fd)) rc = -1;
    int e = errno;
    if (close(fd) && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp.buf, path)) {
        rc = -1;
        e = errno;
    }
    if (rc) {
        unlink(tmp.buf);
        mesh_err_set(err, MESH_ERR, path, "cannot write it: %s", strerror(e));
    }
    strbuf_release(&tmp);
    return rc;
}

/* Writes (or merges into) file; an existing file that is not a kubeconfig is left untouched. */
static int kubeconfig_to_file(const char *file, const struct kubeconfig_entry *e, struct mesh_err *err)
{
    char *target = absolute(file);  /* through a symlink: the file it points to is updated */
    char *old = NULL, *out = NULL;
    size_t len = 0;
    int rc = read_file(target, &old, &len, err);
    if (rc == 0 && (rc = kubeconfig_merge(file, old, len, e, &out, err)) != 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        snprintf(err->msg, sizeof(err->msg), "%.900s; the file was not changed (fix or move it, or write elsewhere with -o)",
                 msg);
    }
    if (rc == 0) {
        char *slash = strrchr(target, '/');
        if (slash && slash != target) {  /* ~/.kube may not exist yet */
            *slash = '\0';
            if (mkdir(target, 0700) && errno != EEXIST)
                rc = mesh_err_set(err, MESH_ERR, target, "cannot make the directory: %s", strerror(errno));
            *slash = '/';
        }
    }
    if (rc == 0) rc = write_atomic(target, out, err);
    free(old);
    free(out);
    free(target);
    return rc;
}

/* The exec plugin: this binary, `token CLUSTER --state STATE [-f SPEC]`, all absolute, so the
 * kubeconfig works from any directory. */
static int exec_args(struct session *s, const char *cluster, char **command, struct vec *args)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        ui_errorf("cannot tell where this mesh binary is (/proc/self/exe): %s", strerror(errno));
        return -1;
    }
    self[n] = '\0';
    *command = xstrdup(self);
    vec_push(args, xstrdup("token"));
    vec_push(args, xstrdup(cluster));
    vec_push(args, xstrdup("--state"));
    vec_push(args, absolute(session_state_path(s)));
    if (s->spec) {  /* its mesh: section (profile) makes the token */
        vec_push(args, xstrdup("-f"));
        vec_push(args, absolute(s->o->spec_path));
    }
    return 0;
}

int cmd_kubeconfig(struct cli_opts *o)
{
    ui_init(0);
    const char *cluster = cluster_arg(o);
    struct session s;
    session_init(&s, o);
    const struct state_row *r = NULL;
    int rc = find_connection(&s, cluster, &r) || needs_mesh_auth(r, cluster) ? 1 : 0;
    const char *server = rc ? NULL : row_str(r, "server");
    if (rc == 0 && !server) {
        ui_errorf("cluster %s: its connection in state has no server address; run mesh apply", cluster);
        rc = 1;
    }
    char *command = NULL;
    struct vec args = VEC_INIT;
    if (rc == 0 && exec_args(&s, cluster, &command, &args)) rc = 1;
    if (rc == 0) {
        struct kubeconfig_entry e = {cluster, server, row_str(r, "ca_data"), command, (const char *const *)args.items,
                                     args.len};
        struct mesh_err err;
        mesh_err_init(&err);
        char *text = NULL;
        if (o->output ? kubeconfig_to_file(o->output, &e, &err) : kubeconfig_merge(NULL, NULL, 0, &e, &text, &err)) {
            ui_error(&err);
            rc = 1;
        } else if (text) {
            fputs(text, stdout);
        } else {
            fprintf(stderr, "Wrote cluster %s to %s (context %s, now the current context).\n", cluster, o->output,
                    cluster);
        }
        free(text);
    }
    vec_free_all(&args, free);
    free(command);
    session_release(&s);
    return rc;
}
