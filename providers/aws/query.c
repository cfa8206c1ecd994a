/* query.c: the AWS Query protocol and AWS error extraction (see query.h). */
#include "aws/query.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/client.h"
#include "base/xalloc.h"

/* ---- request building ---- */

void aws_query_init(struct aws_query *q, const char *action, const char *version)
{
    memset(q, 0, sizeof(*q));
    snprintf(q->action, sizeof(q->action), "%s", action);
    strbuf_init(&q->body);
    aws_query_add(q, "Action", action);
    aws_query_add(q, "Version", version);
}

void aws_query_release(struct aws_query *q)
{
    if (q->secret) OPENSSL_cleanse(q->body.buf, q->body.len);
    strbuf_release(&q->body);
}

/* Form encoding byte for byte as botocore sends it (urllib's urlencode, i.e. quote_plus with
 * nothing extra safe): ASCII letters, digits and "-_.~" as they are, a space as '+', every
 * other byte as %XX (upper-case hex). Not SigV4's URI encoding (a space as %20): AWS accepts
 * both, but a verifier that re-encodes the parsed form before checking the signature (moto's)
 * only matches the CLI's bytes. The body is signed as sent, whatever its encoding. */
static void form_encode(struct strbuf *sb, const char *s)
{
    static const char digits[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            strbuf_addch(sb, (char)c);
        } else if (c == ' ') {
            strbuf_addch(sb, '+');
        } else {
            strbuf_addch(sb, '%');
            strbuf_addch(sb, digits[c >> 4]);
            strbuf_addch(sb, digits[c & 15]);
        }
    }
}

void aws_query_add(struct aws_query *q, const char *key, const char *value)
{
    if (q->body.len) strbuf_addch(&q->body, '&');
    form_encode(&q->body, key);
    strbuf_addch(&q->body, '=');
    form_encode(&q->body, value);
}

void aws_query_addf(struct aws_query *q, const char *key, const char *fmt, ...)
{
    char *v = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&v, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    aws_query_add(q, key, v);
    free(v);
}

/* ---- XML helpers ---- */

static int named(xmlNodePtr n, const char *name, size_t len)
{
    return n->type == XML_ELEMENT_NODE && strlen((const char *)n->name) == len &&
           strncmp((const char *)n->name, name, len) == 0;
}

xmlNodePtr aws_xml_next(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr n = node ? node->next : NULL; n; n = n->next)
        if (named(n, name, strlen(name))) return n;
    return NULL;
}

xmlNodePtr aws_xml_first(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (named(n, name, strlen(name))) return n;
    return NULL;
}

xmlNodePtr aws_xml_find(xmlNodePtr from, const char *path)
{
    xmlNodePtr cur = from;
    const char *p = path;
    while (cur && *p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        xmlNodePtr next = NULL;
        for (xmlNodePtr n = cur->children; n && !next; n = n->next)
            if (named(n, p, len)) next = n;
        cur = next;
        p += len + (slash ? 1 : 0);
    }
    return cur;
}

char *aws_xml_text(xmlNodePtr from, const char *path)
{
    xmlNodePtr n = path && *path ? aws_xml_find(from, path) : from;
    if (!n) return NULL;
    xmlChar *c = xmlNodeGetContent(n);
    char *s = xstrdup(c ? (const char *)c : "");
    xmlFree(c);
    if (!s) abort();
    return s;
}

/* Depth-first search for the first element named name. */
static xmlNodePtr xml_search(xmlNodePtr n, const char *name)
{
    for (; n; n = n->next) {
        if (named(n, name, strlen(name))) return n;
        xmlNodePtr hit = xml_search(n->children, name);
        if (hit) return hit;
    }
    return NULL;
}

/* ---- error extraction ---- */

static void copy_text(char *dst, size_t n, xmlNodePtr node)
{
    if (!node) return;
    xmlChar *c = xmlNodeGetContent(node);
    snprintf(dst, n, "%s", c ? (const char *)c : "");
    xmlFree(c);
}

