/* spec_load.h: a spec loaded from text for the cmocka tests of the spec loader and its section
 * compilers (test_spec, test_compile_clusters). Header-only; include after <cmocka.h>. */
#ifndef MESH_TEST_SPEC_LOAD_H
#define MESH_TEST_SPEC_LOAD_H

#include <string.h>

#include "spec/spec.h"

/* Loads text (as file t.yaml); returns the spec (or NULL) and leaves the diagnostics in dl. The
 * loader's contract is held on the way: 0 exactly when there is a spec. */
static struct spec *load(const char *text, struct diag_list *dl)
{
    struct spec *s = NULL;
    diag_list_init(dl);
    int rc = spec_load_buffer("t.yaml", text, strlen(text), &s, dl);
    assert_int_equal(rc, s ? 0 : -1);
    return s;
}

#endif
