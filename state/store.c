/* store.c: the state store's core. Opens state.db (creating it 0600 in a 0700 directory), runs the
 * numbered migrations of schema.sql, keeps meta (schema version, lineage, serial), and reads and
 * writes resource rows, one transaction per change or many in a group commit. Sensitive values
 * are encrypted on the way in and decrypted on the way out (crypt.c). Runs and the journal live
 * in journal.c, snapshots in snapshot.c, the lease in lock.c. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "schema.sql.h"
#include "sync_int.h"
#include "base/xalloc.h"

#define BUSY_TIMEOUT_MS 10000

static const char *const stmt_sql[Q__COUNT] = {
    [Q_GET_META] = "SELECT value FROM meta WHERE key = ?1",
    [Q_SET_META] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [Q_BUMP_SERIAL] = "UPDATE meta SET value = value + 1 WHERE key = 'serial'",
    /* The WHERE makes an identical put a no-op, so it does not bump the serial. */
    [Q_PUT] = "INSERT INTO resources (address, deposed, type, inputs, outputs, deps, sensitive, run_id, sum, "
              "connection) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
              "ON CONFLICT (address, deposed) DO UPDATE SET "
              "type = excluded.type, inputs = excluded.inputs, outputs = excluded.outputs, "
              "deps = excluded.deps, sensitive = excluded.sensitive, run_id = excluded.run_id, "
              "sum = excluded.sum, connection = excluded.connection "
              "WHERE type IS NOT excluded.type OR inputs IS NOT excluded.inputs "
              "OR outputs IS NOT excluded.outputs OR deps IS NOT excluded.deps "
              "OR sensitive IS NOT excluded.sensitive OR run_id IS NOT excluded.run_id "
              "OR sum IS NOT excluded.sum OR connection IS NOT excluded.connection",
    [Q_DELETE] = "DELETE FROM resources WHERE address = ?1 AND deposed = ?2",
    [Q_LOAD] = "SELECT address, deposed, type, inputs, outputs, deps, sensitive, run_id, sum, connection "
               "FROM resources ORDER BY address, deposed",
    [Q_GET_ROW] = "SELECT 1 FROM resources WHERE address = ?1 AND deposed = ?2",
    [Q_DEPOSED_KEYS] = "SELECT deposed FROM resources WHERE address = ?1 AND deposed <> ''",
    [Q_SET_DEPOSED] = "UPDATE resources SET deposed = ?3 WHERE address = ?1 AND deposed = ?2",
    [Q_RUN_BEGIN] = "INSERT INTO runs (run_id, command, pid, pid_start, host, started, status) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
    [Q_RUN_END] = "UPDATE runs SET status = ?2, finished = ?3 WHERE run_id = ?1",
    [Q_RUNS_RUNNING] = "SELECT run_id, pid, pid_start, host FROM runs WHERE status = 'running' "
                       "ORDER BY started, rowid",
    [Q_RUNS_UNSURE] = "SELECT m.run_id FROM journal m JOIN runs r ON r.run_id = m.run_id "
                      "WHERE r.status <> 'running' AND m.action LIKE '%.unsure' AND NOT EXISTS ("
                      "SELECT 1 FROM journal a WHERE a.run_id = m.run_id AND a.address = m.address "
                      "AND a.action = substr(m.action, 1, length(m.action) - 7) AND a.seq > m.seq "
                      "AND a.phase IN ('ok', 'failed')) GROUP BY m.run_id ORDER BY min(m.seq)",
    /* A create committed (".committed") but never finished ("create" ok) by a run that ended,
     * whose object is still the address's current row: its wait failed or was cut off. Only the
     * journals of runs that did not end ok are read. */
    [Q_UNSETTLED] = "SELECT c.address, c.run_id, substr(c.action, 1, length(c.action) - 10) FROM runs ru "
                    "JOIN journal c ON c.run_id = ru.run_id WHERE ru.status NOT IN ('ok', 'running') "
                    "AND c.action LIKE '%.committed' AND c.phase = 'ok' AND EXISTS ("
                    "SELECT 1 FROM resources r WHERE r.address = c.address AND r.deposed = '' AND r.run_id = c.run_id) "
                    "AND NOT EXISTS (SELECT 1 FROM journal a WHERE a.run_id = c.run_id AND a.address = c.address "
                    "AND a.action = substr(c.action, 1, length(c.action) - 10) AND a.seq > c.seq AND a.phase = 'ok') "
                    "GROUP BY c.run_id, c.address ORDER BY min(c.seq)",
    [Q_JOURNAL] = "INSERT INTO journal (run_id, address, action, phase, detail, time) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* Only runs that ended ok lose their rows: recovery reads no journal of theirs. */
    [Q_JOURNAL_TRIM] = "DELETE FROM journal WHERE run_id IN (SELECT run_id FROM runs WHERE status = 'ok' "
                       "AND run_id NOT IN (SELECT run_id FROM runs ORDER BY started DESC, rowid DESC LIMIT ?1))",
    [Q_PENDING] = "SELECT j.seq, j.address, j.action, j.phase, j.detail, j.time FROM journal j "
                  "WHERE j.run_id = ?1 AND j.phase = 'intent' AND NOT EXISTS ("
                  "SELECT 1 FROM journal r WHERE r.run_id = ?1 AND r.address = j.address "
                  "AND r.action = j.action AND r.seq > j.seq AND r.phase IN ('ok', 'failed')) "
                  "ORDER BY j.seq",
    [Q_SNAP_TAKE] = "INSERT INTO snapshots (run_id, serial, created, resources, rows) SELECT ?1, "
                    "(SELECT value FROM meta WHERE key = 'serial'), ?2, count(*), "
                    "json_group_array(json_object('address', address, 'deposed', deposed, "
                    "'type', type, 'inputs', json(inputs), 'outputs', json(outputs), "
                    "'deps', json(deps), 'sensitive', json(sensitive), 'run_id', run_id, "
                    "'connection', connection)) "
                    "FROM (SELECT * FROM resources ORDER BY address, deposed)",
    [Q_SNAP_TRIM] = "DELETE FROM snapshots WHERE id NOT IN "
                    "(SELECT id FROM snapshots ORDER BY id DESC LIMIT ?1) "
                    "AND run_id NOT IN (SELECT run_id FROM runs WHERE status = 'running')",
    [Q_SNAP_BY_RUN] = "SELECT rows FROM snapshots WHERE run_id = ?1 ORDER BY id DESC LIMIT 1",
    [Q_SNAP_LIST] = "SELECT run_id, serial, created, resources FROM snapshots "
                    "ORDER BY id DESC LIMIT ?1",
    [Q_SNAP_BY_NUMBER] = "SELECT rows FROM snapshots ORDER BY id DESC LIMIT 1 OFFSET ?1",
    [Q_RESTORE_CLEAR] = "DELETE FROM resources",
    [Q_RESTORE_FILL] = "INSERT INTO resources (address, deposed, type, inputs, outputs, deps, "
                       "sensitive, run_id, connection) SELECT value ->> 'address', value ->> 'deposed', "
                       "value ->> 'type', value -> 'inputs', value -> 'outputs', value -> 'deps', "
                       "value -> 'sensitive', value ->> 'run_id', value ->> 'connection' "
                       "FROM json_each(?1)",
    [Q_LOCK_READ] = "SELECT run_id, holder, host, pid, pid_start, command, acquired, expires "
                    "FROM lock WHERE id = 1",
    [Q_LOCK_WRITE] = "UPDATE lock SET run_id = ?1, holder = ?2, host = ?3, pid = ?4, "
                     "pid_start = ?5, command = ?6, acquired = ?7, expires = ?8 WHERE id = 1",
    [Q_LOCK_CLEAR] = "UPDATE lock SET run_id = NULL, holder = NULL, host = NULL, pid = NULL, "
                     "pid_start = NULL, command = NULL, acquired = NULL, expires = NULL "
                     "WHERE id = 1 AND run_id = ?1",
};

