/* aws_iam_openid_connect_provider.c: an IAM OIDC identity provider (an EKS cluster's issuer, so
 * service accounts can assume roles). Its ARN follows from the URL, so find lists the account's
 * providers, picks the one of this URL and checks its mesh tags. The ARN alone names every
 * incarnation alike: id is the ARN + "#" + its CreateDate. */
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "aws/iam.h"
#include "aws/tags.h"

static const struct attr oidc_schema[] = {
    {"url", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the issuer URL (https://oidc.eks.REGION.amazonaws.com/id/...)"},
    {"client_ids", T_LIST, 0, "audiences allowed to use it (default [sts.amazonaws.com])"},
    {"thumbprints", T_LIST, 0, "SHA-1 thumbprints of the issuer's CA (optional: AWS trusts well-known CAs)"},
    {"tags", T_MAP, 0, "tags; mesh adds mesh:address, mesh:run and mesh:name"},
    {"id", T_STRING, ATTR_COMPUTED, "the ARN + \"#\" + its creation date, new for every incarnation"},
    {"arn", T_STRING, ATTR_COMPUTED, "the provider's ARN"},
    {NULL, 0, 0, NULL},
};

static const char *const oidc_echo[] = {"url", "client_ids", "thumbprints", "tags", NULL};
#define OIDC_DEFAULT_CLIENT "sts.amazonaws.com"

/* The desired client IDs: the default when none are given. */
static json_t *want_clients(const json_t *desired)
{
    const json_t *l = json_object_get(desired, "client_ids");
    return json_is_array(l) ? json_incref((json_t *)l) : json_pack("[s]", OIDC_DEFAULT_CLIENT);
}

static void add_list(struct aws_query *q, const char *prefix, const json_t *l)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)l, i, v) {
        char name[64];
        snprintf(name, sizeof(name), "%s.member.%zu", prefix, i + 1);
        aws_query_add(q, name, json_string_value(v) ? json_string_value(v) : "");
    }
}

static int get_provider(struct call *c, const char *arn, xmlDocPtr *doc, xmlNodePtr *res, struct mesh_err *e)
{
    struct aws_query q;
    iam_query(&q, "GetOpenIDConnectProvider");
    aws_query_add(&q, "OpenIDConnectProviderArn", arn);
    *doc = NULL;
    int rc = iam_send(c, &q, doc, e);
    if (rc) return rc;
    *res = iam_result(*doc, "GetOpenIDConnectProvider");
    return 0;
}

static json_t *oidc_outputs(const char *arn, xmlNodePtr res, const json_t *desired)
{
    char *date = aws_xml_text(res, "CreateDate"), id[1200];
    snprintf(id, sizeof(id), "%s#%s", arn, date ? date : "");
    free(date);
    json_t *o = json_pack("{s:s, s:s}", "id", id, "arn", arn);
    ec2_echo(o, desired, oidc_echo);
    return o;
}

/* The provider of outputs, when still the same incarnation (the id's creation date). */
static int get_ours(struct call *c, const json_t *outputs, xmlDocPtr *doc, xmlNodePtr *res)
{
    const char *arn = ec2_str(outputs, "arn"), *id = ec2_id(c, outputs);
    if (!arn || !id) return mesh_err_set(c->err, MESH_ERR, c->address, "state holds no provider ARN or id");
    struct mesh_err e;
    int rc = get_provider(c, arn, doc, res, &e);
    if (rc == MESH_ENOTFOUND) return rc;
    if (rc) return aws_fail(c, &e);
    json_t *now = oidc_outputs(arn, *res, NULL);
    int same = strcmp(ec2_str(now, "id"), id) == 0;
    json_decref(now);
    if (!same) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        return MESH_ENOTFOUND;
    }
    return 0;
}

static int delete_arn(struct call *c, const char *arn)
{
    struct aws_query q;
    iam_query(&q, "DeleteOpenIDConnectProvider");
    aws_query_add(&q, "OpenIDConnectProviderArn", arn);
    struct mesh_err e;
    int rc = iam_send(c, &q, NULL, &e);
    return rc && rc != MESH_ENOTFOUND ? aws_fail(c, &e) : 0;
}

static int oidc_create(struct call *c, const json_t *desired, json_t **outputs)
{
    struct aws_query q;
    iam_query(&q, "CreateOpenIDConnectProvider");
    aws_query_add(&q, "Url", ec2_str(desired, "url") ? ec2_str(desired, "url") : "");
    json_t *clients = want_clients(desired);
    add_list(&q, "ClientIDList", clients);
    json_decref(clients);
    add_list(&q, "ThumbprintList", json_object_get(desired, "thumbprints"));
    iam_add_mesh_tags(c, &q, json_object_get(desired, "tags"));
    xmlDocPtr doc = NULL;
    int rc = iam_do(c, &q, &doc);
    if (rc) return rc;
    char *arn = aws_xml_text(iam_result(doc, "CreateOpenIDConnectProvider"), "OpenIDConnectProviderArn");
    xmlFreeDoc(doc);
    if (!arn) return mesh_err_set(c->err, MESH_ERR, c->address, "CreateOpenIDConnectProvider: the reply holds no ARN");
    /* The creation date makes the id: read it back (a failure removes the new provider). */
    xmlNodePtr res;
    struct mesh_err e;
    rc = get_provider(c, arn, &doc, &res, &e);
    if (rc) {
        aws_fail(c, &e);
        struct mesh_err e2;
        struct call quiet = ec2_quiet(c, &e2);
        delete_arn(&quiet, arn);
        free(arn);
        return rc;
    }
    *outputs = oidc_outputs(arn, res, desired);
    xmlFreeDoc(doc);
    free(arn);
    return 0;
}

