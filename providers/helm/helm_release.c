/* helm_release.c: a Helm release, made by the real `helm` binary (docs/helm.md). Every call
 * opens a session (session.c), looks at the release with `helm status` first and recovers one
 * a killed helm left pending (rolled back to its last deployed revision, or uninstalled when it
 * never was deployed), then runs `helm upgrade --install --wait` (create, update), `helm
 * uninstall --wait` (delete), or status and history (read: the values and manifest `helm status`
 * gives, the manifest's objects looked up in the cluster; what is missing shows as `drift`). A failure
 * says helm's own message and the namespace's last events, never a value; one on records helm
 * cannot read names their Secrets and the remedy (storage.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/wipe.h"
#include "base/xalloc.h"
#include "helm/helm.h"

#define HELM_MARGIN 5.0   /* helm's --timeout ends this long before the call's deadline */

static const struct attr release_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the release's name"},
    {"namespace", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the release's namespace (helm --namespace)"},
    {"chart", T_STRING, ATTR_REQUIRED,
     "a local chart folder or .tgz, a chart name in `repository`, or an oci:// reference"},
    {"repository", T_STRING, 0, "chart repository URL (https://...) when chart is a name in it"},
    {"version", T_STRING, 0, "chart version (repository and OCI charts); unset: the latest"},
    {"values", T_MAP, 0, "Helm values, given to helm in a 0600 file, never on its command line"},
    {"create_namespace", T_BOOL, 0, "helm --create-namespace"},
    {"drift", T_LIST, 0,
     "set by refresh, never in a spec: what changed outside helm's values (an object of the release "
     "deleted in the cluster, a release not deployed); non-empty plans an upgrade that repairs it"},
    {"id", T_STRING, ATTR_COMPUTED, "NAMESPACE/NAME"},
    {"revision", T_NUMBER, ATTR_COMPUTED | ATTR_RECOMPUTED, "the release's revision"},
    {"status", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "helm's status of it (deployed)"},
    {"chart_version", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "the deployed chart's version"},
    {"app_version", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "the deployed chart's appVersion"},
    {NULL, 0, 0, NULL},
};

static void note(struct call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct call *c, const char *fmt, ...)
{
    if (!c->progress) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->progress(c->progress_ctx, c->address, "%s", buf);
}

static double helm_timeout(const struct call *c)
{
    if (c->deadline <= 0) return HELM_DEFAULT_TIMEOUT;
    double left = c->deadline - mesh_now_mono() - HELM_MARGIN;
    return left < 1 ? 1 : left;
}

/* ---- the release ---- */

struct rel {
    struct helm_target t;
    struct helm_chart chart;
    const json_t *values;
    int create_ns;
};

static int rel_of(struct call *c, const json_t *desired, struct rel *r, struct mesh_err *e)
{
    memset(r, 0, sizeof(*r));
    r->t.name = json_string_value(json_object_get(desired, "name"));
    r->t.ns = json_string_value(json_object_get(desired, "namespace"));
    if (!r->t.name || !r->t.ns) return mesh_err_set(e, MESH_EINVAL, NULL, "name and namespace are required");
    r->values = json_object_get(desired, "values");
    r->create_ns = json_is_true(json_object_get(desired, "create_namespace"));
    return helm_chart_parse(json_string_value(json_object_get(desired, "chart")),
                            json_string_value(json_object_get(desired, "repository")),
                            json_string_value(json_object_get(desired, "version")), &r->chart, e);
}

/* "NS/NAME" of outputs into buf; target points into it. */
static int target_of(const json_t *outputs, char *buf, size_t n, struct helm_target *t)
{
    const char *id = json_string_value(json_object_get(outputs, "id"));
    if (!id || strlen(id) >= n || !strchr(id, '/')) return -1;
    snprintf(buf, n, "%s", id);
    char *slash = strchr(buf, '/');
    *slash = '\0';
    t->ns = buf;
    t->name = slash + 1;
    return 0;
}

static int run(struct helm_session *s, struct vec *argv, struct strbuf *out, struct mesh_err *e)
{
    int rc = helm_session_run(s, argv, out, e);
    vec_free_all(argv, free);
    return rc;
}

