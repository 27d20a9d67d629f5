/* test_doc.c: the document reader and writer: JSONL (plain, gzip, zstd; gzip/zstd files made by
 * the system's gzip and zstd tools as well as by the writer), .json arrays, .txt, ids, bad records
 * (errors naming file:line, or skipped and counted), truncated archives, atomic output; the
 * tree-less JSON scanner (base/jsonl.h) against cJSON on hand-written and random records, its
 * SSE2 and plain-C scans against each other, and records written back byte for byte. */
#include "check.h"
#include "base/file.h"
#include "base/jsonl.h"
#include "data/doc.h"
#include <stdint.h>
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

/* ------------------------------------------------------------ the scanner against cJSON */

/* 1 if line holds a backslash-u not followed by four hex digits (cJSON reads those as U+0000,
 * the scanner rejects them); may say 1 for an escaped backslash followed by u. */
static int has_bad_hex(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\' || s[i + 1] != 'u') continue;
        if (i + 6 > n) return 1;
        for (int k = 2; k < 6; k++)
            if (!strchr("0123456789abcdefABCDEF", s[i + k]) || !s[i + k]) return 1;
    }
    return 0;
}

/* The scanner's type for a cJSON item. */
static int cjson_type(const cJSON *v) {
    if (!v) return SMOL_JSON_NONE;
    if (cJSON_IsNull(v)) return SMOL_JSON_NULL;
    if (cJSON_IsFalse(v)) return SMOL_JSON_FALSE;
    if (cJSON_IsTrue(v)) return SMOL_JSON_TRUE;
    if (cJSON_IsNumber(v)) return SMOL_JSON_NUMBER;
    if (cJSON_IsString(v)) return SMOL_JSON_STRING;
    return cJSON_IsArray(v) ? SMOL_JSON_ARRAY : SMOL_JSON_OBJECT;
}

/* Checks one found field against cJSON's item for it: type, and for strings the unescaped
 * value (cJSON's ends at a U+0000). Returns 0 on a difference (reported). */
static int same_field(const char *line, const smol_json_field *f, const cJSON *v, const char *what) {
    if (f->type != cjson_type(v)) {
        CHECK(0, "%s: field %s: type %d, cJSON's %d", what, f->name, f->type, cjson_type(v));
        return 0;
    }
    if (f->type != SMOL_JSON_STRING) return 1;
    size_t n = f->end - f->at - 2;
    char *buf = malloc(n + 1);
    size_t got = smol_json_unescape(line + f->at + 1, n, buf, n);
    buf[got] = 0;
    size_t want = strlen(v->valuestring), upto = strlen(buf);
    int ok = upto == want && memcmp(buf, v->valuestring, want) == 0 && line[f->at] == '"' && line[f->end - 1] == '"';
    for (size_t i = 0; !ok && i <= want; i++)
        if (i == want || buf[i] != v->valuestring[i]) {
            CHECK(0, "%s: field %s differs from cJSON's at byte %zu (0x%02x vs 0x%02x), lengths %zu / %zu", what, f->name,
                  i, (unsigned char)buf[i], (unsigned char)v->valuestring[i], upto, want);
            break;
        }
    free(buf);
    return ok;
}

/* Scans line[0..n) and parses it with cJSON; checks that both accept it or both reject it and
 * that "text" and "id" agree. Returns 1 if the scanner accepted it. */
static int scan_vs_cjson(const char *line, size_t n, const char *what) {
    smol_json_field f[2] = {{.name = "text"}, {.name = "id"}};
    smol_json_scan sc;
    int ok = smol_json_scan_object(line, n, f, 2, &sc) == SMOL_OK;
    char *z = malloc(n + 1);   /* cJSON needs the NUL to reject what follows the object */
    memcpy(z, line, n);
    z[n] = 0;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(z, n + 1, &end, 1);
    int c_ok = cJSON_IsObject(j);
    if (has_bad_hex(line, n)) {
        CHECK(!ok || c_ok, "%s: scanner accepts what cJSON rejects", what);
    } else {
        CHECK(ok == c_ok, "%s: scanner %s (%s byte %zu), cJSON %s", what, ok ? "accepts" : "rejects",
              sc.not_object ? "not an object," : "at", sc.err_at + 1, c_ok ? "accepts" : "rejects");
        if (!ok && j && !c_ok) CHECK(sc.not_object, "%s: a JSON value that is not an object, said to be invalid", what);
    }
    if (ok && c_ok) {
        same_field(line, &f[0], cJSON_GetObjectItemCaseSensitive(j, "text"), what);
        same_field(line, &f[1], cJSON_GetObjectItemCaseSensitive(j, "id"), what);
        CHECK(sc.at < sc.end && line[sc.at] == '{' && line[sc.end - 1] == '}', "%s: object bytes %zu..%zu", what, sc.at,
              sc.end);
    }
    cJSON_Delete(j);
    free(z);
    return ok;
}

