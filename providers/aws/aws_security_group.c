/* aws_security_group.c: a VPC security group. It starts with no rules: the allow-all egress AWS
 * adds to a new group is revoked at create, and every rule is an aws_security_group_rule (a
 * separate type, so two groups can allow each other without a cycle in the graph).
 * CreateSecurityGroup has no client token: find adopts by mesh tags. Delete waits while rules of
 * other groups or network interfaces still refer to it.
 *
 * mesh owns the groups it makes: every rule in one is an aws_security_group_rule of the spec,
 * which tags the rules it authorizes (mesh:address, in the same call). A rule without those tags
 * (added by hand, by another tool, or AWS's allow-all egress left by a create cut off before it
 * was revoked) is drift: read reports it in foreign_rules, whose desired value is none, and
 * update revokes it. The group decides from AWS alone (a driver never sees the spec's rules), and
 * a rule of the spec is never foreign, even before its own create in the same apply: it does not
 * exist until then, and exists tagged from then on. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

static const struct attr sg_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "group name, unique in the VPC"},
    {"description", T_STRING, ATTR_FORCE_NEW, "description (default: Managed by mesh)"},
    {"vpc_id", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the VPC"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"foreign_rules", T_LIST, 0, "read only: the group's rules that no aws_security_group_rule of mesh made "
     "(\"ingress tcp 22 from 0.0.0.0/0 (sgr-...)\"); drift, revoked by apply (rollback does not restore them)"},
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

/* "ingress tcp 22 from 0.0.0.0/0 (sgr-1)": one rule of a DescribeSecurityGroupRules answer. */
static json_t *rule_text(xmlNodePtr it)
{
    static const char *const peers[] = {"cidrIpv4", "cidrIpv6", "referencedGroupInfo/groupId", "prefixListId", NULL};
    char *eg = aws_xml_text(it, "isEgress"), *p = aws_xml_text(it, "ipProtocol"), *from = aws_xml_text(it, "fromPort");
    char *to = aws_xml_text(it, "toPort"), *id = aws_xml_text(it, "securityGroupRuleId"), *note = aws_xml_text(it, "description");
    char *peer = NULL;
    for (size_t i = 0; peers[i] && !peer; i++) peer = aws_xml_text(it, peers[i]);
    int egress = eg && strcmp(eg, "true") == 0, all = !p || strcmp(p, "-1") == 0;
    char ports[48] = "";
    if (!all && from && to && strcmp(from, "-1") != 0)
        snprintf(ports, sizeof(ports), strcmp(from, to) == 0 ? " %s" : " %s-%s", from, to);
    struct strbuf b = STRBUF_INIT;
    strbuf_init(&b);
    strbuf_addf(&b, "%s %s%s %s %s", egress ? "egress" : "ingress", all ? "all" : p, ports, egress ? "to" : "from",
                peer ? peer : "?");
    if (note && *note) strbuf_addf(&b, " \"%s\"", note);
    strbuf_addf(&b, " (%s)", id ? id : "?");
    json_t *v = json_string(b.buf);
    strbuf_release(&b);
    free(eg); free(p); free(from); free(to); free(id); free(note); free(peer);
    return v;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* The rules of group id that mesh did not make: their texts into *texts (sorted) and, when
 * wanted, their IDs by direction into ids_in / ids_eg. */
static int foreign(struct call *c, const char *id, json_t **texts, json_t *ids_in, json_t *ids_eg)
{
    xmlDocPtr doc = NULL;
    int rc = ec2_sg_rules(c, id, &doc);
    if (rc) return rc;
    json_t *found = json_array();
    for (xmlNodePtr it = ec2_first_item(doc, "securityGroupRuleSet"); it; it = aws_xml_next(it, "item")) {
        if (ec2_rule_by_mesh(it)) continue;
        json_array_append_new(found, rule_text(it));
        char *rid = aws_xml_text(it, "securityGroupRuleId"), *eg = aws_xml_text(it, "isEgress");
        json_t *ids = eg && strcmp(eg, "true") == 0 ? ids_eg : ids_in;
        if (rid && ids) json_array_append_new(ids, json_string(rid));
        free(rid);
        free(eg);
    }
    xmlFreeDoc(doc);
    size_t n = json_array_size(found);
    json_t **items = xcalloc(n + 1, sizeof(*items));
    for (size_t i = 0; i < n; i++) items[i] = json_incref(json_array_get(found, i));
    qsort(items, n, sizeof(*items), by_text);
    json_array_clear(found);
    for (size_t i = 0; i < n; i++) json_array_append_new(found, items[i]);
    free(items);
    *texts = found;
    return 0;
}

static int sg_fill(struct call *c, xmlNodePtr it, const json_t *outputs, json_t *cur)
{
    ec2_put_text(cur, "name", it, "groupName");
    ec2_put_text(cur, "vpc_id", it, "vpcId");
    char *desc = aws_xml_text(it, "groupDescription");
    if (desc) ec2_observe(cur, outputs, "description", json_string(desc), strcmp(desc, SG_DEFAULT_DESC) == 0);
    free(desc);
    json_t *texts = NULL;
    int rc = foreign(c, ec2_str(outputs, "id"), &texts, NULL, NULL);
    if (rc) return rc;
    ec2_observe(cur, outputs, "foreign_rules", texts, json_array_size(texts) == 0);
    return 0;
}

static int sg_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&sg_type, c, outputs, sg_fill, current);
}

