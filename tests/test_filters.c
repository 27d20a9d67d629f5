/* test_filters.c: every datatrove threshold of the filters checked with crafted documents on
 * both sides of it (the expected ratios are computed here from how the documents are built),
 * plus c4 line removal, PII replacement, URL lists, language ID and the word splitter. */
#include "check.h"
#include "data/filters.h"
#include "data/filters_internal.h"
#include "data/words.h"
#include <stdarg.h>

/* ------------------------------------------------------------------ helpers */

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static void sb_reset(sbuf *b) {
    b->n = 0;
    if (b->s) b->s[0] = 0;
}

/* A distinct lowercase word of exactly len letters (len >= 4) for each k. */
static const char *uword(int k, int len) {
    static char buf[8][64];
    static int slot;
    char *w = buf[slot++ & 7];
    for (int i = 0; i < len; i++) w[i] = 'q';
    for (int i = len - 1, x = k; i >= 1 && i >= len - 4; i--, x /= 26) w[i] = (char)('a' + x % 26);
    w[0] = 'z';
    w[len] = 0;
    return w;
}

/* Runs filter `name` (with options) on text: 1 keep / 0 drop; *reason gets the drop reason. */
static int run_filter(const char *name, const char *options, const char *text, const char **reason, char **out_text) {
    smol_filter *f;
    smol_error err = {0};
    if (smol_filter_new(name, options, &f, &err)) {
        fprintf(stderr, "smol_filter_new(%s, %s): %s\n", name, options ? options : "", err.msg);
        return -100;
    }
    smol_doc d;
    smol_doc_from_text(&d, "t", text, strlen(text), NULL);
    *reason = NULL;
    int rc = smol_filter_apply(f, &d, reason);
    if (out_text) *out_text = strdup(d.text);
    smol_doc_free(&d);
    smol_filter_free(f);
    return rc;
}

/* Checks that text is kept (want_reason NULL) or dropped with want_reason; prints what differs. */
static void expect_(const char *name, const char *opts, const char *text, const char *want_reason, const char *what,
                    int line) {
    const char *why;
    int rc = run_filter(name, opts, text, &why, NULL);
    int ok = want_reason ? (rc == 0 && why && !strcmp(why, want_reason)) : rc == 1;
    CHECK(ok, "line %d: %s (%s): expected %s%s, got rc=%d reason=%s", line, name, what, want_reason ? "drop " : "keep",
          want_reason ? want_reason : "", rc, why ? why : "(none)");
}
#define EXPECT(name, opts, text, want_reason, what) expect_(name, opts, text, want_reason, what, __LINE__)

/* n words cycling "the house of the river" (stop words: the, of). */
static void plain_words(sbuf *b, int n) {
    static const char *const k[] = {"the", "house", "of", "the", "river"};
    for (int i = 0; i < n; i++) sb_add(b, "%s%s", i ? " " : "", k[i % 5]);
}

/* ------------------------------------------------------------------ gopher_quality */

static void test_gopher_quality_word_counts(void) {
    sbuf b = {0};
    plain_words(&b, 49);
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_short_doc", "49 words < min_doc_words 50");
    sb_reset(&b);
    plain_words(&b, 50);
    EXPECT("gopher_quality", NULL, b.s, NULL, "50 words = min_doc_words");
    sb_reset(&b);
    plain_words(&b, 60);
    EXPECT("gopher_quality", "max_doc_words=60", b.s, NULL, "60 words = max_doc_words 60");
    sb_reset(&b);
    plain_words(&b, 61);
    EXPECT("gopher_quality", "max_doc_words=60", b.s, "gopher_quality:gopher_long_doc", "61 words > max 60");
    sb_reset(&b);
    plain_words(&b, 100000);
    EXPECT("gopher_quality", NULL, b.s, NULL, "100000 words = default max");
    sb_add(&b, " river");
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_long_doc", "100001 words");
    /* punctuation tokens are not words: 49 words and 10 commas are still too short */
    sb_reset(&b);
    plain_words(&b, 49);
    for (int i = 0; i < 10; i++) sb_add(&b, " ,");
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_short_doc", "49 words + 10 commas");
    free(b.s);
}

static void test_gopher_quality_word_length(void) {
    sbuf b = {0};
    /* 50 three-letter words: mean 3.0 is not below 3 */
    for (int i = 0; i < 50; i++) sb_add(&b, "%s%s", i ? " " : "", i % 2 ? "the" : "and");
    EXPECT("gopher_quality", NULL, b.s, NULL, "mean word length 3.00");
    sb_reset(&b);
    for (int i = 0; i < 50; i++) sb_add(&b, "%s%s", i ? " " : "", i == 7 ? "at" : (i % 2 ? "the" : "and"));
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_below_avg_threshold", "mean 2.98");
    /* 2 stop words + 34 ten-letter + 14 eleven-letter words: (6 + 340 + 154) / 50 = 10.0 */
    for (int extra = 0; extra <= 1; extra++) {
        sb_reset(&b);
        sb_add(&b, "the and");
        for (int i = 0; i < 48; i++) sb_add(&b, " %s", uword(i, i < 34 - extra ? 10 : 11));
        EXPECT("gopher_quality", NULL, b.s, extra ? "gopher_quality:gopher_above_avg_threshold" : NULL,
               extra ? "mean 10.02" : "mean 10.00");
    }
    free(b.s);
}

static void test_gopher_quality_symbols(void) {
    sbuf b = {0};
    /* '#' is a token of its own: k / (50 + k) > 0.1 from k = 6 */
    for (int k = 5; k <= 6; k++) {
        sb_reset(&b);
        plain_words(&b, 50);
        for (int i = 0; i < k; i++) sb_add(&b, " #");
        sb_add(&b, " river");
        char what[64];
        snprintf(what, sizeof what, "%d hashes over %d words", k, 51 + k);
        /* 51 words + k: 5/56 = 0.089 keep, 6/57 = 0.105 drop */
        EXPECT("gopher_quality", NULL, b.s, k == 6 ? "gopher_quality:gopher_too_many_hashes" : NULL, what);
    }
    /* ellipses ("..." and U+2026) inside the line */
    for (int k = 5; k <= 6; k++) {
        sb_reset(&b);
        plain_words(&b, 50);
        for (int i = 0; i < k; i++) sb_add(&b, i % 2 ? " house\xE2\x80\xA6" : " house...");
        sb_add(&b, " river");
        /* words: 51 + k houses + k ellipsis tokens; k / (51 + 2k): 5/61 keep, 6/63 keep */
        EXPECT("gopher_quality", NULL, b.s, NULL, "ellipsis ratio under 0.1");
    }
    sb_reset(&b);
    plain_words(&b, 50);
    for (int i = 0; i < 7; i++) sb_add(&b, " ...");
    sb_add(&b, " river");
    /* 7 / (51 + 7) = 0.1207 */
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_too_many_ellipsis", "7 ellipses / 58 words");
    sb_reset(&b);
    plain_words(&b, 50);
    for (int i = 0; i < 6; i++) sb_add(&b, " ...");
    sb_add(&b, " river");
    /* 6 / 57 = 0.105 */
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_too_many_ellipsis", "6 ellipses / 57 words");
    sb_reset(&b);
    plain_words(&b, 50);
    for (int i = 0; i < 5; i++) sb_add(&b, " ...");
    sb_add(&b, " river");
    EXPECT("gopher_quality", NULL, b.s, NULL, "5 ellipses / 56 words");
    /* "..." counted without overlaps, as str.count: a run of 5 dots is one (two tokens: "..."
     * and ".."), of 6 dots two ("..." twice): 6 / 63 keeps, 6 / 57 drops */
    sb_reset(&b);
    plain_words(&b, 50);
    for (int i = 0; i < 6; i++) sb_add(&b, " .....");
    sb_add(&b, " river");
    EXPECT("gopher_quality", NULL, b.s, NULL, "6 runs of 5 dots: 6 ellipses / 63 words");
    sb_reset(&b);
    plain_words(&b, 50);
    for (int i = 0; i < 3; i++) sb_add(&b, " ......");
    sb_add(&b, " river");
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_too_many_ellipsis", "3 runs of 6 dots: 6 ellipses / 57 words");
    free(b.s);
}

