/* rollback.c: bringing state and the world back to a snapshot (see apply.h, rollback_to).
 * Objects are matched by their `id` output (within their connection), so a replaced object is
 * told apart from its replacement even though both have the same address.
 *
 * The undo is a DAG of steps run on the worker pool, as apply runs (apply.c): this thread is the
 * coordinator, the only one that touches the store; workers only call drivers (rollback_step.c).
 * Order: a new object is deleted once every new object depending on it is deleted; an object
 * restored or re-created at an address waits for the delete of the new object at that address
 * (so a deposed object becomes current again only once its replacement is gone) and for the undo
 * of what it depended on (a destroy-before-create object is re-created before its dependents are
 * restored). A step that fails stops its branch (its dependents are not attempted, and said so);
 * the others finish. Each step's intent is journaled and committed before its driver call, and
 * its result committed as it arrives, so a crash during rollback loses nothing either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "base/duration.h"
#include "base/map.h"
#include "base/xalloc.h"
#include "cancel.h"
#include "pool.h"
#include "rollback_step.h"
#include "store.h"
#include "ui.h"

static const char *row_id(const struct state_row *r)
{
    const char *id = json_string_value(json_object_get(r->outputs, "id"));
    return id ? id : "";
}

/* Identity of an object: its id within its connection, or its address when a driver gave none.
 * An id is unique only per connection: a helm release's is NAMESPACE/NAME, the same in every
 * cluster, so without the connection one cluster's new release matched another's old one. */
static void row_key(const struct state_row *r, char *buf, size_t n)
{
    if (*row_id(r)) snprintf(buf, n, "id:%s:%s:%s", r->type, r->connection ? r->connection : "", row_id(r));
    else snprintf(buf, n, "addr:%s#%s", r->address, r->deposed ? r->deposed : "");
}

static void index_rows(const struct vec *rows, struct map *m)
{
    char key[1024];
    map_init(m);
    for (size_t i = 0; i < rows->len; i++) {
        row_key(rows->items[i], key, sizeof(key));
        map_put(m, key, rows->items[i]);
    }
}

static int is_current(const struct state_row *r) { return !r->deposed || !r->deposed[0]; }

struct rb {
    struct store *st;
    const char *run_id;
    struct vec steps;    /* struct rb_step * (owned) */
    struct vec ready;
    int inflight;
    int failed;
    int broken;          /* a journal or state write failed: no further driver call */
    int skipped;         /* steps not attempted (or not recorded) because of that */
    atomic_int stop;     /* the same, for steps already queued on the pool */
    struct mesh_err *err;
};

/* The state store failed: stop before the next driver call, and say so. */
static void rb_break(struct rb *rb, const struct mesh_err *e)
{
    if (rb->broken) return;
    rb->broken = 1;
    atomic_store(&rb->stop, 1);
    ui_error(e);
    mesh_err_set(rb->err, e->code ? e->code : MESH_ERR, e->where, "rollback stopped: state store: %s", e->msg);
}

static struct rb_step *rb_add(struct rb *rb, enum rb_kind kind, const struct state_row *old, const struct state_row *now)
{
    struct rb_step *s = rb_step_new(kind, old, now, rb->run_id);
    vec_push(&rb->steps, s);
    return s;
}

static void rb_link(struct rb_step *first, struct rb_step *then)
{
    if (first == then) return;
    for (size_t i = 0; i < first->dependents.len; i++)
        if (first->dependents.items[i] == then) return;
    vec_push(&first->dependents, then);
    then->remaining++;
}

static int deps_has(const struct state_row *r, const char *address)
{
    size_t k;
    json_t *d;
    json_array_foreach(r->deps, k, d) {
        if (json_string_value(d) && strcmp(json_string_value(d), address) == 0) return 1;
    }
    return 0;
}

/* The edges described at the top of this file. Steps are few (those of one run), so the plain
 * pairwise scan is fine. */
static void rb_link_all(struct rb *rb)
{
    for (size_t i = 0; i < rb->steps.len; i++) {
        struct rb_step *a = rb->steps.items[i];
        for (size_t j = 0; j < rb->steps.len; j++) {
            struct rb_step *b = rb->steps.items[j];
            if (a == b) continue;
            if (a->kind == RB_DELETE && b->kind == RB_DELETE) {
                /* b is deleted after a when a depends on (current) b */
                if (is_current(b->now) && deps_has(a->now, b->now->address)) rb_link(a, b);
            } else if (a->kind == RB_DELETE && b->kind != RB_DELETE) {
                if (is_current(a->now) && strcmp(a->now->address, b->old->address) == 0) rb_link(a, b);
            } else if (a->kind != RB_DELETE && b->kind != RB_DELETE) {
                /* b is undone after a when b depended on a before the run */
                if (is_current(a->old) && deps_has(b->old, a->old->address)) rb_link(a, b);
            }
        }
    }
}

