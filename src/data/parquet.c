/* parquet.c: a Parquet reader for flat schemas, written from the format specification
 * (parquet.thrift, Encodings.md). The footer's FileMetaData gives the schema and each row
 * group's column chunks; rows are produced one at a time by a cursor per column that walks its
 * chunk's pages (dictionary, data v1, data v2), decompresses each page once and decodes one
 * definition level and one value per row, so memory stays bounded by a page whatever the counts
 * in the headers say. Each row is written as a JSON object. */
#include "data/parquet.h"
#include "base/error.h"
#include "base/file.h"
#include "data/snappy.h"
#include "data/thrift.h"
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FLBA };
enum { PQ_UNCOMPRESSED, PQ_SNAPPY, PQ_GZIP, PQ_LZO, PQ_BROTLI, PQ_LZ4, PQ_ZSTD, PQ_LZ4_RAW };
enum { PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
       PQ_ENC_DELTA_BINARY_PACKED = 5, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6, PQ_ENC_DELTA_BYTE_ARRAY = 7,
       PQ_ENC_RLE_DICTIONARY = 8 };
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };

#define PQ_MAX_PAGE ((size_t)1 << 30)   /* largest uncompressed page accepted */
#define PQ_MAX_SCHEMA_DEPTH 64

static const char *const k_encoding_names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                                              "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                              "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
static const char *const k_codec_names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};

typedef struct {            /* one decoded value */
    int64_t i;              /* BOOLEAN, INT32, INT64 */
    double d;               /* FLOAT, DOUBLE */
    const uint8_t *s;       /* BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY */
    uint32_t n;
} pq_value;

typedef struct {            /* a top-level leaf column that is read */
    char *name;
    int type, type_length;
    int optional;           /* 1: max definition level 1; 0: required */
    int leaf;               /* index among all leaves = index of its chunk in a row group */
} pq_column;

typedef struct {            /* a column chunk's location from ColumnMetaData */
    int type, codec;
    int64_t num_values, start, size;
    int has_meta;
} pq_chunk;

typedef struct {
    int64_t num_rows;
    pq_chunk *chunks;       /* one per leaf */
} pq_group;

typedef struct {            /* RLE / bit-packed hybrid decoder */
    const uint8_t *p, *end; /* runs not yet started */
    int width;
    uint32_t left;          /* values left in the current run */
    int literal;            /* current run is bit-packed */
    uint32_t value;         /* value of the current RLE run */
    const uint8_t *bits;    /* bit-packed run data */
    size_t bits_len, bitpos;
} pq_rle;

typedef struct {            /* DELTA_BINARY_PACKED decoder */
    const uint8_t *p, *end; /* blocks not yet started */
    uint64_t per_mini, n_mini, total, emitted;
    uint64_t last, min_delta;
    const uint8_t *widths;  /* bit widths of the current block's miniblocks */
    uint64_t mini, in_mini; /* current miniblock and values read from it */
    const uint8_t *bits;    /* current miniblock's data */
    size_t bitpos;
    int width, in_block;
} pq_dbp;

typedef struct {            /* a column's reading position in the current row group */
    const pq_column *col;
    const pq_chunk *chunk;
    const uint8_t *pos, *end;     /* pages not yet read */
    int64_t values_left;          /* values of the chunk in pages not yet read */
    uint8_t *page_buf, *dict_buf; /* decompressed data page / dictionary page */
    size_t page_cap, dict_cap;
    pq_value *dict;
    uint32_t n_dict;
    int64_t page_left;            /* values left in the current page */
    int has_def;
    pq_rle def;
    int dict_encoded, rle_bool;
    pq_rle idx;
    const uint8_t *vp, *vend;     /* PLAIN values; DELTA_*BYTE_ARRAY: the bytes */
    size_t bit;                   /* PLAIN booleans: next bit */
    int delta;                    /* 0, or the DELTA_* encoding of the current page */
    pq_dbp dlen, dprefix;         /* lengths (DELTA_BINARY_PACKED values) and prefix lengths */
    uint8_t *val[2];              /* DELTA_BYTE_ARRAY: the previous value and the one being built */
    size_t val_len, val_cap[2];
    int cur_val;
} pq_cursor;

struct smol_parquet {
    char *name;
    smol_map map;
    const uint8_t *data;
    size_t size;
    int64_t num_rows;
    pq_column *cols;
    int n_cols, n_leaves;
    char *skipped;
    pq_group *groups;
    int n_groups;
    int group;                    /* current row group (n_groups at the end) */
    int64_t row_in_group;
    pq_cursor *cur;               /* n_cols cursors for the current group */
    int started, failed;
    char *json;
    size_t json_len, json_cap;
};

/* ---- errors ---- */

static int col_fail(smol_parquet *p, const pq_cursor *c, smol_error *err, int code, const char *fmt, ...)
    SMOL_PRINTF(5, 6);
static int col_fail(smol_parquet *p, const pq_cursor *c, smol_error *err, int code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->failed = code;
    return smol_fail(err, code, "%s: row group %d, column '%s': %s", p->name, p->group, c->col->name, msg);
}

/* ---- footer ---- */

typedef struct {
    const uint8_t *name;
    size_t name_len;
    int type, type_length, repetition, num_children;
} pq_schema_el;

static void read_schema_el(smol_thrift *t, pq_schema_el *e) {
    int last = 0, id, ft;
    memset(e, 0, sizeof *e);
    e->type = -1;
    while (smol_thrift_field(t, &last, &id, &ft) == 1) {
        if (id == 1) e->type = (int)smol_thrift_int_in(t, ft, 0, 7);
        else if (id == 2) e->type_length = (int)smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else if (id == 3) e->repetition = (int)smol_thrift_int_in(t, ft, 0, 2);
        else if (id == 4 && ft == SMOL_TH_BINARY) smol_thrift_binary(t, &e->name, &e->name_len);
        else if (id == 5) e->num_children = (int)smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else smol_thrift_skip(t, ft);
    }
}

