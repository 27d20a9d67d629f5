/* test_words.c: the text scans of src/data/words.c along both paths (plain C and SSE2) on random
 * texts mixing ASCII words, UTF-8 letters, punctuation, quotes, long words, numbers and runs of
 * newlines: word lists, line lists and counts must be identical, and the ellipsis count must equal
 * a byte-by-byte statement of str.count("...") plus U+2026. Each text sits in a buffer of exactly
 * its size, so the ASan build catches a scan that reads past the end. */
#include "check.h"
#include "data/words.h"
#include <stdlib.h>
#include <string.h>

static unsigned next_rand(unsigned *seed) { return (*seed = *seed * 1103515245u + 12345u) >> 16; }

/* A random text of about want bytes (at most cap) from pieces chosen to reach every branch of the
 * splitter and the scans; returns its length. */
static size_t random_text(char *text, size_t cap, size_t want, unsigned *seed) {
    static const char *const pieces[] = {
        "the", "Word", "a", " ", " ", " ", "  ", "\t", "\n", "\n\n", "\n\n\n\n", "\r\n", ".", ",", ";", ":", "!", "?",
        "\"", "'", "(", ")", "[", "]", "--", "-", "...", "..", "....", "\xE2\x80\xA6", "can't", "I'm", "they'll",
        "Dr.", "U.S.", "3.14", "1,000", "42.", "e.g.", "http://example.com/a?b=c", "#tag", "@user", "&", "$5",
        "\xC3\xA9t\xC3\xA9", "\xE4\xB8\xAD\xE6\x96\x87", "\xF0\x9F\x98\x80", "\xC2\xA0", "\xE3\x80\x80",
        "\xE2\x80\x9C", "\xE2\x80\x9D", "\xE2\x80\xA8", "\xC2\x85", "\x0b", "\x1c", "\x01", "\xC3",
        "Supercalifragilisticexpialidocious", "antidisestablishmentarianism,", "abcdefghijklmnopqrstuvwxyz0123456789.",
        "Mr.", "etc.", "U.K.!", "''", "``", "won't.", "He said \"yes.\"", "(see above).", "x...y", ". . ."};
    size_t n = 0;
    while (n < want) {
        const char *p = pieces[next_rand(seed) % (sizeof pieces / sizeof pieces[0])];
        size_t m = strlen(p);
        if (n + m > cap) break;
        memcpy(text + n, p, m);
        n += m;
    }
    return n;
}

/* str.count("...") (non-overlapping, left to right) plus U+2026, byte by byte. */
static long ellipses_bytewise(const char *t, size_t n) {
    long k = 0;
    for (size_t i = 0; i + 3 <= n;) {
        if (t[i] == '.' && t[i + 1] == '.' && t[i + 2] == '.') {
            k++;
            i += 3;
        } else {
            i++;
        }
    }
    for (size_t i = 0; i + 3 <= n; i++)
        if ((unsigned char)t[i] == 0xE2 && (unsigned char)t[i + 1] == 0x80 && (unsigned char)t[i + 2] == 0xA6) k++;
    return k;
}

/* Index of the first span where a and b differ, or -1 if the lists are equal. */
static long first_difference(const smol_spans *a, const smol_spans *b) {
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++)
        if (a->v[i].s != b->v[i].s || a->v[i].len != b->v[i].len || a->v[i].chars != b->v[i].chars) return (long)i;
    return a->n == b->n ? -1 : (long)n;
}

/* SMOL_CPU=scalar (set before the CPU table is first read) selects the plain path. */
static void test_scan_level_follows_smol_cpu(void) {
    setenv("SMOL_CPU", "scalar", 1);
    CHECK(smol_scan_level() == SMOL_SCAN_SCALAR, "SMOL_CPU=scalar: scan level %d, want %d", smol_scan_level(),
          SMOL_SCAN_SCALAR);
#if !defined(__SSE2__)
    printf("note: this build has no SSE2, both paths run the plain C scans\n");
#endif
}

