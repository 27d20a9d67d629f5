/* attention_avx512.c: AVX-512 kernels of attention.h (exp polynomial, f16 tiles to f32 with
 * vcvtph2ps, query x key-tile scores and probability x value sums blocked 6 rows x 64 columns
 * in registers). The same arithmetic as the scalar kernels of attention.c, with fused
 * multiply-adds. Used only after smol_cpu_has_avx512() (attention.c). */
#include "model/attention.h"
#include <immintrin.h>

#define TILE SMOL_KV_TILE
#define ROWS 6  /* query rows per register block */

/* exp of 16 lanes: x = n ln2 + r, a degree-7 polynomial of r, times 2^(n/2) twice. */
static inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(89.0f)), _mm512_set1_ps(-110.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i ni = _mm512_cvtps_epi32(n), a = _mm512_srai_epi32(ni, 1), b = _mm512_sub_epi32(ni, a);
    __m512 fa = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(a, _mm512_set1_epi32(127)), 23));
    __m512 fb = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(b, _mm512_set1_epi32(127)), 23));
    return _mm512_mul_ps(_mm512_mul_ps(p, fa), fb);
}

/* The mask of the first c lanes of 16 (c clamped to [0, 16]). */
static inline __mmask16 lanes(int c) { return c <= 0 ? 0 : c >= 16 ? 0xFFFF : (__mmask16)((1u << c) - 1); }

static void exp_avx512(int n, const float *x, float *y) {
    for (int i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        _mm512_mask_storeu_ps(y + i, k, exp16(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

static void f16_to_f32_avx512(size_t n, const uint16_t *src, float *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    if (i < n) {
        __mmask16 k = lanes((int)(n - i));
        __m256i h = _mm256_maskz_loadu_epi16(k, src + i);
        _mm512_mask_storeu_ps(dst + i, k, _mm512_cvtph_ps(h));
    }
}

static void f32_to_f16_avx512(size_t n, const float *src, uint16_t *dst) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        __mmask16 k = lanes((int)(n - i));
        _mm256_mask_storeu_epi16(dst + i, k, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(k, src + i), _MM_FROUND_TO_NEAREST_INT));
    }
}

/* s[r][0..64) for R rows of q: per dimension, 4 key vectors times R broadcast queries. */
static inline __attribute__((always_inline)) void scores_rows(const int R, int d, const float *q, const float *kt,
                                                              float *s) {
    __m512 acc[ROWS][4];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    for (int i = 0; i < d; i++) {
        const float *k = kt + (size_t)i * TILE;
        __m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16), k2 = _mm512_loadu_ps(k + 32),
               k3 = _mm512_loadu_ps(k + 48);
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m512 qb = _mm512_set1_ps(q[(size_t)r * d + i]);
            acc[r][0] = _mm512_fmadd_ps(qb, k0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(qb, k1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(qb, k2, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(qb, k3, acc[r][3]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(s + (size_t)r * TILE + 16 * c, acc[r][c]);
}

static void scores_avx512(int m, int d, const float *q, const float *kt, float *s) {
    int r = 0;
    for (; r + ROWS <= m; r += ROWS) scores_rows(ROWS, d, q + (size_t)r * d, kt, s + (size_t)r * TILE);
    const float *qr = q + (size_t)r * d;
    float *sr = s + (size_t)r * TILE;
    switch (m - r) {
    case 5: scores_rows(5, d, qr, kt, sr); break;
    case 4: scores_rows(4, d, qr, kt, sr); break;
    case 3: scores_rows(3, d, qr, kt, sr); break;
    case 2: scores_rows(2, d, qr, kt, sr); break;
    case 1: scores_rows(1, d, qr, kt, sr); break;
    default: break;
    }
}

static float softmax_avx512(int n, float *s, float m_old, float *sum) {
    __m512 mx = _mm512_set1_ps(m_old);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) mx = _mm512_mask_max_ps(mx, lanes(n - 16 * c), mx, _mm512_loadu_ps(s + 16 * c));
    float m = _mm512_reduce_max_ps(mx);
    __m512 vm = _mm512_set1_ps(m), total = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 e = _mm512_maskz_mov_ps(lanes(n - 16 * c), exp16(_mm512_sub_ps(_mm512_loadu_ps(s + 16 * c), vm)));
        _mm512_storeu_ps(s + 16 * c, e);
        total = _mm512_add_ps(total, e);
    }
    *sum = _mm512_reduce_add_ps(total);
    return m;
}

/* acc[r][c0 .. c0 + 16 NV) of R rows (lanes of the last vector limited by tail): scaled by
 * alpha[r], plus p[r][j] * v[j] for j < n. */
static inline __attribute__((always_inline)) void pv_rows(const int R, const int NV, __mmask16 tail, int d, int n,
                                                          const float *p, const float *v, const float *alpha,
                                                          float *acc) {
    __m512 a[ROWS][4];
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
        __m512 al = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 4
        for (int c = 0; c < NV; c++)
            a[r][c] = _mm512_mul_ps(al, _mm512_maskz_loadu_ps(c == NV - 1 ? tail : 0xFFFF, acc + (size_t)r * d + 16 * c));
    }
    for (int j = 0; j < n; j++) {
        const float *vj = v + (size_t)j * d;
        __m512 vv[4];
#pragma GCC unroll 4
        for (int c = 0; c < NV; c++) vv[c] = _mm512_maskz_loadu_ps(c == NV - 1 ? tail : 0xFFFF, vj + 16 * c);
#pragma GCC unroll 6
        for (int r = 0; r < R; r++) {
            __m512 pb = _mm512_set1_ps(p[(size_t)r * TILE + j]);
#pragma GCC unroll 4
            for (int c = 0; c < NV; c++) a[r][c] = _mm512_fmadd_ps(pb, vv[c], a[r][c]);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int c = 0; c < NV; c++) _mm512_mask_storeu_ps(acc + (size_t)r * d + 16 * c, c == NV - 1 ? tail : 0xFFFF, a[r][c]);
}

/* pv over R rows: 64-column chunks, then 16-column chunks (the last one masked). */
static inline __attribute__((always_inline)) void pv_block(const int R, int d, int n, const float *p, const float *v,
                                                           const float *alpha, float *acc) {
    int c0 = 0;
    for (; c0 + 64 <= d; c0 += 64) pv_rows(R, 4, 0xFFFF, d, n, p, v + c0, alpha, acc + c0);
    for (; c0 < d; c0 += 16) pv_rows(R, 1, lanes(d - c0), d, n, p, v + c0, alpha, acc + c0);
}

static void pv_avx512(int m, int d, int n, const float *p, const float *v, const float *alpha, float *acc) {
    int r = 0;
    for (; r + ROWS <= m; r += ROWS) pv_block(ROWS, d, n, p + (size_t)r * TILE, v, alpha + r, acc + (size_t)r * d);
    const float *pr = p + (size_t)r * TILE, *al = alpha + r;
    float *ar = acc + (size_t)r * d;
    switch (m - r) {
    case 5: pv_block(5, d, n, pr, v, al, ar); break;
    case 4: pv_block(4, d, n, pr, v, al, ar); break;
    case 3: pv_block(3, d, n, pr, v, al, ar); break;
    case 2: pv_block(2, d, n, pr, v, al, ar); break;
    case 1: pv_block(1, d, n, pr, v, al, ar); break;
    default: break;
    }
}

const smol_attn_kernels smol_attn_avx512 = {exp_avx512, f16_to_f32_avx512, f32_to_f16_avx512, scores_avx512, softmax_avx512, pv_avx512};
