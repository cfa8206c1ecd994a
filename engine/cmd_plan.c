/* cmd_plan.c: `mesh plan`: what apply would do. Never changes state or the world. */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "cli.h"
#include "cmd.h"
#include "diff.h"
#include "plan.h"
#include "plan_render.h"
#include "planfile.h"
#include "session.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"

/* --explain: how the spec's sections expanded into typed resources. */
static void plan_explain(const struct spec *sp)
{
    const char *section = NULL;
    if (!ui.json) ui_out("The spec expands into %zu resource%s:\n", sp->resources.len, sp->resources.len == 1 ? "" : "s");
    for (size_t i = 0; i < sp->resources.len; i++) {
        const struct spec_resource *r = sp->resources.items[i];
        if (ui.json) {
            json_t *deps = json_array();
            for (size_t k = 0; k < r->deps.len; k++)
                json_array_append_new(deps, json_string(((struct spec_dep *)r->deps.items[k])->address));
            ui_event("explain", json_pack("{s:s, s:s, s:s, s:o}", "address", r->address, "resource_type", r->type,
                                          "section", r->origin ? r->origin : "resources", "depends_on", deps));
            continue;
        }
        if (!section || strcmp(section, r->origin ? r->origin : "resources") != 0) {
            section = r->origin ? r->origin : "resources";
            ui_out("\n  from %s%s:%s\n", ui_c("bold"), section, ui_c("reset"));
        }
        ui_out("    %s", r->address);
        int shown = 0;
        for (size_t k = 0; k < r->deps.len; k++) {
            const struct spec_dep *d = r->deps.items[k];
            int dup = 0;
            for (size_t m = 0; m < k && !dup; m++) dup = !strcmp(((struct spec_dep *)r->deps.items[m])->address, d->address);
            if (!dup) ui_out("%s%s", shown++ ? ", " : "  <- ", d->address);
        }
        ui_out("\n");
    }
    if (!ui.json) ui_out("\n");
}

/* -out FILE: the plan is bound to the state's lineage and serial, so the state must exist: a
 * first plan against no state makes an empty one (what apply would do anyway). */
static int plan_save(struct session *s, const struct plan *p, struct mesh_err *err)
{
    if (!s->store && session_open_state(s, 1, err)) return -1;
    if (planfile_write(s->o->out, p, s, store_lineage(s->store), store_serial(s->store), err)) return -1;
    if (!ui.json)
        ui_out("\nSaved the plan to %s. To perform exactly these actions, run:\n  mesh apply %s\n", s->o->out, s->o->out);
    return 0;
}

int cmd_plan(struct cli_opts *o)
{
    ui_init(o->json);
    cli_warn_targets(o);
    struct session s;
    session_init(&s, o);
    struct mesh_err err;
    mesh_err_init(&err);
    struct plan *p = NULL;
    struct plan *notes = plan_new();
    int rc = session_load_spec(&s, 0) ? 1 : 0;
    int st = 0, open_runs = 0;
    if (!rc) {
        st = session_open_state(&s, 0, &err);
        if (st < 0) rc = 1;
    }
    if (!rc && s.store) {
        open_runs = recover_runs(s.store, s.spec, s.run_id, o->resume, 1, 1, notes, &err);
        if (open_runs < 0) rc = 1;
        if (!rc && session_load_rows(&s, &err)) rc = 1;
        if (!rc && open_runs > 0 && recover_preview(s.store, s.spec, o->resume, &s.rows, &err)) rc = 1;
    }
    if (!rc && o->explain) plan_explain(s.spec);
    if (!rc) {
        struct plan_input in = {.spec = s.spec, .rows = &s.rows, .refresh = o->refresh, .parallelism = o->parallelism,
                                .targets = &o->targets, .run_id = s.run_id, .store = s.store};
        if (plan_build(&in, &p, &err)) rc = 1;
    }
    if (!rc) {
        for (size_t i = 0; i < notes->notes.len; i++) vec_push(&p->notes, notes->notes.items[i]);
        notes->notes.len = 0;
        p->recovery_pending = open_runs > 0;
        plan_render(p);
        if (o->out && plan_save(&s, p, &err)) rc = 1;
        else if (o->detailed_exitcode && (plan_has_changes(p) || open_runs > 0)) rc = 2;  /* a recovery is a change */
    } else if (err.code) {
        ui_error(&err);
    }
    if (rc == 0 && p && o->detailed_exitcode && plan_has_any_changes(p)) rc = 2;  /* an output-only change is one */
    plan_free(p);
    plan_free(notes);
    session_release(&s);
    return rc;
}
