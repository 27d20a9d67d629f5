/* pretok.c: the pre-tokenizer regexes of each tokenizer family, matched by hand. A family is a
 * sequence of stages; each stage is one regex applied to every piece the previous stage made,
 * keeping both its matches and the text between them as pieces (Hugging Face's "Isolated"
 * split, and llama.cpp's unicode_regex_split). A stage is a "find" function giving the leftmost
 * match at or after a position, with the regex's leftmost-first, greedy semantics. */
#include "tok/pretok.h"
#include "tok/unicode.h"
#include <stdbool.h>
#include <string.h>

typedef const unsigned char uchar;

/* For the generic class matchers: one specialized copy per class. */
#if defined(__GNUC__)
#define SPECIALIZE inline __attribute__((always_inline))
#else
#define SPECIALIZE inline
#endif

/* Finds the leftmost match in s[p, e): stores its start in *ms and returns its end, or returns
 * 0 (with *ms = e) if there is none. Matches are never empty. */
typedef size_t (*find_fn)(uchar *s, size_t p, size_t e, size_t *ms);

/* The class bits of the character at s[p] (p < e), and its length in *len. */
static inline unsigned cls_at(uchar *s, size_t p, size_t e, size_t *len) {
    if (s[p] < 0x80) { *len = 1; return smol_uc_byte[s[p]]; }
    int32_t cp;
    *len = smol_uc_decode(s + p, e - p, &cp);
    return smol_uc_class(cp);
}

/* The code point at s[p] (SMOL_UC_INVALID for an invalid byte) and its length in *len. */
static inline int32_t cp_at(uchar *s, size_t p, size_t e, size_t *len) {
    if (s[p] < 0x80) { *len = 1; return s[p]; }
    int32_t cp;
    *len = smol_uc_decode(s + p, e - p, &cp);
    return cp;
}

/* "Other" characters: [^\s\p{L}\p{N}] (invalid bytes included). */
static inline bool is_other(unsigned c) { return (c & (SMOL_UC_LETTER | SMOL_UC_NUMBER | SMOL_UC_SPACE)) == 0; }

/* The end of the run from p of characters whose class has some bit of mask (or, when other,
 * of [^\s\p{L}\p{N}] characters). ASCII is scanned in a tight loop. */
static inline size_t span_cls(uchar *s, size_t p, size_t e, unsigned mask, bool other) {
    const unsigned stop = SMOL_UC_LETTER | SMOL_UC_NUMBER | SMOL_UC_SPACE | SMOL_UC_MULTI;
    for (;;) {
        if (other) while (p < e && !(smol_uc_byte[s[p]] & stop)) p++;
        else while (p < e && (smol_uc_byte[s[p]] & mask)) p++;
        if (p >= e || s[p] < 0x80) return p;
        size_t len;
        unsigned c = cls_at(s, p, e, &len);
        if (other ? !is_other(c) : !(c & mask)) return p;
        p += len;
    }
}

/* The end of the run of \p{L} characters from p. ASCII letters are tested 8 bytes at a time:
 * b | 0x20 lies in 'a'..'z' exactly for the ASCII letters, and adding 0x1F or 0x05 to a 7-bit
 * byte sets its top bit when it is >= 'a' or > 'z', without a carry into the next byte. */
static inline size_t span_letters(uchar *s, size_t p, size_t e) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    while (p + 8 <= e) {
        uint64_t x;
        memcpy(&x, s + p, 8);
        uint64_t y = (x | 0x20 * ones) & 0x7F * ones;
        uint64_t letter = (y + 0x1F * ones) & ~(y + 0x05 * ones) & ~x & high;
        uint64_t stop = ~letter & high;
        if (stop) { p += (size_t)__builtin_ctzll(stop) / 8; break; }
        p += 8;
    }
#endif
    return span_cls(s, p, e, SMOL_UC_LETTER, false);
}

static inline bool is_nl(unsigned char c) { return c == '\r' || c == '\n'; }

/* Length of a contraction 's 't 're 've 'm 'll 'd at s[p] == '\'' (0 if none); with fold, any
 * case, and U+017F (long s, which folds to s) as s. */
