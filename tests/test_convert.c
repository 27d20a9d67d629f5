/* test_convert.c: smol_convert_hf and smol_quantize_gguf. A Hugging Face folder converted to an
 * f32 GGUF must give transformers' logits (hf-golden) and greedy ids, as the folder itself does;
 * q8_0 within the quantized tolerance. Re-quantizing a make-model f32 file must give the bytes
 * make-model writes for that type, and llama-quantize's per-tensor types. */
#include "check.h"
#include "compare.h"
#include "smol.h"
#include "model/convert.h"
#include "model/dtype.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>

/* Reads a whole file into a malloc'd buffer. */



/* ---------------------------------------------------------------- the HF goldens */

typedef struct golden {
    int32_t ids[64], prompt[16], greedy[64];
    int n_ids, n_prompt, n_greedy, n_vocab;
    float *logits;      /* [n_ids][n_vocab], from transformers */
} golden;

static int json_ids(const cJSON *root, const char *key, int32_t *out, int max) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    int n = 0;
    for (const cJSON *e = a ? a->child : NULL; e && n < max; e = e->next) out[n++] = (int32_t)e->valuedouble;
    return n;
}

static int read_golden(const char *dir, golden *g) {
    char path[4096], *text = NULL;
    size_t size;
    memset(g, 0, sizeof *g);
    snprintf(path, sizeof path, "%s/golden.json", dir);
    if (test_read_file(path, &text, &size)) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) return -1;
    g->n_ids = json_ids(root, "input_ids", g->ids, 64);
    g->n_prompt = json_ids(root, "greedy_prompt_ids", g->prompt, 16);
    g->n_greedy = json_ids(root, "greedy_new_ids", g->greedy, 64);
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(root, "logits_shape");
    const cJSON *lf = cJSON_GetObjectItemCaseSensitive(root, "logits_file");
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

/* All-position logits of ids [n][n_vocab] (f32 KV cache) and the greedy continuation of prompt. */
static float *run_model(const char *path, const golden *g, int32_t *greedy) {
    smol_model *m = NULL;
    smol_ctx *c = NULL;
    smol_error err = {0};
    int rc = smol_model_load(path, NULL, &m, &err);
    CHECK(rc == SMOL_OK, "load %s: %s", path, err.msg);
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = 128;
    cp.n_threads = 2;
    cp.kv_type = 0;
    if (!rc) rc = smol_ctx_new(m, &cp, &c, &err);
    float *out = rc ? NULL : malloc((size_t)g->n_ids * g->n_vocab * sizeof(float));
    if (out) rc = smol_eval(c, 0, g->ids, g->n_ids, out, &err);
    if (out && !rc) {
        smol_seq_truncate(c, 0, 0);
        int32_t tok[16];
        memcpy(tok, g->prompt, sizeof(int32_t) * (size_t)g->n_prompt);
        rc = smol_eval(c, 0, tok, g->n_prompt, NULL, &err);
        for (int i = 0; !rc && i < g->n_greedy; i++) {
            greedy[i] = argmax(smol_get_logits(c, 0), g->n_vocab);
            rc = smol_eval(c, 0, &greedy[i], 1, NULL, &err);
        }
    }
    CHECK(rc == SMOL_OK, "%s: %s", path, err.msg);
    if (rc) {
        free(out);
        out = NULL;
    }
    smol_ctx_free(c);
    smol_model_free(m);
    return out;
}

/* Worst relative difference over positions; reports the first position past tol. */
static double compare(const char *label, const float *got, const float *want, const golden *g, double tol) {
    double worst = 0;
    for (int p = 0; p < g->n_ids; p++) {
        int at;
        double d = rel_diff(got + (size_t)p * g->n_vocab, want + (size_t)p * g->n_vocab, g->n_vocab, &at);
        if (d > worst) worst = d;
        if (d > tol) {
            CHECK(d <= tol, "%s: position %d (token %d): logit[%d] = %.7f, expected %.7f (rel %.3g > %.3g)", label, p,
                  g->ids[p], at, got[(size_t)p * g->n_vocab + at], want[(size_t)p * g->n_vocab + at], d, tol);
            break;
        }
    }
    return worst;
}

/* Converts hf-golden/NAME/model to f32 and q8_0 GGUFs and checks them against transformers and
 * against the folder loaded directly. */
