/* model.c: loading a Llama-family model (llama, qwen2) from a GGUF file or a Hugging Face
 * folder: reads the hyper-parameters, binds every weight by name, checks its shape and type,
 * and prepares the RoPE frequencies (with llama3 scaling when the model asks for it). */
#include "model/model.h"
#include "base/error.h"
#include "base/file.h"
#include "model/dtype.h"
#include "model/hfconfig.h"
#include "model/quant.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_archs = "llama, qwen2 (LlamaForCausalLM, Qwen2ForCausalLM)";

/* ---------------------------------------------------------------- type conversion */

/* The types a weight matrix can be multiplied in as stored: those with a dot-product kernel. */
static int matmul_type_ok(uint32_t t) { return smol_dtype_get(t) && smol_get_vec_dot(t) != NULL; }

/* n elements of type t to floats; SMOL_EUNSUPPORTED for a type with no conversion. */
static int to_f32(uint32_t t, const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    switch (t) {
    case SMOL_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return SMOL_OK;
    case SMOL_F16: for (int64_t i = 0; i < n; i++) dst[i] = smol_f16_to_f32(h[i]); return SMOL_OK;
    case SMOL_BF16: for (int64_t i = 0; i < n; i++) dst[i] = smol_bf16_to_f32(h[i]); return SMOL_OK;
    default: return smol_dtype_get(t) ? smol_dequantize_row(t, src, dst, n) : SMOL_EUNSUPPORTED;
    }
}

/* n floats to type t; SMOL_EUNSUPPORTED for a type with no conversion. */
static int from_f32(uint32_t t, const float *src, void *dst, int64_t n) {
    uint16_t *h = dst;
    switch (t) {
    case SMOL_F32: memcpy(dst, src, (size_t)n * sizeof(float)); return SMOL_OK;
    case SMOL_F16: for (int64_t i = 0; i < n; i++) h[i] = smol_f32_to_f16(src[i]); return SMOL_OK;
    case SMOL_BF16: for (int64_t i = 0; i < n; i++) h[i] = smol_f32_to_bf16(src[i]); return SMOL_OK;
    default: return smol_dtype_get(t) ? smol_quantize_row(t, src, dst, n) : SMOL_EUNSUPPORTED;
    }
}

int smol_weight_row_f32(const smol_weight *w, int64_t row, float *out) {
    if (row < 0 || row >= w->rows) return SMOL_ERANGE;
    return to_f32(w->type, (const uint8_t *)w->data + (size_t)row * w->row_bytes, out, w->cols);
}

/* A buffer owned by m (freed with it); NULL when out of memory. */
static void *model_alloc(smol_model *m, size_t size) {
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **p = realloc(m->owned, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        m->owned = p;
        m->cap_owned = cap;
    }
    void *b = malloc(size ? size : 1);
    if (b) m->owned[m->n_owned++] = b;
    return b;
}

/* ---------------------------------------------------------------- binding tensors */

/* What a loader needs to find one tensor in its source. */
typedef struct tensor_view {
    const void *data;
    uint32_t type;
    int n_dims;
    int64_t ne[4];    /* ne[0] varies fastest (columns) */
} tensor_view;

typedef int (*find_fn)(void *src, const char *name, tensor_view *out);

typedef struct binder {
    smol_model *m;
    find_fn find;
    void *src;
    const char *path;
} binder;

/* Binds matrix `name` of rows x cols into w, checking shape and type. */
static int bind_matrix(binder *b, const char *name, int64_t rows, int64_t cols, smol_weight *w, smol_error *err) {
    tensor_view t;
    if (!b->find(b->src, name, &t))
        return smol_fail(err, SMOL_ENOTFOUND, "%s: tensor '%s' is missing", b->path, name);
    if (t.n_dims != 2 || t.ne[0] != cols || t.ne[1] != rows)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' has shape [%lld, %lld] (dims %d), expected [%lld, %lld]",
                         b->path, name, (long long)t.ne[1], (long long)t.ne[0], t.n_dims, (long long)rows,
                         (long long)cols);
    if (!matmul_type_ok(t.type))
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: tensor '%s' has type %s, which has no matrix kernel", b->path,
                         name, smol_dtype_name(t.type) ? smol_dtype_name(t.type) : "unknown");
    w->data = t.data;
    w->type = t.type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = (size_t)smol_dtype_row_size(t.type, (uint64_t)cols);
    if (!w->row_bytes)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s': rows of %lld elements are not whole %s blocks", b->path, name,
                         (long long)cols, smol_dtype_name(t.type));
    return SMOL_OK;
}

