/* ft_train.c: supervised training of fastText-compatible classifiers (dictionary with
 * minCount/minCountLabel, word and character n-grams, softmax / one-vs-all / hierarchical
 * softmax / negative sampling losses, linearly decaying learning rate, Hogwild threads) and
 * product quantization (optional norm quantization and pruning of input rows by norm). */
#include "data/ft_train.h"
#include "base/error.h"
#include "base/jsonl.h"
#include "base/pool.h"
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NEG_TABLE_SIZE 10000000

int ft_loss_id(const char *name) {
    if (!name || strcmp(name, "softmax") == 0) return FT_LOSS_SOFTMAX;
    if (strcmp(name, "hs") == 0) return FT_LOSS_HS;
    if (strcmp(name, "ova") == 0) return FT_LOSS_OVA;
    if (strcmp(name, "ns") == 0) return FT_LOSS_NS;
    return -1;
}

void smol_ft_train_defaults(smol_ft_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->label = "__label__";
    o->lr = 0.1;
    o->t = 1e-4;
    o->dim = 100;
    o->ws = 5;
    o->epoch = 5;
    o->min_count = 1;
    o->min_count_label = 0;
    o->neg = 5;
    o->word_ngrams = 1;
    o->bucket = 2000000;
    o->minn = 0;
    o->maxn = 0;
    o->thread = 1;
    o->lr_update_rate = 100;
    o->seed = 0;
    o->verbose = 1;
    o->loss = "softmax";
}

/* ---------------------------------------------------------------- random numbers */