/* The issuer's host and path as an ARN ends with it ("oidc.eks.../id/X"). */
static const char *url_tail(const char *url)
{
    const char *p = strstr(url, "://");
    return p ? p + 3 : url;
}

struct find_ctx {
    struct call *c;
    const char *tail;
    const json_t *desired;
    json_t *found;
    struct mesh_err e;
    int rc;
};

static int find_member(xmlNodePtr m, void *ctx)
{
    struct find_ctx *f = ctx;
    char *arn = aws_xml_text(m, "Arn");
    const char *slash = arn ? strstr(arn, ":oidc-provider/") : NULL;
    if (!f->found && slash && strcmp(slash + strlen(":oidc-provider/"), f->tail) == 0) {
        xmlDocPtr doc;
        xmlNodePtr res;
        int rc = get_provider(f->c, arn, &doc, &res, &f->e);
        if (rc && rc != MESH_ENOTFOUND) f->rc = rc;
        if (!rc) {
            json_t *tags = iam_tags(aws_xml_find(res, "Tags"));
            if (aws_tags_ours(f->c, tags)) f->found = oidc_outputs(arn, res, f->desired);
            json_decref(tags);
            xmlFreeDoc(doc);
        }
    }
    free(arn);
    return f->rc;
}

/* The ID is the provider's ARN, as Terraform's; it names the issuer (url) too. */
static int oidc_import(struct call *c, const char *id, const json_t *desired, json_t **outputs)
{
    const char *tail = strncmp(id, "arn:", 4) == 0 ? strstr(id, ":oidc-provider/") : NULL;
    if (!tail || !tail[strlen(":oidc-provider/")])
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "import ID \"%s\" is not of the form "
                            "arn:aws:iam::ACCOUNT:oidc-provider/ISSUER_HOST/PATH (the provider's ARN)", id);
    xmlDocPtr doc;
    xmlNodePtr res;
    struct mesh_err e;
    int rc = get_provider(c, id, &doc, &res, &e);
    if (rc) return rc == MESH_ENOTFOUND ? rc : aws_fail(c, &e);
    json_t *d = json_copy((json_t *)desired);
    char url[1200];
    snprintf(url, sizeof(url), "https://%s", tail + strlen(":oidc-provider/"));
    json_object_set_new(d, "url", json_string(url));
    *outputs = oidc_outputs(id, res, d);
    json_decref(d);
    xmlFreeDoc(doc);
    return 0;
}

static int oidc_find(struct call *c, const json_t *desired, json_t **outputs)
{
    const char *url = ec2_str(desired, "url");
    if (!url) return MESH_ENOTFOUND;
    struct find_ctx f = {.c = c, .tail = url_tail(url), .desired = desired};
    mesh_err_init(&f.e);
    struct mesh_err e;
    int rc = iam_each(c, "ListOpenIDConnectProviders", NULL, "OpenIDConnectProviderList", find_member, &f, &e);
    if (f.rc || rc) {
        json_decref(f.found);
        return aws_fail(c, f.rc ? &f.e : &e);
    }
    if (!f.found) return MESH_ENOTFOUND;
    *outputs = f.found;
    return 0;
}

static json_t *member_list(xmlNodePtr list)
{
    json_t *a = json_array();
    for (xmlNodePtr m = aws_xml_first(list, "member"); m; m = aws_xml_next(m, "member")) {
        xmlChar *t = xmlNodeGetContent(m);
        if (t) json_array_append_new(a, json_string((const char *)t));
        xmlFree(t);
    }
    return a;
}

static int oidc_read(struct call *c, const json_t *outputs, json_t **current)
{
    xmlDocPtr doc;
    xmlNodePtr res;
    int rc = get_ours(c, outputs, &doc, &res);
    if (rc) return rc;
    json_t *cur = json_deep_copy(outputs);
    /* url: the ARN names it (IAM returns it without https://), so it cannot drift. */
    json_t *clients = member_list(aws_xml_find(res, "ClientIDList"));
    json_t *dflt = json_pack("[s]", OIDC_DEFAULT_CLIENT);
    int is_default = json_equal(clients, dflt);
    json_decref(dflt);
    if (is_default && !json_object_get(outputs, "client_ids")) json_decref(clients);
    else iam_observe_set(cur, outputs, "client_ids", clients);
    iam_observe_set(cur, outputs, "thumbprints", member_list(aws_xml_find(res, "ThumbprintList")));
    json_t *tags = iam_tags(aws_xml_find(res, "Tags"));
    json_t *user = aws_user_tags(tags);
    ec2_observe(cur, outputs, "tags", user, json_object_size(user) == 0);
    json_decref(tags);
    xmlFreeDoc(doc);
    *current = cur;
    return 0;
}