static void read_col_meta(smol_thrift *t, pq_chunk *c) {
    int last = 0, id, ft;
    int64_t dict_off = 0, data_off = -1;
    c->type = -1;
    while (smol_thrift_field(t, &last, &id, &ft) == 1) {
        if (id == 1) c->type = (int)smol_thrift_int_in(t, ft, 0, 7);
        else if (id == 4) c->codec = (int)smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else if (id == 5) c->num_values = smol_thrift_int_in(t, ft, 0, INT64_MAX);
        else if (id == 7) c->size = smol_thrift_int_in(t, ft, 0, INT64_MAX);
        else if (id == 9) data_off = smol_thrift_int_in(t, ft, 0, INT64_MAX);
        else if (id == 11) dict_off = smol_thrift_int_in(t, ft, 0, INT64_MAX);
        else smol_thrift_skip(t, ft);
    }
    /* some writers store 0 for "no dictionary page" */
    c->start = dict_off > 0 && (data_off < 0 || dict_off < data_off) ? dict_off : data_off;
    c->has_meta = data_off >= 0;
}

static int read_chunk(smol_thrift *t, pq_chunk *c) {
    int last = 0, id, ft, external = 0;
    while (smol_thrift_field(t, &last, &id, &ft) == 1) {
        if (id == 1) {
            external = 1;
            smol_thrift_skip(t, ft);
        } else if (id == 3 && ft == SMOL_TH_STRUCT) {
            read_col_meta(t, c);
        } else {
            smol_thrift_skip(t, ft);
        }
    }
    return external;
}

static int read_groups(smol_parquet *p, smol_thrift *t, smol_error *err) {
    int et;
    int64_t n;
    smol_thrift_list(t, &et, &n);
    if (t->bad || (n > 0 && et != SMOL_TH_STRUCT))
        return smol_fail(err, SMOL_EFORMAT, "%s: bad row group list in the footer", p->name);
    p->groups = calloc((size_t)n + 1, sizeof *p->groups);
    if (!p->groups) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory for %lld row groups", p->name, (long long)n);
    for (int64_t g = 0; g < n && !t->bad; g++) {
        pq_group *rg = &p->groups[g];
        p->n_groups = (int)g + 1;
        int last = 0, id, ft, seen = 0;
        while (smol_thrift_field(t, &last, &id, &ft) == 1) {
            if (id == 3) {
                rg->num_rows = smol_thrift_int_in(t, ft, 0, INT64_MAX);
            } else if (id == 1 && ft == SMOL_TH_LIST && !rg->chunks) {
                int cet;
                int64_t nc;
                smol_thrift_list(t, &cet, &nc);
                if (t->bad) break;
                if (nc != p->n_leaves || (nc > 0 && cet != SMOL_TH_STRUCT))
                    return smol_fail(err, SMOL_EFORMAT, "%s: row group %lld has %lld column chunks, the schema %d columns",
                                     p->name, (long long)g, (long long)nc, p->n_leaves);
                rg->chunks = calloc((size_t)nc + 1, sizeof *rg->chunks);
                if (!rg->chunks) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", p->name);
                for (int64_t i = 0; i < nc && !t->bad; i++)
                    if (read_chunk(t, &rg->chunks[i]))
                        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: row group %lld: column chunks in other files are not supported",
                                         p->name, (long long)g);
                seen = 1;
            } else {
                smol_thrift_skip(t, ft);
            }
        }
        if (!t->bad && !seen)
            return smol_fail(err, SMOL_EFORMAT, "%s: row group %lld has no column list", p->name, (long long)g);
    }
    if (t->bad) return smol_fail(err, SMOL_EFORMAT, "%s: corrupt row group metadata (%s)", p->name, t->why);
    return SMOL_OK;
}

static int append_skipped(smol_parquet *p, const pq_schema_el *e) {
    size_t old = p->skipped ? strlen(p->skipped) : 0;
    char *s = realloc(p->skipped, old + e->name_len + 2);
    if (!s) return -1;
    if (old) s[old++] = ',';
    if (e->name_len) memcpy(s + old, e->name, e->name_len);   /* a nameless element has name NULL */
    s[old + e->name_len] = 0;
    p->skipped = s;
    return 0;
}

/* Walks the schema subtree at els[*i] (depth-first), counting leaves and keeping the top-level
 * leaf columns that are not repeated. Returns 0, or -1 for a malformed tree. */
static int walk_schema(smol_parquet *p, const pq_schema_el *els, int n, int *i, int depth) {
    if (*i >= n || depth > PQ_MAX_SCHEMA_DEPTH) return -1;
    const pq_schema_el *e = &els[(*i)++];
    if (e->num_children > 0) {
        if (depth == 1 && append_skipped(p, e)) return -1;
        for (int k = 0; k < e->num_children; k++)
            if (walk_schema(p, els, n, i, depth + 1)) return -1;
        return 0;
    }
    if (e->type < 0) return -1;
    int leaf = p->n_leaves++;
    if (depth != 1) return 0;
    if (e->repetition == 2 || e->type == PQ_INT96 || (e->type == PQ_FLBA && e->type_length <= 0))
        return append_skipped(p, e);
    pq_column *c = &p->cols[p->n_cols];
    c->name = malloc(e->name_len + 1);
    if (!c->name) return -1;
    if (e->name_len) memcpy(c->name, e->name, e->name_len);
    c->name[e->name_len] = 0;
    c->type = e->type;
    c->type_length = e->type_length;
    c->optional = e->repetition == 1;
    c->leaf = leaf;
    p->n_cols++;
    return 0;
}

static int read_schema(smol_parquet *p, smol_thrift *t, smol_error *err) {
    int et;
    int64_t n;
    smol_thrift_list(t, &et, &n);
    if (t->bad || n < 1 || et != SMOL_TH_STRUCT || n > INT_MAX / 2)
        return smol_fail(err, SMOL_EFORMAT, "%s: bad schema list in the footer", p->name);
    pq_schema_el *els = calloc((size_t)n, sizeof *els);
    p->cols = calloc((size_t)n, sizeof *p->cols);
    if (!els || !p->cols) {
        free(els);
        return smol_fail(err, SMOL_ENOMEM, "%s: out of memory for the schema", p->name);
    }
    for (int64_t k = 0; k < n && !t->bad; k++) read_schema_el(t, &els[k]);
    int rc = SMOL_OK;
    if (t->bad) {
        rc = smol_fail(err, SMOL_EFORMAT, "%s: corrupt schema in the footer (%s)", p->name, t->why);
    } else {
        int i = 1;
        for (int k = 0; k < els[0].num_children && rc == SMOL_OK; k++)
            if (walk_schema(p, els, (int)n, &i, 1))
                rc = smol_fail(err, SMOL_EFORMAT, "%s: malformed schema tree at element %d", p->name, i);
    }
    free(els);
    return rc;
}

