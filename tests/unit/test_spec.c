/* test_spec.c: the spec loader — node positions, reference positions, compile to resources and
 * deps, the YAML 1.2 core schema, limits (size, depth, aliases), and that every error is
 * collected rather than the first one only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/strbuf.h"
#include "base/suggest.h"
#include "spec/spec.h"
#include "spec/spec_int.h"
#include "spec_load.h"

/* The n-th diagnostic (in insertion order) must be at line:col and contain want. */
static void assert_diag(struct diag_list *dl, size_t n, int line, int col, const char *want)
{
    assert_true(n < dl->items.len);
    const struct diag *d = dl->items.items[n];
    if (!strstr(d->msg, want)) fail_msg("diagnostic %zu is \"%s\", wanted \"%s\"", n, d->msg, want);
    assert_int_equal(d->line, line);
    assert_int_equal(d->col, col);
}

static const struct spec_dep *dep(const struct spec *s, const char *addr, size_t k)
{
    const struct spec_resource *r = spec_find(s, addr);
    assert_non_null(r);
    assert_true(k < r->deps.len);
    return r->deps.items[k];
}

static void assert_dep(const struct spec_dep *d, const char *addr, const char *out, int line, int col)
{
    assert_string_equal(d->address, addr);
    if (out) assert_string_equal(d->output, out);
    else assert_null(d->output);
    assert_int_equal(d->line, line);
    assert_int_equal(d->col, col);
}

static void test_node_positions(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load("resources:\n  null_resource.a:\n    triggers: {x: \"1\"}\n  null_resource.b: {}\n", &dl);
    assert_non_null(s);
    const struct node *res = node_get(s->root, "resources");
    assert_int_equal(res->kind, NODE_MAP);
    assert_int_equal(res->pairs[0].key->line, 2);
    assert_int_equal(res->pairs[0].key->col, 3);
    const struct node *trig = node_get(res->pairs[0].value, "triggers");
    assert_int_equal(trig->line, 3);
    assert_int_equal(trig->col, 15);
    assert_int_equal(trig->pairs[0].value->col, 19);
    assert_true(trig->pairs[0].value->quoted);
    const struct spec_resource *b = spec_find(s, "null_resource.b");
    assert_int_equal(b->line, 4);
    assert_int_equal(b->col, 3);
    assert_null(spec_find(s, "null_resource.c"));
    spec_free(s);
    diag_list_release(&dl);
}

static void test_ref_positions(void **state)
{
    (void)state;
    struct diag_list dl;
    const char *text =
        "resources:\n"
        "  null_resource.a: {}\n"
        "  null_resource.b:\n"
        "    triggers:\n"
        "      plain: pre-${null_resource.a.id}-$${x}-${null_resource.a.output}\n"   /* 5 */
        "      dq: \"\\t ${null_resource.a.id}\"\n"                                     /* 6 */
        "      sq: 'it''s ${null_resource.a.id}'\n"                                    /* 7 */
        "      multi: \"line one\n"                                                     /* 8 */
        "        ${null_resource.a.id}\"\n"
        "      flow: {x: [\"${null_resource.a.id}\"]}\n"                                /* 10 */
        "      uni: \"é ${null_resource.a.id}\"\n"                                      /* 11 */
        "    depends_on:\n"
        "      - null_resource.a\n";                                                    /* 13 */
    struct spec *s = load(text, &dl);
    assert_non_null(s);
    assert_dep(dep(s, "null_resource.b", 0), "null_resource.a", "id", 5, 18);
    assert_dep(dep(s, "null_resource.b", 1), "null_resource.a", "output", 5, 46);
    assert_dep(dep(s, "null_resource.b", 2), "null_resource.a", "id", 6, 15);
    assert_dep(dep(s, "null_resource.b", 3), "null_resource.a", "id", 7, 18);
    assert_dep(dep(s, "null_resource.b", 4), "null_resource.a", "id", 8, 14);  /* multi-line: its start */
    assert_dep(dep(s, "null_resource.b", 5), "null_resource.a", "id", 10, 19);
    assert_dep(dep(s, "null_resource.b", 6), "null_resource.a", "id", 11, 15);  /* columns count characters */
    assert_dep(dep(s, "null_resource.b", 7), "null_resource.a", NULL, 13, 9);
    assert_int_equal(spec_find(s, "null_resource.b")->deps.len, 8);
    spec_free(s);
    diag_list_release(&dl);
}

