/* lock.c: the lock lease. One row in the lock table names the run holding the state (run id,
 * user@host, pid and its start time, command, acquired, expires). store_lock takes it inside
 * BEGIN IMMEDIATE, waiting up to a timeout for a live holder and taking over a lease whose
 * process is gone (same host) or which expired. While held, a heartbeat thread with its own
 * SQLite connection pushes the expiry forward every TTL/3, so a lease dies with its process.
 * A holder that lost its lease (suspended past it, then taken over) writes nothing more: a commit
 * hook refuses every transaction unless the lock row still names its run, and store_lock_check
 * (before every driver call) renews a late lease on the spot, which tells whether it is ours. */
#include "store_int.h"
#include "sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TTL 30.0
#define POLL_MS 150

double store_lease_ttl(void)
{
    const char *e = getenv("MESH_LOCK_TTL");
    double ttl = e && *e ? strtod(e, NULL) : 0;
    return ttl > 0 ? ttl : DEFAULT_TTL;
}

#define errcode(err) STORE_ERRCODE(err)

int store_lock_read(struct store *st, struct lock_info *info, int *held, long long *pid_start,
                    double *expires, struct mesh_err *err)
{
    memset(info, 0, sizeof(*info));
    *held = 0;
    if (pid_start) *pid_start = 0;
    if (st->sync) return sync_lease_info(st, info, held, expires, err);
    sqlite3_stmt *s = store_stmt(st, Q_LOCK_READ, err);
    if (!s) return errcode(err);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *held = 1;
        store_copy(info->run_id, sizeof(info->run_id), (const char *)sqlite3_column_text(s, 0));
        store_copy(info->holder, sizeof(info->holder), (const char *)sqlite3_column_text(s, 1));
        store_copy(info->host, sizeof(info->host), (const char *)sqlite3_column_text(s, 2));
        info->pid = sqlite3_column_int64(s, 3);
        if (pid_start) *pid_start = sqlite3_column_int64(s, 4);
        store_copy(info->command, sizeof(info->command), (const char *)sqlite3_column_text(s, 5));
        info->acquired = (long long)sqlite3_column_double(s, 6);
        if (expires) *expires = sqlite3_column_double(s, 7);
        info->expires = (long long)sqlite3_column_double(s, 7);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return mesh_err_set(err, MESH_ERR, st->path, "the state has no lock row (damaged schema)");
    if (rc != SQLITE_ROW) return store_sqlerr(st, rc, err, "reading the lock");
    return 0;
}

/* ---- heartbeat and fence ---- */

void store_heartbeat_init(struct heartbeat *hb)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hb->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&hb->mu, NULL);
    pthread_mutex_init(&hb->db_mu, NULL);
}

void store_heartbeat_destroy(struct heartbeat *hb)
{
    pthread_mutex_destroy(&hb->mu);
    pthread_mutex_destroy(&hb->db_mu);
    pthread_cond_destroy(&hb->cv);
}

void store_deadline_in(struct timespec *ts, double s)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    long long ns = (long long)ts->tv_nsec + (long long)(s * 1e9);
    ts->tv_sec += (time_t)(ns / 1000000000LL);
    ts->tv_nsec = (long)(ns % 1000000000LL);
}

void store_heartbeat_mark_lost(struct heartbeat *hb)
{
    pthread_mutex_lock(&hb->mu);
    hb->lost = 1;
    pthread_cond_signal(&hb->cv);   /* the heartbeat stops with the lease */
    pthread_mutex_unlock(&hb->mu);
}