static int read_footer(smol_parquet *p, smol_error *err) {
    if (p->size < 12 || memcmp(p->data, "PAR1", 4) != 0)
        return smol_fail(err, SMOL_EFORMAT, "%s: not a Parquet file (no PAR1 magic at the start)", p->name);
    const uint8_t *tail = p->data + p->size - 8;
    if (memcmp(tail + 4, "PARE", 4) == 0)
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: encrypted Parquet files are not supported", p->name);
    if (memcmp(tail + 4, "PAR1", 4) != 0)
        return smol_fail(err, SMOL_EFORMAT, "%s: no PAR1 magic at the end (truncated file?)", p->name);
    uint32_t flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if (flen > p->size - 12)
        return smol_fail(err, SMOL_EFORMAT, "%s: footer length %u is larger than the file", p->name, flen);
    smol_thrift t;
    smol_thrift_init(&t, tail - flen, flen);
    int last = 0, id, ft, rc, have_schema = 0, have_groups = 0;
    while ((rc = smol_thrift_field(&t, &last, &id, &ft)) == 1) {
        if (id == 2 && ft == SMOL_TH_LIST && !have_schema) {
            if ((rc = read_schema(p, &t, err))) return rc;
            have_schema = 1;
        } else if (id == 3) {
            p->num_rows = smol_thrift_int_in(&t, ft, 0, INT64_MAX);
        } else if (id == 4 && ft == SMOL_TH_LIST && have_schema && !have_groups) {
            if ((rc = read_groups(p, &t, err))) return rc;
            have_groups = 1;
        } else {
            smol_thrift_skip(&t, ft);
        }
    }
    if (rc < 0 || t.bad) return smol_fail(err, SMOL_EFORMAT, "%s: corrupt footer (%s)", p->name, t.why);
    if (!have_schema || !have_groups)
        return smol_fail(err, SMOL_EFORMAT, "%s: footer without %s", p->name, have_schema ? "row groups" : "schema");
    return SMOL_OK;
}

static int open_common(smol_parquet *p, smol_parquet **out, smol_error *err) {
    int rc = read_footer(p, err);
    if (rc == SMOL_OK) {
        p->cur = calloc((size_t)p->n_cols + 1, sizeof *p->cur);
        if (!p->cur) rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory", p->name);
    }
    if (rc) {
        smol_parquet_close(p);
        return rc;
    }
    *out = p;
    return SMOL_OK;
}

int smol_parquet_open_memory(const uint8_t *data, size_t size, const char *name, smol_parquet **out, smol_error *err) {
    *out = NULL;
    smol_parquet *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(name ? name : "(memory)"))) {
        free(p);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    p->data = data;
    p->size = size;
    return open_common(p, out, err);
}

int smol_parquet_open(const char *path, smol_parquet **out, smol_error *err) {
    *out = NULL;
    smol_parquet *p = calloc(1, sizeof *p);
    if (!p || !(p->name = strdup(path))) {
        free(p);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    int rc = smol_map_open(&p->map, path, err);
    if (rc) {
        smol_parquet_close(p);
        return rc;
    }
    p->data = p->map.data;
    p->size = p->map.size;
    return open_common(p, out, err);
}

int64_t smol_parquet_num_rows(const smol_parquet *p) { return p->num_rows; }
int smol_parquet_num_columns(const smol_parquet *p) { return p->n_cols; }
const char *smol_parquet_column_name(const smol_parquet *p, int i) {
    return i >= 0 && i < p->n_cols ? p->cols[i].name : NULL;
}
const char *smol_parquet_skipped(const smol_parquet *p) { return p->skipped ? p->skipped : ""; }

static void cursor_free(pq_cursor *c) {
    free(c->val[0]);
    free(c->val[1]);
    free(c->page_buf);
    free(c->dict_buf);
    free(c->dict);
    memset(c, 0, sizeof *c);
}

void smol_parquet_close(smol_parquet *p) {
    if (!p) return;
    for (int i = 0; p->cur && i < p->n_cols; i++) cursor_free(&p->cur[i]);
    free(p->cur);
    for (int i = 0; i < p->n_cols; i++) free(p->cols[i].name);
    free(p->cols);
    for (int g = 0; g < p->n_groups; g++) free(p->groups[g].chunks);
    free(p->groups);
    free(p->skipped);
    free(p->json);
    smol_map_close(&p->map);
    free(p->name);
    free(p);
}

/* ---- RLE / bit-packed hybrid ---- */

static void rle_init(pq_rle *r, const uint8_t *p, const uint8_t *end, int width) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = end;
    r->width = width;
}

/* The next value: 0, or -1 when the runs end or are malformed. */
static int rle_next(pq_rle *r, uint32_t *out) {
    while (r->left == 0) {
        uint64_t h = 0;
        int shift = 0;
        for (;;) {
            if (r->p >= r->end || shift > 28) return -1;
            uint8_t b = *r->p++;
            h |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80)) break;
        }
        if (h & 1) {
            uint64_t groups = h >> 1;
            size_t avail = (size_t)(r->end - r->p), need = (size_t)(groups * (uint64_t)r->width);
            r->literal = 1;
            r->bits = r->p;
            r->bits_len = need < avail ? need : avail;
            r->bitpos = 0;
            r->p += r->bits_len;
            r->left = (uint32_t)(groups * 8);
        } else {
            size_t nb = ((size_t)r->width + 7) / 8;
            if ((size_t)(r->end - r->p) < nb) return -1;
            uint32_t v = 0;
            for (size_t k = 0; k < nb; k++) v |= (uint32_t)r->p[k] << (8 * k);
            r->p += nb;
            r->literal = 0;
            r->value = v;
            r->left = (uint32_t)(h >> 1);
        }
    }
    r->left--;
    if (!r->literal) {
        *out = r->value;
        return 0;
    }
    if (r->width == 0) {
        *out = 0;
        return 0;
    }
    size_t byte = r->bitpos >> 3, last = (r->bitpos + (size_t)r->width - 1) >> 3;
    if (last >= r->bits_len) return -1;
    uint64_t w = 0;
    for (size_t k = byte; k <= last; k++) w |= (uint64_t)r->bits[k] << (8 * (k - byte));
    *out = (uint32_t)((w >> (r->bitpos & 7)) & (((uint64_t)1 << r->width) - 1));
    r->bitpos += (size_t)r->width;
    return 0;
}

