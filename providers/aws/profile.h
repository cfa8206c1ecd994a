/* profile.h: the AWS shared files as one lookup: ~/.aws/credentials ([name]) and ~/.aws/config
 * ([profile name], [default]), at AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE when set.
 * The credentials file wins for a key both files hold, as with the AWS CLI. */
#ifndef MESH_AWS_PROFILE_H
#define MESH_AWS_PROFILE_H

#include "aws/ini.h"
#include "base/err.h"

struct aws_profiles {
    struct ini *credentials;   /* NULL when the file does not exist */
    struct ini *config;
    char *credentials_path;
    char *config_path;
};

/* A missing file is not an error; a malformed one is. */
int aws_profiles_load(struct aws_profiles *p, struct mesh_err *err);
void aws_profiles_release(struct aws_profiles *p);

/* The value of key in profile name; NULL when absent. */
const char *aws_profile_get(const struct aws_profiles *p, const char *name, const char *key);
int aws_profile_exists(const struct aws_profiles *p, const char *name);
/* The profile to use: explicit, else AWS_PROFILE, else "default". */
const char *aws_profile_name(const char *explicit_name);

#endif