/* `helm status`: MESH_ENOTFOUND when there is no such release. */
static int status_of(struct helm_session *s, const struct helm_target *t, struct helm_status *st, struct mesh_err *e)
{
    memset(st, 0, sizeof(*st));
    struct vec argv = VEC_INIT;
    struct strbuf out = STRBUF_INIT;
    strbuf_init(&out);
    helm_argv_query(t, "status", &argv);
    int rc = run(s, &argv, &out, e);
    if (rc == 0) rc = helm_status_parse(out.buf, out.len, st, e);
    wipe_free(strbuf_detach(&out));  /* it holds the values */
    if (rc && rc != MESH_ECANCELED && helm_says_unreadable(e->msg)) {
        json_t *items = NULL;
        struct mesh_err le;
        if (helm_records(s->c, s->h->k, t, &items, &le) == 0) helm_records_explain(t, items, e);
        json_decref(items);
    }
    return rc == 0 ? 0 : e->code;
}

/* Only unreadable records of a first install, in the find of mesh's own cut-off create: what
 * helm left when the write of its record was cut off. They are deleted and the release installed
 * afresh from the spec (helm adopts the objects the cut-off install made, as they carry its
 * annotations), so that apply goes on and destroy uninstalls it all. Anything else is left to the
 * user with helm_records_explain's message. */
static int reinstall_unreadable(struct helm_session *s, const struct rel *r, struct helm_status *st,
                                struct mesh_err *e)
{
    json_t *items = NULL;
    struct mesh_err le;
    if (helm_records(s->c, s->h->k, &r->t, &items, &le) || !helm_records_first_install(items) ||
        !strstr(e->msg, "no revision for release")) {
        json_decref(items);
        return e->code;
    }
    note(s->c, "helm's record of the first install cannot be read (a write cut off): installing it afresh");
    mesh_err_clear(e);
    int rc = helm_records_drop(s->c, s->h->k, items, e);
    json_decref(items);
    const char *values = NULL;
    if (rc == 0) rc = helm_session_values(s, r->values, &values, e);
    if (rc == 0) {
        struct helm_install in = {r->chart, values, r->create_ns, helm_timeout(s->c)};
        struct vec argv = VEC_INIT;
        helm_argv_upgrade(&r->t, &in, &argv);
        rc = run(s, &argv, NULL, e);
    }
    if (rc == 0) rc = status_of(s, &r->t, st, e);
    return rc;
}

static int history_of(struct helm_session *s, const struct helm_target *t, long newest, struct helm_history *h,
                      struct mesh_err *e)
{
    struct vec argv = VEC_INIT;
    struct strbuf out = STRBUF_INIT;
    strbuf_init(&out);
    helm_argv_query(t, "history", &argv);
    int rc = run(s, &argv, &out, e);
    if (rc == 0) helm_history_parse(out.buf, out.len, newest, h);
    strbuf_release(&out);
    return rc;
}

static int uninstall(struct helm_session *s, const struct helm_target *t, struct mesh_err *e)
{
    struct vec argv = VEC_INIT;
    helm_argv_uninstall(t, helm_timeout(s->c), &argv);
    return run(s, &argv, NULL, e);
}

/* A release a cut-off helm left pending, or whose first install failed, is put back to its last
 * deployed revision or uninstalled. *gone: nothing is left. */
