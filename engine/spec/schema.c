/* schema.c: the schema table of every spec section (see schema.h and docs/spec.md) and the
 * walker that validates a node tree against them, collecting every problem. */
#include "spec/schema.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/suggest.h"

#define END {NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL}

static void check_pki(const struct node *v, const char *path, const struct spec_ctx *c);
static void check_network(const struct node *v, const char *path, const struct spec_ctx *c);
static void check_state(const struct node *v, const char *path, const struct spec_ctx *c);
static void check_cluster(const struct node *v, const char *path, const struct spec_ctx *c);
static void check_node_group(const struct node *v, const char *path, const struct spec_ctx *c);

static const struct schema_key string_item = {NULL, S_STRING, 0, NULL, NULL, NULL, NULL, "a string", NULL};
static const struct schema_key cidr4_item = {NULL, S_CIDR4, 0, NULL, NULL, NULL, NULL, "an IPv4 CIDR", NULL};

/* ---- mesh: ---- */
static const struct schema_key mesh_keys[] = {
    {"name", S_NAME, SK_REQUIRED, NULL, NULL, NULL, NULL,
     "the mesh's name; tags every object mesh makes (`mesh:name`) and prefixes cloud names", NULL},
    {"region", S_STRING, 0, NULL, NULL, NULL, "AWS_REGION, AWS_DEFAULT_REGION, then the profile's region",
     "AWS region of everything in the spec", NULL},
    {"profile", S_STRING, 0, NULL, NULL, NULL, "AWS_PROFILE, then `default`",
     "AWS profile of ~/.aws/credentials and ~/.aws/config", NULL},
    {"tags", S_DICT, 0, NULL, &string_item, NULL, "{}", "tags added to every cloud object", NULL},
    END,
};

/* ---- state: ---- */
static const struct schema_key state_keys[] = {
    {"backend", S_ENUM, 0, NULL, NULL, "local|s3", "local",
     "where state lives: a local file, or S3 shared by a team (docs/state.md)", NULL},
    {"path", S_STRING, 0, NULL, NULL, NULL, ".mesh/state.db beside the spec",
     "local: the state file (`--state` and MESH_STATE win over it); relative to the spec's folder", NULL},
    {"bucket", S_STRING, 0, NULL, NULL, NULL, NULL, "s3: the bucket (required)", NULL},
    {"key", S_STRING, 0, NULL, NULL, NULL, NULL, "s3: the state object's key, e.g. `mesh/prod.state` (required)", NULL},
    {"region", S_STRING, 0, NULL, NULL, NULL, "mesh.region, then AWS_REGION...", "s3: the bucket's region", NULL},
    {"lock_table", S_STRING, 0, NULL, NULL, NULL, "a lease object beside the state",
     "s3: DynamoDB table holding the lease (partition key `LockID`, a string)", NULL},
    {"kms_key_id", S_STRING, 0, NULL, NULL, NULL, "MESH_STATE_KEY on every machine",
     "s3: KMS key (ID, ARN or alias/NAME) wrapping the state key, so every machine allowed kms:Decrypt reads "
     "sensitive values", NULL},
    {"encrypt", S_BOOL, 0, NULL, NULL, NULL, "false", "s3: ask S3 to encrypt the objects at rest with SSE-KMS", NULL},
    {"sse_kms_key_id", S_STRING, 0, NULL, NULL, NULL, "aws/s3", "s3: with encrypt, the KMS key S3 uses", NULL},
    {"endpoint", S_STRING, 0, NULL, NULL, NULL, "AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS's",
     "s3: the S3 endpoint URL (an S3-compatible store, a test stand-in)", NULL},
    {"path_style", S_BOOL, 0, NULL, NULL, NULL, "AWS_S3_USE_PATH_STYLE, else virtual-hosted",
     "s3: address objects as ENDPOINT/BUCKET/KEY instead of BUCKET.ENDPOINT/KEY", NULL},
    END,
};

/* ---- pki: ---- */
static const struct schema_key pki_root_keys[] = {
    {"common_name", S_STRING, 0, NULL, NULL, NULL, "Root CA", "subject CN of the root certificate", NULL},
    {"organization", S_STRING, 0, NULL, NULL, NULL, "Istio", "subject O of the root certificate", NULL},
    {"algorithm", S_ENUM, 0, NULL, NULL, "rsa4096|ecdsa-p256", "rsa4096", "key algorithm of the root key", NULL},
    {"validity_days", S_INT, SK_POSITIVE, NULL, NULL, NULL, "3650", "lifetime of the root certificate", NULL},
    {"cert_file", S_STRING, 0, NULL, NULL, NULL, NULL,
     "import mode: PEM file of an existing root CA certificate (with key_file)", NULL},
    {"key_file", S_STRING, 0, NULL, NULL, NULL, NULL,
     "import mode: PEM file of its private key; read at apply, stored only encrypted", NULL},
    {"key_passphrase_env", S_STRING, 0, NULL, NULL, NULL, NULL,
     "import mode: environment variable holding the passphrase of an encrypted key_file", NULL},
    END,
};

