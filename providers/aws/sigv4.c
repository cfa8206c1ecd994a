/* sigv4.c: AWS Signature Version 4 (see sigv4.h). Crypto is OpenSSL's (EVP); this file only
 * builds the canonical texts the algorithm defines. */
#include "aws/sigv4.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/vec.h"
#include "http.h"
#include "base/xalloc.h"

#define SIGV4_ALGO "AWS4-HMAC-SHA256"

void sigv4_output_init(struct sigv4_output *out)
{
    memset(out, 0, sizeof(*out));
    strbuf_init(&out->canonical_request);
    strbuf_init(&out->string_to_sign);
    strbuf_init(&out->signed_headers);
    strbuf_init(&out->authorization);
    strbuf_init(&out->query);
}

void sigv4_output_release(struct sigv4_output *out)
{
    strbuf_release(&out->canonical_request);
    strbuf_release(&out->string_to_sign);
    strbuf_release(&out->signed_headers);
    strbuf_release(&out->authorization);
    /* A presigned query is a bearer credential until it expires (an EKS token). */
    if (out->query.buf) OPENSSL_cleanse(out->query.buf, out->query.len);
    strbuf_release(&out->query);
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data ? data : "", len, md, &n, EVP_sha256(), NULL);
    hex_encode(md, n, hex);
}

static int hmac(const void *key, size_t klen, const char *data, unsigned char out[32])
{
    size_t n = 0;
    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, (const unsigned char *)data,
                     strlen(data), out, 32, &n) ? 0 : -1;
}

void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t len, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            strbuf_addch(sb, (char)c);
        } else {
            strbuf_addch(sb, '%');
            strbuf_addch(sb, digits[c >> 4]);
            strbuf_addch(sb, digits[c & 15]);
        }
    }
}

/* ---- canonical URI: RFC 3986 dot-segment removal, repeated slashes collapsed ---- */

static void path_normalize(const char *path, struct strbuf *out)
{
    struct vec segs = VEC_INIT;
    char *copy = xstrdup(path);
    size_t len = strlen(path);
    int trailing = len > 1 && path[len - 1] == '/';
    char *save = NULL;
    for (char *seg = strtok_r(copy, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0) continue;
        if (strcmp(seg, "..") == 0) { vec_pop(&segs); continue; }
        vec_push(&segs, seg);
    }
    for (size_t i = 0; i < segs.len; i++) {
        strbuf_addch(out, '/');
        strbuf_adds(out, segs.items[i]);
    }
    if (segs.len == 0 || trailing) strbuf_addch(out, '/');
    vec_release(&segs);
    free(copy);
}

static void canonical_uri(const struct sigv4_input *in, struct strbuf *out)
{
    const char *path = in->path && *in->path ? in->path : "/";
    struct strbuf norm = STRBUF_INIT;
    strbuf_init(&norm);
    if (in->no_normalize) strbuf_adds(&norm, path);
    else path_normalize(path, &norm);
    if (in->path_encoded) strbuf_add(out, norm.buf, norm.len);
    else sigv4_uri_encode(out, norm.buf, norm.len, 1);
    strbuf_release(&norm);
}

/* ---- canonical query: decode what the wire carries, re-encode strictly, sort ---- */

