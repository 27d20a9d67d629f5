/* doc.c: reading documents from JSONL/JSON/text/parquet files and writing them as JSONL
 * (plain, gzip or zstd) through a temporary file renamed into place on close. JSONL records
 * are scanned without a cJSON tree (base/jsonl.h): their bytes are kept and written back with
 * only the text value replaced; the tree is built when something asks for it. */
#include "data/doc.h"
#include "base/error.h"
#include "base/file.h"
#include "base/jsonl.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__has_include)
#if __has_include("data/parquet.h")
#include "data/parquet.h"
#define SMOL_HAVE_PARQUET 1
#endif
#endif

enum { SRC_JSONL, SRC_TEXT, SRC_ARRAY, SRC_PARQUET };

struct smol_doc_reader {
    int kind;
    char *path;
    char text_field[64];
    char id_field[64];
    int on_error, quiet;
    long skipped;
    smol_lines *lines;      /* SRC_JSONL */
    char *whole;            /* SRC_TEXT: the file's text; SRC_ARRAY: unused */
    size_t whole_len;
    int text_done;
    cJSON *array;           /* SRC_ARRAY: the parsed array */
    cJSON *next_item;
    long item_no;
    uint64_t file_size;
#ifdef SMOL_HAVE_PARQUET
    smol_parquet *pq;
#endif
};

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

size_t smol_utf8_bad_offset_path(const char *s, size_t n, int path) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
#if defined(__SSE2__)
    int sse2 = smol_json_path_is_sse2(path);
#else
    (void)path;
#endif
    while (i < n) {
#if defined(__SSE2__)
        if (sse2 && i + 16 <= n && !_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + i)))) {
            i += 16;   /* 16 ASCII bytes */
            continue;
        }
#endif
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ull)) { i += 8; continue; }
        }
        unsigned c = p[i];
        if (c < 0x80) { i++; continue; }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else return i;
        if (i + len > n) return i;
        if (p[i + 1] < lo || p[i + 1] > hi) return i;
        for (size_t k = 2; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80) return i;
        i += len;
    }
    return n;
}

/* Offset of the first byte that breaks UTF-8 in s[0..n), or n (see smol_utf8_bad_offset_path). */
static size_t utf8_bad_offset(const char *s, size_t n) { return smol_utf8_bad_offset_path(s, n, SMOL_JSON_PATH_AUTO); }

int smol_doc_reader_open(const char *path, const smol_doc_opts *opts, smol_doc_reader **out, smol_error *err) {
    *out = NULL;
    smol_doc_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    }
    const char *tf = opts && opts->text_field ? opts->text_field : "text";
    const char *idf = opts && opts->id_field ? opts->id_field : "id";
    if (!*tf || strlen(tf) >= sizeof r->text_field || strlen(idf) >= sizeof r->id_field) {
        smol_doc_reader_close(r);
        return smol_fail(err, SMOL_EINVAL, "%s: text field '%s' or id field '%s' is empty or longer than 63 bytes",
                         path, tf, idf);
    }
    strcpy(r->text_field, tf);
    strcpy(r->id_field, idf);
    r->on_error = opts ? opts->on_error : SMOL_ON_ERROR_STOP;
    r->quiet = opts ? opts->quiet : 0;
    int rc = SMOL_OK;
    if (ends_with(path, ".parquet")) {
#ifdef SMOL_HAVE_PARQUET
        r->kind = SRC_PARQUET;
        rc = smol_parquet_open(path, &r->pq, err);
#else
        rc = smol_fail(err, SMOL_EUNSUPPORTED, "%s: parquet files are not supported by this build", path);
#endif
    } else if (ends_with(path, ".txt")) {
        r->kind = SRC_TEXT;
        rc = smol_read_file(path, &r->whole, &r->whole_len, err);
        r->file_size = r->whole_len;
    } else if (ends_with(path, ".json")) {
        /* a JSON array of records, or JSONL under a .json name */
        rc = smol_read_file(path, &r->whole, &r->whole_len, err);
        size_t i = 0;
        while (!rc && i < r->whole_len && strchr(" \t\r\n", r->whole[i])) i++;
        if (!rc && i < r->whole_len && r->whole[i] == '[') {
            r->kind = SRC_ARRAY;
            r->file_size = r->whole_len;
            r->array = cJSON_ParseWithLength(r->whole, r->whole_len);
            if (!cJSON_IsArray(r->array))
                rc = smol_fail(err, SMOL_EFORMAT, "%s: invalid JSON array (expected [ {record}, ... ])", path);
            else r->next_item = r->array->child;
        } else if (!rc) {
            r->kind = SRC_JSONL;
            rc = smol_lines_open(path, &r->lines, err);
        }
        free(r->whole);
        r->whole = NULL;
    } else {
        r->kind = SRC_JSONL;
        rc = smol_lines_open(path, &r->lines, err);
    }
    if (rc) {
        smol_doc_reader_close(r);
        return rc;
    }
    *out = r;
    return SMOL_OK;
}

