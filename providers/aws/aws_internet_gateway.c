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

static int attach(struct call *c, const char *action, const char *id, const char *vpc)
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
        rc = ec2_send(c, &q, NULL, &r);
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
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    json_t *o = igw_outputs(aws_xml_find(xmlDocGetRootElement(doc), "internetGateway"), desired);
    xmlFreeDoc(doc);
    const char *id = ec2_str(o, "id"), *vpc = ec2_str(desired, "vpc_id");
    if (!id) {
        json_decref(o);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreateInternetGateway: the reply holds no internetGatewayId");
    }
    if (vpc && (rc = attach(c, "AttachInternetGateway", id, vpc))) {
        struct mesh_err e2;
        mesh_err_init(&e2);
        struct call c2 = *c;
        c2.err = &e2;
        ec2_delete(&c2, "DeleteInternetGateway", "InternetGatewayId", id, NULL, 0);
        json_decref(o);
        return rc;
    }
    *outputs = o;
    return 0;
}

static int igw_find(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "DescribeInternetGateways");
    ec2_filter_ours(c, &q);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    rc = MESH_ENOTFOUND;
    for (xmlNodePtr it = ec2_first_item(doc, "internetGatewaySet"); it && rc; it = aws_xml_next(it, "item"))
        if (ec2_tagged_ours(c, aws_xml_find(it, "tagSet"))) {
            /* The attachment may not have happened before the cut-off: the next plan's read
             * shows vpc_id missing and the update attaches it. */
            json_t *o = igw_outputs(it, desired);
            json_object_del(o, "vpc_id");
            *outputs = o;
            rc = 0;
        }
    xmlFreeDoc(doc);
    return rc;
}

static int igw_describe(struct call *c, const char *id, xmlDocPtr *doc, xmlNodePtr *item)
{
    struct aws_query q;
    ec2_query(&q, "DescribeInternetGateways");
    aws_query_add(&q, "InternetGatewayId.1", id);
    struct ec2_res r;
    int rc = ec2_send(c, &q, doc, &r);
    aws_query_release(&q);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return ec2_fail(c, &r);
    *item = ec2_first_item(*doc, "internetGatewaySet");
    if (!*item) { xmlFreeDoc(*doc); *doc = NULL; return MESH_ENOTFOUND; }
    return 0;
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
    if (have && (!want || strcmp(have, want) != 0)) rc = attach(c, "DetachInternetGateway", id, have);
    if (!rc && want && (!have || strcmp(have, want) != 0)) rc = attach(c, "AttachInternetGateway", id, want);
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
    if (vpc) rc = attach(c, "DetachInternetGateway", id, vpc);
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
