/* aws_eip.c: an Elastic IP in the VPC domain (the NAT gateway's public address). AllocateAddress
 * has no client token: find adopts by mesh tags. Release waits while a NAT gateway still holds
 * the address (it lets go a little after the gateway is deleted). */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

static const struct attr eip_schema[] = {
    {"domain", T_STRING, ATTR_FORCE_NEW, "vpc (the default; the only kind mesh makes)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the allocation ID, eipalloc-..."},
    {"public_ip", T_STRING, ATTR_COMPUTED, "the address"},
    {NULL, 0, 0, NULL},
};

static const char *const eip_echo[] = {"domain", "tags", NULL};

static json_t *eip_outputs(xmlNodePtr item, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", item, "allocationId");
    ec2_put_text(o, "public_ip", item, "publicIp");
    ec2_echo(o, desired, eip_echo);
    return o;
}

static int eip_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "AllocateAddress");
    aws_query_add(&q, "Domain", ec2_str(desired, "domain") ? ec2_str(desired, "domain") : "vpc");
    ec2_tag_spec(c, &q, 1, "elastic-ip", json_object_get(desired, "tags"));
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    json_t *o = eip_outputs(xmlDocGetRootElement(doc), desired);
    xmlFreeDoc(doc);
    if (!ec2_str(o, "id")) {
        json_decref(o);
        return mesh_err_set(c->err, MESH_ERR, c->address, "AllocateAddress: the reply holds no allocationId");
    }
    *outputs = o;
    return 0;
}

static int eip_find(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "DescribeAddresses");
    ec2_filter_ours(c, &q);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    rc = MESH_ENOTFOUND;
    for (xmlNodePtr it = ec2_first_item(doc, "addressesSet"); it && rc; it = aws_xml_next(it, "item"))
        if (ec2_tagged_ours(c, aws_xml_find(it, "tagSet"))) {
            *outputs = eip_outputs(it, desired);
            rc = 0;
        }
    xmlFreeDoc(doc);
    return rc;
}

static int eip_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    struct aws_query q;
    ec2_query(&q, "DescribeAddresses");
    aws_query_add(&q, "AllocationId.1", id);
    xmlDocPtr doc = NULL;
    struct ec2_res r;
    int rc = ec2_send(c, &q, &doc, &r);
    aws_query_release(&q);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return ec2_fail(c, &r);
    xmlNodePtr it = ec2_first_item(doc, "addressesSet");
    if (!it) { xmlFreeDoc(doc); return MESH_ENOTFOUND; }
    json_t *cur = json_deep_copy(outputs);
    char *dom = aws_xml_text(it, "domain");
    if (dom) ec2_observe(cur, outputs, "domain", json_string(dom), strcmp(dom, "vpc") == 0);
    free(dom);
    ec2_put_text(cur, "public_ip", it, "publicIp");
    ec2_put_tags(cur, outputs, aws_xml_find(it, "tagSet"));
    xmlFreeDoc(doc);
    *current = cur;
    return 0;
}

static int eip_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                      json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    (void)prior;
    int rc = ec2_sync_tags(c, id, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, eip_echo);
    *new_outputs = o;
    return 0;
}

static int eip_delete(struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    static const char *const retry[] = {"InvalidIPAddress.InUse", "AuthFailure", "DependencyViolation", NULL};
    return ec2_delete(c, "ReleaseAddress", "AllocationId", id, retry, 300);
}

const struct driver aws_eip_driver = {
    .type = "aws_eip",
    .provider = &aws_provider,
    .schema = eip_schema,
    .doc = "an Elastic IP address (VPC domain)",
    .create = eip_create,
    .find = eip_find,
    .read = eip_read,
    .update = eip_update,
    .delete = eip_delete,
};
