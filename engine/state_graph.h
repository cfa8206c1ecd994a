/* state_graph.h: the DAG of state rows (node i = rows->items[i]) from the dependencies each row
 * recorded when it was applied. Deletes and rollbacks order by it; the spec is not needed. */
#ifndef MESH_STATE_GRAPH_H
#define MESH_STATE_GRAPH_H

#include "base/vec.h"
#include "graph.h"

void state_graph_build(const struct vec *rows, struct graph *g);
/* Reorders rows: dependencies first (reverse = 0) or dependents first (reverse = 1). */
void state_rows_order(struct vec *rows, int reverse);

#endif
