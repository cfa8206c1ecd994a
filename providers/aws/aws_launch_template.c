/* aws_launch_template.c: an EC2 launch template for an EKS node group: the nodes' security
 * groups, root disk size (EKS refuses diskSize next to a launch template) and IMDSv2. A change
 * makes a new version (CreateLaunchTemplateVersion) and makes it the default (ModifyLaunchTemplate);
 * latest_version changes with it, and the node group rolls its nodes to it. Keyed by name: find
 * adopts a cut-off create by name when its tags say this address and run made it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws_call.h"
#include "aws/ec2.h"

static const struct attr lt_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the launch template name (unique in the region)"},
    {"security_group_ids", T_LIST, 0, "the nodes' security groups (EKS adds none of its own with a template)"},
    {"disk_size", T_NUMBER, 0, "root volume (/dev/xvda, gp3) size in GiB; unset: the AMI's"},
    {"http_tokens", T_STRING, 0, "\"required\": IMDSv2 only (hop limit 2, so pods reach it); unset: optional"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "lt-..."},
    {"latest_version", T_NUMBER, ATTR_COMPUTED | ATTR_RECOMPUTED, "the newest version (the default one)"},
    {NULL, 0, 0, NULL},
};

static const char *const lt_echo[] = {"name", "security_group_ids", "disk_size", "http_tokens", "tags", NULL};

static const struct ec2_type lt_type = {
    .describe = "DescribeLaunchTemplates", .describe_id = "LaunchTemplateId.1", .set_path = "launchTemplates",
    .remove = "DeleteLaunchTemplate", .remove_id = "LaunchTemplateId", .echo = lt_echo,
};

static void put_version(json_t *o, xmlNodePtr n, const char *path)
{
    char *v = ec2_text(n, path);
    if (v) json_object_set_new(o, "latest_version", json_integer(strtol(v, NULL, 10)));
    free(v);
}

static json_t *lt_outputs(xmlNodePtr item, const json_t *desired)
{
    json_t *o = json_object();
    ec2_put_text(o, "id", item, "launchTemplateId");
    put_version(o, item, "latestVersionNumber");
    ec2_echo(o, desired, lt_echo);
    return o;
}

/* LaunchTemplateData.* of desired. */
static void template_data(struct aws_query *q, const json_t *desired)
{
    char key[96];
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(desired, "security_group_ids"), i, v) {
        snprintf(key, sizeof(key), "LaunchTemplateData.SecurityGroupId.%zu", i + 1);
        aws_query_add(q, key, json_string_value(v) ? json_string_value(v) : "");
    }
    json_t *disk = json_object_get(desired, "disk_size");
    if (json_is_number(disk)) {
        char n[32];
        snprintf(n, sizeof(n), "%lld", (long long)json_number_value(disk));
        aws_query_add(q, "LaunchTemplateData.BlockDeviceMapping.1.DeviceName", "/dev/xvda");
        aws_query_add(q, "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeSize", n);
        aws_query_add(q, "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType", "gp3");
    }
    if (ec2_str(desired, "http_tokens")) {
        aws_query_add(q, "LaunchTemplateData.MetadataOptions.HttpTokens", ec2_str(desired, "http_tokens"));
        aws_query_add(q, "LaunchTemplateData.MetadataOptions.HttpPutResponseHopLimit", "2");
    }
}

static int lt_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    ec2_query(&q, "CreateLaunchTemplate");
    aws_query_add(&q, "LaunchTemplateName", ec2_str(desired, "name") ? ec2_str(desired, "name") : "");
    aws_query_add(&q, "ClientToken", c->token);
    template_data(&q, desired);
    ec2_tag_spec(c, &q, 1, "launch-template", json_object_get(desired, "tags"));
    return ec2_create_one(c, &q, "launchTemplate", lt_outputs, desired, "launchTemplateId", outputs);
}

/* find: the template of this name, when its tags say this address and run made it. */
static int lt_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *name = ec2_str(desired, "name");
    if (!name) return MESH_ENOTFOUND;
    struct aws_query q;
    ec2_query(&q, "DescribeLaunchTemplates");
    aws_query_add(&q, "LaunchTemplateName.1", name);
    xmlDocPtr doc = NULL;
    struct mesh_err e;
    int rc = aws_call_query(c, "ec2", &q, &doc, &e);
    aws_query_release(&q);
    /* an unknown name answers InvalidLaunchTemplateName.NotFoundException */
    if (rc == MESH_ENOTFOUND || (rc && strcmp(e.cause, "InvalidLaunchTemplateName.NotFoundException") == 0))
        return MESH_ENOTFOUND;
    if (rc) return aws_fail(c, &e);
    xmlNodePtr it = ec2_first_item(doc, "launchTemplates");
    if (it && ec2_tagged_ours(c, aws_xml_find(it, "tagSet"))) *outputs = lt_outputs(it, desired);
    else rc = MESH_ENOTFOUND;
    xmlFreeDoc(doc);
    return rc;
}

