/* outputs.c: the outputs: section. Each output is a value (short form `name: VALUE`) or a map
 * `{value: VALUE, sensitive: BOOL, description: TEXT}` (long form; so an output whose value is a
 * map is written in the long form). Variables are already substituted; every ${ADDRESS.OUTPUT}
 * must name a resource of the spec and an attribute or output of its type, checked here like the
 * resources' references. After an apply the engine resolves them against state (outputs_apply.c). */
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/suggest.h"
#include "driver.h"
#include "spec/ref.h"
#include "spec/spec_int.h"
#include "base/xalloc.h"

void spec_output_free(void *p)
{
    struct spec_output *o = p;
    if (!o) return;
    free(o->name);
    json_decref(o->value);
    vec_free_all(&o->deps, spec_dep_free);
    free(o);
}

/* Every reference names a resource of the spec and an attribute of its type; an output fed by a
 * sensitive attribute is sensitive. */
static void check_refs(const struct spec *s, struct spec_output *o, int *budget, const struct spec_ctx *c)
{
    char who[300];
    snprintf(who, sizeof(who), "output `%s`", o->name);
    for (size_t i = 0; i < o->deps.len; i++) {
        const struct spec_dep *d = o->deps.items[i];
        const struct spec_resource *t = spec_find(s, d->address);
        if (!t) {
            spec_diag_unknown_target(s, who, d, budget, c);
            continue;
        }
        if (!t->driver) continue;  /* its unknown type is reported already */
        if (!driver_attr(t->driver, d->output)) {
            spec_diag_unknown_output(who, d, t, c);
            continue;
        }
        if (spec_attr_sensitive(t, t->driver, d->output)) o->sensitive = 1;
    }
}

static int name_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* The value node of one output, or NULL after reporting a malformed long form. */
static const struct node *long_form(struct spec_output *o, const struct node *key, const struct node *body,
                                    const struct spec_ctx *c)
{
    const struct node *value = NULL;
    for (size_t i = 0; i < body->n; i++) {
        const struct node *k = body->pairs[i].key, *v = body->pairs[i].value;
        if (strcmp(k->scalar, "value") == 0) {
            value = v;
        } else if (strcmp(k->scalar, "sensitive") == 0) {
            if (v->kind != NODE_SCALAR || node_scalar_type(v) != SCALAR_BOOL)
                diag_error(c->dl, c->file, v->line, v->col, "`outputs.%s.sensitive` must be true or false, not %s", o->name,
                           node_kind_name(v));
            else if (v->scalar[0] == 't' || v->scalar[0] == 'T')
                o->sensitive = 1;
        } else if (strcmp(k->scalar, "description") == 0) {
            if (v->kind != NODE_SCALAR)
                diag_error(c->dl, c->file, v->line, v->col, "`outputs.%s.description` must be a string, not %s", o->name,
                           node_kind_name(v));
        } else {
            static const char *const keys[] = {"value", "sensitive", "description", NULL};
            const char *best = suggest_word(k->scalar, keys);
            diag_error(c->dl, c->file, k->line, k->col,
                       "unknown key `%s` in `outputs.%s` (an output is a value, or a map of value, sensitive and "
                       "description)%s%s%s", k->scalar, o->name, best ? "; did you mean `" : "", best ? best : "",
                       best ? "`?" : "");
        }
    }
    if (!value)
        diag_error(c->dl, c->file, key->line, key->col, "`outputs.%s` is missing the required key `value`", o->name);
    return value;
}

void compile_outputs(struct spec *s, const struct spec_ctx *c)
{
    const struct node *section = node_get(s->root, "outputs");
    if (!section || section->kind != NODE_MAP) return;  /* not a map: schema.c says so */
    int budget = SPEC_MAX_ADDRESS_SUGGESTIONS;  /* 5,000 unknown references x 20,000 addresses took 220 s */
    for (size_t i = 0; i < section->n; i++) {
        const struct node *key = section->pairs[i].key, *body = section->pairs[i].value;
        if (!name_ok(key->scalar)) {
            diag_error(c->dl, c->file, key->line, key->col,
                       "`%s` is not a valid output name: use letters, digits, `_` and `-`", key->scalar);
            continue;
        }
        struct spec_output *o = xcalloc(1, sizeof(*o));
        o->name = xstrdup(key->scalar);
        o->line = key->line;
        o->col = key->col;
        vec_init(&o->deps);
        const struct node *value = body->kind == NODE_MAP ? long_form(o, key, body, c) : body;
        if (!value) {
            spec_output_free(o);
            continue;
        }
        o->value = node_to_json(value);
        if (node_has_sensitive(value)) o->sensitive = 1;
        char who[300];
        snprintf(who, sizeof(who), "output `%s`", o->name);
        spec_collect_refs(&o->deps, value, who, c);
        check_refs(s, o, &budget, c);
        vec_push(&s->outputs, o);
    }
}
