/* kubeconfig_write.c: read a kubeconfig into a tree that remembers how each node was written
 * (style, tag), swap in one cluster's entries, and write it back with libyaml's emitter (see
 * kubeconfig_write.h). Keeping styles and tags, rather than converting to JSON, means a value the
 * user wrote as `yes` or `'0123'` reads back exactly as before, whatever YAML schema kubectl
 * applies. */
#include "kubeconfig_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "base/xalloc.h"

enum kc_kind { KC_SCALAR, KC_MAP, KC_SEQ };

struct kc_node {
    enum kc_kind kind;
    char *text;          /* KC_SCALAR */
    char *tag;           /* as written, or NULL */
    int style;           /* yaml_scalar_style_t, or the collection's block/flow style */
    int plain_implicit, quoted_implicit, implicit;
    struct vec kids;     /* KC_MAP: key, value, key, value...; KC_SEQ: the items */
};

static void kc_free(void *p)
{
    struct kc_node *n = p;
    if (!n) return;
    vec_free_all(&n->kids, kc_free);
    free(n->text);
    free(n->tag);
    free(n);
}

static struct kc_node *kc_new(enum kc_kind kind)
{
    struct kc_node *n = xcalloc(1, sizeof(*n));
    n->kind = kind;
    n->implicit = 1;
    return n;
}

static struct kc_node *kc_copy(const struct kc_node *n)
{
    struct kc_node *c = xcalloc(1, sizeof(*c));
    *c = *n;
    c->text = n->text ? xstrdup(n->text) : NULL;
    c->tag = n->tag ? xstrdup(n->tag) : NULL;
    vec_init(&c->kids);
    for (size_t i = 0; i < n->kids.len; i++) vec_push(&c->kids, kc_copy(n->kids.items[i]));
    return c;
}

/* A plain scalar some YAML schema (1.1 as go-yaml v2 reads, or 1.2) would not read as a string. */
static int plain_is_not_string(const char *s)
{
    static const char *const words[] = {"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
                                        ".inf", "-.inf", "+.inf", ".nan", NULL};
    if (!*s) return 1;
    for (int i = 0; words[i]; i++)
        if (strcasecmp(s, words[i]) == 0) return 1;
    if (s[0] >= '0' && s[0] <= '9') return 1;
    return strchr("+-.", s[0]) && ((s[1] >= '0' && s[1] <= '9') || s[1] == '.');
}

/* A string mesh adds: plain when it reads back as the same string, else quoted by the emitter. */
static struct kc_node *kc_str(const char *s)
{
    struct kc_node *n = kc_new(KC_SCALAR);
    n->text = xstrdup(s);
    n->style = YAML_ANY_SCALAR_STYLE;
    n->plain_implicit = !plain_is_not_string(s);
    n->quoted_implicit = 1;
    return n;
}

static int kc_is_null(const struct kc_node *n)
{
    if (n->kind != KC_SCALAR || n->tag || n->style != YAML_PLAIN_SCALAR_STYLE) return 0;
    return !n->text[0] || !strcmp(n->text, "~") || !strcasecmp(n->text, "null");
}

static void kc_put(struct kc_node *map, const char *key, struct kc_node *value)
{
    vec_push(&map->kids, kc_str(key));
    vec_push(&map->kids, value);
}

/* The value of key in map (a plain or quoted scalar key), or NULL; *slot: its index. */
static struct kc_node *kc_get(const struct kc_node *map, const char *key, size_t *slot)
{
    for (size_t i = 0; map->kind == KC_MAP && i + 1 < map->kids.len; i += 2) {
        const struct kc_node *k = map->kids.items[i];
        if (k->kind == KC_SCALAR && strcmp(k->text, key) == 0) {
            if (slot) *slot = i + 1;
            return map->kids.items[i + 1];
        }
    }
    return NULL;
}

/* ---- reading ---- */

struct reader {
    yaml_parser_t parser;
    const char *file;
    struct vec anchors;  /* name, node, name, node...: borrowed from the tree */
    struct mesh_err *err;
};

