/* filter_gopher.c: Gopher's repetition and quality rules (Rae et al. 2021, table A1) with the
 * defaults and reason names of datatrove's GopherRepetitionFilter and GopherQualityFilter. */
#include "data/filters_internal.h"
#include "base/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ repetition */

/* One n-gram table slot: in use for the current pass when stamp is the pass's stamp; val is the
 * n-gram's count (top passes) or the start word of the first window with that key. */
typedef struct ngram_slot {
    uint64_t key;
    uint32_t stamp;
    uint32_t val;
} ngram_slot;

typedef struct rep_state {
    double dup_line_frac, dup_para_frac, dup_line_char_frac, dup_para_char_frac;
    double top_frac[5];        /* [2..4]: top n-gram character fractions */
    double dup_frac[11];       /* [5..10]: duplicated n-gram character fractions */
    char *cat;                 /* the words concatenated (datatrove's "".join), zeros after them */
    size_t cat_cap;
    uint32_t *off;             /* per word boundary i: bytes of words [0, i), where word i is in cat */
    uint64_t *hw;              /* per word: hash of its bytes */
    uint64_t *hs;              /* per start word: hash of the current n-gram's words (top passes) */
    uint32_t *suspects;        /* start words that may begin a duplicated n-gram (dup_suspects) */
    uint64_t *once, *twice;    /* bitmaps of keys' bits seen once / more than once (mark_repeats) */
    uint32_t *bit;             /* per start word: its key's bit */
    size_t bits_cap;           /* 64-bit words of each bitmap */
    uint32_t *cand, *cslot;    /* start words whose n-gram may repeat (top passes), their slots */
    uint32_t *first;           /* per slot: the first start word of its n-gram (top passes) */
    size_t cap_words;
    ngram_slot *tab;           /* n-gram hash table (open addressing) */
    uint32_t stamp;
    size_t tcap;
    size_t tsize;              /* slots in use for this document (a power of two <= tcap) */
    int tshift;                /* 64 - log2(tsize) */
} rep_state;

#define MIX_A 0x9E3779B97F4A7C15ull   /* odd multipliers of the hashes */
#define MIX_B 0xBF58476D1CE4E5B9ull
#define CAT_PAD 32                    /* bytes past the words in cat: 16-byte copies and reads stay inside */

static const char *const k_top_reason[5] = {NULL, NULL, "gopher_repetition:top_2_gram", "gopher_repetition:top_3_gram",
                                            "gopher_repetition:top_4_gram"};
static const char *const k_dup_reason[11] = {NULL, NULL, NULL, NULL, NULL,
                                             "gopher_repetition:duplicated_5_n_grams",
                                             "gopher_repetition:duplicated_6_n_grams",
                                             "gopher_repetition:duplicated_7_n_grams",
                                             "gopher_repetition:duplicated_8_n_grams",
                                             "gopher_repetition:duplicated_9_n_grams",
                                             "gopher_repetition:duplicated_10_n_grams"};

static int rep_init(smol_filter *f, smol_error *err) {
    rep_state *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "filter gopher_repetition: out of memory");
    f->state = s;
    s->dup_line_frac = s->dup_para_frac = 0.3;
    s->dup_line_char_frac = s->dup_para_char_frac = 0.2;
    s->top_frac[2] = 0.2;
    s->top_frac[3] = 0.18;
    s->top_frac[4] = 0.16;
    for (int n = 5; n <= 10; n++) s->dup_frac[n] = 0.15 - 0.01 * (n - 5);
    return SMOL_OK;
}

