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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_driver_keeps_the_contract),
        cmocka_unit_test(test_lookup_and_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
