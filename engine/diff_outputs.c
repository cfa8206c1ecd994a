/* diff_outputs.c: which outputs a run changes (see diff.h). What apply will store (cmd_output.c,
 * outputs_after_run) is each spec output resolved against state after the run; here it is
 * resolved against the plan: known where the referenced resource keeps its outputs, unknown
 * where the run makes them anew. A destroy removes every output. */
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "store.h"
#include "base/xalloc.h"

struct lookup_ctx {
    struct plan *plan;
    const struct vec *rows;
};

/* A resource in the plan resolves as the plan says; one outside it (--target) as state holds it. */
static const json_t *output_lookup(void *ctx, const char *address, const char *output)
{
    struct lookup_ctx *c = ctx;
    if (map_get(&c->plan->by_address, address)) return plan_lookup(c->plan, address, output);
    for (size_t i = 0; i < c->rows->len; i++) {
        const struct state_row *r = c->rows->items[i];
        if (!r->deposed[0] && strcmp(r->address, address) == 0) return state_row_value(r, output);
    }
    return NULL;
}

static int listed(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) if (json_string_value(v) && strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

static int output_cmp(const void *a, const void *b)
{
    return strcmp((*(struct plan_output *const *)a)->name, (*(struct plan_output *const *)b)->name);
}

static void output_add(struct plan *p, const char *name, json_t *old, json_t *new, int sensitive)
{
    struct plan_output *o = xcalloc(1, sizeof(*o));
    o->name = xstrdup(name);
    o->action = !old ? ACT_CREATE : !new ? ACT_DELETE : ACT_UPDATE;
    o->old = old ? json_incref(old) : NULL;
    o->new = new ? json_incref(new) : NULL;
    o->sensitive = sensitive;
    vec_push(&p->outputs, o);
}

int diff_outputs(struct plan *p, const struct plan_input *in, struct mesh_err *err)
{
    json_t *stored = NULL, *stored_sensitive = NULL;
    if (in->store && store_outputs_get(in->store, &stored, &stored_sensitive, err)) return -1;
    if (!stored) stored = json_object();
    if (!stored_sensitive) stored_sensitive = json_array();
    json_t *seen = json_object();
    struct lookup_ctx ctx = {p, in->rows};
    for (size_t i = 0; !in->destroy && in->spec && i < in->spec->outputs.len; i++) {
        const struct spec_output *o = in->spec->outputs.items[i];
        int unknown = 0;
        json_t *want = ref_resolve(o->value, output_lookup, &ctx, &unknown);
        json_t *have = json_object_get(stored, o->name);
        int was_sensitive = listed(stored_sensitive, o->name);
        json_object_set_new(seen, o->name, json_true());
        if (!have || unknown || !json_equal(have, want) || was_sensitive != o->sensitive)
            output_add(p, o->name, have, want, o->sensitive || was_sensitive);
        json_decref(want);
    }
    const char *name;
    json_t *v;
    json_object_foreach(stored, name, v) if (!json_object_get(seen, name))
        output_add(p, name, v, NULL, listed(stored_sensitive, name));
    vec_sort(&p->outputs, output_cmp);
    json_decref(seen);
    json_decref(stored);
    json_decref(stored_sensitive);
    return 0;
}
