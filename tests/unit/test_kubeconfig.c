/* test_kubeconfig.c: kubeconfig parsing: contexts (given, current-context, missing with the list
 * of known ones), clusters (server, CA data or file relative to the kubeconfig's directory,
 * insecure-skip-tls-verify refused), users (token, tokenFile, client certificate and key as data
 * or files, exec with args, env and installHint), YAML to JSON, base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "kube_fixture.h"
#include "base64.h"
#include "kubernetes/kubeconfig.h"
#include "kubernetes/yaml_json.h"

/* base64 of "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n" */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

static const char config_text[] =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: c-dev\n"
    "  cluster:\n"
    "    server: https://dev.example:6443\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "- name: c-prod\n"
    "  cluster:\n"
    "    server: https://prod.example\n"
    "    certificate-authority: certs/ca.pem\n"
    "- name: c-insecure\n"
    "  cluster:\n"
    "    server: https://x\n"
    "    insecure-skip-tls-verify: true\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: c-dev, user: u-token}\n"
    "- name: prod\n"
    "  context: {cluster: c-prod, user: u-cert}\n"
    "- name: exec\n"
    "  context: {cluster: c-dev, user: u-exec}\n"
    "- name: tokfile\n"
    "  context: {cluster: c-dev, user: u-tokfile}\n"
    "- name: insecure\n"
    "  context: {cluster: c-insecure, user: u-token}\n"
    "- name: half\n"
    "  context: {cluster: c-dev, user: u-half}\n"
    "- name: nouser\n"
    "  context: {cluster: c-dev, user: ghost}\n"
    "- name: anon\n"
    "  context: {cluster: c-dev}\n"
    "users:\n"
    "- name: u-token\n"
    "  user: {token: \"s3cr3t-token\"}\n"
    "- name: u-tokfile\n"
    "  user: {tokenFile: tok}\n"
    "- name: u-cert\n"
    "  user:\n"
    "    client-certificate: certs/client.pem\n"
    "    client-key-data: S0VZCg==\n"
    "- name: u-half\n"
    "  user:\n"
    "    client-certificate-data: Q0VSVAo=\n"
    "- name: u-exec\n"
    "  user:\n"
    "    exec:\n"
    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
    "      command: ./bin/plugin\n"
    "      args: [get-token, --cluster, \"007\"]\n"
    "      env:\n"
    "      - {name: FOO, value: bar}\n"
    "      installHint: install plugin from example.com\n"
    "      interactiveMode: Never\n"
    "      provideClusterInfo: true\n";

static int setup(void **state)
{
    kube_tmp_make();
    kube_write("certs/ca.pem", "-----BEGIN CERTIFICATE-----\nPROD\n-----END CERTIFICATE-----\n", 0600);
    kube_write("certs/client.pem", "CLIENT CERT\n", 0600);
    kube_write("kube/config", config_text, 0600);
    return 0;
}

static int teardown(void **state)
{
    kube_tmp_remove();
    return 0;
}

static const char *config_path(void)
{
    static char p[512];
    snprintf(p, sizeof(p), "%s/kube/config", kube_tmp);
    return p;
}

static void test_current_context_token_ca_data(void **state)
{
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(config_path(), NULL, &kc, &e), 0);
    assert_string_equal(kc.context, "dev");
    assert_string_equal(kc.cluster, "c-dev");
    assert_string_equal(kc.user, "u-token");
    assert_string_equal(kc.server, "https://dev.example:6443");
    assert_non_null(kc.ca_pem);
    assert_string_equal((char *)kc.ca_pem, "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
    assert_int_equal(kc.ca_len, strlen((char *)kc.ca_pem));
    assert_string_equal(kc.token, "s3cr3t-token");
    assert_null(kc.exec);
    assert_null(kc.cert_pem);
    kubeconfig_release(&kc);
}

static void test_files_relative_to_kubeconfig(void **state)
{
    /* The CA and client certificate are under certs/, beside kube/, not in the cwd. */
    kube_write("kube/certs/ca.pem", "-----BEGIN CERTIFICATE-----\nREL\n-----END CERTIFICATE-----\n", 0600);
    kube_write("kube/certs/client.pem", "CLIENT REL\n", 0600);
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(config_path(), "prod", &kc, &e), 0);
    assert_string_equal(kc.server, "https://prod.example");
    assert_non_null(strstr((char *)kc.ca_pem, "REL"));
    assert_string_equal((char *)kc.cert_pem, "CLIENT REL\n");
    assert_string_equal((char *)kc.key_pem, "KEY\n");
    assert_int_equal(kc.key_len, 4);
    assert_null(kc.token);
    kubeconfig_release(&kc);
}

static void test_missing_file_named(void **state)
{
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    /* kube/certs/ca.pem does not exist (only certs/ca.pem one level up). */
    assert_int_equal(kubeconfig_load(config_path(), "prod", &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "certificate-authority"));
    assert_non_null(strstr(e.msg, "kube/certs/ca.pem"));
}

