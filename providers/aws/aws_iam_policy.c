/* aws_iam_policy.c: a customer-managed IAM policy. Its name is deterministic, so find adopts a
 * cut-off create by listing the account's local policies of that name and checking their mesh
 * tags; the PolicyId tells one incarnation from the next. A new document is a new default
 * version (IAM keeps 5: the oldest non-default one goes first). Delete detaches the policy
 * from whatever still holds it and removes its other versions (IAM refuses DeletePolicy
 * otherwise). */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "aws/iam.h"
#include "aws/tags.h"

static const struct attr policy_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the policy's name (unique in the account)"},
    {"document", T_STRING, ATTR_REQUIRED,
     "the policy document, JSON text; compared as JSON (key order and spacing do not matter)"},
    {"description", T_STRING, ATTR_FORCE_NEW, "what the policy is for (IAM cannot change it later)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the PolicyId (ANPA...), new for every incarnation"},
    {"arn", T_STRING, ATTR_COMPUTED, "the policy's ARN"},
    {NULL, 0, 0, NULL},
};

static const char *const policy_echo[] = {"name", "document", "description", "tags", NULL};

/* IAM keeps at most this many versions of a policy. */
#define IAM_POLICY_VERSIONS 5

static json_t *policy_outputs(xmlNodePtr p, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", p, "PolicyId");
    ec2_put_text(o, "arn", p, "Arn");
    ec2_echo(o, desired, policy_echo);
    return o;
}

/* One call about the policy (PolicyArn=arn, then extra name/value pairs ended by NULL). */
static int policy_send(struct call *c, const char *action, const char *arn, const char *const *extra, xmlDocPtr *doc,
                       struct mesh_err *e)
{
    struct aws_query q;
    iam_query(&q, action);
    aws_query_add(&q, "PolicyArn", arn);
    for (size_t i = 0; extra && extra[i]; i += 2) aws_query_add(&q, extra[i], extra[i + 1]);
    return iam_send(c, &q, doc, e);
}

/* GetPolicy of outputs' ARN, when it is still the same incarnation (same PolicyId). */
static int get_ours(struct call *c, const json_t *outputs, xmlDocPtr *doc, xmlNodePtr *p)
{
    const char *arn = ec2_str(outputs, "arn"), *id = ec2_id(c, outputs);
    if (!arn || !id) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no policy ARN or id");
    struct mesh_err e;
    *doc = NULL;
    int rc = policy_send(c, "GetPolicy", arn, NULL, doc, &e);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return aws_fail(c, &e);
    *p = aws_xml_find(iam_result(*doc, "GetPolicy"), "Policy");
    char *pid = aws_xml_text(*p, "PolicyId");
    int same = pid && strcmp(pid, id) == 0;
    free(pid);
    if (!same) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        return MESH_ENOTFOUND;
    }
    return 0;
}

static int policy_create(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name"), *doc_text = ec2_str(desired, "document");
    const char *desc = ec2_str(desired, "description");
    struct aws_query q;
    iam_query(&q, "CreatePolicy");
    aws_query_add(&q, "PolicyName", name ? name : "");
    aws_query_add(&q, "PolicyDocument", doc_text ? doc_text : "");
    if (desc) aws_query_add(&q, "Description", desc);
    iam_add_mesh_tags(c, &q, json_object_get(desired, "tags"));
    xmlDocPtr doc = NULL;
    int rc = iam_do(c, &q, &doc);
    if (rc) return rc;
    json_t *o = policy_outputs(aws_xml_find(iam_result(doc, "CreatePolicy"), "Policy"), desired);
    xmlFreeDoc(doc);
    if (!ec2_str(o, "id") || !ec2_str(o, "arn")) {
        json_decref(o);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreatePolicy: the reply holds no PolicyId or Arn");
    }
    *outputs = o;
    return 0;
}

struct find_ctx {
    struct call *c;
    const char *name;
    const json_t *desired;
    json_t *found;
    struct mesh_err e;
    int rc;
};

static int find_member(xmlNodePtr m, void *ctx)
{
    struct find_ctx *f = ctx;
    char *name = aws_xml_text(m, "PolicyName"), *arn = aws_xml_text(m, "Arn");
    if (!f->found && name && arn && strcmp(name, f->name) == 0) {
        json_t *tags = NULL;
        int rc = iam_read_tags(f->c, "Policy", "PolicyArn", arn, &tags, &f->e);
        if (rc && rc != MESH_ENOTFOUND) f->rc = rc;
        if (!rc && aws_tags_ours(f->c, tags)) f->found = policy_outputs(m, f->desired);
        json_decref(tags);
    }
    free(name);
    free(arn);
    return f->rc;
}

static int policy_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name");
    if (!name) return MESH_ENOTFOUND;
    struct find_ctx f = {.c = c, .name = name, .desired = desired};
    mesh_err_init(&f.e);
    const char *params[] = {"Scope", "Local", NULL};
    struct mesh_err e;
    int rc = iam_each(c, "ListPolicies", params, "Policies", find_member, &f, &e);
    if (f.rc) {
        json_decref(f.found);
        return aws_fail(c, &f.e);
    }
    if (rc) {
        json_decref(f.found);
        return aws_fail(c, &e);
    }
    if (!f.found) return MESH_ENOTFOUND;
    *outputs = f.found;
    return 0;
}

