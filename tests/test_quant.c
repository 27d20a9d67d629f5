/* test_quant.c: the tensor formats and dot-product kernels: quantize -> dequantize error bounds,
 * hand-built blocks decoded against values computed from the format description, scalar dot
 * products against float dots of the dequantized rows, and every SIMD level against scalar. */
#include "check.h"
#include "model/quant_internal.h"
#include "base/cpu.h"
#include "smol.h"
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static float frand(void) { return (float)(rnd() & 0xffffff) / 16777216.0f * 2 - 1; }  /* [-1, 1) */

/* n values, roughly gaussian, with the scale changing every 32 elements (1e-3 .. 1e2). */
static void fill_signal(float *x, int64_t n, int wide_scales) {
    float scale = 1;
    for (int64_t i = 0; i < n; i++) {
        if (i % 32 == 0 && wide_scales) scale = powf(10.0f, frand() * 2.5f - 0.5f);
        x[i] = (frand() + frand() + frand()) * scale;
    }
}

static double rms(const float *x, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s / (double)n);
}

/* Relative RMS error of the quantize -> dequantize round trip of each type. The bounds come
 * from the step sizes: a b-bit block quant has relative step about 2/2^b of the block range. */
static void test_roundtrip_error(void) {
    struct { uint32_t t; double bound; } cases[] = {
        {SMOL_F16, 4e-4}, {SMOL_BF16, 3e-3}, {SMOL_Q8_0, 6e-3}, {SMOL_Q8_1, 6e-3}, {SMOL_Q8_K, 8e-3},
        {SMOL_Q4_0, 0.11}, {SMOL_Q4_1, 0.09}, {SMOL_Q5_0, 0.055}, {SMOL_Q5_1, 0.045},
        {SMOL_Q4_K, 0.10}, {SMOL_Q5_K, 0.05}, {SMOL_Q6_K, 0.025},
    };
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t q[N * 4];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t t = cases[c].t;
        fill_signal(x, N, 0);
        REQUIRE(smol_quantize_row(t, x, q, N) == SMOL_OK, "quantize %s", smol_dtype_name(t));
        REQUIRE(smol_dequantize_row(t, q, y, N) == SMOL_OK, "dequantize %s", smol_dtype_name(t));
        for (int i = 0; i < N; i++) y[i] -= x[i];
        double rel = rms(y, N) / rms(x, N);
        printf("# %s relative RMS error %.5f (bound %.5f)\n", smol_dtype_name(t), rel, cases[c].bound);
        CHECK(rel < cases[c].bound, "%s: relative RMS error %.5f >= %.5f", smol_dtype_name(t), rel, cases[c].bound);
        /* an all-zero row round-trips to zeros */
        memset(x, 0, sizeof x);
        smol_quantize_row(t, x, q, N);
        smol_dequantize_row(t, q, y, N);
        int nz = 0;
        for (int i = 0; i < N; i++) nz += y[i] != 0;
        CHECK(nz == 0, "%s: %d non-zero values from a zero row", smol_dtype_name(t), nz);
    }
}

static void put_half(uint8_t *p, float v) {
    uint16_t h = smol_f32_to_f16(v);
    memcpy(p, &h, 2);
}

/* Decodes hand-built blocks: each element's quant is chosen first and written into the block
 * by its bit position as the format describes; the expected value is computed from the
 * chosen quant and scale, never by reading the block back. */
