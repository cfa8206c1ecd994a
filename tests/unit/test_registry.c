/* test_registry.c: the tests' loop over providers/drivers.def: every registered driver keeps the
 * contract the engine relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"
#include "spec/ref.h"

static void test_every_driver_keeps_the_contract(void **state)
{
    (void)state;
    assert_true(driver_count() > 0);
    for (size_t i = 0; i < driver_count(); i++) {
        const struct driver *d = driver_at(i);
        char addr[200];
        snprintf(addr, sizeof(addr), "%s.x", d->type);
        assert_true(ref_address_valid(addr));              /* the type is a valid address segment */
        assert_ptr_equal(driver_find(d->type), d);          /* registered once */
        assert_non_null(d->create);
        assert_non_null(d->read);
        assert_non_null(d->delete);
        const struct attr *id = driver_attr(d, "id");
        assert_non_null(id);                                /* rollback matches objects by id */
        assert_true(id->flags & ATTR_COMPUTED);
        int settable_unforced = 0;
        for (const struct attr *a = d->schema; a->name; a++) {
            assert_false((a->flags & ATTR_REQUIRED) && (a->flags & ATTR_COMPUTED));
            assert_false((a->flags & ATTR_RECOMPUTED) && !(a->flags & ATTR_COMPUTED));
            assert_ptr_equal(driver_attr(d, a->name), a);   /* no duplicate names */
            if (!(a->flags & (ATTR_COMPUTED | ATTR_FORCE_NEW))) settable_unforced = 1;
        }
        /* an attribute that can change in place needs update() */
        if (settable_unforced) assert_non_null(d->update);
    }
}

static void test_lookup_and_suggest(void **state)
{
    (void)state;
    assert_non_null(driver_find("null_resource"));
    assert_null(driver_find("null_resourc"));
    assert_string_equal(driver_suggest("null_resourc"), "null_resource");
    assert_null(driver_suggest("zzzzzzzzzzzz"));
}

/* Handles are per (provider, connection): the same outputs share one, other outputs or another
 * connection get their own, and a connection whose outputs changed gets a new one while the old
 * stays valid for the call still holding it. */
static void test_handles_per_connection(void **state)
{
    (void)state;
    const struct driver *d = driver_find("null_resource");
    assert_non_null(d);
    assert_non_null(d->provider);
    struct mesh_err err;
    mesh_err_init(&err);
    json_t *alpha = json_pack("{s:s}", "connection_name", "alpha"), *beta = json_pack("{s:s}", "connection_name", "beta");
    json_t *alpha2 = json_pack("{s:s}", "connection_name", "alpha2");
    void *none = provider_acquire(d, NULL, NULL, &err);
    void *a1 = provider_acquire(d, "null_connection.a", alpha, &err);
    void *a2 = provider_acquire(d, "null_connection.a", alpha, &err);
    void *b = provider_acquire(d, "null_connection.b", beta, &err);
    assert_non_null(none);
    assert_non_null(a1);
    assert_ptr_equal(a1, a2);            /* one handle per connection */
    assert_ptr_not_equal(a1, b);
    assert_ptr_not_equal(a1, none);
    void *a3 = provider_acquire(d, "null_connection.a", alpha2, &err);  /* its outputs changed */
    assert_non_null(a3);
    assert_ptr_not_equal(a3, a1);
    void *a4 = provider_acquire(d, "null_connection.a", alpha2, &err);
    assert_ptr_equal(a3, a4);
    /* a1 is still referenced twice: it must stay usable until released (ASan would see a use after free) */
    assert_string_equal(*(char **)a1, "alpha");
    provider_release(d, a1);
    provider_release(d, a2);
    provider_release(d, a3);
    provider_release(d, a4);
    provider_release(d, b);
    provider_release(d, none);
    assert_ptr_equal(provider_handle(d, &err), none);  /* the run's handle stays open */
    provider_close_all();
    json_decref(alpha);
    json_decref(beta);
    json_decref(alpha2);
}

/* Auth hooks are found by name; an unknown one is a clear error, and "eks" needs a cluster. */
static void test_auth_hooks(void **state)
{
    (void)state;
    struct mesh_err err;
    struct auth_token t;
    mesh_err_init(&err);
    assert_int_not_equal(auth_hook_token("nope", NULL, &t, &err), 0);
    assert_non_null(strstr(err.msg, "no authentication hook named \"nope\""));
    assert_null(t.secret);
    mesh_err_init(&err);
    json_t *p = json_pack("{s:s}", "region", "eu-west-1");
    assert_int_equal(auth_hook_token("eks", p, &t, &err), MESH_EINVAL);
    assert_non_null(strstr(err.msg, "names no EKS cluster"));
    json_decref(p);
    auth_token_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_driver_keeps_the_contract),
        cmocka_unit_test(test_lookup_and_suggest),
        cmocka_unit_test(test_handles_per_connection),
        cmocka_unit_test(test_auth_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
