/* graph.c: DAG building, cycle finding, ordering and selection (see graph.h). */
#include "graph.h"

#include <stdlib.h>
#include <string.h>
#include "base/xalloc.h"

void graph_init(struct graph *g, int n)
{
    g->n = n;
    g->nodes = xcalloc((size_t)(n > 0 ? n : 1), sizeof(*g->nodes));
}

void graph_release(struct graph *g)
{
    for (int i = 0; i < g->n; i++) {
        free(g->nodes[i].out);
        free(g->nodes[i].in);
    }
    free(g->nodes);
    g->nodes = NULL;
    g->n = 0;
}

const void *graph_edge_why(const struct graph *g, int a, int b)
{
    const struct graph_node *na = &g->nodes[a];
    for (int i = 0; i < na->nout; i++)
        if (na->out[i].to == b) return na->out[i].why;
    return NULL;
}

static int graph_has_edge(const struct graph *g, int a, int b)
{
    const struct graph_node *nb = &g->nodes[b];
    for (int i = 0; i < nb->nin; i++)
        if (nb->in[i] == a) return 1;
    return 0;
}

void graph_add_edge(struct graph *g, int a, int b, const void *why)
{
    if (graph_has_edge(g, a, b)) return;
    struct graph_node *na = &g->nodes[a], *nb = &g->nodes[b];
    if (na->nout == na->capout) {
        na->capout = na->capout ? na->capout * 2 : 4;
        na->out = xrealloc(na->out, (size_t)na->capout * sizeof(*na->out));
    }
    na->out[na->nout++] = (struct graph_edge){b, why};
    if (nb->nin == nb->capin) {
        nb->capin = nb->capin ? nb->capin * 2 : 4;
        nb->in = xrealloc(nb->in, (size_t)nb->capin * sizeof(*nb->in));
    }
    nb->in[nb->nin++] = a;
    if (!na->out || !nb->in) abort();
}

int graph_topo_order(const struct graph *g, int *order)
{
    /* Kahn's algorithm with a min-heap would give id order among ties; a FIFO seeded in id order
     * is close enough and linear. */
    int *indeg = xmalloc((size_t)(g->n + 1) * sizeof(int));
    int head = 0, tail = 0;
    for (int i = 0; i < g->n; i++) {
        indeg[i] = g->nodes[i].nin;
        if (!indeg[i]) order[tail++] = i;
    }
    while (head < tail) {
        int v = order[head++];
        for (int k = 0; k < g->nodes[v].nout; k++) {
            int w = g->nodes[v].out[k].to;
            if (--indeg[w] == 0) order[tail++] = w;
        }
    }
    free(indeg);
    return tail == g->n ? 0 : -1;
}

/* Tarjan's SCC, iterative (10,000-node chains must not blow the stack). comp[v] = SCC id. */
static int graph_scc(const struct graph *g, int *comp)
{
    int n = g->n, idx = 0, ncomp = 0, sp = 0, csp = 0;
    int *index = xmalloc((size_t)n * sizeof(int)), *low = xmalloc((size_t)n * sizeof(int));
    int *stack = xmalloc((size_t)n * sizeof(int)), *onstack = xcalloc((size_t)n, sizeof(int));
    int *cs_v = xmalloc((size_t)n * sizeof(int)), *cs_k = xmalloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) index[i] = -1;
    for (int s = 0; s < n; s++) {
        if (index[s] >= 0) continue;
        cs_v[csp] = s; cs_k[csp] = 0; csp++;
        index[s] = low[s] = idx++; stack[sp++] = s; onstack[s] = 1;
        while (csp) {
            int v = cs_v[csp - 1], k = cs_k[csp - 1];
            if (k < g->nodes[v].nout) {
                cs_k[csp - 1]++;
                int w = g->nodes[v].out[k].to;
                if (index[w] < 0) {
                    index[w] = low[w] = idx++; stack[sp++] = w; onstack[w] = 1;
                    cs_v[csp] = w; cs_k[csp] = 0; csp++;
                } else if (onstack[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            csp--;
            if (csp && low[v] < low[cs_v[csp - 1]]) low[cs_v[csp - 1]] = low[v];
            if (low[v] == index[v]) {
                int w;
                do { w = stack[--sp]; onstack[w] = 0; comp[w] = ncomp; } while (w != v);
                ncomp++;
            }
        }
    }
    free(index); free(low); free(stack); free(onstack); free(cs_v); free(cs_k);
    return ncomp;
}

/* BFS from s inside its SCC back to s: the shortest cycle through s. Returns its length or 0. */
static int graph_shortest_through(const struct graph *g, const int *comp, int s, int *prev, int *queue,
                                  int *dist)
{
    for (int i = 0; i < g->n; i++) dist[i] = -1;
    int head = 0, tail = 0;
    queue[tail++] = s;
    dist[s] = 0;
    while (head < tail) {
        int v = queue[head++];
        for (int k = 0; k < g->nodes[v].nout; k++) {
            int w = g->nodes[v].out[k].to;
            if (comp[w] != comp[s]) continue;
            if (w == s) {
                prev[s] = v;
                return dist[v] + 1;
            }
            if (dist[w] < 0) {
                dist[w] = dist[v] + 1;
                prev[w] = v;
                queue[tail++] = w;
            }
        }
    }
    return 0;
}

int graph_find_cycle(const struct graph *g, int **cycle, int *len)
{
    int n = g->n;
    *cycle = NULL;
    *len = 0;
    if (n == 0) return 0;
    int *comp = xmalloc((size_t)n * sizeof(int)), *size = xcalloc((size_t)n, sizeof(int));
    graph_scc(g, comp);
    for (int i = 0; i < n; i++) size[comp[i]]++;
    int *prev = xmalloc((size_t)n * sizeof(int)), *queue = xmalloc((size_t)n * sizeof(int));
    int *dist = xmalloc((size_t)n * sizeof(int));
    int best = 0, best_s = -1;
    for (int s = 0; s < n; s++) {
        int self = graph_has_edge(g, s, s);
        if (size[comp[s]] < 2 && !self) continue;
        int l = self ? 1 : graph_shortest_through(g, comp, s, prev, queue, dist);
        if (l && (!best || l < best)) {
            best = l;
            best_s = s;
            if (l == 1) break;
        }
    }
    if (best) {
        int *c = xmalloc((size_t)best * sizeof(int));
        if (best == 1) {
            c[0] = best_s;
        } else {
            graph_shortest_through(g, comp, best_s, prev, queue, dist);
            int v = prev[best_s];
            for (int i = best - 1; i >= 1; i--) {  /* walk predecessors back to s */
                c[i] = v;
                v = prev[v];
            }
            c[0] = best_s;
        }
        *cycle = c;
        *len = best;
    }
    free(comp); free(size); free(prev); free(queue); free(dist);
    return best ? -1 : 0;
}

void graph_close_over(const struct graph *g, unsigned char *sel, int up)
{
    int *stack = xmalloc((size_t)(g->n + 1) * sizeof(int)), sp = 0;
    for (int i = 0; i < g->n; i++)
        if (sel[i]) stack[sp++] = i;
    while (sp) {
        int v = stack[--sp];
        const struct graph_node *nv = &g->nodes[v];
        int cnt = up ? nv->nin : nv->nout;
        for (int k = 0; k < cnt; k++) {
            int w = up ? nv->in[k] : nv->out[k].to;
            if (!sel[w]) {
                sel[w] = 1;
                stack[sp++] = w;
            }
        }
    }
    free(stack);
}
