/* check_traffic.c: `mesh check --traffic`, the reference's own validation automated. Istio's
 * helloworld sample goes into namespace `sample` (sidecar injection on) of every cluster, v1 in
 * the first, v2 in the second (alternating beyond two), behind one Service helloworld:5000; once
 * they are ready, a curl Job in each cluster calls helloworld.sample:5000/hello ten times. Its
 * pod's log, read through the API (no exec), must hold replies from every version deployed: a
 * cluster that only hears its own version does not reach the other clusters' endpoints. The
 * sample namespace is removed afterwards in every cluster, also after a failure or Ctrl-C (the
 * clean-up does not look at the cancel flag; a second Ctrl-C exits at once and leaves it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/xalloc.h"
#include "http.h"
#include "istio/check.h"

#define NS "sample"
#define CALLS 10
#define CHECK "traffic across clusters"
/* The sidecar would keep the Job's pod running after curl is done: the command asks it to quit
 * (pilot-agent's /quitquitquit), and the annotation holds curl until the proxy is up. */
#define CURL_LOOP "for i in $(seq 1 10); do curl -sS helloworld.sample:5000/hello; done"
#define CURL_CMD CURL_LOOP "; curl -fsS -X POST http://localhost:15020/quitquitquit >/dev/null 2>&1; true"

static int version_of(size_t i) { return (int)(i % 2) + 1; }

static json_t *namespace_obj(void)
{
    return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", NS,
                     "labels", "istio-injection", "enabled");
}

static json_t *service_obj(void)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:[{s:s, s:i, s:i}], s:{s:s}}}", "apiVersion", "v1",
                     "kind", "Service", "metadata", "name", "helloworld", "namespace", NS, "labels", "app",
                     "helloworld", "service", "helloworld", "spec", "ports", "name", "http", "port", 5000, "targetPort",
                     5000, "selector", "app", "helloworld");
}

static json_t *deployment_obj(int v)
{
    char name[32], version[8], image[96];
    snprintf(name, sizeof(name), "helloworld-v%d", v);
    snprintf(version, sizeof(version), "v%d", v);
    snprintf(image, sizeof(image), "docker.io/istio/examples-helloworld-v%d:1.0", v);
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:i, s:{s:{s:s, s:s}}, "
                     "s:{s:{s:{s:s, s:s}}, s:{s:[{s:s, s:s, s:s, s:[{s:i}]}]}}}}",
                     "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name", name, "namespace", NS, "labels",
                     "app", "helloworld", "version", version, "spec", "replicas", 1, "selector", "matchLabels", "app",
                     "helloworld", "version", version, "template", "metadata", "labels", "app", "helloworld", "version",
                     version, "spec", "containers", "name", "helloworld", "image", image, "imagePullPolicy",
                     "IfNotPresent", "ports", "containerPort", 5000);
}

static json_t *job_obj(void)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:i, s:{s:{s:{s:s}}, s:{s:s, s:[{s:s, s:s, s:[s, s, s]}]}}}}",
                     "apiVersion", "batch/v1", "kind", "Job", "metadata", "name", "curl", "namespace", NS, "spec",
                     "backoffLimit", 0, "template", "metadata", "annotations", "proxy.istio.io/config",
                     "{\"holdApplicationUntilProxyStarts\": true}", "spec", "restartPolicy", "Never", "containers",
                     "name", "curl", "image", "curlimages/curl", "command", "/bin/sh", "-c", CURL_CMD);
}

static int apply(struct check_ctx *x, struct check_cluster *cl, json_t *obj, struct mesh_err *err)
{
    struct call call;
    check_call(x, &call, err, 60);
    int rc = kube_apply(&call, cl->k, obj, 1, NULL, err);
    json_decref(obj);
    return rc;
}