static int rep_option(smol_filter *f, const char *key, const char *v, smol_error *err) {
    rep_state *s = f->state;
    if (!strcmp(key, "dup_line_frac")) return filter_opt_double(f, key, v, &s->dup_line_frac, err);
    if (!strcmp(key, "dup_para_frac")) return filter_opt_double(f, key, v, &s->dup_para_frac, err);
    if (!strcmp(key, "dup_line_char_frac")) return filter_opt_double(f, key, v, &s->dup_line_char_frac, err);
    if (!strcmp(key, "dup_para_char_frac")) return filter_opt_double(f, key, v, &s->dup_para_char_frac, err);
    int n;
    char tail[8];
    if (sscanf(key, "top_%d_gram%7s", &n, tail) == 1 && n >= 2 && n <= 4)
        return filter_opt_double(f, key, v, &s->top_frac[n], err);
    if (sscanf(key, "dup_%d_gram%7s", &n, tail) == 1 && n >= 5 && n <= 10)
        return filter_opt_double(f, key, v, &s->dup_frac[n], err);
    return filter_unknown_option(f, key, err);
}

/* Makes room for cat_bytes + CAT_PAD bytes in s->cat. -1 on no memory. */
static int cat_reserve(rep_state *s, size_t cat_bytes) {
    if (cat_bytes + CAT_PAD <= s->cat_cap) return 0;
    size_t cap = (cat_bytes + CAT_PAD) * 2;
    char *c = realloc(s->cat, cap);
    if (!c) return -1;
    s->cat = c;
    s->cat_cap = cap;
    return 0;
}

/* Sizes the per-word arrays and the n-gram table for a text of `words` words and `bytes` bytes. */
static int rep_grow(rep_state *s, size_t words, size_t bytes) {
    if (words + 1 > s->cap_words) {   /* off has words + 1 entries */
        size_t cap = words + 1024;
        uint64_t **arrs[2] = {&s->hw, &s->hs};
        for (int k = 0; k < 2; k++) {
            uint64_t *a = realloc(*arrs[k], cap * sizeof *a);
            if (!a) return -1;
            *arrs[k] = a;
        }
        uint32_t **idx[5] = {&s->cand, &s->cslot, &s->off, &s->suspects, &s->bit};
        for (int k = 0; k < 5; k++) {
            uint32_t *a = realloc(*idx[k], cap * sizeof *a);
            if (!a) return -1;
            *idx[k] = a;
        }
        s->cap_words = cap;
    }
    size_t bit_words = (words * 32 + 63) / 64 * 2;   /* room for 32 bits a word, a power of two */
    if (bit_words > s->bits_cap) {
        free(s->once);
        free(s->twice);
        s->once = malloc(bit_words * sizeof *s->once);
        s->twice = malloc(bit_words * sizeof *s->twice);
        s->bits_cap = s->once && s->twice ? bit_words : 0;
        if (!s->bits_cap) return -1;
    }
    /* the words are pieces of the text but for `` and '' (two bytes for one '"') */
    if (cat_reserve(s, 2 * bytes)) return -1;
    size_t need = 64;   /* at least 4 slots per word: probes mostly end at the first slot */
    s->tshift = 58;
    while (need < words * 4) {
        need *= 2;
        s->tshift--;
    }
    s->tsize = need;
    if (need > s->tcap) {
        free(s->tab);
        free(s->first);
        s->tab = calloc(need, sizeof *s->tab);
        s->first = malloc(need * sizeof *s->first);
        s->stamp = 0;
        s->tcap = need;
        if (!s->tab || !s->first) {
            s->tcap = 0;
            return -1;
        }
    }
    return 0;
}

/* The bytes p[0..len) with the rest of an 8-byte block zeroed (len <= 8; eight bytes readable). */
static inline uint64_t load_block(const char *p, size_t len) {
    uint64_t v;
    memcpy(&v, p, 8);
    return len >= 8 ? v : v & ((1ull << (8 * len)) - 1);   /* little-endian: low bytes first */
}

/* One step of the byte hashes. */
static inline uint64_t mix_step(uint64_t h, uint64_t v) {
    h = (h ^ v) * MIX_B;
    return h ^ h >> 29;
}

