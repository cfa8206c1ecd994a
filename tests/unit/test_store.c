/* test_store.c: the state store: creation and modes, reopen, lineage, serial, rows, deposed
 * objects, group commit, migrations (newer schema refused, concurrent creation), encryption at
 * rest, snapshots, runs and the journal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "store_fixture.h"
#include "base/xalloc.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="   /* bytes 0..31 */
#define KEY2 "HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo="

static void open_store(struct fixture *f)
{
    int rc = store_open(f->path, &f->st, &f->err);
    if (rc) fprintf(stderr, "store_open: %s\n", f->err.msg);
    assert_int_equal(rc, 0);
}

static void reopen(struct fixture *f)
{
    store_close(f->st);
    f->st = NULL;
    open_store(f);
}

static struct state_row *row(const char *address, const char *deposed, const char *inputs)
{
    struct state_row *r = state_row_new(address, deposed, "null_resource");
    json_decref(r->inputs);
    r->inputs = json_loads(inputs, 0, NULL);
    json_object_set_new(r->outputs, "id", json_string(address));
    r->run_id = strdup("run-1");
    return r;
}

static void put(struct fixture *f, const char *address, const char *deposed, const char *inputs)
{
    struct state_row *r = row(address, deposed, inputs);
    int rc = store_put(f->st, r, &f->err);
    if (rc) fprintf(stderr, "store_put: %s\n", f->err.msg);
    assert_int_equal(rc, 0);
    state_row_free(r);
}

static void load(struct fixture *f, struct vec *rows)
{
    vec_init(rows);
    int rc = store_load(f->st, rows, &f->err);
    if (rc) fprintf(stderr, "store_load: %s\n", f->err.msg);
    assert_int_equal(rc, 0);
}

static struct state_row *at(struct vec *rows, size_t i) { return rows->items[i]; }

