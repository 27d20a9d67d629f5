/* pool.c: the worker pool. A job is published by storing a new ticket: the job's generation
 * in the high 32 bits and the next task index (0) in the low 32. Workers claim tasks with a
 * compare-and-swap on the ticket, so a worker that wakes late, still holding an older
 * generation, can never claim a task of a newer job. When a job is done the caller closes its
 * ticket (task index all ones) before it writes the next job's fields, so a stale worker never
 * compares an old index against a new task count. The caller counts finished tasks down and
 * returns when none are pending. Between jobs workers spin for a short while (pause, then
 * yield), then sleep on a condition variable. */
#include "base/pool.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sched.h>

#define SPIN_PAUSES 2000   /* busy rounds before yielding */
#define SPIN_YIELDS 200    /* sched_yield rounds before sleeping */
#define TICKET_CLOSED 0xFFFFFFFFu /* task index of a finished job: no task can be claimed */

struct smol_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_uint_fast64_t ticket; /* generation << 32 | next task index */
    atomic_int stop;
    /* the current job, written before its ticket is published */
    smol_pool_fn fn;
    void *ctx;
    atomic_int n_tasks;          /* read by stale workers too, whose claims then fail */
    atomic_int pending;          /* tasks of the current job not yet finished */
};

typedef struct { smol_pool *p; int id; } worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Runs tasks of generation gen until none are left or a newer job replaced it. */
static void work(smol_pool *p, uint32_t gen, int thread) {
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(t >> 32) != gen) return;
        uint32_t task = (uint32_t)t;
        if (task >= (uint32_t)atomic_load_explicit(&p->n_tasks, memory_order_relaxed)) return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1,
                                                   memory_order_acq_rel, memory_order_acquire))
            continue;
        /* the claimed task keeps `pending` above zero, so fn and ctx stay this job's */
        p->fn(p->ctx, (int)task, thread);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
        t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
}

static uint32_t current_gen(smol_pool *p) {
    return (uint32_t)(atomic_load_explicit(&p->ticket, memory_order_acquire) >> 32);
}

static void *worker_main(void *arg) {
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    smol_pool *p = a.p;
    uint32_t seen = 0;
    for (;;) {
        uint32_t gen = current_gen(p);
        for (int spin = 0; gen == seen && spin < SPIN_PAUSES + SPIN_YIELDS; spin++) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
            if (spin < SPIN_PAUSES) cpu_relax(); else sched_yield();
            gen = current_gen(p);
        }
        if (gen == seen) {
            pthread_mutex_lock(&p->mu);
            while ((gen = current_gen(p)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) return NULL;
        seen = gen;
        work(p, gen, a.id);
    }
}

smol_pool *smol_pool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    smol_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n_threads = n_threads;
    atomic_init(&p->ticket, TICKET_CLOSED);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a || (a->p = p, a->id = i, pthread_create(&p->threads[i], NULL, worker_main, a) != 0)) {
            free(a);
            p->n_threads = i;  /* join only what started */
            smol_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void smol_pool_free(smol_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p);
}

int smol_pool_size(const smol_pool *p) { return p ? p->n_threads : 1; }

void smol_pool_run(smol_pool *p, int n_tasks, smol_pool_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    /* No task of the previous job is in flight (pending reached 0) and its ticket is closed,
     * so no worker can claim a task until the new ticket is published below. */
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->n_tasks, n_tasks, memory_order_relaxed);
    atomic_store_explicit(&p->pending, n_tasks, memory_order_relaxed);
    uint32_t gen = current_gen(p) + 1;
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->ticket, (uint64_t)gen << 32, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    work(p, gen, 0);
    for (int spin = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; spin++) {
        if (spin < SPIN_PAUSES) cpu_relax(); else sched_yield();
    }
    atomic_store_explicit(&p->ticket, (uint64_t)gen << 32 | TICKET_CLOSED, memory_order_release);
}
