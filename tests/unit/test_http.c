/* test_http.c: the HTTP layer against a scripted server in this process (a thread on a free
 * 127.0.0.1 port): retries on 5xx, throttling and connection resets converge; Retry-After is
 * honoured; the retry budget and counter; cancel between attempts; connection reuse; the debug
 * log redacts secrets; backoff is full jitter under a growing cap; a request that is not
 * idempotent (`once`) is never sent again once it may have reached the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aws/query.h"
#include "http.h"

/* ---- the scripted server ---- */

#include "scripted_server.h"

static void url_of(const struct server *s, char *buf, size_t n)
{
    snprintf(buf, n, "http://127.0.0.1:%d/x", s->port);
}

static struct http_client fast_client(struct http_retries *r)
{
    struct http_client c;
    http_client_init(&c);
    c.base_delay = c.throttle_delay = 0.001;
    c.retries = r;
    return c;
}

static int send_get(struct http_client *c, const struct server *s, struct http_response *resp,
                    struct mesh_err *err, http_classify_fn classify)
{
    char url[64];
    url_of(s, url, sizeof(url));
    struct http_request req;
    http_request_init(&req, "GET", url);
    req.classify = classify;
    int rc = http_send(c, &req, resp, err);
    http_request_release(&req);
    return rc;
}

/* ---- tests ---- */

static void test_retries_converge(void **state)
{
    static const struct reply script[] = {
        { 0, NULL, NULL }, { 503, NULL, "busy" }, { 500, NULL, "oops" },
        { 200, "x-amzn-RequestId: r-1\r\n", "fine" },
    };
    struct server s;
    server_start(&s, script, 4);
    struct http_retries r;
    http_retries_init(&r, 100);
    struct http_client c = fast_client(&r);
    struct http_response resp;
    http_response_init(&resp);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(send_get(&c, &s, &resp, &err, NULL), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body.buf, "fine");
    assert_string_equal(http_response_header(&resp, "X-AMZN-REQUESTID"), "r-1");
    assert_int_equal(resp.attempts, 4);
    assert_int_equal(http_retries_count(&r), 3);
    http_response_release(&resp);
    server_stop(&s);
}

