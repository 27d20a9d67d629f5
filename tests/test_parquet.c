/* test_parquet.c: the Parquet reader and the Snappy decompressor. Files are made by
 * tests/ref/parquet_write.py (an independent writer from the format specification) from JSONL
 * rows written here, for every codec, page version and encoding; the rows read back must equal
 * the rows written. Files from Apache Arrow's Rust writer (tests/data/parquet/) are checked the
 * same way. Corrupt and truncated files must give errors naming the file, the row group
 * and the column. */
#include "check.h"
#include "smol.h"
#include "data/parquet.h"
#include "data/snappy.h"
#include <cjson/cJSON.h>
#include <stdint.h>

#define WRITER "/usr/bin/python3 tests/ref/parquet_write.py"

static uint64_t rng_state = 88172645463325252ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

/* A random string: ASCII words, quotes, backslashes, control bytes, 2-4 byte UTF-8 characters. */
static char *random_text(size_t max_len) {
    static const char *const pieces[] = {"the", " ", "war", "\"", "\\", "\n", "\t", "\x01", "caf\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", "peace", ",", "Prince", "ab", "\x7f"};
    size_t n = rnd() % (max_len + 1), len = 0;
    char *s = malloc(n * 4 + 8);
    while (len < n) {
        const char *p = pieces[rnd() % 16];
        memcpy(s + len, p, strlen(p));
        len += strlen(p);
    }
    s[len] = 0;
    return s;
}

/* Writes n random rows of the schema used below to path; returns 0 on success. */
static int write_rows(const char *path, int n) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        char *t = random_text(i == 7 ? 70000 : 40);   /* one long text: long snappy literals and copies */
        if (rnd() % 5) cJSON_AddStringToObject(o, "text", t);
        char cat[16];
        snprintf(cat, sizeof cat, "cat%u", rnd() % 5);
        cJSON_AddStringToObject(o, "cat", cat);
        double iv = (double)(int32_t)rnd();
        cJSON_AddNumberToObject(o, "i32", i == 0 ? 2147483647.0 : i == 1 ? -2147483648.0 : iv);
        if (rnd() % 3) cJSON_AddNumberToObject(o, "i64", i == 2 ? 9007199254740991.0 : (double)((int64_t)rnd() * 1000 - 5000));
        cJSON_AddNumberToObject(o, "f", (double)(int32_t)rnd() / 977.0);
        cJSON_AddNumberToObject(o, "d", i == 3 ? 0.1 : (double)(int32_t)rnd() / 3.0e7);
        if (rnd() % 4) cJSON_AddBoolToObject(o, "b", rnd() & 1);
        char *line = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", line);
        free(line);
        free(t);
        cJSON_Delete(o);
    }
    return fclose(f);
}

#define SCHEMA "text:string:opt,cat:string,i32:int32,i64:int64:opt,f:float,d:double,b:bool:opt"

/* Compares one field of a row read back with the row written; returns 1 if equal. */
static int same_field(const cJSON *want, const cJSON *got, const char *name) {
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(want, name), *g = cJSON_GetObjectItemCaseSensitive(got, name);
    if (!g) return !w;
    if (!w || cJSON_IsNull(w)) return cJSON_IsNull(g);
    if (cJSON_IsString(w)) return cJSON_IsString(g) && strcmp(w->valuestring, g->valuestring) == 0;
    if (cJSON_IsBool(w)) return cJSON_IsBool(g) && cJSON_IsTrue(w) == cJSON_IsTrue(g);
    if (!cJSON_IsNumber(g)) return 0;
    if (strcmp(name, "f") == 0) return (float)w->valuedouble == (float)g->valuedouble;
    return w->valuedouble == g->valuedouble;
}

