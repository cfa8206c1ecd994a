/* test_iam.c: the IAM/KMS/Logs drivers: IAM's URL-encoded documents, policy documents compared
 * as JSON, lists compared as sets, the drivers' local checks; and aws_iam_role against a scripted
 * IAM endpoint (AWS_ENDPOINT_URL_IAM): NoSuchEntity right after CreateRole retried, a failed
 * create removing its role, a delete leaving another incarnation of the name alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aws/iam.h"
#include "aws/kms.h"
#include "driver.h"

static void test_url_decode(void **state)
{
    (void)state;
    char *s = iam_url_decode("%7B%22Version%22%3A%222012-10-17%22%2C%22a%22%3A%22b+c%20d%22%7D");
    assert_string_equal(s, "{\"Version\":\"2012-10-17\",\"a\":\"b+c d\"}");  /* '+' stays: RFC 3986 */
    free(s);
    s = iam_url_decode("  {\"a\": \"100%25\"}");  /* already JSON (moto): as is */
    assert_string_equal(s, "  {\"a\": \"100%25\"}");
    free(s);
    s = iam_url_decode("%7B%zz%4");  /* a broken escape is kept, never read past the end */
    assert_string_equal(s, "{%zz%4");
    free(s);
}

static void test_canonical(void **state)
{
    (void)state;
    char *a = iam_canonical("{ \"Version\": \"2012-10-17\",\n  \"Statement\": [ {\"Effect\": \"Allow\", \"Action\": \"*\"} ] }");
    char *b = iam_canonical("{\"Statement\":[{\"Action\":\"*\",\"Effect\":\"Allow\"}],\"Version\":\"2012-10-17\"}");
    assert_non_null(a);
    assert_string_equal(a, b);
    assert_string_equal(a, "{\"Statement\":[{\"Action\":\"*\",\"Effect\":\"Allow\"}],\"Version\":\"2012-10-17\"}");
    free(a);
    free(b);
    assert_null(iam_canonical("{\"a\": "));
}

static void test_observe_doc(void **state)
{
    (void)state;
    const char *mine = "{ \"b\": 1, \"a\": [1, 2] }";
    json_t *outputs = json_pack("{s:s}", "doc", mine), *cur = json_object();
    iam_observe_doc(cur, outputs, "doc", "%7B%22a%22%3A%5B1%2C2%5D%2C%22b%22%3A1%7D");  /* the same, encoded */
    assert_string_equal(json_string_value(json_object_get(cur, "doc")), mine);
    iam_observe_doc(cur, outputs, "doc", "{\"a\": [2, 1], \"b\": 1}");  /* list order matters in JSON */
    assert_string_equal(json_string_value(json_object_get(cur, "doc")), "{\"a\":[2,1],\"b\":1}");
    json_decref(cur);
    json_decref(outputs);
}

static void test_observe_set(void **state)
{
    (void)state;
    json_t *outputs = json_pack("{s:[ss]}", "l", "b", "a"), *cur = json_object();
    iam_observe_set(cur, outputs, "l", json_pack("[ss]", "a", "b"));  /* same set: outputs' order */
    assert_true(json_equal(json_object_get(cur, "l"), json_object_get(outputs, "l")));
    iam_observe_set(cur, outputs, "l", json_pack("[sss]", "c", "a", "b"));  /* drift: sorted */
    json_t *want = json_pack("[sss]", "a", "b", "c");
    assert_true(json_equal(json_object_get(cur, "l"), want));
    json_decref(want);
    json_t *none = json_object(), *empty_cur = json_object();
    iam_observe_set(empty_cur, none, "l", json_array());  /* empty and not given: the default */
    assert_null(json_object_get(empty_cur, "l"));
    json_decref(none);
    json_decref(empty_cur);
    json_decref(cur);
    json_decref(outputs);
}

static int reports;
static char last_attr[64];
static void report(void *ctx, const char *attr, const char *msg)
{
    (void)ctx;
    (void)msg;
    reports++;
    snprintf(last_attr, sizeof(last_attr), "%s", attr);
}

static int check(const char *type, const char *json)
{
    const struct driver *d = driver_find(type);
    assert_non_null(d);
    assert_non_null(d->check);
    json_t *desired = json_loads(json, 0, NULL);
    assert_non_null(desired);
    struct call c = {.address = "x.y", .type = type};
    reports = 0;
    last_attr[0] = '\0';
    int n = d->check(&c, desired, report, NULL);
    json_decref(desired);
    assert_int_equal(n, reports);
    return n;
}

static void test_checks(void **state)
{
    (void)state;
    assert_int_equal(check("aws_iam_role", "{\"name\": \"r\", \"assume_role_policy\": \"{\\\"Version\\\": 1}\"}"), 0);
    assert_int_equal(check("aws_iam_role", "{\"name\": \"r\", \"assume_role_policy\": \"{\\\"Version\\\": \"}"), 1);
    assert_string_equal(last_attr, "assume_role_policy");
    assert_int_equal(check("aws_iam_role", "{\"assume_role_policy\": \"${aws_iam_policy.x.arn}\"}"), 0);
    assert_int_equal(check("aws_iam_policy", "{\"document\": \"[1]\"}"), 1);  /* not an object */
    assert_int_equal(check("aws_cloudwatch_log_group", "{\"retention_days\": 90}"), 0);
    assert_int_equal(check("aws_cloudwatch_log_group", "{\"retention_days\": 42}"), 1);
    assert_int_equal(check("aws_kms_key", "{\"deletion_window_days\": 6}"), 1);
    assert_int_equal(check("aws_kms_key", "{\"deletion_window_days\": 30}"), 0);
    assert_int_equal(check("aws_kms_alias", "{\"name\": \"secrets\"}"), 1);
    assert_int_equal(check("aws_kms_alias", "{\"name\": \"alias/aws/ebs\"}"), 1);
    assert_int_equal(check("aws_kms_alias", "{\"name\": \"alias/mesh-c1-secrets\"}"), 0);
    assert_int_equal(check("aws_iam_openid_connect_provider", "{\"url\": \"http://x\"}"), 1);
    assert_int_equal(check("aws_iam_openid_connect_provider", "{\"url\": \"https://oidc.eks.x/id/1\"}"), 0);
}

