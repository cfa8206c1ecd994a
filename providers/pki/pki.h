/* pki.h: helpers shared by the PKI drivers (pki_private_key, pki_root_ca, pki_intermediate_ca).
 * Everything here is reentrant: no static mutable state, OpenSSL objects owned by the caller.
 * Private key material only ever lives in json strings handed to the engine, in OpenSSL's
 * secure-memory BIOs, or in buffers wiped with OPENSSL_cleanse; it never reaches an error message. */
#ifndef MESH_PKI_H
#define MESH_PKI_H

#include <jansson.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "driver.h"

#define PKI_STATUS_VALID "valid"
#define PKI_RENEW_DEFAULT 30L

/* clock.c: "now", overridable by the test-only MESH_NOW (unix seconds or RFC3339). */
int pki_now(struct call *c, time_t *now);
void pki_rfc3339(time_t t, char buf[32]);
int pki_asn1_to_time(const ASN1_TIME *a, time_t *out);

/* attrs.c: typed attribute access with defaults; EINVAL names the address and the attribute. */
int pki_attr_str(struct call *c, const json_t *o, const char *name, const char *def, const char **out);
int pki_attr_days(struct call *c, const json_t *o, const char *name, long def, long *out);
int pki_attr_status(struct call *c, const json_t *desired);
int pki_attr_renew(struct call *c, const json_t *desired, long validity_days, long *out);
/* read()'s result starts as the COMPUTED outputs only: the engine diffs every settable attribute
 * present in it against desired, so read adds one (status, export_dir) only to report drift. */
json_t *pki_current_new(const struct attr *schema, const json_t *outputs);
/* Formats the message, appends OpenSSL's last reason (never key data) and clears its queue. */
int pki_fail(struct call *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* pem.c: PEM <-> OpenSSL objects. Parsers never prompt for a passphrase. */
int pki_key_parse(struct call *c, const char *what, const char *pem, EVP_PKEY **out);
json_t *pki_key_pem(EVP_PKEY *k);     /* PKCS#8 private key; new reference or NULL */
json_t *pki_pubkey_pem(EVP_PKEY *k);  /* SubjectPublicKeyInfo */
int pki_key_fingerprint(EVP_PKEY *k, char hex[65]);  /* SHA-256 of the DER public key */
const char *pki_key_algorithm(EVP_PKEY *k, char *buf, size_t n);  /* "rsa4096", "ecdsa-p256"... */
int pki_cert_parse(struct call *c, const char *what, const char *pem, X509 **out);
X509 *pki_cert_parse_quiet(const char *pem);  /* NULL when unusable; no error set */
json_t *pki_cert_pem(X509 *x);
/* Every certificate of a PEM bundle (root-cert.pem with several roots); NULL when none. Free
 * with sk_X509_pop_free(sk, X509_free). */
STACK_OF(X509) *pki_bundle_parse_quiet(const char *pem);

/* x509.c: issuing certificates the way Istio's tools/certs Makefiles do. */
struct pki_cert_req {
    const char *organization;
    const char *common_name;
    const char *locality;      /* NULL for the root */
    long validity_days;
    time_t now;
    EVP_PKEY *key;             /* the subject's key */
    X509 *issuer;              /* NULL: self-signed root */
    EVP_PKEY *issuer_key;      /* the signer (== key for the root) */
};
int pki_cert_issue(struct call *c, const struct pki_cert_req *req, X509 **out);
char *pki_cert_serial_hex(X509 *x);  /* lowercase hex; free() it */

/* verify.c: what read re-checks. */
int pki_key_matches(EVP_PKEY *k, X509 *x);
int pki_chain_check(X509 *leaf, X509 *root, char *why, size_t n);
/* The same with every certificate of a trust bundle as an anchor. */
int pki_chain_check_bundle(X509 *leaf, STACK_OF(X509) *roots, char *why, size_t n);
int pki_cert_expiry(X509 *x, time_t now, long renew_days, char *status, size_t n);
int pki_cert_not_after(X509 *x, char buf[32]);
long pki_cert_validity_days(X509 *x);
int pki_cert_name(X509 *x, int nid, char *buf, size_t n);

/* export.c: the optional export folder of an intermediate (Istio's cacerts layout). */
int pki_export_write(struct call *c, const json_t *outputs);
int pki_export_remove(struct call *c, const json_t *outputs);
int pki_export_intact(const json_t *outputs);
int pki_export_check_cluster(struct call *c, const char *cluster);

/* import.c: an existing root CA from cert_file/key_file (pki_root_ca import mode). */
int pki_import_load(struct call *c, const json_t *desired, time_t now, X509 **cert, EVP_PKEY **key);
/* The same checks without keeping anything, for the spec compiler: each problem is reported with
 * the attribute it is about (cert_file, key_file, key_passphrase_env). Returns how many. */
int pki_import_check(struct call *c, const json_t *desired, time_t now, check_report_fn report, void *ctx);

#endif
