/* strbuf.c: a growable string (see strbuf.h). A strbuf may hold a secret (a decrypted value, a
 * credentials file), so a buffer it lets go of, on growth or release, is wiped first. */
#include "base/strbuf.h"

#include "base/wipe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xalloc.h"

static char strbuf_empty[1];

void strbuf_init(struct strbuf *sb)
{
    sb->buf = strbuf_empty;
    sb->len = 0;
    sb->alloc = 0;
}

void strbuf_release(struct strbuf *sb)
{
    if (sb->alloc) wipe_free(sb->buf);
    strbuf_init(sb);
}

void strbuf_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->alloc) sb->buf[0] = '\0';
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
    if (!sb->buf) strbuf_init(sb);
    size_t need = sb->len + extra + 1;
    if (need <= sb->alloc) return;
    size_t cap = sb->alloc ? sb->alloc : 64;
    while (cap < need) cap *= 2;
    char *p = xmalloc(cap);  /* not realloc: it would leave the old copy behind unwiped */
    if (sb->alloc) memcpy(p, sb->buf, sb->len + 1);
    else p[0] = '\0';
    if (sb->alloc) wipe_free(sb->buf);
    sb->buf = p;
    sb->alloc = cap;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t n)
{
    strbuf_grow(sb, n);
    memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_adds(struct strbuf *sb, const char *s) { strbuf_add(sb, s, strlen(s)); }

void strbuf_addch(struct strbuf *sb, char c) { strbuf_add(sb, &c, 1); }

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(tmp)) {
        strbuf_add(sb, tmp, (size_t)n);
        return;
    }
    strbuf_grow(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *strbuf_detach(struct strbuf *sb)
{
    char *p = sb->alloc ? sb->buf : xstrdup("");
    strbuf_init(sb);
    return p;
}

const char *strbuf_str(struct strbuf *sb) { return sb->buf ? sb->buf : ""; }