static void test_scanner_cases(void) {
    static const struct { const char *line; int ok; } cases[] = {
        {"{\"text\":\"plain\"}", 1},
        {"{\"text\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}", 1},            /* every short escape */
        {"{\"text\":\"\\u0041\\u00e9\\u20AC\\uFFFF\\u007f\"}", 1},              /* 1-3 byte code points */
        {"{\"text\":\"\\ud83d\\ude00 \\uD834\\uDD1E\"}", 1},                      /* surrogate pairs */
        {"{\"text\":\"\\ud800\"}", 0}, {"{\"text\":\"\\udc00\"}", 0},               /* lone surrogates */
        {"{\"text\":\"\\ud800\\u0041\"}", 0}, {"{\"text\":\"\\ud800x\"}", 0},
        {"{\"text\":\"\\x\"}", 0}, {"{\"text\":\"\\U0041\"}", 0}, {"{\"text\":\"abc\\\"}", 0},
        {"{\"a\":{\"text\":\"inner\"},\"text\":\"outer } { \\\" ] [\",\"b\":[\"text\",{\"text\":1}]}", 1},
        {"{\"text\":\"first\",\"text\":\"second\"}", 1},                              /* cJSON takes the first */
        {"{\"text\":5,\"text\":\"second\"}", 1}, {"{\"text\":null}", 1}, {"{\"text\":[\"a\"]}", 1},
        {"{\"text\":{\"text\":\"x\"}}", 1}, {"{\"body\":\"no text\"}", 1}, {"{}", 1}, {"{ }", 1},
        {" \t{ \"text\" :\t\"x\" , \"id\" : 7 }\r ", 1}, {"\xEF\xBB\xBF{\"text\":\"bom\"}", 1},
        {"\x01{\"text\":\"ctl\"}\x1f", 1}, {"{\"text\":\"raw\ttab\"}", 1},
        {"{\"id\":1e5,\"text\":\"n\"}", 1}, {"{\"id\":-0.5E-3,\"text\":\"n\"}", 1}, {"{\"id\":01,\"text\":\"n\"}", 1},
        {"{\"id\":1.,\"text\":\"n\"}", 1}, {"{\"id\":-.5,\"text\":\"n\"}", 1}, {"{\"id\":.5}", 0}, {"{\"id\":+1}", 0},
        {"{\"id\":-}", 0}, {"{\"id\":1e}", 0}, {"{\"id\":1e+}", 0}, {"{\"id\":1-2}", 0}, {"{\"id\":0x10}", 0},
        {"{\"id\":1e999}", 1}, {"{\"id\":true,\"text\":false}", 1}, {"{\"id\":tru}", 0}, {"{\"id\":nulll}", 0},
        {"{\"a\":[1,]}", 0}, {"{,}", 0}, {"{\"a\":1,}", 0}, {"{\"a\" 1}", 0}, {"{\"a\":1", 0}, {"{\"a\":{}", 0},
        {"{\"a\":[}", 0}, {"{\"a\":[1}]}", 0}, {"{1:2}", 0}, {"{\"a\":1}}", 0}, {"{\"a\":1} x", 0},
        {"{\"a\":1}{\"b\":2}", 0}, {"[1,2]", 0}, {"\"str\"", 0}, {"42", 0}, {"", 0}, {"{\"text\":\"unterminated}", 0},
        {"{\"te\\u0078t\":\"escaped key\"}", 1}, {"{\"text\\u0000zz\":\"key cut at NUL\"}", 1},
        {"{\"text\":\"x\\u0000y\"}", 1}, {"{\"text\":\"bad \xff utf8\"}", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "case %zu", i);
        int ok = scan_vs_cjson(cases[i].line, strlen(cases[i].line), what);
        CHECK(ok == cases[i].ok, "case %zu '%s': scanner %s", i, cases[i].line, ok ? "accepts" : "rejects");
    }
    /* a raw NUL inside a string and between tokens (cJSON skips every byte <= 0x20) */
    static const char nul_in_text[] = "{\"text\":\"a\0b\"}", nul_between[] = "{\"text\":\"a\"\0}";
    CHECK(scan_vs_cjson(nul_in_text, sizeof nul_in_text - 1, "raw NUL in text"), "raw NUL in text");
    CHECK(scan_vs_cjson(nul_between, sizeof nul_between - 1, "raw NUL between tokens"), "raw NUL between tokens");
    /* bad hex digits: cJSON reads them as U+0000, the scanner rejects them */
    smol_json_field f = {.name = "text"};
    smol_json_scan sc;
    CHECK(smol_json_scan_object("{\"text\":\"\\uZZZZ\"}", 15, &f, 1, &sc) == SMOL_EFORMAT && sc.err_at == 9,
          "bad hex digits: err_at %zu", sc.err_at);
    /* nesting: 1000 containers as cJSON allows, not 1001 */
    for (int depth = 999; depth <= 1001; depth++) {
        char *s = malloc(2 * (size_t)depth + 16);
        size_t n = 0;
        n += (size_t)sprintf(s, "{\"a\":");
        for (int k = 1; k < depth; k++) s[n++] = '[';
        for (int k = 1; k < depth; k++) s[n++] = ']';
        s[n++] = '}';
        char what[64];
        snprintf(what, sizeof what, "depth %d", depth);
        CHECK(scan_vs_cjson(s, n, what) == (depth <= 1000), "%s", what);
        free(s);
    }
}

