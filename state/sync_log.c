/* sync_log.c: the commit log of a remote store. A SQLite session records what each commit
 * changed (every table but the local lock); after the commit its changeset joins a queue that a
 * writer thread merges and puts as the next log object at least every second. A commit holding a
 * journal intent wakes the writer and waits until its log is on the remote (bounded by
 * MESH_REMOTE_TIMEOUT), so the driver call after it happens only once the intent is durable. A
 * log number already taken means another writer: nothing more is written, the lease is lost. */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"

#define WRITE_PERIOD_S 1.0

static int not_local(void *ctx, const char *table)
{
    (void)ctx;
    return strcmp(table, "lock") != 0 && strncmp(table, "sqlite_", 7) != 0;
}

int sync_session_start(struct store *st, struct mesh_err *err)
{
    sqlite3_session *s = NULL;
    int rc = sqlite3session_create(st->db, "main", &s);
    if (rc == SQLITE_OK) {
        sqlite3session_table_filter(s, not_local, NULL);
        rc = sqlite3session_attach(s, NULL);
    }
    if (rc != SQLITE_OK) {
        if (s) sqlite3session_delete(s);
        return mesh_err_set(err, MESH_ERR, st->sync->where, "cannot record the state's changes: %s",
                            sqlite3_errstr(rc));
    }
    st->sync->session = s;
    return 0;
}