static int recover(struct helm_session *s, const struct helm_target *t, struct helm_status *st, int *gone,
                   struct mesh_err *e)
{
    *gone = 0;
    int pending = helm_status_pending(st->status);
    if (!pending && strcmp(st->status, "failed") != 0) return 0;
    struct helm_history h;
    if (history_of(s, t, st->revision, &h, e)) return -1;
    if (!pending && h.last_deployed > 0) return 0;  /* a failed upgrade: the next upgrade goes on from it */
    struct call *c = s->c;
    int rc;
    if (h.last_deployed > 0) {
        note(c, "release left %s: rolling back to revision %ld", st->status, h.last_deployed);
        struct vec argv = VEC_INIT;
        helm_argv_rollback(t, h.last_deployed, helm_timeout(c), &argv);
        rc = run(s, &argv, NULL, e);
        helm_status_release(st);
        if (rc == 0) {
            rc = status_of(s, t, st, e);
        } else if (rc != MESH_ECANCELED) {
            /* helm cannot roll back over an object the cut-off upgrade deleted; the release is no
             * longer pending then (the rollback failed), and the upgrade that follows makes it */
            struct mesh_err se;
            mesh_err_init(&se);
            if (status_of(s, t, st, &se) == 0 && !helm_status_pending(st->status)) {
                note(c, "the rollback failed; the upgrade goes on from revision %ld", st->revision);
                mesh_err_clear(e);
                rc = 0;
            }
        }
    } else {
        note(c, "release left %s and never deployed: uninstalling it", st->status);
        rc = uninstall(s, t, e);
        if (rc == MESH_ENOTFOUND) {
            mesh_err_clear(e);
            rc = 0;
        }
        if (rc == 0) *gone = 1;
    }
    return rc;
}

static int fail(struct call *c, struct helm_session *s, const struct rel *r, struct mesh_err *e, int events)
{
    if (events && s && e->code != MESH_ECANCELED && e->code != MESH_ENOTFOUND) helm_add_events(s->c, s->h->k, r->t.ns, e);
    if (r && r->values) helm_scrub(e->msg, r->values);
    return mesh_err_copy(c->err, e, c->address);
}

/* The outputs, from the release's status and history. */
static int outputs_of(struct helm_session *s, const struct helm_target *t, const struct helm_status *st, json_t **out,
                      struct mesh_err *e)
{
    struct helm_history h;
    if (history_of(s, t, st->revision, &h, e)) return -1;
    char id[600];
    snprintf(id, sizeof(id), "%s/%s", t->ns, t->name);
    *out = json_pack("{s:s, s:I, s:s, s:s, s:s}", "id", id, "revision", (json_int_t)st->revision, "status", st->status,
                     "chart_version", h.chart_version, "app_version", h.app_version);
    return 0;
}

/* What a failed upgrade --install left: 1 when the release is as it was (absent when it did not
 * exist, deployed at that revision when it was), 0 when there is something to undo. */
static int untouched(struct helm_session *s, const struct helm_target *t, int existed, long deployed)
{
    struct vec argv = VEC_INIT;
    struct strbuf out = STRBUF_INIT;
    strbuf_init(&out);
    struct mesh_err e;
    mesh_err_init(&e);
    struct helm_status st = {0};
    helm_argv_query(t, "status", &argv);
    int rc = helm_session_run_cleanup(s, &argv, &out, &e);
    vec_free_all(&argv, free);
    if (rc == 0) rc = helm_status_parse(out.buf, out.len, &st, &e);
    wipe_free(strbuf_detach(&out));
    int same = existed ? rc == 0 && strcmp(st.status, "deployed") == 0 && st.revision == deployed
                       : rc == MESH_ENOTFOUND;
    helm_status_release(&st);
    return same;
}

/* A failed upgrade --install is undone as the engine expects of a failed call (its state is
 * unchanged): a release that did not exist is uninstalled; one that was deployed goes back to
 * what state holds: an upgrade with the prior spec when there is one (an update; it also makes
 * again what the failed upgrade deleted, where `helm rollback` fails), else a rollback to that
 * revision. Nothing is done when helm failed before making a revision (a chart that does not
 * render). Best effort, not cut short by a Ctrl-C; what happened is appended to e. */