/* ---- pages ---- */

static int grow(uint8_t **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    uint8_t *b = realloc(*buf, need ? need : 1);
    if (!b) return -1;
    *buf = b;
    *cap = need;
    return 0;
}

/* Decompresses n bytes at src into *buf (usize bytes); uncompressed data is used in place. */
static int decompress(smol_parquet *p, pq_cursor *c, const uint8_t *src, size_t n, size_t usize, uint8_t **buf,
                      size_t *cap, const uint8_t **out, smol_error *err) {
    int codec = c->chunk->codec;
    if (codec == PQ_UNCOMPRESSED) {
        *out = src;
        return SMOL_OK;
    }
    if (usize > PQ_MAX_PAGE) return col_fail(p, c, err, SMOL_ERANGE, "page of %zu bytes is larger than 1 GiB", usize);
    if (grow(buf, cap, usize)) return col_fail(p, c, err, SMOL_ENOMEM, "out of memory for a %zu-byte page", usize);
    *out = *buf;
    if (codec == PQ_SNAPPY) {
        smol_error e;
        if (smol_snappy_decompress(src, n, *buf, usize, &e))
            return col_fail(p, c, err, SMOL_EFORMAT, "corrupt SNAPPY page (%s)", e.msg);
    } else if (codec == PQ_GZIP) {
        z_stream z;
        memset(&z, 0, sizeof z);
        if (inflateInit2(&z, 15 + 32) != Z_OK) return col_fail(p, c, err, SMOL_ENOMEM, "zlib init failed");
        z.next_in = (Bytef *)src;
        z.avail_in = (uInt)n;
        z.next_out = *buf;
        z.avail_out = (uInt)usize;
        int zr = inflate(&z, Z_FINISH);
        size_t got = usize - z.avail_out;
        inflateEnd(&z);
        if (zr != Z_STREAM_END || got != usize)
            return col_fail(p, c, err, SMOL_EFORMAT, "corrupt GZIP page (%zu of %zu bytes)", got, usize);
    } else if (codec == PQ_ZSTD) {
        size_t got = ZSTD_decompress(*buf, usize, src, n);
        if (ZSTD_isError(got) || got != usize)
            return col_fail(p, c, err, SMOL_EFORMAT, "corrupt ZSTD page (%s)",
                            ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size differs from the header");
    } else {
        return col_fail(p, c, err, SMOL_EUNSUPPORTED, "compression %s is not supported",
                        codec >= 0 && codec <= PQ_LZ4_RAW ? k_codec_names[codec] : "(unknown)");
    }
    return SMOL_OK;
}

/* Decodes one PLAIN value at c->vp. 0, or -1 if the page ends. */
static int plain_next(pq_cursor *c, pq_value *v) {
    size_t left = (size_t)(c->vend - c->vp);
    const uint8_t *q = c->vp;
    switch (c->col->type) {
    case PQ_BOOLEAN:
        if ((c->bit >> 3) >= left) return -1;
        v->i = (q[c->bit >> 3] >> (c->bit & 7)) & 1;
        c->bit++;
        return 0;
    case PQ_INT32: case PQ_FLOAT: {
        if (left < 4) return -1;
        uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        float f;
        memcpy(&f, &u, 4);
        v->i = (int32_t)u;
        v->d = f;
        c->vp += 4;
        return 0;
    }
    case PQ_INT64: case PQ_DOUBLE: {
        if (left < 8) return -1;
        uint64_t u = 0;
        for (int k = 0; k < 8; k++) u |= (uint64_t)q[k] << (8 * k);
        memcpy(&v->d, &u, 8);
        v->i = (int64_t)u;
        c->vp += 8;
        return 0;
    }
    case PQ_BYTE_ARRAY: {
        if (left < 4) return -1;
        uint32_t n = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        if (n > left - 4) return -1;
        v->s = q + 4;
        v->n = n;
        c->vp += 4 + (size_t)n;
        return 0;
    }
    default: {   /* FIXED_LEN_BYTE_ARRAY */
        size_t n = (size_t)c->col->type_length;
        if (left < n) return -1;
        v->s = q;
        v->n = (uint32_t)n;
        c->vp += n;
        return 0;
    }
    }
}

static int load_dictionary(smol_parquet *p, pq_cursor *c, const uint8_t *data, size_t n, int64_t num, int enc,
                           smol_error *err) {
    if (enc != PQ_ENC_PLAIN && enc != PQ_ENC_PLAIN_DICTIONARY)
        return col_fail(p, c, err, SMOL_EUNSUPPORTED, "dictionary page encoding %d is not supported", enc);
    if (c->col->type == PQ_BOOLEAN) return col_fail(p, c, err, SMOL_EFORMAT, "dictionary page for a BOOLEAN column");
    size_t min = c->col->type == PQ_BYTE_ARRAY || c->col->type == PQ_INT32 || c->col->type == PQ_FLOAT ? 4
               : c->col->type == PQ_FLBA ? (size_t)c->col->type_length : 8;
    if (num < 0 || (uint64_t)num > n / (min ? min : 1) || num > UINT32_MAX - 1)
        return col_fail(p, c, err, SMOL_EFORMAT, "dictionary page declares %lld values in %zu bytes", (long long)num, n);
    free(c->dict);
    c->dict = malloc(((size_t)num + 1) * sizeof *c->dict);
    if (!c->dict) return col_fail(p, c, err, SMOL_ENOMEM, "out of memory for %lld dictionary values", (long long)num);
    c->vp = data;
    c->vend = data + n;
    for (int64_t k = 0; k < num; k++)
        if (plain_next(c, &c->dict[k]))
            return col_fail(p, c, err, SMOL_EFORMAT, "dictionary page ends at value %lld of %lld", (long long)k, (long long)num);
    c->n_dict = (uint32_t)num;
    return SMOL_OK;
}

/* ---- DELTA encodings ---- */

static int uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int zigzag(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t u;
    if (uvarint(p, end, &u)) return -1;
    *out = (u >> 1) ^ (0 - (u & 1));
    return 0;
}

/* Reads the header of a DELTA_BINARY_PACKED stream at [p, end). */
static int dbp_init(pq_dbp *d, const uint8_t *p, const uint8_t *end) {
    uint64_t block, first;
    memset(d, 0, sizeof *d);
    if (uvarint(&p, end, &block) || uvarint(&p, end, &d->n_mini) || uvarint(&p, end, &d->total) || zigzag(&p, end, &first))
        return -1;
    if (block == 0 || block % 128 || block > ((uint64_t)1 << 20) || d->n_mini == 0 || block % d->n_mini ||
        (block / d->n_mini) % 32)
        return -1;
    d->per_mini = block / d->n_mini;
    d->last = first;
    d->p = p;
    d->end = end;
    return 0;
}

static int dbp_start_mini(pq_dbp *d) {
    d->width = d->widths[d->mini];
    if (d->width > 64) return -1;
    size_t bytes = (size_t)(d->per_mini * (uint64_t)d->width / 8), avail = (size_t)(d->end - d->p);
    d->bits = d->p;
    d->bitpos = 0;
    d->in_mini = 0;
    d->p += bytes < avail ? bytes : avail;   /* the last miniblocks may be cut short */
    return 0;
}

static int dbp_next(pq_dbp *d, uint64_t *out) {
    if (d->emitted >= d->total) return -1;
    if (d->emitted++ == 0) {
        *out = d->last;
        return 0;
    }
    if (!d->in_block || (d->in_mini == d->per_mini && d->mini + 1 == d->n_mini)) {
        if (zigzag(&d->p, d->end, &d->min_delta) || (uint64_t)(d->end - d->p) < d->n_mini) return -1;
        d->widths = d->p;
        d->p += d->n_mini;
        d->mini = 0;
        d->in_block = 1;
        if (dbp_start_mini(d)) return -1;
    } else if (d->in_mini == d->per_mini) {
        d->mini++;
        if (dbp_start_mini(d)) return -1;
    }
    uint64_t v = 0;
    if (d->width) {
        size_t byte = d->bitpos >> 3, last = (d->bitpos + (size_t)d->width - 1) >> 3;
        if (d->bits + last >= d->p) return -1;
        unsigned __int128 w = 0;
        for (size_t k = byte; k <= last; k++) w |= (unsigned __int128)d->bits[k] << (8 * (k - byte));
        v = (uint64_t)(w >> (d->bitpos & 7));
        if (d->width < 64) v &= ((uint64_t)1 << d->width) - 1;
        d->bitpos += (size_t)d->width;
    }
    d->in_mini++;
    d->last += d->min_delta + v;   /* wraps as the format intends */
    *out = d->last;
    return 0;
}

/* The end of a DELTA_BINARY_PACKED stream (where what follows it starts), or NULL. */
static const uint8_t *dbp_end(const pq_dbp *start) {
    pq_dbp d = *start;
    uint64_t left = d.total > 0 ? d.total - 1 : 0;
    while (left > 0) {
        uint64_t md;
        if (zigzag(&d.p, d.end, &md) || (uint64_t)(d.end - d.p) < d.n_mini) return NULL;
        const uint8_t *w = d.p;
        d.p += d.n_mini;
        for (uint64_t m = 0; m < d.n_mini && left > 0; m++) {
            if (w[m] > 64) return NULL;
            size_t bytes = (size_t)(d.per_mini * w[m] / 8);
            if (bytes > (size_t)(d.end - d.p)) return NULL;
            d.p += bytes;
            left = left > d.per_mini ? left - d.per_mini : 0;
        }
    }
    return d.p;
}

/* Sets up DELTA_LENGTH_BYTE_ARRAY at [v, vend): lengths, then the bytes (c->vp). */
static int start_dlba(pq_cursor *c, const uint8_t *v, const uint8_t *vend) {
    if (dbp_init(&c->dlen, v, vend)) return -1;
    const uint8_t *bytes = dbp_end(&c->dlen);
    if (!bytes) return -1;
    c->vp = bytes;
    c->vend = vend;
    return 0;
}

static int dlba_next(pq_cursor *c, const uint8_t **s, size_t *n) {
    uint64_t len;
    if (dbp_next(&c->dlen, &len) || len > (uint64_t)(c->vend - c->vp)) return -1;
    *s = c->vp;
    *n = (size_t)len;
    c->vp += len;
    return 0;
}

/* The next value of a DELTA_* page. */
static int delta_next(pq_cursor *c, pq_value *v) {
    if (c->delta == PQ_ENC_DELTA_BINARY_PACKED) {
        uint64_t u;
        if (dbp_next(&c->dlen, &u)) return -1;
        v->i = c->col->type == PQ_INT32 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
        return 0;
    }
    const uint8_t *suf;
    size_t n;
    if (c->delta == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY) {
        if (dlba_next(c, &suf, &n) || n > UINT32_MAX) return -1;
        v->s = suf;
        v->n = (uint32_t)n;
        return 0;
    }
    uint64_t prefix;
    if (dbp_next(&c->dprefix, &prefix) || prefix > c->val_len || dlba_next(c, &suf, &n)) return -1;
    int nb = c->cur_val ^ 1;
    size_t need = (size_t)prefix + n;
    if (need > UINT32_MAX) return -1;
    if (grow(&c->val[nb], &c->val_cap[nb], need + 1)) return -1;
    if (prefix) memcpy(c->val[nb], c->val[c->cur_val], (size_t)prefix);
    if (n) memcpy(c->val[nb] + prefix, suf, n);
    c->cur_val = nb;
    c->val_len = need;
    v->s = c->val[nb];
    v->n = (uint32_t)need;
    return 0;
}

/* Sets up value decoding for a data page whose values section is [v, vend). */
static int start_values(smol_parquet *p, pq_cursor *c, const uint8_t *v, const uint8_t *vend, int enc, smol_error *err) {
    c->dict_encoded = c->rle_bool = c->delta = 0;
    c->val_len = 0;
    c->vp = v;
    c->vend = vend;
    c->bit = 0;
    if (enc == PQ_ENC_PLAIN) return SMOL_OK;
    if (enc == PQ_ENC_PLAIN_DICTIONARY || enc == PQ_ENC_RLE_DICTIONARY) {
        if (!c->dict) return col_fail(p, c, err, SMOL_EFORMAT, "dictionary-encoded page without a dictionary page");
        if (v >= vend) {
            rle_init(&c->idx, vend, vend, 0);
        } else {
            if (*v > 32) return col_fail(p, c, err, SMOL_EFORMAT, "dictionary index bit width %d", *v);
            rle_init(&c->idx, v + 1, vend, *v);
        }
        c->dict_encoded = 1;
        return SMOL_OK;
    }
    if (enc == PQ_ENC_RLE && c->col->type == PQ_BOOLEAN) {
        if (vend - v < 4) return col_fail(p, c, err, SMOL_EFORMAT, "truncated RLE boolean values");
        uint32_t n = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
        if (n > (size_t)(vend - v - 4)) return col_fail(p, c, err, SMOL_EFORMAT, "RLE boolean length %u past the page", n);
        rle_init(&c->idx, v + 4, v + 4 + n, 1);
        c->rle_bool = 1;
        return SMOL_OK;
    }
    int ints = c->col->type == PQ_INT32 || c->col->type == PQ_INT64, bytes = c->col->type == PQ_BYTE_ARRAY;
    if ((enc == PQ_ENC_DELTA_BINARY_PACKED && ints) || (enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY && bytes) ||
        (enc == PQ_ENC_DELTA_BYTE_ARRAY && bytes)) {
        int bad = enc == PQ_ENC_DELTA_BINARY_PACKED ? dbp_init(&c->dlen, v, vend)
                : enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY ? start_dlba(c, v, vend)
                : dbp_init(&c->dprefix, v, vend) || !dbp_end(&c->dprefix) || start_dlba(c, dbp_end(&c->dprefix), vend);
        if (bad) return col_fail(p, c, err, SMOL_EFORMAT, "corrupt %s header", k_encoding_names[enc]);
        c->delta = enc;
        return SMOL_OK;
    }
    return col_fail(p, c, err, SMOL_EUNSUPPORTED, "value encoding %s is not supported for this column's type",
                    enc >= 0 && enc <= 9 ? k_encoding_names[enc] : "(unknown)");
}

typedef struct {
    int type;
    int64_t usize, csize;
    int have_dp, have_dict, have_v2;
    int64_t num_values, encoding, def_enc, num_nulls, def_len, rep_len;
    int is_compressed;
} pq_page_header;

static void read_sub_header(smol_thrift *t, pq_page_header *h, int which) {
    int last = 0, id, ft;
    while (smol_thrift_field(t, &last, &id, &ft) == 1) {
        if (id == 1) h->num_values = smol_thrift_int_in(t, ft, INT32_MIN, INT32_MAX);
        else if (which == 5 && id == 2) h->encoding = smol_thrift_int_in(t, ft, INT32_MIN, INT32_MAX);
        else if (which == 5 && id == 3) h->def_enc = smol_thrift_int_in(t, ft, INT32_MIN, INT32_MAX);
        else if (which == 7 && id == 2) h->encoding = smol_thrift_int_in(t, ft, INT32_MIN, INT32_MAX);
        else if (which == 8 && id == 2) h->num_nulls = smol_thrift_int_in(t, ft, INT32_MIN, INT32_MAX);
        else if (which == 8 && id == 4) h->encoding = smol_thrift_int_in(t, ft, INT32_MIN, INT32_MAX);
        else if (which == 8 && id == 5) h->def_len = smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else if (which == 8 && id == 6) h->rep_len = smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else if (which == 8 && id == 7 && (ft == SMOL_TH_TRUE || ft == SMOL_TH_FALSE)) h->is_compressed = ft == SMOL_TH_TRUE;
        else smol_thrift_skip(t, ft);
    }
}

static int read_page_header(smol_thrift *t, pq_page_header *h) {
    int last = 0, id, ft;
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->usize = h->csize = -1;
    h->is_compressed = 1;
    while (smol_thrift_field(t, &last, &id, &ft) == 1) {
        if (id == 1) h->type = (int)smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else if (id == 2) h->usize = smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else if (id == 3) h->csize = smol_thrift_int_in(t, ft, 0, INT32_MAX);
        else if ((id == 5 || id == 7 || id == 8) && ft == SMOL_TH_STRUCT) {
            read_sub_header(t, h, id);
            if (id == 5) h->have_dp = 1;
            if (id == 7) h->have_dict = 1;
            if (id == 8) h->have_v2 = 1;
        } else {
            smol_thrift_skip(t, ft);
        }
    }
    return t->bad || h->type < 0 || h->usize < 0 || h->csize < 0 ? -1 : 0;
}

/* Starts a data page (v1 or v2) whose bytes are [data, data + h->csize). */
static int start_data_page(smol_parquet *p, pq_cursor *c, const pq_page_header *h, const uint8_t *data, smol_error *err) {
    const uint8_t *body, *levels = data, *lend;
    int rc;
    if (h->num_values < 0) return col_fail(p, c, err, SMOL_EFORMAT, "data page with %lld values", (long long)h->num_values);
    if (h->type == PQ_PAGE_DATA) {
        if (!h->have_dp) return col_fail(p, c, err, SMOL_EFORMAT, "data page without its header");
        if ((rc = decompress(p, c, data, (size_t)h->csize, (size_t)h->usize, &c->page_buf, &c->page_cap, &body, err)))
            return rc;
        const uint8_t *end = body + (c->chunk->codec == PQ_UNCOMPRESSED ? (size_t)h->csize : (size_t)h->usize);
        c->has_def = c->col->optional;
        if (c->has_def) {
            if (h->def_enc != PQ_ENC_RLE)
                return col_fail(p, c, err, SMOL_EUNSUPPORTED, "definition level encoding %lld is not supported (RLE is)",
                                (long long)h->def_enc);
            if (end - body < 4) return col_fail(p, c, err, SMOL_EFORMAT, "data page too short for its definition levels");
            uint32_t n = (uint32_t)body[0] | (uint32_t)body[1] << 8 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 24;
            if (n > (size_t)(end - body - 4))
                return col_fail(p, c, err, SMOL_EFORMAT, "definition levels (%u bytes) run past the page", n);
            rle_init(&c->def, body + 4, body + 4 + n, 1);
            body += 4 + (size_t)n;
        }
        rc = start_values(p, c, body, end, (int)h->encoding, err);
    } else {
        if (!h->have_v2) return col_fail(p, c, err, SMOL_EFORMAT, "data page v2 without its header");
        if (h->rep_len != 0) return col_fail(p, c, err, SMOL_EFORMAT, "repetition levels in a flat column");
        if (h->def_len > h->csize || h->def_len > h->usize)
            return col_fail(p, c, err, SMOL_EFORMAT, "definition levels (%lld bytes) run past the page", (long long)h->def_len);
        lend = levels + h->def_len;
        c->has_def = c->col->optional;
        if (c->has_def) rle_init(&c->def, levels, lend, 1);
        size_t cn = (size_t)(h->csize - h->def_len), un = (size_t)(h->usize - h->def_len);
        if (h->is_compressed && c->chunk->codec != PQ_UNCOMPRESSED) {
            if ((rc = decompress(p, c, lend, cn, un, &c->page_buf, &c->page_cap, &body, err))) return rc;
        } else {
            body = lend;
            un = cn;
        }
        rc = start_values(p, c, body, body + un, (int)h->encoding, err);
    }
    if (rc) return rc;
    c->page_left = h->num_values;
    c->values_left -= h->num_values;
    return SMOL_OK;
}

/* Reads page headers until a data page with values starts. */
static int next_page(smol_parquet *p, pq_cursor *c, smol_error *err) {
    for (;;) {
        if (c->values_left <= 0 || c->pos >= c->end)
            return col_fail(p, c, err, SMOL_EFORMAT, "column chunk ends before the row group's %lld rows",
                            (long long)p->groups[p->group].num_rows);
        smol_thrift t;
        smol_thrift_init(&t, c->pos, (size_t)(c->end - c->pos));
        pq_page_header h;
        if (read_page_header(&t, &h))
            return col_fail(p, c, err, SMOL_EFORMAT, "corrupt page header at offset %lld (%s)",
                            (long long)(c->pos - p->data), t.bad ? t.why : "missing fields");
        const uint8_t *data = t.p;
        if (h.csize > c->end - data)
            return col_fail(p, c, err, SMOL_EFORMAT, "page at offset %lld (%lld bytes) runs past the column chunk",
                            (long long)(c->pos - p->data), (long long)h.csize);
        c->pos = data + h.csize;
        if (h.type == PQ_PAGE_DICTIONARY) {
            if (!h.have_dict) return col_fail(p, c, err, SMOL_EFORMAT, "dictionary page without its header");
            const uint8_t *body;
            int rc = decompress(p, c, data, (size_t)h.csize, (size_t)h.usize, &c->dict_buf, &c->dict_cap, &body, err);
            if (rc) return rc;
            size_t n = c->chunk->codec == PQ_UNCOMPRESSED ? (size_t)h.csize : (size_t)h.usize;
            if ((rc = load_dictionary(p, c, body, n, h.num_values, (int)h.encoding, err))) return rc;
        } else if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) {
            int rc = start_data_page(p, c, &h, data, err);
            if (rc) return rc;
            if (c->page_left > 0) return SMOL_OK;
        }   /* index pages and unknown page types are skipped */
    }
}

