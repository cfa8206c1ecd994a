/* chart.c: where a chart comes from (see helm.h): an oci:// reference, a chart name in a
 * repository, or a local folder or .tgz (relative to mesh's working directory). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "helm/helm.h"

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int helm_chart_parse(const char *chart, const char *repository, const char *version, struct helm_chart *out,
                     struct mesh_err *e)
{
    memset(out, 0, sizeof(*out));
    if (!chart || !*chart) return mesh_err_set(e, MESH_EINVAL, NULL, "chart: empty");
    if (repository && !*repository) repository = NULL;
    if (version && !*version) version = NULL;
    out->ref = chart;
    out->version = version;
    if (has_prefix(chart, "oci://")) {
        if (repository)
            return mesh_err_set(e, MESH_EINVAL, NULL, "repository: an oci:// chart (%s) names its registry itself; "
                                "drop repository", chart);
        if (strlen(chart) <= 6) return mesh_err_set(e, MESH_EINVAL, NULL, "chart: \"%s\" names no OCI reference", chart);
        out->kind = HELM_CHART_OCI;
        return 0;
    }
    if (repository) {
        if (has_prefix(repository, "oci://"))
            return mesh_err_set(e, MESH_EINVAL, NULL, "repository: an OCI registry is named in chart itself: "
                                "chart: %s/%s, without repository", repository, chart);
        if (!has_prefix(repository, "https://") && !has_prefix(repository, "http://"))
            return mesh_err_set(e, MESH_EINVAL, NULL, "repository: \"%s\" is not a chart repository URL (https://...)",
                                repository);
        if (strchr(chart, '/') || strstr(chart, ".tgz"))
            return mesh_err_set(e, MESH_EINVAL, NULL, "chart: with repository, the chart's name in it (e.g. \"istiod\"), "
                                "not a path (\"%s\")", chart);
        out->kind = HELM_CHART_REPO;
        out->repository = repository;
        return 0;
    }
    if (has_prefix(chart, "http://") || has_prefix(chart, "https://"))
        return mesh_err_set(e, MESH_EINVAL, NULL, "chart: \"%s\" is a URL; give the repository's URL in repository and "
                            "the chart's name in chart", chart);
    if (version)
        return mesh_err_set(e, MESH_EINVAL, NULL, "version: a local chart (%s) has the version its Chart.yaml says; "
                            "drop version or give repository", chart);
    out->kind = HELM_CHART_LOCAL;
    return 0;
}

int helm_chart_missing(const struct helm_chart *c, char *msg, size_t n)
{
    if (c->kind != HELM_CHART_LOCAL) return 0;
    struct stat st;
    if (stat(c->ref, &st) != 0) {
        snprintf(msg, n, "local chart %s does not exist (a folder or .tgz, relative to mesh's working directory; "
                 "a chart from a repository needs repository too)", c->ref);
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/Chart.yaml", c->ref);
        if (stat(path, &st) != 0) {
            snprintf(msg, n, "local chart folder %s has no Chart.yaml", c->ref);
            return 1;
        }
    }
    return 0;
}
