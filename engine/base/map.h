/* map.h: a string-keyed hash map (open addressing). Keys are copied; values are not owned. */
#ifndef MESH_MAP_H
#define MESH_MAP_H

#include <stddef.h>

struct map_slot {
    char *key;
    void *value;
};

struct map {
    struct map_slot *slots;
    size_t cap;   /* power of two, or 0 */
    size_t len;
};

#define MAP_INIT { NULL, 0, 0 }

void map_init(struct map *m);
void map_release(struct map *m);  /* frees keys and slots, not values */
void *map_get(const struct map *m, const char *key);
int map_has(const struct map *m, const char *key);
void map_put(struct map *m, const char *key, void *value);  /* replaces */
/* Iterate: for (size_t i = 0; i < m.cap; i++) if (m.slots[i].key) ... */

#endif
