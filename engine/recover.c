/* recover.c: finishing what a crashed run left open (see apply.h, recover_runs).
 * A run cut off by kill -9 or power loss leaves status "running" and a journal with intents that
 * never got a result. For every interrupted create, the driver's find looks the object up by its
 * mesh tags and state adopts it, so nothing is orphaned; then the cut-off run is rolled back to the
 * snapshot taken when it started, or, with --resume or once it had reached its deletes, kept. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "apply_job.h"
#include "diff.h"
#include "driver.h"
#include "invoke.h"
#include "plan.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"
#include "base/duration.h"
#include "connections.h"
#include "base/xalloc.h"

static int is_create_action(const char *a)
{
    return strcmp(a, "create") == 0 || strcmp(a, "replace") == 0 || strcmp(a, "rollback-create") == 0;
}

/* The connection of an interrupted create: the spec's, else the one its intent recorded (the spec
 * may no longer name it). Into buf; NULL when it has none. */
static const char *recover_connection(const struct spec *spec, const struct journal_entry *je, char *buf, size_t n)
{
    const struct spec_resource *sr = spec ? spec_find(spec, je->address) : NULL;
    const char *conn = sr ? sr->connection : NULL;
    json_t *d = !sr && je->detail ? json_loads(je->detail, 0, NULL) : NULL;
    if (d) conn = json_string_value(json_object_get(d, "connection"));
    if (conn) snprintf(buf, n, "%s", conn);
    json_decref(d);
    return conn ? buf : NULL;
}

struct recover_lookup {
    struct map rows;
};

static const json_t *recover_lookup_fn(void *ctx, const char *address, const char *output)
{
    struct recover_lookup *rl = ctx;
    return state_row_value(map_get(&rl->rows, address), output);
}

/* The attributes an adopted object was created with, as best known: the spec resolved against
 * state (so a resumed run's next plan sees no false difference). */
static json_t *recover_inputs(const struct spec *spec, struct store *st, const char *address)
{
    const struct spec_resource *r = spec ? spec_find(spec, address) : NULL;
    if (!r) return json_object();
    struct vec rows = VEC_INIT;
    struct mesh_err e;
    mesh_err_init(&e);
    struct recover_lookup rl = {MAP_INIT};
    if (store_load(st, &rows, &e) == 0)
        for (size_t i = 0; i < rows.len; i++) {
            struct state_row *row = rows.items[i];
            if (!row->deposed[0]) map_put(&rl.rows, row->address, row);
        }
    int unknown = 0;
    json_t *in = ref_resolve(r->attrs, recover_lookup_fn, &rl, &unknown);
    map_release(&rl.rows);
    vec_free_all(&rows, state_row_free);
    return in;
}

/* A kept create whose object may still be settling (a cluster cut off while CREATING, or one
 * whose wait failed in a run that kept its progress): the driver's wait runs again, within the
 * type's create timeout, so what comes next finds it usable, with the outputs only a ready object
 * has (a cluster's endpoint), instead of creating another. The settled outputs replace the
 * adopted ones. */
static int recover_wait(struct store *st, const struct driver *d, const char *address, const char *run_id,
                        struct mesh_err *err)
{
    struct vec rows = VEC_INIT;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = store_load(st, &rows, &e);
    struct state_row *row = NULL;
    for (size_t i = 0; !rc && i < rows.len && !row; i++) {
        struct state_row *r = rows.items[i];
        if (strcmp(r->address, address) == 0 && !r->deposed[0]) row = r;
    }
    if (!rc && row) {
        struct call c;
        invoke_init(&c, d, address, row->connection, run_id, "wait", &e);
        if (d->timeout_create > 0) c.deadline = mesh_now_mono() + d->timeout_create;
        json_t *ready = NULL;
        rc = invoke_wait(&c, d, row->outputs, &ready);
        if (!rc && ready) {
            json_decref(row->outputs);
            row->outputs = ready;
            rc = store_put(st, row, &e);
        } else {
            json_decref(ready);
        }
    }
    vec_free_all(&rows, state_row_free);
    if (rc) return mesh_err_set(err, rc, e.where[0] ? e.where : address, "recovery: %s", e.msg);
    return 0;
}

/* Looks an interrupted create up and adopts what exists; keep: the run's progress is kept, so an
 * object still settling is waited for. */
