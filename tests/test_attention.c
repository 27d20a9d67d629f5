/* test_attention.c: the tiled attention (model/attention.h) at every SIMD level the CPU has,
 * against the plain reference smol_attention_head: f32 and f16 caches, GQA ratios 1, 3, 4, 7
 * and 8, head_dim 8, 64, 80 and 128, odd lengths, prompt chunks that start mid-sequence,
 * several sequences in one batch, one and two threads (with keys split over threads when
 * decoding); the exp polynomial against exp in double over the whole float range; and the
 * KV cache layout across growth. */
#include "check.h"
#include "base/pool.h"
#include "model/attention.h"
#include "model/dtype.h"
#include "model/quant.h"
#include <float.h>
#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float frand(float scale) {  /* uniform in [-scale, scale) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return scale * ((float)(rng_state >> 40) / (float)(1u << 24) * 2.0f - 1.0f);
}

static const char *level_name(int level) {
    return level == SMOL_SIMD_SCALAR ? "scalar" : level == SMOL_SIMD_AVX2 ? "avx2" : "avx512";
}

/* ---------------------------------------------------------------- exp */

/* Every level's exp against exp() in double: relative error over normal results, at most one
 * subnormal step below FLT_MIN, exactly 0 below -104 and for -inf, +inf above 88.73. */
static void test_exp_whole_range(void) {
    for (int level = SMOL_SIMD_SCALAR; level <= SMOL_SIMD_AVX512; level++) {
        const smol_attn_kernels *k = smol_attn_kernels_level(level);
        if (!k) continue;
        enum { N = 4096 };
        float x[N], y[N];
        double worst = 0;
        float worst_x = 0;
        /* every 977th float bit pattern, both signs, -0 .. -inf and +0 .. +inf */
        for (uint64_t start = 0; start <= 0xff800000ull; start += (uint64_t)N * 977) {
            for (int i = 0; i < N; i++) {
                uint64_t b = start + (uint64_t)i * 977;
                uint32_t bits = (uint32_t)(b > 0x7f800000ull ? 0x80000000ull + (b - 0x7f800001ull) : b);
                if ((bits & 0x7fffffff) > 0x7f800000) bits = 0;  /* no NaNs */
                memcpy(&x[i], &bits, 4);
            }
            k->exp(N, x, y);
            for (int i = 0; i < N; i++) {
                double want = exp((double)x[i]);
                if (want >= FLT_MIN && want <= FLT_MAX) {
                    double rel = fabs(y[i] - want) / want;
                    if (rel > worst) worst = rel, worst_x = x[i];
                    REQUIRE(rel < 3e-7, "%s exp(%.9g) = %.9g, want %.9g (relative %.3g)", level_name(level), x[i], y[i],
                            want, rel);
                } else if (want < FLT_MIN) {
                    REQUIRE(fabs(y[i] - want) <= 1.5e-45, "%s exp(%.9g) = %.9g, want %.9g", level_name(level), x[i],
                            y[i], want);
                    if (x[i] < -104.0f) REQUIRE(y[i] == 0.0f, "%s exp(%.9g) = %g, want 0", level_name(level), x[i], y[i]);
                } else {
                    REQUIRE(isinf(y[i]) && y[i] > 0, "%s exp(%.9g) = %g, want +inf", level_name(level), x[i], y[i]);
                }
            }
        }
        float special[5] = {-INFINITY, INFINITY, 0.0f, -0.0f, 88.72f}, out[5];
        k->exp(5, special, out);
        CHECK(out[0] == 0.0f && isinf(out[1]) && out[2] == 1.0f && out[3] == 1.0f && isfinite(out[4]),
              "%s exp of -inf, inf, 0, -0, 88.72: %g %g %g %g %g", level_name(level), out[0], out[1], out[2], out[3],
              out[4]);
        float nan_in[3] = {NAN, -NAN, NAN}, nan_out[3];
        k->exp(3, nan_in, nan_out);
        CHECK((nan_out[0] == 0.0f || isinf(nan_out[0])) && (nan_out[1] == 0.0f || isinf(nan_out[1])),
              "%s exp(NaN) = %g, %g (0 or +inf expected)", level_name(level), nan_out[0], nan_out[1]);
        printf("# exp %s: worst relative error %.3g (at x = %.7g)\n", level_name(level), worst, worst_x);
    }
}

