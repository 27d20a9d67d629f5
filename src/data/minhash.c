/* minhash.c: datatrove-compatible MinHash signatures and the four dedup stages (signatures,
 * buckets, clusters, filter) over sharded inputs with completion markers. */
#include "data/minhash.h"
#include "base/error.h"
#include "base/cpu.h"
#include "base/file.h"
#include "base/pool.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utf8proc.h>

#define MERSENNE61 ((UINT64_C(1) << 61) - 1)

struct smol_minhash {
    int n_grams, buckets, per_bucket, n_hashes;
    uint64_t a[SMOL_MINHASH_MAX_HASHES], b[SMOL_MINHASH_MAX_HASHES];
};

void smol_minhash_opts_default(smol_minhash_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_grams = 5;
    o->buckets = 14;
    o->hashes_per_bucket = 8;
    o->seed = 1;
    o->world_size = 1;
    o->threads = 1;
}

/* ---------------------------------------------------------------- numpy's RandomState */

/* MT19937 as numpy's legacy RandomState seeds it from an integer (init_genrand). */
typedef struct mt19937 {
    uint32_t key[624];
    int pos;
} mt19937;

static void mt_seed(mt19937 *m, uint32_t seed) {
    for (int i = 0; i < 624; i++) {
        m->key[i] = seed;
        seed = 1812433253u * (seed ^ (seed >> 30)) + (uint32_t)i + 1;
    }
    m->pos = 624;
}

static uint32_t mt_next32(mt19937 *m) {
    if (m->pos == 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (m->key[i] & 0x80000000u) | (m->key[(i + 1) % 624] & 0x7fffffffu);
            m->key[i] = m->key[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1) ? 0x9908b0dfu : 0);
        }
        m->pos = 0;
    }
    uint32_t y = m->key[m->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
}

/* randint(low, high, dtype=uint64) for a range above 2^32: masked rejection on 64-bit draws
 * (high word first). */
static uint64_t mt_randint64(mt19937 *m, uint64_t low, uint64_t high) {
    uint64_t rng = high - 1 - low, mask = rng;
    for (int s = 1; s < 64; s <<= 1) mask |= mask >> s;
    for (;;) {
        uint64_t hi = mt_next32(m);
        uint64_t v = (hi << 32 | mt_next32(m)) & mask;
        if (v <= rng) return low + v;
    }
}

int smol_minhash_new(const smol_minhash_opts *o, smol_minhash **out, smol_error *err) {
    *out = NULL;
    if (o->n_grams < 1 || o->n_grams > 64) return smol_fail(err, SMOL_EINVAL, "n-gram size %d: must be 1 to 64", o->n_grams);
    if (o->buckets < 1 || o->hashes_per_bucket < 1 || o->buckets * o->hashes_per_bucket > SMOL_MINHASH_MAX_HASHES)
        return smol_fail(err, SMOL_EINVAL, "%d buckets x %d hashes: need at least 1 x 1 and at most %d hashes in all",
                         o->buckets, o->hashes_per_bucket, SMOL_MINHASH_MAX_HASHES);
    smol_minhash *m = calloc(1, sizeof *m);
    if (!m) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    m->n_grams = o->n_grams, m->buckets = o->buckets, m->per_bucket = o->hashes_per_bucket;
    m->n_hashes = o->buckets * o->hashes_per_bucket;
    mt19937 mt;
    mt_seed(&mt, o->seed);
    for (int i = 0; i < m->n_hashes; i++) m->a[i] = mt_randint64(&mt, 1, MERSENNE61);
    for (int i = 0; i < m->n_hashes; i++) m->b[i] = mt_randint64(&mt, 0, MERSENNE61);
    *out = m;
    return SMOL_OK;
}

void smol_minhash_free(smol_minhash *m) { free(m); }

void smol_minhash_params(const smol_minhash *m, const uint64_t **a, const uint64_t **b) {
    *a = m->a;
    *b = m->b;
}

/* ---------------------------------------------------------------- text normalisation */

