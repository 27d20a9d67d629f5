/* test_minhash.c: SHA-1 against the FIPS 180 examples, datatrove's text normalisation, the
 * LSH catch curve P(s) = 1 - (1 - s^8)^14 on planted near-duplicate pairs, the four MinHash
 * stages (1 shard vs 4 shards vs 2 threads give byte-identical output, reruns skip finished
 * work, exclusions name their cluster), exact dedup and the errors of misused stages.
 * (Signatures are compared with a numpy/hashlib oracle in tests/cli/test_dedup.sh.) */
#include "check.h"
#include "data/dedup.h"
#include "data/minhash.h"
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

static void hex(const uint8_t *d, int n, char *out) {
    for (int i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha1_vectors(void) {
    static const struct { const char *in; const char *want; } k[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    char got[41];
    uint8_t d[20];
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        smol_sha1(k[i].in, strlen(k[i].in), d);
        hex(d, 20, got);
        CHECK(strcmp(got, k[i].want) == 0, "SHA-1(\"%s\") = %s, want %s", k[i].in, got, k[i].want);
    }
    char *mil = malloc(1000000);
    REQUIRE(mil, "oom");
    memset(mil, 'a', 1000000);
    smol_sha1(mil, 1000000, d);
    hex(d, 20, got);
    CHECK(strcmp(got, "34aa973cd4c4daa4f61eeb2bdbad27316534016f") == 0, "SHA-1(a x 10^6) = %s", got);
    /* 56 bytes: the length field no longer fits the first padding block (Python hashlib value) */
    smol_sha1(mil, 56, d);
    hex(d, 20, got);
    CHECK(strcmp(got, "c2db330f6083854c99d4b5bfb6e8f29f201be699") == 0, "SHA-1(a x 56) = %s", got);
    free(mil);
    uint8_t abc[20];
    smol_sha1("abc", 3, abc);
    uint64_t le = 0;
    for (int i = 7; i >= 0; i--) le = le << 8 | abc[i];
    CHECK(smol_sha1_64("abc", 3) == le, "sha1_64 is the little-endian first 8 bytes");
}

/* Cases worked out by hand from datatrove's simplify_text and NLTK's word_tokenize. */
static void test_normalize(void) {
    static const struct { const char *in, *want; } k[] = {
        {"Hello, World! 123", "hello world 0"},
        {"  a  -  b\t\nc  ", "a b c"},
        {"x-ray e-mail 3.14 1,000,000", "xray email 0 0"},
        {"Naïve CAFÉ résumé", "naive cafe resume"},
        {"I cannot, I'm gonna go", "i can not im gon na go"},
        {"cannotx wannabe", "cannotx wannabe"},
        {"ΟΔΟΣ Σ", "οδος σ"},
        {"a\xe2\x80\x98quoted\xe2\x80\x99 b", "a \xe2\x80\x98 quoted b"},
        {"\xef\xbc\x91\xef\xbc\x92", "0"},  /* fullwidth one is datatrove punctuation; fullwidth two a digit */
        {"tab\x0bvt\x1c" "fs", "tab vt fs"},
        {"", ""},
        {"!!! ... ---", ""},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        char *out;
        size_t len, nw;
        REQUIRE(smol_minhash_normalize(k[i].in, strlen(k[i].in), &out, &len, &nw) == 0, "oom");
        CHECK(strcmp(out, k[i].want) == 0, "case %zu: \"%s\" -> \"%s\", want \"%s\"", i, k[i].in, out, k[i].want);
        size_t words = 0;
        for (size_t j = 0; j < len; j++) words += j == 0 || out[j - 1] == ' ';
        CHECK(nw == words, "case %zu: %zu words counted, %zu in \"%s\"", i, nw, words, out);
        free(out);
    }
}

/* A small deterministic generator for the planted corpora. */
static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Appends a random 8-letter word (and a space) to buf at *n. */
static void rand_word(uint64_t *s, char *buf, size_t *n) {
    uint64_t r = rng_next(s);
    for (int i = 0; i < 8; i++, r >>= 5) buf[(*n)++] = (char)('a' + r % 26);
    buf[(*n)++] = ' ';
    buf[*n] = 0;
}

/* Planted pairs at each Jaccard level: A = N fresh words, B = A with its last k words replaced,
 * so J = (N-k-4)/(N-4+k) exactly. The share of pairs sharing a bucket signature must match
 * P(J) = 1-(1-J^8)^14 within 4 binomial standard deviations, and the share of equal hashes
 * (the MinHash estimate of J) must match J. */
static void test_lsh_curve(void) {
    smol_minhash_opts o;
    smol_minhash_opts_default(&o);
    smol_minhash *m;
    smol_error err;
    REQUIRE(smol_minhash_new(&o, &m, &err) == 0, "%s", err.msg);
    smol_minhash_scratch *sc = smol_minhash_scratch_new();
    const double levels[] = {0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95};
    const int N = 100, pairs = 300;
    uint64_t seed = 0x9E3779B97F4A7C15u;
    static char a[2000], b[2000];
    uint64_t sa[112], sb[112];
    for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++) {
        int k = (int)((N - 4) * (1 - levels[li]) / (1 + levels[li]) + 0.5);
        double J = (double)(N - k - 4) / (N - 4 + k);
        double P = 1 - pow(1 - pow(J, 8), 14);
        int caught = 0;
        long equal = 0;
        for (int p = 0; p < pairs; p++) {
            size_t na = 0, nb = 0;
            for (int w = 0; w < N; w++) {
                rand_word(&seed, a, &na);
                if (w < N - k) memcpy(b + nb, a + na - 9, 9), nb += 9;
                else rand_word(&seed, b, &nb);
            }
            REQUIRE(smol_minhash_signature(m, sc, a, na, sa) == N - 4, "shingles of A");
            REQUIRE(smol_minhash_signature(m, sc, b, nb, sb) == N - 4, "shingles of B");
            int hit = 0;
            for (int bi = 0; bi < 14; bi++) hit |= memcmp(sa + 8 * bi, sb + 8 * bi, 64) == 0;
            for (int i = 0; i < 112; i++) equal += sa[i] == sb[i];
            caught += hit;
        }
        double sd = sqrt(pairs * P * (1 - P));
        printf("  J=%.3f (k=%d): caught %d/%d, expected %.1f +- %.1f; hash agreement %.3f\n", J, k, caught, pairs,
               pairs * P, sd, (double)equal / (112.0 * pairs));
        CHECK(fabs(caught - pairs * P) <= 4 * sd + 1, "J=%.3f: caught %d of %d pairs, P(J) predicts %.1f (sd %.1f)", J,
              caught, pairs, pairs * P, sd);
        double est = (double)equal / (112.0 * pairs), esd = sqrt(J * (1 - J) / (112.0 * pairs));
        CHECK(fabs(est - J) <= 4 * esd + 0.005, "J=%.3f: equal-hash share %.4f (sd %.4f)", J, est, esd);
    }
    smol_minhash_scratch_free(sc);
    smol_minhash_free(m);
}

/* ---- stage tests on files */

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static char *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) sz = 0;
    if (buf) buf[sz] = 0;
    fclose(f);
    *n = (size_t)sz;
    return buf;
}

