/* aws_egress_only_internet_gateway.c: IPv6 egress for private subnets (the ::/0 route of their
 * route table). Created with a client token, so a retried create returns the same gateway. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

static const struct attr eigw_schema[] = {
    {"vpc_id", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the VPC"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "eigw-..."},
    {NULL, 0, 0, NULL},
};

static const char *const eigw_echo[] = {"tags", NULL};
static const char *const eigw_retry[] = {"DependencyViolation", NULL};
static const struct ec2_type eigw_type = {
    .describe = "DescribeEgressOnlyInternetGateways", .describe_id = "EgressOnlyInternetGatewayId.1",
    .set_path = "egressOnlyInternetGatewaySet", .remove = "DeleteEgressOnlyInternetGateway",
    .remove_id = "EgressOnlyInternetGatewayId", .retry = eigw_retry, .limit = 300, .echo = eigw_echo,
};

static json_t *eigw_outputs(xmlNodePtr item, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", item, "egressOnlyInternetGatewayId");
    ec2_echo(o, desired, eigw_echo);
    return o;
}

static int eigw_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "CreateEgressOnlyInternetGateway");
    aws_query_add(&q, "VpcId", ec2_str(desired, "vpc_id") ? ec2_str(desired, "vpc_id") : "");
    aws_query_add(&q, "ClientToken", c->token);
    ec2_tag_spec(c, &q, 1, "egress-only-internet-gateway", json_object_get(desired, "tags"));
    return ec2_create_one(c, &q, "egressOnlyInternetGateway", eigw_outputs, desired, "ID", outputs);
}

static int eigw_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_type_find(&eigw_type, c, eigw_outputs, desired, outputs);
}

static int eigw_fill(struct call *c, xmlNodePtr it, const json_t *outputs, json_t *cur)
{
    ec2_put_text(cur, "vpc_id", aws_xml_first(aws_xml_find(it, "attachmentSet"), "item"), "vpcId");
    return 0;
}

static int eigw_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&eigw_type, c, outputs, eigw_fill, current);
}

static int eigw_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    return ec2_type_update_tags(&eigw_type, c, outputs, prior, desired, new_outputs);
}

static int eigw_delete(struct call *c, const json_t *outputs) { return ec2_type_delete(&eigw_type, c, outputs); }

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const egress_only_internet_gateway_permissions[] = {
    "ec2:CreateEgressOnlyInternetGateway", "ec2:DeleteEgressOnlyInternetGateway",
    "ec2:DescribeEgressOnlyInternetGateways", "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags",
    NULL,
};

const struct driver aws_egress_only_internet_gateway_driver = {
    .type = "aws_egress_only_internet_gateway",
    .provider = &aws_provider,
    .schema = eigw_schema,
    .permissions = egress_only_internet_gateway_permissions,
    .doc = "an egress-only internet gateway (outbound IPv6)",
    .create = eigw_create,
    .find = eigw_find,
    .read = eigw_read,
    .update = eigw_update,
    .delete = eigw_delete,
};