/* Python's str.isspace (what \s matches in datatrove's WHITESPACE_PATTERN). */
static int py_space(int32_t c) {
    return (c >= 9 && c <= 13) || (c >= 28 && c <= 32) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* datatrove's PUNCTUATION string (utils/text.py), plus its control ranges below. */
static const char k_punct_utf8[] =
    "!/\xe2\x80\x94\xe2\x80\x9d:\xef\xbc\x85\xef\xbc\x91\xe3\x80\x88&(\xe3\x80\x81\xe2\x94\x81\\\xe3\x80\x90#%"
    "\xe3\x80\x8c\xe3\x80\x8d\xef\xbc\x8c\xe3\x80\x91\xef\xbc\x9b+^]~\xe2\x80\x9c\xe3\x80\x8a\xe2\x80\x9e';"
    "\xe2\x80\x99{|\xe2\x88\xb6\xc2\xb4[=-`*\xef\xbc\x8e\xef\xbc\x88\xe2\x80\x93\xef\xbc\x9f\xef\xbc\x81"
    "\xef\xbc\x9a$\xef\xbd\x9e\xc2\xab\xe3\x80\x89,><\xe3\x80\x8b)?\xef\xbc\x89\xe3\x80\x82\xe2\x80\xa6@_.\""
    "}\xe2\x96\xba\xc2\xbb";

static int dt_punct(int32_t c) {
    if ((c >= 0 && c <= 8) || (c >= 11 && c <= 31) || (c >= 127 && c <= 159)) return 1;
    if (c < 128) {  /* the string's ASCII members: all 32 ASCII punctuation characters */
        uint64_t mask = c < 64 ? UINT64_C(0xfc00fffe00000000) : UINT64_C(0x78000001f8000001);
        return (int)(mask >> (c & 63) & 1);
    }
    const uint8_t *p = (const uint8_t *)k_punct_utf8;
    utf8proc_ssize_t n = (utf8proc_ssize_t)(sizeof k_punct_utf8 - 1);
    while (n > 0) {
        utf8proc_int32_t d;
        utf8proc_ssize_t l = utf8proc_iterate(p, n, &d);
        if (l <= 0) break;
        if (d == c) return 1;
        p += l, n -= l;
    }
    return 0;
}

typedef struct nbuf {
    char *s;
    size_t n, cap;
    size_t *word;      /* start offset of each word */
    size_t n_words, cap_words;
    size_t word_start; /* start of the word being built */
    int in_word, in_digits;
} nbuf;

static int nb_reserve(nbuf *b, size_t more) {
    if (b->n + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) return -1;
    b->s = s, b->cap = cap;
    return 0;
}

static int nb_add_word(nbuf *b, size_t start) {
    if (b->n_words == b->cap_words) {
        size_t cap = b->cap_words ? b->cap_words * 2 : 64;
        size_t *w = realloc(b->word, cap * sizeof *w);
        if (!w) return -1;
        b->word = w, b->cap_words = cap;
    }
    b->word[b->n_words++] = start;
    return 0;
}

/* NLTK's CONTRACTIONS2 splits of a whole word (the others need an apostrophe, removed here). */
static int split_contraction(nbuf *b) {
    static const struct { const char *w; int at; } k[] = {
        {"cannot", 3}, {"gimme", 3}, {"gonna", 3}, {"gotta", 3}, {"lemme", 3}, {"wanna", 3}};
    size_t len = b->n - b->word_start;
    char c0 = b->s[b->word_start];
    if ((len != 5 && len != 6) || (c0 != 'c' && c0 != 'g' && c0 != 'l' && c0 != 'w')) return 0;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (len != strlen(k[i].w) || memcmp(b->s + b->word_start, k[i].w, len) != 0) continue;
        if (nb_reserve(b, 1)) return -1;
        size_t at = b->word_start + (size_t)k[i].at;
        memmove(b->s + at + 1, b->s + at, b->n - at);
        b->s[at] = ' ';
        b->n++;
        return nb_add_word(b, at + 1);
    }
    return 0;
}

static int nb_end_word(nbuf *b) {
    b->in_digits = 0;
    if (!b->in_word) return 0;
    b->in_word = 0;
    return split_contraction(b);
}

static int nb_put(nbuf *b, int32_t c) {
    if (!b->in_word) {
        if (nb_reserve(b, 1)) return -1;
        if (b->n) b->s[b->n++] = ' ';
        b->word_start = b->n;
        if (nb_add_word(b, b->n)) return -1;
        b->in_word = 1;
    }
    if (nb_reserve(b, 4)) return -1;
    b->n += (size_t)utf8proc_encode_char(c, (uint8_t *)b->s + b->n);
    return 0;
}

/* One character after lowercasing, whitespace and punctuation: NFD, drop Mn, digits to 0. */
static int nb_char(nbuf *b, int32_t c) {
    if (c == 0x2018) {  /* NLTK's starting quote: a word of its own */
        if (nb_end_word(b) || nb_put(b, c)) return -1;
        return nb_end_word(b);
    }
    utf8proc_int32_t d[32];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char(c, d, 32, UTF8PROC_DECOMPOSE, &last);
    if (n < 0 || n > 32) d[0] = c, n = 1;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        utf8proc_category_t cat = utf8proc_category(d[i]);
        if (cat == UTF8PROC_CATEGORY_MN) continue;
        if (cat == UTF8PROC_CATEGORY_ND) {
            if (b->in_digits) continue;
            if (nb_put(b, '0')) return -1;
            b->in_digits = 1;
            continue;
        }
        b->in_digits = 0;
        if (nb_put(b, d[i])) return -1;
    }
    return 0;
}

static int is_cased(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

/* Python's lower() of capital sigma: final sigma when a cased letter comes before it and none
 * after it (combining marks skipped). p[i..len) is the text after the sigma. */
static int32_t lower_sigma(const uint8_t *p, size_t len, size_t i, int prev_cased) {
    if (!prev_cased) return 0x03C3;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (l <= 0) break;
        utf8proc_category_t k = utf8proc_category(c);
        if (k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF) {
            i += (size_t)l;
            continue;
        }
        return is_cased(c) ? 0x03C3 : 0x03C2;
    }
    return 0x03C2;
}

static int normalize_into(nbuf *b, const char *text, size_t len) {
    b->n = 0, b->n_words = 0, b->in_word = 0, b->in_digits = 0;
    const uint8_t *p = (const uint8_t *)text;
    size_t i = 0;
    int prev_cased = 0, cased = 0;
    while (i < len) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (l <= 0) {  /* an invalid byte: skipped */
            i++;
            continue;
        }
        i += (size_t)l;
        prev_cased = cased;
        if (c < 128) cased = (c | 32) >= 'a' && (c | 32) <= 'z';
        else {
            utf8proc_category_t k = utf8proc_category(c);
            if (k != UTF8PROC_CATEGORY_MN && k != UTF8PROC_CATEGORY_ME && k != UTF8PROC_CATEGORY_CF) cased = is_cased(c);
        }
        if (c < 128) {  /* ASCII fast path */
            if (c >= 'A' && c <= 'Z') c += 32;
            if (py_space(c)) {
                if (nb_end_word(b)) return -1;
                continue;
            }
            if (dt_punct(c)) continue;
            if (c >= '0' && c <= '9') {
                if (!b->in_digits && nb_put(b, '0')) return -1;
                b->in_digits = 1;
                continue;
            }
            b->in_digits = 0;
            if (nb_put(b, c)) return -1;
            continue;
        }
        c = c == 0x03A3 ? lower_sigma(p, len, i, prev_cased) : utf8proc_tolower(c);
        if (py_space(c)) {
            if (nb_end_word(b)) return -1;
        } else if (!dt_punct(c) && nb_char(b, c)) {
            return -1;
        }
    }
    if (nb_end_word(b) || nb_reserve(b, 1)) return -1;
    b->s[b->n] = 0;
    return 0;
}

