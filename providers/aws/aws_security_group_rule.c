/* aws_security_group_rule.c: one ingress or egress rule of a security group: a protocol, a port
 * range and its sources (IPv4 CIDRs, IPv6 CIDRs, or another group). Every attribute but tags
 * forces a new rule, as in the API. A rule is identified by its content: AWS refuses a
 * duplicate, so a create whose rule already exists (a cut-off run's, or a retry) adopts it, and
 * find looks the rule up by content in its group, not by tags. Its mesh:* tags say it is mesh's:
 * aws_security_group reports every rule of its group without them as drift (foreign_rules). */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

static const struct attr rule_schema[] = {
    {"security_group_id", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the group the rule belongs to"},
    {"type", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "ingress or egress"},
    {"protocol", T_STRING, ATTR_FORCE_NEW, "tcp, udp, icmp, or -1 for all (default -1)"},
    {"from_port", T_NUMBER, ATTR_FORCE_NEW, "first port (not with protocol -1)"},
    {"to_port", T_NUMBER, ATTR_FORCE_NEW, "last port (not with protocol -1)"},
    {"cidr_blocks", T_LIST, ATTR_FORCE_NEW, "IPv4 sources (ingress) or destinations (egress)"},
    {"ipv6_cidr_blocks", T_LIST, ATTR_FORCE_NEW, "IPv6 sources or destinations"},
    {"source_security_group_id", T_STRING, ATTR_FORCE_NEW, "another group as source or destination"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the rule IDs (sgr-...), comma-separated when it has several sources"},
    {NULL, 0, 0, NULL},
};

static const char *const rule_echo[] = {"protocol", "from_port", "to_port", "cidr_blocks", "ipv6_cidr_blocks",
                                        "source_security_group_id", "tags", NULL};

static int is_egress(const json_t *d) { return ec2_str(d, "type") && strcmp(ec2_str(d, "type"), "egress") == 0; }
static const char *proto(const json_t *d) { return ec2_str(d, "protocol") ? ec2_str(d, "protocol") : "-1"; }
static long port(const json_t *d, const char *k)
{
    json_t *v = json_object_get(d, k);
    return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static int in_list(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (json_is_string(v) && s && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* IpPermissions.1 of d. */
static void add_permission(struct aws_query *q, const json_t *d)
{
    aws_query_add(q, "IpPermissions.1.IpProtocol", proto(d));
    if (port(d, "from_port") >= 0 || strcmp(proto(d), "-1") != 0) {
        aws_query_addf(q, "IpPermissions.1.FromPort", "%ld", port(d, "from_port"));
        aws_query_addf(q, "IpPermissions.1.ToPort", "%ld", port(d, "to_port"));
    }
    size_t i;
    json_t *v;
    char k[96];
    json_array_foreach(json_object_get(d, "cidr_blocks"), i, v) {
        snprintf(k, sizeof(k), "IpPermissions.1.IpRanges.%zu.CidrIp", i + 1);
        aws_query_add(q, k, json_string_value(v) ? json_string_value(v) : "");
    }
    json_array_foreach(json_object_get(d, "ipv6_cidr_blocks"), i, v) {
        snprintf(k, sizeof(k), "IpPermissions.1.Ipv6Ranges.%zu.CidrIpv6", i + 1);
        aws_query_add(q, k, json_string_value(v) ? json_string_value(v) : "");
    }
    if (ec2_str(d, "source_security_group_id"))
        aws_query_add(q, "IpPermissions.1.Groups.1.GroupId", ec2_str(d, "source_security_group_id"));
}

/* The rules of the group matching d (its IDs, comma-joined, into ids); for read also the world's
 * view of them into cur. Returns how many matched, or < 0. */
struct rule_seen {
    json_t *cidrs, *cidrs6;
    char *source;
};

static int is_ours(xmlNodePtr it, const json_t *d, const json_t *ids, struct rule_seen *seen)
{
    char *eg = aws_xml_text(it, "isEgress"), *p = aws_xml_text(it, "ipProtocol");
    char *from = aws_xml_text(it, "fromPort"), *to = aws_xml_text(it, "toPort"), *rid = aws_xml_text(it, "securityGroupRuleId");
    char *c4 = aws_xml_text(it, "cidrIpv4"), *c6 = aws_xml_text(it, "cidrIpv6");
    char *grp = aws_xml_text(it, "referencedGroupInfo/groupId");
    int ok;
    if (ids) {
        ok = rid && in_list(ids, rid);
    } else {
        ok = eg && (strcmp(eg, "true") == 0) == is_egress(d) && p && strcmp(p, proto(d)) == 0 &&
             (from ? atol(from) : -1) == port(d, "from_port") && (to ? atol(to) : -1) == port(d, "to_port");
        ok = ok && ((c4 && in_list(json_object_get(d, "cidr_blocks"), c4)) ||
                    (c6 && in_list(json_object_get(d, "ipv6_cidr_blocks"), c6)) ||
                    (grp && ec2_str(d, "source_security_group_id") && strcmp(grp, ec2_str(d, "source_security_group_id")) == 0));
    }
    if (ok && seen) {
        if (c4 && *c4) json_array_append_new(seen->cidrs, json_string(c4));
        if (c6 && *c6) json_array_append_new(seen->cidrs6, json_string(c6));
        if (grp && *grp && !seen->source) seen->source = xstrdup(grp);
    }
    free(eg); free(p); free(from); free(to); free(rid); free(c4); free(c6); free(grp);
    return ok;
}

/* Outputs for the rules of the group that match d, or MESH_ENOTFOUND. A matching rule without
 * mesh's tags (AWS refused ours as its duplicate: someone made it first) is tagged here, so it
 * becomes this resource's and its group does not count it among its foreign_rules. */
static int match(struct call *c, const json_t *d, json_t **outputs)
{
    const char *group = ec2_str(d, "security_group_id");
    if (!group) return MESH_ENOTFOUND;
    xmlDocPtr doc = NULL;
    int rc = ec2_sg_rules(c, group, &doc);
    if (rc) return rc;
    struct strbuf ids = STRBUF_INIT;
    strbuf_init(&ids);
    for (xmlNodePtr it = ec2_first_item(doc, "securityGroupRuleSet"); it && !rc; it = aws_xml_next(it, "item"))
        if (is_ours(it, d, NULL, NULL)) {
            char *rid = aws_xml_text(it, "securityGroupRuleId");
            strbuf_addf(&ids, "%s%s", ids.len ? "," : "", rid ? rid : "");
            if (rid && !ec2_rule_by_mesh(it)) rc = ec2_tag_mesh(c, rid, json_object_get(d, "tags"));
            free(rid);
        }
    xmlFreeDoc(doc);
    if (rc || !ids.len) { strbuf_release(&ids); return rc ? rc : MESH_ENOTFOUND; }
    json_t *o = json_pack("{s:s, s:O, s:O}", "id", ids.buf, "security_group_id", json_object_get(d, "security_group_id"),
                          "type", json_object_get(d, "type"));
    ec2_echo(o, d, rule_echo);
    strbuf_release(&ids);
    *outputs = o;
    return 0;
}

static int rule_create(struct call *c, const json_t *desired, json_t **outputs)
{
    int n = (int)(json_array_size(json_object_get(desired, "cidr_blocks")) +
                  json_array_size(json_object_get(desired, "ipv6_cidr_blocks")) +
                  (ec2_str(desired, "source_security_group_id") ? 1 : 0));
    if (!n) return mesh_err_set(c->err, MESH_EINVAL, c->address, "a rule needs cidr_blocks, ipv6_cidr_blocks or "
                                "source_security_group_id");
    if (!ec2_str(desired, "type") || (strcmp(ec2_str(desired, "type"), "ingress") && !is_egress(desired)))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "type must be ingress or egress");
    struct aws_query q;
    ec2_query(&q, is_egress(desired) ? "AuthorizeSecurityGroupEgress" : "AuthorizeSecurityGroupIngress");
    aws_query_add(&q, "GroupId", ec2_str(desired, "security_group_id") ? ec2_str(desired, "security_group_id") : "");
    add_permission(&q, desired);
    ec2_tag_spec(c, &q, 1, "security-group-rule", json_object_get(desired, "tags"));
    struct ec2_res r;
    int rc = ec2_send(c, &q, NULL, &r);
    aws_query_release(&q);
    if (rc && strcmp(r.err.cause, "InvalidPermission.Duplicate") != 0) return ec2_fail(c, &r);
    rc = match(c, desired, outputs);
    if (rc == MESH_ENOTFOUND)
        return mesh_err_set(c->err, MESH_ERR, c->address, "the rule was authorized but is not listed in its group");
    return rc;
}

static int rule_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return match(c, desired, outputs);
}

static json_t *split_ids(const char *id)
{
    json_t *a = json_array();
    char *dup = xstrdup(id), *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) json_array_append_new(a, json_string(t));
    free(dup);
    return a;
}

static int rule_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    const char *group = ec2_str(outputs, "security_group_id");
    if (!id || !group) return MESH_ERR;
    xmlDocPtr doc = NULL;
    int rc = ec2_sg_rules(c, group, &doc);
    if (rc) return rc;
    json_t *ids = split_ids(id);
    struct rule_seen seen = {json_array(), json_array(), NULL};
    int found = 0;
    json_t *tags = NULL;
    for (xmlNodePtr it = ec2_first_item(doc, "securityGroupRuleSet"); it; it = aws_xml_next(it, "item"))
        if (is_ours(it, outputs, ids, &seen)) {
            if (!found) tags = ec2_tags(aws_xml_find(it, "tagSet"), 0);
            found++;
        }
    xmlFreeDoc(doc);
    json_decref(ids);
    if (!found) {
        json_decref(seen.cidrs);
        json_decref(seen.cidrs6);
        free(seen.source);
        return MESH_ENOTFOUND;
    }
    json_t *cur = json_deep_copy(outputs);
    ec2_observe(cur, outputs, "cidr_blocks", seen.cidrs, json_array_size(seen.cidrs) == 0);
    ec2_observe(cur, outputs, "ipv6_cidr_blocks", seen.cidrs6, json_array_size(seen.cidrs6) == 0);
    if (seen.source) json_object_set_new(cur, "source_security_group_id", json_string(seen.source));
    free(seen.source);
    ec2_observe(cur, outputs, "tags", tags, json_object_size(tags) == 0);
    *current = cur;
    return 0;
}

/* Terraform's import ID: SGID_TYPE_PROTOCOL_FROM_TO_SOURCE[_SOURCE...], a source being an IPv4
 * or IPv6 CIDR, a group ID or "self" ("sg-1_ingress_tcp_443_443_sg-2"): the rule as desired. */
static int parse_terraform(const char *id, json_t *d)
{
    json_t *parts = json_array();
    char *dup = xstrdup(id), *save = NULL;
    for (char *t = strtok_r(dup, "_", &save); t; t = strtok_r(NULL, "_", &save)) json_array_append_new(parts, json_string(t));
    free(dup);
    const char *part[5];
    for (size_t i = 0; i < 5; i++) part[i] = json_string_value(json_array_get(parts, i));
    char *end1 = NULL, *end2 = NULL;
    long from = part[3] ? strtol(part[3], &end1, 10) : 0, to = part[4] ? strtol(part[4], &end2, 10) : 0;
    int ok = json_array_size(parts) >= 6 && strncmp(part[0], "sg-", 3) == 0 &&
             (!strcmp(part[1], "ingress") || !strcmp(part[1], "egress")) && end1 && !*end1 && end2 && !*end2;
    if (ok) {
        static const char *const names[][2] = {{"all", "-1"}, {"6", "tcp"}, {"17", "udp"}, {"1", "icmp"}};
        const char *p = part[2];
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) if (!strcmp(p, names[i][0])) p = names[i][1];
        json_object_set_new(d, "security_group_id", json_string(part[0]));
        json_object_set_new(d, "type", json_string(part[1]));
        json_object_set_new(d, "protocol", json_string(p));
        if (strcmp(p, "-1") != 0) {  /* all protocols: no ports (Terraform writes 0_0) */
            json_object_set_new(d, "from_port", json_integer(from));
            json_object_set_new(d, "to_port", json_integer(to));
        }
    }
    for (size_t i = 5; ok && i < json_array_size(parts); i++) {
        const char *src = json_string_value(json_array_get(parts, i));
        if (!strcmp(src, "self")) src = part[0];
        if (!strncmp(src, "sg-", 3) && !json_object_get(d, "source_security_group_id"))
            json_object_set_new(d, "source_security_group_id", json_string(src));
        else if (strchr(src, '/')) {
            const char *k = strchr(src, ':') ? "ipv6_cidr_blocks" : "cidr_blocks";
            if (!json_object_get(d, k)) json_object_set_new(d, k, json_array());
            json_array_append_new(json_object_get(d, k), json_string(src));
        } else ok = 0;
    }
    json_decref(parts);
    return ok;
}

