/* test_compile_istio.c: what `istio:` and `clusters:` compile to inside the clusters
 * (compile_istio.c, compile_cluster_apps.c, compile_helm.c): the addresses of every cluster's
 * resources, their connections and the edges the reference left implicit, istiod's values
 * (meshID, clusterName, network, IPv6, the hash of the CA bundle), the chart sources, the remote
 * secrets (N×(N−1), their labels, annotation and kubeconfig), the switches (remote_secrets,
 * ingress_gateway), the per-cluster override, existing clusters (no controller; the aws-node
 * egress patch) and positioned errors. No driver is called: the spec is only compiled, in a
 * scratch folder holding the local charts it names (helm_release checks them while compiling). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "spec/spec.h"
#include "spec/spec_int.h"
#include "spec_load.h"

/* specs/reference.yaml with local chart folders (its variables set to ./charts). */
static const char reference[] =
    "mesh: {name: istio-multi-primary, region: us-west-2}\n"           /* 1 */
    "pki:\n"                                                            /* 2 */
    "  root: {algorithm: ecdsa-p256}\n"                                 /* 3 */
    "network: {cidr: 10.6.0.0/16, ipv6: true, azs: 3, nat: single}\n"  /* 4 */
    "clusters:\n"                                                       /* 5 */
    "  cluster-1:\n"                                                    /* 6 */
    "    ip_family: ipv4\n"                                             /* 7 */
    "    load_balancer_controller: {repository: ./charts}\n"            /* 8 */
    "  cluster-2:\n"                                                    /* 9 */
    "    ip_family: ipv6\n"                                             /* 10 */
    "    load_balancer_controller: {repository: ./charts}\n"            /* 11 */
    "istio:\n"                                                          /* 12 */
    "  version: 1.24.2\n"                                               /* 13 */
    "  mesh_id: mesh1\n"                                                /* 14 */
    "  network: network1\n"                                             /* 15 */
    "  namespace: istio-system\n"                                       /* 16 */
    "  charts: {repository: ./charts}\n"                                /* 17 */
    "  ingress_gateway: true\n"                                         /* 18 */
    "  remote_secrets: true\n";                                         /* 19 */

static const struct spec_resource *res(const struct spec *s, const char *address)
{
    const struct spec_resource *r = spec_find(s, address);
    if (!r) fail_msg("no resource %s", address);
    return r;
}

static const json_t *attr(const struct spec *s, const char *address, const char *path)
{
    const json_t *v = res(s, address)->attrs;
    char buf[300];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok(buf, "/"); k && v; k = strtok(NULL, "/")) v = json_object_get(v, k);
    return v;
}

static const char *str(const struct spec *s, const char *address, const char *path)
{
    const json_t *v = attr(s, address, path);
    if (!json_is_string(v)) fail_msg("%s %s is not a string", address, path);
    return json_string_value(v);
}

static int has_edge(const struct spec *s, const char *from, const char *address, const char *output)
{
    const struct spec_resource *r = res(s, from);
    for (size_t i = 0; i < r->deps.len; i++) {
        const struct spec_dep *d = r->deps.items[i];
        if (strcmp(d->address, address) != 0) continue;
        if (!output ? !d->output : d->output && strcmp(d->output, output) == 0) return 1;
    }
    return 0;
}

static size_t count_prefix(const struct spec *s, const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < s->resources.len; i++)
        n += strncmp(((struct spec_resource *)s->resources.items[i])->address, prefix, strlen(prefix)) == 0;
    return n;
}

static struct spec *load_ok(const char *text, struct diag_list *dl)
{
    struct spec *s = load(text, dl);
    if (!s) {
        for (size_t i = 0; i < dl->items.len; i++) {
            const struct diag *d = dl->items.items[i];
            print_error("%d:%d: %s\n", d->line, d->col, d->msg);
        }
        fail_msg("the spec did not load");
    }
    return s;
}

