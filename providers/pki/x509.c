/* x509.c: issuing a CA certificate exactly as Istio's tools/certs Makefiles (root-ca.conf,
 * intermediate.conf) do: subject O, CN[, L]; basicConstraints critical CA:TRUE (pathlen:0 for an
 * intermediate); keyUsage critical digitalSignature, nonRepudiation, keyEncipherment, keyCertSign;
 * SKI; for an intermediate also AKI and SAN DNS:istiod.istio-system.svc; SHA-256; a random
 * 128-bit serial. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "pki.h"
#include "base/xalloc.h"

#define PKI_KEY_USAGE "critical, digitalSignature, nonRepudiation, keyEncipherment, keyCertSign"
#define PKI_ISTIOD_SAN "DNS:istiod.istio-system.svc"

/* 128 random bits with the top bit set: always exactly 128 bits, always positive. */
static int x509_set_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok = bn && BN_rand(bn, 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

static int x509_add_name(X509_NAME *n, const char *field, const char *value)
{
    return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0) == 1;
}

/* Field order as in Istio's req_dn sections: O, CN, then L for an intermediate. */
static int x509_set_subject(X509 *x, const struct pki_cert_req *req)
{
    X509_NAME *n = X509_get_subject_name(x);
    if (!x509_add_name(n, "O", req->organization) || !x509_add_name(n, "CN", req->common_name)) return 0;
    if (req->locality && !x509_add_name(n, "L", req->locality)) return 0;
    X509_NAME *issuer = req->issuer ? X509_get_subject_name(req->issuer) : n;
    return X509_set_issuer_name(x, issuer) == 1;
}

static int x509_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

static int x509_add_extensions(X509 *x, const struct pki_cert_req *req)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, req->issuer ? req->issuer : x, x, NULL, NULL, 0);
    int inter = req->issuer != NULL;
    if (!x509_add_ext(x, &ctx, NID_subject_key_identifier, "hash")) return 0;
    if (!x509_add_ext(x, &ctx, NID_basic_constraints, inter ? "critical, CA:TRUE, pathlen:0" : "critical, CA:TRUE"))
        return 0;
    if (!x509_add_ext(x, &ctx, NID_key_usage, PKI_KEY_USAGE)) return 0;
    if (!inter) return 1;
    /* keyid from the issuer's SKI; issuer name + serial only if an imported root has no SKI. */
    return x509_add_ext(x, &ctx, NID_subject_alt_name, PKI_ISTIOD_SAN) &&
           x509_add_ext(x, &ctx, NID_authority_key_identifier, "keyid,issuer");
}

/* Ed25519/Ed448 sign without a separate digest; everything else with SHA-256 like Istio. */
static const EVP_MD *x509_digest(EVP_PKEY *k)
{
    int id = EVP_PKEY_get_base_id(k);
    return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();
}

int pki_cert_issue(struct call *c, const struct pki_cert_req *req, X509 **out)
{
    ERR_clear_error();
    X509 *x = X509_new();
    time_t now = req->now;
    int ok = x && X509_set_version(x, 2) == 1 && x509_set_serial(x) &&
             X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) != NULL &&
             X509_time_adj_ex(X509_getm_notAfter(x), (int)req->validity_days, 0, &now) != NULL &&
             X509_set_pubkey(x, req->key) == 1 && x509_set_subject(x, req) && x509_add_extensions(x, req) &&
             X509_sign(x, req->issuer_key, x509_digest(req->issuer_key)) > 0;
    if (!ok) {
        X509_free(x);
        return pki_fail(c, MESH_ERR, "cannot issue the certificate for %s", req->common_name);
    }
    *out = x;
    return 0;
}

char *pki_cert_serial_hex(X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    if (!hex) return NULL;
    char *s = xstrdup(hex);
    OPENSSL_free(hex);
    for (char *p = s; p && *p; p++) *p = (char)tolower((unsigned char)*p);
    return s;
}