/* The rule IDs sgr-A[,sgr-B...] (mesh's own id): the rule they make up as desired. 0 (d filled),
 * MESH_ENOTFOUND when one is unknown, MESH_EINVAL when they are not one rule's sources. */
static int parse_rule_ids(struct call *c, const char *id, json_t *d)
{
    json_t *ids = split_ids(id);
    struct aws_query q;
    ec2_query(&q, "DescribeSecurityGroupRules");
    size_t i;
    json_t *v;
    char key[48];
    json_array_foreach(ids, i, v) {
        snprintf(key, sizeof(key), "SecurityGroupRuleId.%zu", i + 1);
        aws_query_add(&q, key, json_string_value(v));
    }
    xmlDocPtr doc = NULL;
    struct ec2_res r;
    int rc = ec2_send(c, &q, &doc, &r);
    aws_query_release(&q);
    if (rc) {
        json_decref(ids);
        return rc == MESH_ENOTFOUND ? rc : ec2_fail(c, &r);
    }
    size_t n = 0;
    for (xmlNodePtr it = ec2_first_item(doc, "securityGroupRuleSet"); it; it = aws_xml_next(it, "item"), n++) {
        char *f[5] = {aws_xml_text(it, "groupId"), aws_xml_text(it, "isEgress"), aws_xml_text(it, "ipProtocol"),
                      aws_xml_text(it, "fromPort"), aws_xml_text(it, "toPort")};
        json_t *one = json_pack("{s:s, s:s, s:s}", "security_group_id", f[0] ? f[0] : "", "type",
                                f[1] && !strcmp(f[1], "true") ? "egress" : "ingress", "protocol", f[2] ? f[2] : "-1");
        if (f[3] && atol(f[3]) >= 0) json_object_set_new(one, "from_port", json_integer(atol(f[3])));
        if (f[4] && atol(f[4]) >= 0) json_object_set_new(one, "to_port", json_integer(atol(f[4])));
        for (size_t k = 0; k < 5; k++) free(f[k]);
        const char *key;
        json_object_foreach(one, key, v) {
            if (n && !json_equal(v, json_object_get(d, key))) rc = MESH_EINVAL;
            json_object_set(d, key, v);
        }
        json_decref(one);
        struct rule_seen seen = {json_array(), json_array(), NULL};
        is_ours(it, d, ids, &seen);
        const char *lists[] = {"cidr_blocks", "ipv6_cidr_blocks"};
        json_t *got[] = {seen.cidrs, seen.cidrs6};
        for (size_t k = 0; k < 2; k++) {
            if (json_array_size(got[k]) && !json_object_get(d, lists[k])) json_object_set_new(d, lists[k], json_array());
            json_array_extend(json_object_get(d, lists[k]), got[k]);
            json_decref(got[k]);
        }
        if (seen.source) json_object_set_new(d, "source_security_group_id", json_string(seen.source));
        free(seen.source);
    }
    xmlFreeDoc(doc);
    if (!rc && n < json_array_size(ids)) rc = MESH_ENOTFOUND;  /* AWS says NotFound; some stand-ins list fewer */
    json_decref(ids);
    if (rc == MESH_EINVAL)
        mesh_err_set(c->err, rc, c->address, "import ID \"%s\": the rules differ in group, direction, protocol or "
                     "ports, so they are not one rule", id);
    return rc;
}