static void test_open_creates_private_files(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char buf[400];
    snprintf(buf, sizeof(buf), "%s/.mesh", f->dir);
    assert_int_equal(stat(buf, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    put(f, "null_resource.a", "", "{}");
    snprintf(buf, sizeof(buf), "%s-wal", f->path);
    assert_int_equal(stat(buf, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_string_equal(store_path(f->st), f->path);
}

static void test_reopen_keeps_lineage_and_rows(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    char lineage[64];
    snprintf(lineage, sizeof(lineage), "%s", store_lineage(f->st));
    assert_int_equal(strlen(lineage), 36);
    assert_int_equal(lineage[14], '4');   /* UUID v4 */
    assert_int_equal(store_serial(f->st), 0);
    put(f, "null_resource.a", "", "{\"x\":1}");
    reopen(f);
    assert_string_equal(store_lineage(f->st), lineage);
    assert_int_equal(store_serial(f->st), 1);
    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 1);
    vec_free_all(&rows, state_row_free);

    /* another state gets another lineage */
    struct fixture g = *f;
    snprintf(g.path, sizeof(g.path), "%s/other.db", f->dir);
    struct store *other = NULL;
    assert_int_equal(store_open(g.path, &other, &f->err), 0);
    assert_string_not_equal(store_lineage(other), lineage);
    store_close(other);
}

static void test_serial_bumps_only_on_change(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    put(f, "null_resource.a", "", "{\"x\":1}");
    assert_int_equal(store_serial(f->st), 1);
    put(f, "null_resource.a", "", "{\"x\":1}");      /* identical: no change */
    assert_int_equal(store_serial(f->st), 1);
    put(f, "null_resource.a", "", "{\"x\":2}");
    assert_int_equal(store_serial(f->st), 2);
    assert_int_equal(store_delete(f->st, "null_resource.a", "", &f->err), 0);
    assert_int_equal(store_serial(f->st), 3);
    assert_int_equal(store_delete(f->st, "null_resource.a", "", &f->err), 0);  /* nothing there */
    assert_int_equal(store_serial(f->st), 3);
}

static void test_put_load_delete(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    put(f, "null_resource.b", "", "{\"k\":\"v\",\"n\":{\"deep\":[1,2]}}");
    put(f, "null_resource.a", "", "{}");
    struct state_row *r = row("null_resource.c", "", "{\"z\":true}");
    json_array_append_new(r->deps, json_string("null_resource.a"));
    assert_int_equal(store_put(f->st, r, &f->err), 0);
    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 3);
    assert_string_equal(at(&rows, 0)->address, "null_resource.a");
    assert_string_equal(at(&rows, 1)->address, "null_resource.b");
    assert_string_equal(at(&rows, 2)->address, "null_resource.c");
    assert_string_equal(at(&rows, 1)->type, "null_resource");
    assert_string_equal(at(&rows, 1)->run_id, "run-1");
    assert_string_equal(at(&rows, 1)->deposed, "");
    json_t *want = json_loads("{\"k\":\"v\",\"n\":{\"deep\":[1,2]}}", 0, NULL);
    assert_true(json_equal(at(&rows, 1)->inputs, want));
    json_decref(want);
    assert_true(json_equal(at(&rows, 2)->deps, r->deps));
    assert_string_equal(json_string_value(json_object_get(at(&rows, 2)->outputs, "id")), "null_resource.c");
    struct state_row *d = state_row_dup(at(&rows, 2));
    assert_true(json_equal(d->inputs, r->inputs));
    state_row_free(d);
    state_row_free(r);
    vec_free_all(&rows, state_row_free);

    assert_int_equal(store_delete(f->st, "null_resource.b", "", &f->err), 0);
    load(f, &rows);
    assert_int_equal(rows.len, 2);
    vec_free_all(&rows, state_row_free);

    struct state_row bad = {0};
    assert_int_equal(store_put(f->st, &bad, &f->err), MESH_EINVAL);
}

static void test_depose_and_undepose(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    char key[16];
    assert_int_equal(store_depose(f->st, "null_resource.a", key, sizeof(key), &f->err), MESH_ENOTFOUND);
    mesh_err_clear(&f->err);
    put(f, "null_resource.a", "", "{\"v\":1}");
    long long serial = store_serial(f->st);
    assert_int_equal(store_depose(f->st, "null_resource.a", key, sizeof(key), &f->err), 0);
    assert_string_equal(key, "d1");
    assert_int_equal(store_serial(f->st), serial + 1);
    put(f, "null_resource.a", "", "{\"v\":2}");
    assert_int_equal(store_depose(f->st, "null_resource.a", key, sizeof(key), &f->err), 0);
    assert_string_equal(key, "d2");
    put(f, "null_resource.a", "", "{\"v\":3}");

    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 3);
    assert_string_equal(at(&rows, 0)->deposed, "");
    assert_string_equal(at(&rows, 1)->deposed, "d1");
    assert_string_equal(at(&rows, 2)->deposed, "d2");
    assert_int_equal(json_integer_value(json_object_get(at(&rows, 1)->inputs, "v")), 1);
    vec_free_all(&rows, state_row_free);

    /* the current object must be gone first */
    assert_int_equal(store_undepose(f->st, "null_resource.a", "d1", &f->err), MESH_ECONFLICT);
    assert_non_null(strstr(f->err.msg, "current object"));
    mesh_err_clear(&f->err);
    assert_int_equal(store_delete(f->st, "null_resource.a", "", &f->err), 0);
    assert_int_equal(store_undepose(f->st, "null_resource.a", "d9", &f->err), MESH_ENOTFOUND);
    mesh_err_clear(&f->err);
    assert_int_equal(store_undepose(f->st, "null_resource.a", "d1", &f->err), 0);
    load(f, &rows);
    assert_int_equal(rows.len, 2);
    assert_string_equal(at(&rows, 0)->deposed, "");
    assert_int_equal(json_integer_value(json_object_get(at(&rows, 0)->inputs, "v")), 1);
    vec_free_all(&rows, state_row_free);
}

static void test_group_commit_and_rollback(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    assert_int_equal(store_begin(f->st, &f->err), 0);
    assert_int_equal(store_begin(f->st, &f->err), MESH_EINVAL);
    mesh_err_clear(&f->err);
    put(f, "null_resource.a", "", "{}");
    put(f, "null_resource.b", "", "{}");
    assert_int_equal(store_journal(f->st, "r1", "null_resource.a", "create", "ok", NULL, &f->err), 0);
    assert_int_equal(store_delete(f->st, "null_resource.b", "", &f->err), 0);
    assert_int_equal(store_commit(f->st, &f->err), 0);
    assert_int_equal(store_serial(f->st), 1);     /* once per commit */

    assert_int_equal(store_begin(f->st, &f->err), 0);
    put(f, "null_resource.c", "", "{}");
    assert_int_equal(store_delete(f->st, "null_resource.a", "", &f->err), 0);
    assert_int_equal(store_rollback(f->st), 0);
    assert_int_equal(store_serial(f->st), 1);
    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 1);
    assert_string_equal(at(&rows, 0)->address, "null_resource.a");
    vec_free_all(&rows, state_row_free);

    /* a commit with only journal entries leaves the serial alone */
    assert_int_equal(store_begin(f->st, &f->err), 0);
    assert_int_equal(store_journal(f->st, "r1", "null_resource.a", "update", "intent", NULL, &f->err), 0);
    assert_int_equal(store_commit(f->st, &f->err), 0);
    assert_int_equal(store_serial(f->st), 1);
    assert_int_equal(store_commit(f->st, &f->err), MESH_EINVAL);
}