static int rd_fail(struct reader *r, const yaml_mark_t *mark, const char *what)
{
    char where[256];
    snprintf(where, sizeof(where), "%s:%zu:%zu", r->file, mark->line + 1, mark->column + 1);
    return mesh_err_set(r->err, MESH_EINVAL, where, "%s", what);
}

static int rd_event(struct reader *r, yaml_event_t *ev)
{
    if (yaml_parser_parse(&r->parser, ev)) return 0;
    char msg[512];
    snprintf(msg, sizeof(msg), "not valid YAML: %s%s%s", r->parser.problem ? r->parser.problem : "parse error",
             r->parser.context ? " " : "", r->parser.context ? r->parser.context : "");
    return rd_fail(r, &r->parser.problem_mark, msg);
}

/* The node that starts with ev (consumed); NULL with r->err set. */
static struct kc_node *rd_node(struct reader *r, yaml_event_t *ev)
{
    struct kc_node *n = NULL;
    const char *anchor = NULL;
    const yaml_char_t *tag = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        for (size_t i = r->anchors.len; i >= 2; i -= 2)
            if (strcmp(r->anchors.items[i - 2], (char *)ev->data.alias.anchor) == 0) return kc_copy(r->anchors.items[i - 1]);
        rd_fail(r, &ev->start_mark, "an alias to an unknown anchor");
        return NULL;
    case YAML_SCALAR_EVENT:
        n = kc_new(KC_SCALAR);
        n->text = xstrndup((char *)ev->data.scalar.value, ev->data.scalar.length);
        n->style = ev->data.scalar.style;
        n->plain_implicit = ev->data.scalar.plain_implicit;
        n->quoted_implicit = ev->data.scalar.quoted_implicit;
        anchor = (char *)ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT: {
        int map = ev->type == YAML_MAPPING_START_EVENT;
        n = kc_new(map ? KC_MAP : KC_SEQ);
        n->style = map ? (int)ev->data.mapping_start.style : (int)ev->data.sequence_start.style;
        n->implicit = map ? ev->data.mapping_start.implicit : ev->data.sequence_start.implicit;
        anchor = (char *)(map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor);
        tag = map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
        yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
        for (;;) {
            yaml_event_t kid;
            if (rd_event(r, &kid)) goto fail;
            if (kid.type == end) {
                yaml_event_delete(&kid);
                break;
            }
            struct kc_node *k = rd_node(r, &kid);
            yaml_event_delete(&kid);
            if (!k) goto fail;
            vec_push(&n->kids, k);
        }
        break;
    }
    default:
        rd_fail(r, &ev->start_mark, "unexpected YAML event");
        return NULL;
    }
    n->tag = tag ? xstrdup((char *)tag) : NULL;
    if (anchor) {
        vec_push(&r->anchors, xstrdup(anchor));
        vec_push(&r->anchors, n);
    }
    return n;
fail:
    kc_free(n);
    return NULL;
}

/* The document's root, or NULL (and no error) for a stream without one. */
static int rd_document(struct reader *r, struct kc_node **root)
{
    yaml_event_t ev;
    *root = NULL;
    int rc = 0;
    while (rc == 0 && !(rc = rd_event(r, &ev))) {
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && *root) rc = rd_fail(r, &ev.start_mark, "more than one YAML document");
        else if (t != YAML_STREAM_START_EVENT && t != YAML_DOCUMENT_START_EVENT && t != YAML_DOCUMENT_END_EVENT)
            rc = (*root = rd_node(r, &ev)) ? 0 : -1;
        yaml_event_delete(&ev);
    }
    if (rc) {
        kc_free(*root);
        *root = NULL;
    }
    return rc ? MESH_EINVAL : 0;
}

static int kc_parse(const char *file, const char *text, size_t len, struct kc_node **root, struct mesh_err *err)
{
    struct reader r = {.file = file, .err = err};
    vec_init(&r.anchors);
    yaml_parser_initialize(&r.parser);
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    int rc = rd_document(&r, root);
    for (size_t i = 0; i < r.anchors.len; i += 2) free(r.anchors.items[i]);
    vec_release(&r.anchors);
    yaml_parser_delete(&r.parser);
    return rc;
}

/* ---- merging ---- */

