/* cmd_graph.c: `mesh graph [--plan]`: the DAG as Graphviz DOT. Node IDs are the quoted addresses;
 * "a" -> "b" means b depends on a (a runs first). --plan colours nodes by planned action. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "diff.h"
#include "graph.h"
#include "plan.h"
#include "session.h"
#include "spec/spec.h"
#include "spec_graph.h"
#include "ui.h"

static const char *action_color(enum plan_action a)
{
    switch (a) {
    case ACT_CREATE: return "green";
    case ACT_UPDATE: return "gold";
    case ACT_REPLACE: return "orange";
    case ACT_DELETE: return "red";
    default: return "gray";
    }
}

int cmd_graph(struct cli_opts *o)
{
    ui_init(0);
    struct session s;
    session_init(&s, o);
    struct mesh_err err;
    mesh_err_init(&err);
    struct plan *p = NULL;
    int rc = session_load_spec(&s, 0) ? 1 : 0;
    if (!rc && o->graph_plan) {
        if (session_open_state(&s, 0, &err) < 0 || session_load_rows(&s, &err)) rc = 1;
        struct plan_input in = {.spec = s.spec, .rows = &s.rows, .refresh = o->refresh, .parallelism = 10,
                                .targets = &o->targets, .run_id = s.run_id};
        if (!rc && plan_build(&in, &p, &err)) rc = 1;
        if (rc) ui_error(&err);
    }
    if (!rc) {
        struct graph g;
        spec_graph_build(s.spec, &g);
        printf("digraph mesh {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
        for (int i = 0; i < g.n; i++) {
            const struct spec_resource *r = s.spec->resources.items[i];
            if (p) {
                const struct plan_entry *e = map_get(&p->by_address, r->address);
                enum plan_action a = e ? e->action : ACT_NOOP;
                printf("  \"%s\" [color=%s, label=\"%s\\n(%s)\"];\n", r->address, action_color(a), r->address,
                       plan_action_name(a));
            } else {
                printf("  \"%s\";\n", r->address);
            }
        }
        for (int i = 0; i < g.n; i++)
            for (int k = 0; k < g.nodes[i].nout; k++)
                printf("  \"%s\" -> \"%s\";\n", ((struct spec_resource *)s.spec->resources.items[i])->address,
                       ((struct spec_resource *)s.spec->resources.items[g.nodes[i].out[k].to])->address);
        if (p)
            for (size_t i = 0; i < p->entries.len; i++) {
                const struct plan_entry *e = p->entries.items[i];
                if (e->action == ACT_DELETE && !spec_find(s.spec, e->address))
                    printf("  \"%s\" [color=red, style=dashed, label=\"%s\\n(delete)\"];\n", e->address, e->address);
            }
        printf("}\n");
        graph_release(&g);
    }
    plan_free(p);
    session_release(&s);
    return rc;
}
