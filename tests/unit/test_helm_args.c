/* test_helm_args.c: helm's command lines (no value, no credential in any argument; the flags of
 * each operation), chart sources (local, repository, OCI, and what is refused), helm's JSON
 * answers (status, history: the revision a pending release goes back to), the ExecCredential
 * the broker hands out, the kubeconfig helm is given (no secret in it), and values masked in
 * messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wipe.h"
#include "helm/helm.h"

static char *joined(const struct vec *v)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    for (size_t i = 0; i < v->len; i++) strbuf_addf(&sb, "%s%s", i ? " " : "", (const char *)v->items[i]);
    return strbuf_detach(&sb);
}

static void test_upgrade_argv(void **state)
{
    (void)state;
    struct helm_target t = {"istiod", "istio-system", "/tmp/mesh-helm-1-x/kubeconfig"};
    struct helm_chart ch;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(helm_chart_parse("istiod", "https://istio-release.storage.googleapis.com/charts", "1.24.2", &ch, &e),
                     0);
    struct helm_install in = {ch, "/tmp/mesh-helm-1-x/values.json", 1, 123.7};
    struct vec argv = VEC_INIT;
    helm_argv_upgrade(&t, &in, &argv);
    char *s = joined(&argv);
    assert_string_equal(s, "helm upgrade --install istiod istiod --namespace istio-system --kubeconfig "
                           "/tmp/mesh-helm-1-x/kubeconfig --repo https://istio-release.storage.googleapis.com/charts "
                           "--version 1.24.2 --create-namespace --wait --timeout 123s --reset-values --values "
                           "/tmp/mesh-helm-1-x/values.json");
    assert_null(strstr(s, "--atomic"));  /* mesh's rollback owns failure */
    assert_null(strstr(s, "--set"));     /* values never on the command line */
    free(s);
    vec_free_all(&argv, free);
}

static void test_upgrade_local_no_values(void **state)
{
    (void)state;
    struct helm_target t = {"app", "apps", "/k"};
    struct helm_chart ch;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(helm_chart_parse("./charts/app", NULL, NULL, &ch, &e), 0);
    struct helm_install in = {ch, NULL, 0, 0.2};
    struct vec argv = VEC_INIT;
    helm_argv_upgrade(&t, &in, &argv);
    char *s = joined(&argv);
    assert_string_equal(s, "helm upgrade --install app ./charts/app --namespace apps --kubeconfig /k --wait --timeout 1s "
                           "--reset-values");
    free(s);
    vec_free_all(&argv, free);
}

static void test_other_argv(void **state)
{
    (void)state;
    struct helm_target t = {"app", "apps", "/k"};
    struct vec argv = VEC_INIT;
    helm_argv_uninstall(&t, 60, &argv);
    char *s = joined(&argv);
    assert_string_equal(s, "helm uninstall app --namespace apps --kubeconfig /k --wait --timeout 60s");
    free(s);
    vec_free_all(&argv, free);
    helm_argv_rollback(&t, 3, 90, &argv);
    s = joined(&argv);
    assert_string_equal(s, "helm rollback app 3 --namespace apps --kubeconfig /k --wait --timeout 90s");
    free(s);
    vec_free_all(&argv, free);
    helm_argv_query(&t, "status", &argv);
    s = joined(&argv);
    assert_string_equal(s, "helm status app --namespace apps --kubeconfig /k --output json");
    free(s);
    vec_free_all(&argv, free);
    helm_argv_query(&t, "get manifest", &argv);
    s = joined(&argv);
    assert_string_equal(s, "helm get manifest app --namespace apps --kubeconfig /k");
    free(s);
    vec_free_all(&argv, free);
}

