/* fuzz_regex.c: libFuzzer target for the regex-to-grammar translator (gen/regex.c). The input
 * up to its first NUL is the regex, the bytes after it a subject. A regex the translator
 * accepts must give GBNF that the grammar compiler accepts; a refused one must come with a
 * "regex at offset N" message whose N lies within the regex. The compiled grammar is walked over
 * the subject and its forced bytes, and rolled back. */
#include "smol.h"
#include "gen/regex.h"
#include "gen/grammar.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void walk(const smol_grammar *g, const uint8_t *s, size_t n) {
    smol_matcher *m = NULL;
    smol_error err;
    if (smol_matcher_new(g, NULL, &m, &err) != SMOL_OK) {
        if (err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return;
    }
    char buf[32];
    size_t f = smol_matcher_forced(m, buf, sizeof buf);
    if (f > sizeof buf) __builtin_trap();
    if (f && smol_matcher_accept_bytes(m, buf, f) != SMOL_OK) __builtin_trap();
    for (size_t i = 0; i < n && i < 256; i++)
        if (smol_matcher_accept_bytes(m, (const char *)s + i, 1) != SMOL_OK) break;
    smol_matcher_can_end(m);
    if (smol_matcher_rollback(m, smol_matcher_n_steps(m)) != SMOL_OK || smol_matcher_n_steps(m) != 0) __builtin_trap();
    smol_matcher_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t re_len = nul ? (size_t)(nul - data) : size;
    char *re = malloc(re_len + 1);
    if (!re) return 0;
    memcpy(re, data, re_len);
    re[re_len] = 0;
    char *gbnf = NULL;
    smol_error err;
    if (smol_regex_to_gbnf(re, "pattern", &gbnf, &err) != SMOL_OK) {
        if (gbnf || err.code == SMOL_OK) __builtin_trap();
        if (err.code != SMOL_ENOMEM && err.code != SMOL_EINVAL) {
            if (strncmp(err.msg, "regex at offset ", 16) != 0) __builtin_trap();
            long at = strtol(err.msg + 16, NULL, 10);
            if (at < 0 || (size_t)at > re_len) __builtin_trap();
        }
        free(re);
        return 0;
    }
    smol_grammar *g = NULL;
    if (smol_grammar_from_gbnf(gbnf, strlen(gbnf), "pattern", &g, &err) != SMOL_OK) __builtin_trap();
    const uint8_t *subject = nul ? nul + 1 : data;
    walk(g, subject, nul ? size - re_len - 1 : size);
    smol_grammar_free(g);
    free(gbnf);
    free(re);
    return 0;
}
