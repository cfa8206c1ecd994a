/* test_lock.c: the lock lease: a second holder is refused with the holder named, a dead holder
 * or an expired lease is taken over, waiting with a timeout, the heartbeat, force-unlock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "store_fixture.h"

static struct store *open_one(struct fixture *f)
{
    struct store *st = NULL;
    int rc = store_open(f->path, &st, &f->err);
    if (rc) fprintf(stderr, "store_open: %s\n", f->err.msg);
    assert_int_equal(rc, 0);
    return st;
}

static void test_second_holder_refused_naming_holder(void **state)
{
    struct fixture *f = *state;
    f->st = open_one(f);
    struct store *b = open_one(f);
    int over = -1;
    assert_int_equal(store_lock(f->st, "run-a", "apply", 0, NULL, &over, &f->err), 0);
    assert_int_equal(over, 0);
    assert_int_equal(store_lock(b, "run-b", "apply", 0, NULL, NULL, &f->err), MESH_ELOCKED);
    char want[256];
    snprintf(want, sizeof(want), "state is locked by run run-a (");
    assert_non_null(strstr(f->err.msg, want));
    snprintf(want, sizeof(want), ", pid %ld, `mesh apply`, since 20", (long)getpid());
    assert_non_null(strstr(f->err.msg, want));
    assert_non_null(strstr(f->err.msg, " UTC); wait for it, use --lock-timeout, or `mesh force-unlock run-a` "
                                       "if that run is gone"));
    assert_string_equal(f->err.where, f->path);

    struct lock_info li;
    int held = 0;
    mesh_err_clear(&f->err);
    assert_int_equal(store_lock_info(b, &li, &held, &f->err), 0);
    assert_int_equal(held, 1);
    assert_string_equal(li.run_id, "run-a");
    assert_string_equal(li.command, "apply");
    assert_int_equal(li.pid, getpid());
    assert_non_null(strchr(li.holder, '@'));
    assert_true(li.expires >= li.acquired + 29);

    /* the holder may take it again (renewal); after unlock the other one gets it */
    assert_int_equal(store_lock(f->st, "run-a", "apply", 0, NULL, NULL, &f->err), 0);
    assert_int_equal(store_unlock(f->st, "run-a", &f->err), 0);
    assert_int_equal(store_lock_info(b, &li, &held, &f->err), 0);
    assert_int_equal(held, 0);
    assert_int_equal(store_lock(b, "run-b", "destroy", 0, NULL, &over, &f->err), 0);
    assert_int_equal(over, 0);
    assert_int_equal(store_unlock(f->st, "run-a", &f->err), MESH_ECONFLICT);   /* not ours any more */
    mesh_err_clear(&f->err);
    store_close(b);    /* releases run-b's lease */
    assert_int_equal(store_lock_info(f->st, &li, &held, &f->err), 0);
    assert_int_equal(held, 0);
}

/* A child process that takes the lock as RUN_ID and is killed (-9) while holding it: no unlock,
 * no close. The caller reaps it (or, for a zombie, does not). */
static pid_t fork_holder_killed(struct fixture *f, const char *run_id)
{
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        struct store *st = NULL;
        struct mesh_err e;
        mesh_err_init(&e);
        int rc = store_open(f->path, &st, &e);
        if (rc == 0) rc = store_lock(st, run_id, "apply", 0, NULL, NULL, &e);
        if (rc) fixture_child_exit(1);
        fixture_child_kill9();
    }
    return kid;
}

static void test_dead_holder_taken_over(void **state)
{
    struct fixture *f = *state;
    pid_t kid = fork_holder_killed(f, "run-dead");
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    f->st = open_one(f);
    struct lock_info li, old;
    int held = 0, over = 0;
    assert_int_equal(store_lock_info(f->st, &li, &held, &f->err), 0);
    assert_int_equal(held, 1);
    assert_string_equal(li.run_id, "run-dead");
    assert_int_equal(li.pid, kid);
    assert_int_equal(store_lock(f->st, "run-new", "apply", 0, &old, &over, &f->err), 0);
    assert_int_equal(over, 1);
    assert_string_equal(old.run_id, "run-dead");
    assert_int_equal(old.pid, kid);
    assert_int_equal(store_lock_info(f->st, &li, &held, &f->err), 0);
    assert_string_equal(li.run_id, "run-new");
    assert_int_equal(store_unlock(f->st, "run-new", &f->err), 0);
}

