/* aws_iam_role.c: an IAM role with its trust policy and attached managed policies. Roles are
 * keyed by name (deterministic), so find adopts a cut-off create by GetRole and the role's mesh
 * tags; the RoleId tells one incarnation from the next. Delete first detaches the managed
 * policies, deletes inline policies and takes the role out of instance profiles (IAM refuses
 * DeleteRole otherwise). */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "aws/iam.h"
#include "aws/tags.h"

static const struct attr role_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the role's name (unique in the account)"},
    {"assume_role_policy", T_STRING, ATTR_REQUIRED,
     "the trust policy, JSON text; compared as JSON (key order and spacing do not matter)"},
    {"managed_policy_arns", T_LIST, 0, "ARNs of the managed policies attached to the role (default none)"},
    {"description", T_STRING, 0, "what the role is for"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the RoleId (AROA...), new for every incarnation"},
    {"arn", T_STRING, ATTR_COMPUTED, "the role's ARN"},
    {NULL, 0, 0, NULL},
};

static const char *const role_echo[] = {"name", "assume_role_policy", "managed_policy_arns", "description", "tags", NULL};

/* Outputs of a <Role> element. */
static json_t *role_outputs(xmlNodePtr role, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", role, "RoleId");
    ec2_put_text(o, "arn", role, "Arn");
    ec2_echo(o, desired, role_echo);
    return o;
}

/* GetRole: 0 with *doc (the caller frees it) and *role; MESH_ENOTFOUND (in e) when no such role. */
static int get_role(struct call *c, const char *name, xmlDocPtr *doc, xmlNodePtr *role, struct mesh_err *e)
{
    struct aws_query q;
    iam_query(&q, "GetRole");
    aws_query_add(&q, "RoleName", name);
    *doc = NULL;
    int rc = iam_send(c, &q, doc, e);
    if (rc) return rc;
    *role = aws_xml_find(iam_result(*doc, "GetRole"), "Role");
    if (!*role) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        return mesh_err_set(e, MESH_ENOTFOUND, c->address, "GetRole: no role %s", name);
    }
    return 0;
}

/* The role of outputs, when it is still the same incarnation (same RoleId). */
static int get_ours(struct call *c, const json_t *outputs, xmlDocPtr *doc, xmlNodePtr *role)
{
    const char *name = ec2_str(outputs, "name"), *id = ec2_id(c, outputs);
    if (!name || !id) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no role name or id");
    struct mesh_err e;
    int rc = get_role(c, name, doc, role, &e);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return aws_fail(c, &e);
    char *rid = aws_xml_text(*role, "RoleId");
    int same = rid && strcmp(rid, id) == 0;
    free(rid);
    if (!same) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        return MESH_ENOTFOUND;  /* another incarnation under the same name: ours is gone */
    }
    return 0;
}

static int attach(struct call *c, const char *name, const char *arn, int fresh)
{
    struct aws_query q;
    iam_query(&q, "AttachRolePolicy");
    aws_query_add(&q, "RoleName", name);
    aws_query_add(&q, "PolicyArn", arn);
    return fresh ? iam_do_fresh(c, &q, NULL) : iam_do(c, &q, NULL);
}

static int detach(struct call *c, const char *name, const char *arn)
{
    struct aws_query q;
    iam_query(&q, "DetachRolePolicy");
    aws_query_add(&q, "RoleName", name);
    aws_query_add(&q, "PolicyArn", arn);
    struct mesh_err e;
    int rc = iam_send(c, &q, NULL, &e);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

static int attached(struct call *c, const char *name, json_t **arns)
{
    const char *params[] = {"RoleName", name, NULL};
    struct mesh_err e;
    int rc = iam_list(c, "ListAttachedRolePolicies", params, "AttachedPolicies", "PolicyArn", arns, &e);
    return rc == MESH_ENOTFOUND ? rc : rc ? aws_fail(c, &e) : 0;
}

/* Attaches what desired lists and the role lacks, detaches the rest. */
static int sync_policies(struct call *c, const char *name, const json_t *desired, int fresh)
{
    json_t *have = NULL;
    int rc = fresh ? 0 : attached(c, name, &have);
    if (rc) return rc;
    if (!have) have = json_array();
    const json_t *want = json_object_get(desired, "managed_policy_arns");
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)want, i, v) {
        if (!rc && json_is_string(v) && !iam_list_has(have, json_string_value(v)))
            rc = attach(c, name, json_string_value(v), fresh);
    }
    json_array_foreach(have, i, v) {
        if (!rc && !iam_list_has(want, json_string_value(v))) rc = detach(c, name, json_string_value(v));
    }
    json_decref(have);
    return rc;
}

