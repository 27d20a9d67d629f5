/* test_matmul.c: smol_matmul against a naive double-precision product of the dequantized
 * weights and the dequantized converted activations, for every weight type with a kernel,
 * at 1, 2 and 3 threads and batches of 1, 3, 17 and 64 rows; the packed-activation GEMM
 * (quant_gemm.h) against scalar dots on odd shapes; the float GEMM (fgemm.h) against an
 * in-order fused multiply-add chain (bit for bit) and scalar dots; several products in one
 * dispatch (smol_matmul_multi) against the same products one by one; plus argument errors. */
#include "check.h"
#include "base/cpu.h"
#include "model/matmul.h"
#include "model/quant.h"
#include "model/quant_gemm.h"
#include "model/fgemm.h"
#include "model/dtype.h"
#include "smol.h"
#include <stdint.h>

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static float frand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) & 0xffffff) / 16777216.0f * 2 - 1;
}

enum { ROWS = 37, N = 512, BMAX = 64 };

static void test_matmul_vs_naive(void) {
    static const uint32_t types[] = {SMOL_F32, SMOL_F16, SMOL_BF16, SMOL_Q8_0, SMOL_Q4_0, SMOL_Q4_1,
                                     SMOL_Q5_0, SMOL_Q5_1, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K};
    static float wf[ROWS * N], wd[ROWS * N], x[BMAX * N], xd[BMAX * N], y[BMAX * ROWS];
    static uint8_t w[ROWS * N * 4], xq[N * 4];
    for (int i = 0; i < ROWS * N; i++) wf[i] = frand() * (1 + (i / 64) % 5);
    for (int i = 0; i < BMAX * N; i++) x[i] = frand() + frand();
    const int64_t batches[] = {1, 3, 17, 64};
    size_t scratch_size = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        size_t s = smol_matmul_scratch_size(types[k], N, BMAX);
        if (s > scratch_size) scratch_size = s;
    }
    void *scratch = aligned_alloc(64, (scratch_size + 63) / 64 * 64 + 64);
    REQUIRE(scratch, "alloc");
    for (int threads = 1; threads <= 3; threads++) {
        smol_pool *pool = smol_pool_new(threads);
        REQUIRE(pool, "pool of %d", threads);
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
            uint32_t t = types[k], dt = smol_vec_dot_type(t);
            size_t row = (size_t)smol_dtype_row_size(t, N);
            for (int r = 0; r < ROWS; r++) {
                REQUIRE(smol_quantize_row(t, wf + r * N, w + r * row, N) == SMOL_OK, "quantize %s", smol_dtype_name(t));
                smol_dequantize_row(t, w + r * row, wd + r * N, N);
            }
            for (int b = 0; b < BMAX; b++) {  /* what the activations become after conversion */
                smol_quantize_row(dt, x + b * N, xq, N);
                smol_dequantize_row(dt, xq, xd + b * N, N);
            }
            for (size_t bi = 0; bi < 4; bi++) {
                int64_t B = batches[bi];
                memset(y, 0xff, sizeof y);
                int rc = smol_matmul(pool, w, t, ROWS, N, x, B, y, scratch);
                REQUIRE(rc == SMOL_OK, "%s: rc=%d", smol_dtype_name(t), rc);
                for (int64_t b = 0; b < B; b++)
                    for (int r = 0; r < ROWS; r++) {
                        double want = 0, abs_sum = 0;
                        for (int i = 0; i < N; i++) {
                            double p = (double)wd[r * N + i] * xd[b * N + i];
                            want += p;
                            abs_sum += fabs(p);
                        }
                        float got = y[b * ROWS + r];
                        REQUIRE(fabs(got - want) <= 1e-5 * abs_sum, "%s threads=%d B=%lld: y[%lld][%d]=%.8g want %.8g",
                                smol_dtype_name(t), threads, (long long)B, (long long)b, r, got, want);
                    }
            }
        }
        smol_pool_free(pool);
    }
    free(scratch);
}