int smol_minhash_normalize(const char *text, size_t len, char **out, size_t *out_len, size_t *n_words) {
    nbuf b = {0};
    if (normalize_into(&b, text, len)) {
        free(b.s), free(b.word);
        return SMOL_ENOMEM;
    }
    *out = b.s;
    *out_len = b.n;
    *n_words = b.n_words;
    free(b.word);
    return SMOL_OK;
}

/* ---------------------------------------------------------------- signatures */

struct smol_minhash_scratch {
    nbuf nb;
    uint64_t *hv;  /* shingle hashes */
    size_t cap_hv;
};

smol_minhash_scratch *smol_minhash_scratch_new(void) { return calloc(1, sizeof(smol_minhash_scratch)); }

void smol_minhash_scratch_free(smol_minhash_scratch *s) {
    if (!s) return;
    free(s->nb.s);
    free(s->nb.word);
    free(s->hv);
    free(s);
}

/* The AVX-512 paths (minhash_avx512.c; same results). */
void smol_minhash_sha1x16_avx512(const char *const *msg, const size_t *len, int n, uint64_t *out);
void smol_minhash_perm_avx512(const uint64_t *h, size_t n_h, const uint64_t *a, const uint64_t *b, int n_hashes,
                              uint64_t *sig);

static inline uint64_t mod61(uint64_t v) {
    uint64_t r = (v & MERSENNE61) + (v >> 61);
    return r >= MERSENNE61 ? r - MERSENNE61 : r;
}

/* The SHA-1 hashes of the n_sh shingles of the words in b, 16 at a time with AVX-512. */
static void shingle_hashes(const nbuf *b, int n_grams, size_t n_sh, int simd, uint64_t *hv) {
    const char *msg[16];
    size_t len[16], at[16];
    int k = 0;
    for (size_t w = 0; w < n_sh; w++) {
        size_t start = b->word[w], last = w + (size_t)n_grams;
        size_t end = last < b->n_words ? b->word[last] - 1 : b->n;
        if (!simd || end - start > 55) {
            hv[w] = smol_sha1_64(b->s + start, end - start);
            continue;
        }
        msg[k] = b->s + start, len[k] = end - start, at[k++] = w;
        if (k == 16) {
            uint64_t out[16];
            smol_minhash_sha1x16_avx512(msg, len, k, out);
            for (int i = 0; i < k; i++) hv[at[i]] = out[i];
            k = 0;
        }
    }
    if (k) {
        uint64_t out[16];
        smol_minhash_sha1x16_avx512(msg, len, k, out);
        for (int i = 0; i < k; i++) hv[at[i]] = out[i];
    }
}

long smol_minhash_signature(const smol_minhash *m, smol_minhash_scratch *s, const char *text, size_t len,
                            uint64_t *sig) {
    nbuf *b = &s->nb;
    if (normalize_into(b, text, len)) return SMOL_ENOMEM;
    if (b->n_words < (size_t)m->n_grams) return 0;
    size_t n_sh = b->n_words - (size_t)m->n_grams + 1;
    if (n_sh > s->cap_hv) {
        uint64_t *hv = realloc(s->hv, n_sh * sizeof *hv);
        if (!hv) return SMOL_ENOMEM;
        s->hv = hv, s->cap_hv = n_sh;
    }
    int simd = smol_cpu_has_avx512();
    shingle_hashes(b, m->n_grams, n_sh, simd, s->hv);
    int nh = m->n_hashes;
    if (simd) {
        smol_minhash_perm_avx512(s->hv, n_sh, m->a, m->b, nh, sig);
        return (long)n_sh;
    }
    for (int i = 0; i < nh; i++) sig[i] = UINT64_MAX;
    for (size_t w = 0; w < n_sh; w++) {
        uint64_t h = s->hv[w];
        for (int i = 0; i < nh; i++) {
            uint64_t v = mod61(h * m->a[i] + m->b[i]);
            if (v < sig[i]) sig[i] = v;
        }
    }
    return (long)n_sh;
}

/* ---------------------------------------------------------------- shared stage plumbing */

/* A job over n tasks run on a pool: the first failure (by task order) is reported. */
typedef struct stage_job {
    char *const *files;
    size_t n_files;
    const char *work, *out;
    const smol_minhash_opts *o;
    const smol_minhash *m;
    int *task_ids;       /* file or bucket index of each task */
    int *rc;             /* per task */
    smol_error *errs;    /* per task */
    smol_minhash_stats *stats;  /* per task */
} stage_job;

static void stage_log(const smol_minhash_opts *o, const char *fmt, ...) SMOL_PRINTF(2, 3);
static void stage_log(const smol_minhash_opts *o, const char *fmt, ...) {
    if (!o->log) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->log(o->log_ctx, msg);
}

static void add_stats(smol_minhash_stats *to, const smol_minhash_stats *s) {
    to->docs += s->docs, to->signed_docs += s->signed_docs, to->bytes += s->bytes, to->pairs += s->pairs;
    to->clustered += s->clustered, to->clusters += s->clusters, to->to_remove += s->to_remove;
    to->removed += s->removed;
    to->kept += s->kept, to->skipped += s->skipped;
}

