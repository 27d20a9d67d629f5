/* quant_avx2.c: AVX2+FMA+F16C twins of the dot-product kernels and activation quantizers in
 * quant.c. Integer sums are exactly the scalar ones; the K-quant kernels also combine them
 * with the same float expression, the others accumulate blocks in vector lanes (a different
 * float order). Compiled with -mavx2 -mfma -mf16c; used only after smol_cpu_has_avx2(). */
#include "model/quant_internal.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define H2F(h) _cvtsh_ss(h)  /* F16C: exact, as smol_f16_to_f32 */

/* K-quant blocks are combined with the scalar float expression; no fused multiply-adds there. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

/* Sums of 4 products u[i] * s[i] (u unsigned bytes <= 128, s signed) in 8 int32 lanes. */
static __m256i dot_us8(__m256i u, __m256i s) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* The same for two signed byte vectors (y must not hold -128: activations never do). */
static __m256i dot_ss8(__m256i x, __m256i y) {
    return dot_us8(_mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
}

/* 16 bytes of nibbles -> 32 bytes: low nibbles (elements 0..15) then high (16..31). */
static __m256i unpack_nibbles16(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    __m128i m = _mm_set1_epi8(15);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/* The 32 bits of a q5 block's qh as bytes 0 or 16. */
static __m256i expand_bits16(const uint8_t *qh4) {
    uint32_t qh;
    memcpy(&qh, qh4, 4);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                    _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                      0x0101010101010101, 0x0000000000000000));
    __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(16));
}

/* ------------------------------------------------------------------ float weights */

static void dot_f32(int64_t n, float *out, const void *w, const void *x) {
    const float *a = w, *b = x;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum_ps(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    *out = s;
}

static void dot_f16(int64_t n, float *out, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i + 8)));
        s0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8)  /* short rows (attention heads) in lanes too */
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), _mm256_loadu_ps(b + i), s0);
    float s = hsum_ps(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += H2F(a[i]) * b[i];
    *out = s;
}

static __m256 load_bf16x8(const uint16_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static void dot_bf16(int64_t n, float *out, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(load_bf16x8(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(load_bf16x8(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = hsum_ps(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += smol_bf16_to_f32(a[i]) * b[i];
    *out = s;
}

/* ------------------------------------------------------------------ 32-element blocks */

static inline __m256 step_q8_0(const block_q8_0 *a, const block_q8_0 *b, __m256 acc) {
    __m256i p = dot_ss8(_mm256_loadu_si256((const __m256i *)a->qs), _mm256_loadu_si256((const __m256i *)b->qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(H2F(a->d) * H2F(b->d)), _mm256_cvtepi32_ps(p), acc);
    return acc;
}

static void dot_q8_0(int64_t n, float *out, const void *w, const void *x) {
    const block_q8_0 *a = w, *b = x;
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();  /* two chains hide the FMA latency */
    int64_t nb = n / QK, i = 0;
    for (; i + 1 < nb; i += 2) {
        acc0 = step_q8_0(&a[i], &b[i], acc0);
        acc1 = step_q8_0(&a[i + 1], &b[i + 1], acc1);
    }
    if (i < nb) acc0 = step_q8_0(&a[i], &b[i], acc0);
    *out = hsum_ps(_mm256_add_ps(acc0, acc1));
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
    *out = hsum_ps(_mm256_add_ps(acc0, acc1));
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
    *out = hsum_ps(_mm256_add_ps(acc0, acc1));
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
    *out = hsum_ps(_mm256_add_ps(acc0, acc1));
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
    *out = hsum_ps(_mm256_add_ps(acc0, acc1));
}

/* ------------------------------------------------------------------ K-quants */

/* Unsigned quants u (32 bytes: two sub-blocks of 16, one per 128-bit lane) times y, each
 * lane's pair sums weighted by its sub-block scale: 8 int32 lanes. */
static __m256i dot16_scaled(__m256i u, __m256i y, int sc_lo, int sc_hi) {
    __m256i scale = _mm256_set_m128i(_mm_set1_epi16((short)sc_hi), _mm_set1_epi16((short)sc_lo));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, y), scale);
}

static void dot_q2_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    const __m256i m3 = _mm256_set1_epi8(3);
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        int summs = 0;
        for (int k = 0; k < 16; k++) summs += (a[i].scales[k] >> 4) * b[i].bsums[k];
        for (int h = 0; h < 2; h++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));
            for (int p = 0; p < 4; p++) {
                int sb = 8 * h + 2 * p;
                __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * p), m3);
                __m256i y = _mm256_loadu_si256((const __m256i *)(b[i].qs + 128 * h + 32 * p));
                acc = _mm256_add_epi32(acc, dot16_scaled(u, y, a[i].scales[sb] & 15, a[i].scales[sb + 1] & 15));
            }
        }
        int isum = hsum_epi32(acc);
        s += b[i].d * H2F(a[i].d) * (float)isum - b[i].d * H2F(a[i].dmin) * (float)summs;
    }
    *out = s;
}

