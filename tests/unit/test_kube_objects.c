/* test_kube_objects.c: the pure parts of the Kubernetes resource drivers (providers/kubernetes/
 * meta.c, manifest.c): the object mesh applies (the user's labels and annotations with mesh's
 * markers over them), secret data to and from base64, which labels are the user's, the manifest
 * drift projection (the live object restricted to the paths mesh set), import IDs, identity,
 * and the drivers' check()s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "driver.h"
#include "kubernetes/objects.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v) fail_msg("bad JSON in the test: %s: %s", e.text, text);
    return v;
}

static void assert_json(const json_t *got, const char *want_text)
{
    json_t *want = parse(want_text);
    if (!json_equal((json_t *)got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
        fail_msg("got %s\nwant %s", g, want_text);
    }
    json_decref(want);
}

static void test_metadata_merges_markers(void **state)
{
    (void)state;
    json_t *labels = parse("{\"team\": \"a\", \"app.kubernetes.io/managed-by\": \"helm\", \"n\": 1}");
    json_t *ann = parse("{\"note\": \"x\", \"mesh/address\": \"spoof\"}");
    json_t *m = kobj_metadata("kubernetes_secret.s", "run-1", "ns1", "s1", labels, ann);
    assert_json(m, "{\"name\": \"s1\", \"namespace\": \"ns1\","
                   " \"labels\": {\"team\": \"a\", \"app.kubernetes.io/managed-by\": \"mesh\"},"
                   " \"annotations\": {\"note\": \"x\", \"mesh/address\": \"kubernetes_secret.s\","
                   " \"mesh/run\": \"run-1\", \"mesh/name\": \"s1\"}}");
    json_decref(m);
    /* cluster-scoped: no namespace key at all; no user maps */
    m = kobj_metadata("kubernetes_namespace.n", NULL, "", "n1", NULL, NULL);
    assert_null(json_object_get(m, "namespace"));
    assert_string_equal(kobj_str(kobj_at(m, "annotations", NULL, NULL), "mesh/run"), "");
    assert_int_equal(json_object_size(json_object_get(m, "labels")), 1);
    json_decref(m);
    json_decref(labels);
    json_decref(ann);
}

static void test_marked_manifest_keeps_the_users_fields(void **state)
{
    (void)state;
    json_t *obj = parse("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"cm\","
                        " \"namespace\": \"ns\", \"labels\": {\"a\": \"b\"}}, \"data\": {\"k\": \"v\"}}");
    json_t *m = kobj_marked("kubernetes_manifest.cm", "r", obj);
    assert_json(m, "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"cm\","
                   " \"namespace\": \"ns\", \"labels\": {\"a\": \"b\", \"app.kubernetes.io/managed-by\": \"mesh\"},"
                   " \"annotations\": {\"mesh/address\": \"kubernetes_manifest.cm\", \"mesh/run\": \"r\","
                   " \"mesh/name\": \"cm\"}}, \"data\": {\"k\": \"v\"}}");
    /* the desired manifest itself is untouched */
    assert_null(kobj_at(obj, "metadata", "annotations", NULL));
    assert_true(kobj_ours(m, "kubernetes_manifest.cm"));
    assert_false(kobj_ours(m, "kubernetes_manifest.other"));
    assert_false(kobj_ours(obj, "kubernetes_manifest.cm"));
    json_decref(m);
    json_decref(obj);
}

static void test_keys(void **state)
{
    (void)state;
    assert_true(kobj_mesh_key("mesh/address"));
    assert_true(kobj_mesh_key("app.kubernetes.io/managed-by"));
    assert_false(kobj_mesh_key("app.kubernetes.io/name"));
    assert_true(kobj_system_key("kubernetes.io/metadata.name"));
    assert_true(kobj_system_key("kubectl.kubernetes.io/last-applied-configuration"));
    assert_true(kobj_system_key("node.k8s.io/x"));
    assert_false(kobj_system_key("notkubernetes.io/x"));
    assert_false(kobj_system_key("team"));
}

