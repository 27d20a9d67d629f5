/* fgemm_avx512.c: the AVX-512 float GEMM of fgemm.h (prompt processing of f32, f16 and bf16
 * weights).
 *
 * For a panel of up to 64 weight rows and a chunk of up to KC elements, pack_panel converts the
 * weights to f32 and transposes them 16 x 16 at a time into buf[k * 64 + r]. A tile of T <= 6
 * activations x V <= 4 vectors of 16 rows then runs over the chunk: per element k, V aligned
 * loads of the panel, T broadcasts of x[b][k], T * V fused multiply-adds into 24 (at most)
 * accumulators that start from y (or from 0 on the first chunk) and go back to y at the end
 * of the chunk. Rows past the matrix are zero in the panel and masked out of y.
 * Used only after smol_cpu_has_avx512() is checked (matmul.c). */
#include "model/fgemm.h"
#include <immintrin.h>

#define PANEL SMOL_FGEMM_PANEL
#define KC 512  /* longest chunk: the panel buffer is PANEL * KC floats (128 KB, on the stack) */
#define TT 6    /* activations per tile */
#define TV 4    /* vectors of 16 rows per tile: PANEL / 16 */

/* Elements [k, k + 16) of a weight row of type t as floats, lanes outside mask m zero. */
static inline __m512 load16(uint32_t t, const uint8_t *row, int64_t k, __mmask16 m) {
    if (t == SMOL_F32) return _mm512_maskz_loadu_ps(m, (const float *)row + k);
    __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)row + k);
    if (t == SMOL_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));  /* bf16 */
}

/* In-register transpose: c[j] lane i becomes the old c[i] lane j. */
static inline __attribute__((always_inline)) void transpose16(__m512 c[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(c[2 * i], c[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(c[2 * i], c[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {  /* u[4i + j], 128-bit lane L: rows 4i..4i+3 of column 4L + j */
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int j = 0; j < 4; j++) {  /* a 4 x 4 transpose of 128-bit lanes over u[j], u[4 + j], ... */
        __m512 s0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44), s1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xee);
        __m512 s2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44), s3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xee);
        c[j] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        c[4 + j] = _mm512_shuffle_f32x4(s0, s2, 0xdd);
        c[8 + j] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        c[12 + j] = _mm512_shuffle_f32x4(s1, s3, 0xdd);
    }
}

/* Rows [0, R) (R <= PANEL) x elements [k0, k0 + kc) of w as buf[k * PANEL + r]; rows R up to the
 * next multiple of 16 are zero. T is the weight type, a constant in each instance. */
static inline __attribute__((always_inline)) void pack_body(const uint8_t *w, size_t w_row, int R, int64_t k0,
                                                            int kc, float *buf, const uint32_t T) {
    for (int v = 0; v * 16 < R; v++) {
        const uint8_t *rows[16];
        for (int i = 0; i < 16; i++) rows[i] = w + (size_t)(v * 16 + (v * 16 + i < R ? i : 0)) * w_row;
        __mmask16 present = (__mmask16)(R - v * 16 >= 16 ? 0xffff : (1u << (R - v * 16)) - 1);
        for (int kb = 0; kb < kc; kb += 16) {
            int m = kc - kb < 16 ? kc - kb : 16;
            __mmask16 km = (__mmask16)((1u << m) - 1);
            __m512 c[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) c[i] = load16(T, rows[i], k0 + kb, (present >> i & 1) ? km : 0);
            transpose16(c);
            for (int i = 0; i < m; i++) _mm512_store_ps(buf + (size_t)(kb + i) * PANEL + v * 16, c[i]);
        }
    }
}

static void pack_panel(uint32_t t, const uint8_t *w, size_t w_row, int R, int64_t k0, int kc, float *buf) {
    if (t == SMOL_F16) pack_body(w, w_row, R, k0, kc, buf, SMOL_F16);
    else if (t == SMOL_F32) pack_body(w, w_row, R, k0, kc, buf, SMOL_F32);
    else pack_body(w, w_row, R, k0, kc, buf, SMOL_BF16);
}

/* Cache lines of the weights the next pack_panel will read, asked for a few at a time between
 * tiles so the loads overlap the arithmetic instead of stalling the conversion. */
typedef struct {
    uintptr_t next;       /* the row of the next line to ask for (an address, maybe past the matrix) */
    size_t w_row;         /* bytes per row */
    int64_t row_lines;    /* lines per row */
    int64_t rows_left, line;  /* rows not finished; lines done in the current row */
} prefetcher;

/* Aims p at rows [0, R) of w, bytes [at, at + len) of each. */
static void prefetch_plan(prefetcher *p, uintptr_t w, size_t w_row, int R, size_t at, size_t len) {
    p->next = w + (at & ~(size_t)63), p->w_row = w_row;
    p->row_lines = (int64_t)((at + len + 63) / 64 - at / 64);
    p->rows_left = R, p->line = 0;
}

/* Asks for the next count lines (into L2: the tiles in between would evict L1). */
static inline void prefetch_some(prefetcher *p, int64_t count) {
    for (; count > 0 && p->rows_left > 0; count--) {
        _mm_prefetch((const char *)(p->next + (uintptr_t)p->line * 64), _MM_HINT_T1);
        if (++p->line == p->row_lines) p->line = 0, p->next += p->w_row, p->rows_left--;
    }
}

/* T activations (x row b at x + b * n) x V vectors of 16 rows over kc elements of the panel,
 * into y (row b at y + b * ys, the last vector masked by lm), starting from 0 if first. */
static inline __attribute__((always_inline)) void tile_body(const float *buf, int kc, const float *x, int64_t n,
                                                            float *y, int64_t ys, __mmask16 lm, int first,
                                                            const int T, const int V) {
    __m512 acc[TT][TV];
#pragma GCC unroll 6
    for (int b = 0; b < T; b++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++)
            acc[b][v] = first ? _mm512_setzero_ps()
                        : v == V - 1 ? _mm512_maskz_loadu_ps(lm, y + b * ys + 16 * v) : _mm512_loadu_ps(y + b * ys + 16 * v);
    for (int k = 0; k < kc; k++) {
        __m512 wv[TV];
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) wv[v] = _mm512_load_ps(buf + (size_t)k * PANEL + 16 * v);
#pragma GCC unroll 6
        for (int b = 0; b < T; b++) {
            __m512 xb = _mm512_set1_ps(x[b * n + k]);
#pragma GCC unroll 4
            for (int v = 0; v < V; v++) acc[b][v] = _mm512_fmadd_ps(wv[v], xb, acc[b][v]);
        }
    }
#pragma GCC unroll 6
    for (int b = 0; b < T; b++)
#pragma GCC unroll 4
        for (int v = 0; v < V; v++) {
            if (v == V - 1) _mm512_mask_storeu_ps(y + b * ys + 16 * v, lm, acc[b][v]);
            else _mm512_storeu_ps(y + b * ys + 16 * v, acc[b][v]);
        }
}

