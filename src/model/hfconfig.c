/* hfconfig.c: reading a Hugging Face config.json (LlamaForCausalLM, Qwen2ForCausalLM) into a
 * smol_hf_config. Defaults follow transformers' LlamaConfig/Qwen2Config where a field may be
 * absent (num_key_value_heads, head_dim, rms_norm_eps, rope_theta, biases, tying); the sizes
 * that define the network must be present. RoPE settings are read from transformers 5's
 * `rope_parameters` or from the older top-level `rope_theta` + `rope_scaling` ({"rope_type"
 * or "type": "llama3", "factor", "low_freq_factor", "high_freq_factor",
 * "original_max_position_embeddings"}). */
#include "model/hfconfig.h"
#include "base/error.h"
#include "base/file.h"
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hf_arch {
    const char *architecture, *model_type;
    int max_position_embeddings;    /* transformers' default when the field is absent */
} hf_arch;

static const hf_arch k_archs[] = {
    {"LlamaForCausalLM", "llama", 2048},
    {"Qwen2ForCausalLM", "qwen2", 32768},
};

/* Reads an optional whole-number field; 0 if absent (or null), -1 (with err set) if not an int. */
static int get_int(const cJSON *obj, const char *key, const char *where, const char *path, int *out, smol_error *err) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) return 0;
    double d = j->valuedouble;
    if (!cJSON_IsNumber(j) || !(d >= INT_MIN && d <= INT_MAX) || d != (double)(int)d) {
        smol_fail(err, SMOL_EFORMAT, "%s: %s%s is not an integer", path, where, key);
        return -1;
    }
    *out = (int)d;
    return 1;
}

static int get_double(const cJSON *obj, const char *key, const char *where, const char *path, double *out,
                      smol_error *err) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) return 0;
    if (!cJSON_IsNumber(j)) {
        smol_fail(err, SMOL_EFORMAT, "%s: %s%s is not a number", path, where, key);
        return -1;
    }
    *out = j->valuedouble;
    return 1;
}

static int get_bool(const cJSON *obj, const char *key, const char *path, int *out, smol_error *err) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j || cJSON_IsNull(j)) return 0;
    if (!cJSON_IsBool(j)) {
        smol_fail(err, SMOL_EFORMAT, "%s: %s is not true or false", path, key);
        return -1;
    }
    *out = cJSON_IsTrue(j);
    return 1;
}

static void copy_str(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src);
}

/* A required positive integer. */
static int need_pos(const cJSON *root, const char *key, const char *path, int *out, smol_error *err) {
    int r = get_int(root, key, "", path, out, err);
    if (r < 0) return err ? err->code : SMOL_EFORMAT;
    if (r == 0) return smol_fail(err, SMOL_EFORMAT, "%s: missing field %s", path, key);
    if (*out <= 0) return smol_fail(err, SMOL_EFORMAT, "%s: %s is %d, expected a positive number", path, key, *out);
    return SMOL_OK;
}

/* architectures[0], checked against the supported list; fills architecture and model_type. */
static int read_arch(const cJSON *root, const char *path, smol_hf_config *c, int *default_ctx, smol_error *err) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    const cJSON *a0 = cJSON_IsArray(a) ? a->child : NULL;
    if (!cJSON_IsString(a0)) return smol_fail(err, SMOL_EFORMAT, "%s: missing field architectures (a list of names)", path);
    for (size_t i = 0; i < sizeof k_archs / sizeof k_archs[0]; i++)
        if (strcmp(a0->valuestring, k_archs[i].architecture) == 0) {
            copy_str(c->architecture, sizeof c->architecture, k_archs[i].architecture);
            const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
            copy_str(c->model_type, sizeof c->model_type, cJSON_IsString(mt) ? mt->valuestring : k_archs[i].model_type);
            *default_ctx = k_archs[i].max_position_embeddings;
            return SMOL_OK;
        }
    return smol_fail(err, SMOL_EUNSUPPORTED, "%s: architecture '%s' is not supported (supported: LlamaForCausalLM, "
                     "Qwen2ForCausalLM)", path, a0->valuestring);
}

