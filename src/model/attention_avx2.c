/* attention_avx2.c: AVX2 + FMA + F16C kernels of attention.h (exp polynomial, f16 tiles to f32
 * with vcvtph2ps, scores and value sums blocked 2 rows x 32 columns in registers). The same
 * arithmetic as the scalar kernels of attention.c, with fused multiply-adds. Used only after
 * smol_cpu_has_avx2() (attention.c). */
#include "model/attention.h"
#include <immintrin.h>
#include <math.h>

#define TILE SMOL_KV_TILE

/* exp of 8 lanes: x = n ln2 + r, a degree-7 polynomial of r, times 2^(n/2) twice. */
static inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(89.0f)), _mm256_set1_ps(-110.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i ni = _mm256_cvtps_epi32(n), a = _mm256_srai_epi32(ni, 1), b = _mm256_sub_epi32(ni, a);
    __m256 fa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, _mm256_set1_epi32(127)), 23));
    __m256 fb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, fa), fb);
}

/* All-ones lanes for the first c of 8 (c clamped to [0, 8]). */
static inline __m256i lanes(int c) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

static void exp_avx2(int n, const float *x, float *y) {
    for (int i = 0; i < n; i += 8) {
        __m256i k = lanes(n - i);
        _mm256_maskstore_ps(y + i, k, exp8(_mm256_maskload_ps(x + i, k)));
    }
}

static void f16_to_f32_avx2(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
}

static void f32_to_f16_avx2(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

static inline float hmax8(__m256 v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

static inline float hsum8(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

/* s[r][h .. h + 32) for R (1 or 2) rows: per dimension, 4 key vectors times R queries. */
static inline __attribute__((always_inline)) void scores_rows(const int R, int d, const float *q, const float *kt,
                                                              float *s) {
    for (int h = 0; h < TILE; h += 32) {
        __m256 a0[4], a1[4];
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) a0[c] = a1[c] = _mm256_setzero_ps();
        for (int i = 0; i < d; i++) {
            const float *k = kt + (size_t)i * TILE + h;
            __m256 k0 = _mm256_loadu_ps(k), k1 = _mm256_loadu_ps(k + 8), k2 = _mm256_loadu_ps(k + 16),
                   k3 = _mm256_loadu_ps(k + 24);
            __m256 q0 = _mm256_broadcast_ss(q + i);
            a0[0] = _mm256_fmadd_ps(q0, k0, a0[0]), a0[1] = _mm256_fmadd_ps(q0, k1, a0[1]);
            a0[2] = _mm256_fmadd_ps(q0, k2, a0[2]), a0[3] = _mm256_fmadd_ps(q0, k3, a0[3]);
            if (R == 2) {
                __m256 q1 = _mm256_broadcast_ss(q + d + i);
                a1[0] = _mm256_fmadd_ps(q1, k0, a1[0]), a1[1] = _mm256_fmadd_ps(q1, k1, a1[1]);
                a1[2] = _mm256_fmadd_ps(q1, k2, a1[2]), a1[3] = _mm256_fmadd_ps(q1, k3, a1[3]);
            }
        }
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            _mm256_storeu_ps(s + h + 8 * c, a0[c]);
            if (R == 2) _mm256_storeu_ps(s + TILE + h + 8 * c, a1[c]);
        }
    }
}

static void scores_avx2(int m, int d, const float *q, const float *kt, float *s) {
    int r = 0;
    for (; r + 2 <= m; r += 2) scores_rows(2, d, q + (size_t)r * d, kt, s + (size_t)r * TILE);
    if (r < m) scores_rows(1, d, q + (size_t)r * d, kt, s + (size_t)r * TILE);
}

static float softmax_avx2(int n, float *s, float m_old, float *sum) {
    __m256 mx = _mm256_set1_ps(m_old), ninf = _mm256_set1_ps(-INFINITY);
    for (int c = 0; c < TILE; c += 8)
        mx = _mm256_max_ps(mx, _mm256_blendv_ps(ninf, _mm256_loadu_ps(s + c), _mm256_castsi256_ps(lanes(n - c))));
    float m = hmax8(mx);
    __m256 vm = _mm256_set1_ps(m), total = _mm256_setzero_ps();
    for (int c = 0; c < TILE; c += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(s + c), vm));
        e = _mm256_and_ps(e, _mm256_castsi256_ps(lanes(n - c)));
        _mm256_storeu_ps(s + c, e);
        total = _mm256_add_ps(total, e);
    }
    *sum = hsum8(total);
    return m;
}

