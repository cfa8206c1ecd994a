/* session.c: spec, state, run ID and lock set up one way for every command (see session.h). */
#include "session.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "connections.h"
#include "driver.h"
#include "invoke.h"
#include "spec/spec.h"
#include "remote.h"
#include "store.h"
#include "sync.h"
#include "ui.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

static void remote_cache_remove(const char *path);

static void key_notice(const char *msg)
{
    ui_warn("%s", msg);
}

void session_init(struct session *s, struct cli_opts *o)
{
    crypt_set_notice(key_notice);
    store_set_row_hooks(conn_table_note, conn_table_forget);
    memset(s, 0, sizeof(*s));
    s->o = o;
    unsigned char r[3];
    if (RAND_bytes(r, sizeof(r)) != 1) memset(r, 0, sizeof(r));
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(s->run_id, sizeof(s->run_id), "%s-%02x%02x%02x", stamp, r[0], r[1], r[2]);
}

void session_release(struct session *s)
{
    invoke_set_guard(NULL, NULL);
    if (s->store) {
        if (s->locked) {
            struct mesh_err e;
            mesh_err_init(&e);
            /* remote state is written whole at unlock: its failure is worth saying (what the run
             * did is on the remote already, as logs the next run replays) */
            if (store_unlock(s->store, s->run_id, &e) && s->remote) ui_warn("%s", e.msg);
        }
        store_close(s->store);
    }
    session_remote_free(s->remote);
    if (s->cache_path) remote_cache_remove(s->cache_path);
    free(s->cache_path);
    provider_close_all();
    conn_table_clear();
    vec_free_all(&s->rows, state_row_free);
    spec_free(s->spec);
    free(s->state_path);
}

int session_load_spec(struct session *s, int optional)
{
    if (optional && !s->spec_text && access(s->o->spec_path, F_OK) != 0) return 0;
    struct diag_list dl;
    diag_list_init(&dl);
    struct spec_vars_in vars = {(const char *const *)s->o->vars.items, s->o->vars.len,
                                (const char *const *)s->o->var_files.items, s->o->var_files.len, 0};
    int rc = s->spec_text ? spec_load_buffer_opts(s->o->spec_path, s->spec_text, strlen(s->spec_text), &vars, &s->spec, &dl)
                          : spec_load_opts(s->o->spec_path, &vars, &s->spec, &dl);
    if (dl.items.len) ui_diags(&dl);
    diag_list_release(&dl);
    if (rc) {
        spec_free(s->spec);
        s->spec = NULL;
        return -1;
    }
    provider_configure(s->spec->mesh);
    return 0;
}

/* --state or MESH_STATE, when set. */
static const char *explicit_state(const struct session *s)
{
    const char *p = s->o->state_path;
    if (!p) p = getenv("MESH_STATE");
    return p && *p ? p : NULL;
}

static const struct node *spec_state(const struct session *s)
{
    return s->spec ? node_get(s->spec->root, "state") : NULL;
}

