/* sync_int.h: what the files of team state share (sync.c: blobs, open, pull, push; sync_log.c:
 * the commit log and its writer; sync_lease.c: the remote lease, catch-up and compaction) and
 * the hooks store.c, lock.c and journal.c call on a remote store. Nobody outside state/ sees it. */
#ifndef MESH_SYNC_INT_H
#define MESH_SYNC_INT_H

#include "remote.h"
#include "store_int.h"
#include "sync.h"

struct sqlite3_session;
struct sqlite3_changegroup;

struct sync {
    const struct remote *r;
    char where[512];            /* the remote's describe() */
    /* What the cache holds: the base of generation gen (0: none on the remote yet, a new
     * state) and its logs 1..seq. Changed by the lease side (catch-up, compaction) and by the
     * writer (seq), never both at once: the writer runs only while the lease is held. */
    long long gen;
    long long seq;
    char etag[REMOTE_ETAG_MAX];
    int applying;               /* our own catch-up is writing: the fence lets it through */
    int migrated;               /* the base opened is in an older schema, migrated here: at lock,
                                 * written anew (as a new generation) before any log of ours */
    /* The lease as open read it, handed to the first lease question asked before any lock
     * (a plan's "is a run open?"), so a read-only command costs one lease read and one GET. */
    int lease_cached;
    int lease_held;
    struct remote_lease lease;
    /* A writing run's open took the lease before reading (store_open_remote_locked): its lock
     * then starts the heartbeat on it, with no request and no catch-up. */
    struct {
        int taken;
        struct remote_lease want, held;
        int over;
    } pre;
    struct sqlite3_session *session;
    int intent;                 /* the transaction being committed wrote a journal intent */
    /* the log writer; mu guards everything below */
    pthread_mutex_t mu;
    pthread_cond_t wake;        /* the writer: urgent work or stop */
    pthread_cond_t done;        /* committers waiting for their log */
    pthread_t writer;
    int writer_running;
    int stop;
    int urgent;
    struct sqlite3_changegroup *pending;   /* committed, not yet on the remote */
    unsigned char *retry;       /* a built log whose put failed: sent again as it is */
    size_t retry_len;
    long long retry_seq;
    long long retry_ticket;     /* the tickets it carries */
    long long queued;           /* commits queued so far (tickets) */
    long long durable;          /* tickets whose log is on the remote */
    int stale;                  /* a log number was taken: another writer; nothing more is written */
    int quiet;                  /* the run is compacting: no more logs, chores only */
    int putting;                /* a log put is in flight (mu released around it) */
    /* A chore (sync_beside): one request the writer thread makes while the caller makes another,
     * on its own connection, warm from the log puts. */
    int (*chore)(struct store *st);
    int chore_state;            /* 0 none, 1 queued, 2 running, 3 done */
    int chore_rc;
    long long chore_gen, chore_seq;   /* what the compaction's chores look at */
    /* Snapshots moved beside the base at compaction (sync_snap.c): the objects to put (on the
     * writer thread, before the probe) and the names the base refers to (what a sweep keeps). */
    struct vec snap_up;
    struct vec snap_keep;
    int snap_keep_known;
    int snap_rc;
    struct mesh_err snap_fail;
    struct mesh_err fail;       /* the last failed log write */
    struct store_sync_stats stats;
};

/* The header of a blob: "MESHSTATE 1\n" or "MESHLOG 1\n", then one JSON line. */
struct sync_header {
    char lineage[40];
    long long serial;           /* base only */
    long long gen;
    long long seq;              /* log only */
    long long schema;           /* log only: the state schema its changes are in (store.h's
                                 * STORE_SCHEMA_VERSION of the mesh that wrote it) */
};
/* Logs written before their header named a schema are in this one. */
#define SYNC_SCHEMA_UNNAMED 4

/* sync.c */
/* The state schema version db is in (its meta table); 0 if unreadable. */
long long sync_db_schema(sqlite3 *db);
double sync_remote_timeout(void);   /* MESH_REMOTE_TIMEOUT seconds, default 60 */
/* data+len as a base (is_log 0) or log blob: header filled, body and body_len the rest. */
int sync_parse(const unsigned char *data, size_t len, int is_log, const char *what, struct sync_header *h,
               const unsigned char **body, size_t *body_len, struct mesh_err *err);
/* header + body, xmalloc'd. */
unsigned char *sync_build(int is_log, const struct sync_header *h, const void *body, size_t body_len,
                          size_t *out_len);
/* Applies the logs of gen after *seq to db in one transaction (none on any failure), naming
 * the first bad one. */
int sync_apply_logs(sqlite3 *db, const struct remote *r, const char *where, const char *lineage, long long gen,
                    long long *seq, struct mesh_err *err);
/* The remote state in an in-memory database: its base, and with_logs its logs; *h from the
 * base, *seq the last log applied. MESH_ENOTFOUND when there is no base. */
int sync_load_mem(const struct remote *r, const char *where, int with_logs, sqlite3 **db, struct sync_header *h,
                  long long *seq, char *etag, struct mesh_err *err);
