/* refresh.c: parallel driver reads of every object in state (see refresh.h). */
#include "refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "invoke.h"
#include "pool.h"
#include "store.h"
#include "base/xalloc.h"

void refresh_key(const struct state_row *row, char *buf, size_t n)
{
    if (row->deposed && row->deposed[0]) snprintf(buf, n, "%s#%s", row->address, row->deposed);
    else snprintf(buf, n, "%s", row->address);
}

/* Reads are handed to the pool in chunks: a read that does no I/O (null_resource) costs less than
 * a hand-off between threads, and 10,000 of them one by one spent more time in futexes. */
struct refresh_chunk {
    struct refresh_result **items;
    size_t n;
};

static void refresh_one(struct refresh_result *r)
{
    if (r->row->predicted || r->skipped) return;  /* the world holds it only once recovery ran: plan against the row */
    const struct driver *d = driver_find(r->row->type);
    if (!d) {
        r->rc = mesh_err_set(&r->err, MESH_ERR, r->row->address,
                             "state holds type '%s', which this mesh does not know (written by a newer mesh?)",
                             r->row->type);
    } else {
        struct call c;
        invoke_init(&c, d, r->row->address, r->row->connection, r->run_id, "read", &r->err);
        r->rc = invoke_read(&c, d, r->row->outputs, &r->current);
        if (r->rc == MESH_ENOTFOUND) {
            r->rc = 0;
            r->gone = 1;
            json_decref(r->current);
            r->current = NULL;
        }
    }
}

static void refresh_chunk_run(struct pool *p, void *item, void *ctx)
{
    (void)ctx;
    struct refresh_chunk *ch = item;
    for (size_t i = 0; i < ch->n; i++) refresh_one(ch->items[i]);
    pool_post(p, ch);
}

/* Reads the n results of all on the pool. */
static void refresh_batch(struct refresh_result **all, size_t n, int parallelism)
{
    if (!n) return;
    struct pool *pool = pool_new(parallelism, refresh_chunk_run, NULL);
    /* Four chunks per worker keep them all busy when some reads are slow. */
    size_t nchunks = (size_t)parallelism * 4, per = (n + nchunks - 1) / nchunks;
    struct refresh_chunk *chunks = xcalloc(nchunks, sizeof(*chunks));
    size_t submitted = 0;
    for (size_t i = 0; i < nchunks && i * per < n; i++) {
        chunks[i].items = all + i * per;
        chunks[i].n = n - i * per < per ? n - i * per : per;
        pool_submit(pool, &chunks[i]);
        submitted++;
    }
    struct vec done = VEC_INIT;
    size_t got = 0;
    while (got < submitted) {
        done.len = 0;
        got += (size_t)pool_collect(pool, &done, 1.0);
    }
    vec_release(&done);
    pool_free(pool);
    free(chunks);
}

static int is_connection(const struct state_row *row)
{
    const struct driver *d = driver_find(row->type);
    return d && d->connects;
}

/* Connections are read first: the resources of one that does not answer are not read at all (its
 * error is the one worth reading, not one per object), nor are those of a connection state does
 * not hold (nothing to reach them through: they plan against what state holds). */
int refresh_rows(const struct vec *rows, int parallelism, const char *run_id, struct map *results,
                 struct mesh_err *err)
{
    map_init(results);
    if (rows->len == 0) return 0;
    struct refresh_result **conns = xcalloc(rows->len, sizeof(*conns)), **rest = xcalloc(rows->len, sizeof(*rest));
    size_t nconns = 0, nrest = 0;
    char key[1024];
    for (size_t i = 0; i < rows->len; i++) {
        struct refresh_result *r = xcalloc(1, sizeof(*r));
        r->row = rows->items[i];
        r->run_id = run_id;
        refresh_key(r->row, key, sizeof(key));
        map_put(results, key, r);
        if (is_connection(r->row)) conns[nconns++] = r;
        else rest[nrest++] = r;
    }
    refresh_batch(conns, nconns, parallelism);
    for (size_t i = 0; i < nrest; i++) {
        const char *conn = rest[i]->row->connection;
        if (!conn) continue;
        struct refresh_result *c = map_get(results, conn);
        if (!c || c->rc || c->gone) rest[i]->skipped = 1;
    }
    refresh_batch(rest, nrest, parallelism);
    free(conns);
    free(rest);
    int rc = 0;
    for (size_t i = 0; i < results->cap && !rc; i++) {
        struct refresh_result *r = results->slots[i].value;
        if (results->slots[i].key && r->rc) {
            rc = r->rc;
            *err = r->err;
        }
    }
    return rc;
}

void refresh_release(struct map *results)
{
    for (size_t i = 0; i < results->cap; i++) {
        if (!results->slots[i].key) continue;
        struct refresh_result *r = results->slots[i].value;
        json_decref(r->current);
        free(r);
    }
    map_release(results);
}