static void test_gopher_quality_lines(void) {
    sbuf b = {0};
    /* bullets: 9 of 10 lines (0.9) keep, 19 of 20 (0.95) drop; "-" and U+2022 both count */
    for (int total = 10; total <= 20; total += 10) {
        sb_reset(&b);
        for (int i = 0; i < total; i++) {
            sb_add(&b, "%s%s", i ? "\n" : "", i == 0 ? "" : (i % 2 ? "  - " : "\xE2\x80\xA2 "));
            plain_words(&b, 5);
        }
        EXPECT("gopher_quality", NULL, b.s, total == 20 ? "gopher_quality:gopher_too_many_bullets" : NULL,
               total == 20 ? "19/20 bullet lines" : "9/10 bullet lines");
    }
    /* lines ending with an ellipsis: 3 of 10 keep, 4 of 10 drop */
    for (int k = 3; k <= 4; k++) {
        sb_reset(&b);
        for (int i = 0; i < 10; i++) {
            sb_add(&b, "%s", i ? "\n" : "");
            plain_words(&b, 10);
            if (i < k) sb_add(&b, i % 2 ? "\xE2\x80\xA6  " : "...");
        }
        EXPECT("gopher_quality", NULL, b.s, k == 4 ? "gopher_quality:gopher_too_many_end_ellipsis" : NULL,
               k == 4 ? "4/10 ellipsis lines" : "3/10 ellipsis lines");
    }
    free(b.s);
}

static void test_gopher_quality_alpha_and_stop_words(void) {
    sbuf b = {0};
    /* 50 words with letters + k numbers: 50 / (50 + k) < 0.8 from k = 13 */
    for (int k = 12; k <= 13; k++) {
        sb_reset(&b);
        plain_words(&b, 50);
        for (int i = 0; i < k; i++) sb_add(&b, " 1234");
        EXPECT("gopher_quality", NULL, b.s, k == 13 ? "gopher_quality:gopher_below_alpha_threshold" : NULL,
               k == 13 ? "alpha 50/63" : "alpha 50/62");
    }
    /* stop words are matched case-sensitively: "The" and "OF" do not count */
    sb_reset(&b);
    for (int i = 0; i < 50; i++) sb_add(&b, "%s%s", i ? " " : "", i == 3 ? "the" : (i == 9 ? "with" : "house"));
    EXPECT("gopher_quality", NULL, b.s, NULL, "exactly 2 stop words");
    sb_reset(&b);
    for (int i = 0; i < 50; i++) sb_add(&b, "%s%s", i ? " " : "", i == 3 ? "the" : (i == 9 ? "The" : "house"));
    EXPECT("gopher_quality", NULL, b.s, "gopher_quality:gopher_enough_stop_words", "1 stop word + 'The'");
    EXPECT("gopher_quality", "min_stop_words=1", b.s, NULL, "1 stop word with min_stop_words=1");
    free(b.s);
}

/* ------------------------------------------------------------------ gopher_repetition */

/* 8 distinct paragraphs of 3 five-letter words (17 chars) and a 1-word paragraph of len
 * letters twice, joined by sep; returns the text length (ASCII). */
static size_t rep_doc(sbuf *b, const char *sep, int len) {
    sb_reset(b);
    for (int p = 0; p < 8; p++) sb_add(b, "%s%s %s %s", p ? sep : "", uword(3 * p, 5), uword(3 * p + 1, 5), uword(3 * p + 2, 5));
    char *d = malloc((size_t)len + 1);
    memset(d, 'd', (size_t)len);
    d[len] = 0;
    sb_add(b, "%s%s%s%s", sep, d, sep, d);
    free(d);
    return b->n;
}

static void test_gopher_repetition_char_fractions(void) {
    sbuf b = {0};
    struct { const char *sep, *reason; } cases[] = {{"\n\n", "gopher_repetition:dup_para_char_frac"},
                                                    {"\n", "gopher_repetition:dup_line_char_frac"}};
    for (int c = 0; c < 2; c++) {
        /* the repeated piece's characters over the text's: find the first length above 0.2 */
        int len = 4;
        while ((double)len / (double)rep_doc(&b, cases[c].sep, len) <= 0.2) len++;
        rep_doc(&b, cases[c].sep, len - 1);
        char what[96];
        snprintf(what, sizeof what, "sep %s: %d / %zu", c ? "\\n" : "\\n\\n", len - 1, b.n);
        EXPECT("gopher_repetition", NULL, b.s, NULL, what);
        rep_doc(&b, cases[c].sep, len);
        snprintf(what, sizeof what, "sep %s: %d / %zu", c ? "\\n" : "\\n\\n", len, b.n);
        EXPECT("gopher_repetition", NULL, b.s, cases[c].reason, what);
    }
    free(b.s);
}

static void test_gopher_repetition_dup_fractions(void) {
    sbuf b = {0};
    /* 10 pieces: 3 repeats (0.3) keep, 4 repeats (0.4) drop; pieces are paragraphs or lines */
    const char *seps[] = {"\n\n", "\n"};
    const char *reasons[] = {"gopher_repetition:dup_para_frac", "gopher_repetition:dup_line_frac"};
    for (int c = 0; c < 2; c++)
        for (int dups = 3; dups <= 4; dups++) {
            sb_reset(&b);
            int uniq = 10 - dups - 1;
            for (int p = 0; p < uniq; p++)
                sb_add(&b, "%s%s %s %s %s", p ? seps[c] : "", uword(4 * p, 9), uword(4 * p + 1, 9), uword(4 * p + 2, 9),
                       uword(4 * p + 3, 9));
            for (int k = 0; k <= dups; k++) sb_add(&b, "%sok", seps[c]);
            char what[64];
            snprintf(what, sizeof what, "%d repeated of 10 (sep %s)", dups, c ? "\\n" : "\\n\\n");
            EXPECT("gopher_repetition", NULL, b.s, dups == 4 ? reasons[c] : NULL, what);
        }
    /* leading/trailing newlines: "\n+" keeps empty first/last lines, which repeat each other */
    free(b.s);
}

/* A text with one n-word phrase (words of `big` letters at the ends, 1 letter inside) repeated
 * `times` among distinct filler words (5 letters, or `big` letters when big > 16: those share
 * their first 16 bytes); pad fillers at the end. */
static size_t topgram_doc(sbuf *b, int n, int big, int times, int pad) {
    sb_reset(b);
    int u = 0, fill = big > 16 ? big : 5;
    for (int t = 0; t < times; t++) {
        for (int k = 0; k < n; k++) {
            int len = (k == 0 || k == n - 1) ? big : 1;
            if (len == 1) sb_add(b, "%s%c", b->n ? " " : "", 'a' + k);
            else sb_add(b, "%s%s", b->n ? " " : "", uword(9000 + k, len));
        }
        for (int f = 0; f < 3; f++) sb_add(b, " %s", uword(u++, fill));
    }
    for (int p = 0; p < pad; p++) sb_add(b, " %s", uword(u++, fill));
    return b->n;
}

static void test_gopher_repetition_top_ngrams(void) {
    sbuf b = {0};
    const double thr[] = {0, 0, 0.20, 0.18, 0.16};
    static const int bigs[] = {6, 12, 20};   /* word hashes of one block, two blocks, the loop */
    for (int v = 0; v < 9; v++) {
        int n = 2 + v % 3, big = bigs[v / 3], times = 3;
        size_t gram = (size_t)(2 * big + (n - 2) + (n - 1));   /* chars of the phrase */
        /* fewest pad words that bring gram*times/len to the threshold or under */
        int pad = 0;
        while ((double)(gram * times) / (double)topgram_doc(&b, n, big, times, pad) > thr[n]) pad++;
        char what[96], reason[64];
        snprintf(reason, sizeof reason, "gopher_repetition:top_%d_gram", n);
        topgram_doc(&b, n, big, times, pad);
        snprintf(what, sizeof what, "top %d-gram %zu*%d / %zu (%d-letter words)", n, gram, times, b.n, big);
        EXPECT("gopher_repetition", NULL, b.s, NULL, what);
        topgram_doc(&b, n, big, times, pad - 1);
        snprintf(what, sizeof what, "top %d-gram %zu*%d / %zu (%d-letter words)", n, gram, times, b.n, big);
        EXPECT("gopher_repetition", NULL, b.s, reason, what);
    }
    free(b.s);
}

