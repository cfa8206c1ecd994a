/* outputs.c: the outputs table (migration 2): the spec's outputs as resolved after the last
 * successful apply. Sensitive values are encrypted like sensitive attributes (crypt.c), with
 * associated data "output/NAME" so a ciphertext cannot be moved to another output. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_listed(const json_t *names, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) if (json_string_value(v) && strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

static int put_one(struct store *st, sqlite3_stmt *ins, const char *name, const json_t *value, int sensitive,
                   struct mesh_err *err)
{
    json_t *enc = NULL;
    if (sensitive) {
        char aad[512];
        snprintf(aad, sizeof(aad), "output/%s", name);
        int rc = crypt_encrypt_value(st->lineage, aad, value, &enc, err);
        if (rc) return rc;
    }
    char *text = json_dumps(enc ? enc : value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(enc);
    if (!text) return mesh_err_set(err, MESH_ERR, st->path, "output %s: cannot encode its value", name);
    sqlite3_reset(ins);
    sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(ins, 3, sensitive);
    free(text);
    int rc = sqlite3_step(ins);
    return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, err, "writing an output");
}

int store_outputs_put(struct store *st, const json_t *outputs, const json_t *sensitive, struct mesh_err *err)
{
    int rc = store_tx_enter(st, err);
    if (rc) return rc;
    rc = store_exec(st, "DELETE FROM outputs", err, "clearing the outputs");
    sqlite3_stmt *ins = NULL;
    if (rc == 0 && json_object_size(outputs)) {
        int prc = sqlite3_prepare_v2(st->db, "INSERT INTO outputs (name, value, sensitive) VALUES (?1, ?2, ?3)", -1,
                                     &ins, NULL);
        if (prc != SQLITE_OK) rc = store_sqlerr(st, prc, err, "preparing to write the outputs");
    }
    const char *name;
    json_t *v;
    if (ins)
        json_object_foreach((json_t *)outputs, name, v) {
            if (rc) break;
            rc = put_one(st, ins, name, v, is_listed(sensitive, name), err);
        }
    sqlite3_finalize(ins);
    return store_tx_leave(st, rc, err);
}

int store_outputs_get(struct store *st, json_t **outputs, json_t **sensitive, struct mesh_err *err)
{
    *outputs = NULL;
    *sensitive = NULL;
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(st->db, "SELECT name, value, sensitive FROM outputs ORDER BY name", -1, &q, NULL);
    if (rc != SQLITE_OK) return store_sqlerr(st, rc, err, "reading the outputs");
    json_t *out = json_object(), *sens = json_array();
    int res = 0;
    while (res == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0), *text = (const char *)sqlite3_column_text(q, 1);
        json_t *v = name ? json_loads(text ? text : "", JSON_DECODE_ANY, NULL) : NULL;
        if (!name) {
            res = mesh_err_set(err, MESH_ERR, st->path, "an output has no name (damaged state)");
            break;
        }
        if (!v) {
            res = mesh_err_set(err, MESH_ERR, st->path, "output %s: its stored value is not JSON (damaged state)", name);
            break;
        }
        if (sqlite3_column_int(q, 2)) {
            char aad[512];
            snprintf(aad, sizeof(aad), "output/%s", name);
            json_t *plain = NULL;
            res = crypt_decrypt_value(st->lineage, aad, v, &plain, err);
            json_decref(v);
            v = plain;
            json_array_append_new(sens, json_string(name));
        }
        if (v) json_object_set_new(out, name, v);
    }
    if (res == 0 && rc != SQLITE_DONE) res = store_sqlerr(st, rc, err, "reading the outputs");
    sqlite3_finalize(q);
    if (res) {
        json_decref(out);
        json_decref(sens);
        return res;
    }
    *outputs = out;
    *sensitive = sens;
    return 0;
}
