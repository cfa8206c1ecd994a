/* test_iam_policy.c: `mesh resources --iam-policy`: the engine's union of the drivers'
 * permissions (sorted, each once, one provider's only), the AWS policy document's shape (one
 * statement per service, iam:PassRole narrowed to the roles a spec hands to EKS), and the
 * permissions held to the sources both ways: every action a driver lists is called somewhere in
 * providers/aws/ (or is one AWS checks beyond a call, listed below with why), and every
 * action-like literal in a driver's own file is in its list. tests/e2e/aws_clusters.sh checks
 * the other side against the calls the harness saw. */
#include <glob.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/policy.h"
#include "base/xalloc.h"
#include "cmd_resources.h"
#include "driver.h"
#include "spec_load.h"

/* ---- the union, with drivers made here ---- */

static const struct provider prov_a = {.name = "a"}, prov_b = {.name = "b"};
static const char *const perm_1[] = {"x:Zeta", "x:Alpha", "y:Beta", NULL};
static const char *const perm_2[] = {"x:Alpha", "x:Gamma", NULL};
static const char *const perm_3[] = {"z:Other", NULL};
static const struct driver drv_1 = {.type = "t1", .provider = &prov_a, .permissions = perm_1};
static const struct driver drv_2 = {.type = "t2", .provider = &prov_a, .permissions = perm_2};
static const struct driver drv_3 = {.type = "t3", .provider = &prov_b, .permissions = perm_3};
static const struct driver drv_none = {.type = "t4", .provider = &prov_a};

static char *dump(const json_t *j) { return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY); }

static void test_union_sorted_once_per_provider(void **state)
{
    (void)state;
    const struct driver *ds[] = {&drv_1, &drv_2, &drv_3, &drv_none, &drv_1};
    json_t *u = permissions_union(ds, 5, &prov_a);
    char *s = dump(u);
    assert_string_equal(s, "[\"x:Alpha\",\"x:Gamma\",\"x:Zeta\",\"y:Beta\"]");
    free(s);
    json_decref(u);
    u = permissions_union(ds, 5, &prov_b);
    s = dump(u);
    assert_string_equal(s, "[\"z:Other\"]");
    free(s);
    json_decref(u);
    u = permissions_union(ds + 3, 1, &prov_a);  /* a driver without permissions: none */
    assert_int_equal(json_array_size(u), 0);
    json_decref(u);
}

/* ---- the AWS document ---- */

static const json_t *statement(const json_t *doc, const char *sid)
{
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(doc, "Statement"), i, st)
        if (strcmp(json_string_value(json_object_get(st, "Sid")), sid) == 0) return st;
    return NULL;
}

