/* cmd_state.c: `mesh state list|show|snapshots|restore`: reading (and restoring) the state store;
 * pull, push and migrate are cmd_state_team.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/suggest.h"
#include "cli.h"
#include "cmd.h"
#include "cmd_state_team.h"
#include "driver.h"
#include "plan_render.h"
#include "session.h"
#include "spec/spec.h"
#include "state_edit.h"
#include "store.h"
#include "ui.h"

static json_t *redacted(const struct state_row *r, const json_t *obj);

static int state_list(struct session *s)
{
    for (size_t i = 0; i < s->rows.len; i++) {
        const struct state_row *r = s->rows.items[i];
        if (ui.json) {
            ui_event("resource", json_pack("{s:s, s:s, s:s, s:o, s:o, s:O}", "address", r->address, "deposed", r->deposed,
                                           "resource_type", r->type, "attributes", redacted(r, r->inputs), "outputs",
                                           redacted(r, r->outputs), "depends_on", r->deps));
            continue;
        }
        if (r->deposed[0]) printf("%s (deposed %s)\n", r->address, r->deposed);
        else printf("%s\n", r->address);
    }
    return 0;
}

static int row_is_sensitive(const struct state_row *r, const char *name) { return spec_name_listed(r->sensitive, name); }

static json_t *redacted(const struct state_row *r, const json_t *obj)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
        json_object_set_new(out, k, row_is_sensitive(r, k) ? json_string("(sensitive)") : json_deep_copy(v));
    return out;
}

static void show_section(const struct state_row *r, const char *title, const json_t *obj)
{
    printf("  %s:\n", title);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        char *t = plan_value_text(v, row_is_sensitive(r, k) ? CHG_SENSITIVE : 0);
        printf("    %s = %s\n", k, t);
        free(t);
    }
}

static int state_show(struct session *s, const char *address)
{
    int found = 0;
    for (size_t i = 0; i < s->rows.len; i++) {
        const struct state_row *r = s->rows.items[i];
        if (strcmp(r->address, address) != 0) continue;
        found = 1;
        if (ui.json) {
            json_t *ev = json_pack("{s:s, s:s, s:s, s:o, s:o, s:O}", "address", r->address, "deposed", r->deposed,
                                   "resource_type", r->type, "attributes", redacted(r, r->inputs), "outputs",
                                   redacted(r, r->outputs), "depends_on", r->deps);
            if (r->connection) json_object_set_new(ev, "connection", json_string(r->connection));
            ui_event("resource", ev);
            continue;
        }
        printf("# %s%s%s\n  type: %s\n", r->address, r->deposed[0] ? " (deposed " : "", r->deposed[0] ? r->deposed : "", r->type);
        if (r->deposed[0]) printf("  (deposed: an old object waiting to be deleted)\n");
        if (r->connection) printf("  connection: %s\n", r->connection);
        show_section(r, "attributes", r->inputs);
        show_section(r, "outputs", r->outputs);
        if (json_array_size(r->deps)) {
            char *d = json_dumps(r->deps, JSON_COMPACT);
            printf("  depends on: %s\n", d);
            free(d);
        }
    }
    if (!found) {
        struct suggest sg;
        suggest_init(&sg, address);
        for (size_t i = 0; i < s->rows.len; i++) suggest_try(&sg, ((const struct state_row *)s->rows.items[i])->address);
        ui_errorf("no resource %s in the state at %s%s%s%s", address, session_state_path(s), sg.best ? "; did you mean `" : "",
                  sg.best ? sg.best : "", sg.best ? "`?" : "");
    }
    return found ? 0 : 1;
}

static int state_snapshots(struct session *s, struct mesh_err *err)
{
    struct snapshot_info info[16];
    int n = 0;
    if (store_snapshot_list(s->store, info, 16, &n, err)) return 1;
    if (!n) printf("No snapshots yet (one is kept before each apply and destroy, the last 10).\n");
    for (int i = 0; i < n; i++) {
        char when[64];
        time_t t = (time_t)info[i].created;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        printf("%2d  %s  before run %s  serial %lld  %d resource%s\n", info[i].number, when, info[i].run_id,
               info[i].serial, info[i].resources, info[i].resources == 1 ? "" : "s");
    }
    return 0;
}

/* The subcommand and how many arguments it takes; a misspelt one gets the nearest name. */
static int state_sub_check(const struct cli_opts *o)
{
    static const struct { const char *name, *args; int min, max; } subs[] = {
        {"list", "", 0, 0}, {"show", " ADDRESS", 1, 1}, {"mv", " FROM TO", 2, 2},
        {"rm", " ADDRESS...", 1, -1}, {"snapshots", "", 0, 0}, {"restore", " N", 1, 1},
        {"pull", " FILE", 1, 1}, {"push", " FILE", 1, 1}, {"migrate", " --to s3://BUCKET/KEY | local[:PATH]", 0, 0},
    };
    const char *sub = o->args.items[0];  /* the grammar asks for at least one argument */
    int n = (int)o->args.len - 1;
    struct suggest sg;
    suggest_init(&sg, sub);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(sub, subs[i].name) != 0) {
            suggest_try(&sg, subs[i].name);
            continue;
        }
        if (n >= subs[i].min && (subs[i].max < 0 || n <= subs[i].max)) return 0;
        ui_errorf("usage: mesh state %s%s (see 'mesh help state')", subs[i].name, subs[i].args);
        return -1;
    }
    if (sg.best) ui_errorf("no state subcommand '%s'; did you mean '%s'? (see 'mesh help state')", sub, sg.best);
    else ui_errorf("no state subcommand '%s': mesh state list | show ADDRESS | mv FROM TO | rm ADDRESS... | snapshots | "
                   "restore N | pull FILE | push FILE | migrate --to WHERE (see 'mesh help state')", sub);
    return -1;
}

