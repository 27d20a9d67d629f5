/* test_gguf.c: the GGUF reader and writer against files written by llama.cpp (known facts,
 * byte-identical rewrites), round trips of every key and tensor, every truncation of a small
 * file, and hand-built corrupt files for each error the reader reports. */
#include "check.h"
#include "smol.h"
#include "model/dtype.h"
#include "base/error.h"
#include "model/archs.h"
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>

/* ---------------------------------------------------------------- helpers */

static int read_all(const char *path, uint8_t **out, size_t *size) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    *size = fread(*out, 1, (size_t)n, fp);
    fclose(fp);
    return *size == (size_t)n ? 0 : -1;
}

/* 1 if a and b hold the same type and value (deeply); prints the first difference under `where`. */
static int same_value(const smol_gguf_value *a, const smol_gguf_value *b, const char *where) {
    if (a->type != b->type || a->len != b->len) {
        fprintf(stderr, "%s: type %u/%u len %" PRIu64 "/%" PRIu64 "\n", where, a->type, b->type, a->len, b->len);
        return 0;
    }
    switch (a->type) {
    case SMOL_GGUF_STRING:
        if (memcmp(a->v.str, b->v.str, a->len) || a->v.str[a->len] || b->v.str[b->len]) {
            fprintf(stderr, "%s: strings differ: '%s' vs '%s'\n", where, a->v.str, b->v.str);
            return 0;
        }
        return 1;
    case SMOL_GGUF_ARRAY:
        if (a->arr_type != b->arr_type) {
            fprintf(stderr, "%s: array types %u/%u\n", where, a->arr_type, b->arr_type);
            return 0;
        }
        for (uint64_t i = 0; i < a->len; i++) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%" PRIu64 "]", where, i);
            if (a->arr_type == SMOL_GGUF_STRING) {
                if (a->str_lens[i] != b->str_lens[i] || memcmp(a->v.strs[i], b->v.strs[i], a->str_lens[i])) {
                    fprintf(stderr, "%s: '%s' vs '%s'\n", sub, a->v.strs[i], b->v.strs[i]);
                    return 0;
                }
            } else if (a->arr_type == SMOL_GGUF_ARRAY) {
                if (!same_value(&a->v.vals[i], &b->v.vals[i], sub)) return 0;
            }
        }
        if (a->arr_type != SMOL_GGUF_STRING && a->arr_type != SMOL_GGUF_ARRAY) {
            static const int sz[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
            const uint8_t *x = a->v.arr, *y = b->v.arr;
            for (uint64_t i = 0; i < a->len * (uint64_t)sz[a->arr_type]; i++)
                if (x[i] != y[i]) {
                    fprintf(stderr, "%s: array byte %" PRIu64 " differs: %u vs %u\n", where, i, x[i], y[i]);
                    return 0;
                }
        }
        return 1;
    case SMOL_GGUF_BOOL:
        if (a->v.b != b->v.b) fprintf(stderr, "%s: bool %d vs %d\n", where, a->v.b, b->v.b);
        return a->v.b == b->v.b;
    default:
        if (memcmp(&a->v.u64, &b->v.u64, 8) != 0)
            fprintf(stderr, "%s: scalar %" PRIu64 " vs %" PRIu64 "\n", where, a->v.u64, b->v.u64);
        return memcmp(&a->v.u64, &b->v.u64, 8) == 0;
    }
}

/* Compares every key, value and tensor of a and b; returns the number of differences (first printed). */
static int compare_files(const smol_gguf *a, const smol_gguf *b) {
    if (smol_gguf_kv_count(a) != smol_gguf_kv_count(b) || smol_gguf_tensor_count(a) != smol_gguf_tensor_count(b)) {
        fprintf(stderr, "counts differ: kv %" PRId64 "/%" PRId64 " tensors %" PRId64 "/%" PRId64 "\n",
                smol_gguf_kv_count(a), smol_gguf_kv_count(b), smol_gguf_tensor_count(a), smol_gguf_tensor_count(b));
        return 1;
    }
    for (int64_t i = 0; i < smol_gguf_kv_count(a); i++) {
        if (strcmp(smol_gguf_kv_key(a, i), smol_gguf_kv_key(b, i)) != 0) {
            fprintf(stderr, "key %" PRId64 ": '%s' vs '%s'\n", i, smol_gguf_kv_key(a, i), smol_gguf_kv_key(b, i));
            return 1;
        }
        if (!same_value(smol_gguf_kv_value(a, i), smol_gguf_kv_value(b, i), smol_gguf_kv_key(a, i))) return 1;
    }
    for (int64_t i = 0; i < smol_gguf_tensor_count(a); i++) {
        const smol_gguf_tensor *x = smol_gguf_tensor_at(a, i), *y = smol_gguf_tensor_at(b, i);
        if (strcmp(x->name, y->name) || x->type != y->type || x->n_dims != y->n_dims ||
            memcmp(x->ne, y->ne, sizeof x->ne) || x->nbytes != y->nbytes) {
            fprintf(stderr, "tensor %" PRId64 " '%s' vs '%s': header differs\n", i, x->name, y->name);
            return 1;
        }
        if (memcmp(x->data, y->data, x->nbytes) != 0) {
            fprintf(stderr, "tensor '%s': bytes differ\n", x->name);
            return 1;
        }
    }
    return 0;
}