struct qparam {
    char *key;    /* encoded */
    char *value;  /* encoded */
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static char *encode_decoded(const char *s, size_t n)
{
    struct strbuf raw = STRBUF_INIT, enc = STRBUF_INIT;
    strbuf_init(&raw);
    strbuf_init(&enc);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            strbuf_addch(&raw, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else {
            strbuf_addch(&raw, s[i]);
        }
    }
    sigv4_uri_encode(&enc, raw.buf, raw.len, 0);
    strbuf_release(&raw);
    return strbuf_detach(&enc);
}

static void qparams_add_raw(struct vec *v, const char *key, const char *value)
{
    struct qparam *p = xcalloc(1, sizeof(*p));
    p->key = encode_decoded(key, strlen(key));
    p->value = encode_decoded(value, strlen(value));
    vec_push(v, p);
}

static void qparams_parse(struct vec *v, const char *query)
{
    if (!query) return;
    const char *p = query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n) {
            const char *eq = memchr(p, '=', n);
            size_t kn = eq ? (size_t)(eq - p) : n;
            struct qparam *q = xcalloc(1, sizeof(*q));
            q->key = encode_decoded(p, kn);
            q->value = eq ? encode_decoded(eq + 1, n - kn - 1) : xstrdup("");
            vec_push(v, q);
        }
        p += n + (amp ? 1 : 0);
    }
}

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = *(struct qparam *const *)a, *y = *(struct qparam *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static void qparam_free(void *p)
{
    struct qparam *q = p;
    free(q->key);
    free(q->value);
    free(q);
}

static void qparams_render(struct vec *v, struct strbuf *out)
{
    vec_sort(v, qparam_cmp);
    for (size_t i = 0; i < v->len; i++) {
        const struct qparam *q = v->items[i];
        strbuf_addf(out, "%s%s=%s", i ? "&" : "", q->key, q->value);
    }
}

/* ---- canonical headers: lower-case names, trimmed values with runs of spaces collapsed,
 * repeated headers joined with ',' in the order given ---- */

struct cheader {
    char *name;
    char *value;
    size_t order;
};

static char *header_value_trim(const char *v)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    int space = 0;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') { space = 1; continue; }
        if (space && sb.len) strbuf_addch(&sb, ' ');
        space = 0;
        strbuf_addch(&sb, *v);
    }
    return strbuf_detach(&sb);
}

static void cheaders_add(struct vec *v, const char *name, const char *value)
{
    struct cheader *h = xcalloc(1, sizeof(*h));
    h->name = xstrdup(name);
    for (char *p = h->name; *p; p++) *p = (char)tolower((unsigned char)*p);
    h->value = header_value_trim(value);
    h->order = v->len;
    vec_push(v, h);
}