void smol_doc_reader_close(smol_doc_reader *r) {
    if (!r) return;
    smol_lines_close(r->lines);
    cJSON_Delete(r->array);
#ifdef SMOL_HAVE_PARQUET
    if (r->pq) smol_parquet_close(r->pq);
#endif
    free(r->whole);
    free(r->path);
    free(r);
}

long smol_doc_reader_skipped(const smol_doc_reader *r) { return r->skipped; }

uint64_t smol_doc_reader_bytes_read(const smol_doc_reader *r) {
    if (r->lines) return smol_lines_bytes_read(r->lines);
    return r->kind == SRC_TEXT ? (r->text_done ? r->file_size : 0) : (r->next_item ? 0 : r->file_size);
}

uint64_t smol_doc_reader_file_size(const smol_doc_reader *r) {
    return r->lines ? smol_lines_file_size(r->lines) : r->file_size;
}

/* Drops the filters' analysis of the text (it describes text that is about to change). */
static void drop_cache(smol_doc *doc) {
    if (doc->cache && doc->cache_free) doc->cache_free(doc->cache);
    doc->cache = NULL;
    doc->cache_free = NULL;
}

void smol_doc_free(smol_doc *doc) {
    if (!doc) return;
    drop_cache(doc);
    free(doc->text);
    cJSON_Delete(doc->json);
    free(doc->id_buf);
    free(doc->rec);
    cJSON_Delete(doc->meta);
    memset(doc, 0, sizeof *doc);
}

int smol_doc_set_text(smol_doc *doc, const char *text, size_t len, smol_error *err) {
    char *t = malloc(len + 1);
    if (!t) return smol_fail(err, SMOL_ENOMEM, "%s:%ld: out of memory for %zu bytes of text", doc->path ? doc->path : "?",
                             doc->line, len);
    memcpy(t, text, len);
    t[len] = 0;
    drop_cache(doc);
    free(doc->text);
    doc->text = t;
    doc->text_len = len;
    doc->rec_flags |= SMOL_DOC_TEXT_SET;
    return SMOL_OK;
}

int smol_doc_from_text(smol_doc *doc, const char *id, const char *text, size_t len, smol_error *err) {
    memset(doc, 0, sizeof *doc);
    strcpy(doc->text_field, "text");
    doc->json = cJSON_CreateObject();
    cJSON *idj = doc->json ? cJSON_AddStringToObject(doc->json, "id", id ? id : "") : NULL;
    if (!idj || !cJSON_AddStringToObject(doc->json, "text", "") || smol_doc_set_text(doc, text, len, NULL)) {
        smol_doc_free(doc);
        return smol_fail(err, SMOL_ENOMEM, "out of memory for a document of %zu bytes", len);
    }
    doc->id = idj->valuestring;
    doc->line = 1;
    return SMOL_OK;
}

