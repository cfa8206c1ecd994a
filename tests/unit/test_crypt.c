/* test_crypt.c: AES-256-GCM values and the state key: round trips, associated data, tampering,
 * MESH_STATE_KEY validation, the key file (created 0600 on first use, reused, refused when others
 * can read it), and concurrent use of the key cache. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/wipe.h"
#include "store_fixture.h"

#define LINEAGE "0b7e8a4c-1111-4222-8333-444455556666"
#define KEY1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static json_t *roundtrip(struct fixture *f, const char *aad_in, const char *aad_out, json_t *v, int *rc)
{
    json_t *enc = NULL, *dec = NULL;
    assert_int_equal(crypt_encrypt_value(LINEAGE, aad_in, v, &enc, &f->err), 0);
    assert_true(crypt_is_encrypted(enc));
    *rc = crypt_decrypt_value(LINEAGE, aad_out, enc, &dec, &f->err);
    json_decref(enc);
    return dec;
}

static void test_roundtrip_any_json(void **state)
{
    struct fixture *f = *state;
    const char *values[] = {"\"s3cret\"", "{\"a\":[1,2,{\"b\":null}]}", "42", "null", "true", "\"\"",
                            "\"caf\\u00e9 \\u2603\""};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        json_t *v = json_loads(values[i], JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        int rc = -1;
        json_t *back = roundtrip(f, "x.y/attr", "x.y/attr", v, &rc);
        assert_int_equal(rc, 0);
        assert_true(json_equal(v, back));
        json_decref(v);
        json_decref(back);
    }
}

static void test_is_encrypted(void **state)
{
    (void)state;
    json_t *a = json_pack("{s:s}", "$enc", "abcd");
    json_t *b = json_pack("{s:s,s:i}", "$enc", "abcd", "x", 1);
    json_t *c = json_pack("{s:i}", "$enc", 1);
    json_t *d = json_string("$enc");
    assert_true(crypt_is_encrypted(a));
    assert_false(crypt_is_encrypted(b));
    assert_false(crypt_is_encrypted(c));
    assert_false(crypt_is_encrypted(d));
    assert_false(crypt_is_encrypted(NULL));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
}

static void test_aad_mismatch_fails(void **state)
{
    struct fixture *f = *state;
    json_t *v = json_string("s3cret");
    int rc = 0;
    json_t *back = roundtrip(f, "null_resource.a/password", "null_resource.b/password", v, &rc);
    assert_int_equal(rc, MESH_ERR);
    assert_null(back);
    assert_non_null(strstr(f->err.msg, "cannot decrypt"));
    assert_non_null(strstr(f->err.msg, "key file"));
    mesh_err_clear(&f->err);
    back = roundtrip(f, "null_resource.a/password", "null_resource.a/token", v, &rc);
    assert_int_equal(rc, MESH_ERR);
    assert_null(back);
    json_decref(v);
}

static void test_tampering_fails_and_iv_is_fresh(void **state)
{
    struct fixture *f = *state;
    json_t *v = json_string("same value");
    json_t *e1 = NULL, *e2 = NULL, *dec = NULL;
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &e1, &f->err), 0);
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &e2, &f->err), 0);
    assert_string_not_equal(json_string_value(json_object_get(e1, "$enc")),
                            json_string_value(json_object_get(e2, "$enc")));
    char *text = strdup(json_string_value(json_object_get(e1, "$enc")));
    text[20] = text[20] == 'A' ? 'B' : 'A';
    json_object_set_new(e1, "$enc", json_string(text));
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", e1, &dec, &f->err), MESH_ERR);
    mesh_err_clear(&f->err);
    json_object_set_new(e1, "$enc", json_string("QUJD"));   /* too short */
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", e1, &dec, &f->err), MESH_ERR);
    assert_non_null(strstr(f->err.msg, "damaged"));
    mesh_err_clear(&f->err);
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", v, &dec, &f->err), MESH_EINVAL);
    free(text);
    json_decref(e1);
    json_decref(e2);
    json_decref(v);
}

static void test_env_key_validation(void **state)
{
    struct fixture *f = *state;
    json_t *v = json_string("x"), *enc = NULL, *dec = NULL;
    const char *bad[] = {"short", "AAECAwQFBgcICQoLDA0ODw==" /* 16 bytes */, "!!!!", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ=="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("MESH_STATE_KEY", bad[i], 1);
        mesh_err_clear(&f->err);
        assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc, &f->err), MESH_EINVAL);
        assert_null(enc);
        assert_non_null(strstr(f->err.msg, "MESH_STATE_KEY must be the base64 of exactly 32 bytes"));
    }
    mesh_err_clear(&f->err);
    setenv("MESH_STATE_KEY", " " KEY1 "\n", 1);    /* whitespace around is fine */
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc, &f->err), 0);
    setenv("MESH_STATE_KEY", KEY1, 1);
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", enc, &dec, &f->err), 0);
    assert_true(json_equal(v, dec));
    json_decref(dec);
    /* a key file is used when the variable is unset: another key, so decryption fails and says so */
    unsetenv("MESH_STATE_KEY");
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", enc, &dec, &f->err), MESH_ERR);
    assert_non_null(strstr(f->err.msg, "no state key was found"));   /* reading never creates one */
    mesh_err_clear(&f->err);
    json_t *other = NULL;
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/c", v, &other, &f->err), 0);   /* this does */
    json_decref(other);
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", enc, &dec, &f->err), MESH_ERR);
    assert_non_null(strstr(f->err.msg, "with the state key from key file"));
    assert_non_null(strstr(f->err.msg, LINEAGE ".key"));
    json_decref(enc);
    json_decref(v);
}

