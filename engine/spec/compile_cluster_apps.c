/* compile_cluster_apps.c: what `clusters:` puts inside each cluster, with or without `istio:`
 * (docs/spec.md, "What a cluster holds"):
 *   helm_release.C.aws-load-balancer-controller  EKS clusters mesh makes, load_balancer_controller
 *       enabled (and release): kube-system, the cluster's name, region and VPC, its service account
 *       annotated with the IRSA role compile_clusters made (aws_iam_role.C.lbc); after C's node groups
 *       (helm waits for the controller's pods).
 *   kubernetes_manifest.C.aws-node-egress  existing clusters with existing.vpc_cni_egress: the
 *       reference's `kubectl patch` of aws-node's aws-vpc-cni-init env, as a server-side-apply
 *       patch (patch: true) of the DaemonSet EKS made; destroy gives mesh's fields back.
 * Runs after compile_clusters: it reads the connections, roles and node groups that one made, and
 * makes nothing for a cluster whose connection is not there. Everything belongs to
 * kubernetes_connection.C and is positioned at the key that asked for it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "spec/spec_int.h"

#define ADDR_MAX 400

/* The node groups of cluster C (aws_eks_node_group.C.*) become depends_on edges of r. */
static void after_node_groups(const struct spec *s, struct spec_resource *r, const char *cluster)
{
    char prefix[ADDR_MAX];
    int n = snprintf(prefix, sizeof(prefix), "aws_eks_node_group.%s.", cluster);
    for (size_t i = 0; i < s->resources.len; i++) {
        const struct spec_resource *g = s->resources.items[i];
        if (strncmp(g->address, prefix, (size_t)n) == 0) spec_add_dep(r, g->address, NULL, r->line, r->col);
    }
}

/* The VPC the clusters live in: mesh's, or network.existing's ID. */
static json_t *vpc_id(const struct spec *s)
{
    const struct node *ex = node_get(node_get(s->root, "network"), "existing");
    if (ex) return json_string(cu_str(ex, "vpc_id", ""));
    return spec_find(s, "aws_vpc.main") ? cu_ref("aws_vpc.main", "id") : NULL;
}

static void lbc_release(struct spec *s, const struct spec_ctx *c, const struct node *key, const struct node *body,
                        const char *conn)
{
    const char *name = key->scalar;
    const struct node *lbc = node_get(body, "load_balancer_controller");
    char a[ADDR_MAX], role[ADDR_MAX];
    snprintf(role, sizeof(role), "aws_iam_role.%s.lbc", name);
    if (!cu_bool(lbc, "enabled", 1) || !cu_bool(lbc, "release", 1) || !spec_find(s, role)) return;
    const struct node *at = cu_key(body, "load_balancer_controller");
    snprintf(a, sizeof(a), "helm_release.%s.%s", name, LBC_CHART_NAME);
    struct spec_resource *r = spec_resource_new(a, at ? at : key, "clusters");
    if (!r->driver) {  /* a build without the Helm provider */
        spec_resource_free(r);
        return;
    }
    json_object_set_new(r->attrs, "name", json_string(LBC_CHART_NAME));
    json_object_set_new(r->attrs, "namespace", json_string("kube-system"));
    helm_chart_set(r, cu_str(lbc, "chart", LBC_CHART_NAME), cu_str(lbc, "repository", LBC_CHART_REPOSITORY),
                   cu_str(lbc, "version", LBC_CHART_VERSION));
    /* The service account the IRSA role trusts (compile_clusters.c: oidc_and_lbc). */
    json_t *values = json_pack("{s:s, s:{s:b, s:s, s:{s:o}}}", "clusterName", name, "serviceAccount", "create", 1,
                               "name", LBC_CHART_NAME, "annotations", "eks.amazonaws.com/role-arn", cu_ref(role, "arn"));
    const char *region = cu_str(node_get(s->root, "mesh"), "region", NULL);
    if (region) json_object_set_new(values, "region", json_string(region));
    json_t *vpc = vpc_id(s);
    if (vpc) json_object_set_new(values, "vpcId", vpc);
    helm_values_merge(values, node_get(lbc, "values"));
    json_object_set_new(r->attrs, "values", values);
    spec_set_connection(r, conn, r->line, r->col);
    after_node_groups(s, r, name);
    cu_edges(c, r, r->attrs);
    spec_check_compiled(r, c);
    spec_add_resource(s, r, c);
}

/* The reference's `kubectl patch daemonset aws-node` (ENABLE_V6_EGRESS on the IPv4 cluster,
 * ENABLE_V4_EGRESS on the IPv6 one) for a cluster whose vpc-cni mesh does not manage. */
static void egress_patch(struct spec *s, const struct spec_ctx *c, const struct node *key, const struct node *ex,
                         const char *conn)
{
    const struct node *v = node_get(ex, "vpc_cni_egress");
    if (!v || v->kind != NODE_SCALAR) return;
    const char *env = strcmp(v->scalar, "ipv6") == 0 ? "ENABLE_V6_EGRESS" : "ENABLE_V4_EGRESS";
    char a[ADDR_MAX];
    snprintf(a, sizeof(a), "kubernetes_manifest.%s.aws-node-egress", key->scalar);
    struct spec_resource *r = spec_resource_new(a, cu_key(ex, "vpc_cni_egress"), "clusters");
    if (!r->driver) {
        spec_resource_free(r);
        return;
    }
    json_t *m = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:{s:{s:[{s:s, s:[{s:s, s:s}]}]}}}}", "apiVersion", "apps/v1",
                          "kind", "DaemonSet", "metadata", "name", "aws-node", "namespace", "kube-system", "spec",
                          "template", "spec", "initContainers", "name", "aws-vpc-cni-init", "env", "name", env,
                          "value", "true");
    json_object_set_new(r->attrs, "manifest", m);
    json_object_set_new(r->attrs, "patch", json_true());
    /* EKS's own manager may hold the field with another value; the spec asked for this one */
    json_object_set_new(r->attrs, "force_conflicts", json_true());
    spec_set_connection(r, conn, r->line, r->col);
    spec_add_resource(s, r, c);
}

void compile_cluster_apps(struct spec *s, const struct node *section, const struct spec_ctx *c)
{
    if (section->kind != NODE_MAP) return;
    for (size_t i = 0; i < section->n; i++) {
        const struct node *key = section->pairs[i].key, *body = section->pairs[i].value;
        char conn[ADDR_MAX];
        snprintf(conn, sizeof(conn), "kubernetes_connection.%s", key->scalar);
        if (!spec_find(s, conn)) continue;  /* the cluster did not compile, or no Kubernetes provider */
        const struct node *ex = node_get(body, "existing");
        if (ex) egress_patch(s, c, key, ex, conn);
        else lbc_release(s, c, key, body, conn);
    }
}