/* Runs fn over the tasks (ids[0..n)) with o->threads threads; merges stats; returns the first error. */
static int run_tasks(stage_job *j, int *ids, int n, smol_pool_fn fn, smol_minhash_stats *st, smol_error *err) {
    j->task_ids = ids;
    j->rc = calloc((size_t)n + 1, sizeof *j->rc);
    j->errs = calloc((size_t)n + 1, sizeof *j->errs);
    j->stats = calloc((size_t)n + 1, sizeof *j->stats);
    int rc = SMOL_OK;
    if (!j->rc || !j->errs || !j->stats) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc && n > 0) {
        int threads = j->o->threads > 1 ? (j->o->threads < n ? j->o->threads : n) : 1;
        smol_pool *pool = threads > 1 ? smol_pool_new(threads) : NULL;
        smol_pool_run(pool, n, fn, j);
        smol_pool_free(pool);
        for (int i = 0; i < n; i++) {
            if (st) add_stats(st, &j->stats[i]);
            if (!rc && j->rc[i]) {
                rc = j->rc[i];
                if (err) *err = j->errs[i];
            }
        }
    }
    free(j->rc), free(j->errs), free(j->stats);
    return rc;
}

/* The indices of this shard: i in [0, n) with i % world == rank. */
static int *shard_ids(size_t n, int rank, int world, int *count) {
    int *ids = malloc((n / (size_t)world + 1) * sizeof *ids);
    if (!ids) return NULL;
    int k = 0;
    for (size_t i = (size_t)rank; i < n; i += (size_t)world) ids[k++] = (int)i;
    *count = k;
    return ids;
}

static int stage_begin(char *const *files, size_t n_files, const char *work, const smol_minhash_opts *o,
                       smol_minhash **m, smol_error *err) {
    int rc = smol_dd_check_shard(o->rank, o->world_size, err);
    if (!rc && n_files > 0xFFFFFFF0u) rc = smol_fail(err, SMOL_ERANGE, "%zu input files: at most 2^32 - 16", n_files);
    if (!rc) rc = smol_dd_mkdirs(work, err);
    if (!rc) rc = smol_dd_check_inputs(work, files, n_files, err);
    if (!rc && m) rc = smol_minhash_new(o, m, err);
    return rc;
}

static void done_dir(const char *work, char *out, size_t size) { snprintf(out, size, "%s/done", work); }

/* ---------------------------------------------------------------- stage 1: signatures */

typedef struct sig_rows {
    uint64_t *h;     /* n x n_hashes */
    uint32_t *doc;   /* n */
    size_t n, cap;
} sig_rows;

/* For sorting one bucket's rows: the bucket's first hash column and width. */
typedef struct sort_ctx {
    const sig_rows *rows;
    int col, width, n_hashes;
} sort_ctx;

static int row_cmp(const sort_ctx *c, uint32_t x, uint32_t y) {
    const uint64_t *a = c->rows->h + (size_t)x * (size_t)c->n_hashes + c->col;
    const uint64_t *b = c->rows->h + (size_t)y * (size_t)c->n_hashes + c->col;
    for (int i = 0; i < c->width; i++)
        if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
    return c->rows->doc[x] < c->rows->doc[y] ? -1 : c->rows->doc[x] > c->rows->doc[y];
}

/* Merge sort of row indices (qsort has no context argument in C11). */
static void sort_rows(const sort_ctx *c, uint32_t *v, uint32_t *tmp, size_t n) {
    if (n < 2) return;
    size_t h = n / 2;
    sort_rows(c, v, tmp, h);
    sort_rows(c, v + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = row_cmp(c, v[j], v[i]) < 0 ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int rows_push(sig_rows *r, int nh, const uint64_t *sig, uint32_t doc) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        uint64_t *h = realloc(r->h, cap * (size_t)nh * sizeof *h);
        if (!h) return -1;
        r->h = h;
        uint32_t *d = realloc(r->doc, cap * sizeof *d);
        if (!d) return -1;
        r->doc = d, r->cap = cap;
    }
    memcpy(r->h + r->n * (size_t)nh, sig, (size_t)nh * sizeof *sig);
    r->doc[r->n++] = doc;
    return 0;
}

#define SIG_RECORD(per_bucket) ((size_t)(per_bucket) * 8 + 4)

/* Writes bucket bi of the rows, sorted, to WORK/bucket_BBB/FFFFFF.sig. */
static int write_bucket(const stage_job *j, const sig_rows *rows, int fi, int bi, uint32_t *order, uint32_t *tmp,
                        smol_error *err) {
    const smol_minhash *m = j->m;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/bucket_%03d", j->work, bi);
    snprintf(path, sizeof path, "%s/%06d.sig", dir, fi);
    int rc = smol_dd_mkdirs(dir, err);
    if (rc) return rc;
    for (size_t i = 0; i < rows->n; i++) order[i] = (uint32_t)i;
    sort_ctx c = {rows, bi * m->per_bucket, m->per_bucket, m->n_hashes};
    sort_rows(&c, order, tmp, rows->n);
    smol_atomic_file f;
    if ((rc = smol_atomic_open(&f, path, err))) return rc;
    for (size_t i = 0; i < rows->n; i++) {
        fwrite(rows->h + (size_t)order[i] * (size_t)m->n_hashes + c.col, 8, (size_t)m->per_bucket, f.fp);
        fwrite(&rows->doc[order[i]], 4, 1, f.fp);
    }
    return smol_atomic_commit(&f, err);
}

/* The size of path in bytes (-1 if it cannot be read). */
static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Fails if input fi changed size since its signatures were computed (its document indices
 * would no longer match). */
static int check_unchanged(const stage_job *j, int fi, smol_error *err) {
    char path[4300], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/done/sig_%06d", j->work, fi);
    if (smol_read_file(path, &text, &len, NULL)) return SMOL_OK;
    const char *at = strstr(text, " size ");
    long long was = at ? strtoll(at + 6, NULL, 10) : -1, now = file_size(j->files[fi]);
    free(text);
    if (at && was != now)
        return smol_fail(err, SMOL_EINVAL, "%s: %lld bytes now, %lld when its signatures were computed: the input "
                         "changed; use a new --work directory", j->files[fi], now, was);
    return SMOL_OK;
}

