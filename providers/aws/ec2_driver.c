/* ec2_driver.c: the skeletons most EC2 drivers share (see ec2.h, "what most drivers share"):
 * find by mesh tags, create one object, describe one, read, tags-only update, delete with its
 * wait for dependencies (naming what still blocks it), and the clean-up of a failed create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"

int ec2_find_ours(struct call *c, const char *action, const char *set_path, ec2_outputs_fn *fn,
                  const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, action);
    ec2_filter_ours(c, &q);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    rc = MESH_ENOTFOUND;
    for (xmlNodePtr it = ec2_first_item(doc, set_path); it && rc; it = aws_xml_next(it, "item")) {
        if (!ec2_tagged_ours(c, aws_xml_find(it, "tagSet"))) continue;
        json_t *o = fn(it, desired);
        if (o) {
            *outputs = o;
            rc = 0;
        }
    }
    xmlFreeDoc(doc);
    return rc;
}

int ec2_create_one(struct call *c, struct aws_query *q, const char *item_path, ec2_outputs_fn *fn,
                   const json_t *desired, const char *id_name, json_t **outputs)
{
    char action[sizeof(q->action)];
    snprintf(action, sizeof(action), "%s", q->action);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, q, &doc);
    aws_query_release(q);
    if (rc) return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    json_t *o = fn(item_path ? aws_xml_find(root, item_path) : root, desired);
    xmlFreeDoc(doc);
    if (!o || !ec2_str(o, "id") || !*ec2_str(o, "id")) {  /* <vpcId/> is no ID either */
        json_decref(o);
        return mesh_err_set(c->err, MESH_ERR, c->address, "%s: the reply holds no %s", action, id_name);
    }
    *outputs = o;
    return 0;
}

int ec2_describe_one(struct call *c, const char *action, const char *id_param, const char *id, const char *set_path,
                     xmlDocPtr *doc, xmlNodePtr *item)
{
    struct aws_query q;
    ec2_query(&q, action);
    aws_query_add(&q, id_param, id);
    struct ec2_res r;
    *doc = NULL;
    *item = NULL;
    int rc = ec2_send(c, &q, doc, &r);
    aws_query_release(&q);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return ec2_fail(c, &r);
    *item = ec2_first_item(*doc, set_path);
    if (!*item) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        return MESH_ENOTFOUND;
    }
    return 0;
}

int ec2_type_describe(const struct ec2_type *t, struct call *c, const char *id, xmlDocPtr *doc, xmlNodePtr *item)
{
    return ec2_describe_one(c, t->describe, t->describe_id, id, t->set_path, doc, item);
}

int ec2_type_find(const struct ec2_type *t, struct call *c, ec2_outputs_fn *fn, const json_t *desired,
                  json_t **outputs)
{
    return ec2_find_ours(c, t->describe, t->set_path, fn, desired, outputs);
}

int ec2_type_read(const struct ec2_type *t, struct call *c, const json_t *outputs, ec2_fill_fn *fill,
                  json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    xmlDocPtr doc;
    xmlNodePtr it;
    int rc = ec2_type_describe(t, c, id, &doc, &it);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    rc = fill ? fill(c, it, outputs, cur) : 0;
    if (!rc) ec2_put_tags(cur, outputs, aws_xml_find(it, "tagSet"));
    xmlFreeDoc(doc);
    if (rc) {
        json_decref(cur);
        return rc;
    }
    *current = cur;
    return 0;
}

int ec2_update_tags(struct call *c, const json_t *outputs, const json_t *desired, const char *const *echo,
                    json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    int rc = ec2_sync_tags(c, id, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, echo);
    *new_outputs = o;
    return 0;
}

int ec2_type_update_tags(const struct ec2_type *t, struct call *c, const json_t *outputs, const json_t *prior,
                         const json_t *desired, json_t **new_outputs)
{
    (void)prior;
    return ec2_update_tags(c, outputs, desired, t->echo, new_outputs);
}

/* ---- delete, and what blocks it ---- */

/* Appends to buf the objects one blocker query finds ("eni-1 (ELB app/x), subnet-2"), at most
 * a few; returns how many it found, or -1 when the query failed (then nothing is known). */
