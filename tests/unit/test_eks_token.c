/* test_eks_token.c: the EKS token (providers/aws/eks_token.h) equals, byte for byte, the token
 * the AWS CLI on the image makes for the same credentials, region, cluster and second; the URL
 * inside carries what EKS's authenticator checks; the token is wiped when released.
 *
 * The fixtures were made by the CLI itself (aws-cli/1.45.11, botocore/1.43.11) with its clock
 * frozen by tests/unit/data/eks_token/aws_at.py (see there; the CLI's own code path otherwise):
 *
 *   env -i PATH="$PATH" HOME=/nonexistent AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
 *       AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY [EXTRA_ENV] \
 *       python3 tests/unit/data/eks_token/aws_at.py 1764930896 \
 *       eks get-token --output json --cluster-name CLUSTER --region REGION
 *
 * with, per fixture, CLUSTER / REGION / EXTRA_ENV as named beside it. tests/e2e/eks_token.sh
 * compares with the unpatched CLI at the current time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/eks_token.h"
#include "aws/provider.h"
#include "base/strbuf.h"
#include "base/wipe.h"
#include "base/xalloc.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define ST "FwoGZXIvYXdzEBYaDH+Ex/ample+token/Value=="
#define WHEN ((time_t)1764930896)   /* 2025-12-05T10:34:56Z */
/* The CLI's expirationTimestamp for WHEN, in every fixture. */
#define CLI_EXPIRATION "2025-12-05T10:48:56Z"

/* cluster-1, eu-west-1, long-term keys. */
static const char token_long_term[] =
    "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9u"
    "PTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lBSU9TRk9ETk43RVhB"
    "TVBMRSUyRjIwMjUxMjA1JTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNTEyMDVUMTAzNDU2WiZY"
    "LUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9Y2RjMTQz"
    "MGQ4NjdjZDczZWFkZWFmZTI2YTM0NzNhZDg0OTkyOWNiYTA5NmE0MjIzZTc3ZjZkNTQ2MWMyNWFmYw";

/* cluster-2, us-east-1, temporary credentials: EXTRA_ENV AWS_SESSION_TOKEN=ST. */
static const char token_session[] =
    "k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uP"
    "TIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lBSU9TRk9ETk43RVhBT"
    "VBMRSUyRjIwMjUxMjA1JTJGdXMtZWFzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNTEyMDVUMTAzNDU2WiZYL"
    "UFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj1Gd"
    "29HWlhJdllYZHpFQllhREglMkJFeCUyRmFtcGxlJTJCdG9rZW4lMkZWYWx1ZSUzRCUzRCZYLUFtei1TaWduYXR1cmU9YmUwY2Q2ZTc2M"
    "mJhNTRlMDI4ODhlZjQxMzhmZjhlOTBjYjk3MzRkNzhmMTcwYzUxMDUxNmE5OGFhYWRhM2JmZA";

/* cluster-1, us-west-2, EXTRA_ENV AWS_ENDPOINT_URL_STS=http://127.0.0.1:4566 (an emulator). */
static const char token_endpoint[] =
    "k8s-aws-v1.aHR0cDovLzEyNy4wLjAuMTo0NTY2Lz9BY3Rpb249R2V0Q2FsbGVySWRlbnRpdHkmVmVyc2lvbj0yMDExLTA2LTE1JlgtQ"
    "W16LUFsZ29yaXRobT1BV1M0LUhNQUMtU0hBMjU2JlgtQW16LUNyZWRlbnRpYWw9QUtJQUlPU0ZPRE5ON0VYQU1QTEUlMkYyMDI1MTIwN"
    "SUyRnVzLXdlc3QtMiUyRnN0cyUyRmF3czRfcmVxdWVzdCZYLUFtei1EYXRlPTIwMjUxMjA1VDEwMzQ1NlomWC1BbXotRXhwaXJlcz02M"
    "CZYLUFtei1TaWduZWRIZWFkZXJzPWhvc3QlM0J4LWs4cy1hd3MtaWQmWC1BbXotU2lnbmF0dXJlPTQwOGYwNTc3YjI5NWYxYTY1YjgyZ"
    "WJhMDQ2YzU1MDU0ZWY4YmU4MGY3NTQxYTBhY2E1NmU3NzY3OTEzMjkyZTc";

static void clean_env(void)
{
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_STS");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
}

static void make(const struct aws_creds *c, const char *region, const char *cluster,
                 struct aws_eks_token *t)
{
    struct mesh_err err;
    mesh_err_init(&err);
    int rc = aws_eks_token(c, region, cluster, WHEN, t, &err);
    if (rc != 0) fail_msg("aws_eks_token: %s", err.msg);
}