/* The quantized product stays close to the exact float product of the original weights. */
static void test_matmul_close_to_float(void) {
    static float wf[ROWS * N], x[3 * N], y[3 * ROWS];
    static uint8_t w[ROWS * N * 2];
    static uint8_t scratch[3 * N * 2];
    for (int i = 0; i < ROWS * N; i++) wf[i] = frand();
    for (int i = 0; i < 3 * N; i++) x[i] = frand();
    struct { uint32_t t; double tol; } cases[] = {{SMOL_Q8_0, 0.01}, {SMOL_Q4_K, 0.1}, {SMOL_Q6_K, 0.03}};
    for (int c = 0; c < 3; c++) {
        size_t row = (size_t)smol_dtype_row_size(cases[c].t, N);
        for (int r = 0; r < ROWS; r++) smol_quantize_row(cases[c].t, wf + r * N, w + r * row, N);
        REQUIRE(smol_matmul(NULL, w, cases[c].t, ROWS, N, x, 3, y, scratch) == SMOL_OK, "rc");
        double err = 0, ref = 0;
        for (int b = 0; b < 3; b++)
            for (int r = 0; r < ROWS; r++) {
                double want = 0;
                for (int i = 0; i < N; i++) want += (double)wf[r * N + i] * x[b * N + i];
                err += (y[b * ROWS + r] - want) * (y[b * ROWS + r] - want);
                ref += want * want;
            }
        CHECK(sqrt(err / ref) < cases[c].tol, "%s: relative error %.4f", smol_dtype_name(cases[c].t), sqrt(err / ref));
    }
}

/* Row counts that are not multiples of the chunk or tile sizes, with several thread counts:
 * every output is written, and equals the single dot of its row. */
static void test_matmul_row_chunks(void) {
    enum { R = 127, K = 96, BB = 9 };
    static float wf[R * K], x[BB * K], y[BB * R];
    static uint8_t w[R * K * 4], xq[BB * K * 4], scratch[BB * K * 2];
    for (int i = 0; i < R * K; i++) wf[i] = frand();
    for (int i = 0; i < BB * K; i++) x[i] = frand();
    const uint32_t types[] = {SMOL_F32, SMOL_F16, SMOL_Q8_0};
    for (int k = 0; k < 3; k++) {
        uint32_t t = types[k];
        size_t row = (size_t)smol_dtype_row_size(t, K), xrow = (size_t)smol_dtype_row_size(smol_vec_dot_type(t), K);
        for (int r = 0; r < R; r++) smol_quantize_row(t, wf + r * K, w + r * row, K);
        for (int b = 0; b < BB; b++) smol_quantize_row(smol_vec_dot_type(t), x + b * K, xq + b * xrow, K);
        smol_vec_dot_fn dot = smol_get_vec_dot(t);
        for (int threads = 1; threads <= 3; threads++) {
            smol_pool *pool = smol_pool_new(threads);
            for (int B = 1; B <= BB; B += 4) {
                for (int i = 0; i < BB * R; i++) y[i] = NAN;
                REQUIRE(smol_matmul(pool, w, t, R, K, x, B, y, scratch) == SMOL_OK, "rc");
                for (int b = 0; b < B; b++)
                    for (int r = 0; r < R; r++) {
                        float want;
                        dot(K, &want, w + r * row, xq + b * xrow);
                        float got = y[b * R + r];
                        if (!(fabsf(got - want) <= 1e-4f * (1 + fabsf(want)))) {
                            CHECK(0, "%s threads=%d B=%d: y[%d][%d]=%g want %g", smol_dtype_name(t), threads, B, b, r, got, want);
                            smol_pool_free(pool);
                            return;
                        }
                    }
            }
            smol_pool_free(pool);
        }
    }
}

/* Random blocks of type t: raw random bytes (every quant value, q8_0's -128 included) with the
 * f16 scales replaced by finite ones spanning 1e-3..1e1, or quantized random floats. */
