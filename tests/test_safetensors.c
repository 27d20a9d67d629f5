/* test_safetensors.c: the safetensors reader on the hf-golden models (single file and 4 bf16
 * shards, cross-checked against each other and against config.json) and on crafted files,
 * valid and corrupt. */
#include "check.h"
#include "smol.h"
#include "model/dtype.h"
#include "model/hfconfig.h"
#include <stdint.h>

/* A safetensors image: 8-byte length, the header JSON, then data_len bytes 0, 1, 2, ... */
static size_t make_image(unsigned char *buf, size_t cap, const char *header, size_t data_len) {
    size_t h = strlen(header);
    if (8 + h + data_len > cap) return 0;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    for (size_t i = 0; i < data_len; i++) buf[8 + h + i] = (unsigned char)i;
    return 8 + h + data_len;
}

static const char *write_file(const char *name, const void *data, size_t n) {
    const char *path = test_tmp(name);
    FILE *fp = fopen(path, "wb");
    if (!fp) return NULL;
    fwrite(data, 1, n, fp);
    fclose(fp);
    return path;
}

static void test_single_file(void) {
    smol_st *st;
    smol_error err;
    const char *path = test_data("hf-golden/smollm2-tiny/model/model.safetensors");
    REQUIRE(smol_st_open(path, &st, &err) == SMOL_OK, "%s", err.msg);
    CHECK(smol_st_tensor_count(st) == 29, "count %lld", (long long)smol_st_tensor_count(st));
    CHECK(smol_st_shard_count(st) == 1, "shards %d", smol_st_shard_count(st));
    const char *fmt = smol_st_metadata_get(st, "format");
    CHECK(fmt && strcmp(fmt, "pt") == 0, "format %s", fmt ? fmt : "(null)");
    const smol_st_tensor *e = smol_st_find(st, "model.embed_tokens.weight");
    REQUIRE(e, "no embedding");
    CHECK(strcmp(e->dtype, "F32") == 0 && e->type == SMOL_F32, "dtype %s %d", e->dtype, e->type);
    CHECK(e->n_dims == 2 && e->shape[0] == 2048 && e->shape[1] == 192, "shape %lld x %lld",
          (long long)e->shape[0], (long long)e->shape[1]);
    CHECK(e->nbytes == 2048ull * 192 * 4 && e->n_elements == 2048ull * 192, "nbytes %llu", (unsigned long long)e->nbytes);
    CHECK(smol_st_find(st, "lm_head.weight") == NULL, "tied model has an lm_head");
    CHECK(smol_st_find(st, "model.embed_tokens") == NULL, "prefix found");
    /* every tensor is findable, and the data sections tile the file with no gap */
    uint64_t total = 0;
    for (int64_t i = 0; i < smol_st_tensor_count(st); i++) {
        const smol_st_tensor *t = smol_st_tensor_at(st, i);
        CHECK(smol_st_find(st, t->name) == t, "find %s", t->name);
        total += t->nbytes;
    }
    FILE *fp = fopen(path, "rb");
    REQUIRE(fp, "open %s", path);
    unsigned char hl[8];
    REQUIRE(fread(hl, 1, 8, fp) == 8, "read");
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | hl[i];
    fseek(fp, 0, SEEK_END);
    uint64_t fsize = (uint64_t)ftell(fp);
    CHECK(total == fsize - 8 - hlen, "tensor bytes %llu, data section %llu", (unsigned long long)total,
          (unsigned long long)(fsize - 8 - hlen));
    /* the data pointer is the file's bytes at 8 + header + offset */
    float first[4];
    fseek(fp, (long)(8 + hlen + e->offset), SEEK_SET);
    REQUIRE(fread(first, 4, 4, fp) == 4, "read data");
    fclose(fp);
    CHECK(memcmp(first, e->data, sizeof first) == 0, "data pointer does not match the file bytes");
    CHECK(smol_st_tensor_at(st, -1) == NULL && smol_st_tensor_at(st, 29) == NULL, "out of range index");
    smol_st_free(st);
}

