/* pool.h: a fixed pool of worker threads. The coordinator submits items; workers run them and
 * post them back on a done queue (also mid-run, e.g. "created, commit my ID before I wait").
 * The coordinator is the only reader of the done queue. */
#ifndef MESH_POOL_H
#define MESH_POOL_H

#include "base/vec.h"

struct pool;

typedef void (*pool_run_fn)(struct pool *p, void *item, void *ctx);

struct pool *pool_new(int nthreads, pool_run_fn run, void *ctx);
/* Joins the workers after the queue empties; items still queued are run first. */
void pool_free(struct pool *p);
void pool_submit(struct pool *p, void *item);
/* Called by a worker: hands item to the coordinator. After run() returns the pool posts it too. */
void pool_post(struct pool *p, void *item);
/* Moves every posted item to out; waits up to timeout_s for at least one. Returns the count. */
int pool_collect(struct pool *p, struct vec *out, double timeout_s);

#endif
