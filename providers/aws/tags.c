/* tags.c: mesh's tags on AWS objects (see tags.h). */
#include "aws/tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/provider.h"
#include "base/xalloc.h"

char *aws_tag_text(const json_t *v)
{
    char buf[64];
    if (json_is_string(v)) return xstrdup(json_string_value(v));
    if (json_is_integer(v)) snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, sizeof(buf), "%g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" : "false");
    else buf[0] = '\0';
    return xstrdup(buf);
}

json_t *aws_mesh_tags(struct call *c, const json_t *user_tags)
{
    struct aws_handle *h = c->provider;
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)user_tags, key, v) {
        if (strncmp(key, "mesh:", 5) == 0) continue;
        char *s = aws_tag_text(v);
        json_object_set_new(o, key, json_string(s));
        free(s);
    }
    json_object_set_new(o, "mesh:address", json_string(c->address));
    json_object_set_new(o, "mesh:run", json_string(c->run_id ? c->run_id : ""));
    if (h && h->mesh_name) json_object_set_new(o, "mesh:name", json_string(h->mesh_name));
    return o;
}

int aws_tags_ours(struct call *c, const json_t *tags)
{
    const char *a = json_string_value(json_object_get(tags, "mesh:address"));
    const char *r = json_string_value(json_object_get(tags, "mesh:run"));
    return a && r && strcmp(a, c->address) == 0 && strcmp(r, c->run_id ? c->run_id : "") == 0;
}

json_t *aws_user_tags(const json_t *tags)
{
    json_t *o = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)tags, key, v)
        if (strncmp(key, "mesh:", 5) != 0) json_object_set(o, key, v);
    return o;
}

void aws_tags_diff(const json_t *have, const json_t *want, json_t **set, json_t **drop)
{
    json_t *user = aws_user_tags(want);  /* NULL: {} */
    const char *key;
    json_t *v;
    *set = json_object();
    *drop = json_array();
    json_object_foreach(user, key, v) {
        char *text = aws_tag_text(v);
        const char *cur = json_string_value(json_object_get(have, key));
        if (!cur || strcmp(cur, text) != 0) json_object_set_new(*set, key, json_string(text));
        free(text);
    }
    json_object_foreach((json_t *)have, key, v)
        if (strncmp(key, "mesh:", 5) != 0 && !json_object_get(user, key)) json_array_append_new(*drop, json_string(key));
    json_decref(user);
}

json_t *aws_tag_list(const json_t *tags, const char *key_name, const char *value_name)
{
    json_t *a = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)tags, key, v) {
        char *s = aws_tag_text(v);
        json_array_append_new(a, json_pack("{s:s, s:s}", key_name, key, value_name, s));
        free(s);
    }
    return a;
}

json_t *aws_tag_object(const json_t *list, const char *key_name, const char *value_name)
{
    json_t *o = json_object();
    size_t i;
    json_t *t;
    json_array_foreach((json_t *)list, i, t) {
        const char *k = json_string_value(json_object_get(t, key_name));
        const char *v = json_string_value(json_object_get(t, value_name));
        if (k) json_object_set_new(o, k, json_string(v ? v : ""));
    }
    return o;
}
