/* test_aws_ec2.c: providers/aws/ec2.c against a scripted server in this process (a thread on a
 * free 127.0.0.1 port, reached through AWS_ENDPOINT_URL_EC2): eventual consistency right after a
 * create (ec2_send_fresh retries a *.NotFound about the object a few times, not a missing rule,
 * not once cancelled), a plain ec2_send taking NotFound as "gone", and ec2_describe_one. */
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

#include "aws/ec2.h"

/* ---- the scripted server ---- */

struct reply {
    int status;          /* 0: reset the connection without answering */
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
};

struct server {
    int fd, port;
    pthread_t thread;
    const struct reply *script;
    int nscript, served, accepted;
    char last_request[8192];
};

static void read_request(int c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    while (len < n - 1) {
        ssize_t r = recv(c, buf + len, n - 1 - len, 0);
        if (r <= 0) { buf[0] = '\0'; return; }
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
        if (len >= want) return;
    }
}

static void *server_main(void *p)
{
    struct server *s = p;
    while (s->served < s->nscript) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        s->accepted++;
        while (s->served < s->nscript) {
            char req[8192];
            read_request(c, req, sizeof(req));
            if (!req[0]) break;
            snprintf(s->last_request, sizeof(s->last_request), "%s", req);
            const struct reply *r = &s->script[s->served++];
            if (r->status == 0) {
                struct linger lg = { 1, 0 };  /* RST, as a crashed peer would */
                setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                break;
            }
            char out[8192];
            const char *body = r->body ? r->body : "";
            int n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n%s",
                             r->status, strlen(body), r->headers ? r->headers : "", body);
            if (send(c, out, (size_t)n, MSG_NOSIGNAL) < 0) break;
            if (r->headers && strstr(r->headers, "Connection: close")) break;
        }
        close(c);
    }
    shutdown(s->fd, SHUT_RDWR);  /* script done: further connects are refused, not left hanging */
    return NULL;
}

static void server_start(struct server *s, const struct reply *script, int n)
{
    memset(s, 0, sizeof(*s));
    s->script = script;
    s->nscript = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    socklen_t len = sizeof(a);
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, server_main, s);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* ---- a provider handle and a driver call pointed at the server ---- */

#define NOT_FOUND(code) "<?xml version=\"1.0\"?><Response><Errors><Error><Code>" code \
    "</Code><Message>not yet</Message></Error></Errors><RequestID>r1</RequestID></Response>"
#define OK_BODY "<?xml version=\"1.0\"?><ModifyVpcAttributeResponse><return>true</return></ModifyVpcAttributeResponse>"
#define VPCS_BODY "<?xml version=\"1.0\"?><DescribeVpcsResponse><vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet></DescribeVpcsResponse>"
#define EMPTY_BODY "<?xml version=\"1.0\"?><DescribeVpcsResponse><vpcSet/></DescribeVpcsResponse>"

struct fixture {
    struct server srv;
    struct aws_handle h;
    struct aws_creds creds;
    struct mesh_err err;
    struct call call;
    volatile sig_atomic_t cancel;
};

static void fixture_start(struct fixture *f, const struct reply *script, int n)
{
    memset(f, 0, sizeof(*f));
    server_start(&f->srv, script, n);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->srv.port);
    setenv("AWS_ENDPOINT_URL_EC2", url, 1);
    setenv("MESH_BACKOFF_SCALE", "0.001", 1);
    f->creds.access_key = "AKIDTEST";
    f->creds.secret_key = "secret";
    http_client_init(&f->h.client.http);
    f->h.client.http.base_delay = f->h.client.http.throttle_delay = 0.001;
    http_retries_init(&f->h.retries, -1);
    f->h.client.http.retries = &f->h.retries;
    f->h.client.fixed = &f->creds;
    snprintf(f->h.client.region, sizeof(f->h.client.region), "us-west-2");
    f->h.nazs = -1;
    mesh_err_init(&f->err);
    f->call.address = "aws_vpc.main";
    f->call.run_id = "run1";
    f->call.err = &f->err;
    f->call.cancel = &f->cancel;
    f->call.provider = &f->h;
}

static void fixture_stop(struct fixture *f) { server_stop(&f->srv); }

