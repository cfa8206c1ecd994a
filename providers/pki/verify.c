/* verify.c: the checks read() re-runs on what state holds: key matches certificate, the
 * intermediate chains to its root, and how close a certificate is to expiry. Expiry is checked
 * here, against pki_now(), rather than by X509_verify_cert, so read can say "expiring in N days"
 * instead of a bare verification failure. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "pki.h"

int pki_key_matches(EVP_PKEY *k, X509 *x)
{
    int ok = X509_check_private_key(x, k) == 1;
    ERR_clear_error();
    return ok;
}

/* 1 when leaf verifies against the roots as the only trust anchors; else 0 with the reason in why. */
int pki_chain_check_bundle(X509 *leaf, STACK_OF(X509) *roots, char *why, size_t n)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0, added = st != NULL;
    for (int i = 0; added && i < sk_X509_num(roots); i++) added = X509_STORE_add_cert(st, sk_X509_value(roots, i)) == 1;
    if (st && ctx && added && X509_STORE_CTX_init(ctx, st, leaf, NULL) == 1) {
        X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
        ok = X509_verify_cert(ctx) == 1;
        if (!ok) snprintf(why, n, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
    } else {
        snprintf(why, n, "out of memory");
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    ERR_clear_error();
    return ok;
}

int pki_chain_check(X509 *leaf, X509 *root, char *why, size_t n)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    int ok = 0;
    if (sk && sk_X509_push(sk, root)) ok = pki_chain_check_bundle(leaf, sk, why, n);
    else snprintf(why, n, "out of memory");
    sk_X509_free(sk);
    return ok;
}

/* Writes "valid", "expiring: ..." or "expired: ..." into status; returns 1 only for valid. */
int pki_cert_expiry(X509 *x, time_t now, long renew_days, char *status, size_t n)
{
    time_t not_after;
    char when[32];
    if (pki_asn1_to_time(X509_get0_notAfter(x), &not_after) != 0) {
        snprintf(status, n, "unreadable notAfter: renew");
        return 0;
    }
    pki_rfc3339(not_after, when);
    if (now >= not_after) {
        snprintf(status, n, "expired at %s: renew", when);
        return 0;
    }
    if (renew_days > 0 && not_after - now <= (time_t)renew_days * 86400) {
        snprintf(status, n, "expiring at %s, within renew_before_days %ld: renew", when, renew_days);
        return 0;
    }
    snprintf(status, n, "%s", PKI_STATUS_VALID);
    return 1;
}

int pki_cert_not_after(X509 *x, char buf[32])
{
    time_t t;
    if (pki_asn1_to_time(X509_get0_notAfter(x), &t) != 0) return -1;
    pki_rfc3339(t, buf);
    return 0;
}

long pki_cert_validity_days(X509 *x)
{
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)) != 1) return -1;
    return days;
}

int pki_cert_name(X509 *x, int nid, char *buf, size_t n)
{
    buf[0] = '\0';
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, buf, (int)n);
    return len < 0 ? -1 : 0;
}