static void rb_out(const struct rb_step *s)
{
    if (ui.json) ui_event("rollback", json_pack("{s:s, s:s}", "address", s->address, "action", s->what));
    else ui_out("%s: %s (rollback)\n", s->address, s->what);
}

/* The steps waiting for s, whose undo will not happen because cause (s or a step s waited for)
 * failed: each said with what to do, counted, and its own dependents follow it. */
static void rb_skip_branch(struct rb *rb, struct rb_step *s, const struct rb_step *cause)
{
    for (size_t i = 0; i < s->dependents.len; i++) {
        struct rb_step *d = s->dependents.items[i];
        if (d->state != RBS_PENDING) continue;
        d->state = RBS_BLOCKED;
        rb->failed++;
        if (d->kind == RB_RESTORE && d->now->deposed[0] && s->kind == RB_DELETE && strcmp(s->address, d->address) == 0) {
            /* The replacement is still there: the old object stays deposed, and the next apply
             * deletes one or the other. Restoring it would drop the new one from state. */
            mesh_err_set(rb->err, MESH_ERR, d->address, "rollback: the old object stays deposed");
            ui_warn("%s: the old object stays deposed because its replacement could not be deleted", d->address);
        } else {
            mesh_err_set(rb->err, MESH_ERR, d->address, "rollback: not undone because %s could not be", cause->address);
            ui_warn("%s: not rolled back (%s) because %s could not be rolled back first; fix that and run "
                    "`mesh apply` again", d->address, d->what, cause->address);
        }
        rb_skip_branch(rb, d, cause);
    }
}

static void rb_release(struct rb *rb, struct rb_step *s)
{
    for (size_t i = 0; i < s->dependents.len; i++) {
        struct rb_step *d = s->dependents.items[i];
        if (--d->remaining == 0 && d->state == RBS_PENDING) vec_push(&rb->ready, d);
    }
}

/* Journals the intents of every ready step in one transaction, then hands them to the pool. */
static void rb_dispatch(struct rb *rb, struct pool *pool)
{
    if (!rb->ready.len) return;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = rb->broken ? MESH_ERR : store_begin(rb->st, &e);
    for (size_t i = 0; !rc && i < rb->ready.len; i++) {
        struct rb_step *s = rb->ready.items[i];
        rc = store_journal(rb->st, rb->run_id, s->address, s->what, "intent", NULL, &e);
    }
    if (!rc) rc = store_commit(rb->st, &e);
    if (rc && !rb->broken) {
        store_rollback(rb->st);
        rb_break(rb, &e);
    }
    for (size_t i = 0; i < rb->ready.len; i++) {
        struct rb_step *s = rb->ready.items[i];
        if (rb->broken) {
            s->state = RBS_BLOCKED;
            rb->skipped++;
            continue;
        }
        s->state = RBS_RUNNING;
        s->stop = &rb->stop;
        rb->inflight++;
        pool_submit(pool, s);
    }
    rb->ready.len = 0;
}

/* Records one posted stage in state inside the open transaction. */
static int rb_commit_stage(struct rb *rb, struct rb_step *s, struct mesh_err *e)
{
    if (s->stage == RBS_CREATED) return store_put(rb->st, s->put, e);  /* the new ID is durable before waiting */
    if (s->stage == RBS_NOT_STARTED) return 0;
    if (s->rc) {
        char msg[1400];
        mesh_err_str(&s->err, msg, sizeof(msg));
        json_t *d = json_pack("{s:s}", "error", msg);
        char *txt = json_dumps(d, JSON_COMPACT);
        int rc = store_journal(rb->st, rb->run_id, s->address, s->what, "failed", txt, e);
        free(txt);
        json_decref(d);
        return rc;
    }
    int rc = 0;
    switch (s->kind) {
    case RB_DELETE: rc = store_delete(rb->st, s->now->address, s->now->deposed, e); break;
    case RB_RESTORE:
        if (s->now->deposed[0]) rc = store_delete(rb->st, s->now->address, s->now->deposed, e);
        if (!rc) rc = store_put(rb->st, s->put, e);
        break;
    case RB_RECREATE: rc = s->put_again ? store_put(rb->st, s->put, e) : 0; break;
    }
    if (!rc) rc = store_journal(rb->st, rb->run_id, s->address, s->what, "ok", NULL, e);
    return rc;
}

