/* model.h: a Llama-family model in memory: hyper-parameters and weights, bound from a GGUF file
 * or a Hugging Face folder (config.json + safetensors). Weight matrices point into the file
 * mapping when their type can be used as stored; norms and biases are small f32 copies. */
#ifndef SMOL_MODEL_MODEL_H
#define SMOL_MODEL_MODEL_H
#include "smol.h"

/* A weight matrix: `rows` rows of `cols` elements of `type`, each `row_bytes` long. */
typedef struct smol_weight {
    const void *data;
    uint32_t type;
    int64_t rows, cols;
    size_t row_bytes;
} smol_weight;

typedef struct smol_layer {
    const float *attn_norm, *ffn_norm;   /* [n_embd] */
    const float *bq, *bk, *bv;           /* q/k/v biases (Qwen2), NULL when absent */
    smol_weight wq, wk, wv, wo;          /* [n_head*head_dim, n_embd] ... [n_embd, n_head*head_dim] */
    smol_weight w_gate, w_up, w_down;    /* [n_ff, n_embd], [n_ff, n_embd], [n_embd, n_ff] */
} smol_layer;

struct smol_model {
    smol_model_info info;
    smol_weight tok_embd;                /* [n_vocab, n_embd] */
    smol_weight output;                  /* [n_vocab, n_embd]; the embedding when tied */
    const float *output_norm;            /* [n_embd] */
    smol_layer *layers;                  /* [n_layer] */
    float *rope_inv_freq;                /* [head_dim/2]: the rotation speed of each pair, scaled */
    smol_gguf *gguf;                     /* the GGUF file the weights point into, or NULL */
    void *st;                            /* the safetensors files they point into, or NULL */
    void **owned;                        /* buffers allocated at load (converted tensors) */
    int n_owned, cap_owned;
};

/* Converts every weight matrix of m to type t (quantizing or dequantizing rows); matrices whose
 * rows are not a whole number of t's blocks get q8_0 (or f16). With back_to_f32 set, converts
 * them to t and then back to f32: the "dequantized" twin of a quantized model, for tests. */
int smol_model_convert_weights(smol_model *m, uint32_t t, int back_to_f32, smol_error *err);

/* Row `row` of weight w as n_embd floats in out (any stored type). */
int smol_weight_row_f32(const smol_weight *w, int64_t row, float *out);

#endif
