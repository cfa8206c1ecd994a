/* test_kube_client.c: the Kubernetes REST client against a scripted plain-HTTP server: a
 * handle opened from a kubeconfig sends its token, GET /version, discovery then server-side
 * apply (path, fieldManager, force, content type), one new credential after a 401 and the
 * error naming the credential after a second, Status errors shaped (SSA conflicts with the
 * other manager and fields, 404 -> MESH_ENOTFOUND, 422 causes, a proxy's HTML), delete waiting
 * out a namespace's finalizers (named in the progress notes and the timeout), list paging, the
 * reply cap, the provider's stats, and connection options refused with clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/duration.h"
#include "kube_fixture.h"
#include "kubernetes/kube_int.h"
#include "scripted_server.h"

#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

static char notes[8][1024];
static int nnotes;

static void on_progress(void *ctx, const char *address, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(notes[nnotes % 8], sizeof(notes[0]), fmt, ap);
    va_end(ap);
    nnotes++;
}

static struct mesh_err call_err;
static struct call make_call(void)
{
    mesh_err_init(&call_err);
    nnotes = 0;
    struct call c = {.address = "kubernetes_namespace.x", .progress = on_progress, .err = &call_err};
    return c;
}

static int setup(void **state)
{
    kube_tmp_make();
    setenv("MESH_BACKOFF_SCALE", "0.01", 1);
    return 0;
}

static int teardown(void **state)
{
    kube_tmp_remove();
    return 0;
}

/* The thread's curl handle (and its connections) go with each test, as a worker's would. */
static int release_curl(void **state)
{
    http_thread_release();
    return 0;
}

/* A handle on the scripted server through a kubeconfig whose user reads tokenFile. */
static struct kube_conn *open_on(const struct server *s)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "current-context: c\n"
             "clusters: [{name: k, cluster: {server: \"http://127.0.0.1:%d/\"}}]\n"
             "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
             "users: [{name: u, user: {tokenFile: tok}}]\n", s->port);
    kube_write("tok", "tok-123\n", 0600);
    const char *path = kube_write("config", text, 0600);
    json_t *cfg = json_pack("{s:s, s:s}", "cluster", "cluster-1", "kubeconfig", path);
    struct kube_conn *k = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = kube_conn_open(cfg, &k, &e);
    if (rc) print_message("%s\n", e.msg);
    assert_int_equal(rc, 0);
    json_decref(cfg);
    return k;
}

static void test_version_sends_token(void **state)
{
    static const struct reply script[] = {{200, NULL, "{\"major\":\"1\",\"gitVersion\":\"v1.31.0\"}"}};
    struct server s;
    server_start(&s, script, 1);
    struct kube_conn *k = open_on(&s);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", s.port);
    assert_string_equal(kube_conn_server(k), url);  /* the trailing slash dropped */
    assert_string_equal(kube_conn_cluster(k), "cluster-1");
    struct call c = make_call();
    struct mesh_err e;
    json_t *info = NULL;
    assert_int_equal(kube_version(&c, k, &info, &e), 0);
    assert_string_equal(json_string_value(json_object_get(info, "gitVersion")), "v1.31.0");
    json_decref(info);
    assert_non_null(strstr(s.last_request, "GET /version HTTP/1.1"));
    assert_non_null(strstr(s.last_request, "Authorization: Bearer tok-123\r\n"));
    json_t *st = kube_conn_stats(k);
    assert_int_equal(json_integer_value(json_object_get(st, "api_calls")), 1);
    assert_string_equal(json_string_value(json_object_get(st, "display_name")), "Kubernetes");
    json_decref(st);
    kube_conn_close(k);
    server_stop(&s);
}

static const char core_v1[] =
    "{\"kind\":\"APIResourceList\",\"groupVersion\":\"v1\",\"resources\":["
    "{\"name\":\"namespaces\",\"namespaced\":false,\"kind\":\"Namespace\"},"
    "{\"name\":\"namespaces/status\",\"namespaced\":false,\"kind\":\"Namespace\"},"
    "{\"name\":\"secrets\",\"namespaced\":true,\"kind\":\"Secret\"},"
    "{\"name\":\"configmaps\",\"namespaced\":true,\"kind\":\"ConfigMap\"}]}";

