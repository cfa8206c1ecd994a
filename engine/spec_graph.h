/* spec_graph.h: the DAG of a spec's resources (node i = spec->resources[i]) and the cycle
 * diagnostic; target selection by address patterns. */
#ifndef MESH_SPEC_GRAPH_H
#define MESH_SPEC_GRAPH_H

#include "base/diag.h"
#include "base/vec.h"
#include "graph.h"

struct spec;

/* Edges from references and depends_on; edge tags are the struct spec_dep that made them. */
void spec_graph_build(const struct spec *s, struct graph *g);
/* Adds "dependency cycle: a -> b (file:l:c) -> a (file:l:c)" to dl; returns -1 on a cycle. */
int spec_graph_check(const struct spec *s, struct diag_list *dl);
/* Address pattern: `*` matches within one segment ("helm_release.cluster-1.*"). */
int target_match(const char *pattern, const char *address);
int target_match_any(const struct vec *patterns, const char *address);

#endif
