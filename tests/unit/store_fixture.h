/* store_fixture.h: what the state-store unit tests share: a temporary directory per test with
 * its own HOME and XDG_CONFIG_HOME (so no real user key is touched), the state path inside it,
 * and small helpers to read raw files and to edit the database behind the store's back. */
#ifndef MESH_STORE_FIXTURE_H
#define MESH_STORE_FIXTURE_H

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

struct fixture {
    char dir[256];
    char path[320];     /* DIR/.mesh/state.db (not created) */
    struct store *st;
    struct mesh_err err;
};

static inline int fixture_rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

static inline int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/mesh-store-test-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    char buf[400];
    snprintf(buf, sizeof(buf), "%s/home", f->dir);
    mkdir(buf, 0700);
    setenv("HOME", buf, 1);
    snprintf(buf, sizeof(buf), "%s/config", f->dir);
    setenv("XDG_CONFIG_HOME", buf, 1);
    unsetenv("MESH_STATE_KEY");
    unsetenv("MESH_LOCK_TTL");
    snprintf(f->path, sizeof(f->path), "%s/.mesh/state.db", f->dir);
    mesh_err_init(&f->err);
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    crypt_release();
    nftw(f->dir, fixture_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* The whole file (NUL-terminated; *len its size), or NULL. */
static inline char *fixture_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    buf[got] = 0;
    if (len) *len = got;
    return buf;
}

static inline int fixture_file_contains(const char *path, const char *needle)
{
    size_t len = 0;
    char *buf = fixture_slurp(path, &len);
    if (!buf) return 0;
    int found = memmem(buf, len, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

/* Runs SQL on the state file through a separate connection (to fake other processes). */
static inline int fixture_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    sqlite3_close(db);
    return rc;
}

/* The first column of the first row of a query on the state file (-1 when it fails). */
static inline long long fixture_sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static inline double fixture_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void fixture_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Ends a forked child without running leak checks on the parent's heap it inherited (valgrind
 * checks at exit, not at exec): the exit status comes from a shell. */
static inline void fixture_child_exit(int code)
{
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "exit %d", code);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(code);
}

/* Same pid, then kill -9: what a crashed run looks like (the exec also keeps valgrind quiet). */
static inline void fixture_child_kill9(void)
{
    execl("/bin/sh", "sh", "-c", "kill -9 $$", (char *)NULL);
    raise(SIGKILL);
}

#endif
