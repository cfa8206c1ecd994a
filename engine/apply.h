/* apply.h: executing a plan. Phase 1 (creates, updates, the create half of replacements) runs in
 * dependency order on a worker pool; phase 2 (deletes) in reverse order, only after phase 1 fully
 * succeeded. One coordinator thread owns the state store: it journals an intent before every
 * driver call and commits each result the moment it arrives (results that arrive together share a
 * transaction). A phase 1 failure or Ctrl-C drains the calls in flight and rolls back. */
#ifndef MESH_APPLY_H
#define MESH_APPLY_H

#include "base/err.h"
#include "base/vec.h"

struct plan;
struct store;

struct apply_opts {
    int parallelism;
    int no_rollback;
    const char *run_id;
    const struct vec *rows;   /* state rows before the run: resolves references to untouched resources */
};

struct apply_report {
    int created, updated, replaced, deleted;
    int failed;          /* driver calls that failed */
    int interrupted;     /* Ctrl-C */
    int rolled_back;     /* rollback ran */
    int rollback_failed; /* rollback steps that failed */
    int phase2_failed;   /* a delete failed: state keeps the rest */
    int store_failed;    /* the state store stopped accepting writes: no rollback was possible */
    int lock_lost;       /* another run took the state lock over: this one wrote nothing after that */
    double seconds;
};

/* Returns 0 when everything in the plan was done; MESH_ERR after a failure (rolled back or not,
 * as the report says); err holds the first failure. */
int apply_run(struct store *st, struct plan *p, const struct apply_opts *o, struct apply_report *rep,
              struct mesh_err *err);

/* rollback.c: brings state (and the world) back to `before` (the snapshot taken when run_id
 * started): deletes objects made since, restores updated ones, un-deposes replaced ones, re-creates
 * deleted ones. Journals each step under exec_run_id (the intent before its driver call). Returns 0
 * when every step succeeded, else MESH_ERR with err holding the first failure. A step that failed
 * leaves state saying what exists; a journal or state write that failed stops the rollback before
 * its next driver call (store_broken: the run must stay open for a later recovery). */
struct rollback_outcome {
    int failed;        /* steps that failed */
    int store_broken;  /* a state write failed: the rollback stopped there */
};
int rollback_to(struct store *st, const struct vec *before, const char *exec_run_id, int parallelism,
                struct rollback_outcome *out, struct mesh_err *err);

/* recover.c: finds runs cut off by a crash; plan_notes describes them for `mesh plan` (dry_run),
 * otherwise adopts their interrupted creates (driver find) and rolls them back (or, with resume,
 * keeps their progress). The rollback's steps are journaled under the cut-off run itself, so a
 * recovery that is cut off in turn is recovered the same way; exec_run_id is not used for them.
 * Returns the number of runs recovered, or a negative code. */
struct spec;
int recover_runs(struct store *st, const struct spec *spec, const char *exec_run_id, int resume, int dry_run,
                 int parallelism, struct plan *plan_notes, struct mesh_err *err);
/* For `mesh plan` with runs still open: turns rows (loaded from state) into what recovering them
 * would leave, without writing anything: the snapshot a rollback returns to (rows it would restore
 * or re-create marked predicted: refresh takes them as they are), or, with resume or past phase 1,
 * the rows now plus the objects find reports for interrupted creates. */
int recover_preview(struct store *st, const struct spec *spec, int resume, struct vec *rows, struct mesh_err *err);

#endif