static size_t count_lines(const char *path) {
    size_t n, c = 0;
    char *s = read_all(path, &n);
    for (size_t i = 0; s && i < n; i++) c += s[i] == '\n';
    free(s);
    return c;
}

/* A corpus of n_files files: each document a fresh 60-word text, or (every 5th) a copy of an
 * earlier document with one word changed (J = 51/61 ~ 0.84 is caught with P = 0.85; so a copy
 * with nothing changed is planted too (every 7th), which is always caught). */
static void make_corpus(const char *dir, int n_files, int docs_per_file, int *exact_dups) {
    mkdir(dir, 0777);
    uint64_t seed = 12345;
    static char docs[400][700];
    int nd = 0;
    *exact_dups = 0;
    for (int f = 0; f < n_files; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/part-%02d.jsonl", dir, f);
        FILE *fp = fopen(path, "w");
        if (!fp) return;
        for (int d = 0; d < docs_per_file && nd < 400; d++, nd++) {
            size_t n = 0;
            if (nd % 7 == 6) {
                memcpy(docs[nd], docs[nd / 2], sizeof docs[nd]);
                (*exact_dups)++;
            } else if (nd % 5 == 4) {
                memcpy(docs[nd], docs[nd - 3], sizeof docs[nd]);
                docs[nd][9 * 30] = docs[nd][9 * 30] == 'z' ? 'y' : 'z';
            } else {
                for (int w = 0; w < 60; w++) rand_word(&seed, docs[nd], &n);
            }
            fprintf(fp, "{\"id\": \"f%d-%d\", \"text\": \"%s\", \"meta\": {\"n\": %d}}\n", f, d, docs[nd], nd);
        }
        fclose(fp);
    }
}

