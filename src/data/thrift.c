/* thrift.c: Thrift compact protocol decoding: varints, zigzag integers, field headers with
 * delta-coded ids, binaries, list headers and skipping of unknown fields. */
#include "data/thrift.h"

#define THRIFT_MAX_DEPTH 64

static void fail(smol_thrift *t, const char *why) {
    if (!t->bad) t->why = why;
    t->bad = 1;
    t->p = t->end;
}

void smol_thrift_init(smol_thrift *t, const uint8_t *data, size_t size) {
    t->p = data;
    t->end = data + size;
    t->depth = 0;
    t->bad = 0;
    t->why = "";
}

static uint64_t varint(smol_thrift *t) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (t->p >= t->end) {
            fail(t, "truncated varint");
            return 0;
        }
        uint8_t b = *t->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    fail(t, "varint longer than 10 bytes");
    return 0;
}

int64_t smol_thrift_int(smol_thrift *t) {
    uint64_t v = varint(t);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int64_t smol_thrift_int_in(smol_thrift *t, int type, int64_t lo, int64_t hi) {
    if (type != SMOL_TH_I16 && type != SMOL_TH_I32 && type != SMOL_TH_I64 && type != SMOL_TH_BYTE) {
        fail(t, "integer field of another type");
        return 0;
    }
    int64_t v;
    if (type == SMOL_TH_BYTE) {
        if (t->p >= t->end) {
            fail(t, "truncated byte");
            return 0;
        }
        v = (int8_t)*t->p++;
    } else {
        v = smol_thrift_int(t);
    }
    if (v < lo || v > hi) {
        fail(t, "integer out of range");
        return 0;
    }
    return v;
}

int smol_thrift_field(smol_thrift *t, int *last_id, int *id, int *type) {
    if (t->bad) return -1;
    if (t->p >= t->end) {
        fail(t, "truncated struct");
        return -1;
    }
    uint8_t b = *t->p++;
    if (b == 0) return 0;
    int delta = b >> 4;
    *type = b & 15;
    if (delta) {
        *id = *last_id + delta;
    } else {
        int64_t v = smol_thrift_int(t);
        if (v < -32768 || v > 32767) fail(t, "field id out of range");
        *id = (int)v;
    }
    if (*type > SMOL_TH_STRUCT) fail(t, "unknown field type");
    if (t->bad) return -1;
    *last_id = *id;
    return 1;
}

void smol_thrift_binary(smol_thrift *t, const uint8_t **data, size_t *len) {
    uint64_t n = varint(t);
    *data = t->p;
    *len = 0;
    if (t->bad) return;
    if (n > (uint64_t)(t->end - t->p)) {
        fail(t, "binary runs past the end");
        return;
    }
    *len = (size_t)n;
    t->p += n;
}

void smol_thrift_list(smol_thrift *t, int *elem_type, int64_t *count) {
    *elem_type = 0;
    *count = 0;
    if (t->p >= t->end) {
        fail(t, "truncated list header");
        return;
    }
    uint8_t b = *t->p++;
    uint64_t n = b >> 4;
    if (n == 15) n = varint(t);
    *elem_type = b & 15;
    if (t->bad) return;
    /* every element takes at least one byte, except booleans packed in field headers (not here) */
    if (n > (uint64_t)(t->end - t->p)) {
        fail(t, "list longer than the bytes left");
        return;
    }
    *count = (int64_t)n;
}

void smol_thrift_skip(smol_thrift *t, int type) {
    if (t->bad) return;
    if (++t->depth > THRIFT_MAX_DEPTH) {
        fail(t, "nesting too deep");
        return;
    }
    switch (type) {
    case SMOL_TH_TRUE: case SMOL_TH_FALSE: break;   /* value is in the field header */
    case SMOL_TH_BYTE:
        if (t->p >= t->end) fail(t, "truncated byte");
        else t->p++;
        break;
    case SMOL_TH_I16: case SMOL_TH_I32: case SMOL_TH_I64: (void)varint(t); break;
    case SMOL_TH_DOUBLE:
        if (t->end - t->p < 8) fail(t, "truncated double");
        else t->p += 8;
        break;
    case SMOL_TH_BINARY: {
        const uint8_t *d;
        size_t n;
        smol_thrift_binary(t, &d, &n);
        break;
    }
    case SMOL_TH_LIST: case SMOL_TH_SET: {
        int et;
        int64_t n;
        smol_thrift_list(t, &et, &n);
        for (int64_t i = 0; i < n && !t->bad; i++) {
            if (et == SMOL_TH_TRUE || et == SMOL_TH_FALSE) smol_thrift_skip(t, SMOL_TH_BYTE);
            else smol_thrift_skip(t, et);
        }
        break;
    }
    case SMOL_TH_MAP: {
        uint64_t n = varint(t);
        if (n == 0 || t->bad) break;
        if (n > (uint64_t)(t->end - t->p)) {
            fail(t, "map longer than the bytes left");
            break;
        }
        if (t->p >= t->end) {
            fail(t, "truncated map header");
            break;
        }
        uint8_t kv = *t->p++;
        int kt = kv >> 4, vt = kv & 15;
        if (kt == SMOL_TH_TRUE || kt == SMOL_TH_FALSE) kt = SMOL_TH_BYTE;
        if (vt == SMOL_TH_TRUE || vt == SMOL_TH_FALSE) vt = SMOL_TH_BYTE;
        for (uint64_t i = 0; i < n && !t->bad; i++) {
            smol_thrift_skip(t, kt);
            smol_thrift_skip(t, vt);
        }
        break;
    }
    case SMOL_TH_STRUCT: {
        int last = 0, id, ft, rc;
        while ((rc = smol_thrift_field(t, &last, &id, &ft)) == 1) smol_thrift_skip(t, ft);
        break;
    }
    default: fail(t, "unknown type"); break;
    }
    t->depth--;
}
