/* apply_job.h: one unit of work of an apply (private to apply.c and apply_job.c). A job runs on a
 * worker and posts itself back to the coordinator after each step that changed the world. */
#ifndef MESH_APPLY_JOB_H
#define MESH_APPLY_JOB_H

#include <jansson.h>
#include <pthread.h>

#include "base/err.h"
#include "base/vec.h"

struct plan_entry;
struct pool;
struct state_row;
struct driver;

enum job_kind { JOB_CREATE, JOB_UPDATE, JOB_REPLACE_CBD, JOB_REPLACE_DBC, JOB_DELETE, JOB_DELETE_DEPOSED };

/* What a posted job reports. */
enum job_stage { STAGE_NONE, STAGE_CREATED, STAGE_OLD_DELETED, STAGE_DONE, STAGE_FAILED };

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
    int needs_ack;
    int acked;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct job *job_new(struct plan_entry *e, enum job_kind kind, const char *run_id);
void job_free(void *j);
/* Worker entry point (pool_run_fn). */
void job_run(struct pool *p, void *item, void *ctx);
/* Coordinator: lets a job that posted a mid-run stage go on. */
void job_ack(struct job *j);
const char *job_verb(const struct job *j);       /* "Creating", "Modifying", "Destroying" ... */
const char *job_noun(const struct job *j);       /* "Creation", "Modifications", "Destruction" ... */
const char *job_action(const struct job *j);     /* journal action: "create", "update", ... */
/* The driver's latest progress note ("" when none), copied under the job's lock. */
void job_note_get(struct job *j, char *buf, size_t n);

/* Sensitive attribute names of a driver (inputs and outputs) as a JSON array. */
json_t *driver_sensitive_names(const struct driver *d);

#endif
