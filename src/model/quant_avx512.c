/* quant_avx512.c: AVX-512 (F, BW, VL, DQ + VNNI) twins of the dot-product kernels and the
 * activation quantizers in quant.c. Integer sums are exactly the scalar ones (VNNI dpbusd for
 * the 32-element blocks, maddubs + dpwssd with the sub-block scales for the K-quants); the
 * K-quant single-row dots combine them with the scalar float expression, the multi-row tiles
 * (decode and prompt) accumulate in float lanes. Used only after
 * smol_cpu_has_avx512() and the avx512vnni flag are checked (quant.c). */
#include "model/quant_internal.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define H2F(h) _cvtsh_ss(h)  /* F16C: exact, as smol_f16_to_f32 */
#define PF_BYTES 4096      /* how far ahead of their reads the decode kernels prefetch weights */

/* Prefetches the cache lines of [p + PF_BYTES, p + PF_BYTES + bytes) (a weight block ahead). */
static inline void prefetch_ahead(const void *p, int bytes) {
    for (int o = 0; o < bytes; o += 64) _mm_prefetch((const char *)p + PF_BYTES + o, _MM_HINT_T0);
}

/* K-quant blocks are combined with the scalar float expression; no fused multiply-adds there. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* ------------------------------------------------------------------ float weights */

static __m512 load_bf16x16(const uint16_t *p) {
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

static __m512 load_f16x16(const uint16_t *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }

static void dot_f32(int64_t n, float *out, const void *w, const void *x) {
    const float *a = w, *b = x;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    *out = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static void dot_f16(int64_t n, float *out, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm_prefetch((const char *)(a + i) + PF_BYTES, _MM_HINT_T0);
        s0 = _mm512_fmadd_ps(load_f16x16(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(load_f16x16(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {  /* the tail in lanes too: short rows (attention heads) sum as a tree */
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a + i)), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    *out = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static void dot_bf16(int64_t n, float *out, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(load_bf16x16(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(load_bf16x16(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; i++) s += smol_bf16_to_f32(a[i]) * b[i];
    *out = s;
}

/* ------------------------------------------------------------------ 32-element blocks */

/* Signed x signed bytes, sums of 4 in 8 int32 lanes (y never holds -128). */
static __m256i dot_ss8(__m256i x, __m256i y) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
}

static __m256i dot_us8(__m256i u, __m256i y) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, y); }

static __m256i unpack_nibbles16(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    __m128i m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/* The 32 bits of a q5 block's qh as bytes 0 or 16. */
static __m256i expand_bits16(const uint8_t *qh4) {
    uint32_t qh;
    memcpy(&qh, qh4, 4);
    return _mm256_maskz_mov_epi8((__mmask32)qh, _mm256_set1_epi8(16));
}

/* Two q8_0 blocks per 512-bit step. */
static void dot_q8_0(int64_t n, float *out, const void *w, const void *x) {
    const block_q8_0 *a = w, *b = x;
    __m512 acc = _mm512_setzero_ps();
    int64_t nb = n / QK, i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m512i qa = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a[i].qs)),
                                        _mm256_loadu_si256((const __m256i *)a[i + 1].qs), 1);
        __m512i qb = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b[i].qs)),
                                        _mm256_loadu_si256((const __m256i *)b[i + 1].qs), 1);
        __mmask64 neg = _mm512_movepi8_mask(qa);
        __m512i sb = _mm512_mask_sub_epi8(qb, neg, _mm512_setzero_si512(), qb);
        __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(qa), sb);
        __m512 d = _mm512_insertf32x8(_mm512_set1_ps(H2F(a[i].d) * H2F(b[i].d)),
                                      _mm256_set1_ps(H2F(a[i + 1].d) * H2F(b[i + 1].d)), 1);
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);
    }
    __m256 tail = _mm256_setzero_ps();
    for (; i < nb; i++) {
        __m256i p = dot_ss8(_mm256_loadu_si256((const __m256i *)a[i].qs), _mm256_loadu_si256((const __m256i *)b[i].qs));
        tail = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a[i].d) * H2F(b[i].d)), _mm256_cvtepi32_ps(p), tail);
    }
    acc = _mm512_add_ps(acc, _mm512_zextps256_ps512(tail));
    *out = _mm512_reduce_add_ps(acc);
}

static float hsum256_ps(__m256 v) {
    return _mm512_reduce_add_ps(_mm512_zextps256_ps512(v));
}

static inline __m256 step_q4_0(const block_q4_0 *a, const block_q8_0 *b, __m256 acc) {
    __m256i q = _mm256_sub_epi8(unpack_nibbles16(a->qs), _mm256_set1_epi8(8));
    __m256i p = dot_ss8(q, _mm256_loadu_si256((const __m256i *)b->qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a->d) * H2F(b->d)), _mm256_cvtepi32_ps(p), acc);
    return acc;
}

static void dot_q4_0(int64_t n, float *out, const void *w, const void *x) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  /* two chains hide the FMA latency */
    int64_t nb = n / QK, i = 0;
    for (; i + 1 < nb; i += 2) {
        acc0 = step_q4_0(&a[i], &b[i], acc0);
        acc1 = step_q4_0(&a[i + 1], &b[i + 1], acc1);
    }
    if (i < nb) acc0 = step_q4_0(&a[i], &b[i], acc0);
    *out = hsum256_ps(_mm256_add_ps(acc0, acc1));
}

static inline __m256 step_q4_1(const block_q4_1 *a, const block_q8_0 *b, __m256 acc) {
    __m256i y = _mm256_loadu_si256((const __m256i *)b->qs);
    __m256i p = dot_us8(unpack_nibbles16(a->qs), y), ys = dot_us8(_mm256_set1_epi8(1), y);
    float dy = H2F(b->d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a->d) * dy), _mm256_cvtepi32_ps(p), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a->m) * dy), _mm256_cvtepi32_ps(ys), acc);
    return acc;
}

static void dot_q4_1(int64_t n, float *out, const void *w, const void *x) {
    const block_q4_1 *a = w;
    const block_q8_0 *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  /* two chains hide the FMA latency */
    int64_t nb = n / QK, i = 0;
    for (; i + 1 < nb; i += 2) {
        acc0 = step_q4_1(&a[i], &b[i], acc0);
        acc1 = step_q4_1(&a[i + 1], &b[i + 1], acc1);
    }
    if (i < nb) acc0 = step_q4_1(&a[i], &b[i], acc0);
    *out = hsum256_ps(_mm256_add_ps(acc0, acc1));
}

static inline __m256 step_q5_0(const block_q5_0 *a, const block_q8_0 *b, __m256 acc) {
    __m256i q = _mm256_or_si256(unpack_nibbles16(a->qs), expand_bits16(a->qh));
    q = _mm256_sub_epi8(q, _mm256_set1_epi8(16));
    __m256i p = dot_ss8(q, _mm256_loadu_si256((const __m256i *)b->qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a->d) * H2F(b->d)), _mm256_cvtepi32_ps(p), acc);
    return acc;
}

static void dot_q5_0(int64_t n, float *out, const void *w, const void *x) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  /* two chains hide the FMA latency */
    int64_t nb = n / QK, i = 0;
    for (; i + 1 < nb; i += 2) {
        acc0 = step_q5_0(&a[i], &b[i], acc0);
        acc1 = step_q5_0(&a[i + 1], &b[i + 1], acc1);
    }
    if (i < nb) acc0 = step_q5_0(&a[i], &b[i], acc0);
    *out = hsum256_ps(_mm256_add_ps(acc0, acc1));
}