/* Reads path and checks its rows against the JSONL rows in want_path; returns rows read. */
static int check_rows(const char *path, const char *want_path, const char *what) {
    static const char *const names[] = {"text", "cat", "i32", "i64", "f", "d", "b"};
    smol_error err;
    smol_parquet *p;
    int rc = smol_parquet_open(path, &p, &err);
    CHECK(rc == SMOL_OK, "%s: open: %s", what, err.msg);
    if (rc) return -1;
    FILE *f = fopen(want_path, "r");
    char *line = NULL;
    size_t cap = 0;
    int row = 0;
    const char *json;
    size_t len;
    while ((rc = smol_parquet_next_json(p, &json, &len, &err)) == 1) {
        if (getline(&line, &cap, f) <= 0) {
            CHECK(0, "%s: more rows than written (row %d)", what, row);
            break;
        }
        cJSON *want = cJSON_Parse(line), *got = cJSON_Parse(json);
        int ok = got != NULL && strlen(json) == len;
        for (int k = 0; ok && k < 7; k++)
            if (!same_field(want, got, names[k])) {
                CHECK(0, "%s: row %d field '%s' differs: got %.200s, want %.200s", what, row, names[k], json, line);
                ok = -1;
            }
        if (!ok) CHECK(0, "%s: row %d is not valid JSON: %.200s", what, row, json);
        cJSON_Delete(want);
        cJSON_Delete(got);
        if (ok != 1) break;
        row++;
    }
    CHECK(rc == 0 || rc == 1, "%s: %s", what, err.msg);
    CHECK(rc != 0 || getline(&line, &cap, f) <= 0, "%s: fewer rows than written (%d)", what, row);
    free(line);
    fclose(f);
    smol_parquet_close(p);
    return row;
}

static void test_roundtrip_matrix(void) {
    const char *rows = test_tmp("rows.jsonl"), *pq = test_tmp("m.parquet");
    REQUIRE(write_rows(rows, 300) == 0, "cannot write %s", rows);
    static const char *const codecs[] = {"none", "snappy", "gzip", "zstd"};
    for (int c = 0; c < 4; c++)
        for (int v = 1; v <= 2; v++)
            for (int d = 0; d < 2; d++) {
                char cmd[1024], what[128];
                snprintf(cmd, sizeof cmd, WRITER " --schema %s --codec %s --page-version %d %s --group-rows %d --page-rows %d %s %s",
                         SCHEMA, codecs[c], v, d ? "--dict text,cat,i32,i64,d" : "", d ? 120 : 1000, 37 + 20 * d, rows, pq);
                snprintf(what, sizeof what, "%s v%d %s", codecs[c], v, d ? "dict" : "plain");
                REQUIRE(system(cmd) == 0, "writer failed: %s", cmd);
                int n = check_rows(pq, rows, what);
                CHECK(n == 300, "%s: %d rows", what, n);
            }
    remove(rows);
    remove(pq);
}

static void test_war_and_peace(void) {
    /* every line of the novel as a row, snappy + dictionary, several row groups */
    const char *rows = test_tmp("wp.jsonl"), *pq = test_tmp("wp.parquet");
    FILE *in = fopen(test_data("corpora/war-and-peace.txt"), "r");
    REQUIRE(in, "no %s", test_data("corpora/war-and-peace.txt"));
    FILE *out = fopen(rows, "w");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int count = 0;
    while ((n = getline(&line, &cap, in)) > 0 && count < 8000) {
        if (line[n - 1] == '\n') line[--n] = 0;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "text", line);
        cJSON_AddNumberToObject(o, "i32", count++);
        char *s = cJSON_PrintUnformatted(o);
        fprintf(out, "%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    free(line);
    fclose(in);
    fclose(out);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, WRITER " --schema text:string,i32:int32 --codec snappy --dict text --group-rows 6000 "
             "--page-rows 700 --nested %s %s", rows, pq);
    REQUIRE(system(cmd) == 0, "writer failed: %s", cmd);
    smol_error err;
    smol_parquet *p;
    REQUIRE(smol_parquet_open(pq, &p, &err) == SMOL_OK, "%s", err.msg);
    CHECK(smol_parquet_num_rows(p) == count, "num_rows %lld, want %d", (long long)smol_parquet_num_rows(p), count);
    CHECK(smol_parquet_num_columns(p) == 2, "%d columns", smol_parquet_num_columns(p));
    CHECK(strcmp(smol_parquet_skipped(p), "meta") == 0, "skipped '%s'", smol_parquet_skipped(p));
    smol_parquet_close(p);
    CHECK(check_rows(pq, rows, "war-and-peace") == count, "row count");
    remove(rows);
    remove(pq);
}