static void test_missing_context_lists_known(void **state)
{
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(config_path(), "foo", &kc, &e), MESH_EINVAL);
    char want[1024];
    snprintf(want, sizeof(want),
             "kubeconfig %s: context \"foo\" not found (contexts: dev, prod, exec, tokfile, insecure, half, nouser, anon)",
             config_path());
    assert_string_equal(e.msg, want);
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(config_path(), "nouser", &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "context \"nouser\" names user \"ghost\", which is not there (users: u-token,"));
}

static void test_no_current_context(void **state)
{
    const char *p = kube_write("nocur", "clusters: []\ncontexts:\n- name: a\n  context: {cluster: x}\n", 0600);
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(p, "", &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "no context given and no current-context set (contexts: a)"));
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(p, "a", &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "names cluster \"x\", which is not there (clusters: none)"));
}

static void test_insecure_refused(void **state)
{
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(config_path(), "insecure", &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "insecure-skip-tls-verify"));
    assert_non_null(strstr(e.msg, "c-insecure"));
}

static void test_cert_without_key(void **state)
{
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(config_path(), "half", &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "user \"u-half\" has a client certificate but no client key"));
}

static void test_exec_and_token_file(void **state)
{
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(config_path(), "exec", &kc, &e), 0);
    assert_non_null(kc.exec);
    assert_string_equal(kc.exec->api_version, "client.authentication.k8s.io/v1beta1");
    assert_string_equal(kc.exec->command, "./bin/plugin");
    assert_string_equal(kc.exec->args[0], "get-token");
    assert_string_equal(kc.exec->args[2], "007");  /* quoted: stays a string with its zeros */
    assert_null(kc.exec->args[3]);
    assert_string_equal(kc.exec->env[0], "FOO=bar");
    assert_null(kc.exec->env[1]);
    assert_string_equal(kc.exec->install_hint, "install plugin from example.com");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/kube", kube_tmp);
    assert_string_equal(kc.exec->dir, dir);
    assert_string_equal(kc.exec->cluster_json, "{\"server\":\"https://dev.example:6443\",\"certificate-authority-data\":\"" CA_B64 "\"}");
    kubeconfig_release(&kc);

    assert_int_equal(kubeconfig_load(config_path(), "tokfile", &kc, &e), 0);
    char want[600];
    snprintf(want, sizeof(want), "%s/kube/tok", kube_tmp);
    assert_string_equal(kc.token_file, want);
    kubeconfig_release(&kc);

    assert_int_equal(kubeconfig_load(config_path(), "anon", &kc, &e), 0);
    assert_null(kc.user);
    assert_null(kc.token);
    kubeconfig_release(&kc);
}

static void test_unreadable_and_bad_yaml(void **state)
{
    struct kubeconfig kc;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load("/nonexistent/kubeconfig", NULL, &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "/nonexistent/kubeconfig"));
    const char *p = kube_write("bad", "a: [1, 2\n", 0600);
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(p, NULL, &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "not valid YAML"));
    p = kube_write("alias", "a: &x {b: 1}\nc: *x\n", 0600);
    mesh_err_init(&e);
    assert_int_equal(kubeconfig_load(p, NULL, &kc, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "aliases"));
}

static void test_yaml_to_json_types(void **state)
{
    const char *y = "a: true\nb: 12\nc: \"12\"\nd: ~\ne: [x, 'y', -3]\nf: 012\ng: {h: no}\n";
    json_t *v = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kube_yaml_to_json(y, strlen(y), "t", &v, &e), 0);
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(s, "{\"a\":true,\"b\":12,\"c\":\"12\",\"d\":null,\"e\":[\"x\",\"y\",-3],\"f\":\"012\",\"g\":{\"h\":\"no\"}}");
    free(s);
    json_decref(v);
    mesh_err_init(&e);
    assert_int_equal(kube_yaml_to_json("a: 1\n---\nb: 2\n", 14, "t", &v, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "more than one YAML document"));
}

static void test_base64(void **state)
{
    size_t n = 0;
    unsigned char *d = b64_decode("aGVs\nbG8=", &n);
    assert_non_null(d);
    assert_int_equal(n, 5);
    assert_string_equal((char *)d, "hello");
    free(d);
    d = b64_decode("aGVsbA==", &n);
    assert_int_equal(n, 4);
    free(d);
    d = b64_decode("", &n);
    assert_non_null(d);
    assert_int_equal(n, 0);
    free(d);
    assert_null(b64_decode("not base64!", &n));
    assert_null(b64_decode("abc", &n));
    char *enc = b64_encode("hello", 5);
    assert_string_equal(enc, "aGVsbG8=");
    free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_context_token_ca_data),
        cmocka_unit_test(test_missing_file_named),
        cmocka_unit_test(test_files_relative_to_kubeconfig),
        cmocka_unit_test(test_missing_context_lists_known),
        cmocka_unit_test(test_no_current_context),
        cmocka_unit_test(test_insecure_refused),
        cmocka_unit_test(test_cert_without_key),
        cmocka_unit_test(test_exec_and_token_file),
        cmocka_unit_test(test_unreadable_and_bad_yaml),
        cmocka_unit_test(test_yaml_to_json_types),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