static uint64_t rng_next(uint64_t *s) {   /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

/* ---------------------------------------------------------------- dictionary building */

typedef struct counter {
    ft_entry *e;
    int32_t n, cap;
    int32_t *table;
    uint32_t mask;
    int64_t ntokens;
} counter;

static int counter_grow(counter *c) {
    uint32_t cap = (c->mask + 1) * 2;
    int32_t *t = malloc(cap * sizeof *t);
    if (!t) return SMOL_ENOMEM;
    memset(t, 0xff, cap * sizeof *t);
    for (int32_t i = 0; i < c->n; i++) {
        uint32_t s = c->e[i].hash & (cap - 1);
        while (t[s] >= 0) s = (s + 1) & (cap - 1);
        t[s] = i;
    }
    free(c->table);
    c->table = t;
    c->mask = cap - 1;
    return SMOL_OK;
}

static int counter_add(counter *c, const char *w, size_t n, const char *prefix, size_t plen) {
    c->ntokens++;
    uint32_t h = ft_hash(w, n);
    uint32_t s = h & c->mask;
    for (; c->table[s] >= 0; s = (s + 1) & c->mask) {
        ft_entry *e = &c->e[c->table[s]];
        if (e->hash == h && e->len == n && memcmp(e->word, w, n) == 0) {
            e->count++;
            return SMOL_OK;
        }
    }
    if (c->n == c->cap) {
        int32_t cap = c->cap ? c->cap * 2 : 1024;
        ft_entry *e = realloc(c->e, (size_t)cap * sizeof *e);
        if (!e) return SMOL_ENOMEM;
        c->e = e;
        c->cap = cap;
    }
    ft_entry *e = &c->e[c->n];
    memset(e, 0, sizeof *e);
    e->word = malloc(n + 1);
    if (!e->word) return SMOL_ENOMEM;
    memcpy(e->word, w, n);
    e->word[n] = 0;
    e->len = (uint32_t)n;
    e->hash = h;
    e->count = 1;
    e->type = n >= plen && memcmp(w, prefix, plen) == 0 ? FT_LABEL : FT_WORD;
    c->table[s] = c->n++;
    if ((uint32_t)c->n * 2 > c->mask) return counter_grow(c);
    return SMOL_OK;
}

static int by_type_count(const void *a, const void *b) {
    const ft_entry *x = a, *y = b;
    if (x->type != y->type) return x->type - y->type;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return x->hash < y->hash ? -1 : x->hash > y->hash;   /* deterministic tie order */
}

static int is_sep(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == 0; }

/* Counts the words and labels of the input and keeps those passing minCount/minCountLabel. */
static int build_dict(smol_ft *m, const smol_ft_train_opts *o, smol_error *err) {
    counter c = {0};
    c.mask = 1023;
    c.table = malloc(1024 * sizeof *c.table);
    if (!c.table) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", o->input);
    memset(c.table, 0xff, 1024 * sizeof *c.table);
    smol_lines *r = NULL;
    int rc = smol_lines_open(o->input, &r, err);
    const char *line;
    size_t len, plen = strlen(m->label_prefix);
    while (!rc && (rc = smol_lines_next(r, &line, &len, err)) == 1) {
        rc = SMOL_OK;
        for (size_t i = 0; i < len && !rc;) {
            while (i < len && is_sep(line[i])) i++;
            size_t st = i;
            while (i < len && !is_sep(line[i])) i++;
            if (i > st) rc = counter_add(&c, line + st, i - st, m->label_prefix, plen);
        }
        if (!rc && smol_lines_had_newline(r)) rc = counter_add(&c, "</s>", 4, m->label_prefix, plen);
        if (rc < 0 && rc == SMOL_ENOMEM) smol_fail(err, rc, "%s: out of memory counting words", o->input);
    }
    smol_lines_close(r);
    free(c.table);
    int32_t kept = 0;
    for (int32_t i = 0; i < c.n; i++) {
        ft_entry *e = &c.e[i];
        int keep = e->type == FT_WORD ? e->count >= o->min_count : e->count >= o->min_count_label;
        if (keep && !rc) c.e[kept++] = *e;
        else free(e->word);
    }
    if (rc) {
        for (int32_t i = 0; i < kept; i++) free(c.e[i].word);
        free(c.e);
        return rc;
    }
    if (kept > 1) qsort(c.e, (size_t)kept, sizeof *c.e, by_type_count);
    m->d.e = c.e;
    m->d.size = kept;
    m->d.ntokens = c.ntokens;
    for (int32_t i = 0; i < kept; i++) {
        if (c.e[i].type == FT_WORD) m->d.nwords++;
        else m->d.nlabels++;
    }
    if (c.ntokens == 0) return smol_fail(err, SMOL_EFORMAT, "%s: empty training file", o->input);
    if (m->d.nwords == 0)
        return smol_fail(err, SMOL_EFORMAT, "%s: no words with at least -minCount %d occurrences", o->input,
                         o->min_count);
    if (m->d.nlabels == 0)
        return smol_fail(err, SMOL_EFORMAT, "%s: no labels: lines must hold words starting with '%s'", o->input,
                         m->label_prefix);
    return ft_dict_index(m, err);
}

/* ---------------------------------------------------------------- the training data */

typedef struct corpus {
    int32_t *ids;          /* all lines' input rows, concatenated */
    int32_t *labels;
    int64_t *id_off, *lab_off;   /* [n + 1] */
    int32_t *ntok;
    int64_t n;
} corpus;

static void corpus_free(corpus *c) {
    free(c->ids);
    free(c->labels);
    free(c->id_off);
    free(c->lab_off);
    free(c->ntok);
    memset(c, 0, sizeof *c);
}

static int append(int32_t **v, int64_t *n, int64_t *cap, const int32_t *src, size_t k) {
    if (*n + (int64_t)k > *cap) {
        int64_t nc = *cap ? *cap : 4096;
        while (nc < *n + (int64_t)k) nc *= 2;
        int32_t *p = realloc(*v, (size_t)nc * sizeof *p);
        if (!p) return SMOL_ENOMEM;
        *v = p;
        *cap = nc;
    }
    memcpy(*v + *n, src, k * sizeof *src);
    *n += (int64_t)k;
    return SMOL_OK;
}

/* Tokenises every line once (fastText re-reads the file each epoch; the rows are the same). */
static int load_corpus(const smol_ft *m, const char *path, corpus *c, smol_error *err) {
    memset(c, 0, sizeof *c);
    smol_lines *r = NULL;
    int rc = smol_lines_open(path, &r, err);
    if (rc) return rc;
    smol_ft_scratch *s = smol_ft_scratch_new(m);
    int64_t nid = 0, cid = 0, nlab = 0, clab = 0, cap = 0;
    const char *line;
    size_t len;
    if (!s) rc = SMOL_ENOMEM;
    while (!rc && (rc = smol_lines_next(r, &line, &len, err)) == 1) {
        rc = SMOL_OK;
        int64_t nt = ft_tokenize(m, line, len, smol_lines_had_newline(r), s);
        if (nt < 0) rc = (int)nt;
        if (!rc && c->n + 1 >= cap) {
            cap = cap ? cap * 2 : 1024;
            int64_t *a = realloc(c->id_off, (size_t)cap * sizeof *a), *b = a ? realloc(c->lab_off, (size_t)cap * sizeof *b) : NULL;
            if (a) c->id_off = a;
            if (b) c->lab_off = b;
            int32_t *t = b ? realloc(c->ntok, (size_t)cap * sizeof *t) : NULL;
            if (t) c->ntok = t;
            if (!a || !b || !t) rc = SMOL_ENOMEM;
        }
        if (rc) break;
        c->id_off[c->n] = nid;
        c->lab_off[c->n] = nlab;
        c->ntok[c->n] = (int32_t)(nt > INT32_MAX ? INT32_MAX : nt);
        rc = append(&c->ids, &nid, &cid, s->words.v, s->words.n);
        if (!rc) rc = append(&c->labels, &nlab, &clab, s->labels.v, s->labels.n);
        c->n++;
    }
    if (rc > 0) rc = SMOL_OK;
    if (!rc && c->n > 0) {
        c->id_off[c->n] = nid;
        c->lab_off[c->n] = nlab;
    }
    smol_lines_close(r);
    smol_ft_scratch_free(s);
    if (rc == SMOL_ENOMEM) smol_fail(err, rc, "%s: out of memory reading the training lines", path);
    if (rc) corpus_free(c);
    return rc;
}

/* ---------------------------------------------------------------- the training loop */

typedef struct trainer {
    smol_ft *m;
    const smol_ft_train_opts *o;
    const corpus *c;
    int32_t *neg_table;
    int64_t neg_size;
    _Atomic int64_t tokens;
    int64_t total;            /* epoch * ntokens */
    double start;
    int threads;
} trainer;

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* One binary logistic step on output row t; returns the loss. */
static float binary_logistic(trainer *tr, int32_t t, int positive, float lr, const float *hidden, float *grad) {
    ft_matrix *out = &tr->m->out;
    int32_t dim = tr->m->a.dim;
    float *w = out->data + (size_t)t * (size_t)dim;
    float dot = 0;
    for (int32_t j = 0; j < dim; j++) dot += w[j] * hidden[j];
    float score = sigmoid(dot);
    float alpha = lr * ((float)positive - score);
    for (int32_t j = 0; j < dim; j++) grad[j] += alpha * w[j];
    for (int32_t j = 0; j < dim; j++) w[j] += alpha * hidden[j];
    return positive ? -logf(score + 1e-5f) : -logf(1.0f - score + 1e-5f);
}

static float softmax_step(trainer *tr, int32_t target, float lr, const float *hidden, float *grad, float *out) {
    smol_ft *m = tr->m;
    int32_t dim = m->a.dim, n = m->d.nlabels;
    float mx = -INFINITY, z = 0;
    for (int32_t i = 0; i < n; i++) {
        const float *w = m->out.data + (size_t)i * (size_t)dim;
        float d = 0;
        for (int32_t j = 0; j < dim; j++) d += w[j] * hidden[j];
        out[i] = d;
        if (d > mx) mx = d;
    }
    for (int32_t i = 0; i < n; i++) z += (out[i] = expf(out[i] - mx));
    for (int32_t i = 0; i < n; i++) {
        out[i] /= z;
        float alpha = lr * ((i == target ? 1.0f : 0.0f) - out[i]);
        float *w = m->out.data + (size_t)i * (size_t)dim;
        for (int32_t j = 0; j < dim; j++) grad[j] += alpha * w[j];
        for (int32_t j = 0; j < dim; j++) w[j] += alpha * hidden[j];
    }
    return -logf(out[target] + 1e-5f);
}

static float loss_step(trainer *tr, const int32_t *labels, int32_t nl, int32_t ti, float lr, const float *hidden,
                       float *grad, float *out, uint64_t *rng) {
    smol_ft *m = tr->m;
    int32_t target = labels[ti];
    float loss = 0;
    switch (m->a.loss) {
    case FT_LOSS_SOFTMAX: return softmax_step(tr, target, lr, hidden, grad, out);
    case FT_LOSS_HS:
        for (int32_t i = 0; i < m->path_len[target]; i++)
            loss += binary_logistic(tr, m->paths[target][i], m->codes[target][i], lr, hidden, grad);
        return loss;
    case FT_LOSS_OVA:
        for (int32_t i = 0; i < m->d.nlabels; i++) {
            int match = 0;
            for (int32_t j = 0; j < nl; j++) match |= labels[j] == i;
            loss += binary_logistic(tr, i, match, lr, hidden, grad);
        }
        return loss;
    default:
        loss = binary_logistic(tr, target, 1, lr, hidden, grad);
        for (int32_t n = 0; n < m->a.neg && m->d.nlabels > 1; n++) {
            int32_t neg;
            do neg = tr->neg_table[rng_next(rng) % (uint64_t)tr->neg_size];
            while (neg == target);
            loss += binary_logistic(tr, neg, 0, lr, hidden, grad);
        }
        return loss;
    }
}

static void train_thread(void *ctx, int tid, int thread) {
    (void)thread;
    trainer *tr = ctx;
    smol_ft *m = tr->m;
    const corpus *c = tr->c;
    int32_t dim = m->a.dim;
    float *hidden = malloc((size_t)dim * sizeof *hidden), *grad = malloc((size_t)dim * sizeof *grad);
    float *out = malloc(((size_t)m->d.nlabels + 1) * sizeof *out);
    uint64_t rng = (uint64_t)tr->o->seed * 7919u + (uint64_t)tid + 1;
    int64_t li = c->n * tid / tr->threads, local = 0, examples = 0;
    double loss_sum = 0;
    double next_report = now_sec() + 0.5;
    while (hidden && grad && out) {
        int64_t done = atomic_load_explicit(&tr->tokens, memory_order_relaxed);
        if (done >= tr->total) break;
        float progress = (float)done / (float)tr->total;
        float lr = (float)tr->o->lr * (1.0f - progress);
        const int32_t *ids = c->ids + c->id_off[li], *labels = c->labels + c->lab_off[li];
        int64_t nids = c->id_off[li + 1] - c->id_off[li];
        int32_t nl = (int32_t)(c->lab_off[li + 1] - c->lab_off[li]);
        local += c->ntok[li];
        li = li + 1 == c->n ? 0 : li + 1;
        if (nl > 0 && nids > 0) {
            ft_hidden(m, ids, (size_t)nids, hidden);
            memset(grad, 0, (size_t)dim * sizeof *grad);
            int32_t ti = m->a.loss == FT_LOSS_OVA ? 0 : (int32_t)(rng_next(&rng) % (uint64_t)nl);
            loss_sum += loss_step(tr, labels, nl, ti, lr, hidden, grad, out, &rng);
            examples++;
            float inv = 1.0f / (float)nids;
            for (int32_t j = 0; j < dim; j++) grad[j] *= inv;
            for (int64_t k = 0; k < nids; k++) {
                float *w = m->in.data + (size_t)ids[k] * (size_t)dim;
                for (int32_t j = 0; j < dim; j++) w[j] += grad[j];
            }
        }
        if (local > tr->o->lr_update_rate) {
            atomic_fetch_add_explicit(&tr->tokens, local, memory_order_relaxed);
            local = 0;
            if (tid == 0 && tr->o->verbose > 1 && now_sec() > next_report) {
                next_report = now_sec() + 0.5;
                double el = now_sec() - tr->start;
                fprintf(stderr, "\rProgress: %5.1f%% words/sec/thread: %7.0f lr: %9.6f avg.loss: %9.6f", 100.0 * progress,
                        (double)done / el / tr->threads, lr, examples ? loss_sum / (double)examples : 0.0);
            }
        }
    }
    free(hidden);
    free(grad);
    free(out);
}

static int init_weights(smol_ft *m, const smol_ft_train_opts *o, smol_error *err) {
    int64_t rows = (int64_t)m->d.nwords + m->a.bucket;
    int32_t dim = m->a.dim;
    m->in.m = rows;
    m->in.n = dim;
    m->in.data = malloc((size_t)rows * (size_t)dim * sizeof(float));
    m->out.m = m->d.nlabels;
    m->out.n = dim;
    m->out.data = calloc((size_t)m->d.nlabels * (size_t)dim, sizeof(float));
    if (!m->in.data || !m->out.data)
        return smol_fail(err, SMOL_ENOMEM, "%s: out of memory for a %lld x %d input matrix (lower -bucket or -dim)",
                         o->input, (long long)rows, dim);
    uint64_t rng = (uint64_t)o->seed ^ 0x5DEECE66Dull;
    float a = 1.0f / (float)dim;
    for (size_t i = 0; i < (size_t)rows * (size_t)dim; i++) m->in.data[i] = (float)(rng_unit(&rng) * 2 - 1) * a;
    return SMOL_OK;
}

static int build_neg_table(trainer *tr) {
    const ft_dict *d = &tr->m->d;
    double z = 0;
    for (int32_t i = 0; i < d->nlabels; i++) z += sqrt((double)d->e[d->nwords + i].count);
    int64_t cap = NEG_TABLE_SIZE + d->nlabels, n = 0;
    tr->neg_table = malloc((size_t)cap * sizeof(int32_t));
    if (!tr->neg_table) return SMOL_ENOMEM;
    for (int32_t i = 0; i < d->nlabels; i++) {
        double c = sqrt((double)d->e[d->nwords + i].count);
        for (int64_t j = 0; j < (int64_t)(c * NEG_TABLE_SIZE / z) + 1 && n < cap; j++) tr->neg_table[n++] = i;
    }
    uint64_t rng = (uint64_t)tr->o->seed + 99;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rng_next(&rng) % (uint64_t)(i + 1));
        int32_t t = tr->neg_table[i];
        tr->neg_table[i] = tr->neg_table[j];
        tr->neg_table[j] = t;
    }
    tr->neg_size = n;
    return SMOL_OK;
}

