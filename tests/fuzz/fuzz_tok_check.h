/* fuzz_tok_check.h: the checks the tokenizer fuzz targets (fuzz_tokjson.c, fuzz_vocab_gguf.c)
 * run on every tokenizer that loads: ids in range, every id decodes, batch and streaming
 * detokenization succeed, and where the tokenizer promises it, decoding gives the text back. */
#ifndef SMOL_FUZZ_TOK_CHECK_H
#define SMOL_FUZZ_TOK_CHECK_H
#include "smol.h"
#include "tok/tokenizer.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Byte-level BPE without normalizers, added tokens or decoder strip, only normal tokens and a
 * token for every byte: decoding gives back the text tokenized. */
static bool fuzz_tok_promises_round_trip(const smol_tokenizer *t) {
    if (t->model != SMOL_TOK_BPE || !t->byte_level || t->n_norm || t->n_added || t->strip_decoded_space ||
        t->n_vocab > 100000)
        return false;
    for (int b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) return false;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->type[id] != SMOL_TOKEN_NORMAL) return false;
    return true;
}

/* Tokenizes text without and with special tokens and checks what it can; traps on a broken
 * promise (a failure without a message, an id out of range, a decode that fails). */
static void fuzz_tok_exercise(const smol_tokenizer *t, const char *text, size_t len) {
    static const unsigned flags[] = {0, SMOL_TOKENIZE_ADD_SPECIAL | SMOL_TOKENIZE_PARSE_SPECIAL};
    for (int f = 0; f < 2; f++) {
        smol_tokens toks = {0};
        smol_error err;
        if (smol_tokenize(t, text, len, flags[f], &toks, &err) != SMOL_OK) {
            if (err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
            continue;
        }
        for (size_t i = 0; i < toks.n; i++) {
            if (toks.ids[i] < 0 || toks.ids[i] >= smol_tokenizer_n_vocab(t)) __builtin_trap();
            char buf[8];
            int n = smol_token_to_bytes(t, toks.ids[i], buf, sizeof buf);
            if (n < 0 && smol_token_to_bytes(t, toks.ids[i], NULL, 0) != n) __builtin_trap();
        }
        char *out = NULL;
        size_t out_len = 0;
        if (smol_detokenize(t, toks.ids, toks.n, 0, &out, &out_len, &err) != SMOL_OK) __builtin_trap();
        if (f == 0 && fuzz_tok_promises_round_trip(t) && (out_len != len || memcmp(out, text, len) != 0))
            __builtin_trap();
        free(out);
        if (smol_detokenize(t, toks.ids, toks.n, SMOL_DETOKENIZE_SKIP_SPECIAL | SMOL_DETOKENIZE_LOSSY, &out, &out_len,
                            &err) != SMOL_OK)
            __builtin_trap();
        free(out);
        smol_detok_stream s;
        smol_detok_stream_init(&s, t, f ? SMOL_DETOKENIZE_SKIP_SPECIAL : 0);
        char buf[64];
        for (size_t i = 0; i < toks.n; i++)
            if (smol_detok_stream_push(&s, toks.ids[i], buf, sizeof buf) > (int)sizeof buf) __builtin_trap();
        smol_detok_stream_flush(&s, buf, sizeof buf);
        free(toks.ids);
    }
}

#endif