/* The backend a URL names ("s3://..." -> "s3"), into buf; NULL for a plain path. */
static const char *url_scheme(const char *p, char *buf, size_t n)
{
    const char *sep = strstr(p, "://");
    if (!sep || sep == p || (size_t)(sep - p) >= n) return NULL;
    for (const char *q = p; q < sep; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9'))) return NULL;
    snprintf(buf, n, "%.*s", (int)(sep - p), p);
    return buf;
}

char *session_state_url(struct session *s)
{
    char scheme[16];
    const char *p = explicit_state(s);
    if (p) return url_scheme(p, scheme, sizeof(scheme)) ? xstrdup(p) : NULL;
    if (!session_state_remote(s)) return NULL;
    json_t *st = node_to_json(spec_state(s));
    struct strbuf url = STRBUF_INIT;
    strbuf_addf(&url, "%s://%s/%s", json_string_value(json_object_get(st, "backend")),
                json_string_value(json_object_get(st, "bucket")), json_string_value(json_object_get(st, "key")));
    const char *k;
    json_t *v;
    char sep = '?';
    json_object_foreach(st, k, v) {
        if (!strcmp(k, "backend") || !strcmp(k, "bucket") || !strcmp(k, "key") || !json_is_string(v)) continue;
        strbuf_addf(&url, "%c%s=%s", sep, k, json_string_value(v));
        sep = '&';
    }
    json_decref(st);
    return strbuf_detach(&url);
}

int session_state_remote(struct session *s)
{
    char scheme[16];
    const char *p = explicit_state(s);
    if (p) return url_scheme(p, scheme, sizeof(scheme)) != NULL;
    const struct node *b = node_get(spec_state(s), "backend");
    return b && b->kind == NODE_SCALAR && strcmp(b->scalar, "local") != 0;
}

const char *session_state_path(struct session *s)
{
    if (s->state_path) return s->state_path;
    if (s->remote) {
        s->state_path = xstrdup(s->remote->ops->describe(s->remote->be));
        return s->state_path;
    }
    const char *p = explicit_state(s);
    if (p) {
        s->state_path = xstrdup(p);
        return s->state_path;
    }
    const char *spec = s->o->spec_path;
    /* state.path in the spec, relative to the spec's directory */
    const struct node *sp = s->spec ? node_get(node_get(s->spec->root, "state"), "path") : NULL;
    if (sp && sp->kind == NODE_SCALAR && sp->scalar[0]) {
        if (sp->scalar[0] == '/') {
            s->state_path = xstrdup(sp->scalar);
        } else {
            size_t n = strlen(s->spec->dir) + strlen(sp->scalar) + 2;
            s->state_path = xmalloc(n);
            snprintf(s->state_path, n, "%s/%s", s->spec->dir, sp->scalar);
        }
        return s->state_path;
    }
    const char *slash = strrchr(spec, '/');
    size_t dl = slash ? (size_t)(slash - spec) : 0;
    size_t n = dl + 32;
    s->state_path = xmalloc(n);
    if (slash) snprintf(s->state_path, n, "%.*s/.mesh/state.db", (int)dl, spec);
    else snprintf(s->state_path, n, ".mesh/state.db");
    return s->state_path;
}

void session_remote_free(struct remote *r)
{
    if (!r) return;
    if (r->ops) r->ops->free(r->be);
    free(r);
}

int session_state_backend(struct session *s, const char *url, char *name, size_t name_len, json_t **config,
                          struct mesh_err *err)
{
    *config = NULL;
    const char *p = url ? url : explicit_state(s);
    if (p) {
        if (!url_scheme(p, name, name_len))
            return mesh_err_set(err, MESH_EINVAL, NULL, "%s is not a state URL (e.g. s3://bucket/key)", p);
        *config = json_pack("{ss}", "url", p);
    } else {
        const struct node *st = spec_state(s);
        const struct node *b = node_get(st, "backend");
        snprintf(name, name_len, "%s", b && b->kind == NODE_SCALAR ? b->scalar : "local");
        *config = node_to_json(st);
        /* YAML booleans arrive as text */
        const char *bools[] = {"encrypt", "path_style"};
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
            const char *v = json_string_value(json_object_get(*config, bools[i]));
            if (v) json_object_set_new(*config, bools[i], json_boolean(strcmp(v, "true") == 0));
        }
    }
    return 0;
}

static char *remote_cache_dir(struct session *s);

/* A writing run's backend checks (bucket, region, lock table, versioning: three requests before
 * the first byte of state) pass once per configuration and machine a day: a marker named after the
 * configuration and the environment that steers it says when they last passed. Something that
 * breaks in between still fails the run's first read, before anything is written. */
#define PREFLIGHT_VALID_S (24 * 3600)

