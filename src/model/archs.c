/* archs.c: the table of model architectures for `smol make-model`. Values follow each model's
 * Hugging Face config.json (head_dim = n_embd / n_head in every row). */
#include "model/archs.h"
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
