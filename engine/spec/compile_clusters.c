/* compile_clusters.c: the `clusters:` section (with `mesh:` for names and tags, and what
 * compile_network.c made: private subnets, private route tables, aws_security_group.<cluster>) →
 * per cluster C that is not `existing:` (docs/spec.md, docs/aws.md):
 *   aws_iam_role.C.cluster, aws_iam_role.C.node, aws_iam_policy.C.ipv6_cni (ipv6),
 *   aws_kms_key.C.secrets + aws_kms_alias.C.secrets, aws_cloudwatch_log_group.C.cluster,
 *   aws_eks_cluster.C, aws_iam_openid_connect_provider.C, aws_iam_policy.C.lbc + aws_iam_role.C.lbc,
 *   aws_launch_template.C.<group> + aws_eks_node_group.C.<group>, aws_eks_addon.C.<addon>,
 *   aws_security_group_rule.C.webhook / .xds and aws_security_group_rule.<other>.api_from_C.
 * IAM documents and add-on configuration are canonical JSON text (sorted keys, compact), the form
 * the drivers compare: a reference may sit inside a JSON string, but a map key cannot hold one,
 * so documents are text the engine interpolates. Every ${...} in an attribute is an edge; every
 * resource is positioned at its cluster's key (a node group's and an add-on's at their own). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "spec/ref.h"
#include "spec/spec_int.h"
#include "base/xalloc.h"

/* The AWS Load Balancer Controller's IAM policy, embedded by the Makefile from
 * specs/policies/aws-load-balancer-controller-iam-policy.json (source and version in its README). */
#include "spec/lbc_policy.json.h"

#define ADDR_MAX 400

static const char *const log_types_default[] = {"api", "audit", "authenticator", NULL};
static const char *const addons_default[] = {"vpc-cni", "coredns", "kube-proxy", NULL};

struct cl {
    struct spec *s;
    const struct spec_ctx *c;
    const struct node *key;     /* clusters.<C>'s key: where its resources point */
    const struct node *body;    /* its settings */
    const char *name;           /* C */
    const char *mesh;           /* mesh.name */
    json_t *tags;               /* mesh.tags + clusters.<C>.tags */
    int ipv6;
    json_t *subnets;            /* subnet_ids: "${aws_subnet.private_X.id}" or network.existing IDs */
    json_t *route_tables;       /* addresses of the private route tables (none with an existing network) */
    json_t *node_groups;        /* addresses of C's node groups, for the add-ons' depends_on */
};

/* ---- values of the spec, with the schema's defaults (cu_str, cu_bool: compile_util.c) ---- */

static json_int_t int_of(const struct node *m, const char *key, json_int_t def)
{
    const struct node *v = node_get(m, key);
    if (!v || v->kind != NODE_SCALAR || node_scalar_type(v) != SCALAR_INT) return def;
    return strtoll(v->scalar, NULL, 0);
}

/* A list of strings from the spec, or the defaults. */
static json_t *strings_of(const struct node *m, const char *key, const char *const *def)
{
    const struct node *v = node_get(m, key);
    json_t *a = json_array();
    if (v && v->kind == NODE_SEQ) {
        for (size_t i = 0; i < v->n; i++)
            if (v->items[i]->kind == NODE_SCALAR) json_array_append_new(a, json_string(v->items[i]->scalar));
        return a;
    }
    for (; def && *def; def++) json_array_append_new(a, json_string(*def));
    return a;
}

/* A map of string values (tags, labels) as text, as YAML wrote them (1 is "1"). */
static void strings_into(json_t *out, const struct node *m)
{
    for (size_t i = 0; m && m->kind == NODE_MAP && i < m->n; i++)
        if (m->pairs[i].value->kind == NODE_SCALAR)
            json_object_set_new(out, m->pairs[i].key->scalar, json_string(m->pairs[i].value->scalar));
}

/* ---- resources ---- */

/* Sorted, compact JSON text: the canonical form the drivers compare documents in. Takes doc. */
static json_t *json_text(json_t *doc)
{
    char *s = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(doc);
    json_t *v = json_string(s ? s : "{}");
    free(s);
    return v;
}