static int recover_adopt(struct store *st, const struct spec *spec, const char *run_id, const struct journal_entry *je,
                         const char *type, int keep, struct mesh_err *err)
{
    const struct driver *d = driver_find(type);
    if (!d) return 0;
    json_t *desired = recover_inputs(spec, st, je->address);
    json_t *outs = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    struct call c;
    char conn[1024];
    invoke_init(&c, d, je->address, recover_connection(spec, je, conn, sizeof(conn)), run_id, "find", &e);
    int rc = invoke_find(&c, d, desired, &outs);
    if (rc == MESH_ENOTFOUND) {
        json_decref(desired);
        if (store_journal(st, run_id, je->address, je->action, "failed", "{\"error\":\"not created (find: none)\"}", &e))
            return mesh_err_set(err, e.code, e.where, "recovery: %s", e.msg);
        return 0;
    }
    if (rc) {
        json_decref(desired);
        return mesh_err_set(err, rc, e.where, "recovery: find failed: %s", e.msg);
    }
    struct state_row *row = state_row_new(je->address, "", type);
    json_decref(row->inputs);
    json_decref(row->outputs);
    json_decref(row->deps);
    json_decref(row->sensitive);
    row->inputs = desired;
    row->outputs = outs;
    row->deps = json_array();
    const struct spec_resource *sr = spec ? spec_find(spec, je->address) : NULL;
    row->sensitive = spec_sensitive_names(sr, d);  /* the spec's marks too: an adopted secret stays encrypted */
    free(row->run_id);
    row->run_id = xstrdup(run_id);
    row->connection = c.connection ? xstrdup(c.connection) : NULL;
    for (size_t i = 0; sr && i < sr->deps.len; i++)
        json_array_append_new(row->deps, json_string(((struct spec_dep *)sr->deps.items[i])->address));
    /* A create-before-destroy replacement: the old object is still current; keep it, deposed. */
    struct vec rows = VEC_INIT;
    rc = store_load(st, &rows, &e);
    int has_current = 0;
    for (size_t i = 0; !rc && i < rows.len; i++) {
        struct state_row *r = rows.items[i];
        if (strcmp(r->address, je->address) == 0 && !r->deposed[0]) {
            const char *a = json_string_value(json_object_get(r->outputs, "id"));
            const char *b = json_string_value(json_object_get(outs, "id"));
            has_current = !(a && b && strcmp(a, b) == 0) ? 1 : 2;
        }
    }
    vec_free_all(&rows, state_row_free);
    char key[32];
    if (!rc && has_current == 1) rc = store_depose(st, je->address, key, sizeof(key), &e);
    if (!rc && has_current != 2) rc = store_put(st, row, &e);
    /* One still to be waited for is only committed: should the wait fail, its intent stays open
     * (or, once the run is closed, the create counts as unsettled) and is waited for again. */
    int settle = keep && d->wait;
    if (!rc) {
        char action[80];
        snprintf(action, sizeof(action), "%s%s", je->action, settle ? ".committed" : "");
        rc = store_journal(st, run_id, je->address, action, "ok", "{\"adopted\":true}", &e);
    }
    if (!rc) {
        if (ui.json) ui_event("recovery", json_pack("{s:s, s:s, s:s}", "address", je->address, "action", "adopted",
                                                      "run", run_id));
        else ui_out("%s: adopted an object the cut-off run had created [id=%s]\n", je->address,
                    json_string_value(json_object_get(outs, "id")) ? json_string_value(json_object_get(outs, "id")) : "?");
    }
    state_row_free(row);
    if (rc) return mesh_err_set(err, rc, e.where, "recovery: %s", e.msg);
    if (!settle) return 0;
    if (!ui.json) ui_out("%s: waiting for the object the cut-off run created to be ready...\n", je->address);
    int wrc = recover_wait(st, d, je->address, run_id, err);
    if (wrc) return wrc;
    if (store_journal(st, run_id, je->address, je->action, "ok", "{\"adopted\":true}", &e))
        return mesh_err_set(err, e.code, e.where, "recovery: %s", e.msg);
    return 0;
}