static char *preflight_marker(struct session *s, const char *name, const json_t *config)
{
    char *cfg = json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s\n%s\n", name, cfg ? cfg : "");
    free(cfg);
    const char *env[] = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                         "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ACCESS_KEY_ID", "AWS_S3_USE_PATH_STYLE"};
    for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) strbuf_addf(&sb, "%s=%s\n", env[i], getenv(env[i]) ?: "");
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)sb.buf, sb.len, md);
    strbuf_release(&sb);
    char *dir = remote_cache_dir(s);
    size_t n = strlen(dir) + 64;
    char *path = xmalloc(n);
    snprintf(path, n, "%s/%02x%02x%02x%02x%02x%02x%02x%02x.checked", dir, md[0], md[1], md[2], md[3], md[4], md[5],
             md[6], md[7]);
    free(dir);
    return path;
}

static int preflight_fresh(const char *marker)
{
    struct stat sb;
    if (stat(marker, &sb) != 0) return 0;
    double age = difftime(time(NULL), sb.st_mtime);
    return age >= 0 && age < PREFLIGHT_VALID_S;
}

static void preflight_passed(struct session *s, const char *marker)
{
    char *dir = remote_cache_dir(s);
    char *parent = session_mesh_path(s, "");
    mkdir(parent, 0700);
    mkdir(dir, 0700);
    free(parent);
    free(dir);
    FILE *f = fopen(marker, "w");   /* its time is what counts; it holds no secret */
    if (f) fclose(f);
}

int session_remote_open(struct session *s, const char *url, struct remote **out, struct mesh_err *err)
{
    *out = NULL;
    char name[16];
    json_t *config = NULL;
    int brc = session_state_backend(s, url, name, sizeof(name), &config, err);
    if (brc) return brc;
    struct remote *r = xcalloc(1, sizeof(*r));
    char warning[512];
    char *marker = s->writing ? preflight_marker(s, name, config) : NULL;
    int check = marker && !preflight_fresh(marker);
    int rc = state_backend_open(name, config, check, r, warning, sizeof(warning), err);
    json_decref(config);
    if (rc) {
        free(marker);
        free(r);
        return rc;
    }
    if (check) preflight_passed(s, marker);
    free(marker);
    if (warning[0]) ui_warn("%s", warning);
    *out = r;
    return 0;
}

/* The local copy of remote state: .mesh/remote/<first 16 hex of SHA-256 of its URL>-<pid>.db
 * beside the spec. One per process: a plan and an apply of one directory must never share a
 * SQLite file that one of them replaces. Removed when the session ends; copies left by a killed
 * process (its pid gone) are swept by the next one. */
char *session_mesh_path(struct session *s, const char *name)
{
    const char *spec = s->o->spec_path;
    const char *slash = strrchr(spec, '/');
    int dl = slash ? (int)(slash - spec) : 0;
    size_t n = (size_t)dl + strlen(name) + 16;
    char *path = xmalloc(n);
    snprintf(path, n, "%.*s%s.mesh/%s", dl, spec, slash ? "/" : "", name);
    return path;
}

static char *remote_cache_dir(struct session *s) { return session_mesh_path(s, "remote"); }

static void remote_cache_sweep(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char hash[17];
        long pid;
        char ext[8];
        if (sscanf(e->d_name, "%16[0-9a-f]-%ld.%7s", hash, &pid, ext) != 3 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *path = xmalloc(n);
        snprintf(path, n, "%s/%s", dir, e->d_name);
        unlink(path);
        free(path);
    }
    closedir(d);
}

static char *remote_cache_path(struct session *s)
{
    const char *where = s->remote->ops->describe(s->remote->be);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)where, strlen(where), md);
    char *dir = remote_cache_dir(s);
    remote_cache_sweep(dir);
    size_t n = strlen(dir) + 64;
    char *path = xmalloc(n);
    snprintf(path, n, "%s/%02x%02x%02x%02x%02x%02x%02x%02x-%ld.db", dir, md[0], md[1], md[2], md[3], md[4], md[5],
             md[6], md[7], (long)getpid());
    free(dir);
    return path;
}