/* ---- small helpers shared by state/ ---- */

void store_copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

double store_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char host_buf[256];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static void host_init(void)
{
    if (gethostname(host_buf, sizeof(host_buf) - 1) != 0 || !host_buf[0])
        store_copy(host_buf, sizeof(host_buf), "localhost");
}

const char *store_hostname(void)
{
    pthread_once(&host_once, host_init);
    return host_buf;
}

void store_user_at_host(char *buf, size_t n)
{
    const char *user = getenv("USER");
    if (!user || !*user) user = getenv("LOGNAME");
    if (user && *user)
        snprintf(buf, n, "%s@%s", user, store_hostname());
    else
        snprintf(buf, n, "uid%ld@%s", (long)geteuid(), store_hostname());
}

/* Field 3 (state) and field 22 (start time in clock ticks since boot) of /proc/PID/stat.
 * -1 if there is no such process. */
static int proc_stat(pid_t pid, char *state, long long *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');   /* the command name may hold spaces and parentheses */
    if (!p) return -1;
    p++;
    while (*p == ' ') p++;
    *state = *p;
    /* from field 3 (state), skip to field 22 */
    for (int field = 3; field < 22 && *p; field++) {
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
    }
    *start = strtoll(p, NULL, 10);
    return 0;
}

long long store_pid_start(pid_t pid)
{
    char state;
    long long start = 0;
    return proc_stat(pid, &state, &start) == 0 ? start : 0;
}

int store_pid_alive(long long pid, long long start_time)
{
    if (pid <= 0 || pid > INT_MAX) return 0;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
    char state = 0;
    long long now_start = 0;
    if (proc_stat((pid_t)pid, &state, &now_start) != 0) return 1;   /* no /proc: trust kill() */
    /* A killed process its parent has not reaped yet is a zombie: gone, though kill() finds it. */
    if (state == 'Z' || state == 'X') return 0;
    if (start_time > 0 && now_start > 0 && now_start != start_time) return 0;  /* a recycled pid */
    return 1;
}

