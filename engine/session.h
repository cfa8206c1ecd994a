/* session.h: what every command that touches a spec or a state sets up the same way: the spec,
 * the state path and store, the run ID and the lock. */
#ifndef MESH_SESSION_H
#define MESH_SESSION_H

#include "base/err.h"
#include "base/vec.h"
#include "cli.h"

struct spec;
struct store;

struct session {
    struct cli_opts *o;
    struct spec *spec;
    struct store *store;
    char *state_path;
    char run_id[64];
    struct vec rows;     /* struct state_row *, after session_load_rows */
    int locked;
    const char *spec_text;  /* when set, the spec is this text (a saved plan), named o->spec_path */
};

void session_init(struct session *s, struct cli_opts *o);
void session_release(struct session *s);
/* Loads and validates the spec (with the cycle check); prints every diagnostic. -1 on errors.
 * With optional set, a missing spec file is not an error (s->spec stays NULL). */
int session_load_spec(struct session *s, int optional);
/* For commands that only read state (kubeconfig, token, check): the spec, when there is one,
 * says where state is and holds the mesh: section (credentials profile) handed to the
 * providers. A missing variable is no error, and a spec that does not load only warns. */
void session_load_spec_lenient(struct session *s);
/* Resolves the state path: --state, MESH_STATE, or .mesh/state.db beside the spec. */
const char *session_state_path(struct session *s);
/* Opens the state; with create unset and no state file, returns 1 and leaves s->store NULL. */
int session_open_state(struct session *s, int create, struct mesh_err *err);
int session_lock(struct session *s, const char *command, struct mesh_err *err);
int session_load_rows(struct session *s, struct mesh_err *err);
/* Asks "yes" on a terminal; refuses without one unless --auto-approve. 0 = go ahead. */
int session_confirm(struct session *s, const char *what);

#endif
