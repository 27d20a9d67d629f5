/* test_schema.c: the JSON Schema -> GBNF compiler. Every JSON Schema Test Suite (draft 2020-12)
 * schema that compiles must accept exactly its valid instances (serialised with ", " and ": "):
 * checked with the C engine (src/gen/grammar.h) and with the independent recogniser
 * tests/ref/gbnf_match.py over Python's own serialisation. Integer/number ranges are checked
 * against arithmetic, formats against the validator, and unsupported keywords, lenient mode,
 * whitespace options and circular references against their documented behaviour.
 * `build/tests/test_schema --report` prints the compile rate per suite file. */
#include "check.h"
#include "gen/schema.h"
#include "gen/jsonschema.h"
#include "gen/grammar.h"
#include "base/file.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdint.h>

/* ---------------------------------------------------------------- helpers */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

/* JSON text with Python's json.dumps separators (", " and ": "), non-ASCII raw. */
static void dump(buf *b, const cJSON *v) {
    char tmp[64];
    if (cJSON_IsNull(v)) puts_(b, "null");
    else if (cJSON_IsTrue(v)) puts_(b, "true");
    else if (cJSON_IsFalse(v)) puts_(b, "false");
    else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 1e16) snprintf(tmp, sizeof tmp, "%.0f", d);
        else
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(tmp, sizeof tmp, "%.*g", prec, d);
                if (strtod(tmp, NULL) == d) break;
            }
        puts_(b, tmp);
    } else if (cJSON_IsString(v) || !v->type) {  /* a string, or an object key (type 0) */
        const char *s = cJSON_IsString(v) ? v->valuestring : v->string;
        puts_(b, "\"");
        for (; *s; s++) {
            unsigned char c = (unsigned char)*s;
            if (c == '"') puts_(b, "\\\"");
            else if (c == '\\') puts_(b, "\\\\");
            else if (c == '\n') puts_(b, "\\n");
            else if (c == '\t') puts_(b, "\\t");
            else if (c == '\r') puts_(b, "\\r");
            else if (c < 0x20) snprintf(tmp, sizeof tmp, "\\u%04x", c), puts_(b, tmp);
            else put(b, (const char *)&c, 1);
        }
        puts_(b, "\"");
    } else if (cJSON_IsArray(v)) {
        puts_(b, "[");
        for (const cJSON *e = v->child; e; e = e->next) {
            if (e != v->child) puts_(b, ", ");
            dump(b, e);
        }
        puts_(b, "]");
    } else {
        puts_(b, "{");
        for (const cJSON *e = v->child; e; e = e->next) {
            if (e != v->child) puts_(b, ", ");
            cJSON key = {.string = e->string};
            dump(b, &key);
            puts_(b, ": ");
            dump(b, e);
        }
        puts_(b, "}");
    }
}

/* 1 if the engine accepts text as a whole sentence of GBNF grammar gr. */
static int engine_accepts(const smol_grammar *gr, const char *text) {
    smol_matcher *m;
    if (smol_matcher_new(gr, NULL, &m, NULL)) return -1;
    int ok = smol_matcher_accept_bytes(m, text, strlen(text)) == 0 && smol_matcher_can_end(m);
    smol_matcher_free(m);
    return ok;
}

static char *compile(const char *schema, unsigned flags, smol_error *err) {
    char *g = NULL;
    int rc = smol_schema_to_gbnf(schema, strlen(schema), flags, &g, err);
    return rc ? NULL : g;
}

/* Compiles schema and checks each text (accept expected when want[i]) with the engine. */
static void expect(const char *schema, unsigned flags, const char *const *texts, const int *want, int n) {
    smol_error err;
    char *g = compile(schema, flags, &err);
    REQUIRE(g, "schema %s does not compile: %s", schema, err.msg);
    smol_grammar *gr;
    REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "engine rejects the grammar: %s\n%s", err.msg, g);
    for (int i = 0; i < n; i++) {
        int got = engine_accepts(gr, texts[i]);
        CHECK(got == want[i], "schema %s: '%s' expected %s\n%s", schema, texts[i], want[i] ? "accept" : "reject", g);
    }
    smol_grammar_free(gr);
    free(g);
}

/* ---------------------------------------------------------------- the Test Suite */

typedef struct suite_stats {
    int groups, compiled, cases, agree;
} suite_stats;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* 1 if the validator, asserting formats, accepts JSON text t under schema text sj (-1: error). */
static int valid_asserting_formats(const char *sj, const char *t) {
    smol_jschema *v;
    if (smol_jschema_new(sj, strlen(sj), SMOL_JSCHEMA_ASSERT_FORMAT, &v, NULL)) return -1;
    int ok = smol_jschema_validate_text(v, t, strlen(t), NULL, 0, NULL);
    smol_jschema_free(v);
    return ok;
}

/* Runs every group of one suite file compiled with flags: compiled grammars are checked with the
 * engine and appended to jsonl for the Python oracle. With SMOL_SCHEMA_ANY_ORDER |
 * SMOL_SCHEMA_FORMAT_ANNOTATION every instance must agree with the suite; with 0 (schema order,
 * formats enforced) format.json is judged by the validator asserting formats, and the valid
 * instances listing properties in another order than the schema must be rejected. */
static void suite_file(const char *dir, const char *name, FILE *jsonl, suite_stats *st, int report, unsigned flags) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text;
    size_t n;
    REQUIRE(smol_read_file(path, &text, &n, NULL) == 0, "cannot read %s", path);
    cJSON *doc = cJSON_ParseWithLength(text, n);
    free(text);
    REQUIRE(doc, "%s is not JSON", path);
    suite_stats fs = {0};
    int gi = 0;
    /* format.json expects "format" to be an annotation (2020-12); by default the compiler asserts formats */
    int asserted = strcmp(name, "format.json") == 0 && !(flags & SMOL_SCHEMA_FORMAT_ANNOTATION);
    /* cJSON ends strings at "\u0000": these schemas and instances cannot be read whole */
    static const char *const k_skip[] = {"nul characters in strings", NULL};
    /* valid instances listing properties in another order than the schema writes them */
    static const char *const k_order[] = {"allOf|allOf", "allOf with base schema|valid",
                                          "dependencies with escaped characters|CRLF", NULL};
    int in_order = !(flags & SMOL_SCHEMA_ANY_ORDER);
    cJSON *group;
    cJSON_ArrayForEach(group, doc) {
        fs.groups++;
        buf sj = {0};  /* cJSON's printer rounds numbers to 15 digits: our own serialiser keeps them */
        dump(&sj, cJSON_GetObjectItem(group, "schema"));
        smol_error err;
        char *g = compile(sj.p, flags, &err);
        smol_grammar *gr = NULL;
        if (g && smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) != 0) {
            CHECK(0, "%s group %d: the engine rejects the compiled grammar: %s\n%s", name, gi, err.msg, g);
            free(g);
            g = NULL;
        }
        if (g) {
            fs.compiled++;
            cJSON *line = asserted ? NULL : cJSON_CreateObject();
            if (line) {
                cJSON_AddStringToObject(line, "file", name);
                cJSON_AddNumberToObject(line, "group", gi);
                cJSON_AddStringToObject(line, "gbnf", g);
            }
            cJSON *line_skips = line ? cJSON_AddArrayToObject(line, "skip") : NULL;
            int ti = 0;
            cJSON *t;
            cJSON_ArrayForEach(t, cJSON_GetObjectItem(group, "tests")) {
                buf b = {0};
                dump(&b, cJSON_GetObjectItem(t, "data"));
                int want = cJSON_IsTrue(cJSON_GetObjectItem(t, "valid"));
                int got = engine_accepts(gr, b.p);
                fs.cases++;
                fs.agree += got == want;
                char key[600];
                const char *gd = cJSON_GetObjectItem(group, "description")->valuestring;
                snprintf(key, sizeof key, "%s|%s", gd, cJSON_GetObjectItem(t, "description")->valuestring);
                int skip = 0, order = 0;
                for (int k = 0; k_skip[k]; k++) skip |= strcmp(key, k_skip[k]) == 0 || strcmp(gd, k_skip[k]) == 0;
                for (int k = 0; in_order && k_order[k]; k++) order |= strcmp(key, k_order[k]) == 0;
                if ((skip || order) && line_skips) cJSON_AddItemToArray(line_skips, cJSON_CreateNumber(ti));
                ti++;
                if (order) want = 0;   /* the schema's order only */
                if (asserted) want = valid_asserting_formats(sj.p, b.p);
                if (!report && !skip)
                    CHECK(got == want, "%s (flags %u) / '%s' / '%s': %s expected %s\n%s", name, flags, gd,
                          cJSON_GetObjectItem(t, "description")->valuestring, b.p, want ? "accept" : "reject", g);
                free(b.p);
            }
            if (line) {
                char *l = cJSON_PrintUnformatted(line);
                fprintf(jsonl, "%s\n", l);
                free(l);
                cJSON_Delete(line);
            }
        } else if (report > 1) printf("  %s group %d: %s\n", name, gi, err.msg);
        free(sj.p);
        smol_grammar_free(gr);
        free(g);
        gi++;
    }
    cJSON_Delete(doc);
    if (report) {
        char c1[32], c2[32];
        snprintf(c1, sizeof c1, "%d/%d", fs.compiled, fs.groups);
        snprintf(c2, sizeof c2, "%d/%d", fs.agree, fs.cases);
        printf("%-32s %9s %11s\n", name, c1, c2);
    }
    st->groups += fs.groups;
    st->compiled += fs.compiled;
    st->cases += fs.cases;
    st->agree += fs.agree;
}

/* The whole suite compiled with flags (0, or SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_FORMAT_ANNOTATION),
 * checked by the engine and by tests/ref/gbnf_match.py. */
