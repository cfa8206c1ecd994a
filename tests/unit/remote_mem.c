/* remote_mem.c: the in-memory remote of remote_mem.h. One mutex guards the world: ops may be
 * called from any thread (the log writer, the heartbeat). */
#include "remote_mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mem_log {
    long long gen, seq;
    unsigned char *data;
    size_t len;
};

struct mem_snap {
    char name[80];
    unsigned char *data;
    size_t len;
};

struct mem_world {
    pthread_mutex_t mu;
    int with_key;
    unsigned char *base;
    size_t base_len;
    char base_etag[REMOTE_ETAG_MAX];
    long etags;
    struct mem_log *logs;
    int nlogs;
    struct mem_snap *snaps;
    int nsnaps;
    int leased;
    struct remote_lease lease;
    int has_key;
    unsigned char key[REMOTE_KEY_LEN];
    double offset;
    /* the fault */
    char f_op[32];
    int f_nth, f_count;
    enum mem_fault_kind f_kind;
    /* counts */
    struct { char op[32]; long n; } counts[32];
};

struct mem_machine {
    struct mem_world *w;
    char name[64];
};

static double wnow(struct mem_world *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + w->offset;
}

static void count(struct mem_world *w, const char *op)
{
    for (int i = 0; i < 32; i++) {
        if (!w->counts[i].op[0]) snprintf(w->counts[i].op, sizeof(w->counts[i].op), "%s", op);
        if (strcmp(w->counts[i].op, op) == 0) {
            w->counts[i].n++;
            return;
        }
    }
}

/* Enters an op (locks the world); returns the fault that hits this call, or -1. */
static int enter(struct mem_world *w, const char *op)
{
    pthread_mutex_lock(&w->mu);
    count(w, op);
    if (!w->f_op[0] || (strcmp(w->f_op, "*") != 0 && strcmp(w->f_op, op) != 0)) return -1;
    if (--w->f_nth > 0) return -1;
    int kind = (int)w->f_kind;
    if (w->f_count > 0 && --w->f_count == 0) w->f_op[0] = 0;
    return kind;
}

static int leave(struct mem_world *w, int fault, int rc, const char *op, struct mesh_err *err)
{
    pthread_mutex_unlock(&w->mu);
    if (fault == MEM_CONFLICT) return mesh_err_set(err, MESH_ECONFLICT, "mem://", "%s: injected conflict", op);
    if (fault >= 0) return mesh_err_set(err, MESH_ERR, "mem://", "%s: injected failure (unreachable)", op);
    return rc;
}

static unsigned char *dup_bytes(const void *p, size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    if (n) memcpy(d, p, n);
    return d;
}

static const char *m_describe(void *be)
{
    (void)be;
    return "mem://bucket/team.state";
}

static void copy_base(const struct mem_world *w, struct remote_blob *out)
{
    out->data = dup_bytes(w->base, w->base_len);
    out->len = w->base_len;
    snprintf(out->etag, sizeof(out->etag), "%s", w->base_etag);
}

static int m_base_get(void *be, struct remote_blob *out, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    memset(out, 0, sizeof(*out));
    int f = enter(w, "base_get");
    int rc = 0;
    if (f >= 0) {
    } else if (!w->base) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, "mem://", "no base");
    } else {
        copy_base(w, out);
    }
    return leave(w, f, rc, "base_get", err);
}

static int m_base_get_changed(void *be, const char *etag, struct remote_blob *out, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    memset(out, 0, sizeof(*out));
    int f = enter(w, "base_get_changed");
    int rc = 0;
    if (f >= 0) {
    } else if (!w->base) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, "mem://", "no base");
    } else if (strcmp(w->base_etag, etag) == 0) {
        rc = REMOTE_UNCHANGED;
    } else {
        copy_base(w, out);
    }
    return leave(w, f, rc, "base_get_changed", err);
}

