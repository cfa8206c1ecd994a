/* apply.c: the coordinator of an apply (see apply.h). It alone touches the state store and the
 * DAG bookkeeping; workers only call drivers (apply_job.c). */
#include "apply.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply_job.h"
#include "base/duration.h"
#include "base/escape.h"
#include "cancel.h"
#include "driver.h"
#include "plan.h"
#include "pool.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"
#include "base/xalloc.h"

/* Seconds between "still creating..." lines: 10, or MESH_PROGRESS_EVERY (tests). */
static double progress_every(void)
{
    const char *v = getenv("MESH_PROGRESS_EVERY");
    double s = v ? atof(v) : 0;
    return s > 0 ? s : 10.0;
}

struct coord {
    struct store *st;
    const struct apply_opts *o;
    struct apply_report *rep;
    struct mesh_err *err;
    struct map live;        /* address -> struct state_row * (current objects; owned) */
    struct vec jobs;        /* every job of the phase (owned) */
    struct vec ready;       /* struct job * */
    int inflight;
    int stopping;           /* a failure or Ctrl-C: start nothing new */
    atomic_int stop;        /* the same, for jobs already queued on the pool (see job_run) */
    int store_broken;       /* a commit failed: nothing can be journaled any more */
    int lock_lost;          /* a call was refused because the lease is gone: said once, not per job */
    struct map cbd_deposed; /* address -> strdup'ed deposed key of replaced objects (phase 2 deletes them) */
    char missing[600];      /* the first reference the job being resolved finds unknown (coord_lookup) */
};

static const json_t *coord_lookup(void *ctx, const char *address, const char *output)
{
    struct coord *co = ctx;
    const json_t *v = state_row_value(map_get(&co->live, address), output);
    if ((!v || ref_is_unknown(v)) && !co->missing[0]) snprintf(co->missing, sizeof(co->missing), "%s.%s", address, output);
    return v;
}

static void live_set(struct coord *co, struct state_row *row)
{
    struct state_row *old = map_get(&co->live, row->address);
    state_row_free(old);
    map_put(&co->live, row->address, row);
}

static void live_init(struct coord *co)
{
    map_init(&co->live);
    for (size_t i = 0; co->o->rows && i < co->o->rows->len; i++) {
        const struct state_row *r = co->o->rows->items[i];
        if (!r->deposed || !r->deposed[0]) live_set(co, state_row_dup(r));
    }
}

static void live_release(struct coord *co)
{
    for (size_t i = 0; i < co->live.cap; i++)
        if (co->live.slots[i].key) state_row_free(co->live.slots[i].value);
    map_release(&co->live);
}

static json_t *entry_deps(const struct plan_entry *e)
{
    json_t *a = json_array();
    struct map seen = MAP_INIT;
    for (size_t i = 0; e->res && i < e->res->deps.len; i++) {
        const struct spec_dep *d = e->res->deps.items[i];
        if (map_has(&seen, d->address)) continue;
        map_put(&seen, d->address, NULL);
        json_array_append_new(a, json_string(d->address));
    }
    map_release(&seen);
    return a;
}

static struct state_row *job_row(const struct job *j)
{
    struct state_row *row = state_row_new(j->e->address, "", j->e->type);
    json_decref(row->inputs);
    json_decref(row->outputs);
    json_decref(row->deps);
    json_decref(row->sensitive);
    row->inputs = json_incref(j->desired);
    row->outputs = json_incref(j->outputs);
    row->deps = entry_deps(j->e);
    row->sensitive = driver_sensitive_names(j->e->driver);
    size_t k;
    json_t *name;
    if (j->e->res && j->e->res->sensitive)
        json_array_foreach(j->e->res->sensitive, k, name) json_array_append(row->sensitive, name);
    free(row->run_id);
    row->run_id = xstrdup(j->run_id);
    const char *conn = j->e->res ? j->e->res->connection : j->e->prior ? j->e->prior->connection : NULL;
    row->connection = conn ? xstrdup(conn) : NULL;
    return row;
}

/* The intent's detail: the connection, so recovery can look for a cut-off create in the right
 * cluster even once the spec no longer names it. NULL: nothing to say. Caller frees. */
static char *intent_detail(const struct job *j)
{
    const char *conn = j->e->res ? j->e->res->connection : NULL;
    if (!conn) return NULL;
    json_t *d = json_pack("{s:s}", "connection", conn);
    char *txt = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    return txt;
}