static void run_suite(int report, unsigned flags) {
    const char *dir = test_data("json-schema-test-suite/draft2020-12");
    DIR *d = opendir(dir);
    REQUIRE(d, "cannot open %s", dir);
    char *names[128];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 128)
        if (strstr(e->d_name, ".json")) names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    const char *jpath = test_tmp(flags ? "schema-suite-any-order.jsonl" : "schema-suite.jsonl");
    FILE *jsonl = fopen(jpath, "w");
    REQUIRE(jsonl, "cannot write %s", jpath);
    suite_stats st = {0};
    if (report) printf("%-32s %9s %11s\n", "file", "compiled", "engine agrees");
    for (int i = 0; i < nn; i++) {
        suite_file(dir, names[i], jsonl, &st, report, flags);
        free(names[i]);
    }
    fclose(jsonl);
    printf("flags %u: schemas compiled: %d/%d (%.1f%%); instances of compiled schemas: %d, agreeing with the suite %d\n",
           flags, st.compiled, st.groups, 100.0 * st.compiled / (st.groups ? st.groups : 1), st.cases, st.agree);
    CHECK(st.compiled >= 309, "only %d of %d suite schemas compile (309 did)", st.compiled, st.groups);
    if (flags) CHECK(st.agree == st.cases, "%d of %d instances disagree with the suite", st.cases - st.agree, st.cases);
    /* the independent oracle: Python serialises the suite's instances itself */
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/gbnf_match.py --suite %s %s", jpath, dir);
    FILE *p = popen(cmd, "r");
    REQUIRE(p, "cannot run %s", cmd);
    char line[4096], last[4096] = "";
    int lines = 0;
    while (fgets(line, sizeof line, p)) {
        if (lines++ < 20 && strncmp(line, "checked", 7) != 0) fprintf(stderr, "gbnf_match: %s", line);
        snprintf(last, sizeof last, "%s", line);
    }
    int rc = pclose(p);
    printf("gbnf_match.py: %s", last);
    CHECK(rc == 0, "the reference recogniser disagrees (exit %d): %s", rc, last);
    remove(jpath);
}

static void test_suite_schemas(void) { run_suite(0, 0); }

/* Objects in any order and format as an annotation: every compiled schema accepts exactly the
 * suite's valid instances, with no exception. */
static void test_suite_any_order(void) { run_suite(0, SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_FORMAT_ANNOTATION); }

/* Walks text through a matcher token by token (tokens of tok, no BOS), each token checked
 * against the mask computed before it: 1 if every token is allowed and the grammar can end. */
static int tokens_accepted(const smol_grammar *gr, const smol_token_index *ti, const smol_tokenizer *tok,
                           const char *text, uint32_t *bits) {
    smol_tokens tk = {0};
    if (smol_tokenize(tok, text, strlen(text), 0, &tk, NULL)) return -1;
    smol_matcher *m;
    if (smol_matcher_new(gr, ti, &m, NULL)) return free(tk.ids), -1;
    int ok = 1;
    for (size_t i = 0; i < tk.n && ok; i++) {
        int32_t t = tk.ids[i];
        ok = smol_matcher_mask(m, bits) >= 0 && (bits[t / 32] >> (t % 32) & 1u) && smol_matcher_accept_token(m, t) == 0;
    }
    ok = ok && smol_matcher_can_end(m);
    smol_matcher_free(m);
    free(tk.ids);
    return ok;
}

/* Suite schemas of the files named (n of them), compiled with flags, through real vocabularies
 * (SmolLM2, Llama-3): token masks at every step must let exactly the valid instances through. */
static void suite_with_tokenizers(const char *const *files, size_t n_files, unsigned flags) {
    static const char *const toks[] = {"tokenizers/SmolLM2-135M-Instruct/tokenizer.json",
                                       "tokenizers/llama3-8b-instruct-hf/tokenizer.json"};
    for (int k = 0; k < 2; k++) {
        smol_tokenizer *tok;
        smol_token_index *ti;
        smol_error err;
        REQUIRE(smol_tokenizer_load(test_data(toks[k]), &tok, &err) == 0, "%s: %s", toks[k], err.msg);
        REQUIRE(smol_token_index_new(tok, &ti, &err) == 0, "%s", err.msg);
        uint32_t *bits = calloc(((size_t)smol_token_index_n_vocab(ti) + 31) / 32, sizeof *bits);
        int n_cases = 0, agree = 0;
        for (size_t f = 0; f < n_files; f++) {
            char path[600], *text;
            size_t n;
            snprintf(path, sizeof path, "json-schema-test-suite/draft2020-12/%s", files[f]);
            REQUIRE(smol_read_file(test_data(path), &text, &n, NULL) == 0, "%s", path);
            cJSON *doc = cJSON_ParseWithLength(text, n), *group;
            free(text);
            cJSON_ArrayForEach(group, doc) {
                buf sj = {0};
                dump(&sj, cJSON_GetObjectItem(group, "schema"));
                char *g = compile(sj.p, flags, &err);
                free(sj.p);
                smol_grammar *gr = NULL;
                if (!g || smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err)) {
                    free(g);
                    continue;
                }
                cJSON *t;
                cJSON_ArrayForEach(t, cJSON_GetObjectItem(group, "tests")) {
                    buf b = {0};
                    dump(&b, cJSON_GetObjectItem(t, "data"));
                    int want = cJSON_IsTrue(cJSON_GetObjectItem(t, "valid"));
                    int got = tokens_accepted(gr, ti, tok, b.p, bits);
                    n_cases++;
                    agree += got == want;
                    CHECK(got == want, "%s (flags %u): %s / '%s': %s expected %s", toks[k], flags, files[f],
                          cJSON_GetObjectItem(group, "description")->valuestring, b.p, want ? "accept" : "reject");
                    free(b.p);
                }
                smol_grammar_free(gr);
                free(g);
            }
            cJSON_Delete(doc);
        }
        printf("%s (flags %u): masks agree on %d/%d suite instances\n", toks[k], flags, agree, n_cases);
        CHECK(n_cases > 100, "only %d cases", n_cases);
        free(bits);
        smol_token_index_free(ti);
        smol_tokenizer_free(tok);
    }
}

static void test_suite_with_tokenizers(void) {
    static const char *const files[] = {"properties.json", "items.json", "enum.json", "anyOf.json", "ref.json",
                                        "minLength.json", "maximum.json", "pattern.json", "additionalProperties.json",
                                        "multipleOf.json", "patternProperties.json", "propertyNames.json",
                                        "unevaluatedProperties.json", "unevaluatedItems.json"};
    suite_with_tokenizers(files, sizeof files / sizeof *files, 0);
}

/* The files whose valid instances need any order or format as an annotation, and the object
 * keyword files, through both vocabularies with both flags. */
static void test_suite_any_order_with_tokenizers(void) {
    static const char *const files[] = {"allOf.json", "dependentRequired.json", "format.json", "required.json",
                                        "properties.json", "dependentSchemas.json", "additionalProperties.json",
                                        "unevaluatedProperties.json"};
    suite_with_tokenizers(files, sizeof files / sizeof *files, SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_FORMAT_ANNOTATION);
}

/* ---------------------------------------------------------------- ranges */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static int64_t rnd(int64_t lo, int64_t hi) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return lo + (int64_t)(rng_state % (uint64_t)(hi - lo + 1));
}

static void test_integer_ranges(void) {
    for (int iter = 0; iter < 60; iter++) {
        int scale = iter % 3 == 0 ? 10 : iter % 3 == 1 ? 1000 : 1000000;
        int64_t a = rnd(-scale, scale), b = rnd(-scale, scale);
        if (a > b) { int64_t t = a; a = b; b = t; }
        int has_lo = iter % 5 != 1, has_hi = iter % 5 != 2, ex = iter % 4 == 3;
        char schema[256];
        snprintf(schema, sizeof schema, "{\"type\":\"integer\"%s%.0lld%s%.0lld}",
                 has_lo ? (ex ? ",\"exclusiveMinimum\":" : ",\"minimum\":") : "", has_lo ? (long long)a : 0LL,
                 has_hi ? (ex ? ",\"exclusiveMaximum\":" : ",\"maximum\":") : "", has_hi ? (long long)b : 0LL);
        if (has_lo && a == 0) { /* %.0lld prints nothing for 0 */
            snprintf(schema, sizeof schema, "{\"type\":\"integer\",\"%s\":0%s%lld}", ex ? "exclusiveMinimum" : "minimum",
                     has_hi ? (ex ? ",\"exclusiveMaximum\":" : ",\"maximum\":") : ",\"title\":", has_hi ? (long long)b : 0LL);
        }
        smol_error err;
        char *g = compile(schema, SMOL_SCHEMA_COMPACT, &err);
        int empty = has_lo && has_hi && (ex ? b - a < 2 : b < a);
        if (empty) {
            CHECK(!g, "%s: an empty range must not compile", schema);
            free(g);
            continue;
        }
        REQUIRE(g, "%s: %s", schema, err.msg);
        smol_grammar *gr;
        REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "%s: %s", schema, err.msg);
        cJSON *sj = cJSON_Parse(schema);
        double lo = has_lo ? (double)a : -1e300, hi = has_hi ? (double)b : 1e300;
        for (int k = 0; k < 300; k++) {
            int64_t x = k < 40 ? (has_lo ? a : 0) + k - 20 : k < 80 ? (has_hi ? b : 0) + k - 60 : rnd(-3 * scale, 3 * scale);
            char text[64];
            snprintf(text, sizeof text, "%lld", (long long)x);
            int want = ex ? (x > lo && x < hi) : (x >= lo && x <= hi);
            int got = engine_accepts(gr, text);
            if (got != want) {
                CHECK(0, "%s: %s expected %s\n%s", schema, text, want ? "accept" : "reject", g);
                break;
            }
        }
        CHECK(engine_accepts(gr, "01") == 0 || 0, "leading zeros");
        cJSON_Delete(sj);
        smol_grammar_free(gr);
        free(g);
    }
}

