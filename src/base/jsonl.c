/* jsonl.c: streaming line reader over plain, gzip and zstd files (detected by magic bytes),
 * and JSONL documents on top of it. */
#include "base/jsonl.h"
#include "base/error.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

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

/* Decodes more bytes into buf[end..cap); sets eof_out when the input is exhausted. */
static int decode_more(smol_lines *r, smol_error *err) {
    int rc = read_raw(r, err);
    if (rc) return rc;
    size_t room = r->cap - r->end;
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

int smol_jsonl_next(smol_lines *r, cJSON **doc, smol_error *err) {
    *doc = NULL;
    const char *line;
    size_t len;
    int rc;
    while ((rc = smol_lines_next(r, &line, &len, err)) == 1) {
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        if (i == len) continue;
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(line, len, &end, 0);
        if (!j || !cJSON_IsObject(j)) {
            size_t at = j ? 0 : (end && end >= line ? (size_t)(end - line) : 0);
            cJSON_Delete(j);
            if (!j) {
                const char *ep = cJSON_GetErrorPtr();
                if (ep && ep >= line && ep <= line + len) at = (size_t)(ep - line);
                return smol_fail(err, SMOL_EFORMAT, "%s:%lld: invalid JSON near byte %zu", r->path,
                                 (long long)r->lineno, at + 1);
            }
            return smol_fail(err, SMOL_EFORMAT, "%s:%lld: expected a JSON object", r->path, (long long)r->lineno);
        }
        *doc = j;
        return 1;
    }
    return rc;
}
