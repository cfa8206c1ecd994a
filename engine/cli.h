/* cli.h: the options every command shares, parsed one way. Each command says which it takes. */
#ifndef MESH_CLI_H
#define MESH_CLI_H

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
    OPT_VAR_VALUE = 1 << 20,    /* --var NAME=VALUE (repeatable) */
    OPT_VAR_FILE = 1 << 21,     /* --var-file FILE (repeatable) */
    OPT_VAR = OPT_VAR_VALUE | OPT_VAR_FILE,  /* what a command that loads a spec takes */
    OPT_RAW = 1 << 22,          /* output --raw */
    OPT_FORCE_NEW_STATE = 1 << 23,  /* apply --force-new-state: an empty state file starts over */
};

struct cli_opts {
    const char *cmd;
    const char *spec_path;      /* default mesh.yaml */
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
    int force_new_state;        /* apply --force-new-state */
    struct vec allow_replace;   /* const char * patterns */
    const char *out;            /* plan -out FILE */
    struct vec args;            /* positional (const char *) */
};

/* Parses argv (after the command name). Returns 0, or -1 after printing a usage error. */
int cli_parse(struct cli_opts *o, const char *cmd, int allowed, int argc, char **argv);
void cli_release(struct cli_opts *o);
/* "30s", "5m", "1h", "250ms", "10" (seconds) -> seconds; -1 on a bad duration. */
double cli_parse_duration(const char *s);

#endif
