/* cli.h: the command line, parsed one way. One table of options (cli.c) drives the parser, the
 * usage line and the option list of `mesh help CMD`; each command's entry (main.c) says which
 * options and which positional arguments it takes. */
#ifndef MESH_CLI_H
#define MESH_CLI_H

#include <stdio.h>

#include "base/vec.h"

enum {
    OPT_FILE = 1 << 0,          /* -f SPEC */
    OPT_STATE = 1 << 1,         /* --state PATH */
    OPT_JSON = 1 << 2,
    OPT_DETAILED = 1 << 3,      /* --detailed-exitcode */
    OPT_TARGET = 1 << 4,
    OPT_REFRESH = 1 << 5,       /* --refresh=false */
    OPT_EXPLAIN = 1 << 6,
    OPT_AUTO_APPROVE = 1 << 7,
    OPT_PARALLELISM = 1 << 8,
    OPT_NO_ROLLBACK = 1 << 9,
    OPT_RESUME = 1 << 10,
    OPT_LOCK_TIMEOUT = 1 << 11,
    OPT_PLAN = 1 << 12,         /* graph --plan */
    OPT_ALLOW_REPLACE = 1 << 13, /* --allow-replace ADDR (repeatable; globs) */
    OPT_OUT = 1 << 14,          /* plan -out FILE */
    OPT_NO_COLOR = 1 << 15,
    OPT_MARKDOWN = 1 << 16,     /* resources --markdown */
    OPT_OPTIONS = 1 << 17,      /* help --options */
    OPT_HELP = 1 << 18,         /* -h, --help: main.c answers it before parsing */
    OPT_IAM_POLICY = 1 << 19,   /* resources --iam-policy */
    OPT_VAR_VALUE = 1 << 20,    /* --var NAME=VALUE (repeatable) */
    OPT_VAR_FILE = 1 << 21,     /* --var-file FILE (repeatable) */
    OPT_VAR = OPT_VAR_VALUE | OPT_VAR_FILE,  /* what a command that loads a spec takes */
    OPT_RAW = 1 << 22,          /* output --raw */
    OPT_FORCE_NEW_STATE = 1 << 23,  /* apply --force-new-state: an empty state file starts over */
    OPT_OUTPUT = 1 << 24,       /* kubeconfig -o FILE */
    OPT_BROKER = 1 << 25,       /* token --broker SOCKET (helm's exec plugin) */
    OPT_TRAFFIC = 1 << 26,      /* check --traffic */
    OPT_TIMEOUT = 1 << 27,      /* check --timeout DUR */
    OPT_FORCE = 1 << 28,        /* state push / pull / migrate --force */
    OPT_TO = 1 << 29,           /* state migrate --to URL|local[:PATH] */
};

/* What a command takes: its options and its positional arguments. */
enum {
    ARGS_SPEC = 1,   /* the one positional argument, if given, is the spec (like -f) */
};

struct cli_grammar {
    int opts;            /* OPT_* bits */
    const char *args;    /* the positional arguments as the usage line shows them, "" for none */
    int min_args;
    int max_args;        /* -1: any number */
    int flags;           /* ARGS_* */
};

struct cli_opts {
    const char *cmd;
    const char *spec_path;      /* default mesh.yaml */
    int spec_given;             /* -f or a positional spec was given */
    const char *state_path;     /* NULL: MESH_STATE or .mesh/state.db beside the spec */
    int json;
    int detailed_exitcode;
    struct vec targets;         /* const char * (argv strings) */
    int refresh;                /* default 1 */
    int explain;
    int auto_approve;
    int parallelism;            /* default 10 */
    int no_rollback;
    int resume;
    double lock_timeout;        /* seconds */
    int graph_plan;
    struct vec vars;            /* --var NAME=VALUE (const char *, argv strings), in order */
    struct vec var_files;       /* --var-file FILE (const char *), in order */
    int raw;                    /* output --raw */
    int markdown;               /* resources --markdown */
    int iam_policy;             /* resources --iam-policy */
    int options;                /* help --options */
    int force_new_state;        /* apply --force-new-state */
    int force;                  /* state push / pull / migrate --force */
    const char *to;             /* state migrate --to */
    struct vec allow_replace;   /* const char * patterns */
    const char *out;            /* plan -out FILE */
    const char *output;         /* kubeconfig -o FILE */
    const char *broker;         /* token --broker SOCKET */
    int traffic;                /* check --traffic */
    double timeout;             /* check --timeout, seconds; 0: the command's default */
    struct vec args;            /* positional (const char *) */
};

/* Parses argv (after the command name) by g. Every long option takes one dash or two, and its
 * value after '=' or as the next argument (-target=X, --target X). Returns 0; 1 when -h/--help
 * was given (and nothing was wrong); or -1 after printing the usage errors: every option the
 * command does not take is named (a misspelt one with a suggestion), then the first other. */
int cli_parse(struct cli_opts *o, const char *cmd, const struct cli_grammar *g, int argc, char **argv);
void cli_release(struct cli_opts *o);
/* "30s", "5m", "1h", "250ms", "10" (seconds) -> seconds; -1 on a bad duration. */
double cli_parse_duration(const char *s);

/* For help: "mesh CMD ARGS [-f SPEC] [--json] ..." on one line (wrapped), then the options of g,
 * one per line with what it does. */
void cli_print_usage(FILE *out, const char *cmd, const struct cli_grammar *g);
void cli_print_options(FILE *out, const struct cli_grammar *g);
/* `mesh help --options [CMD]`: the options g takes (every option when g is NULL), one per line:
 * "--name" or "--name VALUE"; a short form on its own line. For scripts and the help test. */
void cli_list_options(FILE *out, const struct cli_grammar *g);
/* Warns when --target narrows a plan (as Terraform does): the result may not be every change. */
void cli_warn_targets(const struct cli_opts *o);

#endif
