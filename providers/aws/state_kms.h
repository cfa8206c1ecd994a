/* state_kms.h: the state key of team state, a data key of AWS KMS (issue 14): GenerateDataKey
 * (AES_256) makes it and its wrapped form (the CiphertextBlob, stored beside the state); Decrypt
 * unwraps it on any machine allowed to. The plaintext key is a secret: never logged, wiped by
 * the caller. Plain KMS JSON 1.1 calls through client.h (no driver, no struct call). */
#ifndef MESH_AWS_STATE_KMS_H
#define MESH_AWS_STATE_KMS_H

#include <stddef.h>

#include "aws/client.h"
#include "remote.h"

/* key: REMOTE_KEY_LEN bytes out; *wrapped (xmalloc'd, caller frees) the CiphertextBlob bytes. */
int state_kms_generate(struct aws_client *client, const char *kms_key_id, unsigned char *key,
                       unsigned char **wrapped, size_t *wrapped_len, struct mesh_err *err);
/* Wraps an existing key (KMS Encrypt under kms_key_id): the state key of a state moved to S3. */
int state_kms_wrap(struct aws_client *client, const char *kms_key_id, const unsigned char *key,
                   unsigned char **wrapped, size_t *wrapped_len, struct mesh_err *err);
/* A key that cannot be unwrapped (AccessDenied, a disabled or deleted key, another account's
 * blob) fails with a message naming the KMS key and what to ask for (kms:Decrypt). */
int state_kms_unwrap(struct aws_client *client, const unsigned char *wrapped, size_t wrapped_len,
                     unsigned char *key, struct mesh_err *err);
/* Requests made (for state_s3_counts). */
long state_kms_requests(void);

#endif
