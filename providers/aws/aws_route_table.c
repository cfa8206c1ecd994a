/* aws_route_table.c: a route table with its routes and subnet associations as attributes (not
 * separate resource types): the table owns them exclusively, so a route or association added,
 * changed or removed outside mesh shows as drift of `routes` / `subnet_ids` and the update puts
 * back exactly the desired set. The VPC's local routes are never listed nor touched.
 *
 * A route: {"destination": "0.0.0.0/0" | "::/0" | ..., and one target: "gateway_id" (internet
 * gateway), "nat_gateway_id", or "egress_only_gateway_id"}. Lists are reported in the order mesh
 * last applied them (kept in outputs), so order never shows as a change. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "base/xalloc.h"

static const struct attr rt_schema[] = {
    {"vpc_id", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the VPC"},
    {"routes", T_LIST, 0, "routes: {destination, gateway_id | nat_gateway_id | egress_only_gateway_id}"},
    {"subnet_ids", T_LIST, 0, "subnets associated with this table"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "rtb-..."},
    {NULL, 0, 0, NULL},
};

static const char *const rt_echo[] = {"routes", "subnet_ids", "tags", NULL};
static const char *const rt_retry[] = {"DependencyViolation", NULL};
static const struct ec2_type rt_type = {
    .describe = "DescribeRouteTables", .describe_id = "RouteTableId.1", .set_path = "routeTableSet",
    .remove = "DeleteRouteTable", .remove_id = "RouteTableId", .retry = rt_retry, .limit = 300, .echo = rt_echo,
};

static const struct {
    const char *attr, *xml, *param;
} targets[] = {
    {"gateway_id", "gatewayId", "GatewayId"},
    {"nat_gateway_id", "natGatewayId", "NatGatewayId"},
    {"egress_only_gateway_id", "egressOnlyInternetGatewayId", "EgressOnlyInternetGatewayId"},
};
#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

/* ---- the world's routes and associations ---- */

struct rt_world {
    json_t *routes;   /* [{destination, target}] not local */
    json_t *assocs;   /* {subnet_id: association_id} */
    json_t *tags;
    json_t *vpc;      /* string */
};

static void world_release(struct rt_world *w)
{
    json_decref(w->routes);
    json_decref(w->assocs);
    json_decref(w->tags);
    json_decref(w->vpc);
}

static json_t *route_of(xmlNodePtr it)
{
    char *dst = aws_xml_text(it, "destinationCidrBlock");
    if (!dst) dst = aws_xml_text(it, "destinationIpv6CidrBlock");
    if (!dst) return NULL;
    json_t *r = json_pack("{s:s}", "destination", dst);
    free(dst);
    int n = 0;
    for (size_t i = 0; i < NTARGETS; i++) {
        char *v = aws_xml_text(it, targets[i].xml);
        if (v && *v && strcmp(v, "local") != 0) {
            json_object_set_new(r, targets[i].attr, json_string(v));
            n++;
        }
        free(v);
    }
    if (!n) {  /* the VPC's local routes, or a target kind mesh does not manage */
        json_decref(r);
        return NULL;
    }
    return r;
}

static int rt_describe(struct call *c, const char *id, struct rt_world *w)
{
    memset(w, 0, sizeof(*w));
    xmlDocPtr doc;
    xmlNodePtr it;
    int rc = ec2_type_describe(&rt_type, c, id, &doc, &it);
    if (rc) return rc;
    w->routes = json_array();
    w->assocs = json_object();
    for (xmlNodePtr rt = aws_xml_first(aws_xml_find(it, "routeSet"), "item"); rt; rt = aws_xml_next(rt, "item")) {
        json_t *route = route_of(rt);
        if (route) json_array_append_new(w->routes, route);
    }
    for (xmlNodePtr a = aws_xml_first(aws_xml_find(it, "associationSet"), "item"); a; a = aws_xml_next(a, "item")) {
        char *sn = aws_xml_text(a, "subnetId"), *aid = aws_xml_text(a, "routeTableAssociationId");
        if (sn && *sn && aid) json_object_set_new(w->assocs, sn, json_string(aid));
        free(sn);
        free(aid);
    }
    w->tags = ec2_tags(aws_xml_find(it, "tagSet"), 0);
    char *vpc = aws_xml_text(it, "vpcId");
    w->vpc = vpc ? json_string(vpc) : NULL;
    free(vpc);
    xmlFreeDoc(doc);
    return 0;
}

static json_t *route_by_dest(const json_t *routes, const char *dst)
{
    size_t i;
    json_t *r;
    json_array_foreach(routes, i, r) {
        const char *d = ec2_str(r, "destination");
        if (d && strcmp(d, dst) == 0) return r;
    }
    return NULL;
}

static int cmp_dest(const void *a, const void *b)
{
    return strcmp(ec2_str(*(json_t *const *)a, "destination"), ec2_str(*(json_t *const *)b, "destination"));
}

