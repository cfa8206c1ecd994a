/* test_query.c: Query API bodies, XML helpers over namespaced EC2 replies, and the extraction
 * of AWS errors from EC2 XML, <ErrorResponse>, REST-JSON and HTML 500 pages, plus what the
 * retry policy and the engine make of them (throttle, transient, final, not found). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "aws/query.h"

static void response_with(struct http_response *r, long status, const char *ctype, const char *body)
{
    http_response_init(r);
    r->status = status;
    strbuf_adds(&r->body, body);
    if (ctype) {
        struct http_header *h = calloc(1, sizeof(*h));
        h->name = strdup("Content-Type");
        h->value = strdup(ctype);
        vec_push(&r->headers, h);
    }
}

static void test_query_body(void **state)
{
    struct aws_query q;
    aws_query_init(&q, "DescribeVpcs", "2016-11-15");
    aws_query_add(&q, "Filter.1.Name", "tag:mesh:address");
    aws_query_addf(&q, "Filter.1.Value.%d", "%s", "aws_vpc.main a/b");
    assert_string_equal(q.body.buf, "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3Amesh%3Aaddress"
                                    "&Filter.1.Value.%25d=aws_vpc.main%20a%2Fb");
    aws_query_release(&q);
}

static const char ec2_reply[] =
    "<?xml version=\"1.0\"?>\n<DescribeVpcsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
    "<requestId>r-1</requestId><vpcSet><item><vpcId>vpc-1</vpcId><cidrBlock>10.6.0.0/16</cidrBlock></item>"
    "<item><vpcId>vpc-2</vpcId></item></vpcSet><nextToken>tok</nextToken></DescribeVpcsResponse>";

static void test_xml_helpers(void **state)
{
    xmlDocPtr doc = xmlReadMemory(ec2_reply, (int)strlen(ec2_reply), NULL, NULL, 0);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    char *t = aws_xml_text(root, "vpcSet/item/cidrBlock");
    assert_string_equal(t, "10.6.0.0/16");
    free(t);
    int n = 0;
    char ids[64] = "";
    for (xmlNodePtr it = aws_xml_first(aws_xml_find(root, "vpcSet"), "item"); it; it = aws_xml_next(it, "item")) {
        char *id = aws_xml_text(it, "vpcId");
        strcat(ids, id);
        free(id);
        n++;
    }
    assert_int_equal(n, 2);
    assert_string_equal(ids, "vpc-1vpc-2");
    assert_null(aws_xml_text(root, "vpcSet/item/nope"));
    assert_null(aws_xml_find(root, "nope/deeper"));
    xmlFreeDoc(doc);
}

static void test_error_ec2(void **state)
{
    struct http_response r;
    response_with(&r, 400, "text/xml",
        "<?xml version=\"1.0\"?><Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>"
        "<Message>The vpc ID 'vpc-1' does not exist</Message></Error></Errors><RequestID>req-9</RequestID></Response>");
    struct aws_error e;
    assert_int_equal(aws_error_parse(&r, &e), 0);
    assert_string_equal(e.code, "InvalidVpcID.NotFound");
    assert_string_equal(e.request_id, "req-9");
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "ec2 DescribeVpcs", &err), MESH_ENOTFOUND);
    assert_string_equal(err.msg, "ec2 DescribeVpcs failed: InvalidVpcID.NotFound: The vpc ID 'vpc-1' "
                                 "does not exist (request id req-9)");
    assert_int_equal(aws_classify(&r), HTTP_DONE);
    http_response_release(&r);
}

static void test_error_response(void **state)
{
    struct http_response r;
    response_with(&r, 400, "text/xml",
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
        "<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>abc</RequestId></ErrorResponse>");
    struct aws_error e;
    assert_int_equal(aws_error_parse(&r, &e), 0);
    assert_string_equal(e.code, "Throttling");
    assert_string_equal(e.message, "Rate exceeded");
    assert_string_equal(e.request_id, "abc");
    assert_int_equal(aws_classify(&r), HTTP_THROTTLED);
    http_response_release(&r);
    response_with(&r, 500, "text/xml", "<ErrorResponse><Error><Code>InternalError</Code></Error></ErrorResponse>");
    assert_int_equal(aws_classify(&r), HTTP_RETRY);
    http_response_release(&r);
}

static void test_error_json(void **state)
{
    struct http_response r;
    response_with(&r, 404, "application/json",
        "{\"__type\":\"com.amazonaws.eks#ResourceNotFoundException\",\"message\":\"No cluster found for name: c1.\"}");
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "eks DescribeCluster", &err), MESH_ENOTFOUND);
    assert_string_equal(err.msg, "eks DescribeCluster failed: ResourceNotFoundException: No cluster found for name: c1.");
    http_response_release(&r);
    response_with(&r, 400, "application/json", "{\"code\":\"TooManyRequestsException:http://x\",\"Message\":\"m\"}");
    struct aws_error e;
    assert_int_equal(aws_error_parse(&r, &e), 0);
    assert_string_equal(e.code, "TooManyRequestsException");
    assert_int_equal(aws_classify(&r), HTTP_THROTTLED);
    http_response_release(&r);
}

/* moto's answer to a call it lacks: reported clearly, and not retried ten times. */
static void test_error_html_500(void **state)
{
    struct http_response r;
    response_with(&r, 500, "text/html; charset=utf-8",
        "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
        "<p>The server encountered an internal error.</p>\n");
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "ec2 ModifySubnetAttribute", &err), MESH_ERR);
    assert_non_null(strstr(err.msg, "ec2 ModifySubnetAttribute failed: HTTP 500: the endpoint answered with an HTML page"));
    assert_non_null(strstr(err.msg, "500 Internal Server Error"));
    assert_int_equal(aws_classify(&r), HTTP_DONE);
    http_response_release(&r);
    response_with(&r, 503, "text/html", "<html><body>Service Unavailable</body></html>");
    assert_int_equal(aws_classify(&r), HTTP_RETRY);  /* a gateway page: transient */
    http_response_release(&r);
    response_with(&r, 502, NULL, "");
    struct aws_error e;
    assert_int_equal(aws_error_parse(&r, &e), -1);
    assert_string_equal(e.code, "HTTP 502");
    assert_string_equal(e.message, "empty reply");
    http_response_release(&r);
}

