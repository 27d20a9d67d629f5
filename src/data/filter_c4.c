/* filter_c4.c: C4's line and page rules (Raffel et al. 2020) as datatrove's C4QualityFilter
 * applies them: lines are removed, the page dropped for "lorem ipsum", '{' or too few sentences. */
#include "data/filters_internal.h"
#include "base/error.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct c4_state {
    int remove_citations, filter_no_terminal_punct, filter_lorem_ipsum, filter_javascript, filter_curly_bracket,
        filter_policy;
    long min_num_sentences, min_words_per_line, max_word_length;
    char *out;          /* the rewritten text */
    size_t out_cap;
    int doc_lorem, doc_js, doc_policy;   /* the phrases occur somewhere in the document */
    int doc_square, doc_curly;           /* '[' / '{' occurs somewhere in the document */
    char *line;         /* one line with citations removed */
    char *lower;        /* the line lowercased (ASCII) for phrase search */
    size_t line_cap;
} c4_state;

static const char *const k_policy[] = {"terms of use", "privacy policy", "cookie policy",
                                       "uses cookies", "use of cookies", "use cookies"};

static int c4_init(smol_filter *f, smol_error *err) {
    c4_state *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "filter c4_quality: out of memory");
    f->state = s;
    s->remove_citations = s->filter_no_terminal_punct = s->filter_lorem_ipsum = 1;
    s->filter_javascript = s->filter_curly_bracket = s->filter_policy = 1;
    s->min_num_sentences = 5;
    s->min_words_per_line = 3;
    s->max_word_length = 1000;
    return SMOL_OK;
}

static int c4_option(smol_filter *f, const char *key, const char *v, smol_error *err) {
    c4_state *s = f->state;
    struct { const char *key; int *flag; } bools[] = {
        {"remove_citations", &s->remove_citations},         {"filter_no_terminal_punct", &s->filter_no_terminal_punct},
        {"filter_lorem_ipsum", &s->filter_lorem_ipsum},     {"filter_javascript", &s->filter_javascript},
        {"filter_curly_bracket", &s->filter_curly_bracket}, {"filter_policy", &s->filter_policy}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
        if (!strcmp(key, bools[i].key)) return filter_opt_bool(f, key, v, bools[i].flag, err);
    if (!strcmp(key, "min_num_sentences")) return filter_opt_int(f, key, v, &s->min_num_sentences, err);
    if (!strcmp(key, "min_words_per_line")) return filter_opt_int(f, key, v, &s->min_words_per_line, err);
    if (!strcmp(key, "max_word_length")) return filter_opt_int(f, key, v, &s->max_word_length, err);
    return filter_unknown_option(f, key, err);
}

/* 1 if needle (lowercase ASCII, m bytes) occurs in lower (an ASCII-lowercased line). */
static int has(const char *lower, size_t n, const char *needle, size_t m) {
    return n >= m && memmem(lower, n, needle, m) != NULL;
}
#define HAS(lower, n, lit) has(lower, n, lit, sizeof lit - 1)

/* Words (runs of non-whitespace, as str.split()) in l and the longest one's length in code points;
 * stops counting at enough words when the longest is not wanted (longest is then 0). */
static long line_words(const char *l, size_t n, int want_longest, long enough, long *longest) {
    long words = 0, best = 0, cur = 0;
    for (size_t i = 0; i < n;) {
        if (!want_longest && words >= enough) break;
        unsigned char c = (unsigned char)l[i];
        size_t sp = c < 0x80 ? (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) : 0;
        if (c >= 0x80 && (c == 0xC2 || c == 0xE1 || c == 0xE2 || c == 0xE3)) {
            size_t j = i;
            if (smol_cp_is_space(smol_utf8_next(l, n, &j))) sp = j - i;
        }
        if (sp) {
            if (cur > best) best = cur;
            cur = 0;
            i += sp;
            continue;
        }
        if (cur == 0) words++;
        cur += (c & 0xC0) != 0x80;
        i++;
    }
    *longest = cur > best ? cur : best;
    return words;
}

/* 1 if some run of bytes between ASCII spaces (0x20) in l is longer than limit bytes. A word
 * (between any whitespace) lies inside such a run and has no more code points than bytes, so 0
 * means no word is longer than limit; eight bytes are checked at a step. */
static int has_long_run(const char *l, size_t n, long limit) {
    const uint64_t ones = 0x0101010101010101ull, low7 = 0x7F7F7F7F7F7F7F7Full;
    size_t run_start = 0, i = 0;   /* the current run starts at or after run_start */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, l + i, 8);
        w ^= ones * ' ';
        uint64_t zero = ~(((w & low7) + low7) | w | low7);   /* 0x80 at each space, exactly */
        size_t end = zero ? i + (size_t)__builtin_ctzll(zero) / 8 : i + 8;   /* the run ends here or later */
        if ((long)(end - run_start) > limit) return 1;
        if (zero) run_start = i + (size_t)(63 - __builtin_clzll(zero)) / 8 + 1;
    }
    for (; i < n; i++)
        if (l[i] == ' ') run_start = i + 1;
        else if ((long)(i + 1 - run_start) > limit) return 1;
    return 0;
}

