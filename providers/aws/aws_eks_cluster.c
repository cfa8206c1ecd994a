/* aws_eks_cluster.c: an EKS control plane. create returns once EKS accepted CreateCluster (the
 * engine commits the ARN), wait polls until ACTIVE; updates (version, endpoint access, logging,
 * authentication mode) each wait for their DescribeUpdate to succeed and the cluster to be ACTIVE
 * again; delete waits until EKS no longer knows the cluster, retrying while node groups still
 * hold it. A version change cannot be undone (EKS only upgrades): IRREVERSIBLE. The name is the
 * key: find adopts a cut-off create by name when its tags say this address and run made it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/eks.h"
#include "aws/provider.h"
#include "aws/tags.h"
#include "aws/wait.h"

#define CREATE_S 1800
#define UPDATE_S 3600
#define DELETE_S 1800

static const struct attr cluster_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the EKS cluster name (unique in the region)"},
    {"version", T_STRING, ATTR_IRREVERSIBLE, "Kubernetes version (\"1.31\"); unset: EKS's default. Upgrades in place "
     "(UpdateClusterVersion), one minor version at a time; EKS cannot go back"},
    {"role_arn", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the cluster IAM role (trusts eks.amazonaws.com)"},
    {"ip_family", T_STRING, ATTR_FORCE_NEW, "ipv4 (default) or ipv6 for pods and services"},
    {"subnet_ids", T_LIST, ATTR_REQUIRED | ATTR_FORCE_NEW, "subnets of the control plane's network interfaces"},
    {"security_group_ids", T_LIST, ATTR_FORCE_NEW, "additional security groups of the control plane's interfaces"},
    {"endpoint_public_access", T_BOOL, 0, "the API server endpoint is reachable from the internet (default true)"},
    {"endpoint_private_access", T_BOOL, 0, "the API server endpoint is reachable from the VPC (default false)"},
    {"public_access_cidrs", T_LIST, 0, "CIDRs allowed to the public endpoint (default [\"0.0.0.0/0\"])"},
    {"enabled_log_types", T_LIST, 0, "control-plane logs sent to CloudWatch: api, audit, authenticator, "
     "controllerManager, scheduler (default none)"},
    {"encryption_kms_key_arn", T_STRING, ATTR_FORCE_NEW, "KMS key for envelope encryption of Kubernetes secrets"},
    {"authentication_mode", T_STRING, 0, "CONFIG_MAP, API_AND_CONFIG_MAP or API (EKS moves only towards API)"},
    {"bootstrap_cluster_creator_admin_permissions", T_BOOL, ATTR_FORCE_NEW,
     "give the creating identity cluster-admin through an access entry (default true)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the cluster ARN + \"#\" + its creation time (unique per incarnation)"},
    {"arn", T_STRING, ATTR_COMPUTED, "the cluster ARN"},
    {"endpoint", T_STRING, ATTR_COMPUTED, "the API server URL (https://...)"},
    {"certificate_authority_data", T_STRING, ATTR_COMPUTED, "the cluster CA certificate, base64 PEM"},
    {"oidc_issuer", T_STRING, ATTR_COMPUTED, "the OIDC issuer URL (https://oidc.eks...)"},
    {"oidc_issuer_host", T_STRING, ATTR_COMPUTED, "the OIDC issuer without https:// (IAM trust conditions)"},
    {"cluster_security_group_id", T_STRING, ATTR_COMPUTED, "the security group EKS made for the cluster"},
    {"platform_version", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "the EKS platform version (eks.N)"},
    {NULL, 0, 0, NULL},
};

/* Every input outputs echo: read compares what it observes with them. */
static const char *const cluster_echo[] = {
    "name", "version", "role_arn", "ip_family", "subnet_ids", "security_group_ids", "endpoint_public_access",
    "endpoint_private_access", "public_access_cidrs", "enabled_log_types", "encryption_kms_key_arn",
    "authentication_mode", "bootstrap_cluster_creator_admin_permissions", "tags", NULL,
};

static void echo(json_t *o, const json_t *desired)
{
    for (size_t i = 0; cluster_echo[i]; i++) {
        json_t *v = json_object_get(desired, cluster_echo[i]);
        if (v && !json_is_null(v)) json_object_set(o, cluster_echo[i], v);
        else json_object_del(o, cluster_echo[i]);
    }
}