/* m distinct n-word phrases (words of 6 letters), each twice (the second time separated by
 * fillers), plus pad filler words; the repeated characters (no spaces) are m * n * 6. */
static size_t dupgram_doc(sbuf *b, int n, int m, int pad) {
    sb_reset(b);
    int u = 5000;
    for (int p = 0; p < m; p++)
        for (int k = 0; k < n; k++) sb_add(b, "%s%s", b->n ? " " : "", uword(100 * p + k, 6));
    for (int p = 0; p < m; p++) {
        sb_add(b, " %s", uword(u++, 5));
        for (int k = 0; k < n; k++) sb_add(b, " %s", uword(100 * p + k, 6));
    }
    for (int i = 0; i < pad; i++) sb_add(b, " %s", uword(u++, 5));
    return b->n;
}

static void test_gopher_repetition_dup_ngrams(void) {
    sbuf b = {0};
    for (int n = 5; n <= 10; n++) {
        double thr = 0.15 - 0.01 * (n - 5);
        int m = 6;
        double dup = (double)(m * n * 6);
        int pad = 0;
        while (dup / (double)dupgram_doc(&b, n, m, pad) > thr) pad++;
        char what[96], reason[64];
        snprintf(reason, sizeof reason, "gopher_repetition:duplicated_%d_n_grams", n);
        dupgram_doc(&b, n, m, pad);
        snprintf(what, sizeof what, "dup %d-grams %.0f / %zu", n, dup, b.n);
        EXPECT("gopher_repetition", NULL, b.s, NULL, what);
        dupgram_doc(&b, n, m, pad - 1);
        snprintf(what, sizeof what, "dup %d-grams %.0f / %zu", n, dup, b.n);
        EXPECT("gopher_repetition", NULL, b.s, reason, what);
    }
    free(b.s);
}

/* 5-grams are compared joined without spaces (datatrove's "".join): 350 letters split into words
 * of 70/70/70/70/70 and later 69/71/70/70/70 are one duplicated 5-gram of 350 characters (words
 * longer than 16 bytes are copied into the concatenation by their length and hashed by a loop);
 * the top n-gram rules are turned off. */
static void test_gopher_repetition_concat_ngrams(void) {
    char letters[351];
    for (int i = 0; i < 350; i++) letters[i] = (char)('a' + (i * 7 + i / 26) % 26);
    letters[350] = 0;
    static const int cuts[2][6] = {{0, 70, 140, 210, 280, 350}, {0, 69, 140, 210, 280, 350}};
    sbuf b = {0};
    for (int fill = 324; fill <= 325; fill++) {   /* 350 / (709 + 5 fill) > 0.15 up to fill 324 */
        sb_reset(&b);
        for (int g = 0; g < 2; g++) {
            for (int k = 0; k < 5; k++) sb_add(&b, "%s%.*s", k ? " " : "", cuts[g][k + 1] - cuts[g][k], letters + cuts[g][k]);
            for (int k = 0; g == 0 && k < fill; k++) sb_add(&b, " %s", uword(k, 4));
            if (g == 0) sb_add(&b, " ");
        }
        char what[64];
        snprintf(what, sizeof what, "concatenated 5-gram 350 / %zu", b.n);
        EXPECT("gopher_repetition", "top_2_gram=1,top_3_gram=1,top_4_gram=1", b.s,
               fill == 324 ? "gopher_repetition:duplicated_5_n_grams" : NULL, what);
    }
    free(b.s);
}

/* The 5-gram `head` early in a text and `tail` (the same letters split at other places) ending
 * it, fill four-letter words between them: one duplicated 5-gram of `letters` characters, above
 * the 0.15 threshold for fill = last_drop and not for one word more (the top n-gram rules off). */
static void expect_split_5gram(const char *head, const char *tail, int letters, int last_drop, const char *kind) {
    sbuf b = {0};
    for (int fill = last_drop; fill <= last_drop + 1; fill++) {
        sb_reset(&b);
        sb_add(&b, "%s", head);
        for (int k = 0; k < fill; k++) sb_add(&b, " %s", uword(k, 4));
        sb_add(&b, " %s", tail);
        char what[64];
        snprintf(what, sizeof what, "%s 5-gram %d / %zu", kind, letters, b.n);
        EXPECT("gopher_repetition", "top_2_gram=1,top_3_gram=1,top_4_gram=1", b.s,
               fill == last_drop ? "gopher_repetition:duplicated_5_n_grams" : NULL, what);
    }
    free(b.s);
}

/* Words are copied into the concatenation sixteen bytes at a time when sixteen bytes of text
 * follow them, else by their length: the 5-gram "ab cdefgh ij klm nopq" (17 letters) early in the
 * text (one path) and "abcdefg hijk lm no pq" ending it (the other for its last words) must be
 * one duplicated 5-gram: 17 / (43 + 5 fill) > 0.15 up to fill 14. */
static void test_gopher_repetition_short_word_hashes(void) {
    expect_split_5gram("ab cdefgh ij klm nopq", "abcdefg hijk lm no pq", 17, 14, "short-word");
}

/* Words of 9..16 bytes: the same 59 characters as five long words at the start (sixteen-byte
 * copies) and split differently at the end (5, 16, 15, 13, 10 bytes, the last ones within the
 * text's last sixteen bytes, copied by their length) must be one 5-gram.
 * Duplicated characters 59 of 126 + 5 * fill: above 0.15 for fill 53, not for 54. */
static void test_gopher_repetition_long_word_hashes(void) {
    expect_split_5gram("abcdefghij klmnopqrstuvwx yzABCDEFGHIJKLMN OPQRSTUVW XYZ0123456",
                       "abcde fghijklmnopqrstu vwxyzABCDEFGHIJ KLMNOPQRSTUVW XYZ0123456", 59, 53, "long-word");
}

/* datatrove's find_all_duplicate written plainly: characters of n-word windows whose
 * concatenation ("".join) equals that of a window starting earlier, skipping n words after each. */
static int ref_dup_chars(char words[][8], int nw, int n) {
    int rep = 0, idx = 0, n_seen = 0;
    char cur[80], seen_grams[48][80];   /* the set: n-grams of the windows the scan stopped at */
    while (idx + n <= nw) {
        cur[0] = 0;
        for (int k = 0; k < n; k++) strcat(cur, words[idx + k]);
        int seen = 0;
        for (int j = 0; j < n_seen && !seen; j++) seen = !strcmp(seen_grams[j], cur);
        if (seen) {
            rep += (int)strlen(cur);
            idx += n;
        } else {
            strcpy(seen_grams[n_seen++], cur);
            idx++;
        }
    }
    return rep;
}

/* The plain rule's verdict on words[0..nw) (the text, words joined by spaces, is text_len bytes):
 * the exclusion reason of the first n = 5..10 whose duplicated characters are above its threshold
 * (0.15 down to 0.10), or NULL when every pass keeps the text. */
static const char *ref_dup_reason(char words[][8], int nw, size_t text_len) {
    static const char *const reason[11] = {[5] = "gopher_repetition:duplicated_5_n_grams",
                                           [6] = "gopher_repetition:duplicated_6_n_grams",
                                           [7] = "gopher_repetition:duplicated_7_n_grams",
                                           [8] = "gopher_repetition:duplicated_8_n_grams",
                                           [9] = "gopher_repetition:duplicated_9_n_grams",
                                           [10] = "gopher_repetition:duplicated_10_n_grams"};
    for (int n = 5; n <= 10; n++)
        if ((double)ref_dup_chars(words, nw, n) / (double)text_len > 0.15 - 0.01 * (n - 5)) return reason[n];
    return NULL;
}

/* Duplicated n-grams compare concatenations, so windows split at different places repeat for a
 * larger n while no smaller one repeats: in "a bc d e f gh zzz ab c d e fg h" the two 6-word
 * windows spell "abcdefgh" (8 / 31 > 0.14) and no 5-word windows are equal. Then random texts of
 * 1-3 letter words over {a, b} (many such coincidences) against the plain rule above. */