static void rm_rf(const char *path) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", path);
}

static int run_all(char **files, size_t n, const char *work, const char *out, const char *excl, int world, int threads,
                   smol_minhash_stats *st, smol_error *err) {
    smol_minhash_opts o;
    smol_minhash_opts_default(&o);
    o.threads = threads, o.world_size = world, o.exclusions_dir = excl;
    int rc = 0;
    for (int r = 0; r < world && !rc; r++) o.rank = r, rc = smol_minhash_signatures(files, n, work, &o, st, err);
    for (int r = 0; r < world && !rc; r++) o.rank = r, rc = smol_minhash_buckets(files, n, work, &o, st, err);
    for (int r = 0; r < world && !rc; r++) o.rank = r, rc = smol_minhash_clusters(files, n, work, &o, st, err);
    for (int r = world - 1; r >= 0 && !rc; r--) o.rank = r, rc = smol_minhash_filter(files, n, work, out, &o, st, err);
    return rc;
}

static int same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = read_all(a, &na), *y = read_all(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    if (!same && x && y) {
        size_t i = 0;
        while (i < na && i < nb && x[i] == y[i]) i++;
        fprintf(stderr, "%s and %s differ at byte %zu\n", a, b, i);
    }
    free(x), free(y);
    return same;
}

static void test_stages_sharding(void) {
    const char *root = test_tmp("mh");
    char in[512], path[1024], path2[1024];
    mkdir(root, 0777);
    snprintf(in, sizeof in, "%s/in", root);
    int exact = 0;
    make_corpus(in, 6, 50, &exact);
    const char *args[] = {in};
    char **files;
    size_t n;
    smol_error err = {0};
    REQUIRE(smol_dd_list_inputs(args, 1, &files, &n, &err) == 0, "%s", err.msg);
    REQUIRE(n == 6, "%zu files listed", n);
    const char *runs[3][2] = {{"w1", "o1"}, {"w4", "o4"}, {"wt", "ot"}};
    const int world[3] = {1, 4, 1}, threads[3] = {1, 1, 2};
    smol_minhash_stats st[3] = {{0}};
    for (int r = 0; r < 3; r++) {
        char w[512], o[512], e[512];
        snprintf(w, sizeof w, "%s/%s", root, runs[r][0]);
        snprintf(o, sizeof o, "%s/%s", root, runs[r][1]);
        snprintf(e, sizeof e, "%s/%s-ex", root, runs[r][1]);
        REQUIRE(run_all(files, n, w, o, e, world[r], threads[r], &st[r], &err) == 0, "run %d: %s", r, err.msg);
    }
    CHECK(st[0].docs == 300 && st[0].signed_docs == 300, "docs %llu signed %llu", (unsigned long long)st[0].docs,
          (unsigned long long)st[0].signed_docs);
    /* exact copies are always caught; one-word edits with P = 0.85 each: most are */
    CHECK(st[0].removed >= (uint64_t)exact && st[0].removed <= 300 / 7 + 300 / 5 + 1, "removed %llu (exact copies %d)",
          (unsigned long long)st[0].removed, exact);
    CHECK(st[0].to_remove == st[0].removed, "clusters said %llu, filter removed %llu",
          (unsigned long long)st[0].to_remove, (unsigned long long)st[0].removed);
    CHECK(st[0].kept + st[0].removed == 300, "kept %llu + removed %llu", (unsigned long long)st[0].kept,
          (unsigned long long)st[0].removed);
    for (int r = 1; r < 3; r++) {
        CHECK(st[r].removed == st[0].removed && st[r].pairs == st[0].pairs, "run %d removed %llu pairs %llu", r,
              (unsigned long long)st[r].removed, (unsigned long long)st[r].pairs);
        for (size_t f = 0; f < n; f++) {
            snprintf(path, sizeof path, "%s/o1/part-%02zu.jsonl", root, f);
            snprintf(path2, sizeof path2, "%s/%s/part-%02zu.jsonl", root, runs[r][1], f);
            CHECK(same_file(path, path2), "kept output of run %d differs from 1 shard: %s", r, path2);
            snprintf(path, sizeof path, "%s/o1-ex/part-%02zu.jsonl", root, f);
            snprintf(path2, sizeof path2, "%s/%s-ex/part-%02zu.jsonl", root, runs[r][1], f);
            CHECK(same_file(path, path2), "exclusions of run %d differ from 1 shard: %s", r, path2);
        }
    }
    size_t kept = 0, removed = 0;
    for (size_t f = 0; f < n; f++) {
        snprintf(path, sizeof path, "%s/o1/part-%02zu.jsonl", root, f);
        kept += count_lines(path);
        snprintf(path, sizeof path, "%s/o1-ex/part-%02zu.jsonl", root, f);
        removed += count_lines(path);
    }
    CHECK(kept == st[0].kept && removed == st[0].removed, "files hold %zu kept, %zu removed", kept, removed);
    /* the first file's kept records are its input lines, byte for byte, minus removed ones */
    snprintf(path, sizeof path, "%s/o1-ex/part-01.jsonl", root);
    size_t len;
    char *ex = read_all(path, &len);
    CHECK(ex && strstr(ex, "\"minhash_cluster\":") && strstr(ex, "\"minhash_duplicate_of\":\"part-0"),
          "exclusion records name cluster and kept document: %.200s", ex ? ex : "(none)");
    free(ex);
    /* a rerun skips everything */
    smol_minhash_stats again = {0};
    char w[512], o[512];
    snprintf(w, sizeof w, "%s/w1", root);
    snprintf(o, sizeof o, "%s/o1", root);
    REQUIRE(run_all(files, n, w, o, NULL, 1, 1, &again, &err) == 0, "%s", err.msg);
    CHECK(again.docs == 0 && again.skipped == 6 + 14 + 1 + 6, "rerun: docs %llu skipped %llu",
          (unsigned long long)again.docs, (unsigned long long)again.skipped);
    /* an input that changed after its signatures is refused by the filter stage */
    snprintf(path, sizeof path, "%s/part-02.jsonl", in);
    FILE *fp = fopen(path, "a");
    if (fp) fputs("{\"text\": \"appended later\"}\n", fp), fclose(fp);
    smol_minhash_opts mo;
    smol_minhash_opts_default(&mo);
    snprintf(o, sizeof o, "%s/o-changed", root);
    int rc = smol_minhash_filter(files, n, w, o, &mo, NULL, &err);
    CHECK(rc == SMOL_EINVAL && strstr(err.msg, "part-02.jsonl") && strstr(err.msg, "changed"), "%d %s", rc, err.msg);
    smol_dd_free_list(files, n);
    rm_rf(root);
}

