/* plan_diff.c: a value's change, key by key, for people (see plan_diff.h). The layout follows
 * terraform's: every level indents four columns, each line starts with a three-column symbol
 * ("  +", "  ~", "  -", or blanks), closing braces and EOT line up under the symbol column. */
#include "plan_diff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/strbuf.h"
#include "spec/ref.h"
#include "ui.h"
#include "base/xalloc.h"

#define UNKNOWN_TEXT "(known after apply)"
/* Above this many cells the line/element diff gives up on the longest common subsequence and
 * shows the differing middle as removed then added (still correct, just less precise). */
#define LCS_MAX_CELLS (2u * 1024 * 1024)

static void pad(struct strbuf *o, int n)
{
    for (int i = 0; i < n; i++) strbuf_addch(o, ' ');
}

void plan_diff_lead(struct strbuf *o, int indent, enum pd_action a)
{
    static const char *const sym[] = {" ", "+", "-", "~"};
    static const char *const color[] = {"", "green", "red", "yellow"};
    pad(o, 4 * indent + 2);
    if (a != PD_NOOP) strbuf_adds(o, ui_c(color[a]));
    strbuf_adds(o, sym[a]);
    if (a != PD_NOOP) strbuf_adds(o, ui_c("reset"));
    strbuf_addch(o, ' ');
}

/* The closing line of a block opened at level indent: "}" / "]" / "EOT" under the symbols. */
static void close_line(struct strbuf *o, int indent, const char *what)
{
    pad(o, 4 * indent + 4);
    strbuf_adds(o, what);
}

static void hidden_line(struct strbuf *o, int indent, size_t n)
{
    pad(o, 4 * indent + 4);
    strbuf_addf(o, "%s# (%zu unchanged element%s hidden)%s\n", ui_c("dim"), n, n == 1 ? "" : "s", ui_c("reset"));
}

void plan_diff_quote(struct strbuf *o, const char *s, size_t n)
{
    strbuf_addch(o, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"' && s[i] != '\\') continue;
        str_escape_ctl(o, s + run, i - run);
        strbuf_addch(o, '\\');
        strbuf_addch(o, s[i]);
        run = i + 1;
    }
    str_escape_ctl(o, s + run, n - run);
    strbuf_addch(o, '"');
}

static int key_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* The keys of a and b (either may be NULL), sorted, without duplicates. Caller frees the array. */
static const char **keys_union(const json_t *a, const json_t *b, size_t *n)
{
    const char **keys = xcalloc(json_object_size(a) + json_object_size(b) + 1, sizeof(*keys));
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)a, key, v) keys[k++] = key;
    json_object_foreach((json_t *)b, key, v) if (!json_object_get(a, key)) keys[k++] = key;
    qsort(keys, k, sizeof(*keys), key_cmp);
    *n = k;
    return keys;
}

static void scalar(struct strbuf *o, const json_t *v)
{
    if (!v || json_is_null(v)) {
        strbuf_adds(o, "null");
    } else if (ref_is_unknown(v)) {
        strbuf_adds(o, UNKNOWN_TEXT);
    } else if (json_is_string(v)) {
        plan_diff_quote(o, json_string_value(v), json_string_length(v));
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        strbuf_adds(o, t ? t : "?");
        free(t);
    }
}

void plan_diff_compact(struct strbuf *o, const json_t *v)
{
    if (json_is_object(v) && !ref_is_unknown(v)) {
        size_t n;
        const char **keys = keys_union(v, NULL, &n);
        strbuf_addch(o, '{');
        for (size_t i = 0; i < n; i++) {
            if (i) strbuf_addch(o, ',');
            plan_diff_quote(o, keys[i], strlen(keys[i]));
            strbuf_addch(o, ':');
            plan_diff_compact(o, json_object_get(v, keys[i]));
        }
        strbuf_addch(o, '}');
        free(keys);
    } else if (json_is_array(v)) {
        strbuf_addch(o, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) strbuf_addch(o, ',');
            plan_diff_compact(o, json_array_get(v, i));
        }
        strbuf_addch(o, ']');
    } else {
        scalar(o, v);
    }
}

