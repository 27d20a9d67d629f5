/* sampler.c: token sampling: greedy, temperature, top-k, top-p, min-p, repetition / frequency /
 * presence penalties, logit bias, a constraint filter, and a seeded PCG32 stream per sampler. */
#include "gen/sampler.h"
#include "base/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct smol_sampler {
    smol_sampler_params p;
    int n_vocab;
    smol_logit_bias *bias;     /* copy of p.logit_bias */
    smol_rng rng;
    uint64_t xorshift;         /* llama2.c's stream (llama2c mode) */
    int32_t *hist;             /* ring of the last penalty_last_n accepted tokens */
    int hist_n, hist_next;
    float *work;               /* [n_vocab] adjusted logits */
    int *cand;                 /* [n_vocab] candidate ids, best first after sorting */
    float *prob;               /* [n_vocab] candidate probabilities (by candidate rank) */
    int *count;                /* [n_vocab] occurrences in the window (zero between steps) */
    int *tmp;                  /* [n_vocab] sort scratch */
    uint8_t *mask;             /* [n_vocab] for the filter */
};

/* ---------------------------------------------------------------- random stream */

void smol_rng_seed_stream(smol_rng *r, uint64_t initstate, uint64_t initseq) {
    r->state = 0;
    r->inc = (initseq << 1) | 1u;
    smol_rng_u32(r);
    r->state += initstate;
    smol_rng_u32(r);
}

void smol_rng_seed(smol_rng *r, uint64_t seed) { smol_rng_seed_stream(r, seed, 0xda3e39cb94b95bdbULL); }

uint32_t smol_rng_u32(smol_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27), rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

double smol_rng_uniform(smol_rng *r) {
    uint64_t hi = smol_rng_u32(r) >> 5, lo = smol_rng_u32(r) >> 6;  /* 27 + 26 bits */
    return (double)(hi * 67108864.0 + lo) / 9007199254740992.0;
}

/* ---------------------------------------------------------------- life cycle */

smol_sampler_params smol_sampler_default_params(void) {
    smol_sampler_params p = {.temperature = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
                             .repeat_penalty = 1.0f, .penalty_last_n = 64, .seed = 42};
    return p;
}

