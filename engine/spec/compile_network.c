/* compile_network.c: the `network:` section (with `mesh:` for tags and `clusters:` for the
 * cross-cluster security groups) → the resources of the reference's 0.vpc (docs/aws.md):
 *   aws_vpc.main, aws_subnet.{private,public}_{a,b,c...}, aws_internet_gateway.main,
 *   aws_egress_only_internet_gateway.main (ipv6), aws_eip.nat + aws_nat_gateway.nat (nat: single;
 *   per_az: .nat_a, .nat_b ...), aws_route_table.public and .private (per_az: .private_a ...),
 *   and per cluster aws_security_group.<cluster> with aws_security_group_rule.<cluster>.* rules
 *   (ingress from every other cluster's group, all egress over IPv4 and IPv6). Every subnet is
 *   tagged kubernetes.io/cluster/<cluster>=shared for each cluster mesh makes (compile_clusters.c
 *   puts the clusters in the private ones and adds the rules that involve EKS's own groups).
 * `network: {existing: {vpc_id, subnet_ids}}` makes only the security groups, in that VPC.
 * Every attribute is written out; edges come from ${...} references (and depends_on for the
 * gateway-before-NAT ordering AWS needs), positioned at the network: key. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "spec/spec_int.h"
#include "base/xalloc.h"

struct nw {
    struct spec *s;
    const struct spec_ctx *c;
    const struct node *at;      /* where every resource and edge points */
    const char *name;           /* mesh.name */
    const struct node *tags;    /* mesh.tags */
    int ipv6, azs;
    const char *nat;
    json_t *cluster_tags;       /* kubernetes.io/cluster/<C>: shared, per cluster mesh makes */
};

static void dep_add(struct spec_resource *r, const char *address, const char *output, const struct node *at)
{
    spec_add_dep(r, address, output, at->line, at->col);
}

/* A new resource at address, tagged Name = mesh name + suffix (plus extra tags). */
static struct spec_resource *res_new(struct nw *n, const char *address, const char *name_suffix, const json_t *extra)
{
    struct spec_resource *r = spec_resource_new(address, n->at, "network");
    json_t *tags = json_object();  /* tag values are text, as YAML wrote them (1 is "1") */
    for (size_t i = 0; n->tags && n->tags->kind == NODE_MAP && i < n->tags->n; i++)
        if (n->tags->pairs[i].value->kind == NODE_SCALAR)
            json_object_set_new(tags, n->tags->pairs[i].key->scalar, json_string(n->tags->pairs[i].value->scalar));
    if (extra) json_object_update(tags, (json_t *)extra);
    char nm[1100];
    snprintf(nm, sizeof(nm), "%.500s%s%.500s", n->name, *name_suffix ? "-" : "", name_suffix);
    json_object_set_new(tags, "Name", json_string(nm));
    json_object_set_new(r->attrs, "tags", tags);
    return r;
}

static void res_add(struct nw *n, struct spec_resource *r) { spec_add_resource(n->s, r, n->c); }

/* "${address.output}", recorded as an edge of r. */
static json_t *ref(struct nw *n, struct spec_resource *r, const char *address, const char *output)
{
    dep_add(r, address, output, n->at);
    char buf[1100];
    snprintf(buf, sizeof(buf), "${%.500s.%.500s}", address, output);
    return json_string(buf);
}

static void set(struct spec_resource *r, const char *k, json_t *v) { json_object_set_new(r->attrs, k, v); }

/* ---- the VPC and subnets ---- */

static const struct node *key_node(const struct node *m, const char *name)
{
    for (size_t i = 0; m && m->kind == NODE_MAP && i < m->n; i++)
        if (strcmp(m->pairs[i].key->scalar, name) == 0) return m->pairs[i].key;
    return NULL;
}

/* The subnets of one kind: given, or derived from a /16 like the reference (private /20s at
 * x.y.0, .16, .32; public /24s right after). NULL on error (reported). */
