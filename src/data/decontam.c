/* decontam.c: Cosmopedia-style benchmark decontamination: a word n-gram index of benchmark
 * items, candidate lookup per document, and difflib.SequenceMatcher's matching blocks for the
 * match ratio. */
#include "data/decontam.h"
#include "base/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

void smol_decontam_opts_default(smol_decontam_opts *o) {
    memset(o, 0, sizeof *o);
    o->ngram = 10;
    o->threshold = 0.5;
    o->world_size = 1;
}

/* ---------------------------------------------------------------- words */

typedef struct cpbuf {
    uint32_t *v;
    size_t n, cap;
} cpbuf;

static int cp_push(cpbuf *b, uint32_t c) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        uint32_t *v = realloc(b->v, cap * sizeof *v);
        if (!v) return -1;
        b->v = v, b->cap = cap;
    }
    b->v[b->n++] = c;
    return 0;
}

static int is_cased(uint32_t c) {
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT;
}

/* Python's \w: letters, numbers and '_'. */
static int is_word(uint32_t c) {
    if (c < 128) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* Lowercase of v[i] as Python's str.lower (final sigma by its neighbours). */
static uint32_t py_lower(const uint32_t *v, size_t n, size_t i) {
    uint32_t c = v[i];
    if (c < 128) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c != 0x03A3) return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
    int before = i > 0 && is_cased(v[i - 1]);
    int after = i + 1 < n && is_cased(v[i + 1]);
    return before && !after ? 0x03C2 : 0x03C3;
}

/* Words of text as code points joined by single spaces (into out) with their start offsets. */
typedef struct words {
    cpbuf cps;        /* the joined words */
    cpbuf raw;        /* NFD without Mn, before lowercasing */
    size_t *start, *end;
    size_t n, cap;
} words;

static int words_add(words *w, size_t s, size_t e) {
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        size_t *a = realloc(w->start, cap * sizeof *a);
        if (!a) return -1;
        w->start = a;
        size_t *b = realloc(w->end, cap * sizeof *b);
        if (!b) return -1;
        w->end = b, w->cap = cap;
    }
    w->start[w->n] = s, w->end[w->n] = e, w->n++;
    return 0;
}

static int split_words(words *w, const char *text, size_t len) {
    w->cps.n = w->raw.n = w->n = 0;
    const uint8_t *p = (const uint8_t *)text;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c, d[32];
        utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (l <= 0) {
            i++;
            continue;
        }
        i += (size_t)l;
        if (c < 128) {
            if (cp_push(&w->raw, (uint32_t)c)) return -1;
            continue;
        }
        int last = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char(c, d, 32, UTF8PROC_DECOMPOSE, &last);
        if (n < 0 || n > 32) d[0] = c, n = 1;
        for (utf8proc_ssize_t k = 0; k < n; k++)
            if (utf8proc_category(d[k]) != UTF8PROC_CATEGORY_MN && cp_push(&w->raw, (uint32_t)d[k])) return -1;
    }
    int in = 0;
    size_t ws = 0;
    for (size_t i = 0; i < w->raw.n; i++) {
        uint32_t c = py_lower(w->raw.v, w->raw.n, i);
        if (!is_word(c)) {
            if (in && words_add(w, ws, w->cps.n)) return -1;
            in = 0;
            continue;
        }
        if (!in) {
            if (w->cps.n && cp_push(&w->cps, ' ')) return -1;
            ws = w->cps.n;
            in = 1;
        }
        if (cp_push(&w->cps, c)) return -1;
    }
    if (in && words_add(w, ws, w->cps.n)) return -1;
    return 0;
}

static void words_free(words *w) {
    free(w->cps.v), free(w->raw.v), free(w->start), free(w->end);
}

/* UTF-8 of cps into a malloc'd string. */
static char *to_utf8(const uint32_t *v, size_t n, size_t *out_len) {
    char *s = malloc(4 * n + 1);
    if (!s) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)utf8proc_encode_char((utf8proc_int32_t)v[i], (uint8_t *)s + k);
    s[k] = 0;
    *out_len = k;
    return s;
}

int smol_decontam_words(const char *text, size_t len, char **out, size_t *out_len, size_t *n_words) {
    words w = {0};
    int rc = split_words(&w, text, len) ? SMOL_ENOMEM : SMOL_OK;
    if (!rc && !(*out = to_utf8(w.cps.v, w.cps.n, out_len))) rc = SMOL_ENOMEM;
    if (!rc) *n_words = w.n;
    words_free(&w);
    return rc;
}