static void test_reference_addresses_connections_edges(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load_ok(reference, &dl);
    static const char *const per_cluster[] = {
        "kubernetes_namespace.%s.istio-system", "kubernetes_secret.%s.cacerts", "helm_release.%s.aws-load-balancer-controller",
        "helm_release.%s.istio-base", "helm_release.%s.istiod", "helm_release.%s.istio-ingressgateway",
        "kubernetes_service_account_token.%s.istio-reader", NULL};
    char a[200], conn[100];
    for (int c = 1; c <= 2; c++) {
        snprintf(conn, sizeof(conn), "kubernetes_connection.cluster-%d", c);
        for (const char *const *p = per_cluster; *p; p++) {
            char name[20];
            snprintf(name, sizeof(name), "cluster-%d", c);
            snprintf(a, sizeof(a), *p, name);
            const struct spec_resource *r = res(s, a);
            assert_non_null(r->connection);
            assert_string_equal(r->connection, conn);
            assert_true(has_edge(s, a, conn, NULL));  /* the connection first */
        }
    }
    assert_string_equal(res(s, "kubernetes_secret.cluster-2.istio-remote-secret-cluster-1")->connection,
                        "kubernetes_connection.cluster-2");
    assert_string_equal(res(s, "kubernetes_secret.cluster-1.istio-remote-secret-cluster-2")->connection,
                        "kubernetes_connection.cluster-1");
    assert_null(spec_find(s, "kubernetes_secret.cluster-1.istio-remote-secret-cluster-1"));
    /* 8 Istio resources a cluster (with the controller's release), 2 remote secrets */
    size_t inside = count_prefix(s, "helm_release.") + count_prefix(s, "kubernetes_namespace.") +
                    count_prefix(s, "kubernetes_secret.") + count_prefix(s, "kubernetes_service_account_token.");
    assert_int_equal(inside, 2 * 7 + 2);

    const char *ns = "kubernetes_namespace.cluster-1.istio-system";
    /* namespace -> cacerts -> istiod; base -> istiod; istiod -> reader token -> remote secrets */
    assert_true(has_edge(s, "kubernetes_secret.cluster-1.cacerts", ns, NULL));
    assert_true(has_edge(s, "kubernetes_secret.cluster-1.cacerts", "pki_intermediate_ca.cluster-1", "ca_key_pem"));
    assert_true(has_edge(s, "helm_release.cluster-1.istiod", "kubernetes_secret.cluster-1.cacerts", NULL));
    assert_true(has_edge(s, "helm_release.cluster-1.istiod", "kubernetes_secret.cluster-1.cacerts", "data_sha256"));
    assert_true(has_edge(s, "helm_release.cluster-1.istiod", "helm_release.cluster-1.istio-base", NULL));
    assert_true(has_edge(s, "helm_release.cluster-1.istio-base", ns, NULL));
    assert_true(has_edge(s, "helm_release.cluster-1.istiod", "aws_eks_node_group.cluster-1.default", NULL));
    assert_true(has_edge(s, "kubernetes_service_account_token.cluster-1.istio-reader", "helm_release.cluster-1.istiod", NULL));
    const char *rs = "kubernetes_secret.cluster-2.istio-remote-secret-cluster-1";
    assert_true(has_edge(s, rs, "kubernetes_service_account_token.cluster-1.istio-reader", "token"));
    assert_true(has_edge(s, rs, "kubernetes_service_account_token.cluster-1.istio-reader", "ca_data"));
    assert_true(has_edge(s, rs, "kubernetes_connection.cluster-1", "id"));
    assert_true(has_edge(s, rs, "kubernetes_namespace.cluster-2.istio-system", NULL));
    /* the controller before the gateway, after its IRSA role and the nodes */
    const char *gw = "helm_release.cluster-2.istio-ingressgateway", *lbc = "helm_release.cluster-2.aws-load-balancer-controller";
    assert_true(has_edge(s, gw, lbc, NULL));
    assert_true(has_edge(s, gw, "helm_release.cluster-2.istiod", NULL));
    assert_true(has_edge(s, lbc, "aws_iam_role.cluster-2.lbc", "arn"));
    assert_true(has_edge(s, lbc, "aws_eks_node_group.cluster-2.default", NULL));

    /* positions: the controller at its key, Istio's at the section, remote secrets at their switch */
    assert_int_equal(res(s, lbc)->line, 11);
    assert_int_equal(res(s, lbc)->col, 5);
    assert_int_equal(res(s, "helm_release.cluster-1.istiod")->line, 12);
    assert_int_equal(res(s, ns)->line, 16);
    assert_int_equal(res(s, rs)->line, 19);
    assert_string_equal(res(s, rs)->origin, "istio");
    assert_string_equal(res(s, lbc)->origin, "clusters");
    spec_free(s);
    diag_list_release(&dl);
}

