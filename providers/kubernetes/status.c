/* status.c: what a failed Kubernetes reply means, in words a person can act on. The API answers
 * errors with a Status object (message, reason, details.causes); a server-side apply conflict
 * lists each field another manager owns, which becomes
 * `conflict with "kubectl" on .data.foo; set force_conflicts to take the fields over`. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/escape.h"
#include "base/strbuf.h"
#include "kubernetes/kube_int.h"

enum http_verdict kube_classify(const struct http_response *resp)
{
    if (resp->status == 429) return HTTP_THROTTLED;
    if (resp->status >= 500 && resp->status != 501) return HTTP_RETRY;
    return HTTP_DONE;  /* a 409 is final: a conflict, an AlreadyExists, a failed precondition */
}

static int has_field_conflict(const json_t *causes);
static int is_field_conflict(const json_t *cause);

/* A server-side apply is idempotent: a 409 that is not a field manager's claim (the object was
 * modified or created under it, "please apply your changes to the latest version and try again")
 * goes away when the same PATCH is sent again, as client-go's RetryOnConflict does. A conflict
 * with another manager's fields stays final: only force_conflicts changes its outcome. */
enum http_verdict kube_classify_apply(const struct http_response *resp)
{
    if (resp->status != 409) return kube_classify(resp);
    json_t *st = json_loadb(resp->body.buf ? resp->body.buf : "", resp->body.len, 0, NULL);
    int fields = has_field_conflict(json_object_get(json_object_get(st, "details"), "causes"));
    json_decref(st);
    return fields ? HTTP_DONE : HTTP_RETRY;
}

/* A cause's type: StatusCause serialises its Type as "reason". */
static const char *cause_type(const json_t *cause)
{
    const char *t = json_string_value(json_object_get(cause, "reason"));
    return t ? t : json_string_value(json_object_get(cause, "type"));
}

static int is_field_conflict(const json_t *cause)
{
    const char *t = cause_type(cause);
    return t && strcmp(t, "FieldManagerConflict") == 0;
}

static int has_field_conflict(const json_t *causes)
{
    size_t i;
    const json_t *ci;
    json_array_foreach(causes, i, ci)
        if (is_field_conflict(ci)) return 1;
    return 0;
}

/* "conflict with \"kubectl\" using v1" -> kubectl into buf. */
static const char *manager_of(const char *msg, char *buf, size_t n)
{
    const char *q = msg ? strchr(msg, '"') : NULL;
    const char *end = q ? strchr(q + 1, '"') : NULL;
    if (!end) {
        snprintf(buf, n, "another field manager");
        return buf;
    }
    snprintf(buf, n, "\"%.*s\"", (int)(end - q - 1), q + 1);
    return buf;
}

/* The SSA conflicts grouped by manager: `"kubectl" on .data.foo, .data.bar and with "helm" on .x`. */
static int describe_conflicts(const json_t *causes, struct strbuf *out)
{
    size_t n = json_array_size(causes);
    int found = 0;
    char seen[16][128];
    int nseen = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *ci = json_array_get(causes, i);
        if (!is_field_conflict(ci)) continue;
        char m[128];
        manager_of(json_string_value(json_object_get(ci, "message")), m, sizeof(m));
        int dup = 0;
        for (int s = 0; s < nseen && !dup; s++) dup = strcmp(seen[s], m) == 0;
        if (dup) continue;
        if (nseen < 16) snprintf(seen[nseen++], sizeof(seen[0]), "%s", m);
        strbuf_addf(out, "%s%s on ", found ? " and with " : "conflict with ", m);
        int first = 1;
        for (size_t j = i; j < n; j++) {
            const json_t *cj = json_array_get(causes, j);
            char mj[128];
            if (!is_field_conflict(cj)) continue;
            if (strcmp(manager_of(json_string_value(json_object_get(cj, "message")), mj, sizeof(mj)), m) != 0) continue;
            const char *field = json_string_value(json_object_get(cj, "field"));
            strbuf_addf(out, "%s%s", first ? "" : ", ", field ? field : "?");
            first = 0;
        }
        found = 1;
    }
    return found;
}

/* Other causes ("metadata.name: Invalid value: ...") after the message, when it lacks them. */
static void add_causes(const json_t *causes, const char *message, struct strbuf *out)
{
    size_t i;
    const json_t *ci;
    json_array_foreach(causes, i, ci) {
        const char *m = json_string_value(json_object_get(ci, "message"));
        const char *f = json_string_value(json_object_get(ci, "field"));
        if (!m || (message && strstr(message, m))) continue;
        strbuf_addf(out, "; %s%s%s", f ? f : "", f ? ": " : "", m);
    }
}

int kube_status_error(long status, const char *body, size_t len, const char *cluster, const char *what,
                      const char *credential, int apply, struct mesh_err *e)
{
    json_t *st = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(st, "kind"));
    if (!kind || strcmp(kind, "Status") != 0) {
        json_decref(st);
        st = NULL;
    }
    const char *message = json_string_value(json_object_get(st, "message"));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    const json_t *causes = json_object_get(json_object_get(st, "details"), "causes");
    struct strbuf text = STRBUF_INIT, raw = STRBUF_INIT;
    strbuf_init(&text);
    strbuf_init(&raw);
    if (!message && body && len) {  /* not a Status: a proxy's page, say; show its start */
        str_escape_ctl(&raw, body, len > 200 ? 200 : len);
        message = raw.buf;
    }
    strbuf_addf(&text, "%s: ", cluster);
    if (what) strbuf_addf(&text, "%s: ", what);
    int code = MESH_ERR;
    switch (status) {
    case 401:
        strbuf_addf(&text, "unauthorized (401) using %s", credential ? credential : "no credentials");
        break;
    case 403:
        strbuf_adds(&text, "forbidden (403)");
        break;
    case 404:
        code = MESH_ENOTFOUND;
        strbuf_adds(&text, "not found (404)");
        break;
    case 409:
        code = MESH_ECONFLICT;
        if (apply && describe_conflicts(causes, &text)) {
            strbuf_adds(&text, "; set force_conflicts to take the fields over");
            message = NULL;
        } else {
            strbuf_adds(&text, reason && strcmp(reason, "AlreadyExists") == 0 ? "already exists (409)" : "conflict (409)");
        }
        break;
    case 400:
    case 422:
        code = MESH_EINVAL;
        strbuf_addf(&text, "invalid (%ld)", status);
        break;
    case 429:
        code = MESH_ETHROTTLED;
        strbuf_adds(&text, "throttled (429) past the retry policy");
        break;
    default:
        strbuf_addf(&text, "HTTP %ld", status);
    }
    if (message && *message) strbuf_addf(&text, ": %s", message);
    if (message && status != 409) add_causes(causes, message, &text);
    mesh_err_set(e, code, NULL, "%s", text.buf);
    mesh_err_set_cause(e, reason ? reason : "", "");
    strbuf_release(&text);
    strbuf_release(&raw);
    json_decref(st);
    return code;
}