static json_t *subnet_list(struct nw *n, const struct node *sec, const char *key, const char *cidr, int private)
{
    const struct node *v = node_get(sec, key);
    json_t *out = json_array();
    if (v && v->kind == NODE_SEQ) {
        if ((int)v->n > n->azs) {
            diag_error(n->c->dl, n->c->file, v->line, v->col, "`network.%s` has %zu subnets for %d AZs: one per AZ at most",
                       key, v->n, n->azs);
            json_decref(out);
            return NULL;
        }
        for (size_t i = 0; i < v->n; i++)
            if (v->items[i]->kind == NODE_SCALAR) json_array_append_new(out, json_string(v->items[i]->scalar));
        return out;
    }
    unsigned char b[4];
    char addr[32];
    snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(cidr, "/"), cidr);
    const char *slash = strchr(cidr, '/');
    if (inet_pton(AF_INET, addr, b) != 1 || !slash || atoi(slash + 1) > 32)
        return out;  /* an invalid CIDR: the schema check already said so; derived subnets would only echo it */
    if (atoi(slash + 1) != 16 || 17 * n->azs > 256) {
        const struct node *at = key_node(sec, "cidr") ? key_node(sec, "cidr") : n->at;
        diag_error(n->c->dl, n->c->file, at->line, at->col,
                   "`network.%s` is needed: subnets are derived only from a /16 with at most 15 AZs (here %s, %d AZs)",
                   key, cidr, n->azs);
        json_decref(out);
        return NULL;
    }
    for (int i = 0; i < n->azs; i++) {
        char s[40];
        if (private) snprintf(s, sizeof(s), "%u.%u.%d.0/20", b[0], b[1], 16 * i);
        else snprintf(s, sizeof(s), "%u.%u.%d.0/24", b[0], b[1], 16 * n->azs + i);
        json_array_append_new(out, json_string(s));
    }
    return out;
}

static void subnets(struct nw *n, const json_t *cidrs, int private, json_t *ids)
{
    size_t i;
    json_t *v;
    json_array_foreach(cidrs, i, v) {
        char addr[64], nm[64];
        char az = (char)('a' + (int)(i % 26));
        snprintf(addr, sizeof(addr), "aws_subnet.%s_%c", private ? "private" : "public", az);
        snprintf(nm, sizeof(nm), "%s-%c", private ? "private" : "public", az);
        json_t *extra = json_pack("{s:s}", private ? "kubernetes.io/role/internal-elb" : "kubernetes.io/role/elb", "1");
        json_object_update(extra, n->cluster_tags);
        struct spec_resource *r = res_new(n, addr, nm, extra);
        json_decref(extra);
        set(r, "vpc_id", ref(n, r, "aws_vpc.main", "id"));
        set(r, "cidr_block", json_copy(v));
        set(r, "az_index", json_integer((json_int_t)i));
        set(r, "map_public_ip_on_launch", json_boolean(!private));
        if (n->ipv6) {
            /* The reference's layout: public /64s at indexes 0..N-1, private at N..2N-1. */
            set(r, "ipv6_index", json_integer((json_int_t)(private ? (size_t)n->azs + i : i)));
            set(r, "assign_ipv6_address_on_creation", json_true());
            set(r, "enable_dns64", json_true());
        } else {
            set(r, "assign_ipv6_address_on_creation", json_false());
            set(r, "enable_dns64", json_false());
        }
        char idref[160];
        snprintf(idref, sizeof(idref), "${%s.id}", addr);
        json_array_append_new(ids, json_string(idref));
        res_add(n, r);
    }
}

static json_t *route(const char *dst, const char *kind, json_t *target)
{
    json_t *r = json_pack("{s:s}", "destination", dst);
    json_object_set_new(r, kind, target);
    return r;
}

