/* ui.h: everything a person or a program sees. Human mode: plan and progress on stdout, errors
 * on stderr, colour only on a terminal (NO_COLOR respected). JSON mode (--json): one JSON object
 * per line on stdout, nothing else there (docs/json.md). Thread-safe: workers report progress. */
#ifndef MESH_UI_H
#define MESH_UI_H

#include <jansson.h>

#include "base/diag.h"
#include "base/err.h"

struct ui {
    int json;
    int color;     /* stdout is a terminal and NO_COLOR is unset */
    int ecolor;    /* same for stderr */
};

extern struct ui ui;

void ui_init(int json);
/* --no-color: no colour on either stream, whatever the terminal (call before ui_init). */
void ui_no_color(void);
/* Human output (suppressed in JSON mode). */
void ui_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Colour escape or "" : "red", "green", "yellow", "cyan", "bold", "dim", "reset". */
const char *ui_c(const char *name);
/* Emits one JSON event (JSON mode only); steals ev. Adds "type" and a timestamp. */
void ui_event(const char *type, json_t *ev);
/* An error: human "Error: where: msg" on stderr, or a diagnostic event. */
void ui_error(const struct mesh_err *e);
void ui_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ui_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Spec diagnostics: printed with carets, or one event each. */
void ui_diags(struct diag_list *dl);
/* "1m10s", "3.2s" */
void ui_duration(double secs, char *buf, size_t n);

#endif
