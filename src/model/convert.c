/* convert.c: writing GGUF models as llama.cpp's tools do: a Hugging Face folder (config.json,
 * safetensors, tokenizer.json) to GGUF with llama.cpp's names, keys and Q/K row order
 * (smol_convert_hf), and GGUF to GGUF with the weight matrices re-quantized by llama.cpp's
 * per-tensor rules (smol_quantize_gguf). Tensors are converted row by row on a thread pool while
 * the file is written (smol_gguf_writer_add_tensor_fill), and the file appears atomically. */
#include "model/convert.h"
#include "base/error.h"
#include "base/file.h"
#include "base/pool.h"
#include "model/dtype.h"
#include "model/hfconfig.h"
#include "model/quant.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILL_TASKS 32          /* pool tasks per chunk of rows */
#define MAX_NAME 96

/* ---------------------------------------------------------------- tokenizer keys */

void smol_vocab_free(smol_vocab *v) {
    for (int i = 0; i < v->n; i++) free(v->tokens[i]);
    for (int i = 0; i < v->n_merges; i++) free(v->merges[i]);
    free(v->tokens);
    free(v->types);
    free(v->merges);
    free(v->chat_template);
}

static int vocab_alloc(smol_vocab *v, int n, smol_error *err) {
    memset(v, 0, sizeof *v);
    v->bos = v->eos = v->pad = -1;
    v->tokens = calloc((size_t)n, sizeof *v->tokens);
    v->types = calloc((size_t)n, sizeof *v->types);
    v->n = n;
    if (v->tokens && v->types) return SMOL_OK;
    err->code = SMOL_ENOMEM;
    snprintf(err->msg, sizeof err->msg, "out of memory for %d tokens", n);
    return SMOL_ENOMEM;
}

/* Writes code point cp as UTF-8 into out (at least 3 bytes for cp < 0x800 + NUL). */
static void utf8_put(unsigned cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        out[2] = 0;
    }
}

static const char k_chatml[] =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/* The built-in vocabulary: 256 byte tokens in GPT-2's byte-to-unicode spelling, then
 * <|endoftext|>, <|im_start|>, <|im_end|> and <|reserved_N|> fillers (control tokens), no merges. */
int smol_vocab_builtin(smol_vocab *v, int n_vocab, smol_error *err) {
    if (n_vocab < 259) {
        err->code = SMOL_ERANGE;
        snprintf(err->msg, sizeof err->msg, "vocab size %d is too small for the built-in byte vocabulary (259)", n_vocab);
        return SMOL_ERANGE;
    }
    int rc = vocab_alloc(v, n_vocab, err);
    if (rc) return rc;
    unsigned extra = 256;  /* bytes that are not printable get code points from 256 up, in order */
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        char s[4];
        utf8_put(printable ? (unsigned)b : extra++, s);
        v->tokens[b] = strdup(s);
        v->types[b] = 1;
    }
    static const char *const named[3] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    for (int i = 256; i < n_vocab; i++) {
        char s[32];
        if (i < 259) snprintf(s, sizeof s, "%s", named[i - 256]);
        else snprintf(s, sizeof s, "<|reserved_%d|>", i - 259);
        v->tokens[i] = strdup(s);
        v->types[i] = 3;
    }
    for (int i = 0; i < n_vocab; i++)
        if (!v->tokens[i]) return SMOL_ENOMEM;
    v->pre = "gpt-2";
    v->bos = 256;
    v->eos = 258;
    v->pad = 256;
    v->add_bos = 0;
    v->chat_template = strdup(k_chatml);
    return SMOL_OK;
}

/* llama.cpp's tokenizer.ggml.pre for a tokenizer.json pre_tokenizer: SmolLM2's
 * (individual Digits + ByteLevel) is "smollm"; a Split regex with \p{N}{1,3} is Llama 3's
 * "llama-bpe"; the same regex with single \p{N} is "qwen2"; ByteLevel alone is "gpt-2". */
static const char *detect_pre(const cJSON *pre) {
    if (!pre || cJSON_IsNull(pre)) return NULL;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(pre, "type"));
    if (type && strcmp(type, "ByteLevel") == 0) return "gpt-2";
    const cJSON *list = cJSON_GetObjectItem(pre, "pretokenizers");
    int digits = 0, bytelevel = 0;
    const char *regex = NULL;
    const cJSON *it;
    cJSON_ArrayForEach(it, list) {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(it, "type"));
        if (!t) continue;
        if (strcmp(t, "Digits") == 0 && cJSON_IsTrue(cJSON_GetObjectItem(it, "individual_digits"))) digits = 1;
        if (strcmp(t, "ByteLevel") == 0) bytelevel = 1;
        if (strcmp(t, "Split") == 0) regex = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(it, "pattern"), "Regex"));
    }
    if (regex && strstr(regex, "\\p{N}{1,3}")) return "llama-bpe";
    if (regex && strstr(regex, "(?i:'s|'t|'re|'ve|'m|'ll|'d)") && strstr(regex, "\\p{N}")) return "qwen2";
    if (digits && bytelevel && !regex) return "smollm";
    if (bytelevel && !regex) return "gpt-2";
    return NULL;
}

/* The id of token text s, or -1. */
static int find_token(const smol_vocab *v, const char *s) {
    for (int i = 0; i < v->n; i++)
        if (v->tokens[i] && strcmp(v->tokens[i], s) == 0) return i;
    return -1;
}

