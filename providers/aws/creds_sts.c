/* creds_sts.c: temporary credentials from STS: AssumeRole (a profile's role_arn) and
 * AssumeRoleWithWebIdentity (CI runners, pods with IRSA). Query API through aws/client. */
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/query.h"

#define STS_VERSION "2011-06-15"

static int creds_from_reply(xmlDocPtr doc, const char *result, struct aws_creds *out,
                            struct mesh_err *err)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/Credentials", result);
    xmlNodePtr cred = aws_xml_find(xmlDocGetRootElement(doc), path);
    char *ak = aws_xml_text(cred, "AccessKeyId"), *sk = aws_xml_text(cred, "SecretAccessKey");
    char *tok = aws_xml_text(cred, "SessionToken"), *exp = aws_xml_text(cred, "Expiration");
    int rc = 0;
    if (!ak || !sk || !tok) {
        rc = mesh_err_set(err, MESH_ERR, NULL, "sts: the %s reply holds no credentials", result);
    } else {
        aws_creds_set(out, ak, sk, tok);
        out->expires = exp ? aws_parse_time(exp) : 0;
        if (out->expires < 0) out->expires = time(NULL) + 900;
    }
    if (sk) OPENSSL_cleanse(sk, strlen(sk));
    if (tok) OPENSSL_cleanse(tok, strlen(tok));
    free(ak); free(sk); free(tok); free(exp);
    return rc;
}

static void client_for_sts(struct aws_client *c, const struct http_client *http, const char *region)
{
    memset(c, 0, sizeof(*c));
    if (http) c->http = *http;
    else http_client_init(&c->http);
    snprintf(c->region, sizeof(c->region), "%s", region && *region ? region : "us-east-1");
}

static void default_session_name(char *buf, size_t n, const char *given)
{
    if (given && *given) snprintf(buf, n, "%s", given);
    else snprintf(buf, n, "mesh-%ld", (long)time(NULL));
}

int creds_assume_role(const struct http_client *http, const char *region, const struct aws_creds *source,
                      const char *role_arn, const char *session_name, const char *external_id,
                      long duration, struct aws_creds *out, struct mesh_err *err)
{
    struct aws_client c;
    client_for_sts(&c, http, region);
    c.fixed = source;
    char name[128];
    default_session_name(name, sizeof(name), session_name);
    struct aws_query q;
    aws_query_init(&q, "AssumeRole", STS_VERSION);
    q.secret_reply = 1;
    aws_query_add(&q, "RoleArn", role_arn);
    aws_query_add(&q, "RoleSessionName", name);
    if (external_id && *external_id) aws_query_add(&q, "ExternalId", external_id);
    if (duration > 0) aws_query_addf(&q, "DurationSeconds", "%ld", duration);
    xmlDocPtr doc = NULL;
    int rc = aws_query_call(&c, "sts", &q, &doc, err);
    if (rc == 0) rc = creds_from_reply(doc, "AssumeRoleResult", out, err);
    if (rc == 0) snprintf(out->source, sizeof(out->source), "assume role %s", role_arn);
    xmlFreeDoc(doc);
    aws_query_release(&q);
    return rc;
}

static char *read_token_file(const char *path, struct mesh_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mesh_err_set(err, MESH_ERR, NULL, "web identity token file %s: cannot read it", path);
        return NULL;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    char buf[1024];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) strbuf_add(&sb, buf, n);
    fclose(f);
    OPENSSL_cleanse(buf, sizeof(buf));
    while (sb.len && (sb.buf[sb.len - 1] == '\n' || sb.buf[sb.len - 1] == '\r')) sb.buf[--sb.len] = '\0';
    return strbuf_detach(&sb);
}

int creds_assume_role_web_identity(const struct http_client *http, const char *region,
                                   const char *role_arn, const char *token_file,
                                   const char *session_name, struct aws_creds *out,
                                   struct mesh_err *err)
{
    char *token = read_token_file(token_file, err);
    if (!token) return err->code;
    struct aws_client c;
    client_for_sts(&c, http, region);
    char name[128];
    default_session_name(name, sizeof(name), session_name);
    struct aws_query q;
    aws_query_init(&q, "AssumeRoleWithWebIdentity", STS_VERSION);
    q.secret = 1;
    aws_query_add(&q, "RoleArn", role_arn);
    aws_query_add(&q, "RoleSessionName", name);
    aws_query_add(&q, "WebIdentityToken", token);
    OPENSSL_cleanse(token, strlen(token));
    free(token);
    /* Not signed: the token is the proof. aws_query_call signs unless the client has nothing to
     * sign with, so send it directly. */
    struct http_response resp;
    http_response_init(&resp);
    struct aws_send s = { .service = "sts", .method = "POST", .path = "/", .body = q.body.buf,
                          .body_len = q.body.len, .what = "sts AssumeRoleWithWebIdentity",
                          .content_type = "application/x-www-form-urlencoded; charset=utf-8",
                          .secret_body = 1, .secret_reply = 1, .no_sign = 1 };
    int rc = aws_client_send(&c, &s, &resp, err);
    xmlDocPtr doc = NULL;
    if (rc == 0) {
        doc = xmlReadMemory(resp.body.buf, (int)resp.body.len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
        rc = doc ? creds_from_reply(doc, "AssumeRoleWithWebIdentityResult", out, err)
                 : mesh_err_set(err, MESH_ERR, NULL, "sts AssumeRoleWithWebIdentity: the reply is not XML");
    }
    if (rc == 0) snprintf(out->source, sizeof(out->source), "web identity %s", role_arn);
    xmlFreeDoc(doc);
    if (resp.body.len) OPENSSL_cleanse(resp.body.buf, resp.body.len);
    http_response_release(&resp);
    aws_query_release(&q);
    return rc;
}