static int m_base_put(void *be, const void *data, size_t len, const char *if_match, char *etag_out,
                      struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "base_put");
    int rc = 0;
    if (f == MEM_FAIL || f == MEM_CONFLICT) {
    } else if (if_match ? !w->base || strcmp(if_match, w->base_etag) != 0 : w->base != NULL) {
        rc = mesh_err_set(err, MESH_ECONFLICT, "mem://", "base: precondition failed");
    } else {
        free(w->base);
        w->base = dup_bytes(data, len);
        w->base_len = len;
        snprintf(w->base_etag, sizeof(w->base_etag), "\"etag-%ld\"", ++w->etags);
        if (etag_out && f < 0) snprintf(etag_out, REMOTE_ETAG_MAX, "%s", w->base_etag);
    }
    return leave(w, f, rc, "base_put", err);
}

static struct mem_log *find_log(struct mem_world *w, long long gen, long long seq)
{
    for (int i = 0; i < w->nlogs; i++)
        if (w->logs[i].gen == gen && w->logs[i].seq == seq) return &w->logs[i];
    return NULL;
}

static void add_log(struct mem_world *w, long long gen, long long seq, const void *data, size_t len)
{
    struct mem_log *l = find_log(w, gen, seq);
    if (!l) {
        w->logs = realloc(w->logs, sizeof(*w->logs) * (size_t)(w->nlogs + 1));
        l = &w->logs[w->nlogs++];
        l->gen = gen;
        l->seq = seq;
    } else {
        free(l->data);
    }
    l->data = dup_bytes(data, len);
    l->len = len;
}

static int m_log_put(void *be, long long gen, long long seq, const void *data, size_t len, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "log_put");
    int rc = 0;
    if (f == MEM_FAIL || f == MEM_CONFLICT) {
    } else if (find_log(w, gen, seq)) {
        rc = mesh_err_set(err, MESH_ECONFLICT, "mem://", "log %lld/%lld exists", gen, seq);
    } else {
        add_log(w, gen, seq, data, len);
    }
    return leave(w, f, rc, "log_put", err);
}

static int m_log_get(void *be, long long gen, long long seq, struct remote_blob *out, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    memset(out, 0, sizeof(*out));
    int f = enter(w, "log_get");
    int rc = 0;
    struct mem_log *l = find_log(w, gen, seq);
    if (f >= 0) {
    } else if (!l) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, "mem://", "no log %lld/%lld", gen, seq);
    } else {
        out->data = dup_bytes(l->data, l->len);
        out->len = l->len;
    }
    return leave(w, f, rc, "log_get", err);
}

static int m_log_drop(void *be, long long before_gen, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "log_drop");
    if (f < 0 || f == MEM_LOST) {
        int j = 0;
        for (int i = 0; i < w->nlogs; i++) {
            if (w->logs[i].gen < before_gen)
                free(w->logs[i].data);
            else
                w->logs[j++] = w->logs[i];
        }
        w->nlogs = j;
    }
    return leave(w, f, 0, "log_drop", err);
}

static int m_log_delete(void *be, long long gen, long long last, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "log_delete");
    if (f < 0 || f == MEM_LOST) {
        int j = 0;
        for (int i = 0; i < w->nlogs; i++) {
            if (w->logs[i].gen == gen && w->logs[i].seq >= 1 && w->logs[i].seq <= last)
                free(w->logs[i].data);
            else
                w->logs[j++] = w->logs[i];
        }
        w->nlogs = j;
    }
    return leave(w, f, 0, "log_delete", err);
}

static struct mem_snap *find_snap(struct mem_world *w, const char *name)
{
    for (int i = 0; i < w->nsnaps; i++)
        if (strcmp(w->snaps[i].name, name) == 0) return &w->snaps[i];
    return NULL;
}