/* The default version's data into cur. */
static int read_data(struct call *c, const char *id, const json_t *outputs, json_t *cur)
{
    struct aws_query q;
    ec2_query(&q, "DescribeLaunchTemplateVersions");
    aws_query_add(&q, "LaunchTemplateId", id);
    aws_query_add(&q, "LaunchTemplateVersion.1", "$Default");
    xmlDocPtr doc = NULL;
    int rc = ec2_do(c, &q, &doc);
    aws_query_release(&q);
    if (rc) return rc;
    xmlNodePtr data = aws_xml_find(ec2_first_item(doc, "launchTemplateVersionSet"), "launchTemplateData");
    json_t *sgs = json_array();
    xmlNodePtr set = aws_xml_find(data, "securityGroupIdSet");
    for (xmlNodePtr it = aws_xml_first(set, "item"); it; it = aws_xml_next(it, "item")) {
        char *s = aws_xml_text(it, NULL);
        if (s) json_array_append_new(sgs, json_string(s));
        free(s);
    }
    json_t *mine = json_object_get(outputs, "security_group_ids");
    if (mine && json_array_size(mine) == json_array_size(sgs)) {
        int same = 1;  /* as a set: EC2 may reorder */
        size_t i, j;
        json_t *x, *y;
        json_array_foreach(mine, i, x) {
            int found = 0;
            json_array_foreach(sgs, j, y) if (json_equal(x, y)) found = 1;
            same &= found;
        }
        if (same) {
            json_decref(sgs);
            sgs = json_incref(mine);
        }
    }
    ec2_observe(cur, outputs, "security_group_ids", sgs, json_array_size(sgs) == 0);
    char *size = ec2_text(data, "blockDeviceMappingSet/item/ebs/volumeSize");
    if (size) ec2_observe(cur, outputs, "disk_size", json_integer(strtol(size, NULL, 10)), 0);
    else json_object_del(cur, "disk_size");
    free(size);
    char *tokens = ec2_text(data, "metadataOptions/httpTokens");
    if (tokens) ec2_observe(cur, outputs, "http_tokens", json_string(tokens), strcmp(tokens, "optional") == 0);
    else json_object_del(cur, "http_tokens");
    free(tokens);
    xmlFreeDoc(doc);
    return 0;
}

static int lt_read(struct call *c, const json_t *outputs, json_t **current)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    xmlDocPtr doc = NULL;
    xmlNodePtr it = NULL;
    int rc = ec2_type_describe(&lt_type, c, id, &doc, &it);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    put_version(cur, it, "latestVersionNumber");
    ec2_put_text(cur, "name", it, "launchTemplateName");
    ec2_put_tags(cur, outputs, aws_xml_find(it, "tagSet"));
    xmlFreeDoc(doc);
    if ((rc = read_data(c, id, outputs, cur))) {
        json_decref(cur);
        return rc;
    }
    *current = cur;
    return 0;
}

/* A new version with desired's data, made the default, when the data changed; then tags. */
static int lt_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                     json_t **new_outputs)
{
    const char *id = ec2_id(c, outputs);
    if (!id) return MESH_ERR;
    json_t *have = NULL;
    int rc = lt_read(c, outputs, &have);
    if (rc) return rc;
    int same = 1;
    static const char *const data_keys[] = {"security_group_ids", "disk_size", "http_tokens"};
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_object_get(have, data_keys[i]), *b = json_object_get(desired, data_keys[i]);
        if (!(a ? b && json_equal(a, b) : !b)) same = 0;
    }
    json_decref(have);
    long version = 0;
    if (!same) {
        struct aws_query q;
        ec2_query(&q, "CreateLaunchTemplateVersion");
        aws_query_add(&q, "LaunchTemplateId", id);
        aws_query_add(&q, "ClientToken", c->token);
        template_data(&q, desired);
        xmlDocPtr doc = NULL;
        rc = ec2_do(c, &q, &doc);
        aws_query_release(&q);
        if (rc) return rc;
        char *v = ec2_text(xmlDocGetRootElement(doc), "launchTemplateVersion/versionNumber");
        version = v ? strtol(v, NULL, 10) : 0;
        free(v);
        xmlFreeDoc(doc);
        if (version <= 0)
            return mesh_err_set(c->err, MESH_ERR, c->address, "CreateLaunchTemplateVersion: the answer has no version");
        char n[32];
        snprintf(n, sizeof(n), "%ld", version);
        ec2_query(&q, "ModifyLaunchTemplate");
        aws_query_add(&q, "LaunchTemplateId", id);
        aws_query_add(&q, "SetDefaultVersion", n);
        rc = ec2_do(c, &q, NULL);
        aws_query_release(&q);
        if (rc) return rc;
    }
    rc = ec2_type_update_tags(&lt_type, c, outputs, prior, desired, new_outputs);
    if (!rc && version) json_object_set_new(*new_outputs, "latest_version", json_integer(version));
    return rc;
}

static int lt_delete(struct call *c, const json_t *outputs)
{
    return ec2_type_delete(&lt_type, c, outputs);
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const launch_template_permissions[] = {
    "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplate",
    "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplates", "ec2:ModifyLaunchTemplate",
    "ec2:CreateTags", "ec2:DeleteTags", "ec2:DescribeTags",
    NULL,
};

const struct driver aws_launch_template_driver = {
    .type = "aws_launch_template",
    .provider = &aws_provider,
    .schema = lt_schema,
    .permissions = launch_template_permissions,
    .doc = "an EC2 launch template for an EKS node group (security groups, disk size, IMDSv2); a change makes a "
           "new default version",
    .create = lt_create,
    .find = lt_find,
    .read = lt_read,
    .update = lt_update,
    .delete = lt_delete,
};