/* The network's sizes, with head counts checked against each other. */
static int read_sizes(const cJSON *root, const char *path, smol_hf_config *c, smol_error *err) {
    int rc;
    if ((rc = need_pos(root, "vocab_size", path, &c->vocab_size, err)) ||
        (rc = need_pos(root, "hidden_size", path, &c->hidden_size, err)) ||
        (rc = need_pos(root, "intermediate_size", path, &c->intermediate_size, err)) ||
        (rc = need_pos(root, "num_hidden_layers", path, &c->num_hidden_layers, err)) ||
        (rc = need_pos(root, "num_attention_heads", path, &c->num_attention_heads, err)))
        return rc;
    int r = get_int(root, "num_key_value_heads", "", path, &c->num_key_value_heads, err);
    if (r < 0) return SMOL_EFORMAT;
    if (r == 0) c->num_key_value_heads = c->num_attention_heads;
    if (c->num_key_value_heads <= 0 || c->num_attention_heads % c->num_key_value_heads)
        return smol_fail(err, SMOL_EFORMAT, "%s: num_key_value_heads %d does not divide num_attention_heads %d", path,
                         c->num_key_value_heads, c->num_attention_heads);
    r = get_int(root, "head_dim", "", path, &c->head_dim, err);
    if (r < 0) return SMOL_EFORMAT;
    if (r == 0) {
        if (c->hidden_size % c->num_attention_heads)
            return smol_fail(err, SMOL_EFORMAT, "%s: head_dim is absent and hidden_size %d is not a multiple of "
                             "num_attention_heads %d", path, c->hidden_size, c->num_attention_heads);
        c->head_dim = c->hidden_size / c->num_attention_heads;
    }
    if (c->head_dim <= 0 || c->head_dim % 2)
        return smol_fail(err, SMOL_EFORMAT, "%s: head_dim %d is not a positive even number", path, c->head_dim);
    return SMOL_OK;
}

/* The RoPE block: rope_parameters (transformers 5) or rope_scaling (older), where = its name. */
static int read_rope_block(const cJSON *rp, const char *where, const char *path, smol_hf_config *c, smol_error *err) {
    char w[48];
    snprintf(w, sizeof w, "%s.", where);
    if (get_double(rp, "rope_theta", w, path, &c->rope_theta, err) < 0) return SMOL_EFORMAT;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
    if (!type) type = cJSON_GetObjectItemCaseSensitive(rp, "type");
    if (type && !cJSON_IsString(type)) return smol_fail(err, SMOL_EFORMAT, "%s: %srope_type is not a string", path, w);
    if (type) copy_str(c->rope_type, sizeof c->rope_type, type->valuestring);
    int need = strcmp(c->rope_type, "llama3") == 0;
    struct { const char *key; double *d; int *i; } f[] = {
        {"factor", &c->rope_factor, NULL}, {"low_freq_factor", &c->rope_low_freq_factor, NULL},
        {"high_freq_factor", &c->rope_high_freq_factor, NULL},
        {"original_max_position_embeddings", NULL, &c->rope_original_max_position_embeddings},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        int r = f[i].d ? get_double(rp, f[i].key, w, path, f[i].d, err) : get_int(rp, f[i].key, w, path, f[i].i, err);
        if (r < 0) return SMOL_EFORMAT;
        if (r == 0 && need)
            return smol_fail(err, SMOL_EFORMAT, "%s: missing field %s%s (needed by rope_type llama3)", path, w, f[i].key);
    }
    if (strcmp(c->rope_type, "default") != 0 && !(c->rope_factor > 0))
        return smol_fail(err, SMOL_EFORMAT, "%s: %sfactor must be positive for rope_type %s", path, w, c->rope_type);
    return SMOL_OK;
}

static int read_rope(const cJSON *root, const char *path, smol_hf_config *c, smol_error *err) {
    c->rope_theta = 10000.0;
    copy_str(c->rope_type, sizeof c->rope_type, "default");
    c->rope_factor = 1.0;
    if (get_double(root, "rope_theta", "", path, &c->rope_theta, err) < 0) return SMOL_EFORMAT;
    const char *names[] = {"rope_scaling", "rope_parameters"};
    for (int i = 0; i < 2; i++) {
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, names[i]);
        if (!rp || cJSON_IsNull(rp)) continue;
        if (!cJSON_IsObject(rp)) return smol_fail(err, SMOL_EFORMAT, "%s: %s is not an object", path, names[i]);
        int rc = read_rope_block(rp, names[i], path, c, err);
        if (rc) return rc;
    }
    if (!(c->rope_theta > 0)) return smol_fail(err, SMOL_EFORMAT, "%s: rope_theta %g is not positive", path, c->rope_theta);
    return SMOL_OK;
}

