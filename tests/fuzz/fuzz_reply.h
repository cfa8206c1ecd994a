/* fuzz_reply.h: an HTTP reply made from fuzz input, for the targets that parse what a server
 * answered. The first byte picks the status and the headers a server could send with the body;
 * the rest is the body, NUL-terminated as http.c's strbuf keeps it. Header-only. */
#ifndef MESH_FUZZ_REPLY_H
#define MESH_FUZZ_REPLY_H

#include <stdint.h>
#include <string.h>

#include "base/xalloc.h"
#include "http.h"

static void fuzz_header(struct http_response *r, const char *name, const char *value)
{
    struct http_header *h = xcalloc(1, sizeof(*h));
    h->name = xstrdup(name);
    h->value = xstrdup(value);
    vec_push(&r->headers, h);
}

/* Fills r (http_response_init'd) from data; returns the selector byte (0 when data is empty). */
static unsigned fuzz_reply(struct http_response *r, const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 400, 403, 404, 409, 429, 500, 503};
    unsigned sel = size ? data[0] : 0;
    r->status = statuses[sel & 7];
    if (sel & 8) fuzz_header(r, "Content-Type", "text/html");
    if (sel & 16) fuzz_header(r, "x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/");
    if (sel & 32) fuzz_header(r, "x-amzn-RequestId", "0f0e-fuzz");
    if (sel & 64) fuzz_header(r, "Retry-After", "1");
    if (size) strbuf_add(&r->body, (const char *)data + 1, size - 1);
    return sel;
}

#endif