static size_t contraction(uchar *s, size_t p, size_t e, bool fold) {
    if (p + 1 >= e) return 0;
    unsigned a = s[p + 1], b = p + 2 < e ? s[p + 2] : 0;
    if (fold) {
        if (a == 0xC5 && b == 0xBF) return 3;
        if (a >= 'A' && a <= 'Z') a += 32;
        if (b >= 'A' && b <= 'Z') b += 32;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* \s+(?!\S)|\s+ at the whitespace character s[p]: the match length. The run stops before its
 * last character when a non-space follows it, unless that is its only character. */
static size_t space_tail(uchar *s, size_t p, size_t e) {
    size_t q = p, last = p, len;
    while (q < e && (cls_at(s, q, e, &len) & SMOL_UC_SPACE)) { last = q; q += len; }
    return (q == e || last == p) ? q - p : last - p;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ at p. */
static inline size_t gpt2_at(uchar *s, size_t p, size_t e) {
    if (s[p] == '\'') {
        size_t n = contraction(s, p, e, false);
        if (n) return n;
    }
    size_t l0, l1;
    unsigned c = cls_at(s, p, e, &l0);
    size_t from = p;
    if (s[p] == ' ' && p + 1 < e) {
        unsigned c1 = cls_at(s, p + 1, e, &l1);
        if (!(c1 & SMOL_UC_SPACE)) { c = c1; from = p + 1; }
    }
    if (!(c & SMOL_UC_SPACE)) {
        if (c & SMOL_UC_LETTER) return span_letters(s, from, e) - p;
        if (c & SMOL_UC_NUMBER) return span_cls(s, from, e, SMOL_UC_NUMBER, false) - p;
        return span_cls(s, from, e, 0, true) - p;
    }
    return space_tail(s, p, e);
}

/* Llama-3 (max_digits 3) and Qwen2 (max_digits 1):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+ at p. */
static inline size_t llama3_at(uchar *s, size_t p, size_t e, int max_digits) {
    unsigned ch = s[p];
    if (ch == '\'') {
        size_t n = contraction(s, p, e, true);
        if (n) return n;
    }
    size_t l0, l1;
    unsigned c = cls_at(s, p, e, &l0);
    if (c & SMOL_UC_LETTER) return span_letters(s, p + l0, e) - p;
    if (!is_nl((unsigned char)ch) && !(c & SMOL_UC_NUMBER) && p + l0 < e &&
        (cls_at(s, p + l0, e, &l1) & SMOL_UC_LETTER))
        return span_letters(s, p + l0, e) - p;
    if (c & SMOL_UC_NUMBER) {
        size_t q = p + l0;
        for (int n = 1; n < max_digits && q < e && (cls_at(s, q, e, &l1) & SMOL_UC_NUMBER); n++) q += l1;
        return q - p;
    }
    size_t from = p;
    unsigned cf = c;
    if (ch == ' ' && p + 1 < e) { from = p + 1; cf = cls_at(s, from, e, &l1); }
    if (!is_other(cf)) { from = p; cf = c; }
    if (is_other(cf)) {
        size_t q = span_cls(s, from, e, 0, true);
        while (q < e && is_nl(s[q])) q++;
        return q - p;
    }
    size_t q = span_cls(s, p, e, SMOL_UC_SPACE, false), last_nl = q;
    for (size_t i = p; i < q; i++) if (is_nl(s[i])) last_nl = i;
    if (last_nl < q) return last_nl + 1 - p;
    return space_tail(s, p, e);
}

/* ---------------------------------------------------------------- stages */

static size_t find_gpt2(uchar *s, size_t p, size_t e, size_t *ms) {
    *ms = p;
    return p + gpt2_at(s, p, e);
}

static size_t find_llama3(uchar *s, size_t p, size_t e, size_t *ms) {
    *ms = p;
    return p + llama3_at(s, p, e, 3);
}

static size_t find_qwen2(uchar *s, size_t p, size_t e, size_t *ms) {
    *ms = p;
    return p + llama3_at(s, p, e, 1);
}

/* The first position from p of an ASCII digit or a byte >= 0x80, or e. Eight bytes at a time:
 * for a 7-bit byte y, y + 0x50 and y + 0x46 set the top bit exactly when y >= '0' and y > '9'. */
static inline size_t skip_to_digit_or_multi(uchar *s, size_t p, size_t e) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    while (p + 8 <= e) {
        uint64_t x;
        memcpy(&x, s + p, 8);
        uint64_t y = x & 0x7F * ones;
        uint64_t stop = (((y + 0x50 * ones) & ~(y + 0x46 * ones)) | x) & high;
        if (stop) return p + (size_t)__builtin_ctzll(stop) / 8;
        p += 8;
    }
#endif
    while (p < e && !(smol_uc_byte[s[p]] & (SMOL_UC_NUMBER | SMOL_UC_MULTI))) p++;
    return p;
}

/* \p{N}: one number character. */
static size_t find_number(uchar *s, size_t p, size_t e, size_t *ms) {
    while (p < e) {
        p = skip_to_digit_or_multi(s, p, e);
        if (p == e) break;
        size_t len;
        unsigned c = cls_at(s, p, e, &len);
        if (c & SMOL_UC_NUMBER) { *ms = p; return p + len; }
        p += len;
    }
    *ms = e;
    return 0;
}

/* \p{N}+ */
static size_t find_numbers(uchar *s, size_t p, size_t e, size_t *ms) {
    size_t q = find_number(s, p, e, ms);
    return q ? span_cls(s, q, e, SMOL_UC_NUMBER, false) : 0;
}

/* [\r\n]: one line-break byte. */
static size_t find_nl(uchar *s, size_t p, size_t e, size_t *ms) {
    for (; p < e; p++)
        if (is_nl(s[p])) { *ms = p; return p + 1; }
    *ms = e;
    return 0;
}

/* [0-9][0-9][0-9] */
static size_t find_digits3(uchar *s, size_t p, size_t e, size_t *ms) {
    for (; p + 3 <= e; p++) {
        if (s[p] >= '0' && s[p] <= '9' && s[p + 1] >= '0' && s[p + 1] <= '9' && s[p + 2] >= '0' && s[p + 2] <= '9') {
            *ms = p;
            return p + 3;
        }
    }
    *ms = e;
    return 0;
}

/* \s+$: the whitespace at the end of the piece. */
static size_t find_trailing_space(uchar *s, size_t p, size_t e, size_t *ms) {
    size_t q = p, run = e;  /* run: start of the current whitespace run */
    while (q < e) {
        size_t len;
        unsigned c = cls_at(s, q, e, &len);
        if (c & SMOL_UC_SPACE) { if (run == e) run = q; }
        else run = e;
        q += len;
    }
    *ms = run;
    return run < e ? e : 0;
}

typedef struct cp_range { int32_t lo, hi; } cp_range;

static bool in_ranges(int32_t cp, const cp_range *r, size_t n) {
    if (cp < 0x80) {  /* the few ASCII ranges come first */
        for (size_t i = 0; i < n && r[i].lo <= cp; i++)
            if (cp <= r[i].hi) return true;
        return false;
    }
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo) hi = mid;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return true;
    }
    return false;
}

