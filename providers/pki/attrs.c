/* attrs.c: reading the PKI drivers' desired attributes with their defaults, and turning OpenSSL
 * failures into mesh errors. Defaults live here, in the drivers, because struct attr has no
 * default field; docs/pki.md lists them. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "pki.h"

/* Longest validity we accept: 100 years. Longer would overflow nothing but is surely a typo. */
#define PKI_DAYS_MAX 36500L

int pki_attr_str(struct call *c, const json_t *o, const char *name, const char *def, const char **out)
{
    const json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_string(v))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "attribute %s must be a string", name);
    *out = json_string_value(v);
    return 0;
}

/* A whole number of days, given as a JSON integer, an integral real or a decimal string. */
static int attrs_whole(const json_t *v, long *out)
{
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || fabs(d) > 1e9) return -1;
        *out = (long)d;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        errno = 0;
        long n = strtol(s, &end, 10);
        if (errno || end == s || *end) return -1;
        *out = n;
        return 0;
    }
    return -1;
}

int pki_attr_days(struct call *c, const json_t *o, const char *name, long def, long *out)
{
    const json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    long n;
    if (attrs_whole(v, &n) != 0 || n <= 0 || n > PKI_DAYS_MAX)
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "%s must be a whole number of days from 1 to %ld",
                            name, PKI_DAYS_MAX);
    *out = n;
    return 0;
}

/* status is the renewal mechanism (docs/pki.md): desired is always "valid"; read reports why a
 * certificate is not, and the difference on this FORCE_NEW attribute plans a replace. */
int pki_attr_status(struct call *c, const json_t *desired)
{
    const char *s;
    int rc = pki_attr_str(c, desired, "status", PKI_STATUS_VALID, &s);
    if (rc) return rc;
    if (strcmp(s, PKI_STATUS_VALID) != 0)
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "status must be \"%s\" (or unset), not \"%s\"",
                            PKI_STATUS_VALID, s);
    return 0;
}

/* renew_before_days: 0 disables renewal; otherwise it must leave at least half the validity. */
int pki_attr_renew(struct call *c, const json_t *desired, long validity_days, long *out)
{
    const json_t *v = json_object_get(desired, "renew_before_days");
    long n = PKI_RENEW_DEFAULT;
    if (v && !json_is_null(v) && (attrs_whole(v, &n) != 0 || n < 0))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "renew_before_days must be a whole number >= 0");
    if (validity_days > 0 && 2 * n >= validity_days)
        return mesh_err_set(c->err, MESH_EINVAL, c->address,
                            "renew_before_days %ld must be under half of validity_days %ld; lower it or raise "
                            "validity_days",
                            n, validity_days);
    *out = n;
    return 0;
}

json_t *pki_current_new(const struct attr *schema, const json_t *outputs)
{
    json_t *cur = json_object();
    for (const struct attr *a = schema; a->name; a++)
        if ((a->flags & ATTR_COMPUTED) && json_object_get(outputs, a->name))
            json_object_set(cur, a->name, json_object_get(outputs, a->name));
    return cur;
}

int pki_fail(struct call *c, int code, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    char reason[256] = "";
    if (e) ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    if (reason[0]) return mesh_err_set(c->err, code, c->address, "%s (%s)", msg, reason);
    return mesh_err_set(c->err, code, c->address, "%s", msg);
}
