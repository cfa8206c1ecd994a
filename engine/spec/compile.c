/* compile.c: spec → typed resources. Every section has a compiler in one table; each adds its
 * resources (address, driver, attributes, deps with positions), then one pass checks every
 * reference and depends_on against all of them, so a raw resource may refer to one the
 * high-level sections made and vice versa. Cycles are graph.c's job. What a spec may expand to is
 * bounded here, before anything expands (SPEC_MAX_CLUSTERS, SPEC_MAX_RESOURCES in spec_int.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/suggest.h"
#include "driver.h"
#include "spec/ref.h"
#include "spec/schema.h"
#include "base/xalloc.h"

typedef void (*section_compile_fn)(struct spec *s, const struct node *section, const struct spec_ctx *c);

static void compile_resources(struct spec *s, const struct node *section, const struct spec_ctx *c);

/* One row per section compiler (a section may have several). Order matters for declaration
 * order in plans, and each reads what the rows before it made: clusters what network made
 * (private subnets and route tables), istio the connections and releases of clusters. */
static const struct {
    const char *section;
    section_compile_fn fn;
} compilers[] = {
    {"pki", compile_pki},  /* compile_pki.c: pki_private_key.*, pki_root_ca.root, pki_intermediate_ca.<cluster> */
    {"network", compile_network},  /* compile_network.c: aws_vpc.main, subnets, gateways, route tables, SGs */
    {"clusters", compile_clusters},  /* compile_clusters.c: after network (its subnets, route tables, SGs):
                                      * aws_eks_cluster.<name>, node groups, add-ons, IAM, KMS, logs */
    {"clusters", compile_cluster_apps},  /* compile_cluster_apps.c: after clusters (roles, node groups,
                                          * connections): the load balancer controller's release, the
                                          * aws-node egress patch of existing clusters */
    {"istio", compile_istio},  /* compile_istio.c: after both: per cluster the namespace, cacerts,
                                * helm_release.<cluster>.*, the reader token, the remote secrets */
    {"resources", compile_resources},  /* last: resources_within_limit counts what the others made */
};

void spec_dep_free(void *p)
{
    struct spec_dep *d = p;
    free(d->address);
    free(d->output);
    free(d);
}

void spec_resource_free(void *p)
{
    struct spec_resource *r = p;
    if (!r) return;
    free(r->address);
    free(r->type);
    json_decref(r->attrs);
    json_decref(r->sensitive);
    json_decref(r->timeouts);
    free(r->connection);
    vec_free_all(&r->deps, spec_dep_free);
    free(r);
}

int spec_attr_sensitive(const struct spec_resource *r, const struct driver *d, const char *name)
{
    const struct attr *a = d ? driver_attr(d, name) : NULL;
    if (a && (a->flags & ATTR_SENSITIVE)) return 1;
    size_t i;
    json_t *v;
    if (r && r->sensitive)
        json_array_foreach(r->sensitive, i, v) if (json_string_value(v) && !strcmp(json_string_value(v), name)) return 1;
    return 0;
}

struct spec_resource *spec_find(const struct spec *s, const char *address)
{
    return map_get(&s->by_address, address);
}

static void deps_add(struct vec *deps, const char *address, const char *output, int line, int col)
{
    struct spec_dep *d = xcalloc(1, sizeof(*d));
    d->address = xstrdup(address);
    d->output = output ? xstrdup(output) : NULL;
    d->line = line;
    d->col = col;
    vec_push(deps, d);
}

struct spec_resource *spec_resource_new(const char *address, const struct node *at, const char *origin)
{
    struct spec_resource *r = xcalloc(1, sizeof(*r));
    r->address = xstrdup(address);
    r->type = xstrndup(address, strcspn(address, "."));
    r->driver = driver_find(r->type);
    r->attrs = json_object();
    vec_init(&r->deps);
    r->line = at->line;
    r->col = at->col;
    r->origin = origin;
    return r;
}

void spec_add_dep(struct spec_resource *r, const char *address, const char *output, int line, int col)
{
    deps_add(&r->deps, address, output, line, col);
}

/* ---- references inside values ---- */

/* The "${" in s that ref_parse would look at ("$${" is a literal), counted without parsing. */
static size_t count_refs(const char *s)
{
    size_t n = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] != '$') continue;
        if (s[i + 1] == '$' && s[i + 2] == '{') i += 2;
        else if (s[i + 1] == '{') n++;
    }
    return n;
}

