/* ec2.h: what every EC2 driver shares: the provider handle (provider.c), one EC2 Query call on
 * behalf of a driver call with errors shaped "ADDRESS: Action failed: Code: Message (request id
 * ID)", mesh's tags (the user's plus mesh:address, mesh:run, mesh:name), lookup by tags for find,
 * polling that honours cancel and deadline, and small JSON/XML conveniences.
 *
 * Tags and drift: drivers report a resource's `tags` without the mesh:* keys, so mesh:run (new
 * every run) never makes a plan non-empty; mesh:* tags are written once, at create. */
#ifndef MESH_AWS_EC2_H
#define MESH_AWS_EC2_H

#include <jansson.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdatomic.h>

#include "aws/provider.h"
#include "aws/query.h"
#include "aws/wait.h"
#include "driver.h"

#define EC2_VERSION "2016-11-15"

/* 1: drivers whose objects take a while (VPC, NAT gateway) return from create with the ID and
 * wait in driver.wait, as DESIGN.md says. 0: create waits itself before returning (a crash
 * meanwhile is still safe: find adopts the object by its tags). 1: the engine commits the new ID
 * before calling wait, so a crash while a NAT gateway comes up cannot orphan it. */
#define EC2_SEPARATE_WAIT 1


/* The outcome of one call, for drivers that tolerate some error codes: the call's error itself
 * (test err.cause, the AWS code, never err.msg). */
struct ec2_res {
    int rc;               /* 0, or err.code: MESH_ENOTFOUND, MESH_ECONFLICT, ... (aws_call.h) */
    struct mesh_err err;  /* err.cause: the AWS code ("DependencyViolation"), "" when none;
                             err.msg: "Action failed: Code: Message (request id ID)" */
};

void ec2_query(struct aws_query *q, const char *action);
/* One call; never touches c->err. *doc (may be NULL to discard) is set on success. */
int ec2_send(struct call *c, struct aws_query *q, xmlDocPtr *doc, struct ec2_res *r);
/* One call; on failure sets c->err to "Action failed: ..." at c->address and returns its code. */
int ec2_do(struct call *c, struct aws_query *q, xmlDocPtr *doc);
/* The same for a call naming an ID created earlier in this same driver call: a *.NotFound
 * (eventual consistency) is retried a few times with short backoffs (MESH_BACKOFF_SCALE), within
 * the call's deadline and until cancelled. Never for an object of an earlier call: there
 * NotFound means gone. */
int ec2_send_fresh(struct call *c, struct aws_query *q, xmlDocPtr *doc, struct ec2_res *r);
int ec2_do_fresh(struct call *c, struct aws_query *q, xmlDocPtr *doc);
/* Sets c->err from r, code, cause and request ID kept (used after ec2_send when the error is not
 * one the caller tolerates). */
int ec2_fail(struct call *c, const struct ec2_res *r);

/* ---- tags ---- */
/* TagSpecification.N for resource type rtype: the desired `tags` plus mesh:address, mesh:run and
 * mesh:name. */
void ec2_tag_spec(struct call *c, struct aws_query *q, int n, const char *rtype, const json_t *tags);
/* {key: value} of a <tagSet>; mesh:* keys left out unless all. NULL tagset: {}. */
json_t *ec2_tags(xmlNodePtr tagset, int all);
/* Reports the user tags as "tags" in cur (ec2_observe: {} counts as the default). */
void ec2_put_tags(json_t *cur, const json_t *outputs, xmlNodePtr tagset);
/* Makes the world's user tags of id equal want (CreateTags / DeleteTags); mesh:* are kept. */
int ec2_sync_tags(struct call *c, const char *id, const json_t *want);
/* 1 when the tagset carries mesh:address = c->address and mesh:run = c->run_id. */
int ec2_tagged_ours(struct call *c, xmlNodePtr tagset);
/* Adds Filter.1/2 for tag:mesh:address and tag:mesh:run (moto ignores some tag filters, so
 * callers also check with ec2_tagged_ours). */
