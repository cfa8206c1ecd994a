/* registry.c: the table of drivers, built from drivers.def. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/wipe.h"
#include "base/xalloc.h"
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

/* Provider handles: one per (provider, connection), opened lazily under a lock (workers may race
 * to open). The table holds one reference to each live handle and every call holds one more
 * while it runs; a connection whose outputs changed (its cluster was updated in this run) gets a
 * new handle and the old one is closed when its last call returns. */
#define MAX_HANDLES 256
struct handle_entry {
    const struct provider *p;
    char *connection;  /* NULL: the mesh: section */
    char *key;         /* the config the handle was opened from, as canonical JSON */
    void *handle;
    int refs;          /* the table's (while current) + calls in flight */
    int current;       /* 0: superseded, closed at refs == 0 */
};
static pthread_mutex_t provider_mu = PTHREAD_MUTEX_INITIALIZER;
static struct handle_entry handles[MAX_HANDLES];
static int nhandles;
static json_t *provider_config;

void provider_configure(const json_t *config)
{
    pthread_mutex_lock(&provider_mu);
    json_decref(provider_config);
    provider_config = config ? json_deep_copy(config) : NULL;
    pthread_mutex_unlock(&provider_mu);
}

static int same_str(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

/* Drops one reference of entry i (under the lock); closes and removes it at zero. */
static void entry_unref(int i)
{
    if (--handles[i].refs > 0) return;
    if (handles[i].p->close) handles[i].p->close(handles[i].handle);
    free(handles[i].connection);
    free(handles[i].key);
    handles[i] = handles[--nhandles];
}

/* The handles opened from the mesh: section, one per provider, read without the lock: they live
 * until provider_close_all, so calls without a connection (10,000 null resources) neither take
 * the lock nor count references. */
#define MAX_PROVIDERS 16
static struct {
    _Atomic(const struct provider *) p;
    _Atomic(void *) handle;
} run_handles[MAX_PROVIDERS];

static void *run_handle_get(const struct provider *p)
{
    for (int i = 0; i < MAX_PROVIDERS; i++) {
        const struct provider *q = atomic_load(&run_handles[i].p);
        if (!q) break;
        if (q == p) return atomic_load(&run_handles[i].handle);
    }
    return NULL;
}

static void run_handle_put(const struct provider *p, void *h)  /* under provider_mu */
{
    for (int i = 0; i < MAX_PROVIDERS; i++)
        if (!atomic_load(&run_handles[i].p)) {
            atomic_store(&run_handles[i].handle, h);
            atomic_store(&run_handles[i].p, p);
            return;
        }
}

void *provider_acquire(const struct driver *d, const char *connection, const json_t *conn_config,
                       struct mesh_err *err)
{
    if (!d->provider) return NULL;
    void *fast = connection ? NULL : run_handle_get(d->provider);
    if (fast) return fast;
    const json_t *config = connection ? conn_config : NULL;
    pthread_mutex_lock(&provider_mu);
    if (!connection) config = provider_config;
    /* the mesh: section is fixed for the run (provider_configure before any call): no key needed */
    char *key = connection && config ? json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    void *h = NULL;
    for (int i = 0; i < nhandles; i++) {
        struct handle_entry *e = &handles[i];
        if (!e->current || e->p != d->provider || !same_str(e->connection, connection)) continue;
        if (same_str(e->key, key)) {
            e->refs++;
            h = e->handle;
        } else {  /* the connection changed: new calls get a new handle */
            e->current = 0;
            entry_unref(i);
        }
        break;
    }
    if (!h) {
        if (nhandles == MAX_HANDLES) {
            mesh_err_set(err, MESH_ERR, connection, "%s: more than %d provider connections in one run",
                         d->provider->name, MAX_HANDLES);
        } else if (d->provider->open(config, &h, err) == 0) {
            handles[nhandles++] = (struct handle_entry){d->provider, connection ? xstrdup(connection) : NULL,
                                                        key, h, 2, 1};
            key = NULL;
            if (!connection) run_handle_put(d->provider, h);
        } else {
            h = NULL;
        }
    }
    pthread_mutex_unlock(&provider_mu);
    free(key);
    return h;
}

void provider_release(const struct driver *d, void *handle)
{
    if (!d->provider || !handle || handle == run_handle_get(d->provider)) return;  /* the run's: kept */
    pthread_mutex_lock(&provider_mu);
    for (int i = 0; i < nhandles; i++)
        if (handles[i].handle == handle && handles[i].p == d->provider) {
            entry_unref(i);
            break;
        }
    pthread_mutex_unlock(&provider_mu);
}

void *provider_handle(const struct driver *d, struct mesh_err *err) { return provider_acquire(d, NULL, NULL, err); }

/* Adds s's numbers into into (the same provider over several connections: one line). */
static void stats_add(json_t *into, json_t *s)
{
    const char *k;
    json_t *v;
    json_object_foreach(s, k, v) {
        json_t *have = json_object_get(into, k);
        if (json_is_integer(v) && json_is_integer(have))
            json_object_set_new(into, k, json_integer(json_integer_value(have) + json_integer_value(v)));
        else if (json_is_object(v) && json_is_object(have))
            stats_add(have, v);
        else if (!have)
            json_object_set(into, k, v);
    }
}

json_t *provider_stats(void)
{
    json_t *all = NULL;
    pthread_mutex_lock(&provider_mu);
    for (int i = 0; i < nhandles; i++) {
        if (!handles[i].p->stats) continue;
        json_t *s = handles[i].p->stats(handles[i].handle);
        if (!s) continue;
        if (!all) all = json_object();
        json_t *have = json_object_get(all, handles[i].p->name);
        if (have)
            stats_add(have, s);
        else
            json_object_set(all, handles[i].p->name, s);
        json_decref(s);
    }
    pthread_mutex_unlock(&provider_mu);
    return all;
}

void provider_close_all(void)
{
    pthread_mutex_lock(&provider_mu);
    for (int i = 0; i < nhandles; i++) {
        if (handles[i].p->close) handles[i].p->close(handles[i].handle);
        free(handles[i].connection);
        free(handles[i].key);
    }
    nhandles = 0;
    for (int i = 0; i < MAX_PROVIDERS; i++) {
        atomic_store(&run_handles[i].p, NULL);
        atomic_store(&run_handles[i].handle, NULL);
    }
    json_decref(provider_config);
    provider_config = NULL;
    pthread_mutex_unlock(&provider_mu);
}

/* Authentication hooks: the table from auth_hooks.def. */
#define AUTH_HOOK(name, fn) int fn(const json_t *, const json_t *, struct auth_token *, struct mesh_err *);
#include "auth_hooks.def"
#undef AUTH_HOOK

static const struct {
    const char *name;
    auth_hook_fn fn;
} auth_hooks[] = {
#define AUTH_HOOK(name, fn) {#name, fn},
#include "auth_hooks.def"
#undef AUTH_HOOK
    {NULL, NULL},
};

/* The mesh: section as the providers were configured with it (a copy; NULL: none). */
static json_t *mesh_config_copy(void)
{
    pthread_mutex_lock(&provider_mu);
    json_t *mesh = provider_config ? json_deep_copy(provider_config) : NULL;
    pthread_mutex_unlock(&provider_mu);
    return mesh;
}

int auth_hook_token(const char *name, const json_t *params, struct auth_token *out, struct mesh_err *err)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; name && auth_hooks[i].name; i++) {
        if (strcmp(auth_hooks[i].name, name) != 0) continue;
        json_t *config = mesh_config_copy();
        int rc = auth_hooks[i].fn(params, config, out, err);
        json_decref(config);
        return rc;
    }
    return mesh_err_set(err, MESH_ERR, NULL, "no authentication hook named \"%s\" is built in", name ? name : "");
}

