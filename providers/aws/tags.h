/* tags.h: mesh's tags on AWS objects of any service. Every object mesh makes carries the user's
 * tags plus mesh:address, mesh:run and mesh:name, so `find` can adopt a create cut off by a crash
 * (the object of this address made by this run). Drivers report `tags` without the mesh:* keys,
 * so mesh:run (new every run) never makes a plan non-empty; mesh:* are written once, at create. */
#ifndef MESH_AWS_TAGS_H
#define MESH_AWS_TAGS_H

#include <jansson.h>

#include "driver.h"

/* {user..., "mesh:address", "mesh:run", "mesh:name" (when the mesh has a name)}; values as text. */
json_t *aws_mesh_tags(struct call *c, const json_t *user_tags);
/* 1 when tags ({key: value}) carry mesh:address = c->address and mesh:run = c->run_id. */
int aws_tags_ours(struct call *c, const json_t *tags);
/* A copy of tags without the mesh:* keys. */
json_t *aws_user_tags(const json_t *tags);
/* What makes the user tags of an object that has `have` ({key: text}) those of `want` ({key: any},
 * NULL: none): *set = {key: text} of the tags to write (new or changed), *drop = [key] of the tags
 * to remove. mesh:* keys are on neither side: they are written once, at create. Caller frees both. */
void aws_tags_diff(const json_t *have, const json_t *want, json_t **set, json_t **drop);
/* A tag value as AWS stores it: text ("1" for 1, "true" for true). Caller frees. */
char *aws_tag_text(const json_t *v);
/* [{key_name: K, value_name: V}...] of a {K: V} object: IAM's [{Key, Value}], KMS's
 * [{TagKey, TagValue}]. */
json_t *aws_tag_list(const json_t *tags, const char *key_name, const char *value_name);
/* The reverse: a list of {key_name, value_name} objects as {K: V}. NULL list: {}. */
json_t *aws_tag_object(const json_t *list, const char *key_name, const char *value_name);

#endif
