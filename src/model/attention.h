/* attention.h: causal grouped-query attention of a batch of query rows over per-sequence KV
 * caches (kvcache.h), flash-attention style. The query heads that share a KV head are handled
 * together; keys are visited in tiles of SMOL_KV_TILE positions with an online softmax (running
 * maximum and sum), tiles past a row's position are skipped, f16 tiles are converted to f32 in
 * blocks; the work is split over the thread pool by (KV head, block of query rows) and, when
 * that gives too few parts (decoding), by ranges of keys whose partial results are merged.
 * The inner kernels (scores, exp, softmax, value sums) have scalar, AVX2 and AVX-512 versions
 * chosen at run time (base/cpu.h, SMOL_CPU caps the level). smol_attention_head is the plain
 * scalar reference the tests compare them with. */
#ifndef SMOL_MODEL_ATTENTION_H
#define SMOL_MODEL_ATTENTION_H
#include "base/pool.h"
#include "model/kvcache.h"

/* One batch of query rows: row i attends to positions [0, pos[i]] of cache kv[seq[i]] (which
 * must already hold them) with q [n][n_head][head_dim]. Rows of one sequence with consecutive
 * positions are processed as blocks. */
typedef struct smol_attn_batch {
    int n;                    /* rows */
    const smol_kvcache *kv;   /* the caches, indexed by seq */
    const int *seq, *pos;     /* [n] */
    int layer;
    int n_head;               /* query heads; a multiple of kv->n_head_kv */
    const float *q;           /* [n][n_head][head_dim] */
} smol_attn_batch;

/* The inner kernels of one SIMD level. p/s rows are SMOL_KV_TILE floats apart. */
typedef struct smol_attn_kernels {
    /* y[i] = exp(x[i]) for i < n (0 below about -104, +inf above about 88.7; NaN: 0 or +inf). */
    void (*exp)(int n, const float *x, float *y);
    /* dst[i] = the f16 src[i] as float, for i < n. */
    void (*f16_to_f32)(size_t n, const uint16_t *src, float *dst);
    /* dst[i] = src[i] rounded to f16 (nearest even, as smol_f32_to_f16), for i < n. */
    void (*f32_to_f16)(size_t n, const float *src, uint16_t *dst);
    /* s[r][j] = q[r] . kt[.][j] for r < m, j < SMOL_KV_TILE; q [m][d], kt [d][SMOL_KV_TILE]. */
    void (*scores)(int m, int d, const float *q, const float *kt, float *s);
    /* One online-softmax step of a score row s [SMOL_KV_TILE] of which the first n count:
     * returns mx = max(m_old, s[0..n)), sets s[j] = exp(s[j] - mx) for j < n and 0 after, and
     * *sum = the sum of the s[j]. n = 0 returns m_old with s zeroed. */
    float (*softmax)(int n, float *s, float m_old, float *sum);
    /* acc[r] = alpha[r] * acc[r] + sum over j < n of p[r][j] * v[j] for r < m; acc, v rows of d. */
    void (*pv)(int m, int d, int n, const float *p, const float *v, const float *alpha, float *acc);
} smol_attn_kernels;

extern const smol_attn_kernels smol_attn_scalar, smol_attn_avx2, smol_attn_avx512;

/* The kernels of one level (quant.h's SMOL_SIMD_*), or NULL if the CPU (capped by SMOL_CPU)
 * lacks it. smol_attn_kernels_best: the highest level allowed. */
const smol_attn_kernels *smol_attn_kernels_level(int level);
const smol_attn_kernels *smol_attn_kernels_best(void);

/* Scratch for attention over batches of up to max_rows rows, on pools of up to n_threads. */
typedef struct smol_attn_work smol_attn_work;

/* A work area for heads of head_dim, n_head query heads over n_head_kv KV heads, using the
 * best kernels; SMOL_EINVAL for bad shapes, SMOL_ENOMEM. */
int smol_attn_work_new(int n_threads, int max_rows, int n_head, int n_head_kv, int head_dim, smol_attn_work **out,
                       smol_error *err);

/* Frees w; NULL is a no-op. */
void smol_attn_work_free(smol_attn_work *w);

/* Uses the kernels of level (for tests); returns 0, or -1 (nothing changed) if unavailable. */
int smol_attn_work_set_level(smol_attn_work *w, int level);

/* out [n][n_head][head_dim] = softmax(q . K / sqrt(head_dim)) V for every row and head of b
 * (causal). pool may be NULL; a small batch is split by block of rows and KV head only (no key
 * ranges), a larger one by key ranges too when threads would idle. The batch must fit the
 * shapes w was made for (n <= max_rows). */
void smol_attention(smol_attn_work *w, smol_pool *pool, const smol_attn_batch *b, float *out);

/* The plain reference: query head q [head_dim] against positions [0, n_pos) of KV head kvh
 * in layer, one key at a time with expf and double sums; out [head_dim]; scores [n_pos]. */
void smol_attention_head(const smol_kvcache *kv, int layer, int kvh, const float *q, int n_pos, float *scores,
                         float *out);

#endif
