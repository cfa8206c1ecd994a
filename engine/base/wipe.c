/* wipe.c: wiping freed memory (see wipe.h). The block's size comes from malloc_usable_size, not
 * from a header of our own, so a block jansson allocated may still be freed with free() (as
 * json_dumps' callers do) and one from malloc with wipe_free. */
#include "base/wipe.h"

#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>

#include <openssl/crypto.h>

static void (*free_hook)(void *p, size_t size);

void wipe_free(void *p)
{
    if (!p) return;
    size_t n = malloc_usable_size(p);
    OPENSSL_cleanse(p, n);
    if (free_hook) free_hook(p, n);
    else free(p);
}

void wipe_install_json(void) { json_set_alloc_funcs(malloc, wipe_free); }

void wipe_set_free_hook(void (*fn)(void *p, size_t size)) { free_hook = fn; }