static void test_newer_schema_refused_file_untouched(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    put(f, "null_resource.a", "", "{}");
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(fixture_sql(f->path, "UPDATE meta SET value = 99 WHERE key = 'schema_version'"), SQLITE_OK);
    size_t n1 = 0, n2 = 0;
    char *before = fixture_slurp(f->path, &n1);
    assert_non_null(before);
    struct store *st = NULL;
    assert_int_equal(store_open(f->path, &st, &f->err), MESH_ECONFLICT);
    assert_null(st);
    char want[128];
    snprintf(want, sizeof(want), "state.db was written by a newer mesh (schema 99, this mesh knows %d); upgrade mesh",
             STORE_SCHEMA_VERSION);
    assert_non_null(strstr(f->err.msg, want));
    assert_string_equal(f->err.where, f->path);
    char *after = fixture_slurp(f->path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    free(before);
    free(after);
}

static void test_not_a_database(void **state)
{
    struct fixture *f = *state;
    char p[400];
    snprintf(p, sizeof(p), "%s/junk.db", f->dir);
    FILE *fp = fopen(p, "w");
    fputs("this is not sqlite at all, just some text that is long enough to have a header....\n", fp);
    fclose(fp);
    struct store *st = NULL;
    assert_true(store_open(p, &st, &f->err) < 0);
    assert_null(st);
    assert_string_equal(f->err.where, p);
    assert_non_null(strstr(f->err.msg, "mesh state file"));
}

/* 20 processes open (and so create and migrate) one brand-new state at once. */
static void test_concurrent_creation(void **state)
{
    struct fixture *f = *state;
    enum { N = 20 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            struct store *st = NULL;
            struct mesh_err e;
            mesh_err_init(&e);
            char addr[64];
            snprintf(addr, sizeof(addr), "null_resource.p%d", i);
            struct state_row *r = state_row_new(addr, "", "null_resource");
            int rc = store_open(f->path, &st, &e);
            if (rc == 0) rc = store_put(st, r, &e);
            if (rc) fprintf(stderr, "child %d: %s\n", i, e.msg);
            state_row_free(r);
            store_close(st);
            fixture_child_exit(rc ? 1 : 0);
        }
    }
    for (int i = 0; i < N; i++) {
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    open_store(f);
    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, N);
    vec_free_all(&rows, state_row_free);
    assert_int_equal(store_serial(f->st), N);
}

