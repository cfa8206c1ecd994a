/* report.c: what a failing helm call says: the namespace's newest events after helm's own
 * message, and never a value of the release (masked wherever it shows). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"
#include "helm/helm.h"

#define EVENTS_SHOWN 5

/* Every occurrence of value in msg becomes "(a value)", or stars when the value is shorter than
 * that (msg is a fixed buffer: it never grows). Shorter than 4: too like ordinary words. */
static void mask(char *msg, const char *value)
{
    static const char MASK[] = "(a value)";
    size_t n = strlen(value), m = sizeof(MASK) - 1;
    if (n < 4) return;
    for (char *p = strstr(msg, value); p;) {
        if (n >= m) {
            memcpy(p, MASK, m);
            memmove(p + m, p + n, strlen(p + n) + 1);
            p = strstr(p + m, value);
        } else {
            memset(p, '*', n);
            p = strstr(p + n, value);
        }
    }
}

void helm_scrub(char *msg, const json_t *v)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_string(v)) mask(msg, json_string_value(v));
    else if (json_is_object(v)) json_object_foreach((json_t *)v, k, x) helm_scrub(msg, x);
    else if (json_is_array(v)) json_array_foreach(v, i, x) helm_scrub(msg, x);
}

void helm_add_events(struct call *c, struct kube_conn *k, const char *ns, struct mesh_err *e)
{
    json_t *items = NULL;
    struct mesh_err ee;
    mesh_err_init(&ee);
    if (kube_list(c, k, "v1", "Event", ns, NULL, &items, &ee) != 0 || json_array_size(items) == 0) {
        json_decref(items);
        return;
    }
    /* newest last: by lastTimestamp (or eventTime, creationTimestamp), RFC 3339 sorts as text */
    size_t n = json_array_size(items);
    const char **stamp = xcalloc(n, sizeof(char *));
    size_t *order = xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        json_t *ev = json_array_get(items, i);
        const char *t = json_string_value(json_object_get(ev, "lastTimestamp"));
        if (!t) t = json_string_value(json_object_get(ev, "eventTime"));
        if (!t) t = json_string_value(json_object_get(json_object_get(ev, "metadata"), "creationTimestamp"));
        stamp[i] = t ? t : "";
        order[i] = i;
    }
    for (size_t i = 1; i < n; i++)  /* insertion sort: a namespace's events are few */
        for (size_t j = i; j > 0 && strcmp(stamp[order[j - 1]], stamp[order[j]]) > 0; j--) {
            size_t x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    struct strbuf sb = STRBUF_INIT;
    strbuf_init(&sb);
    for (size_t k = n > EVENTS_SHOWN ? n - EVENTS_SHOWN : 0; k < n; k++) {
        json_t *ev = json_array_get(items, order[k]);
        json_t *obj = json_object_get(ev, "involvedObject");
        const char *kind = json_string_value(json_object_get(obj, "kind"));
        const char *name = json_string_value(json_object_get(obj, "name"));
        const char *reason = json_string_value(json_object_get(ev, "reason"));
        const char *msg = json_string_value(json_object_get(ev, "message"));
        strbuf_addf(&sb, "%s%s %s/%s: %s: %s", sb.len ? "; " : "", json_string_value(json_object_get(ev, "type"))
                    ? json_string_value(json_object_get(ev, "type")) : "Event", kind ? kind : "?", name ? name : "?",
                    reason ? reason : "", msg ? msg : "");
    }
    size_t used = strlen(e->msg);
    if (sb.len && used + 32 < sizeof(e->msg))
        snprintf(e->msg + used, sizeof(e->msg) - used, " (last events in %s: %s)", ns, sb.buf);
    strbuf_release(&sb);
    free(stamp);
    free(order);
    json_decref(items);
}
