/* words.c: Python-compatible line/whitespace splitting, character classes and an NLTK-style
 * English word splitter, used by the quality filters. */
#include "data/words.h"
#include "data/doc.h"
#include "base/cpu.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void smol_spans_free(smol_spans *l) {
    free(l->v);
    memset(l, 0, sizeof *l);
}

int smol_scan_level(void) {
#if defined(__SSE2__)
    return smol_cpu_has_sse2() ? SMOL_SCAN_SSE2 : SMOL_SCAN_SCALAR;
#else
    return SMOL_SCAN_SCALAR;
#endif
}

size_t smol_utf8_chars(const char *s, size_t n) { return smol_utf8_chars_at(s, n, smol_scan_level()); }

size_t smol_utf8_chars_at(const char *s, size_t n, int level) {
    size_t c = 0, i = 0;
    const unsigned char *p = (const unsigned char *)s;
#if defined(__SSE2__)
    /* continuation bytes 0x80..0xBF are the signed bytes below -64 */
    for (; level == SMOL_SCAN_SSE2 && i + 16 <= n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i));
        if (!_mm_movemask_epi8(b)) { c += 16; continue; }   /* all ASCII */
        c += 16 - (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(b, _mm_set1_epi8(-64))));
    }
#else
    (void)level;
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (!(w & 0x8080808080808080ull)) { c += 8; continue; }
        for (size_t k = 0; k < 8; k++) c += (p[i + k] & 0xC0) != 0x80;
    }
    for (; i < n; i++) c += (p[i] & 0xC0) != 0x80;
    return c;
}

uint32_t smol_utf8_next(const char *s, size_t n, size_t *i) {
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = n - *i;
    if (p[0] < 0x80 || left < 2) { (*i)++; return p[0]; }
    if ((p[0] & 0xE0) == 0xC0) { *i += 2; return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F); }
    if ((p[0] & 0xF0) == 0xE0 && left >= 3) {
        *i += 3;
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    if ((p[0] & 0xF8) == 0xF0 && left >= 4) {
        *i += 4;
        return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
               (p[3] & 0x3F);
    }
    (*i)++;
    return p[0];
}

int smol_cp_is_space(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

int smol_cp_is_alpha(uint32_t cp) {
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT ||
           c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_LO;
}

int smol_cp_is_punct(uint32_t cp) {
    if (cp < 0x80) {
        if (cp < 32) return cp != 9 && cp != 10;   /* control characters except tab and newline */
        if (cp == 127) return 1;
        return cp > 32 && !((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') && !(cp >= '0' && cp <= '9');
    }
    if (cp < 160) return 1;   /* 128-159 control characters */
    static const uint32_t k_marks[] = {0xAB, 0xB4, 0xBB, 0x2013, 0x2014, 0x2019, 0x201C, 0x201D, 0x201E, 0x2026,
                                       0x2236, 0x2501, 0x25BA, 0x3001, 0x3002, 0x3008, 0x3009, 0x300A, 0x300B,
                                       0x300C, 0x300D, 0x3010, 0x3011, 0xFF01, 0xFF05, 0xFF08, 0xFF09, 0xFF0C,
                                       0xFF0E, 0xFF11, 0xFF1A, 0xFF1B, 0xFF1F, 0xFF5E};
    for (size_t i = 0; i < sizeof k_marks / sizeof k_marks[0]; i++)
        if (k_marks[i] == cp) return 1;
    return 0;
}

void smol_strip(const char **s, size_t *n) {
    const char *p = *s;
    size_t len = *n, i = 0;
    while (i < len) {
        size_t j = i;
        uint32_t cp = smol_utf8_next(p, len, &j);
        if (!smol_cp_is_space(cp)) break;
        i = j;
    }
    p += i;
    len -= i;
    while (len > 0) {
        size_t k = len - 1;
        while (k > 0 && ((unsigned char)p[k] & 0xC0) == 0x80) k--;
        size_t j = k;
        uint32_t cp = smol_utf8_next(p, len, &j);
        if (!smol_cp_is_space(cp)) break;
        len = k;
    }
    *s = p;
    *n = len;
}

/* Appends a piece of a line or whitespace split (chars left 0: callers count when they need). */
static int push_piece(smol_spans *l, const char *s, size_t len) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        smol_span *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    smol_span *sp = &l->v[l->n++];
    sp->s = s;
    sp->len = (uint32_t)len;
    sp->chars = 0;
    return 0;
}

/* Appends a span with its code-point count. */
static int push(smol_spans *l, const char *s, size_t len) {
    if (push_piece(l, s, len)) return -1;
    l->v[l->n - 1].chars = (uint32_t)smol_utf8_chars_at(s, len, SMOL_SCAN_SCALAR);
    return 0;
}

/* Length in bytes of a line break starting at text[i] (0 if none), as str.splitlines sees them. */
static size_t line_break_at(const char *text, size_t len, size_t i) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1E)) return 1;
    if (c == '\r') return i + 1 < len && text[i + 1] == '\n' ? 2 : 1;
    if (c == 0xC2 && i + 1 < len && (unsigned char)text[i + 1] == 0x85) return 2;
    if (c == 0xE2 && i + 2 < len && (unsigned char)text[i + 1] == 0x80 &&
        ((unsigned char)text[i + 2] == 0xA8 || (unsigned char)text[i + 2] == 0xA9))
        return 3;
    return 0;
}

int smol_splitlines(const char *text, size_t len, smol_spans *out) {
    return smol_splitlines_at(text, len, out, smol_scan_level());
}

