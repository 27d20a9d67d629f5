/* test_jsonl.c: the streaming line/JSONL reader over plain, gzip and zstd files: the same lines
 * from each, a final line without '\n', a 10 MB line, the line-length limit, truncated and
 * corrupt compressed data, JSON errors naming the file and line, and 3 MB of lines of every
 * length read the same from plain, gzip and zstd files. */
#include "check.h"
#include "base/file.h"
#include "base/jsonl.h"
#include "smol.h"
#include <stdint.h>
#include <zlib.h>
#include <zstd.h>

static void write_bytes(const char *path, const void *d, size_t n) {
    FILE *fp = fopen(path, "wb");
    fwrite(d, 1, n, fp);
    fclose(fp);
}

static void write_gz(const char *path, const char *d, size_t n) {
    gzFile g = gzopen(path, "wb");
    gzwrite(g, d, (unsigned)n);
    gzclose(g);
}

static void write_zst(const char *path, const char *d, size_t n, size_t *csize) {
    size_t cap = ZSTD_compressBound(n);
    void *c = malloc(cap);
    size_t cn = ZSTD_compress(c, cap, d, n, 3);
    write_bytes(path, c, cn);
    if (csize) *csize = cn;
    free(c);
}

/* Reads all lines of path and checks them against want[0..n). */
static void expect_lines(const char *path, const char *const *want, int n, int last_nl) {
    smol_error err = {0};
    smol_lines *r = NULL;
    REQUIRE(smol_lines_open(path, &r, &err) == 0, "%s", err.msg);
    const char *line;
    size_t len;
    int i = 0, rc;
    while ((rc = smol_lines_next(r, &line, &len, &err)) == 1) {
        REQUIRE(i < n, "%s: extra line %d '%s'", path, i + 1, line);
        REQUIRE(len == strlen(want[i]) && memcmp(line, want[i], len) == 0, "%s line %d: got '%s' want '%s'", path,
                i + 1, line, want[i]);
        REQUIRE(smol_lines_lineno(r) == i + 1, "line number %lld", (long long)smol_lines_lineno(r));
        i++;
    }
    CHECK(rc == 0, "%s: %s", path, err.msg);
    CHECK(i == n, "%s: %d lines, want %d", path, i, n);
    CHECK(smol_lines_had_newline(r) == last_nl, "%s: had_newline %d", path, smol_lines_had_newline(r));
    smol_lines_close(r);
}

static void test_plain_gz_zst_same_lines(void) {
    const char *text = "first line\n\n{\"text\": \"caf\xc3\xa9\"}\r\nlast without newline";
    const char *want[] = {"first line", "", "{\"text\": \"caf\xc3\xa9\"}\r", "last without newline"};
    const char *p = test_tmp("a.txt"), *g = test_tmp("a.gz"), *z = test_tmp("a.zst");
    write_bytes(p, text, strlen(text));
    write_gz(g, text, strlen(text));
    write_zst(z, text, strlen(text), NULL);
    expect_lines(p, want, 4, 0);
    expect_lines(g, want, 4, 0);
    expect_lines(z, want, 4, 0);
    const char *with_nl = "a\nb\n";
    const char *w2[] = {"a", "b"};
    write_bytes(p, with_nl, 4);
    expect_lines(p, w2, 2, 1);
    write_bytes(p, "", 0);
    expect_lines(p, w2, 0, 0);
    unlink(p);
    unlink(g);
    unlink(z);
}

static void test_concatenated_gzip_members(void) {
    const char *g = test_tmp("multi.gz"), *g2 = test_tmp("part.gz");
    write_gz(g, "one\ntwo\n", 8);
    write_gz(g2, "three\n", 6);
    char *a, *b;
    size_t na, nb;
    smol_error err;
    REQUIRE(smol_read_file(g, &a, &na, &err) == 0 && smol_read_file(g2, &b, &nb, &err) == 0, "%s", err.msg);
    FILE *fp = fopen(g, "ab");
    fwrite(b, 1, nb, fp);
    fclose(fp);
    const char *want[] = {"one", "two", "three"};
    expect_lines(g, want, 3, 1);
    free(a);
    free(b);
    unlink(g);
    unlink(g2);
}

