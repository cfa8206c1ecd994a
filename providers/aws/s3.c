/* s3.c: the S3 object client (see s3.h). */
#include "aws/s3.h"

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "aws/query.h"
#include "base64.h"
#include "base/xalloc.h"

int s3_init(struct s3 *s, struct aws_client *aws, const struct s3_config *cfg, struct mesh_err *err)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < S3_NKINDS; i++) atomic_init(&s->count[i], 0);
    if (!cfg->bucket || !*cfg->bucket) return mesh_err_set(err, MESH_EINVAL, NULL, "s3: no bucket given");
    if (aws_s3_base_url(aws->region, cfg->endpoint, cfg->path_style, cfg->bucket, &s->base, &s->path_style,
                        err) < 0)
        return err->code;
    s->aws = aws;
    s->bucket = xstrdup(cfg->bucket);
    s->sse_kms = cfg->sse_kms;
    s->sse_kms_key_id = cfg->sse_kms_key_id ? xstrdup(cfg->sse_kms_key_id) : NULL;
    return 0;
}

void s3_release(struct s3 *s)
{
    free(s->bucket);
    free(s->base);
    free(s->sse_kms_key_id);
    s->bucket = s->base = s->sse_kms_key_id = NULL;
}

void s3_encode_key(struct strbuf *sb, const char *key)
{
    sigv4_uri_encode(sb, key, strlen(key), 1);
}

char *s3_object_url(const struct s3 *s, const char *key)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    strbuf_addf(&sb, "%s/", s->base);
    s3_encode_key(&sb, key);
    return strbuf_detach(&sb);
}

void s3_object_release(struct s3_object *o)
{
    free(o->data);
    o->data = NULL;
    o->len = 0;
}

/* ---- errors ---- */

/* The IAM permission an S3 call needs, for "access denied" messages. */
static const char *permission_of(const char *what)
{
    static const char *const map[][2] = {
        {"GetObject", "s3:GetObject"}, {"HeadObject", "s3:GetObject"}, {"PutObject", "s3:PutObject"},
        {"DeleteObject", "s3:DeleteObject"}, {"ListObjectsV2", "s3:ListBucket"},
        {"HeadBucket", "s3:ListBucket"}, {"GetBucketVersioning", "s3:GetBucketVersioning"},
    };
    const char *op = strchr(what, ' ') ? strchr(what, ' ') + 1 : what;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(op, map[i][0]) == 0) return map[i][1];
    return "s3:*";
}

/* The bucket's real region, as S3 tells it: the x-amz-bucket-region header (301, HeadBucket),
 * else <Region> of the error body (AuthorizationHeaderMalformed, PermanentRedirect). */
static void region_told(const struct http_response *resp, char *out, size_t n)
{
    out[0] = '\0';
    const char *h = http_response_header(resp, "x-amz-bucket-region");
    if (h && *h) { snprintf(out, n, "%s", h); return; }
    if (!resp->body.len) return;
    xmlDocPtr doc = xmlReadMemory(resp->body.buf, (int)resp->body.len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    char *r = doc ? aws_xml_text(xmlDocGetRootElement(doc), "Region") : NULL;
    if (r) snprintf(out, n, "%s", r);
    free(r);
    xmlFreeDoc(doc);
}

static int is_code(const char *code, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(code, list[i]) == 0) return 1;
    return 0;
}