static void test_gopher_repetition_shifted_ngrams(void) {
    const char *no_top = "top_2_gram=1,top_3_gram=1,top_4_gram=1";
    EXPECT("gopher_repetition", no_top, "a bc d e f gh zzz ab c d e fg h", "gopher_repetition:duplicated_6_n_grams",
           "6-word windows split differently");
    uint64_t seed = 12345;
    int mismatches = 0, dropped = 0, shifted = 0;   /* shifted: dropped for n >= 6 with no repeated 5-gram */
    char words[48][8], text[48 * 4 + 1], what[256];
    for (int trial = 0; trial < 3000 && mismatches < 3; trial++) {
        int nw = 10 + (int)((seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 59);   /* 10..41 */
        size_t tn = 0;
        for (int i = 0; i < nw; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int len = 1 + (int)(seed >> 63);
            if (i) text[tn++] = ' ';
            for (int k = 0; k < len; k++) text[tn++] = words[i][k] = (seed >> (40 + k)) & 1 ? 'b' : 'a';
            words[i][len] = 0;
        }
        text[tn] = 0;
        const char *want = ref_dup_reason(words, nw, tn);
        shifted += want && strcmp(want, "gopher_repetition:duplicated_5_n_grams") && ref_dup_chars(words, nw, 5) == 0;
        const char *why;
        int rc = run_filter("gopher_repetition", no_top, text, &why, NULL);
        dropped += rc == 0;
        if ((want == NULL) != (rc == 1) || (want && (!why || strcmp(want, why)))) {
            snprintf(what, sizeof what, "%s", text);
            CHECK(0, "random text %d \"%s\": got %s, want %s", trial, what, rc == 1 ? "kept" : why, want ? want : "kept");
            mismatches++;
        }
    }
    CHECK(dropped > 50 && dropped < 2900 && shifted > 0, "random texts dropped %d of 3000, %d with no repeated 5-gram (want both outcomes and some of those)", dropped, shifted);
}

/* Start words whose 5-word window has 8 bytes or more and whose first 8 bytes (words concatenated)
 * no other start word shares are stepped over by the duplicated n-gram passes; windows shorter
 * than 8 bytes are always looked at: "a b c d efg" early and "abc d e f g" ending the text spell
 * the same 7 letters but their first 8 bytes differ ('z' of the next word, the text's end), and
 * "ab cd ef g h" / "a bcd e fg h" share exactly 8. Then random texts over {a, b, c} (words of 1-6
 * letters, half of them with a stretch copied from earlier and split at other places) against the
 * plain rule. */
static void test_gopher_repetition_head_suspects(void) {
    expect_split_5gram("a b c d efg", "abc d e f g", 7, 4, "7-byte");
    expect_split_5gram("ab cd ef g h", "a bcd e fg h", 8, 5, "8-byte");
    const char *no_top = "top_2_gram=1,top_3_gram=1,top_4_gram=1";
    uint64_t seed = 777;
#define NEXT_RAND() (seed = seed * 6364136223846793005ull + 1442695040888963407ull, (unsigned)(seed >> 33))
    int mismatches = 0, dropped = 0, kept = 0;
    char words[48][8], letters[200], cut[201], text[48 * 7 + 1];
    for (int trial = 0; trial < 2000 && mismatches < 3; trial++) {
        /* letters with word boundaries (cut[k]: a word starts at letter k, words of 1-6 letters) */
        int nl = 50 + (int)(NEXT_RAND() % 60), last = 0;
        for (int k = 0; k < nl; k++) {
            letters[k] = (char)('a' + NEXT_RAND() % 3);
            cut[k] = k == 0 || k - last == 6 || NEXT_RAND() % 3 == 0;
            if (cut[k]) last = k;
        }
        if (NEXT_RAND() % 2) {   /* a stretch of whole words again, a fifth of its inner boundaries moved */
            int from = (int)(NEXT_RAND() % (unsigned)(nl / 2)), to = from + 12 + (int)(NEXT_RAND() % 30);
            while (!cut[from]) from--;
            while (to < nl && !cut[to]) to++;
            for (int k = from; k < to && nl < 200; k++, nl++) {
                letters[nl] = letters[k];
                cut[nl] = k == from || (NEXT_RAND() % 5 ? cut[k] : !cut[k]);
            }
        }
        cut[nl] = 1;
        int nw = 0;
        size_t tn = 0;
        for (int k = 0; k < nl && nw < 48;) {
            int len = 1;
            while (!cut[k + len] && len < 7) len++;
            if (nw) text[tn++] = ' ';
            memcpy(words[nw], letters + k, (size_t)len);
            memcpy(text + tn, letters + k, (size_t)len);
            words[nw++][len] = 0;
            tn += (size_t)len;
            k += len;
        }
        text[tn] = 0;
        const char *want = ref_dup_reason(words, nw, tn);
        const char *why;
        int rc = run_filter("gopher_repetition", no_top, text, &why, NULL);
        dropped += rc == 0;
        kept += rc == 1;
        if ((want == NULL) != (rc == 1) || (want && (!why || strcmp(want, why)))) {
            CHECK(0, "random text %d \"%s\": got %s, want %s", trial, text, rc == 1 ? "kept" : why, want ? want : "kept");
            mismatches++;
        }
    }
#undef NEXT_RAND
    CHECK(dropped > 100 && kept > 100, "random texts: %d dropped, %d kept (want both outcomes)", dropped, kept);
}

/* ------------------------------------------------------------------ c4_quality */

static void test_c4_lines(void) {
    const char *reason;
    char *out = NULL;
    char longw[1002];
    memset(longw, 'x', 1001);
    longw[1001] = 0;
    sbuf b = {0};
    sb_add(&b, "First sentence is here. Second one is here too.\n");
    sb_add(&b, "No terminal punctuation here\n");
    sb_add(&b, "Two words.\n");
    sb_add(&b, "Please enable JavaScript to view this page.\n");
    sb_add(&b, "Read our Privacy Policy before you go.\n");
    sb_add(&b, "Trailing ellipsis is not an end...\n");
    sb_add(&b, "A word that is far too long %s here.\n", longw);
    sb_add(&b, "  Third line is kept with a citation.[12] Fourth sentence[edit] ends here![citation needed]\n");
    sb_add(&b, "The fifth sentence is a quote.\"\n");
    sb_add(&b, "Is the sixth a question?\n");
    int rc = run_filter("c4_quality", NULL, b.s, &reason, &out);
    CHECK(rc == 1, "c4: expected keep, got %d %s", rc, reason ? reason : "");
    const char *want = "First sentence is here. Second one is here too.\n"
                       "Third line is kept with a citation. Fourth sentence ends here!\n"
                       "The fifth sentence is a quote.\"\n"
                       "Is the sixth a question?";
    CHECK(out && !strcmp(out, want), "c4 output:\n%s\nwanted:\n%s", out ? out : "(null)", want);
    free(out);
    /* terminal punctuation rule off (FineWeb): the unpunctuated line stays */
    rc = run_filter("c4_quality", "filter_no_terminal_punct=0", b.s, &reason, &out);
    CHECK(rc == 1 && out && strstr(out, "No terminal punctuation here\n"), "c4 without punct rule: %s", out ? out : "");
    CHECK(out && !strstr(out, "Two words."), "c4: a 2-word line must go: %s", out ? out : "");
    free(out);
    /* a 1000-letter word is allowed, 1001 is not */
    sb_reset(&b);
    longw[1000] = 0;
    sb_add(&b, "One. Two. Three. Four. Five %s six.", longw);
    EXPECT("c4_quality", NULL, b.s, NULL, "1000-letter word");
    /* words separated by tabs (no space for 1201 bytes) are still short; 1001 two-byte letters
     * are a long word, 1000 of them (2000 bytes) are not */
    sb_reset(&b);
    sb_add(&b, "One. Two. Three. Four. Five %.600s\t%.600s six.", longw, longw);
    EXPECT("c4_quality", NULL, b.s, NULL, "600+600 letters split by a tab");
    for (int n = 1000; n <= 1001; n++) {
        sb_reset(&b);
        sb_add(&b, "One. Two. Three. Four. Five six.\nA word ");
        for (int i = 0; i < n; i++) sb_add(&b, "\xC3\xA9");
        sb_add(&b, " here. Seven.");
        int rc = run_filter("c4_quality", NULL, b.s, &reason, &out);
        CHECK(rc == 1 && out && (strstr(out, "A word") != NULL) == (n == 1000),
              "c4: a word of %d two-byte letters: rc %d, line %s", n, rc, out && strstr(out, "A word") ? "kept" : "removed");
        free(out);
    }
    free(b.s);
}

static void test_c4_document_rules(void) {
    EXPECT("c4_quality", NULL, "One is here. Two is here. Three is here. Four is here.", "c4_quality:too_few_sentences",
           "4 sentences");
    EXPECT("c4_quality", NULL, "One is here. Two is here. Three is here. Four is here. Five is here.", NULL, "5 sentences");
    EXPECT("c4_quality", NULL, "One is here. Two is here.\nThree is here. Four is here?\nFive is here!", NULL,
           "5 sentences over 3 lines");
    EXPECT("c4_quality", NULL, "Mr. Smith went to Washington. He met Dr. Who there. It was fine. Really fine. So fine.", NULL,
           "abbreviations do not end sentences (5)");
    EXPECT("c4_quality", NULL, "Mr. Smith went to Washington. He met Dr. Who there. It was fine. Really fine.",
           "c4_quality:too_few_sentences", "abbreviations do not end sentences (4)");
    EXPECT("c4_quality", NULL, "One is here. Lorem Ipsum dolor sit amet. Three. Four is here. Five is here.",
           "c4_quality:lorem_ipsum", "lorem ipsum");
    EXPECT("c4_quality", NULL, "One is here. Two is here. Three { is here. Four is here. Five is here.",
           "c4_quality:curly_bracket", "curly bracket");
    EXPECT("c4_quality", "min_num_sentences=4", "One is here. Two is here. Three is here. Four is here.", NULL,
           "min_num_sentences=4");
    /* a curly bracket on a removed line does not drop the page */
    EXPECT("c4_quality", NULL, "function() { x }\nOne is here. Two is here. Three is here. Four is here. Five is here.",
           NULL, "bracket on a line without punctuation");
    /* sentences are counted only up to min_num_sentences; the lines after are still checked */
    EXPECT("c4_quality", NULL, "One is here. Two is here. Three is here.\nFour is here.\nFive is here.", NULL,
           "3 + 1 + 1 sentences");
    EXPECT("c4_quality", NULL, "One is here. Two is here. Three is here.\nFour is here.\nfive", "c4_quality:too_few_sentences",
           "3 + 1 sentences and a removed line");
    EXPECT("c4_quality", NULL, "One. Two. Three. Four. Five. Six is here.\nSeven is here. And { here.",
           "c4_quality:curly_bracket", "a bracket after the fifth sentence");
    EXPECT("c4_quality", "min_num_sentences=7", "One. Two. Three. Four. Five. Six is here.\nSeven is here.", NULL,
           "min_num_sentences=7 over 2 lines");
    EXPECT("c4_quality", "min_num_sentences=8", "One. Two. Three. Four. Five. Six is here.\nSeven is here.",
           "c4_quality:too_few_sentences", "min_num_sentences=8 over 2 lines");
}

/* ------------------------------------------------------------------ fineweb_quality */

/* n lines; the first `punct` end with '.', `shorts` of them are 20 characters, others 40. */
static void fw_doc(sbuf *b, int n, int punct, int shorts) {
    sb_reset(b);
    for (int i = 0; i < n; i++) {
        int len = i < shorts ? 20 : 40;
        /* distinct words: "zXXXX " blocks */
        sb_add(b, "%s", i ? "\n" : "");
        int start = (int)b->n;
        for (int k = 0; (int)b->n - start < len - 7; k++) sb_add(b, "%s%s", k ? " " : "", uword(10 * i + k, 5));
        while ((int)b->n - start < len - 1) sb_add(b, "x");
        sb_add(b, "%s", i < punct ? "." : "q");
    }
}

static void test_fineweb_quality(void) {
    sbuf b = {0};
    fw_doc(&b, 100, 12, 0);
    EXPECT("fineweb_quality", NULL, b.s, "fineweb_quality:line_punct_ratio", "12/100 lines end with punctuation");
    fw_doc(&b, 100, 13, 0);
    EXPECT("fineweb_quality", NULL, b.s, NULL, "13/100 lines end with punctuation");
    EXPECT("fineweb_quality", "line_punct_thr=0.13", b.s, "fineweb_quality:line_punct_ratio", "13/100 with thr 0.13");
    fw_doc(&b, 100, 0, 0);
    EXPECT("fineweb_quality", "line_punct_exclude_zero=1", b.s, NULL, "0 punctuated lines, exclude_zero");
    fw_doc(&b, 100, 100, 67);
    EXPECT("fineweb_quality", NULL, b.s, "fineweb_quality:short_line_ratio", "67/100 short lines");
    fw_doc(&b, 100, 100, 66);
    EXPECT("fineweb_quality", NULL, b.s, NULL, "66/100 short lines");
    /* a line of exactly 30 characters is short, 31 is not */
    fw_doc(&b, 3, 3, 0);
    sbuf c = {0};
    sb_add(&c, "%s\n%s", "abcdefghi abcdefghi abcdefghi.", "bcdefghij abcdefghi abcdefghi.");
    EXPECT("fineweb_quality", NULL, c.s, "fineweb_quality:short_line_ratio", "2 lines of 30 chars");
    sb_reset(&c);
    sb_add(&c, "%s\n%s", "abcdefghij abcdefghi abcdefghi.", "bcdefghijk abcdefghi abcdefghi.");
    EXPECT("fineweb_quality", NULL, c.s, NULL, "2 lines of 31 chars");
    /* the same in code points of two and four bytes (30 four-byte ones: 121 bytes with the '.') */
    static const char *const k_wide[2] = {"\xC3\xA9", "\xF0\x9F\x98\x80"};
    for (int w = 0; w < 2; w++)
        for (int len = 30; len <= 31; len++) {
            sb_reset(&c);
            for (int line = 0; line < 2; line++) {
                sb_add(&c, "%s%s", line ? "\n" : "", line ? "x" : "");
                for (int i = line; i < len - 1; i++) sb_add(&c, "%s", k_wide[w]);
                sb_add(&c, ".");
            }
            char what[64];
            snprintf(what, sizeof what, "2 lines of %d chars of %d bytes", len, w ? 4 : 2);
            EXPECT("fineweb_quality", NULL, c.s, len == 30 ? "fineweb_quality:short_line_ratio" : NULL, what);
        }
    free(c.s);
    /* duplicated line characters over non-newline characters: >= 0.01 drops */
    for (int len = 8; len < 200; len++) {
        fw_doc(&b, 100, 100, 0);
        char *line = malloc((size_t)len + 2);
        for (int i = 0; i < len - 1; i++) line[i] = (char)('a' + i % 26);
        line[len - 1] = '.';
        line[len] = 0;
        sb_add(&b, "\n%s\n%s", line, line);
        double ratio = (double)len / (double)(b.n - 101);   /* 101 newlines */
        if (ratio >= 0.01) {
            char what[64];
            snprintf(what, sizeof what, "dup chars %d / %zu", len, b.n - 101);
            EXPECT("fineweb_quality", NULL, b.s, "fineweb_quality:char_dup_ratio", what);
            fw_doc(&b, 100, 100, 0);
            line[len - 2] = '.';
            line[len - 1] = 0;
            sb_add(&b, "\n%s\n%s", line, line);
            snprintf(what, sizeof what, "dup chars %d / %zu (%.5f)", len - 1, b.n - 101,
                     (double)(len - 1) / (double)(b.n - 101));
            EXPECT("fineweb_quality", NULL, b.s, NULL, what);
            free(line);
            break;
        }
        free(line);
    }
    /* newlines per word: lines of "word word." are 3 tokens; n lines: (n-1) / 3n */
    sb_reset(&b);
    for (int i = 0; i < 10; i++) sb_add(&b, "%s%s %s.", i ? "\n" : "", uword(2 * i, 16), uword(2 * i + 1, 16));
    EXPECT("fineweb_quality", NULL, b.s, NULL, "9 newlines / 30 words");
    sb_add(&b, "\n%s %s.", uword(50, 16), uword(51, 16));
    EXPECT("fineweb_quality", NULL, b.s, "fineweb_quality:list_ratio", "10 newlines / 33 words");
    free(b.s);
}

/* ------------------------------------------------------------------ pii */

static void test_pii(void) {
    const char *reason;
    char *out = NULL;
    int rc = run_filter("pii", NULL, "mail a.b@c.com or x_y@mail.example.net, then z@q.io; ip 8.8.8.8 and 192.168.1.1 "
                        "and 1.2.3.4 and 01.2.3.4 and 100.64.1.1 and 192.0.0.9 and 224.0.0.1",
                        &reason, &out);
    const char *want = "mail email@example.com or firstname.lastname@example.org, then email@example.com; ip "
                       "22.214.171.124 and 192.168.1.1 and 126.96.36.199 and 01.2.3.4 and 100.64.1.1 and "
                       "188.8.131.52 and 184.108.40.206";
    CHECK(rc == 1 && out && !strcmp(out, want), "pii:\n got %s\nwant %s", out ? out : "(null)", want);
    free(out);
    rc = run_filter("pii", "only_remove_public_ips=0,remove_emails=0", "a@b.com 10.0.0.1", &reason, &out);
    CHECK(rc == 1 && out && !strcmp(out, "a@b.com 22.214.171.124"), "pii private ips: %s", out ? out : "(null)");
    free(out);
    /* Python's ipaddress.is_global (Debian's 3.11) for the special ranges */
    struct { const char *ip; int global; } ips[] = {
        {"0.1.2.3", 0},     {"10.9.8.7", 0},      {"127.0.0.1", 0},     {"169.254.3.3", 0},  {"172.16.0.1", 0},
        {"172.32.0.1", 1},  {"192.0.0.8", 0},     {"192.0.0.9", 1},     {"192.0.0.10", 1},   {"192.0.0.170", 0},
        {"192.0.0.172", 0}, {"192.0.2.5", 0},     {"192.168.9.9", 0},   {"198.18.5.5", 0},   {"198.20.0.1", 1},
        {"198.51.100.1", 0}, {"203.0.113.9", 0},  {"240.1.1.1", 0},     {"255.255.255.255", 0}, {"100.64.0.0", 0},
        {"100.128.0.1", 1}, {"224.0.0.1", 1},     {"8.8.4.4", 1},       {"1.1.1.1", 1}};
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++)
        CHECK(smol_pii_ip_replaceable(ips[i].ip, strlen(ips[i].ip), 1) == ips[i].global, "is_global(%s) should be %d",
              ips[i].ip, ips[i].global);
}