void ec2_filter_ours(struct call *c, struct aws_query *q);

/* Tags id with the user tags plus mesh:address, mesh:run and mesh:name: an object mesh adopts
 * rather than creates (a rule AWS refused as a duplicate of one already there) becomes mesh's. */
int ec2_tag_mesh(struct call *c, const char *id, const json_t *user_tags);

/* ---- security group rules ---- */
/* DescribeSecurityGroupRules of one group (securityGroupRuleSet); MESH_ENOTFOUND (c->err
 * untouched) when the group is gone, another error sets c->err. */
int ec2_sg_rules(struct call *c, const char *group, xmlDocPtr *doc);
/* 1 when a rule of that answer was made (or adopted) by an aws_security_group_rule of mesh: it
 * carries mesh:address. Any other rule in a group mesh made is drift (aws_security_group's
 * foreign_rules). */
int ec2_rule_by_mesh(xmlNodePtr rule);

/* ---- waiting: aws/wait.h, under the names the EC2 drivers use ---- */
#define ec2_wait aws_wait
#define ec2_wait_init aws_wait_init
#define ec2_wait_next aws_wait_next

/* ---- what most drivers share (ec2_driver.c) ---- */
/* Makes a driver's outputs from a reply item; NULL: skip the item (find only). */
typedef json_t *ec2_outputs_fn(xmlNodePtr item, const json_t *desired);
/* find: action (Describe*) filtered by mesh's tags; the first item of set_path tagged ours (checked
 * again here) for which fn gives outputs. MESH_ENOTFOUND when none; an error sets c->err. */
int ec2_find_ours(struct call *c, const char *action, const char *set_path, ec2_outputs_fn *fn,
                  const json_t *desired, json_t **outputs);
/* create: sends q (and releases it); outputs are fn(the reply's element at item_path, or its root
 * when NULL); an answer without an "id" is an error naming id_name. */
int ec2_create_one(struct call *c, struct aws_query *q, const char *item_path, ec2_outputs_fn *fn,
                   const json_t *desired, const char *id_name, json_t **outputs);
/* action with id_param=id (a Describe* of one object): 0 with *doc (the caller frees it) and *item,
 * the first item of set_path; MESH_ENOTFOUND (c->err untouched) when the answer is NotFound or
 * empty; another error sets c->err. */
int ec2_describe_one(struct call *c, const char *action, const char *id_param, const char *id, const char *set_path,
                     xmlDocPtr *doc, xmlNodePtr *item);
/* update of a type whose only updatable attribute is tags: syncs them, then outputs + echo. Also
 * the tail of every update: after its own calls, a driver ends with this. */
int ec2_update_tags(struct call *c, const json_t *outputs, const json_t *desired, const char *const *echo,
                    json_t **new_outputs);

/* A query listing what may still use an object, so a delete that waits can say what for:
 * describe filtered by filter=ID, each item's id_elem (and desc_elem, shown in brackets). */
struct ec2_blocker {
    const char *describe;     /* "DescribeNetworkInterfaces" */
    const char *filter;       /* "subnet-id" */
    const char *set_path;     /* "networkInterfaceSet" */
    const char *id_elem;      /* "networkInterfaceId" */
    const char *desc_elem;    /* "description", or NULL */
    const char *skip_desc;    /* items whose desc_elem is this are not blockers ("default"), or NULL */
    int before;               /* 1: checked before each delete attempt, which waits while any exists */
};

/* One EC2 object type, described once for the skeletons below. */
struct ec2_type {
    const char *describe, *describe_id, *set_path;  /* "DescribeSubnets", "SubnetId.1", "subnetSet" */
    const char *remove, *remove_id;                  /* "DeleteSubnet", "SubnetId" */
    const char *const *retry;   /* error codes of a dependency still going away: delete waits */
    double limit;               /* seconds delete waits at most (scaled like backoffs) */
    const struct ec2_blocker *blockers;  /* what may still use it, ended by {NULL}; may be NULL */
    const char *const *echo;    /* attributes outputs echo from desired */
};
/* read's observations of one described item into cur (a copy of outputs); 0, or a negative code
 * (MESH_ENOTFOUND: the item counts as gone). */