static struct kc_node *entry_named(const char *name, const char *field, struct kc_node *body)
{
    struct kc_node *m = kc_new(KC_MAP);
    if (strcmp(field, "user") == 0) {  /* kubectl's order: name first for users */
        kc_put(m, "name", kc_str(name));
        kc_put(m, field, body);
    } else {
        kc_put(m, field, body);
        kc_put(m, "name", kc_str(name));
    }
    return m;
}

static struct kc_node *cluster_entry(const struct kubeconfig_entry *e)
{
    struct kc_node *c = kc_new(KC_MAP);
    if (e->ca_data && *e->ca_data) kc_put(c, "certificate-authority-data", kc_str(e->ca_data));
    kc_put(c, "server", kc_str(e->server));
    return entry_named(e->name, "cluster", c);
}

static struct kc_node *user_entry(const struct kubeconfig_entry *e)
{
    struct kc_node *x = kc_new(KC_MAP), *args = kc_new(KC_SEQ), *u = kc_new(KC_MAP);
    kc_put(x, "apiVersion", kc_str("client.authentication.k8s.io/v1"));
    for (size_t i = 0; i < e->nargs; i++) vec_push(&args->kids, kc_str(e->args[i]));
    kc_put(x, "args", args);
    kc_put(x, "command", kc_str(e->command));
    kc_put(x, "interactiveMode", kc_str("Never"));
    kc_put(u, "exec", x);
    return entry_named(e->name, "user", u);
}

static struct kc_node *context_entry(const struct kubeconfig_entry *e)
{
    struct kc_node *c = kc_new(KC_MAP);
    kc_put(c, "cluster", kc_str(e->name));
    kc_put(c, "user", kc_str(e->name));
    return entry_named(e->name, "context", c);
}

/* A file written as JSON (kubectl reads those too) stays JSON: what mesh adds to it is written
 * in flow style with double-quoted strings. */
static struct kc_node *kc_as_json(struct kc_node *n, int json)
{
    if (!json) return n;
    if (n->kind == KC_SCALAR && n->style == YAML_ANY_SCALAR_STYLE) n->style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    else if (n->kind == KC_MAP) n->style = YAML_FLOW_MAPPING_STYLE;
    else if (n->kind == KC_SEQ) n->style = YAML_FLOW_SEQUENCE_STYLE;
    for (size_t i = 0; i < n->kids.len; i++) kc_as_json(n->kids.items[i], json);
    return n;
}

/* Sets key of root to value (replacing the old value where it was, or appending), in the file's
 * style. */
static void root_set(struct kc_node *root, const char *key, struct kc_node *value)
{
    int json = root->style == YAML_FLOW_MAPPING_STYLE;
    size_t slot;
    struct kc_node *old = kc_get(root, key, &slot);
    kc_as_json(value, json);
    if (old) {
        kc_free(old);
        root->kids.items[slot] = value;
        return;
    }
    vec_push(&root->kids, kc_as_json(kc_str(key), json));
    vec_push(&root->kids, value);
}

/* The list under key (made when absent or null); MESH_EINVAL when it is something else. */
static int list_of(const char *file, struct kc_node *root, const char *key, struct kc_node **list, struct mesh_err *err)
{
    size_t slot;
    struct kc_node *v = kc_get(root, key, &slot);
    if (v && v->kind == KC_SEQ) {
        *list = v;
        return 0;
    }
    if (v && !kc_is_null(v))
        return mesh_err_set(err, MESH_EINVAL, file, "not a kubeconfig: `%s` is not a list", key);
    *list = kc_new(KC_SEQ);
    root_set(root, key, *list);
    return 0;
}

/* Replaces the entries named name (the first keeps its place) by entry, or appends it. */
static void list_put(struct kc_node *list, const char *name, struct kc_node *entry)
{
    size_t out = 0;
    int placed = 0;
    for (size_t i = 0; i < list->kids.len; i++) {
        struct kc_node *item = list->kids.items[i];
        struct kc_node *n = kc_get(item, "name", NULL);
        if (n && n->kind == KC_SCALAR && strcmp(n->text, name) == 0) {
            kc_free(item);
            if (placed) continue;
            item = entry;
            placed = 1;
        }
        list->kids.items[out++] = item;
    }
    list->kids.len = out;
    if (!placed) vec_push(&list->kids, entry);
}

