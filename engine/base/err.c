/* err.c: the one error type (see err.h). */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void mesh_err_init(struct mesh_err *e) { memset(e, 0, sizeof(*e)); }
void mesh_err_clear(struct mesh_err *e) { mesh_err_init(e); }

int mesh_err_isset(const struct mesh_err *e) { return e && e->code != 0; }

int mesh_err_set(struct mesh_err *e, int code, const char *where, const char *fmt, ...)
{
    if (!e) return code;
    if (e->code != 0) return e->code;
    e->code = code ? code : MESH_ERR;
    snprintf(e->where, sizeof(e->where), "%s", where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return e->code;
}

const char *mesh_err_str(const struct mesh_err *e, char *buf, size_t n)
{
    if (e->where[0])
        snprintf(buf, n, "%s: %s", e->where, e->msg);
    else
        snprintf(buf, n, "%s", e->msg);
    return buf;
}

void mesh_err_set_cause(struct mesh_err *e, const char *cause, const char *request_id)
{
    if (!e || e->cause[0] || e->request_id[0]) return;
    snprintf(e->cause, sizeof(e->cause), "%s", cause ? cause : "");
    snprintf(e->request_id, sizeof(e->request_id), "%s", request_id ? request_id : "");
}

int mesh_err_copy(struct mesh_err *dst, const struct mesh_err *src, const char *where)
{
    if (!dst) return src->code;
    if (dst->code != 0) return dst->code;
    *dst = *src;
    if (!dst->code) dst->code = MESH_ERR;
    if (where) snprintf(dst->where, sizeof(dst->where), "%s", where);
    return dst->code;
}
