/* test_pool.c: the worker pool's per-thread task ranges (base/pool.h): jobs of every size from
 * 1 task to many on 2 to 4 threads run each task exactly once with the job's own context; a
 * thread that stalls on a task has the rest of its range taken by the others; workers that
 * went to sleep between jobs wake for the next one. (test_base.c has the first pool tests.) */
#include "check.h"
#include "base/pool.h"
#include <stdatomic.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Back-to-back jobs of 1..9 tasks alternating between two contexts: a task must see its own
 * job's context (a late worker must not run a task of the next job with the old one, or the
 * reverse), run once, and get a thread number below the pool size. */
typedef struct { int job; atomic_int hits[16]; atomic_int wrong; } job_ctx;
static int pool_size_for_check;
static void job_task(void *ctx, int task, int thread) {
    job_ctx *c = ctx;
    atomic_fetch_add(&c->hits[task], 1);
    if (thread < 0 || thread >= pool_size_for_check) atomic_fetch_add(&c->wrong, 1);
}

static void test_pool_jobs_of_every_size(void) {
    static job_ctx ctx[2];
    for (int threads = 2; threads <= 4; threads++) {
        smol_pool *p = smol_pool_new(threads);
        REQUIRE(p && smol_pool_size(p) == threads, "pool of %d", threads);
        pool_size_for_check = threads;
        for (int job = 0; job < 20000; job++) {
            job_ctx *c = &ctx[job & 1];
            memset(c, 0, sizeof *c);
            c->job = job;
            int n = 1 + job % 9;
            smol_pool_run(p, n, job_task, c);
            for (int i = 0; i < 16; i++) {
                int h = atomic_load(&c->hits[i]);
                if (h != (i < n)) {
                    CHECK(0, "threads=%d job=%d n=%d: task %d ran %d times", threads, job, n, i, h);
                    smol_pool_free(p);
                    return;
                }
            }
            if (atomic_load(&c->wrong)) {
                CHECK(0, "threads=%d job=%d: a task got a thread number outside [0, %d)", threads, job, threads);
                smol_pool_free(p);
                return;
            }
        }
        smol_pool_free(p);
    }
}

/* 64 tasks of 20 us on 2 threads. The caller's first task waits (up to 5 s) until worker 1 has
 * claimed a task, so the test does not depend on when the worker is scheduled; worker 1's first
 * task stalls for 500 ms, so the caller, after its own 32, must take the rest of worker 1's
 * range: worker 1 runs only that one task (without taking over the other range it would run all
 * 32 of its own). */
typedef struct { atomic_int by_thread[2]; atomic_int stalled; atomic_int hits[64]; atomic_int waited_out; } stall_ctx;
static void stall_task(void *ctx, int task, int thread) {
    stall_ctx *c = ctx;
    atomic_fetch_add(&c->hits[task], 1);
    atomic_fetch_add(&c->by_thread[thread], 1);
    if (thread == 1 && !atomic_exchange(&c->stalled, 1)) {
        struct timespec d = {0, 500 * 1000 * 1000};
        nanosleep(&d, NULL);
        return;
    }
    if (thread == 0 && task == 0) {
        double t0 = now_s();
        while (!atomic_load(&c->stalled))
            if (now_s() - t0 > 5) {
                atomic_store(&c->waited_out, 1);
                break;
            }
    }
    for (double t0 = now_s(); now_s() - t0 < 20e-6;) {}  /* 20 us of work */
}

static void test_pool_takes_over_a_stalled_range(void) {
    smol_pool *p = smol_pool_new(2);
    REQUIRE(p, "pool of 2");
    static stall_ctx c;
    memset(&c, 0, sizeof c);
    smol_pool_run(p, 64, stall_task, &c);
    for (int i = 0; i < 64; i++) CHECK(atomic_load(&c.hits[i]) == 1, "task %d ran %d times", i, atomic_load(&c.hits[i]));
    CHECK(!atomic_load(&c.waited_out), "worker 1 claimed no task within 5 s");
    CHECK(atomic_load(&c.by_thread[1]) == 1, "worker 1 stalled on its first task yet ran %d of 64 (the caller ran %d)",
          atomic_load(&c.by_thread[1]), atomic_load(&c.by_thread[0]));
    smol_pool_free(p);
}

/* After a pause long enough for the workers to go to sleep, a job whose tasks each wait (up to
 * 5 s) until all of them have started can finish only if every worker wakes. */
typedef struct { int n; atomic_int started; atomic_int timed_out; } meet_ctx;  /* timed_out: tasks seen + 1 */
static void meet_task(void *ctx, int task, int thread) {
    meet_ctx *c = ctx;
    (void)task, (void)thread;
    atomic_fetch_add(&c->started, 1);
    double t0 = now_s();
    while (atomic_load(&c->started) < c->n)
        if (now_s() - t0 > 5) {
            atomic_store(&c->timed_out, atomic_load(&c->started) + 1);
            return;
        }
}

static void test_pool_sleeping_workers_wake(void) {
    for (int threads = 2; threads <= 3; threads++) {
        smol_pool *p = smol_pool_new(threads);
        REQUIRE(p, "pool of %d", threads);
        for (int round = 0; round < 3; round++) {
            struct timespec d = {0, 30 * 1000 * 1000};
            nanosleep(&d, NULL);  /* past the spin and yield budget */
            meet_ctx c = {.n = threads};
            smol_pool_run(p, threads, meet_task, &c);
            if (atomic_load(&c.timed_out)) {
                CHECK(0, "threads=%d round=%d: only %d of %d tasks started within 5 s", threads, round,
                      atomic_load(&c.timed_out) - 1, threads);
                break;
            }
        }
        smol_pool_free(p);
    }
}

int main(void) {
    RUN(test_pool_jobs_of_every_size);
    RUN(test_pool_takes_over_a_stalled_range);
    RUN(test_pool_sleeping_workers_wake);
    return check_done();
}
