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
    uint64_t *hw, *pw;         /* per word: polynomial hash of its bytes, B^len */
    uint64_t *hs;              /* per start word: hash of the current n-gram joined by ' ' */
    uint64_t *pre, *bpow, *rel; /* per word boundary i: hash of words [0, i) concatenated, B^(their
                                 * bytes), pre[i] * B^-(their bytes); any run of words hashes from them */
    uint32_t *off;             /* per word boundary i: bytes of words [0, i) */
    uint64_t *head;            /* per start word: the first 8 bytes of the words from it concatenated */
    uint32_t *suspects;        /* start words that may begin a duplicated n-gram (dup_suspects) */
    unsigned char *mark;       /* per start word: 1 when it is a suspect */
    uint32_t *cand, *cslot;    /* start words whose n-gram may repeat (top passes), their slots */
    uint32_t *first;           /* per slot: the first start word of its n-gram (top passes) */
    size_t cap_words;
    ngram_slot *tab;           /* n-gram hash table (open addressing) */
    uint32_t stamp;
    size_t tcap;
    size_t tsize;              /* slots in use for this document (a power of two <= tcap) */
    int tshift;                /* 64 - log2(tsize) */
    uint64_t pow[65], ipow[65]; /* B^0 .. B^64 and their inverses */
    uint64_t byte_term[8][256]; /* [k][c]: c * B^(7-k), byte k's term in the hash of an 8-byte block */
} rep_state;

#define HASH_B 0x9E3779B97F4A7C15ull   /* odd, so every power is too */

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
    uint64_t inv = HASH_B;   /* Newton's iteration for B^-1 mod 2^64: 3, 6, 12, ... correct bits */
    for (int k = 0; k < 5; k++) inv *= 2 - HASH_B * inv;
    s->pow[0] = s->ipow[0] = 1;
    for (int i = 1; i <= 64; i++) {
        s->pow[i] = s->pow[i - 1] * HASH_B;
        s->ipow[i] = s->ipow[i - 1] * inv;
    }
    for (int k = 0; k < 8; k++)
        for (int c = 0; c < 256; c++) s->byte_term[k][c] = (uint64_t)c * s->pow[7 - k];
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