static void check_hf(const char *name) {
    char dir[2048], model[4096];
    snprintf(dir, sizeof dir, "%s", test_data(name));
    snprintf(model, sizeof model, "%s/model", dir);
    golden g;
    REQUIRE(read_golden(dir, &g) == 0 && g.n_ids > 0 && g.n_greedy > 0, "%s: golden unreadable", dir);
    int32_t greedy_dir[64], greedy_f32[64], greedy_q8[64];
    float *from_dir = run_model(model, &g, greedy_dir);
    smol_convert_params p = smol_convert_default_params();
    smol_error err = {0};
    const char *f32 = test_tmp("conv-f32.gguf"), *q8 = test_tmp("conv-q8_0.gguf");
    p.type = SMOL_F32;
    p.n_threads = 2;
    int rc = smol_convert_hf(model, f32, &p, &err);
    CHECK(rc == SMOL_OK, "%s: convert f32: %s", name, err.msg);
    p.type = SMOL_Q8_0;
    int rc8 = smol_convert_hf(model, q8, &p, &err);
    CHECK(rc8 == SMOL_OK, "%s: convert q8_0: %s", name, err.msg);
    float *conv = rc ? NULL : run_model(f32, &g, greedy_f32), *quant = rc8 ? NULL : run_model(q8, &g, greedy_q8);
    if (from_dir && conv && quant) {
        double a = compare("f32 GGUF vs transformers", conv, g.logits, &g, 1e-4);
        double b = compare("f32 GGUF vs the folder", conv, from_dir, &g, 1e-5);
        double c = compare("q8_0 GGUF vs transformers", quant, g.logits, &g, 2e-2);
        for (int i = 0; i < g.n_greedy; i++) {
            if (greedy_f32[i] != g.greedy[i] || greedy_dir[i] != g.greedy[i]) {
                CHECK(0, "%s: greedy token %d: f32 GGUF %d, folder %d, transformers %d", name, i, greedy_f32[i],
                      greedy_dir[i], g.greedy[i]);
                break;
            }
        }
        int same = 0;
        while (same < g.n_greedy && greedy_q8[same] == g.greedy[same]) same++;
        printf("# %s: f32 GGUF vs transformers %.3g, vs the folder %.3g; q8_0 vs transformers %.3g, greedy ids "
               "equal for %d of %d\n", name, a, b, c, same, g.n_greedy);
    } else {
        CHECK(0, "%s: a model did not run", name);
    }
    remove(f32);
    remove(q8);
    free(from_dir);
    free(conv);
    free(quant);
    free(g.logits);
}

static void test_smollm2_tiny(void) { check_hf("hf-golden/smollm2-tiny"); }
static void test_llama32_tiny(void) { check_hf("hf-golden/llama32-tiny"); }
static void test_qwen2_tiny(void) { check_hf("hf-golden/qwen2-tiny"); }

/* The sharded bf16 folder converts as stored (bf16 weights) and gives its own golden. */
static void test_bf16_sharded_as_stored(void) {
    const char *out = test_tmp("bf16.gguf");
    smol_convert_params p = smol_convert_default_params();
    p.type = SMOL_TYPE_AS_STORED;
    smol_error err = {0};
    int rc = smol_convert_hf(test_data("hf-golden/smollm2-tiny/model-bf16-sharded"), out, &p, &err);
    REQUIRE(rc == SMOL_OK, "convert: %s", err.msg);
    smol_gguf *g = NULL;
    REQUIRE(smol_gguf_open(out, &g, &err) == SMOL_OK, "%s", err.msg);
    const smol_gguf_tensor *q = smol_gguf_find_tensor(g, "blk.0.attn_q.weight"),
                           *n = smol_gguf_find_tensor(g, "blk.0.attn_norm.weight");
    CHECK(q && q->type == SMOL_BF16, "attn_q type %s, want bf16", q ? smol_dtype_name(q->type) : "missing");
    CHECK(n && n->type == SMOL_F32, "attn_norm type %s, want f32", n ? smol_dtype_name(n->type) : "missing");
    int64_t ft = -1;
    CHECK(smol_gguf_get_int(g, "general.file_type", &ft) == SMOL_OK && ft == 32, "general.file_type %lld", (long long)ft);
    smol_gguf_free(g);
    remove(out);
}

