/* rollback.c: bringing state and the world back to a snapshot (see apply.h, rollback_to).
 * Objects are matched by their `id` output, so a replaced object is told apart from its
 * replacement even though both have the same address. Steps run one at a time, each journaled
 * and committed on its own, so a crash during rollback loses nothing either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "driver.h"
#include "base/map.h"
#include "state_graph.h"
#include "invoke.h"
#include "store.h"
#include "ui.h"

static const char *row_id(const struct state_row *r)
{
    const char *id = json_string_value(json_object_get(r->outputs, "id"));
    return id ? id : "";
}

/* Identity of an object: its id, or its address when a driver gave none. */
static void row_key(const struct state_row *r, char *buf, size_t n)
{
    if (*row_id(r)) snprintf(buf, n, "id:%s:%s", r->type, row_id(r));
    else snprintf(buf, n, "addr:%s#%s", r->address, r->deposed ? r->deposed : "");
}

static void index_rows(const struct vec *rows, struct map *m)
{
    char key[1024];
    map_init(m);
    for (size_t i = 0; i < rows->len; i++) {
        row_key(rows->items[i], key, sizeof(key));
        map_put(m, key, rows->items[i]);
    }
}

struct rb {
    struct store *st;
    const char *run_id;
    int failed;
    int broken;      /* a journal or state write failed: no further driver call */
    int skipped;     /* steps not attempted because of that */
    struct mesh_err *err;
};

/* The state store failed: stop before the next driver call, and say so. */
static void rb_break(struct rb *rb, const struct mesh_err *e)
{
    rb->broken = 1;
    ui_error(e);
    mesh_err_set(rb->err, e->code ? e->code : MESH_ERR, e->where, "rollback stopped: state store: %s", e->msg);
}

static int rb_journal(struct rb *rb, const char *address, const char *action, const char *phase)
{
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = store_journal(rb->st, rb->run_id, address, action, phase, NULL, &e);
    if (rc) rb_break(rb, &e);
    return rc;
}

/* Journals the intent of a step; -1 (and the step is not attempted) if it cannot be. */
static int rb_intent(struct rb *rb, const char *address, const char *action)
{
    if (rb->broken || rb_journal(rb, address, action, "intent")) {
        rb->skipped++;
        return -1;
    }
    return 0;
}

/* store_rc: a state write of the step failed (the driver call itself may have succeeded). */
static void rb_report(struct rb *rb, const char *address, const char *what, int rc, int store_rc, struct mesh_err *e)
{
    if (store_rc) rb_break(rb, e);
    if (rc) {
        rb->failed++;
        if (!e->msg[0]) mesh_err_set(e, rc, address, "%s failed", what);
        if (!store_rc) ui_error(e);
        mesh_err_set(rb->err, rc, e->where, "rollback: %s", e->msg);
        if (!rb->broken) rb_journal(rb, address, what, "failed");
        return;
    }
    if (rb_journal(rb, address, what, "ok")) return;
    if (ui.json) ui_event("rollback", json_pack("{s:s, s:s}", "address", address, "action", what));
    else ui_out("%s: %s (rollback)\n", address, what);
}

static int rb_delete(struct rb *rb, const struct state_row *r)
{
    const struct driver *d = driver_find(r->type);
    struct mesh_err e;
    mesh_err_init(&e);
    if (rb_intent(rb, r->address, "rollback-delete")) return -1;
    int rc = d ? 0 : mesh_err_set(&e, MESH_ERR, r->address, "unknown type %s", r->type), src = 0;
    if (!rc) {
        struct call c;
        invoke_init(&c, d, r->address, rb->run_id, "rollback-delete", &e);
        rc = invoke_delete(&c, d, r->outputs);
    }
    if (!rc) rc = src = store_delete(rb->st, r->address, r->deposed, &e);
    rb_report(rb, r->address, "rollback-delete", rc, src, &e);
    return rc;
}

/* An object that still exists but changed (or was deposed): put its old attributes back. */
static void rb_restore(struct rb *rb, const struct state_row *old, const struct state_row *now)
{
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = 0, src = 0;
    int same = json_equal(old->inputs, now->inputs);
    const char *what = same ? "rollback-restore" : "rollback-update";
    if (rb_intent(rb, old->address, what)) return;
    struct state_row *put = state_row_dup(old);
    if (!same) {
        const struct driver *d = driver_find(old->type);
        json_t *outs = NULL;
        struct call c;
        if (!d) rc = mesh_err_set(&e, MESH_ERR, old->address, "unknown type %s", old->type);
        else {
            for (const struct attr *a = d->schema; a->name; a++)
                if ((a->flags & ATTR_IRREVERSIBLE) &&
                    !json_equal(json_object_get(old->inputs, a->name), json_object_get(now->inputs, a->name)))
                    rc = mesh_err_set(&e, MESH_ERR, old->address,
                                      "%s changed irreversibly; rollback cannot undo it (it stays as applied)", a->name);
        }
        if (!rc) {
            invoke_init(&c, d, old->address, rb->run_id, "rollback-update", &e);
            rc = invoke_update(&c, d, now->outputs, now->inputs, old->inputs, &outs);
        }
        if (!rc && outs) {
            json_decref(put->outputs);
            put->outputs = outs;
        } else {
            json_decref(outs);
        }
    }
    if (!rc && now->deposed && now->deposed[0]) rc = src = store_delete(rb->st, now->address, now->deposed, &e);
    if (!rc) rc = src = store_put(rb->st, put, &e);
    state_row_free(put);
    rb_report(rb, old->address, what, rc, src, &e);
}

