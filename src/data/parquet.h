/* parquet.h: a reader for Apache Parquet files with flat schemas, row by row as JSON objects.
 *   smol_parquet *p; smol_parquet_open("data.parquet", &p, err);
 *   while ((rc = smol_parquet_next_json(p, &json, &len, err)) == 1) { ... }   rc 0: end, < 0: error
 * Supported: data pages v1 and v2, dictionary pages; encodings PLAIN, PLAIN_DICTIONARY and
 * RLE_DICTIONARY (RLE/bit-packed hybrid levels and indices), DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY; physical types BYTE_ARRAY, INT32,
 * INT64, FLOAT, DOUBLE, BOOLEAN; compression UNCOMPRESSED, SNAPPY, GZIP, ZSTD. Top-level
 * columns, required or optional; nested (repeated or group) columns are skipped and listed by
 * smol_parquet_skipped(). Errors name the file, the row group and the column. */
#ifndef SMOL_DATA_PARQUET_H
#define SMOL_DATA_PARQUET_H
#include "smol.h"
#include <stddef.h>
#include <stdint.h>

typedef struct smol_parquet smol_parquet;

/* Opens path (memory-mapped) and reads its footer and schema. */
int smol_parquet_open(const char *path, smol_parquet **out, smol_error *err);

/* Opens a Parquet image held in memory (data must outlive p); name is used in messages. */
int smol_parquet_open_memory(const uint8_t *data, size_t size, const char *name, smol_parquet **out,
                             smol_error *err);

/* The next row as one JSON object text (string, integer, float and boolean columns; null for
 * nulls), NUL-terminated and valid until the next call: 1 row, 0 end, < 0 error naming the file,
 * row group and column. Byte arrays that are not valid UTF-8 are written with U+FFFD. */
int smol_parquet_next_json(smol_parquet *p, const char **json, size_t *len, smol_error *err);

/* The number of rows the footer declares. */
int64_t smol_parquet_num_rows(const smol_parquet *p);

/* The number of columns read (top-level leaf columns) and the name of column i. */
int smol_parquet_num_columns(const smol_parquet *p);
const char *smol_parquet_column_name(const smol_parquet *p, int i);

/* Comma-separated names of the nested columns that are skipped ("" when none). */
const char *smol_parquet_skipped(const smol_parquet *p);

/* Closes p; NULL is a no-op. */
void smol_parquet_close(smol_parquet *p);

#endif
