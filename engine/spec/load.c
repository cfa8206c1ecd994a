/* load.c: spec file → node tree (libyaml events, 1-based line:col on every node), then the
 * schema and compile passes. The input is hostile until proven otherwise: size, UTF-8, nesting
 * depth and node count are bounded, and aliases are refused outright, so a "billion laughs"
 * file costs a few microseconds and no memory. Then variables, the schema, the compilers, the
 * outputs and the dependency cycle check, each reporting into the same diagnostic list. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "base/escape.h"
#include "base/map.h"
#include "spec/spec_int.h"
#include "spec_graph.h"
#include "base/xalloc.h"

struct frame {
    struct node *n;      /* open map or sequence */
    struct node *key;    /* map: key read, value not yet */
    size_t cap;          /* allocated pairs or items */
};

struct loader {
    const struct spec_ctx *c;
    yaml_parser_t p;
    struct frame st[SPEC_MAX_DEPTH];
    int depth;
    struct node *root;
    size_t count;
    int docs;
};

/* ---- the text: line index, positions, UTF-8 ---- */

void spec_text_index(struct spec_text *t)
{
    size_t cap = 64;
    t->lines = xmalloc(cap * sizeof(size_t));
    t->nlines = 1;
    t->lines[0] = 0;
    for (const char *p = t->text, *end = t->text + t->len; (p = memchr(p, '\n', (size_t)(end - p)));) {
        p++;
        if (t->nlines == cap) t->lines = xrealloc(t->lines, (cap *= 2) * sizeof(size_t));
        t->lines[t->nlines++] = (size_t)(p - t->text);
    }
}

static size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4; }

/* 1-based line and column (in characters, as libyaml counts) of a byte offset. */
static void text_pos(const struct spec_text *t, size_t off, int *line, int *col)
{
    size_t lo = 0, hi = t->nlines;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (t->lines[mid] <= off) lo = mid;
        else hi = mid;
    }
    int c = 1;
    for (size_t i = t->lines[lo]; i < off && i < t->len; i += utf8_len((unsigned char)t->text[i])) c++;
    *line = (int)lo + 1;
    *col = c;
}

static char text_at(const struct spec_text *t, size_t i) { return i < t->len ? t->text[i] : '\0'; }

static int at_var(const struct spec_text *t, size_t i) { return i + 6 <= t->len && memcmp(t->text + i, "${var.", 6) == 0; }

/* The scalar's "${" are found in one left-to-right pass over its source line, however many
 * positions are asked for: a value with 64k references costs one walk, not 64k. */
void spec_dollars_init(struct spec_dollars *it, const struct spec_text *t, const struct node *n, int vars)
{
    *it = (struct spec_dollars){.t = t, .n = n, .vars = vars, .i = SIZE_MAX, .col = n->col};
    if (n->end_line != n->line || n->line < 1 || (size_t)n->line > t->nlines) return;  /* no columns */
    size_t i = t->lines[n->line - 1];
    for (int c = 1; c < n->col && i < t->len && t->text[i] != '\n'; c++) i += utf8_len((unsigned char)t->text[i]);
    it->i = i;
}

void spec_dollars_pos(struct spec_dollars *it, size_t k, int *line, int *col)
{
    const struct spec_text *t = it->t;
    *line = it->n->line;
    *col = it->n->col;
    /* Escapes cannot produce or hide "${", so the k-th one in the source is the k-th in the value. */
    while (it->i != SIZE_MAX && it->i < t->len && t->text[it->i] != '\n') {
        size_t i = it->i;
        it->scanned++;
        if (t->text[i] == '$' && text_at(t, i + 1) == '$' && text_at(t, i + 2) == '{') {
            it->i += 3, it->col += 3;
        } else if (t->text[i] == '$' && text_at(t, i + 1) == '{') {
            if (at_var(t, i) == it->vars) {
                if (it->seen == k) {
                    *col = it->col;
                    return;  /* stays on this "${": asked again for k, it answers again */
                }
                it->seen++;
            }
            it->i += 2, it->col += 2;
        } else {
            it->i += utf8_len((unsigned char)t->text[i]), it->col++;
        }
    }
}

