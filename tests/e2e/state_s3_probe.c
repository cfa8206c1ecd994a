/* state_s3_probe.c: the S3 backend of team state (providers/aws/state_s3.h) driven op by op,
 * for tests/e2e/state_s3_backend.sh. Opened as mesh opens it (region, credentials and endpoint
 * from the environment):
 *   probe BUCKET KEY 'CMD ARGS' ...     one line per command:
 *     base_get | base_put DATA [ETAG] | log_put GEN SEQ DATA | log_get GEN SEQ | log_drop GEN
 *     lease_acquire RUN HOLDER SECONDS | lease_renew RUN SECONDS | lease_release RUN | lease_read
 *     lease_force_clear RUN | preflight | counts | logs GEN N   (put then read back logs 1..N)
 *     key_create | key_get   ("ok FINGERPRINT": 8 hex digits of the key's SHA-256, never the key)
 *   "ok ..." or "err CODE MESSAGE". Options before BUCKET: --lock-table T, --kms KEY. */
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/state_s3.h"
#include "http.h"

static struct remote R;

static int report(int rc, const struct mesh_err *e)
{
    if (rc < 0) printf("err %d %s\n", rc, e->msg);
    return rc;
}

static void lease_fill(struct remote_lease *l, const char *run, const char *holder, long long secs)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->run_id, sizeof(l->run_id), "%s", run);
    snprintf(l->holder, sizeof(l->holder), "%s", holder);
    snprintf(l->host, sizeof(l->host), "probe-host");
    snprintf(l->command, sizeof(l->command), "apply");
    l->pid = 4242;
    l->acquired = (long long)time(NULL);
    l->expires = l->acquired + secs;
}

static int cmd_logs(long long gen, int n, struct mesh_err *e)
{
    char data[64];
    for (int i = 1; i <= n; i++) {
        snprintf(data, sizeof(data), "changeset-%lld-%d", gen, i);
        if (R.ops->log_put(R.be, gen, i, data, strlen(data), e) < 0) return e->code;
    }
    for (int i = 1; i <= n; i++) {
        struct remote_blob b;
        snprintf(data, sizeof(data), "changeset-%lld-%d", gen, i);
        if (R.ops->log_get(R.be, gen, i, &b, e) < 0) return e->code;
        int same = b.len == strlen(data) && memcmp(b.data, data, b.len) == 0;
        remote_blob_release(&b);
        if (!same) return mesh_err_set(e, MESH_ERR, NULL, "log %d read back differs", i);
    }
    printf("ok %d logs\n", n);
    return 0;
}

