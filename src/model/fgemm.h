/* fgemm.h: matrix x matrix products of float weights (f32, f16, bf16) with 16 or more f32
 * activation rows (prompt processing), AVX-512. The classic GEMM micro-kernel layout: per
 * task, a panel of 64 weight rows by a chunk of up to 512 elements is converted to f32 and
 * transposed into a per-thread buffer (128 KB on the stack), element k holding the 64 rows
 * side by side; a register tile of 6 activations x 4 zmm (64 weight rows) broadcasts one
 * activation element and multiplies it into 4 vectors of 16 rows, with no horizontal sums.
 * The activations are read in place (no packing); the 64 outputs of an activation are 64
 * consecutive floats of its y row, so each chunk adds into y directly.
 *
 * Weights stay in place (memory-mapped); each chunk is converted once per task and reused for
 * every activation of the task. Every output is one fused multiply-add chain over k = 0..n-1
 * in order, starting from +0, so results do not depend on the tiling or the thread count, and
 * equal the scalar dot product up to float reassociation.
 *
 * Call only when smol_fgemm_supported(t) and smol_cpu_has_avx512() (base/cpu.h). */
#ifndef SMOL_MODEL_FGEMM_H
#define SMOL_MODEL_FGEMM_H
#include <stddef.h>
#include <stdint.h>
#include "model/dtype.h"

#define SMOL_FGEMM_PANEL 64  /* weight rows converted together (the tile's 4 x 16) */
#define SMOL_FGEMM_MIN_B 16  /* activation rows from which the path pays for its conversions */

/* 1 if weights of type t have the float GEMM path (any CPU; the caller checks the CPU). */
static inline int smol_fgemm_supported(uint32_t t) {
    return t == SMOL_F32 || t == SMOL_F16 || t == SMOL_BF16;
}

/* y[b * y_stride + r] = dot(W row r, x row b) for r in [r0, r1) and b in [b0, b1): W row r
 * (n elements of type t) at byte r * w_row of w, x row b (n floats) at x + b * n. Any n >= 1,
 * any ranges; other cells of y are not touched. */
void smol_fgemm_rows(uint32_t t, int64_t n, const void *w, size_t w_row, int64_t r0, int64_t r1,
                     const float *x, int64_t b0, int64_t b1, float *y, int64_t y_stride);

#endif