static int error_from_xml(xmlDocPtr doc, struct aws_error *e)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr err = root && named(root, "Error", 5) ? root : xml_search(root, "Error");
    if (!err || !aws_xml_first(err, "Code")) return -1;
    copy_text(e->code, sizeof(e->code), aws_xml_first(err, "Code"));
    copy_text(e->message, sizeof(e->message), aws_xml_first(err, "Message"));
    xmlNodePtr rid = xml_search(root, "RequestId");
    if (!rid) rid = xml_search(root, "RequestID");
    if (rid) copy_text(e->request_id, sizeof(e->request_id), rid);
    return 0;
}

/* "aws.protocoltests#ValidationException" or "ValidationException:http://..." -> the name. */
static void json_code(char *dst, size_t n, const char *v)
{
    const char *hash = strrchr(v, '#');
    if (hash) v = hash + 1;
    snprintf(dst, n, "%.*s", (int)strcspn(v, ":"), v);
}

/* REST-JSON names the error in a header ("ResourceNotFoundException:http://internal..."), which
 * botocore reads before the body; a reply without a body has nothing else. */
static int error_from_header(const struct http_response *resp, struct aws_error *e)
{
    const char *code = http_response_header(resp, "x-amzn-ErrorType");
    if (!code || !*code) return -1;
    json_code(e->code, sizeof(e->code), code);
    return 0;
}

/* JSON 1.1 ({"__type": "com.amazonaws.kms#NotFoundException", "message"}) and REST-JSON (the
 * header, or {"code"|"Code"}, and {"message"|"Message"}). */