/* bos_token_id (int or null) and eos_token_id (int, list or null). */
static int read_special(const cJSON *root, const char *path, smol_hf_config *c, smol_error *err) {
    c->bos_token_id = -1;
    if (get_int(root, "bos_token_id", "", path, &c->bos_token_id, err) < 0) return SMOL_EFORMAT;
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");
    if (!eos || cJSON_IsNull(eos)) return SMOL_OK;
    if (cJSON_IsNumber(eos)) return get_int(root, "eos_token_id", "", path, &c->eos_token_ids[c->n_eos_token_ids++], err) < 0
                                        ? SMOL_EFORMAT : SMOL_OK;
    if (!cJSON_IsArray(eos)) return smol_fail(err, SMOL_EFORMAT, "%s: eos_token_id is not an integer or a list", path);
    int i = 0;
    for (const cJSON *e = eos->child; e; e = e->next, i++) {
        double d = e->valuedouble;
        if (!cJSON_IsNumber(e) || !(d >= 0 && d <= INT_MAX) || d != (double)(int)d)
            return smol_fail(err, SMOL_EFORMAT, "%s: eos_token_id[%d] is not a token id", path, i);
        if (c->n_eos_token_ids == (int)(sizeof c->eos_token_ids / sizeof c->eos_token_ids[0]))
            return smol_fail(err, SMOL_ERANGE, "%s: eos_token_id lists more than 8 ids", path);
        c->eos_token_ids[c->n_eos_token_ids++] = (int)d;
    }
    return SMOL_OK;
}

/* The remaining optional fields: context, norm epsilon, biases, tying, dtype. */
static int read_misc(const cJSON *root, const char *path, int default_ctx, smol_hf_config *c, smol_error *err) {
    c->max_position_embeddings = default_ctx;
    c->rms_norm_eps = 1e-6;
    if (get_int(root, "max_position_embeddings", "", path, &c->max_position_embeddings, err) < 0 ||
        get_double(root, "rms_norm_eps", "", path, &c->rms_norm_eps, err) < 0 ||
        get_bool(root, "tie_word_embeddings", path, &c->tie_word_embeddings, err) < 0 ||
        get_bool(root, "attention_bias", path, &c->attention_bias, err) < 0 ||
        get_bool(root, "mlp_bias", path, &c->mlp_bias, err) < 0)
        return SMOL_EFORMAT;
    if (c->max_position_embeddings <= 0)
        return smol_fail(err, SMOL_EFORMAT, "%s: max_position_embeddings %d is not positive", path,
                         c->max_position_embeddings);
    if (!(c->rms_norm_eps > 0)) return smol_fail(err, SMOL_EFORMAT, "%s: rms_norm_eps is not positive", path);
    if (strcmp(c->architecture, "Qwen2ForCausalLM") == 0) c->attention_bias = 1;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(root, "torch_dtype");
    if (!cJSON_IsString(dt)) dt = cJSON_GetObjectItemCaseSensitive(root, "dtype");
    if (cJSON_IsString(dt)) copy_str(c->torch_dtype, sizeof c->torch_dtype, dt->valuestring);
    return SMOL_OK;
}

int smol_hf_config_load(const char *path, smol_hf_config *out, smol_error *err) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    int rc = smol_read_file(path, &text, &len, err);
    if (rc) return rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return smol_fail(err, SMOL_EFORMAT, "%s: not a JSON object (invalid near byte %zu)", path, at);
    }
    int default_ctx = 0;
    rc = read_arch(root, path, out, &default_ctx, err);
    if (!rc) rc = read_sizes(root, path, out, err);
    if (!rc) rc = read_rope(root, path, out, err);
    if (!rc) rc = read_special(root, path, out, err);
    if (!rc) rc = read_misc(root, path, default_ctx, out, err);
    cJSON_Delete(root);
    return rc;
}
