/* cancel.c: signal handling for Ctrl-C (see cancel.h). */
#include "cancel.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t cancel_flag;
static char cancel_msg[256], cancel_msg2[160];  /* written by the handler: built before it is installed */

static void cancel_handler(int sig)
{
    if (cancel_flag) {
        ssize_t w = write(2, cancel_msg2, strlen(cancel_msg2));
        (void)w;
        _exit(130);
    }
    cancel_flag = sig;
    ssize_t w = write(2, cancel_msg, strlen(cancel_msg));
    (void)w;
}

void cancel_install(const char *cmd, const char *then)
{
    snprintf(cancel_msg2, sizeof(cancel_msg2),
             "\nmesh: interrupted again; exiting now (the journal is intact; run 'mesh %s' to recover)\n", cmd);
    snprintf(cancel_msg, sizeof(cancel_msg),
             "\nmesh: interrupt received; finishing calls in flight, then %s (Ctrl-C again to exit now)\n", then);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cancel_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cancel_requested(void) { return cancel_flag != 0; }