/* A hash of p[0..len), eight bytes a step; eight bytes past p + len must be readable. */
static uint64_t bytes_hash(const char *p, size_t len) {
    uint64_t h = len * MIX_A;
    size_t k = 0;
    for (; k + 8 <= len; k += 8) h = mix_step(h, load_block(p + k, 8));
    return k < len ? mix_step(h, load_block(p + k, len - k)) : h;
}

/* A key of the bytes p[0..len) from their length and first and last eight bytes (all of them up
 * to 16 bytes): equal bytes give equal keys, and windows with equal keys are compared in full. */
static inline uint64_t window_key(const char *p, uint32_t len) {
    uint64_t last = 0;
    if (len >= 8) memcpy(&last, p + len - 8, 8);
    return (load_block(p, len < 8 ? len : 8) * MIX_A ^ last) * MIX_B + len;
}

/* bytes_hash of a word of up to 16 bytes without a loop on its length (sixteen bytes readable). */
static inline uint64_t word_hash(const char *p, size_t len) {
    if (len > 16) return bytes_hash(p, len);
    uint64_t h = mix_step(len * MIX_A, load_block(p, len < 8 ? len : 8));
    return len > 8 ? mix_step(h, load_block(p + 8, len - 8)) : h;
}

/* The table slot where hash h starts probing: the top bits of h times an odd constant. */
static size_t home_slot(const rep_state *s, uint64_t h) { return (size_t)((h * MIX_B) >> s->tshift); }

/* Empties the table for a new pass (by moving to a new stamp). */
static void table_clear(rep_state *s) {
    if (++s->stamp == 0) {
        memset(s->tab, 0, s->tcap * sizeof *s->tab);
        s->stamp = 1;
    }
}

/* Finds key in the table (mask = tsize-1): returns its slot, or the free slot to put it in. */
static size_t table_slot(const rep_state *s, uint64_t key, size_t mask, int *found) {
    size_t k = home_slot(s, key);
    const ngram_slot *t = s->tab;
    while (t[k].stamp == s->stamp && t[k].key != key) k = (k + 1) & mask;
    *found = t[k].stamp == s->stamp;
    return k;
}

/* Concatenates the words into s->cat (off[i]: where word i starts) and hashes each one into s->hw.
 * Sixteen bytes are readable from a token that starts sixteen or more before the text's end, or
 * outside the text (the splitter's `` and '', padded; text_hi - at wraps above 16). -1 on no memory. */
static int cat_words(rep_state *s, const smol_spans *w, uintptr_t text_hi) {
    size_t o = 0;
    for (size_t i = 0; i < w->n; i++) {
        uint32_t len = w->v[i].len;
        if (cat_reserve(s, o + len)) return -1;
        s->off[i] = (uint32_t)o;
        if (len <= 16 && text_hi - (uintptr_t)w->v[i].s >= 16) memcpy(s->cat + o, w->v[i].s, 16);
        else memcpy(s->cat + o, w->v[i].s, len);
        o += len;
    }
    s->off[w->n] = (uint32_t)o;
    memset(s->cat + o, 0, 16);
    for (size_t i = 0; i < w->n; i++) s->hw[i] = word_hash(s->cat + s->off[i], w->v[i].len);
    return 0;
}

/* Characters of the most frequent space-joined n-gram (the first seen among ties) times its
 * count. Only the start words in s->cand (those whose (n-1)-gram repeats; for n = 2 those whose
 * bigram may repeat) are looked at: an n-gram seen once elsewhere has count 1 and the first
 * n-gram wins then. Leaves in s->cand the start words whose n-gram repeats and that have room for n+1.
 * Words hold no space, so n-grams joined by spaces are equal when their words are: the key
 * hashes the word hashes. */
