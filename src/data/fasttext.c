/* fasttext.c: fastText-compatible supervised models: .bin/.ftz loading and saving, the
 * dictionary (FNV-1a hashing, word and character n-grams, pruned n-gram maps), dense and
 * product-quantized matrices, and prediction (softmax, one-vs-all, negative sampling and
 * hierarchical softmax, with k and a probability threshold). */
#include "data/fasttext.h"
#include "base/cpu.h"
#include "base/error.h"
#include "base/file.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FT_MAX_DIM 65536
#define FT_MAX_ROWS (INT64_C(1) << 31)

/* ---------------------------------------------------------------- small helpers */

int ft_ids_push(ft_ids *b, int32_t x) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int32_t *v = realloc(b->v, cap * sizeof *v);
        if (!v) return SMOL_ENOMEM;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = x;
    return SMOL_OK;
}

/* Makes room for extra more ids in b. */
static int ids_reserve(ft_ids *b, size_t extra) {
    if (b->cap - b->n >= extra) return SMOL_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->n < extra) cap *= 2;
    int32_t *v = realloc(b->v, cap * sizeof *v);
    if (!v) return SMOL_ENOMEM;
    b->v = v;
    b->cap = cap;
    return SMOL_OK;
}

uint32_t ft_hash(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint32_t)(int32_t)(int8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t pow2_at_least(uint64_t n) {
    uint32_t p = 16;
    while (p < n && p < (1u << 31)) p <<= 1;
    return p;
}

void ft_pq_init(ft_pq *pq, int32_t dim, int32_t dsub) {
    pq->dim = dim;
    pq->dsub = dsub;
    pq->nsubq = dim / dsub;
    pq->lastdsub = dim % dsub;
    if (pq->lastdsub == 0) pq->lastdsub = dsub;
    else pq->nsubq++;
    pq->centroids = NULL;
}

static const float *pq_centroid(const ft_pq *pq, int32_t m, int32_t i) {
    if (m == pq->nsubq - 1) return pq->centroids + (size_t)m * FT_KSUB * pq->dsub + (size_t)i * pq->lastdsub;
    return pq->centroids + ((size_t)m * FT_KSUB + i) * pq->dsub;
}

static float quant_norm(const ft_matrix *mat, int64_t i) {
    return mat->qnorm ? pq_centroid(&mat->npq, 0, mat->norm_codes[i])[0] : 1.0f;
}

float ft_dot_row(const ft_matrix *mat, const float *x, int64_t i) {
    if (!mat->quant) {
        const float *r = mat->data + i * mat->n;
        float s = 0;
        for (int64_t j = 0; j < mat->n; j++) s += r[j] * x[j];
        return s;
    }
    const ft_pq *pq = &mat->pq;
    const uint8_t *code = mat->codes + (size_t)i * pq->nsubq;
    float s = 0;
    for (int32_t m = 0; m < pq->nsubq; m++) {
        const float *c = pq_centroid(pq, m, code[m]);
        int32_t d = m == pq->nsubq - 1 ? pq->lastdsub : pq->dsub;
        const float *xs = x + (size_t)m * pq->dsub;
        for (int32_t k = 0; k < d; k++) s += xs[k] * c[k];
    }
    return s * quant_norm(mat, i);
}

static void add_row(const ft_matrix *mat, int64_t i, float *x) {
    if (!mat->quant) {
        const float *r = mat->data + i * mat->n;
        for (int64_t j = 0; j < mat->n; j++) x[j] += r[j];
        return;
    }
    const ft_pq *pq = &mat->pq;
    const uint8_t *code = mat->codes + (size_t)i * pq->nsubq;
    float a = quant_norm(mat, i);
    for (int32_t m = 0; m < pq->nsubq; m++) {
        const float *c = pq_centroid(pq, m, code[m]);
        int32_t d = m == pq->nsubq - 1 ? pq->lastdsub : pq->dsub;
        float *xs = x + (size_t)m * pq->dsub;
        for (int32_t k = 0; k < d; k++) xs[k] += a * c[k];
    }
}

void ft_hidden(const smol_ft *m, const int32_t *ids, size_t n, float *hidden) {
    ft_hidden_path(m, ids, n, hidden, FT_PATH_AUTO);
}

void ft_hidden_path(const smol_ft *m, const int32_t *ids, size_t n, float *hidden, int path) {
    int32_t dim = m->a.dim;
    memset(hidden, 0, sizeof(float) * (size_t)dim);
    const ft_pq *pq = &m->in.pq;
    int pq2 = m->in.quant && pq->dsub == 2 && pq->lastdsub == 2 && dim % 2 == 0;
#if defined(__x86_64__) || defined(__i386__)
    if (pq2 && path != FT_PATH_SCALAR && smol_cpu_has_avx2()) {
        ft_add_rows_pq2_avx2(&m->in, ids, n, hidden);
        pq2 = -1;
    }
#else
    (void)path;
#endif
    if (pq2 < 0) {
        /* summed above */
    } else if (!m->in.quant) {   /* dense rows: a plain loop the compiler vectorises */
        float *restrict h = hidden;
        for (size_t i = 0; i < n; i++) {
            const float *restrict r = m->in.data + (size_t)ids[i] * (size_t)dim;
            for (int32_t j = 0; j < dim; j++) h[j] += r[j];
        }
    } else {
        for (size_t i = 0; i < n; i++) add_row(&m->in, ids[i], hidden);
    }
    if (n) {
        float inv = 1.0f / (float)n;
        for (int32_t j = 0; j < dim; j++) hidden[j] *= inv;
    }
}

void ft_matrix_free(ft_matrix *mat) {
    free(mat->data);
    free(mat->codes);
    free(mat->pq.centroids);
    free(mat->norm_codes);
    free(mat->npq.centroids);
    memset(mat, 0, sizeof *mat);
}

/* ---------------------------------------------------------------- dictionary */

int32_t ft_dict_find(const ft_dict *d, const char *w, size_t n, uint32_t h) {
    if (!d->table) return -1;
    for (uint32_t s = h & d->table_mask;; s = (s + 1) & d->table_mask) {
        int32_t id = d->table[s].id;
        if (id < 0) return -1;
        if (d->table[s].hash != h) continue;
        const ft_entry *e = &d->e[id];
        if (e->len == n && memcmp(e->word, w, n) == 0) return id;
    }
}

/* A pruned model's row of bucket key from its bitmap (prune_bits, prune_rank), or -1 when the
 * bucket was dropped. */
static inline int32_t prune_bit_row(const ft_dict *d, uint32_t key) {
    if (key >= (uint64_t)d->prune_nbits) return -1;
    uint64_t w = d->prune_bits[key >> 6];
    unsigned sh = key & 63;
    if (!((w >> sh) & 1)) return -1;
    return d->prune_rows[d->prune_rank[key >> 6] + (uint32_t)__builtin_popcountll(w & ((UINT64_C(1) << sh) - 1))];
}

static int32_t prune_lookup(const ft_dict *d, int32_t key) {
    if (d->prune_bits) return key < 0 ? -1 : prune_bit_row(d, (uint32_t)key);
    for (uint32_t s = ((uint32_t)key * 2654435761u) & d->prune_mask;; s = (s + 1) & d->prune_mask) {
        if (d->prune_key[s] == key) return d->prune_val[s];
        if (d->prune_key[s] < 0) return -1;
    }
}

/* fastText's pushHash: bucket id -> input row (through the prune map if pruned). */
static int push_bucket(const smol_ft *m, ft_ids *out, int32_t id) {
    const ft_dict *d = &m->d;
    if (d->prune_size == 0 || id < 0) return SMOL_OK;
    if (d->prune_size > 0) {
        id = prune_lookup(d, id);
        if (id < 0) return SMOL_OK;
    }
    if (id > INT32_MAX - d->nwords) return SMOL_OK;   /* a corrupt file: check_shapes rejects it */
    return ft_ids_push(out, d->nwords + id);
}

/* Turns the n-gram buckets v[0..n) into input rows in place (fastText's pushHash, without the
 * buckets a pruned model dropped); returns how many rows are left. */
static size_t buckets_to_rows(const ft_dict *d, int32_t *v, size_t n) {
    size_t o = 0;
    if (d->prune_size < 0) {
        for (size_t i = 0; i < n; i++)
            if (v[i] <= INT32_MAX - d->nwords) v[o++] = d->nwords + v[i];
    } else if (d->prune_bits) {   /* rank of the bucket's bit, kept if it is set */
        uint32_t nw = (uint32_t)d->nwords;
        for (size_t i = 0; i < n; i++) {
            int32_t row = prune_bit_row(d, (uint32_t)v[i]);
            if (row >= 0) v[o++] = (int32_t)(nw + (uint32_t)row);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            int32_t id = prune_lookup(d, v[i]);
            if (id >= 0 && id <= INT32_MAX - d->nwords) v[o++] = d->nwords + id;
        }
    }
    return o;
}

int ft_char_ngrams(const smol_ft *m, const char *w, size_t n, ft_ids *out) {
    int32_t minn = m->a.minn, maxn = m->a.maxn;
    if (maxn <= 0 || m->a.bucket <= 0 || m->d.prune_size == 0) return SMOL_OK;
    if (ids_reserve(out, n * (size_t)maxn)) return SMOL_ENOMEM;   /* at most maxn n-grams start at each byte */
    uint32_t bucket = (uint32_t)m->a.bucket;
    uint64_t magic = ft_mod_magic(bucket);
    int32_t *v = out->v + out->n;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)w[i] & 0xC0) == 0x80) continue;
        size_t j = i;
        uint32_t h = 2166136261u;   /* FNV-1a of w[i..j), extended one byte at a time */
        for (int32_t len = 1; j < n && len <= maxn; len++) {
            do {
                h = (h ^ (uint32_t)(int32_t)(int8_t)w[j]) * 16777619u;
                j++;
            } while (j < n && ((unsigned char)w[j] & 0xC0) == 0x80);
            if (len >= minn && !(len == 1 && (i == 0 || j == n))) v[k++] = (int32_t)ft_mod(h, bucket, magic);
        }
    }
    out->n += buckets_to_rows(&m->d, v, k);
    return SMOL_OK;
}

