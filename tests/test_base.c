/* test_base.c: errors, file maps, atomic writes, CPU features, dtype table and half floats. */
#include "check.h"
#include "base/error.h"
#include "base/file.h"
#include "base/cpu.h"
#include "model/dtype.h"
#include "base/pool.h"
#include <stdatomic.h>
#include <stdint.h>

static void test_error_messages(void) {
    smol_error e;
    int rc = smol_fail(&e, SMOL_EFORMAT, "%s: bad magic", "x.gguf");
    CHECK(rc == SMOL_EFORMAT && e.code == SMOL_EFORMAT, "rc=%d", rc);
    CHECK(strcmp(e.msg, "x.gguf: bad magic") == 0, "msg=%s", e.msg);
    smol_error_prefix(&e, "loading %s", "model");
    CHECK(strcmp(e.msg, "loading model: x.gguf: bad magic") == 0, "msg=%s", e.msg);
    CHECK(smol_fail(NULL, SMOL_EIO, "ignored") == SMOL_EIO, "NULL err");
}

static void test_atomic_write_and_map(void) {
    const char *path = test_tmp("atomic.bin");
    smol_atomic_file f;
    smol_error e;
    REQUIRE(smol_atomic_open(&f, path, &e) == 0, "%s", e.msg);
    fputs("hello", f.fp);
    CHECK(!smol_exists(path), "file must not appear before commit");
    REQUIRE(smol_atomic_commit(&f, &e) == 0, "%s", e.msg);
    smol_map m;
    REQUIRE(smol_map_open(&m, path, &e) == 0, "%s", e.msg);
    CHECK(m.size == 5 && memcmp(m.data, "hello", 5) == 0, "size=%zu", m.size);
    smol_map_close(&m);
    CHECK(smol_map_open(&m, "/nonexistent/x", &e) == SMOL_EIO && strstr(e.msg, "/nonexistent/x"), "%s", e.msg);
    unlink(path);
}

static void test_cpu_features(void) {
    const char *f = smol_cpu_features();
    CHECK(f && *f, "features string empty");
    CHECK(smol_physical_cores() >= 1, "cores");
    if (smol_cpu_has_avx512()) CHECK(smol_cpu_has_avx2(), "avx512 implies avx2");
}

static void test_dtype_table(void) {
    CHECK(smol_dtype_get(SMOL_Q8_0)->block == 32 && smol_dtype_get(SMOL_Q8_0)->size == 34, "q8_0");
    CHECK(smol_dtype_get(SMOL_Q4_K)->block == 256 && smol_dtype_get(SMOL_Q4_K)->size == 144, "q4_K");
    CHECK(smol_dtype_get(SMOL_Q6_K)->size == 210 && smol_dtype_get(SMOL_Q2_K)->size == 84, "k sizes");
    CHECK(smol_dtype_get(4) == NULL && smol_dtype_get(1000) == NULL, "unused ids");
    CHECK(smol_dtype_from_name("Q4_K") == SMOL_Q4_K && smol_dtype_from_name("bf16") == SMOL_BF16, "names");
    CHECK(smol_dtype_nbytes(SMOL_Q8_0, 64, NULL) == 68 && smol_dtype_nbytes(SMOL_Q8_0, 33, NULL) == 0, "nbytes");
    int of = 0;
    smol_dtype_nbytes(SMOL_F64, UINT64_MAX / 4, &of);
    CHECK(of == 1, "overflow not detected");
}

static void test_half_conversions(void) {
    /* every half round-trips through float */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = smol_f16_to_f32((uint16_t)h);
        uint16_t back = smol_f32_to_f16(f);
        if (f == f && back != h) bad++;
    }
    CHECK(bad == 0, "%d halves do not round-trip", bad);
    CHECK(smol_f16_to_f32(0x3c00) == 1.0f && smol_f16_to_f32(0xc000) == -2.0f, "known values");
    CHECK(smol_f32_to_f16(65520.0f) == 0x7c00 && smol_f32_to_f16(1e-8f) == 0, "overflow/underflow");
    CHECK(smol_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00, "ties to even (down)");
    CHECK(smol_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02, "ties to even (up)");
    CHECK(smol_bf16_to_f32(smol_f32_to_bf16(3.140625f)) == 3.140625f, "bf16 exact");
    CHECK(smol_f32_to_bf16(1.00390625f) == 0x3f80, "bf16 tie to even");
}

typedef struct { atomic_int hits[1000]; atomic_int calls; } pool_ctx;
static void pool_task(void *ctx, int task, int thread) {
    pool_ctx *c = ctx;
    atomic_fetch_add(&c->hits[task], 1);
    atomic_fetch_add(&c->calls, 1);
    (void)thread;
}

static void test_pool_runs_each_task_once(void) {
    for (int threads = 1; threads <= 4; threads++) {
        smol_pool *p = smol_pool_new(threads);
        REQUIRE(p && smol_pool_size(p) == threads, "pool of %d", threads);
        for (int round = 0; round < 50; round++) {
            static pool_ctx c;
            memset(&c, 0, sizeof c);
            int n = 1 + (round * 37) % 1000;
            smol_pool_run(p, n, pool_task, &c);
            int bad = atomic_load(&c.calls) != n;
            for (int i = 0; i < 1000; i++) bad |= atomic_load(&c.hits[i]) != (i < n);
            REQUIRE(!bad, "threads=%d round=%d: tasks not run exactly once", threads, round);
        }
        smol_pool_free(p);
    }
}

/* Many tiny back-to-back jobs: a worker that wakes late must never claim (or run twice) a
 * task of the next job, and the caller must never wait forever. */
typedef struct { atomic_int hits[8]; } tiny_ctx;
static void tiny_task(void *ctx, int task, int thread) {
    atomic_fetch_add(&((tiny_ctx *)ctx)->hits[task], 1);
    (void)thread;
}

static void test_pool_back_to_back_jobs(void) {
    for (int threads = 2; threads <= 4; threads++) {
        smol_pool *p = smol_pool_new(threads);
        REQUIRE(p, "pool of %d", threads);
        for (int round = 0; round < 50000; round++) {
            tiny_ctx c;
            memset(&c, 0, sizeof c);
            int n = 2 + round % 6;
            smol_pool_run(p, n, tiny_task, &c);
            for (int i = 0; i < 8; i++) {
                int h = atomic_load(&c.hits[i]);
                if (h != (i < n)) {
                    CHECK(0, "threads=%d round=%d n=%d: task %d ran %d times", threads, round, n, i, h);
                    smol_pool_free(p);
                    return;
                }
            }
        }
        smol_pool_free(p);
    }
}

int main(void) {
    RUN(test_pool_runs_each_task_once);
    RUN(test_pool_back_to_back_jobs);
    RUN(test_error_messages);
    RUN(test_atomic_write_and_map);
    RUN(test_cpu_features);
    RUN(test_dtype_table);
    RUN(test_half_conversions);
    return check_done();
}