static void progress(struct job *j, const char *status, double elapsed, const char *extra)
{
    char dur[32], note[512] = "";
    ui_duration(elapsed, dur, sizeof(dur));
    if (strcmp(status, "still") == 0) job_note_get(j, note, sizeof(note));  /* what the driver waits for */
    if (ui.json) {
        json_t *ev = json_pack("{s:s, s:s, s:s, s:f}", "address", j->e->address, "action", job_action(j), "status",
                               status, "elapsed", elapsed);
        if (j->deposed[0]) json_object_set_new(ev, "deposed", json_string(j->deposed));
        if (extra) json_object_set_new(ev, strcmp(status, "failed") == 0 ? "error" : "id", json_string(extra));
        if (note[0]) json_object_set_new(ev, "detail", json_string(note));
        ui_event("progress", ev);
        return;
    }
    const char *addr = j->e->address;
    /* The id and the note come from a provider's answer: escaped before they reach a terminal. */
    struct strbuf id = STRBUF_INIT, why = STRBUF_INIT;
    if (extra) str_escape_ctl(&id, extra, strlen(extra));
    str_escape_ctl(&why, note, strlen(note));
    if (strcmp(status, "start") == 0)
        ui_out("%s: %s...%s\n", addr, job_verb(j), j->deposed[0] && j->kind == JOB_DELETE_DEPOSED ? " (old object)" : "");
    else if (strcmp(status, "done") == 0)
        ui_out("%s: %s complete after %s%s%s%s\n", addr, job_noun(j), dur, extra ? " [id=" : "", extra ? strbuf_str(&id) : "",
               extra ? "]" : "");
    else if (strcmp(status, "still") == 0)
        ui_out("%s: Still %c%s... (%s elapsed)%s%s\n", addr, job_verb(j)[0] - 'A' + 'a', job_verb(j) + 1, dur,
               note[0] ? ": " : "", strbuf_str(&why));
    else
        ui_out("%s%s: %s failed after %s%s\n", ui_c("red"), addr, job_verb(j), dur, ui_c("reset"));
    strbuf_release(&id);
    strbuf_release(&why);
}

/* Starts nothing new: jobs not yet dispatched stay, queued ones skip their driver calls. */
static void coord_stop(struct coord *co)
{
    co->stopping = 1;
    atomic_store(&co->stop, 1);
}

/* The state store failed a write: nothing more can be journaled, so no driver may be called
 * again (its intent would not be durable) and the run stays open for the next one to recover. */
static void coord_store_broken(struct coord *co, const struct mesh_err *e, const char *what)
{
    if (co->store_broken) return;
    struct mesh_err said;
    mesh_err_init(&said);
    mesh_err_set(&said, e->code ? e->code : MESH_ERR, e->where, "state store: %s: %s", what, e->msg);
    mesh_err_set(co->err, said.code, said.where, "%s", said.msg);
    if (!(said.code == MESH_ELOCKED && co->lock_lost)) ui_error(&said);  /* a lost lock is said once */
    co->lock_lost |= said.code == MESH_ELOCKED;
    co->store_broken = 1;
    coord_stop(co);
}

/* Journals the intents of every ready job in one transaction, then hands them to the pool (a
 * job still queued when the run stops skips its driver calls: see job_run). A job whose calls
 * change nothing outside the state has nothing for recovery to find: its intent is a marker, so
 * a batch of only such jobs does not wait for the remote. */
static void coord_dispatch(struct coord *co, struct pool *pool)
{
    if (!co->ready.len || co->stopping) return;
    size_t n = co->ready.len;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = store_begin(co->st, &e);
    for (size_t i = 0; !rc && i < n; i++) {
        struct job *j = co->ready.items[i];
        char *detail = intent_detail(j);
        const struct driver *d = j->e->driver;
        if (d && d->touches_world && !d->touches_world())
            rc = store_journal_mark(co->st, co->o->run_id, j->e->address, job_action(j), detail, &e);
        else
            rc = store_journal(co->st, co->o->run_id, j->e->address, job_action(j), "intent", detail, &e);
        free(detail);
    }
    if (!rc) rc = store_commit(co->st, &e);
    if (rc) {
        store_rollback(co->st);
        coord_store_broken(co, &e, "cannot journal the next driver calls");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct job *j = co->ready.items[i];
        if (j->kind != JOB_DELETE && j->kind != JOB_DELETE_DEPOSED) {
            int unknown = 0;
            co->missing[0] = '\0';
            j->desired = ref_resolve(j->e->res->attrs, coord_lookup, co, &unknown);
            /* Every dependency is done, so nothing should be unknown: a value missing now is one
             * state does not hold (an object kept unready); the driver is not called with it. */
            if (unknown)
                j->unresolved = mesh_err_set(&j->err, MESH_ERR, j->e->address,
                                             "%s is not known: state holds no such value; run `mesh plan` to see "
                                             "what is missing, or `mesh apply` again", co->missing[0] ? co->missing : "a value it refers to");
        }
        j->started = 1;
        j->stop = &co->stop;
        j->t0 = j->last_progress = mesh_now_mono();
        co->inflight++;
        progress(j, "start", 0, NULL);
        pool_submit(pool, j);
    }
    co->ready.len = 0;
}

