/* test_pretok.c: the pre-tokenizers against Python's `regex` module running each family's exact
 * pattern strings (tests/ref/pretok_ref.py writes the expected splits of ~4,000 texts at test
 * time), the Unicode classes against the same module over every code point, invalid UTF-8, and
 * the family names; and ollama's Llama-3 split vectors. SMOL_PRETOK_BENCH=1 also prints MB/s per family on War and Peace. */
#include "check.h"
#include "tok/pretok.h"
#include "tok/unicode.h"
#include <stdint.h>
#include <time.h>
#include <cjson/cJSON.h>

static const char *k_kind_names[SMOL_PRETOK_COUNT] = {
    "none", "gpt-2", "llama-bpe", "qwen2", "smollm", "deepseek-llm", "deepseek-coder", "falcon", "starcoder", "mpt",
};

/* ---------------------------------------------------------------- helpers */

typedef struct pieces { size_t *len; size_t n, cap; size_t stop_after; } pieces;

static int collect(void *ctx, size_t start, size_t len) {
    pieces *p = ctx;
    (void)start;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->len = realloc(p->len, p->cap * sizeof *p->len);
        if (!p->len) abort();
    }
    p->len[p->n++] = len;
    return p->stop_after && p->n == p->stop_after ? 7 : 0;
}

static void split(smol_pretok_kind kind, const char *text, size_t n, pieces *out) {
    out->n = 0;
    smol_pretok_split(kind, text, n, collect, out);
}

/* Prints text with non-printable bytes escaped, at most 160 bytes. */
static void print_text(const char *label, const char *s, size_t n) {
    fprintf(stderr, "%s \"", label);
    for (size_t i = 0; i < n && i < 160; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", stderr);
        else if (c == '\r') fputs("\\r", stderr);
        else if (c == '\t') fputs("\\t", stderr);
        else if (c < 0x20 || c == 0x7f) fprintf(stderr, "\\x%02x", c);
        else fputc(c, stderr);
    }
    fprintf(stderr, "\"%s\n", n > 160 ? "..." : "");
}

static void print_pieces(const char *label, const char *s, const size_t *len, size_t n) {
    fprintf(stderr, "  %s (%zu pieces):", label, n);
    size_t off = 0;
    for (size_t i = 0; i < n && i < 40; i++) {
        fputs(" [", stderr);
        for (size_t j = 0; j < len[i]; j++) {
            unsigned char c = (unsigned char)s[off + j];
            if (c == '\n') fputs("\\n", stderr);
            else if (c == '\r') fputs("\\r", stderr);
            else if (c < 0x20) fprintf(stderr, "\\x%02x", c);
            else fputc(c, stderr);
        }
        fputc(']', stderr);
        off += len[i];
    }
    fputc('\n', stderr);
}

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

/* ---------------------------------------------------------------- the oracle file */

typedef struct oracle { char *buf; size_t size; } oracle;
static oracle g_oracle;  /* written once by load_oracle, read by the tests */

static void load_oracle(void) {
    const char *out = test_tmp("pretok.txt");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/pretok_ref.py '%s' '%s'", test_data("."), out);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "pretok_ref.py failed (exit %d): it needs /usr/bin/python3 with the regex module "
                        "(apt-get install python3-regex)\n", rc);
        return;
    }
    FILE *f = fopen(out, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    g_oracle.buf = malloc((size_t)n + 1);
    if (g_oracle.buf && fread(g_oracle.buf, 1, (size_t)n, f) == (size_t)n) {
        g_oracle.buf[n] = 0;
        g_oracle.size = (size_t)n;
    }
    fclose(f);
    remove(out);
}

/* ---------------------------------------------------------------- tests */

static void test_classes_match_regex_module(void) {
    REQUIRE(g_oracle.buf, "no expected output from tests/ref/pretok_ref.py");
    const struct { char name; unsigned bit; } classes[] = {
        { 'L', SMOL_UC_LETTER }, { 'N', SMOL_UC_NUMBER }, { 'S', SMOL_UC_SPACE }, { 'P', SMOL_UC_PUNCT },
    };
    for (size_t k = 0; k < 4; k++) {
        char key[5] = { 'C', ' ', classes[k].name, ' ', 0 };
        char *line = strstr(g_oracle.buf, key);
        REQUIRE(line, "no class %c in the oracle output", classes[k].name);
        char *p = line + 4;
        int32_t next = 0;  /* code points below next are checked */
        size_t mismatches = 0;
        while (*p && *p != '\n') {
            long lo = strtol(p, &p, 16), hi = strtol(p + 1, &p, 16);
            for (int32_t cp = next; cp <= (int32_t)hi; cp++) {
                if (cp >= 0xD800 && cp <= 0xDFFF) continue;
                int want = cp >= lo, got = (smol_uc_class(cp) & classes[k].bit) != 0;
                if (want != got && mismatches++ == 0)
                    CHECK(want == got, "\\p{%c}: U+%04X is %s for the regex module but %s here", classes[k].name,
                          (unsigned)cp, want ? "in" : "out", got ? "in" : "out");
            }
            next = (int32_t)hi + 1;
            while (*p == ' ') p++;
        }
        for (int32_t cp = next; cp <= 0x10FFFF; cp++) {
            if ((smol_uc_class(cp) & classes[k].bit) && !(cp >= 0xD800 && cp <= 0xDFFF) && mismatches++ == 0)
                CHECK(0, "\\p{%c}: U+%04X is out for the regex module but in here", classes[k].name, (unsigned)cp);
        }
        CHECK(mismatches == 0, "\\p{%c}: %zu code points differ", classes[k].name, mismatches);
    }
}

