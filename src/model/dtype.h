/* dtype.h: tensor element types (GGML's numbering, as GGUF stores them), their block layout,
 * and scalar half-precision conversions. Quantized types store blocks of `block` elements in
 * `size` bytes; a row's length must be a multiple of `block`. */
#ifndef SMOL_MODEL_DTYPE_H
#define SMOL_MODEL_DTYPE_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum smol_dtype {
    SMOL_F32 = 0, SMOL_F16 = 1, SMOL_Q4_0 = 2, SMOL_Q4_1 = 3,
    SMOL_Q5_0 = 6, SMOL_Q5_1 = 7, SMOL_Q8_0 = 8, SMOL_Q8_1 = 9,
    SMOL_Q2_K = 10, SMOL_Q3_K = 11, SMOL_Q4_K = 12, SMOL_Q5_K = 13, SMOL_Q6_K = 14, SMOL_Q8_K = 15,
    SMOL_IQ2_XXS = 16, SMOL_IQ2_XS = 17, SMOL_IQ3_XXS = 18, SMOL_IQ1_S = 19, SMOL_IQ4_NL = 20,
    SMOL_IQ3_S = 21, SMOL_IQ2_S = 22, SMOL_IQ4_XS = 23,
    SMOL_I8 = 24, SMOL_I16 = 25, SMOL_I32 = 26, SMOL_I64 = 27, SMOL_F64 = 28,
    SMOL_IQ1_M = 29, SMOL_BF16 = 30, SMOL_TQ1_0 = 34, SMOL_TQ2_0 = 35,
    SMOL_DTYPE_COUNT = 36
} smol_dtype;

typedef struct smol_dtype_info {
    const char *name;   /* "f32", "q4_K", ... as llama.cpp spells them; NULL for an unused id */
    uint32_t block;     /* elements per block */
    uint32_t size;      /* bytes per block */
} smol_dtype_info;

/* Layout of type t, or NULL if t is not a known type id. */
const smol_dtype_info *smol_dtype_get(uint32_t t);

/* The type named name (case-insensitive: "q8_0", "Q4_K", "f16", "bf16"), or -1. */
int smol_dtype_from_name(const char *name);

/* Bytes taken by n elements of type t, or 0 if n is not a whole number of blocks
 * or t is unknown. Sets *overflow (if not NULL) when the result does not fit in 64 bits. */
uint64_t smol_dtype_nbytes(uint32_t t, uint64_t n, int *overflow);

/* IEEE half <-> float, exact round-to-nearest-even, scalar. */
static inline float smol_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) bits = sign;
        else {  /* subnormal: renormalise */
            exp = 113;
            while (!(mant & 0x400)) { mant <<= 1; exp--; }
            bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000 | (mant << 13);
    else bits = sign | ((exp + 112) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t smol_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {  /* subnormal or zero */
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;  /* may carry into the exponent: correct */
    return (uint16_t)half;
}

/* bfloat16 <-> float; float -> bf16 rounds to nearest even and keeps NaN a NaN. */
static inline float smol_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t smol_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
    return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

#endif
