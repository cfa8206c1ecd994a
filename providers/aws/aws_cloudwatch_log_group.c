/* aws_cloudwatch_log_group.c: a CloudWatch Logs log group (an EKS cluster's control-plane logs,
 * made before the cluster so EKS never makes an unmanaged one) with its retention. The name is
 * deterministic: find describes that name and checks its mesh tags. id is the ARN + "#" + its
 * creation time, new for every incarnation. Calls: JSON 1.1, "Logs_20140328.<Action>". */
#include <stdlib.h>
#include <string.h>

#include "aws/aws_call.h"
#include "aws/ec2.h"
#include "aws/tags.h"
#include "base/xalloc.h"

static const struct attr lg_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the log group's name (/aws/eks/CLUSTER/cluster)"},
    {"retention_days", T_NUMBER, 0, "days events are kept (1, 3, 5, 7, 14, 30, 60, 90, ...; default: forever)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the ARN + \"#\" + its creation time, new for every incarnation"},
    {"arn", T_STRING, ATTR_COMPUTED, "the log group's ARN (without the :* suffix)"},
    {NULL, 0, 0, NULL},
};

static const char *const lg_echo[] = {"name", "retention_days", "tags", NULL};

static int logs_send(struct call *c, const char *action, const json_t *body, json_t **reply, struct mesh_err *e)
{
    char target[96];
    snprintf(target, sizeof(target), "Logs_20140328.%s", action);
    return aws_call_json(c, "logs", target, body, reply, e);
}

static int logs_do(struct call *c, const char *action, json_t *body, json_t **reply)
{
    struct mesh_err e;
    int rc = logs_send(c, action, body, reply, &e);
    json_decref(body);
    return rc ? aws_fail(c, &e) : 0;
}

/* The group of exactly that name (DescribeLogGroups by prefix, page after page): 0 with *group,
 * MESH_ENOTFOUND, or an error in c->err. */
static int describe(struct call *c, const char *name, json_t **group)
{
    json_t *body = json_pack("{s:s}", "logGroupNamePrefix", name);
    *group = NULL;
    int rc = 0;
    while (!rc && !*group) {
        json_t *reply = NULL;
        struct mesh_err e;
        rc = logs_send(c, "DescribeLogGroups", body, &reply, &e);
        if (rc) {
            if (rc != MESH_ENOTFOUND) aws_fail(c, &e);
            break;
        }
        size_t i;
        json_t *g;
        json_array_foreach(json_object_get(reply, "logGroups"), i, g) {
            const char *n = json_string_value(json_object_get(g, "logGroupName"));
            if (n && strcmp(n, name) == 0 && !*group) *group = json_incref(g);
        }
        const char *next = json_string_value(json_object_get(reply, "nextToken"));
        if (!*group && next) json_object_set_new(body, "nextToken", json_string(next));
        else if (!*group) rc = MESH_ENOTFOUND;
        json_decref(reply);
    }
    json_decref(body);
    return rc;
}

/* The group's ARN for tagging: logGroupArn, or "arn" without the ":*" DescribeLogGroups
 * appends. Caller frees. */
static char *group_arn(const json_t *g)
{
    const char *a = json_string_value(json_object_get(g, "logGroupArn"));
    if (a) return xstrdup(a);
    a = json_string_value(json_object_get(g, "arn"));
    if (!a) return NULL;
    char *s = xstrdup(a);
    size_t n = strlen(s);
    if (n > 2 && strcmp(s + n - 2, ":*") == 0) s[n - 2] = '\0';
    return s;
}

static json_t *lg_outputs(const json_t *g, const json_t *desired)
{
    char *arn = group_arn(g);
    const json_t *t = json_object_get(g, "creationTime");
    char id[1200];
    snprintf(id, sizeof(id), "%s#%lld", arn ? arn : "", json_is_number(t) ? (long long)json_number_value(t) : 0LL);
    json_t *o = json_pack("{s:s, s:s}", "id", id, "arn", arn ? arn : "");
    free(arn);
    ec2_echo(o, desired, lg_echo);
    return o;
}