static int to_cps(const char *s, size_t len, cpbuf *b) {
    b->n = 0;
    const uint8_t *p = (const uint8_t *)s;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i), &c);
        if (l <= 0) c = 0xFFFD, l = 1;
        if (cp_push(b, (uint32_t)c)) return -1;
        i += (size_t)l;
    }
    return 0;
}

/* ---------------------------------------------------------------- SequenceMatcher */

/* difflib.SequenceMatcher(None, a, b, autojunk=False) over code points: b's positions by
 * character, and the j2len tables of find_longest_match as stamped arrays. */
typedef struct seqm {
    const uint32_t *a, *b;
    size_t la, lb;
    uint64_t *pairs;        /* (char << 32 | pos) of b, sorted */
    uint32_t *keys, *kstart; /* distinct characters of b and where their positions start */
    size_t n_keys;
    int32_t ascii[128];
    uint32_t *val[2];
    uint64_t *stamp[2];
    uint64_t gen;
    size_t cap_b;
    uint32_t (*blocks)[3];
    size_t n_blocks, cap_blocks;
    uint32_t (*stack)[4];
    size_t cap_stack;
} seqm;

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int seqm_set_b(seqm *m, const uint32_t *b, size_t lb) {
    m->b = b, m->lb = lb;
    if (lb + 1 > m->cap_b) {
        size_t cap = lb + 1;
        free(m->pairs), free(m->keys), free(m->kstart);
        free(m->val[0]), free(m->val[1]), free(m->stamp[0]), free(m->stamp[1]);
        m->pairs = malloc(cap * sizeof *m->pairs);
        m->keys = malloc(cap * sizeof *m->keys);
        m->kstart = malloc((cap + 1) * sizeof *m->kstart);
        for (int t = 0; t < 2; t++) {
            m->val[t] = malloc((cap + 1) * sizeof *m->val[t]);
            m->stamp[t] = calloc(cap + 1, sizeof *m->stamp[t]);
        }
        m->cap_b = cap;
        m->gen = 0;
        if (!m->pairs || !m->keys || !m->kstart || !m->val[0] || !m->val[1] || !m->stamp[0] || !m->stamp[1]) {
            m->cap_b = 0;
            return -1;
        }
    }
    for (size_t j = 0; j < lb; j++) m->pairs[j] = (uint64_t)b[j] << 32 | j;
    if (lb) qsort(m->pairs, lb, sizeof *m->pairs, cmp_u64);
    m->n_keys = 0;
    for (int c = 0; c < 128; c++) m->ascii[c] = -1;
    for (size_t j = 0; j < lb; j++) {
        uint32_t c = (uint32_t)(m->pairs[j] >> 32);
        if (m->n_keys == 0 || m->keys[m->n_keys - 1] != c) {
            if (c < 128) m->ascii[c] = (int32_t)m->n_keys;
            m->keys[m->n_keys] = c, m->kstart[m->n_keys++] = (uint32_t)j;
        }
    }
    m->kstart[m->n_keys] = (uint32_t)lb;
    return 0;
}

static long seqm_key(const seqm *m, uint32_t c) {
    if (c < 128) return m->ascii[c];
    size_t lo = 0, hi = m->n_keys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->keys[mid] < c) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->n_keys && m->keys[lo] == c ? (long)lo : -1;
}

/* find_longest_match(alo, ahi, blo, bhi): the longest block, earliest in a, then in b. */
static void longest(seqm *m, size_t alo, size_t ahi, size_t blo, size_t bhi, size_t *bi, size_t *bj, size_t *bk) {
    size_t besti = alo, bestj = blo, bestk = 0;
    m->gen++;  /* no entries of an earlier call are read */
    for (size_t i = alo; i < ahi; i++) {
        uint64_t g = ++m->gen;
        int cur = (int)(g & 1), prv = cur ^ 1;
        long key = seqm_key(m, m->a[i]);
        if (key < 0) continue;
        for (uint32_t p = m->kstart[key]; p < m->kstart[key + 1]; p++) {
            size_t j = (size_t)(m->pairs[p] & 0xffffffffu);
            if (j < blo) continue;
            if (j >= bhi) break;
            uint32_t k = (m->stamp[prv][j] == g - 1 ? m->val[prv][j] : 0) + 1;
            m->val[cur][j + 1] = k, m->stamp[cur][j + 1] = g;
            if (k > bestk) besti = i - k + 1, bestj = j - k + 1, bestk = k;
        }
    }
    *bi = besti, *bj = bestj, *bk = bestk;
}