int cmd_state(struct cli_opts *o)
{
    ui_init(o->json);
    const char *sub = o->args.len ? o->args.items[0] : NULL;
    struct session s;
    session_init(&s, o);
    struct mesh_err err;
    mesh_err_init(&err);
    int rc = 0;
    if (state_sub_check(o)) {
        rc = 1;
        goto out;
    }
    /* the spec's state: section says where state is (and its mesh: section whose credentials) */
    session_load_spec_lenient(&s);
    if (state_team_sub(sub)) {
        if (state_team(&s, sub, &err)) {
            ui_error(&err);
            rc = 1;
        }
        goto out;
    }
    int opened = session_open_state(&s, 0, &err);
    if (opened < 0) {
        ui_error(&err);
        rc = 1;
        goto out;
    }
    if (opened == 1) {
        if (strcmp(sub, "list") != 0) {
            ui_errorf("there is no state at %s", session_state_path(&s));
            rc = 1;
        }
        goto out;
    }
    if (session_load_rows(&s, &err)) {
        ui_error(&err);
        rc = 1;
        goto out;
    }
    if (strcmp(sub, "list") == 0) {
        rc = state_list(&s);
    } else if (strcmp(sub, "show") == 0) {
        if (o->args.len != 2) ui_errorf("usage: mesh state show ADDRESS"), rc = 1;
        else rc = state_show(&s, o->args.items[1]);
    } else if (strcmp(sub, "mv") == 0) {
        if (o->args.len != 3) ui_errorf("usage: mesh state mv FROM TO"), rc = 1;
        else if (state_mv(&s, o->args.items[1], o->args.items[2], &err)) rc = 1;
    } else if (strcmp(sub, "rm") == 0) {
        struct vec pats = VEC_INIT;
        for (size_t i = 1; i < o->args.len; i++) vec_push(&pats, o->args.items[i]);
        if (!pats.len) ui_errorf("usage: mesh state rm ADDRESS..."), rc = 1;
        else if (state_rm(&s, &pats, &err)) rc = 1;
        vec_release(&pats);
    } else if (strcmp(sub, "snapshots") == 0) {
        rc = state_snapshots(&s, &err);
    } else {
        char *end = NULL;
        long n = o->args.len == 2 ? strtol(o->args.items[1], &end, 10) : 0;
        if (!end || *end || n < 1) {
            ui_errorf("usage: mesh state restore N (N from 'mesh state snapshots'; 1 = newest)");
            rc = 1;
        } else if (session_lock(&s, "state restore", &err) || store_snapshot_restore(s.store, (int)n, &err)) {
            rc = 1;
        } else {
            printf("State restored from snapshot %ld. The world was not touched: run 'mesh plan' to see how it differs.\n", n);
        }
    }
    if (rc && err.code) ui_error(&err);
out:
    session_release(&s);
    return rc;
}
