/* aws_call.h: one AWS request on behalf of a driver call, in any of the three protocols mesh
 * speaks: Query (EC2, IAM, STS: form body, XML reply), JSON 1.1 (KMS, CloudWatch Logs: an
 * X-Amz-Target header naming the action) and REST-JSON (EKS: the action is a method and a path).
 * Each call is counted per service on the provider handle (retries count in its budget).
 *
 * A failure fills e (never c->err) with e->code one of MESH_ENOTFOUND, MESH_ETHROTTLED,
 * MESH_EINVAL (invalid parameter), MESH_ECONFLICT (exists, in use, concurrent change) or MESH_ERR,
 * e->cause = the AWS code ("ResourceInUseException"), e->request_id, and e->msg =
 * "Action failed: Code: Message (request id ID)". Drivers test e->code or e->cause, never msg.
 * The aws_do_* twins put a failure into c->err at c->address instead. */
#ifndef MESH_AWS_CALL_H
#define MESH_AWS_CALL_H

#include <jansson.h>
#include <libxml/tree.h>

#include "aws/query.h"
#include "driver.h"

/* Query: *doc (may be NULL to discard) gets the parsed reply; xmlFreeDoc it. */
int aws_call_query(struct call *c, const char *service, struct aws_query *q, xmlDocPtr *doc, struct mesh_err *e);
/* JSON 1.1: target is the X-Amz-Target ("TrentService.CreateKey", "Logs_20140328.CreateLogGroup");
 * body NULL sends {}. *reply (may be NULL to discard): the reply object ({} when empty). */
int aws_call_json(struct call *c, const char *service, const char *target, const json_t *body, json_t **reply,
                  struct mesh_err *e);
/* REST-JSON: action names the call in messages ("CreateCluster"); path is already encoded
 * ("/clusters/cluster-1/node-groups"); query without '?' or NULL; body NULL sends none. */
int aws_call_rest(struct call *c, const char *service, const char *action, const char *method, const char *path,
                  const char *query, const json_t *body, json_t **reply, struct mesh_err *e);

int aws_do_query(struct call *c, const char *service, struct aws_query *q, xmlDocPtr *doc);
int aws_do_json(struct call *c, const char *service, const char *target, const json_t *body, json_t **reply);
int aws_do_rest(struct call *c, const char *service, const char *action, const char *method, const char *path,
                const char *query, const json_t *body, json_t **reply);

/* Puts e into c->err at c->address (code, message, cause and request ID kept); returns e->code. */
int aws_fail(struct call *c, const struct mesh_err *e);

/* A path segment, percent-encoded for a REST path ("my cluster" -> "my%20cluster"); into buf. */
const char *aws_path_segment(const char *s, char *buf, size_t n);

#endif
