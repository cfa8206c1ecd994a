/* wait.h: the one way AWS drivers wait for an object to settle (a VPC to be available, a cluster
 * to be ACTIVE, a node group to be gone): poll with a growing backoff (0.5 s x1.6, at most 10 s,
 * all scaled by MESH_BACKOFF_SCALE), give up at the driver's limit or the call's deadline, stop
 * at once when cancelled, and hand every poll's note to the engine's "Still ..." line. */
#ifndef MESH_AWS_WAIT_H
#define MESH_AWS_WAIT_H

#include <stddef.h>

#include "driver.h"

struct aws_wait {
    double start, limit;  /* monotonic seconds; limit already scaled */
    int n;
};

/* limit: seconds at MESH_BACKOFF_SCALE=1 (scaled like backoffs, never below 2 s). */
void aws_wait_init(struct aws_wait *w, struct call *c, double limit);
/* Notes what, then sleeps before the next poll; MESH_ETIMEOUT (c->err set with what) or
 * MESH_ECANCELED. */
int aws_wait_next(struct aws_wait *w, struct call *c, const char *what);

/* One poll: 1 done, 0 not yet (note says what it waits for: "cluster-1 is CREATING"), < 0 an
 * error (c->err set). */
typedef int aws_poll_fn(struct call *c, void *ctx, char *note, size_t n);
/* Polls until done, an error, limit seconds (scaled), the deadline, or cancel. */
int aws_wait_until(struct call *c, double limit, aws_poll_fn *poll, void *ctx);

#endif
