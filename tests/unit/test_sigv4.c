/* test_sigv4.c: SigV4 against the official test-suite vectors (tests/unit/data/sigv4/), exactly:
 * canonical request, string to sign, signature and Authorization header in header mode, and
 * canonical request, string to sign and signature in query (presign) mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/sigv4.h"
#include "base/strbuf.h"
#include "http.h"

static const char *const cases[] = {
    "get-vanilla", "get-vanilla-query", "get-vanilla-query-order-key-case",
    "get-vanilla-query-order-encoded", "get-vanilla-query-unreserved", "get-vanilla-utf8-query",
    "get-vanilla-empty-query-key", "get-unreserved", "get-utf8", "get-space-normalized",
    "get-space-unnormalized", "get-header-key-duplicate", "get-header-value-order",
    "get-header-value-trim", "get-header-value-multiline", "get-relative-relative-normalized",
    "get-relative-relative-unnormalized", "get-slashes-normalized", "get-slashes-unnormalized",
    "get-slash-dot-slash-normalized", "get-slash-pointless-dot-normalized",
    "get-vanilla-with-session-token", "post-sts-header-before", "post-vanilla", "post-vanilla-query",
    "post-header-key-case", "post-header-key-sort", "post-x-www-form-urlencoded",
    "post-x-www-form-urlencoded-parameters", NULL,
};

static char data_dir[4096];

/* The data lives beside the sources; tests run from the repo root or from build/<flavour>/unit. */
static void find_data_dir(void)
{
    if (access("tests/unit/data/sigv4", R_OK) == 0) {
        snprintf(data_dir, sizeof(data_dir), "tests/unit/data/sigv4");
        return;
    }
    char exe[3000];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) *slash = '\0';
    snprintf(data_dir, sizeof(data_dir), "%s/../../../tests/unit/data/sigv4", exe);
}

static char *slurp(const char *name, const char *file)
{
    char path[8192];
    snprintf(path, sizeof(path), "%s/%s/%s", data_dir, name, file);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) strbuf_add(&sb, buf, n);
    fclose(f);
    return strbuf_detach(&sb);
}

struct parsed {
    char method[16];
    char *path, *query, *body;
    struct sigv4_pair headers[16];
    char *names[16], *values[16];
    size_t n;
};

/* request.txt: "METHOD URI HTTP/1.1", "Name:value" lines (indented lines continue the previous
 * value, joined with a space), a blank line, the body. */
static void parse_request(char *text, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    char *body = strstr(text, "\n\n");
    if (body) { *body = '\0'; body += 2; }
    p->body = body;
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    char uri[1024];
    assert_int_equal(sscanf(line, "%15s %1023[^\n]", p->method, uri), 2);
    char *proto = strstr(uri, " HTTP/");
    if (proto) *proto = '\0';
    char *q = strchr(uri, '?');
    p->query = strdup(q ? q + 1 : "");
    if (q) *q = '\0';
    p->path = strdup(uri);
    while ((line = strtok_r(NULL, "\n", &save))) {
        if ((line[0] == ' ' || line[0] == '\t') && p->n) {
            char *v = p->values[p->n - 1], *nv = NULL;
            while (*line == ' ') line++;
            assert_true(asprintf(&nv, "%s %s", v, line) > 0);
            free(v);
            p->values[p->n - 1] = nv;
            continue;
        }
        char *colon = strchr(line, ':');
        assert_non_null(colon);
        p->names[p->n] = strndup(line, (size_t)(colon - line));
        p->values[p->n] = strdup(colon + 1);
        p->n++;
    }
    for (size_t i = 0; i < p->n; i++) p->headers[i] = (struct sigv4_pair){ p->names[i], p->values[i] };
}

static void parsed_free(struct parsed *p)
{
    for (size_t i = 0; i < p->n; i++) { free(p->names[i]); free(p->values[i]); }
    free(p->path);
    free(p->query);
}

static void trim_end(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = '\0';
}

static void expect_file(const char *name, const char *file, const char *got)
{
    char *want = slurp(name, file);
    assert_non_null(want);
    trim_end(want);
    if (strcmp(want, got) != 0) print_error("%s/%s:\nwant:\n%s\ngot:\n%s\n", name, file, want, got);
    assert_string_equal(want, got);
    free(want);
}

static void expect_authorization(const char *name, const char *got)
{
    char *signed_req = slurp(name, "header-signed-request.txt");
    assert_non_null(signed_req);
    char *line = strstr(signed_req, "\nAuthorization:");
    assert_non_null(line);
    line += strlen("\nAuthorization:");
    line[strcspn(line, "\n")] = '\0';
    assert_string_equal(line, got);
    free(signed_req);
}