/* A member whose key holds a `/` (annotations): path to the map, then the key. */
static const char *member(const struct spec *s, const char *address, const char *path, const char *key)
{
    const json_t *v = json_object_get(attr(s, address, path), key);
    if (!json_is_string(v)) fail_msg("%s %s[%s] is not a string", address, path, key);
    return json_string_value(v);
}

static void test_values(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load_ok(reference, &dl);
    const char *d1 = "helm_release.cluster-1.istiod", *d2 = "helm_release.cluster-2.istiod";
    assert_string_equal(str(s, d1, "values/global/meshID"), "mesh1");
    assert_string_equal(str(s, d1, "values/global/multiCluster/clusterName"), "cluster-1");
    assert_string_equal(str(s, d2, "values/global/multiCluster/clusterName"), "cluster-2");
    assert_string_equal(str(s, d1, "values/global/network"), "network1");
    assert_string_equal(member(s, d1, "values/podAnnotations", "checksum/cacerts"),
                        "${kubernetes_secret.cluster-1.cacerts.data_sha256}");
    /* IPv6 on the IPv6 cluster only (istio.io, dual-stack) */
    assert_string_equal(str(s, d2, "values/pilot/env/ISTIO_DUAL_STACK"), "true");
    assert_string_equal(str(s, d2, "values/meshConfig/defaultConfig/proxyMetadata/ISTIO_DUAL_STACK"), "true");
    assert_string_equal(str(s, d2, "values/ipFamilyPolicy"), "PreferDualStack");
    assert_null(attr(s, d1, "values/pilot"));
    assert_null(attr(s, d1, "values/ipFamilyPolicy"));
    assert_null(attr(s, d1, "values/meshConfig"));
    /* the hash is not a secret: istiod's values stay readable in plans */
    assert_false(spec_attr_sensitive(res(s, d1), res(s, d1)->driver, "values"));
    assert_true(spec_attr_sensitive(res(s, "kubernetes_secret.cluster-1.cacerts"),
                                    res(s, "kubernetes_secret.cluster-1.cacerts")->driver, "data"));

    /* chart sources: a local folder of charts gives FOLDER/NAME, no repository, no version */
    assert_string_equal(str(s, d1, "chart"), "./charts/istiod");
    assert_null(attr(s, d1, "repository"));
    assert_null(attr(s, d1, "version"));
    assert_string_equal(str(s, "helm_release.cluster-1.istio-base", "chart"), "./charts/base");
    assert_string_equal(str(s, "helm_release.cluster-1.istio-ingressgateway", "chart"), "./charts/gateway");
    assert_string_equal(str(s, "helm_release.cluster-1.aws-load-balancer-controller", "chart"),
                        "./charts/aws-load-balancer-controller");
    assert_string_equal(str(s, d1, "namespace"), "istio-system");
    assert_string_equal(str(s, d1, "name"), "istiod");

    /* the gateway: a dual-stack internet-facing NLB made by the controller */
    const char *gw = "helm_release.cluster-1.istio-ingressgateway", *an = "values/service/annotations";
    assert_string_equal(member(s, gw, an, "service.beta.kubernetes.io/aws-load-balancer-type"), "external");
    assert_string_equal(member(s, gw, an, "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"), "ip");
    assert_string_equal(member(s, gw, an, "service.beta.kubernetes.io/aws-load-balancer-scheme"), "internet-facing");
    assert_string_equal(member(s, gw, an, "service.beta.kubernetes.io/aws-load-balancer-ip-address-type"), "dualstack");
    assert_string_equal(str(s, gw, "name"), "istio-ingressgateway");

    /* the controller: kube-system, the cluster, region and VPC, the IRSA role on its account */
    const char *lbc = "helm_release.cluster-1.aws-load-balancer-controller";
    assert_string_equal(str(s, lbc, "namespace"), "kube-system");
    assert_string_equal(str(s, lbc, "values/clusterName"), "cluster-1");
    assert_string_equal(str(s, lbc, "values/region"), "us-west-2");
    assert_string_equal(str(s, lbc, "values/vpcId"), "${aws_vpc.main.id}");
    assert_string_equal(str(s, lbc, "values/serviceAccount/name"), "aws-load-balancer-controller");
    assert_string_equal(member(s, lbc, "values/serviceAccount/annotations", "eks.amazonaws.com/role-arn"),
                        "${aws_iam_role.cluster-1.lbc.arn}");

    /* the namespace, cacerts, the reader token */
    assert_string_equal(member(s, "kubernetes_namespace.cluster-1.istio-system", "labels", "topology.istio.io/network"),
                        "network1");
    const char *ca = "kubernetes_secret.cluster-1.cacerts";
    assert_string_equal(str(s, ca, "data/ca-cert.pem"), "${pki_intermediate_ca.cluster-1.ca_cert_pem}");
    assert_string_equal(str(s, ca, "data/ca-key.pem"), "${pki_intermediate_ca.cluster-1.ca_key_pem}");
    assert_string_equal(str(s, ca, "data/cert-chain.pem"), "${pki_intermediate_ca.cluster-1.cert_chain_pem}");
    assert_string_equal(str(s, ca, "data/root-cert.pem"), "${pki_intermediate_ca.cluster-1.root_cert_pem}");
    const char *tok = "kubernetes_service_account_token.cluster-1.istio-reader";
    assert_string_equal(str(s, tok, "service_account"), "istio-reader-service-account");
    assert_string_equal(str(s, tok, "name"), "istio-reader-service-account-istio-remote-secret-token");
    spec_free(s);
    diag_list_release(&dl);

    /* the public repositories by default; an https repository names the chart in it with the
     * version; an oci:// source and a local path are taken as they are */
    s = load_ok("network:\nclusters:\n  c: {load_balancer_controller: {chart: oci://r.example/lbc, version: 9.9.9}}\n"
                "  d: {load_balancer_controller: {chart: ./my/lbc.tgz}}\n"
                "istio: {version: 1.24.2, charts: {istiod: ./local/istiod}}\n",
                &dl);
    assert_string_equal(str(s, "helm_release.c.istio-base", "chart"), "base");
    assert_string_equal(str(s, "helm_release.c.istio-base", "repository"), ISTIO_CHARTS_REPOSITORY);
    assert_string_equal(str(s, "helm_release.c.istio-base", "version"), "1.24.2");
    assert_string_equal(str(s, "helm_release.c.istiod", "chart"), "./local/istiod");
    assert_null(attr(s, "helm_release.c.istiod", "repository"));
    assert_string_equal(str(s, "helm_release.c.aws-load-balancer-controller", "chart"), "oci://r.example/lbc");
    assert_string_equal(str(s, "helm_release.c.aws-load-balancer-controller", "version"), "9.9.9");
    assert_null(attr(s, "helm_release.c.aws-load-balancer-controller", "repository"));
    assert_string_equal(str(s, "helm_release.d.aws-load-balancer-controller", "chart"), "./my/lbc.tgz");
    assert_null(attr(s, "helm_release.d.aws-load-balancer-controller", "version"));
    /* no pki: no cacerts, and no hash on istiod */
    assert_null(spec_find(s, "kubernetes_secret.c.cacerts"));
    assert_null(attr(s, "helm_release.c.istiod", "values/podAnnotations"));
    spec_free(s);
    diag_list_release(&dl);
    s = load_ok("network:\nclusters: {c: {}}\n", &dl);  /* no istio: the controller all the same */
    assert_string_equal(str(s, "helm_release.c.aws-load-balancer-controller", "chart"), LBC_CHART_NAME);
    assert_string_equal(str(s, "helm_release.c.aws-load-balancer-controller", "repository"), LBC_CHART_REPOSITORY);
    assert_string_equal(str(s, "helm_release.c.aws-load-balancer-controller", "version"), LBC_CHART_VERSION);
    assert_null(spec_find(s, "helm_release.c.istiod"));
    spec_free(s);
    diag_list_release(&dl);
    s = load_ok("network:\nclusters: {c: {load_balancer_controller: {release: false}}}\n", &dl);
    assert_null(spec_find(s, "helm_release.c.aws-load-balancer-controller"));
    assert_non_null(spec_find(s, "aws_iam_role.c.lbc"));  /* its role all the same */
    spec_free(s);
    diag_list_release(&dl);
}