/* A random JSON string token into b: escapes of every kind, raw UTF-8, sometimes raw control bytes. */
static void rand_string(uint64_t *st, char *b, size_t *n, int allow_ctrl) {
    static const char *const pieces[] = {"a", "text", "id", " ", "{", "}", "[", "]", ":", ",", "\\\"", "\\\\",
                                         "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9",
                                         "\\u20ac", "\\ud83d\\ude00", "\\u0000", "\xc3\xa9", "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80", "\xff", "Hello, world.", "\\u001f", "\\uDBFF\\uDFFF"};
    int k = (int)(*st >> 60);
    b[(*n)++] = '"';
    for (int i = 0; i < k; i++) {
        *st = *st * 6364136223846793005ull + 1442695040888963407ull;
        const char *p = pieces[(*st >> 33) % (sizeof pieces / sizeof pieces[0])];
        if (allow_ctrl && (*st >> 20) % 40 == 0) p = "\t";
        memcpy(b + *n, p, strlen(p));
        *n += strlen(p);
    }
    b[(*n)++] = '"';
}

/* A random JSON value into b (depth-limited), keys often "text" and "id". */
static void rand_value(uint64_t *st, char *b, size_t *n, int depth) {
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    unsigned r = (unsigned)(*st >> 33);
    static const char *const ws[] = {"", "", "", " ", "\t", "\r\n", "  "};
    static const char *const nums[] = {"0", "-1", "3.25", "1e5", "-0.5E-3", "12345678901234567890", "01", "1.", "-.5"};
    static const char *const lits[] = {"true", "false", "null"};
    int kind = depth > 3 ? (int)(r % 4) : (int)(r % 6);
    if (kind == 0) rand_string(st, b, n, r % 7 == 0);
    else if (kind == 1) *n += (size_t)sprintf(b + *n, "%s", nums[r / 8 % 9]);
    else if (kind == 2 || kind == 3) *n += (size_t)sprintf(b + *n, "%s", lits[r / 8 % 3]);
    else {
        int obj = kind == 5, items = (int)(r / 16 % 5);
        b[(*n)++] = obj ? '{' : '[';
        for (int i = 0; i < items; i++) {
            if (i) b[(*n)++] = ',';
            *n += (size_t)sprintf(b + *n, "%s", ws[r / 64 % 7]);
            if (obj) {
                *st = *st * 6364136223846793005ull + 1442695040888963407ull;
                unsigned q = (unsigned)(*st >> 40);
                if (q % 3 == 0) *n += (size_t)sprintf(b + *n, "\"%s\"", q % 2 ? "text" : "id");
                else rand_string(st, b, n, 0);
                *n += (size_t)sprintf(b + *n, "%s:", ws[q / 8 % 7]);
            }
            rand_value(st, b, n, depth + 1);
        }
        b[(*n)++] = obj ? '}' : ']';
    }
}