/* Copies line to dst without Wikipedia citations: [digits], [edit], [citation needed]. */
static size_t strip_citations(const char *l, size_t n, char *dst) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (l[i] == '[') {
            size_t j = i + 1;
            while (j < n && l[j] >= '0' && l[j] <= '9') j++;
            size_t cut = 0;
            if (j < n && l[j] == ']') cut = j + 1 - i;
            else if (n - i >= 6 && !memcmp(l + i, "[edit]", 6)) cut = 6;
            else if (n - i >= 17 && !memcmp(l + i, "[citation needed]", 17)) cut = 17;
            if (cut) { i += cut; continue; }
        }
        dst[o++] = l[i++];
    }
    return o;
}

static int ends_with(const char *l, size_t n, const char *suf) {
    size_t m = strlen(suf);
    return n >= m && !memcmp(l + n - m, suf, m);
}

/* Applies the line rules to one stripped line: 1 keep (text in *kept, *kept_len), 0 remove,
 * or 2/3 drop the document (lorem ipsum / curly bracket). */
static int c4_line(smol_filter *f, c4_state *s, const char *l, size_t n, const char **kept, size_t *kept_len) {
    /* a word cannot have more code points than the line (or its run between spaces) has bytes */
    int want_longest = s->max_word_length != -1 && (long)n > s->max_word_length && has_long_run(l, n, s->max_word_length);
    long longest, words = line_words(l, n, want_longest, s->min_words_per_line, &longest);
    if (want_longest && longest > s->max_word_length) {
        filter_count(f, "line-filter-too_long_word", 1);
        return 0;
    }
    if (s->remove_citations && s->doc_square && memchr(l, '[', n)) {
        n = strip_citations(l, n, s->line);
        l = s->line;
    }
    if (s->filter_no_terminal_punct) {
        char c = n ? l[n - 1] : 0;
        if (!(c == '.' || c == '?' || c == '!' || c == '"' || c == '\'') || ends_with(l, n, "...")) {
            filter_count(f, "line-filter-no_terminal_punc", 1);
            return 0;
        }
    }
    if (words < s->min_words_per_line) {
        filter_count(f, "line-filter-too_few_words", 1);
        return 0;
    }
    char *low = s->lower;
    if (s->doc_lorem || s->doc_js || s->doc_policy)
        for (size_t i = 0; i < n; i++) low[i] = (char)(l[i] >= 'A' && l[i] <= 'Z' ? l[i] + 32 : l[i]);
    if (s->filter_lorem_ipsum && s->doc_lorem && HAS(low, n, "lorem ipsum")) return 2;
    if (s->filter_javascript && s->doc_js && HAS(low, n, "javascript")) {
        filter_count(f, "line-filter-javascript", 1);
        return 0;
    }
    if (s->filter_curly_bracket && s->doc_curly && memchr(l, '{', n)) return 3;
    if (s->filter_policy && s->doc_policy && (HAS(low, n, "polic") || HAS(low, n, "cookie") || HAS(low, n, "terms of use")))
        for (size_t k = 0; k < sizeof k_policy / sizeof k_policy[0]; k++)
            if (has(low, n, k_policy[k], strlen(k_policy[k]))) {
                filter_count(f, "line-filter-policy", 1);
                return 0;
            }
    *kept = l;
    *kept_len = n;
    return 1;
}

