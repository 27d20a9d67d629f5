/* kvcache.c: per-sequence key/value storage in f16 or f32 (see kvcache.h). */
#include "model/kvcache.h"
#include "base/error.h"
#include "model/dtype.h"
#include <stdlib.h>
#include <string.h>

int smol_kvcache_init(smol_kvcache *c, uint32_t type, int n_layer, int kv_dim, int n_ctx, smol_error *err) {
    memset(c, 0, sizeof *c);
    if (type != SMOL_F16 && type != SMOL_F32)
        return smol_fail(err, SMOL_EINVAL, "KV cache type must be f16 or f32, got %s",
                         smol_dtype_name(type) ? smol_dtype_name(type) : "unknown");
    if (n_layer <= 0 || kv_dim <= 0 || n_ctx <= 0)
        return smol_fail(err, SMOL_EINVAL, "KV cache needs positive sizes (layers %d, kv_dim %d, n_ctx %d)", n_layer,
                         kv_dim, n_ctx);
    c->type = type;
    c->n_layer = n_layer;
    c->kv_dim = kv_dim;
    c->n_ctx = n_ctx;
    c->elt = type == SMOL_F16 ? 2 : 4;
    c->dot = smol_get_vec_dot(type);
    c->axpy = smol_get_axpy(type);
    c->rows_dot = smol_get_rows_dot(type);
    c->rows_axpy = smol_get_rows_axpy(type);
    return SMOL_OK;
}

void smol_kvcache_free(smol_kvcache *c) {
    free(c->k);
    free(c->v);
    c->k = c->v = NULL;
    c->cap = c->len = 0;
}

int smol_kvcache_reserve(smol_kvcache *c, int n, smol_error *err) {
    if (n > c->n_ctx)
        return smol_fail(err, SMOL_ERANGE, "context full: %d positions needed, the context holds %d (raise --ctx)", n,
                         c->n_ctx);
    if (n <= c->cap) return SMOL_OK;
    int cap = c->cap ? c->cap : 64;
    while (cap < n) cap *= 2;
    if (cap > c->n_ctx) cap = c->n_ctx;
    size_t bytes = (size_t)cap * c->n_layer * c->kv_dim * c->elt;
    uint8_t *k = realloc(c->k, bytes);
    if (k) c->k = k;
    uint8_t *v = k ? realloc(c->v, bytes) : NULL;
    if (!v) return smol_fail(err, SMOL_ENOMEM, "out of memory for a KV cache of %d positions", cap);
    c->v = v;
    c->cap = cap;
    return SMOL_OK;
}

static size_t at(const smol_kvcache *c, int layer, int pos, int off) {
    return (((size_t)pos * c->n_layer + layer) * c->kv_dim + off) * c->elt;
}

void smol_kvcache_store(smol_kvcache *c, int layer, int pos, const float *k, const float *v) {
    size_t o = at(c, layer, pos, 0);
    if (c->type == SMOL_F32) {
        memcpy(c->k + o, k, (size_t)c->kv_dim * 4);
        memcpy(c->v + o, v, (size_t)c->kv_dim * 4);
        return;
    }
    uint16_t *hk = (uint16_t *)(c->k + o), *hv = (uint16_t *)(c->v + o);
    for (int i = 0; i < c->kv_dim; i++) {
        hk[i] = smol_f32_to_f16(k[i]);
        hv[i] = smol_f32_to_f16(v[i]);
    }
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

/* The key of layer at pos dotted with q through the CPU's f16 / f32 kernel (quant.h). */
float smol_kvcache_dot_k(const smol_kvcache *c, int layer, int pos, int off, const float *q, int n) {
    float out;
    c->dot(n, &out, c->k + at(c, layer, pos, off), q);
    return out;
}

void smol_kvcache_add_v(const smol_kvcache *c, int layer, int pos, int off, float a, float *acc, int n) {
    c->axpy(n, a, c->v + at(c, layer, pos, off), acc);
}

void smol_kvcache_dot_k_all(const smol_kvcache *c, int layer, int n_pos, int off, const float *q, int n, float *out) {
    c->rows_dot(n, n_pos, c->k + at(c, layer, 0, off), (size_t)c->n_layer * c->kv_dim * c->elt, q, out);
}

void smol_kvcache_add_v_all(const smol_kvcache *c, int layer, int n_pos, int off, const float *a, float *acc, int n) {
    c->rows_axpy(n, n_pos, c->v + at(c, layer, 0, off), (size_t)c->n_layer * c->kv_dim * c->elt, a, acc);
}
