/* bpe.h: merging one word into tokens, for byte-level BPE (GPT-2 family, ranked merges over
 * bytes) and SentencePiece-style BPE (merges over characters, ranked by the merged token's
 * score), with byte fallback for what the vocabulary does not hold. */
#ifndef SMOL_TOK_BPE_H
#define SMOL_TOK_BPE_H
#include "tok/tokenizer.h"

typedef struct smol_bpe_sym {
    int32_t id;          /* token id, or -1 for a character the vocabulary lacks */
    int32_t prev, next;  /* neighbours, -1 at the ends */
    uint32_t start, len; /* bytes of the word it covers; len 0 once merged away */
} smol_bpe_sym;

typedef struct smol_bpe_cand {
    uint32_t rank;       /* merge rank: lower merges first */
    uint32_t left;       /* index of the left symbol: lower first among equal ranks */
    int32_t lid, rid;    /* the pair when queued, to spot outdated entries */
} smol_bpe_cand;

/* Scratch memory reused across words; zero-initialise, free with smol_bpe_work_free. */
typedef struct smol_bpe_work {
    smol_bpe_sym *sym;
    size_t cap_sym;
    smol_bpe_cand *heap;
    size_t n_heap, cap_heap;
    char *enc;           /* the byte-level form of a word, for whole-word lookups */
    size_t cap_enc;
} smol_bpe_work;

/* Appends the tokens of word[0..len) to out. Returns SMOL_OK or SMOL_ENOMEM. */
int smol_bpe_word(const smol_tokenizer *t, smol_bpe_work *w, const char *word, size_t len, smol_tokens *out);

/* Appends id to out, growing it; SMOL_ENOMEM on failure. */
int smol_tokens_push(smol_tokens *out, int32_t id);

/* Frees the scratch memory of w. */
void smol_bpe_work_free(smol_bpe_work *w);

#endif