/* Offset of the first byte that is not valid UTF-8 (overlongs, surrogates, > U+10FFFF), or -1. */
static long utf8_invalid(const char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = str_char_len(s + i, len - i)) == 1 && (unsigned char)s[i] >= 0x80) return (long)i;
    return -1;
}

static int check_utf8(const struct spec_ctx *c)
{
    long bad = utf8_invalid(c->text->text, c->text->len);
    if (bad < 0) return 0;
    int line, col;
    text_pos(c->text, (size_t)bad, &line, &col);
    diag_error(c->dl, c->file, line, col, "invalid UTF-8 (byte 0x%02x): a spec must be UTF-8 text",
               (unsigned char)c->text->text[bad]);
    return -1;
}

/* ---- libyaml errors ---- */

/* libyaml calls a tab in indentation "a character that cannot start any token"; say what it is. */
static int report_tab(struct loader *L, int line)
{
    const struct spec_text *t = L->c->text;
    if (line < 1 || (size_t)line > t->nlines) return 0;
    for (size_t i = t->lines[line - 1]; i < t->len && (t->text[i] == ' ' || t->text[i] == '\t'); i++) {
        if (t->text[i] == '\t') {
            diag_error(L->c->dl, L->c->file, line, (int)(i - t->lines[line - 1]) + 1,
                       "tab character in indentation: YAML indents with spaces only");
            return 1;
        }
    }
    return 0;
}

static void report_syntax(struct loader *L)
{
    yaml_parser_t *p = &L->p;
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        text_pos(L->c->text, p->problem_offset, &line, &col);
        diag_error(L->c->dl, L->c->file, line, col, "cannot read YAML: %s", p->problem ? p->problem : "unknown error");
        return;
    }
    if (report_tab(L, line) || (p->context && report_tab(L, (int)p->context_mark.line + 1))) return;
    if (p->context)
        diag_error(L->c->dl, L->c->file, line, col, "YAML syntax error: %s (%s at %d:%d)", p->problem,
                   p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        diag_error(L->c->dl, L->c->file, line, col, "YAML syntax error: %s", p->problem ? p->problem : "unknown error");
}

/* ---- building the tree ---- */

static struct node *node_new(enum node_kind kind, const yaml_event_t *ev)
{
    struct node *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    n->end_line = (int)ev->end_mark.line + 1;
    return n;
}

static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return arr;
    *cap = *cap ? *cap * 2 : 4;
    return xrealloc(arr, *cap * size);
}

/* Hangs a new node under the open container (or makes it the root). Returns -1 when the node
 * cannot be placed; the node is then freed. */
static int loader_attach(struct loader *L, struct node *n)
{
    if (++L->count > SPEC_MAX_NODES) {
        diag_error(L->c->dl, L->c->file, n->line, n->col, "spec has more than %u values; refusing to load it",
                   SPEC_MAX_NODES);
        node_free(n);
        return -1;
    }
    if (L->depth == 0) {
        L->root = n;
        return 0;
    }
    struct frame *f = &L->st[L->depth - 1];
    if (f->n->kind == NODE_SEQ) {
        f->n->items = grow(f->n->items, &f->cap, f->n->n + 1, sizeof(*f->n->items));
        f->n->items[f->n->n++] = n;
    } else if (!f->key) {
        if (n->kind != NODE_SCALAR) {
            diag_error(L->c->dl, L->c->file, n->line, n->col, "a key must be a plain word, not %s", node_kind_name(n));
            node_free(n);
            return -1;
        }
        f->key = n;
    } else {
        f->n->pairs = grow(f->n->pairs, &f->cap, f->n->n + 1, sizeof(*f->n->pairs));
        f->n->pairs[f->n->n++] = (struct node_pair){f->key, n};
        f->key = NULL;
    }
    return 0;
}

static int loader_open(struct loader *L, enum node_kind kind, const yaml_event_t *ev)
{
    struct node *n = node_new(kind, ev);
    if (L->depth == SPEC_MAX_DEPTH) {
        diag_error(L->c->dl, L->c->file, n->line, n->col, "values nested deeper than %d levels", SPEC_MAX_DEPTH);
        node_free(n);
        return -1;
    }
    if (loader_attach(L, n) < 0) return -1;
    L->st[L->depth++] = (struct frame){n, NULL, 0};
    return 0;
}

