/* snappy.h: decompression of raw Snappy blocks (the format Parquet's SNAPPY codec stores:
 * a varint length, then literals and back-references). */
#ifndef SMOL_DATA_SNAPPY_H
#define SMOL_DATA_SNAPPY_H
#include "smol.h"
#include <stddef.h>
#include <stdint.h>

/* Reads the uncompressed length from the block's preamble: SMOL_OK or SMOL_EFORMAT. */
int smol_snappy_length(const uint8_t *src, size_t n, size_t *len, smol_error *err);

/* Decompresses the block src[0..n) into dst, which must hold exactly the length the preamble
 * gives (dst_len). SMOL_EFORMAT (with the byte offset) for a corrupt or truncated block. */
int smol_snappy_decompress(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len, smol_error *err);

#endif
