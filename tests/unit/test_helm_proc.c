/* test_helm_proc.c: providers/proc.c, the runner of helm and exec plugins: output kept and
 * capped, the end of stderr kept, a missing program, the deadline, cancel (SIGTERM to the whole
 * process group first, SIGKILL after the grace period for a child that ignores it), and
 * PR_SET_PDEATHSIG (the child's parent death signal is SIGKILL, read back from /proc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/duration.h"
#include "proc.h"

extern char **environ;

static int sh(const char *script, double timeout, volatile sig_atomic_t *cancel, int flags, size_t out_max,
              struct proc_result *r)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    struct proc_spec s = {.path = "/bin/sh", .argv = argv, .env = environ, .deadline = mesh_now_mono() + timeout,
                          .cancel = cancel, .grace = 0.5, .out_max = out_max, .err_keep = 64, .flags = flags};
    return proc_run(&s, r);
}

static void test_output(void **state)
{
    (void)state;
    struct proc_result r;
    assert_int_equal(sh("echo out; echo err >&2; exit 0", 10, NULL, PROC_GUARD, 1024, &r), 0);
    assert_true(proc_ok(&r));
    assert_string_equal(r.out.buf, "out\n");
    assert_string_equal(r.err.buf, "err\n");
    proc_result_release(&r);
    assert_int_equal(sh("head -c 5000 /dev/zero; exit 0", 10, NULL, 0, 1000, &r), 0);
    assert_int_equal(r.how, PROC_TOO_MUCH);
    assert_false(proc_ok(&r));
    proc_result_release(&r);
    /* stderr: its end is kept */
    assert_int_equal(sh("for i in $(seq 1 200); do echo line$i >&2; done; exit 3", 10, NULL, 0, 1024, &r), 0);
    assert_false(proc_ok(&r));
    char tail[600], why[128];
    proc_stderr_tail(&r, tail, sizeof(tail));
    assert_non_null(strstr(tail, "line200"));
    assert_null(strstr(tail, "line1 "));
    assert_string_equal(proc_describe(&r, why, sizeof(why)), "failed with exit status 3");
    proc_result_release(&r);
}

static void test_not_found(void **state)
{
    (void)state;
    char *argv[] = {"nope", NULL};
    struct proc_spec s = {.path = "/no/such/helm", .argv = argv, .env = environ, .out_max = 10, .flags = PROC_GUARD};
    struct proc_result r;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_int_equal(r.how, PROC_NOT_RUN);
    char why[128];
    assert_non_null(strstr(proc_describe(&r, why, sizeof(why)), "No such file"));
    proc_result_release(&r);
}

static void test_deadline(void **state)
{
    (void)state;
    struct proc_result r;
    double t0 = mesh_now_mono();
    assert_int_equal(sh("sleep 30", 0.3, NULL, PROC_GUARD, 1024, &r), 0);
    assert_int_equal(r.how, PROC_TIMEOUT);
    assert_true(mesh_now_mono() - t0 < 5);
    proc_result_release(&r);
}

static volatile sig_atomic_t cancel_flag;

static void *set_cancel(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    cancel_flag = 1;
    return NULL;
}

/* The child and a grandchild both ignore SIGTERM: both are killed (the group) after the grace. */
static void test_cancel_term_then_kill(void **state)
{
    (void)state;
    char pidfile[] = "/tmp/mesh-proc-test-XXXXXX";
    int fd = mkstemp(pidfile);
    assert_true(fd >= 0);
    close(fd);
    char script[400];
    snprintf(script, sizeof(script),
             "trap '' TERM; (trap '' TERM; echo $$ >/dev/null; sh -c 'echo $PPID' >/dev/null; sleep 30) & echo $! >%s; "
             "echo started; sleep 30", pidfile);
    cancel_flag = 0;
    pthread_t t;
    pthread_create(&t, NULL, set_cancel, NULL);
    struct proc_result r;
    double t0 = mesh_now_mono();
    assert_int_equal(sh(script, 30, &cancel_flag, PROC_GUARD, 1024, &r), 0);
    double took = mesh_now_mono() - t0;
    pthread_join(t, NULL);
    assert_int_equal(r.how, PROC_CANCELED);
    assert_true(took >= 0.7 && took < 5);  /* 0.3 s, then the 0.5 s grace */
    assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL);
    FILE *f = fopen(pidfile, "r");
    long gc = 0;
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &gc), 1);
    fclose(f);
    unlink(pidfile);
    usleep(200 * 1000);
    /* the grandchild went with the group: gone, or a zombie its new parent has not reaped yet */
    char path[64], stat[256] = "";
    snprintf(path, sizeof(path), "/proc/%ld/stat", gc);
    f = fopen(path, "r");
    if (f) {
        assert_non_null(fgets(stat, sizeof(stat), f));
        fclose(f);
        const char *paren = strrchr(stat, ')');
        assert_non_null(paren);
        assert_int_equal(paren[2], 'Z');
    }
    proc_result_release(&r);
}

/* A child that exits on SIGTERM is not waited for beyond it. */
static void test_cancel_term(void **state)
{
    (void)state;
    cancel_flag = 0;
    pthread_t t;
    pthread_create(&t, NULL, set_cancel, NULL);
    struct proc_result r;
    assert_int_equal(sh("sleep 30", 30, &cancel_flag, PROC_GUARD, 1024, &r), 0);
    pthread_join(t, NULL);
    assert_int_equal(r.how, PROC_CANCELED);
    assert_true(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM);
    proc_result_release(&r);
}

/* /proc/PID/status has no parent death signal line; the child reads its own from prctl through
 * a tiny probe: python3 is what the harness has. */
static void test_pdeathsig(void **state)
{
    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0) skip();
    char *argv[] = {"python3", "-c",
                    "import ctypes,os; l=ctypes.CDLL(None); s=ctypes.c_int(); l.prctl(2, ctypes.byref(s)); "
                    "print(s.value, os.getpgrp() == os.getpid())",
                    NULL};
    struct proc_spec s = {.path = "/usr/bin/python3", .argv = argv, .env = environ,
                          .deadline = mesh_now_mono() + 30, .out_max = 1024, .flags = PROC_GUARD};
    struct proc_result r;
    assert_int_equal(proc_run(&s, &r), 0);
    assert_true(proc_ok(&r));
    assert_string_equal(r.out.buf, "9 True\n");  /* SIGKILL, and its own process group */
    proc_result_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_cancel_term_then_kill),
        cmocka_unit_test(test_cancel_term),
        cmocka_unit_test(test_pdeathsig),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
