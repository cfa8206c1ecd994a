/* test_sync.c: team state (state/sync.h) over the in-memory remote of remote_mem.h, several
 * "machines" (cache files) in one process: what one applies another reads; the lease names its
 * holder and is taken over after a crash, with the dead run's intents open; an intent commits
 * only once its log is remote; a stale writer stops with the remote unchanged; push and pull;
 * damaged or foreign logs refused; secrets never in a blob; the key shared through the remote. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "remote_mem.h"
#include "store_fixture.h"
#include "sync.h"
#include "sync_int.h"

#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define CANARY "canary-s3cr3t-4711"
#define WHERE "mem://bucket/team.state"

struct world {
    struct fixture f;
    struct mem_world *w;
    struct remote ra, rb;
    char cache_a[400], cache_b[400];
};

static int world_setup_keys(void **state, int with_key)
{
    void *fx = NULL;
    if (fixture_setup(&fx)) return -1;
    struct world *t = calloc(1, sizeof(*t));
    t->f = *(struct fixture *)fx;
    free(fx);
    t->w = mem_world_new(with_key);
    mem_remote_open(t->w, "a", &t->ra);
    mem_remote_open(t->w, "b", &t->rb);
    snprintf(t->cache_a, sizeof(t->cache_a), "%s/a/.mesh/cache.db", t->f.dir);
    snprintf(t->cache_b, sizeof(t->cache_b), "%s/b/.mesh/cache.db", t->f.dir);
    setenv("MESH_REMOTE_TIMEOUT", "3", 1);
    *state = t;
    return 0;
}

static int world_setup(void **state) { return world_setup_keys(state, 1); }
static int world_setup_nokey(void **state) { return world_setup_keys(state, 0); }

static int world_teardown(void **state)
{
    struct world *t = *state;
    t->ra.ops->free(t->ra.be);
    t->rb.ops->free(t->rb.be);
    mem_world_free(t->w);
    struct fixture *f = calloc(1, sizeof(*f));
    *f = t->f;
    void *fx = f;
    fixture_teardown(&fx);
    unsetenv("MESH_REMOTE_TIMEOUT");
    free(t);
    return 0;
}

static struct store *open_remote(struct world *t, const char *cache, const struct remote *r, int create)
{
    struct store *st = NULL;
    mesh_err_init(&t->f.err);
    int rc = store_open_remote(cache, r, create, 0, &st, &t->f.err);
    if (rc) fprintf(stderr, "store_open_remote: %s\n", t->f.err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(st);
    return st;
}

static void ok(int rc, struct mesh_err *e, const char *what)
{
    if (rc) fprintf(stderr, "%s: %s\n", what, e->msg);
    assert_int_equal(rc, 0);
}

static void put_row(struct store *st, const char *address, const char *secret, struct mesh_err *e)
{
    struct state_row *r = state_row_new(address, "", "null_resource");
    json_object_set_new(r->inputs, "name", json_string(address));
    json_object_set_new(r->outputs, "id", json_string(address));
    if (secret) {
        json_object_set_new(r->inputs, "password", json_string(secret));
        json_array_append_new(r->sensitive, json_string("password"));
    }
    r->run_id = strdup("run-a");
    ok(store_put(st, r, e), e, "store_put");
    state_row_free(r);
}

static char *dump_rows(struct store *st, struct mesh_err *e)
{
    struct vec rows;
    vec_init(&rows);
    ok(store_load(st, &rows, e), e, "store_load");
    json_t *a = json_array();
    for (size_t i = 0; i < rows.len; i++) {
        struct state_row *r = rows.items[i];
        json_array_append_new(a, json_pack("{s:s,s:O,s:O,s:O}", "address", r->address, "inputs", r->inputs,
                                           "outputs", r->outputs, "sensitive", r->sensitive));
    }
    vec_free_all(&rows, state_row_free);
    char *s = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(a);
    return s;
}

/* The number of run's intents without a result in st's journal. */
static size_t pending_count(struct store *st, const char *run, struct mesh_err *e)
{
    struct vec pend;
    vec_init(&pend);
    ok(store_journal_pending(st, run, &pend, e), e, "pending");
    size_t n = pend.len;
    vec_free_all(&pend, journal_entry_free);
    return n;
}

/* A applies a run (rows, journal, end) from a new state. */
static struct store *machine_a_applies(struct world *t)
{
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    ok(store_run_start(a, "run-a", "apply", e), e, "run_start");
    ok(store_journal(a, "run-a", "null_resource.one", "create", "intent", NULL, e), e, "intent");
    put_row(a, "null_resource.one", NULL, e);
    ok(store_journal(a, "run-a", "null_resource.one", "create", "ok", NULL, e), e, "result");
    put_row(a, "null_resource.two", NULL, e);
    ok(store_run_end(a, "run-a", "ok", e), e, "run_end");
    return a;
}