static struct spec_resource *res_new(struct cl *k, const struct node *at, const char *address, int tagged)
{
    struct spec_resource *r = spec_resource_new(address, at, "clusters");
    if (tagged) json_object_set_new(r->attrs, "tags", json_deep_copy(k->tags));
    return r;
}

static void set(struct spec_resource *r, const char *key, json_t *v) { json_object_set_new(r->attrs, key, v); }

/* Adds r with an edge per reference in its attributes; after must run first (depends_on). */
static void res_add(struct cl *k, struct spec_resource *r)
{
    cu_edges(k->c, r, r->attrs);
    spec_add_resource(k->s, r, k->c);
}

/* "TYPE.C" or "TYPE.C.NAME" */
static const char *addr(char *buf, size_t n, const char *type, const char *cluster, const char *name)
{
    snprintf(buf, n, "%s.%s%s%s", type, cluster, name ? "." : "", name ? name : "");
    return buf;
}

static const char *cloud_name(char *buf, size_t n, const struct cl *k, const char *what)
{
    snprintf(buf, n, "%s-%s-%s", k->mesh, k->name, what);
    return buf;
}

/* ---- IAM ---- */

static json_t *trust_service(const char *service)
{
    return json_text(json_pack("{s:s, s:[{s:s, s:{s:s}, s:s}]}", "Version", "2012-10-17", "Statement", "Effect", "Allow",
                               "Principal", "Service", service, "Action", "sts:AssumeRole"));
}

#define AWS_POLICY "arn:aws:iam::aws:policy/"

static void role(struct cl *k, const char *which, const char *service, json_t *policies, const char *why)
{
    char a[ADDR_MAX], nm[ADDR_MAX], desc[ADDR_MAX];
    struct spec_resource *r = res_new(k, k->key, addr(a, sizeof(a), "aws_iam_role", k->name, which), 1);
    set(r, "name", json_string(cloud_name(nm, sizeof(nm), k, which)));
    set(r, "assume_role_policy", trust_service(service));
    set(r, "managed_policy_arns", policies);
    snprintf(desc, sizeof(desc), "mesh %s: %s of EKS cluster %s", k->mesh, why, k->name);
    set(r, "description", json_string(desc));
    res_add(k, r);
}

/* The customer-managed policy AWS's EKS docs give for the VPC CNI on IPv6 clusters
 * (AmazonEKS_CNI_Policy covers IPv4 only; the reference makes its user create this by hand). */
static void ipv6_cni_policy(struct cl *k)
{
    char a[ADDR_MAX], nm[ADDR_MAX];
    struct spec_resource *r = res_new(k, k->key, addr(a, sizeof(a), "aws_iam_policy", k->name, "ipv6_cni"), 1);
    set(r, "name", json_string(cloud_name(nm, sizeof(nm), k, "ipv6-cni")));
    json_t *doc = json_pack("{s:s, s:[{s:s, s:[s,s,s,s,s], s:s}, {s:s, s:[s], s:[s]}]}", "Version", "2012-10-17",
                            "Statement", "Effect", "Allow", "Action", "ec2:AssignIpv6Addresses", "ec2:DescribeInstances",
                            "ec2:DescribeTags", "ec2:DescribeNetworkInterfaces", "ec2:DescribeInstanceTypes",
                            "Resource", "*", "Effect", "Allow", "Action", "ec2:CreateTags", "Resource",
                            "arn:aws:ec2:*:*:network-interface/*");
    set(r, "document", json_text(doc));
    set(r, "description", json_string("Amazon VPC CNI on an IPv6 EKS cluster (AWS EKS docs: AmazonEKS_CNI_IPv6_Policy)"));
    res_add(k, r);
}

static void roles(struct cl *k)
{
    role(k, "cluster", "eks.amazonaws.com", json_pack("[s]", AWS_POLICY "AmazonEKSClusterPolicy"), "control plane");
    json_t *node = json_pack("[s,s]", AWS_POLICY "AmazonEKSWorkerNodePolicy", AWS_POLICY "AmazonEC2ContainerRegistryReadOnly");
    if (k->ipv6) {
        char a[ADDR_MAX];
        ipv6_cni_policy(k);
        json_array_append_new(node, cu_ref(addr(a, sizeof(a), "aws_iam_policy", k->name, "ipv6_cni"), "arn"));
    } else {
        json_array_append_new(node, json_string(AWS_POLICY "AmazonEKS_CNI_Policy"));
    }
    role(k, "node", "ec2.amazonaws.com", node, "nodes");
}