/* The ID is the policy's ARN, as Terraform's. */
static int policy_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    const char *tail = strncmp(id, "arn:", 4) == 0 ? strstr(id, ":policy/") : NULL;
    if (!tail || !tail[8] || tail[strlen(tail) - 1] == '/')
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "import ID \"%s\" is not of the form "
                            "arn:aws:iam::ACCOUNT:policy/NAME (the policy's ARN)", id);
    xmlDocPtr doc = NULL;
    struct mesh_err e;
    int rc = policy_send(c, "GetPolicy", id, NULL, &doc, &e);
    if (rc) return rc == MESH_ENOTFOUND ? rc : aws_fail(c, &e);
    xmlNodePtr p = aws_xml_find(iam_result(doc, "GetPolicy"), "Policy");
    char *name = aws_xml_text(p, "PolicyName");
    json_t *d = json_copy((json_t *)desired);
    if (name) json_object_set_new(d, "name", json_string(name));
    free(name);
    *outputs = p ? policy_outputs(p, d) : NULL;
    json_decref(d);
    xmlFreeDoc(doc);
    return *outputs ? 0 : MESH_ENOTFOUND;
}

/* The default version's document (decoded) of the policy item p. */
static int default_document(struct call *c, const char *arn, xmlNodePtr p, char **text)
{
    char *ver = aws_xml_text(p, "DefaultVersionId");
    const char *extra[] = {"VersionId", ver ? ver : "v1", NULL};
    xmlDocPtr doc = NULL;
    struct mesh_err e;
    int rc = policy_send(c, "GetPolicyVersion", arn, extra, &doc, &e);
    free(ver);
    if (rc) return rc == MESH_ENOTFOUND ? rc : aws_fail(c, &e);
    char *raw = aws_xml_text(iam_result(doc, "GetPolicyVersion"), "PolicyVersion/Document");
    xmlFreeDoc(doc);
    *text = iam_url_decode(raw ? raw : "");
    free(raw);
    return 0;
}

static int policy_read(struct call *c, const json_t *outputs, json_t **current)
{
    xmlDocPtr doc;
    xmlNodePtr p;
    int rc = get_ours(c, outputs, &doc, &p);
    if (rc) return rc;
    const char *arn = ec2_str(outputs, "arn");
    json_t *cur = json_deep_copy(outputs);
    ec2_put_text(cur, "name", p, "PolicyName");
    char *desc = aws_xml_text(p, "Description");
    ec2_observe(cur, outputs, "description", json_string(desc ? desc : ""), !desc || !*desc);
    free(desc);
    char *text = NULL;
    rc = default_document(c, arn, p, &text);
    if (!rc) iam_observe_doc(cur, outputs, "document", text);
    free(text);
    if (!rc) {  /* GetPolicy carries the tags, as GetRole does */
        json_t *tags = iam_tags(aws_xml_find(p, "Tags")), *user = aws_user_tags(tags);
        ec2_observe(cur, outputs, "tags", user, json_object_size(user) == 0);
        json_decref(tags);
    }
    xmlFreeDoc(doc);
    if (rc) {
        json_decref(cur);
        return rc;
    }
    *current = cur;
    return 0;
}

struct versions {
    int count;
    char oldest[64], oldest_date[64];  /* the oldest non-default version */
    json_t *others;                    /* every non-default version id */
};

static int version_member(xmlNodePtr m, void *ctx)
{
    struct versions *v = ctx;
    char *id = aws_xml_text(m, "VersionId"), *def = aws_xml_text(m, "IsDefaultVersion");
    char *date = aws_xml_text(m, "CreateDate");
    v->count++;
    if (id && !(def && strcmp(def, "true") == 0)) {
        json_array_append_new(v->others, json_string(id));
        /* ISO 8601 dates of one format order as text */
        if (!v->oldest[0] || (date && strcmp(date, v->oldest_date) < 0)) {
            snprintf(v->oldest, sizeof(v->oldest), "%s", id);
            snprintf(v->oldest_date, sizeof(v->oldest_date), "%s", date ? date : "");
        }
    }
    free(id);
    free(def);
    free(date);
    return 0;
}

static int list_versions(struct call *c, const char *arn, struct versions *v)
{
    memset(v, 0, sizeof(*v));
    v->others = json_array();
    const char *params[] = {"PolicyArn", arn, NULL};
    struct mesh_err e;
    int rc = iam_each(c, "ListPolicyVersions", params, "Versions", version_member, v, &e);
    return rc == MESH_ENOTFOUND ? rc : rc ? aws_fail(c, &e) : 0;
}