int s3_error(const struct s3 *s, const struct http_response *resp, const char *what, const char *key,
             struct mesh_err *err)
{
    static const char *const region_codes[] = {"PermanentRedirect", "AuthorizationHeaderMalformed",
                                               "IllegalLocationConstraintException", "TemporaryRedirect", NULL};
    static const char *const cred_codes[] = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
                                             "InvalidToken", "TokenRefreshRequired", NULL};
    struct aws_error e;
    int shaped = aws_error_parse(resp, &e) == 0;
    const char *code = shaped ? e.code : "";
    long st = resp->status;
    char uri[1200], region[64];
    snprintf(uri, sizeof(uri), "s3://%s%s%s", s->bucket, key ? "/" : "", key ? key : "");
    const char *detail = shaped && e.message[0] ? e.message : "";
    int earlier = mesh_err_isset(err);
    int rc;
    region_told(resp, region, sizeof(region));
    if (strcmp(code, "NoSuchBucket") == 0 || (!key && st == 404)) {
        /* Not MESH_ENOTFOUND: that means "no state there yet", and a plan against a mistyped
         * bucket would then show everything to add. */
        rc = mesh_err_set(err, MESH_EINVAL, NULL,
                          "%s failed: bucket %s does not exist (region %s): create it (with versioning on) or "
                          "fix state.bucket", what, s->bucket, s->aws->region);
    } else if (strcmp(code, "NoSuchKey") == 0 || st == 404) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, NULL, "%s failed: %s does not exist", what, uri);
    } else if (strcmp(code, "PreconditionFailed") == 0 || st == 412) {
        rc = mesh_err_set(err, MESH_ECONFLICT, NULL,
                          "%s failed: %s was written by someone else since it was read (PreconditionFailed)",
                          what, uri);
    } else if (strcmp(code, "ConditionalRequestConflict") == 0) {
        rc = mesh_err_set(err, MESH_ECONFLICT, NULL,
                          "%s failed: another write of %s was in flight (ConditionalRequestConflict)", what, uri);
    } else if (is_code(code, region_codes) || st == 301 || (region[0] && strcmp(region, s->aws->region) != 0)) {
        if (region[0] && strcmp(region, s->aws->region) != 0)
            rc = mesh_err_set(err, MESH_EINVAL, NULL,
                              "%s failed: bucket %s is in region %s, not %s: set state.region: %s", what,
                              s->bucket, region, s->aws->region, region);
        else
            rc = mesh_err_set(err, MESH_EINVAL, NULL,
                              "%s failed: bucket %s is not in region %s (%s%s%s): set state.region to the "
                              "bucket's region", what, s->bucket, s->aws->region, code[0] ? code : "HTTP 301",
                              detail[0] ? ": " : "", detail);
    } else if (is_code(code, cred_codes)) {
        rc = mesh_err_set(err, MESH_ERR, NULL, "%s %s failed: S3 refused the credentials (%s: %s): check "
                          "AWS_PROFILE or the access keys", what, uri, code, detail);
    } else if (strcmp(code, "AccessDenied") == 0 || st == 403) {
        rc = mesh_err_set(err, MESH_ERR, NULL, "%s failed: access denied to %s (%s%s%s): the credentials need %s "
                          "on arn:aws:s3:::%s%s%s", what, uri, code[0] ? code : "HTTP 403", detail[0] ? ": " : "",
                          detail, permission_of(what), s->bucket, key ? "/" : "", key ? key : "");
    } else {
        rc = mesh_err_set(err, shaped ? aws_error_kind(code) : MESH_ERR, NULL, "%s %s failed: %s: %s", what, uri,
                          e.code, e.message[0] ? e.message : "(no message)");
    }
    if (!earlier) mesh_err_set_cause(err, code, e.request_id);
    return rc;
}

/* ---- one request ---- */

struct s3_req {
    enum s3_kind kind;
    const char *what;       /* "s3 GetObject" */
    const char *method;
    const char *key;        /* NULL: the bucket */
    const char *query;
    const void *body;
    size_t body_len;
    const struct sigv4_pair *headers;
    size_t nheaders;
    size_t max_reply;
};

