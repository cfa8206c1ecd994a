/* test_pki.c: the PKI drivers called directly through the registry, the way the engine's workers
 * call them: key -> root -> one intermediate per cluster, every x509 field Istio's tools/certs
 * makes, drift and renewal via read (clock moved with MESH_NOW), import mode, the export folder.
 * `test_pki --export DIR` instead writes a two-cluster export for tests/e2e/pki_openssl.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "driver.h"

/* ---- helpers: calling drivers -------------------------------------------------------------- */

struct tcall {
    struct mesh_err err;
    struct call call;
};

static void tcall_init(struct tcall *t, const char *type, const char *address)
{
    memset(t, 0, sizeof(*t));
    t->call.type = type;
    t->call.address = address;
    t->call.run_id = "run-test";
    t->call.err = &t->err;
}

static int drv_create(const char *type, const char *address, json_t *desired, json_t **out, struct mesh_err *err)
{
    struct tcall t;
    tcall_init(&t, type, address);
    const struct driver *d = driver_find(type);
    assert_non_null(d);
    *out = NULL;
    int rc = d->create(&t.call, desired, out);
    if (err) *err = t.err;
    json_decref(desired);
    return rc;
}

static json_t *must_create(const char *type, const char *address, json_t *desired)
{
    json_t *out = NULL;
    struct mesh_err err;
    int rc = drv_create(type, address, desired, &out, &err);
    if (rc) fail_msg("%s: create failed: %s", address, err.msg);
    assert_non_null(out);
    return out;
}

static int drv_read(const char *type, const json_t *outputs, json_t **cur)
{
    struct tcall t;
    tcall_init(&t, type, "test.read");
    *cur = NULL;
    return driver_find(type)->read(&t.call, outputs, cur);
}

static const char *sget(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static json_t *make_key(const char *alg)
{
    return must_create("pki_private_key", "pki_private_key.test", json_pack("{s:s, s:s}", "algorithm", alg, "status", "valid"));
}

static json_t *make_root(const json_t *key, long days)
{
    return must_create("pki_root_ca", "pki_root_ca.root",
                       json_pack("{s:s, s:s, s:s, s:I}", "private_key_pem", sget(key, "private_key_pem"), "common_name",
                                 "Root CA", "organization", "Istio", "validity_days", (json_int_t)days));
}

static json_t *inter_desired(const json_t *root, const json_t *key, const char *cluster, const char *export_dir)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "private_key_pem", sget(key, "private_key_pem"),
                          "issuer_cert_pem", sget(root, "cert_pem"), "issuer_key_pem", sget(root, "ca_key_pem"),
                          "cluster", cluster, "status", "valid");
    if (export_dir) json_object_set_new(d, "export_dir", json_string(export_dir));
    return d;
}

static json_t *make_inter(const json_t *root, const char *cluster, const char *export_dir)
{
    json_t *key = make_key("ecdsa-p256");
    json_t *out = must_create("pki_intermediate_ca", "pki_intermediate_ca.x", inter_desired(root, key, cluster, export_dir));
    json_decref(key);
    return out;
}

/* ---- helpers: looking inside certificates -------------------------------------------------- */

static X509 *cert_of(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    return x;
}

static EVP_PKEY *key_of(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(k);
    return k;
}

/* Asserts the subject's entries, in order: "O", "Istio", "CN", "Root CA", ... NULL. */
static void assert_subject(X509 *x, ...)
{
    X509_NAME *n = X509_get_subject_name(x);
    va_list ap;
    va_start(ap, x);
    int i = 0;
    for (const char *field; (field = va_arg(ap, const char *)); i++) {
        const char *value = va_arg(ap, const char *);
        X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
        assert_non_null(e);
        assert_string_equal(OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))), field);
        ASN1_STRING *d = X509_NAME_ENTRY_get_data(e);
        assert_int_equal(ASN1_STRING_length(d), strlen(value));
        assert_memory_equal(ASN1_STRING_get0_data(d), value, strlen(value));
    }
    va_end(ap);
    assert_int_equal(X509_NAME_entry_count(n), i);
}

static int ext_critical(X509 *x, int nid)
{
    int i = X509_get_ext_by_NID(x, nid, -1);
    assert_true(i >= 0);
    return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* basicConstraints critical CA:TRUE, pathlen as given (-1: none); keyUsage critical, Istio's bits. */
static void assert_ca_extensions(X509 *x, long pathlen)
{
    int crit = 0;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_true(crit);
    assert_true(bc->ca);
    if (pathlen < 0)
        assert_null(bc->pathlen);
    else
        assert_int_equal(ASN1_INTEGER_get(bc->pathlen), pathlen);
    BASIC_CONSTRAINTS_free(bc);
    assert_true(ext_critical(x, NID_key_usage));
    assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION | KU_KEY_ENCIPHERMENT | KU_KEY_CERT_SIGN);
    assert_non_null(X509_get0_subject_key_id(x));
}

static void assert_serial_128(X509 *x, const char *id)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    assert_int_equal(BN_num_bits(bn), 128);
    char *hex = BN_bn2hex(bn);
    assert_int_equal(strcasecmp(hex, id), 0);
    OPENSSL_free(hex);
    BN_free(bn);
}

