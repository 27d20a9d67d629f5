/* sampler.h: choosing the next token from logits (the smol_sampler of include/smol.h), and
 * the pieces exposed for tests: the seeded random stream and the final distribution.
 *
 * Order of a step: logit bias, penalties over the last penalty_last_n accepted tokens, the
 * constraint filter, then greedy argmax (temperature 0) or: divide by temperature, keep the
 * top_k, softmax, keep the top_p nucleus, drop tokens below min_p * p(best), renormalise, draw.
 * This is the order of Hugging Face transformers' logits warpers (temperature first). */
#ifndef SMOL_GEN_SAMPLER_H
#define SMOL_GEN_SAMPLER_H
#include "smol.h"

/* A PCG32 random stream (O'Neill's pcg32_random_r: 64-bit LCG state, XSH-RR output). */
typedef struct smol_rng {
    uint64_t state, inc;
} smol_rng;

/* Seeds r as pcg32_srandom_r(initstate, initseq) does. */
void smol_rng_seed_stream(smol_rng *r, uint64_t initstate, uint64_t initseq);

/* Seeds r from one number (the same seed gives the same stream). */
void smol_rng_seed(smol_rng *r, uint64_t seed);

/* The next 32 random bits. */
uint32_t smol_rng_u32(smol_rng *r);

/* A uniform double in [0, 1) with 53 random bits. */
double smol_rng_uniform(smol_rng *r);

/* A test of one token: 1 to allow it, 0 to refuse it. */
typedef int (*smol_token_check_fn)(void *user, int32_t token);

/* smol_sampler_sample restricted to the tokens check (may be NULL) accepts: the step draws from
 * the distribution the filter and truncation (top-k, top-p, min-p) give over the tokens both the
 * filter and check allow, i.e. as if check were part of the filter. If check refuses every
 * allowed token it is ignored for this step. Only the token taken is recorded for the penalties. */
int smol_sampler_sample_checked(smol_sampler *s, const float *logits, smol_token_check_fn check, void *user,
                                int32_t *token, smol_error *err);

/* smol_sampler_sample_checked with allow(user, t): 1 if the sampler's filter and check both
 * accept token t at this step, 0 if not, < 0 a failure to report. Most steps are decided by
 * asking allow about the best tokens one by one; the filter's mask is built only when that does
 * not settle the step. The distribution is the masked one's (and with top-k or greedy, so is the
 * token for a given seed). Without a filter, or in llama2c mode, allow is not used. */
int smol_sampler_sample_allowed(smol_sampler *s, const float *logits, smol_token_check_fn allow,
                                smol_token_check_fn check, void *user, int32_t *token, smol_error *err);

/* The distribution the sampler would draw from for logits (after bias, penalties, filter and
 * truncation): probs[n_vocab], zero for dropped tokens; a one-hot vector when greedy. */
int smol_sampler_probs(smol_sampler *s, const float *logits, float *probs, smol_error *err);

#endif