static void test_number_bounds(void) {
    static const char *const schemas[] = {
        "{\"type\":\"number\",\"minimum\":0,\"maximum\":1}", "{\"type\":\"number\",\"exclusiveMinimum\":0}",
        "{\"type\":\"number\",\"minimum\":-5,\"exclusiveMaximum\":3}", "{\"type\":\"number\",\"maximum\":-2}",
        "{\"type\":\"number\",\"exclusiveMaximum\":-2,\"exclusiveMinimum\":-10}",
        "{\"type\":\"number\",\"minimum\":0,\"multipleOf\":0.01}"};
    const double bounds[][4] = {{0, 1, 0, 0}, {0, 1e300, 1, 0}, {-5, 3, 0, 1}, {-1e300, -2, 0, 0}, {-10, -2, 1, 1}, {0, 1e300, 0, 0}};
    static const char *const texts[] = {"0", "-0.5", "0.5", "1", "1.0", "1.5", "1.000", "-2", "-2.5", "-1.9", "-10", "-9.99",
                                        "3", "2.999", "-5", "-5.01", "12.34", "12.345", "100", "-0", "0.01"};
    for (size_t i = 0; i < sizeof schemas / sizeof schemas[0]; i++) {
        smol_error err;
        char *g = compile(schemas[i], SMOL_SCHEMA_COMPACT, &err);
        REQUIRE(g, "%s: %s", schemas[i], err.msg);
        smol_grammar *gr;
        REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "%s", err.msg);
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
            double x = strtod(texts[k], NULL);
            const double *bd = bounds[i];
            int want = (bd[2] ? x > bd[0] : x >= bd[0]) && (bd[3] ? x < bd[1] : x <= bd[1]);
            if (i == 5) {   /* a multiple of 0.01: at most two decimals once trailing zeros are dropped */
                const char *dot = strchr(texts[k], '.');
                size_t nd = dot ? strlen(dot + 1) : 0;
                while (nd && dot[nd] == '0') nd--;
                want = want && nd <= 2;
            }
            if (strcmp(texts[k], "-0") == 0) continue;  /* -0 equals 0; the grammar need not produce it */
            CHECK(engine_accepts(gr, texts[k]) == want, "%s: %s expected %s\n%s", schemas[i], texts[k], want ? "accept" : "reject", g);
        }
        smol_grammar_free(gr);
        free(g);
    }
}


/* Decimal bounds against exact arithmetic: bounds and values are thousandths (n / 1000), each
 * value written in several ways ("1.5", "1.500", "2", "2.0", "-0.25"). */
static void test_decimal_bounds(void) {
    int checked = 0, refused = 0;
    for (int iter = 0; iter < 120; iter++) {
        int64_t step = iter % 4 == 0 ? 1 : iter % 4 == 1 ? 10 : iter % 4 == 2 ? 250 : 1000;
        int64_t a = rnd(-3000, 3000) / step * step + (iter % 3 ? rnd(1, 999) : 0), b = a + rnd(0, 2500);
        if (iter % 8 == 7) a = -rnd(1, 999), b = rnd(0, 1500);  /* the negative side within (-1, 0) */
        int has_lo = iter % 5 != 1, has_hi = iter % 5 != 2, lex = iter % 7 < 3, hex = iter % 6 < 2;
        char schema[256], lo_s[48], hi_s[48];
        snprintf(lo_s, sizeof lo_s, "%s%s%.3f", ",", lex ? "\"exclusiveMinimum\":" : "\"minimum\":", (double)a / 1000);
        snprintf(hi_s, sizeof hi_s, "%s%s%.3f", ",", hex ? "\"exclusiveMaximum\":" : "\"maximum\":", (double)b / 1000);
        snprintf(schema, sizeof schema, "{\"type\":\"number\"%s%s}", has_lo ? lo_s : "", has_hi ? hi_s : "");
        smol_error err;
        char *g = compile(schema, SMOL_SCHEMA_COMPACT, &err);
        if (!g) {
            int empty = has_lo && has_hi && (a > b || (a == b && (lex || hex)));
            CHECK(empty, "%s: %s", schema, err.msg);
            refused++;
            continue;
        }
        smol_grammar *gr;
        REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "%s: %s", schema, err.msg);
        for (int k = 0; k < 120; k++) {
            int64_t x = k < 30 ? a + k - 15 : k < 60 ? b + k - 45 : rnd(-6000, 6000);
            if (k % 9 == 0) x = x / 1000 * 1000;
            int want = (!has_lo || (lex ? x > a : x >= a)) && (!has_hi || (hex ? x < b : x <= b));
            int64_t m = x < 0 ? -x : x;
            char forms[3][64];
            snprintf(forms[0], sizeof forms[0], "%s%lld.%03lld", x < 0 ? "-" : "", (long long)(m / 1000), (long long)(m % 1000));
            snprintf(forms[1], sizeof forms[1], "%s", forms[0]);
            size_t n = strlen(forms[1]);
            while (forms[1][n - 1] == '0') forms[1][--n] = 0;
            if (forms[1][n - 1] == '.') forms[1][--n] = 0;
            snprintf(forms[2], sizeof forms[2], "%.60s0", forms[0]);
            for (int f = 0; f < 3; f++) {
                if (strcmp(forms[f], "-0") == 0) continue;  /* -0 is not produced */
                int got = engine_accepts(gr, forms[f]);
                checked++;
                if (got != want) {
                    CHECK(0, "%s: %s expected %s\n%s", schema, forms[f], want ? "accept" : "reject", g);
                    k = 1000;
                    break;
                }
            }
        }
        smol_grammar_free(gr);
        free(g);
    }
    CHECK(refused <= 10 && checked > 10000, "%d refused, %d checked", refused, checked);
    printf("decimal bounds: %d schemas, %d refused, %d texts checked\n", 120, refused, checked);
}

/* ---------------------------------------------------------------- strings and formats */

/* Writes x / 10^4 as decimal text: form 0 with four decimals, 1 the shortest, 2 with a fifth zero. */
static void ten_thousandths(char *out, size_t cap, int64_t x, int form) {
    int64_t m = x < 0 ? -x : x;
    char t[64];
    snprintf(t, sizeof t, "%s%lld.%04lld", x < 0 ? "-" : "", (long long)(m / 10000), (long long)(m % 10000));
    size_t n = strlen(t);
    if (form == 1) {
        while (t[n - 1] == '0') t[--n] = 0;
        if (t[n - 1] == '.') t[--n] = 0;
    }
    snprintf(out, cap, "%s%s", t, form == 2 ? "0" : "");
}

/* multipleOf with steps that are not powers of ten (2, 1.5, 0.3, 0.25, 7, 0.12, ...), on numbers
 * and integers, unbounded, beside minimum 0 / maximum 0 and between two bounds, against exact
 * arithmetic in ten-thousandths: every value written three ways. */
static void test_multiple_of(void) {
    static const int64_t steps[] = {20000, 15000, 3000, 2500, 70000, 1200, 700, 7500, 1000, 120000, 4000, 36000};
    int checked = 0, schemas = 0;
    for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++)
        for (int kind = 0; kind < 8; kind++) {
            int integer = kind & 1, bounds = kind >> 1;   /* 0 none, 1 minimum 0, 2 maximum 0, 3 both */
            int64_t S = steps[si], lo = 0, hi = 0;
            if (bounds == 3) lo = rnd(-40000, 20000) / 10 * 10, hi = lo + rnd(0, 300000) / 10 * 10;
            char st[64], ls[64], hs[64], schema[300];
            ten_thousandths(st, sizeof st, S, 1), ten_thousandths(ls, sizeof ls, lo, 1), ten_thousandths(hs, sizeof hs, hi, 1);
            snprintf(schema, sizeof schema, "{\"type\":\"%s\",\"multipleOf\":%s%s%s%s%s}", integer ? "integer" : "number",
                     st, bounds == 1 || bounds == 3 ? ",\"minimum\":" : "", bounds == 1 || bounds == 3 ? ls : "",
                     bounds >= 2 ? ",\"maximum\":" : "", bounds >= 2 ? hs : "");
            smol_error err;
            char *g = compile(schema, SMOL_SCHEMA_COMPACT, &err);
            if (!g && bounds == 3 && strstr(err.msg, "no multiple")) continue;   /* checked below: none in range */
            REQUIRE(g, "%s does not compile: %s", schema, err.msg);
            smol_grammar *gr;
            REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "%s: %s", schema, err.msg);
            schemas++;
            for (int k = 0; k < 200; k++) {
                int64_t x = k < 40 ? S * (k - 20) : k < 60 ? S * (k - 50) + rnd(-3, 3) * 1000 : k < 80 ? rnd(-3, 3) * 10000
                          : rnd(-400000, 400000);
                if (k % 7 == 0) x = x / 10000 * 10000;
                int want = x % S == 0 && (!integer || x % 10000 == 0) && (bounds != 1 && bounds != 3 ? 1 : x >= lo) &&
                           (bounds < 2 || x <= hi);
                for (int f = 0; f < 3; f++) {
                    char t[64];
                    ten_thousandths(t, sizeof t, x, f);
                    if (x == 0 && f == 1 && bounds) continue;   /* "-0" is not produced between bounds */
                    int got = engine_accepts(gr, t);
                    checked++;
                    if (got != want) {
                        CHECK(0, "%s: %s expected %s\n%s", schema, t, want ? "accept" : "reject", g);
                        k = 1000;
                        break;
                    }
                }
            }
            smol_grammar_free(gr);
            free(g);
        }
    CHECK(schemas >= 90 && checked > 50000, "%d schemas, %d texts", schemas, checked);
    printf("multipleOf: %d schemas, %d texts checked\n", schemas, checked);
}

/* Keys through the pattern automata: objects with one or two members, keys from a pool (quotes,
 * backslashes, control characters, non-ASCII, names that match several patterns), against the
 * validator, for patternProperties beside additional properties, overlapping patterns, listed
 * names that match patterns, propertyNames, and additional properties of allOf/anyOf members
 * (each judging only its own member's names). */
