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
static const char *const igw_retry[] = {"DependencyViolation", NULL};
static const struct ec2_type igw_type = {
    .describe = "DescribeInternetGateways", .describe_id = "InternetGatewayId.1", .set_path = "internetGatewaySet",
    .remove = "DeleteInternetGateway", .remove_id = "InternetGatewayId", .retry = igw_retry, .limit = 300,
    .echo = igw_echo,
};

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
        if (rc == 0 || strcmp(r.err.cause, "Gateway.NotAttached") == 0) { rc = 0; break; }
        if (strcmp(action, "DetachInternetGateway") == 0 && rc == MESH_ENOTFOUND) break;
        if (strcmp(r.err.cause, "DependencyViolation") != 0) { rc = ec2_fail(c, &r); break; }
        char what[1400];  /* r.err.msg names the answer: "DetachInternetGateway failed: DependencyViolation: ..." */
        snprintf(what, sizeof(what), "waiting for %s's public addresses to be released before detaching %s: %s", vpc,
                 id, r.err.msg);
        if ((rc = ec2_wait_next(&w, c, what))) break;
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
    if (vpc && (rc = attach(c, "AttachInternetGateway", id, vpc, 1))) return ec2_type_undo(&igw_type, c, o, rc);
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
    return ec2_type_find(&igw_type, c, igw_found, desired, outputs);
}

static char *attached_vpc(xmlNodePtr item)
{
    return aws_xml_text(aws_xml_first(aws_xml_find(item, "attachmentSet"), "item"), "vpcId");
}

static int igw_fill(struct call *c, xmlNodePtr it, const json_t *outputs, json_t *cur)
{
    char *vpc = attached_vpc(it);
    json_object_set_new(cur, "vpc_id", vpc ? json_string(vpc) : json_null());
    free(vpc);
    return 0;
}

static int igw_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&igw_type, c, outputs, igw_fill, current);
}

static int igw_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                      json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    (void)prior;
    xmlDocPtr doc = NULL;
    xmlNodePtr it = NULL;
    int rc = ec2_type_describe(&igw_type, c, id, &doc, &it);
    if (rc) return rc == MESH_ENOTFOUND ? mesh_err_set(c->err, MESH_ERR, c->address, "update: %s is gone", id) : rc;
    char *have = attached_vpc(it);
    xmlFreeDoc(doc);
    const char *want = ec2_str(desired, "vpc_id");
    if (have && (!want || strcmp(have, want) != 0)) rc = attach(c, "DetachInternetGateway", id, have, 0);
    if (!rc && want && (!have || strcmp(have, want) != 0)) rc = attach(c, "AttachInternetGateway", id, want, 0);
    free(have);
    return rc ? rc : ec2_update_tags(c, outputs, desired, igw_echo, new_outputs);
}

static int igw_delete(struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    xmlDocPtr doc = NULL;
    xmlNodePtr it = NULL;
    int rc = ec2_type_describe(&igw_type, c, id, &doc, &it);
    if (rc) return rc;
    char *vpc = attached_vpc(it);
    xmlFreeDoc(doc);
    if (vpc) rc = attach(c, "DetachInternetGateway", id, vpc, 0);
    free(vpc);
    return rc ? rc : ec2_type_delete_id(&igw_type, c, id);
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const internet_gateway_permissions[] = {
    "ec2:AttachInternetGateway", "ec2:CreateInternetGateway", "ec2:DeleteInternetGateway",
    "ec2:DescribeInternetGateways", "ec2:DetachInternetGateway", "ec2:CreateTags", "ec2:DeleteTags",
    "ec2:DescribeTags",
    NULL,
};

const struct driver aws_internet_gateway_driver = {
    .type = "aws_internet_gateway",
    .provider = &aws_provider,
    .schema = igw_schema,
    .permissions = internet_gateway_permissions,
    .doc = "an internet gateway, attached to a VPC",
    .create = igw_create,
    .find = igw_find,
    .read = igw_read,
    .update = igw_update,
    .delete = igw_delete,
};