/* Killed but not yet reaped by its parent (a zombie): kill(pid, 0) still finds it, yet it is
 * gone, and its lease is taken over at once rather than when it expires. */
static void test_zombie_holder_taken_over(void **state)
{
    struct fixture *f = *state;
    pid_t kid = fork_holder_killed(f, "run-zombie");
    siginfo_t si;
    assert_int_equal(waitid(P_PID, (id_t)kid, &si, WEXITED | WNOWAIT), 0);   /* dead, not reaped */
    assert_int_equal(kill(kid, 0), 0);
    f->st = open_one(f);
    struct lock_info old;
    int over = 0;
    double t0 = fixture_now();
    assert_int_equal(store_lock(f->st, "run-new", "apply", 0, &old, &over, &f->err), 0);
    assert_true(fixture_now() - t0 < 1);
    assert_int_equal(over, 1);
    assert_string_equal(old.run_id, "run-zombie");
    assert_int_equal(waitpid(kid, NULL, 0), kid);
    assert_int_equal(store_unlock(f->st, "run-new", &f->err), 0);
}

static void test_expired_lease_taken_over(void **state)
{
    struct fixture *f = *state;
    f->st = open_one(f);
    /* another host, not expired: it is alive as far as we can tell */
    assert_int_equal(fixture_sql(f->path,
        "UPDATE lock SET run_id = 'run-far', holder = 'ops@far', host = 'far-away-host', pid = 4242, "
        "pid_start = 0, command = 'destroy', acquired = 1700000000, expires = unixepoch() + 60"), SQLITE_OK);
    assert_int_equal(store_lock(f->st, "run-me", "apply", 0, NULL, NULL, &f->err), MESH_ELOCKED);
    assert_non_null(strstr(f->err.msg, "run run-far (ops@far, pid 4242, `mesh destroy`, since "
                                       "2023-11-14 22:13:20 UTC)"));
    mesh_err_clear(&f->err);
    /* expired */
    assert_int_equal(fixture_sql(f->path, "UPDATE lock SET expires = unixepoch() - 1"), SQLITE_OK);
    struct lock_info old;
    int over = 0;
    assert_int_equal(store_lock(f->st, "run-me", "apply", 0, &old, &over, &f->err), 0);
    assert_int_equal(over, 1);
    assert_string_equal(old.run_id, "run-far");
    assert_string_equal(old.host, "far-away-host");
    assert_int_equal(store_unlock(f->st, "run-me", &f->err), 0);
}

static void test_wait_succeeds_when_released(void **state)
{
    struct fixture *f = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        close(fds[0]);
        struct store *st = NULL;
        struct mesh_err e;
        mesh_err_init(&e);
        int rc = store_open(f->path, &st, &e);
        if (rc == 0) rc = store_lock(st, "run-first", "apply", 0, NULL, NULL, &e);
        char c = rc ? 'x' : 'k';
        if (write(fds[1], &c, 1) != 1) fixture_child_exit(2);
        fixture_sleep(0.6);
        if (rc == 0) rc = store_unlock(st, "run-first", &e);
        store_close(st);
        fixture_child_exit(rc ? 1 : 0);
    }
    close(fds[1]);
    char c = 0;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    assert_int_equal(c, 'k');
    f->st = open_one(f);
    double t0 = fixture_now();
    assert_int_equal(store_lock(f->st, "run-second", "apply", 0.2, NULL, NULL, &f->err), MESH_ELOCKED);
    assert_true(fixture_now() - t0 >= 0.2);
    mesh_err_clear(&f->err);
    int over = -1;
    assert_int_equal(store_lock(f->st, "run-second", "apply", 10, NULL, &over, &f->err), 0);
    assert_int_equal(over, 0);     /* released, not taken over */
    assert_true(fixture_now() - t0 >= 0.4);
    assert_true(fixture_now() - t0 < 5);
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(store_unlock(f->st, "run-second", &f->err), 0);
}

static void test_heartbeat_renews(void **state)
{
    struct fixture *f = *state;
    setenv("MESH_LOCK_TTL", "0.6", 1);
    f->st = open_one(f);
    struct store *b = open_one(f);
    assert_int_equal(store_lock(f->st, "run-a", "apply", 0, NULL, NULL, &f->err), 0);
    fixture_sleep(1.5);     /* without renewals the lease would have expired twice over */
    assert_int_equal(store_lock_check(f->st, &f->err), 0);
    assert_int_equal(store_lock(b, "run-b", "apply", 0, NULL, NULL, &f->err), MESH_ELOCKED);
    mesh_err_clear(&f->err);
    assert_int_equal(store_unlock(f->st, "run-a", &f->err), 0);
    assert_int_equal(store_lock(b, "run-b", "apply", 0, NULL, NULL, &f->err), 0);
    store_close(b);
}

