/* diff.c: spec + state + refresh -> plan (see diff.h). Creates and updates come out in
 * dependency order; deletes after them. */
#include "diff.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/suggest.h"
#include "driver.h"
#include "graph.h"
#include "refresh.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "spec_graph.h"
#include "state_graph.h"
#include "store.h"
#include "base/xalloc.h"

struct differ {
    const struct plan_input *in;
    struct plan *plan;
    struct map rows;      /* address -> current struct state_row * */
    struct map refreshed; /* refresh key -> struct refresh_result * */
};

static void change_add(struct plan_entry *e, const char *name, const json_t *old, const json_t *new, int flags)
{
    struct plan_change *c = xcalloc(1, sizeof(*c));
    c->name = xstrdup(name);
    c->old = old ? json_deep_copy(old) : NULL;
    c->new = new ? json_deep_copy(new) : NULL;
    c->flags = flags | (new && ref_has_unknown(new) ? CHG_UNKNOWN : 0);
    vec_push(&e->changes, c);
}

const json_t *plan_lookup(void *ctx, const char *address, const char *output)
{
    struct plan *p = ctx;
    struct plan_entry *e = map_get(&p->by_address, address);
    if (!e || e->action == ACT_CREATE || e->action == ACT_REPLACE) return NULL;
    if (e->action == ACT_UPDATE) {
        const struct attr *a = driver_attr(e->driver, output);
        if (a && (a->flags & ATTR_RECOMPUTED)) return NULL;
    }
    if (e->prior) {
        json_t *v = json_object_get(e->prior->outputs, output);
        if (v) return v;
    }
    json_t *v = json_object_get(e->planned, output);
    if (v) return v;
    return e->prior ? json_object_get(e->prior->inputs, output) : NULL;
}

static struct plan_entry *entry_new(const char *address, const char *type, const struct driver *d)
{
    struct plan_entry *e = xcalloc(1, sizeof(*e));
    e->address = xstrdup(address);
    e->type = xstrdup(type);
    e->deposed = xstrdup("");
    e->driver = d;
    return e;
}

static void diff_create(struct plan_entry *e, const char *reason)
{
    e->action = ACT_CREATE;
    if (reason) e->reason = xstrdup(reason);
    const char *k;
    json_t *v;
    json_object_foreach(e->planned, k, v) change_add(e, k, NULL, v, spec_attr_sensitive(e->res, e->driver, k) ? CHG_SENSITIVE : 0);
    for (const struct attr *a = e->driver->schema; a->name; a++)
        if ((a->flags & ATTR_COMPUTED) && !json_object_get(e->planned, a->name))
            change_add(e, a->name, NULL, ref_unknown(), spec_attr_sensitive(e->res, e->driver, a->name) ? CHG_SENSITIVE : 0);
}

/* Compares every settable attribute: desired vs what the world holds (refresh) or, when the
 * driver cannot observe it, vs what mesh applied last time. */
static void diff_update(struct plan_entry *e)
{
    const json_t *inputs = e->prior->inputs;
    struct strbuf_forces { char names[512]; } forces = {{0}};
    for (const struct attr *a = e->driver->schema; a->name; a++) {
        if (a->flags & ATTR_COMPUTED) continue;
        json_t *want = json_object_get(e->planned, a->name);
        json_t *applied = json_object_get(inputs, a->name);
        json_t *seen = e->current ? json_object_get(e->current, a->name) : NULL;
        const json_t *have = seen ? seen : applied;
        if (!want && !have) continue;
        int unknown = want && ref_has_unknown(want);
        if (!unknown && want && have && json_equal(want, (json_t *)have)) continue;
        if (!unknown && !want && json_is_null(have)) continue;
        if (!unknown && want && !have && json_is_null(want)) continue;
        int flags = 0;
        /* sensitive now, or it was when applied: the old value may be the secret */
        if (spec_attr_sensitive(e->res, e->driver, a->name) || spec_name_listed(e->prior->sensitive, a->name))
            flags |= CHG_SENSITIVE;
        if (a->flags & ATTR_FORCE_NEW) flags |= CHG_FORCES_NEW;
        if (a->flags & ATTR_IRREVERSIBLE) flags |= CHG_IRREVERSIBLE, e->irreversible = 1;
        if (seen && applied && !json_equal(seen, applied)) flags |= CHG_DRIFT;
        if (seen && !applied) flags |= CHG_DRIFT;
        change_add(e, a->name, have, want, flags);
        if ((flags & CHG_FORCES_NEW) && strlen(forces.names) + strlen(a->name) + 3 < sizeof(forces.names)) {
            if (forces.names[0]) strcat(forces.names, ", ");
            strcat(forces.names, a->name);
        }
    }
    if (!e->changes.len) return;
    if (forces.names[0]) {
        e->action = ACT_REPLACE;
        e->create_before_destroy = (e->driver->flags & DRIVER_CREATE_BEFORE_DESTROY) != 0;
        char buf[700];
        snprintf(buf, sizeof(buf), "%s forces replacement", forces.names);
        e->reason = xstrdup(buf);
    } else {
        e->action = ACT_UPDATE;
    }
}