static const struct schema_key pki_root_item = {NULL, S_OBJECT, 0, pki_root_keys, NULL, NULL, NULL,
                                                 "a root CA, with the keys of `pki.root`", NULL};

static const struct schema_key pki_intermediate_keys[] = {
    {"common_name", S_STRING, 0, NULL, NULL, NULL, "Intermediate CA", "subject CN of each intermediate", NULL},
    {"organization", S_STRING, 0, NULL, NULL, NULL, "Istio", "subject O of each intermediate", NULL},
    {"algorithm", S_ENUM, 0, NULL, NULL, "rsa4096|ecdsa-p256", "rsa4096", "key algorithm of each intermediate key", NULL},
    {"validity_days", S_INT, SK_POSITIVE, NULL, NULL, NULL, "730",
     "lifetime of each intermediate; must not outlive the root", NULL},
    END,
};

static const struct schema_key pki_keys[] = {
    {"root", S_OBJECT, 0, pki_root_keys, NULL, NULL, "a new root CA", "the mesh's root of trust", NULL},
    {"roots", S_DICT, 0, NULL, &pki_root_item, NULL, "unset (one root, `pki.root`)",
     "several root CAs by name, for a rotation in steps (docs/pki.md); instead of `root`", NULL},
    {"active_root", S_STRING, 0, NULL, NULL, NULL, "the only root of `roots`",
     "with `roots`: the root that issues every intermediate", NULL},
    {"trusted_roots", S_LIST, 0, NULL, &string_item, NULL, "[active_root]",
     "with `roots`: the roots every cluster trusts (its root-cert.pem bundle); must include active_root", NULL},
    {"intermediate", S_OBJECT, 0, pki_intermediate_keys, NULL, NULL, "defaults below",
     "settings of the intermediate CA made for every cluster (its subject gets L=<cluster>)", NULL},
    {"renew_before_days", S_INT, SK_POSITIVE, NULL, NULL, NULL, "30",
     "plan a renewal this many days before a certificate expires; under half its validity", NULL},
    {"export_dir", S_STRING, 0, NULL, NULL, NULL, "unset (nothing written)",
     "also write root-cert.pem and <cluster>/{ca-cert,ca-key,cert-chain,root-cert}.pem here", NULL},
    END,
};

/* ---- network: ---- */
static const struct schema_key network_existing_keys[] = {
    {"vpc_id", S_STRING, SK_REQUIRED, NULL, NULL, NULL, NULL, "ID of the VPC to use (vpc-...)", NULL},
    {"subnet_ids", S_LIST, SK_REQUIRED, NULL, &string_item, NULL, NULL, "IDs of the subnets clusters go in", NULL},
    END,
};

static const struct schema_key network_keys[] = {
    {"cidr", S_CIDR4, 0, NULL, NULL, NULL, "10.6.0.0/16", "the VPC's IPv4 CIDR block", NULL},
    {"ipv6", S_BOOL, 0, NULL, NULL, NULL, "true", "dual stack: an Amazon-provided IPv6 /56, a /64 per subnet", NULL},
    {"azs", S_INT, SK_POSITIVE, NULL, NULL, NULL, "3", "how many availability zones (the region's first N)", NULL},
    {"private_subnets", S_LIST, 0, NULL, &cidr4_item, NULL, "10.6.0.0/20, 10.6.16.0/20, 10.6.32.0/20",
     "one IPv4 CIDR per AZ for the private subnets (IPv6 /64 indexes 3, 4, 5)", NULL},
    {"public_subnets", S_LIST, 0, NULL, &cidr4_item, NULL, "10.6.48.0/24, 10.6.49.0/24, 10.6.50.0/24",
     "one IPv4 CIDR per AZ for the public subnets (IPv6 /64 indexes 0, 1, 2)", NULL},
    {"nat", S_ENUM, 0, NULL, NULL, "single|per_az|none", "single", "NAT gateways for the private subnets", NULL},
    {"existing", S_OBJECT, 0, network_existing_keys, NULL, NULL, NULL,
     "use a VPC and subnets that already exist instead of making them", NULL},
    END,
};

/* ---- clusters: ---- */
static const struct schema_key node_group_keys[] = {
    {"instance_types", S_LIST, 0, NULL, &string_item, NULL, "[m5.large]", "EC2 instance types", NULL},
    {"ami_type", S_STRING, 0, NULL, NULL, NULL, "AL2023_x86_64_STANDARD", "EKS AMI type", NULL},
    {"capacity_type", S_ENUM, 0, NULL, NULL, "ON_DEMAND|SPOT", "ON_DEMAND", "EC2 capacity type", NULL},
    {"min_size", S_INT, 0, NULL, NULL, NULL, "1", "fewest nodes", NULL},
    {"max_size", S_INT, SK_POSITIVE, NULL, NULL, NULL, "3", "most nodes", NULL},
    {"desired_size", S_INT, 0, NULL, NULL, NULL, "2", "nodes to start with", NULL},
    {"disk_size", S_INT, SK_POSITIVE, NULL, NULL, NULL, "50", "root volume size in GiB", NULL},
    {"labels", S_DICT, 0, NULL, &string_item, NULL, "{}", "Kubernetes labels of the nodes", NULL},
    END,
};

