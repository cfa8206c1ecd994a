/* check_certs.c: one trust domain across clusters. Each cluster's cacerts secret (what istiod
 * signs workload certificates with) must hold the same root-cert.pem, and its ca-cert.pem and
 * cert-chain.pem must chain to that root (OpenSSL's verification, as a peer's sidecar does).
 * Only the certificates are read; ca-key.pem is never looked at, and nothing of the secret but
 * public fingerprints goes into the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "base/wipe.h"
#include "base/xalloc.h"
#include "istio/check.h"

static STACK_OF(X509) *certs_of(const char *pem)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *c;
    while (b && (c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) sk_X509_push(sk, c);
    BIO_free(b);
    ERR_clear_error();  /* the end of the PEM reads as an error */
    return sk;
}

static int self_signed(X509 *c) { return X509_check_issued(c, c) == X509_V_OK; }

static void subject(X509 *c, char *buf, size_t n)
{
    X509_NAME_oneline(X509_get_subject_name(c), buf, (int)n);
}

/* 0 when leaf verifies against root with chain's certificates as intermediates. */
static int verify(X509 *root, STACK_OF(X509) *chain, X509 *leaf, char *why, size_t n)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, root);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = -1;
    if (X509_STORE_CTX_init(ctx, store, leaf, chain) == 1) {
        if (X509_verify_cert(ctx) == 1) {
            rc = 0;
        } else {
            char s[256];
            subject(leaf, s, sizeof(s));
            snprintf(why, n, "%s does not chain to the root: %s", s,
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        }
    } else {
        snprintf(why, n, "cannot set up the verification");
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return rc;
}

int check_cert_chain(const char *root_pem, const char *ca_pem, const char *chain_pem, char *why, size_t n)
{
    STACK_OF(X509) *roots = certs_of(root_pem), *ca = certs_of(ca_pem);
    STACK_OF(X509) *chain = chain_pem ? certs_of(chain_pem) : sk_X509_new_null();
    int rc = -1;
    if (sk_X509_num(roots) < 1)
        snprintf(why, n, "root-cert.pem holds no certificate");
    else if (!self_signed(sk_X509_value(roots, 0)))
        snprintf(why, n, "root-cert.pem is not a self-signed root");
    else if (sk_X509_num(ca) < 1)
        snprintf(why, n, "ca-cert.pem holds no certificate");
    else if (verify(sk_X509_value(roots, 0), chain, sk_X509_value(ca, 0), why, n) == 0) {
        rc = 0;
        for (int i = 0; rc == 0 && i < sk_X509_num(chain); i++) {
            X509 *c = sk_X509_value(chain, i);
            if (self_signed(c) && X509_cmp(c, sk_X509_value(roots, 0)) != 0) {
                char s[256];
                subject(c, s, sizeof(s));
                snprintf(why, n, "cert-chain.pem ends in another root (%s)", s);
                rc = -1;
            } else if (!self_signed(c)) {
                rc = verify(sk_X509_value(roots, 0), chain, c, why, n);
            }
        }
    }
    sk_X509_pop_free(roots, X509_free);
    sk_X509_pop_free(ca, X509_free);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

int check_cert_fingerprint(const char *pem, char *out, size_t n)
{
    STACK_OF(X509) *sk = certs_of(pem);
    int rc = -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (sk_X509_num(sk) >= 1 && X509_digest(sk_X509_value(sk, 0), EVP_sha256(), md, &len) == 1 && n >= 24) {
        size_t at = 0;
        out[0] = '\0';
        for (unsigned i = 0; i < 8 && i < len; i++) at += (size_t)snprintf(out + at, n - at, "%s%02x", i ? ":" : "", md[i]);
        rc = 0;
    }
    sk_X509_pop_free(sk, X509_free);
    return rc;
}

/* The PEM under key of the secret's data, decoded (malloc'd), or NULL. */
static char *pem_at(const json_t *secret, const char *key)
{
    const char *b64 = json_string_value(json_object_get(json_object_get(secret, "data"), key));
    size_t len = 0;
    return b64 ? (char *)check_b64_decode(b64, &len) : NULL;
}

void check_certs(struct check_ctx *x)
{
    char ref_fp[64] = "", ref_name[256] = "";
    for (size_t i = 0; i < x->n; i++) {
        struct check_cluster *cl = &x->cl[i];
        if (!cl->k) continue;
        struct call call;
        struct mesh_err err;
        check_call(x, &call, &err, 30);
        struct kube_ref ref = {"v1", "Secret", cl->ns, "cacerts"};
        json_t *secret = NULL;
        int rc = kube_get(&call, cl->k, &ref, &secret, &err);
        if (rc == MESH_ENOTFOUND) {
            check_row(cl, "CA chains to the root", 0,
                      "add a pki: section to the spec (docs/pki.md): mesh apply then writes every cluster's cacerts from "
                      "one root; restart istiod afterwards",
                      "%s/cacerts is missing: istiod signs with its own self-signed root, which the other clusters do "
                      "not trust", cl->ns);
            continue;
        }
        if (rc) {
            check_row(cl, "CA chains to the root", 0, "is the cluster reachable, and may its credential read secrets?",
                      "cannot read %s/cacerts: %s", cl->ns, err.msg);
            continue;
        }
        char *root = pem_at(secret, "root-cert.pem"), *ca = pem_at(secret, "ca-cert.pem");
        char *chain = pem_at(secret, "cert-chain.pem");
        json_decref(secret);  /* it holds ca-key.pem: gone (wiped) before anything else */
        char why[700] = "", fp[64] = "";
        const char *fix = "the cacerts secret must come from one PKI: re-run mesh apply (pki: section), then restart "
                          "istiod (kubectl rollout restart deployment/istiod)";
        if (!root || !ca) {
            check_row(cl, "CA chains to the root", 0, fix, "%s/cacerts lacks %s", cl->ns,
                      !root ? "root-cert.pem" : "ca-cert.pem");
        } else if (check_cert_chain(root, ca, chain, why, sizeof(why))) {
            check_row(cl, "CA chains to the root", 0, fix, "%s/cacerts: %s", cl->ns, why);
        } else {
            check_row(cl, "CA chains to the root", 1, NULL, "ca-cert.pem%s chain to root-cert.pem",
                      chain ? " and cert-chain.pem" : "");
        }
        if (root && check_cert_fingerprint(root, fp, sizeof(fp)) == 0) {
            if (!ref_fp[0]) {
                snprintf(ref_fp, sizeof(ref_fp), "%s", fp);
                snprintf(ref_name, sizeof(ref_name), "%s", cl->name);
                check_row(cl, "root agrees across clusters", 1, NULL, "root SHA-256 %s", fp);
            } else if (strcmp(fp, ref_fp) == 0) {
                check_row(cl, "root agrees across clusters", 1, NULL, "root SHA-256 %s, as %s's", fp, ref_name);
            } else {
                check_row(cl, "root agrees across clusters", 0,
                          "give every cluster's cacerts the same root (one pki_root_ca in the spec), mesh apply, "
                          "then restart istiod in each cluster",
                          "root SHA-256 %s differs from %s's (%s): workloads of the two clusters will not trust "
                          "each other", fp, ref_name, ref_fp);
            }
        }
        wipe_free(root);
        wipe_free(ca);
        wipe_free(chain);
    }
}
