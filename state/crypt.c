/* crypt.c: AES-256-GCM for sensitive attribute values, and the state key. The key comes from
 * MESH_STATE_KEY (base64 of exactly 32 bytes) or from a 0600 key file named by the state's lineage
 * under the user's config directory ($XDG_CONFIG_HOME or ~/.config, /mesh/keys/LINEAGE.key),
 * created when a value is first encrypted (and said so, once, through the notice hook), never
 * when one is read: a reader without the key is told where it looked, and nothing is written. Keys are cached in memory (mutex-guarded) and wiped by crypt_release().
 * A value is stored as {"$enc": "base64(iv[12] | ciphertext | tag[16])"}, the associated data
 * being "address/attribute", so a ciphertext moved to another attribute or address fails. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"
#include "base/xalloc.h"

#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16

struct cached_key {
    struct cached_key *next;
    char source[PATH_MAX + 32];  /* "MESH_STATE_KEY" or "key file PATH" */
    char *env_value;             /* for MESH_STATE_KEY: the text it was decoded from */
    unsigned char key[KEY_LEN];
};

static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cached_key *keys;
static void (*notice_fn)(const char *msg);

/* Remote stores' key sources by lineage (store_int.h), newest first. */
struct key_source {
    struct key_source *next;
    char lineage[40];
    crypt_key_fn fn;
    void *ctx;
};
static struct key_source *sources;

void crypt_set_key_source(const char *lineage, crypt_key_fn fn, void *ctx)
{
    struct key_source *s = xcalloc(1, sizeof(*s));
    snprintf(s->lineage, sizeof(s->lineage), "%s", lineage);
    s->fn = fn;
    s->ctx = ctx;
    pthread_mutex_lock(&key_mu);
    s->next = sources;
    sources = s;
    pthread_mutex_unlock(&key_mu);
}

void crypt_drop_key_source(const char *lineage, void *ctx)
{
    pthread_mutex_lock(&key_mu);
    for (struct key_source **p = &sources; *p; p = &(*p)->next) {
        if ((*p)->ctx == ctx && strcmp((*p)->lineage, lineage) == 0) {
            struct key_source *s = *p;
            *p = s->next;
            free(s);
            break;
        }
    }
    pthread_mutex_unlock(&key_mu);
}

static struct key_source *find_source(const char *lineage)
{
    for (struct key_source *s = sources; s; s = s->next)
        if (strcmp(s->lineage, lineage) == 0) return s;
    return NULL;
}

void crypt_set_notice(void (*fn)(const char *msg))
{
    notice_fn = fn;
}

static void free_key(struct cached_key *k)
{
    OPENSSL_cleanse(k->key, sizeof(k->key));
    if (k->env_value) {
        OPENSSL_cleanse(k->env_value, strlen(k->env_value));
        free(k->env_value);
    }
    free(k);
}

void crypt_release(void)
{
    pthread_mutex_lock(&key_mu);
    while (keys) {
        struct cached_key *k = keys;
        keys = k->next;
        free_key(k);
    }
    pthread_mutex_unlock(&key_mu);
}

/* Decodes base64 text (surrounding whitespace ignored) into exactly KEY_LEN bytes. */
static int decode_key(const char *text, unsigned char key[KEY_LEN])
{
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r') text++;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == '\t'))
        n--;
    if (n == 0 || n % 4 != 0 || n > 64) return -1;
    unsigned char buf[64];
    int len = EVP_DecodeBlock(buf, (const unsigned char *)text, (int)n);
    if (len < 0) return -1;
    if (text[n - 1] == '=') len--;
    if (n >= 2 && text[n - 2] == '=') len--;
    int ok = len == KEY_LEN;
    if (ok) memcpy(key, buf, KEY_LEN);
    OPENSSL_cleanse(buf, sizeof(buf));
    return ok ? 0 : -1;
}