typedef int ec2_fill_fn(struct call *c, xmlNodePtr item, const json_t *outputs, json_t *cur);
int ec2_type_describe(const struct ec2_type *t, struct call *c, const char *id, xmlDocPtr *doc, xmlNodePtr *item);
/* find: ec2_find_ours over the type's describe action and set. */
int ec2_type_find(const struct ec2_type *t, struct call *c, ec2_outputs_fn *fn, const json_t *desired,
                  json_t **outputs);
/* read: describe the object of outputs' id, then outputs + fill's observations (fill may be NULL) +
 * the user tags. MESH_ENOTFOUND: gone. */
int ec2_type_read(const struct ec2_type *t, struct call *c, const json_t *outputs, ec2_fill_fn *fill,
                  json_t **current);
/* A driver's update when tags are the only updatable attribute. */
int ec2_type_update_tags(const struct ec2_type *t, struct call *c, const json_t *outputs, const json_t *prior,
                         const json_t *desired, json_t **new_outputs);
/* delete: t->remove of the object (of outputs' id), retrying t->retry codes up to t->limit seconds
 * while progress notes and the final error name the answer and what t->blockers find. */
int ec2_type_delete(const struct ec2_type *t, struct call *c, const json_t *outputs);
int ec2_type_delete_id(const struct ec2_type *t, struct call *c, const char *id);
/* Calls action(param=id) until it succeeds or answers not found; an error code in retry
 * (a dependency still going away) waits and tries again, up to limit seconds (scaled). */
int ec2_delete(struct call *c, const char *action, const char *param, const char *id, const char *const *retry,
               double limit);

/* A copy of c whose errors go to e (initialised here): for clean-up whose failure must not
 * replace the error being returned. */
struct call ec2_quiet(const struct call *c, struct mesh_err *e);
/* Leaves nothing behind a failed create: action(param=id) once, its own error dropped. */
void ec2_undo(struct call *c, const char *action, const char *param, const char *id);
/* The same for a create of type t that got as far as outputs: removes the object, frees
 * outputs and returns rc (the create's error). */
int ec2_type_undo(const struct ec2_type *t, struct call *c, json_t *outputs, int rc);

/* ---- the region's AZs ---- */
/* The name of the region's index-th available AZ (sorted by name), cached per run. */
int ec2_az_name(struct call *c, int index, char *name, size_t n);
int ec2_az_index(struct call *c, const char *name);

/* ---- values ---- */
const char *ec2_str(const json_t *o, const char *key);   /* NULL when absent or not a string */
int ec2_bool(const json_t *o, const char *key, int dflt);
/* Text of an element (malloc'd) or NULL. */
char *ec2_text(xmlNodePtr n, const char *path);
/* Sets key to the element's text in o, when present. */
void ec2_put_text(json_t *o, const char *key, xmlNodePtr n, const char *path);
/* "true"/"false" element → JSON bool in o, when present. */
void ec2_put_bool(json_t *o, const char *key, xmlNodePtr n, const char *path);
/* Drift without false plans: an attribute the user may leave out is reported by read when the
 * world differs from its default, or when outputs hold it (create/update echo every such
 * attribute the user gave: ec2_echo). Takes v's reference. */
void ec2_observe(json_t *cur, const json_t *outputs, const char *key, json_t *v, int is_default);
/* Copies desired[keys...] (those present) into outputs; keys ends with NULL. */
void ec2_echo(json_t *outputs, const json_t *desired, const char *const *keys);
/* The id in outputs, or sets c->err. */
const char *ec2_id(struct call *c, const json_t *outputs);
/* The first <item> of the set at path below the reply root, or NULL. */
xmlNodePtr ec2_first_item(xmlDocPtr doc, const char *set_path);

#endif
