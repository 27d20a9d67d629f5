/* fuzz_gbnf.c: libFuzzer target for the GBNF parser and the regex translator. The input is
 * compiled as GBNF and, NUL-terminated, as a regex; a grammar that compiles is run over the
 * input's own bytes (and its fast-forward bytes), so ASan/UBSan check the parser, the grammar
 * checks and the matcher's state construction. A failure must come with a message. */
#include "smol.h"
#include "gen/grammar.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void exercise(const smol_grammar *g, const uint8_t *data, size_t size) {
    smol_matcher *m = NULL;
    smol_error err;
    if (smol_matcher_new(g, NULL, &m, &err) != SMOL_OK) {
        if (err.code == SMOL_OK) __builtin_trap();
        return;
    }
    char buf[64];
    size_t n = smol_matcher_forced(m, buf, sizeof buf);
    if (n > sizeof buf) __builtin_trap();
    if (n && smol_matcher_accept_bytes(m, buf, n) != SMOL_OK) __builtin_trap();  /* forced bytes must be accepted */
    size_t limit = size < 256 ? size : 256;
    for (size_t i = 0; i < limit; i++)
        if (smol_matcher_accept_bytes(m, (const char *)data + i, 1) != SMOL_OK) break;
    int steps = smol_matcher_n_steps(m);
    if (smol_matcher_rollback(m, steps) != SMOL_OK || smol_matcher_n_steps(m) != 0) __builtin_trap();
    smol_matcher_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    smol_grammar *g = NULL;
    smol_error err;
    if (smol_grammar_from_gbnf((const char *)data, size, "root", &g, &err) == SMOL_OK) {
        exercise(g, data, size);
        smol_grammar_free(g);
    } else if (g != NULL || err.code == SMOL_OK || !err.msg[0]) {
        __builtin_trap();
    }
    char *re = malloc(size + 1);
    if (!re) return 0;
    memcpy(re, data, size);
    re[size] = 0;
    g = NULL;
    if (smol_grammar_from_regex(re, &g, &err) == SMOL_OK) {
        exercise(g, data, size);
        smol_grammar_free(g);
    } else if (g != NULL || err.code == SMOL_OK || !err.msg[0]) {
        __builtin_trap();
    }
    free(re);
    return 0;
}
