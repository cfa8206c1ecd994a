/* test_auth_hook.c: the "eks" authentication hook as the engine reaches it (auth_hook_token, by
 * name, through the registry: what `mesh token` and the Kubernetes provider call). Its token is
 * the one aws_eks_token makes for the same keys, region, cluster and second; the connection's
 * region wins over the mesh: section's, whose profile picks the keys; expiry is now + 14 min;
 * errors name what is missing and carry no secret; release forgets the token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/eks_token.h"
#include "driver.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define PAK "AKIAPROFILEEXAMPLE01"
#define PSK "profile/secret+key"

static char dir[] = "/tmp/test_auth_hook.XXXXXX";

static void env_keys(void)
{
    setenv("AWS_ACCESS_KEY_ID", AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", SK, 1);
}

static int setup(void **state)
{
    if (!mkdtemp(dir)) return -1;
    char path[256];
    snprintf(path, sizeof(path), "%s/config", dir);
    FILE *f = fopen(path, "w");
    fputs("[profile eks-p]\nregion = ap-southeast-2\n", f);
    fclose(f);
    setenv("AWS_CONFIG_FILE", path, 1);
    snprintf(path, sizeof(path), "%s/credentials", dir);
    f = fopen(path, "w");
    fputs("[eks-p]\naws_access_key_id = " PAK "\naws_secret_access_key = " PSK "\n", f);
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    setenv("HOME", dir, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    const char *unset[] = {"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION",
                           "AWS_DEFAULT_REGION", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", NULL};
    for (int i = 0; unset[i]; i++) unsetenv(unset[i]);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    provider_close_all();
    return system(cmd) == 0 ? 0 : -1;
}

/* The URL inside a k8s-aws-v1 token (caller frees). */
static char *token_url(const char *token)
{
    assert_int_equal(strncmp(token, "k8s-aws-v1.", 11), 0);
    const char *b = token + 11;
    size_t n = strlen(b), padded = (n + 3) / 4 * 4;
    char *s = calloc(1, padded + 1);
    for (size_t i = 0; i < padded; i++) s[i] = i < n ? (b[i] == '-' ? '+' : b[i] == '_' ? '/' : b[i]) : '=';
    unsigned char *out = calloc(1, padded);
    int len = EVP_DecodeBlock(out, (unsigned char *)s, (int)padded);
    assert_true(len > 0);
    free(s);
    return (char *)out;
}

static json_t *params(const char *cluster, const char *region)
{
    json_t *p = json_object();
    if (cluster) json_object_set_new(p, "cluster_name", json_string(cluster));
    if (region) json_object_set_new(p, "region", json_string(region));
    return p;
}

/* The hook's token for (cluster, region) under the mesh: section config, checked against
 * aws_eks_token with the keys it should have used, in the second it was made. */
static void expect_token(const json_t *mesh, const char *cluster, const char *region, const char *want_region,
                         const char *key, const char *secret)
{
    provider_configure(mesh);
    json_t *p = params(cluster, region);
    struct auth_token t;
    struct mesh_err err;
    mesh_err_init(&err);
    time_t before = time(NULL);
    int rc = auth_hook_token("eks", p, &t, &err);
    time_t after = time(NULL);
    if (rc) fail_msg("auth_hook_token: %s: %s", err.where, err.msg);
    assert_non_null(t.secret);
    time_t made = (time_t)t.expires - AWS_EKS_TOKEN_LIFETIME;
    assert_true(made >= before && made <= after);
    struct aws_creds c = {.access_key = (char *)key, .secret_key = (char *)secret};
    struct aws_eks_token want;
    assert_int_equal(aws_eks_token(&c, want_region, cluster, made, &want, &err), 0);
    assert_string_equal(t.secret, want.token);
    char *url = token_url(t.secret), host[128];
    snprintf(host, sizeof(host), "https://sts.%s.amazonaws.com/?Action=GetCallerIdentity&", want_region);
    assert_int_equal(strncmp(url, host, strlen(host)), 0);
    assert_non_null(strstr(url, "X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"));
    free(url);
    aws_eks_token_release(&want);
    auth_token_release(&t);
    assert_null(t.secret);
    assert_int_equal(t.expires, 0);
    json_decref(p);
}

static void test_env_keys_connection_region(void **state)
{
    env_keys();
    expect_token(NULL, "c1", "eu-west-1", "eu-west-1", AK, SK);
    /* the connection's region wins over the mesh: section's */
    json_t *mesh = json_pack("{s:s}", "region", "us-east-1");
    expect_token(mesh, "mesh-c2", "eu-central-1", "eu-central-1", AK, SK);
    /* without one in the connection, the mesh: section's */
    expect_token(mesh, "mesh-c2", NULL, "us-east-1", AK, SK);
    json_decref(mesh);
}

static void test_profile_of_mesh_section(void **state)
{
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    json_t *mesh = json_pack("{s:s}", "profile", "eks-p");
    expect_token(mesh, "prod", "us-west-2", "us-west-2", PAK, PSK);
    expect_token(mesh, "prod", NULL, "ap-southeast-2", PAK, PSK);  /* the profile's region */
    json_decref(mesh);
}

static void test_errors(void **state)
{
    env_keys();
    provider_configure(NULL);
    struct auth_token t;
    struct mesh_err err;
    mesh_err_init(&err);
    json_t *p = params("c1", "eu-west-1");
    assert_int_equal(auth_hook_token("gke", p, &t, &err), MESH_ERR);
    assert_string_equal(err.msg, "no authentication hook named \"gke\" is built in");
    assert_null(t.secret);
    json_decref(p);

    p = params(NULL, "eu-west-1");
    mesh_err_init(&err);
    assert_int_equal(auth_hook_token("eks", p, &t, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "names no EKS cluster"));
    assert_null(t.secret);
    json_decref(p);

    /* no credentials anywhere: the chain's error, no token, no secret in the message */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    p = params("c1", "eu-west-1");
    mesh_err_init(&err);
    assert_true(auth_hook_token("eks", p, &t, &err) < 0);
    assert_true(mesh_err_isset(&err));
    assert_null(t.secret);
    assert_null(strstr(err.msg, PSK));
    json_decref(p);

    /* a profile the files do not have */
    env_keys();
    json_t *mesh = json_pack("{s:s}", "profile", "nope");
    provider_configure(mesh);
    p = params("c1", "eu-west-1");
    mesh_err_init(&err);
    assert_true(auth_hook_token("eks", p, &t, &err) < 0);
    assert_non_null(strstr(err.msg, "nope"));
    assert_null(t.secret);
    json_decref(p);
    json_decref(mesh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_keys_connection_region),
        cmocka_unit_test(test_profile_of_mesh_section),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
