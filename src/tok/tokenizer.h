/* tokenizer.h: the tokenizer object shared by its loaders (vocab_gguf.c, vocab_json.c), the
 * BPE merger (bpe.c) and the public encode/decode functions (tokenizer.c). */
#ifndef SMOL_TOK_TOKENIZER_H
#define SMOL_TOK_TOKENIZER_H
#include "smol.h"
#include "tok/pretok.h"

/* How words become tokens. */
typedef enum smol_tok_model {
    SMOL_TOK_SPM = 1,   /* SentencePiece-style: score-ranked merges over characters, '▁' for spaces */
    SMOL_TOK_BPE = 2,   /* merge-ranked BPE (byte-level when byte_level is set) */
} smol_tok_model;

/* A normalizer step from tokenizer.json, applied to text between added tokens. */
typedef enum smol_norm_op {
    SMOL_NORM_NFC = 1, SMOL_NORM_NFKC, SMOL_NORM_LOWERCASE,
    SMOL_NORM_PREPEND,      /* arg before non-empty text */
    SMOL_NORM_PREPEND_FIRST,/* arg before the first segment of the text only (Metaspace "first") */
    SMOL_NORM_REPLACE,      /* every arg replaced by arg2 */
} smol_norm_op;

typedef struct smol_norm_step {
    smol_norm_op op;
    char *arg, *arg2;
} smol_norm_step;

/* An added token matched in the text before pre-tokenization. */
typedef struct smol_added_tok {
    int32_t id;
    bool special;     /* matched only with SMOL_TOKENIZE_PARSE_SPECIAL */
    bool lstrip, rstrip;  /* absorbs the whitespace before / after it */
} smol_added_tok;

/* Open-addressing map from byte strings to token ids (slot value id+1, 0 empty). */
typedef struct smol_str_map {
    uint32_t *slots;
    uint64_t mask;
} smol_str_map;

/* Open-addressing map from a token pair to the merge's rank and result. */
typedef struct smol_pair_entry {
    uint64_t key;      /* (left << 32 | right) + 1; 0 is empty */
    uint32_t rank;
    int32_t merged;
} smol_pair_entry;

typedef struct smol_pair_map {
    smol_pair_entry *slots;
    uint64_t mask, n;
} smol_pair_map;

/* A compact copy of the pair map, for BPE vocabularies of fewer than 2^20 tokens whose merges
 * each have a rank of their own below 2^24 (ranked merges from a merges list): a slot holds
 * (left + 1) << 44 | right << 24 | rank, 0 when empty, so that the table is half the size;
 * merged_by_rank[rank] is the result of the merge of that rank, which is often rank + offset
 * for every merge (vocabularies numbered in merge order, as GPT-2's and SmolLM2's). */
typedef struct smol_pair_index {
    uint64_t *slots;
    uint64_t mask;
    int32_t *merged_by_rank;
    uint32_t n_ranks;        /* entries of merged_by_rank; -1 for a rank no merge has */
    bool off;                /* the vocabulary does not fit: slots stays NULL */
    bool by_offset;          /* every merge's result is its rank + offset (no table read) */
    int64_t offset;
} smol_pair_index;

#define SMOL_PAIR_INDEX_MAX_VOCAB ((1u << 20) - 1)
#define SMOL_PAIR_INDEX_MAX_RANK (1u << 24)

/* The key of pair (left, right) in the compact index (ids below SMOL_PAIR_INDEX_MAX_VOCAB: 40 bits). */
static inline uint64_t smol_pair_index_key(int32_t left, int32_t right) {
    return ((uint64_t)left + 1) << 20 | (uint64_t)right;
}

/* The home slot of a pair key: a multiplicative hash folded so every key bit counts. */
static inline uint64_t smol_pair_slot(uint64_t key, uint64_t mask) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (h ^ (h >> 29) ^ (h >> 47)) & mask;
}

struct smol_tokenizer {
    smol_tok_model model;
    bool byte_level;          /* BPE over the GPT-2 byte-to-unicode alphabet */
    bool ignore_merges;       /* a pre-token found whole in the vocabulary is one token */
    bool byte_fallback;       /* unknown bytes become <0xNN> tokens */
    bool add_space_prefix;    /* SPM: a space is prepended to the text */
    bool add_bos, add_eos;    /* added by SMOL_TOKENIZE_ADD_SPECIAL */
    bool strip_decoded_space; /* decode removes the first token's leading space (SPM) */
    smol_pretok_kind pretok;

