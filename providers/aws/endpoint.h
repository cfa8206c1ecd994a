/* endpoint.h: where an AWS service lives, and which region signs for it.
 *
 * service is the signing name ("ec2", "iam", "sts", "eks", "kms", "logs"). Standard variables
 * win: AWS_ENDPOINT_URL_<SERVICE ID> (the SDKs' service ID upper-cased, spaces and dashes as '_':
 * AWS_ENDPOINT_URL_EC2, _STS, _IAM, _EKS, _KMS, _S3, _DYNAMODB, and _CLOUDWATCH_LOGS for "logs"), then
 * AWS_ENDPOINT_URL, unless
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true. Otherwise the public endpoint for the region.
 * This is also how the tests point mesh at the emulator. */
#ifndef MESH_AWS_ENDPOINT_H
#define MESH_AWS_ENDPOINT_H

#include "base/err.h"

/* *url: malloc'd, no trailing slash. */
int aws_endpoint_resolve(const char *service, const char *region, char **url, struct mesh_err *err);

/* Where the objects of an S3 bucket live, as the AWS CLI addresses them: *base (malloc'd, no
 * trailing slash) is what "/KEY" is appended to. endpoint: explicit, else AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL, else https://s3.REGION.amazonaws.com. path_style 1: ENDPOINT/BUCKET; 0:
 * virtual-hosted, https://BUCKET.s3.REGION.amazonaws.com (the bucket before the endpoint's host);
 * -1: AWS_S3_USE_PATH_STYLE (true/1), else virtual-hosted. Path-style is forced, whatever was
 * asked, for an endpoint that is an IP address or localhost (no DNS for BUCKET.127.0.0.1) and for
 * a bucket name that cannot be a DNS label (dots under https, capitals, underscores).
 * *path_style_out (may be NULL) says which was chosen. */
int aws_s3_base_url(const char *region, const char *endpoint, int path_style, const char *bucket,
                    char **base, int *path_style_out, struct mesh_err *err);

/* The region a request to service is signed for: IAM is global and signs as us-east-1
 * (cn-north-1 in China, us-gov-west-1 in GovCloud); others sign for their region. */
const char *aws_signing_region(const char *service, const char *region);

/* Region: explicit (the spec's), AWS_REGION, AWS_DEFAULT_REGION, the profile's region (profile:
 * explicit, AWS_PROFILE, "default"). *region malloc'd. */
int aws_region_resolve(const char *explicit_region, const char *profile, char **region,
                       struct mesh_err *err);

#endif