/* The IAM OIDC provider of the cluster's issuer, the controller's policy and its IRSA role,
 * which only the controller's service account can assume, through that provider. */
static void oidc_and_lbc(struct cl *k)
{
    char a[ADDR_MAX], cl[ADDR_MAX], oidc[ADDR_MAX], nm[ADDR_MAX];
    addr(cl, sizeof(cl), "aws_eks_cluster", k->name, NULL);
    struct spec_resource *r = res_new(k, k->key, addr(oidc, sizeof(oidc), "aws_iam_openid_connect_provider", k->name, NULL), 1);
    set(r, "url", cu_ref(cl, "oidc_issuer"));
    set(r, "client_ids", json_pack("[s]", "sts.amazonaws.com"));
    res_add(k, r);

    const struct node *lbc = node_get(k->body, "load_balancer_controller");
    if (!cu_bool(lbc, "enabled", 1)) return;
    json_t *doc = json_loads(lbc_policy_json, 0, NULL);
    r = res_new(k, k->key, addr(a, sizeof(a), "aws_iam_policy", k->name, "lbc"), 1);
    set(r, "name", json_string(cloud_name(nm, sizeof(nm), k, "lbc")));
    set(r, "document", json_text(doc ? doc : json_object()));  /* the build checks the file parses */
    set(r, "description", json_string("AWS Load Balancer Controller " LBC_POLICY_VERSION " (its published iam_policy.json)"));
    res_add(k, r);

    char host[ADDR_MAX + 40], sub[ADDR_MAX + 60], aud[ADDR_MAX + 60];
    snprintf(host, sizeof(host), "${%s.oidc_issuer_host}", cl);
    snprintf(sub, sizeof(sub), "%s:sub", host);
    snprintf(aud, sizeof(aud), "%s:aud", host);
    char fed[ADDR_MAX + 40];
    snprintf(fed, sizeof(fed), "${%s.arn}", oidc);
    json_t *trust = json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:{s:{s:s, s:s}}}]}", "Version", "2012-10-17", "Statement",
                              "Effect", "Allow", "Principal", "Federated", fed, "Action",
                              "sts:AssumeRoleWithWebIdentity", "Condition", "StringEquals", sub,
                              "system:serviceaccount:kube-system:aws-load-balancer-controller", aud, "sts.amazonaws.com");
    r = res_new(k, k->key, addr(a, sizeof(a), "aws_iam_role", k->name, "lbc"), 1);
    set(r, "name", json_string(cloud_name(nm, sizeof(nm), k, "lbc")));
    set(r, "assume_role_policy", json_text(trust));
    set(r, "managed_policy_arns", json_pack("[o]", cu_ref(addr(a, sizeof(a), "aws_iam_policy", k->name, "lbc"), "arn")));
    set(r, "description", json_string("AWS Load Balancer Controller (kube-system/aws-load-balancer-controller)"));
    res_add(k, r);
}

/* ---- secrets encryption, logs, the control plane ---- */

static int secrets_encryption(const struct cl *k) { return cu_bool(k->body, "secrets_encryption", 1); }

static void kms_and_logs(struct cl *k)
{
    char a[ADDR_MAX], nm[ADDR_MAX], desc[ADDR_MAX];
    struct spec_resource *r;
    if (secrets_encryption(k)) {
        r = res_new(k, k->key, addr(a, sizeof(a), "aws_kms_key", k->name, "secrets"), 1);
        snprintf(desc, sizeof(desc), "mesh %s: envelope encryption of EKS cluster %s's Kubernetes secrets", k->mesh, k->name);
        set(r, "description", json_string(desc));
        set(r, "enable_key_rotation", json_true());
        set(r, "deletion_window_days", json_integer(7));
        res_add(k, r);
        r = res_new(k, k->key, addr(nm, sizeof(nm), "aws_kms_alias", k->name, "secrets"), 0);
        snprintf(desc, sizeof(desc), "alias/%s-%s-secrets", k->mesh, k->name);
        set(r, "name", json_string(desc));
        set(r, "target_key_id", cu_ref(a, "id"));
        res_add(k, r);
    }
    r = res_new(k, k->key, addr(a, sizeof(a), "aws_cloudwatch_log_group", k->name, "cluster"), 1);
    snprintf(nm, sizeof(nm), "/aws/eks/%s/cluster", k->name);  /* the name EKS itself would log to */
    set(r, "name", json_string(nm));
    set(r, "retention_days", json_integer(int_of(k->body, "log_retention_days", 90)));
    res_add(k, r);
}

