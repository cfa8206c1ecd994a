/* escape.h: text that came from outside (a spec, a state row, a provider's answer) made safe to
 * print on a terminal. Bytes a terminal would act on rather than show become visible escapes, so
 * a spec holding "\x1b]0;PWNED\x07" cannot retitle the window, clear the screen or hide lines. */
#ifndef MESH_ESCAPE_H
#define MESH_ESCAPE_H

#include <stddef.h>

#include "base/strbuf.h"

/* Appends s[0..n) to out with every non-printing character escaped: "\n" and "\t" as \n and \t,
 * other C0 controls, DEL and bytes that are not valid UTF-8 as \xNN, C1 controls (U+0080-U+009F)
 * and the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, which reorder what
 * the reader sees) as \uNNNN. Printable UTF-8 is copied unchanged; so is the backslash, so escaped
 * text stays readable (it is for eyes, not for parsing back). */
void str_escape_ctl(struct strbuf *out, const char *s, size_t n);
/* Bytes of the character at s[0..n) (n > 0): a valid UTF-8 sequence's length, else 1. */
size_t str_char_len(const char *s, size_t n);
/* True when s[0..n) holds nothing str_escape_ctl would change. */
int str_is_printable(const char *s, size_t n);

#endif
