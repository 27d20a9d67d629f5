/* test_tokenizer.c: the tokenizers against llama.cpp's test-tokenizer-0 vectors (vocab GGUFs),
 * Hugging Face tokenizers' output (hf-golden), published vectors, round trips, the streaming
 * decoder and bad input. */
#include "check.h"
#include "smol.h"
#include "base/file.h"
#include "tok/tokenizer.h"
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static char *slurp(const char *path, size_t *n) {
    char *data = NULL;
    smol_error err = {0};
    if (smol_read_file(path, &data, n, &err)) {
        fprintf(stderr, "cannot read %s: %s\n", path, err.msg);
        return NULL;
    }
    return data;
}

static smol_tokenizer *load(const char *rel) {
    smol_tokenizer *t = NULL;
    smol_error err = {0};
    int rc = smol_tokenizer_load(test_data(rel), &t, &err);
    if (rc) fprintf(stderr, "load %s: %s\n", rel, err.msg);
    return t;
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

/* Parses a line of space-separated ids into ids (capacity cap); returns the count. */
static size_t parse_ids(const char *s, const char *end, int32_t *ids, size_t cap) {
    size_t n = 0;
    while (s < end && n < cap) {
        char *e;
        long v = strtol(s, &e, 10);
        if (e == s) break;
        ids[n++] = (int32_t)v;
        s = e;
    }
    return n;
}

/* Runs the cases of a llama.cpp .inp/.out pair through t; returns how many match. */
static int vocab_cases(smol_tokenizer *t, const char *name, int *total) {
    char rel_inp[256], rel_out[256];
    snprintf(rel_inp, sizeof rel_inp, "llama.cpp-vocab/ggml-vocab-%s.gguf.inp", name);
    snprintf(rel_out, sizeof rel_out, "llama.cpp-vocab/ggml-vocab-%s.gguf.out", name);
    size_t ni, no;
    char *inp = slurp(test_data(rel_inp), &ni), *out = slurp(test_data(rel_out), &no);
    int pass = 0, n = 0, shown = 0;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const char *p = inp, *q = out, *inp_end = inp + ni, *out_end = out + no;
    static int32_t want[65536];
    while (inp && out && p < inp_end) {
        const char *e = strstr(p, sep);
        if (!e) break;
        const char *line_end = memchr(q, '\n', (size_t)(out_end - q));
        if (!line_end) line_end = out_end;
        size_t nw = parse_ids(q, line_end, want, 65536);
        smol_tokens got = {0};
        smol_error err = {0};
        int rc = smol_tokenize(t, p, (size_t)(e - p), 0, &got, &err);
        bool ok = rc == 0 && got.n == nw && (nw == 0 || memcmp(got.ids, want, nw * sizeof *want) == 0);
        if (ok) pass++;
        else if (!shown++) {
            fprintf(stderr, "%s case %d differs: text \"%.*s\"\n", name, n, (int)(e - p), p);
            print_ids("expected", want, nw);
            print_ids("got", got.ids, got.n);
        }
        free(got.ids);
        n++;
        p = e + sizeof sep - 1;
        q = line_end < out_end ? line_end + 1 : out_end;
    }
    free(inp);
    free(out);
    *total = n;
    return pass;
}

static void check_vocab_gguf(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "llama.cpp-vocab/ggml-vocab-%s.gguf", name);
    smol_tokenizer *t = load(rel);
    REQUIRE(t, "cannot load %s", rel);
    int total = 0, pass = vocab_cases(t, name, &total);
    printf("  vocab %-16s %d/%d\n", name, pass, total);
    CHECK(total == 46 && pass == total, "%s: %d of %d cases match", name, pass, total);
    smol_tokenizer_free(t);
}

static void test_spm_vocabs(void) {
    check_vocab_gguf("llama-spm");
    check_vocab_gguf("phi-3");
}

static void test_bpe_vocabs(void) {
    static const char *const names[] = { "gpt-2", "falcon", "starcoder", "refact", "deepseek-coder", "deepseek-llm", "mpt" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) check_vocab_gguf(names[i]);
}

static void check_json_vs_vocab(const char *json_rel, const char *vocab) {
    smol_tokenizer *t = load(json_rel);
    REQUIRE(t, "cannot load %s", json_rel);
    int total = 0, pass = vocab_cases(t, vocab, &total);
    printf("  %s vs %s: %d/%d\n", json_rel, vocab, pass, total);
    CHECK(total == 46 && pass == total, "%s: %d of %d cases match", json_rel, pass, total);
    smol_tokenizer_free(t);
}

static void test_tokenizer_json_vocabs(void) {
    check_json_vs_vocab("tokenizers/SmolLM2-135M-Instruct/tokenizer.json", "smollm");
    check_json_vs_vocab("tokenizers/llama3-8b-instruct-hf/tokenizer.json", "llama-bpe");
}

static bool ids_equal_json(const smol_tokens *got, const cJSON *ids) {
    if (!cJSON_IsArray(ids) || (size_t)cJSON_GetArraySize(ids) != got->n) return false;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ids) if (got->ids[i++] != (int32_t)e->valuedouble) return false;
    return true;
}

