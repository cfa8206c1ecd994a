/* state_backend.c: the "s3" state backend as the registry opens it (state_backends.def): the
 * spec's state: section or an s3://BUCKET/KEY URL turned into a state_s3_config, opened, and
 * checked before a run that will write. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/policy.h"
#include "aws/state_s3.h"
#include "base/xalloc.h"
#include "driver.h"

static const char *str_of(const json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v && *v ? v : NULL;
}

static const char *const url_options[] = {"region", "lock_table", "kms_key_id", "endpoint", "path_style", "encrypt",
                                          "sse_kms_key_id", NULL};

/* "s3://BUCKET/KEY[?OPTION=VALUE&...]" -> bucket, key and the state: section's options (all owned
 * by *buf; values taken as written, no percent-decoding: KMS aliases and ARNs need none). */
static int parse_url(const char *url, char **buf, const char **bucket, const char **key, json_t *opts,
                     struct mesh_err *err)
{
    if (strncmp(url, "s3://", 5) != 0)
        return mesh_err_set(err, MESH_EINVAL, NULL, "state URL %s: expected s3://BUCKET/KEY", url);
    *buf = xstrdup(url + 5);
    char *q = strchr(*buf, '?');
    if (q) *q++ = '\0';
    char *slash = strchr(*buf, '/');
    if (!slash || slash == *buf || !slash[1])
        return mesh_err_set(err, MESH_EINVAL, NULL,
                            "state URL %s: expected s3://BUCKET/KEY (a bucket, then the object key, e.g. "
                            "s3://team-state/mesh/prod.state)", url);
    *slash = '\0';
    *bucket = *buf;
    *key = slash + 1;
    for (char *tok = q ? strtok(q, "&") : NULL; tok; tok = strtok(NULL, "&")) {
        char *eq = strchr(tok, '=');
        if (eq) *eq = '\0';
        size_t i = 0;
        while (url_options[i] && strcmp(url_options[i], tok) != 0) i++;
        if (!url_options[i] || !eq || !eq[1])
            return mesh_err_set(err, MESH_EINVAL, NULL,
                                "state URL %s: %s is not OPTION=VALUE with OPTION one of region, lock_table, "
                                "kms_key_id, endpoint, path_style, encrypt, sse_kms_key_id", url, tok);
        json_object_set_new(opts, tok, json_string(eq + 1));
    }
    return 0;
}

/* cfg from a state: section or {"url": ...}; its strings point into config, *opts or *urlbuf
 * (the caller frees both). */
static int config_of(const json_t *config, const json_t *mesh_config, struct state_s3_config *cfg, char **urlbuf,
                     json_t *opts, struct mesh_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->path_style = -1;
    int rc = 0;
    const char *url = str_of(config, "url");
    if (url) {
        rc = parse_url(url, urlbuf, &cfg->bucket, &cfg->key, opts, err);
        config = opts;   /* the options a URL may carry, read below as a state: section's */
    } else {
        cfg->bucket = str_of(config, "bucket");
        cfg->key = str_of(config, "key");
    }
    cfg->lock_table = str_of(config, "lock_table");
    cfg->kms_key_id = str_of(config, "kms_key_id");
    cfg->sse_kms_key_id = str_of(config, "sse_kms_key_id");
    cfg->endpoint = str_of(config, "endpoint");
    cfg->region = str_of(config, "region");
    const json_t *enc = json_object_get(config, "encrypt"), *ps = json_object_get(config, "path_style");
    cfg->sse_kms = json_is_true(enc) || (json_is_string(enc) && strcmp(json_string_value(enc), "true") == 0);
    if (json_is_boolean(ps)) cfg->path_style = json_is_true(ps);
    else if (json_is_string(ps)) cfg->path_style = strcmp(json_string_value(ps), "true") == 0;
    /* The state's region may differ from the mesh's (one bucket for every region's meshes). */
    if (!cfg->region) cfg->region = str_of(mesh_config, "region");
    cfg->profile = str_of(mesh_config, "profile");
    return rc;
}

