/* regex.c: an ECMA-262 regular expression subset -> one GBNF rule (see regex.h). The regex is
 * parsed by recursive descent and written out as the equivalent GBNF expression: characters
 * become one-character strings, classes become GBNF classes built from sorted code point
 * ranges (so \d, \w, \s and negations combine exactly), groups and quantifiers map one to one.
 * With an NFA attached the same parse also builds Thompson fragments (repetitions copy their
 * atom's states), which subset construction turns into a DFA over code point ranges. */
#include "gen/regex.h"
#include "base/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

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
    struct nfa *nf;  /* when building an automaton (smol_regex_dfa_new): its states */
    int fs, fe;      /* the fragment just parsed: start and end state (the end has no edges yet) */
    int search;      /* unanchored top-level alternatives may have text before and after */
    uint32_t prop;   /* the general categories (bit per utf8proc category) of the last \p{...} */
} rx;

/* An NFA state: up to two empty edges, or one edge on the code point ranges pool[r0..r0+nr). */
typedef struct nstate {
    int eps[2];
    int to;
    uint32_t r0, nr;
} nstate;

typedef struct nfa {
    nstate *s;
    int n, cap;
    rx_range *pool;
    size_t np, pcap;
} nfa;

#define NFA_MAX 20000    /* NFA states at most */
#define DFA_WORK 20000000 /* NFA states visited by the subset construction at most */
#define DFA_MAX 4096     /* DFA states at most */

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

/* A new NFA state without edges; -1 (error set) past NFA_MAX or out of memory. */
static int n_state(rx *r) {
    nfa *a = r->nf;
    if (a->n >= NFA_MAX) return rx_fail(r, SMOL_ERANGE, "the automaton would need more than %d states", NFA_MAX), -1;
    if (a->n == a->cap) {
        int nc = a->cap ? a->cap * 2 : 64;
        nstate *q = realloc(a->s, (size_t)nc * sizeof *q);
        if (!q) return rx_fail(r, SMOL_ENOMEM, "out of memory"), -1;
        a->s = q, a->cap = nc;
    }
    a->s[a->n] = (nstate){{-1, -1}, -1, 0, 0};
    return a->n++;
}

static void n_eps(rx *r, int from, int to) {
    nstate *x = &r->nf->s[from];
    x->eps[x->eps[0] < 0 ? 0 : 1] = to;
}

/* The fragment fs -> fe of an empty text. */
static int n_empty(rx *r) {
    int s = n_state(r);
    r->fs = r->fe = s;
    return s < 0 ? r->rc : 0;
}

/* The fragment of one character in the sorted, merged ranges rg[0..n). */
static int n_chars(rx *r, const rx_range *rg, size_t n) {
    nfa *a = r->nf;
    if (a->np + n > a->pcap) {
        size_t nc = a->pcap ? a->pcap * 2 : 256;
        while (nc < a->np + n) nc *= 2;
        rx_range *q = realloc(a->pool, nc * sizeof *q);
        if (!q) return rx_fail(r, SMOL_ENOMEM, "out of memory");
        a->pool = q, a->pcap = nc;
    }
    if (n) memcpy(a->pool + a->np, rg, n * sizeof *rg);
    int s0 = n_state(r), s1 = s0 < 0 ? -1 : n_state(r);
    if (s1 < 0) return r->rc;
    a->s[s0].to = s1, a->s[s0].r0 = (uint32_t)a->np, a->s[s0].nr = (uint32_t)n;
    a->np += n;
    r->fs = s0, r->fe = s1;
    return 0;
}

/* Copies states [lo, hi) to the end; returns the offset added to their numbers (-1: error). */
static int n_copy(rx *r, int lo, int hi) {
    int off = r->nf->n - lo;
    for (int i = lo; i < hi; i++) {
        int t = n_state(r);
        if (t < 0) return -1;
        nstate x = r->nf->s[i];
        for (int e = 0; e < 2; e++)
            if (x.eps[e] >= 0) x.eps[e] += off;
        if (x.to >= 0) x.to += off;
        r->nf->s[t] = x;
    }
    return off;
}

