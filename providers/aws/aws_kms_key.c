/* aws_kms_key.c: a symmetric KMS key (EKS envelope encryption of Kubernetes secrets). KMS keys
 * have no name: find lists the keys and adopts the one whose tags say this address and this run.
 * KMS never deletes a key at once: delete schedules it (deletion_window_days) and a key pending
 * deletion counts as gone. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "aws/kms.h"
#include "aws/tags.h"

static const struct attr key_schema[] = {
    {"description", T_STRING, 0, "what the key is for"},
    {"enable_key_rotation", T_BOOL, 0, "yearly automatic rotation of the key material (default true)"},
    {"deletion_window_days", T_NUMBER, 0, "days between delete and the key's end, 7 to 30 (default 7)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the KeyId (a UUID)"},
    {"arn", T_STRING, ATTR_COMPUTED, "the key's ARN"},
    {NULL, 0, 0, NULL},
};

static const char *const key_echo[] = {"description", "enable_key_rotation", "deletion_window_days", "tags", NULL};
#define KMS_DEFAULT_WINDOW 7

static json_t *key_body(const char *id) { return json_pack("{s:s}", "KeyId", id); }

/* DescribeKey: 0 with *meta (KeyMetadata, a new reference); MESH_ENOTFOUND (in e) when there is
 * no such key or it is pending deletion. */
static int describe(struct call *c, const char *id, json_t **meta, struct mesh_err *e)
{
    json_t *body = key_body(id), *reply = NULL;
    int rc = kms_send(c, "DescribeKey", body, &reply, e);
    json_decref(body);
    if (rc) return rc;
    json_t *m = json_object_get(reply, "KeyMetadata");
    const char *state = json_string_value(json_object_get(m, "KeyState"));
    if (!m || (state && strncmp(state, "Pending", 7) == 0 && strcmp(state, "PendingImport") != 0)) {
        json_decref(reply);
        return mesh_err_set(e, MESH_ENOTFOUND, c->address, "the key %s is %s", id, state ? state : "gone");
    }
    *meta = json_incref(m);
    json_decref(reply);
    return 0;
}

static int set_rotation(struct call *c, const char *id, int on)
{
    json_t *body = key_body(id);
    int rc = kms_do(c, on ? "EnableKeyRotation" : "DisableKeyRotation", body, NULL);
    json_decref(body);
    return rc;
}

static int schedule_deletion(struct call *c, const char *id, const json_t *outputs)
{
    const json_t *w = json_object_get(outputs, "deletion_window_days");
    json_int_t days = json_is_number(w) ? (json_int_t)json_number_value(w) : KMS_DEFAULT_WINDOW;
    json_t *body = json_pack("{s:s, s:I}", "KeyId", id, "PendingWindowInDays", days);
    struct mesh_err e;
    int rc = kms_send(c, "ScheduleKeyDeletion", body, NULL, &e);
    json_decref(body);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

static json_t *key_outputs(const json_t *meta, const json_t *desired)
{
    json_t *o = json_object();
    json_object_set(o, "id", json_object_get(meta, "KeyId"));
    json_object_set(o, "arn", json_object_get(meta, "Arn"));
    ec2_echo(o, desired, key_echo);
    return o;
}

static int key_create(struct call *c, const json_t *desired, json_t **outputs)
{
    json_t *tags = aws_mesh_tags(c, json_object_get(desired, "tags"));
    json_t *body = json_pack("{s:o}", "Tags", aws_tag_list(tags, "TagKey", "TagValue"));
    json_decref(tags);
    if (ec2_str(desired, "description")) json_object_set(body, "Description", json_object_get(desired, "description"));
    json_t *reply = NULL;
    int rc = kms_do(c, "CreateKey", body, &reply);
    json_decref(body);
    if (rc) return rc;
    json_t *o = key_outputs(json_object_get(reply, "KeyMetadata"), desired);
    json_decref(reply);
    const char *id = ec2_str(o, "id");
    if (!id) {
        json_decref(o);
        return mesh_err_set(c->err, MESH_ERR, c->address, "CreateKey: the reply holds no KeyId");
    }
    if (ec2_bool(desired, "enable_key_rotation", 1) && (rc = set_rotation(c, id, 1)) != 0) {
        struct mesh_err e;
        struct call quiet = ec2_quiet(c, &e);
        schedule_deletion(&quiet, id, o);  /* leave nothing behind a failed create */
        json_decref(o);
        return rc;
    }
    *outputs = o;
    return 0;
}

static int read_tags(struct call *c, const char *id, json_t **tags, struct mesh_err *e)
{
    json_t *body = key_body(id), *reply = NULL;
    int rc = kms_send(c, "ListResourceTags", body, &reply, e);
    json_decref(body);
    if (rc) return rc;
    *tags = aws_tag_object(json_object_get(reply, "Tags"), "TagKey", "TagValue");
    json_decref(reply);
    return 0;
}

struct find_ctx {
    struct call *c;
    const json_t *desired;
    json_t *found;
    struct mesh_err e;
};

static int find_item(const json_t *item, void *ctx)
{
    struct find_ctx *f = ctx;
    const char *id = json_string_value(json_object_get(item, "KeyId"));
    json_t *tags = NULL, *meta = NULL;
    int rc = id ? read_tags(f->c, id, &tags, &f->e) : 0;
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    if (tags && aws_tags_ours(f->c, tags)) {
        rc = describe(f->c, id, &meta, &f->e);
        if (!rc) f->found = key_outputs(meta, f->desired);
        json_decref(meta);
    }
    json_decref(tags);
    if (rc == MESH_ENOTFOUND) return 0;
    return rc ? rc : f->found ? 1 : 0;
}

static int key_find(struct call *c, const json_t *desired, json_t **outputs)
{
    struct find_ctx f = {.c = c, .desired = desired};
    mesh_err_init(&f.e);
    int rc = kms_each(c, "ListKeys", NULL, "Keys", find_item, &f, &f.e);
    if (rc < 0) {
        json_decref(f.found);
        return aws_fail(c, &f.e);
    }
    if (!f.found) return MESH_ENOTFOUND;
    *outputs = f.found;
    return 0;
}

static int key_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    json_t *meta = NULL, *reply = NULL, *tags = NULL;
    struct mesh_err e;
    int rc = describe(c, id, &meta, &e);
    if (rc == MESH_ENOTFOUND) return rc;
    json_t *body = key_body(id);
    if (!rc) rc = kms_send(c, "GetKeyRotationStatus", body, &reply, &e);
    if (!rc) rc = read_tags(c, id, &tags, &e);
    json_decref(body);
    if (rc) {
        json_decref(meta);
        json_decref(reply);
        return rc == MESH_ENOTFOUND ? rc : aws_fail(c, &e);
    }
    json_t *cur = json_deep_copy(outputs);
    json_object_set(cur, "arn", json_object_get(meta, "Arn"));
    const char *desc = json_string_value(json_object_get(meta, "Description"));
    ec2_observe(cur, outputs, "description", json_string(desc ? desc : ""), !desc || !*desc);
    int rot = json_is_true(json_object_get(reply, "KeyRotationEnabled"));
    ec2_observe(cur, outputs, "enable_key_rotation", json_boolean(rot), rot == 1);
    json_t *user = aws_user_tags(tags);
    ec2_observe(cur, outputs, "tags", user, json_object_size(user) == 0);
    /* deletion_window_days only matters at delete: KMS does not report it; outputs' value stays. */
    json_decref(tags);
    json_decref(meta);
    json_decref(reply);
    *current = cur;
    return 0;
}