/* Binds vector `name` of n elements as an f32 copy into *out; absent optional ones give NULL. */
static int bind_vector(binder *b, const char *name, int64_t n, int optional, const float **out, smol_error *err) {
    tensor_view t;
    *out = NULL;
    if (!b->find(b->src, name, &t)) {
        if (optional) return SMOL_OK;
        return smol_fail(err, SMOL_ENOTFOUND, "%s: tensor '%s' is missing", b->path, name);
    }
    if (t.n_dims != 1 || t.ne[0] != n)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' has %lld elements (dims %d), expected a vector of %lld",
                         b->path, name, (long long)(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]), t.n_dims, (long long)n);
    float *v = model_alloc(b->m, (size_t)n * sizeof(float));
    if (!v) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory for '%s'", b->path, name);
    if (to_f32(t.type, t.data, v, n) != SMOL_OK)
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: tensor '%s' has type %s; vectors must be f32, f16 or bf16",
                         b->path, name, smol_dtype_name(t.type) ? smol_dtype_name(t.type) : "unknown");
    *out = v;
    return SMOL_OK;
}

/* Binds layer il; names[] gives the source's names with one %d for the layer:
 * attn_norm q k v o ffn_norm gate up down bq bk bv. */
static int bind_layer(binder *b, int il, const char *const names[12], smol_error *err) {
    const smol_model_info *h = &b->m->info;
    smol_layer *L = &b->m->layers[il];
    int64_t nq = (int64_t)h->n_head * h->head_dim, nkv = (int64_t)h->n_head_kv * h->head_dim;
    char n[12][128];
    for (int i = 0; i < 12; i++) snprintf(n[i], sizeof n[i], names[i], il);
    int rc;
    if ((rc = bind_vector(b, n[0], h->n_embd, 0, &L->attn_norm, err)) ||
        (rc = bind_matrix(b, n[1], nq, h->n_embd, &L->wq, err)) ||
        (rc = bind_matrix(b, n[2], nkv, h->n_embd, &L->wk, err)) ||
        (rc = bind_matrix(b, n[3], nkv, h->n_embd, &L->wv, err)) ||
        (rc = bind_matrix(b, n[4], h->n_embd, nq, &L->wo, err)) ||
        (rc = bind_vector(b, n[5], h->n_embd, 0, &L->ffn_norm, err)) ||
        (rc = bind_matrix(b, n[6], h->n_ff, h->n_embd, &L->w_gate, err)) ||
        (rc = bind_matrix(b, n[7], h->n_ff, h->n_embd, &L->w_up, err)) ||
        (rc = bind_matrix(b, n[8], h->n_embd, h->n_ff, &L->w_down, err)))
        return rc;
    int need_bias = strcmp(h->arch, "qwen2") == 0;
    if ((rc = bind_vector(b, n[9], nq, !need_bias, &L->bq, err)) ||
        (rc = bind_vector(b, n[10], nkv, !need_bias, &L->bk, err)) ||
        (rc = bind_vector(b, n[11], nkv, !need_bias, &L->bv, err)))
        return rc;
    return SMOL_OK;
}

