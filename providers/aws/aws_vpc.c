/* aws_vpc.c: a VPC with, optionally, an Amazon-provided IPv6 /56, and its DNS attributes.
 * CreateVpc has no client token: find adopts a cut-off create by its mesh tags. Delete waits
 * until the VPC's network interfaces are gone (a NAT gateway's ENI outlives the gateway by a
 * while), retrying DependencyViolation until the wait limit. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

static const struct attr vpc_schema[] = {
    {"cidr_block", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the IPv4 CIDR block (10.6.0.0/16)"},
    {"assign_generated_ipv6_cidr_block", T_BOOL, ATTR_FORCE_NEW, "request an Amazon-provided IPv6 /56 (default false)"},
    {"enable_dns_support", T_BOOL, 0, "DNS resolution through the Amazon DNS server (default true)"},
    {"enable_dns_hostnames", T_BOOL, 0, "public DNS hostnames for instances (default false)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "vpc-..."},
    {"ipv6_cidr_block", T_STRING, ATTR_COMPUTED, "the Amazon-provided IPv6 /56, when requested"},
    {NULL, 0, 0, NULL},
};

static const char *const vpc_echo[] = {"assign_generated_ipv6_cidr_block", "enable_dns_support", "enable_dns_hostnames",
                                       "tags", NULL};
static const char *const vpc_retry[] = {"DependencyViolation", NULL};
/* What keeps a VPC from going. Its network interfaces are checked before each DeleteVpc (a NAT
 * gateway's outlives the gateway by a while); the rest is listed when DeleteVpc refuses. */
static const struct ec2_blocker vpc_blockers[] = {
    {"DescribeNetworkInterfaces", "vpc-id", "networkInterfaceSet", "networkInterfaceId", "description", NULL, 1},
    {"DescribeSubnets", "vpc-id", "subnetSet", "subnetId", NULL, NULL, 0},
    {"DescribeInternetGateways", "attachment.vpc-id", "internetGatewaySet", "internetGatewayId", NULL, NULL, 0},
    {"DescribeSecurityGroups", "vpc-id", "securityGroupInfo", "groupId", "groupName", "default", 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct ec2_type vpc_type = {
    .describe = "DescribeVpcs", .describe_id = "VpcId.1", .set_path = "vpcSet", .remove = "DeleteVpc",
    .remove_id = "VpcId", .retry = vpc_retry, .limit = 600, .blockers = vpc_blockers, .echo = vpc_echo,
};

/* fresh: the VPC was created in this call (eventual consistency: see ec2_send_fresh). */
static int set_attr(struct call *c, const char *id, const char *name, int on, int fresh)
{
    struct aws_query q;
    ec2_query(&q, "ModifyVpcAttribute");
    aws_query_add(&q, "VpcId", id);
    char key[64];
    snprintf(key, sizeof(key), "%s.Value", name);
    aws_query_add(&q, key, on ? "true" : "false");
    int rc = fresh ? ec2_do_fresh(c, &q, NULL) : ec2_do(c, &q, NULL);
    aws_query_release(&q);
    return rc;
}

/* DNS attributes that differ from AWS's defaults (or from prior, when given). */
static int set_dns(struct call *c, const char *id, const json_t *prior, const json_t *desired)
{
    int support = ec2_bool(desired, "enable_dns_support", 1), hostnames = ec2_bool(desired, "enable_dns_hostnames", 0);
    int rc = 0;
    if (support != (prior ? ec2_bool(prior, "enable_dns_support", 1) : 1))
        rc = set_attr(c, id, "EnableDnsSupport", support, prior == NULL);
    if (!rc && hostnames != (prior ? ec2_bool(prior, "enable_dns_hostnames", 0) : 0))
        rc = set_attr(c, id, "EnableDnsHostnames", hostnames, prior == NULL);
    return rc;
}

/* The associated Amazon IPv6 block of a vpc item, or NULL (malloc'd). */
static char *ipv6_block(xmlNodePtr item)
{
    xmlNodePtr set = aws_xml_find(item, "ipv6CidrBlockAssociationSet");
    for (xmlNodePtr it = aws_xml_first(set, "item"); it; it = aws_xml_next(it, "item")) {
        char *state = aws_xml_text(it, "ipv6CidrBlockState/state");
        int ok = state && (strcmp(state, "associated") == 0 || strcmp(state, "associating") == 0);
        free(state);
        if (ok) return aws_xml_text(it, "ipv6CidrBlock");
    }
    return NULL;
}

static json_t *vpc_outputs(xmlNodePtr item, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", item, "vpcId");
    char *v6 = ipv6_block(item);
    if (v6) json_object_set_new(o, "ipv6_cidr_block", json_string(v6));
    free(v6);
    ec2_echo(o, desired, vpc_echo);
    return o;
}

static int vpc_wait(struct call *c, const json_t *outputs, json_t **ready);

static int vpc_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "CreateVpc");
    aws_query_add(&q, "CidrBlock", ec2_str(desired, "cidr_block") ? ec2_str(desired, "cidr_block") : "");
    if (ec2_bool(desired, "assign_generated_ipv6_cidr_block", 0)) aws_query_add(&q, "AmazonProvidedIpv6CidrBlock", "true");
    ec2_tag_spec(c, &q, 1, "vpc", json_object_get(desired, "tags"));
    json_t *o = NULL;
    int rc = ec2_create_one(c, &q, "vpc", vpc_outputs, desired, "vpcId", &o);
    if (rc) return rc;
    const char *id = ec2_str(o, "id");
    /* The DNS attributes: done here (the ID is known); if this fails the VPC is removed so the
     * failed create leaves nothing behind. */
    rc = set_dns(c, id, NULL, desired);
    json_t *ready = NULL;
    if (!rc && !EC2_SEPARATE_WAIT && (rc = vpc_wait(c, o, &ready)) == 0) {
        json_decref(o);
        o = ready;
        id = ec2_str(o, "id");
    }
    if (rc) return ec2_type_undo(&vpc_type, c, o, rc);
    *outputs = o;
    return 0;
}

