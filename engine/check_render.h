/* check_render.h: how `mesh check` shows its report ({"ok", "clusters": {C: [{"check", "ok",
 * "detail", "fix"}]}}, driver.h's check_hook_fn): a table per cluster (check, result, detail),
 * then what to do for each failure, then a one-line verdict. */
#ifndef MESH_CHECK_RENDER_H
#define MESH_CHECK_RENDER_H

#include <stdio.h>

#include <jansson.h>

/* Writes the report to out (colour from ui_c); returns how many checks failed. */
int check_render(FILE *out, const json_t *report);

#endif
