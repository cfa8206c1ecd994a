/* root.c: pki_root_ca, the mesh's root of trust. Two modes:
 *  - generate: a self-signed CA over private_key_pem (a reference to a pki_private_key);
 *  - import:   an existing root read from cert_file/key_file at apply (import.c).
 * Either way the outputs carry cert_pem and the root's key as ca_key_pem (SENSITIVE), so
 * intermediates reference one resource whatever the mode. Replacing the root breaks trust
 * between clusters, hence DRIVER_GUARDED. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki.h"

static const struct attr root_schema[] = {
    {"private_key_pem", T_STRING, ATTR_FORCE_NEW | ATTR_SENSITIVE,
     "generate mode (required there): the CA's key, ${pki_private_key.root.private_key_pem}"},
    {"common_name", T_STRING, ATTR_FORCE_NEW, "generate mode: subject CN (default \"Root CA\")"},
    {"organization", T_STRING, ATTR_FORCE_NEW, "generate mode: subject O (default \"Istio\")"},
    {"validity_days", T_NUMBER, ATTR_FORCE_NEW, "generate mode: lifetime in days (default 3650)"},
    {"cert_file", T_STRING, ATTR_FORCE_NEW, "import mode: PEM certificate of an existing root CA"},
    {"key_file", T_STRING, ATTR_FORCE_NEW, "import mode: its PEM private key"},
    {"key_passphrase_env", T_STRING, 0, "import mode: name of the environment variable holding the key's passphrase"},
    {"renew_before_days", T_NUMBER, 0, "plan a renewal this many days before expiry (default 30, 0: never)"},
    {"status", T_STRING, ATTR_FORCE_NEW, "always \"valid\"; read reports why the CA needs replacing (docs/pki.md)"},
    {"cert_pem", T_STRING, ATTR_COMPUTED, "the root certificate, PEM"},
    {"ca_key_pem", T_STRING, ATTR_COMPUTED | ATTR_SENSITIVE, "the root's private key, PEM (for intermediates)"},
    {"id", T_STRING, ATTR_COMPUTED, "serial number, hex"},
    {"not_after", T_STRING, ATTR_COMPUTED, "expiry, RFC3339"},
    {NULL, 0, 0, NULL},
};

static int root_is_import(const json_t *o) { return json_is_string(json_object_get(o, "cert_file")); }

/* Outputs common to both modes; import-mode inputs are echoed so read and delete see them. */
static int root_outputs(struct call *c, X509 *x, EVP_PKEY *k, long renew, const json_t *desired, json_t **out)
{
    char not_after[32];
    char *serial = pki_cert_serial_hex(x);
    json_t *cert = pki_cert_pem(x), *key = pki_key_pem(k);
    int ok = serial && cert && key && pki_cert_not_after(x, not_after) == 0;
    if (ok) {
        *out = json_pack("{s:o, s:o, s:s, s:s, s:I}", "cert_pem", cert, "ca_key_pem", key, "id", serial,
                         "not_after", not_after, "renew_before_days", (json_int_t)renew);
        cert = key = NULL;
        ok = *out != NULL;
    }
    json_decref(cert);
    json_decref(key);
    free(serial);
    if (!ok) return pki_fail(c, MESH_ERR, "cannot encode the root certificate");
    static const char *const echo[] = {"cert_file", "key_file", "key_passphrase_env"};
    for (size_t i = 0; i < sizeof(echo) / sizeof(echo[0]); i++)
        if (json_is_string(json_object_get(desired, echo[i])))
            json_object_set(*out, echo[i], json_object_get(desired, echo[i]));
    return 0;
}

static int root_generate(struct call *c, const json_t *desired, time_t now, X509 **x, EVP_PKEY **k, long *days)
{
    struct pki_cert_req req = {.now = now};
    const char *pem = NULL;
    int rc = pki_attr_str(c, desired, "private_key_pem", NULL, &pem);
    if (!rc && !pem)
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address,
                          "set private_key_pem (generate a root) or cert_file and key_file (import one)");
    if (!rc) rc = pki_attr_str(c, desired, "common_name", "Root CA", &req.common_name);
    if (!rc) rc = pki_attr_str(c, desired, "organization", "Istio", &req.organization);
    if (!rc) rc = pki_attr_days(c, desired, "validity_days", 3650, &req.validity_days);
    if (!rc) rc = pki_key_parse(c, "private_key_pem", pem, k);
    if (rc) return rc;
    req.key = req.issuer_key = *k;
    *days = req.validity_days;
    return pki_cert_issue(c, &req, x);
}