static void test_scanner_random(void) {
    uint64_t st = 42;
    char *b = malloc(1 << 20);
    int accepted = 0, total = 4000, mutated_ok = 0;
    for (int i = 0; i < total; i++) {
        size_t n = 0;
        b[n++] = '{';
        int fields = (int)(i % 6);
        for (int k = 0; k < fields; k++) {
            if (k) b[n++] = ',';
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            unsigned q = (unsigned)(st >> 40);
            if (q % 2) n += (size_t)sprintf(b + n, "\"%s\":", q % 4 == 1 ? "text" : "id");
            else {
                rand_string(&st, b, &n, 0);
                b[n++] = ':';
            }
            rand_value(&st, b, &n, 1);
        }
        b[n++] = '}';
        char what[64];
        snprintf(what, sizeof what, "random record %d", i);
        int ok = scan_vs_cjson(b, n, what);
        accepted += ok;
        if (!ok && !has_bad_hex(b, n)) {
            fprintf(stderr, "random record %d rejected: %.*s\n", i, (int)(n < 300 ? n : 300), b);
            break;
        }
        /* the same record with one byte dropped, doubled or changed */
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = (size_t)(st >> 33) % n;
        int how = (int)(st >> 60) % 3;
        if (how == 0) memmove(b + at, b + at + 1, n - at - 1), n--;
        else if (how == 1) memmove(b + at + 1, b + at, n - at), n++;
        else b[at] = "{}[]\",:\\u0 x1"[(st >> 20) % 14];
        snprintf(what, sizeof what, "mutated record %d", i);
        mutated_ok += scan_vs_cjson(b, n, what);
    }
    CHECK(accepted == total, "%d of %d random records accepted", accepted, total);
    CHECK(mutated_ok > 0 && mutated_ok < total, "%d of %d mutated records accepted", mutated_ok, total);
    free(b);
}

/* A long JSON string token into b: plain runs of 0-40 bytes (so escapes fall at every offset of
 * a 16- or 8-byte block) between escapes, \u code points and surrogate pairs, raw UTF-8, and
 * now and then raw control bytes, DEL or invalid UTF-8. */
static void long_string(uint64_t *st, char *b, size_t *n, size_t target) {
    static const char *const pieces[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9",
                                         "\\u20ac", "\\ud83d\\ude00", "\\uDBFF\\uDFFF", "\\u0000", "\\u001F",
                                         "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x7f", "\t", "\x01", "\xff",
                                         "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80", "\xe2\x82"};
    static const char k_plain[] = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?-'(){}[]";
    size_t start = *n;
    b[(*n)++] = '"';
    while (*n - start < target) {
        *st = *st * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(*st >> 33);
        size_t run = r % 41;
        for (size_t k = 0; k < run; k++) b[(*n)++] = k_plain[(r >> (k % 24)) % (sizeof k_plain - 1)];
        const char *p = pieces[r / 64 % (sizeof pieces / sizeof pieces[0])];
        if (r / 4096 % 4 == 0 && (p[0] & 0x80 || p[0] < 0x20 || p[0] == 0x7f)) p = "\\n";   /* raw oddities are rarer */
        memcpy(b + *n, p, strlen(p));
        *n += strlen(p);
    }
    b[(*n)++] = '"';
}

/* Compares the SSE2 and scalar scans of line[0..n): status, object bounds, flags, error
 * offset and every field. Returns 0 (reported) on the first difference. */
static int scan_paths_agree(const char *line, size_t n, const char *what) {
    smol_json_field fa[4] = {{.name = "text"}, {.name = "id"}, {.name = "metadata"}, {.name = "url"}};
    smol_json_field fb[4] = {{.name = "text"}, {.name = "id"}, {.name = "metadata"}, {.name = "url"}};
    smol_json_scan a, b;
    int ra = smol_json_scan_object_path(line, n, fa, 4, &a, SMOL_JSON_PATH_SSE2);
    int rb = smol_json_scan_object_path(line, n, fb, 4, &b, SMOL_JSON_PATH_SCALAR);
    if (ra != rb || a.at != b.at || a.end != b.end || a.lax != b.lax || a.not_object != b.not_object ||
        (ra && a.err_at != b.err_at)) {
        CHECK(0, "%s: SSE2 scan %d (at %zu end %zu lax %d not_object %d err_at %zu), scalar %d (%zu %zu %d %d %zu)",
              what, ra, a.at, a.end, a.lax, a.not_object, a.err_at, rb, b.at, b.end, b.lax, b.not_object, b.err_at);
        return 0;
    }
    for (int k = 0; k < 4 && !ra; k++)
        if (fa[k].type != fb[k].type || fa[k].at != fb[k].at || fa[k].end != fb[k].end || fa[k].escaped != fb[k].escaped) {
            CHECK(0, "%s: field %s: SSE2 type %d [%zu, %zu) escaped %d, scalar type %d [%zu, %zu) escaped %d", what,
                  fa[k].name, fa[k].type, fa[k].at, fa[k].end, fa[k].escaped, fb[k].type, fb[k].at, fb[k].end,
                  fb[k].escaped);
            return 0;
        }
    return 1;
}