static void test_known_blocks(void) {
    float y[256], want[256];
    int q[256];
    {   /* q4_0: element j in low nibble of byte 2+j, element j+16 in its high nibble */
        uint8_t b[18] = {0};
        put_half(b, 0.5f);
        for (int e = 0; e < 32; e++) {
            q[e] = (e * 7 + 3) % 16;
            b[2 + e % 16] |= (uint8_t)(q[e] << (e < 16 ? 0 : 4));
            want[e] = 0.5f * (q[e] - 8);
        }
        smol_dequantize_row(SMOL_Q4_0, b, y, 32);
        for (int e = 0; e < 32; e++) REQUIRE(y[e] == want[e], "q4_0[%d]=%g want %g", e, y[e], want[e]);
    }
    {   /* q5_1: fifth bit of element e is bit e of the little-endian u32 at byte 4 */
        uint8_t b[24] = {0};
        put_half(b, 0.25f);
        put_half(b + 2, -3.0f);
        for (int e = 0; e < 32; e++) {
            q[e] = (e * 11 + 5) % 32;
            b[8 + e % 16] |= (uint8_t)((q[e] & 15) << (e < 16 ? 0 : 4));
            b[4 + e / 8] |= (uint8_t)((q[e] >> 4) << (e % 8));
            want[e] = 0.25f * q[e] - 3.0f;
        }
        smol_dequantize_row(SMOL_Q5_1, b, y, 32);
        for (int e = 0; e < 32; e++) REQUIRE(y[e] == want[e], "q5_1[%d]=%g want %g", e, y[e], want[e]);
    }
    {   /* q4_K: scales 6-bit; sub-block j's quants are nibble (j%2) of bytes 16+32*(j/2).. */
        uint8_t b[144] = {0};
        put_half(b, 0.125f);
        put_half(b + 2, 0.0625f);
        int sc[8] = {1, 63, 17, 32, 40, 5, 63, 33}, mn[8] = {0, 7, 63, 12, 50, 1, 19, 62};
        for (int j = 0; j < 8; j++) {
            if (j < 4) { b[4 + j] |= (uint8_t)sc[j]; b[4 + j + 4] |= (uint8_t)mn[j]; }
            else {
                b[4 + j + 4] = (uint8_t)((sc[j] & 15) | (mn[j] & 15) << 4);
                b[4 + j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
                b[4 + j] |= (uint8_t)((mn[j] >> 4) << 6);
            }
        }
        for (int e = 0; e < 256; e++) {
            int j = e / 32;
            q[e] = (e * 5 + j) % 16;
            b[16 + 32 * (j / 2) + e % 32] |= (uint8_t)(q[e] << (4 * (j % 2)));
            want[e] = 0.125f * sc[j] * q[e] - 0.0625f * mn[j];
        }
        smol_dequantize_row(SMOL_Q4_K, b, y, 256);
        for (int e = 0; e < 256; e++) REQUIRE(y[e] == want[e], "q4_K[%d]=%g want %g", e, y[e], want[e]);
    }
    {   /* q6_K: ql[128] qh[64] scales[16] d; 128-halves; quarter p of a half takes the low (p<2)
         * or high nibble of ql[64h + (p odd ? 32 : 0) + l] and bits 2p..2p+1 of qh[32h + l] */
        uint8_t b[210] = {0};
        put_half(b + 208, 0.01f);
        float d = smol_f16_to_f32(smol_f32_to_f16(0.01f));
        for (int s = 0; s < 16; s++) b[192 + s] = (uint8_t)(int8_t)(s * 17 - 128);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            q[e] = (e * 13 + 7) % 64;
            b[64 * h + 32 * (p % 2) + l] |= (uint8_t)((q[e] & 15) << (p < 2 ? 0 : 4));
            b[128 + 32 * h + l] |= (uint8_t)((q[e] >> 4) << (2 * p));
            want[e] = d * (float)(int8_t)(uint8_t)((e / 16) * 17 - 128) * (q[e] - 32);
        }
        smol_dequantize_row(SMOL_Q6_K, b, y, 256);
        for (int e = 0; e < 256; e++) REQUIRE(y[e] == want[e], "q6_K[%d]=%g want %g", e, y[e], want[e]);
    }
    {   /* q3_K: hmask[32] qs[64] scales[12] d; scale i low 4 bits in byte i (i<8) or high
         * nibble of byte i-8, top 2 bits at bits 2*(i/4) of byte 8 + i%4; minus 32 */
        uint8_t b[110] = {0};
        put_half(b + 108, 2.0f);
        int sc[16];
        for (int i = 0; i < 16; i++) {
            sc[i] = (i * 23 + 1) % 64;
            b[96 + (i < 8 ? i : i - 8)] |= (uint8_t)((sc[i] & 15) << (i < 8 ? 0 : 4));
            b[96 + 8 + i % 4] |= (uint8_t)((sc[i] >> 4) << (2 * (i / 4)));
        }
        for (int e = 0; e < 256; e++) {
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            q[e] = (e * 3 + 1) % 8;  /* 3-bit value 0..7, stored as 2 low bits + high bit */
            b[32 + 32 * h + l] |= (uint8_t)((q[e] & 3) << (2 * p));
            b[l] |= (uint8_t)((q[e] >> 2) << (4 * h + p));
            want[e] = 2.0f * (sc[e / 16] - 32) * (q[e] - 4);
        }
        smol_dequantize_row(SMOL_Q3_K, b, y, 256);
        for (int e = 0; e < 256; e++) REQUIRE(y[e] == want[e], "q3_K[%d]=%g want %g", e, y[e], want[e]);
    }
    {   /* q2_K: scales[16] (low nibble scale, high nibble min) qs[64] d dmin */
        uint8_t b[84] = {0};
        put_half(b + 80, 0.5f);
        put_half(b + 82, 0.25f);
        for (int i = 0; i < 16; i++) b[i] = (uint8_t)((i * 5 + 2) % 16 | ((i * 3) % 16) << 4);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            q[e] = (e * 7 + 2) % 4;
            b[16 + 32 * h + l] |= (uint8_t)(q[e] << (2 * p));
            int i = e / 16;
            want[e] = 0.5f * ((i * 5 + 2) % 16) * q[e] - 0.25f * ((i * 3) % 16);
        }
        smol_dequantize_row(SMOL_Q2_K, b, y, 256);
        for (int e = 0; e < 256; e++) REQUIRE(y[e] == want[e], "q2_K[%d]=%g want %g", e, y[e], want[e]);
    }
}