int smol_splitlines_at(const char *text, size_t len, smol_spans *out, int level) {
    out->n = 0;
    (void)level;
    size_t start = 0;
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (size_t i = 0; i < len;) {
#if defined(__SSE2__)
        if (level == SMOL_SCAN_SSE2 && i + 16 <= len) {   /* skip 16 bytes at once when none is below 0x1F or non-ASCII (signed < 0x1F) */
            __m128i b = _mm_loadu_si128((const __m128i *)(text + i));
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(b, _mm_set1_epi8(0x1F)));
            if (!m) { i += 16; continue; }
            i += (size_t)__builtin_ctz(m);
        } else
#endif
        if (i + 8 <= len) {   /* skip 8 bytes at once when none is a control byte or non-ASCII */
            uint64_t w;
            memcpy(&w, text + i, 8);
            if (!(((w - ones * 0x1F) | w) & highs)) { i += 8; continue; }
        }
        unsigned char c = (unsigned char)text[i];
        size_t br = (c > 0x1E && c != 0xC2 && c != 0xE2) ? 0 : line_break_at(text, len, i);
        if (!br) { i++; continue; }
        if (push_piece(out, text + start, i - start)) return -1;
        i += br;
        start = i;
    }
    if (start < len && push_piece(out, text + start, len - start)) return -1;
    return 0;
}

int smol_split_char(const char *text, size_t len, char sep, smol_spans *out) {
    out->n = 0;
    size_t start = 0;
    for (;;) {
        const char *p = start < len ? memchr(text + start, sep, len - start) : NULL;
        size_t end = p ? (size_t)(p - text) : len;
        if (push_piece(out, text + start, end - start)) return -1;
        if (!p) return 0;
        start = end + 1;
    }
}

int smol_split_newline_runs(const char *text, size_t len, int min_run, smol_spans *out) {
    out->n = 0;
    size_t start = 0, i = 0;
    while (i < len) {
        const char *p = memchr(text + i, '\n', len - i);
        if (!p) break;
        i = (size_t)(p - text);
        size_t j = i;
        while (j < len && text[j] == '\n') j++;
        if (j - i >= (size_t)min_run) {
            if (push_piece(out, text + start, i - start)) return -1;
            start = j;
        }
        i = j;
    }
    return push_piece(out, text + start, len - start);
}

/* Bytes of whitespace at text[i] (0 if not whitespace). */
static size_t space_at(const char *text, size_t len, size_t i) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    if (c != 0xC2 && c != 0xE1 && c != 0xE2 && c != 0xE3) return 0;
    size_t j = i;
    return smol_cp_is_space(smol_utf8_next(text, len, &j)) ? j - i : 0;
}

