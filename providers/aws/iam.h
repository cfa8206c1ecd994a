/* iam.h: what the IAM drivers (role, policy, OIDC provider) share: one IAM Query call, its
 * paging (Marker / IsTruncated), the retry of a call naming an object IAM has not yet seen
 * everywhere, IAM's tag lists, and policy documents: IAM returns them URL-encoded, and two
 * documents that differ only in key order or spacing are the same document (no drift). */
#ifndef MESH_AWS_IAM_H
#define MESH_AWS_IAM_H

#include <jansson.h>
#include <libxml/tree.h>

#include "aws/aws_call.h"
#include "driver.h"

#define IAM_VERSION "2010-05-08"

void iam_query(struct aws_query *q, const char *action);
/* One IAM call; releases q. *doc may be NULL to discard the reply. */
int iam_send(struct call *c, struct aws_query *q, xmlDocPtr *doc, struct mesh_err *e);
/* The same, with a failure in c->err at c->address. */
int iam_do(struct call *c, struct aws_query *q, xmlDocPtr *doc);
/* For a call naming an object created moments ago in this same driver call (AttachRolePolicy
 * right after CreateRole): NoSuchEntity is retried through the one AWS waiter (aws/wait.h) for
 * a few seconds. Releases q. */
int iam_do_fresh(struct call *c, struct aws_query *q, xmlDocPtr *doc);

/* Calls action with params ({name, value} pairs ended by NULL) page after page; each member of
 * the list at list_path below the reply's <ActionResult> goes to fn (returning < 0 stops with
 * that code). An error sets e. */
typedef int iam_member_fn(xmlNodePtr member, void *ctx);
int iam_each(struct call *c, const char *action, const char *const *params, const char *list_path,
             iam_member_fn *fn, void *ctx, struct mesh_err *e);
/* The text of every member's element elem (or of the member itself when elem is NULL), as a
 * JSON list of strings. */
int iam_list(struct call *c, const char *action, const char *const *params, const char *list_path, const char *elem,
             json_t **out, struct mesh_err *e);

/* The <ActionResult> element of a reply ("GetRoleResult"), or NULL. */
xmlNodePtr iam_result(xmlDocPtr doc, const char *action);

/* ---- tags ---- */
/* Tags.member.N.Key/Value: the user's tags plus mesh:address, mesh:run, mesh:name. */
void iam_add_mesh_tags(struct call *c, struct aws_query *q, const json_t *user_tags);
/* {key: value} of a <Tags> list (every key, mesh:* too). */
json_t *iam_tags(xmlNodePtr tags);
/* Makes the user tags of one object equal want (mesh:* kept): kind "Role", "Policy" or
 * "OpenIDConnectProvider" names the Tag/Untag/List...Tags actions, param the object's parameter
 * ("RoleName", "PolicyArn", "OpenIDConnectProviderArn"). */
int iam_sync_tags(struct call *c, const char *kind, const char *param, const char *value, const json_t *want);
/* The object's tags by List<kind>Tags; MESH_ENOTFOUND when it is gone. */
int iam_read_tags(struct call *c, const char *kind, const char *param, const char *value, json_t **tags,
                  struct mesh_err *e);

/* ---- policy documents ---- */
/* %XX-decoding of IAM's returned document (RFC 3986; '+' stays '+'); a text that already reads
 * as JSON is copied as is. Caller frees. */
char *iam_url_decode(const char *s);
/* The canonical text of a JSON document (keys sorted, compact); NULL when it is not JSON. */
char *iam_canonical(const char *text);
/* Reports the world's document (as IAM returns it) under key in cur: outputs' text when it is
 * the same document (so an equivalent text never shows as drift), else the world's, canonical. */
void iam_observe_doc(json_t *cur, const json_t *outputs, const char *key, const char *world);
/* check(): reports key when it is present, holds no reference and is not a JSON object. */
int iam_check_doc(const json_t *desired, const char *key, check_report_fn report, void *ctx);

/* ---- lists ---- */
/* Reports a list the world holds under key in cur: outputs' list when it holds the same strings
 * (order aside), else the world's sorted; the empty list counts as the default (ec2_observe). */
void iam_observe_set(json_t *cur, const json_t *outputs, const char *key, json_t *world);
/* 1 when the string list l holds s. */
int iam_list_has(const json_t *l, const char *s);

#endif
