/* objects.h: what the Kubernetes resource drivers share: mesh's markers on every object, the
 * object's identity (its metadata.uid), create-or-adopt with server-side apply, find by markers,
 * read that tells a new incarnation from ours, delete with a uid precondition, and the pure
 * helpers the unit tests exercise (metadata merged with the user's, base64 of secret data,
 * user-visible labels). */
#ifndef MESH_KUBE_OBJECTS_H
#define MESH_KUBE_OBJECTS_H

#include <jansson.h>
#include <stddef.h>

#include "driver.h"
#include "kubernetes/kube.h"

#define KOBJ_LABEL_MANAGED_BY "app.kubernetes.io/managed-by"
#define KOBJ_MANAGED_BY "mesh"
#define KOBJ_SELECTOR KOBJ_LABEL_MANAGED_BY "=" KOBJ_MANAGED_BY
#define KOBJ_ANN_ADDRESS "mesh/address"
#define KOBJ_ANN_RUN "mesh/run"
#define KOBJ_ANN_NAME "mesh/name"

#define KOBJ_TIMEOUT_CREATE 300
#define KOBJ_TIMEOUT_UPDATE 300
#define KOBJ_TIMEOUT_DELETE 600

/* Pure parts (no connection). */

/* A string member of o, or NULL. */
const char *kobj_str(const json_t *o, const char *key);
/* The member at a dotted path ("metadata.annotations"), or NULL; keys themselves hold no dots. */
json_t *kobj_at(const json_t *o, const char *a, const char *b, const char *c);
/* metadata for an object mesh applies: name, namespace (NULL/"" for cluster-scoped), the
 * user's labels and annotations with mesh's markers over them. New reference. */
json_t *kobj_metadata(const char *address, const char *run_id, const char *ns, const char *name,
                      const json_t *labels, const json_t *annotations);
/* A copy of a whole object (a manifest) with mesh's markers merged into its metadata. */
json_t *kobj_marked(const char *address, const char *run_id, const json_t *obj);
/* 1 when key is a label or annotation mesh sets itself (hidden from read). */
int kobj_mesh_key(const char *key);
/* 1 when key belongs to Kubernetes or its tools (kubernetes.io/metadata.name,
 * kubectl.kubernetes.io/last-applied-configuration): never reported as the user's. */
int kobj_system_key(const char *key);
/* The live labels/annotations map as the user sees it. applied: the map mesh applied last (only
 * its keys are mesh's: others belong to other managers and are no drift), or NULL with all set
 * (an import: every key but mesh's and the system's). New reference, never NULL. */
json_t *kobj_user_map(const json_t *live, const json_t *applied, int all);
/* 1 when obj's annotation mesh/address is address. */
int kobj_ours(const json_t *obj, const char *address);
/* Secret data: base64 of every value (strings). NULL with *bad set to the offending key when a
 * value is not a string. New reference. */
json_t *kobj_encode_data(const json_t *data, const char **bad);
/* The decoded values (a value that is not valid UTF-8 text becomes "(binary data, N bytes)").
 * NULL when a value is not valid base64. */
json_t *kobj_decode_data(const json_t *data);
/* The hex SHA-256 of secret data (plain text values), over its keys in sorted order, each key
 * and value followed by a NUL: the same data gives the same hash whatever its order. */
void kobj_data_sha256(const json_t *data, char hex[65]);
/* One base64 value decoded as a string (same rules); NULL when not base64. */
json_t *kobj_decode_value(const char *b64);
/* Where an imported object lives: an import ID "NAME" or "NAMESPACE/NAME". 0, or -1 when the ID
 * has another shape. Pointers into buf. */
int kobj_split_id(const char *id, char *buf, size_t n, const char **ns, const char **name);
/* The ID `mesh import` takes for ref with a driver of type: "[NAMESPACE/]NAME", or for
 * kubernetes_manifest "APIVERSION/KIND/[NAMESPACE/]NAME". */
void kobj_import_id(const char *type, const struct kube_ref *ref, char *buf, size_t n);

/* Manifests (manifest.c). */

/* Parses a manifest import ID (above): the kind is the first segment that starts with a capital
 * letter; before it the apiVersion, after it [NAMESPACE/]NAME. 0, or -1. Pointers into buf. */
