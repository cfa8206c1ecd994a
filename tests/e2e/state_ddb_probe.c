/* state_ddb_probe.c: team state's DynamoDB lease and KMS key (providers/aws/state_ddb.h,
 * state_kms.h) driven from the shell, for tests/e2e/state_ddb.sh against moto:
 *   probe TABLE LOCKID acquire RUN HOLDER HOST PID TTL   (TTL seconds from now; < 0: expired)
 *   probe TABLE LOCKID renew RUN TTL | release RUN | force RUN | read | check
 *   probe TABLE LOCKID race N     N rounds of two processes acquiring at the same moment
 *   probe TABLE LOCKID cycle N    N times: run cA<i> acquires, run cB<i> is refused naming it,
 *                                 cA<i> renews and releases (one process: for fault runs)
 *   probe - - kms-generate KEY_ID FILE    the wrapped key into FILE
 *   probe - - kms-unwrap FILE
 * Region, credentials and endpoints come from the environment, as mesh finds them. Prints
 * "ok ..." (acquire: "taken_over=N old=RUN/HOLDER/HOST/PID"; read: "held=N run=... expires=...";
 * kms: "key sha256=HEX", the key's fingerprint, never the key), or "err CODE CAUSE: MESSAGE"
 * and exits 1. cycle prints "cycle ok=K" (K cycles that went as expected). race prints "race won=W other=O" (W: rounds with exactly one winner and one refusal). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws/endpoint.h"
#include "aws/state_ddb.h"
#include "aws/state_kms.h"
#include "base/wipe.h"
#include "base/xalloc.h"

static struct aws_client client;
static struct http_retries retries;

static void client_open(void)
{
    memset(&client, 0, sizeof(client));
    http_client_init(&client.http);
    http_retries_init(&retries, -1);
    client.http.retries = &retries;
    char *region = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    if (aws_region_resolve(NULL, NULL, &region, &err) < 0) { printf("err region: %s\n", err.msg); exit(1); }
    snprintf(client.region, sizeof(client.region), "%s", region);
    free(region);
    struct aws_credentials_config cfg = {.region = client.region, .http = &client.http};
    client.creds = aws_credentials_new(&cfg);
}

static void client_close(void)
{
    aws_credentials_free(client.creds);
    client.creds = NULL;
    http_thread_release();
}

static int fail(const struct mesh_err *e)
{
    printf("err %d %s: %s\n", e->code, e->cause[0] ? e->cause : "-", e->msg);
    return 1;
}

static void fingerprint(const unsigned char *key)
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(key, REMOTE_KEY_LEN, md, &n, EVP_sha256(), NULL);
    printf("ok key sha256=");
    for (unsigned i = 0; i < n; i++) printf("%02x", md[i]);
    printf("\n");
}

static int kms(const char *what, char **argv)
{
    unsigned char key[REMOTE_KEY_LEN];
    struct mesh_err err;
    mesh_err_init(&err);
    int rc;
    if (strcmp(what, "kms-generate") == 0) {
        unsigned char *wrapped = NULL;
        size_t len = 0;
        rc = state_kms_generate(&client, argv[0], key, &wrapped, &len, &err);
        if (rc == 0) {
            FILE *f = fopen(argv[1], "wb");
            if (!f || fwrite(wrapped, 1, len, f) != len) rc = mesh_err_set(&err, MESH_ERR, NULL, "cannot write %s", argv[1]);
            if (f) fclose(f);
        }
        free(wrapped);
    } else {
        unsigned char buf[8192];
        FILE *f = fopen(argv[0], "rb");
        size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;
        if (f) fclose(f);
        rc = state_kms_unwrap(&client, buf, len, key, &err);
    }
    if (rc == 0) fingerprint(key);
    OPENSSL_cleanse(key, sizeof(key));
    printf("requests kms %ld\n", state_kms_requests());
    return rc ? fail(&err) : 0;
}

static void want_of(struct remote_lease *w, const char *run, const char *holder, const char *host, long long pid,
                    long long ttl)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->run_id, sizeof(w->run_id), "%s", run);
    snprintf(w->holder, sizeof(w->holder), "%s", holder);
    snprintf(w->host, sizeof(w->host), "%s", host);
    snprintf(w->command, sizeof(w->command), "apply");
    w->pid = pid;
    w->acquired = (long long)time(NULL);
    w->expires = w->acquired + ttl;
}

/* Two children per round, released at the same moment through a pipe; exactly one may win.
 * Each round has its own LockID (PREFIX/R), so nothing is released between rounds, and rounds
 * run 25 at a time. */
static int racer(const char *table, const char *lock_id, const char *run, int fd)
{
    char c;
    if (read(fd, &c, 1) < 0) return 9;
    client_open();
    struct remote_lease w, held;
    int taken = 0;
    want_of(&w, run, "racer@probe", "probe", getpid(), 60);
    struct mesh_err err;
    mesh_err_init(&err);
    int rc = ddb_lease_acquire(ddb_lease_new(&client, table, lock_id), &w, &held, &taken, &err);
    if (rc && rc != MESH_ELOCKED) fprintf(stderr, "%s: %s\n", run, err.msg);
    return rc == 0 ? 0 : rc == MESH_ELOCKED ? 3 : 4;
}

