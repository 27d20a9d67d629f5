/* kvcache.h: the keys and values of one sequence, for every layer and position, in f16 or f32.
 * Laid out for attention (attention.h): per layer and KV head, keys are stored in tiles of
 * SMOL_KV_TILE positions, each tile transposed ([head_dim][SMOL_KV_TILE]: one row per
 * dimension), and values as rows ([position][head_dim]). Memory grows by doubling up to n_ctx
 * positions (rounded up to whole tiles); past n_ctx nothing more fits. */
#ifndef SMOL_MODEL_KVCACHE_H
#define SMOL_MODEL_KVCACHE_H
#include "smol.h"
#include <stddef.h>
#include <stdint.h>

#define SMOL_KV_TILE 64   /* positions per key tile */

typedef struct smol_kvcache {
    uint32_t type;           /* SMOL_F16 or SMOL_F32 (dtype.h numbering) */
    int n_layer, n_head_kv;  /* layers, key/value heads per layer */
    int head_dim;            /* elements per head */
    int n_ctx;               /* the most positions it may hold */
    int cap;                 /* positions allocated (a multiple of SMOL_KV_TILE) */
    int len;                 /* positions filled */
    size_t elt;              /* bytes per element */
    uint8_t *k;              /* [n_layer][n_head_kv][cap / TILE][head_dim][TILE] */
    uint8_t *v;              /* [n_layer][n_head_kv][cap][head_dim] */
    void (*to_f16)(size_t n, const float *src, uint16_t *dst);  /* the CPU's f32 -> f16 rounding */
} smol_kvcache;

/* Sets up an empty cache (no memory yet). type must be SMOL_F16 or SMOL_F32; sizes positive. */
int smol_kvcache_init(smol_kvcache *c, uint32_t type, int n_layer, int n_head_kv, int head_dim, int n_ctx,
                      smol_error *err);

/* Frees the memory of c. */
void smol_kvcache_free(smol_kvcache *c);

/* Makes room for positions [0, n) keeping what is stored: SMOL_ERANGE past n_ctx, SMOL_ENOMEM.
 * Memory past the stored positions reads as zeros. */
int smol_kvcache_reserve(smol_kvcache *c, int n, smol_error *err);

/* Stores the key and value vectors [n_head_kv * head_dim] of layer at pos (< cap). */
void smol_kvcache_store(smol_kvcache *c, int layer, int pos, const float *k, const float *v);

/* The key tile holding positions [tile * TILE, tile * TILE + TILE) of KV head kvh in layer:
 * [head_dim][SMOL_KV_TILE] elements of the cache type (tile * TILE < cap). */
const void *smol_kvcache_k_tile(const smol_kvcache *c, int layer, int kvh, int tile);

/* The value rows of KV head kvh in layer from position pos on: [..][head_dim] elements. */
const void *smol_kvcache_v_rows(const smol_kvcache *c, int layer, int kvh, int pos);

/* Element d of the key / value of KV head kvh in layer at pos, as a float (reference reads). */
float smol_kvcache_key(const smol_kvcache *c, int layer, int kvh, int pos, int d);
float smol_kvcache_value(const smol_kvcache *c, int layer, int kvh, int pos, int d);

/* IEEE half to float as the cache reads it (exact; exposed for tests). */
float smol_kvcache_half_to_float(uint16_t h);

#endif
