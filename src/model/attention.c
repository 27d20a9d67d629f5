/* attention.c: the tiled online-softmax attention of attention.h: planning a batch into tasks
 * (KV head x block of query rows x range of keys), running them over the thread pool, merging
 * split key ranges; the scalar kernels; and the plain reference smol_attention_head. */
#include "model/attention.h"
#include "base/cpu.h"
#include "base/error.h"
#include "model/dtype.h"
#include "model/quant.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TILE SMOL_KV_TILE
#define Q_VECS 48            /* query vectors (rows x heads of a group) per task, at most */
#define SMALL_WORK 262144.0  /* multiply-adds below which keys are not split across threads */
#define MIN_SPLIT_TILES 4    /* key tiles per part, at least, when keys are split */
#define SPLIT_SLOTS 8        /* partial-result slots per thread */

/* ---------------------------------------------------------------- scalar kernels */

/* exp by range reduction x = n ln2 + r (|r| <= ln2/2), a degree-7 Taylor polynomial of r and
 * 2^n applied as two halves (so n in [-159, 128] needs no special cases). */
static float exp_scalar1(float x) {
    x = x > -110.0f ? x : -110.0f;  /* NaN too: no float-to-int conversion of a NaN below */
    x = x < 89.0f ? x : 89.0f;
    float n = rintf(x * 1.44269504088896341f);
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.42860682030941723212e-6f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int ni = (int)n, a = ni >> 1, b = ni - a;
    uint32_t ba = (uint32_t)(a + 127) << 23, bb = (uint32_t)(b + 127) << 23;
    float fa, fb;
    memcpy(&fa, &ba, 4);
    memcpy(&fb, &bb, 4);
    return p * fa * fb;
}

static void exp_scalar(int n, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] = exp_scalar1(x[i]);
}

static void f16_to_f32_scalar(size_t n, const uint16_t *src, float *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = smol_kvcache_half_to_float(src[i]);
}

static void f32_to_f16_scalar(size_t n, const float *src, uint16_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = smol_f32_to_f16(src[i]);
}

static void scores_scalar(int m, int d, const float *q, const float *kt, float *s) {
    for (int r = 0; r < m; r++) {
        float *sr = s + (size_t)r * TILE;
        for (int j = 0; j < TILE; j++) sr[j] = 0;
        for (int i = 0; i < d; i++) {
            float qi = q[(size_t)r * d + i];
            const float *ki = kt + (size_t)i * TILE;
            for (int j = 0; j < TILE; j++) sr[j] += qi * ki[j];
        }
    }
}

