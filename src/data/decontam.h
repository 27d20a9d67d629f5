/* decontam.h: benchmark decontamination as Cosmopedia does it (decontamination/decontaminate.py).
 *   Words: NFD, combining marks (Mn) dropped, lowercased, \w+ runs (letters, numbers, '_').
 *   Candidates: a document sharing any word 10-gram with a benchmark item.
 *   Check: difflib.SequenceMatcher(autojunk=False) between the document's words and the item's
 *   words (each joined by single spaces); the matching blocks longer than 5 characters are
 *   concatenated, whitespace runs collapsed, and ratio = that length / the item's length.
 *   A document is dropped when ratio > 0.5 for some item.
 * Cosmopedia checks only the item of the first shared n-gram it meets (set order); here every
 * item that shares an n-gram is checked, in the order the document meets them, and the first
 * over the threshold is recorded in the dropped record's "metadata"."decontam". */
#ifndef SMOL_DATA_DECONTAM_H
#define SMOL_DATA_DECONTAM_H
#include "smol.h"
#include "data/dedup.h"

typedef struct smol_decontam_opts {
    int ngram;                /* words per n-gram (10) */
    double threshold;         /* drop when ratio > threshold (0.5) */
    const char *bench_field;  /* the benchmark records' text field (NULL: "text") */
    const char *text_field;   /* the documents' text field (NULL: "text") */
    int rank, world_size;     /* with an output directory: this shard of the inputs (0 of 1) */
    smol_dd_log_fn log;       /* progress (may be NULL) */
    void *log_ctx;
} smol_decontam_opts;

/* Fills o with Cosmopedia's defaults (10-grams, threshold 0.5) and a single shard. */
void smol_decontam_opts_default(smol_decontam_opts *o);

/* Cosmopedia's tokenize(): *out (malloc'd, NUL-terminated) holds the words joined by single
 * spaces, *n_words counts them. */
int smol_decontam_words(const char *text, size_t len, char **out, size_t *out_len, size_t *n_words);

/* The match ratio of a document against a benchmark item, both given as joined words (UTF-8):
 * matched characters (blocks > 5 characters, whitespace collapsed) / characters of bench. */
int smol_decontam_ratio(const char *doc_words, size_t doc_len, const char *bench_words, size_t bench_len,
                        double *ratio);

/* The benchmark index: every item's 10-grams. */
typedef struct smol_decontam smol_decontam;

/* Reads the benchmark files (JSONL records with a text field) and indexes their items; items
 * with fewer words than the n-gram size are not indexed (as in Cosmopedia). */
int smol_decontam_new(char *const *bench_files, size_t n_files, const smol_decontam_opts *o, smol_decontam **out,
                      smol_error *err);

/* Frees d; NULL is a no-op. */
void smol_decontam_free(smol_decontam *d);

/* The number of items indexed and of distinct n-grams. */
size_t smol_decontam_items(const smol_decontam *d);
size_t smol_decontam_ngrams(const smol_decontam *d);

/* What a contaminated document matched. */
typedef struct smol_decontam_match {
    const char *bench;     /* the benchmark file */
    long item;             /* the item's index in it (0-based, records in file order) */
    double ratio;          /* its match ratio */
    int candidates;        /* items that shared an n-gram with the document */
} smol_decontam_match;

/* Per-thread scratch for checks. */
typedef struct smol_decontam_scratch smol_decontam_scratch;
smol_decontam_scratch *smol_decontam_scratch_new(const smol_decontam *d);
void smol_decontam_scratch_free(smol_decontam_scratch *s);

/* Checks one text: 1 contaminated (*m says by what), 0 clean (m->candidates still set),
 * SMOL_ENOMEM. */
int smol_decontam_check(const smol_decontam *d, smol_decontam_scratch *s, const char *text, size_t len,
                        smol_decontam_match *m);

typedef struct smol_decontam_stats {
    uint64_t docs, kept, dropped, candidates;  /* candidates: documents that shared an n-gram */
} smol_decontam_stats;

/* Filters the inputs. out (and exclusions, may be NULL) is a file when its name ends in
 * .jsonl (every input into it, world_size must be 1), otherwise a directory with one file per
 * input of this shard (files[R::N], named as smol_dd_output_name). Kept records are copied
 * unchanged; dropped ones get "metadata"."decontam" = {"bench", "item", "ratio"}. */
int smol_decontam_run(const smol_decontam *d, char *const *files, size_t n_files, const char *out,
                      const char *exclusions, const smol_decontam_opts *o, smol_decontam_stats *st, smol_error *err);

#endif