static void test_invalid_utf8_and_int64(void) {
    const char *rows = test_tmp("u.jsonl"), *pq = test_tmp("u.parquet");
    FILE *f = fopen(rows, "w");
    fprintf(f, "{\"s\": \"a\\udcffb\", \"n\": 9223372036854775807}\n{\"s\": \"\", \"n\": -9223372036854775808}\n");
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, WRITER " --schema s:string,n:int64 --codec gzip %s %s", rows, pq);
    REQUIRE(system(cmd) == 0, "writer failed");
    smol_error err;
    smol_parquet *p;
    REQUIRE(smol_parquet_open(pq, &p, &err) == SMOL_OK, "%s", err.msg);
    const char *json;
    size_t len;
    REQUIRE(smol_parquet_next_json(p, &json, &len, &err) == 1, "%s", err.msg);
    /* the lone surrogate's bytes ED B3 BF are not UTF-8: one U+FFFD per byte, as Python's 'replace' */
    CHECK(strcmp(json, "{\"s\":\"a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b\",\"n\":9223372036854775807}") == 0, "got %s", json);
    REQUIRE(smol_parquet_next_json(p, &json, &len, &err) == 1, "%s", err.msg);
    CHECK(strcmp(json, "{\"s\":\"\",\"n\":-9223372036854775808}") == 0, "got %s", json);
    CHECK(smol_parquet_next_json(p, &json, &len, &err) == 0, "expected the end");
    smol_parquet_close(p);
    remove(rows);
    remove(pq);
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

/* Reads every row of an in-memory image; returns the status of the last call. */
static int read_all(const uint8_t *data, size_t n, smol_error *err) {
    smol_parquet *p;
    int rc = smol_parquet_open_memory(data, n, "bad.parquet", &p, err);
    if (rc) return rc;
    const char *json;
    size_t len;
    while ((rc = smol_parquet_next_json(p, &json, &len, err)) == 1) {}
    smol_parquet_close(p);
    return rc;
}

static void test_corrupt_files(void) {
    const char *rows = test_tmp("c.jsonl"), *pq = test_tmp("c.parquet");
    REQUIRE(write_rows(rows, 40) == 0, "rows");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, WRITER " --schema %s --codec snappy --dict cat --page-rows 16 %s %s", SCHEMA, rows, pq);
    REQUIRE(system(cmd) == 0, "writer failed");
    size_t n;
    uint8_t *img = slurp(pq, &n), *copy = malloc(n);
    REQUIRE(img && n > 100, "cannot read %s", pq);
    smol_error err;
    /* every truncation: an error (never a crash), naming the file */
    for (size_t cut = 0; cut < n; cut += 1 + cut / 64) {
        int rc = read_all(img, cut, &err);
        REQUIRE(rc < 0, "truncated at %zu of %zu: accepted", cut, n);
        REQUIRE(strstr(err.msg, "bad.parquet"), "truncated at %zu: message '%s'", cut, err.msg);
    }
    /* damaged page bytes: an error names the row group and the column, or the rows still parse */
    uint32_t flen = img[n - 8] | img[n - 7] << 8 | img[n - 6] << 16 | (uint32_t)img[n - 5] << 24;
    size_t data_end = n - 8 - flen;
    int named = 0;
    for (size_t at = 4; at < data_end; at += 1 + at / 97) {
        memcpy(copy, img, n);
        copy[at] ^= 0x5a;
        int rc = read_all(copy, n, &err);
        if (rc < 0) {
            REQUIRE(strstr(err.msg, "bad.parquet: row group 0, column '"), "damage at %zu: message '%s'", at, err.msg);
            named++;
        }
    }
    CHECK(named > 10, "only %d damaged images were rejected", named);
    /* not Parquet at all */
    CHECK(read_all((const uint8_t *)"PAR1 hello world PAR1", 21, &err) == SMOL_EFORMAT, "%s", err.msg);
    CHECK(strstr(err.msg, "bad.parquet") != NULL, "%s", err.msg);
    smol_parquet *p;
    CHECK(smol_parquet_open("/nonexistent/x.parquet", &p, &err) < 0 && strstr(err.msg, "/nonexistent/x.parquet"), "%s", err.msg);
    free(img);
    free(copy);
    remove(rows);
    remove(pq);
}

