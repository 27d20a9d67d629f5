/* words.h: text statistics shared by the quality filters, with Python's string semantics
 * (lengths in code points, str.splitlines / str.strip / str.split whitespace, str.isalpha)
 * and an NLTK-style English word splitter (see docs/filters.md for where it differs). */
#ifndef SMOL_DATA_WORDS_H
#define SMOL_DATA_WORDS_H
#include <stddef.h>
#include <stdint.h>

/* A piece of a text: bytes s[0..len), chars code points (word tokens only: the line and
 * whitespace splitters leave chars 0, count with smol_utf8_chars where needed). */
typedef struct smol_span {
    const char *s;
    uint32_t len;
    uint32_t chars;
} smol_span;

/* A growable list of spans. */
typedef struct smol_spans {
    smol_span *v;
    size_t n, cap;
} smol_spans;

/* Frees the list's storage and zeroes it. */
void smol_spans_free(smol_spans *l);

/* The scans of this module (line breaks, plain word bytes, code points, sentence marks, phrases,
 * word starts, ellipses) have two paths with the same results: plain C, and SSE2 (sixteen bytes a
 * step, in builds that target SSE2). The *_at functions take the path; the others use
 * smol_scan_level(). */
enum { SMOL_SCAN_SCALAR = 0, SMOL_SCAN_SSE2 = 1 };

/* The path to use: SSE2 when the build has it and the CPU table allows it (smol_cpu_has_sse2(),
 * so SMOL_CPU=scalar selects plain C), else SMOL_SCAN_SCALAR. */
int smol_scan_level(void);

/* Number of code points in UTF-8 s[0..n) (continuation bytes are not counted). */
size_t smol_utf8_chars(const char *s, size_t n);
size_t smol_utf8_chars_at(const char *s, size_t n, int level);

/* Decodes the code point at s[*i] (advancing *i); invalid bytes decode as themselves. */
uint32_t smol_utf8_next(const char *s, size_t n, size_t *i);

/* Python's str.isspace() and str.isalpha() for one code point. */
int smol_cp_is_space(uint32_t cp);
int smol_cp_is_alpha(uint32_t cp);

/* 1 if cp is in datatrove's PUNCTUATION set (ASCII punctuation, control characters and a few
 * CJK/typographic marks). */
int smol_cp_is_punct(uint32_t cp);

/* Python's str.strip(): trims Unicode whitespace from both ends of *s / *n in place. */
void smol_strip(const char **s, size_t *n);

/* Python's str.splitlines() (no keepends): lines split at \n, \r\n, \r, \v, \f, \x1c-\x1e,
 * U+0085, U+2028, U+2029; no trailing empty line. Clears out first. 0 or -1 (no memory). */
int smol_splitlines(const char *text, size_t len, smol_spans *out);
int smol_splitlines_at(const char *text, size_t len, smol_spans *out, int level);

/* Python's str.split(sep) for a one-byte separator (keeps empty pieces). 0 or -1. */
int smol_split_char(const char *text, size_t len, char sep, smol_spans *out);

/* re.split("\n{MIN_RUN,}", text): pieces between runs of at least min_run newlines. 0 or -1. */
int smol_split_newline_runs(const char *text, size_t len, int min_run, smol_spans *out);

/* Python's str.split() with no argument: runs of Unicode whitespace separate words. 0 or -1. */
int smol_split_ws(const char *text, size_t len, smol_spans *out);

/* NLTK-style English word tokens of text (punctuation, brackets, quotes and contractions split
 * off; a period only at a sentence end; '"' becomes `` or ''). Clears out first. 0 or -1.
 * Every token points into text, or (`` and '') to a static string with sixteen readable bytes. */
int smol_word_tokenize(const char *text, size_t len, smol_spans *out);
int smol_word_tokenize_at(const char *text, size_t len, smol_spans *out, int level);

/* Bit k of the result is set when phrases[k] (lowercase ASCII starting with two letters; at most
 * 16 phrases) occurs in s[0..n) with ASCII letters compared case-insensitively. */
unsigned smol_ascii_phrases(const char *s, size_t n, const char *const *phrases, int count);
unsigned smol_ascii_phrases_at(const char *s, size_t n, const char *const *phrases, int count, int level);

/* A lower bound on smol_word_tokenize's token count for text: the ASCII bytes that are not
 * whitespace and start the text or follow ASCII whitespace (each starts a chunk, and every chunk
 * gives at least one token). */
size_t smol_word_count_floor(const char *text, size_t len);
size_t smol_word_count_floor_at(const char *text, size_t len, int level);

/* Non-overlapping "..." in t (as Python's str.count) plus the U+2026 characters. */
long smol_count_ellipses(const char *t, size_t n);
long smol_count_ellipses_at(const char *t, size_t n, int level);

/* gopher_quality's word counts over the tokens w of text[0..n) (tokens outside the text must have
 * sixteen readable bytes, as the splitter's `` and ''): words with a character outside datatrove's PUNCTUATION
 * (sym_free) and their code points (chars), words with a letter (alpha), stop words (stops: to,
 * of, be, the, and, that, have, with). */
typedef struct smol_word_stats {
    long sym_free, alpha, stops;
    uint64_t chars;
} smol_word_stats;
void smol_word_stats_at(const smol_spans *w, const char *text, size_t n, int level, smol_word_stats *out);

struct smol_doc;

/* The word tokens of doc's current text (smol_word_tokenize), computed once and kept in
 * doc->cache until the text changes; NULL when out of memory. */
const smol_spans *smol_doc_words(struct smol_doc *doc);

/* Number of sentences in a line, estimated as NLTK's Punkt would for English: '.', '!' or '?'
 * runs (with closing quotes/brackets) followed by whitespace and not after an abbreviation. */
int smol_count_sentences(const char *text, size_t len);
int smol_count_sentences_at(const char *text, size_t len, int level);

/* min(smol_count_sentences(text, len), most): the scan stops at the most-th sentence end (0 when
 * most <= 0). */
int smol_count_sentences_upto(const char *text, size_t len, int most);
int smol_count_sentences_upto_at(const char *text, size_t len, int most, int level);

#endif