static void undo(struct helm_session *s, const struct rel *r, int existed, long deployed, const struct rel *prior,
                 struct mesh_err *e)
{
    if ((existed && deployed <= 0) || untouched(s, &r->t, existed, deployed)) return;
    struct vec argv = VEC_INIT;
    struct mesh_err ue;
    mesh_err_init(&ue);
    const char *what;
    int rc = 0;
    if (!existed) {
        what = "uninstalled";
        note(s->c, "undoing the failed install: uninstalling");
        helm_argv_uninstall(&r->t, HELM_CLEANUP, &argv);
    } else if (prior) {
        what = "upgraded back to the spec it had";
        note(s->c, "undoing the failed upgrade: upgrading back to the spec it had");
        const char *values = NULL;
        rc = helm_session_values(s, prior->values, &values, &ue);
        struct helm_install in = {prior->chart, values, prior->create_ns, HELM_CLEANUP};
        helm_argv_upgrade(&r->t, &in, &argv);
    } else {
        what = "rolled back to the revision it had";
        note(s->c, "undoing the failed upgrade: rolling back to revision %ld", deployed);
        helm_argv_rollback(&r->t, deployed, HELM_CLEANUP, &argv);
    }
    if (rc == 0) rc = helm_session_run_cleanup(s, &argv, NULL, &ue);
    vec_free_all(&argv, free);
    size_t used = strlen(e->msg);
    if (used + 16 >= sizeof(e->msg)) return;
    if (rc == 0 || rc == MESH_ENOTFOUND) snprintf(e->msg + used, sizeof(e->msg) - used, "; %s", what);
    else snprintf(e->msg + used, sizeof(e->msg) - used, "; undoing it failed too: %.300s", ue.msg);
}

/* create and update: upgrade --install of the desired release; prior: the spec state holds
 * (an update), or NULL. */
static int install(struct call *c, const json_t *desired, const json_t *prior_spec, json_t **outputs)
{
    struct mesh_err e;
    mesh_err_init(&e);
    struct rel r;
    if (rel_of(c, desired, &r, &e)) return fail(c, NULL, &r, &e, 0);
    struct helm_session s;
    int rc = helm_session_open(c, &s, &e);
    struct helm_status st = {0};
    int gone = 0, existed = 0;
    long deployed = 0;
    r.t.kubeconfig = s.kubeconfig;
    if (rc == 0) {
        rc = status_of(&s, &r.t, &st, &e);
        if (rc == MESH_ENOTFOUND) {
            mesh_err_clear(&e);
            rc = 0;
        } else if (rc == 0) {
            rc = recover(&s, &r.t, &st, &gone, &e);
            existed = !gone;
        }
    }
    if (rc == 0 && existed) {
        struct helm_history h;
        if (strcmp(st.status, "deployed") == 0) deployed = st.revision;
        else if ((rc = history_of(&s, &r.t, st.revision, &h, &e)) == 0) deployed = h.last_deployed;
    }
    helm_status_release(&st);
    const char *values = NULL;
    if (rc == 0) rc = helm_session_values(&s, r.values, &values, &e);
    if (rc == 0) {
        struct helm_install in = {r.chart, values, r.create_ns, helm_timeout(c)};
        struct vec argv = VEC_INIT;
        helm_argv_upgrade(&r.t, &in, &argv);
        rc = run(&s, &argv, NULL, &e);
        if (rc) {
            if (e.code != MESH_ECANCELED) helm_add_events(c, s.h->k, r.t.ns, &e);
            struct rel prior;
            struct mesh_err pe;
            mesh_err_init(&pe);
            int has_prior = prior_spec && rel_of(c, prior_spec, &prior, &pe) == 0;
            undo(&s, &r, existed, deployed, has_prior ? &prior : NULL, &e);
        }
    }
    if (rc == 0) rc = status_of(&s, &r.t, &st, &e);
    if (rc == 0) rc = outputs_of(&s, &r.t, &st, outputs, &e);
    if (rc) fail(c, &s, &r, &e, 0);
    helm_status_release(&st);
    helm_session_close(&s);
    return rc;
}

static int release_create(struct call *c, const json_t *desired, json_t **outputs)
{
    return install(c, desired, NULL, outputs);
}

static int release_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                          json_t **new_outputs)
{
    (void)outputs;
    return install(c, desired, prior, new_outputs);
}