/* Reads path, writes every key and tensor to out, reads that again and compares. */
static void round_trip(const char *path, int expect_identical_bytes) {
    smol_error e = {0};
    smol_gguf *a = NULL, *b = NULL;
    REQUIRE(smol_gguf_open(path, &a, &e) == 0, "%s", e.msg);
    smol_gguf_writer *w = smol_gguf_writer_new();
    for (int64_t i = 0; i < smol_gguf_kv_count(a); i++)
        CHECK(smol_gguf_writer_set(w, smol_gguf_kv_key(a, i), smol_gguf_kv_value(a, i), &e) == 0, "%s", e.msg);
    for (int64_t i = 0; i < smol_gguf_tensor_count(a); i++) {
        const smol_gguf_tensor *t = smol_gguf_tensor_at(a, i);
        CHECK(smol_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, &e) == 0, "%s", e.msg);
    }
    const char *out = test_tmp("roundtrip.gguf");
    CHECK(smol_gguf_writer_write(w, out, &e) == 0, "%s", e.msg);
    smol_gguf_writer_free(w);
    if (smol_gguf_open(out, &b, &e) != 0) {
        CHECK(0, "re-reading %s: %s", path, e.msg);
    } else {
        CHECK(compare_files(a, b) == 0, "%s: round trip differs (first difference above)", path);
        CHECK(smol_gguf_alignment(a) == smol_gguf_alignment(b), "alignment");
        if (expect_identical_bytes) {
            uint8_t *x, *y;
            size_t nx, ny;
            if (read_all(path, &x, &nx) == 0 && read_all(out, &y, &ny) == 0) {
                size_t i = 0;
                while (i < nx && i < ny && x[i] == y[i]) i++;
                CHECK(nx == ny && i == nx, "%s: rewrite differs from llama.cpp's bytes at byte %zu (sizes %zu/%zu)",
                      path, i, nx, ny);
                free(y);
            }
            free(x);
        }
    }
    smol_gguf_free(a);
    smol_gguf_free(b);
    unlink(out);
}

/* ---------------------------------------------------------------- files written by llama.cpp */

static void test_stories260k_facts(void) {
    smol_error e = {0};
    smol_gguf *g;
    REQUIRE(smol_gguf_open(test_data("stories260K/stories260K.gguf"), &g, &e) == 0, "%s", e.msg);
    int64_t v = 0;
    CHECK(smol_gguf_version(g) == 3 || smol_gguf_version(g) == 2, "version %u", smol_gguf_version(g));
    CHECK(smol_gguf_alignment(g) == 32, "alignment %u", smol_gguf_alignment(g));
    CHECK(strcmp(smol_gguf_get_str(g, "general.architecture"), "llama") == 0, "arch");
    CHECK(smol_gguf_get_int(g, "llama.block_count", &v) == 0 && v == 5, "block_count %" PRId64, v);
    CHECK(smol_gguf_get_int(g, "llama.embedding_length", &v) == 0 && v == 64, "embedding_length %" PRId64, v);
    const smol_gguf_value *tok = smol_gguf_get(g, "tokenizer.ggml.tokens");
    REQUIRE(tok && tok->type == SMOL_GGUF_ARRAY && tok->arr_type == SMOL_GGUF_STRING, "tokens missing");
    CHECK(tok->len == 512, "tokens %" PRIu64, tok->len);
    CHECK(strcmp(tok->v.strs[0], "<unk>") == 0 && strcmp(tok->v.strs[1], "<s>") == 0, "tok0 '%s'", tok->v.strs[0]);
    const smol_gguf_tensor *t = smol_gguf_find_tensor(g, "token_embd.weight");
    REQUIRE(t, "token_embd.weight missing");
    CHECK(t->type == SMOL_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 512, "shape %" PRId64 "x%" PRId64,
          t->ne[0], t->ne[1]);
    CHECK(t->nbytes == 64 * 512 * 4, "nbytes %" PRIu64, t->nbytes);
    CHECK(((uintptr_t)t->data - (uintptr_t)smol_gguf_tensor_at(g, 0)->data) % 32 == 0, "data alignment");
    double eps = 0;
    CHECK(smol_gguf_get_float(g, "llama.attention.layer_norm_rms_epsilon", &eps) == 0 && eps > 0 && eps < 1e-3,
          "eps %g", eps);
    CHECK(smol_gguf_get(g, "no.such.key") == NULL && smol_gguf_find_tensor(g, "nope") == NULL, "absent lookups");
    CHECK(smol_gguf_get_int(g, "no.such.key", &v) == SMOL_ENOTFOUND, "get_int absent");
    CHECK(smol_gguf_get_int(g, "general.architecture", &v) == SMOL_EFORMAT, "get_int on a string");
    /* every tensor lies inside the data section, in order */
    for (int64_t i = 0; i < smol_gguf_tensor_count(g); i++) {
        const smol_gguf_tensor *x = smol_gguf_tensor_at(g, i);
        CHECK(smol_gguf_data_offset(g) + x->offset + x->nbytes <= smol_gguf_file_size(g), "tensor %s", x->name);
        CHECK(smol_gguf_find_tensor(g, x->name) == x, "find %s", x->name);
    }
    for (int64_t i = 0; i < smol_gguf_kv_count(g); i++)
        CHECK(smol_gguf_get(g, smol_gguf_kv_key(g, i)) == smol_gguf_kv_value(g, i), "get %s", smol_gguf_kv_key(g, i));
    smol_gguf_free(g);
}

