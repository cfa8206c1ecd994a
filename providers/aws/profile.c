/* profile.c: the AWS shared credentials and config files (see profile.h). */
#include "aws/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/xalloc.h"

static char *home_path(const char *env, const char *rel)
{
    const char *v = getenv(env);
    char *out = NULL;
    if (v && *v) {
        if (v[0] == '~' && v[1] == '/' && getenv("HOME")) {
            if (asprintf(&out, "%s%s", getenv("HOME"), v + 1) < 0) abort();
        } else {
            out = xstrdup(v);
        }
    } else {
        const char *home = getenv("HOME");
        if (asprintf(&out, "%s/%s", home ? home : ".", rel) < 0) abort();
    }
    if (!out) abort();
    return out;
}

int aws_profiles_load(struct aws_profiles *p, struct mesh_err *err)
{
    memset(p, 0, sizeof(*p));
    p->credentials_path = home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    p->config_path = home_path("AWS_CONFIG_FILE", ".aws/config");
    int rc = ini_load(p->credentials_path, &p->credentials, err);
    if (rc < 0 && rc != MESH_ENOTFOUND) return rc;
    rc = ini_load(p->config_path, &p->config, err);
    if (rc < 0 && rc != MESH_ENOTFOUND) return rc;
    return 0;
}

void aws_profiles_release(struct aws_profiles *p)
{
    ini_free(p->credentials);
    ini_free(p->config);
    free(p->credentials_path);
    free(p->config_path);
    memset(p, 0, sizeof(*p));
}

/* In the config file every profile but "default" is "[profile NAME]"; the CLI also accepts a
 * bare "[default]" and "[profile default]". */
static const char *config_get(const struct ini *config, const char *name, const char *key)
{
    char section[512];
    snprintf(section, sizeof(section), "profile %s", name);
    const char *v = ini_get(config, section, key);
    if (!v && strcmp(name, "default") == 0) v = ini_get(config, "default", key);
    return v;
}

const char *aws_profile_get(const struct aws_profiles *p, const char *name, const char *key)
{
    const char *v = ini_get(p->credentials, name, key);
    return v ? v : config_get(p->config, name, key);
}

int aws_profile_exists(const struct aws_profiles *p, const char *name)
{
    char section[512];
    snprintf(section, sizeof(section), "profile %s", name);
    return ini_has_section(p->credentials, name) || ini_has_section(p->config, section) ||
           (strcmp(name, "default") == 0 && ini_has_section(p->config, "default"));
}

const char *aws_profile_name(const char *explicit_name)
{
    if (explicit_name && *explicit_name) return explicit_name;
    const char *env = getenv("AWS_PROFILE");
    return env && *env ? env : "default";
}