/* Check hooks: the table from check_hooks.def. */
#define CHECK_HOOK(name, fn) int fn(struct call *, const json_t *, json_t **);
#include "check_hooks.def"
#undef CHECK_HOOK

static const struct {
    const char *name;
    check_hook_fn fn;
} check_hooks[] = {
#define CHECK_HOOK(name, fn) {#name, fn},
#include "check_hooks.def"
#undef CHECK_HOOK
    {NULL, NULL},
};

int check_hook_run(const char *name, struct call *c, const json_t *input, json_t **report)
{
    *report = NULL;
    for (int i = 0; name && check_hooks[i].name; i++)
        if (strcmp(check_hooks[i].name, name) == 0) return check_hooks[i].fn(c, input, report);
    return mesh_err_set(c->err, MESH_ERR, NULL, "no check hook named \"%s\" is built in", name ? name : "");
}

/* State backends: the table from state_backends.def. */
#define STATE_BACKEND(name, provider, fn, policy)                                                           \
    int fn(const json_t *, const json_t *, int, struct remote *, char *, size_t, struct mesh_err *);             \
    json_t *policy(const json_t *, const json_t *, json_t *);
#include "state_backends.def"
#undef STATE_BACKEND

static const struct {
    const char *name, *provider;
    state_backend_fn fn;
    state_backend_policy_fn policy;
} state_backends[] = {
#define STATE_BACKEND(name, provider, fn, policy) {#name, #provider, fn, policy},
#include "state_backends.def"
#undef STATE_BACKEND
    {NULL, NULL, NULL, NULL},
};

static int backend_index(const char *name)
{
    for (int i = 0; name && state_backends[i].name; i++)
        if (strcmp(state_backends[i].name, name) == 0) return i;
    return -1;
}

const char *state_backend_provider(const char *name)
{
    int i = backend_index(name);
    return i < 0 ? NULL : state_backends[i].provider;
}

json_t *state_backend_policy(const char *name, const json_t *config, json_t *doc)
{
    int i = backend_index(name);
    if (i < 0) return doc;
    json_t *mesh = mesh_config_copy();
    doc = state_backends[i].policy(config, mesh, doc);
    json_decref(mesh);
    return doc;
}

int state_backend_open(const char *name, const json_t *config, int preflight, struct remote *out, char *warning,
                       size_t warning_len, struct mesh_err *err)
{
    if (warning_len) warning[0] = '\0';
    int i = backend_index(name);
    if (i >= 0) {
        json_t *mesh = mesh_config_copy();
        int rc = state_backends[i].fn(config, mesh, preflight, out, warning, warning_len, err);
        json_decref(mesh);
        return rc;
    }
    struct strbuf known = STRBUF_INIT;
    strbuf_adds(&known, "local");
    for (int i = 0; state_backends[i].name; i++) strbuf_addf(&known, ", %s", state_backends[i].name);
    int rc = mesh_err_set(err, MESH_EINVAL, NULL, "no state backend named \"%s\" (known: %s)", name ? name : "",
                          strbuf_str(&known));
    strbuf_release(&known);
    return rc;
}

void auth_token_release(struct auth_token *t)
{
    if (!t) return;
    wipe_free(t->secret);
    t->secret = NULL;
    t->expires = 0;
}

const char *provider_http_version(void) { return http_lib_version(); }