static void print_json_ids(const char *label, const cJSON *ids) {
    fprintf(stderr, "  %s:", label);
    const cJSON *e;
    cJSON_ArrayForEach(e, ids) fprintf(stderr, " %d", (int)e->valuedouble);
    fputc('\n', stderr);
}

static void test_published_vectors(void) {
    size_t n;
    char *data = slurp(test_data("tokenizers/golden/tokenizer_vectors.json"), &n);
    REQUIRE(data, "no tokenizer_vectors.json");
    cJSON *root = cJSON_ParseWithLength(data, n);
    free(data);
    REQUIRE(root, "tokenizer_vectors.json does not parse");
    static const struct { const char *key, *path; unsigned flags; const char *ids; } sets[] = {
        { "smollm2", "tokenizers/SmolLM2-135M-Instruct/tokenizer.json", 0, "ids" },
        { "llama3", "tokenizers/llama3-8b-instruct-hf/tokenizer.json", SMOL_TOKENIZE_PARSE_SPECIAL, "ids" },
        { "stories260K_tok512", "stories260K/stories260K.gguf", SMOL_TOKENIZE_ADD_SPECIAL, "ids_with_bos" },
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        smol_tokenizer *t = load(sets[s].path);
        CHECK(t, "cannot load %s", sets[s].path);
        if (!t) continue;
        const cJSON *c;
        int pass = 0, total = 0;
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(cJSON_GetObjectItem(root, sets[s].key), "cases")) {
            const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
            const cJSON *want = cJSON_GetObjectItem(c, sets[s].ids);
            smol_tokens got = {0};
            CHECK(smol_tokenize(t, text, strlen(text), sets[s].flags, &got, NULL) == 0, "tokenize failed");
            total++;
            if (ids_equal_json(&got, want)) pass++;
            else {
                fprintf(stderr, "%s: \"%s\" differs\n", sets[s].key, text);
                print_json_ids("expected", want);
                print_ids("got", got.ids, got.n);
            }
            free(got.ids);
        }
        printf("  %s: %d/%d\n", sets[s].key, pass, total);
        CHECK(total > 0 && pass == total, "%s: %d of %d", sets[s].key, pass, total);
        smol_tokenizer_free(t);
    }
    cJSON_Delete(root);
}

/* GPT-2 from gpt2_vocab.json + gpt2_merges.txt (whose "# #" lines are merges) on the cs336
 * fixtures, with <|endoftext|> parsed as a special token. */
static void test_gpt2_vocab_merges_files(void) {
    smol_tokenizer *t = load("tokenizers/gpt2-cs336");
    REQUIRE(t, "cannot load the gpt2-cs336 folder");
    CHECK(smol_tokenizer_n_vocab(t) == 50257 && smol_token_eos(t) == 50256, "n_vocab %d eos %d", smol_tokenizer_n_vocab(t),
          smol_token_eos(t));
    size_t n;
    char *data = slurp(test_data("tokenizers/gpt2-cs336/gpt2_expected_ids.json"), &n);
    cJSON *root = data ? cJSON_ParseWithLength(data, n) : NULL;
    free(data);
    REQUIRE(root, "gpt2_expected_ids.json");
    const cJSON *e;
    int files = 0;
    cJSON_ArrayForEach(e, root) {
        char rel[256];
        snprintf(rel, sizeof rel, "corpora/cs336-fixtures/%s", e->string);
        size_t tn;
        char *text = slurp(test_data(rel), &tn);
        CHECK(text, "no %s", rel);
        if (!text) continue;
        smol_tokens got = {0};
        smol_tokenize(t, text, tn, SMOL_TOKENIZE_PARSE_SPECIAL, &got, NULL);
        bool ok = ids_equal_json(&got, e);
        if (!ok) {
            size_t i = 0;
            const cJSON *w;
            cJSON_ArrayForEach(w, e) { if (i >= got.n || got.ids[i] != (int32_t)w->valuedouble) break; i++; }
            fprintf(stderr, "%s: first difference at token %zu (%zu tokens, expected %d)\n", e->string, i, got.n, cJSON_GetArraySize(e));
        }
        CHECK(ok, "%s differs", e->string);
        char *dec = NULL;
        size_t dl = 0;
        smol_detokenize(t, got.ids, got.n, 0, &dec, &dl, NULL);
        CHECK(dec && dl == tn && memcmp(dec, text, tn) == 0, "%s does not decode back", e->string);
        files += ok;
        free(dec);
        free(got.ids);
        free(text);
    }
    printf("  gpt2-cs336: %d/%d files\n", files, cJSON_GetArraySize(root));
    CHECK(files == 3, "%d files match", files);
    cJSON_Delete(root);
    smol_tokenizer_free(t);
}

