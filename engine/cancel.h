/* cancel.h: Ctrl-C. The first SIGINT/SIGTERM asks the run to stop starting new work, drain and
 * roll back; a second one exits at once (every committed step is already durable). */
#ifndef MESH_CANCEL_H
#define MESH_CANCEL_H

#include <signal.h>

extern volatile sig_atomic_t cancel_flag;

void cancel_install(void);
int cancel_requested(void);

#endif