/* DeepSeek LLM's letter class (cased letters, as written in llama.cpp's llama-vocab.cpp). */
static const cp_range k_ds_letters[] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA}, {0x1BC, 0x1BF},
    {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377}, {0x37B, 0x37D}, {0x37F, 0x37F},
    {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C}, {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481},
    {0x48A, 0x52F}, {0x531, 0x556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D},
    {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC},
    {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102},
    {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3},
    {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF},
    {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3},
    {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

/* DeepSeek LLM's punctuation class [!-/:-~！-／：-～‘-‟　-。]. */
static const cp_range k_ds_punct[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E},
};

/* The DeepSeek CJK class [一-龥ࠀ-一가-퟿]. */
static const cp_range k_ds_cjk[] = { {0x800, 0x9FA5}, {0xAC00, 0xD7FF} };

#define N_RANGES(a) (sizeof(a) / sizeof((a)[0]))

/* A character class for the generic matchers: a range table (with its ASCII members as a
 * 128-bit mask), or class bits. */
typedef struct char_class { const cp_range *ranges; size_t n; uint64_t ascii[2]; unsigned bits; } char_class;

static SPECIALIZE bool class_has(const char_class *k, uchar *s, size_t p, size_t e, size_t *len) {
    if (k->ranges) {
        if (s[p] < 0x80) { *len = 1; return (k->ascii[s[p] >> 6] >> (s[p] & 63)) & 1; }
        return in_ranges(cp_at(s, p, e, len), k->ranges, k->n);
    }
    return (cls_at(s, p, e, len) & k->bits) != 0;
}