/* One call per rule: a rule gone meanwhile (fine) fails its call alone, not the others'. */
static int revoke_ids(struct call *c, const char *id, const char *action, const json_t *ids)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        struct aws_query q;
        ec2_query(&q, action);
        aws_query_add(&q, "GroupId", id);
        aws_query_add(&q, "SecurityGroupRuleId.1", json_string_value(v));
        struct ec2_res r;
        int rc = ec2_send(c, &q, NULL, &r);
        aws_query_release(&q);
        if (rc && strcmp(r.err.cause, "InvalidPermission.NotFound") != 0 &&
            strcmp(r.err.cause, "InvalidSecurityGroupRuleId.NotFound") != 0)
            return ec2_fail(c, &r);
    }
    return 0;
}

/* The foreign rules are those of now, not of the plan: whatever mesh did not make goes. */
static int sg_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                     json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    json_t *texts = NULL, *in = json_array(), *eg = json_array();
    int rc = foreign(c, id, &texts, in, eg);
    if (rc == MESH_ENOTFOUND) rc = mesh_err_set(c->err, rc, c->address, "the group %s is gone", id);
    if (!rc && json_array_size(texts) && c->progress)
        c->progress(c->progress_ctx, c->address, "revoking %zu rule(s) mesh did not make", json_array_size(texts));
    if (!rc) rc = revoke_ids(c, id, "RevokeSecurityGroupIngress", in);
    if (!rc) rc = revoke_ids(c, id, "RevokeSecurityGroupEgress", eg);
    json_decref(texts);
    json_decref(in);
    json_decref(eg);
    return rc ? rc : ec2_type_update_tags(&sg_type, c, outputs, prior, desired, new_outputs);
}

/* foreign_rules is what read finds; a value in the spec could only hide drift. */
static int sg_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    if (!json_object_get(desired, "foreign_rules")) return 0;
    report(ctx, "foreign_rules", "is what mesh reads from AWS (the group's rules it did not make) and cannot be set");
    return 1;
}

static int sg_delete(struct call *c, const json_t *outputs) { return ec2_type_delete(&sg_type, c, outputs); }

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const security_group_permissions[] = {
    "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:RevokeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress", "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags",
    NULL,
};

const struct driver aws_security_group_driver = {
    .type = "aws_security_group",
    .provider = &aws_provider,
    .schema = sg_schema,
    .flags = DRIVER_CHECK_IN_SPEC,
    .permissions = security_group_permissions,
    .doc = "a VPC security group (its rules are aws_security_group_rule resources; any other rule in it is drift)",
    .create = sg_create,
    .find = sg_find,
    .read = sg_read,
    .update = sg_update,
    .delete = sg_delete,
    .check = sg_check,
};