static void test_apply_path_and_conflict(void **state)
{
    static const struct reply script[] = {
        {200, NULL, core_v1},
        {200, NULL, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\",\"uid\":\"u-1\"}}"},
        {409, NULL,
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Conflict\",\"code\":409,"
         "\"message\":\"Apply failed with 2 conflicts: conflict with \\\"kubectl\\\" using v1: .data.foo\","
         "\"details\":{\"causes\":["
         "{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"kubectl\\\" using v1\",\"field\":\".data.foo\"},"
         "{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"helm\\\" using v1\",\"field\":\".data.bar\"},"
         "{\"reason\":\"FieldManagerConflict\",\"message\":\"conflict with \\\"kubectl\\\" using v1\",\"field\":\".data.baz\"}]}}"},
    };
    struct server s;
    server_start(&s, script, 3);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    struct mesh_err e;
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                            "name", "cm", "namespace", "istio-system", "data", "foo", "1");
    json_t *live = NULL;
    assert_int_equal(kube_apply(&c, k, obj, 1, &live, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(live, "metadata"), "uid")), "u-1");
    json_decref(live);
    assert_non_null(strstr(s.last_request,
                           "PATCH /api/v1/namespaces/istio-system/configmaps/cm?fieldManager=mesh&force=true HTTP/1.1"));
    assert_non_null(strstr(s.last_request, "Content-Type: application/apply-patch+yaml\r\n"));
    assert_non_null(strstr(s.last_request, "\"data\":{\"foo\":\"1\"}"));
    /* Discovery is cached: the second apply goes straight to PATCH (no force this time). */
    assert_int_equal(kube_apply(&c, k, obj, 0, &live, &e), MESH_ECONFLICT);
    assert_null(live);
    assert_non_null(strstr(s.last_request, "configmaps/cm?fieldManager=mesh HTTP/1.1"));
    assert_string_equal(e.msg, "cluster-1: configmap istio-system/cm: conflict with \"kubectl\" on .data.foo, .data.baz "
                               "and with \"helm\" on .data.bar; set force_conflicts to take the fields over");
    assert_string_equal(e.cause, "Conflict");
    /* A namespaced kind without a namespace is refused before any call. */
    json_object_del(json_object_get(obj, "metadata"), "namespace");
    mesh_err_init(&e);
    assert_int_equal(kube_apply(&c, k, obj, 0, &live, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "set metadata.namespace"));
    json_decref(obj);
    assert_int_equal(s.served, 3);
    kube_conn_close(k);
    server_stop(&s);
}

/* A 409 on a server-side apply that is no field manager's claim ("the object has been modified")
 * is sent again: the PATCH is idempotent (the reliability storm injects these). */
static void test_apply_retries_plain_conflict(void **state)
{
    static const struct reply script[] = {
        {200, NULL, core_v1},
        {409, NULL,
         "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"reason\":\"Conflict\",\"code\":409,"
         "\"message\":\"Operation cannot be fulfilled on configmaps \\\"cm\\\": the object has been modified; please apply "
         "your changes to the latest version and try again\"}"},
        {200, NULL, "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\",\"uid\":\"u-2\"}}"},
    };
    struct server s;
    server_start(&s, script, 3);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    struct mesh_err e;
    json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
                            "name", "cm", "namespace", "istio-system", "data", "foo", "1");
    json_t *live = NULL;
    assert_int_equal(kube_apply(&c, k, obj, 0, &live, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(live, "metadata"), "uid")), "u-2");
    assert_int_equal(s.served, 3);
    json_decref(live);
    json_decref(obj);
    kube_conn_close(k);
    server_stop(&s);
}

static void test_401_refreshes_once(void **state)
{
    static const struct reply script[] = {
        {401, NULL, "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}"},
        {200, NULL, "{\"gitVersion\":\"v1.30.1\"}"},
        {401, NULL, "{\"kind\":\"Status\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}"},
        {401, NULL, "{\"kind\":\"Status\",\"message\":\"token expired\",\"reason\":\"Unauthorized\",\"code\":401}"},
    };
    struct server s;
    server_start(&s, script, 4);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    struct mesh_err e;
    kube_write("tok", "tok-456\n", 0600);  /* rotated: the 401 makes the handle read it again */
    assert_int_equal(kube_version(&c, k, NULL, &e), 0);
    assert_int_equal(s.served, 2);
    assert_non_null(strstr(s.last_request, "Authorization: Bearer tok-456\r\n"));
    mesh_err_init(&e);
    assert_int_equal(kube_version(&c, k, NULL, &e), MESH_ERR);
    assert_int_equal(s.served, 4);
    char want[1024];
    snprintf(want, sizeof(want), "cluster-1: unauthorized (401) using the token file %s/tok of kubeconfig user u: token expired",
             kube_tmp);
    assert_string_equal(e.msg, want);
    kube_conn_close(k);
    server_stop(&s);
}