/* Every level's f32 -> f16 -> f32 against dtype.h's scalar conversions, bit for bit, over a
 * sweep of float bit patterns (normals, subnormals, overflow, inf, NaN) and all 65536 halves. */
static void test_f16_conversions(void) {
    enum { N = 4099 };
    float x[N], back[N];
    uint16_t h[N];
    for (int level = SMOL_SIMD_SCALAR; level <= SMOL_SIMD_AVX512; level++) {
        const smol_attn_kernels *k = smol_attn_kernels_level(level);
        if (!k) continue;
        for (uint64_t start = 0; start < 0x100000000ull; start += (uint64_t)N * 4111) {
            int n = 0;
            for (; n < N && start + (uint64_t)n * 4111 < 0x100000000ull; n++) {
                uint32_t bits = (uint32_t)(start + (uint64_t)n * 4111);
                memcpy(&x[n], &bits, 4);
            }
            k->f32_to_f16((size_t)n, x, h);
            for (int i = 0; i < n; i++)
                REQUIRE(h[i] == smol_f32_to_f16(x[i]), "%s f32 -> f16 of %.9g: 0x%04x, reference 0x%04x",
                        level_name(level), x[i], h[i], smol_f32_to_f16(x[i]));
        }
        for (uint32_t b = 0; b < 65536; b += N) {
            int n = 0;
            for (; n < N && b + (uint32_t)n < 65536; n++) h[n] = (uint16_t)(b + (uint32_t)n);
            k->f16_to_f32((size_t)n, h, back);
            for (int i = 0; i < n; i++) {
                float want = smol_f16_to_f32(h[i]);
                REQUIRE(memcmp(&back[i], &want, 4) == 0 || (back[i] != back[i] && want != want),
                        "%s f16 0x%04x -> %.9g, reference %.9g", level_name(level), h[i], back[i], want);
            }
        }
    }
}

/* ---------------------------------------------------------------- attention */

typedef struct shape {
    int n_kv, group, head_dim;
} shape;

/* A cache of two layers holding positions [0, len) of random keys and values (scaled by ks). */
static int fill_cache(smol_kvcache *kv, uint32_t type, shape s, int len, float ks) {
    smol_error err = {0};
    if (smol_kvcache_init(kv, type, 2, s.n_kv, s.head_dim, len + 5, &err) ||
        smol_kvcache_reserve(kv, len, &err))
        return -1;
    int nkv = s.n_kv * s.head_dim;
    float *k = malloc((size_t)nkv * sizeof(float)), *v = malloc((size_t)nkv * sizeof(float));
    for (int layer = 0; layer < 2; layer++)
        for (int p = 0; p < len; p++) {
            for (int i = 0; i < nkv; i++) k[i] = frand(ks), v[i] = frand(1.0f);
            smol_kvcache_store(kv, layer, p, k, v);
        }
    kv->len = len;
    free(k), free(v);
    return 0;
}

/* Runs the batch at every level (and on pool if given) and compares each row and head with the
 * reference; returns the worst relative difference, or -1 on a failure (already reported). */
