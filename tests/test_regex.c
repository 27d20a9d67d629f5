/* test_regex.c: regex -> GBNF translation against Python's re.fullmatch (the table in
 * tests/ref/regex_fullmatch.jsonl, written by tests/ref/regex_cases.py), GBNF output shape,
 * and the errors for unsupported or malformed patterns. */
#include "check.h"
#include "smol.h"
#include "gen/grammar.h"
#include "gen/regex.h"
#include "gen/jsonschema.h"
#include "base/file.h"
#include <cjson/cJSON.h>

static int full_match(const smol_grammar *g, const char *s) {
    smol_matcher *m = NULL;
    smol_error err = {0};
    if (smol_matcher_new(g, NULL, &m, &err)) return -1;
    int r = smol_matcher_accept_bytes(m, s, strlen(s)) == 0 && smol_matcher_can_end(m);
    smol_matcher_free(m);
    return r;
}

/* tests/ref/regex_fullmatch.jsonl (from the repository root or from tests/), malloc'd; NULL
 * (with a failed check) when neither can be read. */
static char *read_regex_table(void) {
    char *text = NULL;
    size_t len = 0;
    smol_error err = {0};
    if (smol_read_file("tests/ref/regex_fullmatch.jsonl", &text, &len, &err) == 0) return text;
    if (smol_read_file("ref/regex_fullmatch.jsonl", &text, &len, &err) == 0) return text;
    CHECK(0, "%s", err.msg);
    return NULL;
}

static void test_python_oracle(void) {
    smol_error err = {0};
    char *text = read_regex_table();
    REQUIRE(text, "no regex table");
    int n = 0, n_match = 0;
    char prev[512] = "";
    smol_grammar *g = NULL;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *o = cJSON_Parse(line);
        REQUIRE(o, "bad line %d", n + 1);
        const char *re = cJSON_GetObjectItem(o, "re")->valuestring, *s = cJSON_GetObjectItem(o, "text")->valuestring;
        int expect = cJSON_IsTrue(cJSON_GetObjectItem(o, "match"));
        if (!g || strcmp(prev, re) != 0) {
            smol_grammar_free(g);
            g = NULL;
            snprintf(prev, sizeof prev, "%s", re);
            if (smol_grammar_from_regex(re, &g, &err)) {
                CHECK(0, "/%s/ does not compile: %s", re, err.msg);
                cJSON_Delete(o);
                continue;
            }
        }
        int got = full_match(g, s);
        CHECK(got == expect, "/%s/ on '%s': got %d, re.fullmatch says %d", re, s, got, expect);
        n++, n_match += expect;
        cJSON_Delete(o);
    }
    smol_grammar_free(g);
    free(text);
    CHECK(n > 500 && n_match > 50, "only %d cases (%d matches)", n, n_match);
}

static void test_gbnf_text(void) {
    char *out = NULL;
    smol_error err = {0};
    REQUIRE(smol_regex_to_gbnf("a[0-9]+|b.", "pat", &out, &err) == 0, "%s", err.msg);
    CHECK(strncmp(out, "pat ::= ", 8) == 0, "rule name: %s", out);
    smol_grammar *g = NULL;
    CHECK(smol_grammar_from_gbnf(out, strlen(out), "pat", &g, &err) == 0, "output does not parse: %s: %s", out, err.msg);
    smol_grammar_free(g);
    free(out);
}

/* Empty classes: [] matches nothing, [^] any character. */
static void test_empty_classes(void) {
    smol_grammar *g = NULL;
    smol_error err = {0};
    REQUIRE(smol_grammar_from_regex("a[]?b", &g, &err) == 0, "%s", err.msg);
    CHECK(full_match(g, "ab") == 1 && full_match(g, "axb") == 0, "a[]?b");
    smol_grammar_free(g);
    REQUIRE(smol_grammar_from_regex("a[^]b", &g, &err) == 0, "%s", err.msg);
    CHECK(full_match(g, "a\nb") == 1 && full_match(g, "ab") == 0, "a[^]b");
    smol_grammar_free(g);
}