/* Writes a copy of an hf-golden folder into TMP/name with `edit` applied to config.json
 * (a key replaced) or a file left out. */
static const char *broken_folder(const char *name, const char *drop_file, const char *cfg_from, const char *cfg_to) {
    const char *dir = test_tmp(name);
    char cmd[8192];
    const char *src = test_data("hf-golden/smollm2-tiny/model");
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s'/* '%s'/ && chmod u+w '%s'/*", dir, dir, src, dir, dir);
    if (system(cmd) != 0) return NULL;
    if (drop_file) {
        snprintf(cmd, sizeof cmd, "rm -f '%s/%s'", dir, drop_file);
        if (system(cmd) != 0) return NULL;
    }
    if (cfg_from) {
        snprintf(cmd, sizeof cmd, "sed -i 's/%s/%s/' '%s/config.json'", cfg_from, cfg_to, dir);
        if (system(cmd) != 0) return NULL;
    }
    return dir;
}

static void expect_error(const char *dir, const char *out, int code, const char *needle) {
    smol_error err = {0};
    smol_convert_params p = smol_convert_default_params();
    int rc = smol_convert_hf(dir, out, &p, &err);
    CHECK(rc == code && strstr(err.msg, needle), "%s: status %d (%s), message '%s'; want %d and '%s'", dir, rc,
          smol_status_name(rc), err.msg, code, needle);
}

static void test_bad_folders(void) {
    const char *out = test_tmp("bad.gguf");
    const char *d = broken_folder("noconfig", "config.json", NULL, NULL);
    REQUIRE(d, "could not copy the folder");
    expect_error(d, out, SMOL_ENOTFOUND, "config.json is missing");
    d = broken_folder("gpt2", NULL, "LlamaForCausalLM", "GPT2LMHeadModel");
    expect_error(d, out, SMOL_EUNSUPPORTED, "GPT2LMHeadModel");
    d = broken_folder("noweights", "model.safetensors", NULL, NULL);
    expect_error(d, out, SMOL_ENOTFOUND, "safetensors");
    d = broken_folder("layers", NULL, "\"num_hidden_layers\": 3", "\"num_hidden_layers\": 4");
    expect_error(d, out, SMOL_ENOTFOUND, "tensor 'model.layers.3.input_layernorm.weight' is missing");
    CHECK(access(out, F_OK) != 0, "a failed conversion left %s behind", out);
    expect_error(test_data("hf-golden/smollm2-tiny/model"), "/nonexistent-dir/x.gguf", SMOL_EIO, "/nonexistent-dir/x.gguf");
    expect_error(test_data("hf-golden/smollm2-tiny/golden.json"), out, SMOL_ENOTFOUND, "not a folder");
}

/* ---------------------------------------------------------------- re-quantization */

static int make_model(const char *type, const char *out) {
    const char *smol = getenv("SMOL");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' make-model --arch tiny --seed 11 --type %s -o '%s' 2>/dev/null",
             smol && *smol ? smol : "build/smol", type, out);
    return system(cmd);
}

/* 1 if files a and b hold the same bytes; else reports the first differing byte. */
static int same_bytes(const char *a, const char *b) {
    char *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int ok = test_read_file(a, &x, &nx) == 0 && test_read_file(b, &y, &ny) == 0;
    size_t i = 0;
    while (ok && i < nx && i < ny && x[i] == y[i]) i++;
    int same = ok && nx == ny && i == nx;
    if (!same) printf("# %s (%zu bytes) and %s (%zu bytes) differ from byte %zu\n", a, nx, b, ny, i);
    free(x);
    free(y);
    return same;
}