static int push_range(seqm *m, size_t *n, size_t alo, size_t ahi, size_t blo, size_t bhi) {
    if (*n == m->cap_stack) {
        size_t cap = m->cap_stack ? m->cap_stack * 2 : 64;
        void *s = realloc(m->stack, cap * sizeof *m->stack);
        if (!s) return -1;
        m->stack = s, m->cap_stack = cap;
    }
    m->stack[*n][0] = (uint32_t)alo, m->stack[*n][1] = (uint32_t)ahi;
    m->stack[*n][2] = (uint32_t)blo, m->stack[*n][3] = (uint32_t)bhi;
    ++*n;
    return 0;
}

static int cmp_block(const void *x, const void *y) {
    const uint32_t *a = x, *b = y;
    if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
    return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* get_matching_blocks(): sorted, adjacent blocks merged (without the final dummy). */
static int matching_blocks(seqm *m) {
    m->n_blocks = 0;
    size_t n = 0;
    if (push_range(m, &n, 0, m->la, 0, m->lb)) return -1;
    while (n) {
        n--;
        size_t alo = m->stack[n][0], ahi = m->stack[n][1], blo = m->stack[n][2], bhi = m->stack[n][3];
        size_t i, j, k;
        longest(m, alo, ahi, blo, bhi, &i, &j, &k);
        if (!k) continue;
        if (m->n_blocks == m->cap_blocks) {
            size_t cap = m->cap_blocks ? m->cap_blocks * 2 : 64;
            void *b = realloc(m->blocks, cap * sizeof *m->blocks);
            if (!b) return -1;
            m->blocks = b, m->cap_blocks = cap;
        }
        m->blocks[m->n_blocks][0] = (uint32_t)i, m->blocks[m->n_blocks][1] = (uint32_t)j;
        m->blocks[m->n_blocks++][2] = (uint32_t)k;
        if (alo < i && blo < j && push_range(m, &n, alo, i, blo, j)) return -1;
        if (i + k < ahi && j + k < bhi && push_range(m, &n, i + k, ahi, j + k, bhi)) return -1;
    }
    if (m->n_blocks) qsort(m->blocks, m->n_blocks, sizeof *m->blocks, cmp_block);
    size_t w = 0;
    for (size_t r = 0; r < m->n_blocks; r++) {
        uint32_t *p = w ? m->blocks[w - 1] : NULL, *q = m->blocks[r];
        if (p && p[0] + p[2] == q[0] && p[1] + p[2] == q[1]) p[2] += q[2];
        else memmove(m->blocks[w++], q, sizeof *m->blocks);
    }
    m->n_blocks = w;
    return 0;
}

/* Cosmopedia's ratio: blocks > 5 characters of a, joined, whitespace collapsed, over len(b). */
static int seqm_ratio(seqm *m, const uint32_t *a, size_t la, double *ratio) {
    m->a = a, m->la = la;
    if (matching_blocks(m)) return -1;
    size_t chars = 0, n_words = 0;
    int in = 0;
    for (size_t r = 0; r < m->n_blocks; r++) {
        if (m->blocks[r][2] <= 5) continue;
        for (size_t i = m->blocks[r][0]; i < m->blocks[r][0] + m->blocks[r][2]; i++) {
            int space = a[i] == ' ';
            if (!space) chars++, n_words += !in;
            in = !space;
        }
    }
    size_t len = chars + (n_words ? n_words - 1 : 0);
    *ratio = m->lb ? (double)len / (double)m->lb : 0.0;
    return 0;
}

static void seqm_free(seqm *m) {
    free(m->pairs), free(m->keys), free(m->kstart), free(m->blocks), free(m->stack);
    for (int t = 0; t < 2; t++) free(m->val[t]), free(m->stamp[t]);
}

int smol_decontam_ratio(const char *doc_words, size_t doc_len, const char *bench_words, size_t bench_len,
                        double *ratio) {
    cpbuf a = {0}, b = {0};
    seqm m = {0};
    int rc = to_cps(doc_words, doc_len, &a) || to_cps(bench_words, bench_len, &b) || seqm_set_b(&m, b.v, b.n) ||
             seqm_ratio(&m, a.v, a.n, ratio);
    free(a.v), free(b.v);
    seqm_free(&m);
    return rc ? SMOL_ENOMEM : SMOL_OK;
}

/* ---------------------------------------------------------------- the n-gram index */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30, x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27, x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

#define NGRAM_MUL 0x100000001b3u

/* The hashes of every n-gram of w (n_words - n + 1 of them) into out. */
static int ngram_hashes(const words *w, int n, uint64_t **out, size_t *cap) {
    if (w->n < (size_t)n) return 0;
    size_t m = w->n - (size_t)n + 1;
    if (m > *cap) {
        uint64_t *v = realloc(*out, m * sizeof *v);
        if (!v) return -1;
        *out = v, *cap = m;
    }
    uint64_t pw = 1, h = 0;
    for (int k = 1; k < n; k++) pw *= NGRAM_MUL;
    uint64_t *th = malloc(w->n * sizeof *th);
    if (!th) return -1;
    for (size_t i = 0; i < w->n; i++) {
        uint64_t x = 0xcbf29ce484222325u;
        for (size_t c = w->start[i]; c < w->end[i]; c++) x = (x ^ w->cps.v[c]) * NGRAM_MUL;
        th[i] = mix64(x);
    }
    for (int k = 0; k < n; k++) h = h * NGRAM_MUL + th[k];
    for (size_t i = 0; i < m; i++) {
        (*out)[i] = mix64(h);
        if (i + 1 < m) h = (h - th[i] * pw) * NGRAM_MUL + th[i + (size_t)n];
    }
    free(th);
    return 0;
}

struct smol_decontam {
    int ngram;
    double threshold;
    char **bench;            /* benchmark file paths */
    size_t n_bench;
    uint32_t *cps;           /* every item's joined words */
    size_t n_cps, cap_cps;
    size_t *off, *len;       /* per item */
    uint32_t *file;          /* per item: benchmark file */
    long *index;             /* per item: record index in its file */
    size_t n_items, cap_items;
    uint64_t *keys;          /* open addressing: n-gram hash (0: empty) */
    uint32_t *start, *count; /* its items in post[] */
    size_t cap_table, n_keys;
    uint32_t *post;
};

typedef struct pair64 {
    uint64_t h;
    uint32_t item;
} pair64;

static int cmp_pair(const void *x, const void *y) {
    const pair64 *a = x, *b = y;
    if (a->h != b->h) return a->h < b->h ? -1 : 1;
    return a->item < b->item ? -1 : a->item > b->item;
}

static int add_item(smol_decontam *d, const words *w, uint32_t file, long index) {
    if (d->n_items == d->cap_items) {
        size_t cap = d->cap_items ? d->cap_items * 2 : 256;
        size_t *off = realloc(d->off, cap * sizeof *off);
        if (off) d->off = off;
        size_t *len = realloc(d->len, cap * sizeof *len);
        if (len) d->len = len;
        uint32_t *f = realloc(d->file, cap * sizeof *f);
        if (f) d->file = f;
        long *ix = realloc(d->index, cap * sizeof *ix);
        if (ix) d->index = ix;
        if (!off || !len || !f || !ix) return -1;
        d->cap_items = cap;
    }
    if (d->n_cps + w->cps.n > d->cap_cps) {
        size_t cap = (d->n_cps + w->cps.n) * 2;
        uint32_t *v = realloc(d->cps, cap * sizeof *v);
        if (!v) return -1;
        d->cps = v, d->cap_cps = cap;
    }
    memcpy(d->cps + d->n_cps, w->cps.v, w->cps.n * sizeof *w->cps.v);
    d->off[d->n_items] = d->n_cps, d->len[d->n_items] = w->cps.n;
    d->file[d->n_items] = file, d->index[d->n_items] = index;
    d->n_cps += w->cps.n;
    d->n_items++;
    return 0;
}

/* Builds the hash table from the sorted (hash, item) pairs. */
static int build_table(smol_decontam *d, pair64 *p, size_t n) {
    if (n) qsort(p, n, sizeof *p, cmp_pair);
    size_t w = 0, keys = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && p[w - 1].h == p[i].h && p[w - 1].item == p[i].item) continue;
        keys += !w || p[w - 1].h != p[i].h;
        p[w++] = p[i];
    }
    size_t cap = 16;
    while (cap < keys * 2) cap *= 2;
    d->keys = calloc(cap, sizeof *d->keys);
    d->start = calloc(cap, sizeof *d->start);
    d->count = calloc(cap, sizeof *d->count);
    d->post = malloc((w + 1) * sizeof *d->post);
    if (!d->keys || !d->start || !d->count || !d->post) return -1;
    d->cap_table = cap, d->n_keys = keys;
    for (size_t i = 0; i < w; i++) {
        d->post[i] = p[i].item;
        if (i && p[i - 1].h == p[i].h) continue;
        uint64_t h = p[i].h ? p[i].h : 1;
        size_t s = h & (cap - 1);
        while (d->keys[s]) s = (s + 1) & (cap - 1);
        d->keys[s] = h, d->start[s] = (uint32_t)i;
        size_t e = i;
        while (e < w && p[e].h == p[i].h) e++;
        d->count[s] = (uint32_t)(e - i);
    }
    return 0;
}