static void test_two_machines_share_one_state(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *none = NULL;
    assert_int_equal(store_open_remote(t->cache_b, &t->rb, 0, 0, &none, e), 1);   /* nothing there yet */
    assert_null(none);

    struct store *a = machine_a_applies(t);
    assert_string_equal(store_where(a), WHERE);
    assert_ptr_equal(store_remote(a), &t->ra);
    ok(store_unlock(a, "run-a", e), e, "unlock a");
    assert_int_equal(mem_base_gen(t->w), 2);      /* created as 1, compacted into 2 */
    assert_int_equal(mem_log_count(t->w), 0);     /* generation 1's logs dropped */
    struct store_sync_stats ss;
    store_sync_stats(a, &ss);
    assert_int_equal(ss.base_puts, 2);
    assert_true(ss.log_puts >= 1);

    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    assert_string_equal(store_lineage(b), store_lineage(a));
    assert_int_equal(store_serial(b), store_serial(a));
    assert_true(store_serial(a) >= 2);
    char *ra = dump_rows(a, e), *rb = dump_rows(b, e);
    assert_string_equal(ra, rb);
    assert_non_null(strstr(rb, "null_resource.two"));
    free(ra);
    free(rb);
    struct stat sb;
    assert_int_equal(stat(t->cache_b, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    store_close(a);
    store_close(b);
}

static void test_results_reach_remote_within_2s(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    assert_int_equal(mem_log_count(t->w), 0);
    put_row(a, "null_resource.one", NULL, e);   /* no intent: does not wait */
    double t0 = fixture_now();
    while (mem_log_count(t->w) == 0 && fixture_now() - t0 < 2.0) fixture_sleep(0.05);
    assert_int_equal(mem_log_count(t->w), 1);
    assert_true(mem_has_log(t->w, 1, 1));
    /* B, opening while A runs, reads base and log */
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    char *rb = dump_rows(b, e);
    assert_non_null(strstr(rb, "null_resource.one"));
    free(rb);
    store_close(b);
    store_close(a);   /* releases: flushed and compacted */
    assert_int_equal(mem_base_gen(t->w), 2);
}

static void test_lock_refused_names_holder(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    assert_int_equal(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), MESH_ELOCKED);
    assert_non_null(strstr(e->msg, "state is locked by run run-a ("));
    char want[128];
    snprintf(want, sizeof(want), ", pid %ld, `mesh apply`, since 20", (long)getpid());
    assert_non_null(strstr(e->msg, want));
    assert_non_null(strstr(e->msg, "`mesh force-unlock run-a`"));
    assert_string_equal(e->where, WHERE);
    struct lock_info li;
    int held = 0;
    mesh_err_init(e);
    ok(store_lock_info(b, &li, &held, e), e, "lock_info");
    assert_int_equal(held, 1);
    assert_string_equal(li.run_id, "run-a");
    /* B cannot write without the lease */
    mesh_err_init(e);
    struct state_row *r = state_row_new("null_resource.b", "", "null_resource");
    assert_int_equal(store_put(b, r, e), MESH_ELOCKED);
    assert_non_null(strstr(e->msg, "needs its lease"));
    state_row_free(r);
    /* force-unlock of the wrong run names the holder; of the right one frees it */
    mesh_err_init(e);
    assert_int_equal(store_force_unlock(b, "run-x", e), MESH_ECONFLICT);
    assert_non_null(strstr(e->msg, "locked by run run-a"));
    ok(store_unlock(a, "run-a", e), e, "unlock a");
    ok(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), e, "lock b");
    store_close(a);
    store_close(b);
}

static void test_crash_then_takeover_sees_open_intents(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    put_row(a, "null_resource.zero", NULL, e);
    ok(store_unlock(a, "run-a", e), e, "unlock a");
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);   /* opened before A's next run */

    ok(store_lock(a, "run-a2", "apply", 0, NULL, NULL, e), e, "lock a again");
    long puts = mem_ops(t->w, "log_put");
    ok(store_run_start(a, "run-a2", "apply", e), e, "run_start");
    double t0 = fixture_now();   /* the writer's tick takes it */
    while (mem_ops(t->w, "log_put") == puts && fixture_now() - t0 < 3) fixture_sleep(0.02);
    ok(store_begin(a, e), e, "begin");   /* one dispatch: its intents in one transaction */
    ok(store_journal(a, "run-a2", "null_resource.one", "create", "intent", NULL, e), e, "intent 1");
    ok(store_journal(a, "run-a2", "null_resource.two", "create", "intent", NULL, e), e, "intent 2");
    long before = mem_ops(t->w, "log_put");
    ok(store_commit(a, e), e, "commit intents");
    assert_int_equal(mem_ops(t->w, "log_put"), before + 1);   /* both in one log, remote at return */
    sync_abandon(a);    /* killed: no flush, no compaction, no release */
    store_close(a);

    assert_int_equal(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), MESH_ELOCKED);   /* lease still live */
    mem_advance(t->w, 3600);
    mesh_err_init(e);
    struct lock_info old;
    int over = 0;
    ok(store_lock(b, "run-b", "apply", 0, &old, &over, e), e, "lock b after expiry");
    assert_int_equal(over, 1);
    assert_string_equal(old.run_id, "run-a2");
    struct vec runs;
    vec_init(&runs);
    ok(store_open_runs(b, &runs, e), e, "open_runs");
    assert_int_equal(runs.len, 1);
    assert_string_equal(runs.items[0], "run-a2");
    vec_free_all(&runs, free);
    struct vec pend;
    vec_init(&pend);
    ok(store_journal_pending(b, "run-a2", &pend, e), e, "pending");
    assert_int_equal(pend.len, 2);
    assert_string_equal(((struct journal_entry *)pend.items[0])->address, "null_resource.one");
    vec_free_all(&pend, journal_entry_free);
    struct snapshot_info si[4];
    int n = 0;
    ok(store_snapshot_list(b, si, 4, &n, e), e, "snapshots");
    assert_int_equal(n, 1);
    assert_string_equal(si[0].run_id, "run-a2");
    store_close(b);
}

static void test_intent_with_remote_failing(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    setenv("MESH_REMOTE_TIMEOUT", "1", 1);
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    ok(store_run_start(a, "run-a", "apply", e), e, "run_start");
    ok(store_journal(a, "run-a", "null_resource.one", "create", "intent", NULL, e), e, "intent");
    int logs = mem_log_count(t->w);

    /* a lost reply after the log landed: the retry finds it ours, the commit goes through */
    setenv("MESH_REMOTE_TIMEOUT", "5", 1);
    mem_fault(t->w, "log_put", 1, 1, MEM_LOST);
    ok(store_journal(a, "run-a", "null_resource.two", "create", "intent", NULL, e), e, "intent, reply lost");
    assert_int_equal(mem_log_count(t->w), logs + 1);

    /* unreachable: the commit fails after the bound, naming the remote; nothing half-written */
    setenv("MESH_REMOTE_TIMEOUT", "1", 1);
    mem_fault(t->w, "log_put", 1, -1, MEM_FAIL);
    assert_int_equal(store_journal(a, "run-a", "null_resource.three", "create", "intent", NULL, e), MESH_ERR);
    assert_non_null(strstr(e->msg, "the journal could not reach " WHERE));
    assert_non_null(strstr(e->msg, "no call was made"));
    assert_int_equal(mem_log_count(t->w), logs + 1);
    /* reachable again: the queue is kept and flushed at unlock */
    mem_fault_clear(t->w);
    mesh_err_init(e);
    ok(store_unlock(a, "run-a", e), e, "unlock");
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    assert_int_equal(pending_count(b, "run-a", e), 3);
    store_close(b);
    store_close(a);
}

