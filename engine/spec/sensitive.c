/* sensitive.c: sensitivity follows references. An attribute is sensitive when its driver's schema
 * says so, when a sensitive variable's value went into it (compile.c, vars.c), or, from here,
 * when any ${ADDRESS.OUTPUT} inside it names a sensitive attribute: a whole value or spliced into
 * a longer string, at any depth of maps and lists. The marks join r->sensitive, the one list that
 * makes plans print (sensitive), state encrypt the value, and `outputs:` that read it sensitive.
 *
 * The engine cannot tell which outputs of a driver echo which inputs (null_resource's `output` is
 * its `input`), so once the spec made an input of a resource sensitive, every computed output of
 * it but `id` is sensitive too; a driver's own SENSITIVE inputs do not count (its schema flags
 * what it echoes). A false positive only hides a value. Passes repeat until nothing changes, so a
 * secret is followed through any number of hops. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "spec/ref.h"
#include "spec/spec_int.h"

int spec_name_listed(const json_t *names, const char *name)
{
    if (!name) return 0;
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) if (json_string_value(v) && strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

/* Returns 1 when it added the mark. */
static int mark(struct spec_resource *r, const char *name)
{
    if (spec_attr_sensitive(r, r->driver, name)) return 0;
    if (!r->sensitive) r->sensitive = json_array();
    json_array_append_new(r->sensitive, json_string(name));
    return 1;
}

static int string_refs_sensitive(const struct spec *s, const char *str)
{
    if (!strstr(str, "${")) return 0;
    struct vec refs = VEC_INIT;
    char msg[8];
    size_t off;
    int hit = 0;
    ref_parse(str, &refs, msg, sizeof(msg), &off);  /* the loader reported malformed ones */
    for (size_t k = 0; k < refs.len && !hit; k++) {
        const struct ref *x = refs.items[k];
        const struct spec_resource *t = spec_find(s, x->address);
        hit = t && t->driver && spec_attr_sensitive(t, t->driver, x->output);
    }
    vec_free_all(&refs, ref_free);
    return hit;
}

static int value_refs_sensitive(const struct spec *s, const json_t *v)
{
    if (json_is_string(v)) return string_refs_sensitive(s, json_string_value(v));
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_object(v)) json_object_foreach((json_t *)v, k, x) if (value_refs_sensitive(s, x)) return 1;
    if (json_is_array(v)) json_array_foreach(v, i, x) if (value_refs_sensitive(s, x)) return 1;
    return 0;
}

/* True when the spec, not the driver, made one of r's inputs sensitive. */
static int spec_made_input(const struct spec_resource *r)
{
    size_t i;
    json_t *v;
    json_array_foreach(r->sensitive, i, v) {
        const struct attr *a = driver_attr(r->driver, json_string_value(v));
        if (a && !(a->flags & (ATTR_SENSITIVE | ATTR_COMPUTED))) return 1;
    }
    return 0;
}

static int has_refs(const struct spec_resource *r)
{
    for (size_t i = 0; i < r->deps.len; i++)
        if (((const struct spec_dep *)r->deps.items[i])->output) return 1;
    return 0;
}

/* One pass over r; returns 1 when it marked anything. */
static int resource_pass(const struct spec *s, struct spec_resource *r)
{
    int changed = 0;
    const char *k;
    json_t *v;
    if (has_refs(r))
        json_object_foreach(r->attrs, k, v) if (!spec_name_listed(r->sensitive, k) && value_refs_sensitive(s, v)) changed |= mark(r, k);
    if (r->sensitive && spec_made_input(r))
        for (const struct attr *a = r->driver->schema; a->name; a++)
            if ((a->flags & ATTR_COMPUTED) && strcmp(a->name, "id") != 0) changed |= mark(r, a->name);
    return changed;
}

void spec_mark_sensitive_refs(struct spec *s)
{
    int changed;
    do {
        changed = 0;
        for (size_t i = 0; i < s->resources.len; i++) {
            struct spec_resource *r = s->resources.items[i];
            if (r->driver) changed |= resource_pass(s, r);
        }
    } while (changed);
}

json_t *spec_sensitive_names(const struct spec_resource *r, const struct driver *d)
{
    json_t *names = json_array();
    for (const struct attr *a = d ? d->schema : NULL; a && a->name; a++)
        if (a->flags & ATTR_SENSITIVE) json_array_append_new(names, json_string(a->name));
    size_t i;
    json_t *v;
    if (r) json_array_foreach(r->sensitive, i, v) if (!spec_name_listed(names, json_string_value(v))) json_array_append(names, v);
    return names;
}
