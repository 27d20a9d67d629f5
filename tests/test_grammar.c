/* test_grammar.c: the GBNF parser (llama.cpp's example grammars, malformed text with line:column
 * errors, semantic errors), the matcher on crafted strings per grammar feature, token masks
 * against a brute-force oracle (every token tried from the current state), rollback and clone
 * equivalence, fast-forward, choice grammars; minimal completion lengths against the equations
 * that define them, and the budget-aware finish of generation. */
#include "check.h"
#include "smol.h"
#include "gen/grammar.h"
#include "gen/schema.h"
#include "base/file.h"
#include <stdint.h>

static const char *const k_examples[] = {"arithmetic", "c", "chess", "english", "japanese", "json", "json_arr", "list"};

static smol_grammar *compile(const char *text, smol_error *err) {
    smol_grammar *g = NULL;
    if (smol_grammar_from_gbnf(text, strlen(text), "root", &g, err)) return NULL;
    return g;
}

static smol_grammar *compile_file(const char *name) {
    char rel[256], *text = NULL;
    size_t len = 0;
    snprintf(rel, sizeof rel, "llama.cpp-grammars/%s.gbnf", name);
    smol_error err = {0};
    smol_grammar *g = NULL;
    if (smol_read_file(test_data(rel), &text, &len, &err) == 0) smol_grammar_from_gbnf(text, len, "root", &g, &err);
    if (!g) fprintf(stderr, "%s: %s\n", rel, err.msg);
    free(text);
    return g;
}

static void test_examples_compile(void) {
    for (size_t i = 0; i < sizeof k_examples / sizeof *k_examples; i++) {
        smol_grammar *g = compile_file(k_examples[i]);
        CHECK(g != NULL, "%s.gbnf does not compile", k_examples[i]);
        smol_grammar_free(g);
    }
}

/* 1 if the whole string s is a sentence of g, 0 if not, -1 if a prefix was already rejected. */
static int matches(const smol_grammar *g, const char *s) {
    smol_matcher *m = NULL;
    smol_error err = {0};
    if (smol_matcher_new(g, NULL, &m, &err)) return -2;
    int r = smol_matcher_accept_bytes(m, s, strlen(s)) ? -1 : smol_matcher_can_end(m);
    smol_matcher_free(m);
    return r;
}

typedef struct match_case {
    const char *grammar, *text;
    int expect;   /* 1 sentence, 0 a proper prefix only, -1 rejected */
} match_case;

static const match_case k_match[] = {
    {"root ::= \"abc\"", "abc", 1},
    {"root ::= \"abc\"", "ab", 0},
    {"root ::= \"abc\"", "abd", -1},
    {"root ::= \"abc\"", "abcd", -1},
    {"root ::= \"a\" | \"b\" | \"\"", "", 1},
    {"root ::= \"a\" | \"b\"", "b", 1},
    {"root ::= [a-c]+", "abcabc", 1},
    {"root ::= [a-c]+", "", 0},
    {"root ::= [a-c]+", "abd", -1},
    {"root ::= [^a-c]*", "xyz\n", 1},
    {"root ::= [^a-c]*", "xya", -1},
    {"root ::= \"x\"? \"y\"", "y", 1},
    {"root ::= \"x\"? \"y\"", "xy", 1},
    {"root ::= \"x\"? \"y\"", "xxy", -1},
    {"root ::= [0-9]{3}", "123", 1},
    {"root ::= [0-9]{3}", "12", 0},
    {"root ::= [0-9]{3}", "1234", -1},
    {"root ::= [0-9]{2,}", "1", 0},
    {"root ::= [0-9]{2,}", "12345678", 1},
    {"root ::= [0-9]{1,3}", "123", 1},
    {"root ::= [0-9]{1,3}", "1234", -1},
    {"root ::= [0-9]{0,2} \"x\"", "x", 1},
    {"root ::= [0-9]{0,2} \"x\"", "12x", 1},
    {"root ::= [0-9]{0,2} \"x\"", "123x", -1},
    {"root ::= (\"ab\" | \"cd\")* \"!\"", "abcdab!", 1},
    {"root ::= (\"ab\" | \"cd\")* \"!\"", "abc!", -1},
    {"root ::= \"ab\"{2}", "abab", 1},
    {"root ::= \"ab\"{2}", "aba", 0},
    {"root ::= .", "\xc3\xa9", 1},
    {"root ::= .", "\xc3", 0},
    {"root ::= . .", "\xe4\xb8\xad" "a", 1},
    {"root ::= [\\u00e0-\\u00ff]", "\xc3\xa9", 1},
    {"root ::= [\\u00e0-\\u00ff]", "\xc3\x80", -1},
    {"root ::= \"\\x41\\u00e9\\n\\t\\\\\\\"\"", "A\xc3\xa9\n\t\\\"", 1},
    {"root ::= [\\]\\[]+", "[]][", 1},
    {"root ::= \"a\" b\nb ::= \"b\" | \"c\" b", "accb", 1},
    {"root ::= \"a\" b\nb ::= \"b\" | \"c\" b", "acca", -1},
    {"root ::= x x\nx ::= \"(\" x \")\" | \"\"", "(())()", 1},
    {"root ::= x x\nx ::= \"(\" x \")\" | \"\"", "(()))", -1},
    {"root ::= \"\xe2\x82\xac\"", "\xe2\x82", 0},
    {"root ::= \"\xe2\x82\xac\"", "\xe2\x82\xac", 1},
    {"root ::= [a-z]", "\xff", -1},
    {"root ::= \"a\" # comment\n# another\nfoo ::= \"f\"", "a", 1},
    {"root ::= (\"a\"?)* \"b\"", "aab", 1},
    {"root ::= (\"a\"?)* \"b\"", "b", 1},
    {"root ::= (\"a\"?)* \"b\"", "aaba", -1},
    {"root ::= (ws \"x\"?)+ \"!\"\nws ::= \" \"*", " x xx  !", 1},
    {"root ::= (\n  \"a\" # c\n  | \"b\"\n)", "b", 1},
};

static void test_match_features(void) {
    for (size_t i = 0; i < sizeof k_match / sizeof *k_match; i++) {
        smol_error err = {0};
        smol_grammar *g = compile(k_match[i].grammar, &err);
        REQUIRE(g, "case %zu: %s: %s", i, k_match[i].grammar, err.msg);
        int r = matches(g, k_match[i].text);
        CHECK(r == k_match[i].expect, "case %zu: grammar %s text '%s': got %d, expected %d", i, k_match[i].grammar,
              k_match[i].text, r, k_match[i].expect);
        smol_grammar_free(g);
    }
}

