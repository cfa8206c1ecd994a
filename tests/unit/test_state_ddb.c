/* test_state_ddb.c: team state's DynamoDB lease (providers/aws/state_ddb.c, dynamodb.c) and KMS
 * state key (state_kms.c) against canned replies: the requests carry the right target, content
 * type, conditions and attribute types; each AWS error maps to its code and an actionable message;
 * throttling is retried by the HTTP layer, not by the lease. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <libxml/parser.h>

#include "aws/client.h"
#include "aws/state_ddb.h"
#include "aws/state_kms.h"
#include "base/wipe.h"
#include "scripted_server.h"

#define JSON10 "Content-Type: application/x-amz-json-1.0\r\n"
#define CCF "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException\"," \
            "\"message\":\"The conditional request failed\"}"
#define ITEM_B "{\"Item\":{\"LockID\":{\"S\":\"b/k\"},\"RunID\":{\"S\":\"runB\"},\"Holder\":{\"S\":\"bob@ci\"}," \
               "\"Host\":{\"S\":\"ci\"},\"Pid\":{\"N\":\"77\"},\"Command\":{\"S\":\"apply\"}," \
               "\"Acquired\":{\"N\":\"1000\"},\"Expires\":{\"N\":\"99999999999\"}}}"

struct fx {
    struct server srv;
    struct aws_client client;
    struct aws_creds creds;
    struct http_retries retries;
    struct mesh_err err;
    struct ddb_lease *lease;
    struct remote_lease held;  /* ACQUIRE's */
    int taken;
};

static void start(struct fx *f, const struct reply *script, int n)
{
    memset(f, 0, sizeof(*f));
    server_start(&f->srv, script, n);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->srv.port);
    /* The services' own variables, as the AWS CLI reads them (endpoint.c). */
    setenv("AWS_ENDPOINT_URL_DYNAMODB", url, 1);
    setenv("AWS_ENDPOINT_URL_KMS", url, 1);
    setenv("MESH_BACKOFF_SCALE", "0.001", 1);
    f->creds.access_key = "AKIDTEST";
    f->creds.secret_key = "secret";
    http_client_init(&f->client.http);
    http_retries_init(&f->retries, -1);
    f->client.http.retries = &f->retries;
    f->client.fixed = &f->creds;
    snprintf(f->client.region, sizeof(f->client.region), "us-west-2");
    f->lease = ddb_lease_new(&f->client, "locks", "b/k");
}

static void stop(struct fx *f)
{
    server_stop(&f->srv);
    ddb_lease_free(f->lease);
    unsetenv("AWS_ENDPOINT_URL_DYNAMODB");
    unsetenv("AWS_ENDPOINT_URL_KMS");
}

/* The JSON body of the last request the server saw. */
static json_t *last_body(const struct fx *f)
{
    const char *b = strstr(f->srv.last_request, "\r\n\r\n");
    assert_non_null(b);
    json_t *j = json_loads(b + 4, 0, NULL);
    assert_non_null(j);
    return j;
}

/* What one request must carry: the value at a path of its JSON body ("Item/Pid/N"; "*": any). */
struct sent { const char *path, *value; };

/* The last request was target (X-Amz-Target) and its body holds every row of want. */
static void expect_sent(const struct fx *f, const char *target, const struct sent *want, size_t n)
{
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "X-Amz-Target: %s\r\n", target);
    if (!strstr(f->srv.last_request, hdr)) fail_msg("not a %s request: %.300s", target, f->srv.last_request);
    json_t *b = last_body(f);
    for (size_t i = 0; i < n; i++) {
        char path[128];
        snprintf(path, sizeof(path), "%s", want[i].path);
        const json_t *v = b;
        for (char *save = NULL, *k = strtok_r(path, "/", &save); k; k = strtok_r(NULL, "/", &save))
            v = json_object_get(v, k);
        const char *got = json_is_true(v) ? "true" : json_string_value(v);
        if (!got || (strcmp(want[i].value, "*") != 0 && strcmp(got, want[i].value) != 0))
            fail_msg("%s: %s is '%s', want '%s'", target, want[i].path, got ? got : "(absent)", want[i].value);
    }
    json_decref(b);
}
#define EXPECT_SENT(f, target, rows) expect_sent(f, target, rows, sizeof(rows) / sizeof(rows[0]))