static void test_endpoints(void **state)
{
    char *url = NULL;
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_EC2");
    assert_int_equal(aws_endpoint_resolve("ec2", "eu-west-1", &url, NULL), 0);
    assert_string_equal(url, "https://ec2.eu-west-1.amazonaws.com");
    free(url);
    assert_int_equal(aws_endpoint_resolve("iam", "eu-west-1", &url, NULL), 0);
    assert_string_equal(url, "https://iam.amazonaws.com");
    free(url);
    assert_string_equal(aws_signing_region("iam", "eu-west-1"), "us-east-1");
    assert_string_equal(aws_signing_region("ec2", "eu-west-1"), "eu-west-1");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/", 1);
    setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:2", 1);
    assert_int_equal(aws_endpoint_resolve("ec2", "eu-west-1", &url, NULL), 0);
    assert_string_equal(url, "http://127.0.0.1:2");
    free(url);
    assert_int_equal(aws_endpoint_resolve("sts", NULL, &url, NULL), 0);
    assert_string_equal(url, "http://127.0.0.1:1");
    free(url);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_endpoint_resolve("sts", NULL, &url, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "no region for sts"));
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_EC2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_body),
        cmocka_unit_test(test_xml_helpers),
        cmocka_unit_test(test_error_ec2),
        cmocka_unit_test(test_error_response),
        cmocka_unit_test(test_error_json),
        cmocka_unit_test(test_error_html_500),
        cmocka_unit_test(test_endpoints),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