/* A holds the lease and its first log is out; then its lease is taken and the new holder writes
 * the next log. Returns A's store. */
static struct store *taken_after_first_log(struct world *t, struct mesh_err *e)
{
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    ok(store_journal(a, "run-a", "x", "create", "intent", NULL, e), e, "intent");   /* log 1/1 */
    assert_true(mem_has_log(t->w, 1, 1));
    mem_set_lease(t->w, "run-x", "someone@elsewhere", 600);
    static const char other[] = "written by run-x";
    mem_put_raw_log(t->w, 1, 2, other, sizeof(other));
    return a;
}

/* A unlocks after its lease was force-unlocked and taken: it must not replace the base (that
 * would hide the new holder's log). */
static void test_unlock_fenced_after_takeover(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = taken_after_first_log(t, e);
    long long gen = mem_base_gen(t->w);
    mesh_err_init(e);
    assert_int_equal(store_unlock(a, "run-a", e), MESH_ECONFLICT);
    assert_non_null(e->msg[0] ? e->msg : NULL);
    assert_int_equal(mem_base_gen(t->w), gen);   /* not compacted */
    assert_true(mem_has_log(t->w, 1, 2));        /* the other's log is still read */
    store_close(a);
}

static void test_stale_writer_stops(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = taken_after_first_log(t, e);   /* log 1/2 written by the new holder */
    size_t blen = 0;
    unsigned char *base = mem_base_copy(t->w, &blen);

    assert_int_equal(store_journal(a, "run-a", "y", "create", "intent", NULL, e), MESH_ELOCKED);
    assert_non_null(strstr(e->msg, "log 1/2 of " WHERE " was written by another run"));
    mesh_err_init(e);
    struct state_row *r = state_row_new("null_resource.late", "", "null_resource");
    assert_int_equal(store_put(a, r, e), MESH_ELOCKED);   /* nothing more commits */
    state_row_free(r);
    mesh_err_init(e);
    assert_int_equal(store_lock_check(a, e), MESH_ELOCKED);
    mesh_err_init(e);
    assert_true(store_unlock(a, "run-a", e) != 0);
    /* the remote is as the other writer left it */
    size_t nlen = 0;
    unsigned char *now = mem_base_copy(t->w, &nlen);
    assert_int_equal(nlen, blen);
    assert_memory_equal(now, base, blen);
    assert_int_equal(mem_log_count(t->w), 2);
    assert_false(mem_has_log(t->w, 1, 3));
    free(base);
    free(now);
    store_close(a);
}

static void make_local(struct world *t, const char *path, const char *addr, int runs)
{
    struct mesh_err *e = &t->f.err;
    struct store *l = NULL;
    ok(store_open(path, &l, e), e, "open local");
    for (int i = 0; i < runs; i++) {
        char run[32];
        snprintf(run, sizeof(run), "run-l%d", i);
        ok(store_run_start(l, run, "apply", e), e, "run_start");
        ok(store_journal(l, run, addr, "create", "intent", NULL, e), e, "journal");
        put_row(l, addr, NULL, e);
        ok(store_run_end(l, run, "ok", e), e, "run_end");
    }
    store_close(l);
}

static void test_push_pull_round_trip(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    char local[400], back[400];
    snprintf(local, sizeof(local), "%s/local/state.db", t->f.dir);
    snprintf(back, sizeof(back), "%s/back/state.db", t->f.dir);
    make_local(t, local, "null_resource.pushed", 2);
    assert_int_equal(store_remote_pull(&t->ra, back, 0, e), MESH_ENOTFOUND);
    mesh_err_init(e);
    ok(store_remote_push(&t->ra, local, "run-push", 0, e), e, "push");
    ok(store_remote_pull(&t->rb, back, 0, e), e, "pull");
    assert_int_equal(store_remote_pull(&t->rb, back, 0, e), MESH_ECONFLICT);   /* exists */
    mesh_err_init(e);
    ok(store_remote_pull(&t->rb, back, 1, e), e, "pull --force");

    struct store *l = NULL, *p = NULL;
    ok(store_open(local, &l, e), e, "open local");
    ok(store_open(back, &p, e), e, "open pulled");
    assert_string_equal(store_lineage(l), store_lineage(p));
    assert_int_equal(store_serial(l), store_serial(p));
    char *rl = dump_rows(l, e), *rp = dump_rows(p, e);
    assert_string_equal(rl, rp);
    free(rl);
    free(rp);
    struct snapshot_info sl[4], sp[4];
    int nl = 0, np = 0;
    ok(store_snapshot_list(l, sl, 4, &nl, e), e, "snapshots");
    ok(store_snapshot_list(p, sp, 4, &np, e), e, "snapshots");
    assert_int_equal(nl, 2);
    assert_int_equal(np, 2);
    assert_string_equal(sl[0].run_id, sp[0].run_id);
    assert_int_equal(pending_count(p, "run-l1", e), 1);   /* the journal came along (that intent was never answered) */
    struct lock_info li;
    int held = 1;
    ok(store_lock_info(p, &li, &held, e), e, "lock info");
    assert_int_equal(held, 0);
    /* the remote opens as the same state; a push of the same state again is accepted */
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    assert_string_equal(store_lineage(b), store_lineage(l));
    store_close(b);
    ok(store_remote_push(&t->ra, local, "run-push2", 0, e), e, "push again");
    store_close(l);
    store_close(p);
}