/* An imported rule gets mesh's tags at once: its group counts every rule without them as
 * foreign_rules and revokes it, which would cut the rule's traffic until its own update. */
static int tag_imported(struct call *c, const json_t *outputs, const json_t *desired)
{
    const char *id = json_string_value(json_object_get(outputs, "id"));
    if (!id) return 0;
    json_t *ids = split_ids(id);
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(ids, i, v)
        if (!rc) rc = ec2_tag_mesh(c, json_string_value(v), json_object_get(desired, "tags"));
    json_decref(ids);
    return rc;
}

static int rule_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    /* the ID names every attribute but tags, which read reports */
    json_t *d = json_object();
    int rc = 0;
    if (strncmp(id, "sgr-", 4) == 0) rc = parse_rule_ids(c, id, d);
    else if (!parse_terraform(id, d))
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address, "import ID \"%s\" is not of the form sgr-ID[,sgr-ID...] "
                          "or SGID_TYPE_PROTOCOL_FROM_TO_SOURCE (Terraform's: sg-1_ingress_tcp_443_443_sg-2, a source "
                          "being a CIDR, a group ID or self)", id);
    if (!rc) rc = match(c, d, outputs);
    if (!rc) rc = tag_imported(c, *outputs, desired);
    json_decref(d);
    return rc;
}

