/* test_sampler.c: src/gen: the sampler against hand-computed distributions (logits ln(1), ln(2),
 * ln(4) give p = 1/7, 2/7, 4/7 at temperature 1, and each option reshapes that in a known way),
 * the checked draw of the budget-aware finish, the per-token fast path of constrained steps
 * against the masked step (same tokens, chi-square against the masked softmax, the grammar
 * filter's per-token answer against its mask), the stop-string filter, and batched generation
 * against one-at-a-time generation. */
#include "check.h"
#include "smol.h"
#include "gen/sampler.h"
#include "gen/generate.h"
#include "gen/grammar.h"
#include "gen/schema.h"

static const float k_logits[3] = {0.0f, 0.69314718f, 1.38629436f};  /* ln 1, ln 2, ln 4 */

static smol_sampler_params plain(void) {
    smol_sampler_params p = smol_sampler_default_params();
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

/* Checks that p's distribution over k_logits (after the accepted tokens) is want[3]. */
static void expect_probs(const char *what, smol_sampler_params p, const int32_t *accepted, int n_acc,
                         const double want[3]) {
    smol_sampler *s = NULL;
    smol_error err = {0};
    REQUIRE(smol_sampler_new(&p, 3, &s, &err) == SMOL_OK, "%s: %s", what, err.msg);
    for (int i = 0; i < n_acc; i++) smol_sampler_accept(s, accepted[i]);
    float probs[3];
    int rc = smol_sampler_probs(s, k_logits, probs, &err);
    CHECK(rc == SMOL_OK, "%s: %s", what, err.msg);
    for (int i = 0; rc == SMOL_OK && i < 3; i++)
        CHECK(fabs(probs[i] - want[i]) < 1e-6, "%s: p[%d] = %.7f, want %.7f", what, i, probs[i], want[i]);
    smol_sampler_free(s);
}

static void test_temperature(void) {
    smol_sampler_params p = plain();
    expect_probs("t=1", p, NULL, 0, (double[]){1 / 7.0, 2 / 7.0, 4 / 7.0});
    p.temperature = 2.0f;  /* weights 1, sqrt 2, 2 */
    double z = 3 + sqrt(2.0);
    expect_probs("t=2", p, NULL, 0, (double[]){1 / z, sqrt(2.0) / z, 2 / z});
    p.temperature = 0.5f;  /* weights 1, 4, 16 */
    expect_probs("t=0.5", p, NULL, 0, (double[]){1 / 21.0, 4 / 21.0, 16 / 21.0});
    p.temperature = 0.0f;
    expect_probs("greedy", p, NULL, 0, (double[]){0, 0, 1});
}

static void test_top_k_top_p_min_p(void) {
    smol_sampler_params p = plain();
    p.top_k = 2;
    expect_probs("top_k=2", p, NULL, 0, (double[]){0, 1 / 3.0, 2 / 3.0});
    p.top_k = 1;
    expect_probs("top_k=1", p, NULL, 0, (double[]){0, 0, 1});
    p = plain();
    p.top_p = 0.5f;   /* 4/7 >= 0.5 alone */
    expect_probs("top_p=0.5", p, NULL, 0, (double[]){0, 0, 1});
    p.top_p = 0.6f;   /* 4/7 < 0.6 <= 6/7 */
    expect_probs("top_p=0.6", p, NULL, 0, (double[]){0, 1 / 3.0, 2 / 3.0});
    p.top_p = 0.95f;  /* 6/7 < 0.95: all three */
    expect_probs("top_p=0.95", p, NULL, 0, (double[]){1 / 7.0, 2 / 7.0, 4 / 7.0});
    p = plain();
    p.min_p = 0.4f;   /* floor 0.4 * 4/7 = 0.229: 2/7 stays, 1/7 goes */
    expect_probs("min_p=0.4", p, NULL, 0, (double[]){0, 1 / 3.0, 2 / 3.0});
    p.min_p = 0.2f;   /* floor 0.114: all stay */
    expect_probs("min_p=0.2", p, NULL, 0, (double[]){1 / 7.0, 2 / 7.0, 4 / 7.0});
}

static void test_penalties(void) {
    smol_sampler_params p = plain();
    p.repeat_penalty = 2.0f;  /* token 2: ln4 / 2 = ln2 -> weights 1, 2, 2 */
    expect_probs("repeat", p, (int32_t[]){2, 2}, 2, (double[]){0.2, 0.4, 0.4});
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.5f * 0.69314718f;  /* token 1 twice: ln2 - ln2 = 0 -> weights 1, 1, 4 */
    expect_probs("frequency", p, (int32_t[]){1, 1}, 2, (double[]){1 / 6.0, 1 / 6.0, 4 / 6.0});
    p.frequency_penalty = 0;
    p.presence_penalty = 0.69314718f;          /* once: token 2 -> ln2 -> weights 1, 2, 2 */
    expect_probs("presence", p, (int32_t[]){2, 2, 2}, 3, (double[]){0.2, 0.4, 0.4});
    p.presence_penalty = 0;
    p.repeat_penalty = 2.0f;
    p.penalty_last_n = 2;                      /* token 2 left the window; 0 stays 0, 1 -> ln2 / 2 */
    double z = 5 + sqrt(2.0);
    expect_probs("window", p, (int32_t[]){2, 0, 1}, 3, (double[]){1 / z, sqrt(2.0) / z, 4 / z});
}

static void test_bias_and_negative_penalty(void) {
    smol_sampler_params p = plain();
    smol_logit_bias b[2] = {{2, -INFINITY}, {0, -0.69314718f}};  /* ban 2; token 0 -> -ln2 */
    p.logit_bias = b;
    p.n_logit_bias = 2;
    expect_probs("bias", p, NULL, 0, (double[]){0.5 / 2.5, 2 / 2.5, 0});
    p.repeat_penalty = 2.0f;  /* token 0: -ln2 * 2 = -ln4 -> weights 0.25, 2 */
    expect_probs("bias+repeat", p, (int32_t[]){0}, 1, (double[]){0.25 / 2.25, 2 / 2.25, 0});
}

static int ban_two(void *user, uint8_t *mask, int n) {
    (*(int *)user)++;
    if (n > 2) mask[2] = 0;
    return 0;
}

static int ban_all(void *user, uint8_t *mask, int n) {
    (void)user;
    memset(mask, 0, (size_t)n);
    return 0;
}

static void test_filter(void) {
    int calls = 0;
    smol_sampler_params p = plain();
    p.filter = ban_two;
    p.filter_user = &calls;
    expect_probs("filter", p, NULL, 0, (double[]){1 / 3.0, 2 / 3.0, 0});
    CHECK(calls == 1, "filter called %d times", calls);
    p.temperature = 0;
    expect_probs("filter greedy", p, NULL, 0, (double[]){0, 1, 0});
    p.filter = ban_all;
    smol_sampler *s = NULL;
    smol_error err = {0};
    REQUIRE(smol_sampler_new(&p, 3, &s, &err) == SMOL_OK, "%s", err.msg);
    int32_t t;
    CHECK(smol_sampler_sample(s, k_logits, &t, &err) == SMOL_EINVAL && strstr(err.msg, "no token"), "ban all: %s", err.msg);
    smol_sampler_free(s);
}

/* A check refusing token *user (or, with *user < 0, every token but 0); counts its calls. */
typedef struct refuse {
    int token, calls;
} refuse;

static int refuse_check(void *user, int32_t t) {
    refuse *r = user;
    r->calls++;
    return r->token >= 0 ? t != r->token : t == 0;
}

static int refuse_every(void *user, int32_t t) {
    (void)user, (void)t;
    return 0;
}

/* smol_sampler_sample_checked: draws follow the distribution restricted to accepted tokens
 * (20,000 seeded draws against 1/3, 2/3 when token 2 of 1/7, 2/7, 4/7 is refused, and top-k=1
 * recomputed over what is left); greedy takes the best accepted token; without top-k every
 * candidate is checked once; a check refusing everything is ignored; refused tokens are not
 * recorded for the penalties. */
static void test_checked(void) {
    smol_error err = {0};
    smol_sampler_params p = plain();
    p.seed = 9;
    smol_sampler *s = NULL;
    REQUIRE(smol_sampler_new(&p, 3, &s, &err) == SMOL_OK, "%s", err.msg);
    refuse r = {2, 0};
    int count[3] = {0};
    for (int i = 0; i < 20000; i++) {
        int32_t t = -1;
        REQUIRE(smol_sampler_sample_checked(s, k_logits, refuse_check, &r, &t, &err) == SMOL_OK, "%s", err.msg);
        count[t]++;
    }
    CHECK(count[2] == 0 && fabs(count[0] / 20000.0 - 1 / 3.0) < 0.015 && fabs(count[1] / 20000.0 - 2 / 3.0) < 0.015,
          "refusing 2: counts %d %d %d, want about 6667 13333 0", count[0], count[1], count[2]);
    smol_sampler_free(s);

    p.top_k = 1;          /* truncation over the tokens left: always token 1 */
    REQUIRE(smol_sampler_new(&p, 3, &s, &err) == SMOL_OK, "%s", err.msg);
    for (int i = 0; i < 50; i++) {
        int32_t t = -1;
        smol_sampler_sample_checked(s, k_logits, refuse_check, &r, &t, &err);
        if (t != 1) {
            CHECK(0, "top-k 1 with token 2 refused drew %d", t);
            break;
        }
    }
    smol_sampler_free(s);

    enum { NV = 1000 };
    float logits[NV];
    for (int i = 0; i < NV; i++) logits[i] = (float)((i * 37) % 101) / 10.0f;   /* token 0 among the least likely */
    p = plain();
    REQUIRE(smol_sampler_new(&p, NV, &s, &err) == SMOL_OK, "%s", err.msg);
    refuse only0 = {-1, 0};
    int32_t t = -1;
    CHECK(smol_sampler_sample_checked(s, logits, refuse_check, &only0, &t, &err) == SMOL_OK && t == 0,
          "only token 0 accepted: drew %d (%s)", t, err.msg);
    CHECK(only0.calls >= NV && only0.calls <= NV + 10, "the sweep checked %d tokens for %d candidates", only0.calls, NV);
    CHECK(smol_sampler_sample_checked(s, logits, refuse_every, NULL, &t, &err) == SMOL_OK && t >= 0 && t < NV,
          "a check refusing everything is ignored: %d (%s)", t, err.msg);
    smol_sampler_free(s);

    p = plain();
    p.temperature = 0;
    p.presence_penalty = 100;
    REQUIRE(smol_sampler_new(&p, 3, &s, &err) == SMOL_OK, "%s", err.msg);
    r.calls = 0;
    CHECK(smol_sampler_sample_checked(s, k_logits, refuse_check, &r, &t, &err) == SMOL_OK && t == 1,
          "greedy with the best refused: %d", t);
    CHECK(smol_sampler_sample(s, k_logits, &t, &err) == SMOL_OK && t == 2,
          "the refused token was recorded for the penalties (next greedy pick %d, want 2)", t);
    smol_sampler_free(s);
}

static void test_seeded_draws(void) {
    smol_sampler_params p = plain();
    p.seed = 1234;
    smol_sampler *a = NULL, *b = NULL;
    smol_error err = {0};
    REQUIRE(smol_sampler_new(&p, 3, &a, &err) == SMOL_OK && smol_sampler_new(&p, 3, &b, &err) == SMOL_OK, "%s", err.msg);
    int hist[3] = {0}, n = 20000, same = 1;
    for (int i = 0; i < n; i++) {
        int32_t x, y;
        REQUIRE(smol_sampler_sample(a, k_logits, &x, &err) == SMOL_OK && smol_sampler_sample(b, k_logits, &y, &err) == SMOL_OK, "%s", err.msg);
        hist[x]++;
        same &= x == y;
    }
    CHECK(same, "two samplers with one seed disagree");
    for (int i = 0; i < 3; i++) {
        double want = (1 << i) / 7.0, got = (double)hist[i] / n;
        CHECK(fabs(got - want) < 0.015, "token %d drawn %.4f of the time, want %.4f", i, got, want);
    }
    smol_sampler_reset(a);
    int32_t first_a, first_b;
    smol_sampler_reset(b);
    smol_sampler_sample(a, k_logits, &first_a, &err);
    smol_sampler_sample(b, k_logits, &first_b, &err);
    CHECK(first_a == first_b, "reset streams differ");
    smol_sampler_free(a);
    smol_sampler_free(b);
}

static const float *g_keys;  /* for qsort below (test only) */
static int by_key_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (g_keys[x] != g_keys[y]) return g_keys[x] > g_keys[y] ? -1 : 1;
    return x - y;
}

