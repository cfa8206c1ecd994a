/* compile_pki.c: the `pki:` section (with `clusters:`) → the PKI resources of docs/pki.md:
 * pki_private_key.root, pki_root_ca.root (or one pair per root of `pki.roots`, for a root
 * rotation in steps), and per cluster pki_private_key.<cluster>.intermediate and
 * pki_intermediate_ca.<cluster>, issued by the active root, with the trusted roots' bundle. Every attribute is written out, defaults included, so plans
 * show them; edges come only from the ${...} references, positioned at the spec key that caused
 * them. Checks the schema cannot express (renewal window, an imported root's files) are made here,
 * before anything is created. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "driver.h"
#include "spec/spec_int.h"
#include "base/xalloc.h"

#define PKI_MAX_DAYS 36500  /* the drivers' limit: 100 years */
#define PKI_STATUS_VALID "valid"  /* the drivers' status of a usable certificate */
#define PKI_RENEW_DEFAULT 30L     /* the drivers' default renew_before_days */

/* One root CA: `pki.root` (named "root"), or one entry of `pki.roots`. */
struct pki_root {
    const char *name;                         /* address segment: pki_root_ca.<name> */
    const char *path;                         /* "pki.root" or "pki.roots.<name>", for messages */
    const struct node *map;                   /* its settings, or NULL for all defaults */
    const struct node *at;                    /* where its resources point */
    long long days;
    int import, trusted;
    char path_buf[300];
};

#define PKI_MAX_ROOTS SPEC_MAX_PKI_ROOTS

/* What the section says, with defaults, and where each part was written. */
struct pki_in {
    const struct node *sec;                   /* the pki: value (a map, or null for all defaults) */
    const struct node *inter;                 /* pki.intermediate, or NULL */
    struct pki_root roots[PKI_MAX_ROOTS];
    size_t n_roots, active;                   /* active: index of the root issuing intermediates */
    long long inter_days, renew;
};

/* The key node named name in map m, or NULL. */
static const struct node *key_of(const struct node *m, const char *name)
{
    for (size_t i = 0; m && m->kind == NODE_MAP && i < m->n; i++)
        if (strcmp(m->pairs[i].key->scalar, name) == 0) return m->pairs[i].key;
    return NULL;
}

/* An integer setting; def when absent or not a whole number (the schema reports that). */
static long long int_or(const struct node *map, const char *name, long long def)
{
    const struct node *v = node_get(map, name);
    if (!v || v->kind != NODE_SCALAR || node_scalar_type(v) != SCALAR_INT) return def;
    return strtoll(v->scalar, NULL, 0);
}

static const char *str_or(const struct node *map, const char *name, const char *def)
{
    const struct node *v = node_get(map, name);
    if (!v || v->kind != NODE_SCALAR || node_is_null(v)) return def;
    return v->scalar;
}

/* path made absolute against the spec's folder, so plans do not depend on the working directory. */
static char *abs_path(const struct spec *s, const char *path)
{
    if (path[0] == '/') return xstrdup(path);
    char dir[PATH_MAX];
    if (!realpath(s->dir, dir)) snprintf(dir, sizeof(dir), "%s", s->dir);
    while (path[0] == '.' && path[1] == '/') path += 2;
    if (strcmp(path, ".") == 0) path = "";
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s%s%s", dir, strcmp(dir, "/") == 0 || !*path ? "" : "/", path);
    while (sb.len > 1 && sb.buf[sb.len - 1] == '/') sb.buf[--sb.len] = '\0';
    return strbuf_detach(&sb);
}

static struct spec_resource *pki_resource(const char *address, const struct node *at)
{
    return spec_resource_new(address, at, "pki");
}

/* attrs[name] = "${target.output}", and the edge it makes, positioned at `at`. */
static void pki_ref(struct spec_resource *r, const char *name, const char *target, const char *output,
                    const struct node *at)
{
    json_object_set_new(r->attrs, name, json_sprintf("${%s.%s}", target, output));
    spec_add_dep(r, target, output, at->line, at->col);
}

static void set_str(struct spec_resource *r, const char *name, const char *v)
{
    json_object_set_new(r->attrs, name, json_string(v));
}

static void set_int(struct spec_resource *r, const char *name, long long v)
{
    json_object_set_new(r->attrs, name, json_integer((json_int_t)v));
}

/* ---- checks the schema cannot make ---- */