static void coord_release_dependents(struct coord *co, struct job *j)
{
    for (size_t k = 0; k < j->dependents.len; k++) {
        struct job *d = j->dependents.items[k];
        if (--d->remaining == 0) vec_push(&co->ready, d);
    }
}

/* Applies one posted stage to state inside the open transaction. */
static int coord_commit_stage(struct coord *co, struct job *j, struct mesh_err *e)
{
    const char *addr = j->e->address;
    int rc = 0;
    switch (j->stage) {
    case STAGE_OLD_DELETED:
        rc = store_delete(co->st, addr, "", e);
        /* progress markers are their own actions: only "ok"/"failed" of the action answer its intent */
        if (!rc) rc = store_journal(co->st, co->o->run_id, addr, "replace.old-deleted", "ok", NULL, e);
        return rc;
    case STAGE_CREATED:
    case STAGE_DONE:
        if (j->kind == JOB_DELETE || j->kind == JOB_DELETE_DEPOSED) {
            rc = store_delete(co->st, addr, j->e->deposed[0] ? j->e->deposed : j->deposed, e);
        } else {
            if (j->kind == JOB_REPLACE_CBD && !j->deposed[0])
                rc = store_depose(co->st, addr, j->deposed, sizeof(j->deposed), e);
            struct state_row *row = job_row(j);
            if (!rc) rc = store_put(co->st, row, e);
            if (!rc) live_set(co, row);
            else state_row_free(row);
        }
        if (!rc) {
            char action[64];
            snprintf(action, sizeof(action), "%s%s", job_action(j), j->stage == STAGE_DONE ? "" : ".committed");
            rc = store_journal(co->st, co->o->run_id, addr, action, "ok", NULL, e);
        }
        return rc;
    case STAGE_SKIPPED:
        return store_journal(co->st, co->o->run_id, addr, job_action(j), "failed",
                             "{\"error\":\"not started: the run stopped first\"}", e);
    case STAGE_FAILED: {
        char msg[1400], action[64];
        mesh_err_str(&j->err, msg, sizeof(msg));
        json_t *d = json_pack("{s:s}", "error", msg);
        char *txt = json_dumps(d, JSON_COMPACT);
        /* A create that may have made its object (find could not tell) answers its intent with a
         * marker only: the intent stays open and the next run's recovery looks the object up by
         * this run's tags (recover.c, store_unsure_runs). */
        snprintf(action, sizeof(action), "%s%s", job_action(j), j->unsure ? ".unsure" : "");
        rc = store_journal(co->st, co->o->run_id, addr, action, j->unsure ? "ok" : "failed", txt, e);
        free(txt);
        json_decref(d);
        return rc;
    }
    default:
        return 0;
    }
}

static void coord_finish_stage(struct coord *co, struct job *j)
{
    double el = mesh_now_mono() - j->t0;
    if (j->stage == STAGE_DONE) {
        j->finished = 1;
        co->inflight--;
        const char *id = j->outputs ? json_string_value(json_object_get(j->outputs, "id")) : NULL;
        progress(j, "done", el, id);
        switch (j->kind) {
        case JOB_CREATE: co->rep->created++; break;
        case JOB_UPDATE: co->rep->updated++; break;
        case JOB_REPLACE_CBD:
            co->rep->replaced++;
            map_put(&co->cbd_deposed, j->e->address, xstrdup(j->deposed));
            break;
        case JOB_REPLACE_DBC: co->rep->replaced++; break;
        default:
            if (j->e->action != ACT_REPLACE) co->rep->deleted++;  /* a replacement's old half counts once */
            break;
        }
        coord_release_dependents(co, j);
    } else if (j->stage == STAGE_FAILED) {
        j->finished = 1;
        co->inflight--;
        co->rep->failed++;
        int repeat = j->rc == MESH_ELOCKED && co->lock_lost;
        co->lock_lost |= j->rc == MESH_ELOCKED;
        if (!repeat) {
            progress(j, "failed", el, j->err.msg);
            if (!ui.json) ui_error(&j->err);
        }
        mesh_err_set(co->err, j->rc, j->err.where, "%s", j->err.msg);
        coord_stop(co);
    } else if (j->stage == STAGE_SKIPPED) {
        j->finished = 1;
        co->inflight--;
    }
}