/* ------------------------------------------------------------------ url */

static void write_file(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
}

static int url_check(const char *opts, const char *url, const char **reason) {
    smol_filter *f;
    smol_error err = {0};
    if (smol_filter_new("url", opts, &f, &err)) {
        fprintf(stderr, "url filter: %s\n", err.msg);
        return -100;
    }
    smol_doc d;
    smol_doc_from_text(&d, "u", "text", 4, NULL);
    if (url) cJSON_AddStringToObject(smol_doc_metadata(&d), "url", url);
    int rc = smol_filter_apply(f, &d, reason);
    smol_doc_free(&d);
    smol_filter_free(f);
    return rc;
}

static void test_url(void) {
    const char *dom = test_tmp("domains"), *urls = test_tmp("urls"), *words = test_tmp("words"),
               *soft = test_tmp("soft"), *sub = test_tmp("sub");
    write_file(dom, "# blocked\nbad.com\nsub.evil.org\n");
    write_file(urls, "http://ok.com/very/bad/page\n");
    write_file(words, "Casino\n");
    write_file(soft, "hot\ndeal\n");
    write_file(sub, "xyzbad\n");
    char opts[2048];
    snprintf(opts, sizeof opts, "domains=%s,urls=%s,banned_words=%s,soft_banned_words=%s,banned_subwords=%s", dom, urls,
             words, soft, sub);
    struct { const char *url, *reason; } cases[] = {
        {"https://www.bad.com/x", "url:domain"},
        {"http://BAD.com:8080/", "url:domain"},
        {"http://sub.evil.org/a", "url:subdomain"},
        {"http://other.evil.org/a", NULL},
        {"http://ok.com/very/bad/page", "url:url"},
        {"http://ok.com/casino/page", "url:hard_blacklisted"},
        {"http://ok.com/hot-deal", "url:soft_blacklisted"},
        {"http://ok.com/hot-stuff", NULL},
        {"http://ok.com/hotdeal", NULL},
        {"http://ok.com/a-xyz-bad", "url:blacklisted_subword"},
        {"http://ok.com/fine", NULL},
        {NULL, "url:missing_url"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *reason = NULL;
        int rc = url_check(opts, cases[i].url, &reason);
        if (cases[i].reason)
            CHECK(rc == 0 && reason && !strcmp(reason, cases[i].reason), "url %s: expected %s, got rc=%d %s",
                  cases[i].url ? cases[i].url : "(none)", cases[i].reason, rc, reason ? reason : "");
        else CHECK(rc == 1, "url %s: expected keep, got rc=%d %s", cases[i].url, rc, reason ? reason : "");
    }
    const char *reason;
    snprintf(opts, sizeof opts, "soft_banned_words=%s,soft_word_threshold=1", soft);
    CHECK(url_check(opts, "http://ok.com/hot", &reason) == 0, "soft threshold 1");
    unlink(dom);
    unlink(urls);
    unlink(words);
    unlink(soft);
    unlink(sub);
}

/* ------------------------------------------------------------------ language */

static void test_language(void) {
    char opts[4200];
    snprintf(opts, sizeof opts, "model=%s", test_data("fasttext/lid.176.ftz"));
    smol_filter *f;
    smol_error err = {0};
    REQUIRE(smol_filter_new("language", opts, &f, &err) == 0, "%s", err.msg);
    smol_doc d;
    const char *en = "The quick brown fox jumps over the lazy dog and then runs\ninto the forest to find its friends.";
    smol_doc_from_text(&d, "en", en, strlen(en), NULL);
    const char *reason;
    int rc = smol_filter_apply(f, &d, &reason);
    cJSON *m = smol_doc_metadata(&d);
    cJSON *lang = cJSON_GetObjectItem(m, "language"), *score = cJSON_GetObjectItem(m, "language_score");
    CHECK(rc == 1, "english text dropped: %s", reason ? reason : "");
    CHECK(cJSON_IsString(lang) && !strcmp(lang->valuestring, "en"), "language %s", cJSON_IsString(lang) ? lang->valuestring : "?");
    CHECK(cJSON_IsNumber(score) && score->valuedouble > 0.65 && score->valuedouble <= 1.0, "score %g",
          cJSON_IsNumber(score) ? score->valuedouble : -1);
    smol_doc_free(&d);
    const char *fr = "Le renard brun rapide saute par-dessus le chien paresseux et court dans la foret.";
    smol_doc_from_text(&d, "fr", fr, strlen(fr), NULL);
    rc = smol_filter_apply(f, &d, &reason);
    CHECK(rc == 0 && reason && !strcmp(reason, "language:below_threshold"), "french kept by the en filter: rc=%d", rc);
    lang = cJSON_GetObjectItem(smol_doc_metadata(&d), "language");
    CHECK(cJSON_IsString(lang) && !strcmp(lang->valuestring, "fr"), "french labelled %s",
          cJSON_IsString(lang) ? lang->valuestring : "?");
    smol_doc_free(&d);
    smol_filter_free(f);
    snprintf(opts, sizeof opts, "model=%s,languages=fr+de", test_data("fasttext/lid.176.ftz"));
    REQUIRE(smol_filter_new("language", opts, &f, &err) == 0, "%s", err.msg);
    smol_doc_from_text(&d, "fr", fr, strlen(fr), NULL);
    CHECK(smol_filter_apply(f, &d, &reason) == 1, "french dropped by languages=fr+de");
    smol_doc_free(&d);
    smol_filter_free(f);
    /* a threshold of 1 keeps nothing (scores are never above 1) */
    snprintf(opts, sizeof opts, "model=%s,threshold=1", test_data("fasttext/lid.176.ftz"));
    REQUIRE(smol_filter_new("language", opts, &f, &err) == 0, "%s", err.msg);
    smol_doc_from_text(&d, "en", en, strlen(en), NULL);
    CHECK(smol_filter_apply(f, &d, &reason) == 0, "threshold=1 kept a document");
    smol_doc_free(&d);
    smol_filter_free(f);
    CHECK(smol_filter_new("language", "model=/nonexistent/lid.ftz", &f, &err) != 0 && strstr(err.msg, "/nonexistent/lid.ftz"),
          "missing model error: %s", err.msg);
}

/* ------------------------------------------------------------------ registry, words */

static void test_registry_errors(void) {
    smol_filter *f;
    smol_error err = {0};
    CHECK(smol_filter_new("nope", NULL, &f, &err) == SMOL_EINVAL && strstr(err.msg, "nope"), "unknown filter: %s", err.msg);
    CHECK(smol_filter_new("gopher_quality", "min_doc_wordz=3", &f, &err) == SMOL_EINVAL && strstr(err.msg, "min_doc_wordz"),
          "unknown option: %s", err.msg);
    CHECK(smol_filter_new("gopher_quality", "min_doc_words=abc", &f, &err) == SMOL_EINVAL && strstr(err.msg, "abc"),
          "bad value: %s", err.msg);
    CHECK(smol_filter_new("c4_quality", "filter_policy", &f, &err) == SMOL_EINVAL, "no '=': %s", err.msg);
    const smol_filter_step *r = smol_filter_recipe("fineweb");
    REQUIRE(r, "no fineweb recipe");
    const char *order[] = {"language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"};
    for (int i = 0; i < 5; i++) CHECK(r[i].name && !strcmp(r[i].name, order[i]), "recipe step %d: %s", i, r[i].name);
    CHECK(r[5].name == NULL, "recipe has more than 5 steps");
    CHECK(strstr(r[3].options, "filter_no_terminal_punct=0") != NULL, "c4 step options: %s", r[3].options);
}

static void test_word_tokenize(void) {
    struct { const char *text, *want; } cases[] = {
        {"Hello, world.", "Hello|,|world|."},
        {"I don't know.", "I|do|n't|know|."},
        {"They'll say \"yes\" (maybe)!", "They|'ll|say|``|yes|''|(|maybe|)|!"},
        {"Mr. Smith paid $5.50 at 3:30, e.g. today.", "Mr.|Smith|paid|$|5.50|at|3:30|,|e.g.|today|."},
        {"It costs 1,000 dollars; see www.x.com... Then go.", "It|costs|1,000|dollars|;|see|www.x.com|...|Then|go|."},
        {"You cannot stop -- ever.", "You|can|not|stop|--|ever|."},
        {"The dogs' bones.", "The|dogs|'|bones|."},
        {"\xE2\x80\x9CQuoted\xE2\x80\x9D text", "\xE2\x80\x9C|Quoted|\xE2\x80\x9D|text"},
        {"Ends a sentence. next word", "Ends|a|sentence|.|next|word"},
    };
    smol_spans w = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        smol_word_tokenize(cases[i].text, strlen(cases[i].text), &w);
        char got[512] = "";
        for (size_t k = 0; k < w.n; k++) {
            size_t at = strlen(got);
            snprintf(got + at, sizeof got - at, "%s%.*s", k ? "|" : "", (int)w.v[k].len, w.v[k].s);
        }
        CHECK(!strcmp(got, cases[i].want), "tokenize '%s':\n got %s\nwant %s", cases[i].text, got, cases[i].want);
    }
    smol_spans_free(&w);
    /* splitlines: \r\n, \r, U+2028 break lines; no trailing empty line */
    smol_spans l = {0};
    const char *t = "a\r\nb\rc\xE2\x80\xA8" "d\n\ne\n";
    smol_splitlines(t, strlen(t), &l);
    CHECK(l.n == 6, "splitlines count %zu", l.n);
    smol_spans_free(&l);
    CHECK(smol_count_sentences("One. Two? Three! Four", 21) == 4, "sentences");
}

