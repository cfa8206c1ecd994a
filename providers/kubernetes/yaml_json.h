/* yaml_json.h: YAML text -> jansson value, for the files the Kubernetes client reads (kubeconfigs).
 * Providers may not use the engine's spec loader, and a kubeconfig needs none of its positions:
 * plain scalars become true/false/null/integers when they read so (YAML 1.2 core schema), every
 * other scalar a string. One document; aliases, deep nesting and huge files are refused. */
#ifndef MESH_KUBE_YAML_JSON_H
#define MESH_KUBE_YAML_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* *out gets a new reference (json null for an empty document). what names the text in errors
 * ("kubeconfig /x"). */
int kube_yaml_to_json(const char *text, size_t len, const char *what, json_t **out, struct mesh_err *e);

#endif
