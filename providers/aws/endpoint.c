/* endpoint.c: AWS endpoint and signing-region resolution (see endpoint.h). */
#include "aws/endpoint.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/profile.h"
#include "base/strbuf.h"
#include "base/xalloc.h"
#include "http.h"

static char *strip_slash(const char *s)
{
    char *c = xstrdup(s);
    size_t n = strlen(c);
    while (n > 0 && c[n - 1] == '/') c[--n] = '\0';
    return c;
}

/* The SDKs' service ID of a signing name, where they differ: the variable is named after the
 * ID ("CloudWatch Logs" -> AWS_ENDPOINT_URL_CLOUDWATCH_LOGS), not after "logs". */
static const char *service_id(const char *service)
{
    static const char *const ids[][2] = {{"logs", "CloudWatch Logs"}, {"monitoring", "CloudWatch"}};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (strcmp(service, ids[i][0]) == 0) return ids[i][1];
    return service;
}

static const char *env_override(const char *service)
{
    const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    if (ignore && strcasecmp(ignore, "true") == 0) return NULL;
    char name[128] = "AWS_ENDPOINT_URL_";
    size_t n = strlen(name);
    for (const char *p = service_id(service); *p && n < sizeof(name) - 1; p++)
        name[n++] = (*p == ' ' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    name[n] = '\0';
    const char *v = getenv(name);
    if (v && *v) return v;
    v = getenv("AWS_ENDPOINT_URL");
    return v && *v ? v : NULL;
}

static const char *partition_suffix(const char *region)
{
    return strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
}

int aws_endpoint_resolve(const char *service, const char *region, char **url, struct mesh_err *err)
{
    const char *o = env_override(service);
    if (o) {
        *url = strip_slash(o);
        return 0;
    }
    if (!region || !*region)
        return mesh_err_set(err, MESH_EINVAL, NULL,
                            "no region for %s: set mesh.region, AWS_REGION, AWS_DEFAULT_REGION or "
                            "region in the profile", service);
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    if (strcmp(service, "iam") == 0 && strncmp(region, "us-gov-", 7) == 0)
        strbuf_adds(&sb, "https://iam.us-gov.amazonaws.com");
    else if (strcmp(service, "iam") == 0)
        strbuf_addf(&sb, "https://iam.%s", partition_suffix(region));
    else
        strbuf_addf(&sb, "https://%s.%s.%s", service, region, partition_suffix(region));
    *url = strbuf_detach(&sb);
    return 0;
}

const char *aws_signing_region(const char *service, const char *region)
{
    if (strcmp(service, "iam") != 0 || !region) return region;
    if (strncmp(region, "cn-", 3) == 0) return "cn-north-1";
    if (strncmp(region, "us-gov-", 7) == 0) return "us-gov-west-1";
    return "us-east-1";
}

int aws_region_resolve(const char *explicit_region, const char *profile, char **region,
                       struct mesh_err *err)
{
    const char *v = explicit_region;
    if (!v || !*v) v = getenv("AWS_REGION");
    if (!v || !*v) v = getenv("AWS_DEFAULT_REGION");
    struct aws_profiles files;
    int loaded = 0;
    if (!v || !*v) {
        if (aws_profiles_load(&files, err) < 0) { aws_profiles_release(&files); return err ? err->code : MESH_ERR; }
        loaded = 1;
        v = aws_profile_get(&files, aws_profile_name(profile), "region");
    }
    int rc = 0;
    if (v && *v) {
        *region = xstrdup(v);
    } else {
        rc = mesh_err_set(err, MESH_EINVAL, NULL, "no AWS region: set mesh.region in the spec, "
                          "AWS_REGION, AWS_DEFAULT_REGION, or region in profile %s", aws_profile_name(profile));
    }
    if (loaded) aws_profiles_release(&files);
    return rc;
}

/* No DNS name BUCKET.HOST exists for an address or localhost: emulators (moto, MinIO) live there. */
static int host_is_local(const char *host_port)
{
    if (host_port[0] == '[') return 1;  /* IPv6 literal */
    char host[256];
    snprintf(host, sizeof(host), "%.*s", (int)strcspn(host_port, ":"), host_port);
    struct in_addr a;
    return strcasecmp(host, "localhost") == 0 || inet_pton(AF_INET, host, &a) == 1;
}

/* A bucket that cannot be one DNS label of a TLS name (a dot breaks the wildcard certificate). */
static int bucket_dns_label(const char *bucket)
{
    for (const char *p = bucket; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-')) return 0;
    return *bucket != '\0';
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

int aws_s3_base_url(const char *region, const char *endpoint, int path_style, const char *bucket,
                    char **base, int *path_style_out, struct mesh_err *err)
{
    char *ep = NULL;
    if (endpoint && *endpoint) ep = strip_slash(endpoint);
    else if (aws_endpoint_resolve("s3", region, &ep, err) < 0) return err->code;
    char *scheme = NULL, *host = NULL, *path = NULL;
    if (http_url_split(ep, &scheme, &host, &path, NULL, err) < 0) {
        free(ep);
        return err->code;
    }
    if (path_style < 0) path_style = env_true("AWS_S3_USE_PATH_STYLE");
    if (host_is_local(host) || !bucket_dns_label(bucket)) path_style = 1;
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    if (path_style) strbuf_addf(&sb, "%s/%s", ep, bucket);
    else strbuf_addf(&sb, "%s://%s.%s%s", scheme, bucket, host, strcmp(path, "/") == 0 ? "" : path);
    while (sb.len > 0 && sb.buf[sb.len - 1] == '/') sb.buf[--sb.len] = '\0';
    *base = strbuf_detach(&sb);
    if (path_style_out) *path_style_out = path_style;
    free(ep);
    free(scheme);
    free(host);
    free(path);
    return 0;
}