static void collect_scalar(struct vec *deps, const struct node *v, const char *who, const struct spec_ctx *c)
{
    size_t n = count_refs(v->scalar);
    if (n > SPEC_MAX_REFS_PER_VALUE) {
        diag_error(c->dl, c->file, v->line, v->col, "%s%svalue holds %zu references; at most %u fit in one value",
                   who ? who : "", who ? ": " : "", n, SPEC_MAX_REFS_PER_VALUE);
        return;
    }
    struct vec refs = VEC_INIT;
    struct spec_dollars pos;
    char msg[512];
    size_t off;
    int line, col;
    spec_dollars_init(&pos, c->text, v, 0);
    int bad = ref_parse(v->scalar, &refs, msg, sizeof(msg), &off) < 0;
    for (size_t k = 0; k < refs.len; k++) {
        const struct ref *x = refs.items[k];
        spec_dollars_pos(&pos, k, &line, &col);
        deps_add(deps, x->address, x->output, line, col);
    }
    if (bad) {  /* the malformed one comes right after the good ones */
        spec_dollars_pos(&pos, refs.len, &line, &col);
        diag_error(c->dl, c->file, line, col, "%s%s%s", who ? who : "", who ? ": " : "", msg);
    }
    vec_free_all(&refs, ref_free);
}

void spec_collect_refs(struct vec *deps, const struct node *v, const char *who, const struct spec_ctx *c)
{
    if (v->kind != NODE_SCALAR) {
        for (size_t i = 0; i < v->n; i++)
            spec_collect_refs(deps, v->kind == NODE_MAP ? v->pairs[i].value : v->items[i], who, c);
        return;
    }
    if (strstr(v->scalar, "${")) collect_scalar(deps, v, who, c);
}

/* A string that is exactly one reference may stand for a value of any type. */
static int is_whole_ref(const struct node *v)
{
    if (v->kind != NODE_SCALAR || strncmp(v->scalar, "${", 2) != 0) return 0;
    struct vec refs = VEC_INIT;
    char msg[8];
    size_t off;
    int whole = ref_parse(v->scalar, &refs, msg, sizeof(msg), &off) == 0 && refs.len == 1 &&
                ((struct ref *)refs.items[0])->end == strlen(v->scalar);
    vec_free_all(&refs, ref_free);
    return whole;
}

static const char *attr_type_name(enum attr_type t)
{
    static const char *names[] = {"anything", "a string", "a number", "true or false", "a list", "a map"};
    return names[t];
}

static int type_ok(const struct node *v, enum attr_type t)
{
    if (t == T_ANY || node_is_null(v) || is_whole_ref(v)) return 1;
    enum scalar_type st = node_scalar_type(v);
    switch (t) {
    case T_STRING: return v->kind == NODE_SCALAR;  /* numbers and booleans count as their text */
    case T_NUMBER: return v->kind == NODE_SCALAR && (st == SCALAR_INT || st == SCALAR_FLOAT);
    case T_BOOL: return v->kind == NODE_SCALAR && st == SCALAR_BOOL;
    case T_LIST: return v->kind == NODE_SEQ;
    case T_MAP: return v->kind == NODE_MAP;
    default: return 1;
    }
}

/* ---- the raw resources: section ---- */

static void compile_depends_on(struct spec_resource *r, const struct node *v, const struct spec_ctx *c)
{
    if (v->kind != NODE_SEQ) {
        diag_error(c->dl, c->file, v->line, v->col, "`%s`: `depends_on` must be a list of resource addresses, not %s",
                   r->address, node_kind_name(v));
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const struct node *it = v->items[i];
        if (it->kind != NODE_SCALAR) {
            diag_error(c->dl, c->file, it->line, it->col,
                       "`%s`: `depends_on` entries are resource addresses (TYPE.NAME), not %s", r->address,
                       node_kind_name(it));
            continue;
        }
        if (!ref_address_valid(it->scalar)) {
            diag_error(c->dl, c->file, it->line, it->col,
                       "`%s`: `depends_on` entries are resource addresses (TYPE.NAME), not `%s`", r->address, it->scalar);
            continue;
        }
        spec_add_dep(r, it->scalar, NULL, it->line, it->col);
    }
}

void spec_set_connection(struct spec_resource *r, const char *address, int line, int col)
{
    free(r->connection);
    r->connection = xstrdup(address);
    r->conn_line = line;
    r->conn_col = col;
    spec_add_dep(r, address, NULL, line, col);
}

