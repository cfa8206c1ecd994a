/* state_backend.c: the "s3" state backend as the registry opens it (state_backends.def): the
 * spec's state: section or an s3://BUCKET/KEY URL turned into a state_s3_config, opened, and
 * checked before a run that will write. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "aws/state_s3.h"
#include "base/xalloc.h"
#include "driver.h"

static const char *str_of(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v && *v ? v : NULL;
}

/* "s3://BUCKET/KEY" -> bucket and key (both owned by *buf). */
static int parse_url(const char *url, char **buf, const char **bucket, const char **key, struct mesh_err *err)
{
    if (strncmp(url, "s3://", 5) != 0)
        return mesh_err_set(err, MESH_EINVAL, NULL, "state URL %s: expected s3://BUCKET/KEY", url);
    *buf = xstrdup(url + 5);
    char *slash = strchr(*buf, '/');
    if (!slash || slash == *buf || !slash[1])
        return mesh_err_set(err, MESH_EINVAL, NULL,
                            "state URL %s: expected s3://BUCKET/KEY (a bucket, then the object key, e.g. "
                            "s3://team-state/mesh/prod.state)", url);
    *slash = '\0';
    *bucket = *buf;
    *key = slash + 1;
    return 0;
}

int aws_state_backend_open(const json_t *config, const json_t *mesh_config, int writing, struct remote *out,
                           char *warning, size_t warning_len, struct mesh_err *err)
{
    struct state_s3_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.path_style = -1;
    char *urlbuf = NULL;
    int rc = 0;
    const char *url = str_of(config, "url");
    if (url) {
        rc = parse_url(url, &urlbuf, &cfg.bucket, &cfg.key, err);
    } else {
        cfg.bucket = str_of(config, "bucket");
        cfg.key = str_of(config, "key");
        cfg.lock_table = str_of(config, "lock_table");
        cfg.kms_key_id = str_of(config, "kms_key_id");
        cfg.sse_kms_key_id = str_of(config, "sse_kms_key_id");
        cfg.endpoint = str_of(config, "endpoint");
        cfg.region = str_of(config, "region");
        cfg.sse_kms = json_is_true(json_object_get(config, "encrypt"));
        const json_t *ps = json_object_get(config, "path_style");
        if (json_is_boolean(ps)) cfg.path_style = json_is_true(ps);
    }
    /* The state's region may differ from the mesh's (one bucket for every region's meshes). */
    if (!cfg.region) cfg.region = str_of(mesh_config, "region");
    cfg.profile = str_of(mesh_config, "profile");
    if (!rc) rc = state_s3_open(&cfg, out, err);
    if (!rc && writing) {
        int versioned = 1;
        rc = state_s3_preflight(out, &versioned, err);
        if (rc) {
            out->ops->free(out->be);
            out->ops = NULL;
            out->be = NULL;
        } else if (!versioned && warning_len) {
            snprintf(warning, warning_len,
                     "bucket %s has no versioning: an overwritten or deleted state cannot be recovered from S3 "
                     "(aws s3api put-bucket-versioning --bucket %s --versioning-configuration Status=Enabled)",
                     cfg.bucket, cfg.bucket);
        }
    }
    free(urlbuf);
    return rc;
}
