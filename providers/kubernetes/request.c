/* request.c: one Kubernetes REST call over the shared HTTP layer: the handle's credential as a
 * bearer token (or its client certificate), the retry policy of http.c told what a reply means
 * (kube_classify), one new credential after a 401, a cap on the reply, the call counted, and
 * the error shaped from the Status the server sent. A cluster created in this run may not
 * answer yet: with retry_unreachable, connection failures are waited out until the call's
 * deadline, with a progress note. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/strbuf.h"
#include "base/wipe.h"
#include "kubernetes/kube_int.h"

static int parse_reply(const struct kube_conn *k, const struct kube_req *r, const struct http_response *resp,
                       json_t **reply, struct mesh_err *e)
{
    if (!reply) return 0;
    if (resp->body.len == 0) {
        *reply = json_object();
        return 0;
    }
    json_error_t je;
    *reply = json_loadb(resp->body.buf, resp->body.len, 0, &je);
    if (!*reply)
        return mesh_err_set(e, MESH_ERR, NULL, "%s: %s%s%s %s: the reply is not JSON (%s, line %d)", k->cluster,
                            r->what ? r->what : "", r->what ? ": " : "", r->method, r->path,
                            r->secret ? "unreadable" : je.text, je.line);
    return 0;
}

/* Sleeps before another try at an unreachable server; non-zero when the deadline passed or
 * the run was cancelled. */
static int wait_unreachable(struct call *c, struct kube_conn *k, int n, const char *why)
{
    if (!c || c->deadline <= 0 || mesh_now_mono() >= c->deadline) return 1;
    if (c->cancel && *c->cancel) return 1;
    if (c->progress)
        c->progress(c->progress_ctx, c->address, "waiting for the API server of %s at %s to answer: %s", k->cluster,
                    k->server, why);
    double d = 0.5 * pow(1.6, n < 10 ? n : 10);
    if (d > 10) d = 10;
    d *= http_backoff_scale();
    if (d < 0.02) d = 0.02;
    for (double left = d; left > 0; left -= 0.05) {
        if (c->cancel && *c->cancel) return 1;
        struct timespec ts = {0, (long)((left < 0.05 ? left : 0.05) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* One attempt with one credential. *status gets the HTTP status (0: no reply). */
static int send_once(struct kube_conn *k, const struct kube_req *r, const char *url, const char *body,
                     struct kube_cred *cred, struct http_response *resp, struct mesh_err *herr)
{
    struct http_client client = k->http;
    if (cred && cred->cert_pem) {
        client.cert_pem = (struct http_blob){cred->cert_pem, cred->cert_len};
        client.key_pem = (struct http_blob){cred->key_pem, cred->key_len};
    }
    struct http_request req;
    http_request_init(&req, r->method, url);
    http_request_set_header(&req, "Accept", r->text ? "text/plain, */*" : "application/json");
    struct strbuf auth = STRBUF_INIT;
    strbuf_init(&auth);
    if (cred && cred->token) {
        strbuf_addf(&auth, "Bearer %s", cred->token);
        http_request_set_header(&req, "Authorization", auth.buf);
    }
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.content_type = r->content_type ? r->content_type : body ? "application/json" : NULL;
    req.what = r->method;  /* http.c's own errors say "GET https://…/version: …" */
    req.secret_body = req.secret_reply = r->secret;
    req.classify = r->apply ? kube_classify_apply : kube_classify;
    req.max_reply = KUBE_MAX_REPLY;
    atomic_fetch_add(&k->calls, 1);
    int rc = http_send(&client, &req, resp, herr);
    /* The header copies hold the token: wipe them, not just free them. */
    for (size_t i = 0; i < req.headers.len; i++) {
        struct http_header *h = req.headers.items[i];
        if (strcmp(h->name, "Authorization") == 0) {
            wipe_free(h->value);
            h->value = NULL;
        }
    }
    http_request_release(&req);
    wipe_free(strbuf_detach(&auth));
    return rc;
}

static int refreshable(const struct kube_conn *k)
{
    return k->auth == KUBE_AUTH_EKS || k->auth == KUBE_AUTH_EXEC || k->auth == KUBE_AUTH_TOKEN_FILE;
}

int kube_request(struct call *c, struct kube_conn *k, const struct kube_req *r, json_t **reply, struct mesh_err *e)
{
    mesh_err_init(e);
    if (reply) *reply = NULL;
    struct strbuf url = STRBUF_INIT;
    strbuf_init(&url);
    strbuf_addf(&url, "%s%s%s%s", k->server, r->path, r->query && *r->query ? "?" : "", r->query ? r->query : "");
    char *body = r->body ? json_dumps(r->body, JSON_COMPACT) : NULL;
    struct http_response resp;
    http_response_init(&resp);
    int rc = 0, refreshed = 0;
    for (int waits = 0;;) {
        struct kube_cred *cred = NULL;
        if ((rc = kube_cred_get(k, &cred, e)) < 0) {
            mesh_err_set_cause(e, KUBE_CAUSE_CREDENTIAL, "");
            break;
        }
        struct mesh_err herr;
        mesh_err_init(&herr);
        rc = send_once(k, r, url.buf, body, cred, &resp, &herr);
        if (rc == 0 && resp.status == 401 && !refreshed && refreshable(k)) {
            kube_cred_drop(k, cred);  /* revoked or expired early: make one new one */
            kube_cred_put(k, cred);
            refreshed = 1;
            continue;
        }
        kube_cred_put(k, cred);
        if (rc == MESH_ECANCELED) {
            mesh_err_set(e, rc, NULL, "%s: cancelled", k->cluster);
            break;
        }
        if (rc < 0) {
            if (k->retry_unreachable && !wait_unreachable(c, k, waits++, herr.msg)) continue;
            mesh_err_set(e, rc, NULL, "%s: the API server at %s does not answer: %s", k->cluster, k->server, herr.msg);
            mesh_err_set_cause(e, KUBE_CAUSE_UNREACHABLE, "");
            break;
        }
        if (resp.status >= 200 && resp.status < 300 && r->text)
            strbuf_add(r->text, resp.body.buf ? resp.body.buf : "", resp.body.len);
        else if (resp.status >= 200 && resp.status < 300)
            rc = parse_reply(k, r, &resp, reply, e);
        else
            rc = kube_status_error(resp.status, resp.body.buf, resp.body.len, k->cluster, r->what, k->credential,
                                   r->apply, e);
        break;
    }
    if (r->secret && resp.body.buf && resp.body.len) wipe_free(strbuf_detach(&resp.body));
    http_response_release(&resp);
    if (body && r->secret) wipe_free(body);
    else free(body);
    strbuf_release(&url);
    return rc;
}
