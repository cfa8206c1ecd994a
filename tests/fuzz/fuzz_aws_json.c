/* fuzz_aws_json: a JSON 1.1 (KMS, CloudWatch Logs) or REST-JSON (EKS) reply as mesh reads it.
 * The error side: aws_classify and aws_error_report ({"__type", "message"}, x-amzn-ErrorType,
 * {"code"|"Code"}, HTML, empty). The result side: json_loadb as aws_call.c parses a 2xx reply,
 * then the EKS helpers the drivers read a cluster, node group or add-on with (dotted paths,
 * health issues, createdAt, tags, configuration values compared as JSON) and the tag lists of
 * KMS and logs. */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "aws/eks.h"
#include "aws/kms.h"
#include "aws/query.h"
#include "aws/tags.h"
#include "fuzz_reply.h"

static void walk_eks(const json_t *reply)
{
    static const char *const kinds[] = {"cluster", "nodegroup", "addon", "update", NULL};
    for (int i = 0; kinds[i]; i++) {
        const json_t *obj = json_object_get(reply, kinds[i]);
        if (!obj) continue;
        free(eks_health(obj));
        char when[64];
        eks_created_at(obj, when, sizeof(when));
        (void)eks_str(obj, "resourcesVpcConfig.clusterSecurityGroupId");
        (void)eks_str(obj, "identity.oidc.issuer");
        (void)eks_str(obj, "certificateAuthority.data");
        free(eks_text(eks_get(obj, "launchTemplate.version")));
        json_t *cur = json_object(), *outputs = json_object();
        eks_put_tags(cur, outputs, obj);
        json_t *subnets = eks_get(obj, "resourcesVpcConfig.subnetIds");
        (void)eks_same_set(subnets, subnets);
        const char *conf = eks_str(obj, "configurationValues");
        if (conf) {
            free(eks_canonical_json(conf));
            (void)eks_same_json(conf, "{}");
        }
        json_decref(cur);
        json_decref(outputs);
    }
}

static void walk_tags(const json_t *reply)
{
    /* KMS ListResourceTags: [{"TagKey", "TagValue"}]; logs ListTagsForResource: {"tags": {}} */
    json_t *kms = aws_tag_object(json_object_get(reply, "Tags"), "TagKey", "TagValue");
    json_t *user = aws_user_tags(kms);
    json_decref(user);
    json_decref(kms);
    json_t *logs = aws_user_tags(json_object_get(reply, "tags"));
    json_decref(logs);
    const json_t *meta = json_object_get(reply, "KeyMetadata");
    const char *arn = json_string_value(json_object_get(meta, "Arn"));
    if (arn) (void)kms_key_id_of(arn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_response resp;
    http_response_init(&resp);
    fuzz_reply(&resp, data, size);
    (void)aws_classify(&resp);
    struct mesh_err err;
    mesh_err_init(&err);
    aws_error_report(&resp, "eks DescribeCluster", &err);

    json_t *reply = json_loadb(resp.body.buf, resp.body.len, 0, NULL);
    if (json_is_object(reply)) {
        walk_eks(reply);
        walk_tags(reply);
    }
    json_decref(reply);
    http_response_release(&resp);
    return 0;
}