/* The fragment fs..fe (states [lo, end)) repeated m to n times (n < 0: no upper limit). */
static int n_repeat(rx *r, int lo, long m, long n) {
    int hi = r->nf->n, s = r->fs, e = r->fe;
    long copies = n < 0 ? m + 1 : n;
    if (copies == 0) return n_empty(r);
    int *cs = malloc((size_t)copies * sizeof *cs);
    if (!cs) return rx_fail(r, SMOL_ENOMEM, "out of memory");
    cs[0] = 0;
    for (long i = 1; i < copies && !r->rc; i++) cs[i] = n_copy(r, lo, hi);
    int start = n_state(r), end = r->rc ? -1 : n_state(r), cur = start;
    for (long i = 0; i < copies && end >= 0; i++) {
        int cs_s = s + cs[i], cs_e = e + cs[i];
        if (i < m) {
            n_eps(r, cur, cs_s);
            cur = cs_e;
        } else if (n < 0) {   /* the last copy loops */
            int mid = n_state(r);
            if (mid < 0) break;
            n_eps(r, cur, mid), n_eps(r, mid, cs_s), n_eps(r, cs_e, mid);
            cur = mid;
        } else {              /* optional copies: each may end the repetition */
            n_eps(r, cur, cs_s), n_eps(r, cur, end);
            cur = cs_e;
        }
    }
    if (end >= 0) n_eps(r, cur, end);
    free(cs);
    r->fs = start, r->fe = end;
    return r->rc;
}

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

/* The NFA fragment of one character in rg[0..n) (its complement when neg); sorts rg. */
static int n_class(rx *r, rx_range *rg, size_t n, int neg) {
    if (!r->nf) return 0;
    n = normalize(rg, n);
    if (!neg) return n_chars(r, rg, n);
    rx_range *c = malloc((n + 1) * sizeof *c);
    if (!c) return rx_fail(r, SMOL_ENOMEM, "out of memory");
    size_t k = 0;
    uint32_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (rg[i].lo > next) c[k++] = (rx_range){next, rg[i].lo - 1};
        next = rg[i].hi + 1;
    }
    if (next <= MAX_CP) c[k++] = (rx_range){next, MAX_CP};
    n_chars(r, c, k);
    free(c);
    return r->rc;
}

