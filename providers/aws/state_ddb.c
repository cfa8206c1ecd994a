/* state_ddb.c: the lease of team state as one DynamoDB item (see state_ddb.h).
 *
 * Every decision is a condition DynamoDB checks atomically on the item, never a read followed
 * by a write: a read only explains, afterwards, why a condition failed (who holds the lease).
 * The HTTP layer may send a request twice (a reply lost after the write took effect); each op
 * below tells its own earlier attempt from another writer.
 *
 * A table shared with Terraform is fine: Terraform's S3 backend keeps the items "BUCKET/KEY"
 * (its lock) and "BUCKET/KEY-md5" (its digest) for its own state objects; ours is "BUCKET/KEY"
 * of mesh's state object, and two states never share an object key. */
#include "aws/state_ddb.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/dynamodb.h"
#include "base/xalloc.h"

struct ddb_lease {
    struct aws_client *client;
    char *table;
    char *lock_id;
    atomic_long requests;
};

struct ddb_lease *ddb_lease_new(struct aws_client *client, const char *table, const char *lock_id)
{
    struct ddb_lease *l = xcalloc(1, sizeof(*l));
    l->client = client;
    l->table = xstrdup(table);
    l->lock_id = xstrdup(lock_id);
    atomic_init(&l->requests, 0);
    return l;
}

void ddb_lease_free(struct ddb_lease *l)
{
    if (!l) return;
    free(l->table);
    free(l->lock_id);
    free(l);
}

long ddb_lease_requests(const struct ddb_lease *l) { return atomic_load(&l->requests); }

static int call(struct ddb_lease *l, const char *action, const json_t *body, json_t **reply, int *attempts,
                struct mesh_err *err)
{
    atomic_fetch_add(&l->requests, 1);
    return dynamodb_call(l->client, action, body, reply, attempts, err);
}

/* ---- requests ---- */

static json_t *s_value(const char *s) { return json_pack("{s:s}", "S", s ? s : ""); }

static json_t *n_value(long long n)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", n);
    return json_pack("{s:s}", "N", buf);
}

/* {"TableName", "Key": {"LockID": {"S": lock_id}}}: the start of every request but PutItem's. */
static json_t *keyed(const struct ddb_lease *l)
{
    return json_pack("{s:s, s:{s:o}}", "TableName", l->table, "Key", "LockID", s_value(l->lock_id));
}

/* The attribute names go through placeholders: a lease's words (Host, Command, ...) must never
 * collide with DynamoDB's reserved words. */
static json_t *names_run_expires(void) { return json_pack("{s:s, s:s}", "#r", "RunID", "#e", "Expires"); }

static json_t *item_of(const struct ddb_lease *l, const struct remote_lease *w)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "LockID", s_value(l->lock_id), "RunID",
                     s_value(w->run_id), "Holder", s_value(w->holder), "Host", s_value(w->host), "Pid",
                     n_value(w->pid), "Command", s_value(w->command), "Acquired", n_value(w->acquired),
                     "Expires", n_value(w->expires));
}

/* ---- items ---- */

static void copy_s(char *dst, size_t n, const json_t *item, const char *name)
{
    const char *v = dynamodb_s(item, name);
    snprintf(dst, n, "%s", v ? v : "");
}

static long long get_n(const json_t *item, const char *name)
{
    const char *v = dynamodb_n(item, name);
    return v ? strtoll(v, NULL, 10) : 0;
}

static void lease_of(const json_t *item, struct remote_lease *out)
{
    memset(out, 0, sizeof(*out));
    copy_s(out->run_id, sizeof(out->run_id), item, "RunID");
    copy_s(out->holder, sizeof(out->holder), item, "Holder");
    copy_s(out->host, sizeof(out->host), item, "Host");
    copy_s(out->command, sizeof(out->command), item, "Command");
    out->pid = get_n(item, "Pid");
    out->acquired = get_n(item, "Acquired");
    out->expires = get_n(item, "Expires");
    if (!out->run_id[0]) /* not written by mesh: Expires absent, so it never counts as expired */
        snprintf(out->holder, sizeof(out->holder), "an item without RunID (another tool's lock?)");
}