static void test_user_map(void **state)
{
    (void)state;
    json_t *live = parse("{\"team\": \"b\", \"added-by-other\": \"x\", \"kubernetes.io/metadata.name\": \"n\","
                         " \"app.kubernetes.io/managed-by\": \"mesh\"}");
    json_t *applied = parse("{\"team\": \"a\", \"gone\": \"y\"}");
    json_t *m = kobj_user_map(live, applied, 0);
    assert_json(m, "{\"team\": \"b\"}");  /* mesh's keys only: a changed value shows, a removed one is absent */
    json_decref(m);
    m = kobj_user_map(live, NULL, 1);     /* import: everything but mesh's and the system's */
    assert_json(m, "{\"team\": \"b\", \"added-by-other\": \"x\"}");
    json_decref(m);
    m = kobj_user_map(live, NULL, 0);
    assert_json(m, "{}");
    json_decref(m);
    m = kobj_user_map(NULL, applied, 0);
    assert_json(m, "{}");
    json_decref(m);
    json_decref(live);
    json_decref(applied);
}

static void test_observe_meta(void **state)
{
    (void)state;
    json_t *live = parse("{\"metadata\": {\"labels\": {\"team\": \"b\", \"other\": \"x\","
                         " \"app.kubernetes.io/managed-by\": \"mesh\"}, \"annotations\": {\"mesh/run\": \"r\"}}}");
    json_t *outputs = parse("{\"labels\": {\"team\": \"a\"}}");
    json_t *cur = json_object();
    kobj_observe_meta(cur, outputs, live, 0);
    assert_json(cur, "{\"labels\": {\"team\": \"b\"}}");  /* annotations never set by the user: left out */
    json_decref(cur);
    cur = json_object();
    json_t *none = json_object();
    kobj_observe_meta(cur, none, live, 1);
    json_decref(none);
    assert_json(cur, "{\"labels\": {\"team\": \"b\", \"other\": \"x\"}}");
    json_decref(cur);
    json_decref(outputs);
    json_decref(live);
}

static void test_base64_round_trip(void **state)
{
    (void)state;
    json_t *data = parse("{\"a\": \"\", \"b\": \"f\", \"c\": \"fo\", \"d\": \"foo\", \"e\": \"caf\\u00e9 \\u2603\\n\"}");
    json_t *enc = kobj_encode_data(data, NULL);
    assert_json(enc, "{\"a\": \"\", \"b\": \"Zg==\", \"c\": \"Zm8=\", \"d\": \"Zm9v\", \"e\": \"Y2Fmw6kg4piDCg==\"}");
    json_t *dec = kobj_decode_data(enc);
    assert_true(json_equal(dec, data));
    json_decref(dec);
    json_decref(enc);
    json_decref(data);

    const char *bad = NULL;
    data = parse("{\"ok\": \"x\", \"num\": 5}");
    assert_null(kobj_encode_data(data, &bad));
    assert_string_equal(bad, "num");
    json_decref(data);

    json_t *v = kobj_decode_value("not base64!");
    assert_null(v);
    v = kobj_decode_value("/w==");  /* 0xff: not text */
    assert_string_equal(json_string_value(v), "(binary data, 1 bytes)");
    json_decref(v);
    data = parse("{\"k\": \"@@@@\"}");
    assert_null(kobj_decode_data(data));
    json_decref(data);
}

static void test_split_id(void **state)
{
    (void)state;
    char buf[128];
    const char *ns, *name;
    assert_int_equal(kobj_split_id("prod", buf, sizeof(buf), &ns, &name), 0);
    assert_null(ns);
    assert_string_equal(name, "prod");
    assert_int_equal(kobj_split_id("prod/db", buf, sizeof(buf), &ns, &name), 0);
    assert_string_equal(ns, "prod");
    assert_string_equal(name, "db");
    assert_int_equal(kobj_split_id("a/b/c", buf, sizeof(buf), &ns, &name), -1);
    assert_int_equal(kobj_split_id("/b", buf, sizeof(buf), &ns, &name), -1);
    assert_int_equal(kobj_split_id("a/", buf, sizeof(buf), &ns, &name), -1);
    assert_int_equal(kobj_split_id("", buf, sizeof(buf), &ns, &name), -1);
    assert_int_equal(kobj_split_id(NULL, buf, sizeof(buf), &ns, &name), -1);
}