/* UTF-8 checked one code point at a time from the definition (RFC 3629's table): the offset
 * of the first bad byte, or n. */
static size_t utf8_oracle(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i], cp, len;
        if (c < 0x80) { i++; continue; }
        if (c >> 5 == 6) len = 2, cp = c & 0x1F;
        else if (c >> 4 == 14) len = 3, cp = c & 0x0F;
        else if (c >> 3 == 30) len = 4, cp = c & 0x07;
        else return i;
        if (i + len > n) return i;
        for (unsigned k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        unsigned min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return n;
}

/* The SSE2 scans (base/cpu.h picks them on x86-64) and their plain-C twins on random JSONL
 * records (escapes, surrogates, raw UTF-8 and control bytes, long strings, whitespace, nested
 * metadata), whole, cut short and with a byte changed: the same scan; the text escaped the same
 * by both; its UTF-8 check the same on both and as a from-the-definition checker says. */
static void test_scan_paths_agree(void) {
    uint64_t st = 2026;
    size_t cap = 1 << 20;
    char *b = malloc(cap), *text = malloc(cap), *ea = malloc(SMOL_JSON_ESCAPED_MAX(cap)), *eb = malloc(SMOL_JSON_ESCAPED_MAX(cap));
    REQUIRE(b && text && ea && eb, "out of memory");
    static const char *const ws[] = {"", " ", "\t", "\r\n", "  \n ", "\x01"};
    int scanned = 0, accepted = 0;
    for (int i = 0; i < 1500; i++) {
        size_t n = 0;
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(st >> 33);
        n += (size_t)sprintf(b + n, "%s{%s\"id\"%s:%s", ws[r % 6], ws[r / 8 % 6], ws[r / 64 % 6], ws[r / 512 % 6]);
        rand_value(&st, b, &n, 2);
        n += (size_t)sprintf(b + n, ",%s\"text\":%s", ws[r / 4096 % 6], ws[r / 32768 % 6]);
        size_t text_at = n;
        long_string(&st, b, &n, (size_t)(r % 7 == 0 ? 20000 + r % 30000 : r % 700));
        size_t text_end = n;
        n += (size_t)sprintf(b + n, ",\"metadata\":{\"url\":");
        rand_string(&st, b, &n, 1);
        n += (size_t)sprintf(b + n, ",\"nested\":");
        rand_value(&st, b, &n, 0);
        n += (size_t)sprintf(b + n, "}%s}%s", ws[r / 16 % 6], ws[r / 128 % 6]);
        char what[64];
        snprintf(what, sizeof what, "record %d", i);
        REQUIRE(scan_paths_agree(b, n, what), "%s", what);
        scanned++;
        smol_json_field f = {.name = "text"};
        smol_json_scan sc;
        if (smol_json_scan_object(b, n, &f, 1, &sc) == SMOL_OK) {
            accepted++;
            REQUIRE(f.at == text_at && f.end == text_end, "%s: text at [%zu, %zu), written at [%zu, %zu)", what, f.at,
                    f.end, text_at, text_end);
            size_t tn = smol_json_unescape(b + f.at + 1, f.end - f.at - 2, text, cap);
            size_t na = smol_json_escape_path(text, tn, ea, SMOL_JSON_PATH_SSE2);
            size_t nb = smol_json_escape_path(text, tn, eb, SMOL_JSON_PATH_SCALAR);
            size_t d = 0;
            while (d < na && d < nb && ea[d] == eb[d]) d++;
            REQUIRE(na == nb && d == na, "%s: escaped text differs at byte %zu (SSE2 %zu bytes, scalar %zu)", what, d, na, nb);
            size_t ua = smol_utf8_bad_offset_path(text, tn, SMOL_JSON_PATH_SSE2);
            size_t ub = smol_utf8_bad_offset_path(text, tn, SMOL_JSON_PATH_SCALAR);
            size_t uo = utf8_oracle((const unsigned char *)text, tn);
            REQUIRE(ua == uo && ub == uo, "%s: first bad UTF-8 byte at %zu (SSE2), %zu (scalar), %zu (by definition)", what,
                    ua, ub, uo);
        }
        /* cut short, and one byte changed */
        size_t cut = (size_t)(st >> 20) % n;
        snprintf(what, sizeof what, "record %d cut at %zu", i, cut);
        REQUIRE(scan_paths_agree(b, cut, what), "%s", what);
        size_t at = (size_t)(st >> 12) % n;
        b[at] = "{}[]\",:\\u0 x\x01\xc3"[(st >> 40) % 15];
        snprintf(what, sizeof what, "record %d changed at %zu", i, at);
        REQUIRE(scan_paths_agree(b, n, what), "%s", what);
    }
    CHECK(scanned == 1500 && accepted > 300, "%d records, %d accepted", scanned, accepted);
    free(b);
    free(text);
    free(ea);
    free(eb);
}

