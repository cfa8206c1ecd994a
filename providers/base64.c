/* base64.c: base64 through OpenSSL's EVP_DecodeBlock/EVP_EncodeBlock (see base64.h). */
#include "base64.h"

#include <ctype.h>
#include <string.h>

#include <openssl/evp.h>

#include "base/wipe.h"
#include "base/xalloc.h"

unsigned char *b64_decode(const char *s, size_t *n)
{
    size_t len = strlen(s), k = 0;
    char *clean = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i])) clean[k++] = s[i];
    clean[k] = '\0';
    /* EVP_DecodeBlock wants whole quanta and counts padding as zero bytes. */
    if (k % 4 != 0 || strspn(clean, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != k) {
        wipe_free(clean);
        return NULL;
    }
    unsigned char *out = xmalloc(k / 4 * 3 + 1);
    int got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)k);
    size_t pad = k >= 1 && clean[k - 1] == '=' ? (k >= 2 && clean[k - 2] == '=' ? 2 : 1) : 0;
    wipe_free(clean);
    if (got < 0 || (size_t)got < pad) {
        wipe_free(out);
        return NULL;
    }
    *n = (size_t)got - pad;
    out[*n] = '\0';
    return out;
}

char *b64_encode(const void *data, size_t n)
{
    char *out = xmalloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}
