/* fuzz_regex.c: libFuzzer target for the regex-to-grammar translator (gen/regex.c). The input
 * up to its first NUL is the regex, the bytes after it a subject. A regex the translator
 * accepts must give GBNF that the grammar compiler accepts; a refused one must come with a
 * "regex at offset N" message whose N lies within the regex. The compiled grammar is walked over
 * the subject and its forced bytes, and rolled back. The same regex also builds the automaton
 * of smol_rx_dfa_new (JSON Schema's key constraints): its edges must be sorted, disjoint and in
 * range, and on an ASCII subject it must agree with the grammar on a whole-text match. */
#include "smol.h"
#include "gen/regex.h"
#include "gen/grammar.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 if the grammar matches all of s[0..n). */
static int grammar_matches(const smol_grammar *g, const uint8_t *s, size_t n) {
    smol_matcher *m = NULL;
    smol_error err;
    if (smol_matcher_new(g, NULL, &m, &err) != SMOL_OK) return -1;
    int ok = smol_matcher_accept_bytes(m, (const char *)s, n) == SMOL_OK && smol_matcher_can_end(m);
    smol_matcher_free(m);
    return ok;
}

/* Checks the automaton's shape, and its whole-text answer on an ASCII subject against the
 * grammar's (g may be NULL: shape only). */
static void check_dfa(const char *re, const smol_grammar *g, const uint8_t *s, size_t n) {
    smol_rx_dfa *d = NULL;
    smol_error err;
    if (smol_rx_dfa_new(re, 0, &d, &err) != SMOL_OK) {
        if (d || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return;
    }
    int ns = smol_rx_dfa_n_states(d);
    for (int q = 0; q < ns; q++) {
        const smol_rx_edge *e;
        int ne = smol_rx_dfa_edges(d, q, &e);
        for (int i = 0; i < ne; i++)
            if (e[i].lo > e[i].hi || e[i].to < 0 || e[i].to >= ns || (i && e[i].lo <= e[i - 1].hi)) __builtin_trap();
    }
    int ascii = n <= 256;
    for (size_t i = 0; i < n && ascii; i++) ascii = s[i] < 0x80;
    if (g && ascii) {
        int q = 0;
        for (size_t i = 0; i < n; i++) q = smol_rx_dfa_step(d, q, s[i]);
        int want = grammar_matches(g, s, n);
        if (want >= 0 && want != (q >= 0 && smol_rx_dfa_accepts(d, q))) __builtin_trap();
    }
    smol_rx_dfa_free(d);
}

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
    check_dfa(re, g, subject, nul ? size - re_len - 1 : size);
    smol_grammar_free(g);
    free(gbnf);
    free(re);
    return 0;
}
