/* fault.c: deterministic and random driver-call faults for tests (see fault.h). */
#include "fault.h"

#include <pthread.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "base/xalloc.h"


enum fault_kind { F_FAIL, F_CRASH, F_CRASH_AFTER, F_FAIL_PROB, F_DELAY, F_STATS };

struct fault {
    enum fault_kind kind;
    long call;          /* F_FAIL, F_CRASH, F_CRASH_AFTER */
    double prob;        /* F_FAIL_PROB */
    unsigned seed;
    char type[64];      /* F_DELAY: "" = every type */
    long ms;
    char file[512];     /* F_STATS */
    char address[256];  /* F_FAIL: instead of call=N, every call on this address ... */
    char op[16];        /* ... of this operation ("" = any) */
};

static struct fault faults[16];
static int nfaults;
static atomic_long call_counter;
static pthread_mutex_t rng_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned rng_state;

/* F_STATS: calls in flight per operation, and the most seen at once (the proof that independent
 * calls overlap, without timing: rollback_parallel.sh). Rewritten to the file at each new high. */
static const char *const stat_ops[] = {"create", "wait", "find", "read", "update", "delete"};
#define NSTAT_OPS (sizeof(stat_ops) / sizeof(stat_ops[0]))
static atomic_int stat_inflight[NSTAT_OPS];
static int stat_max[NSTAT_OPS];  /* under stat_mu */
static long stat_calls;            /* under stat_mu */
static pthread_mutex_t stat_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *stat_file;    /* faults[i].file of the stats entry, or NULL */

static int stat_op(const char *op)
{
    for (size_t i = 0; i < NSTAT_OPS; i++)
        if (strcmp(stat_ops[i], op) == 0) return (int)i;
    return -1;
}

/* The file is rewritten at each call: "calls N" (the driver calls so far) is how a test learns
 * how many calls a run makes, to inject a fault at each of them (tests/reliability/faults.sh). */
static void stat_begin(const char *op, long n)
{
    int i = stat_file ? stat_op(op) : -1;
    if (i < 0) return;
    int now = atomic_fetch_add(&stat_inflight[i], 1) + 1;
    pthread_mutex_lock(&stat_mu);
    if (now > stat_max[i]) stat_max[i] = now;
    FILE *f = fopen(stat_file, "w");
    if (f) {
        for (size_t k = 0; k < NSTAT_OPS; k++) fprintf(f, "%s %d\n", stat_ops[k], stat_max[k]);
        fprintf(f, "calls %ld\n", n > stat_calls ? (stat_calls = n) : stat_calls);
        fclose(f);
    }
    pthread_mutex_unlock(&stat_mu);
}

static void stat_end(const char *op)
{
    int i = stat_file ? stat_op(op) : -1;
    if (i >= 0) atomic_fetch_sub(&stat_inflight[i], 1);
}

static int fault_parse_one(char *tok, struct fault *f, struct mesh_err *err)
{
    memset(f, 0, sizeof(*f));
    char *save = NULL, *kind = strtok_r(tok, ":", &save);
    if (!kind) return mesh_err_set(err, MESH_EINVAL, "MESH_FAULTS", "empty fault");
    if (strcmp(kind, "fail") == 0) f->kind = F_FAIL;
    else if (strcmp(kind, "crash") == 0) f->kind = F_CRASH;
    else if (strcmp(kind, "crash-after") == 0) f->kind = F_CRASH_AFTER;
    else if (strcmp(kind, "delay") == 0) f->kind = F_DELAY;
    else if (strcmp(kind, "stats") == 0) f->kind = F_STATS;
    else return mesh_err_set(err, MESH_EINVAL, "MESH_FAULTS", "unknown fault '%s' (fail, crash, crash-after, delay, stats)", kind);
    int have_call = 0;
    for (char *kv = strtok_r(NULL, ":", &save); kv; kv = strtok_r(NULL, ":", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) return mesh_err_set(err, MESH_EINVAL, "MESH_FAULTS", "expected key=value, got '%s'", kv);
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(kv, "call") == 0) f->call = atol(v), have_call = 1;
        else if (strcmp(kv, "prob") == 0) f->prob = atof(v), f->kind = f->kind == F_FAIL ? F_FAIL_PROB : f->kind;
        else if (strcmp(kv, "seed") == 0) f->seed = (unsigned)atol(v);
        else if (strcmp(kv, "type") == 0) snprintf(f->type, sizeof(f->type), "%s", v);
        else if (strcmp(kv, "ms") == 0) f->ms = atol(v);
        else if (strcmp(kv, "file") == 0) snprintf(f->file, sizeof(f->file), "%s", v);
        else if (strcmp(kv, "address") == 0) snprintf(f->address, sizeof(f->address), "%s", v);
        else if (strcmp(kv, "op") == 0) snprintf(f->op, sizeof(f->op), "%s", v);
        else return mesh_err_set(err, MESH_EINVAL, "MESH_FAULTS", "unknown fault parameter '%s'", kv);
    }
    if ((f->kind == F_FAIL || f->kind == F_CRASH || f->kind == F_CRASH_AFTER) && (!have_call || f->call < 1) &&
        !(f->kind == F_FAIL && f->address[0]))
        return mesh_err_set(err, MESH_EINVAL, "MESH_FAULTS", "%s needs call=N (N >= 1)%s", kind,
                            f->kind == F_FAIL ? " or address=ADDRESS" : "");
    if (f->kind == F_STATS && !f->file[0]) return mesh_err_set(err, MESH_EINVAL, "MESH_FAULTS", "stats needs file=PATH");
    return 0;
}

