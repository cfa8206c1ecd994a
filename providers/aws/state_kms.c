/* state_kms.c: the state key of team state as a KMS data key (see state_kms.h). Two JSON 1.1
 * calls through client_json.h; the replies carry the plaintext key, so they are secret_reply
 * (never logged) and every buffer that held it is wiped (the raw reply by client_json.c, the
 * decoded copies here, jansson's strings by wipe.h's allocator and in place below). */
#include "aws/state_kms.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aws/client_json.h"
#include "aws/sigv4.h"
#include "base/wipe.h"
#include "base/xalloc.h"
#include "base64.h"

static atomic_long requests;

long state_kms_requests(void) { return atomic_load(&requests); }

static int kms_call(struct aws_client *c, const char *action, const json_t *body, json_t **reply, struct mesh_err *e)
{
    char target[64], what[64];
    snprintf(target, sizeof(target), "TrentService.%s", action);
    snprintf(what, sizeof(what), "kms %s", action);
    struct sigv4_pair hdr[] = {{"X-Amz-Target", target}};
    struct aws_send s = {.service = "kms", .method = "POST", .path = "/", .content_type = "application/x-amz-json-1.1",
                         .headers = hdr, .nheaders = 1, .what = what, .secret_body = 1, .secret_reply = 1};
    atomic_fetch_add(&requests, 1);
    mesh_err_init(e);
    return aws_client_json(c, &s, body, reply, NULL, e);
}

/* What to do about a KMS failure, by its code; NULL when the AWS message says it best. */
static const char *advice(const char *code)
{
    if (strcmp(code, "AccessDeniedException") == 0) return "ask for that permission on the key (key policy or IAM)";
    if (strcmp(code, "NotFoundException") == 0)
        return "check state.kms_key_id (a key ID, ARN or alias/NAME) and the region; a deleted key cannot be "
               "brought back";
    if (strcmp(code, "DisabledException") == 0) return "enable it (aws kms enable-key --key-id KEY)";
    if (strcmp(code, "KMSInvalidStateException") == 0)
        return "it is pending deletion or import: cancel the deletion (aws kms cancel-key-deletion --key-id KEY)";
    if (strcmp(code, "InvalidCiphertextException") == 0)
        return "the wrapped key beside the state is damaged, or was made by KMS in another account or region";
    if (strcmp(code, "IncorrectKeyException") == 0) return "the wrapped key was made with another KMS key";
    if (strcmp(code, "InvalidKeyUsageException") == 0) return "state.kms_key_id must be a symmetric encryption key";
    return NULL;
}

/* e (a failed call) -> err: what failed, on which key, the AWS words, and what to do. Never
 * MESH_ENOTFOUND: for the backend that means "no state key made yet", and a key that exists
 * but cannot be unwrapped must not lead to making a second one. */
static int report(const struct mesh_err *e, const char *doing, const char *key, const char *perm,
                  struct mesh_err *err)
{
    const char *todo = advice(e->cause);
    int code = e->code == MESH_ETHROTTLED ? MESH_ETHROTTLED : e->code == MESH_ENOTFOUND ? MESH_EINVAL : MESH_ERR;
    struct mesh_err out;
    mesh_err_init(&out);
    mesh_err_set(&out, code, NULL, "%s with KMS key %s failed (%s): %s%s%s", doing, key, perm, e->msg, todo ? "; " : "",
                 todo ? todo : "");
    mesh_err_set_cause(&out, e->cause, e->request_id);
    return mesh_err_copy(err, &out, NULL);
}

/* The base64 field name of reply, decoded (wipe_free it); NULL when absent or not base64. The
 * field's own text is wiped in place (jansson would only wipe it when the reply is freed). */
static unsigned char *field_bytes(json_t *reply, const char *name, size_t *n)
{
    json_t *v = json_object_get(reply, name);
    const char *s = json_string_value(v);
    if (!s) return NULL;
    unsigned char *out = b64_decode(s, n);
    OPENSSL_cleanse((char *)s, json_string_length(v));
    return out;
}

