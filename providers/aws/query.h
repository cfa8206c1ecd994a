/* query.h: the AWS Query protocol (EC2, IAM, STS): form-encoded requests, XML replies (libxml2),
 * pagination, and the extraction of AWS errors from any reply: EC2's
 * <Response><Errors><Error>, the others' <ErrorResponse><Error>, moto's
 * <ErrorResponse><Errors><Error> (whatever the Content-Type: moto serves XML errors as text/html),
 * JSON 1.1 bodies ({"__type", "message"}), REST-JSON (x-amzn-ErrorType, {"message"}), and HTML or
 * empty pages (moto answers an unimplemented call with an HTTP 500 HTML page), which become a
 * clear message instead of a crash. Bodies are form-encoded byte for byte as botocore does. */
#ifndef MESH_AWS_QUERY_H
#define MESH_AWS_QUERY_H

#include <libxml/tree.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "http.h"

struct aws_client;

struct aws_query {
    char action[64];
    struct strbuf body;   /* Action=...&Version=...&k=v... */
    int secret;           /* the body holds a secret (a web identity token): never logged */
    int secret_reply;     /* the reply holds a secret (credentials): never logged */
};

void aws_query_init(struct aws_query *q, const char *action, const char *version);
void aws_query_release(struct aws_query *q);
void aws_query_add(struct aws_query *q, const char *key, const char *value);
void aws_query_addf(struct aws_query *q, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Calls the action; *doc gets the parsed reply (xmlFreeDoc it). AWS errors become
 * "ACTION failed: Code: Message (request id ID)"; a code that means "no such object"
 * (*.NotFound, NoSuchEntity, ...) returns MESH_ENOTFOUND. */
int aws_query_call(struct aws_client *c, const char *service, struct aws_query *q, xmlDocPtr *doc,
                   struct mesh_err *err);

/* Calls the action page after page: the reply's token element (EC2 "nextToken", others
 * "NextToken" or "Marker") goes back as the request parameter ("NextToken" / "Marker") until it
 * is absent. page() gets each reply's root; returning < 0 stops. */
typedef int (*aws_page_fn)(xmlNodePtr root, void *ctx, struct mesh_err *err);
int aws_query_each_page(struct aws_client *c, const char *service, struct aws_query *q,
                        const char *token_param, const char *token_reply, aws_page_fn page,
                        void *ctx, struct mesh_err *err);

/* ---- XML helpers: element names compare by local name, namespaces ignored ---- */

/* The first element below from along path "a/b/c"; NULL when absent. */
xmlNodePtr aws_xml_find(xmlNodePtr from, const char *path);
/* The first element child named name at or after node (iterate with aws_xml_next). */
xmlNodePtr aws_xml_first(xmlNodePtr parent, const char *name);
xmlNodePtr aws_xml_next(xmlNodePtr node, const char *name);
/* Text of the element at path (malloc'd), NULL when absent. */
char *aws_xml_text(xmlNodePtr from, const char *path);

/* ---- errors ---- */

struct aws_error {
    char code[128];
    char message[1024];
    char request_id[128];
};

/* Fills e from any AWS reply; returns 0 when it found an error code, -1 otherwise (then code is
 * "HTTP <status>" and message says what the body was). */
int aws_error_parse(const struct http_response *resp, struct aws_error *e);
int aws_error_is_throttle(const char *code);
int aws_error_is_not_found(const char *code);
/* For http_request.classify: throttling and transient AWS codes arrive with HTTP 400 too. */
enum http_verdict aws_classify(const struct http_response *resp);
/* The err.h code of an AWS error code: MESH_ENOTFOUND, MESH_ETHROTTLED, MESH_EINVAL (invalid
 * parameter), MESH_ECONFLICT (exists, in use, concurrent change), else MESH_ERR. */
int aws_error_kind(const char *code);
/* Sets err from a failed reply: "what failed: Code: Message (request id ID)", with the code
 * and request ID in err->cause and err->request_id. */
int aws_error_report(const struct http_response *resp, const char *what, struct mesh_err *err);

#endif
