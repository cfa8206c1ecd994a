/* credentials.c: the AWS credential chain and its thread-safe, refreshing cache (see
 * credentials.h). The sources live in creds_sources.c (process, container, IMDS) and
 * creds_sts.c (AssumeRole, web identity); this file decides the order and what to say when
 * nothing answers. */
#include "aws/credentials.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws/endpoint.h"
#include "aws/profile.h"
#include "base/xalloc.h"

/* ---- struct aws_creds ---- */

static void wipe_free(char **s)
{
    if (!*s) return;
    OPENSSL_cleanse(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

static char *dup_or_null(const char *s)
{
    if (!s || !*s) return NULL;
    char *d = xstrdup(s);
    return d;
}

void aws_creds_clear(struct aws_creds *c)
{
    free(c->access_key);
    c->access_key = NULL;
    wipe_free(&c->secret_key);
    wipe_free(&c->session_token);
    c->expires = 0;
    c->source[0] = '\0';
}

void aws_creds_set(struct aws_creds *c, const char *ak, const char *sk, const char *token)
{
    aws_creds_clear(c);
    c->access_key = dup_or_null(ak);
    c->secret_key = dup_or_null(sk);
    c->session_token = dup_or_null(token);
}

void aws_creds_copy(struct aws_creds *dst, const struct aws_creds *src)
{
    aws_creds_set(dst, src->access_key, src->secret_key, src->session_token);
    dst->expires = src->expires;
    memcpy(dst->source, src->source, sizeof(dst->source));
}

time_t aws_parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    const char *p = s + used;
    if (*p == '.') for (p++; *p >= '0' && *p <= '9'; p++) {}
    int oh = 0, om = 0;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
        t -= (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    return t;
}

/* ---- the chain ---- */

struct chain {
    const char *explicit_profile;
    const char *region;
    const struct http_client *http;
    struct aws_profiles files;
    struct strbuf looked;   /* "\n  - place: why not" lines for the final error */
};

static int from_env(struct chain *ch, struct aws_creds *out)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    if (ch->explicit_profile) {
        strbuf_adds(&ch->looked, "\n  - environment: skipped, a profile was given explicitly");
        return MESH_ENOTFOUND;
    }
    if (!ak || !*ak || !sk || !*sk) {
        strbuf_adds(&ch->looked, "\n  - environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set");
        return MESH_ENOTFOUND;
    }
    aws_creds_set(out, ak, sk, getenv("AWS_SESSION_TOKEN"));
    snprintf(out->source, sizeof(out->source), "environment");
    return 0;
}

static int from_web_identity_env(struct chain *ch, struct aws_creds *out, struct mesh_err *err)
{
    const char *file = getenv("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = getenv("AWS_ROLE_ARN");
    if (!file || !*file || !role || !*role) {
        strbuf_adds(&ch->looked, "\n  - web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set");
        return MESH_ENOTFOUND;
    }
    return creds_assume_role_web_identity(ch->http, ch->region, role, file,
                                          getenv("AWS_ROLE_SESSION_NAME"), out, err);
}

static int static_keys(struct chain *ch, const char *name, struct aws_creds *out)
{
    const char *ak = aws_profile_get(&ch->files, name, "aws_access_key_id");
    const char *sk = aws_profile_get(&ch->files, name, "aws_secret_access_key");
    if (!ak || !sk) return MESH_ENOTFOUND;
    aws_creds_set(out, ak, sk, aws_profile_get(&ch->files, name, "aws_session_token"));
    snprintf(out->source, sizeof(out->source), "profile %s", name);
    return 0;
}

static int resolve_profile(struct chain *ch, const char *name, int depth, int top,
                           struct aws_creds *out, struct mesh_err *err);

static int role_source(struct chain *ch, const char *name, int depth, struct aws_creds *src,
                       struct mesh_err *err)
{
    const char *sp = aws_profile_get(&ch->files, name, "source_profile");
    const char *cs = aws_profile_get(&ch->files, name, "credential_source");
    if (sp && strcmp(sp, name) == 0) {
        if (static_keys(ch, name, src) == 0) return 0;
        return mesh_err_set(err, MESH_EINVAL, NULL, "profile %s: source_profile is itself but it has no keys", name);
    }
    if (sp) {
        int rc = resolve_profile(ch, sp, depth + 1, 0, src, err);
        if (rc == MESH_ENOTFOUND)
            return mesh_err_set(err, MESH_EINVAL, NULL, "profile %s: source_profile %s has no credentials", name, sp);
        return rc;
    }
    if (cs && strcmp(cs, "Environment") == 0) {
        const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
        if (!ak || !sk) return mesh_err_set(err, MESH_EINVAL, NULL, "profile %s: credential_source Environment, but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set", name);
        aws_creds_set(src, ak, sk, getenv("AWS_SESSION_TOKEN"));
        return 0;
    }
    struct strbuf why = STRBUF_INIT;
    strbuf_init(&why);
    int rc = MESH_EINVAL;
    if (cs && strcmp(cs, "Ec2InstanceMetadata") == 0) rc = creds_from_imds(ch->http, src, &why, err);
    else if (cs && strcmp(cs, "EcsContainer") == 0) rc = creds_from_container(ch->http, src, &why, err);
    if (rc == MESH_ENOTFOUND) mesh_err_set(err, rc, NULL, "profile %s: credential_source %s:%s", name, cs, why.buf);
    else if (rc == MESH_EINVAL)
        mesh_err_set(err, rc, NULL, "profile %s has role_arn but no source_profile, credential_source "
                                    "(Environment, Ec2InstanceMetadata, EcsContainer) or web_identity_token_file", name);
    strbuf_release(&why);
    return rc < 0 && !err->code ? mesh_err_set(err, rc, NULL, "profile %s: no source credentials", name) : rc;
}

static int assume_profile_role(struct chain *ch, const char *name, int depth, struct aws_creds *out,
                               struct mesh_err *err)
{
    const char *role = aws_profile_get(&ch->files, name, "role_arn");
    const char *session = aws_profile_get(&ch->files, name, "role_session_name");
    const char *wif = aws_profile_get(&ch->files, name, "web_identity_token_file");
    if (wif && !aws_profile_get(&ch->files, name, "source_profile"))
        return creds_assume_role_web_identity(ch->http, ch->region, role, wif, session, out, err);
    struct aws_creds src;
    memset(&src, 0, sizeof(src));
    int rc = role_source(ch, name, depth, &src, err);
    if (rc == 0) {
        const char *dur = aws_profile_get(&ch->files, name, "duration_seconds");
        rc = creds_assume_role(ch->http, ch->region, &src, role, session,
                               aws_profile_get(&ch->files, name, "external_id"),
                               dur ? strtol(dur, NULL, 10) : 0, out, err);
    }
    aws_creds_clear(&src);
    if (rc == 0) snprintf(out->source, sizeof(out->source), "profile %s (assume role %s)", name, role);
    return rc;
}

static int resolve_profile(struct chain *ch, const char *name, int depth, int top,
                           struct aws_creds *out, struct mesh_err *err)
{
    if (depth > 8) return mesh_err_set(err, MESH_EINVAL, NULL, "profile %s: source_profile chain is too long (a loop?)", name);
    if (aws_profile_get(&ch->files, name, "role_arn")) return assume_profile_role(ch, name, depth, out, err);
    if (top) {
        int rc = from_web_identity_env(ch, out, err);
        if (rc != MESH_ENOTFOUND) return rc;
    }
    if (static_keys(ch, name, out) == 0) return 0;
    const char *proc = aws_profile_get(&ch->files, name, "credential_process");
    if (proc) {
        int rc = creds_from_process(proc, out, err);
        if (rc == 0) snprintf(out->source, sizeof(out->source), "profile %s (credential_process)", name);
        return rc;
    }
    strbuf_addf(&ch->looked, "\n  - profile %s in %s (%s) and %s (%s): %s", name,
                ch->files.credentials_path, ch->files.credentials ? "read" : "absent",
                ch->files.config_path, ch->files.config ? "read" : "absent",
                aws_profile_exists(&ch->files, name) ? "no keys, role_arn or credential_process"
                                                     : "no such profile");
    return MESH_ENOTFOUND;
}

static int chain_run(struct chain *ch, struct aws_creds *out, struct mesh_err *err)
{
    int rc = from_env(ch, out);
    if (rc != MESH_ENOTFOUND) return rc;
    if (aws_profiles_load(&ch->files, err) < 0) return err->code;
    const char *name = aws_profile_name(ch->explicit_profile);
    rc = resolve_profile(ch, name, 0, 1, out, err);
    if (rc != MESH_ENOTFOUND) return rc;
    if (strcmp(name, "default") != 0 && !aws_profile_exists(&ch->files, name))
        return mesh_err_set(err, MESH_EINVAL, NULL, "AWS profile '%s' not found in %s or %s", name,
                            ch->files.credentials_path, ch->files.config_path);
    rc = creds_from_container(ch->http, out, &ch->looked, err);
    if (rc != MESH_ENOTFOUND) return rc;
    rc = creds_from_imds(ch->http, out, &ch->looked, err);
    if (rc != MESH_ENOTFOUND) return rc;
    return mesh_err_set(err, MESH_ENOTFOUND, NULL, "no AWS credentials found; looked at:%s", ch->looked.buf);
}

/* ---- the cache ---- */

struct aws_credentials {
    pthread_mutex_t mu;
    struct aws_creds cur;
    int have;
    int resolutions;
    long window;
    char *profile;
    char *region;
    struct http_client http;
    int have_http;
};

struct aws_credentials *aws_credentials_new(const struct aws_credentials_config *cfg)
{
    struct aws_credentials *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->window = cfg && cfg->refresh_window > 0 ? cfg->refresh_window : 300;
    p->profile = cfg ? dup_or_null(cfg->profile) : NULL;
    p->region = cfg ? dup_or_null(cfg->region) : NULL;
    if (cfg && cfg->http) { p->http = *cfg->http; p->have_http = 1; }
    return p;
}

void aws_credentials_free(struct aws_credentials *p)
{
    if (!p) return;
    aws_creds_clear(&p->cur);
    pthread_mutex_destroy(&p->mu);
    free(p->profile);
    free(p->region);
    free(p);
}

int aws_credentials_resolutions(const struct aws_credentials *p) { return p->resolutions; }

static int resolve_locked(struct aws_credentials *p, struct aws_creds *fresh, struct mesh_err *err)
{
    char *region = NULL;
    if (p->region) region = xstrdup(p->region);
    else if (aws_region_resolve(NULL, p->profile, &region, NULL) < 0) region = NULL;
    struct chain ch = { .explicit_profile = p->profile, .region = region,
                        .http = p->have_http ? &p->http : NULL };
    strbuf_init(&ch.looked);
    int rc = chain_run(&ch, fresh, err);
    aws_profiles_release(&ch.files);
    strbuf_release(&ch.looked);
    free(region);
    p->resolutions++;
    return rc;
}

int aws_credentials_get(struct aws_credentials *p, struct aws_creds *out, struct mesh_err *err)
{
    pthread_mutex_lock(&p->mu);
    time_t now = time(NULL);
    int rc = 0;
    if (!p->have || (p->cur.expires && p->cur.expires - now <= p->window)) {
        struct aws_creds fresh;
        memset(&fresh, 0, sizeof(fresh));
        struct mesh_err e;
        mesh_err_init(&e);
        rc = resolve_locked(p, &fresh, &e);
        if (rc == 0) {
            aws_creds_clear(&p->cur);
            p->cur = fresh;
            p->have = 1;
        } else if (p->have && p->cur.expires > now) {
            rc = 0;  /* refresh failed but the old ones still work: use them, try again later */
        } else {
            mesh_err_copy(err, &e, NULL);  /* an STS failure keeps its AWS code and request ID */
        }
    }
    if (rc == 0) aws_creds_copy(out, &p->cur);
    pthread_mutex_unlock(&p->mu);
    return rc;
}
