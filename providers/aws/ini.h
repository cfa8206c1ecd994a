/* ini.h: a small reader for the AWS shared files (~/.aws/credentials, ~/.aws/config).
 *
 * The dialect the AWS CLI accepts: "[section]" headers, "key = value" lines, full-line
 * comments starting with '#' or ';', keys case-sensitive, the last duplicate wins, and indented
 * lines under "key =" forming a sub-section (as in "s3 =\n  max_concurrent_requests = 10"),
 * stored as "key.subkey". Values may hold secrets: they are wiped when freed. */
#ifndef MESH_AWS_INI_H
#define MESH_AWS_INI_H

#include <stddef.h>

#include "base/err.h"

struct ini;

/* name is used in error messages ("~/.aws/config:12: ..."). */
int ini_parse(const char *text, size_t len, const char *name, struct ini **out, struct mesh_err *err);
/* MESH_ENOTFOUND (without touching err) when the file does not exist. */
int ini_load(const char *path, struct ini **out, struct mesh_err *err);
void ini_free(struct ini *ini);

/* NULL when the section or the key is absent. */
const char *ini_get(const struct ini *ini, const char *section, const char *key);
int ini_has_section(const struct ini *ini, const char *section);

#endif