static void test_compile_resources(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load("mesh: {name: demo, region: us-west-2}\n"
                          "resources:\n"
                          "  null_resource.a:\n"
                          "    triggers: {size: \"3\", n: 3, on: true, none: ~, f: 1.5, hex: 0x10, word: yes}\n"
                          "  null_resource.b:\n"
                          "    input: ${null_resource.a.id}\n"
                          "    depends_on: [null_resource.a]\n"
                          "  null_resource.c:\n",
                          &dl);
    assert_non_null(s);
    assert_int_equal(dl.errors, 0);
    assert_int_equal(s->resources.len, 3);
    const struct spec_resource *a = s->resources.items[0], *b = s->resources.items[1], *c = s->resources.items[2];
    assert_string_equal(a->address, "null_resource.a");
    assert_string_equal(a->type, "null_resource");
    assert_non_null(a->driver);
    assert_string_equal(a->origin, "resources");
    json_error_t jerr;
    json_t *want = json_loads("{\"triggers\": {\"size\": \"3\", \"n\": 3, \"on\": true, \"none\": null, \"f\": 1.5,"
                              " \"hex\": 16, \"word\": \"yes\"}}", 0, &jerr);
    assert_true(json_equal(a->attrs, want));
    json_decref(want);
    /* depends_on is an edge, not an attribute */
    assert_null(json_object_get(b->attrs, "depends_on"));
    assert_string_equal(json_string_value(json_object_get(b->attrs, "input")), "${null_resource.a.id}");
    assert_int_equal(b->deps.len, 2);
    assert_int_equal(json_object_size(c->attrs), 0);
    assert_int_equal(c->deps.len, 0);
    assert_string_equal(json_string_value(json_object_get(s->mesh, "region")), "us-west-2");
    assert_string_equal(s->dir, ".");
    spec_free(s);
    diag_list_release(&dl);
}

static void test_errors_collected(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load("mesh:\n"
                          "  regoin: x\n"                                      /* unknown key; missing name */
                          "resources:\n"
                          "  null_resource.a:\n"
                          "    trigers: {}\n"                                  /* did you mean */
                          "    id: x\n"                                        /* computed */
                          "  null_resource.b:\n"
                          "    triggers: {x: \"${null_resource.zz.id} ${null_resource.a.idd}\"}\n"
                          "    depends_on: [null_resource.b]\n"                /* self */
                          "  nul_resource.c: {}\n"                             /* unknown type */
                          "  null_resource.a: {}\n",                           /* duplicate */
                          &dl);
    assert_null(s);
    assert_int_equal(dl.errors, 9);
    diag_sort(&dl);
    assert_diag(&dl, 0, 1, 1, "missing the required key `name`");
    assert_diag(&dl, 1, 2, 3, "unknown key `regoin` in `mesh`; did you mean `region`?");
    assert_diag(&dl, 2, 5, 5, "did you mean `triggers`?");
    assert_diag(&dl, 3, 6, 5, "`id` is computed");
    assert_diag(&dl, 4, 8, 20, "unknown resource `null_resource.zz`");
    assert_diag(&dl, 5, 8, 43, "null_resource has no output `idd`; did you mean `id`?");
    assert_diag(&dl, 6, 9, 18, "depends on itself");
    assert_diag(&dl, 7, 10, 3, "did you mean `null_resource`?");
    assert_diag(&dl, 8, 11, 3, "duplicate resource address `null_resource.a` (first declared at 4:3)");
    diag_list_release(&dl);
}

static void test_unknown_type_lists_known(void **state)
{
    (void)state;
    struct diag_list dl;
    assert_null(load("resources:\n  zzzzzz.a: {}\n", &dl));
    assert_diag(&dl, 0, 2, 3, "unknown resource type `zzzzzz` (known types: null_resource");
    diag_list_release(&dl);
}

