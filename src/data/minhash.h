/* minhash.h: MinHash near-duplicate removal as datatrove does it, in four sharded stages.
 *
 * Text: datatrove's simplify_text (lowercase, whitespace runs to one space, its punctuation
 * set removed, NFD with combining marks (Mn) dropped, digit runs to "0"), split into words as
 * NLTK's word_tokenize splits such text. Shingles: word 5-grams joined by " ", hashed with the
 * first 8 bytes of SHA-1 (datatrove's sha1_hash64). Permutations: h -> (a*h + b) mod 2^64
 * mod (2^61 - 1) with a, b drawn by numpy's RandomState(seed).randint as datatrove draws them,
 * so a signature equals datatrove's for the same word list. Defaults: 5-grams, 14 buckets x 8
 * hashes, seed 1 (LSH threshold ~ (1/14)^(1/8) = 0.72).
 *
 * Stages (each takes rank/world_size; inputs are the sorted list of smol_dd_list_inputs):
 *   1 signatures: files[R::N]: WORK/bucket_BBB/FFFFFF.sig (per bucket, sorted by hashes)
 *   2 buckets:    buckets R::N: WORK/dups/BBB.dups, pairs of equal bucket signatures
 *   3 clusters:   rank 0: union-find over all pairs; per file the documents to remove, each
 *                 cluster keeping its first document by (file, index): WORK/remove/FFFFFF.remove
 *   4 filter:     files[R::N]: OUT/NAME with the kept records unchanged; removed ones to
 *                 EXCLUSIONS/NAME with "minhash_cluster" and "minhash_duplicate_of".
 * Each output is written atomically and followed by a marker in WORK/done/; a rerun skips
 * finished work. The output does not depend on the number of shards or threads. */
#ifndef SMOL_DATA_MINHASH_H
#define SMOL_DATA_MINHASH_H
#include "smol.h"
#include "data/dedup.h"

#define SMOL_MINHASH_MAX_HASHES 1024

typedef struct smol_minhash_opts {
    int n_grams;                 /* words per shingle (5) */
    int buckets;                 /* LSH bands (14) */
    int hashes_per_bucket;       /* rows per band (8) */
    uint32_t seed;               /* numpy RandomState seed of the permutations (1) */
    int rank, world_size;        /* this shard (0 of 1) */
    int threads;                 /* threads for this shard's files or buckets (1) */
    const char *text_field;      /* NULL: "text" */
    const char *exclusions_dir;  /* filter stage: where removed records go (NULL: dropped) */
    smol_dd_log_fn log;          /* progress messages (may be NULL) */
    void *log_ctx;
} smol_minhash_opts;

/* Fills o with datatrove's defaults (5-grams, 14 x 8, seed 1) and a single shard. */
void smol_minhash_opts_default(smol_minhash_opts *o);

/* The hash parameters of one configuration. */
typedef struct smol_minhash smol_minhash;

/* Draws the permutations for o's configuration; err names a bad parameter. */
int smol_minhash_new(const smol_minhash_opts *o, smol_minhash **out, smol_error *err);

/* Frees m; NULL is a no-op. */
void smol_minhash_free(smol_minhash *m);

/* The permutation parameters a[i], b[i] (i < buckets * hashes_per_bucket). */
void smol_minhash_params(const smol_minhash *m, const uint64_t **a, const uint64_t **b);

/* Normalises text as datatrove's simplify_text and splits it into words: *out (malloc'd,
 * NUL-terminated) holds the words separated by single spaces; *n_words counts them. */
int smol_minhash_normalize(const char *text, size_t len, char **out, size_t *out_len, size_t *n_words);

/* Per-thread scratch for signatures; free with smol_minhash_scratch_free. */
typedef struct smol_minhash_scratch smol_minhash_scratch;
smol_minhash_scratch *smol_minhash_scratch_new(void);
void smol_minhash_scratch_free(smol_minhash_scratch *s);

/* Computes the signature of text into sig[buckets * hashes_per_bucket]: returns the number of
 * shingles (0: fewer words than n_grams, no signature), or SMOL_ENOMEM. */
long smol_minhash_signature(const smol_minhash *m, smol_minhash_scratch *s, const char *text, size_t len,
                            uint64_t *sig);

/* Counts written by the stages (summed over what this call did). */
typedef struct smol_minhash_stats {
    uint64_t docs, signed_docs, bytes;   /* signatures: documents, documents with a signature, text bytes */
    uint64_t pairs;                      /* buckets: duplicate pairs */
    uint64_t clustered, clusters;        /* clusters: documents in clusters, clusters */
    uint64_t to_remove;                  /* clusters: documents to remove (all but one per cluster) */
    uint64_t removed, kept;              /* filter: documents removed / kept */
    uint64_t skipped;                    /* files or buckets already done */
} smol_minhash_stats;

/* Stage 1: signatures of files[R::N] into work_dir. */
int smol_minhash_signatures(char *const *files, size_t n_files, const char *work_dir, const smol_minhash_opts *o,
                            smol_minhash_stats *st, smol_error *err);

/* Stage 2: duplicate pairs of buckets R::N (all signature files must be done). */
int smol_minhash_buckets(char *const *files, size_t n_files, const char *work_dir, const smol_minhash_opts *o,
                         smol_minhash_stats *st, smol_error *err);

/* Stage 3: clusters and the documents to remove (rank 0 does it; other ranks return at once). */
int smol_minhash_clusters(char *const *files, size_t n_files, const char *work_dir, const smol_minhash_opts *o,
                          smol_minhash_stats *st, smol_error *err);

/* Stage 4: writes the kept documents of files[R::N] to out_dir. */
int smol_minhash_filter(char *const *files, size_t n_files, const char *work_dir, const char *out_dir,
                        const smol_minhash_opts *o, smol_minhash_stats *st, smol_error *err);

#endif
