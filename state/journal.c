/* journal.c: runs and the journal. A run row records who runs (pid, its start time, host) so a
 * later process can tell a live run from one cut off by a crash; the journal gets an intent row
 * before each driver call and an ok/failed row after it, so the intents without a result are
 * exactly the calls whose outcome a crash may have lost. */
#include "store_int.h"
#include "sync_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/xalloc.h"

static const char *const run_statuses[] = {"ok", "failed", "rolled_back", "interrupted", "recovered",
                                           "running", NULL};
static const char *const phases[] = {"intent", "ok", "failed", NULL};

static int one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0) return 1;
    return 0;
}

int store_run_begin(struct store *st, const char *run_id, const char *command, struct mesh_err *err)
{
    if (!run_id || !*run_id)
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_run_begin: empty run id");
    sqlite3_stmt *s = store_stmt(st, Q_RUN_BEGIN, err);
    if (!s) return STORE_ERRCODE(err);
    pid_t pid = getpid();
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, command ? command : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, pid);
    sqlite3_bind_int64(s, 4, store_pid_start(pid));
    sqlite3_bind_text(s, 5, store_hostname(), -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 6, store_now());
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return mesh_err_set(err, MESH_ECONFLICT, st->path, "run %s already exists in the state", run_id);
    if (rc != SQLITE_DONE) return store_sqlerr(st, rc, err, "recording the run");
    return 0;
}

/* The journal of the newest JOURNAL_RUNS_KEPT runs is kept whole (what they did, call by call);
 * older runs that ended ok lose theirs, so the state does not grow with every run: at 10,000
 * resources a run's journal is ~3 MB with its index, and team state moves the whole file at
 * each compaction and open. A run that did not end ok keeps its journal: recovery reads it. */
#define JOURNAL_RUNS_KEPT 3

static int journal_trim(struct store *st, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_JOURNAL_TRIM, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_int(s, 1, JOURNAL_RUNS_KEPT);
    return store_exec_stmt(st, s, err, "pruning the journal of older runs");
}

int store_run_start(struct store *st, const char *run_id, const char *command, struct mesh_err *err)
{
    /* One transaction: a crash can leave no run without its snapshot (recovery rolls back to it). */
    int rc = store_begin(st, err);
    if (rc) return rc;
    rc = store_run_begin(st, run_id, command, err);
    if (!rc) rc = store_snapshot_take(st, run_id, err);
    if (!rc) rc = journal_trim(st, err);
    if (rc) {
        store_rollback(st);
        return rc;
    }
    return store_commit(st, err);
}

int store_run_end(struct store *st, const char *run_id, const char *status, struct mesh_err *err)
{
    if (!one_of(status, run_statuses))
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_run_end: unknown status \"%s\"",
                            status ? status : "(null)");
    sqlite3_stmt *s = store_stmt(st, Q_RUN_END, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 3, store_now());
    int rc = store_exec_stmt(st, s, err, "finishing the run");
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return mesh_err_set(err, MESH_ENOTFOUND, st->path, "no run %s in the state", run_id);
    return rc;
}

/* A run on another host is alive while it holds an unexpired lease. */
static int remote_run_alive(const struct lock_info *li, int held, double expires, const char *run_id)
{
    return held && strcmp(li->run_id, run_id) == 0 && expires > store_now();
}

int store_open_runs(struct store *st, struct vec *run_ids, struct mesh_err *err)
{
    struct lock_info li;
    int held = 0;
    long long lock_start = 0;
    double expires = 0;
    memset(&li, 0, sizeof(li));
    /* Holding the lease, no other run can be alive (below): the lease need not be read (for team
     * state, a request). */
    int rc = st->hb.run_id[0] ? 0 : store_lock_read(st, &li, &held, &lock_start, &expires, err);
    if (rc) return rc;
    sqlite3_stmt *s = store_stmt(st, Q_RUNS_RUNNING, err);
    if (!s) return STORE_ERRCODE(err);
    const char *me = store_hostname();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *run_id = (const char *)sqlite3_column_text(s, 0);
        long long pid = sqlite3_column_int64(s, 1);
        long long start = sqlite3_column_int64(s, 2);
        const char *host = (const char *)sqlite3_column_text(s, 3);
        if (!run_id) continue;   /* a damaged row: nothing to recover it by */
        int alive = host && strcmp(host, me) == 0 ? store_pid_alive(pid, start)
                                                  : remote_run_alive(&li, held, expires, run_id);
        /* While we hold the lease no other run can be running: one still marked so lost its lease
         * (taken over after it ran out, or force-unlocked), even if its process lives on. */
        if (st->hb.run_id[0] && strcmp(run_id, st->hb.run_id) != 0) alive = 0;
        if (!alive) vec_push(run_ids, xstrdup(run_id));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_sqlerr(st, rc, err, "listing open runs");
    return 0;
}

