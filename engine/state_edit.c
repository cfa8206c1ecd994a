/* state_edit.c: `mesh state mv` and `mesh state rm`: changing what state says without touching
 * the world. Each runs as a run of its own: the lock, a snapshot first (so `mesh state restore 1`
 * undoes it), every row change journaled, all in one transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "spec/ref.h"
#include "spec_graph.h"
#include "state_edit.h"
#include "store.h"
#include "ui.h"
#include "base/xalloc.h"

static int edit_begin(struct session *s, const char *cmd, struct mesh_err *err)
{
    if (session_lock(s, cmd, err)) return -1;
    if (session_load_rows(s, err)) return -1;
    if (store_run_start(s->store, s->run_id, cmd, err)) return -1;
    return store_begin(s->store, err);
}

static int edit_end(struct session *s, int rc, struct mesh_err *err)
{
    struct mesh_err e2;
    mesh_err_init(&e2);
    if (!rc) rc = store_commit(s->store, err);
    else store_rollback(s->store);
    store_run_end(s->store, s->run_id, rc ? "failed" : "ok", &e2);
    return rc;
}

/* Rows that recorded a dependency on `from` (or belong to it, a connection) now record `to`. */
static int edit_rewrite_deps(struct session *s, const char *from, const char *to, struct mesh_err *err)
{
    for (size_t i = 0; i < s->rows.len; i++) {
        struct state_row *r = s->rows.items[i];
        size_t k;
        json_t *d;
        int changed = 0;
        json_array_foreach(r->deps, k, d) {
            if (json_string_value(d) && strcmp(json_string_value(d), from) == 0) {
                json_array_set_new(r->deps, k, json_string(to));
                changed = 1;
            }
        }
        if (r->connection && strcmp(r->connection, from) == 0) {
            free(r->connection);
            r->connection = xstrdup(to);
            changed = 1;
        }
        if (changed && strcmp(r->address, from) != 0 && store_put(s->store, r, err)) return -1;
    }
    return 0;
}

int state_mv(struct session *s, const char *from, const char *to, struct mesh_err *err)
{
    if (!ref_address_valid(to))
        return mesh_err_set(err, MESH_EINVAL, to, "not a resource address: expected TYPE.NAME[.NAME...]");
    size_t tl = strcspn(to, "."), fl = strcspn(from, ".");
    if (tl != fl || strncmp(to, from, tl) != 0)
        return mesh_err_set(err, MESH_EINVAL, to, "state mv keeps the type: %s is a %.*s", from, (int)fl, from);
    if (edit_begin(s, "state mv", err)) return -1;
    int moved = 0, rc = 0;
    for (size_t i = 0; i < s->rows.len && !rc; i++) {
        const struct state_row *r = s->rows.items[i];
        if (strcmp(r->address, to) == 0)
            rc = mesh_err_set(err, MESH_ECONFLICT, to, "already in state; `mesh state rm %s` first if it is stale", to);
    }
    for (size_t i = 0; i < s->rows.len && !rc; i++) {
        struct state_row *r = s->rows.items[i];
        if (strcmp(r->address, from) != 0) continue;
        rc = store_delete(s->store, from, r->deposed, err);
        free(r->address);
        r->address = xstrdup(to);
        if (!rc) rc = store_put(s->store, r, err);
        moved++;
    }
    if (!rc && !moved) rc = mesh_err_set(err, MESH_EINVAL, from, "no such resource in state (see `mesh state list`)");
    if (!rc) rc = edit_rewrite_deps(s, from, to, err);
    if (!rc) {
        char detail[600];
        snprintf(detail, sizeof(detail), "{\"to\":\"%s\"}", to);
        rc = store_journal(s->store, s->run_id, from, "state-mv", "ok", detail, err);
    }
    rc = edit_end(s, rc, err);
    if (!rc)
        ui_out("Moved %s to %s in state. The world was not touched; `mesh state restore 1` undoes this.\n", from, to);
    return rc;
}

int state_rm(struct session *s, const struct vec *patterns, struct mesh_err *err)
{
    if (edit_begin(s, "state rm", err)) return -1;
    int rc = 0, removed = 0;
    for (size_t k = 0; k < patterns->len && !rc; k++) {
        int hit = 0;
        for (size_t i = 0; i < s->rows.len; i++)
            hit |= target_match(patterns->items[k], ((struct state_row *)s->rows.items[i])->address);
        if (!hit)
            rc = mesh_err_set(err, MESH_EINVAL, patterns->items[k], "no such resource in state (see `mesh state list`)");
    }
    for (size_t i = 0; i < s->rows.len && !rc; i++) {
        const struct state_row *r = s->rows.items[i];
        if (!target_match_any(patterns, r->address)) continue;
        rc = store_delete(s->store, r->address, r->deposed, err);
        if (!rc) rc = store_journal(s->store, s->run_id, r->address, "state-rm", "ok", NULL, err);
        if (!rc) ui_out("Removed %s%s%s%s from state.\n", r->address, r->deposed[0] ? " (deposed " : "",
                        r->deposed, r->deposed[0] ? ")" : "");
        removed++;
    }
    rc = edit_end(s, rc, err);
    if (!rc)
        ui_out("%d object%s removed from state; %s still exist%s in the world, unmanaged. `mesh state restore 1` undoes this.\n",
               removed, removed == 1 ? "" : "s", removed == 1 ? "it" : "they", removed == 1 ? "s" : "");
    return rc;
}
