/* key.c: pki_private_key, a private key made in-process (RSA 4096 by default, or ECDSA P-256).
 * The key only exists in this resource's outputs (SENSITIVE: encrypted in state); CAs reference
 * it as ${pki_private_key.NAME.private_key_pem}. */
#include <string.h>

#include <openssl/err.h>

#include "pki.h"

static const struct attr key_schema[] = {
    {"algorithm", T_STRING, ATTR_FORCE_NEW, "\"rsa4096\" (default) or \"ecdsa-p256\""},
    {"status", T_STRING, ATTR_FORCE_NEW, "always \"valid\"; read reports a damaged key here (docs/pki.md)"},
    {"private_key_pem", T_STRING, ATTR_COMPUTED | ATTR_SENSITIVE, "the key, PKCS#8 PEM"},
    {"public_key_pem", T_STRING, ATTR_COMPUTED, "the public key, SubjectPublicKeyInfo PEM"},
    {"id", T_STRING, ATTR_COMPUTED, "SHA-256 fingerprint of the DER public key, hex"},
    {NULL, 0, 0, NULL},
};

static int key_generate(struct call *c, const char *alg, EVP_PKEY **out)
{
    ERR_clear_error();
    EVP_PKEY *k = NULL;
    if (strcmp(alg, "rsa4096") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
    else if (strcmp(alg, "ecdsa-p256") == 0)
        k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "unknown algorithm \"%s\"; use \"rsa4096\" or \"ecdsa-p256\"", alg);
    if (!k) return pki_fail(c, MESH_ERR, "cannot generate a %s key", alg);
    *out = k;
    return 0;
}

/* Outputs derived from the key itself (read compares them with what state holds). */
static int key_describe(struct call *c, EVP_PKEY *k, json_t **out)
{
    char fp[65], alg[32];
    json_t *priv = pki_key_pem(k), *pub = pki_pubkey_pem(k);
    if (!priv || !pub || pki_key_fingerprint(k, fp) != 0) {
        json_decref(priv);
        json_decref(pub);
        return pki_fail(c, MESH_ERR, "cannot encode the key");
    }
    *out = json_pack("{s:s, s:o, s:o, s:s}", "algorithm", pki_key_algorithm(k, alg, sizeof(alg)), "private_key_pem",
                     priv, "public_key_pem", pub, "id", fp);
    return *out ? 0 : mesh_err_set(c->err, MESH_ERR, c->address, "out of memory");
}

static int key_create(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *alg;
    int rc = pki_attr_str(c, desired, "algorithm", "rsa4096", &alg);
    if (!rc) rc = pki_attr_status(c, desired);
    EVP_PKEY *k = NULL;
    if (!rc) rc = key_generate(c, alg, &k);
    if (!rc) rc = key_describe(c, k, outputs);
    EVP_PKEY_free(k);
    return rc;
}

/* Nothing outside mesh's state holds a key, so a cut-off create left nothing to adopt. */
static int key_find(struct call *c, const json_t *desired, json_t **outputs) { return MESH_ENOTFOUND; }

/* Re-derives the public parts from the private key: a key that no longer parses is gone; public
 * parts in state that no longer match it are reported as status (a replace). */
static int key_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *pem = json_string_value(json_object_get(outputs, "private_key_pem"));
    EVP_PKEY *k = NULL;
    json_t *derived = NULL;
    struct mesh_err quiet = {0};
    struct call qc = *c;
    qc.err = &quiet;  /* an unusable key is "gone", not an error */
    if (pki_key_parse(&qc, "private_key_pem", pem, &k) != 0) return MESH_ENOTFOUND;
    int rc = key_describe(c, k, &derived);
    EVP_PKEY_free(k);
    if (rc) return rc;
    *current = pki_current_new(key_schema, outputs);
    if (!json_equal(json_object_get(outputs, "id"), json_object_get(derived, "id")) ||
        !json_equal(json_object_get(outputs, "public_key_pem"), json_object_get(derived, "public_key_pem")))
        json_object_set_new(*current, "status", json_string("public key in state does not match the private key: replace"));
    json_decref(derived);
    return 0;
}

static int key_delete(struct call *c, const json_t *outputs) { return 0; }

const struct driver pki_private_key_driver = {
    .type = "pki_private_key",
    .schema = key_schema,
    .flags = DRIVER_CREATE_BEFORE_DESTROY,
    .doc = "a private key (RSA 4096 or ECDSA P-256) made in-process with OpenSSL",
    .create = key_create,
    .wait = NULL,
    .find = key_find,
    .read = key_read,
    .update = NULL,
    .delete = key_delete,
};
