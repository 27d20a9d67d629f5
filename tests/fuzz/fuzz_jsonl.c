/* fuzz_jsonl.c: libFuzzer target for the line/JSONL reader (base/jsonl.c) and the document
 * reader (data/doc.c). The first input byte chooses how the rest is stored (as it is, so a
 * seed may itself be .gz or .zst bytes, or compressed here with gzip or zstd), the file name
 * (.jsonl, .json, .txt) and the text field; the file is then read as lines (with a small line
 * limit), as JSONL objects, and as documents with --on-error stop and skip. Every error must
 * come with a message naming the file; every document must have valid UTF-8 text and an id.
 * Each line of the input is also given to the tree-less scanner (smol_json_scan_object) and
 * to cJSON: both must accept or reject it alike (the scanner may only reject more where a \u
 * escape lacks hex digits), find the same "text" and "id", and a record written back from
 * its bytes, with and without a new text, must parse to the same record. Documents written
 * back (every other one with metadata added) must parse to their text and metadata. */
#include "base/jsonl.h"
#include "data/doc.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static char g_dir[64];
static volatile uint64_t g_sink;

/* Removes the temporary folder (emptied after each input) when the fuzzer exits. */
static void remove_dir(void) { rmdir(g_dir); }

static void check_err(const smol_error *err, const char *path) {
    if (err->code == SMOL_OK || !strstr(err->msg, path)) __builtin_trap();
}

static size_t gzip_bytes(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    size_t len = z.total_out;
    deflateEnd(&z);
    return len;
}

/* 1 if s[0..n) holds a backslash-u without four hex digits after it (cJSON reads U+0000). */
static int has_bad_hex(const char *s, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '\\' || s[i + 1] != 'u') continue;
        if (i + 6 > n) return 1;
        for (int k = 2; k < 6; k++)
            if (!s[i + k] || !strchr("0123456789abcdefABCDEF", s[i + k])) return 1;
    }
    return 0;
}

/* Traps unless field f (found by the scanner in line) is cJSON's item v: same kind, and for
 * a string the same bytes up to cJSON's first NUL. */
static void same_field(const char *line, const smol_json_field *f, const cJSON *v) {
    if ((f->type == SMOL_JSON_NONE) != (v == NULL)) __builtin_trap();
    if (!v) return;
    if ((f->type == SMOL_JSON_STRING) != (cJSON_IsString(v) != 0)) __builtin_trap();
    if ((f->type == SMOL_JSON_NUMBER) != (cJSON_IsNumber(v) != 0)) __builtin_trap();
    if ((f->type == SMOL_JSON_OBJECT) != (cJSON_IsObject(v) != 0)) __builtin_trap();
    if ((f->type == SMOL_JSON_ARRAY) != (cJSON_IsArray(v) != 0)) __builtin_trap();
    if (f->type != SMOL_JSON_STRING) return;
    size_t n = f->end - f->at - 2, want = strlen(v->valuestring);
    char *buf = malloc(n + 1);
    if (!buf) abort();
    size_t got = smol_json_unescape(line + f->at + 1, n, buf, n);
    buf[got] = 0;
    if (strlen(buf) != want || memcmp(buf, v->valuestring, want)) __builtin_trap();
    free(buf);
}

/* The scanner against cJSON on one line; for an accepted record with a text, the text
 * replaced in its bytes must give the same record with the new text. */
static void scan_line(const char *line, size_t n) {
    smol_json_field f[2] = {{.name = "text"}, {.name = "id"}};
    smol_json_scan sc;
    int ok = smol_json_scan_object(line, n, f, 2, &sc) == SMOL_OK;
    char *z = malloc(n + 1);
    if (!z) abort();
    memcpy(z, line, n);
    z[n] = 0;
    cJSON *j = cJSON_ParseWithLengthOpts(z, n + 1, NULL, 1);
    int c_ok = cJSON_IsObject(j);
    if (ok && !c_ok) __builtin_trap();
    if (!ok && c_ok && !has_bad_hex(line, n)) __builtin_trap();
    if (!ok && j && !c_ok && !sc.not_object && !has_bad_hex(line, n)) __builtin_trap();
    if (ok) {
        same_field(line, &f[0], cJSON_GetObjectItemCaseSensitive(j, "text"));
        same_field(line, &f[1], cJSON_GetObjectItemCaseSensitive(j, "id"));
        if (f[0].type == SMOL_JSON_STRING) {
            static const char k_new[] = "new \"text\"\n\x01\xc3\xa9";
            size_t tail = n - f[0].end, esc = SMOL_JSON_ESCAPED_MAX(sizeof k_new - 1);
            char *out = malloc(f[0].at + esc + tail + 1);
            if (!out) abort();
            memcpy(out, line, f[0].at);
            size_t m = f[0].at + smol_json_escape(k_new, sizeof k_new - 1, out + f[0].at);
            memcpy(out + m, line + f[0].end, tail);
            m += tail;
            out[m] = 0;
            cJSON *k = cJSON_ParseWithLengthOpts(out, m + 1, NULL, 1);
            cJSON *t = cJSON_GetObjectItemCaseSensitive(k, "text");
            if (!cJSON_IsString(t) || strcmp(t->valuestring, k_new)) __builtin_trap();
            cJSON_DeleteItemFromObjectCaseSensitive(k, "text");
            cJSON_DeleteItemFromObjectCaseSensitive(j, "text");
            char *pj = cJSON_PrintUnformatted(j), *pk = cJSON_PrintUnformatted(k);   /* keeps duplicated keys */
            if (!pj || !pk || strcmp(pj, pk)) __builtin_trap();
            cJSON_free(pj);
            cJSON_free(pk);
            cJSON_Delete(k);
            free(out);
        }
    }
    cJSON_Delete(j);
    free(z);
}

