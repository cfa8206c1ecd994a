/* test_query.c: Query API bodies (byte for byte as botocore encodes them), XML helpers over
 * namespaced EC2 replies, and the extraction of AWS errors from every XML shape (EC2's
 * <Response><Errors>, <ErrorResponse><Error>, moto's <ErrorResponse><Errors>, also served as
 * text/html), JSON 1.1, REST-JSON and HTML 500 pages, with the code and request ID carried in
 * struct mesh_err, the err.h kind of AWS codes, what the retry policy makes of them (throttle,
 * transient, final, not found), and endpoint variables named by the SDKs' service IDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "aws/query.h"

static void add_header(struct http_response *r, const char *name, const char *value)
{
    struct http_header *h = calloc(1, sizeof(*h));
    h->name = strdup(name);
    h->value = strdup(value);
    vec_push(&r->headers, h);
}

static void response_with(struct http_response *r, long status, const char *ctype, const char *body)
{
    http_response_init(r);
    r->status = status;
    strbuf_adds(&r->body, body);
    if (ctype) add_header(r, "Content-Type", ctype);
}

static void test_query_body(void **state)
{
    struct aws_query q;
    aws_query_init(&q, "DescribeVpcs", "2016-11-15");
    aws_query_add(&q, "Filter.1.Name", "tag:mesh:address");
    aws_query_addf(&q, "Filter.1.Value.%d", "%s", "aws_vpc.main a/b");
    assert_string_equal(q.body.buf, "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3Amesh%3Aaddress"
                                    "&Filter.1.Value.%25d=aws_vpc.main+a%2Fb");
    aws_query_release(&q);
}

/* Expected bodies made once by botocore 1.43.11 (the aws CLI's encoding) for the same
 * parameters in the same order:
 *   c = botocore.session.get_session().create_client(SERVICE, ...)
 *   r = c._serializer.serialize_to_request(PARAMS, c.meta.service_model.operation_model(OP))
 *   botocore.awsrequest.AWSRequest(method='POST', url='https://x/', data=r['body']).prepare().body
 * (urllib's urlencode: quote_plus, a space as '+', only "-_.~" and alphanumerics kept). A verifier
 * that re-encodes the parsed form before checking SigV4 (moto's) accepts only these bytes. */
static const char botocore_create_sg[] =
    "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=mesh-main+sg&GroupDescription=Managed+by+mesh"
    "&VpcId=vpc-1&TagSpecification.1.ResourceType=security-group&TagSpecification.1.Tag.1.Key=mesh%3Aaddress"
    "&TagSpecification.1.Tag.1.Value=aws_security_group.main&TagSpecification.1.Tag.2.Key=Name"
    "&TagSpecification.1.Tag.2.Value=a%2Bb%3Dc%26d%2Fe~f_g.h-i%2Aj%21k%27l%28m%29n%3Bo%2Cp%3Fq%40r%23s%24t%25u"
    "%5Ev%5Bw%5Dx%7By%7Dz%7C%5C%22%3C%3E%60&TagSpecification.1.Tag.3.Key=caf%C3%A9"
    "&TagSpecification.1.Tag.3.Value=tab%09here%0Anl";
static const char botocore_create_role[] =
    "Action=CreateRole&Version=2010-05-08&RoleName=m-c-cluster&AssumeRolePolicyDocument=%7B%22Version%22%3A+"
    "%222012-10-17%22%2C+%22Statement%22%3A+%5B%7B%22Effect%22%3A+%22Allow%22%2C+%22Principal%22%3A+%7B%22Service"
    "%22%3A+%22eks.amazonaws.com%22%7D%2C+%22Action%22%3A+%22sts%3AAssumeRole%22%7D%5D%7D"
    "&Description=EKS+cluster+role";