static void compile_connection(struct spec_resource *r, const struct node *v, const struct spec_ctx *c)
{
    if (v->kind != NODE_SCALAR || !ref_address_valid(v->scalar)) {
        diag_error(c->dl, c->file, v->line, v->col,
                   "`%s`: `connection` is the address of a connection (e.g. kubernetes_connection.cluster-1)%s%s%s",
                   r->address, v->kind == NODE_SCALAR ? ", not `" : "", v->kind == NODE_SCALAR ? v->scalar : "",
                   v->kind == NODE_SCALAR ? "`" : "");
        return;
    }
    spec_set_connection(r, v->scalar, v->line, v->col);
}

static void unknown_attr(const struct spec_resource *r, const struct node *key, const struct spec_ctx *c)
{
    struct suggest s;
    suggest_init(&s, key->scalar);
    suggest_try(&s, "depends_on");
    suggest_try(&s, "connection");
    for (const struct attr *a = r->driver->schema; a && a->name; a++)
        if (!(a->flags & ATTR_COMPUTED)) suggest_try(&s, a->name);
    if (s.best)
        diag_error(c->dl, c->file, key->line, key->col, "`%s`: unknown attribute `%s` for type %s; did you mean `%s`?",
                   r->address, key->scalar, r->type, s.best);
    else
        diag_error(c->dl, c->file, key->line, key->col, "`%s`: unknown attribute `%s` for type %s", r->address,
                   key->scalar, r->type);
}

static void compile_attr(struct spec_resource *r, const struct node *key, const struct node *v, const struct spec_ctx *c)
{
    const struct attr *a = driver_attr(r->driver, key->scalar);
    if (!a) return unknown_attr(r, key, c);
    if (a->flags & ATTR_COMPUTED) {
        diag_error(c->dl, c->file, key->line, key->col, "`%s`: `%s` is computed by %s and cannot be set", r->address,
                   key->scalar, r->type);
        return;
    }
    if (!type_ok(v, a->type)) {
        diag_error(c->dl, c->file, v->line, v->col, "`%s`: `%s` must be %s, not %s", r->address, key->scalar,
                   attr_type_name(a->type), node_kind_name(v));
        return;
    }
    json_object_set_new(r->attrs, key->scalar, node_to_json(v));
    if (node_has_sensitive(v)) {  /* a sensitive variable flowed in: plans hide it, state encrypts it */
        if (!r->sensitive) r->sensitive = json_array();
        json_array_append_new(r->sensitive, json_string(key->scalar));
    }
    spec_collect_refs(&r->deps, v, NULL, c);
}

/* A problem check() found, at the attribute's value (else the resource's key). */
struct body_report {
    const struct spec_resource *r;
    const struct node *key, *body;
    const struct spec_ctx *c;
};

static void body_report(void *ctx, const char *attr, const char *msg)
{
    const struct body_report *br = ctx;
    const struct node *at = attr && br->body->kind == NODE_MAP ? node_get(br->body, attr) : NULL;
    if (!at) at = br->key;
    diag_error(br->c->dl, br->c->file, at->line, at->col, "`%s`%s%s: %s", br->r->address, attr ? " " : "",
               attr ? attr : "", msg);
}

/* Drivers that ask for it check their desired attributes now, from local files only. */
static void check_body(const struct spec_resource *r, const struct node *key, const struct node *body,
                       const struct spec_ctx *c)
{
    if (!(r->driver->flags & DRIVER_CHECK_IN_SPEC) || !r->driver->check || !r->attrs) return;
    struct mesh_err err;
    mesh_err_init(&err);
    struct call call = {.address = r->address, .type = r->type, .err = &err};
    struct body_report br = {r, key, body, c};
    r->driver->check(&call, r->attrs, body_report, &br);
}

/* The same for a resource a section compiled: problems at its position (the key that made it). */
static void at_resource(void *ctx, const char *attr, const char *msg)
{
    const struct body_report *br = ctx;
    diag_error(br->c->dl, br->c->file, br->r->line, br->r->col, "`%s`%s%s: %s", br->r->address, attr ? " " : "",
               attr ? attr : "", msg);
}

void spec_check_compiled(const struct spec_resource *r, const struct spec_ctx *c)
{
    if (!r->driver || !(r->driver->flags & DRIVER_CHECK_IN_SPEC) || !r->driver->check || !r->attrs) return;
    struct mesh_err err;
    mesh_err_init(&err);
    struct call call = {.address = r->address, .type = r->type, .err = &err};
    struct body_report br = {r, NULL, NULL, c};
    r->driver->check(&call, r->attrs, at_resource, &br);
}