static int s3_send(struct s3 *s, const struct s3_req *r, struct http_response *resp, struct mesh_err *err)
{
    struct strbuf path = STRBUF_INIT;
    strbuf_init(&path);
    strbuf_addch(&path, '/');
    if (r->key) s3_encode_key(&path, r->key);
    struct aws_send snd = {
        .service = "s3", .base_url = s->base, .method = r->method, .path = path.buf, .query = r->query,
        .body = r->body, .body_len = r->body_len, .headers = r->headers, .nheaders = r->nheaders,
        .content_type = r->body ? "application/octet-stream" : NULL, .what = r->what,
        .max_reply = r->max_reply,
    };
    struct mesh_err e;
    mesh_err_init(&e);
    atomic_fetch_add(&s->count[r->kind], 1);
    int rc = aws_client_send(s->aws, &snd, resp, &e);
    strbuf_release(&path);
    if (rc == 0) return 0;
    if (resp->status >= 300) return s3_error(s, resp, r->what, r->key, err);
    return mesh_err_copy(err, &e, NULL);
}

static void copy_etag(const struct http_response *resp, char *out)
{
    const char *t = http_response_header(resp, "ETag");
    snprintf(out, S3_ETAG_MAX, "%s", t ? t : "");
}

int s3_get_if_changed(struct s3 *s, const char *key, const char *etag, struct s3_object *out, struct mesh_err *err)
{
    memset(out, 0, sizeof(*out));
    struct http_response resp;
    http_response_init(&resp);
    struct sigv4_pair h[1] = {{"If-None-Match", etag}};
    struct s3_req r = {S3_GET, "s3 GetObject", "GET", key, NULL, NULL, 0, etag ? h : NULL, etag ? 1 : 0, S3_MAX_OBJECT};
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = s3_send(s, &r, &resp, &e);
    if (rc == 0) {
        copy_etag(&resp, out->etag);
        out->len = resp.body.len;
        out->data = (unsigned char *)strbuf_detach(&resp.body);
    } else if (etag && resp.status == 304) {
        rc = 1;
    } else {
        rc = mesh_err_copy(err, &e, NULL);
    }
    http_response_release(&resp);
    return rc;
}

int s3_get(struct s3 *s, const char *key, struct s3_object *out, struct mesh_err *err)
{
    return s3_get_if_changed(s, key, NULL, out, err);
}

int s3_put(struct s3 *s, const char *key, const void *data, size_t len, const struct s3_put_cond *cond,
           char *etag_out, struct mesh_err *err)
{
    struct sigv4_pair h[4];
    size_t n = 0;
    if (cond && cond->if_none_match) h[n++] = (struct sigv4_pair){"If-None-Match", "*"};
    if (cond && cond->if_match) h[n++] = (struct sigv4_pair){"If-Match", cond->if_match};
    if (s->sse_kms) {
        h[n++] = (struct sigv4_pair){"x-amz-server-side-encryption", "aws:kms"};
        if (s->sse_kms_key_id)
            h[n++] = (struct sigv4_pair){"x-amz-server-side-encryption-aws-kms-key-id", s->sse_kms_key_id};
    }
    struct http_response resp;
    http_response_init(&resp);
    /* An empty object still sends a body ("" of length 0): a PUT without one is refused. */
    struct s3_req r = {S3_PUT, "s3 PutObject", "PUT", key, NULL, data ? data : "", len, h, n, 0};
    int rc = s3_send(s, &r, &resp, err);
    if (rc == 0 && etag_out) copy_etag(&resp, etag_out);
    http_response_release(&resp);
    return rc;
}

int s3_head(struct s3 *s, const char *key, char *etag_out, struct mesh_err *err)
{
    struct http_response resp;
    http_response_init(&resp);
    struct s3_req r = {S3_HEAD, "s3 HeadObject", "HEAD", key, NULL, NULL, 0, NULL, 0, 0};
    int rc = s3_send(s, &r, &resp, err);
    if (rc == 0 && etag_out) copy_etag(&resp, etag_out);
    http_response_release(&resp);
    return rc;
}