static void test_query_body_as_botocore(void **state)
{
    struct aws_query q;
    aws_query_init(&q, "CreateSecurityGroup", "2016-11-15");
    aws_query_add(&q, "GroupName", "mesh-main sg");
    aws_query_add(&q, "GroupDescription", "Managed by mesh");
    aws_query_add(&q, "VpcId", "vpc-1");
    aws_query_add(&q, "TagSpecification.1.ResourceType", "security-group");
    aws_query_add(&q, "TagSpecification.1.Tag.1.Key", "mesh:address");
    aws_query_add(&q, "TagSpecification.1.Tag.1.Value", "aws_security_group.main");
    aws_query_add(&q, "TagSpecification.1.Tag.2.Key", "Name");
    aws_query_add(&q, "TagSpecification.1.Tag.2.Value", "a+b=c&d/e~f_g.h-i*j!k'l(m)n;o,p?q@r#s$t%u^v[w]x{y}z|\\\"<>`");
    aws_query_add(&q, "TagSpecification.1.Tag.3.Key", "caf\xc3\xa9");
    aws_query_add(&q, "TagSpecification.1.Tag.3.Value", "tab\there\nnl");
    assert_string_equal(q.body.buf, botocore_create_sg);
    aws_query_release(&q);
    aws_query_init(&q, "CreateRole", "2010-05-08");
    aws_query_add(&q, "RoleName", "m-c-cluster");
    aws_query_add(&q, "AssumeRolePolicyDocument",
                  "{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": "
                  "{\"Service\": \"eks.amazonaws.com\"}, \"Action\": \"sts:AssumeRole\"}]}");
    aws_query_add(&q, "Description", "EKS cluster role");
    assert_string_equal(q.body.buf, botocore_create_role);
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
    assert_string_equal(err.cause, "InvalidVpcID.NotFound");
    assert_string_equal(err.request_id, "req-9");
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

/* Every XML error shape, whatever the Content-Type says: moto serves its XML errors (AuthFailure,
 * SignatureDoesNotMatch) as text/html, and they are AWS errors, not "an HTML page". */
static void test_error_xml_shapes(void **state)
{
    static const struct {
        const char *ctype, *body, *code, *message, *request_id;
        int kind;
    } cases[] = {
        {"text/xml", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>AuthFailure</Code>"
         "<Message>AWS was not able to validate the provided access credentials</Message></Error></Errors>"
         "<RequestID>ec2-rid</RequestID></Response>", "AuthFailure",
         "AWS was not able to validate the provided access credentials", "ec2-rid", MESH_ERR},
        {"text/html; charset=utf-8", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
         "<Code>AuthFailure</Code><Message>no such key</Message></Error></Errors><RequestID>r2</RequestID></Response>",
         "AuthFailure", "no such key", "r2", MESH_ERR},
        {"text/xml", "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>"
         "<Code>EntityAlreadyExists</Code><Message>Role with name r already exists.</Message></Error>"
         "<RequestId>iam-rid</RequestId></ErrorResponse>", "EntityAlreadyExists", "Role with name r already exists.",
         "iam-rid", MESH_ECONFLICT},
        {"text/html; charset=utf-8", "<ErrorResponse><Errors><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
         "<Message>The request signature we calculated does not match the signature you provided.</Message>"
         "</Error></Errors><RequestId>moto-rid</RequestId></ErrorResponse>", "SignatureDoesNotMatch",
         "The request signature we calculated does not match the signature you provided.", "moto-rid", MESH_ERR},
        {"text/html", "<ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code><Message>The security token "
         "included in the request is invalid.</Message></Error></Errors></ErrorResponse>", "InvalidClientTokenId",
         "The security token included in the request is invalid.", "", MESH_ERR},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_response r;
        response_with(&r, i == 2 ? 409 : 403, cases[i].ctype, cases[i].body);
        struct aws_error e;
        assert_int_equal(aws_error_parse(&r, &e), 0);
        assert_string_equal(e.code, cases[i].code);
        assert_string_equal(e.message, cases[i].message);
        assert_string_equal(e.request_id, cases[i].request_id);
        struct mesh_err err;
        mesh_err_init(&err);
        assert_int_equal(aws_error_report(&r, "sts GetCallerIdentity", &err), cases[i].kind);
        assert_string_equal(err.cause, cases[i].code);
        assert_string_equal(err.request_id, cases[i].request_id);
        assert_null(strstr(err.msg, "HTML"));
        assert_non_null(strstr(err.msg, cases[i].message));
        assert_int_equal(aws_classify(&r), HTTP_DONE);  /* final: not retried */
        http_response_release(&r);
    }
}

/* JSON 1.1 (KMS, Logs): {"__type": "namespace#Code"}; REST-JSON (EKS): the x-amzn-ErrorType
 * header wins, the body has {"message"}; both carry the request ID in x-amzn-RequestId. */
static void test_error_json_causes(void **state)
{
    struct http_response r;
    response_with(&r, 400, "application/x-amz-json-1.1",
                  "{\"__type\":\"com.amazonaws.kms#NotFoundException\",\"message\":\"Alias alias/x is not found.\"}");
    add_header(&r, "x-amzn-RequestId", "kms-rid");
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "kms DescribeKey", &err), MESH_ENOTFOUND);
    assert_string_equal(err.cause, "NotFoundException");
    assert_string_equal(err.request_id, "kms-rid");
    assert_string_equal(err.msg, "kms DescribeKey failed: NotFoundException: Alias alias/x is not found. (request id kms-rid)");
    http_response_release(&r);

    response_with(&r, 400, "application/x-amz-json-1.1",
                  "{\"__type\":\"ResourceAlreadyExistsException\",\"message\":\"The specified log group already exists\"}");
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "logs CreateLogGroup", &err), MESH_ECONFLICT);
    assert_string_equal(err.cause, "ResourceAlreadyExistsException");
    assert_string_equal(err.request_id, "");
    http_response_release(&r);

    response_with(&r, 409, "application/json", "{\"message\":\"Cluster already exists with name: c1\"}");
    add_header(&r, "x-amzn-ErrorType", "ResourceInUseException:http://internal.amazon.com/coral/com.amazonaws.eks/");
    add_header(&r, "x-amzn-RequestId", "eks-rid");
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "eks CreateCluster", &err), MESH_ECONFLICT);
    assert_string_equal(err.cause, "ResourceInUseException");
    assert_string_equal(err.request_id, "eks-rid");
    assert_string_equal(err.msg, "eks CreateCluster failed: ResourceInUseException: Cluster already exists with name: c1 "
                                 "(request id eks-rid)");
    http_response_release(&r);

    /* the header alone (no body) still names the error */
    response_with(&r, 404, NULL, "");
    add_header(&r, "x-amzn-ErrorType", "ResourceNotFoundException");
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "eks DescribeAddon", &err), MESH_ENOTFOUND);
    assert_string_equal(err.cause, "ResourceNotFoundException");
    http_response_release(&r);

    /* the first error wins, and a later AWS error does not lend it its cause */
    response_with(&r, 404, NULL, "");
    add_header(&r, "x-amzn-ErrorType", "ResourceNotFoundException");
    add_header(&r, "x-amzn-RequestId", "late-rid");
    mesh_err_init(&err);
    mesh_err_set(&err, MESH_ETIMEOUT, "x", "gave up");
    assert_int_equal(aws_error_report(&r, "eks DescribeAddon", &err), MESH_ETIMEOUT);
    assert_string_equal(err.cause, "");
    assert_string_equal(err.request_id, "");
    assert_string_equal(err.msg, "gave up");
    http_response_release(&r);

    /* an answer that is not an AWS error: no cause */
    response_with(&r, 502, NULL, "");
    mesh_err_init(&err);
    assert_int_equal(aws_error_report(&r, "eks DescribeAddon", &err), MESH_ERR);
    assert_string_equal(err.cause, "");
    http_response_release(&r);
}

