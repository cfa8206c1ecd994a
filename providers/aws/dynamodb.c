/* dynamodb.c: one DynamoDB call (see dynamodb.h). */
#include "aws/dynamodb.h"

#include <stdio.h>
#include <string.h>

#include "aws/client_json.h"
#include "aws/sigv4.h"

int dynamodb_call(struct aws_client *c, const char *action, const json_t *body, json_t **reply, int *attempts,
                  struct mesh_err *err)
{
    char target[96], what[160];
    snprintf(target, sizeof(target), "DynamoDB_20120810.%s", action);
    snprintf(what, sizeof(what), "dynamodb %s", action);
    struct sigv4_pair hdr[] = {{"X-Amz-Target", target}};
    struct aws_send s = {.service = "dynamodb", .method = "POST", .path = "/",
                         .content_type = "application/x-amz-json-1.0", .headers = hdr, .nheaders = 1,
                         .what = what};
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = aws_client_json(c, &s, body, reply, attempts, &e);
    if (rc == 0) return 0;
    const char *table = json_string_value(json_object_get(body, "TableName"));
    if (strcmp(e.cause, "ConditionalCheckFailedException") == 0) e.code = MESH_ECONFLICT;
    int denied = strcmp(e.cause, "AccessDeniedException") == 0 || strcmp(e.cause, "AccessDenied") == 0;
    int missing = strcmp(e.cause, "ResourceNotFoundException") == 0;
    if (!denied && !missing) return mesh_err_copy(err, &e, NULL);
    struct mesh_err out;
    mesh_err_init(&out);
    if (denied)
        mesh_err_set(&out, MESH_ERR, NULL, "%s on lock table %s was denied: allow dynamodb:%s on it (%s)", what,
                     table ? table : "?", action, e.msg);
    else
        mesh_err_set(&out, MESH_ENOTFOUND, NULL, "%s: lock table %s does not exist in %s (%s)", what,
                     table ? table : "?", c->region, e.msg);
    mesh_err_set_cause(&out, e.cause, e.request_id);
    return mesh_err_copy(err, &out, NULL);
}

static const char *attr(const json_t *item, const char *name, const char *type)
{
    return json_string_value(json_object_get(json_object_get(item, name), type));
}

const char *dynamodb_s(const json_t *item, const char *name) { return attr(item, name, "S"); }
const char *dynamodb_n(const json_t *item, const char *name) { return attr(item, name, "N"); }
