/* matmul.c: multi-threaded matrix x vector and matrix x matrix products over the vec_dot
 * kernels of quant.h. Tasks are chunks of weight rows; within a chunk, activations are taken
 * in tiles so each weight row is read from memory once and reused from cache for the tile.
 * Float weights with 4 or more activation rows use the 4x4 register-tile kernels; quantized
 * weights with 16 or more use the packed-activation GEMM of quant_gemm.h where the CPU has it,
 * float weights with 16 or more the panel GEMM of fgemm.h (AVX-512). Several products with the
 * same activations (smol_matmul_multi) share one conversion per dot type and one dispatch. */
#include "model/matmul.h"
#include "model/dtype.h"
#include "model/quant.h"
#include "model/quant_gemm.h"
#include "model/fgemm.h"
#include "base/cpu.h"
#include "smol.h"

#define ACT_TILE 16    /* activation rows per pass over a chunk of weight rows */
#define GEMM_MIN_B 16  /* activation rows from which quantized weights take the packed GEMM */

typedef struct {
    smol_vec_dot_fn dot;
    smol_gemm4_fn gemm4;      /* 4x4 tiles for float weights with B >= 4, or NULL */
    smol_tile_q_fn tile_q;    /* 4-row tiles for quantized weights, or NULL */
    const uint8_t *w;
    size_t w_row, x_row;      /* bytes per weight row and per converted activation row */
    const uint8_t *xq;
    float *y;
    int64_t n_rows, n, B, chunk;
    uint32_t dot_type;
    const float *x;           /* for the conversion tasks */
    uint8_t *scratch;
    uint32_t t;               /* weight type */
    uint8_t *packed;          /* packed activation groups (quant_gemm.h), or NULL */
    int64_t fg_blocks, fg_bsize; /* float GEMM (fgemm.h): activation blocks per panel, rows per block; 0 if unused */
} matmul_job;

static void convert_task(void *ctx, int task, int thread) {
    (void)thread;
    matmul_job *j = ctx;
    smol_quantize_row(j->dot_type, j->x + task * j->n, j->scratch + (size_t)task * j->x_row, j->n);
}

/* Rows [r0, r1) times activations [b0, b1), one dot at a time. */
static void dots(const matmul_job *j, int64_t r0, int64_t r1, int64_t b0, int64_t b1) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = j->w + (size_t)r * j->w_row;
        for (int64_t b = b0; b < b1; b++)
            j->dot(j->n, &j->y[b * j->n_rows + r], wr, j->xq + (size_t)b * j->x_row);
    }
}

/* Rows [r0, r1) times activations [b0, b1) in 4x4 tiles, the edges by single dots. */
static void tiles(const matmul_job *j, int64_t r0, int64_t r1, int64_t b0, int64_t b1) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        int64_t b = b0;
        for (; b + 4 <= b1; b += 4)
            j->gemm4(j->n, j->w + (size_t)r * j->w_row, j->w_row, (const float *)(j->xq + (size_t)b * j->x_row),
                     j->y + b * j->n_rows + r, j->n_rows);
        dots(j, r, r + 4, b, b1);
    }
    dots(j, r, r1, b0, b1);
}

/* Rows [r0, r1) times activations [b0, b1) in tiles of 4 rows by up to 4 activations (quantized
 * weights), the last rows by single dots. */
static void tiles_q(const matmul_job *j, int64_t r0, int64_t r1, int64_t b0, int64_t b1) {
    int64_t r = r0;
    if (b1 - b0 == 1 && r1 - r0 >= 4) {  /* decode: one call for all 4-row tiles, activations prepared once */
        int nr = (int)((r1 - r0) & ~(int64_t)3);
        j->tile_q(j->n, j->w + (size_t)r0 * j->w_row, j->w_row, nr, j->xq + (size_t)b0 * j->x_row, j->x_row, 1,
                  j->y + b0 * j->n_rows + r0, j->n_rows);
        r += nr;
    }
    for (; r + 4 <= r1; r += 4)
        for (int64_t b = b0; b < b1; b += 4)
            j->tile_q(j->n, j->w + (size_t)r * j->w_row, j->w_row, 4, j->xq + (size_t)b * j->x_row, j->x_row,
                      b1 - b < 4 ? (int)(b1 - b) : 4, j->y + b * j->n_rows + r, j->n_rows);
    dots(j, r, r1, b0, b1);
}

