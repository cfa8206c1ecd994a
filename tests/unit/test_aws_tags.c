/* test_aws_tags.c: providers/aws/tags.c's aws_tags_diff, the one tag diff every AWS driver's
 * update uses (EC2, IAM, KMS, Logs): changed and new user tags are set as text, user tags gone
 * from the spec are dropped, mesh:* keys are never set nor dropped, NULL want drops every user tag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>

#include "aws/tags.h"

static void test_diff(void **state)
{
    (void)state;
    json_t *have = json_pack("{s:s, s:s, s:s, s:s}", "keep", "1", "change", "old", "gone", "x", "mesh:run", "r0");
    json_t *want = json_pack("{s:i, s:s, s:b, s:s}", "keep", 1, "change", "new", "added", 1, "mesh:run", "r1");
    json_t *set, *drop;
    aws_tags_diff(have, want, &set, &drop);
    json_t *set_want = json_pack("{s:s, s:s}", "change", "new", "added", "true");
    json_t *drop_want = json_pack("[s]", "gone");
    assert_true(json_equal(set, set_want));
    assert_true(json_equal(drop, drop_want));
    json_decref(set);
    json_decref(drop);
    json_decref(set_want);
    json_decref(drop_want);
    json_decref(want);
    json_decref(have);
}

static void test_diff_no_want(void **state)
{
    (void)state;
    json_t *have = json_pack("{s:s, s:s}", "team", "a", "mesh:address", "aws_vpc.main");
    json_t *set, *drop;
    aws_tags_diff(have, NULL, &set, &drop);
    assert_int_equal(json_object_size(set), 0);
    assert_int_equal(json_array_size(drop), 1);
    assert_string_equal(json_string_value(json_array_get(drop, 0)), "team");
    json_decref(set);
    json_decref(drop);
    json_decref(have);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_diff_no_want),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