static void assert_expires_as_cli(time_t expires)
{
    char iso[32];
    struct tm tm;
    gmtime_r(&expires, &tm);
    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    assert_string_equal(iso, CLI_EXPIRATION);
    assert_int_equal(expires, WHEN + 14 * 60);
}

static void test_cli_long_term_keys(void **state)
{
    clean_env();
    struct aws_creds c = { .access_key = AK, .secret_key = SK };
    struct aws_eks_token t;
    make(&c, "eu-west-1", "cluster-1", &t);
    assert_string_equal(t.token, token_long_term);
    assert_expires_as_cli(t.expires);
    aws_eks_token_release(&t);
    assert_null(t.token);
    aws_eks_token_release(&t);  /* twice is fine */
}

static void test_cli_session_token(void **state)
{
    clean_env();
    struct aws_creds c = { .access_key = AK, .secret_key = SK, .session_token = ST };
    struct aws_eks_token t;
    make(&c, "us-east-1", "cluster-2", &t);
    assert_string_equal(t.token, token_session);
    assert_expires_as_cli(t.expires);
    aws_eks_token_release(&t);
}

static void test_cli_endpoint_override(void **state)
{
    clean_env();
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566", 1);
    struct aws_creds c = { .access_key = AK, .secret_key = SK };
    struct aws_eks_token t;
    make(&c, "us-west-2", "cluster-1", &t);
    assert_string_equal(t.token, token_endpoint);
    aws_eks_token_release(&t);
    clean_env();
}

/* ---- the URL inside: decoded independently of the code under test ---- */

/* base64url without padding -> the URL (malloc'd). */
static char *decode(const char *token)
{
    const char *prefix = "k8s-aws-v1.";
    assert_memory_equal(token, prefix, strlen(prefix));
    const char *b = token + strlen(prefix);
    assert_null(strpbrk(b, "+/="));  /* url-safe alphabet, no padding */
    struct strbuf std = STRBUF_INIT;
    strbuf_init(&std);
    for (const char *p = b; *p; p++) strbuf_addch(&std, *p == '-' ? '+' : *p == '_' ? '/' : *p);
    while (std.len % 4) strbuf_addch(&std, '=');
    unsigned char *url = xcalloc(1, std.len);
    int n = EVP_DecodeBlock(url, (unsigned char *)std.buf, (int)std.len);
    assert_true(n > 0);
    strbuf_release(&std);
    return (char *)url;
}

/* The value of query parameter name in url (malloc'd), NULL when absent. */
static char *param(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    assert_non_null(q);
    size_t n = strlen(name);
    for (const char *p = q + 1; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            const char *end = strchr(p, '&');
            return end ? xstrndup(p + n + 1, (size_t)(end - p - n - 1)) : xstrdup(p + n + 1);
        }
    }
    return NULL;
}

static void assert_param(const char *url, const char *name, const char *want)
{
    char *v = param(url, name);
    if (!want) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void test_url_parameters(void **state)
{
    clean_env();
    struct aws_creds c = { .access_key = AK, .secret_key = SK, .session_token = ST };
    struct aws_eks_token t;
    make(&c, "ap-southeast-2", "prod-eks", &t);
    char *url = decode(t.token);
    const char *host = "https://sts.ap-southeast-2.amazonaws.com/?";
    assert_memory_equal(url, host, strlen(host));
    assert_param(url, "Action", "GetCallerIdentity");
    assert_param(url, "Version", "2011-06-15");
    assert_param(url, "X-Amz-Algorithm", "AWS4-HMAC-SHA256");
    assert_param(url, "X-Amz-Expires", "60");
    assert_param(url, "X-Amz-SignedHeaders", "host%3Bx-k8s-aws-id");
    assert_param(url, "X-Amz-Credential", AK "%2F20251205%2Fap-southeast-2%2Fsts%2Faws4_request");
    assert_param(url, "X-Amz-Date", "20251205T103456Z");
    assert_param(url, "X-Amz-Security-Token", "FwoGZXIvYXdzEBYaDH%2BEx%2Fample%2Btoken%2FValue%3D%3D");
    char *sig = param(url, "X-Amz-Signature");
    assert_non_null(sig);
    assert_int_equal(strlen(sig), 64);
    assert_int_equal(strspn(sig, "0123456789abcdef"), 64);
    /* The signature is the last parameter, as the CLI writes it. */
    assert_string_equal(strstr(url, "&X-Amz-Signature=") + strlen("&X-Amz-Signature="), sig);
    free(sig);
    free(url);

    /* The cluster name is signed in: another cluster, another signature. */
    struct aws_eks_token other;
    make(&c, "ap-southeast-2", "prod-eks2", &other);
    char *u2 = decode(other.token);
    char *s1 = NULL, *s2 = param(u2, "X-Amz-Signature");
    url = decode(t.token);
    s1 = param(url, "X-Amz-Signature");
    assert_string_not_equal(s1, s2);
    free(s1);
    free(s2);
    free(u2);
    free(url);
    aws_eks_token_release(&other);

    /* Long-term keys: no X-Amz-Security-Token at all. */
    struct aws_creds lt = { .access_key = AK, .secret_key = SK };
    struct aws_eks_token t3;
    make(&lt, "ap-southeast-2", "prod-eks", &t3);
    url = decode(t3.token);
    assert_param(url, "X-Amz-Security-Token", NULL);
    free(url);
    aws_eks_token_release(&t3);
    aws_eks_token_release(&t);
}

/* ---- the provider-handle variant: its credentials (fixed or the chain) and region ---- */

static void test_handle_fixed_creds(void **state)
{
    clean_env();
    struct aws_creds c = { .access_key = AK, .secret_key = SK };
    struct aws_handle h;
    memset(&h, 0, sizeof(h));
    h.client.fixed = &c;
    snprintf(h.client.region, sizeof(h.client.region), "eu-west-1");
    struct aws_eks_token t;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_eks_token_for(&h, "cluster-1", WHEN, &t, &err), 0);
    assert_string_equal(t.token, token_long_term);
    aws_eks_token_release(&t);
}