static int m_snap_put(void *be, const char *name, const void *data, size_t len, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "snap_put");
    int rc = 0;
    struct mem_snap *s = find_snap(w, name);
    if (f == MEM_FAIL || f == MEM_CONFLICT) {
    } else if (s && (s->len != len || memcmp(s->data, data, len) != 0)) {
        rc = mesh_err_set(err, MESH_ECONFLICT, "mem://", "snapshot %s exists with other bytes", name);
    } else if (!s) {
        w->snaps = realloc(w->snaps, sizeof(*w->snaps) * (size_t)(w->nsnaps + 1));
        s = &w->snaps[w->nsnaps++];
        snprintf(s->name, sizeof(s->name), "%s", name);
        s->data = dup_bytes(data, len);
        s->len = len;
    }
    return leave(w, f, rc, "snap_put", err);
}

static int m_snap_get(void *be, const char *name, struct remote_blob *out, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    memset(out, 0, sizeof(*out));
    int f = enter(w, "snap_get");
    int rc = 0;
    struct mem_snap *s = find_snap(w, name);
    if (f >= 0) {
    } else if (!s) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, "mem://", "no snapshot %s", name);
    } else {
        out->data = dup_bytes(s->data, s->len);
        out->len = s->len;
    }
    return leave(w, f, rc, "snap_get", err);
}

static int m_snap_list(void *be, int (*fn)(const char *name, void *ctx), void *ctx, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "snap_list");
    int rc = 0;
    for (int i = 0; f < 0 && rc == 0 && i < w->nsnaps; i++) rc = fn(w->snaps[i].name, ctx);
    return leave(w, f, rc, "snap_list", err);
}

static int m_snap_delete(void *be, const char *const *names, size_t n, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "snap_delete");
    for (size_t k = 0; (f < 0 || f == MEM_LOST) && k < n; k++) {
        struct mem_snap *s = find_snap(w, names[k]);
        if (!s) continue;
        free(s->data);
        *s = w->snaps[--w->nsnaps];
    }
    return leave(w, f, 0, "snap_delete", err);
}

static int m_lease_acquire(void *be, const struct remote_lease *want, struct remote_lease *held_by, int *taken_over,
                           struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "lease_acquire");
    int rc = 0;
    *taken_over = 0;
    if (f == MEM_FAIL || f == MEM_CONFLICT) {
    } else if (w->leased && strcmp(w->lease.run_id, want->run_id) != 0 && (double)w->lease.expires > wnow(w)) {
        *held_by = w->lease;
        rc = mesh_err_set(err, MESH_ELOCKED, "mem://", "leased by %s", w->lease.run_id);
    } else {
        if (w->leased && strcmp(w->lease.run_id, want->run_id) != 0) {
            *held_by = w->lease;
            *taken_over = 1;
        }
        w->lease = *want;
        w->leased = 1;
    }
    return leave(w, f, rc, "lease_acquire", err);
}

static int m_lease_renew(void *be, const char *run_id, long long expires, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "lease_renew");
    int rc = 0;
    if (f == MEM_FAIL || f == MEM_CONFLICT) {
    } else if (!w->leased || strcmp(w->lease.run_id, run_id) != 0) {
        rc = mesh_err_set(err, MESH_ELOCKED, "mem://", "not the holder");
    } else {
        w->lease.expires = expires;
    }
    return leave(w, f, rc, "lease_renew", err);
}

static int m_lease_release(void *be, const char *run_id, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "lease_release");
    int rc = 0;
    if (f == MEM_FAIL || f == MEM_CONFLICT) {
    } else if (w->leased && strcmp(w->lease.run_id, run_id) == 0) {
        w->leased = 0;
    } else if (w->leased) {
        rc = mesh_err_set(err, MESH_ECONFLICT, "mem://", "held by %s", w->lease.run_id);
    }
    return leave(w, f, rc, "lease_release", err);
}

static int m_lease_read(void *be, struct remote_lease *info, int *held, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "lease_read");
    *held = w->leased;
    if (w->leased) *info = w->lease;
    return leave(w, f, 0, "lease_read", err);
}

