/* thrift.h: decoding the Thrift compact protocol (the encoding of Parquet's metadata) from a
 * bounded byte range. Every read checks the bounds; a failure sets t->bad and later reads
 * return zeros, so callers check t->bad once after a structure. */
#ifndef SMOL_DATA_THRIFT_H
#define SMOL_DATA_THRIFT_H
#include <stddef.h>
#include <stdint.h>

/* Compact-protocol type codes (field headers and collection element types). */
enum {
    SMOL_TH_STOP = 0, SMOL_TH_TRUE = 1, SMOL_TH_FALSE = 2, SMOL_TH_BYTE = 3, SMOL_TH_I16 = 4,
    SMOL_TH_I32 = 5, SMOL_TH_I64 = 6, SMOL_TH_DOUBLE = 7, SMOL_TH_BINARY = 8, SMOL_TH_LIST = 9,
    SMOL_TH_SET = 10, SMOL_TH_MAP = 11, SMOL_TH_STRUCT = 12
};

typedef struct smol_thrift {
    const uint8_t *p, *end;   /* the bytes not yet read */
    int depth;                /* nesting of structs and collections being skipped */
    int bad;                  /* 1 after a read past the end or a malformed value */
    const char *why;          /* a static description of the first failure */
} smol_thrift;

/* Starts decoding size bytes at data. */
void smol_thrift_init(smol_thrift *t, const uint8_t *data, size_t size);

/* Reads the next field header of the struct being read: returns 1 with *id and *type (for
 * booleans, *type is SMOL_TH_TRUE or SMOL_TH_FALSE and holds the value), 0 at the struct's
 * STOP, -1 on bad input. *last_id is the previous field id of this struct (start with 0). */
int smol_thrift_field(smol_thrift *t, int *last_id, int *id, int *type);

/* Reads a zigzag varint integer (i16, i32 or i64). */
int64_t smol_thrift_int(smol_thrift *t);

/* Reads an integer of the given field type and checks it lies in [lo, hi]. */
int64_t smol_thrift_int_in(smol_thrift *t, int type, int64_t lo, int64_t hi);

/* Reads a binary/string: *data points into the input, *len its length. */
void smol_thrift_binary(smol_thrift *t, const uint8_t **data, size_t *len);

/* Reads a list or set header: the element type and count (bounded by the bytes left). */
void smol_thrift_list(smol_thrift *t, int *elem_type, int64_t *count);

/* Skips one value of the given type (structs and collections recursively, depth-limited). */
void smol_thrift_skip(smol_thrift *t, int type);

#endif