static void pack_task(void *ctx, int task, int thread) {
    (void)thread;
    const matmul_job *j = ctx;
    smol_quant_gemm_pack(j->t, j->n, j->xq, j->x_row, j->B, task, j->packed);
}

/* Task = (panel of SMOL_FGEMM_PANEL weight rows, block of activations) of the float GEMM. */
static void fgemm_task(void *ctx, int task, int thread) {
    (void)thread;
    const matmul_job *j = ctx;
    int64_t r0 = task / j->fg_blocks * SMOL_FGEMM_PANEL, b0 = task % j->fg_blocks * j->fg_bsize;
    int64_t r1 = r0 + SMOL_FGEMM_PANEL < j->n_rows ? r0 + SMOL_FGEMM_PANEL : j->n_rows;
    int64_t b1 = b0 + j->fg_bsize < j->B ? b0 + j->fg_bsize : j->B;
    smol_fgemm_rows(j->t, j->n, j->w, j->w_row, r0, r1, j->x, b0, b1, j->y, j->n_rows);
}

/* Runs the float GEMM: panels of rows, split further into blocks of activations when there are
 * too few panels to keep every thread busy (each block converts its panels again). */
static void run_fgemm(smol_pool *pool, matmul_job *j) {
    int64_t panels = (j->n_rows + SMOL_FGEMM_PANEL - 1) / SMOL_FGEMM_PANEL;
    int64_t want = 8 * (int64_t)smol_pool_size(pool), blocks = (want + panels - 1) / panels;
    int64_t max_blocks = j->B / 48 > 1 ? j->B / 48 : 1;  /* blocks of at least 48 activations */
    if (blocks > max_blocks) blocks = max_blocks;
    j->fg_bsize = (j->B + blocks - 1) / blocks;
    j->fg_blocks = (j->B + j->fg_bsize - 1) / j->fg_bsize;
    smol_pool_run(pool, (int)(panels * j->fg_blocks), fgemm_task, j);
}

/* Rows [r0, r1) of j's product for every activation row. */
static void rows_range(const matmul_job *j, int64_t r0, int64_t r1) {
    if (j->packed) {
        smol_quant_gemm_rows(j->t, j->n, j->w, j->w_row, r0, r1, j->packed, j->B, j->y, j->n_rows);
        return;
    }
    for (int64_t b0 = 0; b0 < j->B; b0 += ACT_TILE) {
        int64_t b1 = b0 + ACT_TILE < j->B ? b0 + ACT_TILE : j->B;
        if (j->tile_q) tiles_q(j, r0, r1, b0, b1);
        else if (j->gemm4 && b1 - b0 >= 4) tiles(j, r0, r1, b0, b1);
        else dots(j, r0, r1, b0, b1);
    }
}

/* One dispatch over the rows of several products with the same activations. Task t is chunk
 * t - first[p] of part p; in aligned mode (after != NULL) task t is rows [t * chunk, ...) of
 * every part, followed by after(after_ctx, r0, r1). */
typedef struct {
    const matmul_job *jobs;
    int n_parts;
    int64_t chunk;
    int first[SMOL_MATMUL_MAX_PARTS + 1];
    smol_matmul_rows_fn after;
    void *after_ctx;
} multi_job;

static void multi_task(void *ctx, int task, int thread) {
    (void)thread;
    const multi_job *m = ctx;
    if (m->after) {
        int64_t r0 = task * m->chunk, r1 = r0 + m->chunk < m->jobs[0].n_rows ? r0 + m->chunk : m->jobs[0].n_rows;
        for (int p = 0; p < m->n_parts; p++) rows_range(&m->jobs[p], r0, r1);
        m->after(m->after_ctx, r0, r1);
        return;
    }
    int p = 0;
    while (task >= m->first[p + 1]) p++;
    const matmul_job *j = &m->jobs[p];
    int64_t r0 = (task - m->first[p]) * m->chunk, r1 = r0 + m->chunk < j->n_rows ? r0 + m->chunk : j->n_rows;
    rows_range(j, r0, r1);
}

