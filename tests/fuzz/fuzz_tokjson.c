/* fuzz_tokjson.c: libFuzzer target for the tokenizer.json loader (tok/vocab_json.c). The input
 * up to its first NUL byte is written as tokenizer.json, the rest (if any) as the
 * tokenizer_config.json beside it, in a temporary folder. A load failure must come with a
 * message; a tokenizer that loads tokenizes a fixed text and the input's last bytes (with and
 * without special tokens) with the checks of fuzz_tok_check.h. */
#include "smol.h"
#include "tok/tokenizer.h"
#include "fuzz_tok_check.h"
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

/* Removes the temporary folder when the fuzzer exits. */
static void remove_dir(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/tokenizer.json", g_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", g_dir);
    unlink(path);
    rmdir(g_dir);
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
    fuzz_tok_exercise(t, fixed, sizeof fixed - 1);
    size_t tail = size < 64 ? size : 64;
    fuzz_tok_exercise(t, (const char *)data + size - tail, tail);
    smol_tokenizer_free(t);
    return 0;
}