int smol_split_ws(const char *text, size_t len, smol_spans *out) {
    out->n = 0;
    size_t i = 0;
    while (i < len) {
        size_t sp;
        while (i < len && (sp = space_at(text, len, i))) i += sp;
        if (i >= len) break;
        size_t start = i;
        while (i < len && !space_at(text, len, i)) i++;
        if (push_piece(out, text + start, i - start)) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ word tokenizer */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* 1 for the opening marks skipped before a word: " ' ( [ { < ` */
static int is_opener(char c) { return c == '"' || c == '\'' || c == '(' || c == '[' || c == '{' || c == '<' || c == '`'; }

/* 1 for the closing marks after a sentence end: " ' ) ] } */
static int is_closer(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'; }
static int lower(char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 1 if chunk (the token before a final '.') is an abbreviation Punkt would not end a sentence on. */
static int is_abbrev(const char *w, size_t n) {
    /* the abbreviations by length (2..6), each list a run of that many letters */
    static const char *const k_abbr[7] = {
        NULL, NULL, "mrmsdrstjrsrvsconomtlt", "mrsincltdfigvolgengovsenreprevcolsgtestjanfebaugoctnovdec",
        "profcorpcaptdeptsept", NULL, "approx"};
    while (n && is_opener(w[0])) { w++; n--; }
    if (n == 0) return 0;
    if (n == 1 && ((w[0] | 0x20) >= 'a' && (w[0] | 0x20) <= 'z')) return 1;   /* an initial */
    if (memchr(w, '.', n)) return 1;                                         /* e.g, U.S */
    if (n > 6 || !k_abbr[n]) return 0;
    char low[6];
    for (size_t i = 0; i < n; i++) low[i] = (char)lower(w[i]);
    for (const char *a = k_abbr[n]; *a; a += n)
        if (!memcmp(a, low, n)) return 1;
    return 0;
}

static int all_digits(const char *w, size_t n) {
    if (!n) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(w[i])) return 0;
    return 1;
}

/* 1 if the chunk after a period starts (past opening quotes/brackets) with a lowercase letter. */
static int starts_lower(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && is_opener(s[i])) i++;
    if (i >= n) return 0;
    size_t j = i;
    uint32_t cp = smol_utf8_next(s, n, &j);
    if (cp < 0x80) return cp >= 'a' && cp <= 'z';
    return utf8proc_category((utf8proc_int32_t)cp) == UTF8PROC_CATEGORY_LL;
}

/* The end of the whitespace-separated chunk starting at text[i]. */
static size_t chunk_bound(const char *text, size_t len, size_t i) {
    while (i < len && !space_at(text, len, i)) i++;
    return i;
}

/* 1 if a final '.' of word w[0..n) (period excluded) ends a sentence, given the next chunk,
 * which starts at text[next] (next == len: none). */
static int period_ends_sentence(const char *w, size_t n, const char *text, size_t len, size_t next) {
    if (next >= len) return 1;   /* the end of the text ends the last sentence */
    if (is_abbrev(w, n)) return 0;
    if (all_digits(w, n) && starts_lower(text + next, chunk_bound(text, len, next) - next)) return 0;
    return 1;
}

/* padded to sixteen bytes: 16-byte loads from any token start stay in bounds (words.h) */
static const char k_open_q[16] = "``", k_close_q[16] = "''";

static int is_always_split(char c) {
    return c == ';' || c == '@' || c == '#' || c == '$' || c == '%' || c == '&' || c == '?' || c == '!' || c == '*' ||
           c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == '<' || c == '>';
}

/* Bytes of a multi-byte opening (open=1) or closing quote mark at s[i]: « “ ‘ „ / » ” ’. */
static size_t uquote_at(const char *s, size_t n, size_t i, int open) {
    const unsigned char *p = (const unsigned char *)s + i;
    if (i + 2 <= n && p[0] == 0xC2) return (open ? p[1] == 0xAB : p[1] == 0xBB) ? 2 : 0;
    if (i + 3 <= n && p[0] == 0xE2 && p[1] == 0x80)
        return (open ? (p[2] == 0x9C || p[2] == 0x98 || p[2] == 0x9E) : (p[2] == 0x9D || p[2] == 0x99)) ? 3 : 0;
    return 0;
}

/* Splits a contraction suffix off word w: returns the length of the stem (n if none). */
static size_t contraction_stem(const char *w, size_t n) {
    if (n >= 4 && lower(w[n - 3]) == 'n' && w[n - 2] == '\'' && lower(w[n - 1]) == 't') return n - 3;
    if (n >= 4 && w[n - 3] == '\'') {
        char a = (char)lower(w[n - 2]), b = (char)lower(w[n - 1]);
        if ((a == 'l' && b == 'l') || (a == 'r' && b == 'e') || (a == 'v' && b == 'e'))
            return w[n - 4] != '\'' ? n - 3 : n;
    }
    if (n >= 3 && w[n - 2] == '\'' && strchr("sSmMdD", w[n - 1]) && w[n - 3] != '\'') return n - 2;
    return n;
}

/* Emits a core word, splitting contractions and NLTK's fused words (cannot, gonna, ...). */
static int emit_word(smol_spans *out, const char *w, size_t n) {
    if (!n) return 0;
    /* NLTK's fused words, all cut after 3 letters: "cannot", then the five-letter ones */
    static const char k_fused6[] = "cannot", k_fused5[] = "gonnagottawannagimmelemme";
    if (n == 5 || n == 6) {
        char low[6];
        for (size_t i = 0; i < n; i++) low[i] = (char)lower(w[i]);
        for (const char *f = n == 6 ? k_fused6 : k_fused5; *f; f += n)
            if (!memcmp(f, low, n)) return push(out, w, 3) || push(out, w + 3, n - 3);
    }
    size_t stem = contraction_stem(w, n);
    if (stem < n) return push(out, w, stem) || push(out, w + stem, n - stem);
    if (n >= 2 && w[n - 1] == '\'' && w[n - 2] != '\'') return push(out, w, n - 1) || push(out, w + n - 1, 1);
    return push(out, w, n);
}

/* Splits the middle of a chunk at NLTK's always-split marks, "--", "...", internal quotes and
 * ',' / ':' not followed by a digit. */
static int split_core(smol_spans *out, const char *s, size_t n) {
    size_t start = 0, i = 0;
    while (i < n) {
        char c = s[i];
        size_t mark = 0;
        const char *tok = NULL;
        if (is_always_split(c)) mark = 1;
        else if (c == '"') { mark = 1; tok = i == 0 ? k_open_q : k_close_q; }
        else if ((c == ',' || c == ':') && (i + 1 >= n || !is_digit(s[i + 1]))) mark = 1;
        else if (c == '-' && i + 1 < n && s[i + 1] == '-') mark = 2;
        else if (c == '.' && i + 2 < n && s[i + 1] == '.' && s[i + 2] == '.') mark = 3;
        if (!mark) { i++; continue; }
        if (emit_word(out, s + start, i - start)) return -1;
        if (push(out, tok ? tok : s + i, tok ? 2 : mark)) return -1;
        i += mark;
        start = i;
    }
    return emit_word(out, s + start, n - start);
}

/* Tokenizes one whitespace-separated chunk; the following chunk starts at text[next] (len: none). */
static int tokenize_chunk(smol_spans *out, const char *s, size_t n, const char *text, size_t text_len, size_t next) {
    size_t a = 0, b = n, q;
    /* leading marks */
    for (;;) {
        if (a >= b) break;
        char c = s[a];
        if (c == '"') { if (push(out, k_open_q, 2)) return -1; a++; continue; }
        if (c == '`') { size_t e = a; while (e < b && s[e] == '`') e++; if (push(out, s + a, e - a)) return -1; a = e; continue; }
        if ((q = uquote_at(s, b, a, 1)) || (q = uquote_at(s, b, a, 0))) { if (push(out, s + a, q)) return -1; a += q; continue; }
        if (is_always_split(c) && c != ')' && c != ']' && c != '}' && c != '>') { if (push(out, s + a, 1)) return -1; a++; continue; }
        if ((c == ',' || c == ':') && (a + 1 >= b || !is_digit(s[a + 1]))) { if (push(out, s + a, 1)) return -1; a++; continue; }
        if (c == '-' && a + 1 < b && s[a + 1] == '-') { if (push(out, s + a, 2)) return -1; a += 2; continue; }
        if (c == '.' && a + 2 < b && s[a + 1] == '.' && s[a + 2] == '.') { if (push(out, s + a, 3)) return -1; a += 3; continue; }
        break;
    }
    /* trailing marks, collected from the end and emitted after the core */
    size_t tail[64][2];
    const char *tail_tok[64];
    int nt = 0, period_done = 0;
    while (b > a && nt < 64) {
        char c = s[b - 1];
        size_t len = 0;
        const char *tok = NULL;
        if (c == '"') { len = 1; tok = k_close_q; }
        else if (c == ')' || c == ']' || c == '}' || c == '>' || is_always_split(c)) len = 1;
        else if ((q = uquote_at(s, b, b >= 2 ? b - 2 : 0, 0)) == 2 && b >= 2 + a) len = 2;
        else if (b >= a + 3 && (q = uquote_at(s, b, b - 3, 0)) == 3) len = 3;
        else if (c == ',' || c == ':') len = 1;
        else if (c == '.' && b >= a + 3 && s[b - 2] == '.' && s[b - 3] == '.') {
            len = 3;
            while (b - len > a && s[b - len - 1] == '.') len++;   /* "...." is one token */
        }
        else if (c == '\'' && b >= a + 2 && s[b - 2] != '\'') len = 1;
        else if (c == '-' && b >= a + 2 && s[b - 2] == '-') len = 2;
        else if (c == '.' && !period_done && b >= a + 2 && s[b - 2] != '.') {
            period_done = 1;
            if (period_ends_sentence(s + a, b - 1 - a, text, text_len, next)) len = 1;
        }
        if (!len) break;
        tail[nt][0] = b - len;
        tail[nt][1] = len;
        tail_tok[nt++] = tok;
        b -= len;
    }
    if (split_core(out, s + a, b - a)) return -1;
    while (nt > 0) {
        nt--;
        if (push(out, tail_tok[nt] ? tail_tok[nt] : s + tail[nt][0], tail_tok[nt] ? 2 : tail[nt][1])) return -1;
    }
    return 0;
}

/* Byte classes for the tokenizer's fast path: 1 whitespace (ASCII), 2 a byte that may need
 * splitting (punctuation, quotes, non-ASCII), 0 a plain word byte. */
static const unsigned char *byte_classes(void) {
    static const unsigned char k_cls[256] = {
        [' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [0x1C] = 1, [0x1D] = 1, [0x1E] = 1, [0x1F] = 1,
        [';'] = 2, ['@'] = 2, ['#'] = 2, ['$'] = 2, ['%'] = 2, ['&'] = 2, ['?'] = 2, ['!'] = 2, ['('] = 2, [')'] = 2,
        ['['] = 2, [']'] = 2, ['{'] = 2, ['}'] = 2, ['<'] = 2, ['>'] = 2, ['"'] = 2, ['`'] = 2, ['\''] = 2, [','] = 2,
        [':'] = 2, ['.'] = 2, ['-'] = 2, ['*'] = 2,
        [0x80] = 2, [0x81] = 2, [0x82] = 2, [0x83] = 2, [0x84] = 2, [0x85] = 2, [0x86] = 2, [0x87] = 2,
        [0x88] = 2, [0x89] = 2, [0x8A] = 2, [0x8B] = 2, [0x8C] = 2, [0x8D] = 2, [0x8E] = 2, [0x8F] = 2,
        [0x90] = 2, [0x91] = 2, [0x92] = 2, [0x93] = 2, [0x94] = 2, [0x95] = 2, [0x96] = 2, [0x97] = 2,
        [0x98] = 2, [0x99] = 2, [0x9A] = 2, [0x9B] = 2, [0x9C] = 2, [0x9D] = 2, [0x9E] = 2, [0x9F] = 2,
        [0xA0] = 2, [0xA1] = 2, [0xA2] = 2, [0xA3] = 2, [0xA4] = 2, [0xA5] = 2, [0xA6] = 2, [0xA7] = 2,
        [0xA8] = 2, [0xA9] = 2, [0xAA] = 2, [0xAB] = 2, [0xAC] = 2, [0xAD] = 2, [0xAE] = 2, [0xAF] = 2,
        [0xB0] = 2, [0xB1] = 2, [0xB2] = 2, [0xB3] = 2, [0xB4] = 2, [0xB5] = 2, [0xB6] = 2, [0xB7] = 2,
        [0xB8] = 2, [0xB9] = 2, [0xBA] = 2, [0xBB] = 2, [0xBC] = 2, [0xBD] = 2, [0xBE] = 2, [0xBF] = 2,
        [0xC0] = 2, [0xC1] = 2, [0xC2] = 2, [0xC3] = 2, [0xC4] = 2, [0xC5] = 2, [0xC6] = 2, [0xC7] = 2,
        [0xC8] = 2, [0xC9] = 2, [0xCA] = 2, [0xCB] = 2, [0xCC] = 2, [0xCD] = 2, [0xCE] = 2, [0xCF] = 2,
        [0xD0] = 2, [0xD1] = 2, [0xD2] = 2, [0xD3] = 2, [0xD4] = 2, [0xD5] = 2, [0xD6] = 2, [0xD7] = 2,
        [0xD8] = 2, [0xD9] = 2, [0xDA] = 2, [0xDB] = 2, [0xDC] = 2, [0xDD] = 2, [0xDE] = 2, [0xDF] = 2,
        [0xE0] = 2, [0xE1] = 2, [0xE2] = 2, [0xE3] = 2, [0xE4] = 2, [0xE5] = 2, [0xE6] = 2, [0xE7] = 2,
        [0xE8] = 2, [0xE9] = 2, [0xEA] = 2, [0xEB] = 2, [0xEC] = 2, [0xED] = 2, [0xEE] = 2, [0xEF] = 2,
        [0xF0] = 2, [0xF1] = 2, [0xF2] = 2, [0xF3] = 2, [0xF4] = 2, [0xF5] = 2, [0xF6] = 2, [0xF7] = 2,
        [0xF8] = 2, [0xF9] = 2, [0xFA] = 2, [0xFB] = 2, [0xFC] = 2, [0xFD] = 2, [0xFE] = 2, [0xFF] = 2};
    return k_cls;
}

/* What chunk_end finds out about a chunk, for tokenize_chunk's fast paths. */
typedef struct chunk_info {
    int specials;          /* bytes that may need splitting, apostrophes and lone '-' not counted */
    size_t last_special;   /* the last of them (offset in the chunk) */
    size_t last_apos;      /* offset of the last apostrophe + 1 (0: none) */
} chunk_info;

/* The end of the chunk starting at text[i] (ASCII whitespace or a Unicode space ends it). A '-'
 * that is not next to another '-' is never split (tokenize_chunk only splits "--"). */
static size_t chunk_end(const char *text, size_t len, size_t i, chunk_info *ci) {
    const unsigned char *cls = byte_classes();
    size_t start = i;
    ci->specials = 0;
    ci->last_apos = 0;
    for (; i < len; i++) {
        unsigned char c = cls[(unsigned char)text[i]];
        if (!c) continue;
        if (c == 1) break;
        unsigned char b = (unsigned char)text[i];
        if (b >= 0x80 && space_at(text, len, i)) break;
        if (b == '\'') { ci->last_apos = i - start + 1; continue; }
        if (b == '-' && !(i > start && text[i - 1] == '-') && !(i + 1 < len && text[i + 1] == '-')) continue;
        ci->specials++;
        ci->last_special = i - start;
    }
    return i;
}

static size_t skip_space(const char *text, size_t len, size_t i) {
    const unsigned char *cls = byte_classes();
    size_t sp;
    while (i < len) {
        if (cls[(unsigned char)text[i]] == 1) { i++; continue; }
        if ((unsigned char)text[i] < 0x80 || !(sp = space_at(text, len, i))) break;
        i += sp;
    }
    return i;
}

/* 1 if a plain word might be one of NLTK's fused words (cannot, gonna, gotta, wanna, gimme, lemme). */
static int maybe_fused(const char *w, size_t n) {
    if (n != 5 && n != 6) return 0;
    char c = (char)lower(w[0]);
    return c == 'c' || c == 'g' || c == 'w' || c == 'l';
}

/* Appends an ASCII token (chars = bytes) without a length scan. */
static int push_ascii(smol_spans *out, const char *s, size_t n) {
    if (out->n == out->cap) return push(out, s, n);
    smol_span *sp = &out->v[out->n++];
    sp->s = s;
    sp->len = (uint32_t)n;
    sp->chars = (uint32_t)n;
    return 0;
}

/* Appends a core word of plain ASCII bytes without apostrophes: push_ascii unless it may be a
 * fused word (emit_word then). */
static int push_plain(smol_spans *out, const char *s, size_t n) {
    return maybe_fused(s, n) ? emit_word(out, s, n) : push_ascii(out, s, n);
}

/* The common chunks, with tokenize_chunk's result: ASCII word bytes, apostrophes that are not
 * last and lone hyphens (one core word, emit_word), then maybe a final , ; : ! ? (split off) or
 * '.' (split off at a sentence end). 1 if handled (*rc set), 0 for tokenize_chunk. */
static int fast_chunk(smol_spans *out, const char *s, size_t n, const chunk_info *ci, const char *text, size_t len,
                      size_t next, int *rc) {
    if (ci->specials == 0) {
        if (ci->last_apos == n) return 0;   /* a final apostrophe may be split off */
        *rc = !ci->last_apos ? push_plain(out, s, n) : emit_word(out, s, n);
        return 1;
    }
    if (ci->specials != 1 || ci->last_special != n - 1 || n < 2 || ci->last_apos >= n - 1) return 0;
    char c = s[n - 1];
    int split;
    if (c == ',' || c == ';' || c == ':' || c == '!' || c == '?') split = 1;
    else if (c == '.') split = period_ends_sentence(s, n - 1, text, len, next);
    else return 0;
    size_t core = split ? n - 1 : n;
    *rc = !ci->last_apos ? push_plain(out, s, core) : emit_word(out, s, core);
    if (!*rc && split) *rc = push_ascii(out, s + n - 1, 1);
    return 1;
}

/* The end of the run of plain bytes (byte class 0) starting at text[i]. With SSE2, sixteen bytes
 * at a time go up to the first that is not an ASCII letter or digit (one branch per word
 * instead of one per byte), then the class table decides from there. */
static size_t plain_run(const char *text, size_t len, size_t i, int level) {
    (void)level;
#if defined(__SSE2__)
    const __m128i case_bit = _mm_set1_epi8(0x20), to_letters = _mm_set1_epi8((char)(0x80 - 'a')),
                  to_digits = _mm_set1_epi8((char)(0x80 - '0')), letters_end = _mm_set1_epi8((char)(0x80 + 26)),
                  digits_end = _mm_set1_epi8((char)(0x80 + 10));
    while (level == SMOL_SCAN_SSE2 && i + 16 <= len) {
        __m128i b = _mm_loadu_si128((const __m128i *)(text + i));
        /* b - lo + 0x80 is below 0x80 + count (signed) exactly when b is in [lo, lo + count) */
        __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(b, case_bit), to_letters), letters_end);
        __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(b, to_digits), digits_end);
        unsigned other = ~(unsigned)_mm_movemask_epi8(_mm_or_si128(letter, digit)) & 0xFFFF;
        if (other) {
            i += (size_t)__builtin_ctz(other);
            break;
        }
        i += 16;
    }
#endif
    const unsigned char *cls = byte_classes();
    while (i < len && !cls[(unsigned char)text[i]]) i++;
    return i;
}

