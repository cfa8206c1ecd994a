/* eks_token.h: the bearer token an EKS cluster's API server accepts, made in process exactly as
 * `aws eks get-token --cluster-name NAME` (AWS CLI v1, botocore) makes it:
 *
 *   "k8s-aws-v1." + base64url, without padding, of a presigned STS GetCallerIdentity URL
 *   https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-...
 *   with the header x-k8s-aws-id: <cluster> signed in (SignedHeaders=host;x-k8s-aws-id) and
 *   X-Amz-Expires=60; temporary credentials add X-Amz-Security-Token.
 *
 * The endpoint is the client's STS endpoint (endpoint.h: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL,
 * else the regional sts.<region> host, as the CLI's default sts_regional_endpoints=regional);
 * the URL is signed for the region. The token is a secret: never log it; aws_eks_token_release
 * wipes it. */
#ifndef MESH_AWS_EKS_TOKEN_H
#define MESH_AWS_EKS_TOKEN_H

#include <time.h>

#include "aws/credentials.h"
#include "base/err.h"

struct aws_handle;

/* X-Amz-Expires of the presigned URL, as the CLI writes it. */
#define AWS_EKS_TOKEN_URL_EXPIRES 60
/* How long a caller may use a token: the CLI's expirationTimestamp is now + 14 minutes, one
 * minute inside the 15 minutes EKS's authenticator accepts a token after its X-Amz-Date (STS
 * ignores X-Amz-Expires on this request; client-go refreshes at expirationTimestamp). */
#define AWS_EKS_TOKEN_LIFETIME (14 * 60)

struct aws_eks_token {
    char *token;      /* "k8s-aws-v1.…", secret */
    time_t expires;   /* now + AWS_EKS_TOKEN_LIFETIME: make a new token from then on */
};

/* Wipes (base/wipe.h) and frees the token; safe on a zeroed struct and twice. */
void aws_eks_token_release(struct aws_eks_token *t);

/* The token for cluster, signed with creds for region at time now, against the STS endpoint
 * aws_endpoint_resolve("sts", region) gives. */
int aws_eks_token(const struct aws_creds *creds, const char *region, const char *cluster, time_t now,
                  struct aws_eks_token *out, struct mesh_err *err);

/* The same with the provider handle's credentials chain (refreshed when due) and region: what
 * the Kubernetes provider calls before it talks to a cluster. */
int aws_eks_token_for(struct aws_handle *h, const char *cluster, time_t now, struct aws_eks_token *out,
                      struct mesh_err *err);

#endif
