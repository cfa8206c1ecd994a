/* state_s3.c: team state on S3, the backend of state/remote.h (see state_s3.h): blobs and logs
 * as conditional S3 objects (s3.h), the lease in DynamoDB (state_ddb.h) or as an S3 object
 * (s3_lease.h), the state key wrapped by KMS (state_kms.h). */
#include "aws/state_s3.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/endpoint.h"
#include "aws/s3.h"
#include "aws/s3_lease.h"
#include "aws/state_ddb.h"
#include "aws/state_kms.h"
#include "base64.h"
#include "base/vec.h"
#include "base/xalloc.h"

struct state_s3 {
    struct aws_client client;
    struct http_retries retries;
    struct s3 s3;
    char *key;           /* the base */
    char *lease_key;     /* KEY.lease */
    char *log_prefix;    /* KEY.log/ */
    char *snap_prefix;   /* KEY.snap/ */
    char *key_key;       /* KEY.key */
    char *uri;           /* s3://BUCKET/KEY */
    char *kms_key_id;
    struct ddb_lease *ddb;    /* NULL: the S3 lease */
    pthread_mutex_t lease_mu; /* the S3 lease's read-then-write steps, one at a time */
};

static const char *s3b_describe(void *be)
{
    return ((struct state_s3 *)be)->uri;
}

/* ---- conditional writes that recognise their own lost reply ---- */

/* A conditional PUT. The HTTP layer resends a PUT whose reply was lost; if the first one landed,
 * the resend meets our own object and S3 answers 412. So on a 412 the object is read back: the
 * same bytes as ours mean the write was ours and it succeeded (etag_out from the read); other
 * bytes are another writer's (MESH_ECONFLICT with what). */
static int put_checked(struct state_s3 *b, const char *key, const void *data, size_t len, const char *if_match,
                       char *etag_out, const char *what, struct mesh_err *err)
{
    struct s3_put_cond c = {.if_none_match = if_match == NULL, .if_match = if_match};
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = s3_put(&b->s3, key, data, len, &c, etag_out, &e);
    if (rc != MESH_ECONFLICT || strcmp(e.cause, "ConditionalRequestConflict") == 0) return rc ? mesh_err_copy(err, &e, NULL) : 0;
    struct s3_object o;
    struct mesh_err e2;
    mesh_err_init(&e2);
    if (s3_get(&b->s3, key, &o, &e2) == 0) {
        int ours = o.len == len && (len == 0 || memcmp(o.data, data, len) == 0);
        if (ours && etag_out) snprintf(etag_out, REMOTE_ETAG_MAX, "%s", o.etag);
        s3_object_release(&o);
        if (ours) return 0;
    }
    return mesh_err_set(err, MESH_ECONFLICT, NULL, "%s: s3://%s/%s was written by another writer (%s): %s",
                        what, b->s3.bucket, key, if_match ? "its ETag moved" : "it exists already", e.msg);
}

static int get_blob(struct state_s3 *b, const char *key, struct remote_blob *out, struct mesh_err *err)
{
    memset(out, 0, sizeof(*out));
    struct s3_object o;
    int rc = s3_get(&b->s3, key, &o, err);
    if (rc < 0) return rc;
    out->data = o.data;
    out->len = o.len;
    snprintf(out->etag, sizeof(out->etag), "%s", o.etag);
    return 0;
}

/* ---- base and log ---- */

static int s3b_base_get(void *be, struct remote_blob *out, struct mesh_err *err)
{
    struct state_s3 *b = be;
    return get_blob(b, b->key, out, err);
}

static int s3b_base_get_changed(void *be, const char *etag, struct remote_blob *out, struct mesh_err *err)
{
    struct state_s3 *b = be;
    memset(out, 0, sizeof(*out));
    struct s3_object o;
    int rc = s3_get_if_changed(&b->s3, b->key, etag, &o, err);
    if (rc) return rc < 0 ? rc : REMOTE_UNCHANGED;
    out->data = o.data;
    out->len = o.len;
    snprintf(out->etag, sizeof(out->etag), "%s", o.etag);
    return 0;
}

static int s3b_base_put(void *be, const void *data, size_t len, const char *if_match, char *etag_out,
                        struct mesh_err *err)
{
    struct state_s3 *b = be;
    return put_checked(b, b->key, data, len, if_match, etag_out, "write the state base", err);
}

