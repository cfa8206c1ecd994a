/* plan.h: what a run will do. diff.c builds it from the spec, the state rows and what refresh
 * read; plan_render.c prints it; apply.c executes it. A plan owns everything it points to. */
#ifndef MESH_PLAN_H
#define MESH_PLAN_H

#include <jansson.h>

#include "base/vec.h"
#include "base/map.h"

struct spec;
struct spec_resource;
struct state_row;
struct driver;

enum plan_action { ACT_NOOP, ACT_CREATE, ACT_UPDATE, ACT_REPLACE, ACT_DELETE };

enum {
    CHG_SENSITIVE = 1 << 0,
    CHG_UNKNOWN = 1 << 1,     /* new value known after apply */
    CHG_FORCES_NEW = 1 << 2,
    CHG_DRIFT = 1 << 3,       /* the world differs from what mesh applied last time */
    CHG_IRREVERSIBLE = 1 << 4,
};

struct plan_change {
    char *name;
    json_t *old;   /* NULL: absent */
    json_t *new;   /* NULL: absent; the unknown marker when CHG_UNKNOWN */
    int flags;
};

struct plan_entry {
    char *address;
    char *type;
    char *deposed;                     /* "" or the deposed key of an old object to delete */
    const struct driver *driver;
    enum plan_action action;
    int create_before_destroy;         /* ACT_REPLACE: new first (else old deleted first) */
    const struct spec_resource *res;   /* NULL for deletes */
    const struct state_row *prior;     /* the state row (borrowed: the rows outlive the plan); NULL for creates */
    const json_t *delete_timeouts;     /* a delete of an address the spec still names: its `timeouts:` (borrowed) */
    json_t *current;                   /* what refresh read; NULL when not refreshed */
    json_t *planned;                   /* resolved desired attributes (may hold unknowns) */
    struct vec changes;                /* struct plan_change * */
    char *reason;                      /* why (gone outside mesh, forces replacement, ...) */
    int gone;                          /* refresh found the object deleted outside mesh */
    int guarded;                       /* a GUARDED type replaced or deleted outside `mesh destroy` */
    int irreversible;
};

/* An output of the spec whose value apply will store differently from what state holds. */
struct plan_output {
    char *name;
    enum plan_action action;   /* ACT_CREATE, ACT_UPDATE or ACT_DELETE */
    json_t *old;               /* NULL: not in state */
    json_t *new;               /* NULL: removed; may hold unknown markers */
    int sensitive;             /* the stored or the new value is sensitive */
};

struct plan {
    struct vec entries;     /* struct plan_entry *, creates/updates in dependency order first */
    struct map by_address;  /* address -> entry (current objects only) */
    int add, change, destroy, replace;
    int destroy_mode;       /* built by `mesh destroy` */
    int guarded;            /* entries with guarded set */
    struct vec notes;       /* char *: lines printed before the plan (recovery, warnings) */
    int recovery_pending;   /* a cut-off run will be recovered first: that alone is a change */
    struct vec outputs;     /* struct plan_output *: outputs that change, by name */
    char *lineage;
    long long serial;
};

struct plan *plan_new(void);
void plan_free(struct plan *p);
void plan_entry_free(void *e);
void plan_note(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Resources to change (what apply runs for). */
int plan_has_changes(const struct plan *p);
/* Resources or outputs to change (--detailed-exitcode, "changes" in JSON): an output-only
 * change is a change, as in terraform. */
int plan_has_any_changes(const struct plan *p);
const char *plan_action_name(enum plan_action a);

#endif