int smol_sampler_new(const smol_sampler_params *params, int n_vocab, smol_sampler **out, smol_error *err) {
    *out = NULL;
    const smol_sampler_params *p = params;
    if (n_vocab <= 0) return smol_fail(err, SMOL_EINVAL, "sampler: vocabulary size %d", n_vocab);
    if (!(p->temperature >= 0) || p->top_k < 0 || !(p->top_p > 0 && p->top_p <= 1) || !(p->min_p >= 0 && p->min_p <= 1) ||
        !(p->repeat_penalty > 0) || p->penalty_last_n < 0 || p->n_logit_bias < 0)
        return smol_fail(err, SMOL_EINVAL,
                         "sampler: bad parameters (temperature %g >= 0, top_k %d >= 0, top_p %g in (0,1], min_p %g in "
                         "[0,1], repeat_penalty %g > 0, penalty_last_n %d >= 0 required)",
                         p->temperature, p->top_k, p->top_p, p->min_p, p->repeat_penalty, p->penalty_last_n);
    for (int i = 0; i < p->n_logit_bias; i++)
        if (p->logit_bias[i].token < 0 || p->logit_bias[i].token >= n_vocab)
            return smol_fail(err, SMOL_EINVAL, "sampler: logit bias for token %d outside the vocabulary [0, %d)",
                             p->logit_bias[i].token, n_vocab);
    smol_sampler *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->bias = malloc((size_t)(p->n_logit_bias + 1) * sizeof *s->bias);
    s->hist = malloc((size_t)(p->penalty_last_n + 1) * sizeof *s->hist);
    s->work = malloc((size_t)n_vocab * sizeof *s->work);
    s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
    s->prob = malloc((size_t)n_vocab * sizeof *s->prob);
    s->count = calloc((size_t)n_vocab, sizeof *s->count);
    s->mask = malloc((size_t)n_vocab);
    s->tmp = malloc((size_t)n_vocab * sizeof *s->tmp);
    if (!s->tmp || !s->bias || !s->hist || !s->work || !s->cand || !s->prob || !s->count || !s->mask) {
        smol_sampler_free(s);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    if (p->n_logit_bias) memcpy(s->bias, p->logit_bias, (size_t)p->n_logit_bias * sizeof *s->bias);
    s->p.logit_bias = s->bias;
    smol_sampler_reset(s);
    *out = s;
    return SMOL_OK;
}

void smol_sampler_free(smol_sampler *s) {
    if (!s) return;
    free(s->bias), free(s->hist), free(s->work), free(s->cand), free(s->prob), free(s->count), free(s->mask), free(s->tmp);
    free(s);
}

void smol_sampler_reset(smol_sampler *s) {
    s->hist_n = s->hist_next = 0;
    smol_rng_seed(&s->rng, s->p.seed);
    s->xorshift = s->p.seed;
}

void smol_sampler_accept(smol_sampler *s, int32_t token) {
    if (s->p.penalty_last_n == 0) return;
    s->hist[s->hist_next] = token;
    s->hist_next = (s->hist_next + 1) % s->p.penalty_last_n;
    if (s->hist_n < s->p.penalty_last_n) s->hist_n++;
}

/* ---------------------------------------------------------------- one step */

/* Bias, penalties and filter into s->work. */
static int adjust_logits(smol_sampler *s, const float *logits, smol_error *err) {
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof(float));
    for (int i = 0; i < s->p.n_logit_bias; i++) s->work[s->bias[i].token] += s->bias[i].bias;
    const smol_sampler_params *p = &s->p;
    if (p->repeat_penalty != 1.0f || p->frequency_penalty != 0 || p->presence_penalty != 0) {
        for (int i = 0; i < s->hist_n; i++)
            if (s->hist[i] >= 0 && s->hist[i] < s->n_vocab) s->count[s->hist[i]]++;
        for (int i = 0; i < s->hist_n; i++) {
            int t = s->hist[i];
            if (t < 0 || t >= s->n_vocab || s->count[t] == 0) continue;
            float *l = &s->work[t];
            *l = *l <= 0 ? *l * p->repeat_penalty : *l / p->repeat_penalty;
            *l -= (float)s->count[t] * p->frequency_penalty + p->presence_penalty;
            s->count[t] = 0;   /* once per distinct token */
        }
    }
    if (p->filter) {
        memset(s->mask, 1, (size_t)s->n_vocab);
        int rc = p->filter(p->filter_user, s->mask, s->n_vocab);
        if (rc) return smol_fail(err, rc < 0 ? rc : SMOL_EINVAL, "sampler: the token filter failed (%d)", rc);
        for (int t = 0; t < s->n_vocab; t++)
            if (!s->mask[t]) s->work[t] = -INFINITY;
    }
    return SMOL_OK;
}

/* Sorts ids[0..n) by key descending, ties by lower id (merge sort; tmp holds n ints). */
static void sort_desc(int *ids, int *tmp, int n, const float *key) {
    if (n < 2) return;
    int h = n / 2;
    sort_desc(ids, tmp, h, key);
    sort_desc(ids + h, tmp, n - h, key);
    int i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int a = ids[i], b = ids[j];
        if (key[a] > key[b] || (key[a] == key[b] && a < b)) tmp[k++] = ids[i++];
        else tmp[k++] = ids[j++];
    }
    while (i < h) tmp[k++] = ids[i++];
    while (j < n) tmp[k++] = ids[j++];
    memcpy(ids, tmp, (size_t)n * sizeof *ids);
}

/* 1 if id a ranks before id b: higher key, or the same key and a lower id. */
static int ranks_before(int a, int b, const float *key) { return key[a] > key[b] || (key[a] == key[b] && a < b); }

/* Moves the k best of ids[0..n) (by ranks_before) to ids[0..k) in O(n log k) with a heap whose
 * root is the worst kept one; returns k. */
