/* test_decontam.c: Cosmopedia-style decontamination: its word splitting, the difflib match
 * ratio on cases worked out by hand, and crafted documents on both sides of the rule (a copied
 * benchmark item inside a longer text, one shared 10-gram only, short items, several benchmark
 * files), file and directory outputs. (The ratio is compared with Python's difflib on random
 * pairs in tests/cli/test_decontam.sh.) */
#include "check.h"
#include "data/decontam.h"
#include "data/dedup.h"
#include <sys/stat.h>

static void test_words(void) {
    static const struct { const char *in, *want; size_t n; } k[] = {
        {"Héllo, WORLD_x 42!", "hello world_x 42", 3},
        {"ΟΔΟΣ. Σ", "οδος σ", 2},
        {"naïve co-operate", "naive co operate", 3},
        {"x\xe0\xa4\x83y", "x y", 2},  /* a spacing mark (Mc) is not \w */
        {"\xc2\xb2 \xc2\xbd", "\xc2\xb2 \xc2\xbd", 2},  /* No characters are */
        {"", "", 0},
        {" ... ", "", 0},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        char *out;
        size_t len, n;
        REQUIRE(smol_decontam_words(k[i].in, strlen(k[i].in), &out, &len, &n) == 0, "oom");
        CHECK(strcmp(out, k[i].want) == 0 && n == k[i].n, "case %zu: \"%s\" -> \"%s\" (%zu words), want \"%s\" (%zu)", i,
              k[i].in, out, n, k[i].want, k[i].n);
        free(out);
    }
}

static double ratio_of(const char *doc, const char *bench) {
    double r = -1;
    if (smol_decontam_ratio(doc, strlen(doc), bench, strlen(bench), &r)) return -2;
    return r;
}

/* Ratios worked out from difflib's definition by hand. */
static void test_ratio(void) {
    struct { const char *doc, *bench; double want; } k[] = {
        {"the cat sat on the mat", "the cat sat on the mat", 1.0},
        {"intro words the cat sat on the mat and more", "the cat sat on the mat", 1.0},
        {"abcdefgh", "abcdefgh xyz", 8.0 / 12},
        {"abc xx def", "abc def ghi", 0.0},           /* matching blocks of 5 or fewer characters count for nothing */
        {"zzzz", "abcdef", 0.0},
        {"abcdefg qq hijklmn", "abcdefg hijklmn", 15.0 / 15},  /* "abcdefg " + "hijklmn" -> "abcdefg hijklmn" */
        {"abcdefgXhijklmn", "abcdefg hijklmn", 14.0 / 15},    /* "abcdefg" + "hijklmn" join into one word */
        {"x", "", 0.0},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        double r = ratio_of(k[i].doc, k[i].bench);
        CHECK(fabs(r - k[i].want) < 1e-12, "case %zu: ratio(\"%s\", \"%s\") = %.6f, want %.6f", i, k[i].doc, k[i].bench, r,
              k[i].want);
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) sz = 0;
    if (buf) buf[sz] = 0;
    fclose(f);
    return buf;
}

static const char k_q1[] =
    "Which of the following best describes the function of mitochondria in eukaryotic cells during respiration";
static const char k_q2[] =
    "A student pushes a box across a rough floor at constant speed what can be said about the net force on the box";

static const char k_long[] =
    "In the early morning the farmers of the valley gathered their tools and walked slowly toward the wide fields "
    "where the wheat had grown tall during the long and unusually warm summer months of that remarkable year while "
    "children ran ahead laughing and shouting at the birds";

static void make_bench(const char *root, char *b1, char *b2, size_t size, const char *arc_field) {
    snprintf(b1, size, "%s/mmlu.jsonl", root);
    snprintf(b2, size, "%s/arc.jsonl", root);
    char buf[2048];
    snprintf(buf, sizeof buf, "{\"text\": \"too short to index\"}\n{\"text\": \"%s?\"}\n{\"text\": \"%s\"}\n", k_q1,
             k_long);
    write_file(b1, buf);
    snprintf(buf, sizeof buf, "{\"%s\": \"%s.\"}\n", arc_field, k_q2);
    write_file(b2, buf);
}