static void test_stage_errors(void) {
    const char *root = test_tmp("mherr");
    char in[512], work[512], path[1024];
    mkdir(root, 0777);
    snprintf(in, sizeof in, "%s/in", root);
    snprintf(work, sizeof work, "%s/work", root);
    int exact;
    make_corpus(in, 2, 5, &exact);
    const char *args[] = {in};
    char **files;
    size_t n;
    smol_error err = {0};
    REQUIRE(smol_dd_list_inputs(args, 1, &files, &n, &err) == 0, "%s", err.msg);
    smol_minhash_opts o;
    smol_minhash_opts_default(&o);
    int rc = smol_minhash_buckets(files, n, work, &o, NULL, &err);
    CHECK(rc == SMOL_ENOTFOUND && strstr(err.msg, "part-00.jsonl") && strstr(err.msg, "signatures"), "%d %s", rc, err.msg);
    rc = smol_minhash_filter(files, n, work, root, &o, NULL, &err);
    CHECK(rc == SMOL_ENOTFOUND && strstr(err.msg, "clusters"), "%d %s", rc, err.msg);
    o.rank = 3, o.world_size = 2;
    rc = smol_minhash_signatures(files, n, work, &o, NULL, &err);
    CHECK(rc == SMOL_EINVAL && strstr(err.msg, "rank 3"), "%d %s", rc, err.msg);
    o.rank = 0, o.world_size = 1;
    rc = smol_minhash_signatures(files, 1, work, &o, NULL, &err);
    CHECK(rc == SMOL_EINVAL && strstr(err.msg, "other inputs"), "a different input list: %d %s", rc, err.msg);
    /* a bad record names its file and line */
    snprintf(path, sizeof path, "%s/bad.jsonl", in);
    write_file(path, "{\"text\": \"fine\"}\n{\"txt\": \"no text field\"}\n");
    char **f2;
    size_t n2;
    REQUIRE(smol_dd_list_inputs(args, 1, &f2, &n2, &err) == 0, "%s", err.msg);
    snprintf(work, sizeof work, "%s/work2", root);
    rc = smol_minhash_signatures(f2, n2, work, &o, NULL, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "bad.jsonl:2") && strstr(err.msg, "\"text\""), "%d %s", rc, err.msg);
    o.text_field = "txt";
    snprintf(work, sizeof work, "%s/work3", root);
    rc = smol_minhash_signatures(f2, n2, work, &o, NULL, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "bad.jsonl:1"), "%d %s", rc, err.msg);
    smol_dd_free_list(f2, n2);
    /* two inputs that would share an output name */
    snprintf(path, sizeof path, "%s/part-00.json", in);
    write_file(path, "{\"text\": \"x\"}\n");
    const char *two[] = {path, files[0]};
    rc = smol_dd_list_inputs(two, 2, &f2, &n2, &err);
    CHECK(rc == SMOL_EINVAL && strstr(err.msg, "part-00.jsonl"), "%d %s", rc, err.msg);
    smol_dd_free_list(files, n);
    rm_rf(root);
}