static void test_match_examples(void) {
    static const struct { const char *file, *text; int expect; } cases[] = {
        {"json", "{\"a\": [1, 2.5e3, \"x\\u00e9\\n\", true, null, {}]}", 1},
        {"json", "{\"a\": 01}", -1},
        {"json", "{\"a\": \"\x01\"}", -1},
        {"json", "{\"a\": \"b\"", 0},
        {"json", "[1]", -1},
        {"json_arr", "[\n1,\n\"a\"]", 1},
        {"arithmetic", "a+b=c\n(x*2)=y\n", 1},
        {"arithmetic", "a+=b\n", -1},
        {"chess", "1. e4 e5\n2. Nf3 Nc6\n", 1},
        {"chess", "1. e9", -1},
        {"c", "int main(){return 0;}", 1},
        {"english", "Hello, world!", 1},
        {"japanese", "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf", 1},
        {"japanese", "abc", -1},
        {"list", "- one\n- two\n", 1},
        {"list", "- one\r\n", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        smol_grammar *g = compile_file(cases[i].file);
        REQUIRE(g, "%s", cases[i].file);
        int r = matches(g, cases[i].text);
        CHECK(r == cases[i].expect, "%s.gbnf on '%s': got %d, expected %d", cases[i].file, cases[i].text, r, cases[i].expect);
        smol_grammar_free(g);
    }
}

static void test_malformed(void) {
    static const struct { const char *text, *msg; } cases[] = {
        {"root ::= \"abc", "malformed GBNF at 1:10: unterminated string"},
        {"root ::= [a-z", "malformed GBNF at 1:10: unterminated character class"},
        {"root ::= \"a\"\n\nfoo ::= (\"x\" | \"y\"", "malformed GBNF at 3:19: expected ')' to close the group opened at 3:9"},
        {"root ::= \"a\" )", "malformed GBNF at 1:14: unmatched ')'"},
        {"root := \"a\"", "malformed GBNF at 1:6: expected '::='"},
        {"root ::= \"a\"\n  \"b\"", "malformed GBNF at 2:3: expected a rule name"},
        {"root ::= \"\\q\"", "malformed GBNF at 1:11: unknown escape"},
        {"root ::= \"\\x4\"", "malformed GBNF at 1:14: expected 2 hex digits"},
        {"root ::= [z-a]", "malformed GBNF at 1:13: range end"},
        {"root ::= \"a\"{3,1}", "malformed GBNF at 1:13: repetition {3,1}"},
        {"root ::= \"a\"{,2}", "malformed GBNF at 1:13: repetition without a minimum"},
        {"root ::= @", "malformed GBNF at 1:10: expected a string"},
        {"root ::= \"a\"\nroot ::= \"b\"", "malformed GBNF at 2:1: rule 'root' is defined twice"},
        {"root ::= foo", "undefined rule 'foo' (used at 1:10)"},
        {"root ::= \"x\" loop\nloop ::= \"y\" loop", "rule 'loop' has no finite derivation"},
        {"root ::= expr\nexpr ::= expr \"+\" num | num\nnum ::= [0-9]", "left recursion (expr -> expr)"},
        {"root ::= a\na ::= b \"x\" | \"y\"\nb ::= c\nc ::= \"\" | a", "left recursion (a -> b -> c -> a)"},
        {"root ::= a\na ::= e a \"x\" | \"y\"\ne ::= \"\" | \"z\"", "left recursion (a -> a)"},
        {"start ::= \"a\"", "no start rule 'root'"},
        {"", "no rules"},
        {"root ::= \"\xff\"", "malformed GBNF at 1:11: invalid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        smol_error err = {0};
        smol_grammar *g = compile(cases[i].text, &err);
        CHECK(!g && err.code == SMOL_EFORMAT, "case %zu compiled", i);
        CHECK(strstr(err.msg, cases[i].msg) != NULL, "case %zu: message '%s' lacks '%s'", i, err.msg, cases[i].msg);
        smol_grammar_free(g);
    }
}

/* Many rules, each referenced before its definition (defined in a scrambled order): every name
 * must find its own rule (rule i reads letter i % 26, so a mix-up changes the accepted text), and
 * an undefined rule's message names the line and column of its first use. */
static void test_many_rules(void) {
    enum { N = 3000 };
    size_t cap = (size_t)N * 48 + 64, len = 0;
    char *text = malloc(cap), *want = malloc(N + 2);
    REQUIRE(text && want, "out of memory");
    len += (size_t)snprintf(text + len, cap - len, "root ::= r0\n");
    for (int k = 0; k < N; k++) {
        int i = (int)((long)k * 7919 % N);            /* 7919 is prime, so every i once */
        if (i + 1 < N) len += (size_t)snprintf(text + len, cap - len, "r%d ::= \"%c\" r%d | \".\"\n", i, 'a' + i % 26, i + 1);
        else len += (size_t)snprintf(text + len, cap - len, "r%d ::= \".\"\n", i);
    }
    smol_error err = {0};
    smol_grammar *g = NULL;
    REQUIRE(smol_grammar_from_gbnf(text, len, "root", &g, &err) == 0, "%s", err.msg);
    for (int k = 0; k < N; k += 997) {               /* k letters, then the end */
        for (int i = 0; i < k; i++) want[i] = (char)('a' + i % 26);
        want[k] = '.', want[k + 1] = 0;
        CHECK(matches(g, want) == 1, "%d letters then '.' rejected", k);
        if (k > 1) {
            want[k - 1] = want[k - 1] == 'a' ? 'b' : 'a';
            CHECK(matches(g, want) != 1, "%d letters with the last one wrong accepted", k);
        }
    }
    smol_grammar_free(g);
    g = NULL;
    len += (size_t)snprintf(text + len, cap - len, "tail ::= \"t\"\nlast ::= tail   missing-rule\n");
    CHECK(smol_grammar_from_gbnf(text, len, "root", &g, &err) == SMOL_EFORMAT, "undefined rule compiled");
    char msg[128];
    snprintf(msg, sizeof msg, "undefined rule 'missing-rule' (used at %d:17)", N + 3);
    CHECK(strstr(err.msg, msg) != NULL, "message '%s' lacks '%s'", err.msg, msg);
    smol_grammar_free(g);
    free(text), free(want);
}

static void test_choice(void) {
    const char *choices[] = {"yes", "no", "maybe so", "\xc3\xa9t\xc3\xa9"};
    smol_grammar *g = NULL;
    smol_error err = {0};
    REQUIRE(smol_grammar_from_choice(choices, 4, &g, &err) == 0, "%s", err.msg);
    CHECK(matches(g, "yes") == 1 && matches(g, "no") == 1 && matches(g, "maybe so") == 1, "choices rejected");
    CHECK(matches(g, "\xc3\xa9t\xc3\xa9") == 1, "UTF-8 choice rejected");
    CHECK(matches(g, "ye") == 0 && matches(g, "yess") == -1 && matches(g, "maybe") == 0 && matches(g, "") == 0, "prefix");
    smol_grammar_free(g);
    CHECK(smol_grammar_from_choice(choices, 0, &g, &err) == SMOL_EINVAL, "no choices accepted");
}

static void test_forced(void) {
    smol_grammar *g = compile_file("json");
    REQUIRE(g, "json");
    smol_matcher *m = NULL;
    smol_error err = {0};
    REQUIRE(smol_matcher_new(g, NULL, &m, &err) == 0, "%s", err.msg);
    char buf[64];
    size_t n = smol_matcher_forced(m, buf, sizeof buf);
    CHECK(n == 1 && buf[0] == '{', "forced at start: %zu bytes", n);
    REQUIRE(smol_matcher_accept_bytes(m, "{\"a\": tr", 8) == 0, "prefix rejected");
    n = smol_matcher_forced(m, buf, sizeof buf);
    CHECK(n == 2 && memcmp(buf, "ue", 2) == 0, "forced after 'tr': '%.*s'", (int)n, buf);
    REQUIRE(smol_matcher_accept_bytes(m, "ue", 2) == 0, "forced bytes rejected");
    n = smol_matcher_forced(m, buf, sizeof buf);
    CHECK(n == 0, "nothing is forced after a value, got %zu", n);
    smol_matcher_free(m);
    smol_grammar_free(g);

    g = compile("root ::= \"\xe2\x82\xac\xe2\x82\xac\" [ab]", &err);
    REQUIRE(g, "%s", err.msg);
    REQUIRE(smol_matcher_new(g, NULL, &m, &err) == 0, "%s", err.msg);
    n = smol_matcher_forced(m, buf, 4);   /* room for one whole character only */
    CHECK(n == 3 && memcmp(buf, "\xe2\x82\xac", 3) == 0, "forced stops at whole characters: %zu", n);
    n = smol_matcher_forced(m, buf, sizeof buf);
    CHECK(n == 6, "forced two euro signs: %zu", n);
    smol_matcher_free(m);
    smol_grammar_free(g);
}

/* ---------------------------------------------------------------- token masks */

static smol_tokenizer *load_tok(const char *rel) {
    smol_tokenizer *t = NULL;
    smol_error err = {0};
    if (smol_tokenizer_load(test_data(rel), &t, &err)) fprintf(stderr, "%s: %s\n", rel, err.msg);
    return t;
}

/* A tokenizer and its token index, loaded together for the mask tests. */
typedef struct vocab {
    smol_tokenizer *tok;
    smol_token_index *ti;
} vocab;

/* Loads the tokenizer at test-data path rel and builds its index; 1 on success (else reported). */
static int vocab_open(vocab *v, const char *rel) {
    smol_error err = {0};
    v->ti = NULL;
    v->tok = load_tok(rel);
    if (v->tok && smol_token_index_new(v->tok, &v->ti, &err) == 0) return 1;
    if (v->tok) fprintf(stderr, "%s: token index: %s\n", rel, err.msg);
    smol_tokenizer_free(v->tok);
    return 0;
}

static void vocab_close(vocab *v) {
    smol_token_index_free(v->ti);
    smol_tokenizer_free(v->tok);
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Compares the mask of m with accepting each token (then rolling it back): every token when
 * stride is 1, else a random sample (one in stride of the rejected, one in 4 * stride of the
 * allowed). Returns the number of tokens checked, -1 on a
 * difference (printed). */
static long check_mask(smol_matcher *m, const smol_tokenizer *tok, int stride, uint64_t *seed, const char *where) {
    int32_t nv = smol_tokenizer_n_vocab(tok);
    uint32_t *mask = calloc(((size_t)nv + 31) / 32, 4);
    int n_allowed = smol_matcher_mask(m, mask);
    long checked = 0, count = 0;
    for (int32_t id = 0; id < nv; id++) {
        int bit = mask[id >> 5] >> (id & 31) & 1;
        count += bit;
        if (stride > 1 && rng_next(seed) % (uint64_t)(bit ? 4 * stride : stride)) continue;
        int ok = smol_matcher_accept_token(m, id) == 0;
        if (ok) smol_matcher_rollback(m, 1);
        checked++;
        if (ok != bit) {
            char b[256];
            int n = smol_token_to_bytes(tok, id, b, sizeof b - 1);
            b[n > 0 ? n : 0] = 0;
            fprintf(stderr, "%s: token %d '%s' mask %d but accepting it gives %d\n", where, id, b, bit, ok);
            free(mask);
            return -1;
        }
    }
    free(mask);
    if (count != n_allowed) {
        fprintf(stderr, "%s: mask returned %d, %ld bits set\n", where, n_allowed, count);
        return -1;
    }
    return checked;
}

/* Walks text token by token through grammar g and checks the mask at every step. */
static void mask_walk(const smol_grammar *g, const smol_tokenizer *tok, const smol_token_index *ti, const char *text,
                      int stride, int expect_end, const char *name) {
    smol_matcher *m = NULL;
    smol_error err = {0};
    REQUIRE(smol_matcher_new(g, ti, &m, &err) == 0, "%s", err.msg);
    smol_tokens ids = {0};
    REQUIRE(smol_tokenize(tok, text, strlen(text), 0, &ids, &err) == 0, "%s", err.msg);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    char where[128];
    for (size_t i = 0; i <= ids.n; i++) {
        snprintf(where, sizeof where, "%s step %zu", name, i);
        long c = check_mask(m, tok, stride, &seed, where);
        CHECK(c > 0, "%s: mask differs from the oracle", where);
        if (c < 0 || i == ids.n) break;
        CHECK(smol_matcher_accept_token(m, ids.ids[i]) == 0, "%s: token %d rejected", where, ids.ids[i]);
    }
    CHECK(smol_matcher_can_end(m) == expect_end, "%s: can_end %d", name, smol_matcher_can_end(m));
    if (expect_end) {
        int32_t eos = smol_token_eos(tok);
        if (eos >= 0 && smol_token_is_eog(tok, eos)) {
            CHECK(smol_matcher_accept_token(m, eos) == 0 && smol_matcher_is_done(m), "%s: end token rejected", name);
            CHECK(smol_matcher_accept_token(m, ids.n ? ids.ids[0] : 0) == SMOL_EINVAL, "%s: token after the end", name);
        }
    }
    free(ids.ids);
    smol_matcher_free(m);
}

static void test_masks_smollm(void) {
    vocab v;
    REQUIRE(vocab_open(&v, "tokenizers/SmolLM2-135M-Instruct/tokenizer.json"), "tokenizer");
    smol_tokenizer *tok = v.tok;
    smol_token_index *ti = v.ti;
    smol_error err = {0};
    int full = getenv("SMOL_SLOW_TESTS") != NULL;
    smol_grammar *g = compile_file("json");
    if (g) {
        mask_walk(g, tok, ti, "{\"name\": \"caf\xc3\xa9 \\\"x\\\"\", \"n\": [1, -2.5e3, {\"deep\": {\"er\": [true, null]}}]}", 1, 1,
                  "json");
        mask_walk(g, tok, ti, "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": \"\xe4\xb8\xad\xe6\x96\x87 text\"}}}}}", full ? 1 : 7, 1,
                  "json deep");
    }
    smol_grammar_free(g);
    g = compile_file("chess");
    if (g) mask_walk(g, tok, ti, "1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n", 3, 1, "chess");
    smol_grammar_free(g);
    g = compile_file("japanese");
    if (g) mask_walk(g, tok, ti, "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf \xe4\xb8\x96\xe7\x95\x8c", 3, 1, "japanese");
    smol_grammar_free(g);
    g = compile_file("arithmetic");
    if (g) mask_walk(g, tok, ti, "(a+b)*2=c\n", 3, 1, "arithmetic");
    smol_grammar_free(g);
    g = compile("root ::= (ws word?)+ \".\"\nws ::= [ \\t]*\nword ::= [a-z]+", &err);   /* repeated nullable item */
    CHECK(g, "%s", err.msg);
    if (g) mask_walk(g, tok, ti, "hello  world\tok .", 3, 1, "nullable repetition");
    smol_grammar_free(g);
    vocab_close(&v);
}

static void test_masks_llama3_sample(void) {
    vocab v;
    REQUIRE(vocab_open(&v, "tokenizers/llama3-8b-instruct-hf/tokenizer.json"), "tokenizer");
    smol_tokenizer *tok = v.tok;
    smol_token_index *ti = v.ti;
    CHECK(smol_token_index_n_vocab(ti) == smol_tokenizer_n_vocab(tok), "index size");
    smol_grammar *g = compile_file("json");
    if (g) {
        mask_walk(g, tok, ti, "{\"list\": [[[[\"deep string with words\", 12]]]], \"k\": {\"x\": \"y\"}}", 50, 1, "llama3 json");
        mask_walk(g, tok, ti, "{\"unfinished\": [1, 2", 50, 0, "llama3 json prefix");
    }
    smol_grammar_free(g);
    vocab_close(&v);
}

/* Masks where whole trie subtrees are accepted by a state's alphabet (strings, property names
 * beside known names, counted strings, patterns, classes holding only part of non-ASCII), against
 * the accept-and-roll-back oracle on a sample of Llama-3's vocabulary. */
static void test_masks_alphabet(void) {
    vocab v;
    REQUIRE(vocab_open(&v, "tokenizers/llama3-8b-instruct-hf/tokenizer.json"), "tokenizer");
    static const char *const cases[][3] = {
        {"{\"type\": \"object\", \"properties\": {\"title\": {\"type\": \"string\", \"maxLength\": 12},"
         " \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"pattern\": \"^[a-z]+$\"}}},"
         " \"additionalProperties\": {\"type\": \"string\"}}",
         "{\"title\": \"\u00dcn\u00efcode ok\", \"tags\": [\"abc\", \"de\"], \"other key\": \"free \\\"text\\\" \u4e2d\u6587\"}", "schema"},
        {"{\"patternProperties\": {\"[0-9]{2,}\": {\"type\": \"boolean\"}, \"X_\": {\"type\": \"string\"}}}",
         "{\"answer 1\": \"42\", \"a_x_3\": 3, \"k12\": true}", "patternProperties"},
        {"{\"type\": \"string\", \"pattern\": \"a+\"}", "\"xxaayy \u00e9t\u00e9\"", "pattern"},
        /* counted formats, a bounded string and several patternProperties on one name: states whose
         * alphabets do not reach far (the walk goes deep, making many new states) */
        {"{\"type\": \"object\", \"properties\": {\"to\": {\"type\": \"string\", \"format\": \"email\"},"
         " \"at\": {\"type\": \"string\", \"format\": \"date-time\"}, \"note\": {\"type\": \"string\", \"maxLength\": 30}},"
         " \"patternProperties\": {\"^x-\": {\"type\": \"integer\"}, \"[0-9]$\": {\"type\": \"string\", \"format\": \"uuid\"}}}",
         "{\"to\": \"ops.team@example.com\", \"at\": \"2026-11-27T09:30:00Z\", \"note\": \"caf\u00e9 \\\"ok\\\" 12345678\","
         " \"x-ab\": 7, \"k2\": \"3f2b8c1e-9a4d-4e2f-8b1a-2c3d4e5f6a7b\"}", "formats and patternProperties"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *gbnf = NULL;
        smol_error err = {0};
        smol_grammar *g = NULL;
        CHECK(smol_schema_to_gbnf(cases[k][0], strlen(cases[k][0]), 0, &gbnf, &err) == 0 &&
              smol_grammar_from_gbnf(gbnf, strlen(gbnf), "root", &g, &err) == 0, "%s: %s", cases[k][2], err.msg);
        if (g) mask_walk(g, v.tok, v.ti, cases[k][1], 7, 1, cases[k][2]);
        smol_grammar_free(g);
        free(gbnf);
    }
    smol_error err = {0};
    smol_grammar *g = compile("root ::= \"\\\"\" ([a-zA-Z\\u00C0-\\u00FF ] | \"\\\\\" [\"\\\\nt])* \"\\\"\"", &err);
    CHECK(g, "%s", err.msg);
    if (g) mask_walk(g, v.tok, v.ti, "\"H\xc3\xa9llo w\xc3\xb6rld \\n ok\"", 7, 1, "part of non-ASCII");
    smol_grammar_free(g);
    /* classes that split the 64 code points a continuation byte completes (U+00C0..U+00FF here), and
     * ASCII runs taken by different stacks: transitions shared between bytes must stay exact */
    g = compile("root ::= \"\\\"\" ([a-f\\u00C0-\\u00C5 ] | [d-z\\u00E9] [0-9x] | \"\\u00E8\" [\\u00C0-\\u00FF])* \"\\\"\"", &err);
    CHECK(g, "%s", err.msg);
    if (g) mask_walk(g, v.tok, v.ti, "\"ab \xc3\x80\xc3\x85 z1 \xc3\xa9x \xc3\xa8\xc3\xbf fe\"", 3, 1, "split blocks");
    smol_grammar_free(g);
    vocab_close(&v);
}

/* Rollback returns to the same masks; a clone is independent of its source. */
static void test_rollback_clone(void) {
    vocab v;
    REQUIRE(vocab_open(&v, "tokenizers/SmolLM2-135M-Instruct/tokenizer.json"), "tokenizer");
    smol_tokenizer *tok = v.tok;
    smol_token_index *ti = v.ti;
    smol_error err = {0};
    smol_grammar *g = compile_file("json");
    smol_matcher *m = NULL;
    REQUIRE(g && smol_matcher_new(g, ti, &m, &err) == 0, "%s", err.msg);
    const char *text = "{\"key\": [\"value\", 123, {\"x\": null}], \"y\": \"z\"}";
    smol_tokens ids = {0};
    REQUIRE(smol_tokenize(tok, text, strlen(text), 0, &ids, &err) == 0, "%s", err.msg);
    size_t words = ((size_t)smol_tokenizer_n_vocab(tok) + 31) / 32;
    uint32_t **masks = calloc(ids.n + 1, sizeof *masks);
    for (size_t i = 0; i <= ids.n; i++) {
        masks[i] = malloc(words * 4);
        smol_matcher_mask(m, masks[i]);
        if (i < ids.n) REQUIRE(smol_matcher_accept_token(m, ids.ids[i]) == 0, "token %zu rejected", i);
    }
    CHECK(smol_matcher_can_end(m), "complete JSON cannot end");
    uint32_t *cur = malloc(words * 4);
    size_t half = ids.n / 2;
    smol_matcher *c = NULL;
    for (size_t back = 1; back <= ids.n; back++) {
        REQUIRE(smol_matcher_rollback(m, 1) == 0, "rollback");
        size_t at = ids.n - back;
        smol_matcher_mask(m, cur);
        CHECK(memcmp(cur, masks[at], words * 4) == 0, "mask after rolling back to step %zu differs", at);
        if (at == half) c = smol_matcher_clone(m);
    }
    CHECK(smol_matcher_rollback(m, 1) == SMOL_ERANGE, "rollback past the start");
    REQUIRE(c, "clone");
    CHECK(smol_matcher_n_steps(c) == (int)half, "clone steps %d", smol_matcher_n_steps(c));
    for (size_t i = half; i < ids.n; i++) {
        smol_matcher_mask(c, cur);
        CHECK(memcmp(cur, masks[i], words * 4) == 0, "clone mask at step %zu differs", i);
        REQUIRE(smol_matcher_accept_token(c, ids.ids[i]) == 0, "clone rejects token %zu", i);
    }
    CHECK(smol_matcher_can_end(c) && !smol_matcher_can_end(m), "clone and source are not independent");
    CHECK(smol_matcher_n_steps(m) == 0, "source steps %d", smol_matcher_n_steps(m));
    smol_matcher_free(c);
    for (size_t i = 0; i <= ids.n; i++) free(masks[i]);
    free(masks);
    free(cur);
    free(ids.ids);
    smol_matcher_free(m);
    smol_grammar_free(g);
    vocab_close(&v);
}

/* Special tokens are never allowed; end-of-generation tokens only where the grammar can end. */
static void test_special_tokens(void) {
    vocab v;
    REQUIRE(vocab_open(&v, "tokenizers/SmolLM2-135M-Instruct/tokenizer.json"), "tokenizer");
    smol_tokenizer *tok = v.tok;
    smol_token_index *ti = v.ti;
    smol_error err = {0};
    smol_grammar *g = compile("root ::= [^x]*", &err);
    smol_matcher *m = NULL;
    REQUIRE(g && smol_matcher_new(g, ti, &m, &err) == 0, "%s", err.msg);
    int32_t nv = smol_tokenizer_n_vocab(tok);
    uint32_t *mask = calloc(((size_t)nv + 31) / 32, 4);
    smol_matcher_mask(m, mask);
    int n_special = 0;
    for (int32_t id = 0; id < nv; id++) {
        int bit = mask[id >> 5] >> (id & 31) & 1;
        if (smol_token_type(tok, id) == SMOL_TOKEN_CONTROL) {
            n_special++;
            CHECK(bit == smol_token_is_eog(tok, id), "control token %d (%s): bit %d", id, smol_token_text(tok, id), bit);
        }
    }
    CHECK(n_special > 0, "no control tokens in the tokenizer");
    free(mask);
    smol_matcher_free(m);
    smol_grammar_free(g);
    vocab_close(&v);
}

/* ---------------------------------------------------------------- repetitions of nullable atoms */

/* A finite language: strings over a few letters (at most 64 of up to 15 bytes). */
typedef struct lang {
    char s[64][16];
    int n;
} lang;

static void lang_add(lang *l, const char *w) {
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->s[i], w) == 0) return;
    if (l->n < 64 && strlen(w) < 16) strcpy(l->s[l->n++], w);
}

/* The concatenations of words of a then of b. */
static lang lang_cat(const lang *a, const lang *b) {
    lang r = {.n = 0};
    char w[32];
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++) {
            snprintf(w, sizeof w, "%s%s", a->s[i], b->s[j]);
            lang_add(&r, w);
        }
    return r;
}

/* Brute force: is text n_min..n_max (n_max < 0: any number) words of atom in a row? Dynamic
 * programming over (position, copies used); copies may be empty words. */
static int lang_repeat_match(const lang *atom, long n_min, long n_max, const char *text) {
    size_t len = strlen(text);
    long cap = n_max < 0 ? n_min + (long)len + 1 : n_max;
    static uint8_t at[1200][1200];               /* at[k][p]: p bytes matched by k copies */
    if ((size_t)cap >= 1200 || len >= 1200) return -1;
    for (long k = 0; k <= cap; k++) memset(at[k], 0, len + 1);
    at[0][0] = 1;
    int ok = n_min == 0 && len == 0;
    for (long k = 0; k < cap; k++)
        for (size_t p = 0; p <= len; p++) {
            if (!at[k][p]) continue;
            for (int i = 0; i < atom->n; i++) {
                size_t wl = strlen(atom->s[i]);
                if (p + wl <= len && memcmp(text + p, atom->s[i], wl) == 0) {
                    at[k + 1][p + wl] = 1;
                    if (p + wl == len && k + 1 >= n_min) ok = 1;
                }
            }
        }
    return ok;
}

/* Runs text through gbnf byte by byte: 1 if it is a sentence, 0 if not; *work gets the work. */
static int gbnf_match(const char *gbnf, const char *text, size_t *work) {
    smol_error err = {0};
    smol_grammar *g = compile(gbnf, &err);
    smol_matcher *m = NULL;
    if (!g || smol_matcher_new(g, NULL, &m, &err)) {
        CHECK(0, "%s: %s", gbnf, err.msg);
        smol_grammar_free(g);
        return -1;
    }
    int ok = smol_matcher_accept_bytes(m, text, strlen(text)) == 0 && smol_matcher_can_end(m);
    if (work) *work = smol_matcher_work(m);
    smol_matcher_free(m);
    smol_grammar_free(g);
    return ok;
}

/* Repetitions of atoms that can be empty: every string over {a, b, c} up to 7 bytes against a
 * brute-force matcher, for optional sequences, alternatives with an empty one, rules defined
 * after their use, nested repetitions and open upper bounds; then ("a"? "b"? "c"?){1000} on
 * texts of up to 3,000 bytes, where the matcher's work must stay linear in the text. */
static void test_nullable_repeats(void) {
    lang opt3 = {.n = 0}, ab = {.n = 0}, alt = {.n = 0};
    const char *o3[] = {"", "a", "b", "c", "ab", "ac", "bc", "abc"}, *o2[] = {"", "a", "b", "ab"};
    for (int i = 0; i < 8; i++) lang_add(&opt3, o3[i]);
    for (int i = 0; i < 4; i++) lang_add(&ab, o2[i]);
    lang_add(&alt, ""), lang_add(&alt, "ca"), lang_add(&alt, "b");
    lang ab2 = lang_cat(&ab, &ab);                                 /* ("a"? "b"?){2} */
    struct { const char *gbnf; const lang *atom; long n_min, n_max; } cases[] = {
        {"root ::= (\"a\"? \"b\"? \"c\"?){3}", &opt3, 3, 3},
        {"root ::= (\"a\"? \"b\"? \"c\"?){2,4}", &opt3, 2, 4},
        {"root ::= (\"a\"? \"b\"? \"c\"?){0,2}", &opt3, 0, 2},
        {"root ::= (\"a\"? \"b\"? \"c\"?){2,}", &opt3, 2, -1},
        {"root ::= x{3} \"\"\nx ::= \"\" | \"ca\" | y\ny ::= \"b\"", &alt, 3, 3},
        {"root ::= ((\"a\"? \"b\"?){2}){2}", &ab2, 2, 2},
        {"root ::= (\"a\" \"b\"? | \"b\")(\"a\" \"b\"? | \"b\"){1,3}", NULL, 0, 0},
    };
    lang nonnull = {.n = 0};
    lang_add(&nonnull, "a"), lang_add(&nonnull, "ab"), lang_add(&nonnull, "b");
    char text[8];
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const lang *atom = cases[k].atom ? cases[k].atom : &nonnull;
        long n_min = cases[k].atom ? cases[k].n_min : 2, n_max = cases[k].atom ? cases[k].n_max : 4;
        smol_error err = {0};
        smol_grammar *g = compile(cases[k].gbnf, &err);
        smol_matcher *m = NULL;
        CHECK(g && smol_matcher_new(g, NULL, &m, &err) == 0, "%s: %s", cases[k].gbnf, err.msg);
        int bad = !m;
        for (int len = 0; len <= 7 && !bad; len++) {
            int total = 1;
            for (int i = 0; i < len; i++) total *= 3;
            for (int code = 0; code < total && !bad; code++) {
                for (int i = 0, c = code; i < len; i++, c /= 3) text[i] = (char)('a' + c % 3);
                text[len] = 0;
                int want = lang_repeat_match(atom, n_min, n_max, text), got = 0;
                if (smol_matcher_accept_bytes(m, text, (size_t)len) == 0) {
                    got = smol_matcher_can_end(m);
                    smol_matcher_rollback(m, 1);
                }
                if (got != want) {
                    CHECK(0, "%s on \"%s\": matcher %d, brute force %d", cases[k].gbnf, text, got, want);
                    bad = 1;
                }
            }
        }
        smol_matcher_free(m);
        smol_grammar_free(g);
    }
    /* ("a"? "b"? "c"?){1000}: a copy takes at most one c, so 1000 c's fit and 1001 do not */
    static char big[3100];
    const char *g1000 = "root ::= (\"a\"? \"b\"? \"c\"?){1000}";
    size_t w1 = 0, w2 = 0;
    for (int i = 0; i < 1000; i++) memcpy(big + 3 * i, "abc", 3);
    big[3000] = 0;
    CHECK(gbnf_match(g1000, big, &w1) == 1, "1000 copies of abc rejected");
    memset(big, 0, sizeof big);
    memset(big, 'c', 1000);
    CHECK(gbnf_match(g1000, big, &w2) == 1, "1000 c's rejected");
    big[1000] = 'c';
    CHECK(gbnf_match(g1000, big, NULL) == 0, "1001 c's accepted");
    big[1000] = 0, big[500] = 'b';
    CHECK(gbnf_match(g1000, big, NULL) == 1 && lang_repeat_match(&opt3, 1000, 1000, big) == 1, "b among 1000 letters");
    CHECK(w1 < 100 * 3000 && w2 < 100 * 1000, "work %zu for 3000 bytes, %zu for 1000: not linear", w1, w2);
}

