/* fasttext_avx2.c: the AVX2 sum of product-quantized fastText input rows with 2-float
 * sub-vectors (fastText's default dsub): four centroids make one 8-float vector. Each float is
 * computed as the scalar path in fasttext.c does (norm * centroid, then added, row by row), so
 * the hidden vector has the same bits. */
#include "data/fasttext.h"
#include <immintrin.h>
#include <string.h>

/* The 2 floats of centroid c of sub-quantizer m, as the low half of a 128-bit vector. */
static inline __m128d pair_at(const float *cent, int32_t m, uint8_t c) {
    return _mm_load_sd((const double *)(const void *)(cent + ((size_t)m * FT_KSUB + c) * 2));
}

void ft_add_rows_pq2_avx2(const ft_matrix *mat, const int32_t *ids, size_t n, float *hidden) {
    const ft_pq *pq = &mat->pq;
    const float *cent = pq->centroids;
    int32_t nsubq = pq->nsubq, groups = nsubq / 4, m_tail = groups * 4;
    for (size_t r = 0; r < n; r++) {
        const uint8_t *code = mat->codes + (size_t)ids[r] * (size_t)nsubq;
        float a = mat->qnorm ? mat->npq.centroids[mat->norm_codes[ids[r]]] : 1.0f;
        __m256 va = _mm256_set1_ps(a);
        for (int32_t g = 0; g < groups; g++) {
            int32_t m = g * 4;
            __m128d lo = _mm_unpacklo_pd(pair_at(cent, m, code[m]), pair_at(cent, m + 1, code[m + 1]));
            __m128d hi = _mm_unpacklo_pd(pair_at(cent, m + 2, code[m + 2]), pair_at(cent, m + 3, code[m + 3]));
            __m256 c = _mm256_castpd_ps(_mm256_insertf128_pd(_mm256_castpd128_pd256(lo), hi, 1));
            float *h = hidden + (size_t)m * 2;
            _mm256_storeu_ps(h, _mm256_add_ps(_mm256_loadu_ps(h), _mm256_mul_ps(va, c)));
        }
        for (int32_t m = m_tail; m < nsubq; m++) {   /* dim not a multiple of 8 */
            const float *c = cent + ((size_t)m * FT_KSUB + code[m]) * 2;
            float p0 = a * c[0], p1 = a * c[1];   /* separate statements: never fused into an FMA */
            hidden[m * 2] += p0;
            hidden[m * 2 + 1] += p1;
        }
    }
}
