/* aws_nat_gateway.c: a NAT gateway in a public subnet with an Elastic IP: the private subnets'
 * IPv4 egress and, with DNS64, their route to IPv4-only hosts (64:ff9b::/96). Created with a
 * client token; wait returns when it is available; delete returns when it is deleted. A gateway
 * in state deleting, deleted or failed counts as gone. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

static const struct attr nat_schema[] = {
    {"subnet_id", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the public subnet it lives in"},
    {"allocation_id", T_STRING, ATTR_FORCE_NEW, "the Elastic IP (public gateways)"},
    {"connectivity_type", T_STRING, ATTR_FORCE_NEW, "public (default) or private"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "nat-..."},
    {"public_ip", T_STRING, ATTR_COMPUTED, "its public address"},
    {NULL, 0, 0, NULL},
};

static const char *const nat_echo[] = {"connectivity_type", "tags", NULL};
/* DeleteNatGateway answers at once; nat_delete then waits for the state "deleted". */
static const struct ec2_type nat_type = {
    .describe = "DescribeNatGateways", .describe_id = "NatGatewayId.1", .set_path = "natGatewaySet",
    .remove = "DeleteNatGateway", .remove_id = "NatGatewayId", .echo = nat_echo,
};

static json_t *nat_outputs(xmlNodePtr item, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", item, "natGatewayId");
    ec2_put_text(o, "public_ip", aws_xml_first(aws_xml_find(item, "natGatewayAddressSet"), "item"), "publicIp");
    ec2_echo(o, desired, nat_echo);
    return o;
}

static int gone_state(const char *s)
{
    return s && (strcmp(s, "deleted") == 0 || strcmp(s, "deleting") == 0 || strcmp(s, "failed") == 0);
}

static int nat_wait(struct call *c, const json_t *outputs, json_t **ready);

static int nat_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "CreateNatGateway");
    aws_query_add(&q, "SubnetId", ec2_str(desired, "subnet_id") ? ec2_str(desired, "subnet_id") : "");
    if (ec2_str(desired, "allocation_id")) aws_query_add(&q, "AllocationId", ec2_str(desired, "allocation_id"));
    if (ec2_str(desired, "connectivity_type")) aws_query_add(&q, "ConnectivityType", ec2_str(desired, "connectivity_type"));
    aws_query_add(&q, "ClientToken", c->token);
    ec2_tag_spec(c, &q, 1, "natgateway", json_object_get(desired, "tags"));
    json_t *o = NULL;
    int rc = ec2_create_one(c, &q, "natGateway", nat_outputs, desired, "natGatewayId", &o);
    if (rc) return rc;
    json_t *ready = NULL;
    if (!EC2_SEPARATE_WAIT && (rc = nat_wait(c, o, &ready)) != 0)
        return ec2_type_undo(&nat_type, c, o, rc);  /* leave nothing behind a failed create */
    if (ready) {
        json_decref(o);
        o = ready;
    }
    *outputs = o;
    return 0;
}

static int nat_wait(struct call *c, const json_t *outputs, json_t **ready)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    struct ec2_wait w;
    ec2_wait_init(&w, c, 900);
    for (;;) {
        xmlDocPtr doc = NULL;
        xmlNodePtr it = NULL;
        int rc = ec2_type_describe(&nat_type, c, id, &doc, &it);
        if (rc && rc != MESH_ENOTFOUND) return rc;  /* not found: not visible yet */
        if (!rc) {
            char *state = aws_xml_text(it, "state");
            if (state && strcmp(state, "available") == 0) {
                *ready = nat_outputs(it, outputs);
                free(state);
                xmlFreeDoc(doc);
                return 0;
            }
            if (gone_state(state)) {
                char *why = aws_xml_text(it, "failureMessage");
                rc = mesh_err_set(c->err, MESH_ERR, c->address, "NAT gateway %s is %s: %s", id, state,
                                  why && *why ? why : "(no failure message)");
                free(why);
            }
            free(state);
            xmlFreeDoc(doc);
            if (rc) return rc;
        }
        if ((rc = ec2_wait_next(&w, c, "waiting for the NAT gateway to become available"))) return rc;
    }
}

/* find: a gateway found by its tags, unless it is failed or going away. */
static json_t *nat_found(xmlNodePtr it, const json_t *desired)
{
    char *state = aws_xml_text(it, "state");
    int gone = gone_state(state);
    free(state);
    return gone ? NULL : nat_outputs(it, desired);
}

static int nat_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_type_find(&nat_type, c, nat_found, desired, outputs);
}

/* A gateway deleting, deleted or failed counts as gone. */
static int nat_fill(struct call *c, xmlNodePtr it, const json_t *outputs, json_t *cur)
{
    char *state = aws_xml_text(it, "state");
    int gone = gone_state(state);
    free(state);
    if (gone) return MESH_ENOTFOUND;
    ec2_put_text(cur, "subnet_id", it, "subnetId");
    ec2_put_text(cur, "allocation_id", aws_xml_first(aws_xml_find(it, "natGatewayAddressSet"), "item"), "allocationId");
    char *ct = aws_xml_text(it, "connectivityType");
    if (ct) ec2_observe(cur, outputs, "connectivity_type", json_string(ct), strcmp(ct, "public") == 0);
    free(ct);
    return 0;
}

static int nat_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&nat_type, c, outputs, nat_fill, current);
}

static int nat_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                      json_t **new_outputs)
{
    return ec2_type_update_tags(&nat_type, c, outputs, prior, desired, new_outputs);
}

static int nat_delete(struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    int rc = ec2_type_delete_id(&nat_type, c, id);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    struct ec2_wait w;
    ec2_wait_init(&w, c, 900);
    for (;;) {
        xmlDocPtr doc = NULL;
        xmlNodePtr it = NULL;
        rc = ec2_type_describe(&nat_type, c, id, &doc, &it);
        if (rc == MESH_ENOTFOUND) return 0;
        if (rc) return rc;
        char *state = aws_xml_text(it, "state");
        int done = state && (strcmp(state, "deleted") == 0 || strcmp(state, "failed") == 0);
        free(state);
        xmlFreeDoc(doc);
        if (done) return 0;
        if ((rc = ec2_wait_next(&w, c, "waiting for the NAT gateway to be deleted"))) return rc;
    }
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const nat_gateway_permissions[] = {
    "ec2:CreateNatGateway", "ec2:DeleteNatGateway", "ec2:DescribeNatGateways", "ec2:CreateTags", "ec2:DeleteTags",
    "ec2:DescribeTags",
    NULL,
};

const struct driver aws_nat_gateway_driver = {
    .type = "aws_nat_gateway",
    .provider = &aws_provider,
    .schema = nat_schema,
    .permissions = nat_gateway_permissions,
    .doc = "a NAT gateway (waits until available; delete waits until deleted)",
    .create = nat_create,
    .wait = EC2_SEPARATE_WAIT ? nat_wait : NULL,
    .find = nat_find,
    .read = nat_read,
    .update = nat_update,
    .delete = nat_delete,
};
