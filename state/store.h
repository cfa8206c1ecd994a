/* store.h: the state store. SQLite (WAL, 0600), the only code that says SQL. Holds resources,
 * a journal of every driver call (intent before, result after), runs, snapshots, the lock lease,
 * and meta (schema version, lineage, serial). Sensitive attribute values are encrypted at rest
 * with AES-256-GCM (crypt.c). The store knows nothing of drivers or the DAG. */
#ifndef MESH_STORE_H
#define MESH_STORE_H

#include <jansson.h>

#include "base/err.h"
#include "base/vec.h"

#define STORE_SCHEMA_VERSION 5

struct store;

/* One object in state. deposed is "" for the current object of an address, or a key ("d1", ...)
 * for an old object kept until its replacement's old half is deleted. */
struct state_row {
    char *address;
    char *deposed;
    char *type;
    json_t *inputs;     /* resolved desired attributes applied last time */
    json_t *outputs;    /* what the driver returned (id, ...) */
    json_t *deps;       /* array of address strings this object depended on when applied */
    json_t *sensitive;  /* array of attribute names (in inputs or outputs) stored encrypted */
    char *run_id;       /* run that last wrote it */
    char *connection;   /* address of the connection it belongs to (its provider handle), or NULL */
    int predicted;      /* in memory only: a row a pending recovery would write (`mesh plan` after a
                         * crash); refresh does not read it from the world. Not copied by state_row_dup. */
};

struct state_row *state_row_new(const char *address, const char *deposed, const char *type);
struct state_row *state_row_dup(const struct state_row *r);
void state_row_free(void *row);
/* What a reference to name resolves to on this object: its output, else its input; NULL if neither. */
const json_t *state_row_value(const struct state_row *r, const char *name);

/* Opens (creating if needed: directory 0700, file 0600, WAL, migrations, lineage). A state whose
 * schema version is newer than STORE_SCHEMA_VERSION is refused with MESH_ECONFLICT. A new state
 * appears whole (built beside and linked into place), so an empty file where the state should be
 * is damage, not a new state: refused unless flags has STORE_OPEN_FORCE_NEW. */
#define STORE_OPEN_FORCE_NEW 1
int store_open_flags(const char *path, int flags, struct store **out, struct mesh_err *err);
int store_open(const char *path, struct store **out, struct mesh_err *err);   /* flags 0 */
/* PRAGMA quick_check: MESH_ERR naming the first problem if the file is damaged. */
int store_check(struct store *st, struct mesh_err *err);
void store_close(struct store *st);
const char *store_sqlite_version(void);  /* for `mesh version` */
const char *store_path(const struct store *st);
const char *store_lineage(const struct store *st);
long long store_serial(struct store *st);

/* Called after every row written (store_put) or gone from its place (store_delete, store_depose:
 * deposed "" then means the current object), so a cache of rows (the engine's connection table)
 * follows the store. Process-wide; NULL: none. */
typedef void (*store_row_put_fn)(const struct state_row *row);
typedef void (*store_row_gone_fn)(const char *address, const char *deposed);
void store_set_row_hooks(store_row_put_fn put, store_row_gone_fn gone);

/* All rows, decrypted, sorted by (address, deposed). rows gets struct state_row *. */
int store_load(struct store *st, struct vec *rows, struct mesh_err *err);

/* Group commit: everything between begin and commit lands in one transaction; commit bumps the
 * serial once if any resource changed. Put/delete outside begin/commit commit on their own.
 * Inside a group a failed call leaves the transaction open: the caller calls store_rollback. */
int store_begin(struct store *st, struct mesh_err *err);
int store_commit(struct store *st, struct mesh_err *err);
int store_rollback(struct store *st);

/* Inserts or replaces the row (address, deposed). Values of attributes named in row->sensitive
 * are encrypted (associated data "address/attribute"). */
int store_put(struct store *st, const struct state_row *row, struct mesh_err *err);
int store_delete(struct store *st, const char *address, const char *deposed, struct mesh_err *err);
/* Moves the current object of address to a fresh deposed key (returned in key, e.g. "d1"). */
int store_depose(struct store *st, const char *address, char *key, size_t keylen, struct mesh_err *err);
/* Moves a deposed object back to current (the current row, if any, must already be gone). */
int store_undepose(struct store *st, const char *address, const char *deposed, struct mesh_err *err);

/* Runs and journal. */
int store_run_begin(struct store *st, const char *run_id, const char *command, struct mesh_err *err);
/* Records the run and takes its snapshot in one transaction (what apply, import and state edits
 * call first): a run in state always has the snapshot recovery rolls back to. */
int store_run_start(struct store *st, const char *run_id, const char *command, struct mesh_err *err);
/* status: "ok", "failed", "rolled_back", "interrupted", "recovered" */
int store_run_end(struct store *st, const char *run_id, const char *status, struct mesh_err *err);
/* Runs left "running" by a process that is gone (their journal is open). rows: char * run ids,
 * oldest first; caller frees each. */
int store_open_runs(struct store *st, struct vec *run_ids, struct mesh_err *err);
/* Runs that ended (failed) with a create whose object may exist: the create's intent is open,
 * answered only by an "ACTION.unsure" marker (find could not tell). Recovery looks them up.
 * run_ids: char *, oldest first; caller frees each. */