/* The word splitter, line splitter and every count along both paths on 4000 random texts. */
static void test_paths_agree(void) {
    static const char *const phrases[] = {"lorem ipsum", "javascript", "polic", "cookie", "terms of use"};
    enum { CAP = 600 };
    char tmp[CAP];
    unsigned seed = 20261127;
    smol_spans wa = {0}, wb = {0}, la = {0}, lb = {0};
    int bad = 0;
    size_t words = 0;
    for (int iter = 0; iter < 4000 && bad < 3; iter++) {
        size_t n = random_text(tmp, CAP, next_rand(&seed) % CAP, &seed);
        char *text = malloc(n ? n : 1);   /* exactly n bytes: reads past the text are caught under ASan */
        REQUIRE(text, "out of memory");
        memcpy(text, tmp, n);
        REQUIRE(smol_word_tokenize_at(text, n, &wa, SMOL_SCAN_SCALAR) == 0, "tokenize failed");
        REQUIRE(smol_word_tokenize_at(text, n, &wb, SMOL_SCAN_SSE2) == 0, "tokenize failed");
        words += wa.n;
        long d = first_difference(&wa, &wb);
        if (d >= 0) {
            bad++;
            CHECK(0, "text %d (%zu bytes): word %ld differs: scalar '%.*s' (%zu words), sse2 '%.*s' (%zu words)", iter, n, d,
                  (size_t)d < wa.n ? (int)wa.v[d].len : 0, (size_t)d < wa.n ? wa.v[d].s : "", wa.n,
                  (size_t)d < wb.n ? (int)wb.v[d].len : 0, (size_t)d < wb.n ? wb.v[d].s : "", wb.n);
        }
        REQUIRE(smol_splitlines_at(text, n, &la, SMOL_SCAN_SCALAR) == 0 && smol_splitlines_at(text, n, &lb, SMOL_SCAN_SSE2) == 0,
                "splitlines failed");
        if ((d = first_difference(&la, &lb)) >= 0) {
            bad++;
            CHECK(0, "text %d (%zu bytes): line %ld differs (%zu and %zu lines)", iter, n, d, la.n, lb.n);
        }
        size_t ca = smol_utf8_chars_at(text, n, SMOL_SCAN_SCALAR), cb = smol_utf8_chars_at(text, n, SMOL_SCAN_SSE2);
        int sa = smol_count_sentences_at(text, n, SMOL_SCAN_SCALAR), sb = smol_count_sentences_at(text, n, SMOL_SCAN_SSE2);
        long ea = smol_count_ellipses_at(text, n, SMOL_SCAN_SCALAR), eb = smol_count_ellipses_at(text, n, SMOL_SCAN_SSE2),
             ew = ellipses_bytewise(text, n);
        size_t fa = smol_word_count_floor_at(text, n, SMOL_SCAN_SCALAR), fb = smol_word_count_floor_at(text, n, SMOL_SCAN_SSE2);
        unsigned pa = smol_ascii_phrases_at(text, n, phrases, 5, SMOL_SCAN_SCALAR),
                 pb = smol_ascii_phrases_at(text, n, phrases, 5, SMOL_SCAN_SSE2);
        int upto_bad = -1;   /* the first `most` for which the capped count is not min(sentences, most) */
        for (int most = 0; most <= sa + 1 && upto_bad < 0; most++)
            if (smol_count_sentences_upto_at(text, n, most, SMOL_SCAN_SCALAR) != (sa < most ? sa : most) ||
                smol_count_sentences_upto_at(text, n, most, SMOL_SCAN_SSE2) != (sa < most ? sa : most))
                upto_bad = most;
        CHECK(upto_bad < 0, "text %d (%zu bytes): sentences up to %d differ from min(%d, %d)", iter, n, upto_bad, sa, upto_bad);
        bad += upto_bad >= 0;
        if (ca != cb || sa != sb || ea != eb || ea != ew || fa != fb || fa > wa.n || pa != pb) {
            bad++;
            CHECK(0,
                  "text %d (%zu bytes): scalar / sse2: code points %zu / %zu, sentences %d / %d, ellipses %ld / %ld "
                  "(byte by byte %ld), word floor %zu / %zu (words %zu), phrases %#x / %#x",
                  iter, n, ca, cb, sa, sb, ea, eb, ew, fa, fb, wa.n, pa, pb);
        }
        free(text);
    }
    CHECK(words > 100000, "only %zu words in the random texts", words);
    smol_spans_free(&wa);
    smol_spans_free(&wb);
    smol_spans_free(&la);
    smol_spans_free(&lb);
}

/* Plain words at every length from 1 to 40 and every offset of the sixteen-byte blocks, with
 * each final mark: the SSE2 plain-run scan stops where the byte loop does. */
