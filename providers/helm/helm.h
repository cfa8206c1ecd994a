/* helm.h: the helm provider's parts (docs/helm.md). The handle of a connection holds the
 * cluster's Kubernetes client (providers/kubernetes/kube.h: helm runs on a Kubernetes
 * connection); each driver call runs helm in a session: a private directory with a kubeconfig
 * whose user asks this mesh for the credential over a unix socket (the broker), the values file,
 * and helm's own homes, all removed when the call ends. */
#ifndef MESH_HELM_H
#define MESH_HELM_H

#include <jansson.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "driver.h"
#include "kubernetes/kube.h"

#define HELM_GRACE 5.0          /* seconds between SIGTERM and SIGKILL of a stopped helm */
#define HELM_MAX_OUTPUT (64u << 20)
#define HELM_DEFAULT_TIMEOUT 300.0
#define HELM_CLEANUP 60.0       /* seconds a failed upgrade's undo may take */

/* The provider handle. */
struct helm_conn {
    struct kube_conn *k;
    atomic_long runs;          /* helm processes started (the summary counts them as calls) */
};

/* ---- chart.c: where a chart comes from ---- */
enum helm_chart_kind { HELM_CHART_LOCAL, HELM_CHART_REPO, HELM_CHART_OCI };
struct helm_chart {
    enum helm_chart_kind kind;
    const char *ref;         /* the path, the chart's name in the repository, or oci://... */
    const char *repository;  /* HELM_CHART_REPO */
    const char *version;     /* NULL: the latest */
};
/* chart, repository and version as the spec gives them -> *out (pointers into the arguments).
 * MESH_EINVAL with a message naming the attribute. */
int helm_chart_parse(const char *chart, const char *repository, const char *version, struct helm_chart *out,
                     struct mesh_err *e);
/* A local chart that is not there: a message into msg, 1; else 0. */
int helm_chart_missing(const struct helm_chart *c, char *msg, size_t n);

/* ---- argv.c: helm's command lines (never a value or a credential in them) ---- */
struct helm_target {
    const char *name, *ns;
    const char *kubeconfig;  /* the session's */
};
struct helm_install {
    struct helm_chart chart;
    const char *values_file;  /* NULL: none */
    int create_namespace;
    double timeout;           /* seconds */
};
/* Each appends malloc'd strings to argv (argv[0] is "helm"; the caller frees them). */
void helm_argv_upgrade(const struct helm_target *t, const struct helm_install *in, struct vec *argv);
void helm_argv_uninstall(const struct helm_target *t, double timeout, struct vec *argv);
void helm_argv_rollback(const struct helm_target *t, long revision, double timeout, struct vec *argv);
/* what: "status", "history", "get values", "get manifest" */
void helm_argv_query(const struct helm_target *t, const char *what, struct vec *argv);
/* "300s" for helm's --timeout: whole seconds, at least 1. */
void helm_duration(double seconds, char *buf, size_t n);

/* ---- status.c: helm's JSON answers ---- */
struct helm_status {
    char status[32];          /* "deployed", "failed", "pending-install", ... */
    long revision;
    json_t *config;           /* the values given (a map; {} for none) */
    char *manifest;           /* the rendered objects (YAML documents) */
};
/* `helm status -o json`. Release it with helm_status_release (it wipes what may be secret). */
int helm_status_parse(const char *text, size_t len, struct helm_status *out, struct mesh_err *e);
void helm_status_release(struct helm_status *st);
/* `helm history -o json`: the newest revision that was deployed (status deployed or
 * superseded) other than newest (0 when none), and newest's chart version and appVersion. */
struct helm_history {
    long last_deployed;
    char chart_version[64], app_version[64];
};
void helm_history_parse(const char *text, size_t len, long newest, struct helm_history *out);
int helm_status_pending(const char *status);  /* pending-install/-upgrade/-rollback */
/* helm's "Error: release: not found" and its kin */
int helm_says_not_found(const char *err_text);

