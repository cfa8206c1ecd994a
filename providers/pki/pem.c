/* pem.c: PEM text <-> OpenSSL keys and certificates. Private keys are encoded through OpenSSL's
 * secure-memory BIO, which wipes its buffer on free; parsing reads the caller's string in place
 * (BIO_new_mem_buf makes no copy). A passphrase callback that refuses keeps OpenSSL from ever
 * prompting on the terminal for an encrypted key. */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki.h"

static int pem_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

int pki_key_parse(struct call *c, const char *what, const char *pem, EVP_PKEY **out)
{
    if (!pem || !*pem) return mesh_err_set(c->err, MESH_EINVAL, c->address, "%s is empty", what);
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, pem_no_passphrase, NULL) : NULL;
    BIO_free(b);
    if (!k) return pki_fail(c, MESH_EINVAL, "%s is not an unencrypted PEM private key", what);
    *out = k;
    return 0;
}

/* The BIO's contents as a json string; the BIO is freed (and, if secure, wiped). */
static json_t *pem_bio_take(BIO *b, int ok)
{
    json_t *s = NULL;
    char *data = NULL;
    long n = ok ? BIO_get_mem_data(b, &data) : 0;
    if (n > 0) s = json_stringn(data, (size_t)n);
    BIO_free(b);
    return s;
}

json_t *pki_key_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b) return NULL;
    return pem_bio_take(b, PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1);
}

json_t *pki_pubkey_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return NULL;
    return pem_bio_take(b, PEM_write_bio_PUBKEY(b, k) == 1);
}

json_t *pki_cert_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return NULL;
    return pem_bio_take(b, PEM_write_bio_X509(b, x) == 1);
}

int pki_key_fingerprint(EVP_PKEY *k, char hex[65])
{
    unsigned char *der = NULL, md[32];
    unsigned int mdlen = 0;
    int n = i2d_PUBKEY(k, &der);
    int ok = n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
    OPENSSL_free(der);
    if (!ok) return -1;
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

const char *pki_key_algorithm(EVP_PKEY *k, char *buf, size_t n)
{
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
        snprintf(buf, n, "rsa%d", EVP_PKEY_get_bits(k));
        return buf;
    }
    if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
        char group[64] = "";
        size_t len = 0;
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len);
        snprintf(buf, n, "%s", strcmp(group, "prime256v1") == 0 ? "ecdsa-p256" : "ecdsa-other");
        return buf;
    }
    snprintf(buf, n, "%s", EVP_PKEY_get0_type_name(k) ? EVP_PKEY_get0_type_name(k) : "unknown");
    return buf;
}

X509 *pki_cert_parse_quiet(const char *pem)
{
    if (!pem || !*pem) return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, pem_no_passphrase, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    return x;
}

int pki_cert_parse(struct call *c, const char *what, const char *pem, X509 **out)
{
    X509 *x = pki_cert_parse_quiet(pem);
    if (!x) return mesh_err_set(c->err, MESH_EINVAL, c->address, "%s is not a PEM certificate", what);
    *out = x;
    return 0;
}

STACK_OF(X509) *pki_bundle_parse_quiet(const char *pem)
{
    if (!pem || !*pem) return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    STACK_OF(X509) *sk = b ? sk_X509_new_null() : NULL;
    X509 *x;
    while (sk && (x = PEM_read_bio_X509(b, NULL, pem_no_passphrase, NULL)) != NULL)
        if (!sk_X509_push(sk, x)) X509_free(x);
    BIO_free(b);
    ERR_clear_error();
    if (sk && sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        sk = NULL;
    }
    return sk;
}
