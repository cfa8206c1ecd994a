/* aws_eks_node_group.c: an EKS managed node group. Its launch template (aws_launch_template)
 * carries security groups, disk size and IMDSv2, so create passes launchTemplate {id, version} and
 * never diskSize (EKS refuses both). create returns once EKS accepted CreateNodegroup, wait polls
 * until ACTIVE; scaling and labels update through UpdateNodegroupConfig, the Kubernetes version
 * and the launch template version through UpdateNodegroupVersion, each waiting for its update
 * and the group to be ACTIVE again; delete waits until EKS no longer knows the group. Keyed by
 * (cluster, name): find adopts a cut-off create when its tags say this address and run made it. */
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

static const struct attr ng_schema[] = {
    {"cluster_name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the EKS cluster it belongs to"},
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the node group name (unique in the cluster)"},
    {"node_role_arn", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the nodes' IAM role (trusts ec2.amazonaws.com)"},
    {"subnet_ids", T_LIST, ATTR_REQUIRED | ATTR_FORCE_NEW, "subnets the nodes run in"},
    {"instance_types", T_LIST, ATTR_FORCE_NEW, "EC2 instance types (EKS's default: t3.medium)"},
    {"ami_type", T_STRING, ATTR_FORCE_NEW, "AL2023_x86_64_STANDARD, AL2_x86_64, BOTTLEROCKET_x86_64..."},
    {"capacity_type", T_STRING, ATTR_FORCE_NEW, "ON_DEMAND (default) or SPOT"},
    {"min_size", T_NUMBER, 0, "fewest nodes (default 1)"},
    {"max_size", T_NUMBER, 0, "most nodes (default 2)"},
    {"desired_size", T_NUMBER, 0, "nodes wanted now (default 2); updated in place"},
    {"labels", T_MAP, 0, "Kubernetes labels of the nodes"},
    {"launch_template_id", T_STRING, ATTR_FORCE_NEW, "the launch template (lt-...)"},
    {"launch_template_version", T_ANY, 0, "the launch template version to use (updates roll the nodes)"},
    {"version", T_STRING, ATTR_IRREVERSIBLE, "Kubernetes version of the nodes; unset: the cluster's"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the node group ARN (it holds a uuid: unique per incarnation)"},
    {"arn", T_STRING, ATTR_COMPUTED, "the node group ARN"},
    {"status", T_STRING, ATTR_COMPUTED, "ACTIVE, DEGRADED..."},
    {NULL, 0, 0, NULL},
};

static const char *const ng_echo[] = {
    "cluster_name", "name", "node_role_arn", "subnet_ids", "instance_types", "ami_type", "capacity_type", "min_size",
    "max_size", "desired_size", "labels", "launch_template_id", "launch_template_version", "version", "tags", NULL,
};

static const char *str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static json_t *ng_outputs(const json_t *ng, const json_t *desired)
{
    json_t *o = json_object();
    const char *arn = eks_str(ng, "nodegroupArn");
    if (arn) {
        json_object_set_new(o, "id", json_string(arn));
        json_object_set_new(o, "arn", json_string(arn));
    }
    if (eks_str(ng, "status")) json_object_set_new(o, "status", json_string(eks_str(ng, "status")));
    for (size_t i = 0; ng_echo[i]; i++) {
        json_t *v = json_object_get(desired, ng_echo[i]);
        if (v && !json_is_null(v)) json_object_set(o, ng_echo[i], v);
    }
    return o;
}

/* "/clusters/C/node-groups/N" of outputs or desired; NULL with c->err set. */
static const char *path_of(struct call *c, const json_t *o, char *buf, size_t n)
{
    if (!str(o, "cluster_name") || !str(o, "name")) {
        mesh_err_set(c->err, MESH_ERR, c->address, "the state holds no cluster or node group name");
        return NULL;
    }
    return eks_path(buf, n, str(o, "cluster_name"), "node-groups", str(o, "name"));
}

static json_t *scaling(const json_t *desired)
{
    json_t *min = json_object_get(desired, "min_size"), *max = json_object_get(desired, "max_size");
    json_t *want = json_object_get(desired, "desired_size");
    return json_pack("{s:I, s:I, s:I}", "minSize", (json_int_t)(min ? json_number_value(min) : 1), "maxSize",
                     (json_int_t)(max ? json_number_value(max) : 2), "desiredSize",
                     (json_int_t)(want ? json_number_value(want) : 2));
}

static json_t *launch_template(const json_t *desired)
{
    const char *id = str(desired, "launch_template_id");
    if (!id) return NULL;
    json_t *lt = json_pack("{s:s}", "id", id);
    json_t *v = json_object_get(desired, "launch_template_version");
    if (v && !json_is_null(v)) {
        char *s = eks_text(v);
        json_object_set_new(lt, "version", json_string(s));
        free(s);
    }
    return lt;
}

static int ng_create(struct call *c, const json_t *desired, json_t **outputs)
{
    char path[700], base[600];
    if (!str(desired, "cluster_name"))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "cluster_name is required");
    snprintf(path, sizeof(path), "%s/node-groups", eks_path(base, sizeof(base), str(desired, "cluster_name"), NULL, NULL));
    json_t *body = json_pack("{s:s, s:s, s:O, s:o, s:s, s:o}", "nodegroupName", str(desired, "name") ? str(desired, "name") : "",
                             "nodeRole", str(desired, "node_role_arn") ? str(desired, "node_role_arn") : "", "subnets",
                             json_object_get(desired, "subnet_ids"), "scalingConfig", scaling(desired),
                             "clientRequestToken", c->token, "tags", aws_mesh_tags(c, json_object_get(desired, "tags")));
    static const char *const plain[][2] = {{"instance_types", "instanceTypes"}, {"ami_type", "amiType"},
                                           {"capacity_type", "capacityType"}, {"labels", "labels"},
                                           {"version", "version"}};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        json_t *v = json_object_get(desired, plain[i][0]);
        if (v && !json_is_null(v)) json_object_set(body, plain[i][1], v);
    }
    json_t *lt = launch_template(desired);
    if (lt) json_object_set_new(body, "launchTemplate", lt);
    json_t *reply = NULL;
    int rc = eks_create(c, "CreateNodegroup", path, body, &reply);
    json_decref(body);
    if (rc) return rc;
    json_t *ng = json_object_get(reply, "nodegroup");
    if (!eks_str(ng, "nodegroupArn")) {
        json_decref(reply);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreateNodegroup: the answer has no node group ARN");
    }
    *outputs = ng_outputs(ng, desired);
    json_decref(reply);
    return 0;
}