static int cheader_cmp(const void *a, const void *b)
{
    const struct cheader *x = *(struct cheader *const *)a, *y = *(struct cheader *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static void cheader_free(void *p)
{
    struct cheader *h = p;
    free(h->name);
    free(h->value);
    free(h);
}

static void cheaders_render(struct vec *v, struct strbuf *canon, struct strbuf *names)
{
    vec_sort(v, cheader_cmp);
    for (size_t i = 0; i < v->len; i++) {
        const struct cheader *h = v->items[i];
        if (i && strcmp(h->name, ((struct cheader *)v->items[i - 1])->name) == 0) {
            strbuf_addf(canon, ",%s", h->value);
            continue;
        }
        if (i) strbuf_addch(canon, '\n');
        strbuf_addf(canon, "%s:%s", h->name, h->value);
        strbuf_addf(names, "%s%s", names->len ? ";" : "", h->name);
    }
    strbuf_addch(canon, '\n');
}

/* ---- the algorithm ---- */

static int derive_signature(const struct sigv4_creds *c, const char *date8, const char *region,
                            const char *service, const char *sts, char sig[65])
{
    struct strbuf k = STRBUF_INIT;
    strbuf_init(&k);
    strbuf_addf(&k, "AWS4%s", c->secret_key);
    unsigned char a[32], b[32];
    int rc = hmac(k.buf, k.len, date8, a) | hmac(a, 32, region, b) | hmac(b, 32, service, a) |
             hmac(a, 32, "aws4_request", b) | hmac(b, 32, sts, a);
    hex_encode(a, 32, sig);
    OPENSSL_cleanse(k.buf, k.len);
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    strbuf_release(&k);
    return rc;
}

/* The X-Amz-* parameters of a presigned URL in the order botocore writes them on the wire
 * (Security-Token last): the canonical query sorts them anyway, and keeping botocore's order in
 * the URL makes an EKS token equal byte for byte to `aws eks get-token`'s. Returns how many. */
static size_t presign_params(const struct sigv4_creds *c, const char *credential, const char *amz_date,
                             const char *expires, const char *signed_headers, struct sigv4_pair p[6])
{
    size_t n = 0;
    p[n++] = (struct sigv4_pair){ "X-Amz-Algorithm", SIGV4_ALGO };
    p[n++] = (struct sigv4_pair){ "X-Amz-Credential", credential };
    p[n++] = (struct sigv4_pair){ "X-Amz-Date", amz_date };
    p[n++] = (struct sigv4_pair){ "X-Amz-Expires", expires };
    p[n++] = (struct sigv4_pair){ "X-Amz-SignedHeaders", signed_headers };
    if (c->session_token && *c->session_token)
        p[n++] = (struct sigv4_pair){ "X-Amz-Security-Token", c->session_token };
    return n;
}

/* Presign mode: adds the X-Amz-* parameters to the canonical query qv, and writes the wire query
 * (the caller's query as given, then the parameters in botocore's order) into wire. */
static void add_presign_params(struct vec *qv, struct strbuf *wire, const struct sigv4_creds *c,
                               const char *query, const char *scope, const char *amz_date,
                               long expires, const char *signed_headers)
{
    struct strbuf cred = STRBUF_INIT;
    strbuf_init(&cred);
    strbuf_addf(&cred, "%s/%s", c->access_key, scope);
    char exp[32];
    snprintf(exp, sizeof(exp), "%ld", expires);
    struct sigv4_pair p[6];
    size_t n = presign_params(c, cred.buf, amz_date, exp, signed_headers, p);
    if (query && *query) strbuf_adds(wire, query);
    for (size_t i = 0; i < n; i++) {
        qparams_add_raw(qv, p[i].name, p[i].value);
        strbuf_addf(wire, "%s%s=", wire->len ? "&" : "", p[i].name);
        sigv4_uri_encode(wire, p[i].value, strlen(p[i].value), 0);
    }
    strbuf_release(&cred);
}

/* Canonical headers of the input plus the ones header mode adds. */
static void collect_headers(const struct sigv4_creds *c, const struct sigv4_input *in,
                            const struct sigv4_output *out, struct vec *hv)
{
    for (size_t i = 0; i < in->nheaders; i++) cheaders_add(hv, in->headers[i].name, in->headers[i].value);
    if (in->expires > 0) return;
    cheaders_add(hv, "x-amz-date", out->amz_date);
    if (c->session_token && *c->session_token) cheaders_add(hv, "x-amz-security-token", c->session_token);
    if (in->sign_body_header) cheaders_add(hv, "x-amz-content-sha256", out->payload_hash);
}

int sigv4_sign(const struct sigv4_creds *c, const struct sigv4_input *in, struct sigv4_output *out,
               struct mesh_err *err)
{
    if (!c || !c->access_key || !c->secret_key || !in->region || !in->service)
        return mesh_err_set(err, MESH_EINVAL, NULL, "sigv4: credentials, region and service are required");
    struct tm tm;
    gmtime_r(&in->when, &tm);
    strftime(out->amz_date, sizeof(out->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    char date8[9];
    memcpy(date8, out->amz_date, 8);
    date8[8] = '\0';
    sigv4_sha256_hex(in->body, in->body ? in->body_len : 0, out->payload_hash);

    struct strbuf scope = STRBUF_INIT, canon_headers = STRBUF_INIT, cq = STRBUF_INIT, wire = STRBUF_INIT;
    strbuf_init(&scope);
    strbuf_init(&canon_headers);
    strbuf_init(&cq);
    strbuf_init(&wire);
    strbuf_addf(&scope, "%s/%s/%s/aws4_request", date8, in->region, in->service);

    struct vec hv = VEC_INIT, qv = VEC_INIT;
    collect_headers(c, in, out, &hv);
    strbuf_reset(&out->signed_headers);
    cheaders_render(&hv, &canon_headers, &out->signed_headers);
    qparams_parse(&qv, in->query);
    if (in->expires > 0)
        add_presign_params(&qv, &wire, c, in->query, scope.buf, out->amz_date, in->expires,
                           out->signed_headers.buf);
    qparams_render(&qv, &cq);

    struct strbuf *cr = &out->canonical_request;
    strbuf_reset(cr);
    strbuf_addf(cr, "%s\n", in->method);
    canonical_uri(in, cr);
    strbuf_addf(cr, "\n%s\n%s\n%s\n%s", cq.buf, canon_headers.buf, out->signed_headers.buf,
                out->payload_hash);

    char cr_hash[65];
    sigv4_sha256_hex(cr->buf, cr->len, cr_hash);
    strbuf_reset(&out->string_to_sign);
    strbuf_addf(&out->string_to_sign, SIGV4_ALGO "\n%s\n%s\n%s", out->amz_date, scope.buf, cr_hash);
    int rc = derive_signature(c, date8, in->region, in->service, out->string_to_sign.buf, out->signature);

    strbuf_reset(&out->authorization);
    strbuf_reset(&out->query);
    if (in->expires > 0)
        strbuf_addf(&out->query, "%s&X-Amz-Signature=%s", wire.buf, out->signature);
    else
        strbuf_addf(&out->authorization, SIGV4_ALGO " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                    c->access_key, scope.buf, out->signed_headers.buf, out->signature);
    vec_free_all(&hv, cheader_free);
    vec_free_all(&qv, qparam_free);
    strbuf_release(&scope);
    strbuf_release(&canon_headers);
    strbuf_release(&cq);
    if (wire.buf) OPENSSL_cleanse(wire.buf, wire.len);
    strbuf_release(&wire);
    return rc ? mesh_err_set(err, MESH_ERR, NULL, "sigv4: HMAC failed") : 0;
}

/* ---- glue to http.h ---- */

int sigv4_sign_http(struct http_request *req, const struct sigv4_creds *creds, const char *region,
                    const char *service, time_t when, struct mesh_err *err)
{
    char *host = NULL, *path = NULL, *query = NULL;
    if (http_url_split(req->url, NULL, &host, &path, &query, err) < 0) return err->code;
    http_request_set_header(req, "Host", host);
    struct vec pairs = VEC_INIT;
    for (size_t i = 0; i < req->headers.len; i++) {
        struct http_header *h = req->headers.items[i];
        if (strcasecmp(h->name, "Authorization") == 0 || strcasecmp(h->name, "X-Amz-Date") == 0 ||
            strcasecmp(h->name, "X-Amz-Security-Token") == 0 || strcasecmp(h->name, "x-amz-content-sha256") == 0)
            continue;  /* a re-sign replaces what the last attempt added */
        vec_push(&pairs, h);
    }
    size_t n = pairs.len + 1;
    struct sigv4_pair *hp = xcalloc(n, sizeof(*hp));
    for (size_t i = 0; i < pairs.len; i++) {
        struct http_header *h = pairs.items[i];
        hp[i] = (struct sigv4_pair){ h->name, h->value };
    }
    size_t nh = pairs.len;
    if (req->content_type) hp[nh++] = (struct sigv4_pair){ "Content-Type", req->content_type };
    struct sigv4_input in = { .method = req->method, .path = path, .query = query, .headers = hp,
                              .nheaders = nh, .body = req->body, .body_len = req->body_len,
                              .region = region, .service = service, .when = when };
    int s3 = strcmp(service, "s3") == 0;
    in.no_normalize = in.sign_body_header = in.path_encoded = s3;
    struct sigv4_output out;
    sigv4_output_init(&out);
    int rc = sigv4_sign(creds, &in, &out, err);
    if (rc == 0) {
        if (s3) http_request_set_header(req, "x-amz-content-sha256", out.payload_hash);
        http_request_set_header(req, "X-Amz-Date", out.amz_date);
        if (creds->session_token && *creds->session_token)
            http_request_set_header(req, "X-Amz-Security-Token", creds->session_token);
        http_request_set_header(req, "Authorization", out.authorization.buf);
    }
    sigv4_output_release(&out);
    vec_release(&pairs);
    free(hp);
    free(host);
    free(path);
    free(query);
    return rc;
}

int sigv4_presign_url(const char *url, const struct sigv4_creds *creds, const char *region,
                      const char *service, time_t when, long expires,
                      const struct sigv4_pair *extra, size_t nextra, char **signed_url,
                      struct mesh_err *err)
{
    char *scheme = NULL, *host = NULL, *path = NULL, *query = NULL;
    if (http_url_split(url, &scheme, &host, &path, &query, err) < 0) return err->code;
    struct sigv4_pair *hp = xcalloc(nextra + 1, sizeof(*hp));
    hp[0] = (struct sigv4_pair){ "host", host };
    for (size_t i = 0; i < nextra; i++) hp[i + 1] = extra[i];
    struct sigv4_input in = { .method = "GET", .path = path, .query = query, .headers = hp,
                              .nheaders = nextra + 1, .region = region, .service = service,
                              .when = when, .expires = expires };
    struct sigv4_output out;
    sigv4_output_init(&out);
    int rc = sigv4_sign(creds, &in, &out, err);
    if (rc == 0) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_init(&sb);
        strbuf_addf(&sb, "%s://%s%s?%s", scheme, host, path, out.query.buf);
        *signed_url = strbuf_detach(&sb);
    }
    sigv4_output_release(&out);
    free(hp);
    free(scheme);
    free(host);
    free(path);
    free(query);
    return rc;
}
