/* intermediate.c: pki_intermediate_ca, one per cluster, signed by the root. Its outputs are
 * exactly what Istio's `cacerts` secret holds (ca_cert_pem, ca_key_pem, cert_chain_pem,
 * root_cert_pem). The issuer is given as issuer_cert_pem/issuer_key_pem rather than
 * ca_cert_pem/ca_key_pem, because those names are this resource's own outputs (Istio's names
 * for the intermediate) and read() returns inputs and outputs in one object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki.h"

static const struct attr inter_schema[] = {
    {"private_key_pem", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW | ATTR_SENSITIVE, "this CA's key"},
    {"issuer_cert_pem", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the root's certificate"},
    {"issuer_key_pem", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW | ATTR_SENSITIVE, "the root's key"},
    {"cluster", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "cluster name: subject L and export sub-folder"},
    {"common_name", T_STRING, ATTR_FORCE_NEW, "subject CN (default \"Intermediate CA\")"},
    {"organization", T_STRING, ATTR_FORCE_NEW, "subject O (default \"Istio\")"},
    {"validity_days", T_NUMBER, ATTR_FORCE_NEW, "lifetime in days (default 730); must not outlive the root"},
    {"renew_before_days", T_NUMBER, 0, "plan a renewal this many days before expiry (default 30, 0: never)"},
    {"export_dir", T_STRING, 0, "if set, also write Istio's cacerts files under <export_dir>/<cluster>/"},
    {"trusted_roots_pem", T_STRING, 0,
     "trust bundle for root_cert_pem (every trusted root's cert, the issuer's among them); unset: the issuer only"},
    {"status", T_STRING, ATTR_FORCE_NEW, "always \"valid\"; read reports why the CA needs replacing (docs/pki.md)"},
    {"ca_cert_pem", T_STRING, ATTR_COMPUTED, "the intermediate certificate (Istio ca-cert.pem)"},
    {"ca_key_pem", T_STRING, ATTR_COMPUTED | ATTR_SENSITIVE, "its key (Istio ca-key.pem)"},
    {"cert_chain_pem", T_STRING, ATTR_COMPUTED, "intermediate then its root (Istio cert-chain.pem)"},
    {"root_cert_pem", T_STRING, ATTR_COMPUTED, "the trusted root certificate(s) (Istio root-cert.pem)"},
    {"id", T_STRING, ATTR_COMPUTED, "serial number, hex"},
    {"not_after", T_STRING, ATTR_COMPUTED, "expiry, RFC3339"},
    {NULL, 0, 0, NULL},
};

/* What create needs, parsed and checked; released by inter_req_release. */
struct inter_req {
    struct pki_cert_req cert;
    const char *cluster, *export_dir, *bundle;
    long renew;
    X509 *issuer;
    EVP_PKEY *key, *issuer_key;
};

static void inter_req_release(struct inter_req *r)
{
    X509_free(r->issuer);
    EVP_PKEY_free(r->key);
    EVP_PKEY_free(r->issuer_key);
}

static int inter_attrs(struct call *c, const json_t *d, struct inter_req *r)
{
    int rc = pki_attr_status(c, d);
    if (!rc) rc = pki_now(c, &r->cert.now);
    if (!rc) rc = pki_attr_str(c, d, "cluster", NULL, &r->cluster);
    if (!rc) rc = pki_export_check_cluster(c, r->cluster);
    if (!rc) rc = pki_attr_str(c, d, "common_name", "Intermediate CA", &r->cert.common_name);
    if (!rc) rc = pki_attr_str(c, d, "organization", "Istio", &r->cert.organization);
    if (!rc) rc = pki_attr_str(c, d, "export_dir", NULL, &r->export_dir);
    if (!rc) rc = pki_attr_str(c, d, "trusted_roots_pem", NULL, &r->bundle);
    if (!rc) rc = pki_attr_days(c, d, "validity_days", 730, &r->cert.validity_days);
    if (!rc) rc = pki_attr_renew(c, d, r->cert.validity_days, &r->renew);
    r->cert.locality = r->cluster;
    return rc;
}

/* A trust bundle must hold the issuing root, or the cluster would not trust its own CA. */
static int bundle_holds(struct call *c, const char *bundle, X509 *issuer)
{
    STACK_OF(X509) *sk = pki_bundle_parse_quiet(bundle);
    int found = 0;
    for (int i = 0; sk && !found && i < sk_X509_num(sk); i++) found = X509_cmp(sk_X509_value(sk, i), issuer) == 0;
    sk_X509_pop_free(sk, X509_free);
    if (!sk) return mesh_err_set(c->err, MESH_EINVAL, c->address, "trusted_roots_pem holds no PEM certificate");
    if (!found)
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "trusted_roots_pem does not hold the issuing root; put the active root in pki.trusted_roots");
    return 0;
}