static const struct schema_key node_group_item = {NULL, S_OBJECT, 0, node_group_keys, NULL, NULL, NULL,
                                                  "a managed node group", check_node_group};

static const struct schema_key cluster_existing_keys[] = {
    {"kubeconfig", S_STRING, SK_REQUIRED, NULL, NULL, NULL, NULL, "path of the kubeconfig file", NULL},
    {"context", S_STRING, 0, NULL, NULL, NULL, "the file's current context", "context to use", NULL},
    {"vpc_cni_egress", S_ENUM, 0, NULL, NULL, "ipv4|ipv6", "unset (aws-node left alone)",
     "an EKS cluster mesh does not make: egress over this family for pods of the other, by a server-side-apply "
     "patch of aws-node's aws-vpc-cni-init env (ENABLE_V6_EGRESS / ENABLE_V4_EGRESS)", NULL},
    END,
};

static const struct schema_key lbc_keys[] = {
    {"enabled", S_BOOL, 0, NULL, NULL, NULL, "true", "install the AWS Load Balancer Controller (EKS clusters mesh makes)", NULL},
    {"release", S_BOOL, 0, NULL, NULL, NULL, "true",
     "install its chart with Helm; false: only its IAM policy and IRSA role (a controller installed otherwise)", NULL},
    {"repository", S_STRING, 0, NULL, NULL, NULL, "https://aws.github.io/eks-charts",
     "Helm repository of the chart: a URL (https://, oci://) or a local folder holding the chart's folder", NULL},
    {"chart", S_STRING, 0, NULL, NULL, NULL, "aws-load-balancer-controller",
     "the chart's name in repository, or a local chart folder or .tgz, or an oci:// reference", NULL},
    {"version", S_STRING, 0, NULL, NULL, NULL, LBC_CHART_VERSION, "chart version (repository and OCI charts)", NULL},
    {"values", S_MAP, 0, NULL, NULL, NULL, "{}", "extra Helm values, merged over the ones mesh sets", NULL},
    END,
};

static const struct schema_key log_type_item = {NULL, S_ENUM, 0, NULL, NULL,
                                                "api|audit|authenticator|controllerManager|scheduler", NULL,
                                                "a control-plane log type", NULL};

static const struct schema_key addon_keys[] = {
    {"version", S_STRING, 0, NULL, NULL, NULL, "EKS's default for the cluster's version",
     "add-on version to pin (v1.19.0-eksbuild.1); unset, EKS's default is used and never planned as a change", NULL},
    {"configuration", S_MAP, 0, NULL, NULL, NULL, "{} (vpc-cni: the egress setting below)",
     "the add-on's configuration values (its DescribeAddonConfiguration schema), merged over mesh's", NULL},
    END,
};

static const struct schema_key addon_item = {NULL, S_OBJECT, 0, addon_keys, NULL, NULL, NULL, "an EKS add-on", NULL};

static const struct schema_key istio_values_keys[] = {
    {"base", S_MAP, 0, NULL, NULL, NULL, "{}", "extra Helm values of istio-base, every cluster (or one: clusters.<n>.istio.values)", NULL},
    {"istiod", S_MAP, 0, NULL, NULL, NULL, "{}", "extra Helm values of istiod, every cluster (or one: clusters.<n>.istio.values)", NULL},
    {"gateway", S_MAP, 0, NULL, NULL, NULL, "{}", "extra Helm values of the ingress gateway", NULL},
    END,
};

static const struct schema_key cluster_istio_keys[] = {
    {"version", S_STRING, 0, NULL, NULL, NULL, "istio.version", "Istio version of this cluster's charts", NULL},
    {"values", S_OBJECT, 0, istio_values_keys, NULL, NULL, "{}",
     "Helm values per chart for this cluster, merged over istio.values", NULL},
    END,
};

static const struct schema_key cluster_keys[] = {
    {"ip_family", S_ENUM, 0, NULL, NULL, "ipv4|ipv6", "ipv4", "the cluster's Kubernetes service and pod IP family", NULL},
    {"version", S_STRING, 0, NULL, NULL, NULL, "1.31", "Kubernetes version (quote it: \"1.30\")", NULL},
    {"endpoint_public_access", S_BOOL, 0, NULL, NULL, NULL, "true", "API server reachable from the internet", NULL},
    {"endpoint_private_access", S_BOOL, 0, NULL, NULL, NULL, "true", "API server reachable from the VPC", NULL},
    {"node_groups", S_DICT, 0, NULL, &node_group_item, NULL, "one group `default` with the defaults below",
     "managed node groups, by name", NULL},
    {"load_balancer_controller", S_OBJECT, 0, lbc_keys, NULL, NULL, "enabled", "AWS Load Balancer Controller", NULL},
    {"tags", S_DICT, 0, NULL, &string_item, NULL, "{}", "tags of this cluster's objects (added to mesh.tags)", NULL},
    {"log_types", S_LIST, 0, NULL, &log_type_item, NULL, "[api, audit, authenticator]",
     "control-plane log types sent to the log group /aws/eks/<cluster>/cluster", NULL},
    {"log_retention_days", S_INT, SK_POSITIVE, NULL, NULL, NULL, "90",
     "days CloudWatch keeps the control-plane logs (a period CloudWatch Logs accepts)", NULL},
    {"secrets_encryption", S_BOOL, 0, NULL, NULL, NULL, "true",
     "envelope-encrypt Kubernetes secrets with a KMS key mesh makes (aws_kms_key.<cluster>.secrets)", NULL},
    {"addons", S_DICT, 0, NULL, &addon_item, NULL, "vpc-cni, coredns, kube-proxy at EKS's defaults",
     "EKS add-ons by name: pin a version or add configuration of the three mesh installs, or add others", NULL},
    {"existing", S_OBJECT, 0, cluster_existing_keys, NULL, NULL, NULL,
     "a cluster mesh does not create: reach it through a kubeconfig", NULL},
    {"istio", S_OBJECT, 0, cluster_istio_keys, NULL, NULL, "istio's settings",
     "this cluster's Istio version and Helm values, over the `istio:` section's", NULL},
    END,
};