/* 1 for the marks the main loop splits off the end of a plain word: , ; : ! ? . */
static int is_final_mark(char c) { return c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == '.'; }

int smol_word_tokenize(const char *text, size_t len, smol_spans *out) {
    return smol_word_tokenize_at(text, len, out, smol_scan_level());
}

int smol_word_tokenize_at(const char *text, size_t len, smol_spans *out, int level) {
    out->n = 0;
    const unsigned char *cls = byte_classes();
    size_t i = skip_space(text, len, 0);
    while (i < len) {
        size_t start = i;
        i = plain_run(text, len, i, level);   /* plain ASCII word bytes */
        int rc;
        if (i == len || cls[(unsigned char)text[i]] == 1) {   /* a plain chunk */
            rc = push_plain(out, text + start, i - start);
            i = skip_space(text, len, i);
        } else if (i > start && is_final_mark(text[i]) && (i + 1 == len || cls[(unsigned char)text[i + 1]] == 1)) {
            /* a plain word and one final mark (fast_chunk's second case) */
            size_t next = skip_space(text, len, i + 1);
            int split = text[i] != '.' || period_ends_sentence(text + start, i - start, text, len, next);
            rc = push_plain(out, text + start, split ? i - start : i + 1 - start);
            if (!rc && split) rc = push_ascii(out, text + i, 1);
            i = next;
        } else {
            chunk_info ci;
            size_t end = chunk_end(text, len, start, &ci);
            size_t next = skip_space(text, len, end);
            rc = 0;
            if (!fast_chunk(out, text + start, end - start, &ci, text, len, next, &rc))
                rc = tokenize_chunk(out, text + start, end - start, text, len, next);
            i = next;
        }
        if (rc) return -1;
    }
    return 0;
}