/* Reads file fi and collects the signatures of its documents. */
static int sign_file(const stage_job *j, int fi, sig_rows *rows, smol_minhash_stats *st, smol_error *err) {
    smol_dd_reader *r;
    int rc = smol_dd_reader_open(j->files[fi], j->o->text_field, &r, err);
    if (rc) return rc;
    smol_minhash_scratch *s = smol_minhash_scratch_new();
    uint64_t sig[SMOL_MINHASH_MAX_HASHES];
    const char *text;
    size_t len;
    uint32_t doc = 0;
    if (!s) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    while (!rc) {
        if ((rc = smol_dd_read(r, &text, &len, err)) != 1) break;
        rc = SMOL_OK;
        long n = smol_minhash_signature(j->m, s, text, len, sig);
        st->docs++, st->bytes += len;
        if (n < 0) rc = smol_fail(err, SMOL_ENOMEM, "%s:%ld: out of memory", j->files[fi], smol_dd_line(r));
        else if (n > 0 && rows_push(rows, j->m->n_hashes, sig, doc))
            rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory holding %zu signatures", j->files[fi], rows->n);
        else if (n > 0) st->signed_docs++;
        if (!rc && doc == UINT32_MAX) rc = smol_fail(err, SMOL_ERANGE, "%s: more than 2^32 - 1 documents", j->files[fi]);
        doc++;
    }
    smol_minhash_scratch_free(s);
    smol_dd_reader_close(r);
    return rc;
}

static void sign_task(void *ctx, int task, int thread) {
    (void)thread;
    stage_job *j = ctx;
    int fi = j->task_ids[task];
    smol_error *err = &j->errs[task];
    smol_minhash_stats *st = &j->stats[task];
    char done[4200], marker[64];
    done_dir(j->work, done, sizeof done);
    snprintf(marker, sizeof marker, "sig_%06d", fi);
    if (smol_dd_is_done(done, marker)) {
        st->skipped++;
        return;
    }
    sig_rows rows = {0};
    int rc = sign_file(j, fi, &rows, st, err);
    uint32_t *order = NULL, *tmp = NULL;
    if (!rc) {
        order = malloc((rows.n + 1) * sizeof *order);
        tmp = malloc((rows.n + 1) * sizeof *tmp);
        if (!order || !tmp) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    for (int bi = 0; !rc && bi < j->m->buckets; bi++) rc = write_bucket(j, &rows, fi, bi, order, tmp, err);
    if (!rc) {
        char text[256];
        snprintf(text, sizeof text, "docs %llu signatures %llu size %lld\n", (unsigned long long)st->docs,
                 (unsigned long long)st->signed_docs, file_size(j->files[fi]));
        rc = smol_dd_mark_done(done, marker, text, err);
    }
    if (!rc) stage_log(j->o, "signatures: %s: %llu docs, %llu signed", j->files[fi], (unsigned long long)st->docs,
                       (unsigned long long)st->signed_docs);
    free(order), free(tmp), free(rows.h), free(rows.doc);
    j->rc[task] = rc;
}

int smol_minhash_signatures(char *const *files, size_t n_files, const char *work_dir, const smol_minhash_opts *o,
                            smol_minhash_stats *st, smol_error *err) {
    smol_minhash *m = NULL;
    int rc = stage_begin(files, n_files, work_dir, o, &m, err);
    if (rc) return rc;
    int n;
    int *ids = shard_ids(n_files, o->rank, o->world_size, &n);
    stage_job j = {.files = files, .n_files = n_files, .work = work_dir, .o = o, .m = m};
    rc = ids ? run_tasks(&j, ids, n, sign_task, st, err) : smol_fail(err, SMOL_ENOMEM, "out of memory");
    free(ids);
    smol_minhash_free(m);
    return rc;
}

/* ---------------------------------------------------------------- stage 2: buckets */

typedef struct sig_file {
    smol_map map;
    size_t n, pos;
    uint32_t file;
} sig_file;

typedef struct merge {
    sig_file *f;
    int *heap, n_heap;
    int per_bucket;
    size_t rec;
} merge;

static const uint8_t *rec_at(const merge *m, int fi) { return m->f[fi].map.data + m->f[fi].pos * m->rec; }

static uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Order of the current records of files x and y: hashes, then file, then document. */
static int merge_less(const merge *m, int x, int y) {
    const uint8_t *a = rec_at(m, x), *b = rec_at(m, y);
    for (int i = 0; i < m->per_bucket; i++) {
        uint64_t u = rd64(a + 8 * i), v = rd64(b + 8 * i);
        if (u != v) return u < v;
    }
    if (m->f[x].file != m->f[y].file) return m->f[x].file < m->f[y].file;
    return rd32(a + 8 * m->per_bucket) < rd32(b + 8 * m->per_bucket);
}

static void heap_down(merge *m, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->n_heap && merge_less(m, m->heap[l], m->heap[s])) s = l;
        if (r < m->n_heap && merge_less(m, m->heap[r], m->heap[s])) s = r;
        if (s == i) return;
        int t = m->heap[i];
        m->heap[i] = m->heap[s], m->heap[s] = t, i = s;
    }
}

/* Maps the signature files of bucket bi (those with records). */
static int open_bucket(const stage_job *j, int bi, merge *mg, smol_error *err) {
    mg->f = calloc(j->n_files + 1, sizeof *mg->f);
    mg->heap = calloc(j->n_files + 1, sizeof *mg->heap);
    if (!mg->f || !mg->heap) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    int nf = 0;
    for (size_t fi = 0; fi < j->n_files; fi++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/bucket_%03d/%06zu.sig", j->work, bi, fi);
        sig_file *f = &mg->f[nf];
        int rc = smol_map_open(&f->map, path, err);
        if (rc) return rc;
        if (f->map.size % mg->rec)
            return smol_fail(err, SMOL_EFORMAT, "%s: %zu bytes is not a whole number of %zu-byte records (another "
                             "hashes-per-bucket setting?)", path, f->map.size, mg->rec);
        f->n = f->map.size / mg->rec, f->file = (uint32_t)fi;
        if (f->n == 0) {
            smol_map_close(&f->map);
            continue;
        }
        mg->heap[mg->n_heap++] = nf++;
    }
    for (int i = mg->n_heap / 2 - 1; i >= 0; i--) heap_down(mg, i);
    return SMOL_OK;
}

