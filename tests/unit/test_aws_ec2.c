/* test_aws_ec2.c: providers/aws/ec2.c against a scripted server in this process (a thread on a
 * free 127.0.0.1 port, reached through AWS_ENDPOINT_URL_EC2): eventual consistency right after a
 * create (ec2_send_fresh retries a *.NotFound about the object a few times, not a missing rule,
 * not once cancelled), a plain ec2_send taking NotFound as "gone" (also EC2's dotless
 * NatGatewayNotFound), ec2_describe_one, and a delete that waits on a dependency naming it (the
 * AWS answer and what still uses the object) in its progress note and its final error. A
 * security group's rules without mesh's tags read as foreign_rules and revoked by update; a rule
 * create that meets an untagged duplicate adopts it and tags it. */
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
#include "base/duration.h"

/* ---- a provider handle and a driver call pointed at a scripted server ---- */

#include "aws_fixture.h"

#define NOT_FOUND(code) "<?xml version=\"1.0\"?><Response><Errors><Error><Code>" code \
    "</Code><Message>not yet</Message></Error></Errors><RequestID>r1</RequestID></Response>"
#define OK_BODY "<?xml version=\"1.0\"?><ModifyVpcAttributeResponse><return>true</return></ModifyVpcAttributeResponse>"
#define VPCS_BODY "<?xml version=\"1.0\"?><DescribeVpcsResponse><vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet></DescribeVpcsResponse>"
#define EMPTY_BODY "<?xml version=\"1.0\"?><DescribeVpcsResponse><vpcSet/></DescribeVpcsResponse>"

static void fixture_start(struct fixture *f, const struct reply *script, int n)
{
    aws_fixture_start(f, script, n, "AWS_ENDPOINT_URL_EC2", "aws_vpc.main");
}

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
    assert_string_equal(r.err.cause, "InvalidVpcID.NotFound");
    assert_string_equal(r.err.request_id, "r1");
    assert_int_equal(r.rc, r.err.code);
    /* ec2_fail hands the whole error on: code, cause and request ID, at the call's address */
    assert_int_equal(ec2_fail(&f.call, &r), MESH_ENOTFOUND);
    assert_int_equal(f.err.code, MESH_ENOTFOUND);
    assert_string_equal(f.err.cause, "InvalidVpcID.NotFound");
    assert_string_equal(f.err.request_id, "r1");
    assert_string_equal(f.err.where, "aws_vpc.main");
    assert_string_equal(f.err.msg, "ModifyVpcAttribute failed: InvalidVpcID.NotFound: not yet (request id r1)");
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

static void test_dotless_not_found_is_gone(void **state)
{
    (void)state;
    static const struct reply script[] = {{400, NULL, NOT_FOUND("NatGatewayNotFound")}};
    struct fixture f;
    fixture_start(&f, script, 1);
    struct ec2_res r;
    assert_int_equal(modify(&f, 0, &r), MESH_ENOTFOUND);
    fixture_stop(&f);
}

/* ---- a delete blocked by a dependency ---- */

#define DEP_VIOLATION "<?xml version=\"1.0\"?><Response><Errors><Error><Code>DependencyViolation</Code><Message>" \
    "The subnet 'subnet-1' has dependencies and cannot be deleted.</Message></Error></Errors><RequestID>r2" \
    "</RequestID></Response>"
#define ENIS_BODY "<?xml version=\"1.0\"?><DescribeNetworkInterfacesResponse><networkInterfaceSet><item>" \
    "<networkInterfaceId>eni-0abc</networkInterfaceId><description>ELB app/web</description></item>" \
    "</networkInterfaceSet></DescribeNetworkInterfacesResponse>"