static void put_str(json_t *o, const char *key, const json_t *obj, const char *path)
{
    const char *s = eks_str(obj, path);
    if (s && *s) json_object_set_new(o, key, json_string(s));
}

static json_t *cluster_outputs(const json_t *cl, const json_t *desired)
{
    json_t *o = json_object();
    const char *arn = eks_str(cl, "arn");
    char at[64], id[1200];
    eks_created_at(cl, at, sizeof(at));
    snprintf(id, sizeof(id), "%s#%s", arn ? arn : "", at);
    json_object_set_new(o, "id", json_string(id));
    put_str(o, "arn", cl, "arn");
    put_str(o, "endpoint", cl, "endpoint");
    put_str(o, "certificate_authority_data", cl, "certificateAuthority.data");
    put_str(o, "cluster_security_group_id", cl, "resourcesVpcConfig.clusterSecurityGroupId");
    put_str(o, "platform_version", cl, "platformVersion");
    const char *issuer = eks_str(cl, "identity.oidc.issuer");
    if (issuer && *issuer) {
        json_object_set_new(o, "oidc_issuer", json_string(issuer));
        const char *host = strncmp(issuer, "https://", 8) == 0 ? issuer + 8 : issuer;
        json_object_set_new(o, "oidc_issuer_host", json_string(host));
    }
    echo(o, desired);
    return o;
}

static const char *name_of(struct call *c, const json_t *o)
{
    const char *n = json_string_value(json_object_get(o, "name"));
    if (!n) mesh_err_set(c->err, MESH_ERR, c->address, "the state holds no cluster name");
    return n;
}

/* The enabled log types of a description, as a list. */
static json_t *log_types(const json_t *cl)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *x, *t;
    json_array_foreach(eks_get(cl, "logging.clusterLogging"), i, x) {
        if (!json_is_true(json_object_get(x, "enabled"))) continue;
        json_array_foreach(json_object_get(x, "types"), j, t) json_array_append(out, t);
    }
    return out;
}

/* resourcesVpcConfig's updatable part: what desired sets (with AWS's defaults for the rest). */
static json_t *access_config(const json_t *desired)
{
    json_t *v = json_object();
    json_object_set_new(v, "endpointPublicAccess",
                        json_boolean(!json_is_false(json_object_get(desired, "endpoint_public_access"))));
    json_object_set_new(v, "endpointPrivateAccess",
                        json_boolean(json_is_true(json_object_get(desired, "endpoint_private_access"))));
    json_t *cidrs = json_object_get(desired, "public_access_cidrs");
    json_object_set_new(v, "publicAccessCidrs", cidrs ? json_incref(cidrs) : json_pack("[s]", "0.0.0.0/0"));
    return v;
}

static json_t *logging_config(const json_t *desired, const json_t *have)
{
    json_t *want = json_object_get(desired, "enabled_log_types");
    json_t *on = want ? json_deep_copy(want) : json_array();
    json_t *off = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(have, i, t) {
        int kept = 0;
        size_t j;
        json_t *w;
        json_array_foreach(on, j, w) if (json_equal(w, t)) kept = 1;
        if (!kept) json_array_append(off, t);
    }
    json_t *list = json_array();
    if (json_array_size(on)) json_array_append_new(list, json_pack("{s:O, s:b}", "types", on, "enabled", 1));
    if (json_array_size(off)) json_array_append_new(list, json_pack("{s:O, s:b}", "types", off, "enabled", 0));
    json_decref(on);
    json_decref(off);
    return json_pack("{s:o}", "clusterLogging", list);
}

