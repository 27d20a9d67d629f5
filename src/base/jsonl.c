/* jsonl.c: streaming line reader over plain, gzip and zstd files (detected by magic bytes),
 * JSONL documents on top of it, and the JSON object scanner and string escaping (SSE2 and a
 * plain 8-byte twin, chosen at run time through base/cpu.h). */
#include "base/jsonl.h"
#include "base/cpu.h"
#include "base/error.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define IN_CHUNK (256 * 1024)

enum { SRC_PLAIN, SRC_GZIP, SRC_ZSTD };

struct smol_lines {
    char *path;
    int fd, own_fd, kind, eof_in, eof_out;
    uint8_t *in;            /* compressed input */
    size_t in_pos, in_len;
    z_stream z;
    int z_live;
    ZSTD_DStream *zs;
    char *buf;              /* decoded bytes: [start, end) pending */
    size_t cap, start, end, scan;
    size_t max_len;
    int64_t lineno;
    int had_nl;
    uint64_t bytes_read, file_size;
};

static int read_raw(smol_lines *r, smol_error *err) {
    if (r->eof_in) return SMOL_OK;
    if (r->in_pos < r->in_len) return SMOL_OK;
    ssize_t n;
    do n = read(r->fd, r->in, IN_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n < 0) return smol_fail(err, SMOL_EIO, "%s: read failed: %s", r->path, strerror(errno));
    r->in_pos = 0;
    r->in_len = (size_t)n;
    r->bytes_read += (uint64_t)n;
    if (n == 0) r->eof_in = 1;
    return SMOL_OK;
}

int smol_lines_open(const char *path, smol_lines **out, smol_error *err) {
    *out = NULL;
    smol_lines *r = calloc(1, sizeof *r);
    if (!r) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    r->path = strdup(path);
    r->in = malloc(IN_CHUNK);
    r->cap = 1 << 20;
    r->buf = malloc(r->cap + 1);
    r->max_len = SMOL_LINES_MAX_DEFAULT;
    if (!r->path || !r->in || !r->buf) {
        smol_lines_close(r);
        return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    }
    if (strcmp(path, "-") == 0) r->fd = 0;
    else {
        r->fd = open(path, O_RDONLY);
        if (r->fd < 0) {
            int e = errno;
            r->fd = -1;
            smol_lines_close(r);
            return smol_fail(err, SMOL_EIO, "%s: cannot open: %s", path, strerror(e));
        }
        r->own_fd = 1;
        struct stat st;
        if (fstat(r->fd, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                smol_lines_close(r);
                return smol_fail(err, SMOL_EIO, "%s: is a directory, expected a file", path);
            }
            if (S_ISREG(st.st_mode)) r->file_size = (uint64_t)st.st_size;
        }
    }
    /* fill until at least 4 bytes (or the end) to recognise the format */
    while (r->in_len < 4 && !r->eof_in) {
        ssize_t n = read(r->fd, r->in + r->in_len, IN_CHUNK - r->in_len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            smol_lines_close(r);
            return smol_fail(err, SMOL_EIO, "%s: read failed: %s", path, strerror(e));
        }
        if (n == 0) r->eof_in = 1;
        r->in_len += (size_t)n;
        r->bytes_read += (uint64_t)n;
    }
    const uint8_t *m = r->in;
    if (r->in_len >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
        r->kind = SRC_GZIP;
        if (inflateInit2(&r->z, 15 + 32) != Z_OK) {
            smol_lines_close(r);
            return smol_fail(err, SMOL_ENOMEM, "%s: cannot start gzip decoding", path);
        }
        r->z_live = 1;
    } else if (r->in_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
        r->kind = SRC_ZSTD;
        r->zs = ZSTD_createDStream();
        if (!r->zs || ZSTD_isError(ZSTD_initDStream(r->zs))) {
            smol_lines_close(r);
            return smol_fail(err, SMOL_ENOMEM, "%s: cannot start zstd decoding", path);
        }
    }
    *out = r;
    return SMOL_OK;
}

void smol_lines_set_max(smol_lines *r, size_t max_len) { r->max_len = max_len; }