/* The world's routes in the order of order (what mesh last applied), then the rest by destination. */
static json_t *routes_ordered(const json_t *world, const json_t *order)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(order, i, r) {
        const char *d = ec2_str(r, "destination");
        json_t *w = d ? route_by_dest(world, d) : NULL;
        if (w && !route_by_dest(out, d)) json_array_append(out, w);
    }
    size_t n0 = json_array_size(out), nrest = 0;
    json_t **rest = xcalloc(json_array_size(world) + 1, sizeof(*rest));
    json_array_foreach(world, i, r)
        if (!route_by_dest(out, ec2_str(r, "destination"))) rest[nrest++] = r;
    qsort(rest, nrest, sizeof(*rest), cmp_dest);
    for (size_t k = 0; k < nrest; k++) json_array_append(out, rest[k]);
    free(rest);
    (void)n0;
    return out;
}

static int in_list(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static int cmp_cstr(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static json_t *subnets_ordered(const json_t *assocs, const json_t *order)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(order, i, v)
        if (json_is_string(v) && json_object_get(assocs, json_string_value(v)) && !in_list(out, json_string_value(v)))
            json_array_append(out, v);
    const char **rest = xcalloc(json_object_size(assocs) + 1, sizeof(*rest));
    size_t n = 0;
    const char *k;
    json_object_foreach((json_t *)assocs, k, v)
        if (!in_list(out, k)) rest[n++] = k;
    qsort(rest, n, sizeof(*rest), cmp_cstr);
    for (size_t j = 0; j < n; j++) json_array_append_new(out, json_string(rest[j]));
    free(rest);
    return out;
}

/* ---- changes ---- */

/* fresh: the table was created in this call (eventual consistency: see ec2_send_fresh). */
static int route_call(struct call *c, const char *action, const char *id, const json_t *route, int fresh)
{
    const char *dst = ec2_str(route, "destination");
    if (!dst) return mesh_err_set(c->err, MESH_EINVAL, c->address, "a route needs a destination");
    struct aws_query q;
    ec2_query(&q, action);
    aws_query_add(&q, "RouteTableId", id);
    aws_query_add(&q, strchr(dst, ':') ? "DestinationIpv6CidrBlock" : "DestinationCidrBlock", dst);
    int n = 0;
    for (size_t i = 0; strcmp(action, "DeleteRoute") != 0 && i < NTARGETS; i++)
        if (ec2_str(route, targets[i].attr)) {
            aws_query_add(&q, targets[i].param, ec2_str(route, targets[i].attr));
            n++;
        }
    int rc = 0;
    if (strcmp(action, "DeleteRoute") != 0 && n != 1)
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address, "route %s: give exactly one of gateway_id, nat_gateway_id, "
                          "egress_only_gateway_id", dst);
    if (!rc) {
        struct ec2_res r;
        rc = fresh ? ec2_send_fresh(c, &q, NULL, &r) : ec2_send(c, &q, NULL, &r);
        if (rc == MESH_ENOTFOUND && strcmp(action, "DeleteRoute") == 0) rc = 0;
        else if (rc) rc = ec2_fail(c, &r);
    }
    aws_query_release(&q);
    return rc;
}

static int associate(struct call *c, const char *id, const char *subnet, int fresh)
{
    struct aws_query q;
    ec2_query(&q, "AssociateRouteTable");
    aws_query_add(&q, "RouteTableId", id);
    aws_query_add(&q, "SubnetId", subnet);
    int rc = fresh ? ec2_do_fresh(c, &q, NULL) : ec2_do(c, &q, NULL);
    aws_query_release(&q);
    return rc;
}

static int disassociate(struct call *c, const char *assoc)
{
    struct aws_query q;
    ec2_query(&q, "DisassociateRouteTable");
    aws_query_add(&q, "AssociationId", assoc);
    struct ec2_res r;
    int rc = ec2_send(c, &q, NULL, &r);
    aws_query_release(&q);
    return rc == MESH_ENOTFOUND ? 0 : rc ? ec2_fail(c, &r) : 0;
}

/* Makes the table's routes and associations exactly the desired ones. */
static int converge(struct call *c, const char *id, const struct rt_world *w, const json_t *desired, int fresh)
{
    const json_t *want = json_object_get(desired, "routes");
    const json_t *subnets = json_object_get(desired, "subnet_ids");
    size_t i;
    json_t *r;
    int rc = 0;
    json_array_foreach(w->routes, i, r) {
        if (!rc && !route_by_dest(want, ec2_str(r, "destination"))) rc = route_call(c, "DeleteRoute", id, r, fresh);
    }
    json_array_foreach(want, i, r) {
        if (rc) break;
        json_t *have = route_by_dest(w->routes, ec2_str(r, "destination") ? ec2_str(r, "destination") : "");
        if (!have) rc = route_call(c, "CreateRoute", id, r, fresh);
        else if (!json_equal(have, r)) rc = route_call(c, "ReplaceRoute", id, r, fresh);
    }
    const char *sn;
    json_t *aid;
    json_object_foreach(w->assocs, sn, aid) {
        if (!rc && !in_list(subnets, sn)) rc = disassociate(c, json_string_value(aid));
    }
    json_array_foreach(subnets, i, r) {
        if (!rc && json_is_string(r) && !json_object_get(w->assocs, json_string_value(r)))
            rc = associate(c, id, json_string_value(r), fresh);
    }
    return rc;
}