/* Pushes our lease's expiry forward, if the lease is still ours. Any thread. */
static void lease_renew(struct heartbeat *hb)
{
    pthread_mutex_lock(&hb->db_mu);
    if (!hb->renew) {   /* the heartbeat was stopped: nothing to renew with */
        pthread_mutex_unlock(&hb->db_mu);
        return;
    }
    double until = store_now() + hb->ttl;
    sqlite3_bind_double(hb->renew, 1, until);
    sqlite3_bind_text(hb->renew, 2, hb->run_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(hb->renew);
    int gone = rc == SQLITE_DONE && sqlite3_changes(hb->db) == 0;
    sqlite3_reset(hb->renew);
    pthread_mutex_unlock(&hb->db_mu);
    if (gone) {
        store_heartbeat_mark_lost(hb);
    } else if (rc == SQLITE_DONE) {
        pthread_mutex_lock(&hb->mu);
        if (until > hb->valid_until) hb->valid_until = until;
        pthread_mutex_unlock(&hb->mu);
    }
    /* busy or I/O error: not renewed this time; valid_until tells how long that is safe */
}

static void local_renew(void *ctx)
{
    lease_renew(ctx);
}

void *store_heartbeat_main(void *arg)
{
    struct heartbeat *hb = arg;
    pthread_mutex_lock(&hb->mu);
    while (!hb->stop && !hb->lost) {
        struct timespec ts;
        store_deadline_in(&ts, hb->ttl / 3);
        while (!hb->stop && !hb->lost && pthread_cond_timedwait(&hb->cv, &hb->mu, &ts) != ETIMEDOUT) {
        }
        if (hb->stop || hb->lost) break;
        pthread_mutex_unlock(&hb->mu);
        hb->renew_cb(hb->renew_ctx);
        pthread_mutex_lock(&hb->mu);
    }
    pthread_mutex_unlock(&hb->mu);
    return NULL;
}

/* The commit hook of the store's connection: a transaction commits only while the lock row names
 * our run. It runs while our connection holds SQLite's write lock, so nobody can take the lease
 * over between this read and the commit. Non-zero turns the commit into a rollback. */
static int fence_hook(void *arg)
{
    struct store *st = arg;
    struct heartbeat *hb = &st->hb;
    if (!hb->run_id[0] || !hb->fence) return 0;
    int rc = sqlite3_step(hb->fence);
    const char *holder = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(hb->fence, 0) : NULL;
    int ours = holder && strcmp(holder, hb->run_id) == 0;
    sqlite3_reset(hb->fence);
    if (ours) return 0;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) store_heartbeat_mark_lost(hb);
    return 1;   /* not ours, or cannot tell: refuse rather than write without the lease */
}

static void lease_conns_close(struct heartbeat *hb)
{
    sqlite3_finalize(hb->renew);
    sqlite3_finalize(hb->holder);
    sqlite3_finalize(hb->fence);
    sqlite3_close(hb->db);
    sqlite3_close(hb->fence_db);
    hb->renew = hb->holder = hb->fence = NULL;
    hb->db = hb->fence_db = NULL;
}