/* A special-token field of tokenizer_config.json: a string or {"content": ...}. */
static int config_token(const smol_vocab *v, const cJSON *cfg, const char *field) {
    const cJSON *x = cJSON_GetObjectItem(cfg, field);
    const char *s = cJSON_IsString(x) ? x->valuestring : cJSON_GetStringValue(cJSON_GetObjectItem(x, "content"));
    return s ? find_token(v, s) : -1;
}

/* 1 if the post-processor puts a special token before the text (Llama 3 adds <|begin_of_text|>). */
static int post_adds_bos(const cJSON *post) {
    if (!post) return 0;
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(post, "type"));
    if (type && strcmp(type, "TemplateProcessing") == 0) {
        const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(post, "single"), 0);
        return cJSON_GetObjectItem(first, "SpecialToken") != NULL;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(post, "processors")) if (post_adds_bos(it)) return 1;
    return 0;
}

static int tok_fail(smol_error *err, int code, const char *path, const char *what) {
    err->code = code;
    snprintf(err->msg, sizeof err->msg, "%s: %s", path, what);
    return code;
}

/* Reads path as JSON; SMOL_EFORMAT naming path when it does not parse. */
static int load_json(const char *path, cJSON **out, smol_error *err) {
    char *text;
    size_t n;
    int rc = smol_read_file(path, &text, &n, err);
    if (rc) return rc;
    *out = cJSON_ParseWithLength(text, n);
    free(text);
    return *out ? SMOL_OK : tok_fail(err, SMOL_EFORMAT, path, "not valid JSON");
}

/* Fills v->tokens from model.vocab and added_tokens; ids past n_vocab are an error. */
static int read_tokens(smol_vocab *v, const cJSON *root, const char *path, smol_error *err) {
    const cJSON *it;
    char msg[256];
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "vocab")) {
        int id = cJSON_IsNumber(it) ? it->valueint : -1;
        if (id < 0 || id >= v->n) {
            snprintf(msg, sizeof msg, "token '%.80s' has id %d, outside the architecture's vocab of %d", it->string, id, v->n);
            return tok_fail(err, SMOL_ERANGE, path, msg);
        }
        free(v->tokens[id]);
        v->tokens[id] = strdup(it->string);
        v->types[id] = 1;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "added_tokens")) {
        const cJSON *idj = cJSON_GetObjectItem(it, "id");
        const char *content = cJSON_GetStringValue(cJSON_GetObjectItem(it, "content"));
        int id = cJSON_IsNumber(idj) ? idj->valueint : -1;
        if (!content || id < 0 || id >= v->n) {
            snprintf(msg, sizeof msg, "added token %d ('%.80s') is outside the architecture's vocab of %d", id,
                     content ? content : "?", v->n);
            return tok_fail(err, SMOL_ERANGE, path, msg);
        }
        free(v->tokens[id]);
        v->tokens[id] = strdup(content);
        v->types[id] = cJSON_IsTrue(cJSON_GetObjectItem(it, "special")) ? 3 : 4;
    }
    for (int i = 0; i < v->n; i++) {
        if (v->tokens[i]) continue;
        char pad[32];
        snprintf(pad, sizeof pad, "[PAD%d]", i);  /* ids the tokenizer does not use, as llama.cpp names them */
        v->tokens[i] = strdup(pad);
        v->types[i] = 5;
        if (!v->tokens[i]) return tok_fail(err, SMOL_ENOMEM, path, "out of memory");
    }
    return SMOL_OK;
}

/* Copies model.merges: "a b" strings, or ["a", "b"] pairs joined with a space. */
static int read_merges(smol_vocab *v, const cJSON *root, const char *path, smol_error *err) {
    const cJSON *merges = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "merges");
    int n = cJSON_GetArraySize(merges);
    v->merges = calloc((size_t)(n ? n : 1), sizeof *v->merges);
    if (!v->merges) return tok_fail(err, SMOL_ENOMEM, path, "out of memory");
    const cJSON *it;
    cJSON_ArrayForEach(it, merges) {
        char *m = NULL;
        if (cJSON_IsString(it)) {
            m = strdup(it->valuestring);
        } else if (cJSON_GetArraySize(it) == 2 && cJSON_IsString(cJSON_GetArrayItem(it, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(it, 1))) {
            const char *a = cJSON_GetArrayItem(it, 0)->valuestring, *b = cJSON_GetArrayItem(it, 1)->valuestring;
            m = malloc(strlen(a) + strlen(b) + 2);
            if (m) sprintf(m, "%s %s", a, b);
        } else {
            char msg[96];
            snprintf(msg, sizeof msg, "merge %d is neither \"a b\" nor [\"a\", \"b\"]", v->n_merges);
            return tok_fail(err, SMOL_EFORMAT, path, msg);
        }
        if (!m) return tok_fail(err, SMOL_ENOMEM, path, "out of memory");
        v->merges[v->n_merges++] = m;
    }
    return SMOL_OK;
}

