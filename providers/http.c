/* http.c: the one HTTP layer (see http.h). The only file in mesh that calls libcurl.
 *
 * Each thread keeps one curl easy handle (in a pthread key), so a worker reuses its
 * connections across requests without locking; curl_easy_reset keeps the connection cache. */
#include "http.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "base/xalloc.h"

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static pthread_key_t http_key;

static void http_handle_free(void *h) { curl_easy_cleanup(h); }

static void http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&http_key, http_handle_free);
}

static CURL *http_thread_handle(void)
{
    pthread_once(&http_once, http_global_init);
    CURL *h = pthread_getspecific(http_key);
    if (!h) {
        h = curl_easy_init();
        pthread_setspecific(http_key, h);
    }
    return h;
}

static pthread_once_t version_once = PTHREAD_ONCE_INIT;
static char version_text[64];
static void version_fill(void)
{
    snprintf(version_text, sizeof(version_text), "libcurl %s", curl_version_info(CURLVERSION_NOW)->version);
}

const char *http_lib_version(void)
{
    pthread_once(&version_once, version_fill);
    return version_text;
}

void http_thread_release(void)
{
    pthread_once(&http_once, http_global_init);
    CURL *h = pthread_getspecific(http_key);
    if (h) curl_easy_cleanup(h);
    pthread_setspecific(http_key, NULL);
}

/* ---- small types ---- */

void http_retries_init(struct http_retries *r, long budget)
{
    atomic_init(&r->used, 0);
    r->budget = budget;
}

long http_retries_count(const struct http_retries *r)
{
    return r ? atomic_load(&((struct http_retries *)r)->used) : 0;
}

/* A positive number from the environment, else dflt. The MESH_HTTP_* knobs cap what a client
 * asks for (a provider that sets its own patience, as kubernetes_connection does, is capped too),
 * so a test of a hostile server ends in seconds whatever layer made the request. */
static double env_positive(const char *name, double dflt)
{
    const char *s = getenv(name);
    if (!s || !*s) return dflt;
    char *end;
    double v = strtod(s, &end);
    return end != s && *end == '\0' && v > 0 ? v : dflt;
}

void http_client_init(struct http_client *c)
{
    memset(c, 0, sizeof(*c));
    c->connect_timeout_ms = 10000;
    c->timeout_ms = 120000;
    c->low_speed_s = 30;
    c->max_reply = 32u << 20;
    c->max_attempts = 10;
    c->base_delay = 0.1;
    c->throttle_delay = 0.5;
    c->max_delay = 20.0;
}

static void header_free(void *p)
{
    struct http_header *h = p;
    free(h->name);
    free(h->value);
    free(h);
}

static struct http_header *headers_find(const struct vec *v, const char *name)
{
    for (size_t i = 0; i < v->len; i++) {
        struct http_header *h = v->items[i];
        if (strcasecmp(h->name, name) == 0) return h;
    }
    return NULL;
}

static void headers_add(struct vec *v, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct http_header *h = xcalloc(1, sizeof(*h));
    h->name = xstrndup(name, nlen);
    h->value = xstrndup(value, vlen);
    if (!h->name || !h->value) abort();
    vec_push(v, h);
}

void http_request_init(struct http_request *req, const char *method, const char *url)
{
    memset(req, 0, sizeof(*req));
    req->method = method;
    req->url = xstrdup(url ? url : "");
    vec_init(&req->headers);
}

void http_request_release(struct http_request *req)
{
    free(req->url);
    req->url = NULL;
    vec_free_all(&req->headers, header_free);
}

void http_request_set_header(struct http_request *req, const char *name, const char *value)
{
    struct http_header *h = headers_find(&req->headers, name);
    if (h) {
        free(h->value);
        h->value = xstrdup(value);
        return;
    }
    headers_add(&req->headers, name, strlen(name), value, strlen(value));
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    struct http_header *h = headers_find(&req->headers, name);
    return h ? h->value : NULL;
}

void http_response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    strbuf_init(&resp->body);
    vec_init(&resp->headers);
    resp->retry_after = -1;
}

static void http_response_reset(struct http_response *resp)
{
    free(resp->url);
    resp->url = NULL;
    resp->status = 0;
    strbuf_reset(&resp->body);
    vec_free_all(&resp->headers, header_free);
    resp->retry_after = -1;
}

