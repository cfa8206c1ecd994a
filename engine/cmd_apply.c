/* cmd_apply.c: `mesh apply` and `mesh destroy`: lock, recover a cut-off run, plan, confirm,
 * snapshot, execute, report. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <string.h>

#include "apply.h"
#include "cancel.h"
#include "cli.h"
#include "cmd.h"
#include "diff.h"
#include "driver.h"
#include "plan.h"
#include "plan_render.h"
#include "planfile.h"
#include "session.h"
#include "spec/spec.h"
#include "spec_graph.h"
#include "store.h"
#include "ui.h"
#include "base/xalloc.h"

/* "AWS: 120 API calls, 3 retries" per provider the run opened (its stats callback's figures). */
static void report_providers(json_t *ps)
{
    const char *name;
    json_t *v;
    json_object_foreach(ps, name, v) {
        json_int_t calls = json_integer_value(json_object_get(v, "api_calls")), retries = json_integer_value(json_object_get(v, "retries"));
        const char *shown = json_string_value(json_object_get(v, "display_name"));  /* "AWS" */
        ui_out("\n%s: %lld API calls, %lld retries", shown ? shown : name, (long long)calls,
               (long long)retries);
    }
    json_decref(ps);
}

static void report(const char *cmd, const struct plan *p, const struct apply_report *r, int rc, const char *run_id)
{
    json_t *ps = provider_stats();  /* {"aws": {"api_calls": N, "retries": M}} or NULL */
    const char *status = rc == 0 ? "ok" : r->lock_lost ? "lock_lost" : r->store_failed ? "failed" : r->rolled_back ? (r->rollback_failed ? "rollback_incomplete" : "rolled_back") : "failed";
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
    if (r->lock_lost)
        ui_out("\n%s%s stopped: another run took the state lock over (see above).%s This run wrote nothing after "
               "that; the run holding the lock now recovers what this one did (it rolls it back). Run 'mesh plan' "
               "to see where state stands.\n", ui_c("red"), cmd, ui_c("reset"));
    else if (r->store_failed && strcmp(cmd, "destroy") == 0)
        ui_out("\n%sdestroy failed: the state store stopped accepting writes (see the error above), so it stopped "
               "before its next delete.%s The run stays open in the journal. Fix that, then run 'mesh destroy' "
               "again: it first closes this run from the journal, then destroys what is left.\n", ui_c("red"),
               ui_c("reset"));
    else if (r->store_failed)
        ui_out("\n%s%s failed: the state store stopped accepting writes (see the error above), so it stopped before "
               "its next driver call and could not roll back.%s The run stays open in the journal. Fix that, then "
               "run 'mesh apply' again: it first recovers this run (adopting what it created, then rolling it back), "
               "then plans and applies as usual.\n", ui_c("red"), cmd, ui_c("reset"));
    else if (r->rolled_back && !r->rollback_failed)
        ui_out("\n%s%s failed%s%s; every change of this run was rolled back: state and the world are as before it.\n",
               ui_c("red"), cmd, r->interrupted ? " (interrupted)" : "", ui_c("reset"));
    else if (r->rolled_back)
        ui_out("\n%s%s failed and %d rollback step(s) failed too.%s State holds what exists now; fix the cause and run "
               "'mesh apply' again to converge.\n", ui_c("red"), cmd, r->rollback_failed, ui_c("reset"));
    else if (r->phase2_failed)
        ui_out("\n%s%s %s.%s What was not deleted is still in state; run 'mesh %s' again to finish.\n", ui_c("red"),
               cmd, r->interrupted ? "was interrupted while deleting" : "stopped at a failed delete", ui_c("reset"), cmd);
    else
        ui_out("\n%s%s failed%s.%s Progress was kept (--no-rollback): %d created, %d changed; run 'mesh apply' again "
               "to converge.\n", ui_c("red"), cmd, r->interrupted ? " (interrupted)" : "", ui_c("reset"),
               r->created + r->replaced, r->updated);
}

/* Marks the run finished. If that write fails the run stays open and the next run recovers it
 * (keeping its progress once it reached its deletes), so say so. */