static void test_tiny_random_facts(void) {
    smol_error e = {0};
    smol_gguf *g;
    REQUIRE(smol_gguf_open(test_data("tiny-models/llama-2-tiny-random.gguf"), &g, &e) == 0, "%s", e.msg);
    const smol_gguf_value *tok = smol_gguf_get(g, "tokenizer.ggml.tokens");
    REQUIRE(tok && tok->arr_type == SMOL_GGUF_STRING, "tokens missing");
    CHECK(tok->len == 32000, "tokens %" PRIu64, tok->len);
    const smol_gguf_value *scores = smol_gguf_get(g, "tokenizer.ggml.scores");
    CHECK(scores && scores->arr_type == SMOL_GGUF_FLOAT32 && scores->len == 32000, "scores");
    CHECK(scores && ((uintptr_t)scores->v.arr % 4) == 0, "numeric arrays must be host-aligned");
    int n_f16 = 0;
    for (int64_t i = 0; i < smol_gguf_tensor_count(g); i++) n_f16 += smol_gguf_tensor_at(g, i)->type == SMOL_F16;
    CHECK(n_f16 > 0, "expected F16 tensors");
    const smol_gguf_tensor *t = smol_gguf_find_tensor(g, "token_embd.weight");
    CHECK(t && t->type == SMOL_F16 && t->ne[1] == 32000, "token_embd");
    smol_gguf_free(g);
}

/* Each llama.cpp vocab file opens, and a rewrite gives the same bytes as llama.cpp wrote. */
static void test_vocab_files(void) {
    DIR *d = opendir(test_data("llama.cpp-vocab"));
    REQUIRE(d, "cannot list %s", test_data("llama.cpp-vocab"));
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 5, ".gguf") != 0) continue;
        char rel[512];
        snprintf(rel, sizeof rel, "llama.cpp-vocab/%s", de->d_name);
        smol_error e = {0};
        smol_gguf *g;
        CHECK(smol_gguf_open(test_data(rel), &g, &e) == 0, "%s", e.msg);
        if (!g) continue;
        const smol_gguf_value *tok = smol_gguf_get(g, "tokenizer.ggml.tokens");
        CHECK(tok && tok->len > 1000, "%s: tokens", rel);
        CHECK(smol_gguf_get_str(g, "tokenizer.ggml.model") != NULL, "%s: tokenizer.ggml.model", rel);
        smol_gguf_free(g);
        round_trip(test_data(rel), 1);
        n++;
    }
    closedir(d);
    CHECK(n >= 10, "only %d vocab files", n);
}

static void test_round_trip_models(void) {
    round_trip(test_data("stories260K/stories260K.gguf"), 1);
    round_trip(test_data("tiny-models/llama-2-tiny-random.gguf"), 1);
}

/* ---------------------------------------------------------------- a small file of every kind */

/* Writes a file with every value type, nested arrays and two tensors; returns its path. */
static const char *write_sample(smol_error *e) {
    smol_gguf_writer *w = smol_gguf_writer_new();
    const char *path = test_tmp("sample.gguf");
    uint8_t u8s[3] = {1, 2, 255};
    int16_t i16s[2] = {-5, 7};
    double f64s[2] = {0.5, -1e300};
    bool bools[3] = {true, false, true};
    const char *strs[3] = {"a", "", "\xc4\xa0hello"};
    smol_gguf_value inner[2] = {
        {.type = SMOL_GGUF_ARRAY, .arr_type = SMOL_GGUF_UINT8, .len = 3, .v.arr = u8s},
        {.type = SMOL_GGUF_ARRAY, .arr_type = SMOL_GGUF_STRING, .len = 3, .v.strs = strs},
    };
    smol_gguf_value nested = {.type = SMOL_GGUF_ARRAY, .arr_type = SMOL_GGUF_ARRAY, .len = 2, .v.vals = inner};
    smol_gguf_value i8 = {.type = SMOL_GGUF_INT8, .v.i64 = -3}, u16 = {.type = SMOL_GGUF_UINT16, .v.u64 = 65535};
    smol_gguf_value u64 = {.type = SMOL_GGUF_UINT64, .v.u64 = UINT64_MAX}, i64 = {.type = SMOL_GGUF_INT64, .v.i64 = INT64_MIN};
    smol_gguf_value f64 = {.type = SMOL_GGUF_FLOAT64, .v.f64 = 3.25};
    smol_gguf_value u8 = {.type = SMOL_GGUF_UINT8, .v.u64 = 200}, i16 = {.type = SMOL_GGUF_INT16, .v.i64 = -300};
    int rc = smol_gguf_writer_set_str(w, "general.architecture", "llama", e) ||
             smol_gguf_writer_set_u32(w, "t.u32", 4000000000u, e) || smol_gguf_writer_set_i32(w, "t.i32", -7, e) ||
             smol_gguf_writer_set_f32(w, "t.f32", 0.125f, e) || smol_gguf_writer_set_bool(w, "t.bool", true, e) ||
             smol_gguf_writer_set(w, "t.i8", &i8, e) || smol_gguf_writer_set(w, "t.u16", &u16, e) ||
             smol_gguf_writer_set(w, "t.u64", &u64, e) || smol_gguf_writer_set(w, "t.i64", &i64, e) ||
             smol_gguf_writer_set(w, "t.f64", &f64, e) || smol_gguf_writer_set(w, "t.u8", &u8, e) ||
             smol_gguf_writer_set(w, "t.i16", &i16, e) ||
             smol_gguf_writer_set_arr(w, "t.arr_i16", SMOL_GGUF_INT16, i16s, 2, e) ||
             smol_gguf_writer_set_arr(w, "t.arr_f64", SMOL_GGUF_FLOAT64, f64s, 2, e) ||
             smol_gguf_writer_set_arr(w, "t.arr_bool", SMOL_GGUF_BOOL, bools, 3, e) ||
             smol_gguf_writer_set_arr_str(w, "t.strs", strs, 3, e) || smol_gguf_writer_set(w, "t.nested", &nested, e) ||
             smol_gguf_writer_set_arr(w, "t.empty", SMOL_GGUF_UINT32, NULL, 0, e);
    static float a[8 * 4];
    static uint16_t b[32];
    for (int i = 0; i < 32; i++) {
        a[i] = (float)i * 0.5f;
        b[i] = smol_f32_to_f16((float)-i);
    }
    int64_t ne_a[2] = {8, 4}, ne_b[1] = {32};
    if (!rc) rc = smol_gguf_writer_add_tensor(w, "a.weight", SMOL_F32, 2, ne_a, a, e);
    if (!rc) rc = smol_gguf_writer_add_tensor(w, "b.bias", SMOL_F16, 1, ne_b, b, e);
    if (!rc) rc = smol_gguf_writer_write(w, path, e);
    smol_gguf_writer_free(w);
    return rc ? NULL : path;
}

