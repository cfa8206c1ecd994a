/* session.h: what every command that touches a spec or a state sets up the same way: the spec,
 * the state path and store, the run ID and the lock. */
#ifndef MESH_SESSION_H
#define MESH_SESSION_H

#include <jansson.h>

#include "base/err.h"
#include "base/vec.h"
#include "cli.h"

struct spec;
struct store;

struct session {
    struct cli_opts *o;
    struct spec *spec;
    struct store *store;
    char *state_path;    /* a local file, or the remote's URL ("s3://bucket/key") for messages */
    struct remote *remote;  /* team state (state/remote.h), opened by session_open_state; else NULL */
    char *cache_path;    /* remote state's local copy (this process's own), removed at release */
    int writing;         /* the command writes state: a remote backend checks more before it opens */
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
/* Resolves where state is: --state, MESH_STATE, the spec's state: section, or .mesh/state.db
 * beside the spec. A URL ("s3://bucket/key") or state.backend s3 names a remote (team state):
 * this then returns the URL, for messages. */
const char *session_state_path(struct session *s);
/* "<the spec's folder>/.mesh/NAME" (new string): where mesh keeps its files beside a spec. */
char *session_mesh_path(struct session *s, const char *name);
/* Team state as one URL with its options ("s3://bucket/key?lock_table=T&kms_key_id=K"), from
 * --state / MESH_STATE or the spec's state: section; NULL for local state. A new string. */
char *session_state_url(struct session *s);
/* The backend state lives on (url, else --state / MESH_STATE, else the spec's state: section):
 * its name into name ("local", "s3", ...) and *config (new: {"url": ...} or the section as JSON,
 * booleans as booleans). MESH_EINVAL for a URL without a scheme. */
int session_state_backend(struct session *s, const char *url, char *name, size_t name_len, json_t **config,
                          struct mesh_err *err);
/* 1 when state lives on a remote backend (the state: section or a URL says so). */
int session_state_remote(struct session *s);
/* Opens the state; with create unset and no state, returns 1 and leaves s->store NULL. Remote
 * state is opened through a local cache under .mesh/remote/ beside the spec (state/sync.h). */
int session_open_state(struct session *s, int create, struct mesh_err *err);
/* The backend named by a URL or a spec's state: section, opened (for `mesh state migrate`'s
 * target); url NULL: the session's own. *out is freed with session_remote_free. */
int session_remote_open(struct session *s, const char *url, struct remote **out, struct mesh_err *err);
void session_remote_free(struct remote *r);
int session_lock(struct session *s, const char *command, struct mesh_err *err);
/* session_open_state then session_lock, for a command that writes at once; team state takes its
 * lease before reading the state, so it is read once. Returns as session_open_state (1: none). */
int session_open_locked(struct session *s, int create, const char *command, struct mesh_err *err);
/* Releases the lock now (team state: the last logs, the compaction, the lease); an error says
 * what could not be done. session_release does it too, silently, when this was not called. */
int session_unlock(struct session *s, struct mesh_err *err);
int session_load_rows(struct session *s, struct mesh_err *err);
/* Asks "yes" on a terminal; refuses without one unless --auto-approve. 0 = go ahead. */
int session_confirm(struct session *s, const char *what);

#endif
