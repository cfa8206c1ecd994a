/* node.c: the YAML node tree the loader builds, and its conversion to JSON under the YAML 1.2
 * core schema (so `3` is a number, `"3"` a string, `yes` a string, `~` null). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/wipe.h"
#include "spec/spec_int.h"

void node_free(struct node *n)
{
    if (!n) return;
    if (n->kind == NODE_MAP) {
        for (size_t i = 0; i < n->n; i++) {
            node_free(n->pairs[i].key);
            node_free(n->pairs[i].value);
        }
        free(n->pairs);
    } else if (n->kind == NODE_SEQ) {
        for (size_t i = 0; i < n->n; i++) node_free(n->items[i]);
        free(n->items);
    }
    wipe_free(n->scalar);  /* a sensitive variable's value, from a var file or substituted */
    free(n);
}

const struct node *node_get(const struct node *map, const char *key)
{
    if (!map || map->kind != NODE_MAP) return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->pairs[i].key->scalar, key) == 0) return map->pairs[i].value;
    return NULL;
}

static int is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0) return 1;
    return 0;
}

static int is_int(const char *s)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && s[2]) {
        const char *digits = s[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567";
        return strspn(s + 2, digits) == strlen(s + 2);
    }
    if (*s == '-' || *s == '+') s++;
    return *s && strspn(s, "0123456789") == strlen(s);
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? — the core schema's float. */
static int is_float(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    size_t intd = strspn(s, "0123456789");
    s += intd;
    size_t fracd = 0;
    if (*s == '.') {
        s++;
        fracd = strspn(s, "0123456789");
        s += fracd;
    }
    if (intd == 0 && fracd == 0) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') s++;
        size_t expd = strspn(s, "0123456789");
        if (!expd) return 0;
        s += expd;
    }
    return *s == '\0';
}

enum scalar_type node_scalar_type(const struct node *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE", NULL};
    if (n->kind != NODE_SCALAR || n->quoted) return SCALAR_STRING;
    if (is_one_of(n->scalar, nulls)) return SCALAR_NULL;
    if (is_one_of(n->scalar, bools)) return SCALAR_BOOL;
    if (is_int(n->scalar)) return SCALAR_INT;
    if (is_float(n->scalar)) return SCALAR_FLOAT;
    return SCALAR_STRING;
}

int node_is_null(const struct node *n) { return n->kind == NODE_SCALAR && node_scalar_type(n) == SCALAR_NULL; }

const char *node_kind_name(const struct node *n)
{
    if (n->kind == NODE_MAP) return "a map";
    if (n->kind == NODE_SEQ) return "a list";
    switch (node_scalar_type(n)) {
    case SCALAR_NULL: return "null";
    case SCALAR_BOOL: return "a boolean";
    case SCALAR_INT:
    case SCALAR_FLOAT: return "a number";
    default: return "a string";
    }
}

static json_t *scalar_to_json(const struct node *n)
{
    const char *s = n->scalar;
    switch (node_scalar_type(n)) {
    case SCALAR_NULL: return json_null();
    case SCALAR_BOOL: return json_boolean(s[0] == 't' || s[0] == 'T');
    case SCALAR_INT: {
        errno = 0;
        char *end;
        int base = s[0] == '0' && s[1] == 'x' ? 16 : s[0] == '0' && s[1] == 'o' ? 8 : 10;
        long long v = strtoll(base == 10 ? s : s + 2, &end, base);
        if (errno == 0) return json_integer(v);
        break;  /* too large for an integer: keep the text, never a silently rounded number */
    }
    case SCALAR_FLOAT: {
        errno = 0;
        double d = strtod(s, NULL);
        json_t *r = errno == 0 ? json_real(d) : NULL;
        if (r) return r;
        break;
    }
    default: break;
    }
    return json_string(s);
}

json_t *node_to_json(const struct node *n)
{
    if (!n) return json_null();
    if (n->kind == NODE_SCALAR) return scalar_to_json(n);
    if (n->kind == NODE_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; i < n->n; i++) json_array_append_new(a, node_to_json(n->items[i]));
        return a;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < n->n; i++)
        json_object_set_new(o, n->pairs[i].key->scalar, node_to_json(n->pairs[i].value));
    return o;
}
