/* quant_internal.h: the block structs of every quantized type (GGML's layouts, byte for byte)
 * and the per-SIMD-level kernel tables shared by quant.c and its AVX2 / AVX-512 twins.
 * Only the quant*.c files and tests include this header. */
#ifndef SMOL_MODEL_QUANT_INTERNAL_H
#define SMOL_MODEL_QUANT_INTERNAL_H
#include <stdint.h>
#include <string.h>
#include "model/dtype.h"
#include "model/quant.h"

#define QK 32     /* elements per block of the 32-block types */
#define QK_K 256  /* elements per super-block of the K-quants */

/* x = d * (q - 8), q in 0..15; element j in the low nibble of qs[j], j+16 in its high nibble. */
typedef struct { uint16_t d; uint8_t qs[QK / 2]; } block_q4_0;
/* x = d * q + m, q in 0..15, nibbles as q4_0. */
typedef struct { uint16_t d, m; uint8_t qs[QK / 2]; } block_q4_1;
/* x = d * (q - 16), q = nibble | bit j of qh << 4 (qh is a little-endian 32-bit mask). */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[QK / 2]; } block_q5_0;
/* x = d * q + m, q 5-bit as q5_0. */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK / 2]; } block_q5_1;
/* x = d * q, q signed bytes. */
typedef struct { uint16_t d; int8_t qs[QK]; } block_q8_0;
/* q8_0 plus s = d * sum(qs). */
typedef struct { uint16_t d, s; int8_t qs[QK]; } block_q8_1;

/* 16 sub-blocks of 16: x = d * (scales[i] & 15) * q - dmin * (scales[i] >> 4), q 2-bit. */
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; } block_q2_K;
/* 16 sub-blocks of 16: x = d * (s - 32) * (q - (hmask bit ? 0 : 4)), 6-bit scales s in 12 bytes. */
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; } block_q3_K;
/* 8 sub-blocks of 32: x = d * sc * q - dmin * m, 6-bit sc/m packed in 12 bytes, q 4-bit. */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[QK_K / 2]; } block_q4_K;
/* as q4_K with a fifth bit per element in qh. */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
/* 16 sub-blocks of 16: x = d * scales[i] * (q - 32), q 6-bit (4 low bits in ql, 2 high in qh). */
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; } block_q6_K;
/* Activations for the K-quants: x = d * q, with the sums of each 16 quants. */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18 && sizeof(block_q4_1) == 20, "q4 layout");
_Static_assert(sizeof(block_q5_0) == 22 && sizeof(block_q5_1) == 24, "q5 layout");
_Static_assert(sizeof(block_q8_0) == 34 && sizeof(block_q8_1) == 36, "q8 layout");
_Static_assert(sizeof(block_q2_K) == 84 && sizeof(block_q3_K) == 110, "q2_K/q3_K layout");
_Static_assert(sizeof(block_q4_K) == 144 && sizeof(block_q5_K) == 176, "q4_K/q5_K layout");
_Static_assert(sizeof(block_q6_K) == 210 && sizeof(block_q8_K) == 292, "q6_K/q8_K layout");

/* The 6-bit scale and min of sub-block j (0..7) of a q4_K / q5_K super-block. */
static inline void smol_k4_scale_min(int j, const uint8_t *s, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4));
        *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* All 8 scales and mins of a q4_K / q5_K super-block at once (same values as
 * smol_k4_scale_min), with 32-bit word operations (little-endian hosts: the SIMD files). */
static inline void smol_k4_scales_mins(const uint8_t *s, uint8_t sc[8], uint8_t m[8]) {
    uint32_t u0, u1, u2, lo, hi;
    memcpy(&u0, s, 4);
    memcpy(&u1, s + 4, 4);
    memcpy(&u2, s + 8, 4);
    lo = u0 & 0x3f3f3f3fu;
    hi = (u2 & 0x0f0f0f0fu) | ((u0 >> 6) & 0x03030303u) << 4;
    memcpy(sc, &lo, 4);
    memcpy(sc + 4, &hi, 4);
    lo = u1 & 0x3f3f3f3fu;
    hi = ((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 6) & 0x03030303u) << 4;
    memcpy(m, &lo, 4);
    memcpy(m + 4, &hi, 4);
}

/* Row converter from f32 (n a multiple of the block). */
typedef void (*smol_quantize_fn)(const float *src, void *dst, int64_t n);

/* The kernels of one SIMD level; NULL entries fall back to nothing (no kernel at that level). */
typedef struct smol_quant_kernels {
    smol_vec_dot_fn vec_dot[SMOL_DTYPE_COUNT];
    smol_quantize_fn quantize_q8_0, quantize_q8_K;
    smol_gemm4_fn gemm4[SMOL_DTYPE_COUNT];  /* float weight types only */
    smol_tile_q_fn tile_q[SMOL_DTYPE_COUNT]; /* quantized types with a tile kernel */
    smol_axpy_fn axpy[SMOL_DTYPE_COUNT];     /* f32 and f16 only */
    smol_rows_dot_fn rows_dot[SMOL_DTYPE_COUNT];    /* f32 and f16 only */
    smol_rows_axpy_fn rows_axpy[SMOL_DTYPE_COUNT];  /* f32 and f16 only */
} smol_quant_kernels;

/* The kernel tables (constant): scalar in quant.c, the others in quant_avx2.c / quant_avx512.c.
 * Entries of the SIMD tables may be used only if smol_cpu_has_avx2() / smol_cpu_has_avx512(). */
extern const smol_quant_kernels smol_quant_scalar, smol_quant_avx2, smol_quant_avx512;

/* Scalar reference activation quantizers (also used by SIMD files for tails). */
void smol_quantize_q8_0_ref(const float *src, void *dst, int64_t n);
void smol_quantize_q8_K_ref(const float *src, void *dst, int64_t n);

#endif
