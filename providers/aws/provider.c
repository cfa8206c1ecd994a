/* provider.c: the AWS provider: one handle per run, opened from the spec's mesh: section
 * (region, profile, name). It holds the signed client (credentials chain, endpoints from
 * AWS_ENDPOINT_URL*), the run's retry budget and counters, and a cache of the region's AZs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "aws/policy.h"
#include "aws/provider.h"
#include "base/xalloc.h"

static int aws_open(const json_t *config, void **handle, struct mesh_err *err)
{
    const char *region_in = json_string_value(json_object_get(config, "region"));
    const char *profile = json_string_value(json_object_get(config, "profile"));
    const char *name = json_string_value(json_object_get(config, "name"));
    char *region = NULL;
    if (aws_region_resolve(region_in, profile, &region, err) < 0) return err->code;
    struct aws_handle *h = xcalloc(1, sizeof(*h));
    const char *b = getenv("MESH_RETRY_BUDGET");
    http_retries_init(&h->retries, b && *b ? atol(b) : 2000);
    http_client_init(&h->client.http);
    h->client.http.retries = &h->retries;
    snprintf(h->client.region, sizeof(h->client.region), "%s", region);
    struct aws_credentials_config cfg = {.profile = profile, .region = region, .http = &h->client.http};
    h->client.creds = aws_credentials_new(&cfg);
    free(region);
    h->mesh_name = name ? xstrdup(name) : NULL;
    pthread_mutex_init(&h->mu, NULL);
    h->nazs = -1;
    atomic_init(&h->calls, 0);
    for (int i = 0; i < AWS_NSERVICES; i++) atomic_init(&h->calls_by[i], 0);
    /* Resolve the credentials now: a missing one is one clear error before any change. */
    struct aws_creds cr;
    memset(&cr, 0, sizeof(cr));
    if (!h->client.creds || aws_credentials_get(h->client.creds, &cr, err) < 0) {
        aws_creds_clear(&cr);
        aws_provider.close(h);
        return mesh_err_isset(err) ? err->code : mesh_err_set(err, MESH_ERR, NULL, "aws: no credentials");
    }
    aws_creds_clear(&cr);
    *handle = h;
    return 0;
}

static const char *const service_names[AWS_NSERVICES] = {"ec2", "iam", "sts", "eks", "kms", "logs"};

int aws_service_index(const char *service)
{
    for (int i = 0; i < AWS_NSERVICES; i++)
        if (strcmp(service, service_names[i]) == 0) return i;
    return -1;
}

const char *aws_service_name(enum aws_service s) { return s < AWS_NSERVICES ? service_names[s] : "?"; }

void aws_count_call(struct aws_handle *h, const char *service)
{
    atomic_fetch_add(&h->calls, 1);
    int i = aws_service_index(service);
    if (i >= 0) atomic_fetch_add(&h->calls_by[i], 1);
}

static json_t *aws_stats(void *handle)
{
    struct aws_handle *h = handle;
    json_t *by = json_object();
    for (int i = 0; i < AWS_NSERVICES; i++) {
        long n = atomic_load(&h->calls_by[i]);
        if (n) json_object_set_new(by, service_names[i], json_integer(n));
    }
    return json_pack("{s:s, s:I, s:I, s:o}", "display_name", "AWS", "api_calls", (json_int_t)atomic_load(&h->calls),
                     "retries", (json_int_t)http_retries_count(&h->retries), "api_calls_by_service", by);
}

static void aws_close(void *handle)
{
    struct aws_handle *h = handle;
    if (!h) return;
    aws_credentials_free(h->client.creds);
    pthread_mutex_destroy(&h->mu);
    free(h->mesh_name);
    free(h);
}

const struct provider aws_provider = {
    .name = "aws",
    .open = aws_open,
    .stats = aws_stats,
    .close = aws_close,
    .policy = aws_policy_document,
};
