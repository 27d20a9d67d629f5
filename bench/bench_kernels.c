/* bench_kernels.c: decode-speed benchmark of the matmul kernels. For each weight type it runs
 * smol_matmul with one activation row (B = 1, a decode step) over the matrices of a
 * SmolLM2-135M-sized model (30 layers of q/k/v/o/gate/up/down at hidden 576, ffn 1536, kv 192,
 * plus a 49152 x 576 output matrix: 134.5M weights; K-quant types fall back per matrix as
 * llama.cpp does, see fallback_type) and reports the weight bytes streamed per
 * second, next to a plain memory-read probe of the same thread count, so the kernels can be
 * read as a fraction of the bandwidth limit. With -b B it also times the batched path
 * (prompt processing) over the layer matrices in GFLOP/s.
 *
 * Build and run (from the repository root, after `make`):
 *   cc -std=c11 -O3 -march=native -D_GNU_SOURCE -Iinclude -Isrc -pthread bench/bench_kernels.c build/libsmol.a -lcjson -lpcre2-8 -lutf8proc -lzstd -lz -lm -o build/bench_kernels && build/bench_kernels
 *
 * Options: -t "1 2" thread counts, -r N passes (best kept, default 5), -b B also time batch B,
 * -c time by process CPU time instead of wall clock (one thread: steadier under load),
 * then type names (default: f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q2_K q3_K q4_K q5_K q6_K).
 * SMOL_CPU=scalar|avx2 caps the SIMD level. Output: one line per (type, threads) on stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/cpu.h"
#include "base/pool.h"
#include "model/dtype.h"
#include "model/matmul.h"
#include "model/quant.h"
#include "smol.h"

enum { N_LAYERS = 30, HIDDEN = 576, FFN = 1536, KV = 192, VOCAB = 49152, MAX_MATS = 7 * N_LAYERS + 1 };

typedef struct { int64_t rows, n; void *w; uint32_t t; } matrix;

/* The type a K-quant tensor falls back to when its rows are not whole 256-blocks, as
 * llama.cpp's quantizer does (hidden 576 is 2.25 blocks): the matrices with n = 576 of a
 * "q4_K" model are q5_0, and so on. */
static uint32_t fallback_type(uint32_t t, int64_t n) {
    if (n % 256 == 0) return t;
    switch (t) {
    case SMOL_Q2_K: case SMOL_Q3_K: return SMOL_Q4_0;
    case SMOL_Q4_K: return SMOL_Q5_0;
    case SMOL_Q5_K: return SMOL_Q5_1;
    case SMOL_Q6_K: return SMOL_Q8_0;
    default: return t;
    }
}

static int use_cpu_time;  /* -c: time by process CPU time (steadier on a shared machine) */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(use_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / 16777216.0f * 2 - 1;
}

/* The shapes of the model, in the order a decode step uses them. */
static int model_shapes(matrix *m) {
    int k = 0;
    for (int l = 0; l < N_LAYERS; l++) {
        int64_t shapes[7][2] = {{HIDDEN, HIDDEN}, {KV, HIDDEN}, {KV, HIDDEN}, {HIDDEN, HIDDEN},
                                {FFN, HIDDEN}, {FFN, HIDDEN}, {HIDDEN, FFN}};
        for (int s = 0; s < 7; s++) m[k++] = (matrix){shapes[s][0], shapes[s][1], NULL, 0};
    }
    m[k++] = (matrix){VOCAB, HIDDEN, NULL, 0};
    return k;
}

/* Allocates the weights of type t (or its fallback): each matrix is one quantized random row
 * repeated. *native receives the bytes stored in t itself. */
static int alloc_weights(matrix *m, int n_mats, uint32_t t0, uint64_t *total, uint64_t *native) {
    *total = *native = 0;
    float row[FFN];
    static uint8_t qrow[FFN * 4];
    for (int i = 0; i < n_mats; i++) {
        uint32_t t = m[i].t = fallback_type(t0, m[i].n);
        size_t rs = (size_t)smol_dtype_row_size(t, (uint64_t)m[i].n), bytes = rs * (size_t)m[i].rows;
        m[i].w = aligned_alloc(64, (bytes + 63) / 64 * 64);
        if (!m[i].w) return -1;
        for (int64_t j = 0; j < m[i].n; j++) row[j] = frand();
        if (smol_quantize_row(t, row, qrow, m[i].n) != SMOL_OK) {  /* no quantizer: random bytes */
            for (size_t j = 0; j < rs; j++) qrow[j] = (uint8_t)(rng >> (j % 56));
        }
        for (int64_t r = 0; r < m[i].rows; r++) memcpy((uint8_t *)m[i].w + (size_t)r * rs, qrow, rs);
        *total += bytes;
        if (t == t0) *native += bytes;
    }
    return 0;
}

/* One pass of every matrix at batch B; returns seconds. */
static double run_pass(smol_pool *pool, matrix *m, int n_mats, const float *x, int64_t B, float *y,
                       void *scratch) {
    double t0 = now_s();
    for (int i = 0; i < n_mats; i++) {
        int rc = smol_matmul(pool, m[i].w, m[i].t, m[i].rows, m[i].n, x, B, y, scratch);
        if (rc != SMOL_OK) {
            fprintf(stderr, "bench_kernels: smol_matmul(%s) failed: %d\n", smol_dtype_name(m[i].t), rc);
            exit(1);
        }
    }
    return now_s() - t0;
}

/* Plain read of a large buffer split over the pool's threads. */
typedef struct { const uint64_t *buf; size_t words; int parts; uint64_t sums[64]; } read_job;

