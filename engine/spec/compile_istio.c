/* compile_istio.c: the `istio:` section (with `clusters:` and `pki:`) → Istio multi-primary on
 * one network, per cluster C whose connection compile_clusters made (docs/spec.md, "istio"):
 *   kubernetes_namespace.C.<NS>              labelled topology.istio.io/network
 *   kubernetes_secret.C.cacerts              the PKI's intermediate of C (pki: only)
 *   helm_release.C.istio-base                after the namespace
 *   helm_release.C.istiod                    after base and cacerts; its pods carry the hash of the
 *                                            CA bundle, so a new cacerts (a root rotation) rolls them
 *   helm_release.C.istio-ingressgateway      istio.ingress_gateway: after istiod and C's load
 *                                            balancer controller (its Service needs the webhook)
 *   kubernetes_service_account_token.C.istio-reader   after istiod (base makes the account, istiod
 *                                            binds its reader role)
 *   kubernetes_secret.O.istio-remote-secret-C          istio.remote_secrets: in every other cluster
 *                                            O, the kubeconfig istioctl create-remote-secret makes
 * Every resource belongs to its cluster's connection. The edges the reference left implicit are
 * written down here: as depends_on where no reference carries them. Releases of a cluster mesh
 * makes also wait for its node groups (helm waits for pods). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "spec/spec_int.h"
#include "base/strbuf.h"

#define ADDR_MAX 400
#define READER_SA "istio-reader-service-account"
#define READER_SECRET READER_SA "-istio-remote-secret-token"
#define CACERTS_HASH_ANNOTATION "checksum/cacerts"

struct ist {
    struct spec *s;
    const struct spec_ctx *c;
    const struct node *sec;      /* the istio: map */
    const struct node *sec_key;  /* its key: where what it makes points */
    const char *ns, *network, *mesh_id;
    const struct node *charts, *values;
    int gateway, remote;
};

/* One cluster. */
struct one {
    const struct ist *t;
    const struct node *key, *body;
    const struct node *over;     /* clusters.C.istio, or NULL */
    const struct node *at;       /* where C's releases point */
    const char *name;
    char conn[ADDR_MAX], ns_addr[ADDR_MAX];
    int ipv6, eks;
    int check_charts;            /* the first cluster: its charts are checked (the others' are the same) */
};

static struct spec_resource *res_new(const struct one *o, const char *address, const struct node *at)
{
    struct spec_resource *r = spec_resource_new(address, at, "istio");
    spec_set_connection(r, o->conn, r->line, r->col);
    return r;
}

static void set(struct spec_resource *r, const char *key, json_t *v) { json_object_set_new(r->attrs, key, v); }

static void after(struct spec_resource *r, const char *address) { spec_add_dep(r, address, NULL, r->line, r->col); }

static void res_add(const struct one *o, struct spec_resource *r)
{
    cu_edges(o->t->c, r, r->attrs);
    /* a local chart that is not there, at the key that named it: once, not once per cluster */
    if (o->check_charts && !strcmp(r->type, "helm_release")) spec_check_compiled(r, o->t->c);
    spec_add_resource(o->t->s, r, o->t->c);
}

static void after_node_groups(const struct one *o, struct spec_resource *r)
{
    if (!o->eks) return;
    char prefix[ADDR_MAX];
    int n = snprintf(prefix, sizeof(prefix), "aws_eks_node_group.%s.", o->name);
    const struct spec *s = o->t->s;
    for (size_t i = 0; i < s->resources.len; i++) {
        const struct spec_resource *g = s->resources.items[i];
        if (strncmp(g->address, prefix, (size_t)n) == 0) after(r, g->address);
    }
}

/* ---- the namespace and cacerts ---- */

static void namespace(const struct one *o)
{
    const struct ist *t = o->t;
    const struct node *at = cu_key(t->sec, "namespace");
    struct spec_resource *r = res_new(o, o->ns_addr, at ? at : t->sec_key);
    set(r, "name", json_string(t->ns));
    set(r, "labels", json_pack("{s:s}", "topology.istio.io/network", t->network));
    res_add(o, r);
}