static int m_lease_force_clear(void *be, const char *run_id, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "lease_force_clear");
    int rc = 0;
    if (f >= 0) {
    } else if (!w->leased) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, "mem://", "not locked");
    } else if (strcmp(w->lease.run_id, run_id) != 0) {
        rc = mesh_err_set(err, MESH_ECONFLICT, "mem://", "held by %s", w->lease.run_id);
    } else {
        w->leased = 0;
    }
    return leave(w, f, rc, "lease_force_clear", err);
}

static int m_key_get(void *be, unsigned char *key, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "key_get");
    int rc = 0;
    if (f >= 0) {
    } else if (!w->has_key) {
        rc = mesh_err_set(err, MESH_ENOTFOUND, "mem://", "no key");
    } else {
        memcpy(key, w->key, REMOTE_KEY_LEN);
    }
    return leave(w, f, rc, "key_get", err);
}

static int m_key_create(void *be, unsigned char *key, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "key_create");
    int rc = 0;
    if (f >= 0) {
    } else if (w->has_key) {
        rc = mesh_err_set(err, MESH_ECONFLICT, "mem://", "a key exists");
    } else {
        for (int i = 0; i < REMOTE_KEY_LEN; i++) w->key[i] = (unsigned char)(rand() & 0xff);
        w->has_key = 1;
        memcpy(key, w->key, REMOTE_KEY_LEN);
    }
    return leave(w, f, rc, "key_create", err);
}

static int m_key_put(void *be, const unsigned char *key, struct mesh_err *err)
{
    struct mem_world *w = ((struct mem_machine *)be)->w;
    int f = enter(w, "key_put");
    int rc = 0;
    if (f >= 0) {
    } else if (w->has_key) {
        rc = mesh_err_set(err, MESH_ECONFLICT, "mem://", "a key exists");
    } else {
        memcpy(w->key, key, REMOTE_KEY_LEN);
        w->has_key = 1;
    }
    return leave(w, f, rc, "key_put", err);
}

static void m_free(void *be)
{
    free(be);
}

#define MEM_OPS_COMMON                                                                                          \
    .name = "mem", .describe = m_describe, .base_get = m_base_get, .base_get_changed = m_base_get_changed,      \
    .base_put = m_base_put, .log_put = m_log_put, .log_get = m_log_get, .log_drop = m_log_drop,                 \
    .log_delete = m_log_delete, .snap_put = m_snap_put, .snap_get = m_snap_get, .snap_list = m_snap_list,       \
    .snap_delete = m_snap_delete, .lease_acquire = m_lease_acquire, .lease_renew = m_lease_renew,                 \
    .lease_release = m_lease_release, .lease_read = m_lease_read, .lease_force_clear = m_lease_force_clear,     \
    .free = m_free
static const struct remote_ops mem_ops_key = {MEM_OPS_COMMON, .key_get = m_key_get, .key_create = m_key_create,
                                              .key_put = m_key_put};
static const struct remote_ops mem_ops_nokey = {MEM_OPS_COMMON};

struct mem_world *mem_world_new(int with_key_ops)
{
    struct mem_world *w = calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    w->with_key = with_key_ops;
    return w;
}