/* The group of outputs, when still the same incarnation (the id's creation time). */
static int get_ours(struct call *c, const json_t *outputs, json_t **group)
{
    const char *name = ec2_str(outputs, "name"), *id = ec2_id(c, outputs);
    if (!name || !id) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no log group name or id");
    int rc = describe(c, name, group);
    if (rc) return rc;
    json_t *now = lg_outputs(*group, NULL);
    int same = strcmp(ec2_str(now, "id"), id) == 0;
    json_decref(now);
    if (!same) {
        json_decref(*group);
        *group = NULL;
        return MESH_ENOTFOUND;
    }
    return 0;
}

static int delete_name(struct call *c, const char *name)
{
    json_t *body = json_pack("{s:s}", "logGroupName", name);
    struct mesh_err e;
    int rc = logs_send(c, "DeleteLogGroup", body, NULL, &e);
    json_decref(body);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

static int set_retention(struct call *c, const char *name, const json_t *days)
{
    if (json_is_number(days))
        return logs_do(c, "PutRetentionPolicy",
                       json_pack("{s:s, s:I}", "logGroupName", name, "retentionInDays", (json_int_t)json_number_value(days)),
                       NULL);
    return logs_do(c, "DeleteRetentionPolicy", json_pack("{s:s}", "logGroupName", name), NULL);
}

static int lg_create(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name");
    if (!name) return mesh_err_set(c->err, MESH_EINVAL, c->address, "no name");
    int rc = logs_do(c, "CreateLogGroup",
                     json_pack("{s:s, s:o}", "logGroupName", name, "tags", aws_mesh_tags(c, json_object_get(desired, "tags"))),
                     NULL);
    if (rc) return rc;
    /* The ARN and creation time (the id), then the retention; a failure removes the group. */
    json_t *g = NULL;
    rc = describe(c, name, &g);
    if (rc == MESH_ENOTFOUND) rc = mesh_err_set(c->err, rc, c->address, "DescribeLogGroups does not show the new %s", name);
    const json_t *days = json_object_get(desired, "retention_days");
    if (!rc && json_is_number(days)) rc = set_retention(c, name, days);
    if (rc) {
        struct mesh_err e;
        struct call quiet = ec2_quiet(c, &e);
        delete_name(&quiet, name);
        json_decref(g);
        return rc;
    }
    *outputs = lg_outputs(g, desired);
    json_decref(g);
    return 0;
}

/* MESH_ENOTFOUND (c->err untouched) when the group is gone; another error sets c->err. */
static int read_tags(struct call *c, const char *arn, json_t **tags)
{
    json_t *reply = NULL, *body = json_pack("{s:s}", "resourceArn", arn);
    struct mesh_err e;
    int rc = logs_send(c, "ListTagsForResource", body, &reply, &e);
    json_decref(body);
    if (rc) return rc == MESH_ENOTFOUND ? rc : aws_fail(c, &e);
    json_t *t = json_object_get(reply, "tags");
    *tags = json_is_object(t) ? json_incref(t) : json_object();
    json_decref(reply);
    return 0;
}

static int lg_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name");
    if (!name) return MESH_ENOTFOUND;
    json_t *g = NULL, *tags = NULL;
    int rc = describe(c, name, &g);
    if (rc) return rc;
    char *arn = group_arn(g);
    rc = read_tags(c, arn ? arn : "", &tags);
    free(arn);
    if (!rc && !aws_tags_ours(c, tags)) rc = MESH_ENOTFOUND;
    if (!rc) *outputs = lg_outputs(g, desired);
    json_decref(tags);
    json_decref(g);
    return rc;
}