static double compare_batch(const char *what, smol_pool *pool, const smol_attn_batch *b, shape s) {
    int H = b->n_head, D = s.head_dim;
    size_t size = (size_t)b->n * H * D;
    float *out = malloc(size * sizeof(float)), *want = malloc(size * sizeof(float));
    float *scores = malloc(8192 * sizeof(float));
    for (int i = 0; i < b->n; i++)
        for (int h = 0; h < H; h++)
            smol_attention_head(&b->kv[b->seq[i]], b->layer, h / s.group, b->q + ((size_t)i * H + h) * D, b->pos[i] + 1,
                                scores, want + ((size_t)i * H + h) * D);
    smol_attn_work *w = NULL;
    smol_error err = {0};
    double worst = 0;
    int rc = smol_attn_work_new(2, b->n, H, s.n_kv, D, &w, &err);
    CHECK(rc == SMOL_OK, "%s: %s", what, err.msg);
    for (int level = SMOL_SIMD_SCALAR; level <= SMOL_SIMD_AVX512 && w; level++) {
        if (smol_attn_work_set_level(w, level)) continue;
        for (size_t i = 0; i < size; i++) out[i] = NAN;
        smol_attention(w, pool, b, out);
        for (int i = 0; i < b->n && worst >= 0; i++)
            for (int h = 0; h < H && worst >= 0; h++) {
                const float *o = out + ((size_t)i * H + h) * D, *r = want + ((size_t)i * H + h) * D;
                double mx = 0, diff = 0;
                int at = 0;
                for (int d = 0; d < D; d++) {
                    if (fabs(r[d]) > mx) mx = fabs(r[d]);
                    double e = fabs((double)o[d] - r[d]);
                    if (!(e <= diff)) diff = e, at = d;
                }
                double rel = diff / (mx > 0 ? mx : 1);
                if (!(rel <= 1e-5)) {
                    CHECK(rel <= 1e-5, "%s, %s: row %d (seq %d, pos %d) head %d first differs most at [%d]: %.8g vs "
                          "reference %.8g (relative %.3g)", what, level_name(level), i, b->seq[i], b->pos[i], h, at,
                          o[at], r[at], rel);
                    worst = -1;
                } else if (rel > worst) worst = rel;
            }
    }
    smol_attn_work_free(w);
    free(out), free(want), free(scores);
    return worst;
}

/* A prompt chunk: rows at positions [p0, p0 + n) of one cache of len positions (len >= p0 + n). */
static double prompt_case(smol_pool *pool, uint32_t type, shape s, int p0, int n, int len, float qs) {
    smol_kvcache kv;
    if (fill_cache(&kv, type, s, len, 1.0f)) {
        CHECK(0, "cannot fill a cache of %d positions", len);
        return -1;
    }
    int H = s.n_kv * s.group, *seq = calloc((size_t)n, sizeof(int)), *pos = malloc((size_t)n * sizeof(int));
    float *q = malloc((size_t)n * H * s.head_dim * sizeof(float));
    for (int i = 0; i < n; i++) pos[i] = p0 + i;
    for (size_t i = 0; i < (size_t)n * H * s.head_dim; i++) q[i] = frand(qs);
    smol_attn_batch b = {n, &kv, seq, pos, 1, H, q};
    char what[160];
    snprintf(what, sizeof what, "%s kv, %d kv heads x %d, head_dim %d, rows at %d..%d, %s", type == SMOL_F16 ? "f16" : "f32",
             s.n_kv, s.group, s.head_dim, p0, p0 + n - 1, pool ? "2 threads" : "1 thread");
    double worst = compare_batch(what, pool, &b, s);
    smol_kvcache_free(&kv);
    free(seq), free(pos), free(q);
    return worst;
}

/* GQA ratios 1, 3, 4, 7, 8 and head sizes 8 .. 128, f32 and f16, whole prompts of odd length
 * and chunks that start mid-sequence, on one thread and on two. */
static void test_prompt_vs_reference(void) {
    const shape shapes[] = {{3, 3, 64}, {2, 1, 64}, {2, 4, 128}, {1, 8, 128}, {2, 7, 64}, {1, 3, 8}, {1, 2, 80}};
    smol_pool *pool = smol_pool_new(2);
    REQUIRE(pool, "pool");
    double worst = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int f16 = 0; f16 < 2; f16++) {
            uint32_t type = f16 ? SMOL_F16 : SMOL_F32;
            double r[3] = {prompt_case(NULL, type, shapes[i], 0, 77, 77, 1.0f),
                           prompt_case(pool, type, shapes[i], 0, 131, 131, 3.0f),
                           prompt_case(pool, type, shapes[i], 100, 29, 135, 1.0f)};
            for (int j = 0; j < 3; j++) {
                REQUIRE(r[j] >= 0, "shape %zu case %d failed", i, j);
                if (r[j] > worst) worst = r[j];
            }
        }
    smol_pool_free(pool);
    printf("# prompt chunks vs reference: worst relative difference %.3g\n", worst);
}

/* Decoding one row at long contexts (keys split over two threads and merged), with scores
 * large enough that most weights underflow; and a row whose scores are all equal. */