int store_unsure_runs(struct store *st, struct vec *run_ids, struct mesh_err *err);
/* An intent no driver call needs durable first (a marker, or a call that changes nothing outside
 * the state): as store_journal(..., "intent", detail), but with remote state it reaches the remote
 * with the next log rather than before this returns. */
int store_journal_mark(struct store *st, const char *run_id, const char *address, const char *action,
                       const char *detail, struct mesh_err *err);
/* Objects a run created and committed but never saw ready (its wait failed, timed out or was
 * cut off, and the run kept its progress): the current rows whose creating run's journal has
 * "ACTION.committed" but no later "ACTION" ok. Each entry's address, run_id (the creating run)
 * and action ("create", "replace"); oldest first. Recovery waits for them, then journals
 * ACTION ok in that run's journal. */
int store_unsettled(struct store *st, struct vec *entries, struct mesh_err *err);
/* phase: "intent", "ok", "failed". action: "create", "update", "delete", "find", "rollback-*"...
 * detail: optional JSON text (never a secret). */
int store_journal(struct store *st, const char *run_id, const char *address, const char *action,
                  const char *phase, const char *detail, struct mesh_err *err);
struct journal_entry {
    long long seq;
    char *address;
    char *action;
    char *phase;
    char *detail;
    char *run_id;  /* store_unsettled only: the run that created it */
    double time;   /* store_journal_pending only: when it was journaled (unix seconds) */
};
void journal_entry_free(void *e);
/* Intents of run_id with no result after them, in order (struct journal_entry *). */
int store_journal_pending(struct store *st, const char *run_id, struct vec *entries, struct mesh_err *err);

/* Snapshots: the whole resources table as it was before a run. Keeps the newest 10, and every
 * snapshot of a run still open (recovery needs it). */
int store_snapshot_take(struct store *st, const char *run_id, struct mesh_err *err);
/* Loads the snapshot taken at the start of run_id into rows (decrypted). */
int store_snapshot_rows(struct store *st, const char *run_id, struct vec *rows, struct mesh_err *err);
struct snapshot_info {
    int number;           /* 1 = newest */
    char run_id[64];
    long long serial;
    long long created;    /* unix seconds */
    int resources;
};
int store_snapshot_list(struct store *st, struct snapshot_info *out, int max, int *n, struct mesh_err *err);
/* Replaces the resources table with snapshot number (1 = newest). */
int store_snapshot_restore(struct store *st, int number, struct mesh_err *err);

/* The lock lease. */
struct lock_info {
    char run_id[64];
    char holder[128];   /* "user@host" */
    char host[128];
    long long pid;
    char command[64];
    long long acquired; /* unix seconds */
    long long expires;  /* unix seconds */
};
/* Takes the lease for run_id, or waits up to timeout_s (0: fail at once) for it. A lease held by
 * a dead process on this host, or expired, is taken over and *taken_over (if non-NULL) filled with
 * the old holder. On MESH_ELOCKED, err names the holder. Starts a heartbeat thread that renews it. */
int store_lock(struct store *st, const char *run_id, const char *command, double timeout_s,
               struct lock_info *taken_over, int *was_taken_over, struct mesh_err *err);
/* Stops the heartbeat and clears the lease; MESH_ECONFLICT if it was no longer run_id's.
 * store_close releases a lease still held. TTL: 30 s, or MESH_LOCK_TTL seconds. */
int store_unlock(struct store *st, const char *run_id, struct mesh_err *err);
int store_lock_info(struct store *st, struct lock_info *info, int *held, struct mesh_err *err);
/* Clears the lease only if run_id holds it (MESH_ENOTFOUND if unlocked, MESH_ECONFLICT if
 * another run holds it). */
int store_force_unlock(struct store *st, const char *run_id, struct mesh_err *err);
/* 0 while this store's lease is ours; MESH_ELOCKED once the heartbeat found it taken over or
 * force-unlocked (the run should stop writing). 0 when no lease is held. */
int store_lock_check(struct store *st, struct mesh_err *err);

/* outputs.c: the spec's outputs after the last successful apply. put replaces them all in one
 * transaction (the serial does not move: outputs are derived from resources); names listed in
 * sensitive (a JSON array) are encrypted with associated data "output/NAME". get returns a new
 * object of name -> value (decrypted) and a new array of the sensitive names. */
int store_outputs_put(struct store *st, const json_t *outputs, const json_t *sensitive, struct mesh_err *err);
int store_outputs_get(struct store *st, json_t **outputs, json_t **sensitive, struct mesh_err *err);

/* crypt.c: the state key (MESH_STATE_KEY, or a 0600 key file under the user's config dir named
 * by lineage, created when a value is first encrypted, never when one is read). Values are {"$enc": "base64(iv|ciphertext|tag)"}. */
int crypt_encrypt_value(const char *lineage, const char *aad, const json_t *value, json_t **out,
                        struct mesh_err *err);
int crypt_decrypt_value(const char *lineage, const char *aad, const json_t *enc, json_t **out,
                        struct mesh_err *err);
int crypt_is_encrypted(const json_t *v);
/* fn is told (once, in words for a person) when a new key file is created; NULL: silent. */
void crypt_set_notice(void (*fn)(const char *msg));
/* Wipes (OPENSSL_cleanse) and frees every cached key. Safe to call at any time; keys are
 * re-read on next use. */
void crypt_release(void);

#endif