void smol_lines_close(smol_lines *r) {
    if (!r) return;
    if (r->own_fd && r->fd >= 0) close(r->fd);
    if (r->kind == SRC_GZIP && r->z_live) inflateEnd(&r->z);
    if (r->zs) ZSTD_freeDStream(r->zs);
    free(r->path);
    free(r->in);
    free(r->buf);
    free(r);
}

/* Reads a plain file straight into buf[end..cap) (no bytes left in the input buffer). */
static int read_plain(smol_lines *r, size_t room, smol_error *err) {
    if (r->eof_in) {
        r->eof_out = 1;
        return SMOL_OK;
    }
    ssize_t n;
    do n = read(r->fd, r->buf + r->end, room);
    while (n < 0 && errno == EINTR);
    if (n < 0) return smol_fail(err, SMOL_EIO, "%s: read failed: %s", r->path, strerror(errno));
    r->bytes_read += (uint64_t)n;
    r->end += (size_t)n;
    if (n == 0) r->eof_in = r->eof_out = 1;
    return SMOL_OK;
}

/* Decodes more bytes into buf[end..cap); sets eof_out when the input is exhausted. */
static int decode_more(smol_lines *r, smol_error *err) {
    size_t room = r->cap - r->end;
    if (r->kind == SRC_PLAIN && r->in_pos == r->in_len) return read_plain(r, room, err);
    int rc = read_raw(r, err);
    if (rc) return rc;
    if (r->kind == SRC_PLAIN) {
        if (r->in_pos == r->in_len) {
            r->eof_out = 1;
            return SMOL_OK;
        }
        size_t n = r->in_len - r->in_pos < room ? r->in_len - r->in_pos : room;
        memcpy(r->buf + r->end, r->in + r->in_pos, n);
        r->in_pos += n;
        r->end += n;
        return SMOL_OK;
    }
    if (r->kind == SRC_GZIP) {
        if (r->z_live == 2) {
            if (r->in_pos == r->in_len) {   /* ended cleanly after a member */
                r->eof_out = 1;
                return SMOL_OK;
            }
            inflateReset(&r->z);             /* another gzip member follows */
            r->z_live = 1;
        }
        r->z.next_in = r->in + r->in_pos;
        r->z.avail_in = (uInt)(r->in_len - r->in_pos);
        r->z.next_out = (Bytef *)r->buf + r->end;
        r->z.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
        uInt before = r->z.avail_out;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        r->in_pos = r->in_len - r->z.avail_in;
        size_t got = before - r->z.avail_out;
        r->end += got;
        if (zr == Z_STREAM_END) r->z_live = 2;
        else if (zr != Z_OK && !(zr == Z_BUF_ERROR && got == 0 && !r->eof_in))
            return smol_fail(err, SMOL_EFORMAT, "%s: %s gzip data near line %lld%s%s", r->path,
                             zr == Z_BUF_ERROR ? "truncated" : "corrupt", (long long)r->lineno + 1,
                             r->z.msg ? ": " : "", r->z.msg ? r->z.msg : "");
        else if (got == 0 && r->eof_in && r->in_pos == r->in_len)
            return smol_fail(err, SMOL_EFORMAT, "%s: truncated gzip data near line %lld", r->path,
                             (long long)r->lineno + 1);
        return SMOL_OK;
    }
    if (r->in_pos == r->in_len && r->eof_in && !r->z_live) {
        r->eof_out = 1;   /* z_live: a zstd frame is open or has output pending */
        return SMOL_OK;
    }
    ZSTD_inBuffer ib = {r->in, r->in_len, r->in_pos};
    ZSTD_outBuffer ob = {r->buf + r->end, room, 0};
    size_t zr = ZSTD_decompressStream(r->zs, &ob, &ib);
    if (ZSTD_isError(zr))
        return smol_fail(err, SMOL_EFORMAT, "%s: corrupt zstd data near line %lld: %s", r->path,
                         (long long)r->lineno + 1, ZSTD_getErrorName(zr));
    r->z_live = zr != 0;
    r->in_pos = ib.pos;
    r->end += ob.pos;
    if (ob.pos == 0 && ib.pos == ib.size && r->eof_in && r->z_live)
        return smol_fail(err, SMOL_EFORMAT, "%s: truncated zstd data near line %lld", r->path, (long long)r->lineno + 1);
    return SMOL_OK;
}

