/* aws_eks_addon.c: an EKS add-on (vpc-cni, coredns, kube-proxy...). create returns once EKS
 * accepted CreateAddon, wait polls until ACTIVE; version, configuration values and the service
 * account role update through UpdateAddon (waiting for its update and ACTIVE); delete waits until
 * EKS no longer knows the add-on. configuration_values is JSON text compared as canonical JSON (so
 * key order and spacing never plan a change). An unset version is EKS's default for the cluster
 * version: reported as installed_version, never diffed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/eks.h"
#include "aws/provider.h"
#include "aws/tags.h"
#include "aws/wait.h"

#define ADDON_S 1200

static const struct attr addon_schema[] = {
    {"cluster_name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the EKS cluster it belongs to"},
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the add-on name (vpc-cni, coredns, kube-proxy...)"},
    {"version", T_STRING, 0, "the add-on version (v1.18.3-eksbuild.1); unset: EKS's default for the cluster "
     "version, not diffed"},
    {"configuration_values", T_STRING, 0, "JSON text validated by EKS against DescribeAddonConfiguration's schema; "
     "compared as canonical JSON"},
    {"service_account_role_arn", T_STRING, 0, "IAM role for the add-on's service account (IRSA)"},
    {"resolve_conflicts", T_STRING, 0, "OVERWRITE (default), NONE or PRESERVE: what EKS does with fields changed "
     "in the cluster"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the add-on ARN (it holds a uuid: unique per incarnation)"},
    {"arn", T_STRING, ATTR_COMPUTED, "the add-on ARN"},
    {"installed_version", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "the version EKS runs"},
    {NULL, 0, 0, NULL},
};

static const char *const addon_echo[] = {
    "cluster_name", "name", "version", "configuration_values", "service_account_role_arn", "resolve_conflicts",
    "tags", NULL,
};

static const char *str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static json_t *addon_outputs(const json_t *a, const json_t *desired)
{
    json_t *o = json_object();
    const char *arn = eks_str(a, "addonArn");
    if (arn) {
        json_object_set_new(o, "id", json_string(arn));
        json_object_set_new(o, "arn", json_string(arn));
    }
    if (eks_str(a, "addonVersion")) json_object_set_new(o, "installed_version", json_string(eks_str(a, "addonVersion")));
    for (size_t i = 0; addon_echo[i]; i++) {
        json_t *v = json_object_get(desired, addon_echo[i]);
        if (v && !json_is_null(v)) json_object_set(o, addon_echo[i], v);
    }
    return o;
}

static const char *path_of(struct call *c, const json_t *o, char *buf, size_t n)
{
    if (!str(o, "cluster_name") || !str(o, "name")) {
        mesh_err_set(c->err, MESH_ERR, c->address, "the state holds no cluster or add-on name");
        return NULL;
    }
    return eks_path(buf, n, str(o, "cluster_name"), "addons", str(o, "name"));
}

static const char *resolve(const json_t *desired)
{
    return str(desired, "resolve_conflicts") ? str(desired, "resolve_conflicts") : "OVERWRITE";
}

static int addon_create(struct call *c, const json_t *desired, json_t **outputs)
{
    if (!str(desired, "cluster_name")) return mesh_err_set(c->err, MESH_EINVAL, c->address, "cluster_name is required");
    char path[700], base[600];
    snprintf(path, sizeof(path), "%s/addons", eks_path(base, sizeof(base), str(desired, "cluster_name"), NULL, NULL));
    json_t *body = json_pack("{s:s, s:s, s:s, s:o}", "addonName", str(desired, "name") ? str(desired, "name") : "",
                             "resolveConflicts", resolve(desired), "clientRequestToken", c->token, "tags",
                             aws_mesh_tags(c, json_object_get(desired, "tags")));
    if (str(desired, "version")) json_object_set(body, "addonVersion", json_object_get(desired, "version"));
    if (str(desired, "configuration_values"))
        json_object_set(body, "configurationValues", json_object_get(desired, "configuration_values"));
    if (str(desired, "service_account_role_arn"))
        json_object_set(body, "serviceAccountRoleArn", json_object_get(desired, "service_account_role_arn"));
    json_t *reply = NULL;
    /* no retry on InvalidParameterException here: it means configuration values EKS refuses */
    int rc = aws_do_rest(c, "eks", "CreateAddon", "POST", path, NULL, body, &reply);
    json_decref(body);
    if (rc) return rc;
    json_t *a = json_object_get(reply, "addon");
    if (!eks_str(a, "addonArn")) {
        json_decref(reply);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreateAddon: the answer has no add-on ARN");
    }
    *outputs = addon_outputs(a, desired);
    json_decref(reply);
    return 0;
}

