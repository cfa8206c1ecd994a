/* row_check.c: a resource row is checked as it is read, so a damaged state file gives an error
 * instead of a crash or a silently wrong plan. Every row carries a checksum (column sum) of what
 * it stores, written with the row; a row whose bytes changed behind mesh's back (a flipped bit
 * in an object's id would otherwise make the object look deleted, and the next apply would make
 * a second one) fails its check. A row without a checksum (edited by hand, or restored from a
 * snapshot taken before checksums existed) is still checked for shape, just not for content. */
#include "store_int.h"

#include <openssl/evp.h>
#include <string.h>

/* SHA-256 over the fields, each as a length and its bytes (NULL run_id: length -1), first 16
 * bytes in hex. deposed is left out: it is renamed in place (store_depose) and checked by shape.
 * connection counts only when set, so rows written before it existed keep their sums. */
void store_row_sum(const char *address, const char *type, const char *inputs, const char *outputs,
                   const char *deps, const char *sensitive, const char *run_id, const char *connection,
                   char out[ROW_SUM_LEN + 1])
{
    const char *f[8] = {address, type, inputs, outputs, deps, sensitive, run_id, connection};
    int nf = connection ? 8 : 7;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (int i = 0; ok && i < nf; i++) {
        long long n = f[i] ? (long long)strlen(f[i]) : -1;
        ok = EVP_DigestUpdate(c, &n, sizeof(n)) == 1 && (!f[i] || EVP_DigestUpdate(c, f[i], (size_t)n) == 1);
    }
    if (!ok || EVP_DigestFinal_ex(c, md, &mdlen) != 1) memset(md, 0, sizeof(md));
    EVP_MD_CTX_free(c);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < ROW_SUM_LEN / 2; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[ROW_SUM_LEN] = 0;
}

/* mesh_row_sum(address, type, inputs, outputs, deps, sensitive, run_id) in SQL: the migration
 * that added the column fills it with this. */
static void sql_row_sum(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *f[7] = {0};
    for (int i = 0; i < 7 && i < argc; i++) f[i] = (const char *)sqlite3_value_text(argv[i]);
    char sum[ROW_SUM_LEN + 1];
    store_row_sum(f[0], f[1], f[2], f[3], f[4], f[5], f[6], NULL, sum);
    sqlite3_result_text(ctx, sum, -1, SQLITE_TRANSIENT);
}

int store_row_sum_register(sqlite3 *db)
{
    return sqlite3_create_function(db, "mesh_row_sum", 7, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                   sql_row_sum, NULL, NULL);
}

static const char *text_col(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_TEXT ? (const char *)sqlite3_column_text(s, i) : NULL;
}

static int deposed_ok(const char *d)
{
    if (!d[0]) return 1;
    if (d[0] != 'd' || !d[1]) return 0;
    return strspn(d + 1, "0123456789") == strlen(d + 1);
}

static int damaged(struct store *st, const char *address, const char *why, struct mesh_err *err)
{
    return mesh_err_set(err, MESH_ERR, st->path,
                        "the state is damaged: the row of %s %s; it was changed outside mesh or the "
                        "file is corrupt. Nothing was changed: restore the state file from a backup, "
                        "or look at `mesh state snapshots`", address, why);
}

int store_row_check(struct store *st, sqlite3_stmt *s, struct mesh_err *err)
{
    const char *address = text_col(s, 0), *deposed = text_col(s, 1), *type = text_col(s, 2);
    const char *inputs = text_col(s, 3), *outputs = text_col(s, 4), *deps = text_col(s, 5);
    const char *sensitive = text_col(s, 6), *run_id = text_col(s, 7), *sum = text_col(s, 8);
    const char *connection = text_col(s, 9);
    char shown[160];
    if (!address || !address[0] || strlen(address) != (size_t)sqlite3_column_bytes(s, 0))
        return damaged(st, "(an unreadable address)", "has no valid address", err);
    snprintf(shown, sizeof(shown), "%.120s", address);
    if (!type || !type[0]) return damaged(st, shown, "has no type", err);
    if (!deposed || !deposed_ok(deposed)) return damaged(st, shown, "has a bad deposed key", err);
    if (!inputs || !outputs || !deps || !sensitive)
        return damaged(st, shown, "lacks its inputs, outputs, deps or sensitive column", err);
    if (sqlite3_column_type(s, 7) != SQLITE_NULL && !run_id)
        return damaged(st, shown, "has a run id that is not text", err);
    if (sqlite3_column_type(s, 9) != SQLITE_NULL && (!connection || !connection[0]))
        return damaged(st, shown, "has a connection that is not an address", err);
    if (sqlite3_column_type(s, 8) == SQLITE_NULL) return 0;   /* no checksum: shape only */
    char want[ROW_SUM_LEN + 1];
    store_row_sum(address, type, inputs, outputs, deps, sensitive, run_id, connection, want);
    if (!sum || strcmp(sum, want) != 0) return damaged(st, shown, "does not match its checksum", err);
    return 0;
}