static int delete_version(struct call *c, const char *arn, const char *id)
{
    const char *extra[] = {"VersionId", id, NULL};
    struct mesh_err e;
    int rc = policy_send(c, "DeletePolicyVersion", arn, extra, NULL, &e);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

/* A new default version holding the desired document, unless the default already says the same. */
static int set_document(struct call *c, const json_t *outputs, const char *want)
{
    xmlDocPtr doc;
    xmlNodePtr p;
    const char *arn = ec2_str(outputs, "arn");
    int rc = get_ours(c, outputs, &doc, &p);
    if (rc == MESH_ENOTFOUND) return mesh_err_set(c->err, rc, c->address, "the policy %s is gone", arn);
    if (rc) return rc;
    char *text = NULL;
    rc = default_document(c, arn, p, &text);
    xmlFreeDoc(doc);
    if (rc) return rc;
    char *a = iam_canonical(text), *b = iam_canonical(want);
    int same = a && b && strcmp(a, b) == 0;
    free(a);
    free(b);
    free(text);
    if (same) return 0;
    struct versions v;
    rc = list_versions(c, arn, &v);
    if (!rc && v.count >= IAM_POLICY_VERSIONS && v.oldest[0]) rc = delete_version(c, arn, v.oldest);
    json_decref(v.others);
    if (rc) return rc;
    const char *extra[] = {"PolicyDocument", want, "SetAsDefault", "true", NULL};
    struct mesh_err e;
    rc = policy_send(c, "CreatePolicyVersion", arn, extra, NULL, &e);
    return rc ? aws_fail(c, &e) : 0;
}

static int policy_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                         json_t **new_outputs)
{
    (void)prior;
    const char *arn = ec2_str(outputs, "arn");
    if (!arn) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no policy ARN");
    int rc = set_document(c, outputs, ec2_str(desired, "document") ? ec2_str(desired, "document") : "");
    if (!rc) rc = iam_sync_tags(c, "Policy", "PolicyArn", arn, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, policy_echo);
    *new_outputs = o;
    return 0;
}

struct holders {
    const char *kind;  /* "Role": DetachRolePolicy RoleName=... */
    json_t *names;
};

static int holder_member(xmlNodePtr m, void *ctx)
{
    struct holders *h = ctx;
    char elem[32];
    snprintf(elem, sizeof(elem), "%sName", h->kind);
    char *n = aws_xml_text(m, elem);
    if (n) json_array_append_new(h->names, json_string(n));
    free(n);
    return 0;
}

/* Detaches the policy from every role, user and group that holds it. */
static int detach_all(struct call *c, const char *arn)
{
    static const char *const kinds[][3] = {{"Role", "PolicyRoles", "DetachRolePolicy"},
                                           {"User", "PolicyUsers", "DetachUserPolicy"},
                                           {"Group", "PolicyGroups", "DetachGroupPolicy"}};
    int rc = 0;
    for (size_t k = 0; k < 3 && !rc; k++) {
        struct holders h = {kinds[k][0], json_array()};
        const char *params[] = {"PolicyArn", arn, NULL};
        struct mesh_err e;
        rc = iam_each(c, "ListEntitiesForPolicy", params, kinds[k][1], holder_member, &h, &e);
        if (rc && rc != MESH_ENOTFOUND) rc = aws_fail(c, &e);
        size_t i;
        json_t *v;
        json_array_foreach(h.names, i, v) {
            if (rc) break;
            char param[32];
            snprintf(param, sizeof(param), "%sName", h.kind);
            const char *extra[] = {param, json_string_value(v), NULL};
            rc = policy_send(c, kinds[k][2], arn, extra, NULL, &e);
            if (rc == MESH_ENOTFOUND) rc = 0;
            else if (rc) rc = aws_fail(c, &e);
        }
        json_decref(h.names);
    }
    return rc;
}

static int policy_delete(struct call *c, const json_t *outputs)
{
    xmlDocPtr doc;
    xmlNodePtr p;
    int rc = get_ours(c, outputs, &doc, &p);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    xmlFreeDoc(doc);
    const char *arn = ec2_str(outputs, "arn");
    rc = detach_all(c, arn);
    struct versions v = {0};
    if (!rc) rc = list_versions(c, arn, &v);
    size_t i;
    json_t *id;
    json_array_foreach(v.others, i, id) if (!rc) rc = delete_version(c, arn, json_string_value(id));
    json_decref(v.others);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    struct mesh_err e;
    rc = policy_send(c, "DeletePolicy", arn, NULL, NULL, &e);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

static int policy_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    return iam_check_doc(desired, "document", report, ctx);
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const iam_policy_permissions[] = {
    "iam:CreatePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion",
    "iam:DetachGroupPolicy", "iam:DetachRolePolicy", "iam:DetachUserPolicy", "iam:GetPolicy",
    "iam:GetPolicyVersion", "iam:ListEntitiesForPolicy", "iam:ListPolicies", "iam:ListPolicyTags",
    "iam:ListPolicyVersions", "iam:TagPolicy", "iam:UntagPolicy",
    NULL,
};

const struct driver aws_iam_policy_driver = {
    .type = "aws_iam_policy",
    .provider = &aws_provider,
    .schema = policy_schema,
    .permissions = iam_policy_permissions,
    .doc = "a customer-managed IAM policy",
    .create = policy_create,
    .find = policy_find,
    .import = policy_import,
    .read = policy_read,
    .update = policy_update,
    .delete = policy_delete,
    .check = policy_check,
};
