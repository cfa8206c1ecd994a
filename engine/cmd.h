/* cmd.h: one function per command (cmd_*.c), dispatched from the table in main.c. Each returns
 * the process exit code: 0 ok, 1 error, 2 "plan has changes" with --detailed-exitcode. */
#ifndef MESH_CMD_H
#define MESH_CMD_H

int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_destroy(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_graph(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_force_unlock(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_resources(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_output(int argc, char **argv);

/* cmd_output.c: after a successful apply (destroy unset) resolve the spec's outputs against
 * state, store and show them; after a destroy, clear them. -1 (reported) when storing failed. */
struct session;
int outputs_after_run(struct session *s, int destroy);

#define MESH_VERSION "0.1.0"

#endif