static void rb_finish(struct rb *rb, struct rb_step *s)
{
    rb->inflight--;
    if (s->stage == RBS_NOT_STARTED || rb->broken) {  /* not called, or its result not recorded */
        s->state = RBS_BLOCKED;
        rb->skipped++;
        return;
    }
    if (s->rc == MESH_ELOCKED) {  /* another run took the lock over: write nothing more; said once */
        s->state = RBS_FAILED;
        rb->failed++;
        rb_break(rb, &s->err);
        return;
    }
    if (s->rc) {
        s->state = RBS_FAILED;
        rb->failed++;
        if (!s->err.msg[0]) mesh_err_set(&s->err, s->rc, s->address, "%s failed", s->what);
        ui_error(&s->err);
        mesh_err_set(rb->err, s->rc, s->err.where, "rollback: %s", s->err.msg);
        rb_skip_branch(rb, s, s);
        return;
    }
    s->state = RBS_DONE;
    rb_out(s);
    rb_release(rb, s);
}

/* Waits for posted steps and records each in its own transaction. */
static void rb_collect(struct rb *rb, struct pool *pool)
{
    struct vec got = VEC_INIT;
    pool_collect(pool, &got, 1.0);
    for (size_t i = 0; i < got.len; i++) {
        struct rb_step *s = got.items[i];
        struct mesh_err e;
        mesh_err_init(&e);
        int rc = rb->broken ? MESH_ERR : store_begin(rb->st, &e);
        if (!rc) rc = rb_commit_stage(rb, s, &e);
        if (!rc) rc = store_commit(rb->st, &e);
        if (rc && !rb->broken) {
            store_rollback(rb->st);
            rb_break(rb, &e);
        }
        if (s->stage == RBS_CREATED) rb_step_ack(s, !rb->broken);
        else rb_finish(rb, s);
    }
    vec_release(&got);
}

/* Builds the steps: new objects are deleted, changed ones restored, gone ones re-created. */
static void rb_plan(struct rb *rb, const struct vec *before, const struct vec *now)
{
    struct map bmap, nmap;
    index_rows(before, &bmap);
    index_rows(now, &nmap);
    char key[1024];
    for (size_t i = 0; i < now->len; i++) {
        row_key(now->items[i], key, sizeof(key));
        if (!map_get(&bmap, key)) rb_add(rb, RB_DELETE, NULL, now->items[i]);
    }
    for (size_t i = 0; i < before->len; i++) {
        const struct state_row *b = before->items[i];
        row_key(b, key, sizeof(key));
        const struct state_row *n = map_get(&nmap, key);
        if (!n) rb_add(rb, RB_RECREATE, b, NULL);
        else if (!json_equal(b->inputs, n->inputs) || strcmp(b->deposed ? b->deposed : "", n->deposed ? n->deposed : "") ||
                 !json_equal(b->outputs, n->outputs))
            rb_add(rb, RB_RESTORE, b, n);
    }
    map_release(&bmap);
    map_release(&nmap);
    rb_link_all(rb);
}

int rollback_to(struct store *st, const struct vec *before, const char *exec_run_id, int parallelism,
                struct rollback_outcome *out, struct mesh_err *err)
{
    struct rb rb = {.st = st, .run_id = exec_run_id, .err = err};
    atomic_init(&rb.stop, 0);
    struct vec now = VEC_INIT;
    struct mesh_err e;
    mesh_err_init(&e);
    out->failed = out->store_broken = 0;
    if (store_load(st, &now, &e)) {
        rb_break(&rb, &e);
        out->failed = 1;
        out->store_broken = 1;
        return MESH_ERR;
    }
    rb_plan(&rb, before, &now);
    for (size_t i = 0; i < rb.steps.len; i++) {
        struct rb_step *s = rb.steps.items[i];
        if (s->remaining == 0) vec_push(&rb.ready, s);
    }
    struct pool *pool = rb.steps.len ? pool_new(parallelism, rb_step_run, NULL) : NULL;
    for (;;) {
        rb_dispatch(&rb, pool);
        if (rb.inflight == 0) {
            /* Nothing runs and nothing is ready: done, or steps left waiting on each other (a
             * dependency cycle in recorded state): run the first of them anyway. */
            struct rb_step *left = NULL;
            for (size_t i = 0; i < rb.steps.len && !left; i++) {
                struct rb_step *s = rb.steps.items[i];
                if (s->state == RBS_PENDING && s->remaining > 0) left = s;
            }
            if (!left) break;
            if (rb.broken) {
                left->state = RBS_BLOCKED;
                rb.skipped++;
                continue;
            }
            left->remaining = 0;
            vec_push(&rb.ready, left);
            continue;
        }
        rb_collect(&rb, pool);
    }
    if (pool) pool_free(pool);
    vec_release(&rb.ready);
    vec_free_all(&rb.steps, rb_step_free);
    vec_free_all(&now, state_row_free);
    if (rb.skipped) ui_errorf("rollback stopped: %d step(s) not attempted because the state store failed", rb.skipped);
    out->failed = rb.failed + rb.skipped;
    out->store_broken = rb.broken;
    return out->failed || rb.broken ? MESH_ERR : 0;
}