static int role_delete_name(struct call *c, const char *name);

static int role_create(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name"), *desc = ec2_str(desired, "description");
    struct aws_query q;
    iam_query(&q, "CreateRole");
    aws_query_add(&q, "RoleName", name ? name : "");
    aws_query_add(&q, "AssumeRolePolicyDocument", ec2_str(desired, "assume_role_policy") ? ec2_str(desired, "assume_role_policy") : "");
    if (desc) aws_query_add(&q, "Description", desc);
    iam_add_mesh_tags(c, &q, json_object_get(desired, "tags"));
    xmlDocPtr doc = NULL;
    int rc = iam_do(c, &q, &doc);
    if (rc) return rc;
    json_t *o = role_outputs(aws_xml_find(iam_result(doc, "CreateRole"), "Role"), desired);
    xmlFreeDoc(doc);
    if (!ec2_str(o, "id")) {
        json_decref(o);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreateRole: the reply holds no RoleId");
    }
    rc = sync_policies(c, name, desired, 1);
    if (rc) {  /* leave nothing behind a failed create */
        struct mesh_err e;
        struct call quiet = ec2_quiet(c, &e);
        quiet.progress = NULL;
        role_delete_name(&quiet, name);
        json_decref(o);
        return rc;
    }
    *outputs = o;
    return 0;
}

/* The role of that name: with mine set, only when its tags say this address and run made it. */
static int role_lookup(struct call *c, const char *name, const json_t *desired, int mine, json_t **outputs)
{
    xmlDocPtr doc;
    xmlNodePtr role;
    struct mesh_err e;
    int rc = get_role(c, name, &doc, &role, &e);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return aws_fail(c, &e);
    json_t *tags = iam_tags(aws_xml_find(role, "Tags"));
    int ours = !mine || aws_tags_ours(c, tags);
    json_decref(tags);
    /* A cut-off create may not have attached every policy yet: update (planned from read) does. */
    if (ours) *outputs = role_outputs(role, desired);
    xmlFreeDoc(doc);
    return ours ? 0 : MESH_ENOTFOUND;
}

static int role_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name");
    return name ? role_lookup(c, name, desired, 1, outputs) : MESH_ENOTFOUND;
}

/* The ID is the role's name, as Terraform's; its ARN names it too (the last part of its path). */
static int role_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    const char *name = strncmp(id, "arn:", 4) == 0 && strchr(id, '/') ? strrchr(id, '/') + 1 : id;
    if (!*name || strchr(name, ':') || strchr(name, '/'))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "import ID \"%s\" is not of the form ROLE_NAME "
                            "(or arn:aws:iam::ACCOUNT:role/ROLE_NAME)", id);
    json_t *d = json_copy((json_t *)desired);
    json_object_set_new(d, "name", json_string(name));
    int rc = role_lookup(c, name, d, 0, outputs);
    json_decref(d);
    return rc;
}

static int role_read(struct call *c, const json_t *outputs, json_t **current)
{
    xmlDocPtr doc;
    xmlNodePtr role;
    int rc = get_ours(c, outputs, &doc, &role);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    ec2_put_text(cur, "name", role, "RoleName");
    ec2_put_text(cur, "arn", role, "Arn");
    char *policy = aws_xml_text(role, "AssumeRolePolicyDocument");
    iam_observe_doc(cur, outputs, "assume_role_policy", policy);
    free(policy);
    char *desc = aws_xml_text(role, "Description");
    ec2_observe(cur, outputs, "description", json_string(desc ? desc : ""), !desc || !*desc);
    free(desc);
    json_t *tags = iam_tags(aws_xml_find(role, "Tags"));
    json_t *user = aws_user_tags(tags);
    ec2_observe(cur, outputs, "tags", user, json_object_size(user) == 0);
    json_decref(tags);
    json_t *arns = NULL;
    rc = attached(c, json_string_value(json_object_get(cur, "name")), &arns);
    if (!rc) iam_observe_set(cur, outputs, "managed_policy_arns", arns);
    xmlFreeDoc(doc);
    if (rc) {
        json_decref(cur);
        return rc;
    }
    *current = cur;
    return 0;
}

