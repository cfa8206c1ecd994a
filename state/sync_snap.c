/* sync_snap.c: snapshots kept beside the base of a remote state (remote.h's snapshot objects).
 * A snapshot is the whole resources table, and ten are kept: inside the base, every compaction
 * would upload all ten and every open download them again (at 10,000 resources, ~3 MB each). So
 * a compaction moves each snapshot still held in its row into an object of its own, named by the
 * SHA-256 of its bytes and written once, and leaves a reference in the row; reading a snapshot
 * fetches its object and checks the hash. Objects no base refers to any more are swept with the
 * logs, every few generations. A local state never holds a reference: a pull brings the objects
 * back into the rows. */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "sync_int.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* Smaller snapshots (an empty state's) stay in their row: an object would cost a request. */
#define SNAP_INLINE_MAX 4096
#define SNAP_NAME_LEN 64

struct snap_upload {
    char name[SNAP_NAME_LEN + 1];
    char *data;
    size_t len;
};

static void upload_free(void *p)
{
    struct snap_upload *u = p;
    free(u->data);
    free(u);
}

static void sha256_hex(const void *data, size_t len, char out[SNAP_NAME_LEN + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1) n = 0;
    for (unsigned int i = 0; i < n && i < SNAP_NAME_LEN / 2; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[n ? SNAP_NAME_LEN : 0] = 0;
}

/* The object a row's text refers to (NULL: the rows are in it). */
static int ref_name(const char *stored, char name[SNAP_NAME_LEN + 1])
{
    if (!stored || stored[0] != '{') return 0;
    json_t *j = json_loads(stored, 0, NULL);
    const char *o = json_string_value(json_object_get(j, "object"));
    int ok = o && strlen(o) == SNAP_NAME_LEN && strspn(o, "0123456789abcdef") == SNAP_NAME_LEN;
    if (ok) memcpy(name, o, SNAP_NAME_LEN + 1);
    json_decref(j);
    return ok ? 1 : -1;
}

/* The rows of a snapshot object, checked against its name. */
static int fetch(const struct remote *r, const char *where, const char *name, char **text, struct mesh_err *err)
{
    if (!r || !r->ops->snap_get)
        return mesh_err_set(err, MESH_ERR, where, "snapshot %.12s is kept beside a remote state; this state has "
                            "no remote to read it from (`mesh state pull` brings snapshots along)", name);
    struct remote_blob b = {0};
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = r->ops->snap_get(r->be, name, &b, &e);
    if (rc == MESH_ENOTFOUND)
        return mesh_err_set(err, MESH_ENOTFOUND, where, "snapshot object %.12s… is missing beside the state "
                            "(deleted by hand?): this snapshot cannot be read", name);
    if (rc) return mesh_err_set(err, rc, where, "cannot read snapshot object %.12s…: %s", name, e.msg);
    char got[SNAP_NAME_LEN + 1];
    sha256_hex(b.data, b.len, got);
    if (strcmp(got, name) != 0) {
        remote_blob_release(&b);
        return mesh_err_set(err, MESH_ERR, where, "snapshot object %.12s… beside the state is damaged (its bytes "
                            "do not match its name): this snapshot cannot be read", name);
    }
    *text = xmalloc(b.len + 1);
    memcpy(*text, b.data, b.len);
    (*text)[b.len] = 0;
    remote_blob_release(&b);
    return 0;
}

int sync_snap_text(struct store *st, const char *stored, char **text, struct mesh_err *err)
{
    char name[SNAP_NAME_LEN + 1];
    int ref = ref_name(stored, name);
    if (ref < 0) return mesh_err_set(err, MESH_ERR, st->path, "a snapshot's reference is damaged: %.80s", stored);
    if (!ref) {
        *text = xstrdup(stored ? stored : "[]");
        return 0;
    }
    return fetch(st->sync ? st->sync->r : NULL, st->sync ? st->sync->where : st->path, name, text, err);
}

/* UPDATE snapshots SET rows = text WHERE id = id */
static int set_rows(sqlite3 *db, long long id, const char *text)
{
    sqlite3_stmt *u = NULL;
    int rc = sqlite3_prepare_v2(db, "UPDATE snapshots SET rows = ?1 WHERE id = ?2", -1, &u, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(u, 1, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(u, 2, id);
        rc = sqlite3_step(u) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(u);
    return rc;
}

int sync_snap_inline(sqlite3 *db, const struct remote *r, const char *where, struct mesh_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, rows FROM snapshots WHERE rows LIKE '{%'", -1, &s, NULL) != SQLITE_OK)
        return mesh_err_set(err, MESH_ERR, where, "cannot read the snapshots of %s: %s", where, sqlite3_errmsg(db));
    struct vec ids = VEC_INIT, texts = VEC_INIT;
    int rc = 0;
    while (rc == 0 && sqlite3_step(s) == SQLITE_ROW) {
        char name[SNAP_NAME_LEN + 1], *text = NULL;
        int ref = ref_name((const char *)sqlite3_column_text(s, 1), name);
        if (ref < 0) rc = mesh_err_set(err, MESH_ERR, where, "a snapshot's reference in %s is damaged", where);
        if (ref > 0 && (rc = fetch(r, where, name, &text, err)) == 0) {
            long long *id = xmalloc(sizeof(*id));
            *id = sqlite3_column_int64(s, 0);
            vec_push(&ids, id);
            vec_push(&texts, text);
        }
    }
    sqlite3_finalize(s);
    for (size_t i = 0; rc == 0 && i < ids.len; i++)
        if (set_rows(db, *(long long *)ids.items[i], texts.items[i]) != SQLITE_OK)
            rc = mesh_err_set(err, MESH_ERR, where, "cannot write a snapshot of %s: %s", where, sqlite3_errmsg(db));
    vec_free_all(&ids, free);
    vec_free_all(&texts, free);
    return rc;
}

/* The names the cache's rows refer to, into sy->snap_keep (what a sweep leaves). */
static void collect_keep(struct store *st)
{
    struct sync *sy = st->sync;
    vec_free_all(&sy->snap_keep, free);
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT rows FROM snapshots WHERE rows LIKE '{%'", -1, &s, NULL) != SQLITE_OK) {
        sy->snap_keep_known = 0;
        return;
    }
    int rc;
    char name[SNAP_NAME_LEN + 1];
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (ref_name((const char *)sqlite3_column_text(s, 0), name) > 0) vec_push(&sy->snap_keep, xstrdup(name));
    sqlite3_finalize(s);
    sy->snap_keep_known = rc == SQLITE_DONE;
}

int sync_snap_externalize(struct store *st, struct mesh_err *err)
{
    struct sync *sy = st->sync;
    vec_free_all(&sy->snap_up, upload_free);
    if (!sy->r->ops->snap_put) return 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT id, rows FROM snapshots WHERE rows LIKE '[%' AND length(rows) >= ?1",
                           -1, &s, NULL) != SQLITE_OK)
        return mesh_err_set(err, MESH_ERR, st->path, "cannot read the snapshots: %s", sqlite3_errmsg(st->db));
    sqlite3_bind_int(s, 1, SNAP_INLINE_MAX);
    struct vec ids = VEC_INIT;
    while (sqlite3_step(s) == SQLITE_ROW) {
        struct snap_upload *u = xcalloc(1, sizeof(*u));
        const unsigned char *rows = sqlite3_column_text(s, 1);
        u->len = (size_t)sqlite3_column_bytes(s, 1);
        u->data = xmalloc(u->len + 1);
        memcpy(u->data, rows, u->len);
        sha256_hex(u->data, u->len, u->name);
        long long *id = xmalloc(sizeof(*id));
        *id = sqlite3_column_int64(s, 0);
        vec_push(&ids, id);
        vec_push(&sy->snap_up, u);
    }
    sqlite3_finalize(s);
    /* The cache takes the references the base will hold; this is no change of the state (the
     * rows stay the same), so no log records it, and the fence lets it through. */
    int rc = 0;
    if (ids.len) {
        sy->applying = 1;
        sqlite3session_enable(sy->session, 0);
        rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        for (size_t i = 0; rc == SQLITE_OK && i < ids.len; i++) {
            const struct snap_upload *u = sy->snap_up.items[i];
            json_t *ref = json_pack("{s:s, s:I}", "object", u->name, "bytes", (json_int_t)u->len);
            char *text = json_dumps(ref, JSON_COMPACT);
            rc = set_rows(st->db, *(long long *)ids.items[i], text);
            free(text);
            json_decref(ref);
        }
        if (rc == SQLITE_OK) rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            mesh_err_set(err, MESH_ERR, st->path, "cannot move the snapshots out of the state: %s",
                         sqlite3_errmsg(st->db));
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        }
        sqlite3session_enable(sy->session, 1);
        sy->applying = 0;
    }
    vec_free_all(&ids, free);
    if (rc != SQLITE_OK) {
        vec_free_all(&sy->snap_up, upload_free);
        return MESH_ERR;
    }
    collect_keep(st);
    /* What the rows left behind as free pages would travel in the image: an image mostly free
     * space is compacted first. */
    sqlite3_stmt *p = NULL;
    long long pages = 0, free_pages = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT (SELECT page_count FROM pragma_page_count), "
                           "(SELECT freelist_count FROM pragma_freelist_count)", -1, &p, NULL) == SQLITE_OK &&
        sqlite3_step(p) == SQLITE_ROW) {
        pages = sqlite3_column_int64(p, 0);
        free_pages = sqlite3_column_int64(p, 1);
    }
    sqlite3_finalize(p);
    if (free_pages * 4 > pages) {
        sy->applying = 1;
        sqlite3session_enable(sy->session, 0);
        sqlite3_exec(st->db, "VACUUM", NULL, NULL, NULL);   /* only smaller when it works */
        sqlite3session_enable(sy->session, 1);
        sy->applying = 0;
    }
    return 0;
}