static void check_days(const struct node *map, const char *path, const struct spec_ctx *c)
{
    const struct node *v = node_get(map, "validity_days");
    long long days = int_or(map, "validity_days", 0);
    if (v && days > PKI_MAX_DAYS)
        diag_error(c->dl, c->file, v->line, v->col, "`%s.validity_days` must be at most %d (100 years), not %lld", path,
                   PKI_MAX_DAYS, days);
}

/* renew_before_days must leave more than half the validity, or a certificate would be due for
 * renewal for most of its life. Reported at renew_before_days when written, else at the validity. */
static void check_renew(const struct pki_in *in, const struct spec_ctx *c)
{
    const struct node *renew_v = node_get(in->sec, "renew_before_days");
    struct { const struct node *map; const char *path; long long days; } certs[PKI_MAX_ROOTS + 1];
    size_t n = 0;
    for (size_t i = 0; i < in->n_roots; i++) {
        const struct pki_root *r = &in->roots[i];
        certs[n].map = r->map, certs[n].path = r->path, certs[n++].days = r->import ? 0 : r->days;
    }
    certs[n].map = in->inter, certs[n].path = "pki.intermediate", certs[n++].days = in->inter_days;
    for (size_t i = 0; i < n; i++) {
        if (certs[i].days <= 0 || in->renew <= 0 || 2 * in->renew < certs[i].days) continue;
        const struct node *at = renew_v ? renew_v : node_get(certs[i].map, "validity_days");
        if (!at) continue;
        diag_error(c->dl, c->file, at->line, at->col,
                   "`pki.renew_before_days` %lld must be under half of `%s.validity_days` %lld; lower it or raise "
                   "the validity",
                   in->renew, certs[i].path, certs[i].days);
    }
}

struct import_report {
    const struct pki_root *root;
    const struct spec_ctx *c;
    const json_t *attrs;  /* the absolute paths the checks used */
};

/* Errors name the file as the spec wrote it, not the absolute path (stable messages). */
static void import_report(void *ctx, const char *attr, const char *msg)
{
    const struct import_report *ir = ctx;
    const struct node *at = node_get(ir->root->map, attr);
    if (!at) at = node_get(ir->root->map, "key_file");
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, msg);
    static const char *const files[] = {"cert_file", "key_file"};
    for (size_t i = 0; i < 2; i++) {
        const char *abs = json_string_value(json_object_get(ir->attrs, files[i]));
        const char *written = str_or(ir->root->map, files[i], NULL);
        char *hit;
        if (!abs || !written || !(hit = strstr(sb.buf, abs))) continue;
        struct strbuf out = STRBUF_INIT;
        strbuf_add(&out, sb.buf, (size_t)(hit - sb.buf));
        strbuf_adds(&out, written);
        strbuf_adds(&out, hit + strlen(abs));
        strbuf_release(&sb);
        sb = out;
    }
    diag_error(ir->c->dl, ir->c->file, at->line, at->col, "`%s.%s`: %s", ir->root->path, attr, sb.buf);
    strbuf_release(&sb);
}

/* An imported root is checked now, by the pki_root_ca driver's check(): local files only. */
static void check_import(const struct pki_root *root, const char *address, const json_t *attrs,
                         const struct spec_ctx *c)
{
    const struct driver *d = driver_find("pki_root_ca");
    struct mesh_err err;
    mesh_err_init(&err);
    struct call call = {.address = address, .type = "pki_root_ca", .err = &err};
    struct import_report ir = {root, c, attrs};
    if (d && d->check) d->check(&call, attrs, import_report, &ir);
}

/* ---- the resources ---- */

