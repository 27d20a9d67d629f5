/* scan.h: counting many phrases in text in one pass. The phrases are compiled into one
 * deterministic automaton (Aho-Corasick over ASCII-case-folded bytes); each phrase is counted
 * separately, only where it stands at word boundaries (the bytes before and after the match are
 * not word bytes [A-Za-z0-9_]), and without overlapping itself, so each count equals
 * `LC_ALL=C grep -o -i -w -F PHRASE | wc -l` on the same text. Words are counted as runs of
 * bytes that are not ASCII white space (as `wc -w`).
 *   smol_scan *s; smol_scan_new(phrases, n, &s, err);
 *   smol_scan_tally *t = smol_scan_tally_new(s);
 *   smol_scan_text(s, text, len, t);   ... t->counts[i], t->words */
#ifndef SMOL_DATA_SCAN_H
#define SMOL_DATA_SCAN_H
#include "smol.h"
#include <stddef.h>
#include <stdint.h>

typedef struct smol_scan smol_scan;

/* Counts gathered by smol_scan_text (one tally per thread; add them up with smol_scan_tally_add). */
typedef struct smol_scan_tally {
    size_t n;              /* number of phrases */
    uint64_t *counts;      /* matches of each phrase */
    uint64_t words;        /* words seen */
    uint64_t bytes;        /* bytes scanned */
    size_t *last_end;      /* scratch [2 * n]: end of each phrase's last match in the current text */
} smol_scan_tally;

/* Compiles n phrases (NUL-terminated; matched ASCII-case-insensitively). Empty phrases, phrases
 * with a newline and duplicates (after case folding) give SMOL_EINVAL naming the phrase. */
int smol_scan_new(const char *const *phrases, size_t n, smol_scan **out, smol_error *err);

/* Reads phrases from a file, one per line (blank lines and lines starting with '#' ignored;
 * a trailing '\r' and surrounding spaces are removed), and compiles them. */
int smol_scan_load(const char *path, smol_scan **out, smol_error *err);

/* The number of phrases and phrase i as given. */
size_t smol_scan_count(const smol_scan *s);
const char *smol_scan_phrase(const smol_scan *s, size_t i);

/* A zeroed tally for s's phrases (NULL when out of memory); free with smol_scan_tally_free. */
smol_scan_tally *smol_scan_tally_new(const smol_scan *s);
void smol_scan_tally_free(smol_scan_tally *t);

/* Adds src's counts, words and bytes to dst (same phrase set). */
void smol_scan_tally_add(smol_scan_tally *dst, const smol_scan_tally *src);

/* Scans one text (a document, or a part of one cut just after a '\n'): adds each phrase's
 * matches, the words and the bytes to t. Text edges count as word boundaries. */
void smol_scan_text(const smol_scan *s, const char *text, size_t len, smol_scan_tally *t);

/* Frees s; NULL is a no-op. */
void smol_scan_free(smol_scan *s);

#endif
