/* iam.c: what the IAM drivers share (see iam.h). */
#include "aws/iam.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "aws/provider.h"
#include "aws/tags.h"
#include "aws/wait.h"
#include "base/xalloc.h"

void iam_query(struct aws_query *q, const char *action) { aws_query_init(q, action, IAM_VERSION); }

int iam_send(struct call *c, struct aws_query *q, xmlDocPtr *doc, struct mesh_err *e)
{
    int rc = aws_call_query(c, "iam", q, doc, e);
    aws_query_release(q);
    return rc;
}

int iam_do(struct call *c, struct aws_query *q, xmlDocPtr *doc)
{
    struct mesh_err e;
    int rc = iam_send(c, q, doc, &e);
    return rc ? aws_fail(c, &e) : 0;
}

/* IAM is eventually consistent: a role made a moment ago may answer NoSuchEntity elsewhere for
 * a few seconds. The one waiter paces the attempts (and honours cancel and the deadline). */
#define IAM_FRESH_LIMIT 15

int iam_do_fresh(struct call *c, struct aws_query *q, xmlDocPtr *doc)
{
    struct aws_wait w;
    aws_wait_init(&w, c, IAM_FRESH_LIMIT);
    for (;;) {
        struct mesh_err e;
        int rc = aws_call_query(c, "iam", q, doc, &e);
        if (rc == 0 || strcmp(e.cause, "NoSuchEntity") != 0) {
            aws_query_release(q);
            return rc ? aws_fail(c, &e) : 0;
        }
        char what[200];
        snprintf(what, sizeof(what), "%s answers NoSuchEntity (IAM has not yet seen a new object)", q->action);
        struct aws_handle *h = c->provider;
        if (h) atomic_fetch_add(&h->retries.used, 1);  /* each extra attempt counts as a retry */
        struct call quiet = ec2_quiet(c, &(struct mesh_err){0});
        if (aws_wait_next(&w, &quiet, what)) {
            aws_query_release(q);
            return aws_fail(c, &e);
        }
    }
}

xmlNodePtr iam_result(xmlDocPtr doc, const char *action)
{
    char name[96];
    snprintf(name, sizeof(name), "%sResult", action);
    return doc ? aws_xml_find(xmlDocGetRootElement(doc), name) : NULL;
}

int iam_each(struct call *c, const char *action, const char *const *params, const char *list_path,
             iam_member_fn *fn, void *ctx, struct mesh_err *e)
{
    char *marker = NULL;
    for (;;) {
        struct aws_query q;
        iam_query(&q, action);
        for (size_t i = 0; params && params[i]; i += 2) aws_query_add(&q, params[i], params[i + 1]);
        if (marker) aws_query_add(&q, "Marker", marker);
        free(marker);
        marker = NULL;
        xmlDocPtr doc = NULL;
        int rc = iam_send(c, &q, &doc, e);
        if (rc) return rc;
        xmlNodePtr res = iam_result(doc, action);
        xmlNodePtr list = aws_xml_find(res, list_path);
        for (xmlNodePtr m = aws_xml_first(list, "member"); m && !rc; m = aws_xml_next(m, "member"))
            rc = fn(m, ctx);
        char *trunc = aws_xml_text(res, "IsTruncated");
        if (!rc && trunc && strcmp(trunc, "true") == 0) marker = aws_xml_text(res, "Marker");
        free(trunc);
        xmlFreeDoc(doc);
        if (rc) return mesh_err_set(e, rc, c->address, "%s: stopped", action);
        if (!marker) return 0;
    }
}

struct list_ctx {
    const char *elem;
    json_t *out;
};

static int add_text(xmlNodePtr m, void *ctx)
{
    struct list_ctx *l = ctx;
    char *t = l->elem ? aws_xml_text(m, l->elem) : (char *)xmlNodeGetContent(m);
    if (t) json_array_append_new(l->out, json_string(t));
    if (l->elem) free(t);
    else xmlFree(t);
    return 0;
}

int iam_list(struct call *c, const char *action, const char *const *params, const char *list_path, const char *elem,
             json_t **out, struct mesh_err *e)
{
    struct list_ctx l = {elem, json_array()};
    int rc = iam_each(c, action, params, list_path, add_text, &l, e);
    if (rc) {
        json_decref(l.out);
        return rc;
    }
    *out = l.out;
    return 0;
}

/* ---- tags ---- */

static void add_tags(struct aws_query *q, const json_t *tags)
{
    const char *key;
    json_t *v;
    int k = 0;
    json_object_foreach((json_t *)tags, key, v) {
        k++;
        char name[64], *text = aws_tag_text(v);
        snprintf(name, sizeof(name), "Tags.member.%d.Key", k);
        aws_query_add(q, name, key);
        snprintf(name, sizeof(name), "Tags.member.%d.Value", k);
        aws_query_add(q, name, text);
        free(text);
    }
}

void iam_add_mesh_tags(struct call *c, struct aws_query *q, const json_t *user_tags)
{
    json_t *all = aws_mesh_tags(c, user_tags);
    add_tags(q, all);
    json_decref(all);
}

json_t *iam_tags(xmlNodePtr tags)
{
    json_t *o = json_object();
    for (xmlNodePtr m = aws_xml_first(tags, "member"); m; m = aws_xml_next(m, "member")) {
        char *k = aws_xml_text(m, "Key"), *v = aws_xml_text(m, "Value");
        if (k) json_object_set_new(o, k, json_string(v ? v : ""));
        free(k);
        free(v);
    }
    return o;
}

