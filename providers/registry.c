/* registry.c: the table of drivers, built from drivers.def. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/suggest.h"
#include "driver.h"
#include "http.h"

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

/* Provider handles: opened lazily, once per process, under a lock (workers may race to open). */
#define MAX_PROVIDERS 16
static pthread_mutex_t provider_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const struct provider *p;
    void *handle;
} providers_open[MAX_PROVIDERS];
static int nproviders;
static json_t *provider_config;

void provider_configure(const json_t *config)
{
    pthread_mutex_lock(&provider_mu);
    json_decref(provider_config);
    provider_config = config ? json_deep_copy(config) : NULL;
    pthread_mutex_unlock(&provider_mu);
}

void *provider_handle(const struct driver *d, struct mesh_err *err)
{
    if (!d->provider) return NULL;
    void *h = NULL;
    pthread_mutex_lock(&provider_mu);
    for (int i = 0; i < nproviders; i++)
        if (providers_open[i].p == d->provider) h = providers_open[i].handle;
    if (!h && nproviders < MAX_PROVIDERS && d->provider->open(provider_config, &h, err) == 0) {
        providers_open[nproviders].p = d->provider;
        providers_open[nproviders].handle = h;
        nproviders++;
    }
    pthread_mutex_unlock(&provider_mu);
    return h;
}

json_t *provider_stats(void)
{
    json_t *all = NULL;
    pthread_mutex_lock(&provider_mu);
    for (int i = 0; i < nproviders; i++) {
        if (!providers_open[i].p->stats) continue;
        json_t *s = providers_open[i].p->stats(providers_open[i].handle);
        if (!s) continue;
        if (!all) all = json_object();
        json_object_set_new(all, providers_open[i].p->name, s);
    }
    pthread_mutex_unlock(&provider_mu);
    return all;
}

void provider_close_all(void)
{
    pthread_mutex_lock(&provider_mu);
    for (int i = 0; i < nproviders; i++)
        if (providers_open[i].p->close) providers_open[i].p->close(providers_open[i].handle);
    nproviders = 0;
    json_decref(provider_config);
    provider_config = NULL;
    pthread_mutex_unlock(&provider_mu);
}

const char *provider_http_version(void) { return http_lib_version(); }
