/* quant_gemm.h: matrix x matrix products of quantized weights with 16 or more activation rows
 * (prompt processing), AVX-512 VNNI. The activations, already converted to the weight type's
 * dot type (quant.h), are packed once per product into groups of 16 rows interleaved 4 bytes
 * at a time (as unsigned x + 128), so one `dpbusd` multiplies 4 elements of one weight row by
 * 16 activations: each weight dword is broadcast and used for 16 activations. Per 32-element
 * block (16 for q6_K) the int32 sums are converted and scaled into f32 sums.
 *
 * Weights stay in place (memory-mapped): q8_0 rows are read as stored; for the other types
 * each thread unpacks 4 rows at a time into signed bytes on its stack (4 * n bytes plus 12
 * bytes per block), reused for all activations. The per-block sums are exact integers, so
 * results equal the single-row kernels' up to float rounding (within 1e-5 * sum |w * x|).
 *
 * Call only when smol_quant_gemm_supported(t, n) and the CPU has AVX-512 F/BW/VL/DQ + VNNI. */
#ifndef SMOL_MODEL_QUANT_GEMM_H
#define SMOL_MODEL_QUANT_GEMM_H
#include <stddef.h>
#include <stdint.h>
#include "model/dtype.h"

#define SMOL_QGEMM_GROUP 16     /* activation rows per packed group */
#define SMOL_QGEMM_MAX_N 16384  /* longest weight row (the per-thread unpacked rows live on the stack) */

/* Elements per scaled unit for weight type t (32, or 16 for q6_K), or 0 if t has no GEMM path. */
static inline int smol_quant_gemm_unit(uint32_t t) {
    switch (t) {
    case SMOL_Q8_0: case SMOL_Q4_0: case SMOL_Q5_0: case SMOL_Q4_K: case SMOL_Q5_K: return 32;
    case SMOL_Q6_K: return 16;
    default: return 0;
    }
}

/* 1 if weights of type t with rows of n elements have a GEMM path (any CPU; the caller checks
 * the CPU). n must be whole blocks of t. */
static inline int smol_quant_gemm_supported(uint32_t t, int64_t n) {
    int64_t blk = (t == SMOL_Q4_K || t == SMOL_Q5_K || t == SMOL_Q6_K) ? 256 : 32;
    return smol_quant_gemm_unit(t) > 0 && n > 0 && n <= SMOL_QGEMM_MAX_N && n % blk == 0;
}

/* Bytes of one packed group of 16 activation rows of n elements for weight type t: per unit,
 * the interleaved bytes, 16 f32 activation scales, and for q4_K/q5_K 16 f32 scaled unit sums. */
static inline size_t smol_quant_gemm_group_bytes(uint32_t t, int64_t n) {
    int unit = smol_quant_gemm_unit(t);
    if (unit == 0 || n <= 0) return 0;
    int has_min = t == SMOL_Q4_K || t == SMOL_Q5_K;
    return (size_t)(n / unit) * ((size_t)unit * SMOL_QGEMM_GROUP + 64 + (has_min ? 64 : 0));
}

/* Packs group g (activation rows 16g .. 16g+15; rows at or past B are padded with zeros) of
 * the B converted rows (row b at byte b * x_row of xq, of type smol_vec_dot_type(t)) into
 * packed + g * smol_quant_gemm_group_bytes(t, n). packed must be 64-byte aligned. */
void smol_quant_gemm_pack(uint32_t t, int64_t n, const void *xq, size_t x_row, int64_t B, int64_t g, void *packed);

/* y[b * y_stride + r] = dot(W row r, activation b) for r in [r0, r1) and b < B, W row r at byte
 * r * w_row of w, from all ceil(B / 16) packed groups. */
void smol_quant_gemm_rows(uint32_t t, int64_t n, const void *w, size_t w_row, int64_t r0, int64_t r1,
                          const void *packed, int64_t B, float *y, int64_t y_stride);

#endif
