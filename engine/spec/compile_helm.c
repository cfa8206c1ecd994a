/* compile_helm.c: what the compilers of Helm releases share (compile_cluster_apps.c,
 * compile_istio.c): where a chart comes from, and Helm values from the spec merged over mesh's.
 *
 * A chart source is a chart's name in a repository, a local path, or an oci:// reference. The
 * repository is a URL (https://, oci://) or a local folder that holds the charts' folders, so one
 * spec can name the public repository and tests point it at stand-in charts with a variable
 * (docs/spec.md, "Charts"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec_int.h"
#include "base/xalloc.h"

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int helm_chart_is_path(const char *source)
{
    size_t n = strlen(source);
    return starts(source, "./") || starts(source, "../") || source[0] == '/' || (n > 4 && !strcmp(source + n - 4, ".tgz"));
}

static int is_url(const char *s) { return strstr(s, "://") != NULL; }

void helm_chart_set(struct spec_resource *r, const char *source, const char *repository, const char *version)
{
    json_t *a = r->attrs;
    if (helm_chart_is_path(source)) {  /* helm reads it as it is: no repository, no version */
        json_object_set_new(a, "chart", json_string(source));
        return;
    }
    if (starts(source, "oci://")) {
        json_object_set_new(a, "chart", json_string(source));
        if (version && *version) json_object_set_new(a, "version", json_string(version));
        return;
    }
    if (repository && *repository && (!is_url(repository) || starts(repository, "oci://"))) {
        /* a local folder of charts, or an OCI registry path: the chart is FOLDER/NAME */
        size_t n = strlen(repository);
        while (n > 1 && repository[n - 1] == '/') n--;
        /* a relative folder gets ./ so the result reads as a local path by the rule above */
        const char *dot = is_url(repository) || helm_chart_is_path(repository) ? "" : "./";
        size_t len = strlen(dot) + n + 1 + strlen(source) + 1;
        char *path = xmalloc(len);
        snprintf(path, len, "%s%.*s/%s", dot, (int)n, repository, source);
        json_object_set_new(a, "chart", json_string(path));
        free(path);
        if (starts(repository, "oci://") && version && *version) json_object_set_new(a, "version", json_string(version));
        return;
    }
    json_object_set_new(a, "chart", json_string(source));
    if (repository && *repository) json_object_set_new(a, "repository", json_string(repository));
    if (version && *version) json_object_set_new(a, "version", json_string(version));
}

void helm_values_merge(json_t *values, const struct node *m)
{
    if (!m || m->kind != NODE_MAP) return;
    json_t *mine = node_to_json(m);
    json_object_update_recursive(values, mine);
    json_decref(mine);
}