static void assert_san_istiod(X509 *x)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_non_null(names);
    assert_int_equal(sk_GENERAL_NAME_num(names), 1);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(names, 0);
    assert_int_equal(g->type, GEN_DNS);
    assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.dNSName), "istiod.istio-system.svc");
    GENERAL_NAMES_free(names);
}

/* In-process chain verification, strict RFC 5280 checks, at the given time. */
static int chain_verifies(const char *leaf_pem, const char *root_pem, time_t at)
{
    X509 *leaf = cert_of(leaf_pem), *root = cert_of(root_pem);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_add_cert(st, root);
    X509_STORE_CTX_init(ctx, st, leaf, NULL);
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
    X509_STORE_CTX_set_time(ctx, 0, at);
    int ok = X509_verify_cert(ctx) == 1;
    if (!ok) print_message("verify: %s\n", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(leaf);
    X509_free(root);
    ERR_clear_error();
    return ok;
}

static void assert_key_matches(const char *key_pem, const char *cert_pem)
{
    EVP_PKEY *k = key_of(key_pem);
    X509 *x = cert_of(cert_pem);
    assert_int_equal(X509_check_private_key(x, k), 1);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* A healthy resource's read reports no settable attribute: the engine's diff would compare any
 * it finds with desired, and desired may leave defaults out. */
static void assert_healthy(const char *type, const json_t *cur)
{
    for (const struct attr *a = driver_find(type)->schema; a->name; a++)
        if (!(a->flags & ATTR_COMPUTED) && json_object_get(cur, a->name)) fail_msg("%s: read reports %s", type, a->name);
}

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(data, f);
    fclose(f);
}

static char *tmpdir_new(void)
{
    char tmpl[] = "/tmp/mesh-pki-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return strdup(tmpl);
}

static void tmpdir_free(char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_registry(void **state)
{
    const struct driver *k = driver_find("pki_private_key"), *r = driver_find("pki_root_ca"),
                        *i = driver_find("pki_intermediate_ca");
    assert_non_null(k);
    assert_non_null(r);
    assert_non_null(i);
    assert_true(r->flags & DRIVER_GUARDED);
    assert_true(driver_attr(k, "private_key_pem")->flags & ATTR_SENSITIVE);
    assert_true(driver_attr(k, "algorithm")->flags & ATTR_FORCE_NEW);
    assert_true(driver_attr(r, "private_key_pem")->flags & ATTR_SENSITIVE);
    assert_true(driver_attr(r, "ca_key_pem")->flags & ATTR_SENSITIVE);
    assert_true(driver_attr(i, "ca_key_pem")->flags & ATTR_SENSITIVE);
    assert_true(driver_attr(i, "issuer_key_pem")->flags & ATTR_SENSITIVE);
    assert_true(driver_attr(i, "cluster")->flags & ATTR_FORCE_NEW);
    assert_false(driver_attr(i, "export_dir")->flags & ATTR_FORCE_NEW);
}

static void test_key_ecdsa(void **state)
{
    json_t *key = make_key("ecdsa-p256");
    assert_string_equal(sget(key, "algorithm"), "ecdsa-p256");
    assert_non_null(strstr(sget(key, "private_key_pem"), "BEGIN PRIVATE KEY"));
    assert_non_null(strstr(sget(key, "public_key_pem"), "BEGIN PUBLIC KEY"));
    /* id: SHA-256 of the DER public key, computed independently here. */
    EVP_PKEY *k = key_of(sget(key, "private_key_pem"));
    unsigned char *der = NULL, md[32];
    int n = i2d_PUBKEY(k, &der);
    SHA256(der, (size_t)n, md);
    char hex[65];
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(sget(key, "id"), hex);
    OPENSSL_free(der);
    EVP_PKEY_free(k);
    json_t *cur = NULL;
    assert_int_equal(drv_read("pki_private_key", key, &cur), 0);
    assert_healthy("pki_private_key", cur);
    assert_true(json_equal(json_object_get(cur, "private_key_pem"), json_object_get(key, "private_key_pem")));
    json_decref(cur);
    /* Drift: public parts in state that no longer match the key. */
    json_t *other = make_key("ecdsa-p256");
    json_object_set(key, "public_key_pem", json_object_get(other, "public_key_pem"));
    assert_int_equal(drv_read("pki_private_key", key, &cur), 0);
    assert_string_not_equal(sget(cur, "status"), "valid");
    json_decref(cur);
    json_object_set_new(key, "private_key_pem", json_string("garbage"));
    assert_int_equal(drv_read("pki_private_key", key, &cur), MESH_ENOTFOUND);
    json_decref(other);
    json_decref(key);
}

static void test_key_bad_input(void **state)
{
    json_t *out = NULL;
    struct mesh_err err;
    assert_int_equal(drv_create("pki_private_key", "pki_private_key.root", json_pack("{s:s}", "algorithm", "dsa"), &out, &err),
                     MESH_EINVAL);
    assert_string_equal(err.where, "pki_private_key.root");
    assert_non_null(strstr(err.msg, "\"dsa\""));
    assert_non_null(strstr(err.msg, "ecdsa-p256"));
    /* A bad key in a CA's input never shows up in the error. */
    const char *secret = "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n";
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", json_pack("{s:s}", "private_key_pem", secret), &out, &err),
                     MESH_EINVAL);
    assert_null(strstr(err.msg, "U0VDUkVU"));
    assert_non_null(strstr(err.msg, "private_key_pem"));
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", json_object(), &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "cert_file"));
}

/* The one RSA 4096 test: slow keygen, so only here. */
static void test_rsa4096_root(void **state)
{
    json_t *key = must_create("pki_private_key", "pki_private_key.root", json_object());  /* default */
    assert_string_equal(sget(key, "algorithm"), "rsa4096");
    json_t *root = make_root(key, 3650);
    X509 *x = cert_of(sget(root, "cert_pem"));
    EVP_PKEY *pub = X509_get0_pubkey(x);
    assert_int_equal(EVP_PKEY_get_base_id(pub), EVP_PKEY_RSA);
    assert_int_equal(EVP_PKEY_get_bits(pub), 4096);
    assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
    assert_int_equal(X509_verify(x, pub), 1);
    assert_ca_extensions(x, -1);
    assert_key_matches(sget(key, "private_key_pem"), sget(root, "cert_pem"));
    X509_free(x);
    json_decref(root);
    json_decref(key);
}

static void test_root_fields(void **state)
{
    setenv("MESH_NOW", "2030-01-01T00:00:00Z", 1);
    json_t *key = make_key("ecdsa-p256");
    json_t *root = must_create("pki_root_ca", "pki_root_ca.root",
                               json_pack("{s:s}", "private_key_pem", sget(key, "private_key_pem")));  /* defaults */
    X509 *x = cert_of(sget(root, "cert_pem"));
    assert_int_equal(X509_get_version(x), 2);
    assert_subject(x, "O", "Istio", "CN", "Root CA", NULL);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
    assert_ca_extensions(x, -1);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    assert_serial_128(x, sget(root, "id"));
    assert_string_equal(sget(root, "not_after"), "2039-12-30T00:00:00Z");  /* 3650 days */
    assert_key_matches(sget(key, "private_key_pem"), sget(root, "cert_pem"));
    assert_true(chain_verifies(sget(root, "cert_pem"), sget(root, "cert_pem"), 1893456000 + 60));
    json_t *cur = NULL;
    assert_int_equal(drv_read("pki_root_ca", root, &cur), 0);
    assert_healthy("pki_root_ca", cur);
    assert_string_equal(sget(cur, "cert_pem"), sget(root, "cert_pem"));
    json_decref(cur);
    /* A second root over the same key still gets a fresh random serial. */
    json_t *root2 = make_root(key, 3650);
    assert_string_not_equal(sget(root, "id"), sget(root2, "id"));
    X509_free(x);
    json_decref(root2);
    json_decref(root);
    json_decref(key);
    unsetenv("MESH_NOW");
}

static void assert_intermediate(const json_t *inter, const json_t *root, const char *cluster)
{
    X509 *x = cert_of(sget(inter, "ca_cert_pem")), *r = cert_of(sget(root, "cert_pem"));
    assert_subject(x, "O", "Istio", "CN", "Intermediate CA", "L", cluster, NULL);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(r)), 0);
    assert_ca_extensions(x, 0);
    assert_san_istiod(x);
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
    assert_non_null(aki);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(r)), 0);
    assert_serial_128(x, sget(inter, "id"));
    assert_true(chain_verifies(sget(inter, "ca_cert_pem"), sget(root, "cert_pem"), time(NULL)));
    assert_key_matches(sget(inter, "ca_key_pem"), sget(inter, "ca_cert_pem"));
    assert_string_equal(sget(inter, "root_cert_pem"), sget(root, "cert_pem"));
    char chain[16384];
    snprintf(chain, sizeof(chain), "%s%s", sget(inter, "ca_cert_pem"), sget(root, "cert_pem"));
    assert_string_equal(sget(inter, "cert_chain_pem"), chain);
    X509_free(x);
    X509_free(r);
}

