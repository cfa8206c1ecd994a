/* plan.c: the plan's lifetime (see plan.h). */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "base/xalloc.h"

struct plan *plan_new(void)
{
    struct plan *p = xcalloc(1, sizeof(*p));
    return p;
}

static void plan_change_free(void *c)
{
    struct plan_change *ch = c;
    free(ch->name);
    json_decref(ch->old);
    json_decref(ch->new);
    free(ch);
}

void plan_entry_free(void *e)
{
    struct plan_entry *pe = e;
    free(pe->address);
    free(pe->type);
    free(pe->deposed);
    json_decref(pe->current);
    json_decref(pe->planned);
    vec_free_all(&pe->changes, plan_change_free);
    free(pe->reason);
    free(pe);
}

static void plan_output_free(void *o)
{
    struct plan_output *po = o;
    free(po->name);
    json_decref(po->old);
    json_decref(po->new);
    free(po);
}

void plan_free(struct plan *p)
{
    if (!p) return;
    vec_free_all(&p->entries, plan_entry_free);
    vec_free_all(&p->outputs, plan_output_free);
    map_release(&p->by_address);
    vec_free_all(&p->notes, free);
    free(p->lineage);
    free(p);
}

void plan_note(struct plan *p, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char *s = xmalloc(strlen(buf) + 1);
    strcpy(s, buf);
    vec_push(&p->notes, s);
}

int plan_has_changes(const struct plan *p) { return p->add + p->change + p->destroy > 0; }

int plan_has_any_changes(const struct plan *p) { return plan_has_changes(p) || p->outputs.len > 0; }

const char *plan_action_name(enum plan_action a)
{
    static const char *names[] = {"no-op", "create", "update", "replace", "delete"};
    return names[a];
}
