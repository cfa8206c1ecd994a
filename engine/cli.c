/* cli.c: the option table and the one parser every command uses (see cli.h). The same table
 * writes each command's option list in `mesh help CMD`, so help cannot drift from what a
 * command accepts. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "base/duration.h"
#include "base/suggest.h"
#include "ui.h"

struct cli_flag {
    const char *name;   /* long form, taken with one dash or two */
    const char *alias;  /* short form ("-f") or NULL */
    int bit;
    const char *value;  /* what the value is called in help ("SPEC"); NULL: a switch */
    const char *help;   /* one line; '\n' continues it under the first */
};

static const struct cli_flag cli_flags[] = {
    {"--file", "-f", OPT_FILE, "SPEC", "the spec (default mesh.yaml)"},
    {"--state", NULL, OPT_STATE, "PATH", "the state database, or team state at s3://BUCKET/KEY (default:\n"
                                         "$MESH_STATE, the spec's state: section, or .mesh/state.db beside the spec)"},
    {"--json", NULL, OPT_JSON, NULL, "one JSON object per line on stdout (docs/json.md)"},
    {"--detailed-exitcode", NULL, OPT_DETAILED, NULL, "exit 2 when there is something to do: resource or output changes, or a\n"
                                                   "cut-off run to recover (0: nothing, 1: error)"},
    {"--target", NULL, OPT_TARGET, "ADDR", "only ADDR and what it depends on (destroy: and what depends on it);\n"
                                           "`*` matches within one segment; repeatable"},
    {"--refresh", NULL, OPT_REFRESH, "BOOL", "false: skip reading the world, diff against state only (default true)"},
    {"--explain", NULL, OPT_EXPLAIN, NULL, "show how the spec expanded into resources"},
    {"--auto-approve", NULL, OPT_AUTO_APPROVE, NULL, "do not ask for 'yes' (required without a terminal)"},
    {"--parallelism", NULL, OPT_PARALLELISM, "N", "concurrent driver calls (default 10)"},
    {"--no-rollback", NULL, OPT_NO_ROLLBACK, NULL, "on failure keep what was done instead of rolling back"},
    {"--resume", NULL, OPT_RESUME, NULL, "continue a cut-off run instead of rolling it back"},
    {"--lock-timeout", NULL, OPT_LOCK_TIMEOUT, "DUR", "wait up to DUR (30s, 5m) for the state lock instead of failing at once"},
    {"--plan", NULL, OPT_PLAN, NULL, "colour nodes by their planned action"},
    {"--allow-replace", NULL, OPT_ALLOW_REPLACE, "ADDR", "allow replacing or deleting a guarded resource (root CA, VPC,\n"
                                                         "cluster); globs; repeatable"},
    {"--out", NULL, OPT_OUT, "FILE", "save the plan to FILE; `mesh apply FILE` performs exactly it"},
    {"--output", "-o", OPT_OUTPUT, "FILE", "write to FILE (0600, atomically), merged into it if it exists, instead of\n"
                                           "printing to stdout"},
    {"--broker", NULL, OPT_BROKER, "SOCKET", "ask the mesh that is running helm for the credential at SOCKET\n"
                                             "(the kubeconfig mesh gives helm runs this; docs/helm.md)"},
    {"--var", NULL, OPT_VAR_VALUE, "NAME=VALUE", "set a variable (highest precedence; repeatable)"},
    {"--var-file", NULL, OPT_VAR_FILE, "FILE", "variables from a YAML file (repeatable; over defaults, under\n"
                                               "MESH_VAR_NAME)"},
    {"--traffic", NULL, OPT_TRAFFIC, NULL, "also deploy Istio's helloworld sample and check that calls reach every\n"
                                           "cluster's version (removed afterwards)"},
    {"--timeout", NULL, OPT_TIMEOUT, "DUR", "how long --traffic waits for the sample and its curl Jobs (default 5m)"},
    {"--raw", NULL, OPT_RAW, NULL, "with NAME: the bare string, number or boolean, no quotes or newline"},
    {"--no-color", NULL, OPT_NO_COLOR, NULL, "no colour in the output (as NO_COLOR=1 does)"},
    {"--markdown", NULL, OPT_MARKDOWN, NULL, "print docs/resources.md"},
    {"--iam-policy", NULL, OPT_IAM_POLICY, NULL, "print the IAM policy (JSON) the spec's AWS resources need, from what\n"
                                                 "the drivers call (-f SPEC; without it: every AWS type)"},
    {"--options", NULL, OPT_OPTIONS, NULL, "list the options COMMAND takes, one per line (every option without\n"
                                           "COMMAND)"},
    {"--help", "-h", OPT_HELP, NULL, "show this help"},
    {"--force", NULL, OPT_FORCE, NULL, "push over another lineage or a newer serial; pull or migrate over a\n"
                                       "file that exists"},
    {"--to", NULL, OPT_TO, "WHERE", "where migrate moves the state: s3://BUCKET/KEY, or local[:PATH]"},
    {"--force-new-state", NULL, OPT_FORCE_NEW_STATE, NULL, "start over with a new state where an empty (0-byte) state file is;\n"
                                                           "only when the objects it tracked are known to be gone"},
};