static void test_two_clusters(void **state)
{
    json_t *key = make_key("ecdsa-p256"), *root = make_root(key, 3650);
    json_t *c1 = make_inter(root, "cluster-1", NULL), *c2 = make_inter(root, "cluster-2", NULL);
    assert_intermediate(c1, root, "cluster-1");
    assert_intermediate(c2, root, "cluster-2");
    assert_string_not_equal(sget(c1, "id"), sget(c2, "id"));
    assert_string_not_equal(sget(c1, "ca_key_pem"), sget(c2, "ca_key_pem"));
    /* Each chain verifies against the shared root only, not against the other cluster. */
    assert_false(chain_verifies(sget(c1, "ca_cert_pem"), sget(c2, "ca_cert_pem"), time(NULL)));
    json_t *cur = NULL;
    assert_int_equal(drv_read("pki_intermediate_ca", c1, &cur), 0);
    assert_healthy("pki_intermediate_ca", cur);
    assert_string_equal(sget(cur, "cert_chain_pem"), sget(c1, "cert_chain_pem"));
    json_decref(cur);
    json_decref(c1);
    json_decref(c2);
    json_decref(root);
    json_decref(key);
}

static void test_intermediate_bad_input(void **state)
{
    json_t *key = make_key("ecdsa-p256"), *root = make_root(key, 3650), *root2 = make_root(key, 3650);
    json_t *other = make_key("ecdsa-p256"), *out = NULL;
    struct mesh_err err;
    /* Root key that does not belong to the root cert. */
    json_t *d = inter_desired(root, other, "cluster-1", NULL);
    json_object_set_new(d, "issuer_key_pem", json_string(sget(other, "private_key_pem")));
    assert_int_equal(drv_create("pki_intermediate_ca", "pki_intermediate_ca.cluster-1", d, &out, &err), MESH_EINVAL);
    assert_string_equal(err.where, "pki_intermediate_ca.cluster-1");
    assert_non_null(strstr(err.msg, "issuer_key_pem does not match"));
    /* Outliving its root. */
    json_t *short_root = make_root(key, 100);
    assert_int_equal(drv_create("pki_intermediate_ca", "pki_intermediate_ca.cluster-1",
                                inter_desired(short_root, other, "cluster-1", NULL), &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "outlive the root"));
    /* Bad validity, bad renewal window, bad cluster name. */
    d = inter_desired(root, other, "cluster-1", NULL);
    json_object_set_new(d, "validity_days", json_integer(0));
    assert_int_equal(drv_create("pki_intermediate_ca", "x", d, &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "validity_days"));
    d = inter_desired(root, other, "cluster-1", NULL);
    json_object_set_new(d, "renew_before_days", json_integer(400));
    assert_int_equal(drv_create("pki_intermediate_ca", "x", d, &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "under half"));
    assert_int_equal(drv_create("pki_intermediate_ca", "x", inter_desired(root, other, "../evil", NULL), &out, &err),
                     MESH_EINVAL);
    assert_non_null(strstr(err.msg, "cluster"));
    json_decref(short_root);
    json_decref(other);
    json_decref(root2);
    json_decref(root);
    json_decref(key);
}