/* n existing clusters c0..c(n-1), with extra text under istio:. */
static char *existing_spec(int n, const char *istio_extra)
{
    size_t cap = 4096 + (size_t)n * 80;
    char *t = malloc(cap);  /* test code: the lint's allocation rule is for the sources */
    size_t off = (size_t)snprintf(t, cap, "pki: {root: {algorithm: ecdsa-p256}}\nclusters:\n");
    for (int i = 0; i < n; i++) off += (size_t)snprintf(t + off, cap - off, "  c%d: {existing: {kubeconfig: ./k%d}}\n", i, i);
    snprintf(t + off, cap - off, "istio:\n  version: 1.24.2\n%s", istio_extra);
    return t;
}

static void test_remote_secrets(void **state)
{
    (void)state;
    struct diag_list dl;
    char *t = existing_spec(3, "");
    struct spec *s = load_ok(t, &dl);
    free(t);
    assert_int_equal(count_prefix(s, "kubernetes_secret.") - 3 /* cacerts */, 6);
    assert_int_equal(count_prefix(s, "kubernetes_service_account_token."), 3);
    const char *rs = "kubernetes_secret.c2.istio-remote-secret-c0";
    assert_string_equal(str(s, rs, "namespace"), "istio-system");
    assert_string_equal(str(s, rs, "name"), "istio-remote-secret-c0");
    assert_string_equal(member(s, rs, "labels", "istio/multiCluster"), "true");
    assert_string_equal(member(s, rs, "annotations", "networking.istio.io/cluster"), "c0");
    const json_t *data = attr(s, rs, "data");
    assert_int_equal(json_object_size(data), 1);
    const char *kc = str(s, rs, "data/c0");
    assert_non_null(strstr(kc, "    server: ${kubernetes_connection.c0.id}\n"));
    assert_non_null(strstr(kc, "    certificate-authority-data: ${kubernetes_service_account_token.c0.istio-reader.ca_data}\n"));
    assert_non_null(strstr(kc, "    token: ${kubernetes_service_account_token.c0.istio-reader.token}\n"));
    assert_non_null(strstr(kc, "current-context: \"c0\"\n"));
    assert_true(spec_attr_sensitive(res(s, rs), res(s, rs)->driver, "data"));
    /* existing clusters: no controller; their releases wait for no node group */
    assert_int_equal(count_prefix(s, "helm_release.c0."), 3);
    assert_null(spec_find(s, "helm_release.c0.aws-load-balancer-controller"));
    assert_false(has_edge(s, "helm_release.c0.istio-ingressgateway", "helm_release.c0.aws-load-balancer-controller", NULL));
    spec_free(s);
    diag_list_release(&dl);

    t = existing_spec(3, "  remote_secrets: false\n  ingress_gateway: false\n");
    s = load_ok(t, &dl);
    free(t);
    assert_int_equal(count_prefix(s, "kubernetes_secret.") - 3, 0);
    assert_int_equal(count_prefix(s, "kubernetes_service_account_token."), 0);
    assert_null(spec_find(s, "helm_release.c0.istio-ingressgateway"));
    assert_non_null(spec_find(s, "helm_release.c0.istiod"));
    spec_free(s);
    diag_list_release(&dl);
}