/* The plaintext of a GenerateDataKey or Decrypt reply into key (REMOTE_KEY_LEN bytes). */
static int take_key(json_t *reply, unsigned char *key, const char *what, struct mesh_err *err)
{
    size_t n = 0;
    unsigned char *plain = field_bytes(reply, "Plaintext", &n);
    int ok = plain && n == REMOTE_KEY_LEN;
    if (ok) memcpy(key, plain, REMOTE_KEY_LEN);
    if (plain) {
        OPENSSL_cleanse(plain, n);
        wipe_free(plain);
    }
    if (!ok)
        return mesh_err_set(err, MESH_ERR, NULL, "%s: the reply holds no %d-byte Plaintext (%s)", what,
                            REMOTE_KEY_LEN, plain ? "another length" : "absent or not base64");
    return 0;
}

int state_kms_generate(struct aws_client *client, const char *kms_key_id, unsigned char *key,
                       unsigned char **wrapped, size_t *wrapped_len, struct mesh_err *err)
{
    *wrapped = NULL;
    *wrapped_len = 0;
    json_t *req = json_pack("{s:s, s:s}", "KeyId", kms_key_id, "KeySpec", "AES_256"), *reply = NULL;
    struct mesh_err e;
    int rc = kms_call(client, "GenerateDataKey", req, &reply, &e);
    json_decref(req);
    if (rc) return report(&e, "making the state key", kms_key_id, "kms:GenerateDataKey", err);
    rc = take_key(reply, key, "kms GenerateDataKey", err);
    if (rc == 0) {
        *wrapped = field_bytes(reply, "CiphertextBlob", wrapped_len);
        if (!*wrapped || *wrapped_len == 0) {
            OPENSSL_cleanse(key, REMOTE_KEY_LEN);
            free(*wrapped);
            *wrapped = NULL;
            *wrapped_len = 0;
            rc = mesh_err_set(err, MESH_ERR, NULL, "kms GenerateDataKey: the reply holds no CiphertextBlob");
        }
    }
    json_decref(reply);
    return rc;
}

int state_kms_wrap(struct aws_client *client, const char *kms_key_id, const unsigned char *key,
                   unsigned char **wrapped, size_t *wrapped_len, struct mesh_err *err)
{
    *wrapped = NULL;
    *wrapped_len = 0;
    char *plain = b64_encode(key, REMOTE_KEY_LEN);
    json_t *req = json_pack("{s:s, s:s}", "KeyId", kms_key_id, "Plaintext", plain), *reply = NULL;
    OPENSSL_cleanse(plain, strlen(plain));
    free(plain);
    struct mesh_err e;
    int rc = kms_call(client, "Encrypt", req, &reply, &e);
    json_decref(req);   /* jansson's values are wiped when freed (engine/base/wipe.c) */
    if (rc) return report(&e, "wrapping the state key", kms_key_id, "kms:Encrypt", err);
    *wrapped = field_bytes(reply, "CiphertextBlob", wrapped_len);
    json_decref(reply);
    if (!*wrapped || *wrapped_len == 0) {
        free(*wrapped);
        *wrapped = NULL;
        *wrapped_len = 0;
        return mesh_err_set(err, MESH_ERR, NULL, "kms Encrypt: the reply holds no CiphertextBlob");
    }
    return 0;
}

int state_kms_unwrap(struct aws_client *client, const unsigned char *wrapped, size_t wrapped_len,
                     unsigned char *key, struct mesh_err *err)
{
    char *blob = b64_encode(wrapped, wrapped_len);
    json_t *req = json_pack("{s:s}", "CiphertextBlob", blob), *reply = NULL;
    free(blob);
    struct mesh_err e;
    int rc = kms_call(client, "Decrypt", req, &reply, &e);
    json_decref(req);
    if (rc) return report(&e, "unwrapping the state key", "that wrapped it (state.kms_key_id)", "kms:Decrypt", err);
    rc = take_key(reply, key, "kms Decrypt", err);
    json_decref(reply);
    return rc;
}
