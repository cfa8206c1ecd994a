/* state_ddb.h: the lease of team state as one DynamoDB item (issue 14), as Terraform's S3
 * backend users know it: table with a string partition key "LockID"; the item LockID = the
 * state's "BUCKET/KEY", with RunID, Holder, Host, Pid, Command, Acquired, Expires (unix seconds).
 * Taken with a conditional PutItem (attribute_not_exists(LockID) OR Expires < :now), renewed and
 * released only while RunID is ours (ConditionExpression RunID = :run), so two machines never
 * both hold it whatever the timing. Codes and meanings as state/remote.h's lease ops. */
#ifndef MESH_AWS_STATE_DDB_H
#define MESH_AWS_STATE_DDB_H

#include "aws/client.h"
#include "remote.h"

struct ddb_lease;

/* client: shared, not owned (kept alive by the caller). No request is made. */
struct ddb_lease *ddb_lease_new(struct aws_client *client, const char *table, const char *lock_id);
void ddb_lease_free(struct ddb_lease *l);

int ddb_lease_acquire(struct ddb_lease *l, const struct remote_lease *want, struct remote_lease *held_by,
                      int *taken_over, struct mesh_err *err);
int ddb_lease_renew(struct ddb_lease *l, const char *run_id, long long expires, struct mesh_err *err);
int ddb_lease_release(struct ddb_lease *l, const char *run_id, struct mesh_err *err);
int ddb_lease_read(struct ddb_lease *l, struct remote_lease *info, int *held, struct mesh_err *err);
int ddb_lease_force_clear(struct ddb_lease *l, const char *run_id, struct mesh_err *err);
/* DescribeTable: MESH_ENOTFOUND "lock table T does not exist in REGION" (preflight). */
int ddb_lease_check_table(struct ddb_lease *l, struct mesh_err *err);
/* Requests made (for state_s3_counts). */
long ddb_lease_requests(const struct ddb_lease *l);

#endif