static void test_every_value_type(void) {
    smol_error e = {0};
    const char *path = write_sample(&e);
    REQUIRE(path, "%s", e.msg);
    smol_gguf *g;
    REQUIRE(smol_gguf_open(path, &g, &e) == 0, "%s", e.msg);
    int64_t v;
    double f;
    CHECK(smol_gguf_version(g) == 3 && smol_gguf_kv_count(g) == 18, "kv %" PRId64, smol_gguf_kv_count(g));
    CHECK(smol_gguf_get_int(g, "t.u32", &v) == 0 && v == 4000000000LL, "u32");
    CHECK(smol_gguf_get_int(g, "t.i32", &v) == 0 && v == -7, "i32");
    CHECK(smol_gguf_get_int(g, "t.i8", &v) == 0 && v == -3, "i8");
    CHECK(smol_gguf_get_int(g, "t.u16", &v) == 0 && v == 65535, "u16");
    CHECK(smol_gguf_get_int(g, "t.i64", &v) == 0 && v == INT64_MIN, "i64");
    CHECK(smol_gguf_get_int(g, "t.u64", &v) == SMOL_ERANGE, "u64 max does not fit int64");
    CHECK(smol_gguf_get(g, "t.u64")->v.u64 == UINT64_MAX, "u64");
    CHECK(smol_gguf_get_float(g, "t.f32", &f) == 0 && f == 0.125, "f32 %g", f);
    CHECK(smol_gguf_get_float(g, "t.f64", &f) == 0 && f == 3.25, "f64");
    CHECK(smol_gguf_get_float(g, "t.i32", &f) == 0 && f == -7, "int as float");
    CHECK(smol_gguf_get(g, "t.bool")->v.b == true, "bool");
    const smol_gguf_value *s = smol_gguf_get(g, "t.strs");
    CHECK(s->len == 3 && strcmp(s->v.strs[2], "\xc4\xa0hello") == 0 && s->str_lens[1] == 0, "strs");
    const smol_gguf_value *n = smol_gguf_get(g, "t.nested");
    REQUIRE(n && n->arr_type == SMOL_GGUF_ARRAY && n->len == 2, "nested");
    CHECK(n->v.vals[0].arr_type == SMOL_GGUF_UINT8 && ((const uint8_t *)n->v.vals[0].v.arr)[2] == 255, "nested u8");
    CHECK(n->v.vals[1].arr_type == SMOL_GGUF_STRING && strcmp(n->v.vals[1].v.strs[0], "a") == 0, "nested strs");
    const smol_gguf_value *d = smol_gguf_get(g, "t.arr_f64");
    CHECK(d->len == 2 && ((const double *)d->v.arr)[1] == -1e300 && (uintptr_t)d->v.arr % 8 == 0, "f64 array");
    CHECK(smol_gguf_get(g, "t.empty")->len == 0, "empty array");
    const smol_gguf_tensor *t = smol_gguf_find_tensor(g, "b.bias");
    REQUIRE(t && t->type == SMOL_F16 && t->nbytes == 64, "b.bias");
    CHECK(smol_f16_to_f32(((const uint16_t *)t->data)[31]) == -31.0f, "f16 data");
    CHECK(t->offset % 32 == 0 && smol_gguf_data_offset(g) % 32 == 0, "offsets aligned");
    smol_gguf_free(g);
    round_trip(path, 1);
    unlink(path);
}

/* Every prefix of a valid file must fail cleanly, as its own allocation (so ASan sees overreads). */
static void test_every_truncation(void) {
    smol_error e = {0};
    const char *path = write_sample(&e);
    REQUIRE(path, "%s", e.msg);
    uint8_t *bytes;
    size_t size;
    REQUIRE(read_all(path, &bytes, &size) == 0, "read %s", path);
    unlink(path);
    int bad = 0;
    for (size_t len = 0; len < size && bad < 3; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        memcpy(copy, bytes, len);
        smol_gguf *g = (smol_gguf *)1;
        e.msg[0] = 0;
        int rc = smol_gguf_open_memory(copy, len, &g, &e);
        if (rc != SMOL_EFORMAT || g != NULL || !strstr(e.msg, "<memory>")) {
            fprintf(stderr, "truncated at %zu of %zu: rc=%d msg=%s\n", len, size, rc, e.msg);
            bad++;
        }
        free(copy);
    }
    CHECK(bad == 0, "truncations that did not fail cleanly (first ones above)");
    smol_gguf *g;
    CHECK(smol_gguf_open_memory(bytes, size, &g, &e) == 0, "full file: %s", e.msg);
    smol_gguf_free(g);
    /* the messages say where the file ends */
    smol_gguf_open_memory(bytes, 54, &g, &e);
    CHECK(strstr(e.msg, "truncated in metadata key 0 ('general.architecture')") != NULL, "msg: %s", e.msg);
    smol_gguf_open_memory(bytes, 2, &g, &e);
    CHECK(strstr(e.msg, "truncated in the header") != NULL, "msg: %s", e.msg);
    free(bytes);
}