static const rx_range k_digit[] = {{'0', '9'}};
static const rx_range k_word[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
static const rx_range k_space[] = {{0x09, 0x0D}, {0x20, 0x20}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
                                   {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
                                   {0xFEFF, 0xFEFF}};

/* Unicode general categories by long and short name: a bit per utf8proc category. */
static const struct {
    const char *name, *abbr;
    uint32_t mask;
} k_props[] = {
    {"Letter", "L", 0x3Eu},             {"Cased_Letter", "LC", 0x0Eu},      {"Uppercase_Letter", "Lu", 1u << 1},
    {"Lowercase_Letter", "Ll", 1u << 2}, {"Titlecase_Letter", "Lt", 1u << 3}, {"Modifier_Letter", "Lm", 1u << 4},
    {"Other_Letter", "Lo", 1u << 5},    {"Mark", "M", 0x1C0u},              {"Nonspacing_Mark", "Mn", 1u << 6},
    {"Spacing_Mark", "Mc", 1u << 7},    {"Enclosing_Mark", "Me", 1u << 8},  {"Number", "N", 0xE00u},
    {"Decimal_Number", "Nd", 1u << 9},  {"Letter_Number", "Nl", 1u << 10},  {"Other_Number", "No", 1u << 11},
    {"Punctuation", "P", 0x7F000u},     {"Connector_Punctuation", "Pc", 1u << 12}, {"Dash_Punctuation", "Pd", 1u << 13},
    {"Open_Punctuation", "Ps", 1u << 14}, {"Close_Punctuation", "Pe", 1u << 15}, {"Initial_Punctuation", "Pi", 1u << 16},
    {"Final_Punctuation", "Pf", 1u << 17}, {"Other_Punctuation", "Po", 1u << 18}, {"Symbol", "S", 0x780000u},
    {"Math_Symbol", "Sm", 1u << 19},    {"Currency_Symbol", "Sc", 1u << 20}, {"Modifier_Symbol", "Sk", 1u << 21},
    {"Other_Symbol", "So", 1u << 22},   {"Separator", "Z", 0x3800000u},     {"Space_Separator", "Zs", 1u << 23},
    {"Line_Separator", "Zl", 1u << 24}, {"Paragraph_Separator", "Zp", 1u << 25}, {"Other", "C", 0x3C000001u},
    {"Control", "Cc", 1u << 26},        {"Format", "Cf", 1u << 27},         {"Surrogate", "Cs", 1u << 28},
    {"Private_Use", "Co", 1u << 29},    {"Unassigned", "Cn", 1u << 0},      {"digit", "Nd", 1u << 9},
    {"punct", "P", 0x7F000u},           {"cntrl", "Cc", 1u << 26},
};

/* Reads {Name} after \p (r->p at '{'): r->prop gets its categories; -1 on error. */
static int read_prop(rx *r) {
    if (*r->p != '{') return rx_fail(r, SMOL_EFORMAT, "\\p needs {Name}"), -1;
    const char *end = strchr(r->p, '}');
    if (!end) return rx_fail(r, SMOL_EFORMAT, "unterminated \\p{...}"), -1;
    const char *name = r->p + 1;
    size_t n = (size_t)(end - name);
    for (const char *pre = "General_Category=\0gc=\0"; *pre; pre += strlen(pre) + 1)
        if (n > strlen(pre) && strncmp(name, pre, strlen(pre)) == 0) name += strlen(pre), n -= strlen(pre);
    for (size_t i = 0; i < sizeof k_props / sizeof k_props[0]; i++)
        if ((strlen(k_props[i].name) == n && strncmp(name, k_props[i].name, n) == 0) ||
            (strlen(k_props[i].abbr) == n && strncmp(name, k_props[i].abbr, n) == 0)) {
            r->prop = k_props[i].mask;
            r->p = end + 1;
            return 0;
        }
    return rx_fail(r, SMOL_EUNSUPPORTED, "Unicode property '%.*s' (only general categories such as \\p{L}, \\p{Letter})",
                   (int)(end - r->p - 1), r->p + 1), -1;
}

/* Adds the code points whose general category is in mask (complement: not in it) to s. */
static int rs_prop(rx *r, rset *s, uint32_t mask, int complement) {
    uint32_t start = 0;
    int in = 0;
    for (uint32_t c = 0; c <= MAX_CP + 1 && !r->rc; c++) {
        int hit = c <= MAX_CP && ((mask >> utf8proc_category((utf8proc_int32_t)c) & 1) != (uint32_t)complement);
        if (hit && !in) start = c, in = 1;
        else if (!hit && in) rs_add(r, s, start, c - 1), in = 0;
    }
    return r->rc;
}

/* Adds a shorthand class (d, w, s; upper case: its complement) to s. */
static int rs_shorthand(rx *r, rset *s, char c) {
    if (c == 'p' || c == 'P') return rs_prop(r, s, r->prop, c == 'P');
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
    case 'p': case 'P':
        if (read_prop(r)) return -1;
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
        n_class(r, s.r, s.n, neg);
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
        rx_range nl[] = {{0x0A, 0x0A}, {0x0D, 0x0D}, {0x2028, 0x2029}};
        n_class(r, nl, 3, 1);
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
            if (!r->rc) n_class(r, s.r, s.n, 0);
            free(s.r);
            return r->rc;
        }
    } else cp = next_utf8(r);
    if (cp < 0) return r->rc;
    if (r->nf) n_chars(r, &(rx_range){(uint32_t)cp, (uint32_t)cp}, 1);
    puts_(r, "\"");
    put_cp(r, (uint32_t)cp);
    return puts_(r, "\"");
}

