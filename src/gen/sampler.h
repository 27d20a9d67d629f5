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

/* A check on a drawn token: 1 to take it, 0 to draw again without it. */
typedef int (*smol_token_check_fn)(void *user, int32_t token);

/* smol_sampler_sample, but a drawn token that check (may be NULL) refuses is dropped and the
 * step drawn again, truncation (top-k, top-p, min-p) and all, over the tokens left: the result
 * follows the distribution restricted to the tokens check accepts. After 8 refusals every
 * candidate is checked at once before the next draw. If check refuses every allowed token it is
 * ignored for this step. Only the token taken is recorded for the penalties. */
int smol_sampler_sample_checked(smol_sampler *s, const float *logits, smol_token_check_fn check, void *user,
                                int32_t *token, smol_error *err);

/* The distribution the sampler would draw from for logits (after bias, penalties, filter and
 * truncation): probs[n_vocab], zero for dropped tokens; a one-hot vector when greedy. */
int smol_sampler_probs(smol_sampler *s, const float *logits, float *probs, smol_error *err);

#endif
