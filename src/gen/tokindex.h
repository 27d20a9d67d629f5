/* tokindex.h: the per-tokenizer index the grammar matcher walks to build token masks: every
 * usable token's decoded bytes in a byte trie laid out in preorder (a subtree is a contiguous
 * run, so a rejected prefix skips its whole subtree with one jump), plus the end-of-generation
 * tokens. Built once per tokenizer and shared, read-only, by every matcher. */
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
    int32_t *eog;            /* end-of-generation token ids */
    int n_eog;
    uint8_t *kind;           /* [n_vocab] SMOL_TI_* */
    const char **bytes;      /* [n_vocab] decoded bytes (point into the tokenizer) */
    uint32_t *len;
};

enum { SMOL_TI_NONE = 0, SMOL_TI_TEXT = 1, SMOL_TI_EOG = 2 };

#endif
