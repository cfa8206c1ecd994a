/* plan_diff.h: one value's change written for people, key by key, the way terraform shows it:
 * maps and lists element by element with +, ~ and -, unchanged elements folded
 * ("# (3 unchanged elements hidden)"), multi-line strings as <<-EOT blocks with a line diff,
 * unknown values as (known after apply), non-printing bytes escaped. Sensitivity is decided by
 * the caller (a sensitive value is never passed here). */
#ifndef MESH_PLAN_DIFF_H
#define MESH_PLAN_DIFF_H

#include <jansson.h>

struct strbuf;

enum pd_action { PD_NOOP, PD_CREATE, PD_DELETE, PD_UPDATE };

/* Appends the value part of a line "NAME = <value>" that starts at nesting level indent (0: an
 * output, 1: a resource attribute): old -> new under action a. Nested lines are indented for that
 * level; note (may be NULL) ends the value's first line; a delete ends with " -> null". */
void plan_diff_value(struct strbuf *out, int indent, const json_t *old, const json_t *new, enum pd_action a,
                     const char *note);
/* The symbol column of a line at level indent ("      ~ "), coloured. */
void plan_diff_lead(struct strbuf *out, int indent, enum pd_action a);
/* A string in double quotes, with quotes, backslashes and non-printing bytes escaped. */
void plan_diff_quote(struct strbuf *out, const char *s, size_t n);
/* v on one line: compact JSON with sorted keys, unknowns as (known after apply), strings quoted
 * as plan_diff_quote does. */
void plan_diff_compact(struct strbuf *out, const json_t *v);
/* For --json: {key: "create"|"update"|"delete"} of the top-level keys that differ when old and
 * new are both maps, else NULL. New reference. */
json_t *plan_diff_keys(const json_t *old, const json_t *new);

#endif