static void test_status_shapes(void **state)
{
    struct mesh_err e;
    mesh_err_init(&e);
    const char *nf = "{\"kind\":\"Status\",\"message\":\"secrets \\\"x\\\" not found\",\"reason\":\"NotFound\",\"code\":404}";
    assert_int_equal(kube_status_error(404, nf, strlen(nf), "c1", "secret a/x", NULL, 0, &e), MESH_ENOTFOUND);
    assert_string_equal(e.msg, "c1: secret a/x: not found (404): secrets \"x\" not found");
    assert_string_equal(e.cause, "NotFound");

    mesh_err_init(&e);
    const char *inv = "{\"kind\":\"Status\",\"message\":\"Secret \\\"X\\\" is invalid\",\"reason\":\"Invalid\","
                      "\"details\":{\"causes\":[{\"field\":\"metadata.name\",\"message\":\"must be lowercase\"}]}}";
    assert_int_equal(kube_status_error(422, inv, strlen(inv), "c1", "secret a/X", NULL, 0, &e), MESH_EINVAL);
    assert_string_equal(e.msg, "c1: secret a/X: invalid (422): Secret \"X\" is invalid; metadata.name: must be lowercase");

    mesh_err_init(&e);
    const char *html = "<html><body>502 Bad Gateway\n</body></html>";
    assert_int_equal(kube_status_error(502, html, strlen(html), "c1", NULL, NULL, 0, &e), MESH_ERR);
    assert_string_equal(e.msg, "c1: HTTP 502: <html><body>502 Bad Gateway\\n</body></html>");

    mesh_err_init(&e);
    const char *ae = "{\"kind\":\"Status\",\"message\":\"namespaces \\\"x\\\" already exists\",\"reason\":\"AlreadyExists\"}";
    assert_int_equal(kube_status_error(409, ae, strlen(ae), "c1", "namespace x", NULL, 1, &e), MESH_ECONFLICT);
    assert_string_equal(e.msg, "c1: namespace x: already exists (409): namespaces \"x\" already exists");

    mesh_err_init(&e);
    assert_int_equal(kube_status_error(403, "", 0, "c1", "namespace x", NULL, 0, &e), MESH_ERR);
    assert_string_equal(e.msg, "c1: namespace x: forbidden (403)");
}

