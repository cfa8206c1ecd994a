/* http.h: the one HTTP layer every provider uses (the only code that calls libcurl).
 *
 * It owns the retry policy: exponential backoff with full jitter on throttling, 5xx and
 * connection resets, Retry-After honoured, a per-run retry budget and counter, a cancel flag
 * checked between attempts. A request flagged `once` (not idempotent) is retried only while it
 * cannot have reached the server (no connection, throttled, 503); after that it fails with
 * MESH_EUNKNOWN and the caller looks before it asks again. Callers never loop on retries themselves; a protocol layer only
 * tells http.c what a reply means (req->classify), never how long to wait.
 *
 * It knows nothing of drivers, the engine or AWS, so a state backend can reuse it. */
#ifndef MESH_HTTP_H
#define MESH_HTTP_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "base/vec.h"

struct http_header {
    char *name;
    char *value;
};

/* What a reply means for the retry policy. */
enum http_verdict {
    HTTP_DONE = 0,       /* final: success or an error worth reporting as is */
    HTTP_RETRY = 1,      /* transient (5xx, reset): back off and retry */
    HTTP_THROTTLED = 2,  /* throttled: back off longer and retry */
    HTTP_RETRY_BRIEF = 3, /* a 5xx that may be final as well: retried twice (HTTP_BRIEF_ATTEMPTS in
                           * all), then reported */
};

struct http_response;
struct http_request;

/* Optional hooks. classify() replaces http_verdict_default() when the protocol knows better (a
 * 400 whose body says Throttling is a throttle; a 500 HTML page from something that is not the
 * API will not get better); prepare() runs before every attempt (re-sign with a fresh date and
 * fresh credentials). */
typedef enum http_verdict (*http_classify_fn)(const struct http_response *resp);
typedef int (*http_prepare_fn)(struct http_request *req, void *ctx, struct mesh_err *err);

struct http_request {
    const char *method;        /* "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD" */
    char *url;                 /* owned */
    struct vec headers;        /* struct http_header *, owned */
    const char *body;          /* not owned; may be NULL */
    size_t body_len;
    const char *content_type;  /* not owned; NULL: none */
    const char *what;          /* label for logs and errors, e.g. "ec2 DescribeVpcs"; may be NULL */
    int secret_body;           /* redact the request body from debug logs */
    int secret_reply;          /* redact the reply body from debug logs */
    int max_attempts;          /* 0: the client's default */
    /* Not idempotent: each time the server processes it, something new is made (EC2 CreateVpc, KMS
     * CreateKey: no duplicate check, no idempotency token). Sent on a fresh connection (curl resends
     * on its own when a reused one dies under it), retried only on a refused connection, a throttle
     * or a 503; once it may have been processed (sent, then a reset, a timeout, no reply or another
     * 5xx) http_send fails with MESH_EUNKNOWN instead of sending it again. */
    int once;
    size_t max_reply;          /* bytes; a longer reply body fails the request (0: no limit) */
    volatile sig_atomic_t *cancel;  /* NULL: the client's */
    http_classify_fn classify;
    http_prepare_fn prepare;
    void *prepare_ctx;
};

struct http_response {
    long status;               /* 0 if no reply arrived */
    struct strbuf body;
    struct vec headers;        /* struct http_header *, owned, of the last reply */
    double retry_after;        /* seconds from Retry-After; < 0 when absent */
    int attempts;              /* how many attempts this request took */
    size_t max_body;           /* set from the request's max_reply */
    int too_big;               /* the body outgrew max_body: the transfer was cut */
    char *url;                 /* the URL the reply came from (owned), for errors about its body */
};

/* One per run, shared by every worker: how many retries may still happen and how many did. */
struct http_retries {
    atomic_long used;
    long budget;               /* < 0: unlimited */
};

/* PEM held in memory (libcurl blobs, never a temporary file). Not owned: the owner keeps it
 * alive while requests run, and wipes a key itself. */
struct http_blob {
    const void *data;
    size_t len;                /* 0: none */
};