/* Binds everything once m->info is filled; tied output when output_name is absent. */
static int bind_all(binder *b, const char *embd_name, const char *norm_name, const char *output_name,
                    const char *const layer_names[12], smol_error *err) {
    smol_model *m = b->m;
    smol_model_info *h = &m->info;
    m->layers = model_alloc(m, (size_t)h->n_layer * sizeof *m->layers);
    if (!m->layers) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", b->path);
    memset(m->layers, 0, (size_t)h->n_layer * sizeof *m->layers);
    int rc = bind_matrix(b, embd_name, h->n_vocab, h->n_embd, &m->tok_embd, err);
    if (rc == SMOL_EUNSUPPORTED) rc = SMOL_OK;  /* embeddings are only read row by row */
    if (rc) return rc;
    tensor_view t;
    if (!b->find(b->src, embd_name, &t)) return SMOL_ENOTFOUND;
    m->tok_embd.data = t.data;
    m->tok_embd.type = t.type;
    m->tok_embd.row_bytes = (size_t)smol_dtype_row_size(t.type, (uint64_t)h->n_embd);
    if ((rc = bind_vector(b, norm_name, h->n_embd, 0, &m->output_norm, err))) return rc;
    if (output_name) {
        if ((rc = bind_matrix(b, output_name, h->n_vocab, h->n_embd, &m->output, err))) return rc;
    } else {
        if (!matmul_type_ok(m->tok_embd.type))
            return smol_fail(err, SMOL_EUNSUPPORTED, "%s: tied output '%s' has type %s, which has no matrix kernel",
                             b->path, embd_name, smol_dtype_name(m->tok_embd.type));
        m->output = m->tok_embd;
    }
    for (int il = 0; il < h->n_layer; il++)
        if ((rc = bind_layer(b, il, layer_names, err))) return rc;
    h->weight_type = m->layers[0].wq.type;
    uint64_t np = (uint64_t)h->n_vocab * h->n_embd * (m->output.data == m->tok_embd.data ? 1 : 2);
    np += (uint64_t)h->n_layer * ((uint64_t)m->layers[0].wq.rows * h->n_embd * 2 +
                                  (uint64_t)m->layers[0].wk.rows * h->n_embd * 2 + (uint64_t)h->n_ff * h->n_embd * 3);
    h->n_params = np;
    return SMOL_OK;
}

/* ---------------------------------------------------------------- RoPE frequencies */

typedef struct rope_scaling {
    int llama3;                 /* 1: llama3 frequency scaling */
    double factor, low, high;   /* llama3: factor, low_freq_factor, high_freq_factor */
    double orig_ctx;            /* llama3: original_max_position_embeddings */
    double linear;              /* linear scaling factor (1: none) */
    const float *freq_factors;  /* per-pair divisors (GGUF rope_freqs.weight), or NULL */
} rope_scaling;

/* Fills m->rope_inv_freq: theta^(-2i/d), then the model's scaling (as transformers computes it). */
static int make_rope(smol_model *m, const rope_scaling *s, smol_error *err) {
    int half = m->info.head_dim / 2;
    m->rope_inv_freq = model_alloc(m, (size_t)half * sizeof(float));
    if (!m->rope_inv_freq) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < half; i++) {
        double f = 1.0 / pow(m->info.rope_theta, (2.0 * i) / m->info.head_dim);
        if (s->freq_factors) f /= s->freq_factors[i];
        f /= s->linear;
        if (s->llama3) {
            double wavelen = 2 * M_PI / f, lo_wl = s->orig_ctx / s->low, hi_wl = s->orig_ctx / s->high;
            if (wavelen > lo_wl) f /= s->factor;
            else if (wavelen >= hi_wl) {
                double smooth = (s->orig_ctx / wavelen - s->low) / (s->high - s->low);
                f = (1 - smooth) * f / s->factor + smooth * f;
            }
        }
        m->rope_inv_freq[i] = (float)f;
    }
    return SMOL_OK;
}

/* ---------------------------------------------------------------- GGUF */

static int gguf_find(void *src, const char *name, tensor_view *out) {
    const smol_gguf_tensor *t = smol_gguf_find_tensor(src, name);
    if (!t) return 0;
    out->data = t->data;
    out->type = t->type;
    out->n_dims = (int)t->n_dims;
    for (int i = 0; i < 4; i++) out->ne[i] = t->ne[i];
    return 1;
}