/* The hf-golden sweep: ids with special tokens parsed, and decode() of those ids. */
static void check_hf_golden(const char *tok_rel, const char *ids_rel) {
    smol_tokenizer *t = load(tok_rel);
    REQUIRE(t, "cannot load %s", tok_rel);
    size_t ni, no;
    char *inp = slurp(test_data("hf-golden/tokenizers/inputs.jsonl"), &ni), *out = slurp(test_data(ids_rel), &no);
    REQUIRE(inp && out, "missing hf-golden files");
    char *sp = NULL, *sq = NULL;
    int total = 0, ids_ok = 0, dec_ok = 0, shown_ids = 0, shown_dec = 0;
    for (char *a = strtok_r(inp, "\n", &sp), *b = strtok_r(out, "\n", &sq); a && b;
         a = strtok_r(NULL, "\n", &sp), b = strtok_r(NULL, "\n", &sq)) {
        cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
        const cJSON *text = cJSON_GetObjectItem(ja, "text"), *ids = cJSON_GetObjectItem(jb, "ids"),
                    *decoded = cJSON_GetObjectItem(jb, "decoded");
        if (!cJSON_IsString(text) || !cJSON_IsArray(ids) || !cJSON_IsString(decoded)) {
            CHECK(0, "line %d of the hf-golden files is malformed", total);
            cJSON_Delete(ja);
            cJSON_Delete(jb);
            break;
        }
        smol_tokens got = {0};
        smol_tokenize(t, text->valuestring, strlen(text->valuestring), SMOL_TOKENIZE_PARSE_SPECIAL, &got, NULL);
        if (ids_equal_json(&got, ids)) ids_ok++;
        else if (!shown_ids++) {
            fprintf(stderr, "%s: input line %d differs: \"%.200s\"\n", ids_rel, total + 1, text->valuestring);
            print_json_ids("expected", ids);
            print_ids("got", got.ids, got.n);
        }
        int32_t want[16384];
        size_t nw = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, ids) if (nw < 16384) want[nw++] = (int32_t)e->valuedouble;
        char *dec = NULL;
        size_t dl = 0;
        smol_detokenize(t, want, nw, SMOL_DETOKENIZE_LOSSY, &dec, &dl, NULL);
        if (dec && dl == strlen(decoded->valuestring) && memcmp(dec, decoded->valuestring, dl) == 0) dec_ok++;
        else if (!shown_dec++)
            fprintf(stderr, "%s: decode of line %d differs:\n  expected \"%.200s\"\n  got      \"%.200s\"\n", ids_rel,
                    total + 1, decoded->valuestring, dec ? dec : "(null)");
        free(dec);
        free(got.ids);
        cJSON_Delete(ja);
        cJSON_Delete(jb);
        total++;
    }
    printf("  %s: ids %d/%d, decoded %d/%d\n", ids_rel, ids_ok, total, dec_ok, total);
    CHECK(total == 2417 && ids_ok == total && dec_ok == total, "%s: ids %d, decoded %d of %d", ids_rel, ids_ok, dec_ok, total);
    free(inp);
    free(out);
    smol_tokenizer_free(t);
}

static void test_hf_golden_smollm2(void) {
    check_hf_golden("tokenizers/SmolLM2-135M-Instruct/tokenizer.json", "hf-golden/tokenizers/smollm2.ids.jsonl");
}

static void test_hf_golden_llama3(void) {
    check_hf_golden("tokenizers/llama3-8b-instruct-hf", "hf-golden/tokenizers/llama3.ids.jsonl");
}

static bool utf8_complete(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i];
        size_t l = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!l || i + l > n) return false;
        for (size_t k = 1; k < l; k++)
            if (((uint8_t)s[i + k] & 0xC0) != 0x80) return false;
        i += l;
    }
    return true;
}

/* Streams ids token by token; returns the concatenation (malloc'd) and checks each chunk. */
static char *stream_all(const smol_tokenizer *t, const int32_t *ids, size_t n, size_t *len, int *bad_chunks) {
    smol_detok_stream s;
    smol_detok_stream_init(&s, t, 0);
    char *all = malloc(64 * n + 16);
    size_t k = 0;
    *bad_chunks = 0;
    for (size_t i = 0; i < n; i++) {
        char small[2];
        int need = smol_detok_stream_push(&s, ids[i], small, 0);  /* a zero buffer: asks, consumes nothing */
        if (need > 0) (*bad_chunks)++;
        int w = smol_detok_stream_push(&s, ids[i], all + k, 64);
        if (w < 0) { (*bad_chunks)++; continue; }
        if (!utf8_complete(all + k, (size_t)w)) (*bad_chunks)++;
        k += (size_t)w;
    }
    k += (size_t)smol_detok_stream_flush(&s, all + k, 16);
    *len = k;
    return all;
}

