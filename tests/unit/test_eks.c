/* test_eks.c: the pure helpers of providers/aws/eks.c the EKS drivers build their drift checks on:
 * REST paths with encoded segments, dotted member lookup, lists compared as sets (EKS reorders
 * subnets), configuration values compared as canonical JSON (not as text), eks_observe keeping a
 * default out of read's answer unless state holds it, tags reported without mesh:* and in the
 * user's own types, health issues and createdAt as text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/eks.h"

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    assert_non_null(v);
    return v;
}

static void test_paths(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(eks_path(buf, sizeof(buf), "cluster-1", NULL, NULL), "/clusters/cluster-1");
    assert_string_equal(eks_path(buf, sizeof(buf), "cluster-1", "node-groups", "ng a"),
                        "/clusters/cluster-1/node-groups/ng%20a");
    assert_string_equal(eks_path(buf, sizeof(buf), "c/1", "addons", "vpc-cni"), "/clusters/c%2F1/addons/vpc-cni");
}

static void test_get(void **state)
{
    (void)state;
    json_t *o = J("{\"a\": {\"b\": {\"c\": \"x\"}}, \"n\": 1}");
    assert_string_equal(eks_str(o, "a.b.c"), "x");
    assert_null(eks_get(o, "a.c"));
    assert_null(eks_str(o, "n"));
    assert_null(eks_get(NULL, "a"));
    json_decref(o);
}

static void test_sets(void **state)
{
    (void)state;
    json_t *a = J("[\"s-1\", \"s-2\"]"), *b = J("[\"s-2\", \"s-1\"]"), *c = J("[\"s-1\", \"s-3\"]");
    json_t *d = J("[\"s-1\", \"s-1\"]"), *e = J("[\"s-1\", \"s-2\", \"s-2\"]");
    assert_true(eks_same_set(a, b));
    assert_false(eks_same_set(a, c));
    assert_false(eks_same_set(a, d));
    assert_false(eks_same_set(a, e));
    assert_false(eks_same_set(a, NULL));
    json_decref(a), json_decref(b), json_decref(c), json_decref(d), json_decref(e);
}

static void test_canonical_json(void **state)
{
    (void)state;
    char *s = eks_canonical_json("{ \"b\": 1,\n \"a\": {\"y\": true, \"x\": [1, 2]} }");
    assert_string_equal(s, "{\"a\":{\"x\":[1,2],\"y\":true},\"b\":1}");
    free(s);
    assert_null(eks_canonical_json("env: {A: b}"));  /* YAML is not JSON */
    assert_true(eks_same_json("{\"init\": {\"env\": {\"A\": \"1\", \"B\": \"2\"}}}",
                              "{\"init\":{\"env\":{\"B\":\"2\",\"A\":\"1\"}}}"));
    assert_false(eks_same_json("{\"a\": \"1\"}", "{\"a\": 1}"));
    assert_false(eks_same_json("[1, 2]", "[2, 1]"));  /* order inside lists matters */
    assert_true(eks_same_json("env: x", "env: x"));   /* not JSON: as text */
    assert_false(eks_same_json("{}", NULL));
}

static void test_observe(void **state)
{
    (void)state;
    json_t *outputs = J("{\"subnet_ids\": [\"s-1\", \"s-2\"]}"), *cur = json_object();
    /* a default the user never set stays out: no false "-> null" change */
    eks_observe(cur, outputs, "endpoint_public_access", json_true(), 1);
    assert_null(json_object_get(cur, "endpoint_public_access"));
    /* not the default: reported (drift) */
    eks_observe(cur, outputs, "endpoint_private_access", json_true(), 0);
    assert_true(json_is_true(json_object_get(cur, "endpoint_private_access")));
    /* a reordered list is reported in the order state holds it */
    eks_observe(cur, outputs, "subnet_ids", J("[\"s-2\", \"s-1\"]"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(cur, "subnet_ids"), 0)), "s-1");
    /* a different list is reported as the world holds it */
    eks_observe(cur, outputs, "subnet_ids", J("[\"s-3\"]"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(cur, "subnet_ids"), 0)), "s-3");
    json_decref(outputs);
    json_decref(cur);
}

static void test_tags(void **state)
{
    (void)state;
    json_t *outputs = J("{\"tags\": {\"team\": \"mesh\", \"n\": 3}}");
    json_t *obj = J("{\"tags\": {\"team\": \"mesh\", \"n\": \"3\", \"mesh:run\": \"r1\", \"mesh:address\": \"a\"}}");
    json_t *cur = json_object();
    eks_put_tags(cur, outputs, obj);
    assert_true(json_equal(json_object_get(cur, "tags"), json_object_get(outputs, "tags")));  /* 3 stays 3 */
    json_decref(obj);
    obj = J("{\"tags\": {\"team\": \"other\", \"mesh:run\": \"r1\"}}");
    eks_put_tags(cur, outputs, obj);
    json_t *want = J("{\"team\": \"other\"}");
    assert_true(json_equal(json_object_get(cur, "tags"), want));
    json_decref(want);
    json_decref(obj);
    json_decref(outputs);
    json_decref(cur);
    /* no tags set and only mesh:* in the world: nothing reported */
    outputs = json_object();
    cur = json_object();
    obj = J("{\"tags\": {\"mesh:run\": \"r1\"}}");
    eks_put_tags(cur, outputs, obj);
    assert_null(json_object_get(cur, "tags"));
    json_decref(obj);
    json_decref(outputs);
    json_decref(cur);
}

static void test_health_and_created(void **state)
{
    (void)state;
    json_t *o = J("{\"health\": {\"issues\": [{\"code\": \"IamRoleNotFound\", \"message\": \"no role\"},"
                  "{\"code\": \"SubnetNotFound\", \"message\": \"no subnet\"}]}, \"createdAt\": 1700000000.5}");
    char *h = eks_health(o);
    assert_string_equal(h, "IamRoleNotFound: no role; SubnetNotFound: no subnet");
    free(h);
    char at[64];
    eks_created_at(o, at, sizeof(at));
    assert_string_equal(at, "1700000000.500");
    json_decref(o);
    o = J("{\"createdAt\": \"2026-12-05T10:00:00Z\"}");
    h = eks_health(o);
    assert_string_equal(h, "no health issues reported");
    free(h);
    eks_created_at(o, at, sizeof(at));
    assert_string_equal(at, "2026-12-05T10:00:00Z");
    json_decref(o);
    json_t *three = json_integer(3);
    char *t = eks_text(three);  /* a launch template version as EKS wants it */
    assert_string_equal(t, "3");
    free(t);
    json_decref(three);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_sets),
        cmocka_unit_test(test_canonical_json),
        cmocka_unit_test(test_observe),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_health_and_created),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