int s3_delete(struct s3 *s, const char *key, const char *if_match, struct mesh_err *err)
{
    struct sigv4_pair h[1] = {{"If-Match", if_match}};
    struct http_response resp;
    http_response_init(&resp);
    struct s3_req r = {S3_DELETE, "s3 DeleteObject", "DELETE", key, NULL, NULL, 0, h, if_match ? 1 : 0, 0};
    int rc = s3_send(s, &r, &resp, err);
    http_response_release(&resp);
    return rc;
}

static xmlDocPtr parse_xml(const char *xml, size_t len, const char *what, struct mesh_err *err);

/* The <Delete> document of keys (libxml2 escapes them). */
static char *delete_body(const char *const *keys, size_t n, int *len)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "Delete");
    xmlDocSetRootElement(doc, root);
    xmlNewTextChild(root, NULL, BAD_CAST "Quiet", BAD_CAST "true");
    for (size_t i = 0; i < n; i++) {
        xmlNodePtr o = xmlNewChild(root, NULL, BAD_CAST "Object", NULL);
        xmlNewTextChild(o, NULL, BAD_CAST "Key", BAD_CAST keys[i]);
    }
    xmlChar *out = NULL;
    xmlDocDumpMemory(doc, &out, len);
    xmlFreeDoc(doc);
    char *body = xstrdup((const char *)out);
    xmlFree(out);
    return body;
}

/* The first <Error> of a DeleteObjects reply (Quiet), into err; 0 when there is none. */
static int delete_errors(const struct http_response *resp, struct mesh_err *err)
{
    xmlDocPtr doc = parse_xml(resp->body.buf ? resp->body.buf : "", resp->body.len, "s3 DeleteObjects", err);
    if (!doc) return MESH_ERR;
    int rc = 0;
    for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n && !rc; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Error") != 0) continue;
        xmlChar *key = NULL, *code = NULL, *msg = NULL;
        for (xmlNodePtr c = n->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE) continue;
            if (strcmp((const char *)c->name, "Key") == 0) key = xmlNodeGetContent(c);
            else if (strcmp((const char *)c->name, "Code") == 0) code = xmlNodeGetContent(c);
            else if (strcmp((const char *)c->name, "Message") == 0) msg = xmlNodeGetContent(c);
        }
        if (!code || strcmp((const char *)code, "NoSuchKey") != 0)
            rc = mesh_err_set(err, MESH_ERR, NULL, "s3 DeleteObjects: %s: %s: %s", key ? (const char *)key : "?",
                              code ? (const char *)code : "?", msg ? (const char *)msg : "");
        xmlFree(key);
        xmlFree(code);
        xmlFree(msg);
    }
    xmlFreeDoc(doc);
    return rc;
}

int s3_delete_many(struct s3 *s, const char *const *keys, size_t n, struct mesh_err *err)
{
    int rc = 0;
    for (size_t off = 0; off < n && !rc; off += 1000) {
        size_t k = n - off < 1000 ? n - off : 1000;
        int len = 0;
        char *body = delete_body(keys + off, k, &len);
        /* S3 refuses a DeleteObjects without a digest of its body */
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(body, (size_t)len, md, &mdlen, EVP_md5(), NULL);
        char *md5 = b64_encode(md, mdlen);
        struct sigv4_pair h[1] = {{"Content-MD5", md5}};
        struct http_response resp;
        http_response_init(&resp);
        struct s3_req r = {S3_DELETE, "s3 DeleteObjects", "POST", NULL, "delete=", body, (size_t)len, h, 1, 0};
        rc = s3_send(s, &r, &resp, err);
        if (rc == 0) rc = delete_errors(&resp, err);
        http_response_release(&resp);
        free(md5);
        free(body);
    }
    return rc;
}

/* ---- listing ---- */

static xmlDocPtr parse_xml(const char *xml, size_t len, const char *what, struct mesh_err *err)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) mesh_err_set(err, MESH_ERR, NULL, "%s: the reply is not XML: %.200s", what, xml);
    return doc;
}

