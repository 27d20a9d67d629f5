/* pool.c: the worker pool. A job's tasks are split into one contiguous range per thread; each
 * range has its own cache line holding a word "generation << 32 | next task index" and the
 * range's end. A thread claims the tasks of its own range first, with a compare-and-swap on its
 * own word (no cache line moves between cores while every thread has work of its own), then
 * takes what is left of the other ranges the same way, so a thread that starts late or is
 * descheduled only loses its unclaimed tasks to the others. The generation in each word means a
 * worker that wakes late, still holding an older generation, can never claim a task of a newer
 * job; when a job is done the caller closes every range (task index all ones) before it writes
 * the next job's ends, so a stale worker never compares an old index against a new end. Each
 * thread subtracts the number of tasks it ran from `pending` once, when it finds nothing left;
 * the caller returns when none are pending. Between jobs workers spin for a while (pause for
 * SPIN_NS, then yield), then sleep on a condition variable; the caller signals it only when a
 * worker sleeps. */
#include "base/pool.h"
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#define SPIN_NS 200000     /* nanoseconds of busy waiting (pause) before yielding */
#define SPIN_YIELDS 200    /* sched_yield rounds after that, before a worker sleeps */
#define CLOCK_EVERY 32     /* pauses between looks at the clock */
#define TASK_CLOSED 0xFFFFFFFFu /* task index of a finished job: no task can be claimed */

typedef struct {          /* one thread's range of the current job, on a cache line of its own */
    alignas(64) atomic_uint_fast64_t next;   /* generation << 32 | next task index */
    atomic_uint end;                         /* the range's end (exclusive) */
} pool_range;

struct smol_pool {
    pool_range *ranges;          /* [n_threads] */
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    /* the current job, written before its generation is published; read by workers together */
    alignas(64) atomic_uint gen;  /* the newest job's generation (0: none yet) */
    smol_pool_fn fn;
    void *ctx;
    atomic_int stop;
    atomic_int sleepers;         /* workers waiting (or about to wait) on `wake` */
    alignas(64) atomic_int pending;  /* tasks of the current job not yet finished */
};

typedef struct { smol_pool *p; int id; } worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One round of a wait loop: a pause while the round's time budget lasts (the clock is read
 * every CLOCK_EVERY rounds, *deadline set on the first look), then sched_yield. Returns 1 while
 * still pausing, 0 once yielding. A pause takes 7 to 50 ns depending on the CPU, so the budget
 * is in time, not rounds: waits shorter than SPIN_NS (the gaps between the matrix products of a
 * decode step) never give the CPU away. */
static int wait_round(unsigned *round, uint64_t *deadline) {
    if (*deadline != UINT64_MAX) {
        if (++*round % CLOCK_EVERY == 0) {
            uint64_t t = now_ns();
            if (!*deadline) *deadline = t + SPIN_NS;
            else if (t > *deadline) *deadline = UINT64_MAX;
        }
        if (*deadline != UINT64_MAX) {
            cpu_relax();
            return 1;
        }
    }
    sched_yield();
    return 0;
}

/* Runs tasks of range r while it belongs to generation gen; returns how many it ran. */
static int drain(smol_pool *p, pool_range *r, uint32_t gen, int thread) {
    int done = 0;
    uint64_t v = atomic_load_explicit(&r->next, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(v >> 32) != gen) return done;
        uint32_t task = (uint32_t)v;
        if (task >= atomic_load_explicit(&r->end, memory_order_relaxed)) return done;
        if (!atomic_compare_exchange_weak_explicit(&r->next, &v, v + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        /* the claimed task keeps `pending` above zero, so fn and ctx stay this job's */
        p->fn(p->ctx, (int)task, thread);
        done++;
        v = atomic_load_explicit(&r->next, memory_order_acquire);
    }
}

/* Runs tasks of generation gen, own range first, until none is left; then reports them done. */
static void work(smol_pool *p, uint32_t gen, int thread) {
    int done = 0;
    for (int k = 0; k < p->n_threads; k++) done += drain(p, &p->ranges[(thread + k) % p->n_threads], gen, thread);
    if (done) atomic_fetch_sub_explicit(&p->pending, done, memory_order_acq_rel);
}

static uint32_t current_gen(smol_pool *p) { return atomic_load_explicit(&p->gen, memory_order_acquire); }

/* Waits for a generation other than seen (spinning, yielding, then sleeping); 0 on stop. */
static uint32_t wait_job(smol_pool *p, uint32_t seen) {
    uint32_t gen = current_gen(p);
    unsigned round = 0, yields = 0;
    uint64_t deadline = 0;
    while (gen == seen && yields < SPIN_YIELDS) {
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return 0;
        if (!wait_round(&round, &deadline)) yields++;
        gen = current_gen(p);
    }
    if (gen == seen) {
        pthread_mutex_lock(&p->mu);
        atomic_fetch_add(&p->sleepers, 1);  /* seq_cst: the caller sees it, or we see its gen */
        while ((gen = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->wake, &p->mu);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->mu);
    }
    return atomic_load(&p->stop) ? 0 : gen;
}

static void *worker_main(void *arg) {
    worker_arg a = *(worker_arg *)arg;
    free(arg);
    uint32_t seen = 0, gen;
    while ((gen = wait_job(a.p, seen)) != 0) {
        seen = gen;
        work(a.p, gen, a.id);
    }
    return NULL;
}

smol_pool *smol_pool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    smol_pool *p = aligned_alloc(64, (sizeof *p + 63) / 64 * 64);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->n_threads = n_threads;
    atomic_init(&p->gen, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->pending, 0);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    p->ranges = aligned_alloc(64, (size_t)n_threads * sizeof *p->ranges);
    if (!p->threads || !p->ranges) {
        p->n_threads = 1;
        smol_pool_free(p);
        return NULL;
    }
    for (int i = 0; i < n_threads; i++) {
        atomic_init(&p->ranges[i].next, TASK_CLOSED);
        atomic_init(&p->ranges[i].end, 0);
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
    free(p->ranges);
    free(p);
}

int smol_pool_size(const smol_pool *p) { return p ? p->n_threads : 1; }

void smol_pool_run(smol_pool *p, int n_tasks, smol_pool_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (!p || p->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
        return;
    }
    /* No task of the previous job is in flight (pending reached 0) and its ranges are closed,
     * so no worker can claim a task until a range of the new generation is published below. */
    int T = p->n_threads;
    uint32_t gen = current_gen(p) + 1;
    if (gen == 0) gen = 1;  /* 0 means "no job yet" to the workers */
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, n_tasks, memory_order_relaxed);
    for (int i = 0; i < T; i++) {
        pool_range *r = &p->ranges[i];
        atomic_store_explicit(&r->end, (unsigned)((int64_t)n_tasks * (i + 1) / T), memory_order_relaxed);
        atomic_store_explicit(&r->next, (uint64_t)gen << 32 | (uint32_t)((int64_t)n_tasks * i / T), memory_order_release);
    }
    atomic_store(&p->gen, gen);  /* seq_cst: pairs with the sleepers count in wait_job */
    if (atomic_load(&p->sleepers)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->mu);
    }
    work(p, gen, 0);
    unsigned round = 0;
    uint64_t deadline = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) wait_round(&round, &deadline);
    for (int i = 0; i < T; i++)
        atomic_store_explicit(&p->ranges[i].next, (uint64_t)gen << 32 | TASK_CLOSED, memory_order_release);
}
