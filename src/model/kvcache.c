/* kvcache.c: per-sequence key/value storage in f16 or f32, in the tiled layout of kvcache.h. */
#include "model/kvcache.h"
#include "base/error.h"
#include "model/attention.h"
#include "model/dtype.h"
#include <stdlib.h>
#include <string.h>

int smol_kvcache_init(smol_kvcache *c, uint32_t type, int n_layer, int n_head_kv, int head_dim, int n_ctx,
                      smol_error *err) {
    memset(c, 0, sizeof *c);
    if (type != SMOL_F16 && type != SMOL_F32)
        return smol_fail(err, SMOL_EINVAL, "KV cache type must be f16 or f32, got %s",
                         smol_dtype_name(type) ? smol_dtype_name(type) : "unknown");
    if (n_layer <= 0 || n_head_kv <= 0 || head_dim <= 0 || n_ctx <= 0)
        return smol_fail(err, SMOL_EINVAL, "KV cache needs positive sizes (layers %d, kv heads %d, head_dim %d, n_ctx %d)",
                         n_layer, n_head_kv, head_dim, n_ctx);
    c->type = type;
    c->n_layer = n_layer;
    c->n_head_kv = n_head_kv;
    c->head_dim = head_dim;
    c->n_ctx = n_ctx;
    c->elt = type == SMOL_F16 ? 2 : 4;
    c->to_f16 = smol_attn_kernels_best()->f32_to_f16;
    return SMOL_OK;
}

void smol_kvcache_free(smol_kvcache *c) {
    free(c->k);
    free(c->v);
    c->k = c->v = NULL;
    c->cap = c->len = 0;
}

/* Spreads the n blocks of old_b bytes at the start of buf to a stride of new_b bytes (last
 * first, so nothing unmoved is overwritten) and zeros the new tail of each. */
static void spread_blocks(uint8_t *buf, size_t n, size_t old_b, size_t new_b) {
    for (size_t i = n; i-- > 0;) {
        if (i) memmove(buf + i * new_b, buf + i * old_b, old_b);
        memset(buf + i * new_b + old_b, 0, new_b - old_b);
    }
}

int smol_kvcache_reserve(smol_kvcache *c, int n, smol_error *err) {
    if (n > c->n_ctx)
        return smol_fail(err, SMOL_ERANGE, "context full: %d positions needed, the context holds %d (raise --ctx)", n,
                         c->n_ctx);
    if (n <= c->cap) return SMOL_OK;
    int most = (c->n_ctx + SMOL_KV_TILE - 1) / SMOL_KV_TILE * SMOL_KV_TILE;
    int cap = c->cap ? c->cap : SMOL_KV_TILE;
    while (cap < n) cap *= 2;
    if (cap > most) cap = most;
    size_t blocks = (size_t)c->n_layer * c->n_head_kv, row = (size_t)c->head_dim * c->elt;
    size_t old_b = (size_t)c->cap * row, new_b = (size_t)cap * row;
    uint8_t *k = realloc(c->k, blocks * new_b);
    if (k) c->k = k;
    uint8_t *v = k ? realloc(c->v, blocks * new_b) : NULL;
    if (!v) return smol_fail(err, SMOL_ENOMEM, "out of memory for a KV cache of %d positions", cap);
    c->v = v;
    spread_blocks(c->k, blocks, old_b, new_b);
    spread_blocks(c->v, blocks, old_b, new_b);
    c->cap = cap;
    return SMOL_OK;
}

/* Byte offset of the (layer, kvh) block. */
static size_t block(const smol_kvcache *c, int layer, int kvh) {
    return ((size_t)layer * c->n_head_kv + kvh) * c->cap * c->head_dim * c->elt;
}

/* Element offsets of key (pos, d) and value (pos, d) inside a block. */
static size_t k_at(const smol_kvcache *c, int pos, int d) {
    return ((size_t)(pos / SMOL_KV_TILE) * c->head_dim + d) * SMOL_KV_TILE + pos % SMOL_KV_TILE;
}

static size_t v_at(const smol_kvcache *c, int pos, int d) { return (size_t)pos * c->head_dim + d; }

void smol_kvcache_store(smol_kvcache *c, int layer, int pos, const float *k, const float *v) {
    for (int h = 0; h < c->n_head_kv; h++) {
        const float *kh = k + (size_t)h * c->head_dim, *vh = v + (size_t)h * c->head_dim;
        uint8_t *kb = c->k + block(c, layer, h), *vb = c->v + block(c, layer, h);
        if (c->type == SMOL_F32) {
            for (int d = 0; d < c->head_dim; d++) ((float *)kb)[k_at(c, pos, d)] = kh[d];
            memcpy((float *)vb + v_at(c, pos, 0), vh, (size_t)c->head_dim * 4);
        } else {
            uint16_t half[256];
            for (int d0 = 0; d0 < c->head_dim; d0 += 256) {
                int n = c->head_dim - d0 < 256 ? c->head_dim - d0 : 256;
                c->to_f16((size_t)n, kh + d0, half);
                for (int d = 0; d < n; d++) ((uint16_t *)kb)[k_at(c, pos, d0 + d)] = half[d];
                c->to_f16((size_t)n, vh + d0, (uint16_t *)vb + v_at(c, pos, d0));
            }
        }
    }
}

const void *smol_kvcache_k_tile(const smol_kvcache *c, int layer, int kvh, int tile) {
    return c->k + block(c, layer, kvh) + k_at(c, tile * SMOL_KV_TILE, 0) * c->elt;
}

const void *smol_kvcache_v_rows(const smol_kvcache *c, int layer, int kvh, int pos) {
    return c->v + block(c, layer, kvh) + v_at(c, pos, 0) * c->elt;
}

/* IEEE half -> float without branches (so loops over it vectorize): the exponent and mantissa
 * shifted into place and rescaled by 2^112 (exact for normals and subnormals); inf/NaN kept. */
static inline float half_to_float(uint16_t h) {
    uint32_t em = h & 0x7fffu, bits = em << 13, sign = (uint32_t)(h & 0x8000u) << 16;
    float f;
    memcpy(&f, &bits, 4);
    f *= 0x1p112f;
    uint32_t out;
    memcpy(&out, &f, 4);
    out = em >= 0x7c00u ? (bits | 0x7f800000u) : out;
    out |= sign;
    memcpy(&f, &out, 4);
    return f;
}

float smol_kvcache_half_to_float(uint16_t h) { return half_to_float(h); }

static float read_elt(const smol_kvcache *c, const uint8_t *base, size_t i) {
    return c->type == SMOL_F32 ? ((const float *)base)[i] : half_to_float(((const uint16_t *)base)[i]);
}

float smol_kvcache_key(const smol_kvcache *c, int layer, int kvh, int pos, int d) {
    return read_elt(c, c->k + block(c, layer, kvh), k_at(c, pos, d));
}

float smol_kvcache_value(const smol_kvcache *c, int layer, int kvh, int pos, int d) {
    return read_elt(c, c->v + block(c, layer, kvh), v_at(c, pos, d));
}
