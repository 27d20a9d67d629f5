/* grammar.h: the constraint engine of structured generation. GBNF text (llama.cpp's grammar
 * syntax), a regular expression or a list of choices compiles into a smol_grammar; a
 * smol_matcher follows one output through it byte by byte (UTF-8 aware: character classes match
 * code points) and gives, at every step, the mask of tokens that may come next. A
 * smol_token_index holds the per-tokenizer preprocessing (token bytes in a trie) and is shared
 * by every grammar and matcher over that tokenizer. See docs/structured-generation.md. */
#ifndef SMOL_GEN_GRAMMAR_H
#define SMOL_GEN_GRAMMAR_H
#include "smol.h"

typedef struct smol_grammar smol_grammar;
typedef struct smol_token_index smol_token_index;
typedef struct smol_matcher smol_matcher;

/* Compiles GBNF text (len bytes) with start rule root (NULL: "root"). Syntax errors give
 * SMOL_EFORMAT "malformed GBNF at LINE:COL: ..."; undefined rules, rules with no finite
 * derivation and left recursion are SMOL_EFORMAT naming the rule. */
int smol_grammar_from_gbnf(const char *text, size_t len, const char *root, smol_grammar **out, smol_error *err);

/* Compiles a regular expression (the ECMA-262 subset of src/gen/regex.h) matched against the
 * whole output (anchors implied). */
int smol_grammar_from_regex(const char *regex, smol_grammar **out, smol_error *err);

/* A grammar matching exactly one of n choices (byte strings, NUL-terminated). */
int smol_grammar_from_choice(const char *const *choices, int n, smol_grammar **out, smol_error *err);

/* Frees g (every matcher over it must be freed first); NULL is a no-op. */
void smol_grammar_free(smol_grammar *g);

/* The number of rules (after groups and repetitions became rules of their own). */
int smol_grammar_n_rules(const smol_grammar *g);

/* Builds the per-tokenizer index: every token's decoded bytes in a trie (control, unknown and
 * unused tokens left out) and its end-of-generation tokens. tok must outlive it. */
int smol_token_index_new(const smol_tokenizer *tok, smol_token_index **out, smol_error *err);

/* Frees ti; NULL is a no-op. */
void smol_token_index_free(smol_token_index *ti);

/* The vocabulary size the index was built for. */
int32_t smol_token_index_n_vocab(const smol_token_index *ti);

/* Starts a matcher at the beginning of g. ti may be NULL for byte-level use only (accept_bytes,
 * can_end, forced); masks and tokens need it. g and ti must outlive the matcher. */
int smol_matcher_new(const smol_grammar *g, const smol_token_index *ti, smol_matcher **out, smol_error *err);

/* Writes the set of tokens allowed next into allowed[(n_vocab + 31) / 32] (bit t % 32 of word
 * t / 32): a token is allowed iff the matcher accepts all of its bytes from the current state;
 * end-of-generation tokens iff the grammar can end here. Returns the number allowed (>= 0), or
 * SMOL_EINVAL without a token index. */
int smol_matcher_mask(smol_matcher *m, uint32_t *allowed);

/* Advances by token id: 0, or SMOL_EINVAL (state unchanged) if the token is not allowed. An
 * end-of-generation token (allowed when the grammar can end) finishes the matcher. */
int smol_matcher_accept_token(smol_matcher *m, int32_t id);

/* Advances by n raw bytes as one step (rolled back as one token): 0, or SMOL_EINVAL (state
 * unchanged) if the grammar cannot continue with them. */
int smol_matcher_accept_bytes(smol_matcher *m, const char *bytes, size_t n);

/* Undoes the last n accepted steps (tokens or byte runs): 0, or SMOL_ERANGE if fewer were taken. */
int smol_matcher_rollback(smol_matcher *m, int n_tokens);

/* 1 if the output so far is a complete sentence of the grammar (or the matcher is finished). */
int smol_matcher_can_end(const smol_matcher *m);

/* 1 once an end-of-generation token was accepted. */
int smol_matcher_is_done(const smol_matcher *m);

/* The number of steps accepted and not rolled back. */
int smol_matcher_n_steps(const smol_matcher *m);

