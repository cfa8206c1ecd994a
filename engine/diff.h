/* diff.h: building the plan from the spec, the state rows and a refresh. Pure: changes nothing. */
#ifndef MESH_DIFF_H
#define MESH_DIFF_H

#include "base/err.h"
#include "base/vec.h"
#include "plan.h"

struct spec;
struct store;

struct plan_input {
    const struct spec *spec;     /* may be NULL for destroy */
    const struct vec *rows;      /* struct state_row *, from store_load */
    int refresh;
    int destroy;
    int parallelism;
    const struct vec *targets;   /* const char * patterns; may be empty */
    const char *run_id;
    struct store *store;         /* for the outputs stored by the last apply; NULL: none stored */
};

int plan_build(const struct plan_input *in, struct plan **out, struct mesh_err *err);
/* diff_outputs.c, called by plan_build: p->outputs from the spec's outputs (resolved against the
 * plan, or state for resources outside --target) and those in->store holds. */
int diff_outputs(struct plan *p, const struct plan_input *in, struct mesh_err *err);

/* Outputs of the current object at address as the plan (or a live run) sees them: known values
 * from state, NULL when not known until apply. Used to resolve references. */
const json_t *plan_lookup(void *plan, const char *address, const char *output);

#endif