/* Random bytes for every quant of a row of type t, with finite random half scales. */
static void make_raw_weights(uint32_t t, void *w, int64_t n, int wide) {
    const smol_dtype_info *ti = smol_dtype_get(t);
    int offs[2] = {-1, -1};
    switch (t) {
    case SMOL_Q4_0: case SMOL_Q5_0: case SMOL_Q8_0: offs[0] = 0; break;
    case SMOL_Q4_1: case SMOL_Q5_1: case SMOL_Q4_K: case SMOL_Q5_K: offs[0] = 0; offs[1] = 2; break;
    case SMOL_Q2_K: offs[0] = 80; offs[1] = 82; break;
    case SMOL_Q3_K: offs[0] = 108; break;
    case SMOL_Q6_K: offs[0] = 208; break;
    default: break;
    }
    uint8_t *b = w;
    size_t nb = (size_t)(n / ti->block);
    for (size_t i = 0; i < nb * ti->size; i++) b[i] = (uint8_t)rnd();
    for (size_t i = 0; i < nb; i++)
        for (int k = 0; k < 2; k++) {
            float scale = wide ? powf(10.0f, frand() * 2) * 0.01f : 0.01f;
            if (offs[k] >= 0) put_half(b + i * ti->size + offs[k], scale * frand());
        }
}

/* Fills a row of weights of type t: quantized from a signal when there is a quantizer, else
 * random quants with finite scales. */
static void make_weights(uint32_t t, void *w, int64_t n, int wide) {
    static float x[16384];
    fill_signal(x, n, wide);
    if (smol_quantize_row(t, x, w, n) != SMOL_OK) make_raw_weights(t, w, n, wide);
}

static const uint32_t k_dot_types[] = {
    SMOL_F32, SMOL_F16, SMOL_BF16, SMOL_Q8_0, SMOL_Q4_0, SMOL_Q4_1, SMOL_Q5_0, SMOL_Q5_1,
    SMOL_Q2_K, SMOL_Q3_K, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K,
};
#define N_DOT_TYPES (sizeof k_dot_types / sizeof k_dot_types[0])

/* The float dot of the dequantized rows (double accumulation) and sum |w*x|. */
static double deq_dot(uint32_t t, const void *w, const void *xq, int64_t n, double *abs_sum) {
    static float a[16384], b[16384];
    smol_dequantize_row(t, w, a, n);
    smol_dequantize_row(smol_vec_dot_type(t), xq, b, n);
    double s = 0, s_abs = 0;
    for (int64_t i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
        s_abs += fabs((double)a[i] * b[i]);
    }
    *abs_sum = s_abs;
    return s;
}

static void test_scalar_dot_vs_dequantized(void) {
    static uint8_t w[16384 * 4], xq[16384 * 4];
    static float x[16384];
    int64_t lens[] = {256, 512, 1536, 4096};
    for (size_t k = 0; k < N_DOT_TYPES; k++) {
        uint32_t t = k_dot_types[k];
        smol_vec_dot_fn dot = smol_get_vec_dot_level(t, SMOL_SIMD_SCALAR);
        REQUIRE(dot, "no scalar kernel for %s", smol_dtype_name(t));
        for (size_t li = 0; li < 4; li++)
            for (int rep = 0; rep < 4; rep++) {
                int64_t n = lens[li];
                make_weights(t, w, n, rep & 1);
                fill_signal(x, n, rep & 2);
                REQUIRE(smol_quantize_row(smol_vec_dot_type(t), x, xq, n) == 0, "activation");
                double abs_sum, want = deq_dot(t, w, xq, n, &abs_sum);
                float got;
                dot(n, &got, w, xq);
                REQUIRE(fabs(got - want) <= 1e-5 * abs_sum + 1e-30, "%s n=%lld rep=%d: dot %.9g, dequantized %.9g (|.| sum %.4g)",
                        smol_dtype_name(t), (long long)n, rep, got, want, abs_sum);
            }
    }
}

/* Every SIMD kernel against the scalar one, on rows of several lengths, narrow and very
 * wide scale ranges, and raw random blocks. */
