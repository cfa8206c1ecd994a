/* registry.c: the table of drivers, built from drivers.def. */
#include <stdlib.h>
#include <string.h>

#include "base/suggest.h"
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

const char *driver_suggest(const char *type)
{
    struct suggest s;
    suggest_init(&s, type);
    for (size_t i = 0; i < driver_count(); i++) suggest_try(&s, registry[i]->type);
    return s.best;
}
