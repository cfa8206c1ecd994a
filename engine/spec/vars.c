/* vars.c: input variables. The vars: section declares them (type, default, description,
 * sensitive); their values come, lowest to highest, from defaults, --var-file FILE (YAML, in the
 * order given), MESH_VAR_<NAME> and --var NAME=VALUE. Every ${var.NAME} in a value of the tree
 * (every section but vars: itself) is substituted before the schema, the compilers or the
 * reference parser see it: a whole-string ${var.NAME} becomes the typed value, one inside a longer
 * string is spliced in as text. A "${" inside a value is escaped ("$${"), so a variable can never
 * inject a reference. Nodes that received a sensitive value are marked, and the attributes they
 * feed become sensitive (plans show (sensitive), state encrypts them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/map.h"
#include "base/strbuf.h"
#include "base/suggest.h"
#include "base/wipe.h"
#include "spec/spec_int.h"
#include "base/xalloc.h"

extern char **environ;

enum var_type { VT_STRING, VT_NUMBER, VT_BOOL, VT_LIST, VT_MAP, VT__COUNT };
static const char *const type_names[VT__COUNT] = {"string", "number", "bool", "list", "map"};
static const char *const type_want[VT__COUNT] = {"a string", "a number", "true or false", "a list", "a map"};

struct var {
    const char *name;       /* borrowed from the tree */
    const struct node *key; /* the declaration's key, for "required" errors */
    enum var_type type;
    int sensitive;
    int broken;             /* the declaration has an error (reported once, by schema.c or here) */
    json_t *value;          /* NULL: no value (yet) */
    char *source;           /* where the value came from: "default", "--var-file F", ... */
};

struct vars {
    struct var *v;
    size_t n;
    const struct spec_ctx *c;
    struct map by_name;     /* name -> struct var *: a lookup per use, not a scan of every declaration */
    size_t expanded;        /* bytes the substitutions made so far (SPEC_MAX_EXPANDED_BYTES) */
    int over;               /* past that: reported once, nothing more is substituted */
};

static struct var *var_find(struct vars *V, const char *name, size_t len)
{
    char buf[128], *key = len < sizeof(buf) ? buf : xmalloc(len + 1);
    memcpy(key, name, len);
    key[len] = '\0';
    struct var *x = map_get(&V->by_name, key);
    if (key != buf) free(key);
    return x;
}

static void var_set(struct var *x, json_t *value, const char *source)
{
    json_decref(x->value);
    x->value = value;
    free(x->source);
    x->source = xstrdup(source);
}

/* ---- typed values ---- */

/* The node as a value of type t, or NULL when it is not one. A string takes any scalar's text. */
static json_t *node_value(const struct node *n, enum var_type t)
{
    if (!n) return NULL;
    enum scalar_type st = node_scalar_type(n);
    switch (t) {
    case VT_STRING: return n->kind == NODE_SCALAR && (n->quoted || st != SCALAR_NULL) ? json_string(n->scalar) : NULL;
    case VT_NUMBER: {
        if (n->kind != NODE_SCALAR || (st != SCALAR_INT && st != SCALAR_FLOAT)) return NULL;
        json_t *j = node_to_json(n);
        if (json_is_number(j)) return j;
        json_decref(j);
        return NULL;
    }
    case VT_BOOL: return n->kind == NODE_SCALAR && st == SCALAR_BOOL ? node_to_json(n) : NULL;
    case VT_LIST: return n->kind == NODE_SEQ ? node_to_json(n) : NULL;
    case VT_MAP: return n->kind == NODE_MAP ? node_to_json(n) : NULL;
    default: return NULL;
    }
}

/* Text from --var or the environment as a value of type t: a string is taken as it is; numbers
 * and booleans as YAML scalars; lists and maps as YAML or JSON flow ([a, b], {k: v}). */