static double top_ngram_chars(rep_state *s, const smol_spans *w, int n, size_t *n_cand) {
    size_t mask = s->tsize - 1, nc = *n_cand;
    table_clear(s);
    uint32_t best_c = 1, best_first = 0;
    for (size_t j = 0; j < nc; j++) {
        uint32_t i = s->cand[j];
        if (n > 2) s->hs[i] = s->hs[i] * MIX_A + s->hw[i + (size_t)n - 1];
        int found;
        uint64_t key = s->hs[i];
        size_t k = table_slot(s, key, mask, &found);
        ngram_slot *t = &s->tab[k];
        if (!found) {
            t->key = key;
            t->stamp = s->stamp;
            t->val = 0;
            s->first[k] = i;
        }
        uint32_t c = ++t->val;
        s->cslot[j] = (uint32_t)k;
        if (c > best_c || (c == best_c && c > 1 && s->first[k] < best_first)) {
            best_c = c;
            best_first = s->first[k];
        }
    }
    size_t kept = 0;
    for (size_t j = 0; j < nc; j++)
        if (s->tab[s->cslot[j]].val > 1 && s->cand[j] + (size_t)n < w->n) s->cand[kept++] = s->cand[j];
    *n_cand = kept;
    size_t chars = (size_t)n - 1;
    for (int k = 0; k < n; k++) chars += w->v[best_first + k].chars;
    return (double)chars * best_c;
}

/* Writes into out the indexes i < count, in order, whose keys (key(s, i)) may occur at another
 * index too, and those for which extra(s, i) is 1; returns how many. Every index sets its key's
 * bit in a bitmap of at least 32 bits an index (zeroed here); the indexes whose bit was set more
 * than once are written: all those of a repeated key and a few others. */
static inline __attribute__((always_inline)) size_t
mark_repeats(rep_state *s, size_t count, uint64_t (*key)(const rep_state *, size_t),
             int (*extra)(const rep_state *, size_t), uint32_t *out) {
    int shift = 64 - 6;
    size_t words = 1;
    while (words * 64 < count * 32) {
        words *= 2;
        shift--;
    }
    memset(s->once, 0, words * sizeof *s->once);
    memset(s->twice, 0, words * sizeof *s->twice);
    for (size_t i = 0; i < count; i++) {
        uint32_t b = s->bit[i] = (uint32_t)((key(s, i) * MIX_B) >> shift);
        uint64_t m = 1ull << (b & 63);
        s->twice[b >> 6] |= s->once[b >> 6] & m;
        s->once[b >> 6] |= m;
    }
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        out[n] = (uint32_t)i;
        n += (size_t)((s->twice[s->bit[i] >> 6] >> (s->bit[i] & 63) & 1) | (uint64_t)extra(s, i));
    }
    return n;
}

/* mark_repeats keys and extras of the first top pass (space-joined bigrams, s->hs) and of the
 * duplicated n-gram passes (the first 8 bytes of the words from a start word concatenated; 5-word
 * windows shorter than 8 bytes). */
static inline uint64_t bigram_key(const rep_state *s, size_t i) { return s->hs[i]; }
static inline int no_extra(const rep_state *s, size_t i) { (void)s, (void)i; return 0; }
static inline uint64_t head_key(const rep_state *s, size_t i) { return load_block(s->cat + s->off[i], 8); }
static inline int short_window(const rep_state *s, size_t i) { return s->off[i + 5] - s->off[i] < 8; }

/* The start words that may begin a duplicated n-gram for some n in 5..10, in order, into
 * s->suspects; returns how many. Two windows that spell the same bytes are at least as long as
 * the 5-word windows at both starts. If they have 8 bytes or more, the two starts share their
 * first 8 bytes in s->cat; if fewer, so has the 5-word window at each start. So a start word
 * whose 5-word window has 8 bytes or more and whose first 8 bytes no other start word shares
 * begins no repeat and matches no later window: the greedy scan only steps over it. (s->cat has
 * zeros after the words, so the last start words have 8 bytes to read.) */
static size_t dup_suspects(rep_state *s, const smol_spans *w) {
    return mark_repeats(s, w->n >= 5 ? w->n - 4 : 0, head_key, short_window, s->suspects);
}