/* [class]+ */
static SPECIALIZE size_t find_run(const char_class *k, uchar *s, size_t p, size_t e, size_t *ms) {
    size_t len;
    while (p < e && !class_has(k, s, p, e, &len)) p += len;
    *ms = p;
    if (p == e) return 0;
    while (p < e && class_has(k, s, p, e, &len)) p += len;
    return p;
}

/* \s?[class]+ */
static SPECIALIZE size_t find_space_run(const char_class *k, uchar *s, size_t p, size_t e, size_t *ms) {
    size_t len, len1;
    for (; p < e; p += len) {
        size_t from = p;
        if (class_has(k, s, p, e, &len)) from = p;
        else if ((cls_at(s, p, e, &len) & SMOL_UC_SPACE) && p + len < e && class_has(k, s, p + len, e, &len1))
            from = p + len;
        else continue;
        *ms = p;
        size_t q = from;
        while (q < e && class_has(k, s, q, e, &len1)) q += len1;
        return q;
    }
    *ms = e;
    return 0;
}

static const char_class k_cls_ds_letters = { k_ds_letters, N_RANGES(k_ds_letters),  /* A-Z a-z */
                                             { 0, 0x07FFFFFE07FFFFFEULL }, 0 };
static const char_class k_cls_ds_punct = { k_ds_punct, N_RANGES(k_ds_punct),        /* !-/ :-~ */
                                           { 0xFC00FFFE00000000ULL, 0x7FFFFFFFFFFFFFFFULL }, 0 };
static const char_class k_cls_ds_cjk = { k_ds_cjk, N_RANGES(k_ds_cjk), { 0, 0 }, 0 };
static const char_class k_cls_letter = { NULL, 0, { 0, 0 }, SMOL_UC_LETTER };
static const char_class k_cls_punct = { NULL, 0, { 0, 0 }, SMOL_UC_PUNCT };

static size_t find_ds_letters(uchar *s, size_t p, size_t e, size_t *ms) { return find_space_run(&k_cls_ds_letters, s, p, e, ms); }
static size_t find_ds_punct(uchar *s, size_t p, size_t e, size_t *ms) { return find_space_run(&k_cls_ds_punct, s, p, e, ms); }
static size_t find_ds_cjk(uchar *s, size_t p, size_t e, size_t *ms) { return find_run(&k_cls_ds_cjk, s, p, e, ms); }
static size_t find_space_letters(uchar *s, size_t p, size_t e, size_t *ms) { return find_space_run(&k_cls_letter, s, p, e, ms); }
static size_t find_space_punct(uchar *s, size_t p, size_t e, size_t *ms) { return find_space_run(&k_cls_punct, s, p, e, ms); }

/* Falcon's [\p{P}\$\+<=>\^~\|`] */
static inline bool falcon_punct(uchar *s, size_t p, size_t e, size_t *len) {
    unsigned char b = s[p];
    if (b == '$' || b == '+' || b == '<' || b == '=' || b == '>' || b == '^' || b == '~' || b == '|' || b == '`') {
        *len = 1;
        return true;
    }
    return (cls_at(s, p, e, len) & SMOL_UC_PUNCT) != 0;
}

/* [\p{P}\$\+<=>\^~\|`]+ */
static size_t find_falcon_punct(uchar *s, size_t p, size_t e, size_t *ms) {
    size_t len;
    while (p < e && !falcon_punct(s, p, e, &len)) p += len;
    *ms = p;
    if (p == e) return 0;
    while (p < e && falcon_punct(s, p, e, &len)) p += len;
    return p;
}

/* ---------------------------------------------------------------- families */

#define MAX_STAGES 6

typedef struct family {
    const char *name;            /* the canonical llama.cpp name */
    int n_stages;
    find_fn stages[MAX_STAGES];
} family;

