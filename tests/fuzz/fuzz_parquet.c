/* fuzz_parquet.c: libFuzzer target for the Parquet reader (footer, schema, pages, levels,
 * dictionaries, snappy/gzip/zstd pages). Opens the input as a Parquet image and reads up to
 * 4096 rows; every failure must come with a message, and every row must be a NUL-terminated
 * JSON object of the length reported. Inputs starting with "SNAPPY" test the Snappy
 * decompressor on the rest. */
#include "smol.h"
#include "data/parquet.h"
#include "data/snappy.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void fuzz_snappy(const uint8_t *data, size_t size) {
    size_t len;
    smol_error err;
    if (smol_snappy_length(data, size, &len, &err) != SMOL_OK || len > (1u << 20)) return;
    uint8_t *out = malloc(len + 1);
    if (!out) return;
    if (smol_snappy_decompress(data, size, out, len, &err) != SMOL_OK && !err.msg[0]) __builtin_trap();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size >= 6 && memcmp(data, "SNAPPY", 6) == 0) {
        fuzz_snappy(data + 6, size - 6);
        return 0;
    }
    smol_parquet *p = NULL;
    smol_error err;
    if (smol_parquet_open_memory(data, size, "fuzz.parquet", &p, &err) != SMOL_OK) {
        if (p != NULL || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return 0;
    }
    for (int i = 0; i < smol_parquet_num_columns(p); i++)
        if (!smol_parquet_column_name(p, i)) __builtin_trap();
    const char *json;
    size_t len;
    int rc = 1;
    for (int row = 0; row < 4096 && (rc = smol_parquet_next_json(p, &json, &len, &err)) == 1; row++)
        if (len < 2 || json[0] != '{' || json[len - 1] != '}' || json[len] != 0 || strlen(json) != len) __builtin_trap();
    if (rc < 0 && !err.msg[0]) __builtin_trap();
    smol_parquet_close(p);
    return 0;
}
