/* sampler.c: token sampling: greedy, temperature, top-k, top-p, min-p, repetition / frequency /
 * presence penalties, logit bias, a constraint filter, and a seeded PCG32 stream per sampler. */
#include "gen/sampler.h"
#include "base/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 64 };   /* tokens per block of s->bmax */

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
    int *kept;                 /* [n_vocab] candidates a ranked walk kept, best first */
    float *bmax;               /* [n_vocab / BLOCK rounded up] the best adjusted logit of each block */
    uint8_t *mask;             /* [n_vocab] for the filter */
    int fast_skip, fast_backoff;  /* constrained steps to take masked before trying the fast path again */
    int listed;                /* 1: s->cand lists the step's candidates (a masked step), ranked directly */
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
    s->kept = malloc((size_t)n_vocab * sizeof *s->kept);
    s->bmax = malloc(((size_t)n_vocab + BLOCK - 1) / BLOCK * sizeof *s->bmax);
    if (!s->tmp || !s->kept || !s->bmax || !s->bias || !s->hist || !s->work || !s->cand || !s->prob || !s->count || !s->mask) {
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
    free(s->kept), free(s->bmax);
    free(s);
}

void smol_sampler_reset(smol_sampler *s) {
    s->hist_n = s->hist_next = 0;
    s->fast_skip = s->fast_backoff = 0;
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

/* Clears s->work[t] (to -inf) for every token the filter bans; the mask is read eight bytes
 * at a time and runs of allowed tokens are skipped. */
static int apply_filter(smol_sampler *s, smol_error *err) {
    const smol_sampler_params *p = &s->p;
    if (!p->filter) return SMOL_OK;
    memset(s->mask, 1, (size_t)s->n_vocab);
    int rc = p->filter(p->filter_user, s->mask, s->n_vocab);
    if (rc) return smol_fail(err, rc < 0 ? rc : SMOL_EINVAL, "sampler: the token filter failed (%d)", rc);
    int t = 0;
    for (; t + 8 <= s->n_vocab; t += 8) {
        uint64_t w;
        memcpy(&w, s->mask + t, 8);
        if (w == 0x0101010101010101ULL) continue;
        for (int k = t; k < t + 8; k++)
            if (!s->mask[k]) s->work[k] = -INFINITY;
    }
    for (; t < s->n_vocab; t++)
        if (!s->mask[t]) s->work[t] = -INFINITY;
    return SMOL_OK;
}

/* Bias and penalties into s->work (a copy of the step's logits). */
static void apply_bias_and_penalties(smol_sampler *s) {
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
 * root is the worst kept one, the others to ids[k..n) (a permutation); returns k. */
static int keep_top_k(int *ids, int n, int k, const float *key) {
    for (int i = k / 2 - 1; i >= 0; i--)  /* heapify ids[0..k): the root ranks last */
        for (int p = i, c; (c = 2 * p + 1) < k; p = c) {
            if (c + 1 < k && ranks_before(ids[c], ids[c + 1], key)) c++;
            if (!ranks_before(ids[p], ids[c], key)) break;
            int t = ids[p]; ids[p] = ids[c]; ids[c] = t;
        }
    for (int i = k; i < n; i++) {
        if (!ranks_before(ids[i], ids[0], key)) continue;
        int out = ids[0];
        ids[0] = ids[i], ids[i] = out;
        for (int p = 0, c; (c = 2 * p + 1) < k; p = c) {
            if (c + 1 < k && ranks_before(ids[c], ids[c + 1], key)) c++;
            if (!ranks_before(ids[p], ids[c], key)) break;
            int t = ids[p]; ids[p] = ids[c]; ids[c] = t;
        }
    }
    return k;
}

/* Lists the tokens s->work allows (finite logits) in s->cand, ids ascending; returns how many.
 * Blocks without any (s->bmax -inf) are skipped, so a sparse mask costs little. */
static int list_finite(smol_sampler *s) {
    int n = 0;
    for (int b = 0, t0 = 0; t0 < s->n_vocab; b++, t0 += BLOCK) {
        if (!(s->bmax[b] > -INFINITY)) continue;
        int t1 = t0 + BLOCK < s->n_vocab ? t0 + BLOCK : s->n_vocab;
        for (int t = t0; t < t1; t++)
            if (s->work[t] > -INFINITY) s->cand[n++] = t;
    }
    return n;
}

/* Sets s->work to src times scale (1 / temperature, or 1; src may be s->work) and records each
 * block's best value in s->bmax (-inf for a block with no finite value); returns how many values
 * are finite. */
static int collect(smol_sampler *s, const float *src, float scale) {
    int n = 0, nv = s->n_vocab;
    for (int b = 0, t0 = 0; t0 < nv; b++, t0 += BLOCK) {
        int t1 = t0 + BLOCK < nv ? t0 + BLOCK : nv;
        float best = -INFINITY;
        for (int t = t0; t < t1; t++) {
            float v = src[t] * scale;
            s->work[t] = v;
            best = v > best ? v : best;
            n += v > -INFINITY;
        }
        s->bmax[b] = best;
    }
    return n;
}

/* What the logits are multiplied by: 1 / temperature, or 1 when greedy or in llama2c mode (whose
 * step divides by the temperature itself). */
static float temperature_scale(const smol_sampler *s) {
    return s->p.temperature > 0 && !s->p.llama2c ? 1.0f / s->p.temperature : 1.0f;
}

/* The step's adjusted logits into s->work (bias, penalties, then the temperature: the filter is
 * applied apart), with s->bmax; returns how many are finite. One pass when there is no bias or
 * penalty to apply. */
static int prepare(smol_sampler *s, const float *logits) {
    const smol_sampler_params *p = &s->p;
    s->listed = 0;
    int penalties = s->hist_n && (p->repeat_penalty != 1.0f || p->frequency_penalty != 0 || p->presence_penalty != 0);
    if (!p->n_logit_bias && !penalties) return collect(s, logits, temperature_scale(s));
    memcpy(s->work, logits, (size_t)s->n_vocab * sizeof(float));
    apply_bias_and_penalties(s);
    return collect(s, s->work, temperature_scale(s));
}

/* Runs the filter and lists in s->cand the tokens it allows whose prepared logit is finite, without
 * touching s->work (a masked step's candidates, s->listed); the mask is read eight bytes at a
 * time and runs of banned tokens are skipped. Returns how many, or a negative status. */
static int list_allowed(smol_sampler *s, smol_error *err) {
    const smol_sampler_params *p = &s->p;
    memset(s->mask, 1, (size_t)s->n_vocab);
    int rc = p->filter(p->filter_user, s->mask, s->n_vocab);
    if (rc) return smol_fail(err, rc < 0 ? rc : SMOL_EINVAL, "sampler: the token filter failed (%d)", rc);
    int n = 0, t = 0;
    for (; t < s->n_vocab; t += 8) {
        uint64_t w = 1;
        if (t + 8 <= s->n_vocab) memcpy(&w, s->mask + t, 8);
        if (!w) continue;
        for (int k = t; k < t + 8 && k < s->n_vocab; k++)
            if (s->mask[k] && s->work[k] > -INFINITY) s->cand[n++] = k;
    }
    s->listed = 1;
    return n;
}

/* Applies the filter (if any) to the prepared s->work and refreshes s->bmax: the number of
 * finite logits left (n when there is no filter), or a negative status. */
static int prepare_masked(smol_sampler *s, int n, smol_error *err) {
    if (!s->p.filter) return n;
    int rc = apply_filter(s, err);
    return rc ? rc : collect(s, s->work, 1.0f);
}

/* The k-th largest (k >= 1) of a[0..n) (no NaN); reorders a (quickselect). */
static float kth_largest(float *a, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > pivot) i++;
            while (a[j] < pivot) j--;
            if (i <= j) {
                float x = a[i];
                a[i++] = a[j], a[j--] = x;
            }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else return a[want];
    }
    return a[want];
}

