/* eks_import.c: `mesh import` of the EKS objects (eks.h, eks_import). EKS names its objects, so
 * the IDs are the names Terraform's import takes: the cluster's name, "CLUSTER:NODEGROUP",
 * "CLUSTER:ADDON". An object being deleted counts as none. */
#include <stdlib.h>
#include <string.h>

#include "aws/eks.h"
#include "base/xalloc.h"

/* EKS names never hold ':' or '/': either one in a part is a wrong form, not a missing object. */
static int bad_part(const char *p, size_t n)
{
    return n == 0 || memchr(p, ':', n) || memchr(p, '/', n);
}

int eks_import(struct call *c, const struct eks_kind *k, const char *sub, const char *form, const char *id,
               const json_t *desired, json_t *(*outputs)(const json_t *obj, const json_t *desired), json_t **out)
{
    const char *colon = strchr(id, ':');
    size_t n1 = sub ? (colon ? (size_t)(colon - id) : strlen(id)) : strlen(id);
    const char *name = sub && colon ? colon + 1 : NULL;
    if (bad_part(id, n1) || (sub && (!name || bad_part(name, strlen(name)))))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "import ID \"%s\" is not of the form %s", id, form);
    char *cluster = xstrndup(id, n1);
    json_t *d = desired ? json_copy((json_t *)desired) : json_object();
    json_object_set_new(d, sub ? "cluster_name" : "name", json_string(cluster));
    if (sub) json_object_set_new(d, "name", json_string(name));
    char path[700];
    json_t *obj = NULL;
    int rc = eks_describe(c, k, eks_path(path, sizeof(path), cluster, sub, name), &obj);
    const char *status = eks_str(obj, "status");
    if (!rc && status && strcmp(status, "DELETING") == 0) rc = MESH_ENOTFOUND;
    if (!rc) *out = outputs(obj, d);
    json_decref(obj);
    json_decref(d);
    free(cluster);
    return rc;
}
