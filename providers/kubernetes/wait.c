/* wait.c: polling until a Kubernetes object settles (gone, a token filled): a growing backoff
 * (0.5 s x1.6, at most 10 s, scaled by MESH_BACKOFF_SCALE), the call's deadline (or a default
 * limit when it has none), cancel seen at once, each poll's note handed to the engine's
 * "Still ..." line and kept for the timeout's error. */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "base/duration.h"
#include "kubernetes/kube_int.h"

static void nap(struct call *c, double d)
{
    while (d > 0) {
        if (c->cancel && *c->cancel) return;
        double s = d > 0.05 ? 0.05 : d;
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        nanosleep(&ts, NULL);
        d -= s;
    }
}

int kube_wait_until(struct call *c, double default_limit, kube_poll_fn *poll, void *ctx, const char *cluster,
                    struct mesh_err *e)
{
    double start = mesh_now_mono();
    double deadline = c->deadline > 0 ? c->deadline : start + default_limit * http_backoff_scale();
    for (int n = 0;; n++) {
        char note[700] = "";
        int rc = poll(c, ctx, note, sizeof(note), e);
        if (rc != 0) return rc > 0 ? 0 : rc;
        const char *what = note[0] ? note : "waiting";
        if (c->cancel && *c->cancel)
            return mesh_err_set(e, MESH_ECANCELED, NULL, "%s: %s: cancelled", cluster, what);
        if (c->progress) c->progress(c->progress_ctx, c->address, "%s", what);
        double now = mesh_now_mono();
        if (now >= deadline)
            return mesh_err_set(e, MESH_ETIMEOUT, NULL, "%s: gave up after %.0f s: %s", cluster, now - start,
                                what);
        double d = 0.5 * pow(1.6, n < 12 ? n : 12);
        if (d > 10) d = 10;
        d *= http_backoff_scale();
        if (d < 0.02) d = 0.02;
        if (now + d > deadline) d = deadline - now;
        nap(c, d);
    }
}
