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
/* A NAT gateway lets go of its address a little after it is deleted. */
static const char *const eip_retry[] = {"InvalidIPAddress.InUse", "AuthFailure", "DependencyViolation", NULL};
static const struct ec2_type eip_type = {
    .describe = "DescribeAddresses", .describe_id = "AllocationId.1", .set_path = "addressesSet",
    .remove = "ReleaseAddress", .remove_id = "AllocationId", .retry = eip_retry, .limit = 300, .echo = eip_echo,
};

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
    return ec2_create_one(c, &q, NULL, eip_outputs, desired, "allocationId", outputs);
}

static int eip_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_type_find(&eip_type, c, eip_outputs, desired, outputs);
}

static int eip_fill(struct call *c, xmlNodePtr it, const json_t *outputs, json_t *cur)
{
    char *dom = aws_xml_text(it, "domain");
    if (dom) ec2_observe(cur, outputs, "domain", json_string(dom), strcmp(dom, "vpc") == 0);
    free(dom);
    ec2_put_text(cur, "public_ip", it, "publicIp");
    return 0;
}

static int eip_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&eip_type, c, outputs, eip_fill, current);
}

static int eip_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                      json_t **new_outputs)
{
    return ec2_type_update_tags(&eip_type, c, outputs, prior, desired, new_outputs);
}

static int eip_delete(struct call *c, const json_t *outputs) { return ec2_type_delete(&eip_type, c, outputs); }

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const eip_permissions[] = {
    "ec2:AllocateAddress", "ec2:DescribeAddresses", "ec2:ReleaseAddress", "ec2:CreateTags", "ec2:DeleteTags",
    "ec2:DescribeTags",
    NULL,
};

const struct driver aws_eip_driver = {
    .type = "aws_eip",
    .provider = &aws_provider,
    .schema = eip_schema,
    .permissions = eip_permissions,
    .doc = "an Elastic IP address (VPC domain)",
    .create = eip_create,
    .find = eip_find,
    .read = eip_read,
    .update = eip_update,
    .delete = eip_delete,
};