static int same_connection(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* A resource lives in its connection's cluster: a connection made anew (its cluster replaced, or
 * created while state still holds the resource) or another connection means the object must be
 * made again there. An object that moves to another connection is deleted where it lived; one
 * whose connection is made anew is not deleted one by one: it goes with its old cluster (which
 * a replaced EKS cluster is deleted with, so there is nothing left to reach it through). */
static void diff_connection(struct differ *df, struct plan_entry *e, const struct spec_resource *r)
{
    if (!e->prior || e->gone || e->action == ACT_CREATE || e->action == ACT_REPLACE) return;
    char why[700] = "";
    if (!same_connection(r->connection, e->prior->connection)) {
        snprintf(why, sizeof(why), "it moves from %s to %s", e->prior->connection ? e->prior->connection : "no connection",
                 r->connection ? r->connection : "no connection");
    } else if (r->connection) {
        const struct plan_entry *ce = map_get(&df->plan->by_address, r->connection);
        if (ce && (ce->action == ACT_REPLACE || ce->action == ACT_CREATE)) {
            snprintf(why, sizeof(why), "its connection %s is %s: it is made there anew; the old object is left to "
                     "the old cluster", r->connection, ce->action == ACT_REPLACE ? "replaced (a new cluster)" : "created");
            e->gone = 1;
        }
    }
    if (!why[0]) return;
    e->action = ACT_REPLACE;
    e->create_before_destroy = !e->gone && (e->driver->flags & DRIVER_CREATE_BEFORE_DESTROY) != 0;
    free(e->reason);
    e->reason = xstrdup(why);
}

/* An update whose new values wait on another resource's update says why: it refers to an output
 * that update may change (ATTR_RECOMPUTED), so the value reads (known after apply). istiod's
 * pods carry ${kubernetes_secret.C.cacerts.data_sha256}: a new CA bundle restarts istiod, and
 * the plan names the secret as the cause. */
static void diff_why_unknown(struct plan *p, struct plan_entry *e, const struct spec_resource *r)
{
    if (e->action != ACT_UPDATE || e->reason) return;
    int unknown = 0;
    for (size_t i = 0; i < e->changes.len && !unknown; i++) unknown = (((struct plan_change *)e->changes.items[i])->flags & CHG_UNKNOWN) != 0;
    if (!unknown) return;
    char why[900] = "";
    size_t n = 0;
    for (size_t i = 0; i < r->deps.len; i++) {
        const struct spec_dep *d = r->deps.items[i];
        const struct plan_entry *t = d->output ? map_get(&p->by_address, d->address) : NULL;
        const struct attr *a = t && t->action == ACT_UPDATE ? driver_attr(t->driver, d->output) : NULL;
        if (!a || !(a->flags & ATTR_RECOMPUTED)) continue;
        char one[600];
        snprintf(one, sizeof(one), "%s.%s", d->address, d->output);
        if (strstr(why, one)) continue;
        if (n++ == 3) {
            strncat(why, ", ...", sizeof(why) - strlen(why) - 1);
            break;
        }
        if (why[0]) strncat(why, ", ", sizeof(why) - strlen(why) - 1);
        strncat(why, one, sizeof(why) - strlen(why) - 1);
    }
    if (!n) return;
    char buf[1100];
    snprintf(buf, sizeof(buf), "it follows %s, which %s update changes", why, n > 1 ? "their" : "its");
    e->reason = xstrdup(buf);
}

