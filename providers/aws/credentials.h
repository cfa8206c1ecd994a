/* credentials.h: AWS credentials, found the way the AWS CLI finds them, and kept fresh.
 *
 * The chain: environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; skipped
 * when a profile is given explicitly) -> the profile (explicit, AWS_PROFILE, or "default") in the
 * shared files: role_arn with source_profile or credential_source (STS AssumeRole),
 * web_identity_token_file -> web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 * (AssumeRoleWithWebIdentity) -> the profile's static keys -> its credential_process -> container
 * credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI) -> instance metadata (IMDSv2,
 * AWS_EC2_METADATA_SERVICE_ENDPOINT, off with AWS_EC2_METADATA_DISABLED=true).
 * When nothing answers, the error names every place looked at. Secrets are wiped when freed and
 * never logged. */
#ifndef MESH_AWS_CREDENTIALS_H
#define MESH_AWS_CREDENTIALS_H

#include <time.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "http.h"

struct aws_creds {
    char *access_key;
    char *secret_key;
    char *session_token;   /* NULL for long-term keys */
    time_t expires;        /* 0: never */
    char source[128];      /* "environment", "profile dev (assume role arn:...)", ... */
};

void aws_creds_clear(struct aws_creds *c);   /* wipes and frees the strings */
void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src);
void aws_creds_set(struct aws_creds *c, const char *ak, const char *sk, const char *token);

struct aws_credentials_config {
    const char *profile;        /* explicit (mesh.profile); NULL: AWS_PROFILE or "default" */
    const char *region;         /* for STS calls; NULL: resolved like aws_region_resolve */
    const struct http_client *http;  /* for STS, container and IMDS calls; NULL: defaults */
    long refresh_window;        /* seconds before expiry to refresh; 0: 300 */
};

struct aws_credentials;

struct aws_credentials *aws_credentials_new(const struct aws_credentials_config *cfg);
void aws_credentials_free(struct aws_credentials *p);
/* A copy of the current credentials (aws_creds_clear it), resolving them on first use and
 * refreshing temporary ones that expire within the refresh window. Thread-safe. */
int aws_credentials_get(struct aws_credentials *p, struct aws_creds *out, struct mesh_err *err);
/* How many times the chain was resolved (tests: refreshes happen). */
int aws_credentials_resolutions(const struct aws_credentials *p);

/* Parses "2026-11-26T06:43:19Z" (fractions and offsets allowed) as UTC; -1 on failure. */
time_t aws_parse_time(const char *iso8601);

/* ---- the chain's sources, one file each; 0: found, MESH_ENOTFOUND: not configured (a note
 * on what was looked at goes to looked), < 0: configured but failed (err set). ---- */
int creds_from_process(const char *command, struct aws_creds *out, struct mesh_err *err);
int creds_from_container(const struct http_client *http, struct aws_creds *out, struct strbuf *looked,
                         struct mesh_err *err);
int creds_from_imds(const struct http_client *http, struct aws_creds *out, struct strbuf *looked,
                    struct mesh_err *err);
int creds_assume_role(const struct http_client *http, const char *region, const struct aws_creds *source,
                      const char *role_arn, const char *session_name, const char *external_id,
                      long duration, struct aws_creds *out, struct mesh_err *err);
int creds_assume_role_web_identity(const struct http_client *http, const char *region,
                                   const char *role_arn, const char *token_file,
                                   const char *session_name, struct aws_creds *out,
                                   struct mesh_err *err);

#endif