static void compile_body(struct spec_resource *r, const struct node *key, const struct node *body, const struct spec_ctx *c)
{
    if (body->kind != NODE_MAP && !node_is_null(body)) {
        diag_error(c->dl, c->file, body->line, body->col, "`%s` must be a map of attributes, not %s", r->address,
                   node_kind_name(body));
        return;
    }
    for (size_t i = 0; body->kind == NODE_MAP && i < body->n; i++) {
        const struct node *k = body->pairs[i].key, *v = body->pairs[i].value;
        if (strcmp(k->scalar, "depends_on") == 0) {
            compile_depends_on(r, v, c);
        } else if (strcmp(k->scalar, "connection") == 0) {
            compile_connection(r, v, c);
        } else if (strcmp(k->scalar, "timeouts") == 0) {
            json_decref(r->timeouts);
            r->timeouts = timeouts_from_node(v, r->address, c);
        } else {
            compile_attr(r, k, v, c);
        }
    }
    for (const struct attr *a = r->driver->schema; a && a->name; a++)
        if ((a->flags & ATTR_REQUIRED) && !(a->flags & ATTR_COMPUTED) && !node_get(body, a->name))
            diag_error(c->dl, c->file, key->line, key->col, "`%s` is missing the required attribute `%s`", r->address,
                       a->name);
    check_body(r, key, body, c);
}

static void unknown_type(const char *type, const struct node *key, const struct spec_ctx *c)
{
    const char *best = driver_suggest(type);
    if (best) {
        diag_error(c->dl, c->file, key->line, key->col, "unknown resource type `%s`; did you mean `%s`?", type, best);
        return;
    }
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < driver_count(); i++) strbuf_addf(&sb, "%s%s", i ? ", " : "", driver_at(i)->type);
    diag_error(c->dl, c->file, key->line, key->col, "unknown resource type `%s` (known types: %s)", type, sb.buf);
    strbuf_release(&sb);
}

/* Adds r, or reports a second declaration of its address and frees it. */
void spec_add_resource(struct spec *s, struct spec_resource *r, const struct spec_ctx *c)
{
    const struct spec_resource *first = map_get(&s->by_address, r->address);
    if (first) {
        diag_error(c->dl, c->file, r->line, r->col, "duplicate resource address `%s` (first declared at %d:%d)",
                   r->address, first->line, first->col);
        spec_resource_free(r);
        return;
    }
    map_put(&s->by_address, r->address, r);
    vec_push(&s->resources, r);
}

static void compile_resource(struct spec *s, const struct node *key, const struct node *body, const struct spec_ctx *c)
{
    const char *addr = key->scalar;
    if (!ref_address_valid(addr)) {
        diag_error(c->dl, c->file, key->line, key->col,
                   "invalid resource address `%s`: expected TYPE.NAME (TYPE [a-z][a-z0-9_]*, each NAME [A-Za-z0-9_-]+)",
                   addr);
        return;
    }
    struct spec_resource *r = spec_resource_new(addr, key, "resources");
    /* Kept even when its type is unknown, so references to it are not reported twice. */
    if (r->driver) compile_body(r, key, body, c);
    else unknown_type(r->type, key, c);
    spec_add_resource(s, r, c);
}

static void compile_resources(struct spec *s, const struct node *section, const struct spec_ctx *c)
{
    if (node_is_null(section)) return;
    if (section->kind != NODE_MAP) {
        diag_error(c->dl, c->file, section->line, section->col,
                   "`resources` must be a map of resource address to attributes, not %s", node_kind_name(section));
        return;
    }
    for (size_t i = 0; i < section->n; i++) compile_resource(s, section->pairs[i].key, section->pairs[i].value, c);
}

/* ---- checking every edge ---- */

/* Diagnostics for a reference that names no resource of the spec, or an output its type does not
 * have. who is how the referring place is named ("`null_resource.b`", "output `a_id`"); budget
 * (may be NULL) caps how many address suggestions are searched, each a pass over all addresses. */
