/* apply_job.c: the worker side of an apply: one job's driver calls (see apply_job.h). */
#include "apply_job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "driver.h"
#include "spec/spec.h"
#include "invoke.h"
#include "plan.h"
#include "pool.h"
#include "store.h"
#include "base/xalloc.h"
#include "ui.h"

struct job *job_new(struct plan_entry *e, enum job_kind kind, const char *run_id)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->e = e;
    j->kind = kind;
    j->run_id = run_id;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

void job_free(void *p)
{
    struct job *j = p;
    vec_release(&j->dependents);
    json_decref(j->desired);
    json_decref(j->outputs);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

const char *job_verb(const struct job *j)
{
    static const char *v[] = {"Creating", "Modifying", "Replacing", "Replacing", "Destroying", "Destroying"};
    return v[j->kind];
}

const char *job_noun(const struct job *j)
{
    static const char *v[] = {"Creation", "Modifications", "Replacement", "Replacement", "Destruction", "Destruction"};
    return v[j->kind];
}

const char *job_action(const struct job *j)
{
    static const char *v[] = {"create", "update", "replace", "replace", "delete", "delete-deposed"};
    return v[j->kind];
}

json_t *driver_sensitive_names(const struct driver *d)
{
    json_t *a = json_array();
    for (const struct attr *at = d ? d->schema : NULL; at && at->name; at++)
        if (at->flags & ATTR_SENSITIVE) json_array_append_new(a, json_string(at->name));
    return a;
}

/* Posts the job and, for a mid-run stage, blocks until the coordinator committed it; then
 * returns -1 if the coordinator said to stop. */
static int job_post(struct pool *p, struct job *j, enum job_stage stage, int wait_ack)
{
    pthread_mutex_lock(&j->mu);
    j->stage = stage;
    j->needs_ack = wait_ack;
    j->acked = 0;
    pthread_mutex_unlock(&j->mu);
    pool_post(p, j);
    if (!wait_ack) return 0;
    pthread_mutex_lock(&j->mu);
    while (!j->acked) pthread_cond_wait(&j->cv, &j->mu);
    int go_on = j->go_on;
    pthread_mutex_unlock(&j->mu);
    return go_on ? 0 : -1;
}

void job_ack(struct job *j, int go_on)
{
    pthread_mutex_lock(&j->mu);
    j->acked = 1;
    j->go_on = go_on;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void job_fail(struct pool *p, struct job *j, int rc)
{
    j->rc = rc ? rc : MESH_ERR;
    job_post(p, j, STAGE_FAILED, 0);
}

/* The timeout of this job's operation: the spec's (per resource, else per type), else the
 * driver's default; 0 for none. */
static double job_timeout(const struct job *j, const char *op)
{
    const struct spec_resource *r = j->e->res;
    const json_t *ts = r ? r->timeouts : j->e->delete_timeouts;
    json_t *t = ts ? json_object_get(ts, op) : NULL;
    if (json_is_number(t)) return json_number_value(t);
    const struct driver *d = j->e->driver;
    if (strcmp(op, "create") == 0) return d->timeout_create;
    if (strcmp(op, "update") == 0) return d->timeout_update;
    return d->timeout_delete;
}

/* struct call.progress: a driver says what it waits for ("DeleteSubnet: DependencyViolation ...;
 * eni-1 uses it"); the coordinator shows the latest note on its next "Still ..." line. */
static void job_note(void *ctx, const char *address, const char *fmt, ...)
{
    struct job *j = ctx;
    (void)address;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&j->mu);
    vsnprintf(j->note, sizeof(j->note), fmt, ap);
    pthread_mutex_unlock(&j->mu);
    va_end(ap);
}

void job_note_get(struct job *j, char *buf, size_t n)
{
    pthread_mutex_lock(&j->mu);
    snprintf(buf, n, "%s", j->note);
    pthread_mutex_unlock(&j->mu);
}

static void job_set_deadline(struct job *j, struct call *c, const char *op)
{
    job_note(j, NULL, "%s", "");  /* a new call: the last one's note no longer applies */
    c->progress = job_note;
    c->progress_ctx = j;
    j->timeout = job_timeout(j, op);
    j->op = op;
    c->deadline = j->timeout > 0 ? mesh_now_mono() + j->timeout : 0;
}

static int job_timed_out(const struct job *j, const struct call *c)
{
    return c->deadline > 0 && mesh_now_mono() > c->deadline;
}

/* A call that came back after its deadline: what it did is committed first (so rollback can undo
 * it), then the job fails like any other. */
static void job_fail_timeout(struct pool *p, struct job *j)
{
    job_post(p, j, STAGE_CREATED, 1);
    mesh_err_set(&j->err, MESH_ETIMEOUT, j->e->address, "%s timed out after %gs (set timeouts.%s in the spec to allow longer)",
                 j->op, j->timeout, j->op);
    job_fail(p, j, MESH_ETIMEOUT);
}

/* A create that may have met its own object:
 * - refused as a duplicate (MESH_ECONFLICT: IAM's EntityAlreadyExists, EC2's InvalidSubnet.Conflict):
 *   the first attempt took effect, its reply was lost, and the HTTP layer's resend was refused;
 * - outcome unknown (MESH_EUNKNOWN): a create the HTTP layer does not resend (http.h `once`: a
 *   second CreateVpc makes a second VPC) was sent and got no final answer.
 * The driver's find looks it up by mesh's tags (this address, this run), as recovery after a crash
 * does; found, it is adopted (committed, waited for, undone if the run fails) and the create counts
 * as done. Returns ADOPT_FOUND, ADOPT_NONE (find answered: no such object; for a duplicate, someone
 * else's, so the create's own error stands) or ADOPT_FAILED (no find, cancelled, or the find
 * failed twice: whether the object exists is not known). */
enum { ADOPT_FAILED = -1, ADOPT_NONE = 0, ADOPT_FOUND = 1 };

static int job_adopt_after_failed_create(struct call *c, const struct driver *d, const struct job *j, json_t **out)
{
    if (!d->find || (c->cancel && *c->cancel)) return ADOPT_FAILED;
    struct mesh_err e;
    mesh_err_init(&e);
    struct call fc = *c;
    fc.err = &e;
    json_t *found = NULL;
    /* a find that fails (not "none") is tried once more, unless it timed out after the HTTP
     * layer's own retries (the endpoint is down or stalled): missing the object here leaves it to
     * the next run's recovery (the create's intent stays open) */
    int rc = invoke_find(&fc, d, j->desired, &found);
    if (rc && rc != MESH_ENOTFOUND && rc != MESH_ECANCELED && rc != MESH_ETIMEOUT) {
        json_decref(found);
        found = NULL;
        mesh_err_clear(&e);
        rc = invoke_find(&fc, d, j->desired, &found);
    }
    if (rc != 0 || !json_is_object(found)) {
        json_decref(found);
        return rc == MESH_ENOTFOUND || (rc == 0 && !found) ? ADOPT_NONE : ADOPT_FAILED;
    }
    const char *id = json_string_value(json_object_get(found, "id"));
    char why[256];
    if (!ui.json)
        ui_out("%s: the create failed (%s), but the object exists: adopted [id=%s]\n", j->e->address,
           mesh_err_str(c->err, why, sizeof(why)), id ? id : "?");
    mesh_err_clear(c->err);
    *out = found;
    return ADOPT_FOUND;
}

/* How many times a create whose outcome was unknown and whose object find did not see is sent
 * again (each send has the HTTP layer's own retries before it is sent). */
#define CREATE_UNKNOWN_ROUNDS 3

/* invoke_create, with what may have taken effect looked up: 0 and *out when made or adopted. */
static int job_create_call(struct call *c, const struct driver *d, struct job *j, json_t **out, int *adopted)
{
    for (int round = 1;; round++) {
        int rc = invoke_create(c, d, j->desired, out);
        if (rc != MESH_ECONFLICT && rc != MESH_EUNKNOWN) return rc;
        json_decref(*out);
        *out = NULL;
        int found = job_adopt_after_failed_create(c, d, j, out);
        if (found == ADOPT_FOUND) {
            *adopted = 1;
            return 0;
        }
        /* Whether it exists is not known: the intent stays open (apply.c) so the next run's recovery
         * looks for it with this run's tags, as after a crash. */
        if (found == ADOPT_FAILED && d->find) j->unsure = 1;
        if (rc != MESH_EUNKNOWN || found != ADOPT_NONE || round >= CREATE_UNKNOWN_ROUNDS) return rc;
        if (!ui.json) {
            char why[256];
            ui_out("%s: the create's outcome is unknown (%s) and nothing was made: creating again\n",
                   j->e->address, mesh_err_str(c->err, why, sizeof(why)));
        }
        mesh_err_clear(c->err);
    }
}

/* The read of an object just adopted: find listed it, but a lookup by its ID may not see it for a
 * few seconds yet (EC2's eventual consistency), so "not found" is asked again, 0.25 s doubling,
 * 6 tries (MESH_BACKOFF_SCALE shrinks the waits, as it does the HTTP layer's). */
static int job_read_adopted(struct call *c, const struct driver *d, const json_t *outputs, json_t **cur)
{
    const char *sc = getenv("MESH_BACKOFF_SCALE");
    double wait = 0.25 * (sc && *sc && strtod(sc, NULL) >= 0 ? strtod(sc, NULL) : 1.0);
    for (int n = 1;; n++, wait *= 2) {
        int rc = invoke_read(c, d, outputs, cur);
        if (rc != MESH_ENOTFOUND || n >= 6 || (c->cancel && *c->cancel)) {
            if (rc == MESH_ENOTFOUND)
                rc = mesh_err_set(c->err, MESH_ERR, c->address, "the adopted object (found by its tags) is not "
                                  "found by its ID");
            return rc;
        }
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* create, commit the ID (ack), then wait until usable. */
static void job_create(struct pool *p, struct job *j, struct call *c)
{
    const struct driver *d = j->e->driver;
    json_t *out = NULL;
    int adopted = 0;
    int rc = job_create_call(c, d, j, &out, &adopted);
    if (rc) {
        json_decref(out);
        job_fail(p, j, rc);
        return;
    }
    if (!out || !json_is_object(out)) {
        json_decref(out);
        job_fail(p, j, mesh_err_set(&j->err, MESH_ERR, j->e->address, "create: the driver returned no outputs"));
        return;
    }
    j->outputs = out;
    if (job_timed_out(j, c)) {
        job_fail_timeout(p, j);
        return;
    }
    /* An adopted object may lack what the create does after its first call (a role's policy
     * attachments): brought to the spec as drift is, from what the world holds. */
    if (adopted && d->read && d->update) {
        json_t *cur = NULL, *upd = NULL;
        rc = job_read_adopted(c, d, j->outputs, &cur);
        if (!rc) rc = invoke_update(c, d, j->outputs, cur, j->desired, &upd);
        json_decref(cur);
        if (rc) {
            json_decref(upd);
            job_post(p, j, STAGE_CREATED, 1);  /* known, so a rollback deletes it */
            job_fail(p, j, rc);
            return;
        }
        if (upd) {
            json_decref(j->outputs);
            j->outputs = upd;
        }
    }
    if (!d->wait) {
        job_post(p, j, STAGE_DONE, 0);
        return;
    }
    if (job_post(p, j, STAGE_CREATED, 1)) {
        job_post(p, j, STAGE_SKIPPED, 0);  /* the ID could not be recorded: no wait either */
        return;
    }
    json_t *ready = NULL;
    rc = invoke_wait(c, d, j->outputs, &ready);
    if (rc) {
        json_decref(ready);
        job_fail(p, j, rc);
        return;
    }
    if (ready) {
        json_decref(j->outputs);
        j->outputs = ready;
    }
    if (job_timed_out(j, c)) {
        job_fail_timeout(p, j);
        return;
    }
    job_post(p, j, STAGE_DONE, 0);
}

void job_run(struct pool *p, void *item, void *ctx)
{
    (void)ctx;
    struct job *j = item;
    struct plan_entry *e = j->e;
    const struct driver *d = e->driver;
    struct call c;
    if (j->stop && atomic_load(j->stop)) {
        job_post(p, j, STAGE_SKIPPED, 0);  /* queued when the run stopped: never started */
        return;
    }
    if (j->unresolved) {
        job_fail(p, j, j->unresolved);
        return;
    }
    /* The object is made in the connection the spec names; an old one is deleted where it lives. */
    const char *conn = e->res ? e->res->connection : e->prior ? e->prior->connection : NULL;
    const char *old_conn = e->prior ? e->prior->connection : conn;
    invoke_init(&c, d, e->address, conn, j->run_id, job_action(j), &j->err);
    int rc;
    switch (j->kind) {
    case JOB_CREATE:
    case JOB_REPLACE_CBD:
        job_set_deadline(j, &c, "create");
        job_create(p, j, &c);
        return;
    case JOB_REPLACE_DBC:
        job_set_deadline(j, &c, "delete");
        c.connection = old_conn;
        rc = e->gone ? 0 : invoke_delete(&c, d, e->prior->outputs);
        c.connection = conn;
        if (rc) {
            job_fail(p, j, rc);
            return;
        }
        if (job_post(p, j, STAGE_OLD_DELETED, 1)) {
            job_post(p, j, STAGE_SKIPPED, 0);
            return;
        }
        job_set_deadline(j, &c, "create");
        job_create(p, j, &c);
        return;
    case JOB_UPDATE:
        job_set_deadline(j, &c, "update");
        rc = invoke_update(&c, d, e->prior->outputs, e->prior->inputs, j->desired, &j->outputs);
        if (rc) job_fail(p, j, rc);
        else if (job_timed_out(j, &c)) job_fail_timeout(p, j);
        else job_post(p, j, STAGE_DONE, 0);
        return;
    case JOB_DELETE:
    case JOB_DELETE_DEPOSED:
        job_set_deadline(j, &c, "delete");
        c.connection = old_conn;
        rc = e->gone ? 0 : invoke_delete(&c, d, j->old_outputs);
        if (rc) job_fail(p, j, rc);
        else if (job_timed_out(j, &c)) job_fail_timeout(p, j);
        else job_post(p, j, STAGE_DONE, 0);
        return;
    }
}