static void test_keys_vs_validator(void) {
    static const char *const schemas[] = {
        "{\"patternProperties\":{\"^a\":{\"type\":\"integer\"},\"b$\":{\"minimum\":10}},\"additionalProperties\":{\"type\":\"string\"}}",
        "{\"properties\":{\"ab\":{\"maximum\":20}},\"patternProperties\":{\"^a\":{\"type\":\"integer\"}},\"additionalProperties\":false}",
        "{\"patternProperties\":{\"[0-9]{2}\":{\"type\":\"boolean\"},\"\\\"|\\\\\\\\\":{\"type\":\"null\"}}}",
        "{\"propertyNames\":{\"pattern\":\"^[a-z]+$\",\"maxLength\":3},\"additionalProperties\":{\"type\":\"integer\"}}",
        "{\"properties\":{\"x\":{\"type\":\"string\"}},\"propertyNames\":{\"enum\":[\"x\",\"y\",\"\\u00e9\"]}}",
        "{\"patternProperties\":{\"^\\\\s\":false,\"\\u00e9\":{\"type\":\"string\"}},\"propertyNames\":{\"minLength\":1}}",
        "{\"required\":[\"aa\"],\"patternProperties\":{\"a\":{\"type\":\"integer\"},\"aa\":{\"minimum\":3}}}",
        "{\"allOf\":[{\"properties\":{\"a\":{}}}],\"additionalProperties\":{\"type\":\"boolean\"}}",
        "{\"properties\":{\"a\":{\"type\":\"integer\"}},\"allOf\":[{\"properties\":{\"b\":{}},\"additionalProperties\":false}]}",
        "{\"allOf\":[{\"properties\":{\"ab\":true},\"unevaluatedProperties\":false},{\"patternProperties\":{\"^x\":{\"type\":\"null\"}}}]}",
        "{\"anyOf\":[{\"properties\":{\"b\":true},\"unevaluatedProperties\":{\"type\":\"string\"}}],\"properties\":{\"a\":true}}",
        "{\"allOf\":[{\"patternProperties\":{\"b\":{}},\"additionalProperties\":{\"type\":\"integer\"}},{\"additionalProperties\":{\"maximum\":9},\"properties\":{\"xb\":{}}}]}",
    };
    static const char *const keys[] = {"a", "ab", "b", "xb", "aab", "aa", "12", "x12y", "\"", "q\\", "\n", " s", "\t",
                                       "\u00e9", "x\u00e9", "y", "x", "", "abcd", "Abc", "z/"};
    static const char *const values[] = {"1", "25", "\"s\"", "true", "null", "2.5", "{}"};
    int n = 0;
    for (size_t i = 0; i < sizeof schemas / sizeof *schemas; i++) {
        smol_error err;
        char *g = compile(schemas[i], SMOL_SCHEMA_COMPACT, &err);
        REQUIRE(g, "%s does not compile: %s", schemas[i], err.msg);
        smol_grammar *gr;
        smol_jschema *js;
        REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "%s: %s\n%s", schemas[i], err.msg, g);
        REQUIRE(smol_jschema_new(schemas[i], strlen(schemas[i]), 0, &js, &err) == 0, "%s", err.msg);
        for (size_t a = 0; a < sizeof keys / sizeof *keys; a++)
            for (size_t b = 0; b <= sizeof keys / sizeof *keys; b += 4)
                for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
                    cJSON *o = cJSON_CreateObject();
                    cJSON_AddItemToObject(o, keys[a], cJSON_Parse(values[v]));
                    if (b < sizeof keys / sizeof *keys && b != a)
                        cJSON_AddItemToObject(o, keys[b], cJSON_Parse(values[(v + b) % 7]));
                    char *t = cJSON_PrintUnformatted(o);
                    int want = smol_jschema_validate_text(js, t, strlen(t), NULL, 0, NULL);
                    int got = engine_accepts(gr, t);
                    if (!got && want && b < sizeof keys / sizeof *keys && b != a) {   /* listed properties come first */
                        cJSON *r = cJSON_CreateObject();
                        cJSON_AddItemToObject(r, keys[b], cJSON_Parse(values[(v + b) % 7]));
                        cJSON_AddItemToObject(r, keys[a], cJSON_Parse(values[v]));
                        char *rt = cJSON_PrintUnformatted(r);
                        got = engine_accepts(gr, rt);
                        free(rt);
                        cJSON_Delete(r);
                    }
                    n++;
                    if (got != want) {
                        CHECK(0, "%s: %s: grammar %d, validator %d\n%s", schemas[i], t, got, want, g);
                        a = b = v = 1000;
                    }
                    free(t);
                    cJSON_Delete(o);
                }
        smol_jschema_free(js);
        smol_grammar_free(gr);
        free(g);
    }
    printf("keys vs the validator: %d objects\n", n);
}

static void test_formats_match_validator(void) {
    static const struct { const char *fmt, *s; } k[] = {
        {"date", "2024-02-29"}, {"date", "2024-13-01"}, {"date", "2024-04-31"}, {"date", "2024-1-01"},
        {"time", "12:30:00Z"}, {"time", "12:30:00.25+05:30"}, {"time", "24:00:00Z"}, {"time", "12:30:00"},
        {"date-time", "2024-05-01T10:00:00Z"}, {"date-time", "2024-05-01 10:00:00Z"}, {"duration", "P3Y6M4DT12H30M5S"},
        {"duration", "P2W"}, {"duration", "PT"}, {"duration", "P1D2Y"}, {"uuid", "2eb8aa08-aa98-11ea-b4aa-73b441d16380"},
        {"uuid", "2eb8aa08-aa98-11ea-b4aa"}, {"email", "joe.bloggs@example.com"}, {"email", "no-at-sign"},
        {"hostname", "www.example.com"}, {"hostname", "-bad.example.com"}, {"ipv4", "192.168.0.1"}, {"ipv4", "256.1.1.1"},
        {"ipv4", "01.1.1.1"}, {"ipv6", "::1"}, {"ipv6", "2001:db8::8a2e:370:7334"}, {"ipv6", "12345::"},
        {"uri", "https://example.com/a?b=c#d"}, {"uri", "//no-scheme"}, {"uri", "http://a b"},
        {"uri-reference", "//example.org/a?b#c"}, {"uri-reference", "../x%2Fy"}, {"uri-reference", "a b"},
        {"uri-reference", "%zz"}, {"iri", "http://\u00e9x.org/\u03c0"}, {"iri", "\u03c0://x"}, {"iri", "x:\xc2\x85"},
        {"iri-reference", "/\u00e9t\u00e9"}, {"iri-reference", "a\\b"}, {"json-pointer", ""}, {"json-pointer", "/a~1b/~0"},
        {"json-pointer", "/a~2"}, {"json-pointer", "a/b"}, {"json-pointer", "/\\\"x"}, {"relative-json-pointer", "0#"},
        {"relative-json-pointer", "12/a~0"}, {"relative-json-pointer", "01/a"}, {"relative-json-pointer", "#"},
        {"relative-json-pointer", "1##"}, {"uri-template", "http://x/{id}{?q,lang:2}{/p*}"},
        {"uri-template", "/{a.b}/{%41x}"}, {"uri-template", "/{a"}, {"uri-template", "/{}"}, {"uri-template", "/{a:0}"},
        {"uri-template", "/{a:12345}"}, {"uri-template", "a'b"}, {"uri-template", "/{+a.}"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        char schema[128];
        snprintf(schema, sizeof schema, "{\"type\":\"string\",\"format\":\"%s\"}", k[i].fmt);
        cJSON *str = cJSON_CreateString(k[i].s);
        char *text = cJSON_PrintUnformatted(str);
        int want = smol_jschema_check_format(k[i].fmt, k[i].s);
        expect(schema, 0, (const char *const[]){text}, &want, 1);
        free(text);
        cJSON_Delete(str);
    }
}

static void test_strings(void) {
    expect("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}", 0,
           (const char *const[]){"\"ab\"", "\"abc\"", "\"a\"", "\"abcd\"", "\"\\u00e9\\n\"", "\"\xc3\xa9\xc3\xa9\""},
           (const int[]){1, 1, 0, 0, 1, 1}, 6);
    /* pattern: search semantics unless anchored; JSON escapes inside the string */
    expect("{\"type\":\"string\",\"pattern\":\"ab+\"}", 0,
           (const char *const[]){"\"xabbbx\"", "\"ab\"", "\"a\"", "\"q\\\"ab\""}, (const int[]){1, 1, 0, 1}, 4);
    expect("{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}-[0-9]+$\"}", 0,
           (const char *const[]){"\"AB-12\"", "\"AB-\"", "\"xAB-12\"", "\"ab-12\""}, (const int[]){1, 0, 0, 0}, 4);
    expect("{\"type\":\"string\",\"pattern\":\"^[^a]$\"}", 0,
           (const char *const[]){"\"b\"", "\"\\\"\"", "\"a\"", "\"\"\"", "\"\\\\\""}, (const int[]){1, 1, 0, 0, 1}, 5);
    expect("{\"const\":\"caf\xc3\xa9 \\\"x\\\"\"}", 0,
           (const char *const[]){"\"caf\xc3\xa9 \\\"x\\\"\"", "\"caf\\u00E9 \\\"x\\\"\"", "\"cafe \\\"x\\\"\""},
           (const int[]){1, 1, 0}, 3);
}

/* ---------------------------------------------------------------- objects and arrays */

static void test_objects(void) {
    const char *s = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"},"
                    "\"c\":{\"type\":\"boolean\"}},\"required\":[\"b\"],\"additionalProperties\":false}";
    expect(s, 0,
           (const char *const[]){"{\"b\": \"x\"}", "{\"a\": 1, \"b\": \"x\", \"c\": true}", "{\"a\": 1, \"b\": \"x\"}",
                                 "{\"b\": \"x\", \"c\": false}", "{\"a\": 1}", "{\"b\": \"x\", \"a\": 1}", "{\"b\": \"x\", \"d\": 1}",
                                 "{}", "{ \"b\" : \"x\" }"},
           (const int[]){1, 1, 1, 1, 0, 0, 0, 0, 1}, 9);
    /* additional properties allowed by default, but never under a listed name */
    expect("{\"properties\":{\"a\":{\"type\":\"integer\"}}}", 0,
           (const char *const[]){"{\"a\": 1, \"ab\": \"x\"}", "{\"a\": \"x\"}", "{\"b\": \"x\"}", "{\"\": 1}", "[1]"},
           (const int[]){1, 0, 1, 1, 1}, 5);
    expect("{\"type\":\"object\",\"patternProperties\":{\"^x-\":{\"type\":\"integer\"}},\"additionalProperties\":false}", 0,
           (const char *const[]){"{\"x-a\": 1}", "{\"x-a\": \"s\"}", "{\"y\": 1}", "{}"}, (const int[]){1, 0, 0, 1}, 4);
}

static void test_property_counts(void) {
    expect("{\"type\":\"object\",\"minProperties\":1,\"maxProperties\":2,\"additionalProperties\":{\"type\":\"integer\"}}", 0,
           (const char *const[]){"{}", "{\"a\": 1}", "{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": 2, \"c\": 3}", "{\"a\": \"x\"}"},
           (const int[]){0, 1, 1, 0, 0}, 5);
}

static void test_arrays(void) {
    expect("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"contains\":{\"minimum\":5},\"minContains\":2}", 0,
           (const char *const[]){"[]", "[5]", "[5, 6]", "[1, 5, 2, 7, 0]", "[1, 2, 3, 9]", "[5, \"a\", 6]"},
           (const int[]){0, 0, 1, 1, 0, 0}, 6);
    expect("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}", 0,
           (const char *const[]){"[]", "[1]", "[1, 2, 3]", "[1,2,3,4]", "[1, \"a\"]"}, (const int[]){0, 1, 1, 0, 0}, 5);
    expect("{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":false}", 0,
           (const char *const[]){"[]", "[\"a\"]", "[\"a\", 1]", "[\"a\", 1, 2]", "[1]", "{}"}, (const int[]){1, 1, 1, 0, 0, 1}, 6);
    expect("{\"type\":\"array\",\"prefixItems\":[{\"const\":1}],\"items\":{\"type\":\"string\"},\"minItems\":2}", 0,
           (const char *const[]){"[1]", "[1, \"a\"]", "[1, \"a\", \"b\"]", "[2, \"a\"]"}, (const int[]){0, 1, 1, 0}, 4);
}


