/* creds_sources.c: credentials from a local command (credential_process), the container
 * credentials endpoint (ECS, EKS Pod Identity) and the instance metadata service (IMDSv2).
 * All three answer JSON; jansson reads it. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include "aws/credentials.h"
#include "base/xalloc.h"

/* {"AccessKeyId", "SecretAccessKey", token_key, "Expiration"} -> out. */
static int creds_from_json(const char *text, size_t len, const char *token_key, const char *what,
                           struct aws_creds *out, struct mesh_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        return mesh_err_set(err, MESH_ERR, NULL, "%s: the answer is not a JSON object", what);
    }
    const char *ak = json_string_value(json_object_get(j, "AccessKeyId"));
    const char *sk = json_string_value(json_object_get(j, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(j, token_key));
    const char *exp = json_string_value(json_object_get(j, "Expiration"));
    int rc = 0;
    if (!ak || !sk) {
        rc = mesh_err_set(err, MESH_ERR, NULL, "%s: the answer has no AccessKeyId/SecretAccessKey", what);
    } else {
        aws_creds_set(out, ak, sk, tok);
        out->expires = exp ? aws_parse_time(exp) : 0;
        if (out->expires < 0) rc = mesh_err_set(err, MESH_ERR, NULL, "%s: bad Expiration '%s'", what, exp);
    }
    /* jansson keeps its own copies of the strings; wipe them before they are freed. */
    if (sk) OPENSSL_cleanse((char *)sk, strlen(sk));
    if (tok) OPENSSL_cleanse((char *)tok, strlen(tok));
    json_decref(j);
    return rc;
}

int creds_from_process(const char *command, struct aws_creds *out, struct mesh_err *err)
{
    FILE *p = popen(command, "r");
    if (!p) return mesh_err_set(err, MESH_ERR, NULL, "credential_process '%s': cannot start it", command);
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    char buf[1024];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) strbuf_add(&sb, buf, n);
    OPENSSL_cleanse(buf, sizeof(buf));
    int status = pclose(p);
    int rc;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = mesh_err_set(err, MESH_ERR, NULL, "credential_process '%s' failed (exit status %d)",
                          command, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    } else {
        json_t *j = json_loadb(sb.buf, sb.len, 0, NULL);
        json_int_t version = json_integer_value(json_object_get(j, "Version"));
        json_decref(j);
        rc = version != 1
                 ? mesh_err_set(err, MESH_ERR, NULL, "credential_process '%s': expected \"Version\": 1", command)
                 : creds_from_json(sb.buf, sb.len, "SessionToken", "credential_process", out, err);
    }
    OPENSSL_cleanse(sb.buf, sb.len);
    strbuf_release(&sb);
    if (rc == 0) snprintf(out->source, sizeof(out->source), "credential_process");
    return rc;
}

/* A GET or PUT to a metadata-like endpoint with short timeouts: when it is not there, the
 * chain must give up in about a second, not hang. */
static int metadata_call(const struct http_client *base, const char *method, const char *url,
                         const char *hname, const char *hvalue, struct http_response *resp,
                         struct mesh_err *err)
{
    struct http_client c;
    if (base) c = *base;
    else http_client_init(&c);
    c.connect_timeout_ms = 1000;
    c.timeout_ms = 5000;
    c.max_attempts = 3;
    struct http_request req;
    http_request_init(&req, method, url);
    if (hname) http_request_set_header(&req, hname, hvalue);
    req.what = "credentials";
    req.secret_reply = 1;
    int rc = http_send(&c, &req, resp, err);
    http_request_release(&req);
    return rc;
}

static const char *container_url(char **owned)
{
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (full && *full) return full;
    const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (!rel || !*rel) return NULL;
    if (asprintf(owned, "http://169.254.170.2%s", rel) < 0) abort();
    return *owned;
}

static char *container_token(void)
{
    const char *file = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (file && *file) {
        FILE *f = fopen(file, "rb");
        if (f) {
            char buf[4096];
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = '\0';
            buf[strcspn(buf, "\r\n")] = '\0';
            char *t = xstrdup(buf);
            OPENSSL_cleanse(buf, sizeof(buf));
            return t;
        }
    }
    const char *t = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    return t && *t ? xstrdup(t) : NULL;
}