static inline __m256 step_q5_1(const block_q5_1 *a, const block_q8_0 *b, __m256 acc) {
    __m256i q = _mm256_or_si256(unpack_nibbles16(a->qs), expand_bits16(a->qh));
    __m256i y = _mm256_loadu_si256((const __m256i *)b->qs);
    __m256i p = dot_us8(q, y), ys = dot_us8(_mm256_set1_epi8(1), y);
    float dy = H2F(b->d);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a->d) * dy), _mm256_cvtepi32_ps(p), acc);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a->m) * dy), _mm256_cvtepi32_ps(ys), acc);
    return acc;
}

static void dot_q5_1(int64_t n, float *out, const void *w, const void *x) {
    const block_q5_1 *a = w;
    const block_q8_0 *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  /* two chains hide the FMA latency */
    int64_t nb = n / QK, i = 0;
    for (; i + 1 < nb; i += 2) {
        acc0 = step_q5_1(&a[i], &b[i], acc0);
        acc1 = step_q5_1(&a[i + 1], &b[i + 1], acc1);
    }
    if (i < nb) acc0 = step_q5_1(&a[i], &b[i], acc0);
    *out = hsum256_ps(_mm256_add_ps(acc0, acc1));
}

/* ------------------------------------------------------------------ K-quants */

/* 32 bytes broadcast to both 256-bit halves, the low half shifted right by s0 bits, the high
 * half by s1 (16-bit lanes), masked with m. */
static __m512i split_shift(__m256i v, int s0, int s1, __m512i m) {
    __m512i sh = _mm512_inserti64x4(_mm512_set1_epi16((short)s0), _mm256_set1_epi16((short)s1), 1);
    return _mm512_and_si512(_mm512_srlv_epi16(_mm512_broadcast_i64x4(v), sh), m);
}

/* The 16 sub-block scales of a K-quant super-block as int16 lanes 0..15. */
static __m512i scales16(const int16_t *sc) { return _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)sc)); }

/* acc += sum over each 128-bit lane k of scale[sb + k] * (u * y pair sums): the four
 * sub-blocks of 16 of a 64-element slice starting at sub-block sb. */
static __m512i acc_scaled16(__m512i acc, __m512i u, __m512i y, __m512i sc16, int sb) {
    const __m512i lane_of = _mm512_set_epi64(0x0003000300030003, 0x0003000300030003, 0x0002000200020002,
                                             0x0002000200020002, 0x0001000100010001, 0x0001000100010001, 0, 0);
    __m512i sc = _mm512_permutexvar_epi16(_mm512_add_epi16(lane_of, _mm512_set1_epi16((short)sb)), sc16);
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(u, y), sc);
}

/* sum_k sc[k] * bsums[k] over the 16 sub-blocks, in 8 int32 lanes. */
static __m256i scaled_bsums(const int16_t *sc, const int16_t *bsums) {
    return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)sc), _mm256_loadu_si256((const __m256i *)bsums));
}

static void dot_q2_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    const __m512i m3 = _mm512_set1_epi8(3);
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int16_t sc[16], mn[16];
        for (int k = 0; k < 16; k++) {
            sc[k] = a[i].scales[k] & 15;
            mn[k] = a[i].scales[k] >> 4;
        }
        int summs = _mm512_reduce_add_epi32(_mm512_zextsi256_si512(scaled_bsums(mn, b[i].bsums)));
        __m512i acc = _mm512_setzero_si512(), sc16 = scales16(sc);
        for (int h = 0; h < 2; h++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));
            for (int pp = 0; pp < 2; pp++) {  /* 2-bit planes 2pp and 2pp+1: 64 elements */
                __m512i u = split_shift(q, 4 * pp, 4 * pp + 2, m3);
                __m512i y = _mm512_loadu_si512(b[i].qs + 128 * h + 64 * pp);
                acc = acc_scaled16(acc, u, y, sc16, 8 * h + 4 * pp);
            }
        }
        int isum = _mm512_reduce_add_epi32(acc);
        s += b[i].d * H2F(a[i].d) * (float)isum - b[i].d * H2F(a[i].dmin) * (float)summs;
    }
    *out = s;
}

static void dot_q3_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    const __m512i m3 = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1);
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int16_t sc[16];
        const uint8_t *sp = a[i].scales;
        for (int k = 0; k < 16; k++) {
            int lo = k < 8 ? sp[k] & 15 : sp[k - 8] >> 4;
            sc[k] = (int16_t)((lo | ((sp[8 + k % 4] >> (2 * (k / 4))) & 3) << 4) - 32);
        }
        /* q = u - 4: start from -4 * sum(sc * bsum) */
        __m512i acc = _mm512_zextsi256_si512(_mm256_slli_epi32(scaled_bsums(sc, b[i].bsums), 2));
        acc = _mm512_sub_epi32(_mm512_setzero_si512(), acc);
        __m512i sc16 = scales16(sc);
        __m256i hm = _mm256_loadu_si256((const __m256i *)a[i].hmask);
        for (int h = 0; h < 2; h++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));
            for (int pp = 0; pp < 2; pp++) {
                int p = 2 * pp;
                __m512i hi = split_shift(hm, 4 * h + p, 4 * h + p + 1, one);
                __m512i u = _mm512_or_si512(split_shift(q, 2 * p, 2 * p + 2, m3), _mm512_slli_epi16(hi, 2));
                __m512i y = _mm512_loadu_si512(b[i].qs + 128 * h + 64 * pp);
                acc = acc_scaled16(acc, u, y, sc16, 8 * h + 2 * p);
            }
        }
        s += b[i].d * H2F(a[i].d) * (float)_mm512_reduce_add_epi32(acc);
    }
    *out = s;
}

/* One q4_K / q5_K super-block with q8_K; qh is NULL for q4_K. Each 64-element slice j holds
 * sub-block 2j (low nibbles) in the low half and 2j+1 (high nibbles) in the high half. */
static float dot_k4_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, float d,
                          float dmin, const block_q8_K *b) {
    uint8_t sc[8], m[8];
    smol_k4_scales_mins(scales, sc, m);
    __m128i m8 = _mm_loadl_epi64((const __m128i *)m);
    __m256i mdup = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));  /* m0 m0 m1 m1 ... */
    __m256i mins = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)b->bsums), mdup);
    int summs = _mm512_reduce_add_epi32(_mm512_zextsi256_si512(mins));
    const __m512i m15 = _mm512_set1_epi8(15), one = _mm512_set1_epi8(1);
    __m256i hb = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    __m512i acc = _mm512_setzero_si512();
    for (int j = 0; j < 4; j++) {
        __m512i u = split_shift(_mm256_loadu_si256((const __m256i *)(qs + 32 * j)), 0, 4, m15);
        if (qh) u = _mm512_or_si512(u, _mm512_slli_epi16(split_shift(hb, 2 * j, 2 * j + 1, one), 4));
        __m512i y = _mm512_loadu_si512(b->qs + 64 * j);
        __m512i scv = _mm512_inserti64x4(_mm512_set1_epi16(sc[2 * j]), _mm256_set1_epi16(sc[2 * j + 1]), 1);
        acc = _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(u, y), scv);
    }
    int isum = _mm512_reduce_add_epi32(acc);
    return b->d * d * (float)isum - b->d * dmin * (float)summs;
}