static int word_subwords(smol_ft *m, ft_entry *e, int32_t id, ft_ids *tmp, char **wrap, size_t *wrap_cap) {
    tmp->n = 0;
    int rc = ft_ids_push(tmp, id);
    if (rc) return rc;
    if (strcmp(e->word, "</s>") != 0 && m->a.maxn > 0) {
        if (*wrap_cap < e->len + 3) {
            char *p = realloc(*wrap, e->len + 3);
            if (!p) return SMOL_ENOMEM;
            *wrap = p;
            *wrap_cap = e->len + 3;
        }
        (*wrap)[0] = '<';
        memcpy(*wrap + 1, e->word, e->len);
        (*wrap)[e->len + 1] = '>';
        rc = ft_char_ngrams(m, *wrap, e->len + 2, tmp);
        if (rc) return rc;
    }
    free(e->sub);
    e->sub = malloc(tmp->n * sizeof(int32_t));
    if (!e->sub) return SMOL_ENOMEM;
    memcpy(e->sub, tmp->v, tmp->n * sizeof(int32_t));
    e->nsub = (int32_t)tmp->n;
    return SMOL_OK;
}

/* Builds prune_rank and prune_rows from prune_bits and the prune map. */
static int prune_rank_index(ft_dict *d) {
    size_t nw64 = (size_t)(d->prune_nbits + 63) / 64;
    d->prune_rank = malloc(nw64 * sizeof *d->prune_rank);
    if (!d->prune_rank) return SMOL_ENOMEM;
    uint32_t count = 0;
    for (size_t i = 0; i < nw64; i++) {
        d->prune_rank[i] = count;
        count += (uint32_t)__builtin_popcountll(d->prune_bits[i]);
    }
    d->prune_rows = calloc((size_t)count + 1, sizeof *d->prune_rows);
    if (!d->prune_rows) return SMOL_ENOMEM;
    for (uint32_t s = 0; s <= d->prune_mask; s++) {
        int32_t key = d->prune_key[s];
        if (key < 0) continue;
        uint64_t below = d->prune_bits[key >> 6] & ((UINT64_C(1) << (key & 63)) - 1);
        d->prune_rows[d->prune_rank[key >> 6] + (uint32_t)__builtin_popcountll(below)] = d->prune_val[s];
    }
    return SMOL_OK;
}

