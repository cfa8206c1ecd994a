/* export.c: the optional export folder of a pki_intermediate_ca, laid out like Istio's
 * tools/certs output: <dir>/root-cert.pem and <dir>/<cluster>/{ca-cert,ca-key,cert-chain,
 * root-cert}.pem. ca-key.pem is created 0600 from the start (mkstemp), the one place a key is
 * written in the clear, because the user asked. Files are replaced atomically (temp + rename),
 * and removal deletes only files whose content is still what this resource wrote, so a
 * create-before-destroy replacement's delete never removes its successor's files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "pki.h"
#include "base/xalloc.h"

struct export_file {
    const char *name;
    const char *output;  /* the output attribute holding its content */
    mode_t mode;
    int shared;          /* in <dir> itself, shared by every cluster */
};

static const struct export_file export_files[] = {
    {"ca-cert.pem", "ca_cert_pem", 0644, 0},
    {"ca-key.pem", "ca_key_pem", 0600, 0},
    {"cert-chain.pem", "cert_chain_pem", 0644, 0},
    {"root-cert.pem", "root_cert_pem", 0644, 0},
    {"root-cert.pem", "root_cert_pem", 0644, 1},
};
#define EXPORT_NFILES (sizeof(export_files) / sizeof(export_files[0]))

int pki_export_check_cluster(struct call *c, const char *cluster)
{
    int ok = cluster && *cluster && strcmp(cluster, ".") != 0 && strcmp(cluster, "..") != 0;
    for (const char *p = cluster; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("._-", *p);
    if (ok) return 0;
    return mesh_err_set(c->err, MESH_EINVAL, c->address,
                        "cluster \"%s\" must be a non-empty name of letters, digits, '.', '_' or '-'", cluster ? cluster : "");
}

static void export_path(char *buf, size_t n, const json_t *outputs, const struct export_file *f)
{
    const char *dir = json_string_value(json_object_get(outputs, "export_dir"));
    const char *cluster = json_string_value(json_object_get(outputs, "cluster"));
    if (f->shared)
        snprintf(buf, n, "%s/%s", dir, f->name);
    else
        snprintf(buf, n, "%s/%s/%s", dir, cluster, f->name);
}

/* mkdir -p, 0755: the folders hold certificates; the one key file is 0600 itself. */
static int export_mkdirs(struct call *c, const char *dir)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0') continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return mesh_err_set(c->err, MESH_ERR, c->address, "export: cannot create %s: %s", p, strerror(errno));
        *s = saved;
        if (!saved) return 0;
    }
}

static int export_write_file(struct call *c, const char *path, const char *data, mode_t mode)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
        return mesh_err_set(c->err, MESH_EINVAL, c->address, "export: path too long: %s", path);
    int fd = mkstemp(tmp);  /* 0600 from the first byte */
    if (fd < 0) return mesh_err_set(c->err, MESH_ERR, c->address, "export: cannot write %s: %s", path, strerror(errno));
    size_t len = strlen(data), off = 0;
    ssize_t n = 0;
    errno = 0;
    while (off < len && (n = write(fd, data + off, len - off)) > 0) off += (size_t)n;
    int ok = off == len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok && rename(tmp, path) == 0;
    if (ok) return 0;
    e = e ? e : errno;
    unlink(tmp);
    return mesh_err_set(c->err, MESH_ERR, c->address, "export: cannot write %s: %s", path, strerror(e));
}

int pki_export_write(struct call *c, const json_t *outputs)
{
    const char *dir = json_string_value(json_object_get(outputs, "export_dir"));
    const char *cluster = json_string_value(json_object_get(outputs, "cluster"));
    if (!dir || !*dir) return 0;
    char sub[4096], path[4200];
    snprintf(sub, sizeof(sub), "%s/%s", dir, cluster);
    int rc = pki_export_check_cluster(c, cluster);
    if (!rc) rc = export_mkdirs(c, sub);
    for (size_t i = 0; !rc && i < EXPORT_NFILES; i++) {
        const char *data = json_string_value(json_object_get(outputs, export_files[i].output));
        if (!data) return mesh_err_set(c->err, MESH_ERR, c->address, "export: no %s to write", export_files[i].output);
        export_path(path, sizeof(path), outputs, &export_files[i]);
        rc = export_write_file(c, path, data, export_files[i].mode);
    }
    return rc;
}

