/* archs.c: the table of model architectures for `smol make-model`. Values follow each model's
 * Hugging Face config.json (head_dim = n_embd / n_head in every row). */
#include "model/archs.h"
#include <math.h>
#include <stddef.h>
#include <strings.h>

static const smol_arch k_archs[] = {
    /* name            display          arch    L   embd  H   KV  ff     vocab   ctx     theta  eps  tied bias */
    {"smollm2-135m", "SmolLM2-135M", "llama", 30, 576, 9, 3, 1536, 49152, 8192, 1e5, 1e-5, 1, 0, 0, 0, 0, 0},
    {"smollm2-360m", "SmolLM2-360M", "llama", 32, 960, 15, 5, 2560, 49152, 8192, 1e5, 1e-5, 1, 0, 0, 0, 0, 0},
    {"smollm2-1.7b", "SmolLM2-1.7B", "llama", 24, 2048, 32, 32, 8192, 49152, 8192, 1.3e5, 1e-5, 1, 0, 0, 0, 0, 0},
    {"llama3.2-1b", "Llama-3.2-1B", "llama", 16, 2048, 32, 8, 8192, 128256, 131072, 5e5, 1e-5, 1, 0,
     32, 1, 4, 8192},
    {"llama3.2-3b", "Llama-3.2-3B", "llama", 28, 3072, 24, 8, 8192, 128256, 131072, 5e5, 1e-5, 1, 0,
     32, 1, 4, 8192},
    {"qwen2.5-0.5b", "Qwen2.5-0.5B", "qwen2", 24, 896, 14, 2, 4864, 151936, 32768, 1e6, 1e-6, 1, 1, 0, 0, 0, 0},
    {"qwen2.5-1.5b", "Qwen2.5-1.5B", "qwen2", 28, 1536, 12, 2, 8960, 151936, 32768, 1e6, 1e-6, 1, 1, 0, 0, 0, 0},
    /* a 2-layer llama with GQA and an untied output layer, for fast tests */
    {"tiny", "tiny-llama", "llama", 2, 64, 4, 2, 192, 512, 512, 1e4, 1e-5, 0, 0, 0, 0, 0, 0},
};

#define N_ARCHS ((int)(sizeof k_archs / sizeof k_archs[0]))

const smol_arch *smol_arch_find(const char *name) {
    for (int i = 0; i < N_ARCHS; i++)
        if (strcasecmp(k_archs[i].name, name) == 0) return &k_archs[i];
    return NULL;
}

int smol_arch_count(void) { return N_ARCHS; }

const smol_arch *smol_arch_at(int i) { return i >= 0 && i < N_ARCHS ? &k_archs[i] : NULL; }

long long smol_arch_n_params(const smol_arch *a) {
    long long h = a->n_embd, hd = a->n_embd / a->n_head, q = hd * a->n_head, kv = hd * a->n_head_kv;
    long long block = 2 * h + h * q + 2 * h * kv + q * h + 3 * h * a->n_ff + (a->qkv_bias ? q + 2 * kv : 0);
    return (long long)a->n_vocab * h * (a->tied ? 1 : 2) + h + a->n_layer * block;
}

void smol_arch_rope_factors(const smol_arch *a, float *out, int n) {
    double low_wavelen = a->rope_orig_ctx / (a->rope_low_freq > 0 ? a->rope_low_freq : 1);
    double high_wavelen = a->rope_orig_ctx / (a->rope_high_freq > 0 ? a->rope_high_freq : 1);
    int head_dim = a->n_embd / a->n_head;
    for (int i = 0; i < n; i++) {
        double freq = pow(a->rope_theta, -2.0 * i / head_dim), wavelen = 2 * M_PI / freq;
        if (a->rope_factor <= 0 || wavelen < high_wavelen) out[i] = 1.0f;
        else if (wavelen > low_wavelen) out[i] = (float)a->rope_factor;
        else {
            double smooth = (a->rope_orig_ctx / wavelen - a->rope_low_freq) / (a->rope_high_freq - a->rope_low_freq);
            out[i] = (float)(1.0 / ((1 - smooth) / a->rope_factor + smooth));
        }
    }
}