static int start_group(smol_parquet *p, smol_error *err) {
    pq_group *g = &p->groups[p->group];
    for (int i = 0; i < p->n_cols; i++) {
        pq_cursor *c = &p->cur[i];
        uint8_t *pb = c->page_buf, *db = c->dict_buf;
        size_t pc = c->page_cap, dc = c->dict_cap;
        free(c->dict);
        free(c->val[0]);
        free(c->val[1]);
        memset(c, 0, sizeof *c);
        c->page_buf = pb;
        c->page_cap = pc;
        c->dict_buf = db;
        c->dict_cap = dc;
        c->col = &p->cols[i];
        c->chunk = &g->chunks[c->col->leaf];
        const pq_chunk *ch = c->chunk;
        if (!ch->has_meta) return col_fail(p, c, err, SMOL_EFORMAT, "column chunk without metadata");
        if (ch->type != c->col->type)
            return col_fail(p, c, err, SMOL_EFORMAT, "chunk type %d differs from the schema's %d", ch->type, c->col->type);
        if (ch->start < 4 || ch->start > (int64_t)p->size || ch->size > (int64_t)p->size - ch->start)
            return col_fail(p, c, err, SMOL_EFORMAT, "column chunk at offset %lld (%lld bytes) lies outside the file",
                            (long long)ch->start, (long long)ch->size);
        c->pos = p->data + ch->start;
        c->end = c->pos + ch->size;
        c->values_left = ch->num_values;
    }
    return SMOL_OK;
}