static void test_key_id_of(void **state)
{
    (void)state;
    assert_string_equal(kms_key_id_of("arn:aws:kms:us-west-2:123456789012:key/1234-ab"), "1234-ab");
    assert_string_equal(kms_key_id_of("1234-ab"), "1234-ab");
}

/* ---- drivers against a scripted IAM endpoint ---- */

#include "aws_fixture.h"

#define IAM_ERR(code) "<ErrorResponse><Error><Type>Sender</Type><Code>" code "</Code><Message>m</Message></Error>" \
    "<RequestId>r1</RequestId></ErrorResponse>"
#define CREATE_ROLE_OK "<CreateRoleResponse><CreateRoleResult><Role><RoleName>r</RoleName><RoleId>AROA1</RoleId>" \
    "<Arn>arn:aws:iam::1:role/r</Arn></Role></CreateRoleResult></CreateRoleResponse>"
#define EMPTY_OK(a) "<" a "Response><" a "Result><IsTruncated>false</IsTruncated></" a "Result></" a "Response>"

static void fixture_start(struct fixture *f, const struct reply *script, int n)
{
    aws_fixture_start(f, script, n, "AWS_ENDPOINT_URL_IAM", "aws_iam_role.r");
}

static json_t *role_desired(void)
{
    return json_pack("{s:s, s:s, s:[s]}", "name", "r", "assume_role_policy", "{\"Version\": \"2012-10-17\"}",
                     "managed_policy_arns", "arn:aws:iam::aws:policy/P");
}

/* AttachRolePolicy right after CreateRole: IAM may not know the role yet (NoSuchEntity): retried. */
static void test_role_attach_retries_new_role(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {200, NULL, CREATE_ROLE_OK}, {404, NULL, IAM_ERR("NoSuchEntity")}, {404, NULL, IAM_ERR("NoSuchEntity")},
        {200, NULL, EMPTY_OK("AttachRolePolicy")}};
    struct fixture f;
    fixture_start(&f, script, 4);
    json_t *desired = role_desired(), *out = NULL;
    assert_int_equal(driver_find("aws_iam_role")->create(&f.call, desired, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "id")), "AROA1");
    assert_string_equal(json_string_value(json_object_get(out, "arn")), "arn:aws:iam::1:role/r");
    assert_int_equal(f.srv.served, 4);
    assert_non_null(strstr(f.srv.last_request, "Action=AttachRolePolicy"));
    assert_int_equal(http_retries_count(&f.h.retries), 2);
    json_decref(out);
    json_decref(desired);
    fixture_stop(&f);
}

/* An attach that fails for good: the new role is removed before create returns the error. */
static void test_role_create_cleans_up(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {200, NULL, CREATE_ROLE_OK}, {400, NULL, IAM_ERR("InvalidInput")},
        {200, NULL, EMPTY_OK("ListAttachedRolePolicies")}, {200, NULL, EMPTY_OK("ListRolePolicies")},
        {200, NULL, EMPTY_OK("ListInstanceProfilesForRole")}, {200, NULL, EMPTY_OK("DeleteRole")}};
    struct fixture f;
    fixture_start(&f, script, 6);
    json_t *desired = role_desired(), *out = NULL;
    assert_int_equal(driver_find("aws_iam_role")->create(&f.call, desired, &out), MESH_EINVAL);
    assert_null(out);
    assert_string_equal(f.err.cause, "InvalidInput");
    assert_non_null(strstr(f.err.msg, "AttachRolePolicy"));
    assert_int_equal(f.srv.served, 6);
    assert_non_null(strstr(f.srv.last_request, "Action=DeleteRole"));
    json_decref(desired);
    fixture_stop(&f);
}

/* delete: a role of that name with another RoleId is another incarnation: ours is gone. */
static void test_role_delete_other_incarnation(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {200, NULL, "<GetRoleResponse><GetRoleResult><Role><RoleName>r</RoleName><RoleId>AROA2</RoleId>"
                    "</Role></GetRoleResult></GetRoleResponse>"}};
    struct fixture f;
    fixture_start(&f, script, 1);
    json_t *outputs = json_pack("{s:s, s:s}", "id", "AROA1", "name", "r");
    assert_int_equal(driver_find("aws_iam_role")->delete(&f.call, outputs), 0);
    json_t *cur = NULL;
    assert_int_equal(f.srv.served, 1);  /* no DeleteRole */
    json_decref(cur);
    json_decref(outputs);
    fixture_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_decode),  cmocka_unit_test(test_canonical), cmocka_unit_test(test_observe_doc),
        cmocka_unit_test(test_observe_set), cmocka_unit_test(test_checks),    cmocka_unit_test(test_key_id_of),
        cmocka_unit_test(test_role_attach_retries_new_role), cmocka_unit_test(test_role_create_cleans_up),
        cmocka_unit_test(test_role_delete_other_incarnation),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
