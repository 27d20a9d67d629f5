/* test_scan.c: the phrase scanner against a naive oracle (each phrase searched on its own, left
 * to right, as grep -o -i -w -F does: an occurrence counts when the bytes around it are not
 * [A-Za-z0-9_], and the search resumes after it), on crafted edge cases, on random texts over a
 * small alphabet (many overlaps and boundaries) and on War and Peace; plus word counts as wc -w. */
#include "check.h"
#include "smol.h"
#include "data/scan.h"
#include <ctype.h>
#include <stdint.h>

static int is_word(unsigned char c) { return isalnum(c) || c == '_'; }

/* The oracle: non-overlapping case-insensitive occurrences of p at word boundaries. */
static uint64_t naive_count(const char *text, size_t len, const char *p) {
    size_t n = strlen(p);
    uint64_t count = 0;
    for (size_t i = 0; i + n <= len;) {
        if (strncasecmp(text + i, p, n) == 0 && (i == 0 || !is_word((unsigned char)text[i - 1])) &&
            (i + n == len || !is_word((unsigned char)text[i + n]))) {
            count++;
            i += n;
        } else {
            i++;
        }
    }
    return count;
}

static uint64_t naive_words(const char *text, size_t len) {
    uint64_t w = 0;
    int in = 0;
    for (size_t i = 0; i < len; i++) {
        int sp = text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r');
        if (!sp && !in) w++;
        in = !sp;
    }
    return w;
}

/* Scans text with phrases and checks every count against the oracle; returns failures. */
static int compare(const char *const *phrases, size_t n, const char *text, size_t len, const char *what) {
    smol_error err;
    smol_scan *s;
    if (smol_scan_new(phrases, n, &s, &err)) {
        CHECK(0, "%s: %s", what, err.msg);
        return 1;
    }
    smol_scan_tally *t = smol_scan_tally_new(s);
    smol_scan_text(s, text, len, t);
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++) {
        uint64_t want = naive_count(text, len, phrases[i]);
        if (t->counts[i] != want) {
            CHECK(0, "%s: phrase '%s': %llu, oracle %llu (text '%.80s')", what, phrases[i], (unsigned long long)t->counts[i],
                  (unsigned long long)want, text);
            bad = 1;
        }
    }
    if (!bad && t->words != naive_words(text, len)) {
        CHECK(0, "%s: %llu words, oracle %llu", what, (unsigned long long)t->words, (unsigned long long)naive_words(text, len));
        bad = 1;
    }
    CHECK(t->bytes == len, "%s: bytes %llu", what, (unsigned long long)t->bytes);
    smol_scan_tally_free(t);
    smol_scan_free(s);
    return bad;
}

static uint64_t count_of(const char *const *phrases, size_t n, size_t which, const char *text) {
    smol_error err;
    smol_scan *s;
    if (smol_scan_new(phrases, n, &s, &err)) return (uint64_t)-1;
    smol_scan_tally *t = smol_scan_tally_new(s);
    smol_scan_text(s, text, strlen(text), t);
    uint64_t c = t->counts[which];
    smol_scan_tally_free(t);
    smol_scan_free(s);
    return c;
}

static void test_edge_cases(void) {
    static const char *const one[] = {"the"};
    CHECK(count_of(one, 1, 0, "The theory; the-end, THE_ the\nthe") == 4, "boundaries and case");
    CHECK(count_of(one, 1, 0, "") == 0 && count_of(one, 1, 0, "th") == 0 && count_of(one, 1, 0, "the") == 1, "short texts");
    CHECK(count_of(one, 1, 0, "xthe the1 _the the_ 9the (the)") == 1, "word bytes around");
    CHECK(count_of(one, 1, 0, "caf\xc3\xa9the the\xc3\xa9") == 2, "non-ASCII bytes are not word bytes");
    static const char *const self[] = {"aa aa"};
    CHECK(count_of(self, 1, 0, "aa aa aa") == 1, "self-overlap counted once");
    CHECK(count_of(self, 1, 0, "aa aa aa aa") == 2, "two non-overlapping");
    static const char *const ny[] = {"new", "new york", "york"};
    CHECK(count_of(ny, 3, 0, "New York new yorker NEW-YORK") == 3, "new");
    CHECK(count_of(ny, 3, 1, "New York new yorker NEW-YORK") == 1, "new york");
    CHECK(count_of(ny, 3, 2, "New York new yorker NEW-YORK") == 2, "york");
    static const char *const punct[] = {"e.g.", "--", "c++"};
    CHECK(count_of(punct, 3, 0, "e.g. e.g.x e.g.. (e.g.)") == 3, "phrase ending in punctuation");
    CHECK(count_of(punct, 3, 1, "a -- b---c --") == 2, "punctuation-only phrase: %llu",
          (unsigned long long)count_of(punct, 3, 1, "a -- b---c --"));
    CHECK(count_of(punct, 3, 2, "C++ and c++11, xc++") == 1, "c++");
    static const char *const lines[] = {"in the"};
    CHECK(count_of(lines, 1, 0, "in the\nin\nthe in  the IN THE") == 2, "no match across lines or double spaces");
}

