/* test_transformer.c: the forward pass against independent oracles: llama.cpp's logits for
 * stories260K, Hugging Face transformers' logits for tiny Llama / Llama-3.2 / Qwen2 models, and
 * a float64 numpy forward (tests/ref/llama_ref.py); quantized weights against their
 * dequantized f32 twins; KV cache and context-limit errors. */
#include "check.h"
#include "compare.h"
#include "smol.h"
#include "model/model.h"
#include "model/transformer.h"
#include "model/dtype.h"
#include "model/hfconfig.h"
#include <stdint.h>
#include <cjson/cJSON.h>

#define STORIES "stories260K/stories260K.gguf"

/* Reads a whole file into a malloc'd buffer. */



static smol_model *load(const char *path, uint32_t wtype) {
    smol_model *m = NULL;
    smol_error err = {0};
    smol_model_params mp = smol_model_default_params();
    mp.weight_type = wtype;
    int rc = smol_model_load(path, &mp, &m, &err);
    CHECK(rc == SMOL_OK, "load %s: %s", path, err.msg);
    return m;
}

static smol_ctx *new_ctx_b(const smol_model *m, uint32_t kv_type, int n_seq, int n_ctx, int threads, int n_batch) {
    smol_ctx *c = NULL;
    smol_error err = {0};
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_batch = n_batch;
    cp.kv_type = kv_type;
    cp.n_seq = n_seq;
    cp.n_ctx = n_ctx;
    cp.n_threads = threads;
    int rc = smol_ctx_new(m, &cp, &c, &err);
    CHECK(rc == SMOL_OK, "ctx: %s", err.msg);
    return c;
}

static smol_ctx *new_ctx(const smol_model *m, uint32_t kv_type, int n_seq, int n_ctx, int threads) {
    return new_ctx_b(m, kv_type, n_seq, n_ctx, threads, 256);
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

/* ---------------------------------------------------------------- Hugging Face goldens */

typedef struct hf_golden {
    int32_t ids[64], prompt[16], greedy[64];
    int n_ids, n_prompt, n_greedy;
    float *logits;      /* [n_ids][n_vocab] */
    int n_vocab;
} hf_golden;

static int json_ids(const cJSON *root, const char *key, int32_t *out, int max) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    int n = 0;
    for (const cJSON *e = a ? a->child : NULL; e && n < max; e = e->next) out[n++] = (int32_t)e->valuedouble;
    return n;
}

/* Reads DIR/golden.json and the logits file named logits_key in it. */
static int read_hf_golden(const char *dir, const char *logits_key, hf_golden *g) {
    char path[4096], *text = NULL;
    size_t size;
    snprintf(path, sizeof path, "%s/golden.json", dir);
    memset(g, 0, sizeof *g);
    if (test_read_file(path, &text, &size)) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return -1;
    g->n_ids = json_ids(root, "input_ids", g->ids, 64);
    g->n_prompt = json_ids(root, "greedy_prompt_ids", g->prompt, 16);
    g->n_greedy = json_ids(root, "greedy_new_ids", g->greedy, 64);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(root, "logits_shape");
    const cJSON *lf = cJSON_GetObjectItemCaseSensitive(root, logits_key);
    g->n_vocab = shape && cJSON_GetArraySize(shape) == 2 ? cJSON_GetArrayItem(shape, 1)->valueint : 0;
    snprintf(path, sizeof path, "%s/%s", dir, cJSON_IsString(lf) ? lf->valuestring : "?");
    cJSON_Delete(root);
    if (test_read_file(path, &text, &size) || size != (size_t)g->n_ids * g->n_vocab * 4) {
        free(text);
        return -1;
    }
    g->logits = (float *)text;
    return 0;
}

/* All-position logits within 1e-4 of max|logit| per position, and the greedy continuation. */
static void check_hf_model(const char *name, const char *model_dir, const char *logits_key, int n_batch) {
    hf_golden g;
    char dir[2048];
    snprintf(dir, sizeof dir, "%s", test_data(name));
    REQUIRE(read_hf_golden(dir, logits_key, &g) == 0 && g.n_ids == 48 && g.n_greedy == 32, "%s: golden unreadable", dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, model_dir);
    smol_model *m = load(path, SMOL_WEIGHTS_AS_STORED);
    if (!m) {
        free(g.logits);
        return;
    }
    CHECK(smol_model_get_info(m)->n_vocab == g.n_vocab, "%s: vocab %d, golden %d", name, smol_model_get_info(m)->n_vocab, g.n_vocab);
    smol_ctx *c = new_ctx_b(m, SMOL_F32, 1, 0, 2, n_batch);
    float *out = malloc((size_t)g.n_ids * g.n_vocab * sizeof(float));
    smol_error err = {0};
    int rc = c && out ? smol_eval(c, 0, g.ids, g.n_ids, out, &err) : -1;
    CHECK(rc == SMOL_OK, "%s: eval: %s", name, err.msg);
    double worst = 0;
    for (int p = 0; rc == SMOL_OK && p < g.n_ids; p++) {
        int at;
        const float *want = g.logits + (size_t)p * g.n_vocab, *got = out + (size_t)p * g.n_vocab;
        double d = rel_diff(got, want, g.n_vocab, &at);
        if (d > worst) worst = d;
        if (d > 1e-4) {
            CHECK(d <= 1e-4, "%s %s: position %d token %d: logit[%d] = %.7f, transformers %.7f (rel %.3g)", name, model_dir,
                  p, g.ids[p], at, got[at], want[at], d);
            break;
        }
    }
    smol_seq_truncate(c, 0, 0);
    int32_t tok[64];
    memcpy(tok, g.prompt, sizeof(int32_t) * (size_t)g.n_prompt);
    rc = smol_eval(c, 0, tok, g.n_prompt, NULL, &err);
    for (int i = 0; rc == SMOL_OK && i < g.n_greedy; i++) {
        int32_t next = argmax(smol_get_logits(c, 0), g.n_vocab);
        if (next != g.greedy[i]) {
            CHECK(next == g.greedy[i], "%s: greedy token %d: %d, transformers %d", name, i, next, g.greedy[i]);
            break;
        }
        rc = smol_eval(c, 0, &next, 1, NULL, &err);
    }
    CHECK(rc == SMOL_OK, "%s: %s", name, err.msg);
    printf("# %s/%s vs transformers: worst relative logit difference %.3g\n", name, model_dir, worst);
    free(out);
    free(g.logits);
    smol_ctx_free(c);
    smol_model_free(m);
}