static void want(struct remote_lease *w, const char *run)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->run_id, sizeof(w->run_id), "%s", run);
    snprintf(w->holder, sizeof(w->holder), "alice@laptop");
    snprintf(w->host, sizeof(w->host), "laptop");
    snprintf(w->command, sizeof(w->command), "apply");
    w->pid = 42;
    w->acquired = 1000;
    w->expires = 1060;
}

enum op { ACQUIRE, RENEW, RELEASE, FORCE, CHECK, GENERATE, UNWRAP };

static int run_op(struct fx *f, enum op op)
{
    struct remote_lease w;
    unsigned char key[REMOTE_KEY_LEN], *wrapped = NULL;
    size_t len = 0;
    want(&w, "runA");
    switch (op) {
    case ACQUIRE: return ddb_lease_acquire(f->lease, &w, &f->held, &f->taken, &f->err);
    case RENEW: return ddb_lease_renew(f->lease, "runA", 2000, &f->err);
    case RELEASE: return ddb_lease_release(f->lease, "runA", &f->err);
    case FORCE: return ddb_lease_force_clear(f->lease, "runA", &f->err);
    case CHECK: return ddb_lease_check_table(f->lease, &f->err);
    case GENERATE: {
        int rc = state_kms_generate(&f->client, "alias/nope", key, &wrapped, &len, &f->err);
        assert_null(wrapped);
        return rc;
    }
    case UNWRAP: return state_kms_unwrap(&f->client, (const unsigned char *)"x", 1, key, &f->err);
    }
    return -100;
}

/* op on a server answering 200 {} sends target carrying rows. */
static void sent_by(enum op op, const char *target, const struct sent *rows, size_t n)
{
    static const struct reply ok[] = {{200, JSON10, "{}"}};
    struct fx f;
    start(&f, ok, 1);
    assert_int_equal(run_op(&f, op), 0);
    expect_sent(&f, target, rows, n);
    stop(&f);
}

static void test_acquire_request(void **state)
{
    static const struct reply script[] = {{200, JSON10, "{}"}};
    struct fx f;
    start(&f, script, 1);
    f.taken = 7;
    assert_int_equal(run_op(&f, ACQUIRE), 0);
    assert_int_equal(f.taken, 0);
    assert_string_equal(f.held.run_id, "");
    assert_non_null(strstr(f.srv.last_request, "Content-Type: application/x-amz-json-1.0\r\n"));
    assert_non_null(strstr(f.srv.last_request, "Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/"));
    assert_non_null(strstr(f.srv.last_request, "/us-west-2/dynamodb/aws4_request"));
    static const struct sent put[] = {
        {"TableName", "locks"}, {"ConditionExpression", "attribute_not_exists(LockID) OR #e < :now"},
        {"ExpressionAttributeNames/#e", "Expires"}, {"ExpressionAttributeValues/:now/N", "*"},
        {"ReturnValues", "ALL_OLD"}, {"Item/LockID/S", "b/k"}, {"Item/RunID/S", "runA"},
        {"Item/Holder/S", "alice@laptop"}, {"Item/Host/S", "laptop"}, {"Item/Command/S", "apply"},
        {"Item/Pid/N", "42"}, {"Item/Acquired/N", "1000"}, {"Item/Expires/N", "1060"},
    };
    EXPECT_SENT(&f, "DynamoDB_20120810.PutItem", put);
    assert_int_equal(ddb_lease_requests(f.lease), 1);
    stop(&f);
}

