/* convert.h: writing GGUF models: a Hugging Face folder to GGUF (smol_convert_hf), GGUF to GGUF
 * with other weight types (smol_quantize_gguf), and the pieces `smol make-model` shares with
 * them: the tokenizer keys llama.cpp's converter writes, and llama.cpp's choice of a tensor's
 * quantized type. The public functions are declared in include/smol.h ("Conversion"). */
#ifndef SMOL_MODEL_CONVERT_H
#define SMOL_MODEL_CONVERT_H
#include "smol.h"

/* A vocabulary to embed as tokenizer.ggml.*: tokens (owned copies), types, merges, special ids. */
typedef struct smol_vocab {
    char **tokens;
    int32_t *types;          /* 1 normal, 3 control, 4 user-defined, 5 unused (padding) */
    int n;
    char **merges;
    int n_merges;
    const char *pre;         /* tokenizer.ggml.pre */
    int bos, eos, pad;       /* -1 when absent */
    int add_bos;
    char *chat_template;     /* NULL when absent */
    char note[512];          /* a warning for the user (unknown pre-tokenizer, no tokenizer_config.json), or "" */
} smol_vocab;

/* Reads a Hugging Face byte-level BPE tokenizer.json (and the tokenizer_config.json beside it)
 * into v with n_vocab ids, as llama.cpp's converter embeds it; ids the file does not use become
 * "[PADn]" unused tokens. Ids past n_vocab give SMOL_ERANGE naming the token. */
int smol_vocab_from_hf(smol_vocab *v, const char *tokenizer_json, int n_vocab, smol_error *err);

/* The built-in vocabulary of n_vocab >= 259 ids: 256 byte tokens in GPT-2's spelling, then
 * <|endoftext|>, <|im_start|>, <|im_end|> and <|reserved_N|> control tokens, no merges, ChatML. */
int smol_vocab_builtin(smol_vocab *v, int n_vocab, smol_error *err);

/* Frees what v holds. */
void smol_vocab_free(smol_vocab *v);

/* Sets the tokenizer.ggml.* keys (and tokenizer.chat_template) of v in w. */
int smol_vocab_write(smol_gguf_writer *w, const smol_vocab *v, smol_error *err);

/* llama.cpp's rule for spending more bits on layer i of n in a Q4_K_M model. */
int smol_quant_use_more_bits(int i, int n);

/* The type llama.cpp falls back to when rows of ne0 elements are not whole blocks of t
 * (q4_K -> q5_0, q5_K -> q5_1, q6_K -> q8_0, q2_K/q3_K -> iq4_nl, else f16); t when they are. */
uint32_t smol_quant_fallback_type(uint32_t t, int64_t ne0);

/* llama.cpp's general.file_type for a target type (a tensor type id or SMOL_TYPE_Q4_K_M). */
uint32_t smol_quant_file_type(int target);

/* The type of a 2-D weight tensor under llama.cpp's quantization rules. role: "token_embd",
 * "output", "attn_q", "attn_v", "ffn_down", ...; layer -1 outside blocks; has_output: the model
 * has its own output.weight (else token_embd is the output). pure: every matrix gets target. */
uint32_t smol_quant_tensor_type(int target, int pure, const char *role, int layer, int n_layer, int64_t ne0,
                                int has_output);

#endif