static void control_plane(struct cl *k)
{
    char a[ADDR_MAX];
    struct spec_resource *r = res_new(k, k->key, addr(a, sizeof(a), "aws_eks_cluster", k->name, NULL), 1);
    set(r, "name", json_string(k->name));
    set(r, "version", json_string(cu_str(k->body, "version", "1.31")));
    set(r, "role_arn", cu_ref(addr(a, sizeof(a), "aws_iam_role", k->name, "cluster"), "arn"));
    set(r, "ip_family", json_string(k->ipv6 ? "ipv6" : "ipv4"));
    set(r, "subnet_ids", json_deep_copy(k->subnets));
    set(r, "endpoint_public_access", json_boolean(cu_bool(k->body, "endpoint_public_access", 1)));
    set(r, "endpoint_private_access", json_boolean(cu_bool(k->body, "endpoint_private_access", 1)));
    set(r, "enabled_log_types", strings_of(k->body, "log_types", log_types_default));
    if (secrets_encryption(k)) set(r, "encryption_kms_key_arn", cu_ref(addr(a, sizeof(a), "aws_kms_key", k->name, "secrets"), "arn"));
    set(r, "authentication_mode", json_string("API_AND_CONFIG_MAP"));
    set(r, "bootstrap_cluster_creator_admin_permissions", json_true());
    /* The log group first: a cluster with logging on would otherwise make its own, unmanaged. */
    spec_add_dep(r, addr(a, sizeof(a), "aws_cloudwatch_log_group", k->name, "cluster"), NULL, r->line, r->col);
    res_add(k, r);
}

/* ---- nodes ---- */

static void node_group(struct cl *k, const struct node *gkey, const struct node *g)
{
    const char *gn = gkey ? gkey->scalar : "default";
    const struct node *at = gkey ? gkey : k->key;
    char a[ADDR_MAX], lt[ADDR_MAX], cl[ADDR_MAX], nm[ADDR_MAX];
    addr(cl, sizeof(cl), "aws_eks_cluster", k->name, NULL);
    /* Both groups on the nodes: EKS's cluster SG (control plane <-> nodes) and the mesh's
     * cross-cluster one; EKS adds neither itself once a launch template names groups. */
    struct spec_resource *r = res_new(k, at, addr(lt, sizeof(lt), "aws_launch_template", k->name, gn), 1);
    set(r, "name", json_string(cloud_name(nm, sizeof(nm), k, gn)));
    set(r, "security_group_ids", json_pack("[o,o]", cu_ref(cl, "cluster_security_group_id"),
                                          cu_ref(addr(a, sizeof(a), "aws_security_group", k->name, NULL), "id")));
    set(r, "disk_size", json_integer(int_of(g, "disk_size", 50)));  /* here: EKS refuses diskSize with a template */
    set(r, "http_tokens", json_string("required"));  /* IMDSv2 only */
    res_add(k, r);

    r = res_new(k, at, addr(a, sizeof(a), "aws_eks_node_group", k->name, gn), 1);
    set(r, "cluster_name", cu_ref(cl, "name"));
    set(r, "name", json_string(gn));
    set(r, "node_role_arn", cu_ref(addr(nm, sizeof(nm), "aws_iam_role", k->name, "node"), "arn"));
    set(r, "subnet_ids", json_deep_copy(k->subnets));
    static const char *const types_default[] = {"m5.large", NULL};
    set(r, "instance_types", strings_of(g, "instance_types", types_default));
    set(r, "ami_type", json_string(cu_str(g, "ami_type", "AL2023_x86_64_STANDARD")));
    set(r, "capacity_type", json_string(cu_str(g, "capacity_type", "ON_DEMAND")));
    set(r, "min_size", json_integer(int_of(g, "min_size", 1)));
    set(r, "max_size", json_integer(int_of(g, "max_size", 3)));
    set(r, "desired_size", json_integer(int_of(g, "desired_size", 2)));
    json_t *labels = json_object();
    strings_into(labels, node_get(g, "labels"));
    set(r, "labels", labels);
    set(r, "launch_template_id", cu_ref(lt, "id"));
    set(r, "launch_template_version", cu_ref(lt, "latest_version"));
    /* The cluster's version as text, not ${aws_eks_cluster.C.version}: a plan resolves a reference
     * to an updated resource from its stored outputs (the old version), so the node groups' upgrade
     * would only show in the next plan. The edge through cluster_name still upgrades the control
     * plane first, then the nodes (EKS refuses nodes newer than their control plane). */
    set(r, "version", json_string(cu_str(k->body, "version", "1.31")));
    size_t i;
    json_t *t;
    json_array_foreach(k->route_tables, i, t)  /* nodes need their NAT route to join the cluster */
        spec_add_dep(r, json_string_value(t), NULL, r->line, r->col);
    json_array_append_new(k->node_groups, json_string(a));
    res_add(k, r);
}

