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
int cmd_version(int argc, char **argv);
int cmd_help(int argc, char **argv);

#define MESH_VERSION "0.1.0"

#endif