static void report_dup(struct loader *L, const struct node *first, const struct node *dup)
{
    /* A repeated key right under `resources:` is a resource declared twice: say it that way. */
    const struct node *parent = L->depth >= 2 ? L->st[L->depth - 2].n : NULL;
    int in_resources = L->depth == 2 && parent->kind == NODE_MAP && parent->n &&
                       strcmp(parent->pairs[parent->n - 1].key->scalar, "resources") == 0;
    diag_error(L->c->dl, L->c->file, dup->line, dup->col, "duplicate %s `%s` (first %s at %d:%d)",
               in_resources ? "resource address" : "key", dup->scalar, in_resources ? "declared" : "defined",
               first->line, first->col);
}

/* Reports repeated keys and keeps only the first of each; small maps need no hash table. */
static void loader_dedup(struct loader *L, struct node *m)
{
    struct map seen = MAP_INIT;
    size_t kept = 0;
    for (size_t i = 0; i < m->n; i++) {
        struct node_pair *pr = &m->pairs[i];
        const struct node *first = NULL;
        if (m->n <= 8) {
            for (size_t j = 0; j < kept && !first; j++)
                if (strcmp(m->pairs[j].key->scalar, pr->key->scalar) == 0) first = m->pairs[j].key;
        } else {
            first = map_get(&seen, pr->key->scalar);
        }
        if (first) {
            report_dup(L, first, pr->key);
            node_free(pr->key);
            node_free(pr->value);
            continue;
        }
        if (m->n > 8) map_put(&seen, pr->key->scalar, pr->key);
        m->pairs[kept++] = *pr;
    }
    m->n = kept;
    map_release(&seen);
}

static int loader_close(struct loader *L)
{
    struct frame *f = &L->st[L->depth - 1];
    if (f->n->kind == NODE_MAP) loader_dedup(L, f->n);
    L->depth--;
    return 0;
}

static int loader_scalar(struct loader *L, const yaml_event_t *ev)
{
    struct node *n = node_new(NODE_SCALAR, ev);
    n->scalar = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    const char *tag = (const char *)ev->data.scalar.tag;
    /* Anything but a plain scalar is a string, as is a plain one tagged !!str. */
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || (tag && strcmp(tag, YAML_STR_TAG) == 0);
    return loader_attach(L, n);
}

static int loader_event(struct loader *L, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++L->docs > 1) {
            diag_error(L->c->dl, L->c->file, line, col, "a spec is one YAML document; found a second one here");
            return -1;
        }
        return 0;
    case YAML_ALIAS_EVENT:
        diag_error(L->c->dl, L->c->file, line, col,
                   "YAML aliases are not supported (`*%s`): write the value out in full",
                   (const char *)ev->data.alias.anchor);
        return -1;
    case YAML_SCALAR_EVENT: return loader_scalar(L, ev);
    case YAML_SEQUENCE_START_EVENT: return loader_open(L, NODE_SEQ, ev);
    case YAML_MAPPING_START_EVENT: return loader_open(L, NODE_MAP, ev);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return loader_close(L);
    default: return 0;
    }
}

/* Parses the text into *root (NULL for an empty stream). Returns -1 after a fatal problem. */
int spec_yaml_parse(const struct spec_ctx *c, struct node **root)
{
    struct loader L = {.c = c};
    yaml_parser_initialize(&L.p);
    yaml_parser_set_input_string(&L.p, (const unsigned char *)c->text->text, c->text->len);
    int rc = 0;
    for (int done = 0; !done && rc == 0;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&L.p, &ev)) {
            report_syntax(&L);
            rc = -1;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = loader_event(&L, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&L.p);
    for (int d = 0; d < L.depth; d++) node_free(L.st[d].key);  /* keys whose value never came */
    if (rc < 0) {
        node_free(L.root);
        return -1;
    }
    *root = L.root;
    return 0;
}