static void test_errors(void) {
    static const struct { const char *re, *msg; int code; } cases[] = {
        {"(a)\\1", "backreferences", SMOL_EUNSUPPORTED},
        {"a(?=b)", "lookaround", SMOL_EUNSUPPORTED},
        {"a(?!b)", "lookaround", SMOL_EUNSUPPORTED},
        {"\\bword", "word boundary", SMOL_EUNSUPPORTED},
        {"a^b", "anchor '^'", SMOL_EUNSUPPORTED},
        {"(ab", "missing ')'", SMOL_EFORMAT},
        {"ab)", "unmatched ')'", SMOL_EFORMAT},
        {"*a", "nothing to repeat", SMOL_EFORMAT},
        {"a**", "nothing to repeat", SMOL_EFORMAT},
        {"x{2}{3}", "nothing to repeat", SMOL_EFORMAT},
        {"[abc", "unterminated character class", SMOL_EFORMAT},
        {"[z-a]", "range out of order", SMOL_EFORMAT},
        {"a{3,1}", "out of order", SMOL_EFORMAT},
        {"\\x4", "\\x needs two hex digits", SMOL_EFORMAT},
        {"a\\", "at the end", SMOL_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        smol_grammar *g = NULL;
        smol_error err = {0};
        int rc = smol_grammar_from_regex(cases[i].re, &g, &err);
        CHECK(rc == cases[i].code, "/%s/: status %d, expected %d (%s)", cases[i].re, rc, cases[i].code, err.msg);
        CHECK(strstr(err.msg, cases[i].msg) && strstr(err.msg, "regex at offset"), "/%s/: message '%s' lacks '%s'",
              cases[i].re, err.msg, cases[i].msg);
        smol_grammar_free(g);
    }
}

/* Inputs found by fuzzing (tests/fuzz/fuzz_regex.c): repetitions of something that can be empty,
 * nested, made the matcher's work grow with the product of their counts ((a?){1000}){1000} took
 * minutes for one byte). They are refused past 1000 copies, naming the quantifier; nested
 * repetitions of parts that cannot be empty, and up to 1000 copies, still compile and match. */
static void test_fuzz_regressions(void) {
    static const struct { const char *re; int offset; } bad[] = {
        {"((a?){1000}){1000}", 12}, {"(((a|b){0,1000}){0,1000}){0,1000}", 16}, {"((a{0,100}){20})", 11},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        smol_grammar *g = NULL;
        smol_error err = {0};
        char want[64];
        snprintf(want, sizeof want, "regex at offset %d: repetitions of a part that can be empty", bad[i].offset);
        int rc = smol_grammar_from_regex(bad[i].re, &g, &err);
        CHECK(rc == SMOL_ERANGE && strstr(err.msg, want), "/%s/: status %d (%s), expected '%s'", bad[i].re, rc,
              err.msg, want);
        smol_grammar_free(g);
    }
    static const struct { const char *re, *text; } good[] = {
        {"([a-z0-9]{1,63}\\.){1,127}", "smol.example."}, {"((a?){30}){33}", "aaaa"}, {"(x{2}y{1000}){100}", "xxy"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        smol_grammar *g = NULL;
        smol_matcher *m = NULL;
        smol_error err = {0};
        REQUIRE(smol_grammar_from_regex(good[i].re, &g, &err) == 0 && smol_matcher_new(g, NULL, &m, &err) == 0,
                "/%s/: %s", good[i].re, err.msg);
        CHECK(smol_matcher_accept_bytes(m, good[i].text, strlen(good[i].text)) == 0, "/%s/ refused '%s'", good[i].re,
              good[i].text);
        smol_matcher_free(m);
        smol_grammar_free(g);
    }
}

/* Runs text (UTF-8) through automaton d: 1 if it ends in an accepting state. */
static int dfa_match(const smol_rx_dfa *d, const char *text) {
    int st = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && st >= 0;) {
        uint32_t c = *p;
        int n = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        c &= n ? 0x3Fu >> n : 0x7Fu;
        p++;
        for (int i = 0; i < n && *p; i++) c = c << 6 | (*p++ & 0x3F);
        st = smol_rx_dfa_step(d, st, c);
    }
    return st >= 0 && smol_rx_dfa_accepts(d, st);
}

/* The automata against the same table: whole-text matches against Python's re.fullmatch, and
 * search semantics (JSON Schema's pattern) against the validator's PCRE2 search. */
static void test_automaton(void) {
    smol_error err = {0};
    char *text = read_regex_table();
    REQUIRE(text, "no regex table");
    int n = 0, n_search = 0, too_big = 0;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl) *nl = 0;
        cJSON *o = cJSON_Parse(line);
        REQUIRE(o, "bad line %d", n + 1);
        const char *re = cJSON_GetObjectItem(o, "re")->valuestring, *s = cJSON_GetObjectItem(o, "text")->valuestring;
        int expect = cJSON_IsTrue(cJSON_GetObjectItem(o, "match"));
        smol_rx_dfa *full = NULL, *search = NULL;
        int rc = smol_rx_dfa_new(re, 0, &full, &err);
        if (rc == SMOL_ERANGE) {
            too_big++;
            cJSON_Delete(o);
            continue;
        }
        CHECK(rc == 0, "/%s/: %s", re, err.msg);
        if (!rc) {
            CHECK(dfa_match(full, s) == expect, "/%s/ on '%s': automaton says %d, re.fullmatch %d", re, s, !expect, expect);
            n++;
        }
        cJSON *schema = cJSON_CreateObject();
        cJSON_AddStringToObject(schema, "pattern", re);
        char *sj = cJSON_PrintUnformatted(schema), *inst = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "text"));
        smol_jschema *js = NULL;
        if (smol_jschema_new(sj, strlen(sj), 0, &js, NULL) == 0 && smol_rx_dfa_new(re, 1, &search, &err) == 0) {
            int want = smol_jschema_validate_text(js, inst, strlen(inst), NULL, 0, NULL);
            CHECK(dfa_match(search, s) == want, "/%s/ searched in '%s': automaton says %d, PCRE2 %d", re, s, !want, want);
            n_search++;
        }
        smol_jschema_free(js);
        smol_rx_dfa_free(full);
        smol_rx_dfa_free(search);
        free(sj), free(inst);
        cJSON_Delete(schema);
        cJSON_Delete(o);
    }
    free(text);
    printf("automaton: %d whole-text and %d search cases agree (%d regexes too large)\n", n, n_search, too_big);
    CHECK(n > 500 && n_search > 500 && too_big < 20, "%d / %d cases, %d too large", n, n_search, too_big);
}