static const char *const dep_retry[] = {"DependencyViolation", NULL};
static struct ec2_blocker dep_blockers[] = {
    {"DescribeNetworkInterfaces", "subnet-id", "networkInterfaceSet", "networkInterfaceId", "description", NULL, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct ec2_type dep_type = {
    .remove = "DeleteSubnet", .remove_id = "SubnetId", .retry = dep_retry, .limit = 600, .blockers = dep_blockers,
};

static char last_note[2048];
static void record_note(void *ctx, const char *address, const char *fmt, ...)
{
    (void)ctx;
    (void)address;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_note, sizeof(last_note), fmt, ap);
    va_end(ap);
}

/* The deadline has passed: the first wait gives up, after reporting what it waited for. */
static int delete_blocked(struct fixture *f)
{
    last_note[0] = '\0';
    f->call.progress = record_note;
    f->call.deadline = mesh_now_mono() - 1;
    return ec2_type_delete_id(&dep_type, &f->call, "subnet-1");
}

static void test_delete_names_what_blocks_it(void **state)
{
    (void)state;
    static const struct reply script[] = {{400, NULL, DEP_VIOLATION}, {200, NULL, ENIS_BODY}};
    struct fixture f;
    fixture_start(&f, script, 2);
    assert_int_equal(delete_blocked(&f), MESH_ETIMEOUT);
    assert_int_equal(f.srv.served, 2);
    const char *parts[] = {"DeleteSubnet subnet-1", "DependencyViolation", "has dependencies", "eni-0abc (ELB app/web)"};
    for (size_t i = 0; i < 4; i++) {
        assert_non_null(strstr(last_note, parts[i]));
        assert_non_null(strstr(f.err.msg, parts[i]));
    }
    assert_non_null(strstr(f.err.msg, "gave up after"));
    fixture_stop(&f);
}

/* A blocker checked first (a VPC's network interfaces): no delete is tried while one exists. */
static void test_delete_waits_before_trying(void **state)
{
    (void)state;
    static const struct reply script[] = {{200, NULL, ENIS_BODY}};
    struct fixture f;
    fixture_start(&f, script, 1);
    dep_blockers[0].before = 1;
    int rc = delete_blocked(&f);
    dep_blockers[0].before = 0;
    assert_int_equal(rc, MESH_ETIMEOUT);
    assert_int_equal(f.srv.served, 1);
    assert_non_null(strstr(f.err.msg, "still used by eni-0abc"));
    assert_null(strstr(f.err.msg, "DependencyViolation"));
    fixture_stop(&f);
}

/* ---- security groups: the rules mesh did not make ---- */

extern const struct driver aws_security_group_driver, aws_security_group_rule_driver;

#define SG_BODY "<?xml version=\"1.0\"?><DescribeSecurityGroupsResponse><securityGroupInfo><item><groupId>sg-1" \
    "</groupId><groupName>web</groupName><vpcId>vpc-1</vpcId><groupDescription>Managed by mesh</groupDescription>" \
    "</item></securityGroupInfo></DescribeSecurityGroupsResponse>"
#define MESH_TAGS "<tagSet><item><key>mesh:address</key><value>aws_security_group_rule.web.in</value></item></tagSet>"
/* sgr-1: mesh's (tagged); sgr-2 and sgr-3: added by hand */
#define RULES_BODY "<?xml version=\"1.0\"?><DescribeSecurityGroupRulesResponse><securityGroupRuleSet>" \
    "<item><securityGroupRuleId>sgr-1</securityGroupRuleId><groupId>sg-1</groupId><isEgress>false</isEgress>" \
    "<ipProtocol>-1</ipProtocol><fromPort>-1</fromPort><toPort>-1</toPort><referencedGroupInfo><groupId>sg-2" \
    "</groupId></referencedGroupInfo>" MESH_TAGS "</item>" \
    "<item><securityGroupRuleId>sgr-2</securityGroupRuleId><groupId>sg-1</groupId><isEgress>false</isEgress>" \
    "<ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><cidrIpv4>203.0.113.0/24</cidrIpv4>" \
    "<description>ssh</description><tagSet/></item>" \
    "<item><securityGroupRuleId>sgr-3</securityGroupRuleId><groupId>sg-1</groupId><isEgress>true</isEgress>" \
    "<ipProtocol>-1</ipProtocol><fromPort>-1</fromPort><toPort>-1</toPort><cidrIpv6>::/0</cidrIpv6></item>" \
    "</securityGroupRuleSet></DescribeSecurityGroupRulesResponse>"
#define RETURN_BODY "<?xml version=\"1.0\"?><Response><return>true</return></Response>"
#define TAGS_BODY "<?xml version=\"1.0\"?><DescribeTagsResponse><tagSet/></DescribeTagsResponse>"

static void test_sg_read_reports_foreign_rules(void **state)
{
    (void)state;
    static const struct reply script[] = {{200, NULL, SG_BODY}, {200, NULL, RULES_BODY}};
    struct fixture f;
    fixture_start(&f, script, 2);
    f.call.address = "aws_security_group.web";
    json_t *outputs = json_pack("{s:s}", "id", "sg-1"), *cur = NULL;
    assert_int_equal(aws_security_group_driver.read(&f.call, outputs, &cur), 0);
    assert_non_null(strstr(f.srv.last_request, "Action=DescribeSecurityGroupRules"));
    json_t *want = json_pack("[s,s]", "egress all to ::/0 (sgr-3)", "ingress tcp 22 from 203.0.113.0/24 \"ssh\" (sgr-2)");
    assert_true(json_equal(json_object_get(cur, "foreign_rules"), want));
    json_decref(want);
    json_decref(cur);
    json_decref(outputs);
    fixture_stop(&f);
}

static void test_sg_read_none_foreign(void **state)
{
    (void)state;
    static const struct reply script[] = {{200, NULL, SG_BODY},
        {200, NULL, "<?xml version=\"1.0\"?><DescribeSecurityGroupRulesResponse><securityGroupRuleSet><item>"
                    "<securityGroupRuleId>sgr-1</securityGroupRuleId><isEgress>false</isEgress><ipProtocol>-1"
                    "</ipProtocol>" MESH_TAGS "</item></securityGroupRuleSet></DescribeSecurityGroupRulesResponse>"}};
    struct fixture f;
    fixture_start(&f, script, 2);
    json_t *outputs = json_pack("{s:s}", "id", "sg-1"), *cur = NULL;
    assert_int_equal(aws_security_group_driver.read(&f.call, outputs, &cur), 0);
    assert_null(json_object_get(cur, "foreign_rules"));  /* none: no drift against an unset value */
    json_decref(cur);
    json_decref(outputs);
    fixture_stop(&f);
}

/* update revokes what is foreign now (ingress, then egress, by rule ID; one gone meanwhile is
 * fine), then syncs the tags */
static void test_sg_update_revokes_foreign(void **state)
{
    (void)state;
    static const struct reply script[] = {{200, NULL, RULES_BODY}, {400, NULL, NOT_FOUND("InvalidSecurityGroupRuleId.NotFound")},
                                          {200, NULL, RETURN_BODY}, {200, NULL, TAGS_BODY}};
    struct fixture f;
    fixture_start(&f, script, 4);
    json_t *outputs = json_pack("{s:s}", "id", "sg-1"), *desired = json_pack("{s:s, s:s}", "name", "web", "vpc_id", "vpc-1");
    json_t *out = NULL;
    assert_int_equal(aws_security_group_driver.update(&f.call, outputs, desired, desired, &out), 0);
    assert_int_equal(f.srv.served, 4);
    assert_non_null(strstr(f.srv.last_request, "Action=DescribeTags"));
    json_decref(out);
    json_decref(desired);
    json_decref(outputs);
    fixture_stop(&f);
}

#define DUPLICATE "<?xml version=\"1.0\"?><Response><Errors><Error><Code>InvalidPermission.Duplicate</Code>" \
    "<Message>already exists</Message></Error></Errors><RequestID>r3</RequestID></Response>"

/* AWS refuses the rule as a duplicate of one made by hand: adopted, and tagged as mesh's */
static void test_rule_adopts_and_tags_duplicate(void **state)
{
    (void)state;
    static const struct reply script[] = {{400, NULL, DUPLICATE}, {200, NULL, RULES_BODY}, {200, NULL, RETURN_BODY}};
    struct fixture f;
    fixture_start(&f, script, 3);
    f.call.address = "aws_security_group_rule.web.ssh";
    json_t *desired = json_pack("{s:s, s:s, s:s, s:i, s:i, s:[s]}", "security_group_id", "sg-1", "type", "ingress",
                                "protocol", "tcp", "from_port", 22, "to_port", 22, "cidr_blocks", "203.0.113.0/24");
    json_t *out = NULL;
    assert_int_equal(aws_security_group_rule_driver.create(&f.call, desired, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "id")), "sgr-2");
    assert_int_equal(f.srv.served, 3);
    const char *req = f.srv.last_request;
    assert_non_null(strstr(req, "Action=CreateTags"));
    assert_non_null(strstr(req, "ResourceId.1=sgr-2"));
    assert_non_null(strstr(req, "mesh%3Aaddress"));
    assert_non_null(strstr(req, "aws_security_group_rule.web.ssh"));
    json_decref(out);
    json_decref(desired);
    fixture_stop(&f);
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
        cmocka_unit_test(test_dotless_not_found_is_gone),
        cmocka_unit_test(test_delete_names_what_blocks_it),
        cmocka_unit_test(test_delete_waits_before_trying),
        cmocka_unit_test(test_sg_read_reports_foreign_rules),
        cmocka_unit_test(test_sg_read_none_foreign),
        cmocka_unit_test(test_sg_update_revokes_foreign),
        cmocka_unit_test(test_rule_adopts_and_tags_duplicate),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
