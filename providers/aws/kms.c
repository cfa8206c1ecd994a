/* kms.c: what the KMS drivers share (see kms.h). */
#include "aws/kms.h"

#include <stdio.h>
#include <string.h>

int kms_send(struct call *c, const char *action, const json_t *body, json_t **reply, struct mesh_err *e)
{
    char target[96];
    snprintf(target, sizeof(target), "TrentService.%s", action);
    return aws_call_json(c, "kms", target, body, reply, e);
}

int kms_do(struct call *c, const char *action, const json_t *body, json_t **reply)
{
    struct mesh_err e;
    int rc = kms_send(c, action, body, reply, &e);
    return rc ? aws_fail(c, &e) : 0;
}

int kms_each(struct call *c, const char *action, const json_t *body, const char *key, kms_item_fn *fn, void *ctx,
             struct mesh_err *e)
{
    json_t *req = body ? json_deep_copy(body) : json_object();
    int rc = 0;
    for (;;) {
        json_t *reply = NULL;
        rc = kms_send(c, action, req, &reply, e);
        if (rc) break;
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(reply, key), i, item) {
            if ((rc = fn(item, ctx)) != 0) break;
        }
        const char *next = json_string_value(json_object_get(reply, "NextMarker"));
        int more = !rc && json_is_true(json_object_get(reply, "Truncated")) && next;
        if (more) json_object_set_new(req, "Marker", json_string(next));
        json_decref(reply);
        if (!more) break;
    }
    json_decref(req);
    return rc;
}

const char *kms_key_id_of(const char *id_or_arn)
{
    const char *p = id_or_arn && strncmp(id_or_arn, "arn:", 4) == 0 ? strstr(id_or_arn, ":key/") : NULL;
    return p ? p + 5 : id_or_arn;
}