static void run_case(const char *name, int presign)
{
    char *req_text = slurp(name, "request.txt"), *ctx_text = slurp(name, "context.json");
    assert_non_null(req_text);
    assert_non_null(ctx_text);
    json_t *ctx = json_loads(ctx_text, 0, NULL);
    assert_non_null(ctx);
    json_t *cred = json_object_get(ctx, "credentials");
    struct sigv4_creds c = { json_string_value(json_object_get(cred, "access_key_id")),
                             json_string_value(json_object_get(cred, "secret_access_key")),
                             json_string_value(json_object_get(cred, "token")) };
    struct parsed p;
    parse_request(req_text, &p);
    struct sigv4_input in = {
        .method = p.method, .path = p.path, .query = p.query, .headers = p.headers, .nheaders = p.n,
        .body = p.body, .body_len = p.body ? strlen(p.body) : 0,
        .region = json_string_value(json_object_get(ctx, "region")),
        .service = json_string_value(json_object_get(ctx, "service")),
        .when = 1440938160, /* 2015-08-30T12:36:00Z, as every context.json says */
        .no_normalize = !json_is_true(json_object_get(ctx, "normalize")),
        .sign_body_header = json_is_true(json_object_get(ctx, "sign_body")),
        .expires = presign ? (long)json_integer_value(json_object_get(ctx, "expiration_in_seconds")) : 0,
    };
    assert_string_equal(json_string_value(json_object_get(ctx, "timestamp")), "2015-08-30T12:36:00Z");
    struct sigv4_output out;
    sigv4_output_init(&out);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(sigv4_sign(&c, &in, &out, &err), 0);
    const char *mode = presign ? "query" : "header";
    char file[64];
    snprintf(file, sizeof(file), "%s-canonical-request.txt", mode);
    expect_file(name, file, out.canonical_request.buf);
    snprintf(file, sizeof(file), "%s-string-to-sign.txt", mode);
    expect_file(name, file, out.string_to_sign.buf);
    snprintf(file, sizeof(file), "%s-signature.txt", mode);
    expect_file(name, file, out.signature);
    if (!presign) expect_authorization(name, out.authorization.buf);
    else assert_non_null(strstr(out.query.buf, out.signature));
    sigv4_output_release(&out);
    parsed_free(&p);
    json_decref(ctx);
    free(req_text);
    free(ctx_text);
}

static void test_suite_header(void **state)
{
    for (int i = 0; cases[i]; i++) run_case(cases[i], 0);
}

static void test_suite_query(void **state)
{
    for (int i = 0; cases[i]; i++) run_case(cases[i], 1);
}

/* A wrong secret must change the signature: the vectors would otherwise pass a constant. */
static void test_secret_matters(void **state)
{
    struct sigv4_pair h[] = { { "Host", "example.amazonaws.com" } };
    struct sigv4_input in = { .method = "GET", .path = "/", .headers = h, .nheaders = 1,
                              .region = "us-east-1", .service = "service", .when = 1440938160 };
    struct sigv4_creds a = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL };
    struct sigv4_creds b = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ", NULL };
    struct sigv4_output oa, ob;
    sigv4_output_init(&oa);
    sigv4_output_init(&ob);
    assert_int_equal(sigv4_sign(&a, &in, &oa, NULL), 0);
    assert_int_equal(sigv4_sign(&b, &in, &ob, NULL), 0);
    assert_string_equal(oa.signature, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    assert_string_not_equal(oa.signature, ob.signature);
    sigv4_output_release(&oa);
    sigv4_output_release(&ob);
}

/* sigv4_sign_http: what the AWS layer uses; must match the suite's post-sts-header-before. */
static void test_sign_http(void **state)
{
    struct http_request req;
    http_request_init(&req, "POST", "https://example.amazonaws.com/");
    struct sigv4_creds c = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                             "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==" };
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(sigv4_sign_http(&req, &c, "us-east-1", "service", 1440938160, &err), 0);
    assert_string_equal(http_request_header(&req, "X-Amz-Date"), "20150830T123600Z");
    assert_string_equal(http_request_header(&req, "Authorization"),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-amz-security-token, "
        "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
    /* Signing again (a retry) replaces the headers instead of signing the old ones. */
    assert_int_equal(sigv4_sign_http(&req, &c, "us-east-1", "service", 1440938160, &err), 0);
    assert_int_equal(req.headers.len, 4);
    http_request_release(&req);
    http_thread_release();
}

/* The EKS token shape: a presigned STS GetCallerIdentity with x-k8s-aws-id signed. */
static void test_presign_url(void **state)
{
    struct sigv4_creds c = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "tok/en+" };
    struct sigv4_pair extra[] = { { "x-k8s-aws-id", "cluster-1" } };
    char *url = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(sigv4_presign_url("https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
                                       &c, "us-east-1", "sts", 1440938160, 60, extra, 1, &url, &err), 0);
    assert_non_null(strstr(url, "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&"));
    assert_non_null(strstr(url, "&X-Amz-Expires=60&"));
    assert_non_null(strstr(url, "&X-Amz-Security-Token=tok%2Fen%2B&"));
    assert_non_null(strstr(url, "&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&"));
    assert_non_null(strstr(url, "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request"));
    /* botocore's order on the wire (the EKS token is compared byte for byte with the CLI's). */
    assert_non_null(strstr(url, "&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&"
                                "X-Amz-Security-Token=tok%2Fen%2B&X-Amz-Signature="));
    free(url);
    http_thread_release();
}

int main(void)
{
    find_data_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_header),
        cmocka_unit_test(test_suite_query),
        cmocka_unit_test(test_secret_matters),
        cmocka_unit_test(test_sign_http),
        cmocka_unit_test(test_presign_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