/* ---- longest common subsequence, for list elements and the lines of a string ---- */

struct lcs_op {
    char kind;  /* '=', '-' (only in a), '+' (only in b) */
    size_t i, j;
};

typedef int (*lcs_eq_fn)(const void *ctx, size_t i, size_t j);

/* Fills ops (room for n + m) with an edit script from a[0..n) to b[0..m); returns its length. */
static size_t lcs_script(size_t n, size_t m, lcs_eq_fn eq, const void *ctx, struct lcs_op *ops)
{
    size_t pre = 0, suf = 0, k = 0;
    while (pre < n && pre < m && eq(ctx, pre, pre)) pre++;
    while (suf < n - pre && suf < m - pre && eq(ctx, n - 1 - suf, m - 1 - suf)) suf++;
    for (size_t x = 0; x < pre; x++) ops[k++] = (struct lcs_op){'=', x, x};
    size_t a = n - pre - suf, b = m - pre - suf;
    uint32_t *L = NULL;
    if (a && b && (a + 1) * (b + 1) <= LCS_MAX_CELLS) L = xcalloc((a + 1) * (b + 1), sizeof(*L));
    if (L) {
#define AT(i, j) L[(i) * (b + 1) + (j)]
        /* AT(i, j): the length of the LCS of the middles from i and from j on. */
        for (size_t i = a; i-- > 0;)
            for (size_t j = b; j-- > 0;) {
                uint32_t down = AT(i + 1, j), right = AT(i, j + 1);
                AT(i, j) = eq(ctx, pre + i, pre + j) ? AT(i + 1, j + 1) + 1 : down >= right ? down : right;
            }
        size_t i = 0, j = 0;
        while (i < a || j < b) {
            if (i < a && j < b && eq(ctx, pre + i, pre + j)) ops[k++] = (struct lcs_op){'=', pre + i++, pre + j++};
            else if (j >= b || (i < a && AT(i + 1, j) >= AT(i, j + 1))) ops[k++] = (struct lcs_op){'-', pre + i++, 0};
            else ops[k++] = (struct lcs_op){'+', 0, pre + j++};
        }
#undef AT
        free(L);
    } else {
        for (size_t i = 0; i < a; i++) ops[k++] = (struct lcs_op){'-', pre + i, 0};
        for (size_t j = 0; j < b; j++) ops[k++] = (struct lcs_op){'+', 0, pre + j};
    }
    for (size_t x = 0; x < suf; x++) ops[k++] = (struct lcs_op){'=', n - suf + x, m - suf + x};
    return k;
}

/* ---- multi-line strings ---- */

struct lines {
    const char **at;
    size_t *len;
    size_t n;
};

static int is_multiline(const json_t *v)
{
    return json_is_string(v) && memchr(json_string_value(v), '\n', json_string_length(v)) != NULL;
}

/* Splits at '\n'; a final newline ends the last line rather than starting an empty one. */
static void lines_split(const json_t *v, struct lines *l)
{
    const char *s = v ? json_string_value(v) : "";
    size_t n = v ? json_string_length(v) : 0, cap = 1;
    for (size_t i = 0; i < n; i++) cap += s[i] == '\n';
    l->at = xcalloc(cap, sizeof(*l->at));
    l->len = xcalloc(cap, sizeof(*l->len));
    l->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\n') continue;
        if (i == n && start == n && l->n) break;
        l->at[l->n] = s + start;
        l->len[l->n++] = i - start;
        start = i + 1;
    }
}

static void lines_free(struct lines *l)
{
    free(l->at);
    free(l->len);
}

struct lines_pair {
    const struct lines *a, *b;
};