/* The escaper writes what cJSON prints for a string, and the unescaper reads it back. */
static void test_escape_round_trip(void) {
    uint64_t st = 7;
    char text[600], esc[SMOL_JSON_ESCAPED_MAX(600)], back[600];
    for (int i = 0; i < 2000; i++) {
        size_t n = (size_t)(i % 600);
        for (size_t k = 0; k < n; k++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            unsigned r = (unsigned)(st >> 33);
            text[k] = (char)(r % 4 ? 0x20 + r / 4 % 95 : 1 + r / 4 % 255);   /* mostly printable, any byte but NUL */
        }
        text[n] = 0;
        size_t e = smol_json_escape(text, n, esc);
        cJSON *s = cJSON_CreateString(text);
        char *want = cJSON_PrintUnformatted(s);
        REQUIRE(e == strlen(want) && memcmp(esc, want, e) == 0, "text %d: escaped as '%.*s', cJSON prints '%s'", i, (int)e,
                esc, want);
        size_t m = smol_json_unescape(esc + 1, e - 2, back, n);
        REQUIRE(m == n && memcmp(back, text, n) == 0, "text %d: unescaped %zu bytes, want %zu", i, m, n);
        cJSON_free(want);
        cJSON_Delete(s);
    }
    /* a capped unescape stops at the cap, and never splits a code point */
    char out[8];
    CHECK(smol_json_unescape("ab\\u20accd", 10, out, 4) == 2, "cap before a 3-byte code point");
    CHECK(smol_json_unescape("ab\\u20accd", 10, out, 5) == 5 && !memcmp(out, "ab\xe2\x82\xac", 5), "cap after it");
}

/* Reads the single record line through a file; returns smol_doc_read's status. */
static int read_one_record(const char *line, size_t n, smol_doc *d, smol_error *err) {
    const char *p = test_tmp("one_rec.jsonl");
    write_file(p, line, n);
    smol_doc_reader *r;
    int rc = smol_doc_reader_open(p, NULL, &r, err);
    if (rc) return rc;
    rc = smol_doc_read(r, d, err);
    d->path = NULL;
    smol_doc_reader_close(r);
    unlink(p);
    return rc;
}