static int lookup(const smol_decontam *d, uint64_t h, uint32_t *start, uint32_t *count) {
    if (!d->cap_table) return 0;
    h = h ? h : 1;
    for (size_t s = h & (d->cap_table - 1); d->keys[s]; s = (s + 1) & (d->cap_table - 1))
        if (d->keys[s] == h) {
            *start = d->start[s], *count = d->count[s];
            return 1;
        }
    return 0;
}

/* Reads one benchmark file's items into d and their (hash, item) pairs into *p. */
static int index_file(smol_decontam *d, uint32_t fi, const char *field, words *w, pair64 **p, size_t *np, size_t *cap,
                      smol_error *err) {
    smol_dd_reader *r;
    int rc = smol_dd_reader_open(d->bench[fi], field, &r, err);
    uint64_t *hs = NULL;
    size_t hcap = 0;
    long index = 0;
    const char *text;
    size_t len;
    while (!rc) {
        if ((rc = smol_dd_read(r, &text, &len, err)) != 1) break;
        rc = SMOL_OK;
        if (split_words(w, text, len) || ngram_hashes(w, d->ngram, &hs, &hcap)) rc = SMOL_ENOMEM;
        if (!rc && w->n >= (size_t)d->ngram) {
            size_t m = w->n - (size_t)d->ngram + 1;
            if (*np + m > *cap) {
                size_t c = (*np + m) * 2;
                pair64 *q = realloc(*p, c * sizeof *q);
                if (!q) rc = SMOL_ENOMEM;
                else *p = q, *cap = c;
            }
            if (!rc && add_item(d, w, fi, index)) rc = SMOL_ENOMEM;
            for (size_t i = 0; !rc && i < m; i++) (*p)[(*np)++] = (pair64){hs[i], (uint32_t)(d->n_items - 1)};
        }
        if (rc == SMOL_ENOMEM) rc = smol_fail(err, rc, "%s: out of memory indexing item %ld", d->bench[fi], index);
        index++;
    }
    free(hs);
    smol_dd_reader_close(r);
    return rc;
}

