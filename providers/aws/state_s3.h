/* state_s3.h: team state on S3 (issue 14), the backend side of state/remote.h. Libraries that
 * know nothing of the engine, the DAG or SQLite: the shared HTTP layer, SigV4, the credentials
 * chain (client.h), an S3 object client (s3.h), a DynamoDB lease (state_ddb.h) and a KMS data
 * key (state_kms.h). Not an AWS driver: no struct call, no provider handle.
 *
 * Objects, for a state at s3://BUCKET/KEY:
 *   KEY                        the base (written If-None-Match: * or If-Match: ETag)
 *   KEY.log/GGGGGGGGGGGG/SSSSSSSSSSSS   log SSS of generation GGG (12 digits each), If-None-Match: *
 *   KEY.lease                  the lease when there is no lock_table (If-None-Match / If-Match)
 *   KEY.key                    the state key wrapped by KMS, when kms_key_id is set (If-None-Match)
 * With sse_kms set, every PUT asks for SSE-KMS (x-amz-server-side-encryption: aws:kms, and the
 * key ID when sse_kms_key_id is set). */
#ifndef MESH_AWS_STATE_S3_H
#define MESH_AWS_STATE_S3_H

#include "base/err.h"
#include "remote.h"

struct state_s3_config {
    const char *bucket;          /* required */
    const char *key;             /* required: the base object's key, e.g. "team/mesh.state" */
    const char *region;          /* NULL: AWS_REGION / AWS_DEFAULT_REGION / the profile's */
    const char *profile;         /* NULL: the credentials chain's default */
    const char *lock_table;      /* DynamoDB table (partition key "LockID", a string); NULL: S3 lease */
    const char *kms_key_id;      /* wraps the state key; NULL: MESH_STATE_KEY on every machine */
    const char *sse_kms_key_id;  /* with sse_kms: the key S3 encrypts objects with; NULL: aws/s3 */
    int sse_kms;                 /* ask S3 for SSE-KMS on every object */
    int path_style;              /* -1: AWS_S3_USE_PATH_STYLE (true/1), else virtual-hosted unless an
                                  * endpoint URL is an IP address or localhost; 0/1: as set */
    const char *endpoint;        /* NULL: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS's */
};

/* Checks the config (names the missing or bad field), resolves region, credentials and the S3
 * endpoint, and fills out. Makes no request. out->ops->free releases it. */
int state_s3_open(const struct state_s3_config *cfg, struct remote *out, struct mesh_err *err);

/* Checks what can be checked before a run: the bucket exists and is reachable in that region
 * (MESH_ENOTFOUND "bucket B does not exist", a wrong region named with the right one when S3
 * says it), the lock table exists, and whether versioning is on (*versioned = 0: warn). */
int state_s3_preflight(struct remote *r, int *versioned, struct mesh_err *err);

/* Request counts since open, per kind ("s3 GET", "s3 PUT", "s3 LIST", "s3 DELETE", "dynamodb",
 * "kms"), for the benchmark and `--stats`: fills up to n entries, returns how many. */
struct state_s3_count {
    const char *what;
    long count;
};
int state_s3_counts(struct remote *r, struct state_s3_count *out, int n);

#endif
