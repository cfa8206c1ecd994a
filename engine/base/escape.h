/* escape.h: making text safe to print on a terminal. */
#ifndef MESH_ESCAPE_H
#define MESH_ESCAPE_H

#include <stddef.h>

struct strbuf;

/* Appends s[0..n) to out with every non-printing byte escaped (C0 controls, DEL, and the C1
 * controls U+0080..U+009F): \n, \t and \r as such, the rest as \xHH. Printable text, UTF-8
 * included, is copied as is. */
void str_escape_ctl(struct strbuf *out, const char *s, size_t n);

#endif
