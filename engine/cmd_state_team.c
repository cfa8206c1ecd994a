/* cmd_state_team.c: `mesh state pull|push|migrate`, moving a whole state between a local file
 * and team state (state/sync.h) or between two remotes. Lineage, serial, snapshots and journal
 * travel with it: the state file is moved whole, never rebuilt. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_state_team.h"
#include "remote.h"
#include "session.h"
#include "store.h"
#include "sync.h"
#include "ui.h"
#include "base/xalloc.h"

static const char *where_of(const struct remote *r) { return r->ops->describe(r->be); }

static int need_remote(struct session *s, const char *sub, struct mesh_err *err)
{
    if (!session_state_remote(s))
        return mesh_err_set(err, MESH_EINVAL, NULL,
                            "state %s works on team state, and this state is local (%s): `mesh state migrate --to "
                            "s3://BUCKET/KEY` moves it there, or give --state s3://BUCKET/KEY",
                            sub, session_state_path(s));
    return s->remote ? 0 : session_remote_open(s, NULL, &s->remote, err);
}

static int pull(struct session *s, const char *file, struct mesh_err *err)
{
    if (need_remote(s, "pull", err)) return -1;
    if (store_remote_pull(s->remote, file, s->o->force, err)) return -1;
    ui_out("The state at %s was written to %s.\n", where_of(s->remote), file);
    return 0;
}

static int push(struct session *s, const char *file, struct mesh_err *err)
{
    if (need_remote(s, "push", err)) return -1;
    if (access(file, R_OK) != 0)
        return mesh_err_set(err, MESH_EINVAL, file, "cannot read the state file to push"), -1;
    if (store_remote_push(s->remote, file, s->run_id, s->o->force, err)) return -1;
    ui_out("%s is now the state at %s.\n", file, where_of(s->remote));
    return 0;
}

/* "local" or "local:PATH" -> the path (NULL: the default beside the spec), else NULL with *url. */
static int parse_to(const char *to, const char **local_path, const char **url)
{
    *local_path = *url = NULL;
    if (strcmp(to, "local") == 0) return 1;
    if (strncmp(to, "local:", 6) == 0 && to[6]) {
        *local_path = to + 6;
        return 1;
    }
    *url = to;
    return 0;
}

/* The local state file a migrate to local writes: PATH, the spec's state.path, or the default. */
static char *local_target(struct session *s, const char *path)
{
    return path ? xstrdup(path) : session_mesh_path(s, "state.db");
}

static int migrate(struct session *s, struct mesh_err *err)
{
    const char *to = s->o->to, *to_path = NULL, *to_url = NULL;
    if (!to)
        return mesh_err_set(err, MESH_EINVAL, NULL, "usage: mesh state migrate --to s3://BUCKET/KEY | local[:PATH]"),
               -1;
    int to_local = parse_to(to, &to_path, &to_url);
    int from_remote = session_state_remote(s);
    if (!from_remote && to_local)
        return mesh_err_set(err, MESH_EINVAL, NULL,
                            "the state is local already (%s); to move a local state file, move the file", session_state_path(s)),
               -1;
    /* The source under its lock: no run of this state writes while it moves. */
    int opened = session_open_state(s, 0, err);
    if (opened < 0) return -1;
    if (opened == 1)
        return mesh_err_set(err, MESH_ENOTFOUND, NULL, "there is no state at %s to migrate", session_state_path(s)), -1;
    if (session_lock(s, "state migrate", err)) return -1;
    const char *from = session_state_path(s);
    long long serial = store_serial(s->store);
    char lineage[64];
    snprintf(lineage, sizeof(lineage), "%s", store_lineage(s->store));
    int rc = 0;
    char *tmp = NULL;
    if (to_local) {
        char *dest = local_target(s, to_path);
        rc = store_remote_pull(s->remote, dest, s->o->force, err) ? -1 : 0;
        if (!rc)
            ui_out("The state moved from %s to %s (lineage %s, serial %lld, snapshots and journal with it).\n"
                   "%s is kept as it was. Point the spec at the new place (state: {path: %s}, or no state:\n"
                   "section for the default) or give --state %s.\n",
                   from, dest, lineage, serial, from, dest, dest);
        free(dest);
        return rc;
    }
    struct remote *target = NULL;
    if (session_remote_open(s, to_url, &target, err)) return -1;
    const char *src = from;
    if (from_remote) {
        /* remote to remote: through a file of our own beside the cache */
        char name[96];
        snprintf(name, sizeof(name), "migrate-%s.db", s->run_id);
        tmp = session_mesh_path(s, name);
        rc = store_remote_pull(s->remote, tmp, 1, err) ? -1 : 0;
        src = tmp;
    }
    if (!rc) rc = store_remote_push(target, src, s->run_id, s->o->force, err) ? -1 : 0;
    if (!rc)
        ui_out("The state moved from %s to %s (lineage %s, serial %lld, snapshots and journal with it).\n"
               "%s is kept as it was. Point the spec at the new place (state: {backend: s3, bucket: ..., key: ...})\n"
               "or give --state %s.\n",
               from, where_of(target), lineage, serial, from, where_of(target));
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    session_remote_free(target);
    return rc;
}

int state_team(struct session *s, const char *sub, struct mesh_err *err)
{
    struct cli_opts *o = s->o;
    s->writing = strcmp(sub, "pull") != 0;
    if (strcmp(sub, "pull") == 0) return pull(s, o->args.items[1], err);
    if (strcmp(sub, "push") == 0) return push(s, o->args.items[1], err);
    return migrate(s, err);
}

int state_team_sub(const char *sub)
{
    return strcmp(sub, "pull") == 0 || strcmp(sub, "push") == 0 || strcmp(sub, "migrate") == 0;
}