/* ---------------------------------------------------------------- minimal completion lengths */

/* Checks, at the matcher's current state, the equations that define the shortest completion
 * d (in bytes) and hold for no other function: d == 0 exactly where the output can end;
 * otherwise d == 1 + min over accepted bytes b of d(after b), and no byte lowers d by more than
 * one. Returns 0 or reports the first byte that breaks them. */
static int bellman_ok(smol_matcher *m, const char *what, size_t at) {
    int32_t d = smol_matcher_min_bytes(m), best = INT32_MAX;
    if (smol_matcher_can_end(m) != (d == 0)) {
        CHECK(0, "%s at byte %zu: min_bytes %d but can_end %d", what, at, d, smol_matcher_can_end(m));
        return 0;
    }
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        if (smol_matcher_accept_bytes(m, &c, 1)) continue;
        int32_t e = smol_matcher_min_bytes(m);
        smol_matcher_rollback(m, 1);
        if (e < d - 1) {
            CHECK(0, "%s at byte %zu: byte 0x%02x lowers min_bytes from %d to %d", what, at, b, d, e);
            return 0;
        }
        if (e < best) best = e;
    }
    if (d > 0 && best != d - 1) {
        CHECK(0, "%s at byte %zu: min_bytes %d but the best next byte leaves %d", what, at, d, best);
        return 0;
    }
    return 1;
}

