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
    MESH_ECONFLICT = -6,  /* state moved on / version mismatch */
    MESH_EINVAL = -7,     /* bad input from the user */
};

struct mesh_err {
    int code;
    char where[256];  /* resource address or file:line:col; may be empty */
    char msg[1024];
};

void mesh_err_init(struct mesh_err *e);
/* Sets the error unless one is already set; returns the code (or the earlier code). */
int mesh_err_set(struct mesh_err *e, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int mesh_err_isset(const struct mesh_err *e);
/* "where: msg" or "msg" into buf. */
const char *mesh_err_str(const struct mesh_err *e, char *buf, size_t n);
void mesh_err_clear(struct mesh_err *e);

#endif