static int run_close(struct session *s, const char *cmd, const char *status)
{
    struct mesh_err e;
    mesh_err_init(&e);
    if (store_run_end(s->store, s->run_id, status, &e) == 0) return 0;
    ui_error(&e);
    ui_errorf("could not record the end of run %s (%s); the next 'mesh %s' recovers it from the journal first",
              s->run_id, status, cmd);
    return -1;
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

/* A saved plan: its spec, variables and targets replace the command line's; its var files are
 * held in memory (memfd) for the run, never written to disk. */
struct saved {
    json_t *payload;
    char *state_url;      /* the team state it was made against (from its header) */
    struct vec tmpfiles;  /* char * paths of the var files, /proc/self/fd/N of a memfd each */
};

static int saved_load(struct saved *sv, struct cli_opts *o, struct session *s, struct mesh_err *err)
{
    /* team state: its key is beside the state, so the state is opened before the plan is read */
    sv->state_url = planfile_state(o->args.items[0]);
    if (sv->state_url && !o->state_path && !getenv("MESH_STATE")) o->state_path = sv->state_url;
    if (sv->state_url && session_open_state(s, 0, err)) {
        if (!err->code) mesh_err_set(err, MESH_ENOTFOUND, NULL, "the plan was made against %s, which holds no state",
                                     sv->state_url);
        return -1;
    }
    if (planfile_read(o->args.items[0], &sv->payload, err)) return -1;
    json_t *pl = sv->payload;
    o->spec_path = json_string_value(json_object_get(pl, "spec_path"));
    s->spec_text = json_string_value(json_object_get(pl, "spec_text"));
    o->auto_approve = 1;  /* the plan was reviewed when it was saved */
    vec_release(&o->vars);
    vec_release(&o->var_files);
    vec_release(&o->targets);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(pl, "vars"), i, v) vec_push(&o->vars, (void *)json_string_value(v));
    json_array_foreach(json_object_get(pl, "targets"), i, v) vec_push(&o->targets, (void *)json_string_value(v));
    json_array_foreach(json_object_get(pl, "var_files"), i, v) {
        /* In memory, not in /tmp: a var file may hold secrets, and a kill -9 must not leave them
         * on disk. The variables code reads it by path, as any var file. */
        int fd = memfd_create("mesh-varfile", MFD_CLOEXEC);
        const char *text = json_string_value(json_object_get(v, "text"));
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
            if (fd >= 0) close(fd);
            return mesh_err_set(err, MESH_ERR, NULL, "cannot hold a saved var file in memory: %s", strerror(errno));
        }
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        vec_push(&sv->tmpfiles, xstrdup(path));
        vec_push(&o->var_files, sv->tmpfiles.items[sv->tmpfiles.len - 1]);
    }
    return 0;
}

/* A saved plan is JSON; a spec is YAML, whose documents start with a key, a comment or `---`. */
static int arg_is_planfile(const char *path)
{
    size_t n = strlen(path);
    if ((n > 5 && !strcmp(path + n - 5, ".yaml")) || (n > 4 && !strcmp(path + n - 4, ".yml"))) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;  /* then it is a spec that cannot be read, and the loader says so */
    int c;
    while ((c = fgetc(f)) != EOF && isspace(c)) {}
    fclose(f);
    return c == '{';
}

/* apply's one argument: a plan saved by `mesh plan --out` is applied as it was saved; anything
 * else is the spec, as with -f. */
static int apply_arg(struct saved *sv, struct cli_opts *o, struct session *s, struct mesh_err *err)
{
    const char *arg = o->args.items[0];
    if (access(arg, F_OK) != 0)
        return mesh_err_set(err, MESH_EINVAL, arg, "no such file (apply takes a plan saved by `mesh plan -out FILE`, or a spec)");
    if (!arg_is_planfile(arg)) {
        if (o->spec_given)
            return mesh_err_set(err, MESH_EINVAL, NULL, "the spec is given twice (-f %s and %s): give it once", o->spec_path, arg);
        o->spec_path = arg;
        o->spec_given = 1;
        return 0;
    }
    if (o->spec_given || o->vars.len || o->var_files.len || o->targets.len)
        return mesh_err_set(err, MESH_EINVAL, arg, "a saved plan carries its spec, variables and targets: apply it without "
                            "-f, --var, --var-file and --target (or make a new plan with them)");
    return saved_load(sv, o, s, err);
}

static void saved_release(struct saved *sv)
{
    for (size_t i = 0; i < sv->tmpfiles.len; i++) close(atoi((char *)sv->tmpfiles.items[i] + strlen("/proc/self/fd/")));
    vec_free_all(&sv->tmpfiles, free);
    json_decref(sv->payload);
    free(sv->state_url);
}

/* The state must be exactly the one the plan was made against, and the plan made now the same. */
static int saved_check_state(const struct saved *sv, struct session *s, struct mesh_err *err)
{
    const char *lineage = json_string_value(json_object_get(sv->payload, "lineage"));
    long long serial = json_integer_value(json_object_get(sv->payload, "serial"));
    if (strcmp(lineage, store_lineage(s->store)) != 0)
        return mesh_err_set(err, MESH_ECONFLICT, NULL, "the saved plan was made for another state (lineage %s, this is %s)",
                            lineage, store_lineage(s->store));
    if (serial != store_serial(s->store))
        return mesh_err_set(err, MESH_ECONFLICT, NULL,
                            "the state changed since the plan was saved (serial %lld, now %lld); nothing was done: run "
                            "`mesh plan -out` again", serial, store_serial(s->store));
    struct plan *notes = plan_new();
    int open = recover_runs(s->store, s->spec, s->run_id, 0, 1, 1, notes, err);
    plan_free(notes);
    if (open > 0)
        return mesh_err_set(err, MESH_ECONFLICT, NULL, "a cut-off run (or an object a failed run left unready) must be "
                            "recovered first: run `mesh apply` without the plan file, then make a new plan");
    return open < 0 ? open : 0;
}