/* An empty file where the state was is not a new state: refused, untouched, unless forced. */
static void test_empty_file_refused(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    put(f, "null_resource.a", "", "{}");
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(truncate(f->path, 0), 0);
    struct store *st = NULL;
    assert_int_equal(store_open(f->path, &st, &f->err), MESH_ERR);
    assert_null(st);
    assert_string_equal(f->err.where, f->path);
    assert_non_null(strstr(f->err.msg, "the state file is empty (0 bytes)"));
    assert_non_null(strstr(f->err.msg, "--force-new-state"));
    struct stat sb;
    assert_int_equal(stat(f->path, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    mesh_err_clear(&f->err);
    assert_int_equal(store_open_flags(f->path, STORE_OPEN_FORCE_NEW, &f->st, &f->err), 0);
    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 0);
    vec_release(&rows);
    /* a new file never shows up empty: it is built beside and linked into place */
    char p2[400];
    snprintf(p2, sizeof(p2), "%s/new/state.db", f->dir);
    assert_int_equal(store_open(p2, &st, &f->err), 0);
    assert_int_equal(stat(p2, &sb), 0);
    assert_true(sb.st_size > 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    store_close(st);
}

static void expect_damaged(struct fixture *f, const char *sql, const char *want)
{
    assert_int_equal(fixture_sql(f->path, sql), SQLITE_OK);
    struct vec rows = VEC_INIT;
    int rc = store_load(f->st, &rows, &f->err);
    if (rc != MESH_ERR) fprintf(stderr, "loaded after: %s\n", sql);
    assert_int_equal(rc, MESH_ERR);
    assert_int_equal(rows.len, 0);
    if (!strstr(f->err.msg, want)) fprintf(stderr, "got: %s\nwant: %s\n", f->err.msg, want);
    assert_non_null(strstr(f->err.msg, want));
    mesh_err_clear(&f->err);
    vec_release(&rows);
}

/* Rows are checked as they are read: a damaged one is an error naming it, never a crash. */
static void test_damaged_rows_are_errors(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    put(f, "null_resource.a", "", "{\"k\":\"v\"}");
    const char *restore = "DELETE FROM resources; ";
    char sql[1024];
    struct {
        const char *edit, *want;
    } cases[] = {
        {"UPDATE resources SET outputs = '{\"id\":\"null_resource.b\"}'", "the row of null_resource.a does not match its checksum"},
        {"UPDATE resources SET inputs = 'not json'", "does not match its checksum"},
        {"UPDATE resources SET sum = 'x'", "does not match its checksum"},
        {"UPDATE resources SET sum = NULL, inputs = 'not json'", "holds invalid JSON in inputs"},
        {"UPDATE resources SET sum = NULL, inputs = '[1]'", "inputs is not an object"},
        {"UPDATE resources SET sum = NULL, deps = '[1]'", "deps is not an array of names"},
        {"UPDATE resources SET sum = NULL, sensitive = '{}'", "sensitive is not an array of names"},
        {"UPDATE resources SET sum = NULL, type = ''", "the row of null_resource.a has no type"},
        {"UPDATE resources SET sum = NULL, deposed = 'zz'", "has a bad deposed key"},
        {"UPDATE resources SET sum = NULL, inputs = x'7b7d'", "lacks its inputs"},
        {"UPDATE resources SET sum = NULL, run_id = x'0102'", "run id that is not text"},
        {"UPDATE resources SET address = x'00ff'", "the row of (an unreadable address) has no valid address"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_damaged(f, cases[i].edit, cases[i].want);
        snprintf(sql, sizeof(sql), "%s", restore);
        assert_int_equal(fixture_sql(f->path, sql), SQLITE_OK);
        put(f, "null_resource.a", "", "{\"k\":\"v\"}");
    }
    /* the message says what to do */
    expect_damaged(f, "UPDATE resources SET inputs = '{}'", "restore the state file from a backup");
}

/* A state from before checksums (schema 2) gets one for every row on open. */
static void test_migration_adds_checksums(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    put(f, "null_resource.a", "", "{\"k\":\"v\"}");
    put(f, "null_resource.b", "", "{}");
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(fixture_sql(f->path, "ALTER TABLE resources DROP COLUMN connection; "
                                          "ALTER TABLE resources DROP COLUMN sum; "
                                          "UPDATE meta SET value = 2 WHERE key = 'schema_version'"), SQLITE_OK);
    open_store(f);
    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 2);
    vec_free_all(&rows, state_row_free);
    expect_damaged(f, "UPDATE resources SET inputs = '{}' WHERE address = 'null_resource.a'",
                   "the row of null_resource.a does not match its checksum");
}

/* A state from before connections (schema 3) keeps its checksums; a row's connection is stored,
 * read back, part of its checksum, and carried by snapshots. */
static void test_migration_adds_connections(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    put(f, "null_resource.a", "", "{\"k\":\"v\"}");
    store_close(f->st);
    f->st = NULL;
    assert_int_equal(fixture_sql(f->path, "ALTER TABLE resources DROP COLUMN connection; "
                                          "UPDATE meta SET value = 3 WHERE key = 'schema_version'"), SQLITE_OK);
    open_store(f);
    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 1);  /* its old checksum still holds */
    assert_null(((struct state_row *)rows.items[0])->connection);
    vec_free_all(&rows, state_row_free);
    struct state_row *r = state_row_new("null_resource.b", "", "null_resource");
    r->connection = xstrdup("null_connection.c1");
    assert_int_equal(store_put(f->st, r, &f->err), 0);
    state_row_free(r);
    assert_int_equal(store_snapshot_take(f->st, "run-1", &f->err), 0);
    load(f, &rows);
    assert_int_equal(rows.len, 2);
    assert_string_equal(((struct state_row *)rows.items[1])->connection, "null_connection.c1");
    vec_free_all(&rows, state_row_free);
    struct vec snap = VEC_INIT;
    assert_int_equal(store_snapshot_rows(f->st, "run-1", &snap, &f->err), 0);
    assert_int_equal(snap.len, 2);
    assert_string_equal(((struct state_row *)snap.items[1])->connection, "null_connection.c1");
    vec_free_all(&snap, state_row_free);
    expect_damaged(f, "UPDATE resources SET connection = 'null_connection.c2' WHERE address = 'null_resource.b'",
                   "the row of null_resource.b does not match its checksum");
}

/* PRAGMA quick_check before a run writes: a damaged page is refused. */
static void test_check_finds_damage(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    char addr[64];
    assert_int_equal(store_begin(f->st, &f->err), 0);
    for (int i = 0; i < 300; i++) {   /* a few pages of rows */
        snprintf(addr, sizeof(addr), "null_resource.r%03d", i);
        put(f, addr, "", "{\"padding\":\"0123456789012345678901234567890123456789\"}");
    }
    assert_int_equal(store_commit(f->st, &f->err), 0);
    assert_int_equal(store_check(f->st, &f->err), 0);
    store_close(f->st);
    f->st = NULL;
    /* scribble over the b-tree header of the resources table's root page */
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE name = 'resources'", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    long root = (long)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    FILE *fp = fopen(f->path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (root - 1) * 4096 + 3, SEEK_SET), 0);   /* number of cells */
    fputc(0x7f, fp);
    fputc(0x7f, fp);
    fclose(fp);
    open_store(f);
    assert_int_equal(store_check(f->st, &f->err), MESH_ERR);
    assert_non_null(strstr(f->err.msg, "the state file is damaged (SQLite's quick_check: "));
}

static struct state_row *secret_row(const char *address, const char *canary)
{
    struct state_row *r = state_row_new(address, "", "null_resource");
    json_object_set_new(r->inputs, "password", json_string(canary));
    json_object_set_new(r->inputs, "plain", json_string("visible-value"));
    json_object_set_new(r->outputs, "token", json_pack("{s:s,s:i}", "k", canary, "n", 7));
    json_object_set_new(r->outputs, "id", json_string("id-1"));
    json_array_append_new(r->sensitive, json_string("password"));
    json_array_append_new(r->sensitive, json_string("token"));
    json_array_append_new(r->sensitive, json_string("absent"));
    return r;
}

static void test_sensitive_values_encrypted_at_rest(void **state)
{
    struct fixture *f = *state;
    const char *canary = "CANARY-7f3a9c-do-not-leak";
    open_store(f);
    struct state_row *r = secret_row("null_resource.s", canary);
    assert_int_equal(store_put(f->st, r, &f->err), 0);
    /* the caller's row is not modified */
    assert_string_equal(json_string_value(json_object_get(r->inputs, "password")), canary);

    struct vec rows;
    load(f, &rows);
    assert_int_equal(rows.len, 1);
    assert_true(json_equal(at(&rows, 0)->inputs, r->inputs));
    assert_true(json_equal(at(&rows, 0)->outputs, r->outputs));
    vec_free_all(&rows, state_row_free);

    char wal[400];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);
    assert_true(fixture_file_contains(wal, "visible-value"));   /* the grep works */
    assert_false(fixture_file_contains(wal, canary));
    assert_false(fixture_file_contains(f->path, canary));
    store_close(f->st);     /* checkpoint into the main file */
    f->st = NULL;
    assert_true(fixture_file_contains(f->path, "visible-value"));
    assert_false(fixture_file_contains(f->path, canary));
    assert_false(fixture_file_contains(wal, canary));

    /* a fresh process (empty key cache) reads it back with the key file */
    crypt_release();
    open_store(f);
    load(f, &rows);
    assert_true(json_equal(at(&rows, 0)->inputs, r->inputs));
    vec_free_all(&rows, state_row_free);
    state_row_free(r);

    char keyfile[512];
    snprintf(keyfile, sizeof(keyfile), "%s/config/mesh/keys/%s.key", f->dir, store_lineage(f->st));
    struct stat sb;
    assert_int_equal(stat(keyfile, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_wrong_key_is_a_clear_error(void **state)
{
    struct fixture *f = *state;
    setenv("MESH_STATE_KEY", KEY1, 1);
    open_store(f);
    struct state_row *r = secret_row("null_resource.s", "secret-1");
    assert_int_equal(store_put(f->st, r, &f->err), 0);
    state_row_free(r);
    setenv("MESH_STATE_KEY", KEY2, 1);
    struct vec rows = VEC_INIT;
    assert_int_equal(store_load(f->st, &rows, &f->err), MESH_ERR);
    assert_int_equal(rows.len, 0);
    assert_non_null(strstr(f->err.msg, "MESH_STATE_KEY"));
    assert_non_null(strstr(f->err.msg, "wrong key"));
    assert_string_equal(f->err.where, "null_resource.s/password");
    mesh_err_clear(&f->err);

    /* no key file was created while MESH_STATE_KEY was set */
    char keyfile[512];
    snprintf(keyfile, sizeof(keyfile), "%s/config/mesh/keys/%s.key", f->dir, store_lineage(f->st));
    assert_int_equal(access(keyfile, F_OK), -1);

    setenv("MESH_STATE_KEY", "not-base64!", 1);
    assert_int_equal(store_load(f->st, &rows, &f->err), MESH_EINVAL);
    assert_non_null(strstr(f->err.msg, "MESH_STATE_KEY must be the base64 of exactly 32 bytes"));
    mesh_err_clear(&f->err);

    setenv("MESH_STATE_KEY", KEY1, 1);
    load(f, &rows);
    assert_string_equal(json_string_value(json_object_get(at(&rows, 0)->inputs, "password")), "secret-1");
    vec_free_all(&rows, state_row_free);
}

static void test_ciphertext_moved_to_another_address_fails(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    struct state_row *a = secret_row("null_resource.a", "secret-a");
    struct state_row *b = secret_row("null_resource.b", "secret-b");
    assert_int_equal(store_put(f->st, a, &f->err), 0);
    assert_int_equal(store_put(f->st, b, &f->err), 0);
    state_row_free(a);
    state_row_free(b);
    assert_int_equal(fixture_sql(f->path, "UPDATE resources SET inputs = (SELECT inputs FROM resources "
                                          "WHERE address = 'null_resource.a') WHERE address = 'null_resource.b'"),
                     SQLITE_OK);
    struct vec rows = VEC_INIT;
    /* the row's checksum catches it first */
    assert_int_equal(store_load(f->st, &rows, &f->err), MESH_ERR);
    assert_int_equal(rows.len, 0);
    assert_non_null(strstr(f->err.msg, "the row of null_resource.b does not match its checksum"));
    mesh_err_clear(&f->err);
    /* without a checksum (a hand-edited row) the associated data still does */
    assert_int_equal(fixture_sql(f->path, "UPDATE resources SET sum = NULL"), SQLITE_OK);
    assert_int_equal(store_load(f->st, &rows, &f->err), MESH_ERR);
    assert_int_equal(rows.len, 0);
    assert_string_equal(f->err.where, "null_resource.b/password");
    vec_release(&rows);
}

static void test_snapshots_keep_ten_and_restore(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    char run[32], addr[64];
    for (int i = 1; i <= 12; i++) {
        snprintf(run, sizeof(run), "r%d", i);
        assert_int_equal(store_snapshot_take(f->st, run, &f->err), 0);
        snprintf(addr, sizeof(addr), "null_resource.n%02d", i);
        struct state_row *r = secret_row(addr, "snap-secret");
        assert_int_equal(store_put(f->st, r, &f->err), 0);
        state_row_free(r);
    }
    struct snapshot_info info[16];
    int n = 0;
    assert_int_equal(store_snapshot_list(f->st, info, 16, &n, &f->err), 0);
    assert_int_equal(n, 10);
    assert_int_equal(info[0].number, 1);
    assert_string_equal(info[0].run_id, "r12");
    assert_int_equal(info[0].resources, 11);
    assert_int_equal(info[0].serial, 11);
    assert_string_equal(info[9].run_id, "r3");
    assert_true(info[0].created > 1700000000);
    assert_int_equal(store_snapshot_list(f->st, info, 3, &n, &f->err), 0);
    assert_int_equal(n, 3);

    struct vec rows;
    vec_init(&rows);
    assert_int_equal(store_snapshot_rows(f->st, "r2", &rows, &f->err), MESH_ENOTFOUND);
    mesh_err_clear(&f->err);
    assert_int_equal(store_snapshot_rows(f->st, "r5", &rows, &f->err), 0);
    assert_int_equal(rows.len, 4);
    assert_string_equal(at(&rows, 3)->address, "null_resource.n04");
    assert_string_equal(json_string_value(json_object_get(at(&rows, 3)->inputs, "password")), "snap-secret");
    vec_free_all(&rows, state_row_free);

    /* number 3 is the snapshot of r10: 9 resources */
    long long serial = store_serial(f->st);
    assert_int_equal(store_snapshot_restore(f->st, 3, &f->err), 0);
    assert_int_equal(store_serial(f->st), serial + 1);
    load(f, &rows);
    assert_int_equal(rows.len, 9);
    assert_string_equal(at(&rows, 8)->address, "null_resource.n09");
    assert_string_equal(json_string_value(json_object_get(at(&rows, 8)->inputs, "password")), "snap-secret");
    assert_string_equal(json_string_value(json_object_get(at(&rows, 8)->outputs, "id")), "id-1");
    vec_free_all(&rows, state_row_free);
    assert_int_equal(store_snapshot_restore(f->st, 11, &f->err), MESH_ENOTFOUND);
    mesh_err_clear(&f->err);
    assert_int_equal(store_snapshot_restore(f->st, 0, &f->err), MESH_EINVAL);
}

/* A journal row with a NULL action (NOT NULL only binds writers) is an error, not a crash. */
static void test_damaged_journal_is_an_error(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    assert_int_equal(store_journal(f->st, "r1", "null_resource.a", "create", "intent", NULL, &f->err), 0);
    assert_int_equal(store_journal(f->st, "r1", "null_resource.b", "create", "intent", NULL, &f->err), 0);
    assert_int_equal(fixture_sql(f->path, "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = "
                                          "replace(sql, 'action  TEXT NOT NULL', 'action  TEXT') WHERE name = 'journal'"),
                     SQLITE_OK);
    assert_int_equal(fixture_sql(f->path, "UPDATE journal SET action = NULL WHERE address = 'null_resource.b'"), SQLITE_OK);
    reopen(f);
    struct vec pending = VEC_INIT;
    assert_int_equal(store_journal_pending(f->st, "r1", &pending, &f->err), MESH_ERR);
    assert_non_null(strstr(f->err.msg, "the state is damaged: journal entry 2 of run r1"));
    assert_true(pending.len <= 1);   /* only whole entries */
    vec_free_all(&pending, journal_entry_free);
}

/* A run is recorded together with its snapshot or not at all (a crash between the two left a run
 * that every later apply failed to recover), and an open run's snapshot is never pruned. */
static void test_run_start_is_one_transaction(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    assert_int_equal(fixture_sql(f->path, "CREATE TRIGGER nosnap BEFORE INSERT ON snapshots "
                                          "BEGIN SELECT RAISE(ABORT, 'disk full'); END"), SQLITE_OK);
    assert_int_not_equal(store_run_start(f->st, "r0", "apply", &f->err), 0);
    mesh_err_clear(&f->err);
    assert_int_equal(store_run_end(f->st, "r0", "ok", &f->err), MESH_ENOTFOUND);  /* no run row either */
    mesh_err_clear(&f->err);
    assert_int_equal(fixture_sql(f->path, "DROP TRIGGER nosnap"), SQLITE_OK);

    assert_int_equal(store_run_start(f->st, "open", "apply", &f->err), 0);
    char run[32];
    for (int i = 1; i <= 12; i++) {
        snprintf(run, sizeof(run), "r%d", i);
        assert_int_equal(store_run_start(f->st, run, "apply", &f->err), 0);
        assert_int_equal(store_run_end(f->st, run, "ok", &f->err), 0);
    }
    struct vec rows = VEC_INIT;
    assert_int_equal(store_snapshot_rows(f->st, "open", &rows, &f->err), 0);  /* still running: kept */
    assert_int_equal(store_snapshot_rows(f->st, "r1", &rows, &f->err), MESH_ENOTFOUND);  /* pruned */
    mesh_err_clear(&f->err);
    assert_int_equal(store_snapshot_rows(f->st, "r3", &rows, &f->err), 0);
    vec_free_all(&rows, state_row_free);
}

static void test_journal_pending(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    struct { const char *run, *addr, *action, *phase; } steps[] = {
        {"r1", "null_resource.a", "create", "intent"},
        {"r1", "null_resource.a", "create", "ok"},
        {"r1", "null_resource.b", "create", "intent"},      /* cut off */
        {"r1", "null_resource.c", "delete", "intent"},
        {"r1", "null_resource.c", "delete", "failed"},
        {"r2", "null_resource.d", "update", "intent"},      /* another run */
        {"r1", "null_resource.d", "update", "intent"},      /* cut off */
        {"r1", "null_resource.a", "rollback-delete", "intent"},
        {"r1", "null_resource.b", "delete", "ok"},          /* another action: not a result for b */
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        assert_int_equal(store_journal(f->st, steps[i].run, steps[i].addr, steps[i].action, steps[i].phase,
                                       i == 2 ? "{\"token\":\"t-1\"}" : NULL, &f->err), 0);
    assert_int_equal(store_journal(f->st, "r1", "x", "create", "done", NULL, &f->err), MESH_EINVAL);
    mesh_err_clear(&f->err);

    struct vec pending = VEC_INIT;
    assert_int_equal(store_journal_pending(f->st, "r1", &pending, &f->err), 0);
    assert_int_equal(pending.len, 3);
    struct journal_entry *e = pending.items[0];
    assert_string_equal(e->address, "null_resource.b");
    assert_string_equal(e->action, "create");
    assert_string_equal(e->phase, "intent");
    assert_string_equal(e->detail, "{\"token\":\"t-1\"}");
    e = pending.items[1];
    assert_string_equal(e->address, "null_resource.d");
    assert_null(e->detail);
    e = pending.items[2];
    assert_string_equal(e->action, "rollback-delete");
    assert_true(((struct journal_entry *)pending.items[1])->seq < e->seq);
    vec_free_all(&pending, journal_entry_free);
}

static void put_of_run(struct fixture *f, const char *address, const char *run_id)
{
    struct state_row *r = state_row_new(address, "", "null_resource");
    json_object_set_new(r->outputs, "id", json_string(address));
    r->run_id = strdup(run_id);
    assert_int_equal(store_put(f->st, r, &f->err), 0);
    state_row_free(r);
}

/* A create committed but never finished by a run that ended, whose object is still the current
 * row of its address: unsettled. Not when it finished, when the run is running or ended ok, when
 * another run rewrote the row, or when the row is gone. */
static void test_unsettled_creates(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    const char *runs[] = {"failed-run", "ok-run", "open-run"};
    for (size_t i = 0; i < 3; i++) assert_int_equal(store_run_begin(f->st, runs[i], "apply", &f->err), 0);
    struct { const char *run, *addr, *action, *phase; } steps[] = {
        {"failed-run", "null_resource.waiting", "create", "intent"},
        {"failed-run", "null_resource.waiting", "create.committed", "ok"},
        {"failed-run", "null_resource.waiting", "create", "failed"},      /* its wait failed: unsettled */
        {"failed-run", "null_resource.ready", "create", "intent"},
        {"failed-run", "null_resource.ready", "create.committed", "ok"},
        {"failed-run", "null_resource.ready", "create", "ok"},            /* waited for: settled */
        {"failed-run", "null_resource.rewritten", "create.committed", "ok"},  /* row rewritten since */
        {"failed-run", "null_resource.gone", "create.committed", "ok"},   /* no row any more */
        {"failed-run", "null_resource.new", "replace.committed", "ok"},   /* a replacement's new half */
        {"ok-run", "null_resource.okrun", "create.committed", "ok"},      /* a run that ended ok */
        {"open-run", "null_resource.open", "create.committed", "ok"},     /* still running: recovery's */
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        assert_int_equal(store_journal(f->st, steps[i].run, steps[i].addr, steps[i].action, steps[i].phase, NULL,
                                       &f->err), 0);
    put_of_run(f, "null_resource.waiting", "failed-run");
    put_of_run(f, "null_resource.ready", "failed-run");
    put_of_run(f, "null_resource.rewritten", "ok-run");
    put_of_run(f, "null_resource.new", "failed-run");
    put_of_run(f, "null_resource.okrun", "ok-run");
    put_of_run(f, "null_resource.open", "open-run");
    assert_int_equal(store_run_end(f->st, "failed-run", "failed", &f->err), 0);
    assert_int_equal(store_run_end(f->st, "ok-run", "ok", &f->err), 0);

    struct vec u = VEC_INIT;
    assert_int_equal(store_unsettled(f->st, &u, &f->err), 0);
    assert_int_equal(u.len, 2);
    struct journal_entry *e = u.items[0];
    assert_string_equal(e->address, "null_resource.waiting");
    assert_string_equal(e->run_id, "failed-run");
    assert_string_equal(e->action, "create");
    e = u.items[1];
    assert_string_equal(e->address, "null_resource.new");
    assert_string_equal(e->action, "replace");
    vec_free_all(&u, journal_entry_free);

    /* recovery waited for it and answered the create in that run's journal: settled */
    assert_int_equal(store_journal(f->st, "failed-run", "null_resource.waiting", "create", "ok", "{\"settled\":true}",
                                   &f->err), 0);
    assert_int_equal(store_unsettled(f->st, &u, &f->err), 0);
    assert_int_equal(u.len, 1);
    assert_string_equal(((struct journal_entry *)u.items[0])->address, "null_resource.new");
    vec_free_all(&u, journal_entry_free);
}

/* Each run's start keeps the journal of the newest 3 runs and of every run that did not end ok. */
static void test_journal_kept_for_newest_runs(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    const char *runs[] = {"r1", "r2", "r3", "r4", "r5", "r6"};
    const char *ends[] = {"ok", "failed", "ok", "ok", "ok", NULL};   /* r6 still running */
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(store_run_start(f->st, runs[i], "apply", &f->err), 0);
        assert_int_equal(store_journal(f->st, runs[i], "null_resource.a", "create", "intent", NULL, &f->err), 0);
        if (ends[i]) {
            assert_int_equal(store_journal(f->st, runs[i], "null_resource.a", "create", "ok", NULL, &f->err), 0);
            assert_int_equal(store_run_end(f->st, runs[i], ends[i], &f->err), 0);
        }
    }
    /* r1, r3: ended ok, older than the newest 3 (r4, r5, r6); r2 failed: recovery may read it */
    const long long want[] = {0, 2, 0, 2, 2, 1};
    for (size_t i = 0; i < 6; i++) {
        char q[128];
        snprintf(q, sizeof(q), "SELECT count(*) FROM journal WHERE run_id = '%s'", runs[i]);
        if (fixture_sql_int(f->path, q) != want[i]) fail_msg("run %s: %lld journal rows, want %lld", runs[i],
                                                             fixture_sql_int(f->path, q), want[i]);
    }
    assert_int_equal(fixture_sql_int(f->path, "SELECT count(*) FROM runs"), 6);   /* the runs themselves stay */
}

static void test_runs_open_only_when_process_gone(void **state)
{
    struct fixture *f = *state;
    open_store(f);
    assert_int_equal(store_run_begin(f->st, "live", "apply", &f->err), 0);
    assert_int_equal(store_run_begin(f->st, "live", "apply", &f->err), MESH_ECONFLICT);
    mesh_err_clear(&f->err);
    assert_int_equal(store_run_begin(f->st, "done", "apply", &f->err), 0);
    assert_int_equal(store_run_end(f->st, "done", "ok", &f->err), 0);
    assert_int_equal(store_run_end(f->st, "done", "bogus", &f->err), MESH_EINVAL);
    mesh_err_clear(&f->err);
    assert_int_equal(store_run_end(f->st, "nope", "ok", &f->err), MESH_ENOTFOUND);
    mesh_err_clear(&f->err);

    /* a run of a process that exited */
    pid_t kid = fork();
    if (kid == 0) fixture_child_exit(0);
    waitpid(kid, NULL, 0);
    assert_int_equal(store_run_begin(f->st, "dead", "apply", &f->err), 0);
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE runs SET pid = %ld, pid_start = 0 WHERE run_id = 'dead'", (long)kid);
    assert_int_equal(fixture_sql(f->path, sql), SQLITE_OK);
    /* runs on another host: alive only while they hold an unexpired lease */
    assert_int_equal(fixture_sql(f->path,
        "INSERT INTO runs (run_id, command, pid, host, started, status) VALUES "
        "('remote-gone', 'apply', 1, 'elsewhere', 1, 'running'), "
        "('remote-live', 'apply', 1, 'elsewhere', 2, 'running');"
        "UPDATE lock SET run_id = 'remote-live', holder = 'u@elsewhere', host = 'elsewhere', pid = 1, "
        "command = 'apply', acquired = unixepoch(), expires = unixepoch() + 60 WHERE id = 1"), SQLITE_OK);

    struct vec runs = VEC_INIT;
    assert_int_equal(store_open_runs(f->st, &runs, &f->err), 0);
    assert_int_equal(runs.len, 2);
    assert_string_equal(runs.items[0], "remote-gone");
    assert_string_equal(runs.items[1], "dead");
    vec_free_all(&runs, free);

    /* once the remote lease expires, that run is open too */
    assert_int_equal(fixture_sql(f->path, "UPDATE lock SET expires = unixepoch() - 1"), SQLITE_OK);
    assert_int_equal(store_open_runs(f->st, &runs, &f->err), 0);
    assert_int_equal(runs.len, 3);
    vec_free_all(&runs, free);
}

/* 10,000 rows: group-committed puts with journal entries, then a timed load. */
static void test_many_rows(void **state)
{
    struct fixture *f = *state;
    int n = getenv("MESH_TEST_SMALL") || RUNNING_ON_VALGRIND ? 1000 : 10000;   /* valgrind: 20x slower */
    open_store(f);
    double t0 = fixture_now();
    char addr[64];
    for (int i = 0; i < n; i++) {
        if (i % 100 == 0) assert_int_equal(store_begin(f->st, &f->err), 0);
        snprintf(addr, sizeof(addr), "null_resource.r%05d", i);
        assert_int_equal(store_journal(f->st, "bench", addr, "create", "intent", NULL, &f->err), 0);
        struct state_row *r = row(addr, "", "{\"triggers\":{\"size\":\"3\"}}");
        assert_int_equal(store_put(f->st, r, &f->err), 0);
        state_row_free(r);
        assert_int_equal(store_journal(f->st, "bench", addr, "create", "ok", NULL, &f->err), 0);
        if (i % 100 == 99) assert_int_equal(store_commit(f->st, &f->err), 0);
    }
    double t1 = fixture_now();
    struct vec rows;
    load(f, &rows);
    double t2 = fixture_now();
    assert_int_equal(rows.len, (size_t)n);
    vec_free_all(&rows, state_row_free);
    assert_int_equal(store_serial(f->st), n / 100);
    fprintf(stderr, "# %d rows: put+journal %.3f s, load %.3f s\n", n, t1 - t0, t2 - t1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_private_files, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_lineage_and_rows, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_serial_bumps_only_on_change, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_put_load_delete, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_depose_and_undepose, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_and_rollback, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused_file_untouched, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_creation, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_rows_are_errors, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_migration_adds_checksums, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_migration_adds_connections, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_check_finds_damage, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sensitive_values_encrypted_at_rest, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_is_a_clear_error, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_ciphertext_moved_to_another_address_fails, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_snapshots_keep_ten_and_restore, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_run_start_is_one_transaction, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_journal_pending, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_journal_is_an_error, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unsettled_creates, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_journal_kept_for_newest_runs, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_runs_open_only_when_process_gone, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_many_rows, fixture_setup, fixture_teardown),
    };
    if (getenv("MESH_TEST_FILTER")) cmocka_set_test_filter(getenv("MESH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