static void rb_recreate(struct rb *rb, const struct state_row *old)
{
    const struct driver *d = driver_find(old->type);
    struct mesh_err e;
    mesh_err_init(&e);
    if (rb_intent(rb, old->address, "rollback-create")) return;
    int rc = d ? 0 : mesh_err_set(&e, MESH_ERR, old->address, "unknown type %s", old->type), src = 0;
    json_t *outs = NULL, *ready = NULL;
    struct call c;
    if (!rc) {
        invoke_init(&c, d, old->address, rb->run_id, "rollback-create", &e);
        rc = invoke_create(&c, d, old->inputs, &outs);
    }
    if (!rc) {
        struct state_row *put = state_row_dup(old);
        json_decref(put->outputs);
        put->outputs = outs;
        rc = src = store_put(rb->st, put, &e);  /* the new ID is durable before waiting */
        if (!rc) rc = invoke_wait(&c, d, outs, &ready);
        if (!rc && ready) {
            json_decref(put->outputs);
            put->outputs = ready;
            rc = src = store_put(rb->st, put, &e);
        }
        state_row_free(put);
    }
    rb_report(rb, old->address, "rollback-create", rc, src, &e);
}

int rollback_to(struct store *st, const struct vec *before, const char *exec_run_id, int parallelism,
                struct rollback_outcome *out, struct mesh_err *err)
{
    (void)parallelism;
    struct rb rb = {.st = st, .run_id = exec_run_id, .err = err};
    struct vec now = VEC_INIT, gone = VEC_INIT, changed = VEC_INIT, recreate = VEC_INIT;
    struct mesh_err e;
    mesh_err_init(&e);
    out->failed = out->store_broken = 0;
    if (store_load(st, &now, &e)) {
        rb_break(&rb, &e);
        out->failed = 1;
        out->store_broken = 1;
        return MESH_ERR;
    }
    struct map bmap, nmap;
    index_rows(before, &bmap);
    index_rows(&now, &nmap);
    char key[1024];
    for (size_t i = 0; i < now.len; i++) {
        row_key(now.items[i], key, sizeof(key));
        if (!map_get(&bmap, key)) vec_push(&gone, now.items[i]);
    }
    for (size_t i = 0; i < before->len; i++) {
        const struct state_row *b = before->items[i];
        row_key(b, key, sizeof(key));
        const struct state_row *n = map_get(&nmap, key);
        if (!n) vec_push(&recreate, (void *)b);
        else if (!json_equal(b->inputs, n->inputs) || strcmp(b->deposed ? b->deposed : "", n->deposed ? n->deposed : "") ||
                 !json_equal(b->outputs, n->outputs))
            vec_push(&changed, (void *)b);
    }
    struct map stuck = MAP_INIT;  /* addresses whose new object could not be deleted */
    state_rows_order(&gone, 1);
    for (size_t i = 0; i < gone.len; i++) {
        const struct state_row *g = gone.items[i];
        if (rb_delete(&rb, g) && !g->deposed[0]) map_put(&stuck, g->address, NULL);
    }
    state_rows_order(&changed, 0);
    for (size_t i = 0; i < changed.len; i++) {
        const struct state_row *old = changed.items[i];
        row_key(old, key, sizeof(key));
        const struct state_row *now_row = map_get(&nmap, key);
        if (rb.broken) {
            rb.skipped++;
            continue;
        }
        if (now_row->deposed[0] && map_has(&stuck, old->address)) {
            /* The replacement is still there: the old object stays deposed, and the next apply
             * deletes one or the other. Restoring it would drop the new one from state. */
            rb.failed++;
            mesh_err_set(err, MESH_ERR, old->address, "rollback: the old object stays deposed");
            ui_warn("%s: the old object stays deposed because its replacement could not be deleted", old->address);
            continue;
        }
        rb_restore(&rb, old, now_row);
    }
    map_release(&stuck);
    state_rows_order(&recreate, 0);
    for (size_t i = 0; i < recreate.len; i++) rb_recreate(&rb, recreate.items[i]);
    map_release(&bmap);
    map_release(&nmap);
    vec_release(&gone);
    vec_release(&changed);
    vec_release(&recreate);
    vec_free_all(&now, state_row_free);
    if (rb.skipped) ui_errorf("rollback stopped: %d step(s) not attempted because the state store failed", rb.skipped);
    out->failed = rb.failed + rb.skipped;
    out->store_broken = rb.broken;
    return out->failed || rb.broken ? MESH_ERR : 0;
}