/* subnet_ids of a route table: the "${aws_subnet.X.id}" strings, each an edge. */
static json_t *subnet_refs(struct nw *n, struct spec_resource *r, const json_t *ids, size_t from, size_t count)
{
    json_t *a = json_array();
    for (size_t i = from; i < from + count && i < json_array_size(ids); i++) {
        const char *s = json_string_value(json_array_get(ids, i));
        char addr[160];
        snprintf(addr, sizeof(addr), "%.*s", (int)(strlen(s) - 6), s + 2);  /* ${ADDR.id} */
        json_array_append_new(a, ref(n, r, addr, "id"));
    }
    return a;
}

static void gateways_and_routes(struct nw *n, const json_t *public_ids, const json_t *private_ids)
{
    struct spec_resource *r = res_new(n, "aws_internet_gateway.main", "igw", NULL);
    set(r, "vpc_id", ref(n, r, "aws_vpc.main", "id"));
    res_add(n, r);
    if (n->ipv6) {
        r = res_new(n, "aws_egress_only_internet_gateway.main", "eigw", NULL);
        set(r, "vpc_id", ref(n, r, "aws_vpc.main", "id"));
        res_add(n, r);
    }
    /* NAT gateways: one in the first public subnet, or one per AZ. */
    int nnat = strcmp(n->nat, "none") == 0 ? 0 : strcmp(n->nat, "per_az") == 0 ? (int)json_array_size(public_ids) : 1;
    if ((int)json_array_size(public_ids) == 0) nnat = 0;
    char nat_addr[8][64];
    if (nnat > 8) nnat = 8;
    for (int i = 0; i < nnat; i++) {
        char sfx[8] = "";
        if (nnat > 1 || strcmp(n->nat, "per_az") == 0) snprintf(sfx, sizeof(sfx), "_%c", 'a' + i);
        char eip[64], nm[64];
        snprintf(eip, sizeof(eip), "aws_eip.nat%s", sfx);
        snprintf(nat_addr[i], sizeof(nat_addr[i]), "aws_nat_gateway.nat%s", sfx);
        snprintf(nm, sizeof(nm), "nat%s%s", sfx[0] ? "-" : "", sfx[0] ? sfx + 1 : "");
        r = res_new(n, eip, nm, NULL);
        set(r, "domain", json_string("vpc"));
        dep_add(r, "aws_internet_gateway.main", NULL, n->at);  /* an EIP may need the gateway */
        res_add(n, r);
        r = res_new(n, nat_addr[i], nm, NULL);
        const char *sn = json_string_value(json_array_get(public_ids, (size_t)i));
        char snaddr[160];
        snprintf(snaddr, sizeof(snaddr), "%.*s", (int)(strlen(sn) - 6), sn + 2);
        set(r, "subnet_id", ref(n, r, snaddr, "id"));
        set(r, "allocation_id", ref(n, r, eip, "id"));
        dep_add(r, "aws_internet_gateway.main", NULL, n->at);  /* a public NAT needs the gateway attached */
        res_add(n, r);
    }
    /* The public table: IPv4 and IPv6 through the internet gateway. */
    r = res_new(n, "aws_route_table.public", "public", NULL);
    set(r, "vpc_id", ref(n, r, "aws_vpc.main", "id"));
    json_t *routes = json_array();
    json_array_append_new(routes, route("0.0.0.0/0", "gateway_id", ref(n, r, "aws_internet_gateway.main", "id")));
    if (n->ipv6) json_array_append_new(routes, route("::/0", "gateway_id", ref(n, r, "aws_internet_gateway.main", "id")));
    set(r, "routes", routes);
    set(r, "subnet_ids", subnet_refs(n, r, public_ids, 0, json_array_size(public_ids)));
    res_add(n, r);
    /* Private tables: IPv4 through NAT, IPv6 through the egress-only gateway, DNS64's
     * 64:ff9b::/96 through NAT. One table, or one per AZ with per_az NAT. */
    int ntables = nnat > 1 ? (int)json_array_size(private_ids) : 1;
    if (json_array_size(private_ids) == 0) ntables = 0;
    for (int t = 0; t < ntables; t++) {
        char addr[64], nm[32];
        if (ntables > 1) {
            snprintf(addr, sizeof(addr), "aws_route_table.private_%c", 'a' + t);
            snprintf(nm, sizeof(nm), "private-%c", 'a' + t);
        } else {
            snprintf(addr, sizeof(addr), "aws_route_table.private");
            snprintf(nm, sizeof(nm), "private");
        }
        r = res_new(n, addr, nm, NULL);
        set(r, "vpc_id", ref(n, r, "aws_vpc.main", "id"));
        routes = json_array();
        const char *nat = nnat ? nat_addr[nnat > 1 ? t % nnat : 0] : NULL;
        if (nat) json_array_append_new(routes, route("0.0.0.0/0", "nat_gateway_id", ref(n, r, nat, "id")));
        if (n->ipv6 && nat) json_array_append_new(routes, route("64:ff9b::/96", "nat_gateway_id", ref(n, r, nat, "id")));
        if (n->ipv6)
            json_array_append_new(routes, route("::/0", "egress_only_gateway_id",
                                                ref(n, r, "aws_egress_only_internet_gateway.main", "id")));
        set(r, "routes", routes);
        set(r, "subnet_ids", ntables > 1 ? subnet_refs(n, r, private_ids, (size_t)t, 1)
                                         : subnet_refs(n, r, private_ids, 0, json_array_size(private_ids)));
        res_add(n, r);
    }
}