int kobj_split_manifest_id(const char *id, char *buf, size_t n, struct kube_ref *ref);
/* live restricted to the paths of desired: the members desired names, recursively; lists of
 * objects that all have a "name" are matched by name, other lists element by element (a list
 * of another length is reported whole, so the difference shows). Scalars are live's. A path
 * live lacks is left out, so its absence shows as a change. New reference. */
json_t *kobj_project(const json_t *live, const json_t *desired);
/* live without what the server maintains (status, uid, resourceVersion, managedFields...) and
 * without mesh's markers: an imported manifest as the user would write it. New reference. */
json_t *kobj_clean(const json_t *live);
/* 1 when a and b name the same object: API group (not version), kind, namespace, name. */
int kobj_same_identity(const struct kube_ref *a, const struct kube_ref *b);

/* Driver side (c->provider is the connection's struct kube_conn). */

/* The handle, or MESH_ERR in c->err when the resource has no connection. */
int kobj_conn(struct call *c, struct kube_conn **k);
/* Creates obj with server-side apply, safely retried after a crash (SSA is idempotent): an
 * object of that name mesh did not make at this address is refused (MESH_ECONFLICT naming
 * `mesh import`); one being deleted is waited for until gone. *live: the server's object. */
int kobj_create(struct call *c, const json_t *obj, int force, json_t **live);
/* Applies obj to an existing object (update): force takes over fields other managers own. */
int kobj_apply(struct call *c, const json_t *obj, int force, json_t **live);
/* GET ref; MESH_ENOTFOUND (quietly, c->err untouched) when absent, being deleted, or when uid
 * (if not NULL) differs: another incarnation under the same name is not ours. */
int kobj_get_ours(struct call *c, const struct kube_ref *ref, const char *uid, json_t **live);
/* The object of this kind mesh made at c->address named name (find): listed by mesh's label,
 * matched by the mesh/address annotation. MESH_ENOTFOUND when none. */
int kobj_find(struct call *c, const char *api_version, const char *kind, const char *ns, const char *name,
              json_t **live);
/* Deletes ref (uid precondition) and waits until gone; gone already counts as done. */
int kobj_delete(struct call *c, const struct kube_ref *ref, const char *uid);
/* Sleeps the next poll interval (growing, capped at 5 s, scaled by MESH_BACKOFF_SCALE) unless
 * cancelled or past c->deadline: MESH_ECANCELED / MESH_ETIMEOUT in c->err then, the timeout
 * naming what. */
int kobj_poll_sleep(struct call *c, int *n, const char *what);
/* Outputs every driver returns: id and uid (metadata.uid), and object_ref (the import ID of the
 * object, which is where read finds it when state holds nothing else: after `mesh import`). */
void kobj_put_ids(json_t *outputs, const char *type, const json_t *live);
/* Runs a driver's check() on desired at create/update time (the engine calls check() only for
 * some sections while the spec compiles): the first problem becomes c->err (MESH_EINVAL). */
int kobj_checked(struct call *c, const json_t *desired,
                 int (*check)(struct call *, const json_t *, check_report_fn, void *));
/* Where the object of outputs is (apiVersion and kind given; namespaced or not): its namespace
 * and name outputs, else object_ref, else id (the probe of `mesh import`). MESH_EINVAL in c->err
 * naming the ID's shape when none of them says. Pointers into outputs or buf. */
int kobj_locate(struct call *c, const json_t *outputs, const char *api_version, const char *kind, int namespaced,
                struct kube_ref *ref, char *buf, size_t n);
/* Copies keys of desired into outputs (settable attributes echoed so read can compare). */
void kobj_echo(json_t *outputs, const json_t *desired, const char *const *keys);
/* Puts labels and annotations of live, as kobj_user_map sees them against the maps applied
 * (outputs), into cur; an empty map mesh never set is left out. */
void kobj_observe_meta(json_t *cur, const json_t *outputs, const json_t *live, int import);
/* check(): the map desired[key] (labels/annotations) must map keys to strings and leave mesh's
 * keys alone; problems are reported on attr. */
int kobj_check_meta(const json_t *desired, const char *key, const char *attr, check_report_fn report, void *ctx);

#endif
