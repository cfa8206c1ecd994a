/* spec.h: the loaded spec. load.c turns YAML into a node tree that keeps file:line:col; the
 * schema tables (schema.c) validate every section's shape; compile.c expands the spec into typed
 * resources with their references and explicit dependencies. */
#ifndef MESH_SPEC_H
#define MESH_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "base/diag.h"
#include "base/map.h"
#include "base/vec.h"

struct driver;

enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ };

struct node_pair;

struct node {
    enum node_kind kind;
    int line, col;          /* 1-based position of the node's first character */
    int end_line;           /* line of its last character: references inside a scalar written on
                               one line get their own column, in a multi-line one its start */
    char *scalar;           /* NODE_SCALAR: the text */
    int quoted;             /* NODE_SCALAR: written in quotes (so "3" is a string, not a number) */
    int sensitive;          /* a sensitive variable's value was substituted into it (vars.c) */
    struct node_pair *pairs;  /* NODE_MAP, in file order */
    struct node **items;      /* NODE_SEQ */
    size_t n;               /* number of pairs or items */
};

struct node_pair {
    struct node *key;       /* always a scalar */
    struct node *value;
};

/* One edge source: a reference or a depends_on entry, with where it was written. */
struct spec_dep {
    char *address;
    char *output;   /* the referenced output; NULL for depends_on */
    int line, col;
};

struct spec_resource {
    char *address;              /* "null_resource.a" */
    char *type;                 /* "null_resource" */
    const struct driver *driver;
    json_t *attrs;              /* desired attributes; strings may hold ${...} */
    struct vec deps;            /* struct spec_dep *, references and depends_on */
    int line, col;              /* where the resource was declared */
    const char *origin;         /* spec section it came from ("resources", "pki", ...) for --explain */
    json_t *sensitive;          /* attribute names the spec made sensitive (a sensitive variable flowed
                                   into them), on top of the driver's SENSITIVE flags; NULL: none */
    json_t *timeouts;           /* {"create": s, "update": s, "delete": s} from the spec; NULL: defaults */
    char *connection;           /* address of the connection it belongs to (`connection:`), or NULL;
                                   also one of deps, so the connection is applied first */
    int conn_line, conn_col;    /* where the connection was named */
};

/* One entry of `outputs:` (outputs.c): its value may hold ${ADDRESS.OUTPUT} references. */
struct spec_output {
    char *name;
    json_t *value;              /* variables substituted; references resolved after apply */
    int sensitive;              /* declared, fed by a sensitive variable or a sensitive attribute */
    struct vec deps;            /* struct spec_dep *, its references with positions */
    int line, col;              /* the output's key */
};

/* Variable values from outside the spec (cli --var/--var-file; MESH_VAR_<NAME> is read from the
 * environment). Lowest to highest: defaults, files (in order), environment, vars (in order). */
struct spec_vars_in {
    const char *const *vars;    /* "NAME=VALUE" */
    size_t nvars;
    const char *const *files;   /* YAML maps of NAME: value */
    size_t nfiles;
    int lenient;                /* a missing required variable is not an error (mesh output) */
};

struct spec {
    char *file;                 /* as given on the command line */
    char *dir;                  /* directory holding the spec */
    struct node *root;
    struct vec resources;       /* struct spec_resource *, in declaration order */
    struct map by_address;      /* address -> struct spec_resource * */
    json_t *mesh;               /* the mesh: section as JSON (name, region, tags, ...) or NULL */
    struct vec outputs;         /* struct spec_output *, in declaration order */
    json_t *vars;               /* name -> {"value", "sensitive", "source"}: what vars.c resolved */
};

/* Loads, validates and compiles a spec. On any problem, every diagnostic is added to dl and
 * the function returns -1 (with *out NULL). Never touches state or the network. */
int spec_load(const char *path, struct spec **out, struct diag_list *dl);
/* Same, with variable values (vars may be NULL: defaults and MESH_VAR_* only). */
int spec_load_opts(const char *path, const struct spec_vars_in *vars, struct spec **out, struct diag_list *dl);
/* Same, from memory (tests, fuzzing). name is used in diagnostics. */
int spec_load_buffer(const char *name, const char *text, size_t len, struct spec **out,
                     struct diag_list *dl);
int spec_load_buffer_opts(const char *name, const char *text, size_t len, const struct spec_vars_in *vars,
                          struct spec **out, struct diag_list *dl);
void spec_free(struct spec *s);
struct spec_resource *spec_find(const struct spec *s, const char *address);
/* True when attribute name of r is sensitive: by its driver's schema or by the spec. */
int spec_attr_sensitive(const struct spec_resource *r, const struct driver *d, const char *name);
/* A new array of the names a state row lists as sensitive (stored encrypted): d's SENSITIVE
 * attributes and r's marks (r may be NULL). */
json_t *spec_sensitive_names(const struct spec_resource *r, const struct driver *d);
/* True when the array of names (a row's or a resource's sensitive list; NULL: none) holds name. */
int spec_name_listed(const json_t *names, const char *name);

/* node.c / load.c */
void node_free(struct node *n);
const struct node *node_get(const struct node *map, const char *key);
/* Scalars become strings/numbers/bools/null as YAML 1.2 core schema says (quoted ones stay
 * strings); maps become objects, sequences arrays. */
json_t *node_to_json(const struct node *n);

#endif
