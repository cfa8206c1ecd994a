/* test_aws_call.c: providers/aws/aws_call.c against a scripted server in this process
 * (scripted_server.h, reached through AWS_ENDPOINT_URL): the request each protocol sends (JSON 1.1:
 * POST / with X-Amz-Target and application/x-amz-json-1.1; REST-JSON: the method and path with
 * application/json only when there is a body; Query: the form body), each signed for its service's
 * scope, counted per service on the provider handle, and failures mapped to err.h kinds with the AWS
 * code and request ID in the error (aws_do_* put them into c->err at the call's address). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_call.h"
#include "aws/provider.h"

#include "aws_fixture.h"

static void fixture_start(struct fixture *f, const struct reply *script, int n)
{
    aws_fixture_start(f, script, n, "AWS_ENDPOINT_URL", "aws_kms_key.c1.secrets");
}

/* The request's header value (case-insensitive name), into buf; "" when absent. */
static const char *header_of(const char *req, const char *name, char *buf, size_t n)
{
    char key[128];
    snprintf(key, sizeof(key), "\r\n%s:", name);
    const char *p = strcasestr(req, key);
    buf[0] = '\0';
    if (!p) return buf;
    p += strlen(key);
    while (*p == ' ') p++;
    size_t len = strcspn(p, "\r\n");
    snprintf(buf, n, "%.*s", (int)len, p);
    return buf;
}

static const char *body_of(const char *req)
{
    const char *p = strstr(req, "\r\n\r\n");
    return p ? p + 4 : "";
}

static long calls_of(struct fixture *f, enum aws_service s) { return atomic_load(&f->h.calls_by[s]); }

/* The signing scope: "Credential=AKIDTEST/<date>/REGION/SERVICE/aws4_request". */
static void assert_signed_for(const char *req, const char *region, const char *service)
{
    char auth[1024], scope[128];
    header_of(req, "Authorization", auth, sizeof(auth));
    assert_true(strncmp(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/", 37) == 0);
    snprintf(scope, sizeof(scope), "/%s/%s/aws4_request,", region, service);
    if (!strstr(auth, scope)) print_error("want %s in %s\n", scope, auth);
    assert_non_null(strstr(auth, scope));
    assert_non_null(strstr(auth, "Signature="));
}

static void test_json_request(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {200, "Content-Type: application/x-amz-json-1.1\r\n", "{\"KeyMetadata\":{\"KeyId\":\"k-1\"}}"},
        {200, "Content-Type: application/x-amz-json-1.1\r\n", ""},
    };
    struct fixture f;
    fixture_start(&f, script, 2);
    json_t *body = json_pack("{s:s}", "Description", "mesh secrets"), *reply = NULL;
    struct mesh_err e;
    assert_int_equal(aws_call_json(&f.call, "kms", "TrentService.CreateKey", body, &reply, &e), 0);
    json_decref(body);
    const char *req = f.srv.last_request;
    char v[256];
    assert_true(strncmp(req, "POST / HTTP/1.1\r\n", 17) == 0);
    assert_string_equal(header_of(req, "X-Amz-Target", v, sizeof(v)), "TrentService.CreateKey");
    assert_string_equal(header_of(req, "Content-Type", v, sizeof(v)), "application/x-amz-json-1.1");
    assert_string_equal(body_of(req), "{\"Description\":\"mesh secrets\"}");
    assert_signed_for(req, "us-west-2", "kms");
    /* the target is signed: a proxy cannot swap the action */
    char auth[1024];
    assert_non_null(strstr(header_of(req, "Authorization", auth, sizeof(auth)), "x-amz-target"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "KeyMetadata"), "KeyId")), "k-1");
    json_decref(reply);
    /* no body: {} goes out; an empty reply is {} */
    assert_int_equal(aws_call_json(&f.call, "logs", "Logs_20140328.DeleteRetentionPolicy", NULL, &reply, &e), 0);
    req = f.srv.last_request;
    assert_string_equal(header_of(req, "X-Amz-Target", v, sizeof(v)), "Logs_20140328.DeleteRetentionPolicy");
    assert_string_equal(body_of(req), "{}");
    assert_signed_for(req, "us-west-2", "logs");
    assert_true(json_is_object(reply) && json_object_size(reply) == 0);
    json_decref(reply);
    assert_int_equal(calls_of(&f, AWS_KMS), 1);
    assert_int_equal(calls_of(&f, AWS_LOGS), 1);
    assert_int_equal(calls_of(&f, AWS_EKS), 0);
    assert_int_equal(atomic_load(&f.h.calls), 2);
    fixture_stop(&f);
}

