/* registry.c: the table of drivers, built from drivers.def. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"

#define DRIVER(name) extern const struct driver name##_driver;
#include "drivers.def"
#undef DRIVER

static const struct driver *const registry[] = {
#define DRIVER(name) &name##_driver,
#include "drivers.def"
#undef DRIVER
};

size_t driver_count(void) { return sizeof(registry) / sizeof(registry[0]); }

const struct driver *driver_at(size_t i) { return i < driver_count() ? registry[i] : NULL; }

const struct driver *driver_find(const char *type)
{
    for (size_t i = 0; i < driver_count(); i++)
        if (strcmp(registry[i]->type, type) == 0) return registry[i];
    return NULL;
}

const struct attr *driver_attr(const struct driver *d, const char *name)
{
    for (const struct attr *a = d->schema; a && a->name; a++)
        if (strcmp(a->name, name) == 0) return a;
    return NULL;
}

/* Levenshtein distance, capped: only small typos deserve a suggestion. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++) prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

const char *driver_suggest(const char *type)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; i < driver_count(); i++) {
        size_t d = edit_distance(type, registry[i]->type);
        if (d < bestd) {
            bestd = d;
            best = registry[i]->type;
        }
    }
    return best;
}
