/* fuzz_safetensors.c: libFuzzer target over the in-memory safetensors parser. Any input must
 * give SMOL_OK or an error status, never a crash; on success every tensor must lie inside the
 * input and be findable by name. */
#include "smol.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    smol_st *st = NULL;
    smol_error err;
    if (smol_st_open_memory(data, size, "fuzz", &st, &err) != SMOL_OK) return 0;
    for (int64_t i = 0; i < smol_st_tensor_count(st); i++) {
        const smol_st_tensor *t = smol_st_tensor_at(st, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size || smol_st_find(st, t->name) != t) abort();
        volatile uint8_t sink = 0;
        if (t->nbytes) sink ^= p[0] ^ p[t->nbytes - 1];
        (void)sink;
    }
    for (int64_t i = 0; i < smol_st_metadata_count(st); i++)
        if (!smol_st_metadata_get(st, smol_st_metadata_key(st, i))) abort();
    smol_st_free(st);
    return 0;
}
