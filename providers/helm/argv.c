/* argv.c: helm's command lines. Only names, paths and durations go in them: values are in the
 * 0600 values file, the credential comes over the broker's socket. */
#include <stdio.h>

#include "base/xalloc.h"
#include "helm/helm.h"

static void add(struct vec *v, const char *s) { vec_push(v, xstrdup(s)); }

void helm_duration(double seconds, char *buf, size_t n)
{
    long s = (long)seconds;
    snprintf(buf, n, "%lds", s < 1 ? 1 : s);
}

static void target(const struct helm_target *t, struct vec *argv)
{
    add(argv, "--namespace");
    add(argv, t->ns);
    add(argv, "--kubeconfig");
    add(argv, t->kubeconfig);
}

void helm_argv_upgrade(const struct helm_target *t, const struct helm_install *in, struct vec *argv)
{
    char timeout[32];
    helm_duration(in->timeout, timeout, sizeof(timeout));
    add(argv, "helm");
    add(argv, "upgrade");
    add(argv, "--install");
    add(argv, t->name);
    add(argv, in->chart.ref);
    target(t, argv);
    if (in->chart.kind == HELM_CHART_REPO) {
        add(argv, "--repo");
        add(argv, in->chart.repository);
    }
    if (in->chart.version) {
        add(argv, "--version");
        add(argv, in->chart.version);
    }
    if (in->create_namespace) add(argv, "--create-namespace");
    /* No --atomic: a failure is mesh's to roll back (the engine's rollback deletes or restores). */
    add(argv, "--wait");
    add(argv, "--timeout");
    add(argv, timeout);
    /* The spec's values replace what the release had (drift is repaired, not merged into). */
    add(argv, "--reset-values");
    if (in->values_file) {
        add(argv, "--values");
        add(argv, in->values_file);
    }
}

void helm_argv_uninstall(const struct helm_target *t, double timeout, struct vec *argv)
{
    char d[32];
    helm_duration(timeout, d, sizeof(d));
    add(argv, "helm");
    add(argv, "uninstall");
    add(argv, t->name);
    target(t, argv);
    add(argv, "--wait");
    add(argv, "--timeout");
    add(argv, d);
}

void helm_argv_rollback(const struct helm_target *t, long revision, double timeout, struct vec *argv)
{
    char d[32], rev[32];
    helm_duration(timeout, d, sizeof(d));
    snprintf(rev, sizeof(rev), "%ld", revision);
    add(argv, "helm");
    add(argv, "rollback");
    add(argv, t->name);
    add(argv, rev);
    target(t, argv);
    add(argv, "--wait");
    add(argv, "--timeout");
    add(argv, d);
}

void helm_argv_query(const struct helm_target *t, const char *what, struct vec *argv)
{
    add(argv, "helm");
    if (what[0] == 'g') {  /* "get values", "get manifest" */
        add(argv, "get");
        add(argv, what + 4);
    } else {
        add(argv, what);
    }
    add(argv, t->name);
    target(t, argv);
    if (what[0] != 'g' || what[4] == 'v') {
        add(argv, "--output");
        add(argv, "json");
    }
}
