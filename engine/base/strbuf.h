/* strbuf.h: a growable NUL-terminated string (after git's strbuf). */
#ifndef MESH_STRBUF_H
#define MESH_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *buf;   /* always NUL-terminated, never NULL after init */
    size_t len;
    size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_init(struct strbuf *sb);
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t n);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the buffer to the caller (free() it); sb is reset. */
char *strbuf_detach(struct strbuf *sb);
const char *strbuf_str(struct strbuf *sb);

#endif
