/* kube_fixture.h: helpers for the Kubernetes unit tests: a temporary directory and files in it. */
#ifndef MESH_TEST_KUBE_FIXTURE_H
#define MESH_TEST_KUBE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char kube_tmp[256];

static void kube_tmp_make(void)
{
    snprintf(kube_tmp, sizeof(kube_tmp), "/tmp/mesh-kube-test-XXXXXX");
    assert_non_null(mkdtemp(kube_tmp));
}

static void kube_tmp_remove(void)
{
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", kube_tmp);
    assert_int_equal(system(cmd), 0);
}

/* Writes dir/name (mode) and returns its path in a static buffer. */
static const char *kube_write(const char *name, const char *text, int mode)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", kube_tmp, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0700);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, (mode_t)mode);
    return path;
}

#endif