static int lines_eq(const void *ctx, size_t i, size_t j)
{
    const struct lines_pair *p = ctx;
    return p->a->len[i] == p->b->len[j] && memcmp(p->a->at[i], p->b->at[j], p->a->len[i]) == 0;
}

static void heredoc_line(struct strbuf *o, int indent, enum pd_action a, const char *s, size_t n)
{
    plan_diff_lead(o, indent + 1, a);
    str_escape_ctl(o, s, n);
    strbuf_addch(o, '\n');
}

/* <<-EOT ... EOT: every line of one string (a create, delete or unchanged value). */
static void heredoc_whole(struct strbuf *o, int indent, const json_t *v)
{
    struct lines l;
    lines_split(v, &l);
    strbuf_adds(o, "<<-EOT\n");
    for (size_t i = 0; i < l.n; i++) heredoc_line(o, indent, PD_NOOP, l.at[i], l.len[i]);
    close_line(o, indent, "EOT");
    lines_free(&l);
}

/* <<-EOT ... EOT with the lines removed (-) and added (+); 0 when the lines are the same (the
 * strings then differ only in a final newline, which a block cannot show). */
static int heredoc_diff(struct strbuf *o, int indent, const json_t *old, const json_t *new)
{
    struct lines a, b;
    lines_split(old, &a);
    lines_split(new, &b);
    struct lines_pair lp = {&a, &b};
    struct lcs_op *ops = xcalloc(a.n + b.n + 1, sizeof(*ops));
    size_t n = lcs_script(a.n, b.n, lines_eq, &lp, ops), changed = 0;
    for (size_t k = 0; k < n; k++) changed += ops[k].kind != '=';
    if (changed) {
        strbuf_adds(o, "<<-EOT\n");
        for (size_t k = 0; k < n; k++) {
            if (ops[k].kind == '+') heredoc_line(o, indent, PD_CREATE, b.at[ops[k].j], b.len[ops[k].j]);
            else heredoc_line(o, indent, ops[k].kind == '-' ? PD_DELETE : PD_NOOP, a.at[ops[k].i], a.len[ops[k].i]);
        }
        close_line(o, indent, "EOT");
    }
    free(ops);
    lines_free(&a);
    lines_free(&b);
    return changed > 0;
}

/* ---- whole values and changes ---- */

static void value(struct strbuf *o, int indent, const json_t *old, const json_t *new, enum pd_action a);

static size_t key_width(const char *const *keys, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        struct strbuf q = STRBUF_INIT;
        plan_diff_quote(&q, keys[i], strlen(keys[i]));
        if (q.len > w) w = q.len;
        strbuf_release(&q);
    }
    return w;
}

/* One map element line: lead, the quoted key padded to width, " = ", the value. */
static void element(struct strbuf *o, int indent, const char *key, size_t width, const json_t *old, const json_t *new,
                    enum pd_action a, int null_suffix)
{
    plan_diff_lead(o, indent + 1, a);
    size_t before = o->len;
    plan_diff_quote(o, key, strlen(key));
    pad(o, (int)(width - (o->len - before)));
    strbuf_adds(o, " = ");
    value(o, indent + 1, old, new, a);
    if (null_suffix) strbuf_adds(o, " -> null");
    strbuf_addch(o, '\n');
}