static void node_groups(struct cl *k)
{
    const struct node *groups = node_get(k->body, "node_groups");
    if (!groups) {
        node_group(k, NULL, NULL);
        return;
    }
    for (size_t i = 0; groups->kind == NODE_MAP && i < groups->n; i++)
        node_group(k, groups->pairs[i].key, groups->pairs[i].value);
}

/* ---- add-ons ---- */

/* vpc-cni's init container (aws-vpc-cni-init) gets the reference's two `kubectl patch`es as
 * configuration: egress over the family the pods lack, through the node's other address. */
static json_t *addon_default_config(const struct cl *k, const char *addon)
{
    if (strcmp(addon, "vpc-cni") != 0) return NULL;
    return json_pack("{s:{s:{s:s}}}", "init", "env", k->ipv6 ? "ENABLE_V4_EGRESS" : "ENABLE_V6_EGRESS", "true");
}

static void addon(struct cl *k, const char *name, const struct node *at, const struct node *user)
{
    char a[ADDR_MAX];
    struct spec_resource *r = res_new(k, at, addr(a, sizeof(a), "aws_eks_addon", k->name, name), 1);
    set(r, "cluster_name", cu_ref(addr(a, sizeof(a), "aws_eks_cluster", k->name, NULL), "name"));
    set(r, "name", json_string(name));
    const char *version = cu_str(user, "version", NULL);
    if (version) set(r, "version", json_string(version));
    json_t *config = addon_default_config(k, name);
    const struct node *uc = node_get(user, "configuration");
    if (uc && uc->kind == NODE_MAP) {
        json_t *mine = node_to_json(uc);
        if (!config) config = json_object();
        json_object_update_recursive(config, mine);  /* the user's values win */
        json_decref(mine);
    }
    if (config) set(r, "configuration_values", json_text(config));
    set(r, "resolve_conflicts", json_string("OVERWRITE"));
    size_t i;
    json_t *g;
    json_array_foreach(k->node_groups, i, g)  /* coredns needs nodes; upgrades run nodes first */
        spec_add_dep(r, json_string_value(g), NULL, r->line, r->col);
    res_add(k, r);
}

static void addons(struct cl *k)
{
    const struct node *user = node_get(k->body, "addons");
    for (const char *const *d = addons_default; *d; d++) {
        const struct node *uk = cu_key(user, *d);
        addon(k, *d, uk ? uk : k->key, node_get(user, *d));
    }
    for (size_t i = 0; user && user->kind == NODE_MAP && i < user->n; i++) {
        const char *name = user->pairs[i].key->scalar;
        int is_default = 0;
        for (const char *const *d = addons_default; *d; d++) is_default |= strcmp(*d, name) == 0;
        if (!is_default) addon(k, name, user->pairs[i].key, user->pairs[i].value);
    }
}

/* ---- security-group rules between nodes and control planes ---- */