static void test_quantize_equals_make_model(void) {
    const char *f32 = test_tmp("mm-f32.gguf"), *want = test_tmp("mm-want.gguf"), *got = test_tmp("mm-got.gguf");
    REQUIRE(make_model("f32", f32) == 0, "make-model failed");
    static const struct { const char *name; int type, pure; } cases[] = {
        {"q8_0", SMOL_Q8_0, 0}, {"q4_k_m", SMOL_TYPE_Q4_K_M, 0}, {"q4_0", SMOL_Q4_0, 1}, {"f16", SMOL_F16, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        REQUIRE(make_model(cases[k].name, want) == 0, "make-model %s failed", cases[k].name);
        smol_convert_params p = smol_convert_default_params();
        p.type = cases[k].type;
        p.pure = cases[k].pure;
        p.n_threads = (int)k % 2 + 1;
        smol_error err = {0};
        int rc = smol_quantize_gguf(f32, got, &p, &err);
        CHECK(rc == SMOL_OK, "%s: %s", cases[k].name, err.msg);
        CHECK(rc || same_bytes(got, want), "quantize %s%s differs from make-model --type %s", cases[k].name,
              cases[k].pure ? " --pure" : "", cases[k].name);
    }
    remove(f32);
    remove(want);
    remove(got);
}

/* Logits of the f32 model and of its quantized copies on the same ids. */
static float *logits_of(const char *path, const int32_t *ids, int n, int *n_vocab) {
    smol_model *m = NULL;
    smol_ctx *c = NULL;
    smol_error err = {0};
    int rc = smol_model_load(path, NULL, &m, &err);
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 1;
    cp.kv_type = 0;
    if (!rc) rc = smol_ctx_new(m, &cp, &c, &err);
    float *out = rc ? NULL : malloc((size_t)n * smol_model_get_info(m)->n_vocab * sizeof(float));
    if (out) rc = smol_eval(c, 0, ids, n, out, &err);
    CHECK(rc == SMOL_OK, "%s: %s", path, err.msg);
    if (m) *n_vocab = smol_model_get_info(m)->n_vocab;
    smol_ctx_free(c);
    smol_model_free(m);
    if (rc) free(out);
    return rc ? NULL : out;
}

static void test_quantized_logits_and_types(void) {
    const char *f32 = test_tmp("lq-f32.gguf"), *q = test_tmp("lq-q.gguf");
    REQUIRE(make_model("f32", f32) == 0, "make-model failed");
    int32_t ids[16];
    for (int i = 0; i < 16; i++) ids[i] = (int32_t)((i * 53 + 7) % 500);
    int nv = 0;
    float *ref = logits_of(f32, ids, 16, &nv);
    REQUIRE(ref, "f32 model did not run");
    static const struct { int type; const char *name; double tol; } cases[] = {
        {SMOL_Q8_0, "q8_0", 3e-2}, {SMOL_Q4_0, "q4_0", 2.5e-1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        smol_convert_params p = smol_convert_default_params();
        p.type = cases[k].type;
        smol_error err = {0};
        REQUIRE(smol_quantize_gguf(f32, q, &p, &err) == SMOL_OK, "%s: %s", cases[k].name, err.msg);
        smol_gguf *g = NULL;
        REQUIRE(smol_gguf_open(q, &g, &err) == SMOL_OK, "%s", err.msg);
        /* llama-quantize's types: the untied output gets q6_K (64-wide rows are not 256-blocks: q8_0),
         * token_embd and the blocks the target, norms f32 */
        const smol_gguf_tensor *out = smol_gguf_find_tensor(g, "output.weight"), *emb = smol_gguf_find_tensor(g, "token_embd.weight"),
                               *wq = smol_gguf_find_tensor(g, "blk.1.attn_q.weight"), *nrm = smol_gguf_find_tensor(g, "blk.1.ffn_norm.weight");
        REQUIRE(out && emb && wq && nrm, "tensors missing");
        CHECK(out->type == SMOL_Q8_0 && emb->type == (uint32_t)cases[k].type && wq->type == (uint32_t)cases[k].type &&
                  nrm->type == SMOL_F32,
              "%s: output %s, token_embd %s, attn_q %s, ffn_norm %s", cases[k].name, smol_dtype_name(out->type),
              smol_dtype_name(emb->type), smol_dtype_name(wq->type), smol_dtype_name(nrm->type));
        int64_t ft = 0;
        smol_gguf_get_int(g, "general.file_type", &ft);
        CHECK(ft == (cases[k].type == SMOL_Q8_0 ? 7 : 2), "%s: file_type %lld", cases[k].name, (long long)ft);
        smol_gguf_free(g);
        int nv2 = 0;
        float *got = logits_of(q, ids, 16, &nv2);
        if (got && nv2 == nv) {
            golden gg = {.n_ids = 16, .n_vocab = nv};
            memcpy(gg.ids, ids, sizeof ids);
            double w = compare(cases[k].name, got, ref, &gg, cases[k].tol);
            printf("# tiny %s vs f32: worst relative logit difference %.3g\n", cases[k].name, w);
        }
        free(got);
    }
    free(ref);
    remove(f32);
    remove(q);
}

/* The type rules against llama-quantize's choices for SmolLM2-135M (576-wide rows, tied
 * embedding, 30 layers), read from the files it wrote (bench/README.md, "## Peers"). */
static void test_type_rules(void) {
    CHECK(smol_quant_tensor_type(SMOL_Q4_0, 0, "token_embd", -1, 30, 576, 0) == SMOL_Q8_0, "q4_0 tied embd");
    CHECK(smol_quant_tensor_type(SMOL_Q8_0, 0, "token_embd", -1, 30, 576, 0) == SMOL_Q8_0, "q8_0 tied embd");
    CHECK(smol_quant_tensor_type(SMOL_Q4_0, 0, "attn_v", 0, 30, 576, 0) == SMOL_Q4_0, "q4_0 attn_v");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "token_embd", -1, 30, 576, 0) == SMOL_Q8_0, "q4_k_m embd");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "attn_v", 0, 30, 576, 0) == SMOL_Q8_0, "q4_k_m attn_v 0");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "attn_v", 3, 30, 576, 0) == SMOL_Q5_0, "q4_k_m attn_v 3");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "ffn_down", 1, 30, 1536, 0) == SMOL_Q6_K, "q4_k_m ffn_down 1");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "ffn_down", 3, 30, 1536, 0) == SMOL_Q4_K, "q4_k_m ffn_down 3");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "ffn_down", 29, 30, 1536, 0) == SMOL_Q6_K, "q4_k_m ffn_down 29");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "ffn_up", 0, 30, 576, 0) == SMOL_Q5_0, "q4_k_m ffn_up");
    CHECK(smol_quant_tensor_type(SMOL_TYPE_Q4_K_M, 0, "output", -1, 16, 2048, 1) == SMOL_Q6_K, "q4_k_m output 2048");
    CHECK(smol_quant_tensor_type(SMOL_Q4_0, 1, "token_embd", -1, 30, 576, 0) == SMOL_Q4_0, "pure");
    CHECK(smol_quant_tensor_type(SMOL_F16, 0, "token_embd", -1, 30, 576, 0) == SMOL_F16, "f16");
    int layers[30], n = 0;
    for (int i = 0; i < 30; i++)
        if (smol_quant_use_more_bits(i, 30)) layers[n++] = i;
    CHECK(n == 14 && layers[0] == 0 && layers[3] == 5 && layers[n - 1] == 29, "use_more_bits: %d layers", n);
}