static void key_path(struct fixture *f, char *buf, size_t n, int xdg)
{
    if (xdg)
        snprintf(buf, n, "%s/config/mesh/keys/%s.key", f->dir, LINEAGE);
    else
        snprintf(buf, n, "%s/home/.config/mesh/keys/%s.key", f->dir, LINEAGE);
}

static void test_key_file_created_private_and_reused(void **state)
{
    struct fixture *f = *state;
    json_t *v = json_string("x"), *enc = NULL, *dec = NULL;
    char path[512], dir[512];
    key_path(f, path, sizeof(path), 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc, &f->err), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    snprintf(dir, sizeof(dir), "%s/config/mesh/keys", f->dir);
    assert_int_equal(stat(dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    size_t len = 0;
    char *key1 = fixture_slurp(path, &len);
    assert_int_equal(len, 45);      /* 44 base64 characters and a newline */

    crypt_release();                /* as a new process would: read the file again */
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", enc, &dec, &f->err), 0);
    assert_true(json_equal(v, dec));
    json_decref(dec);
    char *key2 = fixture_slurp(path, NULL);
    assert_string_equal(key1, key2);
    free(key1);
    free(key2);

    /* the same key works as MESH_STATE_KEY */
    char *text = fixture_slurp(path, NULL);
    setenv("MESH_STATE_KEY", text, 1);
    free(text);
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", enc, &dec, &f->err), 0);
    json_decref(dec);
    unsetenv("MESH_STATE_KEY");

    /* without XDG_CONFIG_HOME: ~/.config */
    unsetenv("XDG_CONFIG_HOME");
    json_t *enc2 = NULL;
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc2, &f->err), 0);
    key_path(f, path, sizeof(path), 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    json_decref(enc2);
    json_decref(enc);
    json_decref(v);
}

static void test_key_file_readable_by_others_refused(void **state)
{
    struct fixture *f = *state;
    json_t *v = json_string("x"), *enc = NULL;
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc, &f->err), 0);
    json_decref(enc);
    enc = NULL;
    char path[512];
    key_path(f, path, sizeof(path), 1);
    assert_int_equal(chmod(path, 0644), 0);
    crypt_release();
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc, &f->err), MESH_ERR);
    assert_non_null(strstr(f->err.msg, "chmod 600"));
    mesh_err_clear(&f->err);
    /* a damaged key file */
    assert_int_equal(chmod(path, 0600), 0);
    FILE *fp = fopen(path, "w");
    fputs("garbage\n", fp);
    fclose(fp);
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc, &f->err), MESH_ERR);
    assert_non_null(strstr(f->err.msg, "does not hold base64 of 32 bytes"));
    json_decref(v);
}

static void *hammer(void *arg)
{
    long failures = 0;
    char aad[64];
    for (int i = 0; i < 200; i++) {
        struct mesh_err e;
        mesh_err_init(&e);
        snprintf(aad, sizeof(aad), "t%ld/%d", (long)(intptr_t)arg, i);
        json_t *v = json_integer(i), *enc = NULL, *dec = NULL;
        if (crypt_encrypt_value(LINEAGE, aad, v, &enc, &e) != 0 ||
            crypt_decrypt_value(LINEAGE, aad, enc, &dec, &e) != 0 || !json_equal(v, dec))
            failures++;
        if (i % 50 == 0) crypt_release();
        json_decref(v);
        json_decref(enc);
        json_decref(dec);
    }
    return (void *)(intptr_t)failures;
}

static void test_threads_share_the_key(void **state)
{
    (void)state;
    pthread_t t[4];
    for (intptr_t i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *failures = NULL;
        pthread_join(t[i], &failures);
        assert_int_equal((intptr_t)failures, 0);
    }
}

static int notices;
static char last_notice[1024];
static void count_notice(const char *msg)
{
    notices++;
    snprintf(last_notice, sizeof(last_notice), "%s", msg);
}

/* Reading never creates a key: without one it says where it looked. Encrypting creates it, and
 * says where, once. */
static void test_decrypt_never_creates_a_key(void **state)
{
    struct fixture *f = *state;
    notices = 0;
    crypt_set_notice(count_notice);
    char path[512];
    snprintf(path, sizeof(path), "%s/config/mesh/keys/%s.key", f->dir, LINEAGE);
    /* a value encrypted under some key, then the key is gone */
    json_t *v = json_string("s3cret"), *enc = NULL, *dec = NULL;
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/b", v, &enc, &f->err), 0);
    assert_int_equal(notices, 1);
    assert_non_null(strstr(last_notice, "created a new state key at "));
    assert_non_null(strstr(last_notice, path));
    assert_int_equal(crypt_encrypt_value(LINEAGE, "a/c", v, &dec, &f->err), 0);   /* reused: silent */
    json_decref(dec);
    dec = NULL;
    assert_int_equal(notices, 1);
    assert_int_equal(unlink(path), 0);
    crypt_release();
    assert_int_equal(crypt_decrypt_value(LINEAGE, "a/b", enc, &dec, &f->err), MESH_ERR);
    assert_null(dec);
    assert_non_null(strstr(f->err.msg, "holds encrypted values, but no state key was found"));
    assert_non_null(strstr(f->err.msg, path));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(notices, 1);
    crypt_set_notice(NULL);
    json_decref(v);
    json_decref(enc);
}

int main(void)
{
    wipe_install_json();  /* as main does: decrypted values are wiped when freed */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip_any_json, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_is_encrypted, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_aad_mismatch_fails, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_tampering_fails_and_iv_is_fresh, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_env_key_validation, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_created_private_and_reused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_key_file_readable_by_others_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_the_key, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_decrypt_never_creates_a_key, fixture_setup, fixture_teardown),
    };
    if (getenv("MESH_TEST_FILTER")) cmocka_set_test_filter(getenv("MESH_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