static void test_plain_runs_every_offset(void) {
    static const char marks[] = " .,;:!?'\"-(\xC3";
    char text[128];
    smol_spans a = {0}, b = {0};
    int bad = 0;
    for (size_t off = 0; off < 16 && bad < 3; off++)
        for (size_t len = 1; len <= 40 && bad < 3; len++)
            for (size_t m = 0; m < sizeof marks - 1 && bad < 3; m++) {
                size_t n = 0;
                for (size_t i = 0; i < off; i++) text[n++] = i % 2 ? ' ' : 'x';
                for (size_t i = 0; i < len; i++) text[n++] = (char)("aZ09qM"[i % 6]);
                text[n++] = marks[m];
                memcpy(text + n, " next Word", 10);
                n += 10;
                REQUIRE(smol_word_tokenize_at(text, n, &a, SMOL_SCAN_SCALAR) == 0, "tokenize failed");
                REQUIRE(smol_word_tokenize_at(text, n, &b, SMOL_SCAN_SSE2) == 0, "tokenize failed");
                long d = first_difference(&a, &b);
                if (d >= 0) {
                    bad++;
                    CHECK(0, "offset %zu, word of %zu bytes, mark %#x: word %ld differs", off, len, (unsigned char)marks[m], d);
                }
            }
    smol_spans_free(&a);
    smol_spans_free(&b);
}

/* gopher_quality's word counts from the definitions: code points decoded one by one through
 * smol_cp_is_alpha / smol_cp_is_punct, stop words by string compare. A token with as many code
 * points as bytes is taken byte by byte, and a byte above 127 in it (invalid UTF-8) counts as
 * neither a letter nor outside PUNCTUATION, as the filter always has. */
static void word_stats_oracle(const smol_spans *w, smol_word_stats *q) {
    static const char *const stops[] = {"to", "of", "be", "the", "and", "that", "have", "with"};
    memset(q, 0, sizeof *q);
    for (size_t i = 0; i < w->n; i++) {
        const smol_span *x = &w->v[i];
        int alpha = 0, other = 0;
        for (size_t k = 0; k < x->len;) {
            uint32_t cp = x->chars == x->len ? (unsigned char)x->s[k++] : smol_utf8_next(x->s, x->len, &k);
            if (x->chars == x->len && cp >= 0x80) continue;
            alpha |= smol_cp_is_alpha(cp) != 0;
            other |= smol_cp_is_punct(cp) == 0;
        }
        q->alpha += alpha;
        q->sym_free += other;
        q->chars += other ? smol_utf8_chars_at(x->s, x->len, SMOL_SCAN_SCALAR) : 0;
        for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++)
            q->stops += strlen(stops[k]) == x->len && !memcmp(stops[k], x->s, x->len);
    }
}

/* smol_word_stats_at along both paths against the oracle: on the tokens of random texts, and on
 * one-byte tokens of every ASCII byte (the byte table against the predicates). */
static void test_word_stats(void) {
    enum { CAP = 600 };
    char tmp[CAP], bytes[128 + 16];
    unsigned seed = 99;
    smol_spans w = {0};
    int bad = 0;
    for (int iter = 0; iter < 3000 && bad < 3; iter++) {
        size_t n = random_text(tmp, CAP, next_rand(&seed) % CAP, &seed);
        char *text = malloc(n ? n : 1);
        REQUIRE(text, "out of memory");
        memcpy(text, tmp, n);
        REQUIRE(smol_word_tokenize_at(text, n, &w, SMOL_SCAN_SCALAR) == 0, "tokenize failed");
        smol_word_stats want, a, b;
        word_stats_oracle(&w, &want);
        smol_word_stats_at(&w, text, n, SMOL_SCAN_SCALAR, &a);
        smol_word_stats_at(&w, text, n, SMOL_SCAN_SSE2, &b);
        if (memcmp(&a, &want, sizeof a) || memcmp(&b, &want, sizeof b)) {
            bad++;
            CHECK(0, "text %d (%zu bytes, %zu words): sym_free/alpha/stops/chars want %ld/%ld/%ld/%llu, scalar %ld/%ld/%ld/%llu, "
                  "sse2 %ld/%ld/%ld/%llu", iter, n, w.n, want.sym_free, want.alpha, want.stops, (unsigned long long)want.chars,
                  a.sym_free, a.alpha, a.stops, (unsigned long long)a.chars, b.sym_free, b.alpha, b.stops,
                  (unsigned long long)b.chars);
        }
        free(text);
    }
    smol_spans one = {0};
    one.v = calloc(128, sizeof *one.v);
    REQUIRE(one.v, "out of memory");
    for (int c = 0; c < 128; c++) {
        bytes[c] = (char)c;
        one.v[one.n++] = (smol_span){bytes + c, 1, 1};
    }
    memset(bytes + 128, 'x', 16);
    for (int level = SMOL_SCAN_SCALAR; level <= SMOL_SCAN_SSE2; level++)
        for (int c = 0; c < 128; c++) {
            smol_spans single = {one.v + c, 1, 1};
            smol_word_stats want, got;
            word_stats_oracle(&single, &want);
            smol_word_stats_at(&single, bytes, sizeof bytes, level, &got);
            CHECK(!memcmp(&got, &want, sizeof got), "byte %#x (path %d): alpha %ld sym_free %ld, want %ld %ld", c, level, got.alpha,
                  got.sym_free, want.alpha, want.sym_free);
        }
    free(one.v);
    smol_spans_free(&w);
}