static void dot_q4_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        prefetch_ahead(&a[i], sizeof a[i]);
        s += dot_k4_block(a[i].scales, a[i].qs, NULL, H2F(a[i].d), H2F(a[i].dmin), &b[i]);
    }
    *out = s;
}

static void dot_q5_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        prefetch_ahead(&a[i], sizeof a[i]);
        s += dot_k4_block(a[i].scales, a[i].qs, a[i].qh, H2F(a[i].d), H2F(a[i].dmin), &b[i]);
    }
    *out = s;
}

static void dot_q6_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    const __m512i m15 = _mm512_set1_epi8(15), m3 = _mm512_set1_epi8(3);
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        prefetch_ahead(&a[i], sizeof a[i]);
        int16_t sc[16];
        _mm256_storeu_si256((__m256i *)sc, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[i].scales)));
        /* q = u - 32: start from -32 * sum(sc * bsum) */
        __m512i acc = _mm512_zextsi256_si512(_mm256_slli_epi32(scaled_bsums(sc, b[i].bsums), 5));
        acc = _mm512_sub_epi32(_mm512_setzero_si512(), acc);
        __m512i sc16 = scales16(sc);
        for (int h = 0; h < 2; h++) {
            /* quarters 0,1 take the low nibbles of ql[64h .. 64h+63], quarters 2,3 the high */
            __m512i l = _mm512_loadu_si512(a[i].ql + 64 * h);
            __m256i qh = _mm256_loadu_si256((const __m256i *)(a[i].qh + 32 * h));
            for (int pp = 0; pp < 2; pp++) {
                __m512i lo = _mm512_and_si512(pp ? _mm512_srli_epi16(l, 4) : l, m15);
                __m512i hi = split_shift(qh, 4 * pp, 4 * pp + 2, m3);
                __m512i u = _mm512_or_si512(lo, _mm512_slli_epi16(hi, 4));
                __m512i y = _mm512_loadu_si512(b[i].qs + 128 * h + 64 * pp);
                acc = acc_scaled16(acc, u, y, sc16, 8 * h + 4 * pp);
            }
        }
        s += b[i].d * H2F(a[i].d) * (float)_mm512_reduce_add_epi32(acc);
    }
    *out = s;
}

/* ------------------------------------------------------------------ activation quantizers */

/* roundf() of 16 floats (half-way cases away from zero) as int32. */
static __m512i round_away_epi32(__m512 v) {
    __m512 a = _mm512_abs_ps(v);
    __m512 t = _mm512_roundscale_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask16 up = _mm512_cmp_ps_mask(_mm512_sub_ps(a, t), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    t = _mm512_mask_add_ps(t, up, t, _mm512_set1_ps(1.0f));
    __m512 signed_t = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t),
        _mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u))));
    return _mm512_cvtps_epi32(signed_t);
}

static void quantize_q8_0(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127, id = d ? 1.0f / d : 0;
        y[i].d = smol_f32_to_f16(d);
        __m512 vid = _mm512_set1_ps(id);
        _mm_storeu_si128((__m128i *)y[i].qs, _mm512_cvtsepi32_epi8(round_away_epi32(_mm512_mul_ps(v0, vid))));
        _mm_storeu_si128((__m128i *)(y[i].qs + 16), _mm512_cvtsepi32_epi8(round_away_epi32(_mm512_mul_ps(v1, vid))));
    }
}

static void quantize_q8_K(const float *x, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        __m512 vmax = _mm512_loadu_ps(x), vmin = vmax;
        for (int k = 16; k < QK_K; k += 16) {
            __m512 v = _mm512_loadu_ps(x + k);
            vmax = _mm512_max_ps(vmax, v);
            vmin = _mm512_min_ps(vmin, v);
        }
        float hi = _mm512_reduce_max_ps(vmax), lo = _mm512_reduce_min_ps(vmin), max;
        if (hi > -lo) max = hi;
        else if (-lo > hi) max = lo;
        else {  /* +a and -a both present: the first one in the block decides, as in scalar */
            int j = 0;
            while (j < QK_K && fabsf(x[j]) != hi) j++;
            max = j < QK_K ? x[j] : hi;  /* not found only for NaN input */
        }
        if (!max) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float iscale = -127.0f / max;
        __m512 vs = _mm512_set1_ps(iscale);
        const __m512i cap = _mm512_set1_epi32(127);
        for (int k = 0; k < QK_K; k += 16) {
            __m512 v = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x + k), vs),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512i q = _mm512_min_epi32(_mm512_cvtps_epi32(v), cap);
            _mm_storeu_si128((__m128i *)(y[i].qs + k), _mm512_cvtsepi32_epi8(q));
            y[i].bsums[k / 16] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        y[i].d = 1 / iscale;
    }
}


/* ------------------------------------------------------------------ 4x4 float tiles */