void http_response_release(struct http_response *resp)
{
    free(resp->url);
    resp->url = NULL;
    strbuf_release(&resp->body);
    vec_free_all(&resp->headers, header_free);
}

const char *http_response_header(const struct http_response *resp, const char *name)
{
    struct http_header *h = headers_find(&resp->headers, name);
    return h ? h->value : NULL;
}

/* ---- URL parsing (libcurl's parser, so every layer agrees with what curl sends) ---- */

static char *url_part(CURLU *u, CURLUPart part, unsigned flags)
{
    char *s = NULL;
    if (curl_url_get(u, part, &s, flags) != CURLUE_OK) return NULL;
    char *copy = xstrdup(s);
    curl_free(s);
    return copy;
}

int http_url_split(const char *url, char **scheme, char **host_port, char **path, char **query,
                   struct mesh_err *err)
{
    CURLU *u = curl_url();
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        curl_url_cleanup(u);
        return mesh_err_set(err, MESH_EINVAL, NULL, "not a valid URL: '%s'", url);
    }
    if (scheme) *scheme = url_part(u, CURLUPART_SCHEME, 0);
    if (host_port) {
        char *host = url_part(u, CURLUPART_HOST, 0);
        char *port = url_part(u, CURLUPART_PORT, 0);  /* NULL unless given and not the default */
        struct strbuf sb = STRBUF_INIT;
        strbuf_init(&sb);
        strbuf_adds(&sb, host ? host : "");
        if (port) strbuf_addf(&sb, ":%s", port);
        *host_port = strbuf_detach(&sb);
        free(host);
        free(port);
    }
    if (path) {
        *path = url_part(u, CURLUPART_PATH, 0);
        if (!*path || !**path) { free(*path); *path = xstrdup("/"); }
    }
    if (query) {
        *query = url_part(u, CURLUPART_QUERY, 0);
        if (!*query) *query = xstrdup("");
    }
    curl_url_cleanup(u);
    return 0;
}

/* ---- debug log with redaction ---- */

static int http_debug_on(void)
{
    const char *v = getenv("MESH_LOG");
    return v && strcasecmp(v, "debug") == 0;
}

static int header_is_secret(const char *name)
{
    static const char *const secret[] = {
        "authorization", "proxy-authorization", "x-amz-security-token", "x-aws-ec2-metadata-token",
        "cookie", "set-cookie", NULL,
    };
    for (int i = 0; secret[i]; i++)
        if (strcasecmp(name, secret[i]) == 0) return 1;
    return 0;
}

/* Presigned URLs carry the signature and the session token in the query string. */
static void log_url(const char *url)
{
    static const char *const secret[] = { "X-Amz-Signature=", "X-Amz-Security-Token=",
                                          "X-Amz-Credential=", NULL };
    const char *p = url;
    while (*p) {
        int hit = 0;
        for (int i = 0; secret[i]; i++) {
            size_t n = strlen(secret[i]);
            if ((p == url || p[-1] == '?' || p[-1] == '&') && strncasecmp(p, secret[i], n) == 0) {
                fprintf(stderr, "%.*sREDACTED", (int)n, p);
                p += n;
                while (*p && *p != '&') p++;
                hit = 1;
                break;
            }
        }
        if (!hit) fputc(*p++, stderr);
    }
}

/* A reply that looks like it carries credentials is redacted even if nobody flagged it. */
static int body_looks_secret(const char *body, size_t len)
{
    static const char *const marks[] = { "SecretAccessKey", "SessionToken", "\"Token\"",
                                         "PRIVATE KEY", NULL };
    for (int i = 0; marks[i]; i++)
        if (memmem(body, len, marks[i], strlen(marks[i]))) return 1;
    return 0;
}

static void log_body(const char *dir, const char *body, size_t len, int secret)
{
    if (!body || len == 0) return;
    if (secret || body_looks_secret(body, len)) {
        fprintf(stderr, "http: %s body: (%zu bytes, redacted)\n", dir, len);
        return;
    }
    int shown = len > 2048 ? 2048 : (int)len;
    fprintf(stderr, "http: %s body: %.*s%s\n", dir, shown, body, len > 2048 ? "..." : "");
}