static const struct schema_key cluster_item = {NULL, S_OBJECT, 0, cluster_keys, NULL, NULL, NULL, "a cluster",
                                               check_cluster};

/* ---- istio: ---- */
static const struct schema_key istio_chart_keys[] = {
    {"repository", S_STRING, 0, NULL, NULL, NULL, ISTIO_CHARTS_REPOSITORY,
     "Helm repository of the charts: a URL (https://, oci://) or a local folder holding the charts' folders", NULL},
    {"base", S_STRING, 0, NULL, NULL, NULL, "base",
     "istio/base: its name in repository, a local chart folder or .tgz, or an oci:// reference", NULL},
    {"istiod", S_STRING, 0, NULL, NULL, NULL, "istiod", "istio/istiod, as base", NULL},
    {"gateway", S_STRING, 0, NULL, NULL, NULL, "gateway", "istio/gateway, as base", NULL},
    END,
};

static const struct schema_key istio_keys[] = {
    {"version", S_STRING, SK_REQUIRED, NULL, NULL, NULL, NULL, "Istio version (chart version and image tag)", NULL},
    {"mesh_id", S_NAME, 0, NULL, NULL, NULL, "mesh1", "meshID of every istiod", NULL},
    {"network", S_NAME, 0, NULL, NULL, NULL, "network1", "network name: one network, so every cluster shares it", NULL},
    {"namespace", S_STRING, 0, NULL, NULL, NULL, "istio-system", "namespace of istiod and the cacerts secret", NULL},
    {"charts", S_OBJECT, 0, istio_chart_keys, NULL, NULL, "the public charts", "where the charts come from", NULL},
    {"ingress_gateway", S_BOOL, 0, NULL, NULL, NULL, "true", "install istio-ingressgateway in every cluster", NULL},
    {"remote_secrets", S_BOOL, 0, NULL, NULL, NULL, "true",
     "multi-primary: a reader secret in each cluster so each istiod watches the others", NULL},
    {"values", S_OBJECT, 0, istio_values_keys, NULL, NULL, "{}", "extra Helm values per chart", NULL},
    END,
};

/* ---- vars: and outputs: (vars.c and outputs.c check what a shape cannot say) ---- */
static const struct schema_key var_keys[] = {
    {"type", S_ENUM, 0, NULL, NULL, "string|number|bool|list|map", "the default's type, else string",
     "what values it takes; --var and MESH_VAR_ text is parsed to it (`3`, `true`, `[a, b]`, `{k: v}`)", NULL},
    {"default", S_ANY, 0, NULL, NULL, NULL, "none: the variable is required", "its value when none is given", NULL},
    {"description", S_STRING, 0, NULL, NULL, NULL, NULL, "what it is for", NULL},
    {"sensitive", S_BOOL, 0, NULL, NULL, NULL, "false",
     "never printed; the attributes and outputs it flows into are sensitive and stored encrypted", NULL},
    END,
};
static const struct schema_key var_item = {NULL, S_OBJECT, 0, var_keys, NULL, NULL, NULL, "a variable", NULL};
static const struct schema_key output_item = {NULL, S_ANY, 0, NULL, NULL, NULL, NULL, "an output", NULL};

const struct schema_key schema_root[] = {
    {"vars", S_DICT, 0, NULL, &var_item, NULL, NULL, "input variables, used as ${var.NAME} in any value", NULL},
    {"outputs", S_DICT, 0, NULL, &output_item, NULL, NULL, "values shown after apply and by `mesh output`", NULL},
    {"mesh", S_OBJECT, 0, mesh_keys, NULL, NULL, NULL, "the mesh's name, region, profile and tags", NULL},
    {"state", S_OBJECT, 0, state_keys, NULL, NULL, NULL, "where state lives", check_state},
    {"pki", S_OBJECT, 0, pki_keys, NULL, NULL, NULL, "root CA and per-cluster intermediate CAs", check_pki},
    {"network", S_OBJECT, 0, network_keys, NULL, NULL, NULL, "the VPC, its subnets and gateways", check_network},
    {"clusters", S_DICT, 0, NULL, &cluster_item, NULL, NULL, "EKS clusters (or existing ones), by name", NULL},
    {"istio", S_OBJECT, 0, istio_keys, NULL, NULL, NULL, "Istio multi-primary on every cluster", NULL},
    {"resources", S_RESOURCES, 0, NULL, NULL, NULL, NULL, "raw typed resources by address", NULL},
    {"timeouts", S_ANY, 0, NULL, NULL, NULL, NULL,
     "per resource type: {create, update, delete} durations (checked by timeouts.c)", NULL},
    END,
};