static int make_room(smol_lines *r, smol_error *err) {
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->scan -= r->start;
        r->start = 0;
    }
    if (r->end < r->cap) return SMOL_OK;
    if (r->cap > r->max_len)
        return smol_fail(err, SMOL_ERANGE, "%s:%lld: line longer than %zu bytes", r->path, (long long)r->lineno + 1,
                         r->max_len);
    size_t cap = r->cap * 2;
    char *b = realloc(r->buf, cap + 1);
    if (!b) return smol_fail(err, SMOL_ENOMEM, "%s:%lld: out of memory for a %zu-byte line", r->path,
                             (long long)r->lineno + 1, r->cap);
    r->buf = b;
    r->cap = cap;
    return SMOL_OK;
}

int smol_lines_next(smol_lines *r, const char **line, size_t *len, smol_error *err) {
    for (;;) {
        char *nl = r->scan < r->end ? memchr(r->buf + r->scan, '\n', r->end - r->scan) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->start));
            if (n > r->max_len)
                return smol_fail(err, SMOL_ERANGE, "%s:%lld: line of %zu bytes is longer than %zu", r->path,
                                 (long long)r->lineno + 1, n, r->max_len);
            *nl = 0;
            *line = r->buf + r->start;
            *len = n;
            r->start += n + 1;
            r->scan = r->start;
            r->lineno++;
            r->had_nl = 1;
            return 1;
        }
        r->scan = r->end;
        if (r->eof_out) {
            if (r->start == r->end) return 0;
            if (r->end - r->start > r->max_len)   /* a last line without '\n' has the same limit */
                return smol_fail(err, SMOL_ERANGE, "%s:%lld: line of %zu bytes is longer than %zu", r->path,
                                 (long long)r->lineno + 1, r->end - r->start, r->max_len);
            r->buf[r->end] = 0;
            *line = r->buf + r->start;
            *len = r->end - r->start;
            r->start = r->scan = r->end;
            r->lineno++;
            r->had_nl = 0;
            return 1;
        }
        int rc = make_room(r, err);
        if (!rc) rc = decode_more(r, err);
        if (rc) return rc;
    }
}

int smol_lines_had_newline(const smol_lines *r) { return r->had_nl; }
int64_t smol_lines_lineno(const smol_lines *r) { return r->lineno; }
const char *smol_lines_path(const smol_lines *r) { return r->path; }
uint64_t smol_lines_bytes_read(const smol_lines *r) { return r->bytes_read; }
uint64_t smol_lines_file_size(const smol_lines *r) { return r->file_size; }

cJSON *smol_json_parse_text(const char *json, size_t len, size_t *bad) {
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    size_t off = end ? (size_t)(end - json) : 0;
    while (doc && off < len && (json[off] == ' ' || json[off] == '\t' || json[off] == '\n' || json[off] == '\r')) off++;
    if (doc && off < len) cJSON_Delete(doc), doc = NULL;
    if (!doc && bad) *bad = off;
    return doc;
}

int smol_jsonl_next(smol_lines *r, cJSON **doc, smol_error *err) {
    const char *line;
    size_t len;
    return smol_jsonl_next_line(r, doc, &line, &len, err);
}

int smol_jsonl_next_line(smol_lines *r, cJSON **doc, const char **line_out, size_t *len_out, smol_error *err) {
    *doc = NULL;
    const char *line;
    size_t len;
    int rc;
    while ((rc = smol_lines_next(r, &line, &len, err)) == 1) {
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        if (i == len) continue;
        size_t at = 0;
        cJSON *j = smol_json_parse_text(line, len, &at);
        if (!j || !cJSON_IsObject(j)) {
            cJSON_Delete(j);
            if (!j)
                return smol_fail(err, SMOL_EFORMAT, "%s:%lld: invalid JSON near byte %zu", r->path,
                                 (long long)r->lineno, at + 1);
            return smol_fail(err, SMOL_EFORMAT, "%s:%lld: expected a JSON object", r->path, (long long)r->lineno);
        }
        *doc = j;
        *line_out = line, *len_out = len;
        return 1;
    }
    return rc;
}

