/* test_kubeconfig_write.c: the kubeconfig `mesh kubeconfig` writes (engine/kubeconfig_write.c):
 * a new file exactly; merging keeps other entries, keys, order, quoting and tags, replaces this
 * cluster's entries in place (dropping duplicates) and sets current-context; values that would
 * read back as something else are quoted; a JSON file stays JSON; what is not a kubeconfig is
 * refused with file:line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "kubeconfig_write.h"

static const char *const args[] = {"token", "c1", "--state", "/srv/p/.mesh/state.db"};
static const struct kubeconfig_entry c1 = {"c1", "https://c1.example:443", "Q0EtREFUQQ==", "/usr/bin/mesh", args, 4};

static char *merge(const char *existing, int want_rc, struct mesh_err *err)
{
    char *out = NULL;
    struct mesh_err local;
    mesh_err_init(&local);
    int rc = kubeconfig_merge("kc", existing, existing ? strlen(existing) : 0, &c1, &out, err ? err : &local);
    assert_int_equal(rc, want_rc);
    if (rc) assert_null(out);
    else assert_non_null(out);
    return out;
}

static const char fresh[] =
    "apiVersion: v1\n"
    "clusters:\n"
    "- cluster:\n"
    "    certificate-authority-data: Q0EtREFUQQ==\n"
    "    server: https://c1.example:443\n"
    "  name: c1\n"
    "contexts:\n"
    "- context:\n"
    "    cluster: c1\n"
    "    user: c1\n"
    "  name: c1\n"
    "current-context: c1\n"
    "kind: Config\n"
    "preferences: {}\n"
    "users:\n"
    "- name: c1\n"
    "  user:\n"
    "    exec:\n"
    "      apiVersion: client.authentication.k8s.io/v1\n"
    "      args:\n"
    "      - token\n"
    "      - c1\n"
    "      - --state\n"
    "      - /srv/p/.mesh/state.db\n"
    "      command: /usr/bin/mesh\n"
    "      interactiveMode: Never\n";

static void test_new(void **state)
{
    char *out = merge(NULL, 0, NULL);
    assert_string_equal(out, fresh);
    free(out);
    /* an empty file, a comment-only file and a null document are new kubeconfigs too */
    const char *empties[] = {"", "# nothing yet\n", "---\n", "~\n", "null\n"};
    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        out = merge(empties[i], 0, NULL);
        assert_string_equal(out, fresh);
        free(out);
    }
}

static const char theirs[] =
    "# kind's cluster\n"
    "apiVersion: v1\n"
    "kind: Config\n"
    "clusters:\n"
    "- name: kind-dev\n"
    "  cluster:\n"
    "    server: \"https://127.0.0.1:39123\"\n"
    "    insecure-skip-tls-verify: true\n"
    "- name: c1\n"
    "  cluster: {server: 'https://old:443'}\n"
    "- name: c1\n"
    "  cluster: {server: 'https://older:443'}\n"
    "users:\n"
    "- name: kind-dev\n"
    "  user:\n"
    "    token: 'yes'\n"
    "    username: yes\n"
    "    password: !!str 0123\n"
    "contexts:\n"
    "- name: kind-dev\n"
    "  context: &ctx\n"
    "    cluster: kind-dev\n"
    "    user: kind-dev\n"
    "    namespace: \"007\"\n"
    "- name: kind-copy\n"
    "  context: *ctx\n"
    "current-context: kind-dev\n"
    "extensions: []\n";

static void test_merge_keeps_theirs(void **state)
{
    char *out = merge(theirs, 0, NULL);
    /* other entries and keys, with their quoting, tags and booleans */
    assert_non_null(strstr(out, "- name: kind-dev\n  cluster:\n    server: \"https://127.0.0.1:39123\"\n"
                                "    insecure-skip-tls-verify: true\n"));
    assert_non_null(strstr(out, "    token: 'yes'\n    username: yes\n    password: !!str 0123\n"));
    assert_non_null(strstr(out, "    namespace: \"007\"\n"));
    assert_non_null(strstr(out, "extensions: []\n"));
    /* the alias is expanded: kind-copy's context is a copy */
    const char *copy = strstr(out, "- name: kind-copy\n  context:\n    cluster: kind-dev\n");
    assert_non_null(copy);
    /* c1 replaced where it was, once; the old servers gone */
    assert_null(strstr(out, "old:443"));
    const char *kind = strstr(out, "- name: kind-dev\n  cluster:");
    const char *ours = strstr(out, "- cluster:\n    certificate-authority-data: Q0EtREFUQQ==\n");
    assert_true(kind && ours && kind < ours);
    assert_null(strstr(ours + 1, "- cluster:\n    certificate-authority-data"));
    assert_non_null(strstr(out, "current-context: c1\n"));
    assert_null(strstr(out, "current-context: kind-dev"));
    assert_non_null(strstr(out, "      command: /usr/bin/mesh\n"));
    /* the key order of their file: apiVersion, kind, clusters, users, contexts */
    const char *k = strstr(out, "kind: Config"), *cl = strstr(out, "clusters:"), *us = strstr(out, "\nusers:"),
               *co = strstr(out, "\ncontexts:");
    assert_true(k < cl && cl < us && us < co);
    assert_null(strstr(out, "# kind's cluster"));  /* comments are not kept (documented) */
    /* merging again changes nothing */
    char *again = merge(out, 0, NULL);
    assert_string_equal(again, out);
    free(again);
    free(out);
}