const struct schema_key *schema_key_find(const struct schema_key *keys, const char *name)
{
    for (; keys && keys->name; keys++)
        if (strcmp(keys->name, name) == 0) return keys;
    return NULL;
}

/* ---- the walker ---- */

static void check_value(const struct node *v, const struct schema_key *k, const char *path, const struct node *at,
                        const struct spec_ctx *c);

static void err_type(const struct node *v, const char *path, const char *want, const struct spec_ctx *c)
{
    diag_error(c->dl, c->file, v->line, v->col, "`%s` must be %s, not %s", path, want, node_kind_name(v));
}

static int name_valid(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* "a.b.c.d/n" or "x::/n" with no host bits set. */
static int cidr_valid(const char *s, int family, char *why, size_t whylen)
{
    unsigned char addr[16];
    char host[64];
    const char *slash = strchr(s, '/');
    size_t bytes = family == AF_INET ? 4 : 16;
    if (!slash || (size_t)(slash - s) >= sizeof(host)) return snprintf(why, whylen, "no /prefix"), 0;
    memcpy(host, s, (size_t)(slash - s));
    host[slash - s] = '\0';
    char *end;
    long prefix = strtol(slash + 1, &end, 10);
    if (inet_pton(family, host, addr) != 1) return snprintf(why, whylen, "`%s` is not an address", host), 0;
    if (!slash[1] || *end || prefix < 0 || prefix > (long)bytes * 8)
        return snprintf(why, whylen, "prefix must be 0 to %zu", bytes * 8), 0;
    for (size_t bit = (size_t)prefix; bit < bytes * 8; bit++)
        if (addr[bit / 8] & (0x80 >> (bit % 8))) return snprintf(why, whylen, "host bits set after /%ld", prefix), 0;
    return 1;
}

static void check_enum(const struct node *v, const struct schema_key *k, const char *path, const struct spec_ctx *c)
{
    char buf[256], list[256] = "";
    snprintf(buf, sizeof(buf), "%s", k->values);
    const char *words[16];
    size_t n = 0;
    for (char *w = strtok(buf, "|"); w && n < 15; w = strtok(NULL, "|")) {
        if (strcmp(w, v->scalar) == 0) return;
        words[n++] = w;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s`%s`", n > 1 ? ", " : "", w);
    }
    words[n] = NULL;
    const char *best = suggest_word(v->scalar, words);
    if (best)
        diag_error(c->dl, c->file, v->line, v->col, "`%s` must be one of %s, not `%s`; did you mean `%s`?", path, list,
                   v->scalar, best);
    else
        diag_error(c->dl, c->file, v->line, v->col, "`%s` must be one of %s, not `%s`", path, list, v->scalar);
}

static void check_scalar(const struct node *v, const struct schema_key *k, const char *path, const struct spec_ctx *c)
{
    enum scalar_type t = node_scalar_type(v);
    char why[96];
    switch (k->type) {
    case S_STRING:
        if (t == SCALAR_NULL) err_type(v, path, "a string", c);
        break;
    case S_INT:
        if (t != SCALAR_INT) err_type(v, path, "a whole number", c);
        else if ((k->flags & SK_POSITIVE) && strtoll(v->scalar, NULL, 0) <= 0)
            diag_error(c->dl, c->file, v->line, v->col, "`%s` must be greater than 0, not %s", path, v->scalar);
        break;
    case S_BOOL:
        if (t != SCALAR_BOOL) err_type(v, path, "true or false", c);
        break;
    case S_ENUM:
        check_enum(v, k, path, c);
        break;
    case S_NAME:
        if (!name_valid(v->scalar))
            diag_error(c->dl, c->file, v->line, v->col, "`%s` must be a name of letters, digits, `_` and `-`, not `%s`",
                       path, v->scalar);
        break;
    case S_CIDR4:
    case S_CIDR6:
        if (!cidr_valid(v->scalar, k->type == S_CIDR4 ? AF_INET : AF_INET6, why, sizeof(why)))
            diag_error(c->dl, c->file, v->line, v->col, "`%s` must be an %s CIDR such as %s, not `%s` (%s)", path,
                       k->type == S_CIDR4 ? "IPv4" : "IPv6", k->type == S_CIDR4 ? "10.6.0.0/16" : "fd00::/56",
                       v->scalar, why);
        break;
    default:
        break;
    }
}

static void check_object(const struct node *v, const struct schema_key *keys, const char *path,
                         const struct node *at, const struct spec_ctx *c)
{
    char sub[512];
    for (size_t i = 0; v->kind == NODE_MAP && i < v->n; i++) {
        const struct node *key = v->pairs[i].key;
        const struct schema_key *k = schema_key_find(keys, key->scalar);
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key->scalar);
        if (k) {
            check_value(v->pairs[i].value, k, sub, key, c);
            continue;
        }
        struct suggest s;
        suggest_init(&s, key->scalar);
        for (const struct schema_key *x = keys; x->name; x++) suggest_try(&s, x->name);
        if (s.best)
            diag_error(c->dl, c->file, key->line, key->col, "unknown key `%s`%s%s%s; did you mean `%s`?", key->scalar,
                       *path ? " in `" : "", path, *path ? "`" : "", s.best);
        else
            diag_error(c->dl, c->file, key->line, key->col, "unknown key `%s`%s%s%s", key->scalar, *path ? " in `" : "", path,
                       *path ? "`" : "");
    }
    for (const struct schema_key *k = keys; k->name; k++)
        if ((k->flags & SK_REQUIRED) && !node_get(v, k->name))
            diag_error(c->dl, c->file, at->line, at->col, "`%s` is missing the required key `%s`", path, k->name);
}