/* The figure of the 20-cluster benchmark (tests/bench/istio_plan.sh): 20 × 19 remote secrets. */
static void test_twenty_clusters(void **state)
{
    (void)state;
    struct diag_list dl;
    char *t = existing_spec(20, "");
    struct spec *s = load_ok(t, &dl);
    free(t);
    size_t remote = 0;
    for (size_t i = 0; i < s->resources.len; i++)
        remote += strstr(((struct spec_resource *)s->resources.items[i])->address, ".istio-remote-secret-") != NULL;
    assert_int_equal(remote, 380);
    /* and per cluster: connection, pki key + intermediate, namespace, cacerts, 3 releases, token */
    assert_int_equal(s->resources.len, 2 + 20 * 9 + 380);
    spec_free(s);
    diag_list_release(&dl);
}

static void test_override(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load_ok("clusters:\n"
                             "  a: {existing: {kubeconfig: ./ka}}\n"
                             "  b:\n"
                             "    existing: {kubeconfig: ./kb}\n"
                             "    istio:\n"
                             "      version: 1.25.0\n"
                             "      values:\n"
                             "        istiod: {pilot: {replicaCount: 3}, global: {network: other}}\n"
                             "        gateway: {service: {annotations: {service.beta.kubernetes.io/aws-load-balancer-scheme: internal}}}\n"
                             "istio:\n"
                             "  version: 1.24.2\n"
                             "  namespace: mesh-system\n"
                             "  charts: {repository: https://charts.example/istio}\n"
                             "  values:\n"
                             "    istiod: {pilot: {replicaCount: 2, autoscaleEnabled: false}}\n",
                             &dl);
    const char *a = "helm_release.a.istiod", *b = "helm_release.b.istiod";
    assert_string_equal(str(s, a, "version"), "1.24.2");
    assert_string_equal(str(s, b, "version"), "1.25.0");
    assert_string_equal(str(s, "helm_release.b.istio-base", "version"), "1.25.0");
    assert_string_equal(str(s, b, "repository"), "https://charts.example/istio");
    assert_int_equal(json_integer_value(attr(s, a, "values/pilot/replicaCount")), 2);
    assert_int_equal(json_integer_value(attr(s, b, "values/pilot/replicaCount")), 3);  /* the cluster's wins */
    assert_true(json_is_false(attr(s, b, "values/pilot/autoscaleEnabled")));  /* istio.values' stays */
    assert_string_equal(str(s, b, "values/global/network"), "other");
    assert_string_equal(str(s, b, "values/global/meshID"), "mesh1");  /* merged key by key */
    assert_string_equal(str(s, b, "values/global/istioNamespace"), "mesh-system");
    assert_string_equal(member(s, "helm_release.b.istio-ingressgateway", "values/service/annotations",
                               "service.beta.kubernetes.io/aws-load-balancer-scheme"), "internal");
    assert_string_equal(member(s, "helm_release.a.istio-ingressgateway", "values/service/annotations",
                               "service.beta.kubernetes.io/aws-load-balancer-scheme"), "internet-facing");
    assert_non_null(spec_find(s, "kubernetes_namespace.b.mesh-system"));
    assert_string_equal(str(s, "kubernetes_secret.a.istio-remote-secret-b", "namespace"), "mesh-system");
    /* b's releases point at b's istio: key (line 5), a's at the section (line 10) */
    assert_int_equal(res(s, b)->line, 5);
    assert_int_equal(res(s, a)->line, 10);
    spec_free(s);
    diag_list_release(&dl);
}