static int ng_wait(struct call *c, const json_t *outputs, json_t **ready)
{
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *ng = NULL;
    int rc = eks_wait_active(c, &eks_nodegroup_kind, path, str(outputs, "name"), CREATE_S, &ng);
    if (rc) return rc;
    *ready = ng_outputs(ng, outputs);
    json_decref(ng);
    return 0;
}

static int ng_find(struct call *c, const json_t *desired, json_t **outputs)
{
    char path[700];
    if (!str(desired, "cluster_name") || !str(desired, "name")) return MESH_ENOTFOUND;
    path_of(c, desired, path, sizeof(path));
    json_t *ng = NULL;
    int rc = eks_describe(c, &eks_nodegroup_kind, path, &ng);
    if (rc) return rc;
    const char *status = eks_str(ng, "status");
    int ours = aws_tags_ours(c, json_object_get(ng, "tags")), deleting = status && strcmp(status, "DELETING") == 0;
    if (!ours || deleting) {
        json_decref(ng);
        return ours ? eks_gone_when_deleted(c, &eks_nodegroup_kind, path, str(desired, "name"), DELETE_S) : MESH_ENOTFOUND;
    }
    *outputs = ng_outputs(ng, desired);
    json_decref(ng);
    return 0;
}

static void observe_num(json_t *cur, const json_t *outputs, const char *key, const json_t *ng, const char *path, long dflt)
{
    json_t *v = eks_get(ng, path);
    if (json_is_integer(v)) eks_observe(cur, outputs, key, json_incref(v), json_integer_value(v) == dflt);
}

static int ng_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    return eks_import(c, &eks_nodegroup_kind, "node-groups", "CLUSTER:NODEGROUP", id, desired, ng_outputs, outputs);
}