/* Special ids, add_bos and the chat template from tokenizer_config.json beside the tokenizer. */
static void read_config(smol_vocab *v, const cJSON *root, const char *tok_path) {
    char cfg_path[4096];
    const char *slash = strrchr(tok_path, '/');
    int dir_len = slash ? (int)(slash - tok_path) + 1 : 0;
    snprintf(cfg_path, sizeof cfg_path, "%.*stokenizer_config.json", dir_len, tok_path);
    v->add_bos = post_adds_bos(cJSON_GetObjectItem(root, "post_processor"));
    cJSON *cfg = NULL;
    smol_error e = {0};
    if (load_json(cfg_path, &cfg, &e) != SMOL_OK) {
        if (!v->note[0]) snprintf(v->note, sizeof v->note, "no tokenizer_config.json beside the tokenizer (%.400s): no chat template", e.msg);
        return;
    }
    v->bos = config_token(v, cfg, "bos_token");
    v->eos = config_token(v, cfg, "eos_token");
    v->pad = config_token(v, cfg, "pad_token");
    const cJSON *add = cJSON_GetObjectItem(cfg, "add_bos_token");
    if (cJSON_IsBool(add)) v->add_bos = cJSON_IsTrue(add);
    const cJSON *tmpl = cJSON_GetObjectItem(cfg, "chat_template"), *it;
    if (cJSON_IsString(tmpl)) v->chat_template = strdup(tmpl->valuestring);
    const cJSON *list = cJSON_IsArray(tmpl) ? tmpl : NULL;
    cJSON_ArrayForEach(it, list) {  /* [{"name": "default", "template": ...}] */
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(it, "template"));
        if (name && t && strcmp(name, "default") == 0 && !v->chat_template) v->chat_template = strdup(t);
    }
    cJSON_Delete(cfg);
}

/* A Hugging Face byte-level BPE tokenizer.json, embedded as llama.cpp's converter does. */
int smol_vocab_from_hf(smol_vocab *v, const char *path, int n_vocab, smol_error *err) {
    cJSON *root;
    int rc = load_json(path, &root, err);
    if (rc) return rc;
    const char *mtype = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "type"));
    if (!mtype || strcmp(mtype, "BPE") != 0) rc = tok_fail(err, SMOL_EUNSUPPORTED, path, "model.type is not \"BPE\"");
    if (!rc) rc = vocab_alloc(v, n_vocab, err);
    if (!rc) rc = read_tokens(v, root, path, err);
    if (!rc) rc = read_merges(v, root, path, err);
    if (!rc) {
        v->pre = detect_pre(cJSON_GetObjectItem(root, "pre_tokenizer"));
        if (!v->pre) {
            snprintf(v->note, sizeof v->note, "%s: unrecognised pre_tokenizer; writing tokenizer.ggml.pre \"default\"", path);
            v->pre = "default";
        }
        read_config(v, root, path);
    }
    cJSON_Delete(root);
    return rc;
}

int smol_vocab_write(smol_gguf_writer *w, const smol_vocab *v, smol_error *err) {
    int rc = smol_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", err) ||
             smol_gguf_writer_set_str(w, "tokenizer.ggml.pre", v->pre, err) ||
             smol_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->tokens, (uint64_t)v->n, err) ||
             smol_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", SMOL_GGUF_INT32, v->types, (uint64_t)v->n, err) ||
             smol_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v->merges,
                                          (uint64_t)v->n_merges, err);
    if (!rc && v->bos >= 0) rc = smol_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos, err);
    if (!rc && v->eos >= 0) rc = smol_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos, err);
    if (!rc && v->pad >= 0) rc = smol_gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)v->pad, err);
    if (!rc) rc = smol_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", v->add_bos != 0, err);
    if (!rc && v->chat_template) rc = smol_gguf_writer_set_str(w, "tokenizer.chat_template", v->chat_template, err);
    return rc ? err->code : SMOL_OK;
}

/* ---------------------------------------------------------------- tensor types */

int smol_quant_use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

uint32_t smol_quant_fallback_type(uint32_t t, int64_t ne0) {
    const smol_dtype_info *ti = smol_dtype_get(t);
    if (ne0 % ti->block == 0) return t;
    switch (t) {
    case SMOL_Q4_K: t = SMOL_Q5_0; break;
    case SMOL_Q5_K: t = SMOL_Q5_1; break;
    case SMOL_Q6_K: t = SMOL_Q8_0; break;
    case SMOL_Q2_K: case SMOL_Q3_K: t = SMOL_IQ4_NL; break;
    default: return SMOL_F16;
    }
    return ne0 % smol_dtype_get(t)->block == 0 ? t : SMOL_F16;
}

uint32_t smol_quant_file_type(int target) {
    switch (target) {
    case SMOL_F32: return 0;
    case SMOL_F16: return 1;
    case SMOL_Q4_0: return 2;
    case SMOL_Q4_1: return 3;
    case SMOL_Q8_0: return 7;
    case SMOL_Q5_0: return 8;
    case SMOL_Q5_1: return 9;
    case SMOL_Q2_K: return 10;
    case SMOL_Q3_K: return 11;  /* Q3_K_S */
    case SMOL_Q4_K: return 14;  /* Q4_K_S */
    case SMOL_TYPE_Q4_K_M: return 15;
    case SMOL_Q5_K: return 16;  /* Q5_K_S */
    case SMOL_Q6_K: return 18;
    case SMOL_BF16: return 32;
    default: return 0;
    }
}

static int is_float_type(uint32_t t) { return t == SMOL_F32 || t == SMOL_F16 || t == SMOL_BF16; }

uint32_t smol_quant_tensor_type(int target, int pure, const char *role, int layer, int n_layer, int64_t ne0,
                                int has_output) {
    uint32_t base = target == SMOL_TYPE_Q4_K_M ? SMOL_Q4_K : (uint32_t)target, t = base;
    if (is_float_type(base)) return base;
    if (!pure) {
        int is_output = strcmp(role, "output") == 0 || (!has_output && strcmp(role, "token_embd") == 0);
        int mix = target == SMOL_TYPE_Q4_K_M && layer >= 0 && smol_quant_use_more_bits(layer, n_layer) &&
                  (strcmp(role, "attn_v") == 0 || strcmp(role, "ffn_down") == 0);
        if (is_output) t = ne0 % smol_dtype_get(base)->block != 0 || base == SMOL_Q8_0 ? SMOL_Q8_0 : SMOL_Q6_K;
        else if (mix) t = SMOL_Q6_K;
    }
    return smol_quant_fallback_type(t, ne0);
}

