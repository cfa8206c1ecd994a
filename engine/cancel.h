/* cancel.h: Ctrl-C. The first SIGINT/SIGTERM asks the run to stop starting new work, drain and
 * roll back (or stop: destroy, --no-rollback); a second one exits at once (every committed step is already durable). */
#ifndef MESH_CANCEL_H
#define MESH_CANCEL_H

#include <signal.h>

extern volatile sig_atomic_t cancel_flag;

/* then: what the run does once the calls in flight finished ("rolling back", "stopping: ...");
 * cmd: the command that recovers after a second Ctrl-C. */
void cancel_install(const char *cmd, const char *then);
int cancel_requested(void);

#endif