/* The type of an address: from the spec, or from the state's rows. */
static const char *recover_type(const struct spec *spec, const struct vec *rows, const char *address)
{
    const struct spec_resource *r = spec ? spec_find(spec, address) : NULL;
    if (r) return r->type;
    for (size_t i = 0; i < rows->len; i++) {
        const struct state_row *row = rows->items[i];
        if (strcmp(row->address, address) == 0) return row->type;
    }
    return NULL;
}

/* Rolls the cut-off run back to its snapshot. A run without one (cut off before the fix that
 * records a run and its snapshot together, or pruned) made no driver call before it could have
 * taken it, or is too old to undo: its progress is kept. Sets *status. */
static int recover_rollback(struct store *st, const char *cut, int parallelism, const char **status, struct mesh_err *err)
{
    struct vec before = VEC_INIT;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = store_snapshot_rows(st, cut, &before, &e);
    if (rc == MESH_ENOTFOUND) {
        if (!ui.json) ui_out("Run %s has no snapshot to roll back to; it is closed with what it did kept.\n", cut);
        return 0;
    }
    if (rc) return mesh_err_set(err, rc, e.where, "recovery of run %s: %s", cut, e.msg);
    if (!ui.json) ui_out("Rolling back the cut-off run %s...\n", cut);
    struct rollback_outcome out;
    /* Journaled (and tagged) as the cut-off run's own steps: if this recovery is cut off or its
     * writes fail in turn, the next one finds them in the same journal. */
    rc = rollback_to(st, &before, cut, parallelism, &out, err);
    vec_free_all(&before, state_row_free);
    if (out.store_broken)  /* the run stays open: the next apply starts this recovery again */
        return mesh_err_set(err, MESH_ERR, NULL, "recovery of run %s stopped: the state store failed (see above); "
                            "fix that and run the same command again", cut);
    if (rc) {
        struct mesh_err e2;
        mesh_err_init(&e2);
        if (store_run_end(st, cut, "failed", &e2)) ui_error(&e2);
        return mesh_err_set(err, MESH_ERR, NULL,
                            "recovery of run %s: %d rollback step(s) failed; state holds what exists now: fix the "
                            "cause and run the same command again", cut, out.failed);
    }
    *status = "rolled_back";
    return 0;
}

/* A request sent just before the cut-off run died may still be on its way to the API, or in it:
 * looked for at once, what it creates can appear only after find said "none", and stays an
 * orphan. So a create journaled less than MESH_RECOVERY_GRACE seconds ago (default 5) is looked
 * for only once it is that old. Recovery after a real crash is rarely that quick; a rerun right
 * after kill -9 or a power cut is. */