int sync_snap_upload(struct sync *sy, struct mesh_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sy->snap_up.len; i++) {
        const struct snap_upload *u = sy->snap_up.items[i];
        rc = sy->r->ops->snap_put(sy->r->be, u->name, u->data, u->len, err);
        if (rc == 0) {
            pthread_mutex_lock(&sy->mu);
            sy->stats.snap_puts++;
            sy->stats.bytes_out += (long long)u->len;
            pthread_mutex_unlock(&sy->mu);
        }
    }
    vec_free_all(&sy->snap_up, upload_free);
    return rc;
}

static int listed(const char *name, void *ctx)
{
    vec_push(ctx, xstrdup(name));
    return 0;
}

void sync_snap_sweep(struct sync *sy)
{
    if (!sy->r->ops->snap_list || !sy->r->ops->snap_delete || !sy->snap_keep_known) return;
    struct vec there = VEC_INIT, gone = VEC_INIT;
    struct mesh_err e;
    mesh_err_init(&e);
    if (sy->r->ops->snap_list(sy->r->be, listed, &there, &e) == 0) {
        for (size_t i = 0; i < there.len; i++) {
            int kept = 0;
            for (size_t k = 0; !kept && k < sy->snap_keep.len; k++) kept = strcmp(there.items[i], sy->snap_keep.items[k]) == 0;
            if (!kept) vec_push(&gone, there.items[i]);
        }
        if (gone.len) sy->r->ops->snap_delete(sy->r->be, (const char *const *)gone.items, gone.len, &e);
    }
    vec_release(&gone);
    vec_free_all(&there, free);
}

void sync_snap_forget(struct sync *sy)
{
    vec_free_all(&sy->snap_up, upload_free);
    vec_free_all(&sy->snap_keep, free);
}