int ft_dict_index(smol_ft *m, smol_error *err) {
    ft_dict *d = &m->d;
    d->stamp++;
    free(d->table);
    d->table_mask = pow2_at_least((uint64_t)d->size * 2) - 1;
    d->table = malloc(((size_t)d->table_mask + 1) * sizeof *d->table);
    if (!d->table) return smol_fail(err, SMOL_ENOMEM, "fastText dictionary: out of memory for %d words", d->size);
    memset(d->table, 0xff, ((size_t)d->table_mask + 1) * sizeof *d->table);
    for (int32_t i = 0; i < d->size; i++) {
        ft_entry *e = &d->e[i];
        e->hash = ft_hash(e->word, e->len);
        uint32_t s = e->hash & d->table_mask;
        while (d->table[s].id >= 0) s = (s + 1) & d->table_mask;
        d->table[s].hash = e->hash;
        d->table[s].id = i;
    }
    free(d->prune_bits);
    free(d->prune_rank);
    free(d->prune_rows);
    d->prune_bits = NULL;
    d->prune_rank = NULL;
    d->prune_rows = NULL;
    if (d->prune_size > 0 && d->prune_key) {
        int32_t mx = 0;
        for (uint32_t s = 0; s <= d->prune_mask; s++) if (d->prune_key[s] > mx) mx = d->prune_key[s];
        if (mx < (1 << 28)) {
            d->prune_nbits = (int64_t)mx + 1;
            d->prune_bits = calloc((size_t)(d->prune_nbits + 63) / 64, sizeof(uint64_t));
            if (!d->prune_bits) return smol_fail(err, SMOL_ENOMEM, "fastText dictionary: out of memory");
            for (uint32_t s = 0; s <= d->prune_mask; s++)
                if (d->prune_key[s] >= 0) d->prune_bits[d->prune_key[s] >> 6] |= UINT64_C(1) << (d->prune_key[s] & 63);
            if (prune_rank_index(d)) return smol_fail(err, SMOL_ENOMEM, "fastText dictionary: out of memory");
        }
    }
    ft_ids tmp = {0};
    char *wrap = NULL;
    size_t wrap_cap = 0;
    int rc = SMOL_OK;
    for (int32_t i = 0; i < d->nwords && !rc; i++) rc = word_subwords(m, &d->e[i], i, &tmp, &wrap, &wrap_cap);
    free(tmp.v);
    free(wrap);
    if (rc) return smol_fail(err, rc, "fastText dictionary: out of memory for subwords");
    return SMOL_OK;
}

static int prune_map_alloc(ft_dict *d, int64_t n) {
    d->prune_mask = pow2_at_least((uint64_t)n * 2) - 1;
    d->prune_key = malloc(((size_t)d->prune_mask + 1) * sizeof(int32_t));
    d->prune_val = malloc(((size_t)d->prune_mask + 1) * sizeof(int32_t));
    if (!d->prune_key || !d->prune_val) return SMOL_ENOMEM;
    memset(d->prune_key, 0xff, ((size_t)d->prune_mask + 1) * sizeof(int32_t));
    return SMOL_OK;
}

static void prune_map_put(ft_dict *d, int32_t key, int32_t val) {
    uint32_t s = ((uint32_t)key * 2654435761u) & d->prune_mask;
    while (d->prune_key[s] >= 0 && d->prune_key[s] != key) s = (s + 1) & d->prune_mask;
    d->prune_key[s] = key;
    d->prune_val[s] = val;
}

/* ---------------------------------------------------------------- tokenising */

static int is_space(unsigned char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' || c == '\0';
}

#define CACHE_SLOTS 65536
#define CACHE_BYTES (1024 * 1024)
#define CACHE_ROWS (4 * 1024 * 1024)
#define CACHE_MAX_WORD 64

/* Appends the cached rows of out-of-vocabulary word w (hash h) to s->words; 0 if not cached. */
static int cache_get(const smol_ft *m, smol_ft_scratch *s, const char *w, size_t n, uint32_t h) {
    ft_word_cache *c = &s->cache;
    if (!c->slot || c->model != m || c->stamp != m->d.stamp) return 0;
    const struct ft_cached *e = &c->slot[h & (CACHE_SLOTS - 1)];
    if (e->len != n || e->hash != h || memcmp(c->bytes + e->word_at, w, n) != 0) return 0;
    if (ids_reserve(&s->words, e->nrows)) return 0;
    memcpy(s->words.v + s->words.n, c->rows + e->rows_at, (size_t)e->nrows * sizeof(int32_t));
    s->words.n += e->nrows;
    return 1;
}

/* Remembers rows[0..nrows) as the rows of out-of-vocabulary word w (hash h). */
static void cache_put(const smol_ft *m, smol_ft_scratch *s, const char *w, size_t n, uint32_t h,
                      const int32_t *rows, size_t nrows) {
    ft_word_cache *c = &s->cache;
    if (!c->slot || n == 0 || n > CACHE_MAX_WORD || nrows > CACHE_ROWS) return;
    if (c->model != m || c->stamp != m->d.stamp || c->bytes_n + n > CACHE_BYTES || c->rows_n + nrows > CACHE_ROWS) {
        memset(c->slot, 0, CACHE_SLOTS * sizeof *c->slot);
        c->bytes_n = c->rows_n = 0;
        c->model = m;
        c->stamp = m->d.stamp;
    }
    struct ft_cached *e = &c->slot[h & (CACHE_SLOTS - 1)];
    *e = (struct ft_cached){h, (uint32_t)n, (uint32_t)c->bytes_n, (uint32_t)c->rows_n, (uint32_t)nrows};
    memcpy(c->bytes + c->bytes_n, w, n);
    memcpy(c->rows + c->rows_n, rows, nrows * sizeof *rows);
    c->bytes_n += n;
    c->rows_n += nrows;
}

static int add_token(const smol_ft *m, smol_ft_scratch *s, const char *w, size_t n, int is_eos) {
    uint32_t h = ft_hash(w, n);
    if (!is_eos && cache_get(m, s, w, n, h)) return ft_ids_push(&s->hashes, (int32_t)h);
    int32_t id = ft_dict_find(&m->d, w, n, h);
    int type;
    if (id >= 0) type = m->d.e[id].type;
    else {
        size_t pl = strlen(m->label_prefix);
        type = n >= pl && memcmp(w, m->label_prefix, pl) == 0 ? FT_LABEL : FT_WORD;
    }
    int rc = SMOL_OK;
    if (type == FT_WORD) {
        if (id < 0) {
            if (!is_eos && m->a.maxn > 0) {
                char stackbuf[256];
                char *wrap = n + 2 <= sizeof stackbuf ? stackbuf : malloc(n + 2);
                if (!wrap) return SMOL_ENOMEM;
                wrap[0] = '<';
                memcpy(wrap + 1, w, n);
                wrap[n + 1] = '>';
                size_t at = s->words.n;
                rc = ft_char_ngrams(m, wrap, n + 2, &s->words);
                if (wrap != stackbuf) free(wrap);
                if (!rc) cache_put(m, s, w, n, h, s->words.v + at, s->words.n - at);
            }
        } else if (m->a.maxn <= 0) {
            rc = ft_ids_push(&s->words, id);
        } else {
            const ft_entry *e = &m->d.e[id];
            rc = ids_reserve(&s->words, (size_t)e->nsub);
            if (!rc) {
                memcpy(s->words.v + s->words.n, e->sub, (size_t)e->nsub * sizeof *e->sub);
                s->words.n += (size_t)e->nsub;
            }
        }
        if (!rc) rc = ft_ids_push(&s->hashes, (int32_t)h);
    } else if (id >= 0) {
        rc = ft_ids_push(&s->labels, id - m->d.nwords);
    }
    return rc;
}