static void test_push_other_lineage_refused(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    char one[400], two[400];
    snprintf(one, sizeof(one), "%s/one/state.db", t->f.dir);
    snprintf(two, sizeof(two), "%s/two/state.db", t->f.dir);
    make_local(t, one, "null_resource.one", 3);
    make_local(t, two, "null_resource.two", 1);
    ok(store_remote_push(&t->ra, one, "run-p1", 0, e), e, "push one");
    long long gen = mem_base_gen(t->w);
    assert_int_equal(store_remote_push(&t->ra, two, "run-p2", 0, e), MESH_ECONFLICT);
    assert_non_null(strstr(e->msg, "holds another state (lineage "));
    assert_non_null(strstr(e->msg, "--force"));
    assert_int_equal(mem_base_gen(t->w), gen);   /* unchanged */
    mesh_err_init(e);
    ok(store_remote_push(&t->ra, two, "run-p3", 1, e), e, "push --force");
    assert_int_equal(mem_base_gen(t->w), gen + 1);
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0), *l = NULL;
    ok(store_open(two, &l, e), e, "open two");
    assert_string_equal(store_lineage(b), store_lineage(l));
    store_close(l);
    store_close(b);
    /* the lease was released each time */
    struct store *a = open_remote(t, t->cache_a, &t->ra, 0);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock");
    store_close(a);
}

static void test_damaged_and_foreign_logs_refused(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    ok(store_journal(a, "run-a", "x", "create", "intent", NULL, e), e, "intent");   /* log 1/1 */
    static const char junk[] = "MESHLOG 1\nnot json\n";
    mem_put_raw_log(t->w, 1, 2, junk, sizeof(junk) - 1);
    struct store *b = NULL;
    assert_int_equal(store_open_remote(t->cache_b, &t->rb, 0, 0, &b, e), MESH_ERR);
    assert_null(b);
    assert_non_null(strstr(e->msg, "log 1/2 of " WHERE " is not a mesh state log"));

    char foreign[256];
    int n = snprintf(foreign, sizeof(foreign), "MESHLOG 1\n{\"lineage\":\"00000000-0000-4000-8000-000000000000\","
                     "\"gen\":1,\"seq\":2}\nxx");
    mem_put_raw_log(t->w, 1, 2, foreign, (size_t)n);
    mesh_err_init(e);
    assert_int_equal(store_open_remote(t->cache_b, &t->rb, 0, 0, &b, e), MESH_ERR);
    assert_non_null(strstr(e->msg, "belongs to another state"));
    assert_non_null(strstr(e->msg, "00000000-0000-4000-8000-000000000000"));

    /* a changeset that does not apply: log 1/1 again as 1/2 (its rows are there already) */
    struct remote_blob l1 = {0};
    mesh_err_init(e);
    ok(t->ra.ops->log_get(t->ra.be, 1, 1, &l1, e), e, "log_get");
    unsigned char *dup = malloc(l1.len);
    memcpy(dup, l1.data, l1.len);
    unsigned char *seq = memmem(dup, l1.len, "\"seq\":1,", 8);
    assert_non_null(seq);
    seq[6] = '2';   /* the same changes, numbered as the next log */
    mem_put_raw_log(t->w, 1, 2, dup, l1.len);
    remote_blob_release(&l1);
    free(dup);
    mesh_err_init(e);
    assert_int_equal(store_open_remote(t->cache_b, &t->rb, 0, 0, &b, e), MESH_ERR);
    assert_non_null(strstr(e->msg, "log 1/2 of " WHERE " does not apply"));
    sync_abandon(a);
    store_close(a);
}

