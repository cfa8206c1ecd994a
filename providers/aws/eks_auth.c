/* eks_auth.c: the "eks" authentication hook (auth_hooks.def): an EKS token for a Kubernetes
 * connection, made with the credentials chain of the spec's mesh: section and the region the
 * connection stored. Each token opens its own short-lived AWS handle: tokens are made every 14
 * minutes per connection, and the hook must not depend on a handle the registry may close. */
#include <string.h>
#include <time.h>

#include "aws/eks_token.h"
#include "aws/provider.h"
#include "base/xalloc.h"

int aws_eks_auth_hook(const json_t *params, const json_t *mesh_config, struct auth_token *out, struct mesh_err *err);

int aws_eks_auth_hook(const json_t *params, const json_t *mesh_config, struct auth_token *out, struct mesh_err *err)
{
    const char *cluster = json_string_value(json_object_get(params, "cluster_name"));
    const char *region = json_string_value(json_object_get(params, "region"));
    if (!cluster || !*cluster)
        return mesh_err_set(err, MESH_EINVAL, NULL, "eks authentication: the connection names no EKS cluster");
    json_t *config = mesh_config ? json_deep_copy(mesh_config) : json_object();
    if (region && *region) json_object_set_new(config, "region", json_string(region));
    void *h = NULL;
    int rc = aws_provider.open(config, &h, err);
    json_decref(config);
    if (rc) return rc;
    struct aws_eks_token t;
    memset(&t, 0, sizeof(t));
    rc = aws_eks_token_for(h, cluster, time(NULL), &t, err);
    aws_provider.close(h);
    if (rc) return rc;
    out->secret = t.token;  /* moved: auth_token_release wipes it */
    out->expires = (long long)t.expires;
    t.token = NULL;
    aws_eks_token_release(&t);
    return 0;
}