static void test_limits(void **state)
{
    (void)state;
    struct diag_list dl;
    assert_null(load("", &dl));
    assert_diag(&dl, 0, 0, 0, "spec is empty");
    diag_list_release(&dl);

    assert_null(load("a: &x [1, 2]\nb: *x\n", &dl));
    assert_diag(&dl, 0, 2, 4, "YAML aliases are not supported (`*x`)");
    diag_list_release(&dl);

    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "resources:\n  null_resource.a:\n    input: ");
    for (int i = 0; i < 80; i++) strbuf_addch(&sb, '[');
    for (int i = 0; i < 80; i++) strbuf_addch(&sb, ']');
    assert_null(load(sb.buf, &dl));
    assert_diag(&dl, 0, 3, 73, "nested deeper than 64 levels");
    diag_list_release(&dl);
    strbuf_release(&sb);

    size_t big = (8u << 20) + 1;
    char *huge = malloc(big + 1);
    memset(huge, '#', big);
    huge[big] = '\0';
    struct spec *s = NULL;
    diag_list_init(&dl);
    assert_int_equal(spec_load_buffer("big.yaml", huge, big, &s, &dl), -1);
    assert_diag(&dl, 0, 0, 0, "the limit is 8 MiB");
    diag_list_release(&dl);
    free(huge);

    assert_null(load("resources:\n  null_resource.a: {triggers: {x: \"\xc3\x28\"}}\n", &dl));
    assert_diag(&dl, 0, 2, 36, "invalid UTF-8 (byte 0xc3)");
    diag_list_release(&dl);

    assert_null(load("resources:\n\tnull_resource.a: {}\n", &dl));
    assert_diag(&dl, 0, 2, 1, "tab character in indentation");
    diag_list_release(&dl);
}

/* A billion-laughs file must fail at its first alias: fast, whatever it would expand to. */
static void test_alias_bomb_fast(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (char c = 'b'; c <= 'z'; c++) {
        strbuf_addf(&sb, "%c: &%c [", c, c);
        for (int i = 0; i < 10; i++) strbuf_addf(&sb, "%s*%c", i ? ", " : "", c - 1);
        strbuf_adds(&sb, "]\n");
    }
    clock_t t0 = clock();
    struct diag_list dl;
    assert_null(load(sb.buf, &dl));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 1.0);
    assert_int_equal(dl.errors, 1);
    diag_list_release(&dl);
    strbuf_release(&sb);
}

static void test_malformed_refs(void **state)
{
    (void)state;
    struct diag_list dl;
    assert_null(load("resources:\n"
                     "  null_resource.a: {}\n"
                     "  null_resource.b:\n"
                     "    input: \"ok ${null_resource.a.id} then ${null_resource.a\"\n",
                     &dl));
    assert_int_equal(dl.errors, 1);
    assert_diag(&dl, 0, 4, 43, "unterminated reference");
    diag_list_release(&dl);
}

static void test_high_level_sections(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load("mesh: {name: m}\n"
                          "network: {cidr: 10.6.0.0/16, private_subnets: [10.6.0.0/20]}\n"
                          "clusters: {c1: {ip_family: ipv6, version: 1.30}}\n"
                          "pki: {root: {algorithm: ecdsa-p256}}\n"
                          "istio: {version: 1.24.2}\n",
                          &dl);
    assert_non_null(s);
    /* pki: root key + CA, c1 key + intermediate (4); network: from compile_network.c; clusters:
     * c1's EKS parts from compile_clusters.c (test_compile_clusters.c checks them); istio: the
     * namespace, cacerts, base, istiod, the gateway and the reader token of c1, no remote secret
     * with one cluster (test_compile_istio.c checks them) */
    size_t pki = 0, net = 0, cl = 0, istio = 0;
    for (size_t i = 0; i < s->resources.len; i++) {
        const struct spec_resource *r = s->resources.items[i];
        if (strcmp(r->origin, "pki") == 0) pki++;
        else if (strcmp(r->origin, "network") == 0) net++;
        else if (strcmp(r->origin, "clusters") == 0) cl++;
        else if (strcmp(r->origin, "istio") == 0) istio++;
    }
    assert_int_equal(pki, 4);
    assert_true(net > 0);
    assert_true(cl > 0);
    assert_int_equal(istio, 6);
    assert_int_equal(pki + net + cl + istio, s->resources.len);
    assert_non_null(spec_find(s, "aws_vpc.main"));
    assert_non_null(spec_find(s, "aws_eks_cluster.c1"));
    const struct node *v = node_get(node_get(node_get(s->root, "clusters"), "c1"), "version");
    assert_string_equal(v->scalar, "1.30");  /* the text, not a float */
    spec_free(s);
    diag_list_release(&dl);

    assert_null(load("network: {cidr: 10.6.0.0/33, nat: sometimes}\nclusters: {c1: {ip_family: ipv5}}\n", &dl));
    assert_int_equal(dl.errors, 3);
    diag_list_release(&dl);
}