static int check_opts(const smol_ft_train_opts *o, smol_error *err) {
    if (!o->input) return smol_fail(err, SMOL_EINVAL, "training needs an input file (-input)");
    if (o->dim < 1 || o->dim > 65536) return smol_fail(err, SMOL_EINVAL, "-dim %d: expected 1..65536", o->dim);
    if (o->epoch < 1) return smol_fail(err, SMOL_EINVAL, "-epoch %d: expected at least 1", o->epoch);
    if (!(o->lr > 0)) return smol_fail(err, SMOL_EINVAL, "-lr %g: expected a positive rate", o->lr);
    if (o->bucket < 0 || o->minn < 0 || o->maxn < 0 || o->maxn > 64 || o->word_ngrams < 1 || o->word_ngrams > 64 ||
        o->thread < 1 || o->thread > 1024 || o->neg < 0 || o->lr_update_rate < 1)
        return smol_fail(err, SMOL_EINVAL, "training options out of range (bucket %d, minn %d, maxn %d, wordNgrams %d, "
                         "thread %d, neg %d, lrUpdateRate %d)", o->bucket, o->minn, o->maxn, o->word_ngrams,
                         o->thread, o->neg, o->lr_update_rate);
    if (ft_loss_id(o->loss) < 0) return smol_fail(err, SMOL_EINVAL, "-loss '%s': expected softmax, ova, hs or ns", o->loss);
    if (!o->label || !*o->label || strlen(o->label) >= 64) return smol_fail(err, SMOL_EINVAL, "-label: expected a prefix of 1..63 bytes");
    return SMOL_OK;
}

