/* import.c: loading a root CA the user already has (pki_root_ca import mode) from cert_file and
 * key_file, at apply time. The key file is read with plain read(2) into a buffer we wipe, so no
 * stdio buffer keeps a copy; an encrypted key is decrypted with the passphrase from the
 * environment variable key_passphrase_env names, never from a prompt. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "pki.h"
#include "base/xalloc.h"

#define IMPORT_MAX_FILE (1L << 20)

/* Reads a whole file (at most 1 MiB) into a NUL-terminated buffer; free with import_buf_free. */
static int import_read_file(struct call *c, const char *attr, const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > IMPORT_MAX_FILE) {
        int e = fd < 0 ? errno : EFBIG;
        if (fd >= 0) close(fd);
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "cannot read %s %s: %s; check the path", attr, path,
                            strerror(e));
    }
    char *buf = xcalloc(1, (size_t)st.st_size + 1);
    size_t got = 0;
    ssize_t n = 1;
    while (buf && got < (size_t)st.st_size && (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0) got += (size_t)n;
    int e = errno;
    close(fd);
    if (!buf || n < 0) {
        free(buf);
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "cannot read %s %s: %s", attr, path, strerror(e));
    }
    *out = buf;
    *len = got;
    return 0;
}

static void import_buf_free(char *buf, size_t len)
{
    if (buf) OPENSSL_cleanse(buf, len);
    free(buf);
}

struct import_pass {
    const char *env;   /* key_passphrase_env, or NULL */
    const char *pass;  /* its value; NULL: none */
    int asked;         /* OpenSSL wanted one: the key is encrypted */
};

static int import_pass_cb(char *buf, int size, int rwflag, void *u)
{
    struct import_pass *p = u;
    p->asked = 1;
    if (!p->pass) return -1;
    size_t n = strlen(p->pass);
    if (n > (size_t)size) n = (size_t)size;
    memcpy(buf, p->pass, n);
    return (int)n;
}

/* The passphrase matters only for an encrypted key: an unset variable is an error only then. */
static int import_passphrase(struct call *c, const json_t *desired, struct import_pass *p)
{
    int rc = pki_attr_str(c, desired, "key_passphrase_env", NULL, &p->env);
    if (rc || !p->env || !*p->env) return rc;
    p->pass = getenv(p->env);
    return 0;
}

/* *env_unset: the failure is key_passphrase_env naming an unset variable. */
static int import_key(struct call *c, const json_t *desired, const char *path, EVP_PKEY **out, int *env_unset)
{
    struct import_pass p = {0};
    char *buf = NULL;
    size_t len = 0;
    int rc = import_passphrase(c, desired, &p);
    if (!rc) rc = import_read_file(c, "key_file", path, &buf, &len);
    if (rc) return rc;
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, import_pass_cb, &p) : NULL;
    BIO_free(b);
    import_buf_free(buf, len);
    if (k) {
        *out = k;
        return 0;
    }
    ERR_clear_error();
    if (p.asked && !p.pass && p.env && *p.env) {
        if (env_unset) *env_unset = 1;
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "key_file %s is encrypted and key_passphrase_env names %s, which is not set; export "
                            "it before running mesh",
                            path, p.env);
    }
    if (p.asked && !p.pass)
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "key_file %s is encrypted; set key_passphrase_env to the name of an environment "
                            "variable holding its passphrase",
                            path);
    if (p.asked)
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "cannot decrypt key_file %s: wrong passphrase?", path);
    return mesh_err_set(c->err, MESH_EINVAL, c->address, "key_file %s holds no PEM private key", path);
}

static int import_cert(struct call *c, const char *path, time_t now, X509 **out)
{
    char *buf = NULL, when[32];
    size_t len = 0;
    int rc = import_read_file(c, "cert_file", path, &buf, &len);
    if (rc) return rc;
    X509 *x = pki_cert_parse_quiet(buf);
    free(buf);
    time_t not_after = 0;
    if (!x) return mesh_err_set(c->err, MESH_EINVAL, c->address, "cert_file %s holds no PEM certificate", path);
    if (X509_check_ca(x) < 1)
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address,
                          "cert_file %s is not a CA certificate (basicConstraints CA:TRUE missing)", path);
    else if (pki_asn1_to_time(X509_get0_notAfter(x), &not_after) != 0 || not_after <= now) {
        pki_rfc3339(not_after, when);
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address, "cert_file %s expired (%s); supply a current root CA",
                          path, when);
    }
    if (rc) {
        X509_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

/* The same checks for the spec compiler, before anything is created, keeping nothing: every
 * problem goes to report with the attribute it is about (cert_file, key_file or
 * key_passphrase_env), so the compiler can point at it. Returns the number of problems. */
int pki_import_check(struct call *c, const json_t *desired, time_t now, check_report_fn report, void *ctx)
{
    const char *cert_file = json_string_value(json_object_get(desired, "cert_file"));
    const char *key_file = json_string_value(json_object_get(desired, "key_file"));
    if (!cert_file || !key_file) return 0;  /* the schema reports a half import */
    struct mesh_err ce, ke;
    mesh_err_init(&ce);
    mesh_err_init(&ke);
    struct call cc = *c, kc = *c;
    cc.err = &ce;
    kc.err = &ke;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    int env_unset = 0;
    int n = 0;
    if (import_cert(&cc, cert_file, now, &x)) report(ctx, "cert_file", ce.msg), n++;
    if (!import_key(&kc, desired, key_file, &k, &env_unset) && x && !pki_key_matches(k, x))
        mesh_err_set(&ke, MESH_EINVAL, c->address,
                     "key_file %s does not match cert_file %s; supply the key the root was issued for", key_file,
                     cert_file);
    if (mesh_err_isset(&ke)) report(ctx, env_unset ? "key_passphrase_env" : "key_file", ke.msg), n++;
    X509_free(x);
    EVP_PKEY_free(k);
    return n;
}

int pki_import_load(struct call *c, const json_t *desired, time_t now, X509 **cert, EVP_PKEY **key)
{
    const char *cert_file = NULL, *key_file = NULL;
    int rc = pki_attr_str(c, desired, "cert_file", NULL, &cert_file);
    if (!rc) rc = pki_attr_str(c, desired, "key_file", NULL, &key_file);
    if (!rc && (!cert_file || !key_file))
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address, "import mode needs both cert_file and key_file");
    if (rc) return rc;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    rc = import_cert(c, cert_file, now, &x);
    if (!rc) rc = import_key(c, desired, key_file, &k, NULL);
    if (!rc && !pki_key_matches(k, x))
        rc = mesh_err_set(c->err, MESH_EINVAL, c->address,
                          "key_file %s does not match cert_file %s; supply the key the root was issued for",
                          key_file, cert_file);
    if (rc) {
        X509_free(x);
        EVP_PKEY_free(k);
        return rc;
    }
    *cert = x;
    *key = k;
    return 0;
}
