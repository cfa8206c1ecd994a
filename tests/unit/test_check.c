/* test_check.c: the pieces of `mesh check` that need no cluster: the certificate chain check
 * (an intermediate of the root passes; one of another root, a root that is not self-signed or a
 * chain ending in another root fail), the fingerprint, base64, the report renderer and the
 * check hook table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/err.h"
#include "base/wipe.h"
#include "check_render.h"
#include "driver.h"
#include "istio/check.h"

struct ca {
    EVP_PKEY *key;
    X509 *cert;
    char *pem;
};

static char *to_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = calloc(1, (size_t)n + 1);
    memcpy(out, data, (size_t)n);
    BIO_free(b);
    return out;
}

/* A CA certificate named cn, signed by issuer (NULL: self-signed). */
static struct ca make_ca(const char *cn, const struct ca *issuer)
{
    struct ca c;
    c.key = EVP_EC_gen("P-256");
    c.cert = X509_new();
    X509_set_version(c.cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.cert), rand());
    X509_gmtime_adj(X509_getm_notBefore(c.cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(c.cert), 86400);
    X509_NAME *name = X509_NAME_new();
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(c.cert, name);
    X509_set_issuer_name(c.cert, issuer ? X509_get_subject_name(issuer->cert) : name);
    X509_NAME_free(name);
    X509_set_pubkey(c.cert, c.key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer->cert : c.cert, c.cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(c.cert, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(c.cert, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(c.cert, issuer ? issuer->key : c.key, EVP_sha256());
    c.pem = to_pem(c.cert);
    return c;
}

static void ca_free(struct ca *c)
{
    EVP_PKEY_free(c->key);
    X509_free(c->cert);
    free(c->pem);
}

static char *cat(const char *a, const char *b)
{
    char *s = calloc(1, strlen(a) + strlen(b) + 1);
    strcpy(s, a);
    strcat(s, b);
    return s;
}

static void test_cert_chain(void **state)
{
    (void)state;
    struct ca root = make_ca("Mesh Root", NULL), other = make_ca("Other Root", NULL);
    struct ca i1 = make_ca("c1 intermediate", &root), i2 = make_ca("c2 intermediate", &other);
    char why[700];
    char *chain1 = cat(i1.pem, root.pem), *chain2 = cat(i2.pem, other.pem);
    assert_int_equal(check_cert_chain(root.pem, i1.pem, chain1, why, sizeof(why)), 0);
    assert_int_equal(check_cert_chain(root.pem, i1.pem, NULL, why, sizeof(why)), 0);
    /* an intermediate of another root */
    assert_int_equal(check_cert_chain(root.pem, i2.pem, NULL, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "c2 intermediate does not chain to the root"));
    /* its chain ending in the other root */
    assert_int_equal(check_cert_chain(root.pem, i1.pem, chain2, why, sizeof(why)), -1);
    /* a root that is not self-signed */
    assert_int_equal(check_cert_chain(i1.pem, i1.pem, NULL, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "not a self-signed root"));
    assert_int_equal(check_cert_chain("", i1.pem, NULL, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "root-cert.pem holds no certificate"));
    char fp1[64], fp2[64];
    assert_int_equal(check_cert_fingerprint(root.pem, fp1, sizeof(fp1)), 0);
    assert_int_equal(check_cert_fingerprint(other.pem, fp2, sizeof(fp2)), 0);
    assert_int_equal(strlen(fp1), 23);  /* 8 bytes: "ab:cd:...:ef" */
    assert_true(fp1[2] == ':' && fp1[22] != ':');
    assert_string_not_equal(fp1, fp2);
    assert_int_equal(check_cert_fingerprint("not a cert", fp1, sizeof(fp1)), -1);
    free(chain1);
    free(chain2);
    ca_free(&root);
    ca_free(&other);
    ca_free(&i1);
    ca_free(&i2);
}

static void test_b64(void **state)
{
    (void)state;
    size_t n = 0;
    unsigned char *s = check_b64_decode("aGVsbG8g\nd29ybGQ=", &n);
    assert_non_null(s);
    assert_int_equal(n, 11);
    assert_string_equal((char *)s, "hello world");
    wipe_free(s);
    assert_null(check_b64_decode("abc", &n));
}

static void test_render(void **state)
{
    (void)state;
    json_t *report = json_loads(
        "{\"ok\": false, \"clusters\": {"
        "\"c1\": [{\"check\": \"API server reachable\", \"ok\": true, \"detail\": \"answers\"},"
        "         {\"check\": \"remote secret for c2\", \"ok\": false, \"detail\": \"missing\", \"fix\": \"run mesh apply\"}],"
        "\"c2\": [{\"check\": \"API server reachable\", \"ok\": true, \"detail\": \"answers\"}]}}",
        0, NULL);
    assert_non_null(report);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(check_render(f, report), 1);
    fclose(f);
    assert_non_null(strstr(buf, "Cluster c1 (1 of 2 checks failed)"));
    assert_non_null(strstr(buf, "Cluster c2 (1 checks pass)"));
    assert_non_null(strstr(buf, "remote secret for c2  FAIL    missing"));
    assert_non_null(strstr(buf, "  - remote secret for c2: run mesh apply"));
    assert_non_null(strstr(buf, "1 check failed in 1 of 2 clusters"));
    assert_true(strstr(buf, "Cluster c1") < strstr(buf, "Cluster c2"));  /* the hook's order */
    free(buf);
    json_decref(report);
}

static void test_hook_table(void **state)
{
    (void)state;
    struct mesh_err err;
    mesh_err_init(&err);
    struct call c = {.err = &err};
    json_t *report = NULL;
    assert_int_not_equal(check_hook_run("nope", &c, NULL, &report), 0);
    assert_non_null(strstr(err.msg, "no check hook named \"nope\""));
    /* istio with no cluster in state: it cannot run, and says why */
    json_t *input = json_pack("{s:[], s:n, s:{}}", "resources", "mesh", "options");
    mesh_err_init(&err);
    assert_int_not_equal(check_hook_run("istio", &c, input, &report), 0);
    assert_null(report);
    assert_non_null(strstr(err.msg, "holds no cluster"));
    json_decref(input);
}

int main(void)
{
    wipe_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cert_chain),
        cmocka_unit_test(test_b64),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_hook_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