static int rt_delete_id(struct call *c, const char *id)
{
    struct rt_world w;
    int rc = rt_describe(c, id, &w);
    if (rc) return rc;
    const char *sn;
    json_t *aid;
    json_object_foreach(w.assocs, sn, aid) {
        if (!rc) rc = disassociate(c, json_string_value(aid));
    }
    world_release(&w);
    return rc ? rc : ec2_type_delete_id(&rt_type, c, id);
}

/* ---- the driver ---- */

static json_t *rt_outputs(const char *id, const json_t *desired)
{
    json_t *o = json_pack("{s:s}", "id", id);
    ec2_echo(o, desired, rt_echo);
    return o;
}

static int rt_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "CreateRouteTable");
    aws_query_add(&q, "VpcId", ec2_str(desired, "vpc_id") ? ec2_str(desired, "vpc_id") : "");
    aws_query_add(&q, "ClientToken", c->token);
    ec2_tag_spec(c, &q, 1, "route-table", json_object_get(desired, "tags"));
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    char *id = aws_xml_text(xmlDocGetRootElement(doc), "routeTable/routeTableId");
    xmlFreeDoc(doc);
    if (!id) return mesh_err_set(c->err, MESH_ERR, c->address, "CreateRouteTable: the reply holds no routeTableId");
    struct rt_world w = {json_array(), json_object(), NULL, NULL};
    rc = converge(c, id, &w, desired, 1);
    world_release(&w);
    if (rc) {  /* leave nothing behind a failed create */
        struct mesh_err e2;
        struct call c2 = ec2_quiet(c, &e2);
        rt_delete_id(&c2, id);
        free(id);
        return rc;
    }
    *outputs = rt_outputs(id, desired);
    free(id);
    return 0;
}

/* find: routes and associations may be partial: the next plan shows it, apply completes it. */
static json_t *rt_found(xmlNodePtr it, const json_t *desired)
{
    char *id = aws_xml_text(it, "routeTableId");
    json_t *o = rt_outputs(id ? id : "", desired);
    free(id);
    return o;
}

static int rt_find(struct call *c, const json_t *desired, json_t **outputs)
{
    return ec2_type_find(&rt_type, c, rt_found, desired, outputs);
}

static int rt_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    struct rt_world w;
    int rc = rt_describe(c, id, &w);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    if (w.vpc) json_object_set(cur, "vpc_id", w.vpc);
    json_t *routes = routes_ordered(w.routes, json_object_get(outputs, "routes"));
    ec2_observe(cur, outputs, "routes", routes, json_array_size(routes) == 0);
    json_t *subs = subnets_ordered(w.assocs, json_object_get(outputs, "subnet_ids"));
    ec2_observe(cur, outputs, "subnet_ids", subs, json_array_size(subs) == 0);
    ec2_observe(cur, outputs, "tags", json_incref(w.tags), json_object_size(w.tags) == 0);
    world_release(&w);
    *current = cur;
    return 0;
}

static int rt_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                     json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    (void)prior;
    struct rt_world w;
    int rc = rt_describe(c, id, &w);
    if (rc == MESH_ENOTFOUND) return mesh_err_set(c->err, MESH_ERR, c->address, "update: %s is gone", id);
    if (!rc) rc = converge(c, id, &w, desired, 0);
    world_release(&w);
    return rc ? rc : ec2_update_tags(c, outputs, desired, rt_echo, new_outputs);
}

static int rt_delete(struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    return id ? rt_delete_id(c, id) : MESH_ERR;
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const route_table_permissions[] = {
    "ec2:AssociateRouteTable", "ec2:CreateRoute", "ec2:CreateRouteTable", "ec2:DeleteRoute", "ec2:DeleteRouteTable",
    "ec2:DescribeRouteTables", "ec2:DisassociateRouteTable", "ec2:ReplaceRoute", "ec2:CreateTags", "ec2:DeleteTags",
    "ec2:DescribeTags",
    NULL,
};

const struct driver aws_route_table_driver = {
    .type = "aws_route_table",
    .provider = &aws_provider,
    .schema = rt_schema,
    .permissions = route_table_permissions,
    .doc = "a route table with its routes and subnet associations",
    .create = rt_create,
    .find = rt_find,
    .read = rt_read,
    .update = rt_update,
    .delete = rt_delete,
};