static void test_stream_decoder(void) {
    static const char *const texts[] = {
        "Emoji 🎉🎉 and 👩‍👩‍👧 family, CJK 漢字かな交じり文, Devanagari हिन्दी, Arabic العربية.",
        "Ünïcödé ðïàçrïtïçs — “quotes” … ∑∫√ 𝔘𝔫𝔦",
    };
    static const char *const toks[] = { "tokenizers/SmolLM2-135M-Instruct/tokenizer.json", "llama.cpp-vocab/ggml-vocab-llama-spm.gguf" };
    for (size_t k = 0; k < 2; k++) {
        smol_tokenizer *t = load(toks[k]);
        REQUIRE(t, "load %s", toks[k]);
        for (size_t i = 0; i < 2; i++) {
            smol_tokens ids = {0};
            REQUIRE(smol_tokenize(t, texts[i], strlen(texts[i]), 0, &ids, NULL) == 0, "tokenize");
            size_t split = 0;  /* tokens that are not whole characters prove the hold-back is exercised */
            for (size_t j = 0; j < ids.n; j++) {
                char b[256];
                int n = smol_token_to_bytes(t, ids.ids[j], b, sizeof b);
                if (n > 0 && !utf8_complete(b, (size_t)n)) split++;
            }
            size_t len;
            int bad;
            char *s = stream_all(t, ids.ids, ids.n, &len, &bad);
            CHECK(split > 0, "%s: no token splits a character in text %zu", toks[k], i);
            CHECK(bad == 0, "%s: %d stream chunks were not whole UTF-8 or asked for no room", toks[k], bad);
            CHECK(len == strlen(texts[i]) && memcmp(s, texts[i], len) == 0, "%s: stream gave \"%.*s\"", toks[k], (int)len, s);
            free(s);
            free(ids.ids);
        }
        smol_tokenizer_free(t);
    }
}

/* decode(encode(line)) == line for every line of War and Peace; prints the speed. */
static void roundtrip_lines(const char *tok_rel, size_t max_lines, bool whole_file) {
    smol_tokenizer *t = load(tok_rel);
    REQUIRE(t, "load %s", tok_rel);
    size_t n;
    char *text = slurp(test_data("corpora/war-and-peace.txt"), &n);
    REQUIRE(text, "no war-and-peace.txt");
    if (whole_file) {
        smol_tokens all = {0};
        struct timespec a, b, ca, cb;
        clock_gettime(CLOCK_MONOTONIC, &a);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
        CHECK(smol_tokenize(t, text, n, 0, &all, NULL) == 0, "whole-file tokenize failed");
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
        clock_gettime(CLOCK_MONOTONIC, &b);
        double secs = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        double cpu = (double)(cb.tv_sec - ca.tv_sec) + 1e-9 * (double)(cb.tv_nsec - ca.tv_nsec);
        printf("  %s: war-and-peace %zu bytes -> %zu tokens in %.3f s (%.1f MB/s; %.1f MB/s of CPU time)\n", tok_rel, n,
               all.n, secs, n / secs / 1e6, n / cpu / 1e6);
        char *dec = NULL;
        size_t dl = 0;
        CHECK(smol_detokenize(t, all.ids, all.n, 0, &dec, &dl, NULL) == 0, "whole-file decode failed");
        CHECK(dl == n && memcmp(dec, text, n) == 0, "whole-file round trip differs (%zu vs %zu bytes)", dl, n);
        free(dec);
        free(all.ids);
    }
    char *dec = NULL;
    size_t dl = 0, lines = 0, bad = 0;
    char *sp = NULL;
    for (char *line = strtok_r(text, "\n", &sp); line && lines < max_lines; line = strtok_r(NULL, "\n", &sp), lines++) {
        smol_tokens ids = {0};
        size_t ln = strlen(line);
        smol_tokenize(t, line, ln, 0, &ids, NULL);
        smol_detokenize(t, ids.ids, ids.n, 0, &dec, &dl, NULL);
        if (!(dec && dl == ln && memcmp(dec, line, ln) == 0) && !bad++)
            fprintf(stderr, "%s: line %zu: \"%s\" came back as \"%s\"\n", tok_rel, lines + 1, line, dec ? dec : "");
        free(dec);
        free(ids.ids);
    }
    printf("  %s: %zu/%zu lines round-trip\n", tok_rel, lines - bad, lines);
    CHECK(bad == 0 && lines > 1000, "%zu of %zu lines differ", bad, lines);
    free(text);
    smol_tokenizer_free(t);
}

static void test_roundtrip_war_and_peace(void) {
    bool slow = getenv("SMOL_SLOW_TESTS") != NULL;
    roundtrip_lines("tokenizers/SmolLM2-135M-Instruct/tokenizer.json", (size_t)-1, true);
    roundtrip_lines("llama.cpp-vocab/ggml-vocab-llama-spm.gguf", slow ? (size_t)-1 : 5000, slow);
}

static int load_text(const char *json, smol_error *err) {
    const char *path = test_tmp("tokenizer.json");
    FILE *fp = fopen(path, "wb");
    fputs(json, fp);
    fclose(fp);
    smol_tokenizer *t = NULL;
    int rc = smol_tokenizer_load(path, &t, err);
    smol_tokenizer_free(t);
    remove(path);
    return rc;
}

/* A Llama-2-style tokenizer.json (character BPE, Prepend/Replace normalizers, byte fallback,
 * Strip decoder), small enough to work out by hand: "hi\n" is "▁hi" then the newline's byte
 * token, then "▁hi" again; "é" has no token and no byte tokens for its bytes, so it is <unk>. */
