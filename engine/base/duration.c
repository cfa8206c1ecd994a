/* duration.c: parsing durations (see duration.h). */
#include "base/duration.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double duration_parse(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    if (!*end || strcmp(end, "s") == 0) return v;
    if (strcmp(end, "ms") == 0) return v / 1000.0;
    if (strcmp(end, "m") == 0) return v * 60;
    if (strcmp(end, "h") == 0) return v * 3600;
    return -1;
}

double mesh_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
