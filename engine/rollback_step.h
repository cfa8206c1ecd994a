/* rollback_step.h: one step of a rollback (private to rollback.c and rollback_step.c). A step runs
 * on a worker, which only calls drivers, and posts itself back to the coordinator (rollback.c),
 * which alone writes the store: mid-run after a re-create (its new ID must be durable before the
 * wait), and when done. */
#ifndef MESH_ROLLBACK_STEP_H
#define MESH_ROLLBACK_STEP_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/err.h"
#include "base/vec.h"

struct pool;
struct state_row;

enum rb_kind { RB_DELETE, RB_RESTORE, RB_RECREATE };
/* Coordinator's view. BLOCKED: not attempted (a step it waits for failed, or the store broke). */
enum rb_state { RBS_PENDING, RBS_RUNNING, RBS_DONE, RBS_FAILED, RBS_BLOCKED };
/* What a posted step reports. */
enum rb_stage { RBS_STAGE_NONE, RBS_CREATED, RBS_FINISHED, RBS_NOT_STARTED };

struct rb_step {
    enum rb_kind kind;
    const struct state_row *old;  /* RESTORE, RECREATE: the row in the snapshot */
    const struct state_row *now;  /* DELETE, RESTORE: the row in state now */
    const char *address;
    const char *what;             /* journal action: rollback-delete, -restore, -update, -create */
    const char *run_id;
    int remaining;                /* steps to wait for */
    struct vec dependents;        /* struct rb_step * */
    enum rb_state state;
    /* worker -> coordinator */
    struct state_row *put;        /* RESTORE, RECREATE: the row to write */
    int put_again;                /* RECREATE: the wait returned outputs: write put again */
    enum rb_stage stage;
    int rc;
    struct mesh_err err;
    atomic_int *stop;             /* set by the coordinator once the store failed: call no driver */
    int acked, go_on;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

struct rb_step *rb_step_new(enum rb_kind kind, const struct state_row *old, const struct state_row *now,
                            const char *run_id);
void rb_step_free(void *s);
/* Worker entry point (pool_run_fn). */
void rb_step_run(struct pool *p, void *item, void *ctx);
/* Coordinator: the re-created object's ID is committed (go_on 1), or could not be (0: stop). */
void rb_step_ack(struct rb_step *s, int go_on);

#endif