static void test_secrets_never_plain_and_key_shared(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    put_row(a, "null_resource.db", CANARY, e);
    ok(store_journal(a, "run-a", "null_resource.db", "create", "intent", NULL, e), e, "intent");   /* a log now */
    assert_true(mem_log_count(t->w) >= 1);
    assert_false(mem_contains(t->w, CANARY, strlen(CANARY)));
    ok(store_unlock(a, "run-a", e), e, "unlock");
    assert_false(mem_contains(t->w, CANARY, strlen(CANARY)));
    assert_int_equal(mem_ops(t->w, "key_create"), 1);
    /* no key file anywhere: the key lives beside the state */
    char keys[400];
    snprintf(keys, sizeof(keys), "%s/config/mesh/keys", t->f.dir);
    assert_int_not_equal(access(keys, F_OK), 0);
    crypt_release();   /* B has only what the remote gives it */
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    char *rows = dump_rows(b, e);
    assert_non_null(strstr(rows, CANARY));
    free(rows);
    assert_true(mem_ops(t->w, "key_get") >= 1);
    store_close(b);
    store_close(a);

    /* pulled to a local file, with the key as its key file: readable there */
    crypt_release();
    char local[400], keyfile[480];
    snprintf(local, sizeof(local), "%s/local/state.db", t->f.dir);
    ok(store_remote_pull(&t->ra, local, 0, e), e, "pull");
    struct store *l = NULL;
    ok(store_open(local, &l, e), e, "open pulled");
    snprintf(keyfile, sizeof(keyfile), "%s/%s.key", keys, store_lineage(l));
    struct stat sb;
    assert_int_equal(stat(keyfile, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    rows = dump_rows(l, e);
    assert_non_null(strstr(rows, CANARY));
    free(rows);
    store_close(l);
    /* pushed back: its key is the remote's, so its secrets stay readable there */
    long long gen = mem_base_gen(t->w);
    ok(store_remote_push(&t->ra, local, "run-push", 1, e), e, "push back");
    assert_int_equal(mem_base_gen(t->w), gen + 1);
    /* a state of its own key (another lineage, MESH_STATE_KEY) would be unreadable there: refused */
    crypt_release();
    setenv("MESH_STATE_KEY", KEY1, 1);
    char other[400];
    snprintf(other, sizeof(other), "%s/other/state.db", t->f.dir);
    struct store *o = NULL;
    ok(store_open(other, &o, e), e, "open other");
    put_row(o, "null_resource.o", CANARY, e);
    store_close(o);
    mesh_err_init(e);
    assert_int_equal(store_remote_push(&t->ra, other, "run-push2", 1, e), MESH_ECONFLICT);
    assert_non_null(strstr(e->msg, "already keeps another key"));
    assert_int_equal(mem_base_gen(t->w), gen + 1);
    unsetenv("MESH_STATE_KEY");
    crypt_release();
}

static void test_without_key_ops_only_state_key(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    struct state_row *r = state_row_new("null_resource.db", "", "null_resource");
    json_object_set_new(r->inputs, "password", json_string(CANARY));
    json_array_append_new(r->sensitive, json_string("password"));
    assert_int_equal(store_put(a, r, e), MESH_EINVAL);
    assert_non_null(strstr(e->msg, "set MESH_STATE_KEY to the same key on every machine"));
    char keys[400];
    snprintf(keys, sizeof(keys), "%s/config/mesh/keys", t->f.dir);
    assert_int_not_equal(access(keys, F_OK), 0);   /* no key file made */
    setenv("MESH_STATE_KEY", KEY1, 1);
    mesh_err_init(e);
    ok(store_put(a, r, e), e, "put with MESH_STATE_KEY");
    state_row_free(r);
    ok(store_unlock(a, "run-a", e), e, "unlock");
    assert_false(mem_contains(t->w, CANARY, strlen(CANARY)));
    crypt_release();
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    char *rows = dump_rows(b, e);
    assert_non_null(strstr(rows, CANARY));
    free(rows);
    store_close(b);
    store_close(a);
    unsetenv("MESH_STATE_KEY");
}

static void test_two_machines_create_at_once(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    struct store *b = open_remote(t, t->cache_b, &t->rb, 1);
    assert_string_not_equal(store_lineage(a), store_lineage(b));
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    put_row(a, "null_resource.a", NULL, e);
    ok(store_unlock(a, "run-a", e), e, "unlock a");
    assert_int_equal(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), MESH_ECONFLICT);
    assert_non_null(strstr(e->msg, "another machine created this state first"));
    assert_non_null(strstr(e->msg, "run again"));
    struct lock_info li;
    int held = 1;
    mesh_err_init(e);
    ok(store_lock_info(b, &li, &held, e), e, "lock info");
    assert_int_equal(held, 0);   /* B let the lease go */
    store_close(b);
    /* run again: B now opens A's state */
    b = open_remote(t, t->cache_b, &t->rb, 1);
    assert_string_equal(store_lineage(a), store_lineage(b));
    store_close(b);
    store_close(a);
}

/* A opens a new state, writes one row in run-a, and lets the lease go (a generation of its own). */
static struct store *a_writes_one_row(struct world *t, const char *address)
{
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    put_row(a, address, NULL, e);
    ok(store_unlock(a, "run-a", e), e, "unlock a");
    return a;
}

static void test_lock_catches_up_with_new_base(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = a_writes_one_row(t, "null_resource.a");
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    ok(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), e, "lock b");
    put_row(b, "null_resource.b", NULL, e);
    ok(store_unlock(b, "run-b", e), e, "unlock b");   /* a new generation */
    ok(store_lock(a, "run-a2", "apply", 0, NULL, NULL, e), e, "lock a again");
    char *ra = dump_rows(a, e), *rb = dump_rows(b, e);
    assert_string_equal(ra, rb);
    assert_non_null(strstr(ra, "null_resource.b"));
    free(ra);
    free(rb);
    assert_int_equal(store_serial(a), store_serial(b));
    put_row(a, "null_resource.c", NULL, e);   /* and writes on from there */
    ok(store_unlock(a, "run-a2", e), e, "unlock a");
    store_close(a);
    store_close(b);
}

/* At lock, the base opened is not downloaded again when unchanged (a conditional read); a
 * compaction deletes the logs it folded in by key, without a listing. */
static void test_lock_rereads_base_only_when_changed(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = a_writes_one_row(t, "null_resource.a");
    store_close(a);
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    long gets = mem_ops(t->w, "base_get"), cond = mem_ops(t->w, "base_get_changed");
    ok(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), e, "lock b");
    assert_int_equal(mem_ops(t->w, "base_get"), gets);        /* not downloaded again */
    assert_int_equal(mem_ops(t->w, "base_get_changed"), cond + 1);
    put_row(b, "null_resource.b", NULL, e);
    long drops = mem_ops(t->w, "log_drop");
    ok(store_unlock(b, "run-b", e), e, "unlock b");
    assert_int_equal(mem_ops(t->w, "log_drop"), drops);       /* no listing */
    assert_true(mem_ops(t->w, "log_delete") >= 1);
    assert_int_equal(mem_log_count(t->w), 0);
    char *rows = dump_rows(b, e);
    assert_non_null(strstr(rows, "null_resource.a"));
    assert_non_null(strstr(rows, "null_resource.b"));
    free(rows);
    store_close(b);
}

/* A writing run's open takes the lease first and reads once: its lock then makes no request. A
 * dead run's logs are read even when force-unlock removed its record; the lease is refused while
 * another run holds it, and goes back when the store is closed without a lock. */