/* The next value of column c: *is_null set for nulls. */
static int cursor_next(smol_parquet *p, pq_cursor *c, pq_value *v, int *is_null, smol_error *err) {
    if (c->page_left <= 0) {
        int rc = next_page(p, c, err);
        if (rc) return rc;
    }
    c->page_left--;
    *is_null = 0;
    uint32_t x;
    if (c->has_def) {
        if (rle_next(&c->def, &x) || x > 1)
            return col_fail(p, c, err, SMOL_EFORMAT, "corrupt definition levels");
        if (x == 0) {
            *is_null = 1;
            return SMOL_OK;
        }
    }
    if (c->dict_encoded) {
        if (rle_next(&c->idx, &x)) return col_fail(p, c, err, SMOL_EFORMAT, "corrupt dictionary indices");
        if (x >= c->n_dict)
            return col_fail(p, c, err, SMOL_EFORMAT, "dictionary index %u past the %u entries", x, c->n_dict);
        *v = c->dict[x];
    } else if (c->delta) {
        if (delta_next(c, v)) return col_fail(p, c, err, SMOL_EFORMAT, "corrupt %s values", k_encoding_names[c->delta]);
    } else if (c->rle_bool) {
        if (rle_next(&c->idx, &x)) return col_fail(p, c, err, SMOL_EFORMAT, "corrupt RLE booleans");
        v->i = x;
    } else if (plain_next(c, v)) {
        return col_fail(p, c, err, SMOL_EFORMAT, "page ends before its %lld values", (long long)c->page_left + 1);
    }
    return SMOL_OK;
}