static int add_word_ngrams(const smol_ft *m, smol_ft_scratch *s) {
    int32_t n = m->a.word_ngrams;
    if (n <= 1 || m->a.bucket <= 0) return SMOL_OK;
    uint64_t bucket = (uint64_t)m->a.bucket;
    const int32_t *hs = s->hashes.v;
    size_t nh = s->hashes.n;
    for (size_t i = 0; i < nh; i++) {
        uint64_t h = (uint64_t)(int64_t)hs[i];
        for (size_t j = i + 1; j < nh && j < i + (size_t)n; j++) {
            h = h * 116049371u + (uint64_t)(int64_t)hs[j];
            int rc = push_bucket(m, &s->words, (int32_t)(h % bucket));
            if (rc) return rc;
        }
    }
    return SMOL_OK;
}

int64_t ft_tokenize(const smol_ft *m, const char *text, size_t len, int eos, smol_ft_scratch *s) {
    s->words.n = s->labels.n = s->hashes.n = 0;
    int64_t ntok = 0;
    size_t i = 0;
    int rc = SMOL_OK;
    while (i < len && !rc) {
        while (i < len && is_space((unsigned char)text[i])) i++;
        size_t st = i;
        while (i < len && !is_space((unsigned char)text[i])) i++;
        if (i > st) {
            rc = add_token(m, s, text + st, i - st, 0);
            ntok++;
        }
    }
    if (!rc && eos) {
        rc = add_token(m, s, "</s>", 4, 1);
        ntok++;
    }
    if (!rc) rc = add_word_ngrams(m, s);
    return rc ? rc : ntok;
}

/* ---------------------------------------------------------------- prediction */

smol_ft_scratch *smol_ft_scratch_new(const smol_ft *m) {
    smol_ft_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    int32_t rows = (int32_t)(m->out.m > 0 ? m->out.m : 1);
    s->hidden = calloc((size_t)m->a.dim, sizeof(float));
    s->output = calloc((size_t)rows, sizeof(float));
    s->out_rows = rows;
    s->cache.slot = calloc(CACHE_SLOTS, sizeof *s->cache.slot);
    s->cache.bytes = malloc(CACHE_BYTES);
    s->cache.rows = malloc(CACHE_ROWS * sizeof(int32_t));
    if (!s->cache.slot || !s->cache.bytes || !s->cache.rows) {   /* predicts without a cache */
        free(s->cache.slot);
        s->cache.slot = NULL;
    }
    if (!s->hidden || !s->output) {
        smol_ft_scratch_free(s);
        return NULL;
    }
    return s;
}

void smol_ft_scratch_free(smol_ft_scratch *s) {
    if (!s) return;
    free(s->words.v);
    free(s->labels.v);
    free(s->hashes.v);
    free(s->hidden);
    free(s->output);
    free(s->heap);
    free(s->cache.slot);
    free(s->cache.bytes);
    free(s->cache.rows);
    free(s);
}

static float std_log(float x) { return logf(x + 1e-5f); }

/* "a is worse than b": a lower score (ties: the higher label index) */
static int worse(float sa, int32_t la, float sb, int32_t lb) { return sa < sb || (sa == sb && la > lb); }

static void heap_sift_down(smol_ft_scratch *s, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < s->heap_n && worse(s->heap[l].score, s->heap[l].label, s->heap[w].score, s->heap[w].label)) w = l;
        if (r < s->heap_n && worse(s->heap[r].score, s->heap[r].label, s->heap[w].score, s->heap[w].label)) w = r;
        if (w == i) return;
        __typeof__(s->heap[0]) t = s->heap[i];
        s->heap[i] = s->heap[w];
        s->heap[w] = t;
        i = w;
    }
}

/* Keeps the k best (score, label) in a min-heap on score. */
static void heap_offer(smol_ft_scratch *s, int k, float score, int32_t label) {
    if (s->heap_n == k) {
        if (!worse(s->heap[0].score, s->heap[0].label, score, label)) return;
        s->heap[0].score = score;
        s->heap[0].label = label;
        heap_sift_down(s, 0);
        return;
    }
    int i = s->heap_n++;
    s->heap[i].score = score;
    s->heap[i].label = label;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!worse(s->heap[i].score, s->heap[i].label, s->heap[p].score, s->heap[p].label)) break;
        __typeof__(s->heap[0]) t = s->heap[i];
        s->heap[i] = s->heap[p];
        s->heap[p] = t;
        i = p;
    }
}

static void hs_dfs(const smol_ft *m, smol_ft_scratch *s, int k, float log_thr, int32_t node, float score) {
    if (score < log_thr) return;
    if (s->heap_n == k && score < s->heap[0].score) return;
    const ft_node *t = &m->tree[node];
    if (t->left == -1 && t->right == -1) {
        heap_offer(s, k, score, node);
        return;
    }
    float f = ft_dot_row(&m->out, s->hidden, node - m->d.nlabels);
    f = 1.0f / (1.0f + expf(-f));
    float sl = score + std_log(1.0f - f), sr = score + std_log(f);
    /* the likelier branch first: the heap fills with good leaves sooner and prunes more; the
     * leaves kept are the same as fastText's left-first order finds */
    if (sr > sl) {
        hs_dfs(m, s, k, log_thr, t->right, sr);
        hs_dfs(m, s, k, log_thr, t->left, sl);
    } else {
        hs_dfs(m, s, k, log_thr, t->left, sl);
        hs_dfs(m, s, k, log_thr, t->right, sr);
    }
}

static void compute_output(const smol_ft *m, smol_ft_scratch *s) {
    int32_t n = m->d.nlabels;
    for (int32_t i = 0; i < n; i++) s->output[i] = ft_dot_row(&m->out, s->hidden, i);
    if (m->a.loss == FT_LOSS_SOFTMAX) {
        float mx = s->output[0], z = 0;
        for (int32_t i = 1; i < n; i++) if (s->output[i] > mx) mx = s->output[i];
        for (int32_t i = 0; i < n; i++) {
            s->output[i] = expf(s->output[i] - mx);
            z += s->output[i];
        }
        for (int32_t i = 0; i < n; i++) s->output[i] /= z;
    } else {
        for (int32_t i = 0; i < n; i++) s->output[i] = 1.0f / (1.0f + expf(-s->output[i]));
    }
}

static int by_score_desc(const void *a, const void *b) {
    const smol_ft_prediction *x = a, *y = b;
    if (x->prob != y->prob) return x->prob > y->prob ? -1 : 1;
    return x->label < y->label ? -1 : x->label > y->label;
}

