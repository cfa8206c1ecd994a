/* sigv4.h: AWS Signature Version 4 (HMAC-SHA256 via OpenSSL EVP).
 *
 * Two modes: header signing (X-Amz-Date, X-Amz-Security-Token, Authorization headers) and query
 * presigning (X-Amz-* parameters in the URL, as the EKS "k8s-aws-v1." token needs). The
 * intermediate texts (canonical request, string to sign) are exposed so tests can hold them
 * against the official test-suite vectors. Knows nothing of drivers or the engine. */
#ifndef MESH_SIGV4_H
#define MESH_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"
#include "base/strbuf.h"

struct http_request;

struct sigv4_creds {
    const char *access_key;
    const char *secret_key;
    const char *session_token;  /* NULL or "" when none */
};

struct sigv4_pair {
    const char *name;
    const char *value;
};

struct sigv4_input {
    const char *method;
    const char *path;            /* as on the wire, without the query; "" means "/" */
    const char *query;           /* as on the wire, without '?'; NULL or "" when none */
    const struct sigv4_pair *headers;  /* every header to sign; must include Host */
    size_t nheaders;
    const void *body;
    size_t body_len;
    const char *region;
    const char *service;
    time_t when;
    int no_normalize;            /* S3: keep "." and ".." and repeated slashes in the path */
    int sign_body_header;        /* add and sign x-amz-content-sha256 (S3) */
    int path_encoded;            /* S3: the path is URI-encoded once already and is the canonical
                                  * URI as it is (other services encode the wire path again) */
    long expires;                /* > 0: presign into the query string, X-Amz-Expires=expires */
};

struct sigv4_output {
    struct strbuf canonical_request;
    struct strbuf string_to_sign;
    struct strbuf signed_headers;   /* "host;x-amz-date" */
    struct strbuf authorization;    /* header mode: the Authorization value */
    struct strbuf query;            /* presign mode: the URL's query: the input's as given, the X-Amz-*
                                     * parameters in botocore's order, X-Amz-Signature last */
    char signature[65];
    char amz_date[17];              /* 20150830T123600Z */
    char payload_hash[65];
};

void sigv4_output_init(struct sigv4_output *out);
void sigv4_output_release(struct sigv4_output *out);

int sigv4_sign(const struct sigv4_creds *creds, const struct sigv4_input *in,
               struct sigv4_output *out, struct mesh_err *err);

/* Appends s URI-encoded the SigV4 way: every byte but A-Z a-z 0-9 - _ . ~ as %XY (upper-case);
 * keep_slash leaves '/' alone (paths). Also what the Query API's form bodies use. */
void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t len, int keep_slash);

/* Lower-case hex SHA-256 of data into hex[65]. */
void sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

/* Signs an HTTP request in place: sets X-Amz-Date, X-Amz-Security-Token (when there is a
 * session token) and Authorization. Signs Host, Content-Type and every header already set.
 * Service "s3" signs as S3 wants: the path as on the wire (encoded once, not normalised) and
 * the body's SHA-256 in x-amz-content-sha256, set on the request and signed. */
int sigv4_sign_http(struct http_request *req, const struct sigv4_creds *creds, const char *region,
                    const char *service, time_t when, struct mesh_err *err);

/* Presigns a GET of url: returns (malloc'd) url with the X-Amz-* query appended. extra headers
 * (e.g. x-k8s-aws-id) are signed and must be sent with the request. */
int sigv4_presign_url(const char *url, const struct sigv4_creds *creds, const char *region,
                      const char *service, time_t when, long expires,
                      const struct sigv4_pair *extra, size_t nextra, char **signed_url,
                      struct mesh_err *err);

#endif
