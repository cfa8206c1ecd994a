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
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    json_t *o = eigw_outputs(aws_xml_find(xmlDocGetRootElement(doc), "egressOnlyInternetGateway"), desired);
    xmlFreeDoc(doc);
    if (!ec2_str(o, "id")) {
        json_decref(o);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreateEgressOnlyInternetGateway: the reply holds no ID");
    }
    *outputs = o;
    return 0;
}

static int eigw_find(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "DescribeEgressOnlyInternetGateways");
    ec2_filter_ours(c, &q);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    rc = MESH_ENOTFOUND;
    for (xmlNodePtr it = ec2_first_item(doc, "egressOnlyInternetGatewaySet"); it && rc; it = aws_xml_next(it, "item"))
        if (ec2_tagged_ours(c, aws_xml_find(it, "tagSet"))) {
            *outputs = eigw_outputs(it, desired);
            rc = 0;
        }
    xmlFreeDoc(doc);
    return rc;
}

static int eigw_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    struct aws_query q;
    ec2_query(&q, "DescribeEgressOnlyInternetGateways");
    aws_query_add(&q, "EgressOnlyInternetGatewayId.1", id);
    xmlDocPtr doc = NULL;
    struct ec2_res r;
    int rc = ec2_send(c, &q, &doc, &r);
    aws_query_release(&q);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return ec2_fail(c, &r);
    xmlNodePtr it = ec2_first_item(doc, "egressOnlyInternetGatewaySet");
    if (!it) { xmlFreeDoc(doc); return MESH_ENOTFOUND; }
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
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    (void)prior;
    int rc = ec2_sync_tags(c, id, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, eigw_echo);
    *new_outputs = o;
    return 0;
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