int smol_ft_predict_ids(const smol_ft *m, smol_ft_scratch *s, int k, float threshold, smol_ft_prediction *out) {
    int32_t nl = m->d.nlabels;
    if (k <= 0 || k > nl) k = nl;
    if (s->words.n == 0 || nl == 0) return 0;
    if (s->heap_cap < k) {
        void *p = realloc(s->heap, (size_t)k * sizeof s->heap[0]);
        if (!p) return SMOL_ENOMEM;
        s->heap = p;
        s->heap_cap = k;
    }
    s->heap_n = 0;
    ft_hidden(m, s->words.v, s->words.n, s->hidden);
    if (m->a.loss == FT_LOSS_HS) {
        hs_dfs(m, s, k, std_log(threshold), 2 * nl - 2, 0.0f);
    } else {
        compute_output(m, s);
        for (int32_t i = 0; i < nl; i++) {
            if (s->output[i] < threshold) continue;
            float sc = std_log(s->output[i]);
            if (s->heap_n == k && sc < s->heap[0].score) continue;
            heap_offer(s, k, sc, i);
        }
    }
    for (int i = 0; i < s->heap_n; i++) {
        out[i].label = s->heap[i].label;
        out[i].prob = expf(s->heap[i].score);
    }
    qsort(out, (size_t)s->heap_n, sizeof *out, by_score_desc);
    return s->heap_n;
}

int smol_ft_predict(const smol_ft *m, smol_ft_scratch *s, const char *text, size_t len, int eos, int k,
                    float threshold, smol_ft_prediction *out) {
    int64_t rc = ft_tokenize(m, text, len, eos, s);
    if (rc < 0) return (int)rc;
    return smol_ft_predict_ids(m, s, k, threshold, out);
}

int32_t smol_ft_label_count(const smol_ft *m) { return m->d.nlabels; }

const char *smol_ft_label(const smol_ft *m, int32_t i) {
    if (i < 0 || i >= m->d.nlabels) return NULL;
    return m->d.e[m->d.nwords + i].word;
}

int32_t smol_ft_label_index(const smol_ft *m, const char *label) {
    size_t n = strlen(label);
    int32_t id = ft_dict_find(&m->d, label, n, ft_hash(label, n));
    if (id < m->d.nwords) return -1;
    return id - m->d.nwords;
}

void smol_ft_info(const smol_ft *m, smol_ft_meta *info) {
    memset(info, 0, sizeof *info);
    info->dim = m->a.dim;
    info->nwords = m->d.nwords;
    info->nlabels = m->d.nlabels;
    info->ntokens = m->d.ntokens;
    info->bucket = m->a.bucket;
    info->minn = m->a.minn;
    info->maxn = m->a.maxn;
    info->word_ngrams = m->a.word_ngrams;
    info->epoch = m->a.epoch;
    static const char *const losses[] = {"?", "hs", "ns", "softmax", "ova"};
    info->loss = m->a.loss >= 1 && m->a.loss <= 4 ? losses[m->a.loss] : "?";
    info->quantized = m->in.quant;
    info->qout = m->out.quant;
    info->pruned = m->d.prune_size >= 0;
    info->input_rows = m->in.m;
}

/* ---------------------------------------------------------------- hierarchical softmax */

int ft_build_tree(smol_ft *m) {
    int32_t osz = m->d.nlabels;
    if (osz <= 0) return SMOL_OK;
    size_t nn = 2 * (size_t)osz - 1;
    m->tree = malloc(nn * sizeof *m->tree);
    m->paths = calloc((size_t)osz, sizeof *m->paths);
    m->codes = calloc((size_t)osz, sizeof *m->codes);
    m->path_len = calloc((size_t)osz, sizeof *m->path_len);
    if (!m->tree || !m->paths || !m->codes || !m->path_len) return SMOL_ENOMEM;
    for (size_t i = 0; i < nn; i++) {
        m->tree[i] = (ft_node){-1, -1, -1, INT64_C(1000000000000000), 0};
    }
    for (int32_t i = 0; i < osz; i++) m->tree[i].count = m->d.e[m->d.nwords + i].count;
    int32_t leaf = osz - 1, node = osz;
    for (int32_t i = osz; i < (int32_t)nn; i++) {
        int32_t mini[2];
        for (int j = 0; j < 2; j++) {
            /* an unbuilt node (node >= i) counts as +infinity, like fastText's 1e15 sentinel */
            if (leaf >= 0 && (node >= i || m->tree[leaf].count < m->tree[node].count)) mini[j] = leaf--;
            else if (node < i) mini[j] = node++;
            else return SMOL_EFORMAT;   /* only with corrupt label counts */
        }
        m->tree[i].left = mini[0];
        m->tree[i].right = mini[1];
        if (__builtin_add_overflow(m->tree[mini[0]].count, m->tree[mini[1]].count, &m->tree[i].count))
            m->tree[i].count = INT64_MAX;
        m->tree[mini[0]].parent = i;
        m->tree[mini[1]].parent = i;
        m->tree[mini[1]].binary = 1;
    }
    for (int32_t i = 0; i < osz; i++) {
        int32_t depth = 0;
        for (int32_t n = i; m->tree[n].parent != -1; n = m->tree[n].parent) depth++;
        m->paths[i] = malloc(((size_t)depth + 1) * sizeof(int32_t));
        m->codes[i] = malloc((size_t)depth + 1);
        if (!m->paths[i] || !m->codes[i]) return SMOL_ENOMEM;
        int32_t d = 0;
        for (int32_t n = i; m->tree[n].parent != -1; n = m->tree[n].parent) {
            m->paths[i][d] = m->tree[n].parent - osz;
            m->codes[i][d] = (uint8_t)m->tree[n].binary;
            d++;
        }
        m->path_len[i] = d;
    }
    return SMOL_OK;
}

/* ---------------------------------------------------------------- model objects */

smol_ft *ft_new(const ft_args *a) {
    smol_ft *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->a = *a;
    m->d.prune_size = -1;
    m->version = FT_VERSION;
    strcpy(m->label_prefix, "__label__");
    return m;
}

void smol_ft_free(smol_ft *m) {
    if (!m) return;
    for (int32_t i = 0; i < m->d.size && m->d.e; i++) {
        free(m->d.e[i].word);
        free(m->d.e[i].sub);
    }
    free(m->d.e);
    free(m->d.table);
    free(m->d.prune_bits);
    free(m->d.prune_rank);
    free(m->d.prune_rows);
    free(m->d.prune_key);
    free(m->d.prune_val);
    ft_matrix_free(&m->in);
    ft_matrix_free(&m->out);
    if (m->paths)
        for (int32_t i = 0; i < m->d.nlabels; i++) {
            free(m->paths[i]);
            free(m->codes[i]);
        }
    free(m->paths);
    free(m->codes);
    free(m->path_len);
    free(m->tree);
    free(m);
}

/* ---------------------------------------------------------------- loading */