static int key_file_path(const char *lineage, char *path, size_t n, char *dir, size_t dn,
                         struct mesh_err *err)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int w;
    if (xdg && xdg[0] == '/')
        w = snprintf(dir, dn, "%s/mesh/keys", xdg);
    else if (home && home[0])
        w = snprintf(dir, dn, "%s/.config/mesh/keys", home);
    else
        return mesh_err_set(err, MESH_EINVAL, "",
                            "no state key: set MESH_STATE_KEY (base64 of 32 random bytes) or HOME");
    if (w < 0 || (size_t)w >= dn || (size_t)snprintf(path, n, "%s/%s.key", dir, lineage) >= n)
        return mesh_err_set(err, MESH_EINVAL, "", "state key path is too long");
    return 0;
}

static int mkdirs_0700(const char *dir, struct mesh_err *err)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", dir);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return mesh_err_set(err, MESH_ERR, "", "cannot create key directory %s: %s", buf,
                                    strerror(errno));
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

static int read_key_file(const char *path, unsigned char key[KEY_LEN], struct mesh_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? MESH_ENOTFOUND :
        mesh_err_set(err, MESH_ERR, "", "cannot read state key file %s: %s", path, strerror(errno));
    struct stat sb;
    char text[128];
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return mesh_err_set(err, MESH_ERR, "", "cannot read state key file %s: %s", path, strerror(e));
    }
    if (sb.st_mode & 077) {
        close(fd);
        return mesh_err_set(err, MESH_ERR, "", "state key file %s is accessible by others (mode %03o); "
                            "run `chmod 600 %s`", path, (unsigned)(sb.st_mode & 0777), path);
    }
    ssize_t n = read(fd, text, sizeof(text) - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        return mesh_err_set(err, MESH_ERR, "", "cannot read state key file %s: %s", path, strerror(e));
    text[n] = 0;
    int rc = decode_key(text, key);
    OPENSSL_cleanse(text, sizeof(text));
    if (rc)
        return mesh_err_set(err, MESH_ERR, "", "state key file %s does not hold base64 of 32 bytes", path);
    return 0;
}

/* Creates the key file with fresh random bytes. Written to a temporary file and linked into
 * place, so two processes creating it at once agree on one key (the loser reads the winner's). */
static int create_key_file(const char *dir, const char *path, unsigned char key[KEY_LEN], int fresh,
                           struct mesh_err *err)
{
    int rc = mkdirs_0700(dir, err);
    if (rc) return rc;
    if (fresh && RAND_bytes(key, KEY_LEN) != 1)
        return mesh_err_set(err, MESH_ERR, "", "cannot generate a state key: no randomness");
    char text[64];
    int len = EVP_EncodeBlock((unsigned char *)text, key, KEY_LEN);
    text[len++] = '\n';
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        OPENSSL_cleanse(text, sizeof(text));
        return mesh_err_set(err, MESH_ERR, "", "cannot create state key file %s: %s", tmp, strerror(errno));
    }
    int ok = write(fd, text, (size_t)len) == len && fsync(fd) == 0;
    close(fd);
    OPENSSL_cleanse(text, sizeof(text));
    if (!ok) {
        unlink(tmp);
        return mesh_err_set(err, MESH_ERR, "", "cannot write state key file %s: %s", tmp, strerror(errno));
    }
    int linked = link(tmp, path);
    int link_errno = errno;
    unlink(tmp);
    if (linked == 0) {
        if (notice_fn) {
            char msg[PATH_MAX + 256];
            snprintf(msg, sizeof(msg), "%s state key at %s; keep it (and back it up): without it the "
                     "secrets in this state cannot be read. MESH_STATE_KEY can hold it instead",
                     fresh ? "created a new" : "wrote the team state's", path);
            notice_fn(msg);
        }
        return 0;
    }
    if (link_errno == EEXIST) return read_key_file(path, key, err);  /* someone else was first */
    return mesh_err_set(err, MESH_ERR, "", "cannot create state key file %s: %s", path, strerror(link_errno));
}