/* ---------------------------------------------------------------- converting tensors */

/* Where the rows of one output tensor come from: rows of a source tensor (any float or quantized
 * type), optionally permuted (llama.cpp's Q/K order for llama: within each head of hd rows,
 * source row j * hd/2 + i becomes row 2i + j). */
typedef struct conv_tensor {
    char name[MAX_NAME];
    uint32_t type;              /* output type */
    uint32_t n_dims;
    int64_t ne[4];
    const void *src;
    uint32_t src_type;
    size_t src_row_bytes;
    int64_t perm_hd;            /* head size of the permutation; 0 for none */
    struct conv_job *job;
} conv_tensor;

/* What the tensors being written share: the pool, per-thread row scratch, progress. */
typedef struct conv_job {
    smol_pool *pool;
    int n_threads;
    float **scratch;            /* [threads][max row] */
    conv_tensor *tensors;
    int n, cap;
    int written;
    smol_convert_params p;
} conv_job;

typedef struct fill_ctx {
    const conv_tensor *t;
    int64_t row0, n_rows, per_task;
    uint8_t *out;
    size_t row_bytes;
    int rc[FILL_TASKS];
} fill_ctx;

static int64_t source_row(const conv_tensor *t, int64_t r) {
    if (!t->perm_hd) return r;
    int64_t h = r / t->perm_hd, k = r % t->perm_hd;
    return h * t->perm_hd + (k % 2) * (t->perm_hd / 2) + k / 2;
}

static void fill_task(void *ctx, int task, int thread) {
    fill_ctx *f = ctx;
    const conv_tensor *t = f->t;
    float *x = t->job->scratch[thread];
    int64_t r0 = task * f->per_task, r1 = r0 + f->per_task < f->n_rows ? r0 + f->per_task : f->n_rows;
    if (t->n_dims == 1 && t->perm_hd) {  /* a permuted bias: one row of f32, element by element */
        if (task == 0) f->rc[0] = smol_dequantize_row(t->src_type, t->src, x, t->ne[0]);
        for (int64_t k = 0; task == 0 && !f->rc[0] && k < t->ne[0]; k++) ((float *)f->out)[k] = x[source_row(t, k)];
        return;
    }
    for (int64_t r = r0; r < r1 && !f->rc[task]; r++) {
        if (t->type == t->src_type && !t->perm_hd) {  /* same type: the bytes as they are */
            memcpy(f->out + (size_t)r * f->row_bytes, (const uint8_t *)t->src + (size_t)(f->row0 + r) * t->src_row_bytes,
                   f->row_bytes);
            continue;
        }
        const uint8_t *src = (const uint8_t *)t->src + (size_t)source_row(t, f->row0 + r) * t->src_row_bytes;
        f->rc[task] = smol_dequantize_row(t->src_type, src, x, t->ne[0]);
        if (!f->rc[task]) f->rc[task] = smol_quantize_row(t->type, x, f->out + (size_t)r * f->row_bytes, t->ne[0]);
    }
}

static void note(const conv_job *j, const char *fmt, ...) SMOL_PRINTF(2, 3);

/* smol_gguf_fill_fn: rows of t converted to its type on the pool's threads. */
static int fill_tensor(void *ctx, int64_t row0, int64_t n_rows, void *buf, smol_error *err) {
    conv_tensor *t = ctx;
    conv_job *j = t->job;
    if (row0 == 0) {
        j->written++;
        char shape[64];
        if (t->n_dims == 1) snprintf(shape, sizeof shape, "[%lld]", (long long)t->ne[0]);
        else snprintf(shape, sizeof shape, "[%lld, %lld]", (long long)t->ne[0], (long long)t->ne[1]);
        note(j, "[%4d/%4d] %-32s %-6s -> %-6s %s", j->written, j->n, t->name, smol_dtype_name(t->src_type),
             smol_dtype_name(t->type), shape);
    }
    fill_ctx f = {.t = t, .row0 = row0, .n_rows = n_rows, .out = buf,
                  .row_bytes = (size_t)smol_dtype_row_size(t->type, (uint64_t)t->ne[0])};
    f.per_task = (n_rows + FILL_TASKS - 1) / FILL_TASKS;
    int n_tasks = (int)((n_rows + f.per_task - 1) / f.per_task);
    smol_pool_run(j->pool, n_tasks, fill_task, &f);
    for (int i = 0; i < n_tasks; i++)
        if (f.rc[i])
            return smol_fail(err, f.rc[i], "tensor '%s': cannot convert %s rows to %s", t->name,
                             smol_dtype_name(t->src_type), smol_dtype_name(t->type));
    return SMOL_OK;
}

static void note(const conv_job *j, const char *fmt, ...) {
    if (!j->p.log) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    j->p.log(j->p.log_user, msg);
}

