/* wipe.h: memory that may have held a secret is wiped before it goes back to malloc. jansson's
 * strings and objects hold decrypted values, so jansson allocates through wipe_free too. */
#ifndef MESH_WIPE_H
#define MESH_WIPE_H

#include <stddef.h>

/* free() that first overwrites the whole block (its usable size) with zeros. NULL is fine. */
void wipe_free(void *p);
/* Makes jansson free through wipe_free. Call once, before any thread starts (main, unit tests);
 * blocks jansson allocated before stay valid (they come from malloc either way). */
void wipe_install_json(void);
/* Tests: the free() behind wipe_free (NULL: the real one), to look at a block as it is freed. */
void wipe_set_free_hook(void (*fn)(void *p, size_t size));

#endif