static void test_acquire_takes_over_expired(void **state)
{
    static const struct reply script[] = {
        {200, JSON10, "{\"Attributes\":{\"LockID\":{\"S\":\"b/k\"},\"RunID\":{\"S\":\"runOld\"},\"Holder\":{\"S\":"
                      "\"carol@old\"},\"Host\":{\"S\":\"old\"},\"Pid\":{\"N\":\"9\"},\"Expires\":{\"N\":\"5\"}}}"}};
    struct fx f;
    start(&f, script, 1);
    assert_int_equal(run_op(&f, ACQUIRE), 0);
    assert_int_equal(f.taken, 1);
    assert_string_equal(f.held.run_id, "runOld");
    assert_string_equal(f.held.holder, "carol@old");
    assert_string_equal(f.held.host, "old");
    assert_int_equal(f.held.pid, 9);
    assert_int_equal(f.held.expires, 5);
    stop(&f);
}

static void test_acquire_refused_names_holder(void **state)
{
    static const struct reply script[] = {{400, JSON10, CCF}, {200, JSON10, ITEM_B}};
    struct fx f;
    start(&f, script, 2);
    assert_int_equal(run_op(&f, ACQUIRE), MESH_ELOCKED);
    assert_string_equal(f.held.run_id, "runB");
    assert_string_equal(f.held.holder, "bob@ci");
    assert_int_equal(f.held.pid, 77);
    assert_non_null(strstr(f.err.msg, "state is locked by run runB (bob@ci, host ci, pid 77, `mesh apply`"));
    assert_non_null(strstr(f.err.msg, "lock table locks, LockID b/k"));
    static const struct sent get[] = {{"ConsistentRead", "true"}, {"Key/LockID/S", "b/k"}, {"TableName", "locks"}};
    EXPECT_SENT(&f, "DynamoDB_20120810.GetItem", get);
    stop(&f);
}

/* The put landed, its reply was lost, the HTTP layer sent it again and its condition failed
 * against the item it wrote itself: that is ours. */
static void test_acquire_own_replay(void **state)
{
    static const struct reply script[] = {
        {400, JSON10, CCF}, {200, JSON10, "{\"Item\":{\"LockID\":{\"S\":\"b/k\"},\"RunID\":{\"S\":\"runA\"},"
                                          "\"Expires\":{\"N\":\"1060\"}}}"}};
    struct fx f;
    start(&f, script, 2);
    assert_int_equal(run_op(&f, ACQUIRE), 0);
    assert_int_equal(f.taken, 0);
    stop(&f);

    /* The same run asking again while it holds the lease: the expiry it asks for is set. */
    static const struct reply again[] = {
        {400, JSON10, CCF},
        {200, JSON10, "{\"Item\":{\"LockID\":{\"S\":\"b/k\"},\"RunID\":{\"S\":\"runA\"},\"Expires\":{\"N\":\"1030\"}}}"},
        {200, JSON10, "{}"}};
    start(&f, again, 3);
    assert_int_equal(run_op(&f, ACQUIRE), 0);
    static const struct sent update[] = {{"ExpressionAttributeValues/:exp/N", "1060"},
                                         {"ExpressionAttributeValues/:run/S", "runA"}};
    EXPECT_SENT(&f, "DynamoDB_20120810.UpdateItem", update);
    stop(&f);
}

/* An item without RunID (another tool's) never counts as expired: refused, not looped on. */
static void test_acquire_foreign_item(void **state)
{
    static const struct reply script[] = {{400, JSON10, CCF},
                                          {200, JSON10, "{\"Item\":{\"LockID\":{\"S\":\"b/k\"},\"Info\":{\"S\":\"x\"}}}"}};
    struct fx f;
    start(&f, script, 2);
    assert_int_equal(run_op(&f, ACQUIRE), MESH_ELOCKED);
    assert_non_null(strstr(f.err.msg, "without RunID"));
    stop(&f);
}

