/* ref.h: references ${ADDRESS.OUTPUT} inside attribute values.
 * ADDRESS is TYPE.NAME[.NAME...] (TYPE [a-z][a-z0-9_]*, NAME [A-Za-z0-9_-]+); the last segment is
 * the output. "$${" is a literal "${". A string that is exactly one reference resolves to the
 * output's JSON value; inside a longer string the value is spliced in as text. */
#ifndef MESH_REF_H
#define MESH_REF_H

#include <jansson.h>
#include <stddef.h>

#include "base/vec.h"

struct ref {
    char *address;  /* "null_resource.a" */
    char *output;   /* "id" */
    size_t start;   /* byte offset of "${" */
    size_t end;     /* byte offset just past "}" */
};

/* Appends every reference in s to refs (struct ref *, caller frees with ref_free).
 * Returns 0, or -1 for a malformed reference with a message and its byte offset. */
int ref_parse(const char *s, struct vec *refs, char *errmsg, size_t errlen, size_t *erroff);
void ref_free(void *ref);
int ref_address_valid(const char *address);  /* TYPE.NAME[.NAME...] */

/* Looks an output up: returns a borrowed value, or NULL when not known yet. */
typedef const json_t *(*ref_lookup_fn)(void *ctx, const char *address, const char *output);

/* Deep-copies v with every reference resolved and "$${" unescaped. A string whose references are
 * not all known becomes the JSON value of ref_unknown() and *unknown is set. */
json_t *ref_resolve(const json_t *v, ref_lookup_fn lookup, void *ctx, int *unknown);
/* The marker for "(known after apply)" inside resolved values. */
const json_t *ref_unknown(void);
int ref_is_unknown(const json_t *v);
/* True when v (deeply) holds an unknown marker. */
int ref_has_unknown(const json_t *v);

#endif