static const char ns_terminating[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"istio-system\",\"uid\":\"u-ns\","
    "\"finalizers\":[\"example.com/cleanup\"]},\"spec\":{\"finalizers\":[\"kubernetes\"]},"
    "\"status\":{\"phase\":\"Terminating\",\"conditions\":[{\"type\":\"NamespaceContentRemaining\",\"status\":\"True\","
    "\"message\":\"Some resources are remaining: pods. has 2 resource instances\"},"
    "{\"type\":\"NamespaceDeletionDiscoveryFailure\",\"status\":\"False\",\"message\":\"All good\"}]}}";

static void test_delete_waits_for_namespace(void **state)
{
    static const struct reply script[] = {
        {200, NULL, core_v1},
        {200, NULL, ns_terminating},  /* DELETE answers with the object, now terminating */
        {200, NULL, ns_terminating},
        {200, NULL, ns_terminating},
        {404, NULL, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}"},
    };
    struct server s;
    server_start(&s, script, 5);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    c.deadline = mesh_now_mono() + 30;
    struct mesh_err e;
    struct kube_ref ref = {"v1", "Namespace", NULL, "istio-system"};
    assert_int_equal(kube_delete(&c, k, &ref, "u-ns", &e), 0);
    assert_int_equal(s.served, 5);
    assert_int_equal(nnotes, 2);
    assert_string_equal(notes[0], "waiting for namespace istio-system to be deleted (Terminating); finalizers left: "
                                  "kubernetes (spec.finalizers), example.com/cleanup (metadata.finalizers); "
                                  "NamespaceContentRemaining: Some resources are remaining: pods. has 2 resource instances");
    kube_conn_close(k);
    server_stop(&s);
}

static void test_delete_timeout_names_finalizers(void **state)
{
    static const struct reply script[] = {
        {200, NULL, core_v1}, {200, NULL, ns_terminating}, {200, NULL, ns_terminating}, {200, NULL, ns_terminating},
        {200, NULL, ns_terminating}, {200, NULL, ns_terminating}, {200, NULL, ns_terminating},
        {200, NULL, ns_terminating}, {200, NULL, ns_terminating}, {200, NULL, ns_terminating},
    };
    struct server s;
    server_start(&s, script, 10);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    c.deadline = mesh_now_mono() + 0.05;
    struct mesh_err e;
    struct kube_ref ref = {"v1", "Namespace", NULL, "istio-system"};
    assert_int_equal(kube_delete(&c, k, &ref, "u-ns", &e), MESH_ETIMEOUT);
    assert_non_null(strstr(e.msg, "cluster-1: gave up after"));
    assert_non_null(strstr(e.msg, "finalizers left: kubernetes (spec.finalizers), example.com/cleanup"));
    kube_conn_close(k);
    s.nscript = s.served;  /* let the server thread end once the client hangs up */
    http_thread_release();
    server_stop(&s);
}

static void test_delete_other_incarnation(void **state)
{
    static const struct reply script[] = {
        {200, NULL, core_v1},
        {409, NULL, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"message\":\"Precondition failed: UID in precondition: "
                    "u-old, UID in object meta: u-new\",\"code\":409}"},
        {404, NULL, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}"},
    };
    struct server s;
    server_start(&s, script, 3);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    struct mesh_err e;
    struct kube_ref ref = {"v1", "Secret", "ns", "s"};
    assert_int_equal(kube_delete(&c, k, &ref, "u-old", &e), MESH_ENOTFOUND);
    assert_non_null(strstr(s.last_request, "\"preconditions\":{\"uid\":\"u-old\"}"));
    assert_non_null(strstr(s.last_request, "DELETE /api/v1/namespaces/ns/secrets/s HTTP/1.1"));
    mesh_err_init(&e);
    assert_int_equal(kube_delete(&c, k, &ref, NULL, &e), MESH_ENOTFOUND);  /* already gone */
    kube_conn_close(k);
    server_stop(&s);
}

static void test_list_pages_and_selector(void **state)
{
    static const struct reply script[] = {
        {200, NULL, core_v1},
        {200, NULL, "{\"kind\":\"SecretList\",\"metadata\":{\"continue\":\"tok/2\"},\"items\":[{\"metadata\":{\"name\":\"a\"}}]}"},
        {200, NULL, "{\"kind\":\"SecretList\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"b\"}}]}"},
    };
    struct server s;
    server_start(&s, script, 3);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    struct mesh_err e;
    json_t *items = NULL;
    assert_int_equal(kube_list(&c, k, "v1", "Secret", NULL, "app.kubernetes.io/managed-by=mesh", &items, &e), 0);
    assert_int_equal(json_array_size(items), 2);
    struct kube_ref ref;
    assert_int_equal(kube_ref_of(json_array_get(items, 1), &ref, &e), 0);
    assert_string_equal(ref.kind, "Secret");
    assert_string_equal(ref.name, "b");
    json_decref(items);
    assert_non_null(strstr(s.last_request,
                           "GET /api/v1/secrets?limit=500&labelSelector=app.kubernetes.io%2Fmanaged-by%3Dmesh&continue=tok%2F2 "));
    kube_conn_close(k);
    server_stop(&s);
}

static void test_unknown_kind_refreshes_discovery(void **state)
{
    static const struct reply script[] = {
        {200, NULL, core_v1},
        {200, NULL, core_v1},  /* asked again once: still no Pod */
        {404, NULL, "{\"kind\":\"Status\",\"code\":404}"},  /* no such group version */
    };
    struct server s;
    server_start(&s, script, 3);
    struct kube_conn *k = open_on(&s);
    struct call c = make_call();
    struct mesh_err e;
    json_t *live = NULL;
    struct kube_ref secret = {"v1", "Secret", "ns", "s"}, pod = {"v1", "Pod", "ns", "p"},
                    crd = {"example.com/v1", "Widget", "ns", "w"};
    assert_int_equal(kube_resource_of(&c, k, "v1", "Secret", &(struct kube_resource){0}, &e), 0);
    assert_int_equal(kube_get(&c, k, &pod, &live, &e), MESH_EINVAL);
    assert_string_equal(e.msg, "cluster-1: the API server knows no kind Pod in v1");
    assert_int_equal(kube_get(&c, k, &crd, &live, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "serves no example.com/v1 (kind Widget): is its CustomResourceDefinition installed?"));
    (void)secret;
    kube_conn_close(k);
    server_stop(&s);
}

static void test_open_errors(void **state)
{
    struct kube_conn *k = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    json_t *cfg = json_pack("{s:s, s:s}", "cluster", "c1", "server", "https://x");
    assert_int_equal(kube_conn_open(cfg, &k, &e), MESH_EINVAL);
    assert_string_equal(e.msg, "c1: the connection says neither auth: eks nor a kubeconfig");
    json_decref(cfg);
    mesh_err_init(&e);
    cfg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "cluster", "c1", "server", "https://x", "auth", "eks",
                    "eks_cluster_name", "c1", "ca_data", "bm90IGEgY2VydA==");
    assert_int_equal(kube_conn_open(cfg, &k, &e), MESH_EINVAL);
    assert_string_equal(e.msg, "c1: ca_data is not the base64 of a PEM certificate");
    json_object_set_new(cfg, "ca_data", json_string(CA_B64));
    mesh_err_init(&e);
    assert_int_equal(kube_conn_open(cfg, &k, &e), 0);  /* opening asks nobody for a token yet */
    assert_string_equal(k->credential, "an EKS token for cluster c1");
    assert_int_equal(k->ca_len, strlen("-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"));
    kube_conn_close(k);
    json_decref(cfg);
    mesh_err_init(&e);
    cfg = json_pack("{s:s, s:s, s:s}", "cluster", "c2", "kubeconfig", "/nonexistent/kc", "context", "x");
    assert_int_equal(kube_conn_open(cfg, &k, &e), MESH_EINVAL);
    assert_non_null(strstr(e.msg, "c2: kubeconfig: cannot read /nonexistent/kc"));
    json_decref(cfg);
}