/* ---- cross-cluster security groups ---- */

static void rule(struct nw *n, const char *cluster, const char *name, const char *type, const char *kind, json_t *value)
{
    char addr[300], gaddr[200];
    snprintf(addr, sizeof(addr), "aws_security_group_rule.%s.%s", cluster, name);
    snprintf(gaddr, sizeof(gaddr), "aws_security_group.%s", cluster);
    char nm[300];
    snprintf(nm, sizeof(nm), "%s-%s", cluster, name);
    struct spec_resource *r = res_new(n, addr, nm, NULL);
    set(r, "security_group_id", ref(n, r, gaddr, "id"));
    set(r, "type", json_string(type));
    set(r, "protocol", json_string("-1"));
    if (strcmp(kind, "source_security_group_id") == 0) {
        char other[200];
        snprintf(other, sizeof(other), "aws_security_group.%s", json_string_value(value));
        json_decref(value);
        value = ref(n, r, other, "id");
    }
    set(r, kind, value);
    res_add(n, r);
}

static void security_groups(struct nw *n, const struct node *clusters, json_t *vpc_id_literal)
{
    if (!clusters || clusters->kind != NODE_MAP) return;
    for (size_t i = 0; i < clusters->n; i++) {
        const char *cl = clusters->pairs[i].key->scalar;
        if (node_get(clusters->pairs[i].value, "existing")) continue;
        char addr[200], nm[200], desc[300];
        snprintf(addr, sizeof(addr), "aws_security_group.%s", cl);
        snprintf(nm, sizeof(nm), "%s-cross-cluster", cl);
        struct spec_resource *r = res_new(n, addr, nm, NULL);
        char gname[300];
        snprintf(gname, sizeof(gname), "%s-%s-cross-cluster", n->name, cl);
        set(r, "name", json_string(gname));
        snprintf(desc, sizeof(desc), "mesh %s: traffic between %s and the other clusters", n->name, cl);
        set(r, "description", json_string(desc));
        set(r, "vpc_id", vpc_id_literal ? json_copy(vpc_id_literal) : ref(n, r, "aws_vpc.main", "id"));
        res_add(n, r);
        for (size_t j = 0; j < clusters->n; j++) {
            const char *other = clusters->pairs[j].key->scalar;
            if (j == i || node_get(clusters->pairs[j].value, "existing")) continue;
            char rn[200];
            snprintf(rn, sizeof(rn), "from_%s", other);
            rule(n, cl, rn, "ingress", "source_security_group_id", json_string(other));
        }
        rule(n, cl, "egress_ipv4", "egress", "cidr_blocks", json_pack("[s]", "0.0.0.0/0"));
        if (n->ipv6) rule(n, cl, "egress_ipv6", "egress", "ipv6_cidr_blocks", json_pack("[s]", "::/0"));
    }
}