/* The tree of doc, parsed from its record's bytes at the first call; metadata made before
 * (doc->meta) moves into it, in place of the record's own. */
static cJSON *doc_tree(smol_doc *doc) {
    if (doc->json || !doc->rec || !(doc->json = cJSON_ParseWithLength(doc->rec, doc->rec_len)) || !doc->meta)
        return doc->json;
    if (cJSON_GetObjectItemCaseSensitive(doc->json, "metadata"))
        cJSON_ReplaceItemInObjectCaseSensitive(doc->json, "metadata", doc->meta);
    else cJSON_AddItemToObject(doc->json, "metadata", doc->meta);
    doc->meta = NULL;
    doc->rec_flags |= SMOL_DOC_TREE_CHANGED;
    return doc->json;
}

const cJSON *smol_doc_json(const smol_doc *doc) {
    return doc_tree((smol_doc *)doc);   /* only the lazily built tree changes */
}

cJSON *smol_doc_metadata(smol_doc *doc) {
    if (doc->meta) return doc->meta;
    if (doc->rec && !doc->json && !(doc->rec_flags & (SMOL_DOC_LAX | SMOL_DOC_TREE_CHANGED | SMOL_DOC_META_OTHER))) {
        /* only the metadata object, spliced into the record's bytes when written */
        return doc->meta = doc->meta_end ? cJSON_ParseWithLength(doc->rec + doc->meta_at, doc->meta_end - doc->meta_at)
                                         : cJSON_CreateObject();
    }
    if (!doc_tree(doc) && !(doc->json = cJSON_CreateObject())) return NULL;
    doc->rec_flags |= SMOL_DOC_TREE_CHANGED;
    cJSON *m = cJSON_GetObjectItemCaseSensitive(doc->json, "metadata");
    if (cJSON_IsObject(m)) return m;
    if (m) cJSON_DeleteItemFromObjectCaseSensitive(doc->json, "metadata");
    return cJSON_AddObjectToObject(doc->json, "metadata");
}

/* Fills doc from record j (taken over): checks the text field and its UTF-8, sets the id. */
static int doc_from_record(smol_doc_reader *r, cJSON *j, long line, smol_doc *doc, smol_error *err) {
    memset(doc, 0, sizeof *doc);
    doc->path = r->path;
    doc->line = line;
    doc->json = j;
    strcpy(doc->text_field, r->text_field);
    cJSON *t = cJSON_GetObjectItemCaseSensitive(j, r->text_field);
    if (!t) {
        smol_doc_free(doc);
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: record has no \"%s\" field (choose it with --text-field)", r->path,
                         line, r->text_field);
    }
    if (!cJSON_IsString(t) || !t->valuestring) {
        smol_doc_free(doc);
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: field \"%s\" is not a string", r->path, line, r->text_field);
    }
    size_t n = strlen(t->valuestring);
    size_t bad = utf8_bad_offset(t->valuestring, n);
    if (bad < n) {
        unsigned char byte = (unsigned char)t->valuestring[bad];
        smol_doc_free(doc);
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: field \"%s\" is not valid UTF-8 (byte %zu of the text is 0x%02x)",
                         r->path, line, r->text_field, bad, byte);
    }
    int rc = smol_doc_set_text(doc, t->valuestring, n, err);
    cJSON *id = cJSON_GetObjectItemCaseSensitive(j, r->id_field);
    if (!rc && cJSON_IsString(id) && id->valuestring) doc->id = id->valuestring;
    else if (!rc) {
        char buf[4200];
        if (cJSON_IsNumber(id)) snprintf(buf, sizeof buf, "%.17g", id->valuedouble);
        else snprintf(buf, sizeof buf, "%s:%ld", r->path, line);
        if (!(doc->id_buf = strdup(buf))) rc = smol_fail(err, SMOL_ENOMEM, "%s:%ld: out of memory", r->path, line);
        doc->id = doc->id_buf;
    }
    if (rc) smol_doc_free(doc);
    return rc;
}