/* ---------------------------------------------------------------- hand-built corrupt files */

typedef struct buf {
    uint8_t b[4096];
    size_t n;
} buf;

static void put(buf *b, const void *p, size_t n) {
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void put32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put64(buf *b, uint64_t v) { put(b, &v, 8); }
static void putstr(buf *b, const char *s) {
    put64(b, strlen(s));
    put(b, s, strlen(s));
}
static void header(buf *b, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    b->n = 0;
    put(b, "GGUF", 4);
    put32(b, version);
    put64(b, n_tensors);
    put64(b, n_kv);
}
static void pad(buf *b, size_t n) {
    while (b->n < n) b->b[b->n++] = 0;
}
/* One tensor info. */
static void tinfo(buf *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type, uint64_t offset) {
    putstr(b, name);
    put32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++) put64(b, ne[i]);
    put32(b, type);
    put64(b, offset);
}

/* Parses b and checks the status and that the message holds `want`. */
static void expect_error(const buf *b, int code, const char *want, int line) {
    uint8_t *copy = malloc(b->n ? b->n : 1);
    memcpy(copy, b->b, b->n);
    smol_error e = {0};
    smol_gguf *g = NULL;
    int rc = smol_gguf_open_memory(copy, b->n, &g, &e);
    CHECK(rc == code && strstr(e.msg, want), "line %d: rc=%d (want %d) msg='%s' (want '%s')", line, rc, code, e.msg,
          want);
    smol_gguf_free(g);
    free(copy);
}
#define EXPECT(b, code, want) expect_error(b, code, want, __LINE__)

static void test_corrupt_headers(void) {
    buf b;
    header(&b, 3, 0, 0);
    memcpy(b.b, "GGML", 4);
    EXPECT(&b, SMOL_EFORMAT, "bad magic 'GGML'");
    header(&b, 1, 0, 0);
    EXPECT(&b, SMOL_EUNSUPPORTED, "version 1 is not supported");
    header(&b, 0x03000000, 0, 0);
    EXPECT(&b, SMOL_EUNSUPPORTED, "big-endian");
    header(&b, 7, 0, 0);
    EXPECT(&b, SMOL_EFORMAT, "bad GGUF version 7");
    header(&b, 3, 1ull << 60, 0);
    EXPECT(&b, SMOL_EFORMAT, "n_tensors 1152921504606846976 (2^60) is absurd for a file of 24 bytes");
    header(&b, 3, 0, 1ull << 32);
    EXPECT(&b, SMOL_EFORMAT, "n_kv 4294967296 (2^32) is absurd");
    header(&b, 3, 0, 1000);
    EXPECT(&b, SMOL_EFORMAT, "truncated in metadata key 0");
    header(&b, 3, 0, 0);
    smol_error e = {0};
    smol_gguf *g;
    CHECK(smol_gguf_open_memory(b.b, b.n, &g, &e) == 0, "empty file: %s", e.msg);
    smol_gguf_free(g);
    CHECK(smol_gguf_open("/nonexistent/x.gguf", &g, &e) == SMOL_EIO && strstr(e.msg, "/nonexistent/x.gguf"), "%s", e.msg);
}

static void test_corrupt_metadata(void) {
    buf b;
    /* a string length past the end */
    header(&b, 3, 0, 1);
    putstr(&b, "general.name");
    put32(&b, SMOL_GGUF_STRING);
    put64(&b, 1000);
    put(&b, "abcd", 4);
    EXPECT(&b, SMOL_EFORMAT, "metadata key 0 ('general.name'): string length 1000 runs past the end of the file");
    /* duplicate keys */
    header(&b, 3, 0, 2);
    for (int i = 0; i < 2; i++) {
        putstr(&b, "a.b");
        put32(&b, SMOL_GGUF_UINT8);
        put(&b, "\x01", 1);
    }
    EXPECT(&b, SMOL_EFORMAT, "duplicate metadata key 'a.b'");
    /* an unknown value type */
    header(&b, 3, 0, 1);
    putstr(&b, "k");
    put32(&b, 13);
    put64(&b, 0);
    EXPECT(&b, SMOL_EFORMAT, "metadata key 0 ('k'): value type 13 is not a GGUF type");
    /* a bool that is neither 0 nor 1 */
    header(&b, 3, 0, 1);
    putstr(&b, "k");
    put32(&b, SMOL_GGUF_BOOL);
    put(&b, "\x02", 1);
    EXPECT(&b, SMOL_EFORMAT, "bool value 2");
    /* an array count larger than the file */
    header(&b, 3, 0, 1);
    putstr(&b, "tokenizer.ggml.tokens");
    put32(&b, SMOL_GGUF_ARRAY);
    put32(&b, SMOL_GGUF_STRING);
    put64(&b, 1ull << 40);
    EXPECT(&b, SMOL_EFORMAT, "('tokenizer.ggml.tokens'): array of 1099511627776 (2^40) string items needs more");
    /* nesting too deep: arrays of arrays 20 levels down */
    header(&b, 3, 0, 1);
    putstr(&b, "deep");
    put32(&b, SMOL_GGUF_ARRAY);
    for (int i = 0; i < 20; i++) {
        put32(&b, SMOL_GGUF_ARRAY);
        put64(&b, 1);
    }
    pad(&b, b.n + 64);
    EXPECT(&b, SMOL_EFORMAT, "arrays nested more than 8 deep");
    /* general.alignment not a power of two */
    header(&b, 3, 0, 1);
    putstr(&b, "general.alignment");
    put32(&b, SMOL_GGUF_UINT32);
    put32(&b, 48);
    EXPECT(&b, SMOL_EFORMAT, "general.alignment 48 is not a power of two");
    header(&b, 3, 0, 1);
    putstr(&b, "general.alignment");
    put32(&b, SMOL_GGUF_STRING);
    putstr(&b, "32");
    EXPECT(&b, SMOL_EFORMAT, "general.alignment has type string");
    /* a truncated key names the entry */
    header(&b, 3, 0, 13);
    for (int i = 0; i < 12; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        putstr(&b, k);
        put32(&b, SMOL_GGUF_UINT32);
        put32(&b, (uint32_t)i);
    }
    putstr(&b, "tokenizer.ggml.tokens");
    put32(&b, SMOL_GGUF_ARRAY);
    put32(&b, SMOL_GGUF_STRING);
    put64(&b, 2);
    putstr(&b, "x");
    put32(&b, 5);
    EXPECT(&b, SMOL_EFORMAT, "truncated in metadata key 12 ('tokenizer.ggml.tokens')");
}

