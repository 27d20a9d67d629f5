/* test_doc.c: the document reader and writer: JSONL (plain, gzip, zstd; gzip/zstd files made by
 * the system's gzip and zstd tools as well as by the writer), .json arrays, .txt, ids, bad records
 * (errors naming file:line, or skipped and counted), truncated archives, atomic output. */
#include "check.h"
#include "data/doc.h"
#include <sys/stat.h>

static void write_file(const char *path, const char *text, size_t n) {
    FILE *fp = fopen(path, "wb");
    fwrite(text, 1, n, fp);
    fclose(fp);
}

/* Reads every document of path; returns the count or the negative status; texts joined by '|'. */
static int read_all(const char *path, const smol_doc_opts *opts, char *joined, size_t cap, long *skipped,
                    smol_error *err) {
    smol_doc_reader *r;
    int rc = smol_doc_reader_open(path, opts, &r, err);
    if (rc) return rc;
    int n = 0;
    smol_doc d;
    joined[0] = 0;
    while ((rc = smol_doc_read(r, &d, err)) == 1) {
        size_t at = strlen(joined);
        snprintf(joined + at, cap - at, "%s%s=%s", n ? "|" : "", d.id, d.text);
        n++;
        smol_doc_free(&d);
    }
    if (skipped) *skipped = smol_doc_reader_skipped(r);
    smol_doc_reader_close(r);
    return rc < 0 ? rc : n;
}

static const char k_jsonl[] = "{\"id\":\"a\",\"text\":\"first\",\"url\":\"http://x\"}\n"
                              "\n"
                              "{\"id\":7,\"text\":\"second \\u00e9\"}\n"
                              "{\"text\":\"third\",\"meta\":{\"k\":1}}\n";

static void test_jsonl_plain_and_compressed(void) {
    const char *plain = test_tmp("a.jsonl");
    write_file(plain, k_jsonl, strlen(k_jsonl));
    char got[1024], cmd[4400];
    smol_error err = {0};
    char want[256];
    snprintf(want, sizeof want, "a=first|7=second \xC3\xA9|%s:4=third", plain);
    int n = read_all(plain, NULL, got, sizeof got, NULL, &err);
    CHECK(n == 3 && !strcmp(got, want), "plain: n=%d got '%s' want '%s' (%s)", n, got, want, err.msg);
    /* the system tools compress; the reader recognises the bytes whatever the name */
    const char *tools[] = {"gzip -c", "zstd -q -c"};
    for (int t = 0; t < 2; t++) {
        const char *z = test_tmp(t ? "b.zst" : "b.gz");
        snprintf(cmd, sizeof cmd, "%s %s > %s", tools[t], plain, z);
        REQUIRE(system(cmd) == 0, "%s failed", cmd);
        n = read_all(z, NULL, got, sizeof got, NULL, &err);
        char w2[256];
        snprintf(w2, sizeof w2, "a=first|7=second \xC3\xA9|%s:4=third", z);
        CHECK(n == 3 && !strcmp(got, w2), "%s: n=%d got '%s' (%s)", tools[t], n, got, err.msg);
        /* a truncated archive is an error naming the file */
        struct stat st;
        stat(z, &st);
        REQUIRE(truncate(z, st.st_size - 6) == 0, "truncate");
        n = read_all(z, NULL, got, sizeof got, NULL, &err);
        CHECK(n == SMOL_EFORMAT && strstr(err.msg, z) && strstr(err.msg, "truncated"), "truncated %s: n=%d %s", z, n,
              err.msg);
        smol_doc_opts skip = {NULL, NULL, SMOL_ON_ERROR_SKIP, 1};
        long skipped = 0;
        n = read_all(z, &skip, got, sizeof got, &skipped, &err);
        CHECK(n >= 0 && skipped == 1, "truncated %s with skip: n=%d skipped=%ld", z, n, skipped);
        unlink(z);
    }
    unlink(plain);
}