static void test_many_columns(void) {
    /* 20 columns: the schema list's long-form header; column names are kept in order */
    const char *rows = test_tmp("w.jsonl"), *pq = test_tmp("w.parquet");
    char schema[512] = "", want[512] = "{";
    FILE *f = fopen(rows, "w");
    fputc('{', f);
    for (int i = 0; i < 20; i++) {
        char c[32];
        snprintf(c, sizeof c, "%sc%d:int32", i ? "," : "", i);
        strcat(schema, c);
        fprintf(f, "%s\"c%d\": %d", i ? ", " : "", i, i * i - 50);
        snprintf(c, sizeof c, "%s\"c%d\":%d", i ? "," : "", i, i * i - 50);
        strcat(want, c);
    }
    strcat(want, "}");
    fputs("}\n", f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, WRITER " --schema %s --codec zstd --page-version 2 %s %s", schema, rows, pq);
    REQUIRE(system(cmd) == 0, "writer failed");
    smol_error err;
    smol_parquet *p;
    REQUIRE(smol_parquet_open(pq, &p, &err) == SMOL_OK, "%s", err.msg);
    const char *json;
    size_t len;
    REQUIRE(smol_parquet_next_json(p, &json, &len, &err) == 1, "%s", err.msg);
    CHECK(strcmp(json, want) == 0, "got %s\nwant %s", json, want);
    smol_parquet_close(p);
    remove(rows);
    remove(pq);
}

/* Files written by Apache Arrow's Rust Parquet writer (tests/ref/parquet_arrow_write.mjs):
 * every field of every row must equal tests/data/parquet/rows.jsonl, the rows it was given. */