/* smol_ascii_phrases along both scan paths (plain C and SSE2) against lowercasing the whole
 * text and memmem, on random texts with phrases in mixed case at every offset, the last bytes too. */
static void test_ascii_phrases(void) {
    static const char *const phrases[] = {"lorem ipsum", "javascript", "polic", "cookie", "terms of use"};
    CHECK(smol_ascii_phrases("We use COOKIES here", 19, phrases, 5) == 8, "cookie in capitals");
    CHECK(smol_ascii_phrases("lorem\0ipsum lorem\0ipsum!", 25, phrases, 5) == 0, "NUL is not a space");
    const char *tail = "0123456789abcdefghijklmnopqrstuvwxyz Lorem IPSUM";
    CHECK(smol_ascii_phrases(tail, strlen(tail), phrases, 5) == 1, "phrase in the last bytes");
    const char alphabet[] = "loremipsuLOREMjavsctkTEPnf ,.@\x00\x0c\xe2\x80";
    unsigned seed = 12345;
    char text[200], low[200];
    int differ = 0;
    for (int iter = 0; iter < 20000 && differ < 3; iter++) {
        size_t n = (seed = seed * 1103515245u + 12345u) >> 16 & 127;
        for (size_t i = 0; i < n; i++) text[i] = alphabet[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof alphabet - 1)];
        int k = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 7;
        if (k < 5) {   /* put a phrase (random case) at a random offset */
            size_t m = strlen(phrases[k]), at = n >= m ? ((seed = seed * 1103515245u + 12345u) >> 16) % (n - m + 1) : 0;
            for (size_t j = 0; j < m && at + j < n; j++)
                text[at + j] = (char)(((seed = seed * 1103515245u + 12345u) >> 20) & 1 && phrases[k][j] >= 'a' ? phrases[k][j] - 32 : phrases[k][j]);
        }
        unsigned want = 0;
        for (size_t i = 0; i < n; i++) low[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
        for (int p = 0; p < 5; p++)
            if (memmem(low, n, phrases[p], strlen(phrases[p]))) want |= 1u << p;
        unsigned fast = smol_ascii_phrases_at(text, n, phrases, 5, SMOL_SCAN_SSE2),
                 plain = smol_ascii_phrases_at(text, n, phrases, 5, SMOL_SCAN_SCALAR);
        if (fast != want || plain != want) {
            differ++;
            CHECK(0, "phrases in %zu bytes '%.*s': want %#x, got %#x (scalar %#x)", n, (int)n, text, want, fast, plain);
        }
    }
}