/* 1 for the ASCII whitespace the tokenizer splits on (byte class 1). */
static int ascii_ws(unsigned char c) { return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F); }

/* Bit mask of the ASCII whitespace bytes among sixteen. */
#if defined(__SSE2__)
static unsigned ws_mask16(__m128i b) {
    /* b - lo + 0x80 is below 0x80 + count (signed) exactly when b is in [lo, lo + count) */
    __m128i tab = _mm_cmplt_epi8(_mm_add_epi8(b, _mm_set1_epi8((char)(0x80 - 0x09))), _mm_set1_epi8((char)(0x80 + 5)));
    __m128i seps = _mm_cmplt_epi8(_mm_add_epi8(b, _mm_set1_epi8((char)(0x80 - 0x1C))), _mm_set1_epi8((char)(0x80 + 4)));
    __m128i sp = _mm_cmpeq_epi8(b, _mm_set1_epi8(' '));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(tab, seps), sp));
}
#endif

size_t smol_word_count_floor(const char *text, size_t len) {
    return smol_word_count_floor_at(text, len, smol_scan_level());
}

size_t smol_word_count_floor_at(const char *text, size_t len, int level) {
    size_t k = 0, i = 0;
    unsigned prev_ws = 1;   /* whether the byte before i is whitespace (or i is 0) */
    (void)level;
#if defined(__SSE2__)
    for (; level == SMOL_SCAN_SSE2 && i + 16 <= len; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(text + i));
        unsigned ws = ws_mask16(b), ascii = ~(unsigned)_mm_movemask_epi8(b) & 0xFFFF;
        unsigned starts = ascii & ~ws & (ws << 1 | prev_ws);
        k += (size_t)__builtin_popcount(starts);
        prev_ws = ws >> 15;
    }
