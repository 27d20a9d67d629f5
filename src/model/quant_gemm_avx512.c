/* quant_gemm_avx512.c: the AVX-512 VNNI matrix x matrix path of quant_gemm.h (prompt
 * processing of q8_0, q4_0, q5_0, q4_K, q5_K and q6_K weights).
 *
 * For weight rows r and activations a the product is a sum over units u (32-element blocks or
 * sub-blocks; 16 for q6_K) of  alpha[r,u] * beta[a,u] * I[r,a,u] + gamma[r,u] * delta[a,u],
 * where I is the exact integer dot of the unit's signed weight bytes and int8 activations,
 * alpha the weight scale (d, or d * sub-block scale), beta the activation scale, and the
 * gamma * delta term the K-quant minimum (-dmin * m times d_x * the unit's activation sum).
 * Activations enter dpbusd as unsigned x + 128, so I = dpbusd sum - 128 * (sum of the unit's
 * weights); the int32 accumulator starts at that correction.
 *
 * A tile is 4 weight rows x 32 activations (2 groups of 16): 8 int32 and 8 f32 accumulators.
 * Used only after smol_cpu_has_avx512() and the avx512vnni flag are checked (matmul.c). */
#include "model/quant_gemm.h"
#include "model/quant_internal.h"
#include <immintrin.h>
#include <string.h>

#define H2F(h) _cvtsh_ss(h)  /* F16C: exact, as smol_f16_to_f32 */
#define MAX_UNITS (SMOL_QGEMM_MAX_N / 16)
#define TILE_ROWS 4
#define GMAX 3

/* Weight rows of one row group in the form the tile kernels read. */
typedef struct {
    const uint8_t *q;        /* signed weight bytes: row r, unit u at q + r * q_row + u * q_unit */
    size_t q_row, q_unit;
    const int32_t *corr;     /* [u * 4 + r]: -128 * sum of the unit's weight bytes */
    const float *alpha;      /* [u * 4 + r]: weight scale of the unit */
    const float *gamma;      /* [u * 4 + r]: minimum term (q4_K / q5_K), else unused */
    int64_t nu;              /* units per row */
} wpanel;

/* Per-thread storage behind a wpanel. */
typedef struct {
    _Alignas(64) uint8_t q[TILE_ROWS * SMOL_QGEMM_MAX_N];
    int32_t corr[TILE_ROWS * MAX_UNITS];
    float alpha[TILE_ROWS * MAX_UNITS], gamma[TILE_ROWS * MAX_UNITS];
} wstore;

static int64_t hsum_sad256(__m256i s) {
    __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
}

static int32_t sum_u8x16(__m128i v) {
    __m128i s = _mm_sad_epu8(v, _mm_setzero_si128());
    return (int32_t)(_mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1));
}

/* ------------------------------------------------------------------ weight panels */

/* q8_0: the stored bytes are used in place; only the corrections and scales are gathered. */
static void panel_q8_0(const uint8_t *w, size_t w_row, int R, int64_t nu, wstore *st, wpanel *p) {
    p->q = w + 2, p->q_row = w_row, p->q_unit = sizeof(block_q8_0);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    for (int r = 0; r < R; r++) {
        const block_q8_0 *b = (const block_q8_0 *)(w + (size_t)r * w_row);
        for (int64_t u = 0; u < nu; u++) {
            __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b[u].qs), flip);
            int64_t s = hsum_sad256(_mm256_sad_epu8(v, _mm256_setzero_si256())) - 32 * 128;
            st->corr[u * 4 + r] = (int32_t)(-128 * s);
            st->alpha[u * 4 + r] = H2F(b[u].d);
        }
    }
}