static void test_simd_vs_scalar(void) {
    static uint8_t w[16384 * 4], xq[16384 * 4];
    static float x[16384];
    int64_t lens[] = {32, 64, 96, 256, 512, 768, 1536, 4096, 8960};
    int checked = 0;
    for (int level = SMOL_SIMD_AVX2; level <= SMOL_SIMD_AVX512; level++)
        for (size_t k = 0; k < N_DOT_TYPES; k++) {
            uint32_t t = k_dot_types[k];
            smol_vec_dot_fn simd = smol_get_vec_dot_level(t, level), ref = smol_get_vec_dot_level(t, SMOL_SIMD_SCALAR);
            if (!simd) continue;
            const smol_dtype_info *ti = smol_dtype_get(t), *xi = smol_dtype_get(smol_vec_dot_type(t));
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                int64_t n = lens[li];
                if (n % ti->block || n % xi->block) continue;
                for (int rep = 0; rep < 12; rep++) {
                    if (rep % 4 == 3 && ti->block > 1) make_raw_weights(t, w, n, rep & 4);
                    else make_weights(t, w, n, rep & 1);
                    fill_signal(x, n, rep & 2);
                    smol_quantize_row(smol_vec_dot_type(t), x, xq, n);
                    double abs_sum;
                    deq_dot(t, w, xq, n, &abs_sum);
                    float a, b;
                    ref(n, &a, w, xq);
                    simd(n, &b, w, xq);
                    REQUIRE(fabs((double)a - b) <= 1e-5 * abs_sum + 1e-30,
                            "%s level %d n=%lld rep=%d: simd %.9g scalar %.9g (|.| sum %.4g)",
                            smol_dtype_name(t), level, (long long)n, rep, b, a, abs_sum);
                    /* the K-quant kernels combine exact integer sums with the scalar float
                     * expression, so their results are bit-identical */
                    if (xi->block == QK_K) REQUIRE(a == b, "%s level %d n=%lld rep=%d: %.9g != scalar %.9g",
                                                   smol_dtype_name(t), level, (long long)n, rep, b, a);
                    checked++;
                }
            }
        }
    if (smol_cpu_has_avx2()) CHECK(checked > 0, "AVX2 CPU but no SIMD kernel was checked");
    printf("# %d SIMD rows compared with scalar\n", checked);
}

/* The SIMD activation quantizers write the very bytes of the scalar reference. */
static void test_simd_activation_quantizers(void) {
    static float x[8192];
    static uint8_t a[8192 * 2], b[8192 * 2];
    const smol_quant_kernels *levels[2] = {
        smol_cpu_has_avx2() ? &smol_quant_avx2 : NULL, smol_cpu_has_avx512() && smol_cpu_get()->avx512vnni ? &smol_quant_avx512 : NULL};
    for (int l = 0; l < 2; l++) {
        if (!levels[l]) continue;
        for (int rep = 0; rep < 20; rep++) {
            int64_t n = 256 * (1 + rep % 8);
            fill_signal(x, n, rep & 1);
            if (rep == 5) for (int i = 0; i < 64; i++) x[i] = 0;          /* zero blocks */
            if (rep == 7) for (int i = 0; i < n; i++) x[i] = (float)(i % 255) - 127;  /* exact .5 ties */
            if (rep == 9) for (int i = 0; i < n; i++) x[i] = (float)(i % 7) * 0.5f - 1.5f;
            smol_quantize_q8_0_ref(x, a, n);
            levels[l]->quantize_q8_0(x, b, n);
            size_t sz = smol_dtype_row_size(SMOL_Q8_0, (uint64_t)n), i = 0;
            while (i < sz && a[i] == b[i]) i++;
            REQUIRE(i == sz, "q8_0 level %d rep %d: byte %zu differs (%d vs %d)", l + 1, rep, i, a[i], b[i]);
            smol_quantize_q8_K_ref(x, a, n);
            levels[l]->quantize_q8_K(x, b, n);
            sz = smol_dtype_row_size(SMOL_Q8_K, (uint64_t)n);
            for (i = 0; i < sz && a[i] == b[i];) i++;
            REQUIRE(i == sz, "q8_K level %d rep %d: byte %zu differs (%d vs %d)", l + 1, rep, i, a[i], b[i]);
        }
    }
}

/* The 4x4 float tile kernels against 16 scalar dots, lengths with and without a tail. */
static void test_gemm4_vs_scalar(void) {
    static uint8_t w[4 * 1000 * 4];
    static float x[4 * 1000];
    const uint32_t types[] = {SMOL_F32, SMOL_F16, SMOL_BF16};
    const int64_t lens[] = {1, 16, 50, 576, 1000};
    int checked = 0;
    for (int level = SMOL_SIMD_AVX2; level <= SMOL_SIMD_AVX512; level++)
        for (int k = 0; k < 3; k++) {
            smol_gemm4_fn g = smol_get_gemm4_level(types[k], level);
            smol_vec_dot_fn ref = smol_get_vec_dot_level(types[k], SMOL_SIMD_SCALAR);
            if (!g) continue;
            for (int li = 0; li < 5; li++) {
                int64_t n = lens[li];
                size_t row = (size_t)smol_dtype_row_size(types[k], (uint64_t)n);
                for (int r = 0; r < 4; r++) make_weights(types[k], w + r * row, n, r & 1);
                fill_signal(x, 4 * n, 1);
                float y[4 * 6];
                for (int i = 0; i < 24; i++) y[i] = NAN;
                g(n, w, row, x, y, 6);
                for (int b = 0; b < 4; b++)
                    for (int r = 0; r < 4; r++) {
                        double abs_sum = 0;
                        float want, wf[1000];
                        smol_dequantize_row(types[k], w + r * row, wf, n);
                        for (int64_t i = 0; i < n; i++) abs_sum += fabs((double)wf[i] * x[b * n + i]);
                        ref(n, &want, w + r * row, x + b * n);
                        REQUIRE(fabs((double)y[b * 6 + r] - want) <= 1e-5 * abs_sum + 1e-30,
                                "%s level %d n=%lld: tile[%d][%d]=%.9g scalar %.9g", smol_dtype_name(types[k]), level,
                                (long long)n, b, r, y[b * 6 + r], want);
                        checked++;
                    }
                CHECK(isnan(y[4]) && isnan(y[5]), "tile wrote past its 4 rows");
            }
        }
    printf("# %d tile outputs compared with scalar\n", checked);
}

