/* s3_lease.c: the lease of team state as one S3 object (see s3_lease.h). */
#include "aws/s3_lease.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xalloc.h"

/* Rounds of "someone wrote in between, look again" before giving up: contention, not retries
 * of a failed request (the HTTP layer owns those). */
#define LEASE_ROUNDS 4

static char *lease_json(const struct remote_lease *l)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I}", "run_id", l->run_id, "holder", l->holder,
                          "host", l->host, "pid", (json_int_t)l->pid, "command", l->command, "acquired",
                          (json_int_t)l->acquired, "expires", (json_int_t)l->expires);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (!s) abort();
    return s;
}

static void copy_str(char *dst, size_t n, json_t *j, const char *name)
{
    const char *v = json_string_value(json_object_get(j, name));
    snprintf(dst, n, "%s", v ? v : "");
}

/* A record that is not a lease (damaged, written by hand) counts as an expired one of nobody's:
 * it can be taken over, and no run can renew it. */
static void lease_parse(const struct s3_object *o, struct remote_lease *l)
{
    memset(l, 0, sizeof(*l));
    json_t *j = json_loadb((const char *)o->data, o->len, 0, NULL);
    if (!json_is_object(j)) {
        snprintf(l->holder, sizeof(l->holder), "(an unreadable lease record)");
        json_decref(j);
        return;
    }
    copy_str(l->run_id, sizeof(l->run_id), j, "run_id");
    copy_str(l->holder, sizeof(l->holder), j, "holder");
    copy_str(l->host, sizeof(l->host), j, "host");
    copy_str(l->command, sizeof(l->command), j, "command");
    l->pid = json_integer_value(json_object_get(j, "pid"));
    l->acquired = json_integer_value(json_object_get(j, "acquired"));
    l->expires = json_integer_value(json_object_get(j, "expires"));
    json_decref(j);
}

/* The record and its ETag; *present 0 when there is none. */
static int fetch(struct s3 *s, const char *key, struct remote_lease *l, char *etag, int *present,
                 struct mesh_err *err)
{
    struct s3_object o;
    struct mesh_err e;
    mesh_err_init(&e);
    *present = 0;
    memset(l, 0, sizeof(*l));
    int rc = s3_get(s, key, &o, &e);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc < 0) return mesh_err_copy(err, &e, NULL);
    *present = 1;
    lease_parse(&o, l);
    snprintf(etag, S3_ETAG_MAX, "%s", o.etag);
    s3_object_release(&o);
    return 0;
}

static int locked_by(struct s3 *s, const char *key, const struct remote_lease *l, const char *doing,
                     struct mesh_err *err)
{
    char until[32] = "";
    time_t t = (time_t)l->expires;
    struct tm tm;
    if (gmtime_r(&t, &tm)) strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return mesh_err_set(err, MESH_ELOCKED, NULL,
                        "%s: the state s3://%s/%s is locked by %s (run %s, pid %lld on %s, '%s') until %s",
                        doing, s->bucket, key, l->holder[0] ? l->holder : "?", l->run_id[0] ? l->run_id : "?",
                        l->pid, l->host[0] ? l->host : "?", l->command, until);
}

/* A conditional PUT of body: 0, MESH_ECONFLICT (someone wrote in between; err untouched), or
 * another failure (in err). */
static int put_cond(struct s3 *s, const char *key, const char *body, const char *if_match, struct mesh_err *err)
{
    struct s3_put_cond c = {.if_none_match = if_match == NULL, .if_match = if_match};
    struct mesh_err e;
    mesh_err_init(&e);
    int rc = s3_put(s, key, body, strlen(body), &c, NULL, &e);
    if (rc < 0 && rc != MESH_ECONFLICT) mesh_err_copy(err, &e, NULL);
    return rc;
}

int s3_lease_acquire(struct s3 *s, const char *key, const struct remote_lease *want, struct remote_lease *held_by,
                     int *taken_over, struct mesh_err *err)
{
    *taken_over = 0;
    memset(held_by, 0, sizeof(*held_by));
    char *body = lease_json(want);
    struct remote_lease prev;
    int tried_over = 0, rc = MESH_ECONFLICT;
    for (int round = 0; round < LEASE_ROUNDS && rc == MESH_ECONFLICT; round++) {
        rc = put_cond(s, key, body, NULL, err);
        if (rc != MESH_ECONFLICT) break;
        struct remote_lease cur;
        char etag[S3_ETAG_MAX];
        int present;
        if ((rc = fetch(s, key, &cur, etag, &present, err)) < 0) break;
        rc = MESH_ECONFLICT;
        if (!present) continue;  /* released in between: take it afresh */
        if (strcmp(cur.run_id, want->run_id) == 0) {
            /* Ours: a take-over of ours whose reply was lost, or a second acquire by this run.
             * Written again for the expiry asked now. */
            rc = cur.expires == want->expires ? 0 : put_cond(s, key, body, etag, err);
            if (rc == 0 && tried_over) { *taken_over = 1; *held_by = prev; }
            continue;
        }
        if (cur.expires > (long long)time(NULL)) {
            *held_by = cur;
            rc = locked_by(s, key, &cur, "lock", err);
            break;
        }
        prev = cur;
        tried_over = 1;
        rc = put_cond(s, key, body, etag, err);
        if (rc == 0) { *taken_over = 1; *held_by = prev; }
    }
    if (rc == MESH_ECONFLICT)
        rc = mesh_err_set(err, MESH_ELOCKED, NULL, "lock: the lease s3://%s/%s changed hands %d times while "
                          "mesh was taking it: try again", s->bucket, key, LEASE_ROUNDS);
    free(body);
    return rc;
}

