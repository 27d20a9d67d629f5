/* regex.c: an ECMA-262 regular expression subset -> one GBNF rule (see regex.h). The regex is
 * parsed by recursive descent and written out as the equivalent GBNF expression: characters
 * become one-character strings, classes become GBNF classes built from sorted code point
 * ranges (so \d, \w, \s and negations combine exactly), groups and quantifiers map one to one. */
#include "gen/regex.h"
#include "base/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CP 0x10FFFFu
#define MAX_COPIES 1000   /* repetitions of something that can be empty, nested: the most copies */

typedef struct rx_range {
    uint32_t lo, hi;
} rx_range;

typedef struct rx {
    const char *s, *p;
    char *out;
    size_t n, cap;
    smol_error *err;
    int rc;
    int depth;
    int nullable;    /* the atom just parsed (with its quantifier) can match the empty text */
    double copies;   /* and the copies of its empty-matching parts its quantifiers make */
} rx;

static int rx_fail(rx *r, int code, const char *fmt, ...) SMOL_PRINTF(3, 4);
static int rx_fail(rx *r, int code, const char *fmt, ...) {
    if (r->rc) return r->rc;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->rc = smol_fail(r->err, code, "regex at offset %d: %s", (int)(r->p - r->s), msg);
    return r->rc;
}

static int put(rx *r, const char *s, size_t n) {
    if (r->n + n + 1 > r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 256;
        while (nc < r->n + n + 1) nc *= 2;
        char *q = realloc(r->out, nc);
        if (!q) return r->rc ? r->rc : (r->rc = smol_fail(r->err, SMOL_ENOMEM, "regex: out of memory"));
        r->out = q, r->cap = nc;
    }
    memcpy(r->out + r->n, s, n);
    r->n += n;
    r->out[r->n] = 0;
    return 0;
}

static int puts_(rx *r, const char *s) { return put(r, s, strlen(s)); }

/* Writes code point c as GBNF text usable inside a string or a class. */
static int put_cp(rx *r, uint32_t c) {
    char b[16];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_') {
        b[0] = (char)c, b[1] = 0;
    } else if (c < 0x100) snprintf(b, sizeof b, "\\x%02X", c);
    else if (c < 0x10000) snprintf(b, sizeof b, "\\u%04X", c);
    else snprintf(b, sizeof b, "\\U%08X", c);
    return puts_(r, b);
}

static int cmp_range(const void *a, const void *b) {
    const rx_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges r[0..n); returns the new count. */
static size_t normalize(rx_range *r, size_t n) {
    if (n) qsort(r, n, sizeof *r, cmp_range);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && r[i].lo <= r[m - 1].hi + 1) {
            if (r[i].hi > r[m - 1].hi) r[m - 1].hi = r[i].hi;
        } else r[m++] = r[i];
    }
    return m;
}

/* Writes ranges as a GBNF class, negated when neg. */
static int put_class(rx *r, rx_range *rg, size_t n, int neg) {
    n = normalize(rg, n);
    if (n == 0 && !neg) return puts_(r, "[^\\x00-\\U0010FFFF]");
    if (puts_(r, neg ? "[^" : "[")) return r->rc;
    for (size_t i = 0; i < n; i++) {
        put_cp(r, rg[i].lo);
        if (rg[i].hi != rg[i].lo) puts_(r, "-"), put_cp(r, rg[i].hi);
    }
    return puts_(r, "]");
}

/* A class under construction. */
typedef struct rset {
    rx_range *r;
    size_t n, cap;
} rset;

static int rs_add(rx *r, rset *s, uint32_t lo, uint32_t hi) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        rx_range *q = realloc(s->r, nc * sizeof *q);
        if (!q) return r->rc ? r->rc : (r->rc = smol_fail(r->err, SMOL_ENOMEM, "regex: out of memory"));
        s->r = q, s->cap = nc;
    }
    s->r[s->n++] = (rx_range){lo, hi};
    return 0;
}