/* Splits the rows of the prepared (converted) jobs into chunks and runs them in one dispatch:
 * enough chunks per thread for the dynamic scheduling to even out, each a few rows, and whole
 * 4-row tiles, so every row goes through the same kernel as in a product of its own. */
static void run_rows(smol_pool *pool, const matmul_job *jobs, int n_parts, smol_matmul_rows_fn after, void *after_ctx) {
    int64_t total = 0;
    for (int p = 0; p < n_parts; p++) total += jobs[p].n_rows;
    int64_t chunk = total / ((int64_t)smol_pool_size(pool) * 8);
    if (after) chunk /= n_parts;  /* a task covers the chunk in every part */
    if (chunk < 4) chunk = 4;
    if (chunk > 256) chunk = 256;
    chunk &= ~(int64_t)3;
    multi_job m = {.jobs = jobs, .n_parts = n_parts, .chunk = chunk, .after = after, .after_ctx = after_ctx};
    for (int p = 0; p < n_parts; p++) {
        int64_t rows = after ? (p ? 0 : jobs[0].n_rows) : jobs[p].n_rows;
        m.first[p + 1] = m.first[p] + (int)((rows + chunk - 1) / chunk);
    }
    smol_pool_run(pool, m.first[n_parts], multi_task, &m);
}

/* 1 if a product of B activation rows goes through the packed GEMM (quant_gemm.h). */
static int use_gemm(uint32_t t, int64_t n, int64_t B) {
    if (B < GEMM_MIN_B || !smol_quant_gemm_supported(t, n)) return 0;
    return smol_cpu_has_avx512() && smol_cpu_get()->avx512vnni;
}

/* 1 if a product of B activation rows with float weights goes through fgemm.h. */
static int use_fgemm(uint32_t t, int64_t B) {
    return B >= SMOL_FGEMM_MIN_B && smol_fgemm_supported(t) && smol_cpu_has_avx512();
}

/* Bytes of the converted rows, rounded up to 64 so the packed groups that follow are aligned. */
static size_t converted_size(uint32_t dt, int64_t n, int64_t B) {
    return ((size_t)smol_dtype_row_size(dt, (uint64_t)n) * (size_t)B + 63) & ~(size_t)63;
}

size_t smol_matmul_scratch_size(uint32_t t, int64_t n, int64_t B) {
    uint32_t dt = smol_vec_dot_type(t);
    if (dt == SMOL_F32 || n < 0 || B < 0) return 0;
    if (B >= GEMM_MIN_B && smol_quant_gemm_supported(t, n)) {  /* whatever the CPU: sizes stay portable */
        size_t groups = (size_t)(B + SMOL_QGEMM_GROUP - 1) / SMOL_QGEMM_GROUP;
        return converted_size(dt, n, B) + groups * smol_quant_gemm_group_bytes(t, n) + 64;
    }
    return (size_t)smol_dtype_row_size(dt, (uint64_t)n) * (size_t)B;
}

/* The first part before p whose activations convert to the same dot type, or p. */
static int same_dot_type(const smol_matmul_part *parts, int p) {
    int q = 0;
    while (smol_vec_dot_type(parts[q].type) != smol_vec_dot_type(parts[p].type)) q++;
    return q;
}

size_t smol_matmul_multi_scratch_size(const smol_matmul_part *parts, int n_parts, int64_t n, int64_t B) {
    size_t one = 0, all = 0;  /* the largest product on its own; every dot type converted at once */
    for (int p = 0; p < n_parts; p++) {
        size_t s = smol_matmul_scratch_size(parts[p].type, n, B);
        if (s > one) one = s;
        uint32_t dt = smol_vec_dot_type(parts[p].type);
        if (dt != SMOL_F32 && n >= 0 && B >= 0 && same_dot_type(parts, p) == p) all += converted_size(dt, n, B);
    }
    return one > all ? one : all;
}

/* Fills j for product part with activations x (B rows of n); SMOL_EUNSUPPORTED or SMOL_EINVAL
 * as smol_matmul documents. Nothing is converted yet. */
