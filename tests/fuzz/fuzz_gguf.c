/* fuzz_gguf.c: libFuzzer target for the GGUF reader. Parses the input, then walks every
 * metadata value (all kinds, nested arrays included) and touches the first and last byte of
 * every tensor, so ASan sees any pointer the reader hands out that is not inside the input. */
#include "smol.h"
#include <stdint.h>
#include <string.h>

static volatile uint64_t g_sink;

static void walk_value(const smol_gguf_value *v, int depth) {
    g_sink += v->type + v->len;
    if (depth > 16) __builtin_trap();  /* the reader caps nesting well below this */
    switch (v->type) {
    case SMOL_GGUF_STRING:
        g_sink += strlen(v->v.str) + (uint8_t)v->v.str[v->len];  /* the NUL after len bytes */
        break;
    case SMOL_GGUF_ARRAY:
        if (v->arr_type == SMOL_GGUF_STRING) {
            for (uint64_t i = 0; i < v->len; i++) {
                g_sink += v->str_lens[i] + (uint8_t)v->v.strs[i][v->str_lens[i]];
                if (v->str_lens[i]) g_sink += (uint8_t)v->v.strs[i][0];
            }
        } else if (v->arr_type == SMOL_GGUF_ARRAY) {
            for (uint64_t i = 0; i < v->len; i++) walk_value(&v->v.vals[i], depth + 1);
        } else if (v->len) {
            static const int sz[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
            const uint8_t *p = v->v.arr;
            g_sink += p[0] + p[v->len * (uint64_t)sz[v->arr_type] - 1];
        }
        break;
    default:
        g_sink += v->v.u64;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    smol_gguf *g = NULL;
    smol_error err;
    if (smol_gguf_open_memory(data, size, &g, &err) != SMOL_OK) {
        if (g != NULL || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return 0;
    }
    for (int64_t i = 0; i < smol_gguf_kv_count(g); i++) {
        const char *key = smol_gguf_kv_key(g, i);
        walk_value(smol_gguf_kv_value(g, i), 0);
        if (smol_gguf_get(g, key) == NULL) __builtin_trap();  /* every key can be looked up */
    }
    for (int64_t i = 0; i < smol_gguf_tensor_count(g); i++) {
        const smol_gguf_tensor *t = smol_gguf_tensor_at(g, i);
        if (t->n_dims < 1 || t->n_dims > 4 || !smol_dtype_name(t->type)) __builtin_trap();
        if (smol_gguf_find_tensor(g, t->name) != t) __builtin_trap();
        if (t->nbytes) {
            const uint8_t *p = t->data;
            if (p < data || p + t->nbytes > data + size) __builtin_trap();
            g_sink += p[0] + p[t->nbytes - 1];
        }
    }
    smol_gguf_free(g);
    return 0;
}