static int addon_wait(struct call *c, const json_t *outputs, json_t **ready)
{
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *a = NULL;
    int rc = eks_wait_active(c, &eks_addon_kind, path, str(outputs, "name"), ADDON_S, &a);
    if (rc) return rc;
    *ready = addon_outputs(a, outputs);
    json_decref(a);
    return 0;
}

static int addon_find(struct call *c, const json_t *desired, json_t **outputs)
{
    char path[700];
    if (!str(desired, "cluster_name") || !str(desired, "name")) return MESH_ENOTFOUND;
    path_of(c, desired, path, sizeof(path));
    json_t *a = NULL;
    int rc = eks_describe(c, &eks_addon_kind, path, &a);
    if (rc) return rc;
    const char *status = eks_str(a, "status");
    int ours = aws_tags_ours(c, json_object_get(a, "tags")), deleting = status && strcmp(status, "DELETING") == 0;
    if (!ours || deleting) {
        json_decref(a);
        return ours ? eks_gone_when_deleted(c, &eks_addon_kind, path, str(desired, "name"), ADDON_S) : MESH_ENOTFOUND;
    }
    *outputs = addon_outputs(a, desired);
    json_decref(a);
    return 0;
}

static int addon_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    return eks_import(c, &eks_addon_kind, "addons", "CLUSTER:ADDON", id, desired, addon_outputs, outputs);
}

/* EKS reports the add-on's configuration as text; "" and "{}" (what an update that unsets it
 * sends) both mean its defaults, so neither is drift from an unset configuration_values. */
static const char *no_config(const char *cv)
{
    if (!cv) return NULL;
    json_t *v = json_loads(cv, JSON_DECODE_ANY, NULL);
    int empty = !*cv || (json_is_object(v) && json_object_size(v) == 0);
    json_decref(v);
    return empty ? NULL : cv;
}

static int addon_read(struct call *c, const json_t *outputs, json_t **current)
{
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *a = NULL;
    int rc = eks_describe(c, &eks_addon_kind, path, &a);
    if (rc) return rc;
    const char *status = eks_str(a, "status");
    const char *arn = str(outputs, "arn");
    int other = arn && eks_str(a, "addonArn") && strcmp(arn, eks_str(a, "addonArn")) != 0;
    if (other || (status && strcmp(status, "DELETING") == 0)) {
        json_decref(a);
        /* another incarnation under the same name, or ours going */
        return other ? MESH_ENOTFOUND : eks_gone_when_deleted(c, &eks_addon_kind, path, str(outputs, "name"), ADDON_S);
    }
    json_t *cur = addon_outputs(a, outputs);
    /* version: diffed only when the user pinned one (installed_version reports it always) */
    if (eks_str(a, "addonVersion")) eks_observe(cur, outputs, "version", json_string(eks_str(a, "addonVersion")), 1);
    const char *cv = no_config(eks_str(a, "configurationValues"));
    const char *mine = str(outputs, "configuration_values");
    if (cv && !(mine && eks_same_json(cv, mine))) json_object_set_new(cur, "configuration_values", json_string(cv));
    /* seen unset while mesh set one: null, so the diff sees drift (a missing key would mean "not observed") */
    else if (!cv && mine) json_object_set_new(cur, "configuration_values", json_null());
    const char *role = eks_str(a, "serviceAccountRoleArn");
    if (role && *role) json_object_set_new(cur, "service_account_role_arn", json_string(role));
    else json_object_del(cur, "service_account_role_arn");
    eks_put_tags(cur, outputs, a);
    json_decref(a);
    *current = cur;
    return 0;
}

/* Compares desired with the world (drift is repaired too); one UpdateAddon for version,
 * configuration and role, waiting for its update and ACTIVE; then tags. */