static void dot_q3_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sc[16], corr = 0;
        const uint8_t *sp = a[i].scales;
        for (int k = 0; k < 16; k++) {
            int lo = k < 8 ? sp[k] & 15 : sp[k - 8] >> 4;
            sc[k] = (lo | ((sp[8 + k % 4] >> (2 * (k / 4))) & 3) << 4) - 32;
            corr += sc[k] * b[i].bsums[k];
        }
        __m256i hm = _mm256_loadu_si256((const __m256i *)a[i].hmask), acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));
            for (int p = 0; p < 4; p++) {
                int sb = 8 * h + 2 * p;
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + p), one);
                __m256i u = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * p), m3), _mm256_slli_epi16(hi, 2));
                __m256i y = _mm256_loadu_si256((const __m256i *)(b[i].qs + 128 * h + 32 * p));
                acc = _mm256_add_epi32(acc, dot16_scaled(u, y, sc[sb], sc[sb + 1]));
            }
        }
        /* q - 4 * (1 - hbit) = u - 4, so the sum is sum(sc * u * y) - 4 * sum(sc * bsum) */
        int isum = hsum_epi32(acc) - 4 * corr;
        s += b[i].d * H2F(a[i].d) * (float)isum;
    }
    *out = s;
}

/* sum_j m[j] * (bsums[2j] + bsums[2j+1]) for the 8 mins of a q4_K / q5_K super-block. */
static int k4_min_sum(const uint8_t m[8], const int16_t *bsums) {
    __m128i m8 = _mm_loadl_epi64((const __m128i *)m);
    __m256i mdup = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));  /* m0 m0 m1 m1 ... */
    return hsum_epi32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), mdup));
}

/* One q4_K / q5_K super-block with q8_K; qh is NULL for q4_K. */
static float dot_k4_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, float d,
                          float dmin, const block_q8_K *b) {
    uint8_t sc[8], m[8];
    smol_k4_scales_mins(scales, sc, m);
    int summs = k4_min_sum(m, b->bsums);
    const __m256i m15 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256i hb = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
        __m256i lo = _mm256_and_si256(q, m15), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m15);
        if (qh) {
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * j), one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * j + 1), one), 4));
        }
        __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(b->qs + 64 * j)));
        __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(b->qs + 64 * j + 32)));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(plo, _mm256_set1_epi16(sc[2 * j])));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(phi, _mm256_set1_epi16(sc[2 * j + 1])));
    }
    int isum = hsum_epi32(_mm256_add_epi32(acc0, acc1));
    return b->d * d * (float)isum - b->d * dmin * (float)summs;
}

static void dot_q4_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++)
        s += dot_k4_block(a[i].scales, a[i].qs, NULL, H2F(a[i].d), H2F(a[i].dmin), &b[i]);
    *out = s;
}

static void dot_q5_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++)
        s += dot_k4_block(a[i].scales, a[i].qs, a[i].qh, H2F(a[i].d), H2F(a[i].dmin), &b[i]);
    *out = s;
}

static void dot_q6_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    const __m256i m15 = _mm256_set1_epi8(15), m3 = _mm256_set1_epi8(3);
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        /* (u - 32) * y summed with scales = sum(sc * u * y) - 32 * sum(sc * bsum) */
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[i].scales));
        __m256i acc = _mm256_slli_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)b[i].bsums)), 5);
        acc = _mm256_sub_epi32(_mm256_setzero_si256(), acc);
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(a[i].ql + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(a[i].ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(a[i].qh + 32 * h));
            for (int p = 0; p < 4; p++) {
                __m256i src = (p & 1) ? l1 : l0;
                __m256i lo = _mm256_and_si256(p < 2 ? src : _mm256_srli_epi16(src, 4), m15);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), m3);
                __m256i u = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                __m256i y = _mm256_loadu_si256((const __m256i *)(b[i].qs + 128 * h + 32 * p));
                int sb = 8 * h + 2 * p;
                acc = _mm256_add_epi32(acc, dot16_scaled(u, y, a[i].scales[sb], a[i].scales[sb + 1]));
            }
        }
        int isum = hsum_epi32(acc);
        s += b[i].d * H2F(a[i].d) * (float)isum;
    }
    *out = s;
}