static int saved_check_plan(const struct saved *sv, const struct plan *p, struct mesh_err *err)
{
    char fp[65];
    plan_fingerprint(p, fp);
    if (strcmp(fp, json_string_value(json_object_get(sv->payload, "fingerprint"))) != 0)
        return mesh_err_set(err, MESH_ECONFLICT, NULL,
                            "the world changed since the plan was saved, so this is no longer that plan (see above); "
                            "nothing was done: review it with `mesh plan -out` again");
    return 0;
}

/* o was parsed by the command's grammar (main.c): destroy's argument is already the spec. */
static int run(const char *cmd, int destroy, struct cli_opts *o)
{
    ui_init(o->json);
    cancel_install(cmd, destroy ? "stopping: what was deleted stays deleted, the rest stays in state for 'mesh destroy'"
                        : o->no_rollback ? "stopping with the progress kept (--no-rollback)"
                                         : "rolling back (or, once it is deleting, stopping there)");
    struct session s;
    session_init(&s, o);
    s.writing = 1;
    struct mesh_err err;
    mesh_err_init(&err);
    struct plan *p = NULL;
    struct saved sv = {NULL, NULL, VEC_INIT};
    int rc = 0;
    if (o->args.len && apply_arg(&sv, o, &s, &err)) {
        ui_error(&err);
        rc = 1;
        goto out;
    }
    cli_warn_targets(o);  /* after a saved plan brought its targets */
    rc = session_load_spec(&s, destroy) ? 1 : 0;
    int opened = rc ? 0 : session_open_locked(&s, !destroy, cmd, &err);
    if (opened < 0) rc = 1;
    if (!rc && opened == 1) {
        if (ui.json) ui_event("summary", json_pack("{s:s, s:s}", "command", cmd, "status", "nothing_to_do"));
        else ui_out("Nothing to destroy: there is no state at %s.\n", session_state_path(&s));
        goto out;
    }
    if (!rc && sv.payload && saved_check_state(&sv, &s, &err)) rc = 1;
    if (!rc && recover_runs(s.store, s.spec, s.run_id, o->resume, 0, o->parallelism, NULL, &err) < 0) rc = 1;
    if (!rc && session_load_rows(&s, &err)) rc = 1;
    if (!rc) {
        struct plan_input in = {.spec = s.spec, .rows = &s.rows, .refresh = 1, .destroy = destroy,
                                .parallelism = o->parallelism, .targets = &o->targets, .run_id = s.run_id, .store = s.store};
        if (plan_build(&in, &p, &err)) rc = 1;
    }
    if (rc) {
        if (err.code) ui_error(&err);
        goto out;
    }
    plan_render(p);
    if (sv.payload && saved_check_plan(&sv, p, &err)) {
        ui_error(&err);
        rc = 1;
        goto out;
    }
    if (!plan_has_changes(p)) goto out;
    if (guards_refuse(p, &o->allow_replace)) {
        rc = 1;
        goto out;
    }
    if (session_confirm(&s, destroy ? "destroy these resources" : "perform these actions")) {
        rc = 1;
        goto out;
    }
    if (!ui.json) ui_out("\n");
    if (store_run_start(s.store, s.run_id, cmd, &err)) {
        ui_error(&err);
        rc = 1;
        goto out;
    }
    struct apply_opts ao = {.parallelism = o->parallelism, .no_rollback = o->no_rollback || destroy, .run_id = s.run_id,
                            .rows = &s.rows};
    struct apply_report rep;
    int arc = apply_run(s.store, p, &ao, &rep, &err);
    struct mesh_err lease;
    mesh_err_init(&lease);
    rep.lock_lost = arc && store_lock_check(s.store, &lease) == MESH_ELOCKED;
    const char *status = arc == 0 ? "ok" : rep.rolled_back && !rep.rollback_failed ? "rolled_back" : rep.interrupted ? "interrupted" : "failed";
    report(cmd, p, &rep, arc, s.run_id);
    rc = arc ? 1 : 0;
    /* A run whose results could not all be recorded stays "running": the next apply or destroy
     * recovers it from its journal (its intents were durable before each driver call). */
    if (!rep.store_failed && run_close(&s, cmd, status)) rc = 1;
out:
    if (rc == 0 && p && outputs_after_run(&s, destroy)) rc = 1;
    plan_free(p);
    /* Team state is written whole at unlock; a lease lost before then is this run's failure. */
    if (s.remote) {
        struct mesh_err ue;
        mesh_err_init(&ue);
        if (session_unlock(&s, &ue)) {
            ui_error(&ue);
            rc = 1;
        }
    }
    session_release(&s);
    saved_release(&sv);  /* the options point into its payload: main.c releases them, reading none */
    return rc;
}

int cmd_apply(struct cli_opts *o) { return run("apply", 0, o); }
int cmd_destroy(struct cli_opts *o) { return run("destroy", 1, o); }