static void test_splits_match_regex_module(void) {
    REQUIRE(g_oracle.buf, "no expected output from tests/ref/pretok_ref.py");
    char *text = malloc(g_oracle.size / 2 + 1);
    size_t *want = malloc(g_oracle.size * sizeof *want / 2 + 8);
    REQUIRE(text && want, "out of memory");
    pieces got = { 0 };
    size_t n_text = 0, n_cmp[SMOL_PRETOK_COUNT] = { 0 }, n_bad[SMOL_PRETOK_COUNT] = { 0 };
    size_t text_len = 0;
    for (char *line = g_oracle.buf; *line; ) {
        char *eol = strchr(line, '\n');
        if (!eol) eol = line + strlen(line);
        if (line[0] == 'T') {
            text_len = 0;
            for (char *h = line + 2; h + 1 < eol; h += 2) text[text_len++] = (char)(hexval(h[0]) * 16 + hexval(h[1]));
            n_text++;
        } else if (line[0] == 'K') {
            char *p = line + 2;
            long kind = strtol(p, &p, 10);
            size_t n_want = 0;
            while (p < eol) want[n_want++] = (size_t)strtoul(p + 1, &p, 10);
            if (kind <= 0 || kind >= SMOL_PRETOK_COUNT) { CHECK(0, "bad kind %ld in oracle", kind); break; }
            split((smol_pretok_kind)kind, text, text_len, &got);
            n_cmp[kind]++;
            int same = got.n == n_want;
            for (size_t i = 0; same && i < n_want; i++) same = got.len[i] == want[i];
            if (!same && n_bad[kind]++ == 0) {
                CHECK(same, "%s: the split differs from the regex module", k_kind_names[kind]);
                print_text("  input", text, text_len);
                size_t i = 0;
                while (i < got.n && i < n_want && got.len[i] == want[i]) i++;
                fprintf(stderr, "  first difference at piece %zu\n", i);
                print_pieces("expected", text, want, n_want);
                print_pieces("got     ", text, got.len, got.n);
            }
        }
        line = *eol ? eol + 1 : eol;
    }
    for (int k = 1; k < SMOL_PRETOK_COUNT; k++) {
        CHECK(n_cmp[k] == n_text && n_text > 1000, "%s: %zu texts compared of %zu", k_kind_names[k], n_cmp[k], n_text);
        CHECK(n_bad[k] == 0, "%s: %zu of %zu texts split differently", k_kind_names[k], n_bad[k], n_cmp[k]);
    }
    printf("# %zu texts compared for %d families\n", n_text, SMOL_PRETOK_COUNT - 1);
    free(got.len);
    free(text);
    free(want);
}