static void random_rows(uint32_t t, int64_t rows, int64_t n, uint8_t *w, int raw) {
    size_t row = (size_t)smol_dtype_row_size(t, (uint64_t)n), bb = smol_dtype_get(t)->size;
    static float f[4096];
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *wr = w + (size_t)r * row;
        if (!raw) {
            for (int64_t i = 0; i < n; i++) f[i] = frand() * (1 + (float)(i / 32 % 7));
            smol_quantize_row(t, f, wr, n);
            continue;
        }
        for (size_t i = 0; i < row; i++) wr[i] = (uint8_t)(frand() * 128 + 128);
        for (uint8_t *b = wr; b < wr + row; b += bb) {
            size_t at = t == SMOL_Q6_K ? 208 : 0;  /* d (and dmin after it for q4_K / q5_K) */
            int scales = t == SMOL_Q4_K || t == SMOL_Q5_K ? 2 : 1;
            for (int k = 0; k < scales; k++) {
                uint16_t h = smol_f32_to_f16(frand() * powf(10, 2 * frand() - 1) * 0.1f);
                memcpy(b + at + 2 * k, &h, 2);
            }
        }
    }
}

/* The packed GEMM for every type it covers against scalar dots of the converted activations:
 * rows not a multiple of 4, row ranges starting mid-matrix, batches around the group size,
 * lengths 32..2048, raw and quantized blocks; cells outside the rows and batch stay untouched.
 * Then smol_matmul with B >= 16 (which takes the GEMM) at 2 threads on the same data. */
static void test_gemm_vs_scalar(void) {
    if (!(smol_cpu_has_avx512() && smol_cpu_get()->avx512vnni)) {
        printf("# no AVX-512 VNNI (or capped by SMOL_CPU): GEMM kernels not run\n");
        return;
    }
    enum { RMAX = 23, BMX = 50, NMAX = 2048 };
    static const uint32_t types[] = {SMOL_Q8_0, SMOL_Q4_0, SMOL_Q5_0, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K};
    static const int64_t lens32[] = {32, 96, 544, 2048}, lensK[] = {256, 512, 2048};
    static const int64_t batches[] = {16, 17, 31, 33, 50};
    static uint8_t w[RMAX * NMAX * 2], xq[BMX * NMAX * 2];
    static float x[BMX * NMAX], wd[NMAX], xd[NMAX], y[BMX * (RMAX + 3)], y2[BMX * RMAX];
    void *packed = aligned_alloc(64, 4 * smol_quant_gemm_group_bytes(SMOL_Q4_K, NMAX));
    size_t scratch_size = smol_matmul_scratch_size(SMOL_Q4_K, NMAX, BMX) + smol_matmul_scratch_size(SMOL_Q8_0, NMAX, BMX);
    void *scratch = aligned_alloc(64, (scratch_size + 63) / 64 * 64);
    smol_pool *pool = smol_pool_new(2);
    REQUIRE(packed && scratch && pool, "alloc");
    for (int i = 0; i < BMX * NMAX; i++) x[i] = frand() * (1 + (float)(i % 97) / 16);
    int checked = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        uint32_t t = types[k], dt = smol_vec_dot_type(t);
        int kq = t == SMOL_Q4_K || t == SMOL_Q5_K || t == SMOL_Q6_K;
        smol_vec_dot_fn dot = smol_get_vec_dot_level(t, SMOL_SIMD_SCALAR);
        for (int li = 0; li < (kq ? 3 : 4); li++) {
            int64_t n = kq ? lensK[li] : lens32[li];
            size_t row = (size_t)smol_dtype_row_size(t, (uint64_t)n), xrow = (size_t)smol_dtype_row_size(dt, (uint64_t)n);
            REQUIRE(smol_quant_gemm_supported(t, n), "%s n=%lld not supported", smol_dtype_name(t), (long long)n);
            random_rows(t, RMAX, n, w, li % 2 == 0);
            for (int b = 0; b < BMX; b++) smol_quantize_row(dt, x + b * n, xq + b * xrow, n);
            for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++) {
                int64_t B = batches[bi], ys = RMAX + 3, r0 = (int64_t)bi % 4, r1 = RMAX - (int64_t)bi % 3;
                for (int64_t g = 0; g * 16 < B; g++) smol_quant_gemm_pack(t, n, xq, xrow, B, g, packed);
                for (int i = 0; i < BMX * (RMAX + 3); i++) y[i] = NAN;
                smol_quant_gemm_rows(t, n, w, row, r0, r1, packed, B, y, ys);
                for (int i = 0; i < BMX * RMAX; i++) y2[i] = NAN;
                REQUIRE(smol_matmul(pool, w, t, RMAX, n, x + 0, B, y2, scratch) == SMOL_OK, "matmul rc");
                for (int64_t b = 0; b < BMX; b++)
                    for (int64_t r = 0; r < RMAX + 3; r++) {
                        float got = y[b * ys + r];
                        if (b >= B || r < r0 || r >= r1) {
                            REQUIRE(isnan(got), "%s n=%lld B=%lld: y[%lld][%lld] outside rows [%lld,%lld) written",
                                    smol_dtype_name(t), (long long)n, (long long)B, (long long)b, (long long)r,
                                    (long long)r0, (long long)r1);
                            continue;
                        }
                        float want;
                        dot(n, &want, w + (size_t)r * row, xq + (size_t)b * xrow);
                        smol_dequantize_row(t, w + (size_t)r * row, wd, n);
                        smol_dequantize_row(dt, xq + (size_t)b * xrow, xd, n);
                        double abs_sum = 0;
                        for (int64_t i = 0; i < n; i++) abs_sum += fabs((double)wd[i] * xd[i]);
                        double tol = 1e-5 * abs_sum + 1e-30;
                        REQUIRE(fabs(got - want) <= tol, "%s n=%lld B=%lld %s: gemm y[%lld][%lld]=%.9g scalar %.9g",
                                smol_dtype_name(t), (long long)n, (long long)B, li % 2 == 0 ? "raw" : "quantized",
                                (long long)b, (long long)r, got, want);
                        float got2 = y2[b * RMAX + r];
                        REQUIRE(fabs(got2 - want) <= tol, "%s n=%lld B=%lld: smol_matmul y[%lld][%lld]=%.9g scalar %.9g",
                                smol_dtype_name(t), (long long)n, (long long)B, (long long)b, (long long)r, got2, want);
                        checked++;
                    }
            }
        }
    }
    printf("# %d GEMM outputs checked against scalar dots\n", checked);
    smol_pool_free(pool);
    free(packed);
    free(scratch);
}