int smol_decontam_new(char *const *bench_files, size_t n_files, const smol_decontam_opts *o, smol_decontam **out,
                      smol_error *err) {
    *out = NULL;
    if (o->ngram < 1 || o->ngram > 1000) return smol_fail(err, SMOL_EINVAL, "n-gram size %d: must be 1 to 1000", o->ngram);
    if (!(o->threshold >= 0 && o->threshold <= 1))
        return smol_fail(err, SMOL_EINVAL, "threshold %g: must be from 0 to 1", o->threshold);
    if (n_files == 0) return smol_fail(err, SMOL_EINVAL, "no benchmark files");
    smol_decontam *d = calloc(1, sizeof *d);
    if (!d) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    d->ngram = o->ngram, d->threshold = o->threshold;
    d->bench = calloc(n_files, sizeof *d->bench);
    int rc = d->bench ? SMOL_OK : smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_files && !rc; i++, d->n_bench++)
        if (!(d->bench[i] = strdup(bench_files[i]))) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    words w = {0};
    pair64 *p = NULL;
    size_t np = 0, cap = 0;
    for (size_t i = 0; i < n_files && !rc; i++) rc = index_file(d, (uint32_t)i, o->bench_field, &w, &p, &np, &cap, err);
    if (!rc && d->n_items > UINT32_MAX - 1) rc = smol_fail(err, SMOL_ERANGE, "%zu benchmark items: too many", d->n_items);
    if (!rc && build_table(d, p, np)) rc = smol_fail(err, SMOL_ENOMEM, "out of memory building the n-gram index");
    free(p);
    words_free(&w);
    if (rc) {
        smol_decontam_free(d);
        return rc;
    }
    *out = d;
    return SMOL_OK;
}

