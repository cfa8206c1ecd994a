/* aws_kms_alias.c: a KMS alias ("alias/NAME") pointing at a key. Aliases carry no tags; the name
 * is deterministic and its key is mesh's, so find adopts the alias of that name on the target
 * key (ListAliases of the key). id is the name + "#" + the key it was made for. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "aws/kms.h"

static const struct attr alias_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the alias, \"alias/...\""},
    {"target_key_id", T_STRING, ATTR_REQUIRED, "the key it points at (KeyId or key ARN)"},
    {"id", T_STRING, ATTR_COMPUTED, "the name + \"#\" + the KeyId it was created for"},
    {"arn", T_STRING, ATTR_COMPUTED, "the alias's ARN"},
    {NULL, 0, 0, NULL},
};

static const char *const alias_echo[] = {"name", "target_key_id", NULL};

struct lookup {
    const char *name;
    json_t *alias;  /* the ListAliases item of that name */
};

static int match(const json_t *item, void *ctx)
{
    struct lookup *l = ctx;
    const char *n = json_string_value(json_object_get(item, "AliasName"));
    if (!n || strcmp(n, l->name) != 0) return 0;
    l->alias = json_incref((json_t *)item);
    return 1;
}

/* The alias of that name (among those of key, or all when key is NULL): 0 with *alias, or
 * MESH_ENOTFOUND; an error sets c->err. */
static int lookup(struct call *c, const char *name, const char *key, json_t **alias)
{
    struct lookup l = {name, NULL};
    json_t *body = key ? json_pack("{s:s}", "KeyId", key) : NULL;
    struct mesh_err e;
    int rc = kms_each(c, "ListAliases", body, "Aliases", match, &l, &e);
    json_decref(body);
    if (rc < 0) {
        json_decref(l.alias);
        return rc == MESH_ENOTFOUND ? rc : aws_fail(c, &e);
    }
    if (!l.alias) return MESH_ENOTFOUND;
    *alias = l.alias;
    return 0;
}

static json_t *alias_outputs(const json_t *alias, const json_t *desired)
{
    const char *name = json_string_value(json_object_get(alias, "AliasName"));
    const char *key = json_string_value(json_object_get(alias, "TargetKeyId"));
    char id[600];
    snprintf(id, sizeof(id), "%s#%s", name ? name : "", key ? key : "");
    json_t *o = json_pack("{s:s}", "id", id);
    json_object_set(o, "arn", json_object_get(alias, "AliasArn"));
    ec2_echo(o, desired, alias_echo);
    return o;
}

static int delete_name(struct call *c, const char *name)
{
    json_t *body = json_pack("{s:s}", "AliasName", name);
    struct mesh_err e;
    int rc = kms_send(c, "DeleteAlias", body, NULL, &e);
    json_decref(body);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

static int alias_create(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name"), *key = ec2_str(desired, "target_key_id");
    json_t *body = json_pack("{s:s, s:s}", "AliasName", name ? name : "", "TargetKeyId", key ? key : "");
    int rc = kms_do(c, "CreateAlias", body, NULL);
    json_decref(body);
    if (rc) return rc;
    /* CreateAlias answers nothing: the ARN comes from the list (a failure removes the alias). */
    json_t *alias = NULL;
    rc = lookup(c, name, key, &alias);
    if (rc) {
        if (rc == MESH_ENOTFOUND) mesh_err_set(c->err, rc, c->address, "ListAliases does not show the new alias %s", name);
        struct mesh_err e;
        struct call quiet = ec2_quiet(c, &e);
        delete_name(&quiet, name);
        return rc;
    }
    *outputs = alias_outputs(alias, desired);
    json_decref(alias);
    return 0;
}

static int alias_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name"), *key = ec2_str(desired, "target_key_id");
    if (!name || !key) return MESH_ENOTFOUND;
    json_t *alias = NULL;
    int rc = lookup(c, name, key, &alias);
    if (rc) return rc;
    *outputs = alias_outputs(alias, desired);
    json_decref(alias);
    return 0;
}

/* The ID is the alias's name, as Terraform's ("alias/NAME"). */
static int alias_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    if (strncmp(id, "alias/", 6) != 0 || !id[6])
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "import ID \"%s\" is not of the form alias/NAME", id);
    json_t *alias = NULL;
    int rc = lookup(c, id, NULL, &alias);
    if (rc) return rc;
    json_t *d = json_copy((json_t *)desired);
    json_object_set_new(d, "name", json_string(id));
    *outputs = alias_outputs(alias, d);
    json_decref(d);
    json_decref(alias);
    return 0;
}

static int alias_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *name = ec2_str(outputs, "name");
    if (!name) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no alias name");
    json_t *alias = NULL;
    int rc = lookup(c, name, NULL, &alias);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    json_object_set(cur, "arn", json_object_get(alias, "AliasArn"));
    /* The world holds a KeyId; the spec may name the key by ARN: the same key is no drift. */
    const char *world = json_string_value(json_object_get(alias, "TargetKeyId"));
    const char *mine = ec2_str(outputs, "target_key_id");
    if (world && !(mine && strcmp(kms_key_id_of(mine), world) == 0))
        json_object_set_new(cur, "target_key_id", json_string(world));
    json_decref(alias);
    *current = cur;
    return 0;
}

static int alias_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                        json_t **new_outputs)
{
    (void)prior;
    const char *name = ec2_str(outputs, "name"), *key = ec2_str(desired, "target_key_id");
    json_t *body = json_pack("{s:s, s:s}", "AliasName", name ? name : "", "TargetKeyId", key ? key : "");
    int rc = kms_do(c, "UpdateAlias", body, NULL);
    json_decref(body);
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, alias_echo);
    *new_outputs = o;
    return 0;
}

static int alias_delete(struct call *c, const json_t *outputs)
{
    const char *name = ec2_str(outputs, "name");
    return name ? delete_name(c, name) : 0;
}

static int alias_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    const char *name = ec2_str(desired, "name");
    if (name && !strstr(name, "${") && (strncmp(name, "alias/", 6) != 0 || strncmp(name, "alias/aws/", 10) == 0)) {
        report(ctx, "name", "a KMS alias is \"alias/NAME\" (and alias/aws/ is AWS's)");
        return 1;
    }
    return 0;
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const kms_alias_permissions[] = {
    "kms:CreateAlias", "kms:DeleteAlias", "kms:ListAliases", "kms:UpdateAlias",
    NULL,
};

const struct driver aws_kms_alias_driver = {
    .type = "aws_kms_alias",
    .provider = &aws_provider,
    .schema = alias_schema,
    .permissions = kms_alias_permissions,
    .doc = "a KMS alias naming a key",
    .create = alias_create,
    .find = alias_find,
    .import = alias_import,
    .read = alias_read,
    .update = alias_update,
    .delete = alias_delete,
    .check = alias_check,
};
