/* cancel.c: signal handling for Ctrl-C (see cancel.h). */
#include "cancel.h"

#include <string.h>
#include <unistd.h>

volatile sig_atomic_t cancel_flag;

static void cancel_handler(int sig)
{
    if (cancel_flag) {
        static const char msg[] = "\nmesh: interrupted again; exiting now (the journal is intact; run 'mesh apply' to recover)\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        _exit(130);
    }
    cancel_flag = sig;
    static const char msg[] = "\nmesh: interrupt received; finishing calls in flight, then rolling back (Ctrl-C again to exit now)\n";
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
}

void cancel_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cancel_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cancel_requested(void) { return cancel_flag != 0; }