/* "run R (alice@host1, host host1, pid 42, `mesh apply`, since ..., lease until ...)" */
static void describe(const struct remote_lease *li, char *buf, size_t n)
{
    char since[40] = "unknown time", until[40] = "unknown time";
    struct tm tm;
    time_t a = (time_t)li->acquired, e = (time_t)li->expires;
    if (a > 0 && gmtime_r(&a, &tm)) strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (e > 0 && gmtime_r(&e, &tm)) strftime(until, sizeof(until), "%Y-%m-%d %H:%M:%S UTC", &tm);
    const char *mesh = strncmp(li->command, "mesh", 4) == 0 ? "" : "mesh ";
    snprintf(buf, n, "run %s (%s, host %s, pid %lld, `%s%s`, since %s, lease until %s)", li->run_id[0] ? li->run_id : "?",
             li->holder[0] ? li->holder : "?", li->host[0] ? li->host : "?", li->pid, mesh, li->command, since, until);
}

/* The item as it is now (ConsistentRead: the latest write, not a replica's). *found = 0 when
 * there is none. */
static int get_item(struct ddb_lease *l, struct remote_lease *out, int *found, struct mesh_err *err)
{
    json_t *req = keyed(l), *reply = NULL;
    json_object_set_new(req, "ConsistentRead", json_true());
    int rc = call(l, "GetItem", req, &reply, NULL, err);
    json_decref(req);
    if (rc) return rc;
    const json_t *item = json_object_get(reply, "Item");
    *found = json_is_object(item) && json_object_size(item) > 0;
    if (*found) lease_of(item, out);
    else memset(out, 0, sizeof(*out));
    json_decref(reply);
    return 0;
}

/* ---- the ops ---- */

/* One conditional PutItem. ReturnValues ALL_OLD hands back the item it replaced, atomically
 * with the write: the expired lease taken over is reported as it was, not as a read made
 * before the write found it (another machine may have taken it over in between). */
static int put_lease(struct ddb_lease *l, const struct remote_lease *want, long long now, json_t **old,
                     struct mesh_err *err)
{
    json_t *req = json_pack("{s:s, s:o, s:s, s:o, s:{s:o}, s:s}", "TableName", l->table, "Item", item_of(l, want),
                            "ConditionExpression", "attribute_not_exists(LockID) OR #e < :now",
                            "ExpressionAttributeNames", json_pack("{s:s}", "#e", "Expires"),
                            "ExpressionAttributeValues", ":now", n_value(now), "ReturnValues", "ALL_OLD");
    json_t *reply = NULL;
    int rc = call(l, "PutItem", req, &reply, NULL, err);
    json_decref(req);
    if (rc == 0) *old = json_incref(json_object_get(reply, "Attributes"));
    json_decref(reply);
    return rc;
}

