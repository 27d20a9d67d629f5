/* tokindex.h: the per-tokenizer index the grammar matcher walks to build token masks: every
 * usable token's decoded bytes in a byte trie laid out in preorder (a subtree is a contiguous
 * run, so a rejected prefix skips its whole subtree with one jump), plus the end-of-generation
 * tokens. Built once per tokenizer and shared, read-only, by every matcher. For each node it also
 * records what its subtree spells (its ASCII bytes, and whether every path from the node down is
 * strictly valid UTF-8), so a walk can accept a whole subtree at once from a state whose
 * alphabet holds all of it. */
#ifndef SMOL_GEN_TOKINDEX_H
#define SMOL_GEN_TOKINDEX_H
#include "gen/grammar.h"

struct smol_token_index {
    const smol_tokenizer *tok;
    int32_t n_vocab;
    uint32_t n_nodes;        /* trie nodes, root excluded, in preorder */
    uint8_t *byte;           /* [n_nodes] the byte on the edge into node i */
    uint16_t *depth;         /* [n_nodes] 1 for children of the root */
    uint32_t *end;           /* [n_nodes] the first node after i's subtree */
    uint32_t *parent;        /* [n_nodes] the parent node, UINT32_MAX for children of the root */
    uint32_t *tok_off;       /* [n_nodes + 1] node i's tokens are toks[tok_off[i] .. tok_off[i+1]) */
    int32_t *toks;
    uint16_t max_depth;
    uint64_t (*below)[2];    /* [n_nodes] ASCII bytes on the paths from node i down, its own byte
                                included (bit b of word b / 64) */
    uint8_t *below_flags;    /* [n_nodes] SMOL_TI_BELOW_* */
    uint16_t *height;        /* [n_nodes] bytes on the longest path from node i down, its own included */
    uint32_t *text_mask;     /* [(n_vocab + 31) / 32] the tokens in the trie */
    int32_t *eog;            /* end-of-generation token ids */
    int n_eog;
    uint8_t *kind;           /* [n_vocab] SMOL_TI_* */
    const char **bytes;      /* [n_vocab] decoded bytes (point into the tokenizer) */
    uint32_t *len;
};

enum { SMOL_TI_NONE = 0, SMOL_TI_TEXT = 1, SMOL_TI_EOG = 2 };

/* below_flags, over the paths from the node's own byte down: some byte is >= 0x80; every path is
 * a strictly valid UTF-8 sequence (whole characters, the last one possibly incomplete; no overlong
 * forms, surrogates or code points past U+10FFFF). */
enum { SMOL_TI_BELOW_NONASCII = 1, SMOL_TI_BELOW_UTF8 = 2 };

#endif