/* q4_0 / q5_0: nibbles (plus the fifth bit) minus the offset, in element order. */
static void panel_q4_q5_0(uint32_t t, const uint8_t *w, size_t w_row, int R, int64_t n, wstore *st, wpanel *p) {
    int64_t nu = n / 32;
    p->q = st->q, p->q_row = (size_t)n, p->q_unit = 32;
    const __m128i m4 = _mm_set1_epi8(15), b5 = _mm_set1_epi8(16);
    int off = t == SMOL_Q5_0 ? 16 : 8;
    const __m128i voff = _mm_set1_epi8((char)off);
    for (int r = 0; r < R; r++) {
        const uint8_t *row = w + (size_t)r * w_row;
        uint8_t *dst = st->q + (size_t)r * n;
        for (int64_t u = 0; u < nu; u++) {
            const uint8_t *qs;
            uint16_t d;
            __m128i lo, hi;
            if (t == SMOL_Q5_0) {
                const block_q5_0 *b = (const block_q5_0 *)row + u;
                uint32_t qh;
                memcpy(&qh, b->qh, 4);
                qs = b->qs, d = b->d;
                lo = _mm_and_si128(_mm_loadu_si128((const __m128i *)qs), m4);
                hi = _mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)qs), 4), m4);
                lo = _mm_or_si128(lo, _mm_maskz_mov_epi8((__mmask16)(qh & 0xffff), b5));
                hi = _mm_or_si128(hi, _mm_maskz_mov_epi8((__mmask16)(qh >> 16), b5));
            } else {
                const block_q4_0 *b = (const block_q4_0 *)row + u;
                qs = b->qs, d = b->d;
                lo = _mm_and_si128(_mm_loadu_si128((const __m128i *)qs), m4);
                hi = _mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)qs), 4), m4);
            }
            int32_t s = sum_u8x16(lo) + sum_u8x16(hi) - 32 * off;
            _mm_storeu_si128((__m128i *)(dst + u * 32), _mm_sub_epi8(lo, voff));
            _mm_storeu_si128((__m128i *)(dst + u * 32 + 16), _mm_sub_epi8(hi, voff));
            st->corr[u * 4 + r] = -128 * s;
            st->alpha[u * 4 + r] = H2F(d);
        }
    }
}

/* q4_K / q5_K: 8 units of 32 per super-block, scale d * sc and minimum -dmin * m. */
static void panel_q4_q5_K(uint32_t t, const uint8_t *w, size_t w_row, int R, int64_t n, wstore *st, wpanel *p) {
    int64_t nsb = n / QK_K;
    p->q = st->q, p->q_row = (size_t)n, p->q_unit = 32;
    const __m256i m4 = _mm256_set1_epi8(15), b5 = _mm256_set1_epi8(16);
    for (int r = 0; r < R; r++) {
        const uint8_t *row = w + (size_t)r * w_row;
        uint8_t *dst = st->q + (size_t)r * n;
        for (int64_t i = 0; i < nsb; i++) {
            const uint8_t *qs, *qh = NULL, *scales;
            uint16_t d16, dmin16;
            if (t == SMOL_Q5_K) {
                const block_q5_K *b = (const block_q5_K *)row + i;
                qs = b->qs, qh = b->qh, scales = b->scales, d16 = b->d, dmin16 = b->dmin;
            } else {
                const block_q4_K *b = (const block_q4_K *)row + i;
                qs = b->qs, scales = b->scales, d16 = b->d, dmin16 = b->dmin;
            }
            uint8_t sc[8], m[8];
            smol_k4_scales_mins(scales, sc, m);
            float d = H2F(d16), dmin = H2F(dmin16);
            __m256i hv = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
            for (int j = 0; j < 8; j++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * (j / 2)));
                if (j & 1) v = _mm256_srli_epi16(v, 4);
                v = _mm256_and_si256(v, m4);
                if (qh) v = _mm256_or_si256(v, _mm256_maskz_mov_epi8(_mm256_test_epi8_mask(hv, _mm256_set1_epi8((char)(1 << j))), b5));
                int64_t u = i * 8 + j;
                _mm256_storeu_si256((__m256i *)(dst + u * 32), v);
                st->corr[u * 4 + r] = (int32_t)(-128 * hsum_sad256(_mm256_sad_epu8(v, _mm256_setzero_si256())));
                st->alpha[u * 4 + r] = d * sc[j];
                st->gamma[u * 4 + r] = -dmin * m[j];
            }
        }
    }
}