static void test_llama2_style_json(void) {
    static const char json[] =
        "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},{\"id\":1,\"content\":\"<s>\",\"special\":true}],"
        "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"
        "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]},\"pre_tokenizer\":null,"
        "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
        "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}]},"
        "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"
        "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]},"
        "\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"unk_token\":\"<unk>\",\"vocab\":{\"<unk>\":0,\"<s>\":1,"
        "\"<0x0A>\":2,\"\u2581\":3,\"h\":4,\"i\":5,\"\u2581h\":6,\"\u2581hi\":7,\"hi\":8},"
        "\"merges\":[\"\u2581 h\",\"\u2581h i\",\"h i\"]}}";
    const char *path = test_tmp("llama2-tokenizer.json");
    FILE *fp = fopen(path, "wb");
    REQUIRE(fp, "cannot write %s", path);
    fputs(json, fp);
    fclose(fp);
    smol_tokenizer *t = NULL;
    smol_error err = {0};
    int rc = smol_tokenizer_load(path, &t, &err);
    remove(path);
    REQUIRE(rc == 0, "load: %s", err.msg);
    smol_tokens ids = {0};
    smol_tokenize(t, "hi\n hi\xc3\xa9", 8, SMOL_TOKENIZE_ADD_SPECIAL, &ids, NULL);
    int32_t want[] = { 1, 7, 2, 7, 0 };  /* <s> ▁hi <0x0A> ▁hi <unk>: "▁hi\n▁hié" */
    bool ok = ids.n == 5 && memcmp(ids.ids, want, sizeof want) == 0;
    if (!ok) {
        print_ids("expected", want, 5);
        print_ids("got", ids.ids, ids.n);
    }
    CHECK(ok, "Llama-2-style ids differ");
    char *dec = NULL;
    smol_detokenize(t, ids.ids + 1, 3, 0, &dec, NULL, NULL);
    CHECK(dec && strcmp(dec, "hi\n hi") == 0, "decoded \"%s\"", dec ? dec : "");
    free(dec);
    free(ids.ids);
    smol_tokenizer_free(t);
}

static void test_bad_tokenizer_files(void) {
    smol_error err = {0};
    int rc = load_text("{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", &err);
    CHECK(rc == SMOL_EUNSUPPORTED && strstr(err.msg, "model type 'Unigram'"), "rc %d: %s", rc, err.msg);
    rc = load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]},"
                   "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"_\",\"split\":true}}", &err);
    CHECK(rc == SMOL_EUNSUPPORTED && strstr(err.msg, "pre_tokenizer type 'Metaspace'"), "rc %d: %s", rc, err.msg);
    rc = load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}},\"normalizer\":{\"type\":\"BertNormalizer\"}}", &err);
    CHECK(rc == SMOL_EUNSUPPORTED && strstr(err.msg, "normalizer type 'BertNormalizer'"), "rc %d: %s", rc, err.msg);
    rc = load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"}}}", &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "'a'"), "rc %d: %s", rc, err.msg);
    size_t n;
    char *full = slurp(test_data("tokenizers/SmolLM2-135M-Instruct/tokenizer.json"), &n);
    REQUIRE(full, "no SmolLM2 tokenizer.json");
    full[n / 2] = 0;  /* truncated in the middle */
    rc = load_text(full, &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "not valid JSON"), "rc %d: %s", rc, err.msg);
    free(full);
    rc = smol_tokenizer_load(test_data("corpora"), NULL, &err);
    CHECK(rc == SMOL_EINVAL, "NULL output accepted: %d", rc);
    smol_tokenizer *t = NULL;
    rc = smol_tokenizer_load(test_data("corpora"), &t, &err);
    CHECK(rc == SMOL_ENOTFOUND && strstr(err.msg, "no tokenizer.json"), "rc %d: %s", rc, err.msg);
    /* a GGUF with no tokenizer keys */
    smol_gguf_writer *w = smol_gguf_writer_new();
    smol_gguf_writer_set_str(w, "general.architecture", "llama", NULL);
    const char *path = test_tmp("notok.gguf");
    REQUIRE(smol_gguf_writer_write(w, path, NULL) == 0, "cannot write %s", path);
    smol_gguf_writer_free(w);
    rc = smol_tokenizer_load(path, &t, &err);
    CHECK(rc == SMOL_ENOTFOUND && strstr(err.msg, "tokenizer.ggml.tokens") && strstr(err.msg, "notok.gguf"), "rc %d: %s", rc, err.msg);
    remove(path);
    /* a GGUF whose name does not end in .gguf is recognised by its magic */
    const char *link = test_tmp("model.bin");
    char *target = realpath(test_data("stories260K/stories260K.gguf"), NULL);
    REQUIRE(target && symlink(target, link) == 0, "cannot link %s", link);
    free(target);
    rc = smol_tokenizer_load(link, &t, &err);
    CHECK(rc == 0 && smol_tokenizer_n_vocab(t) == 512, "rc %d: %s", rc, err.msg);
    smol_tokenizer_free(t);
    remove(link);
}

/* Invalid UTF-8 never fails: SentencePiece vocabularies give <0xNN> byte tokens and decode
 * back to the same bytes; a byte-level vocabulary that lacks a byte (SmolLM2 has no token for
 * 0xFE and 0xFF, which never occur in UTF-8) drops it, as Hugging Face and llama.cpp do. */
