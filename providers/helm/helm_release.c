/* helm_release.c: a Helm release, made by the real `helm` binary (docs/helm.md). SCAFFOLD: the
 * attribute table is the contract (CONTRACT.md of issue 12); the helm helper fills in the calls. */
#include <string.h>

#include "driver.h"

extern const struct provider helm_provider;  /* provider.c */

static const struct attr release_schema[] = {
    {"name", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the release's name"},
    {"namespace", T_STRING, ATTR_REQUIRED | ATTR_FORCE_NEW, "the release's namespace (helm --namespace)"},
    {"chart", T_STRING, ATTR_REQUIRED,
     "a local chart folder or .tgz, a chart name in `repository`, or an oci:// reference"},
    {"repository", T_STRING, 0, "chart repository URL (https://...) when chart is a name in it"},
    {"version", T_STRING, 0, "chart version (repository and OCI charts); unset: the latest"},
    {"values", T_MAP, 0, "Helm values, given to helm in a 0600 file, never on its command line"},
    {"create_namespace", T_BOOL, 0, "helm --create-namespace"},
    {"id", T_STRING, ATTR_COMPUTED, "NAMESPACE/NAME"},
    {"revision", T_NUMBER, ATTR_COMPUTED | ATTR_RECOMPUTED, "the release's revision"},
    {"status", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "helm's status of it (deployed)"},
    {"chart_version", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "the deployed chart's version"},
    {"app_version", T_STRING, ATTR_COMPUTED | ATTR_RECOMPUTED, "the deployed chart's appVersion"},
    {NULL, 0, 0, NULL},
};

const struct driver helm_release_driver = {
    .type = "helm_release",
    .provider = &helm_provider,
    .schema = release_schema,
    .doc = "a Helm release, installed and upgraded by the real helm binary",
    .timeout_create = 600,
    .timeout_update = 600,
    .timeout_delete = 300,
};
