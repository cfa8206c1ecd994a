/* sync.c: team state's blobs and whole-state moves (sync.h). A base is "MESHSTATE 1\n", one JSON
 * line {lineage, serial, gen} and the SQLite image; a log is "MESHLOG 1\n", {lineage, gen, seq}
 * and a SQLite session changeset. Opening a remote store loads base and logs into memory, writes
 * the result as the cache file and opens that as any local state; pull writes it elsewhere; push
 * puts a local state file whole as the remote's next generation. The commit log lives in
 * sync_log.c, the lease in sync_lease.c. */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "sync_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"

#define BASE_MAGIC "MESHSTATE 1\n"
#define LOG_MAGIC "MESHLOG 1\n"

void remote_blob_release(struct remote_blob *b)
{
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

double sync_remote_timeout(void)
{
    const char *e = getenv("MESH_REMOTE_TIMEOUT");
    double t = e && *e ? strtod(e, NULL) : 0;
    return t > 0 ? t : 60.0;
}

static const char *describe(const struct remote *r)
{
    const char *d = r->ops->describe ? r->ops->describe(r->be) : NULL;
    return d && *d ? d : r->ops->name;
}

/* ---- blobs ---- */

int sync_parse(const unsigned char *data, size_t len, int is_log, const char *what, struct sync_header *h,
               const unsigned char **body, size_t *body_len, struct mesh_err *err)
{
    const char *magic = is_log ? LOG_MAGIC : BASE_MAGIC;
    size_t ml = strlen(magic);
    memset(h, 0, sizeof(*h));
    const unsigned char *nl = len > ml ? memchr(data + ml, '\n', len - ml) : NULL;
    json_t *j = NULL;
    if (nl && memcmp(data, magic, ml) == 0) j = json_loadb((const char *)data + ml, (size_t)(nl - data) - ml, 0, NULL);
    const char *lineage = json_string_value(json_object_get(j, "lineage"));
    json_t *gen = json_object_get(j, "gen"), *num = json_object_get(j, is_log ? "seq" : "serial");
    json_t *schema = json_object_get(j, "schema");
    int ok = lineage && strlen(lineage) == 36 && json_is_integer(gen) && json_is_integer(num) &&
             (!schema || json_is_integer(schema));
    if (ok) {
        store_copy(h->lineage, sizeof(h->lineage), lineage);
        h->gen = json_integer_value(gen);
        h->schema = schema ? json_integer_value(schema) : SYNC_SCHEMA_UNNAMED;
        if (is_log)
            h->seq = json_integer_value(num);
        else
            h->serial = json_integer_value(num);
        *body = nl + 1;
        *body_len = len - (size_t)(nl + 1 - data);
    }
    json_decref(j);
    if (!ok)
        return mesh_err_set(err, MESH_ERR, what, "%s is not a mesh %s (its \"%.*s\" header is missing or "
                            "bad): damaged, or not written by mesh", what, is_log ? "state log" : "state", (int)ml - 1, magic);
    if (!is_log && (*body_len < 16 || memcmp(*body, "SQLite format 3", 16) != 0))
        return mesh_err_set(err, MESH_ERR, what, "%s holds no SQLite image after its header: damaged", what);
    return 0;
}

unsigned char *sync_build(int is_log, const struct sync_header *h, const void *body, size_t body_len,
                          size_t *out_len)
{
    char head[256];
    int n = is_log ? snprintf(head, sizeof(head), LOG_MAGIC "{\"lineage\":\"%s\",\"gen\":%lld,\"seq\":%lld,\"schema\":%d}\n",
                              h->lineage, h->gen, h->seq, STORE_SCHEMA_VERSION)
                   : snprintf(head, sizeof(head), BASE_MAGIC "{\"lineage\":\"%s\",\"serial\":%lld,\"gen\":%lld}\n",
                              h->lineage, h->serial, h->gen);
    unsigned char *out = xmalloc((size_t)n + body_len);
    memcpy(out, head, (size_t)n);
    if (body_len) memcpy(out + n, body, body_len);
    *out_len = (size_t)n + body_len;
    return out;
}

unsigned char *sync_image_blob(sqlite3 *db, const struct sync_header *h, size_t *len, const char *where,
                               struct mesh_err *err)
{
    sqlite3_int64 n = 0;
    unsigned char *img = sqlite3_serialize(db, "main", &n, 0);
    if (!img) {
        mesh_err_set(err, MESH_ERR, where, "cannot take an image of the state: %s", sqlite3_errmsg(db));
        return NULL;
    }
    unsigned char *blob = sync_build(0, h, img, (size_t)n, len);
    sqlite3_free(img);
    return blob;
}

/* ---- logs ---- */

long long sync_db_schema(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    long long v = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int abort_on_conflict(void *ctx, int kind, sqlite3_changeset_iter *it)
{
    (void)it;
    *(int *)ctx = kind;
    return SQLITE_CHANGESET_ABORT;
}

static int apply_one(sqlite3 *db, const struct remote *r, const char *where, const char *lineage, long long gen,
                     long long seq, int *found, struct mesh_err *err)
{
    struct remote_blob b = {0};
    struct mesh_err e;
    mesh_err_init(&e);
    char what[700];
    snprintf(what, sizeof(what), "log %lld/%lld of %s", gen, seq, where);
    *found = 0;
    int rc = r->ops->log_get(r->be, gen, seq, &b, &e);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return mesh_err_copy(err, &e, NULL);
    *found = 1;
    struct sync_header h;
    const unsigned char *body = NULL;
    size_t blen = 0;
    rc = sync_parse(b.data, b.len, 1, what, &h, &body, &blen, err);
    if (rc == 0 && (strcmp(h.lineage, lineage) != 0 || h.gen != gen || h.seq != seq))
        rc = mesh_err_set(err, MESH_ERR, what, "%s belongs to another state or place (lineage %s, log %lld/%lld; "
                          "this state is lineage %s): refused, nothing applied", what, h.lineage, h.gen, h.seq,
                          lineage);
    long long have = rc == 0 ? sync_db_schema(db) : 0;
    if (rc == 0 && h.schema > STORE_SCHEMA_VERSION)
        rc = mesh_err_set(err, MESH_ECONFLICT, what, "%s was written by a newer mesh (state schema %lld; this mesh "
                          "knows up to %d): upgrade mesh on this machine; nothing applied", what, h.schema,
                          STORE_SCHEMA_VERSION);
    else if (rc == 0 && h.schema != have)
        rc = mesh_err_set(err, MESH_ECONFLICT, what, "%s holds changes in state schema %lld, but the state it applies "
                          "to is in schema %lld: it was written by another version of mesh than the one that "
                          "wrote the state. Use one version of mesh on every machine of the team (the newest), "
                          "then run again; nothing applied", what, h.schema, have);
    int conflict = 0;
    if (rc == 0) {
        int src = sqlite3changeset_apply(db, (int)blen, (void *)body, NULL, abort_on_conflict, &conflict);
        if (src != SQLITE_OK)
            rc = mesh_err_set(err, MESH_ERR, what, "%s does not apply to the state before it (%s): the remote "
                              "state is damaged or was written by two writers; nothing applied. Restore the "
                              "base from the bucket's versions", what,
                              conflict ? "a row it changes is not as it expects" : sqlite3_errmsg(db));
    }
    remote_blob_release(&b);
    return rc;
}

int sync_apply_logs(sqlite3 *db, const struct remote *r, const char *where, const char *lineage, long long gen,
                    long long *seq, struct mesh_err *err)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return mesh_err_set(err, MESH_ERR, where, "cannot apply the state's logs: %s", sqlite3_errmsg(db));
    long long n = *seq;
    int rc = 0, found = 1;
    while (rc == 0 && found) {
        rc = apply_one(db, r, where, lineage, gen, n + 1, &found, err);
        if (rc == 0 && found) n++;
    }
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = mesh_err_set(err, MESH_ERR, where, "cannot apply the state's logs: %s", sqlite3_errmsg(db));
    if (rc) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    *seq = n;
    return 0;
}

/* ---- the whole state ---- */

int sync_load_mem(const struct remote *r, const char *where, int with_logs, sqlite3 **db, struct sync_header *h,
                  long long *seq, char *etag, struct mesh_err *err)
{
    return sync_load_changed(r, where, NULL, with_logs, db, h, seq, etag, err);
}

int sync_load_changed(const struct remote *r, const char *where, const char *unless_etag, int with_logs, sqlite3 **db,
                      struct sync_header *h, long long *seq, char *etag, struct mesh_err *err)
{
    *db = NULL;
    struct remote_blob b = {0};
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = unless_etag && unless_etag[0] && r->ops->base_get_changed
                 ? r->ops->base_get_changed(r->be, unless_etag, &b, &e)
                 : r->ops->base_get(r->be, &b, &e);
    if (rc == MESH_ENOTFOUND || rc == REMOTE_UNCHANGED) return rc;
    if (rc) return mesh_err_copy(err, &e, NULL);
    const unsigned char *img = NULL;
    size_t n = 0;
    rc = sync_parse(b.data, b.len, 0, where, h, &img, &n, err);
    if (rc == 0) {
        unsigned char *copy = sqlite3_malloc64(n);
        memcpy(copy, img, n);
        copy[18] = copy[19] = 1;   /* not WAL: an in-memory database has no -wal file */
        sqlite3_open_v2(":memory:", db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (sqlite3_deserialize(*db, "main", copy, (sqlite3_int64)n, (sqlite3_int64)n,
                                SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
            rc = mesh_err_set(err, MESH_ERR, where, "the state at %s cannot be read: %s", where, sqlite3_errmsg(*db));
    }
    if (etag) store_copy(etag, REMOTE_ETAG_MAX, b.etag);
    remote_blob_release(&b);
    *seq = 0;
    if (rc == 0 && with_logs) rc = sync_apply_logs(*db, r, where, h->lineage, h->gen, seq, err);
    if (rc) {
        sqlite3_close(*db);
        *db = NULL;
    }
    return rc;
}

/* data as the file path (0600, its directory made 0700), whole or not at all; a stale -wal or
 * -shm beside it would be read as part of the new file, so they go first. durable: synced to
 * disk (a pulled state); the cache of a remote state is not: every open writes it anew. */
static int write_file(const char *path, const unsigned char *data, size_t len, int durable, struct mesh_err *err)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 32];
    store_copy(dir, sizeof(dir), path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        int rc = store_make_dirs(dir, path, err);
        if (rc) return rc;
    }
    snprintf(tmp, sizeof(tmp), "%s.pull.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return mesh_err_set(err, MESH_ERR, path, "cannot write %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    int ok = off == len && (!durable || fsync(fd) == 0);
    int e = errno;
    close(fd);
    if (!ok) {
        unlink(tmp);
        return mesh_err_set(err, MESH_ERR, path, "cannot write %s: %s", tmp, strerror(e));
    }
    char side[PATH_MAX + 8];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return mesh_err_set(err, MESH_ERR, path, "cannot write the state file: %s", strerror(e));
    }
    return 0;
}

/* db's main database written as the state file path. */
static int write_db(sqlite3 *db, const char *path, const char *where, int durable, struct mesh_err *err)
{
    sqlite3_int64 n = 0;
    unsigned char *img = sqlite3_serialize(db, "main", &n, 0);
    if (!img) return mesh_err_set(err, MESH_ERR, where, "cannot take an image of the state: %s", sqlite3_errmsg(db));
    int rc = write_file(path, img, (size_t)n, durable, err);
    sqlite3_free(img);
    return rc;
}

/* The state key from beside the remote state (crypt.c asks; create: when first encrypting). */
static int key_source(void *ctx, int create, unsigned char *key, struct mesh_err *err)
{
    const struct remote *r = ctx;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = r->ops->key_get(r->be, key, &e);
    if (rc != MESH_ENOTFOUND || !create) {
        if (rc == MESH_ENOTFOUND)
            return mesh_err_set(err, MESH_ERR, describe(r), "the team state at %s holds encrypted values but "
                                "no state key: it was removed from beside the state", describe(r));
        return rc ? mesh_err_copy(err, &e, NULL) : 0;
    }
    mesh_err_init(&e);
    rc = r->ops->key_create(r->be, key, &e);
    if (rc == MESH_ECONFLICT) {   /* another machine made it first: use theirs */
        mesh_err_init(&e);
        rc = r->ops->key_get(r->be, key, &e);
    }
    return rc ? mesh_err_copy(err, &e, NULL) : 0;
}

static int remove_cache(const char *path, struct mesh_err *err)
{
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[PATH_MAX + 8];
        snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        if (unlink(p) != 0 && errno != ENOENT)
            return mesh_err_set(err, MESH_ERR, path, "cannot replace the state cache: %s", strerror(errno));
    }
    return 0;
}

static int attach(struct store *st, const struct remote *r, const struct sync_header *h, long long seq,
                  const char *etag, struct mesh_err *err)
{
    struct sync *sy = xcalloc(1, sizeof(*sy));
    sy->r = r;
    store_copy(sy->where, sizeof(sy->where), describe(r));
    sy->gen = h ? h->gen : 0;
    sy->seq = seq;
    store_copy(sy->etag, sizeof(sy->etag), etag);
    pthread_mutex_init(&sy->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sy->wake, &ca);
    pthread_cond_init(&sy->done, &ca);
    pthread_condattr_destroy(&ca);
    mesh_err_init(&sy->fail);
    sy->stats.gets = 1 + seq;
    st->sync = sy;
    crypt_set_key_source(st->lineage, r->ops->key_get && r->ops->key_create ? key_source : NULL, (void *)r);
    /* The cache is never the state's durable copy: an intent waits for its log on the remote, and
     * the next open replaces the file whole. Syncing it to disk at every commit buys nothing. */
    int rc = store_exec(st, "PRAGMA synchronous = OFF", err, "setting synchronous");
    if (rc == 0) rc = sync_session_start(st, err);
    if (rc == 0) sqlite3_commit_hook(st->db, sync_fence, st);
    return rc;
}

/* with_logs: whether logs may follow the base (a lease record exists: held, or left by a run
 * that died); lease, when non-NULL, is the record read, kept for the first lease question. */
static int open_remote(const char *cache_path, const struct remote *r, int create, int flags, int with_logs,
                       const struct remote_lease *lease, struct store **out, struct mesh_err *err)
{
    *out = NULL;
    const char *where = describe(r);
    sqlite3 *mem = NULL;
    struct sync_header h;
    long long seq = 0;
    char etag[REMOTE_ETAG_MAX] = "";
    int rc = sync_load_mem(r, where, with_logs, &mem, &h, &seq, etag, err);
    if (rc == MESH_ENOTFOUND && !create) return 1;
    if (rc && rc != MESH_ENOTFOUND) return rc;
    int fresh = rc == MESH_ENOTFOUND;
    long long base_schema = fresh ? 0 : sync_db_schema(mem);
    rc = fresh ? remove_cache(cache_path, err) : write_db(mem, cache_path, where, 0, err);
    sqlite3_close(mem);
    if (rc == 0) rc = store_open_flags(cache_path, flags, out, err);   /* migrates an older schema */
    if (rc) return rc;
    if (!fresh && strcmp((*out)->lineage, h.lineage) != 0)
        rc = mesh_err_set(err, MESH_ERR, where, "the state at %s says lineage %s in its header but holds %s: "
                          "damaged", where, h.lineage, (*out)->lineage);
    if (rc == 0) rc = attach(*out, r, fresh ? NULL : &h, seq, etag, err);
    if (rc == 0) {
        (*out)->sync->migrated = !fresh && base_schema != sync_db_schema((*out)->db);
        (*out)->sync->lease_cached = lease != NULL;
        (*out)->sync->lease_held = with_logs;
        if (lease) (*out)->sync->lease = *lease;
    }
    if (rc) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

int store_open_remote(const char *cache_path, const struct remote *r, int create, int flags, struct store **out,
                      struct mesh_err *err)
{
    *out = NULL;
    /* No lease record: the last run compacted and released, so the base is complete and there is
     * no log to look for. A record (held, or left by a run that died): its logs are read. */
    struct remote_lease lease;
    memset(&lease, 0, sizeof(lease));
    int held = 1;
    struct mesh_err le;
    mesh_err_init(&le);
    if (r->ops->lease_read(r->be, &lease, &held, &le)) return mesh_err_copy(err, &le, NULL);
    return open_remote(cache_path, r, create, flags, held, &lease, out, err);
}

int store_open_remote_locked(const char *cache_path, const struct remote *r, int create, int flags,
                             const char *run_id, const char *command, double timeout_s, struct store **out,
                             struct mesh_err *err)
{
    *out = NULL;
    struct remote_lease want, held;
    int over = 0;
    int rc = sync_acquire(r, describe(r), run_id, command, timeout_s, &want, &held, &over, err);
    if (rc) return rc;
    /* Logs are looked for even when the lease was taken from nobody: force-unlock removes a dead
     * run's record and leaves its logs. */
    rc = open_remote(cache_path, r, create, flags, 1, NULL, out, err);
    if (rc) {
        sync_give_back(r, run_id, over);
        return rc;
    }
    struct sync *sy = (*out)->sync;
    sy->pre.taken = 1;
    sy->pre.want = want;
    sy->pre.held = held;
    sy->pre.over = over;
    return 0;
}

const struct remote *store_remote(const struct store *st)
{
    return st->sync ? st->sync->r : NULL;
}

const char *store_where(const struct store *st)
{
    return st->sync ? st->sync->where : st->path;
}

void store_sync_stats(const struct store *st, struct store_sync_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!st->sync) return;
    pthread_mutex_lock(&st->sync->mu);
    *out = st->sync->stats;
    pthread_mutex_unlock(&st->sync->mu);
}

/* ---- pull and push ---- */

/* The key kept beside the remote state, as the pulled state's key file (its secrets stay
 * readable on this machine); none there: the state never held a secret. */
static int pull_key(const struct remote *r, const char *where, const char *lineage, struct mesh_err *err)
{
    unsigned char key[REMOTE_KEY_LEN];
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = r->ops->key_get(r->be, key, &e);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc == 0) rc = crypt_save_key(lineage, key, err);
    else rc = mesh_err_copy(err, &e, where);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int store_remote_pull(const struct remote *r, const char *dest_path, int force, struct mesh_err *err)
{
    const char *where = describe(r);
    if (!force && access(dest_path, F_OK) == 0)
        return mesh_err_set(err, MESH_ECONFLICT, dest_path, "%s exists; not replaced (--force replaces it)", dest_path);
    sqlite3 *mem = NULL;
    struct sync_header h;
    long long seq = 0;
    int rc = sync_load_mem(r, where, 1, &mem, &h, &seq, NULL, err);
    if (rc == MESH_ENOTFOUND) return mesh_err_set(err, MESH_ENOTFOUND, where, "there is no state at %s", where);
    /* the lock row is the remote lease's business: a pulled file starts unlocked */
    if (rc == 0 && sqlite3_exec(mem, "UPDATE lock SET run_id = NULL, holder = NULL, host = NULL, pid = NULL, "
                                "pid_start = NULL, command = NULL, acquired = NULL, expires = NULL",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = mesh_err_set(err, MESH_ERR, where, "the state at %s has no lock table: %s", where, sqlite3_errmsg(mem));
    if (rc == 0) rc = sync_snap_inline(mem, r, where, err);   /* a pulled file stands alone */
    if (rc == 0) rc = write_db(mem, dest_path, where, 1, err);
    sqlite3_close(mem);
    if (rc == 0 && r->ops->key_get) rc = pull_key(r, where, h.lineage, err);
    return rc;
}

void sync_want_lease(struct remote_lease *want, const char *run_id, const char *command, double ttl)
{
    memset(want, 0, sizeof(*want));
    store_copy(want->run_id, sizeof(want->run_id), run_id);
    store_user_at_host(want->holder, sizeof(want->holder));
    store_copy(want->host, sizeof(want->host), store_hostname());
    want->pid = getpid();
    store_copy(want->command, sizeof(want->command), command);
    want->acquired = (long long)store_now();
    want->expires = (long long)(store_now() + ttl);
}

/* Refuses to overwrite another lineage or a newer serial unless force. */
static int push_check(const char *where, const struct sync_header *remote, long long remote_serial,
                      const char *lineage, long long serial, int force, struct mesh_err *err)
{
    if (force) return 0;
    if (strcmp(remote->lineage, lineage) != 0)
        return mesh_err_set(err, MESH_ECONFLICT, where, "%s holds another state (lineage %s, serial %lld) than "
                            "this one (lineage %s, serial %lld): not replaced; push --force replaces it",
                            where, remote->lineage, remote_serial, lineage, serial);
    if (remote_serial > serial)
        return mesh_err_set(err, MESH_ECONFLICT, where, "%s is newer (serial %lld) than this state (serial "
                            "%lld, lineage %s): not replaced; pull it first, or push --force", where,
                            remote_serial, serial, lineage);
    return 0;
}

/* Fencing, right before a push replaces the base (as compact does): the lease is still ours
 * (renewed now: a push that ran past its lease may have lost it to another run), and nobody wrote
 * a log after the ones read. A base written otherwise would hide that run's logs. */
static int push_fence(const struct remote *r, const char *where, const char *run_id, long long gen, long long seq,
                      struct mesh_err *err)
{
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = r->ops->lease_renew(r->be, run_id, (long long)(store_now() + store_lease_ttl()), &e);
    if (rc == MESH_ELOCKED)
        return mesh_err_set(err, MESH_ECONFLICT, where, "the lock of %s was taken by another run while this push "
                            "ran (past its lease): nothing pushed; run it again", where);
    if (rc) return mesh_err_copy(err, &e, NULL);
    if (gen == 0) return 0;
    struct remote_blob next = {0};
    mesh_err_init(&e);
    rc = r->ops->log_get(r->be, gen, seq + 1, &next, &e);
    remote_blob_release(&next);
    if (rc == 0)
        return mesh_err_set(err, MESH_ECONFLICT, where, "%s was written by another run while this push ran: nothing "
                            "pushed; run it again", where);
    return rc == MESH_ENOTFOUND ? 0 : mesh_err_copy(err, &e, NULL);
}

static int push_locked(const struct remote *r, const char *where, struct store *src, const char *run_id, int force,
                       struct mesh_err *err)
{
    sqlite3 *mem = NULL;
    struct sync_header rh, h;
    long long seq = 0;
    char etag[REMOTE_ETAG_MAX] = "";
    int rc = sync_load_mem(r, where, 1, &mem, &rh, &seq, etag, err);
    int fresh = rc == MESH_ENOTFOUND;
    if (rc && !fresh) return rc;
    long long remote_serial = 0;
    if (!fresh) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(mem, "SELECT value FROM meta WHERE key = 'serial'", -1, &s, NULL) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW)
            remote_serial = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
        sqlite3_close(mem);
        rc = push_check(where, &rh, remote_serial, store_lineage(src), store_serial(src), force, err);
        if (rc) return rc;
    }
    memset(&h, 0, sizeof(h));
    store_copy(h.lineage, sizeof(h.lineage), store_lineage(src));
    h.serial = store_serial(src);
    h.gen = fresh ? 1 : rh.gen + 1;
    size_t len = 0;
    unsigned char *blob = sync_image_blob(src->db, &h, &len, where, err);
    if (!blob) return STORE_ERRCODE(err);
    rc = push_fence(r, where, run_id, fresh ? 0 : rh.gen, seq, err);
    if (rc) {
        free(blob);
        return rc;
    }
    struct mesh_err e;
    mesh_err_init(&e);
    char new_etag[REMOTE_ETAG_MAX] = "";
    rc = r->ops->base_put(r->be, blob, len, fresh ? NULL : etag, new_etag, &e);
    free(blob);
    if (rc == MESH_ECONFLICT)
        return mesh_err_set(err, MESH_ECONFLICT, where, "%s was written by someone else while pushing; nothing "
                            "overwritten: run again", where);
    if (rc) return mesh_err_copy(err, &e, NULL);
    mesh_err_init(&e);
    r->ops->log_drop(r->be, h.gen, &e);   /* best effort: logs of older generations are never read */
    return 0;
}

/* Whether the state holds an encrypted value (a resource attribute or an output). */
static int has_secrets(struct store *st)
{
    sqlite3_stmt *s = NULL;
    int found = 1;   /* cannot tell: assume so */
    if (sqlite3_prepare_v2(st->db, "SELECT EXISTS (SELECT 1 FROM resources WHERE inputs LIKE '%\"$enc\"%' "
                           "OR outputs LIKE '%\"$enc\"%') OR EXISTS (SELECT 1 FROM outputs WHERE sensitive) "
                           "OR EXISTS (SELECT 1 FROM snapshots WHERE rows LIKE '%\"$enc\"%')",
                           -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        found = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return found;
}

/* Its secrets are encrypted with this state's key; the remote keeps a key of its own (KMS). They
 * stay readable when that key is this state's: none there yet, this state's key is stored
 * (wrapped); the same key, nothing to do; another key, refused (re-encrypting is not done). */
static int share_key(const struct remote *r, const char *where, struct store *src, const char *src_path,
                     struct mesh_err *err)
{
    unsigned char mine[REMOTE_KEY_LEN], theirs[REMOTE_KEY_LEN];
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = crypt_key_of(src->lineage, mine, &e);
    if (rc)
        return mesh_err_set(err, rc, src_path, "%s holds sensitive values and its key cannot be read here, so "
                            "they could not be read from %s: %s", src_path, where, e.msg);
    mesh_err_init(&e);
    rc = r->ops->key_get(r->be, theirs, &e);
    if (rc == MESH_ENOTFOUND && r->ops->key_put) {
        mesh_err_init(&e);
        rc = r->ops->key_put(r->be, mine, &e);
        if (rc == MESH_ECONFLICT) {  /* another machine stored one meanwhile */
            mesh_err_init(&e);
            rc = r->ops->key_get(r->be, theirs, &e);
        } else if (rc == 0) {
            memcpy(theirs, mine, sizeof(theirs));
        }
    }
    if (rc) {
        rc = mesh_err_copy(err, &e, NULL);
    } else if (CRYPTO_memcmp(mine, theirs, sizeof(mine)) != 0) {
        rc = mesh_err_set(err, MESH_ECONFLICT, where, "%s holds sensitive values encrypted with its own key, and "
                          "%s already keeps another key: they would be unreadable there, so nothing was pushed "
                          "(push to a new key, or pull that state and work from it)", src_path, where);
    }
    OPENSSL_cleanse(mine, sizeof(mine));
    OPENSSL_cleanse(theirs, sizeof(theirs));
    return rc;
}

struct push_heartbeat {
    struct heartbeat hb;
    const struct remote *r;
};

static void push_renew(void *ctx)
{
    struct push_heartbeat *ph = ctx;
    sync_renew(&ph->hb, ph->r);
}

int store_remote_push(const struct remote *r, const char *src_path, const char *run_id, int force,
                      struct mesh_err *err)
{
    const char *where = describe(r);
    if (access(src_path, F_OK) != 0)
        return mesh_err_set(err, MESH_ENOTFOUND, src_path, "there is no state file %s to push", src_path);
    struct store *src = NULL;
    int rc = store_open(src_path, &src, err);
    if (rc == 0 && r->ops->key_get && has_secrets(src)) rc = share_key(r, where, src, src_path, err);
    if (rc) {
        store_close(src);
        return rc;
    }
    struct remote_lease want, held;
    int over = 0;
    rc = sync_acquire(r, where, run_id, "state push", 0, &want, &held, &over, err);
    if (rc == 0) {
        /* Renewed while the push reads and writes (a large state on a slow link outlasts a lease);
         * the fence still renews right before the base is replaced. */
        struct push_heartbeat ph = {.r = r};
        store_heartbeat_init(&ph.hb);
        store_heartbeat_arm(&ph.hb, run_id, store_lease_ttl(), (double)want.expires);
        int beating = store_heartbeat_spawn(&ph.hb, push_renew, &ph) == 0;
        rc = push_locked(r, where, src, run_id, force, err);
        if (beating) store_heartbeat_join(&ph.hb);
        store_heartbeat_destroy(&ph.hb);
        /* pushed: a new base, complete; refused: a dead run's logs it found stay readable */
        sync_give_back(r, run_id, rc != 0 && over);
    }
    store_close(src);
    return rc;
}
