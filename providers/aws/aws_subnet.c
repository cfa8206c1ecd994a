/* aws_subnet.c: a subnet in one AZ, with an IPv6 /64 carved from its VPC's /56 by index, and the
 * attributes EKS and dual-stack need (DNS64, IPv6 on creation, public IPs on launch).
 * CreateSubnet has no client token: find adopts by mesh tags. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

static const struct attr subnet_schema[] = {
    {"vpc_id", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the VPC (vpc-...)"},
    {"cidr_block", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the IPv4 CIDR block"},
    {"az_index", T_NUMBER, ATTR_FORCE_NEW, "the region's N-th available AZ (0-based, by name)"},
    {"availability_zone", T_STRING, ATTR_FORCE_NEW, "the AZ by name (wins over az_index)"},
    {"ipv6_index", T_NUMBER, ATTR_FORCE_NEW, "the /64 at this index (0-255) of the VPC's IPv6 /56; unset: IPv4 only"},
    {"assign_ipv6_address_on_creation", T_BOOL, 0, "give new interfaces an IPv6 address (default false)"},
    {"map_public_ip_on_launch", T_BOOL, 0, "give new instances a public IPv4 address (default false)"},
    {"enable_dns64", T_BOOL, 0, "DNS64 for IPv6-only workloads (default false)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "subnet-..."},
    {"ipv6_cidr_block", T_STRING, ATTR_COMPUTED, "the subnet's IPv6 /64"},
    {"zone", T_STRING, ATTR_COMPUTED, "the AZ it is in (us-west-2a)"},
    {NULL, 0, 0, NULL},
};

static const char *const subnet_echo[] = {"az_index", "availability_zone", "ipv6_index", "assign_ipv6_address_on_creation",
                                          "map_public_ip_on_launch", "enable_dns64", "tags", NULL};
static const char *const subnet_retry[] = {"DependencyViolation", NULL};
/* What keeps a subnet from going: network interfaces in it (instances, load balancers, EKS). */
static const struct ec2_blocker subnet_blockers[] = {
    {"DescribeNetworkInterfaces", "subnet-id", "networkInterfaceSet", "networkInterfaceId", "description", NULL, 0},
    {NULL, NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct ec2_type subnet_type = {
    .describe = "DescribeSubnets", .describe_id = "SubnetId.1", .set_path = "subnetSet",
    .remove = "DeleteSubnet", .remove_id = "SubnetId", .retry = subnet_retry, .limit = 600,
    .blockers = subnet_blockers, .echo = subnet_echo,
};

static const struct {
    const char *attr, *param;
} flags[] = {
    {"assign_ipv6_address_on_creation", "AssignIpv6AddressOnCreation.Value"},
    {"map_public_ip_on_launch", "MapPublicIpOnLaunch.Value"},
    {"enable_dns64", "EnableDns64.Value"},
};

/* fresh: the subnet was created in this call (eventual consistency: see ec2_send_fresh). */
static int set_flag(struct call *c, const char *id, const char *param, int on, int fresh)
{
    struct aws_query q;
    ec2_query(&q, "ModifySubnetAttribute");
    aws_query_add(&q, "SubnetId", id);
    aws_query_add(&q, param, on ? "true" : "false");
    int rc = fresh ? ec2_do_fresh(c, &q, NULL) : ec2_do(c, &q, NULL);
    aws_query_release(&q);
    return rc;
}

/* The /64 at index of the /56 block (written into out). */
static int carve64(const char *block56, int index, char *out, size_t n)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(block56, "/"), block56);
    unsigned char b[16];
    if (inet_pton(AF_INET6, addr, b) != 1 || index < 0 || index > 255) return -1;
    memset(b + 8, 0, 8);
    b[7] = (unsigned char)index;
    char txt[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, b, txt, sizeof(txt));
    snprintf(out, n, "%s/64", txt);
    return 0;
}

static int index_of64(const char *block64)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(block64, "/"), block64);
    unsigned char b[16];
    return inet_pton(AF_INET6, addr, b) == 1 ? b[7] : -1;
}

static int vpc_ipv6(struct call *c, const char *vpc_id, char *out, size_t n)
{
    struct aws_query q;
    ec2_query(&q, "DescribeVpcs");
    aws_query_add(&q, "VpcId.1", vpc_id);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    char *v6 = NULL;
    xmlNodePtr set = aws_xml_find(ec2_first_item(doc, "vpcSet"), "ipv6CidrBlockAssociationSet");
    for (xmlNodePtr it = aws_xml_first(set, "item"); it && !v6; it = aws_xml_next(it, "item")) v6 = aws_xml_text(it, "ipv6CidrBlock");
    xmlFreeDoc(doc);
    if (!v6) return mesh_err_set(c->err, MESH_EINVAL, c->address, "ipv6_index is set but the VPC %s has no IPv6 block", vpc_id);
    snprintf(out, n, "%s", v6);
    free(v6);
    return 0;
}

static char *subnet_v6(xmlNodePtr item)
{
    xmlNodePtr set = aws_xml_find(item, "ipv6CidrBlockAssociationSet");
    return set ? aws_xml_text(aws_xml_first(set, "item"), "ipv6CidrBlock") : NULL;
}

