/* invoke.c: the one path from the engine into a driver (see invoke.h). */
#include "invoke.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "cancel.h"
#include "connections.h"
#include "fault.h"

static int (*guard_fn)(void *ctx, struct mesh_err *err);
static void *guard_ctx;

void invoke_set_guard(int (*guard)(void *ctx, struct mesh_err *err), void *ctx)
{
    guard_fn = guard;
    guard_ctx = ctx;
}

void invoke_init(struct call *c, const struct driver *d, const char *address, const char *connection,
                 const char *run_id, const char *action, struct mesh_err *err)
{
    memset(c, 0, sizeof(*c));
    c->address = address;
    c->type = d->type;
    c->run_id = run_id;
    c->cancel = &cancel_flag;
    c->err = err;
    c->connection = connection;
    /* Stable per (run, address, action): a retried create after a crash reuses the same token. */
    unsigned char md[SHA256_DIGEST_LENGTH];
    char buf[512];
    snprintf(buf, sizeof(buf), "%s|%s|%s", run_id ? run_id : "", address, action);
    SHA256((const unsigned char *)buf, strlen(buf), md);
    for (int i = 0; i < 16; i++) snprintf(c->token + 2 * i, 3, "%02x", md[i]);
}

/* The provider handle for one driver call: the connection's (opened from its outputs in state),
 * else the run's. A connection state does not hold yet cannot be reached: say which. */
static int invoke_acquire(struct call *c, const struct driver *d)
{
    c->provider = NULL;
    if (!d->provider) return 0;
    json_t *config = NULL;
    if (c->connection && !(config = conn_table_get(c->connection)))
        return mesh_err_set(c->err, MESH_ERR, c->address,
                            "its connection %s is not in state, so mesh cannot reach where it lives; apply the "
                            "connection first (it is applied before its resources), or `mesh state rm` this "
                            "resource if its cluster is gone", c->connection);
    c->provider = provider_acquire(d, c->connection, config, c->err);
    json_decref(config);
    if (c->provider) return 0;
    return mesh_err_isset(c->err) ? c->err->code
                                  : mesh_err_set(c->err, MESH_ERR, c->address, "%s: could not open the provider", d->type);
}

static void invoke_release(struct call *c, const struct driver *d)
{
    provider_release(d, c->provider);
    c->provider = NULL;
}

/* A driver that fails without saying why still gets a message a person can act on. */
static int invoke_done(struct call *c, const char *op, int rc)
{
    if (rc && rc != MESH_ENOTFOUND && !mesh_err_isset(c->err))
        mesh_err_set(c->err, rc, c->address, "%s failed (the driver gave no reason)", op);
    return rc;
}

#define INVOKE(op, expr)                                                              \
    do {                                                                              \
        long seq_;                                                                    \
        int rc_ = fault_before(c->type, c->address, op, &seq_, c->err);               \
        if (rc_) return rc_;                                                          \
        /* after the fault layer's delay: the last moment before the world changes */  \
        if (guard_fn && (rc_ = guard_fn(guard_ctx, c->err)) != 0) return rc_;        \
        if ((rc_ = invoke_acquire(c, d)) != 0) return rc_;                            \
        rc_ = (expr);                                                                 \
        invoke_release(c, d);                                                         \
        fault_after(seq_, op);                                                        \
        return invoke_done(c, op, rc_);                                               \
    } while (0)

int invoke_create(struct call *c, const struct driver *d, const json_t *desired, json_t **outputs)
{
    *outputs = NULL;
    INVOKE("create", d->create(c, desired, outputs));
}

int invoke_wait(struct call *c, const struct driver *d, const json_t *outputs, json_t **ready)
{
    *ready = NULL;
    if (!d->wait) return 0;
    INVOKE("wait", d->wait(c, outputs, ready));
}

int invoke_find(struct call *c, const struct driver *d, const json_t *desired, json_t **outputs)
{
    *outputs = NULL;
    if (!d->find) return MESH_ENOTFOUND;
    INVOKE("find", d->find(c, desired, outputs));
}

int invoke_read(struct call *c, const struct driver *d, const json_t *outputs, json_t **current)
{
    *current = NULL;
    INVOKE("read", d->read(c, outputs, current));
}

int invoke_import(struct call *c, const struct driver *d, const char *id, const json_t *desired, json_t **outputs)
{
    *outputs = NULL;
    if (!d->import) return MESH_ENOTFOUND;
    INVOKE("import", d->import(c, id, desired, outputs));
}

int invoke_update(struct call *c, const struct driver *d, const json_t *outputs, const json_t *prior,
                  const json_t *desired, json_t **new_outputs)
{
    *new_outputs = NULL;
    if (!d->update) return mesh_err_set(c->err, MESH_ERR, c->address, "update: %s cannot be updated in place", d->type);
    INVOKE("update", d->update(c, outputs, prior, desired, new_outputs));
}

static int invoke_delete_raw(struct call *c, const struct driver *d, const json_t *outputs)
{
    int rc = d->delete(c, outputs);
    return rc == MESH_ENOTFOUND ? 0 : rc;
}

int invoke_delete(struct call *c, const struct driver *d, const json_t *outputs)
{
    INVOKE("delete", invoke_delete_raw(c, d, outputs));
}
