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
    json_t *o = NULL;
    int rc = ec2_create_one(c, &q, "egressOnlyInternetGateway", eigw_outputs, desired, "ID", &o);
    if (rc) return rc;
    *outputs = o;
    return 0;
}

static int eigw_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_find_ours(c, "DescribeEgressOnlyInternetGateways", "egressOnlyInternetGatewaySet", eigw_outputs, desired, outputs);
}

static int eigw_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    xmlDocPtr doc;
    xmlNodePtr it;
    int rc = ec2_describe_one(c, "DescribeEgressOnlyInternetGateways", "EgressOnlyInternetGatewayId.1", id,
                              "egressOnlyInternetGatewaySet", &doc, &it);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    ec2_put_text(cur, "vpc_id", aws_xml_first(aws_xml_find(it, "attachmentSet"), "item"), "vpcId");
    ec2_put_tags(cur, outputs, aws_xml_find(it, "tagSet"));
    xmlFreeDoc(doc);
    *current = cur;
    return 0;
}

static int eigw_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    (void)prior;
    return ec2_update_tags(c, outputs, desired, eigw_echo, new_outputs);
}

static int eigw_delete(struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    static const char *const retry[] = {"DependencyViolation", NULL};
    return ec2_delete(c, "DeleteEgressOnlyInternetGateway", "EgressOnlyInternetGatewayId", id, retry, 300);
}

const struct driver aws_egress_only_internet_gateway_driver = {
    .type = "aws_egress_only_internet_gateway",
    .provider = &aws_provider,
    .schema = eigw_schema,
    .doc = "an egress-only internet gateway (outbound IPv6)",
    .create = eigw_create,
    .find = eigw_find,
    .read = eigw_read,
    .update = eigw_update,
    .delete = eigw_delete,
};
