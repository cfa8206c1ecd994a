/* fuzz_ini: the AWS shared config and credentials reader (ini_parse), then the lookups the
 * credential chain and the profile resolution make. */
#include <stdint.h>

#include "aws/ini.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ini *ini = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    if (ini_parse((const char *)data, size, "fuzz", &ini, &e) == 0) {
        (void)ini_get(ini, "default", "aws_access_key_id");
        (void)ini_get(ini, "profile dev", "role_arn");
        (void)ini_get(ini, "default", "s3.max_concurrent_requests");
        (void)ini_has_section(ini, "sso-session x");
        ini_free(ini);
    }
    return 0;
}