void smol_decontam_free(smol_decontam *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n_bench; i++) free(d->bench[i]);
    free(d->bench), free(d->cps), free(d->off), free(d->len), free(d->file), free(d->index);
    free(d->keys), free(d->start), free(d->count), free(d->post);
    free(d);
}

size_t smol_decontam_items(const smol_decontam *d) { return d->n_items; }

size_t smol_decontam_ngrams(const smol_decontam *d) { return d->n_keys; }

/* ---------------------------------------------------------------- checks */

struct smol_decontam_scratch {
    words w;
    uint64_t *hs;
    size_t hcap;
    uint32_t *seen;      /* per item: the check that last saw it */
    uint32_t check;
    uint32_t *cand;
    size_t n_cand, cap_cand;
    seqm m;
};

smol_decontam_scratch *smol_decontam_scratch_new(const smol_decontam *d) {
    smol_decontam_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->seen = calloc(d->n_items + 1, sizeof *s->seen);
    if (!s->seen) {
        free(s);
        return NULL;
    }
    return s;
}

void smol_decontam_scratch_free(smol_decontam_scratch *s) {
    if (!s) return;
    words_free(&s->w);
    seqm_free(&s->m);
    free(s->hs), free(s->seen), free(s->cand);
    free(s);
}

/* The items sharing an n-gram with the document, in the order it meets them. */
static int candidates(const smol_decontam *d, smol_decontam_scratch *s, size_t n_hashes) {
    s->n_cand = 0;
    if (++s->check == 0) {
        memset(s->seen, 0, (d->n_items + 1) * sizeof *s->seen);
        s->check = 1;
    }
    for (size_t i = 0; i < n_hashes; i++) {
        uint32_t st, cnt;
        if (!lookup(d, s->hs[i], &st, &cnt)) continue;
        for (uint32_t k = st; k < st + cnt; k++) {
            uint32_t item = d->post[k];
            if (s->seen[item] == s->check) continue;
            s->seen[item] = s->check;
            if (s->n_cand == s->cap_cand) {
                size_t cap = s->cap_cand ? s->cap_cand * 2 : 16;
                uint32_t *c = realloc(s->cand, cap * sizeof *c);
                if (!c) return -1;
                s->cand = c, s->cap_cand = cap;
            }
            s->cand[s->n_cand++] = item;
        }
    }
    return 0;
}

