/* snapshot.c: copies of the resources table taken before each run, as stored (sensitive values
 * stay encrypted), one JSON array per snapshot (on a remote state, the array may live in an object
 * beside the base, its row a reference: sync_snap.c); the newest 10 are kept. Restoring one replaces
 * the resources table in one transaction and bumps the serial. */
#include "sync_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPSHOTS_KEPT 10

int store_snapshot_take(struct store *st, const char *run_id, struct mesh_err *err)
{
    int rc = store_tx_enter(st, err);
    if (rc) return rc;
    sqlite3_stmt *s = store_stmt(st, Q_SNAP_TAKE, err);
    if (!s) return store_tx_leave(st, STORE_ERRCODE(err), err);
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 2, store_now());
    rc = store_exec_stmt(st, s, err, "taking a snapshot");
    if (rc == 0) {
        s = store_stmt(st, Q_SNAP_TRIM, err);
        if (!s) {
            rc = STORE_ERRCODE(err);
        } else {
            sqlite3_bind_int(s, 1, SNAPSHOTS_KEPT);
            rc = store_exec_stmt(st, s, err, "pruning old snapshots");
        }
    }
    return store_tx_leave(st, rc, err);
}

int store_snapshot_rows(struct store *st, const char *run_id, struct vec *rows, struct mesh_err *err)
{
    sqlite3_stmt *s = store_stmt(st, Q_SNAP_BY_RUN, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        return mesh_err_set(err, MESH_ENOTFOUND, st->path, "no snapshot of run %s in the state "
                            "(only the newest %d are kept)", run_id, SNAPSHOTS_KEPT);
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return store_sqlerr(st, rc, err, "reading a snapshot");
    }
    char *text = NULL;
    rc = sync_snap_text(st, (const char *)sqlite3_column_text(s, 0), &text, err);
    sqlite3_reset(s);
    if (rc) return rc;
    json_error_t je;
    json_t *arr = json_loads(text, 0, &je);
    free(text);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return mesh_err_set(err, MESH_ERR, st->path, "the snapshot of run %s is damaged", run_id);
    }
    size_t first = rows->len, i;
    json_t *obj;
    rc = 0;
    json_array_foreach(arr, i, obj) {
        struct state_row *r = store_row_from_json(st, obj, err);
        if (!r) {
            rc = STORE_ERRCODE(err);
            break;
        }
        vec_push(rows, r);
    }
    json_decref(arr);
    if (rc)
        while (rows->len > first) state_row_free(vec_pop(rows));
    return rc;
}

int store_snapshot_list(struct store *st, struct snapshot_info *out, int max, int *n, struct mesh_err *err)
{
    *n = 0;
    sqlite3_stmt *s = store_stmt(st, Q_SNAP_LIST, err);
    if (!s) return STORE_ERRCODE(err);
    sqlite3_bind_int(s, 1, max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        struct snapshot_info *si = &out[*n];
        si->number = *n + 1;
        store_copy(si->run_id, sizeof(si->run_id), (const char *)sqlite3_column_text(s, 0));
        si->serial = sqlite3_column_int64(s, 1);
        si->created = (long long)sqlite3_column_double(s, 2);
        si->resources = sqlite3_column_int(s, 3);
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return store_sqlerr(st, rc, err, "listing snapshots");
    return 0;
}

int store_snapshot_restore(struct store *st, int number, struct mesh_err *err)
{
    if (number < 1)
        return mesh_err_set(err, MESH_EINVAL, st->path, "snapshot numbers start at 1 (the newest)");
    int rc = store_tx_enter(st, err);
    if (rc) return rc;
    sqlite3_stmt *s = store_stmt(st, Q_SNAP_BY_NUMBER, err);
    if (!s) return store_tx_leave(st, STORE_ERRCODE(err), err);
    sqlite3_bind_int(s, 1, number - 1);
    rc = sqlite3_step(s);
    char *text = NULL;
    struct mesh_err te;
    mesh_err_init(&te);
    int text_rc = rc == SQLITE_ROW ? sync_snap_text(st, (const char *)sqlite3_column_text(s, 0), &text, &te) : 0;
    sqlite3_reset(s);
    if (text_rc)
        rc = mesh_err_copy(err, &te, NULL);
    else if (rc == SQLITE_DONE)
        rc = mesh_err_set(err, MESH_ENOTFOUND, st->path, "no snapshot number %d (`mesh state "
                          "snapshots` lists them; the newest %d are kept)", number, SNAPSHOTS_KEPT);
    else if (rc != SQLITE_ROW)
        rc = store_sqlerr(st, rc, err, "reading a snapshot");
    else
        rc = 0;
    if (rc == 0) {
        s = store_stmt(st, Q_RESTORE_CLEAR, err);
        rc = s ? store_exec_stmt(st, s, err, "restoring a snapshot") : (STORE_ERRCODE(err));
    }
    if (rc == 0) {
        s = store_stmt(st, Q_RESTORE_FILL, err);
        if (s) {
            sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
            rc = store_exec_stmt(st, s, err, "restoring a snapshot");
        } else {
            rc = STORE_ERRCODE(err);
        }
    }
    free(text);
    if (rc == 0) st->changed = 1;
    return store_tx_leave(st, rc, err);
}