static void test_corrupt_tensors(void) {
    buf b;
    uint64_t ne2[2] = {4, 2}, ne1[1] = {32};
    /* data past the end */
    header(&b, 3, 1, 0);
    tinfo(&b, "blk.0.attn_q.weight", 2, ne2, SMOL_F32, 0);
    pad(&b, 96 + 16);  /* infos end at byte 83, so data starts at 96 and needs 32 bytes */
    EXPECT(&b, SMOL_EFORMAT, "tensor 'blk.0.attn_q.weight' data ends at byte 128 past the end of the file (size 112)");
    b.n = 90;
    EXPECT(&b, SMOL_EFORMAT, "truncated before the data section (starts at byte 96, file size 90)");
    /* the same with enough data is fine */
    pad(&b, 128);
    smol_error e = {0};
    smol_gguf *g;
    CHECK(smol_gguf_open_memory(b.b, b.n, &g, &e) == 0, "%s", e.msg);
    smol_gguf_free(g);
    /* unknown type id names the tensor */
    header(&b, 3, 1, 0);
    tinfo(&b, "tok.weight", 1, ne1, 4, 0);
    pad(&b, 256);
    EXPECT(&b, SMOL_EFORMAT, "tensor 'tok.weight' has unknown type id 4");
    /* n_dims out of range */
    header(&b, 3, 1, 0);
    tinfo(&b, "t5", 5, (uint64_t[]){1, 1, 1, 1, 1}, SMOL_F32, 0);
    pad(&b, 256);
    EXPECT(&b, SMOL_EFORMAT, "tensor 't5' has n_dims 5, expected 1 to 4");
    /* element-count overflow */
    header(&b, 3, 1, 0);
    tinfo(&b, "huge", 3, (uint64_t[]){1ull << 31, 1ull << 31, 1ull << 31}, SMOL_F32, 0);
    pad(&b, 256);
    EXPECT(&b, SMOL_EFORMAT, "tensor 'huge': the element count overflows");
    /* byte-size overflow: the element count fits, the bytes do not */
    header(&b, 3, 1, 0);
    tinfo(&b, "wide", 2, (uint64_t[]){1ull << 32, 1ull << 30}, SMOL_F64, 0);
    pad(&b, 256);
    EXPECT(&b, SMOL_EFORMAT, "tensor 'wide': the byte size overflows");
    /* a negative ne */
    header(&b, 3, 1, 0);
    tinfo(&b, "neg", 1, (uint64_t[]){UINT64_MAX}, SMOL_F32, 0);
    pad(&b, 256);
    EXPECT(&b, SMOL_EFORMAT, "tensor 'neg' ne[0] = 18446744073709551615 is out of range");
    /* a row that is not whole blocks */
    header(&b, 3, 1, 0);
    tinfo(&b, "q", 1, (uint64_t[]){33}, SMOL_Q8_0, 0);
    pad(&b, 256);
    EXPECT(&b, SMOL_EFORMAT, "tensor 'q': ne[0] = 33 is not a multiple of the block size 32 of type q8_0");
    /* unaligned offset */
    header(&b, 3, 1, 0);
    tinfo(&b, "u", 1, ne1, SMOL_F32, 4);
    pad(&b, 512);
    EXPECT(&b, SMOL_EFORMAT, "tensor 'u' offset 4 is not a multiple of the alignment 32");
    /* an absurd offset does not wrap around */
    header(&b, 3, 1, 0);
    tinfo(&b, "far", 1, ne1, SMOL_F32, UINT64_MAX - 31);
    pad(&b, 512);
    EXPECT(&b, SMOL_EFORMAT, "tensor 'far' data ends at byte");
    /* duplicate names */
    header(&b, 3, 2, 0);
    tinfo(&b, "dup", 1, ne1, SMOL_F32, 0);
    tinfo(&b, "dup", 1, ne1, SMOL_F32, 128);
    pad(&b, 512);
    EXPECT(&b, SMOL_EFORMAT, "duplicate tensor name 'dup'");
    /* tensor infos cut short */
    header(&b, 3, 1, 0);
    putstr(&b, "cut");
    put32(&b, 2);
    EXPECT(&b, SMOL_EFORMAT, "truncated in tensor info 0 ('cut')");
}