/* The ID is the group's name, as Terraform's ("/aws/eks/cluster-1/cluster"). */
static int lg_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    if (!*id || strncmp(id, "arn:", 4) == 0)
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "import ID \"%s\" is not of the form "
                            "LOG_GROUP_NAME (/aws/eks/CLUSTER/cluster)", id);
    json_t *g = NULL;
    int rc = describe(c, id, &g);
    if (rc) return rc;
    json_t *d = json_copy((json_t *)desired);
    json_object_set_new(d, "name", json_string(id));
    *outputs = lg_outputs(g, d);
    json_decref(d);
    json_decref(g);
    return 0;
}

static int lg_read(struct call *c, const json_t *outputs, json_t **current)
{
    json_t *g = NULL, *tags = NULL;
    int rc = get_ours(c, outputs, &g);
    if (rc) return rc;
    rc = read_tags(c, ec2_str(outputs, "arn") ? ec2_str(outputs, "arn") : "", &tags);
    if (rc) {
        json_decref(g);
        return rc;
    }
    json_t *cur = json_deep_copy(outputs);
    const json_t *days = json_object_get(g, "retentionInDays");
    if (json_is_number(days)) json_object_set_new(cur, "retention_days", json_integer((json_int_t)json_number_value(days)));
    else json_object_del(cur, "retention_days");  /* kept forever: the default */
    json_t *user = aws_user_tags(tags);
    ec2_observe(cur, outputs, "tags", user, json_object_size(user) == 0);
    json_decref(tags);
    json_decref(g);
    *current = cur;
    return 0;
}

static int sync_tags(struct call *c, const char *arn, const json_t *want_tags)
{
    json_t *have = NULL;
    int rc = read_tags(c, arn, &have);
    if (rc == MESH_ENOTFOUND) return mesh_err_set(c->err, rc, c->address, "the log group %s is gone", arn);
    if (rc) return rc;
    json_t *set, *drop;
    aws_tags_diff(have, want_tags, &set, &drop);
    if (json_object_size(set)) rc = logs_do(c, "TagResource", json_pack("{s:s, s:O}", "resourceArn", arn, "tags", set), NULL);
    if (!rc && json_array_size(drop))
        rc = logs_do(c, "UntagResource", json_pack("{s:s, s:O}", "resourceArn", arn, "tagKeys", drop), NULL);
    json_decref(set);
    json_decref(drop);
    json_decref(have);
    return rc;
}

static int lg_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                     json_t **new_outputs)
{
    (void)prior;
    const char *name = ec2_str(outputs, "name"), *arn = ec2_str(outputs, "arn");
    if (!name || !arn) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no log group name or ARN");
    int rc = set_retention(c, name, json_object_get(desired, "retention_days"));
    if (!rc) rc = sync_tags(c, arn, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, lg_echo);
    *new_outputs = o;
    return 0;
}

static int lg_delete(struct call *c, const json_t *outputs)
{
    json_t *g = NULL;
    int rc = get_ours(c, outputs, &g);
    json_decref(g);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    return delete_name(c, ec2_str(outputs, "name"));
}

static int lg_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    static const int allowed[] = {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                                  2557, 2922, 3288, 3653};
    const json_t *d = json_object_get(desired, "retention_days");
    if (!json_is_number(d)) return 0;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (json_number_value(d) == allowed[i]) return 0;
    report(ctx, "retention_days", "CloudWatch Logs keeps events 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
                                  "545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days");
    return 1;
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const cloudwatch_log_group_permissions[] = {
    "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy", "logs:DescribeLogGroups",
    "logs:ListTagsForResource", "logs:PutRetentionPolicy", "logs:TagResource", "logs:UntagResource",
    NULL,
};

const struct driver aws_cloudwatch_log_group_driver = {
    .type = "aws_cloudwatch_log_group",
    .provider = &aws_provider,
    .schema = lg_schema,
    .permissions = cloudwatch_log_group_permissions,
    .doc = "a CloudWatch Logs log group with its retention",
    .create = lg_create,
    .find = lg_find,
    .import = lg_import,
    .read = lg_read,
    .update = lg_update,
    .delete = lg_delete,
    .check = lg_check,
};