int smol_ft_train(const smol_ft_train_opts *o, smol_ft **out, smol_error *err) {
    *out = NULL;
    int rc = check_opts(o, err);
    if (rc) return rc;
    ft_args a = {o->dim, o->ws, o->epoch, o->min_count, o->neg, o->word_ngrams, ft_loss_id(o->loss), FT_MODEL_SUP,
                 o->bucket, o->minn, o->maxn, o->lr_update_rate, o->t};
    if (a.word_ngrams <= 1 && a.maxn == 0) a.bucket = 0;   /* as fastText: no n-grams, no buckets */
    smol_ft *m = ft_new(&a);
    if (!m) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    snprintf(m->label_prefix, sizeof m->label_prefix, "%s", o->label);
    corpus c = {0};
    trainer tr = {.m = m, .o = o, .c = &c, .threads = o->thread};
    rc = build_dict(m, o, err);
    if (!rc && o->verbose > 0)
        fprintf(stderr, "Read %lldM words\nNumber of words:  %d\nNumber of labels: %d\n",
                (long long)(m->d.ntokens / 1000000), m->d.nwords, m->d.nlabels);
    if (!rc) rc = init_weights(m, o, err);
    if (!rc && a.loss == FT_LOSS_HS && ft_build_tree(m)) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc && a.loss == FT_LOSS_NS && build_neg_table(&tr)) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc) rc = load_corpus(m, o->input, &c, err);
    if (!rc && c.n == 0) rc = smol_fail(err, SMOL_EFORMAT, "%s: empty training file", o->input);
    if (!rc) {
        tr.total = (int64_t)o->epoch * m->d.ntokens;
        tr.start = now_sec();
        atomic_init(&tr.tokens, 0);
        smol_pool *pool = o->thread > 1 ? smol_pool_new(o->thread) : NULL;
        if (o->thread > 1 && !pool) rc = smol_fail(err, SMOL_ENOMEM, "cannot start %d threads", o->thread);
        else smol_pool_run(pool, o->thread, train_thread, &tr);
        smol_pool_free(pool);
        if (!rc && o->verbose > 1) fprintf(stderr, "\rProgress: 100.0%%  (%.2fs)\n", now_sec() - tr.start);
    }
    corpus_free(&c);
    free(tr.neg_table);
    if (rc) {
        smol_ft_free(m);
        return rc;
    }
    *out = m;
    return SMOL_OK;
}

