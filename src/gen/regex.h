/* regex.h: translates a regular expression (an ECMA-262 subset, as JSON Schema's "pattern" and
 * `smol generate --regex` use) into GBNF rules matching the whole text (anchors implied).
 * Supported: literals and escapes (\n \t \r \f \v \0 \xNN \uNNNN \u{N} \/ and escaped
 * metacharacters), ., classes [...] [^...] with ranges, \d \D \w \W \s \S, groups (...),
 * (?:...), alternation |, quantifiers * + ? {m} {m,} {m,n} (lazy forms accepted as greedy),
 * ^ at the start and $ at the end. Backreferences, lookaround and inner anchors are
 * SMOL_EUNSUPPORTED naming the position. */
#ifndef SMOL_GEN_REGEX_H
#define SMOL_GEN_REGEX_H
#include "smol.h"

/* Writes malloc'd GBNF text to *gbnf defining rule_name (and helper rules named
 * rule_name-N) for regex re. Syntax errors give SMOL_EFORMAT "regex at offset N: ...". */
int smol_regex_to_gbnf(const char *re, const char *rule_name, char **gbnf, smol_error *err);

#endif
