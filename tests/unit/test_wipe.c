/* test_wipe.c: memory that held a secret is zero when it goes back to malloc: jansson values
 * (with wipe_install_json), a strbuf's old buffer when it grows and its buffer when released,
 * and a secret spliced into a string by ref_resolve. A free hook looks at every block as it is
 * freed and records whether the canary was still in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/strbuf.h"
#include "base/wipe.h"
#include "spec/ref.h"

#define CANARY "canary-5f3a9c0e7d21b846"

static int freed, leaked;

static void hook(void *p, size_t n)
{
    freed++;
    if (memmem(p, n, CANARY, strlen(CANARY))) leaked++;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char *)p)[i]) leaked++, i = n;
    free(p);
}

static int setup(void **state)
{
    (void)state;
    freed = leaked = 0;
    wipe_set_free_hook(hook);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wipe_set_free_hook(NULL);
    return 0;
}

static void test_json_values_are_wiped(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s, s:[s]}", "password", CANARY, "list", CANARY);
    json_t *parsed = json_loads("{\"k\": \"" CANARY "\"}", 0, NULL);
    assert_non_null(parsed);
    json_decref(o);
    json_decref(parsed);
    assert_true(freed >= 4);
    assert_int_equal(leaked, 0);
}

static void test_strbuf_growth_and_release_are_wiped(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, CANARY);
    for (int i = 0; i < 200; i++) strbuf_adds(&sb, "padding so the buffer grows several times ");
    int grew = freed;
    assert_true(grew >= 3);                     /* 64 -> 128 -> ... each old buffer freed */
    assert_int_equal(leaked, 0);
    assert_non_null(strstr(sb.buf, CANARY));    /* the copy moved, intact */
    strbuf_release(&sb);
    assert_int_equal(freed, grew + 1);
    assert_int_equal(leaked, 0);
}

static const json_t *lookup(void *ctx, const char *address, const char *output)
{
    (void)address, (void)output;
    return ctx;
}

static void test_spliced_secret_is_wiped(void **state)
{
    (void)state;
    json_t *secret = json_pack("{s:s}", "pw", CANARY);
    json_t *attr = json_string("prefix ${null_resource.a.output} suffix");
    int unknown = 0;
    json_t *out = ref_resolve(attr, lookup, secret, &unknown);
    assert_non_null(strstr(json_string_value(out), CANARY));
    json_decref(out);
    json_decref(attr);
    json_decref(secret);
    assert_true(freed >= 3);  /* the string, the object, the buffer the text was spliced in */
    assert_int_equal(leaked, 0);
}

int main(void)
{
    wipe_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_values_are_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strbuf_growth_and_release_are_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spliced_secret_is_wiped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