/* ------------------------------------------------------------------ activation quantizers */

static float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* roundf() of 8 floats: half-way cases away from zero, as the scalar quantizer rounds. */
static __m256i round_away_epi32(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_andnot_ps(sign, v);
    __m256 t = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 up = _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, t), _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_set1_ps(1.0f));
    return _mm256_cvtps_epi32(_mm256_or_ps(_mm256_add_ps(t, up), _mm256_and_ps(v, sign)));
}

/* Packs 4 x 8 int32 (each in -128..127) into 32 int8 in order. */
static __m256i pack_epi32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
    __m256i v = _mm256_packs_epi16(ab, cd);
    return _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void quantize_q8_0(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        __m256 v[4], amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
        }
        float d = hmax_ps(amax) / 127, id = d ? 1.0f / d : 0;
        y[i].d = smol_f32_to_f16(d);
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = round_away_epi32(_mm256_mul_ps(v[k], vid));
        _mm256_storeu_si256((__m256i *)y[i].qs, pack_epi32_to_i8(q[0], q[1], q[2], q[3]));
    }
}

static void quantize_q8_K(const float *x, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        __m256 vmax = _mm256_loadu_ps(x), vmin = vmax;
        for (int k = 8; k < QK_K; k += 8) {
            __m256 v = _mm256_loadu_ps(x + k);
            vmax = _mm256_max_ps(vmax, v);
            vmin = _mm256_min_ps(vmin, v);
        }
        float hi = hmax_ps(vmax), lo = -hmax_ps(_mm256_sub_ps(_mm256_setzero_ps(), vmin)), max;
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
        __m256 vs = _mm256_set1_ps(iscale);
        const __m256i cap = _mm256_set1_epi32(127);
        for (int k = 0; k < QK_K; k += 32) {
            __m256i q[4];
            for (int m = 0; m < 4; m++) {
                __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * m), vs),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                q[m] = _mm256_min_epi32(_mm256_cvtps_epi32(v), cap);
            }
            _mm256_storeu_si256((__m256i *)(y[i].qs + k), pack_epi32_to_i8(q[0], q[1], q[2], q[3]));
            y[i].bsums[k / 16] = (int16_t)hsum_epi32(_mm256_add_epi32(q[0], q[1]));
            y[i].bsums[k / 16 + 1] = (int16_t)hsum_epi32(_mm256_add_epi32(q[2], q[3]));
        }
        y[i].d = 1 / iscale;
    }
}


/* ------------------------------------------------------------------ 4x4 float tiles */

