/* cmd_apply.c: `mesh apply` and `mesh destroy`: lock, recover a cut-off run, plan, confirm,
 * snapshot, execute, report. */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "cancel.h"
#include "cli.h"
#include "cmd.h"
#include "diff.h"
#include "driver.h"
#include "plan.h"
#include "plan_render.h"
#include "session.h"
#include "spec/spec.h"
#include "spec_graph.h"
#include "store.h"
#include "ui.h"

/* "AWS: 120 API calls, 3 retries" per provider the run opened (its stats callback's figures). */
static void report_providers(json_t *ps)
{
    const char *name;
    json_t *v;
    json_object_foreach(ps, name, v) {
        json_int_t calls = json_integer_value(json_object_get(v, "api_calls")), retries = json_integer_value(json_object_get(v, "retries"));
        ui_out("\n%s: %lld API calls, %lld retries", strcmp(name, "aws") == 0 ? "AWS" : name, (long long)calls,
               (long long)retries);
    }
    json_decref(ps);
}

static void report(const char *cmd, const struct plan *p, const struct apply_report *r, int rc, const char *run_id)
{
    json_t *ps = provider_stats();  /* {"aws": {"api_calls": N, "retries": M}} or NULL */
    const char *status = rc == 0 ? "ok" : r->rolled_back ? (r->rollback_failed ? "rollback_incomplete" : "rolled_back") : "failed";
    if (ui.json) {
        ui_event("summary", json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:b, s:o*}", "command", cmd, "status", status,
                                      "run_id", run_id, "created", r->created, "updated", r->updated, "replaced", r->replaced,
                                      "destroyed", r->deleted, "seconds", r->seconds, "interrupted", r->interrupted,
                                      "provider_stats", ps));
        return;
    }
    if (ps) report_providers(ps);
    char dur[32];
    ui_duration(r->seconds, dur, sizeof(dur));
    if (rc == 0) {
        ui_out("\n%s%s complete!%s Resources: %d added, %d changed, %d destroyed (%s).\n", ui_c("green"),
               strcmp(cmd, "destroy") == 0 ? "Destroy" : "Apply", ui_c("reset"), r->created + r->replaced,
               r->updated, r->deleted + r->replaced, dur);
        return;
    }
    (void)p;
    if (r->rolled_back && !r->rollback_failed)
        ui_out("\n%s%s failed%s%s; every change of this run was rolled back: state and the world are as before it.\n",
               ui_c("red"), cmd, r->interrupted ? " (interrupted)" : "", ui_c("reset"));
    else if (r->rolled_back)
        ui_out("\n%s%s failed and %d rollback step(s) failed too.%s State holds what exists now; fix the cause and run "
               "'mesh apply' again to converge.\n", ui_c("red"), cmd, r->rollback_failed, ui_c("reset"));
    else if (r->store_failed)
        ui_out("\n%s%s failed: the state store stopped accepting writes (see the error above), so nothing could be "
               "rolled back.%s Fix that, then run 'mesh apply': it recovers from the journal.\n", ui_c("red"), cmd,
               ui_c("reset"));
    else if (r->phase2_failed)
        ui_out("\n%s%s stopped at a failed delete.%s What was not deleted is still in state; run 'mesh %s' again "
               "to finish.\n", ui_c("red"), cmd, ui_c("reset"), cmd);
    else
        ui_out("\n%s%s failed%s.%s Progress was kept (--no-rollback): %d created, %d changed; run 'mesh apply' again "
               "to converge.\n", ui_c("red"), cmd, r->interrupted ? " (interrupted)" : "", ui_c("reset"),
               r->created + r->replaced, r->updated);
}

/* A guarded resource (an EKS cluster, the root CA, a VPC) is replaced or deleted only when the
 * user named it with --allow-replace. Checked before anything is changed. */
