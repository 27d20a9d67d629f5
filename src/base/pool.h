/* pool.h: a fixed set of worker threads that run the parts of one job at a time.
 * smol_pool_run(p, n, fn, ctx) calls fn(ctx, i, thread) for every i in [0, n), spread over the
 * threads (the caller is thread 0), and returns when all are done. Each thread starts on a
 * contiguous range of the tasks and then takes what the others have not started. Workers spin
 * for a while between jobs, so back-to-back small jobs (one matrix-vector product each) start
 * fast. */
#ifndef SMOL_BASE_POOL_H
#define SMOL_BASE_POOL_H

typedef struct smol_pool smol_pool;
typedef void (*smol_pool_fn)(void *ctx, int task, int thread);

/* A pool of n_threads threads in all (n_threads - 1 workers plus the caller); NULL on failure. */
smol_pool *smol_pool_new(int n_threads);

/* Stops and joins the workers; NULL is a no-op. */
void smol_pool_free(smol_pool *p);

/* The number of threads, the caller included. */
int smol_pool_size(const smol_pool *p);

/* Runs fn for tasks 0..n_tasks-1 and waits for all of them. p may be NULL (runs inline). */
void smol_pool_run(smol_pool *p, int n_tasks, smol_pool_fn fn, void *ctx);

#endif
