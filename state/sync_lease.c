/* sync_lease.c: the lock of a remote store is the remote's lease (remote.h), with the local
 * lease's words and rules: a live holder is named, an expired one taken over and said so, a
 * heartbeat renews it every TTL/3, and commits stop once it is lost or its last renewal is older
 * than the TTL. Taking it brings the cache up to date (new logs, or a new base written by another
 * machine); releasing it first makes the state whole on the remote (the queue flushed, then the
 * whole image as the next generation's base, older logs dropped). */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/xalloc.h"

#define POLL_S 1.0

void sync_lock_info_from(struct lock_info *li, const struct remote_lease *l)
{
    memset(li, 0, sizeof(*li));
    store_copy(li->run_id, sizeof(li->run_id), l->run_id);
    store_copy(li->holder, sizeof(li->holder), l->holder);
    store_copy(li->host, sizeof(li->host), l->host);
    li->pid = l->pid;
    store_copy(li->command, sizeof(li->command), l->command);
    li->acquired = l->acquired;
    li->expires = l->expires;
}

int sync_lease_valid(struct store *st)
{
    struct heartbeat *hb = &st->hb;
    pthread_mutex_lock(&hb->mu);
    int ok = hb->running && !hb->lost && store_now() < hb->valid_until;
    pthread_mutex_unlock(&hb->mu);
    return ok;
}

void sync_mark_lost(struct store *st)
{
    store_heartbeat_mark_lost(&st->hb);
}

/* ---- heartbeat ---- */

void sync_renew(struct heartbeat *hb, const struct remote *r)
{
    double now = store_now();
    long long until = (long long)(now + hb->ttl);
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = r->ops->lease_renew(r->be, hb->run_id, until, &e);
    if (rc == MESH_ELOCKED) {
        store_heartbeat_mark_lost(hb);
    } else if (rc == 0) {
        pthread_mutex_lock(&hb->mu);
        if ((double)until > hb->valid_until) hb->valid_until = (double)until;
        pthread_mutex_unlock(&hb->mu);
    }
    /* unreachable: not renewed this time; valid_until tells how long that is safe */
}

/* Renews our lease; any thread. */
static void renew(struct store *st)
{
    sync_renew(&st->hb, st->sync->r);
}

static void renew_cb(void *ctx)
{
    renew(ctx);
}

static int heartbeat_start(struct store *st, const char *run_id, double ttl, double until, struct mesh_err *err)
{
    store_heartbeat_arm(&st->hb, run_id, ttl, until);
    int e = store_heartbeat_spawn(&st->hb, renew_cb, st);
    if (e) return mesh_err_set(err, MESH_ERR, st->sync->where, "cannot start the lease heartbeat: %s", strerror(e));
    return 0;
}

static void heartbeat_stop(struct store *st)
{
    store_heartbeat_join(&st->hb);
    st->hb.run_id[0] = 0;
}

/* ---- catching up ---- */

/* The state of a newer base replaces the cache's, in the open connection. */
static int reload(struct store *st, sqlite3 *mem, const struct sync_header *h, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    if (strcmp(h->lineage, st->lineage) != 0)
        return mesh_err_set(err, MESH_ECONFLICT, sy->where, "%s now holds another state (lineage %s; this run "
                            "opened lineage %s): it was replaced by a push; run again", sy->where, h->lineage,
                            st->lineage);
    sqlite3_backup *b = sqlite3_backup_init(st->db, "main", mem, "main");
    int rc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b) sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return mesh_err_set(err, MESH_ERR, sy->where, "cannot load the state written at %s into %s: %s", sy->where,
                            st->path, sqlite3_errmsg(st->db));
    return 0;
}

/* What was written since open: the logs after ours, or a whole new base (another machine's run
 * ended, or a push). One GET of the base, then its logs. */