/* Shapes follow config.json: [out_features, in_features] for every projection. */
static void test_shapes_match_config(void) {
    const char *models[] = {"smollm2-tiny", "llama32-tiny", "qwen2-tiny"};
    for (int m = 0; m < 3; m++) {
        char rel[256];
        smol_hf_config c;
        smol_st *st;
        smol_error err;
        snprintf(rel, sizeof rel, "hf-golden/%s/model/config.json", models[m]);
        REQUIRE(smol_hf_config_load(test_data(rel), &c, &err) == SMOL_OK, "%s", err.msg);
        snprintf(rel, sizeof rel, "hf-golden/%s/model", models[m]);
        REQUIRE(smol_st_open(test_data(rel), &st, &err) == SMOL_OK, "%s", err.msg);
        int hd = c.head_dim, H = c.hidden_size;
        struct { const char *name; int64_t r, c; } want[] = {
            {"model.layers.0.self_attn.q_proj.weight", c.num_attention_heads * hd, H},
            {"model.layers.0.self_attn.k_proj.weight", c.num_key_value_heads * hd, H},
            {"model.layers.0.self_attn.v_proj.weight", c.num_key_value_heads * hd, H},
            {"model.layers.0.self_attn.o_proj.weight", H, c.num_attention_heads * hd},
            {"model.layers.0.mlp.gate_proj.weight", c.intermediate_size, H},
            {"model.layers.0.mlp.down_proj.weight", H, c.intermediate_size},
            {"model.embed_tokens.weight", c.vocab_size, H},
            {"model.norm.weight", H, 0},
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            const smol_st_tensor *t = smol_st_find(st, want[i].name);
            REQUIRE(t, "%s: no %s", models[m], want[i].name);
            CHECK(t->shape[0] == want[i].r && (want[i].c ? t->n_dims == 2 && t->shape[1] == want[i].c : t->n_dims == 1),
                  "%s %s: shape %lld x %lld", models[m], want[i].name, (long long)t->shape[0], (long long)t->shape[1]);
        }
        int has_bias = smol_st_find(st, "model.layers.0.self_attn.q_proj.bias") != NULL;
        CHECK(has_bias == c.attention_bias, "%s: q bias present %d, config %d", models[m], has_bias, c.attention_bias);
        int has_head = smol_st_find(st, "lm_head.weight") != NULL;
        CHECK(has_head == !c.tie_word_embeddings, "%s: lm_head %d, tied %d", models[m], has_head, c.tie_word_embeddings);
        smol_st_free(st);
    }
}

/* The bf16 shards hold the f32 weights rounded to bf16: every element agrees. */
static void test_sharded_bf16_matches_f32(void) {
    smol_st *f32, *bf;
    smol_error err;
    REQUIRE(smol_st_open(test_data("hf-golden/smollm2-tiny/model"), &f32, &err) == SMOL_OK, "%s", err.msg);
    REQUIRE(smol_st_open(test_data("hf-golden/smollm2-tiny/model-bf16-sharded"), &bf, &err) == SMOL_OK, "%s", err.msg);
    CHECK(smol_st_shard_count(bf) == 4, "shards %d", smol_st_shard_count(bf));
    CHECK(smol_st_tensor_count(bf) == smol_st_tensor_count(f32), "counts %lld %lld", (long long)smol_st_tensor_count(bf),
          (long long)smol_st_tensor_count(f32));
    uint64_t total = 0, params = 0;
    for (int64_t i = 0; i < smol_st_tensor_count(bf); i++) {
        const smol_st_tensor *b = smol_st_tensor_at(bf, i), *f = smol_st_find(f32, b->name);
        REQUIRE(f, "%s not in the f32 file", b->name);
        REQUIRE(b->type == SMOL_BF16 && strcmp(b->dtype, "BF16") == 0, "%s: dtype %s", b->name, b->dtype);
        REQUIRE(b->n_elements == f->n_elements && b->n_dims == f->n_dims, "%s: shapes differ", b->name);
        const uint16_t *bv = b->data;
        const float *fv = f->data;
        for (uint64_t k = 0; k < b->n_elements; k++)
            REQUIRE(bv[k] == smol_f32_to_bf16(fv[k]), "%s[%llu]: bf16 %04x, f32 %g rounds to %04x", b->name,
                    (unsigned long long)k, bv[k], fv[k], smol_f32_to_bf16(fv[k]));
        total += b->nbytes;
        params += b->n_elements;
    }
    const char *ts = smol_st_metadata_get(bf, "total_size"), *tp = smol_st_metadata_get(bf, "total_parameters");
    CHECK(ts && strtoull(ts, NULL, 10) == total, "index total_size %s, tensors %llu", ts ? ts : "(null)",
          (unsigned long long)total);
    CHECK(tp && strtoull(tp, NULL, 10) == params, "index total_parameters %s, tensors %llu", tp ? tp : "(null)",
          (unsigned long long)params);
    const smol_st_tensor *n = smol_st_find(bf, "model.norm.weight");
    CHECK(n && strstr(smol_st_shard_path(bf, n->shard), "model-00004-of-00004.safetensors"), "norm in the wrong shard");
    smol_st_free(bf);
    smol_st_free(f32);
}