static void test_read_tampered(void **state)
{
    json_t *key = make_key("ecdsa-p256"), *key2 = make_key("ecdsa-p256");
    json_t *root = make_root(key, 3650), *root2 = make_root(key2, 3650);
    json_t *c1 = make_inter(root, "cluster-1", NULL), *c2 = make_inter(root, "cluster-2", NULL), *cur = NULL;
    /* Intermediate: another cluster's certificate in place of ours (key no longer matches). */
    json_t *t = json_deep_copy(c1);
    json_object_set(t, "ca_cert_pem", json_object_get(c2, "ca_cert_pem"));
    assert_int_equal(drv_read("pki_intermediate_ca", t, &cur), 0);
    assert_non_null(strstr(sget(cur, "status"), "does not match its key"));
    json_decref(cur);
    json_decref(t);
    /* Intermediate: a root it does not chain to. */
    t = json_deep_copy(c1);
    json_object_set(t, "root_cert_pem", json_object_get(root2, "cert_pem"));
    assert_int_equal(drv_read("pki_intermediate_ca", t, &cur), 0);
    assert_non_null(strstr(sget(cur, "status"), "does not chain"));
    json_decref(cur);
    json_decref(t);
    /* Intermediate: garbage is unusable, i.e. gone. */
    t = json_deep_copy(c1);
    json_object_set_new(t, "ca_cert_pem", json_string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
    assert_int_equal(drv_read("pki_intermediate_ca", t, &cur), MESH_ENOTFOUND);
    json_decref(t);
    /* Root: another root's certificate over our key. */
    t = json_deep_copy(root);
    json_object_set(t, "cert_pem", json_object_get(root2, "cert_pem"));
    assert_int_equal(drv_read("pki_root_ca", t, &cur), 0);
    assert_non_null(strstr(sget(cur, "status"), "does not match its key"));
    json_decref(cur);
    json_decref(t);
    json_decref(c1);
    json_decref(c2);
    json_decref(root2);
    json_decref(root);
    json_decref(key2);
    json_decref(key);
}

static const char *status_at(const char *type, const json_t *outputs, const char *now, char *buf, size_t n)
{
    json_t *cur = NULL;
    setenv("MESH_NOW", now, 1);
    assert_int_equal(drv_read(type, outputs, &cur), 0);
    snprintf(buf, n, "%s", sget(cur, "status") ? sget(cur, "status") : "valid");
    json_decref(cur);
    return buf;
}

static void test_expiry_window(void **state)
{
    char buf[256];
    setenv("MESH_NOW", "1893456000", 1);  /* 2030-01-01T00:00:00Z as unix seconds */
    json_t *key = make_key("ecdsa-p256"), *root = make_root(key, 3650), *c1 = make_inter(root, "cluster-1", NULL);
    assert_string_equal(sget(c1, "not_after"), "2032-01-01T00:00:00Z");  /* 730 days */
    assert_string_equal(status_at("pki_intermediate_ca", c1, "2031-12-01T23:59:59Z", buf, sizeof(buf)), "valid");
    assert_non_null(strstr(status_at("pki_intermediate_ca", c1, "2031-12-02T00:00:00Z", buf, sizeof(buf)), "expiring"));
    assert_non_null(strstr(status_at("pki_intermediate_ca", c1, "2031-12-20T12:00:00+02:00", buf, sizeof(buf)), "expiring"));
    assert_non_null(strstr(status_at("pki_intermediate_ca", c1, "2032-01-01T00:00:00Z", buf, sizeof(buf)), "expired at 2032-01-01T00:00:00Z"));
    assert_string_equal(status_at("pki_root_ca", root, "2032-01-02T00:00:00Z", buf, sizeof(buf)), "valid");
    assert_non_null(strstr(status_at("pki_root_ca", root, "2039-12-01T00:00:00Z", buf, sizeof(buf)), "expiring"));
    /* renew_before_days changes in place and moves the window. */
    struct tcall t;
    tcall_init(&t, "pki_intermediate_ca", "pki_intermediate_ca.cluster-1");
    json_t *desired = json_pack("{s:I}", "renew_before_days", (json_int_t)90), *upd = NULL;
    assert_int_equal(driver_find("pki_intermediate_ca")->update(&t.call, c1, c1, desired, &upd), 0);
    assert_non_null(strstr(status_at("pki_intermediate_ca", upd, "2031-11-01T00:00:00Z", buf, sizeof(buf)), "expiring"));
    /* A bad MESH_NOW is an error, not a silent fallback. */
    setenv("MESH_NOW", "yesterday", 1);
    json_t *cur = NULL;
    assert_int_equal(drv_read("pki_intermediate_ca", c1, &cur), MESH_EINVAL);
    unsetenv("MESH_NOW");
    json_decref(desired);
    json_decref(upd);
    json_decref(c1);
    json_decref(root);
    json_decref(key);
}

static json_t *import_desired(const char *cert_file, const char *key_file, const char *pass_env)
{
    json_t *d = json_pack("{s:s, s:s, s:s}", "cert_file", cert_file, "key_file", key_file, "status", "valid");
    if (pass_env) json_object_set_new(d, "key_passphrase_env", json_string(pass_env));
    return d;
}

static void write_encrypted_key(const char *path, const char *key_pem, const char *pass)
{
    EVP_PKEY *k = key_of(key_pem);
    BIO *b = BIO_new_file(path, "w");
    assert_int_equal(PEM_write_bio_PrivateKey(b, k, EVP_aes_256_cbc(), (unsigned char *)pass, (int)strlen(pass), NULL, NULL), 1);
    BIO_free(b);
    EVP_PKEY_free(k);
}

static void test_import(void **state)
{
    char *dir = tmpdir_new(), cert[256], keyf[256], wrong[256], enc[256], none[256];
    json_t *key = make_key("ecdsa-p256"), *other = make_key("ecdsa-p256"), *root = make_root(key, 3650), *out = NULL;
    snprintf(cert, sizeof(cert), "%s/root-cert.pem", dir);
    snprintf(keyf, sizeof(keyf), "%s/root-key.pem", dir);
    snprintf(wrong, sizeof(wrong), "%s/other-key.pem", dir);
    snprintf(enc, sizeof(enc), "%s/enc-key.pem", dir);
    snprintf(none, sizeof(none), "%s/missing.pem", dir);
    write_file(cert, sget(root, "cert_pem"));
    write_file(keyf, sget(key, "private_key_pem"));
    write_file(wrong, sget(other, "private_key_pem"));
    write_encrypted_key(enc, sget(key, "private_key_pem"), "s3cret-pass");
    struct mesh_err err;
    /* Matching pair: imported as is. */
    out = must_create("pki_root_ca", "pki_root_ca.root", import_desired(cert, keyf, NULL));
    assert_string_equal(sget(out, "cert_pem"), sget(root, "cert_pem"));
    assert_string_equal(sget(out, "id"), sget(root, "id"));
    assert_key_matches(sget(out, "ca_key_pem"), sget(out, "cert_pem"));
    char buf[256];
    assert_string_equal(status_at("pki_root_ca", out, "1893456000", buf, sizeof(buf)), "valid");
    unsetenv("MESH_NOW");
    /* Intermediates work the same over an imported root. */
    json_t *c1 = make_inter(out, "cluster-1", NULL);
    assert_intermediate(c1, out, "cluster-1");
    json_decref(c1);
    /* The user's file moving on to another certificate shows as drift. */
    json_t *root2 = make_root(other, 3650);
    write_file(cert, sget(root2, "cert_pem"));
    assert_non_null(strstr(status_at("pki_root_ca", out, "1893456000", buf, sizeof(buf)), "import again"));
    unsetenv("MESH_NOW");
    write_file(cert, sget(root, "cert_pem"));
    json_decref(root2);
    json_decref(out);
    /* Mismatched key. */
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", import_desired(cert, wrong, NULL), &out, &err), MESH_EINVAL);
    assert_string_equal(err.where, "pki_root_ca.root");
    assert_non_null(strstr(err.msg, "does not match cert_file"));
    /* Encrypted key: no passphrase, unset variable, wrong and right passphrase. */
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", import_desired(cert, enc, NULL), &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "is encrypted; set key_passphrase_env"));
    unsetenv("TEST_PKI_PASS");
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", import_desired(cert, enc, "TEST_PKI_PASS"), &out, &err),
                     MESH_EINVAL);
    assert_non_null(strstr(err.msg, "TEST_PKI_PASS, which is not set"));
    setenv("TEST_PKI_PASS", "nope", 1);
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", import_desired(cert, enc, "TEST_PKI_PASS"), &out, &err),
                     MESH_EINVAL);
    assert_non_null(strstr(err.msg, "wrong passphrase"));
    assert_null(strstr(err.msg, "nope"));
    setenv("TEST_PKI_PASS", "s3cret-pass", 1);
    out = must_create("pki_root_ca", "pki_root_ca.root", import_desired(cert, enc, "TEST_PKI_PASS"));
    assert_key_matches(sget(out, "ca_key_pem"), sget(out, "cert_pem"));
    json_decref(out);
    unsetenv("TEST_PKI_PASS");
    /* Missing file, a non-certificate, and mixing both modes. */
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", import_desired(none, keyf, NULL), &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "cannot read cert_file"));
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", import_desired(keyf, keyf, NULL), &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "holds no PEM certificate"));
    json_t *both = import_desired(cert, keyf, NULL);
    json_object_set_new(both, "private_key_pem", json_string(sget(key, "private_key_pem")));
    assert_int_equal(drv_create("pki_root_ca", "pki_root_ca.root", both, &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "not both"));
    json_decref(root);
    json_decref(other);
    json_decref(key);
    tmpdir_free(dir);
}

