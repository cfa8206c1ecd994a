/* test_ini.c: the AWS shared-file INI reader: sections, comments, blanks, CRLF, duplicates
 * (last wins), sub-sections, "[profile  x]" spacing, errors with line numbers, missing files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "aws/ini.h"

static const char sample[] =
    "# comment\n"
    "; another\n"
    "[default]\n"
    "aws_access_key_id = AKIDEFAULT\n"
    "aws_secret_access_key=secret/with=equals\n"
    "\n"
    "[profile   dev]\r\n"
    "region = eu-west-1\r\n"
    "role_arn = arn:aws:iam::123456789012:role/dev\r\n"
    "region = eu-central-1\r\n"
    "s3 =\n"
    "    max_concurrent_requests = 10\n"
    "  addressing_style = path\n"
    "output = json\n";

static void test_parse(void **state)
{
    struct ini *ini = NULL;
    assert_int_equal(ini_parse(sample, strlen(sample), "cfg", &ini, NULL), 0);
    assert_string_equal(ini_get(ini, "default", "aws_access_key_id"), "AKIDEFAULT");
    assert_string_equal(ini_get(ini, "default", "aws_secret_access_key"), "secret/with=equals");
    assert_true(ini_has_section(ini, "profile dev"));
    assert_string_equal(ini_get(ini, "profile dev", "region"), "eu-central-1");  /* last wins */
    assert_string_equal(ini_get(ini, "profile dev", "s3.max_concurrent_requests"), "10");
    assert_string_equal(ini_get(ini, "profile dev", "s3.addressing_style"), "path");
    assert_string_equal(ini_get(ini, "profile dev", "output"), "json");  /* sub-section ended */
    assert_null(ini_get(ini, "profile dev", "max_concurrent_requests"));
    assert_null(ini_get(ini, "default", "region"));
    assert_null(ini_get(ini, "nope", "region"));
    assert_false(ini_has_section(ini, "nope"));
    ini_free(ini);
}

static void test_errors(void **state)
{
    struct ini *ini = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    const char *bad = "[default]\nregion = x\nthis line is wrong\n";
    assert_int_equal(ini_parse(bad, strlen(bad), "cfg", &ini, &err), MESH_EINVAL);
    assert_string_equal(err.msg, "cfg:3: expected '[section]' or 'key = value'");
    mesh_err_init(&err);
    const char *orphan = "region = x\n";
    assert_int_equal(ini_parse(orphan, strlen(orphan), "cfg", &ini, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "cfg:1:"));
    mesh_err_init(&err);
    const char *open = "[default\n";
    assert_int_equal(ini_parse(open, strlen(open), "cfg", &ini, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "without ']'"));
}

static void test_load_missing(void **state)
{
    struct ini *ini = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(ini_load("/nonexistent/dir/credentials", &ini, &err), MESH_ENOTFOUND);
    assert_false(mesh_err_isset(&err));
    assert_null(ini_get(NULL, "default", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_load_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