static void compile_root(struct spec *s, const struct pki_in *in, const struct pki_root *root,
                         const struct spec_ctx *c)
{
    const struct node *at = root->at;
    struct strbuf key = STRBUF_INIT, ca = STRBUF_INIT;
    strbuf_addf(&key, "pki_private_key.%s", root->name);
    strbuf_addf(&ca, "pki_root_ca.%s", root->name);
    if (!root->import) {
        struct spec_resource *k = pki_resource(key.buf, at);
        set_str(k, "algorithm", str_or(root->map, "algorithm", "rsa4096"));
        spec_add_resource(s, k, c);
    }
    struct spec_resource *r = pki_resource(ca.buf, at);
    if (root->import) {
        char *cert = abs_path(s, str_or(root->map, "cert_file", "")), *kf = abs_path(s, str_or(root->map, "key_file", ""));
        set_str(r, "cert_file", cert);
        set_str(r, "key_file", kf);
        free(cert);
        free(kf);
        const char *env = str_or(root->map, "key_passphrase_env", NULL);
        if (env) set_str(r, "key_passphrase_env", env);
    } else {
        pki_ref(r, "private_key_pem", key.buf, "private_key_pem", at);
        set_str(r, "common_name", str_or(root->map, "common_name", "Root CA"));
        set_str(r, "organization", str_or(root->map, "organization", "Istio"));
        set_int(r, "validity_days", root->days);
    }
    set_int(r, "renew_before_days", in->renew);
    set_str(r, "status", PKI_STATUS_VALID);
    if (root->import && key_of(root->map, "cert_file") && key_of(root->map, "key_file"))
        check_import(root, ca.buf, r->attrs, c);
    spec_add_resource(s, r, c);
    strbuf_release(&key);
    strbuf_release(&ca);
}

static void compile_intermediate(struct spec *s, const struct pki_in *in, const struct node *cluster,
                                 const char *export_dir, const struct spec_ctx *c)
{
    const char *name = cluster->scalar;
    struct strbuf key = STRBUF_INIT, ca = STRBUF_INIT;
    strbuf_addf(&key, "pki_private_key.%s.intermediate", name);
    strbuf_addf(&ca, "pki_intermediate_ca.%s", name);

    struct spec_resource *k = pki_resource(key.buf, cluster);
    set_str(k, "algorithm", str_or(in->inter, "algorithm", "rsa4096"));
    spec_add_resource(s, k, c);

    struct spec_resource *r = pki_resource(ca.buf, cluster);
    pki_ref(r, "private_key_pem", key.buf, "private_key_pem", cluster);
    const struct pki_root *act = &in->roots[in->active];
    struct strbuf root = STRBUF_INIT;
    strbuf_addf(&root, "pki_root_ca.%s", act->name);
    pki_ref(r, "issuer_cert_pem", root.buf, "cert_pem", cluster);
    pki_ref(r, "issuer_key_pem", root.buf, "ca_key_pem", cluster);
    strbuf_release(&root);
    /* The trust bundle (root-cert.pem), only when it holds more than the issuing root: one
     * reference per trusted root, spliced into one string, in trusted_roots order. */
    size_t n_trusted = 0;
    for (size_t i = 0; i < in->n_roots; i++) n_trusted += in->roots[i].trusted;
    if (n_trusted > 1) {
        struct strbuf bundle = STRBUF_INIT;
        const struct node *tl = node_get(in->sec, "trusted_roots");
        for (size_t i = 0; i < tl->n; i++) {
            strbuf_addf(&bundle, "${pki_root_ca.%s.cert_pem}", tl->items[i]->scalar);
            struct strbuf t = STRBUF_INIT;
            strbuf_addf(&t, "pki_root_ca.%s", tl->items[i]->scalar);
            spec_add_dep(r, t.buf, "cert_pem", cluster->line, cluster->col);
            strbuf_release(&t);
        }
        set_str(r, "trusted_roots_pem", bundle.buf);
        strbuf_release(&bundle);
    }
    set_str(r, "cluster", name);
    set_str(r, "common_name", str_or(in->inter, "common_name", "Intermediate CA"));
    set_str(r, "organization", str_or(in->inter, "organization", "Istio"));
    set_int(r, "validity_days", in->inter_days);
    set_int(r, "renew_before_days", in->renew);
    if (export_dir) set_str(r, "export_dir", export_dir);
    set_str(r, "status", PKI_STATUS_VALID);
    spec_add_resource(s, r, c);
    strbuf_release(&key);
    strbuf_release(&ca);
}

/* Cluster names the schema accepted (a bad one is already reported, and is not an address). */
static int cluster_name_ok(const char *n)
{
    if (!*n) return 0;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_' || *n == '-'))
            return 0;
    return 1;
}

/* The roots: `pki.root` (or nothing: one default root) is the root named "root", trusted and
 * active; `pki.roots` names several, `active_root` issues, `trusted_roots` (default: the active
 * one) are in every bundle. The schema reported bad names; here they are skipped. Returns 0 when
 * the shape is not usable (nothing is compiled then). */
