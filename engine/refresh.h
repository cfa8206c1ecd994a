/* refresh.h: reading what every object in state looks like now, in parallel, through the
 * drivers' read(). Feeds the diff; changes nothing. */
#ifndef MESH_REFRESH_H
#define MESH_REFRESH_H

#include <jansson.h>

#include "base/err.h"
#include "base/map.h"
#include "base/vec.h"

struct state_row;

struct refresh_result {
    const struct state_row *row;
    json_t *current;   /* NULL when gone */
    int gone;          /* read said MESH_ENOTFOUND */
    int skipped;       /* not read: its connection did not answer or is not in state */
    int rc;
    struct mesh_err err;
    const char *run_id;
};

/* Key of a row in the results map: "address" or "address#deposed". */
void refresh_key(const struct state_row *row, char *buf, size_t n);
/* Reads every row; results (key -> struct refresh_result *) owned by the caller, freed with
 * refresh_release. On any read failure returns its code with err naming the address. */
int refresh_rows(const struct vec *rows, int parallelism, const char *run_id, struct map *results,
                 struct mesh_err *err);
void refresh_release(struct map *results);

#endif