static json_t *text_value(const char *text, enum var_type t)
{
    if (t == VT_STRING) return json_string(text);
    if (t == VT_NUMBER || t == VT_BOOL) {
        struct node fake = {.kind = NODE_SCALAR, .scalar = (char *)text};
        return node_value(&fake, t);
    }
    struct diag_list dl;
    diag_list_init(&dl);
    struct spec_text st = {.file = "--var", .text = text, .len = strlen(text)};
    spec_text_index(&st);
    struct spec_ctx c = {&st, &dl, "--var"};
    struct node *root = NULL;
    json_t *v = NULL;
    if (spec_yaml_parse(&c, &root) == 0 && dl.errors == 0) v = node_value(root, t);
    node_free(root);
    free(st.lines);
    diag_list_release(&dl);
    return v;
}

/* ---- declarations ---- */

static enum var_type type_of_default(const struct node *d)
{
    if (!d) return VT_STRING;
    if (d->kind == NODE_SEQ) return VT_LIST;
    if (d->kind == NODE_MAP) return VT_MAP;
    switch (node_scalar_type(d)) {
    case SCALAR_BOOL: return VT_BOOL;
    case SCALAR_INT:
    case SCALAR_FLOAT: return VT_NUMBER;
    default: return VT_STRING;
    }
}

static void declare(struct vars *V, const struct node *key, const struct node *body)
{
    struct var *x = &V->v[V->n++];
    memset(x, 0, sizeof(*x));
    x->name = key->scalar;
    x->key = key;
    if (body->kind != NODE_MAP) {  /* `name:` alone is a required string; anything else schema.c reports */
        x->broken = !node_is_null(body);
        return;
    }
    const struct node *type = node_get(body, "type"), *def = node_get(body, "default");
    const struct node *sens = node_get(body, "sensitive");
    x->sensitive = sens && sens->kind == NODE_SCALAR && node_scalar_type(sens) == SCALAR_BOOL &&
                   (sens->scalar[0] == 't' || sens->scalar[0] == 'T');
    x->type = type_of_default(def);
    if (type) {
        x->broken = 1;  /* an unknown type: schema.c says which are known */
        for (int t = 0; t < VT__COUNT; t++)
            if (type->kind == NODE_SCALAR && strcmp(type->scalar, type_names[t]) == 0) x->type = (enum var_type)t, x->broken = 0;
    }
    if (x->broken || !def) return;
    json_t *v = node_value(def, x->type);
    if (!v) {
        diag_error(V->c->dl, V->c->file, def->line, def->col, "`vars.%s.default` must be %s, not %s", x->name,
                   type_want[x->type], node_kind_name(def));
        x->broken = 1;
        return;
    }
    var_set(x, v, "default");
}

/* "no variable `x` is declared in the spec; did you mean `y`?" into buf. */
static void unknown_msg(struct vars *V, const char *name, char *buf, size_t n)
{
    struct suggest sg;
    suggest_init(&sg, name);
    for (size_t i = 0; i < V->n; i++) suggest_try(&sg, V->v[i].name);
    if (sg.best) snprintf(buf, n, "no variable `%s` is declared in the spec; did you mean `%s`?", name, sg.best);
    else if (V->n) snprintf(buf, n, "no variable `%s` is declared in the spec (see its `vars:` section)", name);
    else snprintf(buf, n, "no variable `%s` is declared in the spec (it has no `vars:` section)", name);
}

/* ---- --var-file ---- */

/* Byte offset of line:col (1-based, col in characters). */
static size_t text_offset(const struct spec_text *t, int line, int col)
{
    if (line < 1 || (size_t)line > t->nlines) return t->len;
    size_t i = t->lines[line - 1];
    for (int c = 1; c < col && i < t->len && t->text[i] != '\n'; c++) {
        unsigned char ch = (unsigned char)t->text[i];
        i += ch < 0x80 ? 1 : ch < 0xe0 ? 2 : ch < 0xf0 ? 3 : 4;
    }
    return i < t->len ? i : t->len;
}

/* A copy of the file's text for quoting under carets, with every sensitive variable's value
 * (from its first character to the end of its last line) written over with '*'. */