/* 16 weights of each float type as f32; the _tail forms read only the first `m` lanes. */
static __m512 w16_f32(const void *p) { return _mm512_loadu_ps(p); }
static __m512 w16_f16(const void *p) { return load_f16x16(p); }
static __m512 w16_bf16(const void *p) { return load_bf16x16(p); }
static __m512 w16_f32_tail(const void *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
static __m512 w16_f16_tail(const void *p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
static __m512 w16_bf16_tail(const void *p, __mmask16 m) {
    __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* One k-step of the tile: weight vector W of row R times the 4 activation vectors. */
#define ROW_FMA(R, W) do { __m512 w_ = (W); \
    c##R##0 = _mm512_fmadd_ps(w_, v0, c##R##0); c##R##1 = _mm512_fmadd_ps(w_, v1, c##R##1); \
    c##R##2 = _mm512_fmadd_ps(w_, v2, c##R##2); c##R##3 = _mm512_fmadd_ps(w_, v3, c##R##3); } while (0)

#define ROW_STORE(R) do { y[R] = _mm512_reduce_add_ps(c##R##0); y[ys + R] = _mm512_reduce_add_ps(c##R##1); \
    y[2 * ys + R] = _mm512_reduce_add_ps(c##R##2); y[3 * ys + R] = _mm512_reduce_add_ps(c##R##3); } while (0)

/* The tile kernel of a float weight type of ES bytes per element: 16 sums in registers. */
#define DEFINE_GEMM4(NAME, LOAD, LOAD_TAIL, ES) \
static void NAME(int64_t n, const void *w, size_t wrb, const float *x, float *y, int64_t ys) { \
    const uint8_t *w0 = w, *w1 = w0 + wrb, *w2 = w1 + wrb, *w3 = w2 + wrb; \
    const float *x0 = x, *x1 = x + n, *x2 = x1 + n, *x3 = x2 + n; \
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, \
           c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00; \
    int64_t k = 0; \
    for (; k + 16 <= n; k += 16) { \
        __m512 v0 = _mm512_loadu_ps(x0 + k), v1 = _mm512_loadu_ps(x1 + k); \
        __m512 v2 = _mm512_loadu_ps(x2 + k), v3 = _mm512_loadu_ps(x3 + k); \
        ROW_FMA(0, LOAD(w0 + k * ES)); ROW_FMA(1, LOAD(w1 + k * ES)); \
        ROW_FMA(2, LOAD(w2 + k * ES)); ROW_FMA(3, LOAD(w3 + k * ES)); \
    } \
    if (k < n) { \
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1); \
        __m512 v0 = _mm512_maskz_loadu_ps(m, x0 + k), v1 = _mm512_maskz_loadu_ps(m, x1 + k); \
        __m512 v2 = _mm512_maskz_loadu_ps(m, x2 + k), v3 = _mm512_maskz_loadu_ps(m, x3 + k); \
        ROW_FMA(0, LOAD_TAIL(w0 + k * ES, m)); ROW_FMA(1, LOAD_TAIL(w1 + k * ES, m)); \
        ROW_FMA(2, LOAD_TAIL(w2 + k * ES, m)); ROW_FMA(3, LOAD_TAIL(w3 + k * ES, m)); \
    } \
    ROW_STORE(0); ROW_STORE(1); ROW_STORE(2); ROW_STORE(3); \
}

DEFINE_GEMM4(gemm4_f32, w16_f32, w16_f32_tail, 4)
DEFINE_GEMM4(gemm4_f16, w16_f16, w16_f16_tail, 2)
DEFINE_GEMM4(gemm4_bf16, w16_bf16, w16_bf16_tail, 2)

/* ------------------------------------------------------------------ 4-row tiles, q8_0 activations */

/* The tiles take S blocks per step: S = 4 for q4_0 and q5_0, one block per 128-bit lane, the
 * quants of elements 0..15 (low nibbles) in one register and of 16..31 in another, against
 * activation registers arranged the same way; S = 2 for q8_0, a block filling two lanes.
 * Weights enter dpbusd as unsigned bytes u with value u - OFF (q8_0: w ^ 0x80, OFF 128; q4_0:
 * the nibble, OFF 8; q5_0: the 5-bit quant, OFF 16), so no sign trick is needed; the
 * accumulator starts at -OFF * (sums of each lane's activations), computed once per step for
 * all rows, which makes each int32 lane an exact integer sum of products (u - OFF) * x.
 * Block scales come from one 64-byte load of the step's blocks and a word permute that puts
 * each block's f16 scale on all of its lanes (gathers are slow on current microcode). */

enum { TQ8_0, TQ4_0, TQ5_0 };  /* the weight types of the tiles */
#define TQ_STEP(TY) ((TY) == TQ8_0 ? 2 : 4)
#define TQ_SIZE(TY) ((TY) == TQ8_0 ? 34 : (TY) == TQ4_0 ? 18 : 22)
#define TQ_SHIFT(TY) ((TY) == TQ8_0 ? 7 : (TY) == TQ4_0 ? 3 : 4)  /* OFF = 1 << shift */

/* One step's activations: bytes as the weights are laid out, -OFF * lane sums, scales per lane. */
typedef struct { __m512i lo, hi, nc; __m512 d; } tq_act;

/* 32 bytes at p, or zeros when !ok (a block past the end: not read). */
static inline __m256i ld32(const void *p, int ok) { return _mm256_maskz_loadu_epi8(ok ? 0xffffffffu : 0, p); }

/* The 16-byte runs at p + j * stride (j < 4) as the four 128-bit lanes, lanes j >= nb zero.
 * 128-bit loads and lane inserts: faster here than masked 512-bit loads (2.8 -> 2.0 ns per q5_0
 * block and row in a hot-cache decode loop), and no byte outside the runs is read. */
static inline __attribute__((always_inline)) __m512i lanes_at(const uint8_t *p, int stride, int nb) {
    __m512i v = _mm512_zextsi128_si512(_mm_loadu_si128((const __m128i *)p));
    if (nb > 1) v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + stride)), 1);
    if (nb > 2) v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 2 * stride)), 2);
    if (nb > 3) v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 3 * stride)), 3);
    return v;
}

/* The f16 scales (first field) of blocks 0 .. nb-1 (nb <= 4) at stride SZ bytes from p, each on
 * 16 / S lanes as floats (S = 4: lanes 4j..4j+3, S = 2: lanes 8j..8j+7), lanes of missing blocks
 * zero. Reads only the blocks' bytes: a whole step of 64 bytes or more by one plain load (masked
 * loads cost more), a partial step only its scale words. */
static inline __attribute__((always_inline)) __m512 scales_at(const uint8_t *p, const int SZ, const int S, int nb) {
    const int w = SZ / 2;  /* words per block */
    uint64_t want = 0;     /* word positions of the scales in the 128 bytes from p */
    for (int j = 0; j < S; j++)
        if (j < nb) want |= 1ull << (w * j);
    __m512i idx = S == 4 ? _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3 * w, 3 * w, 3 * w, 3 * w,
                                            2 * w, 2 * w, 2 * w, 2 * w, w, w, w, w, 0, 0, 0, 0)
                         : _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, w, w, w, w, w, w, w, w,
                                            0, 0, 0, 0, 0, 0, 0, 0);
    __m512i v;
    if ((S - 1) * w < 32 && nb == S && S * SZ >= 64)  /* a whole step: its first 64 bytes, no mask */
        v = _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(p));
    else if ((S - 1) * w < 32) v = _mm512_permutexvar_epi16(idx, _mm512_maskz_loadu_epi16((__mmask32)want, p));
    else v = _mm512_permutex2var_epi16(_mm512_maskz_loadu_epi16((__mmask32)want, p), idx,
                                       _mm512_maskz_loadu_epi16((__mmask32)(want >> 32), p + 64));
    return _mm512_cvtph_ps(_mm512_castsi512_si256(v));
}

/* Adds 16 to the bytes of lo / hi whose fifth bit is set in the low / high 64 bits of h. The
 * masks go through memory: a 128-bit store forwards to two kmovq loads, fewer vector uops than
 * vmovq + vpextrq + two kmovq from general registers (1.80 -> 1.72 ns per q5_0 block and row). */
static inline __attribute__((always_inline)) void add_fifth_bits(__m512i *lo, __m512i *hi, __m128i h) {
    __mmask64 m[2];
    _mm_storeu_si128((__m128i *)m, h);
    __asm__("" : "+m"(m));  /* keeps the compiler from turning the round trip back into vmovq / vpextrq */
    const __m512i sixteen = _mm512_set1_epi8(16);
    *lo = _mm512_mask_add_epi8(*lo, _load_mask64(&m[0]), *lo, sixteen);
    *hi = _mm512_mask_add_epi8(*hi, _load_mask64(&m[1]), *hi, sixteen);
}

/* The activations of blocks b[0 .. nb) (nb = S in whole steps; the rest zero). */
static inline __attribute__((always_inline)) tq_act tq_load_act(const block_q8_0 *b, int nb, const int TY) {
    tq_act a;
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i s;
    if (TY == TQ8_0) {
        a.lo = _mm512_inserti64x4(_mm512_castsi256_si512(ld32(b[0].qs, 1)), ld32(b[1].qs, nb > 1), 1);
        a.hi = a.lo;
        s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, a.lo);
        a.d = scales_at((const uint8_t *)b, sizeof *b, 2, nb);
    } else {
        __m512i p = _mm512_inserti64x4(_mm512_castsi256_si512(ld32(b[0].qs, 1)), ld32(b[1].qs, nb > 1), 1);
        __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(ld32(b[2].qs, nb > 2)), ld32(b[3].qs, nb > 3), 1);
        a.lo = _mm512_shuffle_i64x2(p, q, _MM_SHUFFLE(2, 0, 2, 0));  /* elements 0..15 of each block */
        a.hi = _mm512_shuffle_i64x2(p, q, _MM_SHUFFLE(3, 1, 3, 1));  /* elements 16..31 */
        s = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, a.lo), ones, a.hi);
        a.d = scales_at((const uint8_t *)b, sizeof *b, 4, nb);
    }
    a.nc = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, TQ_SHIFT(TY)));
    return a;
}

