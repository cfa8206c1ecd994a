/* eks.h: what the EKS drivers (cluster, node group, add-on) share: REST paths, describe by path,
 * waiting for an object to be ACTIVE or gone (DescribeX polled through aws_wait_until, with
 * "cluster-1 is CREATING (3m10s)" notes), waiting for an update (DescribeUpdate until Successful),
 * the EKS `tags` map (mesh:* written at create, reported without), a create retried while EKS
 * answers InvalidParameterException for a role IAM has not propagated yet, and drift helpers
 * that keep a second plan empty (lists compared as sets, JSON text compared canonically). */
#ifndef MESH_AWS_EKS_H
#define MESH_AWS_EKS_H

#include <jansson.h>

#include "aws/aws_call.h"
#include "driver.h"

/* One kind of EKS object. */
struct eks_kind {
    const char *what;      /* "cluster", "node group", "add-on": in notes and errors */
    const char *key;       /* the reply's member: "cluster", "nodegroup", "addon" */
    const char *describe;  /* "DescribeCluster" */
    const char *const *failed;  /* statuses that end a wait for ACTIVE with an error */
};

extern const struct eks_kind eks_cluster_kind, eks_nodegroup_kind, eks_addon_kind;

/* "/clusters/C" or, with sub ("node-groups", "addons"), "/clusters/C/sub/NAME"; segments encoded. */
const char *eks_path(char *buf, size_t n, const char *cluster, const char *sub, const char *name);

/* GET path: *obj gets the reply's k->key member (new reference). MESH_ENOTFOUND (c->err
 * untouched) when EKS answers ResourceNotFoundException; another error sets c->err. */
int eks_describe(struct call *c, const struct eks_kind *k, const char *path, json_t **obj);

/* Polls path until its status is ACTIVE (*obj: the last description, new reference, may be NULL
 * to discard). A status in k->failed is an error naming the health issues. limit: seconds. */
int eks_wait_active(struct call *c, const struct eks_kind *k, const char *path, const char *name, double limit,
                    json_t **obj);
/* Polls path until EKS answers ResourceNotFoundException. */
int eks_wait_gone(struct call *c, const struct eks_kind *k, const char *path, const char *name, double limit);
/* For read and find of an object EKS is DELETING: it is gone for state only once EKS no longer
 * knows it (its subnets, role and name are held until then), so wait for that. MESH_ENOTFOUND
 * once gone, else the wait's error. */
int eks_gone_when_deleted(struct call *c, const struct eks_kind *k, const char *path, const char *name, double limit);
/* DELETE path (action names it: "DeleteCluster"), retried while EKS answers
 * ResourceInUseException (a cluster's node groups, an object still CREATING or UPDATING), then
 * polls until not found. Not found at any point counts as done. */
int eks_delete(struct call *c, const struct eks_kind *k, const char *action, const char *path, const char *name,
               double limit);
/* Polls DescribeUpdate for the update of reply ({"update": {"id"...}}) until Successful; Failed
 * or Cancelled is an error with its errors. nodegroup/addon: NULL for a cluster update. */
int eks_wait_update(struct call *c, const char *cluster, const char *nodegroup, const char *addon, const json_t *reply,
                    double limit);

/* POST path with body (clientRequestToken is the caller's), retried with backoff while EKS
 * answers InvalidParameterException, a bounded number of times: a role created moments ago may
 * not be assumable by EKS yet (IAM eventual consistency). Other errors set c->err at once. */
int eks_create(struct call *c, const char *action, const char *path, const json_t *body, json_t **reply);

/* The import hook of an EKS driver (driver.h): id is the cluster's name (sub NULL) or
 * "CLUSTER:NAME" (sub "node-groups", "addons"; form says so in the error for another shape).
 * Describes the object whoever made it: *out = outputs(it, desired with "name" or "cluster_name"
 * and "name" set from id). MESH_ENOTFOUND when EKS has none, or it is being deleted. */
int eks_import(struct call *c, const struct eks_kind *k, const char *sub, const char *form, const char *id,
               const json_t *desired, json_t *(*outputs)(const json_t *obj, const json_t *desired), json_t **out);

/* "CODE: message; CODE: message" of obj.health.issues, or "no health issues reported". Caller
 * frees. */
char *eks_health(const json_t *obj);

/* Makes the user tags of arn equal want (TagResource / UntagResource); have: the object's tags
 * as described (mesh:* are never touched). */
int eks_sync_tags(struct call *c, const char *arn, const json_t *have, const json_t *want);
/* Reports the world's user tags (obj.tags without mesh:*) as "tags" in cur; the outputs' own
 * value when equal as text (a number tag stays a number); {} counts as the default. */
void eks_put_tags(json_t *cur, const json_t *outputs, const json_t *obj);

/* A member by dotted path ("resourcesVpcConfig.clusterSecurityGroupId"), or NULL. */
json_t *eks_get(const json_t *o, const char *path);
const char *eks_str(const json_t *o, const char *path);

/* Drift without false plans (see ec2_observe): world (reference taken) is reported under key when
 * it differs from the default or outputs hold key. Lists equal as sets to the outputs' value are
 * reported as the outputs hold them (EKS may reorder). */
void eks_observe(json_t *cur, const json_t *outputs, const char *key, json_t *world, int is_default);
/* 1 when a and b hold the same strings, in any order. */
int eks_same_set(const json_t *a, const json_t *b);
/* JSON text in canonical form (sorted keys, compact), or NULL when text is not JSON. Free it. */
char *eks_canonical_json(const char *text);
/* 1 when both texts are the same JSON document (or, not JSON, the same text). */
int eks_same_json(const char *a, const char *b);
/* A value as text for EKS ("3" for 3): launch template versions come as numbers. Free it. */
char *eks_text(const json_t *v);
/* obj.createdAt as text (EKS sends epoch seconds; some peers an ISO string). */
void eks_created_at(const json_t *obj, char *buf, size_t n);

#endif