static int lease_conns_open(struct store *st, struct heartbeat *hb, struct mesh_err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(st->path, &hb->db, flags, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_open_v2(st->path, &hb->fence_db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(hb->db, (int)(hb->ttl * 1000 / 6) + 1);
        sqlite3_busy_timeout(hb->fence_db, 2000);
        sqlite3_exec(hb->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
        rc = sqlite3_prepare_v2(hb->db, "UPDATE lock SET expires = ?1 WHERE id = 1 AND run_id = ?2", -1,
                                &hb->renew, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(hb->db, "SELECT run_id, holder, pid, command FROM lock WHERE id = 1", -1,
                                &hb->holder, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(hb->fence_db, "SELECT run_id FROM lock WHERE id = 1", -1, &hb->fence, NULL);
    if (rc == SQLITE_OK) return 0;
    mesh_err_set(err, MESH_ERR, st->path, "cannot open the lock lease's connections: %s",
                 hb->db ? sqlite3_errmsg(hb->db) : sqlite3_errstr(rc));
    lease_conns_close(hb);
    return MESH_ERR;
}

static int heartbeat_start(struct store *st, const char *run_id, double ttl, double expires,
                           struct mesh_err *err)
{
    struct heartbeat *hb = &st->hb;
    store_heartbeat_arm(hb, run_id, ttl, expires);
    int rc = lease_conns_open(st, hb, err);
    if (rc) return rc;
    int e = store_heartbeat_spawn(hb, local_renew, hb);
    if (e) {
        lease_conns_close(hb);
        return mesh_err_set(err, MESH_ERR, st->path, "cannot start the lock heartbeat: %s", strerror(e));
    }
    sqlite3_commit_hook(st->db, fence_hook, st);
    return 0;
}

void store_heartbeat_arm(struct heartbeat *hb, const char *run_id, double ttl, double valid_until)
{
    store_copy(hb->run_id, sizeof(hb->run_id), run_id);
    hb->ttl = ttl;
    hb->stop = 0;
    hb->lost = 0;
    hb->valid_until = valid_until;
}

int store_heartbeat_spawn(struct heartbeat *hb, void (*renew_cb)(void *ctx), void *ctx)
{
    hb->renew_cb = renew_cb;
    hb->renew_ctx = ctx;
    int e = pthread_create(&hb->thread, NULL, store_heartbeat_main, hb);
    if (e) return e;
    pthread_mutex_lock(&hb->mu);
    hb->running = 1;
    pthread_mutex_unlock(&hb->mu);
    return 0;
}

void store_heartbeat_join(struct heartbeat *hb)
{
    if (!hb->running) return;
    pthread_mutex_lock(&hb->mu);
    hb->stop = 1;
    pthread_cond_signal(&hb->cv);
    pthread_mutex_unlock(&hb->mu);
    pthread_join(hb->thread, NULL);
    pthread_mutex_lock(&hb->mu);
    hb->running = 0;
    pthread_mutex_unlock(&hb->mu);
}

void store_heartbeat_stop(struct store *st)
{
    struct heartbeat *hb = &st->hb;
    if (!hb->running) return;
    if (st->db) sqlite3_commit_hook(st->db, NULL, NULL);
    store_heartbeat_join(hb);
    pthread_mutex_lock(&hb->db_mu);
    lease_conns_close(hb);
    pthread_mutex_unlock(&hb->db_mu);
}

/* ---- taking and releasing ---- */

void store_format_holder(const struct lock_info *li, char *buf, size_t n)
{
    char since[64] = "unknown time";
    time_t t = (time_t)li->acquired;
    struct tm tm;
    if (t > 0 && gmtime_r(&t, &tm)) strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S UTC", &tm);
    const char *mesh = strncmp(li->command, "mesh", 4) == 0 ? "" : "mesh ";
    snprintf(buf, n, "run %s (%s, pid %lld, `%s%s`, since %s)", li->run_id, li->holder, li->pid, mesh,
             li->command, since);
}

static int lease_alive(const struct lock_info *li, long long pid_start, double expires)
{
    if (expires <= store_now()) return 0;
    if (strcmp(li->host, store_hostname()) == 0) return store_pid_alive(li->pid, pid_start);
    return 1;
}

static int write_lease(struct store *st, const char *run_id, const char *command, double ttl,
                       double *expires, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_LOCK_WRITE, err);
    if (!s) return errcode(err);
    char holder[128];
    store_user_at_host(holder, sizeof(holder));
    double now = store_now();
    pid_t pid = getpid();
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, holder, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, store_hostname(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, pid);
    sqlite3_bind_int64(s, 5, store_pid_start(pid));
    sqlite3_bind_text(s, 6, command ? command : "", -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 7, now);
    sqlite3_bind_double(s, 8, now + ttl);
    *expires = now + ttl;
    int rc = store_exec_stmt(st, s, err, "writing the lock");
    sqlite3_clear_bindings(s);
    return rc;
}

enum attempt { TAKEN, BUSY_HOLDER };

/* One try inside BEGIN IMMEDIATE. Fills cur with the holder seen. */
static int try_lock(struct store *st, const char *run_id, const char *command, double ttl,
                    struct lock_info *cur, int *taken_over, enum attempt *out, double *until,
                    struct mesh_err *err)
{
    int rc = store_exec(st, "BEGIN IMMEDIATE", err, "taking the lock");
    if (rc) return rc;
    int held = 0;
    long long pid_start = 0;
    double expires = 0;
    rc = store_lock_read(st, cur, &held, &pid_start, &expires, err);
    *out = TAKEN;
    *taken_over = 0;
    if (rc == 0 && held) {
        int mine = strcmp(cur->run_id, run_id) == 0 && cur->pid == getpid() &&
                   strcmp(cur->host, store_hostname()) == 0;
        if (!mine && lease_alive(cur, pid_start, expires))
            *out = BUSY_HOLDER;
        else if (!mine)
            *taken_over = 1;
    }
    if (rc == 0 && *out == TAKEN) rc = write_lease(st, run_id, command, ttl, until, err);
    if (rc == 0 && *out == TAKEN) return store_exec(st, "COMMIT", err, "taking the lock");
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_lock(struct store *st, const char *run_id, const char *command, double timeout_s,
               struct lock_info *taken_over, int *was_taken_over, struct mesh_err *err)
{
    if (was_taken_over) *was_taken_over = 0;
    if (!run_id || !*run_id || strlen(run_id) >= sizeof(st->hb.run_id))
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_lock: bad run id");
    if (st->in_tx)
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_lock: not inside a group commit");
    if (st->sync) return sync_lock(st, run_id, command, timeout_s, taken_over, was_taken_over, err);
    if (st->hb.running && strcmp(st->hb.run_id, run_id) != 0)
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_lock: this store already holds the "
                            "lease for run %s", st->hb.run_id);
    double ttl = store_lease_ttl();
    double deadline = store_now() + (timeout_s > 0 ? timeout_s : 0);
    struct lock_info cur;
    for (;;) {
        enum attempt res;
        int over = 0;
        double until = 0;
        int rc = try_lock(st, run_id, command, ttl, &cur, &over, &res, &until, err);
        if (rc) return rc;
        if (res == TAKEN) {
            if (over && taken_over) *taken_over = cur;
            if (was_taken_over) *was_taken_over = over;
            if (!st->hb.running) return heartbeat_start(st, run_id, ttl, until, err);
            pthread_mutex_lock(&st->hb.mu);   /* renewed our own lease */
            st->hb.valid_until = until;
            pthread_mutex_unlock(&st->hb.mu);
            return 0;
        }
        double now = store_now();
        if (now >= deadline) break;
        double wait = deadline - now < POLL_MS / 1000.0 ? deadline - now : POLL_MS / 1000.0;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
    char who[512];
    store_format_holder(&cur, who, sizeof(who));
    return mesh_err_set(err, MESH_ELOCKED, st->path,
                        "state is locked by %s; wait for it, use --lock-timeout, or "
                        "`mesh force-unlock %s` if that run is gone", who, cur.run_id);
}

static int clear_lease(struct store *st, const char *run_id, int *cleared, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_LOCK_CLEAR, err);
    if (!s) return errcode(err);
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    int rc = store_exec_stmt(st, s, err, "releasing the lock");
    *cleared = rc == 0 && sqlite3_changes(st->db) > 0;
    return rc;
}

int store_unlock(struct store *st, const char *run_id, struct mesh_err *err)
{
    if (st->sync) return sync_unlock(st, run_id, err);
    if (strcmp(st->hb.run_id, run_id) == 0) {
        store_heartbeat_stop(st);
        st->hb.run_id[0] = 0;
    }
    int cleared = 0;
    int rc = clear_lease(st, run_id, &cleared, err);
    if (rc == 0 && !cleared)
        rc = mesh_err_set(err, MESH_ECONFLICT, st->path, "the lock was no longer held by run %s "
                          "(it was taken over or force-unlocked)", run_id);
    return rc;
}

/* Who holds the lock now, for the message of a run that lost it. Any thread. */
static void describe_holder_now(struct heartbeat *hb, char *buf, size_t n)
{
    store_copy(buf, n, "nobody holds it now");
    pthread_mutex_lock(&hb->db_mu);
    if (hb->holder && sqlite3_step(hb->holder) == SQLITE_ROW && sqlite3_column_text(hb->holder, 0)) {
        const char *cmd = (const char *)sqlite3_column_text(hb->holder, 3);
        snprintf(buf, n, "run %s (%s, pid %lld, `mesh %s`) holds it now",
                 (const char *)sqlite3_column_text(hb->holder, 0),
                 sqlite3_column_text(hb->holder, 1) ? (const char *)sqlite3_column_text(hb->holder, 1) : "?",
                 (long long)sqlite3_column_int64(hb->holder, 2), cmd ? cmd : "?");
    }
    if (hb->holder) sqlite3_reset(hb->holder);
    pthread_mutex_unlock(&hb->db_mu);
}

static int lost_err(struct store *st, struct mesh_err *err, const char *what)
{
    char now[512];
    describe_holder_now(&st->hb, now, sizeof(now));
    return mesh_err_set(err, MESH_ELOCKED, st->path,
                        "%s%srun %s lost the state lock: another run took it over after its %g s lease "
                        "ran out (was this process suspended?), or it was force-unlocked; %s. This run "
                        "stops here and writes nothing more; run `mesh plan` to see where state stands",
                        what ? what : "", what ? ": " : "", st->hb.run_id, st->hb.ttl, now);
}

int store_lease_lost(struct store *st, struct mesh_err *err, const char *what)
{
    if (st->sync) return sync_lease_lost(st, err, what);
    pthread_mutex_lock(&st->hb.mu);
    int lost = st->hb.lost;
    pthread_mutex_unlock(&st->hb.mu);
    if (lost) return lost_err(st, err, what);
    return mesh_err_set(err, MESH_ELOCKED, st->path, "%s: cannot confirm that run %s still holds the state "
                        "lock; nothing was written", what, st->hb.run_id);
}

/* Thread-safe: the workers call it before every driver call. While valid_until is comfortably
 * ahead nobody can have taken the lease over; closer than half a lease (the heartbeat is late:
 * the process was suspended, or starved), renew it now, which also tells whether it is ours. */
int store_lock_check(struct store *st, struct mesh_err *err)
{
    struct heartbeat *hb = &st->hb;
    pthread_mutex_lock(&hb->mu);
    int running = hb->running, lost = hb->lost;
    double until = hb->valid_until;
    pthread_mutex_unlock(&hb->mu);
    if (!running) return 0;
    int stale = st->sync && sync_stale(st);   /* a remote store's log writer met another writer */
    if (!lost && !stale && store_now() > until - hb->ttl / 2) {
        hb->renew_cb(hb->renew_ctx);
        pthread_mutex_lock(&hb->mu);
        lost = hb->lost;
        until = hb->valid_until;
        pthread_mutex_unlock(&hb->mu);
        if (!lost && store_now() >= until)
            return mesh_err_set(err, MESH_ELOCKED, store_where(st), "run %s could not renew its expired lease "
                                "on %s; it stops here and writes nothing more", hb->run_id,
                                st->sync ? store_where(st) : "the state lock");
    }
    if (lost || stale) return st->sync ? sync_lease_lost(st, err, NULL) : lost_err(st, err, NULL);
    return 0;
}

int store_lock_info(struct store *st, struct lock_info *info, int *held, struct mesh_err *err)
{
    return store_lock_read(st, info, held, NULL, NULL, err);
}

int store_force_unlock(struct store *st, const char *run_id, struct mesh_err *err)
{
    if (st->sync) return sync_force_unlock(st, run_id, err);
    int rc = store_exec(st, "BEGIN IMMEDIATE", err, "force-unlocking");
    if (rc) return rc;
    struct lock_info cur;
    int held = 0, cleared = 0;
    rc = store_lock_read(st, &cur, &held, NULL, NULL, err);
    if (rc == 0 && !held) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, st->path, "the state is not locked; nothing to unlock");
    } else if (rc == 0 && strcmp(cur.run_id, run_id) != 0) {
        char who[512];
        store_format_holder(&cur, who, sizeof(who));
        rc = mesh_err_set(err, MESH_ECONFLICT, st->path, "the state is locked by %s, not by run %s; "
                          "nothing unlocked", who, run_id);
    }
    if (rc == 0) rc = clear_lease(st, run_id, &cleared, err);
    if (rc == 0) rc = store_exec(st, "COMMIT", err, "force-unlocking");
    if (rc) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (strcmp(st->hb.run_id, run_id) == 0) {   /* our own lease: stop renewing it */
        store_heartbeat_stop(st);
        st->hb.run_id[0] = 0;
    }
    return 0;
}
