/* policy.c: the AWS drivers' permissions as one IAM policy document (`mesh resources
 * --iam-policy`). Most actions can only be allowed on Resource "*": the IDs, ARNs and account
 * of what mesh creates are not known before it runs (and many EC2/EKS actions take no resource
 * at all). Two permissions can be narrowed from the spec alone, and are, because they are the
 * ones that let an identity act beyond what it makes: iam:PassRole, to the roles the spec hands
 * to a service (by name, any account) and only towards EKS/EC2; iam:CreateServiceLinkedRole,
 * to EKS's own service-linked roles. */
#include "aws/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

/* The attributes through which a resource hands an IAM role to a service (iam:PassRole). */
static const struct {
    const char *type, *attr;
} role_passers[] = {
    {"aws_eks_cluster", "role_arn"},
    {"aws_eks_node_group", "node_role_arn"},
    {"aws_eks_addon", "service_account_role_arn"},
};
#define NPASSERS (sizeof(role_passers) / sizeof(role_passers[0]))

/* The services a role may be passed to: the cluster and add-on roles go to EKS; the node role is
 * assumed by EC2 instances, and which of the two AWS names when EKS passes it on is not
 * documented, so both are allowed (nothing else). */
static const char *const passed_to[] = {"ec2.amazonaws.com", "eks.amazonaws.com"};
/* The service-linked roles EKS creates on first use (cluster; managed node group). */
static const char *const linked_services[] = {"eks-nodegroup.amazonaws.com", "eks.amazonaws.com"};

static const char *str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* The partition of the spec's region: role ARNs name it. */
static const char *partition(const json_t *config)
{
    const char *region = str(config, "region");
    if (region && strncmp(region, "cn-", 3) == 0) return "aws-cn";
    if (region && strncmp(region, "us-gov-", 7) == 0) return "aws-us-gov";
    return "aws";
}

static const json_t *resource_at(const json_t *resources, const char *address)
{
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r)
        if (str(r, "address") && strcmp(str(r, "address"), address) == 0) return r;
    return NULL;
}

/* The ARN pattern of the role value names: "${aws_iam_role.X.arn}" of a role of the spec whose
 * name is plain text, or a literal role ARN. NULL when it cannot be told before the run. */
static char *role_arn(const json_t *resources, const char *value, const char *part)
{
    static const char pre[] = "${aws_iam_role.", post[] = ".arn}";
    size_t n = strlen(value);
    if (strncmp(value, pre, sizeof(pre) - 1) == 0 && n > sizeof(pre) + sizeof(post) - 2 &&
        strcmp(value + n - (sizeof(post) - 1), post) == 0 && !strchr(value + 2, '{')) {
        char address[512];
        int len = (int)(n - (sizeof(pre) - 1) - (sizeof(post) - 1));
        snprintf(address, sizeof(address), "aws_iam_role.%.*s", len, value + sizeof(pre) - 1);
        const char *name = str(json_object_get(resource_at(resources, address), "attributes"), "name");
        if (!name || !*name || strstr(name, "${")) return NULL;
        char arn[600];
        snprintf(arn, sizeof(arn), "arn:%s:iam::*:role/%s", part, name);
        return xstrdup(arn);
    }
    if (strncmp(value, "arn:", 4) == 0 && strstr(value, ":role/") && !strstr(value, "${")) return xstrdup(value);
    return NULL;
}

/* The roles the spec passes, sorted: a new array; "*" alone when one cannot be told (or there is
 * no spec); NULL when the spec passes none. */
static json_t *passed_roles(const json_t *request)
{
    const json_t *resources = json_object_get(request, "resources");
    if (!json_array_size(resources)) return json_pack("[s]", "*");
    const char *part = partition(json_object_get(request, "config"));
    json_t *arns = json_array();
    int any = 0, unknown = 0;
    size_t i;
    json_t *r;
    json_array_foreach(resources, i, r) {
        for (size_t k = 0; k < NPASSERS; k++) {
            if (!str(r, "type") || strcmp(str(r, "type"), role_passers[k].type) != 0) continue;
            const json_t *v = json_object_get(json_object_get(r, "attributes"), role_passers[k].attr);
            if (!v || json_is_null(v)) continue;
            any = 1;
            char *arn = json_is_string(v) ? role_arn(resources, json_string_value(v), part) : NULL;
            if (!arn) {
                unknown = 1;
                continue;
            }
            size_t j;
            json_t *have;
            int dup = 0;
            json_array_foreach(arns, j, have) dup |= strcmp(json_string_value(have), arn) == 0;
            if (!dup) json_array_append_new(arns, json_string(arn));
            free(arn);
        }
    }
    if (!any || unknown) {
        json_decref(arns);
        return any ? json_pack("[s]", "*") : NULL;
    }
    return arns;
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static json_t *sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **items = xcalloc(n ? n : 1, sizeof(*items));
    for (size_t i = 0; i < n; i++) items[i] = json_incref(json_array_get(arr, i));
    qsort(items, n, sizeof(*items), cmp_json_str);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(out, items[i]);
    free(items);
    json_decref(arr);
    return out;
}