enum { LEASE_ABSENT = 1, LEASE_OTHERS = 2 };

/* Reads the record: 0 when it is run_id's (cur and etag filled), LEASE_ABSENT, LEASE_OTHERS (cur
 * filled), or an error. */
static int read_ours(struct s3 *s, const char *key, const char *run_id, struct remote_lease *cur, char *etag,
                     struct mesh_err *err)
{
    int present;
    if (fetch(s, key, cur, etag, &present, err) < 0) return err->code;
    if (!present) return LEASE_ABSENT;
    return strcmp(cur->run_id, run_id) == 0 ? 0 : LEASE_OTHERS;
}

int s3_lease_renew(struct s3 *s, const char *key, const char *run_id, long long expires, struct mesh_err *err)
{
    for (int round = 0; round < 2; round++) {
        struct remote_lease cur;
        char etag[S3_ETAG_MAX];
        int r = read_ours(s, key, run_id, &cur, etag, err);
        if (r < 0) return r;
        if (r == LEASE_ABSENT)
            return mesh_err_set(err, MESH_ELOCKED, NULL, "renew: the lease s3://%s/%s is gone (released, or "
                                "cleared by force-unlock): run %s no longer holds the state", s->bucket, key, run_id);
        if (r == LEASE_OTHERS) return locked_by(s, key, &cur, "renew", err);
        if (cur.expires == expires) return 0;  /* our renewal landed, its reply was lost */
        cur.expires = expires;
        char *body = lease_json(&cur);
        r = put_cond(s, key, body, etag, err);
        free(body);
        if (r != MESH_ECONFLICT) return r;
    }
    return mesh_err_set(err, MESH_ELOCKED, NULL, "renew: the lease s3://%s/%s keeps changing under run %s",
                        s->bucket, key, run_id);
}

/* Deletes our record (If-Match its ETag): 0 once it is gone. absent_rc: what finding none at
 * first is (0 for release, MESH_ENOTFOUND for force-unlock); another run's record is left alone
 * (MESH_ELOCKED for release, MESH_ECONFLICT for force-unlock). */
static int delete_ours(struct s3 *s, const char *key, const char *run_id, int absent_rc, const char *doing,
                       struct mesh_err *err)
{
    for (int round = 0; round < 2; round++) {
        struct remote_lease cur;
        char etag[S3_ETAG_MAX];
        int r = read_ours(s, key, run_id, &cur, etag, err);
        if (r < 0) return r;
        if (r == LEASE_ABSENT)  /* after our delete: it landed, its reply was lost */
            return round > 0 || absent_rc == 0 ? 0 :
                mesh_err_set(err, absent_rc, NULL, "%s: there is no lease on s3://%s/%s", doing, s->bucket, key);
        if (r == LEASE_OTHERS && absent_rc == 0) return locked_by(s, key, &cur, doing, err);
        if (r == LEASE_OTHERS)
            return mesh_err_set(err, MESH_ECONFLICT, NULL, "%s: the lease on s3://%s/%s is held by run %s (%s), "
                                "not %s: nothing removed", doing, s->bucket, key, cur.run_id, cur.holder, run_id);
        struct mesh_err e;
        mesh_err_init(&e);
        r = s3_delete(s, key, etag, &e);
        if (r == 0 || r == MESH_ENOTFOUND) return 0;
        if (r != MESH_ECONFLICT) return mesh_err_copy(err, &e, NULL);
    }
    return mesh_err_set(err, MESH_ECONFLICT, NULL, "%s: the lease s3://%s/%s keeps changing", doing, s->bucket, key);
}

int s3_lease_release(struct s3 *s, const char *key, const char *run_id, struct mesh_err *err)
{
    return delete_ours(s, key, run_id, 0, "unlock", err);
}

int s3_lease_force_clear(struct s3 *s, const char *key, const char *run_id, struct mesh_err *err)
{
    return delete_ours(s, key, run_id, MESH_ENOTFOUND, "force-unlock", err);
}

int s3_lease_read(struct s3 *s, const char *key, struct remote_lease *info, int *held, struct mesh_err *err)
{
    char etag[S3_ETAG_MAX];
    return fetch(s, key, info, etag, held, err);
}
