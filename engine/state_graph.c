/* state_graph.c: the DAG of state rows (see state_graph.h). */
#include "state_graph.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "store.h"
#include "base/xalloc.h"

void state_graph_build(const struct vec *rows, struct graph *g)
{
    int n = (int)rows->len;
    graph_init(g, n);
    struct map idx = MAP_INIT;
    for (int i = 0; i < n; i++) {
        const struct state_row *row = rows->items[i];
        if (!row->deposed || !row->deposed[0]) map_put(&idx, row->address, (void *)(intptr_t)(i + 1));
    }
    for (int i = 0; i < n; i++) {
        const struct state_row *row = rows->items[i];
        size_t k;
        json_t *d;
        json_array_foreach(row->deps, k, d) {
            intptr_t j = (intptr_t)map_get(&idx, json_string_value(d) ? json_string_value(d) : "");
            if (j > 0 && j - 1 != i) graph_add_edge(g, (int)j - 1, i, NULL);
        }
    }
    map_release(&idx);
}

void state_rows_order(struct vec *rows, int reverse)
{
    int n = (int)rows->len;
    if (n < 2) return;
    struct graph g;
    state_graph_build(rows, &g);
    int *order = xmalloc((size_t)n * sizeof(int));
    if (graph_topo_order(&g, order) == 0) {
        void **copy = xmalloc((size_t)n * sizeof(void *));
        for (int i = 0; i < n; i++) copy[i] = rows->items[reverse ? order[n - 1 - i] : order[i]];
        memcpy(rows->items, copy, (size_t)n * sizeof(void *));
        free(copy);
    }
    free(order);
    graph_release(&g);
}