/* Reads integer key {arch}.name into *out (keeping *out when absent and optional). */
static int gguf_hp_int(const smol_gguf *g, const char *arch, const char *name, int optional, int *out,
                       const char *path, smol_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    int64_t v;
    int rc = smol_gguf_get_int(g, key, &v);
    if (rc == SMOL_ENOTFOUND && optional) return SMOL_OK;
    if (rc) return smol_fail(err, rc == SMOL_ENOTFOUND ? SMOL_ENOTFOUND : SMOL_EFORMAT,
                             "%s: metadata key '%s' is %s", path, key, rc == SMOL_ENOTFOUND ? "missing" : "not an integer");
    if (v <= 0 || v > (1 << 30)) return smol_fail(err, SMOL_EFORMAT, "%s: metadata '%s' = %lld is out of range", path, key, (long long)v);
    *out = (int)v;
    return SMOL_OK;
}

static double gguf_hp_float(const smol_gguf *g, const char *arch, const char *name, double dflt) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, name);
    double v;
    return smol_gguf_get_float(g, key, &v) == SMOL_OK ? v : dflt;
}

static void add_eog(smol_model_info *h, int64_t id) {
    if (id < 0 || id >= h->n_vocab || h->n_eog >= 8) return;
    for (int i = 0; i < h->n_eog; i++)
        if (h->eog_ids[i] == id) return;
    h->eog_ids[h->n_eog++] = (int)id;
}

/* Special tokens: bos, and eos/eot plus the usual end-of-turn texts as end-of-generation. */
static void gguf_special_tokens(const smol_gguf *g, smol_model_info *h) {
    int64_t v;
    h->bos_id = smol_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &v) == SMOL_OK && v < h->n_vocab ? (int)v : -1;
    static const char *const keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                                       "tokenizer.ggml.eom_token_id"};
    for (int i = 0; i < 3; i++)
        if (smol_gguf_get_int(g, keys[i], &v) == SMOL_OK) add_eog(h, v);
    const smol_gguf_value *tv = smol_gguf_get(g, "tokenizer.ggml.tokens");
    if (!tv || tv->type != SMOL_GGUF_ARRAY || tv->arr_type != SMOL_GGUF_STRING) return;
    static const char *const eog_texts[] = {"<|im_end|>", "<|eot_id|>", "<|endoftext|>", "<|end_of_text|>", "<|eom_id|>"};
    for (uint64_t i = 0; i < tv->len && i < (uint64_t)h->n_vocab; i++)
        for (size_t k = 0; k < sizeof eog_texts / sizeof *eog_texts; k++)
            if (strcmp(tv->v.strs[i], eog_texts[k]) == 0) add_eog(h, (int64_t)i);
}

static int gguf_hparams(smol_model *m, const char *path, rope_scaling *rs, smol_error *err) {
    const smol_gguf *g = m->gguf;
    smol_model_info *h = &m->info;
    const char *arch = smol_gguf_get_str(g, "general.architecture");
    if (!arch) return smol_fail(err, SMOL_EFORMAT, "%s: metadata 'general.architecture' is missing", path);
    if (strcmp(arch, "llama") != 0 && strcmp(arch, "qwen2") != 0)
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: unknown architecture '%s' (supported: %s)", path, arch, k_archs);
    snprintf(h->arch, sizeof h->arch, "%s", arch);
    int rc;
    if ((rc = gguf_hp_int(g, arch, "embedding_length", 0, &h->n_embd, path, err)) ||
        (rc = gguf_hp_int(g, arch, "block_count", 0, &h->n_layer, path, err)) ||
        (rc = gguf_hp_int(g, arch, "feed_forward_length", 0, &h->n_ff, path, err)) ||
        (rc = gguf_hp_int(g, arch, "attention.head_count", 0, &h->n_head, path, err)))
        return rc;
    h->n_head_kv = h->n_head;
    h->head_dim = h->n_embd / h->n_head;
    h->n_ctx_train = 2048;
    int n_rot = 0;
    if ((rc = gguf_hp_int(g, arch, "attention.head_count_kv", 1, &h->n_head_kv, path, err)) ||
        (rc = gguf_hp_int(g, arch, "attention.key_length", 1, &h->head_dim, path, err)) ||
        (rc = gguf_hp_int(g, arch, "context_length", 1, &h->n_ctx_train, path, err)) ||
        (rc = gguf_hp_int(g, arch, "rope.dimension_count", 1, &n_rot, path, err)))
        return rc;
    if (n_rot && n_rot != h->head_dim)
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: partial rotary embeddings (rope.dimension_count %d < head size %d)",
                         path, n_rot, h->head_dim);
    h->norm_eps = (float)gguf_hp_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5);
    h->rope_theta = (float)gguf_hp_float(g, arch, "rope.freq_base", 10000.0);
    h->rope_neox = strcmp(arch, "qwen2") == 0;
    const smol_gguf_tensor *te = smol_gguf_find_tensor(g, "token_embd.weight");
    if (!te) return smol_fail(err, SMOL_ENOTFOUND, "%s: tensor 'token_embd.weight' is missing", path);
    h->n_vocab = (int)te->ne[1];
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    const char *st = smol_gguf_get_str(g, key);
    rs->linear = st && strcmp(st, "linear") == 0 ? gguf_hp_float(g, arch, "rope.scaling.factor", 1.0) : 1.0;
    const smol_gguf_tensor *ff = smol_gguf_find_tensor(g, "rope_freqs.weight");
    if (ff) {
        if (ff->type != SMOL_F32 || ff->ne[0] != h->head_dim / 2)
            return smol_fail(err, SMOL_EFORMAT, "%s: tensor 'rope_freqs.weight' must be f32 [%d]", path, h->head_dim / 2);
        rs->freq_factors = ff->data;
    }
    gguf_special_tokens(g, h);
    return SMOL_OK;
}