static int root_create(struct call *c, const json_t *desired, json_t **outputs)
{
    time_t now;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    long days = 0, renew = 0;
    int rc = pki_attr_status(c, desired);
    if (!rc) rc = pki_now(c, &now);
    if (!rc && root_is_import(desired) && json_object_get(desired, "private_key_pem"))
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address,
                          "set either private_key_pem (generate) or cert_file and key_file (import), not both");
    if (!rc) rc = root_is_import(desired) ? pki_import_load(c, desired, now, &x, &k) : root_generate(c, desired, now, &x, &k, &days);
    if (!rc) rc = pki_attr_renew(c, desired, days ? days : pki_cert_validity_days(x), &renew);
    if (!rc) rc = root_outputs(c, x, k, renew, desired, outputs);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static int root_find(struct call *c, const json_t *desired, json_t **outputs) { return MESH_ENOTFOUND; }

/* Import mode: the user's file now holding another certificate means "import again". An
 * imported root is not renewed by mesh: importing the same file again would not help. */
static void root_read_import(const json_t *outputs, X509 *x, json_t *cur)
{
    const char *path = json_string_value(json_object_get(outputs, "cert_file"));
    BIO *b = BIO_new_file(path, "r");
    X509 *now_in_file = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (now_in_file && X509_cmp(now_in_file, x) != 0)
        json_object_set_new(cur, "status", json_string("cert_file now holds a different certificate: import again"));
    X509_free(now_in_file);
}

static void root_read_generated(X509 *x, const json_t *outputs, json_t *cur, time_t now)
{
    char status[160];
    json_int_t renew = json_integer_value(json_object_get(outputs, "renew_before_days"));
    if (!pki_cert_expiry(x, now, (long)renew, status, sizeof(status)))
        json_object_set_new(cur, "status", json_string(status));
}

static int root_read(struct call *c, const json_t *outputs, json_t **current)
{
    time_t now;
    int rc = pki_now(c, &now);
    if (rc) return rc;
    X509 *x = pki_cert_parse_quiet(json_string_value(json_object_get(outputs, "cert_pem")));
    EVP_PKEY *k = NULL;
    struct mesh_err quiet = {0};
    struct call qc = *c;
    qc.err = &quiet;  /* unusable state means "gone": the plan recreates it */
    if (!x || pki_key_parse(&qc, "ca_key_pem", json_string_value(json_object_get(outputs, "ca_key_pem")), &k) != 0) {
        X509_free(x);
        return MESH_ENOTFOUND;
    }
    json_t *cur = pki_current_new(root_schema, outputs);
    if (root_is_import(outputs))
        root_read_import(outputs, x, cur);
    else
        root_read_generated(x, outputs, cur, now);
    if (!pki_key_matches(k, x))
        json_object_set_new(cur, "status", json_string("certificate does not match its key: replace"));
    X509_free(x);
    EVP_PKEY_free(k);
    *current = cur;
    return 0;
}

/* Only renew_before_days and key_passphrase_env change in place: the certificate stays. */
static int root_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    X509 *x = pki_cert_parse_quiet(json_string_value(json_object_get(outputs, "cert_pem")));
    if (!x) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no usable certificate; run 'mesh apply' to replace it");
    long renew = 0;
    int rc = pki_attr_renew(c, desired, pki_cert_validity_days(x), &renew);
    X509_free(x);
    if (rc) return rc;
    json_t *out = json_deep_copy(outputs);
    json_object_set_new(out, "renew_before_days", json_integer(renew));
    json_object_del(out, "key_passphrase_env");
    if (json_is_string(json_object_get(desired, "key_passphrase_env")))
        json_object_set(out, "key_passphrase_env", json_object_get(desired, "key_passphrase_env"));
    *new_outputs = out;
    return 0;
}

/* Nothing lives outside state: an imported root's files are the user's and stay. */
static int root_delete(struct call *c, const json_t *outputs) { return 0; }

/* An imported root is checked when the spec compiles: readable files, a current CA certificate,
 * a key that decrypts and matches it. Nothing is kept; apply reads the files again. */
static int root_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    time_t now;
    if (pki_now(c, &now) != 0) {
        char msg[sizeof c->err->msg + 32];
        snprintf(msg, sizeof msg, "cannot check it: %s", c->err->msg);
        report(ctx, "cert_file", msg);
        return 1;
    }
    return pki_import_check(c, desired, now, report, ctx);
}

const struct driver pki_root_ca_driver = {
    .type = "pki_root_ca",
    .schema = root_schema,
    .flags = DRIVER_CREATE_BEFORE_DESTROY | DRIVER_GUARDED,
    .doc = "the mesh's root CA: self-signed over a pki_private_key, or imported from cert_file/key_file",
    .create = root_create,
    .wait = NULL,
    .find = root_find,
    .read = root_read,
    .update = root_update,
    .delete = root_delete,
    .check = root_check,
};
