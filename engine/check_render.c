/* check_render.c: the report of `mesh check` as text (see check_render.h). */
#include "check_render.h"

#include <string.h>

#include "ui.h"

static int failures(const json_t *rows)
{
    int n = 0;
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) n += !json_is_true(json_object_get(row, "ok"));
    return n;
}

static const char *str(const json_t *row, const char *key)
{
    const char *s = json_string_value(json_object_get(row, key));
    return s ? s : "";
}

static void cluster_table(FILE *out, const char *name, const json_t *rows)
{
    int width = (int)strlen("CHECK"), bad = failures(rows);
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row) if ((int)strlen(str(row, "check")) > width) width = (int)strlen(str(row, "check"));
    fprintf(out, "%sCluster %s%s", ui_c("bold"), name, ui_c("reset"));
    if (bad) fprintf(out, " (%d of %zu checks failed)\n", bad, json_array_size(rows));
    else fprintf(out, " (%zu checks pass)\n", json_array_size(rows));
    fprintf(out, "  %-*s  %-6s  %s\n", width, "CHECK", "RESULT", "DETAIL");
    json_array_foreach(rows, i, row) {
        int ok = json_is_true(json_object_get(row, "ok"));
        fprintf(out, "  %-*s  %s%-6s%s  %s\n", width, str(row, "check"), ui_c(ok ? "green" : "red"), ok ? "ok" : "FAIL",
                ui_c("reset"), str(row, "detail"));
    }
    if (!bad) return;
    fprintf(out, "  What to do:\n");
    json_array_foreach(rows, i, row) {
        if (json_is_true(json_object_get(row, "ok")) || !*str(row, "fix")) continue;
        fprintf(out, "  - %s: %s\n", str(row, "check"), str(row, "fix"));
    }
}

int check_render(FILE *out, const json_t *report)
{
    const json_t *clusters = json_object_get(report, "clusters");
    int bad = 0, bad_clusters = 0, total = 0;
    const char *name;
    const json_t *rows;
    json_object_foreach((json_t *)clusters, name, rows) {
        if (total) fputc('\n', out);
        cluster_table(out, name, rows);
        int b = failures(rows);
        bad += b;
        bad_clusters += b > 0;
        total += (int)json_array_size(rows) + !json_array_size(rows);
    }
    fputc('\n', out);
    if (bad)
        fprintf(out, "%smesh check: %d check%s failed in %d of %zu cluster%s.%s\n", ui_c("red"), bad, bad == 1 ? "" : "s",
                bad_clusters, json_object_size(clusters), json_object_size(clusters) == 1 ? "" : "s", ui_c("reset"));
    else
        fprintf(out, "%smesh check: every check passes in %zu cluster%s.%s\n", ui_c("green"), json_object_size(clusters),
                json_object_size(clusters) == 1 ? "" : "s", ui_c("reset"));
    return bad;
}