/* The id of a record: a string value unescaped, a number as "%.17g" of its value (as cJSON
 * reads both), else "PATH:LINE"; stored in doc->id_buf. */
static int record_id(smol_doc_reader *r, const char *line, const smol_json_field *f, smol_doc *doc, smol_error *err) {
    char buf[4200];
    size_t n = f->end - f->at;
    if (f->type == SMOL_JSON_STRING) {
        if ((doc->id_buf = malloc(n - 1))) doc->id_buf[smol_json_unescape(line + f->at + 1, n - 2, doc->id_buf, n - 2)] = 0;
    } else {
        if (f->type == SMOL_JSON_NUMBER && n < 64) {
            memcpy(buf, line + f->at, n);
            buf[n] = 0;
            snprintf(buf, sizeof buf, "%.17g", strtod(buf, NULL));
        } else if (f->type == SMOL_JSON_NUMBER) {
            char *num = strndup(line + f->at, n);
            snprintf(buf, sizeof buf, "%.17g", num ? strtod(num, NULL) : 0.0);
            free(num);
        } else {
            snprintf(buf, sizeof buf, "%s:%ld", r->path, doc->line);
        }
        doc->id_buf = strdup(buf);
    }
    if (!doc->id_buf) return smol_fail(err, SMOL_ENOMEM, "%s:%ld: out of memory", r->path, doc->line);
    doc->id = doc->id_buf;
    return SMOL_OK;
}

/* The text value f of line, unescaped into doc->text and checked: valid UTF-8 without NUL. */
static int record_text(smol_doc_reader *r, const char *line, const smol_json_field *f, smol_doc *doc, smol_error *err) {
    size_t n = f->end - f->at - 2;
    if (!(doc->text = malloc(n + 1)))
        return smol_fail(err, SMOL_ENOMEM, "%s:%ld: out of memory for %zu bytes of text", r->path, doc->line, n);
    if (f->escaped) doc->text_len = smol_json_unescape(line + f->at + 1, n, doc->text, n);
    else memcpy(doc->text, line + f->at + 1, doc->text_len = n);
    doc->text[doc->text_len] = 0;
    size_t bad = utf8_bad_offset(doc->text, doc->text_len);
    if (bad < doc->text_len)
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: field \"%s\" is not valid UTF-8 (byte %zu of the text is 0x%02x)",
                         r->path, doc->line, r->text_field, bad, (unsigned char)doc->text[bad]);
    const char *nul = memchr(doc->text, 0, doc->text_len);
    if (nul)
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: field \"%s\" holds a NUL character (\\u0000) at byte %zu of the text",
                         r->path, doc->line, r->text_field, (size_t)(nul - doc->text));
    return SMOL_OK;
}