static void test_hf_smollm2_tiny(void) { check_hf_model("hf-golden/smollm2-tiny", "model", "logits_file", 256); }
static void test_hf_smollm2_tiny_bf16_sharded(void) {
    check_hf_model("hf-golden/smollm2-tiny", "model-bf16-sharded", "bf16_logits_file", 256);
}
static void test_hf_llama32_tiny(void) { check_hf_model("hf-golden/llama32-tiny", "model", "logits_file", 7); }
static void test_hf_qwen2_tiny(void) { check_hf_model("hf-golden/qwen2-tiny", "model", "logits_file", 256); }

/* ---------------------------------------------------------------- quantized weights */

/* Logits [n][n_vocab] of ids for the model at path with its weights converted to t
 * (back_to_f32: the dequantized twin). */
static float *run_converted(const char *path, uint32_t t, int back, const int32_t *ids, int n) {
    smol_model *m = load(path, SMOL_WEIGHTS_AS_STORED);
    if (!m) return NULL;
    smol_error err = {0};
    float *out = NULL;
    int rc = smol_model_convert_weights(m, t, back, &err);
    CHECK(rc == SMOL_OK, "convert to %s: %s", smol_dtype_name(t), err.msg);
    smol_ctx *c = rc ? NULL : new_ctx(m, SMOL_F32, 1, 64, 2);
    if (c) {
        out = malloc((size_t)n * smol_model_get_info(m)->n_vocab * sizeof(float));
        rc = smol_eval(c, 0, ids, n, out, &err);
        CHECK(rc == SMOL_OK, "eval %s: %s", smol_dtype_name(t), err.msg);
    }
    smol_ctx_free(c);
    smol_model_free(m);
    return out;
}

/* A quantized model against its dequantized f32 twin: the only difference left is the
 * quantization of the activations (q8_0 / q8_K) inside the dot products. */
static void test_quantized_vs_dequantized(void) {
    static const struct { uint32_t type; double tol; } cases[] = {
        {SMOL_F16, 1e-5}, {SMOL_Q8_0, 3e-2}, {SMOL_Q4_0, 3e-2}, {SMOL_Q4_K, 3e-2}, {SMOL_Q6_K, 3e-2}};
    hf_golden g;
    char dir[2048], path[4096];
    snprintf(dir, sizeof dir, "%s", test_data("hf-golden/llama32-tiny"));
    snprintf(path, sizeof path, "%s/model", dir);
    REQUIRE(read_hf_golden(dir, "logits_file", &g) == 0, "golden unreadable");
    int n = 12;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        float *q = run_converted(path, cases[k].type, 0, g.ids, n), *d = run_converted(path, cases[k].type, 1, g.ids, n);
        double worst = 0;
        for (int p = 0; q && d && p < n; p++) {
            int at;
            double r = rel_diff(q + (size_t)p * g.n_vocab, d + (size_t)p * g.n_vocab, g.n_vocab, &at);
            if (r > worst) worst = r;
            if (r > cases[k].tol) {
                CHECK(r <= cases[k].tol, "%s: position %d: logit[%d] %.6f vs dequantized %.6f (rel %.3g > %.3g)",
                      smol_dtype_name(cases[k].type), p, at, q[(size_t)p * g.n_vocab + at], d[(size_t)p * g.n_vocab + at],
                      r, cases[k].tol);
                break;
            }
        }
        printf("# %s weights vs their dequantized f32 twin: worst relative logit difference %.3g\n",
               smol_dtype_name(cases[k].type), worst);
        free(q);
        free(d);
    }
    free(g.logits);
}

/* ---------------------------------------------------------------- numpy reference */

/* Runs tests/ref/llama_ref.py on model for ids and compares smol's logits for every position
 * (f32 KV cache) within tol of max|logit| per position. */
