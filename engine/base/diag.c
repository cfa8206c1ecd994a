/* diag.c: collecting and printing diagnostics (see diag.h). */
#include "base/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/escape.h"
#include "base/strbuf.h"
#include "xalloc.h"

void diag_list_init(struct diag_list *dl)
{
    vec_init(&dl->items);
    vec_init(&dl->sources);
    dl->errors = dl->warnings = 0;
}

static void diag_free(void *p)
{
    struct diag *d = p;
    free(d->file);
    free(d->msg);
    free(d);
}

static void diag_source_free(void *p)
{
    struct diag_source *s = p;
    free(s->file);
    free(s->text);
    free(s->lines);
    free(s);
}

void diag_list_release(struct diag_list *dl)
{
    vec_free_all(&dl->items, diag_free);
    vec_free_all(&dl->sources, diag_source_free);
    dl->errors = dl->warnings = 0;
}

void diag_add_source(struct diag_list *dl, const char *file, const char *text, size_t len)
{
    struct diag_source *s = xcalloc(1, sizeof(*s));
    struct strbuf f = STRBUF_INIT;
    str_escape_ctl(&f, file, strlen(file));  /* as diag_add keeps it, so the two match */
    s->file = strbuf_detach(&f);
    s->text = xmalloc(len + 1);
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->len = len;
    size_t cap = 64;
    s->lines = xmalloc(cap * sizeof(*s->lines));
    s->lines[s->nlines++] = 0;
    for (const char *p = s->text, *end = s->text + len; (p = memchr(p, '\n', (size_t)(end - p)));) {
        if (s->nlines == cap) s->lines = xrealloc(s->lines, (cap *= 2) * sizeof(*s->lines));
        s->lines[s->nlines++] = (size_t)(++p - s->text);
    }
    vec_push(&dl->sources, s);
}

void diag_add(struct diag_list *dl, enum diag_severity sev, const char *file, int line, int col,
              const char *fmt, ...)
{
    struct diag *d = xcalloc(1, sizeof(*d));
    struct strbuf sb = STRBUF_INIT;
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    /* Messages quote the spec's keys and values: what a terminal would act on is made visible. */
    str_escape_ctl(&sb, tmp, strlen(tmp));
    d->severity = sev;
    if (file) {
        struct strbuf f = STRBUF_INIT;
        str_escape_ctl(&f, file, strlen(file));
        d->file = strbuf_detach(&f);
    }
    d->line = line;
    d->col = col;
    d->msg = strbuf_detach(&sb);
    d->seq = (int)dl->items.len;
    vec_push(&dl->items, d);
    if (sev == DIAG_ERROR) dl->errors++;
    else if (sev == DIAG_WARNING) dl->warnings++;
}

static int diag_cmp(const void *a, const void *b)
{
    const struct diag *x = *(const struct diag *const *)a, *y = *(const struct diag *const *)b;
    int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
    if (c) return c;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void diag_sort(struct diag_list *dl) { vec_sort(&dl->items, diag_cmp); }

static const struct diag_source *diag_find_source(struct diag_list *dl, const char *file)
{
    if (!file) return NULL;
    for (size_t i = 0; i < dl->sources.len; i++) {
        const struct diag_source *s = dl->sources.items[i];
        if (strcmp(s->file, file) == 0) return s;
    }
    return NULL;
}

/* A long line is quoted as a window of this many columns (escaped), the caret at most
 * QUOTE_BEFORE columns in: a 10 MB single-line file must not flood the terminal. */
enum { QUOTE_WIDTH = 120, QUOTE_BEFORE = 80 };

/* Moves a byte offset of line p back onto the start of a character (at most 3 bytes). */
static size_t char_start(const char *p, size_t off)
{
    for (int k = 0; k < 3 && off > 0 && ((unsigned char)p[off] & 0xc0) == 0x80; k++) off--;
    return off;
}

/* Columns s[0..n) takes once escaped: where the caret goes. */
static size_t escaped_width(const char *s, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    str_escape_ctl(&sb, s, n);
    size_t w = 0;
    for (size_t i = 0; i < sb.len; i++) w += ((unsigned char)sb.buf[i] & 0xc0) != 0x80;
    strbuf_release(&sb);
    return w;
}

/* Widens [*from, *to) of line p[0..n) one character at a time while it stays within budget
 * columns (*w so far): backwards when back is set, else forwards. */
static void widen(const char *p, size_t n, size_t *from, size_t *to, size_t *w, size_t budget, int back)
{
    for (;;) {
        size_t a = back ? (*from ? char_start(p, *from - 1) : 0) : *to;
        size_t b = back ? *from : (*to < n ? *to + str_char_len(p + *to, n - *to) : n);
        if (a == b) return;
        size_t cw = escaped_width(p + a, b - a);
        if (*w + cw > budget) return;
        *w += cw;
        if (back) *from = a;
        else *to = b;
    }
}

/* Prints line `line` of the source with its non-printing characters escaped (a spec may hold
 * terminal escapes, a binary file anything), then a caret under column `col` (in characters, as
 * libyaml counts them) counted in the escaped form. */
static void diag_quote(struct strbuf *out, const struct diag_source *s, int line, int col)
{
    if (line < 1 || (size_t)line > s->nlines) return;
    const char *p = s->text + s->lines[line - 1], *end = s->text + s->len;
    if (p >= end && line > 1) return;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
    size_t at = 0;  /* byte offset of col */
    for (int c = 1; c < col && at < n; c++) at += str_char_len(p + at, n - at);
    if (at > n) at = n;
    size_t from = at, to = at, w = 0;
    widen(p, n, &from, &to, &w, QUOTE_BEFORE, 1);
    widen(p, n, &from, &to, &w, QUOTE_WIDTH, 0);
    widen(p, n, &from, &to, &w, QUOTE_WIDTH, 1);
    strbuf_adds(out, from ? "  ..." : "  ");
    str_escape_ctl(out, p + from, to - from);
    strbuf_adds(out, to < n ? "...\n  " : "\n  ");
    if (from) strbuf_adds(out, "   ");
    for (size_t k = escaped_width(p + from, at - from); k > 0; k--) strbuf_addch(out, ' ');
    strbuf_adds(out, "^\n");
}

/* Each diagnostic is written whole, in one call: stderr is unbuffered, and 400,000 of them written
 * a character at a time took 20 s of system calls. */
void diag_print(struct diag_list *dl, FILE *out, int color)
{
    static const char *names[] = {"error", "warning", "note"};
    static const char *colors[] = {"\033[1;31m", "\033[1;33m", "\033[1;36m"};
    struct strbuf sb = STRBUF_INIT;
    diag_sort(dl);
    for (size_t i = 0; i < dl->items.len; i++) {
        const struct diag *d = dl->items.items[i];
        strbuf_reset(&sb);
        if (d->file && d->line > 0)
            strbuf_addf(&sb, "%s:%d:%d: ", d->file, d->line, d->col);
        else if (d->file)
            strbuf_addf(&sb, "%s: ", d->file);
        if (color)
            strbuf_addf(&sb, "%s%s:\033[0m ", colors[d->severity], names[d->severity]);
        else
            strbuf_addf(&sb, "%s: ", names[d->severity]);
        strbuf_adds(&sb, d->msg);
        strbuf_addch(&sb, '\n');
        const struct diag_source *s = diag_find_source(dl, d->file);
        if (s && d->line > 0) diag_quote(&sb, s, d->line, d->col);
        fwrite(sb.buf, 1, sb.len, out);
    }
    strbuf_release(&sb);
}