/* The fewest bytes that complete the output from the current state: 0 when it can end (or is
 * done), INT32_MAX when nothing completes it. Computed from the shortest derivation of every rule
 * (bytes of each class's smallest character); cached per state, so this is a lookup. In a
 * byte-level vocabulary, where every byte is a token, it bounds the tokens still needed. */
int32_t smol_matcher_min_bytes(const smol_matcher *m);

/* The same after token id (not accepted: the state is unchanged), or -1 if id is not allowed.
 * An end-of-generation token gives 0 where the grammar can end. */
int32_t smol_matcher_min_bytes_after(smol_matcher *m, int32_t id);

/* Fast-forward: writes into buf (at most cap bytes) the bytes that must come next because they
 * are the only continuation (stopping where the grammar could end or branch); returns their
 * count. Nothing is accepted: pass them to smol_matcher_accept_bytes or tokenize them. */
size_t smol_matcher_forced(smol_matcher *m, char *buf, size_t cap);

/* An independent copy at the same state, sharing the caches of m (use both from one thread);
 * NULL when out of memory. */
smol_matcher *smol_matcher_clone(const smol_matcher *m);

/* Frees m; NULL is a no-op. */
void smol_matcher_free(smol_matcher *m);

/* The size of m's caches (interned stacks plus the members of every parser state built so far):
 * a measure of the work done, which stays linear in the bytes accepted for grammars such as
 * ("a"? "b"? "c"?){1000}. */
size_t smol_matcher_work(const smol_matcher *m);

/* Generation under a grammar: a sampler filter (smol_token_filter_fn) keeping sequence seq of
 * context c on matcher m. At each call it first accepts the tokens the sequence gained since the
 * last call (the sampled ones), then clears mask[t] for every token m does not allow (tokens
 * past the tokenizer's vocabulary included). Once the grammar is complete and nothing else may
 * follow, only end-of-generation tokens remain, so generation ends there. */
typedef struct smol_grammar_filter {
    smol_matcher *m;          /* not owned */
    const smol_ctx *c;
    int seq;
    int base;                 /* sequence length at the first call (the prompt), -1 before */
    uint32_t *bits;           /* the matcher's mask */
    int status;               /* the first failure, 0 if none */
    int n_predict;            /* the most tokens generated after base, < 0: no limit but the context
                                 (smol_generate sets it from smol_gen_params.n_predict) */
    int finish;               /* budget-aware finish (default 1): see smol_grammar_filter_fits */
} smol_grammar_filter;

/* Sets up f (f->bits is allocated: release with smol_grammar_filter_free). */
int smol_grammar_filter_init(smol_grammar_filter *f, smol_matcher *m, const smol_ctx *c, int seq, smol_error *err);

/* The filter function: pass it as smol_sampler_params.filter with the smol_grammar_filter as
 * filter_user (or one per sequence in smol_gen_params.filter_users). */
int smol_grammar_filter_apply(void *user, uint8_t *mask, int n_vocab);

/* The tokens that may still be generated in f's sequence, the next one included: the least of
 * n_predict minus those generated since base and what the context holds (a sequence samples
 * until its length reaches the context size). */
int smol_grammar_filter_remaining(const smol_grammar_filter *f);

/* Budget-aware finish: 1 if, after token (allowed by the mask), the output can still be completed
 * within the remaining budget, i.e. smol_matcher_min_bytes_after(token) <= remaining - 1 (one
 * single-byte token per byte at worst); always 1 when f->finish is 0. Pass it with f to
 * smol_sampler_sample_checked; smol_generate does so for every smol_grammar_filter_apply filter. */
int smol_grammar_filter_fits(void *user, int32_t token);

/* Frees f's mask buffer (not the matcher). */
void smol_grammar_filter_free(smol_grammar_filter *f);

/* The per-token form of smol_grammar_filter_apply and smol_grammar_filter_fits together: first
 * accepts the tokens f's sequence gained since the last call (as apply does), then returns 1 if
 * the mask apply would write allows token and the token fits (as smol_grammar_filter_fits says),
 * 0 if not, or a negative status (also kept in f->status) if the sequence left the grammar. */
int smol_grammar_filter_allows(void *user, int32_t token);

#endif