/* A step's weight quants as unsigned bytes (lo, and hi for the nibble types) and its block
 * scales spread over their lanes, from the blocks at p (nb of them; missing ones are zero).
 * Reads only those blocks' bytes. */
static inline __attribute__((always_inline)) __m512 tq_load_w(const uint8_t *p, int nb, __m512i *lo, __m512i *hi,
                                                                const int TY) {
    const int SZ = TQ_SIZE(TY), S = TQ_STEP(TY);
    if (TY == TQ8_0) {
        __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(ld32(p + 2, 1)), ld32(p + 36, nb > 1), 1);
        *lo = _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
    } else {
        __m512i q = lanes_at(p + (TY == TQ4_0 ? 2 : 6), SZ, nb);
        const __m512i m15 = _mm512_set1_epi8(15);
        *lo = _mm512_and_si512(q, m15);
        *hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m15);
        if (TY == TQ5_0) {
            /* one permute of the step's scale and qh words: words 0..15 the scales spread as
             * scales_at does, 16..19 the low halves of the four qh (fifth bits of elements
             * 0..15), 20..23 the high halves (elements 16..31) */
            uint64_t want = 0;
            for (int j = 0; j < 4; j++)
                if (j < nb) want |= 7ull << (11 * j);
            const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 35, 24, 13, 2, 34, 23, 12, 1,
                                                 33, 33, 33, 33, 22, 22, 22, 22, 11, 11, 11, 11, 0, 0, 0, 0);
            __m512i v;
            if (nb == 4) {  /* a whole step: its bytes 0..63 and 24..87, no masks */
                const __m512i idx4 = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 55, 24, 13, 2, 54, 23, 12, 1,
                                                      53, 53, 53, 53, 22, 22, 22, 22, 11, 11, 11, 11, 0, 0, 0, 0);
                v = _mm512_permutex2var_epi16(_mm512_loadu_si512(p), idx4, _mm512_loadu_si512(p + 24));
            } else
                v = _mm512_permutex2var_epi16(_mm512_maskz_loadu_epi16((__mmask32)want, p), idx,
                                              _mm512_maskz_loadu_epi16((__mmask32)(want >> 32), p + 64));
            add_fifth_bits(lo, hi, _mm512_extracti32x4_epi32(v, 2));
            return _mm512_cvtph_ps(_mm512_castsi512_si256(v));
        }
    }
    return scales_at(p, SZ, S, nb);
}

/* One step of nb (S in whole steps) blocks for NR rows (blocks at wp[r]) against the NX prepared
 * activations a[b]. */
static inline __attribute__((always_inline)) void tq_rows(const uint8_t *const *wp, const tq_act *a, int nb,
                                                          __m512 acc[4][4], size_t pf, const int NR, const int NX,
                                                          const int TY) {
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++) {
        _mm_prefetch((const char *)wp[r] + pf, _MM_HINT_T0);
        _mm_prefetch((const char *)wp[r] + pf + TQ_STEP(TY) * TQ_SIZE(TY) - 1, _MM_HINT_T0);
        __m512i lo, hi = _mm512_setzero_si512();
        __m512 dw = tq_load_w(wp[r], nb, &lo, &hi, TY);
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++) {
            __m512i p = _mm512_dpbusd_epi32(a[b].nc, lo, a[b].lo);
            if (TY != TQ8_0) p = _mm512_dpbusd_epi32(p, hi, a[b].hi);
            acc[r][b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw, a[b].d), acc[r][b]);
        }
    }
}

/* One step of nb (S in whole steps) blocks for NR rows (blocks at wp[r]) and NX activations. */
static inline __attribute__((always_inline)) void tq_step(const uint8_t *const *wp, const block_q8_0 *const *xp,
                                                          int nb, __m512 acc[4][4], size_t pf, const int NR,
                                                          const int NX, const int TY) {
    tq_act a[4];
#pragma GCC unroll 4
    for (int b = 0; b < NX; b++) a[b] = tq_load_act(xp[b], nb, TY);
    tq_rows(wp, a, nb, acc, pf, NR, NX, TY);
}

/* The sums of the lanes of a0..a3 as the four floats of the result. */
static inline __m128 hsum4_ps(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));  /* a0 a1 a0 a1 per lane */
    __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    __m512 s = _mm512_add_ps(_mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_ps(s01, s23, _MM_SHUFFLE(3, 2, 3, 2)));  /* a0 a1 a2 a3 per lane */
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* One tile: NR (1..4) weight rows, NX (1..4) activation rows; y[b * ys + r] = dot(row r, act b). */
static inline __attribute__((always_inline)) void tile_q(int64_t n, const uint8_t *w, size_t wrb, const uint8_t *x,
        size_t xrb, float *y, int64_t ys, const int NR, const int NX, const int TY) {
    const int S = TQ_STEP(TY), SZ = TQ_SIZE(TY);
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int b = 0; b < 4; b++) acc[r][b] = _mm512_setzero_ps();
    int64_t nb = n / QK;
    size_t pf = 8 * wrb > PF_BYTES ? 8 * wrb : PF_BYTES;  /* prefetch distance: two 4-row tiles or more ahead */
    const uint8_t *wp[4];
    const block_q8_0 *xp[4];
    for (int64_t k = 0; k < nb; k += S) {
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++) wp[r] = w + r * wrb + (size_t)k * SZ;
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++) xp[b] = (const block_q8_0 *)(x + b * xrb) + k;
        if (k + S <= nb) tq_step(wp, xp, S, acc, pf, NR, NX, TY);
        else tq_step(wp, xp, (int)(nb - k), acc, pf, NR, NX, TY);  /* the last 1..S-1 blocks */
    }
    if (NR == 4) {
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++) _mm_storeu_ps(y + b * ys, hsum4_ps(acc[0][b], acc[1][b], acc[2][b], acc[3][b]));
        return;
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++) y[b * ys + r] = _mm512_reduce_add_ps(acc[r][b]);
}

#define TQ_HOIST_STEPS 32  /* decode: steps whose activations are prepared once per call (n <= 4096, q8_0 2048) */

/* The last t (1 or 2) blocks of rows a and b of a q4_0 / q5_0 matrix in one step: row a's blocks
 * in lanes 0..t-1, row b's in lanes 2..t+1, against ap (the last step's activations repeated in
 * lanes 2, 3); row a's products go to acc_a, row b's to acc_b. Reads only those blocks. */
static inline __attribute__((always_inline)) void tq_pair_tail(const uint8_t *a, const uint8_t *b, int t,
                                                               const tq_act *ap, __m512 *acc_a, __m512 *acc_b,
                                                               const int TY) {
    const int SZ = TQ_SIZE(TY), off = TY == TQ4_0 ? 2 : 6;
    __m512i q = _mm512_zextsi128_si512(_mm_loadu_si128((const __m128i *)(a + off)));
    q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(b + off)), 2);
    if (t > 1) {
        q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(a + SZ + off)), 1);
        q = _mm512_inserti32x4(q, _mm_loadu_si128((const __m128i *)(b + SZ + off)), 3);
    }
    const __m512i m15 = _mm512_set1_epi8(15);
    __m512i lo = _mm512_and_si512(q, m15), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m15);
    const int w = SZ / 2;  /* words per block */
    __mmask32 want = (__mmask32)((1u << (w * t)) - 1);
    __m512i va = _mm512_maskz_loadu_epi16(want, a), vb = _mm512_maskz_loadu_epi16(want, b);
    /* words 0..15: the scales of a0, a1, b0, b1 on four lanes each; q5_0: 16..19 the low halves
     * of the qh of a0 a1 b0 b1, 20..23 the high halves (words of block 1 past t read as zero) */
    const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 45, 34, 13, 2, 44, 33, 12, 1,
                                         32 + w, 32 + w, 32 + w, 32 + w, 32, 32, 32, 32, w, w, w, w, 0, 0, 0, 0);
    __m512i v = _mm512_permutex2var_epi16(va, idx, vb);
    if (TY == TQ5_0) add_fifth_bits(&lo, &hi, _mm512_extracti32x4_epi32(v, 2));
    __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(v));
    __m512i p = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(ap->nc, lo, ap->lo), hi, ap->hi);
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw, ap->d));
    *acc_a = _mm512_mask_add_ps(*acc_a, 0x00ff, *acc_a, f);
    *acc_b = _mm512_mask_add_ps(*acc_b, 0xff00, *acc_b, f);
}