static void test_exact(void) {
    const char *root = test_tmp("exact");
    char in[512], out[512], ex[512], path[1024];
    mkdir(root, 0777);
    snprintf(in, sizeof in, "%s/a.jsonl", root);
    write_file(in, "{\"text\": \"one\"}\n{\"text\": \"two\", \"k\": 1}\n\n{\"text\": \"one\", \"k\": 2}\n{\"text\": \"One\"}\n");
    snprintf(path, sizeof path, "%s/b.jsonl", root);
    write_file(path, "{\"text\": \"two\"}\n{\"text\": \"three\"}\n{\"text\": \"one \"}\n");
    snprintf(out, sizeof out, "%s/out", root);
    snprintf(ex, sizeof ex, "%s/ex", root);
    const char *args[] = {path, in};
    char **files;
    size_t n;
    smol_error err = {0};
    REQUIRE(smol_dd_list_inputs(args, 2, &files, &n, &err) == 0, "%s", err.msg);
    CHECK(n == 2 && strstr(files[0], "a.jsonl"), "sorted: %s", files[0]);
    smol_exact_opts eo = {.exclusions_dir = ex};
    smol_dedup_stats st;
    REQUIRE(smol_dedup_exact(files, n, out, &eo, &st, &err) == 0, "%s", err.msg);
    CHECK(st.docs == 7 && st.kept == 5 && st.removed == 2, "docs %llu kept %llu removed %llu",
          (unsigned long long)st.docs, (unsigned long long)st.kept, (unsigned long long)st.removed);
    size_t len;
    snprintf(path, sizeof path, "%s/a.jsonl", out);
    char *a = read_all(path, &len);
    CHECK(a && strcmp(a, "{\"text\": \"one\"}\n{\"text\": \"two\", \"k\": 1}\n{\"text\": \"One\"}\n") == 0, "a: %s", a);
    free(a);
    snprintf(path, sizeof path, "%s/b.jsonl", ex);
    a = read_all(path, &len);
    CHECK(a && strstr(a, "\"exact_duplicate_of\":\"a.jsonl:1\""), "b exclusions: %s", a);
    free(a);
    smol_dd_free_list(files, n);
    rm_rf(root);
}

int main(void) {
    RUN(test_sha1_vectors);
    RUN(test_normalize);
    RUN(test_lsh_curve);
    RUN(test_stages_sharding);
    RUN(test_stage_errors);
    RUN(test_exact);
    return check_done();
}
