/* fuzz_kube_json: a Kubernetes API server's reply as mesh reads it. The error side: kube_classify
 * and kube_status_error (a Status object with its causes and SSA conflicts, or whatever the
 * server said). The result side: the object or list the drivers read: its identity (apiVersion,
 * kind, metadata), mesh's markers, the user's labels and annotations, a Secret's base64 data,
 * and each item of a list. */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "fuzz_reply.h"
#include "kubernetes/kube_int.h"
#include "kubernetes/objects.h"

static void walk_object(const json_t *obj)
{
    struct kube_ref ref;
    struct mesh_err e;
    mesh_err_init(&e);
    (void)kube_ref_of(obj, &ref, &e);
    (void)kobj_ours(obj, "kubernetes_secret.cacerts");
    (void)kobj_str(obj, "type");
    json_t *labels = kobj_user_map(kobj_at(obj, "metadata", "labels", NULL), NULL, 1);
    json_t *ann = kobj_user_map(kobj_at(obj, "metadata", "annotations", NULL),
                                kobj_at(obj, "metadata", "annotations", NULL), 0);
    json_decref(labels);
    json_decref(ann);
    json_t *plain = kobj_decode_data(json_object_get(obj, "data"));
    if (plain) {
        char hex[65];
        kobj_data_sha256(plain, hex);
        json_decref(plain);
    }
    (void)kobj_str(json_object_get(obj, "status"), "token");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response resp;
    http_response_init(&resp);
    unsigned sel = fuzz_reply(&resp, data, size);
    (void)kube_classify(&resp);
    struct mesh_err e;
    mesh_err_init(&e);
    kube_status_error(resp.status, resp.body.buf, resp.body.len, "cluster-1", (sel & 1) ? "secret ns/x" : NULL,
                      "the token of the kubeconfig", (int)(sel >> 7), &e);

    json_t *reply = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
    if (json_is_object(reply)) {
        walk_object(reply);
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(reply, "items"), i, item) walk_object(item);
    }
    json_decref(reply);
    http_response_release(&resp);
    return 0;
}
