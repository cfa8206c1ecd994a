/* manifest.c: the pure parts of kubernetes_manifest: which part of the live object is mesh's to
 * compare (the paths the desired manifest names), an imported object cleaned of what the server
 * maintains, and when two manifests name the same object. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "kubernetes/objects.h"

int kobj_split_manifest_id(const char *id, char *buf, size_t n, struct kube_ref *ref)
{
    if (!id || strlen(id) >= n) return -1;
    snprintf(buf, n, "%s", id);
    char *seg[16];
    int k = 0;
    for (char *p = buf, *s; k < 16 && (s = strsep(&p, "/"));) seg[k++] = s;
    int kind = -1;
    for (int i = 1; i < k && kind < 0; i++)
        if (isupper((unsigned char)seg[i][0])) kind = i;
    /* apiVersion is one or two segments ("v1", "apps/v1"); after the kind, [namespace/]name */
    if (kind < 1 || kind > 2 || k - kind - 1 < 1 || k - kind - 1 > 2) return -1;
    for (int i = 0; i < k; i++)
        if (!*seg[i]) return -1;
    if (kind == 2) seg[0][strlen(seg[0])] = '/';  /* rejoin "apps" "v1" */
    ref->api_version = seg[0];
    ref->kind = seg[kind];
    ref->ns = k - kind - 1 == 2 ? seg[kind + 1] : NULL;
    ref->name = seg[k - 1];
    return 0;
}

/* The element of live list l that desired element d names: by "name" when d has one. */
static const json_t *match_named(const json_t *l, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach((json_t *)l, i, v) {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strcmp(n, name) == 0) return v;
    }
    return NULL;
}

static int all_named(const json_t *l)
{
    size_t i;
    json_t *v;
    if (!json_array_size(l)) return 0;
    json_array_foreach((json_t *)l, i, v) if (!json_is_string(json_object_get(v, "name"))) return 0;
    return 1;
}

static json_t *project_list(const json_t *live, const json_t *desired)
{
    json_t *out = json_array();
    size_t i;
    json_t *d;
    if (all_named(desired)) {
        /* a list keyed by name (containers, ports, volumes): other managers' members are theirs */
        json_array_foreach((json_t *)desired, i, d) {
            const json_t *l = match_named(live, json_string_value(json_object_get(d, "name")));
            if (l) json_array_append_new(out, kobj_project(l, d));
        }
        return out;
    }
    size_t nl = json_array_size(live);
    json_array_foreach((json_t *)live, i, d) {
        json_t *want = i < json_array_size(desired) && nl == json_array_size(desired) ? json_array_get(desired, i) : NULL;
        json_array_append_new(out, want ? kobj_project(d, want) : json_deep_copy(d));
    }
    return out;
}

json_t *kobj_project(const json_t *live, const json_t *desired)
{
    if (json_is_object(desired) && json_is_object(live)) {
        json_t *out = json_object();
        const char *k;
        json_t *d;
        json_object_foreach((json_t *)desired, k, d) {
            json_t *l = json_object_get(live, k);
            if (l) json_object_set_new(out, k, kobj_project(l, d));
        }
        return out;
    }
    if (json_is_array(desired) && json_is_array(live)) return project_list(live, desired);
    return json_deep_copy(live);
}

json_t *kobj_clean(const json_t *live)
{
    json_t *o = json_deep_copy(live);
    json_object_del(o, "status");
    json_t *m = json_object_get(o, "metadata");
    static const char *const server[] = {"uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                                         "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds", NULL};
    for (int i = 0; server[i]; i++) json_object_del(m, server[i]);
    static const char *const maps[] = {"labels", "annotations", NULL};
    for (int i = 0; maps[i]; i++) {
        json_t *mine = json_object_get(m, maps[i]);
        if (!mine) continue;
        json_t *user = kobj_user_map(mine, NULL, 1);
        if (json_object_size(user)) json_object_set_new(m, maps[i], user);
        else {
            json_decref(user);
            json_object_del(m, maps[i]);
        }
    }
    return o;
}

static size_t group_len(const char *api_version)
{
    const char *slash = api_version ? strchr(api_version, '/') : NULL;
    return slash ? (size_t)(slash - api_version) : 0;  /* "v1": the core group, "" */
}

static int same(const char *a, const char *b)
{
    if (!a) a = "";
    if (!b) b = "";
    return strcmp(a, b) == 0;
}

int kobj_same_identity(const struct kube_ref *a, const struct kube_ref *b)
{
    size_t ga = group_len(a->api_version), gb = group_len(b->api_version);
    return ga == gb && (ga == 0 || strncmp(a->api_version, b->api_version, ga) == 0) && same(a->kind, b->kind) &&
           same(a->ns, b->ns) && same(a->name, b->name);
}