/* q6_K: 16 units of 16 per super-block, q - 32 with scale d * scales[u]. */
static void panel_q6_K(const uint8_t *w, size_t w_row, int R, int64_t n, wstore *st, wpanel *p) {
    int64_t nsb = n / QK_K;
    p->q = st->q, p->q_row = (size_t)n, p->q_unit = 16;
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3), o32 = _mm256_set1_epi8(32);
    for (int r = 0; r < R; r++) {
        const block_q6_K *row = (const block_q6_K *)(w + (size_t)r * w_row);
        uint8_t *dst = st->q + (size_t)r * n;
        for (int64_t i = 0; i < nsb; i++) {
            const block_q6_K *b = row + i;
            float d = H2F(b->d);
            for (int h = 0; h < 2; h++) {
                __m256i qhv = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
                for (int pq = 0; pq < 4; pq++) {  /* elements 128h + 32pq + l, l < 32 */
                    __m256i lo = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32 * (pq & 1)));
                    if (pq >> 1) lo = _mm256_srli_epi16(lo, 4);
                    lo = _mm256_and_si256(lo, m4);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qhv, 2 * pq), m2);
                    __m256i q = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                    _mm256_storeu_si256((__m256i *)(dst + i * QK_K + 128 * h + 32 * pq), _mm256_sub_epi8(q, o32));
                    __m256i s = _mm256_sad_epu8(q, _mm256_setzero_si256());
                    int64_t s0 = _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) - 16 * 32;
                    int64_t s1 = _mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3) - 16 * 32;
                    int64_t u = i * 16 + 8 * h + 2 * pq;
                    st->corr[u * 4 + r] = (int32_t)(-128 * s0);
                    st->corr[(u + 1) * 4 + r] = (int32_t)(-128 * s1);
                    st->alpha[u * 4 + r] = d * b->scales[8 * h + 2 * pq];
                    st->alpha[(u + 1) * 4 + r] = d * b->scales[8 * h + 2 * pq + 1];
                }
            }
        }
    }
}

/* Fills p for rows [0, R) of w (R <= 4). */
static void build_panel(uint32_t t, const uint8_t *w, size_t w_row, int R, int64_t n, wstore *st, wpanel *p) {
    p->corr = st->corr, p->alpha = st->alpha, p->gamma = st->gamma;
    p->nu = n / smol_quant_gemm_unit(t);
    switch (t) {
    case SMOL_Q8_0: panel_q8_0(w, w_row, R, p->nu, st, p); break;
    case SMOL_Q4_0: case SMOL_Q5_0: panel_q4_q5_0(t, w, w_row, R, n, st, p); break;
    case SMOL_Q4_K: case SMOL_Q5_K: panel_q4_q5_K(t, w, w_row, R, n, st, p); break;
    default: panel_q6_K(w, w_row, R, n, st, p); break;
    }
}

/* ------------------------------------------------------------------ activation packing */

void smol_quant_gemm_pack(uint32_t t, int64_t n, const void *xq, size_t x_row, int64_t B, int64_t g, void *packed) {
    int unit = smol_quant_gemm_unit(t), steps = unit / 4;
    int has_min = t == SMOL_Q4_K || t == SMOL_Q5_K;
    int64_t nu = n / unit;
    size_t gb = smol_quant_gemm_group_bytes(t, n), ub = gb / (size_t)nu;
    uint8_t *dst = (uint8_t *)packed + (size_t)g * gb;
    for (int a = 0; a < SMOL_QGEMM_GROUP; a++) {
        int64_t b = g * SMOL_QGEMM_GROUP + a;
        const uint8_t *row = b < B ? (const uint8_t *)xq + (size_t)b * x_row : NULL;
        for (int64_t u = 0; u < nu; u++) {
            uint8_t *du = dst + (size_t)u * ub;
            float *beta = (float *)(du + steps * 64), *delta = beta + 16;
            const int8_t *qs;
            if (!row) {
                for (int s = 0; s < steps; s++) memset(du + s * 64 + a * 4, 0x80, 4);
                beta[a] = 0;
                if (has_min) delta[a] = 0;
                continue;
            }
            if (unit == 32 && !has_min && t != SMOL_Q6_K) {  /* q8_0 activations */
                const block_q8_0 *xb = (const block_q8_0 *)row + u;
                qs = xb->qs;
                beta[a] = H2F(xb->d);
            } else {  /* q8_K activations */
                const block_q8_K *xb = (const block_q8_K *)row + u * unit / QK_K;
                int j = (int)(u % (QK_K / unit));
                qs = xb->qs + j * unit;
                beta[a] = xb->d;
                if (has_min) delta[a] = xb->d * (float)(xb->bsums[2 * j] + xb->bsums[2 * j + 1]);
            }
            for (int s = 0; s < steps; s++) {
                uint32_t v;
                memcpy(&v, qs + 4 * s, 4);
                v ^= 0x80808080u;
                memcpy(du + s * 64 + a * 4, &v, 4);
            }
        }
    }
}