static void test_writer_errors_and_alignment(void) {
    smol_error e = {0};
    smol_gguf_writer *w = smol_gguf_writer_new();
    float x[64] = {0};
    int64_t ne[2] = {33, 1};
    CHECK(smol_gguf_writer_add_tensor(w, "q", SMOL_Q8_0, 1, ne, x, &e) == SMOL_EINVAL && strstr(e.msg, "'q'"), "%s", e.msg);
    CHECK(smol_gguf_writer_add_tensor(w, "x", 4, 1, ne, x, &e) == SMOL_EINVAL && strstr(e.msg, "unknown type"), "%s", e.msg);
    ne[0] = 3;
    CHECK(smol_gguf_writer_add_tensor(w, "a", SMOL_F32, 2, ne, x, &e) == 0, "%s", e.msg);
    CHECK(smol_gguf_writer_add_tensor(w, "a", SMOL_F32, 2, ne, x, &e) == SMOL_EINVAL && strstr(e.msg, "duplicate"), "%s", e.msg);
    CHECK(smol_gguf_writer_add_tensor(w, "b", SMOL_F32, 1, ne, x, &e) == 0, "%s", e.msg);
    CHECK(smol_gguf_writer_set_arr(w, "k", SMOL_GGUF_STRING, x, 1, &e) == SMOL_EINVAL, "set_arr string");
    CHECK(smol_gguf_writer_set_u32(w, "general.alignment", 64, &e) == 0, "%s", e.msg);
    CHECK(smol_gguf_writer_set_str(w, "k", "first", &e) == 0 && smol_gguf_writer_set_str(w, "k", "second", &e) == 0, "set");
    const char *path = test_tmp("align64.gguf");
    REQUIRE(smol_gguf_writer_write(w, path, &e) == 0, "%s", e.msg);
    smol_gguf *g;
    REQUIRE(smol_gguf_open(path, &g, &e) == 0, "%s", e.msg);
    CHECK(smol_gguf_alignment(g) == 64 && smol_gguf_data_offset(g) % 64 == 0, "alignment %u", smol_gguf_alignment(g));
    CHECK(smol_gguf_tensor_at(g, 1)->offset == 64, "second tensor offset %" PRIu64, smol_gguf_tensor_at(g, 1)->offset);
    CHECK(smol_gguf_kv_count(g) == 2 && strcmp(smol_gguf_get_str(g, "k"), "second") == 0, "replaced key");
    smol_gguf_free(g);
    CHECK(smol_gguf_writer_set_u32(w, "general.alignment", 48, &e) == 0, "set");
    CHECK(smol_gguf_writer_write(w, path, &e) == SMOL_EINVAL && strstr(e.msg, "48"), "%s", e.msg);
    CHECK(smol_gguf_writer_write(w, "/nonexistent/dir/x.gguf", &e) != 0, "write to a missing dir");
    smol_gguf_writer_free(w);
    unlink(path);
}

/* Hundreds of keys and tensors: the tables grow past their first size and every lookup works;
 * a duplicate far down the list is still found. */
static void test_many_entries(void) {
    smol_error e = {0};
    smol_gguf_writer *w = smol_gguf_writer_new();
    static float data[32];
    int64_t ne[1] = {8};
    char name[64];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "k.%d", i);
        CHECK(smol_gguf_writer_set_u32(w, name, (uint32_t)i * 3, &e) == 0, "%s", e.msg);
        snprintf(name, sizeof name, "blk.%d.weight", i);
        CHECK(smol_gguf_writer_add_tensor(w, name, SMOL_F32, 1, ne, data, &e) == 0, "%s", e.msg);
    }
    const char *path = test_tmp("many.gguf");
    REQUIRE(smol_gguf_writer_write(w, path, &e) == 0, "%s", e.msg);
    smol_gguf_writer_free(w);
    smol_gguf *g;
    REQUIRE(smol_gguf_open(path, &g, &e) == 0, "%s", e.msg);
    int bad = 0;
    for (int i = 0; i < 300 && bad < 3; i++) {
        int64_t v = -1;
        snprintf(name, sizeof name, "k.%d", i);
        if (smol_gguf_get_int(g, name, &v) != 0 || v != i * 3) bad++, fprintf(stderr, "key %s: %lld\n", name, (long long)v);
        snprintf(name, sizeof name, "blk.%d.weight", i);
        const smol_gguf_tensor *t = smol_gguf_find_tensor(g, name);
        if (t != smol_gguf_tensor_at(g, i)) bad++, fprintf(stderr, "tensor %s not found at %d\n", name, i);
    }
    CHECK(bad == 0, "lookups failed (first ones above)");
    smol_gguf_free(g);
    /* the same file with key 200 renamed to key 7's name */
    uint8_t *bytes;
    size_t size;
    REQUIRE(read_all(path, &bytes, &size) == 0, "read");
    uint8_t *k200 = memmem(bytes, size, "k.200", 5);
    REQUIRE(k200, "k.200 not in the file");
    memcpy(k200, "k.7\0\0", 5);
    memcpy(k200 - 8, &(uint64_t){3}, 8);
    /* shift the rest of the file left by 2 bytes so the entry stays well formed */
    memmove(k200 + 3, k200 + 5, size - (size_t)(k200 + 5 - bytes));
    CHECK(smol_gguf_open_memory(bytes, size - 2, &g, &e) == SMOL_EFORMAT &&
          strstr(e.msg, "duplicate metadata key 'k.7' (entries 7 and 200)"), "%s", e.msg);
    free(bytes);
    unlink(path);
}

/* Rows from a fill callback land in order, in chunks, with the same bytes as referenced data. */
typedef struct fill_state {
    int64_t next_row, calls;
} fill_state;

static int fill_rows(void *ctx, int64_t row0, int64_t n_rows, void *buf, smol_error *err) {
    fill_state *s = ctx;
    if (row0 != s->next_row) return smol_fail(err, SMOL_EINVAL, "rows out of order: %lld", (long long)row0);
    float *f = buf;
    for (int64_t r = 0; r < n_rows; r++)
        for (int64_t c = 0; c < 1000; c++) f[r * 1000 + c] = (float)((row0 + r) * 1000 + c);
    s->next_row = row0 + n_rows;
    s->calls++;
    return SMOL_OK;
}

