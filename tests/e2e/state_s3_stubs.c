/* state_s3_stubs.c: weak stand-ins, for state_s3_probe's build only, of what other parts of
 * issue 14 define: the DynamoDB lease (state_ddb.c), the KMS key (state_kms.c) and
 * remote_blob_release (state/). state_s3_backend.sh compiles the real files when they exist; a
 * strong definition then wins over these. A stub fails loudly: a test that reaches one is
 * testing something not built yet. */
#include <stdlib.h>
#include <string.h>

#include "aws/state_ddb.h"
#include "aws/state_kms.h"

#define WEAK __attribute__((weak))

static int missing(struct mesh_err *err, const char *what)
{
    return mesh_err_set(err, MESH_ERR, NULL, "%s: not built into this probe (stub)", what);
}

WEAK void remote_blob_release(struct remote_blob *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

WEAK struct ddb_lease *ddb_lease_new(struct aws_client *client, const char *table, const char *lock_id)
{
    return NULL;
}
WEAK void ddb_lease_free(struct ddb_lease *l) {}
WEAK int ddb_lease_acquire(struct ddb_lease *l, const struct remote_lease *want, struct remote_lease *held_by,
                           int *taken_over, struct mesh_err *err)
{
    return missing(err, "ddb_lease_acquire");
}
WEAK int ddb_lease_renew(struct ddb_lease *l, const char *run_id, long long expires, struct mesh_err *err)
{
    return missing(err, "ddb_lease_renew");
}
WEAK int ddb_lease_release(struct ddb_lease *l, const char *run_id, struct mesh_err *err)
{
    return missing(err, "ddb_lease_release");
}
WEAK int ddb_lease_read(struct ddb_lease *l, struct remote_lease *info, int *held, struct mesh_err *err)
{
    return missing(err, "ddb_lease_read");
}
WEAK int ddb_lease_force_clear(struct ddb_lease *l, const char *run_id, struct mesh_err *err)
{
    return missing(err, "ddb_lease_force_clear");
}
WEAK int ddb_lease_check_table(struct ddb_lease *l, struct mesh_err *err)
{
    return missing(err, "ddb_lease_check_table");
}
WEAK long ddb_lease_requests(const struct ddb_lease *l) { return 0; }
WEAK int state_kms_generate(struct aws_client *client, const char *kms_key_id, unsigned char *key,
                            unsigned char **wrapped, size_t *wrapped_len, struct mesh_err *err)
{
    return missing(err, "state_kms_generate");
}
WEAK int state_kms_unwrap(struct aws_client *client, const unsigned char *wrapped, size_t wrapped_len,
                          unsigned char *key, struct mesh_err *err)
{
    return missing(err, "state_kms_unwrap");
}
WEAK long state_kms_requests(void) { return 0; }
