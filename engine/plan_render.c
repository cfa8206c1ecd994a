/* plan_render.c: the plan as people read it, or as JSON events (see plan_render.h). */
#include "plan_render.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "spec/ref.h"
#include "ui.h"

#define UNKNOWN_TEXT "\\u0001unknown\\u0001"

static json_t *value_mark_unknown(const json_t *v)
{
    if (ref_is_unknown(v)) return json_string("\001unknown\001");
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) json_object_set_new(o, k, value_mark_unknown(x));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(a, value_mark_unknown(x));
        return a;
    }
    return json_deep_copy(v);
}

char *plan_value_text(const json_t *v, int flags)
{
    if (flags & CHG_SENSITIVE) return strdup("(sensitive)");
    if (!v) return strdup("null");
    if (ref_is_unknown(v)) return strdup("(known after apply)");
    if (!ref_has_unknown(v)) {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
        return t ? t : strdup("?");
    }
    /* Partly known: print the known parts, each unknown one as (known after apply). */
    json_t *marked = value_mark_unknown(v);
    char *t = json_dumps(marked, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    json_decref(marked);
    struct strbuf sb = STRBUF_INIT;
    const char *needle = "\"" UNKNOWN_TEXT "\"";
    for (const char *p = t; p && *p;) {
        const char *hit = strstr(p, needle);
        if (!hit) {
            strbuf_adds(&sb, p);
            break;
        }
        strbuf_add(&sb, p, (size_t)(hit - p));
        strbuf_adds(&sb, "(known after apply)");
        p = hit + strlen(needle);
    }
    free(t);
    return strbuf_detach(&sb);
}

static const char *entry_sym(const struct plan_entry *e)
{
    switch (e->action) {
    case ACT_CREATE: return "+";
    case ACT_UPDATE: return "~";
    case ACT_REPLACE: return e->create_before_destroy ? "+/-" : "-/+";
    case ACT_DELETE: return "-";
    default: return " ";
    }
}

static const char *entry_color(const struct plan_entry *e)
{
    switch (e->action) {
    case ACT_CREATE: return ui_c("green");
    case ACT_UPDATE: return ui_c("yellow");
    case ACT_REPLACE: return ui_c("yellow");
    case ACT_DELETE: return ui_c("red");
    default: return "";
    }
}

static void entry_title(const struct plan_entry *e, char *buf, size_t n)
{
    const char *what = "";
    switch (e->action) {
    case ACT_CREATE: what = "will be created"; break;
    case ACT_UPDATE: what = "will be updated in-place"; break;
    case ACT_REPLACE:
        what = e->create_before_destroy ? "must be replaced (create before destroy)"
                                        : "must be replaced (destroy before create)";
        break;
    case ACT_DELETE: what = "will be destroyed"; break;
    default: break;
    }
    if (e->deposed[0]) snprintf(buf, n, "%s (deposed object %s) %s", e->address, e->deposed, what);
    else snprintf(buf, n, "%s %s", e->address, what);
}

static void render_change(const struct plan_entry *e, const struct plan_change *c, size_t width)
{
    char *nv = plan_value_text(c->new, c->flags);
    const char *note = c->flags & CHG_FORCES_NEW ? "  # forces replacement" : "";
    const char *drift = c->flags & CHG_DRIFT ? "  # changed outside mesh" : "";
    const char *irr = c->flags & CHG_IRREVERSIBLE ? "  # IRREVERSIBLE: rollback cannot undo it" : "";
    if (e->action == ACT_CREATE) {
        ui_out("      %s+%s %-*s = %s\n", ui_c("green"), ui_c("reset"), (int)width, c->name, nv);
    } else {
        char *ov = plan_value_text(c->old, c->flags & ~CHG_UNKNOWN);
        if (!c->new)
            ui_out("      %s-%s %-*s = %s -> null%s%s\n", ui_c("red"), ui_c("reset"), (int)width, c->name, ov, note, drift);
        else
            ui_out("      %s~%s %-*s = %s -> %s%s%s%s\n", ui_c("yellow"), ui_c("reset"), (int)width, c->name, ov, nv,
                   note, drift, irr);
        free(ov);
    }
    free(nv);
}

static void render_entry_human(const struct plan_entry *e)
{
    char title[1200];
    entry_title(e, title, sizeof(title));
    ui_out("  %s# %s%s\n", ui_c("bold"), title, ui_c("reset"));
    if (e->reason) ui_out("    %s(%s)%s\n", ui_c("dim"), e->reason, ui_c("reset"));
    if (e->guarded)
        ui_out("    %sGUARDED: %s is a %s; apply refuses to %s it without --allow-replace %s%s\n", ui_c("red"),
               e->address, e->type, e->action == ACT_DELETE ? "delete" : "replace", e->address, ui_c("reset"));
    ui_out("  %s%s%s %s\n", entry_color(e), entry_sym(e), ui_c("reset"), e->address);
    size_t width = 0;
    for (size_t i = 0; i < e->changes.len; i++) {
        size_t l = strlen(((struct plan_change *)e->changes.items[i])->name);
        if (l > width) width = l;
    }
    for (size_t i = 0; i < e->changes.len; i++) render_change(e, e->changes.items[i], width);
    ui_out("\n");
}

static json_t *render_entry_json(const struct plan_entry *e)
{
    json_t *changes = json_array();
    for (size_t i = 0; i < e->changes.len; i++) {
        const struct plan_change *c = e->changes.items[i];
        json_t *cj = json_pack("{s:s}", "name", c->name);
        if (c->flags & CHG_SENSITIVE) {
            json_object_set_new(cj, "sensitive", json_true());
        } else {
            json_object_set_new(cj, "old", c->old ? json_deep_copy(c->old) : json_null());
            if (c->flags & CHG_UNKNOWN) json_object_set_new(cj, "unknown", json_true());
            else json_object_set_new(cj, "new", c->new ? json_deep_copy(c->new) : json_null());
        }
        if (c->flags & CHG_FORCES_NEW) json_object_set_new(cj, "forces_replacement", json_true());
        if (c->flags & CHG_DRIFT) json_object_set_new(cj, "drift", json_true());
        if (c->flags & CHG_IRREVERSIBLE) json_object_set_new(cj, "irreversible", json_true());
        json_array_append_new(changes, cj);
    }
    json_t *ev = json_pack("{s:s, s:s, s:s, s:o}", "address", e->address, "resource_type", e->type, "action",
                           plan_action_name(e->action), "changes", changes);
    if (e->deposed[0]) json_object_set_new(ev, "deposed", json_string(e->deposed));
    if (e->action == ACT_REPLACE)
        json_object_set_new(ev, "create_before_destroy", json_boolean(e->create_before_destroy));
    if (e->reason) json_object_set_new(ev, "reason", json_string(e->reason));
    if (e->guarded) json_object_set_new(ev, "guarded", json_true());
    return ev;
}

void plan_render_summary(const struct plan *p)
{
    if (ui.json) {
        ui_event("plan_summary", json_pack("{s:i, s:i, s:i, s:i, s:b}", "add", p->add, "change", p->change, "destroy",
                                           p->destroy, "replace", p->replace, "changes", plan_has_changes(p)));
        return;
    }
    if (!plan_has_changes(p) && p->destroy_mode) {
        if (p->entries.len) ui_out("%sNothing to destroy.%s\n", ui_c("green"), ui_c("reset"));
        else ui_out("%sNothing to destroy:%s state holds no resources.\n", ui_c("green"), ui_c("reset"));
        return;
    }
    if (!plan_has_changes(p)) {
        size_t n = p->entries.len;
        ui_out("%sNo changes.%s The world matches the spec (%zu resource%s checked).\n", ui_c("green"), ui_c("reset"), n,
               n == 1 ? "" : "s");
        return;
    }
    ui_out("%sPlan:%s %d to add, %d to change, %d to destroy.\n", ui_c("bold"), ui_c("reset"), p->add, p->change,
           p->destroy);
}

void plan_render(const struct plan *p)
{
    for (size_t i = 0; i < p->notes.len; i++) {
        if (ui.json) ui_event("note", json_pack("{s:s}", "message", (const char *)p->notes.items[i]));
        else ui_out("%s%s%s\n", ui_c("yellow"), (const char *)p->notes.items[i], ui_c("reset"));
    }
    if (!ui.json && p->notes.len) ui_out("\n");
    int any = 0, irreversible = 0;
    for (size_t i = 0; i < p->entries.len; i++) {
        const struct plan_entry *e = p->entries.items[i];
        if (e->action == ACT_NOOP) continue;
        if (!any && !ui.json)
            ui_out("mesh will perform the following actions:\n\n");
        any = 1;
        irreversible |= e->irreversible;
        if (ui.json) ui_event("plan_entry", render_entry_json(e));
        else render_entry_human(e);
    }
    if (irreversible && !ui.json)
        ui_out("%sWarning:%s this plan has IRREVERSIBLE changes: if the run fails after them, rollback reports them "
               "instead of undoing them.\n\n", ui_c("yellow"), ui_c("reset"));
    plan_render_summary(p);
}
