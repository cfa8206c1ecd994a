/* duration.h: "30s", "5m", "1h", "250ms", "10" (seconds) -> seconds. */
#ifndef MESH_DURATION_H
#define MESH_DURATION_H

/* Returns seconds, or -1 for text that is not a duration. */
double duration_parse(const char *s);
/* Seconds on the monotonic clock: what struct call.deadline is measured in. */
double mesh_now_mono(void);

#endif