static conv_tensor *job_add(conv_job *j, const char *name, smol_error *err) {
    if (j->n == j->cap) {
        int cap = j->cap ? 2 * j->cap : 64;
        conv_tensor *t = realloc(j->tensors, (size_t)cap * sizeof *t);
        if (!t) return smol_fail(err, SMOL_ENOMEM, "out of memory"), NULL;
        j->tensors = t;
        j->cap = cap;
    }
    conv_tensor *t = &j->tensors[j->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ne[0] = t->ne[1] = t->ne[2] = t->ne[3] = 1;
    return t;
}

/* The pool and scratch rows of max_cols floats per thread. */
static int job_start(conv_job *j, int64_t max_cols, smol_error *err) {
    j->n_threads = j->p.n_threads > 0 ? j->p.n_threads : smol_physical_cores();
    j->pool = j->n_threads > 1 ? smol_pool_new(j->n_threads) : NULL;
    j->scratch = calloc((size_t)j->n_threads, sizeof *j->scratch);
    int ok = j->scratch && (j->n_threads == 1 || j->pool);
    for (int i = 0; ok && i < j->n_threads; i++) ok = (j->scratch[i] = malloc((size_t)max_cols * sizeof(float))) != NULL;
    return ok ? SMOL_OK : smol_fail(err, SMOL_ENOMEM, "out of memory for %d threads' rows of %lld", j->n_threads,
                                    (long long)max_cols);
}

static void job_free(conv_job *j) {
    for (int i = 0; j->scratch && i < j->n_threads; i++) free(j->scratch[i]);
    free(j->scratch);
    smol_pool_free(j->pool);
    free(j->tensors);
}

/* Adds every planned tensor to w (filled at write time) and writes the file atomically. */
static int job_write(conv_job *j, smol_gguf_writer *w, const char *out, smol_error *err) {
    int rc = SMOL_OK;
    for (int i = 0; i < j->n && !rc; i++) {
        conv_tensor *t = &j->tensors[i];
        t->job = j;
        if (!smol_dtype_row_size(t->type, (uint64_t)t->ne[0]))
            return smol_fail(err, SMOL_EINVAL, "tensor '%s': rows of %lld elements are not whole %s blocks", t->name,
                             (long long)t->ne[0], smol_dtype_name(t->type));
        rc = smol_gguf_writer_add_tensor_fill(w, t->name, t->type, t->n_dims, t->ne, fill_tensor, t, err);
    }
    if (!rc) rc = smol_gguf_writer_write(w, out, err);
    return rc;
}

/* The role of a GGUF tensor name ("blk.3.attn_v.weight" -> "attn_v", layer 3). */
static void tensor_role(const char *name, char *role, size_t cap, int *layer) {
    *layer = -1;
    const char *p = name;
    if (strncmp(name, "blk.", 4) == 0) {
        char *end;
        long l = strtol(name + 4, &end, 10);
        if (*end == '.') {
            *layer = (int)l;
            p = end + 1;
        }
    }
    size_t n = strcspn(p, ".");
    snprintf(role, cap, "%.*s", (int)n, p);
}

/* The output type of a weight tensor of the model (1-D tensors stay f32, as llama.cpp keeps them). */
static uint32_t pick_type(const smol_convert_params *p, const char *name, uint32_t n_dims, int64_t ne0, uint32_t stored,
                          int n_layer, int has_output) {
    if (n_dims < 2 || strcmp(name, "rope_freqs.weight") == 0) return SMOL_F32;
    if (p->type == SMOL_TYPE_AS_STORED) return stored;
    char role[64];
    int layer;
    tensor_role(name, role, sizeof role, &layer);
    return smol_quant_tensor_type(p->type, p->pure, role, layer, n_layer, ne0, has_output);
}

/* ---------------------------------------------------------------- Hugging Face -> GGUF */

typedef struct hf_src {
    const char *dir;
    smol_hf_config cf;
    smol_st *st;
    int is_llama;
    int has_output;
} hf_src;

/* Plans GGUF tensor gg from safetensors tensor hf (required unless optional); perm_heads > 0
 * permutes rows for llama's rope order. */
static int plan_hf(conv_job *j, hf_src *s, const char *hf, const char *gg, int optional, int perm_heads, smol_error *err) {
    const smol_st_tensor *t = smol_st_find(s->st, hf);
    if (!t) return optional ? SMOL_OK : smol_fail(err, SMOL_ENOTFOUND, "%s: tensor '%s' is missing", s->dir, hf);
    if (t->n_dims < 1 || t->n_dims > 2)
        return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' has %u dimensions, expected 1 or 2", s->dir, hf, t->n_dims);
    if (t->type != SMOL_F32 && t->type != SMOL_F16 && t->type != SMOL_BF16)
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: tensor '%s' has dtype %s; F32, F16 and BF16 are supported", s->dir,
                         hf, t->dtype);
    conv_tensor *c = job_add(j, gg, err);
    if (!c) return SMOL_ENOMEM;
    c->n_dims = t->n_dims;
    c->ne[0] = t->shape[t->n_dims - 1];
    c->ne[1] = t->n_dims == 2 ? t->shape[0] : 1;
    c->src = t->data;
    c->src_type = (uint32_t)t->type;
    c->src_row_bytes = (size_t)smol_dtype_row_size(c->src_type, (uint64_t)c->ne[0]);
    int64_t rows = t->n_dims == 2 ? c->ne[1] : c->ne[0];
    if (perm_heads > 0) {
        if (rows % perm_heads || (rows / perm_heads) % 2)
            return smol_fail(err, SMOL_EFORMAT, "%s: tensor '%s' has %lld rows, not %d heads of an even size", s->dir, hf,
                             (long long)rows, perm_heads);
        c->perm_hd = rows / perm_heads;  /* a 1-D bias is permuted element by element */
    }
    c->type = pick_type(&j->p, gg, c->n_dims, c->ne[0], c->src_type, s->cf.num_hidden_layers, s->has_output);
    return SMOL_OK;
}

