/* eks_token_probe.c: prints the EKS token mesh makes now, for tests/e2e/eks_token.sh to compare
 * with `aws eks get-token`'s:
 *   eks_token_probe CLUSTER   ->   "NOW EXPIRES TOKEN" (epoch seconds, epoch seconds, the token)
 * Through the provider-handle variant (aws_eks_token_for), so the credentials come from the
 * chain (environment, profile, ...) and the region from AWS_REGION / AWS_DEFAULT_REGION / the
 * profile, as in a mesh run. A test program only: mesh itself never prints a token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/eks_token.h"
#include "aws/endpoint.h"
#include "aws/provider.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: eks_token_probe CLUSTER\n");
        return 2;
    }
    struct mesh_err err;
    mesh_err_init(&err);
    char *region = NULL;
    if (aws_region_resolve(NULL, NULL, &region, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    struct aws_credentials_config cfg = { .region = region };
    struct aws_handle h;
    memset(&h, 0, sizeof(h));
    h.client.creds = aws_credentials_new(&cfg);
    snprintf(h.client.region, sizeof(h.client.region), "%s", region);
    free(region);

    struct aws_eks_token t;
    time_t now = time(NULL);
    int rc = aws_eks_token_for(&h, argv[1], now, &t, &err);
    if (rc == 0) printf("%ld %ld %s\n", (long)now, (long)t.expires, t.token);
    else fprintf(stderr, "%s\n", err.msg);
    aws_eks_token_release(&t);
    aws_credentials_free(h.client.creds);
    return rc == 0 ? 0 : 1;
}