static void check_against_numpy(const char *label, const char *model, const int32_t *ids, int n, double tol) {
    const char *out = test_tmp("ref.f32");
    char cmd[8192];
    int k = snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/llama_ref.py '%s' ", model);
    for (int i = 0; i < n; i++) k += snprintf(cmd + k, sizeof cmd - (size_t)k, "%s%d", i ? "," : "", ids[i]);
    snprintf(cmd + k, sizeof cmd - (size_t)k, " '%s'", out);
    REQUIRE(system(cmd) == 0, "%s: the numpy reference failed: %s", label, cmd);
    smol_model *m = load(model, SMOL_WEIGHTS_AS_STORED);
    REQUIRE(m, "%s: no model", label);
    int n_vocab = smol_model_get_info(m)->n_vocab;
    char *ref = NULL;
    size_t size = 0;
    test_read_file(out, &ref, &size);
    remove(out);
    float *got = malloc((size_t)n * n_vocab * sizeof(float));
    smol_ctx *c = new_ctx(m, SMOL_F32, 1, 64, 2);
    smol_error err = {0};
    if (ref && size == (size_t)n * n_vocab * 4 && c && got) {
        CHECK(smol_eval(c, 0, ids, n, got, &err) == SMOL_OK, "%s: %s", label, err.msg);
        double worst = 0;
        for (int p = 0; p < n; p++) {
            int at;
            const float *a = got + (size_t)p * n_vocab, *b = (const float *)ref + (size_t)p * n_vocab;
            double d = rel_diff(a, b, n_vocab, &at);
            if (d > worst) worst = d;
            if (d > tol) {
                CHECK(d <= tol, "%s: position %d: logit[%d] = %.7f, numpy %.7f (rel %.3g)", label, p, at, a[at], b[at], d);
                break;
            }
        }
        printf("# %s vs numpy float64: worst relative logit difference %.3g\n", label, worst);
    } else {
        CHECK(0, "%s: reference output has %zu bytes, expected %zu", label, size, (size_t)n * n_vocab * 4);
    }
    smol_ctx_free(c);
    free(got);
    free(ref);
    smol_model_free(m);
}

/* The path of a SmolLM2-135M-shaped random model of type (make-model's --type, seed 42) kept in
 * $TMPDIR between runs, written by `smol make-model` when missing (writing it takes a while).
 * 0, or -1 with the failed command in cmd. */
static int cached_smollm2_135m(const char *type, char *path, size_t path_cap, char *cmd, size_t cmd_cap) {
    const char *tmp = getenv("TMPDIR"), *smol = getenv("SMOL");
    snprintf(path, path_cap, "%s/smol-test-cache-smollm2-135m-%s-seed42.gguf", tmp && *tmp ? tmp : "/tmp", type);
    if (access(path, R_OK) == 0) return 0;
    snprintf(cmd, cmd_cap, "'%s' make-model --arch smollm2-135m --type %s --seed 42 -o '%s' 2>/dev/null",
             smol && *smol ? smol : "build/smol", type, path);
    return system(cmd) == 0 ? 0 : -1;
}

/* A SmolLM2-135M-shaped random f32 model from `smol make-model` (540 MB). */
static void test_numpy_smollm2_135m_shape(void) {
    char path[4096], cmd[8192];
    REQUIRE(cached_smollm2_135m("f32", path, sizeof path, cmd, sizeof cmd) == 0, "could not make the model: %s", cmd);
    const int32_t ids[4] = {1, 200, 3000, 49000};
    check_against_numpy("smollm2-135m shape (make-model)", path, ids, 4, 1e-4);
}

/* tiny llama from make-model: quick, and every token position of a longer prompt. */
static void test_numpy_tiny_make_model(void) {
    const char *smol = getenv("SMOL"), *path = test_tmp("tiny.gguf");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' make-model --arch tiny --type f32 --seed 3 -o '%s' 2>/dev/null",
             smol && *smol ? smol : "build/smol", path);
    REQUIRE(system(cmd) == 0, "could not make the model: %s", cmd);
    int32_t ids[20];
    for (int i = 0; i < 20; i++) ids[i] = (int32_t)((i * 37 + 5) % 200);
    check_against_numpy("tiny (make-model)", path, ids, 20, 1e-4);
    remove(path);
}

/* ---------------------------------------------------------------- GGUF conversions of the HF goldens */

/* Copies safetensors tensor name (f32) into out, permuting Q/K rows for llama's GGUF rope
 * (as llama.cpp's converter does: within each head, rows j*half+i go to 2i+j) when n_head > 0. */
static float *st_f32(const smol_st *st, const char *name, int n_head, int64_t *ne0, int64_t *ne1) {
    const smol_st_tensor *t = smol_st_find(st, name);
    if (!t || t->type != SMOL_F32) return NULL;
    *ne0 = t->n_dims == 2 ? t->shape[1] : t->shape[0];
    *ne1 = t->n_dims == 2 ? t->shape[0] : 1;
    float *out = malloc(t->nbytes);
    const float *in = t->data;
    if (!out) return NULL;
    if (n_head <= 0) {
        memcpy(out, in, t->nbytes);
        return out;
    }
    int64_t hd = *ne1 / n_head, half = hd / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t j = 0; j < 2; j++)
            for (int64_t i = 0; i < half; i++)
                memcpy(out + (h * hd + 2 * i + j) * *ne0, in + (h * hd + j * half + i) * *ne0, (size_t)*ne0 * 4);
    return out;
}