/* datatrove's find_all_duplicate: characters of n-grams (words concatenated) seen before,
 * skipping n words past each repeat. Words [i, i+n) are bytes off[i]..off[i+n] of s->cat; their
 * key picks the slot, and windows with the same key are compared byte for byte. Stops once the
 * characters over denom exceed frac (they only grow). */
static double dup_ngram_chars(rep_state *s, const smol_spans *w, size_t n, size_t n_sus, double denom, double frac) {
    size_t mask = s->tsize - 1;
    table_clear(s);
    double rep = 0;
    size_t i = 0, next = 0;
    for (;;) {
        while (next < n_sus && s->suspects[next] < i) next++;   /* other start words are new windows */
        if (next == n_sus) break;
        i = s->suspects[next];
        if (i + n > w->n) break;
        const char *at = s->cat + s->off[i];
        uint32_t len = s->off[i + n] - s->off[i];
        uint64_t key = window_key(at, len);
        size_t k = home_slot(s, key);
        int found = 0;
        for (; s->tab[k].stamp == s->stamp; k = (k + 1) & mask) {
            uint32_t j = s->tab[k].val;
            if (s->tab[k].key == key && s->off[j + n] - s->off[j] == len && !memcmp(s->cat + s->off[j], at, len)) {
                found = 1;
                break;
            }
        }
        if (found) {
            for (size_t j = 0; j < n; j++) rep += w->v[i + j].chars;
            i += n;
            if (rep / denom > frac) break;
        } else {
            s->tab[k].key = key;
            s->tab[k].stamp = s->stamp;
            s->tab[k].val = (uint32_t)i;
            i++;
        }
    }
    return rep;
}

static int rep_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    rep_state *s = f->state;
    const char *t = doc->text;
    size_t n = doc->text_len;
    double total = (double)smol_utf8_chars(t, n);
    double denom = total > 0 ? total : 1;
    const char *st = t;
    size_t sn = n;
    smol_strip(&st, &sn);
    long dups, dup_chars;
    if (smol_split_newline_runs(st, sn, 2, &f->parts) || filter_find_duplicates(f, &f->parts, &dups, &dup_chars)) goto oom;
    if (s->dup_para_frac > 0 && (double)dups / (double)f->parts.n > s->dup_para_frac) {
        *reason = "gopher_repetition:dup_para_frac";
        return 0;
    }
    if (s->dup_para_char_frac > 0 && dup_chars / denom > s->dup_para_char_frac) {
        *reason = "gopher_repetition:dup_para_char_frac";
        return 0;
    }
    if (smol_split_newline_runs(t, n, 1, &f->lines) || filter_find_duplicates(f, &f->lines, &dups, &dup_chars)) goto oom;
    if (s->dup_line_frac > 0 && (double)dups / (double)f->lines.n > s->dup_line_frac) {
        *reason = "gopher_repetition:dup_line_frac";
        return 0;
    }
    if (s->dup_line_char_frac > 0 && dup_chars / denom > s->dup_line_char_frac) {
        *reason = "gopher_repetition:dup_line_char_frac";
        return 0;
    }
    const smol_spans *w = smol_doc_words(doc);
    if (!w || rep_grow(s, w->n, n) || cat_words(s, w, (uintptr_t)t + n)) goto oom;
    /* space-joined bigram hashes for the first top pass; the candidates are the start words whose
     * bigram may repeat (one seen once has count 1) */
    size_t n_cand = w->n >= 2 ? w->n - 1 : 0;
    for (size_t i = 0; i < n_cand; i++) s->hs[i] = s->hw[i] * MIX_A + s->hw[i + 1];
    n_cand = mark_repeats(s, n_cand, bigram_key, no_extra, s->cand);
    /* Every duplicated n-gram pass runs even when the one before found nothing: n-grams are
     * compared concatenated, so windows split at different places ("a bc d e f gh" and
     * "ab c d e fg h") can repeat for n + 1 words with no repeat for n. They look only at the
     * start words that may begin a repeat (dup_suspects). */
    size_t n_sus = 0;
    for (int g = 2; g <= 10; g++) {
        if (w->n < (size_t)g) break;
        if (g == 5) n_sus = dup_suspects(s, w);
        if (g <= 4 && top_ngram_chars(s, w, g, &n_cand) / denom > s->top_frac[g]) {
            *reason = k_top_reason[g];
            return 0;
        }
        if (g >= 5 && dup_ngram_chars(s, w, (size_t)g, n_sus, denom, s->dup_frac[g]) / denom > s->dup_frac[g]) {
            *reason = k_dup_reason[g];
            return 0;
        }
    }
    return 1;
