/* archs.h: the shapes and hyper-parameters of the model architectures `smol make-model`
 * writes (SmolLM2, Llama 3.2, Qwen2.5 and a tiny test model), as published in their
 * Hugging Face config.json files. */
#ifndef SMOL_MODEL_ARCHS_H
#define SMOL_MODEL_ARCHS_H

typedef struct smol_arch {
    const char *name;          /* the --arch name: "smollm2-135m" */
    const char *display_name;  /* general.name: "SmolLM2-135M" */
    const char *gguf_arch;     /* general.architecture: "llama" or "qwen2" */
    int n_layer;               /* transformer blocks */
    int n_embd;                /* hidden size */
    int n_head, n_head_kv;     /* query heads, key/value heads (GQA) */
    int n_ff;                  /* FFN inner size */
    int n_vocab;               /* vocabulary size */
    int n_ctx;                 /* training context length */
    double rope_theta;         /* RoPE base frequency */
    double norm_eps;           /* RMSNorm epsilon */
    int tied;                  /* 1: the output layer reuses token_embd (no output.weight) */
    int qkv_bias;              /* 1: attn_q/k/v have biases (Qwen2) */
    double rope_factor;        /* Llama 3 RoPE scaling: factor (0 = none) */
    double rope_low_freq, rope_high_freq; /* ... low/high frequency factors */
    int rope_orig_ctx;         /* ... the original context length */
} smol_arch;

/* The architecture called name (case-insensitive), or NULL. */
const smol_arch *smol_arch_find(const char *name);

/* The number of known architectures, and the i-th one (NULL past the end). */
int smol_arch_count(void);
const smol_arch *smol_arch_at(int i);

/* The parameter count of the architecture as Hugging Face counts it (without rope_freqs). */
long long smol_arch_n_params(const smol_arch *a);

/* Llama 3 RoPE scaling: the divisors of the n = head_dim/2 rotary frequencies, as llama.cpp's
 * rope_freqs.weight holds them (1 for short wavelengths, rope_factor for long, smooth between).
 * All 1 when the architecture has no scaling. */
void smol_arch_rope_factors(const smol_arch *a, float *out, int n);

#endif