/* top-k / top-p / min-p over 5000 random logits (with ties) against a direct computation:
 * qsort, keep k, softmax in double, nucleus, min-p floor, renormalise. */
static void test_random_vocab_against_direct(void) {
    enum { V = 5000 };
    static float logits[V], probs[V];
    static int ids[V];
    smol_rng r;
    smol_rng_seed(&r, 99);
    for (int i = 0; i < V; i++) logits[i] = (float)((int)(smol_rng_uniform(&r) * 400) / 40.0);  /* many ties */
    const struct { int k; float p, minp, t; } cases[] = {{50, 1, 0, 1}, {40, 0.95f, 0.05f, 0.8f}, {0, 0.9f, 0, 1.3f},
                                                         {1000, 0.99f, 0.01f, 0.7f}, {7, 1, 0.5f, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        smol_sampler_params p = plain();
        p.top_k = cases[c].k, p.top_p = cases[c].p, p.min_p = cases[c].minp, p.temperature = cases[c].t;
        smol_sampler *s = NULL;
        smol_error err = {0};
        REQUIRE(smol_sampler_new(&p, V, &s, &err) == SMOL_OK && smol_sampler_probs(s, logits, probs, &err) == SMOL_OK, "%s", err.msg);
        for (int i = 0; i < V; i++) ids[i] = i;
        g_keys = logits;
        qsort(ids, V, sizeof ids[0], by_key_desc);
        int n = cases[c].k ? cases[c].k : V;
        static double w[V];
        double sum = 0, cum = 0;
        for (int i = 0; i < n; i++) sum += w[i] = exp((double)(logits[ids[i]] / cases[c].t) - (double)(logits[ids[0]] / cases[c].t));
        int keep = n;
        for (int i = 0; i < n && cases[c].p < 1; i++)
            if ((cum += w[i] / sum) >= cases[c].p) { keep = i + 1; break; }
        int keep2 = 1;
        while (keep2 < keep && w[keep2] / sum >= cases[c].minp * (w[0] / sum)) keep2++;
        keep = cases[c].minp > 0 ? keep2 : keep;
        double z = 0;
        for (int i = 0; i < keep; i++) z += w[i];
        static double want[V];
        memset(want, 0, sizeof want);
        for (int i = 0; i < keep; i++) want[ids[i]] = w[i] / z;
        for (int i = 0; i < V; i++)
            if (fabs(probs[i] - want[i]) > 1e-5) {
                CHECK(0, "case %zu: p[%d] = %.7f, direct %.7f", c, i, probs[i], want[i]);
                break;
            }
        smol_sampler_free(s);
    }
}

/* The pcg32 reference demo: pcg32_srandom_r(42, 54) starts 0xa15c02b7 0x7b47f409 ... */
static void test_pcg32_vector(void) {
    smol_rng r;
    smol_rng_seed_stream(&r, 42, 54);
    const uint32_t want[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e};
    for (int i = 0; i < 6; i++) {
        uint32_t got = smol_rng_u32(&r);
        REQUIRE(got == want[i], "draw %d: 0x%08x, want 0x%08x", i, got, want[i]);
    }
    smol_rng_seed(&r, 7);
    for (int i = 0; i < 1000; i++) {
        double u = smol_rng_uniform(&r);
        REQUIRE(u >= 0 && u < 1, "uniform %g", u);
    }
}

static void test_bad_params(void) {
    smol_sampler *s = NULL;
    smol_error err = {0};
    smol_sampler_params p = plain();
    p.top_p = 0;
    CHECK(smol_sampler_new(&p, 3, &s, &err) == SMOL_EINVAL && strstr(err.msg, "top_p"), "%s", err.msg);
    p = plain();
    smol_logit_bias b = {7, 1.0f};
    p.logit_bias = &b;
    p.n_logit_bias = 1;
    CHECK(smol_sampler_new(&p, 3, &s, &err) == SMOL_EINVAL && strstr(err.msg, "token 7"), "%s", err.msg);
    CHECK(s == NULL, "sampler returned on error");
}

/* ---------------------------------------------------------------- stop strings */

typedef struct sink {
    char text[1024];
    size_t n;
    int calls;
} sink;

static int to_sink(void *user, int index, const char *text, size_t len) {
    (void)index;
    sink *k = user;
    if (k->n + len < sizeof k->text) memcpy(k->text + k->n, text, len), k->n += len;
    k->text[k->n] = 0;
    k->calls++;
    return 0;
}

/* Feeds pieces one by one; checks the emitted text and what had been emitted after each piece. */
static void stop_case(const char *const *stops, int n_stops, const char *const *pieces, const char *const *after,
                      const char *final, int stopped) {
    smol_stop_filter f;
    sink k = {0};
    smol_stop_init(&f, stops, n_stops);
    for (int i = 0; pieces[i]; i++) {
        smol_stop_push(&f, pieces[i], strlen(pieces[i]), to_sink, &k, 0);
        CHECK(strcmp(k.text, after[i]) == 0, "after piece %d ('%s'): emitted '%s', want '%s'", i, pieces[i], k.text, after[i]);
    }
    CHECK(f.stopped == stopped, "stopped %d, want %d", f.stopped, stopped);
    smol_stop_flush(&f, to_sink, &k, 0);
    CHECK(strcmp(k.text, final) == 0, "final '%s', want '%s'", k.text, final);
    smol_stop_free(&f);
}

static void test_stop_filter(void) {
    const char *stops[] = {"</s>", "User:"};
    /* "<" and "</" are held back until they cannot start "</s>" */
    stop_case(stops, 2, (const char *[]){"Hello", " <", "/", "x", NULL}, (const char *[]){"Hello", "Hello ", "Hello ", "Hello </x"},
              "Hello </x", 0);
    /* a completed stop string cuts the text before it, even split over pieces */
    stop_case(stops, 2, (const char *[]){"ok </", "s> more", NULL}, (const char *[]){"ok ", "ok "}, "ok ", 1);
    stop_case(stops, 2, (const char *[]){"a Us", "er: b", NULL}, (const char *[]){"a ", "a "}, "a ", 1);
    /* held text comes out at the end when no stop completes */
    stop_case(stops, 2, (const char *[]){"tail </", NULL}, (const char *[]){"tail "}, "tail </", 0);
    /* the earliest stop wins; nothing after it */
    stop_case(stops, 2, (const char *[]){"x User: y </s>", NULL}, (const char *[]){"x "}, "x ", 1);
    /* no stops: everything passes at once */
    stop_case(NULL, 0, (const char *[]){"abc", "<", NULL}, (const char *[]){"abc", "abc<"}, "abc<", 0);
    /* overlapping prefix: "aab" with stop "ab" */
    const char *ab[] = {"ab"};
    stop_case(ab, 1, (const char *[]){"a", "a", "b", NULL}, (const char *[]){"", "a", "a"}, "a", 1);
}

/* ---------------------------------------------------------------- batched generation */

typedef struct multi_sink {
    char text[4][2048];
    size_t n[4];
} multi_sink;

static int to_multi(void *user, int index, const char *text, size_t len) {
    multi_sink *k = user;
    if (k->n[index] + len < sizeof k->text[0]) memcpy(k->text[index] + k->n[index], text, len), k->n[index] += len;
    k->text[index][k->n[index]] = 0;
    return 0;
}

static void test_batch_matches_single(void) {
    smol_model *m = NULL;
    smol_tokenizer *tok = NULL;
    smol_ctx *c1 = NULL, *c3 = NULL;
    smol_error err = {0};
    const char *path = test_data("stories260K/stories260K.gguf");
    REQUIRE(smol_model_load(path, NULL, &m, &err) == SMOL_OK && smol_tokenizer_load(path, &tok, &err) == SMOL_OK, "%s",
            err.msg);
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = 256;
    cp.n_threads = 2;
    REQUIRE(smol_ctx_new(m, &cp, &c1, &err) == SMOL_OK, "%s", err.msg);
    cp.n_seq = 3;
    REQUIRE(smol_ctx_new(m, &cp, &c3, &err) == SMOL_OK, "%s", err.msg);
    const char *prompts[3] = {"", "Once upon a time", "The little dog"};
    smol_gen_params gp = smol_gen_default_params();
    gp.n_predict = 40;
    gp.sampling.temperature = 0.9f;   /* sampled, seed + index per sequence */
    gp.sampling.seed = 11;
    multi_sink batch = {0};
    smol_gen_result res[3];
    REQUIRE(smol_generate_batch(c3, tok, 3, prompts, &gp, to_multi, &batch, res, &err) == SMOL_OK, "%s", err.msg);
    for (int i = 0; i < 3; i++) {
        multi_sink one = {0};
        smol_gen_params g1 = gp;
        g1.sampling.seed = gp.sampling.seed + (uint64_t)i;
        smol_gen_result r1;
        REQUIRE(smol_generate(c1, tok, prompts[i], &g1, to_multi, &one, &r1, &err) == SMOL_OK, "%s", err.msg);
        CHECK(strcmp(one.text[0], batch.text[i]) == 0, "prompt %d: batched '%s' vs alone '%s'", i, batch.text[i], one.text[0]);
        CHECK(r1.n_gen == res[i].n_gen && r1.n_prompt == res[i].n_prompt, "prompt %d: %d/%d tokens vs %d/%d", i,
              res[i].n_prompt, res[i].n_gen, r1.n_prompt, r1.n_gen);
        CHECK(res[i].n_gen > 0, "prompt %d generated nothing", i);
    }
    smol_ctx_free(c1);
    smol_ctx_free(c3);
    smol_tokenizer_free(tok);
    smol_model_free(m);
}

static int only_eos(void *user, uint8_t *mask, int n) {
    (void)user;
    for (int t = 0; t < n; t++) mask[t] = t == 2;
    return 0;
}

static int stop_after_first(void *user, int index, const char *text, size_t len) {
    (void)index, (void)text, (void)len;
    return ++*(int *)user >= 1;
}

/* Generation ends on an end-of-generation token (stories260K: eos 2) and when the callback
 * asks; n_predict 0 generates nothing. */
static void test_generation_stops(void) {
    smol_model *m = NULL;
    smol_tokenizer *tok = NULL;
    smol_ctx *c = NULL;
    smol_error err = {0};
    const char *path = test_data("stories260K/stories260K.gguf");
    REQUIRE(smol_model_load(path, NULL, &m, &err) == SMOL_OK && smol_tokenizer_load(path, &tok, &err) == SMOL_OK &&
                smol_ctx_new(m, NULL, &c, &err) == SMOL_OK,
            "%s", err.msg);
    smol_gen_params gp = smol_gen_default_params();
    gp.sampling.filter = only_eos;
    smol_gen_result r;
    multi_sink k = {0};
    CHECK(smol_generate(c, tok, "Once", &gp, to_multi, &k, &r, &err) == SMOL_OK, "%s", err.msg);
    CHECK(r.stop_reason == SMOL_STOP_EOG && r.n_gen == 0 && k.n[0] == 0, "eos: reason %d, %d tokens, '%s'", r.stop_reason,
          r.n_gen, k.text[0]);
    gp = smol_gen_default_params();
    gp.sampling.temperature = 0;
    int calls = 0;
    CHECK(smol_generate(c, tok, "Once", &gp, stop_after_first, &calls, &r, &err) == SMOL_OK, "%s", err.msg);
    CHECK(r.stop_reason == SMOL_STOP_CALLBACK && r.n_gen == 1 && calls == 1, "callback: reason %d, %d tokens",
          r.stop_reason, r.n_gen);
    gp.n_predict = 0;
    CHECK(smol_generate(c, tok, "Once", &gp, to_multi, &k, &r, &err) == SMOL_OK && r.n_gen == 0 &&
              r.stop_reason == SMOL_STOP_LENGTH,
          "n_predict 0: %d tokens", r.n_gen);
    smol_ctx_free(c);
    smol_tokenizer_free(tok);
    smol_model_free(m);
}

/* ---------------------------------------------------------------- the per-token fast path */

/* A synthetic constraint for smol_sampler_sample_allowed: a per-step set of allowed tokens (the
 * filter) and a check refusing every seventh token, or every token on some steps. */
enum { SV = 3000 };
typedef struct synth {
    uint8_t allowed[SV];
    int check_all_refused;   /* this step's check refuses everything */
    int dense;               /* this step allows nearly every token */
    int calls, dense_calls;  /* filter calls (masks built), and those on dense steps */
    int with_check;          /* the reference filter folds the check in */
} synth;

static int synth_check(void *user, int32_t t) { return !((synth *)user)->check_all_refused && t % 7 != 0; }

/* The filter alone (for the sampler under test). */
static int synth_filter(void *user, uint8_t *mask, int n) {
    synth *y = user;
    y->calls++;
    y->dense_calls += y->dense;
    for (int t = 0; t < n; t++) mask[t] &= y->allowed[t];
    return 0;
}

/* The reference: the filter and the check as one mask (the filter alone where the check leaves
 * nothing). */
static int synth_filter_checked(void *user, uint8_t *mask, int n) {
    synth *y = user;
    int any = 0;
    for (int t = 0; t < n; t++) any |= y->allowed[t] && synth_check(y, t);
    for (int t = 0; t < n; t++) mask[t] &= y->allowed[t] && (!any || synth_check(y, t));
    return 0;
}

static int synth_allow(void *user, int32_t t) { return ((synth *)user)->allowed[t] && synth_check(user, t); }

/* Step i's constraint: runs of 25 steps allowing nearly all tokens alternate with runs cycling
 * through half the tokens, 0.5%, a single token, and half with a check that refuses everything
 * (then ignored). */
static int synth_kind(int i) { return (i / 25) % 2 ? 1 + i % 4 : 0; }

static void synth_step(synth *y, smol_rng *r, int i) {
    int kind = synth_kind(i);
    double keep = kind == 0 ? 0.99 : kind == 1 || kind == 4 ? 0.5 : 0.005;
    int one = kind == 3 ? (int)(smol_rng_uniform(r) * SV) : -1;
    for (int t = 0; t < SV; t++) y->allowed[t] = one >= 0 ? t == one : smol_rng_uniform(r) < keep;
    if (one < 0) y->allowed[(int)(smol_rng_uniform(r) * SV)] = 1;
    y->dense = kind == 0;
    y->check_all_refused = kind == 4;
}

/* With top-k (or greedy) the fast path takes the very token the masked step takes for the same
 * seed, step after step (random logits with ties, penalties and bias in play); with top-k 0 and
 * top-p or min-p it is the masked step. On runs of nearly unconstrained steps the mask is built
 * for fewer than half of them (only while the fast path backs off after a run of failures). */
static void test_allowed_same_as_masked(void) {
    static float logits[SV];
    smol_rng r;
    smol_rng_seed(&r, 5);
    for (int i = 0; i < SV; i++) logits[i] = (float)((int)(smol_rng_uniform(&r) * 300) / 30.0);
    smol_logit_bias bias[2] = {{17, 3.0f}, {2999, -INFINITY}};
    const struct { int k; float p, minp, t, rep; } cases[] = {
        {40, 0.95f, 0.05f, 0.8f, 1}, {5, 1, 0, 1, 1.3f}, {1, 1, 0, 1, 1}, {40, 0.95f, 0.05f, 0, 1}, {0, 0.9f, 0, 1, 1},
        {0, 1, 0.2f, 0.7f, 1}, {2000, 0.99f, 0, 1.5f, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        smol_sampler_params p = plain();
        p.top_k = cases[c].k, p.top_p = cases[c].p, p.min_p = cases[c].minp, p.temperature = cases[c].t;
        p.repeat_penalty = cases[c].rep, p.logit_bias = bias, p.n_logit_bias = 2, p.seed = 77 + c;
        synth y = {0};
        smol_sampler *ref = NULL, *fast = NULL;
        smol_error err = {0};
        p.filter = synth_filter_checked, p.filter_user = &y;
        REQUIRE(smol_sampler_new(&p, SV, &ref, &err) == SMOL_OK, "%s", err.msg);
        p.filter = synth_filter;
        REQUIRE(smol_sampler_new(&p, SV, &fast, &err) == SMOL_OK, "%s", err.msg);
        smol_rng steps;
        smol_rng_seed(&steps, 1000 + c);
        int n_steps = 250, dense_steps = 0;
        for (int i = 0; i < n_steps; i++) {
            synth_step(&y, &steps, i);
            dense_steps += y.dense;
            int32_t a = -1, b = -1;
            REQUIRE(smol_sampler_sample(ref, logits, &a, &err) == SMOL_OK, "case %zu step %d: %s", c, i, err.msg);
            REQUIRE(smol_sampler_sample_allowed(fast, logits, synth_allow, synth_check, &y, &b, &err) == SMOL_OK,
                    "case %zu step %d: %s", c, i, err.msg);
            if (a != b) {
                CHECK(0, "case %zu (top_k %d, top_p %g, min_p %g, t %g): step %d (kind %d) took %d, the masked step %d", c,
                      cases[c].k, cases[c].p, cases[c].minp, cases[c].t, i, synth_kind(i), b, a);
                break;
            }
        }
        if (cases[c].k > 0 && cases[c].k <= 40)
            CHECK(2 * y.dense_calls < dense_steps && y.calls < n_steps - dense_steps / 2,
                  "case %zu: masks built on %d of %d nearly unconstrained steps, %d in all", c, y.dense_calls, dense_steps,
                  y.calls);
        smol_sampler_free(ref);
        smol_sampler_free(fast);
    }
}

/* The masked distribution over logits[0..n) for the allowed tokens, computed directly: sort,
 * top-k, softmax (double), top-p, min-p, renormalise. */
static void masked_distribution(const float *logits, const uint8_t *allowed, int n, smol_sampler_params p, double *want) {
    int ids[16], m = 0;
    for (int t = 0; t < n; t++)
        if (allowed[t]) ids[m++] = t;
    for (int i = 1; i < m; i++)   /* insertion sort: higher logit first, ties by lower id */
        for (int j = i; j > 0 && logits[ids[j]] > logits[ids[j - 1]]; j--) {
            int x = ids[j];
            ids[j] = ids[j - 1], ids[j - 1] = x;
        }
    if (p.top_k > 0 && p.top_k < m) m = p.top_k;
    double w[16] = {0}, sum = 0, cum = 0;
    for (int i = 0; i < m; i++) sum += w[i] = exp((logits[ids[i]] - logits[ids[0]]) / p.temperature);
    int keep = m;
    for (int i = 0; i < m && p.top_p < 1; i++)
        if ((cum += w[i] / sum) >= p.top_p) {
            keep = i + 1;
            break;
        }
    int k2 = 1;
    while (p.min_p > 0 && k2 < keep && w[k2] >= p.min_p * w[0]) k2++;
    if (p.min_p > 0) keep = k2;
    double z = 0;
    for (int i = 0; i < keep; i++) z += w[i];
    memset(want, 0, (size_t)n * sizeof *want);
    for (int i = 0; i < keep; i++) want[ids[i]] = w[i] / z;
}

static int allow_table(void *user, int32_t t) { return ((const uint8_t *)user)[t]; }

static int filter_table(void *user, uint8_t *mask, int n) {
    for (int t = 0; t < n; t++) mask[t] &= ((const uint8_t *)user)[t];
    return 0;
}

/* 40,000 draws from 10 fixed logits with 6 tokens allowed against the renormalised masked
 * softmax, by a chi-square test (bound: the 0.1% point for the degrees of freedom), through
 * smol_sampler_sample_allowed (the plain settings go through rejection sampling, the others
 * through the ranked walk) and through the masked step (smol_sampler_sample with the filter).
 * A token outside the masked distribution fails at once. */
static void test_allowed_chi_square(void) {
    enum { N = 10, DRAWS = 40000 };
    static const float logits[N] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f, 0.3f, 1.2f, 3.0f, -0.4f};
    static uint8_t allowed[N] = {1, 0, 1, 1, 0, 1, 1, 0, 0, 1};   /* the two best tokens are not allowed */
    static const double chi2_999[N] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88};
    const struct { int k; float p, minp, t; } cases[] = {{0, 1, 0, 1}, {3, 1, 0, 1}, {4, 0.8f, 0, 0.7f}, {0, 1, 0, 2.0f},
                                                         {5, 1, 0.3f, 1}};
    for (size_t c = 0; c < 2 * sizeof cases / sizeof cases[0]; c++) {
        size_t k = c / 2;
        int fast = c % 2 == 0;
        smol_sampler_params p = plain();
        p.top_k = cases[k].k, p.top_p = cases[k].p, p.min_p = cases[k].minp, p.temperature = cases[k].t;
        p.seed = 3 + c, p.filter = filter_table, p.filter_user = allowed;
        double want[N];
        masked_distribution(logits, allowed, N, p, want);
        smol_sampler *s = NULL;
        smol_error err = {0};
        REQUIRE(smol_sampler_new(&p, N, &s, &err) == SMOL_OK, "%s", err.msg);
        int count[N] = {0}, bad = -1;
        for (int i = 0; i < DRAWS && bad < 0; i++) {
            int32_t t = -1;
            int rc = fast ? smol_sampler_sample_allowed(s, logits, allow_table, NULL, allowed, &t, &err)
                          : smol_sampler_sample(s, logits, &t, &err);
            REQUIRE(rc == SMOL_OK, "%s", err.msg);
            count[t]++;
            if (want[t] == 0) bad = t;
        }
        CHECK(bad < 0, "case %zu (%s): drew token %d, outside the masked distribution", k, fast ? "fast" : "masked", bad);
        double chi2 = 0;
        int dof = -1;
        for (int t = 0; t < N; t++)
            if (want[t] > 0) {
                double e = want[t] * DRAWS;
                chi2 += (count[t] - e) * (count[t] - e) / e;
                dof++;
            }
        CHECK(dof > 0 && chi2 < chi2_999[dof], "case %zu (%s): chi-square %.2f over %d degrees of freedom (bound %.2f)", k,
              fast ? "fast" : "masked", chi2, dof, chi2_999[dof > 0 ? dof : 0]);
        smol_sampler_free(s);
    }
}