/* The codes drivers test, by kind. */
static void test_error_kinds(void **state)
{
    static const struct { const char *code; int kind; } cases[] = {
        {"InvalidVpcID.NotFound", MESH_ENOTFOUND}, {"NatGatewayNotFound", MESH_ENOTFOUND},
        {"NoSuchEntity", MESH_ENOTFOUND}, {"ResourceNotFoundException", MESH_ENOTFOUND},
        {"NotFoundException", MESH_ENOTFOUND},
        {"Throttling", MESH_ETHROTTLED}, {"ThrottlingException", MESH_ETHROTTLED},
        {"RequestLimitExceeded", MESH_ETHROTTLED}, {"TooManyRequestsException", MESH_ETHROTTLED},
        {"InvalidParameterValue", MESH_EINVAL}, {"InvalidParameterException", MESH_EINVAL},
        {"ValidationError", MESH_EINVAL}, {"ValidationException", MESH_EINVAL},
        {"MalformedPolicyDocument", MESH_EINVAL}, {"InvalidInput", MESH_EINVAL},
        {"EntityAlreadyExists", MESH_ECONFLICT}, {"ResourceInUseException", MESH_ECONFLICT},
        {"ResourceAlreadyExistsException", MESH_ECONFLICT}, {"AlreadyExistsException", MESH_ECONFLICT},
        {"DeleteConflict", MESH_ECONFLICT}, {"DependencyViolation", MESH_ECONFLICT},
        {"ConcurrentModificationException", MESH_ECONFLICT}, {"InvalidPermission.Duplicate", MESH_ECONFLICT},
        {"InvalidGroup.Duplicate", MESH_ECONFLICT}, {"KMSInvalidStateException", MESH_ECONFLICT},
        {"InvalidSubnet.Conflict", MESH_ECONFLICT},
        {"AuthFailure", MESH_ERR}, {"UnauthorizedOperation", MESH_ERR}, {"AccessDeniedException", MESH_ERR},
        {"", MESH_ERR},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (aws_error_kind(cases[i].code) != cases[i].kind) print_error("code %s\n", cases[i].code);
        assert_int_equal(aws_error_kind(cases[i].code), cases[i].kind);
    }
}