/* The scans (code points, line breaks), along both paths, against byte-by-byte statements of the same
 * rules on random texts of every length up to 100 bytes mixing ASCII, control bytes, line
 * breaks (\r\n, U+0085, U+2028) and multi-byte letters at every offset. */
static void test_scans_vs_bytewise(void) {
    static const char *const pieces[] = {"a", "Z", " ", ".", "\n", "\r", "\r\n", "\x0b", "\x1c", "\x1f", "\x01",
                                         "\xC3\xA9", "\xC2\x85", "\xE2\x80\xA8", "\xE2\x80\xA6", "\xF0\x9F\x98\x80", "\xC3"};
    unsigned seed = 777;
    char text[128];
    smol_spans lines = {0};
    int differ = 0;
    for (int iter = 0; iter < 20000 && differ < 3; iter++) {
        size_t n = 0, want = (seed = seed * 1103515245u + 12345u) >> 16 & 127;
        while (n < want && n < 100) {
            const char *p = pieces[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof pieces / sizeof pieces[0])];
            size_t m = strlen(p);
            if (n + m > 100) break;
            memcpy(text + n, p, m);
            n += m;
        }
        size_t chars = 0, n_lines = 0, start = 0;
        for (size_t i = 0; i < n; i++) chars += ((unsigned char)text[i] & 0xC0) != 0x80;
        int level = iter & 1 ? SMOL_SCAN_SSE2 : SMOL_SCAN_SCALAR;
        CHECK(smol_utf8_chars_at(text, n, level) == chars, "code points of %zu bytes (path %d): %zu, want %zu", n, level,
              smol_utf8_chars_at(text, n, level), chars);
        int ok = smol_splitlines_at(text, n, &lines, level) == 0;
        for (size_t i = 0; i < n && ok;) {   /* str.splitlines: each break ends a line */
            unsigned char c = (unsigned char)text[i];
            size_t br = c == '\r' ? (i + 1 < n && text[i + 1] == '\n' ? 2 : 1)
                      : (c == '\n' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) ? 1
                      : (c == 0xC2 && i + 1 < n && (unsigned char)text[i + 1] == 0x85) ? 2
                      : (c == 0xE2 && i + 2 < n && (unsigned char)text[i + 1] == 0x80 &&
                         ((unsigned char)text[i + 2] == 0xA8 || (unsigned char)text[i + 2] == 0xA9)) ? 3 : 0;
            if (!br) { i++; continue; }
            ok = n_lines < lines.n && lines.v[n_lines].s == text + start && lines.v[n_lines].len == i - start;
            n_lines++;
            i += br;
            start = i;
        }
        if (ok && start < n) ok = n_lines < lines.n && lines.v[n_lines].s == text + start && lines.v[n_lines++].len == n - start;
        if (!ok || n_lines != lines.n) {
            differ++;
            CHECK(0, "splitlines of %zu bytes (path %d): line %zu of %zu differs (want %zu lines)", n, level, n_lines, lines.n,
                  n_lines);
        }
    }
    smol_spans_free(&lines);
}