void spec_diag_unknown_target(const struct spec *s, const char *who, const struct spec_dep *d, int *budget,
                              const struct spec_ctx *c)
{
    struct suggest sg;
    suggest_init(&sg, d->address);
    if (!budget || (*budget)-- > 0)
        for (size_t i = 0; i < s->resources.len; i++) suggest_try(&sg, ((struct spec_resource *)s->resources.items[i])->address);
    const char *what = d->output ? "reference to" : "depends_on:";
    if (sg.best)
        diag_error(c->dl, c->file, d->line, d->col, "%s: %s unknown resource `%s`; did you mean `%s`?", who, what,
                   d->address, sg.best);
    else
        diag_error(c->dl, c->file, d->line, d->col, "%s: %s unknown resource `%s`", who, what, d->address);
}

void spec_diag_unknown_output(const char *who, const struct spec_dep *d, const struct spec_resource *t,
                              const struct spec_ctx *c)
{
    struct suggest sg;
    struct strbuf names = STRBUF_INIT;
    suggest_init(&sg, d->output);
    for (const struct attr *a = t->driver->schema; a && a->name; a++) {
        suggest_try(&sg, a->name);
        strbuf_addf(&names, "%s%s", names.len ? ", " : "", a->name);
    }
    if (sg.best)
        diag_error(c->dl, c->file, d->line, d->col, "%s: %s has no output `%s`; did you mean `%s`?", who, t->type,
                   d->output, sg.best);
    else
        diag_error(c->dl, c->file, d->line, d->col, "%s: %s has no output `%s` (it has: %s)", who, t->type, d->output,
                   names.buf);
    strbuf_release(&names);
}

/* A resource of a provider that works through connections names one of the right kind. */
static void check_connection(const struct spec *s, const struct spec_resource *r, const struct spec_ctx *c)
{
    const struct provider *p = r->driver ? r->driver->provider : NULL;
    if (!r->connection) {
        if (p && p->needs_connection)
            diag_error(c->dl, c->file, r->line, r->col,
                       "`%s`: a %s resource belongs to a cluster: add `connection: ADDRESS` naming its connection "
                       "(e.g. kubernetes_connection.<cluster>, which mesh makes for every cluster of `clusters:`)",
                       r->address, p->name);
        return;
    }
    const struct spec_resource *t = map_get(&s->by_address, r->connection);
    if (!t || !t->driver) return;  /* reported with the other edges */
    if (!t->driver->connects)
        diag_error(c->dl, c->file, r->conn_line, r->conn_col, "`%s`: `connection` names %s, which is not a connection",
                   r->address, r->connection);
    else if (!p || (t->driver->connects != p && t->driver->connects != p->uses_connections_of))
        diag_error(c->dl, c->file, r->conn_line, r->conn_col,
                   "`%s`: `connection` names %s, a connection for %s resources; %s %s", r->address, r->connection,
                   t->driver->connects->name, r->type, p ? "is not one of them" : "needs no connection");
    else if (t->connection)
        diag_error(c->dl, c->file, r->conn_line, r->conn_col, "`%s`: the connection %s cannot itself belong to a connection",
                   r->address, r->connection);
}

static void check_deps(const struct spec *s, const struct spec_ctx *c)
{
    int budget = SPEC_MAX_ADDRESS_SUGGESTIONS;
    char who[300];
    for (size_t i = 0; i < s->resources.len; i++) {
        const struct spec_resource *r = s->resources.items[i];
        snprintf(who, sizeof(who), "`%s`", r->address);
        check_connection(s, r, c);
        for (size_t j = 0; j < r->deps.len; j++) {
            const struct spec_dep *d = r->deps.items[j];
            const struct spec_resource *t = map_get(&s->by_address, d->address);
            if (t == r)
                diag_error(c->dl, c->file, d->line, d->col, "`%s` %s itself", r->address,
                           d->output ? "refers to" : "depends on");
            else if (!t)
                spec_diag_unknown_target(s, who, d, &budget, c);
            else if (d->output && t->driver && !driver_attr(t->driver, d->output))
                spec_diag_unknown_output(who, d, t, c);
        }
    }
}

/* ---- limits, checked before anything expands ---- */

static const struct node *section_key(const struct node *root, const char *name)
{
    for (size_t i = 0; i < root->n; i++)
        if (strcmp(root->pairs[i].key->scalar, name) == 0) return root->pairs[i].key;
    return NULL;
}

/* Entries of a section that is a map, else 0. */
static size_t section_size(const struct node *root, const char *name)
{
    const struct node *v = node_get(root, name);
    return v && v->kind == NODE_MAP ? v->n : 0;
}

/* 0, or -1 after reporting that a section would expand past a limit. Every pair of clusters gets
 * its own security-group rules (and remote secrets), so clusters expand quadratically: 1,000 of
 * them (a 24 KB spec) made a million resources and took 2 GB to validate. */