#endif
    for (; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        unsigned ws = (unsigned)ascii_ws(c);
        k += prev_ws && !ws && c < 0x80;
        prev_ws = ws;
    }
    return k;
}

/* Start of the whitespace-separated chunk that ends at text[end-1]. */
static size_t chunk_start(const char *text, size_t end) {
    size_t i = end;
    while (i > 0) {
        unsigned char c = (unsigned char)text[i - 1];
        if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) break;
        if (c >= 0x80) {   /* a multi-byte space ends the chunk too */
            size_t k = i - 1;
            while (k > 0 && ((unsigned char)text[k] & 0xC0) == 0x80) k--;
            if (space_at(text, end, k)) break;
            i = k;
            continue;
        }
        i--;
    }
    return i;
}

/* 1 if phrase p (lowercase, m bytes) is at s[0..m) with ASCII letters in either case. */
static int phrase_at(const char *s, const char *p, size_t m) {
    for (size_t k = 0; k < m; k++)
        if ((char)lower(s[k]) != p[k]) return 0;
    return 1;
}

static unsigned ascii_phrases_scalar(const char *s, size_t n, const char *const *phrases, int count) {
    unsigned found = 0;
    for (int k = 0; k < count && k < 16; k++) {
        size_t m = strlen(phrases[k]);
        for (size_t i = 0; i + m <= n && !(found >> k & 1); i++)
            if (phrase_at(s + i, phrases[k], m)) found |= 1u << k;
    }
    return found;
}

#if defined(__SSE2__)
/* Positions in s[i..i+16) where a phrase's first three bytes may be (letters compared with bit
 * 0x20 set, which is exact for letters; a third byte that is not a letter matches anything:
 * third_any is all ones for it), as a bit mask. Reads s[i..i+18). */
static unsigned prefix_hits(const char *s, size_t i, const __m128i *first, const __m128i *second, const __m128i *third,
                            const __m128i *third_any, int count) {
    const __m128i case_bit = _mm_set1_epi8(0x20);
    __m128i a = _mm_or_si128(_mm_loadu_si128((const __m128i *)(s + i)), case_bit);
    __m128i b = _mm_or_si128(_mm_loadu_si128((const __m128i *)(s + i + 1)), case_bit);
    __m128i c = _mm_or_si128(_mm_loadu_si128((const __m128i *)(s + i + 2)), case_bit);
    __m128i any = _mm_setzero_si128();
    for (int k = 0; k < count; k++) {
        __m128i m3 = _mm_or_si128(_mm_cmpeq_epi8(c, third[k]), third_any[k]);
        any = _mm_or_si128(any, _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, first[k]), _mm_cmpeq_epi8(b, second[k])), m3));
    }
    return (unsigned)_mm_movemask_epi8(any);
}

static unsigned ascii_phrases_sse2(const char *s, size_t n, const char *const *phrases, int count) {
    if (count > 16) count = 16;
    __m128i first[16], second[16], third[16], third_any[16];
    size_t len[16];
    for (int k = 0; k < count; k++) {
        first[k] = _mm_set1_epi8(phrases[k][0]);
        second[k] = _mm_set1_epi8(phrases[k][1]);
        char t = phrases[k][1] ? phrases[k][2] : 0;
        int letter = t >= 'a' && t <= 'z';
        third[k] = _mm_set1_epi8(t);
        third_any[k] = _mm_set1_epi8(letter ? 0 : -1);
        len[k] = strlen(phrases[k]);
    }
    unsigned found = 0, all = count >= 32 ? ~0u : (1u << count) - 1;
    size_t i = 0;
    for (; i + 18 <= n && found != all; i += 16)
        for (unsigned hits = prefix_hits(s, i, first, second, third, third_any, count); hits; hits &= hits - 1) {
            size_t at = i + (size_t)__builtin_ctz(hits);
            for (int k = 0; k < count; k++)
                if (!(found >> k & 1) && at + len[k] <= n && phrase_at(s + at, phrases[k], len[k])) found |= 1u << k;
        }
    /* the last bytes (and phrases that start in them) */
    if (found != all) {
        size_t from = i;
        for (int k = 0; k < count; k++)
            if (!(found >> k & 1))
                for (size_t j = from; j + len[k] <= n; j++)
                    if (phrase_at(s + j, phrases[k], len[k])) { found |= 1u << k; break; }
    }
    return found;
}
#endif

unsigned smol_ascii_phrases(const char *s, size_t n, const char *const *phrases, int count) {
    return smol_ascii_phrases_at(s, n, phrases, count, smol_scan_level());
}