static void test_open_locked_reads_once(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = a_writes_one_row(t, "null_resource.a");
    store_close(a);
    const char *ops[] = {"lease_read", "lease_acquire", "lease_renew", "base_get", "base_get_changed", "log_get"};
    long before[6];
    for (int i = 0; i < 6; i++) before[i] = mem_ops(t->w, ops[i]);
    struct store *b = NULL;
    ok(store_open_remote_locked(t->cache_b, &t->rb, 0, 0, "run-b", "apply", 0, &b, e), e, "open locked b");
    struct lock_info old;
    int over = 1;
    ok(store_lock(b, "run-b", "apply", 0, &old, &over, e), e, "lock b");
    assert_int_equal(over, 0);
    const long want[] = {0, 1, 0, 1, 0, 1};   /* the lease, the base, the probe for a first log */
    for (int i = 0; i < 6; i++)
        if (mem_ops(t->w, ops[i]) - before[i] != want[i])
            fail_msg("%s: %ld calls, want %ld", ops[i], mem_ops(t->w, ops[i]) - before[i], want[i]);
    /* another machine is refused, naming b's run; nothing opened */
    struct store *c = NULL;
    assert_int_equal(store_open_remote_locked(t->cache_a, &t->ra, 0, 0, "run-c", "apply", 0, &c, e), MESH_ELOCKED);
    assert_null(c);
    assert_non_null(strstr(e->msg, "state is locked by run run-b ("));
    mesh_err_init(e);
    /* b dies with an intent on the remote; its record is force-unlocked (removed) */
    ok(store_run_start(b, "run-b", "apply", e), e, "run_start");
    ok(store_journal(b, "run-b", "null_resource.b", "create", "intent", NULL, e), e, "intent");
    sync_abandon(b);
    store_close(b);
    struct store *a2 = open_remote(t, t->cache_a, &t->ra, 0);
    ok(store_force_unlock(a2, "run-b", e), e, "force-unlock");
    assert_int_equal(store_force_unlock(a2, "run-b", e), MESH_ENOTFOUND);   /* once is enough */
    assert_non_null(strstr(e->msg, "not locked"));
    mesh_err_init(e);
    store_close(a2);
    /* a reader (a plan) sees the dead run's intent too: force-unlock left an expired record */
    a2 = open_remote(t, t->cache_a, &t->ra, 0);
    assert_int_equal(pending_count(a2, "run-b", e), 1);
    store_close(a2);
    ok(store_open_remote_locked(t->cache_a, &t->ra, 0, 0, "run-c", "apply", 0, &c, e), e, "open locked c");
    ok(store_lock(c, "run-c", "apply", 0, &old, &over, e), e, "lock c");
    assert_int_equal(over, 1);   /* the force-unlock's record, taken over */
    assert_string_equal(old.run_id, "run-b/force-unlocked");
    assert_int_equal(pending_count(c, "run-b", e), 1);   /* the dead run's intent, from its log */
    ok(store_unlock(c, "run-c", e), e, "unlock c");
    store_close(c);
    /* opened to write, closed without a lock: the lease is free again */
    ok(store_open_remote_locked(t->cache_a, &t->ra, 0, 0, "run-d", "apply", 0, &c, e), e, "open locked d");
    store_close(c);
    ok(store_open_remote_locked(t->cache_b, &t->rb, 0, 0, "run-e", "apply", 0, &c, e), e, "open locked e");
    store_close(c);
}

/* A log is applied only onto a state in its own schema: one written by a newer mesh is refused
 * with "upgrade mesh", before anything is applied. */
static void test_log_of_newer_mesh_refused(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    ok(store_journal(a, "run-a", "x", "create", "intent", NULL, e), e, "intent");   /* log 1/1 */
    struct remote_blob l1 = {0};
    ok(t->ra.ops->log_get(t->ra.be, 1, 1, &l1, e), e, "log_get");
    assert_non_null(memmem(l1.data, l1.len, "\"schema\":", 9));   /* the writer names its schema */
    char head[200];
    int n = snprintf(head, sizeof(head), "MESHLOG 1\n{\"lineage\":\"%s\",\"gen\":1,\"seq\":2,\"schema\":%d}\n",
                     store_lineage(a), STORE_SCHEMA_VERSION + 1);
    const unsigned char *nl = memchr(l1.data, '\n', l1.len);
    nl = memchr(nl + 1, '\n', l1.len - (size_t)(nl + 1 - l1.data));   /* the header's end */
    size_t body = l1.len - (size_t)(nl + 1 - l1.data);
    unsigned char *newer = malloc((size_t)n + body);
    memcpy(newer, head, (size_t)n);
    memcpy(newer + n, nl + 1, body);
    mem_put_raw_log(t->w, 1, 2, newer, (size_t)n + body);
    free(newer);
    remote_blob_release(&l1);
    struct store *b = NULL;
    mesh_err_init(e);
    assert_int_equal(store_open_remote(t->cache_b, &t->rb, 0, 0, &b, e), MESH_ECONFLICT);
    assert_null(b);
    assert_non_null(strstr(e->msg, "was written by a newer mesh"));
    assert_non_null(strstr(e->msg, "upgrade mesh on this machine"));
    sync_abandon(a);
    store_close(a);
}

/* A base in an older schema (written by an older mesh) is migrated by the machine that opens it
 * and written anew at lock, before its logs: another machine then reads base and logs in one
 * schema. */
static void test_older_base_rewritten_at_lock(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = a_writes_one_row(t, "null_resource.old");
    /* the base as a mesh of schema 3 would have written it: no connection column */
    size_t len = 0;
    unsigned char *blob = mem_base_copy(t->w, &len);
    assert_non_null(blob);
    struct sync_header h;
    const unsigned char *img = NULL;
    size_t n = 0;
    ok(sync_parse(blob, len, 0, "base", &h, &img, &n, e), e, "parse base");
    sqlite3 *db = NULL;
    unsigned char *copy = sqlite3_malloc64(n);
    memcpy(copy, img, n);
    copy[18] = copy[19] = 1;
    sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL);
    assert_int_equal(sqlite3_deserialize(db, "main", copy, (sqlite3_int64)n, (sqlite3_int64)n,
                                         SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_RESIZEABLE), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "ALTER TABLE resources DROP COLUMN connection; "
                                      "UPDATE meta SET value = 3 WHERE key = 'schema_version'", NULL, NULL, NULL), SQLITE_OK);
    size_t olen = 0;
    unsigned char *old = sync_image_blob(db, &h, &olen, "base", e);
    assert_non_null(old);
    sqlite3_close(db);
    struct remote_blob cur = {0};
    ok(t->ra.ops->base_get(t->ra.be, &cur, e), e, "base_get");
    char etag[REMOTE_ETAG_MAX];
    ok(t->ra.ops->base_put(t->ra.be, old, olen, cur.etag, etag, e), e, "put the old-schema base");
    remote_blob_release(&cur);
    free(old);
    free(blob);
    store_close(a);
    long long gen = mem_base_gen(t->w);

    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);   /* migrates its copy */
    ok(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), e, "lock b");
    assert_int_equal(mem_base_gen(t->w), gen + 1);           /* written anew, in this schema */
    put_row(b, "null_resource.new", NULL, e);
    ok(store_journal(b, "run-b", "x", "create", "intent", NULL, e), e, "intent");   /* a log, now */
    assert_true(mem_has_log(t->w, gen + 1, 1));
    struct store *c = open_remote(t, t->cache_a, &t->ra, 0);   /* base and logs, one schema */
    char *rows = dump_rows(c, e);
    assert_non_null(strstr(rows, "null_resource.old"));
    assert_non_null(strstr(rows, "null_resource.new"));
    free(rows);
    store_close(c);
    ok(store_unlock(b, "run-b", e), e, "unlock b");
    store_close(b);
}

