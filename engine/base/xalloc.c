/* xalloc.c: allocation that cannot return NULL (see xalloc.h). */
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void xalloc_die(const char *what, size_t n)
{
    fprintf(stderr, "mesh: out of memory (%s of %zu bytes)\n", what, n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) xalloc_die("malloc", n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) xalloc_die("calloc", count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) xalloc_die("realloc", n);
    return q;
}

char *xstrdup(const char *s)
{
    if (!s) {
        fprintf(stderr, "mesh: internal error: xstrdup(NULL)\n");
        abort();
    }
    char *p = strdup(s);
    if (!p) xalloc_die("strdup", strlen(s) + 1);
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    if (!s) {
        fprintf(stderr, "mesh: internal error: xstrndup(NULL)\n");
        abort();
    }
    char *p = strndup(s, n);
    if (!p) xalloc_die("strndup", n + 1);
    return p;
}
