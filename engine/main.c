/* main.c: the command table. `mesh help CMD` and `mesh CMD --help` read the same entries, and the
 * option list of each comes from the table cli.c parses with, so help shows what a command takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "base/err.h"
#include "base/wipe.h"
#include "base/suggest.h"
#include "cli.h"
#include "cmd.h"
#include "fault.h"
#include "spec/ref.h"
#include "store.h"

struct command {
    const char *name;
    int (*fn)(struct cli_opts *o);
    const char *summary;
    struct cli_grammar grammar;
    const char *help;
};

/* Options shared by the commands that load a spec and open its state. */
#define SPEC_OPTS (OPT_FILE | OPT_VAR | OPT_NO_COLOR | OPT_HELP)
#define RUN_OPTS (SPEC_OPTS | OPT_STATE | OPT_JSON | OPT_TARGET | OPT_AUTO_APPROVE | OPT_LOCK_TIMEOUT | OPT_PARALLELISM)

static const struct command commands[] = {
    {"plan", cmd_plan, "Show what apply would change",
     {SPEC_OPTS | OPT_STATE | OPT_JSON | OPT_DETAILED | OPT_TARGET | OPT_REFRESH | OPT_EXPLAIN | OPT_PARALLELISM | OPT_RESUME |
      OPT_OUT, "[SPEC]", 0, 1, ARGS_SPEC},
     "Loads the spec (SPEC, -f SPEC or mesh.yaml), reads every resource in state through its driver\n"
     "(refresh) and prints what `mesh apply` would do: + create, ~ update in-place, -/+ replace (and\n"
     "the attribute that forces it), - destroy; maps and lists key by key, multi-line strings as line\n"
     "diffs; then the changes to outputs. Never changes state or the world. If a run was cut\n"
     "off, says first what recovery will do (--resume: what resuming it would do).\n"},
    {"apply", cmd_apply, "Converge the world to the spec",
     {RUN_OPTS | OPT_NO_ROLLBACK | OPT_RESUME | OPT_ALLOW_REPLACE | OPT_FORCE_NEW_STATE, "[PLAN_FILE | SPEC]", 0, 1, 0},
     "Takes the state lock, recovers a cut-off run if there is one, plans, asks for 'yes' on a\n"
     "terminal, then applies: creates and updates in dependency order (up to --parallelism at once),\n"
     "then deletes in reverse order. If anything in the first phase fails (or on Ctrl-C), the calls\n"
     "in flight finish and every change of this run is rolled back.\n\n"
     "PLAN_FILE, saved by `mesh plan --out FILE`, is applied exactly, without asking; it carries its\n"
     "spec, variables and targets, so -f, --var, --var-file and --target do not go with it. Any other\n"
     "argument is the spec, like -f.\n"},
    {"destroy", cmd_destroy, "Delete everything in state, in reverse dependency order", {RUN_OPTS, "[SPEC]", 0, 1, ARGS_SPEC},
     "Deletes every resource in state (or the --target ones and everything that depends on them),\n"
     "dependents first, in parallel. A failed delete keeps that resource and what it depends on in\n"
     "state; running destroy again finishes the job.\n"},
    {"validate", cmd_validate, "Check the spec without touching state or the network",
     {SPEC_OPTS | OPT_JSON, "[SPEC]", 0, 1, ARGS_SPEC},
     "Reports every problem in the spec at once, each as file:line:col with the line and a caret.\n"},
    {"graph", cmd_graph, "Print the dependency graph as Graphviz DOT",
     {SPEC_OPTS | OPT_STATE | OPT_PLAN | OPT_REFRESH, "[SPEC]", 0, 1, ARGS_SPEC},
     "Node IDs are the quoted addresses; an edge \"a\" -> \"b\" means b depends on a (a runs first).\n"
     "--plan colours nodes by their planned action (green create, gold update, orange replace, red delete).\n"
     "Render with: mesh graph | dot -Tsvg > graph.svg\n"},
    {"state", cmd_state, "Read or edit the state: list, show, mv, rm, snapshots, restore, pull, push, migrate",
     {OPT_FILE | OPT_STATE | OPT_JSON | OPT_LOCK_TIMEOUT | OPT_NO_COLOR | OPT_HELP | OPT_FORCE | OPT_TO | OPT_VAR,
      "list | show ADDRESS | mv FROM TO | rm ADDRESS... | snapshots | restore N | pull FILE | push FILE | migrate", 1,
      -1, 0},
     "  list         every address in state, one per line, sorted\n"
     "  show ADDR    its attributes and outputs; sensitive ones print as (sensitive)\n"
     "  mv FROM TO   rename a resource in state (after renaming it in the spec); the world is not touched\n"
     "  rm ADDR...   forget resources (globs allowed) without deleting them; they stay in the world, unmanaged\n"
     "  snapshots    the states kept before each of the last 10 runs\n"
     "  restore N    put snapshot N (1 = newest) back as the state; the world is not touched\n"
     "Team state (state: backend s3, or --state s3://BUCKET/KEY; docs/state.md):\n"
     "  pull FILE    write the shared state to FILE, a state file of its own (--force: over one that exists)\n"
     "  push FILE    make FILE's state the shared one, under the lease; refused when the shared state has\n"
     "               another lineage or a newer serial (--force: push anyway)\n"
     "  migrate --to s3://BUCKET/KEY | local[:PATH]\n"
     "               move the state (lineage, serial, snapshots, journal) from where it is now to WHERE;\n"
     "               the old copy is kept. Then point the spec's state: section (or --state) at WHERE.\n"},
    {"output", cmd_output, "Show the outputs stored by the last apply",
     {SPEC_OPTS | OPT_STATE | OPT_JSON | OPT_RAW, "[NAME]", 0, 1, 0},
     "Reads the spec's outputs from state (no refresh, no lock): every one as `name = value`, a\n"
     "sensitive one as (sensitive). Asked for by NAME, an output is printed even when sensitive.\n"
     "--json prints all as {\"name\": {\"value\": ..., \"sensitive\": false}} (a sensitive one has no\n"
     "value), or with NAME the value as JSON. -f and --var/--var-file only matter for finding the\n"
     "state (a state.path using variables).\n"},
    {"kubeconfig", cmd_kubeconfig, "Write a kubeconfig for a cluster mesh made",
     {SPEC_OPTS | OPT_STATE | OPT_OUTPUT, "CLUSTER", 1, 1, 0},
     "Prints (or with -o FILE writes) a kubeconfig for CLUSTER, a cluster of the spec's clusters:\n"
     "section that `mesh apply` made: its API server and CA from state, and a user whose exec entry\n"
     "runs `mesh token CLUSTER` with this binary and the state's absolute path, so kubectl and helm\n"
     "reach the cluster from any directory. The cluster, user and context are named CLUSTER, and the\n"
     "context becomes the current one. No token or key is written. With -o, a FILE that exists is\n"
     "merged into, as `aws eks update-kubeconfig` does: only CLUSTER's entries are replaced or added;\n"
     "a FILE that is not a kubeconfig is refused and left as it was. Comments in it are not kept.\n"
     "  mesh kubeconfig cluster-1 -o ~/.kube/config && kubectl get ns\n"},
    {"token", cmd_token, "Print a token for a cluster mesh made (kubectl's exec plugin)",
     {SPEC_OPTS | OPT_STATE | OPT_BROKER, "CLUSTER", 1, 1, 0},
     "Prints an ExecCredential (client.authentication.k8s.io/v1) with a fresh token for CLUSTER, as\n"
     "`aws eks get-token` does: what the kubeconfig of `mesh kubeconfig` runs. The token is made from\n"
     "the EKS cluster name and region in state, with the AWS credentials of the environment and the\n"
     "spec's mesh: section (profile); it expires in 14 minutes and is never stored. No lock, no\n"
     "refresh. A cluster reached through your own kubeconfig (existing:) has no mesh token.\n"
     "With --broker SOCKET (what the kubeconfig mesh gives helm runs), the credential is asked of the\n"
     "mesh running helm over that unix socket and copied to stdout; nothing else is read.\n"},
    {"check", cmd_check, "Check that the clusters are meshed: remote secrets, roots, releases, traffic",
     {SPEC_OPTS | OPT_STATE | OPT_JSON | OPT_TRAFFIC | OPT_TIMEOUT, "[SPEC]", 0, 1, ARGS_SPEC},
     "Reads the state (no lock, no refresh) and checks each cluster from outside, as `istioctl\n"
     "remote-clusters` would: it holds istio-remote-secret-<other> (label istio/multiCluster=true)\n"
     "for every other cluster; the kubeconfig in each remote secret authenticates against the\n"
     "cluster it names (same kube-system uid); the cacerts roots agree across clusters and each\n"
     "ca-cert.pem and cert-chain.pem chains to it; the helm releases in state are deployed and the\n"
     "Deployments in their namespaces ready. A table per cluster, and what to do for each failure.\n"
     "--traffic also deploys Istio's helloworld sample (namespace sample: v1 in the first cluster,\n"
     "v2 in the second), runs a curl Job in each cluster that calls helloworld.sample:5000/hello\n"
     "10 times, reads the Jobs' logs through the API and passes when every cluster heard both\n"
     "versions; the sample is removed afterwards, also after a failure or Ctrl-C.\n"
     "Exit 0: every check passes; 1: one failed; 2: it cannot run (no state, no clusters).\n"
     "--json prints the report: {\"ok\": bool, \"clusters\": {C: [{\"check\", \"ok\", \"detail\", \"fix\"}]}}.\n"
     "No secret value (token, key, kubeconfig) is ever printed. See docs/check.md.\n"},
    {"import", cmd_import, "Adopt an existing object into state",
     {SPEC_OPTS | OPT_STATE | OPT_LOCK_TIMEOUT, "ADDRESS ID", 2, 2, 0},
     "ADDRESS must be in the spec. The driver reads the object by ID; what it can observe becomes the\n"
     "state's record, so the next `mesh plan` shows only real differences from the spec. Undo with\n"
     "`mesh state rm ADDRESS` (the object is never touched).\n"
     "ID is the type's natural ID, the one Terraform's import takes: an EC2 ID (vpc-..., sg-...), a\n"
     "KMS key ID, a name (cluster, role, log group, alias/NAME), CLUSTER:NODEGROUP, CLUSTER:ADDON, an\n"
     "ARN (IAM policy, OIDC provider), SGID_TYPE_PROTOCOL_FROM_TO_SOURCE or sgr-... (a rule),\n"
     "NAMESPACE/NAME (in-cluster objects, releases); table in docs/migration.md. For the AWS types\n"
     "found by name or ARN, what AWS does not report is taken from the spec, as if mesh applied it.\n"},
    {"force-unlock", cmd_force_unlock, "Release a state lock whose run is gone",
     {OPT_FILE | OPT_STATE | OPT_NO_COLOR | OPT_HELP, "RUN_ID", 1, 1, 0},
     "Only for a lock that mesh could not take over by itself (another host). A lock held by a dead\n"
     "process on this host, or whose lease expired, is taken over automatically. RUN_ID is in the\n"
     "lock error message.\n"},
    {"resources", cmd_resources, "List the resource types, their attributes and flags",
     {OPT_MARKDOWN | OPT_IAM_POLICY | SPEC_OPTS, "", 0, 0, 0},
     "Lists every resource type mesh knows (--markdown: as docs/resources.md).\n\n"
     "--iam-policy prints instead a least-privilege IAM policy document (JSON) for the identity that\n"
     "runs mesh: the union of the permissions of the AWS resource types the spec (-f SPEC, with\n"
     "--var/--var-file) compiles to, as each driver declares what its calls need, so it cannot fall\n"
     "behind the code. Without -f: every AWS type. The spec is only compiled: no state, no network.\n"
     "One statement per service on Resource \"*\"; iam:PassRole is narrowed to the roles the spec\n"
     "hands to EKS (by name, any account) and iam:CreateServiceLinkedRole to EKS's service-linked\n"
     "roles (docs/aws.md, \"IAM permissions\"). Kubernetes RBAC is not IAM: EKS makes the identity\n"
     "that creates a cluster its admin, which is what mesh uses inside the clusters.\n"
     "  mesh resources --iam-policy -f specs/reference.yaml > mesh-policy.json\n"},
    {"version", cmd_version, "Print the version", {OPT_HELP, "", 0, 0, 0}, ""},
    {"help", cmd_help, "Show help for a command", {OPT_OPTIONS | OPT_HELP, "[COMMAND]", 0, 1, 0}, ""},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

/* "mesh: 'plna' is not a mesh command; did you mean 'plan'?" */
static void command_unknown(const char *name)
{
    struct suggest sg;
    suggest_init(&sg, name);
    for (size_t i = 0; i < NCOMMANDS; i++) suggest_try(&sg, commands[i].name);
    fprintf(stderr, "mesh: '%s' is not a mesh command", name);
    if (sg.best) fprintf(stderr, "; did you mean '%s'?\n", sg.best);
    else fprintf(stderr, " (see 'mesh help')\n");
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

static void command_help(const struct command *c)
{
    cli_print_usage(stdout, c->name, &c->grammar);
    printf("\n%s.\n", c->summary);
    if (c->help[0]) printf("\n%s", c->help);
    cli_print_options(stdout, &c->grammar);
}

int cmd_help(struct cli_opts *o)
{
    const char *name = o->args.len ? o->args.items[0] : NULL;
    const struct command *c = name ? command_find(name) : NULL;
    if (name && !c) {
        command_unknown(name);
        return 1;
    }
    if (o->options) cli_list_options(stdout, c ? &c->grammar : NULL);
    else if (c) command_help(c);
    else usage_all(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    wipe_install_json();  /* before any jansson value exists: decrypted secrets live in them */
    if (argc < 2) {
        usage_all(stderr);
        return 1;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-help") || !strcmp(name, "-h")) name = "help";
    if (!strcmp(name, "--version") || !strcmp(name, "-version")) name = "version";
    const struct command *c = command_find(name);
    if (!c) {
        command_unknown(name);
        return 1;
    }
    struct cli_opts o;
    int rc = cli_parse(&o, c->name, &c->grammar, argc - 2, argv + 2);
    if (rc) {
        if (rc > 0) command_help(c);  /* --help */
        cli_release(&o);
        return rc > 0 ? 0 : 1;
    }
    struct mesh_err err;
    mesh_err_init(&err);
    if (fault_init(getenv("MESH_FAULTS"), &err)) {
        fprintf(stderr, "Error: %s: %s\n", err.where, err.msg);
        cli_release(&o);
        return 1;
    }
    (void)ref_unknown();  /* built once before any worker thread starts */
    rc = c->fn(&o);
    cli_release(&o);
    crypt_release();
    return rc;
}
