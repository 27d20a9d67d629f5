/* snappy.c: a Snappy block decompressor written from the format description: a varint with the
 * uncompressed length, then elements whose tag's low two bits select a literal (length in the
 * tag or in 1-4 following bytes) or a copy with a 1-, 2- or 4-byte offset. */
#include "data/snappy.h"
#include "base/error.h"
#include <string.h>

static int preamble(const uint8_t *src, size_t n, size_t *len, size_t *used, smol_error *err) {
    uint64_t v = 0;
    for (size_t i = 0; i < 5; i++) {
        if (i >= n) return smol_fail(err, SMOL_EFORMAT, "snappy: truncated length preamble");
        v |= (uint64_t)(src[i] & 0x7f) << (7 * i);
        if (!(src[i] & 0x80)) {
            if (v > 0xffffffffu) break;
            *len = (size_t)v;
            *used = i + 1;
            return SMOL_OK;
        }
    }
    return smol_fail(err, SMOL_EFORMAT, "snappy: bad length preamble");
}

int smol_snappy_length(const uint8_t *src, size_t n, size_t *len, smol_error *err) {
    size_t used;
    return preamble(src, n, len, &used, err);
}

static uint32_t read_le(const uint8_t *p, int nbytes) {
    uint32_t v = 0;
    for (int i = 0; i < nbytes; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

int smol_snappy_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, smol_error *err) {
    size_t want, ip;
    int rc = preamble(src, n, &want, &ip, err);
    if (rc) return rc;
    if (want != dst_len)
        return smol_fail(err, SMOL_EFORMAT, "snappy: block holds %zu bytes, expected %zu", want, dst_len);
    size_t op = 0;
    while (ip < n) {
        size_t at = ip;
        uint8_t tag = src[ip++];
        size_t len, off = 0;
        if ((tag & 3) == 0) {   /* literal */
            len = (size_t)(tag >> 2) + 1;
            if (len > 60) {
                int nb = (int)len - 60;
                if (n - ip < (size_t)nb) return smol_fail(err, SMOL_EFORMAT, "snappy: truncated literal length at byte %zu", at);
                len = (size_t)read_le(src + ip, nb) + 1;
                ip += (size_t)nb;
            }
            if (len > n - ip) return smol_fail(err, SMOL_EFORMAT, "snappy: literal at byte %zu runs past the input", at);
            if (len > dst_len - op) return smol_fail(err, SMOL_EFORMAT, "snappy: literal at byte %zu overflows the output", at);
            memcpy(dst + op, src + ip, len);
            ip += len;
            op += len;
            continue;
        }
        if ((tag & 3) == 1) {
            if (n - ip < 1) return smol_fail(err, SMOL_EFORMAT, "snappy: truncated copy at byte %zu", at);
            len = 4 + ((tag >> 2) & 7);
            off = ((size_t)(tag >> 5) << 8) | src[ip++];
        } else {
            int nb = (tag & 3) == 2 ? 2 : 4;
            if (n - ip < (size_t)nb) return smol_fail(err, SMOL_EFORMAT, "snappy: truncated copy at byte %zu", at);
            len = (size_t)(tag >> 2) + 1;
            off = read_le(src + ip, nb);
            ip += (size_t)nb;
        }
        if (off == 0 || off > op) return smol_fail(err, SMOL_EFORMAT, "snappy: copy at byte %zu has offset %zu past the start", at, off);
        if (len > dst_len - op) return smol_fail(err, SMOL_EFORMAT, "snappy: copy at byte %zu overflows the output", at);
        const uint8_t *from = dst + op - off;
        if (off >= len) {
            memcpy(dst + op, from, len);
        } else {
            for (size_t i = 0; i < len; i++) dst[op + i] = from[i];   /* overlapping: repeats the pattern */
        }
        op += len;
    }
    if (op != dst_len) return smol_fail(err, SMOL_EFORMAT, "snappy: block ends after %zu of %zu bytes", op, dst_len);
    return SMOL_OK;
}