static void diff_resource(struct differ *df, const struct spec_resource *r)
{
    struct plan *p = df->plan;
    struct plan_entry *e = entry_new(r->address, r->type, r->driver);
    int unknown = 0;
    e->res = r;
    e->planned = ref_resolve(r->attrs, plan_lookup, p, &unknown);
    struct state_row *row = map_get(&df->rows, r->address);
    struct refresh_result *rr = row ? map_get(&df->refreshed, r->address) : NULL;
    e->prior = row;
    if (rr && rr->current) e->current = json_incref(rr->current);
    if (!row) {
        diff_create(e, NULL);
    } else if (rr && rr->gone) {
        e->gone = 1;
        diff_create(e, "it was deleted outside mesh; it will be created again");
    } else {
        diff_update(e);
        diff_why_unknown(p, e, r);
    }
    diff_connection(df, e, r);
    vec_push(&p->entries, e);
    map_put(&p->by_address, e->address, e);
}

static void diff_delete(struct differ *df, const struct state_row *row, const char *why)
{
    const struct driver *d = driver_find(row->type);
    struct plan_entry *e = entry_new(row->address, row->type, d);
    free(e->deposed);
    e->deposed = xstrdup(row->deposed ? row->deposed : "");
    e->action = ACT_DELETE;
    e->prior = row;
    const struct spec_resource *r = df->in->spec ? spec_find(df->in->spec, row->address) : NULL;
    if (r) e->delete_timeouts = r->timeouts;  /* `mesh destroy` honours the spec's delete timeout */
    char key[1024];
    refresh_key(row, key, sizeof(key));
    struct refresh_result *rr = map_get(&df->refreshed, key);
    if (rr && rr->gone) {
        e->gone = 1;
        e->reason = xstrdup("already deleted outside mesh; only removed from state");
    } else if (why) {
        e->reason = xstrdup(why);
    }
    vec_push(&df->plan->entries, e);
    if (!e->deposed[0] && !map_get(&df->plan->by_address, e->address)) map_put(&df->plan->by_address, e->address, e);
}

/* Which spec resources take part: the targets and everything they depend on. */
static unsigned char *diff_select(struct differ *df, struct graph *g, struct mesh_err *err)
{
    const struct spec *s = df->in->spec;
    int n = (int)s->resources.len;
    unsigned char *sel = xcalloc((size_t)n + 1, 1);
    if (!df->in->targets || !df->in->targets->len) {
        memset(sel, 1, (size_t)n);
        return sel;
    }
    for (int i = 0; i < n; i++)
        sel[i] = (unsigned char)target_match_any(df->in->targets, ((struct spec_resource *)s->resources.items[i])->address);
    graph_close_over(g, sel, 1);
    (void)err;
    return sel;
}

static int diff_check_targets(struct differ *df, struct mesh_err *err)
{
    const struct vec *t = df->in->targets;
    for (size_t k = 0; t && k < t->len; k++) {
        int hit = 0;
        for (size_t i = 0; df->in->spec && i < df->in->spec->resources.len && !hit; i++)
            hit = target_match(t->items[k], ((struct spec_resource *)df->in->spec->resources.items[i])->address);
        for (size_t i = 0; i < df->in->rows->len && !hit; i++)
            hit = target_match(t->items[k], ((struct state_row *)df->in->rows->items[i])->address);
        if (!hit) {
            struct suggest sg;
            suggest_init(&sg, t->items[k]);
            for (size_t i = 0; df->in->spec && i < df->in->spec->resources.len; i++)
                suggest_try(&sg, ((struct spec_resource *)df->in->spec->resources.items[i])->address);
            for (size_t i = 0; i < df->in->rows->len; i++) suggest_try(&sg, ((struct state_row *)df->in->rows->items[i])->address);
            return mesh_err_set(err, MESH_EINVAL, "--target", "'%s' matches no resource in the spec or the state%s%s%s",
                                (const char *)t->items[k], sg.best ? "; did you mean `" : "", sg.best ? sg.best : "",
                                sg.best ? "`?" : "");
        }
    }
    return 0;
}