/* Walks text byte by byte checking bellman_ok at every state, then a seeded random walk of
 * accepted bytes from the end of text. The expected values at the start and end are checked
 * too (computed by hand from the grammar). */
static void min_bytes_case(const char *gbnf, const char *text, int32_t want_start, int32_t want_end, const char *what) {
    smol_error err = {0};
    smol_grammar *g = compile(gbnf, &err);
    REQUIRE(g, "%s: %s", what, err.msg);
    smol_matcher *m = NULL;
    REQUIRE(smol_matcher_new(g, NULL, &m, &err) == 0, "%s", err.msg);
    CHECK(smol_matcher_min_bytes(m) == want_start, "%s: min_bytes at start %d, want %d", what, smol_matcher_min_bytes(m),
          want_start);
    size_t n = strlen(text), i = 0;
    for (; i < n && bellman_ok(m, what, i); i++)
        if (smol_matcher_accept_bytes(m, text + i, 1)) {
            CHECK(0, "%s: byte %zu of the text rejected", what, i);
            break;
        }
    if (i == n) {
        CHECK(smol_matcher_min_bytes(m) == want_end, "%s: min_bytes after the text %d, want %d", what,
              smol_matcher_min_bytes(m), want_end);
        uint64_t seed = 0x9E3779B97F4A7C15ull;
        for (int step = 0; step < 60 && bellman_ok(m, what, n + (size_t)step); step++) {
            int tries = 0;
            char c;
            do c = (char)(rng_next(&seed) & 0x7F);
            while (smol_matcher_accept_bytes(m, &c, 1) && ++tries < 2000);
            if (tries == 2000) break;
        }
    }
    smol_matcher_free(m);
    smol_grammar_free(g);
}