static __m256 w8_f32(const void *p) { return _mm256_loadu_ps(p); }
static __m256 w8_f16(const void *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
static __m256 w8_bf16(const void *p) { return load_bf16x8(p); }
static float w1_f32(const void *p) { return *(const float *)p; }
static float w1_f16(const void *p) { uint16_t h; memcpy(&h, p, 2); return H2F(h); }
static float w1_bf16(const void *p) { uint16_t h; memcpy(&h, p, 2); return smol_bf16_to_f32(h); }

/* 4 weight rows times 2 activation rows (8 sums in registers; 16 AVX2 registers cannot hold
 * the full 4x4 tile), the tail of n by scalar code. */
#define ROW_FMA2(R, W) do { __m256 w_ = (W); \
    c##R##0 = _mm256_fmadd_ps(w_, v0, c##R##0); c##R##1 = _mm256_fmadd_ps(w_, v1, c##R##1); } while (0)
#define ROW_TAIL2(R, W1F, WP) do { float w_ = W1F(WP); t##R##0 += w_ * x0[k]; t##R##1 += w_ * x1[k]; } while (0)

#define DEFINE_GEMM4(NAME, LOAD, W1_, ES) \
static void NAME##_4x2(int64_t n, const uint8_t *w0, size_t wrb, const float *x0, float *y, int64_t ys) { \
    const uint8_t *w1 = w0 + wrb, *w2 = w1 + wrb, *w3 = w2 + wrb; \
    const float *x1 = x0 + n; \
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00; \
    int64_t k = 0; \
    for (; k + 8 <= n; k += 8) { \
        __m256 v0 = _mm256_loadu_ps(x0 + k), v1 = _mm256_loadu_ps(x1 + k); \
        ROW_FMA2(0, LOAD(w0 + k * ES)); ROW_FMA2(1, LOAD(w1 + k * ES)); \
        ROW_FMA2(2, LOAD(w2 + k * ES)); ROW_FMA2(3, LOAD(w3 + k * ES)); \
    } \
    float t00 = 0, t01 = 0, t10 = 0, t11 = 0, t20 = 0, t21 = 0, t30 = 0, t31 = 0; \
    for (; k < n; k++) { \
        ROW_TAIL2(0, W1_, w0 + k * ES); ROW_TAIL2(1, W1_, w1 + k * ES); \
        ROW_TAIL2(2, W1_, w2 + k * ES); ROW_TAIL2(3, W1_, w3 + k * ES); \
    } \
    y[0] = hsum_ps(c00) + t00; y[1] = hsum_ps(c10) + t10; y[2] = hsum_ps(c20) + t20; y[3] = hsum_ps(c30) + t30; \
    y[ys] = hsum_ps(c01) + t01; y[ys + 1] = hsum_ps(c11) + t11; \
    y[ys + 2] = hsum_ps(c21) + t21; y[ys + 3] = hsum_ps(c31) + t31; \
} \
static void NAME(int64_t n, const void *w, size_t wrb, const float *x, float *y, int64_t ys) { \
    NAME##_4x2(n, w, wrb, x, y, ys); \
    NAME##_4x2(n, w, wrb, x + 2 * n, y + 2 * ys, ys); \
}

DEFINE_GEMM4(gemm4_f32, w8_f32, w1_f32, 4)
DEFINE_GEMM4(gemm4_f16, w8_f16, w1_f16, 2)
DEFINE_GEMM4(gemm4_bf16, w8_bf16, w1_bf16, 2)

/* ------------------------------------------------------------------ axpy (attention values) */

static void axpy_f32(int64_t n, float a, const void *v, float *acc) {
    const float *p = v;
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), _mm256_mul_ps(va, _mm256_loadu_ps(p + i))));
    for (; i < n; i++) acc[i] += a * p[i];
}

static void axpy_f16(int64_t n, float a, const void *v, float *acc) {
    const uint16_t *p = v;
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(acc + i, _mm256_add_ps(_mm256_loadu_ps(acc + i), _mm256_mul_ps(va, w8_f16(p + i))));
    for (; i < n; i++) acc[i] += a * H2F(p[i]);
}

/* Strided rows (attention) through the single-row kernels. */
static void rows_dot_f32(int64_t n, int64_t m, const void *rows, size_t stride, const float *x, float *out) {
    for (int64_t p = 0; p < m; p++) dot_f32(n, &out[p], (const uint8_t *)rows + (size_t)p * stride, x);
}
static void rows_dot_f16(int64_t n, int64_t m, const void *rows, size_t stride, const float *x, float *out) {
    for (int64_t p = 0; p < m; p++) dot_f16(n, &out[p], (const uint8_t *)rows + (size_t)p * stride, x);
}
static void rows_axpy_f32(int64_t n, int64_t m, const void *rows, size_t stride, const float *a, float *acc) {
    for (int64_t p = 0; p < m; p++) axpy_f32(n, a[p], (const uint8_t *)rows + (size_t)p * stride, acc);
}
static void rows_axpy_f16(int64_t n, int64_t m, const void *rows, size_t stride, const float *a, float *acc) {
    for (int64_t p = 0; p < m; p++) axpy_f16(n, a[p], (const uint8_t *)rows + (size_t)p * stride, acc);
}

const smol_quant_kernels smol_quant_avx2 = {
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
    .axpy = {[SMOL_F32] = axpy_f32, [SMOL_F16] = axpy_f16},
    .rows_dot = {[SMOL_F32] = rows_dot_f32, [SMOL_F16] = rows_dot_f16},
    .rows_axpy = {[SMOL_F32] = rows_axpy_f32, [SMOL_F16] = rows_axpy_f16},
};
