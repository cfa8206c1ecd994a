/* test_s3.c: the S3 object client (providers/aws/s3.h) and the S3 lease (s3_lease.h): URLs in
 * both addressing styles, key encoding, conditional and SSE headers sent and signed, S3's XML
 * errors mapped to codes and messages a person can act on, ListObjectsV2 paging, and the lease's
 * judgement of a 412 (someone else's live lease: refused naming the holder; our own lost write). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "aws/endpoint.h"
#include "aws/s3.h"
#include "aws/s3_lease.h"
#include "base/xalloc.h"
#include "scripted_server.h"

static void clear_env(void)
{
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_S3_USE_PATH_STYLE");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
}

static void expect_base(const char *region, const char *endpoint, int style, const char *bucket, const char *want,
                        int want_style)
{
    char *base = NULL;
    int chosen = -1;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_s3_base_url(region, endpoint, style, bucket, &base, &chosen, &err), 0);
    assert_string_equal(base, want);
    assert_int_equal(chosen, want_style);
    free(base);
}

static void test_addressing(void **state)
{
    (void)state;
    clear_env();
    expect_base("us-west-2", NULL, 0, "team-state", "https://team-state.s3.us-west-2.amazonaws.com", 0);
    expect_base("us-west-2", NULL, -1, "team-state", "https://team-state.s3.us-west-2.amazonaws.com", 0);
    expect_base("us-west-2", NULL, 1, "team-state", "https://s3.us-west-2.amazonaws.com/team-state", 1);
    expect_base("cn-north-1", NULL, 0, "b1", "https://b1.s3.cn-north-1.amazonaws.com.cn", 0);
    /* a bucket that is no single DNS label: path-style whatever was asked */
    expect_base("us-west-2", NULL, 0, "my.bucket", "https://s3.us-west-2.amazonaws.com/my.bucket", 1);
    setenv("AWS_S3_USE_PATH_STYLE", "true", 1);
    expect_base("us-west-2", NULL, -1, "team-state", "https://s3.us-west-2.amazonaws.com/team-state", 1);
    expect_base("us-west-2", NULL, 0, "team-state", "https://team-state.s3.us-west-2.amazonaws.com", 0);
    unsetenv("AWS_S3_USE_PATH_STYLE");
    /* endpoints: _S3 before the generic one; an IP or localhost forces path-style */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
    expect_base("us-west-2", NULL, 0, "team-state", "http://127.0.0.1:5000/team-state", 1);
    setenv("AWS_ENDPOINT_URL_S3", "https://minio.example.com:9000", 1);
    expect_base("us-west-2", NULL, -1, "team-state", "https://team-state.minio.example.com:9000", 0);
    expect_base("us-west-2", "http://localhost:9000", 0, "team-state", "http://localhost:9000/team-state", 1);
    expect_base("us-west-2", "http://[::1]:9000", 0, "b", "http://[::1]:9000/b", 1);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    expect_base("eu-west-1", NULL, 0, "team-state", "https://team-state.s3.eu-west-1.amazonaws.com", 0);
    clear_env();
}

static void test_key_encoding(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    s3_encode_key(&sb, "team a/st+ate=1&x~y_z-.log/caf\xc3\xa9*");
    assert_string_equal(sb.buf, "team%20a/st%2Bate%3D1%26x~y_z-.log/caf%C3%A9%2A");
    strbuf_release(&sb);
    struct aws_client c;
    memset(&c, 0, sizeof(c));
    snprintf(c.region, sizeof(c.region), "us-west-2");
    struct s3 s;
    struct s3_config cfg = {.bucket = "b", .endpoint = "http://127.0.0.1:1", .path_style = -1};
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(s3_init(&s, &c, &cfg, &err), 0);
    char *url = s3_object_url(&s, "k.log/000000000001/000000000002");
    assert_string_equal(url, "http://127.0.0.1:1/b/k.log/000000000001/000000000002");
    free(url);
    s3_release(&s);
}

/* ---- against a scripted server ---- */

struct s3fx {
    struct server srv;
    struct aws_client c;
    struct aws_creds creds;
    struct s3 s;
    struct mesh_err err;
};

