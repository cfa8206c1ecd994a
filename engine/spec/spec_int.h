/* spec_int.h: what the spec loader's own files share (load.c → schema.c → compile.c).
 * Nothing outside engine/spec includes it. */
#ifndef MESH_SPEC_INT_H
#define MESH_SPEC_INT_H

#include <stddef.h>

#include "spec/spec.h"

#define SPEC_MAX_BYTES (8u << 20)   /* 8 MiB: larger files are rejected before parsing */
#define SPEC_MAX_DEPTH 64           /* nesting levels */
#define SPEC_MAX_NODES 2000000u     /* values in one file; bounds memory whatever the input */
#define SPEC_MAX_REFS_PER_VALUE 1000u  /* ${...} references in one value */
#define SPEC_MAX_CLUSTERS 64u       /* clusters: expands per pair of clusters */
#define SPEC_MAX_NODE_GROUPS 30u    /* per cluster: EKS's own quota of managed node groups */
#define SPEC_MAX_RESOURCES 100000u  /* resources a spec compiles to, in all (the benchmark uses 10,000) */
#define SPEC_MAX_EXPANDED_BYTES (64u << 20)  /* what ${var.NAME} substitutions add, in all */
#define SPEC_MAX_PKI_ROOTS 16        /* pki.roots: rotation needs two or three */
#define SPEC_MAX_ADDRESS_SUGGESTIONS 32  /* "did you mean" for unknown addresses: each is a pass over all */

/* Where the charts come from unless the spec says otherwise (schema.c documents them; the
 * compilers use them): the public repositories, and the controller's chart version mesh pins. */
#define ISTIO_CHARTS_REPOSITORY "https://istio-release.storage.googleapis.com/charts"
#define LBC_CHART_REPOSITORY "https://aws.github.io/eks-charts"
#define LBC_CHART_NAME "aws-load-balancer-controller"
#define LBC_CHART_VERSION "1.11.0"

/* The file's text with a line index, so positions inside scalars can be found in O(1). */
struct spec_text {
    const char *file;
    const char *text;
    size_t len;
    size_t *lines;      /* byte offset where each line starts; lines[0] = 0 */
    size_t nlines;
};

/* Everything a validation or compile pass needs to report problems. */
struct spec_ctx {
    const struct spec_text *text;
    struct diag_list *dl;
    const char *file;
};

/* load.c */
void spec_text_index(struct spec_text *t);  /* fills lines/nlines; caller frees lines */
/* Positions of the "${" of one scalar in its source: with vars 0, those that are not a ${var.NAME}
 * (as ref_parse counts them once variables are substituted); with vars 1, the ${var.NAME}s. Ask
 * for k = 0, 1, 2 ... in order (k never decreasing): the source is walked once, left to right. A
 * scalar spanning several lines, or a k past the last "${", gets the scalar's own position. */
struct spec_dollars {
    const struct spec_text *t;
    const struct node *n;
    int vars;
    size_t i;           /* next byte of the source to look at; SIZE_MAX: no columns */
    int col;            /* its column */
    size_t seen;        /* "${" of the wanted kind passed so far */
    size_t scanned;     /* characters looked at, in all: what the unit test holds to be linear */
};
void spec_dollars_init(struct spec_dollars *it, const struct spec_text *t, const struct node *scalar, int vars);
void spec_dollars_pos(struct spec_dollars *it, size_t k, int *line, int *col);
/* The YAML text of c into a node tree (NULL for an empty stream), with the loader's limits;
 * problems go to c->dl. -1 after a fatal one. */
int spec_yaml_parse(const struct spec_ctx *c, struct node **root);

/* node.c */
enum scalar_type { SCALAR_NULL, SCALAR_BOOL, SCALAR_INT, SCALAR_FLOAT, SCALAR_STRING };
enum scalar_type node_scalar_type(const struct node *n);
/* "a map", "a list", "a string", "a number", "a boolean", "null": for "must be X, not Y". */
const char *node_kind_name(const struct node *n);
int node_is_null(const struct node *n);

/* schema.c: checks every high-level section's shape against its schema table. */
void schema_validate(const struct node *root, const struct spec_ctx *c);

/* compile.c: the resources of every section, into s->resources and s->by_address. -1 when a
 * section is over a limit (SPEC_MAX_CLUSTERS, SPEC_MAX_RESOURCES) and was not expanded: then
 * nothing that refers to resources is worth checking. */
int spec_compile(struct spec *s, const struct spec_ctx *c);
void spec_resource_free(void *r);
/* For the section compilers: an edge of r positioned at line:col (output NULL: depends_on); and r
 * added to the spec, or reported as a duplicate address and freed. */
/* A new resource at address (TYPE.NAME; its driver looked up), no attributes yet, positioned at
 * `at`, made by section origin ("resources", "network", "pki", "clusters"). */