static void test_bad_records(void) {
    const char *p = test_tmp("bad.jsonl");
    const char *text = "{\"text\":\"ok1\"}\n"
                       "{\"text\": broken\n"
                       "{\"body\":\"no text\"}\n"
                       "{\"text\":\"bad \xff utf8\"}\n"
                       "[1,2]\n"
                       "{\"text\":42}\n"
                       "{\"text\":\"ok2\"}\n";
    write_file(p, text, strlen(text));
    char got[1024];
    smol_error err = {0};
    int n = read_all(p, NULL, got, sizeof got, NULL, &err);
    char want[4200];
    snprintf(want, sizeof want, "%s:2: invalid JSON", p);
    CHECK(n == SMOL_EFORMAT && strstr(err.msg, want), "stop at line 2: n=%d '%s'", n, err.msg);
    smol_doc_opts skip = {NULL, NULL, SMOL_ON_ERROR_SKIP, 1};
    long skipped = 0;
    n = read_all(p, &skip, got, sizeof got, &skipped, &err);
    char w2[8500];
    snprintf(w2, sizeof w2, "%s:1=ok1|%s:7=ok2", p, p);
    CHECK(n == 2 && skipped == 5 && !strcmp(got, w2), "skip: n=%d skipped=%ld got '%s'", n, skipped, got);
    /* each kind of bad record names its line and what is wrong */
    struct { int line; const char *what; } cases[] = {
        {3, "no \"text\" field"}, {4, "not valid UTF-8"}, {5, "expected a JSON object"}, {6, "is not a string"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* a file holding only the bad line, numbered as in the original */
        const char *q = test_tmp("one.jsonl");
        char buf[256] = "";
        const char *s = text;
        for (int l = 1; l < cases[i].line; l++) {
            s = strchr(s, '\n') + 1;
            strcat(buf, "\n");
        }
        size_t len = (size_t)(strchr(s, '\n') - s);
        strncat(buf, s, len);
        write_file(q, buf, strlen(buf));
        n = read_all(q, NULL, got, sizeof got, NULL, &err);
        char at[4300];
        snprintf(at, sizeof at, "%s:%d:", q, cases[i].line);
        CHECK(n < 0 && strstr(err.msg, at) && strstr(err.msg, cases[i].what), "line %d: want '%s' '%s', got '%s'",
              cases[i].line, at, cases[i].what, err.msg);
        unlink(q);
    }
    unlink(p);
}

static void test_fields_json_txt(void) {
    const char *p = test_tmp("f.jsonl");
    const char *t = "{\"doc_id\":\"x1\",\"content\":\"hello\"}\n";
    write_file(p, t, strlen(t));
    smol_doc_opts o = {"content", "doc_id", SMOL_ON_ERROR_STOP, 0};
    char got[1024];
    smol_error err = {0};
    int n = read_all(p, &o, got, sizeof got, NULL, &err);
    CHECK(n == 1 && !strcmp(got, "x1=hello"), "custom fields: %d '%s' %s", n, got, err.msg);
    unlink(p);
    const char *j = test_tmp("arr.json");
    t = " [ {\"id\":\"u\",\"text\":\"one\"}, {\"id\":\"v\",\"text\":\"two\"} ]";
    write_file(j, t, strlen(t));
    n = read_all(j, NULL, got, sizeof got, NULL, &err);
    CHECK(n == 2 && !strcmp(got, "u=one|v=two"), "json array: %d '%s' %s", n, got, err.msg);
    unlink(j);
    const char *x = test_tmp("plain.txt");
    t = "Line one.\nLine two.\n";
    write_file(x, t, strlen(t));
    n = read_all(x, NULL, got, sizeof got, NULL, &err);
    char want[4300];
    snprintf(want, sizeof want, "%s=%s", x, t);
    CHECK(n == 1 && !strcmp(got, want), "txt: %d '%s'", n, got);
    unlink(x);
    n = read_all("/nonexistent/in.jsonl", NULL, got, sizeof got, NULL, &err);
    CHECK(n == SMOL_EIO && strstr(err.msg, "/nonexistent/in.jsonl"), "missing file: %s", err.msg);
}

static void test_writer_round_trip(void) {
    const char *names[] = {"w.jsonl", "w.jsonl.gz", "w.jsonl.zst"};
    const char *tools[] = {"cat", "gzip -dc", "zstd -dc"};
    for (int k = 0; k < 3; k++) {
        const char *p = test_tmp(names[k]);
        smol_doc_writer *w;
        smol_error err = {0};
        REQUIRE(smol_doc_writer_open(p, &w, &err) == 0, "%s", err.msg);
        /* the file appears only when the writer is closed */
        CHECK(access(p, F_OK) != 0, "%s exists before close", p);
        smol_doc d;
        smol_doc_from_text(&d, "id1", "old", 3, NULL);
        cJSON_AddStringToObject(smol_doc_metadata(&d), "k", "v");
        smol_doc_set_text(&d, "new \"text\"\n", 11, NULL);
        CHECK(smol_doc_write(w, &d, &err) == 0, "write: %s", err.msg);
        smol_doc_free(&d);
        for (int i = 0; i < 2000; i++) {
            char text[64];
            snprintf(text, sizeof text, "doc %d", i);
            smol_doc_from_text(&d, "n", text, strlen(text), NULL);
            smol_doc_write(w, &d, &err);
            smol_doc_free(&d);
        }
        CHECK(smol_doc_writer_close(w, &err) == 0, "close: %s", err.msg);
        /* read back through the system tool: the first line is exact JSON */
        char cmd[4400], line[256] = "";
        snprintf(cmd, sizeof cmd, "%s %s | head -n 1", tools[k], p);
        FILE *fp = popen(cmd, "r");
        if (fp) {
            if (!fgets(line, sizeof line, fp)) line[0] = 0;
            pclose(fp);
        }
        const char *want = "{\"id\":\"id1\",\"text\":\"new \\\"text\\\"\\n\",\"metadata\":{\"k\":\"v\"}}\n";
        CHECK(!strcmp(line, want), "%s first line:\n got %s\nwant %s", names[k], line, want);
        char got[200000];
        int n = read_all(p, NULL, got, sizeof got, NULL, &err);
        CHECK(n == 2001 && strstr(got, "|n=doc 1999") != NULL, "%s read back: %d %s", names[k], n, err.msg);
        unlink(p);
    }
    /* abort leaves nothing behind */
    const char *p = test_tmp("aborted.jsonl");
    smol_doc_writer *w;
    REQUIRE(smol_doc_writer_open(p, &w, NULL) == 0, "open");
    smol_doc_write_line(w, "{}", 2, NULL);
    smol_doc_writer_abort(w);
    CHECK(access(p, F_OK) != 0, "aborted file exists");
    smol_error err = {0};
    CHECK(smol_doc_writer_open("/nonexistent/dir/out.jsonl", &w, &err) == SMOL_EIO && strstr(err.msg, "/nonexistent/dir"),
          "unwritable: %s", err.msg);
}

/* Inputs found by fuzzing the readers (tests/fuzz/fuzz_jsonl.c). */
static void test_fuzz_regressions(void) {
    /* a .txt file with NUL bytes was one document whose text ended at the first NUL when written */
    const char *x = test_tmp("nul.txt");
    static const char text[] = "Plain text do\0\0\0'ith two lines\n";
    write_file(x, text, sizeof text - 1);
    char got[1024];
    smol_error err = {0};
    int n = read_all(x, NULL, got, sizeof got, NULL, &err);
    CHECK(n == SMOL_EFORMAT && strstr(err.msg, "nul.txt: holds a NUL byte at byte 13"), "NUL in .txt: %d %s", n, err.msg);
    long skipped = 0;
    smol_doc_opts skip = {NULL, NULL, SMOL_ON_ERROR_SKIP, 1};
    n = read_all(x, &skip, got, sizeof got, &skipped, &err);
    CHECK(n == 0 && skipped == 1, "NUL in .txt, skip: %d documents, %ld skipped", n, skipped);
    unlink(x);
}

int main(void) {
    RUN(test_jsonl_plain_and_compressed);
    RUN(test_bad_records);
    RUN(test_fields_json_txt);
    RUN(test_writer_round_trip);
    RUN(test_fuzz_regressions);
    return check_done();
}
