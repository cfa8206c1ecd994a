/* proc.c: one child program, run to its end or stopped (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/duration.h"
#include "base/wipe.h"

#define TICK_MS 100   /* how often *cancel is looked at while the child runs */

static int open_pipes(int out[2], int err[2], int ep[2], int *null)
{
    out[0] = out[1] = err[0] = err[1] = ep[0] = ep[1] = -1;
    *null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (*null >= 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0 && pipe2(ep, O_CLOEXEC) == 0) return 0;
    int fds[7] = {*null, out[0], out[1], err[0], err[1], ep[0], ep[1]};
    for (int i = 0; i < 7; i++)
        if (fds[i] >= 0) close(fds[i]);
    return -1;
}

/* In the child of a (threaded) parent: only async-signal-safe calls until exec. */
static void child(const struct proc_spec *s, pid_t parent, int null, int out, int err, int ep)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (s->flags & PROC_GUARD) {
        setpgid(0, 0);
        /* Dies with the thread that forked it: the driver call waits for it, so that is mesh. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(126);  /* mesh died before the line above */
    }
    int en = 0;
    if (s->cwd && chdir(s->cwd) != 0) en = errno;
    if (!en) {
        dup2(null, 0);
        dup2(out, 1);
        dup2(err, 2);
        /* mesh's other descriptors (the state database, sockets) are not the child's: closed at
         * exec (the error pipe stays usable until then). Older kernels: best effort. */
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (strchr(s->path, '/')) execve(s->path, s->argv, s->env);
        else execvpe(s->path, s->argv, s->env);
        en = errno;
    }
    ssize_t w = write(ep, &en, sizeof(en));
    (void)w;
    _exit(127);
}

static void keep_tail(struct strbuf *b, size_t keep)
{
    if (keep && b->len > 2 * keep) {  /* the reason is usually last */
        memmove(b->buf, b->buf + b->len - keep, keep);
        b->len = keep;
        b->buf[keep] = '\0';
    }
}

static void signal_child(const struct proc_spec *s, pid_t pid, int sig)
{
    if (s->flags & PROC_GUARD) kill(-pid, sig);
    else kill(pid, sig);
}

/* Reads both pipes until they close, stopping the child when told to. */
static void collect(const struct proc_spec *s, pid_t pid, int fo, int fe, struct proc_result *r)
{
    struct pollfd fds[2] = {{fo, POLLIN, 0}, {fe, POLLIN, 0}};
    int open_fds = 2, exited = 0;
    double kill_at = 0;
    char buf[8192];
    while (open_fds > 0) {
        double now = mesh_now_mono();
        if (r->how == PROC_EXITED) {
            if (s->cancel && *s->cancel) r->how = PROC_CANCELED;
            else if (s->deadline > 0 && now >= s->deadline) r->how = PROC_TIMEOUT;
            if (r->how != PROC_EXITED) {
                int guard = s->flags & PROC_GUARD;
                signal_child(s, pid, guard ? SIGTERM : SIGKILL);
                kill_at = now + (guard ? s->grace : 0);
            }
        }
        if (kill_at > 0 && now >= kill_at) {
            signal_child(s, pid, SIGKILL);
            kill_at = -1;
        }
        if (!exited && (s->flags & PROC_GUARD)) {
            /* a grandchild may hold the pipes open after the child ended: the group goes with it */
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                exited = 1;
                r->status = st;
                kill(-pid, SIGKILL);
            }
        }
        int rc = poll(fds, 2, TICK_MS);
        if (rc < 0 && errno != EINTR) break;
        for (int i = 0; rc > 0 && i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(fds[i].fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            if (i == 1) {
                strbuf_add(&r->err, buf, (size_t)n);
                keep_tail(&r->err, s->err_keep);
            } else if (r->out.len + (size_t)n > s->out_max) {
                if (r->how == PROC_EXITED) {
                    r->how = PROC_TOO_MUCH;
                    signal_child(s, pid, SIGKILL);
                }
            } else {
                strbuf_add(&r->out, buf, (size_t)n);
            }
        }
    }
    memset(buf, 0, sizeof(buf));
    if (!exited) {
        while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR) {}
        if (s->flags & PROC_GUARD) kill(-pid, SIGKILL);
    }
}

int proc_run(const struct proc_spec *s, struct proc_result *r)
{
    memset(r, 0, sizeof(*r));
    strbuf_init(&r->out);
    strbuf_init(&r->err);
    strbuf_grow(&r->out, 65536);  /* no realloc leaving a copy of a usual-sized credential behind */
    int out[2], err[2], ep[2], null;
    if (open_pipes(out, err, ep, &null)) {
        r->how = PROC_NOT_RUN;
        r->exec_errno = errno ? errno : EMFILE;
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) child(s, parent, null, out[1], err[1], ep[1]);
    int fork_errno = errno;
    close(null);
    close(out[1]);
    close(err[1]);
    close(ep[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        close(ep[0]);
        r->how = PROC_NOT_RUN;
        r->exec_errno = fork_errno;
        return -1;
    }
    if (s->flags & PROC_GUARD) setpgid(pid, pid);  /* either side may win the race; both ask */
    if (s->started) s->started(pid, s->started_ctx);
    ssize_t n;
    int en = 0;
    while ((n = read(ep[0], &en, sizeof(en))) < 0 && errno == EINTR) {}
    close(ep[0]);
    if (n == (ssize_t)sizeof(en) && en) {
        r->how = PROC_NOT_RUN;
        r->exec_errno = en;
        close(out[0]);
        close(err[0]);
        while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR) {}
        return 0;
    }
    r->how = PROC_EXITED;
    collect(s, pid, out[0], err[0], r);
    close(out[0]);
    close(err[0]);
    return 0;
}

void proc_result_release(struct proc_result *r)
{
    if (r->out.buf) wipe_free(strbuf_detach(&r->out));
    strbuf_release(&r->err);
}

int proc_ok(const struct proc_result *r)
{
    return r->how == PROC_EXITED && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
}

const char *proc_describe(const struct proc_result *r, char *buf, size_t n)
{
    switch (r->how) {
    case PROC_NOT_RUN: snprintf(buf, n, "cannot be run: %s", strerror(r->exec_errno)); break;
    case PROC_TIMEOUT: snprintf(buf, n, "did not finish within the time limit"); break;
    case PROC_TOO_MUCH: snprintf(buf, n, "printed more than the limit of output"); break;
    case PROC_CANCELED: snprintf(buf, n, "was stopped (interrupted)"); break;
    default:
        if (WIFSIGNALED(r->status)) snprintf(buf, n, "was killed by signal %d", WTERMSIG(r->status));
        else snprintf(buf, n, "failed with exit status %d", WEXITSTATUS(r->status));
    }
    return buf;
}

void proc_stderr_tail(const struct proc_result *r, char *tail, size_t n)
{
    size_t len = r->err.len;
    const char *b = r->err.buf ? r->err.buf : "";
    while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == ' ' || b[len - 1] == '\r')) len--;
    size_t start = len > 400 ? len - 400 : 0;
    size_t k = 0;
    for (size_t i = start; i < len && k + 1 < n; i++) tail[k++] = b[i] == '\n' ? ' ' : b[i];
    if (n) tail[k] = '\0';
}