static void test_min_bytes(void) {
    min_bytes_case("root ::= \"abc\" | \"de\"", "d", 2, 1, "alternatives");
    min_bytes_case("root ::= \"{\" ws \"\\\"name\\\":\" ws str ws \",\" ws \"\\\"id\\\":\" ws [0-9]+ ws \"}\"\n"
                   "str ::= \"\\\"\" [^\"\\\\]* \"\\\"\"\nws ::= [ \\t\\n]{0,3}",
                   "{ \"name\": \"ab", 18, 9, "object with required keys");  /* {"name":"","id":0} */
    min_bytes_case("root ::= [\xc3\xa9-\xc3\xbc] \"x\" | [\xe4\xb8\x80-\xe9\xbe\xa5]", "\xc3", 3, 2, "UTF-8 classes");
    min_bytes_case("root ::= item (\",\" item)*\nitem ::= \"[\" root? \"]\" | \"n\"", "[[[", 1, 3, "nesting");
    smol_grammar *g = compile_file("json");
    REQUIRE(g, "json");
    smol_matcher *m = NULL;
    smol_error err = {0};
    REQUIRE(smol_matcher_new(g, NULL, &m, &err) == 0, "%s", err.msg);
    const char *doc = "{\"a\": [1, {\"b\": \"caf\xc3\xa9\", \"c\": [true, null, -2.5e3]}], \"d\": {}}";
    for (size_t i = 0; doc[i] && bellman_ok(m, "json.gbnf", i); i++)
        REQUIRE(smol_matcher_accept_bytes(m, doc + i, 1) == 0, "json.gbnf: byte %zu rejected", i);
    smol_matcher_free(m);
    smol_grammar_free(g);
}