int store_unsure_runs(struct store *st, struct vec *run_ids, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_RUNS_UNSURE, err);
    if (!s) return STORE_ERRCODE(err);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *run_id = (const char *)sqlite3_column_text(s, 0);
        if (run_id) vec_push(run_ids, xstrdup(run_id));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_sqlerr(st, rc, err, "listing runs with unsure creates");
    return 0;
}

static int journal_write(struct store *st, const char *run_id, const char *address, const char *action,
                         const char *phase, const char *detail, int durable, struct mesh_err *err);

int store_journal(struct store *st, const char *run_id, const char *address, const char *action,
                  const char *phase, const char *detail, struct mesh_err *err)
{
    return journal_write(st, run_id, address, action, phase, detail, 1, err);
}

int store_journal_mark(struct store *st, const char *run_id, const char *address, const char *action,
                       const char *detail, struct mesh_err *err)
{
    return journal_write(st, run_id, address, action, "intent", detail, 0, err);
}

static int journal_write(struct store *st, const char *run_id, const char *address, const char *action,
                         const char *phase, const char *detail, int durable, struct mesh_err *err)
{
    if (!one_of(phase, phases))
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_journal: unknown phase \"%s\"",
                            phase ? phase : "(null)");
    if (!run_id || !address || !action)
        return mesh_err_set(err, MESH_EINVAL, st->path, "store_journal: run, address and action are required");
    sqlite3_stmt *s = store_stmt(st, Q_JOURNAL, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, address, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, phase, -1, SQLITE_STATIC);
    if (detail)
        sqlite3_bind_text(s, 5, detail, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 5);
    sqlite3_bind_double(s, 6, store_now());
    /* an intent commits only once its log is on the remote (sync_committed) */
    if (st->sync && durable && strcmp(phase, "intent") == 0) st->sync->intent = 1;
    int rc = store_exec_stmt(st, s, err, "writing the journal");
    sqlite3_clear_bindings(s);
    return rc;
}

void journal_entry_free(void *p)
{
    struct journal_entry *e = p;
    if (!e) return;
    free(e->address);
    free(e->action);
    free(e->phase);
    free(e->detail);
    free(e->run_id);
    free(e);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? xstrdup(t) : NULL;
}

int store_journal_pending(struct store *st, const char *run_id, struct vec *entries, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_PENDING, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct journal_entry *e = xcalloc(1, sizeof(*e));
        e->seq = sqlite3_column_int64(s, 0);
        e->address = col_dup(s, 1);
        e->action = col_dup(s, 2);
        e->phase = col_dup(s, 3);
        e->detail = col_dup(s, 4);
        e->time = sqlite3_column_double(s, 5);
        if (!e->address || !e->action || !e->phase) {   /* NOT NULL in the schema: a damaged file */
            long long seq = e->seq;
            journal_entry_free(e);
            sqlite3_reset(s);
            return mesh_err_set(err, MESH_ERR, st->path, "the state is damaged: journal entry %lld of "
                                "run %s lacks its address or action; restore the state file from a "
                                "backup", seq, run_id);
        }
        vec_push(entries, e);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_sqlerr(st, rc, err, "reading the journal");
    return 0;
}

int store_unsettled(struct store *st, struct vec *entries, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_UNSETTLED, err);
    if (!s) return STORE_ERRCODE(err);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct journal_entry *e = xcalloc(1, sizeof(*e));
        e->address = col_dup(s, 0);
        e->run_id = col_dup(s, 1);
        e->action = col_dup(s, 2);
        e->phase = xstrdup("ok");
        if (!e->address || !e->run_id || !e->action) {
            journal_entry_free(e);
            continue;  /* NOT NULL in the schema; a NULL here cannot be waited for */
        }
        vec_push(entries, e);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return store_sqlerr(st, rc, err, "reading the journal for unsettled creates");
    return 0;
}