struct http_client {
    const char *ca_bundle;     /* PEM file; NULL: the system store. Verification is always on. */
    struct http_blob ca_pem;   /* CA certificates (PEM); when set, trusted instead of ca_bundle */
    struct http_blob cert_pem; /* client certificate (PEM), with key_pem: mutual TLS */
    struct http_blob key_pem;  /* its private key (PEM): a secret */
    long connect_timeout_ms;   /* default 10 s */
    long timeout_ms;           /* whole transfer of one attempt, default 120 s (MESH_HTTP_TIMEOUT) */
    long low_speed_s;          /* an attempt receiving under 1 byte/s this long fails, default 30 s
                                * (MESH_HTTP_LOW_SPEED_TIME): a server gone quiet */
    size_t max_reply;          /* bytes of a reply body when the request sets none, default 32 MiB
                                * (MESH_HTTP_MAX_REPLY): a huge or endless reply fails, memory stays
                                * bounded */
    int max_attempts;          /* per request, default 10 */
    double base_delay;         /* seconds, first backoff cap for 5xx/resets (default 0.1) */
    double throttle_delay;     /* seconds, first backoff cap when throttled (default 0.5) */
    double max_delay;          /* seconds, cap of any one wait (default 20) */
    struct http_retries *retries;   /* may be NULL */
    volatile sig_atomic_t *cancel;  /* may be NULL */
};

void http_retries_init(struct http_retries *r, long budget);
long http_retries_count(const struct http_retries *r);

/* The defaults above. MESH_HTTP_TIMEOUT / MESH_HTTP_LOW_SPEED_TIME (seconds, fractions allowed
 * for the timeout) and MESH_HTTP_MAX_REPLY (bytes) cap them, and what any layer sets after, at
 * every attempt (tests of hostile servers; docs/reliability.md). */
void http_client_init(struct http_client *c);

void http_request_init(struct http_request *req, const char *method, const char *url);
void http_request_release(struct http_request *req);
/* Adds a header, replacing one of the same name (case-insensitive). */
void http_request_set_header(struct http_request *req, const char *name, const char *value);
const char *http_request_header(const struct http_request *req, const char *name);

void http_response_init(struct http_response *resp);
void http_response_release(struct http_response *resp);
const char *http_response_header(const struct http_response *resp, const char *name);

/* Sends req with the retry policy. Returns 0 when a reply arrived (whatever its status: the
 * caller reads the protocol's error from it), MESH_ECANCELED when cancelled between attempts,
 * MESH_ETIMEOUT / MESH_ERR when no reply arrived after the last attempt, MESH_EUNKNOWN when a
 * `once` request may have taken effect without a final answer (resp holds a 5xx reply if any). */
int http_send(const struct http_client *c, struct http_request *req, struct http_response *resp,
              struct mesh_err *err);

/* 429: throttled; 5xx but 501: transient; anything else: final. */
enum http_verdict http_verdict_default(const struct http_response *resp);

/* Splits a URL with libcurl's parser. Each out pointer may be NULL; results are malloc'd.
 * host_port is "host" or "host:port" when the port is not the scheme's default (the Host
 * header), path is "/" when empty, query is "" when absent (no '?'). */
int http_url_split(const char *url, char **scheme, char **host_port, char **path, char **query,
                   struct mesh_err *err);

/* The wait before retry number n (0-based) for a verdict: full jitter over an exponentially
 * growing cap, or Retry-After when given; scaled by MESH_BACKOFF_SCALE. Exposed for tests. */
double http_backoff(const struct http_client *c, enum http_verdict v, int n, double retry_after);
/* MESH_BACKOFF_SCALE (default 1): tests shrink every retry wait and poll with it. */
double http_backoff_scale(void);

/* Frees the calling thread's cached curl handle (worker threads do it at exit by themselves). */
void http_thread_release(void);

/* The HTTP library and its version ("libcurl 8.0.1"), for `mesh version`. */
const char *http_lib_version(void);

#endif
