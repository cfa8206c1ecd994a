/* apply_job.h: one unit of work of an apply (private to apply.c and apply_job.c). A job runs on a
 * worker and posts itself back to the coordinator after each step that changed the world. */
#ifndef MESH_APPLY_JOB_H
#define MESH_APPLY_JOB_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/err.h"
#include "base/vec.h"

struct plan_entry;
struct pool;
struct state_row;
struct driver;

enum job_kind { JOB_CREATE, JOB_UPDATE, JOB_REPLACE_CBD, JOB_REPLACE_DBC, JOB_DELETE, JOB_DELETE_DEPOSED };

/* What a posted job reports. SKIPPED: the run stopped before the job's (next) driver call. */
enum job_stage { STAGE_NONE, STAGE_CREATED, STAGE_OLD_DELETED, STAGE_DONE, STAGE_FAILED, STAGE_SKIPPED };

struct job {
    struct plan_entry *e;
    enum job_kind kind;
    const char *run_id;
    int remaining;            /* dependencies not yet done */
    struct vec dependents;    /* struct job * */
    int started, finished;
    double t0;
    double last_progress;
    char note[512];           /* the driver's latest progress note (what it waits for); under mu */
    /* worker <-> coordinator */
    json_t *desired;          /* resolved at dispatch */
    json_t *outputs;          /* from create/update/wait */
    const json_t *old_outputs; /* object being deleted */
    char deposed[32];         /* JOB_DELETE_DEPOSED / JOB_REPLACE_CBD: key of the old object */
    const char *op;           /* "create", "update", "delete": what the timeout applies to */
    double timeout;           /* seconds; 0: none */
    enum job_stage stage;
    int rc;
    struct mesh_err err;
    int unsure;               /* a failed create whose object may exist (find could not tell): its
                               * intent stays open for the next run's recovery */
    int unresolved;           /* set at dispatch (with err): a value it refers to is not known; no driver call */
    int needs_ack;
    int acked;
    int go_on;                /* the ack's answer: 0 when the state store broke (call no driver again) */
    atomic_int *stop;         /* the coordinator's flag: once set, a job not yet started calls no driver */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct job *job_new(struct plan_entry *e, enum job_kind kind, const char *run_id);
void job_free(void *j);
/* Worker entry point (pool_run_fn). */
void job_run(struct pool *p, void *item, void *ctx);
/* Coordinator: answers a job that posted a mid-run stage: go on (1), or stop before its next
 * driver call (0: its result could not be recorded). */
void job_ack(struct job *j, int go_on);
const char *job_verb(const struct job *j);       /* "Creating", "Modifying", "Destroying" ... */
const char *job_noun(const struct job *j);       /* "Creation", "Modifications", "Destruction" ... */
const char *job_action(const struct job *j);     /* journal action: "create", "update", ... */
/* The driver's latest progress note ("" when none), copied under the job's lock. */
void job_note_get(struct job *j, char *buf, size_t n);

/* Sensitive attribute names of a driver (inputs and outputs) as a JSON array. */
json_t *driver_sensitive_names(const struct driver *d);

#endif