static void test_force_unlock(void **state)
{
    struct fixture *f = *state;
    setenv("MESH_LOCK_TTL", "0.3", 1);
    f->st = open_one(f);
    struct store *b = open_one(f);
    assert_int_equal(store_force_unlock(b, "run-a", &f->err), MESH_ENOTFOUND);
    assert_non_null(strstr(f->err.msg, "not locked"));
    mesh_err_clear(&f->err);
    assert_int_equal(store_lock(f->st, "run-a", "apply", 0, NULL, NULL, &f->err), 0);
    assert_int_equal(store_force_unlock(b, "run-other", &f->err), MESH_ECONFLICT);
    assert_non_null(strstr(f->err.msg, "locked by run run-a ("));
    assert_non_null(strstr(f->err.msg, "not by run run-other"));
    mesh_err_clear(&f->err);
    assert_int_equal(store_force_unlock(b, "run-a", &f->err), 0);
    struct lock_info li;
    int held = 1;
    assert_int_equal(store_lock_info(b, &li, &held, &f->err), 0);
    assert_int_equal(held, 0);
    /* the old holder's heartbeat notices and stops claiming it */
    fixture_sleep(0.4);
    assert_int_equal(store_lock_check(f->st, &f->err), MESH_ELOCKED);
    assert_non_null(strstr(f->err.msg, "lost the state lock"));
    mesh_err_clear(&f->err);
    assert_int_equal(store_lock_info(b, &li, &held, &f->err), 0);
    assert_int_equal(held, 0);
    assert_int_equal(store_unlock(f->st, "run-a", &f->err), MESH_ECONFLICT);
    mesh_err_clear(&f->err);
    store_close(b);
}

/* 20 processes contend for one state: each waits for the lease, then does a read-modify-write
 * of a counter row with a marker file proving nobody else is inside. */
static int contender(struct fixture *f, int i)
{
    struct store *st = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    char run[32], marker[400];
    snprintf(run, sizeof(run), "run-%02d", i);
    snprintf(marker, sizeof(marker), "%s/inside", f->dir);
    int rc = store_open(f->path, &st, &e);
    if (rc == 0) rc = store_lock(st, run, "apply", 120, NULL, NULL, &e);
    if (rc == 0) {
        int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd < 0) rc = 90;    /* someone else holds the lease too */
        struct vec rows = VEC_INIT;
        long long n = 0;
        if (rc == 0) rc = store_load(st, &rows, &e);
        if (rc == 0 && rows.len == 1)
            n = json_integer_value(json_object_get(((struct state_row *)rows.items[0])->outputs, "n"));
        vec_free_all(&rows, state_row_free);
        fixture_sleep(0.01);
        struct state_row *r = state_row_new("null_resource.counter", "", "null_resource");
        json_object_set_new(r->outputs, "n", json_integer(n + 1));
        if (rc == 0) rc = store_put(st, r, &e);
        state_row_free(r);
        if (fd >= 0) {
            close(fd);
            unlink(marker);
        }
        int urc = store_unlock(st, run, &e);
        if (rc == 0) rc = urc;
    }
    if (rc && rc != 90) fprintf(stderr, "contender %d: %s\n", i, e.msg);
    store_close(st);
    return rc ? 1 : 0;
}

static void test_twenty_processes_one_at_a_time(void **state)
{
    struct fixture *f = *state;
    enum { N = 20 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) fixture_child_exit(contender(f, i));
    }
    for (int i = 0; i < N; i++) {
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    f->st = open_one(f);
    struct vec rows = VEC_INIT;
    assert_int_equal(store_load(f->st, &rows, &f->err), 0);
    assert_int_equal(rows.len, 1);
    assert_int_equal(json_integer_value(json_object_get(((struct state_row *)rows.items[0])->outputs, "n")), N);
    vec_free_all(&rows, state_row_free);
    assert_int_equal(store_serial(f->st), N);
    struct lock_info li;
    int held = 1;
    assert_int_equal(store_lock_info(f->st, &li, &held, &f->err), 0);
    assert_int_equal(held, 0);
}

