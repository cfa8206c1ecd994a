/* status.c: what helm answers in JSON: a release's status, its history, its values. */
#include <stdio.h>
#include <string.h>

#include "helm/helm.h"

int helm_status_parse(const char *text, size_t len, struct helm_status *out, struct mesh_err *e)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return mesh_err_set(e, MESH_ERR, NULL, "helm status printed something that is not a release (line %d)", je.line);
    }
    const char *st = json_string_value(json_object_get(json_object_get(doc, "info"), "status"));
    json_t *md = json_object_get(json_object_get(doc, "chart"), "metadata");
    const char *cv = json_string_value(json_object_get(md, "version"));
    const char *av = json_string_value(json_object_get(md, "appVersion"));
    snprintf(out->status, sizeof(out->status), "%s", st ? st : "unknown");
    out->revision = (long)json_integer_value(json_object_get(doc, "version"));
    snprintf(out->chart_version, sizeof(out->chart_version), "%s", cv ? cv : "");
    snprintf(out->app_version, sizeof(out->app_version), "%s", av ? av : "");
    json_decref(doc);
    return st ? 0 : mesh_err_set(e, MESH_ERR, NULL, "helm status printed a release without info.status");
}

long helm_history_last_deployed(const char *text, size_t len, long newest)
{
    json_t *doc = json_loadb(text, len, 0, NULL);
    long best = 0;
    size_t i;
    json_t *h;
    json_array_foreach(doc, i, h) {
        long rev = (long)json_integer_value(json_object_get(h, "revision"));
        const char *st = json_string_value(json_object_get(h, "status"));
        if (rev == newest || !st) continue;
        if ((strcmp(st, "deployed") == 0 || strcmp(st, "superseded") == 0) && rev > best) best = rev;
    }
    json_decref(doc);
    return best;
}

int helm_status_pending(const char *status) { return strncmp(status, "pending-", 8) == 0; }

json_t *helm_values_parse(const char *text, size_t len, struct mesh_err *e)
{
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (json_is_null(doc)) {
        json_decref(doc);
        return json_object();
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        mesh_err_set(e, MESH_ERR, NULL, "helm get values printed something that is not a map");
        return NULL;
    }
    return doc;
}

int helm_says_not_found(const char *err_text)
{
    return err_text && strstr(err_text, "release: not found") != NULL;
}