/* ---- the spec ---- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

static struct spec *spec_new(const char *file, struct node *root)
{
    struct spec *s = xcalloc(1, sizeof(*s));
    s->file = xstrdup(file);
    s->dir = dir_of(file);
    s->root = root;
    vec_init(&s->resources);
    map_init(&s->by_address);
    vec_init(&s->outputs);
    return s;
}

void spec_free(struct spec *s)
{
    if (!s) return;
    vec_free_all(&s->resources, spec_resource_free);
    map_release(&s->by_address);
    vec_free_all(&s->outputs, spec_output_free);
    json_decref(s->vars);
    node_free(s->root);
    json_decref(s->mesh);
    free(s->file);
    free(s->dir);
    free(s);
}

static int too_big(struct diag_list *dl, const char *name, unsigned long long size)
{
    if (size)
        diag_error(dl, name, 0, 0, "spec is %llu bytes; the limit is 8 MiB (%u bytes)", size, SPEC_MAX_BYTES);
    else
        diag_error(dl, name, 0, 0, "spec is larger than the limit of 8 MiB (%u bytes)", SPEC_MAX_BYTES);
    return -1;
}

/* Parse and check the root; NULL (with a diagnostic) when there is nothing to validate. */
static struct node *load_root(const struct spec_ctx *c)
{
    struct node *root = NULL;
    if (check_utf8(c) < 0 || spec_yaml_parse(c, &root) < 0) return NULL;
    if (!root || node_is_null(root)) {
        diag_error(c->dl, c->file, 0, 0, "spec is empty");
        node_free(root);
        return NULL;
    }
    if (root->kind != NODE_MAP) {
        diag_error(c->dl, c->file, root->line, root->col,
                   "a spec is a map of sections (mesh:, resources:, ...), not %s", node_kind_name(root));
        node_free(root);
        return NULL;
    }
    return root;
}

int spec_load_buffer(const char *name, const char *text, size_t len, struct spec **out, struct diag_list *dl)
{
    return spec_load_buffer_opts(name, text, len, NULL, out, dl);
}

int spec_load_buffer_opts(const char *name, const char *text, size_t len, const struct spec_vars_in *vars,
                          struct spec **out, struct diag_list *dl)
{
    *out = NULL;
    if (len > SPEC_MAX_BYTES) return too_big(dl, name, len);
    int before = dl->errors;
    diag_add_source(dl, name, text, len);
    struct spec_text t = {.file = name, .text = text, .len = len};
    spec_text_index(&t);
    struct spec_ctx c = {&t, dl, name};
    struct node *root = load_root(&c);
    struct spec *s = NULL;
    if (root) {
        s = spec_new(name, root);
        vars_apply(s, vars, &c);  /* ${var.NAME} substituted before anything reads a value */
        const struct node *mesh = node_get(root, "mesh");
        if (mesh && mesh->kind == NODE_MAP) s->mesh = node_to_json(mesh);
        schema_validate(root, &c);
        if (spec_compile(s, &c) == 0) {
            vars_mark_sensitive(s);
            spec_mark_sensitive_refs(s);  /* before outputs: an output reading a marked attribute is sensitive */
            compile_outputs(s, &c);
            /* Even after other errors: the edges that name declared resources still form the
             * graph, so a cycle among them is real and is reported with the rest, in one run. */
            spec_graph_check(s, dl);
        }
    }
    free(t.lines);
    if (!s || dl->errors > before) {
        spec_free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int spec_load(const char *path, struct spec **out, struct diag_list *dl) { return spec_load_opts(path, NULL, out, dl); }

/* Reads at most SPEC_MAX_BYTES + 1 bytes: a larger file is refused before it costs memory. */
int spec_load_opts(const char *path, const struct spec_vars_in *vars, struct spec **out, struct diag_list *dl)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(dl, path, 0, 0, "cannot open spec: %s", strerror(errno));
        return -1;
    }
    struct stat st = {0};
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (unsigned long long)st.st_size > SPEC_MAX_BYTES) {
        fclose(f);
        return too_big(dl, path, (unsigned long long)st.st_size);
    }
    /* A regular file needs only its size (+1 to notice growth); a pipe gets the limit. */
    size_t want = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : SPEC_MAX_BYTES + 1;
    char *buf = xmalloc(want + 1);
    size_t n = fread(buf, 1, want, f);
    int rerr = ferror(f);
    fclose(f);
    int rc;
    if (rerr) rc = -1, diag_error(dl, path, 0, 0, "cannot read spec: %s", strerror(errno));
    else if (n > SPEC_MAX_BYTES) rc = too_big(dl, path, 0);
    else rc = spec_load_buffer_opts(path, buf, n, vars, out, dl);
    free(buf);
    return rc;
}