/* A 10 MB line in the middle of a compressed file, and the line-length limit. */
static void test_long_lines(void) {
    size_t big = 10u << 20;
    char *text = malloc(big + 32);
    memcpy(text, "x\n", 2);
    for (size_t i = 0; i < big; i++) text[2 + i] = (char)('a' + i % 26);
    memcpy(text + 2 + big, "\ny\n", 3);
    size_t n = big + 5;
    const char *z = test_tmp("big.zst"), *g = test_tmp("big.gz");
    write_zst(z, text, n, NULL);
    write_gz(g, text, n);
    for (int f = 0; f < 2; f++) {
        smol_error err = {0};
        smol_lines *r = NULL;
        REQUIRE(smol_lines_open(f ? g : z, &r, &err) == 0, "%s", err.msg);
        const char *line;
        size_t len;
        REQUIRE(smol_lines_next(r, &line, &len, &err) == 1 && len == 1, "first line");
        REQUIRE(smol_lines_next(r, &line, &len, &err) == 1 && len == big, "long line: %zu bytes", len);
        CHECK(memcmp(line, text + 2, big) == 0, "long line content differs");
        REQUIRE(smol_lines_next(r, &line, &len, &err) == 1 && len == 1 && line[0] == 'y', "after the long line");
        CHECK(smol_lines_next(r, &line, &len, &err) == 0, "end: %s", err.msg);
        smol_lines_close(r);
        REQUIRE(smol_lines_open(f ? g : z, &r, &err) == 0, "%s", err.msg);
        smol_lines_set_max(r, 1 << 20);
        int rc;
        while ((rc = smol_lines_next(r, &line, &len, &err)) == 1) {}
        CHECK(rc == SMOL_ERANGE && strstr(err.msg, ":2: line") && strstr(err.msg, f ? "big.gz" : "big.zst"), "rc %d %s",
              rc, err.msg);
        smol_lines_close(r);
    }
    free(text);
    unlink(z);
    unlink(g);
}

static void test_truncated_and_corrupt(void) {
    char text[4096];
    for (int i = 0; i < 4000; i++) text[i] = i % 40 == 39 ? '\n' : (char)('a' + (i * 7) % 26);
    const char *z = test_tmp("t.zst"), *g = test_tmp("t.gz");
    size_t zn;
    write_zst(z, text, 4000, &zn);
    write_gz(g, text, 4000);
    char *zb, *gb;
    size_t zs, gs;
    smol_error err = {0};
    REQUIRE(smol_read_file(z, &zb, &zs, &err) == 0 && smol_read_file(g, &gb, &gs, &err) == 0, "%s", err.msg);
    for (int f = 0; f < 2; f++) {
        const char *path = f ? g : z;
        char *b = f ? gb : zb;
        size_t s = f ? gs : zs;
        for (size_t cut = 4; cut < s; cut += (s / 13) + 1) {
            write_bytes(path, b, cut);
            smol_lines *r = NULL;
            REQUIRE(smol_lines_open(path, &r, &err) == 0, "%s", err.msg);
            const char *line;
            size_t len;
            int rc;
            while ((rc = smol_lines_next(r, &line, &len, &err)) == 1) {}
            CHECK(rc == SMOL_EFORMAT && strstr(err.msg, path), "%s cut at %zu: rc %d '%s'", path, cut, rc, err.msg);
            smol_lines_close(r);
        }
        b[s / 2] ^= 0x55;   /* a flipped byte: an error or different text, never a crash */
        write_bytes(path, b, s);
        smol_lines *r = NULL;
        REQUIRE(smol_lines_open(path, &r, &err) == 0, "%s", err.msg);
        const char *line;
        size_t len;
        while (smol_lines_next(r, &line, &len, &err) == 1) {}
        smol_lines_close(r);
    }
    free(zb);
    free(gb);
    unlink(z);
    unlink(g);
    CHECK(smol_lines_open(test_tmp("nosuch"), &(smol_lines *){0}, &err) == SMOL_EIO && strstr(err.msg, "nosuch"),
          "%s", err.msg);
}

static void test_jsonl_documents(void) {
    const char *p = test_tmp("d.jsonl");
    const char *text = "{\"id\": 1, \"text\": \"a\"}\n\n  \n{\"id\": 2, \"text\": \"\\u00e9\"}\n{\"id\": 3, tex}\n[1]\n";
    write_bytes(p, text, strlen(text));
    smol_error err = {0};
    smol_lines *r = NULL;
    REQUIRE(smol_lines_open(p, &r, &err) == 0, "%s", err.msg);
    cJSON *doc;
    REQUIRE(smol_jsonl_next(r, &doc, &err) == 1, "%s", err.msg);
    CHECK(cJSON_GetObjectItem(doc, "id")->valueint == 1, "id");
    cJSON_Delete(doc);
    REQUIRE(smol_jsonl_next(r, &doc, &err) == 1, "%s", err.msg);
    CHECK(strcmp(cJSON_GetObjectItem(doc, "text")->valuestring, "\xc3\xa9") == 0, "unicode escape");
    CHECK(smol_lines_lineno(r) == 4, "blank lines are skipped but counted: line %lld", (long long)smol_lines_lineno(r));
    cJSON_Delete(doc);
    int rc = smol_jsonl_next(r, &doc, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "d.jsonl:5: invalid JSON"), "rc %d %s", rc, err.msg);
    rc = smol_jsonl_next(r, &doc, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "d.jsonl:6: expected a JSON object"), "rc %d %s", rc, err.msg);
    CHECK(smol_jsonl_next(r, &doc, &err) == 0 && doc == NULL, "end");
    smol_lines_close(r);
    /* text after the object is an error, not ignored; whitespace after it is fine */
    text = "{\"id\": 1} \t\r\n{\"id\": 2} {\"id\": 3}\n";
    write_bytes(p, text, strlen(text));
    REQUIRE(smol_lines_open(p, &r, &err) == 0, "%s", err.msg);
    REQUIRE(smol_jsonl_next(r, &doc, &err) == 1, "trailing whitespace: %s", err.msg);
    cJSON_Delete(doc);
    rc = smol_jsonl_next(r, &doc, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "d.jsonl:2: invalid JSON near byte 11"), "text after the object: rc %d %s", rc, err.msg);
    smol_lines_close(r);
    unlink(p);
}

