/* ec2.c: what every EC2 driver shares (see ec2.h). */
#include "aws/ec2.h"

#include "aws/aws_call.h"
#include "aws/tags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/duration.h"
#include "base/xalloc.h"

void ec2_query(struct aws_query *q, const char *action) { aws_query_init(q, action, EC2_VERSION); }

static int send_once(struct call *c, struct aws_query *q, xmlDocPtr *doc, struct ec2_res *r)
{
    memset(r, 0, sizeof(*r));
    return r->rc = aws_call_query(c, "ec2", q, doc, &r->err);
}

int ec2_send(struct call *c, struct aws_query *q, xmlDocPtr *doc, struct ec2_res *r)
{
    return send_once(c, q, doc, r);
}

/* Eventual consistency: an ID created moments ago may answer *.NotFound for a few seconds. Up
 * to EC2_FRESH_TRIES attempts, 0.25 s doubling (about 8 s in all at MESH_BACKOFF_SCALE=1),
 * never past the call's deadline nor once cancelled; each extra attempt counts as a retry. */
#define EC2_FRESH_TRIES 6

/* A NotFound about the object named, not about a part of it (a rule, a route) that is absent. */
static int fresh_code(const char *code)
{
    return strcmp(code, "InvalidPermission.NotFound") != 0 && strcmp(code, "InvalidRoute.NotFound") != 0;
}
int ec2_send_fresh(struct call *c, struct aws_query *q, xmlDocPtr *doc, struct ec2_res *r)
{
    struct aws_handle *h = c->provider;
    double d = 0.25 * http_backoff_scale();
    for (int n = 1;; n++, d *= 2) {
        int rc = send_once(c, q, doc, r);
        if (rc != MESH_ENOTFOUND || !fresh_code(r->err.cause) || n >= EC2_FRESH_TRIES || (c->cancel && *c->cancel))
            return rc;
        if (c->deadline > 0 && mesh_now_mono() + d > c->deadline) return rc;
        if (h) atomic_fetch_add(&h->retries.used, 1);
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            if (c->cancel && *c->cancel) return rc;
        }
    }
}

int ec2_do_fresh(struct call *c, struct aws_query *q, xmlDocPtr *doc)
{
    struct ec2_res r;
    int rc = ec2_send_fresh(c, q, doc, &r);
    return rc ? ec2_fail(c, &r) : 0;
}

int ec2_fail(struct call *c, const struct ec2_res *r)
{
    return aws_fail(c, &r->err);
}

int ec2_do(struct call *c, struct aws_query *q, xmlDocPtr *doc)
{
    struct ec2_res r;
    int rc = ec2_send(c, q, doc, &r);
    return rc ? ec2_fail(c, &r) : 0;
}

/* ---- tags ---- */

static void add_tag(struct aws_query *q, const char *prefix, int *k, const char *key, const char *value)
{
    (*k)++;
    char name[160];
    snprintf(name, sizeof(name), "%s.%d.Key", prefix, *k);
    aws_query_add(q, name, key);
    snprintf(name, sizeof(name), "%s.%d.Value", prefix, *k);
    aws_query_add(q, name, value);
}

/* Tag.N.Key/Value under prefix for every tag of {user tags + mesh's}. */
static void add_mesh_tags(struct call *c, struct aws_query *q, const char *prefix, const json_t *user_tags)
{
    json_t *all = aws_mesh_tags(c, user_tags);
    int k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(all, key, v) add_tag(q, prefix, &k, key, json_string_value(v));
    json_decref(all);
}

void ec2_tag_spec(struct call *c, struct aws_query *q, int n, const char *rtype, const json_t *tags)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "TagSpecification.%d.ResourceType", n);
    aws_query_add(q, prefix, rtype);
    snprintf(prefix, sizeof(prefix), "TagSpecification.%d.Tag", n);
    add_mesh_tags(c, q, prefix, tags);
}