/* Checks the nr x nx outputs of a quantized tile kernel (y[b * ys + r]) against the scalar dot of
 * each weight row with each activation row, within 1e-5 of the sum of |products|. Returns how many
 * were checked, or -1 after printing the first that differs (`where`: what was run). */
static int tile_vs_scalar(uint32_t t, int64_t n, const uint8_t *w, size_t wr, const uint8_t *xq, size_t xr, int nr,
                          int nx, const float *y, int ys, const char *where) {
    smol_vec_dot_fn ref = smol_get_vec_dot_level(t, SMOL_SIMD_SCALAR);
    for (int b = 0; b < nx; b++)
        for (int r = 0; r < nr; r++) {
            double abs_sum;
            deq_dot(t, w + r * wr, xq + b * xr, n, &abs_sum);
            float want;
            ref(n, &want, w + r * wr, xq + b * xr);
            int close = fabs((double)y[b * ys + r] - want) <= 1e-5 * abs_sum + 1e-30;
            CHECK(close, "%s n=%lld %d rows x %d%s: y[%d][%d]=%.9g scalar %.9g (|.| sum %.4g)", smol_dtype_name(t),
                  (long long)n, nr, nx, where, b, r, y[b * ys + r], want, abs_sum);
            if (!close) return -1;
        }
    return nr * nx;
}

/* The quantized tile kernels (4 rows x 1..4 activations, and single rows) against scalar dots:
 * lengths with 1..16+ blocks (odd counts, partial 16-block groups), quantized and raw blocks,
 * narrow and wide scales. */
static void test_tile_q_vs_scalar(void) {
    static uint8_t w[4 * 8960 * 2], xq[4 * 8960 * 2];
    static float x[8960];
    const uint32_t types[] = {SMOL_Q8_0, SMOL_Q4_0, SMOL_Q5_0, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K};
    const int64_t lens[] = {32, 96, 256, 512, 544, 576, 1536, 2304, 8960};
    int checked = 0;
    for (int k = 0; k < 6; k++) {
        smol_tile_q_fn tile = smol_get_tile_q_level(types[k], SMOL_SIMD_AVX512);
        if (!tile) continue;
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (int rep = 0; rep < 4; rep++) {
                int64_t n = lens[li];
                uint32_t xt = smol_vec_dot_type(types[k]);  /* q8_0, or q8_K for the K-quants */
                if (n % smol_dtype_get(types[k])->block) continue;
                size_t wr = (size_t)smol_dtype_row_size(types[k], (uint64_t)n);
                size_t xr = (size_t)smol_dtype_row_size(xt, (uint64_t)n);
                for (int r = 0; r < 4; r++) {
                    if (rep == 3) make_raw_weights(types[k], w + r * wr, n, r & 1);
                    else make_weights(types[k], w + r * wr, n, (rep + r) & 1);
                    fill_signal(x, n, (rep + r) & 2);
                    smol_quantize_row(xt, x, xq + r * xr, n);
                }
                for (int nr = 1; nr <= 4; nr += 3)
                    for (int nx = 1; nx <= 4; nx++) {
                        float y[4 * 6];
                        for (int i = 0; i < 24; i++) y[i] = NAN;
                        tile(n, w, wr, nr, xq, xr, nx, y, 6);
                        for (int b = 0; b < 4; b++)
                            for (int r = 0; r < 6; r++)
                                if (b >= nx || r >= nr)
                                    REQUIRE(isnan(y[b * 6 + r]), "%s n=%lld %dx%d: wrote y[%d][%d] outside the tile",
                                            smol_dtype_name(types[k]), (long long)n, nr, nx, b, r);
                        char where[16];
                        snprintf(where, sizeof where, " rep=%d", rep);
                        int c = tile_vs_scalar(types[k], n, w, wr, xq, xr, nr, nx, y, 6, where);
                        if (c < 0) return;
                        checked += c;
                    }
            }
    }
    if (smol_cpu_has_avx512()) CHECK(checked > 0, "AVX-512 CPU but no tile kernel was checked");
    printf("# %d quantized tile outputs compared with scalar\n", checked);
}