static int load_gguf(smol_model *m, const char *path, smol_error *err) {
    int rc = smol_gguf_open(path, &m->gguf, err);
    if (rc) return rc;
    rope_scaling rs = {.linear = 1.0};
    if ((rc = gguf_hparams(m, path, &rs, err))) return rc;
    if (m->info.head_dim % 2 || m->info.n_head % m->info.n_head_kv)
        return smol_fail(err, SMOL_EFORMAT, "%s: %d heads cannot share %d KV heads of size %d", path, m->info.n_head,
                         m->info.n_head_kv, m->info.head_dim);
    static const char *const names[12] = {
        "blk.%d.attn_norm.weight", "blk.%d.attn_q.weight", "blk.%d.attn_k.weight", "blk.%d.attn_v.weight",
        "blk.%d.attn_output.weight", "blk.%d.ffn_norm.weight", "blk.%d.ffn_gate.weight", "blk.%d.ffn_up.weight",
        "blk.%d.ffn_down.weight", "blk.%d.attn_q.bias", "blk.%d.attn_k.bias", "blk.%d.attn_v.bias"};
    binder b = {m, gguf_find, m->gguf, path};
    const char *output = smol_gguf_find_tensor(m->gguf, "output.weight") ? "output.weight" : NULL;
    if ((rc = bind_all(&b, "token_embd.weight", "output_norm.weight", output, names, err))) return rc;
    return make_rope(m, &rs, err);
}

/* ---------------------------------------------------------------- Hugging Face folder */

static int st_find(void *src, const char *name, tensor_view *out) {
    const smol_st_tensor *t = smol_st_find(src, name);
    if (!t) return 0;
    out->data = t->data;
    out->type = t->type < 0 ? UINT32_MAX : (uint32_t)t->type;
    out->n_dims = (int)t->n_dims;
    for (int i = 0; i < 4; i++) out->ne[i] = 1;
    for (uint32_t i = 0; i < t->n_dims && i < 4; i++) out->ne[i] = t->shape[t->n_dims - 1 - i];
    if (t->n_dims > 4) out->n_dims = 5;
    return 1;
}

