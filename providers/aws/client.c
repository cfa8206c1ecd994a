/* client.c: one signed AWS request (see client.h). */
#include "aws/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/endpoint.h"
#include "aws/query.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

struct sign_ctx {
    struct aws_client *client;
    const char *service;
};

/* Runs before every attempt: a retry after a long backoff gets a fresh date and, if the
 * temporary credentials were refreshed meanwhile, the fresh ones. */
static int sign_before_attempt(struct http_request *req, void *p, struct mesh_err *err)
{
    struct sign_ctx *ctx = p;
    struct aws_creds own;
    memset(&own, 0, sizeof(own));
    const struct aws_creds *use = ctx->client->fixed;
    if (ctx->client->creds) {
        if (aws_credentials_get(ctx->client->creds, &own, err) < 0) return err->code;
        use = &own;
    }
    if (!use) return mesh_err_set(err, MESH_ERR, NULL, "%s: no credentials to sign with", req->what);
    struct sigv4_creds sc = { use->access_key, use->secret_key, use->session_token };
    int rc = sigv4_sign_http(req, &sc, aws_signing_region(ctx->service, ctx->client->region),
                             ctx->service, time(NULL), err);
    aws_creds_clear(&own);
    return rc;
}

static char *build_url(const char *endpoint, const struct aws_send *s)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    strbuf_adds(&sb, endpoint);
    strbuf_adds(&sb, s->path && *s->path ? s->path : "/");
    if (s->query && *s->query) strbuf_addf(&sb, "?%s", s->query);
    return strbuf_detach(&sb);
}

int aws_action_once(const char *service, const char *action)
{
    static const char *const once[][2] = {
        {"ec2", "CreateVpc"}, {"ec2", "CreateInternetGateway"}, {"ec2", "AllocateAddress"}, {"kms", "CreateKey"},
    };
    for (size_t i = 0; service && action && i < sizeof(once) / sizeof(once[0]); i++)
        if (strcmp(service, once[i][0]) == 0 && strcmp(action, once[i][1]) == 0) return 1;
    return 0;
}

int aws_client_send(struct aws_client *c, const struct aws_send *s, struct http_response *resp,
                    struct mesh_err *err)
{
    char *endpoint = NULL;
    if (s->base_url) endpoint = xstrdup(s->base_url);
    else if (aws_endpoint_resolve(s->service, c->region, &endpoint, err) < 0) return err->code;
    char *url = build_url(endpoint, s);
    free(endpoint);
    struct http_request req;
    http_request_init(&req, s->method, url);
    free(url);
    for (size_t i = 0; i < s->nheaders; i++)
        http_request_set_header(&req, s->headers[i].name, s->headers[i].value);
    req.body = s->body;
    req.body_len = s->body_len;
    req.content_type = s->content_type;
    req.what = s->what;
    req.secret_body = s->secret_body;
    req.secret_reply = s->secret_reply;
    req.cancel = s->cancel;
    req.once = s->once;
    req.max_reply = s->max_reply;
    req.classify = aws_classify;
    struct sign_ctx ctx = { c, s->service };
    if (!s->no_sign) {
        req.prepare = sign_before_attempt;
        req.prepare_ctx = &ctx;
    }
    int rc = http_send(&c->http, &req, resp, err);
    if (rc == 0 && (resp->status < 200 || resp->status > 299))
        rc = aws_error_report(resp, s->what ? s->what : s->service, err);
    http_request_release(&req);
    return rc;
}