static void test_renew_and_release(void **state)
{
    static const struct sent update[] = {
        {"UpdateExpression", "SET #e = :exp"}, {"ConditionExpression", "#r = :run"},
        {"ExpressionAttributeNames/#r", "RunID"}, {"ExpressionAttributeNames/#e", "Expires"},
        {"ExpressionAttributeValues/:run/S", "runA"}, {"ExpressionAttributeValues/:exp/N", "2000"},
        {"Key/LockID/S", "b/k"},
    };
    sent_by(RENEW, "DynamoDB_20120810.UpdateItem", update, sizeof(update) / sizeof(update[0]));
    static const struct sent del[] = {{"ConditionExpression", "#r = :run"}, {"ExpressionAttributeNames/#r", "RunID"},
                                      {"ExpressionAttributeValues/:run/S", "runA"}, {"Key/LockID/S", "b/k"}};
    sent_by(RELEASE, "DynamoDB_20120810.DeleteItem", del, sizeof(del) / sizeof(del[0]));
    sent_by(FORCE, "DynamoDB_20120810.DeleteItem", del, sizeof(del) / sizeof(del[0]));
}

static void test_read(void **state)
{
    static const struct reply none[] = {{200, JSON10, "{}"}};
    struct fx f;
    start(&f, none, 1);
    struct remote_lease info;
    int held = 9;
    assert_int_equal(ddb_lease_read(f.lease, &info, &held, &f.err), 0);
    assert_int_equal(held, 0);
    stop(&f);

    static const struct reply one[] = {{200, JSON10, ITEM_B}};
    start(&f, one, 1);
    assert_int_equal(ddb_lease_read(f.lease, &info, &held, &f.err), 0);
    assert_int_equal(held, 1);
    assert_string_equal(info.run_id, "runB");
    assert_string_equal(info.command, "apply");
    assert_int_equal(info.acquired, 1000);
    assert_int_equal(info.expires, 99999999999LL);
    stop(&f);
}

