/* membw.c: measures DRAM read bandwidth (GB/s, 1 GB = 1e9 bytes) with 1..T threads, reading a
 * buffer much larger than the caches (default 1 GiB) several times and keeping the best pass.
 * It is the yardstick for decode speed: a token reads every weight once, so
 * tokens/s can be at most bandwidth / model bytes per token.
 *
 * Build and run (one line):
 *   cc -std=c11 -O3 -march=native -pthread bench/membw.c -o build/membw && build/membw
 *
 * Options: -s MIB buffer size (1024), -n N passes per thread count (7), -t T largest thread count (2),
 * -w 64-byte vector loads with software prefetch (a decode kernel's access pattern) instead of words.
 * Output (stdout), one line per thread count, e.g.:
 *   threads=1 read_GBps=11.52 best_ms=93.2 median_ms=95.0 buffer_MiB=1024 passes=7
 * Each pass also checks the sum of what it read against the known fill, so a pass that skipped
 * memory cannot go unnoticed (exit 1 with "membw: checksum ..." if it does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { MAX_THREADS = 256, MAX_PASSES = 1000 };

typedef struct slice {
    const uint64_t *words;  /* first word of this thread's part of the buffer */
    size_t n_words;
    int wide;               /* -w: 64-byte vector loads with software prefetch */
    uint64_t sum;           /* the sum of the words read, for the checksum */
} slice;

/* 64-byte vectors of eight words (GCC/clang vector extension: zmm registers with -march=native on
 * an AVX-512 CPU, pairs of ymm or four xmm elsewhere). */
typedef uint64_t v8w __attribute__((vector_size(64)));

/* Sums the slice 256 bytes at a time with four vector accumulators, prefetching 1 KB ahead: the
 * way a decode kernel streams weights, to see whether wider loads read faster than words. */
static uint64_t read_wide(const uint64_t *p, size_t n)
{
    v8w a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __builtin_prefetch(p + i + 128);
        __builtin_prefetch(p + i + 136);
        __builtin_prefetch(p + i + 144);
        __builtin_prefetch(p + i + 152);
        v8w x0, x1, x2, x3;
        memcpy(&x0, p + i, 64), memcpy(&x1, p + i + 8, 64), memcpy(&x2, p + i + 16, 64), memcpy(&x3, p + i + 24, 64);
        a0 += x0, a1 += x1, a2 += x2, a3 += x3;
    }
    v8w a = a0 + a1 + a2 + a3;
    uint64_t sum = 0;
    for (int k = 0; k < 8; k++) sum += a[k];
    for (; i < n; i++) sum += p[i];
    return sum;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sums the slice's words with eight independent accumulators so loads are not serialized. */
static void *read_slice(void *arg)
{
    slice *s = arg;
    const uint64_t *p = s->words;
    if (s->wide) {
        s->sum = read_wide(p, s->n_words);
        return NULL;
    }
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    size_t i = 0, n = s->n_words;
    for (; i + 8 <= n; i += 8) {
        a0 += p[i + 0]; a1 += p[i + 1]; a2 += p[i + 2]; a3 += p[i + 3];
        a4 += p[i + 4]; a5 += p[i + 5]; a6 += p[i + 6]; a7 += p[i + 7];
    }
    for (; i < n; i++) a0 += p[i];
    s->sum = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    return NULL;
}

/* Reads the whole buffer once with n_threads threads; returns the seconds taken, or -1 on error. */
static double timed_pass(const uint64_t *buf, size_t n_words, int n_threads, int wide, uint64_t *sum)
{
    pthread_t tid[MAX_THREADS];
    slice parts[MAX_THREADS];
    size_t per = n_words / (size_t)n_threads;
    double t0 = now_sec();
    for (int t = 0; t < n_threads; t++) {
        parts[t].words = buf + (size_t)t * per;
        parts[t].n_words = (t == n_threads - 1) ? n_words - (size_t)t * per : per;
        parts[t].sum = 0;
        parts[t].wide = wide;
        if (t > 0 && pthread_create(&tid[t], NULL, read_slice, &parts[t]) != 0) {
            fprintf(stderr, "membw: cannot start thread %d\n", t);
            for (int j = 1; j < t; j++) pthread_join(tid[j], NULL);
            return -1;
        }
    }
    read_slice(&parts[0]);
    *sum = parts[0].sum;
    for (int t = 1; t < n_threads; t++) {
        pthread_join(tid[t], NULL);
        *sum += parts[t].sum;
    }
    return now_sec() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int parse_int(const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "membw: %s wants an integer in %ld..%ld, got '%s'\n", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: membw [-s MIB] [-n PASSES] [-t MAX_THREADS] [-w]\n"
               "  Measures DRAM read bandwidth with 1..MAX_THREADS threads (default: -s 1024 -n 7 -t 2).\n"
               "  -w reads with 64-byte vector loads and software prefetch instead of words.\n"
               "  example: membw -s 2048 -t 2\n");
}

int main(int argc, char **argv)
{
    long mib = 1024, passes = 7, max_threads = 2;
    int opt, wide = 0;
    while ((opt = getopt(argc, argv, "s:n:t:wh")) != -1) {
        if (opt == 'w') { wide = 1; continue; }
        if (opt == 's' && parse_int("-s", optarg, 16, 1 << 20, &mib) == 0) continue;
        if (opt == 'n' && parse_int("-n", optarg, 1, MAX_PASSES, &passes) == 0) continue;
        if (opt == 't' && parse_int("-t", optarg, 1, MAX_THREADS, &max_threads) == 0) continue;
        if (opt == 'h') { usage(stdout); return 0; }
        usage(stderr);
        return 2;
    }
    if (optind != argc) { usage(stderr); return 2; }

    size_t bytes = (size_t)mib << 20, n_words = bytes / sizeof(uint64_t);
    uint64_t *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        fprintf(stderr, "membw: cannot map %ld MiB: %s\n", mib, strerror(errno));
        return 1;
    }
    madvise(buf, bytes, MADV_HUGEPAGE);  /* fewer TLB misses where THP is available; optional */
    for (size_t i = 0; i < n_words; i++) buf[i] = i;
    uint64_t n = n_words;  /* the sum 0 + 1 + ... + (n-1), modulo 2^64 like the sums read */
    uint64_t expect = (n % 2 == 0) ? (n / 2) * (n - 1) : n * ((n - 1) / 2);

    double secs[MAX_PASSES];
    for (int t = 1; t <= max_threads; t++) {
        uint64_t sum = 0;
        if (timed_pass(buf, n_words, t, wide, &sum) < 0) return 1;  /* warm-up pass, not counted */
        for (int p = 0; p < passes; p++) {
            secs[p] = timed_pass(buf, n_words, t, wide, &sum);
            if (secs[p] < 0) return 1;
            if (sum != expect) {
                fprintf(stderr, "membw: checksum of pass %d with %d threads is %llu, expected %llu\n", p, t,
                        (unsigned long long)sum, (unsigned long long)expect);
                return 1;
            }
        }
        qsort(secs, (size_t)passes, sizeof secs[0], cmp_double);
        printf("threads=%d read_GBps=%.2f best_ms=%.1f median_ms=%.1f buffer_MiB=%ld passes=%ld%s\n", t,
               (double)bytes / secs[0] / 1e9, secs[0] * 1e3, secs[passes / 2] * 1e3, mib, passes, wide ? " loads=wide" : "");
        fflush(stdout);
    }
    munmap(buf, bytes);
    return 0;
}
