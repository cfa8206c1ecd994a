/* storage.c: helm's own records of a release (Secrets sh.helm.release.v1.NAME.vN labelled
 * owner=helm,name=NAME) when helm cannot read them. helm skips a record it cannot decode (base64,
 * gzip, JSON) without a word; when it skips them all it says only "no revision for release". A
 * write cut off by kill -9 or a hand edit leaves such a record, and then neither upgrade, rollback
 * nor uninstall can move the release: the user needs to know which Secrets, and what to do. */
#include <stdio.h>
#include <string.h>

#include "helm/helm.h"

int helm_says_unreadable(const char *err_text)
{
    static const char *const words[] = {
        "no revision for release",     /* storage.Last: every record skipped */
        "failed to decode data",       /* driver Get of one record */
        "failed to decode release",
        "illegal base64 data",
        "gzip: invalid header",
    };
    if (!err_text) return 0;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strstr(err_text, words[i])) return 1;
    return 0;
}

int helm_records(struct call *c, struct kube_conn *k, const struct helm_target *t, json_t **items,
                 struct mesh_err *e)
{
    char sel[300];
    snprintf(sel, sizeof(sel), "owner=helm,name=%s", t->name);
    return kube_list(c, k, "v1", "Secret", t->ns, sel, items, e);
}

static const char *label(const json_t *item, const char *key)
{
    const char *v = json_string_value(json_object_get(json_object_get(json_object_get(item, "metadata"), "labels"), key));
    return v ? v : "?";
}

void helm_records_explain(const struct helm_target *t, const json_t *items, struct mesh_err *e)
{
    char helm_said[160], names[260] = "";
    snprintf(helm_said, sizeof(helm_said), "%.150s", e->msg);
    size_t i, used = 0;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *name = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
        if (used < sizeof(names))
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%.100s (status %.20s)", i ? ", " : "",
                                     name ? name : "?", label(it, "status"));
    }
    snprintf(e->msg, sizeof(e->msg),
             "helm cannot read its record of release %.53s: Secret %.250s in namespace %.63s holds data helm cannot "
             "decode (a write cut off, or an edit; helm: %.150s). To install it afresh from the spec (helm adopts "
             "the objects annotated for it): kubectl -n %.63s delete secret -l owner=helm,name=%.53s, then mesh "
             "apply (mesh does so itself only when its own cut-off create left a first install's record)",
             t->name, json_array_size(items) ? names : "(none found)", t->ns, helm_said, t->ns, t->name);
    e->code = MESH_ERR;
    snprintf(e->cause, sizeof(e->cause), "%s", HELM_UNREADABLE);
}

int helm_records_first_install(const json_t *items)
{
    size_t i;
    json_t *it;
    if (!json_array_size(items)) return 0;
    json_array_foreach(items, i, it) {
        const char *type = json_string_value(json_object_get(it, "type"));
        if (strcmp(label(it, "version"), "1") != 0 || !type || strcmp(type, "helm.sh/release.v1") != 0) return 0;
    }
    return 1;
}

int helm_records_drop(struct call *c, struct kube_conn *k, const json_t *items, struct mesh_err *e)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        struct kube_ref ref;
        if (kube_ref_of(it, &ref, e)) return -1;
        const char *uid = json_string_value(json_object_get(json_object_get(it, "metadata"), "uid"));
        int rc = kube_delete(c, k, &ref, uid, e);
        if (rc && rc != MESH_ENOTFOUND) return rc;
        mesh_err_clear(e);
    }
    return 0;
}
