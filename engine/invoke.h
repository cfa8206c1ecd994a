/* invoke.h: every driver call goes through here: it builds the struct call, applies the fault
 * layer, and makes sure a failing call always explains itself. */
#ifndef MESH_INVOKE_H
#define MESH_INVOKE_H

#include <jansson.h>

#include "driver.h"

/* A check that runs before every driver call and refuses it when non-zero (the state lock's
 * lease: a run that lost it must not touch the world). NULL: none. Set before workers start. */
void invoke_set_guard(int (*guard)(void *ctx, struct mesh_err *err), void *ctx);
/* Fills c for (driver, address, run, action); err must outlive the call. connection: the address
 * of the connection the resource belongs to, or NULL; each driver call then runs with the provider
 * handle opened from that connection's outputs in state (connections.h), held for the call. */
void invoke_init(struct call *c, const struct driver *d, const char *address, const char *connection,
                 const char *run_id, const char *action, struct mesh_err *err);
int invoke_create(struct call *c, const struct driver *d, const json_t *desired, json_t **outputs);
int invoke_wait(struct call *c, const struct driver *d, const json_t *outputs, json_t **ready);
int invoke_find(struct call *c, const struct driver *d, const json_t *desired, json_t **outputs);
int invoke_read(struct call *c, const struct driver *d, const json_t *outputs, json_t **current);
/* d->import (mesh import); MESH_ENOTFOUND without setting c->err when d has none. */
int invoke_import(struct call *c, const struct driver *d, const char *id, const json_t *desired, json_t **outputs);
int invoke_update(struct call *c, const struct driver *d, const json_t *outputs, const json_t *prior,
                  const json_t *desired, json_t **new_outputs);
/* MESH_ENOTFOUND from the driver counts as success: the object is gone either way. */
int invoke_delete(struct call *c, const struct driver *d, const json_t *outputs);

#endif