/* Objects of the manifest that the cluster no longer has, as strings into drift. */
static int missing_objects(struct helm_session *s, const struct helm_target *t, const char *manifest, json_t *drift,
                           struct mesh_err *e)
{
    json_t *docs = NULL;
    int rc = kube_yaml_documents(manifest, strlen(manifest), "helm's manifest of the release", &docs, e);
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc) {
        if (rc) break;
        json_t *md = json_object_get(doc, "metadata");
        struct kube_ref ref = {json_string_value(json_object_get(doc, "apiVersion")),
                               json_string_value(json_object_get(doc, "kind")),
                               json_string_value(json_object_get(md, "namespace")),
                               json_string_value(json_object_get(md, "name"))};
        if (!ref.api_version || !ref.kind || !ref.name) continue;
        if (!ref.ns) ref.ns = t->ns;  /* helm puts namespaced objects in the release's */
        json_t *live = NULL;
        struct mesh_err ge;
        mesh_err_init(&ge);
        int g = kube_get(s->c, s->h->k, &ref, &live, &ge);
        json_decref(live);
        if (g == MESH_ENOTFOUND || g == MESH_EINVAL) {  /* EINVAL: its kind is not served (a CRD gone) */
            char what[700];
            snprintf(what, sizeof(what), "%s %s/%s %s", ref.kind, ref.ns, ref.name,
                     g == MESH_ENOTFOUND ? "deleted in the cluster" : "missing: the cluster serves no such kind");
            json_array_append_new(drift, json_string(what));
        } else if (g) {
            rc = mesh_err_copy(e, &ge, NULL);
        }
    }
    json_decref(docs);
    return rc;
}

static int release_read(struct call *c, const json_t *outputs, json_t **current)
{
    struct mesh_err e;
    mesh_err_init(&e);
    char buf[600];
    struct rel r;
    memset(&r, 0, sizeof(r));
    if (target_of(outputs, buf, sizeof(buf), &r.t)) {
        mesh_err_set(&e, MESH_ERR, NULL, "state holds no id (NAMESPACE/NAME) for this release");
        return fail(c, NULL, &r, &e, 0);
    }
    struct helm_session s;
    int rc = helm_session_open(c, &s, &e);
    r.t.kubeconfig = s.kubeconfig;
    struct helm_status st = {0};
    if (rc == 0) rc = status_of(&s, &r.t, &st, &e);
    json_t *drift = json_array();
    if (rc == 0 && strcmp(st.status, "deployed") != 0) {
        char what[128];
        snprintf(what, sizeof(what), "release status is %s, not deployed", st.status);
        json_array_append_new(drift, json_string(what));
    }
    if (rc == 0) rc = missing_objects(&s, &r.t, st.manifest, drift, &e);
    if (rc == 0) rc = outputs_of(&s, &r.t, &st, current, &e);
    if (rc == 0) {
        json_object_set_new(*current, "name", json_string(r.t.name));
        json_object_set_new(*current, "namespace", json_string(r.t.ns));
        /* no values: what was applied stands (a spec without values and {} are the same) */
        if (json_object_size(st.config)) json_object_set(*current, "values", st.config);
        if (json_array_size(drift)) json_object_set(*current, "drift", drift);
    } else if (rc != MESH_ENOTFOUND) {
        r.values = st.config;
        fail(c, NULL, &r, &e, 0);
    }
    json_decref(drift);
    helm_status_release(&st);
    helm_session_close(&s);
    return rc;
}

static int release_delete(struct call *c, const json_t *outputs)
{
    struct mesh_err e;
    mesh_err_init(&e);
    char buf[600];
    struct rel r;
    memset(&r, 0, sizeof(r));
    if (target_of(outputs, buf, sizeof(buf), &r.t)) return MESH_ENOTFOUND;  /* never made */
    struct helm_session s;
    int rc = helm_session_open(c, &s, &e);
    r.t.kubeconfig = s.kubeconfig;
    struct helm_status st = {0};
    if (rc == 0) rc = status_of(&s, &r.t, &st, &e);
    if (rc == 0) rc = uninstall(&s, &r.t, &e);
    if (rc && rc != MESH_ENOTFOUND) {
        r.values = st.config;
        fail(c, &s, &r, &e, 1);
    }
    helm_status_release(&st);
    helm_session_close(&s);
    return rc;
}