/* ---------------------------------------------------------------- product quantization */

static void assign_codes(const ft_pq *pq, const float *x, int64_t n, uint8_t *codes) {
    for (int64_t r = 0; r < n; r++) {
        const float *row = x + r * pq->dim;
        for (int32_t m = 0; m < pq->nsubq; m++) {
            int32_t d = m == pq->nsubq - 1 ? pq->lastdsub : pq->dsub;
            const float *xs = row + (size_t)m * pq->dsub;
            const float *c0 = pq->nsubq - 1 == m ? pq->centroids + (size_t)m * FT_KSUB * pq->dsub
                                                 : pq->centroids + (size_t)m * FT_KSUB * pq->dsub;
            float best = INFINITY;
            int bi = 0;
            for (int k = 0; k < FT_KSUB; k++) {
                const float *c = c0 + (size_t)k * d;
                float dist = 0;
                for (int32_t j = 0; j < d; j++) dist += (xs[j] - c[j]) * (xs[j] - c[j]);
                if (dist < best) {
                    best = dist;
                    bi = k;
                }
            }
            codes[r * pq->nsubq + m] = (uint8_t)bi;
        }
    }
}

/* k-means with 256 centroids of d floats over n points (25 iterations, empty clusters split). */
static void kmeans(const float *x, float *c, int64_t n, int32_t d, uint64_t *rng, uint8_t *assign, int64_t *nelts) {
    for (int k = 0; k < FT_KSUB; k++) {   /* distinct random points as seeds */
        int64_t p = (int64_t)(rng_next(rng) % (uint64_t)n);
        memcpy(c + (size_t)k * d, x + p * d, (size_t)d * sizeof *c);
    }
    for (int it = 0; it < 25; it++) {
        for (int64_t i = 0; i < n; i++) {
            float best = INFINITY;
            int bi = 0;
            for (int k = 0; k < FT_KSUB; k++) {
                float dist = 0;
                for (int32_t j = 0; j < d; j++) {
                    float t = x[i * d + j] - c[(size_t)k * d + j];
                    dist += t * t;
                }
                if (dist < best) {
                    best = dist;
                    bi = k;
                }
            }
            assign[i] = (uint8_t)bi;
        }
        memset(c, 0, (size_t)FT_KSUB * d * sizeof *c);
        memset(nelts, 0, FT_KSUB * sizeof *nelts);
        for (int64_t i = 0; i < n; i++) {
            for (int32_t j = 0; j < d; j++) c[(size_t)assign[i] * d + j] += x[i * d + j];
            nelts[assign[i]]++;
        }
        for (int k = 0; k < FT_KSUB; k++)
            if (nelts[k]) for (int32_t j = 0; j < d; j++) c[(size_t)k * d + j] /= (float)nelts[k];
        for (int k = 0; k < FT_KSUB; k++) {
            if (nelts[k]) continue;
            int m = 0;   /* split a cluster chosen with probability growing with its size */
            while (rng_unit(rng) * (double)(n - FT_KSUB) >= (double)(nelts[m] - 1)) m = (m + 1) % FT_KSUB;
            memcpy(c + (size_t)k * d, c + (size_t)m * d, (size_t)d * sizeof *c);
            for (int32_t j = 0; j < d; j++) {
                float sign = (float)((j % 2) * 2 - 1) * 1e-7f;
                c[(size_t)k * d + j] += sign;
                c[(size_t)m * d + j] -= sign;
            }
            nelts[k] = nelts[m] / 2;
            nelts[m] -= nelts[k];
        }
    }
}

