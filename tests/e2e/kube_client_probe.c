/* kube_client_probe.c: drives the Kubernetes client (providers/kubernetes/kube.h) for
 * tests/e2e/kube_client.sh against the fake API server:
 *   kube_client_probe CONFIG_JSON version
 *   kube_client_probe CONFIG_JSON apply OBJECT_JSON [force]
 *   kube_client_probe CONFIG_JSON get APIVERSION KIND NS NAME        (NS "-": cluster-scoped)
 *   kube_client_probe CONFIG_JSON list APIVERSION KIND NS SELECTOR
 *   kube_client_probe CONFIG_JSON delete APIVERSION KIND NS NAME UID (UID "-": none)
 *   kube_client_probe CONFIG_JSON threads N                          (N workers x 5 GET /version)
 *   kube_client_probe CONFIG_JSON isolation CONFIG2_JSON  GET /version on one thread through the
 *                     first handle, the second, the first again: prints "RC1 RC2 RC3" (the second
 *                     must not ride on the first's CA, client certificate or connection)
 * CONFIG_JSON is a connection's outputs. Prints the result as JSON on stdout, then the stats
 * line "stats {...}" on stderr; a failure prints "error CODE: MESSAGE" on stderr and exits 1.
 * Progress notes go to stderr as "note: ..."; PROBE_DEADLINE (seconds, default 60) is the call's deadline. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/wipe.h"
#include "http.h"
#include "kubernetes/kube.h"

static void note(void *ctx, const char *address, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "note: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

static const char *arg_ns(const char *s) { return strcmp(s, "-") == 0 ? NULL : s; }

struct worker {
    struct kube_conn *k;
    int rc;
    struct mesh_err e;
};

static void *work(void *p)
{
    struct worker *w = p;
    struct mesh_err cerr;
    mesh_err_init(&cerr);
    struct call c = {.address = "probe", .err = &cerr};
    for (int i = 0; i < 5 && w->rc == 0; i++) w->rc = kube_version(&c, w->k, NULL, &w->e);
    http_thread_release();
    return NULL;
}

static int run(struct kube_conn *k, int argc, char **argv, json_t **out, struct mesh_err *e)
{
    struct mesh_err cerr;
    mesh_err_init(&cerr);
    const char *dl = getenv("PROBE_DEADLINE");  /* seconds; default 60 */
    struct call c = {.address = "probe", .err = &cerr, .progress = note,
                     .deadline = mesh_now_mono() + (dl && *dl ? atof(dl) : 60)};
    const char *op = argv[2];
    if (strcmp(op, "version") == 0) return kube_version(&c, k, out, e);
    if (strcmp(op, "apply") == 0 && argc >= 4) {
        json_t *obj = json_loads(argv[3], 0, NULL);
        if (!obj) return mesh_err_set(e, MESH_EINVAL, NULL, "bad object JSON");
        int rc = kube_apply(&c, k, obj, argc > 4 && strcmp(argv[4], "force") == 0, out, e);
        json_decref(obj);
        return rc;
    }
    if (strcmp(op, "get") == 0 && argc == 7) {
        struct kube_ref ref = {argv[3], argv[4], arg_ns(argv[5]), argv[6]};
        return kube_get(&c, k, &ref, out, e);
    }
    if (strcmp(op, "list") == 0 && argc == 7)
        return kube_list(&c, k, argv[3], argv[4], arg_ns(argv[5]), arg_ns(argv[6]), out, e);
    if (strcmp(op, "delete") == 0 && argc == 8) {
        struct kube_ref ref = {argv[3], argv[4], arg_ns(argv[5]), argv[6]};
        return kube_delete(&c, k, &ref, arg_ns(argv[7]), e);
    }
    if (strcmp(op, "threads") == 0 && argc == 4) {
        int n = atoi(argv[3]);
        struct worker w[16];
        pthread_t t[16];
        if (n > 16) n = 16;
        for (int i = 0; i < n; i++) {
            w[i] = (struct worker){k, 0, {0}};
            pthread_create(&t[i], NULL, work, &w[i]);
        }
        int rc = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(t[i], NULL);
            if (w[i].rc && !rc) {
                rc = w[i].rc;
                *e = w[i].e;
            }
        }
        return rc;
    }
    if (strcmp(op, "isolation") == 0 && argc == 4) {
        json_t *cfg2 = json_loads(argv[3], 0, NULL);
        struct kube_conn *k2 = NULL;
        int rc = cfg2 ? kube_conn_open(cfg2, &k2, e) : mesh_err_set(e, MESH_EINVAL, NULL, "bad config JSON");
        json_decref(cfg2);
        if (rc) return rc;
        struct mesh_err e1, e2, e3;
        mesh_err_init(&e1);
        mesh_err_init(&e2);
        mesh_err_init(&e3);
        int r1 = kube_version(&c, k, NULL, &e1);
        int r2 = kube_version(&c, k2, NULL, &e2);
        int r3 = kube_version(&c, k, NULL, &e3);
        printf("%d %d %d\n", r1, r2, r3);
        if (r2) fprintf(stderr, "second: %s\n", e2.msg);
        kube_conn_close(k2);
        return 0;
    }
    return mesh_err_set(e, MESH_EINVAL, NULL, "usage: see kube_client_probe.c");
}

int main(int argc, char **argv)
{
    wipe_install_json();
    if (argc < 3) {
        fprintf(stderr, "usage: kube_client_probe CONFIG_JSON OP ...\n");
        return 2;
    }
    json_t *cfg = json_loads(argv[1], 0, NULL);
    struct mesh_err e;
    mesh_err_init(&e);
    struct kube_conn *k = NULL;
    int rc = cfg ? kube_conn_open(cfg, &k, &e) : mesh_err_set(&e, MESH_EINVAL, NULL, "bad config JSON");
    json_t *out = NULL;
    if (rc == 0) rc = run(k, argc, argv, &out, &e);
    if (rc == 0 && out) {
        char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
        printf("%s\n", s);
        free(s);
    }
    if (k) {
        json_t *st = kube_conn_stats(k);
        char *s = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, "stats %s\n", s);
        free(s);
        json_decref(st);
    }
    if (rc) fprintf(stderr, "error %d: %s\n", rc, e.msg);
    json_decref(out);
    json_decref(cfg);
    kube_conn_close(k);
    http_thread_release();
    return rc ? 1 : 0;
}