static void test_suggest(void **state)
{
    (void)state;
    const char *words[] = {"triggers", "sensitive_triggers", "input", "depends_on", NULL};
    assert_string_equal(suggest_word("trigers", words), "triggers");
    assert_string_equal(suggest_word("dependson", words), "depends_on");
    assert_null(suggest_word("colour", words));
    assert_int_equal(suggest_distance("kitten", "sitting"), 3);
    const char *fam[] = {"ipv4", "ipv6", NULL};
    assert_string_equal(suggest_word("IPv6", fam), "ipv6");
}

/* The benchmark's shape: N null_resources, each referring to its parent. Returns the CPU seconds
 * the load took. */
static double load_tree(int n, struct spec **out, struct diag_list *dl, struct strbuf *sb)
{
    strbuf_adds(sb, "resources:\n  null_resource.r0: {}\n");
    for (int i = 1; i < n; i++)
        strbuf_addf(sb, "  null_resource.r%d: {triggers: {parent: \"${null_resource.r%d.id}\"}}\n", i, (i - 1) / 4);
    clock_t t0 = clock();
    *out = load(sb->buf, dl);
    return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* 10,000 resources load, and in linear time: 4x the resources may cost at most 8x the CPU of
 * 2,500 (quadratic would be 16x). A ratio, not a bound in seconds, so that valgrind and the
 * sanitizers, which slow both alike, do not fail it; speed itself is tests/bench's. */
static void test_10k_resources(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT, small = STRBUF_INIT;
    struct diag_list dl, dl_small;
    struct spec *s, *s_small;
    double t_small = load_tree(2500, &s_small, &dl_small, &small);
    double t = load_tree(10000, &s, &dl, &sb);
    assert_non_null(s_small);
    assert_non_null(s);
    assert_int_equal(s->resources.len, 10000);
    assert_dep(dep(s, "null_resource.r9999", 0), "null_resource.r2499", "id", 10001, 45);
    assert_true(t < 8 * t_small + 0.05);
    spec_free(s);
    spec_free(s_small);
    diag_list_release(&dl);
    diag_list_release(&dl_small);
    strbuf_release(&sb);
    strbuf_release(&small);
}

/* The positions of N references in one value take one walk of its line: the walker looks at
 * each character once however many positions are asked for (it was a fresh walk per reference,
 * 64k references in one string took 17 s). Counted, not timed. */
static void test_ref_positions_linear(void **state)
{
    (void)state;
    enum { N = 20000 };
    static const char ref[] = "${null_resource.a.id}-$${lit}-${var.v}";  /* one ref, one escape, one var */
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "x: \"");
    for (int i = 0; i < N; i++) strbuf_adds(&sb, ref);
    strbuf_adds(&sb, "\"\n");
    struct spec_text t = {.file = "t.yaml", .text = sb.buf, .len = sb.len};
    spec_text_index(&t);
    struct node n = {.kind = NODE_SCALAR, .line = 1, .col = 4, .end_line = 1};
    struct spec_dollars refs, vars;
    spec_dollars_init(&refs, &t, &n, 0);
    spec_dollars_init(&vars, &t, &n, 1);
    int line, col;
    for (size_t k = 0; k < N; k++) {
        spec_dollars_pos(&refs, k, &line, &col);
        assert_int_equal(line, 1);
        assert_int_equal(col, 5 + (int)(k * (sizeof(ref) - 1)));
        spec_dollars_pos(&refs, k, &line, &col);  /* asked twice: the same answer, no walk */
        assert_int_equal(col, 5 + (int)(k * (sizeof(ref) - 1)));
        spec_dollars_pos(&vars, k, &line, &col);
        assert_int_equal(col, 5 + (int)(k * (sizeof(ref) - 1) + strlen("${null_resource.a.id}-$${lit}-")));
    }
    assert_true(refs.scanned <= sb.len);
    assert_true(vars.scanned <= sb.len);
    spec_dollars_pos(&refs, N, &line, &col);  /* past the last one: the scalar's position */
    assert_int_equal(col, 4);
    assert_true(refs.scanned <= sb.len);
    free(t.lines);
    strbuf_release(&sb);
}