/* Decode, one activation row: y[r] = dot(row r, x) for the rows r < nr4 (a multiple of 4) four
 * at a time, with the activations of all steps prepared once for every row (n / QK at most
 * TQ_HOIST_STEPS * S blocks). The integer block sums are tile_q's; a last step of 1 or 2 blocks
 * (q4_0 / q5_0) takes two rows per step. */
static inline __attribute__((always_inline)) void tile_q_rows(int64_t n, const uint8_t *w, size_t wrb, int64_t nr4,
                                                              const uint8_t *x, float *y, const int TY) {
    const int S = TQ_STEP(TY), SZ = TQ_SIZE(TY);
    const int nb = (int)(n / QK), full = nb / S, tail = nb % S;
    const int paired = TY != TQ8_0 && (tail == 1 || tail == 2);
    const block_q8_0 *xb = (const block_q8_0 *)x;
    tq_act act[TQ_HOIST_STEPS];
    for (int k = 0; k < full; k++) act[k] = tq_load_act(xb + k * S, S, TY);
    if (tail) act[full] = tq_load_act(xb + full * S, tail, TY);
    tq_act ap = act[0];  /* paired: the last step's lanes 0, 1 repeated in 2, 3 */
    if (paired) {
        ap.lo = _mm512_shuffle_i64x2(act[full].lo, act[full].lo, _MM_SHUFFLE(1, 0, 1, 0));
        ap.hi = _mm512_shuffle_i64x2(act[full].hi, act[full].hi, _MM_SHUFFLE(1, 0, 1, 0));
        ap.nc = _mm512_shuffle_i64x2(act[full].nc, act[full].nc, _MM_SHUFFLE(1, 0, 1, 0));
        ap.d = _mm512_shuffle_f32x4(act[full].d, act[full].d, _MM_SHUFFLE(1, 0, 1, 0));
    }
    size_t pf = 8 * wrb > PF_BYTES ? 8 * wrb : PF_BYTES;  /* as tile_q */
    for (int64_t r = 0; r < nr4; r += 4) {
        __m512 acc[4][4];
        for (int i = 0; i < 4; i++) acc[i][0] = _mm512_setzero_ps();
        const uint8_t *wp[4];
        for (int i = 0; i < 4; i++) wp[i] = w + (size_t)(r + i) * wrb;
        for (int k = 0; k < full; k++) {
            tq_rows(wp, &act[k], S, acc, pf, 4, 1, TY);
            for (int i = 0; i < 4; i++) wp[i] += S * SZ;
        }
        if (paired) {
            tq_pair_tail(wp[0], wp[1], tail, &ap, &acc[0][0], &acc[1][0], TY);
            tq_pair_tail(wp[2], wp[3], tail, &ap, &acc[2][0], &acc[3][0], TY);
        }
        else if (tail) tq_rows(wp, &act[full], tail, acc, pf, 4, 1, TY);
        _mm_storeu_ps(y + r, hsum4_ps(acc[0][0], acc[1][0], acc[2][0], acc[3][0]));
    }
}

/* Rows r..nr of a tile call (the variables of DEFINE_TILE_Q / DEFINE_TILE_K) through KERNEL's
 * fixed shapes: 4 x 4 tiles, 4 x 1 tiles for 1 to 3 activations, then 1 x 1 for the last rows. */
#define TILE_SHAPES(KERNEL, TY) \
    for (; r + 4 <= nr; r += 4) { \
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * wrb; \
        if (nx == 4) KERNEL(n, wr, wrb, x, xrb, y + r, ys, 4, 4, TY); \
        else  /* 1 to 3 activations: one 4 x 1 tile each */ \
            for (int b = 0; b < nx; b++) \
                KERNEL(n, wr, wrb, (const uint8_t *)x + b * xrb, xrb, y + b * ys + r, ys, 4, 1, TY); \
    } \
    for (; r < nr; r++) \
        for (int b = 0; b < nx; b++) \
            KERNEL(n, (const uint8_t *)w + (size_t)r * wrb, wrb, (const uint8_t *)x + b * xrb, xrb, \
                   y + b * ys + r, ys, 1, 1, TY);

/* The tile kernel of one type: 4 x 4 and 4 x 1 shapes fixed at compile time (fewer shapes keep the
 * sanitizer build's compile time down), other shapes from those and 1 x 1. A single activation
 * row with 4 or more weight rows (decode) prepares the activations once for all rows. */
#define DEFINE_TILE_Q(NAME, TY) \
static void NAME(int64_t n, const void *w, size_t wrb, int nr, const void *x, size_t xrb, int nx, float *y, \
                 int64_t ys) { \
    int r = 0; \
    if (nx == 1 && nr >= 4 && n / QK <= TQ_HOIST_STEPS * TQ_STEP(TY)) { \
        r = nr & ~3; \
        tile_q_rows(n, w, wrb, r, x, y, TY); \
    } \
    TILE_SHAPES(tile_q, TY); \
}

DEFINE_TILE_Q(tile_q8_0, TQ8_0)
DEFINE_TILE_Q(tile_q4_0, TQ4_0)
DEFINE_TILE_Q(tile_q5_0, TQ5_0)

/* ------------------------------------------------------------------ K-quant tiles, q8_K activations */

/* One super-block per step. q4_K / q5_K: each 64-element slice j puts sub-block 2j (low
 * nibbles) in the low 256 bits and 2j+1 (high nibbles) in the high 256 bits; maddubs with the
 * activations and dpwssd with the sub-block scales (spread over the halves by one in-lane byte
 * shuffle of the 8 scales) sum into int32 lanes, which are scaled by d * d_x in float per
 * super-block; the mins term m_j * (bsum 2j + bsum 2j+1) goes to a second float accumulator
 * scaled by dmin * d_x. q6_K: slice s holds sub-blocks 4s..4s+3, one per 128-bit lane, the two
 * high bits placed by a per-half dword rotate of the qh bytes; the -32 offset is folded in as
 * -32 * sum(scale * bsum) at the start of each super-block. The unpacked weights and spread
 * scales of a row serve all the tile's activations. Integer sums equal the scalar kernel's; the
 * float accumulation runs in lanes (a different order). */

enum { TK4, TK5, TK6 };  /* the weight types of the K tiles */