/* Writes the HF model in dir as a GGUF at out (llama.cpp names and keys); for llama, Q/K are
 * permuted and llama3 scaling becomes a rope_freqs tensor as llama.cpp's converter writes them. */
static int hf_to_gguf(const char *dir, const char *out, int llama3) {
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    smol_hf_config cf;
    smol_st *st = NULL;
    smol_error err = {0};
    if (smol_hf_config_load(p, &cf, &err) || smol_st_open(dir, &st, &err)) return -1;
    const char *arch = cf.model_type;
    int is_llama = strcmp(arch, "llama") == 0;
    smol_gguf_writer *w = smol_gguf_writer_new();
    float *bufs[256];
    int nb = 0;
    char key[128];
    smol_gguf_writer_set_str(w, "general.architecture", arch, &err);
#define KEY(k) (snprintf(key, sizeof key, "%s." k, arch), key)
    smol_gguf_writer_set_u32(w, KEY("embedding_length"), (uint32_t)cf.hidden_size, &err);
    smol_gguf_writer_set_u32(w, KEY("block_count"), (uint32_t)cf.num_hidden_layers, &err);
    smol_gguf_writer_set_u32(w, KEY("feed_forward_length"), (uint32_t)cf.intermediate_size, &err);
    smol_gguf_writer_set_u32(w, KEY("attention.head_count"), (uint32_t)cf.num_attention_heads, &err);
    smol_gguf_writer_set_u32(w, KEY("attention.head_count_kv"), (uint32_t)cf.num_key_value_heads, &err);
    smol_gguf_writer_set_u32(w, KEY("context_length"), (uint32_t)cf.max_position_embeddings, &err);
    smol_gguf_writer_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), (float)cf.rms_norm_eps, &err);
    smol_gguf_writer_set_f32(w, KEY("rope.freq_base"), (float)cf.rope_theta, &err);
#undef KEY
    struct { const char *hf, *gg; int perm; } map[] = {
        {"input_layernorm.weight", "attn_norm.weight", 0}, {"self_attn.q_proj.weight", "attn_q.weight", 1},
        {"self_attn.k_proj.weight", "attn_k.weight", 2}, {"self_attn.v_proj.weight", "attn_v.weight", 0},
        {"self_attn.o_proj.weight", "attn_output.weight", 0}, {"post_attention_layernorm.weight", "ffn_norm.weight", 0},
        {"mlp.gate_proj.weight", "ffn_gate.weight", 0}, {"mlp.up_proj.weight", "ffn_up.weight", 0},
        {"mlp.down_proj.weight", "ffn_down.weight", 0}, {"self_attn.q_proj.bias", "attn_q.bias", 0},
        {"self_attn.k_proj.bias", "attn_k.bias", 0}, {"self_attn.v_proj.bias", "attn_v.bias", 0}};
    char names[256][96];
    int rc = 0;
    for (int il = 0; il < cf.num_hidden_layers && !rc; il++)
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
            char hf[128];
            snprintf(hf, sizeof hf, "model.layers.%d.%s", il, map[k].hf);
            int heads = !is_llama || !map[k].perm ? 0 : map[k].perm == 1 ? cf.num_attention_heads : cf.num_key_value_heads;
            int64_t ne[2];
            float *d = st_f32(st, hf, heads, &ne[0], &ne[1]);
            if (!d) continue;
            snprintf(names[nb], sizeof names[nb], "blk.%d.%s", il, map[k].gg);
            bufs[nb] = d;
            rc |= smol_gguf_writer_add_tensor(w, names[nb], SMOL_F32, ne[1] > 1 ? 2 : 1, ne, d, &err);
            nb++;
        }
    const char *top[3][2] = {{"model.embed_tokens.weight", "token_embd.weight"}, {"model.norm.weight", "output_norm.weight"},
                             {"lm_head.weight", "output.weight"}};
    for (int k = 0; k < 3; k++) {
        int64_t ne[2];
        float *d = st_f32(st, top[k][0], 0, &ne[0], &ne[1]);
        if (!d) continue;
        bufs[nb] = d;
        rc |= smol_gguf_writer_add_tensor(w, top[k][1], SMOL_F32, ne[1] > 1 ? 2 : 1, ne, d, &err);
        nb++;
    }
    float freqs[256];
    if (llama3) {  /* llama.cpp's converter: per-pair divisors of the frequencies */
        int hd = cf.head_dim;
        for (int i = 0; i < hd / 2; i++) {
            double f = 1.0 / pow(cf.rope_theta, 2.0 * i / hd), wl = 2 * M_PI / f;
            double lo_wl = cf.rope_original_max_position_embeddings / cf.rope_low_freq_factor;
            double hi_wl = cf.rope_original_max_position_embeddings / cf.rope_high_freq_factor;
            if (wl < hi_wl) freqs[i] = 1;
            else if (wl > lo_wl) freqs[i] = (float)cf.rope_factor;
            else {
                double sm = (cf.rope_original_max_position_embeddings / wl - cf.rope_low_freq_factor) /
                            (cf.rope_high_freq_factor - cf.rope_low_freq_factor);
                freqs[i] = (float)(1 / ((1 - sm) / cf.rope_factor + sm));
            }
        }
        int64_t ne[1] = {hd / 2};
        rc |= smol_gguf_writer_add_tensor(w, "rope_freqs.weight", SMOL_F32, 1, ne, freqs, &err);
    }
    if (!rc) rc = smol_gguf_writer_write(w, out, &err);
    if (rc) fprintf(stderr, "hf_to_gguf %s: %s\n", dir, err.msg);
    smol_gguf_writer_free(w);
    for (int i = 0; i < nb; i++) free(bufs[i]);
    smol_st_free(st);
    return rc;
}