static void log_request(const struct http_request *req, int attempt)
{
    fprintf(stderr, "http: > %s ", req->method);
    log_url(req->url);
    fprintf(stderr, " (%s, attempt %d)\n", req->what ? req->what : "request", attempt);
    for (size_t i = 0; i < req->headers.len; i++) {
        const struct http_header *h = req->headers.items[i];
        fprintf(stderr, "http: > %s: %s\n", h->name, header_is_secret(h->name) ? "REDACTED" : h->value);
    }
    log_body(">", req->body, req->body_len, req->secret_body);
}

static void log_response(const struct http_request *req, const struct http_response *resp)
{
    const char *rid = http_response_header(resp, "x-amzn-RequestId");
    if (!rid) rid = http_response_header(resp, "x-amz-request-id");
    fprintf(stderr, "http: < %ld (%s)%s%s\n", resp->status, req->what ? req->what : "request",
            rid ? " request id " : "", rid ? rid : "");
    log_body("<", resp->body.buf, resp->body.len, req->secret_reply);
}

/* ---- one attempt ---- */

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct http_response *resp = ctx;
    if (resp->max_body && resp->body.len + size * n > resp->max_body) {
        resp->too_big = 1;
        return 0;  /* curl stops the transfer: CURLE_WRITE_ERROR */
    }
    strbuf_add(&resp->body, data, size * n);
    return size * n;
}

/* Keeps only the headers of the final reply (a 100 Continue or a proxy CONNECT reply comes first). */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
    struct http_response *resp = ctx;
    size_t len = size * n;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        vec_free_all(&resp->headers, header_free);
        return len;
    }
    char *colon = memchr(data, ':', len);
    if (!colon) return len;
    const char *v = colon + 1, *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    headers_add(&resp->headers, data, (size_t)(colon - data), v, (size_t)(end - v));
    return len;
}

static struct curl_slist *build_headers(const struct http_request *req)
{
    struct curl_slist *list = NULL;
    struct strbuf line = STRBUF_INIT;
    strbuf_init(&line);
    for (size_t i = 0; i < req->headers.len; i++) {
        const struct http_header *h = req->headers.items[i];
        strbuf_reset(&line);
        strbuf_addf(&line, "%s: %s", h->name, h->value);
        list = curl_slist_append(list, line.buf);
    }
    if (req->content_type) {
        strbuf_reset(&line);
        strbuf_addf(&line, "Content-Type: %s", req->content_type);
        list = curl_slist_append(list, line.buf);
    } else if (req->body) {
        list = curl_slist_append(list, "Content-Type:");  /* no form-urlencoded guess */
    }
    list = curl_slist_append(list, "Expect:");  /* no 100-continue round trip */
    strbuf_release(&line);
    return list;
}

/* The blobs are passed without a copy (CURL_BLOB_NOCOPY): curl keeps no copy of a key to free
 * unwiped, and curl_easy_reset before every request drops the previous client's blobs, so a
 * thread's cached handle never lends one cluster's certificate to another. */
static void set_blob(CURL *h, CURLoption opt, const struct http_blob *b)
{
    struct curl_blob blob = {(void *)b->data, b->len, CURL_BLOB_NOCOPY};
    curl_easy_setopt(h, opt, &blob);
}

static void set_tls_material(CURL *h, const struct http_client *c)
{
    if (c->ca_pem.len) set_blob(h, CURLOPT_CAINFO_BLOB, &c->ca_pem);
    else if (c->ca_bundle) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
    if (c->cert_pem.len && c->key_pem.len) {
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        set_blob(h, CURLOPT_SSLCERT_BLOB, &c->cert_pem);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        set_blob(h, CURLOPT_SSLKEY_BLOB, &c->key_pem);
    }
}