static json_t *strings(const char *const *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(s[i]));
    return a;
}

/* "ec2" -> "EC2": a statement's Sid (letters and digits only). */
static void sid_of(const char *service, char *buf, size_t n)
{
    static const char *const names[][2] = {{"ec2", "EC2"}, {"eks", "EKS"}, {"iam", "IAM"}, {"kms", "KMS"},
                                           {"logs", "CloudWatchLogs"}, {"sts", "STS"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i][0], service) == 0) {
            snprintf(buf, n, "%s", names[i][1]);
            return;
        }
    size_t k = 0;
    for (const char *p = service; *p && k + 1 < n; p++)
        if (isalnum((unsigned char)*p)) {
            buf[k] = k ? *p : (char)toupper((unsigned char)*p);
            k++;
        }
    buf[k] = '\0';
}

json_t *aws_policy_statement(const char *sid, json_t *actions, json_t *resource, json_t *condition)
{
    json_t *st = json_pack("{s:s, s:s, s:o, s:o}", "Sid", sid, "Effect", "Allow", "Action", actions, "Resource", resource);
    if (condition) json_object_set_new(st, "Condition", condition);
    return st;
}

json_t *aws_policy_document(const json_t *request)
{
    json_t *stmts = json_array();
    /* permissions arrive sorted, so one service's actions are adjacent */
    const json_t *perms = json_object_get(request, "permissions");
    json_t *actions = NULL;
    char service[64] = "";
    int pass_role = 0, linked_role = 0;
    for (size_t i = 0; i <= json_array_size(perms); i++) {
        const char *p = i < json_array_size(perms) ? json_string_value(json_array_get(perms, i)) : NULL;
        if (p && strcmp(p, "iam:PassRole") == 0) {
            pass_role = 1;
            continue;
        }
        if (p && strcmp(p, "iam:CreateServiceLinkedRole") == 0) {
            linked_role = 1;
            continue;
        }
        const char *colon = p ? strchr(p, ':') : NULL;
        if (p && !colon) continue;  /* not "service:Action": not ours to print */
        if (actions && (!p || strlen(service) != (size_t)(colon - p) || strncmp(service, p, (size_t)(colon - p)) != 0)) {
            char sid[64];
            sid_of(service, sid, sizeof(sid));
            json_array_append_new(stmts, aws_policy_statement(sid, sorted(actions), json_string("*"), NULL));
            actions = NULL;
        }
        if (!p) break;
        if (!actions) {
            snprintf(service, sizeof(service), "%.*s", (int)(colon - p), p);
            actions = json_array();
        }
        json_array_append_new(actions, json_string(p));
    }
    if (pass_role) {
        json_t *roles = passed_roles(request);
        if (roles) {
            json_t *res = json_array_size(roles) == 1 ? json_incref(json_array_get(roles, 0)) : sorted(json_incref(roles));
            json_decref(roles);
            json_array_append_new(stmts, aws_policy_statement("IAMPassRole", json_pack("[s]", "iam:PassRole"), res,
                json_pack("{s:{s:o}}", "StringEquals", "iam:PassedToService", strings(passed_to, 2))));
        }
    }
    if (linked_role)
        json_array_append_new(stmts, aws_policy_statement("IAMServiceLinkedRoles", json_pack("[s]", "iam:CreateServiceLinkedRole"),
            json_string("*"), json_pack("{s:{s:o}}", "StringEquals", "iam:AWSServiceName", strings(linked_services, 2))));
    return json_pack("{s:s, s:o}", "Version", "2012-10-17", "Statement", stmts);
}