json_t *ec2_tags(xmlNodePtr tagset, int all)
{
    json_t *o = json_object();
    for (xmlNodePtr it = aws_xml_first(tagset, "item"); it; it = aws_xml_next(it, "item")) {
        char *k = aws_xml_text(it, "key"), *v = aws_xml_text(it, "value");
        if (k && (all || strncmp(k, "mesh:", 5) != 0)) json_object_set_new(o, k, json_string(v ? v : ""));
        free(k);
        free(v);
    }
    return o;
}

void ec2_put_tags(json_t *cur, const json_t *outputs, xmlNodePtr tagset)
{
    json_t *t = ec2_tags(tagset, 0);
    ec2_observe(cur, outputs, "tags", t, json_object_size(t) == 0);
}

int ec2_tagged_ours(struct call *c, xmlNodePtr tagset)
{
    json_t *t = ec2_tags(tagset, 1);
    const char *a = json_string_value(json_object_get(t, "mesh:address"));
    const char *r = json_string_value(json_object_get(t, "mesh:run"));
    int ours = a && r && strcmp(a, c->address) == 0 && strcmp(r, c->run_id ? c->run_id : "") == 0;
    json_decref(t);
    return ours;
}

void ec2_filter_ours(struct call *c, struct aws_query *q)
{
    aws_query_add(q, "Filter.1.Name", "tag:mesh:address");
    aws_query_add(q, "Filter.1.Value.1", c->address);
    aws_query_add(q, "Filter.2.Name", "tag:mesh:run");
    aws_query_add(q, "Filter.2.Value.1", c->run_id ? c->run_id : "");
}

int ec2_sync_tags(struct call *c, const char *id, const json_t *want)
{
    struct aws_query q;
    ec2_query(&q, "DescribeTags");
    aws_query_add(&q, "Filter.1.Name", "resource-id");
    aws_query_add(&q, "Filter.1.Value.1", id);
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    json_t *have = ec2_tags(aws_xml_find(xmlDocGetRootElement(doc), "tagSet"), 0);
    xmlFreeDoc(doc);
    json_t *set, *drop;
    aws_tags_diff(have, want, &set, &drop);
    json_decref(have);
    if (json_object_size(set)) {
        ec2_query(&q, "CreateTags");
        aws_query_add(&q, "ResourceId.1", id);
        int k = 0;
        const char *key;
        json_t *v;
        json_object_foreach(set, key, v) add_tag(&q, "Tag", &k, key, json_string_value(v));
        rc = ec2_do(c, &q, NULL);
        aws_query_release(&q);
    }
    if (!rc && json_array_size(drop)) {
        ec2_query(&q, "DeleteTags");
        aws_query_add(&q, "ResourceId.1", id);
        size_t i;
        json_t *k;
        json_array_foreach(drop, i, k) {
            char name[64];
            snprintf(name, sizeof(name), "Tag.%zu.Key", i + 1);
            aws_query_add(&q, name, json_string_value(k));
        }
        rc = ec2_do(c, &q, NULL);
        aws_query_release(&q);
    }
    json_decref(set);
    json_decref(drop);
    return rc;
}

int ec2_tag_mesh(struct call *c, const char *id, const json_t *user_tags)
{
    struct aws_query q;
    ec2_query(&q, "CreateTags");
    aws_query_add(&q, "ResourceId.1", id);
    add_mesh_tags(c, &q, "Tag", user_tags);
    int rc = ec2_do(c, &q, NULL);
    aws_query_release(&q);
    return rc;
}

/* ---- security group rules ---- */

int ec2_sg_rules(struct call *c, const char *group, xmlDocPtr *doc)
{
    struct aws_query q;
    ec2_query(&q, "DescribeSecurityGroupRules");
    aws_query_add(&q, "Filter.1.Name", "group-id");
    aws_query_add(&q, "Filter.1.Value.1", group);
    struct ec2_res r;
    int rc = ec2_send(c, &q, doc, &r);
    aws_query_release(&q);
    if (rc == MESH_ENOTFOUND) return rc;
    return rc ? ec2_fail(c, &r) : 0;
}