/* ------------------------------------------------------------------ tiles */

/* R weight rows (from row r0 of the panel) x G groups of 16 activations; S dpbusd steps per
 * unit, M = 1 with the minimum term. out[r * G + g] receives the 16 sums of row r, group g. */
static inline __attribute__((always_inline)) void tile_body(const wpanel *p, int r0, const uint8_t *act, size_t gb,
                                                            size_t ub, __m512 *out, const int R, const int G,
                                                            const int S, const int M) {
    __m512 accf[TILE_ROWS][GMAX];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int g = 0; g < G; g++) accf[r][g] = _mm512_setzero_ps();
    const uint8_t *q = p->q + (size_t)r0 * p->q_row;
    for (int64_t u = 0; u < p->nu; u++) {
        const uint8_t *a = act + (size_t)u * ub, *qu = q + (size_t)u * p->q_unit;
        __m512i acc[TILE_ROWS][GMAX];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512i c = _mm512_set1_epi32(p->corr[u * 4 + r0 + r]);
#pragma GCC unroll 3
            for (int g = 0; g < G; g++) acc[r][g] = c;
        }
#pragma GCC unroll 8
        for (int s = 0; s < S; s++) {
            __m512i av[GMAX];
#pragma GCC unroll 3
            for (int g = 0; g < G; g++) av[g] = _mm512_load_si512((const void *)(a + g * gb + s * 64));
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                int32_t wd;
                memcpy(&wd, qu + r * p->q_row + 4 * s, 4);
                __m512i wv = _mm512_set1_epi32(wd);
#pragma GCC unroll 3
                for (int g = 0; g < G; g++) acc[r][g] = _mm512_dpbusd_epi32(acc[r][g], av[g], wv);
            }
        }
        __m512 beta[GMAX], delta[GMAX];
#pragma GCC unroll 3
        for (int g = 0; g < G; g++) {
            beta[g] = _mm512_load_ps((const float *)(a + g * gb + S * 64));
            delta[g] = M ? _mm512_load_ps((const float *)(a + g * gb + S * 64 + 64)) : _mm512_setzero_ps();
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512 al = _mm512_set1_ps(p->alpha[u * 4 + r0 + r]);
            __m512 ga = M ? _mm512_set1_ps(p->gamma[u * 4 + r0 + r]) : _mm512_setzero_ps();
#pragma GCC unroll 3
            for (int g = 0; g < G; g++) {
                accf[r][g] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][g]), al), beta[g], accf[r][g]);
                if (M) accf[r][g] = _mm512_fmadd_ps(ga, delta[g], accf[r][g]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int g = 0; g < G; g++) out[r * G + g] = accf[r][g];
}

typedef void (*tile_fn)(const wpanel *p, int r0, const uint8_t *act, size_t gb, size_t ub, __m512 *out);

#define TILE(R, G, S, M) \
    static void tile_##R##_##G##_##S##_##M(const wpanel *p, int r0, const uint8_t *act, size_t gb, size_t ub, __m512 *out) { \
        tile_body(p, r0, act, gb, ub, out, R, G, S, M); \
    }
TILE(4, 3, 8, 0) TILE(4, 2, 8, 0) TILE(4, 1, 8, 0) TILE(1, 3, 8, 0) TILE(1, 2, 8, 0) TILE(1, 1, 8, 0)
TILE(4, 3, 8, 1) TILE(4, 2, 8, 1) TILE(4, 1, 8, 1) TILE(1, 3, 8, 1) TILE(1, 2, 8, 1) TILE(1, 1, 8, 1)
TILE(4, 3, 4, 0) TILE(4, 2, 4, 0) TILE(4, 1, 4, 0) TILE(1, 3, 4, 0) TILE(1, 2, 4, 0) TILE(1, 1, 4, 0)