static char *log_key(const struct state_s3 *b, long long gen, long long seq)
{
    size_t n = strlen(b->log_prefix) + 32;
    char *k = xmalloc(n);
    snprintf(k, n, "%s%012lld/%012lld", b->log_prefix, gen, seq);
    return k;
}

static int s3b_log_put(void *be, long long gen, long long seq, const void *data, size_t len, struct mesh_err *err)
{
    struct state_s3 *b = be;
    char *k = log_key(b, gen, seq);
    char what[96];
    snprintf(what, sizeof(what), "write log %lld of generation %lld", seq, gen);
    int rc = put_checked(b, k, data, len, NULL, NULL, what, err);
    free(k);
    return rc;
}

static int s3b_log_get(void *be, long long gen, long long seq, struct remote_blob *out, struct mesh_err *err)
{
    struct state_s3 *b = be;
    char *k = log_key(b, gen, seq);
    int rc = get_blob(b, k, out, err);
    free(k);
    return rc;
}

struct drop_ctx {
    struct state_s3 *b;
    long long before;
    struct vec keys;
};

/* KEY.log/GGGGGGGGGGGG/SSSSSSSSSSSS of a generation before ctx->before: to delete. */
static int drop_collect(const char *key, void *p, struct mesh_err *err)
{
    struct drop_ctx *c = p;
    const char *g = key + strlen(c->b->log_prefix);
    char *end;
    long long gen = strtoll(g, &end, 10);
    if (end != g && *end == '/' && gen < c->before) vec_push(&c->keys, xstrdup(key));
    return 0;
}

static int s3b_log_drop(void *be, long long before_gen, struct mesh_err *err)
{
    struct state_s3 *b = be;
    struct drop_ctx c = {b, before_gen, VEC_INIT};
    vec_init(&c.keys);
    int rc = s3_list(&b->s3, b->log_prefix, drop_collect, &c, err);
    /* Best effort: every key found is tried (1,000 a request), the first failure is reported. */
    if (c.keys.len) {
        int r = s3_delete_many(&b->s3, (const char *const *)c.keys.items, c.keys.len, err);
        if (r < 0 && rc == 0) rc = r;
    }
    vec_free_all(&c.keys, free);
    return rc;
}

static int s3b_log_delete(void *be, long long gen, long long last, struct mesh_err *err)
{
    struct state_s3 *b = be;
    struct vec keys = VEC_INIT;
    for (long long seq = 1; seq <= last; seq++) vec_push(&keys, log_key(b, gen, seq));
    int rc = keys.len ? s3_delete_many(&b->s3, (const char *const *)keys.items, keys.len, err) : 0;
    vec_free_all(&keys, free);
    return rc;
}

/* ---- snapshot objects: KEY.snap/NAME, written once ---- */

static char *snap_key(const struct state_s3 *b, const char *name)
{
    size_t n = strlen(b->snap_prefix) + strlen(name) + 1;
    char *k = xmalloc(n);
    snprintf(k, n, "%s%s", b->snap_prefix, name);
    return k;
}

static int s3b_snap_put(void *be, const char *name, const void *data, size_t len, struct mesh_err *err)
{
    struct state_s3 *b = be;
    char *k = snap_key(b, name);
    int rc = put_checked(b, k, data, len, NULL, NULL, "write a snapshot", err);
    free(k);
    return rc;
}

static int s3b_snap_get(void *be, const char *name, struct remote_blob *out, struct mesh_err *err)
{
    struct state_s3 *b = be;
    char *k = snap_key(b, name);
    int rc = get_blob(b, k, out, err);
    free(k);
    return rc;
}

struct snap_list_ctx {
    struct state_s3 *b;
    int (*fn)(const char *name, void *ctx);
    void *ctx;
};

static int snap_listed(const char *key, void *p, struct mesh_err *err)
{
    (void)err;
    struct snap_list_ctx *c = p;
    const char *name = key + strlen(c->b->snap_prefix);
    return strchr(name, '/') ? 0 : c->fn(name, c->ctx);
}

