/* fuzz_vocab_gguf.c: libFuzzer target for the tokenizer built from GGUF metadata
 * (tok/vocab_gguf.c). The input describes tokenizer.ggml.* keys: a 4-byte header (model,
 * which arrays are present, pre-tokenizer, bos/eos/eot ids, array lengths off by one), then
 * lines: tokens up to the first empty line, merges after it. Token types and scores are
 * derived from each token's bytes (out-of-range types, NaN and infinite scores included). The
 * GGUF writer writes the file, the reader opens it, and the tokenizer is built; a failure must
 * come with a message. A tokenizer that loads tokenizes a fixed text and the tokens' own bytes
 * (with and without special tokens) with the checks of fuzz_tok_check.h. */
#include "smol.h"
#include "tok/tokenizer.h"
#include "fuzz_tok_check.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINES 4096

static const char *const k_pre[] = {"default", "gpt-2", "llama-bpe", "qwen2", "smollm", "starcoder", "no-such-pre", NULL};

static char g_path[96];
static volatile uint64_t g_sink;

typedef struct lines {
    char *s[MAX_LINES];
    int n;
} lines;

static void lines_free(lines *l) {
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    l->n = 0;
}

/* Removes the GGUF file when the fuzzer exits. */
static void remove_file(void) { unlink(g_path); }

/* Splits data into the token lines and the merge lines (after the first empty line). */
static void split(const uint8_t *data, size_t size, lines *toks, lines *merges) {
    lines *cur = toks;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n') continue;
        if (i == start && cur == toks) {
            cur = merges;
        } else if (cur->n < MAX_LINES) {
            cur->s[cur->n++] = strndup((const char *)data + start, i - start);
        }
        start = i + 1;
    }
}

static int build_gguf(const uint8_t *h, const lines *toks, const lines *merges, smol_error *err) {
    smol_gguf_writer *w = smol_gguf_writer_new();
    if (!w) abort();
    int rc = smol_gguf_writer_set_str(w, "tokenizer.ggml.model", h[0] & 1 ? "llama" : h[0] & 2 ? "gpt2" : "bert", err);
    uint64_t n = (uint64_t)toks->n, n_off = (h[1] & 0x80) && n ? n - 1 : n;
    if (!rc && toks->n && !(h[0] & 4))
        rc = smol_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks->s, n, err);
    int32_t *types = malloc((n + 1) * sizeof *types);
    float *scores = malloc((n + 1) * sizeof *scores);
    if (!types || !scores) abort();
    for (uint64_t i = 0; i < n; i++) {
        size_t len = strlen(toks->s[i]);
        uint8_t c = len ? (uint8_t)toks->s[i][0] : 0;
        types[i] = (h[1] & 0x40) ? (int32_t)(c % 9) : len == 1 || c != '<' ? 1 : 3;
        scores[i] = (h[1] & 0x20) && c == '!' ? NAN : (h[1] & 0x20) && c == '?' ? -INFINITY : -(float)len - (float)i * 0.01f;
    }
    if (!rc && (h[0] & 8)) rc = smol_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", SMOL_GGUF_INT32, types, n_off, err);
    if (!rc && (h[0] & 16)) rc = smol_gguf_writer_set_arr(w, "tokenizer.ggml.scores", SMOL_GGUF_FLOAT32, scores, n, err);
    if (!rc && (h[0] & 32))
        rc = smol_gguf_writer_set_arr(w, "tokenizer.ggml.scores", (h[1] & 0x80) ? SMOL_GGUF_INT32 : SMOL_GGUF_FLOAT32,
                                      scores, n_off, err);
    if (!rc && !(h[0] & 64))
        rc = smol_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges->s,
                                          (uint64_t)merges->n, err);
    const char *pre = k_pre[h[1] & 7];
    if (!rc && pre) rc = smol_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre, err);
    if (!rc && (h[1] & 8)) rc = smol_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", h[1] & 16, err);
    if (!rc && (h[0] & 128)) {
        rc = smol_gguf_writer_set_i32(w, "tokenizer.ggml.bos_token_id", (int8_t)h[2], err);
        if (!rc) rc = smol_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", h[3], err);
        if (!rc) rc = smol_gguf_writer_set_i32(w, "tokenizer.ggml.eot_token_id", (int8_t)(h[2] ^ h[3]), err);
        if (!rc) rc = smol_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", true, err);
        if (!rc) rc = smol_gguf_writer_set_str(w, "tokenizer.chat_template", "{{ '<|im_start|>' }}", err);
    }
    if (!rc) rc = smol_gguf_writer_write(w, g_path, err);
    smol_gguf_writer_free(w);
    free(types);
    free(scores);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4 || size > 100000) return 0;
    if (!g_path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(g_path, sizeof g_path, "%s/fuzz_vocab_gguf_%d.gguf", dir, (int)getpid());
        atexit(remove_file);
    }
    lines toks = {{0}, 0}, merges = {{0}, 0};
    split(data + 4, size - 4, &toks, &merges);
    smol_error err;
    if (build_gguf(data, &toks, &merges, &err) != SMOL_OK) __builtin_trap();   /* the writer takes any strings */
    smol_gguf *g = NULL;
    if (smol_gguf_open(g_path, &g, &err) != SMOL_OK) __builtin_trap();          /* and the reader what it wrote */
    smol_tokenizer *t = NULL;
    if (smol_tokenizer_from_gguf(g, &t, &err) != SMOL_OK) {
        if (t != NULL || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
    } else {
        smol_gguf_free(g);
        g = NULL;   /* the tokenizer must not point into the file */
        static const char fixed[] = "Hello, world! It's 2024: caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87  \t\n12345 <s></s>\xff";
        fuzz_tok_exercise(t, fixed, sizeof fixed - 1);
        size_t tail = size - 4 < 128 ? size - 4 : 128;
        fuzz_tok_exercise(t, (const char *)data + size - tail, tail);
        if (smol_tokenizer_chat_template(t)) g_sink += strlen(smol_tokenizer_chat_template(t));
        smol_tokenizer_free(t);
    }
    smol_gguf_free(g);
    lines_free(&toks);
    lines_free(&merges);
    return 0;
}
