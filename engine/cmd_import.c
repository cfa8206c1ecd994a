/* cmd_import.c: `mesh import ADDRESS ID`: adopt an object that exists in the world into state.
 * The driver's read() fetches it by ID; the attributes it can observe become the state's record
 * of what was applied, so the next plan shows only real differences from the spec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_job.h"
#include "cli.h"
#include "cmd.h"
#include "driver.h"
#include "invoke.h"
#include "session.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"
#include "base/xalloc.h"

/* Splits what read() returned into settable attributes (inputs) and computed ones (outputs). */
static void import_split(const struct driver *d, const json_t *current, json_t *inputs, json_t *outputs)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)current, k, v) {
        const struct attr *a = driver_attr(d, k);
        if (!a) continue;
        json_object_set(a->flags & ATTR_COMPUTED ? outputs : inputs, k, v);
    }
}

/* A reference resolves to what state holds (imported or applied objects), else stays unknown. */
static const json_t *rows_lookup(void *ctx, const char *address, const char *output)
{
    const struct vec *rows = ctx;
    for (size_t i = 0; i < rows->len; i++) {
        const struct state_row *r = rows->items[i];
        if (!r->deposed[0] && strcmp(r->address, address) == 0) return state_row_value(r, output);
    }
    return NULL;
}

/* The spec's attributes of r as far as state resolves them: one holding a reference to
 * something state lacks is left out (the driver's import then has only the ID to go by). */
static json_t *import_desired(const struct session *s, const struct spec_resource *r)
{
    int unknown = 0;
    json_t *all = ref_resolve(r->attrs, rows_lookup, (void *)&s->rows, &unknown), *known = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) if (!ref_has_unknown(v)) json_object_set(known, k, v);
    json_decref(all);
    return known;
}

/* What read() is given: the driver's import outputs for id, or {"id": id} when it has no hook. */
static int import_probe(struct session *s, const struct spec_resource *r, struct call *c, const char *id, json_t **probe)
{
    const struct driver *d = r->driver;
    if (!d->import) {
        *probe = json_pack("{s:s}", "id", id);
        return 0;
    }
    json_t *desired = import_desired(s, r);
    int rc = invoke_import(c, d, id, desired, probe);
    json_decref(desired);
    return rc;
}

static int import_one(struct session *s, const char *address, const char *id, struct mesh_err *err)
{
    const struct spec_resource *r = spec_find(s->spec, address);
    if (!r)
        return mesh_err_set(err, MESH_EINVAL, address,
                            "not in the spec: add it to the spec first, so mesh knows what it should look like");
    for (size_t i = 0; i < s->rows.len; i++)
        if (!strcmp(((struct state_row *)s->rows.items[i])->address, address))
            return mesh_err_set(err, MESH_ECONFLICT, address, "already in state (`mesh state rm %s` to forget it first)",
                                address);
    const struct driver *d = r->driver;
    json_t *probe = NULL, *current = NULL;
    struct call c;
    invoke_init(&c, d, address, r->connection, s->run_id, "import", err);
    int rc = import_probe(s, r, &c, id, &probe);
    if (!rc) rc = invoke_read(&c, d, probe, &current);
    if (rc) json_decref(probe);
    if (rc == MESH_ENOTFOUND) return mesh_err_set(err, MESH_ENOTFOUND, address, "no %s with ID %s exists", d->type, id);
    if (rc) return rc;
    struct state_row *row = state_row_new(address, "", d->type);
    /* a driver's import outputs are what create would have returned, the inputs it echoes
     * included: later reads need them (names, the defaults mesh set) */
    if (d->import) json_object_update(row->outputs, probe);
    json_decref(probe);
    import_split(d, current, row->inputs, row->outputs);
    /* a driver that finds objects by another name (Kubernetes: NAMESPACE/NAME) reports their id */
    if (!json_is_string(json_object_get(row->outputs, "id"))) json_object_set_new(row->outputs, "id", json_string(id));
    row->connection = r->connection ? xstrdup(r->connection) : NULL;
    json_decref(row->sensitive);
    row->sensitive = spec_sensitive_names(r, d);
    for (size_t i = 0; i < r->deps.len; i++) {
        const char *dep = ((struct spec_dep *)r->deps.items[i])->address;
        int dup = 0;
        size_t k;
        json_t *x;
        json_array_foreach(row->deps, k, x) dup |= !strcmp(json_string_value(x), dep);
        if (!dup) json_array_append_new(row->deps, json_string(dep));
    }
    free(row->run_id);
    row->run_id = xstrdup(s->run_id);
    json_decref(current);
    rc = store_begin(s->store, err);
    if (!rc) rc = store_put(s->store, row, err);
    if (!rc) rc = store_journal(s->store, s->run_id, address, "import", "ok", NULL, err);
    if (!rc) rc = store_commit(s->store, err);
    else store_rollback(s->store);
    state_row_free(row);
    return rc;
}

int cmd_import(struct cli_opts *o)
{
    ui_init(0);
    struct session s;
    session_init(&s, o);
    s.writing = 1;
    struct mesh_err err;
    mesh_err_init(&err);
    int rc = 0;
    if (o->args.len != 2) {
        ui_errorf("usage: mesh import ADDRESS ID (see 'mesh help import')");
        rc = 1;
    }
    if (!rc && session_load_spec(&s, 0)) rc = 1;
    if (!rc && (session_open_locked(&s, 1, "import", &err) || session_load_rows(&s, &err) ||
                store_run_start(s.store, s.run_id, "import", &err)))
        rc = 1;
    if (!rc) {
        rc = import_one(&s, o->args.items[0], o->args.items[1], &err) ? 1 : 0;
        struct mesh_err e2;
        mesh_err_init(&e2);
        store_run_end(s.store, s.run_id, rc ? "failed" : "ok", &e2);
        if (!rc)
            ui_out("Imported %s (ID %s) into state. Run 'mesh plan' to see how it differs from the spec.\n",
                   (const char *)o->args.items[0], (const char *)o->args.items[1]);
    }
    if (rc && err.code) ui_error(&err);
    session_release(&s);
    return rc;
}