static void test_document_shape(void **state)
{
    (void)state;
    json_t *req = json_pack("{s:[s,s,s,s,s,s,s], s:[], s:n}", "permissions", "ec2:CreateVpc", "ec2:DescribeVpcs",
                            "eks:CreateCluster", "iam:CreateRole", "iam:CreateServiceLinkedRole", "iam:PassRole",
                            "logs:CreateLogGroup", "resources", "config");
    json_t *doc = aws_policy_document(req);
    json_decref(req);
    assert_string_equal(json_string_value(json_object_get(doc, "Version")), "2012-10-17");
    const json_t *sts = json_object_get(doc, "Statement");
    assert_int_equal(json_array_size(sts), 6);  /* EC2, EKS, IAM, logs, PassRole, service-linked roles */
    const char *order[] = {"EC2", "EKS", "IAM", "CloudWatchLogs", "IAMPassRole", "IAMServiceLinkedRoles"};
    for (size_t i = 0; i < 6; i++) {
        const json_t *st = json_array_get(sts, i);
        assert_string_equal(json_string_value(json_object_get(st, "Sid")), order[i]);
        assert_string_equal(json_string_value(json_object_get(st, "Effect")), "Allow");
        assert_true(json_is_array(json_object_get(st, "Action")));
    }
    char *s = dump(json_object_get(statement(doc, "EC2"), "Action"));
    assert_string_equal(s, "[\"ec2:CreateVpc\",\"ec2:DescribeVpcs\"]");
    free(s);
    /* iam:PassRole and CreateServiceLinkedRole are not in the IAM statement's "*" */
    s = dump(json_object_get(statement(doc, "IAM"), "Action"));
    assert_string_equal(s, "[\"iam:CreateRole\"]");
    free(s);
    assert_string_equal(json_string_value(json_object_get(statement(doc, "IAM"), "Resource")), "*");
    /* without a spec: any role, but only to EKS/EC2 */
    const json_t *pass = statement(doc, "IAMPassRole");
    assert_string_equal(json_string_value(json_object_get(pass, "Resource")), "*");
    s = dump(json_object_get(pass, "Condition"));
    assert_string_equal(s, "{\"StringEquals\":{\"iam:PassedToService\":[\"ec2.amazonaws.com\",\"eks.amazonaws.com\"]}}");
    free(s);
    s = dump(json_object_get(statement(doc, "IAMServiceLinkedRoles"), "Condition"));
    assert_string_equal(s, "{\"StringEquals\":{\"iam:AWSServiceName\":[\"eks-nodegroup.amazonaws.com\","
                           "\"eks.amazonaws.com\"]}}");
    free(s);
    json_decref(doc);
}

/* A spec's roles: a reference to a role of the spec with a plain name becomes its ARN (any
 * account, the region's partition), a literal ARN stays, and anything else widens to "*". */
static void test_pass_role_narrowed_to_the_spec(void **state)
{
    (void)state;
    json_t *req = json_pack(
        "{s:[s], s:[{s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}], s:{s:s}}",
        "permissions", "iam:PassRole", "resources",
        "address", "aws_iam_role.r", "type", "aws_iam_role", "attributes", "name", "my-cluster-role",
        "address", "aws_eks_cluster.c", "type", "aws_eks_cluster", "attributes", "role_arn", "${aws_iam_role.r.arn}",
        "address", "aws_eks_node_group.n", "type", "aws_eks_node_group", "attributes", "node_role_arn",
        "arn:aws-cn:iam::123456789012:role/nodes",
        "address", "aws_eks_addon.a", "type", "aws_eks_addon", "attributes", "name", "vpc-cni",
        "config", "region", "cn-north-1");
    json_t *doc = aws_policy_document(req);
    char *s = dump(json_object_get(statement(doc, "IAMPassRole"), "Resource"));
    assert_string_equal(s, "[\"arn:aws-cn:iam::*:role/my-cluster-role\",\"arn:aws-cn:iam::123456789012:role/nodes\"]");
    free(s);
    json_decref(doc);

    /* a role name that is only known at run time: any role (still only to EKS/EC2) */
    json_object_set_new(json_object_get(json_array_get(json_object_get(req, "resources"), 0), "attributes"), "name",
                        json_string("${null_resource.x.id}"));
    doc = aws_policy_document(req);
    assert_string_equal(json_string_value(json_object_get(statement(doc, "IAMPassRole"), "Resource")), "*");
    json_decref(doc);

    /* a spec that hands no role to a service needs no iam:PassRole */
    json_array_remove(json_object_get(req, "resources"), 2);
    json_array_remove(json_object_get(req, "resources"), 1);
    doc = aws_policy_document(req);
    assert_null(statement(doc, "IAMPassRole"));
    assert_int_equal(json_array_size(json_object_get(doc, "Statement")), 0);
    json_decref(doc);
    json_decref(req);
}