/* Unicode general categories (\p{L}, \p{Letter}, \P{...}, gc=...): the automaton's search
 * against PCRE2's (through the validator), and the GBNF translation against the automaton. */
static void test_unicode_properties(void) {
    static const char *const res[] = {"^\\p{Letter}+$", "^\\p{L}\\P{L}$", "[\\p{Nd}\\p{Lu}]", "^\\p{gc=Punctuation}*$",
                                      "\\p{Sc}", "^[^\\p{N}\\s]+$", "\\p{Mn}", "^\\p{Lowercase_Letter}\\p{Zs}?$"};
    static const char *const texts[] = {"Hello", "\u03c0", "123", "a\u00e9", "A1", "\u20ac", "\u00bf?", "\u65e5\u672c",
                                        "e\u0301", "\u0663", "", "a ", "x\u3000", "Z!", "\U0001F600", "a-b"};
    int n = 0;
    for (size_t i = 0; i < sizeof res / sizeof *res; i++) {
        smol_rx_dfa *search = NULL, *full = NULL;
        smol_grammar *g = NULL;
        smol_error err;
        REQUIRE(smol_rx_dfa_new(res[i], 1, &search, &err) == 0 && smol_rx_dfa_new(res[i], 0, &full, &err) == 0 &&
                    smol_grammar_from_regex(res[i], &g, &err) == 0, "/%s/: %s", res[i], err.msg);
        cJSON *schema = cJSON_CreateObject();
        cJSON_AddStringToObject(schema, "pattern", res[i]);
        char *sj = cJSON_PrintUnformatted(schema);
        smol_jschema *js = NULL;
        REQUIRE(smol_jschema_new(sj, strlen(sj), 0, &js, &err) == 0, "%s", err.msg);
        for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
            cJSON *str = cJSON_CreateString(texts[k]);
            char *inst = cJSON_PrintUnformatted(str);
            int want = smol_jschema_validate_text(js, inst, strlen(inst), NULL, 0, NULL);
            CHECK(dfa_match(search, texts[k]) == want, "/%s/ searched in '%s': PCRE2 says %d", res[i], texts[k], want);
            CHECK(full_match(g, texts[k]) == dfa_match(full, texts[k]), "/%s/ on '%s': grammar and automaton differ",
                  res[i], texts[k]);
            n++;
            free(inst);
            cJSON_Delete(str);
        }
        smol_jschema_free(js);
        free(sj);
        cJSON_Delete(schema);
        smol_rx_dfa_free(search);
        smol_rx_dfa_free(full);
        smol_grammar_free(g);
    }
    smol_rx_dfa *d = NULL;
    smol_error err;
    CHECK(smol_rx_dfa_new("\\p{Script=Greek}", 1, &d, &err) == SMOL_EUNSUPPORTED && strstr(err.msg, "Script=Greek"),
          "scripts are refused by name: %s", err.msg);
    printf("unicode properties: %d cases\n", n);
}

int main(void) {
    RUN(test_python_oracle);
    RUN(test_gbnf_text);
    RUN(test_errors);
    RUN(test_empty_classes);
    RUN(test_fuzz_regressions);
    RUN(test_automaton);
    RUN(test_unicode_properties);
    return check_done();
}
