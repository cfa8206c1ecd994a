/* remote.h: state shared beyond this machine (team state, issue 14). SQLite stays the working
 * format: a run works on a local copy of the state; what it commits reaches the remote as it goes.
 *
 * Two sides meet here and know nothing of each other:
 *   - state/sync.c (knows SQLite, not AWS) turns the local copy into blobs: the whole database
 *     (the base) and the changes of each commit (SQLite session changesets, the log), and puts a
 *     local lease's work on the remote one;
 *   - a backend (providers/aws/state_s3.c: S3 objects, a DynamoDB or S3 lease, a KMS-wrapped key;
 *     knows AWS, not SQLite nor the engine) stores blobs and holds the lease, behind remote_ops.
 *
 * The remote layout, in the backend's words:
 *   base    the whole state as of (generation, log sequence 0): a header then a SQLite image.
 *           Written with a condition: absent (the first push) or the ETag last read (compaction),
 *           so a writer whose view is stale cannot overwrite.
 *   log     numbered changesets of one generation, each written only if absent: two writers of
 *           one generation cannot both land the same number. A reader applies, in order, the logs
 *           of the base's generation from 1 up to the first missing one.
 *   lease   who may write: run ID, holder, host, pid, command, expiry. Taken only when absent or
 *           expired, renewed and released only by its holder. A backend that finds no lease
 *           record knows the base is complete (a clean run compacts, then releases).
 *   key     the state's data key, wrapped (KMS); absent when the team shares MESH_STATE_KEY.
 *   snapshot a snapshot's rows (the state before a run), one object each, named by the SHA-256 of
 *           its bytes and written once: the base holds a reference, so a compaction uploads the
 *           snapshots it has not written before, not all ten every time (state/sync_snap.c).
 *
 * Every op returns 0 or a MESH_E* code with err filled for a person: MESH_ENOTFOUND (no such
 * object), MESH_ECONFLICT (a condition failed: someone else wrote), MESH_ELOCKED (the lease is
 * someone else's; held_by says whose), anything else (unreachable, denied: err says what to do).
 * Ops may be called from any thread; a backend serialises what it must. */
#ifndef MESH_STATE_REMOTE_H
#define MESH_STATE_REMOTE_H

#include <stddef.h>

#include "base/err.h"

#define REMOTE_ETAG_MAX 128
#define REMOTE_KEY_LEN 32
#define REMOTE_UNCHANGED 1   /* base_get_changed: the base is the one named */

/* A lease record (the same facts as the local lease, store.h's struct lock_info). */
struct remote_lease {
    char run_id[64];
    char holder[128];   /* "user@host" */
    char host[128];
    long long pid;
    char command[64];
    long long acquired; /* unix seconds */
    long long expires;  /* unix seconds */
};

struct remote_blob {
    unsigned char *data;   /* owned: remote_blob_release */
    size_t len;
    char etag[REMOTE_ETAG_MAX];
};
void remote_blob_release(struct remote_blob *b);

struct remote_ops {
    const char *name;      /* "s3" */
    /* "s3://bucket/key" (for messages; never a secret) */
    const char *(*describe)(void *be);

    /* The base. get: MESH_ENOTFOUND when there is none yet. put: if_match NULL writes only if
     * absent; else only if the base's ETag is still if_match. etag_out (REMOTE_ETAG_MAX) gets the
     * new ETag. */
    int (*base_get)(void *be, struct remote_blob *out, struct mesh_err *err);
    int (*base_put)(void *be, const void *data, size_t len, const char *if_match, char *etag_out,
                    struct mesh_err *err);
    /* Optional: base_get unless the base's ETag is still etag, then REMOTE_UNCHANGED (out empty)
     * without its bytes (a run re-reading the base it opened, at lock). */
    int (*base_get_changed)(void *be, const char *etag, struct remote_blob *out, struct mesh_err *err);

    /* The log of generation gen: seq 1, 2, ... put writes only if absent (MESH_ECONFLICT
     * otherwise). get: MESH_ENOTFOUND past the end. drop removes every log object of generations
     * before gen (after a compaction; best effort, failures are only reported). */
    int (*log_put)(void *be, long long gen, long long seq, const void *data, size_t len, struct mesh_err *err);
    int (*log_get)(void *be, long long gen, long long seq, struct remote_blob *out, struct mesh_err *err);
    int (*log_drop)(void *be, long long before_gen, struct mesh_err *err);
    /* Optional: removes logs 1..last of generation gen, the keys known without a listing (best
     * effort, as log_drop; one request where log_drop needs two). */
    int (*log_delete)(void *be, long long gen, long long last, struct mesh_err *err);

    /* The lease. acquire: want->run_id etc. filled by the caller, want->expires the expiry asked
     * for; an absent or expired lease is taken (*taken_over = 1 and held_by = the expired one
     * when it was someone's), a live one refused with MESH_ELOCKED and held_by filled. renew:
     * MESH_ELOCKED when run_id no longer holds it. release: removes it if run_id holds it (0 when
     * already gone). read: *held = 0 when there is no lease record at all (then the base is
     * complete), 1 with info filled otherwise (expired or not: the caller compares expires).
     * force_clear: removes it if run_id holds it (MESH_ENOTFOUND if none, MESH_ECONFLICT if
     * another run holds it). */
    int (*lease_acquire)(void *be, const struct remote_lease *want, struct remote_lease *held_by, int *taken_over,
                         struct mesh_err *err);
    int (*lease_renew)(void *be, const char *run_id, long long expires, struct mesh_err *err);
    int (*lease_release)(void *be, const char *run_id, struct mesh_err *err);
    int (*lease_read)(void *be, struct remote_lease *info, int *held, struct mesh_err *err);
    int (*lease_force_clear)(void *be, const char *run_id, struct mesh_err *err);

    /* The state key (REMOTE_KEY_LEN bytes). NULL ops: the backend keeps no key (MESH_STATE_KEY).
     * get: MESH_ENOTFOUND when none was made yet. create: makes and stores one only if absent;
     * MESH_ECONFLICT when another machine stored one first (then get it). */
    int (*key_get)(void *be, unsigned char *key, struct mesh_err *err);
    int (*key_create)(void *be, unsigned char *key, struct mesh_err *err);
    /* Stores key (a state's existing key: `mesh state migrate` of a state with secrets), wrapped,
     * only if none is there (MESH_ECONFLICT otherwise), so nothing needs re-encrypting. */
    int (*key_put)(void *be, const unsigned char *key, struct mesh_err *err);

    /* Optional (NULL: snapshots stay inside the base). Snapshot objects, named by the caller (64
     * hex digits). put writes only if absent (an existing object with these bytes is success);
     * get: MESH_ENOTFOUND when gone; list calls fn with each name there; delete removes the named
     * ones (best effort, as log_drop). */
    int (*snap_put)(void *be, const char *name, const void *data, size_t len, struct mesh_err *err);
    int (*snap_get)(void *be, const char *name, struct remote_blob *out, struct mesh_err *err);
    int (*snap_list)(void *be, int (*fn)(const char *name, void *ctx), void *ctx, struct mesh_err *err);
    int (*snap_delete)(void *be, const char *const *names, size_t n, struct mesh_err *err);

    void (*free)(void *be);
};

struct remote {
    const struct remote_ops *ops;
    void *be;
};

#endif