/* A GGUF made from an HF golden model must give transformers' logits too (GGUF loader, qwen2
 * NeoX rope and biases, llama's permuted Q/K with adjacent-pair rope, rope_freqs for llama3),
 * and the numpy reference reading that GGUF must agree. */
static void check_gguf_from_hf(const char *name, int llama3) {
    hf_golden g;
    char dir[2048], model[4096];
    snprintf(dir, sizeof dir, "%s", test_data(name));
    snprintf(model, sizeof model, "%s/model", dir);
    REQUIRE(read_hf_golden(dir, "logits_file", &g) == 0, "%s: golden unreadable", name);
    const char *path = test_tmp("conv.gguf");
    if (hf_to_gguf(model, path, llama3) == 0) {
        smol_model *m = load(path, SMOL_WEIGHTS_AS_STORED);
        smol_ctx *c = m ? new_ctx(m, SMOL_F32, 1, 64, 2) : NULL;
        float *out = malloc((size_t)g.n_ids * g.n_vocab * sizeof(float));
        smol_error err = {0};
        if (c && out && smol_eval(c, 0, g.ids, g.n_ids, out, &err) == SMOL_OK) {
            for (int p = 0; p < g.n_ids; p++) {
                int at;
                double d = rel_diff(out + (size_t)p * g.n_vocab, g.logits + (size_t)p * g.n_vocab, g.n_vocab, &at);
                if (d > 1e-4) {
                    CHECK(d <= 1e-4, "%s as GGUF: position %d: logit[%d] %.7f, transformers %.7f", name, p, at,
                          out[(size_t)p * g.n_vocab + at], g.logits[(size_t)p * g.n_vocab + at]);
                    break;
                }
            }
        } else {
            CHECK(0, "%s as GGUF: %s", name, err.msg);
        }
        free(out);
        smol_ctx_free(c);
        smol_model_free(m);
        char label[256];
        snprintf(label, sizeof label, "%s as GGUF", name);
        check_against_numpy(label, path, g.ids, 8, 1e-4);
    } else {
        CHECK(0, "%s: conversion to GGUF failed", name);
    }
    remove(path);
    free(g.logits);
}

static void test_gguf_qwen2_from_hf(void) { check_gguf_from_hf("hf-golden/qwen2-tiny", 0); }
static void test_gguf_llama32_from_hf(void) { check_gguf_from_hf("hf-golden/llama32-tiny", 1); }

/* ---------------------------------------------------------------- errors */

/* Writes a tiny llama-style GGUF (embd 8, 1 layer, 2 heads / 1 KV head, ff 16, vocab 10, ctx
 * 16) with architecture arch, leaving out tensor `skip` and giving `bad` a wrong shape. */
static int write_tiny(const char *path, const char *arch, const char *skip, const char *bad) {
    static float data[10 * 16];
    for (int i = 0; i < 160; i++) data[i] = (float)((i * 7919) % 101) / 101.0f - 0.5f;
    smol_gguf_writer *w = smol_gguf_writer_new();
    smol_error err = {0};
    char key[128];
    smol_gguf_writer_set_str(w, "general.architecture", arch, &err);
    struct { const char *k; uint32_t v; } kv[] = {{"embedding_length", 8}, {"block_count", 1}, {"feed_forward_length", 16},
                                                  {"attention.head_count", 2}, {"attention.head_count_kv", 1},
                                                  {"context_length", 16}};
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof key, "%s.%s", arch, kv[i].k);
        smol_gguf_writer_set_u32(w, key, kv[i].v, &err);
    }
    struct { const char *name; int64_t ne0, ne1; } t[] = {
        {"token_embd.weight", 8, 10}, {"output_norm.weight", 8, 1}, {"blk.0.attn_norm.weight", 8, 1},
        {"blk.0.attn_q.weight", 8, 8}, {"blk.0.attn_k.weight", 8, 4}, {"blk.0.attn_v.weight", 8, 4},
        {"blk.0.attn_output.weight", 8, 8}, {"blk.0.ffn_norm.weight", 8, 1}, {"blk.0.ffn_gate.weight", 8, 16},
        {"blk.0.ffn_up.weight", 8, 16}, {"blk.0.ffn_down.weight", 16, 8}};
    int rc = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (skip && strcmp(t[i].name, skip) == 0) continue;
        int64_t ne[2] = {t[i].ne0, t[i].ne1};
        if (bad && strcmp(t[i].name, bad) == 0) ne[1] = ne[1] / 2;
        rc |= smol_gguf_writer_add_tensor(w, t[i].name, SMOL_F32, ne[1] > 1 ? 2 : 1, ne, data, &err);
    }
    rc |= smol_gguf_writer_write(w, path, &err);
    smol_gguf_writer_free(w);
    return rc;
}