static void fx_start(struct s3fx *f, const struct reply *script, int n, const struct s3_config *extra)
{
    memset(f, 0, sizeof(*f));
    clear_env();
    server_start(&f->srv, script, n);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->srv.port);
    setenv("AWS_ENDPOINT_URL_S3", url, 1);
    setenv("MESH_BACKOFF_SCALE", "0.001", 1);
    f->creds.access_key = "AKIDTEST";
    f->creds.secret_key = "secret";
    http_client_init(&f->c.http);
    f->c.fixed = &f->creds;
    snprintf(f->c.region, sizeof(f->c.region), "us-west-2");
    mesh_err_init(&f->err);
    struct s3_config cfg = {.bucket = "team-state", .path_style = -1};
    if (extra) cfg = *extra;
    assert_int_equal(s3_init(&f->s, &f->c, &cfg, &f->err), 0);
}

static void fx_stop(struct s3fx *f)
{
    s3_release(&f->s);
    server_stop(&f->srv);
    clear_env();
}

/* The value of header name in the raw request (lower-cased names compared), or "". */
static const char *req_header(const struct server *srv, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    char pat[128];
    snprintf(pat, sizeof(pat), "\r\n%s:", name);
    const char *p = strcasestr(srv->last_request, pat);
    if (!p) return out;
    p += strlen(pat);
    while (*p == ' ') p++;
    snprintf(out, n, "%.*s", (int)strcspn(p, "\r\n"), p);
    return out;
}

static void expect_signed(const struct server *srv, const char *header)
{
    char auth[1024];
    req_header(srv, "Authorization", auth, sizeof(auth));
    const char *sh = strstr(auth, "SignedHeaders=");
    assert_non_null(sh);
    char list[512];
    snprintf(list, sizeof(list), ";%.*s;", (int)strcspn(sh + 14, ","), sh + 14);
    char want[128];
    snprintf(want, sizeof(want), ";%s;", header);
    if (!strstr(list, want)) fail_msg("%s not signed: %s", header, list);
}

