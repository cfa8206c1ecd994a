/* test_vars.c: variables and outputs in the spec loader — type coercion of --var text, precedence
 * (default < --var-file < MESH_VAR_ < --var), typed whole-string substitution vs spliced text,
 * escaping (a value never becomes a reference), reference positions after substitution, sensitive
 * marking, errors naming their source, and outputs' forms and checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/wipe.h"
#include "spec/spec.h"

static struct spec *load_with(const char *text, const char **vars, size_t nvars, const char **files, size_t nfiles,
                              struct diag_list *dl)
{
    struct spec *s = NULL;
    diag_list_init(dl);
    struct spec_vars_in in = {vars, nvars, files, nfiles, 0};
    int rc = spec_load_buffer_opts("t.yaml", text, strlen(text), &in, &s, dl);
    assert_int_equal(rc, s ? 0 : -1);
    return s;
}

static const json_t *attr(const struct spec *s, const char *addr, const char *name, const char *key)
{
    const struct spec_resource *r = spec_find(s, addr);
    assert_non_null(r);
    const json_t *a = json_object_get(r->attrs, name);
    return key ? json_object_get(a, key) : a;
}

static int has_diag(const struct diag_list *dl, const char *file, int line, int col, const char *want)
{
    for (size_t i = 0; i < dl->items.len; i++) {
        const struct diag *d = dl->items.items[i];
        if (strstr(d->msg, want) && (!file || (d->file && strcmp(d->file, file) == 0)) && (line < 0 || d->line == line) &&
            (col < 0 || d->col == col))
            return 1;
    }
    for (size_t i = 0; i < dl->items.len; i++) {
        const struct diag *d = dl->items.items[i];
        print_message("  have %s:%d:%d: %s\n", d->file ? d->file : "-", d->line, d->col, d->msg);
    }
    return 0;
}

static const char *spec_text =
    "vars:\n"
    "  size: {type: string, default: \"3\"}\n"
    "  count: {type: number, default: 2}\n"
    "  on: {type: bool, default: false}\n"
    "  zones: {type: list, default: [a]}\n"
    "  labels: {type: map, default: {k: v}}\n"
    "resources:\n"
    "  null_resource.a:\n"
    "    triggers: {size: \"${var.size}\", count: \"${var.count}\", on: \"${var.on}\", zones: \"${var.zones}\",\n"
    "               labels: \"${var.labels}\", text: \"n=${var.count} z=${var.zones}\"}\n";

static void test_defaults_typed(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load_with(spec_text, NULL, 0, NULL, 0, &dl);
    assert_non_null(s);
    assert_string_equal(json_string_value(attr(s, "null_resource.a", "triggers", "size")), "3");
    assert_int_equal(json_integer_value(attr(s, "null_resource.a", "triggers", "count")), 2);
    assert_true(json_is_false(attr(s, "null_resource.a", "triggers", "on")));
    assert_string_equal(json_string_value(json_array_get(attr(s, "null_resource.a", "triggers", "zones"), 0)), "a");
    assert_string_equal(json_string_value(json_object_get(attr(s, "null_resource.a", "triggers", "labels"), "k")), "v");
    assert_string_equal(json_string_value(attr(s, "null_resource.a", "triggers", "text")), "n=2 z=[\"a\"]");
    assert_string_equal(json_string_value(json_object_get(json_object_get(s->vars, "size"), "source")), "default");
    spec_free(s);
    diag_list_release(&dl);
}

static void test_var_coercion(void **state)
{
    (void)state;
    struct diag_list dl;
    const char *vars[] = {"size=07", "count=1.5", "on=true", "zones=[x, \"y\"]", "labels={\"a\": 1}"};
    struct spec *s = load_with(spec_text, vars, 5, NULL, 0, &dl);
    assert_non_null(s);
    assert_string_equal(json_string_value(attr(s, "null_resource.a", "triggers", "size")), "07");  /* a string stays text */
    assert_true(json_real_value(attr(s, "null_resource.a", "triggers", "count")) == 1.5);
    assert_true(json_is_true(attr(s, "null_resource.a", "triggers", "on")));
    assert_int_equal(json_array_size(attr(s, "null_resource.a", "triggers", "zones")), 2);
    assert_int_equal(json_integer_value(json_object_get(attr(s, "null_resource.a", "triggers", "labels"), "a")), 1);
    spec_free(s);
    diag_list_release(&dl);

    const char *bad[] = {"count=x", "on=yes", "zones={a: 1}", "labels=[", "nope=1", "size"};
    s = load_with(spec_text, bad, 6, NULL, 0, &dl);
    assert_null(s);
    assert_true(has_diag(&dl, "--var count=x", 0, 0, "variable `count` must be a number, not `x`"));
    assert_true(has_diag(&dl, "--var on=yes", 0, 0, "must be true or false"));
    assert_true(has_diag(&dl, "--var zones={a: 1}", 0, 0, "must be a list"));
    assert_true(has_diag(&dl, "--var labels=[", 0, 0, "must be a map"));
    assert_true(has_diag(&dl, "--var nope=1", 0, 0, "no variable `nope` is declared"));
    assert_true(has_diag(&dl, "--var size", 0, 0, "expected NAME=VALUE"));
    assert_int_equal(dl.errors, 6);
    diag_list_release(&dl);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/test_vars.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_precedence(void **state)
{
    (void)state;
    const char *text = "vars:\n  size: {default: d}\nresources:\n  null_resource.a:\n    triggers: {s: \"${var.size}\"}\n";
    char *f1 = write_tmp("size: f1\n"), *f2 = write_tmp("size: f2\n");
    const char *one[] = {f1}, *two[] = {f1, f2}, *flag[] = {"size=flag"};
    struct diag_list dl;
    struct {
        const char **files;
        size_t nfiles;
        const char *env;
        const char **vars;
        size_t nvars;
        const char *want;
    } cases[] = {
        {NULL, 0, NULL, NULL, 0, "d"},     {one, 1, NULL, NULL, 0, "f1"},   {two, 2, NULL, NULL, 0, "f2"},
        {two, 2, "env", NULL, 0, "env"},   {two, 2, "env", flag, 1, "flag"}, {NULL, 0, NULL, flag, 1, "flag"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].env) setenv("MESH_VAR_size", cases[i].env, 1);
        else unsetenv("MESH_VAR_size");
        struct spec *s = load_with(text, cases[i].vars, cases[i].nvars, cases[i].files, cases[i].nfiles, &dl);
        assert_non_null(s);
        if (strcmp(json_string_value(attr(s, "null_resource.a", "triggers", "s")), cases[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, json_string_value(attr(s, "null_resource.a", "triggers", "s")),
                     cases[i].want);
        spec_free(s);
        diag_list_release(&dl);
    }
    unsetenv("MESH_VAR_size");
    setenv("MESH_VAR_sise", "1", 1);  /* unknown in the environment: a warning, the spec still loads */
    struct spec *warned = load_with(text, NULL, 0, NULL, 0, &dl);
    assert_non_null(warned);
    assert_true(has_diag(&dl, "MESH_VAR_sise", 0, 0, "ignored: no variable `sise` is declared in the spec; did you mean `size`?"));
    assert_int_equal(dl.errors, 0);
    assert_int_equal(dl.warnings, 1);
    spec_free(warned);
    diag_list_release(&dl);
    unsetenv("MESH_VAR_sise");
    char *bad = write_tmp("size: [x]\nother: 1\n");
    const char *badf[] = {bad};
    assert_null(load_with(text, NULL, 0, badf, 1, &dl));
    assert_true(has_diag(&dl, bad, 1, 7, "variable `size` must be a string, not a list"));
    assert_true(has_diag(&dl, bad, 2, 1, "no variable `other`"));
    diag_list_release(&dl);
    unlink(f1), unlink(f2), unlink(bad);
    free(f1), free(f2), free(bad);
}

static void test_escaping_and_positions(void **state)
{
    (void)state;
    struct diag_list dl;
    const char *text = "vars:\n  v: {default: x}\nresources:\n  null_resource.a: {}\n  null_resource.b:\n"
                       "    triggers: {t: \"${var.v}-${null_resource.a.id} $${var.v}\", bad: \"${var.v}${null_resource.zz.id}\"}\n";
    const char *inject[] = {"v=${null_resource.a.id}"};
    struct spec *s = load_with(text, inject, 1, NULL, 0, &dl);
    assert_null(s);
    /* the reference after a variable is positioned at its own "${", not the variable's */
    assert_true(has_diag(&dl, "t.yaml", 6, 77, "unknown resource `null_resource.zz`"));
    assert_int_equal(dl.errors, 1);
    diag_list_release(&dl);
    text = "vars:\n  v: {default: x}\nresources:\n  null_resource.a: {}\n  null_resource.b:\n"
           "    triggers: {t: \"${var.v}\", u: \"<${var.v}>\", w: \"$${var.v}\"}\n";
    s = load_with(text, inject, 1, NULL, 0, &dl);
    assert_non_null(s);
    /* a value holding "${" stays text: escaped, and no edge from b to a */
    assert_string_equal(json_string_value(attr(s, "null_resource.b", "triggers", "t")), "$${null_resource.a.id}");
    assert_string_equal(json_string_value(attr(s, "null_resource.b", "triggers", "u")), "<$${null_resource.a.id}>");
    assert_string_equal(json_string_value(attr(s, "null_resource.b", "triggers", "w")), "$${var.v}");
    assert_int_equal(spec_find(s, "null_resource.b")->deps.len, 0);
    spec_free(s);
    diag_list_release(&dl);
}

static void test_sensitive_and_errors(void **state)
{
    (void)state;
    struct diag_list dl;
    const char *text = "vars:\n  pw: {type: string, sensitive: true}\n  n: {type: number}\n"
                       "resources:\n  null_resource.a:\n    triggers: {x: \"1\"}\n    input: \"pw=${var.pw}\"\n"
                       "outputs:\n  o: \"${var.pw}\"\n  p: \"${null_resource.a.id}\"\n  q: {value: \"${null_resource.a.id}\", sensitive: true}\n";
    const char *vars[] = {"pw=hunter2", "n=4"};
    struct spec *s = load_with(text, vars, 2, NULL, 0, &dl);
    assert_non_null(s);
    const struct spec_resource *r = spec_find(s, "null_resource.a");
    /* input holds the secret; output (which echoes input) is sensitive with it; id is not */
    assert_int_equal(json_array_size(r->sensitive), 2);
    assert_string_equal(json_string_value(json_array_get(r->sensitive, 0)), "input");
    assert_string_equal(json_string_value(json_array_get(r->sensitive, 1)), "output");
    assert_int_equal(s->outputs.len, 3);
    const struct spec_output *o = s->outputs.items[0], *p = s->outputs.items[1], *q = s->outputs.items[2];
    assert_true(o->sensitive);
    assert_false(p->sensitive);
    assert_true(q->sensitive);
    assert_int_equal(p->deps.len, 1);
    spec_free(s);
    diag_list_release(&dl);

    const char *bad[] = {"pw=hunter2-x", "n=hunter2"};
    s = load_with(text, bad, 1, NULL, 0, &dl);  /* n missing */
    assert_null(s);
    assert_true(has_diag(&dl, "t.yaml", 3, 3, "variable `n` is required"));
    diag_list_release(&dl);
    s = load_with("vars:\n  pw: {type: number, sensitive: true}\n", bad, 1, NULL, 0, &dl);
    assert_null(s);
    /* the secret is in no message and no label */
    assert_true(has_diag(&dl, "--var pw=(sensitive)", 0, 0, "variable `pw` must be a number"));
    for (size_t i = 0; i < dl.items.len; i++) {
        const struct diag *d = dl.items.items[i];
        assert_null(strstr(d->msg, "hunter2"));
        assert_null(d->file ? strstr(d->file, "hunter2") : NULL);
    }
    diag_list_release(&dl);
}

static void test_outputs_checked(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load_with("resources:\n  null_resource.a: {}\noutputs:\n  x: \"${null_resource.b.id}\"\n"
                               "  y: \"${null_resource.a.nope}\"\n  z: {sensitive: true}\n  w: \"${var.q}\"\n",
                               NULL, 0, NULL, 0, &dl);
    assert_null(s);
    assert_true(has_diag(&dl, "t.yaml", 4, 7, "output `x`: reference to unknown resource `null_resource.b`"));
    assert_true(has_diag(&dl, "t.yaml", 5, 7, "output `y`: null_resource has no output `nope`"));
    assert_true(has_diag(&dl, "t.yaml", 6, 3, "`outputs.z` is missing the required key `value`"));
    assert_true(has_diag(&dl, "t.yaml", 7, 7, "no variable `q` is declared"));
    assert_int_equal(dl.errors, 4);
    diag_list_release(&dl);
}

int main(void)
{
    wipe_install_json();  /* as main does: decrypted values are wiped when freed */
    unsetenv("MESH_VAR_size");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_typed),        cmocka_unit_test(test_var_coercion),
        cmocka_unit_test(test_precedence),            cmocka_unit_test(test_escaping_and_positions),
        cmocka_unit_test(test_sensitive_and_errors),  cmocka_unit_test(test_outputs_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
