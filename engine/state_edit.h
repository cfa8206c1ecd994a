/* state_edit.h: state surgery (mv, rm) that never touches the world; see state_edit.c. */
#ifndef MESH_STATE_EDIT_H
#define MESH_STATE_EDIT_H

#include "base/err.h"
#include "base/vec.h"

struct session;

int state_mv(struct session *s, const char *from, const char *to, struct mesh_err *err);
int state_rm(struct session *s, const struct vec *patterns, struct mesh_err *err);

#endif