/* moto's answer to a call it lacks (or its crash under load): reported clearly, and asked again
 * briefly, not ten times. */
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
    assert_int_equal(aws_classify(&r), HTTP_RETRY_BRIEF);
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

/* Each service's variable is named after the SDKs' service ID (botocore's
 * AWS_ENDPOINT_URL_<ID>), not after the signing name: "logs" is CloudWatch Logs. Public
 * endpoints and signing regions for the services EKS needs. */
static void test_endpoint_service_ids(void **state)
{
    static const struct { const char *service, *var; } cases[] = {
        {"ec2", "AWS_ENDPOINT_URL_EC2"}, {"iam", "AWS_ENDPOINT_URL_IAM"}, {"sts", "AWS_ENDPOINT_URL_STS"},
        {"eks", "AWS_ENDPOINT_URL_EKS"}, {"kms", "AWS_ENDPOINT_URL_KMS"},
        {"logs", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"},
    };
    size_t n = sizeof(cases) / sizeof(cases[0]);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    for (size_t i = 0; i < n; i++) unsetenv(cases[i].var);
    setenv("AWS_ENDPOINT_URL_LOGS", "http://wrong:1", 1);  /* not the SDKs' name: ignored */
    char *url = NULL;
    assert_int_equal(aws_endpoint_resolve("logs", "eu-west-1", &url, NULL), 0);
    assert_string_equal(url, "https://logs.eu-west-1.amazonaws.com");
    free(url);
    unsetenv("AWS_ENDPOINT_URL_LOGS");
    for (size_t i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof(want), "http://127.0.0.1:%zu", 4000 + i);
        setenv(cases[i].var, want, 1);
        for (size_t j = 0; j < n; j++) {  /* each variable moves its service only */
            assert_int_equal(aws_endpoint_resolve(cases[j].service, "eu-west-1", &url, NULL), 0);
            if (j == i) assert_string_equal(url, want);
            else assert_null(strstr(url, "127.0.0.1"));
            free(url);
        }
        unsetenv(cases[i].var);
    }
    static const struct { const char *service, *url, *signing; } pub[] = {
        {"kms", "https://kms.eu-west-1.amazonaws.com", "eu-west-1"},
        {"logs", "https://logs.eu-west-1.amazonaws.com", "eu-west-1"},
        {"eks", "https://eks.eu-west-1.amazonaws.com", "eu-west-1"},
        {"sts", "https://sts.eu-west-1.amazonaws.com", "eu-west-1"},
        {"iam", "https://iam.amazonaws.com", "us-east-1"},
    };
    for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
        assert_int_equal(aws_endpoint_resolve(pub[i].service, "eu-west-1", &url, NULL), 0);
        assert_string_equal(url, pub[i].url);
        free(url);
        assert_string_equal(aws_signing_region(pub[i].service, "eu-west-1"), pub[i].signing);
    }
    assert_int_equal(aws_endpoint_resolve("eks", "cn-north-1", &url, NULL), 0);
    assert_string_equal(url, "https://eks.cn-north-1.amazonaws.com.cn");
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_body),
        cmocka_unit_test(test_query_body_as_botocore),
        cmocka_unit_test(test_xml_helpers),
        cmocka_unit_test(test_error_ec2),
        cmocka_unit_test(test_error_response),
        cmocka_unit_test(test_error_json),
        cmocka_unit_test(test_error_html_500),
        cmocka_unit_test(test_error_xml_shapes),
        cmocka_unit_test(test_error_json_causes),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_endpoint_service_ids),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