int ddb_lease_acquire(struct ddb_lease *l, const struct remote_lease *want, struct remote_lease *held_by,
                      int *taken_over, struct mesh_err *err)
{
    *taken_over = 0;
    memset(held_by, 0, sizeof(*held_by));
    /* A failed condition is explained by a read; if the read finds the lease gone or expired
     * by then (released, or expiring in between), the put is tried again, a few times. */
    for (int round = 0; round < 3; round++) {
        long long now = (long long)time(NULL);
        json_t *old = NULL;
        struct mesh_err e;
        mesh_err_init(&e);
        int rc = put_lease(l, want, now, &old, &e);
        if (rc == 0) {
            if (json_is_object(old) && json_object_size(old) > 0) {
                lease_of(old, held_by);
                *taken_over = strcmp(held_by->run_id, want->run_id) != 0;
                if (!*taken_over) memset(held_by, 0, sizeof(*held_by));
            }
            json_decref(old);
            return 0;
        }
        if (rc != MESH_ECONFLICT) return mesh_err_copy(err, &e, NULL);
        struct remote_lease cur;
        int found = 0;
        if ((rc = get_item(l, &cur, &found, err)) != 0) return rc;
        /* Ours: our own put sent again by the HTTP layer (same expiry), or this run asking
         * again while it holds the lease (then the expiry asked for is set). */
        if (found && strcmp(cur.run_id, want->run_id) == 0)
            return cur.expires == want->expires ? 0 : ddb_lease_renew(l, want->run_id, want->expires, err);
        if (found && (cur.expires >= (long long)time(NULL) || !cur.run_id[0])) {
            *held_by = cur;
            char who[700];
            describe(&cur, who, sizeof(who));
            return mesh_err_set(err, MESH_ELOCKED, NULL,
                                "state is locked by %s (lock table %s, LockID %s); wait for it, use --lock-timeout, "
                                "or `mesh force-unlock %s` if that run is gone",
                                who, l->table, l->lock_id, cur.run_id);
        }
    }
    return mesh_err_set(err, MESH_ELOCKED, NULL, "the lease %s in lock table %s changed hands three times while "
                        "being taken; try again", l->lock_id, l->table);
}

/* After a condition "RunID = :run" failed: who holds the lease now, for the message. */
static void holder_now(struct ddb_lease *l, char *buf, size_t n, int *found, struct remote_lease *cur)
{
    struct mesh_err e;
    mesh_err_init(&e);
    *found = 0;
    if (get_item(l, cur, found, &e) != 0) snprintf(buf, n, "who holds it now is unknown (%.300s)", e.msg);
    else if (!*found) snprintf(buf, n, "nobody holds it now");
    else {
        char who[700];
        describe(cur, who, sizeof(who));
        snprintf(buf, n, "%s holds it now", who);
    }
}

/* A request conditioned on RunID = run_id: {"ConditionExpression", names, ":run"}. */
static json_t *ours(const struct ddb_lease *l, const char *run_id)
{
    json_t *req = keyed(l);
    json_object_set_new(req, "ConditionExpression", json_string("#r = :run"));
    json_object_set_new(req, "ExpressionAttributeNames", json_pack("{s:s}", "#r", "RunID"));
    json_object_set_new(req, "ExpressionAttributeValues", json_pack("{s:o}", ":run", s_value(run_id)));
    return req;
}

/* Sends req (consumed; conditioned on RunID by ours()). 0: done. MESH_ECONFLICT: the condition
 * failed; now says who holds the lease instead (*found = 0: nobody), err untouched. Another
 * code: err says why. *attempts (may be NULL): how many times it was sent. */
static int send_ours(struct ddb_lease *l, const char *action, json_t *req, int *attempts, char *now, size_t n,
                     int *found, struct mesh_err *err)
{
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = call(l, action, req, NULL, attempts, &e);
    json_decref(req);
    if (rc == MESH_ECONFLICT) {
        struct remote_lease cur;
        holder_now(l, now, n, found, &cur);
        return rc;
    }
    return rc ? mesh_err_copy(err, &e, NULL) : 0;
}

int ddb_lease_renew(struct ddb_lease *l, const char *run_id, long long expires, struct mesh_err *err)
{
    json_t *req = ours(l, run_id);
    json_object_set_new(req, "UpdateExpression", json_string("SET #e = :exp"));
    json_object_set_new(req, "ExpressionAttributeNames", names_run_expires());
    json_object_set_new(json_object_get(req, "ExpressionAttributeValues"), ":exp", n_value(expires));
    char now[800];
    int found = 0;
    int rc = send_ours(l, "UpdateItem", req, NULL, now, sizeof(now), &found, err);
    if (rc != MESH_ECONFLICT) return rc;
    return mesh_err_set(err, MESH_ELOCKED, NULL,
                        "run %s lost the state lock (lock table %s, LockID %s): its lease ran out and was taken "
                        "over, or it was force-unlocked; %s",
                        run_id, l->table, l->lock_id, now);
}