int s3_list_parse(const char *xml, size_t len, s3_key_fn fn, void *ctx, char **next, struct mesh_err *err)
{
    *next = NULL;
    xmlDocPtr doc = parse_xml(xml, len, "s3 ListObjectsV2", err);
    if (!doc) return err->code;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    int rc = 0;
    for (xmlNodePtr c = aws_xml_first(root, "Contents"); c && rc == 0; c = aws_xml_next(c, "Contents")) {
        char *k = aws_xml_text(c, "Key");
        if (k) rc = fn(k, ctx, err);
        free(k);
    }
    char *trunc = aws_xml_text(root, "IsTruncated");
    if (rc == 0 && trunc && strcmp(trunc, "true") == 0) {
        *next = aws_xml_text(root, "NextContinuationToken");
        if (!*next || !**next) {
            free(*next);
            *next = NULL;
            rc = mesh_err_set(err, MESH_ERR, NULL, "s3 ListObjectsV2: a truncated page without a continuation token");
        }
    }
    free(trunc);
    xmlFreeDoc(doc);
    return rc;
}

int s3_list(struct s3 *s, const char *prefix, s3_key_fn fn, void *ctx, struct mesh_err *err)
{
    char *token = NULL;
    int rc = 0;
    for (int pages = 0; rc == 0; pages++) {
        struct strbuf q = STRBUF_INIT;
        strbuf_init(&q);
        if (token) {
            strbuf_adds(&q, "continuation-token=");
            sigv4_uri_encode(&q, token, strlen(token), 0);
            strbuf_addch(&q, '&');
        }
        strbuf_adds(&q, "list-type=2&prefix=");
        sigv4_uri_encode(&q, prefix, strlen(prefix), 0);
        free(token);
        token = NULL;
        struct http_response resp;
        http_response_init(&resp);
        struct s3_req r = {S3_LIST, "s3 ListObjectsV2", "GET", NULL, q.buf, NULL, 0, NULL, 0, 0};
        rc = s3_send(s, &r, &resp, err);
        if (rc == 0) rc = s3_list_parse(resp.body.buf, resp.body.len, fn, ctx, &token, err);
        http_response_release(&resp);
        strbuf_release(&q);
        if (rc == 0 && !token) break;
        if (rc == 0 && pages > 100000) rc = mesh_err_set(err, MESH_ERR, NULL, "s3 ListObjectsV2: paging does not end");
    }
    free(token);
    return rc;
}

/* ---- the bucket ---- */

int s3_check_bucket(struct s3 *s, struct mesh_err *err)
{
    struct http_response resp;
    http_response_init(&resp);
    struct s3_req r = {S3_HEAD, "s3 HeadBucket", "HEAD", NULL, NULL, NULL, 0, NULL, 0, 0};
    int rc = s3_send(s, &r, &resp, err);
    /* A 200 from a global or emulated endpoint still names the bucket's region: a request signed
     * for another region would be refused (or, by an emulator, wrongly accepted) later. */
    const char *region = rc == 0 ? http_response_header(&resp, "x-amz-bucket-region") : NULL;
    if (region && *region && strcasecmp(region, s->aws->region) != 0)
        rc = s3_error(s, &resp, r.what, NULL, err);
    http_response_release(&resp);
    return rc;
}

int s3_versioning(struct s3 *s, int *enabled, struct mesh_err *err)
{
    *enabled = 0;
    struct http_response resp;
    http_response_init(&resp);
    struct s3_req r = {S3_GET, "s3 GetBucketVersioning", "GET", NULL, "versioning", NULL, 0, NULL, 0, 0};
    int rc = s3_send(s, &r, &resp, err);
    if (rc == 0) {
        xmlDocPtr doc = parse_xml(resp.body.buf, resp.body.len, r.what, err);
        if (!doc) rc = err->code;
        char *st = doc ? aws_xml_text(xmlDocGetRootElement(doc), "Status") : NULL;
        *enabled = st && strcmp(st, "Enabled") == 0;
        free(st);
        xmlFreeDoc(doc);
    }
    http_response_release(&resp);
    return rc;
}