static void test_text_edge_cases(void) {
    smol_doc d;
    smol_error err = {0};
    /* U+0000 in the text, escaped or raw, is a bad record (cJSON cut the text there) */
    static const char esc_nul[] = "{\"text\":\"ab\\u0000cd\"}\n", raw_nul[] = "{\"text\":\"ab\0cd\"}\n";
    int rc = read_one_record(esc_nul, sizeof esc_nul - 1, &d, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, ":1: field \"text\" holds a NUL character") && strstr(err.msg, "byte 2"),
          "\\u0000: %d %s", rc, err.msg);
    rc = read_one_record(raw_nul, sizeof raw_nul - 1, &d, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "holds a NUL character"), "raw NUL: %d %s", rc, err.msg);
    /* invalid UTF-8, raw or made of escapes that are not */
    static const char bad_utf8[] = "{\"text\":\"ok \\u00e9 \xc3\x28\"}\n";
    rc = read_one_record(bad_utf8, sizeof bad_utf8 - 1, &d, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "not valid UTF-8 (byte 6 of the text is 0xc3)"), "bad UTF-8: %s", err.msg);
    /* the first of duplicated keys, escapes decoded, ids of each kind */
    static const struct { const char *line, *text, *id; } ok[] = {
        {"{\"text\":\"one\",\"text\":\"two\",\"id\":\"x\"}\n", "one", "x"},
        {"{\"id\":\"\\u00e9\\n\",\"text\":\"\\ud83d\\ude00 \\\"q\\\" \\t\"}\n", "\xf0\x9f\x98\x80 \"q\" \t", "\xc3\xa9\n"},
        {"{\"id\":12,\"text\":\"n\"}\n", "n", "12"}, {"{\"id\":1.5e3,\"text\":\"n\"}\n", "n", "1500"},
        {"{\"id\":null,\"text\":\"n\"}\n", "n", "?:1"}, {"{\"id\":\"a\\u0000b\",\"text\":\"n\"}\n", "n", "a"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        rc = read_one_record(ok[i].line, strlen(ok[i].line), &d, &err);
        REQUIRE(rc == 1, "record %zu: %d %s", i, rc, err.msg);
        const char *want_id = ok[i].id;
        if (!strcmp(want_id, "?:1")) CHECK(strstr(d.id, "one_rec.jsonl:1") != NULL, "record %zu: id %s", i, d.id);
        else CHECK(!strcmp(d.id, want_id), "record %zu: id '%s' want '%s'", i, d.id, want_id);
        CHECK(d.text_len == strlen(ok[i].text) && !strcmp(d.text, ok[i].text), "record %zu: text '%s' want '%s'", i, d.text,
              ok[i].text);
        smol_doc_free(&d);
    }
    /* a 20 MB text with escapes all along */
    size_t n = 20u << 20;
    char *big = malloc(n + 64);
    size_t at = (size_t)sprintf(big, "{\"id\":\"big\",\"text\":\"");
    while (at + 16 < n) at += (size_t)sprintf(big + at, "abc\\n\\u00e9xyz ");
    at += (size_t)sprintf(big + at, "\"}\n");
    rc = read_one_record(big, at, &d, &err);
    CHECK(rc == 1 && d.text_len > 10u << 20 && !memcmp(d.text, "abc\n\xc3\xa9xyz abc", 13), "big record: %d", rc);
    if (rc == 1) {
        size_t len;
        char *line = smol_doc_to_json(&d, &len);
        CHECK(line && len == at - 1 && !memcmp(line, big, len), "big record written back as read");
        free(line);
        smol_doc_free(&d);
    }
    free(big);
}

/* Records are written back as read; a changed text replaces only the text value; added
 * metadata or a record cJSON alone accepts go through cJSON. */