static void test_existing_egress_patch(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load_ok("clusters:\n"
                             "  a: {existing: {kubeconfig: ./ka, vpc_cni_egress: ipv6}}\n"
                             "  b: {existing: {kubeconfig: ./kb, vpc_cni_egress: ipv4}}\n"
                             "  c: {existing: {kubeconfig: ./kc}}\n",
                             &dl);
    const char *pa = "kubernetes_manifest.a.aws-node-egress";
    assert_true(json_is_true(attr(s, pa, "patch")));
    assert_string_equal(res(s, pa)->connection, "kubernetes_connection.a");
    assert_string_equal(str(s, pa, "manifest/kind"), "DaemonSet");
    assert_string_equal(str(s, pa, "manifest/metadata/name"), "aws-node");
    assert_string_equal(str(s, pa, "manifest/metadata/namespace"), "kube-system");
    const json_t *ic = json_array_get(attr(s, pa, "manifest/spec/template/spec/initContainers"), 0);
    assert_string_equal(json_string_value(json_object_get(ic, "name")), "aws-vpc-cni-init");
    const json_t *env = json_array_get(json_object_get(ic, "env"), 0);
    assert_string_equal(json_string_value(json_object_get(env, "name")), "ENABLE_V6_EGRESS");
    assert_string_equal(json_string_value(json_object_get(env, "value")), "true");
    ic = json_array_get(attr(s, "kubernetes_manifest.b.aws-node-egress", "manifest/spec/template/spec/initContainers"), 0);
    env = json_array_get(json_object_get(ic, "env"), 0);
    assert_string_equal(json_string_value(json_object_get(env, "name")), "ENABLE_V4_EGRESS");
    assert_int_equal(res(s, pa)->line, 2);  /* at the key that asked for it */
    assert_null(spec_find(s, "kubernetes_manifest.c.aws-node-egress"));
    assert_null(spec_find(s, "kubernetes_connection.c"));  /* nothing belongs to c: never contacted */
    assert_int_equal(s->resources.len, 4);
    spec_free(s);
    diag_list_release(&dl);
}