static void test_chart_sources(void **state)
{
    (void)state;
    struct helm_chart ch;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(helm_chart_parse("oci://registry.example/charts/app", NULL, "1.2.3", &ch, &e), 0);
    assert_int_equal(ch.kind, HELM_CHART_OCI);
    assert_string_equal(ch.version, "1.2.3");
    assert_int_equal(helm_chart_parse("app-1.0.0.tgz", "", "", &ch, &e), 0);
    assert_int_equal(ch.kind, HELM_CHART_LOCAL);
    assert_null(ch.version);
    assert_int_equal(helm_chart_parse("eks/aws-load-balancer-controller", NULL, NULL, &ch, &e), 0);
    assert_int_equal(ch.kind, HELM_CHART_LOCAL);  /* a path: names a chart only with repository */
    char msg[1200];
    assert_int_equal(helm_chart_missing(&ch, msg, sizeof(msg)), 1);
    assert_non_null(strstr(msg, "does not exist"));
    assert_int_equal(helm_chart_parse("base", "https://charts.example", NULL, &ch, &e), 0);
    assert_int_equal(ch.kind, HELM_CHART_REPO);
    assert_int_equal(helm_chart_missing(&ch, msg, sizeof(msg)), 0);  /* not a local file */
    struct {
        const char *chart, *repo, *version, *msg;
    } bad[] = {
        {"oci://r/c", "https://x", NULL, "repository: an oci:// chart"},
        {"./c", "ftp://x", NULL, "repository: \"ftp://x\" is not a chart repository URL"},
        {"./c", "https://x", NULL, "chart: with repository, the chart's name"},
        {"https://x/c-1.tgz", NULL, NULL, "chart: \"https://x/c-1.tgz\" is a URL"},
        {"./c", NULL, "1.0", "version: a local chart"},
        {"", NULL, NULL, "chart: empty"},
        {"oci://", NULL, NULL, "names no OCI reference"},
        {"app", "oci://r/charts", "1.0", "repository: an OCI registry is named in chart itself: chart: oci://r/charts/app"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mesh_err_init(&e);
        assert_int_equal(helm_chart_parse(bad[i].chart, bad[i].repo, bad[i].version, &ch, &e), MESH_EINVAL);
        if (!strstr(e.msg, bad[i].msg)) fail_msg("case %zu: %s", i, e.msg);
    }
}

static void test_status_parse(void **state)
{
    (void)state;
    const char *text = "{\"name\":\"app\",\"info\":{\"status\":\"pending-upgrade\",\"description\":\"x\"},"
                       "\"config\":{\"password\":\"s3cret\"},\"manifest\":\"---\\nkind: ConfigMap\\n\","
                       "\"version\":4,\"namespace\":\"apps\"}";
    struct helm_status st;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(helm_status_parse(text, strlen(text), &st, &e), 0);
    assert_string_equal(st.status, "pending-upgrade");
    assert_int_equal(st.revision, 4);
    assert_true(helm_status_pending(st.status));
    assert_string_equal(json_string_value(json_object_get(st.config, "password")), "s3cret");
    assert_non_null(strstr(st.manifest, "ConfigMap"));
    helm_status_release(&st);
    /* no config (helm prints none for a release without values) */
    const char *bare = "{\"info\":{\"status\":\"deployed\"},\"version\":1}";
    assert_int_equal(helm_status_parse(bare, strlen(bare), &st, &e), 0);
    assert_int_equal(json_object_size(st.config), 0);
    assert_false(helm_status_pending(st.status));
    helm_status_release(&st);
    mesh_err_init(&e);
    assert_int_not_equal(helm_status_parse("Error: x", 8, &st, &e), 0);
    assert_true(helm_says_not_found("Error: release: not found"));
    assert_false(helm_says_not_found("Error: chart \"x\" not found in repository"));
    /* helm's words for records it cannot decode: storage.Last, a driver Get, the decoding itself */
    assert_true(helm_says_unreadable("helm status failed with exit status 1: Error: no revision for release \"istio-base\""));
    assert_true(helm_says_unreadable("Error: get: failed to decode data \"sh.helm.release.v1.a.v1\": illegal base64 data at input byte 3"));
    assert_true(helm_says_unreadable("gzip: invalid header"));
    assert_false(helm_says_unreadable("Error: release: not found"));
    assert_false(helm_says_unreadable(NULL));
    /* only a first install's records may be dropped by mesh itself */
    json_t *v1 = json_loads("[{\"type\": \"helm.sh/release.v1\", \"metadata\": {\"labels\": {\"version\": \"1\"}}}]", 0, NULL);
    json_t *v2 = json_loads("[{\"type\": \"helm.sh/release.v1\", \"metadata\": {\"labels\": {\"version\": \"1\"}}},"
                            " {\"type\": \"helm.sh/release.v1\", \"metadata\": {\"labels\": {\"version\": \"2\"}}}]", 0, NULL);
    json_t *opaque = json_loads("[{\"type\": \"Opaque\", \"metadata\": {\"labels\": {\"version\": \"1\"}}}]", 0, NULL);
    json_t *none = json_array();
    assert_true(helm_records_first_install(v1));
    assert_false(helm_records_first_install(v2));
    assert_false(helm_records_first_install(opaque));
    assert_false(helm_records_first_install(none));
    json_decref(v1);
    json_decref(v2);
    json_decref(opaque);
    json_decref(none);
}

static void test_history(void **state)
{
    (void)state;
    const char *text = "[{\"revision\":1,\"status\":\"superseded\",\"chart\":\"aws-load-balancer-controller-1.8.1\","
                       "\"app_version\":\"v2.8.1\"},{\"revision\":2,\"status\":\"deployed\",\"chart\":"
                       "\"aws-load-balancer-controller-1.8.1\",\"app_version\":\"v2.8.1\"},{\"revision\":3,\"status\":"
                       "\"pending-upgrade\",\"chart\":\"aws-load-balancer-controller-1.9.0-rc.1\",\"app_version\":\"v2.9.0\"}]";
    struct helm_history h;
    helm_history_parse(text, strlen(text), 3, &h);
    assert_int_equal(h.last_deployed, 2);
    assert_string_equal(h.chart_version, "1.9.0-rc.1");
    assert_string_equal(h.app_version, "v2.9.0");
    const char *first = "[{\"revision\":1,\"status\":\"pending-install\",\"chart\":\"mesh-test-0.1.0\"}]";
    helm_history_parse(first, strlen(first), 1, &h);
    assert_int_equal(h.last_deployed, 0);  /* never deployed: uninstalled, not rolled back */
    assert_string_equal(h.chart_version, "0.1.0");
}

static void test_exec_credential_and_kubeconfig(void **state)
{
    (void)state;
    struct kube_credential cred = {.token = "tok-123", .expires = 4102444800LL};
    char *text = helm_exec_credential(&cred);
    json_t *doc = json_loads(text, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "ExecCredential");
    assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")), "client.authentication.k8s.io/v1");
    json_t *st = json_object_get(doc, "status");
    assert_string_equal(json_string_value(json_object_get(st, "token")), "tok-123");
    assert_string_equal(json_string_value(json_object_get(st, "expirationTimestamp")), "2100-01-01T00:00:00Z");
    json_decref(doc);
    wipe_free(text);
    struct kube_credential cert = {.cert_pem = "-----BEGIN CERTIFICATE-----\nA\n", .key_pem = "-----BEGIN KEY-----\nB\n"};
    text = helm_exec_credential(&cert);
    assert_non_null(strstr(text, "clientCertificateData"));
    assert_non_null(strstr(text, "clientKeyData"));
    assert_null(strstr(text, "token"));
    assert_null(strstr(text, "expirationTimestamp"));
    wipe_free(text);
    const unsigned char ca[] = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
    char *kc = helm_kubeconfig_text("cluster-1", "https://127.0.0.1:6443", ca, sizeof(ca) - 1, "/usr/bin/mesh",
                                    "/tmp/mesh-helm-1-x/broker.sock");
    assert_non_null(strstr(kc, "server: \"https://127.0.0.1:6443\""));
    assert_non_null(strstr(kc, "certificate-authority-data: LS0tLS1CRUdJTi"));
    assert_non_null(strstr(kc, "command: \"/usr/bin/mesh\""));
    assert_non_null(strstr(kc, "args: [\"token\", \"cluster-1\", \"--broker\", \"/tmp/mesh-helm-1-x/broker.sock\"]"));
    assert_non_null(strstr(kc, "interactiveMode: Never"));
    assert_null(strstr(kc, "token:"));
    free(kc);
}

static void test_scrub(void **state)
{
    (void)state;
    json_t *values = json_pack("{s:s, s:{s:[s, s]}, s:i, s:s}", "password", "hunter2-very-secret", "nested", "list",
                               "tok3n", "ab", "replicas", 3, "empty", "");
    char msg[256];
    snprintf(msg, sizeof(msg), "Error: x: hunter2-very-secret is bad; tok3n and ab; hunter2-very-secret again");
    helm_scrub(msg, values);
    assert_string_equal(msg, "Error: x: (a value) is bad; ***** and ab; (a value) again");
    json_decref(values);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_argv),
        cmocka_unit_test(test_upgrade_local_no_values),
        cmocka_unit_test(test_other_argv),
        cmocka_unit_test(test_chart_sources),
        cmocka_unit_test(test_status_parse),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_exec_credential_and_kubeconfig),
        cmocka_unit_test(test_scrub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