static void test_manifest_id(void **state)
{
    (void)state;
    char buf[256];
    struct kube_ref r;
    assert_int_equal(kobj_split_manifest_id("apps/v1/Deployment/web/front", buf, sizeof(buf), &r), 0);
    assert_string_equal(r.api_version, "apps/v1");
    assert_string_equal(r.kind, "Deployment");
    assert_string_equal(r.ns, "web");
    assert_string_equal(r.name, "front");
    assert_int_equal(kobj_split_manifest_id("v1/ConfigMap/ns/cm", buf, sizeof(buf), &r), 0);
    assert_string_equal(r.api_version, "v1");
    assert_string_equal(r.ns, "ns");
    assert_int_equal(kobj_split_manifest_id("rbac.authorization.k8s.io/v1/ClusterRole/reader", buf, sizeof(buf), &r), 0);
    assert_string_equal(r.api_version, "rbac.authorization.k8s.io/v1");
    assert_null(r.ns);
    assert_string_equal(r.name, "reader");
    assert_int_equal(kobj_split_manifest_id("v1/configmap/ns/cm", buf, sizeof(buf), &r), -1);  /* no kind */
    assert_int_equal(kobj_split_manifest_id("v1/ConfigMap", buf, sizeof(buf), &r), -1);
    assert_int_equal(kobj_split_manifest_id("v1/ConfigMap/a/b/c", buf, sizeof(buf), &r), -1);
    assert_int_equal(kobj_split_manifest_id("a/b/v1/ConfigMap/x", buf, sizeof(buf), &r), -1);

    /* the ID the "already exists" error suggests parses back */
    char id[256];
    struct kube_ref want = {"apps/v1", "Deployment", "web", "front"};
    kobj_import_id("kubernetes_manifest", &want, id, sizeof(id));
    assert_string_equal(id, "apps/v1/Deployment/web/front");
    kobj_import_id("kubernetes_secret", &want, id, sizeof(id));
    assert_string_equal(id, "web/front");
    struct kube_ref ns = {"v1", "Namespace", NULL, "prod"};
    kobj_import_id("kubernetes_namespace", &ns, id, sizeof(id));
    assert_string_equal(id, "prod");
}

static json_t *containers(const json_t *deployment)
{
    return json_object_get(kobj_at(deployment, "spec", "template", "spec"), "containers");
}

static void test_project_drift(void **state)
{
    (void)state;
    json_t *desired = parse(
        "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"web\", \"namespace\": \"a\","
        " \"labels\": {\"app\": \"web\"}}, \"spec\": {\"replicas\": 2, \"template\": {\"spec\": {\"containers\": ["
        "{\"name\": \"app\", \"image\": \"nginx:1\", \"args\": [\"-v\"]}]}}}}");
    /* what the server holds: defaults, status, markers, another manager's label and sidecar */
    json_t *live = parse(
        "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"web\", \"namespace\": \"a\","
        " \"uid\": \"u1\", \"resourceVersion\": \"7\", \"labels\": {\"app\": \"web\", \"other\": \"x\","
        " \"app.kubernetes.io/managed-by\": \"mesh\"}, \"annotations\": {\"mesh/address\": \"kubernetes_manifest.w\"},"
        " \"managedFields\": []}, \"spec\": {\"replicas\": 2, \"strategy\": {\"type\": \"RollingUpdate\"},"
        " \"template\": {\"spec\": {\"containers\": [{\"name\": \"sidecar\", \"image\": \"envoy\"},"
        " {\"name\": \"app\", \"image\": \"nginx:1\", \"args\": [\"-v\"], \"terminationMessagePath\": \"/dev/x\"}],"
        " \"restartPolicy\": \"Always\"}}}, \"status\": {\"replicas\": 2}}");
    json_t *p = kobj_project(live, desired);
    assert_true(json_equal(p, desired));  /* no drift: only what the server or others added differs */
    json_decref(p);

    /* someone scaled it and changed the image: both show */
    json_object_set_new(json_object_get(live, "spec"), "replicas", json_integer(5));
    json_object_set_new(json_array_get(containers(live), 1), "image", json_string("evil:1"));
    p = kobj_project(live, desired);
    assert_false(json_equal(p, desired));
    assert_int_equal(json_integer_value(kobj_at(p, "spec", "replicas", NULL)), 5);
    json_t *pc = json_array_get(containers(p), 0);
    assert_string_equal(kobj_str(pc, "image"), "evil:1");
    json_decref(p);

    /* a field mesh set that someone removed is absent: shows as a change */
    json_object_del(kobj_at(live, "metadata", "labels", NULL), "app");
    p = kobj_project(live, desired);
    assert_null(kobj_at(p, "metadata", "labels", "app"));
    json_decref(p);
    json_decref(live);
    json_decref(desired);
}