static int list_blockers(struct call *c, const struct ec2_blocker *b, const char *id, char *buf, size_t n)
{
    struct aws_query q;
    ec2_query(&q, b->describe);
    aws_query_add(&q, "Filter.1.Name", b->filter);
    aws_query_add(&q, "Filter.1.Value.1", id);
    xmlDocPtr doc = NULL;
    struct ec2_res r;
    int rc = ec2_send(c, &q, &doc, &r);
    aws_query_release(&q);
    if (rc) return -1;
    int count = 0;
    size_t o = strlen(buf);
    for (xmlNodePtr it = ec2_first_item(doc, b->set_path); it; it = aws_xml_next(it, "item")) {
        char *oid = aws_xml_text(it, b->id_elem), *desc = b->desc_elem ? aws_xml_text(it, b->desc_elem) : NULL;
        int skip = !oid || strcmp(oid, id) == 0 || (b->skip_desc && desc && strcmp(desc, b->skip_desc) == 0);
        if (!skip && count < 8 && o + 8 < n)
            o += (size_t)snprintf(buf + o, n - o, "%s%s%s%s%s", o ? ", " : "", oid, desc && *desc ? " (" : "",
                                  desc && *desc ? desc : "", desc && *desc ? ")" : "");
        if (o >= n) o = n - 1;
        count += !skip;
        free(oid);
        free(desc);
    }
    xmlFreeDoc(doc);
    return count;
}

/* The objects that still use id, by the type's blocker queries (only those checked before the
 * delete when before is set); how many. */
static int blockers(const struct ec2_type *t, struct call *c, const char *id, int before, char *buf, size_t n)
{
    int total = 0;
    buf[0] = '\0';
    for (const struct ec2_blocker *b = t->blockers; b && b->describe; b++)
        if (!before || b->before) {
            int k = list_blockers(c, b, id, buf, n);
            if (k > 0) total += k;
        }
    return total;
}

/* msg without its leading "ACTION failed: " (aws_call.h's shape); msg itself otherwise. */
static const char *after_action(const char *msg, const char *action)
{
    size_t n = strlen(action);
    return strncmp(msg, action, n) == 0 && strncmp(msg + n, " failed: ", 9) == 0 ? msg + n + 9 : msg;
}

/* action(param=id) until it succeeds or answers not found. An error code in retry (a dependency
 * still going away) waits and tries again, up to limit seconds (scaled); meanwhile the progress
 * note and the final error name the answer and, when the type knows how to find them, the
 * objects that still use id. */
static int delete_loop(const struct ec2_type *t, struct call *c, const char *action, const char *param,
                       const char *id, const char *const *retry, double limit)
{
    struct ec2_wait w;
    ec2_wait_init(&w, c, limit);
    char users[600], what[1800];
    for (;;) {
        struct ec2_res r = {0};
        if (!t || blockers(t, c, id, 1, users, sizeof(users)) == 0) {  /* none known: try */
            struct aws_query q;
            ec2_query(&q, action);
            aws_query_add(&q, param, id);
            int rc = ec2_send(c, &q, NULL, &r);
            aws_query_release(&q);
            if (rc == 0 || rc == MESH_ENOTFOUND) return rc;
            int again = 0;
            for (size_t i = 0; retry && retry[i]; i++) again |= strcmp(r.err.cause, retry[i]) == 0;
            if (!again) return ec2_fail(c, &r);
            users[0] = '\0';
            if (t) blockers(t, c, id, 0, users, sizeof(users));
        }
        /* r.err.msg: "DeleteSubnet failed: DependencyViolation: The subnet ... (request id ...)";
         * the note says the action once: "DeleteSubnet subnet-1 answers DependencyViolation: ..." */
        const char *answer = r.err.cause[0] ? after_action(r.err.msg, action) : NULL;
        snprintf(what, sizeof(what), "%s %s %s%s%s%s", action, id,
                 answer ? "answers " : "waits until nothing uses it", answer ? answer : "",
                 users[0] ? "; still used by " : "", users);
        int rc = ec2_wait_next(&w, c, what);
        if (rc) return rc;
    }
}

int ec2_delete(struct call *c, const char *action, const char *param, const char *id, const char *const *retry,
               double limit)
{
    return delete_loop(NULL, c, action, param, id, retry, limit);
}

int ec2_type_delete_id(const struct ec2_type *t, struct call *c, const char *id)
{
    return delete_loop(t, c, t->remove, t->remove_id, id, t->retry, t->limit);
}

int ec2_type_delete(const struct ec2_type *t, struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    return id ? ec2_type_delete_id(t, c, id) : MESH_ERR;
}

struct call ec2_quiet(const struct call *c, struct mesh_err *e)
{
    mesh_err_init(e);
    struct call c2 = *c;
    c2.err = e;
    return c2;
}

void ec2_undo(struct call *c, const char *action, const char *param, const char *id)
{
    struct mesh_err e;
    struct call c2 = ec2_quiet(c, &e);
    c2.progress = NULL;  /* the clean-up's notes are not the create's */
    ec2_delete(&c2, action, param, id, NULL, 0);
}

int ec2_type_undo(const struct ec2_type *t, struct call *c, json_t *outputs, int rc)
{
    const char *id = ec2_str(outputs, "id");
    if (id && *id) ec2_undo(c, t->remove, t->remove_id, id);
    json_decref(outputs);
    return rc;
}