/* llama.cpp's rope_freqs.weight for llama3 scaling: the divisor of each rotary frequency. */
static void llama3_freq_factors(const smol_hf_config *cf, float *out, int half) {
    double lo_wl = cf->rope_original_max_position_embeddings / cf->rope_low_freq_factor;
    double hi_wl = cf->rope_original_max_position_embeddings / cf->rope_high_freq_factor;
    for (int i = 0; i < half; i++) {
        double freq = 1.0 / pow(cf->rope_theta, 2.0 * i / (2.0 * half)), wl = 2 * M_PI / freq;
        if (wl < hi_wl) out[i] = 1.0f;
        else if (wl > lo_wl) out[i] = (float)cf->rope_factor;
        else {
            double smooth = (cf->rope_original_max_position_embeddings / wl - cf->rope_low_freq_factor) /
                            (cf->rope_high_freq_factor - cf->rope_low_freq_factor);
            out[i] = (float)(1.0 / ((1 - smooth) / cf->rope_factor + smooth));
        }
    }
}

/* general.* and {arch}.* keys as llama.cpp's converter writes them. */
static int hf_hparams(smol_gguf_writer *w, const hf_src *s, const smol_convert_params *p, smol_error *err) {
    const smol_hf_config *cf = &s->cf;
    const char *a = cf->model_type, *base = strrchr(s->dir, '/');
    char name[256], k[128];
    snprintf(name, sizeof name, "%s", base && base[1] ? base + 1 : s->dir);
    if (!name[0] || (base && !base[1])) {  /* "dir/": the last non-empty component */
        size_t n = strlen(s->dir);
        while (n > 1 && s->dir[n - 1] == '/') n--;
        size_t b = n;
        while (b > 0 && s->dir[b - 1] != '/') b--;
        snprintf(name, sizeof name, "%.*s", (int)(n - b), s->dir + b);
    }
    int ft = p->type == SMOL_TYPE_AS_STORED ? -1 : p->type;
    uint32_t file_type = ft >= 0 || ft == SMOL_TYPE_Q4_K_M ? smol_quant_file_type(ft) : 0;
    if (ft == -1) {  /* as stored: the type of the embedding */
        const smol_st_tensor *e = smol_st_find(s->st, "model.embed_tokens.weight");
        file_type = e ? smol_quant_file_type(e->type) : 0;
    }
    int rc = smol_gguf_writer_set_str(w, "general.architecture", a, err) ||
             smol_gguf_writer_set_str(w, "general.type", "model", err) ||
             smol_gguf_writer_set_str(w, "general.name", name, err) ||
             smol_gguf_writer_set_u32(w, "general.file_type", file_type, err) ||
             smol_gguf_writer_set_u32(w, "general.quantization_version", 2, err);
#define SET_U32(key, v) (snprintf(k, sizeof k, "%s." key, a), smol_gguf_writer_set_u32(w, k, (uint32_t)(v), err))
#define SET_F32(key, v) (snprintf(k, sizeof k, "%s." key, a), smol_gguf_writer_set_f32(w, k, (float)(v), err))
    rc = rc || SET_U32("block_count", cf->num_hidden_layers) || SET_U32("context_length", cf->max_position_embeddings) ||
         SET_U32("embedding_length", cf->hidden_size) || SET_U32("feed_forward_length", cf->intermediate_size) ||
         SET_U32("attention.head_count", cf->num_attention_heads) ||
         SET_U32("attention.head_count_kv", cf->num_key_value_heads) || SET_F32("rope.freq_base", cf->rope_theta) ||
         SET_F32("attention.layer_norm_rms_epsilon", cf->rms_norm_eps);
    if (!rc && cf->head_dim != cf->hidden_size / cf->num_attention_heads)
        rc = SET_U32("attention.key_length", cf->head_dim) || SET_U32("attention.value_length", cf->head_dim);
    if (!rc) rc = SET_U32("vocab_size", cf->vocab_size) || SET_U32("rope.dimension_count", cf->head_dim);
    if (!rc && strcmp(cf->rope_type, "linear") == 0) {
        snprintf(k, sizeof k, "%s.rope.scaling.type", a);
        rc = smol_gguf_writer_set_str(w, k, "linear", err) || SET_F32("rope.scaling.factor", cf->rope_factor);
    }
#undef SET_U32
#undef SET_F32
    return rc ? (err && err->code ? err->code : SMOL_ENOMEM) : SMOL_OK;
}

/* The tokenizer: p->tokenizer, else DIR/tokenizer.json, else the built-in byte vocabulary. */
static int hf_tokenizer(smol_gguf_writer *w, const hf_src *s, conv_job *j, smol_error *err) {
    char path[4200];
    if (j->p.tokenizer) snprintf(path, sizeof path, "%s", j->p.tokenizer);
    else snprintf(path, sizeof path, "%s/tokenizer.json", s->dir);
    smol_vocab v;
    memset(&v, 0, sizeof v);
    int rc;
    if (j->p.tokenizer || smol_exists(path)) {
        rc = smol_vocab_from_hf(&v, path, s->cf.vocab_size, err);
    } else {
        note(j, "warning: %s has no tokenizer.json: writing the built-in byte vocabulary of %d tokens", s->dir,
             s->cf.vocab_size);
        rc = smol_vocab_builtin(&v, s->cf.vocab_size, err);
        v.bos = v.eos = v.pad = -1;  /* the model's own special ids (config.json) are the ones that mean something */
    }
    if (!rc && v.note[0]) note(j, "warning: %s", v.note);
    if (!rc && v.bos < 0 && s->cf.bos_token_id >= 0 && s->cf.bos_token_id < v.n) v.bos = s->cf.bos_token_id;
    if (!rc && v.eos < 0 && s->cf.n_eos_token_ids > 0 && s->cf.eos_token_ids[0] >= 0 && s->cf.eos_token_ids[0] < v.n)
        v.eos = s->cf.eos_token_ids[0];
    if (!rc) rc = smol_vocab_write(w, &v, err);
    smol_vocab_free(&v);
    return rc;
}