static void test_throttle_in_body(void **state)
{
    static const struct reply script[] = {
        { 400, NULL, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors></Response>" },
        { 400, NULL, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>" },
        { 400, "Content-Type: application/json\r\n", "{\"__type\":\"TooManyRequestsException\",\"message\":\"x\"}" },
        { 200, NULL, "<ok/>" },
    };
    struct server s;
    server_start(&s, script, 4);
    struct http_retries r;
    http_retries_init(&r, -1);
    struct http_client c = fast_client(&r);
    struct http_response resp;
    http_response_init(&resp);
    assert_int_equal(send_get(&c, &s, &resp, NULL, aws_classify), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(http_retries_count(&r), 3);
    http_response_release(&resp);
    server_stop(&s);
}

/* A 400 that is not throttling is final: one attempt, the reply handed back. */
static void test_client_error_not_retried(void **state)
{
    static const struct reply script[] = {
        { 400, NULL, "<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>gone</Message></Error></Errors></Response>" },
    };
    struct server s;
    server_start(&s, script, 1);
    struct http_retries r;
    http_retries_init(&r, 10);
    struct http_client c = fast_client(&r);
    struct http_response resp;
    http_response_init(&resp);
    assert_int_equal(send_get(&c, &s, &resp, NULL, aws_classify), 0);
    assert_int_equal(resp.status, 400);
    assert_int_equal(resp.attempts, 1);
    assert_int_equal(http_retries_count(&r), 0);
    http_response_release(&resp);
    server_stop(&s);
}

/* An HTML 500 (an emulator's page: a call it lacks, or a crash under load) is asked 3 times in all,
 * not 10: a crash passes, a missing call is reported after the third. */
static void test_html_500_retried_briefly(void **state)
{
    (void)state;
    static const char page[] = "<!doctype html>\n<html><title>500 Internal Server Error</title></html>\n";
    static const struct reply crash[] = {
        { 500, "Content-Type: text/html; charset=utf-8\r\n", page },
        { 200, NULL, "<ok/>" },
    };
    static const struct reply lacking[] = {
        { 500, "Content-Type: text/html; charset=utf-8\r\n", page },
        { 500, "Content-Type: text/html; charset=utf-8\r\n", page },
        { 500, "Content-Type: text/html; charset=utf-8\r\n", page },
    };
    struct server s;
    struct http_retries r;
    http_retries_init(&r, -1);
    struct http_client c = fast_client(&r);
    struct http_response resp;
    http_response_init(&resp);
    server_start(&s, crash, 2);
    assert_int_equal(send_get(&c, &s, &resp, NULL, aws_classify), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 2);
    server_stop(&s);
    server_start(&s, lacking, 3);   /* a fourth attempt would find no server */
    assert_int_equal(send_get(&c, &s, &resp, NULL, aws_classify), 0);
    assert_int_equal(resp.status, 500);   /* the caller reports the page */
    assert_int_equal(resp.attempts, 3);
    http_response_release(&resp);
    server_stop(&s);
}

static void test_retry_after_honoured(void **state)
{
    static const struct reply script[] = { { 429, "Retry-After: 1\r\n", "" }, { 200, NULL, "ok" } };
    struct server s;
    server_start(&s, script, 2);
    struct http_client c = fast_client(NULL);
    struct http_response resp;
    http_response_init(&resp);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(send_get(&c, &s, &resp, NULL, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_int_equal(resp.status, 200);
    assert_true(took >= 0.9);  /* base delay is 1 ms: only Retry-After explains a second */
    http_response_release(&resp);
    server_stop(&s);
}

static void test_budget_exhausted(void **state)
{
    static const struct reply script[] = { { 503, NULL, "a" }, { 503, NULL, "b" }, { 503, NULL, "c" } };
    struct server s;
    server_start(&s, script, 3);
    struct http_retries r;
    http_retries_init(&r, 2);
    struct http_client c = fast_client(&r);
    struct http_response resp;
    http_response_init(&resp);
    assert_int_equal(send_get(&c, &s, &resp, NULL, NULL), 0);
    assert_int_equal(resp.status, 503);  /* the last reply, for the caller to report */
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(http_retries_count(&r), 2);
    http_response_release(&resp);
    server_stop(&s);
}

static void test_cancel_between_attempts(void **state)
{
    static const struct reply script[] = { { 503, "Connection: close\r\n", "a" }, { 0, NULL, NULL } };
    struct server s;
    server_start(&s, script, 2);
    volatile sig_atomic_t cancel = 0;
    struct http_client c = fast_client(NULL);
    c.base_delay = 10;  /* a long wait that the cancel must cut short */
    c.cancel = &cancel;
    struct http_response resp;
    http_response_init(&resp);
    struct mesh_err err;
    mesh_err_init(&err);
    cancel = 1;  /* set before: the first attempt must not even start */
    assert_int_equal(send_get(&c, &s, &resp, &err, NULL), MESH_ECANCELED);
    cancel = 0;
    c.max_attempts = 2;
    mesh_err_init(&err);
    setenv("MESH_BACKOFF_SCALE", "0.00001", 1);
    assert_int_equal(send_get(&c, &s, &resp, &err, NULL), MESH_ERR);  /* 503, then a reset */
    unsetenv("MESH_BACKOFF_SCALE");
    assert_non_null(strstr(err.msg, "after 2 attempts"));
    http_response_release(&resp);
    server_stop(&s);
}

static void test_connection_reused(void **state)
{
    static const struct reply script[] = { { 200, NULL, "1" }, { 200, NULL, "2" }, { 200, NULL, "3" } };
    struct server s;
    server_start(&s, script, 3);
    struct http_client c = fast_client(NULL);
    for (int i = 0; i < 3; i++) {
        struct http_response resp;
        http_response_init(&resp);
        assert_int_equal(send_get(&c, &s, &resp, NULL, NULL), 0);
        assert_int_equal(resp.status, 200);
        http_response_release(&resp);
    }
    assert_int_equal(s.accepted, 1);
    server_stop(&s);
}

/* A `once` POST (a create AWS does not refuse when repeated, like CreateVpc) whose attempt may have
 * been processed. */
static int send_once(struct http_client *c, int port, struct http_response *resp, struct mesh_err *err)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", port);
    struct http_request req;
    http_request_init(&req, "POST", url);
    req.body = "Action=CreateVpc";
    req.body_len = strlen(req.body);
    req.classify = aws_classify;
    req.once = 1;
    int rc = http_send(c, &req, resp, err);
    http_request_release(&req);
    return rc;
}

/* The connection dies after the request was read (a lost reply): not sent again, MESH_EUNKNOWN. */
static void test_once_not_resent_after_reset(void **state)
{
    static const struct reply script[] = { { 0, NULL, NULL }, { 200, NULL, "second" } };
    struct server s;
    server_start(&s, script, 2);
    struct http_retries r;
    http_retries_init(&r, 100);
    struct http_client c = fast_client(&r);
    struct http_response resp;
    http_response_init(&resp);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(send_once(&c, s.port, &resp, &err), MESH_EUNKNOWN);
    assert_int_equal(s.served, 1);
    assert_int_equal(http_retries_count(&r), 0);
    assert_non_null(strstr(err.msg, "may have taken effect"));
    http_response_release(&resp);
    /* the same reset for an idempotent request is retried (the script's second reply) */
    http_response_init(&resp);
    assert_int_equal(send_get(&c, &s, &resp, NULL, NULL), 0);
    assert_string_equal(resp.body.buf, "second");
    http_response_release(&resp);
    server_stop(&s);
}

/* A 500 may come after the work was done: not sent again; the reply is kept for the message. */
static void test_once_not_resent_after_500(void **state)
{
    static const struct reply script[] = {
        { 500, NULL, "<Response><Errors><Error><Code>InternalError</Code><Message>x</Message></Error></Errors></Response>" },
    };
    struct server s;
    server_start(&s, script, 1);
    struct http_client c = fast_client(NULL);
    struct http_response resp;
    http_response_init(&resp);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(send_once(&c, s.port, &resp, &err), MESH_EUNKNOWN);
    assert_int_equal(resp.status, 500);
    assert_int_equal(resp.attempts, 1);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    http_response_release(&resp);
    server_stop(&s);
}

/* Answers that say the request was not processed (throttled, 429, 503) are retried as usual. */
static void test_once_retried_when_not_processed(void **state)
{
    /* each attempt is on a fresh connection: the one-connection-at-a-time server closes after a reply */
    static const struct reply script[] = {
        { 503, "Connection: close\r\n", "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>x</Message></Error></Errors></Response>" },
        { 429, "Connection: close\r\n", "slow" }, { 503, "Connection: close\r\n", "busy" }, { 200, NULL, "<vpc/>" },
    };
    struct server s;
    server_start(&s, script, 4);
    struct http_client c = fast_client(NULL);
    struct http_response resp;
    http_response_init(&resp);
    assert_int_equal(send_once(&c, s.port, &resp, NULL), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 4);
    assert_int_equal(s.accepted, 4);
    http_response_release(&resp);
    server_stop(&s);
}

/* A refused connection sent nothing: retried up to the attempts allowed, then an ordinary error. */
static void test_once_retried_before_sending(void **state)
{
    struct server s;
    server_start(&s, NULL, 0);
    int port = s.port;
    server_stop(&s);  /* the port now refuses connections */
    struct http_client c = fast_client(NULL);
    c.max_attempts = 3;
    struct http_response resp;
    http_response_init(&resp);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(send_once(&c, port, &resp, &err), MESH_ERR);
    assert_int_equal(resp.attempts, 3);
    http_response_release(&resp);
}

/* In-memory TLS material (CA, client certificate and key) is set per request and does not get
 * in the way of a plain-HTTP request on the same thread's handle; the HTTPS side is proven
 * against the fake API server (tests/e2e/kube_client.sh: right CA, wrong CA, client certificate,
 * and a handle without one right after a handle with one on the same thread). */
static void test_tls_blobs_per_request(void **state)
{
    static const struct reply script[] = { { 200, NULL, "1" }, { 200, NULL, "2" } };
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
    struct server s;
    server_start(&s, script, 2);
    struct http_client with = fast_client(NULL), without = fast_client(NULL);
    with.ca_pem = (struct http_blob){pem, sizeof(pem) - 1};
    with.cert_pem = (struct http_blob){pem, sizeof(pem) - 1};
    with.key_pem = (struct http_blob){pem, sizeof(pem) - 1};
    struct http_client *clients[] = { &with, &without };
    for (int i = 0; i < 2; i++) {
        struct http_response resp;
        http_response_init(&resp);
        assert_int_equal(send_get(clients[i], &s, &resp, NULL, NULL), 0);
        assert_int_equal(resp.status, 200);
        http_response_release(&resp);
    }
    server_stop(&s);
}

static char *capture_stderr_run(const struct server *s, struct http_client *c)
{
    char path[] = "/tmp/mesh-test-http-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(2);
    fflush(stderr);
    dup2(fd, 2);
    setenv("MESH_LOG", "debug", 1);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/?X-Amz-Signature=sig123&a=b", s->port);
    struct http_request req;
    http_request_init(&req, "POST", url);
    http_request_set_header(&req, "Authorization", "AWS4-HMAC-SHA256 Credential=AKID/x, Signature=abc");
    http_request_set_header(&req, "X-Amz-Security-Token", "tok-secret");
    req.body = "WebIdentityToken=jwt-secret";
    req.body_len = strlen(req.body);
    req.secret_body = 1;
    struct http_response resp;
    http_response_init(&resp);
    assert_int_equal(http_send(c, &req, &resp, NULL), 0);
    http_response_release(&resp);
    http_request_release(&req);
    unsetenv("MESH_LOG");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fdopen(fd, "r");
    fseek(f, 0, SEEK_SET);
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    return buf;
}

static void test_debug_log_redacts(void **state)
{
    static const struct reply script[] = {
        { 200, NULL, "<AssumeRoleResult><Credentials><SecretAccessKey>sk-secret</SecretAccessKey></Credentials></AssumeRoleResult>" },
    };
    struct server s;
    server_start(&s, script, 1);
    struct http_client c = fast_client(NULL);
    const char *log = capture_stderr_run(&s, &c);
    assert_non_null(strstr(log, "http: > POST"));
    assert_non_null(strstr(log, "Authorization: REDACTED"));
    assert_non_null(strstr(log, "X-Amz-Signature=REDACTED&a=b"));
    assert_null(strstr(log, "abc"));
    assert_null(strstr(log, "tok-secret"));
    assert_null(strstr(log, "jwt-secret"));
    assert_null(strstr(log, "sk-secret"));
    assert_null(strstr(log, "sig123"));
    server_stop(&s);
}

static void test_backoff_full_jitter(void **state)
{
    struct http_client c;
    http_client_init(&c);
    double max_seen = 0, min_seen = 1e9;
    for (int i = 0; i < 2000; i++) {
        double w = http_backoff(&c, HTTP_RETRY, 3, -1);  /* cap 0.1 * 2^3 = 0.8 */
        assert_true(w >= 0 && w < 0.8);
        if (w > max_seen) max_seen = w;
        if (w < min_seen) min_seen = w;
    }
    assert_true(max_seen > 0.6 && min_seen < 0.2);  /* spread over the whole range */
    for (int i = 0; i < 100; i++) assert_true(http_backoff(&c, HTTP_THROTTLED, 20, -1) < 20.0);
    assert_true(http_backoff(&c, HTTP_RETRY, 0, 7) == 7);  /* Retry-After wins */
    setenv("MESH_BACKOFF_SCALE", "0.001", 1);
    assert_true(http_backoff(&c, HTTP_RETRY, 0, 7) < 0.0071);
    unsetenv("MESH_BACKOFF_SCALE");
}

static void test_url_split(void **state)
{
    char *scheme, *host, *path, *query;
    assert_int_equal(http_url_split("http://127.0.0.1:5000/a/b?x=1&y", &scheme, &host, &path, &query, NULL), 0);
    assert_string_equal(scheme, "http");
    assert_string_equal(host, "127.0.0.1:5000");
    assert_string_equal(path, "/a/b");
    assert_string_equal(query, "x=1&y");
    free(scheme); free(host); free(path); free(query);
    assert_int_equal(http_url_split("https://sts.amazonaws.com", NULL, &host, &path, &query, NULL), 0);
    assert_string_equal(host, "sts.amazonaws.com");
    assert_string_equal(path, "/");
    assert_string_equal(query, "");
    free(host); free(path); free(query);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(http_url_split("::nope", NULL, &host, NULL, NULL, &err), MESH_EINVAL);
}

static int teardown(void **state)
{
    http_thread_release();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_retries_converge, teardown),
        cmocka_unit_test_teardown(test_throttle_in_body, teardown),
        cmocka_unit_test_teardown(test_client_error_not_retried, teardown),
        cmocka_unit_test_teardown(test_html_500_retried_briefly, teardown),
        cmocka_unit_test_teardown(test_retry_after_honoured, teardown),
        cmocka_unit_test_teardown(test_budget_exhausted, teardown),
        cmocka_unit_test_teardown(test_cancel_between_attempts, teardown),
        cmocka_unit_test_teardown(test_connection_reused, teardown),
        cmocka_unit_test_teardown(test_once_not_resent_after_reset, teardown),
        cmocka_unit_test_teardown(test_once_not_resent_after_500, teardown),
        cmocka_unit_test_teardown(test_once_retried_when_not_processed, teardown),
        cmocka_unit_test_teardown(test_once_retried_before_sending, teardown),
        cmocka_unit_test_teardown(test_tls_blobs_per_request, teardown),
        cmocka_unit_test_teardown(test_debug_log_redacts, teardown),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test_teardown(test_url_split, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
