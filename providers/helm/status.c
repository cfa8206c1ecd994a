/* status.c: what helm answers in JSON: a release's status (with its values and manifest) and
 * its history. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/wipe.h"
#include "base/xalloc.h"
#include "helm/helm.h"

int helm_status_parse(const char *text, size_t len, struct helm_status *out, struct mesh_err *e)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *doc = json_loadb(text, len, 0, &je);
    const char *st = json_string_value(json_object_get(json_object_get(doc, "info"), "status"));
    if (!json_is_object(doc) || !st) {
        json_decref(doc);
        return mesh_err_set(e, MESH_ERR, NULL, "helm status printed something that is not a release");
    }
    snprintf(out->status, sizeof(out->status), "%s", st);
    out->revision = (long)json_integer_value(json_object_get(doc, "version"));
    json_t *config = json_object_get(doc, "config");
    out->config = json_is_object(config) ? json_incref(config) : json_object();
    const char *m = json_string_value(json_object_get(doc, "manifest"));
    out->manifest = xstrdup(m ? m : "");
    json_decref(doc);  /* jansson's allocator wipes */
    return 0;
}

void helm_status_release(struct helm_status *st)
{
    json_decref(st->config);
    wipe_free(st->manifest);  /* a rendered Secret */
    st->config = NULL;
    st->manifest = NULL;
}

/* "mesh-test-0.1.0" -> "0.1.0": after the first '-' that a digit follows (chart names do not
 * hold one; versions may hold more dashes: 1.0.0-rc.1). */
static void chart_version(const char *chart, char *buf, size_t n)
{
    const char *p = chart;
    while ((p = strchr(p, '-')) && !isdigit((unsigned char)p[1])) p++;
    snprintf(buf, n, "%s", p ? p + 1 : "");
}

void helm_history_parse(const char *text, size_t len, long newest, struct helm_history *out)
{
    memset(out, 0, sizeof(*out));
    json_t *doc = json_loadb(text, len, 0, NULL);
    size_t i;
    json_t *h;
    json_array_foreach(doc, i, h) {
        long rev = (long)json_integer_value(json_object_get(h, "revision"));
        const char *st = json_string_value(json_object_get(h, "status"));
        if (rev == newest) {
            const char *chart = json_string_value(json_object_get(h, "chart"));
            const char *app = json_string_value(json_object_get(h, "app_version"));
            chart_version(chart ? chart : "", out->chart_version, sizeof(out->chart_version));
            snprintf(out->app_version, sizeof(out->app_version), "%s", app ? app : "");
            continue;
        }
        if (st && (strcmp(st, "deployed") == 0 || strcmp(st, "superseded") == 0) && rev > out->last_deployed)
            out->last_deployed = rev;
    }
    json_decref(doc);
}

int helm_status_pending(const char *status) { return strncmp(status, "pending-", 8) == 0; }

int helm_says_not_found(const char *err_text) { return err_text && strstr(err_text, "release: not found") != NULL; }