static const char *str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static int cluster_create(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = str(desired, "name");
    json_t *vpc = access_config(desired);
    json_object_set(vpc, "subnetIds", json_object_get(desired, "subnet_ids"));
    if (json_object_get(desired, "security_group_ids"))
        json_object_set(vpc, "securityGroupIds", json_object_get(desired, "security_group_ids"));
    json_t *body = json_pack("{s:s, s:s, s:o, s:s, s:o}", "name", name ? name : "", "roleArn",
                             str(desired, "role_arn") ? str(desired, "role_arn") : "", "resourcesVpcConfig", vpc,
                             "clientRequestToken", c->token, "tags", aws_mesh_tags(c, json_object_get(desired, "tags")));
    if (str(desired, "version")) json_object_set(body, "version", json_object_get(desired, "version"));
    if (str(desired, "ip_family"))
        json_object_set_new(body, "kubernetesNetworkConfig", json_pack("{s:s}", "ipFamily", str(desired, "ip_family")));
    if (json_array_size(json_object_get(desired, "enabled_log_types")))
        json_object_set_new(body, "logging", logging_config(desired, NULL));
    if (str(desired, "encryption_kms_key_arn"))
        json_object_set_new(body, "encryptionConfig",
                            json_pack("[{s:[s], s:{s:s}}]", "resources", "secrets", "provider", "keyArn",
                                      str(desired, "encryption_kms_key_arn")));
    json_t *access = json_pack("{s:b}", "bootstrapClusterCreatorAdminPermissions",
                               !json_is_false(json_object_get(desired, "bootstrap_cluster_creator_admin_permissions")));
    if (str(desired, "authentication_mode"))
        json_object_set(access, "authenticationMode", json_object_get(desired, "authentication_mode"));
    json_object_set_new(body, "accessConfig", access);
    json_t *reply = NULL;
    int rc = eks_create(c, "CreateCluster", "/clusters", body, &reply);
    json_decref(body);
    if (rc) return rc;
    json_t *cl = json_object_get(reply, "cluster");
    if (!eks_str(cl, "arn")) {
        json_decref(reply);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreateCluster: the answer has no cluster ARN");
    }
    *outputs = cluster_outputs(cl, desired);
    json_decref(reply);
    return 0;
}

static int cluster_wait(struct call *c, const json_t *outputs, json_t **ready)
{
    const char *name = name_of(c, outputs);
    if (!name) return MESH_ERR;
    char path[600];
    json_t *cl = NULL;
    int rc = eks_wait_active(c, &eks_cluster_kind, eks_path(path, sizeof(path), name, NULL, NULL), name, CREATE_S, &cl);
    if (rc) return rc;
    *ready = cluster_outputs(cl, outputs);
    json_decref(cl);
    return 0;
}

/* find: the cluster of this name, when this address and run made it, in whatever state (one still
 * CREATING is waited for by the engine when the run is kept, deleted when it is rolled back). */
static int cluster_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = str(desired, "name");
    if (!name) return MESH_ENOTFOUND;
    char path[600];
    eks_path(path, sizeof(path), name, NULL, NULL);
    json_t *cl = NULL;
    int rc = eks_describe(c, &eks_cluster_kind, path, &cl);
    if (rc) return rc;
    const char *status = eks_str(cl, "status");
    int ours = aws_tags_ours(c, json_object_get(cl, "tags")), deleting = status && strcmp(status, "DELETING") == 0;
    if (!ours || deleting) {
        json_decref(cl);
        return ours ? eks_gone_when_deleted(c, &eks_cluster_kind, path, name, DELETE_S) : MESH_ENOTFOUND;
    }
    *outputs = cluster_outputs(cl, desired);
    json_decref(cl);
    return 0;
}

static int cluster_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    return eks_import(c, &eks_cluster_kind, NULL, "CLUSTER (the cluster's name)", id, desired, cluster_outputs, outputs);
}

/* The world as read reports it: every attribute it can observe (defaults only when outputs hold
 * them), plus fresh outputs. A cluster being deleted counts as gone. */
