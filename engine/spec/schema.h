/* schema.h: one schema table per spec section. The loader validates every section's shape from
 * these tables (types, required keys, unknown keys with "did you mean", enums, CIDRs), and the
 * same tables are what docs/spec.md describes: change both together. Later issues extend a
 * section by adding rows here and a compiler in compile.c's table. */
#ifndef MESH_SCHEMA_H
#define MESH_SCHEMA_H

#include "spec/spec_int.h"

enum schema_type {
    S_STRING,     /* any scalar, taken as its text (so `version: 1.30` stays "1.30") */
    S_INT,        /* a whole number */
    S_BOOL,       /* true or false */
    S_ENUM,       /* one of .values, "a|b|c" */
    S_NAME,       /* [A-Za-z0-9_-]+: becomes a segment of resource addresses */
    S_CIDR4,      /* 10.6.0.0/16 (no host bits set) */
    S_CIDR6,      /* fd00::/56 */
    S_OBJECT,     /* a map with the fixed keys in .keys */
    S_LIST,       /* a list; each item is .item */
    S_DICT,       /* a map with the user's own keys (names); each value is .item */
    S_MAP,        /* a map whose content is free (Helm values) */
    S_ANY,        /* anything */
    S_RESOURCES,  /* the raw resources: section; compile.c checks it against driver schemas */
};

enum {
    SK_REQUIRED = 1 << 0,
    SK_POSITIVE = 1 << 1,   /* S_INT: > 0 */
};

struct schema_key {
    const char *name;
    enum schema_type type;
    int flags;
    const struct schema_key *keys;  /* S_OBJECT: its keys, ending with {NULL} */
    const struct schema_key *item;  /* S_LIST, S_DICT: what each element is */
    const char *values;             /* S_ENUM: "rsa4096|ecdsa-p256" */
    const char *def;                /* the default, as the docs say it; NULL: none */
    const char *doc;
    /* Rules across keys that a shape cannot say (import mode excludes generation, ...); runs
     * only when the shape is right. path is the value's dotted path, for messages. */
    void (*check)(const struct node *value, const char *path, const struct spec_ctx *c);
};

/* The top level: one row per section, in the order docs/spec.md documents them. */
extern const struct schema_key schema_root[];
const struct schema_key *schema_key_find(const struct schema_key *keys, const char *name);

#endif