static int keep_top_k(int *ids, int n, int k, const float *key) {
    for (int i = k / 2 - 1; i >= 0; i--)  /* heapify ids[0..k): the root ranks last */
        for (int p = i, c; (c = 2 * p + 1) < k; p = c) {
            if (c + 1 < k && ranks_before(ids[c], ids[c + 1], key)) c++;
            if (!ranks_before(ids[p], ids[c], key)) break;
            int t = ids[p]; ids[p] = ids[c]; ids[c] = t;
        }
    for (int i = k; i < n; i++) {
        if (!ranks_before(ids[i], ids[0], key)) continue;
        ids[0] = ids[i];
        for (int p = 0, c; (c = 2 * p + 1) < k; p = c) {
            if (c + 1 < k && ranks_before(ids[c], ids[c + 1], key)) c++;
            if (!ranks_before(ids[p], ids[c], key)) break;
            int t = ids[p]; ids[p] = ids[c]; ids[c] = t;
        }
    }
    return k;
}

/* Candidates of s->work, best first, truncated by top_k, softmax into s->prob with top_p and
 * min_p applied; returns how many remain (0 if none is allowed). */
static int truncate_and_softmax(smol_sampler *s) {
    int n = 0;
    for (int t = 0; t < s->n_vocab; t++)
        if (s->work[t] > -INFINITY) s->cand[n++] = t;
    if (n == 0) return 0;
    float inv_t = 1.0f / s->p.temperature;
    for (int i = 0; i < n; i++) s->work[s->cand[i]] *= inv_t;
    if (s->p.top_k > 0 && s->p.top_k < n) n = keep_top_k(s->cand, n, s->p.top_k, s->work);
    sort_desc(s->cand, s->tmp, n, s->work);
    double sum = 0, max = s->work[s->cand[0]];
    for (int i = 0; i < n; i++) sum += s->prob[i] = (float)exp(s->work[s->cand[i]] - max);
    for (int i = 0; i < n; i++) s->prob[i] = (float)(s->prob[i] / sum);
    if (s->p.top_p < 1.0f) {
        double cum = 0;
        for (int i = 0; i < n; i++) {
            cum += s->prob[i];
            if (cum >= s->p.top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (s->p.min_p > 0) {
        float floor_p = s->p.min_p * s->prob[0];
        int keep = 1;
        while (keep < n && s->prob[keep] >= floor_p) keep++;
        n = keep;
    }
    sum = 0;
    for (int i = 0; i < n; i++) sum += s->prob[i];
    for (int i = 0; i < n; i++) s->prob[i] = (float)(s->prob[i] / sum);
    return n;
}

static int argmax_work(const smol_sampler *s) {
    int best = -1;
    for (int t = 0; t < s->n_vocab; t++)
        if (s->work[t] > -INFINITY && (best < 0 || s->work[t] > s->work[best])) best = t;
    return best;
}

int smol_sampler_probs(smol_sampler *s, const float *logits, float *probs, smol_error *err) {
    int rc = adjust_logits(s, logits, err);
    if (rc) return rc;
    memset(probs, 0, (size_t)s->n_vocab * sizeof(float));
    if (s->p.temperature <= 0) {
        int t = argmax_work(s);
        if (t < 0) return smol_fail(err, SMOL_EINVAL, "sampler: no token is allowed");
        probs[t] = 1;
        return SMOL_OK;
    }
    int n = truncate_and_softmax(s);
    if (n == 0) return smol_fail(err, SMOL_EINVAL, "sampler: no token is allowed");
    for (int i = 0; i < n; i++) probs[s->cand[i]] = s->prob[i];
    return SMOL_OK;
}

/* ---------------------------------------------------------------- llama2.c compatibility */

/* llama2.c's random_u32: xorshift64* keeping the high 32 bits. */
static uint32_t xorshift_u32(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1DULL) >> 32);
}

static float xorshift_f32(uint64_t *state) { return (float)(xorshift_u32(state) >> 8) / 16777216.0f; }

/* Orders candidate ranks by probability, highest first (qsort comparator over s->prob). */
static void sort_by_prob(int *ids, int *tmp, int n, const float *prob) { sort_desc(ids, tmp, n, prob); }

/* llama2.c's sample(): softmax in float over s->work, then top-p or a plain draw. */
static int sample_llama2c(smol_sampler *s) {
    int n = s->n_vocab;
    float *p = s->prob, max = s->work[0], sum = 0;
    for (int i = 0; i < n; i++) p[i] = s->work[i] / s->p.temperature;
    max = p[0];
    for (int i = 1; i < n; i++) max = p[i] > max ? p[i] : max;
    for (int i = 0; i < n; i++) sum += p[i] = expf(p[i] - max);
    for (int i = 0; i < n; i++) p[i] /= sum;
    float coin = xorshift_f32(&s->xorshift), cdf = 0;
    if (s->p.top_p <= 0 || s->p.top_p >= 1) {
        for (int i = 0; i < n; i++)
            if (coin < (cdf += p[i])) return i;
        return n - 1;
    }
    float cutoff = (1.0f - s->p.top_p) / (float)(n - 1), cum = 0;
    int n0 = 0;
    for (int i = 0; i < n; i++)
        if (p[i] >= cutoff) s->cand[n0++] = i;
    sort_by_prob(s->cand, s->tmp, n0, p);
    int last = n0 - 1;
    for (int i = 0; i < n0; i++)
        if ((cum += p[s->cand[i]]) > s->p.top_p) {
            last = i;
            break;
        }
    float r = coin * cum;
    for (int i = 0; i <= last; i++)
        if (r < (cdf += p[s->cand[i]])) return s->cand[i];
    return s->cand[last];
}

/* One draw from s->work (after adjust_logits): a token id, or -1 if none is allowed. */
static int draw(smol_sampler *s) {
    int t;
    if (s->p.llama2c && s->p.temperature > 0) {
        t = sample_llama2c(s);
    } else if (s->p.temperature <= 0) {
        t = argmax_work(s);
    } else {
        int n = truncate_and_softmax(s);
        t = n ? s->cand[n - 1] : -1;
        double u = smol_rng_uniform(&s->rng), cum = 0;
        for (int i = 0; i < n; i++) {
            cum += s->prob[i];
            if (u < cum) {
                t = s->cand[i];
                break;
            }
        }
    }
    return t;
}

int smol_sampler_sample(smol_sampler *s, const float *logits, int32_t *token, smol_error *err) {
    return smol_sampler_sample_checked(s, logits, NULL, NULL, token, err);
}

/* Draws after adjust_logits; banned[0..n_banned) and, when sweep, every token check refuses are
 * dropped first. */
static int draw_without(smol_sampler *s, const float *logits, const int32_t *banned, int n_banned, int sweep,
                        smol_token_check_fn check, void *user, int32_t *t, smol_error *err) {
    int rc = adjust_logits(s, logits, err);
    if (rc) return rc;
    for (int i = 0; i < n_banned; i++) s->work[banned[i]] = -INFINITY;
    for (int k = 0; sweep && k < s->n_vocab; k++)
        if (s->work[k] > -INFINITY && !check(user, k)) s->work[k] = -INFINITY;
    *t = draw(s);
    return SMOL_OK;
}

int smol_sampler_sample_checked(smol_sampler *s, const float *logits, smol_token_check_fn check, void *user,
                                int32_t *token, smol_error *err) {
    enum { MAX_REDRAWS = 8 };
    int32_t banned[MAX_REDRAWS], t;
    int n_banned = 0, sweep = 0;
    for (;;) {
        int rc = draw_without(s, logits, banned, n_banned, sweep, check, user, &t, err);
        if (rc) return rc;
        if (t < 0 && sweep) {               /* the check refuses every allowed token: ignore it */
            check = NULL, n_banned = 0, sweep = 0;
            continue;
        }
        if (t < 0 || !check || check(user, t)) break;
        if (n_banned < MAX_REDRAWS) banned[n_banned++] = t;
        else sweep = 1;
    }
    if (t < 0) return smol_fail(err, SMOL_EINVAL, "sampler: no token is allowed (the filter and bias ban them all)");
    *token = t;
    smol_sampler_accept(s, t);
    return SMOL_OK;
}