/* ---------------------------------------------------------------- not, if/then/else, dependencies, oneOf */

/* Each schema must compile, and its grammar must judge every instance of a shared pool as the
 * validator (src/gen/jsonschema.c, checked against the Test Suite) does. Object members in the
 * pool follow the schemas' order (a, b, c) and numbers have no exponent: the grammar's limits. */
/* Each schema must compile, and its grammar must accept exactly the pool's instances that the
 * validator accepts (the first disagreement printed with the grammar). */
static void agree_with_validator(const char *what, const char *const *schemas, size_t n_schemas, const char *const *pool,
                                 size_t n_pool) {
    int n_checked = 0;
    for (size_t i = 0; i < n_schemas; i++) {
        smol_error err;
        char *g = compile(schemas[i], 0, &err);
        CHECK(g, "%s does not compile: %s", schemas[i], err.msg);
        if (!g) continue;
        smol_grammar *gr;
        smol_jschema *v;
        REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "%s: %s", schemas[i], err.msg);
        REQUIRE(smol_jschema_new(schemas[i], strlen(schemas[i]), 0, &v, &err) == 0, "%s: %s", schemas[i], err.msg);
        int first = 1;
        for (size_t k = 0; k < n_pool; k++) {
            int want = smol_jschema_validate_text(v, pool[k], strlen(pool[k]), NULL, 0, &err);
            int got = engine_accepts(gr, pool[k]);
            n_checked++;
            CHECK(want == got, "%s: %s: validator says %s, grammar %s\n%s", schemas[i], pool[k], want ? "valid" : "invalid",
                  got ? "accepts" : "rejects", first ? g : "");
            first &= want == got;
        }
        smol_jschema_free(v);
        smol_grammar_free(gr);
        free(g);
    }
    CHECK((size_t)n_checked == n_schemas * n_pool, "only %d checks", n_checked);
    printf("%s vs the validator: %zu schemas x %zu instances\n", what, n_schemas, n_pool);
}

static void test_negation_vs_validator(void) {
    static const char *const schemas[] = {
        "{\"not\":{\"type\":\"integer\"}}",
        "{\"not\":{\"type\":[\"string\",\"null\"]}}",
        "{\"type\":\"number\",\"not\":{\"type\":\"integer\"}}",
        "{\"type\":\"string\",\"not\":{\"enum\":[\"a\",\"ab\",\"a\\\"b\",\"\\u00e9\"]}}",
        "{\"not\":{\"const\":\"ab\"}}",
        "{\"type\":\"integer\",\"not\":{\"enum\":[1,2,5]}}",
        "{\"type\":\"number\",\"not\":{\"enum\":[0,2]},\"minimum\":-1,\"maximum\":3}",
        "{\"type\":\"boolean\",\"not\":{\"const\":true}}",
        "{\"not\":{\"enum\":[null,false,1,\"a\"]}}",
        "{\"not\":{\"minimum\":2}}",
        "{\"not\":{\"type\":\"string\",\"maxLength\":1}}",
        "{\"not\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}}",
        "{\"type\":\"object\",\"not\":{\"required\":[\"a\"]}}",
        "{\"not\":{\"not\":{\"type\":\"string\"}}}",
        "{\"not\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"array\",\"minItems\":1}]}}",
        "{\"type\":\"array\",\"items\":{\"not\":{\"const\":1}}}",
        "{\"type\":\"array\",\"not\":{\"items\":{\"type\":\"integer\"}}}",
        "{\"type\":\"array\",\"not\":{\"contains\":{\"type\":\"string\"}}}",
        "{\"if\":{\"type\":\"integer\"},\"then\":{\"minimum\":2},\"else\":{\"type\":\"string\"}}",
        "{\"if\":{\"minimum\":2},\"then\":{\"multipleOf\":1}}",
        "{\"type\":\"object\",\"if\":{\"properties\":{\"a\":{\"const\":1}},\"required\":[\"a\"]},\"then\":{\"required\":[\"b\"]},"
        "\"else\":{\"properties\":{\"a\":{\"type\":\"string\"}}}}",
        "{\"type\":\"object\",\"properties\":{\"a\":true,\"b\":true},\"dependentRequired\":{\"b\":[\"a\"]}}",
        "{\"type\":\"object\",\"properties\":{\"a\":true,\"b\":true,\"c\":true},\"dependencies\":{\"c\":[\"a\",\"b\"]},"
        "\"additionalProperties\":false}",
        "{\"properties\":{\"a\":true,\"b\":true},\"dependentSchemas\":{\"a\":{\"properties\":{\"b\":{\"type\":\"string\"}}}}}",
        "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}",
        "{\"type\":\"string\",\"oneOf\":[{\"minLength\":2},{\"maxLength\":2}]}",
        "{\"type\":\"object\",\"properties\":{\"a\":true,\"b\":true,\"c\":true},\"oneOf\":[{\"required\":[\"a\",\"b\"]},{\"required\":[\"a\",\"c\"]}]}",
        "{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"const\":1}},\"required\":[\"a\"]},{\"type\":\"object\",\"properties\":"
        "{\"a\":{\"const\":2}},\"required\":[\"a\"]},{\"type\":\"array\"}]}",
        "{\"contains\":{\"const\":1},\"maxContains\":1}",
        "{\"properties\":{\"n\":{\"pattern\":\"^x\"}},\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}",
        "{\"type\":\"number\",\"not\":{\"enum\":[1.5,2,-0.5]}}",
        "{\"not\":{\"exclusiveMaximum\":2.25}}",
        "{\"type\":\"number\",\"minimum\":-0.5,\"exclusiveMaximum\":2.25}",
        "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"contains\":{\"minimum\":2},\"minContains\":1,\"maxContains\":2}",
        "{\"type\":\"array\",\"contains\":{\"type\":\"string\"},\"minContains\":0,\"maxContains\":0}",
        "{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\",1]},\"uniqueItems\":true}",
        "{\"type\":\"array\",\"prefixItems\":[{\"type\":\"boolean\"},{\"type\":\"boolean\"}],\"items\":false,\"uniqueItems\":true}",
        "{\"type\":\"array\",\"items\":{\"type\":\"boolean\"},\"uniqueItems\":true,\"minItems\":1}",
        "{\"type\":\"array\",\"items\":{\"enum\":[1,2,3]},\"uniqueItems\":true,\"contains\":{\"const\":2}}",
        "{\"allOf\":[{\"prefixItems\":[{\"minimum\":0}]}],\"items\":{\"type\":\"integer\"}}",
        "{\"prefixItems\":[{\"type\":\"string\"}],\"allOf\":[{\"prefixItems\":[true,{\"type\":\"number\"}]}],\"unevaluatedItems\":false}",
        "{\"allOf\":[{\"prefixItems\":[{\"type\":\"integer\"}],\"unevaluatedItems\":{\"type\":\"string\"}},{\"maxItems\":3}]}",
        "{\"type\":\"array\",\"anyOf\":[{\"prefixItems\":[true,true],\"items\":false}],\"prefixItems\":[{\"type\":\"boolean\"}]}",
    };
    static const char *const pool[] = {
        "null", "true", "false", "0", "1", "-1", "2", "5", "1.5", "-0.5", "1.0", "2.25", "3", "10", "-7", "2.5", "-0.25", "-0.75", "2.250", "1.50", "\"\"", "\"a\"",
        "\"ab\"", "\"\\u0061b\"", "\"a\\u0062\"", "\"a\\\"b\"", "\"\\u00e9\"", "\"\xc3\xa9\"", "\"abc\"", "\"b\"", "[]", "[1]",
        "[1, 2]", "[2, 3]", "[\"a\"]", "[1, \"a\"]", "[true, false]", "[[1]]", "[1, 1]", "[1, 2, 1]", "[1, 2, 2]",
        "[3, 2, 1]", "[1.0, 1]", "[\"a\", \"b\"]", "[\"b\", \"a\"]", "[\"a\", \"a\"]", "[true, true]", "[false]", "[1, \"a\", \"b\"]", "{}", "{\"a\": 1}", "{\"a\": 2}", "{\"a\": \"x\"}",
        "{\"b\": 1}", "{\"c\": 1}", "{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": \"x\"}", "{\"a\": \"x\", \"b\": 2}",
        "{\"a\": 2, \"c\": 1}", "{\"b\": 1, \"c\": 1}", "{\"a\": 1, \"b\": 2, \"c\": 3}", "{\"d\": 1}", "{\"a\": 1, \"d\": 1}"};
    agree_with_validator("negation and counting", schemas, sizeof schemas / sizeof schemas[0], pool, sizeof pool / sizeof pool[0]);
}

