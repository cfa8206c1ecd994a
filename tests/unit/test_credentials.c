/* test_credentials.c: the credential chain without a network: environment, profiles from the
 * shared files (credentials file wins, explicit profile skips the environment),
 * credential_process (Version 1, refresh before expiry, bad output), the error that names
 * every place looked at, region resolution, time parsing, and the getter under threads.
 * STS, container and IMDS sources run against stand-ins in tests/e2e/aws_plumbing.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/credentials.h"
#include "aws/endpoint.h"

static char dir[256];

static void write_file(const char *name, const char *text, int mode)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
}

static const char *const vars[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", NULL,
};

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/mesh-test-creds-XXXXXX");
    assert_non_null(mkdtemp(dir));
    for (int i = 0; vars[i]; i++) unsetenv(vars[i]);
    char p[512];
    snprintf(p, sizeof(p), "%s/credentials", dir);
    setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
    snprintf(p, sizeof(p), "%s/config", dir);
    setenv("AWS_CONFIG_FILE", p, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int get_once(const char *profile, struct aws_creds *out, struct mesh_err *err)
{
    struct aws_credentials_config cfg = { .profile = profile, .region = "us-east-1" };
    struct aws_credentials *p = aws_credentials_new(&cfg);
    memset(out, 0, sizeof(*out));
    int rc = aws_credentials_get(p, out, err);
    aws_credentials_free(p);
    return rc;
}

static void test_env(void **state)
{
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    write_file("credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = filesecret\n", 0600);
    struct aws_creds c;
    assert_int_equal(get_once(NULL, &c, NULL), 0);
    assert_string_equal(c.access_key, "AKIAENV");
    assert_string_equal(c.secret_key, "envsecret");
    assert_string_equal(c.session_token, "envtoken");
    assert_string_equal(c.source, "environment");
    aws_creds_clear(&c);
    assert_null(c.secret_key);
    /* An explicit profile skips the environment, as the AWS CLI's --profile does. */
    assert_int_equal(get_once("default", &c, NULL), 0);
    assert_string_equal(c.access_key, "AKIAFILE");
    assert_null(c.session_token);
    aws_creds_clear(&c);
}

static void test_profiles(void **state)
{
    write_file("credentials", "[dev]\naws_access_key_id = AKIACRED\naws_secret_access_key = credsecret\n", 0600);
    write_file("config", "[profile dev]\naws_access_key_id = AKIACONF\naws_secret_access_key = confsecret\nregion = eu-west-3\n"
                         "[profile other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = othersecret\n", 0600);
    setenv("AWS_PROFILE", "dev", 1);
    struct aws_creds c;
    assert_int_equal(get_once(NULL, &c, NULL), 0);
    assert_string_equal(c.access_key, "AKIACRED");  /* the credentials file wins */
    assert_string_equal(c.source, "profile dev");
    aws_creds_clear(&c);
    assert_int_equal(get_once("other", &c, NULL), 0);  /* explicit beats AWS_PROFILE */
    assert_string_equal(c.access_key, "AKIAOTHER");
    aws_creds_clear(&c);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(get_once("nope", &c, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "AWS profile 'nope' not found in"));
    char *region = NULL;
    assert_int_equal(aws_region_resolve(NULL, NULL, &region, NULL), 0);
    assert_string_equal(region, "eu-west-3");
    free(region);
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    assert_int_equal(aws_region_resolve(NULL, NULL, &region, NULL), 0);
    assert_string_equal(region, "ap-south-1");
    free(region);
    setenv("AWS_REGION", "us-west-2", 1);
    assert_int_equal(aws_region_resolve(NULL, NULL, &region, NULL), 0);
    assert_string_equal(region, "us-west-2");
    free(region);
    assert_int_equal(aws_region_resolve("sa-east-1", NULL, &region, NULL), 0);
    assert_string_equal(region, "sa-east-1");
    free(region);
}

static void test_role_without_source(void **state)
{
    write_file("config", "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\n", 0600);
    struct aws_creds c;
    memset(&c, 0, sizeof(c));
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(get_once("r", &c, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "profile r has role_arn but no source_profile"));
}

static void write_process(const char *expiration, int version)
{
    char script[1024], cfg[1024];
    snprintf(script, sizeof(script),
             "#!/bin/sh\necho x >> '%s/calls'\n"
             "printf '{\"Version\": %d, \"AccessKeyId\": \"AKIAPROC\", \"SecretAccessKey\": \"procsecret\", "
             "\"SessionToken\": \"proctoken\", \"Expiration\": \"%s\"}'\n", dir, version, expiration);
    write_file("proc.sh", script, 0700);
    snprintf(cfg, sizeof(cfg), "[default]\ncredential_process = %s/proc.sh\n", dir);
    write_file("config", cfg, 0600);
}