static int modify(struct fixture *f, int fresh, struct ec2_res *r)
{
    struct aws_query q;
    ec2_query(&q, "ModifyVpcAttribute");
    aws_query_add(&q, "VpcId", "vpc-1");
    int rc = fresh ? ec2_send_fresh(&f->call, &q, NULL, r) : ec2_send(&f->call, &q, NULL, r);
    aws_query_release(&q);
    return rc;
}

/* ---- tests ---- */

static void test_fresh_retries_not_found(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {400, NULL, NOT_FOUND("InvalidVpcID.NotFound")}, {400, NULL, NOT_FOUND("InvalidVpcID.NotFound")},
        {200, NULL, OK_BODY}};
    struct fixture f;
    fixture_start(&f, script, 3);
    struct ec2_res r;
    assert_int_equal(modify(&f, 1, &r), 0);
    assert_int_equal(f.srv.served, 3);
    assert_int_equal(http_retries_count(&f.h.retries), 2);
    fixture_stop(&f);
}

static void test_fresh_gives_up(void **state)
{
    (void)state;
    static struct reply script[6];
    for (int i = 0; i < 6; i++) script[i] = (struct reply){400, NULL, NOT_FOUND("InvalidVpcID.NotFound")};
    struct fixture f;
    fixture_start(&f, script, 6);
    struct ec2_res r;
    assert_int_equal(modify(&f, 1, &r), MESH_ENOTFOUND);
    assert_int_equal(f.srv.served, 6);
    assert_string_equal(r.code, "InvalidVpcID.NotFound");
    fixture_stop(&f);
}

static void test_plain_not_found_is_gone(void **state)
{
    (void)state;
    static const struct reply script[] = {{400, NULL, NOT_FOUND("InvalidVpcID.NotFound")}};
    struct fixture f;
    fixture_start(&f, script, 1);
    struct ec2_res r;
    assert_int_equal(modify(&f, 0, &r), MESH_ENOTFOUND);
    assert_int_equal(f.srv.served, 1);
    fixture_stop(&f);
}

static void test_fresh_not_for_missing_rule(void **state)
{
    (void)state;
    static const struct reply script[] = {{400, NULL, NOT_FOUND("InvalidPermission.NotFound")}};
    struct fixture f;
    fixture_start(&f, script, 1);
    struct ec2_res r;
    assert_int_equal(modify(&f, 1, &r), MESH_ENOTFOUND);
    assert_int_equal(f.srv.served, 1);
    fixture_stop(&f);
}

static void test_fresh_stops_when_cancelled(void **state)
{
    (void)state;
    static const struct reply script[] = {{400, NULL, NOT_FOUND("InvalidVpcID.NotFound")}};
    struct fixture f;
    fixture_start(&f, script, 1);
    f.cancel = 1;
    struct ec2_res r;
    assert_int_not_equal(modify(&f, 1, &r), 0);
    assert_int_equal(f.srv.served, 1);
    fixture_stop(&f);
}

static void test_describe_one(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {200, NULL, VPCS_BODY}, {200, NULL, EMPTY_BODY}, {400, NULL, NOT_FOUND("InvalidVpcID.NotFound")}};
    struct fixture f;
    fixture_start(&f, script, 3);
    xmlDocPtr doc;
    xmlNodePtr item;
    assert_int_equal(ec2_describe_one(&f.call, "DescribeVpcs", "VpcId.1", "vpc-1", "vpcSet", &doc, &item), 0);
    char *id = ec2_text(item, "vpcId");
    assert_string_equal(id, "vpc-1");
    free(id);
    xmlFreeDoc(doc);
    assert_int_equal(ec2_describe_one(&f.call, "DescribeVpcs", "VpcId.1", "vpc-1", "vpcSet", &doc, &item),
                     MESH_ENOTFOUND);
    assert_null(doc);
    assert_int_equal(ec2_describe_one(&f.call, "DescribeVpcs", "VpcId.1", "vpc-1", "vpcSet", &doc, &item),
                     MESH_ENOTFOUND);
    assert_int_equal(f.err.code, 0);  /* not found is not an error of the call */
    fixture_stop(&f);
}

static int teardown_all(void **state)
{
    (void)state;
    http_thread_release();
    xmlCleanupParser();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_retries_not_found),
        cmocka_unit_test(test_fresh_gives_up),
        cmocka_unit_test(test_plain_not_found_is_gone),
        cmocka_unit_test(test_fresh_not_for_missing_rule),
        cmocka_unit_test(test_fresh_stops_when_cancelled),
        cmocka_unit_test(test_describe_one),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