struct tag_ctx {
    json_t *tags;
};

static int add_tag_member(xmlNodePtr m, void *ctx)
{
    struct tag_ctx *t = ctx;
    char *k = aws_xml_text(m, "Key"), *v = aws_xml_text(m, "Value");
    if (k) json_object_set_new(t->tags, k, json_string(v ? v : ""));
    free(k);
    free(v);
    return 0;
}

/* The tag actions of each kind, spelt out so that a search of the sources finds every action
 * mesh calls (the drivers' permissions are held to them: tests/unit/test_iam_policy.c). */
static const struct {
    const char *kind, *tag, *untag, *list;
} tag_actions[] = {
    {"Role", "TagRole", "UntagRole", "ListRoleTags"},
    {"Policy", "TagPolicy", "UntagPolicy", "ListPolicyTags"},
    {"OpenIDConnectProvider", "TagOpenIDConnectProvider", "UntagOpenIDConnectProvider", "ListOpenIDConnectProviderTags"},
};

static int tag_kind(const char *kind)
{
    for (size_t i = 0; i < sizeof(tag_actions) / sizeof(tag_actions[0]); i++)
        if (strcmp(tag_actions[i].kind, kind) == 0) return (int)i;
    abort();  /* a new kind needs its line above */
}

int iam_read_tags(struct call *c, const char *kind, const char *param, const char *value, json_t **tags,
                  struct mesh_err *e)
{
    const char *action = tag_actions[tag_kind(kind)].list;
    const char *params[] = {param, value, NULL};
    struct tag_ctx t = {json_object()};
    int rc = iam_each(c, action, params, "Tags", add_tag_member, &t, e);
    if (rc) {
        json_decref(t.tags);
        return rc;
    }
    *tags = t.tags;
    return 0;
}

int iam_sync_tags(struct call *c, const char *kind, const char *param, const char *value, const json_t *want)
{
    struct mesh_err e;
    json_t *have = NULL;
    int rc = iam_read_tags(c, kind, param, value, &have, &e);
    if (rc) return aws_fail(c, &e);
    json_t *set, *drop;
    aws_tags_diff(have, want, &set, &drop);
    struct aws_query q;
    int k = tag_kind(kind);
    if (json_object_size(set)) {
        iam_query(&q, tag_actions[k].tag);
        aws_query_add(&q, param, value);
        add_tags(&q, set);
        rc = iam_do(c, &q, NULL);
    }
    if (!rc && json_array_size(drop)) {
        iam_query(&q, tag_actions[k].untag);
        aws_query_add(&q, param, value);
        size_t i;
        json_t *k;
        json_array_foreach(drop, i, k) {
            char name[64];
            snprintf(name, sizeof(name), "TagKeys.member.%zu", i + 1);
            aws_query_add(&q, name, json_string_value(k));
        }
        rc = iam_do(c, &q, NULL);
    }
    json_decref(set);
    json_decref(drop);
    json_decref(have);
    return rc;
}

/* ---- policy documents ---- */

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

char *iam_url_decode(const char *s)
{
    if (!s) return NULL;
    const char *p = s;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '{') return xstrdup(s);
    size_t n = strlen(s);
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 && (lo = hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

char *iam_canonical(const char *text)
{
    if (!text) return NULL;
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j) return NULL;
    char *out = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return out;
}

void iam_observe_doc(json_t *cur, const json_t *outputs, const char *key, const char *world)
{
    char *plain = iam_url_decode(world);
    char *w = iam_canonical(plain);
    const char *mine = json_string_value(json_object_get(outputs, key));
    char *m = iam_canonical(mine);
    if (w && m && strcmp(w, m) == 0) json_object_set_new(cur, key, json_string(mine));
    else if (w) json_object_set_new(cur, key, json_string(w));
    else if (plain) json_object_set_new(cur, key, json_string(plain));
    free(plain);
    free(w);
    free(m);
}

int iam_check_doc(const json_t *desired, const char *key, check_report_fn report, void *ctx)
{
    const char *text = json_string_value(json_object_get(desired, key));
    if (!text || strstr(text, "${")) return 0;
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    int bad = !json_is_object(j);
    json_decref(j);
    if (!bad) return 0;
    char msg[300];
    snprintf(msg, sizeof(msg), "not a JSON policy document (%s at line %d, column %d)", je.text, je.line, je.column);
    report(ctx, key, msg);
    return 1;
}

/* ---- lists ---- */

int iam_list_has(const json_t *l, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)l, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

void iam_observe_set(json_t *cur, const json_t *outputs, const char *key, json_t *world)
{
    const json_t *mine = json_object_get(outputs, key);
    int same = json_is_array(mine) && json_array_size(mine) == json_array_size(world);
    size_t i;
    json_t *v;
    json_array_foreach(world, i, v) same = same && iam_list_has(mine, json_string_value(v));
    json_array_foreach((json_t *)mine, i, v) same = same && json_is_string(v) && iam_list_has(world, json_string_value(v));
    if (same) {
        json_object_set(cur, key, (json_t *)mine);
        json_decref(world);
        return;
    }
    size_t n = json_array_size(world);
    json_t **items = xcalloc(n ? n : 1, sizeof(*items));
    for (i = 0; i < n; i++) items[i] = json_array_get(world, i);
    qsort(items, n, sizeof(*items), by_text);
    json_t *sorted = json_array();
    for (i = 0; i < n; i++) json_array_append(sorted, items[i]);
    free(items);
    json_decref(world);
    ec2_observe(cur, outputs, key, sorted, n == 0);
}