/* ---- storage.c: helm's records of a release that helm cannot read ---- */
#define HELM_UNREADABLE "HelmReleaseUnreadable"  /* mesh_err.cause of helm_records_explain */
/* helm's words for a record it could not decode ("no revision for release": none decoded). */
int helm_says_unreadable(const char *err_text);
/* The Secrets labelled owner=helm,name=NAME in the release's namespace (through the cluster's client). */
int helm_records(struct call *c, struct kube_conn *k, const struct helm_target *t, json_t **items,
                 struct mesh_err *e);
/* Rewrites e (helm's message) into one naming those Secrets and the remedy; cause HELM_UNREADABLE. */
void helm_records_explain(const struct helm_target *t, const json_t *items, struct mesh_err *e);
/* 1 when there are records and every one is of a first install (version 1, type helm.sh/release.v1). */
int helm_records_first_install(const json_t *items);
/* Deletes them (each by its uid: one written again meanwhile is not touched). */
int helm_records_drop(struct call *c, struct kube_conn *k, const json_t *items, struct mesh_err *e);

/* ---- session.c: one driver call's private directory and helm runs ---- */
struct helm_broker;
struct helm_session {
    struct call *c;
    struct helm_conn *h;
    char dir[PATH_MAX - 64];  /* room for the file names under it */
    char kubeconfig[PATH_MAX];
    char values[PATH_MAX];
    char socket[PATH_MAX];
    char *helm;               /* the binary */
    char **env;
    struct helm_broker *broker;
};
/* Finds helm (MESH_HELM, <dir of mesh>/bin/helm, PATH) into a malloc'd path. */
int helm_find(char **path, struct mesh_err *e);
int helm_session_open(struct call *c, struct helm_session *s, struct mesh_err *e);
/* Writes values (a map; NULL: none) to the 0600 values file (replacing an earlier one of this
 * session); *path gets it or NULL. */
int helm_session_values(struct helm_session *s, const json_t *values, const char **path, struct mesh_err *e);
/* Runs helm with argv (a vec of char *, argv[0] "helm"); *out (may be NULL) gets stdout. A
 * failure's message names the command (its first two words) and helm's stderr. */
int helm_session_run(struct helm_session *s, const struct vec *argv, struct strbuf *out, struct mesh_err *e);
/* The same for undoing a failed upgrade: not stopped by cancel (the call is already ending), and
 * limited to HELM_CLEANUP seconds from now instead of the call's deadline. */
int helm_session_run_cleanup(struct helm_session *s, const struct vec *argv, struct strbuf *out, struct mesh_err *e);
void helm_session_close(struct helm_session *s);

/* ---- broker.c: the credential over a unix socket, for `mesh token --broker` ---- */
struct helm_broker *helm_broker_start(const char *path, struct kube_conn *k, struct mesh_err *e);
void helm_broker_stop(struct helm_broker *b);
/* Only processes of this process group (the helm child's, which its exec plugin inherits) are
 * answered; 0: nobody. */
void helm_broker_allow(struct helm_broker *b, pid_t pgid);
/* The ExecCredential JSON text of a credential (exposed for tests); caller wipe_frees it. */
char *helm_exec_credential(const struct kube_credential *cred);

/* ---- report.c: failures ---- */
/* Masks in msg every string value of v (at any depth) of 4 characters or more. */
void helm_scrub(char *msg, const json_t *v);
/* Appends " (last events in NS: ...)": the newest few Events of the namespace (best effort). */
void helm_add_events(struct call *c, struct kube_conn *k, const char *ns, struct mesh_err *e);

/* ---- kubeconfig.c ---- */
/* The kubeconfig text for helm: server, CA (PEM, may be NULL), a user running
 * `self token CLUSTER --broker socket`. */
char *helm_kubeconfig_text(const char *cluster, const char *server, const unsigned char *ca, size_t ca_len,
                           const char *self, const char *socket);

extern const struct provider helm_provider;

#endif
