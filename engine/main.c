/* main.c: the command table. `mesh help CMD` and `mesh CMD --help` read the same entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "base/err.h"
#include "cmd.h"
#include "fault.h"
#include "spec/ref.h"
#include "store.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
    const char *usage;
    const char *help;
};

static const struct command commands[] = {
    {"plan", cmd_plan, "Show what apply would change",
     "mesh plan [-f SPEC] [--state PATH] [--json] [--detailed-exitcode] [--target ADDR]... [--refresh=false] [--explain]",
     "Loads the spec, reads every resource in state through its driver (refresh) and prints what\n"
     "`mesh apply` would do: + create, ~ update in-place, -/+ replace (and the attribute that forces\n"
     "it), - destroy. Never changes state or the world. If a run was cut off, says first what\n"
     "recovery will do.\n\n"
     "  -f, --file SPEC        the spec (default mesh.yaml)\n"
     "  --state PATH           the state database (default .mesh/state.db beside the spec, or $MESH_STATE)\n"
     "  --json                 one JSON object per line (docs/json.md)\n"
     "  --detailed-exitcode    exit 2 when the plan has changes (0 none, 1 error)\n"
     "  --target ADDR          only ADDR and what it depends on; `*` matches within one segment\n"
     "  --refresh=false        skip reading the world; diff against state only\n"
     "  --explain              show how the spec expanded into resources\n"
     "  --var NAME=VALUE       set a variable (highest precedence; repeatable)\n"
     "  --var-file FILE        variables from a YAML file (repeatable; over defaults, under MESH_VAR_NAME)\n"
     "  --parallelism N        concurrent driver reads (default 10)\n"},
    {"apply", cmd_apply, "Converge the world to the spec",
     "mesh apply [-f SPEC] [--auto-approve] [--json] [--target ADDR]... [--parallelism N] [--no-rollback] [--resume] "
     "[--lock-timeout DUR]",
     "Takes the state lock, recovers a cut-off run if there is one, plans, asks for 'yes' on a\n"
     "terminal, then applies: creates and updates in dependency order (up to --parallelism at once),\n"
     "then deletes in reverse order. If anything in the first phase fails (or on Ctrl-C), the calls\n"
     "in flight finish and every change of this run is rolled back.\n\n"
     "  --auto-approve         do not ask (required without a terminal)\n"
     "  --parallelism N        concurrent driver calls (default 10)\n"
     "  --no-rollback          on failure keep what was done instead of rolling back\n"
     "  --resume               continue a cut-off run instead of rolling it back\n"
     "  --lock-timeout DUR     wait up to DUR (30s, 5m) for the state lock instead of failing at once\n"
     "  --allow-replace ADDR   allow replacing or deleting a guarded resource (root CA, VPC, cluster)\n"
     "  -f, --state, --json, --target, --var, --var-file  as for plan\n"},
    {"destroy", cmd_destroy, "Delete everything in state, in reverse dependency order",
     "mesh destroy [-f SPEC] [--auto-approve] [--json] [--target ADDR]...",
     "Deletes every resource in state (or the --target ones and everything that depends on them),\n"
     "dependents first, in parallel. A failed delete keeps that resource and what it depends on in\n"
     "state; running destroy again finishes the job.\n"},
    {"validate", cmd_validate, "Check the spec without touching state or the network",
     "mesh validate [-f SPEC] [--json]",
     "Reports every problem in the spec at once, each as file:line:col with the line and a caret.\n"},
    {"graph", cmd_graph, "Print the dependency graph as Graphviz DOT",
     "mesh graph [-f SPEC] [--plan]",
     "Node IDs are the quoted addresses; an edge \"a\" -> \"b\" means b depends on a (a runs first).\n"
     "--plan colours nodes by their planned action (green create, gold update, orange replace, red delete).\n"
     "Render with: mesh graph | dot -Tsvg > graph.svg\n"},
    {"state", cmd_state, "Read or edit the state: list, show, mv, rm, snapshots, restore",
     "mesh state list | show ADDRESS | mv FROM TO | rm ADDRESS... | snapshots | restore N  [--state PATH] [-f SPEC] [--json]",
     "  list         every address in state, one per line, sorted\n"
     "  show ADDR    its attributes and outputs; sensitive ones print as (sensitive)\n"
     "  mv FROM TO   rename a resource in state (after renaming it in the spec); the world is not touched\n"
     "  rm ADDR...   forget resources (globs allowed) without deleting them; they stay in the world, unmanaged\n"
     "  snapshots    the states kept before each of the last 10 runs\n"
     "  restore N    put snapshot N (1 = newest) back as the state; the world is not touched\n"},
    {"output", cmd_output, "Show the outputs stored by the last apply",
     "mesh output [NAME] [--json] [--raw] [-f SPEC] [--state PATH]",
     "Reads the spec's outputs from state (no refresh, no lock): every one as `name = value`, a\n"
     "sensitive one as (sensitive). Asked for by NAME, an output is printed even when sensitive.\n\n"
     "  --json                 all: {\"name\": {\"value\": ..., \"sensitive\": false}} (a sensitive one has no\n"
     "                         value); with NAME: the value as JSON\n"
     "  --raw                  with NAME: the bare string, number or boolean, no quotes or newline\n"
     "  -f, --state            as for plan; --var/--var-file only matter for a state.path using variables\n"},
    {"import", cmd_import, "Adopt an existing object into state",
     "mesh import ADDRESS ID [-f SPEC] [--state PATH]",
     "ADDRESS must be in the spec. The driver reads the object by ID; what it can observe becomes the\n"
     "state's record, so the next `mesh plan` shows only real differences from the spec. Undo with\n"
     "`mesh state rm ADDRESS` (the object is never touched).\n"},
    {"force-unlock", cmd_force_unlock, "Release a state lock whose run is gone",
     "mesh force-unlock RUN_ID [--state PATH]",
     "Only for a lock that mesh could not take over by itself (another host). A lock held by a dead\n"
     "process on this host, or whose lease expired, is taken over automatically.\n"},
    {"resources", cmd_resources, "List the resource types, their attributes and flags",
     "mesh resources [--markdown]", "--markdown prints docs/resources.md.\n"},
    {"version", cmd_version, "Print the version", "mesh version", ""},
    {"help", cmd_help, "Show help for a command", "mesh help [COMMAND]", ""},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void usage_all(FILE *out)
{
    fprintf(out, "usage: mesh COMMAND [options]\n\n"
                 "mesh converges an Istio multi-primary service mesh, and the infrastructure under it,\n"
                 "from one YAML spec.\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'mesh help COMMAND' for its options. Exit codes: 0 ok, 1 error, 2 plan has changes\n"
                 "(with --detailed-exitcode).\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc < 1) {
        usage_all(stdout);
        return 0;
    }
    const struct command *c = command_find(argv[0]);
    if (!c) {
        fprintf(stderr, "mesh: no command '%s'\n\n", argv[0]);
        usage_all(stderr);
        return 1;
    }
    printf("usage: %s\n\n%s%s", c->usage, c->summary, c->help[0] ? ".\n\n" : ".\n");
    fputs(c->help, stdout);
    return 0;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_all(stderr);
        return 1;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) return cmd_help(0, NULL);
    if (strcmp(argv[1], "--version") == 0) return cmd_version(0, NULL);
    const struct command *c = command_find(argv[1]);
    if (!c) {
        fprintf(stderr, "mesh: '%s' is not a mesh command.\n\n", argv[1]);
        usage_all(stderr);
        return 1;
    }
    if (c->fn != cmd_help && wants_help(argc - 2, argv + 2)) {
        char *name = argv[1];
        return cmd_help(1, &name);
    }
    struct mesh_err err;
    mesh_err_init(&err);
    if (fault_init(getenv("MESH_FAULTS"), &err)) {
        fprintf(stderr, "Error: %s: %s\n", err.where, err.msg);
        return 1;
    }
    (void)ref_unknown();  /* built once before any worker thread starts */
    int rc = c->fn(argc - 2, argv + 2);
    crypt_release();
    return rc;
}