/* The float GEMM for f16, f32 and bf16 weights: row counts and activation ranges that are not
 * multiples of the tile (6 activations x 64 rows), lengths 1..2048 (not multiples of 16, and
 * more than one chunk), batches 16..600. Each output must equal, bit for bit, the fused
 * multiply-add chain over k = 0..n-1 of the dequantized weights (the order fgemm.h promises),
 * and the scalar dot within 1e-5 * sum |w * x|; cells outside the ranges stay untouched. Then
 * smol_matmul (which takes this path for B >= 16) at 1 and 3 threads gives the same bits. */
static void test_fgemm_vs_scalar(void) {
    if (!smol_cpu_has_avx512()) {
        printf("# no AVX-512 (or capped by SMOL_CPU): float GEMM not run\n");
        return;
    }
    static const struct { uint32_t t; int rows, n, B; } cases[] = {
        {SMOL_F16, 70, 576, 37}, {SMOL_F16, 17, 1, 16},    {SMOL_F16, 33, 7, 600},  {SMOL_F16, 130, 100, 23},
        {SMOL_F16, 64, 1100, 50}, {SMOL_F16, 5, 2048, 19}, {SMOL_F32, 49, 513, 41}, {SMOL_F32, 16, 64, 16},
        {SMOL_F32, 200, 33, 97},  {SMOL_BF16, 81, 300, 29}, {SMOL_BF16, 3, 17, 100},
    };
    enum { MAXW = 64 * 1100, MAXX = 50 * 1100, MAXY = 600 * 35 };
    static float wf[MAXW], wd[MAXW], x[MAXX], y[MAXY], y2[MAXY];
    static uint8_t w[MAXW * 4];
    smol_pool *pools[2] = {smol_pool_new(1), smol_pool_new(3)};
    REQUIRE(pools[0] && pools[1], "pools");
    int checked = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t t = cases[c].t;
        int rows = cases[c].rows, n = cases[c].n, B = cases[c].B, ys = rows + 2;
        REQUIRE((size_t)rows * n <= MAXW && (size_t)B * n <= MAXX && (size_t)B * ys <= MAXY, "case %zu too big", c);
        size_t row = (size_t)smol_dtype_row_size(t, (uint64_t)n);
        for (int i = 0; i < rows * n; i++) wf[i] = frand() * (1 + (float)(i % 37) / 8);
        for (int i = 0; i < B * n; i++) x[i] = frand() + frand() * (float)(i % 5);
        for (int r = 0; r < rows; r++) {
            REQUIRE(smol_quantize_row(t, wf + (size_t)r * n, w + r * row, n) == SMOL_OK, "quantize");
            smol_dequantize_row(t, w + r * row, wd + (size_t)r * n, n);
        }
        int r0 = (int)(c % 3), r1 = rows - (int)(c % 2), b0 = (int)(c % 4), b1 = B - (int)(c % 3);
        for (int i = 0; i < B * ys; i++) y[i] = NAN;
        smol_fgemm_rows(t, n, w, row, r0, r1, x, b0, b1, y, ys);
        smol_vec_dot_fn dot = smol_get_vec_dot_level(t, SMOL_SIMD_SCALAR);
        for (int b = 0; b < B; b++)
            for (int r = 0; r < ys; r++) {
                float got = y[b * ys + r];
                if (b < b0 || b >= b1 || r < r0 || r >= r1) {
                    REQUIRE(isnan(got), "%s rows=%d n=%d B=%d: y[%d][%d] outside rows [%d,%d) x [%d,%d) written",
                            smol_dtype_name(t), rows, n, B, b, r, r0, r1, b0, b1);
                    continue;
                }
                float chain = 0, want;
                double abs_sum = 0;
                for (int k = 0; k < n; k++) {
                    chain = fmaf(wd[(size_t)r * n + k], x[b * n + k], chain);
                    abs_sum += fabs((double)wd[(size_t)r * n + k] * x[b * n + k]);
                }
                REQUIRE(memcmp(&got, &chain, sizeof got) == 0, "%s rows=%d n=%d B=%d: y[%d][%d]=%.9g, fma chain %.9g",
                        smol_dtype_name(t), rows, n, B, b, r, got, chain);
                dot(n, &want, w + (size_t)r * row, x + b * n);
                REQUIRE(fabs(got - want) <= 1e-5 * abs_sum + 1e-30, "%s rows=%d n=%d B=%d: y[%d][%d]=%.9g, scalar dot %.9g",
                        smol_dtype_name(t), rows, n, B, b, r, got, want);
                checked++;
            }
        if (B < 16) continue;
        for (int p = 0; p < 2; p++) {  /* the whole matrix through smol_matmul */
            for (int i = 0; i < B * rows; i++) y2[i] = NAN;
            REQUIRE(smol_matmul(pools[p], w, t, rows, n, x, B, y2, NULL) == SMOL_OK, "matmul rc");
            for (int i = 0; i < B * ys; i++) y[i] = NAN;
            smol_fgemm_rows(t, n, w, row, 0, rows, x, 0, B, y, ys);
            for (int b = 0; b < B; b++)
                for (int r = 0; r < rows; r++)
                    REQUIRE(memcmp(&y2[b * rows + r], &y[b * ys + r], sizeof(float)) == 0,
                            "%s rows=%d n=%d B=%d threads=%d: smol_matmul y[%d][%d]=%.9g, fgemm %.9g", smol_dtype_name(t),
                            rows, n, B, smol_pool_size(pools[p]), b, r, y2[b * rows + r], y[b * ys + r]);
        }
    }
    for (int i = 0; i < 64; i++) y[i] = NAN;
    smol_fgemm_rows(SMOL_F16, 64, w, 128, 0, 4, x, 3, 3, y, 8);  /* no activations */
    smol_fgemm_rows(SMOL_F16, 64, w, 128, 2, 2, x, 0, 4, y, 8);  /* no rows */
    for (int i = 0; i < 64; i++) REQUIRE(isnan(y[i]), "an empty range wrote y[%d]", i);
    printf("# %d float GEMM outputs checked against fma chains and scalar dots\n", checked);
    smol_pool_free(pools[0]);
    smol_pool_free(pools[1]);
}

