/* test_escape.c: str_escape_ctl, what every diagnostic and plan value goes through before it
 * reaches a terminal: controls, DEL, C1, bidi overrides and invalid UTF-8 become visible escapes;
 * printable text (ASCII and UTF-8) and backslashes are copied unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/escape.h"

static void check(const char *in, size_t n, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    str_escape_ctl(&sb, in, n);
    assert_string_equal(strbuf_str(&sb), want);
    assert_int_equal(sb.len, strlen(want));
    assert_int_equal(str_is_printable(in, n), strcmp(in, want) == 0 && strlen(in) == n);
    strbuf_release(&sb);
}

#define CHECK(in, want) check((in), sizeof(in) - 1, (want))

static void test_printable_unchanged(void **state)
{
    (void)state;
    CHECK("", "");
    CHECK("plain text, punctuation !@#$%^&*() and a \\ backslash", "plain text, punctuation !@#$%^&*() and a \\ backslash");
    CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");  /* é € 😀 */
}

static void test_terminal_sequences(void **state)
{
    (void)state;
    CHECK("\x1b]0;PWNED\x07\x1b[2J", "\\x1b]0;PWNED\\x07\\x1b[2J");
    CHECK("a\nb\tc\rd\x7f", "a\\nb\\tc\\x0dd\\x7f");
    check("nul\0after", 9, "nul\\x00after");
}

static void test_c1_and_bidi(void **state)
{
    (void)state;
    CHECK("x\xc2\x9b" "2Jy", "x\\u009b2Jy");          /* U+009B, the 8-bit CSI */
    CHECK("\xe2\x80\xae" "evil", "\\u202eevil");       /* RIGHT-TO-LEFT OVERRIDE */
    CHECK("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069");
    CHECK("\xc2\xa0", "\xc2\xa0");                     /* NO-BREAK SPACE prints */
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    CHECK("\xff\xfe", "\\xff\\xfe");
    CHECK("\xc3(", "\\xc3(");                           /* a truncated sequence */
    CHECK("\xc0\xaf", "\\xc0\\xaf");                    /* overlong "/" */
    CHECK("\xed\xa0\x80", "\\xed\\xa0\\x80");           /* a surrogate */
    CHECK("ok\xe2\x82", "ok\\xe2\\x82");               /* cut off at the end */
}

static void test_appends(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "key `");
    str_escape_ctl(&sb, "a\x1b", 2);
    strbuf_adds(&sb, "`");
    assert_string_equal(sb.buf, "key `a\\x1b`");
    strbuf_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable_unchanged), cmocka_unit_test(test_terminal_sequences),
        cmocka_unit_test(test_c1_and_bidi), cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
