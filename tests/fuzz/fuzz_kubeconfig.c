/* fuzz_kubeconfig: a kubeconfig's text (as held in a remote secret: kubeconfig_load_text, the
 * same YAML reader and context resolution as a file, without touching the disk) for its current
 * context and for a named one. */
#include <stdint.h>

#include "kubernetes/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const contexts[] = {NULL, "cluster-1"};
    for (int i = 0; i < 2; i++) {
        struct kubeconfig kc = {0};
        struct mesh_err e;
        mesh_err_init(&e);
        if (kubeconfig_load_text("fuzz", (const char *)data, size, contexts[i], &kc, &e) == 0)
            kubeconfig_release(&kc);
    }
    return 0;
}