struct spec_resource *spec_resource_new(const char *address, const struct node *at, const char *origin);
void spec_add_dep(struct spec_resource *r, const char *address, const char *output, int line, int col);
/* r belongs to the connection at address (also a dependency of it). */
void spec_set_connection(struct spec_resource *r, const char *address, int line, int col);
void spec_dep_free(void *d);
/* The one walk over ${ADDRESS.OUTPUT} references: every one in the scalars of v joins deps
 * (struct spec_dep *) positioned at its "${"; a malformed one, or more than
 * SPEC_MAX_REFS_PER_VALUE in one value, is reported (prefixed "who: " when who is not NULL). */
void spec_collect_refs(struct vec *deps, const struct node *v, const char *who, const struct spec_ctx *c);
void spec_add_resource(struct spec *s, struct spec_resource *r, const struct spec_ctx *c);
/* The driver's check() of a resource a section compiled (drivers with DRIVER_CHECK_IN_SPEC: a
 * Helm release's local chart exists), its problems reported at r's position. */
void spec_check_compiled(const struct spec_resource *r, const struct spec_ctx *c);
/* A reference to no resource of the spec / to an output its type lacks, with "did you mean".
 * who names the referring place ("`null_resource.b`", "output `a_id`"); budget may be NULL. */
void spec_diag_unknown_target(const struct spec *s, const char *who, const struct spec_dep *d, int *budget,
                              const struct spec_ctx *c);
void spec_diag_unknown_output(const char *who, const struct spec_dep *d, const struct spec_resource *t,
                              const struct spec_ctx *c);

/* timeouts.c: a resource's `timeouts:` map as seconds; the top-level per-type section. */
json_t *timeouts_from_node(const struct node *v, const char *what, const struct spec_ctx *c);
void compile_type_timeouts(struct spec *s, const struct spec_ctx *c);

/* compile_pki.c: pki: + clusters: → the PKI resources (docs/pki.md). */
void compile_pki(struct spec *s, const struct node *section, const struct spec_ctx *c);
/* compile_network.c: network: (+ mesh:, clusters:) → the VPC, subnets, gateways, SGs (docs/aws.md). */
void compile_network(struct spec *s, const struct node *section, const struct spec_ctx *c);
/* compile_clusters.c: clusters: (+ mesh:, and what compile_network made) → EKS clusters, node
 * groups, add-ons, their IAM, KMS and logs, the control-plane rules (docs/spec.md, docs/aws.md). */
void compile_clusters(struct spec *s, const struct node *section, const struct spec_ctx *c);
/* compile_cluster_apps.c: clusters: → what mesh installs in each cluster whatever istio: says:
 * the AWS Load Balancer Controller's release (EKS clusters), the aws-node egress patch
 * (existing ones). After compile_clusters (its IRSA roles, node groups, connections). */
void compile_cluster_apps(struct spec *s, const struct node *section, const struct spec_ctx *c);
/* compile_istio.c: istio: (+ clusters:, pki:) → per cluster the namespace, cacerts, the Istio
 * releases, the reader token, and the remote secrets of the others (docs/spec.md). */
void compile_istio(struct spec *s, const struct node *section, const struct spec_ctx *c);

/* compile_util.c: a value of the spec or its default (cu_str, cu_bool: NULL maps give the
 * default), the key node named name in map m (a resource's position), "${ADDRESS.OUTPUT}", and
 * an edge of r for every reference in the strings of v (a malformed one reported at r). */
const char *cu_str(const struct node *m, const char *key, const char *def);
int cu_bool(const struct node *m, const char *key, int def);
const struct node *cu_key(const struct node *m, const char *name);
json_t *cu_ref(const char *address, const char *output);
void cu_edges(const struct spec_ctx *c, struct spec_resource *r, const json_t *v);

/* compile_helm.c: what the compilers of Helm releases share. */
/* The chart of a release from a chart source (a name, a local path, an oci:// reference), the
 * repository it is named in (a URL or a local folder) and a version: sets r's chart, and its
 * repository and version when they apply (a local chart has neither). */
void helm_chart_set(struct spec_resource *r, const char *source, const char *repository, const char *version);
/* 1 when a chart source is a local path: ./x, ../x, /x or x.tgz. */
int helm_chart_is_path(const char *source);
/* Merges the map node m (Helm values from the spec; may be NULL) into values, key by key, the
 * spec's winning. */
void helm_values_merge(json_t *values, const struct node *m);

/* vars.c: the vars: declarations, their values (defaults < --var-file < MESH_VAR_<NAME> < --var)
 * and ${var.NAME} substituted into every value of the tree but vars: itself. in may be NULL. */
void vars_apply(struct spec *s, const struct spec_vars_in *in, const struct spec_ctx *c);
/* After compile: attributes a sensitive variable's value flowed into join r->sensitive. */
void vars_mark_sensitive(struct spec *s);
/* True when a node of the subtree holds a sensitive variable's value. */
int node_has_sensitive(const struct node *n);

/* sensitive.c: after compile and vars_mark_sensitive, an attribute that references a sensitive
 * attribute (directly, inside a string, nested, or over any number of hops) joins r->sensitive. */
void spec_mark_sensitive_refs(struct spec *s);

/* outputs.c: outputs: → s->outputs, each reference checked against the spec's resources. */
void compile_outputs(struct spec *s, const struct spec_ctx *c);
void spec_output_free(void *o);

#endif
