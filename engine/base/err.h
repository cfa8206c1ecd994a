/* err.h: the one error type. The first error set wins; later ones never overwrite it. */
#ifndef MESH_ERR_H
#define MESH_ERR_H

#include <stddef.h>

enum mesh_code {
    MESH_OK = 0,
    MESH_ERR = -1,        /* generic failure */
    MESH_ENOTFOUND = -2,  /* the object is gone (driver read/find) */
    MESH_ECANCELED = -3,  /* Ctrl-C or a sibling failure */
    MESH_ETIMEOUT = -4,
    MESH_ELOCKED = -5,    /* state lock held by someone else */
    MESH_ECONFLICT = -6,  /* state moved on / version mismatch; a provider's "already exists",
                             "in use" or "concurrent update" */
    MESH_EINVAL = -7,     /* bad input from the user; a provider's "invalid parameter" */
    MESH_ETHROTTLED = -8, /* a provider's "slow down" that outlasted the retry policy */
    MESH_EUNKNOWN = -9,   /* a request that must not be sent twice may or may not have taken
                             effect (no reply, or a 5xx, after it was sent): look before redoing */
};

struct mesh_err {
    int code;
    char where[256];  /* resource address or file:line:col; may be empty */
    char msg[1024];
    /* A provider's own words, so callers test them instead of parsing msg: its error code
     * ("DependencyViolation", "ResourceInUseException") and request ID; "" when none. */
    char cause[128];
    char request_id[128];
};

void mesh_err_init(struct mesh_err *e);
/* Sets the error unless one is already set; returns the code (or the earlier code). */
int mesh_err_set(struct mesh_err *e, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int mesh_err_isset(const struct mesh_err *e);
/* "where: msg" or "msg" into buf. */
const char *mesh_err_str(const struct mesh_err *e, char *buf, size_t n);
void mesh_err_clear(struct mesh_err *e);
/* Records the provider's code and request ID on e (the first error's, like the rest). Call it
 * only when the mesh_err_set just before it set e's error (aws_error_report checks that), so a
 * later failure cannot lend its cause to an earlier error. */
void mesh_err_set_cause(struct mesh_err *e, const char *cause, const char *request_id);
/* Copies src (code, message, cause, request ID) into dst unless dst is set; where overrides
 * src's place when not NULL. Returns dst's code. */
int mesh_err_copy(struct mesh_err *dst, const struct mesh_err *src, const char *where);

#endif