/* Puts the best m of the n finite tokens of s->work (or, when s->listed, of the n candidates
 * listed in s->cand) in s->cand[0..m) (1 <= m <= n), best first (ties: lower id first). When the blocks allow, only the tokens at or above the m-th best block
 * maximum are ranked (found in the blocks that reach it): m blocks reach it, so at least m tokens
 * do, and so does every token of the best m. s->bmax must describe s->work (see collect). */
static void select_best(smol_sampler *s, int n, int m) {
    int nb = (s->n_vocab + BLOCK - 1) / BLOCK, c = 0;
    if (s->listed) {              /* s->cand[0..n) holds the candidates (kept a permutation) */
        if (m < n) keep_top_k(s->cand, n, m, s->work);
        sort_desc(s->cand, s->tmp, m, s->work);
        return;
    }
    if (m < n && 4 * m <= nb) {
        memcpy(s->prob, s->bmax, (size_t)nb * sizeof *s->prob);
        float floor_v = kth_largest(s->prob, nb, m);
        for (int b = 0; floor_v > -INFINITY && b < nb; b++) {
            if (s->bmax[b] < floor_v) continue;
            int t1 = (b + 1) * BLOCK < s->n_vocab ? (b + 1) * BLOCK : s->n_vocab;
            for (int t = b * BLOCK; t < t1; t++)
                if (s->work[t] >= floor_v) s->cand[c++] = t;
        }
    }
    if (c == 0) c = list_finite(s);
    if (m < c) keep_top_k(s->cand, c, m, s->work);
    sort_desc(s->cand, s->tmp, m, s->work);
}