/* The layout of Istio's plug-in CA secret (istio.io, "Plug in CA Certificates"). */
static void cacerts(const struct one *o)
{
    char a[ADDR_MAX], ca[ADDR_MAX];
    snprintf(ca, sizeof(ca), "pki_intermediate_ca.%s", o->name);
    snprintf(a, sizeof(a), "kubernetes_secret.%s.cacerts", o->name);
    struct spec_resource *r = res_new(o, a, o->t->sec_key);
    set(r, "namespace", json_string(o->t->ns));
    set(r, "name", json_string("cacerts"));
    set(r, "data", json_pack("{s:o, s:o, s:o, s:o}", "ca-cert.pem", cu_ref(ca, "ca_cert_pem"), "ca-key.pem",
                             cu_ref(ca, "ca_key_pem"), "cert-chain.pem", cu_ref(ca, "cert_chain_pem"), "root-cert.pem",
                             cu_ref(ca, "root_cert_pem")));
    after(r, o->ns_addr);
    res_add(o, r);
}

/* ---- releases ---- */

/* chart is base, istiod or gateway: its source from istio.charts, its values from istio.values
 * then clusters.C.istio.values, over mesh's own (values, taken). */
static struct spec_resource *release(const struct one *o, const char *name, const char *chart, json_t *values)
{
    const struct ist *t = o->t;
    char a[ADDR_MAX];
    snprintf(a, sizeof(a), "helm_release.%s.%s", o->name, name);
    struct spec_resource *r = res_new(o, a, o->at);
    set(r, "name", json_string(name));
    set(r, "namespace", json_string(t->ns));
    const char *version = cu_str(o->over, "version", cu_str(t->sec, "version", NULL));
    helm_chart_set(r, cu_str(t->charts, chart, chart), cu_str(t->charts, "repository", ISTIO_CHARTS_REPOSITORY), version);
    if (strcmp(t->ns, "istio-system") != 0) {  /* the charts find istiod's namespace here */
        json_t *g = json_object_get(values, "global");
        if (!g) json_object_set_new(values, "global", g = json_object());
        json_object_set_new(g, "istioNamespace", json_string(t->ns));
    }
    helm_values_merge(values, node_get(t->values, chart));
    helm_values_merge(values, node_get(node_get(o->over, "values"), chart));
    set(r, "values", values);
    after(r, o->ns_addr);
    return r;
}

/* Value names as istiod's chart reads them since 1.24 (top level; it copies `pilot.*` over them,
 * so `pilot.env` works in every version). */
static json_t *istiod_values(const struct one *o, const char *cacerts)
{
    const struct ist *t = o->t;
    json_t *v = json_pack("{s:{s:s, s:{s:s}, s:s}}", "global", "meshID", t->mesh_id, "multiCluster", "clusterName",
                          o->name, "network", t->network);
    if (cacerts) /* a new CA bundle changes the pod template: the upgrade restarts istiod to load it */
        json_object_set_new(v, "podAnnotations", json_pack("{s:o}", CACERTS_HASH_ANNOTATION, cu_ref(cacerts, "data_sha256")));
    if (o->ipv6) {
        /* istio.io, "Install Istio in Dual-Stack mode": istiod and the proxies serve both families,
         * so an IPv6 cluster's workloads reach the IPv4 cluster's (through the nodes' egress). */
        json_object_set_new(v, "pilot", json_pack("{s:{s:s}}", "env", "ISTIO_DUAL_STACK", "true"));
        json_object_set_new(v, "meshConfig", json_pack("{s:{s:{s:s}}}", "defaultConfig", "proxyMetadata", "ISTIO_DUAL_STACK", "true"));
        json_object_set_new(v, "ipFamilyPolicy", json_string("PreferDualStack"));
    }
    return v;
}