static void add_masked_source(struct vars *V, const struct spec_text *t, const struct node *root)
{
    char *copy = xmalloc(t->len + 1);
    memcpy(copy, t->text, t->len);
    for (size_t i = 0; root && root->kind == NODE_MAP && i < root->n; i++) {
        const struct node *val = root->pairs[i].value;
        struct var *x = var_find(V, root->pairs[i].key->scalar, strlen(root->pairs[i].key->scalar));
        if (!x || !x->sensitive) continue;
        size_t from = text_offset(t, val->line, val->col);
        size_t to = (size_t)val->end_line < t->nlines ? t->lines[val->end_line] : t->len;
        for (size_t b = from; b < to; b++)
            if (copy[b] != '\n') copy[b] = '*';
    }
    diag_add_source(V->c->dl, t->file, copy, t->len);
    free(copy);
}

static char *read_file(const char *path, size_t *len, struct diag_list *dl)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(dl, path, 0, 0, "cannot read --var-file: %s", strerror(errno));
        return NULL;
    }
    struct strbuf sb = STRBUF_INIT;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0 && sb.len <= SPEC_MAX_BYTES) strbuf_add(&sb, buf, n);
    int bad = ferror(f);
    fclose(f);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (bad || sb.len > SPEC_MAX_BYTES) {
        diag_error(dl, path, 0, 0, bad ? "cannot read --var-file: read error" : "--var-file is larger than 8 MiB");
        strbuf_release(&sb);
        return NULL;
    }
    *len = sb.len;
    return sb.buf ? strbuf_detach(&sb) : xstrdup("");
}

static void load_var_file(struct vars *V, const char *path)
{
    struct diag_list *dl = V->c->dl;
    size_t len = 0;
    char *text = read_file(path, &len, dl);
    if (!text) return;
    struct spec_text t = {.file = path, .text = text, .len = len};
    spec_text_index(&t);
    struct spec_ctx c = {&t, dl, path};
    struct node *root = NULL;
    char source[600], msg[256];
    snprintf(source, sizeof(source), "--var-file %s", path);
    if (spec_yaml_parse(&c, &root) == 0 && root && !node_is_null(root)) {
        add_masked_source(V, &t, root);
        if (root->kind != NODE_MAP)
            diag_error(dl, path, root->line, root->col, "a --var-file is a map of variable names to values, not %s",
                       node_kind_name(root));
        for (size_t i = 0; root->kind == NODE_MAP && i < root->n; i++) {
            const struct node *k = root->pairs[i].key, *v = root->pairs[i].value;
            struct var *x = var_find(V, k->scalar, strlen(k->scalar));
            if (!x) {
                unknown_msg(V, k->scalar, msg, sizeof(msg));
                diag_error(dl, path, k->line, k->col, "%s", msg);
                continue;
            }
            if (x->broken) continue;
            json_t *val = node_value(v, x->type);
            if (!val) {
                diag_error(dl, path, v->line, v->col, "variable `%s` must be %s, not %s", x->name, type_want[x->type],
                           node_kind_name(v));
                continue;
            }
            var_set(x, val, source);
        }
    }
    node_free(root);
    free(t.lines);
    wipe_free(text);  /* it holds the values of sensitive variables */
}

/* ---- MESH_VAR_<NAME> and --var NAME=VALUE ---- */