static void test_errors(void) {
    smol_error err;
    smol_scan *s;
    static const char *const dup[] = {"Peace", "war", "peace"};
    CHECK(smol_scan_new(dup, 3, &s, &err) == SMOL_EINVAL && strstr(err.msg, "peace"), "duplicate: %s", err.msg);
    static const char *const empty[] = {"a", ""};
    CHECK(smol_scan_new(empty, 2, &s, &err) == SMOL_EINVAL, "empty phrase accepted");
    CHECK(smol_scan_new(empty, 0, &s, &err) == SMOL_EINVAL, "no phrases accepted");
    const char *path = test_tmp("phrases.txt");
    FILE *f = fopen(path, "w");
    fputs("# a comment\n  Prince \r\n\nwar and peace\r\n", f);
    fclose(f);
    REQUIRE(smol_scan_load(path, &s, &err) == SMOL_OK, "%s", err.msg);
    CHECK(smol_scan_count(s) == 2 && strcmp(smol_scan_phrase(s, 0), "Prince") == 0 &&
          strcmp(smol_scan_phrase(s, 1), "war and peace") == 0, "loaded phrases");
    smol_scan_free(s);
    CHECK(smol_scan_load("/nonexistent/phrases.txt", &s, &err) < 0 && strstr(err.msg, "/nonexistent/phrases.txt"), "%s", err.msg);
    remove(path);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 20);
}

static void test_random_against_oracle(void) {
    /* small alphabets make overlaps, nested phrases, shared suffixes and boundaries frequent */
    static const char alpha[] = "aAb _.\nB9-";
    char text[8192];
    for (int round = 0; round < 300; round++) {
        size_t len = rnd() % sizeof text;
        for (size_t i = 0; i < len; i++) text[i] = alpha[rnd() % 10];
        char store[12][8];
        const char *phrases[12];
        size_t n = 0;
        while (n < 1 + rnd() % 12) {
            size_t pl = 1 + rnd() % 6;
            for (size_t i = 0; i < pl; i++) store[n][i] = "ab _.B-9"[rnd() % 8];
            store[n][pl] = 0;
            int dup = 0;
            for (size_t k = 0; k < n; k++) dup |= strcasecmp(store[k], store[n]) == 0;
            if (!dup) {
                phrases[n] = store[n];
                n++;
            }
        }
        char what[32];
        snprintf(what, sizeof what, "round %d", round);
        if (compare(phrases, n, text, len, what)) return;
    }
}

static void test_war_and_peace(void) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(test_data("corpora/war-and-peace.txt"), "rb");
    REQUIRE(f, "no war-and-peace.txt");
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc(len + 1);
    REQUIRE(fread(text, 1, len, f) == len, "short read");
    fclose(f);
    static const char *const phrases[] = {"prince", "the", "Andrew", "Natasha", "in the", "of the", "said", "war",
                                          "peace", "French", "Moscow", "Pierre", "count", "at", "a", "I", "said Prince",
                                          "Prince Andrew", "Andrew's", "mon", "cher", "Bolkonski", "Rostov", "e", "s"};
    compare(phrases, sizeof phrases / sizeof *phrases, text, len, "war-and-peace");
    /* figures from LC_ALL=C grep -o -i -w -F PHRASE | wc -l and wc -w on the file */
    smol_error err;
    smol_scan *s;
    REQUIRE(smol_scan_new(phrases, 4, &s, &err) == SMOL_OK, "%s", err.msg);
    smol_scan_tally *t = smol_scan_tally_new(s);
    smol_scan_text(s, text, len, t);
    CHECK(t->counts[0] == 1928 && t->counts[1] == 34545 && t->counts[2] == 1143 && t->counts[3] == 1213,
          "counts %llu %llu %llu %llu", (unsigned long long)t->counts[0], (unsigned long long)t->counts[1],
          (unsigned long long)t->counts[2], (unsigned long long)t->counts[3]);
    CHECK(t->words == 562488, "words %llu", (unsigned long long)t->words);
    /* pieces cut after newlines give the same counts */
    smol_scan_tally *u = smol_scan_tally_new(s);
    size_t at = 0;
    while (at < len) {
        size_t cut = at + 100000 < len ? at + 100000 : len;
        while (cut < len && text[cut - 1] != '\n') cut++;
        smol_scan_text(s, text + at, cut - at, u);
        at = cut;
    }
    for (int i = 0; i < 4; i++) CHECK(u->counts[i] == t->counts[i], "piecewise count %d differs", i);
    CHECK(u->words == t->words, "piecewise words");
    smol_scan_tally_free(t);
    smol_scan_tally_free(u);
    smol_scan_free(s);
    free(text);
}

int main(void) {
    RUN(test_edge_cases);
    RUN(test_errors);
    RUN(test_random_against_oracle);
    RUN(test_war_and_peace);
    return check_done();
}