/* Merges bucket bi's files in order and writes each pair of neighbours with equal hashes. */
static int merge_bucket(merge *mg, FILE *out, uint64_t *pairs) {
    uint32_t prev_file = 0, prev_doc = 0;
    const uint8_t *prev = NULL;
    size_t hb = (size_t)mg->per_bucket * 8;
    while (mg->n_heap) {
        int top = mg->heap[0];
        const uint8_t *r = rec_at(mg, top);
        uint32_t file = mg->f[top].file, doc = rd32(r + hb);
        if (prev && memcmp(prev, r, hb) == 0) {
            uint32_t rec[4] = {prev_file, prev_doc, file, doc};
            if (fwrite(rec, 4, 4, out) != 4) return -1;
            ++*pairs;
        }
        prev = r, prev_file = file, prev_doc = doc;
        if (++mg->f[top].pos == mg->f[top].n) mg->heap[0] = mg->heap[--mg->n_heap];
        if (mg->n_heap) heap_down(mg, 0);
    }
    return 0;
}

static void bucket_task(void *ctx, int task, int thread) {
    (void)thread;
    stage_job *j = ctx;
    int bi = j->task_ids[task];
    smol_error *err = &j->errs[task];
    char done[4200], marker[64], dir[4200], path[4300];
    done_dir(j->work, done, sizeof done);
    snprintf(marker, sizeof marker, "bucket_%03d", bi);
    if (smol_dd_is_done(done, marker)) {
        j->stats[task].skipped++;
        return;
    }
    merge mg = {.per_bucket = j->m->per_bucket, .rec = SIG_RECORD(j->m->per_bucket)};
    int rc = open_bucket(j, bi, &mg, err);
    snprintf(dir, sizeof dir, "%s/dups", j->work);
    snprintf(path, sizeof path, "%s/%03d.dups", dir, bi);
    smol_atomic_file f = {0};
    if (!rc) rc = smol_dd_mkdirs(dir, err);
    if (!rc) rc = smol_atomic_open(&f, path, err);
    uint64_t pairs = 0;
    if (!rc && merge_bucket(&mg, f.fp, &pairs)) rc = smol_fail(err, SMOL_EIO, "%s: write failed: %s", path, strerror(errno));
    if (!rc) rc = smol_atomic_commit(&f, err);
    else smol_atomic_abort(&f);
    if (!rc) {
        char text[64];
        snprintf(text, sizeof text, "pairs %llu\n", (unsigned long long)pairs);
        rc = smol_dd_mark_done(done, marker, text, err);
        stage_log(j->o, "buckets: bucket %d: %llu duplicate pairs", bi, (unsigned long long)pairs);
    }
    j->stats[task].pairs = pairs;
    if (mg.f)
        for (size_t i = 0; i <= j->n_files; i++) smol_map_close(&mg.f[i].map);
    free(mg.f), free(mg.heap);
    j->rc[task] = rc;
}

int smol_minhash_buckets(char *const *files, size_t n_files, const char *work_dir, const smol_minhash_opts *o,
                         smol_minhash_stats *st, smol_error *err) {
    smol_minhash *m = NULL;
    int rc = stage_begin(files, n_files, work_dir, o, &m, err);
    char done[4200];
    done_dir(work_dir, done, sizeof done);
    for (size_t fi = 0; fi < n_files && !rc; fi++) {
        char marker[64];
        snprintf(marker, sizeof marker, "sig_%06zu", fi);
        if (!smol_dd_is_done(done, marker))
            rc = smol_fail(err, SMOL_ENOTFOUND, "%s: no signatures yet (file %zu of %zu): run the signatures stage "
                           "for every shard first", files[fi], fi, n_files);
    }
    int n = 0;
    int *ids = rc ? NULL : shard_ids((size_t)m->buckets, o->rank, o->world_size, &n);
    if (!rc && !ids) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    stage_job j = {.files = files, .n_files = n_files, .work = work_dir, .o = o, .m = m};
    if (!rc) rc = run_tasks(&j, ids, n, bucket_task, st, err);
    free(ids);
    smol_minhash_free(m);
    return rc;
}

/* ---------------------------------------------------------------- stage 3: clusters */

typedef struct uf {
    uint64_t *key;     /* sorted unique (file << 32 | doc) */
    uint32_t *parent;
    size_t n;
} uf;

static uint32_t uf_find(uf *u, uint32_t x) {
    uint32_t r = x;
    while (u->parent[r] != r) r = u->parent[r];
    while (u->parent[x] != r) {
        uint32_t nx = u->parent[x];
        u->parent[x] = r, x = nx;
    }
    return r;
}