/* The 8 scales and the 8 mins of a q4_K / q5_K super-block as bytes sc0..sc7, m0..m7. */
static inline __m128i k4_scales_mins128(const uint8_t *s) {
    uint32_t u0, u1, u2;
    memcpy(&u0, s, 4);
    memcpy(&u1, s + 4, 4);
    memcpy(&u2, s + 8, 4);
    uint64_t sc = (uint64_t)(u0 & 0x3f3f3f3fu) | (uint64_t)((u2 & 0x0f0f0f0fu) | ((u0 >> 6) & 0x03030303u) << 4) << 32;
    uint64_t m = (uint64_t)(u1 & 0x3f3f3f3fu) | (uint64_t)(((u2 >> 4) & 0x0f0f0f0fu) | ((u1 >> 6) & 0x03030303u) << 4) << 32;
    return _mm_set_epi64x((long long)m, (long long)sc);
}

/* In-lane byte shuffle selecting 16-bit word a in 128-bit lanes 0 and 1 and word b in lanes 2 and 3. */
static inline __m512i word_pick(int a, int b) {
    __m512i lo = _mm512_set1_epi16((short)(2 * a | (2 * a + 1) << 8));
    __m512i hi = _mm512_set1_epi16((short)(2 * b | (2 * b + 1) << 8));
    return _mm512_mask_blend_epi64(0xf0, lo, hi);
}

/* One row's q4_K / q5_K super-block against the NX activation blocks xb[b]: adds the scaled
 * sums to acc[b] and the scaled mins to accm[b]. */
static inline __attribute__((always_inline)) void k4_row(const uint8_t *p, const block_q8_K *const *xb,
                                                         __m512 *acc, __m256 *accm, const int NX, const int TY) {
    const __m512i m15 = _mm512_set1_epi8(15);
    __m128i scm = k4_scales_mins128(p + 4);
    __m512i scb = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(scm));  /* sc0..sc7 as words, every lane */
    __m256i mdup = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(scm, scm));  /* m0 m0 m1 m1 ... */
    uint16_t dh, mh;
    memcpy(&dh, p, 2);
    memcpy(&mh, p + 2, 2);
    float d = H2F(dh), dmin = H2F(mh);
    const uint8_t *qs = p + (TY == TK5 ? 48 : 16);
    __m512i qhb = TY == TK5 ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(p + 16))) : m15;
    __m512i ia[4];
#pragma GCC unroll 4
    for (int b = 0; b < NX; b++) ia[b] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * j)));
        __m512i u = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xffff0000u, v, 4), m15);
        if (TY == TK5) {
            __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j))),
                                             _mm256_set1_epi8((char)(1 << (2 * j + 1))), 1);
            u = _mm512_mask_add_epi8(u, _mm512_test_epi8_mask(qhb, bit), u, _mm512_set1_epi8(16));
        }
        __m512i sc = _mm512_shuffle_epi8(scb, word_pick(2 * j, 2 * j + 1));
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++)
            ia[b] = _mm512_dpwssd_epi32(ia[b], _mm512_maddubs_epi16(u, _mm512_loadu_si512(xb[b]->qs + 64 * j)), sc);
    }
#pragma GCC unroll 4
    for (int b = 0; b < NX; b++) {
        acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[b]), _mm512_set1_ps(xb[b]->d * d), acc[b]);
        __m256i mins = _mm256_madd_epi16(mdup, _mm256_loadu_si256((const __m256i *)xb[b]->bsums));
        accm[b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(xb[b]->d * dmin), accm[b]);
    }
}

/* In-lane byte shuffle selecting 16-bit word 4 * half + L in 128-bit lane L. */
static inline __m512i k6_pick(int half) {
    const __m512i lane = _mm512_set_epi64(0x0606060606060606, 0x0606060606060606, 0x0404040404040404,
                                          0x0404040404040404, 0x0202020202020202, 0x0202020202020202, 0, 0);
    return _mm512_add_epi8(_mm512_set1_epi16((short)(0x0100 + 0x0808 * half)), lane);
}

/* One row's q6_K super-block against the NX activation blocks xb[b], added to acc[b]. */
static inline __attribute__((always_inline)) void k6_row(const uint8_t *p, const block_q8_K *const *xb,
                                                         __m512 *acc, const int NX) {
    const block_q6_K *a = (const block_q6_K *)p;
    const __m512i m15 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales));
    __m512i sA = _mm512_broadcast_i32x4(_mm256_castsi256_si128(sc16));      /* scales 0..7 in every lane */
    __m512i sB = _mm512_broadcast_i32x4(_mm256_extracti128_si256(sc16, 1)); /* scales 8..15 */
    float d = H2F(a->d);
    __m512i ia[4];
#pragma GCC unroll 4
    for (int b = 0; b < NX; b++) {  /* q = u - 32: start from -32 * sum(scale * bsum) */
        __m256i sb = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb[b]->bsums));
        ia[b] = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sb, 5)));
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m512i l = _mm512_loadu_si512(a->ql + 64 * h);
        __m512i qhb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(a->qh + 32 * h)));
#pragma GCC unroll 2
        for (int pp = 0; pp < 2; pp++) {
            /* quarters 2pp (low half) and 2pp+1 (high half): qh bits 2p, 2p+1 rotated to bits 4, 5 */
            __m512i rot = _mm512_inserti64x4(_mm512_set1_epi32((4 - 4 * pp) & 31), _mm256_set1_epi32((2 - 4 * pp) & 31), 1);
            __m512i hi = _mm512_and_si512(_mm512_rolv_epi32(qhb, rot), m30);
            __m512i u = _mm512_ternarylogic_epi32(pp ? _mm512_srli_epi16(l, 4) : l, hi, m15, 0xEC);  /* (A & C) | B */
            int s = 2 * h + pp;
            __m512i sc = _mm512_shuffle_epi8(s < 2 ? sA : sB, k6_pick(s & 1));
#pragma GCC unroll 4
            for (int b = 0; b < NX; b++)
                ia[b] = _mm512_dpwssd_epi32(ia[b], _mm512_maddubs_epi16(u, _mm512_loadu_si512(xb[b]->qs + 64 * s)), sc);
        }
    }
#pragma GCC unroll 4
    for (int b = 0; b < NX; b++) acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[b]), _mm512_set1_ps(xb[b]->d * d), acc[b]);
}

/* One K tile: NR (1..4) weight rows, NX (1..4) q8_K activation rows; y[b * ys + r] = dot(row r, act b). */
static inline __attribute__((always_inline)) void tile_k(int64_t n, const uint8_t *w, size_t wrb, const uint8_t *x,
        size_t xrb, float *y, int64_t ys, const int NR, const int NX, const int TY) {
    const int SZ = TY == TK4 ? (int)sizeof(block_q4_K) : TY == TK5 ? (int)sizeof(block_q5_K) : (int)sizeof(block_q6_K);
    __m512 acc[4][4];
    __m256 accm[4][4];
    for (int r = 0; r < 4; r++)
        for (int b = 0; b < 4; b++) {
            acc[r][b] = _mm512_setzero_ps();
            accm[r][b] = _mm256_setzero_ps();
        }
    const block_q8_K *xb[4];
    for (int64_t i = 0; i < n / QK_K; i++) {
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++) xb[b] = (const block_q8_K *)(x + b * xrb) + i;
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++) {
            const uint8_t *p = w + r * wrb + (size_t)i * SZ;
            for (int o = 0; o < SZ; o += 64) _mm_prefetch((const char *)p + 8 * wrb + o, _MM_HINT_T0);
            if (TY == TK6) k6_row(p, xb, acc[r], NX);
            else k4_row(p, xb, acc[r], accm[r], NX, TY);
        }
    }
    if (TY != TK6)
        for (int r = 0; r < NR; r++)
            for (int b = 0; b < NX; b++) acc[r][b] = _mm512_sub_ps(acc[r][b], _mm512_zextps256_ps512(accm[r][b]));
    if (NR == 4) {
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++) _mm_storeu_ps(y + b * ys, hsum4_ps(acc[0][b], acc[1][b], acc[2][b], acc[3][b]));
        return;
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
#pragma GCC unroll 4
        for (int b = 0; b < NX; b++) y[b * ys + r] = _mm512_reduce_add_ps(acc[r][b]);
}

