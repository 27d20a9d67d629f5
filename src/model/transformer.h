/* transformer.h: the forward pass of a Llama-family decoder, one function per piece (RMSNorm,
 * RoPE, SwiGLU; attention is in attention.h), and the smol_ctx of include/smol.h that chains
 * them over a batch of rows (row = one token of one sequence at one position). */
#ifndef SMOL_MODEL_TRANSFORMER_H
#define SMOL_MODEL_TRANSFORMER_H
#include "model/kvcache.h"
#include "model/model.h"

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i] for i < n (out may be x). */
void smol_rmsnorm(float *out, const float *x, const float *w, int n, float eps);

/* Rotates the n_head heads of x [n_head][head_dim] in place for position pos: pairs
 * (2i, 2i+1) in normal mode, (i, i + head_dim/2) in NeoX mode, by pos * inv_freq[i]. */
void smol_rope(float *x, int n_head, int head_dim, int pos, const float *inv_freq, int neox);

/* out[n] = silu(gate[n]) * up[n] (out may be gate). */
void smol_swiglu(float *out, const float *gate, const float *up, int n);

#endif