static int addon_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                        json_t **new_outputs)
{
    (void)prior;
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *a = NULL;
    int rc = eks_wait_active(c, &eks_addon_kind, path, str(outputs, "name"), ADDON_S, &a);
    if (rc) return rc;
    json_t *body = json_pack("{s:s, s:s}", "resolveConflicts", resolve(desired), "clientRequestToken", c->token);
    int change = 0;
    const char *ver = str(desired, "version");
    if (ver && (!eks_str(a, "addonVersion") || strcmp(ver, eks_str(a, "addonVersion")) != 0)) {
        json_object_set_new(body, "addonVersion", json_string(ver));
        change = 1;
    }
    const char *cv = str(desired, "configuration_values"), *have_cv = no_config(eks_str(a, "configurationValues"));
    if (cv ? !(have_cv && eks_same_json(cv, have_cv)) : have_cv != NULL) {
        /* unset: "{}" takes the add-on back to its defaults */
        json_object_set_new(body, "configurationValues", json_string(cv ? cv : "{}"));
        change = 1;
    }
    const char *role = str(desired, "service_account_role_arn"), *have_role = eks_str(a, "serviceAccountRoleArn");
    if (have_role && !*have_role) have_role = NULL;
    if (role ? !(have_role && strcmp(role, have_role) == 0) : have_role != NULL) {
        json_object_set_new(body, "serviceAccountRoleArn", json_string(role ? role : ""));
        change = 1;
    }
    if (change) {
        char up[800];
        snprintf(up, sizeof(up), "%s/update", path);
        json_t *reply = NULL;
        rc = aws_do_rest(c, "eks", "UpdateAddon", "POST", up, NULL, body, &reply);
        if (!rc) rc = eks_wait_update(c, str(outputs, "cluster_name"), NULL, str(outputs, "name"), reply, ADDON_S);
        json_decref(reply);
        if (!rc) rc = eks_wait_active(c, &eks_addon_kind, path, str(outputs, "name"), ADDON_S, NULL);
    }
    json_decref(body);
    json_t *empty = json_object();
    json_t *tags = json_object_get(desired, "tags");
    if (!rc) rc = eks_sync_tags(c, eks_str(a, "addonArn"), json_object_get(a, "tags"), tags ? tags : empty);
    json_decref(empty);
    json_decref(a);
    a = NULL;
    if (!rc) rc = eks_describe(c, &eks_addon_kind, path, &a);
    if (rc) return rc == MESH_ENOTFOUND ? mesh_err_set(c->err, rc, c->address, "the add-on is gone") : rc;
    *new_outputs = addon_outputs(a, desired);
    json_decref(a);
    return 0;
}

static int addon_delete(struct call *c, const json_t *outputs)
{
    char path[700];
    if (!path_of(c, outputs, path, sizeof(path))) return MESH_ERR;
    json_t *a = NULL;
    int rc = eks_describe(c, &eks_addon_kind, path, &a);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    const char *arn = str(outputs, "arn");
    int other = arn && eks_str(a, "addonArn") && strcmp(arn, eks_str(a, "addonArn")) != 0;
    json_decref(a);
    if (other) return 0;  /* another incarnation under the same name: not ours */
    return eks_delete(c, &eks_addon_kind, "DeleteAddon", path, str(outputs, "name"), ADDON_S);
}

/* What create, wait, find, read, update and delete call (shared helpers included), then what AWS checks beyond the calls. */
static const char *const eks_addon_permissions[] = {
    "eks:CreateAddon", "eks:DeleteAddon", "eks:DescribeAddon", "eks:DescribeUpdate", "eks:TagResource",
    "eks:UntagResource", "eks:UpdateAddon",
    /* the service account role handed to EKS (service_account_role_arn) */
    "iam:PassRole",
    NULL,
};

const struct driver aws_eks_addon_driver = {
    .type = "aws_eks_addon",
    .provider = &aws_provider,
    .schema = addon_schema,
    .permissions = eks_addon_permissions,
    .doc = "an EKS add-on (vpc-cni, coredns, kube-proxy...) with its configuration values; waits until ACTIVE",
    .timeout_create = ADDON_S,
    .timeout_update = ADDON_S,
    .timeout_delete = ADDON_S,
    .create = addon_create,
    .wait = addon_wait,
    .find = addon_find,
    .import = addon_import,
    .read = addon_read,
    .update = addon_update,
    .delete = addon_delete,
};
