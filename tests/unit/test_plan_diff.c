/* test_plan_diff.c: the key-by-key rendering of one value's change (engine/plan_diff.c), on the
 * cases the e2e golden plan (tests/e2e/plan_render.sh) does not reach: type changes, empty
 * collections, a map becoming unknown, deletes inside lists, a string that only gains a final
 * newline, a list too long for the element diff, escaping in compact values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/strbuf.h"
#include "plan_diff.h"
#include "spec/ref.h"

/* The rendering of "NAME = ..." at attribute level (indent 1), old and new given as JSON text
 * ("" for absent; "?" for the unknown marker). */
static char *render(const char *old, const char *new, enum pd_action a, const char *note)
{
    json_t *o = !*old ? NULL : !strcmp(old, "?") ? json_incref((json_t *)ref_unknown()) : json_loads(old, JSON_DECODE_ANY, NULL);
    json_t *n = !*new ? NULL : !strcmp(new, "?") ? json_incref((json_t *)ref_unknown()) : json_loads(new, JSON_DECODE_ANY, NULL);
    struct strbuf sb = STRBUF_INIT;
    plan_diff_value(&sb, 1, o, n, a, note);
    json_decref(o);
    json_decref(n);
    return strbuf_detach(&sb);
}

#define EXPECT(want, old, new, a, note)        \
    do {                                       \
        char *got = render(old, new, a, note); \
        assert_string_equal(got, want);        \
        free(got);                             \
    } while (0)

static void test_scalars(void **state)
{
    (void)state;
    EXPECT("\"a\" -> \"b\"", "\"a\"", "\"b\"", PD_UPDATE, NULL);
    EXPECT("null -> 3", "null", "3", PD_UPDATE, NULL);
    EXPECT("1 -> \"1\"  # note", "1", "\"1\"", PD_UPDATE, "  # note");
    EXPECT("\"x\" -> (known after apply)", "\"x\"", "?", PD_UPDATE, NULL);
    EXPECT("\"x\" -> null", "\"x\"", "", PD_DELETE, NULL);
    EXPECT("true", "", "true", PD_CREATE, NULL);
}

static void test_maps(void **state)
{
    (void)state;
    EXPECT("{}", "", "{}", PD_CREATE, NULL);
    EXPECT("{  # forces replacement\n"
           "          + \"a\" = 1\n"
           "        }",
           "{}", "{\"a\": 1}", PD_UPDATE, "  # forces replacement");
    /* A map that becomes unknown: what it was, then (known after apply). */
    EXPECT("{\n"
           "          - \"a\" = 1\n"
           "        } -> (known after apply)",
           "{\"a\": 1}", "?", PD_UPDATE, NULL);
    /* A map replaced by a string: removed whole, then the new value. */
    EXPECT("{\n"
           "          - \"a\" = 1\n"
           "        } -> \"s\"",
           "{\"a\": 1}", "\"s\"", PD_UPDATE, NULL);
    /* A deleted map ends with -> null once, not on each element. */
    EXPECT("{\n"
           "          - \"a\" = []\n"
           "        } -> null",
           "{\"a\": []}", "", PD_DELETE, NULL);
    /* Unknown inside a map: only that key changes. */
    EXPECT("{\n"
           "          ~ \"a\" = 1 -> (known after apply)\n"
           "            # (1 unchanged element hidden)\n"
           "        }",
           "{\"a\": 1, \"b\": 2}", "{\"a\": {\"$mesh_unknown\": true}, \"b\": 2}", PD_UPDATE, NULL);
}

static void test_lists(void **state)
{
    (void)state;
    EXPECT("[\n"
           "          - \"a\",\n"
           "            \"b\",\n"
           "            # (2 unchanged elements hidden)\n"
           "        ]",
           "[\"a\", \"b\", \"c\", \"d\"]", "[\"b\", \"c\", \"d\"]", PD_UPDATE, NULL);
    EXPECT("[\n"
           "            # (2 unchanged elements hidden)\n"
           "            3,\n"
           "          + 4,\n"
           "        ]",
           "[1, 2, 3]", "[1, 2, 3, 4]", PD_UPDATE, NULL);
    EXPECT("[]", "", "[]", PD_CREATE, NULL);
    /* Past the element-diff limit the differing middle is shown removed then added, still exact. */
    struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    strbuf_adds(&a, "[0");
    strbuf_adds(&b, "[0");
    for (int i = 1; i < 3000; i++) strbuf_addf(&a, ",%d", i), strbuf_addf(&b, ",%d", i + 100000);
    strbuf_adds(&a, ",-1]");
    strbuf_adds(&b, ",-1]");
    char *got = render(strbuf_str(&a), strbuf_str(&b), PD_UPDATE, NULL);
    assert_non_null(strstr(got, "          - 1,\n"));
    assert_non_null(strstr(got, "          + 100001,\n"));
    assert_non_null(strstr(got, "            0,\n"));
    assert_non_null(strstr(got, "            -1,\n"));
    free(got);
    strbuf_release(&a);
    strbuf_release(&b);
}

static void test_strings(void **state)
{
    (void)state;
    EXPECT("<<-EOT\n"
           "            a\n"
           "          - b\n"
           "          + c\n"
           "        EOT",
           "\"a\\nb\\n\"", "\"a\\nc\\n\"", PD_UPDATE, NULL);
    /* Only a final newline differs: a block cannot show it, so both values are shown. */
    EXPECT("\"a\" -> <<-EOT\n"
           "            a\n"
           "        EOT",
           "\"a\"", "\"a\\n\"", PD_UPDATE, NULL);
    /* Control bytes in a block line are escaped. */
    EXPECT("<<-EOT\n"
           "            \\x1b[2J\n"
           "            x\n"
           "        EOT",
           "", "\"\\u001b[2J\\nx\"", PD_CREATE, NULL);
}

static void test_compact(void **state)
{
    (void)state;
    json_t *v = json_loads("{\"b\": [1, \"q\\\"\\\\\"], \"a\": \"\\u0007\\u007f\\u009b\\t\"}", 0, NULL);
    json_object_set(v, "u", (json_t *)ref_unknown());
    struct strbuf sb = STRBUF_INIT;
    plan_diff_compact(&sb, v);
    assert_string_equal(strbuf_str(&sb), "{\"a\":\"\\x07\\x7f\\u009b\\t\",\"b\":[1,\"q\\\"\\\\\"],\"u\":(known after apply)}");
    strbuf_release(&sb);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars), cmocka_unit_test(test_maps),    cmocka_unit_test(test_lists),
        cmocka_unit_test(test_strings), cmocka_unit_test(test_compact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