static void test_rest_request(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {200, "Content-Type: application/json\r\n", "{\"cluster\":{\"name\":\"c 1\",\"status\":\"CREATING\"}}"},
        {200, "Content-Type: application/json\r\n", "{\"cluster\":{\"status\":\"ACTIVE\"}}"},
    };
    struct fixture f;
    fixture_start(&f, script, 2);
    json_t *body = json_pack("{s:s}", "name", "c 1"), *reply = NULL;
    struct mesh_err e;
    assert_int_equal(aws_call_rest(&f.call, "eks", "CreateCluster", "POST", "/clusters", NULL, body, &reply, &e), 0);
    json_decref(body);
    const char *req = f.srv.last_request;
    char v[256];
    assert_true(strncmp(req, "POST /clusters HTTP/1.1\r\n", 25) == 0);
    assert_string_equal(header_of(req, "Content-Type", v, sizeof(v)), "application/json");
    assert_string_equal(header_of(req, "X-Amz-Target", v, sizeof(v)), "");
    assert_string_equal(body_of(req), "{\"name\":\"c 1\"}");
    assert_signed_for(req, "us-west-2", "eks");
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "cluster"), "status")), "CREATING");
    json_decref(reply);
    /* a GET of an encoded path with a query: no body, no content type */
    char seg[64], path[128];
    snprintf(path, sizeof(path), "/clusters/%s", aws_path_segment("c 1", seg, sizeof(seg)));
    assert_string_equal(path, "/clusters/c%201");
    assert_int_equal(aws_call_rest(&f.call, "eks", "DescribeCluster", "GET", path, "include=x", NULL, &reply, &e), 0);
    req = f.srv.last_request;
    assert_true(strncmp(req, "GET /clusters/c%201?include=x HTTP/1.1\r\n", 40) == 0);
    assert_string_equal(header_of(req, "Content-Type", v, sizeof(v)), "");
    assert_string_equal(body_of(req), "");
    assert_signed_for(req, "us-west-2", "eks");
    json_decref(reply);
    assert_int_equal(calls_of(&f, AWS_EKS), 2);
    fixture_stop(&f);
}

static void test_query_request(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {200, "Content-Type: text/xml\r\n", "<CreateRoleResponse><CreateRoleResult><Role><RoleId>AROA1</RoleId>"
                                            "</Role></CreateRoleResult></CreateRoleResponse>"},
    };
    struct fixture f;
    fixture_start(&f, script, 1);
    struct aws_query q;
    aws_query_init(&q, "CreateRole", "2010-05-08");
    aws_query_add(&q, "Description", "EKS cluster role");
    xmlDocPtr doc = NULL;
    struct mesh_err e;
    assert_int_equal(aws_call_query(&f.call, "iam", &q, &doc, &e), 0);
    aws_query_release(&q);
    const char *req = f.srv.last_request;
    char v[256];
    assert_string_equal(header_of(req, "Content-Type", v, sizeof(v)), "application/x-www-form-urlencoded; charset=utf-8");
    assert_string_equal(body_of(req), "Action=CreateRole&Version=2010-05-08&Description=EKS+cluster+role");
    assert_signed_for(req, "us-east-1", "iam");  /* IAM is global: it signs for us-east-1 */
    char *id = aws_xml_text(xmlDocGetRootElement(doc), "CreateRoleResult/Role/RoleId");
    assert_string_equal(id, "AROA1");
    free(id);
    xmlFreeDoc(doc);
    assert_int_equal(calls_of(&f, AWS_IAM), 1);
    fixture_stop(&f);
}

/* Failures: each protocol's error shape becomes the err.h kind, with the AWS code and request ID
 * in the error and the message without the service prefix. */
