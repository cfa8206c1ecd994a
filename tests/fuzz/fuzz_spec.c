/* fuzz_spec: a spec's YAML text through the entry `mesh validate/plan/apply` use
 * (spec_load_buffer_opts: libyaml, vars, schema validation, the section compilers, the graph
 * check), then the diagnostics printed as the CLI prints them. Any input must end in a spec or in
 * diagnostics, never in a crash, a leak or undefined behaviour. */
#include <stdint.h>
#include <stdio.h>

#include "base/diag.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* opened per input and closed: nothing is left allocated at exit (make memcheck) */
    FILE *devnull = fopen("/dev/null", "w");
    if (!devnull) return 0;
    struct diag_list dl;
    diag_list_init(&dl);
    struct spec *s = NULL;
    struct spec_vars_in vars = {0};
    int rc = spec_load_buffer_opts("fuzz.yaml", (const char *)data, size, &vars, &s, &dl);
    if ((rc == 0) != (s != NULL)) __builtin_trap();  /* the loader's contract: 0 exactly when there is a spec */
    diag_sort(&dl);
    diag_print(&dl, devnull, 0);
    spec_free(s);
    diag_list_release(&dl);
    fclose(devnull);
    return 0;
}