static void setup_handle(CURL *h, const struct http_client *c, const struct http_request *req,
                         struct http_response *resp, struct curl_slist *headers)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    double timeout_ms = env_positive("MESH_HTTP_TIMEOUT", 1e9) * 1000;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms < c->timeout_ms ? (long)timeout_ms : c->timeout_ms);
    /* A server that stalls is cut after low_speed_s under 1 byte/s, one that trickles at the
     * whole-transfer timeout, one that sends without end at max_body (on_body): a worker is
     * never held for good and memory stays bounded. */
    double low = env_positive("MESH_HTTP_LOW_SPEED_TIME", 1e9);
    long low_s = c->low_speed_s > 0 ? c->low_speed_s : 30;
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, low < low_s ? (long)(low < 1 ? 1 : low) : low_s);
    if (resp->max_body) curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)resp->max_body);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    set_tls_material(h, c);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mesh/0.1");
    if (req->once) curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req->body || strcmp(req->method, "GET") != 0) {
        if (req->body || strcmp(req->method, "DELETE") != 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

/* Seconds from Retry-After: a number of seconds or an HTTP date (curl_getdate parses it). */
static double parse_retry_after(const char *v)
{
    if (!v || !*v) return -1;
    char *end;
    double s = strtod(v, &end);
    if (end != v && *end == '\0') return s < 0 ? -1 : s;
    time_t t = curl_getdate(v, NULL);
    if (t < 0) return -1;
    double d = difftime(t, time(NULL));
    return d < 0 ? 0 : d;
}

/* Transport failures worth another attempt: the connection broke or the server went quiet. */
static int curl_code_transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM: case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

enum http_verdict http_verdict_default(const struct http_response *resp)
{
    if (resp->status == 429) return HTTP_THROTTLED;
    if (resp->status >= 500 && resp->status != 501) return HTTP_RETRY;
    return HTTP_DONE;
}

/* One attempt. Returns CURLE_OK when a reply arrived; *sent: bytes of request curl wrote (0: the
 * server cannot have seen it). */
static CURLcode attempt_once(const struct http_client *c, const struct http_request *req,
                             struct http_response *resp, char *curl_msg, long *sent)
{
    CURL *h = http_thread_handle();
    if (!h) return CURLE_FAILED_INIT;
    struct curl_slist *headers = build_headers(req);
    http_response_reset(resp);
    resp->url = xstrdup(req->url);
    resp->max_body = req->max_reply ? req->max_reply : c->max_reply;
    double cap = env_positive("MESH_HTTP_MAX_REPLY", 0);
    if (cap >= 1 && (!resp->max_body || (size_t)cap < resp->max_body)) resp->max_body = (size_t)cap;
    resp->too_big = 0;
    setup_handle(h, c, req, resp, headers);
    curl_msg[0] = '\0';
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    *sent = 0;
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, sent);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        resp->retry_after = parse_retry_after(http_response_header(resp, "Retry-After"));
    } else if (resp->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(curl_msg, CURL_ERROR_SIZE, "the reply is larger than %zu bytes", resp->max_body);
    } else if (!curl_msg[0]) {
        snprintf(curl_msg, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    return rc;
}

/* ---- the retry policy ---- */

double http_backoff_scale(void)
{
    const char *s = getenv("MESH_BACKOFF_SCALE");
    if (!s || !*s) return 1.0;
    double v = strtod(s, NULL);
    return v >= 0 ? v : 1.0;
}

/* Per-thread xorshift: jitter needs spread, not secrecy, and rand() is not thread-safe. */
static double jitter_unit(void)
{
    static _Thread_local unsigned long long s;
    if (!s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)(uintptr_t)&s << 17) ^ 0x9e3779b97f4a7c15ULL;
    }
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (double)(s >> 11) / (double)(1ULL << 53);
}

double http_backoff(const struct http_client *c, enum http_verdict v, int n, double retry_after)
{
    double wait;
    if (retry_after >= 0) {
        wait = retry_after > 3 * c->max_delay ? 3 * c->max_delay : retry_after;
    } else {
        double base = v == HTTP_THROTTLED ? c->throttle_delay : c->base_delay;
        double cap = base * pow(2.0, n > 30 ? 30 : n);
        if (cap > c->max_delay) cap = c->max_delay;
        wait = jitter_unit() * cap;  /* full jitter: uniform in [0, cap) */
    }
    return wait * http_backoff_scale();
}

/* Sleeps in short slices so a cancel is seen quickly. Returns non-zero if cancelled. */
static int sleep_cancellable(double secs, volatile sig_atomic_t *cancel)
{
    while (secs > 0) {
        if (cancel && *cancel) return 1;
        double slice = secs > 0.05 ? 0.05 : secs;
        struct timespec ts = { (time_t)slice, (long)((slice - (time_t)slice) * 1e9) };
        nanosleep(&ts, NULL);
        secs -= slice;
    }
    return cancel && *cancel;
}