int crypt_save_key(const char *lineage, const unsigned char *key, struct mesh_err *err)
{
    char path[PATH_MAX], dir[PATH_MAX];
    int rc = key_file_path(lineage, path, sizeof(path), dir, sizeof(dir), err);
    if (rc) return rc;
    unsigned char k[KEY_LEN];
    memcpy(k, key, KEY_LEN);
    rc = create_key_file(dir, path, k, 0, err);   /* one there already: read into k */
    if (rc == 0 && CRYPTO_memcmp(k, key, KEY_LEN) != 0)
        rc = mesh_err_set(err, MESH_ECONFLICT, "", "key file %s holds another key than the team state's "
                          "(lineage %s): not replaced; move it away and pull again", path, lineage);
    OPENSSL_cleanse(k, sizeof(k));
    return rc;
}

static int no_key(const char *path, const char *lineage, struct mesh_err *err)
{
    return mesh_err_set(err, MESH_ERR, "",
                        "the state (lineage %s) holds encrypted values, but no state key was found: "
                        "MESH_STATE_KEY is not set and there is no key file %s (it was made there when "
                        "the first secret was stored: was HOME or XDG_CONFIG_HOME different then?). "
                        "Nothing was created; put the key file back or set MESH_STATE_KEY", lineage, path);
}

/* Finds (or loads, or with create makes) the key for lineage; copies it and its source out. */
static int get_key(const char *lineage, int create, unsigned char key[KEY_LEN], char *source, size_t sn,
                   struct mesh_err *err)
{
    const char *env = getenv("MESH_STATE_KEY");
    char path[PATH_MAX], dir[PATH_MAX];
    pthread_mutex_lock(&key_mu);
    struct key_source *src = find_source(lineage);
    crypt_key_fn remote_fn = src ? src->fn : NULL;
    void *remote_ctx = src ? src->ctx : NULL;
    pthread_mutex_unlock(&key_mu);
    if (src && !remote_fn && (!env || !*env))
        return mesh_err_set(err, MESH_EINVAL, "", "the team state (lineage %s) keeps no key of its own (no "
                            "KMS key): set MESH_STATE_KEY to the same key on every machine of the team "
                            "(make one once with `openssl rand -base64 32`); a key file would exist on "
                            "this machine only", lineage);
    if (!remote_fn && (!env || !*env)) {
        int rc = key_file_path(lineage, path, sizeof(path), dir, sizeof(dir), err);
        if (rc) return rc;
    }
    char want[PATH_MAX + 32];
    if (remote_fn)
        snprintf(want, sizeof(want), "the team state's key (lineage %s)", lineage);
    else if (env && *env)
        snprintf(want, sizeof(want), "MESH_STATE_KEY");
    else
        snprintf(want, sizeof(want), "key file %s", path);

    pthread_mutex_lock(&key_mu);
    struct cached_key *k;
    for (k = keys; k; k = k->next)
        if (strcmp(k->source, want) == 0 && (!k->env_value || strcmp(k->env_value, env) == 0)) break;
    int rc = 0;
    if (!k) {
        k = xcalloc(1, sizeof(*k));
        snprintf(k->source, sizeof(k->source), "%s", want);
        if (remote_fn) {
            rc = remote_fn(remote_ctx, create, k->key, err);
        } else if (env && *env) {
            if (decode_key(env, k->key) != 0)
                rc = mesh_err_set(err, MESH_EINVAL, "", "MESH_STATE_KEY must be the base64 of exactly "
                                  "32 bytes (make one with `openssl rand -base64 32`)");
            else
                k->env_value = xstrdup(env);
        } else {
            rc = read_key_file(path, k->key, err);
            if (rc == MESH_ENOTFOUND)
                rc = create ? create_key_file(dir, path, k->key, 1, err) : no_key(path, lineage, err);
        }
        if (rc) {
            free_key(k);
            k = NULL;
        } else {
            k->next = keys;
            keys = k;
        }
    }
    if (k) {
        memcpy(key, k->key, KEY_LEN);
        snprintf(source, sn, "%s", k->source);
    }
    pthread_mutex_unlock(&key_mu);
    return rc;
}