/* ---- JSON ---- */

static int json_reserve(smol_parquet *p, size_t more) {
    if (p->json_len + more + 1 <= p->json_cap) return 0;
    size_t cap = p->json_cap ? p->json_cap : 256;
    while (cap < p->json_len + more + 1) cap *= 2;
    char *b = realloc(p->json, cap);
    if (!b) return -1;
    p->json = b;
    p->json_cap = cap;
    return 0;
}

static void json_raw(smol_parquet *p, const char *s, size_t n) {
    memcpy(p->json + p->json_len, s, n);
    p->json_len += n;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t utf8_len(const uint8_t *s, size_t n) {
    uint8_t b = s[0];
    size_t len;
    uint32_t cp;
    if (b < 0x80) return 1;
    if (b >= 0xc2 && b <= 0xdf) { len = 2; cp = b & 0x1f; }
    else if (b >= 0xe0 && b <= 0xef) { len = 3; cp = b & 0x0f; }
    else if (b >= 0xf0 && b <= 0xf4) { len = 4; cp = b & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

static int json_string(smol_parquet *p, const uint8_t *s, size_t n) {
    if (json_reserve(p, n * 6 + 2)) return -1;   /* worst case: every byte escaped */
    p->json[p->json_len++] = '"';
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\') run++;
        json_raw(p, (const char *)s + i, run - i);
        i = run;
        if (i >= n) break;
        uint8_t b = s[i];
        if (b >= 0x80) {
            size_t len = utf8_len(s + i, n - i);
            if (len) json_raw(p, (const char *)s + i, len);
            else json_raw(p, "\xef\xbf\xbd", 3);
            i += len ? len : 1;
            continue;
        }
        char esc[8];
        const char *e = b == '"' ? "\\\"" : b == '\\' ? "\\\\" : b == '\n' ? "\\n" : b == '\t' ? "\\t"
                      : b == '\r' ? "\\r" : b == '\b' ? "\\b" : b == '\f' ? "\\f" : NULL;
        if (!e) {
            snprintf(esc, sizeof esc, "\\u%04x", b);
            e = esc;
        }
        json_raw(p, e, strlen(e));
        i++;
    }
    p->json[p->json_len++] = '"';
    return 0;
}

/* The shortest of %.{lo..hi}g that reads back as x. */
static void format_float(char *buf, size_t size, double x, int lo, int hi, int is_float) {
    for (int prec = lo; prec <= hi; prec++) {
        snprintf(buf, size, "%.*g", prec, x);
        double back = strtod(buf, NULL);
        if (is_float ? (float)back == (float)x : back == x) return;
    }
}

static int json_value(smol_parquet *p, const pq_column *col, const pq_value *v, int is_null) {
    char num[48];
    if (is_null) {
        snprintf(num, sizeof num, "null");
    } else if (col->type == PQ_BYTE_ARRAY || col->type == PQ_FLBA) {
        return json_string(p, v->s, v->n);
    } else if (col->type == PQ_BOOLEAN) {
        snprintf(num, sizeof num, "%s", v->i ? "true" : "false");
    } else if (col->type == PQ_INT32 || col->type == PQ_INT64) {
        snprintf(num, sizeof num, "%lld", (long long)v->i);
    } else if (!isfinite(v->d)) {
        snprintf(num, sizeof num, "null");   /* JSON has no NaN or infinities */
    } else if (col->type == PQ_FLOAT) {
        format_float(num, sizeof num, v->d, 6, 9, 1);
    } else {
        format_float(num, sizeof num, v->d, 15, 17, 0);
    }
    size_t n = strlen(num);
    if (json_reserve(p, n)) return -1;
    json_raw(p, num, n);
    return 0;
}

int smol_parquet_next_json(smol_parquet *p, const char **json, size_t *len, smol_error *err) {
    if (p->failed) return smol_fail(err, p->failed, "%s: reading stopped at an earlier error", p->name);
    if (!p->started) {
        p->started = 1;
        p->group = 0;
        p->row_in_group = 0;
        while (p->group < p->n_groups && p->groups[p->group].num_rows == 0) p->group++;
        if (p->group < p->n_groups && start_group(p, err)) return p->failed;
    }
    while (p->group < p->n_groups && p->row_in_group >= p->groups[p->group].num_rows) {
        p->group++;
        p->row_in_group = 0;
        if (p->group < p->n_groups && p->groups[p->group].num_rows > 0 && start_group(p, err)) return p->failed;
    }
    if (p->group >= p->n_groups) return 0;
    p->json_len = 0;
    if (json_reserve(p, 2)) goto oom;
    p->json[p->json_len++] = '{';
    for (int i = 0; i < p->n_cols; i++) {
        pq_value v = {0, 0, NULL, 0};
        int is_null, rc = cursor_next(p, &p->cur[i], &v, &is_null, err);
        if (rc) return rc;
        const char *name = p->cols[i].name;
        if (i && json_reserve(p, 1)) goto oom;
        if (i) p->json[p->json_len++] = ',';
        if (json_string(p, (const uint8_t *)name, strlen(name)) || json_reserve(p, 1)) goto oom;
        p->json[p->json_len++] = ':';
        if (json_value(p, &p->cols[i], &v, is_null)) goto oom;
    }
    if (json_reserve(p, 1)) goto oom;
    p->json[p->json_len++] = '}';
    p->json[p->json_len] = 0;
    p->row_in_group++;
    *json = p->json;
    *len = p->json_len;
    return 1;
oom:
    p->failed = SMOL_ENOMEM;
    return smol_fail(err, SMOL_ENOMEM, "%s: out of memory for row %lld of row group %d", p->name,
                     (long long)p->row_in_group, p->group);
}