static void read_lines(const char *path, size_t max) {
    smol_lines *r = NULL;
    smol_error err;
    if (smol_lines_open(path, &r, &err) != SMOL_OK) {
        check_err(&err, path);
        return;
    }
    if (max) smol_lines_set_max(r, max);
    const char *line;
    size_t len;
    int rc;
    int64_t lines = 0;
    while ((rc = smol_lines_next(r, &line, &len, &err)) == 1) {
        if (line[len] != 0 || ++lines != smol_lines_lineno(r)) __builtin_trap();
        if (max && len > max) __builtin_trap();
        g_sink += len + (len ? (uint8_t)line[0] + (uint8_t)line[len - 1] : 0);
    }
    if (rc < 0) check_err(&err, path);
    smol_lines_close(r);
}

static void read_jsonl(const char *path) {
    smol_lines *r = NULL;
    smol_error err;
    if (smol_lines_open(path, &r, &err) != SMOL_OK) return;
    cJSON *doc;
    int rc;
    while ((rc = smol_jsonl_next(r, &doc, &err)) == 1) {
        if (!cJSON_IsObject(doc)) __builtin_trap();
        cJSON_Delete(doc);
    }
    if (rc < 0) check_err(&err, path);
    smol_lines_close(r);
}

static void read_docs(const char *path, const char *field, int on_error) {
    smol_doc_opts o = {field, NULL, on_error, 1};
    smol_doc_reader *r = NULL;
    smol_error err;
    if (smol_doc_reader_open(path, &o, &r, &err) != SMOL_OK) {
        if (r) __builtin_trap();
        check_err(&err, path);
        return;
    }
    smol_doc d;
    int rc;
    while ((rc = smol_doc_read(r, &d, &err)) == 1) {
        if (!d.id || !d.text || strlen(d.text) != d.text_len || d.line < 1) __builtin_trap();
        cJSON *m = (d.line & 1) ? smol_doc_metadata(&d) : NULL;   /* every other one gets metadata */
        if (m) cJSON_AddStringToObject(m, "fz", "1");
        char *line = smol_doc_to_json(&d, NULL);
        if (!line) __builtin_trap();
        /* what is written parses back with this text (and the metadata) */
        cJSON *back = cJSON_Parse(line);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(back, d.text_field);
        if (!cJSON_IsString(t) || strcmp(t->valuestring, d.text)) __builtin_trap();
        const cJSON *fz = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(back, "metadata"), "fz");
        if (m && !cJSON_IsString(fz)) __builtin_trap();
        cJSON_Delete(back);
        free(line);
        smol_doc_free(&d);
    }
    if (rc < 0) {
        if (on_error == SMOL_ON_ERROR_SKIP && rc != SMOL_ENOMEM) __builtin_trap();
        check_err(&err, path);
    }
    g_sink += (uint64_t)smol_doc_reader_skipped(r) + smol_doc_reader_bytes_read(r);
    smol_doc_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 100000) return 0;
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/fuzz_jsonl_XXXXXX");
        if (!mkdtemp(g_dir)) abort();
        atexit(remove_dir);
    }
    static const char *const names[] = {"in.jsonl", "in.json", "in.txt", "in.jsonl.zst"};
    static const char *const fields[] = {NULL, "content"};
    uint8_t mode = data[0];
    const uint8_t *body = data + 1;
    for (size_t at = 0; at < size - 1;) {   /* each line through the scanner and cJSON */
        const uint8_t *nl = memchr(body + at, '\n', size - 1 - at);
        size_t end = nl ? (size_t)(nl - body) : size - 1;
        scan_line((const char *)body + at, end - at);
        at = end + 1;
    }
    size_t n = size - 1, cap = ZSTD_compressBound(n) + 64 + n / 100;
    uint8_t *buf = malloc(cap);
    if (!buf) abort();
    size_t len = n;
    if ((mode & 3) == 1) len = gzip_bytes(body, n, buf, cap);
    else if ((mode & 3) == 2) len = ZSTD_compress(buf, cap, body, n, 1);
    else memcpy(buf, body, n);
    if (ZSTD_isError(len)) abort();
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, names[(mode >> 2) & 3]);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) abort();
    fclose(f);
    free(buf);
    read_lines(path, (mode & 16) ? 7 : 0);
    read_jsonl(path);
    read_docs(path, fields[(mode >> 5) & 1], SMOL_ON_ERROR_STOP);
    read_docs(path, fields[(mode >> 5) & 1], SMOL_ON_ERROR_SKIP);
    unlink(path);
    return 0;
}