/* Waits for posted jobs and commits everything that arrived together in one transaction. */
static void coord_collect(struct coord *co, struct pool *pool)
{
    struct vec got = VEC_INIT;
    pool_collect(pool, &got, 1.0);
    if (cancel_requested() && !co->stopping) {
        coord_stop(co);
        co->rep->interrupted = 1;
        mesh_err_set(co->err, MESH_ECANCELED, NULL, "interrupted");
    }
    if (got.len) {
        struct mesh_err e;
        mesh_err_init(&e);
        int rc = co->store_broken ? MESH_ERR : store_begin(co->st, &e);
        for (size_t i = 0; !rc && i < got.len; i++) rc = coord_commit_stage(co, got.items[i], &e);
        if (!rc) rc = store_commit(co->st, &e);
        if (rc && !co->store_broken) {
            store_rollback(co->st);
            coord_store_broken(co, &e, "cannot record the results of driver calls");
        }
        for (size_t i = 0; i < got.len; i++) {
            struct job *j = got.items[i];
            if (j->needs_ack) job_ack(j, !co->store_broken);
            else coord_finish_stage(co, j);
        }
    }
    vec_release(&got);
    double t = mesh_now_mono(), every = progress_every();
    for (size_t i = 0; i < co->jobs.len; i++) {
        struct job *j = co->jobs.items[i];
        if (j->started && !j->finished && t - j->last_progress >= every) {
            j->last_progress = t;
            progress(j, "still", t - j->t0, NULL);
        }
    }
}

/* Runs the jobs of one phase to completion (or until stopped and drained). */
static void coord_run_phase(struct coord *co)
{
    struct pool *pool = pool_new(co->o->parallelism, job_run, NULL);
    for (size_t i = 0; i < co->jobs.len; i++) {
        struct job *j = co->jobs.items[i];
        if (j->remaining == 0) vec_push(&co->ready, j);
    }
    for (;;) {
        coord_dispatch(co, pool);
        if (co->inflight == 0 && (co->stopping || co->ready.len == 0)) break;
        coord_collect(co, pool);
    }
    pool_free(pool);
    vec_release(&co->ready);
}

static void jobs_link(struct job *from, struct job *to)
{
    vec_push(&from->dependents, to);
    to->remaining++;
}

static void build_phase1(struct coord *co, struct plan *p)
{
    struct map byaddr = MAP_INIT;
    for (size_t i = 0; i < p->entries.len; i++) {
        struct plan_entry *e = p->entries.items[i];
        enum job_kind k;
        if (e->action == ACT_CREATE) k = JOB_CREATE;
        else if (e->action == ACT_UPDATE) k = JOB_UPDATE;
        else if (e->action == ACT_REPLACE) k = e->create_before_destroy && !e->gone ? JOB_REPLACE_CBD : JOB_REPLACE_DBC;
        else continue;
        struct job *j = job_new(e, k, co->o->run_id);
        vec_push(&co->jobs, j);
        map_put(&byaddr, e->address, j);
    }
    for (size_t i = 0; i < co->jobs.len; i++) {
        struct job *j = co->jobs.items[i];
        for (size_t k = 0; j->e->res && k < j->e->res->deps.len; k++) {
            struct job *dep = map_get(&byaddr, ((struct spec_dep *)j->e->res->deps.items[k])->address);
            if (dep && dep != j) {
                int dup = 0;
                for (size_t m = 0; m < dep->dependents.len && !dup; m++) dup = dep->dependents.items[m] == j;
                if (!dup) jobs_link(dep, j);
            }
        }
    }
    map_release(&byaddr);
}