static void test_put_conditions_signed(void **state)
{
    (void)state;
    const struct reply script[] = {
        {200, "ETag: \"e1\"\r\n", ""},
        {200, "ETag: \"e2\"\r\n", ""},
        {412, "Content-Type: application/xml\r\n",
         "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not "
         "hold</Message><RequestId>R1</RequestId></Error>"},
    };
    struct s3_config sse = {.bucket = "team-state", .path_style = -1, .sse_kms = 1, .sse_kms_key_id = "alias/state"};
    struct s3fx f;
    fx_start(&f, script, 3, &sse);
    char etag[S3_ETAG_MAX], v[256];
    struct s3_put_cond absent = {.if_none_match = 1};
    assert_int_equal(s3_put(&f.s, "dir/a b", "hello", 5, &absent, etag, &f.err), 0);
    assert_string_equal(etag, "\"e1\"");
    assert_non_null(strstr(f.srv.last_request, "PUT /team-state/dir/a%20b HTTP/1.1\r\n"));
    assert_string_equal(req_header(&f.srv, "If-None-Match", v, sizeof(v)), "*");
    expect_signed(&f.srv, "if-none-match");
    /* sha256("hello") */
    assert_string_equal(req_header(&f.srv, "x-amz-content-sha256", v, sizeof(v)),
                        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect_signed(&f.srv, "x-amz-content-sha256");
    assert_string_equal(req_header(&f.srv, "x-amz-server-side-encryption", v, sizeof(v)), "aws:kms");
    assert_string_equal(req_header(&f.srv, "x-amz-server-side-encryption-aws-kms-key-id", v, sizeof(v)), "alias/state");
    expect_signed(&f.srv, "x-amz-server-side-encryption-aws-kms-key-id");
    struct s3_put_cond match = {.if_match = "\"e1\""};
    assert_int_equal(s3_put(&f.s, "k", "x", 1, &match, etag, &f.err), 0);
    assert_string_equal(req_header(&f.srv, "If-Match", v, sizeof(v)), "\"e1\"");
    expect_signed(&f.srv, "if-match");
    assert_null(strstr(f.srv.last_request, "If-None-Match"));
    assert_int_equal(s3_put(&f.s, "k", "y", 1, &match, etag, &f.err), MESH_ECONFLICT);
    assert_string_equal(f.err.cause, "PreconditionFailed");
    assert_string_equal(f.err.request_id, "R1");
    assert_non_null(strstr(f.err.msg, "s3://team-state/k was written by someone else"));
    assert_int_equal(atomic_load(&f.s.count[S3_PUT]), 3);
    fx_stop(&f);
}

static void test_get_head_delete(void **state)
{
    (void)state;
    const struct reply script[] = {
        {200, "ETag: \"abc\"\r\n", "state bytes"},
        {404, "Content-Type: application/xml\r\n",
         "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"},
        {404, NULL, NULL},  /* HEAD: no body */
        {204, NULL, NULL},
    };
    struct s3fx f;
    fx_start(&f, script, 4, NULL);
    struct s3_object o;
    assert_int_equal(s3_get(&f.s, "k", &o, &f.err), 0);
    assert_int_equal(o.len, 11);
    assert_memory_equal(o.data, "state bytes", 11);
    assert_string_equal(o.etag, "\"abc\"");
    s3_object_release(&o);
    assert_int_equal(s3_get(&f.s, "k.log/1", &o, &f.err), MESH_ENOTFOUND);
    assert_non_null(strstr(f.err.msg, "s3://team-state/k.log/1 does not exist"));
    mesh_err_init(&f.err);
    assert_int_equal(s3_head(&f.s, "k", NULL, &f.err), MESH_ENOTFOUND);
    mesh_err_init(&f.err);
    assert_int_equal(s3_delete(&f.s, "k", "\"abc\"", &f.err), 0);
    char v[64];
    assert_string_equal(req_header(&f.srv, "If-Match", v, sizeof(v)), "\"abc\"");
    assert_non_null(strstr(f.srv.last_request, "DELETE /team-state/k HTTP/1.1"));
    fx_stop(&f);
}

/* ---- errors ---- */

static void resp_set(struct http_response *r, long status, const char *hname, const char *hval, const char *body)
{
    http_response_init(r);
    r->status = status;
    if (body) strbuf_adds(&r->body, body);
    if (hname) {
        struct http_header *h = xcalloc(1, sizeof(*h));
        h->name = xstrdup(hname);
        h->value = xstrdup(hval);
        vec_push(&r->headers, h);
    }
}

static int map(const struct s3 *s, long status, const char *hname, const char *hval, const char *body,
               const char *what, const char *key, struct mesh_err *err)
{
    struct http_response r;
    resp_set(&r, status, hname, hval, body);
    mesh_err_init(err);
    int rc = s3_error(s, &r, what, key, err);
    http_response_release(&r);
    return rc;
}

#define XERR(code, msg, extra) "<?xml version=\"1.0\"?><Error><Code>" code "</Code><Message>" msg "</Message>" extra \
    "<RequestId>RID</RequestId></Error>"

static void expect_msg(const struct mesh_err *e, const char *part)
{
    if (!strstr(e->msg, part)) fail_msg("'%s' not in '%s'", part, e->msg);
}

static void test_error_mapping(void **state)
{
    (void)state;
    clear_env();
    struct aws_client c;
    memset(&c, 0, sizeof(c));
    snprintf(c.region, sizeof(c.region), "us-west-2");
    struct s3 s;
    struct s3_config cfg = {.bucket = "team-state", .path_style = -1};
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(s3_init(&s, &c, &cfg, &e), 0);

    assert_int_equal(map(&s, 404, NULL, NULL, XERR("NoSuchBucket", "The specified bucket does not exist", ""),
                         "s3 GetObject", "k", &e), MESH_EINVAL);
    expect_msg(&e, "bucket team-state does not exist (region us-west-2)");
    assert_string_equal(e.cause, "NoSuchBucket");
    assert_string_equal(e.request_id, "RID");
    assert_int_equal(map(&s, 404, NULL, NULL, NULL, "s3 HeadBucket", NULL, &e), MESH_EINVAL);
    expect_msg(&e, "bucket team-state does not exist");
    assert_int_equal(map(&s, 404, NULL, NULL, XERR("NoSuchKey", "gone", ""), "s3 GetObject", "k", &e), MESH_ENOTFOUND);
    expect_msg(&e, "s3://team-state/k does not exist");
    assert_int_equal(map(&s, 412, NULL, NULL, XERR("PreconditionFailed", "no", ""), "s3 PutObject", "k", &e),
                     MESH_ECONFLICT);
    assert_int_equal(map(&s, 409, NULL, NULL, XERR("ConditionalRequestConflict", "in flight", ""), "s3 PutObject",
                         "k", &e), MESH_ECONFLICT);
    expect_msg(&e, "another write of s3://team-state/k was in flight");
    assert_int_equal(map(&s, 403, NULL, NULL, XERR("AccessDenied", "Access Denied", ""), "s3 PutObject", "k.lease",
                         &e), MESH_ERR);
    expect_msg(&e, "access denied to s3://team-state/k.lease (AccessDenied: Access Denied)");
    expect_msg(&e, "need s3:PutObject on arn:aws:s3:::team-state/k.lease");
    assert_int_equal(map(&s, 403, NULL, NULL, NULL, "s3 HeadBucket", NULL, &e), MESH_ERR);
    expect_msg(&e, "s3:ListBucket on arn:aws:s3:::team-state");
    assert_int_equal(map(&s, 403, NULL, NULL, XERR("SignatureDoesNotMatch", "bad sig", ""), "s3 GetObject", "k", &e),
                     MESH_ERR);
    expect_msg(&e, "S3 refused the credentials (SignatureDoesNotMatch: bad sig)");
    /* wrong region: the header (301 to a HEAD, no body), the body's <Region>, or only the code */
    assert_int_equal(map(&s, 301, "x-amz-bucket-region", "eu-west-1", NULL, "s3 HeadBucket", NULL, &e), MESH_EINVAL);
    expect_msg(&e, "bucket team-state is in region eu-west-1, not us-west-2: set state.region: eu-west-1");
    assert_int_equal(map(&s, 400, NULL, NULL, XERR("AuthorizationHeaderMalformed", "the region 'us-west-2' is wrong; "
                         "expecting 'eu-central-1'", "<Region>eu-central-1</Region>"), "s3 GetObject", "k", &e),
                     MESH_EINVAL);
    expect_msg(&e, "is in region eu-central-1, not us-west-2");
    assert_int_equal(map(&s, 301, NULL, NULL, XERR("PermanentRedirect", "use the specified endpoint", ""),
                         "s3 GetObject", "k", &e), MESH_EINVAL);
    expect_msg(&e, "bucket team-state is not in region us-west-2 (PermanentRedirect: use the specified endpoint)");
    assert_int_equal(map(&s, 400, NULL, NULL, XERR("InvalidArgument", "bad", ""), "s3 PutObject", "k", &e), MESH_ERR);
    expect_msg(&e, "s3 PutObject s3://team-state/k failed: InvalidArgument: bad");
    s3_release(&s);
}

/* ---- listing ---- */

static int collect(const char *key, void *ctx, struct mesh_err *err)
{
    (void)err;
    struct strbuf *sb = ctx;
    strbuf_addf(sb, "%s,", key);
    return 0;
}

#define LIST_NS "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"

static void test_list_paging(void **state)
{
    (void)state;
    const char *page1 = LIST_NS "<Name>team-state</Name><Prefix>k.log/</Prefix><KeyCount>2</KeyCount>"
                        "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/1+=</NextContinuationToken>"
                        "<Contents><Key>k.log/000000000001/000000000001</Key><ETag>\"a\"</ETag></Contents>"
                        "<Contents><Key>k.log/000000000001/000000000002</Key></Contents></ListBucketResult>";
    const char *page2 = LIST_NS "<IsTruncated>false</IsTruncated>"
                        "<Contents><Key>k.log/000000000002/000000000001</Key></Contents></ListBucketResult>";
    struct strbuf keys = STRBUF_INIT;
    strbuf_init(&keys);
    char *next = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(s3_list_parse(page1, strlen(page1), collect, &keys, &next, &err), 0);
    assert_string_equal(next, "tok/1+=");
    free(next);
    assert_int_equal(s3_list_parse(page2, strlen(page2), collect, &keys, &next, &err), 0);
    assert_null(next);
    assert_string_equal(keys.buf, "k.log/000000000001/000000000001,k.log/000000000001/000000000002,"
                                  "k.log/000000000002/000000000001,");
    const char *bad = LIST_NS "<IsTruncated>true</IsTruncated></ListBucketResult>";
    assert_int_equal(s3_list_parse(bad, strlen(bad), collect, &keys, &next, &err), MESH_ERR);

    const struct reply script[] = {{200, "Content-Type: application/xml\r\n", page1},
                                   {200, "Content-Type: application/xml\r\n", page2}};
    struct s3fx f;
    fx_start(&f, script, 2, NULL);
    strbuf_reset(&keys);
    assert_int_equal(s3_list(&f.s, "k.log/", collect, &keys, &f.err), 0);
    assert_int_equal(f.srv.served, 2);
    assert_non_null(strstr(f.srv.last_request,
                           "GET /team-state/?continuation-token=tok%2F1%2B%3D&list-type=2&prefix=k.log%2F HTTP/1.1"));
    assert_string_equal(keys.buf, "k.log/000000000001/000000000001,k.log/000000000001/000000000002,"
                                  "k.log/000000000002/000000000001,");
    assert_int_equal(atomic_load(&f.s.count[S3_LIST]), 2);
    fx_stop(&f);
    strbuf_release(&keys);
}

/* ---- the bucket ---- */

static void test_bucket_checks(void **state)
{
    (void)state;
    const struct reply script[] = {
        {200, "x-amz-bucket-region: us-west-2\r\n", NULL},
        {200, "x-amz-bucket-region: eu-west-1\r\n", NULL},
        {200, "Content-Type: application/xml\r\n",
         "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status>"
         "</VersioningConfiguration>"},
        {200, "Content-Type: application/xml\r\n", "<VersioningConfiguration/>"},
    };
    struct s3fx f;
    fx_start(&f, script, 4, NULL);
    assert_int_equal(s3_check_bucket(&f.s, &f.err), 0);
    assert_non_null(strstr(f.srv.last_request, "HEAD /team-state/ HTTP/1.1"));
    assert_int_equal(s3_check_bucket(&f.s, &f.err), MESH_EINVAL);
    expect_msg(&f.err, "bucket team-state is in region eu-west-1, not us-west-2");
    int on = -1;
    assert_int_equal(s3_versioning(&f.s, &on, &f.err), 0);
    assert_int_equal(on, 1);
    assert_non_null(strstr(f.srv.last_request, "GET /team-state/?versioning HTTP/1.1"));
    assert_int_equal(s3_versioning(&f.s, &on, &f.err), 0);
    assert_int_equal(on, 0);
    fx_stop(&f);
}

/* ---- the S3 lease's judgement of a 412 ---- */

static void test_lease_refused_names_holder(void **state)
{
    (void)state;
    char other[512];
    snprintf(other, sizeof(other), "{\"run_id\":\"r-other\",\"holder\":\"ana@laptop\",\"host\":\"laptop\",\"pid\":42,"
             "\"command\":\"apply\",\"acquired\":1,\"expires\":%lld}", (long long)time(NULL) + 600);
    const struct reply script[] = {
        {412, NULL, XERR("PreconditionFailed", "exists", "")},
        {200, "ETag: \"L1\"\r\n", other},
    };
    struct s3fx f;
    fx_start(&f, script, 2, NULL);
    struct remote_lease want = {.run_id = "r-me", .holder = "bo@ci", .host = "ci", .pid = 7, .command = "apply",
                                .acquired = 1, .expires = (long long)time(NULL) + 60};
    struct remote_lease held;
    int over = -1;
    assert_int_equal(s3_lease_acquire(&f.s, "k.lease", &want, &held, &over, &f.err), MESH_ELOCKED);
    assert_int_equal(over, 0);
    assert_string_equal(held.run_id, "r-other");
    assert_string_equal(held.holder, "ana@laptop");
    expect_msg(&f.err, "locked by ana@laptop (run r-other, pid 42 on laptop, 'apply')");
    fx_stop(&f);
}

static void test_lease_own_lost_write(void **state)
{
    (void)state;
    struct remote_lease want = {.run_id = "r-me", .holder = "bo@ci", .host = "ci", .pid = 7, .command = "apply",
                                .acquired = 1, .expires = (long long)time(NULL) + 60};
    char mine[512];
    snprintf(mine, sizeof(mine), "{\"acquired\":1,\"command\":\"apply\",\"expires\":%lld,\"holder\":\"bo@ci\","
             "\"host\":\"ci\",\"pid\":7,\"run_id\":\"r-me\"}", want.expires);
    /* the first PUT landed but its reply was lost: the resend meets our own record */
    const struct reply script[] = {
        {0, NULL, NULL},
        {412, NULL, XERR("PreconditionFailed", "exists", "")},
        {200, "ETag: \"L2\"\r\n", mine},
    };
    struct s3fx f;
    fx_start(&f, script, 3, NULL);
    struct remote_lease held;
    int over = -1;
    assert_int_equal(s3_lease_acquire(&f.s, "k.lease", &want, &held, &over, &f.err), 0);
    assert_int_equal(over, 0);
    assert_int_equal(f.srv.served, 3);
    fx_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addressing),
        cmocka_unit_test(test_key_encoding),
        cmocka_unit_test(test_put_conditions_signed),
        cmocka_unit_test(test_get_head_delete),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_list_paging),
        cmocka_unit_test(test_bucket_checks),
        cmocka_unit_test(test_lease_refused_names_holder),
        cmocka_unit_test(test_lease_own_lost_write),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    http_thread_release();
    xmlCleanupParser();
    return rc;
}