oom:
    *reason = "gopher_repetition: out of memory";
    return SMOL_ENOMEM;
}

static void rep_free(smol_filter *f) {
    rep_state *s = f->state;
    if (!s) return;
    free(s->cat);
    free(s->off);
    free(s->hw);
    free(s->hs);
    free(s->suspects);
    free(s->once);
    free(s->twice);
    free(s->bit);
    free(s->cand);
    free(s->cslot);
    free(s->first);
    free(s->tab);
    free(s);
}

const filter_kind filter_kind_gopher_repetition = {"gopher_repetition", rep_init, rep_option, NULL, rep_apply,
                                                   rep_free};

/* ------------------------------------------------------------------ quality */

typedef struct qual_state {
    long min_doc_words, max_doc_words;
    double min_avg_word_length, max_avg_word_length, max_symbol_word_ratio, max_bullet_lines_ratio,
        max_ellipsis_lines_ratio, max_non_alpha_words_ratio;
    long min_stop_words;
} qual_state;


static int qual_init(smol_filter *f, smol_error *err) {
    qual_state *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "filter gopher_quality: out of memory");
    f->state = s;
    s->min_doc_words = 50;
    s->max_doc_words = 100000;
    s->min_avg_word_length = 3;
    s->max_avg_word_length = 10;
    s->max_symbol_word_ratio = 0.1;
    s->max_bullet_lines_ratio = 0.9;
    s->max_ellipsis_lines_ratio = 0.3;
    s->max_non_alpha_words_ratio = 0.8;
    s->min_stop_words = 2;
    return SMOL_OK;
}

static int qual_option(smol_filter *f, const char *key, const char *v, smol_error *err) {
    qual_state *s = f->state;
    if (!strcmp(key, "min_doc_words")) return filter_opt_int(f, key, v, &s->min_doc_words, err);
    if (!strcmp(key, "max_doc_words")) return filter_opt_int(f, key, v, &s->max_doc_words, err);
    if (!strcmp(key, "min_stop_words")) return filter_opt_int(f, key, v, &s->min_stop_words, err);
    if (!strcmp(key, "min_avg_word_length")) return filter_opt_double(f, key, v, &s->min_avg_word_length, err);
    if (!strcmp(key, "max_avg_word_length")) return filter_opt_double(f, key, v, &s->max_avg_word_length, err);
    if (!strcmp(key, "max_symbol_word_ratio")) return filter_opt_double(f, key, v, &s->max_symbol_word_ratio, err);
    if (!strcmp(key, "max_bullet_lines_ratio")) return filter_opt_double(f, key, v, &s->max_bullet_lines_ratio, err);
    if (!strcmp(key, "max_ellipsis_lines_ratio"))
        return filter_opt_double(f, key, v, &s->max_ellipsis_lines_ratio, err);
    if (!strcmp(key, "max_non_alpha_words_ratio"))
        return filter_opt_double(f, key, v, &s->max_non_alpha_words_ratio, err);
    return filter_unknown_option(f, key, err);
}

/* Occurrences of byte c in t. */
static long count_byte(const char *t, size_t n, char c) {
    long k = 0;
    for (const char *p = t, *end = t + n; (p = memchr(p, c, (size_t)(end - p))) != NULL; p++) k++;
    return k;
}