static void test_crafted_valid(void) {
    unsigned char buf[4096];
    const char *hdr = "{\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]},"
                      "\"__metadata__\":{\"k\":\"v\"},"
                      "\"a\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                      "\"s\":{\"dtype\":\"BOOL\",\"shape\":[],\"data_offsets\":[24,25]},"
                      "\"z\":{\"dtype\":\"F16\",\"shape\":[0,4],\"data_offsets\":[25,25]}}   ";
    size_t n = make_image(buf, sizeof buf, hdr, 25);
    smol_st *st;
    smol_error err;
    REQUIRE(smol_st_open_memory(buf, n, "crafted", &st, &err) == SMOL_OK, "%s", err.msg);
    CHECK(smol_st_tensor_count(st) == 4, "count");
    CHECK(strcmp(smol_st_tensor_at(st, 0)->name, "b") == 0, "header order kept");
    const smol_st_tensor *b = smol_st_find(st, "b"), *s = smol_st_find(st, "s"), *z = smol_st_find(st, "z");
    REQUIRE(b && s && z, "find");
    CHECK(b->type == SMOL_I64 && b->nbytes == 16 && ((const unsigned char *)b->data)[0] == 8, "b");
    CHECK(s->type == -1 && s->n_dims == 0 && s->n_elements == 1 && strcmp(s->dtype, "BOOL") == 0, "scalar bool");
    CHECK(z->n_elements == 0 && z->nbytes == 0, "empty tensor");
    CHECK(smol_st_metadata_count(st) == 1 && strcmp(smol_st_metadata_value(st, 0), "v") == 0, "metadata");
    smol_st_free(st);
}

/* Each corrupt header must give SMOL_EFORMAT with a message naming what is wrong. */
static void test_crafted_corrupt(void) {
    struct { const char *header; size_t data; const char *want; } cases[] = {
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, "'t'"},       /* past the end */
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16, "needs 3 x 4"},
        {"{\"t\":{\"dtype\":\"F17\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "F17"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16, "shape[0]"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4]}}", 16, "data_offsets"},
        {"{\"t\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16, "dtype"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", 16, "end before"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
         "\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "overlap"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,16]}}", 16, "overflow"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}", 16, "not valid JSON"},
        {"[1,2]", 0, "start with '{'"},
        {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "twice"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 8, "after the JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char buf[4096];
        size_t n = make_image(buf, sizeof buf, cases[i].header, cases[i].data);
        smol_st *st = (smol_st *)1;
        smol_error err = {0};
        int rc = smol_st_open_memory(buf, n, "bad.safetensors", &st, &err);
        CHECK(rc == SMOL_EFORMAT && st == NULL, "case %zu: rc %d", i, rc);
        CHECK(strstr(err.msg, "bad.safetensors") && strstr(err.msg, cases[i].want), "case %zu: message '%s' lacks '%s'",
              i, err.msg, cases[i].want);
    }
    /* header length past the end, and a file too short for it */
    unsigned char buf[64];
    size_t n = make_image(buf, sizeof buf, "{}", 0);
    buf[0] = 200;
    smol_st *st;
    smol_error err;
    CHECK(smol_st_open_memory(buf, n, "x", &st, &err) == SMOL_EFORMAT && strstr(err.msg, "header length 200"), "%s", err.msg);
    CHECK(smol_st_open_memory(buf, 5, "x", &st, &err) == SMOL_EFORMAT && strstr(err.msg, "too short"), "%s", err.msg);
    /* truncating a real file anywhere gives an error, never a crash */
    FILE *fp = fopen(test_data("hf-golden/qwen2-tiny/model/model.safetensors"), "rb");
    REQUIRE(fp, "open qwen2");
    static unsigned char big[1 << 16];
    size_t got = fread(big, 1, sizeof big, fp);
    fclose(fp);
    for (size_t cut = 0; cut < got; cut += cut < 3000 ? 97 : 4099) {
        int rc = smol_st_open_memory(big, cut, "cut", &st, &err);
        REQUIRE(rc == SMOL_EFORMAT, "cut at %zu: rc %d", cut, rc);
    }
}