static void test_decode_long_context(void) {
    smol_pool *pool = smol_pool_new(2);
    REQUIRE(pool, "pool");
    const shape shapes[] = {{3, 3, 64}, {2, 4, 64}, {1, 8, 128}};
    double worst = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int f16 = 0; f16 < 2; f16++) {
            uint32_t type = f16 ? SMOL_F16 : SMOL_F32;
            double a = prompt_case(pool, type, shapes[i], 1000, 1, 1001, 1.0f);
            double b = prompt_case(pool, type, shapes[i], 700, 1, 701, 30.0f);
            double c = prompt_case(pool, type, shapes[i], 1000, 2, 1002, 2.0f);
            REQUIRE(a >= 0 && b >= 0 && c >= 0, "shape %zu", i);
            worst = fmax(worst, fmax(a, fmax(b, c)));
        }
    /* all-equal scores: q = 0 gives the mean of the values */
    shape s = {1, 2, 64};
    smol_kvcache kv;
    REQUIRE(fill_cache(&kv, SMOL_F32, s, 300, 1.0f) == 0, "cache");
    float q[128] = {0}, out[128];
    int seq = 0, pos = 299;
    smol_attn_batch b = {1, &kv, &seq, &pos, 0, 2, q};
    smol_attn_work *w;
    smol_error err;
    REQUIRE(smol_attn_work_new(2, 1, 2, 1, 64, &w, &err) == SMOL_OK, "%s", err.msg);
    smol_attention(w, pool, &b, out);
    for (int d = 0; d < 64; d++) {
        double mean = 0;
        for (int p = 0; p < 300; p++) mean += smol_kvcache_value(&kv, 0, 0, p, d);
        mean /= 300;
        REQUIRE(fabs(out[d] - mean) < 1e-5 && fabs(out[64 + d] - mean) < 1e-5, "q = 0: out[%d] %.7g, mean %.7g", d,
                out[d], mean);
    }
    smol_attn_work_free(w);
    smol_kvcache_free(&kv);
    smol_pool_free(pool);
    printf("# long-context decode vs reference: worst relative difference %.3g\n", worst);
}

/* One row from each of three sequences at different positions (smol_eval_multi's batches),
 * listed out of order, and two rows of one sequence next to a row of another. */
static void test_multi_sequence_batch(void) {
    smol_pool *pool = smol_pool_new(2);
    REQUIRE(pool, "pool");
    shape s = {3, 3, 64};
    for (int f16 = 0; f16 < 2; f16++) {
        smol_kvcache kv[3];
        const int lens[3] = {5, 400, 129};
        for (int i = 0; i < 3; i++) REQUIRE(fill_cache(&kv[i], f16 ? SMOL_F16 : SMOL_F32, s, lens[i], 1.0f) == 0, "cache");
        int seq[4] = {2, 0, 1, 1}, pos[4] = {128, 4, 398, 399};
        float q[4 * 9 * 64];
        for (int i = 0; i < 4 * 9 * 64; i++) q[i] = frand(2.0f);
        smol_attn_batch b = {4, kv, seq, pos, 1, 9, q};
        double r1 = compare_batch("multi-sequence batch, 1 thread", NULL, &b, s);
        double r2 = compare_batch("multi-sequence batch, 2 threads", pool, &b, s);
        CHECK(r1 >= 0 && r2 >= 0, "multi-sequence %s", f16 ? "f16" : "f32");
        for (int i = 0; i < 3; i++) smol_kvcache_free(&kv[i]);
    }
    smol_pool_free(pool);
}

/* ---------------------------------------------------------------- cache and levels */

/* Keys and values read back as stored (f16: rounded as smol_f32_to_f16 rounds) after the cache
 * grew 64 -> 128 -> 192 positions (n_ctx 150 rounds up to whole tiles); past n_ctx: ERANGE. */