static void releases(const struct one *o)
{
    const struct ist *t = o->t;
    char base[ADDR_MAX], istiod[ADDR_MAX], cacerts[ADDR_MAX], lbc[ADDR_MAX], a[ADDR_MAX];
    struct spec_resource *r = release(o, "istio-base", "base", json_object());
    snprintf(base, sizeof(base), "%s", r->address);
    res_add(o, r);

    snprintf(cacerts, sizeof(cacerts), "kubernetes_secret.%s.cacerts", o->name);
    int has_ca = spec_find(t->s, cacerts) != NULL;
    r = release(o, "istiod", "istiod", istiod_values(o, has_ca ? cacerts : NULL));
    snprintf(istiod, sizeof(istiod), "%s", r->address);
    after(r, base);  /* the CRDs and the validating webhook's config first */
    if (has_ca) after(r, cacerts);  /* istiod reads cacerts once, at start */
    after_node_groups(o, r);
    res_add(o, r);

    if (t->gateway) {
        json_t *svc = json_pack("{s:{s:{s:s, s:s, s:s, s:s}}}", "service", "annotations",
                                "service.beta.kubernetes.io/aws-load-balancer-type", "external",
                                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type", "ip",
                                "service.beta.kubernetes.io/aws-load-balancer-scheme", "internet-facing",
                                "service.beta.kubernetes.io/aws-load-balancer-ip-address-type", "dualstack");
        r = release(o, "istio-ingressgateway", "gateway", svc);
        after(r, istiod);  /* its pods get their config from istiod */
        snprintf(lbc, sizeof(lbc), "helm_release.%s.%s", o->name, LBC_CHART_NAME);
        if (spec_find(t->s, lbc)) after(r, lbc);  /* the controller's webhook makes its NLB */
        after_node_groups(o, r);
        res_add(o, r);
    }

    if (!t->remote) return;
    snprintf(a, sizeof(a), "kubernetes_service_account_token.%s.istio-reader", o->name);
    r = res_new(o, a, t->sec_key);
    set(r, "namespace", json_string(t->ns));
    set(r, "service_account", json_string(READER_SA));
    set(r, "name", json_string(READER_SECRET));
    after(r, istiod);  /* base makes the account, istiod binds its reader role (after base) */
    res_add(o, r);
}

/* ---- remote secrets ---- */

/* The kubeconfig `istioctl create-remote-secret` puts in the secret: cluster C's server and CA,
 * and the reader token. Names are quoted: a cluster named `true` or `1` stays a string. */
static json_t *kubeconfig(const char *cluster)
{
    char conn[ADDR_MAX], tok[ADDR_MAX];
    snprintf(conn, sizeof(conn), "kubernetes_connection.%s", cluster);
    snprintf(tok, sizeof(tok), "kubernetes_service_account_token.%s.istio-reader", cluster);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb,
                "apiVersion: v1\n"
                "kind: Config\n"
                "clusters:\n"
                "- cluster:\n"
                "    certificate-authority-data: ${%s.ca_data}\n"
                "    server: ${%s.id}\n"
                "  name: \"%s\"\n"
                "contexts:\n"
                "- context:\n"
                "    cluster: \"%s\"\n"
                "    user: \"%s\"\n"
                "  name: \"%s\"\n"
                "current-context: \"%s\"\n"
                "preferences: {}\n"
                "users:\n"
                "- name: \"%s\"\n"
                "  user:\n"
                "    token: ${%s.token}\n",
                tok, conn, cluster, cluster, cluster, cluster, cluster, cluster, tok);
    json_t *v = json_string(sb.buf);
    strbuf_release(&sb);
    return v;
}