static const family k_families[SMOL_PRETOK_COUNT] = {
    [SMOL_PRETOK_NONE]           = { "none", 0, { NULL } },
    [SMOL_PRETOK_GPT2]           = { "gpt-2", 1, { find_gpt2 } },
    [SMOL_PRETOK_LLAMA3]         = { "llama-bpe", 1, { find_llama3 } },
    [SMOL_PRETOK_QWEN2]          = { "qwen2", 1, { find_qwen2 } },
    [SMOL_PRETOK_SMOLLM]         = { "smollm", 2, { find_number, find_gpt2 } },
    [SMOL_PRETOK_DEEPSEEK_LLM]   = { "deepseek-llm", 6, { find_nl, find_ds_letters, find_ds_punct,
                                       find_trailing_space, find_ds_cjk, find_numbers } },
    [SMOL_PRETOK_DEEPSEEK_CODER] = { "deepseek-coder", 5, { find_nl, find_space_letters, find_space_punct,
                                       find_ds_cjk, find_number } },
    [SMOL_PRETOK_FALCON]         = { "falcon", 3, { find_falcon_punct, find_gpt2, find_digits3 } },
    [SMOL_PRETOK_STARCODER]      = { "starcoder", 2, { find_number, find_gpt2 } },
    [SMOL_PRETOK_MPT]            = { "mpt", 1, { find_gpt2 } },
};

typedef struct chain {
    const family *fam;
    uchar *text;
    smol_pretok_cb cb;
    void *ctx;
} chain;

/* GPT-2, MPT, Llama-3 and Qwen2 over s[p, len): one regex that matches at every position, so no
 * gaps. Words of
 * ASCII letters, with or without a leading space, take a short path (the same match as both
 * patterns give: ` ?\p{L}+` and `[^\r\n\p{L}\p{N}]?\p{L}+`). */
static int split_one_stage(smol_pretok_kind kind, uchar *s, size_t p, size_t len, smol_pretok_cb cb, void *ctx) {
    int digits = kind == SMOL_PRETOK_LLAMA3 ? 3 : 1;
    bool gpt2 = kind == SMOL_PRETOK_GPT2 || kind == SMOL_PRETOK_MPT;
    while (p < len) {
        size_t q;
        unsigned b = s[p];
        if (smol_uc_byte[b] & SMOL_UC_LETTER)
            q = span_letters(s, p + 1, len);
        else if (b == ' ' && p + 1 < len && (smol_uc_byte[s[p + 1]] & SMOL_UC_LETTER))
            q = span_letters(s, p + 2, len);
        else
            q = p + (gpt2 ? gpt2_at(s, p, len) : llama3_at(s, p, len, digits));
        int rc = cb(ctx, p, q - p);
        if (rc) return rc;
        p = q;
    }
    return 0;
}

/* Splits piece [b, e) with stage k and passes each match and each gap between matches on. */
static int run_stage(const chain *c, int k, size_t b, size_t e) {
    if (k == c->fam->n_stages) return c->cb(c->ctx, b, e - b);
    find_fn find = c->fam->stages[k];
    if (find == find_gpt2 && k + 1 == c->fam->n_stages)
        return split_one_stage(SMOL_PRETOK_GPT2, c->text, b, e, c->cb, c->ctx);
    size_t p = b;
    while (p < e) {
        size_t ms, me = find(c->text, p, e, &ms);
        int rc;
        if (ms > p && (rc = run_stage(c, k + 1, p, ms)) != 0) return rc;
        if (!me) break;
        if ((rc = run_stage(c, k + 1, ms, me)) != 0) return rc;
        p = me;
    }
    return 0;
}

int smol_pretok_split(smol_pretok_kind kind, const char *text, size_t len, smol_pretok_cb cb, void *ctx) {
    if (len == 0 || !text || !cb) return 0;
    if ((int)kind < 0 || kind >= SMOL_PRETOK_COUNT) kind = SMOL_PRETOK_NONE;
    chain c = { &k_families[kind], (uchar *)text, cb, ctx };
    if (kind == SMOL_PRETOK_GPT2 || kind == SMOL_PRETOK_MPT || kind == SMOL_PRETOK_LLAMA3 ||
        kind == SMOL_PRETOK_QWEN2)
        return split_one_stage(kind, c.text, 0, len, cb, ctx);
    return run_stage(&c, 0, 0, len);
}

