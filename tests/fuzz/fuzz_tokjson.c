/* fuzz_tokjson.c: libFuzzer target for the tokenizer.json loader (tok/vocab_json.c). The input
 * up to its first NUL byte is written as tokenizer.json, the rest (if any) as the
 * tokenizer_config.json beside it, in a temporary folder. A load failure must come with a
 * message; a tokenizer that loads tokenizes a fixed text and the input's last bytes (with and
 * without special tokens), every id must be in range and decode, and where the tokenizer
 * promises it (byte-level BPE, no normalizer or added tokens, a token for every byte, no
 * decoder strip) decoding gives the text back. */
#include "smol.h"
#include "tok/tokenizer.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[64];

static void write_file(const char *name, const uint8_t *data, size_t size) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size) abort();
    fclose(f);
}

/* Byte-level BPE without normalizers, decoder strip or tokens other than normal ones, with a
 * token for every byte: decoding gives back the text tokenized. */
/* Removes the temporary folder when the fuzzer exits. */
static void remove_dir(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", g_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", g_dir);
    unlink(path);
    rmdir(g_dir);
}

static bool promises_round_trip(const smol_tokenizer *t) {
    if (t->model != SMOL_TOK_BPE || !t->byte_level || t->n_norm || t->n_added || t->strip_decoded_space ||
        t->n_vocab > 100000)
        return false;
    for (int b = 0; b < 256; b++)
        if (t->byte_id[b] < 0) return false;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->type[id] != SMOL_TOKEN_NORMAL) return false;
    return true;
}

static void exercise(const smol_tokenizer *t, const char *text, size_t len) {
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
        if (f == 0 && promises_round_trip(t) && (out_len != len || memcmp(out, text, len) != 0)) __builtin_trap();
        free(out);
        if (smol_detokenize(t, toks.ids, toks.n, SMOL_DETOKENIZE_SKIP_SPECIAL | SMOL_DETOKENIZE_LOSSY, &out, &out_len,
                            &err) != SMOL_OK)
            __builtin_trap();
        free(out);
        free(toks.ids);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 200000) return 0;
    if (!g_dir[0]) {
        snprintf(g_dir, sizeof g_dir, "/tmp/fuzz_tokjson_XXXXXX");
        if (!mkdtemp(g_dir)) abort();
        atexit(remove_dir);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_len = nul ? (size_t)(nul - data) : size;
    char cfg[128], path[128];
    snprintf(cfg, sizeof cfg, "%s/tokenizer_config.json", g_dir);
    snprintf(path, sizeof path, "%s/tokenizer.json", g_dir);
    write_file("tokenizer.json", data, json_len);
    if (nul) write_file("tokenizer_config.json", nul + 1, size - json_len - 1);
    else unlink(cfg);
    smol_tokenizer *t = NULL;
    smol_error err;
    if (smol_tok_load_json(path, &t, &err) != SMOL_OK) {
        if (t != NULL || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return 0;
    }
    static const char fixed[] = "Hello, world! It's 2024: caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87  \t\n12345 <|endoftext|>\xff";
    exercise(t, fixed, sizeof fixed - 1);
    size_t tail = size < 64 ? size : 64;
    exercise(t, (const char *)data + size - tail, tail);
    smol_tokenizer_free(t);
    return 0;
}
