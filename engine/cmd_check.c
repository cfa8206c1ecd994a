/* cmd_check.c: `mesh check [--traffic] [--json] [--timeout D]`: is what state says was built
 * working? Like `mesh kubeconfig`, it reads the state without lock or refresh and never makes a
 * state file. The checks live with the providers (the "istio" check hook, check_hooks.def): the
 * engine hands them the state's rows without any sensitive value and shows what they report,
 * a table per cluster. Exit 0 when every check passes, 1 when one fails, 2 when it cannot run. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/duration.h"
#include "cancel.h"
#include "check_render.h"
#include "cli.h"
#include "cmd.h"
#include "driver.h"
#include "session.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"

#define CONN_TYPE "kubernetes_connection"
#define DEFAULT_TIMEOUT 300.0

/* obj without the names listed in sensitive: a new reference. */
static json_t *without_sensitive(const json_t *obj, const json_t *sensitive)
{
    json_t *out = json_object();
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        int secret = 0;
        size_t i;
        const json_t *name;
        json_array_foreach(sensitive, i, name) if (json_string_value(name) && strcmp(json_string_value(name), k) == 0) secret = 1;
        if (!secret) json_object_set(out, k, (json_t *)v);
    }
    return out;
}

/* The rows as the hook sees them; *clusters gets how many connections there are. */
static json_t *resources_json(const struct vec *rows, int *clusters)
{
    json_t *arr = json_array();
    *clusters = 0;
    for (size_t i = 0; i < rows->len; i++) {
        const struct state_row *r = rows->items[i];
        if (r->deposed[0]) continue;
        *clusters += strcmp(r->type, CONN_TYPE) == 0;
        json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "address", r->address, "type", r->type, "attributes",
                              without_sensitive(r->inputs, r->sensitive), "outputs",
                              without_sensitive(r->outputs, r->sensitive));
        json_object_set_new(o, "connection", r->connection ? json_string(r->connection) : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

static void progress(void *ctx, const char *address, const char *fmt, ...)
{
    (void)ctx;
    (void)address;
    char msg[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A wait notes each poll: the same note is shown again only every 10 s. */
    static char last[800];
    static double shown;
    double now = mesh_now_mono();
    if (strcmp(msg, last) == 0 && now - shown < 10) return;
    snprintf(last, sizeof(last), "%s", msg);
    shown = now;
    fprintf(stderr, "mesh check: %s\n", msg);
}

int cmd_check(struct cli_opts *o)
{
    ui_init(0);
    struct session s;
    session_init(&s, o);
    session_load_spec_lenient(&s);
    struct mesh_err err;
    mesh_err_init(&err);
    int rc = 2;
    int opened = session_open_state(&s, 0, &err);
    if (opened == 1) {
        ui_errorf("nothing to check: there is no state at %s; run mesh apply first", session_state_path(&s));
        goto out;
    }
    if (opened < 0 || session_load_rows(&s, &err)) {
        ui_error(&err);
        goto out;
    }
    int clusters = 0;
    json_t *resources = resources_json(&s.rows, &clusters);
    if (clusters == 0) {
        json_decref(resources);
        ui_errorf("nothing to check: the state at %s holds no cluster (no %s); run mesh apply with a clusters: section",
                  session_state_path(&s), CONN_TYPE);
        goto out;
    }
    double timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
    json_t *input = json_pack("{s:o, s:O, s:{s:b, s:f}}", "resources", resources, "mesh",
                              s.spec && s.spec->mesh ? s.spec->mesh : json_null(), "options", "traffic", o->traffic,
                              "timeout", timeout);
    cancel_install("check", o->traffic ? "removing the helloworld sample" : "stopping");
    struct call c;
    memset(&c, 0, sizeof(c));
    c.address = "check";
    c.type = "check";
    c.run_id = "check";
    c.cancel = &cancel_flag;
    c.progress = progress;
    c.err = &err;
    c.deadline = mesh_now_mono() + timeout;
    json_t *report = NULL;
    if (check_hook_run("istio", &c, input, &report)) {
        ui_error(&err);
    } else {
        int bad;
        if (o->json) {
            bad = !json_is_true(json_object_get(report, "ok"));
            json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            bad = check_render(stdout, report);
        }
        rc = bad ? 1 : 0;
        if (cancel_requested()) rc = rc ? rc : 1;
    }
    json_decref(report);
    json_decref(input);
out:
    session_release(&s);
    return rc;
}