int ft_pq_fit(ft_pq *pq, const float *x, int64_t n, uint8_t *codes, uint64_t seed, smol_error *err) {
    if (n < FT_KSUB)
        return smol_fail(err, SMOL_EINVAL, "matrix too small for quantization: %lld rows, at least %d are needed",
                         (long long)n, FT_KSUB);
    int64_t np = n < 65536 ? n : 65536;
    pq->centroids = calloc((size_t)pq->dim * FT_KSUB, sizeof(float));
    float *slice = malloc((size_t)np * pq->dsub * sizeof(float));
    int64_t *perm = malloc((size_t)n * sizeof *perm), nelts[FT_KSUB];
    uint8_t *assign = malloc((size_t)np);
    if (!pq->centroids || !slice || !perm || !assign) {
        free(slice);
        free(perm);
        free(assign);
        return smol_fail(err, SMOL_ENOMEM, "out of memory for quantization");
    }
    uint64_t rng = seed;
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int32_t m = 0; m < pq->nsubq; m++) {
        int32_t d = m == pq->nsubq - 1 ? pq->lastdsub : pq->dsub;
        if (np != n)
            for (int64_t i = n - 1; i > 0; i--) {
                int64_t j = (int64_t)(rng_next(&rng) % (uint64_t)(i + 1)), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
        for (int64_t j = 0; j < np; j++) memcpy(slice + j * d, x + perm[j] * pq->dim + (size_t)m * pq->dsub, (size_t)d * sizeof(float));
        kmeans(slice, pq->centroids + (size_t)m * FT_KSUB * pq->dsub, np, d, &rng, assign, nelts);
    }
    free(slice);
    free(perm);
    free(assign);
    assign_codes(pq, x, n, codes);
    return SMOL_OK;
}