static void test_handle_credentials_chain(void **state)
{
    clean_env();
    setenv("AWS_ACCESS_KEY_ID", AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SK, 1);
    setenv("AWS_SESSION_TOKEN", ST, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    struct aws_credentials_config cfg = { .region = "us-east-1" };
    struct aws_handle h;
    memset(&h, 0, sizeof(h));
    h.client.creds = aws_credentials_new(&cfg);
    snprintf(h.client.region, sizeof(h.client.region), "us-east-1");
    struct aws_eks_token t;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_eks_token_for(&h, "cluster-2", WHEN, &t, &err), 0);
    assert_string_equal(t.token, token_session);
    aws_eks_token_release(&t);

    /* No credentials anywhere: the chain's error, no token. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    setenv("HOME", "/nonexistent", 1);
    setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);
    aws_credentials_free(h.client.creds);
    h.client.creds = aws_credentials_new(&cfg);
    mesh_err_init(&err);
    assert_true(aws_eks_token_for(&h, "cluster-2", WHEN, &t, &err) < 0);
    assert_null(t.token);
    assert_true(mesh_err_isset(&err));
    aws_credentials_free(h.client.creds);
}

/* ---- errors and wiping ---- */

static void test_errors(void **state)
{
    clean_env();
    struct aws_creds c = { .access_key = AK, .secret_key = SK };
    struct aws_eks_token t;
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(aws_eks_token(&c, "eu-west-1", "", WHEN, &t, &err), MESH_EINVAL);
    assert_null(t.token);
    mesh_err_init(&err);
    struct aws_creds none = { 0 };
    assert_int_equal(aws_eks_token(&none, "eu-west-1", "cluster-1", WHEN, &t, &err), MESH_EINVAL);
    assert_null(strstr(err.msg, SK));
    mesh_err_init(&err);
    assert_int_equal(aws_eks_token(&c, "", "cluster-1", WHEN, &t, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "no region for sts"));
    assert_null(t.token);
}

static size_t freed_size;
static int freed_zero;

static void check_free(void *p, size_t size)
{
    const unsigned char *b = p;
    freed_zero = 1;
    for (size_t i = 0; i < size; i++) freed_zero &= b[i] == 0;
    freed_size = size;
    free(p);
}

static void test_release_wipes(void **state)
{
    clean_env();
    struct aws_creds c = { .access_key = AK, .secret_key = SK };
    struct aws_eks_token t;
    make(&c, "eu-west-1", "cluster-1", &t);
    size_t len = strlen(t.token);
    wipe_set_free_hook(check_free);
    aws_eks_token_release(&t);
    wipe_set_free_hook(NULL);
    assert_true(freed_size > len);
    assert_true(freed_zero);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_long_term_keys),
        cmocka_unit_test(test_cli_session_token),
        cmocka_unit_test(test_cli_endpoint_override),
        cmocka_unit_test(test_url_parameters),
        cmocka_unit_test(test_handle_fixed_creds),
        cmocka_unit_test(test_handle_credentials_chain),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_release_wipes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
