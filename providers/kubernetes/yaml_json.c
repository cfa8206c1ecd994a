/* yaml_json.c: YAML -> jansson with libyaml events (see yaml_json.h). */
#include "kubernetes/yaml_json.h"

#include "kubernetes/kube.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/xalloc.h"

#define MAX_DEPTH 64
#define MAX_NODES 200000

struct frame {
    json_t *v;    /* object or array */
    char *key;    /* object: key read, value not yet */
};

struct builder {
    struct frame st[MAX_DEPTH];
    int depth;
    json_t *root;
    size_t count;
};

static json_t *plain_scalar(const char *s, size_t n)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) return json_false();
    if (n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
        return json_null();
    const char *p = s + (*s == '-' || *s == '+');
    if (*p >= '0' && *p <= '9' && strspn(p, "0123456789") == strlen(p) && strlen(p) < 18 && (p[0] != '0' || !p[1]))
        return json_integer(strtoll(s, NULL, 10));
    return json_stringn(s, n);
}

/* Places v (a new reference, stolen) under the open container; -1 when it cannot. */
static int attach(struct builder *b, json_t *v, int is_scalar, const char *what, struct mesh_err *e)
{
    if (++b->count > MAX_NODES) {
        json_decref(v);
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: more than %d values", what, MAX_NODES);
    }
    if (b->depth == 0) {
        json_decref(b->root);
        b->root = v;
        return 0;
    }
    struct frame *f = &b->st[b->depth - 1];
    if (json_is_array(f->v)) return json_array_append_new(f->v, v), 0;
    if (!f->key) {
        if (!is_scalar) {
            json_decref(v);
            return mesh_err_set(e, MESH_EINVAL, NULL, "%s: a key must be a plain scalar", what);
        }
        f->key = json_is_string(v) ? xstrdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
        json_decref(v);
        return 0;
    }
    json_object_set_new(f->v, f->key, v);
    free(f->key);
    f->key = NULL;
    return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev, const char *what, struct mesh_err *e)
{
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return mesh_err_set(e, MESH_EINVAL, NULL, "%s: YAML aliases are not supported (line %zu)", what,
                            ev->start_mark.line + 1);
    case YAML_SCALAR_EVENT: {
        const char *s = (const char *)ev->data.scalar.value;
        size_t n = ev->data.scalar.length;
        const char *tag = (const char *)ev->data.scalar.tag;
        int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !(tag && !strcmp(tag, YAML_STR_TAG));
        return attach(b, plain ? plain_scalar(s, n) : json_stringn(s, n), 1, what, e);
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (b->depth == MAX_DEPTH)
            return mesh_err_set(e, MESH_EINVAL, NULL, "%s: values nested deeper than %d levels", what, MAX_DEPTH);
        json_t *v = ev->type == YAML_MAPPING_START_EVENT ? json_object() : json_array();
        if (attach(b, json_incref(v), 0, what, e) < 0) {
            json_decref(v);
            return -1;
        }
        b->st[b->depth++] = (struct frame){v, NULL};
        return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        struct frame *f = &b->st[--b->depth];
        json_decref(f->v);
        free(f->key);
        return 0;
    }
    default:
        return 0;
    }
}

/* docs NULL: one document into *out; else every non-empty document appended to docs. */
static int parse(const char *text, size_t len, const char *what, json_t *docs, json_t **out, struct mesh_err *e)
{
    struct builder b = {.root = NULL};
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0, ndocs = 0;
    for (int done = 0; !done && rc == 0;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = mesh_err_set(e, MESH_EINVAL, NULL, "%s: not valid YAML: %s at line %zu column %zu", what,
                              p.problem ? p.problem : "syntax error", p.problem_mark.line + 1,
                              p.problem_mark.column + 1);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        if (docs && ev.type == YAML_DOCUMENT_END_EVENT) {
            if (b.root && !json_is_null(b.root)) json_array_append(docs, b.root);
            json_decref(b.root);
            b.root = NULL;
        } else if (!docs && ev.type == YAML_DOCUMENT_START_EVENT && ++ndocs > 1)
            rc = mesh_err_set(e, MESH_EINVAL, NULL, "%s: holds more than one YAML document", what);
        else
            rc = on_event(&b, &ev, what, e);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    while (b.depth > 0) {
        struct frame *f = &b.st[--b.depth];
        json_decref(f->v);
        free(f->key);
    }
    if (rc < 0) {
        json_decref(b.root);
        return rc;
    }
    if (docs) json_decref(b.root);
    else *out = b.root ? b.root : json_null();
    return 0;
}

int kube_yaml_to_json(const char *text, size_t len, const char *what, json_t **out, struct mesh_err *e)
{
    *out = NULL;
    return parse(text, len, what, NULL, out, e);
}

int kube_yaml_documents(const char *text, size_t len, const char *what, json_t **docs, struct mesh_err *e)
{
    *docs = json_array();
    int rc = parse(text, len, what, *docs, NULL, e);
    if (rc < 0) {
        json_decref(*docs);
        *docs = NULL;
    }
    return rc;
}