/* Every tensor of the model, in llama.cpp's names and the order `smol make-model` writes them. */
static int hf_plan(conv_job *j, hf_src *s, float *freqs, smol_error *err) {
    const smol_hf_config *cf = &s->cf;
    int rc = SMOL_OK;
    if (strcmp(cf->rope_type, "llama3") == 0) {
        conv_tensor *t = job_add(j, "rope_freqs.weight", err);
        if (!t) return SMOL_ENOMEM;
        llama3_freq_factors(cf, freqs, cf->head_dim / 2);
        t->n_dims = 1;
        t->ne[0] = cf->head_dim / 2;
        t->src = freqs;
        t->src_type = t->type = SMOL_F32;
        t->src_row_bytes = (size_t)t->ne[0] * sizeof(float);
    }
    rc = plan_hf(j, s, "model.embed_tokens.weight", "token_embd.weight", 0, 0, err);
    static const struct { const char *hf, *gg; int perm, optional; } blk[] = {
        {"input_layernorm.weight", "attn_norm.weight", 0, 0}, {"self_attn.q_proj.weight", "attn_q.weight", 1, 0},
        {"self_attn.q_proj.bias", "attn_q.bias", 1, 1}, {"self_attn.k_proj.weight", "attn_k.weight", 2, 0},
        {"self_attn.k_proj.bias", "attn_k.bias", 2, 1}, {"self_attn.v_proj.weight", "attn_v.weight", 0, 0},
        {"self_attn.v_proj.bias", "attn_v.bias", 0, 1}, {"self_attn.o_proj.weight", "attn_output.weight", 0, 0},
        {"post_attention_layernorm.weight", "ffn_norm.weight", 0, 0}, {"mlp.gate_proj.weight", "ffn_gate.weight", 0, 0},
        {"mlp.up_proj.weight", "ffn_up.weight", 0, 0}, {"mlp.down_proj.weight", "ffn_down.weight", 0, 0}};
    int need_bias = strcmp(cf->model_type, "qwen2") == 0;
    for (int l = 0; l < cf->num_hidden_layers && !rc; l++)
        for (size_t i = 0; i < sizeof blk / sizeof blk[0] && !rc; i++) {
            char hf[160], gg[MAX_NAME];
            snprintf(hf, sizeof hf, "model.layers.%d.%s", l, blk[i].hf);
            snprintf(gg, sizeof gg, "blk.%d.%s", l, blk[i].gg);
            int heads = !s->is_llama || !blk[i].perm ? 0 : blk[i].perm == 1 ? cf->num_attention_heads
                                                                             : cf->num_key_value_heads;
            rc = plan_hf(j, s, hf, gg, blk[i].optional && !need_bias, heads, err);
        }
    if (!rc) rc = plan_hf(j, s, "model.norm.weight", "output_norm.weight", 0, 0, err);
    if (!rc && s->has_output) rc = plan_hf(j, s, "lm_head.weight", "output.weight", 0, 0, err);
    return rc;
}

smol_convert_params smol_convert_default_params(void) {
    smol_convert_params p = {.type = SMOL_F16};
    return p;
}

/* The widest row any tensor of the plan has (scratch size). */
static int64_t widest_row(const conv_job *j) {
    int64_t m = 1;
    for (int i = 0; i < j->n; i++) m = j->tensors[i].ne[0] > m ? j->tensors[i].ne[0] : m;
    return m;
}

/* Fails unless t can be written (a quantizer exists for it). */
static int check_target(int t, smol_error *err) {
    if (t == SMOL_TYPE_AS_STORED || t == SMOL_TYPE_Q4_K_M) return SMOL_OK;
    float probe[256] = {0};
    uint8_t out[1024];
    if (t < 0 || !smol_dtype_get((uint32_t)t) || smol_dtype_get((uint32_t)t)->block > 256 ||
        smol_quantize_row((uint32_t)t, probe, out, smol_dtype_get((uint32_t)t)->block) != SMOL_OK)
        return smol_fail(err, SMOL_EUNSUPPORTED, "type %d (%s) cannot be written: it has no quantizer", t,
                         t >= 0 && smol_dtype_name((uint32_t)t) ? smol_dtype_name((uint32_t)t) : "unknown");
    return SMOL_OK;
}

