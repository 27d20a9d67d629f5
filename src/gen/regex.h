/* regex.h: translates a regular expression (an ECMA-262 subset, as JSON Schema's "pattern" and
 * `smol generate --regex` use) into GBNF rules matching the whole text (anchors implied).
 * Supported: literals and escapes (\n \t \r \f \v \0 \xNN \uNNNN \u{N} \/ and escaped
 * metacharacters), ., classes [...] [^...] with ranges, \d \D \w \W \s \S, \p{..} \P{..} (Unicode
 * general categories: L, Letter, Lu, Nd, gc=P, ...), groups (...),
 * (?:...), alternation |, quantifiers * + ? {m} {m,} {m,n} (lazy forms accepted as greedy),
 * ^ at the start and $ at the end. Backreferences, lookaround and inner anchors are
 * SMOL_EUNSUPPORTED naming the position. The same syntax also compiles to a DFA over code points
 * (smol_rx_dfa_new), which JSON Schema's key constraints intersect and complement. */
#ifndef SMOL_GEN_REGEX_H
#define SMOL_GEN_REGEX_H
#include "smol.h"
#include <stdint.h>

/* Writes malloc'd GBNF text to *gbnf defining rule_name (and helper rules named
 * rule_name-N) for regex re. Syntax errors give SMOL_EFORMAT "regex at offset N: ...". */
int smol_regex_to_gbnf(const char *re, const char *rule_name, char **gbnf, smol_error *err);

/* A deterministic automaton over code points for a regex of the same subset: state 0 starts;
 * each state has sorted, disjoint edges (code point ranges to a state); a missing edge rejects. */
typedef struct smol_rx_dfa smol_rx_dfa;
typedef struct smol_rx_edge {
    uint32_t lo, hi;
    int to;
} smol_rx_edge;

/* Builds the automaton of re: the whole text must match, or with search (JSON Schema's pattern)
 * some part of it, top-level alternatives anchored by ^ / $ only at their anchored side. More
 * than 4096 states (20,000 NFA states, 20M steps of construction) is SMOL_ERANGE; the syntax
 * and its errors as smol_regex_to_gbnf. */
int smol_rx_dfa_new(const char *re, int search, smol_rx_dfa **out, smol_error *err);
void smol_rx_dfa_free(smol_rx_dfa *d);

int smol_rx_dfa_n_states(const smol_rx_dfa *d);
/* 1 if the text read so far (ending in state) matches. */
int smol_rx_dfa_accepts(const smol_rx_dfa *d, int state);
/* The edges of state (sorted by code point); returns their count. */
int smol_rx_dfa_edges(const smol_rx_dfa *d, int state, const smol_rx_edge **edges);
/* The state after code point cp, or -1 (no match possible; state -1 stays -1). */
int smol_rx_dfa_step(const smol_rx_dfa *d, int state, uint32_t cp);

#endif