/* The word-count floor (fineweb_quality's shortcut for the newline ratio) is never above the
 * splitter's count, is the same along both scan paths, and counts the chunks of space-separated ASCII
 * text, on random texts mixing words, marks, quotes, ASCII and Unicode spaces (U+00A0, U+3000). */
static void test_word_count_floor(void) {
    static const char *const pieces[] = {"a", "Zed", " ", "  ", ".", ",", "\"", "'", "(", "--", "...", "\n", "\t", "\x1c",
                                         "\x01", "can't", "cannot", "\xC2\xA0", "\xE3\x80\x80", "\xC3\xA9", "\xE2\x80\x9C",
                                         "\xC2", "3.", "Dr."};
    unsigned seed = 4242;
    char text[160];
    smol_spans w = {0};
    int bad = 0;
    for (int iter = 0; iter < 20000 && bad < 3; iter++) {
        size_t n = 0, want = (seed = seed * 1103515245u + 12345u) >> 16 & 127;
        while (n < want) {
            const char *p = pieces[((seed = seed * 1103515245u + 12345u) >> 16) % (sizeof pieces / sizeof pieces[0])];
            size_t m = strlen(p);
            if (n + m > 140) break;
            memcpy(text + n, p, m);
            n += m;
        }
        REQUIRE(smol_word_tokenize(text, n, &w) == 0, "tokenize failed");
        size_t fl = smol_word_count_floor_at(text, n, SMOL_SCAN_SSE2), fs = smol_word_count_floor_at(text, n, SMOL_SCAN_SCALAR);
        if (fl != fs || fl > w.n) {
            bad++;
            CHECK(0, "text %d (%zu bytes, '%.*s'): floor %zu, scalar %zu, tokens %zu", iter, n, (int)n, text, fl, fs, w.n);
        }
    }
    const char *plain = "  one two\tthree\n\nfour five six seven eight nine ten eleven twelve  ";
    CHECK(smol_word_count_floor(plain, strlen(plain)) == 12, "floor of plain text: %zu, want 12",
          smol_word_count_floor(plain, strlen(plain)));
    smol_spans_free(&w);
}

/* The word splitter against NLTK's Treebank word tokenizer (python3-nltk, when installed) on
 * War and Peace lines that hold one sentence (no sentence end inside, so Punkt would not split
 * them): at least 99.5% of lines must give identical tokens. */
static void test_word_tokenize_vs_nltk(void) {
    if (system("/usr/bin/python3 -c 'import nltk.tokenize' 2>/dev/null") != 0) {
        printf("skip test_word_tokenize_vs_nltk: python3-nltk is not installed\n");
        return;
    }
    FILE *in = fopen(test_data("corpora/war-and-peace.txt"), "r");
    REQUIRE(in, "cannot open war-and-peace.txt");
    const char *lines_path = test_tmp("wp_lines.txt"), *nltk_path = test_tmp("wp_nltk.txt");
    FILE *out = fopen(lines_path, "w");
    char line[4096];
    int n = 0;
    while (n < 6000 && fgets(line, sizeof line, in)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        int inner_end = 0;
        for (size_t i = 0; i + 1 < len && !inner_end; i++)
            if (strchr(".?!", line[i])) {
                size_t j = i + 1;
                while (j < len && strchr("\"')]", line[j])) j++;
                inner_end = j < len && line[j] == ' ';
            }
        if (!len || inner_end) continue;
        fprintf(out, "%s\n", line);
        n++;
    }
    fclose(in);
    fclose(out);
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys\nfrom nltk.tokenize import NLTKWordTokenizer\nt = NLTKWordTokenizer()\n"
             "for l in open(sys.argv[1], encoding='utf-8'): print(chr(1).join(t.tokenize(l.rstrip(chr(10)))))\" %s > %s",
             lines_path, nltk_path);
    REQUIRE(system(cmd) == 0, "nltk run failed: %s", cmd);
    FILE *a = fopen(lines_path, "r"), *b = fopen(nltk_path, "r");
    REQUIRE(a && b, "cannot read back");
    smol_spans w = {0};
    char want[8192], got[8192];
    int same = 0, total = 0, shown = 0;
    while (fgets(line, sizeof line, a) && fgets(want, sizeof want, b)) {
        size_t len = strlen(line);
        line[--len] = 0;
        want[strcspn(want, "\n")] = 0;
        smol_word_tokenize(line, len, &w);
        got[0] = 0;
        for (size_t k = 0; k < w.n; k++) {
            size_t at = strlen(got);
            snprintf(got + at, sizeof got - at, "%s%.*s", k ? "\x01" : "", (int)w.v[k].len, w.v[k].s);
        }
        total++;
        if (!strcmp(got, want)) same++;
        else if (shown++ < 3) fprintf(stderr, "  differs from NLTK: '%s'\n", line);
    }
    fclose(a);
    fclose(b);
    smol_spans_free(&w);
    unlink(lines_path);
    unlink(nltk_path);
    printf("word splitter vs NLTK Treebank: %d of %d lines identical\n", same, total);
    CHECK(total > 1000 && same >= total * 0.995, "only %d of %d lines match NLTK", same, total);
}

int main(void) {
    RUN(test_gopher_quality_word_counts);
    RUN(test_gopher_quality_word_length);
    RUN(test_gopher_quality_symbols);
    RUN(test_gopher_quality_lines);
    RUN(test_gopher_quality_alpha_and_stop_words);
    RUN(test_gopher_repetition_char_fractions);
    RUN(test_gopher_repetition_dup_fractions);
    RUN(test_gopher_repetition_top_ngrams);
    RUN(test_gopher_repetition_dup_ngrams);
    RUN(test_gopher_repetition_concat_ngrams);
    RUN(test_gopher_repetition_short_word_hashes);
    RUN(test_gopher_repetition_long_word_hashes);
    RUN(test_gopher_repetition_shifted_ngrams);
    RUN(test_gopher_repetition_head_suspects);
    RUN(test_c4_lines);
    RUN(test_c4_document_rules);
    RUN(test_fineweb_quality);
    RUN(test_pii);
    RUN(test_url);
    RUN(test_language);
    RUN(test_registry_errors);
    RUN(test_word_tokenize);
    RUN(test_ascii_phrases);
    RUN(test_scans_vs_bytewise);
    RUN(test_word_tokenize_vs_nltk);
    RUN(test_word_count_floor);
    return check_done();
}
