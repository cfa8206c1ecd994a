/* store_int.h: what the files of state/ share and nobody else sees: struct store, the cache of
 * prepared statements, transaction helpers, the row codec (encrypt on put, decrypt on load) and
 * the few process facts (host, pid, start time) that runs and the lock lease record. */
#ifndef MESH_STORE_INT_H
#define MESH_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <time.h>

#include "store.h"

/* Every statement the store runs more than once; prepared on first use, kept until close. */
enum stmt_id {
    Q_GET_META, Q_SET_META, Q_BUMP_SERIAL,
    Q_PUT, Q_DELETE, Q_LOAD, Q_GET_ROW, Q_DEPOSED_KEYS, Q_SET_DEPOSED,
    Q_RUN_BEGIN, Q_RUN_END, Q_RUNS_RUNNING, Q_RUNS_UNSURE, Q_UNSETTLED, Q_JOURNAL, Q_JOURNAL_TRIM, Q_PENDING,
    Q_SNAP_TAKE, Q_SNAP_TRIM, Q_SNAP_BY_RUN, Q_SNAP_LIST, Q_SNAP_BY_NUMBER,
    Q_RESTORE_CLEAR, Q_RESTORE_FILL,
    Q_LOCK_READ, Q_LOCK_WRITE, Q_LOCK_CLEAR,
    Q__COUNT
};

/* The lease while this store holds it. Two connections of its own: db (renewals, by the
 * heartbeat thread or by store_lock_check from any thread, serialised by db_mu) and fence (read
 * by the commit hook, on the thread that owns the store's connection). */
struct heartbeat {
    pthread_t thread;
    pthread_mutex_t mu;     /* guards running, stop, lost, valid_until */
    pthread_cond_t cv;
    pthread_mutex_t db_mu;
    sqlite3 *db;
    sqlite3_stmt *renew;    /* UPDATE lock SET expires WHERE run_id = ours */
    sqlite3_stmt *holder;   /* the lock row, to name who holds it now */
    sqlite3 *fence_db;
    sqlite3_stmt *fence;    /* SELECT run_id FROM lock */
    int running;        /* thread started and not yet joined */
    int stop;
    int lost;           /* the lease is no longer ours (taken over or force-unlocked) */
    double ttl;
    double valid_until; /* the expiry we last wrote: until then nobody can take the lease over */
    char run_id[64];
    void (*renew_cb)(void *ctx);   /* what the heartbeat thread calls every TTL/3 */
    void *renew_ctx;
};

struct store {
    sqlite3 *db;
    char *path;
    char lineage[40];
    sqlite3_stmt *stmts[Q__COUNT];
    int in_tx;          /* inside store_begin .. store_commit */
    int changed;        /* a resource row changed in the current transaction */
    struct heartbeat hb;
    struct sync *sync;  /* team state (sync_int.h); NULL for a local store */
};

/* Fills err (where = the state file) with "what: sqlite's message" and returns MESH_ERR or a
 * more precise code (MESH_ELOCKED for SQLITE_BUSY). */
int store_sqlerr(struct store *st, int rc, struct mesh_err *err, const char *what);
/* The cached statement, reset and unbound; NULL with err set on a prepare failure. */
sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id, struct mesh_err *err);
/* Runs a statement that returns no rows (steps to SQLITE_DONE, resets). */
int store_exec_stmt(struct store *st, sqlite3_stmt *s, struct mesh_err *err, const char *what);
int store_exec(struct store *st, const char *sql, struct mesh_err *err, const char *what);

/* A unit of work: inside a group commit it joins it; otherwise it is its own BEGIN IMMEDIATE ..
 * COMMIT. tx_leave commits (bumping the serial if a row changed) when rc == 0, else rolls back,
 * and returns rc or the commit's error. */
int store_tx_enter(struct store *st, struct mesh_err *err);
int store_tx_leave(struct store *st, int rc, struct mesh_err *err);

/* Row codec. row_from_stmt reads columns address, deposed, type, inputs, outputs, deps,
 * sensitive, run_id starting at column first, decrypting sensitive values. */
int store_row_decrypt(struct store *st, struct state_row *row, struct mesh_err *err);
struct state_row *store_row_from_json(struct store *st, const json_t *obj, struct mesh_err *err);

