/* proc.h: running a child program for a provider (an exec credential plugin, helm): fork/exec
 * with stdin from /dev/null, stdout kept up to a cap, the end of stderr kept for messages, the
 * descriptors of mesh closed at exec, and a time limit. With PROC_GUARD the child also dies with
 * mesh (PR_SET_PDEATHSIG SIGKILL), runs in its own process group (a terminal's Ctrl-C reaches
 * mesh, which decides), and the whole group is stopped (SIGTERM, then SIGKILL after the grace
 * period) when the deadline passes or *cancel is set. */
#ifndef MESH_PROC_H
#define MESH_PROC_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/strbuf.h"

enum { PROC_GUARD = 1 << 0 };

/* How a run ended (struct proc_result.how). */
enum proc_how { PROC_EXITED, PROC_TIMEOUT, PROC_TOO_MUCH, PROC_CANCELED, PROC_NOT_RUN };

struct proc_spec {
    const char *path;            /* a '/' in it: that file; else looked up in PATH */
    char *const *argv;           /* argv[0] included; NULL-terminated */
    char *const *env;            /* the child's whole environment */
    const char *cwd;             /* NULL: mesh's */
    double deadline;             /* monotonic seconds (mesh_now_mono); 0: none */
    volatile sig_atomic_t *cancel;  /* may be NULL */
    double grace;                /* seconds between SIGTERM and SIGKILL (PROC_GUARD) */
    size_t out_max;              /* stdout beyond it: the child is stopped (PROC_TOO_MUCH) */
    size_t err_keep;             /* the last bytes of stderr kept */
    int flags;
    /* Called in mesh right after the fork (the child's pid: with PROC_GUARD also its process
     * group); may be NULL. */
    void (*started)(pid_t pid, void *ctx);
    void *started_ctx;
};

struct proc_result {
    enum proc_how how;
    int status;                  /* waitpid's, when the child ran */
    int exec_errno;              /* non-zero: it could not be run (how = PROC_NOT_RUN) */
    struct strbuf out, err;      /* initialised by proc_run; release with proc_result_release */
};

/* Runs the child to its end (or until stopped). -1 only when it could not be started (pipes,
 * fork); a child that ran and failed returns 0 with r saying how. */
int proc_run(const struct proc_spec *s, struct proc_result *r);
/* Wipes stdout (it may hold a credential) and frees both buffers. */
void proc_result_release(struct proc_result *r);
/* 1 when it exited with status 0. */
int proc_ok(const struct proc_result *r);
/* "failed with exit status 1", "was killed by signal 9", "did not finish within the time
 * limit", ... into buf. */
const char *proc_describe(const struct proc_result *r, char *buf, size_t n);
/* The end of stderr (at most n-1 bytes of its last 400), trimmed, on one line. */
void proc_stderr_tail(const struct proc_result *r, char *tail, size_t n);

#endif