/* Reads one JSON object line into doc without a cJSON tree: its bytes, text and id. */
static int parse_line(smol_doc_reader *r, const char *line, size_t len, long lineno, smol_doc *doc, smol_error *err) {
    smol_json_field f[3] = {{.name = r->text_field}, {.name = r->id_field}, {.name = "metadata"}};
    smol_json_scan sc;
    if (smol_json_scan_object(line, len, f, 3, &sc)) {
        if (sc.not_object) return smol_fail(err, SMOL_EFORMAT, "%s:%ld: expected a JSON object", r->path, lineno);
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: invalid JSON near byte %zu", r->path, lineno, sc.err_at + 1);
    }
    if (!strcmp(r->id_field, r->text_field)) f[1] = f[0];   /* a key fills only the first field it names */
    if (!strcmp(r->text_field, "metadata") || !strcmp(r->id_field, "metadata")) f[2] = f[strcmp(r->text_field, "metadata") ? 1 : 0];
    if (f[0].type == SMOL_JSON_NONE)
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: record has no \"%s\" field (choose it with --text-field)", r->path,
                         lineno, r->text_field);
    if (f[0].type != SMOL_JSON_STRING)
        return smol_fail(err, SMOL_EFORMAT, "%s:%ld: field \"%s\" is not a string", r->path, lineno, r->text_field);
    memset(doc, 0, sizeof *doc);
    doc->path = r->path;
    doc->line = lineno;
    strcpy(doc->text_field, r->text_field);
    int rc = record_text(r, line, &f[0], doc, err);
    if (!rc) rc = record_id(r, line, &f[1], doc, err);
    if (!rc && !(doc->rec = malloc(sc.end - sc.at + 1)))
        rc = smol_fail(err, SMOL_ENOMEM, "%s:%ld: out of memory for a %zu-byte record", r->path, lineno, len);
    if (rc) {
        smol_doc_free(doc);
        return rc;
    }
    doc->rec_len = sc.end - sc.at;
    memcpy(doc->rec, line + sc.at, doc->rec_len);
    doc->rec[doc->rec_len] = 0;
    doc->text_at = f[0].at - sc.at;
    doc->text_end = f[0].end - sc.at;
    doc->rec_flags = sc.lax ? SMOL_DOC_LAX : 0;
    if (f[2].type == SMOL_JSON_OBJECT) {
        doc->meta_at = f[2].at - sc.at;
        doc->meta_end = f[2].end - sc.at;
    } else if (f[2].type != SMOL_JSON_NONE) {
        doc->rec_flags |= SMOL_DOC_META_OTHER;
    }
    return SMOL_OK;
}

/* The next record from any kind of source; a per-record error is returned as such, a
 * stream error (truncated file) as well, with *fatal set. */
static int read_one(smol_doc_reader *r, smol_doc *doc, int *fatal, smol_error *err) {
    *fatal = 0;
    if (r->kind == SRC_TEXT) {
        if (r->text_done) return 0;
        r->text_done = 1;
        size_t bad = utf8_bad_offset(r->whole, r->whole_len);
        if (bad < r->whole_len)
            return smol_fail(err, SMOL_EFORMAT, "%s: not valid UTF-8 (byte %zu is 0x%02x)", r->path, bad,
                             (unsigned char)r->whole[bad]);
        const char *nul = memchr(r->whole, 0, r->whole_len);   /* the text would end there when written */
        if (nul)
            return smol_fail(err, SMOL_EFORMAT, "%s: holds a NUL byte at byte %zu (not a text file)", r->path,
                             (size_t)(nul - r->whole));
        int rc = smol_doc_from_text(doc, r->path, r->whole, r->whole_len, err);
        if (rc) return rc;
        doc->path = r->path;
        free(r->whole);
        r->whole = NULL;
        return 1;
    }
    if (r->kind == SRC_ARRAY) {
        cJSON *it = r->next_item;
        if (!it) return 0;
        r->next_item = it->next;
        long no = ++r->item_no;
        if (!cJSON_IsObject(it)) return smol_fail(err, SMOL_EFORMAT, "%s: item %ld: expected a JSON object", r->path, no);
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (!copy) return smol_fail(err, SMOL_ENOMEM, "%s: item %ld: out of memory", r->path, no);
        int rc = doc_from_record(r, copy, no, doc, err);
        return rc ? rc : 1;
    }
#ifdef SMOL_HAVE_PARQUET
    if (r->kind == SRC_PARQUET) {
        const char *json;
        size_t len;
        int rc = smol_parquet_next_json(r->pq, &json, &len, err);
        if (rc <= 0) {
            *fatal = rc < 0;
            return rc;
        }
        rc = parse_line(r, json, len, ++r->item_no, doc, err);
        return rc ? rc : 1;
    }
#endif
    const char *line;
    size_t len;
    int rc;
    while ((rc = smol_lines_next(r->lines, &line, &len, err)) == 1) {
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        if (i == len) continue;
        rc = parse_line(r, line, len, (long)smol_lines_lineno(r->lines), doc, err);
        return rc ? rc : 1;
    }
    *fatal = rc < 0;
    return rc;
}