/* A hand-made index over two shards: missing shards and missing tensors are named. */
static void test_index_errors(void) {
    unsigned char buf[512];
    size_t n = make_image(buf, sizeof buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    REQUIRE(write_file("s1.safetensors", buf, n), "write");
    n = make_image(buf, sizeof buf, "{\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
    REQUIRE(write_file("s2.safetensors", buf, n), "write");
    char pfx[4096], json[8192];
    snprintf(pfx, sizeof pfx, "smol-test-%d-", (int)getpid());
    struct { const char *map; int rc; const char *want; } cases[] = {
        {"\"a\":\"%ss1.safetensors\",\"b\":\"%ss2.safetensors\"", SMOL_OK, ""},
        {"\"a\":\"%ss1.safetensors\",\"b\":\"%ss3.safetensors\"", SMOL_EFORMAT, "missing shard"},
        {"\"a\":\"%ss1.safetensors\",\"c\":\"%ss2.safetensors\"", SMOL_EFORMAT, "'c'"},
        {"\"a\":\"%ss2.safetensors\",\"b\":\"%ss2.safetensors\"", SMOL_EFORMAT, "s2.safetensors does not hold it"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char map[1024];
        snprintf(map, sizeof map, cases[i].map, pfx, pfx);
        n = (size_t)snprintf(json, sizeof json, "{\"metadata\":{\"total_size\":12},\"weight_map\":{%s}}", map);
        const char *idx = write_file("model.safetensors.index.json", json, n);
        REQUIRE(idx, "write index");
        smol_st *st = NULL;
        smol_error err = {0};
        int rc = smol_st_open(idx, &st, &err);
        CHECK(rc == cases[i].rc && strstr(err.msg, cases[i].want), "case %zu: rc %d '%s'", i, rc, err.msg);
        if (rc == SMOL_OK) {
            CHECK(smol_st_tensor_count(st) == 2 && smol_st_find(st, "b")->type == SMOL_F16, "sharded tensors");
            CHECK(strcmp(smol_st_metadata_get(st, "total_size"), "12") == 0, "index metadata");
        }
        smol_st_free(st);
        remove(idx);
    }
    remove(test_tmp("s1.safetensors"));
    remove(test_tmp("s2.safetensors"));
    smol_st *st;
    smol_error err;
    CHECK(smol_st_open(test_data("hf-golden"), &st, &err) == SMOL_ENOTFOUND && strstr(err.msg, "model.safetensors"),
          "folder without a model: %s", err.msg);
    CHECK(smol_st_open(test_data("hf-golden/nosuch.safetensors"), &st, &err) == SMOL_EIO, "missing file: %s", err.msg);
}

int main(void) {
    RUN(test_single_file);
    RUN(test_shapes_match_config);
    RUN(test_sharded_bf16_matches_f32);
    RUN(test_crafted_valid);
    RUN(test_crafted_corrupt);
    RUN(test_index_errors);
    return check_done();
}