static int catch_up(struct store *st, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    sqlite3 *mem = NULL;
    struct sync_header h;
    long long seq = 0;
    char etag[REMOTE_ETAG_MAX] = "";
    /* Conditional on the base we opened: unchanged, it is not downloaded again. */
    int rc = sync_load_changed(sy->r, sy->where, sy->etag, 0, &mem, &h, &seq, etag, err);
    sy->stats.gets++;
    if (rc == MESH_ENOTFOUND)
        return mesh_err_set(err, MESH_ERR, sy->where, "the state at %s is gone (its base was deleted since this "
                            "run opened it); nothing written", sy->where);
    int same = rc == REMOTE_UNCHANGED;
    if (rc && !same) return rc;
    sy->applying = 1;
    sqlite3session_enable(sy->session, 0);
    long long before = sy->seq;
    if (same || (strcmp(etag, sy->etag) == 0 && h.gen == sy->gen)) {
        sqlite3_close(mem);   /* same base: only the logs after ours */
        rc = sync_apply_logs(st->db, sy->r, sy->where, st->lineage, sy->gen, &sy->seq, err);
        sy->stats.gets += sy->seq - before + 1;
    } else {
        rc = sync_apply_logs(mem, sy->r, sy->where, h.lineage, h.gen, &seq, err);
        sy->stats.gets += seq + 1;
        if (rc == 0) rc = reload(st, mem, &h, err);
        sqlite3_close(mem);
        /* a base another version of mesh wrote since this run opened (and migrated) its own */
        if (rc == 0 && sync_db_schema(st->db) != STORE_SCHEMA_VERSION)
            rc = mesh_err_set(err, MESH_ECONFLICT, sy->where, "%s was rewritten by another version of mesh (state "
                              "schema %lld; this mesh: %d) since this run opened it: nothing written; run again%s",
                              sy->where, sync_db_schema(st->db), STORE_SCHEMA_VERSION,
                              sync_db_schema(st->db) > STORE_SCHEMA_VERSION ? " with a mesh as new" : "");
        if (rc == 0) {
            sy->gen = h.gen;
            sy->seq = seq;
            store_copy(sy->etag, sizeof(sy->etag), etag);
        }
    }
    sqlite3session_enable(sy->session, 1);
    sy->applying = 0;
    if (rc == 0) {   /* what the catch-up wrote is the remote's already */
        sync_session_stop(st);
        rc = sync_session_start(st, err);
    }
    return rc;
}

/* base_put, taking a refusal for success when the base is the one we wrote (an earlier try
 * landed and its reply was lost). */
static int put_base(struct sync *sy, const unsigned char *blob, size_t len, const char *if_match, struct mesh_err *e)
{
    char etag[REMOTE_ETAG_MAX] = "";
    int rc = sy->r->ops->base_put(sy->r->be, blob, len, if_match, etag, e);
    if (rc == MESH_ECONFLICT) {
        struct remote_blob b = {0};
        struct mesh_err ge;
        mesh_err_init(&ge);
        if (sy->r->ops->base_get(sy->r->be, &b, &ge) == 0 && b.len == len && memcmp(b.data, blob, len) == 0) {
            rc = 0;
            store_copy(etag, sizeof(etag), b.etag);
        }
        remote_blob_release(&b);
    }
    if (rc == 0) {
        store_copy(sy->etag, sizeof(sy->etag), etag);
        sy->stats.base_puts++;
        sy->stats.bytes_out += (long long)len;
    }
    return rc;
}

/* A new state: its first base, only if nobody wrote one meanwhile. */
static int create_base(struct store *st, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    struct sync_header h = {.serial = store_serial(st), .gen = 1};
    store_copy(h.lineage, sizeof(h.lineage), st->lineage);
    size_t len = 0;
    unsigned char *blob = sync_image_blob(st->db, &h, &len, sy->where, err);
    if (!blob) return STORE_ERRCODE(err);
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = put_base(sy, blob, len, NULL, &e);
    free(blob);
    if (rc == MESH_ECONFLICT)
        return mesh_err_set(err, MESH_ECONFLICT, sy->where, "another machine created this state first at %s: "
                            "run again (this run wrote nothing there)", sy->where);
    if (rc) return mesh_err_copy(err, &e, NULL);
    sy->gen = 1;
    sy->seq = 0;
    return 0;
}

/* ---- lock, unlock ---- */

static int locked_err(const char *where, const struct remote_lease *held, struct mesh_err *err)
{
    struct lock_info li;
    char who[512];
    sync_lock_info_from(&li, held);
    store_format_holder(&li, who, sizeof(who));
    return mesh_err_set(err, MESH_ELOCKED, where, "state is locked by %s; wait for it, use "
                        "--lock-timeout, or `mesh force-unlock %s` if that run is gone", who, held->run_id);
}