/* One NAME=VALUE from flag ("--var") or the environment (flag NULL). */
static void set_from_text(struct vars *V, const char *flag, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char label[320], msg[400];
    if (flag && !eq) {
        snprintf(label, sizeof(label), "%s %.256s", flag, arg);
        diag_error(V->c->dl, label, 0, 0, "expected NAME=VALUE (for example --var size=3)");
        return;
    }
    const char *name = flag ? arg : arg + strlen("MESH_VAR_");
    size_t nlen = (size_t)(eq - name);
    struct var *x = var_find(V, name, nlen);
    /* A sensitive value never reaches a message, not even in the label naming its source. */
    if (flag) snprintf(label, sizeof(label), "%s %.*s=%.200s", flag, (int)nlen, name, x && x->sensitive ? "(sensitive)" : eq + 1);
    else snprintf(label, sizeof(label), "MESH_VAR_%.*s", (int)nlen, name);
    if (!x) {
        char *n = xstrndup(name, nlen);
        unknown_msg(V, n, msg, sizeof(msg));
        free(n);
        /* The environment may hold variables for other specs (Terraform ignores an unknown
         * TF_VAR_ likewise): a warning. A --var was typed for this spec: an error. */
        if (flag) diag_error(V->c->dl, label, 0, 0, "%s", msg);
        else diag_add(V->c->dl, DIAG_WARNING, label, 0, 0, "ignored: %s", msg);
        return;
    }
    if (x->broken) return;
    json_t *v = text_value(eq + 1, x->type);
    if (!v) {
        if (x->sensitive || x->type == VT_LIST || x->type == VT_MAP)
            diag_error(V->c->dl, label, 0, 0, "variable `%s` must be %s%s", x->name, type_want[x->type],
                       x->type == VT_LIST ? " (YAML or JSON flow: [a, b])" : x->type == VT_MAP ? " (YAML or JSON flow: {k: v})" : "");
        else
            diag_error(V->c->dl, label, 0, 0, "variable `%s` must be %s, not `%.200s`", x->name, type_want[x->type], eq + 1);
        return;
    }
    var_set(x, v, flag ? "--var" : label);
}

static void load_env(struct vars *V)
{
    static const char prefix[] = "MESH_VAR_";
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, prefix, sizeof(prefix) - 1) == 0 && strchr(*e, '=') > *e + sizeof(prefix) - 1)
            set_from_text(V, NULL, *e);
}

/* ---- substitution ---- */

/* s with every "${" written as "$${": a value is text, never a reference. */
static void add_escaped(struct strbuf *sb, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') strbuf_addch(sb, '$');
        strbuf_addch(sb, s[i]);
    }
}

static void add_value_text(struct strbuf *sb, const json_t *v)
{
    if (json_is_string(v)) return add_escaped(sb, json_string_value(v), json_string_length(v));
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    if (t) add_escaped(sb, t, strlen(t));
    wipe_free(t);
}

static struct node *node_at(enum node_kind kind, const struct node *at, int sensitive)
{
    struct node *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->line = at->line;
    n->col = at->col;
    n->end_line = at->end_line;
    n->sensitive = sensitive;
    return n;
}

/* A typed value as a node tree positioned at `at`: strings quoted (so "3" stays a string). */
static struct node *json_to_node(const json_t *v, const struct node *at, int sensitive)
{
    struct node *n;
    if (json_is_object(v)) {
        n = node_at(NODE_MAP, at, sensitive);
        n->pairs = xcalloc(json_object_size(v) + 1, sizeof(*n->pairs));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            struct node *key = node_at(NODE_SCALAR, at, 0);
            key->scalar = xstrdup(k);
            key->quoted = 1;
            n->pairs[n->n++] = (struct node_pair){key, json_to_node(x, at, sensitive)};
        }
        return n;
    }
    if (json_is_array(v)) {
        n = node_at(NODE_SEQ, at, sensitive);
        n->items = xcalloc(json_array_size(v) + 1, sizeof(*n->items));
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) n->items[n->n++] = json_to_node(x, at, sensitive);
        return n;
    }
    n = node_at(NODE_SCALAR, at, sensitive);
    struct strbuf sb = STRBUF_INIT;
    add_value_text(&sb, v);
    n->scalar = sb.buf ? strbuf_detach(&sb) : xstrdup("");
    n->quoted = json_is_string(v);
    return n;
}

/* Length of the ${var.NAME} at s (which starts with "${var."), 0 when it is malformed. */
static size_t var_ref_len(const char *s, const char **name, size_t *nlen)
{
    const char *p = s + 6;
    *name = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-') p++;
    *nlen = (size_t)(p - *name);
    return *nlen && *p == '}' ? (size_t)(p - s) + 1 : 0;
}

/* What substituting v once costs: its text, and for lists and maps a node's worth per value. */
static size_t value_cost(const json_t *v)
{
    if (json_is_string(v)) return json_string_length(v) + 1;
    size_t cost = sizeof(struct node);
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) json_object_foreach((json_t *)v, k, x) cost += strlen(k) + sizeof(struct node) + value_cost(x);
    else if (json_is_array(v)) json_array_foreach(v, i, x) cost += value_cost(x);
    else cost += 24;  /* a number or boolean as text */
    return cost;
}