static void test_arrow_writer_files(void) {
    static const char *const files[] = {"arrow_snappy_v1_dict.parquet", "arrow_zstd_v2_dict.parquet",
                                        "arrow_gzip_v1_plain.parquet",  "arrow_none_v1_dict.parquet",
                                        "arrow_zstd_v2_delta.parquet",  "arrow_snappy_v1_delta.parquet"};
    for (int fi = 0; fi < 6; fi++) {
        char path[256];
        snprintf(path, sizeof path, "tests/data/parquet/%s", files[fi]);
        FILE *want = fopen("tests/data/parquet/rows.jsonl", "r");
        REQUIRE(want, "no tests/data/parquet/rows.jsonl (run from the repository root)");
        smol_error err;
        smol_parquet *p;
        int rc = smol_parquet_open(path, &p, &err);
        CHECK(rc == SMOL_OK, "%s", err.msg);
        if (rc) {
            fclose(want);
            continue;
        }
        CHECK(smol_parquet_num_rows(p) == 500 && smol_parquet_num_columns(p) == 7, "%s: %lld rows, %d columns", path,
              (long long)smol_parquet_num_rows(p), smol_parquet_num_columns(p));
        char *line = NULL;
        size_t cap = 0, len;
        const char *json;
        int row = 0, bad = 0;
        while (!bad && (rc = smol_parquet_next_json(p, &json, &len, &err)) == 1) {
            if (getline(&line, &cap, want) <= 0) {
                CHECK(0, "%s: more rows than written", path);
                break;
            }
            cJSON *w = cJSON_Parse(line), *g = cJSON_Parse(json);
            const cJSON *item;
            bad = !g;
            cJSON_ArrayForEach(item, w) {
                const cJSON *gi = cJSON_GetObjectItemCaseSensitive(g, item->string);
                int ok = gi && (cJSON_IsNull(item) ? cJSON_IsNull(gi)
                              : cJSON_IsString(item) ? cJSON_IsString(gi) && strcmp(item->valuestring, gi->valuestring) == 0
                              : cJSON_IsBool(item) ? cJSON_IsBool(gi) && cJSON_IsTrue(item) == cJSON_IsTrue(gi)
                              : cJSON_IsNumber(gi) && (strcmp(item->string, "f32") == 0
                                                          ? (float)item->valuedouble == (float)gi->valuedouble
                                                          : item->valuedouble == gi->valuedouble));
                if (!ok && !bad) {
                    CHECK(0, "%s: row %d field '%s' differs: got %.200s, want %.200s", path, row, item->string, json, line);
                    bad = 1;
                }
            }
            cJSON_Delete(w);
            cJSON_Delete(g);
            row++;
        }
        CHECK(bad || (rc == 0 && row == 500), "%s: %d rows, rc %d: %s", path, row, rc, rc < 0 ? err.msg : "");
        free(line);
        fclose(want);
        smol_parquet_close(p);
    }
}

static void test_snappy_vectors(void) {
    /* hand-assembled blocks: literal "abcd", 1-byte-offset copy of 8 (overlapping), 2-byte and 4-byte copies */
    static const uint8_t blk[] = {17, 3 << 2, 'a', 'b', 'c', 'd', 1 | (4 << 2), 4, (2 << 2) | 2, 12, 0, (1 << 2) | 3, 2, 0, 0, 0};
    uint8_t out[20];
    smol_error err;
    size_t len = 0;
    REQUIRE(smol_snappy_length(blk, sizeof blk, &len, &err) == SMOL_OK && len == 17, "length %zu", len);
    REQUIRE(smol_snappy_decompress(blk, sizeof blk, out, 17, &err) == SMOL_OK, "%s", err.msg);
    CHECK(memcmp(out, "abcdabcdabcdabcbc", 17) == 0, "got %.17s", out);
    static const uint8_t bad_off[] = {8, 0 << 2, 'x', 1 | (0 << 2), 5};
    CHECK(smol_snappy_decompress(bad_off, sizeof bad_off, out, 8, &err) == SMOL_EFORMAT, "offset past the start accepted");
    static const uint8_t short_lit[] = {4, 3 << 2, 'a', 'b'};
    CHECK(smol_snappy_decompress(short_lit, sizeof short_lit, out, 4, &err) == SMOL_EFORMAT, "truncated literal accepted");
    static const uint8_t too_long[] = {2, 3 << 2, 'a', 'b', 'c', 'd'};
    CHECK(smol_snappy_decompress(too_long, sizeof too_long, out, 2, &err) == SMOL_EFORMAT, "overflow accepted");
    CHECK(smol_snappy_decompress(blk, sizeof blk, out, 16, &err) == SMOL_EFORMAT, "wrong length accepted");
}

int main(void) {
    RUN(test_snappy_vectors);
    RUN(test_arrow_writer_files);
    RUN(test_roundtrip_matrix);
    RUN(test_war_and_peace);
    RUN(test_invalid_utf8_and_int64);
    RUN(test_many_columns);
    RUN(test_corrupt_files);
    return check_done();
}