static const rx_range k_digit[] = {{'0', '9'}};
static const rx_range k_word[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
static const rx_range k_space[] = {{0x09, 0x0D}, {0x20, 0x20}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
                                   {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
                                   {0xFEFF, 0xFEFF}};

/* Adds a shorthand class (d, w, s; upper case: its complement) to s. */
static int rs_shorthand(rx *r, rset *s, char c) {
    const rx_range *k = c == 'd' || c == 'D' ? k_digit : c == 'w' || c == 'W' ? k_word : k_space;
    size_t n = c == 'd' || c == 'D' ? 1 : c == 'w' || c == 'W' ? 4 : sizeof k_space / sizeof k_space[0];
    if (c >= 'a') {
        for (size_t i = 0; i < n; i++) rs_add(r, s, k[i].lo, k[i].hi);
        return r->rc;
    }
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i].lo > next) rs_add(r, s, next, k[i].lo - 1);
        next = k[i].hi + 1;
    }
    return rs_add(r, s, next, MAX_CP);
}

static int hexv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads exactly n hex digits; -1 if they are not there. */
static int32_t hex_n(rx *r, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        int h = hexv((unsigned char)r->p[i]);
        if (h < 0) return -1;
        v = v << 4 | (uint32_t)h;
    }
    r->p += n;
    return (int32_t)v;
}

/* One UTF-8 character at r->p (advancing); -1 on invalid UTF-8 (error set). */
static int32_t next_utf8(rx *r) {
    const unsigned char *p = (const unsigned char *)r->p;
    uint32_t c = p[0];
    int n = c < 0x80 ? 0 : c >= 0xF0 && c <= 0xF4 ? 3 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xC2 && c <= 0xDF ? 1 : -1;
    if (n < 0) return rx_fail(r, SMOL_EFORMAT, "invalid UTF-8"), -1;
    c &= n ? 0x3Fu >> n : 0x7Fu;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) return rx_fail(r, SMOL_EFORMAT, "invalid UTF-8"), -1;
        c = c << 6 | (p[i] & 0x3F);
    }
    r->p += n + 1;
    return (int32_t)c;
}

/* An escape after '\' (r->p is past it): a code point, or -2 when it was a shorthand class that
 * was added to cls (NULL outside classes: then -3 and *sh holds the letter). -1 on error. */
static int32_t parse_escape(rx *r, int in_class, char *sh) {
    char c = *r->p;
    if (!c) return rx_fail(r, SMOL_EFORMAT, "'\\' at the end"), -1;
    r->p++;
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0':
        if (*r->p >= '0' && *r->p <= '9') return rx_fail(r, SMOL_EUNSUPPORTED, "octal escapes are not supported"), -1;
        return 0;
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
        *sh = c;
        return -3;
    case 'b':
        if (in_class) return '\b';
        return rx_fail(r, SMOL_EUNSUPPORTED, "word boundary \\b is not supported"), -1;
    case 'B': return rx_fail(r, SMOL_EUNSUPPORTED, "\\B is not supported"), -1;
    case 'c':
        if ((*r->p >= 'a' && *r->p <= 'z') || (*r->p >= 'A' && *r->p <= 'Z')) return *r->p++ % 32;
        return rx_fail(r, SMOL_EFORMAT, "\\c must be followed by a letter"), -1;
    case 'x': {
        int32_t v = hex_n(r, 2);
        if (v < 0) return rx_fail(r, SMOL_EFORMAT, "\\x needs two hex digits"), -1;
        return v;
    }
    case 'u': {
        if (*r->p == '{') {
            r->p++;
            uint32_t v = 0;
            int k = 0;
            while (hexv((unsigned char)*r->p) >= 0 && k < 8) v = v << 4 | (uint32_t)hexv((unsigned char)*r->p++), k++;
            if (!k || *r->p != '}' || v > MAX_CP) return rx_fail(r, SMOL_EFORMAT, "malformed \\u{...}"), -1;
            r->p++;
            return (int32_t)v;
        }
        int32_t v = hex_n(r, 4);
        if (v < 0) return rx_fail(r, SMOL_EFORMAT, "\\u needs four hex digits"), -1;
        if (v >= 0xD800 && v <= 0xDBFF && r->p[0] == '\\' && r->p[1] == 'u') {   /* surrogate pair */
            const char *save = r->p;
            r->p += 2;
            int32_t lo = hex_n(r, 4);
            if (lo >= 0xDC00 && lo <= 0xDFFF) return 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            r->p = save;
        }
        return v;
    }
    default:
        if (c >= '1' && c <= '9') return rx_fail(r, SMOL_EUNSUPPORTED, "backreferences are not supported"), -1;
        if (c == 'k') return rx_fail(r, SMOL_EUNSUPPORTED, "named backreferences are not supported"), -1;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return rx_fail(r, SMOL_EUNSUPPORTED, "unknown escape '\\%c'", c), -1;
        r->p--;
        return next_utf8(r);
    }
}