static int clusters_within_limit(const struct spec *s, const struct spec_ctx *c)
{
    size_t n = section_size(s->root, "clusters");
    if (n <= SPEC_MAX_CLUSTERS) {
        /* Each node group makes two resources: 64 clusters of 2,000 groups made 265,000. */
        const struct node *cl = node_get(s->root, "clusters");
        int over = 0;
        for (size_t i = 0; cl && cl->kind == NODE_MAP && i < cl->n; i++) {
            const struct node *g = node_get(cl->pairs[i].value, "node_groups");
            if (!g || g->kind != NODE_MAP || g->n <= SPEC_MAX_NODE_GROUPS) continue;
            diag_error(c->dl, c->file, g->line, g->col,
                       "`clusters.%s.node_groups` declares %zu node groups; EKS allows at most %u per cluster",
                       cl->pairs[i].key->scalar, g->n, SPEC_MAX_NODE_GROUPS);
            over = 1;
        }
        return over ? -1 : 0;
    }
    const struct node *k = section_key(s->root, "clusters");
    diag_error(c->dl, c->file, k->line, k->col,
               "`clusters` declares %zu clusters; a mesh has at most %u (every pair of clusters is wired together)", n,
               SPEC_MAX_CLUSTERS);
    return -1;
}

/* The raw section is compiled last: what the others made is known, and bounded (64 clusters). */
static int resources_within_limit(const struct spec *s, const struct spec_ctx *c)
{
    size_t n = section_size(s->root, "resources"), made = s->resources.len;
    if (n + made <= SPEC_MAX_RESOURCES) return 0;
    const struct node *k = section_key(s->root, "resources");
    if (made)
        diag_error(c->dl, c->file, k->line, k->col,
                   "`resources` declares %zu resources and the other sections make %zu; a spec makes at most %u in all",
                   n, made, SPEC_MAX_RESOURCES);
    else
        diag_error(c->dl, c->file, k->line, k->col, "`resources` declares %zu resources; a spec makes at most %u in all",
                   n, SPEC_MAX_RESOURCES);
    return -1;
}

/* The connection of an existing cluster (the compiler makes one per cluster) is made only when
 * something belongs to it or refers to it: mesh reaches a cluster it does not make only for
 * what it puts there, so a spec that uses its clusters for the PKI alone never contacts them. */
static void drop_unused_existing_connections(struct spec *s)
{
    struct map used = MAP_INIT;
    for (size_t i = 0; i < s->resources.len; i++) {
        const struct spec_resource *r = s->resources.items[i];
        for (size_t j = 0; j < r->deps.len; j++) map_put(&used, ((struct spec_dep *)r->deps.items[j])->address, &used);
    }
    for (size_t i = 0; i < s->outputs.len; i++) {
        const struct spec_output *o = s->outputs.items[i];
        for (size_t j = 0; j < o->deps.len; j++) map_put(&used, ((struct spec_dep *)o->deps.items[j])->address, &used);
    }
    size_t keep = 0;
    for (size_t i = 0; i < s->resources.len; i++) {
        struct spec_resource *r = s->resources.items[i];
        int existing = r->driver && r->driver->connects && r->origin && strcmp(r->origin, "clusters") == 0 &&
                       json_object_get(r->attrs, "kubeconfig");
        if (existing && !map_get(&used, r->address)) {
            map_put(&s->by_address, r->address, NULL);
            spec_resource_free(r);
            continue;
        }
        s->resources.items[keep++] = r;
    }
    s->resources.len = keep;
    map_release(&used);
}

int spec_compile(struct spec *s, const struct spec_ctx *c)
{
    /* A section over a limit is not expanded at all, and nothing refers into it: its size is the
     * one error worth reading, not every reference to what it would have made. */
    int capped = clusters_within_limit(s, c) < 0;
    for (size_t i = 0; i < sizeof(compilers) / sizeof(compilers[0]); i++) {
        const struct node *section = node_get(s->root, compilers[i].section);
        if (!section || !compilers[i].fn) continue;
        int skip = compilers[i].fn == compile_resources ? resources_within_limit(s, c) < 0 : capped;
        if (skip) {
            capped = 1;
            continue;
        }
        compilers[i].fn(s, section, c);
    }
    if (capped) return -1;
    drop_unused_existing_connections(s);
    compile_type_timeouts(s, c);
    check_deps(s, c);
    return 0;
}
