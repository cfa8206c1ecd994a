/* eks.c: what the EKS drivers share (see eks.h). */
#include "aws/eks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/tags.h"
#include "aws/wait.h"
#include "base/duration.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

static const char *const cluster_failed[] = {"FAILED", NULL};
static const char *const nodegroup_failed[] = {"CREATE_FAILED", "DELETE_FAILED", "DEGRADED", NULL};
/* An add-on DEGRADED after its node groups exist will not heal by waiting (as Terraform). */
static const char *const addon_failed[] = {"CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED", "DEGRADED", NULL};

const struct eks_kind eks_cluster_kind = {"cluster", "cluster", "DescribeCluster", cluster_failed};
const struct eks_kind eks_nodegroup_kind = {"node group", "nodegroup", "DescribeNodegroup", nodegroup_failed};
const struct eks_kind eks_addon_kind = {"add-on", "addon", "DescribeAddon", addon_failed};

const char *eks_path(char *buf, size_t n, const char *cluster, const char *sub, const char *name)
{
    char a[512], b[512];
    aws_path_segment(cluster ? cluster : "", a, sizeof(a));
    if (!sub) snprintf(buf, n, "/clusters/%s", a);
    else snprintf(buf, n, "/clusters/%s/%s/%s", a, sub, aws_path_segment(name ? name : "", b, sizeof(b)));
    return buf;
}

int eks_describe(struct call *c, const struct eks_kind *k, const char *path, json_t **obj)
{
    *obj = NULL;
    json_t *reply = NULL;
    struct mesh_err e;
    int rc = aws_call_rest(c, "eks", k->describe, "GET", path, NULL, NULL, &reply, &e);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return aws_fail(c, &e);
    json_t *o = json_object_get(reply, k->key);
    if (!json_is_object(o)) {
        json_decref(reply);
        return mesh_err_set(c->err, MESH_ERR, c->address, "%s: the answer has no %s", k->describe, k->key);
    }
    *obj = json_incref(o);
    json_decref(reply);
    return 0;
}

/* "3m10s", "45s", "1h02m". */
static void elapsed(double s, char *buf, size_t n)
{
    long t = (long)s;
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, t % 3600 / 60);
    else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%lds", t);
}

static int listed(const char *s, const char *const *list)
{
    for (size_t i = 0; s && list && list[i]; i++)
        if (strcmp(s, list[i]) == 0) return 1;
    return 0;
}

struct poll_ctx {
    const struct eks_kind *k;
    const char *path, *name;
    double start;
    json_t *last;  /* the last description */
    int gone;      /* 1: wait until not found; 0: until ACTIVE */
};

static int poll_status(struct call *c, void *arg, char *note, size_t n)
{
    struct poll_ctx *p = arg;
    json_t *o = NULL;
    int rc = eks_describe(c, p->k, p->path, &o);
    char t[32];
    elapsed(mesh_now_mono() - p->start, t, sizeof(t));
    if (rc == MESH_ENOTFOUND) {
        if (p->gone) return 1;
        snprintf(note, n, "%s is not visible yet (%s)", p->name, t);
        return 0;
    }
    if (rc) return rc;
    const char *status = eks_str(o, "status");
    json_decref(p->last);
    p->last = o;
    if (!p->gone && status && strcmp(status, "ACTIVE") == 0) return 1;
    if (!p->gone && listed(status, p->k->failed)) {
        char *why = eks_health(o);
        rc = mesh_err_set(c->err, MESH_ERR, c->address, "%s %s is %s: %s", p->k->what, p->name, status, why);
        free(why);
        return rc;
    }
    snprintf(note, n, "%s is %s (%s)", p->name, status ? status : "in an unknown state", t);
    return 0;
}

int eks_wait_active(struct call *c, const struct eks_kind *k, const char *path, const char *name, double limit,
                    json_t **obj)
{
    struct poll_ctx p = {k, path, name, mesh_now_mono(), NULL, 0};
    int rc = aws_wait_until(c, limit, poll_status, &p);
    if (!rc && obj) *obj = json_incref(p.last);
    json_decref(p.last);
    return rc;
}

int eks_wait_gone(struct call *c, const struct eks_kind *k, const char *path, const char *name, double limit)
{
    struct poll_ctx p = {k, path, name, mesh_now_mono(), NULL, 1};
    int rc = aws_wait_until(c, limit, poll_status, &p);
    json_decref(p.last);
    return rc;
}

int eks_gone_when_deleted(struct call *c, const struct eks_kind *k, const char *path, const char *name, double limit)
{
    int rc = eks_wait_gone(c, k, path, name, limit);
    return rc ? rc : MESH_ENOTFOUND;
}

struct delete_ctx {
    const char *action, *path, *name;
};