static int s3b_snap_list(void *be, int (*fn)(const char *name, void *ctx), void *ctx, struct mesh_err *err)
{
    struct state_s3 *b = be;
    struct snap_list_ctx c = {b, fn, ctx};
    return s3_list(&b->s3, b->snap_prefix, snap_listed, &c, err);
}

static int s3b_snap_delete(void *be, const char *const *names, size_t n, struct mesh_err *err)
{
    struct state_s3 *b = be;
    struct vec keys = VEC_INIT;
    for (size_t i = 0; i < n; i++) vec_push(&keys, snap_key(b, names[i]));
    int rc = keys.len ? s3_delete_many(&b->s3, (const char *const *)keys.items, keys.len, err) : 0;
    vec_free_all(&keys, free);
    return rc;
}

/* ---- the lease ---- */

static int s3b_lease_acquire(void *be, const struct remote_lease *want, struct remote_lease *held_by, int *taken_over,
                             struct mesh_err *err)
{
    struct state_s3 *b = be;
    if (b->ddb) return ddb_lease_acquire(b->ddb, want, held_by, taken_over, err);
    pthread_mutex_lock(&b->lease_mu);
    int rc = s3_lease_acquire(&b->s3, b->lease_key, want, held_by, taken_over, err);
    pthread_mutex_unlock(&b->lease_mu);
    return rc;
}

static int s3b_lease_renew(void *be, const char *run_id, long long expires, struct mesh_err *err)
{
    struct state_s3 *b = be;
    if (b->ddb) return ddb_lease_renew(b->ddb, run_id, expires, err);
    pthread_mutex_lock(&b->lease_mu);
    int rc = s3_lease_renew(&b->s3, b->lease_key, run_id, expires, err);
    pthread_mutex_unlock(&b->lease_mu);
    return rc;
}

static int s3b_lease_release(void *be, const char *run_id, struct mesh_err *err)
{
    struct state_s3 *b = be;
    if (b->ddb) return ddb_lease_release(b->ddb, run_id, err);
    pthread_mutex_lock(&b->lease_mu);
    int rc = s3_lease_release(&b->s3, b->lease_key, run_id, err);
    pthread_mutex_unlock(&b->lease_mu);
    return rc;
}

static int s3b_lease_read(void *be, struct remote_lease *info, int *held, struct mesh_err *err)
{
    struct state_s3 *b = be;
    if (b->ddb) return ddb_lease_read(b->ddb, info, held, err);
    pthread_mutex_lock(&b->lease_mu);
    int rc = s3_lease_read(&b->s3, b->lease_key, info, held, err);
    pthread_mutex_unlock(&b->lease_mu);
    return rc;
}

static int s3b_lease_force_clear(void *be, const char *run_id, struct mesh_err *err)
{
    struct state_s3 *b = be;
    if (b->ddb) return ddb_lease_force_clear(b->ddb, run_id, err);
    pthread_mutex_lock(&b->lease_mu);
    int rc = s3_lease_force_clear(&b->s3, b->lease_key, run_id, err);
    pthread_mutex_unlock(&b->lease_mu);
    return rc;
}

/* ---- the state key: KEY.key = {"kms_key_id": ..., "wrapped": BASE64} ---- */

static int s3b_key_get(void *be, unsigned char *key, struct mesh_err *err)
{
    struct state_s3 *b = be;
    struct s3_object o;
    int rc = s3_get(&b->s3, b->key_key, &o, err);
    if (rc < 0) return rc;
    json_t *j = json_loadb((const char *)o.data, o.len, 0, NULL);
    const char *w = json_string_value(json_object_get(j, "wrapped"));
    size_t n = 0;
    unsigned char *raw = w ? b64_decode(w, &n) : NULL;
    if (!raw || n == 0)
        rc = mesh_err_set(err, MESH_ERR, NULL, "the state key s3://%s/%s is damaged (no base64 \"wrapped\" field): "
                          "restore it from a version of the bucket", b->s3.bucket, b->key_key);
    else
        rc = state_kms_unwrap(&b->client, raw, n, key, err);
    free(raw);
    json_decref(j);
    s3_object_release(&o);
    return rc;
}