/* Every subnet is shared by every cluster mesh makes, so either cluster's load balancer
 * controller finds them. */
static json_t *cluster_subnet_tags(const struct node *clusters)
{
    json_t *t = json_object();
    for (size_t i = 0; clusters && clusters->kind == NODE_MAP && i < clusters->n; i++) {
        if (node_get(clusters->pairs[i].value, "existing")) continue;
        char k[300];
        snprintf(k, sizeof(k), "kubernetes.io/cluster/%s", clusters->pairs[i].key->scalar);
        json_object_set_new(t, k, json_string("shared"));
    }
    return t;
}

void compile_network(struct spec *s, const struct node *section, const struct spec_ctx *c)
{
    const struct node *mesh = node_get(s->root, "mesh");
    const struct node *name = node_get(mesh, "name");
    struct nw n = {.s = s, .c = c, .at = section, .name = name && name->kind == NODE_SCALAR ? name->scalar : "mesh",
                   .tags = node_get(mesh, "tags"), .ipv6 = 1, .azs = 3, .nat = "single"};
    const struct node *clusters = node_get(s->root, "clusters");
    const struct node *existing = node_get(section, "existing");
    if (existing) {
        const struct node *vpc = node_get(existing, "vpc_id");
        json_t *lit = vpc && vpc->kind == NODE_SCALAR ? json_string(vpc->scalar) : NULL;
        if (lit) security_groups(&n, clusters, lit);
        json_decref(lit);
        return;
    }
    const struct node *v;
    if ((v = node_get(section, "ipv6")) && node_scalar_type(v) == SCALAR_BOOL) n.ipv6 = strcmp(v->scalar, "true") == 0;
    if ((v = node_get(section, "azs")) && node_scalar_type(v) == SCALAR_INT) n.azs = atoi(v->scalar);
    if ((v = node_get(section, "nat")) && v->kind == NODE_SCALAR) n.nat = v->scalar;
    if (n.azs < 1 || n.azs > 26) return;  /* the schema reported it */
    const char *cidr = (v = node_get(section, "cidr")) && v->kind == NODE_SCALAR ? v->scalar : "10.6.0.0/16";
    json_t *priv = subnet_list(&n, section, "private_subnets", cidr, 1);
    json_t *pub = subnet_list(&n, section, "public_subnets", cidr, 0);
    if (!priv || !pub) {
        json_decref(priv);
        json_decref(pub);
        return;
    }
    struct spec_resource *r = res_new(&n, "aws_vpc.main", "", NULL);
    set(r, "cidr_block", json_string(cidr));
    set(r, "assign_generated_ipv6_cidr_block", json_boolean(n.ipv6));
    set(r, "enable_dns_support", json_true());
    set(r, "enable_dns_hostnames", json_true());
    res_add(&n, r);
    json_t *priv_ids = json_array(), *pub_ids = json_array();
    n.cluster_tags = cluster_subnet_tags(clusters);
    subnets(&n, pub, 0, pub_ids);
    subnets(&n, priv, 1, priv_ids);
    gateways_and_routes(&n, pub_ids, priv_ids);
    security_groups(&n, clusters, NULL);
    json_decref(priv);
    json_decref(pub);
    json_decref(priv_ids);
    json_decref(pub_ids);
    json_decref(n.cluster_tags);
}