static json_t *observe(const json_t *cl, const json_t *outputs)
{
    json_t *cur = cluster_outputs(cl, outputs);
    const char *ver = eks_str(cl, "version");
    if (ver) eks_observe(cur, outputs, "version", json_string(ver), 1);
    if (eks_str(cl, "roleArn")) json_object_set_new(cur, "role_arn", json_string(eks_str(cl, "roleArn")));
    const char *fam = eks_str(cl, "kubernetesNetworkConfig.ipFamily");
    if (fam) eks_observe(cur, outputs, "ip_family", json_string(fam), strcmp(fam, "ipv4") == 0);
    json_t *v = eks_get(cl, "resourcesVpcConfig.subnetIds");
    if (json_is_array(v)) eks_observe(cur, outputs, "subnet_ids", json_incref(v), 0);
    v = eks_get(cl, "resourcesVpcConfig.securityGroupIds");
    if (json_is_array(v)) eks_observe(cur, outputs, "security_group_ids", json_incref(v), json_array_size(v) == 0);
    v = eks_get(cl, "resourcesVpcConfig.endpointPublicAccess");
    if (json_is_boolean(v)) eks_observe(cur, outputs, "endpoint_public_access", json_incref(v), json_is_true(v));
    v = eks_get(cl, "resourcesVpcConfig.endpointPrivateAccess");
    if (json_is_boolean(v)) eks_observe(cur, outputs, "endpoint_private_access", json_incref(v), json_is_false(v));
    v = eks_get(cl, "resourcesVpcConfig.publicAccessCidrs");
    if (json_is_array(v)) {
        int dflt = json_array_size(v) == 0 ||
                   (json_array_size(v) == 1 && strcmp(json_string_value(json_array_get(v, 0)) ?: "", "0.0.0.0/0") == 0);
        eks_observe(cur, outputs, "public_access_cidrs", json_incref(v), dflt);
    }
    json_t *logs = log_types(cl);
    eks_observe(cur, outputs, "enabled_log_types", logs, json_array_size(logs) == 0);
    const char *key = eks_str(json_array_get(json_object_get(cl, "encryptionConfig"), 0), "provider.keyArn");
    if (key) eks_observe(cur, outputs, "encryption_kms_key_arn", json_string(key), 0);
    else json_object_del(cur, "encryption_kms_key_arn");
    const char *mode = eks_str(cl, "accessConfig.authenticationMode");
    if (mode) eks_observe(cur, outputs, "authentication_mode", json_string(mode), 1);
    eks_put_tags(cur, outputs, cl);
    return cur;
}

static int cluster_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *name = name_of(c, outputs);
    if (!name) return MESH_ERR;
    char path[600];
    json_t *cl = NULL;
    int rc = eks_describe(c, &eks_cluster_kind, eks_path(path, sizeof(path), name, NULL, NULL), &cl);
    if (rc) return rc;
    const char *status = eks_str(cl, "status");
    const char *arn = str(outputs, "arn");
    /* another incarnation under the same name is not the object state holds */
    int other = arn && eks_str(cl, "arn") && strcmp(arn, eks_str(cl, "arn")) != 0;
    char id[1200];
    snprintf(id, sizeof(id), "%s", str(outputs, "id") ? str(outputs, "id") : "");
    int deleting = status && strcmp(status, "DELETING") == 0;
    if (other || deleting) {
        json_decref(cl);
        return other ? MESH_ENOTFOUND : eks_gone_when_deleted(c, &eks_cluster_kind, path, name, DELETE_S);
    }
    *current = observe(cl, outputs);
    json_decref(cl);
    if (id[0] && strcmp(id, str(*current, "id") ? str(*current, "id") : "") != 0) {
        json_decref(*current);
        *current = NULL;
        return MESH_ENOTFOUND;  /* re-created under the same name: ours is gone */
    }
    return 0;
}

/* One UpdateCluster* call, then its update and the cluster settling. */
static int run_update(struct call *c, const char *name, const char *action, const char *tail, json_t *body)
{
    char path[700], base[600];
    eks_path(base, sizeof(base), name, NULL, NULL);
    snprintf(path, sizeof(path), "%s/%s", base, tail);
    json_object_set_new(body, "clientRequestToken", json_string(c->token));
    json_t *reply = NULL;
    int rc = aws_do_rest(c, "eks", action, "POST", path, NULL, body, &reply);
    json_decref(body);
    if (!rc) rc = eks_wait_update(c, name, NULL, NULL, reply, UPDATE_S);
    json_decref(reply);
    if (!rc) rc = eks_wait_active(c, &eks_cluster_kind, base, name, UPDATE_S, NULL);
    return rc;
}

/* Compares desired with the world (not with prior: drift is repaired too), one update at a time
 * as EKS requires: version first, then endpoint access, logging, authentication mode, tags. */
