/* ini.c: the AWS shared-file INI reader (see ini.h). */
#include "aws/ini.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/vec.h"
#include "base/xalloc.h"

struct ini_entry {
    char *section;
    char *key;
    char *value;
};

struct ini {
    struct vec entries;   /* struct ini_entry *, in file order */
    struct vec sections;  /* char *, owned */
};

static void wipe_free(char *s)
{
    if (!s) return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static void entry_free(void *p)
{
    struct ini_entry *e = p;
    free(e->section);
    free(e->key);
    wipe_free(e->value);
    free(e);
}

void ini_free(struct ini *ini)
{
    if (!ini) return;
    vec_free_all(&ini->entries, entry_free);
    vec_free_all(&ini->sections, free);
    free(ini);
}

/* A copy of [b, e) without surrounding blanks; inner runs of blanks become one space so that
 * "[profile   dev]" and "[profile dev]" name the same section. */
static char *trimmed(const char *b, const char *e, int collapse)
{
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    for (const char *p = b; p < e; p++) {
        if (collapse && isspace((unsigned char)*p)) {
            if (!isspace((unsigned char)p[-1])) strbuf_addch(&sb, ' ');
            continue;
        }
        strbuf_addch(&sb, *p);
    }
    return strbuf_detach(&sb);
}

static void add_entry(struct ini *ini, const char *section, char *key, char *value)
{
    struct ini_entry *e = xcalloc(1, sizeof(*e));
    e->section = xstrdup(section);
    e->key = key;
    e->value = value;
    vec_push(&ini->entries, e);
}

struct ini_cursor {
    struct ini *ini;
    const char *section;   /* current section; NULL before the first header */
    char *parent;          /* key whose indented lines form a sub-section; NULL when none */
    const char *name;
    int lineno;
    struct mesh_err *err;
};

static int parse_line(struct ini_cursor *c, const char *b, const char *e)
{
    const char *p = b;
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    if (p == e || *p == '#' || *p == ';') return 0;
    int indented = p > b;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(e - p));
        if (!close)
            return mesh_err_set(c->err, MESH_EINVAL, NULL, "%s:%d: section header without ']'", c->name, c->lineno);
        char *s = trimmed(p + 1, close, 1);
        vec_push(&c->ini->sections, s);
        c->section = s;
        free(c->parent);
        c->parent = NULL;
        return 0;
    }
    const char *eq = memchr(p, '=', (size_t)(e - p));
    if (!eq || !c->section)
        return mesh_err_set(c->err, MESH_EINVAL, NULL, "%s:%d: expected '[section]' or 'key = value'",
                            c->name, c->lineno);
    char *key = trimmed(p, eq, 0), *value = trimmed(eq + 1, e, 0);
    if (indented && c->parent) {
        char *full = NULL;
        if (asprintf(&full, "%s.%s", c->parent, key) < 0) abort();
        free(key);
        key = full;
    } else {
        free(c->parent);
        c->parent = *value ? NULL : xstrdup(key);
    }
    add_entry(c->ini, c->section, key, value);
    return 0;
}

int ini_parse(const char *text, size_t len, const char *name, struct ini **out, struct mesh_err *err)
{
    struct ini *ini = xcalloc(1, sizeof(*ini));
    struct ini_cursor c = { .ini = ini, .name = name ? name : "ini", .err = err };
    const char *p = text, *end = text + len;
    int rc = 0;
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        const char *ce = e > p && e[-1] == '\r' ? e - 1 : e;
        c.lineno++;
        rc = parse_line(&c, p, ce);
        p = nl ? nl + 1 : end;
    }
    free(c.parent);
    if (rc < 0) {
        ini_free(ini);
        return rc;
    }
    *out = ini;
    return 0;
}

int ini_load(const char *path, struct ini **out, struct mesh_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR) return MESH_ENOTFOUND;
        return mesh_err_set(err, MESH_ERR, NULL, "%s: %s", path, strerror(errno));
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) strbuf_add(&sb, buf, n);
    fclose(f);
    int rc = ini_parse(sb.buf, sb.len, path, out, err);
    OPENSSL_cleanse(sb.buf, sb.len);
    OPENSSL_cleanse(buf, sizeof(buf));
    strbuf_release(&sb);
    return rc;
}

const char *ini_get(const struct ini *ini, const char *section, const char *key)
{
    if (!ini) return NULL;
    for (size_t i = ini->entries.len; i-- > 0;) {
        const struct ini_entry *e = ini->entries.items[i];
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0) return e->value;
    }
    return NULL;
}

int ini_has_section(const struct ini *ini, const char *section)
{
    if (!ini) return 0;
    for (size_t i = 0; i < ini->sections.len; i++)
        if (strcmp(ini->sections.items[i], section) == 0) return 1;
    return 0;
}