static int hf_hparams(smol_model *m, const smol_hf_config *cf, const char *path, rope_scaling *rs, smol_error *err) {
    smol_model_info *h = &m->info;
    if (strcmp(cf->model_type, "llama") != 0 && strcmp(cf->model_type, "qwen2") != 0)
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: unknown architecture '%s' (supported: %s)", path, cf->architecture, k_archs);
    memcpy(h->arch, cf->model_type, strlen(cf->model_type) + 1);  /* "llama" or "qwen2" */
    h->n_vocab = cf->vocab_size;
    h->n_embd = cf->hidden_size;
    h->n_ff = cf->intermediate_size;
    h->n_layer = cf->num_hidden_layers;
    h->n_head = cf->num_attention_heads;
    h->n_head_kv = cf->num_key_value_heads;
    h->head_dim = cf->head_dim;
    h->n_ctx_train = cf->max_position_embeddings;
    h->norm_eps = (float)cf->rms_norm_eps;
    h->rope_theta = (float)cf->rope_theta;
    h->rope_neox = 1;
    h->bos_id = cf->bos_token_id;
    for (int i = 0; i < cf->n_eos_token_ids; i++) add_eog(h, cf->eos_token_ids[i]);
    if (h->n_vocab <= 0 || h->n_embd <= 0 || h->n_ff <= 0 || h->n_layer <= 0 || h->n_head <= 0 || h->n_head_kv <= 0 ||
        h->head_dim <= 0 || h->n_ctx_train <= 0)
        return smol_fail(err, SMOL_EFORMAT, "%s: config.json has a non-positive size", path);
    if (strcmp(cf->rope_type, "llama3") == 0) {
        rs->llama3 = 1;
        rs->factor = cf->rope_factor;
        rs->low = cf->rope_low_freq_factor;
        rs->high = cf->rope_high_freq_factor;
        rs->orig_ctx = cf->rope_original_max_position_embeddings;
        if (!(rs->high > rs->low) || !(rs->orig_ctx > 0))
            return smol_fail(err, SMOL_EFORMAT, "%s: llama3 rope scaling needs high_freq_factor > low_freq_factor", path);
    } else if (strcmp(cf->rope_type, "linear") == 0) {
        rs->linear = cf->rope_factor;
    } else if (strcmp(cf->rope_type, "default") != 0 && cf->rope_type[0]) {
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: rope_type '%s' is not supported (default, linear, llama3)", path,
                         cf->rope_type);
    }
    return SMOL_OK;
}

static int load_hf(smol_model *m, const char *dir, smol_error *err) {
    char cfg_path[4096];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    smol_hf_config cf;
    int rc = smol_hf_config_load(cfg_path, &cf, err);
    if (rc) return rc;
    rope_scaling rs = {.linear = 1.0};
    if ((rc = hf_hparams(m, &cf, dir, &rs, err))) return rc;
    if (m->info.head_dim % 2 || m->info.n_head % m->info.n_head_kv)
        return smol_fail(err, SMOL_EFORMAT, "%s: %d heads cannot share %d KV heads of size %d", dir, m->info.n_head,
                         m->info.n_head_kv, m->info.head_dim);
    smol_st *st = NULL;
    if ((rc = smol_st_open(dir, &st, err))) return rc;
    m->st = st;
    static const char *const names[12] = {
        "model.layers.%d.input_layernorm.weight", "model.layers.%d.self_attn.q_proj.weight",
        "model.layers.%d.self_attn.k_proj.weight", "model.layers.%d.self_attn.v_proj.weight",
        "model.layers.%d.self_attn.o_proj.weight", "model.layers.%d.post_attention_layernorm.weight",
        "model.layers.%d.mlp.gate_proj.weight", "model.layers.%d.mlp.up_proj.weight",
        "model.layers.%d.mlp.down_proj.weight", "model.layers.%d.self_attn.q_proj.bias",
        "model.layers.%d.self_attn.k_proj.bias", "model.layers.%d.self_attn.v_proj.bias"};
    binder b = {m, st_find, st, dir};
    const char *output = !cf.tie_word_embeddings || smol_st_find(st, "lm_head.weight") ? "lm_head.weight" : NULL;
    if ((rc = bind_all(&b, "model.embed_tokens.weight", "model.norm.weight", output, names, err))) return rc;
    return make_rope(m, &rs, err);
}

/* ---------------------------------------------------------------- public */

smol_model_params smol_model_default_params(void) {
    smol_model_params p = {.weight_type = SMOL_WEIGHTS_AS_STORED};
    return p;
}