void sync_session_stop(struct store *st)
{
    if (st->sync->session) sqlite3session_delete(st->sync->session);
    st->sync->session = NULL;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the log at h's number is the one we wrote: an earlier try landed, its reply was lost. */
static int log_landed(struct sync *sy, const struct sync_header *h, const unsigned char *blob, size_t len)
{
    struct remote_blob b = {0};
    struct mesh_err e;
    mesh_err_init(&e);
    int same = sy->r->ops->log_get(sy->r->be, h->gen, h->seq, &b, &e) == 0 && b.len == len &&
               memcmp(b.data, blob, len) == 0;
    remote_blob_release(&b);
    return same;
}

/* The next log to put: the one whose put failed, unchanged (its number and bytes: if it landed
 * and only the reply was lost, the retry finds it ours), else everything queued. mu held. */
static int next_log(struct store *st)
{
    struct sync *sy = st->sync;
    if (sy->retry) return 1;
    if (!sy->pending || sy->durable >= sy->queued) return 0;
    int n = 0;
    void *cs = NULL;
    int rc = sqlite3changegroup_output(sy->pending, &n, &cs);
    if (rc != SQLITE_OK) {
        mesh_err_init(&sy->fail);
        mesh_err_set(&sy->fail, MESH_ERR, sy->where, "cannot merge the state's changes: %s", sqlite3_errstr(rc));
        return 0;
    }
    sqlite3changegroup_delete(sy->pending);
    sy->pending = NULL;
    struct sync_header h = {.gen = sy->gen, .seq = sy->seq + 1};
    store_copy(h.lineage, sizeof(h.lineage), st->lineage);
    sy->retry = sync_build(1, &h, cs, (size_t)n, &sy->retry_len);
    sy->retry_seq = h.seq;
    sy->retry_ticket = sy->queued;
    sqlite3_free(cs);
    return 1;
}

/* One log write. mu held on entry and on return (released around the put). 0: written or
 * nothing to write. */
static int write_once(struct store *st)
{
    struct sync *sy = st->sync;
    if (sy->stale) return MESH_ELOCKED;
    if (!sync_lease_valid(st)) return MESH_ELOCKED;   /* the fence refuses the commits; their logs wait */
    if (!next_log(st)) return sy->durable >= sy->queued ? 0 : MESH_ERR;
    struct sync_header h = {.gen = sy->gen, .seq = sy->retry_seq};
    unsigned char *blob = sy->retry;
    size_t len = sy->retry_len;
    sy->putting = 1;
    pthread_mutex_unlock(&sy->mu);

    struct mesh_err e;
    mesh_err_init(&e);
    int rc = sy->r->ops->log_put(sy->r->be, h.gen, h.seq, blob, len, &e);
    if (rc == MESH_ECONFLICT && log_landed(sy, &h, blob, len)) rc = 0;

    pthread_mutex_lock(&sy->mu);
    sy->putting = 0;
    if (rc == 0) {
        sy->seq = h.seq;
        sy->durable = sy->retry_ticket;
        sy->stats.log_puts++;
        sy->stats.bytes_out += (long long)len;
        mesh_err_init(&sy->fail);
    } else if (rc == MESH_ECONFLICT) {
        sy->stale = 1;
        mesh_err_init(&sy->fail);
        mesh_err_set(&sy->fail, MESH_ELOCKED, sy->where, "log %lld/%lld of %s was written by another run: this "
                     "run is no longer the state's only writer (its lease was taken over); it stops here and "
                     "writes nothing more", h.gen, h.seq, sy->where);
    } else {   /* kept for the next tick: the HTTP layer already retried */
        mesh_err_init(&sy->fail);
        mesh_err_copy(&sy->fail, &e, NULL);
    }
    if (rc == 0 || rc == MESH_ECONFLICT) {
        free(sy->retry);
        sy->retry = NULL;
    }
    pthread_cond_broadcast(&sy->done);
    if (rc == MESH_ECONFLICT) {
        pthread_mutex_unlock(&sy->mu);
        sync_mark_lost(st);
        pthread_mutex_lock(&sy->mu);
    }
    return rc;
}

/* The queued chore, run here. mu held on entry and on return. */
static void run_chore(struct store *st)
{
    struct sync *sy = st->sync;
    sy->chore_state = 2;
    pthread_mutex_unlock(&sy->mu);
    int rc = sy->chore(st);
    pthread_mutex_lock(&sy->mu);
    sy->chore_rc = rc;
    sy->chore_state = 3;
    pthread_cond_broadcast(&sy->done);
}

static void *writer_main(void *arg)
{
    struct store *st = arg;
    struct sync *sy = st->sync;
    pthread_mutex_lock(&sy->mu);
    while (!sy->stop) {
        if (!sy->urgent && sy->chore_state != 1) {
            struct timespec ts;
            store_deadline_in(&ts, WRITE_PERIOD_S);
            while (!sy->stop && !sy->urgent && sy->chore_state != 1 &&
                   pthread_cond_timedwait(&sy->wake, &sy->mu, &ts) != ETIMEDOUT) {
            }
        }
        if (sy->chore_state == 1) {
            run_chore(st);
            continue;
        }
        if (sy->stop) break;
        sy->urgent = 0;
        if (!sy->quiet) write_once(st);
    }
    if (sy->chore_state == 1) run_chore(st);   /* queued while the last put was in flight */
    pthread_mutex_unlock(&sy->mu);
    return NULL;
}

void sync_beside(struct store *st, int (*fn)(struct store *st))
{
    struct sync *sy = st->sync;
    pthread_mutex_lock(&sy->mu);
    sy->chore = fn;
    sy->chore_state = 1;
    if (sy->writer_running) pthread_cond_broadcast(&sy->wake);
    else run_chore(st);
    pthread_mutex_unlock(&sy->mu);
}

int sync_beside_wait(struct store *st)
{
    struct sync *sy = st->sync;
    pthread_mutex_lock(&sy->mu);
    while (sy->chore_state == 1 || sy->chore_state == 2) pthread_cond_wait(&sy->done, &sy->mu);
    int rc = sy->chore_rc;
    sy->chore_state = 0;
    pthread_mutex_unlock(&sy->mu);
    return rc;
}

void sync_writer_start(struct store *st)
{
    struct sync *sy = st->sync;
    pthread_mutex_lock(&sy->mu);
    sy->stop = 0;
    sy->stale = 0;
    sy->urgent = 0;
    sy->quiet = 0;
    int running = sy->writer_running;
    pthread_mutex_unlock(&sy->mu);
    if (running) return;
    if (pthread_create(&sy->writer, NULL, writer_main, st) == 0) sy->writer_running = 1;
}

static void writer_stop(struct sync *sy)
{
    if (!sy->writer_running) return;
    pthread_mutex_lock(&sy->mu);
    sy->stop = 1;
    pthread_cond_broadcast(&sy->wake);
    pthread_mutex_unlock(&sy->mu);
    pthread_join(sy->writer, NULL);   /* a chore queued before the stop ran first */
    sy->writer_running = 0;
}

int sync_writer_quiet(struct store *st)
{
    struct sync *sy = st->sync;
    pthread_mutex_lock(&sy->mu);
    sy->quiet = 1;
    while (sy->putting) pthread_cond_wait(&sy->done, &sy->mu);
    int left = sy->retry ? 2 : sy->durable < sy->queued;
    pthread_mutex_unlock(&sy->mu);
    return left;
}

int sync_writer_flush_stop(struct store *st, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    writer_stop(sy);
    pthread_mutex_lock(&sy->mu);
    while (sy->durable < sy->queued && write_once(st) == 0) {
    }
    int rc = 0;
    if (sy->durable < sy->queued)
        rc = mesh_err_set(err, sy->stale ? MESH_ELOCKED : MESH_ERR, sy->where, "the last changes of this run "
                          "could not reach %s (%s); the state there stops before them",
                          sy->where, sy->fail.msg[0] ? sy->fail.msg : "the lease is no longer valid");
    pthread_mutex_unlock(&sy->mu);
    return rc;
}

void sync_writer_abandon(struct store *st)
{
    struct sync *sy = st->sync;
    writer_stop(sy);
    if (sy->pending) sqlite3changegroup_delete(sy->pending);
    sy->pending = NULL;
    free(sy->retry);
    sy->retry = NULL;
    sy->durable = sy->queued;
}

/* Waits (bounded) until the log holding ticket is on the remote. */
static int wait_durable(struct store *st, long long ticket, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    double limit = sync_remote_timeout();
    double until = mono_now() + limit;
    pthread_mutex_lock(&sy->mu);
    sy->urgent = 1;
    pthread_cond_broadcast(&sy->wake);
    while (sy->durable < ticket && !sy->stale && sy->writer_running && mono_now() < until) {
        struct timespec ts;
        store_deadline_in(&ts, until - mono_now() > 0.2 ? 0.2 : until - mono_now());
        pthread_cond_timedwait(&sy->done, &sy->mu, &ts);
    }
    int rc = 0;
    if (sy->durable < ticket && sy->stale)
        rc = mesh_err_copy(err, &sy->fail, NULL);
    else if (sy->durable < ticket)
        rc = mesh_err_set(err, MESH_ERR, sy->where, "the journal could not reach %s within %g s (%s): no call "
                          "was made. The run stops; run again once %s is reachable", sy->where, limit,
                          sy->fail.msg[0] ? sy->fail.msg : "no reply", sy->where);
    pthread_mutex_unlock(&sy->mu);
    return rc;
}

int sync_committed(struct store *st, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    int intent = sy->intent;
    sy->intent = 0;
    if (sy->applying) return 0;
    if (!sy->session)   /* an earlier restart failed: these changes cannot reach the remote */
        return mesh_err_set(err, MESH_ERR, sy->where, "cannot record the state's changes for %s; this run "
                            "stops", sy->where);
    if (sqlite3session_isempty(sy->session)) return 0;
    int n = 0;
    void *cs = NULL;
    int rc = sqlite3session_changeset(sy->session, &n, &cs);
    sync_session_stop(st);
    if (rc == SQLITE_OK) rc = sync_session_start(st, err) ? SQLITE_ERROR : SQLITE_OK;
    if (rc != SQLITE_OK) {
        sqlite3_free(cs);
        return mesh_err_set(err, MESH_ERR, sy->where, "cannot record the state's changes for %s", sy->where);
    }
    if (n == 0) {   /* what was recorded was rolled back */
        sqlite3_free(cs);
        return 0;
    }
    pthread_mutex_lock(&sy->mu);
    if (!sy->pending) sqlite3changegroup_new(&sy->pending);
    sqlite3changegroup_add(sy->pending, n, cs);
    long long ticket = ++sy->queued;
    pthread_mutex_unlock(&sy->mu);
    sqlite3_free(cs);
    return intent ? wait_durable(st, ticket, err) : 0;
}

int sync_fence(void *arg)
{
    struct store *st = arg;
    if (st->sync->applying) return 0;
    return sync_lease_valid(st) && !sync_stale(st) ? 0 : 1;
}