/* Deletes: an object goes only after everything that depended on it is gone. */
static void build_phase2(struct coord *co, struct plan *p)
{
    struct map byaddr = MAP_INIT;
    for (size_t i = 0; i < p->entries.len; i++) {
        struct plan_entry *e = p->entries.items[i];
        struct job *j = NULL;
        if (e->action == ACT_DELETE) {
            j = job_new(e, e->deposed[0] ? JOB_DELETE_DEPOSED : JOB_DELETE, co->o->run_id);
            j->old_outputs = e->prior->outputs;
        } else if (e->action == ACT_REPLACE && map_get(&co->cbd_deposed, e->address)) {
            j = job_new(e, JOB_DELETE_DEPOSED, co->o->run_id);
            snprintf(j->deposed, sizeof(j->deposed), "%s", (const char *)map_get(&co->cbd_deposed, e->address));
            j->old_outputs = e->prior->outputs;
        }
        if (!j) continue;
        vec_push(&co->jobs, j);
        if (!e->deposed[0]) map_put(&byaddr, e->address, j);
    }
    for (size_t i = 0; i < co->jobs.len; i++) {
        struct job *j = co->jobs.items[i];
        size_t k;
        json_t *d;
        json_array_foreach(j->e->prior->deps, k, d) {
            struct job *dep = map_get(&byaddr, json_string_value(d) ? json_string_value(d) : "");
            if (dep && dep != j) jobs_link(j, dep);  /* j (the dependent) goes first */
        }
    }
    map_release(&byaddr);
}

static void coord_free_jobs(struct coord *co)
{
    vec_free_all(&co->jobs, job_free);
    vec_init(&co->jobs);
}

static int apply_rollback(struct coord *co)
{
    struct vec before = VEC_INIT;
    struct mesh_err e;
    mesh_err_init(&e);
    if (store_snapshot_rows(co->st, co->o->run_id, &before, &e)) {
        ui_error(&e);
        co->rep->rollback_failed++;
        return -1;
    }
    if (!ui.json) ui_out("\n%sRolling back the changes of this run...%s\n", ui_c("bold"), ui_c("reset"));
    co->rep->rolled_back = 1;
    struct rollback_outcome out;
    int rc = rollback_to(co->st, &before, co->o->run_id, co->o->parallelism, &out, &e);
    co->rep->rollback_failed += out.failed;
    if (out.store_broken) co->store_broken = 1;  /* the run stays open: the next one recovers it */
    vec_free_all(&before, state_row_free);
    return rc;
}

int apply_run(struct store *st, struct plan *p, const struct apply_opts *o, struct apply_report *rep,
              struct mesh_err *err)
{
    struct coord co = {.st = st, .o = o, .rep = rep, .err = err};
    memset(rep, 0, sizeof(*rep));
    double t0 = mesh_now_mono();
    live_init(&co);
    map_init(&co.cbd_deposed);
    build_phase1(&co, p);
    coord_run_phase(&co);
    coord_free_jobs(&co);
    int phase1_failed = co.stopping;
    if (phase1_failed && !o->no_rollback && !co.store_broken) {
        apply_rollback(&co);
    } else if (!phase1_failed) {
        struct mesh_err e;
        mesh_err_init(&e);
        /* A marker: a run cut off after this point is finished, not rolled back. Without it a
         * recovery would roll phase 1 back after deletes it cannot undo, so no delete starts
         * before it is durable (remote state: on the remote). With no delete to make, nothing
         * waits on it: it goes with the run's next write. */
        build_phase2(&co, p);
        int rc = co.jobs.len ? store_journal(st, o->run_id, "", "phase2", "intent", NULL, &e)
                             : store_journal_mark(st, o->run_id, "", "phase2", NULL, &e);
        if (rc) {
            coord_free_jobs(&co);
            coord_store_broken(&co, &e, "cannot record the start of the deletes");
        } else {
            coord_run_phase(&co);
            coord_free_jobs(&co);
            if (co.stopping && !co.store_broken) rep->phase2_failed = 1;
        }
    }
    for (size_t i = 0; i < co.cbd_deposed.cap; i++)
        if (co.cbd_deposed.slots[i].key) free(co.cbd_deposed.slots[i].value);
    map_release(&co.cbd_deposed);
    live_release(&co);
    rep->store_failed = co.store_broken;
    rep->seconds = mesh_now_mono() - t0;
    return co.stopping ? (err->code ? err->code : MESH_ERR) : 0;
}
