/* cmd_output.c: the spec's outputs. After a successful apply, outputs_after_run resolves them
 * against state, stores them (sensitive ones encrypted) and shows them; destroy clears them.
 * `mesh output [NAME] [--json] [--raw]` reads them back from state: no refresh, no lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/map.h"
#include "base/strbuf.h"
#include "cli.h"
#include "cmd.h"
#include "plan_render.h"
#include "session.h"
#include "spec/ref.h"
#include "spec/spec.h"
#include "store.h"
#include "ui.h"
#include "base/xalloc.h"

static int listed(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) if (json_string_value(v) && strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

/* {name: {"value": v, "sensitive": false}} or {name: {"sensitive": true}}: a secret is never in it. */
static json_t *outputs_json(const json_t *outputs, const json_t *sensitive)
{
    json_t *o = json_object();
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)outputs, name, v) {
        if (listed(sensitive, name)) json_object_set_new(o, name, json_pack("{s:b}", "sensitive", 1));
        else json_object_set_new(o, name, json_pack("{s:O, s:b}", "value", v, "sensitive", 0));
    }
    return o;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static void print_lines(FILE *out, const json_t *outputs, const json_t *sensitive)
{
    const char **names = xcalloc(json_object_size(outputs) + 1, sizeof(*names));
    size_t n = 0;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)outputs, name, v) names[n++] = name;
    qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n; i++) {
        char *t = plan_value_text(json_object_get(outputs, names[i]), listed(sensitive, names[i]) ? CHG_SENSITIVE : 0);
        fprintf(out, "%s = %s\n", names[i], t);
        free(t);
    }
    free(names);
}

/* ---- after apply / destroy ---- */

static const json_t *state_lookup(void *ctx, const char *address, const char *output)
{
    const struct state_row *row = map_get(ctx, address);
    if (!row) return NULL;
    const json_t *v = json_object_get(row->outputs, output);
    return v ? v : json_object_get(row->inputs, output);
}

int outputs_after_run(struct session *s, int destroy)
{
    if (!s->store) return 0;
    struct mesh_err err;
    mesh_err_init(&err);
    json_t *values = json_object(), *sensitive = json_array();
    struct vec rows = VEC_INIT;
    struct map by_address = MAP_INIT;
    int rc = 0;
    if (!destroy && s->spec) {
        rc = store_load(s->store, &rows, &err);
        for (size_t i = 0; rc == 0 && i < rows.len; i++) {
            struct state_row *r = rows.items[i];
            if (!r->deposed[0]) map_put(&by_address, r->address, r);
        }
        for (size_t i = 0; rc == 0 && i < s->spec->outputs.len; i++) {
            const struct spec_output *o = s->spec->outputs.items[i];
            int unknown = 0;
            json_t *v = ref_resolve(o->value, state_lookup, &by_address, &unknown);
            if (unknown) {  /* a resource outside --target, not applied yet: not stored */
                json_decref(v);
                continue;
            }
            json_object_set_new(values, o->name, v);
            if (o->sensitive) json_array_append_new(sensitive, json_string(o->name));
        }
    }
    if (rc == 0) rc = store_outputs_put(s->store, values, sensitive, &err);
    if (rc) {
        ui_error(&err);
    } else if (ui.json && json_object_size(values)) {
        ui_event("outputs", json_pack("{s:o}", "outputs", outputs_json(values, sensitive)));
    } else if (json_object_size(values)) {
        ui_out("\nOutputs:\n\n");
        fflush(stdout);
        print_lines(stdout, values, sensitive);
    }
    map_release(&by_address);
    vec_free_all(&rows, state_row_free);
    json_decref(values);
    json_decref(sensitive);
    return rc ? -1 : 0;
}

/* ---- mesh output ---- */

/* --raw: the bare text of a string, number or boolean, no newline, for $(mesh output --raw x). */
static int print_raw(const char *name, const json_t *v)
{
    if (json_is_string(v)) {
        fwrite(json_string_value(v), 1, json_string_length(v), stdout);
        return 0;
    }
    if (json_is_number(v) || json_is_boolean(v)) {
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        fputs(t, stdout);
        free(t);
        return 0;
    }
    ui_errorf("output %s is %s; --raw prints only strings, numbers and booleans (use --json)", name,
              json_is_array(v) ? "a list" : json_is_object(v) ? "a map" : "null");
    return 1;
}

static int show_one(const char *name, const json_t *outputs, int json, int raw)
{
    const json_t *v = json_object_get(outputs, name);
    if (!v) {
        struct strbuf names = STRBUF_INIT;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)outputs, k, x) strbuf_addf(&names, "%s%s", names.len ? ", " : "", k);
        ui_errorf("no output `%s` in state%s%s%s", name, names.len ? " (it has: " : "", names.len ? names.buf : "",
                  names.len ? ")" : "");
        strbuf_release(&names);
        return 1;
    }
    if (raw) return print_raw(name, v);
    /* Asked for by name, a sensitive output is shown: this is how scripts read it. */
    char *t = json ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : plan_value_text(v, 0);
    printf("%s\n", t);
    free(t);
    return 0;
}

int cmd_output(struct cli_opts *o)
{
    ui_init(0);  /* --json here shapes the answer; errors stay plain text on stderr */
    const char *name = o->args.len ? o->args.items[0] : NULL;
    int rc = 0;
    if (o->raw && (!name || o->json)) {
        fprintf(stderr, "mesh output: %s\n(see 'mesh help output')\n",
                !name ? "--raw needs an output NAME" : "--raw and --json exclude each other");
        return 1;
    }
    struct session s;
    session_init(&s, o);
    /* The spec only says where state is (state.path); a required variable need not be given. */
    if (access(o->spec_path, F_OK) == 0) {
        struct spec_vars_in vars = {(const char *const *)o->vars.items, o->vars.len, (const char *const *)o->var_files.items,
                                    o->var_files.len, 1};
        struct diag_list dl;
        diag_list_init(&dl);
        if (spec_load_opts(o->spec_path, &vars, &s.spec, &dl)) s.spec = NULL;
        diag_list_release(&dl);
    }
    struct mesh_err err;
    mesh_err_init(&err);
    json_t *outputs = NULL, *sensitive = NULL;
    int opened = session_open_state(&s, 0, &err);
    if (opened < 0 || (opened == 0 && store_outputs_get(s.store, &outputs, &sensitive, &err))) {
        ui_error(&err);
        rc = 1;
    } else if (opened == 1 && name) {
        ui_errorf("no output `%s`: there is no state at %s", name, session_state_path(&s));
        rc = 1;
    } else if (name) {
        rc = show_one(name, outputs, o->json, o->raw);
    } else if (o->json) {
        json_t *all = outputs_json(outputs, sensitive);
        char *t = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
        json_decref(all);
    } else if (!json_object_size(outputs)) {
        fprintf(stderr, "No outputs found%s%s.\n", opened == 1 ? ": there is no state at " : " in state",
                opened == 1 ? session_state_path(&s) : "");
    } else {
        print_lines(stdout, outputs, sensitive);
    }
    json_decref(outputs);
    json_decref(sensitive);
    session_release(&s);
    return rc;
}
