/* fuzz_aws_xml: a Query API reply (EC2, IAM, STS) as mesh reads it. The error side: every reply
 * goes through aws_classify (the retry policy's view) and aws_error_report (the message a user
 * sees: EC2's <Response><Errors>, the others' <ErrorResponse>, HTML pages, empty bodies). The
 * result side: the reply parsed as aws_query_call parses it, then walked the way the drivers
 * walk results: pagination tokens, EC2 item sets and their tag sets, IAM result elements and
 * tags, STS credentials. */
#include <stdint.h>
#include <stdlib.h>

#include <libxml/parser.h>

#include "aws/ec2.h"
#include "aws/iam.h"
#include "aws/query.h"
#include "fuzz_reply.h"

static const char *const item_sets[] = {"vpcSet", "subnetSet", "routeTableSet", "securityGroupInfo",
                                        "internetGatewaySet", "natGatewaySet", "addressesSet", NULL};
static const char *const texts[] = {"nextToken", "NextToken", "Marker", "IsTruncated",
                                    "AssumeRoleResult/Credentials/AccessKeyId",
                                    "AssumeRoleResult/Credentials/Expiration",
                                    "AssumeRoleWithWebIdentityResult/Credentials/SessionToken",
                                    "GetRoleResult/Role/AssumeRolePolicyDocument",
                                    "GetPolicyVersionResult/PolicyVersion/Document", NULL};

static void walk_items(xmlDocPtr doc)
{
    for (int i = 0; item_sets[i]; i++) {
        for (xmlNodePtr it = ec2_first_item(doc, item_sets[i]); it; it = aws_xml_next(it, "item")) {
            json_t *tags = ec2_tags(aws_xml_find(it, "tagSet"), 1);
            json_decref(tags);
            char *id = ec2_text(it, "vpcId");
            free(id);
            json_t *o = json_object();
            ec2_put_text(o, "cidr_block", it, "cidrBlock");
            ec2_put_bool(o, "enable_dns", it, "enableDnsSupport/value");
            json_decref(o);
        }
    }
}

static void walk_iam(xmlDocPtr doc)
{
    xmlNodePtr res = iam_result(doc, "GetRole");
    json_t *tags = iam_tags(aws_xml_find(res, "Role/Tags"));
    json_decref(tags);
    char *doc_text = aws_xml_text(res, "Role/AssumeRolePolicyDocument");
    if (doc_text) {
        char *plain = iam_url_decode(doc_text);
        char *canon = plain ? iam_canonical(plain) : NULL;
        free(canon);
        free(plain);
        free(doc_text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response resp;
    http_response_init(&resp);
    fuzz_reply(&resp, data, size);
    (void)aws_classify(&resp);
    struct mesh_err err;
    mesh_err_init(&err);
    aws_error_report(&resp, "ec2 DescribeVpcs", &err);

    xmlDocPtr doc = xmlReadMemory(resp.body.buf, (int)resp.body.len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc) {
        xmlNodePtr root = xmlDocGetRootElement(doc);
        for (int i = 0; texts[i]; i++) free(aws_xml_text(root, texts[i]));
        walk_items(doc);
        walk_iam(doc);
        xmlFreeDoc(doc);
    }
    http_response_release(&resp);
    return 0;
}
