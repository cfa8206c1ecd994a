/* plan_render.h: printing a plan for people (terraform-like) or as JSON events. */
#ifndef MESH_PLAN_RENDER_H
#define MESH_PLAN_RENDER_H

#include "plan.h"

void plan_render(const struct plan *p);
/* "Plan: 3 to add, 1 to change, 2 to destroy." */
void plan_render_summary(const struct plan *p);
/* A value as shown in a plan: JSON text, "(known after apply)" or "(sensitive)". Caller frees. */
char *plan_value_text(const json_t *v, int flags);

#endif