static void sg_rule(struct cl *k, const char *owner, const char *name, json_t *group, int port, json_t *source)
{
    char a[ADDR_MAX], nm[ADDR_MAX];
    struct spec_resource *r = res_new(k, k->key, addr(a, sizeof(a), "aws_security_group_rule", owner, name), 1);
    snprintf(nm, sizeof(nm), "%s-%s-%s", k->mesh, owner, name);
    json_object_set_new(json_object_get(r->attrs, "tags"), "Name", json_string(nm));
    set(r, "security_group_id", group);
    set(r, "type", json_string("ingress"));
    set(r, "protocol", json_string("tcp"));
    set(r, "from_port", json_integer(port));
    set(r, "to_port", json_integer(port));
    set(r, "source_security_group_id", source);
    res_add(k, r);
}

/* The control plane reaches Istio's webhook (15017) and xDS (15012) on C's nodes. */
static void sg_rules(struct cl *k)
{
    char cl[ADDR_MAX], sg[ADDR_MAX];
    addr(cl, sizeof(cl), "aws_eks_cluster", k->name, NULL);
    addr(sg, sizeof(sg), "aws_security_group", k->name, NULL);
    sg_rule(k, k->name, "webhook", cu_ref(sg, "id"), 15017, cu_ref(cl, "cluster_security_group_id"));
    sg_rule(k, k->name, "xds", cu_ref(sg, "id"), 15012, cu_ref(cl, "cluster_security_group_id"));
}

/* C's nodes reach every other cluster's API server (443) over the VPC (Istio's remote secrets):
 * once every cluster is made, between the clusters that compiled. */
static void sg_rules_between(struct cl *k, const struct node *clusters)
{
    char sg[ADDR_MAX], rn[ADDR_MAX], ocl[ADDR_MAX];
    addr(sg, sizeof(sg), "aws_security_group", k->name, NULL);
    for (size_t i = 0; i < clusters->n; i++) {
        const char *other = clusters->pairs[i].key->scalar;
        if (strcmp(other, k->name) == 0 || !spec_find(k->s, addr(ocl, sizeof(ocl), "aws_eks_cluster", other, NULL)))
            continue;
        snprintf(rn, sizeof(rn), "api_from_%s", k->name);
        sg_rule(k, other, rn, cu_ref(ocl, "cluster_security_group_id"), 443, cu_ref(sg, "id"));
    }
}

/* ---- the section ---- */

/* The subnets and route tables compile_network made (it runs first), or the existing subnets. */
static void network_parts(struct cl *k, const struct node *network)
{
    const struct node *ex = node_get(network, "existing");
    if (ex) {
        k->subnets = strings_of(ex, "subnet_ids", NULL);
        return;
    }
    k->subnets = json_array();
    for (size_t i = 0; i < k->s->resources.len; i++) {
        const char *a = ((struct spec_resource *)k->s->resources.items[i])->address;
        if (strncmp(a, "aws_subnet.private_", 19) == 0) json_array_append_new(k->subnets, cu_ref(a, "id"));
        else if (strcmp(a, "aws_route_table.private") == 0 || strncmp(a, "aws_route_table.private_", 24) == 0)
            json_array_append_new(k->route_tables, json_string(a));
    }
}

/* ---- the connection: how mesh reaches the cluster's Kubernetes API ---- */

/* kubernetes_connection.C: for a cluster mesh makes, its endpoint and CA from the EKS outputs and
 * an EKS token made when needed (so it depends on the cluster: the connection is applied once the
 * cluster is ACTIVE, and is replaced when the cluster is); for an existing one, its kubeconfig. */
static void connection(struct spec *s, const struct spec_ctx *c, const struct node *key, const struct node *body)
{
    char a[ADDR_MAX], eks[ADDR_MAX];
    struct spec_resource *r = spec_resource_new(addr(a, sizeof(a), "kubernetes_connection", key->scalar, NULL), key, "clusters");
    if (!r->driver) {  /* a build without the Kubernetes provider */
        spec_resource_free(r);
        return;
    }
    json_object_set_new(r->attrs, "cluster", json_string(key->scalar));
    const struct node *ex = node_get(body, "existing");
    if (ex) {
        json_object_set_new(r->attrs, "kubeconfig", json_string(cu_str(ex, "kubeconfig", "")));
        const char *ctx = cu_str(ex, "context", NULL);
        if (ctx) json_object_set_new(r->attrs, "context", json_string(ctx));
    } else {
        addr(eks, sizeof(eks), "aws_eks_cluster", key->scalar, NULL);
        json_object_set_new(r->attrs, "server", cu_ref(eks, "endpoint"));
        json_object_set_new(r->attrs, "ca_data", cu_ref(eks, "certificate_authority_data"));
        json_object_set_new(r->attrs, "auth", json_string("eks"));
        json_object_set_new(r->attrs, "eks_cluster_name", json_string(key->scalar));  /* control_plane's name */
        const char *region = cu_str(node_get(s->root, "mesh"), "region", NULL);
        if (region) json_object_set_new(r->attrs, "region", json_string(region));
        spec_add_dep(r, eks, "endpoint", key->line, key->col);
        spec_add_dep(r, eks, "certificate_authority_data", key->line, key->col);
    }
    spec_add_resource(s, r, c);
}