static float softmax_scalar(int n, float *s, float m_old, float *sum) {
    float mx = m_old;
    for (int j = 0; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    float total = 0;
    for (int j = 0; j < TILE; j++) {
        s[j] = j < n ? exp_scalar1(s[j] - mx) : 0.0f;
        total += s[j];
    }
    *sum = total;
    return mx;
}

static void pv_scalar(int m, int d, int n, const float *p, const float *v, const float *alpha, float *acc) {
    for (int r = 0; r < m; r++) {
        float *ar = acc + (size_t)r * d;
        for (int i = 0; i < d; i++) ar[i] *= alpha[r];
        for (int j = 0; j < n; j++) {
            float pj = p[(size_t)r * TILE + j];
            const float *vj = v + (size_t)j * d;
            for (int i = 0; i < d; i++) ar[i] += pj * vj[i];
        }
    }
}

const smol_attn_kernels smol_attn_scalar = {exp_scalar, f16_to_f32_scalar, f32_to_f16_scalar, scores_scalar, softmax_scalar, pv_scalar};

const smol_attn_kernels *smol_attn_kernels_level(int level) {
    if (level == SMOL_SIMD_SCALAR) return &smol_attn_scalar;
#if defined(__x86_64__)
    if (level == SMOL_SIMD_AVX2 && smol_cpu_has_avx2()) return &smol_attn_avx2;
    if (level == SMOL_SIMD_AVX512 && smol_cpu_has_avx512()) return &smol_attn_avx512;
#endif
    return NULL;
}

const smol_attn_kernels *smol_attn_kernels_best(void) {
    for (int level = SMOL_SIMD_AVX512; level > SMOL_SIMD_SCALAR; level--)
        if (smol_attn_kernels_level(level)) return smol_attn_kernels_level(level);
    return &smol_attn_scalar;
}

/* ---------------------------------------------------------------- reference */

void smol_attention_head(const smol_kvcache *kv, int layer, int kvh, const float *q, int n_pos, float *scores,
                         float *out) {
    int D = kv->head_dim;
    double scale = 1.0 / sqrt((double)D), mx = -INFINITY, sum = 0;
    for (int p = 0; p < n_pos; p++) {
        double dot = 0;
        for (int d = 0; d < D; d++) dot += (double)q[d] * smol_kvcache_key(kv, layer, kvh, p, d);
        scores[p] = (float)(dot * scale);
        if (scores[p] > mx) mx = scores[p];
    }
    for (int p = 0; p < n_pos; p++) {
        scores[p] = expf((float)(scores[p] - mx));
        sum += scores[p];
    }
    for (int d = 0; d < D; d++) {
        double a = 0;
        for (int p = 0; p < n_pos; p++) a += (double)scores[p] * smol_kvcache_value(kv, layer, kvh, p, d);
        out[d] = (float)(a / sum);
    }
}

/* ---------------------------------------------------------------- work area */

/* One task: rows [row0, row0 + n_rows) of one sequence, KV head kvh, keys [k0, k1) (k0 a
 * multiple of TILE). slot < 0: the result is final; otherwise a partial result in part[slot]. */
typedef struct attn_task {
    int row0, n_rows, kvh, k0, k1, slot;
} attn_task;

struct smol_attn_work {
    const smol_attn_kernels *k;
    int n_threads, max_rows, n_head, n_kv, head_dim;
    int group;          /* query heads per KV head */
    int qb;             /* query rows per block */
    int m_max;          /* query vectors per task: qb * group */
    attn_task *tasks;
    int max_tasks;
    int *block_start;   /* [max_rows + 1]: first row of each block of the batch being planned */
    float *scratch;     /* [n_threads][per_thread] */
    size_t per_thread;  /* floats */
    float *part;        /* [n_threads * SPLIT_SLOTS][m_max][head_dim + 2]: acc, max, sum */
};

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

int smol_attn_work_new(int n_threads, int max_rows, int n_head, int n_head_kv, int head_dim, smol_attn_work **out,
                       smol_error *err) {
    *out = NULL;
    if (n_threads <= 0 || max_rows <= 0 || n_head_kv <= 0 || head_dim <= 0 || n_head % n_head_kv)
        return smol_fail(err, SMOL_EINVAL, "attention shape: %d threads, %d rows, %d heads over %d KV heads, head_dim %d",
                         n_threads, max_rows, n_head, n_head_kv, head_dim);
    smol_attn_work *w = calloc(1, sizeof *w);
    if (!w) return smol_fail(err, SMOL_ENOMEM, "out of memory for attention scratch");
    w->k = smol_attn_kernels_best();
    w->n_threads = n_threads, w->max_rows = max_rows, w->n_head = n_head, w->n_kv = n_head_kv;
    w->head_dim = head_dim;
    w->group = n_head / n_head_kv;
    w->qb = w->group >= Q_VECS ? 1 : Q_VECS / w->group;
    w->m_max = w->qb * w->group;
    w->max_tasks = max_rows * n_head_kv + SPLIT_SLOTS * n_threads;
    size_t M = (size_t)w->m_max, D = (size_t)head_dim;
    w->per_thread = 2 * round16(M * D) + round16(M * TILE) + 3 * round16(M) + 2 * round16(D * TILE);
    w->tasks = malloc((size_t)w->max_tasks * sizeof *w->tasks);
    w->block_start = malloc(((size_t)max_rows + 1) * sizeof *w->block_start);
    w->scratch = aligned_alloc(64, (size_t)n_threads * w->per_thread * sizeof(float));
    w->part = malloc((size_t)n_threads * SPLIT_SLOTS * M * (D + 2) * sizeof(float));
    if (!w->tasks || !w->block_start || !w->scratch || !w->part) {
        smol_attn_work_free(w);
        return smol_fail(err, SMOL_ENOMEM, "out of memory for attention scratch");
    }
    *out = w;
    return SMOL_OK;
}

void smol_attn_work_free(smol_attn_work *w) {
    if (!w) return;
    free(w->tasks), free(w->block_start), free(w->scratch), free(w->part);
    free(w);
}

int smol_attn_work_set_level(smol_attn_work *w, int level) {
    const smol_attn_kernels *k = smol_attn_kernels_level(level);
    if (!k) return -1;
    w->k = k;
    return 0;
}

/* ---------------------------------------------------------------- one task */

typedef struct attn_job {
    const smol_attn_work *w;
    const smol_attn_batch *b;
    float *out;
} attn_job;

/* The per-thread scratch of one task. */
typedef struct task_mem {
    float *q, *s, *acc, *mx, *sum, *alpha, *kt, *v;
} task_mem;

static task_mem thread_mem(const smol_attn_work *w, int thread) {
    size_t M = (size_t)w->m_max, D = (size_t)w->head_dim;
    task_mem t;
    t.q = w->scratch + (size_t)thread * w->per_thread;
    t.acc = t.q + round16(M * D);
    t.s = t.acc + round16(M * D);
    t.mx = t.s + round16(M * TILE);
    t.sum = t.mx + round16(M);
    t.alpha = t.sum + round16(M);
    t.kt = t.alpha + round16(M);
    t.v = t.kt + round16(D * TILE);
    return t;
}

/* The scaled queries of the task's rows and group into t->q [rows * group][D]; state reset. */
static void task_start(const smol_attn_work *w, const smol_attn_batch *b, const attn_task *a, const task_mem *t) {
    int G = w->group, D = w->head_dim, M = a->n_rows * G;
    float scale = 1.0f / sqrtf((float)D);
    for (int r = 0; r < a->n_rows; r++) {
        const float *src = b->q + ((size_t)(a->row0 + r) * w->n_head + (size_t)a->kvh * G) * D;
        for (int i = 0; i < G * D; i++) t->q[(size_t)r * G * D + i] = src[i] * scale;
    }
    for (int i = 0; i < M; i++) t->mx[i] = -INFINITY, t->sum[i] = 0;
    memset(t->acc, 0, (size_t)M * D * sizeof(float));
}

/* Writes the task's result: final rows into out, or the partial state into its slot. */
static void task_finish(const smol_attn_work *w, const attn_task *a, const task_mem *t, float *out) {
    int G = w->group, D = w->head_dim, M = a->n_rows * G;
    if (a->slot >= 0) {
        float *p = w->part + (size_t)a->slot * w->m_max * (D + 2);
        for (int i = 0; i < M; i++) {
            memcpy(p + (size_t)i * (D + 2), t->acc + (size_t)i * D, (size_t)D * sizeof(float));
            p[(size_t)i * (D + 2) + D] = t->mx[i];
            p[(size_t)i * (D + 2) + D + 1] = t->sum[i];
        }
        return;
    }
    for (int i = 0; i < M; i++) {
        int r = i / G, g = i % G;
        float *o = out + ((size_t)(a->row0 + r) * w->n_head + (size_t)a->kvh * G + g) * D;
        float inv = 1.0f / t->sum[i];
        for (int d = 0; d < D; d++) o[d] = t->acc[(size_t)i * D + d] * inv;
    }
}

static void run_task(const smol_attn_work *w, const smol_attn_batch *b, const attn_task *a, int thread, float *out) {
    const smol_attn_kernels *k = w->k;
    const smol_kvcache *kv = &b->kv[b->seq[a->row0]];
    int G = w->group, D = w->head_dim, M = a->n_rows * G, f16 = kv->type != SMOL_F32;
    task_mem t = thread_mem(w, thread);
    int lim[Q_VECS];
    task_start(w, b, a, &t);
    for (int t0 = a->k0; t0 < a->k1; t0 += TILE) {
        int nmax = 0;
        for (int r = 0; r < a->n_rows; r++) {
            int end = b->pos[a->row0 + r] + 1 < a->k1 ? b->pos[a->row0 + r] + 1 : a->k1;
            lim[r] = end - t0 < 0 ? 0 : end - t0 > TILE ? TILE : end - t0;
            if (lim[r] > nmax) nmax = lim[r];
        }
        if (!nmax) break;  /* rows are in position order: later tiles are past every row */
        const void *kt = smol_kvcache_k_tile(kv, b->layer, a->kvh, t0 / TILE);
        if (f16) k->f16_to_f32((size_t)D * TILE, kt, t.kt);
        k->scores(M, D, t.q, f16 ? t.kt : kt, t.s);
        for (int i = 0; i < M; i++) {
            float part, mx = k->softmax(lim[i / G], t.s + (size_t)i * TILE, t.mx[i], &part);
            t.alpha[i] = mx == t.mx[i] ? 1.0f : expf(t.mx[i] - mx);
            t.sum[i] = t.sum[i] * t.alpha[i] + part;
            t.mx[i] = mx;
        }
        const void *v = smol_kvcache_v_rows(kv, b->layer, a->kvh, t0);
        if (f16) k->f16_to_f32((size_t)nmax * D, v, t.v);
        k->pv(M, D, nmax, t.s, f16 ? t.v : v, t.alpha, t.acc);
    }
    task_finish(w, a, &t, out);
}

static void attn_pool_task(void *ctx, int task, int thread) {
    const attn_job *j = ctx;
    run_task(j->w, j->b, &j->w->tasks[task], thread, j->out);
}

/* ---------------------------------------------------------------- planning */

/* The end of the block of rows starting at i: same sequence, consecutive positions, <= qb rows. */
static int block_end(const smol_attn_work *w, const smol_attn_batch *b, int i) {
    int j = i + 1;
    while (j < b->n && j - i < w->qb && b->seq[j] == b->seq[i] && b->pos[j] == b->pos[j - 1] + 1) j++;
    return j;
}

/* Fills w->tasks for the batch on n_threads threads; returns the task count. Blocks are listed
 * last first (they see the most keys), so the pool's first-come order balances them. Keys are
 * split into parts only when blocks x KV heads would leave threads idle. */
static int plan(smol_attn_work *w, const smol_attn_batch *b, int n_threads) {
    int n_blocks = 0;
    for (int i = 0; i < b->n; i = block_end(w, b, i)) w->block_start[n_blocks++] = i;
    w->block_start[n_blocks] = b->n;
    int coarse = n_blocks * w->n_kv, split = 1;
    if (n_threads > 1 && coarse < 2 * n_threads) split = (4 * n_threads + coarse - 1) / coarse;
    int n = 0, slot = 0;
    for (int bl = n_blocks - 1; bl >= 0; bl--) {
        int i = w->block_start[bl], e = w->block_start[bl + 1];
        int keys = b->pos[e - 1] + 1, tiles = (keys + TILE - 1) / TILE;
        int parts = split < tiles / MIN_SPLIT_TILES ? split : tiles / MIN_SPLIT_TILES;
        if (parts < 1) parts = 1;
        int per = (tiles + parts - 1) / parts * TILE;
        for (int h = 0; h < w->n_kv; h++)
            for (int k0 = 0; k0 < keys; k0 += per) {
                attn_task a = {i, e - i, h, k0, k0 + per < keys ? k0 + per : keys, parts > 1 ? slot++ : -1};
                w->tasks[n++] = a;
            }
    }
    return n;
}

/* Combines the partial results of tasks [t0, t1) (one block and KV head) into out. */
static void merge_parts(const smol_attn_work *w, int t0, int t1, float *out) {
    const attn_task *a = &w->tasks[t0];
    int G = w->group, D = w->head_dim, M = a->n_rows * G;
    size_t stride = (size_t)w->m_max * (D + 2);
    for (int i = 0; i < M; i++) {
        float mx = -INFINITY, sum = 0;
        for (int t = t0; t < t1; t++) {
            float m = w->part[w->tasks[t].slot * stride + (size_t)i * (D + 2) + D];
            if (m > mx) mx = m;
        }
        float *o = out + ((size_t)(a->row0 + i / G) * w->n_head + (size_t)a->kvh * G + i % G) * D;
        memset(o, 0, (size_t)D * sizeof(float));
        for (int t = t0; t < t1; t++) {
            const float *p = w->part + w->tasks[t].slot * stride + (size_t)i * (D + 2);
            if (p[D] == -INFINITY) continue;  /* no key of this part is visible to the row */
            float f = expf(p[D] - mx);
            sum += f * p[D + 1];
            for (int d = 0; d < D; d++) o[d] += f * p[d];
        }
        for (int d = 0; d < D; d++) o[d] /= sum;
    }
}

void smol_attention(smol_attn_work *w, smol_pool *pool, const smol_attn_batch *b, float *out) {
    double work = 0;
    for (int i = 0; i < b->n; i++) work += (double)(b->pos[i] + 1) * w->n_head * w->head_dim * 2;
    int n_threads = pool ? smol_pool_size(pool) : 1;
    if (n_threads > w->n_threads) pool = NULL, n_threads = 1;
    /* a small batch (a decode step at a short position) is one task per block and KV head, its
     * keys not split; those tasks still go over the pool (each on the thread that takes it) */
    int n = plan(w, b, work < SMALL_WORK ? 1 : n_threads);
    attn_job j = {w, b, out};
    smol_pool_run(n > 1 ? pool : NULL, n, attn_pool_task, &j);
    for (int t0 = 0, t1; t0 < n; t0 = t1) {
        for (t1 = t0 + 1; t1 < n && w->tasks[t1].row0 == w->tasks[t0].row0 && w->tasks[t1].kvh == w->tasks[t0].kvh;) t1++;
        if (w->tasks[t0].slot >= 0) merge_parts(w, t0, t1, out);
    }
}
