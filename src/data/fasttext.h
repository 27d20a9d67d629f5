/* fasttext.h: fastText-compatible supervised models (the in-memory layout shared by loading,
 * prediction, training and quantization). The file format is fastText's .bin/.ftz (version 12,
 * also 11): args, dictionary, input matrix (dense or product-quantized), output matrix. */
#ifndef SMOL_DATA_FASTTEXT_H
#define SMOL_DATA_FASTTEXT_H
#include "smol.h"
#include <stdio.h>

#define FT_MAGIC 793712314
#define FT_VERSION 12
#define FT_KSUB 256

enum { FT_LOSS_HS = 1, FT_LOSS_NS = 2, FT_LOSS_SOFTMAX = 3, FT_LOSS_OVA = 4 };
enum { FT_MODEL_CBOW = 1, FT_MODEL_SG = 2, FT_MODEL_SUP = 3 };
enum { FT_WORD = 0, FT_LABEL = 1 };

/* The hyper-parameters stored in a model file, in file order. */
typedef struct ft_args {
    int32_t dim, ws, epoch, min_count, neg, word_ngrams, loss, model, bucket, minn, maxn, lr_update_rate;
    double t;
} ft_args;

/* A product quantizer: dim split into nsubq sub-vectors of dsub (the last of lastdsub), 256
 * centroids each. */
typedef struct ft_pq {
    int32_t dim, nsubq, dsub, lastdsub;
    float *centroids;   /* dim * 256 floats */
} ft_pq;

/* A matrix of m rows of n floats: dense, or product-quantized codes with optional norms. */
typedef struct ft_matrix {
    int quant;
    int64_t m, n;
    float *data;            /* dense: m * n */
    int qnorm;
    uint8_t *codes;         /* quantized: m * pq.nsubq */
    ft_pq pq;
    uint8_t *norm_codes;    /* qnorm: m codes into npq (dim 1) */
    ft_pq npq;
} ft_matrix;

/* One dictionary entry: a word or a label, its count, and (words) its input rows. */
typedef struct ft_entry {
    char *word;
    uint32_t len;
    uint32_t hash;
    int64_t count;
    int8_t type;
    int32_t *sub;      /* the word's own row then its character n-gram rows */
    int32_t nsub;
} ft_entry;

typedef struct ft_dict {
    ft_entry *e;
    int32_t size, nwords, nlabels;
    int64_t ntokens;
    int64_t prune_size;     /* -1: not pruned */
    int32_t *prune_key, *prune_val;   /* open-addressing map of n-gram bucket -> row, key -1 = empty */
    uint32_t prune_mask;
    uint64_t *prune_bits;   /* which buckets the map holds (a fast "no"), NULL if keys are too large */
    int64_t prune_nbits;
    uint32_t *prune_rank;   /* with prune_bits: set bits before each 64-bit word of prune_bits */
    int32_t *prune_rows;    /* with prune_bits: the row of each set bit, in bucket order (+1 slack) */
    struct ft_slot { uint32_t hash; int32_t id; } *table;   /* word hash -> entry, id -1 = empty */
    uint32_t table_mask;
    uint32_t stamp;         /* changes each time ft_dict_index rebuilds the rows of words */
} ft_dict;

/* A hierarchical-softmax tree node (leaves 0..nlabels-1, root 2*nlabels-2). */
typedef struct ft_node {
    int32_t parent, left, right;
    int64_t count;
    int8_t binary;
} ft_node;

struct smol_ft {
    ft_args a;
    ft_dict d;
    ft_matrix in, out;
    int qout;
    int version;
    char label_prefix[64];
    ft_node *tree;          /* hs only */
    int32_t **paths;        /* hs only: per label, inner nodes (row = node - nlabels) root-ward */
    uint8_t **codes;
    int32_t *path_len;
};

/* A growable array of int32. */
typedef struct ft_ids {
    int32_t *v;
    size_t n, cap;
} ft_ids;

int ft_ids_push(ft_ids *b, int32_t x);

/* The input rows of recently seen out-of-vocabulary words (their character n-grams), so that a
 * repeated word is not hashed and looked up again. Direct-mapped on the word's hash; emptied
 * when its pools fill or the model (or its dictionary) changes. */
