/* cmd.h: one function per command (cmd_*.c), dispatched from the table in main.c, which parses
 * the command line by the command's grammar first and releases the options after. Each returns
 * the process exit code: 0 ok, 1 error, 2 "plan has changes" with --detailed-exitcode. */
#ifndef MESH_CMD_H
#define MESH_CMD_H

struct cli_opts;

int cmd_plan(struct cli_opts *o);
int cmd_apply(struct cli_opts *o);
int cmd_destroy(struct cli_opts *o);
int cmd_validate(struct cli_opts *o);
int cmd_graph(struct cli_opts *o);
int cmd_state(struct cli_opts *o);
int cmd_force_unlock(struct cli_opts *o);
int cmd_import(struct cli_opts *o);
int cmd_resources(struct cli_opts *o);
int cmd_version(struct cli_opts *o);
int cmd_help(struct cli_opts *o);
int cmd_output(struct cli_opts *o);
int cmd_token(struct cli_opts *o);
int cmd_kubeconfig(struct cli_opts *o);
int cmd_check(struct cli_opts *o);

/* cmd_output.c: after a successful apply (destroy unset) resolve the spec's outputs against
 * state, store and show them; after a destroy, clear them. -1 (reported) when storing failed. */
struct session;
int outputs_after_run(struct session *s, int destroy);

#define MESH_VERSION "0.1.0"

#endif