static void test_bad_text_and_ids(void) {
    static const char bad[] = "ok \xff\xfe abc \xc3 end \xe2\x82";
    static const char *const toks[] = { "tokenizers/SmolLM2-135M-Instruct/tokenizer.json", "llama.cpp-vocab/ggml-vocab-llama-spm.gguf" };
    static const char *const back[] = { "ok  abc \xc3 end \xe2\x82", bad };
    for (size_t k = 0; k < 2; k++) {
        smol_tokenizer *t = load(toks[k]);
        REQUIRE(t, "load %s", toks[k]);
        smol_tokens ids = {0};
        smol_error err = {0};
        CHECK(smol_tokenize(t, bad, sizeof bad - 1, 0, &ids, &err) == 0, "%s: invalid UTF-8 rejected: %s", toks[k], err.msg);
        char *dec = NULL;
        size_t dl = 0;
        CHECK(smol_detokenize(t, ids.ids, ids.n, 0, &dec, &dl, NULL) == 0, "decode");
        CHECK(dec && dl == strlen(back[k]) && memcmp(dec, back[k], dl) == 0, "%s: invalid bytes came back as \"%s\"", toks[k],
              dec ? dec : "");
        free(dec);
        CHECK(smol_detokenize(t, ids.ids, ids.n, SMOL_DETOKENIZE_LOSSY, &dec, &dl, NULL) == 0 && utf8_complete(dec, dl) &&
              strstr(dec, "\xEF\xBF\xBD end \xEF\xBF\xBD"), "%s: lossy decode gave \"%s\"", toks[k], dec ? dec : "");
        free(dec);
        int32_t out_of_range[] = { 5, smol_tokenizer_n_vocab(t), 7 };
        int rc = smol_detokenize(t, out_of_range, 3, 0, &dec, &dl, &err);
        CHECK(rc == SMOL_ERANGE && strstr(err.msg, "position 1"), "rc %d: %s", rc, err.msg);
        int32_t neg = -3;
        CHECK(smol_detokenize(t, &neg, 1, 0, &dec, &dl, &err) == SMOL_ERANGE, "negative id accepted");
        char b[8];
        CHECK(smol_token_to_bytes(t, -1, b, sizeof b) == 0 && smol_token_text(t, smol_tokenizer_n_vocab(t)) == NULL, "range");
        free(ids.ids);
        smol_tokenizer_free(t);
    }
}

static void test_special_tokens(void) {
    smol_tokenizer *t = load("tokenizers/SmolLM2-135M-Instruct");
    REQUIRE(t, "load SmolLM2 folder");
    CHECK(smol_tokenizer_n_vocab(t) == 49152, "n_vocab %d", smol_tokenizer_n_vocab(t));
    CHECK(smol_token_bos(t) == 1 && smol_token_eos(t) == 2, "bos %d eos %d", smol_token_bos(t), smol_token_eos(t));
    CHECK(smol_token_is_eog(t, 2) && smol_token_is_eog(t, 0) && !smol_token_is_eog(t, 1) && !smol_token_is_eog(t, 100), "eog");
    CHECK(!smol_tokenizer_adds_bos(t), "SmolLM2 adds no BOS");
    const char *tmpl = smol_tokenizer_chat_template(t);
    CHECK(tmpl && strstr(tmpl, "<|im_start|>"), "chat template");
    CHECK(strcmp(smol_tokenizer_pretok_name(t), "smollm") == 0, "pre-tokenizer %s", smol_tokenizer_pretok_name(t));
    static const char text[] = "<|im_start|>user\nHi<|im_end|>";
    smol_tokens a = {0}, b = {0};
    smol_tokenize(t, text, sizeof text - 1, SMOL_TOKENIZE_PARSE_SPECIAL, &a, NULL);
    smol_tokenize(t, text, sizeof text - 1, 0, &b, NULL);
    CHECK(a.n >= 3 && a.ids[0] == 1 && a.ids[a.n - 1] == 2, "parsed specials: first %d last %d", a.ids[0], a.ids[a.n - 1]);
    bool any = false;
    for (size_t i = 0; i < b.n; i++) any |= b.ids[i] == 1 || b.ids[i] == 2;
    CHECK(!any && b.n > a.n, "special tokens matched without PARSE_SPECIAL");
    char *dec = NULL;
    smol_detokenize(t, a.ids, a.n, SMOL_DETOKENIZE_SKIP_SPECIAL, &dec, NULL, NULL);
    CHECK(dec && strcmp(dec, "user\nHi") == 0, "skip special gave \"%s\"", dec ? dec : "");
    free(dec);
    CHECK(smol_token_lookup(t, "<|im_end|>", 10) == 2 && smol_token_type(t, 2) == SMOL_TOKEN_CONTROL, "lookup");
    free(a.ids);
    free(b.ids);
    smol_tokenizer_free(t);

    t = load("tokenizers/llama3-8b-instruct-hf/tokenizer.json");
    REQUIRE(t, "load Llama-3");
    smol_tokens c = {0};
    smol_tokenize(t, "Hi", 2, SMOL_TOKENIZE_ADD_SPECIAL, &c, NULL);
    CHECK(c.n == 2 && c.ids[0] == 128000 && smol_token_eos(t) == 128009 && smol_token_is_eog(t, 128009), "Llama-3 BOS/EOS");
    free(c.ids);
    smol_tokenizer_free(t);

    t = load("llama.cpp-vocab/ggml-vocab-llama-spm.gguf");
    REQUIRE(t, "load llama-spm");
    smol_tokens d = {0};
    smol_tokenize(t, "", 0, 0, &d, NULL);
    CHECK(d.n == 0, "empty text gave %zu tokens", d.n);
    smol_tokenize(t, "", 0, SMOL_TOKENIZE_ADD_SPECIAL, &d, NULL);
    CHECK(d.n == 1 && d.ids[0] == 1, "empty text with BOS");
    free(d.ids);
    smol_tokenizer_free(t);
}

