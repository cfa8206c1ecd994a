/* kms.h: what the KMS drivers (key, alias) share: one KMS call (JSON 1.1, X-Amz-Target
 * "TrentService.<Action>") and KMS's paging (Marker / NextMarker / Truncated). */
#ifndef MESH_AWS_KMS_H
#define MESH_AWS_KMS_H

#include <jansson.h>

#include "aws/aws_call.h"
#include "driver.h"

/* One call; failures go to e. *reply may be NULL to discard. */
int kms_send(struct call *c, const char *action, const json_t *body, json_t **reply, struct mesh_err *e);
/* The same, with a failure in c->err at c->address. */
int kms_do(struct call *c, const char *action, const json_t *body, json_t **reply);
/* Calls action with body (may be NULL) page after page; each item of the reply's list key goes
 * to fn (returning non-zero stops: that value is returned). An error goes to e. */
typedef int kms_item_fn(const json_t *item, void *ctx);
int kms_each(struct call *c, const char *action, const json_t *body, const char *key, kms_item_fn *fn, void *ctx,
             struct mesh_err *e);
/* The key ID of a key ID or key ARN ("arn:aws:kms:...:key/ID" -> "ID"). */
const char *kms_key_id_of(const char *id_or_arn);

#endif