static void test_null_lists(void **state)
{
    char *out = merge("apiVersion: v1\nclusters:\nusers: ~\ncontexts: null\n", 0, NULL);
    assert_non_null(strstr(out, "clusters:\n- cluster:\n"));
    assert_non_null(strstr(out, "users:\n- name: c1\n"));
    assert_non_null(strstr(out, "contexts:\n- context:\n"));
    assert_non_null(strstr(out, "current-context: c1\n"));
    free(out);
}

/* A kubeconfig written as JSON stays JSON (kubectl reads both). */
static void test_json_stays_json(void **state)
{
    const char *in = "{\"apiVersion\": \"v1\", \"kind\": \"Config\", \"clusters\": [{\"name\": \"x\", "
                     "\"cluster\": {\"server\": \"https://x\", \"insecure-skip-tls-verify\": true}}]}\n";
    char *out = merge(in, 0, NULL);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j) fail_msg("not JSON (%s) : %s", je.text, out);
    assert_string_equal(json_string_value(json_object_get(j, "current-context")), "c1");
    json_t *clusters = json_object_get(j, "clusters");
    assert_int_equal(json_array_size(clusters), 2);
    assert_true(json_is_true(json_object_get(json_object_get(json_array_get(clusters, 0), "cluster"), "insecure-skip-tls-verify")));
    json_t *exec = json_object_get(json_object_get(json_array_get(json_object_get(j, "users"), 0), "user"), "exec");
    assert_string_equal(json_string_value(json_array_get(json_object_get(exec, "args"), 3)), "/srv/p/.mesh/state.db");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "contexts"), 0), "name")), "c1");
    json_decref(j);
    free(out);
}

/* A cluster name or path YAML would read as a boolean, null or number is quoted. */
static void test_quoting(void **state)
{
    static const char *const a[] = {"token", "true"};
    struct kubeconfig_entry e = {"true", "https://x", NULL, "/bin/mesh", a, 2};
    char *out = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(kubeconfig_merge("kc", NULL, 0, &e, &out, &err), 0);
    assert_non_null(strstr(out, "  name: 'true'\n"));
    assert_non_null(strstr(out, "current-context: 'true'\n"));
    assert_non_null(strstr(out, "      - 'true'\n"));
    assert_null(strstr(out, "certificate-authority-data"));  /* no CA: none written */
    free(out);
    e.name = "0123";
    assert_int_equal(kubeconfig_merge("kc", NULL, 0, &e, &out, &err), 0);
    assert_non_null(strstr(out, "name: '0123'\n"));
    free(out);
}

static void refused(const char *text, const char *where, const char *msg)
{
    struct mesh_err err;
    mesh_err_init(&err);
    assert_null(merge(text, MESH_EINVAL, &err));
    assert_string_equal(err.where, where);
    if (!strstr(err.msg, msg)) fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

static void test_refused(void **state)
{
    refused("apiVersion: v1\nclusters: [\n", "kc:3:1", "not valid YAML");
    refused("a: b\n  c: d\n", "kc:2:4", "not valid YAML");
    refused("- a\n- b\n", "kc", "top level is not a mapping");
    refused("just text\n", "kc", "top level is not a mapping");
    refused("clusters: {a: b}\n", "kc", "`clusters` is not a list");
    refused("users: nobody\n", "kc", "`users` is not a list");
    refused("a: 1\n---\nb: 2\n", "kc:2:1", "more than one YAML document");
    refused("a: *nowhere\n", "kc:1:4", "unknown anchor");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new),
        cmocka_unit_test(test_merge_keeps_theirs),
        cmocka_unit_test(test_null_lists),
        cmocka_unit_test(test_json_stays_json),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