/* aligned-mode callback of test_matmul_multi: z = y0 * y1 on the rows just computed, and a
 * count of how often each row was handed over. */
typedef struct { const float *y0, *y1; float *z; int *seen; int64_t rows, B; } multi_after_ctx;
static void multi_after(void *ctx, int64_t r0, int64_t r1) {
    multi_after_ctx *a = ctx;
    for (int64_t r = r0; r < r1; r++) {
        a->seen[r]++;
        for (int64_t b = 0; b < a->B; b++) a->z[b * a->rows + r] = a->y0[b * a->rows + r] * a->y1[b * a->rows + r];
    }
}

/* smol_matmul_multi (several products in one dispatch) against the same products run one by one
 * with smol_matmul: bit-identical outputs for mixed types and dot types, rows not a multiple of 4
 * and an empty part, batches of 1, 3 and 17 (17 takes the GEMM paths), 1 to 3 threads; in
 * aligned mode the callback sees every row once, after both products are done. */
static void test_matmul_multi(void) {
    enum { K = 512, BM = 17, RMAX = 64 };
    static const struct { int n; uint32_t t[4]; int64_t rows[4]; int aligned; } sets[] = {
        {3, {SMOL_Q5_0, SMOL_Q5_0, SMOL_Q8_0}, {58, 19, 19}, 0},          /* q, k, v of a q4_k_m layer */
        {4, {SMOL_Q4_K, SMOL_Q6_K, SMOL_F16, SMOL_Q8_0}, {37, 40, 13, 0}, 0}, /* q8_K, f16 and q8_0 inputs */
        {2, {SMOL_F32, SMOL_Q4_0}, {9, 64}, 0},
        {2, {SMOL_Q5_0, SMOL_Q5_0}, {41, 41}, 1},                        /* gate and up */
        {2, {SMOL_Q4_K, SMOL_Q8_0}, {64, 64}, 1},
    };
    static float wf[RMAX * K], x[BM * K], want[4][BM * RMAX], got[4][BM * RMAX], z[BM * RMAX];
    static uint8_t w[4][RMAX * K * 4];
    static int seen[RMAX];
    for (int i = 0; i < BM * K; i++) x[i] = frand() + frand();
    int compared = 0;
    for (size_t si = 0; si < sizeof sets / sizeof sets[0]; si++) {
        smol_matmul_part parts[4];
        for (int p = 0; p < sets[si].n; p++) {
            uint32_t t = sets[si].t[p];
            size_t row = (size_t)smol_dtype_row_size(t, K);
            for (int i = 0; i < RMAX * K; i++) wf[i] = frand() * (1 + (i / 32) % 5);
            for (int r = 0; r < sets[si].rows[p]; r++) smol_quantize_row(t, wf + r * K, w[p] + r * row, K);
            parts[p] = (smol_matmul_part){w[p], t, sets[si].rows[p], got[p]};
        }
        size_t need = smol_matmul_multi_scratch_size(parts, sets[si].n, K, BM);
        void *scratch = aligned_alloc(64, (need + 63) / 64 * 64 + 64);
        REQUIRE(scratch, "alloc");
        for (int threads = 1; threads <= 3; threads++) {
            smol_pool *pool = smol_pool_new(threads);
            REQUIRE(pool, "pool of %d", threads);
            for (int64_t B = 1; B <= BM; B += B == 1 ? 2 : 14) {
                for (int p = 0; p < sets[si].n; p++) {
                    REQUIRE(smol_matmul(pool, w[p], parts[p].type, parts[p].n_rows, K, x, B, want[p], scratch) == SMOL_OK, "rc");
                    memset(got[p], 0xff, sizeof got[p]);
                }
                multi_after_ctx a = {got[0], got[1], z, seen, parts[0].n_rows, B};
                memset(seen, 0, sizeof seen);
                int rc = smol_matmul_multi(pool, parts, sets[si].n, K, x, B, sets[si].aligned ? multi_after : NULL, &a, scratch);
                REQUIRE(rc == SMOL_OK, "set %zu: rc=%d", si, rc);
                for (int p = 0; p < sets[si].n; p++)
                    for (int64_t i = 0; i < B * parts[p].n_rows; i++, compared++)
                        if (memcmp(&got[p][i], &want[p][i], sizeof(float))) {
                            CHECK(0, "set %zu part %d (%s) threads=%d B=%lld: y[%lld][%lld]=%.9g, alone %.9g", si, p,
                                  smol_dtype_name(parts[p].type), threads, (long long)B, (long long)(i / parts[p].n_rows),
                                  (long long)(i % parts[p].n_rows), got[p][i], want[p][i]);
                            smol_pool_free(pool);
                            free(scratch);
                            return;
                        }
                for (int64_t r = 0; sets[si].aligned && r < parts[0].n_rows; r++) {
                    REQUIRE(seen[r] == 1, "set %zu threads=%d B=%lld: row %lld handed to the callback %d times", si,
                            threads, (long long)B, (long long)r, seen[r]);
                    for (int64_t b = 0; b < B; b++)
                        REQUIRE(z[b * parts[0].n_rows + r] == want[0][b * parts[0].n_rows + r] * want[1][b * parts[0].n_rows + r],
                                "set %zu threads=%d B=%lld: callback saw row %lld before it was done", si, threads,
                                (long long)B, (long long)r);
                }
            }
            smol_pool_free(pool);
        }
        free(scratch);
    }
    printf("# %d fused outputs equal to the separate products\n", compared);
}

