/* test_hfconfig.c: config.json loading: the hf-golden configs (transformers 5 spelling), the
 * SmolLM2-135M-Instruct original (older spelling), and crafted files for defaults and errors. */
#include "check.h"
#include "model/hfconfig.h"

static const char *write_json(const char *name, const char *text) {
    const char *path = test_tmp(name);
    FILE *fp = fopen(path, "w");
    if (!fp) return NULL;
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void test_smollm2_tiny(void) {
    smol_hf_config c;
    smol_error err;
    REQUIRE(smol_hf_config_load(test_data("hf-golden/smollm2-tiny/model/config.json"), &c, &err) == SMOL_OK, "%s", err.msg);
    CHECK(strcmp(c.architecture, "LlamaForCausalLM") == 0 && strcmp(c.model_type, "llama") == 0, "%s", c.architecture);
    CHECK(c.vocab_size == 2048 && c.hidden_size == 192 && c.intermediate_size == 512, "sizes");
    CHECK(c.num_hidden_layers == 3 && c.num_attention_heads == 3 && c.num_key_value_heads == 1 && c.head_dim == 64,
          "heads %d/%d/%d", c.num_attention_heads, c.num_key_value_heads, c.head_dim);
    CHECK(c.max_position_embeddings == 2048 && c.rms_norm_eps == 1e-5, "ctx/eps");
    CHECK(c.rope_theta == 100000.0 && strcmp(c.rope_type, "default") == 0, "rope %g %s", c.rope_theta, c.rope_type);
    CHECK(c.tie_word_embeddings == 1 && c.attention_bias == 0 && c.mlp_bias == 0, "flags");
    CHECK(c.bos_token_id == 1 && c.n_eos_token_ids == 1 && c.eos_token_ids[0] == 2, "bos/eos");
    CHECK(strcmp(c.torch_dtype, "float32") == 0, "dtype %s", c.torch_dtype);
}

static void test_llama32_tiny(void) {
    smol_hf_config c;
    smol_error err;
    REQUIRE(smol_hf_config_load(test_data("hf-golden/llama32-tiny/model/config.json"), &c, &err) == SMOL_OK, "%s", err.msg);
    CHECK(c.hidden_size == 256 && c.num_hidden_layers == 2 && c.num_attention_heads == 4 && c.num_key_value_heads == 2,
          "sizes");
    CHECK(c.rope_theta == 500000.0 && strcmp(c.rope_type, "llama3") == 0, "rope %g %s", c.rope_theta, c.rope_type);
    CHECK(c.rope_factor == 32.0 && c.rope_low_freq_factor == 1.0 && c.rope_high_freq_factor == 4.0 &&
          c.rope_original_max_position_embeddings == 8192, "llama3 scaling %g %g %g %d", c.rope_factor,
          c.rope_low_freq_factor, c.rope_high_freq_factor, c.rope_original_max_position_embeddings);
    CHECK(c.tie_word_embeddings == 0 && c.max_position_embeddings == 131072, "untied, ctx %d", c.max_position_embeddings);
}

static void test_qwen2_tiny(void) {
    smol_hf_config c;
    smol_error err;
    REQUIRE(smol_hf_config_load(test_data("hf-golden/qwen2-tiny/model/config.json"), &c, &err) == SMOL_OK, "%s", err.msg);
    CHECK(strcmp(c.architecture, "Qwen2ForCausalLM") == 0 && strcmp(c.model_type, "qwen2") == 0, "%s", c.model_type);
    CHECK(c.attention_bias == 1, "qwen2 has q/k/v bias");
    CHECK(c.head_dim == 64, "head_dim from hidden/heads: %d", c.head_dim);
    CHECK(c.rope_theta == 1e6 && c.rms_norm_eps == 1e-6 && c.tie_word_embeddings == 1, "rope %g eps %g", c.rope_theta,
          c.rms_norm_eps);
}

static void test_smollm2_135m_original(void) {
    smol_hf_config c;
    smol_error err;
    REQUIRE(smol_hf_config_load(test_data("tokenizers/SmolLM2-135M-Instruct/config.json"), &c, &err) == SMOL_OK, "%s",
            err.msg);
    CHECK(c.vocab_size == 49152 && c.hidden_size == 576 && c.intermediate_size == 1536 && c.num_hidden_layers == 30, "sizes");
    CHECK(c.num_attention_heads == 9 && c.num_key_value_heads == 3 && c.head_dim == 64, "heads, head_dim %d", c.head_dim);
    CHECK(c.rope_theta == 100000.0 && strcmp(c.rope_type, "default") == 0, "top-level rope_theta %g", c.rope_theta);
    CHECK(c.max_position_embeddings == 8192 && c.tie_word_embeddings == 1, "ctx %d", c.max_position_embeddings);
    CHECK(strcmp(c.torch_dtype, "bfloat16") == 0, "torch_dtype %s", c.torch_dtype);
}

/* The older spelling: top-level rope_theta, rope_scaling with "type" or "rope_type", eos list. */
static void test_old_spelling(void) {
    const char *base = "{\"architectures\":[\"LlamaForCausalLM\"],\"model_type\":\"llama\",\"vocab_size\":128256,"
                       "\"hidden_size\":2048,\"intermediate_size\":8192,\"num_hidden_layers\":16,"
                       "\"num_attention_heads\":32,\"num_key_value_heads\":8,\"max_position_embeddings\":131072,"
                       "\"rms_norm_eps\":1e-05,\"rope_theta\":500000.0,\"bos_token_id\":128000,"
                       "\"eos_token_id\":[128001,128008,128009],\"tie_word_embeddings\":true,"
                       "\"rope_scaling\":{\"%s\":\"llama3\",\"factor\":32.0,\"low_freq_factor\":1.0,"
                       "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}}";
    const char *keys[] = {"rope_type", "type"};
    for (int k = 0; k < 2; k++) {
        char json[2048];
        snprintf(json, sizeof json, base, keys[k]);
        const char *path = write_json("old.json", json);
        smol_hf_config c;
        smol_error err;
        REQUIRE(smol_hf_config_load(path, &c, &err) == SMOL_OK, "%s", err.msg);
        CHECK(c.rope_theta == 500000.0 && strcmp(c.rope_type, "llama3") == 0 && c.rope_factor == 32.0 &&
              c.rope_high_freq_factor == 4.0 && c.rope_original_max_position_embeddings == 8192, "%s: rope", keys[k]);
        CHECK(c.head_dim == 64, "head_dim absent -> 2048/32, got %d", c.head_dim);
        CHECK(c.n_eos_token_ids == 3 && c.eos_token_ids[0] == 128001 && c.eos_token_ids[2] == 128009, "eos list");
        CHECK(c.bos_token_id == 128000 && c.torch_dtype[0] == 0, "bos %d", c.bos_token_id);
        remove(path);
    }
}

/* Defaults: no kv heads -> heads, bos null -> -1, qwen2 bias forced, eps/theta defaults. */
static void test_defaults(void) {
    const char *path = write_json("def.json", "{\"architectures\":[\"Qwen2ForCausalLM\"],\"vocab_size\":10,"
                                              "\"hidden_size\":8,\"intermediate_size\":16,\"num_hidden_layers\":1,"
                                              "\"num_attention_heads\":2,\"bos_token_id\":null,\"attention_bias\":false}");
    smol_hf_config c;
    smol_error err;
    REQUIRE(smol_hf_config_load(path, &c, &err) == SMOL_OK, "%s", err.msg);
    CHECK(c.num_key_value_heads == 2 && c.head_dim == 4 && c.bos_token_id == -1 && c.n_eos_token_ids == 0, "defaults");
    CHECK(c.attention_bias == 1 && strcmp(c.model_type, "qwen2") == 0 && c.max_position_embeddings == 32768, "qwen2");
    CHECK(c.rope_theta == 10000.0 && c.rms_norm_eps == 1e-6, "theta %g eps %g", c.rope_theta, c.rms_norm_eps);
    remove(path);
}

static void test_errors(void) {
    struct { const char *json; int rc; const char *want; } cases[] = {
        {"{\"architectures\":[\"GPT2LMHeadModel\"]}", SMOL_EUNSUPPORTED, "GPT2LMHeadModel"},
        {"{\"vocab_size\":1}", SMOL_EFORMAT, "architectures"},
        {"{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":10,\"intermediate_size\":16,"
         "\"num_hidden_layers\":1,\"num_attention_heads\":2}", SMOL_EFORMAT, "missing field hidden_size"},
        {"{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":16,"
         "\"num_hidden_layers\":\"one\",\"num_attention_heads\":2}", SMOL_EFORMAT, "num_hidden_layers"},
        {"{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":16,"
         "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"num_key_value_heads\":3}", SMOL_EFORMAT, "num_key_value_heads"},
        {"{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":10,\"hidden_size\":8,\"intermediate_size\":16,"
         "\"num_hidden_layers\":1,\"num_attention_heads\":2,\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8}}",
         SMOL_EFORMAT, "rope_scaling.low_freq_factor"},
        {"{\"architectures\":[\"LlamaForCausalLM\"],", SMOL_EFORMAT, "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = write_json("bad.json", cases[i].json);
        smol_hf_config c;
        smol_error err = {0};
        int rc = smol_hf_config_load(path, &c, &err);
        CHECK(rc == cases[i].rc && strstr(err.msg, cases[i].want) && strstr(err.msg, "bad.json"),
              "case %zu: rc %d, message '%s' lacks '%s'", i, rc, err.msg, cases[i].want);
        remove(path);
    }
    smol_hf_config c;
    smol_error err;
    CHECK(smol_hf_config_load(test_tmp("nosuch.json"), &c, &err) == SMOL_EIO, "missing file");
}

int main(void) {
    RUN(test_smollm2_tiny);
    RUN(test_llama32_tiny);
    RUN(test_qwen2_tiny);
    RUN(test_smollm2_135m_original);
    RUN(test_old_spelling);
    RUN(test_defaults);
    RUN(test_errors);
    return check_done();
}