int smol_doc_read(smol_doc_reader *r, smol_doc *doc, smol_error *err) {
    memset(doc, 0, sizeof *doc);
    for (;;) {
        int fatal;
        smol_error e = {0};
        int rc = read_one(r, doc, &fatal, &e);
        if (rc >= 0) return rc;
        if (r->on_error != SMOL_ON_ERROR_SKIP || rc == SMOL_ENOMEM) {
            if (err) *err = e;
            return rc;
        }
        r->skipped++;
        if (!r->quiet) fprintf(stderr, "skipped: %s\n", e.msg);
        if (fatal) return 0;   /* the rest of a corrupt stream cannot be read */
    }
}

/* ------------------------------------------------------------------ writer */

enum { OUT_PLAIN, OUT_GZIP, OUT_ZSTD };

struct smol_doc_writer {
    smol_atomic_file af;
    FILE *fp;                /* af.fp or stdout */
    int to_stdout, kind;
    z_stream z;
    ZSTD_CCtx *zc;
    unsigned char *zbuf;
    size_t zcap;
    uint64_t bytes;
    char *line;              /* scratch for smol_doc_write */
    size_t line_cap;
};

#define ZBUF (256 * 1024)

int smol_doc_writer_open(const char *path, smol_doc_writer **out, smol_error *err) {
    *out = NULL;
    smol_doc_writer *w = calloc(1, sizeof *w);
    if (!w) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    if (strcmp(path, "-") == 0) {
        w->to_stdout = 1;
        w->fp = stdout;
        snprintf(w->af.path, sizeof w->af.path, "%s", "(stdout)");
    } else {
        int rc = smol_atomic_open(&w->af, path, err);
        if (rc) {
            free(w);
            return rc;
        }
        w->fp = w->af.fp;
        if (ends_with(path, ".gz")) w->kind = OUT_GZIP;
        else if (ends_with(path, ".zst")) w->kind = OUT_ZSTD;
    }
    if (w->kind != OUT_PLAIN) {
        w->zcap = ZBUF;
        w->zbuf = malloc(ZBUF);
        int ok = w->zbuf != NULL;
        if (ok && w->kind == OUT_GZIP) ok = deflateInit2(&w->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        if (ok && w->kind == OUT_ZSTD) ok = (w->zc = ZSTD_createCCtx()) != NULL;
        if (!ok) {
            if (w->kind == OUT_GZIP && w->zbuf) w->kind = OUT_PLAIN;   /* deflate never started */
            smol_doc_writer_abort(w);
            return smol_fail(err, SMOL_ENOMEM, "%s: cannot start compression", path);
        }
        if (w->kind == OUT_ZSTD) ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, 3);
    }
    *out = w;
    return SMOL_OK;
}

static int put_raw(smol_doc_writer *w, const void *p, size_t n, smol_error *err) {
    if (n && fwrite(p, 1, n, w->fp) != n)
        return smol_fail(err, SMOL_EIO, "%s: write failed: %s", w->af.path, strerror(errno));
    return SMOL_OK;
}

/* Feeds n bytes (mode: 0 data, 1 finish) through the compressor to the file. */
static int put(smol_doc_writer *w, const void *p, size_t n, int finish, smol_error *err) {
    if (w->kind == OUT_PLAIN) return put_raw(w, p, n, err);
    if (w->kind == OUT_GZIP) {
        w->z.next_in = (Bytef *)p;
        w->z.avail_in = (uInt)n;
        for (;;) {
            w->z.next_out = w->zbuf;
            w->z.avail_out = (uInt)w->zcap;
            int zr = deflate(&w->z, finish ? Z_FINISH : Z_NO_FLUSH);
            if (zr == Z_STREAM_ERROR) return smol_fail(err, SMOL_EIO, "%s: gzip compression failed", w->af.path);
            int rc = put_raw(w, w->zbuf, w->zcap - w->z.avail_out, err);
            if (rc) return rc;
            if (finish ? zr == Z_STREAM_END : (w->z.avail_in == 0 && w->z.avail_out != 0)) return SMOL_OK;
        }
    }
    ZSTD_inBuffer ib = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer ob = {w->zbuf, w->zcap, 0};
        size_t left = ZSTD_compressStream2(w->zc, &ob, &ib, finish ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left))
            return smol_fail(err, SMOL_EIO, "%s: zstd compression failed: %s", w->af.path, ZSTD_getErrorName(left));
        int rc = put_raw(w, w->zbuf, ob.pos, err);
        if (rc) return rc;
        if (finish ? left == 0 : ib.pos == ib.size) return SMOL_OK;
    }
}