/* llama.cpp's tokenizer.ggml.pre names and the family each uses. */
static const struct { const char *name; smol_pretok_kind kind; } k_names[] = {
    { "default", SMOL_PRETOK_GPT2 }, { "gpt-2", SMOL_PRETOK_GPT2 }, { "gpt2", SMOL_PRETOK_GPT2 },
    { "phi-2", SMOL_PRETOK_GPT2 }, { "jina-es", SMOL_PRETOK_GPT2 }, { "jina-de", SMOL_PRETOK_GPT2 },
    { "gigachat", SMOL_PRETOK_GPT2 }, { "jina-v2-es", SMOL_PRETOK_GPT2 }, { "jina-v2-de", SMOL_PRETOK_GPT2 },
    { "jina-v1-en", SMOL_PRETOK_GPT2 }, { "jina-v2-code", SMOL_PRETOK_GPT2 }, { "roberta-bpe", SMOL_PRETOK_GPT2 },
    { "a.x-4.0", SMOL_PRETOK_GPT2 }, { "mellum", SMOL_PRETOK_GPT2 }, { "exaone4", SMOL_PRETOK_GPT2 },
    { "olmo", SMOL_PRETOK_GPT2 }, { "jais", SMOL_PRETOK_GPT2 }, { "trillion", SMOL_PRETOK_GPT2 },
    { "granite-docling", SMOL_PRETOK_GPT2 },
    { "llama3", SMOL_PRETOK_LLAMA3 }, { "llama-v3", SMOL_PRETOK_LLAMA3 }, { "llama-bpe", SMOL_PRETOK_LLAMA3 },
    { "falcon3", SMOL_PRETOK_LLAMA3 }, { "falcon-h1", SMOL_PRETOK_LLAMA3 }, { "pixtral", SMOL_PRETOK_LLAMA3 },
    { "midm-2.0", SMOL_PRETOK_LLAMA3 }, { "lfm2", SMOL_PRETOK_LLAMA3 }, { "dbrx", SMOL_PRETOK_LLAMA3 },
    { "smaug-bpe", SMOL_PRETOK_LLAMA3 }, { "glm4", SMOL_PRETOK_LLAMA3 }, { "chatglm-bpe", SMOL_PRETOK_LLAMA3 },
    { "qwen2", SMOL_PRETOK_QWEN2 }, { "deepseek-r1-qwen", SMOL_PRETOK_QWEN2 }, { "kormo", SMOL_PRETOK_QWEN2 },
    { "megrez", SMOL_PRETOK_QWEN2 }, { "stablelm2", SMOL_PRETOK_QWEN2 }, { "hunyuan", SMOL_PRETOK_QWEN2 },
    { "grok-2", SMOL_PRETOK_QWEN2 },
    { "smollm", SMOL_PRETOK_SMOLLM },
    { "starcoder", SMOL_PRETOK_STARCODER }, { "refact", SMOL_PRETOK_STARCODER },
    { "command-r", SMOL_PRETOK_STARCODER }, { "codeshell", SMOL_PRETOK_STARCODER },
    { "exaone", SMOL_PRETOK_STARCODER }, { "minerva-7b", SMOL_PRETOK_STARCODER },
    { "deepseek-llm", SMOL_PRETOK_DEEPSEEK_LLM }, { "deepseek-coder", SMOL_PRETOK_DEEPSEEK_CODER },
    { "falcon", SMOL_PRETOK_FALCON },
    { "mpt", SMOL_PRETOK_MPT }, { "gpt-neox", SMOL_PRETOK_MPT },
    { "none", SMOL_PRETOK_NONE },
};

int smol_pretok_from_name(const char *name) {
    if (!name) return -1;
    for (size_t i = 0; i < N_RANGES(k_names); i++)
        if (strcmp(name, k_names[i].name) == 0) return (int)k_names[i].kind;
    return -1;
}

const char *smol_pretok_name(smol_pretok_kind kind) {
    if ((int)kind < 0 || kind >= SMOL_PRETOK_COUNT) return "unknown";
    return k_families[kind].name;
}