unsigned smol_ascii_phrases_at(const char *s, size_t n, const char *const *phrases, int count, int level) {
#if defined(__SSE2__)
    if (level == SMOL_SCAN_SSE2) return ascii_phrases_sse2(s, n, phrases, count);
#else
    (void)level;
#endif
    return ascii_phrases_scalar(s, n, phrases, count);
}

/* The first p >= i with t[p] and t[p+1] both '.', or n (sixteen positions a step with SSE2). */
static size_t next_dot_pair(const char *t, size_t n, size_t i, int level) {
    (void)level;
#if defined(__SSE2__)
    const __m128i dot = _mm_set1_epi8('.');
    for (; level == SMOL_SCAN_SSE2 && i + 17 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(t + i)), b = _mm_loadu_si128((const __m128i *)(t + i + 1));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, dot), _mm_cmpeq_epi8(b, dot)));
        if (m) return i + (size_t)__builtin_ctz(m);
    }
#endif
    for (; i + 1 < n; i++)
        if (t[i] == '.' && t[i + 1] == '.') return i;
    return n;
}

long smol_count_ellipses(const char *t, size_t n) { return smol_count_ellipses_at(t, n, smol_scan_level()); }

/* A match starts at the first ".." at or after the end of the previous one, as str.count finds them. */
long smol_count_ellipses_at(const char *t, size_t n, int level) {
    long k = 0;
    const char *end = t + n;
    for (size_t p = next_dot_pair(t, n, 0, level); p < n;) {
        if (p + 2 < n && t[p + 2] == '.') {
            k++;
            p = next_dot_pair(t, n, p + 3, level);
        } else {
            p = next_dot_pair(t, n, p + 1, level);
        }
    }
    for (const char *p = t; (p = memchr(p, 0xE2, (size_t)(end - p))) != NULL; p++)
        if (end - p >= 3 && (unsigned char)p[1] == 0x80 && (unsigned char)p[2] == 0xA6) k++;
    return k;
}

/* Nonzero when some byte of v is zero. */
#define HAS_ZERO_BYTE(v) (((v) - 0x0101010101010101ull) & ~(v) & 0x8080808080808080ull)

int smol_count_sentences(const char *text, size_t len) {
    return smol_count_sentences_at(text, len, smol_scan_level());
}

int smol_count_sentences_at(const char *text, size_t len, int level) {
    return smol_count_sentences_upto_at(text, len, INT_MAX, level);
}

int smol_count_sentences_upto(const char *text, size_t len, int most) {
    return smol_count_sentences_upto_at(text, len, most, smol_scan_level());
}

int smol_count_sentences_upto_at(const char *text, size_t len, int most, int level) {
    int count = 0;
    if (most <= 0) return 0;
    (void)level;
    size_t last_break = 0;   /* text after the last sentence end */
    const uint64_t ones = 0x0101010101010101ull;
    for (size_t i = 0; i < len; i++) {
#if defined(__SSE2__)
        if (level == SMOL_SCAN_SSE2 && i + 16 <= len) {   /* skip 16 bytes at once when none is '.', '?' or '!', else go to the first */
            __m128i b = _mm_loadu_si128((const __m128i *)(text + i));
            __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8('.')), _mm_cmpeq_epi8(b, _mm_set1_epi8('?'))),
                                       _mm_cmpeq_epi8(b, _mm_set1_epi8('!')));
            unsigned m = (unsigned)_mm_movemask_epi8(hit);
            if (!m) {
                i += 15;
                continue;
            }
            i += (size_t)__builtin_ctz(m);
        } else
#endif
        if (i + 8 <= len) {   /* skip 8 bytes at once when none is '.', '?' or '!', else go to the first */
            uint64_t w;
            memcpy(&w, text + i, 8);
            /* the lowest flagged byte of HAS_ZERO_BYTE is always a true zero */
            uint64_t m = HAS_ZERO_BYTE(w ^ (ones * '.')) | HAS_ZERO_BYTE(w ^ (ones * '?')) | HAS_ZERO_BYTE(w ^ (ones * '!'));
            if (!m) {
                i += 7;
                continue;
            }
            i += (size_t)__builtin_ctzll(m) / 8;
        }
        char c = text[i];
        if (c != '.' && c != '?' && c != '!') continue;
        /* a candidate end: the mark (and closing quotes/brackets) ends its chunk */
        size_t e = i + 1;
        while (e < len && (text[e] == '.' || text[e] == '?' || text[e] == '!')) e++;
        size_t mark_end = e;
        while (e < len && is_closer(text[e])) e++;
        if (e < len && !space_at(text, len, e)) { i = mark_end - 1; continue; }
        size_t start = chunk_start(text, i);
        char last = text[mark_end - 1];
        size_t j = skip_space(text, len, e);
        int brk;
        if (last == '?' || last == '!') brk = 1;
        else if (mark_end - i >= 3) brk = j >= len || !starts_lower(text + j, chunk_bound(text, len, j) - j);   /* an ellipsis */
        else brk = period_ends_sentence(text + start, mark_end - 1 - start, text, len, j);
        if (brk) {
            if (++count == most) return most;
            last_break = e;
        }
        i = e > i ? e - 1 : i;
    }
    return count + (skip_space(text, len, last_break) < len);
}

/* ------------------------------------------------------------------ gopher_quality's word statistics */

/* Per ASCII byte: bit 0 a letter, bit 1 outside datatrove's PUNCTUATION (letters, digits, tab,
 * newline, space: smol_cp_is_punct is 1 for every other byte below 128; test_words checks the
 * table against smol_cp_is_alpha and smol_cp_is_punct). */
static const unsigned char k_ascii_word_class[256] = {   /* 0 from 128 up */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0,
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0,
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0,
};

/* 1 if some code point of w gives pred(cp) == want (pred != 0 compared as 0/1). */
static int word_has(const smol_span *w, int (*pred)(uint32_t), int want) {
    size_t i = 0;
    while (i < w->len) {
        uint32_t cp = smol_utf8_next(w->s, w->len, &i);
        if ((pred(cp) != 0) == want) return 1;
    }
    return 0;
}