static int load_error(const char *path, smol_error *err) {
    smol_model *m = NULL;
    int rc = smol_model_load(path, NULL, &m, err);
    smol_model_free(m);
    return rc;
}

static void test_load_errors(void) {
    const char *path = test_tmp("bad.gguf");
    smol_error err = {0};
    REQUIRE(write_tiny(path, "llama", NULL, NULL) == 0, "write");
    CHECK(load_error(path, &err) == SMOL_OK, "the good tiny model fails: %s", err.msg);
    REQUIRE(write_tiny(path, "gpt2", NULL, NULL) == 0, "write");
    CHECK(load_error(path, &err) == SMOL_EUNSUPPORTED && strstr(err.msg, "'gpt2'") && strstr(err.msg, "llama, qwen2"),
          "unknown arch: %s", err.msg);
    REQUIRE(write_tiny(path, "llama", "blk.0.ffn_up.weight", NULL) == 0, "write");
    CHECK(load_error(path, &err) == SMOL_ENOTFOUND && strstr(err.msg, "'blk.0.ffn_up.weight' is missing"),
          "missing tensor: %s", err.msg);
    REQUIRE(write_tiny(path, "llama", NULL, "blk.0.attn_k.weight") == 0, "write");
    CHECK(load_error(path, &err) == SMOL_EFORMAT && strstr(err.msg, "'blk.0.attn_k.weight' has shape [2, 8]") &&
              strstr(err.msg, "expected [4, 8]"),
          "wrong shape: %s", err.msg);
    REQUIRE(write_tiny(path, "qwen2", NULL, NULL) == 0, "write");
    CHECK(load_error(path, &err) == SMOL_ENOTFOUND && strstr(err.msg, "blk.0.attn_q.bias"), "qwen2 without biases: %s", err.msg);
    CHECK(load_error(test_tmp("none.gguf"), &err) != SMOL_OK && strstr(err.msg, "none.gguf"), "no file: %s", err.msg);
    remove(path);
}

/* Hugging Face folders: no weights, an unknown architecture, a missing config. */
static void test_hf_load_errors(void) {
    char dir[2048], cmd[8192], cfg[4200];
    snprintf(dir, sizeof dir, "%s", test_tmp("hfdir"));
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    REQUIRE(system(cmd) == 0, "mkdir");
    smol_error err = {0};
    CHECK(load_error(dir, &err) != SMOL_OK && strstr(err.msg, "config.json"), "no config: %s", err.msg);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    FILE *f = fopen(cfg, "w");
    REQUIRE(f, "write %s", cfg);
    fputs("{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"vocab_size\": 10, \"hidden_size\": 8,"
          " \"intermediate_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"num_key_value_heads\": 1,"
          " \"max_position_embeddings\": 16, \"rms_norm_eps\": 1e-5, \"rope_theta\": 10000.0}", f);
    fclose(f);
    CHECK(load_error(dir, &err) == SMOL_ENOTFOUND && strstr(err.msg, dir), "no weights: %s", err.msg);
    f = fopen(cfg, "w");
    REQUIRE(f, "write %s", cfg);
    fputs("{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", \"vocab_size\": 10}", f);
    fclose(f);
    CHECK(load_error(dir, &err) == SMOL_EUNSUPPORTED && strstr(err.msg, "GPT2LMHeadModel"), "gpt2: %s", err.msg);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "rm");
}

