/* diff.h: building the plan from the spec, the state rows and a refresh. Pure: changes nothing. */
#ifndef MESH_DIFF_H
#define MESH_DIFF_H

#include "base/err.h"
#include "base/vec.h"
#include "plan.h"

struct spec;

struct plan_input {
    const struct spec *spec;     /* may be NULL for destroy */
    const struct vec *rows;      /* struct state_row *, from store_load */
    int refresh;
    int destroy;
    int parallelism;
    const struct vec *targets;   /* const char * patterns; may be empty */
    const char *run_id;
};

int plan_build(const struct plan_input *in, struct plan **out, struct mesh_err *err);

/* Outputs of the current object at address as the plan (or a live run) sees them: known values
 * from state, NULL when not known until apply. Used to resolve references. */
const json_t *plan_lookup(void *plan, const char *address, const char *output);

#endif