typedef void (*tile_fn)(const float *buf, int kc, const float *x, int64_t n, float *y, int64_t ys, __mmask16 lm,
                        int first);

#define TILE(T, V) \
    static void tile_##T##_##V(const float *buf, int kc, const float *x, int64_t n, float *y, int64_t ys, \
                               __mmask16 lm, int first) { \
        tile_body(buf, kc, x, n, y, ys, lm, first, T, V); \
    }
#define TILES(T) TILE(T, 1) TILE(T, 2) TILE(T, 3) TILE(T, 4)
TILES(1) TILES(2) TILES(3) TILES(4) TILES(5) TILES(6)

static const tile_fn k_tiles[TT][TV] = {
    {tile_1_1, tile_1_2, tile_1_3, tile_1_4}, {tile_2_1, tile_2_2, tile_2_3, tile_2_4},
    {tile_3_1, tile_3_2, tile_3_3, tile_3_4}, {tile_4_1, tile_4_2, tile_4_3, tile_4_4},
    {tile_5_1, tile_5_2, tile_5_3, tile_5_4}, {tile_6_1, tile_6_2, tile_6_3, tile_6_4},
};

void smol_fgemm_rows(uint32_t t, int64_t n, const void *w, size_t w_row, int64_t r0, int64_t r1,
                     const float *x, int64_t b0, int64_t b1, float *y, int64_t y_stride) {
    if (n <= 0 || r1 <= r0 || b1 <= b0) return;
    _Alignas(64) float buf[PANEL * KC];
    size_t esize = t == SMOL_F32 ? 4 : 2;
    int64_t tiles = (b1 - b0 + TT - 1) / TT;
    int64_t chunks = (n + KC - 1) / KC, step = (n + chunks - 1) / chunks;  /* equal chunks of at most KC */
    step = (step + 15) & ~(int64_t)15;
    if (step > KC) step = KC;
    prefetcher pf;
    for (int64_t rp = r0; rp < r1; rp += PANEL) {
        int R = r1 - rp < PANEL ? (int)(r1 - rp) : PANEL, V = (R + 15) / 16;
        __mmask16 lm = (__mmask16)((1u << (R - 16 * (V - 1))) - 1);
        const uint8_t *wp = (const uint8_t *)w + (size_t)rp * w_row;
        for (int64_t k0 = 0; k0 < n; k0 += step) {
            int kc = n - k0 < step ? (int)(n - k0) : (int)step;
            pack_panel(t, wp, w_row, R, k0, kc, buf);
            /* the next chunk, or after the last one the first chunk of the rows that follow (most
             * often the next task's; a prefetch is only a hint and never faults) */
            if (k0 + step < n) {
                int64_t next = n - k0 - step < step ? n - k0 - step : step;
                prefetch_plan(&pf, (uintptr_t)wp, w_row, R, (size_t)(k0 + step) * esize, (size_t)next * esize);
            } else {
                prefetch_plan(&pf, (uintptr_t)wp + (size_t)PANEL * w_row, w_row, PANEL, 0, (size_t)step * esize);
            }
            int64_t per = (pf.rows_left * pf.row_lines + tiles - 1) / tiles;
            for (int64_t b = b0; b < b1; b += TT) {
                int T = b1 - b < TT ? (int)(b1 - b) : TT;
                k_tiles[T - 1][V - 1](buf, kc, x + b * n + k0, n, y + b * y_stride + rp, y_stride, lm, k0 == 0);
                prefetch_some(&pf, per);
            }
        }
    }
}