void sync_give_back(const struct remote *r, const char *run_id, int logs_may_follow)
{
    struct mesh_err e;
    mesh_err_init(&e);
    if (logs_may_follow) r->ops->lease_renew(r->be, run_id, (long long)store_now() - 1, &e);
    else r->ops->lease_release(r->be, run_id, &e);
}

int sync_acquire(const struct remote *r, const char *where, const char *run_id, const char *command, double timeout_s,
                 struct remote_lease *want, struct remote_lease *held, int *over, struct mesh_err *err)
{
    double ttl = store_lease_ttl();
    double deadline = store_now() + (timeout_s > 0 ? timeout_s : 0);
    for (;;) {
        sync_want_lease(want, run_id, command ? command : "", ttl);
        struct mesh_err e;
        mesh_err_init(&e);
        memset(held, 0, sizeof(*held));
        *over = 0;
        int rc = r->ops->lease_acquire(r->be, want, held, over, &e);
        if (rc == 0) return 0;
        if (rc != MESH_ELOCKED) return mesh_err_copy(err, &e, NULL);
        double now = store_now();
        if (now >= deadline) return locked_err(where, held, err);
        double wait = deadline - now < POLL_S ? deadline - now : POLL_S;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int compact(struct store *st, struct mesh_err *err, int *dropping);

int sync_lock(struct store *st, const char *run_id, const char *command, double timeout_s,
              struct lock_info *taken_over, int *was_taken_over, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    if (st->hb.running) {
        if (strcmp(st->hb.run_id, run_id) != 0)
            return mesh_err_set(err, MESH_EINVAL, sy->where, "store_lock: this store already holds the lease "
                                "for run %s", st->hb.run_id);
        renew(st);   /* our own again: a renewal */
        return store_lock_check(st, err);
    }
    sy->lease_cached = 0;   /* from here on the lease changes: ask the remote */
    struct remote_lease want, held;
    int over = 0, rc;
    /* Taken at open, right before the state was read: nothing to catch up with. */
    int pre = sy->pre.taken;
    if (pre) {
        sy->pre.taken = 0;
        if (strcmp(sy->pre.want.run_id, run_id) != 0) {
            sync_give_back(sy->r, sy->pre.want.run_id, sy->pre.over || sy->seq > 0);
            return mesh_err_set(err, MESH_EINVAL, sy->where, "store_lock: the lease was taken at open for run %s",
                                sy->pre.want.run_id);
        }
        want = sy->pre.want;
        held = sy->pre.held;
        over = sy->pre.over;
    } else if ((rc = sync_acquire(sy->r, sy->where, run_id, command, timeout_s, &want, &held, &over, err)) != 0) {
        return rc;
    }
    rc = heartbeat_start(st, run_id, store_lease_ttl(), (double)want.expires, err);
    /* A long read since it was taken at open (a large state, a slow link): renewed now, before
     * anything builds on what was read; taken over meanwhile, the run stops here. */
    if (rc == 0 && pre && (double)want.expires - store_now() < store_lease_ttl() * 2 / 3) {
        renew(st);
        if (!sync_lease_valid(st)) rc = sync_lease_lost(st, err, "taking the lock");
    }
    if (rc == 0) rc = sy->gen == 0 ? create_base(st, err) : pre ? 0 : catch_up(st, err);
    /* A base this mesh migrated from an older schema is written anew before any log of ours: a
     * generation's logs are in its base's schema, so every reader applies them as written. */
    if (rc == 0 && sy->migrated && sy->gen > 0) rc = compact(st, err, NULL);
    if (rc == 0) sy->migrated = 0;
    if (rc) {
        heartbeat_stop(st);
        sync_give_back(sy->r, run_id, over || sy->seq > 0);
        return rc;
    }
    mesh_err_init(&sy->fail);
    sync_writer_start(st);
    if (over && taken_over) sync_lock_info_from(taken_over, &held);
    if (was_taken_over) *was_taken_over = over && held.run_id[0];
    return 0;
}

/* A generation in this many lists and drops every older log; the others delete the ones they
 * folded in by key. */
#define LOG_SWEEP_EVERY 16

/* The compaction's requests to S3 that the writer thread makes beside the main thread's: the
 * snapshot objects, then the probe for a log after ours (while the lease is renewed); the drop of
 * the logs folded in, and now and then of snapshot objects no base names (while the lease is
 * released). */
static int probe_chore(struct store *st)
{
    struct sync *sy = st->sync;
    mesh_err_init(&sy->snap_fail);
    sy->snap_rc = sync_snap_upload(sy, &sy->snap_fail);
    struct remote_blob next = {0};
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = sy->r->ops->log_get(sy->r->be, sy->chore_gen, sy->chore_seq + 1, &next, &e);
    remote_blob_release(&next);
    return rc;
}

static int drop_chore(struct store *st)
{
    struct sync *sy = st->sync;
    struct mesh_err e;
    mesh_err_init(&e);
    /* Best effort: older generations are never read. The logs just folded in are known; a listing
     * now and then also sweeps what an earlier drop failed to remove. */
    if (sy->r->ops->log_delete && sy->gen % LOG_SWEEP_EVERY != 0) {
        sy->r->ops->log_delete(sy->r->be, sy->chore_gen, sy->chore_seq, &e);
    } else {
        sy->r->ops->log_drop(sy->r->be, sy->gen, &e);
        sync_snap_sweep(sy);
    }
    return 0;
}

/* The whole state as the next generation's base, then the older logs dropped: beside the caller
 * when dropping is non-NULL (*dropping = 1: sync_beside_wait is the caller's), else here. */
static int compact(struct store *st, struct mesh_err *err, int *dropping)
{
    struct sync *sy = st->sync;
    /* The snapshots still inside the state become objects of their own (put by the chore below,
     * before the base that refers to them). */
    int rc = sync_snap_externalize(st, err);
    if (rc) return rc;
    /* Fencing, right before the base is replaced: the lease is ours now (a renewal, not the last
     * heartbeat's word: it may have been force-unlocked and taken since), and nobody wrote a log
     * after ours in this generation. A base written otherwise would hide that writer's logs. */
    sy->chore_gen = sy->gen;
    sy->chore_seq = sy->seq;
    sync_beside(st, probe_chore);
    struct sync_header h = {.serial = store_serial(st), .gen = sy->gen + 1};
    store_copy(h.lineage, sizeof(h.lineage), st->lineage);
    size_t len = 0;
    struct mesh_err e;
    mesh_err_init(&e);
    unsigned char *blob = sync_image_blob(st->db, &h, &len, sy->where, &e);
    renew(st);
    int after = sync_beside_wait(st);
    if (after == 0 || !sync_lease_valid(st) || sync_stale(st)) {
        free(blob);
        return mesh_err_set(err, MESH_ECONFLICT, sy->where, "the lock of %s was taken by another run before this "
                            "run's changes were compacted: not compacted; they are on the remote as logs "
                            "(generation %lld, logs 1-%lld), which that run reads", sy->where, sy->gen, sy->seq);
    }
    if (sy->snap_rc) {
        free(blob);
        return mesh_err_set(err, sy->snap_rc, sy->where, "the state at %s is complete, but could not be compacted "
                            "(writing a snapshot beside it: %s): its %lld logs were kept and the next run reads "
                            "them", sy->where, sy->snap_fail.msg, sy->seq);
    }
    char old[REMOTE_ETAG_MAX];
    store_copy(old, sizeof(old), sy->etag);
    rc = blob ? put_base(sy, blob, len, old, &e) : (e.code ? e.code : MESH_ERR);
    free(blob);
    if (rc == MESH_ECONFLICT)
        return mesh_err_set(err, MESH_ECONFLICT, sy->where, "the base of %s was replaced by someone else during "
                            "this run: not overwritten. This run's changes are in its logs (generation %lld, "
                            "logs 1-%lld)", sy->where, sy->gen, sy->seq);
    if (rc)
        return mesh_err_set(err, rc, sy->where, "the state at %s is complete, but could not be compacted (%s): "
                            "its %lld logs were kept and the next run reads them", sy->where, e.msg, sy->seq);
    sy->chore_gen = sy->gen;
    sy->chore_seq = sy->seq;
    sy->gen = h.gen;
    sy->seq = 0;
    sync_beside(st, drop_chore);
    if (dropping) *dropping = 1;
    else sync_beside_wait(st);
    return 0;
}

int sync_unlock(struct store *st, const char *run_id, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    if (!st->hb.running || strcmp(st->hb.run_id, run_id) != 0) {
        struct mesh_err e;
        mesh_err_init(&e);
        int rc = sy->r->ops->lease_release(sy->r->be, run_id, &e);
        return rc ? mesh_err_copy(err, &e, NULL) : 0;
    }
    struct mesh_err fe;
    mesh_err_init(&fe);
    /* What is queued goes into the compacted base, not into one more log first; a log whose put
     * failed goes out as it was (it may have landed, and the fence would take it for another
     * writer's), and so does the queue when the compaction fails (the next run reads the logs). */
    int left = sync_writer_quiet(st);
    int flushed = left == 2 ? sync_writer_flush_stop(st, &fe) == 0 : 1;
    int valid = sync_lease_valid(st) && !sync_stale(st);
    if (!valid) {
        if (left) flushed = 0;
        sync_writer_abandon(st);
        heartbeat_stop(st);
        return mesh_err_set(err, MESH_ECONFLICT, sy->where, "the lock was no longer held by run %s (it was taken "
                            "over or force-unlocked)%s", run_id, flushed ? "" : "; its last changes did not reach "
                            "the remote");
    }
    int dropping = 0;
    int rc = flushed ? (sy->seq > 0 || left ? compact(st, err, &dropping) : 0) : mesh_err_copy(err, &fe, NULL);
    if (rc && flushed && left) {
        struct mesh_err qe;
        mesh_err_init(&qe);
        sync_writer_flush_stop(st, &qe);
    }
    heartbeat_stop(st);
    struct mesh_err e;
    mesh_err_init(&e);
    int rr;
    if (rc == 0) {
        rr = sy->r->ops->lease_release(sy->r->be, run_id, &e);   /* beside the drop of the old logs */
    } else {
        /* Logs are left for the next run to fold in: a lease record, expired at once, tells
         * readers to read them (no record means the base is complete) and lets anyone take it. */
        rr = sy->r->ops->lease_renew(sy->r->be, run_id, (long long)store_now() - 1, &e);
    }
    if (dropping) sync_beside_wait(st);
    sync_writer_abandon(st);   /* what was queued is in the base, or in logs, or cannot be written */
    if (rc == 0 && rr) rc = mesh_err_copy(err, &e, NULL);
    return rc;
}

int sync_lease_info(struct store *st, struct lock_info *info, int *held, double *expires, struct mesh_err *err)
{
    struct remote_lease l;
    memset(&l, 0, sizeof(l));
    struct mesh_err e;
    mesh_err_init(&e);
    *held = 0;
    int rc = 0;
    if (st->sync->lease_cached) {
        st->sync->lease_cached = 0;
        l = st->sync->lease;
        *held = st->sync->lease_held;
    } else {
        rc = st->sync->r->ops->lease_read(st->sync->r->be, &l, held, &e);
    }
    if (rc) return mesh_err_copy(err, &e, NULL);
    if (*held) sync_lock_info_from(info, &l);
    if (expires) *expires = *held ? (double)l.expires : 0;
    return 0;
}

int sync_force_unlock(struct store *st, const char *run_id, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    sy->lease_cached = 0;   /* what open read of the lease is about to change */
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = sy->r->ops->lease_force_clear(sy->r->be, run_id, &e);
    if (rc == MESH_ENOTFOUND)
        return mesh_err_set(err, MESH_ENOTFOUND, sy->where, "the state is not locked; nothing to unlock");
    if (rc == MESH_ECONFLICT) {
        struct lock_info li;
        int held = 0;
        double expires = 0;
        char who[512] = "another run";
        mesh_err_init(&e);
        if (sync_lease_info(st, &li, &held, &expires, &e) == 0 && held) store_format_holder(&li, who, sizeof(who));
        if (held && expires < store_now())   /* an expired record (a run that died, or force-unlocked) */
            return mesh_err_set(err, MESH_ENOTFOUND, sy->where, "the state is not locked (the lease of run %s "
                                "has expired; the next run takes it over); nothing to unlock", li.run_id);
        return mesh_err_set(err, MESH_ECONFLICT, sy->where, "the state is locked by %s, not by run %s; nothing "
                            "unlocked", who, run_id);
    }
    if (rc) return mesh_err_copy(err, &e, NULL);
    /* The run may have left logs: an expired record in its place tells readers to read them (a
     * plan, before the next run takes it over), under a run ID that run cannot renew. */
    struct remote_lease mark, held;
    char mark_id[sizeof(mark.run_id)];
    snprintf(mark_id, sizeof(mark_id), "%.40s/force-unlocked", run_id);
    sync_want_lease(&mark, mark_id, "force-unlock", 0);
    mark.expires = (long long)store_now() - 1;
    int over = 0;
    mesh_err_init(&e);
    sy->r->ops->lease_acquire(sy->r->be, &mark, &held, &over, &e);   /* taken meanwhile: its holder reads them */
    if (st->hb.running && strcmp(st->hb.run_id, run_id) == 0) {   /* our own lease: stop using it */
        sync_mark_lost(st);
        sync_writer_abandon(st);
        heartbeat_stop(st);
    }
    return 0;
}

static int lost_err(struct store *st, struct mesh_err *err, const char *what)
{
    struct sync *sy = st->sync;
    if (sync_stale(st)) return mesh_err_copy(err, &sy->fail, NULL);
    char now[600] = "nobody holds it now";
    struct lock_info li;
    int held = 0;
    struct mesh_err e;
    mesh_err_init(&e);
    if (sync_lease_info(st, &li, &held, NULL, &e) == 0 && held && strcmp(li.run_id, st->hb.run_id) != 0) {
        char who[512];
        store_format_holder(&li, who, sizeof(who));
        snprintf(now, sizeof(now), "%s holds it now", who);
    }
    return mesh_err_set(err, MESH_ELOCKED, sy->where, "%s%srun %s lost the lease on %s: another run took it over "
                        "after its %g s lease ran out (was this process suspended?), or it was force-unlocked; "
                        "%s. This run stops here and writes nothing more; run `mesh plan` to see where state "
                        "stands", what ? what : "", what ? ": " : "", st->hb.run_id, sy->where, st->hb.ttl, now);
}

int sync_stale(struct store *st)
{
    pthread_mutex_lock(&st->sync->mu);
    int stale = st->sync->stale;
    pthread_mutex_unlock(&st->sync->mu);
    return stale;
}

int sync_lease_lost(struct store *st, struct mesh_err *err, const char *what)
{
    struct sync *sy = st->sync;
    pthread_mutex_lock(&st->hb.mu);
    int running = st->hb.running, lost = st->hb.lost;
    pthread_mutex_unlock(&st->hb.mu);
    if (!running)
        return mesh_err_set(err, MESH_ELOCKED, sy->where, "%s: writing the state at %s needs its lease; this "
                            "process does not hold it (take the lock first); nothing was written",
                            what ? what : "", sy->where);
    if (lost || sync_stale(st)) return lost_err(st, err, what);
    return mesh_err_set(err, MESH_ELOCKED, sy->where, "%s: the lease of run %s on %s could not be renewed in "
                        "time; nothing was written", what, st->hb.run_id, sy->where);
}

static void sync_free(struct store *st)
{
    struct sync *sy = st->sync;
    sync_writer_abandon(st);
    sync_session_stop(st);
    if (st->db) sqlite3_commit_hook(st->db, NULL, NULL);
    crypt_drop_key_source(st->lineage, (void *)sy->r);
    sync_snap_forget(sy);
    pthread_mutex_destroy(&sy->mu);
    pthread_cond_destroy(&sy->wake);
    pthread_cond_destroy(&sy->done);
    free(sy);
    st->sync = NULL;
}

void sync_close(struct store *st)
{
    if (st->sync->pre.taken) {   /* opened to write, then never locked: the lease goes back */
        st->sync->pre.taken = 0;
        sync_give_back(st->sync->r, st->sync->pre.want.run_id, st->sync->pre.over || st->sync->seq > 0);
    }
    if (st->hb.running) {
        char run_id[sizeof(st->hb.run_id)];
        store_copy(run_id, sizeof(run_id), st->hb.run_id);
        struct mesh_err e;
        mesh_err_init(&e);
        sync_unlock(st, run_id, &e);   /* a lease never outlives its store */
    }
    sync_free(st);
}

void sync_abandon(struct store *st)
{
    heartbeat_stop(st);
    sync_free(st);
}
