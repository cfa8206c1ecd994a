/* cli.c: option parsing shared by every command (see cli.h). */
#include "cli.h"

#include "base/duration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_flag {
    const char *name;   /* long form */
    const char *alias;  /* short form or NULL */
    int bit;
    int takes_value;
};

static const struct cli_flag cli_flags[] = {
    {"--file", "-f", OPT_FILE, 1},
    {"--state", NULL, OPT_STATE, 1},
    {"--json", NULL, OPT_JSON, 0},
    {"--detailed-exitcode", NULL, OPT_DETAILED, 0},
    {"--target", NULL, OPT_TARGET, 1},
    {"--refresh", NULL, OPT_REFRESH, 1},
    {"--explain", NULL, OPT_EXPLAIN, 0},
    {"--auto-approve", NULL, OPT_AUTO_APPROVE, 0},
    {"--parallelism", NULL, OPT_PARALLELISM, 1},
    {"--no-rollback", NULL, OPT_NO_ROLLBACK, 0},
    {"--resume", NULL, OPT_RESUME, 0},
    {"--lock-timeout", NULL, OPT_LOCK_TIMEOUT, 1},
    {"--plan", NULL, OPT_PLAN, 0},
    {"--allow-replace", NULL, OPT_ALLOW_REPLACE, 1},
    {"--out", "-out", OPT_OUT, 1},
    {"--var", NULL, OPT_VAR_VALUE, 1},
    {"--var-file", NULL, OPT_VAR_FILE, 1},
    {"--raw", NULL, OPT_RAW, 0},
    {"--force-new-state", NULL, OPT_FORCE_NEW_STATE, 0},
};

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
    case OPT_FILE: o->spec_path = v; break;
    case OPT_STATE: o->state_path = v; break;
    case OPT_JSON: o->json = 1; break;
    case OPT_DETAILED: o->detailed_exitcode = 1; break;
    case OPT_TARGET: vec_push(&o->targets, (void *)v); break;
    case OPT_ALLOW_REPLACE: vec_push(&o->allow_replace, (void *)v); break;
    case OPT_OUT: o->out = v; break;
    case OPT_EXPLAIN: o->explain = 1; break;
    case OPT_AUTO_APPROVE: o->auto_approve = 1; break;
    case OPT_NO_ROLLBACK: o->no_rollback = 1; break;
    case OPT_RESUME: o->resume = 1; break;
    case OPT_PLAN: o->graph_plan = 1; break;
    case OPT_VAR_VALUE: vec_push(&o->vars, (void *)v); break;
    case OPT_VAR_FILE: vec_push(&o->var_files, (void *)v); break;
    case OPT_RAW: o->raw = 1; break;
    case OPT_FORCE_NEW_STATE: o->force_new_state = 1; break;
    case OPT_REFRESH:
        if (strcmp(v, "true") == 0) o->refresh = 1;
        else if (strcmp(v, "false") == 0) o->refresh = 0;
        else return cli_usage(o->cmd, "--refresh takes true or false, not '%s'", v);
        break;
    case OPT_PARALLELISM: {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 1 || n > 256) return cli_usage(o->cmd, "--parallelism takes a number from 1 to 256, not '%s'", v);
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

int cli_parse(struct cli_opts *o, const char *cmd, int allowed, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->cmd = cmd;
    o->spec_path = "mesh.yaml";
    o->refresh = 1;
    o->parallelism = 10;
    int only_args = 0;
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
        const struct cli_flag *f = NULL;
        const char *val = NULL;
        for (size_t k = 0; k < sizeof(cli_flags) / sizeof(cli_flags[0]); k++) {
            size_t n = strlen(cli_flags[k].name);
            if (strncmp(a, cli_flags[k].name, n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                f = &cli_flags[k];
                if (a[n] == '=') val = a + n + 1;
                break;
            }
            size_t al = cli_flags[k].alias ? strlen(cli_flags[k].alias) : 0;
            if (al && strncmp(a, cli_flags[k].alias, al) == 0 && (a[al] == '\0' || a[al] == '=')) {
                f = &cli_flags[k];
                if (a[al] == '=') val = a + al + 1;
                break;
            }
        }
        if (!f || !(allowed & f->bit)) return cli_usage(cmd, "unknown option '%s'", a);
        if (f->takes_value && !val) {
            if (i + 1 >= argc) return cli_usage(cmd, "option '%s' needs a value", a);
            val = argv[++i];
        } else if (!f->takes_value && val) {
            return cli_usage(cmd, "option '%s' takes no value", a);
        }
        if (cli_set(o, f->bit, val) < 0) return -1;
    }
    return 0;
}

void cli_release(struct cli_opts *o)
{
    vec_release(&o->targets);
    vec_release(&o->allow_replace);
    vec_release(&o->args);
    vec_release(&o->vars);
    vec_release(&o->var_files);
}
