/* escape.c: escaping non-printing characters for the terminal (see escape.h). */
#include "base/escape.h"

#include <stdio.h>

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 when it is not one (overlongs,
 * surrogates and code points past U+10FFFF are not). *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned char c = s[0];
    size_t len = c < 0x80 ? 1 : (c >= 0xc2 && c < 0xe0) ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c >= 0xf0 && c < 0xf5) ? 4 : 0;
    if (!len || len > n) return 0;
    unsigned v = len == 1 ? c : len == 2 ? (c & 0x1fu) : len == 3 ? (c & 0x0fu) : (c & 0x07u);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) || (len == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return len;
}

static int cp_hidden(unsigned cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

void str_escape_ctl(struct strbuf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    strbuf_grow(out, n);
    while (i < n) {
        size_t run = i;  /* copy printable stretches whole */
        unsigned cp = 0;
        size_t len = 0;
        while (run < n && (len = utf8_seq(p + run, n - run, &cp)) && !cp_hidden(cp)) run += len;
        if (run > i) strbuf_add(out, p + i, run - i);
        i = run;
        if (i >= n) break;
        if (!len) {
            strbuf_addf(out, "\\x%02x", p[i]);
            i++;
        } else if (cp == '\n') {
            strbuf_adds(out, "\\n");
            i++;
        } else if (cp == '\t') {
            strbuf_adds(out, "\\t");
            i++;
        } else if (cp < 0x80) {
            strbuf_addf(out, "\\x%02x", cp);
            i++;
        } else {
            strbuf_addf(out, "\\u%04x", cp);
            i += len;
        }
    }
}

size_t str_char_len(const char *s, size_t n)
{
    unsigned cp;
    size_t len = utf8_seq((const unsigned char *)s, n, &cp);
    return len ? len : 1;
}

int str_is_printable(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0, len; i < n; i += len) {
        unsigned cp;
        if (!(len = utf8_seq(p + i, n - i, &cp)) || cp_hidden(cp)) return 0;
    }
    return 1;
}