/* ------------------------------------------------------------ JSON scanning without a tree */

#define JSON_MAX_DEPTH 1000   /* cJSON's CJSON_NESTING_LIMIT: containers open at once */
#define SCAN_FAIL ((size_t)-1)

enum { STR_ESC = 1, STR_CTRL = 2 };

/* The value of hex digit c, or -1. */
static int hex_value(unsigned c) {
    if (c >= '0' && c <= '9') return (int)(c - '0');
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? (int)(c - 'a' + 10) : -1;
}

/* The code unit of the four hex digits at s[0..4), or -1. */
static long hex4(const unsigned char *s) {
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hex_value(s[k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Bytes before the first '"', '\\' or byte < 0x20 among the 16 bytes at s (16 if none). */
#if defined(__SSE2__)
static size_t plain_run16(const unsigned char *s) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i ctl = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1F)), _mm_set1_epi8(0x1F));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), ctl);
    unsigned m = (unsigned)_mm_movemask_epi8(hit);
    return m ? (size_t)__builtin_ctz(m) : 16;
}
#endif

/* The same over the 8 bytes at s, in plain C (one 64-bit word). */
static const uint64_t k_ones = 0x0101010101010101ull, k_highs = 0x8080808080808080ull;
static size_t plain_run8(const unsigned char *s) {
    uint64_t w;
    memcpy(&w, s, 8);
    uint64_t q = w ^ (k_ones * '"'), b = w ^ (k_ones * '\\');
    uint64_t hit = (((q - k_ones) & ~q) | ((b - k_ones) & ~b) | ((w - k_ones * 0x20) & ~w)) & k_highs;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return hit ? (size_t)__builtin_ctzll(hit) / 8 : 8;   /* the lowest hit is exact */
#else
    if (!hit) return 8;
    size_t i = 0;
    while (s[i] != '"' && s[i] != '\\' && s[i] >= 0x20) i++;
    return i;
#endif
}

int smol_json_path_is_sse2(int path) {
#if defined(__SSE2__)
    return path == SMOL_JSON_PATH_SSE2 || (path == SMOL_JSON_PATH_AUTO && smol_cpu_has_sse2());
#else
    (void)path;
    return 0;
#endif
}

/* Skips bytes of s[i..n) other than '"', '\\' and bytes < 0x20 a block at a time; stops at
 * one of those or where less than a block is left (the caller goes on byte by byte). */
static size_t skip_plain(const unsigned char *s, size_t n, size_t i, int sse2) {
#if defined(__SSE2__)
    if (sse2) {
        while (i + 16 <= n) {
            size_t k = plain_run16(s + i);
            i += k;
            if (k < 16) return i;
        }
        return i;
    }
#else
    (void)sse2;
#endif
    while (i + 8 <= n) {
        size_t k = plain_run8(s + i);
        i += k;
        if (k < 8) return i;
    }
    return i;
}

/* Checks the escape at s[i] == '\\'; returns its length, or 0 if it is invalid. A \u escape
 * of a high surrogate must be followed by one of a low surrogate; a lone low one is invalid. */