int ddb_lease_release(struct ddb_lease *l, const char *run_id, struct mesh_err *err)
{
    char now[800];
    int found = 0;
    int rc = send_ours(l, "DeleteItem", ours(l, run_id), NULL, now, sizeof(now), &found, err);
    if (rc != MESH_ECONFLICT) return rc;
    if (!found) return 0;  /* already gone: released before (our own request sent again) or cleared */
    return mesh_err_set(err, MESH_ECONFLICT, NULL, "the state lock was no longer held by run %s (it was taken over "
                        "or force-unlocked); %s", run_id, now);
}

int ddb_lease_read(struct ddb_lease *l, struct remote_lease *info, int *held, struct mesh_err *err)
{
    *held = 0;
    return get_item(l, info, held, err);
}

int ddb_lease_force_clear(struct ddb_lease *l, const char *run_id, struct mesh_err *err)
{
    char now[800];
    int found = 0, attempts = 0;
    int rc = send_ours(l, "DeleteItem", ours(l, run_id), &attempts, now, sizeof(now), &found, err);
    if (rc != MESH_ECONFLICT) return rc;
    /* Sent more than once and gone now: the first attempt deleted it. */
    if (!found && attempts > 1) return 0;
    if (!found)
        return mesh_err_set(err, MESH_ENOTFOUND, NULL, "the state is not locked (no item %s in lock table %s); "
                            "nothing to unlock", l->lock_id, l->table);
    return mesh_err_set(err, MESH_ECONFLICT, NULL, "the state is locked by another run, not by run %s: %s; nothing "
                        "unlocked", run_id, now);
}

int ddb_lease_check_table(struct ddb_lease *l, struct mesh_err *err)
{
    json_t *req = json_pack("{s:s}", "TableName", l->table), *reply = NULL;
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = call(l, "DescribeTable", req, &reply, NULL, &e);
    json_decref(req);
    if (rc == MESH_ENOTFOUND)
        return mesh_err_set(err, MESH_ENOTFOUND, NULL,
                            "lock table %s does not exist in %s: create it with a string partition key LockID "
                            "(aws dynamodb create-table --table-name %s --attribute-definitions "
                            "AttributeName=LockID,AttributeType=S --key-schema AttributeName=LockID,KeyType=HASH "
                            "--billing-mode PAY_PER_REQUEST), or fix state.lock_table / the region",
                            l->table, l->client->region, l->table);
    if (rc) return mesh_err_copy(err, &e, NULL);
    /* The partition key must be LockID, a string: any other key would make every PutItem fail
     * with a ValidationException in the middle of a run. */
    const json_t *t = json_object_get(reply, "Table");
    const char *hash = NULL, *type = NULL;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(t, "KeySchema"), i, k) {
        const char *kt = json_string_value(json_object_get(k, "KeyType"));
        if (kt && strcmp(kt, "HASH") == 0) hash = json_string_value(json_object_get(k, "AttributeName"));
    }
    json_array_foreach(json_object_get(t, "AttributeDefinitions"), i, k) {
        const char *name = json_string_value(json_object_get(k, "AttributeName"));
        if (hash && name && strcmp(name, hash) == 0) type = json_string_value(json_object_get(k, "AttributeType"));
    }
    int bad = !hash || strcmp(hash, "LockID") != 0 || !type || strcmp(type, "S") != 0 ||
              json_array_size(json_object_get(t, "KeySchema")) != 1;
    if (bad)
        rc = mesh_err_set(err, MESH_EINVAL, NULL, "lock table %s in %s has partition key %s (%s)%s; the lease needs a "
                          "table whose only key is LockID, a string (as Terraform's S3 backend)",
                          l->table, l->client->region, hash ? hash : "?", type ? type : "?",
                          json_array_size(json_object_get(t, "KeySchema")) > 1 ? " and a sort key" : "");
    json_decref(reply);
    return rc;
}