static int role_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    (void)prior;  /* the world may have drifted from prior: make it what desired says */
    const char *name = ec2_str(outputs, "name");
    if (!name) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no role name");
    struct aws_query q;
    iam_query(&q, "UpdateAssumeRolePolicy");
    aws_query_add(&q, "RoleName", name);
    aws_query_add(&q, "PolicyDocument", ec2_str(desired, "assume_role_policy") ? ec2_str(desired, "assume_role_policy") : "");
    int rc = iam_do(c, &q, NULL);
    if (!rc) {
        iam_query(&q, "UpdateRole");
        aws_query_add(&q, "RoleName", name);
        aws_query_add(&q, "Description", ec2_str(desired, "description") ? ec2_str(desired, "description") : "");
        rc = iam_do(c, &q, NULL);
    }
    if (!rc) rc = sync_policies(c, name, desired, 0);
    if (!rc) rc = iam_sync_tags(c, "Role", "RoleName", name, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, role_echo);
    *new_outputs = o;
    return 0;
}

/* The element elem of every member of a list call about the role (RoleName=name). */
static int each_of_role(struct call *c, const char *action, const char *list, const char *elem, const char *name,
                        json_t **out)
{
    const char *params[] = {"RoleName", name, NULL};
    struct mesh_err e;
    int rc = iam_list(c, action, params, list, elem, out, &e);
    return rc == MESH_ENOTFOUND ? rc : rc ? aws_fail(c, &e) : 0;
}

/* One call about the role and one other name; not found counts as done. */
static int role_call(struct call *c, const char *action, const char *name, const char *param, const char *value)
{
    struct aws_query q;
    iam_query(&q, action);
    aws_query_add(&q, "RoleName", name);
    aws_query_add(&q, param, value);
    struct mesh_err e;
    int rc = iam_send(c, &q, NULL, &e);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

/* Everything that keeps IAM from deleting the role, then the role; not found is done. */
static int role_delete_name(struct call *c, const char *name)
{
    json_t *l = NULL;
    size_t i;
    json_t *v;
    int rc = each_of_role(c, "ListAttachedRolePolicies", "AttachedPolicies", "PolicyArn", name, &l);
    json_array_foreach(l, i, v) if (!rc) rc = detach(c, name, json_string_value(v));
    json_decref(l);
    l = NULL;
    if (!rc) rc = each_of_role(c, "ListRolePolicies", "PolicyNames", NULL, name, &l);
    json_array_foreach(l, i, v) if (!rc) rc = role_call(c, "DeleteRolePolicy", name, "PolicyName", json_string_value(v));
    json_decref(l);
    l = NULL;
    if (!rc) rc = each_of_role(c, "ListInstanceProfilesForRole", "InstanceProfiles", "InstanceProfileName", name, &l);
    json_array_foreach(l, i, v) {
        if (!rc) rc = role_call(c, "RemoveRoleFromInstanceProfile", name, "InstanceProfileName", json_string_value(v));
    }
    json_decref(l);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    struct aws_query q;
    iam_query(&q, "DeleteRole");
    aws_query_add(&q, "RoleName", name);
    struct mesh_err e;
    rc = iam_send(c, &q, NULL, &e);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

static int role_delete(struct call *c, const json_t *outputs)
{
    xmlDocPtr doc;
    xmlNodePtr role;
    int rc = get_ours(c, outputs, &doc, &role);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    xmlFreeDoc(doc);
    return role_delete_name(c, ec2_str(outputs, "name"));
}

static int role_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    return iam_check_doc(desired, "assume_role_policy", report, ctx);
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const iam_role_permissions[] = {
    "iam:AttachRolePolicy", "iam:CreateRole", "iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
    "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:ListRolePolicies",
    "iam:ListRoleTags", "iam:RemoveRoleFromInstanceProfile", "iam:TagRole", "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
    NULL,
};

const struct driver aws_iam_role_driver = {
    .type = "aws_iam_role",
    .provider = &aws_provider,
    .schema = role_schema,
    .permissions = iam_role_permissions,
    .doc = "an IAM role: trust policy, attached managed policies",
    .create = role_create,
    .find = role_find,
    .import = role_import,
    .read = role_read,
    .update = role_update,
    .delete = role_delete,
    .check = role_check,
};
