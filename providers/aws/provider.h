/* provider.h: the AWS provider's handle (struct call.provider of every AWS driver): the signed
 * client (region, credentials chain, endpoints), the run's retry budget, the calls made per
 * service (for the run summary and benchmarks), mesh.name for the mesh:name tag, and a cache of
 * the region's AZs. Opened once per run by provider.c from the spec's mesh: section. */
#ifndef MESH_AWS_PROVIDER_H
#define MESH_AWS_PROVIDER_H

#include <pthread.h>
#include <stdatomic.h>

#include "aws/client.h"
#include "driver.h"

/* The services mesh calls, by signing name. */
enum aws_service { AWS_EC2, AWS_IAM, AWS_STS, AWS_EKS, AWS_KMS, AWS_LOGS, AWS_NSERVICES };

struct aws_handle {
    struct aws_client client;
    struct http_retries retries;
    atomic_long calls;                     /* API calls made (retries not counted: see retries) */
    atomic_long calls_by[AWS_NSERVICES];   /* the same, per service */
    char *mesh_name;            /* mesh.name, for the mesh:name tag; may be NULL */
    pthread_mutex_t mu;         /* guards the AZ cache */
    int nazs;                   /* -1: not looked up yet */
    char azs[16][64];           /* the region's available AZs, sorted by name */
};

extern const struct provider aws_provider;

/* "ec2" -> AWS_EC2 ...; -1 for a service mesh does not count. */
int aws_service_index(const char *service);
const char *aws_service_name(enum aws_service s);
/* Counts one call (not its retries) to service. */
void aws_count_call(struct aws_handle *h, const char *service);

#endif