int smol_convert_hf(const char *dir, const char *out, const smol_convert_params *params, smol_error *err) {
    smol_error local;
    if (!err) err = &local;
    smol_error_clear(err);
    conv_job j = {.p = params ? *params : smol_convert_default_params()};
    hf_src s = {.dir = dir};
    char cfg[4200];
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    if (!smol_is_dir(dir)) return smol_fail(err, SMOL_ENOTFOUND, "%s: not a folder (a Hugging Face model folder is expected)", dir);
    if (!smol_exists(cfg)) return smol_fail(err, SMOL_ENOTFOUND, "%s: config.json is missing", dir);
    int rc = check_target(j.p.type, err);
    if (!rc) rc = smol_hf_config_load(cfg, &s.cf, err);
    if (!rc && strcmp(s.cf.model_type, "llama") != 0 && strcmp(s.cf.model_type, "qwen2") != 0)
        rc = smol_fail(err, SMOL_EUNSUPPORTED, "%s: architecture '%s' (model_type '%s') cannot be converted (llama, qwen2)",
                       cfg, s.cf.architecture, s.cf.model_type);
    if (!rc && strcmp(s.cf.rope_type, "default") != 0 && strcmp(s.cf.rope_type, "llama3") != 0 &&
        strcmp(s.cf.rope_type, "linear") != 0 && s.cf.rope_type[0])
        rc = smol_fail(err, SMOL_EUNSUPPORTED, "%s: rope_type '%s' is not supported (default, linear, llama3)", cfg,
                       s.cf.rope_type);
    if (!rc && (s.cf.head_dim % 2 || s.cf.head_dim / 2 > 512))
        rc = smol_fail(err, SMOL_EFORMAT, "%s: head_dim %d is odd or too large", cfg, s.cf.head_dim);
    if (!rc) rc = smol_st_open(dir, &s.st, err);
    if (rc) return rc;
    s.is_llama = strcmp(s.cf.model_type, "llama") == 0;
    s.has_output = !s.cf.tie_word_embeddings || smol_st_find(s.st, "lm_head.weight") != NULL;
    float *freqs = malloc(512 * sizeof(float));
    smol_gguf_writer *w = smol_gguf_writer_new();
    rc = freqs && w ? SMOL_OK : smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc) rc = hf_hparams(w, &s, &j.p, err);
    if (!rc) rc = hf_tokenizer(w, &s, &j, err);
    if (!rc) rc = hf_plan(&j, &s, freqs, err);
    if (!rc) rc = job_start(&j, widest_row(&j), err);
    if (!rc) rc = job_write(&j, w, out, err);
    smol_gguf_writer_free(w);
    job_free(&j);
    free(freqs);
    smol_st_free(s.st);
    return rc;
}

/* ---------------------------------------------------------------- GGUF -> GGUF */

/* Copies every key of g except those the new file sets itself. */
static int copy_metadata(smol_gguf_writer *w, const smol_gguf *g, smol_error *err) {
    for (int64_t i = 0; i < smol_gguf_kv_count(g); i++) {
        const char *k = smol_gguf_kv_key(g, i);
        if (strcmp(k, "general.alignment") == 0) continue;  /* the writer lays out its own data */
        int rc = smol_gguf_writer_set(w, k, smol_gguf_kv_value(g, i), err);
        if (rc) return rc;
    }
    return SMOL_OK;
}

int smol_quantize_gguf(const char *in, const char *out, const smol_convert_params *params, smol_error *err) {
    smol_error local;
    if (!err) err = &local;
    smol_error_clear(err);
    conv_job j = {.p = params ? *params : smol_convert_default_params()};
    if (j.p.type == SMOL_TYPE_AS_STORED) return smol_fail(err, SMOL_EINVAL, "quantize: a target type is needed");
    int rc = check_target(j.p.type, err);
    smol_gguf *g = NULL;
    if (!rc) rc = smol_gguf_open(in, &g, err);
    if (rc) return rc;
    const char *arch = smol_gguf_get_str(g, "general.architecture");
    char key[128];
    int64_t n_layer = 0;
    snprintf(key, sizeof key, "%s.block_count", arch ? arch : "?");
    if (!arch) rc = smol_fail(err, SMOL_EFORMAT, "%s: metadata 'general.architecture' is missing", in);
    else if (smol_gguf_get_int(g, key, &n_layer) != SMOL_OK || n_layer <= 0 || n_layer > 100000)
        rc = smol_fail(err, SMOL_EFORMAT, "%s: metadata '%s' is missing or not a positive integer", in, key);
    int has_output = smol_gguf_find_tensor(g, "output.weight") != NULL, requant = 0;
    for (int64_t i = 0; i < smol_gguf_tensor_count(g) && !rc; i++) {
        const smol_gguf_tensor *t = smol_gguf_tensor_at(g, i);
        conv_tensor *c = job_add(&j, t->name, err);
        if (!c) rc = SMOL_ENOMEM;
        else if (strlen(t->name) >= MAX_NAME) rc = smol_fail(err, SMOL_EFORMAT, "%s: tensor name '%s' is too long", in, t->name);
        if (rc) break;
        c->n_dims = t->n_dims;
        memcpy(c->ne, t->ne, sizeof c->ne);
        c->src = t->data;
        c->src_type = t->type;
        c->src_row_bytes = (size_t)smol_dtype_row_size(t->type, (uint64_t)t->ne[0]);
        int weight = t->n_dims >= 2 && strstr(t->name, ".weight") != NULL;
        c->type = weight ? pick_type(&j.p, t->name, t->n_dims, t->ne[0], t->type, (int)n_layer, has_output) : t->type;
        if (!weight && t->n_dims >= 2) c->type = t->type;
        if (c->type != c->src_type && !is_float_type(c->src_type)) requant = 1;
        if (!c->src_row_bytes)
            rc = smol_fail(err, SMOL_EUNSUPPORTED, "%s: tensor '%s' has type %s, which cannot be read", in, t->name,
                           smol_dtype_name(t->type) ? smol_dtype_name(t->type) : "unknown");
    }
    if (!rc && requant) note(&j, "warning: %s holds quantized tensors: they are dequantized and quantized again, "
                                 "which loses more than quantizing from f32 or f16", in);
    smol_gguf_writer *w = rc ? NULL : smol_gguf_writer_new();
    if (!rc && !w) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc) rc = copy_metadata(w, g, err);
    if (!rc) rc = smol_gguf_writer_set_u32(w, "general.file_type", smol_quant_file_type(j.p.type), err);
    if (!rc) rc = smol_gguf_writer_set_u32(w, "general.quantization_version", 2, err);
    if (!rc) rc = job_start(&j, widest_row(&j), err);
    if (!rc) rc = job_write(&j, w, out, err);
    smol_gguf_writer_free(w);
    job_free(&j);
    smol_gguf_free(g);
    return rc;
}