    int32_t n_vocab;
    const char **text;        /* the vocabulary strings as stored */
    uint32_t *text_len;
    const char **piece;       /* the decoded bytes of each token */
    uint32_t *piece_len;
    uint8_t *type;            /* enum smol_token_attr */
    float *score;             /* SPM scores (NULL for BPE) */
    uint8_t *eog;             /* 1 for end-of-generation tokens */
    smol_str_map by_text;
    smol_pair_map pairs;
    smol_pair_index pair_index;  /* slots NULL when the vocabulary does not fit it */
    int32_t byte_id[256];     /* BPE byte-level: the token of each byte; else <0xNN>; -1 if none */

    smol_added_tok *added;    /* longest first */
    int n_added;
    uint8_t added_first[256]; /* 1 if some added token starts with this byte */
    uint32_t added_min_len;
    /* For the scan for added tokens, [0] without and [1] with special-token parsing: bit 1 of
     * added_lead[b][k] if an added token that form matches starts with byte b; the number of
     * such bytes, and the byte itself when there is just one (found with memchr). */
    uint8_t added_lead[256][2];
    int added_n_lead[2], added_one_lead[2];

    smol_norm_step *norm;
    int n_norm;

    int32_t bos, eos, unk;
    char *chat_template;

    char **blocks;            /* string storage, freed with the tokenizer */
    size_t n_blocks, cap_blocks;
};

/* An empty tokenizer of n_vocab tokens with its arrays allocated; NULL if out of memory. */
smol_tokenizer *smol_tok_alloc(int32_t n_vocab, bool with_scores);

/* Copies n bytes (plus a NUL) into storage owned by t; NULL if out of memory. */
char *smol_tok_strdup(smol_tokenizer *t, const char *s, size_t n);

/* Sets token id's text (copied) and type. */
int smol_tok_set(smol_tokenizer *t, int32_t id, const char *s, size_t n, uint8_t type, smol_error *err);

/* The id of the token whose text is s[0..n), or -1. */
int32_t smol_tok_find(const smol_tokenizer *t, const char *s, size_t n);

/* Adds the merge (left, right) with rank; pairs already present keep their lower rank. */
int smol_tok_add_merge(smol_tokenizer *t, int32_t left, int32_t right, uint32_t rank, int32_t merged);

/* Adds the merge written "LEFT RIGHT" (split at the first space after the first byte), or as
 * the two strings a and b when b is not NULL; merges naming unknown tokens are skipped.
 * Returns SMOL_OK or SMOL_ENOMEM. */
int smol_tok_add_merge_text(smol_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen, uint32_t rank);

/* Registers id as an added token matched in text (special: only with PARSE_SPECIAL). */
int smol_tok_add_added(smol_tokenizer *t, int32_t id, bool special, bool lstrip, bool rstrip);

/* Builds the text map, the decoded pieces, byte tokens, SPM merges, sorted added tokens and
 * end-of-generation marks; called by each loader once the vocabulary is set. name is the
 * source named in error messages. */
int smol_tok_finish(smol_tokenizer *t, const char *name, smol_error *err);

/* Loads a tokenizer.json (and tokenizer_config.json beside it, when present). */
int smol_tok_load_json(const char *path, smol_tokenizer **out, smol_error *err);

/* Loads a folder holding vocab.json (or NAME_vocab.json, encoder.json) and merges.txt (or
 * NAME_merges.txt, vocab.bpe): byte-level BPE with the GPT-2 pre-tokenizer. */
int smol_tok_load_pair_dir(const char *dir, smol_tokenizer **out, smol_error *err);

/* The most slots of the word table smol_tokenize keeps per call (32 bytes each). */
#define SMOL_TOK_TABLE_MAX_SLOTS (1u << 20)

/* smol_tokenize with a word table of at most max_slots slots (rounded down to a power of two;
 * below 16: no table). Once the table is half full, new words are merged each time they occur.
 * For tests of the table; the ids never depend on max_slots. */
int smol_tok_encode(const smol_tokenizer *t, const char *text, size_t len, unsigned flags, uint64_t max_slots,
                    smol_tokens *out, smol_error *err);

/* The GPT-2 byte-to-unicode code point of byte b. */
uint32_t smol_byte_to_unicode(uint8_t b);

/* The byte whose byte-to-unicode code point is cp, or -1. */
int smol_unicode_to_byte(uint32_t cp);

#endif