static void nap(struct check_ctx *x, double secs)
{
    for (secs *= http_backoff_scale(); secs > 0 && !(x->c->cancel && *x->c->cancel); secs -= 0.05) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int cancelled(const struct check_ctx *x) { return x->c->cancel && *x->c->cancel; }

/* 1 when the Deployment helloworld-v<v> has a ready replica. */
static int deployment_ready(struct check_ctx *x, struct check_cluster *cl, int v, struct mesh_err *err)
{
    char name[32];
    snprintf(name, sizeof(name), "helloworld-v%d", v);
    struct call call;
    check_call(x, &call, err, 30);
    struct kube_ref ref = {"apps/v1", "Deployment", NS, name};
    json_t *d = NULL;
    if (kube_get(&call, cl->k, &ref, &d, err)) return -1;
    int ready = json_integer_value(json_object_get(json_object_get(d, "status"), "readyReplicas")) >= 1;
    json_decref(d);
    return ready;
}

/* 1 when the curl Job finished (succeeded or failed), 0 not yet, -1 on error. */
static int job_done(struct check_ctx *x, struct check_cluster *cl, struct mesh_err *err)
{
    struct call call;
    check_call(x, &call, err, 30);
    struct kube_ref ref = {"batch/v1", "Job", NS, "curl"};
    json_t *j = NULL;
    if (kube_get(&call, cl->k, &ref, &j, err)) return -1;
    const json_t *st = json_object_get(j, "status");
    int done = json_integer_value(json_object_get(st, "succeeded")) > 0 || json_integer_value(json_object_get(st, "failed")) > 0;
    json_decref(j);
    return done;
}

/* The curl pods' logs: counts[v] replies of version v, *errors other lines. */
static int read_replies(struct check_ctx *x, struct check_cluster *cl, long counts[3], long *errors, char *first_err,
                        size_t n, struct mesh_err *err)
{
    struct call call;
    check_call(x, &call, err, 30);
    json_t *pods = NULL;
    if (kube_list(&call, cl->k, "v1", "Pod", NS, "job-name=curl", &pods, err)) return -1;
    size_t i;
    const json_t *p;
    int rc = 0;
    json_array_foreach(pods, i, p) {
        const char *name = json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
        char *text = NULL;
        check_call(x, &call, err, 30);
        if (!name || kube_log(&call, cl->k, NS, name, "curl", &text, err)) {
            rc = -1;
            break;
        }
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            int v = 0;
            if (sscanf(line, "Hello version: v%d", &v) == 1 && v >= 1 && v <= 2) {
                counts[v]++;
            } else if (*line) {
                if (!*errors) snprintf(first_err, n, "%.200s", line);
                (*errors)++;
            }
        }
        free(text);
    }
    json_decref(pods);
    return rc;
}

/* Polls each cluster not failed yet with ready() until it says 1; a cluster that errs, or is
 * still not there at the deadline or on Ctrl-C, gets its row and is marked failed. */
static void wait_all(struct check_ctx *x, double deadline, const char *what,
                     int (*ready)(struct check_ctx *, struct check_cluster *, size_t, struct mesh_err *), int *failed)
{
    for (size_t i = 0; i < x->n; i++) {
        struct check_cluster *cl = &x->cl[i];
        if (!cl->k || failed[i]) continue;
        for (int round = 0;; round++) {
            struct mesh_err err;
            mesh_err_init(&err);
            int rc = ready(x, cl, i, &err);
            if (rc > 0 && !cancelled(x)) break;
            if (rc < 0 || cancelled(x) || mesh_now_mono() >= deadline) {
                check_row(cl, CHECK, 0,
                          rc < 0          ? "is the cluster reachable?"
                          : cancelled(x) ? NULL
                                         : "raise --timeout, or see why: kubectl -n sample get pods,events",
                          "%s: %s", what, rc < 0 ? err.msg : cancelled(x) ? "interrupted" : "gave up waiting (--timeout)");
                failed[i] = 1;
                break;
            }
            if (x->c->progress && round % 10 == 9)
                x->c->progress(x->c->progress_ctx, x->c->address, "%s: waiting for %s", cl->name, what);
            nap(x, round < 10 ? 0.5 : 2);
        }
    }
}

static int helloworld_ready(struct check_ctx *x, struct check_cluster *cl, size_t i, struct mesh_err *err)
{
    return deployment_ready(x, cl, version_of(i), err);
}

static int curl_done(struct check_ctx *x, struct check_cluster *cl, size_t i, struct mesh_err *err)
{
    return job_done(x, cl, err);
}