static int prepare(matmul_job *j, const smol_matmul_part *part, int64_t n, const float *x, int64_t B) {
    if (part->n_rows < 0 || n < 0 || B < 0 || part->n_rows > INT32_MAX || B > INT32_MAX) return SMOL_EINVAL;
    smol_vec_dot_fn dot = smol_get_vec_dot(part->type);
    if (!dot) return SMOL_EUNSUPPORTED;
    *j = (matmul_job){.dot = dot, .w = part->w, .y = part->y, .n_rows = part->n_rows, .n = n, .B = B, .x = x,
                      .dot_type = smol_vec_dot_type(part->type), .t = part->type};
    j->w_row = (size_t)smol_dtype_row_size(j->t, (uint64_t)n);
    j->x_row = (size_t)smol_dtype_row_size(j->dot_type, (uint64_t)n);
    if (j->w_row == 0 || j->x_row == 0) return SMOL_EINVAL;  /* n == 0 or not whole blocks */
    if (j->dot_type == SMOL_F32) {
        j->xq = (const uint8_t *)x;
        j->gemm4 = B >= 4 ? smol_get_gemm4(j->t) : NULL;
    }
    else j->tile_q = smol_get_tile_q(j->t);
    return SMOL_OK;
}

/* Converts the activations of j into scratch (B > 1: over the pool). */
static void convert(smol_pool *pool, matmul_job *j, uint8_t *scratch) {
    j->scratch = scratch;
    smol_pool_run(j->B > 1 ? pool : NULL, (int)j->B, convert_task, j);
    j->xq = scratch;
}

/* A product of its own, with the packed or float GEMM where they apply. */
static void run_one(smol_pool *pool, matmul_job *j, uint8_t *scratch) {
    if (j->dot_type == SMOL_F32 && use_fgemm(j->t, j->B)) {
        run_fgemm(pool, j);
        return;
    }
    if (j->dot_type != SMOL_F32) {
        convert(pool, j, scratch);
        if (use_gemm(j->t, j->n, j->B)) {
            uintptr_t p = (uintptr_t)scratch + converted_size(j->dot_type, j->n, j->B);
            j->packed = (uint8_t *)((p + 63) & ~(uintptr_t)63);
            smol_pool_run(pool, (int)((j->B + SMOL_QGEMM_GROUP - 1) / SMOL_QGEMM_GROUP), pack_task, j);
        }
    }
    run_rows(pool, j, 1, NULL, NULL);
}

int smol_matmul_multi(smol_pool *pool, const smol_matmul_part *parts, int n_parts, int64_t n, const float *x,
                      int64_t B, smol_matmul_rows_fn after, void *after_ctx, void *scratch) {
    if (n_parts < 1 || n_parts > SMOL_MATMUL_MAX_PARTS) return SMOL_EINVAL;
    matmul_job jobs[SMOL_MATMUL_MAX_PARTS];
    int wide = 0;  /* a part takes a GEMM path: the products then run one after another */
    for (int p = 0; p < n_parts; p++) {
        int rc = prepare(&jobs[p], &parts[p], n, x, B);
        if (rc) return rc;
        if (after && parts[p].n_rows != parts[0].n_rows) return SMOL_EINVAL;
        wide |= jobs[p].dot_type == SMOL_F32 ? use_fgemm(jobs[p].t, B) : use_gemm(jobs[p].t, n, B);
    }
    if (B == 0 || (after && parts[0].n_rows == 0)) return SMOL_OK;
    if (wide || n_parts == 1) {
        for (int p = 0; p < n_parts; p++)
            if (jobs[p].n_rows) run_one(pool, &jobs[p], scratch);
        if (after) after(after_ctx, 0, parts[0].n_rows);
        return SMOL_OK;
    }
    size_t at = 0;
    for (int p = 0; p < n_parts; p++) {
        if (jobs[p].dot_type == SMOL_F32) continue;
        int q = same_dot_type(parts, p);
        if (q < p) {
            jobs[p].xq = jobs[q].xq;
            continue;
        }
        convert(pool, &jobs[p], (uint8_t *)scratch + at);
        at += converted_size(jobs[p].dot_type, n, B);
    }
    run_rows(pool, jobs, n_parts, after, after_ctx);
    return SMOL_OK;
}

int smol_matmul(smol_pool *pool, const void *W, uint32_t t, int64_t n_rows, int64_t n,
                const float *x, int64_t B, float *y, void *scratch) {
    smol_matmul_part part = {W, t, n_rows, y};
    return smol_matmul_multi(pool, &part, 1, n, x, B, NULL, NULL, scratch);
}