/* [...] written as a GBNF class. */
static int parse_class(rx *r) {
    r->p++;
    int neg = 0;
    if (*r->p == '^') neg = 1, r->p++;
    rset s = {0};
    while (*r->p && *r->p != ']' && !r->rc) {
        int32_t lo;
        char sh = 0;
        if (*r->p == '\\') {
            r->p++;
            lo = parse_escape(r, 1, &sh);
        } else lo = next_utf8(r);
        if (lo == -3) {
            rs_shorthand(r, &s, sh);
            continue;
        }
        if (lo < 0) break;
        int32_t hi = lo;
        if (r->p[0] == '-' && r->p[1] && r->p[1] != ']') {
            r->p++;
            if (*r->p == '\\') {
                r->p++;
                hi = parse_escape(r, 1, &sh);
                if (hi == -3) {   /* [a-\d]: '-' is a literal */
                    rs_add(r, &s, (uint32_t)lo, (uint32_t)lo), rs_add(r, &s, '-', '-'), rs_shorthand(r, &s, sh);
                    continue;
                }
            } else hi = next_utf8(r);
            if (hi < 0) break;
            if (hi < lo) {
                rx_fail(r, SMOL_EFORMAT, "range out of order in character class");
                break;
            }
        }
        rs_add(r, &s, (uint32_t)lo, (uint32_t)hi);
    }
    if (!r->rc && *r->p != ']') rx_fail(r, SMOL_EFORMAT, "unterminated character class");
    if (!r->rc) {
        r->p++;
        put_class(r, s.r, s.n, neg);
    }
    free(s.r);
    return r->rc;
}

static int parse_alt(rx *r, int top);

/* An atom: a character, class, group or '.'; writes its GBNF. */
static int parse_atom(rx *r) {
    char c = *r->p;
    r->copies = 1;
    r->nullable = 0;
    if (c == '(') {
        if (++r->depth > 200) return rx_fail(r, SMOL_ERANGE, "groups nested too deeply");
        r->p++;
        if (*r->p == '?') {
            if (r->p[1] == ':') r->p += 2;
            else if (r->p[1] == '<' && r->p[2] != '=' && r->p[2] != '!') {   /* named group */
                r->p += 2;
                while (*r->p && *r->p != '>') r->p++;
                if (*r->p != '>') return rx_fail(r, SMOL_EFORMAT, "unterminated group name");
                r->p++;
            } else return rx_fail(r, SMOL_EUNSUPPORTED, "lookaround and inline flags are not supported");
        }
        puts_(r, "(");
        if (parse_alt(r, 0)) return r->rc;   /* sets r->nullable and r->copies for the group */
        if (*r->p != ')') return rx_fail(r, SMOL_EFORMAT, "missing ')'");
        r->p++;
        r->depth--;
        return puts_(r, ")");
    }
    if (c == '[') return parse_class(r);
    if (c == '.') {
        r->p++;
        return puts_(r, "[^\\x0A\\x0D\\u2028\\u2029]");
    }
    if (c == '*' || c == '+' || c == '?') return rx_fail(r, SMOL_EFORMAT, "nothing to repeat before '%c'", c);
    if (c == '^' || c == '$') return rx_fail(r, SMOL_EUNSUPPORTED, "anchor '%c' inside the pattern is not supported", c);
    if (c == ')') return rx_fail(r, SMOL_EFORMAT, "unmatched ')'");
    int32_t cp;
    char sh = 0;
    if (c == '\\') {
        r->p++;
        cp = parse_escape(r, 0, &sh);
        if (cp == -3) {
            rset s = {0};
            rs_shorthand(r, &s, sh);
            if (!r->rc) put_class(r, s.r, s.n, 0);
            free(s.r);
            return r->rc;
        }
    } else cp = next_utf8(r);
    if (cp < 0) return r->rc;
    puts_(r, "\"");
    put_cp(r, (uint32_t)cp);
    return puts_(r, "\"");
}