/* Inputs found by fuzzing the tokenizer loaders (tests/fuzz/fuzz_tokjson.c, fuzz_vocab_gguf.c). */
static void test_fuzz_regressions(void) {
    smol_error err = {0};
    /* an added token re-defined with an empty content stayed in the added list: tokenizing a
     * NUL byte matched it forever without consuming text (a hang) */
    int rc = load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1}},"
                       "\"added_tokens\":[{\"id\":2,\"content\":\"x\"},{\"id\":2,\"content\":\"\"}]}", &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "added_tokens entry 1 (id 2) has an empty content"), "rc %d: %s", rc, err.msg);
    /* one token with id 99999999: 2.6 GB of token tables for a 50-byte file */
    rc = load_text("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999}}}", &err);
    CHECK(rc == SMOL_EFORMAT && strstr(err.msg, "token id 99999999 is far beyond the 1 entries"), "rc %d: %s", rc, err.msg);
}

/* The first index where a and b differ (n when they are equal). */
static size_t first_difference(const smol_tokens *a, const smol_tokens *b) {
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++)
        if (a->ids[i] != b->ids[i]) return i;
    return a->n == b->n ? SIZE_MAX : n;
}

static void check_same_ids(const smol_tokens *got, const smol_tokens *want, const char *what) {
    size_t d = first_difference(got, want);
    CHECK(d == SIZE_MAX, "%s: %zu vs %zu ids, first difference at id %zu (%d vs %d)", what, got->n, want->n, d,
          d < got->n ? got->ids[d] : -1, d < want->n ? want->ids[d] : -1);
}

/* A text of n bytes (allocated to its exact size, so that a read past its end is caught by
 * ASan): 300 words of 11 bytes that differ only in their last two (so that they share table
 * probes), twice; War and Peace from its middle; made-up words of 1 to 40 letters (longer than
 * the word table's 14-byte keys, and many of more than 4 tokens), each twice; short words
 * right at the end. */
static char *word_table_text(size_t *n) {
    size_t wn;
    char *wp = slurp(test_data("corpora/war-and-peace.txt"), &wn);
    if (!wp) return NULL;
    size_t take = wn < 300000 ? wn / 2 : 300000, cap = 2 * 300 * 11 + take + 2 * 2000 * 42 + 16, k = 0;
    char *s = malloc(cap);
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < 300; i++) {
            memcpy(s + k, " overcome", 9);
            s[k + 9] = (char)('a' + i / 26 % 26);
            s[k + 10] = (char)('a' + i % 26);
            k += 11;
        }
    memcpy(s + k, wp + wn / 3, take);
    k += take;
    uint32_t x = 12345;
    for (int i = 0; i < 2000; i++) {
        char w[42];
        int len = 1 + i % 40;
        w[0] = ' ';
        for (int j = 1; j <= len; j++) {
            x = x * 1103515245u + 12345u;
            w[j] = (char)('a' + (x >> 16) % 26);
        }
        for (int rep = 0; rep < 2; rep++) {
            memcpy(s + k, w, (size_t)len + 1);
            k += (size_t)len + 1;
        }
    }
    memcpy(s + k, " an end", 7);
    k += 7;
    free(wp);
    char *exact = malloc(k);
    memcpy(exact, s, k);
    free(s);
    *n = k;
    return exact;
}

/* The word table never changes the ids: no table, a table of 64 slots (full after 32 words, so
 * that new words are merged each time they occur) and the default table agree, on prose with
 * long words and words of many tokens; and on the cs336 GPT-2 fixtures against their expected
 * ids (test_gpt2_vocab_merges_files) the table is in use, as those texts exceed 256 bytes. */