static void check_items(const struct node *v, const struct schema_key *k, const char *path, const struct spec_ctx *c)
{
    char sub[512];
    if (k->type == S_LIST) {
        for (size_t i = 0; i < v->n; i++) {
            snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
            check_value(v->items[i], k->item, sub, v->items[i], c);
        }
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct node *key = v->pairs[i].key;
        if (k->item->type == S_OBJECT && !name_valid(key->scalar))
            diag_error(c->dl, c->file, key->line, key->col,
                       "`%s` is not a valid name under `%s`: use letters, digits, `_` and `-`", key->scalar, path);
        snprintf(sub, sizeof(sub), "%s.%s", path, key->scalar);
        check_value(v->pairs[i].value, k->item, sub, key, c);
    }
}

/* An empty value (`pki:` alone) means "all defaults" for the container kinds. Missing required
 * keys are reported at `at`, the key that holds v (or v itself in a list). */
static void check_value(const struct node *v, const struct schema_key *k, const char *path, const struct node *at,
                        const struct spec_ctx *c)
{
    int empty = node_is_null(v);
    switch (k->type) {
    case S_OBJECT:
    case S_DICT:
    case S_MAP:
        if (!empty && v->kind != NODE_MAP) return err_type(v, path, "a map", c);
        if (k->type == S_OBJECT) check_object(v, k->keys, path, at, c);
        else if (k->type == S_DICT && !empty) check_items(v, k, path, c);
        break;
    case S_LIST:
        if (!empty && v->kind != NODE_SEQ) return err_type(v, path, "a list", c);
        if (!empty) check_items(v, k, path, c);
        break;
    case S_ANY:
    case S_RESOURCES:
        return;
    default:
        if (v->kind == NODE_SCALAR) check_scalar(v, k, path, c);
        else err_type(v, path, k->type == S_INT ? "a whole number" : k->type == S_BOOL ? "true or false" : "a string", c);
        return;
    }
    if (k->check && !empty) k->check(v, path, c);
}

/* Missing required keys of a section point at the section's key. */
void schema_validate(const struct node *root, const struct spec_ctx *c)
{
    check_object(root, schema_root, "", root, c);
    const struct node *istio = node_get(root, "istio");
    const struct node *clusters = node_get(root, "clusters");
    for (size_t i = 0; !istio && clusters && clusters->kind == NODE_MAP && i < clusters->n; i++) {
        const struct node *body = clusters->pairs[i].value;
        for (size_t j = 0; body->kind == NODE_MAP && j < body->n; j++)
            if (strcmp(body->pairs[j].key->scalar, "istio") == 0)
                diag_error(c->dl, c->file, body->pairs[j].key->line, body->pairs[j].key->col,
                           "`clusters.%s.istio` sets this cluster's Istio, but the spec has no `istio:` section",
                           clusters->pairs[i].key->scalar);
    }
    if (istio && !clusters) {
        for (size_t i = 0; i < root->n; i++)
            if (root->pairs[i].value == istio)
                diag_error(c->dl, c->file, root->pairs[i].key->line, root->pairs[i].key->col,
                           "`istio` needs a `clusters` section to install Istio on");
    }
}

/* ---- rules across keys ---- */

/* The key's number, def when absent; -1 when it is not a number (its own error is reported). */
static long long int_of(const struct node *map, const char *key, long long def)
{
    const struct node *v = node_get(map, key);
    if (!v) return def;
    if (v->kind != NODE_SCALAR || node_scalar_type(v) != SCALAR_INT) return -1;
    return strtoll(v->scalar, NULL, 0);
}

/* One root CA's map (pki.root, or pki.roots.NAME at path): import mode excludes generation keys,
 * and intermediates may not outlive it. */