/* 1 when path holds exactly want (and, if mode is non-zero, has that mode); the buffer read is
 * wiped, since it may be a key. */
static int export_same(const char *path, const char *want, mode_t mode)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t len = strlen(want);
    int same = fd >= 0 && fstat(fd, &st) == 0 && (size_t)st.st_size == len && (!mode || (st.st_mode & 0777) == mode);
    char *buf = same ? xmalloc(len + 1) : NULL;
    size_t got = 0;
    ssize_t n = 1;
    while (buf && got < len && (n = read(fd, buf + got, len - got)) > 0) got += (size_t)n;
    same = buf && got == len && memcmp(buf, want, len) == 0;
    if (buf) OPENSSL_cleanse(buf, len);
    free(buf);
    if (fd >= 0) close(fd);
    return same;
}

int pki_export_intact(const json_t *outputs)
{
    const char *dir = json_string_value(json_object_get(outputs, "export_dir"));
    if (!dir || !*dir) return 1;
    char path[4200];
    for (size_t i = 0; i < EXPORT_NFILES; i++) {
        const char *want = json_string_value(json_object_get(outputs, export_files[i].output));
        export_path(path, sizeof(path), outputs, &export_files[i]);
        if (!want || !export_same(path, want, export_files[i].mode)) return 0;
    }
    return 1;
}

/* Another cluster's export still in dir? Then the shared root-cert.pem stays. */
static int export_others_remain(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    char path[4600];
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s/ca-cert.pem", dir, e->d_name);
        found = access(path, F_OK) == 0;
    }
    closedir(d);
    return found;
}

static int export_unlink_if_ours(struct call *c, const char *path, const char *want)
{
    if (!want || !export_same(path, want, 0)) return 0;  /* someone else's now: leave it */
    if (unlink(path) != 0 && errno != ENOENT)
        return mesh_err_set(c->err, MESH_ERR, c->address, "export: cannot remove %s: %s", path, strerror(errno));
    return 0;
}

int pki_export_remove(struct call *c, const json_t *outputs)
{
    const char *dir = json_string_value(json_object_get(outputs, "export_dir"));
    const char *cluster = json_string_value(json_object_get(outputs, "cluster"));
    if (!dir || !*dir || pki_export_check_cluster(c, cluster) != 0) return mesh_err_isset(c->err) ? c->err->code : 0;
    char path[4200];
    int rc = 0;
    /* ca-cert.pem says whose the cluster folder is: a successor's root-cert.pem is identical to
     * ours, so content alone cannot tell. */
    export_path(path, sizeof(path), outputs, &export_files[0]);
    int ours = export_same(path, json_string_value(json_object_get(outputs, export_files[0].output)), 0);
    for (size_t i = 0; ours && !rc && i < EXPORT_NFILES; i++) {
        if (export_files[i].shared) continue;
        export_path(path, sizeof(path), outputs, &export_files[i]);
        rc = export_unlink_if_ours(c, path, json_string_value(json_object_get(outputs, export_files[i].output)));
    }
    snprintf(path, sizeof(path), "%s/%s", dir, cluster);
    rmdir(path);  /* only if empty: files someone else put there stay */
    /* Each cluster removes its own folder before looking, so the last one out sees none left. */
    for (size_t i = 0; !rc && i < EXPORT_NFILES; i++) {
        if (!export_files[i].shared || export_others_remain(dir)) continue;
        export_path(path, sizeof(path), outputs, &export_files[i]);
        rc = export_unlink_if_ours(c, path, json_string_value(json_object_get(outputs, export_files[i].output)));
    }
    return rc;
}
