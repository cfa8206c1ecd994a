/* check_releases.c: the helm releases state says were installed are deployed, and what runs in
 * their namespaces is ready. Helm keeps each revision of a release in a Secret (type
 * helm.sh/release.v1, labels owner=helm, name=<release>, version=<n>, status=<status>); the
 * newest revision's status label is what `helm status` reports, read here through the API, so
 * no helm binary is needed. Then each Deployment in those namespaces must have readyReplicas ==
 * replicas and that many Pods with condition Ready. The release payload is never decoded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "istio/check.h"

static const char *label(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key));
}

static void release(struct check_ctx *x, struct check_cluster *cl, const char *ns, const char *name)
{
    char check[300], sel[300], fix[700];
    snprintf(check, sizeof(check), "release %s deployed", name);
    snprintf(sel, sizeof(sel), "owner=helm,name=%s", name);
    struct call call;
    struct mesh_err err;
    check_call(x, &call, &err, 30);
    json_t *items = NULL;
    if (kube_list(&call, cl->k, "v1", "Secret", ns, sel, &items, &err)) {
        check_row(cl, check, 0, "is the cluster reachable, and may its credential list secrets?",
                  "cannot list helm's records in %s: %s", ns, err.msg);
        return;
    }
    const json_t *newest = NULL;
    long best = -1;
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it) {
        const char *type = json_string_value(json_object_get(it, "type")), *v = label(it, "version");
        if (!type || strcmp(type, "helm.sh/release.v1") != 0 || !v) continue;
        if (atol(v) > best) {
            best = atol(v);
            newest = it;
        }
    }
    const char *status = newest ? label(newest, "status") : NULL;
    if (!newest) {
        snprintf(fix, sizeof(fix), "run mesh apply (it installs helm_release.%s.%s)", cl->name, name);
        check_row(cl, check, 0, fix, "%s/%s is not installed (no helm record)", ns, name);
    } else if (!status || strcmp(status, "deployed") != 0) {
        snprintf(fix, sizeof(fix),
                 "see why with `helm history %s -n %s` and `kubectl -n %s get events`; mesh apply recovers a pending "
                 "release (rolls it back or reinstalls it)", name, ns, ns);
        check_row(cl, check, 0, fix, "%s/%s revision %ld is %s", ns, name, best, status ? status : "without a status");
    } else {
        check_row(cl, check, 1, NULL, "%s/%s revision %ld deployed", ns, name, best);
    }
    json_decref(items);
}

/* Pods of d (by its selector's matchLabels) with condition Ready=True. */
static long ready_pods(struct check_ctx *x, struct check_cluster *cl, const char *ns, const json_t *d, struct mesh_err *err)
{
    const json_t *ml = json_object_get(json_object_get(json_object_get(d, "spec"), "selector"), "matchLabels");
    struct strbuf sel = STRBUF_INIT;
    strbuf_init(&sel);
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)ml, k, v) strbuf_addf(&sel, "%s%s=%s", sel.len ? "," : "", k, json_string_value(v) ? json_string_value(v) : "");
    struct call call;
    check_call(x, &call, err, 30);
    json_t *pods = NULL;
    long n = -1;
    if (kube_list(&call, cl->k, "v1", "Pod", ns, sel.buf, &pods, err) == 0) {
        n = 0;
        size_t i, j;
        const json_t *p, *cond;
        json_array_foreach(pods, i, p) {
            if (json_object_get(json_object_get(p, "metadata"), "deletionTimestamp")) continue;
            json_array_foreach(json_object_get(json_object_get(p, "status"), "conditions"), j, cond) {
                const char *t = json_string_value(json_object_get(cond, "type"));
                const char *s = json_string_value(json_object_get(cond, "status"));
                if (t && s && strcmp(t, "Ready") == 0 && strcmp(s, "True") == 0) n++;
            }
        }
    }
    json_decref(pods);
    strbuf_release(&sel);
    return n;
}

static void deployments(struct check_ctx *x, struct check_cluster *cl, const char *ns)
{
    struct call call;
    struct mesh_err err;
    check_call(x, &call, &err, 30);
    json_t *items = NULL;
    char check[300];
    if (kube_list(&call, cl->k, "apps/v1", "Deployment", ns, NULL, &items, &err)) {
        snprintf(check, sizeof(check), "deployments in %s ready", ns);
        check_row(cl, check, 0, "is the cluster reachable?", "cannot list them: %s", err.msg);
        return;
    }
    size_t i;
    const json_t *d;
    json_array_foreach(items, i, d) {
        const char *name = json_string_value(json_object_get(json_object_get(d, "metadata"), "name"));
        const json_t *want_j = json_object_get(json_object_get(d, "spec"), "replicas");
        long want = want_j ? (long)json_integer_value(want_j) : 1;
        long ready = (long)json_integer_value(json_object_get(json_object_get(d, "status"), "readyReplicas"));
        long pods = ready_pods(x, cl, ns, d, &err);
        char fix[700];
        snprintf(fix, sizeof(fix), "see why: kubectl -n %s describe deployment %s; kubectl -n %s get pods,events", ns,
                 name ? name : "?", ns);
        snprintf(check, sizeof(check), "deployment %s ready", name ? name : "?");
        if (pods < 0)
            check_row(cl, check, 0, fix, "%s/%s: cannot list its pods: %s", ns, name, err.msg);
        else if (ready < want || pods < want)
            check_row(cl, check, 0, fix, "%s/%s: %ld of %ld replicas ready, %ld pod%s Ready", ns, name, ready, want, pods,
                      pods == 1 ? "" : "s");
        else
            check_row(cl, check, 1, NULL, "%s/%s: %ld/%ld replicas ready, %ld pod%s Ready", ns, name, ready, want, pods,
                      pods == 1 ? "" : "s");
    }
    json_decref(items);
}

void check_releases(struct check_ctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        struct check_cluster *cl = &x->cl[i];
        if (!cl->k) continue;
        json_t *namespaces = json_object();  /* in the order the releases come */
        size_t j;
        const json_t *r;
        json_array_foreach(x->resources, j, r) {
            const char *type = json_string_value(json_object_get(r, "type"));
            const char *conn = json_string_value(json_object_get(r, "connection"));
            if (!type || strcmp(type, "helm_release") != 0 || !conn || strcmp(conn, cl->conn) != 0) continue;
            const char *name = check_attr(r, "name"), *ns = check_attr(r, "namespace");
            if (!name || !ns) continue;
            release(x, cl, ns, name);
            json_object_set_new(namespaces, ns, json_true());
        }
        const char *ns;
        const json_t *v;
        json_object_foreach(namespaces, ns, v) deployments(x, cl, ns);
        json_decref(namespaces);
    }
}
