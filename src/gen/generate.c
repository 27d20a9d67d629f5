/* generate.c: prompt -> tokens -> model -> sampler -> text, for one prompt or a batch decoded
 * together (one token per live sequence per step, via smol_eval_multi). Text is streamed
 * through the UTF-8-safe token decoder and the stop-string filter to a callback. */
#include "gen/generate.h"
#include "gen/grammar.h"
#include "gen/sampler.h"
#include "base/error.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- stop strings */

void smol_stop_init(smol_stop_filter *f, const char *const *stops, int n_stops) {
    memset(f, 0, sizeof *f);
    f->stops = stops;
    f->n_stops = stops ? n_stops : 0;
}

void smol_stop_free(smol_stop_filter *f) {
    free(f->held);
    f->held = NULL;
    f->n_held = f->cap = 0;
}

/* The length of the longest tail of s[0..n) that is a proper prefix of some stop string. */
static size_t partial_tail(const smol_stop_filter *f, const char *s, size_t n) {
    size_t best = 0;
    for (int i = 0; i < f->n_stops; i++) {
        size_t sl = strlen(f->stops[i]);
        for (size_t k = sl > n + 1 ? n : sl - 1; k > best; k--)
            if (memcmp(s + n - k, f->stops[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

int smol_stop_push(smol_stop_filter *f, const char *text, size_t len, smol_text_fn emit, void *user, int index) {
    if (f->stopped || len == 0) return 0;
    if (f->n_held + len > f->cap) {
        size_t cap = f->cap ? f->cap : 64;
        while (cap < f->n_held + len) cap *= 2;
        char *p = realloc(f->held, cap);
        if (!p) return SMOL_ENOMEM;
        f->held = p;
        f->cap = cap;
    }
    memcpy(f->held + f->n_held, text, len);
    f->n_held += len;
    size_t first = SIZE_MAX;
    for (int i = 0; i < f->n_stops; i++) {
        size_t sl = strlen(f->stops[i]);
        if (sl == 0 || sl > f->n_held) continue;
        for (size_t p = 0; p + sl <= f->n_held && p < first; p++)
            if (memcmp(f->held + p, f->stops[i], sl) == 0) {
                first = p;
                break;
            }
    }
    if (first != SIZE_MAX) {
        f->stopped = 1;
        int rc = first ? emit(user, index, f->held, first) : 0;
        f->n_held = 0;
        return rc;
    }
    size_t keep = partial_tail(f, f->held, f->n_held), out = f->n_held - keep;
    int rc = out ? emit(user, index, f->held, out) : 0;
    memmove(f->held, f->held + out, keep);
    f->n_held = keep;
    return rc;
}

int smol_stop_flush(smol_stop_filter *f, smol_text_fn emit, void *user, int index) {
    int rc = f->n_held && !f->stopped ? emit(user, index, f->held, f->n_held) : 0;
    f->n_held = 0;
    return rc;
}

/* ---------------------------------------------------------------- one sequence */

typedef struct gen_seq {
    smol_tokens prompt;
    smol_sampler *sampler;
    smol_detok_stream detok;
    smol_stop_filter stop;
    smol_grammar_filter *grammar;  /* the sequence's grammar filter, or NULL */
    int32_t next;          /* the token to feed at the next step */
    int live;
    smol_gen_result *res;
} gen_seq;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

smol_gen_params smol_gen_default_params(void) {
    smol_gen_params p = {.n_predict = 128, .sampling = smol_sampler_default_params(), .parse_special = true,
                         .budget_finish = true};
    return p;
}

/* Tokenizes prompt i into s->prompt: BOS first when the tokenizer adds one, BOS alone when
 * the prompt is empty. */
static int tokenize_prompt(const smol_tokenizer *tok, const smol_model_info *info, const char *prompt,
                           const smol_gen_params *p, gen_seq *s, smol_error *err) {
    unsigned flags = SMOL_TOKENIZE_ADD_SPECIAL | (p->parse_special ? SMOL_TOKENIZE_PARSE_SPECIAL : 0);
    size_t len = prompt ? strlen(prompt) : 0;
    int rc = len ? smol_tokenize(tok, prompt, len, flags, &s->prompt, err) : SMOL_OK;
    if (rc) return rc;
    int32_t bos = smol_token_bos(tok) >= 0 ? smol_token_bos(tok) : info->bos_id;
    if (s->prompt.n >= 2 && bos >= 0 && s->prompt.ids[0] == bos && s->prompt.ids[1] == bos) {
        memmove(s->prompt.ids, s->prompt.ids + 1, (s->prompt.n - 1) * sizeof(int32_t));  /* the text had BOS too */
        s->prompt.n--;
    }
    if (s->prompt.n > 0) return SMOL_OK;
    if (bos < 0) return smol_fail(err, SMOL_EINVAL, "empty prompt and the model has no BOS token to start from");
    free(s->prompt.ids);
    s->prompt.ids = malloc(sizeof(int32_t));
    if (!s->prompt.ids) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    s->prompt.ids[0] = bos;
    s->prompt.n = s->prompt.cap = 1;
    return SMOL_OK;
}

static int is_end(const smol_tokenizer *tok, const smol_model_info *info, int32_t t) {
    if (smol_token_is_eog(tok, t)) return 1;
    for (int i = 0; i < info->n_eog; i++)
        if (info->eog_ids[i] == t) return 1;
    return t == smol_token_bos(tok) || t == info->bos_id;  /* a new document starts: this one ended */
}

/* Ends sequence s with reason; flushes its held text. */
static int finish(gen_seq *s, int reason, smol_text_fn on_text, void *user, int index) {
    s->live = 0;
    s->res->stop_reason = reason;
    char buf[8];
    int n = smol_detok_stream_flush(&s->detok, buf, sizeof buf), rc = 0;
    if (n > 0 && on_text) rc = smol_stop_push(&s->stop, buf, (size_t)n, on_text, user, index);
    if (!rc && on_text) rc = smol_stop_flush(&s->stop, on_text, user, index);
    return rc < 0 ? rc : 0;
}

/* Samples sequence i's next token and streams its text; ends the sequence when due. */
static int step_seq(smol_ctx *c, const smol_tokenizer *tok, const smol_gen_params *p, gen_seq *s, int i,
                    smol_text_fn on_text, void *user, smol_error *err) {
    const smol_model_info *info = smol_model_get_info(smol_ctx_model(c));
    int32_t t;
    smol_grammar_filter *g = s->grammar;   /* asked token by token; its mask only when that does not settle the step */
    int rc = smol_sampler_sample_allowed(s->sampler, smol_get_logits(c, i), g ? smol_grammar_filter_allows : NULL,
                                         g && g->finish ? smol_grammar_filter_fits : NULL, g, &t, err);
    if (rc) return rc;
    if (!p->ignore_eog && is_end(tok, info, t)) return finish(s, SMOL_STOP_EOG, on_text, user, i);
    s->res->n_gen++;
    char buf[256];
    int n = smol_detok_stream_push(&s->detok, t, buf, sizeof buf);
    int stop = 0;
    if (n > 0 && on_text) stop = smol_stop_push(&s->stop, buf, (size_t)n, on_text, user, i);
    if (stop == SMOL_ENOMEM) return smol_fail(err, stop, "out of memory");
    if (s->stop.stopped) return finish(s, SMOL_STOP_STRING, on_text, user, i);
    if (stop) return finish(s, SMOL_STOP_CALLBACK, NULL, user, i);
    if (p->n_predict >= 0 && s->res->n_gen >= p->n_predict) return finish(s, SMOL_STOP_LENGTH, on_text, user, i);
    if (smol_seq_len(c, i) >= smol_ctx_n_ctx(c)) return finish(s, SMOL_STOP_CONTEXT, on_text, user, i);
    s->next = t;
    return SMOL_OK;
}

/* Gives sequence i's grammar filter (when the sampler's filter is smol_grammar_filter_apply) its
 * token budget; SMOL_ERANGE if the constraint's shortest completion does not fit in it. */
static int setup_budget(const smol_gen_params *p, const smol_sampler_params *sp, gen_seq *s, int i, smol_error *err) {
    if (sp->filter != smol_grammar_filter_apply || !sp->filter_user) return SMOL_OK;
    smol_grammar_filter *f = sp->filter_user;
    f->finish = p->budget_finish;
    s->grammar = f;
    if (!p->budget_finish) return SMOL_OK;
    f->n_predict = p->n_predict;
    int32_t need = smol_matcher_min_bytes(f->m);
    int left = smol_grammar_filter_remaining(f);
    if (need <= left) return SMOL_OK;
    if (need == INT32_MAX) return smol_fail(err, SMOL_EINVAL, "sequence %d: the constraint cannot be completed from here", i);
    if (p->n_predict >= 0 && p->n_predict == left)
        return smol_fail(err, SMOL_ERANGE,
                         "the constraint needs up to %d tokens (its shortest output is %d bytes, and a token may be a "
                         "single byte); -n is %d: raise it",
                         (int)need, (int)need, p->n_predict);
    return smol_fail(err, SMOL_ERANGE,
                     "the constraint needs up to %d tokens (its shortest output is %d bytes); the context leaves room "
                     "for %d after the prompt: raise --ctx",
                     (int)need, (int)need, left);
}

/* Sets up sequence i and runs its prompt through the model. */
static int start_seq(smol_ctx *c, const smol_tokenizer *tok, const char *prompt, const smol_gen_params *p, gen_seq *s,
                     int i, smol_error *err) {
    const smol_model_info *info = smol_model_get_info(smol_ctx_model(c));
    smol_sampler_params sp = p->sampling;
    sp.seed += (uint64_t)i;
    if (p->filter_users) sp.filter_user = p->filter_users[i];
    int rc = smol_sampler_new(&sp, info->n_vocab, &s->sampler, err);
    if (!rc) rc = tokenize_prompt(tok, info, prompt, p, s, err);
    if (rc) return rc;
    /* SentencePiece drops the first token's leading space only at the start of the text */
    int at_start = s->prompt.n == 1 && s->prompt.ids[0] == smol_token_bos(tok);
    smol_detok_stream_init(&s->detok, tok, at_start ? 0 : SMOL_DETOKENIZE_KEEP_SPACE);
    smol_stop_init(&s->stop, p->stop, p->n_stop);
    if (s->prompt.n > (size_t)smol_ctx_n_ctx(c))
        return smol_fail(err, SMOL_ERANGE, "the prompt has %zu tokens; the context holds %d (raise --ctx)", s->prompt.n,
                         smol_ctx_n_ctx(c));
    /* keep what the sequence already holds of this prompt; the last token is always re-run */
    const int32_t *held;
    int n_held = smol_seq_tokens(c, i, &held), keep = 0;
    while (keep < n_held && (size_t)keep + 1 < s->prompt.n && held[keep] == s->prompt.ids[keep]) keep++;
    smol_seq_truncate(c, i, keep);
    for (size_t k = 0; k < s->prompt.n; k++) smol_sampler_accept(s->sampler, s->prompt.ids[k]);
    double t0 = now_ms();
    rc = smol_eval(c, i, s->prompt.ids + keep, (int)s->prompt.n - keep, NULL, err);
    s->res->n_prompt = (int)s->prompt.n;
    s->res->n_reused = keep;
    s->res->prompt_ms = now_ms() - t0;
    s->live = 1;
    return rc ? rc : setup_budget(p, &sp, s, i, err);
}

/* ---------------------------------------------------------------- public */

int smol_generate_batch(smol_ctx *c, const smol_tokenizer *tok, int n, const char *const *prompts,
                        const smol_gen_params *params, smol_text_fn on_text, void *user, smol_gen_result *res,
                        smol_error *err) {
    smol_gen_params p = params ? *params : smol_gen_default_params();
    if (n <= 0 || n > smol_ctx_n_seq(c))
        return smol_fail(err, SMOL_EINVAL, "%d prompts for a context of %d sequences", n, smol_ctx_n_seq(c));
    gen_seq *seqs = calloc((size_t)n, sizeof *seqs);
    smol_gen_result *own = res ? NULL : calloc((size_t)n, sizeof *own);
    int32_t *toks = malloc((size_t)n * sizeof *toks);
    int *ids = malloc((size_t)n * sizeof *ids), rc = SMOL_OK;
    if (!seqs || (!res && !own) || !toks || !ids) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) {
        seqs[i].res = res ? &res[i] : &own[i];
        memset(seqs[i].res, 0, sizeof *seqs[i].res);
        rc = start_seq(c, tok, prompts[i], &p, &seqs[i], i, err);
        if (!rc && p.n_predict == 0) rc = finish(&seqs[i], SMOL_STOP_LENGTH, on_text, user, i);
        else if (!rc) rc = step_seq(c, tok, &p, &seqs[i], i, on_text, user, err);
    }
    double t0 = now_ms();
    while (!rc) {
        int live = 0;
        for (int i = 0; i < n; i++)
            if (seqs[i].live) ids[live] = i, toks[live++] = seqs[i].next;
        if (!live) break;
        rc = smol_eval_multi(c, live, ids, toks, err);
        for (int k = 0; !rc && k < live; k++) rc = step_seq(c, tok, &p, &seqs[ids[k]], ids[k], on_text, user, err);
    }
    double gen_ms = now_ms() - t0;
    for (int i = 0; seqs && i < n; i++) {
        if (seqs[i].res) seqs[i].res->gen_ms = gen_ms;
        smol_sampler_free(seqs[i].sampler);
        smol_stop_free(&seqs[i].stop);
        free(seqs[i].prompt.ids);
    }
    free(seqs), free(own), free(toks), free(ids);
    return rc;
}

int smol_generate(smol_ctx *c, const smol_tokenizer *tok, const char *prompt, const smol_gen_params *params,
                  smol_text_fn on_text, void *user, smol_gen_result *res, smol_error *err) {
    return smol_generate_batch(c, tok, 1, &prompt, params, on_text, user, res, err);
}