static void compile_cluster(struct cl *k, const struct node *network)
{
    const struct node *v = node_get(k->body, "ip_family");
    k->ipv6 = v && v->kind == NODE_SCALAR && strcmp(v->scalar, "ipv6") == 0;
    if (k->ipv6 && !node_get(network, "existing") && !cu_bool(network, "ipv6", 1)) {
        diag_error(k->c->dl, k->c->file, v->line, v->col,
                   "`clusters.%s.ip_family` is ipv6, but `network.ipv6` is false: an IPv6 cluster needs IPv6 subnets",
                   k->name);
        return;
    }
    char sg[ADDR_MAX];
    if (!spec_find(k->s, addr(sg, sizeof(sg), "aws_security_group", k->name, NULL)))
        return;  /* network: did not compile (its errors are reported): nothing to build on */
    network_parts(k, network);
    roles(k);
    kms_and_logs(k);
    control_plane(k);
    oidc_and_lbc(k);
    node_groups(k);
    addons(k);
    sg_rules(k);
}

static void cl_init(struct cl *k, struct spec *s, const struct spec_ctx *c, const struct node *key,
                    const struct node *body)
{
    const struct node *mesh = node_get(s->root, "mesh");
    *k = (struct cl){.s = s, .c = c, .key = key, .body = body, .name = key->scalar, .mesh = cu_str(mesh, "name", "mesh"),
                     .tags = json_object(), .route_tables = json_array(), .node_groups = json_array()};
    strings_into(k->tags, node_get(mesh, "tags"));
    strings_into(k->tags, node_get(body, "tags"));  /* the cluster's own win */
}

static void cl_release(struct cl *k)
{
    json_decref(k->tags);
    json_decref(k->subnets);
    json_decref(k->route_tables);
    json_decref(k->node_groups);
}

void compile_clusters(struct spec *s, const struct node *section, const struct spec_ctx *c)
{
    if (section->kind != NODE_MAP) return;  /* an empty or mistyped section: the schema said so */
    const struct node *network = node_get(s->root, "network");
    struct cl k;
    for (size_t i = 0; i < section->n; i++) {
        const struct node *key = section->pairs[i].key, *body = section->pairs[i].value;
        char probe[ADDR_MAX];
        if (!ref_address_valid(addr(probe, sizeof(probe), "aws_eks_cluster", key->scalar, NULL)))
            continue;  /* not a name (the schema said so): it cannot be part of an address */
        if (node_get(body, "existing")) {  /* mesh does not make it: only reaches it */
            connection(s, c, key, body);
            continue;
        }
        if (!network) {
            diag_error(c->dl, c->file, key->line, key->col,
                       "`clusters.%s` is an EKS cluster for mesh to make, so the spec needs a `network:` section "
                       "(or `network: {existing: ...}`) for its subnets; a cluster mesh does not make is declared "
                       "with `existing: {kubeconfig: PATH}`",
                       key->scalar);
            continue;
        }
        cl_init(&k, s, c, key, body);
        compile_cluster(&k, network);
        cl_release(&k);
        if (spec_find(s, addr(probe, sizeof(probe), "aws_eks_cluster", key->scalar, NULL))) connection(s, c, key, body);
    }
    for (size_t i = 0; i < section->n; i++) {
        char a[ADDR_MAX];
        if (!spec_find(s, addr(a, sizeof(a), "aws_eks_cluster", section->pairs[i].key->scalar, NULL))) continue;
        cl_init(&k, s, c, section->pairs[i].key, section->pairs[i].value);
        sg_rules_between(&k, section);
        cl_release(&k);
    }
}