static void test_project_lists(void **state)
{
    (void)state;
    json_t *d = parse("{\"args\": [\"a\", \"b\"], \"ports\": [{\"containerPort\": 80}]}");
    json_t *l = parse("{\"args\": [\"a\", \"b\", \"c\"], \"ports\": [{\"containerPort\": 80, \"protocol\": \"TCP\"}]}");
    json_t *p = kobj_project(l, d);
    /* another length is reported whole; same length element by element */
    assert_json(p, "{\"args\": [\"a\", \"b\", \"c\"], \"ports\": [{\"containerPort\": 80}]}");
    json_decref(p);
    json_decref(l);
    /* a named member gone from the live list: the projection is shorter than desired */
    json_decref(d);
    d = parse("{\"c\": [{\"name\": \"x\", \"v\": 1}, {\"name\": \"y\", \"v\": 2}]}");
    l = parse("{\"c\": [{\"name\": \"y\", \"v\": 2, \"extra\": 0}]}");
    p = kobj_project(l, d);
    assert_json(p, "{\"c\": [{\"name\": \"y\", \"v\": 2}]}");
    json_decref(p);
    json_decref(l);
    /* scalar vs object: live's value as is */
    l = parse("{\"c\": \"oops\"}");
    p = kobj_project(l, d);
    assert_json(p, "{\"c\": \"oops\"}");
    json_decref(p);
    json_decref(l);
    json_decref(d);
}

static void test_clean(void **state)
{
    (void)state;
    json_t *live = parse(
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"cm\", \"namespace\": \"n\","
        " \"uid\": \"u\", \"resourceVersion\": \"1\", \"creationTimestamp\": \"t\", \"managedFields\": [],"
        " \"labels\": {\"app.kubernetes.io/managed-by\": \"mesh\"}, \"annotations\": {\"keep\": \"1\","
        " \"kubectl.kubernetes.io/last-applied-configuration\": \"{}\"}}, \"data\": {\"k\": \"v\"}, \"status\": {}}");
    json_t *c = kobj_clean(live);
    assert_json(c, "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"cm\","
                   " \"namespace\": \"n\", \"annotations\": {\"keep\": \"1\"}}, \"data\": {\"k\": \"v\"}}");
    json_decref(c);
    json_decref(live);
}

static void test_identity(void **state)
{
    (void)state;
    struct kube_ref a = {"apps/v1", "Deployment", "ns", "web"};
    struct kube_ref b = {"apps/v1beta2", "Deployment", "ns", "web"};
    assert_true(kobj_same_identity(&a, &b));  /* another version of the same object */
    b.api_version = "extensions/v1beta1";
    assert_false(kobj_same_identity(&a, &b));
    struct kube_ref n1 = {"v1", "Namespace", NULL, "x"}, n2 = {"v1", "Namespace", "", "x"};
    assert_true(kobj_same_identity(&n1, &n2));
    n2.name = "y";
    assert_false(kobj_same_identity(&n1, &n2));
    struct kube_ref s1 = {"v1", "Secret", "a", "x"}, s2 = {"v1", "Secret", "b", "x"};
    assert_false(kobj_same_identity(&s1, &s2));
    s2.ns = "a";
    s2.kind = "ConfigMap";
    assert_false(kobj_same_identity(&s1, &s2));
}