/* A new kubeconfig in kubectl's key order. */
static struct kc_node *kc_skeleton(void)
{
    struct kc_node *root = kc_new(KC_MAP);
    kc_put(root, "apiVersion", kc_str("v1"));
    kc_put(root, "clusters", kc_new(KC_SEQ));
    kc_put(root, "contexts", kc_new(KC_SEQ));
    kc_put(root, "current-context", kc_str(""));
    kc_put(root, "kind", kc_str("Config"));
    kc_put(root, "preferences", kc_new(KC_MAP));
    kc_put(root, "users", kc_new(KC_SEQ));
    return root;
}

/* ---- writing ---- */

static int emit_out(void *data, unsigned char *buf, size_t size)
{
    strbuf_add(data, buf, size);
    return 1;
}

static int emit_node(yaml_emitter_t *em, const struct kc_node *n)
{
    yaml_event_t ev;
    yaml_char_t *tag = (yaml_char_t *)n->tag;
    int ok;
    if (n->kind == KC_SCALAR) {
        ok = yaml_scalar_event_initialize(&ev, NULL, tag, (yaml_char_t *)n->text, (int)strlen(n->text),
                                          n->plain_implicit, n->quoted_implicit, n->style);
        return ok && yaml_emitter_emit(em, &ev) ? 0 : -1;
    }
    if (n->kind == KC_MAP) ok = yaml_mapping_start_event_initialize(&ev, NULL, tag, n->implicit, n->style);
    else ok = yaml_sequence_start_event_initialize(&ev, NULL, tag, n->implicit, n->style);
    if (!ok || !yaml_emitter_emit(em, &ev)) return -1;
    for (size_t i = 0; i < n->kids.len; i++)
        if (emit_node(em, n->kids.items[i])) return -1;
    ok = n->kind == KC_MAP ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    return ok && yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int kc_emit(const struct kc_node *root, char **out, struct mesh_err *err)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    struct strbuf sb = STRBUF_INIT;
    yaml_emitter_initialize(&em);
    yaml_emitter_set_output(&em, emit_out, &sb);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);  /* a CA's base64 stays on one line, as kubectl writes it */
    int rc = -1;
    if (yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(&em, &ev) &&
        yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) && yaml_emitter_emit(&em, &ev) &&
        emit_node(&em, root) == 0 && yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
        yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev))
        rc = 0;
    if (rc) {
        mesh_err_set(err, MESH_ERR, NULL, "writing the kubeconfig: %s", em.problem ? em.problem : "YAML emitter failed");
        strbuf_release(&sb);
    } else {
        *out = strbuf_detach(&sb);
    }
    yaml_emitter_delete(&em);
    return rc;
}

int kubeconfig_merge(const char *file, const char *existing, size_t len, const struct kubeconfig_entry *e, char **out,
                     struct mesh_err *err)
{
    struct kc_node *root = NULL;
    *out = NULL;
    if (existing && kc_parse(file, existing, len, &root, err)) return MESH_EINVAL;
    if (root && kc_is_null(root)) {
        kc_free(root);
        root = NULL;
    }
    if (!root) root = kc_skeleton();
    struct kc_node *clusters, *users, *contexts;
    int rc = root->kind != KC_MAP ? mesh_err_set(err, MESH_EINVAL, file, "not a kubeconfig: its top level is not a mapping")
                                  : 0;
    if (!rc) rc = list_of(file, root, "clusters", &clusters, err);
    if (!rc) rc = list_of(file, root, "users", &users, err);
    if (!rc) rc = list_of(file, root, "contexts", &contexts, err);
    if (!rc) {
        int json = root->style == YAML_FLOW_MAPPING_STYLE;
        list_put(clusters, e->name, kc_as_json(cluster_entry(e), json));
        list_put(users, e->name, kc_as_json(user_entry(e), json));
        list_put(contexts, e->name, kc_as_json(context_entry(e), json));
        root_set(root, "current-context", kc_str(e->name));
        rc = kc_emit(root, out, err);
    }
    kc_free(root);
    return rc;
}
