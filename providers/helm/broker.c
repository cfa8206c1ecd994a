/* broker.c: the credential of a connection, handed to helm's exec plugin (`mesh token CLUSTER
 * --broker SOCKET`) over a unix socket in the session's 0700 directory, by a thread of this mesh
 * for as long as the session lasts. Only a peer of this user in the process group of the helm
 * that runs now is answered (SO_PEERCRED, then its pgid): another process of the same user that
 * finds the socket gets "error: refused". The reply is an ExecCredential, or "error: ..." (no
 * secret in it). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/wipe.h"
#include "base/xalloc.h"
#include "helm/helm.h"

struct helm_broker {
    atomic_int allowed;   /* the pgid answered; 0: none */
    int fd;
    int stop[2];
    pthread_t thread;
    struct kube_conn *k;
};

char *helm_exec_credential(const struct kube_credential *cred)
{
    json_t *status = json_object();
    if (cred->token) json_object_set_new(status, "token", json_string(cred->token));
    if (cred->cert_pem && cred->key_pem) {
        json_object_set_new(status, "clientCertificateData", json_string(cred->cert_pem));
        json_object_set_new(status, "clientKeyData", json_string(cred->key_pem));
    }
    if (cred->expires > 0) {
        char stamp[32];
        time_t t = (time_t)cred->expires;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(status, "expirationTimestamp", json_string(stamp));
    }
    json_t *doc = json_pack("{s:s, s:s, s:{}, s:o}", "apiVersion", "client.authentication.k8s.io/v1", "kind",
                            "ExecCredential", "spec", "status", status);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);  /* jansson's allocator wipes (wipe_install_json) */
    return text;
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void serve(struct helm_broker *b, int fd)
{
    struct ucred peer;
    socklen_t len = sizeof(peer);
    pid_t allowed = atomic_load(&b->allowed);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 || peer.uid != getuid() || allowed <= 0 ||
        getpgid(peer.pid) != allowed) {
        write_all(fd, "error: refused\n", 15);
        return;
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct kube_credential cred;
    struct mesh_err e;
    mesh_err_init(&e);
    if (kube_conn_credential(b->k, &cred, &e) < 0) {
        char msg[1200];
        int n = snprintf(msg, sizeof(msg), "error: %s\n", e.msg);
        write_all(fd, msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
        return;
    }
    char *text = helm_exec_credential(&cred);
    write_all(fd, text, strlen(text));
    write_all(fd, "\n", 1);
    wipe_free(text);
    kube_credential_release(&cred);
}

static void *loop(void *arg)
{
    struct helm_broker *b = arg;
    struct pollfd fds[2] = {{b->fd, POLLIN, 0}, {b->stop[0], POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[1].revents) break;
        if (!(fds[0].revents & POLLIN)) continue;
        int fd = accept4(b->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        serve(b, fd);
        close(fd);
    }
    return NULL;
}

struct helm_broker *helm_broker_start(const char *path, struct kube_conn *k, struct mesh_err *e)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        mesh_err_set(e, MESH_ERR, NULL, "helm: the socket path %s is too long (TMPDIR is too deep)", path);
        return NULL;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    struct helm_broker *b = xcalloc(1, sizeof(*b));
    b->k = k;
    b->stop[0] = b->stop[1] = -1;
    b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->fd < 0 || bind(b->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(b->fd, 16) != 0 ||
        pipe2(b->stop, O_CLOEXEC) != 0) {
        mesh_err_set(e, MESH_ERR, NULL, "helm: cannot serve the credential at %s: %s", path, strerror(errno));
    } else if (pthread_create(&b->thread, NULL, loop, b) != 0) {
        mesh_err_set(e, MESH_ERR, NULL, "helm: cannot start the credential thread");
    } else {
        return b;
    }
    if (b->fd >= 0) close(b->fd);
    if (b->stop[0] >= 0) close(b->stop[0]);
    if (b->stop[1] >= 0) close(b->stop[1]);
    free(b);
    return NULL;
}

void helm_broker_allow(struct helm_broker *b, pid_t pgid)
{
    if (b) atomic_store(&b->allowed, pgid);
}

void helm_broker_stop(struct helm_broker *b)
{
    if (!b) return;
    write_all(b->stop[1], "x", 1);
    pthread_join(b->thread, NULL);
    close(b->fd);
    close(b->stop[0]);
    close(b->stop[1]);
    free(b);
}