static int c4_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    c4_state *s = f->state;
    size_t n = doc->text_len;
    if (n + 1 > s->out_cap) {
        char *o = realloc(s->out, n + 1), *l = o ? realloc(s->line, n + 1) : NULL, *w = l ? realloc(s->lower, n + 1) : NULL;
        if (o) s->out = o;
        if (l) s->line = l;
        if (w) s->lower = w;
        if (!o || !l || !w) goto oom;
        s->out_cap = s->line_cap = n + 1;
    }
    /* which phrases occur anywhere (lines are searched only for those) */
    static const char *const k_doc_phrases[] = {"lorem ipsum", "javascript", "polic", "cookie", "terms of use"};
    unsigned found = smol_ascii_phrases(doc->text, n, k_doc_phrases, 5);
    s->doc_lorem = found & 1;
    s->doc_js = (found >> 1) & 1;
    s->doc_policy = (found >> 2) != 0;
    /* a line holds '[' or '{' only if the document does (citations only remove bytes) */
    s->doc_square = memchr(doc->text, '[', n) != NULL;
    s->doc_curly = memchr(doc->text, '{', n) != NULL;
    if (smol_splitlines(doc->text, n, &f->lines)) goto oom;
    if (f->lines.n) filter_count(f, "line-total", 0);   /* registered where the first line would register it */
    long sentences = 0;
    size_t o = 0;
    for (size_t i = 0; i < f->lines.n; i++) {
        const char *l = f->lines.v[i].s;
        size_t len = f->lines.v[i].len;
        smol_strip(&l, &len);
        const char *kept;
        size_t kept_len;
        int rc = c4_line(f, s, l, len, &kept, &kept_len);
        if (rc < 0) goto oom;
        if (rc == 2 || rc == 3) {
            filter_count(f, "line-total", (long)i + 1);
            *reason = rc == 2 ? "c4_quality:lorem_ipsum" : "c4_quality:curly_bracket";
            return 0;
        }
        if (rc == 0) continue;
        /* only whether the document reaches min_num_sentences matters: count up to there */
        if (sentences < s->min_num_sentences) {
            long need = s->min_num_sentences - sentences;
            sentences += smol_count_sentences_upto(kept, kept_len, need > INT_MAX ? INT_MAX : (int)need);
        }
        if (o) s->out[o++] = '\n';
        memcpy(s->out + o, kept, kept_len);
        o += kept_len;
        filter_count(f, "line-kept", 1);
    }
    filter_count(f, "line-total", (long)f->lines.n);
    if (sentences < s->min_num_sentences) {
        *reason = "c4_quality:too_few_sentences";
        return 0;
    }
    const char *t = s->out;
    smol_strip(&t, &o);
    /* unchanged text keeps the document's cached analysis */
    if ((o != n || memcmp(t, doc->text, n)) && smol_doc_set_text(doc, t, o, NULL)) goto oom;
    return 1;
oom:
    *reason = "c4_quality: out of memory";
    return SMOL_ENOMEM;
}

static void c4_free(smol_filter *f) {
    c4_state *s = f->state;
    if (!s) return;
    free(s->out);
    free(s->line);
    free(s->lower);
    free(s);
}

const filter_kind filter_kind_c4_quality = {"c4_quality", c4_init, c4_option, NULL, c4_apply, c4_free};