#define NFLAGS (sizeof(cli_flags) / sizeof(cli_flags[0]))

double cli_parse_duration(const char *s) { return duration_parse(s); }

static int cli_usage(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "mesh %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see 'mesh help %s')\n", cmd);
    return -1;
}

static int cli_set(struct cli_opts *o, int bit, const char *v)
{
    switch (bit) {
    case OPT_FILE: o->spec_path = v; o->spec_given = 1; break;
    case OPT_STATE: o->state_path = v; break;
    case OPT_JSON: o->json = 1; break;
    case OPT_DETAILED: o->detailed_exitcode = 1; break;
    case OPT_TARGET: vec_push(&o->targets, (void *)v); break;
    case OPT_ALLOW_REPLACE: vec_push(&o->allow_replace, (void *)v); break;
    case OPT_OUT: o->out = v; break;
    case OPT_OUTPUT: o->output = v; break;
    case OPT_BROKER: o->broker = v; break;
    case OPT_EXPLAIN: o->explain = 1; break;
    case OPT_AUTO_APPROVE: o->auto_approve = 1; break;
    case OPT_NO_ROLLBACK: o->no_rollback = 1; break;
    case OPT_RESUME: o->resume = 1; break;
    case OPT_PLAN: o->graph_plan = 1; break;
    case OPT_VAR_VALUE: vec_push(&o->vars, (void *)v); break;
    case OPT_VAR_FILE: vec_push(&o->var_files, (void *)v); break;
    case OPT_RAW: o->raw = 1; break;
    case OPT_TRAFFIC: o->traffic = 1; break;
    case OPT_TIMEOUT:
        o->timeout = cli_parse_duration(v);
        if (o->timeout <= 0) return cli_usage(o->cmd, "--timeout takes a duration like 30s, 5m or 250ms, not '%s'", v);
        break;
    case OPT_NO_COLOR: ui_no_color(); break;
    case OPT_MARKDOWN: o->markdown = 1; break;
    case OPT_IAM_POLICY: o->iam_policy = 1; break;
    case OPT_OPTIONS: o->options = 1; break;
    case OPT_FORCE_NEW_STATE: o->force_new_state = 1; break;
    case OPT_FORCE: o->force = 1; break;
    case OPT_TO: o->to = v; break;
    case OPT_REFRESH:
        if (strcmp(v, "true") == 0) o->refresh = 1;
        else if (strcmp(v, "false") == 0) o->refresh = 0;
        else return cli_usage(o->cmd, "--refresh takes true or false, not '%s'", v);
        break;
    case OPT_PARALLELISM: {
        char *end;
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 1 || n > 256)
            return cli_usage(o->cmd, "--parallelism takes a number from 1 to 256, not '%s'", v);
        o->parallelism = (int)n;
        break;
    }
    case OPT_LOCK_TIMEOUT:
        o->lock_timeout = cli_parse_duration(v);
        if (o->lock_timeout < 0) return cli_usage(o->cmd, "--lock-timeout takes a duration like 30s, 5m or 250ms, not '%s'", v);
        break;
    }
    return 0;
}

/* "-target=X" / "--target" / "-f": the entry it names (of any command), and its value after '='. */
static const struct cli_flag *cli_lookup(const char *a, const char **val)
{
    const char *body = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(body, '=');
    size_t n = eq ? (size_t)(eq - body) : strlen(body);
    *val = eq ? eq + 1 : NULL;
    for (size_t k = 0; k < NFLAGS; k++) {
        const struct cli_flag *f = &cli_flags[k];
        if (strlen(f->name + 2) == n && strncmp(body, f->name + 2, n) == 0) return f;
        if (f->alias && a[1] != '-' && strlen(f->alias + 1) == n && strncmp(body, f->alias + 1, n) == 0) return f;
    }
    return NULL;
}

/* Unknown, or not one of this command's: the error names the nearest option this command takes. */
static void cli_unknown(const char *cmd, int allowed, const char *a, const struct cli_flag *known)
{
    fprintf(stderr, "mesh %s: ", cmd);
    if (known) {
        fprintf(stderr, "option '%s' does not apply to 'mesh %s'\n", a, cmd);
        return;
    }
    char word[128];
    const char *body = a + (a[1] == '-' ? 2 : 1);
    snprintf(word, sizeof(word), "--%.*s", (int)strcspn(body, "="), body);
    struct suggest sg;
    suggest_init(&sg, word);
    for (size_t k = 0; k < NFLAGS; k++)
        if (allowed & cli_flags[k].bit) suggest_try(&sg, cli_flags[k].name);
    fprintf(stderr, "unknown option '%s'", a);
    if (sg.best) fprintf(stderr, "; did you mean '%s'?", sg.best);
    fputc('\n', stderr);
}