static int error_from_json(const struct http_response *resp, struct aws_error *e)
{
    json_t *j = json_loadb(resp->body.buf, resp->body.len, 0, NULL);
    if (!json_is_object(j)) { json_decref(j); return -1; }
    const char *code = http_response_header(resp, "x-amzn-ErrorType");
    if (!code || !*code) code = json_string_value(json_object_get(j, "__type"));
    if (!code) code = json_string_value(json_object_get(j, "code"));
    if (!code) code = json_string_value(json_object_get(j, "Code"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!msg) msg = json_string_value(json_object_get(j, "Message"));
    if (!msg) msg = json_string_value(json_object_get(j, "errorMessage"));
    if (code) json_code(e->code, sizeof(e->code), code);
    if (msg) snprintf(e->message, sizeof(e->message), "%s", msg);
    json_decref(j);
    return code ? 0 : -1;
}

/* Text of an HTML page, blanks collapsed: "500 Internal Server Error Internal Server Error ...". */
static void html_summary(const struct http_response *resp, char *dst, size_t n)
{
    htmlDocPtr doc = htmlReadMemory(resp->body.buf, (int)resp->body.len, NULL, NULL,
                                    HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    xmlChar *text = doc ? xmlNodeGetContent((xmlNodePtr)xmlDocGetRootElement(doc)) : NULL;
    size_t o = 0;
    int space = 0;
    for (const char *p = text ? (const char *)text : ""; *p && o + 4 < n; p++) {
        if (isspace((unsigned char)*p)) { space = o > 0; continue; }
        if (space) dst[o++] = ' ';
        space = 0;
        dst[o++] = *p;
    }
    dst[o] = '\0';
    if (o + 4 >= n) snprintf(dst + n - 4, 4, "...");
    xmlFree(text);
    xmlFreeDoc(doc);
}

static const char *body_start(const struct http_response *resp)
{
    const char *p = resp->body.buf;
    while (*p && isspace((unsigned char)*p)) p++;
    return p;
}

/* An HTML page by its first bytes. The Content-Type is no proof: moto serves its XML errors
 * (AuthFailure, SignatureDoesNotMatch) as text/html. */
static int looks_html(const struct http_response *resp)
{
    const char *p = body_start(resp);
    return strncasecmp(p, "<!doctype html", 14) == 0 || strncasecmp(p, "<html", 5) == 0;
}

/* A body that is not an AWS error and says it is HTML, by its bytes or its Content-Type. */
static int html_page(const struct http_response *resp)
{
    const char *ct = http_response_header(resp, "Content-Type");
    return looks_html(resp) || (ct && strcasestr(ct, "html"));
}

static int error_from_xml_body(const struct http_response *resp, struct aws_error *e)
{
    xmlDocPtr doc = xmlReadMemory(resp->body.buf, (int)resp->body.len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    int found = doc ? error_from_xml(doc, e) : -1;
    xmlFreeDoc(doc);
    return found;
}

int aws_error_parse(const struct http_response *resp, struct aws_error *e)
{
    memset(e, 0, sizeof(*e));
    const char *rid = http_response_header(resp, "x-amzn-RequestId");
    if (!rid) rid = http_response_header(resp, "x-amz-request-id");
    if (rid) snprintf(e->request_id, sizeof(e->request_id), "%s", rid);
    const char *p = body_start(resp);
    int found = -1;
    if (*p == '{') found = error_from_json(resp, e);
    else if (*p == '<' && !looks_html(resp)) found = error_from_xml_body(resp, e);
    else if (!*p) found = error_from_header(resp, e);
    if (found == 0) return 0;
    snprintf(e->code, sizeof(e->code), "HTTP %ld", resp->status);
    if (html_page(resp)) {
        char text[300];
        html_summary(resp, text, sizeof(text));
        snprintf(e->message, sizeof(e->message),
                 "the endpoint answered with an HTML page, not an AWS reply (an emulator that "
                 "lacks this call, or a proxy): %s", text);
    } else if (*p) {
        snprintf(e->message, sizeof(e->message), "unexpected reply: %.300s", p);
    } else {
        snprintf(e->message, sizeof(e->message), "empty reply");
    }
    return -1;
}

int aws_error_is_throttle(const char *code)
{
    static const char *const codes[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", NULL,
    };
    for (int i = 0; codes[i]; i++)
        if (strcmp(code, codes[i]) == 0) return 1;
    return 0;
}

static int is_transient(const char *code)
{
    static const char *const codes[] = { "InternalError", "InternalFailure", "ServiceUnavailable",
                                         "RequestTimeout", "RequestTimeoutException",
                                         "IDPCommunicationError", "Unavailable", NULL };
    for (int i = 0; codes[i]; i++)
        if (strcmp(code, codes[i]) == 0) return 1;
    return 0;
}

int aws_error_is_not_found(const char *code)
{
    size_t n = strlen(code);
    /* "InvalidVpcID.NotFound", and EC2's few without the dot ("NatGatewayNotFound") */
    return (n > 8 && strcmp(code + n - 8, "NotFound") == 0) || strcmp(code, "NoSuchEntity") == 0 ||
           strcmp(code, "ResourceNotFoundException") == 0 || strcmp(code, "NotFoundException") == 0;
}

enum http_verdict aws_classify(const struct http_response *resp)
{
    if (resp->status < 400) return HTTP_DONE;
    struct aws_error e;
    int aws_shaped = aws_error_parse(resp, &e) == 0;
    if (aws_shaped && aws_error_is_throttle(e.code)) return HTTP_THROTTLED;
    if (aws_shaped && is_transient(e.code)) return HTTP_RETRY;
    /* An HTML 500 comes from something that is not the API: an emulator's answer to a call it
     * lacks (asking again will not help), or its crash under load (it will): asked twice more,
     * not ten times. Gateways' 502/503/504 pages are transient. */
    if (!aws_shaped && resp->status == 500 && html_page(resp)) return HTTP_RETRY_BRIEF;
    return http_verdict_default(resp);
}

/* What kind of failure an AWS code is, as drivers test it (err.h's codes). */
int aws_error_kind(const char *code)
{
    static const char *const invalid[] = {
        "ValidationError", "ValidationException", "InvalidParameterValue", "InvalidParameterException",
        "InvalidParameterCombination", "InvalidInput", "MalformedPolicyDocument", "InvalidRequestException",
        "MissingParameter", NULL,
    };
    static const char *const conflict[] = {
        "EntityAlreadyExists", "ResourceInUseException", "ResourceExistsException", "AlreadyExistsException",
        "ResourceAlreadyExistsException", "ConcurrentModification", "ConcurrentModificationException",
        "DeleteConflict", "DependencyViolation", "IncorrectState", "IncorrectStateException",
        "InvalidStateException", "KMSInvalidStateException", "ConflictException", "OperationAbortedException",
        "InvalidSubnet.Conflict", NULL,
    };
    if (aws_error_is_not_found(code)) return MESH_ENOTFOUND;
    if (aws_error_is_throttle(code)) return MESH_ETHROTTLED;
    for (int i = 0; invalid[i]; i++)
        if (strcmp(code, invalid[i]) == 0) return MESH_EINVAL;
    for (int i = 0; conflict[i]; i++)
        if (strcmp(code, conflict[i]) == 0) return MESH_ECONFLICT;
    size_t n = strlen(code);  /* "InvalidPermission.Duplicate", "InvalidGroup.Duplicate" */
    if (n > 10 && strcmp(code + n - 10, ".Duplicate") == 0) return MESH_ECONFLICT;
    return MESH_ERR;
}

int aws_error_report(const struct http_response *resp, const char *what, struct mesh_err *err)
{
    struct aws_error e;
    int shaped = aws_error_parse(resp, &e) == 0;
    int code = shaped ? aws_error_kind(e.code) : MESH_ERR;
    int earlier = mesh_err_isset(err);  /* the first error wins, its cause with it */
    int rc = mesh_err_set(err, code, NULL, "%s failed: %s: %s%s%s%s", what, e.code,
                          e.message[0] ? e.message : "(no message)",
                          e.request_id[0] ? " (request id " : "", e.request_id,
                          e.request_id[0] ? ")" : "");
    if (!earlier && shaped) mesh_err_set_cause(err, e.code, e.request_id);
    else if (!earlier && err) mesh_err_set_cause(err, "", e.request_id);
    return rc;
}

/* ---- calls ---- */

int aws_query_call(struct aws_client *c, const char *service, struct aws_query *q, xmlDocPtr *doc,
                   struct mesh_err *err)
{
    char what[160];
    snprintf(what, sizeof(what), "%s %s", service, q->action);
    struct http_response resp;
    http_response_init(&resp);
    struct aws_send s = { .service = service, .method = "POST", .path = "/", .body = q->body.buf,
                          .body_len = q->body.len, .content_type = "application/x-www-form-urlencoded; charset=utf-8",
                          .what = what, .secret_body = q->secret,
                          .secret_reply = q->secret || q->secret_reply, .once = aws_action_once(service, q->action) };
    int rc = aws_client_send(c, &s, &resp, err);
    if (rc == 0) {
        *doc = xmlReadMemory(resp.body.buf, (int)resp.body.len, NULL, NULL,
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!*doc)
            rc = mesh_err_set(err, MESH_ERR, NULL, "%s failed: the reply is not XML (from %s): %.200s", what,
                              resp.url ? resp.url : "the endpoint", resp.body.buf);
    }
    if (resp.body.len && (q->secret || s.secret_reply)) OPENSSL_cleanse(resp.body.buf, resp.body.len);
    http_response_release(&resp);
    return rc;
}

int aws_query_each_page(struct aws_client *c, const char *service, struct aws_query *q,
                        const char *token_param, const char *token_reply, aws_page_fn page,
                        void *ctx, struct mesh_err *err)
{
    size_t base_len = q->body.len;
    for (int pages = 0;; pages++) {
        xmlDocPtr doc = NULL;
        int rc = aws_query_call(c, service, q, &doc, err);
        if (rc < 0) return rc;
        xmlNodePtr root = xmlDocGetRootElement(doc);
        rc = page(root, ctx, err);
        char *token = rc < 0 ? NULL : aws_xml_text(root, token_reply);
        xmlFreeDoc(doc);
        if (rc < 0) return rc;
        q->body.len = base_len;  /* drop the previous page's token */
        q->body.buf[base_len] = '\0';
        if (!token || !*token) { free(token); return 0; }
        if (pages > 10000) { free(token); return mesh_err_set(err, MESH_ERR, NULL, "%s: pagination does not end", q->action); }
        aws_query_add(q, token_param, token);
        free(token);
    }
}