/* The engine end to end on a compiled spec: only the spec's types, references unresolved. */
static void test_document_of_a_spec(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load("mesh: {name: m, region: us-west-2}\n"
                          "resources:\n"
                          "  aws_iam_role.r:\n"
                          "    name: m-role\n"
                          "    assume_role_policy: '{\"Version\": \"2012-10-17\", \"Statement\": []}'\n"
                          "  aws_eks_cluster.c:\n"
                          "    name: c\n"
                          "    role_arn: ${aws_iam_role.r.arn}\n"
                          "    subnet_ids: [subnet-1, subnet-2]\n"
                          "  null_resource.n: {}\n",
                          &dl);
    assert_non_null(s);
    json_t *doc = policy_document(s, NULL, NULL);
    assert_non_null(doc);
    assert_non_null(statement(doc, "EKS"));
    assert_non_null(statement(doc, "IAM"));
    assert_non_null(statement(doc, "KMS"));  /* the cluster's envelope encryption grant */
    assert_null(statement(doc, "EC2"));      /* no EC2 type in this spec */
    char *t = dump(json_object_get(statement(doc, "IAMPassRole"), "Resource"));
    assert_string_equal(t, "\"arn:aws:iam::*:role/m-role\"");
    free(t);
    json_decref(doc);
    spec_free(s);
    diag_list_release(&dl);

    s = load("resources:\n  null_resource.n: {}\n", &dl);
    assert_non_null(s);
    assert_null(policy_document(s, NULL, NULL));  /* nothing to allow */
    spec_free(s);
    diag_list_release(&dl);
}

/* ---- the permissions against the sources ---- */

/* What AWS checks beyond the call itself: listed by a driver, never a call of mesh's. */
static const char *const not_calls[] = {
    "iam:PassRole",                 /* a role handed to EKS in CreateCluster/CreateNodegroup/CreateAddon */
    "iam:CreateServiceLinkedRole",  /* EKS makes its service-linked roles as the caller */
    "kms:CreateGrant",              /* EKS's grant on the envelope encryption key */
    NULL,
};

/* Literals that look like actions but are not calls: element and parameter names, error codes. */
static const char *const not_actions[] = {"CreateDate", "EnableDnsHostnames", "EnableDnsSupport", "DeleteConflict",
                                          "TagKey", "TagKeys", "TagValue", NULL};

static int listed(const char *const *l, const char *s)
{
    for (; l && *l; l++)
        if (strcmp(*l, s) == 0) return 1;
    return 0;
}

static char *root_path(const char *rel)
{
    /* tests run from the repository root; else from where this file was compiled */
    char path[1024];
    FILE *f = fopen(rel, "r");
    if (f) {
        fclose(f);
        return xstrdup(rel);
    }
    const char *me = __FILE__, *cut = strstr(me, "tests/unit/");
    snprintf(path, sizeof(path), "%.*s%s", cut ? (int)(cut - me) : 0, me, rel);
    return xstrdup(path);
}

