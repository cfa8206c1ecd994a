/* client_json.h: one AWS call whose request and reply bodies are JSON, through aws_client_send
 * (client.h): the JSON protocols (DynamoDB's 1.0; KMS's and CloudWatch Logs' 1.1: POST / with
 * an X-Amz-Target naming the action) and REST-JSON (EKS). Shared by the drivers' aws_call.c and
 * the plain clients of team state (dynamodb.c, state_kms.c), which have no struct call. */
#ifndef MESH_AWS_CLIENT_JSON_H
#define MESH_AWS_CLIENT_JSON_H

#include <jansson.h>

#include "aws/client.h"

/* s: everything but body/body_len, which come from body (NULL: no body). *reply (may be NULL
 * to discard): the parsed 2xx reply, {} when empty. *attempts (may be NULL): how many times
 * the HTTP layer sent it (a conditional write retried after a lost reply fails its condition
 * against its own first attempt; the caller can tell). With s->secret_body / secret_reply the
 * serialised request / the raw reply are wiped before they are freed. */
int aws_client_json(struct aws_client *c, const struct aws_send *s, const json_t *body, json_t **reply, int *attempts,
                    struct mesh_err *err);

#endif
