/* graph.h: a DAG over integer node ids 0..n-1. An edge a -> b means b depends on a (a runs first).
 * Builds, checks for cycles (reporting the shortest one), orders and selects. Nothing else. */
#ifndef MESH_GRAPH_H
#define MESH_GRAPH_H

#include <stddef.h>

struct graph_edge {
    int to;
    const void *why;   /* caller's tag for the edge (e.g. the spec_dep that made it) */
};

struct graph_node {
    struct graph_edge *out;   /* dependents */
    int nout, capout;
    int *in;                  /* dependencies */
    int nin, capin;
};

struct graph {
    struct graph_node *nodes;
    int n;
};

void graph_init(struct graph *g, int n);
void graph_release(struct graph *g);
/* Adds a -> b once (duplicates are ignored). */
void graph_add_edge(struct graph *g, int a, int b, const void *why);
/* Returns 0 if acyclic. Otherwise fills cycle[] (caller frees) with the node ids of a shortest
 * cycle, starting at its lowest id, so that cycle[i] -> cycle[i+1] and the last -> cycle[0]. */
int graph_find_cycle(const struct graph *g, int **cycle, int *len);
/* The tag of edge a -> b, or NULL. */
const void *graph_edge_why(const struct graph *g, int a, int b);
/* A topological order (dependencies first); ties broken by id. Returns -1 on a cycle. */
int graph_topo_order(const struct graph *g, int *order);
/* Marks in sel[] (0/1) every node reachable from the marked ones: against edges (their
 * dependencies) when up is set, along edges (their dependents) otherwise. */
void graph_close_over(const struct graph *g, unsigned char *sel, int up);

#endif