/* A quantifier after an atom, if any: {m}, {m,}, {m,n} (a '{' that is not one is a literal). */
static int parse_quant(rx *r) {
    char c = *r->p;
    if (c == '*' || c == '+' || c == '?') {
        char q[2] = {c, 0};
        r->p++;
        puts_(r, q);
        if (c != '+') r->nullable = 1;
    } else if (c == '{') {
        const char *q = r->p + 1;
        long m = -1, n = -2;
        if (*q >= '0' && *q <= '9') m = strtol(q, (char **)&q, 10);
        if (m >= 0 && *q == ',') {
            q++;
            n = -1;
            if (*q >= '0' && *q <= '9') n = strtol(q, (char **)&q, 10);
        }
        if (m < 0 || *q != '}') return 0;    /* not a quantifier: '{' is a literal */
        if (n == -2) n = m;
        if (n >= 0 && n < m) return rx_fail(r, SMOL_EFORMAT, "numbers out of order in {} quantifier");
        if (m > 1000 || n > 1000) return rx_fail(r, SMOL_ERANGE, "repetition count above 1000");
        /* nested repetitions of what can be empty make the matcher's work grow with the product */
        r->copies = r->nullable || m == 0 ? r->copies * (double)(n > m ? n : m > 1 ? m : 1) : 1;
        if (r->copies > MAX_COPIES)
            return rx_fail(r, SMOL_ERANGE, "repetitions of a part that can be empty nest to more than %d copies",
                           MAX_COPIES);
        if (m == 0) r->nullable = 1;
        char b[64];
        if (n < 0) snprintf(b, sizeof b, "{%ld,}", m);
        else if (n == m) snprintf(b, sizeof b, "{%ld}", m);
        else snprintf(b, sizeof b, "{%ld,%ld}", m, n);
        r->p = q + 1;
        puts_(r, b);
    } else return 0;
    if (*r->p == '?') r->p++;           /* lazy: the same language */
    if (*r->p == '*' || *r->p == '+' || *r->p == '?' ||
        (*r->p == '{' && r->p[1] >= '0' && r->p[1] <= '9'))
        return rx_fail(r, SMOL_EFORMAT, "nothing to repeat");
    return r->rc;
}

/* Alternatives up to ')' or the end; at the top level, '^' may start and '$' end each one. */
static int parse_alt(rx *r, int top) {
    double most = 1;
    int nullable = 0;
    for (;;) {
        if (top && *r->p == '^') r->p++;
        int any = 0, empty = 1;
        while (*r->p && *r->p != '|' && *r->p != ')') {
            if (top && *r->p == '$' && (r->p[1] == 0 || r->p[1] == '|')) {
                r->p++;
                break;
            }
            if (*r->p == '{' && !any) return rx_fail(r, SMOL_EFORMAT, "nothing to repeat before '{'");
            if (any) puts_(r, " ");
            if (parse_atom(r) || parse_quant(r)) return r->rc;
            if (r->copies > most) most = r->copies;
            empty &= r->nullable;
            any = 1;
        }
        nullable |= empty;
        if (*r->p != '|') break;
        r->p++;
        puts_(r, " | ");
    }
    if (top && *r->p == ')') return rx_fail(r, SMOL_EFORMAT, "unmatched ')'");
    r->nullable = nullable;
    r->copies = nullable ? most : 1;
    return r->rc;
}

int smol_regex_to_gbnf(const char *re, const char *rule_name, char **gbnf, smol_error *err) {
    *gbnf = NULL;
    if (!re) return smol_fail(err, SMOL_EINVAL, "regex: no pattern");
    if (!rule_name || !*rule_name) rule_name = "root";
    rx r = {.s = re, .p = re, .err = err};
    puts_(&r, rule_name);
    puts_(&r, " ::= ");
    parse_alt(&r, 1);
    if (!r.rc) puts_(&r, "\n");
    if (r.rc) {
        free(r.out);
        return r.rc;
    }
    *gbnf = r.out;
    return SMOL_OK;
}
