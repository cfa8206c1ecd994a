/* plan_render.c: the plan as people read it, or as JSON events (see plan_render.h). */
#include "plan_render.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "driver.h"
#include "plan_diff.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"
#include "base/xalloc.h"

char *plan_value_text(const json_t *v, int flags)
{
    if (flags & CHG_SENSITIVE) return xstrdup("(sensitive)");
    struct strbuf sb = STRBUF_INIT;
    plan_diff_compact(&sb, v);
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

/* "      ~ name = old -> new  # note": nested values key by key (plan_diff.c); a sensitive value
 * as (sensitive) whatever its shape, so not even its keys show. */
static void render_change(struct strbuf *o, const struct plan_entry *e, const struct plan_change *c, size_t width)
{
    struct strbuf note = STRBUF_INIT;
    if (c->flags & CHG_FORCES_NEW) strbuf_adds(&note, "  # forces replacement");
    if (c->flags & CHG_DRIFT) strbuf_adds(&note, "  # changed outside mesh");
    if (c->flags & CHG_IRREVERSIBLE) strbuf_adds(&note, "  # IRREVERSIBLE: rollback cannot undo it");
    const json_t *old = c->old && !json_is_null(c->old) ? c->old : NULL;
    enum pd_action a = e->action == ACT_CREATE ? PD_CREATE : !c->new ? PD_DELETE : PD_UPDATE;
    /* An attribute that was null and becomes a map or list is shown being made, element by element. */
    if (a == PD_UPDATE && !old && (json_is_object(c->new) || json_is_array(c->new)) && !ref_is_unknown(c->new) &&
        !(c->flags & CHG_SENSITIVE))
        a = PD_CREATE;
    plan_diff_lead(o, 1, a);
    strbuf_addf(o, "%-*s = ", (int)width, c->name);
    if (c->flags & CHG_SENSITIVE) {
        strbuf_adds(o, a == PD_UPDATE ? "(sensitive) -> (sensitive)" : a == PD_DELETE ? "(sensitive) -> null" : "(sensitive)");
        strbuf_adds(o, strbuf_str(&note));
    } else {
        json_t *null = json_null();
        plan_diff_value(o, 1, c->old ? c->old : null, c->new, a, strbuf_str(&note));
        json_decref(null);
    }
    strbuf_addch(o, '\n');
    strbuf_release(&note);
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
    struct strbuf o = STRBUF_INIT;
    for (size_t i = 0; i < e->changes.len; i++) render_change(&o, e, e->changes.items[i], width);
    ui_out("%s\n", strbuf_str(&o));
    strbuf_release(&o);
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
            json_t *keys = plan_diff_keys(c->old, c->new);  /* per-key detail of a map */
            if (keys) json_object_set_new(cj, "key_changes", keys);
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
    const char *conn = e->res ? e->res->connection : e->prior ? e->prior->connection : NULL;
    if (conn) json_object_set_new(ev, "connection", json_string(conn));
    return ev;
}

static enum pd_action output_action(const struct plan_output *o)
{
    return o->action == ACT_CREATE ? PD_CREATE : o->action == ACT_DELETE ? PD_DELETE : PD_UPDATE;
}

/* "Changes to Outputs:", as terraform shows them; a sensitive output as (sensitive value). */
static void render_outputs_human(const struct plan *p)
{
    size_t width = 0;
    for (size_t i = 0; i < p->outputs.len; i++) {
        size_t l = strlen(((struct plan_output *)p->outputs.items[i])->name);
        if (l > width) width = l;
    }
    struct strbuf o = STRBUF_INIT;
    strbuf_addf(&o, "%sChanges to Outputs:%s\n", ui_c("bold"), ui_c("reset"));
    for (size_t i = 0; i < p->outputs.len; i++) {
        const struct plan_output *po = p->outputs.items[i];
        enum pd_action a = output_action(po);
        plan_diff_lead(&o, 0, a);
        strbuf_addf(&o, "%-*s = ", (int)width, po->name);
        if (po->sensitive) strbuf_adds(&o, a == PD_DELETE ? "(sensitive value) -> null" : "(sensitive value)");
        else plan_diff_value(&o, 0, po->old, po->new, a, NULL);
        strbuf_addch(&o, '\n');
    }
    ui_out("%s", strbuf_str(&o));
    strbuf_release(&o);
}

/* {name, action, old, new} / {name, action, old, unknown: true} / {name, action, sensitive: true} */
static json_t *render_output_json(const struct plan_output *o)
{
    json_t *ev = json_pack("{s:s, s:s}", "name", o->name, "action", plan_action_name(o->action));
    if (o->sensitive) {
        json_object_set_new(ev, "sensitive", json_true());
        return ev;
    }
    json_object_set_new(ev, "old", o->old ? json_deep_copy(o->old) : json_null());
    if (o->new && ref_has_unknown(o->new)) json_object_set_new(ev, "unknown", json_true());
    else json_object_set_new(ev, "new", o->new ? json_deep_copy(o->new) : json_null());
    json_t *keys = plan_diff_keys(o->old, o->new);
    if (keys) json_object_set_new(ev, "key_changes", keys);
    return ev;
}

void plan_render_summary(const struct plan *p)
{
    if (ui.json) {
        /* provider_stats: the API calls planning made (refresh), as apply's summary reports a run's */
        ui_event("plan_summary", json_pack("{s:i, s:i, s:i, s:i, s:i, s:b, s:b, s:o*}", "add", p->add, "change", p->change,
                                           "destroy", p->destroy, "replace", p->replace, "output_changes",
                                           (int)p->outputs.len, "recovery_pending", p->recovery_pending,
                                           "changes", plan_has_any_changes(p) || p->recovery_pending,
                                           "provider_stats", provider_stats()));
        return;
    }
    if (!plan_has_changes(p) && p->destroy_mode) {
        if (p->entries.len) ui_out("%sNothing to destroy.%s\n", ui_c("green"), ui_c("reset"));
        else ui_out("%sNothing to destroy:%s state holds no resources.\n", ui_c("green"), ui_c("reset"));
        return;
    }
    if (!plan_has_changes(p)) {
        size_t n = p->entries.len;
        if (p->outputs.len) {
            render_outputs_human(p);
            ui_out("\nOnly outputs change: applying saves their new values to state and changes no resource.\n");
            return;
        }
        ui_out("%sNo changes.%s The world matches the spec (%zu resource%s checked).\n", ui_c("green"), ui_c("reset"), n,
               n == 1 ? "" : "s");
        return;
    }
    ui_out("%sPlan:%s %d to add, %d to change, %d to destroy.\n", ui_c("bold"), ui_c("reset"), p->add, p->change,
           p->destroy);
    if (p->outputs.len) {
        ui_out("\n");
        render_outputs_human(p);
    }
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
    for (size_t i = 0; ui.json && i < p->outputs.len; i++)
        ui_event("output_change", render_output_json(p->outputs.items[i]));
    plan_render_summary(p);
}