int creds_from_container(const struct http_client *http, struct aws_creds *out, struct strbuf *looked,
                         struct mesh_err *err)
{
    char *owned = NULL;
    const char *url = container_url(&owned);
    if (!url) {
        strbuf_adds(looked, "\n  - container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI and "
                            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI are not set");
        return MESH_ENOTFOUND;
    }
    char *token = container_token();
    struct http_response resp;
    http_response_init(&resp);
    int rc = metadata_call(http, "GET", url, token ? "Authorization" : NULL, token, &resp, err);
    if (rc == 0 && resp.status != 200)
        rc = mesh_err_set(err, MESH_ERR, NULL, "container credentials at %s: HTTP %ld", url, resp.status);
    if (rc == 0) rc = creds_from_json(resp.body.buf, resp.body.len, "Token", "container credentials", out, err);
    if (rc == 0) snprintf(out->source, sizeof(out->source), "container credentials");
    if (resp.body.len) OPENSSL_cleanse(resp.body.buf, resp.body.len);
    http_response_release(&resp);
    if (token) { OPENSSL_cleanse(token, strlen(token)); free(token); }
    free(owned);
    return rc;
}

static int imds_get(const struct http_client *http, const char *base, const char *path,
                    const char *token, struct http_response *resp, struct mesh_err *err)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", base, path);
    int rc = metadata_call(http, "GET", url, "X-aws-ec2-metadata-token", token, resp, err);
    if (rc == 0 && resp->status != 200)
        rc = mesh_err_set(err, resp->status == 404 ? MESH_ENOTFOUND : MESH_ERR, NULL,
                          "instance metadata %s: HTTP %ld", path, resp->status);
    return rc;
}

/* IMDSv2: PUT a session token, then the role name, then the role's credentials. */
static int imds_fetch(const struct http_client *http, const char *base, struct aws_creds *out,
                      struct mesh_err *err)
{
    char url[1024];
    snprintf(url, sizeof(url), "%s/latest/api/token", base);
    struct http_response resp;
    http_response_init(&resp);
    int rc = metadata_call(http, "PUT", url, "X-aws-ec2-metadata-token-ttl-seconds", "21600", &resp, err);
    if (rc == 0 && resp.status != 200)
        rc = mesh_err_set(err, MESH_ERR, NULL, "instance metadata token: HTTP %ld", resp.status);
    char *token = rc == 0 ? xstrdup(resp.body.buf) : NULL;
    char role[256] = "";
    if (rc == 0) rc = imds_get(http, base, "/latest/meta-data/iam/security-credentials/", token, &resp, err);
    if (rc == 0) {
        snprintf(role, sizeof(role), "%.*s", (int)strcspn(resp.body.buf, "\r\n"), resp.body.buf);
        if (!role[0]) rc = mesh_err_set(err, MESH_ENOTFOUND, NULL, "instance metadata: no IAM role attached");
    }
    if (rc == 0) {
        char path[512];
        snprintf(path, sizeof(path), "/latest/meta-data/iam/security-credentials/%s", role);
        rc = imds_get(http, base, path, token, &resp, err);
    }
    if (rc == 0) rc = creds_from_json(resp.body.buf, resp.body.len, "Token", "instance metadata", out, err);
    if (rc == 0) snprintf(out->source, sizeof(out->source), "instance metadata (role %.90s)", role);
    if (resp.body.len) OPENSSL_cleanse(resp.body.buf, resp.body.len);
    http_response_release(&resp);
    if (token) { OPENSSL_cleanse(token, strlen(token)); free(token); }
    return rc;
}

int creds_from_imds(const struct http_client *http, struct aws_creds *out, struct strbuf *looked,
                    struct mesh_err *err)
{
    const char *off = getenv("AWS_EC2_METADATA_DISABLED");
    if (off && strcasecmp(off, "true") == 0) {
        strbuf_adds(looked, "\n  - instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
        return MESH_ENOTFOUND;
    }
    const char *base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base || !*base) base = "http://169.254.169.254";
    char trimmed[512];
    snprintf(trimmed, sizeof(trimmed), "%s", base);
    size_t n = strlen(trimmed);
    while (n && trimmed[n - 1] == '/') trimmed[--n] = '\0';
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = imds_fetch(http, trimmed, out, &e);
    if (rc == 0) return 0;
    /* Not on EC2 (nothing answers) is "not found" for the chain; say why in the list. */
    strbuf_addf(looked, "\n  - instance metadata at %s: %s", trimmed, e.msg);
    return MESH_ENOTFOUND;
}