/* KEY.key: the wrapped key with the KMS key that wrapped it, written only if absent. */
static int key_store(struct state_s3 *b, const unsigned char *wrapped, size_t wl, struct mesh_err *err)
{
    char *b64 = b64_encode(wrapped, wl);
    json_t *j = json_pack("{s:s, s:s}", "kms_key_id", b->kms_key_id, "wrapped", b64);
    char *body = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    int rc = put_checked(b, b->key_key, body, strlen(body), NULL, NULL, "store the state key", err);
    free(body);
    free(b64);
    return rc;
}

static int s3b_key_put(void *be, const unsigned char *key, struct mesh_err *err)
{
    struct state_s3 *b = be;
    unsigned char *wrapped = NULL;
    size_t wl = 0;
    if (state_kms_wrap(&b->client, b->kms_key_id, key, &wrapped, &wl, err) < 0) return err->code;
    int rc = key_store(b, wrapped, wl, err);
    free(wrapped);
    return rc;
}

static int s3b_key_create(void *be, unsigned char *key, struct mesh_err *err)
{
    struct state_s3 *b = be;
    unsigned char *wrapped = NULL;
    size_t wl = 0;
    if (state_kms_generate(&b->client, b->kms_key_id, key, &wrapped, &wl, err) < 0) return err->code;
    int rc = key_store(b, wrapped, wl, err);
    if (rc < 0) OPENSSL_cleanse(key, REMOTE_KEY_LEN);  /* not the team's key: another machine's won */
    free(wrapped);
    return rc;
}

/* ---- open, preflight, counts ---- */

static void s3b_free(void *be)
{
    struct state_s3 *b = be;
    if (!b) return;
    ddb_lease_free(b->ddb);
    s3_release(&b->s3);
    aws_credentials_free(b->client.creds);
    pthread_mutex_destroy(&b->lease_mu);
    free(b->key);
    free(b->lease_key);
    free(b->log_prefix);
    free(b->snap_prefix);
    free(b->key_key);
    free(b->uri);
    free(b->kms_key_id);
    free(b);
}

static const struct remote_ops s3_ops = {
    .name = "s3", .describe = s3b_describe,
    .base_get = s3b_base_get, .base_get_changed = s3b_base_get_changed, .base_put = s3b_base_put,
    .log_put = s3b_log_put, .log_get = s3b_log_get, .log_drop = s3b_log_drop, .log_delete = s3b_log_delete,
    .snap_put = s3b_snap_put, .snap_get = s3b_snap_get, .snap_list = s3b_snap_list, .snap_delete = s3b_snap_delete,
    .lease_acquire = s3b_lease_acquire, .lease_renew = s3b_lease_renew, .lease_release = s3b_lease_release,
    .lease_read = s3b_lease_read, .lease_force_clear = s3b_lease_force_clear,
    .key_get = s3b_key_get, .key_create = s3b_key_create, .key_put = s3b_key_put, .free = s3b_free,
};

/* The same table without key ops: the team shares MESH_STATE_KEY. */
static const struct remote_ops s3_ops_nokey = {
    .name = "s3", .describe = s3b_describe,
    .base_get = s3b_base_get, .base_get_changed = s3b_base_get_changed, .base_put = s3b_base_put,
    .log_put = s3b_log_put, .log_get = s3b_log_get, .log_drop = s3b_log_drop, .log_delete = s3b_log_delete,
    .snap_put = s3b_snap_put, .snap_get = s3b_snap_get, .snap_list = s3b_snap_list, .snap_delete = s3b_snap_delete,
    .lease_acquire = s3b_lease_acquire, .lease_renew = s3b_lease_renew, .lease_release = s3b_lease_release,
    .lease_read = s3b_lease_read, .lease_force_clear = s3b_lease_force_clear, .free = s3b_free,
};

/* A key curl would rewrite ("." and ".." segments are resolved, so the signed path and the
 * object would differ) or that names no object. */
static int check_key(const char *key, struct mesh_err *err)
{
    if (!key || !*key) return mesh_err_set(err, MESH_EINVAL, NULL, "state.key: required (the state object's key, e.g. team/mesh.state)");
    if (key[0] == '/' || key[strlen(key) - 1] == '/' || strstr(key, "//"))
        return mesh_err_set(err, MESH_EINVAL, NULL, "state.key '%s': no leading, trailing or doubled '/'", key);
    for (const char *p = key; *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p)) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return mesh_err_set(err, MESH_EINVAL, NULL, "state.key '%s': no '.' or '..' path segments", key);
    }
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return mesh_err_set(err, MESH_EINVAL, NULL, "state.key: no control characters");
    return 0;
}