typedef struct reader {
    const uint8_t *p;
    size_t size, pos;
    const char *name;
    smol_error *err;
} reader;

static int rd(reader *r, void *dst, size_t n, const char *field) {
    if (r->size - r->pos < n)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: truncated: %s needs %zu bytes at offset %zu, the file has %zu",
                         r->name, field, n, r->pos, r->size);
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return SMOL_OK;
}

static int rd_i32(reader *r, int32_t *v, const char *f) { return rd(r, v, 4, f); }
static int rd_i64(reader *r, int64_t *v, const char *f) { return rd(r, v, 8, f); }

static int load_args(reader *r, ft_args *a) {
    int32_t *f[] = {&a->dim, &a->ws, &a->epoch, &a->min_count, &a->neg, &a->word_ngrams, &a->loss,
                    &a->model, &a->bucket, &a->minn, &a->maxn, &a->lr_update_rate};
    static const char *const names[] = {"args.dim", "args.ws", "args.epoch", "args.minCount", "args.neg",
                                        "args.wordNgrams", "args.loss", "args.model", "args.bucket",
                                        "args.minn", "args.maxn", "args.lrUpdateRate"};
    for (int i = 0; i < 12; i++) {
        int rc = rd_i32(r, f[i], names[i]);
        if (rc) return rc;
    }
    int rc = rd(r, &a->t, 8, "args.t");
    if (rc) return rc;
    if (a->dim < 1 || a->dim > FT_MAX_DIM)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: args.dim is %d, expected 1..%d", r->name, a->dim, FT_MAX_DIM);
    if (a->loss < 1 || a->loss > 4)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: args.loss is %d, expected 1 (hs) .. 4 (ova)", r->name, a->loss);
    if (a->model < 1 || a->model > 3)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: args.model is %d, expected 1..3", r->name, a->model);
    if (a->model != FT_MODEL_SUP)
        return smol_fail(r->err, SMOL_EUNSUPPORTED, "%s: args.model is %s: only supervised classifiers are supported",
                         r->name, a->model == FT_MODEL_CBOW ? "cbow" : "skipgram");
    if (a->bucket < 0 || a->minn < 0 || a->maxn < 0 || a->maxn > 64 || a->word_ngrams < 0 || a->word_ngrams > 64)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: args out of range (bucket %d, minn %d, maxn %d, wordNgrams %d)",
                         r->name, a->bucket, a->minn, a->maxn, a->word_ngrams);
    return SMOL_OK;
}

static int load_entry(reader *r, ft_entry *e, int32_t i) {
    const uint8_t *s = r->p + r->pos;
    const uint8_t *z = memchr(s, 0, r->size - r->pos);
    if (!z) return smol_fail(r->err, SMOL_EFORMAT, "%s: truncated: dictionary entry %d has no terminating NUL", r->name, i);
    size_t n = (size_t)(z - s);
    e->word = malloc(n + 1);
    if (!e->word) return smol_fail(r->err, SMOL_ENOMEM, "%s: out of memory", r->name);
    memcpy(e->word, s, n + 1);
    e->len = (uint32_t)n;
    r->pos += n + 1;
    int rc = rd_i64(r, &e->count, "dictionary entry count");
    if (!rc) rc = rd(r, &e->type, 1, "dictionary entry type");
    if (rc) return rc;
    if (e->count < 0)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: dictionary entry %d ('%.64s') has a negative count %lld", r->name, i,
                         e->word, (long long)e->count);
    if (e->type != FT_WORD && e->type != FT_LABEL)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: dictionary entry %d ('%.64s') has type %d, expected 0 or 1",
                         r->name, i, e->word, e->type);
    return SMOL_OK;
}

static int load_dict(reader *r, smol_ft *m) {
    ft_dict *d = &m->d;
    int rc = rd_i32(r, &d->size, "dictionary.size");
    if (!rc) rc = rd_i32(r, &d->nwords, "dictionary.nwords");
    if (!rc) rc = rd_i32(r, &d->nlabels, "dictionary.nlabels");
    if (!rc) rc = rd_i64(r, &d->ntokens, "dictionary.ntokens");
    if (!rc) rc = rd_i64(r, &d->prune_size, "dictionary.pruneidx_size");
    if (rc) return rc;
    if (d->size >= 0 && (size_t)d->size > (r->size - r->pos) / 10)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: truncated: a dictionary of %d entries needs at least %lld bytes, "
                         "%zu are left", r->name, d->size, (long long)d->size * 10, r->size - r->pos);
    if (d->size < 0 || d->nwords < 0 || d->nlabels < 0 || (int64_t)d->nwords + d->nlabels != d->size)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: dictionary sizes are inconsistent (size %d, nwords %d, nlabels %d)",
                         r->name, d->size, d->nwords, d->nlabels);
    if (d->prune_size < -1 || d->prune_size > (int64_t)(r->size / 8))
        return smol_fail(r->err, SMOL_EFORMAT, "%s: dictionary.pruneidx_size is %lld", r->name, (long long)d->prune_size);
    int32_t n = d->size;
    d->size = 0;
    d->e = calloc((size_t)n + 1, sizeof *d->e);
    if (!d->e) return smol_fail(r->err, SMOL_ENOMEM, "%s: out of memory for %d entries", r->name, n);
    for (int32_t i = 0; i < n; i++) {
        rc = load_entry(r, &d->e[i], i);
        d->size = i + 1;
        if (rc) return rc;
        if (d->e[i].type != (i < d->nwords ? FT_WORD : FT_LABEL))
            return smol_fail(r->err, SMOL_EFORMAT, "%s: dictionary entry %d ('%.64s') is a %s where a %s is expected",
                             r->name, i, d->e[i].word, d->e[i].type ? "label" : "word", i < d->nwords ? "word" : "label");
    }
    if (d->prune_size > 0) {
        if (prune_map_alloc(d, d->prune_size)) return smol_fail(r->err, SMOL_ENOMEM, "%s: out of memory", r->name);
        for (int64_t i = 0; i < d->prune_size; i++) {
            int32_t kv[2];
            rc = rd(r, kv, 8, "dictionary pruneidx entry");
            if (rc) return rc;
            if (kv[0] < 0 || kv[1] < 0)
                return smol_fail(r->err, SMOL_EFORMAT, "%s: pruneidx entry %lld is negative (%d -> %d)", r->name,
                                 (long long)i, kv[0], kv[1]);
            prune_map_put(d, kv[0], kv[1]);
        }
    }
    return ft_dict_index(m, r->err);
}