static int fill_fails(void *ctx, int64_t row0, int64_t n_rows, void *buf, smol_error *err) {
    (void)ctx, (void)row0, (void)n_rows, (void)buf;
    return smol_fail(err, SMOL_EUNSUPPORTED, "generator refused");
}

static void test_writer_fill(void) {
    smol_error e = {0};
    smol_gguf_writer *w = smol_gguf_writer_new();
    fill_state s = {0, 0};
    int64_t ne[2] = {1000, 3000};  /* 12 MB: more than one chunk */
    REQUIRE(smol_gguf_writer_add_tensor_fill(w, "big", SMOL_F32, 2, ne, fill_rows, &s, &e) == 0, "%s", e.msg);
    const char *path = test_tmp("fill.gguf");
    REQUIRE(smol_gguf_writer_write(w, path, &e) == 0, "%s", e.msg);
    CHECK(s.next_row == 3000 && s.calls >= 2, "rows %lld calls %lld", (long long)s.next_row, (long long)s.calls);
    smol_gguf *g;
    REQUIRE(smol_gguf_open(path, &g, &e) == 0, "%s", e.msg);
    const float *f = smol_gguf_find_tensor(g, "big")->data;
    int64_t bad = -1;
    for (int64_t i = 0; i < 3000 * 1000 && bad < 0; i++)
        if (f[i] != (float)i) bad = i;
    CHECK(bad < 0, "element %lld = %g", (long long)bad, bad >= 0 ? f[bad] : 0.0);
    smol_gguf_free(g);
    smol_gguf_writer_free(w);
    w = smol_gguf_writer_new();
    CHECK(smol_gguf_writer_add_tensor_fill(w, "x", SMOL_F32, 2, ne, fill_fails, NULL, &e) == 0, "%s", e.msg);
    unlink(path);
    CHECK(smol_gguf_writer_write(w, path, &e) == SMOL_EUNSUPPORTED && strstr(e.msg, "generator refused"), "%s", e.msg);
    CHECK(access(path, F_OK) != 0, "a failed write must leave no file");
    smol_gguf_writer_free(w);
}

/* ---------------------------------------------------------------- the architecture table */

/* The shapes give each model's published parameter count (Hugging Face safetensors totals). */
static void test_arch_param_counts(void) {
    static const struct { const char *name; long long params; } want[] = {
        {"smollm2-135m", 134515008LL}, {"smollm2-360m", 361821120LL}, {"smollm2-1.7b", 1711376384LL},
        {"llama3.2-1b", 1235814400LL}, {"llama3.2-3b", 3212749824LL}, {"qwen2.5-0.5b", 494032768LL},
        {"qwen2.5-1.5b", 1543714304LL},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const smol_arch *a = smol_arch_find(want[i].name);
        REQUIRE(a, "%s missing", want[i].name);
        CHECK(smol_arch_n_params(a) == want[i].params, "%s: %lld parameters, published %lld", want[i].name,
              smol_arch_n_params(a), want[i].params);
        CHECK(a->n_embd % a->n_head == 0 && a->n_head % a->n_head_kv == 0, "%s: heads", a->name);
    }
    CHECK(smol_arch_find("TINY") && smol_arch_find("gpt5") == NULL, "find");
    CHECK(smol_arch_at(smol_arch_count()) == NULL, "past the end");
}

/* Llama 3 scaling, computed the way transformers does (scaled inverse frequencies), then
 * compared as divisors with what rope_freqs.weight gets. */
static void test_llama3_rope_factors(void) {
    const smol_arch *a = smol_arch_find("llama3.2-1b");
    REQUIRE(a && a->rope_factor == 32, "llama3.2-1b scaling");
    float got[32];
    smol_arch_rope_factors(a, got, 32);
    int n_one = 0, n_full = 0;
    for (int i = 0; i < 32; i++) {
        double inv = 1.0 / pow(500000.0, 2.0 * i / 64), wavelen = 2 * M_PI / inv, scaled;
        if (wavelen < 8192.0 / 4) scaled = inv;
        else if (wavelen > 8192.0 / 1) scaled = inv / 32;
        else {
            double smooth = (8192.0 / wavelen - 1) / (4 - 1);
            scaled = (1 - smooth) * inv / 32 + smooth * inv;
        }
        double want = inv / scaled;
        CHECK(fabs(got[i] - want) <= 1e-5 * want, "factor %d: %g, want %g", i, got[i], want);
        n_one += want == 1.0;
        n_full += fabs(want - 32) < 1e-9;
    }
    CHECK(n_one > 0 && n_full > 0 && n_one + n_full < 32, "expected all three regimes: %d ones, %d x32", n_one, n_full);
    float none[8];
    smol_arch_rope_factors(smol_arch_find("tiny"), none, 8);
    CHECK(none[0] == 1 && none[7] == 1, "no scaling gives ones");
}

int main(void) {
    RUN(test_arch_param_counts);
    RUN(test_llama3_rope_factors);
    RUN(test_stories260k_facts);
    RUN(test_tiny_random_facts);
    RUN(test_round_trip_models);
    RUN(test_vocab_files);
    RUN(test_every_value_type);
    RUN(test_every_truncation);
    RUN(test_corrupt_headers);
    RUN(test_corrupt_metadata);
    RUN(test_corrupt_tensors);
    RUN(test_writer_errors_and_alignment);
    RUN(test_writer_fill);
    RUN(test_many_entries);
    return check_done();
}
