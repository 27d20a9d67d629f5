/* test_matmul.c: smol_matmul against a naive double-precision product of the dequantized
 * weights and the dequantized converted activations, for every weight type with a kernel,
 * at 1, 2 and 3 threads and batches of 1, 3, 17 and 64 rows; plus argument errors. */
#include "check.h"
#include "model/matmul.h"
#include "model/quant.h"
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
}

int main(void) {
    RUN(test_matmul_vs_naive);
    RUN(test_matmul_close_to_float);
    RUN(test_matmul_row_chunks);
    RUN(test_matmul_errors);
    return check_done();
}
