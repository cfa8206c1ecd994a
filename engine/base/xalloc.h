/* xalloc.h: the one allocation convention. Every allocation in mesh goes through these: a failed
 * allocation prints one line and aborts (there is no sensible recovery half-way through a plan,
 * and a NULL that slips through becomes a crash far from its cause). */
#ifndef MESH_XALLOC_H
#define MESH_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* s must not be NULL: a NULL here is a bug at the caller, reported as such. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