static int race(const char *table, const char *prefix, int rounds)
{
    enum { BATCH = 25 };
    int won = 0, other = 0;
    for (int r0 = 0; r0 < rounds; r0 += BATCH) {
        int go[2];
        if (pipe(go) != 0) return 1;
        pid_t kids[BATCH][2];
        int n = rounds - r0 < BATCH ? rounds - r0 : BATCH;
        for (int b = 0; b < n; b++)
            for (int k = 0; k < 2; k++) {
                if ((kids[b][k] = fork()) != 0) continue;
                close(go[1]);
                char lock_id[256], run[64];
                snprintf(lock_id, sizeof(lock_id), "%s/%d", prefix, r0 + b);
                snprintf(run, sizeof(run), "race-%d-%d", r0 + b, k);
                _exit(racer(table, lock_id, run, go[0]));
            }
        close(go[0]);
        close(go[1]);  /* EOF: every child reads it at once */
        for (int b = 0; b < n; b++) {
            int wins = 0, locks = 0;
            for (int k = 0; k < 2; k++) {
                int st = 0;
                waitpid(kids[b][k], &st, 0);
                int code = WIFEXITED(st) ? WEXITSTATUS(st) : 99;
                wins += code == 0;
                locks += code == 3;
            }
            if (wins == 1 && locks == 1) won++;
            else {
                other++;
                fprintf(stderr, "round %d: %d won, %d locked\n", r0 + b, wins, locks);
            }
        }
    }
    printf("race won=%d other=%d\n", won, other);
    return won == rounds ? 0 : 1;
}

static int cycle(const char *table, const char *lock_id, int n)
{
    struct ddb_lease *l = ddb_lease_new(&client, table, lock_id);
    int good = 0;
    for (int i = 0; i < n; i++) {
        struct remote_lease a, b, held;
        char ra[32], rb[32];
        snprintf(ra, sizeof(ra), "cA%d", i);
        snprintf(rb, sizeof(rb), "cB%d", i);
        want_of(&a, ra, "a@x", "x", 1, 60);
        want_of(&b, rb, "b@y", "y", 2, 60);
        struct mesh_err err;
        mesh_err_init(&err);
        int taken = 0, rc = ddb_lease_acquire(l, &a, &held, &taken, &err);
        int ok = rc == 0 && !taken;
        if (ok) {
            mesh_err_init(&err);
            rc = ddb_lease_acquire(l, &b, &held, &taken, &err);
            ok = rc == MESH_ELOCKED && strcmp(held.run_id, ra) == 0 && held.pid == 1;
        }
        if (ok) {
            mesh_err_init(&err);
            ok = ddb_lease_renew(l, ra, (long long)time(NULL) + 90, &err) == 0 && ddb_lease_release(l, ra, &err) == 0;
        }
        if (!ok) printf("cycle %d: rc %d: %s\n", i, rc, err.msg);
        good += ok;
    }
    printf("cycle ok=%d\n", good);
    ddb_lease_free(l);
    return good == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: probe TABLE LOCKID OP ARGS... (see the header)\n");
        return 2;
    }
    wipe_install_json();
    const char *table = argv[1], *lock_id = argv[2], *op = argv[3];
    if (strcmp(op, "race") == 0) {
        int rc = race(table, lock_id, argc > 4 ? atoi(argv[4]) : 50);
        xmlCleanupParser();
        return rc;
    }
    client_open();
    int rc = 0;
    if (strncmp(op, "kms-", 4) == 0) {
        rc = kms(op, argv + 4);
    } else {
        struct ddb_lease *l = ddb_lease_new(&client, table, lock_id);
        struct mesh_err err;
        mesh_err_init(&err);
        struct remote_lease w, held;
        int flag = 0;
        if (strcmp(op, "acquire") == 0 && argc >= 9) {
            want_of(&w, argv[4], argv[5], argv[6], atoll(argv[7]), atoll(argv[8]));
            rc = ddb_lease_acquire(l, &w, &held, &flag, &err);
            if (rc == 0) printf("ok taken_over=%d old=%s/%s/%s/%lld\n", flag, held.run_id, held.holder, held.host, held.pid);
            else if (rc == MESH_ELOCKED)
                printf("held_by run=%s holder=%s host=%s pid=%lld\n", held.run_id, held.holder, held.host, held.pid);
        } else if (strcmp(op, "renew") == 0 && argc >= 6) {
            rc = ddb_lease_renew(l, argv[4], (long long)time(NULL) + atoll(argv[5]), &err);
            if (rc == 0) printf("ok renewed\n");
        } else if (strcmp(op, "release") == 0 && argc >= 5) {
            if ((rc = ddb_lease_release(l, argv[4], &err)) == 0) printf("ok released\n");
        } else if (strcmp(op, "force") == 0 && argc >= 5) {
            if ((rc = ddb_lease_force_clear(l, argv[4], &err)) == 0) printf("ok cleared\n");
        } else if (strcmp(op, "read") == 0) {
            rc = ddb_lease_read(l, &held, &flag, &err);
            if (rc == 0)
                printf("ok held=%d run=%s holder=%s host=%s pid=%lld command=%s age=%lld expires_in=%lld\n", flag,
                       held.run_id, held.holder, held.host, held.pid, held.command,
                       flag ? (long long)time(NULL) - held.acquired : 0, flag ? held.expires - (long long)time(NULL) : 0);
        } else if (strcmp(op, "cycle") == 0 && argc >= 5) {
            rc = cycle(table, lock_id, atoi(argv[4])) ? 3 : 0;
        } else if (strcmp(op, "check") == 0) {
            if ((rc = ddb_lease_check_table(l, &err)) == 0) printf("ok table\n");
        } else {
            fprintf(stderr, "bad op %s\n", op);
            rc = 2;
        }
        printf("requests dynamodb %ld\n", ddb_lease_requests(l));
        if (rc && rc != 2 && rc != 3) rc = fail(&err);
        ddb_lease_free(l);
    }
    client_close();
    xmlCleanupParser();
    return rc ? 1 : 0;
}