static void verdict(struct check_ctx *x, struct check_cluster *cl, int versions)
{
    long counts[3] = {0, 0, 0}, errors = 0;
    char first_err[256] = "";
    struct mesh_err err;
    mesh_err_init(&err);
    if (read_replies(x, cl, counts, &errors, first_err, sizeof(first_err), &err)) {
        check_row(cl, CHECK, 0, "is the cluster reachable?", "cannot read the curl pod's log: %s", err.msg);
        return;
    }
    int ok = counts[1] > 0 && (versions < 2 || counts[2] > 0);
    char errs[400] = "";
    if (errors) snprintf(errs, sizeof(errs), ", %ld failed (%s)", errors, first_err);
    char fix[900];
    snprintf(fix, sizeof(fix),
             "a cluster that hears only its own version does not reach the others' endpoints: check the remote "
             "secrets rows above (%s needs one per other cluster, authenticating), the istiod logs "
             "(kubectl -n istio-system logs deploy/istiod), and that pod IPs route between the clusters",
             cl->name);
    check_row(cl, CHECK, ok, fix, "%d calls: v1 %ld, v2 %ld%s", CALLS, counts[1], counts[2], errs);
}

/* Removes the sample namespace; the first Ctrl-C does not stop this. */
static void clean_up(struct check_ctx *x, const int *deployed)
{
    for (size_t i = 0; i < x->n; i++) {
        struct check_cluster *cl = &x->cl[i];
        if (!cl->k || !deployed[i]) continue;
        struct call call;
        struct mesh_err err;
        check_call(x, &call, &err, x->timeout < 120 ? 120 : x->timeout);
        call.cancel = NULL;
        struct kube_ref ref = {"v1", "Namespace", NULL, NS};
        int rc = kube_delete(&call, cl->k, &ref, NULL, &err);
        if (rc && rc != MESH_ENOTFOUND)
            check_row(cl, "sample removed", 0, "delete it: kubectl delete namespace sample", "%s", err.msg);
        else
            check_row(cl, "sample removed", 1, NULL, "namespace sample deleted");
    }
}

void check_traffic(struct check_ctx *x)
{
    int *deployed = xcalloc(x->n + 1, sizeof(int)), *failed = xcalloc(x->n + 1, sizeof(int));
    int versions = x->n >= 2 ? 2 : 1, any = 0;
    double deadline = mesh_now_mono() + x->timeout;
    for (size_t i = 0; i < x->n && !cancelled(x); i++) {
        struct check_cluster *cl = &x->cl[i];
        if (!cl->k) continue;
        struct mesh_err err;
        mesh_err_init(&err);
        deployed[i] = 1;  /* a half-made namespace is removed too */
        struct call call;
        struct kube_ref ref = {"v1", "Namespace", NULL, NS};
        check_call(x, &call, &err, 120);
        int gone = kube_delete(&call, cl->k, &ref, NULL, &err);  /* an interrupted run's sample: its old logs */
        if (gone && gone != MESH_ENOTFOUND) {
            check_row(cl, CHECK, 0, "delete it: kubectl delete namespace sample",
                      "a namespace sample is already there and does not go: %s", err.msg);
            failed[i] = 1;
            continue;
        }
        mesh_err_init(&err);
        if (apply(x, cl, namespace_obj(), &err) || apply(x, cl, service_obj(), &err) ||
            apply(x, cl, deployment_obj(version_of(i)), &err)) {
            check_row(cl, CHECK, 0, "may the credential create namespaces, services and deployments?",
                      "cannot deploy the helloworld sample: %s", err.msg);
            failed[i] = 1;
            continue;
        }
        any = 1;
    }
    if (any) {
        wait_all(x, deadline, "helloworld ready", helloworld_ready, failed);
        for (size_t i = 0; i < x->n; i++) {
            struct check_cluster *cl = &x->cl[i];
            if (!cl->k || failed[i]) continue;
            struct mesh_err err;
            mesh_err_init(&err);
            if (cancelled(x)) {
                check_row(cl, CHECK, 0, NULL, "interrupted");
                failed[i] = 1;
            } else if (apply(x, cl, job_obj(), &err)) {
                check_row(cl, CHECK, 0, "may the credential create jobs?", "cannot start the curl Job: %s", err.msg);
                failed[i] = 1;
            }
        }
        wait_all(x, deadline, "the curl Job", curl_done, failed);
        for (size_t i = 0; i < x->n; i++)
            if (x->cl[i].k && !failed[i]) verdict(x, &x->cl[i], versions);
    }
    clean_up(x, deployed);
    free(deployed);
    free(failed);
}