int store_sqlerr(struct store *st, int rc, struct mesh_err *err, const char *what)
{
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    const char *where = st ? st->path : "";
    if (st && st->db && sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_COMMITHOOK)
        return store_lease_lost(st, err, what);   /* lock.c's fence refused the commit */
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return mesh_err_set(err, MESH_ELOCKED, where,
                            "%s: the state database stayed busy for %d s (another mesh process is "
                            "writing it); try again", what, BUSY_TIMEOUT_MS / 1000);
    case SQLITE_FULL:
        return mesh_err_set(err, MESH_ERR, where, "%s: disk full (%s)", what, msg);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return mesh_err_set(err, MESH_ERR, where,
                            "%s: %s (check that the state file and its directory are writable by you)",
                            what, msg);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return mesh_err_set(err, MESH_ERR, where, "%s: %s (is this a mesh state file?)", what, msg);
    default:
        return mesh_err_set(err, MESH_ERR, where, "%s: %s", what, msg);
    }
}

sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id, struct mesh_err *err)
{
    sqlite3_stmt *s = st->stmts[id];
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return s;
    }
    int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        store_sqlerr(st, rc, err, "preparing a statement");
        return NULL;
    }
    st->stmts[id] = s;
    return s;
}

int store_exec_stmt(struct store *st, sqlite3_stmt *s, struct mesh_err *err, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store_sqlerr(st, rc, err, what);
    /* a statement outside any transaction committed on its own */
    if (st->sync && !sqlite3_stmt_readonly(s) && sqlite3_get_autocommit(st->db)) return sync_committed(st, err);
    return 0;
}

int store_exec(struct store *st, const char *sql, struct mesh_err *err, const char *what)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return store_sqlerr(st, rc, err, what);
    return 0;
}

/* ---- transactions ---- */

static int bump_serial(struct store *st, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_BUMP_SERIAL, err);
    if (!s) return STORE_ERRCODE(err);
    return store_exec_stmt(st, s, err, "bumping the serial");
}

static int commit(struct store *st, struct mesh_err *err)
{
    int rc = 0;
    if (st->changed) rc = bump_serial(st, err);
    if (rc == 0) rc = store_exec(st, "COMMIT", err, "committing to the state");
    if (rc != 0) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->changed = 0;
    if (rc == 0 && st->sync) rc = sync_committed(st, err);
    return rc;
}

int store_tx_enter(struct store *st, struct mesh_err *err)
{
    if (st->in_tx) return 0;
    st->changed = 0;
    if (st->sync) st->sync->intent = 0;
    return store_exec(st, "BEGIN IMMEDIATE", err, "starting a state transaction");
}

int store_tx_leave(struct store *st, int rc, struct mesh_err *err)
{
    if (st->in_tx) return rc;
    if (rc != 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        st->changed = 0;
        return rc;
    }
    return commit(st, err);
}

int store_begin(struct store *st, struct mesh_err *err)
{
    if (st->in_tx)
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_begin: a group commit is already open");
    int rc = store_tx_enter(st, err);
    if (rc == 0) st->in_tx = 1;
    return rc;
}

int store_commit(struct store *st, struct mesh_err *err)
{
    if (!st->in_tx)
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_commit: no group commit is open");
    st->in_tx = 0;
    return commit(st, err);
}

int store_rollback(struct store *st)
{
    if (!st->in_tx) return 0;
    st->in_tx = 0;
    st->changed = 0;
    return sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK ? 0 : MESH_ERR;
}

/* ---- meta, migrations, open ---- */