int smol_doc_write_line(smol_doc_writer *w, const char *line, size_t len, smol_error *err) {
    int rc = put(w, line, len, 0, err);
    if (!rc) rc = put(w, "\n", 1, 0, err);
    if (!rc) w->bytes += len + 1;
    return rc;
}

/* 1 if doc is written from its record's bytes, 0 if from its tree. */
static int from_rec(const smol_doc *doc) {
    return doc->rec && !(doc->rec_flags & (SMOL_DOC_LAX | SMOL_DOC_TREE_CHANGED));
}

/* A part of a record's bytes replaced when it is written: the text value or the metadata. */
typedef struct splice {
    size_t at, end;          /* the bytes replaced in rec (at == end: an insertion) */
    int is_text;             /* 1: the escaped text; 0: pre then the printed metadata */
    const char *pre;
} splice;

/* doc's line from its record's bytes (from_rec): malloc'd, NUL-terminated, length in *len. */
static char *rec_to_json(const smol_doc *doc, size_t *len) {
    splice sp[2];
    int n = 0;
    char *meta = NULL;
    size_t meta_len = 0, cap = doc->rec_len + 1;
    if (doc->rec_flags & SMOL_DOC_TEXT_SET) {
        sp[n++] = (splice){doc->text_at, doc->text_end, 1, ""};
        cap += SMOL_JSON_ESCAPED_MAX(doc->text_len);
    }
    if (doc->meta) {
        if (!(meta = cJSON_PrintUnformatted(doc->meta))) return NULL;
        meta_len = strlen(meta);
        cap += meta_len + 16;
        size_t k = 1;
        while (k + 1 < doc->rec_len && (unsigned char)doc->rec[k] <= 0x20) k++;
        if (doc->meta_end) sp[n++] = (splice){doc->meta_at, doc->meta_end, 0, ""};
        else sp[n++] = (splice){doc->rec_len - 1, doc->rec_len - 1, 0, k + 1 < doc->rec_len ? ",\"metadata\":" : "\"metadata\":"};
        if (n == 2 && sp[1].at < sp[0].at) {
            splice t = sp[0];
            sp[0] = sp[1];
            sp[1] = t;
        }
    }
    char *out = malloc(cap);
    if (!out) {
        free(meta);
        return NULL;
    }
    size_t o = 0, from = 0;
    for (int i = 0; i < n; i++) {
        memcpy(out + o, doc->rec + from, sp[i].at - from);
        o += sp[i].at - from;
        if (sp[i].is_text) o += smol_json_escape(doc->text, doc->text_len, out + o);
        else {
            memcpy(out + o, sp[i].pre, strlen(sp[i].pre));
            o += strlen(sp[i].pre);
            memcpy(out + o, meta, meta_len);
            o += meta_len;
        }
        from = sp[i].end;
    }
    memcpy(out + o, doc->rec + from, doc->rec_len - from);
    o += doc->rec_len - from;
    out[o] = 0;
    free(meta);
    if (len) *len = o;
    return out;
}