int ec2_rule_by_mesh(xmlNodePtr rule)
{
    json_t *t = ec2_tags(aws_xml_find(rule, "tagSet"), 1);
    int ours = json_object_get(t, "mesh:address") != NULL;
    json_decref(t);
    return ours;
}

/* ---- AZs ---- */

static int cmp_str(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

static int load_azs(struct call *c, struct aws_handle *h)
{
    if (h->nazs >= 0) return 0;
    struct aws_query q;
    ec2_query(&q, "DescribeAvailabilityZones");
    aws_query_add(&q, "Filter.1.Name", "state");
    aws_query_add(&q, "Filter.1.Value.1", "available");
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    int n = 0;
    xmlNodePtr set = aws_xml_find(xmlDocGetRootElement(doc), "availabilityZoneInfo");
    for (xmlNodePtr it = aws_xml_first(set, "item"); it && n < 16; it = aws_xml_next(it, "item")) {
        char *name = aws_xml_text(it, "zoneName");
        if (name) snprintf(h->azs[n++], sizeof(h->azs[0]), "%s", name);
        free(name);
    }
    xmlFreeDoc(doc);
    qsort(h->azs, (size_t)n, sizeof(h->azs[0]), cmp_str);
    h->nazs = n;
    return 0;
}

int ec2_az_name(struct call *c, int index, char *name, size_t n)
{
    struct aws_handle *h = c->provider;
    pthread_mutex_lock(&h->mu);
    int rc = load_azs(c, h);
    if (!rc && (index < 0 || index >= h->nazs))
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address, "az_index %d: the region %s has %d available AZs", index,
                          h->client.region, h->nazs);
    if (!rc) snprintf(name, n, "%s", h->azs[index]);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

int ec2_az_index(struct call *c, const char *name)
{
    struct aws_handle *h = c->provider;
    int idx = -1;
    pthread_mutex_lock(&h->mu);
    if (load_azs(c, h) == 0)
        for (int i = 0; i < h->nazs; i++)
            if (strcmp(h->azs[i], name) == 0) idx = i;
    pthread_mutex_unlock(&h->mu);
    return idx;
}

/* ---- values ---- */

const char *ec2_str(const json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

int ec2_bool(const json_t *o, const char *key, int dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

char *ec2_text(xmlNodePtr n, const char *path) { return n ? aws_xml_text(n, path) : NULL; }

void ec2_put_text(json_t *o, const char *key, xmlNodePtr n, const char *path)
{
    char *s = ec2_text(n, path);
    if (s) json_object_set_new(o, key, json_string(s));
    free(s);
}

void ec2_put_bool(json_t *o, const char *key, xmlNodePtr n, const char *path)
{
    char *s = ec2_text(n, path);
    if (s) json_object_set_new(o, key, json_boolean(strcmp(s, "true") == 0));
    free(s);
}

const char *ec2_id(struct call *c, const json_t *outputs)
{
    const char *id = ec2_str(outputs, "id");
    if (!id || !*id) mesh_err_set(c->err, MESH_ERR, c->address, "no id in state");
    return id && *id ? id : NULL;
}

xmlNodePtr ec2_first_item(xmlDocPtr doc, const char *set_path)
{
    return aws_xml_first(aws_xml_find(xmlDocGetRootElement(doc), set_path), "item");
}

void ec2_observe(json_t *cur, const json_t *outputs, const char *key, json_t *v, int is_default)
{
    if (!v) return;
    if (!is_default || json_object_get(outputs, key)) json_object_set_new(cur, key, v);
    else json_decref(v);
}

void ec2_echo(json_t *outputs, const json_t *desired, const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(desired, keys[i]);
        if (v && !json_is_null(v)) json_object_set(outputs, keys[i], v);
        else json_object_del(outputs, keys[i]);
    }
}