static int count_calls(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/calls", dir);
    FILE *f = fopen(path, "r");
    int n = 0;
    for (int ch; f && (ch = fgetc(f)) != EOF;) n += ch == '\n';
    if (f) fclose(f);
    return n;
}

static void test_process_and_refresh(void **state)
{
    write_process("2099-01-01T00:00:00Z", 1);
    struct aws_credentials *p = aws_credentials_new(NULL);
    struct aws_creds c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(aws_credentials_get(p, &c, NULL), 0);
    assert_string_equal(c.access_key, "AKIAPROC");
    assert_string_equal(c.session_token, "proctoken");
    assert_int_equal(c.expires, 4070908800);
    aws_creds_clear(&c);
    assert_int_equal(aws_credentials_get(p, &c, NULL), 0);  /* cached: far from expiry */
    aws_creds_clear(&c);
    assert_int_equal(count_calls(), 1);
    aws_credentials_free(p);

    /* Expiring within the refresh window: every get refreshes. */
    char soon[32];
    time_t t = time(NULL) + 120;
    strftime(soon, sizeof(soon), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    write_process(soon, 1);
    p = aws_credentials_new(NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(aws_credentials_get(p, &c, NULL), 0);
        aws_creds_clear(&c);
    }
    assert_int_equal(aws_credentials_resolutions(p), 3);
    assert_int_equal(count_calls(), 4);
    aws_credentials_free(p);

    write_process("2099-01-01T00:00:00Z", 2);
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(get_once(NULL, &c, &err), MESH_ERR);
    assert_non_null(strstr(err.msg, "expected \"Version\": 1"));
}

static void *getter(void *p)
{
    struct aws_creds c;
    memset(&c, 0, sizeof(c));
    for (int i = 0; i < 50; i++) {
        if (aws_credentials_get(p, &c, NULL) != 0 || strcmp(c.access_key, "AKIAPROC") != 0) return (void *)1;
        aws_creds_clear(&c);
    }
    return NULL;
}

static void test_threads(void **state)
{
    write_process("2099-01-01T00:00:00Z", 1);
    struct aws_credentials *p = aws_credentials_new(NULL);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, getter, p);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    assert_int_equal(aws_credentials_resolutions(p), 1);
    aws_credentials_free(p);
}

static void test_missing_names_every_place(void **state)
{
    struct aws_creds c;
    memset(&c, 0, sizeof(c));
    struct mesh_err err;
    mesh_err_init(&err);
    assert_int_equal(get_once(NULL, &c, &err), MESH_ENOTFOUND);
    const char *want[] = { "no AWS credentials found; looked at:", "environment: AWS_ACCESS_KEY_ID",
                           "web identity: AWS_WEB_IDENTITY_TOKEN_FILE", "profile default in ",
                           "/credentials (absent)", "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           "instance metadata: disabled by AWS_EC2_METADATA_DISABLED", NULL };
    for (int i = 0; want[i]; i++) {
        if (!strstr(err.msg, want[i])) print_error("missing '%s' in:\n%s\n", want[i], err.msg);
        assert_non_null(strstr(err.msg, want[i]));
    }
    /* With IMDS on but nothing listening, the reason is in the list too (and it is quick). */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1", 1);
    setenv("MESH_BACKOFF_SCALE", "0.01", 1);
    mesh_err_init(&err);
    assert_int_equal(get_once(NULL, &c, &err), MESH_ENOTFOUND);
    assert_non_null(strstr(err.msg, "instance metadata at http://127.0.0.1:1: "));
    unsetenv("MESH_BACKOFF_SCALE");
}

static void test_parse_time(void **state)
{
    assert_int_equal(aws_parse_time("2015-08-30T12:36:00Z"), 1440938160);
    assert_int_equal(aws_parse_time("2015-08-30T12:36:00.123Z"), 1440938160);
    assert_int_equal(aws_parse_time("2015-08-30T14:36:00+02:00"), 1440938160);
    assert_int_equal(aws_parse_time("yesterday"), -1);
}

static int teardown_all(void **state)
{
    http_thread_release();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_profiles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_role_without_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_and_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_names_every_place, setup, teardown),
        cmocka_unit_test(test_parse_time),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
