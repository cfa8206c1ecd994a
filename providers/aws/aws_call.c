/* aws_call.c: one AWS request on behalf of a driver call, any protocol (see aws_call.h). */
#include "aws/aws_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/client_json.h"
#include "aws/provider.h"
#include "aws/sigv4.h"
#include "base/strbuf.h"

/* "eks CreateCluster failed: ..." -> "CreateCluster failed: ...": the address already says which
 * provider, and the EC2 drivers' messages read that way. */
static void drop_service_prefix(struct mesh_err *e, const char *service)
{
    size_t n = strlen(service);
    if (strncmp(e->msg, service, n) == 0 && e->msg[n] == ' ') memmove(e->msg, e->msg + n + 1, strlen(e->msg + n + 1) + 1);
}

static struct aws_handle *handle_of(struct call *c, struct mesh_err *e)
{
    struct aws_handle *h = c->provider;
    if (!h) mesh_err_set(e, MESH_ERR, NULL, "the AWS provider is not open");
    return h;
}

int aws_call_query(struct call *c, const char *service, struct aws_query *q, xmlDocPtr *doc, struct mesh_err *e)
{
    mesh_err_init(e);
    struct aws_handle *h = handle_of(c, e);
    if (!h) return e->code;
    aws_count_call(h, service);
    xmlDocPtr d = NULL;
    int rc = aws_query_call(&h->client, service, q, &d, e);
    if (rc) {
        drop_service_prefix(e, service);
        return rc;
    }
    if (doc) *doc = d;
    else xmlFreeDoc(d);
    return 0;
}

static int send_json(struct call *c, const char *service, const char *action, struct aws_send *s, const json_t *body,
                     json_t **reply, struct mesh_err *e)
{
    mesh_err_init(e);
    if (reply) *reply = NULL;
    struct aws_handle *h = handle_of(c, e);
    if (!h) return e->code;
    aws_count_call(h, service);
    char what[200];
    snprintf(what, sizeof(what), "%s %s", service, action);
    s->service = service;
    s->what = what;
    s->once = aws_action_once(service, action);
    /* Not c->cancel: it is the run's Ctrl-C flag, still set while the run rolls back, and the
     * rollback's own calls must go out. The client's flag (none) applies, as for Query calls. */
    int rc = aws_client_json(&h->client, s, body, reply, NULL, e);
    if (rc) drop_service_prefix(e, service);
    return rc;
}

int aws_call_json(struct call *c, const char *service, const char *target, const json_t *body, json_t **reply,
                  struct mesh_err *e)
{
    json_t *empty = body ? NULL : json_object();
    struct sigv4_pair hdr[] = {{"X-Amz-Target", target}};
    struct aws_send s = {.method = "POST", .path = "/", .content_type = "application/x-amz-json-1.1",
                         .headers = hdr, .nheaders = 1};
    const char *dot = strrchr(target, '.');
    int rc = send_json(c, service, dot ? dot + 1 : target, &s, body ? body : empty, reply, e);
    json_decref(empty);
    return rc;
}

int aws_call_rest(struct call *c, const char *service, const char *action, const char *method, const char *path,
                  const char *query, const json_t *body, json_t **reply, struct mesh_err *e)
{
    struct aws_send s = {.method = method, .path = path, .query = query,
                         .content_type = body ? "application/json" : NULL};
    return send_json(c, service, action, &s, body, reply, e);
}

int aws_fail(struct call *c, const struct mesh_err *e) { return mesh_err_copy(c->err, e, c->address); }

int aws_do_query(struct call *c, const char *service, struct aws_query *q, xmlDocPtr *doc)
{
    struct mesh_err e;
    int rc = aws_call_query(c, service, q, doc, &e);
    return rc ? aws_fail(c, &e) : 0;
}

int aws_do_json(struct call *c, const char *service, const char *target, const json_t *body, json_t **reply)
{
    struct mesh_err e;
    int rc = aws_call_json(c, service, target, body, reply, &e);
    return rc ? aws_fail(c, &e) : 0;
}

int aws_do_rest(struct call *c, const char *service, const char *action, const char *method, const char *path,
                const char *query, const json_t *body, json_t **reply)
{
    struct mesh_err e;
    int rc = aws_call_rest(c, service, action, method, path, query, body, reply, &e);
    return rc ? aws_fail(c, &e) : 0;
}

const char *aws_path_segment(const char *s, char *buf, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    sigv4_uri_encode(&sb, s, strlen(s), 0);
    snprintf(buf, n, "%s", sb.buf);
    strbuf_release(&sb);
    return buf;
}
