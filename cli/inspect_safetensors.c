/* inspect_safetensors.c: the safetensors branch of `smol inspect`: a .safetensors file, a
 * model.safetensors.index.json or a Hugging Face folder. Prints the files, the header metadata,
 * each tensor (name, dtype, shape in safetensors order, bytes) and the config.json beside it,
 * as text or as one JSON object. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "model/hfconfig.h"
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* 1 if path names safetensors input: a folder, or a name ending .safetensors or .json. */
int cli_is_safetensors_path(const char *path) {
    size_t n = strlen(path);
    return smol_is_dir(path) || (n > 12 && strcmp(path + n - 12, ".safetensors") == 0) ||
           (n > 5 && strcmp(path + n - 5, ".json") == 0);
}

/* The config.json beside path (inside it for a folder), or "" if there is none. */
static void config_path(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (smol_is_dir(path)) snprintf(out, cap, "%s/config.json", path);
    else if (slash) snprintf(out, cap, "%.*s/config.json", (int)(slash - path), path);
    else snprintf(out, cap, "config.json");
    if (!smol_exists(out)) out[0] = 0;
}

static void shape_text(const smol_st_tensor *t, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (uint32_t d = 0; d < t->n_dims && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

static void config_text(const char *cfg_path, const smol_hf_config *c) {
    printf("config: %s\n", cfg_path);
    printf("  architecture %s (%s), vocab %d, hidden %d, ffn %d, layers %d, heads %d/%d kv, head_dim %d\n",
           c->architecture, c->model_type, c->vocab_size, c->hidden_size, c->intermediate_size,
           c->num_hidden_layers, c->num_attention_heads, c->num_key_value_heads, c->head_dim);
    printf("  context %d, rms_norm_eps %g, rope_theta %g, rope_type %s", c->max_position_embeddings, c->rms_norm_eps,
           c->rope_theta, c->rope_type);
    if (strcmp(c->rope_type, "default") != 0)
        printf(" (factor %g, low %g, high %g, original %d)", c->rope_factor, c->rope_low_freq_factor,
               c->rope_high_freq_factor, c->rope_original_max_position_embeddings);
    printf("\n  tied embeddings %d, attention bias %d, bos %d, eos", c->tie_word_embeddings, c->attention_bias,
           c->bos_token_id);
    for (int i = 0; i < c->n_eos_token_ids; i++) printf(" %d", c->eos_token_ids[i]);
    printf("%s, dtype %s\n", c->n_eos_token_ids ? "" : " none", c->torch_dtype[0] ? c->torch_dtype : "?");
}

static void st_text(const char *path, const smol_st *st, const char *cfg_path, const smol_hf_config *cfg) {
    printf("file: %s\n", path);
    printf("format: safetensors, %d file%s\n", smol_st_shard_count(st), smol_st_shard_count(st) == 1 ? "" : "s");
    for (int i = 0; i < smol_st_shard_count(st) && smol_st_shard_count(st) > 1; i++)
        printf("  shard %d: %s\n", i, smol_st_shard_path(st, i));
    printf("metadata: %" PRId64 " keys\n", smol_st_metadata_count(st));
    for (int64_t i = 0; i < smol_st_metadata_count(st); i++)
        printf("%5" PRId64 ": %s = %s\n", i + 1, smol_st_metadata_key(st, i), smol_st_metadata_value(st, i));
    printf("tensors: %" PRId64 "\n", smol_st_tensor_count(st));
    printf("%5s  %-48s %-7s %-20s %12s %5s\n", "index", "name", "dtype", "shape", "bytes", "shard");
    uint64_t params = 0, bytes = 0;
    for (int64_t i = 0; i < smol_st_tensor_count(st); i++) {
        const smol_st_tensor *t = smol_st_tensor_at(st, i);
        char shape[160];
        shape_text(t, shape, sizeof shape);
        printf("%5" PRId64 "  %-48s %-7s %-20s %12" PRIu64 " %5d\n", i, t->name, t->dtype, shape, t->nbytes, t->shard);
        params += t->n_elements;
        bytes += t->nbytes;
    }
    printf("total: %" PRIu64 " parameters, %" PRIu64 " bytes of tensor data\n", params, bytes);
    if (cfg) config_text(cfg_path, cfg);
}

static cJSON *config_json(const smol_hf_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "architecture", c->architecture);
    cJSON_AddStringToObject(o, "model_type", c->model_type);
    struct { const char *k; int v; } ints[] = {
        {"vocab_size", c->vocab_size}, {"hidden_size", c->hidden_size}, {"intermediate_size", c->intermediate_size},
        {"num_hidden_layers", c->num_hidden_layers}, {"num_attention_heads", c->num_attention_heads},
        {"num_key_value_heads", c->num_key_value_heads}, {"head_dim", c->head_dim},
        {"max_position_embeddings", c->max_position_embeddings}, {"tie_word_embeddings", c->tie_word_embeddings},
        {"attention_bias", c->attention_bias}, {"mlp_bias", c->mlp_bias}, {"bos_token_id", c->bos_token_id},
        {"rope_original_max_position_embeddings", c->rope_original_max_position_embeddings},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) cJSON_AddNumberToObject(o, ints[i].k, ints[i].v);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->rms_norm_eps);
    cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
    cJSON_AddStringToObject(o, "rope_type", c->rope_type);
    cJSON_AddNumberToObject(o, "rope_factor", c->rope_factor);
    cJSON_AddNumberToObject(o, "rope_low_freq_factor", c->rope_low_freq_factor);
    cJSON_AddNumberToObject(o, "rope_high_freq_factor", c->rope_high_freq_factor);
    cJSON_AddItemToObject(o, "eos_token_ids", cJSON_CreateIntArray(c->eos_token_ids, c->n_eos_token_ids));
    cJSON_AddStringToObject(o, "torch_dtype", c->torch_dtype);
    return o;
}