/* unevaluatedProperties/unevaluatedItems beside anyOf (every conjunction of branches), oneOf,
 * if/then/else, not and the dependencies: failed subschemas evaluate nothing, passing ones do. */
static void test_unevaluated_vs_validator(void) {
    /* the pool lists members in the order the grammars write them: listed names a, b, c, d, then
     * additional ones (property order is a known limit of the grammars) */
    static const char *const schemas[] = {
        "{\"properties\":{\"a\":true},\"anyOf\":[{\"properties\":{\"b\":{\"type\":\"integer\"}}},{\"properties\":{\"c\":true},"
        "\"required\":[\"c\"]}],\"unevaluatedProperties\":false}",
        "{\"anyOf\":[{\"properties\":{\"a\":{\"const\":1}},\"required\":[\"a\"]},{\"properties\":{\"b\":true},\"required\":[\"b\"]},"
        "{\"properties\":{\"c\":true},\"required\":[\"c\"]}],\"unevaluatedProperties\":false}",
        "{\"anyOf\":[{\"properties\":{\"a\":true}},{\"properties\":{\"b\":true}}],\"unevaluatedProperties\":{\"type\":\"string\"}}",
        "{\"oneOf\":[{\"properties\":{\"a\":true},\"required\":[\"a\"]},{\"properties\":{\"b\":true},\"required\":[\"b\"]}],"
        "\"unevaluatedProperties\":false}",
        "{\"properties\":{\"a\":true},\"oneOf\":[{\"properties\":{\"b\":{\"type\":\"integer\"}}},{\"properties\":{\"b\":{\"type\":\"string\"}}}],"
        "\"unevaluatedProperties\":false}",
        "{\"if\":{\"properties\":{\"a\":{\"const\":1}},\"required\":[\"a\"]},\"then\":{\"properties\":{\"b\":true}},"
        "\"else\":{\"properties\":{\"c\":true}},\"unevaluatedProperties\":false}",
        "{\"if\":{\"properties\":{\"a\":{\"const\":1}},\"required\":[\"a\"]},\"unevaluatedProperties\":false}",
        "{\"properties\":{\"a\":true},\"if\":{\"properties\":{\"b\":{\"type\":\"string\"}}},\"then\":{\"required\":[\"a\"]},"
        "\"unevaluatedProperties\":{\"type\":\"integer\"}}",
        "{\"properties\":{\"a\":true},\"not\":{\"properties\":{\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]},"
        "\"unevaluatedProperties\":false}",
        "{\"properties\":{\"a\":true,\"b\":true},\"not\":{\"required\":[\"b\"]},\"unevaluatedProperties\":false}",
        "{\"properties\":{\"a\":true},\"dependentSchemas\":{\"a\":{\"properties\":{\"b\":{\"type\":\"integer\"}}}},"
        "\"unevaluatedProperties\":false}",
        "{\"properties\":{\"a\":true},\"not\":{\"properties\":{\"d\":{\"const\":1}},\"required\":[\"d\"]},\"additionalProperties\":false}",
        "{\"properties\":{\"a\":true},\"if\":{\"properties\":{\"b\":{\"const\":1}},\"required\":[\"b\"]},\"then\":{\"required\":[\"a\"]},"
        "\"additionalProperties\":{\"type\":\"integer\"}}",
        "{\"anyOf\":[{\"items\":{\"type\":\"integer\"}},{\"prefixItems\":[{\"type\":\"string\"}]}],\"unevaluatedItems\":{\"const\":true}}",
        "{\"prefixItems\":[{\"type\":\"integer\"}],\"anyOf\":[{\"prefixItems\":[true,{\"type\":\"string\"}]},"
        "{\"prefixItems\":[true,true,{\"type\":\"string\"}]}],\"unevaluatedItems\":false}",
        "{\"unevaluatedItems\":{\"type\":\"boolean\"},\"anyOf\":[{\"items\":{\"type\":\"string\"}},true]}",
        "{\"prefixItems\":[{\"type\":\"integer\"}],\"not\":{\"prefixItems\":[true,{\"type\":\"integer\"}]},\"unevaluatedItems\":"
        "{\"type\":\"string\"}}",
        "{\"prefixItems\":[{\"type\":\"integer\"}],\"if\":{\"prefixItems\":[true,{\"const\":\"a\"}]},\"then\":{\"prefixItems\":[true,"
        "true,{\"type\":\"string\"}]},\"else\":{\"maxItems\":2},\"unevaluatedItems\":{\"const\":true}}",
        "{\"prefixItems\":[{\"type\":\"integer\"}],\"oneOf\":[{\"prefixItems\":[true,{\"type\":\"string\"}]},{\"prefixItems\":[true,"
        "{\"const\":\"a\"}]}],\"unevaluatedItems\":false}",
        "{\"if\":{\"prefixItems\":[{\"const\":1}]},\"unevaluatedItems\":false}",
        "{\"contains\":{\"type\":\"string\"},\"unevaluatedItems\":false}",
        "{\"contains\":{\"type\":\"string\"},\"minContains\":0,\"unevaluatedItems\":{\"type\":\"integer\"}}",
        "{\"items\":{\"type\":\"integer\"},\"contains\":{\"const\":1},\"unevaluatedItems\":false}",
        "{\"contains\":{\"type\":\"string\"},\"maxContains\":1,\"unevaluatedItems\":{\"const\":true}}",
        "{\"enum\":[{\"a\":1},{\"a\":2},{\"b\":1},[1],[\"a\"]],\"not\":{\"properties\":{\"a\":{\"const\":1}},\"required\":[\"a\"]}}",
    };
    static const char *const pool[] = {
        "null", "1", "\"a\"", "{}", "{\"a\": 1}", "{\"a\": 2}", "{\"a\": \"x\"}", "{\"b\": 1}", "{\"b\": \"x\"}", "{\"c\": 1}",
        "{\"c\": \"x\"}", "{\"d\": 1}", "{\"d\": 2}", "{\"d\": \"x\"}", "{\"a\": 1, \"b\": 2}", "{\"a\": 1, \"b\": \"x\"}",
        "{\"a\": 2, \"b\": 2}", "{\"a\": \"x\", \"b\": \"y\"}", "{\"a\": 1, \"c\": 1}", "{\"a\": 2, \"c\": 1}",
        "{\"b\": 1, \"c\": 1}", "{\"a\": 1, \"b\": 1, \"c\": 1}", "{\"a\": 1, \"d\": 1}", "{\"a\": 1, \"d\": 2}",
        "{\"a\": 1, \"d\": \"x\"}", "{\"a\": 1, \"b\": 2, \"d\": 3}", "{\"c\": 1, \"d\": \"x\"}", "[]", "[1]", "[\"a\"]",
        "[true]", "[1, 2]", "[1, \"a\"]", "[1, true]", "[\"a\", true]", "[\"a\", \"b\"]", "[1, \"a\", \"b\"]",
        "[1, 2, \"b\"]", "[1, \"a\", true]", "[true, false]", "[1, 2, 3]"};
    agree_with_validator("unevaluated* beside applicators", schemas, sizeof schemas / sizeof schemas[0], pool,
                         sizeof pool / sizeof pool[0]);
}

/* Schemas that no value satisfies are errors that say so; branches that none satisfies are dropped. */
static void test_nothing_valid(void) {
    static const char *const empty[] = {"{\"not\":{}}", "{\"not\":true}", "{\"type\":\"integer\",\"not\":{\"type\":\"number\"}}",
                                        "{\"oneOf\":[true,true]}", "{\"type\":\"boolean\",\"not\":{\"enum\":[true,false]}}"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        smol_error err;
        char *g = compile(empty[i], 0, &err);
        CHECK(!g && err.code == SMOL_EUNSUPPORTED && (strstr(err.msg, "no ") || strstr(err.msg, "false")), "%s: %s", empty[i],
              g ? g : err.msg);
        free(g);
    }
    expect("{\"anyOf\":[{\"type\":\"integer\",\"minimum\":5,\"maximum\":1},{\"const\":\"x\"}]}", 0,
           (const char *const[]){"\"x\"", "3"}, (const int[]){1, 0}, 2);
}

/* ---------------------------------------------------------------- refs, options, errors */