/* acc[r][0..32) of R (1 or 2) rows: scaled by alpha[r], plus p[r][j] * v[j] for j < n. */
static inline __attribute__((always_inline)) void pv_rows(const int R, int d, int n, const float *p, const float *v,
                                                          const float *alpha, float *acc) {
    __m256 a0[4], a1[4];
    __m256 al0 = _mm256_set1_ps(alpha[0]), al1 = _mm256_set1_ps(R == 2 ? alpha[1] : 0.0f);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        a0[c] = _mm256_mul_ps(al0, _mm256_loadu_ps(acc + 8 * c));
        a1[c] = R == 2 ? _mm256_mul_ps(al1, _mm256_loadu_ps(acc + d + 8 * c)) : _mm256_setzero_ps();
    }
    for (int j = 0; j < n; j++) {
        const float *vj = v + (size_t)j * d;
        __m256 v0 = _mm256_loadu_ps(vj), v1 = _mm256_loadu_ps(vj + 8), v2 = _mm256_loadu_ps(vj + 16),
               v3 = _mm256_loadu_ps(vj + 24);
        __m256 p0 = _mm256_broadcast_ss(p + j);
        a0[0] = _mm256_fmadd_ps(p0, v0, a0[0]), a0[1] = _mm256_fmadd_ps(p0, v1, a0[1]);
        a0[2] = _mm256_fmadd_ps(p0, v2, a0[2]), a0[3] = _mm256_fmadd_ps(p0, v3, a0[3]);
        if (R == 2) {
            __m256 p1 = _mm256_broadcast_ss(p + TILE + j);
            a1[0] = _mm256_fmadd_ps(p1, v0, a1[0]), a1[1] = _mm256_fmadd_ps(p1, v1, a1[1]);
            a1[2] = _mm256_fmadd_ps(p1, v2, a1[2]), a1[3] = _mm256_fmadd_ps(p1, v3, a1[3]);
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        _mm256_storeu_ps(acc + 8 * c, a0[c]);
        if (R == 2) _mm256_storeu_ps(acc + d + 8 * c, a1[c]);
    }
}

/* Columns [c0, d) of rows [r, r + R) without a full 32-column chunk, one at a time. */
static void pv_tail(int R, int d, int c0, int n, const float *p, const float *v, const float *alpha, float *acc) {
    for (int r = 0; r < R; r++)
        for (int i = c0; i < d; i++) {
            float a = acc[(size_t)r * d + i] * alpha[r];
            for (int j = 0; j < n; j++) a = fmaf(p[(size_t)r * TILE + j], v[(size_t)j * d + i], a);
            acc[(size_t)r * d + i] = a;
        }
}

static void pv_avx2(int m, int d, int n, const float *p, const float *v, const float *alpha, float *acc) {
    for (int r = 0; r < m; r += 2) {
        int R = m - r >= 2 ? 2 : 1, c0 = 0;
        const float *pr = p + (size_t)r * TILE;
        float *ar = acc + (size_t)r * d;
        for (; c0 + 32 <= d; c0 += 32) {
            if (R == 2) pv_rows(2, d, n, pr, v + c0, alpha + r, ar + c0);
            else pv_rows(1, d, n, pr, v + c0, alpha + r, ar + c0);
        }
        if (c0 < d) pv_tail(R, d, c0, n, pr, v, alpha + r, ar);
    }
}

const smol_attn_kernels smol_attn_avx2 = {exp_avx2, f16_to_f32_avx2, f32_to_f16_avx2, scores_avx2, softmax_avx2, pv_avx2};