static int try_delete(struct call *c, void *arg, char *note, size_t n)
{
    struct delete_ctx *d = arg;
    struct mesh_err e;
    int rc = aws_call_rest(c, "eks", d->action, "DELETE", d->path, NULL, NULL, NULL, &e);
    if (rc == 0 || rc == MESH_ENOTFOUND) return 1;
    if (strcmp(e.cause, "ResourceInUseException") == 0) {
        snprintf(note, n, "%s %s: ResourceInUseException (%s)", d->action, d->name,
                 strcmp(d->action, "DeleteCluster") == 0 ? "node groups, or a create or update, still hold it"
                                                          : "a create or update still runs");
        return 0;
    }
    return aws_fail(c, &e);
}

int eks_delete(struct call *c, const struct eks_kind *k, const char *action, const char *path, const char *name,
               double limit)
{
    struct delete_ctx d = {action, path, name};
    int rc = aws_wait_until(c, limit, try_delete, &d);
    return rc ? rc : eks_wait_gone(c, k, path, name, limit);
}

struct update_ctx {
    const char *path, *query, *id;
    double start;
};

/* "CODE: message; ..." of a list of problems (an update's errors, an object's health issues), or
 * none when the list is empty. Caller frees. */
static char *join_problems(const json_t *list, const char *code_key, const char *msg_key, const char *none)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) {
        if (i) strbuf_addf(&sb, "; ");
        strbuf_addf(&sb, "%s: %s", eks_str(x, code_key) ? eks_str(x, code_key) : "?",
                    eks_str(x, msg_key) ? eks_str(x, msg_key) : "");
    }
    if (!sb.len) strbuf_addf(&sb, "%s", none);
    char *s = xstrdup(sb.buf);
    strbuf_release(&sb);
    return s;
}

static char *update_errors(const json_t *u)
{
    return join_problems(json_object_get(u, "errors"), "errorCode", "errorMessage", "no errors reported");
}

/* 1 done, 0 in progress (note says so), < 0 failed (c->err set). */
static int update_state(struct call *c, const struct update_ctx *p, const json_t *u, char *note, size_t n)
{
    int rc = 0;
    const char *status = eks_str(u, "status");
    char t[32];
    elapsed(mesh_now_mono() - p->start, t, sizeof(t));
    if (status && strcmp(status, "Successful") == 0) rc = 1;
    else if (status && (strcmp(status, "Failed") == 0 || strcmp(status, "Cancelled") == 0)) {
        char *why = update_errors(u);
        rc = mesh_err_set(c->err, MESH_ERR, c->address, "update %s (%s) is %s: %s", p->id,
                          eks_str(u, "type") ? eks_str(u, "type") : "?", status, why);
        free(why);
    } else {
        snprintf(note, n, "update %s (%s) is %s (%s)", p->id, eks_str(u, "type") ? eks_str(u, "type") : "?",
                 status ? status : "in an unknown state", t);
    }
    return rc;
}

static int poll_update(struct call *c, void *arg, char *note, size_t n)
{
    struct update_ctx *p = arg;
    json_t *reply = NULL;
    int rc = aws_do_rest(c, "eks", "DescribeUpdate", "GET", p->path, p->query, NULL, &reply);
    if (rc) return rc;
    rc = update_state(c, p, json_object_get(reply, "update"), note, n);
    json_decref(reply);
    return rc;
}

int eks_wait_update(struct call *c, const char *cluster, const char *nodegroup, const char *addon, const json_t *reply,
                    double limit)
{
    const char *id = eks_str(reply, "update.id");
    if (!id) return mesh_err_set(c->err, MESH_ERR, c->address, "the update answer has no update id");
    char path[1024], seg[512], cl[512], query[600] = "";
    aws_path_segment(cluster, cl, sizeof(cl));
    snprintf(path, sizeof(path), "/clusters/%s/updates/%s", cl, aws_path_segment(id, seg, sizeof(seg)));
    if (nodegroup) snprintf(query, sizeof(query), "nodegroupName=%s", aws_path_segment(nodegroup, seg, sizeof(seg)));
    if (addon) snprintf(query, sizeof(query), "addonName=%s", aws_path_segment(addon, seg, sizeof(seg)));
    struct update_ctx p = {path, query[0] ? query : NULL, id, mesh_now_mono()};
    /* the answer itself may say it is over already (a small change, or a peer that is quick) */
    char note[300];
    int rc = update_state(c, &p, json_object_get(reply, "update"), note, sizeof(note));
    if (rc) return rc > 0 ? 0 : rc;
    return aws_wait_until(c, limit, poll_update, &p);
}

/* At most this many attempts, within 120 s (scaled) and the call's deadline. */
#define EKS_CREATE_TRIES 12

