/* test_kube_exec.c: exec credential plugins run as kubectl runs them: a token with an RFC 3339
 * expiry, the plugin's env and KUBERNETES_EXEC_INFO seen by the plugin, a command relative to
 * the kubeconfig's directory, a client certificate and key, a failing plugin (exit status,
 * stderr, installHint), garbage output (not echoed: it may be a token), a missing command, a
 * plugin that hangs, and RFC 3339 parsing. Plugins are shell scripts written into a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>

#include "kube_fixture.h"
#include "kubernetes/exec_cred.h"

static int setup(void **state)
{
    kube_tmp_make();
    return 0;
}

static int teardown(void **state)
{
    kube_tmp_remove();
    return 0;
}

static struct kube_exec_config *plugin(const char *name, const char *script)
{
    kube_write(name, script, 0700);
    struct kube_exec_config *x = calloc(1, sizeof(*x));
    x->api_version = strdup("client.authentication.k8s.io/v1");
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "./%s", name);  /* relative: resolved against dir */
    x->command = strdup(cmd);
    x->args = calloc(2, sizeof(char *));
    x->args[0] = strdup("arg-one");
    x->env = calloc(2, sizeof(char *));
    x->env[0] = strdup("PLUGIN_VAR=from-config");
    x->install_hint = strdup("get the plugin at example.com/plugin");
    x->dir = strdup(kube_tmp);
    return x;
}

static void test_token_expiry_env(void **state)
{
    struct kube_exec_config *x = plugin(
        "tok.sh",
        "#!/bin/sh\n"
        "echo \"$KUBERNETES_EXEC_INFO\" | grep -q '\"interactive\":false' || exit 5\n"
        "echo \"$KUBERNETES_EXEC_INFO\" | grep -q 'client.authentication.k8s.io/v1\"' || exit 6\n"
        "echo \"$KUBERNETES_EXEC_INFO\" | grep -q '\"spec\":{\"cluster\":{\"server\":\"https://x\"},\"interactive\"' || exit 10\n"
        "[ \"$1\" = arg-one ] || exit 7\n"
        "read line && exit 8\n"  /* stdin is /dev/null: read fails */
        "echo 'a warning on stderr' >&2\n"
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
        "\"status\":{\"token\":\"tok-%s\",\"expirationTimestamp\":\"2030-01-02T03:04:05Z\"}}' \"$PLUGIN_VAR\"\n");
    x->cluster_json = strdup("{\"server\":\"https://x\"}");  /* provideClusterInfo */
    struct kube_exec_cred cr;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = kube_exec_run(x, 10, &cr, &e);
    if (rc) print_message("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(cr.token, "tok-from-config");
    assert_int_equal(cr.expires, 1893553445LL);
    assert_null(cr.cert_pem);
    kube_exec_cred_release(&cr);
    kube_exec_config_free(x);
}

static void test_no_inherited_descriptors(void **state)
{
    int fd = open("/dev/null", O_RDONLY);  /* no O_CLOEXEC: like a descriptor mesh forgot to mark */
    assert_true(fd > 2);
    char script[600];
    snprintf(script, sizeof(script),
             "#!/bin/sh\n"
             "[ -e /proc/$$/fd/%d ] && { echo 'fd %d leaked' >&2; exit 4; }\n"
             "echo '{\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n", fd, fd);
    struct kube_exec_config *x = plugin("fds.sh", script);
    struct kube_exec_cred cr;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = kube_exec_run(x, 10, &cr, &e);
    if (rc) print_message("%s\n", e.msg);
    assert_int_equal(rc, 0);
    kube_exec_cred_release(&cr);
    kube_exec_config_free(x);
    close(fd);
}

static void test_client_certificate(void **state)
{
    struct kube_exec_config *x = plugin(
        "cert.sh",
        "#!/bin/sh\n"
        "cat <<'JSON'\n"  /* not echo: dash's echo would turn the \\n escapes into newlines */
        "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{"
        "\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\nC\\n-----END CERTIFICATE-----\\n\","
        "\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\nK\\n-----END PRIVATE KEY-----\\n\"}}\n"
        "JSON\n");
    struct kube_exec_cred cr;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = kube_exec_run(x, 10, &cr, &e);
    if (rc) print_message("%s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_null(cr.token);
    assert_non_null(strstr((char *)cr.cert_pem, "BEGIN CERTIFICATE"));
    assert_non_null(strstr((char *)cr.key_pem, "BEGIN PRIVATE KEY"));
    assert_int_equal(cr.expires, 0);
    kube_exec_cred_release(&cr);
    kube_exec_config_free(x);
}

static void test_failing_plugin(void **state)
{
    struct kube_exec_config *x = plugin("fail.sh", "#!/bin/sh\necho 'no credentials for profile dev' >&2\nexit 3\n");
    struct kube_exec_cred cr;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kube_exec_run(x, 10, &cr, &e), MESH_ERR);
    assert_non_null(strstr(e.msg, "exec plugin ./fail.sh failed with exit status 3"));
    assert_non_null(strstr(e.msg, "no credentials for profile dev"));
    assert_non_null(strstr(e.msg, "get the plugin at example.com/plugin"));
    kube_exec_config_free(x);
}

static void test_garbage_not_echoed(void **state)
{
    struct kube_exec_config *x = plugin("junk.sh", "#!/bin/sh\necho 'SECRET-TOKEN-abc not json'\n");
    struct kube_exec_cred cr;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kube_exec_run(x, 10, &cr, &e), MESH_ERR);
    assert_non_null(strstr(e.msg, "not JSON"));
    assert_null(strstr(e.msg, "SECRET"));
    kube_exec_config_free(x);

    x = plugin("wrong.sh", "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}'\n");
    mesh_err_init(&e);
    assert_int_equal(kube_exec_run(x, 10, &cr, &e), MESH_ERR);
    assert_non_null(strstr(e.msg, "answered with apiVersion client.authentication.k8s.io/v1beta1"));
    kube_exec_config_free(x);

    x = plugin("empty.sh", "#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"status\":{}}'\n");
    mesh_err_init(&e);
    assert_int_equal(kube_exec_run(x, 10, &cr, &e), MESH_ERR);
    assert_non_null(strstr(e.msg, "neither a token nor a client certificate"));
    kube_exec_config_free(x);
}

