/* s3_lease.h: the lease of team state as one S3 object (issue 14), for a state without a
 * DynamoDB lock table: KEY.lease holds JSON {"run_id", "holder", "host", "pid", "command",
 * "acquired", "expires"}. Every change is a conditional write, so two machines never both hold
 * it whatever the timing:
 *   take       PUT If-None-Match: *  (absent)
 *   take over  PUT If-Match: ETAG of the expired record just read
 *   renew      PUT If-Match: ETAG of our own record just read
 *   release    DELETE If-Match: ETAG of our own record just read
 * A 412 means another machine wrote in between: the record is read again and judged again, so a
 * lost reply of our own write (the HTTP layer resent it and met our own record) is recognised by
 * its run ID. Codes and meanings as state/remote.h's lease ops; the caller serialises calls. */
#ifndef MESH_AWS_S3_LEASE_H
#define MESH_AWS_S3_LEASE_H

#include "aws/s3.h"
#include "remote.h"

int s3_lease_acquire(struct s3 *s, const char *key, const struct remote_lease *want, struct remote_lease *held_by,
                     int *taken_over, struct mesh_err *err);
int s3_lease_renew(struct s3 *s, const char *key, const char *run_id, long long expires, struct mesh_err *err);
int s3_lease_release(struct s3 *s, const char *key, const char *run_id, struct mesh_err *err);
int s3_lease_read(struct s3 *s, const char *key, struct remote_lease *info, int *held, struct mesh_err *err);
int s3_lease_force_clear(struct s3 *s, const char *key, const char *run_id, struct mesh_err *err);

#endif