/* Past the context: SMOL_ERANGE and nothing evaluated; a bad token id: SMOL_EINVAL. */
static void test_context_limit(void) {
    const char *path = test_tmp("ctx.gguf");
    REQUIRE(write_tiny(path, "llama", NULL, NULL) == 0, "write");
    smol_model *m = load(path, SMOL_WEIGHTS_AS_STORED);
    REQUIRE(m, "load");
    smol_error err = {0};
    smol_ctx *c = NULL;
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = 32;
    CHECK(smol_ctx_new(m, &cp, &c, &err) == SMOL_ERANGE && strstr(err.msg, "16"), "ctx > training ctx: %s", err.msg);
    c = new_ctx(m, SMOL_F16, 1, 8, 1);
    int32_t toks[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK(smol_eval(c, 0, toks, 9, NULL, &err) == SMOL_ERANGE && strstr(err.msg, "context limit of 8"), "9 > 8: %s", err.msg);
    CHECK(smol_seq_len(c, 0) == 0, "a refused eval left %d positions", smol_seq_len(c, 0));
    CHECK(smol_eval(c, 0, toks, 6, NULL, &err) == SMOL_OK, "%s", err.msg);
    CHECK(smol_eval(c, 0, toks, 3, NULL, &err) == SMOL_ERANGE, "6 + 3 > 8 accepted");
    CHECK(smol_eval(c, 0, toks, 2, NULL, &err) == SMOL_OK && smol_seq_len(c, 0) == 8, "fill to 8: %s", err.msg);
    int32_t bad = 10;
    smol_seq_truncate(c, 0, 0);
    CHECK(smol_eval(c, 0, &bad, 1, NULL, &err) == SMOL_EINVAL && strstr(err.msg, "10"), "token 10: %s", err.msg);
    CHECK(smol_eval(c, 1, toks, 1, NULL, &err) == SMOL_EINVAL, "sequence 1 of 1 accepted");
    smol_ctx_free(c);
    smol_model_free(m);
    remove(path);
}

/* ---------------------------------------------------------------- batching and KV cache */

/* Several sequences decoded together give the logits each gets alone; truncating a sequence
 * and re-feeding gives the same logits again; f16 KV stays close to f32 KV. */
static void test_multi_sequence_decode(void) {
    smol_model *m = load(test_data(STORIES), SMOL_WEIGHTS_AS_STORED);
    REQUIRE(m, "load");
    int V = smol_model_get_info(m)->n_vocab;
    smol_ctx *multi = new_ctx(m, SMOL_F16, 3, 64, 2), *one = new_ctx(m, SMOL_F16, 1, 64, 2);
    smol_ctx *f32 = new_ctx(m, SMOL_F32, 1, 64, 2);
    REQUIRE(multi && one && f32, "ctx");
    const int32_t start[3][3] = {{1, 403, 407}, {1, 385}, {1}};
    const int n_start[3] = {3, 2, 1};
    smol_error err = {0};
    int32_t next[3];
    int seqs[3] = {2, 0, 1};   /* out of order on purpose */
    for (int s = 0; s < 3; s++) {
        REQUIRE(smol_eval(multi, s, start[s], n_start[s], NULL, &err) == SMOL_OK, "%s", err.msg);
        next[s] = (int32_t)argmax(smol_get_logits(multi, s), V);
    }
    float *want = malloc((size_t)V * sizeof(float));
    for (int step = 0; step < 12; step++) {
        int32_t toks[3] = {next[2], next[0], next[1]};
        REQUIRE(smol_eval_multi(multi, 3, seqs, toks, &err) == SMOL_OK, "%s", err.msg);
        for (int s = 0; s < 3; s++) next[s] = (int32_t)argmax(smol_get_logits(multi, s), V);
    }
    /* replay sequence 0 alone from its tokens, compare the final logits */
    for (int s = 0; s < 3; s++) {
        smol_seq_truncate(one, 0, 0);
        REQUIRE(smol_eval(one, 0, start[s], n_start[s], NULL, &err) == SMOL_OK, "%s", err.msg);
        int32_t t = (int32_t)argmax(smol_get_logits(one, 0), V);
        for (int step = 0; step < 12; step++) {
            REQUIRE(smol_eval(one, 0, &t, 1, NULL, &err) == SMOL_OK, "%s", err.msg);
            t = (int32_t)argmax(smol_get_logits(one, 0), V);
        }
        int at;
        double d = rel_diff(smol_get_logits(multi, s), smol_get_logits(one, 0), V, &at);
        CHECK(d < 1e-5, "sequence %d: batched logit[%d] %.6f vs alone %.6f", s, at, smol_get_logits(multi, s)[at],
              smol_get_logits(one, 0)[at]);
        CHECK(smol_seq_len(multi, s) == n_start[s] + 12, "sequence %d holds %d positions", s, smol_seq_len(multi, s));
    }
    /* truncate and re-feed */
    memcpy(want, smol_get_logits(one, 0), (size_t)V * sizeof(float));
    int len = smol_seq_len(one, 0);
    smol_seq_truncate(one, 0, 0);
    CHECK(smol_get_logits(one, 0) == NULL, "logits after truncate");
    smol_seq_truncate(one, 0, 0);
    int32_t seq[32];
    seq[0] = 1;
    for (int i = 1; i < len; i++) {
        REQUIRE(smol_eval(one, 0, &seq[i - 1], 1, NULL, &err) == SMOL_OK, "%s", err.msg);
        seq[i] = (int32_t)argmax(smol_get_logits(one, 0), V);
    }
    smol_seq_truncate(one, 0, 0);
    REQUIRE(smol_eval(one, 0, seq, len, NULL, &err) == SMOL_OK, "%s", err.msg);
    int at;
    CHECK(rel_diff(smol_get_logits(one, 0), want, V, &at) < 1e-5, "prompt pass vs one-by-one differ at %d", at);
    REQUIRE(smol_eval(f32, 0, seq, len, NULL, &err) == SMOL_OK, "%s", err.msg);
    double d = rel_diff(smol_get_logits(one, 0), smol_get_logits(f32, 0), V, &at);
    CHECK(d < 5e-3, "f16 KV vs f32 KV: rel %.3g at %d", d, at);
    printf("# f16 vs f32 KV cache after %d positions: relative logit difference %.3g\n", len, d);
    free(want);
    smol_ctx_free(multi);
    smol_ctx_free(one);
    smol_ctx_free(f32);
    smol_model_free(m);
}

/* Greedy decoding of model m from a prompt of n_prompt (1..5) tokens at 1 thread and at each
 * of threads[]: the logits of the prompt and the steps after it must be the same bits (each weight row goes through the same kernel
 * whatever the split; a decode row's attention split by KV head does the whole-batch call's
 * arithmetic for each head). label names the case in a failure. */
static void check_threads_bit_identical(const char *label, const smol_model *m, uint32_t kv_type, int n_prompt,
                                        int steps, const int *threads, int n_threads) {
    int V = smol_model_get_info(m)->n_vocab;
    float *want = malloc((size_t)steps * V * sizeof(float));
    REQUIRE(want, "alloc");
    for (int ti = -1; ti < n_threads; ti++) {
        int T = ti < 0 ? 1 : threads[ti];
        smol_ctx *c = new_ctx(m, kv_type, 1, steps + 8, T);
        smol_error err = {0};
        int32_t prompt[5] = {1, 403, 407, 385, 260}, t;
        int ok = c && smol_eval(c, 0, prompt, n_prompt, NULL, &err) == SMOL_OK;
        for (int s = 0; ok && s < steps; s++) {
            const float *lg = smol_get_logits(c, 0);
            float *w = want + (size_t)s * V;
            if (ti < 0) memcpy(w, lg, (size_t)V * sizeof(float));
            else
                for (int i = 0; i < V; i++)
                    if (memcmp(&lg[i], &w[i], sizeof(float))) {
                        CHECK(0, "%s: %d threads, step %d: logit[%d] = %.9g, 1 thread %.9g", label, T, s, i, lg[i], w[i]);
                        ok = 0;
                        break;
                    }
            t = (int32_t)argmax(w, V);
            ok = ok && (s == steps - 1 || smol_eval(c, 0, &t, 1, NULL, &err) == SMOL_OK);
        }
        CHECK(ok || err.msg[0] == 0, "%s: %d threads: %s", label, T, err.msg);
        smol_ctx_free(c);
        if (!ok) break;
    }
    free(want);
}

/* stories260K (8 heads over 4 KV heads): f16 and f32 caches, 40 steps, 2 and 3 threads; a
 * SmolLM2-135M-shaped q8_0 model from `smol make-model` (kept in $TMPDIR between runs; its q/k/v
 * and gate/up products run as pool jobs), a 1-token prompt and one step at 2 threads (kept
 * short for the sanitizer build, where the kernels run unoptimised). */
static void test_thread_counts_bit_identical(void) {
    const int threads[2] = {2, 3};
    smol_model *m = load(test_data(STORIES), SMOL_WEIGHTS_AS_STORED);
    REQUIRE(m, "load");
    check_threads_bit_identical("stories260K f16 KV", m, SMOL_F16, 5, 40, threads, 2);
    check_threads_bit_identical("stories260K f32 KV", m, SMOL_F32, 5, 40, threads, 2);
    smol_model_free(m);
    char path[4096], cmd[8192];
    REQUIRE(cached_smollm2_135m("q8_0", path, sizeof path, cmd, sizeof cmd) == 0, "could not make the model: %s", cmd);
    m = load(path, SMOL_WEIGHTS_AS_STORED);
    REQUIRE(m, "load");
    check_threads_bit_identical("smollm2-135m shape q8_0", m, SMOL_F16, 1, 2, threads, 1);
    smol_model_free(m);
}

/* The cache's branch-free half -> float equals dtype.h's reference for all 65536 halves. */
static void test_kv_half_conversion(void) {
    for (uint32_t h = 0; h < 65536; h++) {
        float a = smol_kvcache_half_to_float((uint16_t)h), b = smol_f16_to_f32((uint16_t)h);
        uint32_t ba, bb;
        memcpy(&ba, &a, 4);
        memcpy(&bb, &b, 4);
        REQUIRE(ba == bb || (a != a && b != b), "half 0x%04x: %g (0x%08x), reference %g (0x%08x)", h, a, ba, b, bb);
    }
}

int main(void) {
    RUN(test_kv_half_conversion);
    RUN(test_stories260k_llamacpp_golden);
    RUN(test_hf_smollm2_tiny);
    RUN(test_hf_smollm2_tiny_bf16_sharded);
    RUN(test_hf_llama32_tiny);
    RUN(test_hf_qwen2_tiny);
    RUN(test_quantized_vs_dequantized);
    RUN(test_load_errors);
    RUN(test_hf_load_errors);
    RUN(test_context_limit);
    RUN(test_multi_sequence_decode);
    RUN(test_numpy_tiny_make_model);
    RUN(test_numpy_smollm2_135m_shape);
    RUN(test_thread_counts_bit_identical);
    RUN(test_gguf_qwen2_from_hf);
    RUN(test_gguf_llama32_from_hf);
    return check_done();
}