static int has_diag(const struct diag_list *dl, int line, int col, const char *want)
{
    for (size_t i = 0; i < dl->items.len; i++) {
        const struct diag *d = dl->items.items[i];
        if (d->line == line && d->col == col && strstr(d->msg, want)) return 1;
    }
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    struct diag_list dl;
    assert_null(load("clusters:\n"
                     "  a:\n"
                     "    existing: {kubeconfig: ./ka}\n"
                     "    load_balancer_controller: {enabled: true}\n"
                     "    istio: {values: {istio_d: {}}}\n"
                     "istio:\n"
                     "  version: 1.24.2\n"
                     "  charts: {istod: ./x, gateway: gw}\n"
                     "  namespace: Istio System\n",
                     &dl));
    assert_int_equal(dl.errors, 4);
    assert_true(has_diag(&dl, 8, 12, "unknown key `istod` in `istio.charts`; did you mean `istiod`?"));
    assert_true(has_diag(&dl, 5, 22, "unknown key `istio_d` in `clusters.a.istio.values`; did you mean `istiod`?"));
    assert_true(has_diag(&dl, 4, 31, "`clusters.a.load_balancer_controller` describes a cluster mesh makes"));
    assert_true(has_diag(&dl, 9, 3, "`istio.namespace` must be a Kubernetes namespace name"));
    diag_list_release(&dl);
    assert_null(load("clusters:\n  a: {existing: {kubeconfig: ./ka}, istio: {version: 1.25.0}}\n", &dl));
    assert_int_equal(dl.errors, 1);
    assert_true(has_diag(&dl, 2, 37, "`clusters.a.istio` sets this cluster's Istio, but the spec has no `istio:` section"));
    diag_list_release(&dl);
    assert_null(load("clusters: {a: {existing: {kubeconfig: ./ka}}}\nistio: {version: 1.24.2, namespace: Istio}\n", &dl));
    assert_int_equal(dl.errors, 1);
    assert_true(has_diag(&dl, 2, 26, "`istio.namespace` must be a Kubernetes namespace name"));
    diag_list_release(&dl);
    assert_null(load("clusters: {a: {existing: {kubeconfig: ./ka, vpc_cni_egress: ipv5}}}\n", &dl));
    assert_int_equal(dl.errors, 1);
    assert_non_null(strstr(((struct diag *)dl.items.items[0])->msg, "vpc_cni_egress"));
    diag_list_release(&dl);
}

static char scratch[] = "/tmp/test_compile_istio.XXXXXX";
static char home[4096];

static int in_scratch(void **state)
{
    (void)state;
    if (!getcwd(home, sizeof(home)) || !mkdtemp(scratch) || chdir(scratch) != 0) return -1;
    static const char *const dirs[] = {"charts", "charts/base", "charts/istiod", "charts/gateway",
                                       "charts/aws-load-balancer-controller", "local", "local/istiod", "my", NULL};
    for (const char *const *d = dirs; *d; d++)
        if (mkdir(*d, 0700) != 0) return -1;
    static const char *const files[] = {"charts/base/Chart.yaml", "charts/istiod/Chart.yaml", "charts/gateway/Chart.yaml",
                                        "charts/aws-load-balancer-controller/Chart.yaml", "local/istiod/Chart.yaml",
                                        "my/lbc.tgz", NULL};
    for (const char *const *p = files; *p; p++) {
        FILE *f = fopen(*p, "w");
        if (!f) return -1;
        fputs("apiVersion: v2\nname: stand-in\nversion: 1.0.0\n", f);
        fclose(f);
    }
    return 0;
}

static int out_of_scratch(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
    int rc = chdir(home) == 0 && system(cmd) == 0;
    return rc ? 0 : -1;
}

/* A chart folder that is not there: one error per chart (not per cluster), at the key that made
 * the release. */
static void test_missing_chart(void **state)
{
    (void)state;
    struct diag_list dl;
    assert_null(load("clusters:\n"
                     "  a: {existing: {kubeconfig: ./ka}}\n"
                     "  b: {existing: {kubeconfig: ./kb}}\n"
                     "istio:\n"
                     "  version: 1.24.2\n"
                     "  charts: {repository: ./nope, istiod: ./local/istiod}\n",
                     &dl));
    assert_int_equal(dl.errors, 2);  /* base and gateway, in a only */
    assert_true(has_diag(&dl, 4, 1, "`helm_release.a.istio-base` chart: local chart ./nope/base does not exist"));
    assert_true(has_diag(&dl, 4, 1, "`helm_release.a.istio-ingressgateway` chart: local chart ./nope/gateway does not exist"));
    diag_list_release(&dl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_addresses_connections_edges),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_remote_secrets),
        cmocka_unit_test(test_twenty_clusters),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_existing_egress_patch),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing_chart),
    };
    return cmocka_run_group_tests(tests, in_scratch, out_of_scratch);
}