/* The quantized tile kernels over many rows at once, as matmul's decode calls them (one
 * activation, the chunk's rows in one call, the activations prepared once): row counts that are
 * and are not multiples of 4, lengths whose last step is partial (1, 2, 3 blocks over a whole
 * step), at and past the longest row that takes the prepared path (4096 for q4_0 / q5_0, 2048
 * for q8_0); also 2 and 3 activations over 9 rows. Each output is checked against the scalar
 * dot, and nothing is written past the last row. */
static void test_tile_q_many_rows(void) {
    enum { MAXR = 23, MAXN = 8960 };
    static uint8_t w[MAXR * MAXN * 2], xq[3 * MAXN * 2];
    static float x[MAXN], y[3 * (MAXR + 1)];
    const uint32_t types[] = {SMOL_Q8_0, SMOL_Q4_0, SMOL_Q5_0, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K};
    const int64_t lens[] = {32, 96, 160, 224, 576, 960, 2048, 2080, 4096, 4128, 8960};
    const int shapes[][2] = {{4, 1}, {5, 1}, {8, 1}, {13, 1}, {23, 1}, {9, 2}, {9, 3}};
    int checked = 0;
    for (int k = 0; k < 6; k++) {
        smol_tile_q_fn tile = smol_get_tile_q_level(types[k], SMOL_SIMD_AVX512);
        if (!tile) continue;
        uint32_t xt = smol_vec_dot_type(types[k]);
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            int64_t n = lens[li];
            if (n % smol_dtype_get(types[k])->block) continue;
            size_t wr = (size_t)smol_dtype_row_size(types[k], (uint64_t)n);
            size_t xr = (size_t)smol_dtype_row_size(xt, (uint64_t)n);
            for (int r = 0; r < MAXR; r++) make_weights(types[k], w + r * wr, n, r % 3 == 0);
            for (int b = 0; b < 3; b++) {
                fill_signal(x, n, b == 1);
                smol_quantize_row(xt, x, xq + b * xr, n);
            }
            for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
                int nr = shapes[si][0], nx = shapes[si][1], ys = MAXR + 1;
                for (int i = 0; i < 3 * ys; i++) y[i] = NAN;
                tile(n, w, wr, nr, xq, xr, nx, y, ys);
                for (int b = 0; b < nx; b++)
                    REQUIRE(isnan(y[b * ys + nr]), "%s n=%lld %dx%d: wrote past the last row",
                            smol_dtype_name(types[k]), (long long)n, nr, nx);
                int c = tile_vs_scalar(types[k], n, w, wr, xq, xr, nr, nx, y, ys, "");
                if (c < 0) return;
                checked += c;
            }
        }
    }
    if (smol_cpu_has_avx512()) CHECK(checked > 0, "AVX-512 CPU but no tile kernel was checked");
    printf("# %d outputs of many-row tiles compared with scalar\n", checked);
}

/* `pages` readable pages followed by one that cannot be read, or NULL. */
static uint8_t *guarded(size_t pages) {
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, (pages + 1) * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    if (mprotect(m + pages * pg, pg, PROT_NONE) != 0) {
        munmap(m, (pages + 1) * pg);
        return NULL;
    }
    return m;
}

/* The quantized tiles read nothing past the last weight row or activation row: both end right
 * before a page that cannot be read (a read past them crashes the test), for decode (1
 * activation, the prepared path of the whole 4-row groups) and small batches, with lengths
 * whose last step is whole or 1..3 blocks. Results are checked against scalar too. */
static void test_tile_q_reads_inside(void) {
    enum { PAGES = 16 };
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *wm = guarded(PAGES), *xm = guarded(PAGES);
    REQUIRE(wm && xm, "mmap / mprotect failed");
    uint8_t *w_end = wm + PAGES * pg, *x_end = xm + PAGES * pg;
    static float x[1024];
    const uint32_t types[] = {SMOL_Q8_0, SMOL_Q4_0, SMOL_Q5_0, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K};
    const int64_t lens[] = {32, 64, 96, 128, 256, 576, 960, 1024};
    const int shapes[][2] = {{4, 1}, {7, 1}, {8, 1}, {5, 2}, {4, 4}};
    int checked = 0;
    for (int k = 0; k < 6; k++) {
        smol_tile_q_fn tile = smol_get_tile_q_level(types[k], SMOL_SIMD_AVX512);
        if (!tile) continue;
        uint32_t xt = smol_vec_dot_type(types[k]);
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            int64_t n = lens[li];
            if (n % smol_dtype_get(types[k])->block) continue;
            size_t wr = (size_t)smol_dtype_row_size(types[k], (uint64_t)n);
            size_t xr = (size_t)smol_dtype_row_size(xt, (uint64_t)n);
            for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
                int nr = shapes[si][0], nx = shapes[si][1];
                uint8_t *w = w_end - (size_t)nr * wr, *xq = x_end - (size_t)nx * xr;
                for (int r = 0; r < nr; r++) make_weights(types[k], w + r * wr, n, r % 2);
                for (int b = 0; b < nx; b++) {
                    fill_signal(x, n, b == 1);
                    smol_quantize_row(xt, x, xq + b * xr, n);
                }
                float y[4 * 8];
                tile(n, w, wr, nr, xq, xr, nx, y, 8);
                int c = tile_vs_scalar(types[k], n, w, wr, xq, xr, nr, nx, y, 8, " at a page end");
                if (c < 0) goto done;
                checked += c;
            }
        }
    }
