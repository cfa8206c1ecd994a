/* ref.c: parsing and resolving ${ADDRESS.OUTPUT} references (see ref.h). */
#include "spec/ref.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/wipe.h"
#include "base/xalloc.h"

#define UNKNOWN_KEY "$mesh_unknown"

void ref_free(void *p)
{
    struct ref *r = p;
    if (!r) return;
    free(r->address);
    free(r->output);
    free(r);
}

static int is_type_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }
static int is_name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-'; }

int ref_address_valid(const char *a)
{
    if (!(*a >= 'a' && *a <= 'z')) return 0;
    while (is_type_char(*a)) a++;
    int names = 0;
    while (*a == '.') {
        a++;
        if (!is_name_char(*a)) return 0;
        while (is_name_char(*a)) a++;
        names++;
    }
    return *a == '\0' && names >= 1;
}

int ref_parse(const char *s, struct vec *refs, char *errmsg, size_t errlen, size_t *erroff)
{
    for (size_t i = 0; s[i]; i++) {
        if (s[i] != '$') continue;
        if (s[i + 1] == '$' && s[i + 2] == '{') {  /* "$${": literal */
            i += 2;
            continue;
        }
        if (s[i + 1] != '{') continue;
        const char *close = strchr(s + i + 2, '}');
        if (!close) {
            snprintf(errmsg, errlen, "unterminated reference: \"${\" without a closing \"}\" (write \"$${\" for a literal \"${\")");
            *erroff = i;
            return -1;
        }
        size_t n = (size_t)(close - (s + i + 2));
        char *inner = xstrndup(s + i + 2, n);
        char *dot = strrchr(inner, '.');
        if (n == 0 || !dot || dot == inner || !dot[1]) {
            snprintf(errmsg, errlen, "malformed reference \"${%s}\": expected ${TYPE.NAME.OUTPUT}", inner);
            *erroff = i;
            free(inner);
            return -1;
        }
        *dot = '\0';
        const char *out = dot + 1;
        int out_ok = 1;
        for (const char *p = out; *p; p++)
            if (!is_name_char(*p)) out_ok = 0;
        if (!ref_address_valid(inner) || !out_ok) {
            *dot = '.';
            snprintf(errmsg, errlen,
                     "malformed reference \"${%s}\": expected ${TYPE.NAME.OUTPUT} (TYPE [a-z][a-z0-9_]*, "
                     "NAME [A-Za-z0-9_-]+)", inner);
            *erroff = i;
            free(inner);
            return -1;
        }
        struct ref *r = xcalloc(1, sizeof(*r));
        r->address = xstrdup(inner);
        r->output = xstrdup(out);
        r->start = i;
        r->end = (size_t)(close - s) + 1;
        vec_push(refs, r);
        free(inner);
        i = r->end - 1;
    }
    return 0;
}

static json_t *unknown_marker;

const json_t *ref_unknown(void)
{
    /* Built once, before threads start (spec loading is single-threaded). */
    if (!unknown_marker) unknown_marker = json_pack("{s:b}", UNKNOWN_KEY, 1);
    return unknown_marker;
}

/* Freed at exit, after every thread is joined, so valgrind sees no block left behind. */
__attribute__((destructor)) static void ref_unknown_release(void)
{
    json_decref(unknown_marker);
    unknown_marker = NULL;
}

int ref_is_unknown(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 && json_object_get(v, UNKNOWN_KEY);
}

int ref_has_unknown(const json_t *v)
{
    if (ref_is_unknown(v)) return 1;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) if (ref_has_unknown(x)) return 1;
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (ref_has_unknown(x)) return 1;
    }
    return 0;
}

static void append_value_text(struct strbuf *sb, const json_t *v)
{
    if (json_is_string(v)) {
        strbuf_add(sb, json_string_value(v), json_string_length(v));
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        if (t) strbuf_adds(sb, t);
        wipe_free(t);  /* the value may be a secret spliced into a string */
    }
}

static json_t *resolve_string(const char *s, ref_lookup_fn lookup, void *ctx, int *unknown)
{
    struct vec refs = VEC_INIT;
    char msg[8];
    size_t off;
    if (ref_parse(s, &refs, msg, sizeof(msg), &off) < 0) {
        /* The loader rejects malformed references; anything left is literal text. */
        vec_free_all(&refs, ref_free);
        return json_string(s);
    }
    if (refs.len == 1) {
        struct ref *r = refs.items[0];
        if (r->start == 0 && s[r->end] == '\0') {
            const json_t *v = lookup(ctx, r->address, r->output);
            vec_free_all(&refs, ref_free);
            if (!v || ref_is_unknown(v)) {
                *unknown = 1;
                return json_deep_copy(ref_unknown());
            }
            return json_deep_copy(v);
        }
    }
    struct strbuf sb = STRBUF_INIT;
    size_t pos = 0;
    int missing = 0;
    for (size_t k = 0; k <= refs.len; k++) {
        size_t upto = k < refs.len ? ((struct ref *)refs.items[k])->start : strlen(s);
        for (size_t i = pos; i < upto; i++) {
            if (s[i] == '$' && s[i + 1] == '$' && s[i + 2] == '{') {
                strbuf_adds(&sb, "${");
                i += 2;
            } else {
                strbuf_addch(&sb, s[i]);
            }
        }
        if (k == refs.len) break;
        struct ref *r = refs.items[k];
        const json_t *v = lookup(ctx, r->address, r->output);
        if (!v || ref_is_unknown(v)) missing = 1;
        else append_value_text(&sb, v);
        pos = r->end;
    }
    vec_free_all(&refs, ref_free);
    if (missing) {
        strbuf_release(&sb);
        *unknown = 1;
        return json_deep_copy(ref_unknown());
    }
    json_t *out = json_stringn(sb.buf ? sb.buf : "", sb.len);
    strbuf_release(&sb);
    return out;
}

json_t *ref_resolve(const json_t *v, ref_lookup_fn lookup, void *ctx, int *unknown)
{
    if (json_is_string(v)) return resolve_string(json_string_value(v), lookup, ctx, unknown);
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) json_object_set_new(o, k, ref_resolve(x, lookup, ctx, unknown));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(a, ref_resolve(x, lookup, ctx, unknown));
        return a;
    }
    return json_deep_copy(v);
}