/* 1 if the word whose first four bytes (zero past its end) are v, little-endian, and whose length
 * is len is one of the stop words: "to" "of" "be" / "the" "and" / "that" "have" "with". The
 * bytes and the length make a key; the top three bits of key * STOP_MUL are different for the
 * eight stop words, so one compare with the stop word in that slot decides, without a branch (a
 * switch on the length mispredicts on most words). */
#define STOP_MUL 0x14b9adb50c6dea3dull
#define STOP_KEY(a, b, c, d, len) \
    ((uint64_t)(a) | (uint64_t)(b) << 8 | (uint64_t)(c) << 16 | (uint64_t)(d) << 24 | (uint64_t)(len) << 32)
static const uint64_t k_stop_slots[8] = {
    STOP_KEY('o', 'f', 0, 0, 2),     STOP_KEY('w', 'i', 't', 'h', 4), STOP_KEY('b', 'e', 0, 0, 2),
    STOP_KEY('h', 'a', 'v', 'e', 4), STOP_KEY('t', 'h', 'e', 0, 3),   STOP_KEY('a', 'n', 'd', 0, 3),
    STOP_KEY('t', 'h', 'a', 't', 4), STOP_KEY('t', 'o', 0, 0, 2)};
static int is_stop_word(uint32_t v, uint32_t len) {
    uint64_t k = (uint64_t)v | (uint64_t)len << 32;
    return k == k_stop_slots[(k * STOP_MUL) >> 61];
}
#undef STOP_KEY

/* Word classes of one word: bit 0 it has a letter, bit 1 a character outside PUNCTUATION; bits 2..
 * its first min(len, 4) bytes, little-endian (built from bytes: a narrow copy into a wider
 * variable would stall on store forwarding). ASCII words go through the byte table. */
__attribute__((noinline)) static uint64_t word_classes_scalar(const smol_span *x) {
    const unsigned char *c = (const unsigned char *)x->s;
    unsigned flags = 0;
    if (x->chars == x->len) {
        for (uint32_t k = 0; k < x->len; k++) flags |= k_ascii_word_class[c[k]];
    } else {
        flags = (unsigned)word_has(x, smol_cp_is_alpha, 1) | (unsigned)word_has(x, smol_cp_is_punct, 0) << 1;
    }
    uint32_t v = 0;
    for (uint32_t k = 0; k < x->len && k < 4; k++) v |= (uint32_t)c[k] << (8 * k);
    return flags | (uint64_t)v << 2;
}

#if defined(__SSE2__)
/* word_classes_scalar of an ASCII word of 1..16 bytes whose sixteen bytes from c are readable:
 * letters, digits and the non-punctuation controls by compares, no loop on the length. */
static uint64_t word_classes_sse2(const unsigned char *c, uint32_t len) {
    __m128i b = _mm_loadu_si128((const __m128i *)c);
    /* b - lo + 0x80 is below 0x80 + count (signed) exactly when b is in [lo, lo + count) */
    __m128i letter = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(b, _mm_set1_epi8(0x20)), _mm_set1_epi8((char)(0x80 - 'a'))),
                                    _mm_set1_epi8((char)(0x80 + 26)));
    __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(b, _mm_set1_epi8((char)(0x80 - '0'))), _mm_set1_epi8((char)(0x80 + 10)));
    __m128i ctl = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(b, _mm_set1_epi8('\t'))),
                               _mm_cmpeq_epi8(b, _mm_set1_epi8('\n')));
    unsigned keep = 0xFFFFu >> (16 - len);
    unsigned has_letter = ((unsigned)_mm_movemask_epi8(letter) & keep) != 0;
    unsigned has_other = ((unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), ctl)) & keep) != 0;
    uint32_t v = (uint32_t)_mm_cvtsi128_si32(b) & (uint32_t)(~0ull >> (64 - 8 * (len < 4 ? len : 4)));
    return has_letter | has_other << 1 | (uint64_t)v << 2;
}
#endif

void smol_word_stats_at(const smol_spans *w, const char *text, size_t n, int level, smol_word_stats *out) {
    /* sixteen bytes are readable from a token that starts sixteen bytes or more before the text's
     * end, or outside the text (hi - at wraps above it) */
    uintptr_t hi = (uintptr_t)text + n;
    uint64_t sym_free = 0, alpha = 0, stops = 0, chars = 0;
    for (const smol_span *x = w->v, *end = w->v + w->n; x < end; x++) {
        uint64_t cls;
#if defined(__SSE2__)
        uintptr_t at = (uintptr_t)x->s;
        if (level == SMOL_SCAN_SSE2 && x->chars == x->len && x->len - 1 < 16 && hi - at >= 16)
            cls = word_classes_sse2((const unsigned char *)x->s, x->len);
        else
#endif
            cls = word_classes_scalar(x);
        uint64_t other = cls >> 1 & 1;
        sym_free += other;
        chars += x->chars & (0 - other);
        alpha += cls & 1;
        stops += (uint64_t)is_stop_word((uint32_t)(cls >> 2), x->len);
    }
    (void)level;
    (void)hi;
    out->sym_free = (long)sym_free;
    out->alpha = (long)alpha;
    out->stops = (long)stops;
    out->chars = chars;
}

static void free_words_cache(void *p) {
    smol_spans *w = p;
    smol_spans_free(w);
    free(w);
}

const smol_spans *smol_doc_words(smol_doc *doc) {
    if (doc->cache && doc->cache_free == free_words_cache) return doc->cache;
    if (doc->cache && doc->cache_free) doc->cache_free(doc->cache);
    doc->cache = NULL;
    doc->cache_free = NULL;
    smol_spans *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    /* room for a word per 6 bytes up front (English averages about one per 5.5), not a chain of
     * doublings from 256 */
    size_t guess = doc->text_len / 6 + 16;
    if (guess > 256) {
        w->v = malloc(guess * sizeof *w->v);
        w->cap = w->v ? guess : 0;
    }
    if (smol_word_tokenize(doc->text, doc->text_len, w)) {
        free_words_cache(w);
        return NULL;
    }
    doc->cache = w;
    doc->cache_free = free_words_cache;
    return w;
}