/* More references in one value than SPEC_MAX_REFS_PER_VALUE: one error at the value, no deps. */
static void test_refs_per_value_cap(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "resources:\n  null_resource.a: {}\n  null_resource.b:\n    triggers: {x: \"");
    for (unsigned i = 0; i <= SPEC_MAX_REFS_PER_VALUE; i++) strbuf_adds(&sb, "${null_resource.a.id}");
    strbuf_adds(&sb, "\", y: \"");
    for (unsigned i = 0; i < SPEC_MAX_REFS_PER_VALUE; i++) strbuf_adds(&sb, "${null_resource.a.id}");
    strbuf_adds(&sb, "\"}\n");
    struct diag_list dl;
    struct spec *s = load(sb.buf, &dl);
    assert_null(s);
    assert_int_equal(dl.errors, 1);
    assert_diag(&dl, 0, 4, 19, "value holds 1001 references; at most 1000 fit in one value");
    diag_list_release(&dl);
    strbuf_release(&sb);
}

/* A cycle is reported in the same run as other problems (here a typo), not after they are fixed. */
static void test_cycle_with_other_errors(void **state)
{
    (void)state;
    struct diag_list dl;
    struct spec *s = load("resources:\n"
                          "  null_resource.a: {triggers: {x: \"${null_resource.b.id}\"}}\n"
                          "  null_resource.b: {depends_on: [null_resource.a]}\n"
                          "  null_resource.c: {trigers: {x: \"1\"}, depends_on: [null_resource.c]}\n",
                          &dl);
    assert_null(s);
    assert_int_equal(dl.errors, 3);
    assert_diag(&dl, 0, 4, 21, "unknown attribute `trigers`");
    assert_diag(&dl, 1, 4, 53, "`null_resource.c` depends on itself");  /* once: not as a cycle too */
    assert_diag(&dl, 2, 2, 3, "dependency cycle: null_resource.a -> null_resource.b");
    diag_list_release(&dl);
}

/* "Did you mean" for unknown addresses costs a pass over every address, so outputs share a budget
 * like resources do (5,000 such outputs over 20,000 resources took 220 s). */
static void test_output_suggestions_budget(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "resources:\n  null_resource.abc: {}\noutputs:\n");
    for (int i = 0; i < SPEC_MAX_ADDRESS_SUGGESTIONS + 8; i++) strbuf_addf(&sb, "  o%d: \"${null_resource.abd.id}\"\n", i);
    struct diag_list dl;
    assert_null(load(sb.buf, &dl));
    assert_int_equal(dl.errors, SPEC_MAX_ADDRESS_SUGGESTIONS + 8);
    for (int i = 0; i < SPEC_MAX_ADDRESS_SUGGESTIONS + 8; i++) {
        const struct diag *d = dl.items.items[i];
        assert_true(strstr(d->msg, "unknown resource `null_resource.abd`") != NULL);
        assert_int_equal(strstr(d->msg, "did you mean `null_resource.abc`?") != NULL, i < SPEC_MAX_ADDRESS_SUGGESTIONS);
    }
    diag_list_release(&dl);
    strbuf_release(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_positions),     cmocka_unit_test(test_ref_positions),
        cmocka_unit_test(test_compile_resources),  cmocka_unit_test(test_errors_collected),
        cmocka_unit_test(test_unknown_type_lists_known), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_alias_bomb_fast),    cmocka_unit_test(test_malformed_refs),
        cmocka_unit_test(test_high_level_sections), cmocka_unit_test(test_suggest),
        cmocka_unit_test(test_10k_resources),      cmocka_unit_test(test_ref_positions_linear),
        cmocka_unit_test(test_refs_per_value_cap), cmocka_unit_test(test_cycle_with_other_errors),
        cmocka_unit_test(test_output_suggestions_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