static size_t escape_len(const unsigned char *s, size_t n, size_t i) {
    if (i + 1 >= n) return 0;
    switch (s[i + 1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': return 2;
    case 'u': break;
    default: return 0;
    }
    long cu = i + 6 <= n ? hex4(s + i + 2) : -1;
    if (cu < 0 || (cu >= 0xDC00 && cu <= 0xDFFF)) return 0;
    if (cu < 0xD800 || cu > 0xDBFF) return 6;
    if (i + 12 > n || s[i + 6] != '\\' || s[i + 7] != 'u') return 0;
    long lo = hex4(s + i + 8);
    return lo >= 0xDC00 && lo <= 0xDFFF ? 12 : 0;
}

/* Scans the string token at s[i] == '"'; returns the offset past its closing quote, or
 * SCAN_FAIL with *err_at set. Adds STR_ESC (escapes) and STR_CTRL (raw bytes < 0x20) to *flags.
 * sse2: skip plain bytes with SSE2 (else 8 at a time in plain C). */
static size_t scan_string(const unsigned char *s, size_t n, size_t i, unsigned *flags, size_t *err_at, int sse2) {
    size_t start = i++;
    for (;;) {
        i = skip_plain(s, n, i, sse2);
        if (i >= n) {
            *err_at = start;
            return SCAN_FAIL;
        }
        unsigned c = s[i];
        if (c == '"') return i + 1;
        if (c == '\\') {
            size_t e = escape_len(s, n, i);
            if (!e) {
                *err_at = i;
                return SCAN_FAIL;
            }
            *flags |= STR_ESC;
            i += e;
        } else {
            if (c < 0x20) *flags |= STR_CTRL;
            i++;
        }
    }
}

/* Scans a number at s[i] ('-' or a digit) as cJSON reads it (strtod over its characters);
 * returns the offset past it or SCAN_FAIL. Sets *strict to 0 for forms RFC 8259 rejects. */
static size_t scan_number(const unsigned char *s, size_t n, size_t i, int *strict) {
    size_t p = i + (s[i] == '-');
    size_t int_at = p;
    while (p < n && s[p] >= '0' && s[p] <= '9') p++;
    size_t ints = p - int_at, fracs = 0;
    int dot = p < n && s[p] == '.';
    if (dot) {
        size_t f = ++p;
        while (p < n && s[p] >= '0' && s[p] <= '9') p++;
        fracs = p - f;
    }
    if (!ints && !fracs) return SCAN_FAIL;
    if (p < n && (s[p] == 'e' || s[p] == 'E')) {
        size_t q = p + 1;
        if (q < n && (s[q] == '+' || s[q] == '-')) q++;
        if (q < n && s[q] >= '0' && s[q] <= '9') {
            while (q < n && s[q] >= '0' && s[q] <= '9') q++;
            p = q;
        }
    }
    if (!ints || (dot && !fracs) || (ints > 1 && s[int_at] == '0')) *strict = 0;
    return p;
}

/* Skips whitespace as cJSON does (every byte <= 0x20); sets *lax for bytes JSON does not allow. */
static size_t skip_ws(const unsigned char *s, size_t n, size_t i, int *lax) {
    while (i < n && s[i] <= 0x20) {
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t') *lax = 1;
        i++;
    }
    return i;
}

/* 1 if the key token s[at..end) (quotes included, STR_* flags) reads as name, compared as
 * strcmp compares cJSON's unescaped key: up to a NUL in it. */
static int key_is(const unsigned char *s, size_t at, size_t end, unsigned flags, const char *name) {
    const char *k = (const char *)s + at + 1;
    size_t n = end - at - 2, want = strlen(name);
    char buf[72];
    if (flags & STR_ESC) {
        n = smol_json_unescape(k, n, buf, sizeof buf);
        k = buf;
    }
    const char *nul = memchr(k, 0, n);
    if (nul) n = (size_t)(nul - k);
    return n == want && memcmp(k, name, n) == 0;
}

/* Scans one literal, number or string value at s[i]; returns the offset past it or SCAN_FAIL. */
static size_t scan_scalar(const unsigned char *s, size_t n, size_t i, int *type, unsigned *flags, int *lax,
                          size_t *err_at, int sse2) {
    static const char *const lits[] = {"null", "false", "true"};
    static const int lit_types[] = {SMOL_JSON_NULL, SMOL_JSON_FALSE, SMOL_JSON_TRUE};
    *err_at = i;
    if (i >= n) return SCAN_FAIL;
    unsigned c = s[i];
    if (c == '"') {
        *type = SMOL_JSON_STRING;
        size_t e = scan_string(s, n, i, flags, err_at, sse2);
        if (*flags & STR_CTRL) *lax = 1;
        return e;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        *type = SMOL_JSON_NUMBER;
        int strict = 1;
        size_t e = scan_number(s, n, i, &strict);
        if (!strict) *lax = 1;
        return e;
    }
    for (int k = 0; k < 3; k++) {
        size_t m = strlen(lits[k]);
        if (c == (unsigned char)lits[k][0] && n - i >= m && memcmp(s + i, lits[k], m) == 0) {
            *type = lit_types[k];
            return i + m;
        }
    }
    return SCAN_FAIL;
}

/* Records the value s[at..end) of type for the first top-level occurrence of field want. */
static void note_field(smol_json_field *fields, int want, int type, size_t at, size_t end, unsigned flags) {
    if (want < 0) return;
    fields[want].type = type;
    fields[want].at = at;
    fields[want].end = end;
    fields[want].escaped = (flags & STR_ESC) != 0;
}

/* Reads the key at s[i] and its ':' in an object at depth; at depth 1 sets *want to the field
 * the key names (-1: none). Returns the offset of the value, or SCAN_FAIL with *err_at set. */
static size_t read_key(const unsigned char *s, size_t len, size_t i, int depth, smol_json_field *fields, int n_fields,
                       int *want, int *lax, size_t *err_at, int sse2) {
    *err_at = i;
    if (i >= len || s[i] != '"') return SCAN_FAIL;
    unsigned flags = 0;
    size_t end = scan_string(s, len, i, &flags, err_at, sse2);
    if (end == SCAN_FAIL) return SCAN_FAIL;
    if (flags & STR_CTRL) *lax = 1;
    if (depth == 1) {
        *want = -1;
        for (int k = 0; k < n_fields && *want < 0; k++)
            if (fields[k].type == SMOL_JSON_NONE && key_is(s, i, end, flags, fields[k].name)) *want = k;
    }
    i = skip_ws(s, len, end, lax);
    *err_at = i;
    if (i >= len || s[i] != ':') return SCAN_FAIL;
    return skip_ws(s, len, i + 1, lax);
}

/* Ends a scan whose top-level value (of top_type) is followed by whitespace up to i: it must
 * be an object, and the line must end there. */
static int scan_end(const unsigned char *s, size_t len, size_t i, int top_type, smol_json_scan *out) {
    if (top_type != SMOL_JSON_OBJECT) {
        out->not_object = 1;
        out->err_at = out->at;
        return SMOL_EFORMAT;
    }
    out->end = i;
    while (out->end > out->at && s[out->end - 1] <= 0x20) out->end--;
    if (i < len) {
        out->err_at = i;   /* something other than whitespace after the object */
        return SMOL_EFORMAT;
    }
    return SMOL_OK;
}

int smol_json_scan_object(const char *line, size_t len, smol_json_field *fields, int n_fields, smol_json_scan *out) {
    return smol_json_scan_object_path(line, len, fields, n_fields, out, SMOL_JSON_PATH_AUTO);
}

int smol_json_scan_object_path(const char *line, size_t len, smol_json_field *fields, int n_fields, smol_json_scan *out,
                               int path) {
    const unsigned char *s = (const unsigned char *)line;
    int sse2 = smol_json_path_is_sse2(path);
    unsigned char stack[JSON_MAX_DEPTH];   /* '{' or '[' of each open container */
    int depth = 0, want = -1, top_type = 0;
    memset(out, 0, sizeof *out);
    for (int k = 0; k < n_fields; k++) fields[k].type = SMOL_JSON_NONE;
    size_t i = len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    i = skip_ws(s, len, i, &out->lax);
    out->at = i;
    size_t field_at = i, err_at = i;   /* field_at: where the current top-level value starts */
    /* each turn reads one value at s[i] (its key already read), then what follows it */
    for (;;) {
        if (depth == 1) field_at = i;
        err_at = i;
        if (i < len && (s[i] == '{' || s[i] == '[')) {
            if (depth == JSON_MAX_DEPTH) goto fail;
            if (!depth) top_type = s[i] == '{' ? SMOL_JSON_OBJECT : SMOL_JSON_ARRAY;
            stack[depth++] = s[i];
            i = skip_ws(s, len, i + 1, &out->lax);
            err_at = i;
            if (i >= len || s[i] != (stack[depth - 1] == '{' ? '}' : ']')) {
                if (stack[depth - 1] == '[') continue;   /* the array's first value */
                goto key;
            }
            i++;   /* an empty container: closed below like any other */
            goto closed;
        } else {
            int type = 0;
            unsigned flags = 0;
            size_t e = scan_scalar(s, len, i, &type, &flags, &out->lax, &err_at, sse2);
            if (e == SCAN_FAIL) goto fail;
            if (!depth) top_type = type;
            note_field(fields, depth == 1 ? want : -1, type, i, e, flags);
            i = e;
        }
        /* after a value: ',' and the next one, or the end of containers */
        for (;;) {
            i = skip_ws(s, len, i, &out->lax);
            err_at = i;
            if (!depth) return scan_end(s, len, i, top_type, out);
            if (i >= len) goto fail;
            if (s[i] == ',') {
                i = skip_ws(s, len, i + 1, &out->lax);
                if (stack[depth - 1] == '{') goto key;
                break;
            }
            if (s[i] != (stack[depth - 1] == '{' ? '}' : ']')) goto fail;
            i++;
        closed:
            depth--;
            if (depth == 1)   /* a container value of a top-level key */
                note_field(fields, want, stack[1] == '{' ? SMOL_JSON_OBJECT : SMOL_JSON_ARRAY, field_at, i, 0);
        }
        continue;
    key:
        if ((i = read_key(s, len, i, depth, fields, n_fields, &want, &out->lax, &err_at, sse2)) == SCAN_FAIL) goto fail;
    }
fail:
    out->err_at = err_at < len ? err_at : (len ? len - 1 : 0);
    return SMOL_EFORMAT;
}

/* Writes code point cp as UTF-8 into out; returns its length. */
static size_t put_utf8(unsigned long cp, unsigned char *out) {
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t smol_json_unescape(const char *str, size_t n, char *out, size_t cap) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, o = 0;
    while (i < n && o < cap) {
        const unsigned char *bs = memchr(s + i, '\\', n - i);
        size_t run = (bs ? (size_t)(bs - s) : n) - i;
        if (run > cap - o) run = cap - o;
        memcpy(out + o, s + i, run);
        i += run;
        o += run;
        if (i >= n || o >= cap || s[i] != '\\' || i + 1 >= n) break;
        unsigned char c = s[i + 1], one = 0;
        unsigned long cp = 0;
        size_t used = 2;
        switch (c) {
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': {
            long cu = i + 6 <= n ? hex4(s + i + 2) : -1;
            if (cu < 0) return o;   /* not from a scanned string */
            cp = (unsigned long)cu;
            used = 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 12 <= n && s[i + 6] == '\\' && s[i + 7] == 'u') {
                long lo = hex4(s + i + 8);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp & 0x3FF) << 10) + ((unsigned long)lo & 0x3FF);
                    used = 12;
                }
            }
            break;
        }
        default: one = c; break;   /* '"', '\\', '/' */
        }
        unsigned char enc[4];
        size_t k = c == 'u' ? put_utf8(cp, enc) : (enc[0] = one, 1);
        if (k > cap - o) break;
        memcpy(out + o, enc, k);
        o += k;
        i += used;
    }
    return o;
}

size_t smol_json_escape(const char *text, size_t len, char *out) {
    return smol_json_escape_path(text, len, out, SMOL_JSON_PATH_AUTO);
}

size_t smol_json_escape_path(const char *text, size_t len, char *out, int path) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)text;
    int sse2 = smol_json_path_is_sse2(path);
    size_t o = 0, i = 0;
    out[o++] = '"';
    while (i < len) {
        size_t run = skip_plain(s, len, i, sse2) - i;
        while (i + run < len && s[i + run] != '"' && s[i + run] != '\\' && s[i + run] >= 0x20) run++;
        memcpy(out + o, s + i, run);
        o += run;
        i += run;
        if (i >= len) break;
        unsigned char c = s[i++];
        out[o++] = '\\';
        switch (c) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '\b': out[o++] = 'b'; break;
        case '\f': out[o++] = 'f'; break;
        case '\n': out[o++] = 'n'; break;
        case '\r': out[o++] = 'r'; break;
        case '\t': out[o++] = 't'; break;
        default:
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o++] = '"';
    return o;
}