/* Adopts a release a cut-off create left: deployed (or a failed upgrade of one); one left
 * pending is recovered first, and one never deployed is uninstalled (then there is none). */
static int release_find(struct call *c, const json_t *desired, json_t **outputs)
{
    struct mesh_err e;
    mesh_err_init(&e);
    struct rel r;
    if (rel_of(c, desired, &r, &e)) return MESH_ENOTFOUND;
    struct helm_session s;
    int rc = helm_session_open(c, &s, &e);
    r.t.kubeconfig = s.kubeconfig;
    struct helm_status st = {0};
    int gone = 0;
    if (rc == 0) rc = status_of(&s, &r.t, &st, &e);
    if (rc && strcmp(e.cause, HELM_UNREADABLE) == 0) rc = reinstall_unreadable(&s, &r, &st, &e);
    if (rc == 0) rc = recover(&s, &r.t, &st, &gone, &e);
    if (rc == 0 && gone) rc = MESH_ENOTFOUND;
    if (rc == 0) rc = outputs_of(&s, &r.t, &st, outputs, &e);
    if (rc && rc != MESH_ENOTFOUND) fail(c, &s, &r, &e, 0);
    helm_status_release(&st);
    helm_session_close(&s);
    return rc;
}

/* A DNS-1123 label of at most max characters (helm: release names <= 53, namespaces <= 63); also
 * what keeps a value helm would read as an option ("--post-renderer=...") off its command line. */
static int dns_label(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return 0;
    return 1;
}

static int release_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    int bad = 0;
    const char *chart = json_string_value(json_object_get(desired, "chart"));
    if (json_object_get(desired, "drift")) {
        report(ctx, "drift", "drift is what refresh reports; a spec does not set it");
        bad++;
    }
    static const struct {
        const char *attr;
        size_t max;
    } labels[] = {{"name", 53}, {"namespace", 63}};
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
        const char *v = json_string_value(json_object_get(desired, labels[i].attr));
        if (v && !strstr(v, "${") && !dns_label(v, labels[i].max)) {
            char msg[320];
            snprintf(msg, sizeof(msg), "\"%.80s\" is not a valid %s: lower-case letters, digits and '-', "
                     "starting and ending with a letter or digit, at most %zu characters",
                     v, i == 0 ? "release name" : "namespace", labels[i].max);
            report(ctx, labels[i].attr, msg);
            bad++;
        }
    }
    const char *opts[] = {"chart", "version", "repository"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        const char *v = json_string_value(json_object_get(desired, opts[i]));
        if (v && v[0] == '-') {
            report(ctx, opts[i], "must not start with '-' (helm would read it as an option)");
            bad++;
        }
    }
    if (bad) return bad;
    if (!chart || strstr(chart, "${")) return bad;  /* known only once applied */
    struct helm_chart hc;
    struct mesh_err e;
    mesh_err_init(&e);
    if (helm_chart_parse(chart, json_string_value(json_object_get(desired, "repository")),
                         json_string_value(json_object_get(desired, "version")), &hc, &e)) {
        const char *attr = strncmp(e.msg, "repository", 10) == 0 ? "repository"
                           : strncmp(e.msg, "version", 7) == 0   ? "version"
                                                                 : "chart";
        const char *msg = strchr(e.msg, ':') ? strchr(e.msg, ':') + 2 : e.msg;
        report(ctx, attr, msg);
        return bad + 1;
    }
    char msg[1200];
    if (helm_chart_missing(&hc, msg, sizeof(msg))) {
        report(ctx, "chart", msg);
        bad++;
    }
    return bad;
}

const struct driver helm_release_driver = {
    .type = "helm_release",
    .provider = &helm_provider,
    .flags = DRIVER_CHECK_IN_SPEC,
    .schema = release_schema,
    .doc = "a Helm release, installed and upgraded by the real helm binary",
    .timeout_create = 600,
    .timeout_update = 600,
    .timeout_delete = 300,
    .create = release_create,
    .find = release_find,
    .read = release_read,
    .update = release_update,
    .delete = release_delete,
    .check = release_check,
};