/* v entirely, every element marked with a (create: +, delete: -, no-op: blank). */
static void whole(struct strbuf *o, int indent, const json_t *v, enum pd_action a)
{
    const json_t *old = a == PD_CREATE ? NULL : v, *new = a == PD_DELETE ? NULL : v;
    if (json_is_object(v) && !ref_is_unknown(v)) {
        if (!json_object_size(v)) {
            strbuf_adds(o, "{}");
            return;
        }
        size_t n;
        const char **keys = keys_union(v, NULL, &n);
        size_t width = key_width(keys, n);
        strbuf_adds(o, "{\n");
        for (size_t i = 0; i < n; i++)
            element(o, indent, keys[i], width, old ? json_object_get(old, keys[i]) : NULL,
                    new ? json_object_get(new, keys[i]) : NULL, a, 0);
        close_line(o, indent, "}");
        free(keys);
    } else if (json_is_array(v)) {
        if (!json_array_size(v)) {
            strbuf_adds(o, "[]");
            return;
        }
        strbuf_adds(o, "[\n");
        for (size_t i = 0; i < json_array_size(v); i++) {
            plan_diff_lead(o, indent + 1, a);
            whole(o, indent + 1, json_array_get(v, i), a);
            strbuf_adds(o, ",\n");
        }
        close_line(o, indent, "]");
    } else if (is_multiline(v)) {
        heredoc_whole(o, indent, v);
    } else {
        scalar(o, v);
    }
}

static void map_diff(struct strbuf *o, int indent, const json_t *old, const json_t *new)
{
    size_t n, hidden = 0;
    const char **keys = keys_union(old, new, &n);
    size_t width = key_width(keys, n);
    strbuf_adds(o, "{\n");
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_object_get(old, keys[i]), *b = json_object_get(new, keys[i]);
        if (a && b && !ref_has_unknown(b) && json_equal((json_t *)a, (json_t *)b)) hidden++;
        else if (!a) element(o, indent, keys[i], width, NULL, b, PD_CREATE, 0);
        else if (!b) element(o, indent, keys[i], width, a, NULL, PD_DELETE, 1);
        else element(o, indent, keys[i], width, a, b, PD_UPDATE, 0);
    }
    if (hidden) hidden_line(o, indent + 1, hidden);
    close_line(o, indent, "}");
    free(keys);
}

struct elems_pair {
    const json_t *a, *b;
};

static int elems_eq(const void *ctx, size_t i, size_t j)
{
    const struct elems_pair *p = ctx;
    json_t *y = json_array_get(p->b, j);
    return !ref_has_unknown(y) && json_equal(json_array_get(p->a, i), y);
}

/* Maps with maps and lists with lists change in place; anything else is removed and added. */
static int in_place(const json_t *a, const json_t *b)
{
    if (ref_is_unknown(a) || ref_is_unknown(b)) return 0;
    return (json_is_object(a) && json_is_object(b)) || (json_is_array(a) && json_is_array(b));
}

struct list_item {
    enum pd_action a;
    const json_t *old, *new;
};

static void list_item_line(struct strbuf *o, int indent, const struct list_item *it)
{
    plan_diff_lead(o, indent + 1, it->a);
    if (it->a == PD_NOOP) whole(o, indent + 1, it->old, PD_NOOP);
    else value(o, indent + 1, it->old, it->new, it->a);
    strbuf_adds(o, ",\n");
}

/* Lists: elements matched by the longest common subsequence, as terraform does; each change is
 * shown with the unchanged element just before and after it for context, the rest folded. */