static void check_pki_root(const struct node *root, const struct node *inter, const char *path,
                           const struct spec_ctx *c)
{
    const struct node *cert = node_get(root, "cert_file"), *key = node_get(root, "key_file");
    if (cert && !key) diag_error(c->dl, c->file, cert->line, cert->col, "`%s.cert_file` needs `key_file` too", path);
    if (key && !cert) diag_error(c->dl, c->file, key->line, key->col, "`%s.key_file` needs `cert_file` too", path);
    const char *gen[] = {"algorithm", "validity_days", "common_name", "organization"};
    for (size_t i = 0; cert && i < 4; i++) {
        const struct node *g = node_get(root, gen[i]);
        if (g)
            diag_error(c->dl, c->file, g->line, g->col,
                       "`%s.%s` describes a new root CA; an imported one (cert_file) has its own", path, gen[i]);
    }
    long long rootdays = int_of(root, "validity_days", 3650), interdays = int_of(inter, "validity_days", 730);
    const struct node *at = node_get(inter, "validity_days");
    if (!at) at = node_get(root, "validity_days");
    if (!cert && rootdays > 0 && interdays > rootdays && at)
        diag_error(c->dl, c->file, at->line, at->col,
                   "intermediates would outlive their root: %lld days is more than the root's %lld", interdays, rootdays);
}

/* The key node named name in map m, or NULL. */
static const struct node *pki_key_node(const struct node *m, const char *name)
{
    for (size_t i = 0; m && m->kind == NODE_MAP && i < m->n; i++)
        if (strcmp(m->pairs[i].key->scalar, name) == 0) return m->pairs[i].key;
    return NULL;
}

/* Several roots (docs/pki.md, "Root rotation"): active_root and trusted_roots name declared roots,
 * and the active root is trusted (else a cluster would not trust its own intermediate). */
static void check_pki_roots(const struct node *v, const struct spec_ctx *c)
{
    const struct node *roots = node_get(v, "roots"), *active = node_get(v, "active_root");
    const struct node *trusted = node_get(v, "trusted_roots");
    if (!roots) {
        static const char *const only[] = {"active_root", "trusted_roots"};
        for (size_t i = 0; i < 2; i++) {
            const struct node *k = pki_key_node(v, only[i]);
            if (k)
                diag_error(c->dl, c->file, k->line, k->col,
                           "`pki.%s` needs `pki.roots` (several named roots); with one `pki.root` leave it out", only[i]);
        }
        return;
    }
    const struct node *roots_key = pki_key_node(v, "roots");
    if (pki_key_node(v, "root")) {
        const struct node *k = pki_key_node(v, "root");
        diag_error(c->dl, c->file, k->line, k->col,
                   "`pki.root` and `pki.roots` are exclusive; name the existing root `root` under `roots` to keep it");
    }
    if (roots->kind != NODE_MAP || roots->n == 0) {
        diag_error(c->dl, c->file, roots_key->line, roots_key->col, "`pki.roots` must declare at least one root");
        return;
    }
    if (roots->n > SPEC_MAX_PKI_ROOTS) {  /* compile_pki.c makes nothing of more */
        diag_error(c->dl, c->file, roots_key->line, roots_key->col, "`pki.roots` declares %zu roots; at most %d",
                   roots->n, SPEC_MAX_PKI_ROOTS);
        return;
    }
    if (active && active->kind != NODE_SCALAR) return;  /* its type is reported */
    if (!active && roots->n > 1) {
        diag_error(c->dl, c->file, roots_key->line, roots_key->col,
                   "`pki.roots` declares %zu roots: say which one issues the intermediates with `pki.active_root`",
                   roots->n);
        return;
    }
    const char *act = active ? active->scalar : roots->pairs[0].key->scalar;
    if (active && !node_get(roots, act))
        diag_error(c->dl, c->file, active->line, active->col,
                   "`pki.active_root` is `%s`, which `pki.roots` does not declare", act);
    if (!trusted || trusted->kind != NODE_SEQ) return;
    int has_active = 0;
    for (size_t i = 0; i < trusted->n; i++) {
        const struct node *t = trusted->items[i];
        if (t->kind != NODE_SCALAR) continue;
        if (!node_get(roots, t->scalar))
            diag_error(c->dl, c->file, t->line, t->col, "`pki.trusted_roots` names `%s`, which `pki.roots` does not declare",
                       t->scalar);
        for (size_t j = 0; j < i; j++)
            if (trusted->items[j]->kind == NODE_SCALAR && strcmp(trusted->items[j]->scalar, t->scalar) == 0)
                diag_error(c->dl, c->file, t->line, t->col, "`pki.trusted_roots` names `%s` twice", t->scalar);
        if (strcmp(t->scalar, act) == 0) has_active = 1;
    }
    if (!has_active && node_get(roots, act)) {
        const struct node *k = pki_key_node(v, "trusted_roots");
        diag_error(c->dl, c->file, k->line, k->col,
                   "`pki.trusted_roots` must include the active root `%s`: its clusters would not trust their own "
                   "intermediates",
                   act);
    }
}

