/* pretok.h: pre-tokenization, the split of text into words before BPE, as the regex of each
 * tokenizer family defines it (GPT-2, Llama-3, Qwen2, ...), written by hand over Unicode
 * categories. Each family is matched exactly as the reference regex engines match it. */
#ifndef SMOL_TOK_PRETOK_H
#define SMOL_TOK_PRETOK_H
#include <stddef.h>
#include <stdint.h>

typedef enum smol_pretok_kind {
    SMOL_PRETOK_NONE = 0,        /* the whole text is one word */
    SMOL_PRETOK_GPT2,            /* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
    SMOL_PRETOK_LLAMA3,          /* Llama-3: case-insensitive contractions, \p{N}{1,3}, ... */
    SMOL_PRETOK_QWEN2,           /* Qwen2: as Llama-3 but single digits */
    SMOL_PRETOK_SMOLLM,          /* SmolLM/SmolLM2: digits split one by one, then GPT-2 */
    SMOL_PRETOK_DEEPSEEK_LLM,
    SMOL_PRETOK_DEEPSEEK_CODER,
    SMOL_PRETOK_FALCON,
    SMOL_PRETOK_STARCODER,       /* also refact: digits one by one, then GPT-2 */
    SMOL_PRETOK_MPT,             /* also gpt-neox */
    SMOL_PRETOK_COUNT
} smol_pretok_kind;

/* Called for each word [start, start+len) of text, in order; return nonzero to stop. */
typedef int (*smol_pretok_cb)(void *ctx, size_t start, size_t len);

/* Splits text (UTF-8; invalid bytes are treated as single non-letter characters) into words.
 * Returns 0, or the nonzero value a callback returned. */
int smol_pretok_split(smol_pretok_kind kind, const char *text, size_t len, smol_pretok_cb cb, void *ctx);

/* The kind for a llama.cpp `tokenizer.ggml.pre` name ("gpt-2", "llama-bpe", "qwen2", "smollm",
 * "deepseek-llm", ...), or -1 if unknown. */
int smol_pretok_from_name(const char *name);

/* The canonical llama.cpp name of kind. */
const char *smol_pretok_name(smol_pretok_kind kind);

#endif