/* Replaces a dense matrix by its product quantization (rows normalised first with qnorm). */
static int quantize_matrix(ft_matrix *mat, int32_t dsub, int qnorm, smol_error *err) {
    ft_matrix q = {0};
    q.quant = 1;
    q.m = mat->m;
    q.n = mat->n;
    q.qnorm = qnorm;
    ft_pq_init(&q.pq, (int32_t)mat->n, dsub);
    q.codes = malloc((size_t)q.m * q.pq.nsubq + 1);
    if (!q.codes) return smol_fail(err, SMOL_ENOMEM, "out of memory for quantization");
    int rc = SMOL_OK;
    if (qnorm) {
        float *norms = malloc((size_t)q.m * sizeof *norms + 4);
        q.norm_codes = malloc((size_t)q.m + 1);
        if (!norms || !q.norm_codes) rc = smol_fail(err, SMOL_ENOMEM, "out of memory for quantization");
        for (int64_t i = 0; !rc && i < q.m; i++) {
            float *r = mat->data + i * q.n, s = 0;
            for (int64_t j = 0; j < q.n; j++) s += r[j] * r[j];
            norms[i] = sqrtf(s);
            if (norms[i] != 0) for (int64_t j = 0; j < q.n; j++) r[j] /= norms[i];
        }
        ft_pq_init(&q.npq, 1, 1);
        if (!rc) rc = ft_pq_fit(&q.npq, norms, q.m, q.norm_codes, 1234, err);
        free(norms);
    }
    if (!rc) rc = ft_pq_fit(&q.pq, mat->data, q.m, q.codes, 1234, err);
    if (rc) {
        ft_matrix_free(&q);
        return rc;
    }
    ft_matrix_free(mat);
    *mat = q;
    return SMOL_OK;
}

typedef struct norm_idx {
    float norm;
    int32_t row;
} norm_idx;

static int by_norm_desc(const void *a, const void *b) {
    const norm_idx *x = a, *y = b;
    if (x->norm != y->norm) return x->norm > y->norm ? -1 : 1;
    return x->row - y->row;
}

static int by_row(const void *a, const void *b) {
    const norm_idx *x = a, *y = b;
    return x->row - y->row;
}

/* Keeps the cutoff input rows of largest norm (the end-of-line word first), as fastText's
 * quantize -cutoff does: kept words are renumbered, kept n-gram buckets go through a prune map. */
