/* endpoint.c: AWS endpoint and signing-region resolution (see endpoint.h). */
#include "aws/endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/profile.h"
#include "base/strbuf.h"
#include "base/xalloc.h"

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