static int run(char *line)
{
    char *argv[8] = {0};
    int argc = 0;
    for (char *t = strtok(line, " "); t && argc < 8; t = strtok(NULL, " ")) argv[argc++] = t;
    if (!argc) return 0;
    const char *c = argv[0];
    struct mesh_err e;
    mesh_err_init(&e);
    struct remote_blob b;
    char etag[REMOTE_ETAG_MAX] = "";
    struct remote_lease want, held;
    int n = 0, rc;
    if (strcmp(c, "base_get") == 0 || strcmp(c, "log_get") == 0) {
        rc = c[0] == 'b' ? R.ops->base_get(R.be, &b, &e) : R.ops->log_get(R.be, atoll(argv[1]), atoll(argv[2]), &b, &e);
        if (rc == 0) printf("ok %zu %s %.*s\n", b.len, b.etag, (int)b.len, (const char *)b.data);
        if (rc == 0) remote_blob_release(&b);
    } else if (strcmp(c, "base_put") == 0) {
        rc = R.ops->base_put(R.be, argv[1], strlen(argv[1]), argc > 2 ? argv[2] : NULL, etag, &e);
        if (rc == 0) printf("ok %s\n", etag);
    } else if (strcmp(c, "log_put") == 0) {
        rc = R.ops->log_put(R.be, atoll(argv[1]), atoll(argv[2]), argv[3], strlen(argv[3]), &e);
        if (rc == 0) printf("ok\n");
    } else if (strcmp(c, "log_drop") == 0) {
        rc = R.ops->log_drop(R.be, atoll(argv[1]), &e);
        if (rc == 0) printf("ok\n");
    } else if (strcmp(c, "logs") == 0) {
        rc = cmd_logs(atoll(argv[1]), atoi(argv[2]), &e);
    } else if (strcmp(c, "lease_acquire") == 0) {
        lease_fill(&want, argv[1], argv[2], atoll(argv[3]));
        rc = R.ops->lease_acquire(R.be, &want, &held, &n, &e);
        if (rc == 0) printf("ok taken_over=%d prev=%s\n", n, n ? held.run_id : "-");
        else printf("held_by %s %s\n", held.run_id[0] ? held.run_id : "-", held.holder[0] ? held.holder : "-");
    } else if (strcmp(c, "lease_renew") == 0) {
        rc = R.ops->lease_renew(R.be, argv[1], (long long)time(NULL) + atoll(argv[2]), &e);
        if (rc == 0) printf("ok\n");
    } else if (strcmp(c, "lease_release") == 0 || strcmp(c, "lease_force_clear") == 0) {
        rc = c[6] == 'r' ? R.ops->lease_release(R.be, argv[1], &e) : R.ops->lease_force_clear(R.be, argv[1], &e);
        if (rc == 0) printf("ok\n");
    } else if (strcmp(c, "lease_read") == 0) {
        rc = R.ops->lease_read(R.be, &held, &n, &e);
        if (rc == 0) printf("ok held=%d %s %s %lld\n", n, n ? held.run_id : "-", n ? held.holder : "-",
                            n ? held.expires - (long long)time(NULL) : 0);
    } else if (strcmp(c, "key_create") == 0 || strcmp(c, "key_get") == 0) {
        unsigned char key[REMOTE_KEY_LEN], md[SHA256_DIGEST_LENGTH];
        if (!R.ops->key_get) {
            printf("ok no key ops\n");
            return 0;
        }
        rc = c[4] == 'c' ? R.ops->key_create(R.be, key, &e) : R.ops->key_get(R.be, key, &e);
        SHA256(key, sizeof(key), md);
        if (rc == 0) printf("ok %02x%02x%02x%02x\n", md[0], md[1], md[2], md[3]);
        OPENSSL_cleanse(key, sizeof(key));
    } else if (strcmp(c, "preflight") == 0) {
        rc = state_s3_preflight(&R, &n, &e);
        if (rc == 0) printf("ok versioned=%d\n", n);
    } else if (strcmp(c, "counts") == 0) {
        struct state_s3_count k[8];
        int m = state_s3_counts(&R, k, 8);
        printf("ok");
        for (int i = 0; i < m; i++) printf(" %s=%ld", k[i].what, k[i].count);
        printf("\n");
        rc = 0;
    } else {
        fprintf(stderr, "unknown command %s\n", c);
        return 2;
    }
    return report(rc, &e);
}

int main(int argc, char **argv)
{
    struct state_s3_config cfg = {.path_style = -1};
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--lock-table") == 0) cfg.lock_table = argv[i + 1];
        else if (strcmp(argv[i], "--kms") == 0) cfg.kms_key_id = argv[i + 1];
    }
    if (argc - i < 2) {
        fprintf(stderr, "usage: probe [--lock-table T] [--kms K] BUCKET KEY 'CMD ARGS'...\n");
        return 2;
    }
    cfg.bucket = argv[i];
    cfg.key = argv[i + 1];
    struct mesh_err e;
    mesh_err_init(&e);
    if (state_s3_open(&cfg, &R, &e) < 0) {
        printf("err %d %s\n", e.code, e.msg);
        return 1;
    }
    int failed = 0;
    for (int k = i + 2; k < argc; k++) {
        char *line = strdup(argv[k]);
        failed |= run(line) != 0;
        free(line);
    }
    R.ops->free(R.be);
    http_thread_release();
    xmlCleanupParser();
    return failed;
}
