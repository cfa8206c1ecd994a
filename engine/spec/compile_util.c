/* compile_util.c: the small readers the section compilers share (compile_clusters.c,
 * compile_cluster_apps.c, compile_istio.c): a value of the spec with its default, and the edges
 * of the references inside the attributes a compiler wrote. */
#include <stdio.h>
#include <string.h>

#include "spec/ref.h"
#include "spec/spec_int.h"

const char *cu_str(const struct node *m, const char *key, const char *def)
{
    const struct node *v = node_get(m, key);
    return v && v->kind == NODE_SCALAR && node_scalar_type(v) != SCALAR_NULL ? v->scalar : def;
}

int cu_bool(const struct node *m, const char *key, int def)
{
    const struct node *v = node_get(m, key);
    if (!v || v->kind != NODE_SCALAR || node_scalar_type(v) != SCALAR_BOOL) return def;
    return strcmp(v->scalar, "true") == 0;
}

const struct node *cu_key(const struct node *m, const char *name)
{
    for (size_t i = 0; m && m->kind == NODE_MAP && i < m->n; i++)
        if (strcmp(m->pairs[i].key->scalar, name) == 0) return m->pairs[i].key;
    return NULL;
}

json_t *cu_ref(const char *address, const char *output)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "${%s.%s}", address, output);
    return json_string(buf);
}

void cu_edges(const struct spec_ctx *c, struct spec_resource *r, const json_t *v)
{
    const char *key;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, x) cu_edges(c, r, x);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x) cu_edges(c, r, x);
    } else if (json_is_string(v) && strstr(json_string_value(v), "${")) {
        struct vec found = VEC_INIT;
        char msg[256];
        size_t off;
        /* mesh writes its own well formed: a malformed one came with the user's values */
        if (ref_parse(json_string_value(v), &found, msg, sizeof(msg), &off) < 0)
            diag_error(c->dl, c->file, r->line, r->col, "`%s`: %s", r->address, msg);
        for (size_t j = 0; j < found.len; j++) {
            const struct ref *f = found.items[j];
            spec_add_dep(r, f->address, f->output, r->line, r->col);
        }
        vec_free_all(&found, ref_free);
    }
}