int eks_create(struct call *c, const char *action, const char *path, const json_t *body, json_t **reply)
{
    struct aws_wait w;
    aws_wait_init(&w, c, 120);
    for (int n = 1;; n++) {
        struct mesh_err e;
        int rc = aws_call_rest(c, "eks", action, "POST", path, NULL, body, reply, &e);
        if (!rc) return 0;
        if (strcmp(e.cause, "InvalidParameterException") != 0 || n >= EKS_CREATE_TRIES) return aws_fail(c, &e);
        char note[300];
        snprintf(note, sizeof(note), "%s answered InvalidParameterException (a new IAM role may not be assumable "
                 "yet); retrying (%d)", action, n);
        struct mesh_err we;
        struct call q = *c;
        q.err = &we;
        mesh_err_init(&we);
        if (aws_wait_next(&w, &q, note)) {
            if (we.code == MESH_ECANCELED) return mesh_err_copy(c->err, &we, c->address);
            return aws_fail(c, &e);  /* out of time: EKS's own answer says most */
        }
    }
}

char *eks_health(const json_t *obj)
{
    return join_problems(eks_get(obj, "health.issues"), "code", "message", "no health issues reported");
}

int eks_sync_tags(struct call *c, const char *arn, const json_t *have, const json_t *want)
{
    char seg[1024], path[1100];
    snprintf(path, sizeof(path), "/tags/%s", aws_path_segment(arn, seg, sizeof(seg)));
    json_t *add = NULL, *drop = NULL;
    aws_tags_diff(have, want, &add, &drop);
    int rc = 0;
    if (json_object_size(add)) {
        json_t *body = json_pack("{s:O}", "tags", add);
        rc = aws_do_rest(c, "eks", "TagResource", "POST", path, NULL, body, NULL);
        json_decref(body);
    }
    struct strbuf q = STRBUF_INIT;
    strbuf_init(&q);
    size_t i;
    json_t *k;
    json_array_foreach(drop, i, k)
        strbuf_addf(&q, "%stagKeys=%s", q.len ? "&" : "", aws_path_segment(json_string_value(k), seg, sizeof(seg)));
    if (!rc && q.len) rc = aws_do_rest(c, "eks", "UntagResource", "DELETE", path, q.buf, NULL, NULL);
    strbuf_release(&q);
    json_decref(add);
    json_decref(drop);
    return rc;
}

void eks_put_tags(json_t *cur, const json_t *outputs, const json_t *obj)
{
    json_t *user = aws_user_tags(json_object_get(obj, "tags"));
    json_t *mine = json_object_get(outputs, "tags");
    int same = json_is_object(mine) && json_object_size(mine) == json_object_size(user);
    const char *k;
    json_t *v;
    json_object_foreach(mine, k, v) {
        if (!same) break;
        char *s = aws_tag_text(v);
        const char *w = json_string_value(json_object_get(user, k));
        same = w && strcmp(w, s) == 0;
        free(s);
    }
    if (same) {
        json_decref(user);
        user = json_incref(mine);
    }
    eks_observe(cur, outputs, "tags", user, json_object_size(user) == 0);
}

json_t *eks_get(const json_t *o, const char *path)
{
    char key[128];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key)) return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        path += n + (dot ? 1 : 0);
    }
    return (json_t *)o;
}

const char *eks_str(const json_t *o, const char *path) { return json_string_value(eks_get(o, path)); }

int eks_same_set(const json_t *a, const json_t *b)
{
    if (!json_is_array(a) || !json_is_array(b) || json_array_size(a) != json_array_size(b)) return 0;
    size_t i, j;
    json_t *x, *y;
    json_array_foreach(a, i, x) {
        int found = 0;
        json_array_foreach(b, j, y) if (json_equal(x, y)) found = 1;
        if (!found) return 0;
    }
    json_array_foreach(b, i, y) {
        int found = 0;
        json_array_foreach(a, j, x) if (json_equal(x, y)) found = 1;
        if (!found) return 0;
    }
    return 1;
}

void eks_observe(json_t *cur, const json_t *outputs, const char *key, json_t *world, int is_default)
{
    if (!world) return;
    json_t *mine = json_object_get(outputs, key);
    if (mine && json_is_array(world) && eks_same_set(world, mine)) {
        json_decref(world);
        world = json_incref(mine);
    }
    if (!is_default || mine) json_object_set_new(cur, key, world);
    else json_decref(world);
}

char *eks_canonical_json(const char *text)
{
    json_error_t je;
    json_t *v = text ? json_loads(text, JSON_DECODE_ANY, &je) : NULL;
    if (!v) return NULL;
    char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

int eks_same_json(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    char *x = eks_canonical_json(a), *y = eks_canonical_json(b);
    int same = x && y ? strcmp(x, y) == 0 : strcmp(a, b) == 0;
    free(x);
    free(y);
    return same;
}

char *eks_text(const json_t *v) { return aws_tag_text(v); }

void eks_created_at(const json_t *obj, char *buf, size_t n)
{
    json_t *t = json_object_get(obj, "createdAt");
    if (json_is_string(t)) snprintf(buf, n, "%s", json_string_value(t));
    else if (json_is_number(t)) snprintf(buf, n, "%.3f", json_number_value(t));
    else snprintf(buf, n, "?");
}