static void test_write_back(void) {
    smol_doc d;
    smol_error err = {0};
    const char *line = " {\"url\" : \"http://x/\\u00e9\", \"text\":\"caf\\u00e9 \\\"old\\\"\",\"n\":[1, {\"text\":2}],\"id\":3} \r\n";
    const char *obj = line + 1;
    size_t obj_len = strlen(obj) - 3;   /* without " \r\n" */
    REQUIRE(read_one_record(line, strlen(line), &d, &err) == 1, "%s", err.msg);
    CHECK(!strcmp(d.text, "caf\xc3\xa9 \"old\"") && !strcmp(d.id, "3"), "text '%s' id '%s'", d.text, d.id);
    size_t len;
    char *out = smol_doc_to_json(&d, &len);
    CHECK(out && len == obj_len && !memcmp(out, obj, len), "untouched: got %s", out);
    free(out);
    /* the other fields can be read through the tree without changing the output */
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(smol_doc_json(&d), "url");
    CHECK(cJSON_IsString(u) && !strcmp(u->valuestring, "http://x/\xc3\xa9"), "url through the tree");
    out = smol_doc_to_json(&d, &len);
    CHECK(out && len == obj_len && !memcmp(out, obj, len), "after reading the tree: got %s", out);
    free(out);
    smol_doc_set_text(&d, "new\n\"text\"\x01 \xc3\xa9", 14, NULL);
    out = smol_doc_to_json(&d, &len);
    const char *want = "{\"url\" : \"http://x/\\u00e9\", \"text\":\"new\\n\\\"text\\\"\\u0001 \xc3\xa9\",\"n\":[1, {\"text\":2}],\"id\":3}";
    CHECK(out && !strcmp(out, want), "text replaced:\n got %s\nwant %s", out, want);
    free(out);
    /* the writer writes the same line */
    const char *p = test_tmp("wb.jsonl");
    smol_doc_writer *w;
    REQUIRE(smol_doc_writer_open(p, &w, &err) == 0, "%s", err.msg);
    CHECK(smol_doc_write(w, &d, &err) == 0, "%s", err.msg);
    cJSON_AddStringToObject(smol_doc_metadata(&d), "k", "v");
    CHECK(smol_doc_write(w, &d, &err) == 0, "%s", err.msg);
    CHECK(smol_doc_writer_close(w, &err) == 0, "%s", err.msg);
    smol_doc_free(&d);
    char *got = NULL;
    size_t got_len = 0;
    REQUIRE(smol_read_file(p, &got, &got_len, &err) == 0, "%s", err.msg);
    const char *want2 = "{\"url\":\"http://x/\xc3\xa9\",\"text\":\"new\\n\\\"text\\\"\\u0001 \xc3\xa9\",\"n\":[1,{\"text\":2}],\"id\":3,"
                        "\"metadata\":{\"k\":\"v\"}}\n";
    CHECK(got_len == strlen(want) + 1 + strlen(want2) && !memcmp(got, want, strlen(want)) &&
              !strcmp(got + strlen(want) + 1, want2),
          "written:\n%s\nwant second line:\n%s", got, want2);
    free(got);
    unlink(p);
    /* metadata added without the tree: only the metadata value is printed by cJSON (spliced in
     * place, or appended as a last key); a non-object metadata or a built tree goes through cJSON */
    static const struct { const char *line, *new_text, *want; int tree; } meta[] = {
        {"{\"text\":\"a\", \"metadata\": {\"dump\": \"x\", \"n\": 1.0} ,\"id\":\"q\"}", NULL,
         "{\"text\":\"a\", \"metadata\": {\"dump\":\"x\",\"n\":1,\"k\":\"v\"} ,\"id\":\"q\"}", 0},
        {"{ \"text\" : \"b\" }", NULL, "{ \"text\" : \"b\" ,\"metadata\":{\"k\":\"v\"}}", 0},
        {"{\"metadata\":{},\"text\":\"old\",\"metadata\":7}", "new \"x\"", "{\"metadata\":{\"k\":\"v\"},\"text\":\"new \\\"x\\\"\",\"metadata\":7}", 0},
        {"{\"text\":\"old\",\"metadata\":{\"a\":[1]}}", "new", "{\"text\":\"new\",\"metadata\":{\"a\":[1],\"k\":\"v\"}}", 0},
        {"{\"text\":\"c\",\"metadata\":5,\"z\": 1}", NULL, "{\"text\":\"c\",\"z\":1,\"metadata\":{\"k\":\"v\"}}", 0},
        {"{\"text\":\"d\",\"metadata\":{\"a\":1}, \"z\": 1}", NULL, "{\"text\":\"d\",\"metadata\":{\"a\":1,\"k\":\"v\"},\"z\":1}", 1},
    };
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        REQUIRE(read_one_record(meta[i].line, strlen(meta[i].line), &d, &err) == 1, "meta %zu: %s", i, err.msg);
        if (meta[i].new_text) smol_doc_set_text(&d, meta[i].new_text, strlen(meta[i].new_text), NULL);
        cJSON *m = smol_doc_metadata(&d);
        REQUIRE(m && cJSON_AddStringToObject(m, "k", "v"), "meta %zu: metadata", i);
        if (meta[i].tree) {   /* the tree built afterwards holds the new metadata */
            const cJSON *k = cJSON_GetObjectItem(cJSON_GetObjectItem(smol_doc_json(&d), "metadata"), "k");
            CHECK(cJSON_IsString(k), "meta %zu: the tree lacks metadata.k", i);
        }
        out = smol_doc_to_json(&d, &len);
        CHECK(out && !strcmp(out, meta[i].want), "meta %zu:\n got %s\nwant %s", i, out, meta[i].want);
        free(out);
        smol_doc_free(&d);
    }
    /* a raw tab in a string: accepted as cJSON does, written as valid JSON through cJSON */
    const char *lax = "{\"text\":\"a\tb\",\"x\":01}\n";
    REQUIRE(read_one_record(lax, strlen(lax), &d, &err) == 1, "%s", err.msg);
    out = smol_doc_to_json(&d, &len);
    CHECK(out && !strcmp(out, "{\"text\":\"a\\tb\",\"x\":1}"), "lax record: %s", out);
    free(out);
    smol_doc_free(&d);
}

int main(void) {
    RUN(test_scanner_cases);
    RUN(test_scanner_random);
    RUN(test_escape_round_trip);
    RUN(test_scan_paths_agree);
    RUN(test_text_edge_cases);
    RUN(test_write_back);
    RUN(test_jsonl_plain_and_compressed);
    RUN(test_bad_records);
    RUN(test_fields_json_txt);
    RUN(test_writer_round_trip);
    RUN(test_fuzz_regressions);
    return check_done();
}
