/* rollback_step.c: the worker side of a rollback step (see rollback_step.h). No store access. */
#include "rollback_step.h"

#include <stdlib.h>

#include "driver.h"
#include "invoke.h"
#include "pool.h"
#include "store.h"
#include "base/xalloc.h"

struct rb_step *rb_step_new(enum rb_kind kind, const struct state_row *old, const struct state_row *now,
                            const char *run_id)
{
    struct rb_step *s = xcalloc(1, sizeof(*s));
    s->kind = kind;
    s->old = old;
    s->now = now;
    s->run_id = run_id;
    s->address = old ? old->address : now->address;
    if (kind == RB_DELETE) s->what = "rollback-delete";
    else if (kind == RB_RECREATE) s->what = "rollback-create";
    else s->what = json_equal(old->inputs, now->inputs) ? "rollback-restore" : "rollback-update";
    mesh_err_init(&s->err);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return s;
}

void rb_step_free(void *p)
{
    struct rb_step *s = p;
    if (!s) return;
    vec_release(&s->dependents);
    state_row_free(s->put);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void rb_step_ack(struct rb_step *s, int go_on)
{
    pthread_mutex_lock(&s->mu);
    s->acked = 1;
    s->go_on = go_on;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Posts the step; after RBS_CREATED, waits for the coordinator's answer: 1 go on, 0 stop. */
static int step_post(struct pool *p, struct rb_step *s, enum rb_stage stage)
{
    pthread_mutex_lock(&s->mu);
    s->stage = stage;
    s->acked = 0;
    pthread_mutex_unlock(&s->mu);
    pool_post(p, s);
    if (stage != RBS_CREATED) return 1;
    pthread_mutex_lock(&s->mu);
    while (!s->acked) pthread_cond_wait(&s->cv, &s->mu);
    int go_on = s->go_on;
    pthread_mutex_unlock(&s->mu);
    return go_on;
}

static const struct driver *step_driver(struct rb_step *s, const char *type)
{
    const struct driver *d = driver_find(type);
    if (!d) s->rc = mesh_err_set(&s->err, MESH_ERR, s->address, "unknown type %s", type);
    return d;
}

/* Rollback runs after the first Ctrl-C, which set cancel_flag: its calls must not see that flag,
 * or a delete that waits (a cluster still CREATING answers ResourceInUse) would give up at once
 * and leave the object behind. A second Ctrl-C exits the process instead (cancel.c). */
static volatile sig_atomic_t rollback_not_cancelled;

static void step_call_init(struct call *c, const struct driver *d, const char *address, const struct state_row *row,
                           struct rb_step *s)
{
    invoke_init(c, d, address, row->connection, s->run_id, s->what, &s->err);
    c->cancel = &rollback_not_cancelled;
}

static void step_delete(struct rb_step *s)
{
    const struct driver *d = step_driver(s, s->now->type);
    struct call c;
    if (!d) return;
    step_call_init(&c, d, s->address, s->now, s);
    s->rc = invoke_delete(&c, d, s->now->outputs);
}

/* An object that still exists but changed (or was deposed): put its old attributes back. */
static void step_restore(struct rb_step *s)
{
    const struct state_row *old = s->old, *now = s->now;
    s->put = state_row_dup(old);
    if (json_equal(old->inputs, now->inputs)) return;
    const struct driver *d = step_driver(s, old->type);
    if (!d) return;
    for (const struct attr *a = d->schema; a->name; a++)
        if ((a->flags & ATTR_IRREVERSIBLE) &&
            !json_equal(json_object_get(old->inputs, a->name), json_object_get(now->inputs, a->name))) {
            s->rc = mesh_err_set(&s->err, MESH_ERR, old->address,
                                 "%s changed irreversibly; rollback cannot undo it (it stays as applied)", a->name);
            return;
        }
    json_t *outs = NULL;
    struct call c;
    step_call_init(&c, d, old->address, now, s);
    s->rc = invoke_update(&c, d, now->outputs, now->inputs, old->inputs, &outs);
    if (!s->rc && outs) {
        json_decref(s->put->outputs);
        s->put->outputs = outs;
    } else {
        json_decref(outs);
    }
}

/* Posts RBS_CREATED itself (the ID is committed before the wait); returns 0 to stop there. */
static int step_recreate(struct pool *p, struct rb_step *s)
{
    const struct driver *d = step_driver(s, s->old->type);
    if (!d) return 1;
    json_t *outs = NULL, *ready = NULL;
    struct call c;
    step_call_init(&c, d, s->address, s->old, s);
    s->rc = invoke_create(&c, d, s->old->inputs, &outs);
    if (s->rc) {
        json_decref(outs);
        return 1;
    }
    s->put = state_row_dup(s->old);
    json_decref(s->put->outputs);
    s->put->outputs = outs;
    if (!step_post(p, s, RBS_CREATED)) return 0;
    s->rc = invoke_wait(&c, d, outs, &ready);
    if (!s->rc && ready) {
        json_decref(s->put->outputs);
        s->put->outputs = ready;
        s->put_again = 1;
    } else {
        json_decref(ready);
    }
    return 1;
}

void rb_step_run(struct pool *p, void *item, void *ctx)
{
    (void)ctx;
    struct rb_step *s = item;
    if (atomic_load(s->stop)) {
        step_post(p, s, RBS_NOT_STARTED);
        return;
    }
    switch (s->kind) {
    case RB_DELETE: step_delete(s); break;
    case RB_RESTORE: step_restore(s); break;
    case RB_RECREATE:
        if (!step_recreate(p, s)) {
            step_post(p, s, RBS_NOT_STARTED);
            return;
        }
        break;
    }
    step_post(p, s, RBS_FINISHED);
}