static int load_pq(reader *r, ft_pq *pq, const char *what) {
    int rc = rd_i32(r, &pq->dim, what);
    if (!rc) rc = rd_i32(r, &pq->nsubq, what);
    if (!rc) rc = rd_i32(r, &pq->dsub, what);
    if (!rc) rc = rd_i32(r, &pq->lastdsub, what);
    if (rc) return rc;
    ft_pq want;
    if (pq->dim < 1 || pq->dim > FT_MAX_DIM || pq->dsub < 1 || pq->dsub > pq->dim)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: %s has dim %d and dsub %d", r->name, what, pq->dim, pq->dsub);
    ft_pq_init(&want, pq->dim, pq->dsub);
    if (want.nsubq != pq->nsubq || want.lastdsub != pq->lastdsub)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: %s: nsubq %d / lastdsub %d do not match dim %d, dsub %d", r->name,
                         what, pq->nsubq, pq->lastdsub, pq->dim, pq->dsub);
    size_t nb = (size_t)pq->dim * FT_KSUB * sizeof(float);
    if (r->size - r->pos < nb)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: truncated: %s centroids need %zu bytes", r->name, what, nb);
    pq->centroids = malloc(nb);
    if (!pq->centroids) return smol_fail(r->err, SMOL_ENOMEM, "%s: out of memory", r->name);
    return rd(r, pq->centroids, nb, what);
}

static int load_matrix(reader *r, ft_matrix *mat, int quant, const char *which) {
    char field[64];
    mat->quant = quant;
    if (quant) {
        uint8_t qn;
        int32_t codesize;
        snprintf(field, sizeof field, "%s matrix header", which);
        int rc = rd(r, &qn, 1, field);
        if (!rc) rc = rd_i64(r, &mat->m, field);
        if (!rc) rc = rd_i64(r, &mat->n, field);
        if (!rc) rc = rd_i32(r, &codesize, field);
        if (rc) return rc;
        mat->qnorm = qn != 0;
        if (codesize >= 0 && (size_t)codesize > r->size - r->pos)
            return smol_fail(r->err, SMOL_EFORMAT, "%s: truncated: %s matrix codes need %d bytes, %zu are left",
                             r->name, which, codesize, r->size - r->pos);
        if (mat->m < 0 || mat->m > FT_MAX_ROWS || mat->n < 1 || mat->n > FT_MAX_DIM || codesize < 0)
            return smol_fail(r->err, SMOL_EFORMAT, "%s: %s matrix: absurd sizes (rows %lld, cols %lld, codesize %d)",
                             r->name, which, (long long)mat->m, (long long)mat->n, codesize);
        mat->codes = malloc((size_t)codesize + 1);
        if (!mat->codes) return smol_fail(r->err, SMOL_ENOMEM, "%s: out of memory", r->name);
        snprintf(field, sizeof field, "%s matrix codes", which);
        if ((rc = rd(r, mat->codes, (size_t)codesize, field))) return rc;
        snprintf(field, sizeof field, "%s matrix quantizer", which);
        if ((rc = load_pq(r, &mat->pq, field))) return rc;
        if (mat->pq.dim != mat->n || (int64_t)codesize != mat->m * mat->pq.nsubq)
            return smol_fail(r->err, SMOL_EFORMAT, "%s: %s matrix: codesize %d does not match %lld rows x %d sub-quantizers",
                             r->name, which, codesize, (long long)mat->m, mat->pq.nsubq);
        if (mat->qnorm) {
            if ((size_t)mat->m > r->size - r->pos)
                return smol_fail(r->err, SMOL_EFORMAT, "%s: truncated: %s matrix norm codes", r->name, which);
            mat->norm_codes = malloc((size_t)mat->m + 1);
            if (!mat->norm_codes) return smol_fail(r->err, SMOL_ENOMEM, "%s: out of memory", r->name);
            snprintf(field, sizeof field, "%s matrix norm codes", which);
            if ((rc = rd(r, mat->norm_codes, (size_t)mat->m, field))) return rc;
            snprintf(field, sizeof field, "%s matrix norm quantizer", which);
            if ((rc = load_pq(r, &mat->npq, field))) return rc;
            if (mat->npq.dim != 1)
                return smol_fail(r->err, SMOL_EFORMAT, "%s: %s matrix norm quantizer has dim %d, expected 1", r->name,
                                 which, mat->npq.dim);
        }
        return SMOL_OK;
    }
    snprintf(field, sizeof field, "%s matrix rows/cols", which);
    int rc = rd_i64(r, &mat->m, field);
    if (!rc) rc = rd_i64(r, &mat->n, field);
    if (rc) return rc;
    if (mat->m < 0 || mat->n < 1 || mat->n > FT_MAX_DIM || mat->m > FT_MAX_ROWS)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: %s matrix: absurd sizes (rows %lld, cols %lld)", r->name, which,
                         (long long)mat->m, (long long)mat->n);
    if ((uint64_t)mat->m * (uint64_t)mat->n > (r->size - r->pos) / 4)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: truncated: %s matrix: %lld x %lld floats do not fit in the %zu bytes left",
                         r->name, which, (long long)mat->m, (long long)mat->n, r->size - r->pos);
    size_t nb = (size_t)mat->m * (size_t)mat->n * sizeof(float);
    mat->data = malloc(nb + 4);
    if (!mat->data) return smol_fail(r->err, SMOL_ENOMEM, "%s: out of memory for the %s matrix", r->name, which);
    snprintf(field, sizeof field, "%s matrix data", which);
    return rd(r, mat->data, nb, field);
}

static int check_shapes(reader *r, smol_ft *m) {
    const ft_dict *d = &m->d;
    if (m->in.n != m->a.dim || m->out.n != m->a.dim)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: matrix widths %lld/%lld differ from args.dim %d", r->name,
                         (long long)m->in.n, (long long)m->out.n, m->a.dim);
    int64_t ngram_rows = d->prune_size >= 0 ? d->prune_size : m->a.bucket;
    if (m->in.m > INT32_MAX)   /* input rows are addressed by 32-bit ids, as in fastText */
        return smol_fail(r->err, SMOL_EFORMAT, "%s: input matrix has %lld rows, more than 32-bit ids address",
                         r->name, (long long)m->in.m);
    if (m->in.m < d->nwords + ngram_rows)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: input matrix has %lld rows, expected %lld words + n-gram rows",
                         r->name, (long long)m->in.m, (long long)(d->nwords + ngram_rows));
    if (d->prune_size > 0)
        for (uint32_t s = 0; s <= d->prune_mask; s++)
            if (d->prune_key[s] >= 0 && (int64_t)d->prune_val[s] >= m->in.m - d->nwords)
                return smol_fail(r->err, SMOL_EFORMAT, "%s: pruneidx maps n-gram %d to row %d, past the input matrix",
                                 r->name, d->prune_key[s], d->prune_val[s]);
    int64_t want = m->a.loss == FT_LOSS_HS ? (d->nlabels > 0 ? d->nlabels - 1 : 0) : d->nlabels;
    if (m->out.m < want)
        return smol_fail(r->err, SMOL_EFORMAT, "%s: output matrix has %lld rows for %d labels", r->name,
                         (long long)m->out.m, d->nlabels);
    if (d->nlabels == 0) return smol_fail(r->err, SMOL_EFORMAT, "%s: the dictionary has no labels", r->name);
    return SMOL_OK;
}