/* A switch given a value, as Go's flag package allows: --json=true, --auto-approve=false. */
static int cli_switch_value(const char *cmd, const char *a, const char *val, int *on)
{
    if (!val) *on = 1;
    else if (!strcmp(val, "true") || !strcmp(val, "1")) *on = 1;
    else if (!strcmp(val, "false") || !strcmp(val, "0")) *on = 0;
    else return cli_usage(cmd, "option '%s' is a switch: it takes no value (or =true, =false)", a);
    return 0;
}

/* The positional arguments against the grammar; ARGS_SPEC moves the spec into spec_path. */
static int cli_positional(struct cli_opts *o, const struct cli_grammar *g)
{
    int n = (int)o->args.len;
    if (g->max_args >= 0 && n > g->max_args)
        return cli_usage(o->cmd, g->max_args ? "unexpected argument '%s'" : "unexpected argument '%s': this command "
                                 "takes none", o->args.items[g->max_args]);
    if (n < g->min_args) {
        char what[160];
        snprintf(what, sizeof(what), "missing arguments: mesh %s %%s", o->cmd);
        return cli_usage(o->cmd, what, g->args);
    }
    if ((g->flags & ARGS_SPEC) && n == 1) {
        if (o->spec_given)
            return cli_usage(o->cmd, "the spec is given twice (-f %s and an argument): give it once", o->spec_path);
        o->spec_path = o->args.items[0];
        o->spec_given = 1;
        o->args.len = 0;
    }
    return 0;
}

int cli_parse(struct cli_opts *o, const char *cmd, const struct cli_grammar *g, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->cmd = cmd;
    o->spec_path = "mesh.yaml";
    o->refresh = 1;
    o->parallelism = 10;
    int only_args = 0, unknown = 0, help = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || strcmp(a, "-") == 0) {
            vec_push(&o->args, (void *)a);
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        const char *val;
        const struct cli_flag *f = cli_lookup(a, &val);
        if (!f || !(g->opts & f->bit)) {
            /* Every wrong option is named at once; the value of one mesh knows is skipped with it. */
            cli_unknown(cmd, g->opts, a, f);
            unknown++;
            if (f && f->value && !val) i++;
            continue;
        }
        if (f->bit == OPT_HELP) {
            help = 1;
            continue;
        }
        if (!f->value) {
            int on;
            if (cli_switch_value(cmd, a, val, &on)) return -1;
            if (on && cli_set(o, f->bit, NULL) < 0) return -1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) return cli_usage(cmd, "option '%s' needs a value", a);
            val = argv[++i];
        }
        if (cli_set(o, f->bit, val) < 0) return -1;
    }
    if (unknown) {
        fprintf(stderr, "(see 'mesh help %s')\n", cmd);
        return -1;
    }
    if (help) return 1;
    return cli_positional(o, g);
}

void cli_release(struct cli_opts *o)
{
    vec_release(&o->targets);
    vec_release(&o->allow_replace);
    vec_release(&o->args);
    vec_release(&o->vars);
    vec_release(&o->var_files);
}

/* ---- help, from the same table ---- */

void cli_print_usage(FILE *out, const char *cmd, const struct cli_grammar *g)
{
    int opts = g->opts & ~OPT_HELP;
    fprintf(out, "usage: mesh %s%s%s%s\n", cmd, g->args[0] ? " " : "", g->args, opts ? " [options]" : "");
}

void cli_print_options(FILE *out, const struct cli_grammar *g)
{
    fprintf(out, "\nOptions:\n");
    for (size_t k = 0; k < NFLAGS; k++) {
        const struct cli_flag *f = &cli_flags[k];
        if (!(g->opts & f->bit)) continue;
        char left[64];
        snprintf(left, sizeof(left), "%s%s%s%s%s", f->alias ? f->alias : "", f->alias ? ", " : "", f->name,
                 f->value ? " " : "", f->value ? f->value : "");
        fprintf(out, "  %-24s ", left);
        for (const char *h = f->help ? f->help : ""; *h; h++) {
            fputc(*h, out);
            if (*h == '\n') fprintf(out, "  %-24s ", "");
        }
        fputc('\n', out);
    }
    if (g->opts & ~OPT_HELP)
        fprintf(out, "\nEvery option takes one dash or two, and a value after '=' or a space:\n"
                     "-target=X, --target X. A switch takes =true or =false too.\n");
}

void cli_list_options(FILE *out, const struct cli_grammar *g)
{
    for (size_t k = 0; k < NFLAGS; k++) {
        const struct cli_flag *f = &cli_flags[k];
        if (g && !(g->opts & f->bit)) continue;
        fprintf(out, "%s%s%s\n", f->name, f->value ? " " : "", f->value ? f->value : "");
        if (f->alias) fprintf(out, "%s%s%s\n", f->alias, f->value ? " " : "", f->value ? f->value : "");
    }
}

void cli_warn_targets(const struct cli_opts *o)
{
    if (!o->targets.len) return;
    ui_warn("resource targeting is in effect: the plan may not hold every change the spec asks for. --target is "
            "for exceptional cases (recovering from an error), not for routine use");
}
