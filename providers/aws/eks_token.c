/* eks_token.c: the EKS authentication token (see eks_token.h). SigV4 presigning is sigv4.c's,
 * base64 is OpenSSL's; this file only puts the pieces together the way the AWS CLI does
 * (awscli/customizations/eks/get_token.py). */
#include "aws/eks_token.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "aws/provider.h"
#include "aws/sigv4.h"
#include "base/strbuf.h"
#include "base/wipe.h"
#include "base/xalloc.h"

#define EKS_TOKEN_PREFIX "k8s-aws-v1."
#define EKS_TOKEN_QUERY "/?Action=GetCallerIdentity&Version=2011-06-15"

void aws_eks_token_release(struct aws_eks_token *t)
{
    wipe_free(t->token);
    t->token = NULL;
    t->expires = 0;
}

/* prefix + base64url(data) without padding, as Python's urlsafe_b64encode(...).rstrip('='):
 * OpenSSL's standard alphabet, then '+' -> '-', '/' -> '_'. The buffer is sized up front so
 * the secret is never copied by a realloc. */
static char *base64url_token(const char *data, size_t n)
{
    size_t plen = strlen(EKS_TOKEN_PREFIX);
    char *out = xmalloc(plen + 4 * ((n + 2) / 3) + 1);
    memcpy(out, EKS_TOKEN_PREFIX, plen);
    int len = EVP_EncodeBlock((unsigned char *)out + plen, (const unsigned char *)data, (int)n);
    char *p = out + plen;
    while (len > 0 && p[len - 1] == '=') len--;
    p[len] = '\0';
    for (char *c = p; *c; c++) {
        if (*c == '+') *c = '-';
        else if (*c == '/') *c = '_';
    }
    return out;
}

int aws_eks_token(const struct aws_creds *creds, const char *region, const char *cluster, time_t now,
                  struct aws_eks_token *out, struct mesh_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!cluster || !*cluster)
        return mesh_err_set(err, MESH_EINVAL, NULL, "eks token: no cluster name");
    if (!creds || !creds->access_key || !creds->secret_key)
        return mesh_err_set(err, MESH_EINVAL, NULL, "eks token for %s: no credentials to sign with", cluster);
    char *endpoint = NULL;
    if (aws_endpoint_resolve("sts", region, &endpoint, err) < 0) return err->code;
    struct strbuf url = STRBUF_INIT;
    strbuf_init(&url);
    strbuf_addf(&url, "%s%s", endpoint, EKS_TOKEN_QUERY);
    free(endpoint);

    struct sigv4_creds sc = { creds->access_key, creds->secret_key, creds->session_token };
    struct sigv4_pair header = { "x-k8s-aws-id", cluster };
    char *signed_url = NULL;
    int rc = sigv4_presign_url(url.buf, &sc, aws_signing_region("sts", region), "sts", now,
                               AWS_EKS_TOKEN_URL_EXPIRES, &header, 1, &signed_url, err);
    strbuf_release(&url);
    if (rc < 0) return rc;
    size_t n = strlen(signed_url);
    out->token = base64url_token(signed_url, n);
    out->expires = now + AWS_EKS_TOKEN_LIFETIME;
    wipe_free(signed_url);
    return 0;
}

int aws_eks_token_for(struct aws_handle *h, const char *cluster, time_t now, struct aws_eks_token *out,
                      struct mesh_err *err)
{
    struct aws_creds own;
    memset(&own, 0, sizeof(own));
    const struct aws_creds *use = h->client.fixed;
    if (h->client.creds) {
        if (aws_credentials_get(h->client.creds, &own, err) < 0) return err->code;
        use = &own;
    }
    int rc = aws_eks_token(use, h->client.region, cluster, now, out, err);
    aws_creds_clear(&own);
    return rc;
}