static size_t uf_index(const uf *u, uint64_t key) {
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (u->key[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads every bucket's pairs into *pairs (4 words each). */
static int read_pairs(const char *work, int buckets, uint32_t **pairs, size_t *n_pairs, smol_error *err) {
    size_t n = 0, cap = 0;
    uint32_t *p = NULL;
    for (int bi = 0; bi < buckets; bi++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/dups/%03d.dups", work, bi);
        smol_map mp;
        int rc = smol_map_open(&mp, path, err);
        if (rc) {
            free(p);
            return rc;
        }
        size_t k = mp.size / 16;
        if (mp.size % 16) rc = smol_fail(err, SMOL_EFORMAT, "%s: %zu bytes is not a whole number of pairs", path, mp.size);
        if (!rc && n + k > cap) {
            cap = (n + k) * 2;
            uint32_t *q = realloc(p, cap * 16);
            if (!q) rc = smol_fail(err, SMOL_ENOMEM, "out of memory holding %zu pairs", n + k);
            else p = q;
        }
        if (!rc && k) memcpy(p + 4 * n, mp.data, k * 16);
        n += rc ? 0 : k;
        smol_map_close(&mp);
        if (rc) {
            free(p);
            return rc;
        }
    }
    *pairs = p;
    *n_pairs = n;
    return SMOL_OK;
}

/* Builds the union-find over the pairs; each set's root is its first document. */
static int build_sets(uf *u, const uint32_t *p, size_t n_pairs, size_t n_files, smol_error *err) {
    u->key = malloc((2 * n_pairs + 1) * sizeof *u->key);
    if (!u->key) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_pairs; i++) {
        if (p[4 * i] >= n_files || p[4 * i + 2] >= n_files)
            return smol_fail(err, SMOL_EFORMAT, "duplicate pair %zu names file %u of %zu: stale work directory?", i,
                             p[4 * i] >= n_files ? p[4 * i] : p[4 * i + 2], n_files);
        u->key[2 * i] = (uint64_t)p[4 * i] << 32 | p[4 * i + 1];
        u->key[2 * i + 1] = (uint64_t)p[4 * i + 2] << 32 | p[4 * i + 3];
    }
    qsort(u->key, 2 * n_pairs, sizeof *u->key, cmp_u64);
    for (size_t i = 0; i < 2 * n_pairs; i++)
        if (u->n == 0 || u->key[u->n - 1] != u->key[i]) u->key[u->n++] = u->key[i];
    if (u->n > UINT32_MAX) return smol_fail(err, SMOL_ERANGE, "%zu documents in clusters: at most 2^32 - 1", u->n);
    u->parent = malloc((u->n + 1) * sizeof *u->parent);
    if (!u->parent) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (size_t i = 0; i < u->n; i++) u->parent[i] = (uint32_t)i;
    for (size_t i = 0; i < n_pairs; i++) {
        uint32_t a = uf_find(u, (uint32_t)uf_index(u, (uint64_t)p[4 * i] << 32 | p[4 * i + 1]));
        uint32_t b = uf_find(u, (uint32_t)uf_index(u, (uint64_t)p[4 * i + 2] << 32 | p[4 * i + 3]));
        if (a < b) u->parent[b] = a;
        else if (b < a) u->parent[a] = b;
    }
    return SMOL_OK;
}

/* Writes WORK/remove/FFFFFF.remove (doc, cluster, kept file, kept doc) for each file with removals. */
static int write_removals(const char *work, uf *u, smol_minhash_stats *st, smol_error *err) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/remove", work);
    int rc = smol_dd_mkdirs(dir, err);
    uint32_t *cluster = malloc((u->n + 1) * sizeof *cluster);
    if (!rc && !cluster) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    smol_atomic_file f = {0};
    uint32_t cur_file = UINT32_MAX, n_clusters = 0;
    for (size_t i = 0; i < u->n && !rc; i++) {
        uint32_t r = uf_find(u, (uint32_t)i), file = (uint32_t)(u->key[i] >> 32);
        if (r == i) {
            cluster[i] = n_clusters++;
            continue;
        }
        cluster[i] = cluster[r];
        if (file != cur_file) {
            if (f.fp && (rc = smol_atomic_commit(&f, err))) break;
            char path[4300];
            snprintf(path, sizeof path, "%s/%06u.remove", dir, file);
            if ((rc = smol_atomic_open(&f, path, err))) break;
            cur_file = file;
        }
        uint32_t rec[4] = {(uint32_t)u->key[i], cluster[r], (uint32_t)(u->key[r] >> 32), (uint32_t)u->key[r]};
        fwrite(rec, 4, 4, f.fp);
        st->to_remove++;
    }
    if (!rc && f.fp) rc = smol_atomic_commit(&f, err);
    smol_atomic_abort(&f);
    st->clustered = u->n, st->clusters = n_clusters;
    free(cluster);
    return rc;
}

int smol_minhash_clusters(char *const *files, size_t n_files, const char *work_dir, const smol_minhash_opts *o,
                          smol_minhash_stats *st, smol_error *err) {
    int rc = stage_begin(files, n_files, work_dir, o, NULL, err);
    if (rc || o->rank != 0) return rc;
    char done[4200];
    done_dir(work_dir, done, sizeof done);
    if (smol_dd_is_done(done, "clusters")) {
        if (st) st->skipped++;
        return SMOL_OK;
    }
    for (int bi = 0; bi < o->buckets; bi++) {
        char marker[64];
        snprintf(marker, sizeof marker, "bucket_%03d", bi);
        if (!smol_dd_is_done(done, marker))
            return smol_fail(err, SMOL_ENOTFOUND, "%s/dups: bucket %d is not done: run the buckets stage for every "
                             "shard first", work_dir, bi);
    }
    uint32_t *pairs = NULL;
    size_t n_pairs = 0;
    uf u = {0};
    smol_minhash_stats s = {0};
    rc = read_pairs(work_dir, o->buckets, &pairs, &n_pairs, err);
    if (!rc) rc = build_sets(&u, pairs, n_pairs, n_files, err);
    if (!rc) rc = write_removals(work_dir, &u, &s, err);
    if (!rc) {
        char text[256];
        snprintf(text, sizeof text, "pairs %zu clustered %llu clusters %llu removed %llu\n", n_pairs,
                 (unsigned long long)s.clustered, (unsigned long long)s.clusters, (unsigned long long)s.to_remove);
        rc = smol_dd_mark_done(done, "clusters", text, err);
        stage_log(o, "clusters: %zu pairs, %llu documents in %llu clusters, %llu to remove", n_pairs,
                  (unsigned long long)s.clustered, (unsigned long long)s.clusters, (unsigned long long)s.to_remove);
    }
    s.pairs = n_pairs;
    if (st) add_stats(st, &s);
    free(pairs), free(u.key), free(u.parent);
    return rc;
}

/* ---------------------------------------------------------------- stage 4: filter */

/* Writes the removed record with its cluster and the kept document it duplicates. */
static int exclude(const stage_job *j, smol_dd_reader *r, smol_dd_writer *ex, const uint8_t *rec, smol_error *err) {
    char name[1024], ref[1100];
    uint32_t kf = rd32(rec + 8), kd = rd32(rec + 12);
    smol_dd_output_name(kf < j->n_files ? j->files[kf] : "?", name, sizeof name);
    snprintf(ref, sizeof ref, "%s:%u", name, kd);
    cJSON *js = smol_dd_json(r);
    cJSON_DeleteItemFromObjectCaseSensitive(js, "minhash_cluster");
    cJSON_DeleteItemFromObjectCaseSensitive(js, "minhash_duplicate_of");
    if (!cJSON_AddNumberToObject(js, "minhash_cluster", rd32(rec + 4)) ||
        !cJSON_AddStringToObject(js, "minhash_duplicate_of", ref))
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    return smol_dd_write_json(ex, js, err);
}

static int filter_file(const stage_job *j, int fi, const smol_map *rm, smol_minhash_stats *st, smol_error *err) {
    char name[1024], path[4200];
    smol_dd_output_name(j->files[fi], name, sizeof name);
    smol_dd_reader *r = NULL;
    smol_dd_writer *w = NULL, *ex = NULL;
    int rc = smol_dd_reader_open(j->files[fi], j->o->text_field, &r, err);
    snprintf(path, sizeof path, "%s/%s", j->out, name);
    if (!rc) rc = smol_dd_writer_open(path, &w, err);
    snprintf(path, sizeof path, "%s/%s", j->o->exclusions_dir ? j->o->exclusions_dir : "", name);
    if (!rc && j->o->exclusions_dir) rc = smol_dd_writer_open(path, &ex, err);
    size_t n_rm = rm->size / 16, next = 0;
    const char *text;
    size_t len;
    uint32_t doc = 0;
    while (!rc) {
        if ((rc = smol_dd_read(r, &text, &len, err)) != 1) break;
        rc = SMOL_OK;
        while (next < n_rm && rd32(rm->data + 16 * next) < doc) next++;
        if (next < n_rm && rd32(rm->data + 16 * next) == doc) {
            st->removed++;
            if (ex) rc = exclude(j, r, ex, rm->data + 16 * next, err);
        } else {
            size_t rl;
            const char *raw = smol_dd_raw(r, &rl);
            rc = smol_dd_write_line(w, raw, rl, err);
            st->kept++;
        }
        doc++;
    }
    smol_dd_reader_close(r);
    if (!rc && w) rc = smol_dd_writer_close(w, err), w = NULL;
    if (!rc && ex) rc = smol_dd_writer_close(ex, err), ex = NULL;
    smol_dd_writer_abort(w);
    smol_dd_writer_abort(ex);
    return rc;
}

static void filter_task(void *ctx, int task, int thread) {
    (void)thread;
    stage_job *j = ctx;
    int fi = j->task_ids[task];
    smol_error *err = &j->errs[task];
    char done[4200], marker[64], path[4300], name[1024];
    done_dir(j->work, done, sizeof done);
    snprintf(marker, sizeof marker, "filter_%06d", fi);
    smol_dd_output_name(j->files[fi], name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", j->out, name);
    char want[4400];
    snprintf(want, sizeof want, "%s\n", path);
    char mpath[4300], *have = NULL;
    size_t hl;
    snprintf(mpath, sizeof mpath, "%s/%s", done, marker);
    if (smol_exists(mpath) && smol_exists(path) && smol_read_file(mpath, &have, &hl, NULL) == 0 && strcmp(have, want) == 0) {
        free(have);
        j->stats[task].skipped++;
        return;
    }
    free(have);
    smol_map rm = {0};
    snprintf(mpath, sizeof mpath, "%s/remove/%06d.remove", j->work, fi);
    int rc = check_unchanged(j, fi, err);
    if (!rc && smol_exists(mpath)) rc = smol_map_open(&rm, mpath, err);
    if (!rc && rm.size % 16) rc = smol_fail(err, SMOL_EFORMAT, "%s: %zu bytes is not a whole number of records", mpath, rm.size);
    if (!rc) rc = filter_file(j, fi, &rm, &j->stats[task], err);
    smol_map_close(&rm);
    if (!rc) rc = smol_dd_mark_done(done, marker, want, err);
    if (!rc) stage_log(j->o, "filter: %s: %llu kept, %llu removed", j->files[fi], (unsigned long long)j->stats[task].kept,
                       (unsigned long long)j->stats[task].removed);
    j->rc[task] = rc;
}

int smol_minhash_filter(char *const *files, size_t n_files, const char *work_dir, const char *out_dir,
                        const smol_minhash_opts *o, smol_minhash_stats *st, smol_error *err) {
    int rc = stage_begin(files, n_files, work_dir, o, NULL, err);
    char done[4200];
    done_dir(work_dir, done, sizeof done);
    if (!rc && !smol_dd_is_done(done, "clusters"))
        rc = smol_fail(err, SMOL_ENOTFOUND, "%s: the clusters stage is not done: run it first", work_dir);
    if (!rc) rc = smol_dd_mkdirs(out_dir, err);
    if (!rc && o->exclusions_dir) rc = smol_dd_mkdirs(o->exclusions_dir, err);
    if (rc) return rc;
    int n;
    int *ids = shard_ids(n_files, o->rank, o->world_size, &n);
    stage_job j = {.files = files, .n_files = n_files, .work = work_dir, .out = out_dir, .o = o};
    rc = ids ? run_tasks(&j, ids, n, filter_task, st, err) : smol_fail(err, SMOL_ENOMEM, "out of memory");
    free(ids);
    return rc;
}