static int cluster_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                          json_t **new_outputs)
{
    (void)prior;
    const char *name = name_of(c, outputs);
    if (!name) return MESH_ERR;
    char path[600];
    eks_path(path, sizeof(path), name, NULL, NULL);
    json_t *cl = NULL;
    /* an earlier update (or a cut-off one) still running: let it finish first */
    int rc = eks_wait_active(c, &eks_cluster_kind, path, name, UPDATE_S, &cl);
    if (rc) return rc;
    const char *want = str(desired, "version");
    if (want && eks_str(cl, "version") && strcmp(want, eks_str(cl, "version")) != 0)
        rc = run_update(c, name, "UpdateClusterVersion", "updates", json_pack("{s:s}", "version", want));
    json_t *vpc = access_config(desired);
    json_t *have = eks_get(cl, "resourcesVpcConfig");
    int vpc_same = json_equal(json_object_get(vpc, "endpointPublicAccess"), json_object_get(have, "endpointPublicAccess")) &&
                   json_equal(json_object_get(vpc, "endpointPrivateAccess"), json_object_get(have, "endpointPrivateAccess")) &&
                   eks_same_set(json_object_get(vpc, "publicAccessCidrs"), json_object_get(have, "publicAccessCidrs"));
    if (!rc && !vpc_same) rc = run_update(c, name, "UpdateClusterConfig", "update-config",
                                          json_pack("{s:O}", "resourcesVpcConfig", vpc));
    json_decref(vpc);
    json_t *logs = log_types(cl);
    json_t *want_logs = json_object_get(desired, "enabled_log_types");
    json_t *none = json_array();
    if (!rc && !eks_same_set(logs, want_logs ? want_logs : none))
        rc = run_update(c, name, "UpdateClusterConfig", "update-config",
                        json_pack("{s:o}", "logging", logging_config(desired, logs)));
    json_decref(none);
    json_decref(logs);
    const char *mode = str(desired, "authentication_mode");
    const char *have_mode = eks_str(cl, "accessConfig.authenticationMode");
    if (!rc && mode && (!have_mode || strcmp(mode, have_mode) != 0))
        rc = run_update(c, name, "UpdateClusterConfig", "update-config",
                        json_pack("{s:{s:s}}", "accessConfig", "authenticationMode", mode));
    json_t *tags = json_object_get(desired, "tags");
    json_t *empty = json_object();
    if (!rc) rc = eks_sync_tags(c, eks_str(cl, "arn"), json_object_get(cl, "tags"), tags ? tags : empty);
    json_decref(empty);
    json_decref(cl);
    cl = NULL;
    if (!rc) rc = eks_describe(c, &eks_cluster_kind, path, &cl);
    if (rc) return rc == MESH_ENOTFOUND ? mesh_err_set(c->err, rc, c->address, "cluster %s is gone", name) : rc;
    *new_outputs = cluster_outputs(cl, desired);
    json_decref(cl);
    return 0;
}

static int cluster_delete(struct call *c, const json_t *outputs)
{
    const char *name = name_of(c, outputs);
    if (!name) return MESH_ERR;
    char path[600];
    eks_path(path, sizeof(path), name, NULL, NULL);
    json_t *cl = NULL;
    int rc = eks_describe(c, &eks_cluster_kind, path, &cl);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    /* the same name, another incarnation: not ours to delete */
    const char *arn = str(outputs, "arn");
    int other = arn && eks_str(cl, "arn") && strcmp(arn, eks_str(cl, "arn")) != 0;
    json_decref(cl);
    if (other) return 0;
    return eks_delete(c, &eks_cluster_kind, "DeleteCluster", path, name, DELETE_S);
}

/* What create, wait, find, read, update and delete call (shared helpers included), then what AWS checks beyond the calls. */
static const char *const eks_cluster_permissions[] = {
    "eks:CreateCluster", "eks:DeleteCluster", "eks:DescribeCluster", "eks:DescribeUpdate", "eks:TagResource",
    "eks:UntagResource", "eks:UpdateClusterConfig", "eks:UpdateClusterVersion",
    /* the cluster role handed to EKS (role_arn) */
    "iam:PassRole",
    /* EKS makes its service-linked role AWSServiceRoleForAmazonEKS on the first cluster of an account */
    "iam:CreateServiceLinkedRole",
    /* envelope encryption: EKS checks the key and makes a grant on it as the caller */
    "kms:CreateGrant", "kms:DescribeKey",
    NULL,
};

const struct driver aws_eks_cluster_driver = {
    .type = "aws_eks_cluster",
    .provider = &aws_provider,
    .schema = cluster_schema,
    .permissions = eks_cluster_permissions,
    .flags = DRIVER_GUARDED,
    .doc = "an EKS cluster (control plane); create returns once EKS accepted it, wait until ACTIVE; updates and "
           "delete wait too",
    .timeout_create = CREATE_S,
    .timeout_update = UPDATE_S,
    .timeout_delete = DELETE_S,
    .create = cluster_create,
    .wait = cluster_wait,
    .find = cluster_find,
    .import = cluster_import,
    .read = cluster_read,
    .update = cluster_update,
    .delete = cluster_delete,
};