int crypt_key_of(const char *lineage, unsigned char *key, struct mesh_err *err)
{
    char source[PATH_MAX + 32];
    return get_key(lineage, 0, key, source, sizeof(source), err);
}

int crypt_is_encrypted(const json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 && json_is_string(json_object_get(v, "$enc"));
}

int crypt_encrypt_value(const char *lineage, const char *aad, const json_t *value, json_t **out,
                        struct mesh_err *err)
{
    *out = NULL;
    unsigned char key[KEY_LEN];
    char source[PATH_MAX + 32];
    int rc = get_key(lineage, 1, key, source, sizeof(source), err);
    if (rc) return rc;
    char *plain = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!plain) {
        OPENSSL_cleanse(key, sizeof(key));
        return mesh_err_set(err, MESH_EINVAL, aad, "cannot serialise a sensitive value");
    }
    size_t plen = strlen(plain);
    size_t blen = IV_LEN + plen + TAG_LEN;
    unsigned char *buf = xmalloc(blen);
    char *b64 = xmalloc(4 * ((blen + 2) / 3) + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = ctx && RAND_bytes(buf, IV_LEN) == 1 &&
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
        EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_EncryptUpdate(ctx, buf + IV_LEN, &len, (const unsigned char *)plain, (int)plen) == 1 &&
        EVP_EncryptFinal_ex(ctx, buf + IV_LEN + len, &fin) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + IV_LEN + plen) == 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(plain, plen);
    free(plain);
    if (ok) {
        EVP_EncodeBlock((unsigned char *)b64, buf, (int)blen);
        *out = json_pack("{s:s}", "$enc", b64);
    } else {
        rc = mesh_err_set(err, MESH_ERR, aad, "encrypting a sensitive value failed (OpenSSL)");
    }
    free(buf);
    free(b64);
    return rc;
}

int crypt_decrypt_value(const char *lineage, const char *aad, const json_t *enc, json_t **out,
                        struct mesh_err *err)
{
    *out = NULL;
    if (!crypt_is_encrypted(enc))
        return mesh_err_set(err, MESH_EINVAL, aad, "not an encrypted value");
    const char *b64 = json_string_value(json_object_get(enc, "$enc"));
    size_t n = strlen(b64);
    if (n % 4 != 0 || n < 4)
        return mesh_err_set(err, MESH_ERR, aad, "the encrypted value in state is damaged (bad base64)");
    unsigned char *buf = xmalloc(n / 4 * 3 + 1);
    int blen = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
    if (blen >= 0 && b64[n - 1] == '=') blen--;
    if (blen >= 0 && b64[n - 2] == '=') blen--;
    if (blen < IV_LEN + TAG_LEN) {
        free(buf);
        return mesh_err_set(err, MESH_ERR, aad, "the encrypted value in state is damaged (too short)");
    }
    unsigned char key[KEY_LEN];
    char source[PATH_MAX + 32];
    int rc = get_key(lineage, 0, key, source, sizeof(source), err);
    if (rc) {
        free(buf);
        return rc;
    }
    int clen = blen - IV_LEN - TAG_LEN;
    char *plain = xmalloc((size_t)clen + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = ctx &&
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) == 1 &&
        EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
        EVP_DecryptUpdate(ctx, (unsigned char *)plain, &len, buf + IV_LEN, clen) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, buf + IV_LEN + clen) == 1 &&
        EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + len, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    free(buf);
    if (ok) {
        plain[clen] = 0;
        json_error_t je;
        *out = json_loads(plain, JSON_DECODE_ANY, &je);
        if (!*out) rc = mesh_err_set(err, MESH_ERR, aad, "a decrypted sensitive value is not JSON");
    } else {
        rc = mesh_err_set(err, MESH_ERR, aad,
                          "cannot decrypt this sensitive value with the state key from %s: wrong key "
                          "for this state (lineage %s), or the value was moved or tampered with",
                          source, lineage);
    }
    OPENSSL_cleanse(plain, (size_t)clen + 1);
    free(plain);
    return rc;
}