static void test_decode(void) {
    const struct { const char *s; size_t n, len; int32_t cp; } cases[] = {
        { "a", 1, 1, 'a' }, { "\xc3\xa9", 2, 2, 0xE9 }, { "\xe4\xb8\xad", 3, 3, 0x4E2D },
        { "\xf0\x9f\x98\x80", 4, 4, 0x1F600 }, { "\xf4\x8f\xbf\xbf", 4, 4, 0x10FFFF },
        { "\x80", 1, 1, -1 }, { "\xff", 1, 1, -1 }, { "\xc0\xaf", 2, 1, -1 }, { "\xc1\xbf", 2, 1, -1 },
        { "\xe0\x80\xaf", 3, 1, -1 }, { "\xed\xa0\x80", 3, 1, -1 }, { "\xf4\x90\x80\x80", 4, 1, -1 },
        { "\xf0\x8f\xbf\xbf", 4, 1, -1 }, { "\xe4\xb8", 2, 1, -1 }, { "\xe4\xb8\xad", 2, 1, -1 },
        { "\xe4" "a\xad", 3, 1, -1 }, { "\xf5\x80\x80\x80", 4, 1, -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t cp;
        size_t len = smol_uc_decode((const unsigned char *)cases[i].s, cases[i].n, &cp);
        CHECK(len == cases[i].len && cp == cases[i].cp, "case %zu: got len %zu cp %d, want len %zu cp %d",
              i, len, (int)cp, cases[i].len, (int)cases[i].cp);
    }
}

/* Invalid bytes split as U+E000 (a private-use character: not a letter, number, space or
 * punctuation) does, character for character, in every family. */
static void test_invalid_bytes_split_like_private_use(void) {
    static const char *frags[] = {
        "Hello", " world", "'s", "'LL", "123", "4", "  ", " ", "\n", "\r\n", "\t", "\xc3\xa9t\xc3\xa9",
        "\xe4\xb8\xad\xe6\x96\x87", "!!", "(", "\xd9\xa1\xd9\xa2", "\xc2\xa0", "\xe3\x80\x80", "x",
        "\xff", "\x80", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xfe", "\xf0\x9f\x98",
    };
    const size_t n_frags = sizeof frags / sizeof frags[0];
    uint64_t rng = 42;
    char a[512], b[2048];
    pieces pa = { 0 }, pb = { 0 };
    size_t bad = 0;
    for (int iter = 0; iter < 3000 && !bad; iter++) {
        size_t na = 0;
        int nf = 1 + (int)((rng >> 33) % 12);
        for (int f = 0; f < nf; f++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *s = frags[(rng >> 33) % n_frags];
            size_t l = strlen(s);
            memcpy(a + na, s, l);
            na += l;
        }
        /* b: a with each invalid byte replaced by U+E000; cb/ca: character counts per byte */
        size_t nb = 0;
        for (size_t i = 0; i < na;) {
            int32_t cp;
            size_t l = smol_uc_decode((const unsigned char *)a + i, na - i, &cp);
            if (cp == SMOL_UC_INVALID) { memcpy(b + nb, "\xee\x80\x80", 3); nb += 3; }
            else { memcpy(b + nb, a + i, l); nb += l; }
            i += l;
        }
        for (int kind = 0; kind < SMOL_PRETOK_COUNT && !bad; kind++) {
            split((smol_pretok_kind)kind, a, na, &pa);
            split((smol_pretok_kind)kind, b, nb, &pb);
            int same = pa.n == pb.n;
            size_t oa = 0, ob = 0, total = 0;
            for (size_t i = 0; same && i < pa.n; i++) {
                size_t ca = 0, cb = 0;
                for (size_t e = oa + pa.len[i]; oa < e; ca++) { int32_t cp; oa += smol_uc_decode((const unsigned char *)a + oa, na - oa, &cp); }
                for (size_t e = ob + pb.len[i]; ob < e; cb++) { int32_t cp; ob += smol_uc_decode((const unsigned char *)b + ob, nb - ob, &cp); }
                same = ca == cb && ca > 0 && oa == total + pa.len[i];
                total += pa.len[i];
            }
            same = same && total == na;
            if (!same) {
                bad++;
                CHECK(same, "%s: invalid bytes split differently from U+E000", k_kind_names[kind]);
                print_text("  input", a, na);
                print_pieces("with invalid bytes", a, pa.len, pa.n);
                print_pieces("with U+E000       ", b, pb.len, pb.n);
            }
        }
    }
    free(pa.len);
    free(pb.len);
}

static void test_callback_stops_the_split(void) {
    const char *text = "Hello world 123 foo\nbar";
    for (int kind = 0; kind < SMOL_PRETOK_COUNT; kind++) {
        pieces p = { .stop_after = 2 };
        int rc = smol_pretok_split((smol_pretok_kind)kind, text, strlen(text), collect, &p);
        if (kind == SMOL_PRETOK_NONE) CHECK(rc == 0 && p.n == 1 && p.len[0] == strlen(text), "none: rc %d n %zu", rc, p.n);
        else CHECK(rc == 7 && p.n == 2, "%s: rc %d after %zu pieces, want 7 after 2", k_kind_names[kind], rc, p.n);
        p.n = 0;
        rc = smol_pretok_split((smol_pretok_kind)kind, "", 0, collect, &p);
        CHECK(rc == 0 && p.n == 0, "%s: empty text gave %zu pieces", k_kind_names[kind], p.n);
        free(p.len);
    }
}

static void test_names(void) {
    for (int kind = 0; kind < SMOL_PRETOK_COUNT; kind++) {
        const char *name = smol_pretok_name((smol_pretok_kind)kind);
        CHECK(strcmp(name, k_kind_names[kind]) == 0, "kind %d is named %s, want %s", kind, name, k_kind_names[kind]);
        CHECK(smol_pretok_from_name(name) == kind, "%s maps to %d, want %d", name, smol_pretok_from_name(name), kind);
    }
    const struct { const char *name; int kind; } aliases[] = {
        { "default", SMOL_PRETOK_GPT2 }, { "phi-2", SMOL_PRETOK_GPT2 }, { "olmo", SMOL_PRETOK_GPT2 },
        { "llama3", SMOL_PRETOK_LLAMA3 }, { "llama-v3", SMOL_PRETOK_LLAMA3 }, { "dbrx", SMOL_PRETOK_LLAMA3 },
        { "smaug-bpe", SMOL_PRETOK_LLAMA3 }, { "deepseek-r1-qwen", SMOL_PRETOK_QWEN2 },
        { "stablelm2", SMOL_PRETOK_QWEN2 }, { "refact", SMOL_PRETOK_STARCODER }, { "command-r", SMOL_PRETOK_STARCODER },
        { "gpt-neox", SMOL_PRETOK_MPT }, { "Llama3", -1 }, { "", -1 }, { "unknown-pre", -1 }, { NULL, -1 },
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        CHECK(smol_pretok_from_name(aliases[i].name) == aliases[i].kind, "'%s' maps to %d, want %d",
              aliases[i].name ? aliases[i].name : "(null)", smol_pretok_from_name(aliases[i].name), aliases[i].kind);
}

/* The Llama-3 pre-tokenizer splits quoted from ollama's tests in tokenizer_vectors.json. */
static void test_llama3_golden_splits(void) {
    char *json = NULL;
    FILE *f = fopen(test_data("tokenizers/golden/tokenizer_vectors.json"), "rb");
    REQUIRE(f, "cannot open %s", test_data("tokenizers/golden/tokenizer_vectors.json"));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    json = calloc(1, (size_t)n + 1);
    size_t got_n = json ? fread(json, 1, (size_t)n, f) : 0;
    fclose(f);
    cJSON *root = got_n == (size_t)n ? cJSON_Parse(json) : NULL;
    free(json);
    REQUIRE(root, "tokenizer_vectors.json does not parse");
    const cJSON *splits = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "llama3"), "pretokenizer_splits");
    int cases = 0;
    pieces got = { 0 };
    const cJSON *c;
    cJSON_ArrayForEach(c, splits) {
        const char *text = c->string;
        split(SMOL_PRETOK_LLAMA3, text, strlen(text), &got);
        size_t i = 0, off = 0;
        int same = (size_t)cJSON_GetArraySize(c) == got.n;
        const cJSON *w;
        cJSON_ArrayForEach(w, c) {
            if (!same) break;
            same = i < got.n && strlen(w->valuestring) == got.len[i] && memcmp(w->valuestring, text + off, got.len[i]) == 0;
            off += got.len[i++];
        }
        if (!same) {
            CHECK(same, "llama-bpe: ollama's split of this text differs");
            print_text("  input", text, strlen(text));
            print_pieces("got", text, got.len, got.n);
        }
        cases++;
    }
    CHECK(cases >= 7, "only %d split cases in tokenizer_vectors.json", cases);
    free(got.len);
    cJSON_Delete(root);
}

