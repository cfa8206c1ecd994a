/* driver.h: the driver contract. One vtable per resource type, registered once in drivers.def.
 * Drivers hold no state of their own: the engine passes in what they need (struct call) and
 * stores what they return. Drivers never see the DAG or the state store. */
#ifndef MESH_DRIVER_H
#define MESH_DRIVER_H

#include <jansson.h>
#include <signal.h>

#include "base/err.h"

/* Attribute flags (struct attr.flags). */
enum {
    ATTR_REQUIRED = 1 << 0,
    ATTR_COMPUTED = 1 << 1,      /* an output, set by the driver */
    ATTR_FORCE_NEW = 1 << 2,     /* a change replaces the resource */
    ATTR_SENSITIVE = 1 << 3,     /* encrypted in state, (sensitive) in plans, never logged */
    ATTR_IRREVERSIBLE = 1 << 4,  /* an in-place change rollback cannot undo (EKS version) */
    ATTR_RECOMPUTED = 1 << 5,    /* an output an in-place update may change: unknown until applied */
};

/* Attribute value types, checked by the spec loader. */
enum attr_type { T_ANY, T_STRING, T_NUMBER, T_BOOL, T_LIST, T_MAP };

struct attr {
    const char *name;
    enum attr_type type;
    int flags;
    const char *doc;
};

/* Driver flags (struct driver.flags). */
enum {
    DRIVER_CREATE_BEFORE_DESTROY = 1 << 0,  /* two can coexist: replace creates the new one first */
    DRIVER_GUARDED = 1 << 1,                /* replace/delete outside destroy needs --allow-replace */
    DRIVER_CHECK_IN_SPEC = 1 << 2,          /* check() runs while the spec compiles (validate shows where) */
};

typedef void (*progress_fn)(void *ctx, const char *address, const char *fmt, ...);
/* A driver's check() reports each problem with the attribute it is about. */
typedef void (*check_report_fn)(void *ctx, const char *attr, const char *msg);

/* Everything a driver call gets from the engine. */
struct call {
    const char *address;        /* "aws_vpc.main" */
    const char *type;
    const char *run_id;         /* tag objects with it (mesh:run) so find can adopt them */
    char token[64];             /* idempotency token: stable for one (run, address, action) */
    double deadline;            /* monotonic seconds (mesh_now_mono()); 0 = none */
    volatile sig_atomic_t *cancel;  /* non-zero: give up politely as soon as possible */
    progress_fn progress;       /* "still creating..." hook; may be NULL */
    void *progress_ctx;
    struct mesh_err *err;       /* where a failing call explains itself */
    void *provider;             /* opaque provider handle; the engine never looks inside */
    const char *connection;     /* address of the connection the resource belongs to, or NULL */
};

/* A provider: what several drivers share (credentials, region, HTTP retry counters, a cluster's
 * client). The registry opens one handle per (provider, connection) on first use and hands it to
 * every call of that provider's drivers for resources of that connection (struct call.provider);
 * handles are reference-counted, so a connection whose outputs change gets a new handle while
 * calls in flight finish on the old one. */
struct provider {
    const char *name;  /* "aws" */
    /* config: the outputs of the resource's connection when it belongs to one, else the spec's
     * mesh: section (may be NULL). The handle must be thread-safe to use after. */
    int (*open)(const json_t *config, void **handle, struct mesh_err *err);
    /* Its resources must belong to a connection (a spec without `connection:` is refused). */
    int needs_connection;
    /* Non-NULL: its resources belong to the connections of that provider too, and open is given
     * their outputs (helm works on a kubernetes_connection). */
    const struct provider *uses_connections_of;
    /* Figures for the run summary, e.g. {"display_name": "AWS", "retries": 3, "api_calls": 120}
     * (display_name: how the summary names the provider; its key name when absent); may be NULL. */
    json_t *(*stats)(void *handle);
    void (*close)(void *handle);
    /* Optional: a least-privilege policy document in the provider's own policy language (`mesh
     * resources --iam-policy`), from request {"permissions": [sorted unique strings of its
     * drivers' permissions], "resources": [{"address", "type", "attributes"}] (the spec's
     * resources of its drivers, attributes as compiled, references unresolved; [] without a
     * spec), "config": the spec's mesh: section or null}. Returns a new reference; no network. */
    json_t *(*policy)(const json_t *request);
};