static void test_check_crafted(void) {
    const char *root = test_tmp("dc");
    mkdir(root, 0777);
    char b1[512], b2[512];
    make_bench(root, b1, b2, sizeof b1, "question");
    smol_decontam_opts o;
    smol_decontam_opts_default(&o);
    smol_error err = {0};
    smol_decontam *d;
    char *bench[] = {b1, b2};
    /* the arc file has no "text" field */
    int rc = smol_decontam_new(bench, 2, &o, &d, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "arc.jsonl:1"), "%d %s", rc, err.msg);
    make_bench(root, b1, b2, sizeof b1, "text");
    char buf[2048];
    REQUIRE(smol_decontam_new(bench, 2, &o, &d, &err) == 0, "%s", err.msg);
    CHECK(smol_decontam_items(d) == 3, "%zu items (the 4-word one is not indexed)", smol_decontam_items(d));
    smol_decontam_scratch *s = smol_decontam_scratch_new(d);
    REQUIRE(s, "oom");
    smol_decontam_match m;
    /* a copy inside a longer text (punctuation and case changed): dropped, item 1 of mmlu */
    snprintf(buf, sizeof buf, "Quiz time! %s... The answer: ATP production. Many more words follow here.", k_q1);
    for (char *p = buf; *p; p++)
        if (*p >= 'a' && *p <= 'z' && (p - buf) % 3 == 0) *p = (char)(*p - 32);
    rc = smol_decontam_check(d, s, buf, strlen(buf), &m);
    CHECK(rc == 1 && m.item == 1 && strcmp(m.bench, b1) == 0 && m.ratio == 1.0, "copy: rc %d item %ld ratio %f", rc,
          m.item, m.ratio);
    /* twelve words shared with the long passage: a candidate, but 70 of its 270 characters: kept */
    snprintf(buf, sizeof buf, "Yesterday the farmers of the valley gathered their tools and walked slowly toward town.");
    rc = smol_decontam_check(d, s, buf, strlen(buf), &m);
    CHECK(rc == 0 && m.candidates == 1, "long item: rc %d candidates %d", rc, m.candidates);
    /* nine shared words in a row are not a 10-gram: not even a candidate */
    snprintf(buf, sizeof buf, "Tell me: of the following best describes the function of mitochondria? Nobody knows.");
    rc = smol_decontam_check(d, s, buf, strlen(buf), &m);
    CHECK(rc == 0 && m.candidates == 0, "9 words: rc %d candidates %d", rc, m.candidates);
    /* eleven of the short question's 16 words (69 of its 105 characters): dropped */
    snprintf(buf, sizeof buf, "Which of the following best describes the function of mitochondria in plants");
    rc = smol_decontam_check(d, s, buf, strlen(buf), &m);
    CHECK(rc == 1 && m.candidates == 1 && fabs(m.ratio - 69.0 / 105) < 1e-12, "11 words: rc %d candidates %d ratio %f",
          rc, m.candidates, m.ratio);
    /* the second benchmark file's item, nearly whole: dropped, naming arc.jsonl item 0 */
    snprintf(buf, sizeof buf, "%s", k_q2);
    buf[strlen(buf) - 10] = 0;
    rc = smol_decontam_check(d, s, buf, strlen(buf), &m);
    CHECK(rc == 1 && m.item == 0 && strcmp(m.bench, b2) == 0 && m.ratio > 0.85, "arc: rc %d item %ld ratio %f", rc, m.item,
          m.ratio);
    smol_decontam_scratch_free(s);
    smol_decontam_free(d);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleanup");
}

static void test_run_outputs(void) {
    const char *root = test_tmp("dcrun");
    mkdir(root, 0777);
    char b1[512], b2[512], in1[512], in2[512], out[512], ex[512], buf[4096];
    make_bench(root, b1, b2, sizeof b1, "text");
    snprintf(in1, sizeof in1, "%s/a.jsonl", root);
    snprintf(in2, sizeof in2, "%s/b.jsonl", root);
    snprintf(buf, sizeof buf,
             "{\"id\": 1, \"text\": \"clean text about nothing\"}\n"
             "{\"id\": 2, \"text\": \"Q: %s\", \"metadata\": {\"src\": \"x\"}}\n"
             "{\"id\": 3, \"text\": \"more clean text\"}\n", k_q1);
    write_file(in1, buf);
    snprintf(buf, sizeof buf, "{\"id\": 4, \"text\": \"%s\"}\n", k_q2);
    write_file(in2, buf);
    smol_decontam_opts o;
    smol_decontam_opts_default(&o);
    smol_error err = {0};
    smol_decontam *d;
    char *bench[] = {b1, b2}, *files[] = {in1, in2};
    REQUIRE(smol_decontam_new(bench, 2, &o, &d, &err) == 0, "%s", err.msg);
    smol_decontam_stats st;
    snprintf(out, sizeof out, "%s/clean.jsonl", root);
    snprintf(ex, sizeof ex, "%s/dropped.jsonl", root);
    REQUIRE(smol_decontam_run(d, files, 2, out, ex, &o, &st, &err) == 0, "%s", err.msg);
    CHECK(st.docs == 4 && st.kept == 2 && st.dropped == 2, "docs %llu kept %llu dropped %llu", (unsigned long long)st.docs,
          (unsigned long long)st.kept, (unsigned long long)st.dropped);
    char *s = read_all(out);
    CHECK(s && strcmp(s, "{\"id\": 1, \"text\": \"clean text about nothing\"}\n{\"id\": 3, \"text\": \"more clean text\"}\n") == 0,
          "kept: %s", s ? s : "(none)");
    free(s);
    s = read_all(ex);
    CHECK(s && strstr(s, "\"metadata\":{\"src\":\"x\",\"decontam\":{\"bench\":\"") && strstr(s, "mmlu.jsonl\",\"item\":1,") &&
              strstr(s, "arc.jsonl\",\"item\":0,\"ratio\":1}"),
          "dropped: %s", s ? s : "(none)");
    free(s);
    /* directory outputs, sharded */
    snprintf(out, sizeof out, "%s/outdir", root);
    o.world_size = 2, o.rank = 1;
    REQUIRE(smol_decontam_run(d, files, 2, out, NULL, &o, &st, &err) == 0, "%s", err.msg);
    snprintf(buf, sizeof buf, "%s/outdir/b.jsonl", root);
    s = read_all(buf);
    CHECK(s && s[0] == 0 && st.docs == 1, "rank 1 of 2 writes b.jsonl only (empty): %s docs %llu", s ? "found" : "missing",
          (unsigned long long)st.docs);
    free(s);
    snprintf(buf, sizeof buf, "%s/outdir/a.jsonl", root);
    s = read_all(buf);
    CHECK(!s, "rank 1 must not write a.jsonl");
    free(s);
    snprintf(out, sizeof out, "%s/one.jsonl", root);
    int rc = smol_decontam_run(d, files, 2, out, NULL, &o, &st, &err);
    CHECK(rc == SMOL_EINVAL && strstr(err.msg, "world size 1"), "%d %s", rc, err.msg);
    smol_decontam_free(d);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0, "cleanup");
}

int main(void) {
    RUN(test_words);
    RUN(test_ratio);
    RUN(test_check_crafted);
    RUN(test_run_outputs);
    return check_done();
}
