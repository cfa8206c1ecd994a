/* connections.h: the outputs of every connection in state, by address. A resource that belongs
 * to a connection (state_row.connection, spec_resource.connection) gets its provider handle
 * opened from these outputs (invoke.c -> provider_acquire), so refresh, delete, rollback and
 * recovery reach the cluster the object lives in, also once the spec no longer names it. The
 * table follows what the state store holds: loaded with the rows, updated as rows are committed.
 * Thread-safe: workers read it while the coordinator commits. */
#ifndef MESH_CONNECTIONS_H
#define MESH_CONNECTIONS_H

#include <jansson.h>

#include "base/vec.h"

struct state_row;

/* Forgets everything, then notes every current row of rows (struct state_row *). */
void conn_table_load(const struct vec *rows);
/* A row was written: a current connection's outputs replace what the table held. */
void conn_table_note(const struct state_row *row);
/* A row was removed from state. */
void conn_table_forget(const char *address, const char *deposed);
/* A new reference to the outputs of the connection at address, or NULL when state has none. */
json_t *conn_table_get(const char *address);
void conn_table_clear(void);

#endif