static int inter_keys(struct call *c, const json_t *d, struct inter_req *r)
{
    int rc = pki_key_parse(c, "private_key_pem", json_string_value(json_object_get(d, "private_key_pem")), &r->key);
    if (!rc) rc = pki_cert_parse(c, "issuer_cert_pem", json_string_value(json_object_get(d, "issuer_cert_pem")), &r->issuer);
    if (!rc)
        rc = pki_key_parse(c, "issuer_key_pem", json_string_value(json_object_get(d, "issuer_key_pem")), &r->issuer_key);
    if (rc) return rc;
    if (X509_check_ca(r->issuer) < 1)
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "issuer_cert_pem is not a CA certificate");
    if (!pki_key_matches(r->issuer_key, r->issuer))
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "issuer_key_pem does not match issuer_cert_pem; reference the same root's cert and key");
    time_t root_end = 0;
    char when[32];
    if (pki_asn1_to_time(X509_get0_notAfter(r->issuer), &root_end) != 0 ||
        r->cert.now + (time_t)r->cert.validity_days * 86400 > root_end) {
        pki_rfc3339(root_end, when);
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "validity_days %ld would outlive the root CA (expires %s); lower validity_days",
                            r->cert.validity_days, when);
    }
    if (r->bundle && (rc = bundle_holds(c, r->bundle, r->issuer)) != 0) return rc;
    r->cert.key = r->key;
    r->cert.issuer = r->issuer;
    r->cert.issuer_key = r->issuer_key;
    return 0;
}

static json_t *inter_outputs(const struct inter_req *r, X509 *x)
{
    char not_after[32];
    char *serial = pki_cert_serial_hex(x);
    json_t *cert = pki_cert_pem(x), *key = pki_key_pem(r->key), *root = pki_cert_pem(r->issuer), *out = NULL;
    if (serial && cert && key && root && pki_cert_not_after(x, not_after) == 0) {
        json_t *chain = json_sprintf("%s%s", json_string_value(cert), json_string_value(root));
        json_t *trust = r->bundle ? json_string(r->bundle) : json_incref(root);
        out = json_pack("{s:O, s:O, s:o, s:o, s:s, s:s, s:s, s:I}", "ca_cert_pem", cert, "ca_key_pem", key,
                        "cert_chain_pem", chain, "root_cert_pem", trust, "id", serial, "not_after", not_after, "cluster",
                        r->cluster, "renew_before_days", (json_int_t)r->renew);
        if (out && r->export_dir) json_object_set_new(out, "export_dir", json_string(r->export_dir));
    }
    json_decref(cert);
    json_decref(key);
    json_decref(root);
    free(serial);
    return out;
}

static int inter_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct inter_req r = {0};
    X509 *x = NULL;
    int rc = inter_attrs(c, desired, &r);
    if (!rc) rc = inter_keys(c, desired, &r);
    if (!rc) rc = pki_cert_issue(c, &r.cert, &x);
    json_t *out = rc ? NULL : inter_outputs(&r, x);
    if (!rc && !out) rc = pki_fail(c, MESH_ERR, "cannot encode the intermediate certificate");
    if (!rc && (rc = pki_export_write(c, out)) != 0) {
        struct mesh_err ignored = {0};
        struct call qc = *c;
        qc.err = &ignored;
        pki_export_remove(&qc, out);  /* leave no half-written export behind */
    }
    X509_free(x);
    inter_req_release(&r);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *outputs = out;
    return 0;
}

static int inter_find(struct call *c, const json_t *desired, json_t **outputs) { return MESH_ENOTFOUND; }

/* The first reason, in order of severity, why the state's CA is no longer fit; NULL when fine. */
/* root_cert_pem may be a bundle of several roots; cert_chain_pem must be ca_cert_pem then one
 * of them (the issuer). */
static const char *inter_diagnose(const json_t *outputs, X509 *x, STACK_OF(X509) *roots, EVP_PKEY *k, time_t now,
                                  char *buf, size_t n)
{
    char why[200];
    if (!pki_key_matches(k, x)) return "certificate does not match its key: replace";
    if (!pki_chain_check_bundle(x, roots, why, sizeof(why))) {
        snprintf(buf, n, "does not chain to root_cert_pem (%s): replace", why);
        return buf;
    }
    const char *cert = json_string_value(json_object_get(outputs, "ca_cert_pem"));
    const char *rootp = json_string_value(json_object_get(outputs, "root_cert_pem"));
    const char *chain = json_string_value(json_object_get(outputs, "cert_chain_pem"));
    size_t lc = strlen(cert);
    if (!chain || strncmp(chain, cert, lc) != 0 || !chain[lc] || !strstr(rootp, chain + lc))
        return "cert_chain_pem is not ca_cert_pem then root_cert_pem: replace";
    json_int_t renew = json_integer_value(json_object_get(outputs, "renew_before_days"));
    if (!pki_cert_expiry(x, now, (long)renew, buf, n)) return buf;
    return NULL;
}