int smol_ft_load_memory(const void *data, size_t size, const char *name, smol_ft **out, smol_error *err) {
    *out = NULL;
    reader r = {data, size, 0, name, err};
    int32_t magic = 0, version = 0;
    int rc = rd_i32(&r, &magic, "magic");
    if (rc) return rc;
    if (magic != FT_MAGIC)
        return smol_fail(err, SMOL_EFORMAT, "%s: not a fastText model (magic %d, expected %d)", name, magic, FT_MAGIC);
    if ((rc = rd_i32(&r, &version, "version"))) return rc;
    if (version != 11 && version != 12)
        return smol_fail(err, SMOL_EFORMAT, "%s: fastText format version %d is not supported (expected 11 or 12)", name,
                         version);
    ft_args a;
    if ((rc = load_args(&r, &a))) return rc;
    if (version == 11) a.maxn = 0;
    smol_ft *m = ft_new(&a);
    if (!m) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", name);
    m->version = version;
    uint8_t qin = 0, qout = 0;
    rc = load_dict(&r, m);
    if (!rc) rc = rd(&r, &qin, 1, "input quantization flag");
    if (!rc) rc = load_matrix(&r, &m->in, qin != 0, "input");
    if (!rc && !qin && m->d.prune_size >= 0)
        rc = smol_fail(err, SMOL_EFORMAT, "%s: a pruned dictionary with a dense input matrix (an outdated model)", name);
    if (!rc) rc = rd(&r, &qout, 1, "output quantization flag");
    m->qout = qout != 0;
    if (!rc) rc = load_matrix(&r, &m->out, qin && qout, "output");
    if (!rc) rc = check_shapes(&r, m);
    if (!rc && a.loss == FT_LOSS_HS && (rc = ft_build_tree(m)))
        rc = smol_fail(err, rc, "%s: %s", name, rc == SMOL_ENOMEM ? "out of memory" : "label counts do not form a tree");
    if (rc) {
        smol_ft_free(m);
        return rc;
    }
    *out = m;
    return SMOL_OK;
}

int smol_ft_load(const char *path, smol_ft **out, smol_error *err) {
    smol_map map;
    *out = NULL;
    int rc = smol_map_open(&map, path, err);
    if (rc) return rc;
    rc = smol_ft_load_memory(map.data ? map.data : (const uint8_t *)"", map.size, path, out, err);
    smol_map_close(&map);
    return rc;
}

/* ---------------------------------------------------------------- saving */

static void write_pq(const ft_pq *pq, FILE *fp) {
    fwrite(&pq->dim, 4, 1, fp);
    fwrite(&pq->nsubq, 4, 1, fp);
    fwrite(&pq->dsub, 4, 1, fp);
    fwrite(&pq->lastdsub, 4, 1, fp);
    fwrite(pq->centroids, sizeof(float), (size_t)pq->dim * FT_KSUB, fp);
}

static void write_matrix(const ft_matrix *mat, FILE *fp) {
    if (mat->quant) {
        uint8_t qn = (uint8_t)mat->qnorm;
        int32_t codesize = (int32_t)(mat->m * mat->pq.nsubq);
        fwrite(&qn, 1, 1, fp);
        fwrite(&mat->m, 8, 1, fp);
        fwrite(&mat->n, 8, 1, fp);
        fwrite(&codesize, 4, 1, fp);
        fwrite(mat->codes, 1, (size_t)codesize, fp);
        write_pq(&mat->pq, fp);
        if (mat->qnorm) {
            fwrite(mat->norm_codes, 1, (size_t)mat->m, fp);
            write_pq(&mat->npq, fp);
        }
        return;
    }
    fwrite(&mat->m, 8, 1, fp);
    fwrite(&mat->n, 8, 1, fp);
    fwrite(mat->data, sizeof(float), (size_t)(mat->m * mat->n), fp);
}

int ft_write(const smol_ft *m, FILE *fp, const char *path, smol_error *err) {
    int32_t hdr[2] = {FT_MAGIC, FT_VERSION};
    fwrite(hdr, 4, 2, fp);
    const ft_args *a = &m->a;
    int32_t args[12] = {a->dim, a->ws, a->epoch, a->min_count, a->neg, a->word_ngrams, a->loss, a->model,
                        a->bucket, a->minn, a->maxn, a->lr_update_rate};
    fwrite(args, 4, 12, fp);
    fwrite(&a->t, 8, 1, fp);
    const ft_dict *d = &m->d;
    fwrite(&d->size, 4, 1, fp);
    fwrite(&d->nwords, 4, 1, fp);
    fwrite(&d->nlabels, 4, 1, fp);
    fwrite(&d->ntokens, 8, 1, fp);
    int64_t prune_size = d->prune_size;   /* duplicate keys in a loaded file collapse in the map */
    if (prune_size > 0) {
        prune_size = 0;
        for (uint32_t s = 0; s <= d->prune_mask; s++) prune_size += d->prune_key[s] >= 0;
    }
    fwrite(&prune_size, 8, 1, fp);
    for (int32_t i = 0; i < d->size; i++) {
        fwrite(d->e[i].word, 1, (size_t)d->e[i].len + 1, fp);
        fwrite(&d->e[i].count, 8, 1, fp);
        fwrite(&d->e[i].type, 1, 1, fp);
    }
    if (d->prune_size > 0)
        for (uint32_t s = 0; s <= d->prune_mask; s++)
            if (d->prune_key[s] >= 0) {
                int32_t kv[2] = {d->prune_key[s], d->prune_val[s]};
                fwrite(kv, 4, 2, fp);
            }
    uint8_t qin = (uint8_t)m->in.quant, qout = (uint8_t)m->out.quant;
    fwrite(&qin, 1, 1, fp);
    write_matrix(&m->in, fp);
    fwrite(&qout, 1, 1, fp);
    write_matrix(&m->out, fp);
    if (ferror(fp)) return smol_fail(err, SMOL_EIO, "%s: write failed", path);
    return SMOL_OK;
}

int smol_ft_save(const smol_ft *m, const char *path, smol_error *err) {
    smol_atomic_file f;
    int rc = smol_atomic_open(&f, path, err);
    if (rc) return rc;
    rc = ft_write(m, f.fp, path, err);
    if (!rc) rc = smol_atomic_commit(&f, err);
    if (rc) smol_atomic_abort(&f);
    return rc;
}