/* A quantifier after an atom, if any: {m}, {m,}, {m,n} (a '{' that is not one is a literal). */
static int parse_quant(rx *r, int lo) {
    char c = *r->p;
    if (c == '*' || c == '+' || c == '?') {
        char q[2] = {c, 0};
        r->p++;
        puts_(r, q);
        if (c != '+') r->nullable = 1;
        if (r->nf) n_repeat(r, lo, c == '+', c == '?' ? 1 : -1);
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
        if (r->nf) n_repeat(r, lo, m, n);
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
    int a_start = -1, a_end = -1;   /* the alternation built so far (NFA) */
    for (;;) {
        int anchored0 = 0, anchored1 = 0;
        if (top && *r->p == '^') r->p++, anchored0 = 1;
        int any = 0, empty = 1, q_start = -1, q_end = -1;
        while (*r->p && *r->p != '|' && *r->p != ')') {
            if (top && *r->p == '$' && (r->p[1] == 0 || r->p[1] == '|')) {
                r->p++;
                anchored1 = 1;
                break;
            }
            if (*r->p == '{' && !any) return rx_fail(r, SMOL_EFORMAT, "nothing to repeat before '{'");
            if (any) puts_(r, " ");
            int lo = r->nf ? r->nf->n : 0;
            if (parse_atom(r) || parse_quant(r, lo)) return r->rc;
            if (r->nf) {   /* concatenation */
                if (q_start < 0) q_start = r->fs;
                else n_eps(r, q_end, r->fs);
                q_end = r->fe;
            }
            if (r->copies > most) most = r->copies;
            empty &= r->nullable;
            any = 1;
        }
        if (r->nf && q_start < 0) {
            if (n_empty(r)) return r->rc;
            q_start = r->fs, q_end = r->fe;
        }
        if (r->nf && top && r->search && (!anchored0 || !anchored1)) {   /* text before / after */
            rx_range all = {0, MAX_CP};
            for (int side = 0; side < 2; side++) {
                if (side ? anchored1 : anchored0) continue;
                int lo = r->nf->n;
                if (n_chars(r, &all, 1) || n_repeat(r, lo, 0, -1)) return r->rc;
                if (side) n_eps(r, q_end, r->fs), q_end = r->fe;
                else n_eps(r, r->fe, q_start), q_start = r->fs;
            }
        }
        if (r->nf && a_start < 0) a_start = q_start, a_end = q_end;
        else if (r->nf) {   /* a new start choosing either side, a new end after both */
            int s = n_state(r), e = s < 0 ? -1 : n_state(r);
            if (e < 0) return r->rc;
            n_eps(r, s, a_start), n_eps(r, s, q_start), n_eps(r, a_end, e), n_eps(r, q_end, e);
            a_start = s, a_end = e;
        }
        nullable |= empty;
        if (*r->p != '|') break;
        r->p++;
        puts_(r, " | ");
    }
    if (r->nf) r->fs = a_start, r->fe = a_end;
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

/* ---------------------------------------------------------------- the automaton */

struct smol_rx_dfa {
    int n, cap;
    unsigned char *accept;
    int *e0, *ne;             /* state i's edges: edges[e0[i] .. e0[i] + ne[i]) */
    smol_rx_edge *edges;
    size_t n_edges, cap_edges;
};

/* A set of NFA states (sorted), the key of a DFA state. */
typedef struct nset {
    int *v, n;
} nset;

typedef struct dbuild {
    rx *r;
    const nfa *a;
    nset *sets;
    int *hash;               /* open addressing: DFA state + 1, 0 empty */
    size_t hcap;
    int *stack;
    unsigned char *in;       /* NFA state already in the closure being built */
    long work;               /* NFA states visited so far */
} dbuild;

static uint64_t set_hash(const int *v, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)v[i]) * 1099511628211ull;
    return h;
}