typedef struct ft_word_cache {
    const smol_ft *model;
    uint32_t stamp;
    struct ft_cached { uint32_t hash, len, word_at, rows_at, nrows; } *slot;   /* len 0: empty */
    char *bytes;            /* the cached words */
    int32_t *rows;          /* their rows */
    size_t bytes_n, rows_n;
} ft_word_cache;

/* Scratch for tokenising and predicting one text. */
struct smol_ft_scratch {
    ft_word_cache cache;    /* slot NULL: no cache (allocation failed) */
    ft_ids words, labels, hashes;
    float *hidden, *output;
    int32_t out_rows;
    struct { float score; int32_t label; } *heap;
    int heap_n, heap_cap;
};

/* The FNV-1a hash fastText uses (over bytes read as signed chars). */
uint32_t ft_hash(const char *s, size_t n);

/* The entry index of word w (hash h), or -1. */
int32_t ft_dict_find(const ft_dict *d, const char *w, size_t n, uint32_t h);

/* Rebuilds the word table, the prune map and each word's subword rows from d->e. */
int ft_dict_index(smol_ft *m, smol_error *err);

/* Appends the character n-gram rows of token (already wrapped in '<' '>') to out. */
int ft_char_ngrams(const smol_ft *m, const char *w, size_t n, ft_ids *out);

/* Tokenises text as fastText reads one line: words (rows) into s->words, known labels into
 * s->labels (label index), the end-of-line token if eos. Returns the number of tokens read,
 * or a negative status on allocation failure. */
int64_t ft_tokenize(const smol_ft *m, const char *text, size_t len, int eos, smol_ft_scratch *s);

/* Predicts from the rows already tokenised into s (see smol_ft_predict). */
int smol_ft_predict_ids(const smol_ft *m, smol_ft_scratch *s, int k, float threshold, smol_ft_prediction *out);

/* hidden = mean of the input rows ids[0..n), on the fastest path the CPU allows (see
 * ft_hidden_path); every path gives the same bits. */
void ft_hidden(const smol_ft *m, const int32_t *ids, size_t n, float *hidden);

enum { FT_PATH_AUTO = 0, FT_PATH_SCALAR = 1, FT_PATH_AVX2 = 2 };

/* ft_hidden on a chosen path: FT_PATH_SCALAR (plain C), FT_PATH_AVX2 (product-quantized rows
 * with dsub 2, if the CPU has AVX2; else the scalar path) or FT_PATH_AUTO. */
void ft_hidden_path(const smol_ft *m, const int32_t *ids, size_t n, float *hidden, int path);

/* AVX2 twin of the scalar product-quantized row sum (fasttext_avx2.c): hidden[0..dim) +=
 * the rows ids[0..n) of mat, which has dsub 2 and an even dim. Call only with AVX2. */
void ft_add_rows_pq2_avx2(const ft_matrix *mat, const int32_t *ids, size_t n, float *hidden);

/* x % d for any 32-bit x, with magic = ft_mod_magic(d) (d > 0): a multiply, no division. */
static inline uint32_t ft_mod(uint32_t x, uint32_t d, uint64_t magic) {
    return (uint32_t)(((unsigned __int128)(magic * x) * d) >> 64);
}

/* The multiplier ft_mod needs for divisor d > 0: ceil(2^64 / d) (0 for d = 1, which still works). */
static inline uint64_t ft_mod_magic(uint32_t d) { return UINT64_MAX / d + 1; }

/* The dot product of row i of mat with x. */
float ft_dot_row(const ft_matrix *mat, const float *x, int64_t i);

/* Builds the hierarchical-softmax tree and per-label paths from the label counts (sorted by
 * decreasing count); SMOL_ENOMEM, or SMOL_EFORMAT for counts that cannot form the tree. */
int ft_build_tree(smol_ft *m);

/* Writes the model in fastText's format to fp. */
int ft_write(const smol_ft *m, FILE *fp, const char *path, smol_error *err);

/* An empty model with args a (no dictionary or matrices yet). */
smol_ft *ft_new(const ft_args *a);

void ft_matrix_free(ft_matrix *mat);
void ft_pq_init(ft_pq *pq, int32_t dim, int32_t dsub);

#endif