static void assert_file(const char *dir, const char *name, const char *want, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, mode);
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, (size_t)st.st_size + 1);
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    assert_string_equal(buf, want);
    free(buf);
}

static int path_exists(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void assert_exported(const char *dir, const json_t *inter, const char *cluster)
{
    char sub[300];
    snprintf(sub, sizeof(sub), "%s/%s", dir, cluster);
    assert_file(sub, "ca-cert.pem", sget(inter, "ca_cert_pem"), 0644);
    assert_file(sub, "ca-key.pem", sget(inter, "ca_key_pem"), 0600);
    assert_file(sub, "cert-chain.pem", sget(inter, "cert_chain_pem"), 0644);
    assert_file(sub, "root-cert.pem", sget(inter, "root_cert_pem"), 0644);
    assert_file(dir, "root-cert.pem", sget(inter, "root_cert_pem"), 0644);
}

static int drv_delete(const char *type, const json_t *outputs)
{
    struct tcall t;
    tcall_init(&t, type, "test.delete");
    return driver_find(type)->delete(&t.call, outputs);
}

static void test_export(void **state)
{
    char *tmp = tmpdir_new(), dir[300], path[400];
    snprintf(dir, sizeof(dir), "%s/out/certs", tmp);  /* created on demand, parents too */
    json_t *key = make_key("ecdsa-p256"), *root = make_root(key, 3650);
    json_t *c1 = make_inter(root, "cluster-1", dir), *c2 = make_inter(root, "cluster-2", dir), *cur = NULL;
    assert_exported(dir, c1, "cluster-1");
    assert_exported(dir, c2, "cluster-2");
    assert_false(path_exists(dir, "root-key.pem"));  /* the root key is never exported */
    assert_int_equal(drv_read("pki_intermediate_ca", c1, &cur), 0);
    assert_healthy("pki_intermediate_ca", cur);
    json_decref(cur);
    /* A file gone or loosened shows as drift on export_dir; an update repairs it. */
    snprintf(path, sizeof(path), "%s/cluster-1/ca-key.pem", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(drv_read("pki_intermediate_ca", c1, &cur), 0);
    assert_non_null(strstr(sget(cur, "export_dir"), "files missing or changed"));
    json_decref(cur);
    struct tcall t;
    tcall_init(&t, "pki_intermediate_ca", "pki_intermediate_ca.cluster-1");
    json_t *desired = json_pack("{s:s}", "export_dir", dir), *upd = NULL;
    assert_int_equal(driver_find("pki_intermediate_ca")->update(&t.call, c1, c1, desired, &upd), 0);
    assert_exported(dir, upd, "cluster-1");
    json_decref(upd);
    json_decref(desired);
    /* A file the user put in a cluster folder stays, and so does that folder. */
    snprintf(path, sizeof(path), "%s/cluster-2/notes.txt", dir);
    write_file(path, "mine\n");
    /* Delete removes what each wrote; the shared root-cert.pem goes with the last cluster. */
    assert_int_equal(drv_delete("pki_intermediate_ca", c1), 0);
    assert_false(path_exists(dir, "cluster-1"));
    assert_true(path_exists(dir, "root-cert.pem"));
    assert_int_equal(drv_delete("pki_intermediate_ca", c2), 0);
    assert_false(path_exists(dir, "cluster-2/ca-key.pem"));
    assert_true(path_exists(dir, "cluster-2/notes.txt"));
    assert_false(path_exists(dir, "root-cert.pem"));
    /* Deleting again is harmless. */
    assert_int_equal(drv_delete("pki_intermediate_ca", c2), 0);
    json_decref(c1);
    json_decref(c2);
    json_decref(root);
    json_decref(key);
    tmpdir_free(tmp);
}

/* A replacement's successor is created first (create-before-destroy); deleting the old one must
 * leave the new one's files alone. */
static void test_export_replace(void **state)
{
    char *tmp = tmpdir_new();
    json_t *key = make_key("ecdsa-p256"), *root = make_root(key, 3650);
    json_t *old = make_inter(root, "cluster-1", tmp), *new = make_inter(root, "cluster-1", tmp);
    assert_int_equal(drv_delete("pki_intermediate_ca", old), 0);
    assert_exported(tmp, new, "cluster-1");
    assert_int_equal(drv_delete("pki_intermediate_ca", new), 0);
    assert_false(path_exists(tmp, "cluster-1"));
    json_decref(old);
    json_decref(new);
    json_decref(root);
    json_decref(key);
    tmpdir_free(tmp);
}

/* Workers call drivers in parallel: two clusters' chains built at once, many times. */
struct par_job {
    const json_t *root;
    char cluster[32];
    int ok;
};

static void *par_worker(void *arg)
{
    struct par_job *j = arg;
    for (int i = 0; i < 5; i++) {
        json_t *d = json_pack("{s:s}", "algorithm", "ecdsa-p256"), *key = NULL, *inter = NULL;
        struct tcall t;
        tcall_init(&t, "pki_private_key", "pki_private_key.par");
        int rc = driver_find("pki_private_key")->create(&t.call, d, &key);
        json_decref(d);
        if (rc) return NULL;
        d = inter_desired(j->root, key, j->cluster, NULL);
        tcall_init(&t, "pki_intermediate_ca", "pki_intermediate_ca.par");
        rc = driver_find("pki_intermediate_ca")->create(&t.call, d, &inter);
        json_t *cur = NULL;
        if (!rc) rc = driver_find("pki_intermediate_ca")->read(&t.call, inter, &cur);
        if (!rc && !json_object_get(cur, "status")) j->ok++;
        json_decref(cur);
        json_decref(inter);
        json_decref(d);
        json_decref(key);
    }
    return NULL;
}

static void test_parallel(void **state)
{
    json_t *key = make_key("ecdsa-p256"), *root = make_root(key, 3650);
    struct par_job jobs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        jobs[i].root = root;
        jobs[i].ok = 0;
        snprintf(jobs[i].cluster, sizeof(jobs[i].cluster), "cluster-%d", i + 1);
        assert_int_equal(pthread_create(&th[i], NULL, par_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].ok, 5);
    }
    json_decref(root);
    json_decref(key);
}

/* --export DIR: a two-cluster PKI exported for tests/e2e/pki_openssl.sh to check with the CLI.
 * PKI_E2E_ALG picks the keys' algorithm (default ecdsa-p256). */
static int export_for_e2e(const char *dir)
{
    const char *alg = getenv("PKI_E2E_ALG") ? getenv("PKI_E2E_ALG") : "ecdsa-p256";
    json_t *key = NULL, *root = NULL;
    struct mesh_err err;
    if (drv_create("pki_private_key", "pki_private_key.root", json_pack("{s:s}", "algorithm", alg), &key, &err) ||
        drv_create("pki_root_ca", "pki_root_ca.root", json_pack("{s:s}", "private_key_pem", sget(key, "private_key_pem")),
                   &root, &err)) {
        fprintf(stderr, "%s: %s\n", err.where, err.msg);
        return 1;
    }
    int rc = 0;
    const char *clusters[] = {"cluster-1", "cluster-2"};
    for (int i = 0; i < 2 && !rc; i++) {
        json_t *ikey = NULL, *inter = NULL;
        rc = drv_create("pki_private_key", "pki_private_key.i", json_pack("{s:s}", "algorithm", alg), &ikey, &err);
        if (!rc) rc = drv_create("pki_intermediate_ca", "pki_intermediate_ca.i", inter_desired(root, ikey, clusters[i], dir),
                                 &inter, &err);
        if (rc) fprintf(stderr, "%s: %s\n", err.where, err.msg);
        json_decref(ikey);
        json_decref(inter);
    }
    json_decref(root);
    json_decref(key);
    return rc ? 1 : 0;
}

/* Every test starts at the real time: a failed test must not leave its clock to the next. */
/* Root rotation (docs/pki.md): trusted_roots_pem becomes root_cert_pem, must hold the issuer,
 * changes in place (and back), and read accepts a bundle; cert_chain_pem stays intermediate then
 * the issuer. */
static int count_certs(const char *pem)
{
    int n = 0;
    for (const char *p = pem; (p = strstr(p, "BEGIN CERTIFICATE")) != NULL; p++) n++;
    return n;
}

static int drv_update(const json_t *outputs, const json_t *desired, json_t **out, struct mesh_err *err)
{
    struct tcall t;
    tcall_init(&t, "pki_intermediate_ca", "pki_intermediate_ca.x");
    *out = NULL;
    int rc = driver_find("pki_intermediate_ca")->update(&t.call, outputs, outputs, desired, out);
    if (err) *err = t.err;
    return rc;
}

static void test_trust_bundle(void **state)
{
    json_t *k1 = make_key("ecdsa-p256"), *k2 = make_key("ecdsa-p256"), *ik = make_key("ecdsa-p256");
    json_t *r1 = make_root(k1, 3650), *r2 = make_root(k2, 3650), *cur = NULL, *out = NULL, *upd = NULL;
    char *both = NULL;
    assert_true(asprintf(&both, "%s%s", sget(r1, "cert_pem"), sget(r2, "cert_pem")) > 0);
    struct mesh_err err;

    /* a bundle without the issuer is refused */
    json_t *d = inter_desired(r1, ik, "c1", NULL);
    json_object_set_new(d, "trusted_roots_pem", json_string(sget(r2, "cert_pem")));
    assert_int_equal(drv_create("pki_intermediate_ca", "pki_intermediate_ca.x", d, &out, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "trusted_roots_pem does not hold the issuing root"));
    assert_null(out);

    /* issued by r1, trusting both */
    d = inter_desired(r1, ik, "c1", NULL);
    json_object_set_new(d, "trusted_roots_pem", json_string(both));
    out = must_create("pki_intermediate_ca", "pki_intermediate_ca.x", d);
    assert_string_equal(sget(out, "root_cert_pem"), both);
    assert_int_equal(count_certs(sget(out, "cert_chain_pem")), 2);
    assert_non_null(strstr(sget(out, "cert_chain_pem"), sget(r1, "cert_pem")));
    assert_null(strstr(sget(out, "cert_chain_pem"), sget(r2, "cert_pem")));
    assert_true(chain_verifies(sget(out, "ca_cert_pem"), sget(r1, "cert_pem"), time(NULL)));
    assert_int_equal(drv_read("pki_intermediate_ca", out, &cur), 0);
    assert_healthy("pki_intermediate_ca", cur);
    json_decref(cur);

    /* in place: bundle dropped -> the issuer only; then back to both */
    json_t *dd = inter_desired(r1, ik, "c1", NULL);
    assert_int_equal(drv_update(out, dd, &upd, &err), 0);
    assert_string_equal(sget(upd, "root_cert_pem"), sget(r1, "cert_pem"));
    assert_string_equal(sget(upd, "ca_cert_pem"), sget(out, "ca_cert_pem"));
    assert_int_equal(drv_read("pki_intermediate_ca", upd, &cur), 0);
    assert_healthy("pki_intermediate_ca", cur);
    json_decref(cur);
    json_t *upd2 = NULL;
    json_object_set_new(dd, "trusted_roots_pem", json_string(both));
    assert_int_equal(drv_update(upd, dd, &upd2, &err), 0);
    assert_string_equal(sget(upd2, "root_cert_pem"), both);
    json_decref(upd2);

    /* in place to a bundle that no longer holds the issuer: refused, nothing changed */
    json_object_set_new(dd, "trusted_roots_pem", json_string(sget(r2, "cert_pem")));
    upd2 = NULL;
    assert_int_not_equal(drv_update(out, dd, &upd2, &err), 0);
    assert_null(upd2);
    assert_non_null(strstr(err.msg, "does not hold the root that issued this intermediate"));

    /* a tampered bundle (the issuer gone) is drift: read says replace */
    json_t *bad = json_deep_copy(out);
    json_object_set_new(bad, "root_cert_pem", json_string(sget(r2, "cert_pem")));
    assert_int_equal(drv_read("pki_intermediate_ca", bad, &cur), 0);
    assert_non_null(strstr(sget(cur, "status"), "replace"));
    json_decref(cur);

    json_decref(bad);
    json_decref(dd);
    json_decref(upd);
    json_decref(out);
    free(both);
    json_decref(r1);
    json_decref(r2);
    json_decref(k1);
    json_decref(k2);
    json_decref(ik);
}

static int reset_clock(void **state)
{
    unsetenv("MESH_NOW");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--export") == 0) return export_for_e2e(argv[2]);
    unsetenv("MESH_NOW");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_registry, reset_clock),
        cmocka_unit_test_setup(test_key_ecdsa, reset_clock),
        cmocka_unit_test_setup(test_key_bad_input, reset_clock),
        cmocka_unit_test_setup(test_rsa4096_root, reset_clock),
        cmocka_unit_test_setup(test_root_fields, reset_clock),
        cmocka_unit_test_setup(test_two_clusters, reset_clock),
        cmocka_unit_test_setup(test_intermediate_bad_input, reset_clock),
        cmocka_unit_test_setup(test_read_tampered, reset_clock),
        cmocka_unit_test_setup(test_expiry_window, reset_clock),
        cmocka_unit_test_setup(test_import, reset_clock),
        cmocka_unit_test_setup(test_export, reset_clock),
        cmocka_unit_test_setup(test_export_replace, reset_clock),
        cmocka_unit_test_setup(test_parallel, reset_clock),
        cmocka_unit_test_setup(test_trust_bundle, reset_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
