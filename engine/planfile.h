/* planfile.h: saved plans. `mesh plan -out FILE` writes what the plan was made from (the spec
 * text, variables, targets) and a fingerprint of what it will do, bound to the state's lineage and
 * serial and encrypted+authenticated with the state key (AES-256-GCM; the header is the
 * associated data). `mesh apply FILE` refuses if the file was altered, the state moved on, or the
 * plan it makes now differs from the saved one. */
#ifndef MESH_PLANFILE_H
#define MESH_PLANFILE_H

#include <jansson.h>

#include "base/err.h"

struct plan;
struct session;

/* SHA-256 hex of what p will do: every changing entry's address, action and changes. */
void plan_fingerprint(const struct plan *p, char out[65]);
int planfile_write(const char *path, const struct plan *p, struct session *s, const char *lineage,
                   long long serial, struct mesh_err *err);
/* Decrypts and checks FILE. *payload gets {spec_path, spec_text, vars, var_files, targets,
 * fingerprint, lineage, serial}. */
int planfile_read(const char *path, json_t **payload, struct mesh_err *err);
/* The team state a plan was made against ("s3://...?options", in the clear), or NULL. */
char *planfile_state(const char *path);

#endif