static char *slurp(const char *rel)
{
    char *path = root_path(rel);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot read %s", path);
    free(path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = xmalloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The text of every AWS source file but the drivers' own, where shared helpers call. */
static const char *const shared_files[] = {"providers/aws/ec2.c", "providers/aws/ec2_driver.c", "providers/aws/eks.c",
                                           "providers/aws/iam.c", "providers/aws/kms.c", NULL};

static int quoted_in(const char *text, const char *action)
{
    char q[128];
    snprintf(q, sizeof(q), "\"%s\"", action);
    return strstr(text, q) != NULL;
}

static int is_aws(const struct driver *d) { return d->provider && strcmp(d->provider->name, "aws") == 0; }

/* The text of every AWS source file, one after the other. */
static char *all_aws_sources(void)
{
    char *pattern = root_path("providers/aws/aws_vpc.c");
    strcpy(strrchr(pattern, '/') + 1, "*.c");
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    free(pattern);
    size_t len = 0;
    char *all = xstrdup("");
    for (size_t i = 0; i < g.gl_pathc; i++) {
        FILE *f = fopen(g.gl_pathv[i], "r");
        assert_non_null(f);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        all = xrealloc(all, len + (size_t)n + 1);
        assert_int_equal(fread(all + len, 1, (size_t)n, f), (size_t)n);
        len += (size_t)n;
        all[len] = '\0';
        fclose(f);
    }
    assert_true(g.gl_pathc > 30);
    globfree(&g);
    return all;
}

/* Every permission a driver lists is an action some code in providers/aws/ calls (its name in
 * quotes), or one of not_calls: the policy never allows what mesh does not do. */
static void test_every_permission_is_called(void **state)
{
    (void)state;
    char *src = all_aws_sources();
    size_t n_aws = 0;
    for (size_t i = 0; i < driver_count(); i++) {
        const struct driver *d = driver_at(i);
        if (!is_aws(d)) {
            assert_null(d->permissions);  /* Kubernetes, helm, pki: no cloud permission */
            continue;
        }
        n_aws++;
        assert_non_null(d->permissions);
        for (const char *const *p = d->permissions; *p; p++) {
            const char *colon = strchr(*p, ':');
            assert_non_null(colon);
            char svc[16];
            snprintf(svc, sizeof(svc), "%.*s", (int)(colon - *p), *p);
            if (!listed((const char *const[]){"ec2", "eks", "iam", "kms", "logs", NULL}, svc))
                fail_msg("%s: %s: not a service mesh calls", d->type, *p);
            if (!listed(not_calls, *p) && !quoted_in(src, colon + 1))
                fail_msg("%s lists %s, which no code in providers/aws/ calls", d->type, *p);
        }
    }
    assert_true(n_aws >= 19);
    free(src);
}

/* Every literal in a driver's file shaped like an AWS action (a verb mesh uses, then a capital)
 * is in that driver's permissions: a new call without its permission fails here. */
static void test_every_call_is_listed(void **state)
{
    (void)state;
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "\"((Add|Allocate|Associate|Attach|Authorize|Create|Delete|Describe|Detach|Disable|"
                             "Disassociate|Enable|Get|List|Modify|Put|Release|Remove|Replace|Revoke|Schedule|Tag|"
                             "Untag|Update)[A-Z][A-Za-z0-9]*)\"",
                             REG_EXTENDED),
                     0);
    for (size_t i = 0; i < driver_count(); i++) {
        const struct driver *d = driver_at(i);
        if (!is_aws(d)) continue;
        char rel[256];
        snprintf(rel, sizeof(rel), "providers/aws/%s.c", d->type);
        char *own = slurp(rel);
        size_t checked = 0;
        regmatch_t m[2];
        for (const char *p = own; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
            char action[96];
            snprintf(action, sizeof(action), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
            if (listed(not_actions, action)) continue;
            int found = 0;
            for (const char *const *q = d->permissions; *q && !found; q++) {
                const char *colon = strchr(*q, ':');
                found = colon && strcmp(colon + 1, action) == 0;
            }
            if (!found) fail_msg("%s calls %s but its permissions do not list it", d->type, action);
            checked++;
        }
        assert_true(checked > 0);
        free(own);
    }
    /* the shared helpers' calls are in the list of some driver */
    json_t *all = NULL;
    {
        const struct driver *ds[64];
        size_t n = 0;
        for (size_t i = 0; i < driver_count() && n < 64; i++) ds[n++] = driver_at(i);
        all = permissions_union(ds, n, driver_find("aws_vpc")->provider);
    }
    for (size_t k = 0; shared_files[k]; k++) {
        char *text = slurp(shared_files[k]);
        regmatch_t m[2];
        for (const char *p = text; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
            char action[96];
            snprintf(action, sizeof(action), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
            if (listed(not_actions, action)) continue;
            int found = 0;
            size_t j;
            json_t *v;
            json_array_foreach(all, j, v) found |= strcmp(strchr(json_string_value(v), ':') + 1, action) == 0;
            if (!found) fail_msg("%s calls %s but no driver lists it", shared_files[k], action);
        }
        free(text);
    }
    json_decref(all);
    regfree(&re);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_union_sorted_once_per_provider),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_pass_role_narrowed_to_the_spec),
        cmocka_unit_test(test_document_of_a_spec),
        cmocka_unit_test(test_every_permission_is_called),
        cmocka_unit_test(test_every_call_is_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