/* smol_json_parse_text: one value, then only whitespace; the offset of the first error. */
static void test_parse_text(void) {
    static const struct { const char *text; int ok; size_t bad; } cases[] = {
        {"{\"a\": [1, 2]}", 1, 0}, {"  7 \n", 1, 0}, {"\"x\"\r\n\t ", 1, 0},
        {"{} x", 0, 3}, {"[1] [2]", 0, 4}, {"1 2", 0, 2}, {"{\"a\": tru}", 0, 6}, {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t bad = 99;
        cJSON *d = smol_json_parse_text(cases[i].text, strlen(cases[i].text), &bad);
        CHECK((d != NULL) == cases[i].ok, "case %zu '%s': parsed %d", i, cases[i].text, d != NULL);
        if (!cases[i].ok) CHECK(bad == cases[i].bad, "case %zu '%s': error at %zu, expected %zu", i, cases[i].text, bad, cases[i].bad);
        cJSON_Delete(d);
    }
}

/* Inputs found by fuzzing (tests/fuzz/fuzz_jsonl.c): a last line without '\n' was returned
 * whatever its length, past the line limit that lines ending in '\n' respect. */
static void test_fuzz_regressions(void) {
    const char *p = test_tmp("lastline.jsonl");
    static const char text[] = "short\nthe last line, too long";
    write_bytes(p, text, sizeof text - 1);
    smol_lines *r = NULL;
    smol_error err = {0};
    REQUIRE(smol_lines_open(p, &r, &err) == 0, "%s", err.msg);
    smol_lines_set_max(r, 7);
    const char *line;
    size_t len;
    int rc = smol_lines_next(r, &line, &len, &err);
    CHECK(rc == 1 && len == 5 && !memcmp(line, "short", 5), "first line: rc %d len %zu", rc, len);
    rc = smol_lines_next(r, &line, &len, &err);
    CHECK(rc == SMOL_ERANGE && strstr(err.msg, "lastline.jsonl:2: line of 23 bytes is longer than 7"),
          "last line past the limit: rc %d len %zu: %s", rc, rc == 1 ? len : 0, err.msg);
    smol_lines_close(r);
    unlink(p);
}

/* 3 MB of lines of 0-3000 bytes (past the first read, the 1 MB buffer and its moves): a plain
 * file, read straight into the line buffer, gives the same lines as its gzip and zstd copies. */
static void test_many_lines_across_buffers(void) {
    size_t cap = 4u << 20, n = 0;
    char *text = malloc(cap);
    uint64_t st = 3;
    int lines = 0;
    while (n < (3u << 20)) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        size_t len = (size_t)(st >> 33) % 3000;
        for (size_t k = 0; k < len; k++) text[n + k] = (char)('a' + (k + (size_t)lines) % 26);
        n += len;
        text[n++] = '\n';
        lines++;
    }
    const char *p = test_tmp("many.jsonl"), *g = test_tmp("many.gz"), *z = test_tmp("many.zst");
    write_bytes(p, text, n);
    write_gz(g, text, n);
    write_zst(z, text, n, NULL);
    const char *paths[] = {p, g, z};
    for (int f = 0; f < 3; f++) {
        smol_error err = {0};
        smol_lines *r = NULL;
        REQUIRE(smol_lines_open(paths[f], &r, &err) == 0, "%s", err.msg);
        const char *line;
        size_t len, at = 0;
        int got = 0, rc;
        while ((rc = smol_lines_next(r, &line, &len, &err)) == 1) {
            const char *nl = memchr(text + at, '\n', n - at);
            size_t want = (size_t)(nl - (text + at));
            if (len != want || memcmp(line, text + at, len)) {
                CHECK(0, "%s: line %d differs (%zu bytes, want %zu)", paths[f], got + 1, len, want);
                break;
            }
            at += want + 1;
            got++;
        }
        CHECK(rc == 0 && got == lines, "%s: %d of %d lines, rc %d %s", paths[f], got, lines, rc, err.msg);
        CHECK(f > 0 || smol_lines_bytes_read(r) == n, "%s: %llu bytes read of %zu", paths[f],
              (unsigned long long)smol_lines_bytes_read(r), n);
        smol_lines_close(r);
        unlink(paths[f]);
    }
    free(text);
}

int main(void) {
    RUN(test_many_lines_across_buffers);
    RUN(test_plain_gz_zst_same_lines);
    RUN(test_concatenated_gzip_members);
    RUN(test_long_lines);
    RUN(test_truncated_and_corrupt);
    RUN(test_jsonl_documents);
    RUN(test_parse_text);
    RUN(test_fuzz_regressions);
    return check_done();
}
