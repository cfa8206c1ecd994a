/* escape.c: non-printing bytes escaped before they reach a terminal (see escape.h). A value from
 * a spec or a cloud API may hold ESC or BEL; printed raw it would move the cursor, recolour the
 * terminal or hide text. */
#include "base/escape.h"

#include <stdio.h>

#include "base/strbuf.h"

void str_escape_ctl(struct strbuf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;  /* start of the current run of bytes copied as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        int c1 = c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f;
        if (c >= 0x20 && c != 0x7f && !c1) continue;
        strbuf_add(out, s + run, i - run);
        if (c == '\n') strbuf_adds(out, "\\n");
        else if (c == '\t') strbuf_adds(out, "\\t");
        else if (c == '\r') strbuf_adds(out, "\\r");
        else if (c1) strbuf_addf(out, "\\u%04x", p[++i]);
        else strbuf_addf(out, "\\x%02x", c);
        run = i + 1;
    }
    strbuf_add(out, s + run, n - run);
}
