/* kvcache.h: the keys and values of one sequence, for every layer and position, in f16 or f32.
 * Memory grows by doubling up to n_ctx positions; past n_ctx nothing more fits. */
#ifndef SMOL_MODEL_KVCACHE_H
#define SMOL_MODEL_KVCACHE_H
#include "smol.h"
#include "model/quant.h"

typedef struct smol_kvcache {
    uint32_t type;        /* SMOL_F16 or SMOL_F32 (dtype.h numbering) */
    int n_layer, kv_dim;  /* kv_dim = n_head_kv * head_dim */
    int n_ctx;            /* the most positions it may hold */
    int cap;              /* positions allocated */
    int len;              /* positions filled */
    size_t elt;           /* bytes per element */
    uint8_t *k, *v;       /* [cap][n_layer][kv_dim] */
    smol_vec_dot_fn dot;  /* the CPU's dot of a cached row with f32 (quant.h), set by init */
    smol_axpy_fn axpy;    /* the CPU's acc += a * cached row */
    smol_rows_dot_fn rows_dot;    /* the same over many positions */
    smol_rows_axpy_fn rows_axpy;
} smol_kvcache;

/* Sets up an empty cache (no memory yet). type must be SMOL_F16 or SMOL_F32. */
int smol_kvcache_init(smol_kvcache *c, uint32_t type, int n_layer, int kv_dim, int n_ctx, smol_error *err);

/* Frees the memory of c. */
void smol_kvcache_free(smol_kvcache *c);

/* Makes room for positions [0, n): SMOL_ERANGE past n_ctx, SMOL_ENOMEM. */
int smol_kvcache_reserve(smol_kvcache *c, int n, smol_error *err);

/* Stores the key and value vectors [kv_dim] of layer at pos (< cap). */
void smol_kvcache_store(smol_kvcache *c, int layer, int pos, const float *k, const float *v);

/* The dot product of q[n] with the key of layer at pos, elements [off, off+n). */
float smol_kvcache_dot_k(const smol_kvcache *c, int layer, int pos, int off, const float *q, int n);

/* acc[0..n) += a * value of layer at pos, elements [off, off+n). */
void smol_kvcache_add_v(const smol_kvcache *c, int layer, int pos, int off, float a, float *acc, int n);

/* out[p] = dot(q[n], key of layer at position p, elements [off, off+n)) for p < n_pos. */
void smol_kvcache_dot_k_all(const smol_kvcache *c, int layer, int n_pos, int off, const float *q, int n, float *out);

/* acc[0..n) += sum over p < n_pos of a[p] * value of layer at p, elements [off, off+n). */
void smol_kvcache_add_v_all(const smol_kvcache *c, int layer, int n_pos, int off, const float *a, float *acc, int n);

/* IEEE half to float as the cache reads it (exact; exposed for tests). */
float smol_kvcache_half_to_float(uint16_t h);

#endif
