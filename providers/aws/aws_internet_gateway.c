/* aws_internet_gateway.c: an internet gateway attached to a VPC. CreateInternetGateway has no
 * client token: find adopts by mesh tags. Moving it to another VPC detaches and attaches (an
 * update); delete detaches first, waiting while public addresses are still mapped. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

static const struct attr igw_schema[] = {
    {"vpc_id", T_STRING, 0, "the VPC it is attached to"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "igw-..."},
    {NULL, 0, 0, NULL},
};

static const char *const igw_echo[] = {"vpc_id", "tags", NULL};
static const char *const detach_retry[] = {"DependencyViolation", NULL};

/* fresh: the gateway was created in this call (eventual consistency: see ec2_send_fresh). */
static int attach(struct call *c, const char *action, const char *id, const char *vpc, int fresh)
{
    struct aws_query q;
    ec2_query(&q, action);
    aws_query_add(&q, "InternetGatewayId", id);
    aws_query_add(&q, "VpcId", vpc);
    struct ec2_res r;
    struct ec2_wait w;
    ec2_wait_init(&w, c, 600);
    int rc;
    for (;;) {
        rc = fresh ? ec2_send_fresh(c, &q, NULL, &r) : ec2_send(c, &q, NULL, &r);
        if (rc == 0 || strcmp(r.code, "Gateway.NotAttached") == 0) { rc = 0; break; }
        if (strcmp(action, "DetachInternetGateway") == 0 && rc == MESH_ENOTFOUND) break;
        if (strcmp(r.code, "DependencyViolation") != 0) { rc = ec2_fail(c, &r); break; }
        if ((rc = ec2_wait_next(&w, c, "waiting for the VPC's public addresses to be released before detaching")))
            break;
    }
    aws_query_release(&q);
    return rc;
}

static json_t *igw_outputs(xmlNodePtr item, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", item, "internetGatewayId");
    ec2_echo(o, desired, igw_echo);
    return o;
}

static int igw_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "CreateInternetGateway");
    ec2_tag_spec(c, &q, 1, "internet-gateway", json_object_get(desired, "tags"));
    json_t *o = NULL;
    int rc = ec2_create_one(c, &q, "internetGateway", igw_outputs, desired, "internetGatewayId", &o);
    if (rc) return rc;
    const char *id = ec2_str(o, "id"), *vpc = ec2_str(desired, "vpc_id");
    if (vpc && (rc = attach(c, "AttachInternetGateway", id, vpc, 1))) {
        ec2_undo(c, "DeleteInternetGateway", "InternetGatewayId", id);
        json_decref(o);
        return rc;
    }
    *outputs = o;
    return 0;
}

/* find: the attachment may not have happened before the cut-off: the next plan's read shows
 * vpc_id missing and the update attaches it. */
static json_t *igw_found(xmlNodePtr it, const json_t *desired)
{
    json_t *o = igw_outputs(it, desired);
    json_object_del(o, "vpc_id");
    return o;
}

static int igw_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_find_ours(c, "DescribeInternetGateways", "internetGatewaySet", igw_found, desired, outputs);
}

static int igw_describe(struct call *c, const char *id, xmlDocPtr *doc, xmlNodePtr *item)
{
    return ec2_describe_one(c, "DescribeInternetGateways", "InternetGatewayId.1", id, "internetGatewaySet", doc, item);
}

static char *attached_vpc(xmlNodePtr item)
{
    return aws_xml_text(aws_xml_first(aws_xml_find(item, "attachmentSet"), "item"), "vpcId");
}

static int igw_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    xmlDocPtr doc = NULL;
    xmlNodePtr it = NULL;
    int rc = igw_describe(c, id, &doc, &it);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    char *vpc = attached_vpc(it);
    if (vpc) json_object_set_new(cur, "vpc_id", json_string(vpc));
    else json_object_set_new(cur, "vpc_id", json_null());
    free(vpc);
    ec2_put_tags(cur, outputs, aws_xml_find(it, "tagSet"));
    xmlFreeDoc(doc);
    *current = cur;
    return 0;
}

static int igw_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                      json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    (void)prior;
    xmlDocPtr doc = NULL;
    xmlNodePtr it = NULL;
    int rc = igw_describe(c, id, &doc, &it);
    if (rc) return rc == MESH_ENOTFOUND ? mesh_err_set(c->err, MESH_ERR, c->address, "update: %s is gone", id) : rc;
    char *have = attached_vpc(it);
    xmlFreeDoc(doc);
    const char *want = ec2_str(desired, "vpc_id");
    if (have && (!want || strcmp(have, want) != 0)) rc = attach(c, "DetachInternetGateway", id, have, 0);
    if (!rc && want && (!have || strcmp(have, want) != 0)) rc = attach(c, "AttachInternetGateway", id, want, 0);
    free(have);
    if (!rc) rc = ec2_sync_tags(c, id, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, igw_echo);
    *new_outputs = o;
    return 0;
}

static int igw_delete(struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    xmlDocPtr doc = NULL;
    xmlNodePtr it = NULL;
    int rc = igw_describe(c, id, &doc, &it);
    if (rc) return rc;
    char *vpc = attached_vpc(it);
    xmlFreeDoc(doc);
    if (vpc) rc = attach(c, "DetachInternetGateway", id, vpc, 0);
    free(vpc);
    if (rc) return rc;
    return ec2_delete(c, "DeleteInternetGateway", "InternetGatewayId", id, detach_retry, 300);
}

const struct driver aws_internet_gateway_driver = {
    .type = "aws_internet_gateway",
    .provider = &aws_provider,
    .schema = igw_schema,
    .doc = "an internet gateway, attached to a VPC",
    .create = igw_create,
    .find = igw_find,
    .read = igw_read,
    .update = igw_update,
    .delete = igw_delete,
};