static void test_word_table(void) {
    smol_tokenizer *t = load("tokenizers/SmolLM2-135M-Instruct/tokenizer.json");
    size_t n;
    char *text = word_table_text(&n);
    REQUIRE(t && text, "load SmolLM2 and the text");
    smol_tokens none = {0}, small = {0}, full = {0};
    CHECK(smol_tok_encode(t, text, n, 0, 0, &none, NULL) == 0, "encode without a table");
    CHECK(smol_tok_encode(t, text, n, 0, 64, &small, NULL) == 0, "encode with 64 slots");
    CHECK(smol_tokenize(t, text, n, 0, &full, NULL) == 0, "encode");
    CHECK(none.n > n / 8, "%zu ids for %zu bytes", none.n, n);
    check_same_ids(&small, &none, "64-slot table vs none");
    check_same_ids(&full, &none, "default table vs none");
    char *dec = NULL;
    size_t dl = 0;
    CHECK(smol_detokenize(t, full.ids, full.n, 0, &dec, &dl, NULL) == 0 && dl == n && memcmp(dec, text, n) == 0,
          "the text does not decode back");
    free(dec);
    free(none.ids);
    free(small.ids);
    free(full.ids);
    free(text);
    smol_tokenizer_free(t);
}

typedef struct tokenize_job {
    const smol_tokenizer *t;
    const char *text;
    size_t len;
    smol_tokens ids;
    int rc;
} tokenize_job;

static void *run_tokenize_job(void *arg) {
    tokenize_job *j = arg;
    j->rc = smol_tokenize(j->t, j->text, j->len, 0, &j->ids, NULL);
    return NULL;
}

/* One tokenizer used by four threads at once (smol.h promises it): each gets the ids of a
 * single-threaded call. */
static void test_concurrent_use(void) {
    smol_tokenizer *t = load("tokenizers/SmolLM2-135M-Instruct/tokenizer.json");
    size_t n;
    char *text = word_table_text(&n);
    REQUIRE(t && text, "load SmolLM2 and the text");
    smol_tokens want = {0};
    CHECK(smol_tokenize(t, text, n, 0, &want, NULL) == 0, "single-threaded encode");
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    tokenize_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (tokenize_job){ t, text, n, { 0 }, -1 };
        REQUIRE(pthread_create(&th[i], NULL, run_tokenize_job, &jobs[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        char what[32];
        snprintf(what, sizeof what, "thread %d", i);
        CHECK(jobs[i].rc == 0, "%s: rc %d", what, jobs[i].rc);
        check_same_ids(&jobs[i].ids, &want, what);
        free(jobs[i].ids.ids);
    }
    free(want.ids);
    free(text);
    smol_tokenizer_free(t);
}

/* The compact merge index is built where it fits (and so is what the golden tests above went
 * through): SmolLM2 (results are rank + 252), GPT-2, Llama-3 (several merges give one token:
 * results read by rank); not for SentencePiece scores, where merges share ranks. */
static void test_merge_index(void) {
    static const struct { const char *rel; bool indexed, by_offset; } cases[] = {
        { "tokenizers/SmolLM2-135M-Instruct/tokenizer.json", true, true },
        { "tokenizers/gpt2-cs336", true, true },
        { "tokenizers/llama3-8b-instruct-hf/tokenizer.json", true, false },
        { "llama.cpp-vocab/ggml-vocab-llama-spm.gguf", false, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smol_tokenizer *t = load(cases[i].rel);
        CHECK(t, "load %s", cases[i].rel);
        if (!t) continue;
        const smol_pair_index *ix = &t->pair_index;
        CHECK((ix->slots != NULL) == cases[i].indexed, "%s: index %s", cases[i].rel, ix->slots ? "built" : "not built");
        CHECK(!ix->slots || ix->by_offset == cases[i].by_offset, "%s: by_offset %d", cases[i].rel, ix->by_offset);
        for (uint64_t s = 0; ix->slots && s <= t->pairs.mask; s++) {  /* every merge found in both */
            const smol_pair_entry *e = &t->pairs.slots[s];
            if (!e->key) continue;
            int32_t l = (int32_t)((e->key - 1) >> 32), r = (int32_t)((e->key - 1) & 0xFFFFFFFFu);
            uint64_t key = smol_pair_index_key(l, r), j = smol_pair_slot(key, ix->mask);
            while (ix->slots[j] && ix->slots[j] >> 24 != key) j = (j + 1) & ix->mask;
            uint32_t rank = (uint32_t)(ix->slots[j] & 0xFFFFFF);
            int32_t merged = ix->by_offset ? (int32_t)(rank + ix->offset) : ix->merged_by_rank[rank];
            if (!ix->slots[j] || rank != e->rank || merged != e->merged) {
                CHECK(false, "%s: merge %d %d: index rank %u result %d, map rank %u result %d", cases[i].rel, l, r,
                      rank, merged, e->rank, e->merged);
                break;
            }
        }
        smol_tokenizer_free(t);
    }
}

int main(void) {
    RUN(test_spm_vocabs);
    RUN(test_bpe_vocabs);
    RUN(test_tokenizer_json_vocabs);
    RUN(test_published_vectors);
    RUN(test_gpt2_vocab_merges_files);
    RUN(test_hf_golden_smollm2);
    RUN(test_hf_golden_llama3);
    RUN(test_special_tokens);
    RUN(test_stream_decoder);
    RUN(test_roundtrip_war_and_peace);
    RUN(test_word_table);
    RUN(test_concurrent_use);
    RUN(test_merge_index);
    RUN(test_llama2_style_json);
    RUN(test_bad_tokenizer_files);
    RUN(test_bad_text_and_ids);
    RUN(test_fuzz_regressions);
    return check_done();
}