/* smol_matcher_min_bytes_after agrees with accepting the token and asking, over the SmolLM2
 * vocabulary at a few states of a JSON walk, and gives -1 exactly for tokens the mask bans. */
static void test_min_bytes_after(void) {
    vocab v;
    REQUIRE(vocab_open(&v, "tokenizers/SmolLM2-135M-Instruct/tokenizer.json"), "tokenizer");
    smol_token_index *ti = v.ti;
    smol_error err = {0};
    smol_grammar *g = compile_file("json");
    smol_matcher *m = NULL;
    REQUIRE(g && smol_matcher_new(g, ti, &m, &err) == 0, "%s", err.msg);
    int32_t nv = smol_token_index_n_vocab(ti);
    uint32_t *bits = calloc(((size_t)nv + 31) / 32, sizeof *bits);
    const char *steps[] = {"{", "\"k", "ey\": ", "[1", ", {\"x\": tr", "ue}"};
    for (int s = 0; s < 6; s++) {
        REQUIRE(smol_matcher_accept_bytes(m, steps[s], strlen(steps[s])) == 0, "step %d", s);
        smol_matcher_mask(m, bits);
        for (int32_t t = s; t < nv; t += 7) {
            int32_t after = smol_matcher_min_bytes_after(m, t), want = -1;
            if (smol_matcher_accept_token(m, t) == 0) {
                want = smol_matcher_min_bytes(m);
                smol_matcher_rollback(m, 1);
            }
            int allowed = bits[t >> 5] >> (t & 31) & 1;
            if (after != want || (after >= 0) != allowed) {
                CHECK(0, "after '%s', token %d: min_bytes_after %d, accepting gives %d, mask %d", steps[s], t, after, want,
                      allowed);
                break;
            }
        }
    }
    free(bits);
    smol_matcher_free(m);
    smol_grammar_free(g);
    vocab_close(&v);
}