/* In cluster o (its namespace there), the secret that lets o's istiod watch cluster c. */
static void remote_secret(const struct one *o, const char *c)
{
    const struct ist *t = o->t;
    char a[ADDR_MAX * 2 + 40], name[ADDR_MAX];
    snprintf(name, sizeof(name), "istio-remote-secret-%s", c);
    snprintf(a, sizeof(a), "kubernetes_secret.%s.%s", o->name, name);
    const struct node *at = cu_key(t->sec, "remote_secrets");
    struct spec_resource *r = res_new(o, a, at ? at : t->sec_key);
    set(r, "namespace", json_string(t->ns));
    set(r, "name", json_string(name));
    set(r, "labels", json_pack("{s:s}", "istio/multiCluster", "true"));
    set(r, "annotations", json_pack("{s:s}", "networking.istio.io/cluster", c));
    set(r, "data", json_pack("{s:o}", c, kubeconfig(c)));
    after(r, o->ns_addr);
    res_add(o, r);
}

/* ---- the section ---- */

static int one_init(struct one *o, const struct ist *t, const struct node *key, const struct node *body)
{
    memset(o, 0, sizeof(*o));
    o->t = t;
    o->key = key;
    o->body = body;
    o->name = key->scalar;
    snprintf(o->conn, sizeof(o->conn), "kubernetes_connection.%s", o->name);
    if (!spec_find(t->s, o->conn)) return -1;  /* the cluster did not compile, or no Kubernetes provider */
    snprintf(o->ns_addr, sizeof(o->ns_addr), "kubernetes_namespace.%s.%s", o->name, t->ns);
    o->over = node_get(body, "istio");
    const struct node *ok = cu_key(body, "istio");
    o->at = ok ? ok : t->sec_key;
    o->ipv6 = strcmp(cu_str(body, "ip_family", "ipv4"), "ipv6") == 0;
    o->eks = !node_get(body, "existing");
    return 0;
}

/* A Kubernetes namespace name (RFC 1123 label): it is also a segment of the addresses made here. */
static int dns_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return 0;
    return 1;
}

static const struct node *section_key(const struct node *root, const struct node *section)
{
    for (size_t i = 0; i < root->n; i++)
        if (root->pairs[i].value == section) return root->pairs[i].key;
    return section;
}

void compile_istio(struct spec *s, const struct node *section, const struct spec_ctx *c)
{
    const struct node *clusters = node_get(s->root, "clusters");
    if (section->kind != NODE_MAP || !clusters || clusters->kind != NODE_MAP) return;  /* the schema said so */
    struct ist t = {.s = s, .c = c, .sec = section, .sec_key = section_key(s->root, section),
                    .ns = cu_str(section, "namespace", "istio-system"), .network = cu_str(section, "network", "network1"),
                    .mesh_id = cu_str(section, "mesh_id", "mesh1"), .charts = node_get(section, "charts"),
                    .values = node_get(section, "values"), .gateway = cu_bool(section, "ingress_gateway", 1),
                    .remote = cu_bool(section, "remote_secrets", 1)};
    if (!dns_label(t.ns)) {
        const struct node *k = cu_key(section, "namespace");
        diag_error(c->dl, c->file, k ? k->line : t.sec_key->line, k ? k->col : t.sec_key->col,
                   "`istio.namespace` must be a Kubernetes namespace name (lowercase letters, digits and `-`), not `%s`",
                   t.ns);
        return;
    }
    struct one o;
    int checked = 0;
    for (size_t i = 0; i < clusters->n; i++) {
        if (one_init(&o, &t, clusters->pairs[i].key, clusters->pairs[i].value)) continue;
        o.check_charts = !checked++;
        namespace(&o);
        char ca[ADDR_MAX];
        snprintf(ca, sizeof(ca), "pki_intermediate_ca.%s", o.name);
        if (spec_find(s, ca)) cacerts(&o);
        releases(&o);
    }
    if (!t.remote) return;
    for (size_t i = 0; i < clusters->n; i++) {  /* in every cluster, a secret per other cluster */
        if (one_init(&o, &t, clusters->pairs[i].key, clusters->pairs[i].value)) continue;
        for (size_t j = 0; j < clusters->n; j++) {
            char conn[ADDR_MAX];
            const char *other = clusters->pairs[j].key->scalar;
            snprintf(conn, sizeof(conn), "kubernetes_connection.%s", other);
            if (j != i && spec_find(s, conn)) remote_secret(&o, other);
        }
    }
}