int smol_decontam_check(const smol_decontam *d, smol_decontam_scratch *s, const char *text, size_t len,
                        smol_decontam_match *m) {
    memset(m, 0, sizeof *m);
    if (split_words(&s->w, text, len) || ngram_hashes(&s->w, d->ngram, &s->hs, &s->hcap)) return SMOL_ENOMEM;
    if (s->w.n < (size_t)d->ngram) return 0;
    if (candidates(d, s, s->w.n - (size_t)d->ngram + 1)) return SMOL_ENOMEM;
    m->candidates = (int)s->n_cand;
    for (size_t c = 0; c < s->n_cand; c++) {
        uint32_t item = s->cand[c];
        double ratio;
        if (seqm_set_b(&s->m, d->cps + d->off[item], d->len[item]) || seqm_ratio(&s->m, s->w.cps.v, s->w.cps.n, &ratio))
            return SMOL_ENOMEM;
        if (ratio > d->threshold) {
            m->bench = d->bench[d->file[item]];
            m->item = d->index[item];
            m->ratio = ratio;
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- filtering files */

static int is_file_target(const char *path) {
    size_t n = strlen(path);
    return n >= 6 && strcmp(path + n - 6, ".jsonl") == 0;
}

/* Adds metadata.decontam to the current record and writes it to ex. */
static int write_dropped(smol_dd_reader *r, smol_dd_writer *ex, const smol_decontam_match *m, smol_error *err) {
    cJSON *j = smol_dd_json(r);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    if (!cJSON_IsObject(meta)) {
        cJSON_DeleteItemFromObjectCaseSensitive(j, "metadata");
        meta = cJSON_AddObjectToObject(j, "metadata");
    }
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "decontam");
    cJSON *dc = meta ? cJSON_AddObjectToObject(meta, "decontam") : NULL;
    if (!dc || !cJSON_AddStringToObject(dc, "bench", m->bench) || !cJSON_AddNumberToObject(dc, "item", (double)m->item) ||
        !cJSON_AddNumberToObject(dc, "ratio", m->ratio))
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    return smol_dd_write_json(ex, j, err);
}

static int filter_one(const smol_decontam *d, smol_decontam_scratch *s, const char *path, const smol_decontam_opts *o,
                      smol_dd_writer *w, smol_dd_writer *ex, smol_decontam_stats *st, smol_error *err) {
    smol_dd_reader *r;
    int rc = smol_dd_reader_open(path, o->text_field, &r, err);
    const char *text;
    size_t len;
    while (!rc) {
        if ((rc = smol_dd_read(r, &text, &len, err)) != 1) break;
        smol_decontam_match m;
        int hit = smol_decontam_check(d, s, text, len, &m);
        st->docs++;
        st->candidates += m.candidates > 0;
        if (hit < 0) {
            rc = smol_fail(err, hit, "%s:%ld: out of memory", path, smol_dd_line(r));
        } else if (hit) {
            st->dropped++;
            rc = ex ? write_dropped(r, ex, &m, err) : SMOL_OK;
        } else {
            size_t rl;
            const char *raw = smol_dd_raw(r, &rl);
            st->kept++;
            rc = smol_dd_write_line(w, raw, rl, err);
        }
    }
    smol_dd_reader_close(r);
    return rc;
}

/* Opens target (a file, or dir/NAME of input path) for writing. */
static int open_target(const char *target, const char *input, smol_dd_writer **w, smol_error *err) {
    if (!target) return SMOL_OK;
    if (is_file_target(target)) return smol_dd_writer_open(target, w, err);
    char name[1024], path[4200];
    smol_dd_output_name(input, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", target, name);
    int rc = smol_dd_mkdirs(target, err);
    return rc ? rc : smol_dd_writer_open(path, w, err);
}

/* Commits w (when rc is 0) or drops it. */
static int close_out(smol_dd_writer **w, int rc, smol_error *err) {
    if (!rc && *w) rc = smol_dd_writer_close(*w, err), *w = NULL;
    smol_dd_writer_abort(*w);
    *w = NULL;
    return rc;
}

int smol_decontam_run(const smol_decontam *d, char *const *files, size_t n_files, const char *out,
                      const char *exclusions, const smol_decontam_opts *o, smol_decontam_stats *st, smol_error *err) {
    int single = is_file_target(out);
    int rc = smol_dd_check_shard(o->rank, o->world_size, err);
    if (!rc && (single || (exclusions && is_file_target(exclusions))) && o->world_size != 1)
        rc = smol_fail(err, SMOL_EINVAL, "%s: a single output file needs world size 1; give directories to shard",
                       single ? out : exclusions);
    if (rc) return rc;
    smol_decontam_scratch *s = smol_decontam_scratch_new(d);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    smol_dd_writer *w = NULL, *ex = NULL;
    smol_decontam_stats local = {0};
    int ex_single = exclusions && is_file_target(exclusions), ex_dir = exclusions && !ex_single;
    if (single) rc = open_target(out, NULL, &w, err);
    if (!rc && ex_single) rc = open_target(exclusions, NULL, &ex, err);
    for (size_t i = (size_t)o->rank; i < n_files && !rc; i += (size_t)o->world_size) {
        if (!single) rc = open_target(out, files[i], &w, err);
        if (!rc && ex_dir) rc = open_target(exclusions, files[i], &ex, err);
        if (!rc) rc = filter_one(d, s, files[i], o, w, ex, &local, err);
        if (!single) rc = close_out(&w, rc, err);
        if (ex_dir) rc = close_out(&ex, rc, err);
        if (!rc && o->log) {
            char msg[1024];
            snprintf(msg, sizeof msg, "decontam: %s: %llu docs so far, %llu dropped", files[i],
                     (unsigned long long)local.docs, (unsigned long long)local.dropped);
            o->log(o->log_ctx, msg);
        }
    }
    rc = close_out(&w, rc, err);
    rc = close_out(&ex, rc, err);
    smol_decontam_scratch_free(s);
    if (st) *st = local;
    return rc;
}