static void list_diff(struct strbuf *o, int indent, const json_t *old, const json_t *new)
{
    size_t na = json_array_size(old), nb = json_array_size(new);
    struct elems_pair ep = {old, new};
    struct lcs_op *ops = xcalloc(na + nb + 1, sizeof(*ops));
    size_t nops = lcs_script(na, nb, elems_eq, &ep, ops);
    struct list_item *items = xcalloc(na + nb + 1, sizeof(*items));
    size_t ni = 0;
    for (size_t k = 0; k < nops;) {
        if (ops[k].kind == '=') {
            items[ni++] = (struct list_item){PD_NOOP, json_array_get(old, ops[k].i), json_array_get(new, ops[k].j)};
            k++;
            continue;
        }
        size_t end = k;  /* a run of removals and additions between two common elements */
        while (end < nops && ops[end].kind != '=') end++;
        size_t add = k;
        for (size_t d = k; d < end; d++) {
            if (ops[d].kind != '-') continue;
            const json_t *a = json_array_get(old, ops[d].i);
            while (add < end && ops[add].kind != '+') add++;
            if (add < end && in_place(a, json_array_get(new, ops[add].j)))
                items[ni++] = (struct list_item){PD_UPDATE, a, json_array_get(new, ops[add++].j)};
            else
                items[ni++] = (struct list_item){PD_DELETE, a, NULL};
        }
        for (; add < end; add++)
            if (ops[add].kind == '+') items[ni++] = (struct list_item){PD_CREATE, NULL, json_array_get(new, ops[add].j)};
        k = end;
    }
    strbuf_adds(o, "[\n");
    size_t unchanged = 0;  /* unchanged elements not shown yet, the last one at items[i - 1] */
    int show_next = 0;
    for (size_t i = 0; i < ni; i++) {
        if (items[i].a == PD_NOOP && !show_next) {
            unchanged++;
            continue;
        }
        if (unchanged > 1) hidden_line(o, indent + 1, unchanged - 1);
        if (unchanged) list_item_line(o, indent, &items[i - 1]);
        unchanged = 0;
        show_next = items[i].a != PD_NOOP;
        list_item_line(o, indent, &items[i]);
    }
    if (unchanged) hidden_line(o, indent + 1, unchanged);
    close_line(o, indent, "]");
    free(items);
    free(ops);
}

static void update(struct strbuf *o, int indent, const json_t *old, const json_t *new)
{
    if (ref_is_unknown(new)) {
        if (old) {
            whole(o, indent, old, PD_DELETE);
            strbuf_adds(o, " -> ");
        }
        strbuf_adds(o, UNKNOWN_TEXT);
    } else if (json_is_object(old) && json_is_object(new) && !ref_is_unknown(old)) {
        map_diff(o, indent, old, new);
    } else if (json_is_array(old) && json_is_array(new)) {
        list_diff(o, indent, old, new);
    } else if (json_is_string(old) && json_is_string(new) && (is_multiline(old) || is_multiline(new)) &&
               heredoc_diff(o, indent, old, new)) {
        /* shown as a block */
    } else {
        whole(o, indent, old, PD_DELETE);
        strbuf_adds(o, " -> ");
        whole(o, indent, new, PD_CREATE);
    }
}

static void value(struct strbuf *o, int indent, const json_t *old, const json_t *new, enum pd_action a)
{
    switch (a) {
    case PD_CREATE: whole(o, indent, new, PD_CREATE); break;
    case PD_DELETE: whole(o, indent, old, PD_DELETE); break;
    case PD_NOOP: whole(o, indent, old ? old : new, PD_NOOP); break;
    case PD_UPDATE: update(o, indent, old, new); break;
    }
}

void plan_diff_value(struct strbuf *out, int indent, const json_t *old, const json_t *new, enum pd_action a,
                     const char *note)
{
    struct strbuf t = STRBUF_INIT;
    value(&t, indent, old, new, a);
    if (a == PD_DELETE) strbuf_adds(&t, " -> null");
    const char *s = strbuf_str(&t), *nl = strchr(s, '\n');
    if (note && *note && nl) {
        strbuf_add(out, s, (size_t)(nl - s));
        strbuf_adds(out, note);
        strbuf_adds(out, nl);
    } else {
        strbuf_adds(out, s);
        if (note) strbuf_adds(out, note);
    }
    strbuf_release(&t);
}

json_t *plan_diff_keys(const json_t *old, const json_t *new)
{
    if (!json_is_object(old) || !json_is_object(new) || ref_is_unknown(old) || ref_is_unknown(new)) return NULL;
    json_t *r = json_object();
    size_t n;
    const char **keys = keys_union(old, new, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_object_get(old, keys[i]), *b = json_object_get(new, keys[i]);
        if (a && b && !ref_has_unknown(b) && json_equal((json_t *)a, (json_t *)b)) continue;
        json_object_set_new(r, keys[i], json_string(!a ? "create" : !b ? "delete" : "update"));
    }
    free(keys);
    return r;
}