static int meta_get_text(struct store *st, const char *key, char *buf, size_t n, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_GET_META, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    buf[0] = 0;
    if (rc == SQLITE_ROW) store_copy(buf, n, (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_sqlerr(st, rc, err, "reading meta");
    return rc == SQLITE_ROW ? 0 : MESH_ENOTFOUND;
}

/* The state's schema version; 0 for a brand-new (empty) database. Reads only. */
static int schema_version(struct store *st, long long *version, struct mesh_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master WHERE name = 'meta'",
                                -1, &s, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(s);
    int has_meta = rc == SQLITE_ROW && sqlite3_column_int(s, 0) > 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return store_sqlerr(st, rc, err, "reading the state's schema version");
    *version = 0;
    if (!has_meta) return 0;
    char buf[32];
    rc = meta_get_text(st, "schema_version", buf, sizeof(buf), err);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    *version = strtoll(buf, NULL, 10);
    return 0;
}

static int refuse_newer(struct store *st, long long version, struct mesh_err *err)
{
    return mesh_err_set(err, MESH_ECONFLICT, st->path,
                        "state.db was written by a newer mesh (schema %lld, this mesh knows %d); "
                        "upgrade mesh", version, STORE_SCHEMA_VERSION);
}

/* The text of migration n in schema_sql (between "-- migration n" and the next marker); caller
 * frees. NULL if schema.sql has no such migration. */
static char *migration_sql(int n)
{
    static const char marker[] = "-- migration ";
    const char *p = schema_sql;
    while ((p = strstr(p, marker)) != NULL) {
        p += sizeof(marker) - 1;
        if (atoi(p) != n) continue;
        const char *start = strchr(p, '\n');
        if (!start) return NULL;
        const char *end = strstr(start, marker);
        size_t len = end ? (size_t)(end - start) : strlen(start);
        return xstrndup(start, len);
    }
    return NULL;
}

static void new_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1) {
        /* RAND_bytes does not fail on Linux with a seeded DRBG; fall back to something unique */
        long long t = (long long)(store_now() * 1e6);
        memcpy(b, &t, 8);
        long long p = getpid();
        memcpy(b + 8, &p, 8);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

static int set_meta(struct store *st, const char *key, const char *text, long long num,
                    struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_SET_META, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(s, 2, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(s, 2, num);
    return store_exec_stmt(st, s, err, "writing meta");
}

/* Brings the schema to STORE_SCHEMA_VERSION. Many processes may race here on a new file: the
 * version is re-read inside BEGIN IMMEDIATE, so exactly one of them migrates. */
static int migrate(struct store *st, struct mesh_err *err)
{
    int rc = store_exec(st, "BEGIN IMMEDIATE", err, "starting the schema migration");
    if (rc) return rc;
    long long version;
    rc = schema_version(st, &version, err);
    if (rc == 0 && version > STORE_SCHEMA_VERSION) rc = refuse_newer(st, version, err);
    for (long long v = version + 1; rc == 0 && v <= STORE_SCHEMA_VERSION; v++) {
        char *sql = migration_sql((int)v);
        if (!sql) {
            rc = mesh_err_set(err, MESH_ERR, st->path, "internal: schema.sql has no migration %lld", v);
            break;
        }
        char what[64];
        snprintf(what, sizeof(what), "applying schema migration %lld", v);
        rc = store_exec(st, sql, err, what);
        free(sql);
    }
    if (rc == 0 && version < STORE_SCHEMA_VERSION)
        rc = set_meta(st, "schema_version", NULL, STORE_SCHEMA_VERSION, err);
    if (rc == 0 && version == 0) {
        char uuid[37];
        new_uuid(uuid);
        rc = set_meta(st, "lineage", uuid, 0, err);
        if (rc == 0) rc = set_meta(st, "serial", NULL, 0, err);
    }
    if (rc == 0) return store_exec(st, "COMMIT", err, "committing the schema migration");
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_make_dirs(const char *dir, const char *statepath, struct mesh_err *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
        return mesh_err_set(err, MESH_EINVAL, statepath, "state path is too long");
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return mesh_err_set(err, MESH_ERR, statepath, "cannot create directory %s: %s",
                                    buf, strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

/* A fresh state, built whole at tmp (0600, schema, lineage) before anyone can see it. */
static int build_new(const char *tmp, struct mesh_err *err)
{
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return mesh_err_set(err, MESH_ERR, tmp, "cannot create the state file: %s", strerror(errno));
    close(fd);
    struct store *t = xcalloc(1, sizeof(*t));
    t->path = xstrdup(tmp);
    store_heartbeat_init(&t->hb);
    int rc = sqlite3_open_v2(tmp, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) rc = store_row_sum_register(t->db);
    rc = rc == SQLITE_OK ? migrate(t, err) : store_sqlerr(t, rc, err, "creating the state");
    store_close(t);
    return rc;
}

/* The directory (0700), and the state file if there is none yet: built under a temporary name
 * and linked into place, so that nobody ever sees a new state half made (or empty). */
static int create_file(const char *path, struct mesh_err *err)
{
    char dir[PATH_MAX];
    store_copy(dir, sizeof(dir), path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        struct stat sb;
        if (stat(dir, &sb) != 0) {
            int rc = store_make_dirs(dir, path, err);
            if (rc) return rc;
        } else if (!S_ISDIR(sb.st_mode)) {
            return mesh_err_set(err, MESH_EINVAL, path, "cannot create the state: %s is not a directory",
                                dir);
        }
    }
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid());
    unlink(tmp);   /* left by a process of ours with the same pid that was killed */
    int rc = build_new(tmp, err);
    if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)   /* EEXIST: another one was first */
        rc = mesh_err_set(err, MESH_ERR, path, "cannot create the state file: %s", strerror(errno));
    unlink(tmp);
    return rc;
}

/* 1 if path has a -wal file with something in it (then an empty main file is not empty). */
static int wal_has_data(const char *path)
{
    char wal[PATH_MAX + 8];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    struct stat sb;
    return stat(wal, &sb) == 0 && sb.st_size > 0;
}

static int check_existing(const char *path, const struct stat *sb, int flags, struct mesh_err *err)
{
    if (!S_ISREG(sb->st_mode))
        return mesh_err_set(err, MESH_EINVAL, path, "the state path is not a regular file");
    if (sb->st_size > 0 || wal_has_data(path) || (flags & STORE_OPEN_FORCE_NEW)) return 0;
    return mesh_err_set(err, MESH_ERR, path,
                        "the state file is empty (0 bytes): a state that was there is gone, so mesh "
                        "no longer knows what it created. Restore the file from a backup; or, only "
                        "if nothing it managed exists any more, start over with `mesh apply "
                        "--force-new-state`");
}

static int ensure_file(const char *path, int flags, struct mesh_err *err)
{
    struct stat sb;
    if (stat(path, &sb) == 0) return check_existing(path, &sb, flags, err);
    if (errno != ENOENT)
        return mesh_err_set(err, MESH_ERR, path, "cannot open the state file: %s", strerror(errno));
    int rc = create_file(path, err);
    if (rc == 0 && stat(path, &sb) != 0)
        rc = mesh_err_set(err, MESH_ERR, path, "cannot open the state file: %s", strerror(errno));
    return rc;
}

/* PRAGMA journal_mode=WAL on a new file needs a moment alone with it; retry while it is busy. */
static int enable_wal(struct store *st, struct mesh_err *err)
{
    double deadline = store_now() + BUSY_TIMEOUT_MS / 1000.0;
    for (;;) {
        sqlite3_stmt *s = NULL;
        int rc = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
        if (rc == SQLITE_OK) rc = sqlite3_step(s);
        int wal = rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
        sqlite3_finalize(s);
        if (wal) return 0;
        if ((rc == SQLITE_ROW || (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
            store_now() < deadline) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (rc == SQLITE_ROW)
            return mesh_err_set(err, MESH_ERR, st->path, "cannot switch the state to WAL mode");
        return store_sqlerr(st, rc, err, "switching the state to WAL mode");
    }
}

const char *store_sqlite_version(void) { return sqlite3_libversion(); }

int store_open(const char *path, struct store **out, struct mesh_err *err)
{
    return store_open_flags(path, 0, out, err);
}

int store_open_flags(const char *path, int flags, struct store **out, struct mesh_err *err)
{
    *out = NULL;
    if (!path || !*path) return mesh_err_set(err, MESH_EINVAL, "", "no state path given");
    int rc = ensure_file(path, flags, err);
    if (rc) return rc;
    struct store *st = xcalloc(1, sizeof(*st));
    st->path = xstrdup(path);
    store_heartbeat_init(&st->hb);
    rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        store_sqlerr(st, rc, err, "cannot open the state");
        store_close(st);
        return STORE_ERRCODE(err);
    }
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    if (store_row_sum_register(st->db) != SQLITE_OK) {
        store_sqlerr(st, SQLITE_ERROR, err, "opening the state");
        store_close(st);
        return STORE_ERRCODE(err);
    }
    /* Look before touching: a newer schema must leave the file byte for byte as it was. */
    long long version = 0;
    rc = schema_version(st, &version, err);
    if (rc == 0 && version > STORE_SCHEMA_VERSION) rc = refuse_newer(st, version, err);
    if (rc == 0) rc = enable_wal(st, err);
    if (rc == 0) rc = store_exec(st, "PRAGMA synchronous = FULL", err, "setting synchronous");
    if (rc == 0 && version < STORE_SCHEMA_VERSION) rc = migrate(st, err);
    if (rc == 0) {
        rc = meta_get_text(st, "lineage", st->lineage, sizeof(st->lineage), err);
        if (rc == MESH_ENOTFOUND || (rc == 0 && (strlen(st->lineage) != 36 ||
                                               strspn(st->lineage, "0123456789abcdef-") != 36)))
            rc = mesh_err_set(err, MESH_ERR, st->path, "the state has no valid lineage (damaged meta table)");
    }
    if (rc) {
        store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

int store_check(struct store *st, struct mesh_err *err)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA quick_check(5)", -1, &s, NULL);
    char first[600] = "";
    int problems = 0;
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            const char *line = (const char *)sqlite3_column_text(s, 0);
            if (line && strcmp(line, "ok") == 0) continue;
            if (line && strncmp(line, "*** in database ", 16) == 0) {   /* a heading, then the problems */
                line = strchr(line, '\n');
                if (!line) continue;
                line++;
            }
            if (!problems++) store_copy(first, sizeof(first), line ? line : "?");
        }
        for (char *nl = first; (nl = strchr(nl, '\n')) != NULL;) *nl = ';';
        if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    int code = rc;
    sqlite3_finalize(s);
    if (code != SQLITE_OK) return store_sqlerr(st, code, err, "checking the state file");
    if (problems)
        return mesh_err_set(err, MESH_ERR, st->path,
                            "the state file is damaged (SQLite's quick_check: %s%s); nothing was "
                            "changed. Restore it from a backup", first, problems > 1 ? ", and more" : "");
    return 0;
}

void store_close(struct store *st)
{
    if (!st) return;
    if (st->db && st->in_tx) store_rollback(st);   /* never published, locally or remotely */
    if (st->sync) sync_close(st);
    store_heartbeat_stop(st);
    if (st->db) {
        if (st->in_tx) store_rollback(st);
        if (st->hb.run_id[0]) {
            struct mesh_err e;
            char run_id[sizeof(st->hb.run_id)];
            mesh_err_init(&e);
            store_copy(run_id, sizeof(run_id), st->hb.run_id);
            store_unlock(st, run_id, &e);  /* a lease never outlives its store */
        }
        for (int i = 0; i < Q__COUNT; i++) sqlite3_finalize(st->stmts[i]);
        sqlite3_close(st->db);
    }
    store_heartbeat_destroy(&st->hb);
    free(st->path);
    free(st);
}

const char *store_path(const struct store *st) { return st->path; }
const char *store_lineage(const struct store *st) { return st->lineage; }

long long store_serial(struct store *st)
{
    struct mesh_err e;
    mesh_err_init(&e);
    char buf[32];
    if (meta_get_text(st, "serial", buf, sizeof(buf), &e) != 0) return -1;
    return strtoll(buf, NULL, 10);
}

/* ---- rows ---- */

const json_t *state_row_value(const struct state_row *r, const char *name)
{
    if (!r) return NULL;
    const json_t *v = json_object_get(r->outputs, name);
    return v ? v : json_object_get(r->inputs, name);
}

struct state_row *state_row_new(const char *address, const char *deposed, const char *type)
{
    struct state_row *r = xcalloc(1, sizeof(*r));
    r->address = xstrdup(address ? address : "");
    r->deposed = xstrdup(deposed ? deposed : "");
    r->type = xstrdup(type ? type : "");
    r->inputs = json_object();
    r->outputs = json_object();
    r->deps = json_array();
    r->sensitive = json_array();
    return r;
}

static json_t *copy_or(const json_t *v, json_t *dflt)
{
    if (!v) return dflt;
    json_decref(dflt);
    return json_deep_copy(v);
}

struct state_row *state_row_dup(const struct state_row *r)
{
    struct state_row *d = xcalloc(1, sizeof(*d));
    d->address = xstrdup(r->address ? r->address : "");
    d->deposed = xstrdup(r->deposed ? r->deposed : "");
    d->type = xstrdup(r->type ? r->type : "");
    d->inputs = copy_or(r->inputs, json_object());
    d->outputs = copy_or(r->outputs, json_object());
    d->deps = copy_or(r->deps, json_array());
    d->sensitive = copy_or(r->sensitive, json_array());
    d->run_id = r->run_id ? xstrdup(r->run_id) : NULL;
    d->connection = r->connection ? xstrdup(r->connection) : NULL;
    return d;
}

void state_row_free(void *p)
{
    struct state_row *r = p;
    if (!r) return;
    free(r->address);
    free(r->deposed);
    free(r->type);
    json_decref(r->inputs);
    json_decref(r->outputs);
    json_decref(r->deps);
    json_decref(r->sensitive);
    free(r->run_id);
    free(r->connection);
    free(r);
}

/* A copy of obj with the sensitive attributes replaced by their ciphertexts. */
static int encrypt_attrs(struct store *st, const char *address, const json_t *obj,
                         const json_t *sensitive, json_t **out, struct mesh_err *err)
{
    *out = obj ? json_copy((json_t *)obj) : json_object();
    if (!json_is_object(*out) || !json_is_array(sensitive)) return 0;
    size_t i;
    json_t *name;
    json_array_foreach(sensitive, i, name) {
        const char *key = json_string_value(name);
        json_t *v = key ? json_object_get(*out, key) : NULL;
        if (!v || crypt_is_encrypted(v)) continue;
        char aad[1024];
        snprintf(aad, sizeof(aad), "%s/%s", address, key);
        json_t *enc = NULL;
        int rc = crypt_encrypt_value(st->lineage, aad, v, &enc, err);
        if (rc) {
            json_decref(*out);
            *out = NULL;
            return rc;
        }
        json_object_set_new(*out, key, enc);
    }
    return 0;
}

static int decrypt_attrs(struct store *st, const char *address, json_t *obj, const json_t *sensitive,
                         struct mesh_err *err)
{
    if (!json_is_object(obj) || !json_is_array(sensitive)) return 0;
    size_t i;
    json_t *name;
    json_array_foreach(sensitive, i, name) {
        const char *key = json_string_value(name);
        json_t *v = key ? json_object_get(obj, key) : NULL;
        if (!v || !crypt_is_encrypted(v)) continue;
        char aad[1024];
        snprintf(aad, sizeof(aad), "%s/%s", address, key);
        json_t *plain = NULL;
        int rc = crypt_decrypt_value(st->lineage, aad, v, &plain, err);
        if (rc) return rc;
        json_object_set_new(obj, key, plain);
    }
    return 0;
}

int store_row_decrypt(struct store *st, struct state_row *row, struct mesh_err *err)
{
    if (json_array_size(row->sensitive) == 0) return 0;
    int rc = decrypt_attrs(st, row->address, row->inputs, row->sensitive, err);
    if (rc == 0) rc = decrypt_attrs(st, row->address, row->outputs, row->sensitive, err);
    return rc;
}

static char *dump(const json_t *v, const char *dflt)
{
    if (!v) return xstrdup(dflt);
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    return s ? s : xstrdup(dflt);
}

static store_row_put_fn row_put_hook;
static store_row_gone_fn row_gone_hook;

void store_set_row_hooks(store_row_put_fn put, store_row_gone_fn gone)
{
    row_put_hook = put;
    row_gone_hook = gone;
}

int store_put(struct store *st, const struct state_row *row, struct mesh_err *err)
{
    if (!row || !row->address || !row->address[0] || !row->type)
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_put: a row needs an address and a type");
    json_t *in = NULL, *outp = NULL;
    int rc = encrypt_attrs(st, row->address, row->inputs, row->sensitive, &in, err);
    if (rc == 0) rc = encrypt_attrs(st, row->address, row->outputs, row->sensitive, &outp, err);
    char *t_in = NULL, *t_out = NULL, *t_deps = NULL, *t_sens = NULL;
    if (rc == 0) {
        t_in = dump(in, "{}");
        t_out = dump(outp, "{}");
        t_deps = dump(row->deps, "[]");
        t_sens = dump(row->sensitive, "[]");
    }
    json_decref(in);
    json_decref(outp);
    if (rc == 0) rc = store_tx_enter(st, err);
    if (rc == 0) {
        sqlite3_stmt *s = store_stmt(st, Q_PUT, err);
        if (!s) {
            rc = STORE_ERRCODE(err);
        } else {
            sqlite3_bind_text(s, 1, row->address, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, row->deposed ? row->deposed : "", -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, row->type, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 4, t_in, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 5, t_out, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 6, t_deps, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 7, t_sens, -1, SQLITE_STATIC);
            if (row->run_id)
                sqlite3_bind_text(s, 8, row->run_id, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(s, 8);
            char sum[ROW_SUM_LEN + 1];
            store_row_sum(row->address, row->type, t_in, t_out, t_deps, t_sens, row->run_id, row->connection, sum);
            sqlite3_bind_text(s, 9, sum, -1, SQLITE_TRANSIENT);
            if (row->connection)
                sqlite3_bind_text(s, 10, row->connection, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(s, 10);
            rc = store_exec_stmt(st, s, err, row->address);
            if (rc == 0 && sqlite3_changes(st->db) > 0) st->changed = 1;
            if (rc == 0 && row_put_hook) row_put_hook(row);
            sqlite3_clear_bindings(s);
        }
        rc = store_tx_leave(st, rc, err);
    }
    free(t_in);
    free(t_out);
    free(t_deps);
    free(t_sens);
    return rc;
}

int store_delete(struct store *st, const char *address, const char *deposed, struct mesh_err *err)
{
    int rc = store_tx_enter(st, err);
    if (rc) return rc;
    sqlite3_stmt *s = store_stmt(st, Q_DELETE, err);
    if (!s) return store_tx_leave(st, STORE_ERRCODE(err), err);
    sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, deposed ? deposed : "", -1, SQLITE_STATIC);
    rc = store_exec_stmt(st, s, err, address);
    if (rc == 0 && sqlite3_changes(st->db) > 0) st->changed = 1;
    if (rc == 0 && row_gone_hook) row_gone_hook(address, deposed ? deposed : "");
    return store_tx_leave(st, rc, err);
}

static int row_exists(struct store *st, const char *address, const char *deposed, int *exists,
                      struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_GET_ROW, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, deposed, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_sqlerr(st, rc, err, address);
    *exists = rc == SQLITE_ROW;
    return 0;
}

static int set_deposed(struct store *st, const char *address, const char *from, const char *to,
                       struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_SET_DEPOSED, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, to, -1, SQLITE_STATIC);
    int rc = store_exec_stmt(st, s, err, address);
    if (rc == 0 && sqlite3_changes(st->db) > 0) st->changed = 1;
    return rc;
}

/* The next free deposed key of address: d(N+1) for the highest dN in use. */
static int next_deposed_key(struct store *st, const char *address, char *key, size_t keylen,
                            struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_DEPOSED_KEYS, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
    long max = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(s, 0);
        if (d && d[0] == 'd') {
            long n = strtol(d + 1, NULL, 10);
            if (n > max) max = n;
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_sqlerr(st, rc, err, address);
    if ((size_t)snprintf(key, keylen, "d%ld", max + 1) >= keylen)
        return mesh_err_set(err, MESH_EINVAL, address, "store_depose: key buffer too small");
    return 0;
}

int store_depose(struct store *st, const char *address, char *key, size_t keylen, struct mesh_err *err)
{
    int rc = store_tx_enter(st, err);
    if (rc) return rc;
    int exists = 0;
    rc = row_exists(st, address, "", &exists, err);
    if (rc == 0 && !exists)
        rc = mesh_err_set(err, MESH_ENOTFOUND, address, "cannot depose: no current object in state %s",
                          st->path);
    if (rc == 0) rc = next_deposed_key(st, address, key, keylen, err);
    if (rc == 0) rc = set_deposed(st, address, "", key, err);
    if (rc == 0 && row_gone_hook) row_gone_hook(address, "");  /* no current object any more */
    return store_tx_leave(st, rc, err);
}

int store_undepose(struct store *st, const char *address, const char *deposed, struct mesh_err *err)
{
    if (!deposed || !deposed[0])
        return mesh_err_set(err, MESH_EINVAL, address, "store_undepose: no deposed key given");
    int rc = store_tx_enter(st, err);
    if (rc) return rc;
    int exists = 0;
    rc = row_exists(st, address, "", &exists, err);
    if (rc == 0 && exists)
        rc = mesh_err_set(err, MESH_ECONFLICT, address,
                          "cannot restore deposed object %s: a current object still exists in state %s",
                          deposed, st->path);
    if (rc == 0) rc = row_exists(st, address, deposed, &exists, err);
    if (rc == 0 && !exists)
        rc = mesh_err_set(err, MESH_ENOTFOUND, address, "no deposed object %s in state %s", deposed,
                          st->path);
    if (rc == 0) rc = set_deposed(st, address, deposed, "", err);
    return store_tx_leave(st, rc, err);
}

/* A JSON column as read: an object (array) or nothing; the row was checked by store_row_check. */
static json_t *load_json(const char *text, int array, const char *address, const char *column,
                         struct mesh_err *err, const char *path)
{
    if (text[0] == (array ? '[' : '{') && text[1] == (array ? ']' : '}') && !text[2])
        return array ? json_array() : json_object();
    json_error_t je;
    json_t *v = json_loads(text, 0, &je);
    if (!v) {
        mesh_err_set(err, MESH_ERR, address, "state %s holds invalid JSON in %s: %s", path, column, je.text);
        return NULL;
    }
    int ok = array ? json_is_array(v) : json_is_object(v);
    size_t i;
    json_t *item;
    if (ok && array)
        json_array_foreach(v, i, item) if (!json_is_string(item)) ok = 0;
    if (!ok) {
        mesh_err_set(err, MESH_ERR, address, "state %s is damaged: %s is not %s", path, column,
                     array ? "an array of names" : "an object");
        json_decref(v);
        return NULL;
    }
    return v;
}

static struct state_row *row_from_stmt(struct store *st, sqlite3_stmt *s, struct mesh_err *err)
{
    if (store_row_check(st, s, err)) return NULL;
    struct state_row *r = xcalloc(1, sizeof(*r));
    r->address = xstrdup((const char *)sqlite3_column_text(s, 0));
    r->deposed = xstrdup((const char *)sqlite3_column_text(s, 1));
    r->type = xstrdup((const char *)sqlite3_column_text(s, 2));
    r->inputs = load_json((const char *)sqlite3_column_text(s, 3), 0, r->address, "inputs", err, st->path);
    r->outputs = r->inputs ? load_json((const char *)sqlite3_column_text(s, 4), 0, r->address, "outputs", err, st->path) : NULL;
    r->deps = r->outputs ? load_json((const char *)sqlite3_column_text(s, 5), 1, r->address, "deps", err, st->path) : NULL;
    r->sensitive = r->deps ? load_json((const char *)sqlite3_column_text(s, 6), 1, r->address, "sensitive", err, st->path) : NULL;
    const char *run = (const char *)sqlite3_column_text(s, 7);
    r->run_id = run ? xstrdup(run) : NULL;
    const char *conn = (const char *)sqlite3_column_text(s, 9);
    r->connection = conn ? xstrdup(conn) : NULL;
    if (!r->inputs || !r->outputs || !r->deps || !r->sensitive || store_row_decrypt(st, r, err)) {
        state_row_free(r);
        return NULL;
    }
    return r;
}

int store_load(struct store *st, struct vec *rows, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_LOAD, err);
    if (!s) return STORE_ERRCODE(err);
    size_t first = rows->len;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct state_row *r = row_from_stmt(st, s, err);
        if (!r) {
            sqlite3_reset(s);
            goto fail;
        }
        vec_push(rows, r);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE) return 0;
    store_sqlerr(st, rc, err, "loading resources");
fail:
    while (rows->len > first) state_row_free(vec_pop(rows));
    return STORE_ERRCODE(err);
}

static char *dup_member(const json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? xstrdup(v) : NULL;
}

static json_t *copy_member(const json_t *obj, const char *key, int array)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return array ? json_array() : json_object();
    return json_deep_copy(v);
}

/* A row from one element of a snapshot blob (still encrypted), decrypted. */
struct state_row *store_row_from_json(struct store *st, const json_t *obj, struct mesh_err *err)
{
    struct state_row *r = xcalloc(1, sizeof(*r));
    r->address = dup_member(obj, "address");
    r->deposed = dup_member(obj, "deposed");
    r->type = dup_member(obj, "type");
    r->run_id = dup_member(obj, "run_id");
    r->connection = dup_member(obj, "connection");
    r->inputs = copy_member(obj, "inputs", 0);
    r->outputs = copy_member(obj, "outputs", 0);
    r->deps = copy_member(obj, "deps", 1);
    r->sensitive = copy_member(obj, "sensitive", 1);
    if (!r->address || !r->type) {
        mesh_err_set(err, MESH_ERR, st->path, "a snapshot row has no address or type");
        state_row_free(r);
        return NULL;
    }
    if (!r->deposed) r->deposed = xstrdup("");
    if (store_row_decrypt(st, r, err)) {
        state_row_free(r);
        return NULL;
    }
    return r;
}