/* row_check.c: each resource row's checksum (hex, ROW_SUM_LEN chars), the same as SQL function
 * mesh_row_sum(address, type, inputs, outputs, deps, sensitive, run_id) that register adds to a
 * connection; row_check validates a row of Q_LOAD (columns as row_from_stmt, then sum) before it
 * is used, naming the row in err. */
#define ROW_SUM_LEN 32
void store_row_sum(const char *address, const char *type, const char *inputs, const char *outputs,
                   const char *deps, const char *sensitive, const char *run_id, const char *connection,
                   char out[ROW_SUM_LEN + 1]);
int store_row_sum_register(sqlite3 *db);
int store_row_check(struct store *st, sqlite3_stmt *s, struct mesh_err *err);

/* Process facts. */
double store_now(void);
const char *store_hostname(void);
long long store_pid_start(pid_t pid);   /* 0 if unknown */
/* 1 if pid on this host is alive and (when both known) started at start_time. */
int store_pid_alive(long long pid, long long start_time);
void store_user_at_host(char *buf, size_t n);

/* lock.c */
int store_lock_read(struct store *st, struct lock_info *info, int *held, long long *pid_start,
                    double *expires, struct mesh_err *err);
void store_heartbeat_init(struct heartbeat *hb);
void store_heartbeat_destroy(struct heartbeat *hb);   /* after store_heartbeat_join */
/* The heartbeat thread (arg: the struct heartbeat): renew_cb every TTL/3 until stop or lost. */
void *store_heartbeat_main(void *arg);
/* Sets the lease's facts (run, ttl, valid until) before spawn starts the thread (an errno on
 * failure); join stops it. */
void store_heartbeat_arm(struct heartbeat *hb, const char *run_id, double ttl, double valid_until);
int store_heartbeat_spawn(struct heartbeat *hb, void (*renew_cb)(void *ctx), void *ctx);
void store_heartbeat_join(struct heartbeat *hb);
void store_heartbeat_mark_lost(struct heartbeat *hb);
/* ts = CLOCK_MONOTONIC now + s (for pthread_cond_timedwait on a monotonic condvar). */
void store_deadline_in(struct timespec *ts, double s);
void store_heartbeat_stop(struct store *st);
/* err for a write refused because the lease was lost (the commit hook's SQLITE_CONSTRAINT_COMMITHOOK). */
int store_lease_lost(struct store *st, struct mesh_err *err, const char *what);

/* The code in err, or MESH_ERR if err is NULL or unset. */
#define STORE_ERRCODE(err) ((err) && (err)->code ? (err)->code : MESH_ERR)

/* Copies src into a fixed buffer, always terminated. */
void store_copy(char *dst, size_t n, const char *src);
/* mkdir -p, 0700 for each directory it creates (statepath: where errors point). */
int store_make_dirs(const char *dir, const char *statepath, struct mesh_err *err);
/* "run R (user@host, pid N, `mesh CMD`, since T)": a lease holder for messages. */
void store_format_holder(const struct lock_info *li, char *buf, size_t n);
double store_lease_ttl(void);   /* MESH_LOCK_TTL or 30 s */

/* crypt.c: where the key of a lineage comes from on a remote store. fn (create: make one when
 * there is none) fills key; fn NULL: MESH_STATE_KEY only, never a key file (a key file would
 * exist on one machine only). Registrations stack; drop removes the one made with ctx. */
typedef int (*crypt_key_fn)(void *ctx, int create, unsigned char *key, struct mesh_err *err);
void crypt_set_key_source(const char *lineage, crypt_key_fn fn, void *ctx);
void crypt_drop_key_source(const char *lineage, void *ctx);
/* Writes key as lineage's key file (0600), for a state pulled to this machine; a key file
 * already there with the same key is fine, another key MESH_ECONFLICT. */
int crypt_save_key(const char *lineage, const unsigned char *key, struct mesh_err *err);
/* The key of lineage as this machine has it (MESH_STATE_KEY, its key file, or a registered
 * source); never makes one. */
int crypt_key_of(const char *lineage, unsigned char *key, struct mesh_err *err);

#endif