int fault_init(const char *spec, struct mesh_err *err)
{
    nfaults = 0;
    stat_file = NULL;
    stat_calls = 0;
    atomic_store(&call_counter, 0);
    if (!spec || !*spec) return 0;
    char *copy = xstrdup(spec), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        if (nfaults == (int)(sizeof(faults) / sizeof(faults[0]))) {
            rc = mesh_err_set(err, MESH_EINVAL, "MESH_FAULTS", "too many faults");
            break;
        }
        rc = fault_parse_one(tok, &faults[nfaults], err);
        if (!rc) {
            if (faults[nfaults].kind == F_FAIL_PROB) rng_state = faults[nfaults].seed ? faults[nfaults].seed : 1;
            if (faults[nfaults].kind == F_STATS) stat_file = faults[nfaults].file;
            nfaults++;
        }
    }
    free(copy);
    return rc;
}

void fault_release(void)
{
    nfaults = 0;
    stat_file = NULL;
}
int fault_enabled(void) { return nfaults > 0; }

static double fault_random(void)
{
    pthread_mutex_lock(&rng_mu);
    double r = (double)rand_r(&rng_state) / ((double)RAND_MAX + 1.0);
    pthread_mutex_unlock(&rng_mu);
    return r;
}

/* A slow API call: it runs to its end even after Ctrl-C, as a real one in flight would. */
static void fault_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int fault_before(const char *type, const char *address, const char *op, long *seq, struct mesh_err *err)
{
    long n = atomic_fetch_add(&call_counter, 1) + 1;
    *seq = n;
    stat_begin(op, n);  /* the delay below counts as the call's time */
    for (int i = 0; i < nfaults; i++) {
        struct fault *f = &faults[i];
        switch (f->kind) {
        case F_DELAY:
            if (!f->type[0] || strcmp(f->type, type) == 0) fault_sleep_ms(f->ms);
            break;
        case F_CRASH:
            if (n == f->call) {
                fprintf(stderr, "mesh: injected crash before call %ld (%s %s)\n", n, op, address);
                fflush(stderr);
                kill(getpid(), SIGKILL);
            }
            break;
        case F_FAIL:
            if (f->address[0] ? strcmp(f->address, address) == 0 && (!f->op[0] || strcmp(f->op, op) == 0)
                              : n == f->call) {
                stat_end(op);
                return mesh_err_set(err, MESH_ERR, address, "%s failed: injected fault (call %ld)", op, n);
            }
            break;
        case F_FAIL_PROB:
            if (fault_random() < f->prob) {
                stat_end(op);
                return mesh_err_set(err, MESH_ERR, address, "%s failed: injected random fault (call %ld)", op, n);
            }
            break;
        case F_CRASH_AFTER:
        case F_STATS:
            break;
        }
    }
    return 0;
}

void fault_after(long seq, const char *op)
{
    stat_end(op);
    for (int i = 0; i < nfaults; i++) {
        if (faults[i].kind == F_CRASH_AFTER && faults[i].call == seq) {
            fprintf(stderr, "mesh: injected crash after call %ld\n", seq);
            fflush(stderr);
            kill(getpid(), SIGKILL);
        }
    }
}