static int count_words(void *ctx, size_t start, size_t len) {
    (void)start;
    (void)len;
    ++*(size_t *)ctx;
    return 0;
}

/* SMOL_PRETOK_BENCH=1: MB/s of each family on War and Peace (one core, CPU time of this thread,
 * best of 5, so that other load on the machine does not count). */
static void bench(void) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = fopen(test_data("corpora/war-and-peace.txt"), "rb");
    if (!f) { fprintf(stderr, "bench: no War and Peace\n"); return; }
    fseek(f, 0, SEEK_END);
    n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n);
    if (!buf || fread(buf, 1, n, f) != n) n = 0;
    fclose(f);
    for (int kind = 1; kind < SMOL_PRETOK_COUNT; kind++) {
        double best = 1e30;
        size_t words = 0;
        for (int rep = 0; rep < 5; rep++) {
            struct timespec t0, t1;
            words = 0;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
            smol_pretok_split((smol_pretok_kind)kind, buf, n, count_words, &words);
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
            double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
            if (s < best) best = s;
        }
        printf("# bench %-15s %8.1f MB/s  %zu words in %zu bytes\n", k_kind_names[kind], (double)n / best / 1e6, words, n);
    }
    free(buf);
}

int main(void) {
    load_oracle();
    RUN(test_classes_match_regex_module);
    RUN(test_splits_match_regex_module);
    RUN(test_decode);
    RUN(test_invalid_bytes_split_like_private_use);
    RUN(test_callback_stops_the_split);
    RUN(test_names);
    RUN(test_llama3_golden_splits);
    free(g_oracle.buf);
    const char *b = getenv("SMOL_PRETOK_BENCH");
    if (b && *b == '1') bench();
    return check_done();
}