/* Takes one retry from the run's budget; 0 when it is spent. */
static int budget_take(struct http_retries *r)
{
    if (!r) return 1;
    long used = atomic_fetch_add(&r->used, 1);
    if (r->budget >= 0 && used >= r->budget) {
        atomic_fetch_sub(&r->used, 1);
        return 0;
    }
    return 1;
}

static int report_failure(const struct http_request *req, CURLcode rc, const char *msg, int attempts,
                          struct mesh_err *err)
{
    return mesh_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? MESH_ETIMEOUT : MESH_ERR, NULL,
                        "%s %s: %s (after %d attempt%s)", req->what ? req->what : req->method,
                        req->url, msg, attempts, attempts == 1 ? "" : "s");
}

/* A `once` request that failed this way may have been processed: a throttle or a 503 says it was
 * not, a transport failure before a byte was written cannot have reached the server. */
static int outcome_unknown(const struct http_request *req, CURLcode rc, enum http_verdict v,
                           const struct http_response *resp, long sent)
{
    if (!req->once) return 0;
    if (rc == CURLE_OK) return (v == HTTP_RETRY || v == HTTP_RETRY_BRIEF) && resp->status != 503;
    return sent > 0;
}

static int report_unknown(const struct http_request *req, CURLcode rc, const struct http_response *resp,
                          const char *msg, int attempts, struct mesh_err *err)
{
    char what[64];
    if (rc == CURLE_OK) snprintf(what, sizeof(what), "HTTP %ld", resp->status);
    return mesh_err_set(err, MESH_EUNKNOWN, NULL,
                        "%s %s: %s after the request was sent (attempt %d): it may have taken effect, and it "
                        "is not idempotent, so it is not sent again", req->what ? req->what : req->method,
                        req->url, rc == CURLE_OK ? what : msg, attempts);
}

#define HTTP_BRIEF_ATTEMPTS 3

int http_send(const struct http_client *c, struct http_request *req, struct http_response *resp,
              struct mesh_err *err)
{
    volatile sig_atomic_t *cancel = req->cancel ? req->cancel : c->cancel;
    int max = req->max_attempts > 0 ? req->max_attempts : c->max_attempts;
    int debug = http_debug_on();
    char curl_msg[CURL_ERROR_SIZE];
    for (int attempt = 1;; attempt++) {
        if (cancel && *cancel) return mesh_err_set(err, MESH_ECANCELED, NULL, "cancelled");
        if (req->prepare && req->prepare(req, req->prepare_ctx, err) < 0) return err->code;
        if (debug) log_request(req, attempt);
        long sent = 0;
        CURLcode rc = attempt_once(c, req, resp, curl_msg, &sent);
        resp->attempts = attempt;
        enum http_verdict v = HTTP_RETRY;
        if (rc == CURLE_OK) {
            if (debug) log_response(req, resp);
            v = req->classify ? req->classify(resp) : http_verdict_default(resp);
        } else if (debug) {
            fprintf(stderr, "http: < transport error: %s\n", curl_msg);
        }
        if (v == HTTP_DONE) return 0;
        /* A reply too large is too large the next time too (curl may report the cut as a receive
         * error when the server was mid-write). */
        int too_big = rc == CURLE_FILESIZE_EXCEEDED || (rc != CURLE_OK && resp->too_big);
        int transient = rc == CURLE_OK || (curl_code_transient(rc) && !too_big);
        if (transient && outcome_unknown(req, rc, v, resp, sent))
            return report_unknown(req, rc, resp, curl_msg, attempt, err);
        int cap = v == HTTP_RETRY_BRIEF && max > HTTP_BRIEF_ATTEMPTS ? HTTP_BRIEF_ATTEMPTS : max;
        if (!transient || attempt >= cap || !budget_take(c->retries)) {
            if (rc == CURLE_OK) return 0;  /* the caller reports the reply's own error */
            return report_failure(req, rc, curl_msg, attempt, err);
        }
        double wait = http_backoff(c, v, attempt - 1, rc == CURLE_OK ? resp->retry_after : -1);
        if (debug) fprintf(stderr, "http: retry %d in %.3fs\n", attempt, wait);
        if (sleep_cancellable(wait, cancel))
            return mesh_err_set(err, MESH_ECANCELED, NULL, "cancelled");
    }
}