static void test_lock_misuse(void **state)
{
    struct fixture *f = *state;
    f->st = open_one(f);
    assert_int_equal(store_lock(f->st, "", "apply", 0, NULL, NULL, &f->err), MESH_EINVAL);
    mesh_err_clear(&f->err);
    assert_int_equal(store_begin(f->st, &f->err), 0);
    assert_int_equal(store_lock(f->st, "r", "apply", 0, NULL, NULL, &f->err), MESH_EINVAL);
    mesh_err_clear(&f->err);
    assert_int_equal(store_rollback(f->st), 0);
    assert_int_equal(store_lock(f->st, "r1", "apply", 0, NULL, NULL, &f->err), 0);
    assert_int_equal(store_lock(f->st, "r2", "apply", 0, NULL, NULL, &f->err), MESH_EINVAL);
    mesh_err_clear(&f->err);
    /* closing without unlocking releases the lease */
}

/* A holder suspended past its lease (SIGSTOP) is taken over; once resumed, every write and
 * store_lock_check refuse with the loss named, and the taker sees its run as cut off. */
static void test_lost_lease_stops_writes(void **state)
{
    struct fixture *f = *state;
    setenv("MESH_LOCK_TTL", "0.5", 1);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        close(fds[0]);
        struct store *st = NULL;
        struct mesh_err e;
        mesh_err_init(&e);
        int rc = store_open(f->path, &st, &e);
        if (rc == 0) rc = store_lock(st, "run-a", "apply", 0, NULL, NULL, &e);
        if (rc == 0) rc = store_run_begin(st, "run-a", "apply", &e);
        char c = rc ? 'x' : 'k';
        if (write(fds[1], &c, 1) != 1 || rc) fixture_child_exit(10);
        raise(SIGSTOP);
        /* resumed after run-b took the lease over */
        int bad = 0;
        struct state_row *r = state_row_new("null_resource.late", "", "null_resource");
        mesh_err_clear(&e);
        if (store_put(st, r, &e) != MESH_ELOCKED || !strstr(e.msg, "run run-a lost the state lock")) bad |= 1;
        if (!strstr(e.msg, "run run-b (")) bad |= 2;      /* names who holds it now */
        state_row_free(r);
        mesh_err_clear(&e);
        if (store_journal(st, "run-a", "x", "create", "intent", NULL, &e) != MESH_ELOCKED) bad |= 4;
        mesh_err_clear(&e);
        if (store_lock_check(st, &e) != MESH_ELOCKED || !strstr(e.msg, "lost the state lock")) bad |= 8;
        store_close(st);
        fixture_child_exit(bad);
    }
    close(fds[1]);
    char c = 0;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    assert_int_equal(c, 'k');
    int status = 0;
    assert_int_equal(waitpid(kid, &status, WUNTRACED), kid);
    assert_true(WIFSTOPPED(status));
    fixture_sleep(0.8);     /* its lease runs out while it is stopped */
    f->st = open_one(f);
    struct lock_info old;
    int over = 0;
    assert_int_equal(store_lock(f->st, "run-b", "apply", 0, &old, &over, &f->err), 0);
    assert_int_equal(over, 1);
    assert_string_equal(old.run_id, "run-a");
    /* its process lives on, stopped, but it lost the lease: its run is cut off */
    struct vec runs = VEC_INIT;
    assert_int_equal(store_open_runs(f->st, &runs, &f->err), 0);
    assert_int_equal(runs.len, 1);
    assert_string_equal(runs.items[0], "run-a");
    vec_free_all(&runs, free);
    assert_int_equal(kill(kid, SIGCONT), 0);
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    struct vec rows = VEC_INIT;
    assert_int_equal(store_load(f->st, &rows, &f->err), 0);
    assert_int_equal(rows.len, 0);    /* nothing of the late put */
    vec_release(&rows);
    assert_int_equal(store_lock_check(f->st, &f->err), 0);
    assert_int_equal(store_unlock(f->st, "run-b", &f->err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_holder_refused_naming_holder, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_dead_holder_taken_over, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_zombie_holder_taken_over, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_expired_lease_taken_over, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_wait_succeeds_when_released, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_renews, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_force_unlock, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_twenty_processes_one_at_a_time, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_lock_misuse, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_lost_lease_stops_writes, fixture_setup, fixture_teardown),
    };
    if (getenv("MESH_TEST_FILTER")) cmocka_set_test_filter(getenv("MESH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
