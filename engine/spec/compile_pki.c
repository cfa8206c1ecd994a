/* compile_pki.c: the `pki:` section (with `clusters:`) → the PKI resources of docs/pki.md:
 * pki_private_key.root, pki_root_ca.root, and per cluster pki_private_key.<cluster>.intermediate
 * and pki_intermediate_ca.<cluster>. Every attribute is written out, defaults included, so plans
 * show them; edges come only from the ${...} references, positioned at the spec key that caused
 * them. Checks the schema cannot express (renewal window, an imported root's files) are made here,
 * before anything is created. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "driver.h"
#include "pki/pki.h"
#include "spec/spec_int.h"

#define PKI_MAX_DAYS 36500  /* the drivers' limit: 100 years */

/* What the section says, with defaults, and where each part was written. */
struct pki_in {
    const struct node *sec;                   /* the pki: value (a map, or null for all defaults) */
    const struct node *root, *inter;          /* pki.root, pki.intermediate, or NULL */
    const struct node *root_at;               /* where the root resources point: pki.root or pki */
    long long root_days, inter_days, renew;
    int import;
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
    if (path[0] == '/') return strdup(path);
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
    struct spec_resource *r = calloc(1, sizeof(*r));
    r->address = strdup(address);
    r->type = strndup(address, strcspn(address, "."));
    r->driver = driver_find(r->type);
    r->attrs = json_object();
    vec_init(&r->deps);
    r->line = at->line;
    r->col = at->col;
    r->origin = "pki";
    return r;
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
    struct { const struct node *map; const char *path; long long days; } certs[] = {
        {in->root, "pki.root", in->import ? 0 : in->root_days},
        {in->inter, "pki.intermediate", in->inter_days},
    };
    for (size_t i = 0; i < 2; i++) {
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
    const struct pki_in *in;
    const struct spec_ctx *c;
    const json_t *attrs;  /* the absolute paths the checks used */
};

/* Errors name the file as the spec wrote it, not the absolute path (stable messages). */
static void import_report(void *ctx, const char *attr, const char *msg)
{
    const struct import_report *ir = ctx;
    const struct node *at = node_get(ir->in->root, attr);
    if (!at) at = node_get(ir->in->root, "key_file");
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, msg);
    static const char *const files[] = {"cert_file", "key_file"};
    for (size_t i = 0; i < 2; i++) {
        const char *abs = json_string_value(json_object_get(ir->attrs, files[i]));
        const char *written = str_or(ir->in->root, files[i], NULL);
        char *hit;
        if (!abs || !written || !(hit = strstr(sb.buf, abs))) continue;
        struct strbuf out = STRBUF_INIT;
        strbuf_add(&out, sb.buf, (size_t)(hit - sb.buf));
        strbuf_adds(&out, written);
        strbuf_adds(&out, hit + strlen(abs));
        strbuf_release(&sb);
        sb = out;
    }
    diag_error(ir->c->dl, ir->c->file, at->line, at->col, "`pki.root.%s`: %s", attr, sb.buf);
    strbuf_release(&sb);
}

/* An imported root is checked now, from local files only: readable, a current CA certificate, a
 * key that decrypts and matches it. Nothing is kept; apply reads the files again. */
static void check_import(const struct pki_in *in, const json_t *attrs, const struct spec_ctx *c)
{
    struct mesh_err err;
    mesh_err_init(&err);
    struct call call = {.address = "pki_root_ca.root", .type = "pki_root_ca", .err = &err};
    time_t now;
    if (pki_now(&call, &now) != 0) {
        const struct node *at = key_of(in->root, "cert_file");
        diag_error(c->dl, c->file, at->line, at->col, "cannot check `pki.root.cert_file`: %s", err.msg);
        return;
    }
    struct import_report ir = {in, c, attrs};
    pki_import_check(&call, attrs, now, import_report, &ir);
}

/* ---- the resources ---- */

static void compile_root(struct spec *s, const struct pki_in *in, const struct spec_ctx *c)
{
    const struct node *at = in->root_at;
    if (!in->import) {
        struct spec_resource *k = pki_resource("pki_private_key.root", at);
        set_str(k, "algorithm", str_or(in->root, "algorithm", "rsa4096"));
        spec_add_resource(s, k, c);
    }
    struct spec_resource *r = pki_resource("pki_root_ca.root", at);
    if (in->import) {
        char *cert = abs_path(s, str_or(in->root, "cert_file", "")), *key = abs_path(s, str_or(in->root, "key_file", ""));
        set_str(r, "cert_file", cert);
        set_str(r, "key_file", key);
        free(cert);
        free(key);
        const char *env = str_or(in->root, "key_passphrase_env", NULL);
        if (env) set_str(r, "key_passphrase_env", env);
    } else {
        pki_ref(r, "private_key_pem", "pki_private_key.root", "private_key_pem", at);
        set_str(r, "common_name", str_or(in->root, "common_name", "Root CA"));
        set_str(r, "organization", str_or(in->root, "organization", "Istio"));
        set_int(r, "validity_days", in->root_days);
    }
    set_int(r, "renew_before_days", in->renew);
    set_str(r, "status", PKI_STATUS_VALID);
    if (in->import && key_of(in->root, "cert_file") && key_of(in->root, "key_file")) check_import(in, r->attrs, c);
    spec_add_resource(s, r, c);
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
    pki_ref(r, "issuer_cert_pem", "pki_root_ca.root", "cert_pem", cluster);
    pki_ref(r, "issuer_key_pem", "pki_root_ca.root", "ca_key_pem", cluster);
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

void compile_pki(struct spec *s, const struct node *section, const struct spec_ctx *c)
{
    if (section->kind != NODE_MAP && !node_is_null(section)) return;  /* the schema reported it */
    struct pki_in in = {.sec = section};
    const struct node *pki_key = key_of(s->root, "pki");
    in.root = node_get(section, "root");
    in.inter = node_get(section, "intermediate");
    if (in.root && in.root->kind != NODE_MAP) in.root = NULL;
    if (in.inter && in.inter->kind != NODE_MAP) in.inter = NULL;
    in.root_at = key_of(section, "root") ? key_of(section, "root") : pki_key;
    in.import = node_get(in.root, "cert_file") || node_get(in.root, "key_file");
    in.root_days = int_or(in.root, "validity_days", 3650);
    in.inter_days = int_or(in.inter, "validity_days", 730);
    in.renew = int_or(section, "renew_before_days", PKI_RENEW_DEFAULT);
    check_days(in.root, "pki.root", c);
    check_days(in.inter, "pki.intermediate", c);
    check_renew(&in, c);

    compile_root(s, &in, c);
    const char *dir = str_or(section, "export_dir", NULL);
    char *export_dir = dir ? abs_path(s, dir) : NULL;
    const struct node *clusters = node_get(s->root, "clusters");
    for (size_t i = 0; clusters && clusters->kind == NODE_MAP && i < clusters->n; i++)
        if (cluster_name_ok(clusters->pairs[i].key->scalar))
            compile_intermediate(s, &in, clusters->pairs[i].key, export_dir, c);
    free(export_dir);
}