static void test_matmul_errors(void) {
    float x[64] = {0}, y[4];
    uint8_t w[512] = {0}, scratch[512];
    CHECK(smol_matmul(NULL, w, SMOL_Q8_0, 1, 33, x, 1, y, scratch) == SMOL_EINVAL, "n not a multiple of 32");
    CHECK(smol_matmul(NULL, w, SMOL_Q4_K, 1, 64, x, 1, y, scratch) == SMOL_EINVAL, "n not a multiple of 256");
    CHECK(smol_matmul(NULL, w, SMOL_IQ2_XXS, 1, 256, x, 1, y, scratch) == SMOL_EUNSUPPORTED, "no kernel");
    CHECK(smol_matmul(NULL, w, SMOL_Q8_0, -1, 32, x, 1, y, scratch) == SMOL_EINVAL, "negative rows");
    CHECK(smol_matmul(NULL, w, SMOL_Q8_0, 0, 32, x, 1, y, scratch) == SMOL_OK, "empty");
    CHECK(smol_matmul_scratch_size(SMOL_F16, 64, 4) == 0, "f16 uses x as is");
    CHECK(smol_matmul_scratch_size(SMOL_Q4_K, 512, 3) == 3 * 2 * 292, "q8_K rows");
    smol_matmul_part parts[5] = {{w, SMOL_Q8_0, 1, y}, {w, SMOL_Q8_0, 2, y}, {w, SMOL_Q8_0, 1, y}, {w, SMOL_Q8_0, 1, y},
                                 {w, SMOL_Q8_0, 1, y}};
    CHECK(smol_matmul_multi(NULL, parts, 0, 32, x, 1, NULL, NULL, scratch) == SMOL_EINVAL, "no parts");
    CHECK(smol_matmul_multi(NULL, parts, 5, 32, x, 1, NULL, NULL, scratch) == SMOL_EINVAL, "too many parts");
    CHECK(smol_matmul_multi(NULL, parts, 2, 32, x, 1, multi_after, NULL, scratch) == SMOL_EINVAL, "aligned, unequal rows");
    CHECK(smol_matmul_multi(NULL, parts, 2, 33, x, 1, NULL, NULL, scratch) == SMOL_EINVAL, "n not a multiple of 32");
    parts[1].type = SMOL_IQ2_XXS;
    CHECK(smol_matmul_multi(NULL, parts, 2, 256, x, 1, NULL, NULL, scratch) == SMOL_EUNSUPPORTED, "no kernel");
    parts[1] = (smol_matmul_part){w, SMOL_Q4_K, 1, y};
    CHECK(smol_matmul_multi_scratch_size(parts, 2, 256, 1) == 320 + 320, "q8_0 (272) and q8_K (292) rows, each 64-aligned");
}

int main(void) {
    RUN(test_matmul_vs_naive);
    RUN(test_matmul_close_to_float);
    RUN(test_matmul_row_chunks);
    RUN(test_gemm_vs_scalar);
    RUN(test_fgemm_vs_scalar);
    RUN(test_matmul_multi);
    RUN(test_matmul_errors);
    return check_done();
}
