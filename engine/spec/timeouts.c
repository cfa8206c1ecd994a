/* timeouts.c: how long a create, update or delete may take. Per resource (`timeouts:` inside a
 * raw resource) over per type (the top-level `timeouts:` section, keyed by resource type) over the
 * driver's defaults. Values are durations ("90s", "15m", "1h"); the result is seconds in
 * spec_resource.timeouts. A call that runs past its timeout fails like any other (rollback). */
#include <stdio.h>
#include <string.h>

#include "base/duration.h"
#include "base/suggest.h"
#include "driver.h"
#include "spec/spec_int.h"

static const char *const timeout_ops[] = {"create", "update", "delete", NULL};

/* A {create, update, delete} map as seconds; diagnostics for anything else. NULL if unusable. */
json_t *timeouts_from_node(const struct node *v, const char *what, const struct spec_ctx *c)
{
    if (v->kind != NODE_MAP) {
        diag_error(c->dl, c->file, v->line, v->col, "%s: `timeouts` must be a map like {create: 15m, delete: 10m}, not %s",
                   what, node_kind_name(v));
        return NULL;
    }
    json_t *out = json_object();
    for (size_t i = 0; i < v->n; i++) {
        const struct node *k = v->pairs[i].key, *val = v->pairs[i].value;
        int known = 0;
        for (int o = 0; timeout_ops[o]; o++) known |= strcmp(k->scalar, timeout_ops[o]) == 0;
        if (!known) {
            diag_error(c->dl, c->file, k->line, k->col, "%s: unknown timeout `%s` (create, update or delete)", what,
                       k->scalar);
            continue;
        }
        double secs = val->kind == NODE_SCALAR ? duration_parse(val->scalar) : -1;
        if (secs <= 0) {
            diag_error(c->dl, c->file, val->line, val->col,
                       "%s: timeouts.%s must be a positive duration like 90s, 15m or 1h", what, k->scalar);
            continue;
        }
        json_object_set_new(out, k->scalar, json_real(secs));
    }
    return out;
}

/* The top-level section: fills every resource of each named type, under what it set itself. */
void compile_type_timeouts(struct spec *s, const struct spec_ctx *c)
{
    const struct node *sec = node_get(s->root, "timeouts");
    if (!sec) return;
    if (sec->kind != NODE_MAP) {
        diag_error(c->dl, c->file, sec->line, sec->col, "`timeouts` must be a map of resource type to {create, update, delete}");
        return;
    }
    for (size_t i = 0; i < sec->n; i++) {
        const struct node *k = sec->pairs[i].key;
        if (!driver_find(k->scalar)) {
            const char *best = driver_suggest(k->scalar);
            diag_error(c->dl, c->file, k->line, k->col, "timeouts: unknown resource type `%s`%s%s%s", k->scalar,
                       best ? "; did you mean `" : "", best ? best : "", best ? "`?" : "");
            continue;
        }
        char what[160];
        snprintf(what, sizeof(what), "timeouts.%s", k->scalar);
        json_t *t = timeouts_from_node(sec->pairs[i].value, what, c);
        if (!t) continue;
        for (size_t r = 0; r < s->resources.len; r++) {
            struct spec_resource *res = s->resources.items[r];
            if (strcmp(res->type, k->scalar) != 0) continue;
            if (!res->timeouts) res->timeouts = json_object();
            json_object_update_missing(res->timeouts, t);
        }
        json_decref(t);
    }
}
