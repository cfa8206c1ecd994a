/* s3.h: a small S3 object client (issue 14: team state): GetObject, conditional PutObject,
 * HeadObject, DeleteObject, ListObjectsV2, GetBucketVersioning and a bucket check, each one
 * signed request through client.h (SigV4 with x-amz-content-sha256, the shared HTTP layer's
 * retry policy: nothing here loops on a retry). Addressing as the AWS CLI does it
 * (endpoint.h's aws_s3_base_url). S3's XML errors become messages a person can act on: a
 * missing bucket or key (MESH_ENOTFOUND), a failed condition (MESH_ECONFLICT), a wrong region
 * named with the right one, access denied with the permission it takes.
 *
 * Conditions: a PUT with if_none_match writes only if the key is absent, with if_match only if
 * its ETag is still that one; S3 answers 412 PreconditionFailed otherwise (MESH_ECONFLICT).
 * 409 ConditionalRequestConflict (another conditional write of the same key in flight) is also
 * MESH_ECONFLICT, not retried: a second writer of the same key is exactly what the condition is
 * there to refuse, and whoever retries after it would meet a 412 or overwrite a fresh write. */
#ifndef MESH_AWS_S3_H
#define MESH_AWS_S3_H

#include <stdatomic.h>
#include <stddef.h>

#include "aws/client.h"
#include "base/err.h"

#define S3_ETAG_MAX 128
/* A state GET may be large (tens of MB of SQLite image): its reply cap, far above the HTTP
 * layer's 32 MiB default; MESH_HTTP_MAX_REPLY still lowers it. */
#define S3_MAX_OBJECT ((size_t)1 << 30)

enum s3_kind { S3_GET, S3_PUT, S3_LIST, S3_DELETE, S3_HEAD, S3_NKINDS };

struct s3_config {
    const char *bucket;
    const char *endpoint;        /* NULL: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS's */
    int path_style;              /* -1: AWS_S3_USE_PATH_STYLE, else virtual-hosted (endpoint.h) */
    int sse_kms;                 /* PUTs ask for SSE-KMS */
    const char *sse_kms_key_id;  /* with sse_kms; NULL: the aws/s3 key */
};

struct s3 {
    struct aws_client *aws;      /* not owned */
    char *bucket;
    char *base;                  /* object URL = base + "/" + encoded key */
    int path_style;
    int sse_kms;
    char *sse_kms_key_id;
    atomic_long count[S3_NKINDS];
};

/* Resolves the endpoint and addressing; makes no request. aws must outlive s. */
int s3_init(struct s3 *s, struct aws_client *aws, const struct s3_config *cfg, struct mesh_err *err);
void s3_release(struct s3 *s);

/* The wire path of key below base: URI-encoded the SigV4 S3 way, '/' kept. */
void s3_encode_key(struct strbuf *sb, const char *key);
/* base + "/" + encoded key (malloc'd). */
char *s3_object_url(const struct s3 *s, const char *key);

struct s3_object {
    unsigned char *data;         /* malloc'd (NUL-terminated for convenience), len bytes */
    size_t len;
    char etag[S3_ETAG_MAX];      /* as S3 sent it, quotes included */
};
void s3_object_release(struct s3_object *o);

int s3_get(struct s3 *s, const char *key, struct s3_object *out, struct mesh_err *err);
/* GET with If-None-Match: etag: 1 (out empty) when the object still has that ETag (304), else
 * as s3_get (which is this with etag NULL). */
int s3_get_if_changed(struct s3 *s, const char *key, const char *etag, struct s3_object *out, struct mesh_err *err);

struct s3_put_cond {
    int if_none_match;           /* If-None-Match: * */
    const char *if_match;        /* If-Match: ETAG; NULL: none */
};
/* etag_out (S3_ETAG_MAX, may be NULL) gets the new object's ETag. */
int s3_put(struct s3 *s, const char *key, const void *data, size_t len, const struct s3_put_cond *cond,
           char *etag_out, struct mesh_err *err);
/* MESH_ENOTFOUND when absent. etag_out may be NULL. */
int s3_head(struct s3 *s, const char *key, char *etag_out, struct mesh_err *err);
/* if_match NULL: unconditional. A missing key is success (S3 says 204 either way). */
int s3_delete(struct s3 *s, const char *key, const char *if_match, struct mesh_err *err);
/* DeleteObjects: up to 1,000 keys in one request (Quiet: only failures are answered); the first
 * key S3 could not delete fails the call, naming it. A key already gone is no failure. */
int s3_delete_many(struct s3 *s, const char *const *keys, size_t n, struct mesh_err *err);

/* Every key under prefix, page after page (continuation token); fn returning < 0 stops. */
typedef int (*s3_key_fn)(const char *key, void *ctx, struct mesh_err *err);
int s3_list(struct s3 *s, const char *prefix, s3_key_fn fn, void *ctx, struct mesh_err *err);
/* One ListObjectsV2 page: fn for each <Contents><Key>, *next (malloc'd) the
 * NextContinuationToken when IsTruncated, else NULL. */
int s3_list_parse(const char *xml, size_t len, s3_key_fn fn, void *ctx, char **next, struct mesh_err *err);

/* HeadBucket: MESH_ENOTFOUND "bucket B does not exist", a wrong region named with the right
 * one (x-amz-bucket-region, a 301), access denied with what to ask for. */
int s3_check_bucket(struct s3 *s, struct mesh_err *err);
/* GetBucketVersioning: *enabled 1 when Status is Enabled. */
int s3_versioning(struct s3 *s, int *enabled, struct mesh_err *err);

/* err from a failed S3 reply (what: "s3 GetObject"; key may be NULL for bucket calls). Exposed
 * for tests. Returns the code. */
int s3_error(const struct s3 *s, const struct http_response *resp, const char *what, const char *key,
             struct mesh_err *err);

#endif
