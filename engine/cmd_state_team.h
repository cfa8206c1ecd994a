/* cmd_state_team.h: `mesh state pull|push|migrate` (cmd_state_team.c). */
#ifndef MESH_CMD_STATE_TEAM_H
#define MESH_CMD_STATE_TEAM_H

#include "base/err.h"

struct session;

/* 1 if sub is one of pull, push, migrate. */
int state_team_sub(const char *sub);
/* Runs it (arguments checked by the caller); -1 with err set on failure. */
int state_team(struct session *s, const char *sub, struct mesh_err *err);

#endif