char *smol_doc_to_json(const smol_doc *doc, size_t *len) {
    if (from_rec(doc)) return rec_to_json(doc, len);
    cJSON *j = doc->rec ? doc_tree((smol_doc *)doc) : doc->json;
    if (doc->rec && !j) return NULL;
    cJSON *t = j ? cJSON_GetObjectItemCaseSensitive(j, doc->text_field[0] ? doc->text_field : "text") : NULL;
    char *out;
    if (!j) {
        cJSON *tmp = cJSON_CreateObject();
        if (!tmp) return NULL;
        cJSON_AddStringToObject(tmp, "id", doc->id ? doc->id : "");
        cJSON_AddStringToObject(tmp, "text", doc->text ? doc->text : "");
        out = cJSON_PrintUnformatted(tmp);
        cJSON_Delete(tmp);
    } else if (t && cJSON_IsString(t)) {
        /* print with the document's current text in place of the stored one */
        char *saved = t->valuestring;
        t->valuestring = doc->text ? doc->text : saved;
        out = cJSON_PrintUnformatted(j);
        t->valuestring = saved;
    } else {
        out = cJSON_PrintUnformatted(j);
    }
    if (out && len) *len = strlen(out);
    return out;
}

/* Writes doc's line from its record's bytes (from_rec) without building it first. */
static int write_rec(smol_doc_writer *w, const smol_doc *doc, smol_error *err) {
    if (doc->meta) {
        size_t len;
        char *s = rec_to_json(doc, &len);
        int rc = s ? smol_doc_write_line(w, s, len, err)
                   : smol_fail(err, SMOL_ENOMEM, "%s: out of memory writing document %s", w->af.path, doc->id ? doc->id : "?");
        free(s);
        return rc;
    }
    if (!(doc->rec_flags & SMOL_DOC_TEXT_SET)) return smol_doc_write_line(w, doc->rec, doc->rec_len, err);
    size_t need = SMOL_JSON_ESCAPED_MAX(doc->text_len), tail = doc->rec_len - doc->text_end;
    if (need > w->line_cap) {
        char *b = realloc(w->line, need);
        if (!b) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory writing document %s", w->af.path, doc->id ? doc->id : "?");
        w->line = b;
        w->line_cap = need;
    }
    size_t n = smol_json_escape(doc->text, doc->text_len, w->line);
    int rc = put(w, doc->rec, doc->text_at, 0, err);
    if (!rc) rc = put(w, w->line, n, 0, err);
    if (!rc) rc = put(w, doc->rec + doc->text_end, tail, 0, err);
    if (!rc) rc = put(w, "\n", 1, 0, err);
    if (!rc) w->bytes += doc->text_at + n + tail + 1;
    return rc;
}

int smol_doc_write(smol_doc_writer *w, const smol_doc *doc, smol_error *err) {
    if (from_rec(doc)) return write_rec(w, doc, err);
    size_t len;
    char *s = smol_doc_to_json(doc, &len);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory serialising document %s", w->af.path,
                             doc->id ? doc->id : "?");
    int rc = smol_doc_write_line(w, s, len, err);
    free(s);
    return rc;
}

uint64_t smol_doc_writer_bytes(const smol_doc_writer *w) { return w->bytes; }

static void writer_free(smol_doc_writer *w) {
    if (w->kind == OUT_GZIP) deflateEnd(&w->z);
    ZSTD_freeCCtx(w->zc);
    free(w->zbuf);
    free(w->line);
    free(w);
}

int smol_doc_writer_close(smol_doc_writer *w, smol_error *err) {
    int rc = w->kind == OUT_PLAIN ? SMOL_OK : put(w, NULL, 0, 1, err);
    if (w->to_stdout) {
        if (!rc && fflush(stdout) != 0) rc = smol_fail(err, SMOL_EIO, "stdout: write failed: %s", strerror(errno));
    } else if (!rc) {
        rc = smol_atomic_commit(&w->af, err);
        if (rc) smol_atomic_abort(&w->af);
    } else {
        smol_atomic_abort(&w->af);
    }
    writer_free(w);
    return rc;
}

void smol_doc_writer_abort(smol_doc_writer *w) {
    if (!w) return;
    if (!w->to_stdout) smol_atomic_abort(&w->af);
    writer_free(w);
}