int smol_model_load(const char *path, const smol_model_params *params, smol_model **out, smol_error *err) {
    *out = NULL;
    smol_model_params p = params ? *params : smol_model_default_params();
    smol_model *m = calloc(1, sizeof *m);
    if (!m) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    int rc = smol_is_dir(path) ? load_hf(m, path, err) : load_gguf(m, path, err);
    if (!rc && p.weight_type != SMOL_WEIGHTS_AS_STORED && p.weight_type != m->info.weight_type)
        rc = smol_model_convert_weights(m, p.weight_type, 0, err);
    if (rc) {
        smol_model_free(m);
        return rc;
    }
    *out = m;
    return SMOL_OK;
}

void smol_model_free(smol_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    smol_gguf_free(m->gguf);
    smol_st_free(m->st);
    free(m);
}

const smol_model_info *smol_model_get_info(const smol_model *m) { return &m->info; }

/* ---------------------------------------------------------------- weight conversion */

/* The type rows of `cols` elements get when t is asked for: t if its blocks fit, else q8_0
 * (rows of a multiple of 32, e.g. a 640-wide FFN with 256-blocks), else f16. */
static uint32_t fitting_type(uint32_t t, int64_t cols) {
    if (cols % smol_dtype_get(t)->block == 0) return t;
    return cols % 32 == 0 ? SMOL_Q8_0 : SMOL_F16;
}

static int convert_one(smol_model *m, smol_weight *w, uint32_t t, int back, float *row, smol_error *err) {
    t = fitting_type(t, w->cols);
    uint32_t final = back ? SMOL_F32 : t;
    size_t rb = (size_t)smol_dtype_row_size(t, (uint64_t)w->cols), fb = (size_t)smol_dtype_row_size(final, (uint64_t)w->cols);
    if (!rb) return smol_fail(err, SMOL_EINVAL, "cannot convert rows of %lld to %s", (long long)w->cols, smol_dtype_name(t));
    uint8_t *dst = model_alloc(m, fb * (size_t)w->rows), *tmp = back ? malloc(rb) : NULL;
    if (!dst || (back && !tmp)) {
        free(tmp);
        return smol_fail(err, SMOL_ENOMEM, "out of memory converting weights");
    }
    int rc = SMOL_OK;
    for (int64_t r = 0; r < w->rows && !rc; r++) {
        uint8_t *d = dst + (size_t)r * fb;
        rc = smol_weight_row_f32(w, r, row);
        if (!rc) rc = from_f32(t, row, back ? tmp : d, w->cols);
        if (!rc && back) rc = to_f32(t, tmp, (float *)d, w->cols);
    }
    free(tmp);
    if (rc) return smol_fail(err, SMOL_EUNSUPPORTED, "cannot convert %s weights to %s", smol_dtype_name(w->type), smol_dtype_name(t));
    w->data = dst;
    w->type = final;
    w->row_bytes = fb;
    return SMOL_OK;
}

int smol_model_convert_weights(smol_model *m, uint32_t t, int back_to_f32, smol_error *err) {
    if (!smol_dtype_get(t) || !smol_get_vec_dot(t))
        return smol_fail(err, SMOL_EINVAL, "weights cannot be converted to type %u (%s): it has no matrix kernel", t,
                         smol_dtype_name(t) ? smol_dtype_name(t) : "unknown");
    int64_t maxc = m->info.n_ff > m->info.n_embd ? m->info.n_ff : m->info.n_embd;
    maxc = maxc > (int64_t)m->info.n_head * m->info.head_dim ? maxc : (int64_t)m->info.n_head * m->info.head_dim;
    float *row = malloc((size_t)maxc * sizeof(float));
    if (!row) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    int tied = m->output.data == m->tok_embd.data, rc = SMOL_OK;
    for (int il = 0; il < m->info.n_layer && !rc; il++) {
        smol_layer *L = &m->layers[il];
        smol_weight *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7 && !rc; i++) rc = convert_one(m, ws[i], t, back_to_f32, row, err);
    }
    if (!rc) rc = convert_one(m, &m->output, t, back_to_f32, row, err);
    if (!rc && tied) m->tok_embd = m->output;
    free(row);
    if (!rc) m->info.weight_type = back_to_f32 ? SMOL_F32 : t;
    return rc;
}