struct driver {
    const char *type;          /* "null_resource" */
    const struct provider *provider;  /* NULL: needs no provider (null, pki) */
    /* Non-NULL: this type is a connection (kubernetes_connection), a node of the DAG whose outputs
     * open the handles of that provider for the resources that belong to it (spec key
     * `connection:`). Its outputs say how to reach and authenticate (an endpoint, a CA, an EKS
     * cluster name, a kubeconfig path), never a secret: a token is made when a handle needs it. */
    const struct provider *connects;
    const struct attr *schema; /* terminated by {NULL} */
    int flags;
    const char *doc;
    /* What the provider's identity must be allowed to do for create, wait, find, read, update and
     * delete of this type, in the provider's own words ("ec2:CreateVpc"), ended by NULL: every
     * call the driver and the shared code it uses make, plus what the API checks beyond the call
     * itself (iam:PassRole for a role handed to a service). NULL: none. Printed by `mesh
     * resources --iam-policy` through the provider's policy(); a unit test holds them to the
     * driver's source. */
    const char *const *permissions;
    /* Default timeouts in seconds for create (+wait), update and delete; 0: none. The spec's
     * `timeouts:` (per type, or per resource) overrides them. */
    double timeout_create, timeout_update, timeout_delete;
    /* Returns as soon as the API gave an ID; *outputs gets a new reference. */
    int (*create)(struct call *, const json_t *desired, json_t **outputs);
    /* Polls until usable; NULL when create is instant. *ready: new outputs or NULL (keep). */
    int (*wait)(struct call *, const json_t *outputs, json_t **ready);
    /* Looks up an object by mesh tags (address, run) to adopt a cut-off create.
     * MESH_ENOTFOUND when there is none. */
    int (*find)(struct call *, const json_t *desired, json_t **outputs);
    /* Optional: 0 when this type's calls change nothing outside the state right now (null
     * resources without MESH_NULL_STORE), so a call's intent need not be durable before it: with
     * remote state, it travels with the next log instead of costing a round trip. NULL: they do. */
    int (*touches_world)(void);
    /* *current: the attributes as the world holds them now (only those it can observe) plus
     * outputs. MESH_ENOTFOUND: gone. */
    int (*read)(struct call *, const json_t *outputs, json_t **current);
    /* NULL when every attribute is FORCE_NEW. */
    int (*update)(struct call *, const json_t *outputs, const json_t *prior, const json_t *desired,
                  json_t **new_outputs);
    /* Waits until gone; MESH_ENOTFOUND counts as success for the engine. */
    int (*delete)(struct call *, const json_t *outputs);
    /* Optional: checks desired attributes from local files only (no provider, no network) while
     * the spec compiles, so problems show with the spec's position before any API call. Calls
     * report once per problem; returns how many. NULL: nothing to check. */
    int (*check)(struct call *, const json_t *desired, check_report_fn report, void *ctx);
    /* Optional, for `mesh import ADDRESS ID`: finds the object a user names by id, the type's
     * natural ID (a name, "CLUSTER:NODEGROUP", an ARN: what Terraform's import takes), whoever
     * made it, and sets *outputs to what create would have returned for it. desired: the spec's
     * attributes of ADDRESS, references resolved from state where they can be (the others left
     * out); inputs are echoed from it, what the id names taking precedence, so read() reports
     * the world against them. A malformed id: MESH_EINVAL saying the expected form; no such
     * object: MESH_ENOTFOUND. The engine read()s *outputs next. NULL: read() gets {"id": id}. */
    int (*import)(struct call *, const char *id, const json_t *desired, json_t **outputs);
};

/* A credential one provider makes for another on demand, found by name so that neither includes
 * the other's headers (an EKS token for a Kubernetes connection: Kube -> registry, never
 * Kube -> AWS). One line per hook in auth_hooks.def: AUTH_HOOK(name, c_function). */
struct auth_token {
    char *secret;     /* the bearer token; wiped by auth_token_release */
    long long expires;  /* unix seconds from which a new one must be made */
};
/* params: what the connection stored ({"cluster_name": "c1", "region": "eu-west-1"} for "eks");
 * mesh_config: the spec's mesh: section (credentials profile...), may be NULL. */
typedef int (*auth_hook_fn)(const json_t *params, const json_t *mesh_config, struct auth_token *out,
                            struct mesh_err *err);