static int sync_tags(struct call *c, const char *id, const json_t *want_tags)
{
    json_t *have = NULL;
    struct mesh_err e;
    int rc = read_tags(c, id, &have, &e);
    if (rc) return aws_fail(c, &e);
    json_t *set, *drop;
    aws_tags_diff(have, want_tags, &set, &drop);
    if (json_object_size(set)) {
        json_t *body = json_pack("{s:s, s:o}", "KeyId", id, "Tags", aws_tag_list(set, "TagKey", "TagValue"));
        rc = kms_do(c, "TagResource", body, NULL);
        json_decref(body);
    }
    if (!rc && json_array_size(drop)) {
        json_t *body = json_pack("{s:s, s:O}", "KeyId", id, "TagKeys", drop);
        rc = kms_do(c, "UntagResource", body, NULL);
        json_decref(body);
    }
    json_decref(set);
    json_decref(drop);
    json_decref(have);
    return rc;
}

static int key_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                      json_t **new_outputs)
{
    (void)prior;
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    const char *desc = ec2_str(desired, "description");
    json_t *body = json_pack("{s:s, s:s}", "KeyId", id, "Description", desc ? desc : "");
    int rc = kms_do(c, "UpdateKeyDescription", body, NULL);
    json_decref(body);
    if (!rc) rc = set_rotation(c, id, ec2_bool(desired, "enable_key_rotation", 1));
    if (!rc) rc = sync_tags(c, id, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, key_echo);
    *new_outputs = o;
    return 0;
}

static int key_delete(struct call *c, const json_t *outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    json_t *meta = NULL;
    struct mesh_err e;
    int rc = describe(c, id, &meta, &e);
    json_decref(meta);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return aws_fail(c, &e);
    return schedule_deletion(c, id, outputs);
}

static int key_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    const json_t *w = json_object_get(desired, "deletion_window_days");
    if (json_is_number(w) && (json_number_value(w) < 7 || json_number_value(w) > 30)) {
        report(ctx, "deletion_window_days", "KMS takes 7 to 30 days");
        return 1;
    }
    return 0;
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const kms_key_permissions[] = {
    "kms:CreateKey", "kms:DescribeKey", "kms:DisableKeyRotation", "kms:EnableKeyRotation",
    "kms:GetKeyRotationStatus", "kms:ListKeys", "kms:ListResourceTags", "kms:ScheduleKeyDeletion",
    "kms:TagResource", "kms:UntagResource", "kms:UpdateKeyDescription",
    NULL,
};

const struct driver aws_kms_key_driver = {
    .type = "aws_kms_key",
    .provider = &aws_provider,
    .schema = key_schema,
    .permissions = kms_key_permissions,
    .doc = "a symmetric KMS key (rotation on by default); delete schedules its deletion",
    .create = key_create,
    .find = key_find,
    .read = key_read,
    .update = key_update,
    .delete = key_delete,
    .check = key_check,
};