static void diff_spec(struct differ *df, struct mesh_err *err)
{
    const struct spec *s = df->in->spec;
    struct graph g;
    spec_graph_build(s, &g);
    int n = (int)s->resources.len;
    int *order = xmalloc(((size_t)n + 1) * sizeof(int));
    graph_topo_order(&g, order);  /* the loader already refused cycles */
    unsigned char *sel = diff_select(df, &g, err);
    for (int i = 0; i < n; i++)
        if (sel[order[i]]) diff_resource(df, s->resources.items[order[i]]);
    free(order);
    free(sel);
    graph_release(&g);
    const struct vec *rows = df->in->rows;
    const struct vec *t = df->in->targets;
    for (size_t i = 0; i < rows->len; i++) {
        const struct state_row *row = rows->items[i];
        int targeted = !t || !t->len || target_match_any(t, row->address);
        if (row->deposed && row->deposed[0]) {
            if (targeted) diff_delete(df, row, "old object of an earlier replacement");
        } else if (!spec_find(s, row->address) && targeted) {
            diff_delete(df, row, "no longer in the spec");
        }
    }
}

/* mesh destroy: the targets and everything that depends on them (all of state by default). */
static void diff_destroy(struct differ *df)
{
    const struct vec *rows = df->in->rows;
    int n = (int)rows->len;
    struct graph g;
    state_graph_build(rows, &g);
    unsigned char *sel = xcalloc((size_t)n + 1, 1);
    const struct vec *t = df->in->targets;
    for (int i = 0; i < n; i++)
        sel[i] = !t || !t->len || target_match_any(t, ((struct state_row *)rows->items[i])->address);
    graph_close_over(&g, sel, 0);
    for (int i = 0; i < n; i++)
        if (sel[i]) diff_delete(df, rows->items[i], NULL);
    free(sel);
    graph_release(&g);
}

static void plan_count(struct plan *p)
{
    for (size_t i = 0; i < p->entries.len; i++) {
        struct plan_entry *e = p->entries.items[i];
        if (!p->destroy_mode && e->driver && (e->driver->flags & DRIVER_GUARDED) && !e->gone &&
            (e->action == ACT_REPLACE || (e->action == ACT_DELETE && !e->deposed[0]))) {
            e->guarded = 1;
            p->guarded++;
        }
        switch (e->action) {
        case ACT_CREATE: p->add++; break;
        case ACT_UPDATE: p->change++; break;
        case ACT_REPLACE: p->add++, p->destroy++, p->replace++; break;
        case ACT_DELETE: p->destroy++; break;
        case ACT_NOOP: break;
        }
    }
}

int plan_build(const struct plan_input *in, struct plan **out, struct mesh_err *err)
{
    struct differ df = {.in = in, .plan = plan_new()};
    df.plan->destroy_mode = in->destroy;
    *out = NULL;
    int rc = diff_check_targets(&df, err);
    for (size_t i = 0; i < in->rows->len; i++) {
        struct state_row *row = in->rows->items[i];
        if (!row->deposed || !row->deposed[0]) map_put(&df.rows, row->address, row);
    }
    if (!rc && in->refresh) rc = refresh_rows(in->rows, in->parallelism, in->run_id, &df.refreshed, err);
    if (!rc) {
        if (in->destroy) diff_destroy(&df);
        else diff_spec(&df, err);
        plan_count(df.plan);
        rc = diff_outputs(df.plan, in, err);
    }
    refresh_release(&df.refreshed);
    map_release(&df.rows);
    if (rc) {
        plan_free(df.plan);
        return rc;
    }
    *out = df.plan;
    return 0;
}
