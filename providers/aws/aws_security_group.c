/* aws_security_group.c: a VPC security group. It starts with no rules: the allow-all egress AWS
 * adds to a new group is revoked at create, and every rule is an aws_security_group_rule (a
 * separate type, so two groups can allow each other without a cycle in the graph).
 * CreateSecurityGroup has no client token: find adopts by mesh tags. Delete waits while rules of
 * other groups or network interfaces still refer to it. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

static const struct attr sg_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "group name, unique in the VPC"},
    {"description", T_STRING, ATTR_FORCE_NEW, "description (default: Managed by mesh)"},
    {"vpc_id", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the VPC"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "sg-..."},
    {NULL, 0, 0, NULL},
};

static const char *const sg_echo[] = {"description", "tags", NULL};
#define SG_DEFAULT_DESC "Managed by mesh"
static const char *const sg_retry[] = {"DependencyViolation", NULL};
/* What keeps a group from going: network interfaces in it, other groups' rules naming it. */
static const struct ec2_blocker sg_blockers[] = {
    {"DescribeNetworkInterfaces", "group-id", "networkInterfaceSet", "networkInterfaceId", "description", NULL, 0},
    {"DescribeSecurityGroups", "ip-permission.group-id", "securityGroupInfo", "groupId", "groupName", NULL, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct ec2_type sg_type = {
    .describe = "DescribeSecurityGroups", .describe_id = "GroupId.1", .set_path = "securityGroupInfo",
    .remove = "DeleteSecurityGroup", .remove_id = "GroupId", .retry = sg_retry, .limit = 600,
    .blockers = sg_blockers, .echo = sg_echo,
};

static json_t *sg_outputs(const char *id, const json_t *desired)
{
    json_t *o = json_pack("{s:s}", "id", id);
    ec2_echo(o, desired, sg_echo);
    return o;
}

static int revoke_default(struct call *c, const char *id, const char *range, const char *key, const char *cidr)
{
    struct aws_query q;
    ec2_query(&q, "RevokeSecurityGroupEgress");
    aws_query_add(&q, "GroupId", id);
    aws_query_add(&q, "IpPermissions.1.IpProtocol", "-1");
    char k[96];
    snprintf(k, sizeof(k), "IpPermissions.1.%s.1.%s", range, key);
    aws_query_add(&q, k, cidr);
    struct ec2_res r;
    /* Only at create: the group is brand new (eventual consistency: see ec2_send_fresh). */
    int rc = ec2_send_fresh(c, &q, NULL, &r);
    aws_query_release(&q);
    if (rc == 0 || strcmp(r.err.cause, "InvalidPermission.NotFound") == 0) return 0;
    return ec2_fail(c, &r);
}

static int sg_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "CreateSecurityGroup");
    aws_query_add(&q, "GroupName", ec2_str(desired, "name") ? ec2_str(desired, "name") : "");
    aws_query_add(&q, "GroupDescription", ec2_str(desired, "description") ? ec2_str(desired, "description") : SG_DEFAULT_DESC);
    aws_query_add(&q, "VpcId", ec2_str(desired, "vpc_id") ? ec2_str(desired, "vpc_id") : "");
    ec2_tag_spec(c, &q, 1, "security-group", json_object_get(desired, "tags"));
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    char *id = aws_xml_text(xmlDocGetRootElement(doc), "groupId");
    xmlFreeDoc(doc);
    if (!id) return mesh_err_set(c->err, MESH_ERR, c->address, "CreateSecurityGroup: the reply holds no groupId");
    rc = revoke_default(c, id, "IpRanges", "CidrIp", "0.0.0.0/0");
    if (!rc) rc = revoke_default(c, id, "Ipv6Ranges", "CidrIpv6", "::/0");
    json_t *o = sg_outputs(id, desired);
    free(id);
    if (rc) return ec2_type_undo(&sg_type, c, o, rc);  /* leave nothing behind a failed create */
    *outputs = o;
    return 0;
}

/* find: the outputs of a group found by its tags. */
static json_t *sg_found(xmlNodePtr it, const json_t *desired)
{
    char *id = aws_xml_text(it, "groupId");
    json_t *o = sg_outputs(id ? id : "", desired);
    free(id);
    return o;
}

static int sg_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_type_find(&sg_type, c, sg_found, desired, outputs);
}

static int sg_fill(struct call *c, xmlNodePtr it, const json_t *outputs, json_t *cur)
{
    ec2_put_text(cur, "name", it, "groupName");
    ec2_put_text(cur, "vpc_id", it, "vpcId");
    char *desc = aws_xml_text(it, "groupDescription");
    if (desc) ec2_observe(cur, outputs, "description", json_string(desc), strcmp(desc, SG_DEFAULT_DESC) == 0);
    free(desc);
    return 0;
}

static int sg_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&sg_type, c, outputs, sg_fill, current);
}

static int sg_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                     json_t **new_outputs)
{
    return ec2_type_update_tags(&sg_type, c, outputs, prior, desired, new_outputs);
}

static int sg_delete(struct call *c, const json_t *outputs) { return ec2_type_delete(&sg_type, c, outputs); }

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const security_group_permissions[] = {
    "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress", "ec2:CreateTags", "ec2:DeleteTags",
    "ec2:DescribeTags",
    NULL,
};

const struct driver aws_security_group_driver = {
    .type = "aws_security_group",
    .provider = &aws_provider,
    .schema = sg_schema,
    .permissions = security_group_permissions,
    .doc = "a VPC security group (its rules are aws_security_group_rule resources)",
    .create = sg_create,
    .find = sg_find,
    .read = sg_read,
    .update = sg_update,
    .delete = sg_delete,
};