/* Softmax over the sorted candidates s->cand[0..n) into s->prob, then top_p and min_p, then
 * renormalised; returns how many remain. */
static int softmax_tail(smol_sampler *s, int n) {
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

/* The n finite candidates of s->work, best first, truncated by top_k, softmax into s->prob with
 * top_p and min_p applied; returns how many remain (0 if none is allowed). */
static int truncate_and_softmax(smol_sampler *s, int n) {
    if (n == 0) return 0;
    int k = s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n;
    select_best(s, n, k);
    return softmax_tail(s, k);
}

static int argmax_work(const smol_sampler *s) {
    int best = -1;
    for (int t = 0; t < s->n_vocab; t++)
        if (s->work[t] > -INFINITY && (best < 0 || s->work[t] > s->work[best])) best = t;
    return best;
}

int smol_sampler_probs(smol_sampler *s, const float *logits, float *probs, smol_error *err) {
    int n = prepare_masked(s, prepare(s, logits), err);
    if (n < 0) return n;
    memset(probs, 0, (size_t)s->n_vocab * sizeof(float));
    if (s->p.temperature <= 0) {
        int t = argmax_work(s);
        if (t < 0) return smol_fail(err, SMOL_EINVAL, "sampler: no token is allowed");
        probs[t] = 1;
        return SMOL_OK;
    }
    n = truncate_and_softmax(s, n);
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

/* A draw over s->prob[0..n) (in s->cand's order) with one uniform from the stream: a token id. */
static int pick(smol_sampler *s, int n) {
    double u = smol_rng_uniform(&s->rng), cum = 0;
    for (int i = 0; i < n; i++) {
        cum += s->prob[i];
        if (u < cum) return s->cand[i];
    }
    return s->cand[n - 1];
}

/* Walks the ranking of the n finite tokens of s->work from the best, keeping in s->kept each one
 * keep (NULL: every one) accepts, until want are kept or limit (<= n) were examined. Returns how
 * many were kept, or keep's negative status; *examined is how many were looked at. The ranking
 * is built in rounds (the best m, then 4m, ...), so a walk that ends early is cheap. */
static int walk_ranked(smol_sampler *s, int n, int want, int limit, smol_token_check_fn keep, void *user,
                       int *examined) {
    int kept = 0, done = 0, m = keep ? want + want / 4 + 16 : want;
    if (m > limit) m = limit;
    for (;;) {
        select_best(s, n, m);
        for (; done < m && kept < want; done++) {
            int t = s->cand[done], ok = keep ? keep(user, t) : 1;
            if (ok < 0) return ok;
            if (ok) s->kept[kept++] = t;
        }
        if (kept == want || m == limit) break;
        m = m > limit / 4 ? limit : m * 4;
    }
    *examined = done;
    return kept;
}

/* The token taken from the kept candidates s->kept[0..n) (best first): the first when greedy,
 * else one draw after softmax, top_p and min_p over them. */
static int take_kept(smol_sampler *s, int n) {
    if (s->p.temperature <= 0) return s->kept[0];
    memcpy(s->cand, s->kept, (size_t)n * sizeof *s->cand);
    return pick(s, softmax_tail(s, n));
}

static int filter_failed(smol_error *err, int rc) {
    return smol_fail(err, rc < 0 ? rc : SMOL_EINVAL, "sampler: the token filter failed (%d)", rc);
}

static int none_allowed(smol_error *err) {
    return smol_fail(err, SMOL_EINVAL, "sampler: no token is allowed (the filter and bias ban them all)");
}

/* The constrained step without the filter's mask: allow (the filter and the check together)
 * is asked about single tokens instead; *t = -1 when that does not settle the step (the masked
 * step then runs on s->work as prepared here, whose finite count is *n_finite).
 *
 * Why the result is the masked step's: with top-k (or greedy), the masked step keeps the top_k
 * best allowed tokens by rank (logit, then lower id), then applies softmax, top_p and min_p to
 * them. Walking the unmasked ranking from the best and keeping the allowed tokens until top_k
 * are kept finds exactly those tokens in the same order: every token ranked above the last one
 * kept was examined, and those left out are not allowed. The probabilities then come from the
 * same code over the same logits and one uniform picks the token, so for a given random stream
 * the token itself is the masked step's. Without any truncation (top_k 0, top_p 1, min_p 0) a
 * token drawn from the unmasked softmax and taken only if allowed follows the unmasked
 * distribution conditioned on the allowed set, which is the masked softmax (rejection
 * sampling); after MAX_REJECTS refusals the masked step draws from that same distribution, so
 * the mixture is still exactly it. Other settings (top_k 0 with top_p or min_p) go masked. */
static int sample_fast(smol_sampler *s, const float *logits, smol_token_check_fn allow, void *user, int32_t *t,
                       int *n_finite, smol_error *err) {
    enum { MAX_REJECTS = 8 };
    *t = -1;
    int n = *n_finite = prepare(s, logits), greedy = s->p.temperature <= 0;
    if (n == 0) return SMOL_OK;
    if (greedy || s->p.top_k > 0) {
        int want = greedy ? 1 : s->p.top_k < n ? s->p.top_k : n, examined = 0;
        int limit = 4 * want + 64 < n ? 4 * want + 64 : n;
        int kept = walk_ranked(s, n, want, limit, allow, user, &examined);
        if (kept < 0) return filter_failed(err, kept);
        if (kept == want || (kept > 0 && examined == n)) *t = take_kept(s, kept);
        return SMOL_OK;
    }
    if (s->p.top_p < 1.0f || s->p.min_p > 0) return SMOL_OK;
    select_best(s, n, n);
    n = softmax_tail(s, n);
    for (int r = 0; r < MAX_REJECTS; r++) {
        int32_t u = pick(s, n);
        int ok = allow(user, u);
        if (ok < 0) return filter_failed(err, ok);
        if (ok) return *t = u, SMOL_OK;
    }
    return SMOL_OK;
}

/* llama2.c's step over the masked s->work, without the tokens check refuses (unless it refuses
 * every allowed one). */
static int sample_llama2c_checked(smol_sampler *s, smol_token_check_fn check, void *user, int32_t *t, smol_error *err) {
    int n_pass = 0, n_refused = 0;
    for (int k = 0; k < s->n_vocab; k++)
        if (s->work[k] > -INFINITY) {
            if (!check || check(user, k)) n_pass++;
            else s->kept[n_refused++] = k;
        }
    if (n_pass + n_refused == 0) return none_allowed(err);
    for (int i = 0; n_pass > 0 && i < n_refused; i++) s->work[s->kept[i]] = -INFINITY;
    *t = sample_llama2c(s);
    return SMOL_OK;
}

/* The masked step: the filter's mask over every token, then the best candidates check accepts,
 * or every candidate when check refuses them all. n_prepared >= 0: s->work is already prepared
 * (by sample_fast) with that many finite logits; -1: prepared here from logits. */
static int sample_masked(smol_sampler *s, const float *logits, int n_prepared, smol_token_check_fn check, void *user,
                         int32_t *t, smol_error *err) {
    int n = n_prepared >= 0 ? n_prepared : prepare(s, logits);
    if (s->p.llama2c && s->p.temperature > 0) {
        n = prepare_masked(s, n, err);
        return n < 0 ? n : sample_llama2c_checked(s, check, user, t, err);
    }
    if (s->p.filter && (n = list_allowed(s, err)) < 0) return n;
    if (n == 0) return none_allowed(err);
    if (s->p.filter && 2 * n > s->n_vocab) s->fast_skip = s->fast_backoff = 0;  /* most tokens allowed: try fast next */
    int want = s->p.temperature <= 0 ? 1 : s->p.top_k > 0 && s->p.top_k < n ? s->p.top_k : n, examined;
    int kept = check ? walk_ranked(s, n, want, n, check, user, &examined) : 0;
    if (kept == 0) kept = walk_ranked(s, n, want, n, NULL, NULL, &examined);
    *t = take_kept(s, kept);
    return SMOL_OK;
}

int smol_sampler_sample(smol_sampler *s, const float *logits, int32_t *token, smol_error *err) {
    return smol_sampler_sample_allowed(s, logits, NULL, NULL, NULL, token, err);
}

int smol_sampler_sample_checked(smol_sampler *s, const float *logits, smol_token_check_fn check, void *user,
                                int32_t *token, smol_error *err) {
    return smol_sampler_sample_allowed(s, logits, NULL, check, user, token, err);
}

int smol_sampler_sample_allowed(smol_sampler *s, const float *logits, smol_token_check_fn allow,
                                smol_token_check_fn check, void *user, int32_t *token, smol_error *err) {
    int32_t t = -1;
    int n_prepared = -1, rc = SMOL_OK;
    if (allow && s->p.filter && !s->p.llama2c && s->fast_skip-- <= 0) {
        rc = sample_fast(s, logits, allow, user, &t, &n_prepared, err);
        /* where the fast path keeps failing (a run of steps with few tokens allowed), try it again
         * only after 1, 2, 4, then every 8 steps (with top-k or greedy the token does not depend on
         * the path taken; without, both paths draw from the same distribution) */
        s->fast_backoff = t >= 0 ? 0 : s->fast_backoff ? (s->fast_backoff < 8 ? 2 * s->fast_backoff : 8) : 1;
        s->fast_skip = s->fast_backoff;
    }
    if (!rc && t < 0) rc = sample_masked(s, logits, n_prepared, check, user, &t, err);
    if (rc) return rc;
    *token = t;
    smol_sampler_accept(s, t);
    return SMOL_OK;
}
