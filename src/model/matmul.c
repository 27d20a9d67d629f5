/* matmul.c: multi-threaded matrix x vector and matrix x matrix products over the vec_dot
 * kernels of quant.h. Tasks are chunks of weight rows; within a chunk, activations are taken
 * in tiles so each weight row is read from memory once and reused from cache for the tile.
 * Float weights with 4 or more activation rows use the 4x4 register-tile kernels; quantized
 * weights with 16 or more use the packed-activation GEMM of quant_gemm.h where the CPU has it,
 * float weights with 16 or more the panel GEMM of fgemm.h (AVX-512). */
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

static void rows_task(void *ctx, int task, int thread) {
    (void)thread;
    const matmul_job *j = ctx;
    int64_t r0 = task * j->chunk, r1 = r0 + j->chunk < j->n_rows ? r0 + j->chunk : j->n_rows;
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

int smol_matmul(smol_pool *pool, const void *W, uint32_t t, int64_t n_rows, int64_t n,
                const float *x, int64_t B, float *y, void *scratch) {
    if (n_rows < 0 || n < 0 || B < 0 || n_rows > INT32_MAX || B > INT32_MAX) return SMOL_EINVAL;
    smol_vec_dot_fn dot = smol_get_vec_dot(t);
    if (!dot) return SMOL_EUNSUPPORTED;
    matmul_job j = {.dot = dot, .w = W, .y = y, .n_rows = n_rows, .n = n, .B = B, .x = x,
                    .dot_type = smol_vec_dot_type(t), .scratch = scratch, .t = t};
    j.w_row = (size_t)smol_dtype_row_size(t, (uint64_t)n);
    j.x_row = (size_t)smol_dtype_row_size(j.dot_type, (uint64_t)n);
    if (j.w_row == 0 || j.x_row == 0) return SMOL_EINVAL;  /* n == 0 or not whole blocks */
    if (n_rows == 0 || B == 0) return SMOL_OK;
    if (j.dot_type == SMOL_F32 && use_fgemm(t, B)) {
        run_fgemm(pool, &j);
        return SMOL_OK;
    }
    if (j.dot_type == SMOL_F32) {
        j.xq = (const uint8_t *)x;
        j.gemm4 = B >= 4 ? smol_get_gemm4(t) : NULL;
    }
    else {
        smol_pool_run(B > 1 ? pool : NULL, (int)B, convert_task, &j);
        j.xq = scratch;
        j.tile_q = smol_get_tile_q(t);
        if (use_gemm(t, n, B)) {
            uintptr_t p = (uintptr_t)scratch + converted_size(j.dot_type, n, B);
            j.packed = (uint8_t *)((p + 63) & ~(uintptr_t)63);
            smol_pool_run(pool, (int)((B + SMOL_QGEMM_GROUP - 1) / SMOL_QGEMM_GROUP), pack_task, &j);
        }
    }
    /* enough chunks per thread for the dynamic scheduling to even out, each a few rows */
    int threads = smol_pool_size(pool);
    int64_t chunk = n_rows / ((int64_t)threads * 8);
    if (chunk < 4) chunk = 4;
    if (chunk > 256) chunk = 256;
    chunk &= ~(int64_t)3;  /* whole 4-row tiles */
    j.chunk = chunk;
    smol_pool_run(pool, (int)((n_rows + chunk - 1) / chunk), rows_task, &j);
    return SMOL_OK;
}