/* Line-based checks: bullets ("•" or "-" after leading whitespace) and ellipsis endings. */
static int qual_lines(smol_filter *f, qual_state *s, const char *t, size_t n, const char **reason) {
    if (smol_splitlines(t, n, &f->lines)) return -1;
    size_t nl = f->lines.n;
    if (!nl) return 1;
    long bullets = 0, ellipsis = 0;
    for (size_t i = 0; i < nl; i++) {
        const char *l = f->lines.v[i].s;
        size_t len = f->lines.v[i].len;
        smol_strip(&l, &len);
        if (len && (l[0] == '-' || (len >= 3 && !memcmp(l, "\xE2\x80\xA2", 3)))) bullets++;
        if ((len >= 3 && !memcmp(l + len - 3, "...", 3)) || (len >= 3 && !memcmp(l + len - 3, "\xE2\x80\xA6", 3)))
            ellipsis++;
    }
    /* lstrip/rstrip: a line that is only whitespace strips to nothing either way */
    if (s->max_bullet_lines_ratio > 0 && (double)bullets / (double)nl > s->max_bullet_lines_ratio) {
        *reason = "gopher_quality:gopher_too_many_bullets";
        return 0;
    }
    if (s->max_ellipsis_lines_ratio > 0 && (double)ellipsis / (double)nl > s->max_ellipsis_lines_ratio) {
        *reason = "gopher_quality:gopher_too_many_end_ellipsis";
        return 0;
    }
    return 1;
}

static int qual_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    qual_state *s = f->state;
    const char *t = doc->text;
    size_t n = doc->text_len;
    const smol_spans *w = smol_doc_words(doc);
    if (!w) goto oom;
    smol_word_stats q;
    smol_word_stats_at(w, t, n, smol_scan_level(), &q);
    long n_words = (long)w->n, n_sym_free = q.sym_free, alpha = q.alpha, stops = q.stops;
    uint64_t chars = q.chars;
    if (s->min_doc_words > 0 && n_sym_free < s->min_doc_words) { *reason = "gopher_quality:gopher_short_doc"; return 0; }
    if (s->max_doc_words > 0 && n_sym_free > s->max_doc_words) { *reason = "gopher_quality:gopher_long_doc"; return 0; }
    if (n_sym_free > 0) {
        double avg = (double)chars / (double)n_sym_free;
        if (s->min_avg_word_length > 0 && avg < s->min_avg_word_length) {
            *reason = "gopher_quality:gopher_below_avg_threshold";
            return 0;
        }
        if (s->max_avg_word_length > 0 && avg > s->max_avg_word_length) {
            *reason = "gopher_quality:gopher_above_avg_threshold";
            return 0;
        }
    }
    double nw = n_words > 0 ? (double)n_words : 1;
    if (s->max_symbol_word_ratio > 0 && (double)count_byte(t, n, '#') / nw > s->max_symbol_word_ratio) {
        *reason = "gopher_quality:gopher_too_many_hashes";
        return 0;
    }
    if (s->max_symbol_word_ratio > 0 &&
        (double)smol_count_ellipses(t, n) / nw > s->max_symbol_word_ratio) {
        *reason = "gopher_quality:gopher_too_many_ellipsis";
        return 0;
    }
    int rc = qual_lines(f, s, t, n, reason);
    if (rc < 0) goto oom;
    if (rc == 0) return 0;
    if (s->max_non_alpha_words_ratio > 0 && (double)alpha / nw < s->max_non_alpha_words_ratio) {
        *reason = "gopher_quality:gopher_below_alpha_threshold";
        return 0;
    }
    if (s->min_stop_words > 0 && stops < s->min_stop_words) {
        *reason = "gopher_quality:gopher_enough_stop_words";
        return 0;
    }
    return 1;
oom:
    *reason = "gopher_quality: out of memory";
    return SMOL_ENOMEM;
}

static void qual_free(smol_filter *f) { free(f->state); }

const filter_kind filter_kind_gopher_quality = {"gopher_quality", qual_init, qual_option, NULL, qual_apply, qual_free};