/* A provider-side check of what state says was built (`mesh check`), found by name so the engine
 * includes no provider header. One line per hook in check_hooks.def: CHECK_HOOK(name, c_function).
 * input: {"resources": [{"address", "type", "connection", "attributes", "outputs"}] (state's rows,
 * no sensitive value), "mesh": the spec's mesh: section or null, "options": {"traffic": bool,
 * "timeout": seconds}}. c: cancel, progress and deadline (c->err: why it could not run).
 * *report: {"ok": bool, "clusters": {"c1": [{"check", "ok", "detail", "fix"}]}}; never a secret.
 * Returns 0 when it ran (whatever the checks found), else the error code with c->err set. */
typedef int (*check_hook_fn)(struct call *c, const json_t *input, json_t **report);

/* A place state can live besides a local file (team state), found by name so the engine
 * includes no provider header: one line per backend in state_backends.def. config: the spec's
 * state: section as JSON, or {"url": "s3://bucket/key"} from --state / MESH_STATE; mesh_config:
 * the spec's mesh: section (credentials profile), may be NULL. preflight: check the place
 * first (a writing run; the engine asks once a day per configuration): the bucket exists in the
 * region, the lock table exists, versioning is on. A warning
 * for the user (a bucket without versioning) goes to warning (empty: none). On success *out is
 * ready (state/remote.h) and owned by the caller (out->ops->free). */
struct remote;
typedef int (*state_backend_fn)(const json_t *config, const json_t *mesh_config, int preflight, struct remote *out,
                                char *warning, size_t warning_len, struct mesh_err *err);

/* What a backend needs allowed, for `mesh resources --iam-policy`: doc (its provider's policy
 * document for the spec's resources, or NULL when there is none; taken) returned with the
 * backend's permissions added, scoped to the state config names. */
typedef json_t *(*state_backend_policy_fn)(const json_t *config, const json_t *mesh_config, json_t *doc);

/* registry.c */
/* The backend named name (state_backends.def); MESH_EINVAL naming the known ones when none. */
int state_backend_open(const char *name, const json_t *config, int preflight, struct remote *out, char *warning,
                       size_t warning_len, struct mesh_err *err);
/* The provider whose policy document backend name's permissions join (NULL: no such backend). */
const char *state_backend_provider(const char *name);
/* doc (taken; may be NULL) with backend name's permissions for config added; doc as it was for
 * an unknown backend. */
json_t *state_backend_policy(const char *name, const json_t *config, json_t *doc);
/* The handle of d's provider for a resource of connection (its address; NULL: none) whose
 * outputs are conn_config (ignored when connection is NULL: the mesh: section is used). Opened
 * on first use, then shared; a new conn_config for the same connection opens a new handle.
 * Returns a reference (release it with provider_release; the run's own handle, without a
 * connection, lives until provider_close_all and its release does nothing), or NULL with err
 * set; NULL without error when d needs no provider. Stats sum the handles of one provider. */
void *provider_acquire(const struct driver *d, const char *connection, const json_t *conn_config,
                       struct mesh_err *err);
void provider_release(const struct driver *d, void *handle);
/* Opens (once) the provider of d without a connection; the registry keeps the reference. */
void *provider_handle(const struct driver *d, struct mesh_err *err);
void provider_configure(const json_t *config);  /* the spec's mesh: section, before any call */
/* The token of the hook named name (auth_hooks.def); MESH_ERR naming it when there is none. */
int auth_hook_token(const char *name, const json_t *params, struct auth_token *out, struct mesh_err *err);
void auth_token_release(struct auth_token *t);
/* Runs the check hook named name (check_hooks.def); MESH_ERR in c->err when there is none. */
int check_hook_run(const char *name, struct call *c, const json_t *input, json_t **report);
/* Stats of every provider opened so far, {"aws": {...}}, or NULL. Caller decrefs. */
json_t *provider_stats(void);
void provider_close_all(void);
/* The providers' HTTP library and its version ("libcurl 8.0.1"), for `mesh version`. */
const char *provider_http_version(void);
const struct driver *driver_find(const char *type);
size_t driver_count(void);
const struct driver *driver_at(size_t i);
const struct attr *driver_attr(const struct driver *d, const char *name);
/* Nearest known type name for "did you mean"; NULL if none is close. */
const char *driver_suggest(const char *type);

#endif
