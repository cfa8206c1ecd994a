/* remote_mem.h: an in-memory remote (state/remote.h) for the team-state tests: one "world" (the
 * bucket, the lease table, the key) shared by several "machines" of one process, each with its
 * own struct remote, and faults to inject: the Nth call of an op fails before it writes, or
 * after (the reply is lost), or is refused as a conflict. The world's clock can be moved ahead
 * so that leases expire without waiting. */
#ifndef MESH_REMOTE_MEM_H
#define MESH_REMOTE_MEM_H

#include <stddef.h>

#include "remote.h"

struct mem_world;

struct mem_world *mem_world_new(int with_key_ops);
void mem_world_free(struct mem_world *w);
/* A machine's view of w: fills r (r->ops->free releases it, not the world). */
void mem_remote_open(struct mem_world *w, const char *name, struct remote *r);

enum mem_fault_kind {
    MEM_FAIL,       /* nothing happens; the op reports an error */
    MEM_LOST,       /* the op takes effect, its reply is lost: an error */
    MEM_CONFLICT,   /* refused as if someone else wrote first: MESH_ECONFLICT */
};
/* The nth call from now (1: the next) of op ("base_put", "log_put", "lease_renew", ...; "*": any)
 * and the count - 1 calls after it (count -1: every one after) fail as kind. One fault at a time. */
void mem_fault(struct mem_world *w, const char *op, int nth, int count, enum mem_fault_kind kind);
void mem_fault_clear(struct mem_world *w);
/* Seconds added to the world's clock (leases expire sooner). */
void mem_advance(struct mem_world *w, double seconds);

/* What the world holds. */
long long mem_base_gen(struct mem_world *w);          /* 0: no base */
int mem_log_count(struct mem_world *w);               /* log objects of every generation */
int mem_has_log(struct mem_world *w, long long gen, long long seq);
long mem_ops(struct mem_world *w, const char *op);    /* calls made of op */
/* 1 if any blob (base, log, snapshot, key) holds needle. */
int mem_contains(struct mem_world *w, const void *needle, size_t n);
/* Replaces (or adds) a log object's bytes, as damage or another writer would. */
void mem_put_raw_log(struct mem_world *w, long long gen, long long seq, const void *data, size_t len);
/* A copy of the base's bytes (free it), or NULL. */
unsigned char *mem_base_copy(struct mem_world *w, size_t *len);
/* Snapshot objects held; every one damaged (a byte flipped) or, remove, deleted. */
int mem_snap_count(struct mem_world *w);
void mem_snap_damage(struct mem_world *w, int remove);
/* Writes a lease record as another machine would (expires: world seconds from now). */
void mem_set_lease(struct mem_world *w, const char *run_id, const char *holder, double expires_in);

#endif