static void test_errors(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {400, "Content-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: rid-kms\r\n",
         "{\"__type\":\"com.amazonaws.kms#NotFoundException\",\"message\":\"Key 'k-9' does not exist\"}"},
        {409, "Content-Type: application/json\r\nx-amzn-RequestId: rid-eks\r\n"
              "x-amzn-ErrorType: ResourceInUseException:http://internal.amazon.com/coral/com.amazonaws.eks/\r\n",
         "{\"message\":\"Cluster already exists with name: c1\"}"},
        {400, "Content-Type: application/json\r\nx-amzn-ErrorType: InvalidParameterException\r\n",
         "{\"message\":\"Role with arn: r could not be assumed\"}"},
        {400, "Content-Type: text/xml\r\n", "<ErrorResponse><Error><Code>EntityAlreadyExists</Code><Message>"
                                            "Role exists</Message></Error><RequestId>rid-iam</RequestId></ErrorResponse>"},
        {400, "Content-Type: application/x-amz-json-1.1\r\n",
         "{\"__type\":\"ResourceAlreadyExistsException\",\"message\":\"exists\"}"},
    };
    struct fixture f;
    fixture_start(&f, script, 5);
    struct mesh_err e;
    json_t *reply = (json_t *)1;
    assert_int_equal(aws_call_json(&f.call, "kms", "TrentService.DescribeKey", NULL, &reply, &e), MESH_ENOTFOUND);
    assert_null(reply);
    assert_string_equal(e.cause, "NotFoundException");
    assert_string_equal(e.request_id, "rid-kms");
    assert_string_equal(e.msg, "DescribeKey failed: NotFoundException: Key 'k-9' does not exist (request id rid-kms)");
    assert_int_equal(f.err.code, 0);  /* aws_call_* never touch c->err */

    assert_int_equal(aws_call_rest(&f.call, "eks", "CreateCluster", "POST", "/clusters", NULL, NULL, NULL, &e),
                     MESH_ECONFLICT);
    assert_string_equal(e.cause, "ResourceInUseException");
    assert_string_equal(e.request_id, "rid-eks");
    assert_string_equal(e.msg, "CreateCluster failed: ResourceInUseException: Cluster already exists with name: c1 "
                               "(request id rid-eks)");

    assert_int_equal(aws_call_rest(&f.call, "eks", "CreateCluster", "POST", "/clusters", NULL, NULL, NULL, &e),
                     MESH_EINVAL);
    assert_string_equal(e.cause, "InvalidParameterException");
    assert_string_equal(e.request_id, "");

    struct aws_query q;
    aws_query_init(&q, "CreateRole", "2010-05-08");
    assert_int_equal(aws_do_query(&f.call, "iam", &q, NULL), MESH_ECONFLICT);
    aws_query_release(&q);
    assert_int_equal(f.err.code, MESH_ECONFLICT);
    assert_string_equal(f.err.where, "aws_kms_key.c1.secrets");
    assert_string_equal(f.err.cause, "EntityAlreadyExists");
    assert_string_equal(f.err.request_id, "rid-iam");
    assert_string_equal(f.err.msg, "CreateRole failed: EntityAlreadyExists: Role exists (request id rid-iam)");

    /* the first error wins: a later aws_do_* leaves c->err alone */
    assert_int_equal(aws_do_json(&f.call, "logs", "Logs_20140328.CreateLogGroup", NULL, NULL), MESH_ECONFLICT);
    assert_string_equal(f.err.cause, "EntityAlreadyExists");

    assert_int_equal(calls_of(&f, AWS_KMS), 1);
    assert_int_equal(calls_of(&f, AWS_EKS), 2);
    assert_int_equal(calls_of(&f, AWS_IAM), 1);
    assert_int_equal(calls_of(&f, AWS_LOGS), 1);
    fixture_stop(&f);
}

/* Throttling is retried by the one retry policy (counted in the run's budget, not as calls);
 * a reply that is not JSON is an error naming the action. */
static void test_throttle_then_ok(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {400, "Content-Type: application/x-amz-json-1.1\r\n", "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}"},
        {200, "Content-Type: application/x-amz-json-1.1\r\n", "{\"logGroups\":[]}"},
        {200, "Content-Type: application/json\r\n", "not json"},
    };
    struct fixture f;
    fixture_start(&f, script, 3);
    struct mesh_err e;
    json_t *reply = NULL;
    assert_int_equal(aws_call_json(&f.call, "logs", "Logs_20140328.DescribeLogGroups", NULL, &reply, &e), 0);
    assert_true(json_is_array(json_object_get(reply, "logGroups")));
    json_decref(reply);
    assert_int_equal(f.srv.served, 2);
    assert_int_equal(calls_of(&f, AWS_LOGS), 1);
    assert_int_equal(http_retries_count(&f.h.retries), 1);
    assert_int_equal(aws_call_rest(&f.call, "eks", "ListClusters", "GET", "/clusters", NULL, NULL, &reply, &e), MESH_ERR);
    assert_null(reply);
    assert_non_null(strstr(e.msg, "ListClusters failed: the reply is not JSON"));
    fixture_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_request),
        cmocka_unit_test(test_rest_request),
        cmocka_unit_test(test_query_request),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_throttle_then_ok),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
