/* pool.c: worker threads and the two queues (see pool.h). */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "base/xalloc.h"

struct pool {
    pthread_t *threads;
    int nthreads;
    pool_run_fn run;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    pthread_cond_t done_cv;
    struct vec work;     /* FIFO: head index below */
    size_t work_head;
    struct vec done;
    int stopping;
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->work_head == p->work.len && !p->stopping) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->work_head == p->work.len) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        void *item = p->work.items[p->work_head++];
        if (p->work_head == p->work.len) p->work_head = p->work.len = 0;
        pthread_mutex_unlock(&p->mu);
        p->run(p, item, p->ctx);
    }
}

struct pool *pool_new(int nthreads, pool_run_fn run, void *ctx)
{
    struct pool *p = xcalloc(1, sizeof(*p));
    p->nthreads = nthreads < 1 ? 1 : nthreads;
    p->run = run;
    p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->threads = xcalloc((size_t)p->nthreads, sizeof(pthread_t));
    for (int i = 0; i < p->nthreads; i++) pthread_create(&p->threads[i], NULL, pool_worker, p);
    return p;
}

void pool_free(struct pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    vec_release(&p->work);
    vec_release(&p->done);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p);
}

void pool_submit(struct pool *p, void *item)
{
    pthread_mutex_lock(&p->mu);
    vec_push(&p->work, item);
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

void pool_post(struct pool *p, void *item)
{
    pthread_mutex_lock(&p->mu);
    vec_push(&p->done, item);
    pthread_cond_signal(&p->done_cv);
    pthread_mutex_unlock(&p->mu);
}

int pool_collect(struct pool *p, struct vec *out, double timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long long ns = until.tv_nsec + (long long)(timeout_s * 1e9);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    pthread_mutex_lock(&p->mu);
    while (p->done.len == 0) {
        if (pthread_cond_timedwait(&p->done_cv, &p->mu, &until) == ETIMEDOUT) break;
    }
    int n = (int)p->done.len;
    for (size_t i = 0; i < p->done.len; i++) vec_push(out, p->done.items[i]);
    p->done.len = 0;
    pthread_mutex_unlock(&p->mu);
    return n;
}