static void remote_cache_remove(const char *path)
{
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t n = strlen(path) + 16;
        char *p = xmalloc(n);
        snprintf(p, n, "%s%s", path, suffixes[i]);
        unlink(p);
        free(p);
    }
}

/* lock_command: take the lease first (team state), for that command */
static int open_state(struct session *s, int create, const char *lock_command, struct mesh_err *err)
{
    if (s->store) return 0;   /* opened already (a saved plan of team state opens it to be read) */
    int flags = s->o->force_new_state ? STORE_OPEN_FORCE_NEW : 0;
    if (session_state_remote(s)) {
        if (!s->remote) {
            int rc = session_remote_open(s, NULL, &s->remote, err);
            if (rc) return rc;
        }
        free(s->cache_path);
        s->cache_path = remote_cache_path(s);
        if (lock_command)
            return store_open_remote_locked(s->cache_path, s->remote, create, flags, s->run_id, lock_command,
                                            s->o->lock_timeout, &s->store, err);
        return store_open_remote(s->cache_path, s->remote, create, flags, &s->store, err);
    }
    const char *path = session_state_path(s);
    if (!create && access(path, F_OK) != 0) return 1;
    return store_open_flags(path, flags, &s->store, err);
}

int session_open_state(struct session *s, int create, struct mesh_err *err)
{
    return open_state(s, create, NULL, err);
}

int session_open_locked(struct session *s, int create, const char *command, struct mesh_err *err)
{
    int rc = open_state(s, create, command, err);
    if (rc) return rc;
    return session_lock(s, command, err) ? -1 : 0;
}

/* Every driver call of a run that holds the lock first checks that the lease is still its own. */
static int lease_guard(void *store, struct mesh_err *err)
{
    return store_lock_check(store, err);
}

int session_lock(struct session *s, const char *command, struct mesh_err *err)
{
    struct lock_info old;
    int taken = 0;
    int rc = store_lock(s->store, s->run_id, command, s->o->lock_timeout, &old, &taken, err);
    if (rc) return rc;
    /* Before anything writes: a damaged file is refused whole rather than built upon. */
    rc = store_check(s->store, err);
    if (rc) {
        struct mesh_err e;
        mesh_err_init(&e);
        store_unlock(s->store, s->run_id, &e);
        return rc;
    }
    s->locked = 1;
    invoke_set_guard(lease_guard, s->store);
    if (taken)
        ui_warn("took over the state lock of run %s (%s, pid %lld, `mesh %s`): its process is gone or its lease expired",
                old.run_id, old.holder, old.pid, old.command);
    return 0;
}

int session_unlock(struct session *s, struct mesh_err *err)
{
    if (!s->locked || !s->store) return 0;
    s->locked = 0;
    invoke_set_guard(NULL, NULL);
    return store_unlock(s->store, s->run_id, err);
}

int session_load_rows(struct session *s, struct mesh_err *err)
{
    vec_free_all(&s->rows, state_row_free);
    vec_init(&s->rows);
    if (!s->store) return 0;
    int rc = store_load(s->store, &s->rows, err);
    if (!rc) conn_table_load(&s->rows);
    return rc;
}

int session_confirm(struct session *s, const char *what)
{
    if (s->o->auto_approve) return 0;
    if (!isatty(0)) {
        ui_errorf("refusing to %s without confirmation: standard input is not a terminal; "
                  "review the plan and pass --auto-approve", what);
        return -1;
    }
    if (ui.json) {
        ui_errorf("--json needs --auto-approve for %s (there is no prompt in JSON mode)", what);
        return -1;
    }
    ui_out("\nDo you want to %s?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", what);
    char line[64] = "";
    if (!fgets(line, sizeof(line), stdin)) line[0] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, "yes") != 0) {
        ui_errorf("%s cancelled: the answer was not 'yes'; nothing was changed", what);
        return -1;
    }
    ui_out("\n");
    return 0;
}

void session_load_spec_lenient(struct session *s)
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
