/* cmd_resources.h: what `mesh resources --iam-policy` is made of (cmd_resources_policy.c), apart
 * for the unit test. The engine only gathers and unions the drivers' permission strings; each
 * provider writes them in its own policy language (struct provider.policy). */
#ifndef MESH_CMD_RESOURCES_H
#define MESH_CMD_RESOURCES_H

#include <jansson.h>
#include <stddef.h>

#include "driver.h"

struct cli_opts;
struct spec;

/* The permissions of the drivers ds[0..n) of provider p (duplicates in ds are fine): a new
 * array of strings, sorted (strcmp), each once. */
json_t *permissions_union(const struct driver *const *ds, size_t n, const struct provider *p);
/* The policy() request of p for spec (NULL: every type the registry has): {"permissions",
 * "resources", "config"} as driver.h says. NULL when no type in it has a permission of p. */
json_t *policy_request(const struct spec *spec, const struct provider *p);
/* The document: p->policy(request) for the one provider with permissions, {provider name:
 * document} when several have, NULL when none has (the spec needs no cloud permission). With
 * backend (team state: "s3", config as session_state_backend gives it), what that backend needs
 * joins the document of its provider. */
json_t *policy_document(const struct spec *spec, const char *backend, const json_t *backend_config);
int cmd_resources_policy(struct cli_opts *o);

#endif