typedef struct batch_out {
    char text[4][256];
    size_t len[4];
} batch_out;

static int collect(void *user, int index, const char *text, size_t len) {
    batch_out *o = user;
    if (index < 0 || index >= 4 || o->len[index] + len >= sizeof o->text[0]) return 1;
    memcpy(o->text[index] + o->len[index], text, len);
    o->len[index] += len;
    o->text[index][o->len[index]] = 0;
    return 0;
}

/* Batched generation: each sequence has its own matcher (smol_gen_params.filter_users) and
 * ends, by the end token, on one of the choices. */
static void test_generate_batch(void) {
    const char *path = test_data("stories260K/stories260K.gguf");
    smol_model *model = NULL;
    smol_tokenizer *tok = NULL;
    smol_error err = {0};
    REQUIRE(smol_model_load(path, NULL, &model, &err) == 0 && smol_tokenizer_load(path, &tok, &err) == 0, "%s", err.msg);
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_seq = 3, cp.n_ctx = 128, cp.n_threads = 1;
    smol_ctx *c = NULL;
    REQUIRE(smol_ctx_new(model, &cp, &c, &err) == 0, "%s", err.msg);
    const char *choices[] = {"Once upon a time", "Once there was a cat", "The end", "Lily"};
    smol_grammar *g = NULL;
    smol_token_index *ti = NULL;
    REQUIRE(smol_grammar_from_choice(choices, 4, &g, &err) == 0 && smol_token_index_new(tok, &ti, &err) == 0, "%s", err.msg);
    smol_matcher *m[3] = {0};
    smol_grammar_filter f[3];
    void *users[3];
    for (int i = 0; i < 3; i++) {
        REQUIRE(smol_matcher_new(g, ti, &m[i], &err) == 0 && smol_grammar_filter_init(&f[i], m[i], c, i, &err) == 0, "%s",
                err.msg);
        users[i] = &f[i];
    }
    smol_gen_params gp = smol_gen_default_params();
    gp.n_predict = 64;
    gp.sampling.temperature = 1.5f;
    gp.sampling.top_k = 0, gp.sampling.top_p = 1, gp.sampling.min_p = 0;
    gp.sampling.seed = 11;
    gp.sampling.filter = smol_grammar_filter_apply;
    gp.filter_users = (void *const *)users;
    const char *prompts[3] = {"Once", "The dog", "Lily went"};
    batch_out out = {0};
    smol_gen_result res[3];
    int rc = smol_generate_batch(c, tok, 3, prompts, &gp, collect, &out, res, &err);
    CHECK(rc == 0, "%s", err.msg);
    for (int i = 0; i < 3 && rc == 0; i++) {
        int hit = 0;
        for (int k = 0; k < 4; k++) hit |= strcmp(out.text[i], choices[k]) == 0;
        CHECK(hit, "sequence %d produced '%s'", i, out.text[i]);
        CHECK(res[i].stop_reason == SMOL_STOP_EOG, "sequence %d stopped by %d", i, res[i].stop_reason);
        CHECK(smol_matcher_can_end(m[i]), "sequence %d: matcher not complete", i);
    }
    for (int i = 0; i < 3; i++) smol_grammar_filter_free(&f[i]), smol_matcher_free(m[i]);
    smol_token_index_free(ti);
    smol_grammar_free(g);
    smol_ctx_free(c);
    smol_tokenizer_free(tok);
    smol_model_free(model);
}