static void test_quantize_errors(void) {
    smol_convert_params p = smol_convert_default_params();
    smol_error err = {0};
    p.type = SMOL_Q8_0;
    int rc = smol_quantize_gguf(test_tmp("none.gguf"), test_tmp("o.gguf"), &p, &err);
    CHECK(rc == SMOL_EIO && strstr(err.msg, "none.gguf"), "missing input: %d %s", rc, err.msg);
    p.type = SMOL_IQ2_XXS;
    rc = smol_quantize_gguf(test_tmp("none.gguf"), test_tmp("o.gguf"), &p, &err);
    CHECK(rc == SMOL_EUNSUPPORTED && strstr(err.msg, "no quantizer"), "iq2_xxs: %d %s", rc, err.msg);
    p.type = SMOL_TYPE_AS_STORED;
    rc = smol_quantize_gguf(test_tmp("none.gguf"), test_tmp("o.gguf"), &p, &err);
    CHECK(rc == SMOL_EINVAL, "as stored: %d %s", rc, err.msg);
}

int main(void) {
    RUN(test_smollm2_tiny);
    RUN(test_llama32_tiny);
    RUN(test_qwen2_tiny);
    RUN(test_bf16_sharded_as_stored);
    RUN(test_bad_folders);
    RUN(test_quantize_equals_make_model);
    RUN(test_quantized_logits_and_types);
    RUN(test_type_rules);
    RUN(test_quantize_errors);
    return check_done();
}
