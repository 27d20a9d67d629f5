/* fuzz_fasttext.c: libFuzzer target for the fastText model loader. Loads the input as a
 * .bin/.ftz image; when it loads, predicts a few texts (words, character n-grams, labels,
 * invalid UTF-8) with all labels, and saves and reloads it, so ASan/UBSan check every row,
 * bucket and tree index the loader accepted. */
#include "smol.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    smol_ft *m = NULL;
    smol_error err;
    if (smol_ft_load_memory(data, size, "fuzz.bin", &m, &err) != SMOL_OK) {
        if (m != NULL || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return 0;
    }
    smol_ft_scratch *s = smol_ft_scratch_new(m);
    if (s) {
        static const char *const texts[] = {"the pan is hot </s> __label__x", "\xff\xfe caf\xc3\xa9 \xe2\x82", "", "a b c d e f"};
        smol_ft_prediction p[64];
        for (int i = 0; i < 4; i++) {
            int n = smol_ft_predict(m, s, texts[i], strlen(texts[i]), 1, 64, 0.0f, p);
            for (int j = 0; j < n; j++)
                if (!smol_ft_label(m, p[j].label)) __builtin_trap();   /* NaN weights may give NaN */
        }
        smol_ft_scratch_free(s);
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_fasttext_%d.bin", (int)getpid());
    if (smol_ft_save(m, path, &err) == SMOL_OK) {
        smol_ft *m2 = NULL;
        if (smol_ft_load(path, &m2, &err) != SMOL_OK) __builtin_trap();
        smol_ft_free(m2);
        unlink(path);
    }
    smol_ft_free(m);
    return 0;
}
