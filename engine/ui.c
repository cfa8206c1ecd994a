/* ui.c: human and JSON output (see ui.h). */
#include "ui.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/escape.h"

struct ui ui;
static pthread_mutex_t ui_lock = PTHREAD_MUTEX_INITIALIZER;
static int ui_colorless;  /* --no-color */

void ui_no_color(void) { ui_colorless = 1; }

static int ui_want_color(int fd)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    if (ui_colorless || (nc && *nc)) return 0;
    if (term && strcmp(term, "dumb") == 0) return 0;
    return isatty(fd);
}

void ui_init(int json)
{
    ui.json = json;
    ui.color = !json && ui_want_color(1);
    ui.ecolor = ui_want_color(2);
}

const char *ui_c(const char *name)
{
    if (!ui.color) return "";
    static const struct { const char *n, *esc; } tab[] = {
        {"red", "\033[31m"}, {"green", "\033[32m"}, {"yellow", "\033[33m"}, {"cyan", "\033[36m"},
        {"bold", "\033[1m"}, {"dim", "\033[2m"}, {"reset", "\033[0m"},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strcmp(tab[i].n, name) == 0) return tab[i].esc;
    return "";
}

void ui_out(const char *fmt, ...)
{
    if (ui.json) return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&ui_lock);
    vfprintf(stdout, fmt, ap);
    fflush(stdout);
    pthread_mutex_unlock(&ui_lock);
    va_end(ap);
}

/* Durations in events ("elapsed", "seconds") to the millisecond: a clock reading has no more
 * meaning than that, and 17 digits of it only make the line hard to read. */
static void ui_round_seconds(json_t *ev)
{
    static const char *const keys[] = {"elapsed", "seconds"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(ev, keys[i]);
        if (json_is_real(v)) json_real_set(v, round(json_real_value(v) * 1000) / 1000);
    }
}

void ui_event(const char *type, json_t *ev)
{
    if (!ui.json) {
        json_decref(ev);
        return;
    }
    if (!ev) ev = json_object();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char stamp[64];
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    char full[80];
    snprintf(full, sizeof(full), "%s.%03ldZ", stamp, ts.tv_nsec / 1000000);
    json_object_set_new(ev, "type", json_string(type));
    json_object_set_new(ev, "time", json_string(full));
    ui_round_seconds(ev);
    /* 15 significant digits: what a person wrote (0.1) prints as written, not 0.10000000000000001. */
    char *line = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    pthread_mutex_lock(&ui_lock);
    if (line) {
        fputs(line, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    pthread_mutex_unlock(&ui_lock);
    free(line);
    json_decref(ev);
}

static void ui_report(const char *severity, const char *where, const char *msg)
{
    if (ui.json) {
        json_t *ev = json_pack("{s:s, s:s}", "severity", severity, "message", msg);
        if (where && *where) json_object_set_new(ev, "address", json_string(where));
        ui_event("diagnostic", ev);
        return;
    }
    const char *col = strcmp(severity, "error") == 0 ? "\033[1;31m" : "\033[1;33m";
    /* A message may quote a provider's answer or a state row: escaped, so nothing in it can act
     * on the terminal. Its own line breaks stay line breaks. */
    struct strbuf safe_where = STRBUF_INIT, safe_msg = STRBUF_INIT;
    if (where) str_escape_ctl(&safe_where, where, strlen(where));
    for (const char *p = msg;;) {
        const char *nl = strchr(p, '\n');
        str_escape_ctl(&safe_msg, p, nl ? (size_t)(nl - p) : strlen(p));
        if (!nl) break;
        strbuf_addch(&safe_msg, '\n');
        p = nl + 1;
    }
    pthread_mutex_lock(&ui_lock);
    fflush(stdout);
    fprintf(stderr, "%s%s:%s %s%s%s\n", ui.ecolor ? col : "", strcmp(severity, "error") == 0 ? "Error" : "Warning",
            ui.ecolor ? "\033[0m" : "", safe_where.len ? safe_where.buf : "", safe_where.len ? ": " : "",
            strbuf_str(&safe_msg));
    pthread_mutex_unlock(&ui_lock);
    strbuf_release(&safe_where);
    strbuf_release(&safe_msg);
}

void ui_error(const struct mesh_err *e)
{
    ui_report("error", e->where, e->msg[0] ? e->msg : "unknown error");
}

static void ui_reportv(const char *severity, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    ui_report(severity, NULL, msg);
}

void ui_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ui_reportv("error", fmt, ap);
    va_end(ap);
}

void ui_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ui_reportv("warning", fmt, ap);
    va_end(ap);
}

void ui_diags(struct diag_list *dl)
{
    if (!ui.json) {
        fflush(stdout);
        diag_print(dl, stderr, ui.ecolor);
        if (dl->errors)
            fprintf(stderr, "%d error%s in the spec; nothing was changed.\n", dl->errors, dl->errors == 1 ? "" : "s");
        return;
    }
    diag_sort(dl);
    static const char *sev[] = {"error", "warning", "note"};
    for (size_t i = 0; i < dl->items.len; i++) {
        const struct diag *d = dl->items.items[i];
        json_t *ev = json_pack("{s:s, s:s}", "severity", sev[d->severity], "message", d->msg);
        if (d->file) json_object_set_new(ev, "file", json_string(d->file));
        if (d->line) {
            json_object_set_new(ev, "line", json_integer(d->line));
            json_object_set_new(ev, "col", json_integer(d->col));
        }
        ui_event("diagnostic", ev);
    }
}

void ui_duration(double secs, char *buf, size_t n)
{
    if (secs < 60) {
        snprintf(buf, n, "%.1fs", secs);
        return;
    }
    long s = (long)secs;
    if (s < 3600) snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else snprintf(buf, n, "%ldh%02ldm%02lds", s / 3600, (s % 3600) / 60, s % 60);
}