static int guards_refuse(const struct plan *p, const struct vec *allowed)
{
    int refused = 0;
    for (size_t i = 0; i < p->entries.len; i++) {
        const struct plan_entry *e = p->entries.items[i];
        if (!e->guarded || target_match_any(allowed, e->address)) continue;
        ui_errorf("%s is guarded (%s): this plan would %s it; nothing was changed. If that is intended, run again "
                  "with --allow-replace %s", e->address, e->type, e->action == ACT_DELETE ? "delete" : "replace",
                  e->address);
        refused++;
    }
    return refused;
}

static int run(const char *cmd, int destroy, int argc, char **argv)
{
    struct cli_opts o;
    int flags = OPT_FILE | OPT_STATE | OPT_JSON | OPT_TARGET | OPT_AUTO_APPROVE | OPT_LOCK_TIMEOUT | OPT_PARALLELISM | OPT_VAR;
    if (!destroy) flags |= OPT_NO_ROLLBACK | OPT_RESUME | OPT_ALLOW_REPLACE;
    if (cli_parse(&o, cmd, flags, argc, argv)) return 1;
    ui_init(o.json);
    cancel_install();
    struct session s;
    session_init(&s, &o);
    struct mesh_err err;
    mesh_err_init(&err);
    struct plan *p = NULL;
    int rc = session_load_spec(&s, destroy) ? 1 : 0;
    int opened = rc ? 0 : session_open_state(&s, !destroy, &err);
    if (opened < 0) rc = 1;
    if (!rc && opened == 1) {
        if (ui.json) ui_event("summary", json_pack("{s:s, s:s}", "command", cmd, "status", "nothing_to_do"));
        else ui_out("Nothing to destroy: there is no state at %s.\n", session_state_path(&s));
        goto out;
    }
    if (!rc && session_lock(&s, cmd, &err)) rc = 1;
    if (!rc && recover_runs(s.store, s.spec, s.run_id, o.resume, 0, NULL, &err) < 0) rc = 1;
    if (!rc && session_load_rows(&s, &err)) rc = 1;
    if (!rc) {
        struct plan_input in = {.spec = s.spec, .rows = &s.rows, .refresh = 1, .destroy = destroy,
                                .parallelism = o.parallelism, .targets = &o.targets, .run_id = s.run_id};
        if (plan_build(&in, &p, &err)) rc = 1;
    }
    if (rc) {
        if (err.code) ui_error(&err);
        goto out;
    }
    plan_render(p);
    if (!plan_has_changes(p)) goto out;
    if (guards_refuse(p, &o.allow_replace)) {
        rc = 1;
        goto out;
    }
    if (session_confirm(&s, destroy ? "destroy these resources" : "perform these actions")) {
        rc = 1;
        goto out;
    }
    if (!ui.json) ui_out("\n");
    if (store_run_begin(s.store, s.run_id, cmd, &err) || store_snapshot_take(s.store, s.run_id, &err)) {
        ui_error(&err);
        rc = 1;
        goto out;
    }
    struct apply_opts ao = {.parallelism = o.parallelism, .no_rollback = o.no_rollback || destroy, .run_id = s.run_id,
                            .rows = &s.rows};
    struct apply_report rep;
    int arc = apply_run(s.store, p, &ao, &rep, &err);
    const char *status = arc == 0 ? "ok" : rep.rolled_back && !rep.rollback_failed ? "rolled_back" : rep.interrupted ? "interrupted" : "failed";
    struct mesh_err e2;
    mesh_err_init(&e2);
    store_run_end(s.store, s.run_id, status, &e2);
    report(cmd, p, &rep, arc, s.run_id);
    rc = arc ? 1 : 0;
out:
    if (rc == 0 && p && outputs_after_run(&s, destroy)) rc = 1;
    plan_free(p);
    session_release(&s);
    cli_release(&o);
    return rc;
}

int cmd_apply(int argc, char **argv) { return run("apply", 0, argc, argv); }
int cmd_destroy(int argc, char **argv) { return run("destroy", 1, argc, argv); }