done:
    munmap(wm, (PAGES + 1) * pg);
    munmap(xm, (PAGES + 1) * pg);
    if (smol_cpu_has_avx512()) CHECK(checked > 0, "AVX-512 CPU but no tile kernel was checked");
    printf("# %d tile outputs next to an unreadable page compared with scalar\n", checked);
}

/* The SIMD axpy kernels (attention values) give the scalar kernel's floats bit for bit: each
 * element is a * v rounded, then added, in every path. Lengths with and without tails. */
static void test_axpy_vs_scalar(void) {
    static float v[300], acc0[300], acc1[300];
    static uint16_t vh[300];
    const int64_t lens[] = {1, 7, 16, 64, 65, 128, 300};
    int checked = 0;
    for (int level = SMOL_SIMD_AVX2; level <= SMOL_SIMD_AVX512; level++)
        for (int k = 0; k < 2; k++) {
            uint32_t t = k ? SMOL_F16 : SMOL_F32;
            smol_axpy_fn simd = smol_get_axpy_level(t, level), ref = smol_get_axpy_level(t, SMOL_SIMD_SCALAR);
            REQUIRE(ref, "no scalar axpy for %s", smol_dtype_name(t));
            if (!simd) continue;
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                int64_t n = lens[li];
                fill_signal(v, 300, 1);
                smol_quantize_row(SMOL_F16, v, vh, 300);
                for (int i = 0; i < 300; i++) acc0[i] = acc1[i] = frand();
                float a = frand() * 3;
                const void *src = k ? (const void *)vh : (const void *)v;
                ref(n, a, src, acc0);
                simd(n, a, src, acc1);
                int i = 0;
                while (i < 300 && acc0[i] == acc1[i]) i++;
                REQUIRE(i == 300, "%s level %d n=%lld: element %d is %.9g, scalar %.9g", smol_dtype_name(t), level,
                        (long long)n, i, acc1[i], acc0[i]);
                checked++;
            }
        }
    CHECK(smol_get_axpy(SMOL_Q8_0) == NULL && smol_get_axpy(SMOL_F16) != NULL, "axpy types");
    printf("# %d axpy rows compared with scalar\n", checked);
}

/* The strided-rows kernels (attention scores and values) against the scalar ones: dots within
 * 1e-5 of the sum of |terms|, value sums bit for bit; head sizes with and without tails, rows
 * spaced by a stride larger than a row, counts not a multiple of 4. */
static void test_rows_vs_scalar(void) {
    enum { STRIDE = 700 };  /* elements between row starts */
    static float rows32[37 * STRIDE], x[160], out0[37], out1[37], acc0[160], acc1[160], a[37];
    static uint16_t rows16[37 * STRIDE];
    const int64_t dims[] = {8, 48, 64, 80, 128, 160};
    const int64_t counts[] = {1, 3, 4, 37};
    int checked = 0;
    fill_signal(rows32, 37 * STRIDE, 1);
    smol_quantize_row(SMOL_F16, rows32, rows16, 37 * STRIDE);
    for (int level = SMOL_SIMD_AVX2; level <= SMOL_SIMD_AVX512; level++)
        for (int k = 0; k < 2; k++) {
            uint32_t t = k ? SMOL_F16 : SMOL_F32;
            smol_rows_dot_fn dot = smol_get_rows_dot_level(t, level), dot0 = smol_get_rows_dot_level(t, SMOL_SIMD_SCALAR);
            smol_rows_axpy_fn ax = smol_get_rows_axpy_level(t, level), ax0 = smol_get_rows_axpy_level(t, SMOL_SIMD_SCALAR);
            REQUIRE(dot0 && ax0, "no scalar rows kernels for %s", smol_dtype_name(t));
            if (!dot || !ax) continue;
            const void *rows = k ? (const void *)rows16 : (const void *)rows32;
            size_t stride = STRIDE * (k ? 2 : 4);
            for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
                for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
                    int64_t n = dims[di], m = counts[ci];
                    fill_signal(x, n, 0);
                    dot0(n, m, rows, stride, x, out0);
                    dot(n, m, rows, stride, x, out1);
                    for (int64_t p = 0; p < m; p++) {
                        float w[160];
                        smol_dequantize_row(t, (const uint8_t *)rows + p * stride, w, n);
                        double abs_sum = 0;
                        for (int64_t i = 0; i < n; i++) abs_sum += fabs((double)w[i] * x[i]);
                        REQUIRE(fabs((double)out0[p] - out1[p]) <= 1e-5 * abs_sum + 1e-30,
                                "%s level %d n=%lld m=%lld: row %lld dot %.9g, scalar %.9g", smol_dtype_name(t), level,
                                (long long)n, (long long)m, (long long)p, out1[p], out0[p]);
                    }
                    for (int64_t p = 0; p < m; p++) a[p] = frand();
                    for (int i = 0; i < 160; i++) acc0[i] = acc1[i] = frand();
                    ax0(n, m, rows, stride, a, acc0);
                    ax(n, m, rows, stride, a, acc1);
                    int i = 0;
                    while (i < 160 && acc0[i] == acc1[i]) i++;
                    REQUIRE(i == 160, "%s level %d n=%lld m=%lld: value sum element %d is %.9g, scalar %.9g",
                            smol_dtype_name(t), level, (long long)n, (long long)m, i, acc1[i], acc0[i]);
                    checked++;
                }
        }
    CHECK(smol_get_rows_dot(SMOL_Q8_0) == NULL && smol_get_rows_axpy(SMOL_F16) != NULL, "rows kernel types");
    printf("# %d strided-row cases compared with scalar\n", checked);
}