static void test_kvcache_growth(void) {
    for (int f16 = 0; f16 < 2; f16++) {
        smol_kvcache kv;
        smol_error err = {0};
        REQUIRE(smol_kvcache_init(&kv, f16 ? SMOL_F16 : SMOL_F32, 3, 2, 40, 150, &err) == SMOL_OK, "%s", err.msg);
        float k[80], v[80];
        for (int p = 0; p < 150; p++) {
            REQUIRE(smol_kvcache_reserve(&kv, p + 1, &err) == SMOL_OK, "reserve %d: %s", p + 1, err.msg);
            for (int layer = 0; layer < 3; layer++) {
                for (int i = 0; i < 80; i++) k[i] = (float)(p * 1000 + layer * 100 + i), v[i] = -k[i] / 7;
                smol_kvcache_store(&kv, layer, p, k, v);
            }
        }
        CHECK(kv.cap == 192, "capacity %d, want 192", kv.cap);
        for (int p = 0; p < 150; p++)
            for (int layer = 0; layer < 3; layer++)
                for (int i = 0; i < 80; i++) {
                    float wk = (float)(p * 1000 + layer * 100 + i), wv = -wk / 7;
                    if (f16) wk = smol_f16_to_f32(smol_f32_to_f16(wk)), wv = smol_f16_to_f32(smol_f32_to_f16(wv));
                    float gk = smol_kvcache_key(&kv, layer, i / 40, p, i % 40), gv = smol_kvcache_value(&kv, layer, i / 40, p, i % 40);
                    REQUIRE(gk == wk && gv == wv, "%s layer %d pos %d elt %d: key %g (want %g), value %g (want %g)",
                            f16 ? "f16" : "f32", layer, p, i, gk, wk, gv, wv);
                }
        CHECK(smol_kvcache_reserve(&kv, 151, &err) == SMOL_ERANGE && strstr(err.msg, "151"), "past n_ctx: %s", err.msg);
        smol_kvcache_free(&kv);
    }
    smol_kvcache kv;
    smol_error err = {0};
    CHECK(smol_kvcache_init(&kv, SMOL_Q8_0, 1, 1, 64, 10, &err) == SMOL_EINVAL && strstr(err.msg, "q8_0"), "%s", err.msg);
    CHECK(smol_kvcache_init(&kv, SMOL_F16, 1, 0, 64, 10, &err) == SMOL_EINVAL && strstr(err.msg, "kv heads 0"), "%s", err.msg);
    smol_attn_work *w = NULL;
    CHECK(smol_attn_work_new(1, 4, 9, 2, 64, &w, &err) == SMOL_EINVAL && !w && strstr(err.msg, "9 heads"), "%s", err.msg);
}

/* SMOL_CPU picks the kernels: scalar gives the scalar ones; without it the best the CPU has. */
static void test_level_selection(void) {
    const char *cap = getenv("SMOL_CPU");
    const smol_attn_kernels *best = smol_attn_kernels_best();
    if (cap && strcmp(cap, "scalar") == 0) {
        CHECK(best == &smol_attn_scalar, "SMOL_CPU=scalar did not select the scalar kernels");
        CHECK(!smol_attn_kernels_level(SMOL_SIMD_AVX2), "avx2 offered under SMOL_CPU=scalar");
    } else if (cap && strcmp(cap, "avx2") == 0) {
        CHECK(!smol_attn_kernels_level(SMOL_SIMD_AVX512), "avx512 offered under SMOL_CPU=avx2");
        CHECK(best == (smol_attn_kernels_level(SMOL_SIMD_AVX2) ? &smol_attn_avx2 : &smol_attn_scalar), "avx2 level");
    } else {
        const smol_attn_kernels *want = smol_attn_kernels_level(SMOL_SIMD_AVX512) ? &smol_attn_avx512
                                        : smol_attn_kernels_level(SMOL_SIMD_AVX2) ? &smol_attn_avx2 : &smol_attn_scalar;
        CHECK(best == want, "best kernels are not the highest level available");
    }
    printf("# attention kernels: %s\n", best == &smol_attn_avx512 ? "avx512" : best == &smol_attn_avx2 ? "avx2" : "scalar");
}

int main(void) {
    RUN(test_level_selection);
    RUN(test_exp_whole_range);
    RUN(test_f16_conversions);
    RUN(test_kvcache_growth);
    RUN(test_prompt_vs_reference);
    RUN(test_decode_long_context);
    RUN(test_multi_sequence_batch);
    return check_done();
}
