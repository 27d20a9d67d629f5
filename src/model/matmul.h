/* matmul.h: y = W x for a quantized weight matrix and a batch of f32 activation rows, the hot
 * loop of the inference engine. Rows of W are split over the threads of a smol_pool; the
 * activations are converted once to the weight type's dot type (quant.h) into a caller-owned
 * scratch buffer, so a call allocates nothing.
 *
 *   size_t need = smol_matmul_scratch_size(t, n, B);      // once, for the largest shapes
 *   void *scratch = aligned_alloc(64, round_up(need, 64));
 *   smol_matmul(pool, W, t, n_rows, n, x, B, y, scratch);   // every step
 *
 * Layouts: W holds n_rows rows of n elements of type t back to back (row r starts at byte
 * r * smol_dtype_row_size(t, n), as GGUF stores a [n, n_rows] tensor); x holds B rows of n
 * floats; y receives B rows of n_rows floats: y[b * n_rows + r] = dot(W row r, x row b).
 * With B > 1 each weight row is reused across the activations while it is in cache. */
#ifndef SMOL_MODEL_MATMUL_H
#define SMOL_MODEL_MATMUL_H
#include <stddef.h>
#include <stdint.h>
#include "base/pool.h"

/* Bytes of scratch smol_matmul needs for B activation rows of n elements against weights of
 * type t (0 when t's dot type is f32 and x is used as is). */
size_t smol_matmul_scratch_size(uint32_t t, int64_t n, int64_t B);

/* y = W x as described above. pool may be NULL (runs on the caller's thread). scratch must
 * hold smol_matmul_scratch_size(t, n, B) bytes, aligned to at least 16. y must not overlap x.
 * Returns SMOL_OK; SMOL_EINVAL if n is 0 or not a whole number of blocks of t (or its dot type)
 * or a size is negative; SMOL_EUNSUPPORTED if t has no dot-product kernel. */
int smol_matmul(smol_pool *pool, const void *W, uint32_t t, int64_t n_rows, int64_t n,
                const float *x, int64_t B, float *y, void *scratch);

/* Several products with the same activations in one pool dispatch (decode: the q, k and v
 * projections of a layer, or gate and up): part p gives y_p = W_p x exactly as smol_matmul(pool,
 * W_p, type_p, n_rows_p, n, x, B, y_p, ...) would, each row through the same kernel. */
#define SMOL_MATMUL_MAX_PARTS 4
typedef struct smol_matmul_part {
    const void *w;       /* n_rows rows of n elements of type, as in smol_matmul */
    uint32_t type;
    int64_t n_rows;
    float *y;            /* [B][n_rows] */
} smol_matmul_part;

/* Called once rows [r0, r1) of every part are done for all B activation rows (aligned mode). */
typedef void (*smol_matmul_rows_fn)(void *ctx, int64_t r0, int64_t r1);

/* Bytes of scratch smol_matmul_multi needs for these parts (at least each part's own size). */
size_t smol_matmul_multi_scratch_size(const smol_matmul_part *parts, int n_parts, int64_t n, int64_t B);

/* Runs the n_parts (1..SMOL_MATMUL_MAX_PARTS) products over x (B rows of n floats). With after
 * != NULL every part must have the same n_rows, and after(after_ctx, r0, r1) runs on the thread
 * that computed rows [r0, r1) of all parts (once with [0, n_rows) when a GEMM path runs the
 * parts one after another, B >= 16). Errors as smol_matmul; SMOL_EINVAL for a bad n_parts or
 * unequal rows in aligned mode. */
int smol_matmul_multi(smol_pool *pool, const smol_matmul_part *parts, int n_parts, int64_t n, const float *x,
                      int64_t B, smol_matmul_rows_fn after, void *after_ctx, void *scratch);

#endif