static void test_throttled_retried_by_http(void **state)
{
    struct fx f;
    /* Throttled twice, then through: the HTTP layer retries, the lease sends one request. */
    static const struct reply throttled[] = {
        {400, JSON10, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\","
                      "\"message\":\"slow down\"}"},
        {400, JSON10, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ThrottlingException\",\"message\":\"x\"}"},
        {500, JSON10, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#InternalServerError\",\"message\":\"x\"}"},
        {200, JSON10, "{}"}};
    start(&f, throttled, 4);
    assert_int_equal(ddb_lease_renew(f.lease, "runA", 2000, &f.err), 0);
    assert_int_equal(f.srv.served, 4);
    assert_int_equal(ddb_lease_requests(f.lease), 1);
    stop(&f);
}

static void test_check_table(void **state)
{
    struct fx f;
    static const struct reply ok[] = {
        {200, JSON10, "{\"Table\":{\"KeySchema\":[{\"AttributeName\":\"LockID\",\"KeyType\":\"HASH\"}],"
                      "\"AttributeDefinitions\":[{\"AttributeName\":\"LockID\",\"AttributeType\":\"S\"}]}}"}};
    start(&f, ok, 1);
    assert_int_equal(ddb_lease_check_table(f.lease, &f.err), 0);
    static const struct sent describe[] = {{"TableName", "locks"}};
    EXPECT_SENT(&f, "DynamoDB_20120810.DescribeTable", describe);
    stop(&f);
}

/* ---- KMS ---- */

#define JSON11 "Content-Type: application/x-amz-json-1.1\r\n"
/* base64 of 32 bytes 0x01..0x20, and of "wrapped!" */
#define PLAIN "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
#define BLOB "d3JhcHBlZCE="

static void test_kms_generate_and_unwrap(void **state)
{
    static const struct reply gen[] = {
        {200, JSON11, "{\"CiphertextBlob\":\"" BLOB "\",\"Plaintext\":\"" PLAIN "\",\"KeyId\":\"arn:k\"}"}};
    struct fx f;
    start(&f, gen, 1);
    unsigned char key[REMOTE_KEY_LEN], expect[REMOTE_KEY_LEN];
    for (int i = 0; i < REMOTE_KEY_LEN; i++) expect[i] = (unsigned char)(i + 1);
    unsigned char *wrapped = NULL;
    size_t len = 0;
    long before = state_kms_requests();
    assert_int_equal(state_kms_generate(&f.client, "alias/state", key, &wrapped, &len, &f.err), 0);
    assert_memory_equal(key, expect, REMOTE_KEY_LEN);
    assert_int_equal(len, 8);
    assert_memory_equal(wrapped, "wrapped!", 8);
    assert_int_equal(state_kms_requests(), before + 1);
    assert_non_null(strstr(f.srv.last_request, "Content-Type: application/x-amz-json-1.1\r\n"));
    static const struct sent gen_req[] = {{"KeyId", "alias/state"}, {"KeySpec", "AES_256"}};
    EXPECT_SENT(&f, "TrentService.GenerateDataKey", gen_req);
    stop(&f);

    static const struct reply dec[] = {{200, JSON11, "{\"Plaintext\":\"" PLAIN "\",\"KeyId\":\"arn:k\"}"}};
    start(&f, dec, 1);
    memset(key, 0, sizeof(key));
    assert_int_equal(state_kms_unwrap(&f.client, wrapped, len, key, &f.err), 0);
    assert_memory_equal(key, expect, REMOTE_KEY_LEN);
    static const struct sent dec_req[] = {{"CiphertextBlob", BLOB}};
    EXPECT_SENT(&f, "TrentService.Decrypt", dec_req);
    free(wrapped);
    stop(&f);
}

/* ---- failures: one canned script per case, the op's code and words ---- */

struct error_case {
    const char *name;
    enum op op;
    struct reply script[3];
    int n;
    int rc;
    const char *msg, *cause;
};

#define DDB_ERR(code, text) \
    {400, JSON10, "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" code "\",\"message\":\"" text "\"}"}
#define KMS_ERR(code, text) {400, JSON11, "{\"__type\":\"" code "\",\"message\":\"" text "\"}"}
#define GONE {200, JSON10, "{}"}
#define HELD_B {200, JSON10, ITEM_B}

static const struct error_case cases[] = {
    {"renew after the lease was taken over: ELOCKED naming the holder", RENEW, {{400, JSON10, CCF}, HELD_B}, 2,
     MESH_ELOCKED, "run runA lost the state lock (lock table locks, LockID b/k): its lease ran out", NULL},
    {"renew: the new holder named", RENEW, {{400, JSON10, CCF}, HELD_B}, 2, MESH_ELOCKED,
     "run runB (bob@ci, host ci, pid 77, `mesh apply`", NULL},
    {"release when already gone", RELEASE, {{400, JSON10, CCF}, GONE}, 2, 0, NULL, NULL},
    {"release of someone else's lease", RELEASE, {{400, JSON10, CCF}, HELD_B}, 2, MESH_ECONFLICT,
     "no longer held by run runA (it was taken over or force-unlocked); run runB", NULL},
    {"force_clear with no lease", FORCE, {{400, JSON10, CCF}, GONE}, 2, MESH_ENOTFOUND,
     "the state is not locked (no item b/k in lock table locks)", NULL},
    {"force_clear of another run's lease", FORCE, {{400, JSON10, CCF}, HELD_B}, 2, MESH_ECONFLICT,
     "not by run runA: run runB", NULL},
    /* The first delete landed and its reply was lost (a reset): the retry finds nothing, and
     * that is a success, not "not locked". */
    {"force_clear whose first delete landed unanswered", FORCE, {{0, NULL, NULL}, {400, JSON10, CCF}, GONE}, 3, 0,
     NULL, NULL},
    {"a missing table", ACQUIRE, {DDB_ERR("ResourceNotFoundException", "Requested resource not found")}, 1,
     MESH_ENOTFOUND, "dynamodb PutItem: lock table locks does not exist in us-west-2", "ResourceNotFoundException"},
    {"access denied names the action and the table", ACQUIRE,
     {{400, JSON10, "{\"__type\":\"com.amazon.coral.service#AccessDeniedException\",\"Message\":\"User: x is not "
                    "authorized to perform: dynamodb:PutItem\"}"}}, 1,
     MESH_ERR, "dynamodb PutItem on lock table locks was denied: allow dynamodb:PutItem on it (", "AccessDeniedException"},
    {"check_table: a missing table", CHECK, {DDB_ERR("ResourceNotFoundException", "x")}, 1, MESH_ENOTFOUND,
     "lock table locks does not exist in us-west-2: create it with a string partition key LockID", NULL},
    {"check_table: a numeric LockID", CHECK,
     {{200, JSON10, "{\"Table\":{\"KeySchema\":[{\"AttributeName\":\"LockID\",\"KeyType\":\"HASH\"}],"
                    "\"AttributeDefinitions\":[{\"AttributeName\":\"LockID\",\"AttributeType\":\"N\"}]}}"}}, 1,
     MESH_EINVAL, "has partition key LockID (N); the lease needs a table whose only key is LockID", NULL},
    {"kms: a missing key", GENERATE, {KMS_ERR("NotFoundException", "Alias alias/nope is not found.")}, 1, MESH_EINVAL,
     "making the state key with KMS key alias/nope failed (kms:GenerateDataKey): ", "NotFoundException"},
    {"kms: a missing key, what to check", GENERATE, {KMS_ERR("NotFoundException", "x")}, 1, MESH_EINVAL,
     "check state.kms_key_id", NULL},
    {"kms: a disabled key", GENERATE, {KMS_ERR("DisabledException", "key/1 is disabled.")}, 1, MESH_ERR,
     "key/1 is disabled.; enable it", NULL},
    {"kms: Decrypt denied", UNWRAP, {KMS_ERR("AccessDeniedException", "not authorized")}, 1, MESH_ERR,
     "(kms:Decrypt): kms Decrypt failed: AccessDeniedException: not authorized; ask for that permission",
     "AccessDeniedException"},
    /* Never MESH_ENOTFOUND from unwrap: the backend would take it for "no key made yet". */
    {"kms: the wrapping key deleted", UNWRAP, {KMS_ERR("NotFoundException", "gone")}, 1, MESH_EINVAL, "gone", NULL},
    {"kms: a damaged blob", UNWRAP, {KMS_ERR("InvalidCiphertextException", "")}, 1, MESH_ERR, "damaged", NULL},
    {"kms: a plaintext of another length", UNWRAP, {{200, JSON11, "{\"Plaintext\":\"" BLOB "\"}"}}, 1, MESH_ERR,
     "no 32-byte Plaintext", NULL},
};

static void test_failures(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct error_case *c = &cases[i];
        struct fx f;
        start(&f, c->script, c->n);
        int rc = run_op(&f, c->op);
        if (rc != c->rc || (c->msg && !strstr(f.err.msg, c->msg)) || (c->cause && strcmp(f.err.cause, c->cause) != 0))
            fail_msg("%s: rc %d (want %d), cause '%s', message: %s", c->name, rc, c->rc, f.err.cause, f.err.msg);
        assert_int_equal(f.srv.served, c->n);
        stop(&f);
    }
}

static int teardown_all(void **state)
{
    http_thread_release();
    xmlCleanupParser();
    return 0;
}

int main(void)
{
    wipe_install_json();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_request),
        cmocka_unit_test(test_acquire_takes_over_expired),
        cmocka_unit_test(test_acquire_refused_names_holder),
        cmocka_unit_test(test_acquire_own_replay),
        cmocka_unit_test(test_acquire_foreign_item),
        cmocka_unit_test(test_renew_and_release),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_throttled_retried_by_http),
        cmocka_unit_test(test_check_table),
        cmocka_unit_test(test_kms_generate_and_unwrap),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