/* The word-wise q4_K scale unpacking of the SIMD kernels equals the per-index one. */
static void test_k4_scale_unpack(void) {
    for (int rep = 0; rep < 2000; rep++) {
        uint8_t s[12], sc[8], m[8];
        for (int i = 0; i < 12; i++) s[i] = (uint8_t)rnd();
        smol_k4_scales_mins(s, sc, m);
        for (int j = 0; j < 8; j++) {
            uint8_t a, b;
            smol_k4_scale_min(j, s, &a, &b);
            REQUIRE(a == sc[j] && b == m[j], "rep %d sub-block %d: (%d,%d) vs (%d,%d)", rep, j, sc[j], m[j], a, b);
        }
    }
}

static void test_bad_arguments(void) {
    float x[64] = {0};
    uint8_t q[256];
    CHECK(smol_quantize_row(SMOL_Q8_0, x, q, 33) == SMOL_EINVAL, "length not a multiple of 32");
    /* non-finite input gives some bytes, never undefined behaviour (UBSan build) */
    static float bad[256];
    static uint8_t out[256 * 4];
    for (int i = 0; i < 256; i++) bad[i] = i % 3 == 0 ? NAN : i % 3 == 1 ? INFINITY : -1e38f;
    const uint32_t all[] = {SMOL_F16, SMOL_BF16, SMOL_Q8_0, SMOL_Q8_1, SMOL_Q8_K, SMOL_Q4_0, SMOL_Q4_1,
                            SMOL_Q5_0, SMOL_Q5_1, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        CHECK(smol_quantize_row(all[k], bad, out, 256) == SMOL_OK, "%s", smol_dtype_name(all[k]));
    CHECK(smol_quantize_row(SMOL_Q4_K, x, q, 64) == SMOL_EINVAL, "length not a multiple of 256");
    CHECK(smol_quantize_row(SMOL_IQ2_XXS, x, q, 256) == SMOL_EUNSUPPORTED, "iq2_xxs has no quantizer");
    CHECK(smol_dequantize_row(SMOL_IQ4_NL, q, x, 32) == SMOL_EUNSUPPORTED, "iq4_nl");
    CHECK(smol_dequantize_row(4, q, x, 32) == SMOL_EINVAL, "unused type id");
    CHECK(smol_dequantize_row(1000, q, x, 32) == SMOL_EINVAL, "unknown type id");
    CHECK(smol_get_vec_dot(SMOL_IQ2_XXS) == NULL && smol_get_vec_dot(999) == NULL, "no kernel");
    CHECK(smol_get_vec_dot_level(SMOL_Q4_0, 7) == NULL, "unknown level");
    CHECK(smol_vec_dot_type(SMOL_Q4_K) == SMOL_Q8_K && smol_vec_dot_type(SMOL_Q5_1) == SMOL_Q8_0, "dot types");
    CHECK(smol_vec_dot_type(SMOL_F16) == SMOL_F32 && smol_vec_dot_type(SMOL_BF16) == SMOL_F32, "float dot types");
}

int main(void) {
    RUN(test_roundtrip_error);
    RUN(test_known_blocks);
    RUN(test_scalar_dot_vs_dequantized);
    RUN(test_simd_vs_scalar);
    RUN(test_simd_activation_quantizers);
    RUN(test_gemm4_vs_scalar);
    RUN(test_tile_q_vs_scalar);
    RUN(test_tile_q_many_rows);
    RUN(test_tile_q_reads_inside);
    RUN(test_axpy_vs_scalar);
    RUN(test_rows_vs_scalar);
    RUN(test_k4_scale_unpack);
    RUN(test_bad_arguments);
    return check_done();
}