static int ng_read(struct call *c, const json_t *outputs, json_t **current)
{
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *ng = NULL;
    int rc = eks_describe(c, &eks_nodegroup_kind, path, &ng);
    if (rc) return rc;
    const char *status = eks_str(ng, "status");
    const char *arn = str(outputs, "arn");
    int other = arn && eks_str(ng, "nodegroupArn") && strcmp(arn, eks_str(ng, "nodegroupArn")) != 0;
    if (other || (status && strcmp(status, "DELETING") == 0)) {
        json_decref(ng);
        /* another incarnation under the same name, or ours going */
        return other ? MESH_ENOTFOUND : eks_gone_when_deleted(c, &eks_nodegroup_kind, path, str(outputs, "name"), DELETE_S);
    }
    json_t *cur = ng_outputs(ng, outputs);
    if (eks_str(ng, "nodeRole")) json_object_set_new(cur, "node_role_arn", json_string(eks_str(ng, "nodeRole")));
    json_t *v = json_object_get(ng, "subnets");
    if (json_is_array(v)) eks_observe(cur, outputs, "subnet_ids", json_incref(v), 0);
    v = json_object_get(ng, "instanceTypes");
    if (json_is_array(v)) eks_observe(cur, outputs, "instance_types", json_incref(v), 1);
    if (eks_str(ng, "amiType")) eks_observe(cur, outputs, "ami_type", json_string(eks_str(ng, "amiType")), 1);
    const char *cap = eks_str(ng, "capacityType");
    if (cap) eks_observe(cur, outputs, "capacity_type", json_string(cap), strcmp(cap, "ON_DEMAND") == 0);
    observe_num(cur, outputs, "min_size", ng, "scalingConfig.minSize", 1);
    observe_num(cur, outputs, "max_size", ng, "scalingConfig.maxSize", 2);
    observe_num(cur, outputs, "desired_size", ng, "scalingConfig.desiredSize", 2);
    v = json_object_get(ng, "labels");
    json_t *labels = json_is_object(v) ? json_incref(v) : json_object();
    eks_observe(cur, outputs, "labels", labels, json_object_size(labels) == 0);
    const char *lt = eks_str(ng, "launchTemplate.id");
    if (lt) eks_observe(cur, outputs, "launch_template_id", json_string(lt), 0);
    const char *ltv = eks_str(ng, "launchTemplate.version");
    json_t *mine = json_object_get(outputs, "launch_template_version");
    if (ltv && mine) {  /* as the user gave it: a number stays a number */
        char *s = eks_text(mine);
        if (strcmp(s, ltv) != 0) json_object_set_new(cur, "launch_template_version", json_string(ltv));
        free(s);
    }
    if (eks_str(ng, "version")) eks_observe(cur, outputs, "version", json_string(eks_str(ng, "version")), 1);
    eks_put_tags(cur, outputs, ng);
    json_decref(ng);
    *current = cur;
    return 0;
}

/* One UpdateNodegroup* call, then its update and the group settling. */
static int run_update(struct call *c, const json_t *outputs, const char *action, const char *tail, json_t *body)
{
    char path[800], base[700];
    path_of(c, outputs, base, sizeof(base));
    snprintf(path, sizeof(path), "%s/%s", base, tail);
    json_object_set_new(body, "clientRequestToken", json_string(c->token));
    json_t *reply = NULL;
    int rc = aws_do_rest(c, "eks", action, "POST", path, NULL, body, &reply);
    json_decref(body);
    if (!rc) rc = eks_wait_update(c, str(outputs, "cluster_name"), str(outputs, "name"), NULL, reply, UPDATE_S);
    json_decref(reply);
    if (!rc) rc = eks_wait_active(c, &eks_nodegroup_kind, base, str(outputs, "name"), UPDATE_S, NULL);
    return rc;
}

/* labels {addOrUpdateLabels, removeLabels} turning have into want; NULL when equal. */
static json_t *label_change(const json_t *have, const json_t *want)
{
    json_t *add = json_object(), *del = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v) {
        char *s = eks_text(v);
        const char *h = json_string_value(json_object_get(have, k));
        if (!h || strcmp(h, s) != 0) json_object_set_new(add, k, json_string(s));
        free(s);
    }
    json_object_foreach((json_t *)have, k, v) if (!json_object_get(want, k)) json_array_append_new(del, json_string(k));
    if (!json_object_size(add) && !json_array_size(del)) {
        json_decref(add);
        json_decref(del);
        return NULL;
    }
    json_t *l = json_object();
    if (json_object_size(add)) json_object_set(l, "addOrUpdateLabels", add);
    if (json_array_size(del)) json_object_set(l, "removeLabels", del);
    json_decref(add);
    json_decref(del);
    return l;
}

/* Compares desired with the world (drift is repaired too): the Kubernetes and launch template
 * versions first (UpdateNodegroupVersion), then scaling and labels (UpdateNodegroupConfig), tags. */