/* Until available, with the IPv6 block associated when one was asked for. */
static int vpc_wait(struct call *c, const json_t *outputs, json_t **ready)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    int want6 = ec2_bool(outputs, "assign_generated_ipv6_cidr_block", 0);
    struct ec2_wait w;
    ec2_wait_init(&w, c, 300);
    for (;;) {
        xmlDocPtr doc = NULL;
        xmlNodePtr item = NULL;
        int rc = ec2_type_describe(&vpc_type, c, id, &doc, &item);
        if (rc && rc != MESH_ENOTFOUND) return rc;
        if (!rc) {
            char *state = aws_xml_text(item, "state");
            char *v6 = ipv6_block(item);
            int done = state && strcmp(state, "available") == 0 && (!want6 || v6);
            free(state);
            free(v6);
            if (done) {
                *ready = vpc_outputs(item, outputs);
                xmlFreeDoc(doc);
                return 0;
            }
            xmlFreeDoc(doc);
        }
        if ((rc = ec2_wait_next(&w, c, "waiting for the VPC to become available"))) return rc;
    }
}

static int vpc_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_type_find(&vpc_type, c, vpc_outputs, desired, outputs);
}

static int dns_attr(struct call *c, const char *id, const char *name, const char *reply, int *on)
{
    struct aws_query q;
    ec2_query(&q, "DescribeVpcAttribute");
    aws_query_add(&q, "VpcId", id);
    aws_query_add(&q, "Attribute", name);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    char path[64];
    snprintf(path, sizeof(path), "%s/value", reply);
    char *v = aws_xml_text(xmlDocGetRootElement(doc), path);
    *on = v && strcmp(v, "true") == 0;
    free(v);
    xmlFreeDoc(doc);
    return 0;
}

static int vpc_fill(struct call *c, xmlNodePtr item, const json_t *outputs, json_t *cur)
{
    ec2_put_text(cur, "cidr_block", item, "cidrBlock");
    char *v6 = ipv6_block(item);
    ec2_observe(cur, outputs, "assign_generated_ipv6_cidr_block", json_boolean(v6 != NULL), v6 == NULL);
    if (v6) json_object_set_new(cur, "ipv6_cidr_block", json_string(v6));
    free(v6);
    const char *id = ec2_str(outputs, "id");
    int support = 1, hostnames = 0;
    int rc = dns_attr(c, id, "enableDnsSupport", "enableDnsSupport", &support);
    if (!rc) rc = dns_attr(c, id, "enableDnsHostnames", "enableDnsHostnames", &hostnames);
    if (rc) return rc;
    ec2_observe(cur, outputs, "enable_dns_support", json_boolean(support), support == 1);
    ec2_observe(cur, outputs, "enable_dns_hostnames", json_boolean(hostnames), hostnames == 0);
    return 0;
}

static int vpc_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&vpc_type, c, outputs, vpc_fill, current);
}

static int vpc_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                      json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    /* Set both DNS attributes as desired: the world may have drifted from prior. */
    int rc = set_attr(c, id, "EnableDnsSupport", ec2_bool(desired, "enable_dns_support", 1), 0);
    if (!rc) rc = set_attr(c, id, "EnableDnsHostnames", ec2_bool(desired, "enable_dns_hostnames", 0), 0);
    (void)prior;
    return rc ? rc : ec2_update_tags(c, outputs, desired, vpc_echo, new_outputs);
}

static int vpc_delete(struct call *c, const json_t *outputs) { return ec2_type_delete(&vpc_type, c, outputs); }

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const vpc_permissions[] = {
    "ec2:CreateVpc", "ec2:DeleteVpc", "ec2:DescribeInternetGateways", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcAttribute", "ec2:DescribeVpcs",
    "ec2:ModifyVpcAttribute", "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags",
    NULL,
};

const struct driver aws_vpc_driver = {
    .type = "aws_vpc",
    .provider = &aws_provider,
    .schema = vpc_schema,
    .permissions = vpc_permissions,
    .doc = "a VPC, optionally dual-stack (Amazon-provided IPv6 /56)",
    .create = vpc_create,
    .wait = EC2_SEPARATE_WAIT ? vpc_wait : NULL,
    .find = vpc_find,
    .read = vpc_read,
    .update = vpc_update,
    .delete = vpc_delete,
};