static void test_retry_unreachable_until_deadline(void **state)
{
    /* A port nobody listens on: with retry_unreachable the call waits (saying so) until its deadline. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    char text[600];
    snprintf(text, sizeof(text),
             "current-context: c\nclusters: [{name: k, cluster: {server: \"http://127.0.0.1:%d\"}}]\n"
             "contexts: [{name: c, context: {cluster: k, user: u}}]\nusers: [{name: u, user: {token: t}}]\n",
             ntohs(a.sin_port));
    const char *path = kube_write("config-refused", text, 0600);
    json_t *cfg = json_pack("{s:s, s:s, s:b}", "cluster", "cluster-9", "kubeconfig", path, "retry_unreachable", 1);
    struct kube_conn *k = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(kube_conn_open(cfg, &k, &e), 0);
    json_decref(cfg);
    kube_conn_set_patience(k, 1000, 2000, 1);
    struct call c = make_call();
    c.deadline = mesh_now_mono() + 0.5;
    assert_int_equal(kube_version(&c, k, NULL, &e), MESH_ERR);
    assert_true(nnotes >= 2);
    assert_non_null(strstr(notes[0], "waiting for the API server of cluster-9 at http://127.0.0.1:"));
    assert_non_null(strstr(e.msg, "cluster-9: the API server at http://127.0.0.1:"));
    assert_non_null(strstr(e.msg, "does not answer"));
    kube_conn_close(k);
    close(fd);
}

static void test_reply_cap(void **state)
{
    /* http.c's cap, as the client sets it: a reply over max_reply fails without retrying. */
    static const struct reply script[] = {{200, NULL, "0123456789abcdef"}};
    struct server s;
    server_start(&s, script, 1);
    struct http_client cl;
    http_client_init(&cl);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
    struct http_request req;
    http_request_init(&req, "GET", url);
    req.max_reply = 8;
    struct http_response resp;
    http_response_init(&resp);
    struct mesh_err e;
    mesh_err_init(&e);
    assert_int_equal(http_send(&cl, &req, &resp, &e), MESH_ERR);
    assert_non_null(strstr(e.msg, "the reply is larger than 8 bytes (after 1 attempt)"));
    http_response_release(&resp);
    http_request_release(&req);
    server_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_version_sends_token, release_curl),
        cmocka_unit_test_teardown(test_apply_path_and_conflict, release_curl),
        cmocka_unit_test_teardown(test_apply_retries_plain_conflict, release_curl),
        cmocka_unit_test_teardown(test_401_refreshes_once, release_curl),
        cmocka_unit_test_teardown(test_status_shapes, release_curl),
        cmocka_unit_test_teardown(test_delete_waits_for_namespace, release_curl),
        cmocka_unit_test_teardown(test_delete_timeout_names_finalizers, release_curl),
        cmocka_unit_test_teardown(test_delete_other_incarnation, release_curl),
        cmocka_unit_test_teardown(test_list_pages_and_selector, release_curl),
        cmocka_unit_test_teardown(test_unknown_kind_refreshes_discovery, release_curl),
        cmocka_unit_test_teardown(test_open_errors, release_curl),
        cmocka_unit_test_teardown(test_retry_unreachable_until_deadline, release_curl),
        cmocka_unit_test_teardown(test_reply_cap, release_curl),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