/* Stop words (looked up by one compare in a slot picked from the word's first bytes and length)
 * against the oracle on both paths: every lowercase word of 2 and 3 letters, the 4-letter words
 * over "aehitvw" (all of "that", "have", "with" and their one-letter changes), each stop word
 * capitalized, with a letter or a NUL byte more, and cut short. */
static void test_stop_words(void) {
    static const char *const stops[] = {"to", "of", "be", "the", "and", "that", "have", "with"};
    char words[32768][8];
    size_t nw = 0;
    for (int a = 0; a < 26; a++)
        for (int b = 0; b < 26; b++) {
            snprintf(words[nw++], 8, "%c%c", 'a' + a, 'a' + b);
            for (int c = 0; c < 26; c++) snprintf(words[nw++], 8, "%c%c%c", 'a' + a, 'a' + b, 'a' + c);
        }
    static const char four[] = "aehitvw";
    for (int k = 0; k < 7 * 7 * 7 * 7; k++)
        snprintf(words[nw++], 8, "%c%c%c%c", four[k % 7], four[k / 7 % 7], four[k / 49 % 7], four[k / 343]);
    for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {
        snprintf(words[nw], 8, "%s", stops[k]);
        words[nw++][0] -= 32;
        snprintf(words[nw++], 8, "%ss", stops[k]);
        snprintf(words[nw++], 8, "%.*s", (int)strlen(stops[k]) - 1, stops[k]);
    }
    size_t lens[32768 + 8];
    for (size_t k = 0; k < nw; k++) lens[k] = strlen(words[k]);
    for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {   /* "the\0": four bytes, one of them NUL */
        memcpy(words[nw], stops[k], strlen(stops[k]) + 1);
        lens[nw++] = strlen(stops[k]) + 1;
    }
    char *text = calloc(nw * 8 + 16, 1);
    smol_spans w = {0};
    w.v = calloc(nw, sizeof *w.v);
    REQUIRE(text && w.v, "out of memory");
    for (size_t k = 0; k < nw; k++) {
        memcpy(text + 8 * k, words[k], lens[k]);
        w.v[w.n++] = (smol_span){text + 8 * k, (uint32_t)lens[k], (uint32_t)lens[k]};
    }
    int bad = 0;
    for (size_t k = 0; k < nw && bad < 3; k++)
        for (int level = SMOL_SCAN_SCALAR; level <= SMOL_SCAN_SSE2; level++) {
            smol_spans one = {w.v + k, 1, 1};
            smol_word_stats want, got;
            word_stats_oracle(&one, &want);
            smol_word_stats_at(&one, text, nw * 8 + 16, level, &got);
            if (got.stops != want.stops) {
                bad++;
                CHECK(0, "word \"%.*s\" (%zu bytes, path %d): stop %ld, want %ld", (int)lens[k], words[k], lens[k], level,
                      got.stops, want.stops);
            }
        }
    smol_word_stats all;
    smol_word_stats_at(&w, text, nw * 8 + 16, SMOL_SCAN_SSE2, &all);
    CHECK(all.stops == 8, "%ld stop words among the %zu words, want 8", all.stops, nw);
    free(w.v);
    free(text);
}

int main(void) {
    RUN(test_scan_level_follows_smol_cpu);
    RUN(test_paths_agree);
    RUN(test_plain_runs_every_offset);
    RUN(test_word_stats);
    RUN(test_stop_words);
    return check_done();
}
