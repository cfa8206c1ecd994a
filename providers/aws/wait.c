/* wait.c: polling until an AWS object settles (see wait.h). */
#include "aws/wait.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#include "base/duration.h"
#include "http.h"

void aws_wait_init(struct aws_wait *w, struct call *c, double limit)
{
    (void)c;
    w->start = mesh_now_mono();
    w->limit = limit * http_backoff_scale();
    if (w->limit < 2) w->limit = 2;
    w->n = 0;
}

int aws_wait_next(struct aws_wait *w, struct call *c, const char *what)
{
    if (c->cancel && *c->cancel) return mesh_err_set(c->err, MESH_ECANCELED, c->address, "%s: cancelled", what);
    /* Every poll: the engine shows the latest note on its next "Still ..." line. */
    if (c->progress) c->progress(c->progress_ctx, c->address, "%s", what);
    double now = mesh_now_mono();
    if (now - w->start > w->limit || (c->deadline > 0 && now > c->deadline))
        return mesh_err_set(c->err, MESH_ETIMEOUT, c->address, "gave up after %.0f s: %s", now - w->start, what);
    double d = 0.5 * pow(1.6, w->n < 12 ? w->n : 12);
    if (d > 10) d = 10;
    d *= http_backoff_scale();
    if (d < 0.02) d = 0.02;
    w->n++;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        if (c->cancel && *c->cancel) break;
    }
    return 0;
}

int aws_wait_until(struct call *c, double limit, aws_poll_fn *poll, void *ctx)
{
    struct aws_wait w;
    aws_wait_init(&w, c, limit);
    for (;;) {
        char note[512] = "";
        int rc = poll(c, ctx, note, sizeof(note));
        if (rc != 0) return rc > 0 ? 0 : rc;
        rc = aws_wait_next(&w, c, note[0] ? note : "waiting");
        if (rc) return rc;
    }
}