static int collect_roots(struct pki_in *in, const struct node *pki_key)
{
    const struct node *section = in->sec, *roots = node_get(section, "roots");
    if (!roots) {
        struct pki_root *r = &in->roots[in->n_roots++];
        r->name = "root";
        r->path = "pki.root";
        r->map = node_get(section, "root");
        if (r->map && r->map->kind != NODE_MAP) r->map = NULL;
        r->at = key_of(section, "root") ? key_of(section, "root") : pki_key;
        r->trusted = 1;
        return 1;
    }
    if (roots->kind != NODE_MAP || roots->n == 0 || roots->n > PKI_MAX_ROOTS) return 0;
    const char *active = str_or(section, "active_root", roots->pairs[0].key->scalar);
    int found = 0;
    for (size_t i = 0; i < roots->n; i++) {
        if (!cluster_name_ok(roots->pairs[i].key->scalar) || roots->pairs[i].value->kind != NODE_MAP) return 0;
        struct pki_root *r = &in->roots[in->n_roots];
        r->name = roots->pairs[i].key->scalar;
        r->map = roots->pairs[i].value;
        r->at = roots->pairs[i].key;
        if (strcmp(r->name, active) == 0) in->active = in->n_roots, found = 1;
        in->n_roots++;
    }
    if (!found) return 0;
    const struct node *tl = node_get(section, "trusted_roots");
    if (!tl) {
        in->roots[in->active].trusted = 1;
        return 1;
    }
    if (tl->kind != NODE_SEQ) return 0;
    for (size_t i = 0; i < tl->n; i++) {
        const struct node *t = tl->items[i];
        size_t j = 0;
        while (t->kind == NODE_SCALAR && j < in->n_roots && strcmp(in->roots[j].name, t->scalar) != 0) j++;
        if (j == in->n_roots || in->roots[j].trusted) return 0;  /* unknown or twice: reported */
        in->roots[j].trusted = 1;
    }
    return in->roots[in->active].trusted;
}

/* Warned from the spec's shape (compile cannot see state): a declared root that is neither
 * active nor trusted is an old root being dropped in the same step that a new one issues. */
static void warn_one_step(const struct pki_in *in, const struct spec_ctx *c)
{
    for (size_t i = 0; i < in->n_roots; i++) {
        const struct pki_root *r = &in->roots[i];
        if (r->trusted) continue;
        diag_add(c->dl, DIAG_WARNING, c->file, r->at->line, r->at->col,
                 "root `%s` is declared but not in `pki.trusted_roots`: switching the clusters to `%s` in one step "
                 "breaks cross-cluster mTLS until every workload has the new root; rotate in steps: docs/pki.md",
                 r->name, in->roots[in->active].name);
    }
}

void compile_pki(struct spec *s, const struct node *section, const struct spec_ctx *c)
{
    if (section->kind != NODE_MAP && !node_is_null(section)) return;  /* the schema reported it */
    struct pki_in in = {.sec = section};
    const struct node *pki_key = key_of(s->root, "pki");
    in.inter = node_get(section, "intermediate");
    if (in.inter && in.inter->kind != NODE_MAP) in.inter = NULL;
    if (!collect_roots(&in, pki_key)) return;  /* the schema reported why */
    for (size_t i = 0; i < in.n_roots; i++) {
        struct pki_root *r = &in.roots[i];
        if (!r->path) {
            snprintf(r->path_buf, sizeof(r->path_buf), "pki.roots.%s", r->name);
            r->path = r->path_buf;
        }
        r->import = node_get(r->map, "cert_file") || node_get(r->map, "key_file");
        r->days = int_or(r->map, "validity_days", 3650);
    }
    in.inter_days = int_or(in.inter, "validity_days", 730);
    in.renew = int_or(section, "renew_before_days", PKI_RENEW_DEFAULT);
    for (size_t i = 0; i < in.n_roots; i++) check_days(in.roots[i].map, in.roots[i].path, c);
    check_days(in.inter, "pki.intermediate", c);
    check_renew(&in, c);
    warn_one_step(&in, c);

    for (size_t i = 0; i < in.n_roots; i++) compile_root(s, &in, &in.roots[i], c);
    const char *dir = str_or(section, "export_dir", NULL);
    char *export_dir = dir ? abs_path(s, dir) : NULL;
    const struct node *clusters = node_get(s->root, "clusters");
    for (size_t i = 0; clusters && clusters->kind == NODE_MAP && i < clusters->n; i++)
        if (cluster_name_ok(clusters->pairs[i].key->scalar))
            compile_intermediate(s, &in, clusters->pairs[i].key, export_dir, c);
    free(export_dir);
}
