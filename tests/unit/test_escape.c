/* test_escape.c: str_escape_ctl, what every diagnostic and plan value goes through before it
 * reaches a terminal: controls, DEL, C1, bidi overrides and invalid UTF-8 become visible escapes;
 * printable text (ASCII and UTF-8) and backslashes are copied unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/diag.h"
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

/* What diag_print writes: the message, the file name and the quoted line escaped, the caret under
 * the column counted in the escaped form, the source found under its escaped name. */
static void test_diag_print_escapes(void **state)
{
    (void)state;
    static const char text[] = "a:\n  k\x1b]0;X\x07: \"\x1b[2J\tv\"\n";
    struct diag_list dl;
    diag_list_init(&dl);
    diag_add_source(&dl, "s\x1b.yaml", text, sizeof(text) - 1);
    diag_error(&dl, "s\x1b.yaml", 2, 12, "bad value `%s` for `%s`", "\x1b[2J\tv", "k\x1b]0;X\x07");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    diag_print(&dl, f, 0);
    fclose(f);
    assert_string_equal(out, "s\\x1b.yaml:2:12: error: bad value `\\x1b[2J\\tv` for `k\\x1b]0;X\\x07`\n"
                             "    k\\x1b]0;X\\x07: \"\\x1b[2J\\tv\"\n"
                             "  " "                 ^\n");  /* under the quote: 17 escaped columns in */
    free(out);
    diag_list_release(&dl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printable_unchanged), cmocka_unit_test(test_terminal_sequences),
        cmocka_unit_test(test_c1_and_bidi), cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_appends),
        cmocka_unit_test(test_diag_print_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
