/* cmd_resources_policy.c: `mesh resources --iam-policy`: the permissions the spec's resource
 * types need, printed as the provider's policy document. The strings come from the drivers
 * (struct driver.permissions), so the list follows the code; the engine neither reads nor
 * knows their format: it unions them per provider and hands them to the provider's policy(). */
#include "cmd_resources.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"
#include "base/xalloc.h"
#include "cli.h"
#include "session.h"
#include "spec/spec.h"
#include "ui.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

json_t *permissions_union(const struct driver *const *ds, size_t n, const struct provider *p)
{
    struct vec all = VEC_INIT;
    for (size_t i = 0; i < n; i++) {
        if (ds[i]->provider != p) continue;
        for (const char *const *s = ds[i]->permissions; s && *s; s++) vec_push(&all, (void *)*s);
    }
    if (all.len) qsort(all.items, all.len, sizeof(all.items[0]), cmp_str);
    json_t *out = json_array();
    for (size_t i = 0; i < all.len; i++)
        if (i == 0 || strcmp(all.items[i], all.items[i - 1]) != 0) json_array_append_new(out, json_string(all.items[i]));
    vec_release(&all);
    return out;
}

/* The drivers of the spec's resources, or every driver without a spec. */
static void drivers_of(const struct spec *spec, struct vec *out)
{
    if (!spec) {
        for (size_t i = 0; i < driver_count(); i++) vec_push(out, (void *)driver_at(i));
        return;
    }
    for (size_t i = 0; i < spec->resources.len; i++) {
        const struct spec_resource *r = spec->resources.items[i];
        if (r->driver) vec_push(out, (void *)r->driver);
    }
}

json_t *policy_request(const struct spec *spec, const struct provider *p)
{
    struct vec ds = VEC_INIT;
    drivers_of(spec, &ds);
    json_t *perms = permissions_union((const struct driver *const *)ds.items, ds.len, p);
    vec_release(&ds);
    if (!json_array_size(perms)) {
        json_decref(perms);
        return NULL;
    }
    json_t *resources = json_array();
    for (size_t i = 0; spec && i < spec->resources.len; i++) {
        const struct spec_resource *r = spec->resources.items[i];
        if (!r->driver || r->driver->provider != p) continue;
        json_array_append_new(resources, json_pack("{s:s, s:s, s:O}", "address", r->address, "type", r->type,
                                                   "attributes", r->attrs ? r->attrs : json_null()));
    }
    json_t *config = spec && spec->mesh ? json_incref(spec->mesh) : json_null();
    return json_pack("{s:o, s:o, s:o}", "permissions", perms, "resources", resources, "config", config);
}

json_t *policy_document(const struct spec *spec, const char *backend, const json_t *backend_config)
{
    json_t *docs = json_object();
    for (size_t i = 0; i < driver_count(); i++) {
        const struct provider *p = driver_at(i)->provider;
        if (!p || !p->policy || json_object_get(docs, p->name)) continue;
        json_t *req = policy_request(spec, p);
        if (!req) continue;
        json_t *doc = p->policy(req);
        json_decref(req);
        if (doc) json_object_set_new(docs, p->name, doc);
    }
    /* Team state: the backend's permissions join its provider's document (or make one). */
    const char *owner = backend ? state_backend_provider(backend) : NULL;
    if (owner) {
        json_t *doc = json_incref(json_object_get(docs, owner));
        doc = state_backend_policy(backend, backend_config, doc);
        if (doc) json_object_set_new(docs, owner, doc);
    }
    json_t *one = NULL;
    if (json_object_size(docs) == 1) {
        void *it = json_object_iter(docs);
        one = json_incref(json_object_iter_value(it));
    } else if (json_object_size(docs) > 1) {
        one = json_incref(docs);
    }
    json_decref(docs);
    return one;
}

int cmd_resources_policy(struct cli_opts *o)
{
    ui_init(0);
    struct session s;
    session_init(&s, o);
    if (o->spec_given && session_load_spec(&s, 0)) {
        session_release(&s);
        return 1;
    }
    char backend[16] = "";
    json_t *backend_config = NULL;
    struct mesh_err err;
    mesh_err_init(&err);
    if (session_state_remote(&s) && session_state_backend(&s, NULL, backend, sizeof(backend), &backend_config, &err)) {
        ui_error(&err);
        session_release(&s);
        return 1;
    }
    json_t *doc = policy_document(o->spec_given ? s.spec : NULL, backend[0] ? backend : NULL, backend_config);
    json_decref(backend_config);
    session_release(&s);
    if (!doc) {
        fprintf(stderr, "mesh resources: no resource type of %s needs a cloud permission: there is no policy to print\n",
                o->spec_given ? o->spec_path : "mesh");
        return 0;
    }
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    printf("%s\n", text);
    free(text);
    return 0;
}
