/* clock.c: the PKI's notion of "now". Certificates are issued and checked against it, and tests
 * move it with MESH_NOW (unix seconds, or RFC3339 like 2030-01-02T03:04:05Z or ...+02:00) to
 * exercise renewal windows without waiting years. Test-only: documented in docs/pki.md. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>

#include "pki.h"

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" -> unix seconds; -1 when malformed. */
static int clock_parse_rfc3339(const char *s, time_t *out)
{
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 || n == 0)
        return -1;
    const char *p = s + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++) {}
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm, m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &m) != 2 || m != 5) return -1;
        offset = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
        p += 1 + m;
    } else {
        return -1;
    }
    if (*p) return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out = t - offset;
    return 0;
}

int pki_now(struct call *c, time_t *now)
{
    const char *s = getenv("MESH_NOW");
    if (!s || !*s) {
        *now = time(NULL);
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == 0 && end && *end == '\0' && v >= 0) {
        *now = (time_t)v;
        return 0;
    }
    if (clock_parse_rfc3339(s, now) == 0) return 0;
    return mesh_err_set(c->err, MESH_EINVAL, c->address,
                        "MESH_NOW=%s is neither unix seconds nor RFC3339 (2030-01-02T03:04:05Z); fix or unset it", s);
}

void pki_rfc3339(time_t t, char buf[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int pki_asn1_to_time(const ASN1_TIME *a, time_t *out)
{
    struct tm tm;
    if (!a || ASN1_TIME_to_tm(a, &tm) != 1) return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *out = t;
    return 0;
}