void mem_world_free(struct mem_world *w)
{
    if (!w) return;
    free(w->base);
    for (int i = 0; i < w->nlogs; i++) free(w->logs[i].data);
    free(w->logs);
    for (int i = 0; i < w->nsnaps; i++) free(w->snaps[i].data);
    free(w->snaps);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void mem_remote_open(struct mem_world *w, const char *name, struct remote *r)
{
    struct mem_machine *m = calloc(1, sizeof(*m));
    m->w = w;
    snprintf(m->name, sizeof(m->name), "%s", name);
    r->ops = w->with_key ? &mem_ops_key : &mem_ops_nokey;
    r->be = m;
}

void mem_fault(struct mem_world *w, const char *op, int nth, int count, enum mem_fault_kind kind)
{
    pthread_mutex_lock(&w->mu);
    snprintf(w->f_op, sizeof(w->f_op), "%s", op);
    w->f_nth = nth;
    w->f_count = count;
    w->f_kind = kind;
    pthread_mutex_unlock(&w->mu);
}

void mem_fault_clear(struct mem_world *w)
{
    pthread_mutex_lock(&w->mu);
    w->f_op[0] = 0;
    pthread_mutex_unlock(&w->mu);
}

void mem_advance(struct mem_world *w, double seconds)
{
    pthread_mutex_lock(&w->mu);
    w->offset += seconds;
    pthread_mutex_unlock(&w->mu);
}

long long mem_base_gen(struct mem_world *w)
{
    pthread_mutex_lock(&w->mu);
    long long gen = 0;
    const char *p = w->base ? memchr(w->base, '\n', w->base_len) : NULL;
    const char *g = p ? strstr(p, "\"gen\":") : NULL;
    if (g) gen = strtoll(g + 6, NULL, 10);
    pthread_mutex_unlock(&w->mu);
    return gen;
}

int mem_log_count(struct mem_world *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->nlogs;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int mem_has_log(struct mem_world *w, long long gen, long long seq)
{
    pthread_mutex_lock(&w->mu);
    int found = find_log(w, gen, seq) != NULL;
    pthread_mutex_unlock(&w->mu);
    return found;
}

long mem_ops(struct mem_world *w, const char *op)
{
    long n = 0;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < 16; i++)
        if (strcmp(w->counts[i].op, op) == 0) n = w->counts[i].n;
    pthread_mutex_unlock(&w->mu);
    return n;
}

int mem_contains(struct mem_world *w, const void *needle, size_t n)
{
    pthread_mutex_lock(&w->mu);
    int found = w->base && memmem(w->base, w->base_len, needle, n) != NULL;
    for (int i = 0; !found && i < w->nlogs; i++) found = memmem(w->logs[i].data, w->logs[i].len, needle, n) != NULL;
    for (int i = 0; !found && i < w->nsnaps; i++) found = memmem(w->snaps[i].data, w->snaps[i].len, needle, n) != NULL;
    pthread_mutex_unlock(&w->mu);
    return found;
}

void mem_put_raw_log(struct mem_world *w, long long gen, long long seq, const void *data, size_t len)
{
    pthread_mutex_lock(&w->mu);
    add_log(w, gen, seq, data, len);
    pthread_mutex_unlock(&w->mu);
}

unsigned char *mem_base_copy(struct mem_world *w, size_t *len)
{
    pthread_mutex_lock(&w->mu);
    unsigned char *c = w->base ? dup_bytes(w->base, w->base_len) : NULL;
    *len = w->base_len;
    pthread_mutex_unlock(&w->mu);
    return c;
}

void mem_set_lease(struct mem_world *w, const char *run_id, const char *holder, double expires_in)
{
    pthread_mutex_lock(&w->mu);
    memset(&w->lease, 0, sizeof(w->lease));
    snprintf(w->lease.run_id, sizeof(w->lease.run_id), "%s", run_id);
    snprintf(w->lease.holder, sizeof(w->lease.holder), "%s", holder);
    snprintf(w->lease.host, sizeof(w->lease.host), "elsewhere");
    snprintf(w->lease.command, sizeof(w->lease.command), "apply");
    w->lease.pid = 4242;
    w->lease.acquired = (long long)(wnow(w) - w->offset);
    w->lease.expires = (long long)(wnow(w) - w->offset + expires_in);
    w->leased = 1;
    pthread_mutex_unlock(&w->mu);
}

int mem_snap_count(struct mem_world *w)
{
    pthread_mutex_lock(&w->mu);
    int n = w->nsnaps;
    pthread_mutex_unlock(&w->mu);
    return n;
}

void mem_snap_damage(struct mem_world *w, int remove)
{
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < w->nsnaps; i++) {
        if (remove) free(w->snaps[i].data);
        else if (w->snaps[i].len) w->snaps[i].data[w->snaps[i].len / 2] ^= 0x20;
    }
    if (remove) w->nsnaps = 0;
    pthread_mutex_unlock(&w->mu);
}