static int ng_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                     json_t **new_outputs)
{
    (void)prior;
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *ng = NULL;
    int rc = eks_wait_active(c, &eks_nodegroup_kind, path, str(outputs, "name"), UPDATE_S, &ng);
    if (rc) return rc;
    json_t *ver = json_object();
    const char *want = str(desired, "version");
    if (want && eks_str(ng, "version") && strcmp(want, eks_str(ng, "version")) != 0)
        json_object_set_new(ver, "version", json_string(want));
    json_t *ltv = json_object_get(desired, "launch_template_version");
    if (ltv && !json_is_null(ltv) && eks_str(ng, "launchTemplate.id")) {
        char *s = eks_text(ltv);
        if (!eks_str(ng, "launchTemplate.version") || strcmp(s, eks_str(ng, "launchTemplate.version")) != 0)
            json_object_set_new(ver, "launchTemplate",
                                json_pack("{s:s, s:s}", "id", eks_str(ng, "launchTemplate.id"), "version", s));
        free(s);
    }
    if (json_object_size(ver)) rc = run_update(c, outputs, "UpdateNodegroupVersion", "update-version", ver);
    else json_decref(ver);
    json_t *cfg = json_object();
    json_t *sc = scaling(desired);
    if (!json_equal(sc, json_object_get(ng, "scalingConfig"))) json_object_set(cfg, "scalingConfig", sc);
    json_decref(sc);
    json_t *empty = json_object();
    json_t *labels = json_object_get(desired, "labels");
    json_t *have_labels = json_object_get(ng, "labels");
    json_t *lc = label_change(json_is_object(have_labels) ? have_labels : empty, labels ? labels : empty);
    if (lc) json_object_set_new(cfg, "labels", lc);
    if (!rc && json_object_size(cfg)) rc = run_update(c, outputs, "UpdateNodegroupConfig", "update-config", cfg);
    else json_decref(cfg);
    json_t *tags = json_object_get(desired, "tags");
    if (!rc) rc = eks_sync_tags(c, eks_str(ng, "nodegroupArn"), json_object_get(ng, "tags"), tags ? tags : empty);
    json_decref(empty);
    json_decref(ng);
    ng = NULL;
    if (!rc) rc = eks_describe(c, &eks_nodegroup_kind, path, &ng);
    if (rc) return rc == MESH_ENOTFOUND ? mesh_err_set(c->err, rc, c->address, "the node group is gone") : rc;
    *new_outputs = ng_outputs(ng, desired);
    json_decref(ng);
    return 0;
}

static int ng_delete(struct call *c, const json_t *outputs)
{
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *ng = NULL;
    int rc = eks_describe(c, &eks_nodegroup_kind, path, &ng);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    const char *arn = str(outputs, "arn");
    int other = arn && eks_str(ng, "nodegroupArn") && strcmp(arn, eks_str(ng, "nodegroupArn")) != 0;
    json_decref(ng);
    if (other) return 0;  /* another incarnation under the same name: not ours */
    return eks_delete(c, &eks_nodegroup_kind, "DeleteNodegroup", path, str(outputs, "name"), DELETE_S);
}

/* What create, wait, find, read, update and delete call (shared helpers included), then what AWS checks beyond the calls. */
static const char *const eks_node_group_permissions[] = {
    "eks:CreateNodegroup", "eks:DeleteNodegroup", "eks:DescribeNodegroup", "eks:DescribeUpdate", "eks:TagResource",
    "eks:UntagResource", "eks:UpdateNodegroupConfig", "eks:UpdateNodegroupVersion",
    /* the node role handed to EKS (node_role_arn) */
    "iam:PassRole",
    /* EKS makes its service-linked role AWSServiceRoleForAmazonEKSNodegroup on the first node group */
    "iam:CreateServiceLinkedRole",
    NULL,
};

const struct driver aws_eks_node_group_driver = {
    .type = "aws_eks_node_group",
    .provider = &aws_provider,
    .schema = ng_schema,
    .permissions = eks_node_group_permissions,
    .doc = "an EKS managed node group (launch template for security groups, disk and IMDSv2); waits until ACTIVE; "
           "scaling, labels and versions update in place",
    .timeout_create = CREATE_S,
    .timeout_update = UPDATE_S,
    .timeout_delete = DELETE_S,
    .create = ng_create,
    .wait = ng_wait,
    .find = ng_find,
    .import = ng_import,
    .read = ng_read,
    .update = ng_update,
    .delete = ng_delete,
};