static void test_missing_command(void **state)
{
    struct kube_exec_config *x = plugin("x.sh", "#!/bin/sh\n");
    free(x->command);
    x->command = strdup("mesh-no-such-plugin-xyz");  /* no slash: looked up in PATH */
    struct kube_exec_cred cr;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kube_exec_run(x, 10, &cr, &e), MESH_ERR);
    assert_non_null(strstr(e.msg, "exec plugin mesh-no-such-plugin-xyz cannot be run: No such file or directory"));
    assert_non_null(strstr(e.msg, "example.com/plugin"));
    kube_exec_config_free(x);
}

static void test_hanging_plugin(void **state)
{
    struct kube_exec_config *x = plugin("hang.sh", "#!/bin/sh\nexec sleep 30\n");
    struct kube_exec_cred cr;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kube_exec_run(x, 0.3, &cr, &e), MESH_ERR);
    assert_non_null(strstr(e.msg, "did not finish within"));
    kube_exec_config_free(x);
}

static void test_rfc3339(void **state)
{
    assert_int_equal(kube_rfc3339("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(kube_rfc3339("2030-01-02T03:04:05Z"), 1893553445LL);
    assert_int_equal(kube_rfc3339("2030-01-02T05:04:05.123456+02:00"), 1893553445LL);
    assert_int_equal(kube_rfc3339("2030-01-01T22:04:05-05:00"), 1893553445LL);
    assert_int_equal(kube_rfc3339("2030-01-02 03:04:05"), -1);
    assert_int_equal(kube_rfc3339("tomorrow"), -1);
    assert_int_equal(kube_rfc3339("2030-13-02T03:04:05Z"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_expiry_env),
        cmocka_unit_test(test_no_inherited_descriptors),
        cmocka_unit_test(test_client_certificate),
        cmocka_unit_test(test_failing_plugin),
        cmocka_unit_test(test_garbage_not_echoed),
        cmocka_unit_test(test_missing_command),
        cmocka_unit_test(test_hanging_plugin),
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