static int cmp_int(const void *x, const void *y) {
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* The empty-edge closure of v[0..n) (v must hold room for every NFA state), sorted; its size. */
static int closure(dbuild *b, int *v, int n) {
    int top = 0;
    for (int i = 0; i < n; i++)
        if (!b->in[v[i]]) b->in[v[i]] = 1, b->stack[top++] = v[i];
    n = 0;
    while (top) {
        int x = b->stack[--top];
        v[n++] = x;
        for (int e = 0; e < 2; e++) {
            int y = b->a->s[x].eps[e];
            if (y >= 0 && !b->in[y]) b->in[y] = 1, b->stack[top++] = y;
        }
    }
    for (int i = 0; i < n; i++) b->in[v[i]] = 0;
    qsort(v, (size_t)n, sizeof *v, cmp_int);
    b->work += n;
    return n;
}

/* The DFA state of closed set v[0..n) (added when new); -1 on error. */
static int dfa_state(dbuild *b, smol_rx_dfa *d, const int *v, int n, int accept_state) {
    size_t h = (size_t)set_hash(v, n) & (b->hcap - 1);
    for (; b->hash[h]; h = (h + 1) & (b->hcap - 1)) {
        nset *s = &b->sets[b->hash[h] - 1];
        if (s->n == n && memcmp(s->v, v, (size_t)n * sizeof *v) == 0) return b->hash[h] - 1;
    }
    if (d->n >= DFA_MAX) return rx_fail(b->r, SMOL_ERANGE, "the automaton would need more than %d states", DFA_MAX), -1;
    if (d->n == d->cap) {
        int nc = d->cap ? d->cap * 2 : 64;
        unsigned char *ac = realloc(d->accept, (size_t)nc);
        if (ac) d->accept = ac;
        int *e0 = realloc(d->e0, (size_t)nc * sizeof *e0);
        if (e0) d->e0 = e0;
        int *ne = realloc(d->ne, (size_t)nc * sizeof *ne);
        if (ne) d->ne = ne;
        nset *ss = realloc(b->sets, (size_t)nc * sizeof *ss);
        if (ss) b->sets = ss;
        if (!ac || !e0 || !ne || !ss) return rx_fail(b->r, SMOL_ENOMEM, "out of memory"), -1;
        d->cap = nc;
    }
    int *copy = malloc(((size_t)n + 1) * sizeof *copy);
    if (!copy) return rx_fail(b->r, SMOL_ENOMEM, "out of memory"), -1;
    memcpy(copy, v, (size_t)n * sizeof *v);
    int id = d->n++;
    b->sets[id] = (nset){copy, n};
    d->accept[id] = 0;
    for (int i = 0; i < n; i++) d->accept[id] |= v[i] == accept_state;
    d->e0[id] = 0, d->ne[id] = 0;
    b->hash[h] = id + 1;
    return id;
}

static int cmp_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static int add_edge(rx *r, smol_rx_dfa *d, uint32_t lo, uint32_t hi, int to) {
    if (d->n_edges == d->cap_edges) {
        size_t nc = d->cap_edges ? d->cap_edges * 2 : 256;
        smol_rx_edge *q = realloc(d->edges, nc * sizeof *q);
        if (!q) return rx_fail(r, SMOL_ENOMEM, "out of memory");
        d->edges = q, d->cap_edges = nc;
    }
    d->edges[d->n_edges++] = (smol_rx_edge){lo, hi, to};
    return 0;
}

/* Subset construction: the edges of DFA state id, over the elementary intervals between the
 * boundaries of its NFA states' ranges. */
static int dfa_expand(dbuild *b, smol_rx_dfa *d, int id, int accept_state, int *v, uint32_t *cuts) {
    const nset *s = &b->sets[id];
    const nfa *a = b->a;
    size_t nc = 0;
    for (int i = 0; i < s->n; i++) {
        const nstate *x = &a->s[s->v[i]];
        for (uint32_t k = 0; x->to >= 0 && k < x->nr; k++) {
            cuts[nc++] = a->pool[x->r0 + k].lo;
            if (a->pool[x->r0 + k].hi < MAX_CP) cuts[nc++] = a->pool[x->r0 + k].hi + 1;
        }
    }
    qsort(cuts, nc, sizeof *cuts, cmp_u32);
    d->e0[id] = (int)d->n_edges;
    int prev_to = -1;
    for (size_t c = 0; c < nc; c++) {
        if (c && cuts[c] == cuts[c - 1]) continue;
        uint32_t lo = cuts[c], hi = c + 1 < nc ? MAX_CP : MAX_CP;
        for (size_t c2 = c + 1; c2 < nc; c2++)
            if (cuts[c2] != lo) {
                hi = cuts[c2] - 1;
                break;
            }
        int n = 0;
        const nset *cur = &b->sets[id];   /* re-read: dfa_state may move the array */
        for (int i = 0; i < cur->n; i++) {
            const nstate *x = &a->s[cur->v[i]];
            if (x->to < 0) continue;
            for (uint32_t k = 0; k < x->nr; k++)
                if (a->pool[x->r0 + k].lo <= lo && lo <= a->pool[x->r0 + k].hi) {
                    v[n++] = x->to;
                    break;
                }
        }
        if (!n) {
            prev_to = -1;
            continue;
        }
        n = closure(b, v, n);
        if (b->work > DFA_WORK) return rx_fail(b->r, SMOL_ERANGE, "the automaton is too large to build (%ld NFA states visited)", b->work);
        int to = dfa_state(b, d, v, n, accept_state);
        if (to < 0) return b->r->rc;
        if (to == prev_to && d->edges[d->n_edges - 1].hi + 1 == lo) d->edges[d->n_edges - 1].hi = hi;
        else if (add_edge(b->r, d, lo, hi, to)) return b->r->rc;
        prev_to = to;
    }
    d->ne[id] = (int)d->n_edges - d->e0[id];
    return 0;
}

void smol_rx_dfa_free(smol_rx_dfa *d) {
    if (!d) return;
    free(d->accept), free(d->e0), free(d->ne), free(d->edges);
    free(d);
}

int smol_rx_dfa_new(const char *re, int search, smol_rx_dfa **out, smol_error *err) {
    *out = NULL;
    if (!re) return smol_fail(err, SMOL_EINVAL, "regex: no pattern");
    nfa a = {0};
    rx r = {.s = re, .p = re, .err = err, .nf = &a, .search = search};
    parse_alt(&r, 1);
    free(r.out);
    smol_rx_dfa *d = r.rc ? NULL : calloc(1, sizeof *d);
    if (!r.rc && !d) rx_fail(&r, SMOL_ENOMEM, "out of memory");
    dbuild b = {.r = &r, .a = &a, .hcap = 2 * DFA_MAX};
    int *v = NULL;
    uint32_t *cuts = NULL;
    if (!r.rc) {
        size_t ncuts = 2;   /* copies share their ranges: count them per state */
        for (int i = 0; i < a.n; i++) ncuts += 2 * (size_t)a.s[i].nr;
        b.hash = calloc(b.hcap, sizeof *b.hash), b.stack = malloc((size_t)a.n * sizeof *b.stack);
        b.in = calloc((size_t)a.n, 1), v = malloc((size_t)a.n * sizeof *v), cuts = malloc(ncuts * sizeof *cuts);
        if (!b.hash || !b.stack || !b.in || !v || !cuts) rx_fail(&r, SMOL_ENOMEM, "out of memory");
    }
    if (!r.rc) {
        v[0] = r.fs;
        int n = closure(&b, v, 1);
        if (dfa_state(&b, d, v, n, r.fe) == 0)
            for (int i = 0; i < d->n && !r.rc; i++) dfa_expand(&b, d, i, r.fe, v, cuts);
    }
    for (int i = 0; d && b.sets && i < d->n; i++) free(b.sets[i].v);
    free(b.sets), free(b.hash), free(b.stack), free(b.in), free(v), free(cuts);
    free(a.s), free(a.pool);
    if (r.rc) {
        smol_rx_dfa_free(d);
        return r.rc;
    }
    *out = d;
    return SMOL_OK;
}

int smol_rx_dfa_n_states(const smol_rx_dfa *d) { return d->n; }

int smol_rx_dfa_accepts(const smol_rx_dfa *d, int state) { return d->accept[state]; }

int smol_rx_dfa_edges(const smol_rx_dfa *d, int state, const smol_rx_edge **edges) {
    *edges = d->ne[state] ? d->edges + d->e0[state] : NULL;
    return d->ne[state];
}

int smol_rx_dfa_step(const smol_rx_dfa *d, int state, uint32_t cp) {
    if (state < 0 || !d->ne[state]) return -1;
    const smol_rx_edge *e = d->edges + d->e0[state];
    int lo = 0, hi = d->ne[state] - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < e[mid].lo) hi = mid - 1;
        else if (cp > e[mid].hi) lo = mid + 1;
        else return e[mid].to;
    }
    return -1;
}
