/* diag.h: the diagnostic list. Spec problems are collected here, sorted by position and printed
 * together (file:line:col: error: msg, the source line, a caret), before anything touches state. */
#ifndef MESH_DIAG_H
#define MESH_DIAG_H

#include <stdio.h>

#include "base/vec.h"

enum diag_severity { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE };

struct diag {
    enum diag_severity severity;
    char *file;   /* may be NULL for diagnostics with no position */
    int line;     /* 1-based; 0 when unknown */
    int col;      /* 1-based; 0 when unknown */
    char *msg;
    int seq;      /* insertion order, keeps the sort stable */
};

struct diag_source {
    char *file;
    char *text;   /* whole file contents, owned */
    size_t len;
    size_t *lines;  /* byte offset where each line starts: quoting one costs no walk of the file */
    size_t nlines;
};

struct diag_list {
    struct vec items;    /* struct diag * */
    struct vec sources;  /* struct diag_source * : to quote the line under the caret */
    int errors;
    int warnings;
};

void diag_list_init(struct diag_list *dl);
void diag_list_release(struct diag_list *dl);
/* Registers a file's text so diagnostics can quote it; the list copies the text. */
void diag_add_source(struct diag_list *dl, const char *file, const char *text, size_t len);
void diag_add(struct diag_list *dl, enum diag_severity sev, const char *file, int line, int col,
              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define diag_error(dl, file, line, col, ...) diag_add((dl), DIAG_ERROR, (file), (line), (col), __VA_ARGS__)
void diag_sort(struct diag_list *dl);
/* Prints every diagnostic sorted by position, each with its source line and a caret. */
void diag_print(struct diag_list *dl, FILE *out, int color);

#endif
