/* dynamodb.h: one DynamoDB call (JSON 1.0: POST / with X-Amz-Target "DynamoDB_20120810.<Action>")
 * through client.h, for team state's lease (state_ddb.c). Not a driver: no struct call.
 * Retries are the HTTP layer's (throttling, ProvisionedThroughputExceededException, 5xx and
 * resets are classified by aws_classify); a caller never loops on them.
 *
 * A failure fills err with err->cause the AWS code and err->code: MESH_ECONFLICT
 * (ConditionalCheckFailedException: a condition did not hold), MESH_ENOTFOUND
 * (ResourceNotFoundException: no such table), MESH_ETHROTTLED (throttled past the retry
 * policy), else MESH_ERR; AccessDeniedException names the action and the table, and the IAM
 * permission to ask for. */
#ifndef MESH_AWS_DYNAMODB_H
#define MESH_AWS_DYNAMODB_H

#include <jansson.h>

#include "aws/client.h"

/* body: the request (its "TableName" names the table in messages). *reply (may be NULL): the
 * parsed reply. *attempts (may be NULL): how many times it was sent (client_json.h). */
int dynamodb_call(struct aws_client *c, const char *action, const json_t *body, json_t **reply, int *attempts,
                  struct mesh_err *err);

/* Attribute values of an item ({"S": "..."} / {"N": "..."}): the string or number text, NULL
 * when the attribute is absent or of another type. */
const char *dynamodb_s(const json_t *item, const char *name);
const char *dynamodb_n(const json_t *item, const char *name);

#endif
