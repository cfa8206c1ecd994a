/* connections.c: see connections.h. */
#include "connections.h"

#include <pthread.h>
#include <string.h>

#include "base/map.h"
#include "driver.h"
#include "store.h"

static pthread_mutex_t conn_mu = PTHREAD_MUTEX_INITIALIZER;
static struct map conn_outputs;  /* address -> json_t * (owned) */
static int conn_init;

static int is_connection_row(const struct state_row *row)
{
    const struct driver *d = row && row->type ? driver_find(row->type) : NULL;
    return d && d->connects && (!row->deposed || !row->deposed[0]);
}

static void put_locked(const char *address, json_t *outputs)
{
    if (!conn_init) {
        map_init(&conn_outputs);
        conn_init = 1;
    }
    json_t *old = map_get(&conn_outputs, address);
    json_decref(old);
    map_put(&conn_outputs, address, outputs);
}

static void clear_locked(void)
{
    if (!conn_init) return;
    for (size_t i = 0; i < conn_outputs.cap; i++)
        if (conn_outputs.slots[i].key) json_decref(conn_outputs.slots[i].value);
    map_release(&conn_outputs);
    conn_init = 0;
}

void conn_table_clear(void)
{
    pthread_mutex_lock(&conn_mu);
    clear_locked();
    pthread_mutex_unlock(&conn_mu);
}

void conn_table_load(const struct vec *rows)
{
    pthread_mutex_lock(&conn_mu);
    clear_locked();
    for (size_t i = 0; rows && i < rows->len; i++) {
        const struct state_row *r = rows->items[i];
        if (is_connection_row(r)) put_locked(r->address, json_deep_copy(r->outputs));
    }
    pthread_mutex_unlock(&conn_mu);
}

void conn_table_note(const struct state_row *row)
{
    if (!is_connection_row(row)) return;
    pthread_mutex_lock(&conn_mu);
    put_locked(row->address, json_deep_copy(row->outputs));
    pthread_mutex_unlock(&conn_mu);
}

void conn_table_forget(const char *address, const char *deposed)
{
    if (deposed && deposed[0]) return;
    pthread_mutex_lock(&conn_mu);
    if (conn_init) {
        json_t *old = map_get(&conn_outputs, address);
        if (old) {
            json_decref(old);
            map_put(&conn_outputs, address, NULL);
        }
    }
    pthread_mutex_unlock(&conn_mu);
}

json_t *conn_table_get(const char *address)
{
    pthread_mutex_lock(&conn_mu);
    json_t *v = conn_init && address ? map_get(&conn_outputs, address) : NULL;
    json_t *copy = v ? json_deep_copy(v) : NULL;
    pthread_mutex_unlock(&conn_mu);
    return copy;
}
