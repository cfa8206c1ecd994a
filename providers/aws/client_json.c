/* client_json.c: one AWS call with JSON bodies (see client_json.h). */
#include "aws/client_json.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* The JSON reply of a 2xx answer; {} when the body is empty. */
static int parse_reply(const struct http_response *resp, const char *what, int secret, json_t **reply,
                       struct mesh_err *err)
{
    if (!reply) return 0;
    if (resp->body.len == 0) {
        *reply = json_object();
        return 0;
    }
    json_error_t je;
    *reply = json_loadb(resp->body.buf, resp->body.len, 0, &je);
    if (!*reply)
        return mesh_err_set(err, MESH_ERR, NULL, "%s failed: the reply is not JSON (from %s: %s)%s%.200s", what,
                            resp->url ? resp->url : "the endpoint", je.text, secret ? "" : ": ",
                            secret ? "" : resp->body.buf);
    return 0;
}

int aws_client_json(struct aws_client *c, const struct aws_send *s, const json_t *body, json_t **reply, int *attempts,
                    struct mesh_err *err)
{
    if (reply) *reply = NULL;
    if (attempts) *attempts = 0;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct aws_send send = *s;
    send.body = text;
    send.body_len = text ? strlen(text) : 0;
    struct http_response resp;
    http_response_init(&resp);
    int rc = aws_client_send(c, &send, &resp, err);
    if (attempts) *attempts = resp.attempts;
    if (rc == 0) rc = parse_reply(&resp, s->what ? s->what : s->service, s->secret_reply, reply, err);
    if (s->secret_reply && resp.body.len) OPENSSL_cleanse(resp.body.buf, resp.body.len);
    http_response_release(&resp);
    if (text && s->secret_body) OPENSSL_cleanse(text, strlen(text));
    free(text);
    return rc;
}
