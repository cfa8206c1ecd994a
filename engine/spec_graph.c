/* spec_graph.c: a spec's resource DAG and its cycle diagnostic (see spec_graph.h). */
#include "spec_graph.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "spec/spec.h"

void spec_graph_build(const struct spec *s, struct graph *g)
{
    int n = (int)s->resources.len;
    graph_init(g, n);
    struct map idx = MAP_INIT;
    for (int i = 0; i < n; i++) {
        struct spec_resource *r = s->resources.items[i];
        map_put(&idx, r->address, (void *)(intptr_t)(i + 1));
    }
    for (int i = 0; i < n; i++) {
        struct spec_resource *r = s->resources.items[i];
        for (size_t k = 0; k < r->deps.len; k++) {
            struct spec_dep *d = r->deps.items[k];
            intptr_t j = (intptr_t)map_get(&idx, d->address);
            if (j > 0 && j - 1 != i) graph_add_edge(g, (int)j - 1, i, d);  /* a self-edge: compile.c reports it */
        }
    }
    map_release(&idx);
}

int spec_graph_check(const struct spec *s, struct diag_list *dl)
{
    struct graph g;
    spec_graph_build(s, &g);
    int *cyc, len;
    int rc = graph_find_cycle(&g, &cyc, &len);
    if (rc) {
        struct strbuf sb = STRBUF_INIT;
        const struct spec_resource *first = s->resources.items[cyc[0]];
        strbuf_addf(&sb, "dependency cycle: %s", first->address);
        for (int i = 0; i < len; i++) {
            int a = cyc[i], b = cyc[(i + 1) % len];
            const struct spec_resource *rb = s->resources.items[b];
            const struct spec_dep *d = graph_edge_why(&g, a, b);
            strbuf_addf(&sb, " -> %s (%s:%d:%d)", rb->address, s->file, d ? d->line : rb->line, d ? d->col : rb->col);
        }
        diag_error(dl, s->file, first->line, first->col, "%s", sb.buf);
        strbuf_release(&sb);
        free(cyc);
    }
    graph_release(&g);
    return rc;
}

/* Segment-wise glob: the address and the pattern split at dots, "*" never crosses one. */
int target_match(const char *pattern, const char *address)
{
    if (!strchr(pattern, '*')) return strcmp(pattern, address) == 0;
    char ps[256], as[256];
    for (;;) {
        size_t pl = strcspn(pattern, "."), al = strcspn(address, ".");
        if (pl >= sizeof(ps) || al >= sizeof(as)) return 0;
        memcpy(ps, pattern, pl);
        ps[pl] = '\0';
        memcpy(as, address, al);
        as[al] = '\0';
        if (fnmatch(ps, as, 0) != 0) return 0;
        pattern += pl;
        address += al;
        if (!*pattern || !*address) return !*pattern && !*address;
        pattern++;
        address++;
    }
}

int target_match_any(const struct vec *patterns, const char *address)
{
    for (size_t i = 0; i < patterns->len; i++)
        if (target_match(patterns->items[i], address)) return 1;
    return 0;
}