static char *concat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = xmalloc(n);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

int state_s3_open(const struct state_s3_config *cfg, struct remote *out, struct mesh_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!cfg->bucket || !*cfg->bucket)
        return mesh_err_set(err, MESH_EINVAL, NULL, "state.bucket: required with backend s3");
    if (check_key(cfg->key, err) < 0) return err->code;
    char *region = NULL;
    if (aws_region_resolve(cfg->region, cfg->profile, &region, err) < 0) return err->code;
    struct state_s3 *b = xcalloc(1, sizeof(*b));
    pthread_mutex_init(&b->lease_mu, NULL);
    http_client_init(&b->client.http);
    http_retries_init(&b->retries, -1);  /* bounded per request (max_attempts), not per run */
    b->client.http.retries = &b->retries;
    snprintf(b->client.region, sizeof(b->client.region), "%s", region);
    free(region);
    struct aws_credentials_config cc = {.profile = cfg->profile, .region = b->client.region, .http = &b->client.http};
    b->client.creds = aws_credentials_new(&cc);
    struct s3_config sc = {.bucket = cfg->bucket, .endpoint = cfg->endpoint, .path_style = cfg->path_style,
                           .sse_kms = cfg->sse_kms, .sse_kms_key_id = cfg->sse_kms_key_id};
    if (!b->client.creds) {
        s3b_free(b);
        return mesh_err_set(err, MESH_ERR, NULL, "state s3://%s/%s: the AWS credentials chain could not be set up",
                            cfg->bucket, cfg->key);
    }
    if (s3_init(&b->s3, &b->client, &sc, err) < 0) {
        s3b_free(b);
        return err->code;
    }
    b->key = xstrdup(cfg->key);
    b->lease_key = concat(cfg->key, ".lease");
    b->log_prefix = concat(cfg->key, ".log/");
    b->snap_prefix = concat(cfg->key, ".snap/");
    b->key_key = concat(cfg->key, ".key");
    size_t n = strlen(cfg->bucket) + strlen(cfg->key) + 8;
    b->uri = xmalloc(n);
    snprintf(b->uri, n, "s3://%s/%s", cfg->bucket, cfg->key);
    if (cfg->kms_key_id && *cfg->kms_key_id) b->kms_key_id = xstrdup(cfg->kms_key_id);
    if (cfg->lock_table && *cfg->lock_table) {
        char *lock_id = concat(cfg->bucket, "/");
        char *full = concat(lock_id, cfg->key);
        b->ddb = ddb_lease_new(&b->client, cfg->lock_table, full);
        free(lock_id);
        free(full);
    }
    out->ops = b->kms_key_id ? &s3_ops : &s3_ops_nokey;
    out->be = b;
    return 0;
}

int state_s3_preflight(struct remote *r, int *versioned, struct mesh_err *err)
{
    struct state_s3 *b = r->be;
    *versioned = 0;
    if (s3_check_bucket(&b->s3, err) < 0) return err->code;
    if (b->ddb && ddb_lease_check_table(b->ddb, err) < 0) return err->code;
    return s3_versioning(&b->s3, versioned, err);
}

int state_s3_counts(struct remote *r, struct state_s3_count *out, int n)
{
    struct state_s3 *b = r->be;
    /* HEAD is a read: counted with GET. */
    long v[] = {
        atomic_load(&b->s3.count[S3_GET]) + atomic_load(&b->s3.count[S3_HEAD]), atomic_load(&b->s3.count[S3_PUT]),
        atomic_load(&b->s3.count[S3_LIST]), atomic_load(&b->s3.count[S3_DELETE]),
        b->ddb ? ddb_lease_requests(b->ddb) : 0, b->kms_key_id ? state_kms_requests() : 0,
    };
    static const char *const names[] = {"s3 GET", "s3 PUT", "s3 LIST", "s3 DELETE", "dynamodb", "kms"};
    int k = 0;
    for (int i = 0; i < 6 && k < n; i++) out[k++] = (struct state_s3_count){names[i], v[i]};
    return k;
}