/* smol_grammar_filter_allows agrees with smol_grammar_filter_apply's mask and
 * smol_grammar_filter_fits on every token, step after step of a generation under a JSON Schema
 * with a tight budget (stories260K, 512 tokens; the token taken each step is a seeded pick among
 * the allowed ones), so the fast path sees the constraint the masked step sees. */
static void test_grammar_allows_matches_mask(void) {
    smol_model *m = NULL;
    smol_tokenizer *tok = NULL;
    smol_ctx *c = NULL;
    smol_token_index *ti = NULL;
    smol_grammar *g = NULL;
    smol_matcher *mt = NULL;
    smol_grammar_filter f;
    smol_error err = {0};
    const char *path = test_data("stories260K/stories260K.gguf");
    static const char schema[] = "{\"type\": \"object\", \"required\": [\"name\", \"tags\"], \"properties\": {\"name\": "
                                 "{\"type\": \"string\"}, \"n\": {\"type\": \"integer\"}, \"tags\": {\"type\": \"array\", "
                                 "\"items\": {\"enum\": [\"a\", \"bc\", \"def\"]}}}}";
    char *gbnf = NULL;
    REQUIRE(smol_model_load(path, NULL, &m, &err) == SMOL_OK && smol_tokenizer_load(path, &tok, &err) == SMOL_OK &&
                smol_ctx_new(m, NULL, &c, &err) == SMOL_OK && smol_token_index_new(tok, &ti, &err) == SMOL_OK &&
                smol_schema_to_gbnf(schema, strlen(schema), 0, &gbnf, &err) == SMOL_OK &&
                smol_grammar_from_gbnf(gbnf, strlen(gbnf), NULL, &g, &err) == SMOL_OK &&
                smol_matcher_new(g, ti, &mt, &err) == SMOL_OK && smol_grammar_filter_init(&f, mt, c, 0, &err) == SMOL_OK,
            "%s", err.msg);
    int32_t bos = 1;
    REQUIRE(smol_eval(c, 0, &bos, 1, NULL, &err) == SMOL_OK, "%s", err.msg);
    f.n_predict = 40;
    int nv = smol_model_get_info(m)->n_vocab, compared = 0;
    uint8_t *mask = malloc((size_t)nv);
    smol_rng r;
    smol_rng_seed(&r, 21);
    for (int step = 0; step < 40 && !smol_matcher_is_done(mt); step++) {
        memset(mask, 1, (size_t)nv);
        REQUIRE(smol_grammar_filter_apply(&f, mask, nv) == 0, "step %d: filter failed", step);
        int n_ok = 0, diff = -1;
        for (int t = 0; t < nv && diff < 0; t++) {
            int want = mask[t] && smol_grammar_filter_fits(&f, t), got = smol_grammar_filter_allows(&f, t);
            if (got != want) diff = t;
            n_ok += want;
        }
        compared += nv;
        if (diff >= 0) {
            CHECK(0, "step %d: token %d: allows says %d, mask %d and fits %d", step, diff, smol_grammar_filter_allows(&f, diff),
                  mask[diff], smol_grammar_filter_fits(&f, diff));
            break;
        }
        REQUIRE(n_ok > 0, "step %d: nothing fits", step);
        int32_t t = (int32_t)(smol_rng_uniform(&r) * nv);
        while (!(mask[t] && smol_grammar_filter_fits(&f, t))) t = (t + 1) % nv;
        REQUIRE(smol_eval(c, 0, &t, 1, NULL, &err) == SMOL_OK, "%s", err.msg);
    }
    CHECK(compared >= 10 * nv, "only %d steps compared", compared / nv);
    free(mask);
    free(gbnf);
    smol_grammar_filter_free(&f);
    smol_matcher_free(mt);
    smol_grammar_free(g);
    smol_token_index_free(ti);
    smol_ctx_free(c);
    smol_tokenizer_free(tok);
    smol_model_free(m);
}

int main(void) {
    RUN(test_temperature);
    RUN(test_top_k_top_p_min_p);
    RUN(test_penalties);
    RUN(test_bias_and_negative_penalty);
    RUN(test_filter);
    RUN(test_checked);
    RUN(test_seeded_draws);
    RUN(test_pcg32_vector);
    RUN(test_random_vocab_against_direct);
    RUN(test_bad_params);
    RUN(test_stop_filter);
    RUN(test_batch_matches_single);
    RUN(test_generation_stops);
    RUN(test_allowed_same_as_masked);
    RUN(test_allowed_chi_square);
    RUN(test_grammar_allows_matches_mask);
    return check_done();
}