static json_t *subnet_outputs(xmlNodePtr item, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", item, "subnetId");
    ec2_put_text(o, "zone", item, "availabilityZone");
    char *v6 = subnet_v6(item);
    if (v6 && *v6) json_object_set_new(o, "ipv6_cidr_block", json_string(v6));
    free(v6);
    ec2_echo(o, desired, subnet_echo);
    return o;
}

static int subnet_create(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *vpc = ec2_str(desired, "vpc_id");
    char az[64] = "", v6[80] = "";
    int rc = 0;
    if (ec2_str(desired, "availability_zone")) snprintf(az, sizeof(az), "%s", ec2_str(desired, "availability_zone"));
    else if (json_is_integer(json_object_get(desired, "az_index")))
        rc = ec2_az_name(c, (int)json_integer_value(json_object_get(desired, "az_index")), az, sizeof(az));
    json_t *idx = json_object_get(desired, "ipv6_index");
    if (!rc && json_is_integer(idx)) {
        char block[80];
        rc = vpc_ipv6(c, vpc ? vpc : "", block, sizeof(block));
        if (!rc && carve64(block, (int)json_integer_value(idx), v6, sizeof(v6)) < 0)
            rc = mesh_err_set(c->err, MESH_EINVAL, c->address, "ipv6_index %lld: needs 0..255 and a VPC /56 (%s)",
                              (long long)json_integer_value(idx), block);
    }
    if (rc) return rc;
    struct aws_query q;
    ec2_query(&q, "CreateSubnet");
    aws_query_add(&q, "VpcId", vpc ? vpc : "");
    aws_query_add(&q, "CidrBlock", ec2_str(desired, "cidr_block") ? ec2_str(desired, "cidr_block") : "");
    if (az[0]) aws_query_add(&q, "AvailabilityZone", az);
    if (v6[0]) aws_query_add(&q, "Ipv6CidrBlock", v6);
    ec2_tag_spec(c, &q, 1, "subnet", json_object_get(desired, "tags"));
    json_t *o = NULL;
    rc = ec2_create_one(c, &q, "subnet", subnet_outputs, desired, "subnetId", &o);
    if (rc) return rc;
    const char *id = ec2_str(o, "id");
    for (size_t i = 0; !rc && i < sizeof(flags) / sizeof(flags[0]); i++)
        if (ec2_bool(desired, flags[i].attr, 0)) rc = set_flag(c, id, flags[i].param, 1, 1);
    if (rc) return ec2_type_undo(&subnet_type, c, o, rc);  /* leave nothing behind a failed create */
    *outputs = o;
    return 0;
}

static int subnet_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_type_find(&subnet_type, c, subnet_outputs, desired, outputs);
}

static int subnet_fill(struct call *c, xmlNodePtr it, const json_t *outputs, json_t *cur)
{
    ec2_put_text(cur, "vpc_id", it, "vpcId");
    ec2_put_text(cur, "cidr_block", it, "cidrBlock");
    char *zone = aws_xml_text(it, "availabilityZone");
    if (zone) {
        ec2_observe(cur, outputs, "availability_zone", json_string(zone), 1);
        if (json_object_get(outputs, "az_index")) {
            int k = ec2_az_index(c, zone);
            json_object_set_new(cur, "az_index", k >= 0 ? json_integer(k) : json_string(zone));
        }
    }
    free(zone);
    char *v6 = subnet_v6(it);
    int k6 = v6 && *v6 ? index_of64(v6) : -1;
    ec2_observe(cur, outputs, "ipv6_index", k6 >= 0 ? json_integer(k6) : json_null(), k6 < 0);
    free(v6);
    static const char *const fields[] = {"assignIpv6AddressOnCreation", "mapPublicIpOnLaunch", "enableDns64"};
    for (size_t i = 0; i < 3; i++) {
        char *v = aws_xml_text(it, fields[i]);
        int on = v && strcmp(v, "true") == 0;
        ec2_observe(cur, outputs, flags[i].attr, json_boolean(on), !on);
        free(v);
    }
    return 0;
}

static int subnet_read(struct call *c, const json_t *outputs, json_t **current)
{
    return ec2_type_read(&subnet_type, c, outputs, subnet_fill, current);
}

static int subnet_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                         json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    (void)prior;
    int rc = 0;
    /* Every flag as desired: the world may have drifted from what mesh applied. */
    for (size_t i = 0; !rc && i < sizeof(flags) / sizeof(flags[0]); i++)
        rc = set_flag(c, id, flags[i].param, ec2_bool(desired, flags[i].attr, 0), 0);
    return rc ? rc : ec2_update_tags(c, outputs, desired, subnet_echo, new_outputs);
}

static int subnet_delete(struct call *c, const json_t *outputs) { return ec2_type_delete(&subnet_type, c, outputs); }

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const subnet_permissions[] = {
    "ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:DescribeAvailabilityZones", "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:ModifySubnetAttribute", "ec2:CreateTags", "ec2:DeleteTags",
    "ec2:DescribeTags",
    NULL,
};

const struct driver aws_subnet_driver = {
    .type = "aws_subnet",
    .provider = &aws_provider,
    .schema = subnet_schema,
    .permissions = subnet_permissions,
    .doc = "a subnet in one AZ, optionally with an IPv6 /64 of its VPC's /56",
    .create = subnet_create,
    .find = subnet_find,
    .read = subnet_read,
    .update = subnet_update,
    .delete = subnet_delete,
};
