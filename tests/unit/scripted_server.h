/* scripted_server.h: a scripted HTTP server for unit tests: a thread on a free 127.0.0.1 port
 * that answers each request with the next reply of a script (status 0 resets the connection).
 * Header-only: included by the cmocka tests that need one (test_http, and through aws_fixture.h the AWS ones). */
#ifndef MESH_TEST_SCRIPTED_SERVER_H
#define MESH_TEST_SCRIPTED_SERVER_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct reply {
    int status;          /* 0: reset the connection without answering */
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
};

struct server {
    int fd, port;
    pthread_t thread;
    const struct reply *script;
    int nscript, served, accepted;
    char last_request[8192];
};

static void read_request(int c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    while (len < n - 1) {
        ssize_t r = recv(c, buf + len, n - 1 - len, 0);
        if (r <= 0) { buf[0] = '\0'; return; }
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
        if (len >= want) return;
    }
}

static void *server_main(void *p)
{
    struct server *s = p;
    while (s->served < s->nscript) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        s->accepted++;
        while (s->served < s->nscript) {
            char req[8192];
            read_request(c, req, sizeof(req));
            if (!req[0]) break;
            snprintf(s->last_request, sizeof(s->last_request), "%s", req);
            const struct reply *r = &s->script[s->served++];
            if (r->status == 0) {
                struct linger lg = { 1, 0 };  /* RST, as a crashed peer would */
                setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                break;
            }
            char out[8192];
            const char *body = r->body ? r->body : "";
            int n = snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n%s",
                             r->status, strlen(body), r->headers ? r->headers : "", body);
            if (send(c, out, (size_t)n, MSG_NOSIGNAL) < 0) break;
            if (r->headers && strstr(r->headers, "Connection: close")) break;
        }
        close(c);
    }
    shutdown(s->fd, SHUT_RDWR);  /* script done: further connects are refused, not left hanging */
    return NULL;
}

static void server_start(struct server *s, const struct reply *script, int n)
{
    memset(s, 0, sizeof(*s));
    s->script = script;
    s->nscript = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    socklen_t len = sizeof(a);
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, server_main, s);
}

static void server_stop(struct server *s)
{
    shutdown(s->fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

#endif