static cJSON *st_json(const char *path, const smol_st *st, const smol_hf_config *cfg) {
    cJSON *root = cJSON_CreateObject(), *files = cJSON_CreateArray(), *meta = cJSON_CreateObject();
    cJSON *tensors = cJSON_CreateArray();
    cJSON_AddStringToObject(root, "file", path);
    cJSON_AddStringToObject(root, "format", "safetensors");
    for (int i = 0; i < smol_st_shard_count(st); i++) cJSON_AddItemToArray(files, cJSON_CreateString(smol_st_shard_path(st, i)));
    cJSON_AddItemToObject(root, "files", files);
    for (int64_t i = 0; i < smol_st_metadata_count(st); i++)
        cJSON_AddStringToObject(meta, smol_st_metadata_key(st, i), smol_st_metadata_value(st, i));
    cJSON_AddItemToObject(root, "metadata", meta);
    uint64_t params = 0, bytes = 0;
    for (int64_t i = 0; i < smol_st_tensor_count(st); i++) {
        const smol_st_tensor *t = smol_st_tensor_at(st, i);
        cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "name", t->name);
        cJSON_AddStringToObject(o, "dtype", t->dtype);
        for (uint32_t d = 0; d < t->n_dims; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON_AddItemToObject(o, "shape", shape);
        cJSON_AddNumberToObject(o, "bytes", (double)t->nbytes);
        cJSON_AddNumberToObject(o, "offset", (double)t->offset);
        cJSON_AddNumberToObject(o, "shard", t->shard);
        cJSON_AddItemToArray(tensors, o);
        params += t->n_elements;
        bytes += t->nbytes;
    }
    cJSON_AddItemToObject(root, "tensors", tensors);
    cJSON_AddNumberToObject(root, "tensor_count", (double)smol_st_tensor_count(st));
    cJSON_AddNumberToObject(root, "n_params", (double)params);
    cJSON_AddNumberToObject(root, "tensor_bytes", (double)bytes);
    if (cfg) cJSON_AddItemToObject(root, "config", config_json(cfg));
    return root;
}

/* Inspects path (see cli_is_safetensors_path) as text or JSON; a config.json beside it that
 * cannot be read is reported on stderr and left out. */
int cli_inspect_safetensors(const char *path, int json, smol_error *err) {
    smol_st *st;
    int rc = smol_st_open(path, &st, err);
    if (rc) return rc;
    char cfg_path[4200];
    smol_hf_config cfg;
    const smol_hf_config *cfgp = NULL;
    config_path(path, cfg_path, sizeof cfg_path);
    if (cfg_path[0]) {
        smol_error cerr;
        if (smol_hf_config_load(cfg_path, &cfg, &cerr) == SMOL_OK) cfgp = &cfg;
        else fprintf(stderr, "smol inspect: warning: %s\n", cerr.msg);
    }
    if (json) {
        cJSON *root = st_json(path, st, cfgp);
        char *text = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        if (text) puts(text);
        free(text);
        if (!text) rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory building the JSON", path);
    } else st_text(path, st, cfg_path, cfgp);
    smol_st_free(st);
    return rc;
}