static int rep_grow(rep_state *s, size_t words) {
    if (words + 1 > s->cap_words) {   /* pre and bpow have words + 1 entries */
        size_t cap = words + 1024;
        uint64_t **arrs[7] = {&s->hw, &s->pw, &s->hs, &s->pre, &s->bpow, &s->rel, &s->head};
        for (int k = 0; k < 7; k++) {
            uint64_t *a = realloc(*arrs[k], cap * sizeof *a);
            if (!a) return -1;
            *arrs[k] = a;
        }
        uint32_t **idx[4] = {&s->cand, &s->cslot, &s->off, &s->suspects};
        for (int k = 0; k < 4; k++) {
            uint32_t *a = realloc(*idx[k], cap * sizeof *a);
            if (!a) return -1;
            *idx[k] = a;
        }
        unsigned char *m = realloc(s->mark, cap);
        if (!m) return -1;
        s->mark = m;
        s->cap_words = cap;
    }
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

/* Polynomial hash of bytes c[0..len) (h = h*B + byte), four bytes a step. */
static uint64_t word_hash(const rep_state *s, const unsigned char *c, uint32_t len) {
    uint64_t h = 0;
    uint32_t k = 0;
    const uint64_t b2 = s->pow[2], b3 = s->pow[3], b4 = s->pow[4];
    for (; k + 4 <= len; k += 4) h = h * b4 + (c[k] * b3 + c[k + 1] * b2 + c[k + 2] * HASH_B + c[k + 3]);
    for (; k < len; k++) h = h * HASH_B + c[k];
    return h;
}

/* The hash of the 8-byte block v (byte k of the block is bits 8k..8k+7), from tables. */
static inline __attribute__((always_inline)) uint64_t block_hash(const rep_state *s, uint64_t v) {
    uint64_t h0 = s->byte_term[0][v & 0xFF] + s->byte_term[1][v >> 8 & 0xFF];
    uint64_t h1 = s->byte_term[2][v >> 16 & 0xFF] + s->byte_term[3][v >> 24 & 0xFF];
    uint64_t h2 = s->byte_term[4][v >> 32 & 0xFF] + s->byte_term[5][v >> 40 & 0xFF];
    uint64_t h3 = s->byte_term[6][v >> 48 & 0xFF] + s->byte_term[7][v >> 56];
    return h0 + h1 + h2 + h3;
}

/* word_hash of a word of 1..16 bytes whose sixteen bytes from c are readable, without a loop on
 * its length: the blocks with the bytes past len zeroed hash to H * B^(8-len) (up to 8 bytes) or
 * H * B^(16-len) (two blocks, H(a b) = H(a) B^8 + H(b)), and B is odd, so H is that times
 * B^-(8-len) or B^-(16-len). */
static uint64_t short_word_hash(const rep_state *s, const unsigned char *c, uint32_t len) {
    uint64_t v;
    memcpy(&v, c, 8);
    if (len <= 8) return block_hash(s, v & ~0ull >> (64 - 8 * len)) * s->ipow[8 - len];   /* little-endian: low bytes first */
    uint64_t v2;
    memcpy(&v2, c + 8, 8);
    return (block_hash(s, v) * s->pow[8] + block_hash(s, v2 & ~0ull >> (64 - 8 * (len - 8)))) * s->ipow[16 - len];
}

/* The table slot where hash h starts probing: the top bits of h times an odd constant. */
static size_t home_slot(const rep_state *s, uint64_t h) { return (size_t)((h * 0xBF58476D1CE4E5B9ull) >> s->tshift); }

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

/* Characters of the most frequent space-joined n-gram (the first seen among ties) times its
 * count. Only the start words in s->cand (those whose (n-1)-gram repeats; every start word for
 * n = 2) are looked at: an n-gram seen once elsewhere has count 1 and the first n-gram wins
 * then. Leaves in s->cand the start words whose n-gram repeats and that have room for n+1. */
static double top_ngram_chars(rep_state *s, const smol_spans *w, int n, size_t *n_cand) {
    size_t mask = s->tsize - 1, nc = *n_cand;
    table_clear(s);
    uint32_t best_c = 1, best_first = 0;
    for (size_t j = 0; j < nc; j++) {
        uint32_t i = s->cand[j];
        size_t at = i + (size_t)n - 1;
        if (n > 2) s->hs[i] = (s->hs[i] * HASH_B + ' ') * s->pw[at] + s->hw[at];
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

/* 1 if words [i, i+n) and [j, j+n) spell the same bytes when concatenated. */
static int windows_equal(const rep_state *s, const smol_spans *w, size_t i, size_t j, size_t n) {
    if (s->off[i + n] - s->off[i] != s->off[j + n] - s->off[j]) return 0;
    size_t a = i, b = j;
    uint32_t pa = 0, pb = 0;   /* bytes of words a and b already compared */
    while (a < i + n && b < j + n) {
        uint32_t la = w->v[a].len - pa, lb = w->v[b].len - pb, m = la < lb ? la : lb;
        if (memcmp(w->v[a].s + pa, w->v[b].s + pb, m)) return 0;
        pa += m;
        pb += m;
        if (pa == w->v[a].len) a++, pa = 0;
        if (pb == w->v[b].len) b++, pb = 0;
    }
    return 1;
}

/* Fills s->head: for each start word, the first eight bytes of the words from it concatenated (a
 * little-endian number, zeros past the text's last word). Eight bytes are readable from a token
 * that starts eight or more before the text's end, or outside the text (text_hi - at wraps). */
static void word_heads(rep_state *s, const smol_spans *w, uintptr_t text_hi) {
    uint64_t next = 0;
    for (size_t i = w->n; i-- > 0;) {
        uint32_t len = w->v[i].len;
        const unsigned char *c = (const unsigned char *)w->v[i].s;
        uint64_t v = 0;
        if (text_hi - (uintptr_t)c >= 8) memcpy(&v, c, 8);
        else
            for (uint32_t k = 0; k < len && k < 8; k++) v |= (uint64_t)c[k] << (8 * k);
        if (len < 8) v = (v & ~(~0ull << (8 * len))) | next << (8 * len);
        s->head[i] = next = v;
    }
}

/* The start words that may begin a duplicated n-gram for some n in 5..10, in order, into
 * s->suspects; returns how many. Two windows that spell the same bytes are at least as long as
 * the 5-word windows at both starts. If they have 8 bytes or more, the two starts share their
 * first 8 bytes (s->head); if fewer, so has the 5-word window at each start. So a start word
 * whose 5-word window has 8 bytes or more and whose head no other start word shares begins no
 * repeat and matches no later window: the greedy scan only steps over it. */
static size_t dup_suspects(rep_state *s, const smol_spans *w) {
    size_t starts = w->n >= 5 ? w->n - 4 : 0, mask = s->tsize - 1, n_sus = 0;
    uint32_t end = s->off[w->n];
    table_clear(s);
    for (size_t i = 0; i < starts; i++) {
        s->mark[i] = s->off[i + 5] - s->off[i] < 8;
        if (end - s->off[i] < 8) continue;   /* no head: the 5-word window is short */
        int found;
        size_t k = table_slot(s, s->head[i], mask, &found);
        if (found) {
            s->mark[i] = 1;
            s->mark[s->tab[k].val] = 1;
        } else {
            s->tab[k].key = s->head[i];
            s->tab[k].stamp = s->stamp;
            s->tab[k].val = (uint32_t)i;
        }
    }
    for (size_t i = 0; i < starts; i++)
        if (s->mark[i]) s->suspects[n_sus++] = (uint32_t)i;
    return n_sus;
}

/* datatrove's find_all_duplicate: characters of n-grams (words concatenated) seen before,
 * skipping n words past each repeat. A polynomial hash composes over concatenation,
 * H(a b) = H(a) B^len(b) + H(b), so words [i, i+n) hash to pre[i+n] - rel[i] bpow[i+n]; the hash
 * picks the slot, and windows with the same hash are compared byte for byte.
 * Stops once the characters over denom exceed frac (they only grow). */
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
        uint64_t key = s->pre[i + n] - s->rel[i] * s->bpow[i + n];
        size_t k = home_slot(s, key);
        int found = 0;
        for (; s->tab[k].stamp == s->stamp; k = (k + 1) & mask)
            if (s->tab[k].key == key && windows_equal(s, w, i, s->tab[k].val, n)) {
                found = 1;
                break;
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
    if (!w || rep_grow(s, w->n)) goto oom;
    uint64_t pre = 0, bpow = 1, ibpow = 1;
    s->off[0] = 0;
    /* sixteen bytes are readable from a token that starts sixteen or more before the text's end,
     * or outside the text (the splitter's `` and '', padded; text_hi - at wraps above 16) */
    uintptr_t text_hi = (uintptr_t)t + n;
    for (size_t i = 0; i < w->n; i++) {
        uint32_t len = w->v[i].len;
        uintptr_t at = (uintptr_t)w->v[i].s;
        const unsigned char *c = (const unsigned char *)w->v[i].s;
        uint64_t h = len - 1 < 16 && text_hi - at >= 16 ? short_word_hash(s, c, len) : word_hash(s, c, len);
        uint64_t p = 1, ip = 1;
        if (len <= 64) {
            p = s->pow[len];
            ip = s->ipow[len];
        } else {
            for (uint32_t k = 0; k < len; k++) p *= HASH_B;
            for (uint32_t k = 0; k < len; k++) ip *= s->ipow[1];
        }
        s->off[i + 1] = s->off[i] + len;
        s->hw[i] = h;
        s->pw[i] = p;
        s->pre[i] = pre;
        s->bpow[i] = bpow;
        s->rel[i] = pre * ibpow;
        pre = pre * p + h;
        bpow *= p;
        ibpow *= ip;
    }
    s->pre[w->n] = pre;
    s->bpow[w->n] = bpow;
    /* space-joined bigram hashes for the first top pass; every start word is a candidate */
    size_t n_cand = w->n >= 2 ? w->n - 1 : 0;
    for (size_t i = 0; i < n_cand; i++) {
        s->hs[i] = (s->hw[i] * HASH_B + ' ') * s->pw[i + 1] + s->hw[i + 1];
        s->cand[i] = (uint32_t)i;
    }
    /* Every duplicated n-gram pass runs even when the one before found nothing: n-grams are
     * compared concatenated, so windows split at different places ("a bc d e f gh" and
     * "ab c d e fg h") can repeat for n + 1 words with no repeat for n. They look only at the
     * start words that may begin a repeat (dup_suspects). */
    size_t n_sus = 0;
    for (int g = 2; g <= 10; g++) {
        if (w->n < (size_t)g) break;
        if (g == 5) {
            word_heads(s, w, text_hi);
            n_sus = dup_suspects(s, w);
        }
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
    free(s->hw);
    free(s->pw);
    free(s->hs);
    free(s->pre);
    free(s->bpow);
    free(s->rel);
    free(s->cand);
    free(s->cslot);
    free(s->first);
    free(s->tab);
    free(s->off);
    free(s->head);
    free(s->suspects);
    free(s->mark);
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