/* The K tile kernel of one type: shapes as DEFINE_TILE_Q. */
#define DEFINE_TILE_K(NAME, TY) \
static void NAME(int64_t n, const void *w, size_t wrb, int nr, const void *x, size_t xrb, int nx, float *y, \
                 int64_t ys) { \
    int r = 0; \
    TILE_SHAPES(tile_k, TY); \
}

DEFINE_TILE_K(tile_q4_K, TK4)
DEFINE_TILE_K(tile_q5_K, TK5)
DEFINE_TILE_K(tile_q6_K, TK6)

/* ------------------------------------------------------------------ axpy (attention values) */

/* acc += a * v, 16 lanes at a time, the tail masked; multiply then add, as scalar. */
static void axpy_f32(int64_t n, float a, const void *v, float *acc) {
    const float *p = v;
    __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 r = _mm512_add_ps(_mm512_maskz_loadu_ps(m, acc + i), _mm512_mul_ps(va, _mm512_maskz_loadu_ps(m, p + i)));
        _mm512_mask_storeu_ps(acc + i, m, r);
    }
}

static void axpy_f16(int64_t n, float a, const void *v, float *acc) {
    const uint16_t *p = v;
    __m512 va = _mm512_set1_ps(a);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 w = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p + i));
        _mm512_mask_storeu_ps(acc + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, acc + i), _mm512_mul_ps(va, w)));
    }
}

/* ------------------------------------------------------------------ strided rows (attention) */

/* 16 elements of a row of float type ES (4: f32, 2: f16) as f32, the first `m` lanes only. */
static inline __m512 row16(const uint8_t *p, __mmask16 m, const int ES) {
    return ES == 4 ? _mm512_maskz_loadu_ps(m, p) : _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

/* out[p] = dot(row p, x): four rows per pass share each x vector; each row's lanes reduce
 * to one sum. */
static inline __attribute__((always_inline)) void rows_dot(int64_t n, int64_t m, const uint8_t *rows, size_t stride,
                                                           const float *x, float *out, const int ES) {
    int64_t p = 0;
    for (; p + 4 <= m; p += 4) {
        const uint8_t *r0 = rows + (size_t)p * stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
            __m512 v = _mm512_maskz_loadu_ps(k, x + i);
            a0 = _mm512_fmadd_ps(row16(r0 + i * ES, k, ES), v, a0);
            a1 = _mm512_fmadd_ps(row16(r0 + stride + i * ES, k, ES), v, a1);
            a2 = _mm512_fmadd_ps(row16(r0 + 2 * stride + i * ES, k, ES), v, a2);
            a3 = _mm512_fmadd_ps(row16(r0 + 3 * stride + i * ES, k, ES), v, a3);
        }
        out[p] = _mm512_reduce_add_ps(a0);
        out[p + 1] = _mm512_reduce_add_ps(a1);
        out[p + 2] = _mm512_reduce_add_ps(a2);
        out[p + 3] = _mm512_reduce_add_ps(a3);
    }
    for (; p < m; p++) {
        const uint8_t *r = rows + (size_t)p * stride;
        __m512 a = _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i += 16) {
            __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
            a = _mm512_fmadd_ps(row16(r + i * ES, k, ES), _mm512_maskz_loadu_ps(k, x + i), a);
        }
        out[p] = _mm512_reduce_add_ps(a);
    }
}

/* acc += sum_p a[p] * row p, 64 elements of acc held in registers across all rows. */
static inline __attribute__((always_inline)) void rows_axpy(int64_t n, int64_t m, const uint8_t *rows, size_t stride,
                                                            const float *a, float *acc, const int ES) {
    for (int64_t i = 0; i < n; i += 64) {
        __mmask16 k[4];
        __m512 c[4];
        for (int j = 0; j < 4; j++) {
            int64_t left = n - i - 16 * j;
            k[j] = left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            c[j] = _mm512_maskz_loadu_ps(k[j], acc + i + 16 * j);
        }
        for (int64_t p = 0; p < m; p++) {
            const uint8_t *r = rows + (size_t)p * stride + i * ES;
            __m512 w = _mm512_set1_ps(a[p]);
            for (int j = 0; j < 4; j++) c[j] = _mm512_add_ps(c[j], _mm512_mul_ps(w, row16(r + 16 * j * ES, k[j], ES)));
        }
        for (int j = 0; j < 4; j++) _mm512_mask_storeu_ps(acc + i + 16 * j, k[j], c[j]);
    }
}

static void rows_dot_f32(int64_t n, int64_t m, const void *rows, size_t stride, const float *x, float *out) {
    rows_dot(n, m, rows, stride, x, out, 4);
}
static void rows_dot_f16(int64_t n, int64_t m, const void *rows, size_t stride, const float *x, float *out) {
    rows_dot(n, m, rows, stride, x, out, 2);
}
static void rows_axpy_f32(int64_t n, int64_t m, const void *rows, size_t stride, const float *a, float *acc) {
    rows_axpy(n, m, rows, stride, a, acc, 4);
}
static void rows_axpy_f16(int64_t n, int64_t m, const void *rows, size_t stride, const float *a, float *acc) {
    rows_axpy(n, m, rows, stride, a, acc, 2);
}

const smol_quant_kernels smol_quant_avx512 = {
    .vec_dot = {
        [SMOL_F32] = dot_f32, [SMOL_F16] = dot_f16, [SMOL_BF16] = dot_bf16,
        [SMOL_Q4_0] = dot_q4_0, [SMOL_Q4_1] = dot_q4_1, [SMOL_Q5_0] = dot_q5_0,
        [SMOL_Q5_1] = dot_q5_1, [SMOL_Q8_0] = dot_q8_0, [SMOL_Q2_K] = dot_q2_K,
        [SMOL_Q3_K] = dot_q3_K, [SMOL_Q4_K] = dot_q4_K, [SMOL_Q5_K] = dot_q5_K,
        [SMOL_Q6_K] = dot_q6_K,
    },
    .quantize_q8_0 = quantize_q8_0,
    .quantize_q8_K = quantize_q8_K,
    .gemm4 = {[SMOL_F32] = gemm4_f32, [SMOL_F16] = gemm4_f16, [SMOL_BF16] = gemm4_bf16},
    .tile_q = {[SMOL_Q8_0] = tile_q8_0, [SMOL_Q4_0] = tile_q4_0, [SMOL_Q5_0] = tile_q5_0,
               [SMOL_Q4_K] = tile_q4_K, [SMOL_Q5_K] = tile_q5_K, [SMOL_Q6_K] = tile_q6_K},
    .axpy = {[SMOL_F32] = axpy_f32, [SMOL_F16] = axpy_f16},
    .rows_dot = {[SMOL_F32] = rows_dot_f32, [SMOL_F16] = rows_dot_f16},
    .rows_axpy = {[SMOL_F32] = rows_axpy_f32, [SMOL_F16] = rows_axpy_f16},
};