/* Budget-aware finish (smol_gen_params.budget_finish): a grammar whose model-preferred part never
 * ends ([a-z ]* for a story model) and a mandatory tail; with a small n_predict every sequence
 * still completes the grammar. Without it, the same run is cut off. A budget below the shortest
 * output is refused before generating. */
static void test_budget_finish(void) {
    const char *path = test_data("stories260K/stories260K.gguf");
    smol_model *model = NULL;
    smol_tokenizer *tok = NULL;
    smol_error err = {0};
    REQUIRE(smol_model_load(path, NULL, &model, &err) == 0 && smol_tokenizer_load(path, &tok, &err) == 0, "%s", err.msg);
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_seq = 3, cp.n_ctx = 128, cp.n_threads = 1;
    smol_ctx *c = NULL;
    smol_grammar *g = NULL;
    smol_token_index *ti = NULL;
    const char *gbnf = "root ::= [a-z ]* \"END of the story.\"";
    REQUIRE(smol_ctx_new(model, &cp, &c, &err) == 0 && (g = compile(gbnf, &err)) && smol_token_index_new(tok, &ti, &err) == 0,
            "%s", err.msg);
    const char *prompts[3] = {"Once", "The dog", "Lily went"};
    for (int mode = 0; mode < 3; mode++) {   /* 0: budget finish, 1: without it, 2: budget too small */
        smol_matcher *m[3] = {0};
        smol_grammar_filter f[3];
        void *users[3];
        for (int i = 0; i < 3; i++) {
            REQUIRE(smol_matcher_new(g, ti, &m[i], &err) == 0 && smol_grammar_filter_init(&f[i], m[i], c, i, &err) == 0,
                    "%s", err.msg);
            users[i] = &f[i];
        }
        smol_gen_params gp = smol_gen_default_params();
        gp.n_predict = mode == 2 ? 12 : 30;
        gp.budget_finish = mode != 1;
        gp.sampling.temperature = 1.0f, gp.sampling.seed = 5;
        gp.sampling.filter = smol_grammar_filter_apply;
        gp.filter_users = (void *const *)users;
        batch_out out = {0};
        smol_gen_result res[3];
        int rc = smol_generate_batch(c, tok, 3, prompts, &gp, collect, &out, res, &err);
        int complete = 0;
        for (int i = 0; i < 3 && rc == 0; i++) {
            size_t len = strlen(out.text[i]);
            int ok = smol_matcher_can_end(m[i]) && len >= 17 && strcmp(out.text[i] + len - 17, "END of the story.") == 0;
            complete += ok;
            if (mode == 0) CHECK(ok && res[i].n_gen <= 30, "sequence %d (%d tokens) is not complete: '%s'", i, res[i].n_gen, out.text[i]);
        }
        if (mode == 0) CHECK(rc == 0, "%s", err.msg);
        if (mode == 1) CHECK(rc == 0 && complete < 3, "without the budget finish %d of 3 completed (rc %d)", complete, rc);
        if (mode == 2)
            CHECK(rc == SMOL_ERANGE && strstr(err.msg, "needs up to 17 tokens") && strstr(err.msg, "-n is 12"),
                  "budget 12 for a 17-byte tail: rc %d, '%s'", rc, err.msg);
        for (int i = 0; i < 3; i++) smol_grammar_filter_free(&f[i]), smol_matcher_free(m[i]);
    }
    smol_token_index_free(ti);
    smol_grammar_free(g);
    smol_ctx_free(c);
    smol_tokenizer_free(tok);
    smol_model_free(model);
}

int main(void) {
    RUN(test_examples_compile);
    RUN(test_match_features);
    RUN(test_match_examples);
    RUN(test_malformed);
    RUN(test_many_rules);
    RUN(test_choice);
    RUN(test_forced);
    RUN(test_masks_smollm);
    RUN(test_masks_llama3_sample);
    RUN(test_masks_alphabet);
    RUN(test_rollback_clone);
    RUN(test_special_tokens);
    RUN(test_generate_batch);
    RUN(test_nullable_repeats);
    RUN(test_min_bytes);
    RUN(test_min_bytes_after);
    RUN(test_budget_finish);
    return check_done();
}