static void test_failed_compaction_keeps_logs(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    put_row(a, "null_resource.kept", NULL, e);
    mem_fault(t->w, "base_put", 1, 1, MEM_FAIL);
    assert_int_equal(store_unlock(a, "run-a", e), MESH_ERR);
    assert_non_null(strstr(e->msg, "is complete, but could not be compacted"));
    assert_non_null(strstr(e->msg, "logs were kept"));
    assert_int_equal(mem_base_gen(t->w), 1);
    assert_true(mem_has_log(t->w, 1, 1));
    struct lock_info li;
    int held = 0;
    mesh_err_init(e);
    ok(store_lock_info(a, &li, &held, e), e, "lock info");
    /* left expired, not released: its record tells readers there are logs to read */
    assert_int_equal(held, 1);
    assert_true(li.expires < (long long)time(NULL) + 1);
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    char *rows = dump_rows(b, e);
    assert_non_null(strstr(rows, "null_resource.kept"));
    free(rows);
    ok(store_lock(b, "run-b", "apply", 0, NULL, NULL, e), e, "lock b");
    ok(store_unlock(b, "run-b", e), e, "unlock b: compacts what A could not");
    assert_int_equal(mem_base_gen(t->w), 2);
    assert_int_equal(mem_log_count(t->w), 0);
    store_close(b);
    store_close(a);
}

/* One run of `machine` on its open store: lock, run_start (the snapshot), rows, end, unlock. */
static void one_run(struct store *st, const char *run, int rows, const char *drop, struct mesh_err *e)
{
    ok(store_lock(st, run, "apply", 0, NULL, NULL, e), e, "lock");
    ok(store_run_start(st, run, "apply", e), e, "run_start");
    for (int i = 0; i < rows; i++) {
        char addr[64];
        snprintf(addr, sizeof(addr), "null_resource.%s-%02d", run, i);
        put_row(st, addr, i == 0 ? CANARY : NULL, e);
    }
    if (drop) ok(store_delete(st, drop, "", e), e, "delete");
    ok(store_run_end(st, run, "ok", e), e, "run_end");
    ok(store_unlock(st, run, e), e, "unlock");
}

/* How many snapshot rows of st's cache are references to objects beside the base. */
static int snapshot_refs(struct store *st)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, "SELECT count(*) FROM snapshots WHERE rows LIKE '{\"object\":%'",
                                        -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

static size_t snapshot_size(struct store *st, const char *run, struct mesh_err *e, int expect_rc)
{
    struct vec rows;
    vec_init(&rows);
    int rc = store_snapshot_rows(st, run, &rows, e);
    assert_int_equal(rc, expect_rc);
    size_t n = rows.len;
    vec_free_all(&rows, state_row_free);
    return n;
}

/* Snapshots leave the base at compaction, each as an object written once: the base shrinks, other
 * machines read and restore them through the object (its hash checked), a pull brings them back
 * inline, a failed upload keeps the logs, and objects no base refers to are swept. */
static void test_snapshots_beside_the_base(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    one_run(a, "run-1", 40, NULL, e);                 /* its snapshot: the empty state, kept inline */
    assert_int_equal(mem_snap_count(t->w), 0);
    size_t len1 = 0;
    free(mem_base_copy(t->w, &len1));
    one_run(a, "run-2", 0, "null_resource.run-1-05", e);   /* its snapshot: 40 rows, moved out */
    assert_int_equal(mem_snap_count(t->w), 1);
    assert_int_equal(snapshot_refs(a), 1);
    struct store_sync_stats ss;
    store_sync_stats(a, &ss);
    assert_int_equal(ss.snap_puts, 1);
    one_run(a, "run-3", 0, "null_resource.run-1-06", e);
    assert_int_equal(mem_snap_count(t->w), 2);        /* run-2's is not written again */
    assert_int_equal(mem_ops(t->w, "snap_put"), 2);
    assert_false(mem_contains(t->w, CANARY, strlen(CANARY)));   /* encrypted there as in the base */

    /* B reads run-2's snapshot through its object (one GET), and restores it */
    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    assert_int_equal(snapshot_refs(b), 2);
    long gets = mem_ops(t->w, "snap_get");
    assert_int_equal(snapshot_size(b, "run-2", e, 0), 40);
    assert_int_equal(mem_ops(t->w, "snap_get"), gets + 1);
    assert_int_equal(snapshot_size(b, "run-1", e, 0), 0);   /* inline: no request */
    assert_int_equal(mem_ops(t->w, "snap_get"), gets + 1);
    ok(store_lock(b, "run-b", "state restore", 0, NULL, NULL, e), e, "lock b");
    ok(store_snapshot_restore(b, 2, e), e, "restore run-2's snapshot");   /* 1: run-3's */
    char *rows = dump_rows(b, e);
    assert_non_null(strstr(rows, "null_resource.run-1-05"));
    assert_non_null(strstr(rows, CANARY));            /* decrypted here */
    free(rows);
    ok(store_unlock(b, "run-b", e), e, "unlock b");

    /* a pull stands alone: every snapshot inline, readable with no remote */
    char pulled[400];
    snprintf(pulled, sizeof(pulled), "%s/pulled/state.db", t->f.dir);
    ok(store_remote_pull(&t->rb, pulled, 0, e), e, "pull");
    struct store *p = NULL;
    ok(store_open(pulled, &p, e), e, "open pulled");
    assert_int_equal(snapshot_refs(p), 0);
    gets = mem_ops(t->w, "snap_get");
    assert_int_equal(snapshot_size(p, "run-2", e, 0), 40);
    assert_int_equal(mem_ops(t->w, "snap_get"), gets);
    store_close(p);

    /* damaged, then missing: a clear error, nothing read */
    mem_snap_damage(t->w, 0);
    mesh_err_init(e);
    snapshot_size(b, "run-2", e, MESH_ERR);
    assert_non_null(strstr(e->msg, "damaged"));
    mem_snap_damage(t->w, 1);
    mesh_err_init(e);
    snapshot_size(b, "run-2", e, MESH_ENOTFOUND);
    assert_non_null(strstr(e->msg, "is missing beside the state"));
    assert_string_equal(e->where, WHERE);
    store_close(b);
    store_close(a);
}

