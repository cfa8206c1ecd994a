/* sync.h: a store whose state lives on a remote (remote.h; issue 14). The store works on a local
 * copy (the cache file), exactly as on local state; this side keeps the remote up to date:
 *
 *   open     the base and every log of its generation are applied to the cache (replaced); no
 *            base yet: a new state whose base is written (only if still absent) when first locked.
 *   lock     the remote lease instead of the local one (heartbeat renews it; a lease lost or not
 *            renewed in time stops commits as the local fence does), then the cache catches up
 *            with what was written since open. A run that writes at once takes the lease at
 *            open instead (store_open_remote_locked) and reads the state once.
 *   commit   the commit's changes (a SQLite session changeset) are queued for the log. A commit
 *            holding a journal intent returns only once its log is on the remote, so the driver
 *            call after it is never made unless the intent is durable beyond this machine; the
 *            intents of every job dispatched together share one log write. Other commits reach
 *            the remote within 2 s (a background writer). A log write refused because the number
 *            is taken (another writer) stops the run: nothing is overwritten.
 *   unlock   the whole state, the queue included, is written as the next generation's base (If-
 *            Match: the base we read), older logs dropped, the lease released; if that fails,
 *            the queue is written as logs and the lease left expired, for the next run to read.
 *   keys     sensitive values are encrypted as locally; the key comes from the remote (KMS-wrapped)
 *            when the backend keeps one, else MESH_STATE_KEY (a key file would exist on one
 *            machine only: refused).
 *
 * A process killed mid-run leaves the base, the logs written so far and an expired lease: the next
 * run from any machine takes the lease over, replays the logs (open intents included) and recovers
 * as after a local crash. */
#ifndef MESH_STATE_SYNC_H
#define MESH_STATE_SYNC_H

#include "base/err.h"
#include "remote.h"
#include "store.h"

/* Opens the state of r through the local cache file cache_path (created 0600 with its directory
 * 0700; its content replaced). flags: STORE_OPEN_* of store.h. With create 0 and no base on the
 * remote, returns 1 and leaves *out NULL (as a missing local state). r stays the caller's and must
 * outlive the store. */
int store_open_remote(const char *cache_path, const struct remote *r, int create, int flags, struct store **out,
                      struct mesh_err *err);
/* store_open_remote for a run that writes: r's lease is taken first (as store_lock does:
 * waiting up to timeout_s, an expired one taken over), then the state is read, once (no re-read
 * at lock). store_lock for run_id then starts the heartbeat on it without another request, and
 * reports what it took over. On any failure, and if the store is closed unlocked, the lease goes
 * back. */
int store_open_remote_locked(const char *cache_path, const struct remote *r, int create, int flags,
                             const char *run_id, const char *command, double timeout_s, struct store **out,
                             struct mesh_err *err);
/* NULL for a local store; the remote otherwise. */
const struct remote *store_remote(const struct store *st);
/* "s3://bucket/key" for a remote store, else its path: where messages say the state is. */
const char *store_where(const struct store *st);

/* mesh state pull: the remote state (base and logs) written whole to dest_path, a standalone
 * state file (0600; not replaced if it exists unless force). MESH_ENOTFOUND when none. */
int store_remote_pull(const struct remote *r, const char *dest_path, int force, struct mesh_err *err);
/* mesh state push / migrate: src_path's state becomes the remote's, whole (lineage, serial,
 * snapshots, journal kept), as a new generation, under the remote lease (run_id). Refused with
 * MESH_ECONFLICT naming both when the remote holds another lineage or a newer serial, unless
 * force. A state with open runs is pushed as it is (recovery happens on the next run). */
int store_remote_push(const struct remote *r, const char *src_path, const char *run_id, int force,
                      struct mesh_err *err);

/* Requests and bytes this process sent to the remote for the store's log and base (bench). */
struct store_sync_stats {
    long log_puts;
    long base_puts;
    long snap_puts;             /* snapshots moved beside the base (sync_snap.c) */
    long gets;
    long long bytes_out;
};
void store_sync_stats(const struct store *st, struct store_sync_stats *out);

#endif