static void recover_grace(const struct vec *pending)
{
    const char *v = getenv("MESH_RECOVERY_GRACE");
    double grace = v && *v ? strtod(v, NULL) : 5.0;
    double newest = 0;
    for (size_t i = 0; i < pending->len; i++) {
        const struct journal_entry *je = pending->items[i];
        if (is_create_action(je->action) && je->time > newest) newest = je->time;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);   /* the journal's clock */
    double age = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - newest;
    if (!(grace > 0) || newest <= 0 || age < 0 || age >= grace) return;   /* a clock of another machine: no wait */
    double wait = grace - age;
    if (!ui.json) ui_out("Waiting %.1f s: the cut-off run sent its last create %.1f s ago, and that request may "
                         "still be landing.\n", wait, age);
    struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int recover_one(struct store *st, const struct spec *spec, const char *cut, int resume, int parallelism,
                       struct mesh_err *err)
{
    struct vec pending = VEC_INIT, rows = VEC_INIT;
    int rc = store_journal_pending(st, cut, &pending, err);
    if (!rc) rc = store_load(st, &rows, err);
    if (!rc) conn_table_load(&rows);  /* adopting and rolling back reach objects through them */
    int past_phase1 = 0;
    for (size_t i = 0; !rc && i < pending.len; i++) {
        const struct journal_entry *je = pending.items[i];
        if (!je->address[0] && strcmp(je->action, "phase2") == 0) past_phase1 = 1;
    }
    if (!rc) recover_grace(&pending);
    for (size_t i = 0; !rc && i < pending.len; i++) {
        const struct journal_entry *je = pending.items[i];
        if (!is_create_action(je->action)) continue;
        const char *type = recover_type(spec, &rows, je->address);
        if (type) rc = recover_adopt(st, spec, cut, je, type, resume || past_phase1, err);
    }
    vec_free_all(&rows, state_row_free);
    vec_free_all(&pending, journal_entry_free);
    if (rc) return rc;
    const char *status = "recovered";
    if (!resume && !past_phase1 && (rc = recover_rollback(st, cut, parallelism, &status, err))) return rc;
    if (!ui.json) ui_out("Recovered cut-off run %s (%s).\n\n", cut, strcmp(status, "rolled_back") ? "kept its progress" : "rolled back");
    return store_run_end(st, cut, status, err);
}

/* For `mesh plan`: what recovering run `cut` will do. */
static int recover_describe(struct store *st, const char *cut, int resume, struct plan *notes, struct mesh_err *err)
{
    struct vec pending = VEC_INIT, snap = VEC_INIT;
    int rc = store_journal_pending(st, cut, &pending, err);
    int creates = 0, past = 0;
    for (size_t k = 0; !rc && k < pending.len; k++) {
        const struct journal_entry *je = pending.items[k];
        if (is_create_action(je->action)) creates++;
        if (!je->address[0] && strcmp(je->action, "phase2") == 0) past = 1;
    }
    vec_free_all(&pending, journal_entry_free);
    if (rc) return rc;
    struct mesh_err e;
    mesh_err_init(&e);
    int snap_rc = store_snapshot_rows(st, cut, &snap, &e);
    vec_free_all(&snap, state_row_free);
    if (snap_rc && snap_rc != MESH_ENOTFOUND) return mesh_err_set(err, snap_rc, e.where, "%s", e.msg);
    const char *then = past || resume ? "keep its progress"
                       : snap_rc ? "close it with its progress kept (it has no snapshot to roll back to)"
                                 : "roll it back to the state before it (or keep it with --resume)";
    plan_note(notes, "Run %s was cut off (crash, kill, or a state write that failed) and its journal is still open.", cut);
    if (creates)
        plan_note(notes, "`mesh apply` (or `mesh destroy`) will first look up its %d interrupted create%s and adopt what exists, then %s;",
                  creates, creates == 1 ? "" : "s", then);
    else
        plan_note(notes, "`mesh apply` (or `mesh destroy`) will first %s (no create was in flight, so there is nothing to look up);", then);
    plan_note(notes, "the plan below is against the state that recovery would leave: %s.",
              past || resume || snap_rc ? "the state now, with the objects it finds adopted"
                                        : "the state before that run (what it would restore or create again is "
                                          "taken as it was then, not read)");
    return 0;
}

/* Adopts, in rows only, what find reports for the run's interrupted creates (read-only calls). */
static int preview_adopt(const struct spec *spec, const char *cut, const struct vec *pending, struct vec *rows,
                         struct mesh_err *err)
{
    for (size_t k = 0; k < pending->len; k++) {
        const struct journal_entry *je = pending->items[k];
        if (!is_create_action(je->action)) continue;
        const struct spec_resource *sr = spec ? spec_find(spec, je->address) : NULL;
        const char *type = recover_type(spec, rows, je->address);
        const struct driver *d = type ? driver_find(type) : NULL;
        if (!d) continue;
        struct recover_lookup rl = {MAP_INIT};
        for (size_t i = 0; i < rows->len; i++) {
            struct state_row *row = rows->items[i];
            if (!row->deposed[0]) map_put(&rl.rows, row->address, row);
        }
        int unknown = 0;
        json_t *desired = sr ? ref_resolve(sr->attrs, recover_lookup_fn, &rl, &unknown) : json_object();
        map_release(&rl.rows);
        json_t *outs = NULL;
        struct mesh_err e;
        mesh_err_init(&e);
        struct call c;
        char conn[1024];
        invoke_init(&c, d, je->address, recover_connection(spec, je, conn, sizeof(conn)), cut, "find", &e);
        int rc = invoke_find(&c, d, desired, &outs);
        if (rc == MESH_ENOTFOUND) {
            json_decref(desired);
            continue;
        }
        if (rc) {
            json_decref(desired);
            return mesh_err_set(err, rc, e.where, "recovery preview: find failed: %s", e.msg);
        }
        const char *id = json_string_value(json_object_get(outs, "id"));
        int same = 0;
        for (size_t i = 0; i < rows->len && !same; i++) {
            struct state_row *r = rows->items[i];
            if (strcmp(r->address, je->address) || r->deposed[0]) continue;
            const char *cur = json_string_value(json_object_get(r->outputs, "id"));
            same = id && cur && strcmp(id, cur) == 0;
            if (!same) {  /* a create-before-destroy replacement: the old object becomes deposed */
                free(r->deposed);
                r->deposed = xstrdup("recovery");
            }
        }
        if (same) {
            json_decref(desired);
            json_decref(outs);
            continue;
        }
        struct state_row *row = state_row_new(je->address, "", type);
        json_decref(row->inputs);
        json_decref(row->outputs);
        row->inputs = desired;
        row->outputs = outs;
        row->connection = c.connection ? xstrdup(c.connection) : NULL;
        for (size_t i = 0; sr && i < sr->deps.len; i++)
            json_array_append_new(row->deps, json_string(((struct spec_dep *)sr->deps.items[i])->address));
        vec_push(rows, row);
    }
    return 0;
}

/* Replaces rows by the snapshot a rollback returns to; a row that differs from the one there now
 * (restored, re-created) is marked predicted. */
static void preview_rollback(struct vec *rows, struct vec *snap)
{
    for (size_t i = 0; i < snap->len; i++) {
        struct state_row *b = snap->items[i];
        int same = 0;
        for (size_t k = 0; k < rows->len && !same; k++) {
            const struct state_row *r = rows->items[k];
            same = strcmp(r->address, b->address) == 0 && strcmp(r->deposed, b->deposed) == 0 &&
                   json_equal(r->inputs, b->inputs) && json_equal(r->outputs, b->outputs);
        }
        b->predicted = !same;
    }
    vec_free_all(rows, state_row_free);
    *rows = *snap;
    vec_init(snap);
}

/* Runs that ended with a create whose object may exist (find could not tell): its intent is still
 * open. Their creates are looked up by that run's tags and what exists is adopted, kept (the run
 * itself ended: nothing to roll back), as after a crash with --resume. */
static int recover_unsure(struct store *st, const struct spec *spec, const char *run, int dry_run, struct plan *notes,
                          struct mesh_err *err)
{
    struct vec pending = VEC_INIT, rows = VEC_INIT;
    int rc = store_journal_pending(st, run, &pending, err);
    if (!rc && !dry_run) rc = store_load(st, &rows, err);
    if (!rc && !dry_run) conn_table_load(&rows);
    for (size_t i = 0; !rc && i < pending.len; i++) {
        const struct journal_entry *je = pending.items[i];
        if (!is_create_action(je->action)) continue;
        if (dry_run) {
            plan_note(notes, "Run %s could not tell whether its %s of %s made the object; `mesh apply` (or `mesh destroy`) "
                      "will first look it up by that run's tags and adopt what exists.", run, je->action, je->address);
            continue;
        }
        if (!ui.json) ui_out("%s: looking up the object run %s may have created...\n", je->address, run);
        const char *type = recover_type(spec, &rows, je->address);
        if (type) rc = recover_adopt(st, spec, run, je, type, 1, err);
    }
    vec_free_all(&rows, state_row_free);
    vec_free_all(&pending, journal_entry_free);
    return rc;
}

int recover_preview(struct store *st, const struct spec *spec, int resume, struct vec *rows, struct mesh_err *err)
{
    struct vec runs = VEC_INIT, unsure = VEC_INIT;
    int rc = store_open_runs(st, &runs, err);
    for (size_t i = 0; !rc && i < runs.len; i++) {
        const char *cut = runs.items[i];
        struct vec pending = VEC_INIT, snap = VEC_INIT;
        rc = store_journal_pending(st, cut, &pending, err);
        int past = 0;
        for (size_t k = 0; !rc && k < pending.len; k++) {
            const struct journal_entry *je = pending.items[k];
            if (!je->address[0] && strcmp(je->action, "phase2") == 0) past = 1;
        }
        struct mesh_err e;
        mesh_err_init(&e);
        int snap_rc = rc ? 0 : store_snapshot_rows(st, cut, &snap, &e);
        if (snap_rc && snap_rc != MESH_ENOTFOUND) rc = mesh_err_set(err, snap_rc, e.where, "%s", e.msg);
        if (!rc && !resume && !past && !snap_rc) preview_rollback(rows, &snap);  /* the adopted would be deleted */
        else if (!rc) rc = preview_adopt(spec, cut, &pending, rows, err);
        vec_free_all(&snap, state_row_free);
        vec_free_all(&pending, journal_entry_free);
    }
    vec_free_all(&runs, free);
    /* then, as recover_runs does, the creates that ended unsure */
    if (!rc) rc = store_unsure_runs(st, &unsure, err);
    for (size_t i = 0; !rc && i < unsure.len; i++) {
        struct vec pending = VEC_INIT;
        rc = store_journal_pending(st, unsure.items[i], &pending, err);
        if (!rc) rc = preview_adopt(spec, unsure.items[i], &pending, rows, err);
        vec_free_all(&pending, journal_entry_free);
    }
    vec_free_all(&unsure, free);
    return rc;
}

/* Objects an ended run created and kept but never saw ready (its wait failed or timed out, with
 * --no-rollback or a rollback that could not delete them): waited for again before anything
 * else, so what refers to them (a cluster's endpoint) is known. Returns how many, or < 0. */
static int recover_unsettled(struct store *st, int dry_run, struct plan *notes, struct mesh_err *err)
{
    struct vec unsettled = VEC_INIT, rows = VEC_INIT;
    int rc = store_unsettled(st, &unsettled, err);
    if (!rc && unsettled.len && !dry_run) rc = store_load(st, &rows, err);
    if (!rc && rows.len) conn_table_load(&rows);  /* a kubernetes object is waited for through its connection */
    for (size_t i = 0; !rc && i < unsettled.len; i++) {
        const struct journal_entry *u = unsettled.items[i];
        if (dry_run) {
            plan_note(notes, "Run %s created %s but stopped before it was ready; `mesh apply` (or `mesh destroy`) will "
                      "first wait for it, so what refers to it sees its final attributes.", u->run_id, u->address);
            continue;
        }
        const char *type = recover_type(NULL, &rows, u->address);
        const struct driver *d = type ? driver_find(type) : NULL;
        struct mesh_err e;
        mesh_err_init(&e);
        const char *how = "{\"settled\":true}";
        if (d && d->wait) {
            if (!ui.json) ui_out("%s: waiting for the object run %s created to be ready...\n", u->address, u->run_id);
            int wrc = recover_wait(st, d, u->address, u->run_id, &e);
            if (wrc == MESH_ENOTFOUND) {
                how = "{\"settled\":\"gone\"}";   /* refresh finds it gone and the plan makes it again */
            } else if (wrc) {
                /* Not fatal: a destroy can still delete it, and what refers to it fails naming
                 * the value it lacks. The next run waits for it again. */
                ui_warn("%s, created by run %s, is not ready: %s", u->address, u->run_id, e.msg);
                continue;
            }
            mesh_err_init(&e);
        }
        if (store_journal(st, u->run_id, u->address, u->action, "ok", how, &e))
            rc = mesh_err_set(err, e.code, e.where, "recovery: %s", e.msg);
    }
    size_t n = unsettled.len;
    vec_free_all(&rows, state_row_free);
    vec_free_all(&unsettled, journal_entry_free);
    return rc ? -1 : (int)n;
}

int recover_runs(struct store *st, const struct spec *spec, const char *exec_run_id, int resume, int dry_run,
                 int parallelism, struct plan *notes, struct mesh_err *err)
{
    struct vec runs = VEC_INIT;
    int rc = store_open_runs(st, &runs, err);
    if (rc) return rc;
    int n = 0;
    for (size_t i = 0; i < runs.len && !rc; i++) {
        const char *cut = runs.items[i];
        rc = dry_run ? recover_describe(st, cut, resume, notes, err) : recover_one(st, spec, cut, resume, parallelism, err);
        n++;
    }
    vec_free_all(&runs, free);
    if (!rc) rc = store_unsure_runs(st, &runs, err);
    for (size_t i = 0; i < runs.len && !rc; i++, n++) rc = recover_unsure(st, spec, runs.items[i], dry_run, notes, err);
    vec_free_all(&runs, free);
    if (rc) return rc;
    int settled = recover_unsettled(st, dry_run, notes, err);
    return settled < 0 ? err->code : n + settled;
}