static void read_task(void *ctx, int task, int thread) {
    (void)thread;
    read_job *j = ctx;
    size_t per = j->words / (size_t)j->parts, a = per * (size_t)task, b = a + per;
    uint64_t s[8] = {0};
    for (size_t i = a; i < b; i += 8)
        for (int k = 0; k < 8; k++) s[k] += j->buf[i + k];
    j->sums[task] = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

static double read_bandwidth(smol_pool *pool, int reps) {
    size_t bytes = (size_t)512 << 20, words = bytes / 8;
    uint64_t *buf = aligned_alloc(64, bytes);
    if (!buf) return 0;
    for (size_t i = 0; i < words; i++) buf[i] = i;
    read_job j = {.buf = buf, .words = words, .parts = smol_pool_size(pool)};
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        smol_pool_run(pool, j.parts, read_task, &j);
        double dt = now_s() - t0;
        uint64_t s = 0;
        for (int p = 0; p < j.parts; p++) s += j.sums[p];
        if (s != (uint64_t)words * (words - 1) / 2) {
            fprintf(stderr, "bench_kernels: read probe checksum mismatch\n");
            exit(1);
        }
        if (dt < best) best = dt;
    }
    free(buf);
    return (double)bytes / best / 1e9;
}

int main(int argc, char **argv) {
    const char *threads_arg = "1 2";
    int reps = 5;
    int64_t batch = 0;
    int argi = 1;
    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        if (!strcmp(argv[argi], "-t") && argi + 1 < argc) threads_arg = argv[++argi];
        else if (!strcmp(argv[argi], "-r") && argi + 1 < argc) reps = atoi(argv[++argi]);
        else if (!strcmp(argv[argi], "-b") && argi + 1 < argc) batch = atoll(argv[++argi]);
        else if (!strcmp(argv[argi], "-c")) use_cpu_time = 1;
        else {
            fprintf(stderr, "usage: bench_kernels [-t \"1 2\"] [-r N] [-b B] [-c] [type ...]\n"
                            "example: bench_kernels -t 1 q4_K q8_0\n");
            return 2;
        }
    }
    const char *default_types[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
                                   "q2_K", "q3_K", "q4_K", "q5_K", "q6_K"};
    int n_types = argi < argc ? argc - argi : (int)(sizeof default_types / sizeof *default_types);
    const char **types = argi < argc ? (const char **)argv + argi : default_types;
    if (reps < 1) reps = 1;

    printf("# cpu: %s\n", smol_cpu_features());
    matrix m[MAX_MATS];
    int n_mats = model_shapes(m);
    int64_t bmax = batch > 1 ? batch : 1;
    float *x = malloc(sizeof(float) * FFN * (size_t)bmax), *y = malloc(sizeof(float) * VOCAB * (size_t)bmax);
    void *scratch = aligned_alloc(64, (size_t)FFN * 4 * (size_t)bmax);
    if (!x || !y || !scratch) return 1;
    for (int64_t i = 0; i < FFN * bmax; i++) x[i] = frand();

    int thread_counts[8], n_tc = 0;
    for (const char *p = threads_arg; *p && n_tc < 8;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p) break;
        thread_counts[n_tc++] = v < 1 ? 1 : (int)v;
        p = end;
    }
    double bw[8];
    for (int k = 0; k < n_tc; k++) {
        smol_pool *pool = smol_pool_new(thread_counts[k]);
        bw[k] = read_bandwidth(pool, reps);
        smol_pool_free(pool);
        printf("read-probe threads=%d GBps=%.2f\n", thread_counts[k], bw[k]);
    }
    for (int ti = 0; ti < n_types; ti++) {
        int t = smol_dtype_from_name(types[ti]);
        if (t < 0 || !smol_get_vec_dot((uint32_t)t)) {
            fprintf(stderr, "bench_kernels: no kernel for type '%s'\n", types[ti]);
            return 2;
        }
        uint64_t total, native;
        if (alloc_weights(m, n_mats, (uint32_t)t, &total, &native) != 0) {
            fprintf(stderr, "bench_kernels: out of memory for %s\n", types[ti]);
            return 1;
        }
        for (int k = 0; k < n_tc; k++) {
            smol_pool *pool = smol_pool_new(thread_counts[k]);
            run_pass(pool, m, n_mats, x, 1, y, scratch);  /* warm-up */
            double best = 1e30;
            for (int r = 0; r < reps; r++) {
                double dt = run_pass(pool, m, n_mats, x, 1, y, scratch);
                if (dt < best) best = dt;
            }
            double gbps = (double)total / best / 1e9;
            printf("%-5s threads=%d weights_MB=%.1f native=%.0f%% decode_ms=%.2f GBps=%.2f of_read_probe=%.0f%%",
                   types[ti], thread_counts[k], total / 1e6, 100.0 * native / total, best * 1e3, gbps, 100 * gbps / bw[k]);
            if (batch > 1) {  /* layer matrices only: the batched prompt path */
                double bt = 1e30, flops = 0;
                for (int i = 0; i < n_mats - 1; i++) flops += 2.0 * (double)m[i].rows * (double)m[i].n * (double)batch;
                for (int r = 0; r < reps; r++) {
                    double dt = run_pass(pool, m, n_mats - 1, x, batch, y, scratch);
                    if (dt < bt) bt = dt;
                }
                printf(" batch=%lld GFLOPs=%.1f", (long long)batch, flops / bt / 1e9);
            }
            printf("\n");
            fflush(stdout);
            smol_pool_free(pool);
        }
        for (int i = 0; i < n_mats; i++) free(m[i].w);
    }
    free(x);
    free(y);
    free(scratch);
    return 0;
}