/* The kernel for R (4 or 1) rows, G (2 or 1) groups, S steps per unit, M minimum terms. */
static tile_fn pick_tile(int R, int G, int S, int M) {
    static const tile_fn k[3][2][3] = {
        {{tile_1_1_8_0, tile_1_2_8_0, tile_1_3_8_0}, {tile_4_1_8_0, tile_4_2_8_0, tile_4_3_8_0}},
        {{tile_1_1_8_1, tile_1_2_8_1, tile_1_3_8_1}, {tile_4_1_8_1, tile_4_2_8_1, tile_4_3_8_1}},
        {{tile_1_1_4_0, tile_1_2_4_0, tile_1_3_4_0}, {tile_4_1_4_0, tile_4_2_4_0, tile_4_3_4_0}},
    };
    return k[S == 4 ? 2 : M][R == 4][G - 1];
}

/* Writes the 16 sums of each (row, group) of a tile to y, activations past B left out. Four
 * rows are transposed first so each activation gets one 16-byte store of its 4 outputs. */
static void store_tile(const __m512 *out, int R, int G, int64_t row, int64_t b0, int64_t B, float *y, int64_t ys) {
    for (int g = 0; g < G; g++) {
        int64_t bg = b0 + g * 16;
        if (R == 4) {
            __m512 t0 = _mm512_unpacklo_ps(out[g], out[G + g]), t1 = _mm512_unpackhi_ps(out[g], out[G + g]);
            __m512 t2 = _mm512_unpacklo_ps(out[2 * G + g], out[3 * G + g]);
            __m512 t3 = _mm512_unpackhi_ps(out[2 * G + g], out[3 * G + g]);
            __m512 u[4] = {_mm512_shuffle_ps(t0, t2, 0x44), _mm512_shuffle_ps(t0, t2, 0xee),
                           _mm512_shuffle_ps(t1, t3, 0x44), _mm512_shuffle_ps(t1, t3, 0xee)};
            float v[4][16];  /* v[i][4k + r]: row r of activation 4k + i */
            for (int i = 0; i < 4; i++) _mm512_storeu_ps(v[i], u[i]);
            for (int a = 0; a < 16 && bg + a < B; a++) memcpy(y + (bg + a) * ys + row, &v[a & 3][(a >> 2) * 4], 16);
            continue;
        }
        for (int r = 0; r < R; r++) {
            float v[16];
            _mm512_storeu_ps(v, out[r * G + g]);
            for (int a = 0; a < 16 && bg + a < B; a++) y[(bg + a) * ys + row + r] = v[a];
        }
    }
}

void smol_quant_gemm_rows(uint32_t t, int64_t n, const void *w, size_t w_row, int64_t r0, int64_t r1,
                          const void *packed, int64_t B, float *y, int64_t y_stride) {
    wstore st;
    wpanel p;
    int unit = smol_quant_gemm_unit(t), S = unit / 4, M = t == SMOL_Q4_K || t == SMOL_Q5_K;
    size_t gb = smol_quant_gemm_group_bytes(t, n), ub = gb / (size_t)(n / unit);
    int64_t ng = (B + SMOL_QGEMM_GROUP - 1) / SMOL_QGEMM_GROUP;
    for (int64_t rg = r0; rg < r1; rg += TILE_ROWS) {
        int R = r1 - rg < TILE_ROWS ? (int)(r1 - rg) : TILE_ROWS;
        build_panel(t, (const uint8_t *)w + (size_t)rg * w_row, w_row, R, n, &st, &p);
        for (int64_t g = 0; g < ng; g += GMAX) {
            int G = ng - g >= GMAX ? GMAX : (int)(ng - g);
            const uint8_t *act = (const uint8_t *)packed + (size_t)g * gb;
            __m512 out[TILE_ROWS * GMAX];
            if (R == TILE_ROWS) {
                pick_tile(R, G, S, M)(&p, 0, act, gb, ub, out);
                store_tile(out, R, G, rg, g * SMOL_QGEMM_GROUP, B, y, y_stride);
            } else {
                for (int r = 0; r < R; r++) {
                    pick_tile(1, G, S, M)(&p, r, act, gb, ub, out);
                    store_tile(out, 1, G, rg + r, g * SMOL_QGEMM_GROUP, B, y, y_stride);
                }
            }
        }
    }
}