/* A snapshot object that cannot be written fails the compaction before the base names it: the
 * logs stay, and the next run (another machine) compacts with the object. Objects no base names
 * any more (trimmed after 10 runs) are swept with the logs. */
static void test_snapshot_upload_failure_and_sweep(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    one_run(a, "run-1", 40, NULL, e);
    ok(store_lock(a, "run-2", "apply", 0, NULL, NULL, e), e, "lock");
    ok(store_run_start(a, "run-2", "apply", e), e, "run_start");
    ok(store_run_end(a, "run-2", "ok", e), e, "run_end");
    long long gen = mem_base_gen(t->w);
    mem_fault(t->w, "snap_put", 1, -1, MEM_FAIL);
    assert_int_equal(store_unlock(a, "run-2", e), MESH_ERR);
    assert_non_null(strstr(e->msg, "writing a snapshot beside it"));
    assert_non_null(strstr(e->msg, "logs were kept"));
    assert_int_equal(mem_base_gen(t->w), gen);
    assert_int_equal(mem_snap_count(t->w), 0);
    mem_fault_clear(t->w);
    store_close(a);

    struct store *b = open_remote(t, t->cache_b, &t->rb, 0);
    assert_int_equal(snapshot_size(b, "run-2", e, 0), 40);   /* inline, from the logs */
    one_run(b, "run-b1", 0, NULL, e);
    assert_int_equal(mem_base_gen(t->w), gen + 1);
    assert_true(mem_snap_count(t->w) >= 1);
    /* 20 more runs, each changing the state: 10 snapshots kept, the rest swept */
    for (int i = 0; i < 20; i++) {
        char run[32];
        snprintf(run, sizeof(run), "run-c%02d", i);
        one_run(b, run, 1, NULL, e);
    }
    assert_true(mem_ops(t->w, "snap_list") >= 1);
    assert_true(mem_snap_count(t->w) <= 10 + 16);
    assert_true(mem_snap_count(t->w) < 20);
    struct snapshot_info info[12];
    int n = 0;
    ok(store_snapshot_list(b, info, 12, &n, e), e, "list");
    assert_int_equal(n, 10);
    for (int i = 0; i < n; i++) assert_true(snapshot_size(b, info[i].run_id, e, 0) >= 40);
    store_close(b);
}

static void test_heartbeat_renews_and_notices_loss(void **state)
{
    struct world *t = *state;
    struct mesh_err *e = &t->f.err;
    setenv("MESH_LOCK_TTL", "1.5", 1);
    struct store *a = open_remote(t, t->cache_a, &t->ra, 1);
    ok(store_lock(a, "run-a", "apply", 0, NULL, NULL, e), e, "lock a");
    fixture_sleep(2.2);   /* past the first lease: renewed meanwhile */
    assert_true(mem_ops(t->w, "lease_renew") >= 2);
    put_row(a, "null_resource.late", NULL, e);
    ok(store_lock_check(a, e), e, "lock_check");
    /* taken over behind its back: the next renewal tells, commits stop, the holder is named */
    mem_set_lease(t->w, "run-x", "someone@elsewhere", 600);
    double t0 = fixture_now();
    while (store_lock_check(a, e) == 0 && fixture_now() - t0 < 3) fixture_sleep(0.05);
    assert_int_equal(e->code, MESH_ELOCKED);
    assert_non_null(strstr(e->msg, "run run-a lost the lease on " WHERE));
    assert_non_null(strstr(e->msg, "run run-x (someone@elsewhere"));
    mesh_err_init(e);
    struct state_row *r = state_row_new("null_resource.after", "", "null_resource");
    assert_int_equal(store_put(a, r, e), MESH_ELOCKED);
    state_row_free(r);
    mesh_err_init(e);
    assert_int_equal(store_unlock(a, "run-a", e), MESH_ECONFLICT);
    assert_int_equal(mem_base_gen(t->w), 1);   /* no compaction by a run that lost its lease */
    store_close(a);
    unsetenv("MESH_LOCK_TTL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_machines_share_one_state, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_results_reach_remote_within_2s, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_lock_refused_names_holder, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_crash_then_takeover_sees_open_intents, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_intent_with_remote_failing, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_stale_writer_stops, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_unlock_fenced_after_takeover, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_push_pull_round_trip, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_push_other_lineage_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_and_foreign_logs_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_secrets_never_plain_and_key_shared, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_without_key_ops_only_state_key, world_setup_nokey, world_teardown),
        cmocka_unit_test_setup_teardown(test_two_machines_create_at_once, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_lock_catches_up_with_new_base, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_open_locked_reads_once, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_lock_rereads_base_only_when_changed, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_log_of_newer_mesh_refused, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_older_base_rewritten_at_lock, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_failed_compaction_keeps_logs, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_renews_and_notices_loss, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_snapshots_beside_the_base, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_upload_failure_and_sweep, world_setup, world_teardown),
    };
    if (getenv("MESH_TEST_FILTER")) cmocka_set_test_filter(getenv("MESH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