static void test_put_ids(void **state)
{
    (void)state;
    json_t *live = parse("{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"w\","
                         " \"namespace\": \"a\", \"uid\": \"5b1e\"}}");
    json_t *o = json_object();
    kobj_put_ids(o, "kubernetes_manifest", live);
    assert_json(o, "{\"id\": \"5b1e\", \"uid\": \"5b1e\", \"object_ref\": \"apps/v1/Deployment/a/w\"}");
    kobj_put_ids(o, "kubernetes_secret", live);
    assert_string_equal(kobj_str(o, "object_ref"), "a/w");
    json_decref(o);
    json_decref(live);
}

struct reports {
    int n;
    char last[600];
    char attr[64];
};

static void collect(void *ctx, const char *attr, const char *msg)
{
    struct reports *r = ctx;
    r->n++;
    snprintf(r->last, sizeof(r->last), "%s", msg);
    snprintf(r->attr, sizeof(r->attr), "%s", attr);
}

static void test_checks(void **state)
{
    (void)state;
    const struct driver *ns = driver_find("kubernetes_namespace");
    const struct driver *sec = driver_find("kubernetes_secret");
    const struct driver *man = driver_find("kubernetes_manifest");
    assert_non_null(ns);
    assert_non_null(sec);
    assert_non_null(man);
    assert_non_null(driver_find("kubernetes_service_account_token"));
    struct reports r = {0};
    json_t *d = parse("{\"name\": \"n\", \"labels\": {\"ok\": \"1\", \"num\": 2, \"mesh/address\": \"x\"}}");
    assert_int_equal(ns->check(NULL, d, collect, &r), 2);
    json_decref(d);
    memset(&r, 0, sizeof(r));
    d = parse("{\"namespace\": \"a\", \"name\": \"s\", \"data\": {\"pw\": 12345}}");
    assert_int_equal(sec->check(NULL, d, collect, &r), 1);
    assert_string_equal(r.attr, "data");
    assert_null(strstr(r.last, "12345"));  /* never the value */
    json_decref(d);
    memset(&r, 0, sizeof(r));
    d = parse("{\"manifest\": {\"apiVersion\": \"v1\", \"metadata\": {\"labels\": {\"a\": true}}}}");
    assert_int_equal(man->check(NULL, d, collect, &r), 3);  /* kind, metadata.name, a label value */
    json_decref(d);
    /* the data and the token are sensitive; the token is computed */
    assert_true(driver_attr(sec, "data")->flags & ATTR_SENSITIVE);
    const struct attr *tok = driver_attr(driver_find("kubernetes_service_account_token"), "token");
    assert_true((tok->flags & ATTR_SENSITIVE) && (tok->flags & ATTR_COMPUTED));
    assert_true(ns->provider == &kubernetes_provider && man->timeout_delete == 600);
}

/* data_sha256: order-independent, key/value boundaries count, one value changes it. */
static void test_data_sha256(void **state)
{
    (void)state;
    char a[65], b[65], c[65], d[65], e[65];
    json_t *x = json_pack("{s:s, s:s}", "ca-cert.pem", "A", "root-cert.pem", "R");
    json_t *y = json_pack("{s:s, s:s}", "root-cert.pem", "R", "ca-cert.pem", "A");
    kobj_data_sha256(x, a);
    kobj_data_sha256(y, b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), 64);
    json_object_set_new(y, "root-cert.pem", json_string("R2"));
    kobj_data_sha256(y, c);
    assert_string_not_equal(a, c);
    json_t *p = json_pack("{s:s}", "ab", "c"), *q = json_pack("{s:s}", "a", "bc");
    kobj_data_sha256(p, d);
    kobj_data_sha256(q, e);
    assert_string_not_equal(d, e);
    /* printf 'a\0bc\0' | sha256sum */
    assert_string_equal(e, "aa795aa4bbb6117911ef062e271bcb05ccfd58ea439da7d46a44e3a3fcefa790");
    json_decref(x);
    json_decref(y);
    json_decref(p);
    json_decref(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_merges_markers),
        cmocka_unit_test(test_data_sha256),
        cmocka_unit_test(test_marked_manifest_keeps_the_users_fields),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_user_map),
        cmocka_unit_test(test_observe_meta),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_split_id),
        cmocka_unit_test(test_manifest_id),
        cmocka_unit_test(test_project_drift),
        cmocka_unit_test(test_project_lists),
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_put_ids),
        cmocka_unit_test(test_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