static void check_pki(const struct node *v, const char *path, const struct spec_ctx *c)
{
    const struct node *inter = node_get(v, "intermediate");
    check_pki_root(node_get(v, "root"), inter, "pki.root", c);
    const struct node *roots = node_get(v, "roots");
    char sub[256];
    for (size_t i = 0; roots && roots->kind == NODE_MAP && i < roots->n; i++) {
        if (roots->pairs[i].value->kind != NODE_MAP) continue;
        snprintf(sub, sizeof(sub), "pki.roots.%s", roots->pairs[i].key->scalar);
        check_pki_root(roots->pairs[i].value, inter, sub, c);
    }
    check_pki_roots(v, c);
    (void)path;
}

/* backend s3 needs bucket and key and takes no path; local takes none of the S3 keys. */
static void check_state(const struct node *v, const char *path, const struct spec_ctx *c)
{
    const struct node *b = node_get(v, "backend");
    int s3 = b && b->kind == NODE_SCALAR && strcmp(b->scalar, "s3") == 0;
    static const char *const s3_only[] = {"bucket", "key", "region", "lock_table", "kms_key_id", "encrypt",
                                          "sse_kms_key_id", "endpoint", "path_style", NULL};
    if (s3) {
        static const char *const needed[] = {"bucket", "key", NULL};
        for (size_t i = 0; needed[i]; i++)
            if (!node_get(v, needed[i]))
                diag_error(c->dl, c->file, v->line, v->col, "%s: backend s3 needs %s.%s", path, path, needed[i]);
        const struct node *p = node_get(v, "path");
        if (p)
            diag_error(c->dl, c->file, p->line, p->col,
                       "%s.path: backend s3 keeps state in s3://BUCKET/KEY; path is for backend local", path);
        const struct node *sk = node_get(v, "sse_kms_key_id");
        const struct node *enc = node_get(v, "encrypt");
        if (sk && !(enc && enc->kind == NODE_SCALAR && strcmp(enc->scalar, "true") == 0))
            diag_error(c->dl, c->file, sk->line, sk->col, "%s.sse_kms_key_id: set %s.encrypt: true with it", path,
                       path);
        return;
    }
    for (size_t i = 0; s3_only[i]; i++) {
        const struct node *g = node_get(v, s3_only[i]);
        if (g)
            diag_error(c->dl, c->file, g->line, g->col, "%s.%s: only for backend s3 (add %s.backend: s3)", path,
                       s3_only[i], path);
    }
}

static void check_network(const struct node *v, const char *path, const struct spec_ctx *c)
{
    if (!node_get(v, "existing")) return;
    static const char *const made[] = {"cidr", "ipv6", "azs", "private_subnets", "public_subnets", "nat", NULL};
    for (size_t i = 0; made[i]; i++) {
        const struct node *g = node_get(v, made[i]);
        if (g)
            diag_error(c->dl, c->file, g->line, g->col,
                       "`%s.%s` describes a network mesh makes; it cannot be combined with `existing`", path, made[i]);
    }
}

/* The retention periods CloudWatch Logs accepts (PutRetentionPolicy). */
static const int log_retention_days[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                         365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

static void check_log_retention(const struct node *v, const char *path, const struct spec_ctx *c)
{
    const struct node *r = node_get(v, "log_retention_days");
    long long days = int_of(v, "log_retention_days", 90);
    if (!r || days <= 0) return;  /* absent, or its type or sign is reported */
    size_t n = sizeof(log_retention_days) / sizeof(log_retention_days[0]), best = 0;
    for (size_t i = 0; i < n; i++) {
        if (log_retention_days[i] == days) return;
        if (llabs(log_retention_days[i] - days) < llabs(log_retention_days[best] - days)) best = i;
    }
    diag_error(c->dl, c->file, r->line, r->col,
               "`%s.log_retention_days` must be a period CloudWatch Logs keeps logs for (1, 3, 5, 7, 14, 30, 60, 90, "
               "120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days), not %lld; the "
               "nearest is %d",
               path, days, log_retention_days[best]);
}

static void check_cluster(const struct node *v, const char *path, const struct spec_ctx *c)
{
    check_log_retention(v, path, c);
    if (!node_get(v, "existing")) return;
    static const char *const made[] = {"version", "node_groups", "endpoint_public_access", "endpoint_private_access",
                                       "log_types", "log_retention_days", "secrets_encryption", "addons",
                                       "load_balancer_controller", NULL};
    for (size_t i = 0; made[i]; i++) {
        const struct node *g = node_get(v, made[i]);
        if (g)
            diag_error(c->dl, c->file, g->line, g->col,
                       "`%s.%s` describes a cluster mesh makes; it cannot be combined with `existing`", path, made[i]);
    }
}

static void check_node_group(const struct node *v, const char *path, const struct spec_ctx *c)
{
    long long min = int_of(v, "min_size", 1), max = int_of(v, "max_size", 3), want = int_of(v, "desired_size", 2);
    if (min < 0 || max < 0 || want < 0) return;
    if (min > max || want < min || want > max)
        diag_error(c->dl, c->file, v->line, v->col,
                   "`%s` needs 0 <= min_size <= desired_size <= max_size (here %lld, %lld, %lld)", path, min, want, max);
}