static int client_call(struct call *c, const char *action, const char *arn, const char *client)
{
    struct aws_query q;
    iam_query(&q, action);
    aws_query_add(&q, "OpenIDConnectProviderArn", arn);
    aws_query_add(&q, "ClientID", client);
    return iam_do(c, &q, NULL);
}

static int oidc_update(struct call *c, const json_t *outputs, const json_t *prior, const json_t *desired,
                       json_t **new_outputs)
{
    (void)prior;
    xmlDocPtr doc;
    xmlNodePtr res;
    const char *arn = ec2_str(outputs, "arn");
    int rc = get_ours(c, outputs, &doc, &res);
    if (rc == MESH_ENOTFOUND) return mesh_err_set(c->err, rc, c->address, "the provider %s is gone", arn);
    if (rc) return rc;
    json_t *have = member_list(aws_xml_find(res, "ClientIDList"));
    json_t *have_tp = member_list(aws_xml_find(res, "ThumbprintList"));
    xmlFreeDoc(doc);
    json_t *want = want_clients(desired);
    size_t i;
    json_t *v;
    json_array_foreach(want, i, v) {
        if (!rc && !iam_list_has(have, json_string_value(v)))
            rc = client_call(c, "AddClientIDToOpenIDConnectProvider", arn, json_string_value(v));
    }
    json_array_foreach(have, i, v) {
        if (!rc && !iam_list_has(want, json_string_value(v)))
            rc = client_call(c, "RemoveClientIDFromOpenIDConnectProvider", arn, json_string_value(v));
    }
    const json_t *tp = json_object_get(desired, "thumbprints");
    json_t *tp_want = json_is_array(tp) ? json_incref((json_t *)tp) : json_array();
    int tp_same = json_array_size(tp_want) == json_array_size(have_tp);
    json_array_foreach(tp_want, i, v) tp_same = tp_same && iam_list_has(have_tp, json_string_value(v));
    if (!rc && !tp_same) {
        struct aws_query q;
        iam_query(&q, "UpdateOpenIDConnectProviderThumbprint");
        aws_query_add(&q, "OpenIDConnectProviderArn", arn);
        add_list(&q, "ThumbprintList", tp_want);
        rc = iam_do(c, &q, NULL);
    }
    json_decref(tp_want);
    json_decref(want);
    json_decref(have);
    json_decref(have_tp);
    if (!rc) rc = iam_sync_tags(c, "OpenIDConnectProvider", "OpenIDConnectProviderArn", arn, json_object_get(desired, "tags"));
    if (rc) return rc;
    json_t *o = json_deep_copy(outputs);
    ec2_echo(o, desired, oidc_echo);
    *new_outputs = o;
    return 0;
}

static int oidc_delete(struct call *c, const json_t *outputs)
{
    xmlDocPtr doc;
    xmlNodePtr res;
    int rc = get_ours(c, outputs, &doc, &res);
    if (rc == MESH_ENOTFOUND) return 0;
    if (rc) return rc;
    xmlFreeDoc(doc);
    return delete_arn(c, ec2_str(outputs, "arn"));
}

static int oidc_check(struct call *c, const json_t *desired, check_report_fn report, void *ctx)
{
    (void)c;
    const char *url = ec2_str(desired, "url");
    if (url && !strstr(url, "${") && strncmp(url, "https://", 8) != 0) {
        report(ctx, "url", "an OIDC issuer URL starts with https://");
        return 1;
    }
    return 0;
}

/* What create, wait, find, read, update and delete call (shared helpers included). */
static const char *const iam_openid_connect_provider_permissions[] = {
    "iam:AddClientIDToOpenIDConnectProvider", "iam:CreateOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider",
    "iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviders", "iam:ListOpenIDConnectProviderTags",
    "iam:RemoveClientIDFromOpenIDConnectProvider", "iam:TagOpenIDConnectProvider", "iam:UntagOpenIDConnectProvider",
    "iam:UpdateOpenIDConnectProviderThumbprint",
    NULL,
};

const struct driver aws_iam_openid_connect_provider_driver = {
    .type = "aws_iam_openid_connect_provider",
    .provider = &aws_provider,
    .schema = oidc_schema,
    .permissions = iam_openid_connect_provider_permissions,
    .doc = "an IAM OpenID Connect identity provider (an EKS cluster's issuer, for IAM roles of service accounts)",
    .create = oidc_create,
    .find = oidc_find,
    .import = oidc_import,
    .read = oidc_read,
    .update = oidc_update,
    .delete = oidc_delete,
    .check = oidc_check,
};
