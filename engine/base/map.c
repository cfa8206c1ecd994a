/* map.c: string-keyed hash map (FNV-1a, linear probing). No deletion: the engine never needs it. */
#include "base/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xalloc.h"

static uint64_t map_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void map_init(struct map *m)
{
    m->slots = NULL;
    m->cap = m->len = 0;
}

void map_release(struct map *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
    free(m->slots);
    map_init(m);
}

static struct map_slot *map_find(const struct map *m, const char *key)
{
    if (!m->cap) return NULL;
    size_t i = map_hash(key) & (m->cap - 1);
    for (;;) {
        struct map_slot *s = &m->slots[i];
        if (!s->key || strcmp(s->key, key) == 0) return s;
        i = (i + 1) & (m->cap - 1);
    }
}

void *map_get(const struct map *m, const char *key)
{
    struct map_slot *s = map_find(m, key);
    return s && s->key ? s->value : NULL;
}

int map_has(const struct map *m, const char *key)
{
    struct map_slot *s = map_find(m, key);
    return s && s->key;
}

static void map_grow(struct map *m)
{
    struct map old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->slots = xcalloc(m->cap, sizeof(*m->slots));
    m->len = 0;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].key) continue;
        struct map_slot *s = map_find(m, old.slots[i].key);
        *s = old.slots[i];
        m->len++;
    }
    free(old.slots);
}

void map_put(struct map *m, const char *key, void *value)
{
    if ((m->len + 1) * 2 > m->cap) map_grow(m);
    struct map_slot *s = map_find(m, key);
    if (!s->key) {
        s->key = xstrdup(key);
        m->len++;
    }
    s->value = value;
}