int aws_state_backend_open(const json_t *config, const json_t *mesh_config, int preflight, struct remote *out,
                           char *warning, size_t warning_len, struct mesh_err *err)
{
    struct state_s3_config cfg;
    char *urlbuf = NULL;
    json_t *opts = json_object();
    int rc = config_of(config, mesh_config, &cfg, &urlbuf, opts, err);
    if (!rc) rc = state_s3_open(&cfg, out, err);
    if (!rc && preflight) {
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
    json_decref(opts);
    return rc;
}

/* A KMS key as IAM names it: an ARN as given; a key ID as its ARN in the state's region; an alias
 * by the keys it may name, narrowed by kms:ResourceAliases (IAM matches key ARNs, not aliases;
 * kms:RequestAlias would refuse Decrypt, whose request names no alias). */
static json_t *kms_allow(const char *sid, json_t *actions, const char *key, const char *region)
{
    char arn[600];
    if (strncmp(key, "arn:", 4) == 0 && !strstr(key, ":alias/"))
        return aws_policy_statement(sid, actions, json_string(key), NULL);
    if (strncmp(key, "alias/", 6) == 0 || strstr(key, ":alias/")) {
        const char *alias = strstr(key, "alias/");
        snprintf(arn, sizeof(arn), "arn:aws:kms:%s:*:key/*", region);
        return aws_policy_statement(sid, actions, json_string(arn), json_pack("{s:{s:s}}", "ForAnyValue:StringEquals", "kms:ResourceAliases", alias));
    }
    snprintf(arn, sizeof(arn), "arn:aws:kms:%s:*:key/%s", region, key);
    return aws_policy_statement(sid, actions, json_string(arn), NULL);
}

json_t *aws_state_backend_policy(const json_t *config, const json_t *mesh_config, json_t *doc)
{
    struct state_s3_config cfg;
    char *urlbuf = NULL;
    json_t *opts = json_object();
    struct mesh_err e;
    mesh_err_init(&e);
    if (config_of(config, mesh_config, &cfg, &urlbuf, opts, &e) || !cfg.bucket || !cfg.key) {
        free(urlbuf);
        json_decref(opts);
        return doc;
    }
    const char *region = cfg.region ? cfg.region : getenv("AWS_REGION");
    if (!region || !*region) region = getenv("AWS_DEFAULT_REGION");
    if (!region || !*region) region = "*";
    if (!doc) doc = json_pack("{s:s, s:[]}", "Version", "2012-10-17", "Statement");
    json_t *stmts = json_object_get(doc, "Statement");
    char arn[1200];
    /* KEY (the base), KEY.log/..., KEY.snap/..., KEY.lease and KEY.key: one prefix */
    snprintf(arn, sizeof(arn), "arn:aws:s3:::%s/%s*", cfg.bucket, cfg.key);
    json_array_append_new(stmts, aws_policy_statement("MeshStateObjects", json_pack("[sss]", "s3:DeleteObject", "s3:GetObject",
                                                                     "s3:PutObject"), json_string(arn), NULL));
    /* HeadBucket and ListObjectsV2 (the old logs and snapshots) are s3:ListBucket */
    snprintf(arn, sizeof(arn), "arn:aws:s3:::%s", cfg.bucket);
    json_array_append_new(stmts, aws_policy_statement("MeshStateBucket", json_pack("[ss]", "s3:GetBucketVersioning", "s3:ListBucket"),
                                       json_string(arn), NULL));
    if (cfg.lock_table) {
        snprintf(arn, sizeof(arn), "arn:aws:dynamodb:%s:*:table/%s", region, cfg.lock_table);
        json_array_append_new(stmts, aws_policy_statement("MeshStateLock", json_pack("[sssss]", "dynamodb:DeleteItem",
                                                                      "dynamodb:DescribeTable", "dynamodb:GetItem",
                                                                      "dynamodb:PutItem", "dynamodb:UpdateItem"),
                                           json_string(arn), NULL));
    }
    if (cfg.kms_key_id)
        json_array_append_new(stmts, kms_allow("MeshStateKey", json_pack("[sss]", "kms:Decrypt", "kms:Encrypt",
                                                                         "kms:GenerateDataKey"),
                                               cfg.kms_key_id, region));
    /* SSE-KMS: S3 asks KMS for a data key on PUT and to decrypt it on GET, as the caller */
    if (cfg.sse_kms && cfg.sse_kms_key_id)
        json_array_append_new(stmts, kms_allow("MeshStateSSE", json_pack("[ss]", "kms:Decrypt", "kms:GenerateDataKey"),
                                               cfg.sse_kms_key_id, region));
    free(urlbuf);
    json_decref(opts);
    return doc;
}