/* Drift of the export folder shows on export_dir, which an in-place update repairs. */
static void inter_observe_export(const json_t *outputs, json_t *cur)
{
    const char *dir = json_string_value(json_object_get(outputs, "export_dir"));
    if (dir && !pki_export_intact(outputs))  /* an in-place update rewrites them */
        json_object_set_new(cur, "export_dir", json_sprintf("%s (files missing or changed)", dir));
}

static int inter_read(struct call *c, const json_t *outputs, json_t **current)
{
    time_t now;
    int rc = pki_now(c, &now);
    if (rc) return rc;
    X509 *x = pki_cert_parse_quiet(json_string_value(json_object_get(outputs, "ca_cert_pem")));
    STACK_OF(X509) *root = pki_bundle_parse_quiet(json_string_value(json_object_get(outputs, "root_cert_pem")));
    EVP_PKEY *k = NULL;
    struct mesh_err quiet = {0};
    struct call qc = *c;
    qc.err = &quiet;  /* unusable state means "gone": the plan recreates it */
    if (!x || !root || pki_key_parse(&qc, "ca_key_pem", json_string_value(json_object_get(outputs, "ca_key_pem")), &k)) {
        X509_free(x);
        sk_X509_pop_free(root, X509_free);
        return MESH_ENOTFOUND;
    }
    char buf[256];
    const char *bad = inter_diagnose(outputs, x, root, k, now, buf, sizeof(buf));
    json_t *cur = pki_current_new(inter_schema, outputs);
    if (bad) json_object_set_new(cur, "status", json_string(bad));
    inter_observe_export(outputs, cur);
    X509_free(x);
    sk_X509_pop_free(root, X509_free);
    EVP_PKEY_free(k);
    *current = cur;
    return 0;
}

/* The new root_cert_pem: the bundle when one is given, else the issuer (cert_chain_pem after
 * ca_cert_pem). The certificate must still chain to it. NULL with the error set. */
static json_t *update_trust(struct call *c, const json_t *outputs, const char *bundle)
{
    const char *cert = json_string_value(json_object_get(outputs, "ca_cert_pem"));
    const char *chain = json_string_value(json_object_get(outputs, "cert_chain_pem"));
    if (!cert || !chain || strncmp(chain, cert, strlen(cert)) != 0) {
        mesh_err_set(c->err, MESH_EINVAL, c->address, "state holds no usable cert_chain_pem; replace it");
        return NULL;
    }
    const char *trust = bundle ? bundle : chain + strlen(cert);
    X509 *x = pki_cert_parse_quiet(cert);
    STACK_OF(X509) *sk = pki_bundle_parse_quiet(trust);
    char why[200] = "no PEM certificate";
    int ok = x && sk && pki_chain_check_bundle(x, sk, why, sizeof(why));
    X509_free(x);
    sk_X509_pop_free(sk, X509_free);
    if (!ok) {
        mesh_err_set(c->err, MESH_EINVAL, c->address,
                     "trusted_roots_pem does not hold the root that issued this intermediate (%s); trust the active "
                     "root too",
                     why);
        return NULL;
    }
    return json_string(trust);
}

/* In place: renew_before_days, export_dir (moving, removing or repairing the export) and the
 * trust bundle (root_cert_pem, rewritten in the export too). */
static int inter_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                        json_t **new_outputs)
{
    const char *dir = NULL, *bundle = NULL;
    long days = 0, renew = 0;
    int rc = pki_attr_str(c, desired, "export_dir", NULL, &dir);
    if (!rc) rc = pki_attr_str(c, desired, "trusted_roots_pem", NULL, &bundle);
    if (!rc) rc = pki_attr_days(c, desired, "validity_days", 730, &days);
    if (!rc) rc = pki_attr_renew(c, desired, days, &renew);
    if (rc) return rc;
    json_t *trust = update_trust(c, outputs, bundle);
    if (!trust) return MESH_EINVAL;
    const char *old = json_string_value(json_object_get(outputs, "export_dir"));
    if (old && (!dir || strcmp(old, dir) != 0) && (rc = pki_export_remove(c, outputs)) != 0) {
        json_decref(trust);
        return rc;
    }
    json_t *out = json_deep_copy(outputs);
    json_object_set_new(out, "root_cert_pem", trust);
    json_object_set_new(out, "renew_before_days", json_integer(renew));
    json_object_del(out, "export_dir");
    if (dir) json_object_set_new(out, "export_dir", json_string(dir));
    if ((rc = pki_export_write(c, out)) != 0) {
        json_decref(out);
        return rc;
    }
    *new_outputs = out;
    return 0;
}

static int inter_delete(struct call *c, const json_t *outputs) { return pki_export_remove(c, outputs); }

const struct driver pki_intermediate_ca_driver = {
    .type = "pki_intermediate_ca",
    .schema = inter_schema,
    .flags = DRIVER_CREATE_BEFORE_DESTROY,
    .doc = "a cluster's intermediate CA signed by the root, with Istio's cacerts outputs",
    .create = inter_create,
    .wait = NULL,
    .find = inter_find,
    .read = inter_read,
    .update = inter_update,
    .delete = inter_delete,
};