/* The variable a ${var.NAME} names, or NULL after reporting why it cannot be used. */
static struct var *use_var(struct vars *V, struct spec_dollars *pos, size_t k, const char *at, size_t len,
                           const char *name, size_t nlen)
{
    int line, col;
    spec_dollars_pos(pos, k, &line, &col);
    char msg[400];
    if (!len) {
        const char *close = strchr(at, '}');
        int shown = close ? (int)(close - at) + 1 : (int)strlen(at);
        diag_error(V->c->dl, V->c->file, line, col, "malformed variable reference `%.*s`: expected ${var.NAME}",
                   shown > 80 ? 80 : shown, at);
        return NULL;
    }
    struct var *x = var_find(V, name, nlen);
    if (!x) {
        char *nm = xstrndup(name, nlen);
        unknown_msg(V, nm, msg, sizeof(msg));
        free(nm);
        diag_error(V->c->dl, V->c->file, line, col, "%s", msg);
    }
    if (!x || !x->value || V->over) return NULL;
    /* A variable used many times multiplies its size: 12,000 uses of a 1 MB default in a 1 MB spec
     * were 12 GB. What the substitutions make is bounded like the file itself. */
    V->expanded += value_cost(x->value);
    if (V->expanded > SPEC_MAX_EXPANDED_BYTES) {
        diag_error(V->c->dl, V->c->file, line, col,
                   "variables expand the spec past %u MiB here (`%s` is used too often or is too large)",
                   SPEC_MAX_EXPANDED_BYTES >> 20, x->name);
        V->over = 1;
        return NULL;
    }
    return x;
}

/* The scalar with its variables substituted: n itself (changed in place), or a new tree for a
 * whole-string ${var.NAME} (n is then freed). */
static struct node *subst_scalar(struct vars *V, struct node *n)
{
    const char *s = n->scalar;
    if (!strstr(s, "${var.")) return n;
    const char *name;
    size_t nlen, len = var_ref_len(s, &name, &nlen);
    struct spec_dollars pos;
    spec_dollars_init(&pos, V->c->text, n, 1);
    if (strncmp(s, "${var.", 6) == 0 && len && s[len] == '\0') {
        struct var *x = use_var(V, &pos, 0, s, len, name, nlen);
        struct node *r = x ? json_to_node(x->value, n, x->sensitive) : NULL;
        if (!r) {  /* reported (or missing in lenient mode): an empty string keeps going */
            r = node_at(NODE_SCALAR, n, 0);
            r->scalar = xstrdup("");
            r->quoted = 1;
        }
        node_free(n);
        return r;
    }
    struct strbuf sb = STRBUF_INIT;
    size_t k = 0;
    for (size_t i = 0; s[i];) {
        if (s[i] == '$' && s[i + 1] == '$' && s[i + 2] == '{') {
            strbuf_add(&sb, s + i, 3);
            i += 3;
        } else if (strncmp(s + i, "${var.", 6) == 0) {
            len = var_ref_len(s + i, &name, &nlen);
            struct var *x = use_var(V, &pos, k++, s + i, len, name, nlen);
            if (x) {
                add_value_text(&sb, x->value);
                n->sensitive |= x->sensitive;
            }
            if (!len) break;  /* malformed: reported; the rest is not worth reading */
            i += len;
        } else {
            strbuf_addch(&sb, s[i++]);
        }
    }
    free(n->scalar);
    n->scalar = sb.buf ? strbuf_detach(&sb) : xstrdup("");
    n->quoted = 1;  /* text with something spliced in is a string */
    return n;
}

static struct node *subst(struct vars *V, struct node *n)
{
    if (n->kind == NODE_SCALAR) return subst_scalar(V, n);
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == NODE_MAP) n->pairs[i].value = subst(V, n->pairs[i].value);
        else n->items[i] = subst(V, n->items[i]);
    }
    return n;
}

/* ---- the pass ---- */