static int rule_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    (void)prior;
    json_t *ids = split_ids(id);
    size_t i;
    json_t *v;
    int rc = 0;
    json_array_foreach(ids, i, v) {
        if (!rc) rc = ec2_sync_tags(c, json_string_value(v), json_object_get(desired, "tags"));
    }
    json_decref(ids);
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, rule_echo);
    *new_outputs = o;
    return 0;
}

static int rule_delete(struct call *c, const json_t *outputs)
{
    struct aws_query q;
    ec2_query(&q, is_egress(outputs) ? "RevokeSecurityGroupEgress" : "RevokeSecurityGroupIngress");
    aws_query_add(&q, "GroupId", ec2_str(outputs, "security_group_id") ? ec2_str(outputs, "security_group_id") : "");
    add_permission(&q, outputs);
    struct ec2_res r;
    int rc = ec2_send(c, &q, NULL, &r);
    aws_query_release(&q);
    if (rc == 0 || rc == MESH_ENOTFOUND || strcmp(r.err.cause, "InvalidPermission.NotFound") == 0) return 0;
    return ec2_fail(c, &r);
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const security_group_rule_permissions[] = {
    "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSecurityGroupRules",
    "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:CreateTags", "ec2:DeleteTags",
    "ec2:DescribeTags",
    NULL,
};

const struct driver aws_security_group_rule_driver = {
    .type = "aws_security_group_rule",
    .provider = &aws_provider,
    .schema = rule_schema,
    .permissions = security_group_rule_permissions,
    .doc = "one ingress or egress rule of a security group",
    .create = rule_create,
    .find = rule_find,
    .import = rule_import,
    .read = rule_read,
    .update = rule_update,
    .delete = rule_delete,
};