/* The same, unless the base's ETag is still unless_etag (NULL or "": read it anyway): then
 * REMOTE_UNCHANGED, *db NULL, without its bytes. */
int sync_load_changed(const struct remote *r, const char *where, const char *unless_etag, int with_logs, sqlite3 **db,
                      struct sync_header *h, long long *seq, char *etag, struct mesh_err *err);
/* The base blob of db's main database (the header from h). */
unsigned char *sync_image_blob(sqlite3 *db, const struct sync_header *h, size_t *len, const char *where,
                               struct mesh_err *err);

/* The lease this process asks for (holder, host, pid: its own; expires now + ttl). */
void sync_want_lease(struct remote_lease *want, const char *run_id, const char *command, double ttl);
void sync_lock_info_from(struct lock_info *li, const struct remote_lease *l);

/* sync_log.c */
int sync_session_start(struct store *st, struct mesh_err *err);
void sync_session_stop(struct store *st);
/* After every commit of st (store.c): queue its changes; an intent waits for its log. */
int sync_committed(struct store *st, struct mesh_err *err);
/* The commit hook of a remote store: a transaction commits only under a valid lease. */
int sync_fence(void *arg);
void sync_writer_start(struct store *st);
/* Ends the writing of logs (the writer stays for chores, once a put in flight landed): 0 when
 * nothing is left to write, 1 when commits are queued, 2 when a log whose put failed (it may have
 * landed) waits to be sent again. */
int sync_writer_quiet(struct store *st);
/* fn(st) on the writer thread while the caller goes on (inline when there is no writer);
 * sync_beside_wait returns what it returned. One at a time. */
void sync_beside(struct store *st, int (*fn)(struct store *st));
int sync_beside_wait(struct store *st);
/* Stops the writer, then writes what is still queued (once, here). */
int sync_writer_flush_stop(struct store *st, struct mesh_err *err);
void sync_writer_abandon(struct store *st);   /* stops it; the queue is dropped */

/* sync_snap.c: snapshots beside the base. */
/* The rows of a snapshot as stored (its JSON array, or a reference to its object, fetched and
 * checked): *text xmalloc'd. */
int sync_snap_text(struct store *st, const char *stored, char **text, struct mesh_err *err);
/* Compaction, main thread: each snapshot row of the cache big enough gets a reference to the
 * object its bytes become (queued in sy->snap_up); the names referred to go to sy->snap_keep; an
 * image mostly free pages is vacuumed. */
int sync_snap_externalize(struct store *st, struct mesh_err *err);
/* Writer thread: puts what externalize queued (before the base that refers to them). */
int sync_snap_upload(struct sync *sy, struct mesh_err *err);
/* Writer thread, now and then: deletes the objects no longer in sy->snap_keep (best effort). */
void sync_snap_sweep(struct sync *sy);
void sync_snap_forget(struct sync *sy);   /* frees what the two vecs hold */
/* Pull: every reference of db replaced by its object's rows (a standalone state). */
int sync_snap_inline(sqlite3 *db, const struct remote *r, const char *where, struct mesh_err *err);

/* sync_lease.c: the store_lock family on a remote store, and close. */
/* Renews the lease hb holds on r (hb->ttl from now): valid_until moved on, or hb marked lost when
 * it is no longer hb->run_id's. Any thread: the heartbeats of a run and of a push. */
void sync_renew(struct heartbeat *hb, const struct remote *r);
/* Takes r's lease as want (filled from run_id, command, the TTL), waiting up to timeout_s while
 * another run holds it; *over and held as remote_ops.lease_acquire's. */
int sync_acquire(const struct remote *r, const char *where, const char *run_id, const char *command, double timeout_s,
                 struct remote_lease *want, struct remote_lease *held, int *over, struct mesh_err *err);
/* Gives a lease taken by this process back without compacting: removed when the base is
 * complete, else left expired (a record tells readers to read the logs; see remote.h). */
void sync_give_back(const struct remote *r, const char *run_id, int logs_may_follow);
int sync_lock(struct store *st, const char *run_id, const char *command, double timeout_s,
              struct lock_info *taken_over, int *was_taken_over, struct mesh_err *err);
int sync_unlock(struct store *st, const char *run_id, struct mesh_err *err);
int sync_lease_info(struct store *st, struct lock_info *info, int *held, double *expires, struct mesh_err *err);
int sync_force_unlock(struct store *st, const char *run_id, struct mesh_err *err);
int sync_stale(struct store *st);   /* the log writer met another writer */
int sync_lease_lost(struct store *st, struct mesh_err *err, const char *what);
void sync_mark_lost(struct store *st);
/* Whether the lease is held, not known lost, and renewed within its TTL (hb.mu only). */
int sync_lease_valid(struct store *st);
void sync_close(struct store *st);
/* Tests: what a killed process leaves (no flush, no compaction, no release). */
void sync_abandon(struct store *st);

#endif