static void record(struct spec *s, struct vars *V)
{
    s->vars = json_object();
    for (size_t i = 0; i < V->n; i++) {
        struct var *x = &V->v[i];
        json_object_set_new(s->vars, x->name,
                            json_pack("{s:O?, s:b, s:s?, s:s}", "value", x->value, "sensitive", x->sensitive, "source",
                                      x->source, "type", type_names[x->type]));
    }
}

void vars_apply(struct spec *s, const struct spec_vars_in *in, const struct spec_ctx *c)
{
    const struct node *decls = node_get(s->root, "vars");
    size_t ndecl = decls && decls->kind == NODE_MAP ? decls->n : 0;
    struct vars V = {xcalloc(ndecl + 1, sizeof(struct var)), 0, c, MAP_INIT, 0, 0};
    for (size_t i = 0; i < ndecl; i++) {
        declare(&V, decls->pairs[i].key, decls->pairs[i].value);
        map_put(&V.by_name, V.v[V.n - 1].name, &V.v[V.n - 1]);  /* the loader dropped duplicate keys */
    }
    for (size_t i = 0; in && i < in->nfiles; i++) load_var_file(&V, in->files[i]);
    load_env(&V);
    for (size_t i = 0; in && i < in->nvars; i++) set_from_text(&V, "--var", in->vars[i]);
    for (size_t i = 0; i < V.n; i++) {
        struct var *x = &V.v[i];
        if (x->value || x->broken || (in && in->lenient)) continue;
        diag_error(c->dl, c->file, x->key->line, x->key->col,
                   "variable `%s` is required and has no value: pass --var %s=VALUE, set MESH_VAR_%s, or give it "
                   "in a --var-file", x->name, x->name, x->name);
    }
    struct node *root = s->root;
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->pairs[i].key->scalar, "vars") != 0) root->pairs[i].value = subst(&V, root->pairs[i].value);
    record(s, &V);
    for (size_t i = 0; i < V.n; i++) {
        json_decref(V.v[i].value);
        free(V.v[i].source);
    }
    map_release(&V.by_name);
    free(V.v);
}

int node_has_sensitive(const struct node *n)
{
    if (!n) return 0;
    if (n->sensitive) return 1;
    for (size_t i = 0; n->kind != NODE_SCALAR && i < n->n; i++)
        if (node_has_sensitive(n->kind == NODE_MAP ? n->pairs[i].value : n->items[i])) return 1;
    return 0;
}

static int name_listed(const json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_string_value(v) && strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

/* The raw resources: section marks attributes precisely (compile.c). The section compilers build
 * attributes from the tree in their own ways, so for their resources any attribute whose value
 * holds the text of a sensitive value is marked: a false positive only hides a value. */
void vars_mark_sensitive(struct spec *s)
{
    struct vec secrets = VEC_INIT;
    const char *name;
    json_t *v;
    json_object_foreach(s->vars, name, v) {
        if (!json_is_true(json_object_get(v, "sensitive")) || !json_object_get(v, "value")) continue;
        /* as it reads inside attribute values dumped as JSON: a string's escaped text */
        const json_t *val = json_object_get(v, "value");
        char *t = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if (t && json_is_string(val)) memmove(t, t + 1, strlen(t)), t[strlen(t) - 1] = '\0';
        if (t && *t) vec_push(&secrets, t);
        else free(t);
    }
    for (size_t i = 0; secrets.len && i < s->resources.len; i++) {
        struct spec_resource *r = s->resources.items[i];
        if (r->origin && strcmp(r->origin, "resources") == 0) continue;
        const char *k;
        json_t *a;
        json_object_foreach(r->attrs, k, a) {
            char *text = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
            int hit = 0;
            for (size_t j = 0; text && !hit && j < secrets.len; j++) hit = strstr(text, secrets.items[j]) != NULL;
            free(text);
            if (!hit) continue;
            if (!r->sensitive) r->sensitive = json_array();
            if (!name_listed(r->sensitive, k)) json_array_append_new(r->sensitive, json_string(k));
        }
    }
    vec_free_all(&secrets, wipe_free);
}