static void test_refs_and_recursion(void) {
    const char *tree = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},"
                       "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}},\"required\":[\"v\"],"
                       "\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}";
    expect(tree, 0,
           (const char *const[]){"{\"v\": 1}", "{\"v\": 1, \"kids\": [{\"v\": 2, \"kids\": [{\"v\": 3}]}]}", "{\"v\": 1, \"kids\": [{}]}"},
           (const int[]){1, 1, 0}, 3);
    smol_error err;
    char *g = compile("{\"$ref\":\"#\"}", 0, &err);
    CHECK(!g && strstr(err.msg, "circular"), "self $ref: %s", g ? g : err.msg);
    free(g);
    g = compile("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":\"#\"}},\"required\":[\"a\"],\"additionalProperties\":false}", 0, &err);
    CHECK(!g && strstr(err.msg, "circular $ref"), "endless required recursion: %s", g ? g : err.msg);
    free(g);
    g = compile("{\"$ref\":\"#/$defs/missing\"}", 0, &err);
    CHECK(!g && strstr(err.msg, "#/$defs/missing"), "missing target: %s", err.msg);
    free(g);
    /* allOf merges objects; $ref with siblings too */
    expect("{\"allOf\":[{\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]},{\"properties\":{\"a\":{\"minimum\":5}}}]}", 0,
           (const char *const[]){"{\"a\": 5}", "{\"a\": 4}", "{}"}, (const int[]){1, 0, 0}, 3);
}

typedef struct warns {
    int n;
    char last[512];
} warns;
static void on_warn(void *ctx, const char *msg) {
    warns *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

/* Objects in any order (SMOL_SCHEMA_ANY_ORDER) against the validator: for each schema, every
 * ordered choice of up to 4 distinct members from a pool (listed, pattern and additional names;
 * values of fitting and unfitting types) is judged by both; they must agree on every one. The
 * schema-order grammar must accept only what the any-order one accepts, and every object with a
 * listed property written twice is rejected. */
static const char *const k_any_order_schemas[] = {
    "{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"},\"c\":{}},\"required\":[\"a\",\"b\"]}",
    "{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"},\"c\":{}},\"required\":[\"b\"],\"additionalProperties\":false}",
    "{\"properties\":{\"a\":{},\"b\":{}},\"required\":[\"a\"],\"additionalProperties\":{\"type\":\"integer\"}}",
    "{\"properties\":{\"a\":{\"type\":\"integer\"}},\"patternProperties\":{\"^x\":{\"type\":\"integer\"}},\"additionalProperties\":false,\"required\":[\"a\"]}",
    "{\"allOf\":[{\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]},{\"properties\":{\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]}]}",
    "{\"properties\":{\"a\":{},\"b\":{},\"c\":{}},\"dependentRequired\":{\"c\":[\"a\",\"b\"]},\"additionalProperties\":false}",
    "{\"required\":[\"c\"],\"dependentRequired\":{\"c\":[\"a\"]},\"properties\":{\"a\":{},\"b\":{},\"c\":{}}}",
    "{\"properties\":{\"a\":{},\"b\":{}},\"dependentSchemas\":{\"a\":{\"required\":[\"b\"],\"properties\":{\"b\":{\"type\":\"string\"}}}},\"additionalProperties\":false}",
    "{\"allOf\":[{\"properties\":{\"a\":{}}}],\"properties\":{\"b\":{}},\"unevaluatedProperties\":false}",
    "{\"properties\":{\"a\":{},\"b\":{}},\"unevaluatedProperties\":{\"type\":\"string\"},\"required\":[\"a\"]}",
    "{\"properties\":{\"a\":{},\"b\":{}},\"propertyNames\":{\"maxLength\":1}}",
    "{\"required\":[\"a\"],\"properties\":{\"a\":{},\"b\":{},\"c\":{}},\"additionalProperties\":false,\"minProperties\":1,\"maxProperties\":3}",
    "{\"minProperties\":1,\"maxProperties\":2,\"additionalProperties\":{\"type\":\"string\"}}",
    "{\"required\":[\"a\",\"zz\"],\"properties\":{\"a\":{\"type\":\"integer\"}}}",
    "{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{},\"c\":{},\"x1\":{},\"x2\":{},\"zz\":{}},\"additionalProperties\":false}",
    ("{\"anyOf\":[{\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"],\"additionalProperties\":false},"
     "{\"properties\":{\"b\":{},\"c\":{}},\"required\":[\"b\",\"c\"]}]}"),
    "{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{}},\"patternProperties\":{\"^a|^x\":{\"type\":\"integer\"}}}",
    "{\"allOf\":[{\"properties\":{\"a\":{},\"x1\":{}},\"additionalProperties\":false},{\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]}]}",
    "{\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"string\"}},\"required\":[\"a\"],\"not\":{\"required\":[\"c\"]}}",
    "{\"properties\":{\"a\":{\"type\":\"integer\"}},\"if\":{\"required\":[\"b\"]},\"then\":{\"required\":[\"c\"]},\"additionalProperties\":{\"type\":\"boolean\"}}",
};

typedef struct pool_member {
    const char *name, *value;
} pool_member;

static const pool_member k_pool[] = {{"a", "1"}, {"a", "\"s\""}, {"b", "\"s\""}, {"c", "true"},
                                     {"x1", "1"}, {"x2", "\"s\""}, {"zz", "null"}};
#define POOL_N (int)(sizeof k_pool / sizeof *k_pool)

/* Writes the object of pool members idx[0..k) with ", " and ": " into b (b->n reset). */
static void pool_object(buf *b, const int *idx, int k) {
    b->n = 0;
    puts_(b, "{");
    for (int i = 0; i < k; i++) {
        if (i) puts_(b, ", ");
        puts_(b, "\"");
        puts_(b, k_pool[idx[i]].name);
        puts_(b, "\": ");
        puts_(b, k_pool[idx[i]].value);
    }
    puts_(b, "}");
}

typedef struct order_run {
    const smol_grammar *any, *ordered;
    const smol_jschema *v;
    const char *schema;
    int n, accepted, failed;
} order_run;

/* Every ordered choice of distinct names extending idx[0..k), judged up to 4 members. */
static void order_walk(order_run *r, buf *b, int *idx, int k) {
    pool_object(b, idx, k);
    int want = smol_jschema_validate_text(r->v, b->p, b->n, NULL, 0, NULL);
    int got = engine_accepts(r->any, b->p), in_order = engine_accepts(r->ordered, b->p);
    r->n++;
    r->accepted += got == 1;
    if ((got != want || (in_order && !got)) && r->failed++ < 3)
        CHECK(0, "%s: %s: any-order grammar %d, validator %d, schema-order grammar %d", r->schema, b->p, got, want, in_order);
    if (k == 4) return;
    for (int j = 0; j < POOL_N; j++) {
        int used = 0;
        for (int i = 0; i < k; i++) used |= strcmp(k_pool[idx[i]].name, k_pool[j].name) == 0;
        if (used) continue;
        idx[k] = j;
        order_walk(r, b, idx, k + 1);
    }
}

static void test_any_order_vs_validator(void) {
    int total = 0, accepted = 0, dups = 0;
    for (size_t i = 0; i < sizeof k_any_order_schemas / sizeof *k_any_order_schemas; i++) {
        const char *sc = k_any_order_schemas[i];
        smol_error err;
        char *ga = compile(sc, SMOL_SCHEMA_ANY_ORDER, &err);
        REQUIRE(ga, "%s does not compile in any order: %s", sc, err.msg);
        char *go = compile(sc, 0, &err);
        REQUIRE(go, "%s does not compile: %s", sc, err.msg);
        smol_grammar *any, *ordered;
        smol_jschema *v;
        REQUIRE(smol_grammar_from_gbnf(ga, strlen(ga), "root", &any, &err) == 0, "%s: %s", sc, err.msg);
        REQUIRE(smol_grammar_from_gbnf(go, strlen(go), "root", &ordered, &err) == 0, "%s: %s", sc, err.msg);
        REQUIRE(smol_jschema_new(sc, strlen(sc), 0, &v, &err) == 0, "%s: %s", sc, err.msg);
        order_run r = {any, ordered, v, sc, 0, 0, 0};
        buf b = {0};
        int idx[5];
        order_walk(&r, &b, idx, 0);
        /* a listed name written twice (the validator's reading of duplicates is not the oracle;
         * in an anyOf branch that does not list "a" it is an additional name, which may repeat) */
        static const char *const twice[] = {"{\"a\": 1, \"b\": \"s\", \"a\": 1}", "{\"a\": 1, \"a\": 1, \"b\": \"s\", \"c\": true}",
                                            "{\"b\": \"s\", \"a\": 1, \"c\": true, \"b\": \"s\"}"};
        for (int t = 0; t < 3 && strstr(sc, "\"a\":{") && strstr(sc, "\"b\":{") && !strstr(sc, "anyOf"); t++, dups++)
            CHECK(engine_accepts(any, twice[t]) == 0, "%s: %s accepted", sc, twice[t]);
        CHECK(r.accepted > 0, "%s: no object accepted", sc);
        total += r.n;
        accepted += r.accepted;
        free(b.p);
        smol_jschema_free(v);
        smol_grammar_free(any);
        smol_grammar_free(ordered);
        free(ga);
        free(go);
    }
    printf("any order vs the validator: %zu schemas, %d objects (%d valid), %d with a name twice\n",
           sizeof k_any_order_schemas / sizeof *k_any_order_schemas, total, accepted, dups);
}

/* More listed properties than SMOL_SCHEMA_ANY_ORDER_MAX: an error naming the object's path, or
 * in lenient mode a warning and the schema's order. */
