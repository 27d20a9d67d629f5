/* hfconfig.h: a Hugging Face `config.json` for LlamaForCausalLM and Qwen2ForCausalLM.
 * Both spellings of RoPE settings are read: transformers 5's `rope_parameters` and the older
 * top-level `rope_theta` + `rope_scaling`. */
#ifndef SMOL_MODEL_HFCONFIG_H
#define SMOL_MODEL_HFCONFIG_H
#include "smol.h"

typedef struct smol_hf_config {
    char architecture[64];       /* architectures[0], e.g. "LlamaForCausalLM" */
    char model_type[32];         /* "llama", "qwen2" */
    int vocab_size, hidden_size, intermediate_size;
    int num_hidden_layers, num_attention_heads, num_key_value_heads;
    int head_dim;                /* hidden_size / num_attention_heads when absent */
    int max_position_embeddings;
    double rms_norm_eps;
    double rope_theta;
    char rope_type[32];          /* "default", "llama3", ... */
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_position_embeddings;
    int tie_word_embeddings;     /* 1 when the output layer shares the embedding */
    int attention_bias;          /* q/k/v bias (always 1 for Qwen2) */
    int mlp_bias;
    int bos_token_id;            /* -1 when absent or null */
    int eos_token_ids[8];        /* eos_token_id may be a list */
    int n_eos_token_ids;
    char torch_dtype[16];        /* "float32", "bfloat16", ... ("dtype" in transformers 5) */
} smol_hf_config;

/* Reads path (a config.json) into out. Unknown architectures give SMOL_EUNSUPPORTED naming them;
 * missing required fields give SMOL_EFORMAT naming the field. */
int smol_hf_config_load(const char *path, smol_hf_config *out, smol_error *err);

#endif