static int prune_rows(smol_ft *m, int64_t cutoff, smol_error *err) {
    ft_dict *d = &m->d;
    int64_t rows = m->in.m, dim = m->in.n;
    norm_idx *ni = malloc((size_t)rows * sizeof *ni);
    if (!ni) return smol_fail(err, SMOL_ENOMEM, "out of memory for pruning");
    int32_t eos = ft_dict_find(d, "</s>", 4, ft_hash("</s>", 4));
    for (int64_t i = 0; i < rows; i++) {
        float s = 0;
        for (int64_t j = 0; j < dim; j++) s += m->in.data[i * dim + j] * m->in.data[i * dim + j];
        ni[i].norm = i == eos ? INFINITY : sqrtf(s);
        ni[i].row = (int32_t)i;
    }
    qsort(ni, (size_t)rows, sizeof *ni, by_norm_desc);
    int64_t nw = 0;
    for (int64_t i = 0; i < cutoff; i++) nw += ni[i].row < d->nwords;
    int64_t ng = 0;
    norm_idx *sel = malloc((size_t)cutoff * sizeof *sel);
    float *data = malloc((size_t)cutoff * (size_t)dim * sizeof *data + 4);
    if (!sel || !data) {
        free(ni);
        free(sel);
        free(data);
        return smol_fail(err, SMOL_ENOMEM, "out of memory for pruning");
    }
    int64_t k = 0;
    for (int64_t i = 0; i < cutoff; i++) if (ni[i].row < d->nwords) sel[k++] = ni[i];
    for (int64_t i = 0; i < cutoff; i++) if (ni[i].row >= d->nwords) sel[k++] = ni[i];
    qsort(sel, (size_t)nw, sizeof *sel, by_row);   /* selected words sorted by id; then n-grams by norm */
    free(ni);
    free(d->prune_key);
    free(d->prune_val);
    d->prune_key = d->prune_val = NULL;
    ng = cutoff - nw;
    d->prune_size = ng;
    if (ng > 0) {
        d->prune_mask = 15;
        while ((int64_t)d->prune_mask + 1 < ng * 2) d->prune_mask = d->prune_mask * 2 + 1;
        d->prune_key = malloc(((size_t)d->prune_mask + 1) * sizeof(int32_t));
        d->prune_val = malloc(((size_t)d->prune_mask + 1) * sizeof(int32_t));
        if (!d->prune_key || !d->prune_val) {
            free(sel);
            free(data);
            return smol_fail(err, SMOL_ENOMEM, "out of memory for pruning");
        }
        memset(d->prune_key, 0xff, ((size_t)d->prune_mask + 1) * sizeof(int32_t));
        for (int64_t j = 0; j < ng; j++) {
            int32_t key = sel[nw + j].row - d->nwords;
            uint32_t s = ((uint32_t)key * 2654435761u) & d->prune_mask;
            while (d->prune_key[s] >= 0) s = (s + 1) & d->prune_mask;
            d->prune_key[s] = key;
            d->prune_val[s] = (int32_t)j;
        }
    }
    for (int64_t i = 0; i < cutoff; i++) memcpy(data + i * dim, m->in.data + (size_t)sel[i].row * dim, (size_t)dim * sizeof *data);
    /* keep the selected words (in id order) then all labels */
    int32_t j = 0;
    int64_t wi = 0;
    for (int32_t i = 0; i < d->size; i++) {
        int keep = d->e[i].type == FT_LABEL || (wi < nw && sel[wi].row == i);
        if (d->e[i].type == FT_WORD && keep) wi++;
        if (keep) d->e[j++] = d->e[i];
        else {
            free(d->e[i].word);
            free(d->e[i].sub);
        }
        if (keep && j - 1 != i) d->e[i].word = NULL, d->e[i].sub = NULL;
    }
    d->nwords = (int32_t)nw;
    d->size = j;
    free(sel);
    free(m->in.data);
    m->in.data = data;
    m->in.m = cutoff;
    return ft_dict_index(m, err);
}

int smol_ft_quantize(smol_ft *m, const smol_ft_quant_opts *o, smol_error *err) {
    if (m->in.quant) return smol_fail(err, SMOL_EINVAL, "the model is already quantized");
    int32_t dsub = o->dsub > 0 ? o->dsub : 2;
    if (dsub > m->a.dim) return smol_fail(err, SMOL_EINVAL, "-dsub %d is larger than the dimension %d", dsub, m->a.dim);
    int rc = SMOL_OK;
    if (o->cutoff > 0 && o->cutoff < m->in.m) rc = prune_rows(m, o->cutoff, err);
    if (!rc) rc = quantize_matrix(&m->in, dsub, o->qnorm, err);
    if (!rc && o->qout) rc = quantize_matrix(&m->out, 2, o->qnorm, err);
    m->qout = o->qout;
    return rc;
}