static void test_any_order_limit(void) {
    buf b = {0};
    puts_(&b, "{\"properties\":{\"o\":{\"type\":\"object\",\"properties\":{");
    char tmp[64];
    for (int i = 0; i <= SMOL_SCHEMA_ANY_ORDER_MAX; i++) {
        snprintf(tmp, sizeof tmp, "%s\"p%d\":{\"type\":\"integer\"}", i ? "," : "", i);
        puts_(&b, tmp);
    }
    puts_(&b, "}}}}");
    smol_error err;
    char *g = compile(b.p, SMOL_SCHEMA_ANY_ORDER, &err);
    snprintf(tmp, sizeof tmp, "%d properties in any order", SMOL_SCHEMA_ANY_ORDER_MAX + 1);
    CHECK(!g && err.code == SMOL_EUNSUPPORTED && strstr(err.msg, "'properties' at /properties/o") && strstr(err.msg, tmp),
          "strict: %s", g ? "compiled" : err.msg);
    free(g);
    smol_schema_options o = smol_schema_default_options();
    warns w = {0};
    o.flags = SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_LENIENT;
    o.warn = on_warn;
    o.warn_ctx = &w;
    g = NULL;
    CHECK(smol_schema_to_gbnf_ex(b.p, b.n, &o, &g, &err) == 0, "lenient: %s", err.msg);
    CHECK(w.n == 1 && strstr(w.last, "'properties' at /properties/o"), "warning: %d %s", w.n, w.last);
    smol_grammar *gr = NULL;
    if (g && smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0) {
        CHECK(engine_accepts(gr, "{\"o\": {\"p0\": 1, \"p1\": 2}}") == 1, "schema order accepted");
        CHECK(engine_accepts(gr, "{\"o\": {\"p1\": 1, \"p0\": 2}}") == 0, "another order rejected in lenient mode");
        smol_grammar_free(gr);
    }
    free(g);
    /* at the limit it compiles */
    b.n = 0;
    puts_(&b, "{\"properties\":{");
    for (int i = 0; i < SMOL_SCHEMA_ANY_ORDER_MAX; i++) {
        snprintf(tmp, sizeof tmp, "%s\"p%d\":{}", i ? "," : "", i);
        puts_(&b, tmp);
    }
    puts_(&b, "},\"required\":[\"p9\"]}");
    expect(b.p, SMOL_SCHEMA_ANY_ORDER, (const char *const[]){"{\"p9\": 1, \"p3\": 2, \"p0\": 3}", "{\"p3\": 2, \"p0\": 3}", "{\"p9\": 1, \"p9\": 1}"},
           (const int[]){1, 0, 0}, 3);
    free(b.p);
}

/* SMOL_SCHEMA_FORMAT_ANNOTATION: format constrains nothing (as the validator's default);
 * without it formats are enforced. */
static void test_format_annotation(void) {
    const char *s = "{\"type\":\"string\",\"format\":\"email\"}";
    expect(s, 0, (const char *const[]){"\"a@b.c\"", "\"2962\""}, (const int[]){1, 0}, 2);
    expect(s, SMOL_SCHEMA_FORMAT_ANNOTATION, (const char *const[]){"\"a@b.c\"", "\"2962\"", "3"}, (const int[]){1, 1, 0}, 3);
    /* unknown formats compile; format beside pattern and lengths; a negated format is no constraint */
    expect("{\"format\":\"idn-email\",\"maxLength\":2}", SMOL_SCHEMA_FORMAT_ANNOTATION,
           (const char *const[]){"\"ab\"", "\"abc\"", "7"}, (const int[]){1, 0, 1}, 3);
    expect("{\"format\":\"date\",\"pattern\":\"^x\"}", SMOL_SCHEMA_FORMAT_ANNOTATION,
           (const char *const[]){"\"xyz\"", "\"2024-01-01\""}, (const int[]){1, 0}, 2);
    expect("{\"type\":[\"string\",\"integer\"],\"not\":{\"format\":\"date\",\"type\":\"string\"}}", SMOL_SCHEMA_FORMAT_ANNOTATION,
           (const char *const[]){"\"2024-01-01\"", "\"x\"", "3"}, (const int[]){0, 0, 1}, 3);
    smol_error err;
    char *g = compile("{\"format\":\"idn-email\"}", 0, &err);
    CHECK(!g && strstr(err.msg, "unknown format 'idn-email'"), "enforced: %s", g ? "compiled" : err.msg);
    free(g);
}

static void test_unsupported_and_lenient(void) {
    const char *s = "{\"type\":\"object\",\"properties\":{\"tags\":{\"type\":\"array\",\"uniqueItems\":true}}}";
    smol_error err;
    char *g = compile(s, 0, &err);
    CHECK(!g && err.code == SMOL_EUNSUPPORTED && strstr(err.msg, "unsupported keyword 'uniqueItems' at /properties/tags"),
          "strict: %s", g ? g : err.msg);
    free(g);
    smol_schema_options o = smol_schema_default_options();
    warns w = {0};
    o.flags = SMOL_SCHEMA_LENIENT;
    o.warn = on_warn;
    o.warn_ctx = &w;
    g = NULL;
    CHECK(smol_schema_to_gbnf_ex(s, strlen(s), &o, &g, &err) == 0, "lenient: %s", err.msg);
    CHECK(w.n == 1 && strstr(w.last, "'uniqueItems' at /properties/tags"), "warning: %d %s", w.n, w.last);
    free(g);
    static const char *const bad[] = {"{\"not\":{\"pattern\":\"^a\"}}", "{\"if\":{\"format\":\"date\"},\"then\":{},\"else\":{\"type\":\"string\"}}",
                                      "{\"type\":\"string\",\"format\":\"color\"}",
                                      "{\"oneOf\":[{\"type\":\"string\"},{\"pattern\":\"a\"}]}",
                                      "{\"type\":\"array\",\"contains\":{\"pattern\":\"a\"},\"maxContains\":2}",
                                      ("{\"anyOf\":[{\"properties\":{\"a\":true}},{\"properties\":{\"b\":true}},{\"properties\":{\"c\":true}},"
                                       "{\"properties\":{\"d\":true}},{\"properties\":{\"e\":true}}],\"unevaluatedProperties\":false}"),
                                      "{\"if\":{\"patternProperties\":{\"a\":true}},\"unevaluatedProperties\":false}",
                                      "{\"if\":{\"contains\":{\"const\":1}},\"then\":{\"minItems\":2},\"unevaluatedItems\":false}"};
    static const char *const kws[] = {"'not'", "'if'", "'format'", "'oneOf'", "'maxContains'",
                                      "'unevaluatedProperties' at /: beside more than 4 anyOf branches", "'if' at /",
                                      "'if' at /: beside unevaluatedProperties/unevaluatedItems (a negation with 'items')"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g = compile(bad[i], 0, &err);
        CHECK(!g && strstr(err.msg, kws[i]), "%s: %s", bad[i], g ? g : err.msg);
        free(g);
    }
    /* oneOf over disjoint types is exact, and compiles */
    expect("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"string\"}]}", 0, (const char *const[]){"1", "\"a\"", "true"},
           (const int[]){1, 1, 0}, 3);
    g = compile("{\"type\":", 0, &err);
    CHECK(!g && err.code == SMOL_EFORMAT, "malformed JSON: %s", err.msg);
    free(g);
    g = compile("{\"const\":\"a\xff\"}", 0, &err);
    CHECK(!g && err.code == SMOL_EFORMAT && strstr(err.msg, "UTF-8"), "invalid UTF-8: %s", g ? g : err.msg);
    free(g);
    g = compile("{\"type\":\"string\",\"maxLength\":5000}", 0, &err);
    CHECK(!g && strstr(err.msg, "'maxLength'"), "huge maxLength: %s", g ? g : err.msg);
    free(g);
    /* lenient: the bound is dropped (any length), and the grammar still compiles */
    expect("{\"type\":\"string\",\"maxLength\":5000}", SMOL_SCHEMA_LENIENT, (const char *const[]){"\"abc\""}, (const int[]){1}, 1);
}

static void test_whitespace_options(void) {
    const char *s = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}},\"required\":[\"a\"],\"additionalProperties\":false}";
    expect(s, 0, (const char *const[]){"{\"a\":[1,2]}", "{\"a\": [1, 2]}", "{\n  \"a\": [\n    1,\n    2\n  ]\n}",
                                 "{\"a\":                 [1]}", "{\"a\":\n\n[1]}"},
           (const int[]){1, 1, 1, 0, 0}, 5);
    expect(s, SMOL_SCHEMA_COMPACT, (const char *const[]){"{\"a\":[1,2]}", "{\"a\": [1, 2]}"}, (const int[]){1, 0}, 2);
    smol_schema_options o = smol_schema_default_options();
    o.max_ws = 20;
    char *g = NULL;
    smol_error err;
    REQUIRE(smol_schema_to_gbnf_ex(s, strlen(s), &o, &g, &err) == 0, "%s", err.msg);
    smol_grammar *gr;
    REQUIRE(smol_grammar_from_gbnf(g, strlen(g), "root", &gr, &err) == 0, "%s", err.msg);
    CHECK(engine_accepts(gr, "{\"a\":                 [1]}") == 1, "max_ws 20");
    smol_grammar_free(gr);
    free(g);
}

static void test_example_schema(void) {
    char *text;
    size_t n;
    REQUIRE(smol_read_file("docs/examples/github-issue.schema.json", &text, &n, NULL) == 0, "docs/examples/github-issue.schema.json");
    char *g = NULL;
    smol_error err;
    CHECK(smol_schema_to_gbnf(text, n, 0, &g, &err) == 0, "%s", err.msg);
    free(g);
    free(text);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--report") == 0) {
        unsigned flags = argc > 2 && strcmp(argv[argc - 1], "--any-order") == 0 ? SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_FORMAT_ANNOTATION : 0;
        run_suite(argc > 2 + !!flags ? 2 : 1, flags);
        return check_done();
    }
    RUN(test_suite_schemas);
    RUN(test_suite_any_order);
    RUN(test_suite_with_tokenizers);
    RUN(test_suite_any_order_with_tokenizers);
    RUN(test_integer_ranges);
    RUN(test_number_bounds);
    RUN(test_decimal_bounds);
    RUN(test_multiple_of);
    RUN(test_keys_vs_validator);
    RUN(test_formats_match_validator);
    RUN(test_strings);
    RUN(test_objects);
    RUN(test_arrays);
    RUN(test_property_counts);
    RUN(test_negation_vs_validator);
    RUN(test_unevaluated_vs_validator);
    RUN(test_nothing_valid);
    RUN(test_refs_and_recursion);
    RUN(test_unsupported_and_lenient);
    RUN(test_any_order_vs_validator);
    RUN(test_any_order_limit);
    RUN(test_format_annotation);
    RUN(test_whitespace_options);
    RUN(test_example_schema);
    return check_done();
}
