/* schema.c: JSON Schema -> GBNF. Each schema becomes a rule; $ref targets get one rule each
 * (so recursion works); allOf and $ref-with-siblings are merged into one schema first; anyOf
 * (and oneOf whose branches cannot overlap) become alternations. Integer bounds become exact
 * digit grammars; strings with pattern go through smol_regex_to_gbnf with JSON escaping added.
 * Keywords that a context-free grammar cannot enforce are errors naming keyword and schema path
 * (warnings with SMOL_SCHEMA_LENIENT). The result is checked by compiling it with the engine. */
#include "gen/schema.h"
#include "gen/jsonschema.h"
#include "gen/regex.h"
#include "gen/grammar.h"
#include "base/error.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200
#define MAX_ALTS 256
#define MAX_REPEAT 1000   /* the largest {m,n} count the engine takes */
/* Internal keyword: additionalProperties of merged allOf members, each [{names, patterns, schema}]
 * judging the keys outside its own member's properties and patterns. */
#define K_ADDL "additionalProperties of an allOf member"
/* Internal keyword: the properties of a subschema that must hold but evaluates nothing (a negation:
 * a failed `not` or `if`, the other branches of a oneOf). Their names stay subject to
 * additionalProperties/unevaluatedProperties unless evaluating keywords list them. */
#define K_NEPROPS "properties of a failed subschema"
/* Internal keyword (true): the anyOf beside it can be judged one branch at a time by
 * unevaluated* (its branches exclude each other, or are every conjunction of the original ones). */
#define K_EXCL "anyOf branches judged one at a time"
/* Internal keyword: the prefixItems of a failed subschema (as K_NEPROPS, for items). */
#define K_NEPREFIX "prefixItems of a failed subschema"

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->n + n + 1) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_add(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_addf(sbuf *b, const char *fmt, ...) SMOL_PRINTF(2, 3);
static void sb_addf(sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < (int)sizeof tmp) {
        sb_put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}
/* Takes the text out of b (a "" string if empty); NULL if out of memory. */
static char *sb_take(sbuf *b) {
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    char *p = b->p ? b->p : strdup("");
    b->p = NULL;
    b->n = b->cap = 0;
    return p;
}

typedef struct memo {
    const cJSON *node;
    char name[32];
    int level;               /* nesting level when started (value depth) */
    int done;
} memo;

/* Values a primitive `not` excludes, by type (values the rest of the schema rejects are left out). */
typedef struct excl {
    int no_int, no_true, no_false;
    int n_nums, n_strs;
    double nums[64];
    const char *strs[64];
} excl;

enum { U_WS = 1, U_CHAR = 2, U_STRING = 4, U_NUMBER = 8, U_INTEGER = 16, U_VALUE = 32 };

typedef struct gen {
    smol_schema_options o;
    smol_error *err;
    smol_jschema *js;        /* the prepared document: $ref resolution and enum filtering */
    sbuf rules;
    int n_rules;
    memo *memo;
    int n_memo, cap_memo;
    unsigned used;
    int depth, level;
    int rc;
    char path[1024];
    cJSON *keep;             /* schemas made by merging, freed at the end */
    int empty;               /* the failure in rc is "no value can match" (a branch may be dropped) */
    char why[300];           /* why the last negation could not be expressed */
} gen;

/* ---------------------------------------------------------------- errors and paths */

/* Records the first error (later ones are dropped); empty marks "no value can match". */
static char *gfailv(gen *g, int code, int empty, const char *fmt, va_list ap) {
    if (g->rc) return NULL;
    char msg[900];
    vsnprintf(msg, sizeof msg, fmt, ap);
    g->rc = smol_fail(g->err, code, "%s", msg);
    g->empty = empty;
    return NULL;
}

static char *gfail(gen *g, int code, const char *fmt, ...) SMOL_PRINTF(3, 4);
static char *gfail(gen *g, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gfailv(g, code, 0, fmt, ap);
    va_end(ap);
    return NULL;
}

/* A schema that no value satisfies: an error that anyOf/oneOf branches recover from (dropped). */
static char *gempty(gen *g, const char *fmt, ...) SMOL_PRINTF(2, 3);
static char *gempty(gen *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    gfailv(g, SMOL_EUNSUPPORTED, 1, fmt, ap);
    va_end(ap);
    return NULL;
}

static const char *gpath(gen *g) { return g->path[0] ? g->path : "/"; }

/* A keyword that cannot be enforced: an error, or in lenient mode a warning (returns 0). */
static int unsupported(gen *g, const char *kw, const char *why) {
    char msg[1200];
    snprintf(msg, sizeof msg, "unsupported keyword '%s' at %s%s%s", kw, gpath(g), why ? ": " : "", why ? why : "");
    if (g->o.flags & SMOL_SCHEMA_LENIENT) {
        if (g->o.warn) g->o.warn(g->o.warn_ctx, msg);
        return 0;
    }
    gfail(g, SMOL_EUNSUPPORTED, "%s", msg);
    return -1;
}

static size_t path_push(gen *g, const char *seg) {
    size_t n = strlen(g->path);
    snprintf(g->path + n, sizeof g->path - n, "/%s", seg);
    return n;
}
static void path_pop(gen *g, size_t n) { g->path[n] = 0; }

/* ---------------------------------------------------------------- rules and literals */

/* Adds "name ::= expr" under a fresh name; returns the name (malloc'd). Takes expr. */
static char *add_rule(gen *g, char *expr) {
    if (!expr) return NULL;
    char name[32];
    snprintf(name, sizeof name, "r%d", ++g->n_rules);
    sb_addf(&g->rules, "%s ::= %s\n", name, expr);
    free(expr);
    return strdup(name);
}

static char *dupf(const char *fmt, ...) SMOL_PRINTF(1, 2);
static char *dupf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0) p = NULL;
    va_end(ap);
    return p;
}

static const char *ws(gen *g) {
    if (g->o.flags & SMOL_SCHEMA_COMPACT) return "";
    g->used |= U_WS;
    return " ws ";
}

/* Appends bytes s[0..n) as the inside of a GBNF string literal. */
static void lit_bytes(sbuf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) sb_addf(b, "\\x%02X", c);
        else sb_put(b, (const char *)&c, 1);
    }
}

static int utf8_decode(const unsigned char *s, uint32_t *cp) {
    if (s[0] < 0x80) return *cp = s[0], 1;
    if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) return *cp = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu), 2;
    if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80)
        return *cp = ((s[0] & 0x0fu) << 12) | ((s[1] & 0x3fu) << 6) | (s[2] & 0x3fu), 3;
    if ((s[0] & 0xf8) == 0xf0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80)
        return *cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3fu) << 12) | ((s[2] & 0x3fu) << 6) | (s[3] & 0x3fu), 4;
    return *cp = s[0], 1;
}

/* The GBNF expression for the JSON text of string s: non-ASCII characters may be written raw
 * or as \uXXXX escapes (either hex case); '"', '\' and control characters escaped. */
static void json_string_expr(sbuf *b, const char *s) {
    sb_add(b, "\"\\\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int k = utf8_decode(p, &cp);
        if (cp == '"') sb_add(b, "\\x5C\\x22");
        else if (cp == '\\') sb_add(b, "\\x5C\\x5C");
        else if (cp < 0x20) {
            static const char *const short_esc[32] = {[8] = "b", [9] = "t", [10] = "n", [12] = "f", [13] = "r"};
            char hex[4];
            snprintf(hex, sizeof hex, "%02x", cp);
            sb_add(b, "\" (");
            if (short_esc[cp]) sb_addf(b, "\"\\x5C%s\" | ", short_esc[cp]);
            sb_addf(b, "\"\\x5Cu00%c\" ", hex[0]);
            if (isalpha((unsigned char)hex[1])) sb_addf(b, "[%c%c]", hex[1], toupper((unsigned char)hex[1]));
            else sb_addf(b, "\"%c\"", hex[1]);
            sb_add(b, ") \"");
        } else if (cp < 0x80) lit_bytes(b, (const char *)p, 1);
        else {  /* raw, or \uXXXX (a surrogate pair above the BMP) */
            sb_add(b, "\" (\"");
            lit_bytes(b, (const char *)p, (size_t)k);
            sb_add(b, "\" | ");
            uint32_t units[2] = {cp, 0};
            int nu = 1;
            if (cp >= 0x10000) {
                units[0] = 0xD800 + ((cp - 0x10000) >> 10);
                units[1] = 0xDC00 + ((cp - 0x10000) & 0x3ff);
                nu = 2;
            }
            for (int u = 0; u < nu; u++) {
                char hex[8];
                snprintf(hex, sizeof hex, "%04x", (unsigned)units[u]);
                sb_add(b, "\"\\x5Cu\"");
                for (int h = 0; h < 4; h++)
                    if (isalpha((unsigned char)hex[h])) sb_addf(b, " [%c%c]", hex[h], toupper((unsigned char)hex[h]));
                    else sb_addf(b, " \"%c\"", hex[h]);
                sb_add(b, " ");
            }
            sb_add(b, ") \"");
        }
        p += k;
    }
    sb_add(b, "\\\"\"");
}

/* Steps p[0..n) to the next permutation in lexicographic order; 0 after the last. */
static int next_perm(int *p, int n) {
    int i = n - 2;
    while (i >= 0 && p[i] >= p[i + 1]) i--;
    if (i < 0) return 0;
    int j = n - 1;
    while (p[j] <= p[i]) j--;
    int t = p[i];
    p[i] = p[j], p[j] = t;
    for (int a = i + 1, z = n - 1; a < z; a++, z--) t = p[a], p[a] = p[z], p[z] = t;
    return 1;
}

/* A count keyword's value as a long, clamped (1e300 or NaN must not reach a float-to-int cast). */
static long num_to_long(double v) {
    if (v != v) return 0;
    if (v > 1e15) return 1000000000000000L;
    if (v < -1e15) return -1000000000000000L;
    return (long)v;
}

/* The GBNF expression for exactly JSON value v (whitespace allowed between tokens; integral
 * numbers also as n.0; numbers otherwise as printed with up to 17 digits). */
static void const_expr(gen *g, sbuf *b, const cJSON *v) {
    if (cJSON_IsNull(v)) sb_add(b, "\"null\"");
    else if (cJSON_IsTrue(v)) sb_add(b, "\"true\"");
    else if (cJSON_IsFalse(v)) sb_add(b, "\"false\"");
    else if (cJSON_IsString(v)) json_string_expr(b, v->valuestring);
    else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 1e17) {
            if (d == 0) sb_add(b, "(\"-\"? \"0\" (\".\" \"0\"+)?)");
            else sb_addf(b, "(\"%.0f\" (\".\" \"0\"+)?)", d);
        } else {
            char num[64];
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(num, sizeof num, "%.*g", prec, d);
                if (strtod(num, NULL) == d) break;
            }
            sb_addf(b, "\"%s\"", num);
        }
    } else if (cJSON_IsArray(v)) {
        sb_add(b, "(\"[\"");
        sb_add(b, ws(g));
        for (const cJSON *e = v->child; e; e = e->next) {
            if (e != v->child) sb_addf(b, "%s\",\"%s", ws(g), ws(g));
            else sb_add(b, " ");
            const_expr(g, b, e);
        }
        sb_addf(b, "%s\"]\")", ws(g));
    } else if (cJSON_IsObject(v)) {  /* members in any order for up to 5 keys, else as written */
        const cJSON *m[8];
        int n = 0;
        for (const cJSON *e = v->child; e && n < 8; e = e->next) m[n++] = e;
        int perm[8] = {0, 1, 2, 3, 4, 5, 6, 7}, any_order = cJSON_GetArraySize(v) <= 5, first = 1;
        if (!any_order) n = 0;
        sb_add(b, "(");
        do {
            sb_addf(b, "%s\"{\"%s", first ? "" : " | ", ws(g));
            first = 0;
            const cJSON *e = any_order ? (n ? m[perm[0]] : NULL) : v->child;
            for (int i = 0; e; i++) {
                if (i) sb_addf(b, "%s\",\"%s", ws(g), ws(g));
                json_string_expr(b, e->string);
                sb_addf(b, "%s\":\"%s", ws(g), ws(g));
                const_expr(g, b, e);
                e = any_order ? (i + 1 < n ? m[perm[i + 1]] : NULL) : e->next;
            }
            sb_addf(b, "%s\"}\"", ws(g));
        } while (any_order && next_perm(perm, n));
        sb_add(b, ")");
    }
}

/* ---------------------------------------------------------------- integer ranges */

/* Digit strings of equal length n, lo <= hi (leading zeros allowed): an expression matching
 * every n-digit string between them. */
static void fixed_range(sbuf *b, const char *lo, const char *hi, size_t n) {
    if (n == 0) {
        sb_add(b, "\"\"");
        return;
    }
    if (lo[0] == hi[0]) {
        sb_addf(b, "\"%c\"", lo[0]);
        if (n > 1) {
            sb_add(b, " ");
            fixed_range(b, lo + 1, hi + 1, n - 1);
        }
        return;
    }
    int lo_zeros = 1, hi_nines = 1;
    for (size_t i = 1; i < n; i++) {
        lo_zeros &= lo[i] == '0';
        hi_nines &= hi[i] == '9';
    }
    char a = lo_zeros ? lo[0] : (char)(lo[0] + 1), z = hi_nines ? hi[0] : (char)(hi[0] - 1);
    sb_add(b, "(");
    int first = 1;
    if (!lo_zeros) {
        char nines[32];
        memset(nines, '9', n - 1);
        sb_addf(b, "\"%c\" (", lo[0]);
        fixed_range(b, lo + 1, nines, n - 1);
        sb_add(b, ")");
        first = 0;
    }
    if (a <= z) {
        if (!first) sb_add(b, " | ");
        sb_addf(b, "[%c-%c]", a, z);
        if (n > 1) sb_addf(b, " [0-9]{%zu}", n - 1);
        first = 0;
    }
    if (!hi_nines) {
        char zeros[32];
        memset(zeros, '0', n - 1);
        if (!first) sb_add(b, " | ");
        sb_addf(b, "\"%c\" (", hi[0]);
        fixed_range(b, zeros, hi + 1, n - 1);
        sb_add(b, ")");
    }
    sb_add(b, ")");
}

/* Non-negative integers in [lo, hi] (hi < 0: no upper bound), without leading zeros. */
static void uint_range(sbuf *b, uint64_t lo, int64_t hi) {
    char ls[32], hs[32];
    int first = 1;
    sb_add(b, "(");
    if (lo == 0) {
        sb_add(b, "\"0\"");
        first = 0;
        lo = 1;
        if (hi == 0) {
            sb_add(b, ")");
            return;
        }
    }
    int nlo = snprintf(ls, sizeof ls, "%llu", (unsigned long long)lo);
    int nhi = hi >= 0 ? snprintf(hs, sizeof hs, "%lld", (long long)hi) : nlo;
    for (int len = nlo; len <= nhi; len++) {
        char a[32], z[32];
        if (len == nlo) memcpy(a, ls, (size_t)len + 1);
        else {
            memset(a, '0', (size_t)len);
            a[0] = '1';
            a[len] = 0;
        }
        if (hi >= 0 && len == nhi) memcpy(z, hs, (size_t)len + 1);
        else {
            memset(z, '9', (size_t)len);
            z[len] = 0;
        }
        if (strcmp(a, z) > 0) continue;
        if (!first) sb_add(b, " | ");
        first = 0;
        fixed_range(b, a, z, (size_t)len);
    }
    if (hi < 0) {
        if (!first) sb_add(b, " | ");
        sb_addf(b, "[1-9] [0-9]{%d,}", nhi);
    }
    sb_add(b, ")");
}

/* Integers in [lo, hi] (has_lo/has_hi: bounded); -0 is not produced. */
static char *int_range_expr(int has_lo, int64_t lo, int has_hi, int64_t hi) {
    sbuf b = {0};
    int first = 1;
    if (has_lo && has_hi && lo > hi) return NULL;
    if (!has_hi || hi >= 0) {  /* the non-negative part */
        uint64_t a = (has_lo && lo > 0) ? (uint64_t)lo : 0;
        uint_range(&b, a, has_hi ? hi : -1);
        first = 0;
    }
    if (!has_lo || lo < 0) {   /* the negative part: "-" then |x| in [max(1,-hi), -lo] */
        uint64_t a = (has_hi && hi < 0) ? (uint64_t)(-hi) : 1;
        if (!first) sb_add(&b, " | ");
        sb_add(&b, "\"-\" ");
        uint_range(&b, a, has_lo ? -lo : -1);
    }
    return sb_take(&b);
}

/* ---------------------------------------------------------------- strings */

typedef struct cprange {
    uint32_t lo, hi;
} cprange;

/* Parses one code point as regex.c writes it (letter/digit/space/_ or \xNN \uNNNN \UNNNNNNNN). */
static const char *read_cp(const char *p, uint32_t *cp) {
    if (*p == '\\') {
        int n = p[1] == 'x' ? 2 : p[1] == 'u' ? 4 : p[1] == 'U' ? 8 : 0;
        if (!n) {
            *cp = (unsigned char)p[1];
            return p + 2;
        }
        char hex[10];
        memcpy(hex, p + 2, (size_t)n);
        hex[n] = 0;
        *cp = (uint32_t)strtoul(hex, NULL, 16);
        return p + 2 + n;
    }
    int k = utf8_decode((const unsigned char *)p, cp);
    return p + k;
}

static void put_cp(sbuf *b, uint32_t c) {
    if (isalnum((int)c) && c < 0x80) sb_addf(b, "%c", (char)c);
    else if (c < 0x100) sb_addf(b, "\\x%02X", c);
    else if (c < 0x10000) sb_addf(b, "\\u%04X", c);
    else sb_addf(b, "\\U%08X", c);
}

/* Rewrites a class [..] / [^..] read at p so it matches the JSON text of the characters: the
 * plain ones raw, '"' '\' and control characters as escapes. Returns the end of the class. */
static const char *json_class(sbuf *b, const char *p) {
    int neg = p[1] == '^';
    p += neg ? 2 : 1;
    cprange r[512];
    int n = 0;
    while (*p && *p != ']') {
        uint32_t lo, hi;
        p = read_cp(p, &lo);
        hi = lo;
        if (*p == '-' && p[1] != ']') p = read_cp(p + 1, &hi);
        if (n < 512) r[n++] = (cprange){lo, hi};
    }
    if (*p == ']') p++;
    int has_quote = 0, has_bs = 0, has_ctl = 0;
    for (int i = 0; i < n; i++) {
        has_quote |= r[i].lo <= '"' && '"' <= r[i].hi;
        has_bs |= r[i].lo <= '\\' && '\\' <= r[i].hi;
        has_ctl |= r[i].lo < 0x20;
    }
    if (neg) {  /* every excluded unsafe character is simply not produced raw */
        has_quote = !has_quote, has_bs = !has_bs, has_ctl = 1;
        sb_add(b, "([^");
        for (int i = 0; i < n; i++) {
            put_cp(b, r[i].lo);
            if (r[i].hi != r[i].lo) sb_add(b, "-"), put_cp(b, r[i].hi);
        }
        sb_add(b, "\\x00-\\x1F\\x22\\x5C]");
    } else {
        sb_add(b, "([");
        int any = 0;
        for (int i = 0; i < n; i++) {  /* the ranges minus 0x00-0x1F, '"', '\' */
            uint32_t lo = r[i].lo < 0x20 ? 0x20 : r[i].lo, hi = r[i].hi;
            uint32_t cuts[3][2] = {{lo, hi < '"' - 1 ? hi : '"' - 1}, {lo > '"' + 1 ? lo : '"' + 1, hi < '\\' - 1 ? hi : '\\' - 1},
                                   {lo > '\\' + 1 ? lo : '\\' + 1, hi}};
            if (hi < 0x20) continue;
            for (int c = 0; c < 3; c++) {
                if (cuts[c][0] > cuts[c][1]) continue;
                put_cp(b, cuts[c][0]);
                if (cuts[c][1] != cuts[c][0]) sb_add(b, "-"), put_cp(b, cuts[c][1]);
                any = 1;
            }
        }
        if (!any) sb_add(b, "^\\x00-\\U0010FFFF");
        sb_add(b, "]");
    }
    if (has_quote) sb_add(b, " | \"\\x5C\\x22\"");
    if (has_bs) sb_add(b, " | \"\\x5C\\x5C\"");
    if (has_ctl) sb_add(b, " | \"\\x5C\" [bfnrt] | \"\\x5Cu00\" [01] [0-9a-fA-F]");
    sb_add(b, ")");
    return p;
}

/* Rewrites GBNF from smol_regex_to_gbnf (over decoded characters) into GBNF over their JSON
 * text: literals and classes get JSON escapes for '"', '\' and control characters. */
static char *jsonify_regex_gbnf(const char *in) {
    sbuf b = {0};
    const char *p = in;
    while (*p) {
        if (*p == '"') {  /* a literal: re-emit character by character */
            p++;
            sb_add(&b, "\"");
            while (*p && *p != '"') {
                uint32_t cp;
                p = read_cp(p, &cp);
                if (cp == '"') sb_add(&b, "\\x5C\\x22");
                else if (cp == '\\') sb_add(&b, "\\x5C\\x5C");
                else if (cp < 0x20) sb_addf(&b, "\\x5Cu00%02x", cp);
                else put_cp(&b, cp);
            }
            if (*p) p++;
            sb_add(&b, "\"");
        } else if (*p == '[') p = json_class(&b, p);
        else if (*p == '#') {  /* a comment to the end of the line */
            while (*p && *p != '\n') p++;
        } else sb_put(&b, p++, 1);
    }
    return sb_take(&b);
}

/* The rule name for string contents matching regex re (search semantics unless anchored). */
static char *pattern_rule(gen *g, const char *re) {
    size_t n = strlen(re);
    int a0 = n && re[0] == '^', a1 = n > 1 && re[n - 1] == '$' && re[n - 2] != '\\';
    if (n == 1 && re[0] == '$') a1 = 1;
    char *full = dupf("%s(?:%.*s)%s", a0 ? "" : "[\\s\\S]*", (int)(n - (size_t)a0 - (size_t)a1), re + a0, a1 ? "" : "[\\s\\S]*");
    if (!full) return gfail(g, SMOL_ENOMEM, "out of memory");
    char name[32];
    snprintf(name, sizeof name, "p%d", ++g->n_rules);
    char *text = NULL;
    smol_error e;
    int rc = smol_regex_to_gbnf(full, name, &text, &e);
    free(full);
    if (rc) {
        unsupported(g, "pattern", e.msg);
        return NULL;
    }
    char *j = jsonify_regex_gbnf(text);
    free(text);
    if (!j) return gfail(g, SMOL_ENOMEM, "out of memory");
    sb_add(&g->rules, j);
    free(j);
    return strdup(name);
}

/* Grammars of the formats, over the string contents. */
static const char *format_expr(const char *f) {
    static const char *const k[][2] = {
        {"date", "[0-9]{4} \"-\" ((\"0\" [13578] | \"1\" [02]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01]) | "
                 "(\"0\" [469] | \"11\") \"-\" (\"0\" [1-9] | [12] [0-9] | \"30\") | \"02-\" (\"0\" [1-9] | [12] [0-9]))"},
        {"time", "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" ([0-5] [0-9] | \"60\") (\".\" [0-9]+)? "
                 "([Zz] | [+-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])"},
        {"duration", "\"P\" ([0-9]+ \"W\" | ([0-9]+ \"Y\")? ([0-9]+ \"M\")? ([0-9]+ \"D\")? "
                     "(\"T\" ([0-9]+ \"H\" ([0-9]+ \"M\")? ([0-9]+ \"S\")? | [0-9]+ \"M\" ([0-9]+ \"S\")? | [0-9]+ \"S\"))?)"},
        {"uuid", "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}"},
        {"email", "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+ (\".\" [a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)* \"@\" "
                  "[a-zA-Z0-9] ([a-zA-Z0-9-]{0,61} [a-zA-Z0-9])? (\".\" [a-zA-Z0-9] ([a-zA-Z0-9-]{0,61} [a-zA-Z0-9])?)*"},
        {"hostname", "[a-zA-Z0-9] ([a-zA-Z0-9-]{0,61} [a-zA-Z0-9])? (\".\" [a-zA-Z0-9] ([a-zA-Z0-9-]{0,61} [a-zA-Z0-9])?)*"},
        {"ipv4", "(\"25\" [0-5] | \"2\" [0-4] [0-9] | \"1\" [0-9] [0-9] | [1-9] [0-9] | [0-9]) "
                 "(\".\" (\"25\" [0-5] | \"2\" [0-4] [0-9] | \"1\" [0-9] [0-9] | [1-9] [0-9] | [0-9])){3}"},
        {"ipv6", "([0-9a-fA-F]{1,4} \":\"){7} [0-9a-fA-F]{1,4} | ([0-9a-fA-F]{1,4} (\":\" [0-9a-fA-F]{1,4}){0,5})? "
                 "\"::\" ([0-9a-fA-F]{1,4} (\":\" [0-9a-fA-F]{1,4}){0,5})?"},
        {"uri", "[a-zA-Z] [a-zA-Z0-9+.-]* \":\" ([a-zA-Z0-9._~!$&'()*+,;=:@/?#-] | \"%\" [0-9a-fA-F]{2} | \"[\" | \"]\")*"},
        {"uri-reference", "([a-zA-Z0-9._~!$&'()*+,;=:@/?#-] | \"%\" [0-9a-fA-F]{2} | \"[\" | \"]\")*"},
        {"iri", "[a-zA-Z] [a-zA-Z0-9+.-]* \":\" ([a-zA-Z0-9._~!$&'()*+,;=:@/?#\\x2D\\u00A0-\\uD7FF\\uE000-\\U0010FFFF] | "
                "\"%\" [0-9a-fA-F]{2} | \"[\" | \"]\")*"},
        {"iri-reference", "([a-zA-Z0-9._~!$&'()*+,;=:@/?#\\x2D\\u00A0-\\uD7FF\\uE000-\\U0010FFFF] | \"%\" [0-9a-fA-F]{2} | "
                          "\"[\" | \"]\")*"},
        {"json-pointer", "(\"/\" ([^/~\\x00-\\x1F\\x22\\x5C] | \"\\x5C\" [\\x22\\x5Cbfnrt] | \"\\x5Cu00\" [01] [0-9a-fA-F] | "
                         "\"~\" [01])*)*"},
        {"relative-json-pointer", "(\"0\" | [1-9] [0-9]*) (\"#\" | (\"/\" ([^/~\\x00-\\x1F\\x22\\x5C] | \"\\x5C\" "
                                  "[\\x22\\x5Cbfnrt] | \"\\x5Cu00\" [01] [0-9a-fA-F] | \"~\" [01])*)*)"},
        {"uri-template", "([!#$&()*+,./0-9:;=?@A-Z\\x5B\\x5D_a-z~\\x2D\\u00A0-\\uD7FF\\uE000-\\U0010FFFF] | \"%\" [0-9a-fA-F]{2} | "
                         "\"{\" [+#./;?&=,!@|]? ([a-zA-Z0-9_] | \"%\" [0-9a-fA-F]{2}) (\".\"? ([a-zA-Z0-9_] | \"%\" [0-9a-fA-F]{2}))* (\":\" [1-9] [0-9]{0,3} | \"*\")? "
                         "(\",\" ([a-zA-Z0-9_] | \"%\" [0-9a-fA-F]{2}) (\".\"? ([a-zA-Z0-9_] | \"%\" [0-9a-fA-F]{2}))* (\":\" [1-9] [0-9]{0,3} | \"*\")?)* \"}\")*"},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(k[i][0], f) == 0) return k[i][1];
    return NULL;
}

/* ---------------------------------------------------------------- keyword classes */

static const char *const k_annotations[] = {
    "$schema", "$id", "$anchor", "$dynamicAnchor", "$comment", "$defs", "definitions", "title", "description",
    "default", "examples", "deprecated", "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
    "contentSchema", "$vocabulary", "discriminator", "example", NULL};

/* JSON Schema keywords that a context-free grammar cannot enforce in general. */
static const char *const k_unsupported[] = {"$dynamicRef", "$recursiveRef", NULL};

static int in_set(const char *const *l, const char *k) {
    for (; *l; l++)
        if (strcmp(*l, k) == 0) return 1;
    return 0;
}

static const cJSON *kw(const cJSON *s, const char *k) { return cJSON_GetObjectItemCaseSensitive(s, k); }

/* 1 if keyword k constrains nothing: an annotation, or `format` with SMOL_SCHEMA_FORMAT_ANNOTATION. */
static int is_annotation(const gen *g, const char *k) {
    return in_set(k_annotations, k) || ((g->o.flags & SMOL_SCHEMA_FORMAT_ANNOTATION) && strcmp(k, "format") == 0);
}

/* 1 if s has a keyword other than annotations and those in except. */
static int has_constraints(const gen *g, const cJSON *s, const char *const *except) {
    for (const cJSON *k = s->child; k; k = k->next)
        if (!is_annotation(g, k->string) && !in_set(except, k->string)) return 1;
    return 0;
}

enum { T_NULL = 1, T_BOOL = 2, T_OBJECT = 4, T_ARRAY = 8, T_NUMBER = 16, T_STRING = 32, T_INTEGER = 64, T_ALL = 127 };

static unsigned type_bit(const char *t) {
    static const char *const names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
    for (int i = 0; i < 7; i++)
        if (strcmp(names[i], t) == 0) return 1u << i;
    return 0;
}

/* The JSON types s allows (from type, nullable, const and enum). */
static unsigned types_of(const cJSON *s) {
    if (cJSON_IsTrue(s)) return T_ALL;
    if (!cJSON_IsObject(s)) return 0;
    unsigned t = T_ALL;
    const cJSON *ty = kw(s, "type");
    if (cJSON_IsString(ty)) t = type_bit(ty->valuestring);
    else if (cJSON_IsArray(ty)) {
        t = 0;
        for (const cJSON *e = ty->child; e; e = e->next) t |= cJSON_IsString(e) ? type_bit(e->valuestring) : 0;
    }
    if (t & T_NUMBER) t |= T_INTEGER;
    if (cJSON_IsTrue(kw(s, "nullable"))) t |= T_NULL;
    const cJSON *c = kw(s, "const"), *en = kw(s, "enum");
    if (c || cJSON_IsArray(en)) {
        unsigned v = 0;
        const cJSON *one = c;
        for (const cJSON *e = c ? c : en->child; e; e = c ? NULL : e->next) {
            one = e;
            if (cJSON_IsNull(one)) v |= T_NULL;
            else if (cJSON_IsBool(one)) v |= T_BOOL;
            else if (cJSON_IsNumber(one)) v |= T_NUMBER | T_INTEGER;
            else if (cJSON_IsString(one)) v |= T_STRING;
            else if (cJSON_IsArray(one)) v |= T_ARRAY;
            else v |= T_OBJECT;
        }
        t &= v;
    }
    return t;
}

/* ---------------------------------------------------------------- merging (allOf, $ref + siblings) */

static cJSON *keep(gen *g, cJSON *x) {
    if (x) cJSON_AddItemToArray(g->keep, x);
    return x;
}

static int merge_into(gen *g, cJSON *a, const cJSON *b);
static char *gen_multiple(gen *g, const cJSON *s, double m, int int_only, int frac_only);
static int mult_lcm(const cJSON *a, const cJSON *b, double *m);
static int value_ok(const cJSON *sub, const cJSON *value);
static int needs_lower(const cJSON *s);
static int has_uneval(const cJSON *s);
static const cJSON *lower(gen *g, const cJSON *s, int strict);
static int prim_not(const cJSON *n);
static void prim_items(cJSON *list, const cJSON *n);
static cJSON *flatten(gen *g, const cJSON *s);

static cJSON *all_of2(const cJSON *x, const cJSON *y) {
    if (cJSON_IsFalse(x) || cJSON_IsFalse(y)) return cJSON_CreateFalse();
    if (cJSON_IsTrue(x) || cJSON_IsTrue(y)) return cJSON_Duplicate(cJSON_IsTrue(x) ? y : x, 1);
    cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "allOf");
    cJSON_AddItemToArray(l, cJSON_Duplicate(x, 1));
    cJSON_AddItemToArray(l, cJSON_Duplicate(y, 1));
    return o;
}

static void replace(cJSON *a, const char *k, cJSON *v) { cJSON_ReplaceItemInObjectCaseSensitive(a, k, v); }

/* Merges keyword kb of b into a, which already has it. */
static int merge_kw(gen *g, cJSON *a, const cJSON *kb) {
    const char *k = kb->string;
    cJSON *ka = cJSON_GetObjectItemCaseSensitive(a, k);
    static const char *const maxes[] = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", NULL};
    static const char *const mins[] = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", NULL};
    if (in_set(maxes, k) && cJSON_IsNumber(ka) && cJSON_IsNumber(kb)) {
        if (kb->valuedouble > ka->valuedouble) cJSON_SetNumberValue(ka, kb->valuedouble);
        return 0;
    }
    if (in_set(mins, k) && cJSON_IsNumber(ka) && cJSON_IsNumber(kb)) {
        if (kb->valuedouble < ka->valuedouble) cJSON_SetNumberValue(ka, kb->valuedouble);
        return 0;
    }
    if (strcmp(k, "type") == 0) {
        cJSON *t = cJSON_CreateArray();
        const char *names[7] = {"null", "boolean", "object", "array", "number", "string", "integer"};
        for (int i = 0; i < 7; i++) {
            int in_a = 0, in_b = 0;
            for (int side = 0; side < 2; side++) {
                const cJSON *x = side ? kb : ka;
                int hit = 0;
                if (cJSON_IsString(x)) hit = strcmp(x->valuestring, names[i]) == 0 ||
                                             (i == 6 && strcmp(x->valuestring, "number") == 0);
                for (const cJSON *e = cJSON_IsArray(x) ? x->child : NULL; e; e = e->next)
                    hit |= cJSON_IsString(e) && (strcmp(e->valuestring, names[i]) == 0 ||
                                                 (i == 6 && strcmp(e->valuestring, "number") == 0));
                if (side) in_b = hit;
                else in_a = hit;
            }
            if (in_a && in_b) cJSON_AddItemToArray(t, cJSON_CreateString(names[i]));
        }
        replace(a, "type", t);
        return 0;
    }
    if (strcmp(k, "required") == 0 && cJSON_IsArray(ka) && cJSON_IsArray(kb)) {
        for (const cJSON *r = kb->child; r; r = r->next) {
            int dup = 0;
            for (const cJSON *q = ka->child; q; q = q->next) dup |= smol_json_equal(q, r);
            if (!dup) cJSON_AddItemToArray(ka, cJSON_Duplicate(r, 1));
        }
        return 0;
    }
    if ((strcmp(k, "properties") == 0 || strcmp(k, "patternProperties") == 0 || strcmp(k, K_NEPROPS) == 0) &&
        cJSON_IsObject(ka) && cJSON_IsObject(kb)) {
        for (const cJSON *p = kb->child; p; p = p->next) {
            const cJSON *q = cJSON_GetObjectItemCaseSensitive(ka, p->string);
            if (!q) cJSON_AddItemToObject(ka, p->string, cJSON_Duplicate(p, 1));
            else replace(ka, p->string, all_of2(q, p));
        }
        return 0;
    }
    if (strcmp(k, "enum") == 0 && cJSON_IsArray(ka) && cJSON_IsArray(kb)) {
        cJSON *e = cJSON_CreateArray();
        for (const cJSON *x = ka->child; x; x = x->next)
            for (const cJSON *y = kb->child; y; y = y->next)
                if (smol_json_equal(x, y)) {
                    cJSON_AddItemToArray(e, cJSON_Duplicate(x, 1));
                    break;
                }
        replace(a, "enum", e);
        return 0;
    }
    double lcm;
    if (strcmp(k, "multipleOf") == 0 && mult_lcm(ka, kb, &lcm)) {
        cJSON_SetNumberValue(ka, lcm);
        return 0;
    }
    if (smol_json_equal(ka, kb)) return 0;  /* const, format, pattern, ... the same */
    if ((strcmp(k, "allOf") == 0 || strcmp(k, K_ADDL) == 0) && cJSON_IsArray(ka) && cJSON_IsArray(kb)) {
        for (const cJSON *x = kb->child; x; x = x->next) cJSON_AddItemToArray(ka, cJSON_Duplicate(x, 1));
        return 0;
    }
    if (strcmp(k, "not") == 0) {  /* not A and not B: not (A or B) */
        cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "anyOf");
        if (prim_not(ka) && prim_not(kb)) prim_items(l, ka), prim_items(l, kb);
        else cJSON_AddItemToArray(l, cJSON_Duplicate(ka, 1)), cJSON_AddItemToArray(l, cJSON_Duplicate(kb, 1));
        replace(a, "not", o);
        return 0;
    }
    if (strcmp(k, K_NEPREFIX) == 0 && cJSON_IsArray(ka) && cJSON_IsArray(kb)) {   /* position by position */
        int na = cJSON_GetArraySize(ka), nb = cJSON_GetArraySize(kb);
        for (int i = 0; i < nb; i++) {
            const cJSON *y = cJSON_GetArrayItem(kb, i);
            if (i < na) cJSON_ReplaceItemInArray(ka, i, all_of2(cJSON_GetArrayItem(ka, i), y));
            else cJSON_AddItemToArray(ka, cJSON_Duplicate(y, 1));
        }
        return 0;
    }
    if (strcmp(k, "items") == 0 || strcmp(k, "additionalProperties") == 0 || strcmp(k, "propertyNames") == 0 ||
        strcmp(k, "unevaluatedProperties") == 0 || strcmp(k, "unevaluatedItems") == 0) {
        if (cJSON_IsObject(ka) || cJSON_IsBool(ka)) {
            replace(a, k, all_of2(ka, kb));
            return 0;
        }
    }
    if (strcmp(k, "anyOf") == 0 && cJSON_IsArray(ka) && cJSON_IsArray(kb)) {
        cJSON *l = cJSON_CreateArray();
        for (const cJSON *x = ka->child; x; x = x->next)
            for (const cJSON *y = kb->child; y; y = y->next) cJSON_AddItemToArray(l, all_of2(x, y));
        replace(a, "anyOf", l);
        return 0;
    }
    if (strcmp(k, "const") == 0) {
        gempty(g, "allOf at %s: different 'const' values: no value can match", gpath(g));
        return -1;
    }
    return unsupported(g, k, "allOf members (or $ref and its siblings) with different values that cannot be merged");
}

/* 1 if b (or one of its anyOf/oneOf branches) lists properties that a does not. */
static int extra_props(const cJSON *a, const cJSON *b, int depth) {
    const cJSON *bp = kw(b, "properties"), *ap = kw(a, "properties");
    for (const cJSON *p = cJSON_IsObject(bp) ? bp->child : NULL; p; p = p->next)
        if (!ap || !cJSON_GetObjectItemCaseSensitive(ap, p->string)) return 1;
    if (kw(b, "patternProperties") && !smol_json_equal(kw(b, "patternProperties"), kw(a, "patternProperties"))) return 1;
    const char *alts[3] = {"anyOf", "oneOf", "allOf"};
    for (int i = 0; i < 3 && depth < 8; i++) {
        const cJSON *l = kw(b, alts[i]);
        for (const cJSON *x = cJSON_IsArray(l) ? l->child : NULL; x; x = x->next)
            if (cJSON_IsObject(x) && (extra_props(a, x, depth + 1) || kw(x, "$ref"))) return 1;
    }
    return 0;
}

/* Moves x's additionalProperties (or unevaluatedProperties: key ak) into an entry of K_ADDL
 * naming x's properties and patterns, so that merging more properties keeps its meaning. */
static void addl_to_entry(cJSON *x, const char *ak) {
    cJSON *add = cJSON_DetachItemFromObjectCaseSensitive(x, ak), *e = cJSON_CreateObject();
    cJSON *names = cJSON_AddArrayToObject(e, "names"), *pats = cJSON_AddArrayToObject(e, "patterns");
    const cJSON *pr = kw(x, "properties"), *pp = kw(x, "patternProperties");
    for (const cJSON *p = cJSON_IsObject(pr) ? pr->child : NULL; p; p = p->next) cJSON_AddItemToArray(names, cJSON_CreateString(p->string));
    for (const cJSON *p = cJSON_IsObject(pp) ? pp->child : NULL; p; p = p->next) cJSON_AddItemToArray(pats, cJSON_CreateString(p->string));
    cJSON_AddItemToObject(e, "schema", add);
    cJSON *l = cJSON_GetObjectItemCaseSensitive(x, K_ADDL);
    if (!l) l = cJSON_AddArrayToObject(x, K_ADDL);
    cJSON_AddItemToArray(l, e);
}

/* 1 if x's unevaluatedProperties sees only x's own properties (no applicator inside x). */
static int uneval_local(const cJSON *x) {
    static const char *const ap[] = {"allOf", "anyOf", "oneOf", "not", "$ref", "$dynamicRef", "if", "then", "else",
                                     "dependentSchemas", "dependencies", K_ADDL, NULL};
    for (const cJSON *k = x->child; k; k = k->next)
        if (in_set(ap, k->string)) return 0;
    return 1;
}

/* 1 if x's arrays are written the 2020-12 way (items a schema, no additionalItems). */
static int tuple_form(const cJSON *x) { return !cJSON_IsArray(kw(x, "items")) && !kw(x, "additionalItems"); }

/* Moves b's prefixItems and items into a: position i takes a's and b's schemas for it (their
 * prefix entry, or their items past their prefix), the rest both items. */
static void merge_tuples(cJSON *a, cJSON *b) {
    cJSON *pa = cJSON_DetachItemFromObjectCaseSensitive(a, "prefixItems"), *pb = cJSON_DetachItemFromObjectCaseSensitive(b, "prefixItems");
    cJSON *ia = cJSON_DetachItemFromObjectCaseSensitive(a, "items"), *ib = cJSON_DetachItemFromObjectCaseSensitive(b, "items");
    int na = cJSON_GetArraySize(pa), nb = cJSON_GetArraySize(pb), n = na > nb ? na : nb;
    cJSON *p = cJSON_CreateArray(), *t = cJSON_CreateTrue();
    for (int i = 0; i < n; i++) {
        const cJSON *x = i < na ? cJSON_GetArrayItem(pa, i) : ia ? ia : t, *y = i < nb ? cJSON_GetArrayItem(pb, i) : ib ? ib : t;
        cJSON_AddItemToArray(p, all_of2(x, y));
    }
    if (n) cJSON_AddItemToObject(a, "prefixItems", p);
    else cJSON_Delete(p);
    if (ia && ib) cJSON_AddItemToObject(a, "items", all_of2(ia, ib));
    else if (ia || ib) cJSON_AddItemToObject(a, "items", cJSON_Duplicate(ia ? ia : ib, 1));
    cJSON_Delete(pa), cJSON_Delete(pb), cJSON_Delete(ia), cJSON_Delete(ib), cJSON_Delete(t);
}

/* 1 if a's additionalProperties/unevaluatedProperties would judge properties of b differently
 * once the two are merged into one schema. */
static int addl_conflict(const cJSON *a, const cJSON *b) {
    const char *k[2] = {"additionalProperties", "unevaluatedProperties"};
    for (int i = 0; i < 2; i++) {
        const cJSON *add = kw(a, k[i]);
        if (add && !cJSON_IsTrue(add) && extra_props(a, b, 0)) return 1;
    }
    return 0;
}

/* 1 if a's items/additionalItems would start at a different index once b's prefix joins it. */
static int items_conflict(const cJSON *a, const cJSON *b) {
    const cJSON *ui = kw(a, "unevaluatedItems");
    if (ui && !cJSON_IsTrue(ui) && kw(b, "items") && !smol_json_equal(kw(b, "items"), kw(a, "items"))) return 1;
    if (!kw(a, "items") && !kw(a, "additionalItems") && !ui) return 0;
    const cJSON *pa = kw(a, "prefixItems"), *pb = kw(b, "prefixItems");
    if (!pa && cJSON_IsArray(kw(a, "items"))) return 0;
    if (!pb) return 0;
    return !pa || !smol_json_equal(pa, pb);
}

static int merge_into(gen *g, cJSON *a, const cJSON *b) {
    if (needs_lower(b) && !(b = lower(g, b, has_uneval(a)))) return -1;
    const cJSON *ab = kw(b, "additionalProperties"), *ub = kw(b, "unevaluatedProperties");
    if ((ab && !cJSON_IsTrue(ab) && extra_props(b, a, 0)) || (!ab && ub && !cJSON_IsTrue(ub) && uneval_local(b))) {
        cJSON *c = keep(g, cJSON_Duplicate(b, 1));   /* b's own additional properties, judged by b's names */
        if (ab) cJSON_DeleteItemFromObjectCaseSensitive(c, "unevaluatedProperties");
        addl_to_entry(c, ab ? "additionalProperties" : "unevaluatedProperties");
        b = c;
    }
    const cJSON *aa = kw(a, "additionalProperties");
    if (aa && !cJSON_IsTrue(aa) && extra_props(a, b, 0)) addl_to_entry(a, "additionalProperties");
    const cJSON *ui = kw(b, "unevaluatedItems");
    if (ui && !cJSON_IsTrue(ui) && uneval_local(b) && !kw(b, "contains") && !cJSON_IsArray(kw(b, "items"))) {
        cJSON *c = keep(g, cJSON_Duplicate(b, 1));   /* b's own unevaluatedItems: the items after b's prefix */
        cJSON *u = cJSON_DetachItemFromObjectCaseSensitive(c, "unevaluatedItems");
        if (!kw(c, "items")) cJSON_AddItemToObject(c, "items", u);
        else cJSON_Delete(u);
        b = c;
    }
    if (tuple_form(a) && tuple_form(b) && (kw(a, "prefixItems") || kw(b, "prefixItems")) &&
        (kw(b, "prefixItems") || kw(b, "items"))) {
        cJSON *c = keep(g, cJSON_Duplicate(b, 1));
        merge_tuples(a, c);
        b = c;
    }
    if (addl_conflict(a, b) || addl_conflict(b, a))
        return unsupported(g, "additionalProperties", "allOf members that list different properties");
    if (items_conflict(a, b) || items_conflict(b, a))
        return unsupported(g, "items", "allOf members with different prefixItems");
    /* the product of two anyOf lists is judged one branch at a time only if both were */
    int excl = (!kw(a, "anyOf") || cJSON_IsTrue(kw(a, K_EXCL))) && (!kw(b, "anyOf") || cJSON_IsTrue(kw(b, K_EXCL)));
    cJSON_DeleteItemFromObjectCaseSensitive(a, K_EXCL);
    if (excl && (kw(a, "anyOf") || kw(b, "anyOf"))) cJSON_AddTrueToObject(a, K_EXCL);
    for (const cJSON *k = b->child; k; k = k->next) {
        if (is_annotation(g, k->string) || strcmp(k->string, K_EXCL) == 0) continue;
        if (!cJSON_GetObjectItemCaseSensitive(a, k->string)) {
            cJSON_AddItemToObject(a, k->string, cJSON_Duplicate(k, 1));
            continue;
        }
        if (merge_kw(g, a, k)) return -1;
    }
    return 0;
}

/* s without allOf and $ref at its top: its parts merged into one schema (kept in g->keep). */
static cJSON *flatten(gen *g, const cJSON *s) {
    if (++g->depth > MAX_DEPTH) {
        g->depth--;
        gfail(g, SMOL_EFORMAT, "schema at %s: $ref/allOf nest more than %d deep (a circular $ref with no base case?)",
                     gpath(g), MAX_DEPTH);
        return NULL;
    }
    if (needs_lower(s) && !(s = lower(g, s, has_uneval(s)))) {
        g->depth--;
        return NULL;
    }
    cJSON *out = keep(g, cJSON_CreateObject());
    const cJSON *base_uneval[2] = {NULL, NULL};  /* the base's unevaluated* see every part: added last */
    static const char *const uk[2] = {"unevaluatedProperties", "unevaluatedItems"};
    for (const cJSON *k = s->child; k; k = k->next) {
        if (strcmp(k->string, uk[0]) == 0) base_uneval[0] = k;
        else if (strcmp(k->string, uk[1]) == 0) base_uneval[1] = k;
        else if (strcmp(k->string, "allOf") != 0 && strcmp(k->string, "$ref") != 0)
            cJSON_AddItemToObject(out, k->string, cJSON_Duplicate(k, 1));
    }
    const cJSON *parts[MAX_ALTS];
    int n = 0;
    const cJSON *ref = kw(s, "$ref");
    if (cJSON_IsString(ref)) {
        const cJSON *t = smol_jschema_resolve(g->js, ref->valuestring);
        if (!t) {
            g->depth--;
            gfail(g, SMOL_EUNSUPPORTED, "schema at %s: cannot resolve $ref '%s' (only references within the schema are supported)",
                         gpath(g), ref->valuestring);
        return NULL;
        }
        parts[n++] = t;
    }
    const cJSON *all = kw(s, "allOf");
    for (const cJSON *x = cJSON_IsArray(all) ? all->child : NULL; x && n < MAX_ALTS; x = x->next) parts[n++] = x;
    for (int i = 0; i < n && !g->rc; i++) {
        const cJSON *p = parts[i];
        if (cJSON_IsTrue(p)) continue;
        if (!cJSON_IsObject(p)) {
            g->depth--;
            gempty(g, "schema at %s: allOf/$ref includes schema false: no value can match", gpath(g));
        return NULL;
        }
        if (needs_lower(p)) p = lower(g, p, (base_uneval[0] && !cJSON_IsTrue(base_uneval[0])) | (base_uneval[1] && !cJSON_IsTrue(base_uneval[1])) << 1);
        if (p && (kw(p, "allOf") || kw(p, "$ref"))) p = flatten(g, p);
        if (!p || merge_into(g, out, p)) break;
    }
    for (int i = 0; i < 2 && !g->rc; i++) {
        if (!base_uneval[i]) continue;
        const cJSON *had = kw(out, uk[i]);
        if (!had) cJSON_AddItemToObject(out, uk[i], cJSON_Duplicate(base_uneval[i], 1));
        else if (!cJSON_IsTrue(had) && !smol_json_equal(had, base_uneval[i]))
            unsupported(g, uk[i], "in both a schema and its allOf/$ref parts");
    }
    g->depth--;
    return g->rc ? NULL : out;
}

/* ---------------------------------------------------------------- not, if/then/else, dependencies
 * These are rewritten into allOf/anyOf of positive schemas: `not X` becomes the alternatives
 * "the value fails one of X's keywords" (not {minimum: 5} is {type: number, exclusiveMaximum: 5}),
 * and if/then/else becomes anyOf(allOf(if, then), allOf(not if, else)). What stays a `not` is a
 * set of excluded values ({enum}/{const}) or {type: integer} inside numbers: the primitive
 * exclusions that gen_typed writes directly. */

/* 1 if n is a primitive exclusion: {enum: [...]}, {const: v}, {type: "integer"} or an anyOf of those. */
static int prim_not1(const cJSON *n) {
    if (!cJSON_IsObject(n) || !n->child || n->child->next) return 0;
    const cJSON *k = n->child;
    if (strcmp(k->string, "enum") == 0) return cJSON_IsArray(k);
    if (strcmp(k->string, "const") == 0) return 1;
    return strcmp(k->string, "type") == 0 && cJSON_IsString(k) && strcmp(k->valuestring, "integer") == 0;
}
static int prim_not(const cJSON *n) {
    if (prim_not1(n)) return 1;
    const cJSON *l = kw(n, "anyOf");
    if (!cJSON_IsObject(n) || !cJSON_IsArray(l) || n->child->next || !l->child) return 0;
    for (const cJSON *x = l->child; x; x = x->next)
        if (!prim_not1(x)) return 0;
    return 1;
}

/* Adds the primitive exclusions of n to list (as {enum}/{type} items). */
static void prim_items(cJSON *list, const cJSON *n) {
    const cJSON *l = kw(n, "anyOf");
    if (cJSON_IsArray(l))
        for (const cJSON *x = l->child; x; x = x->next) prim_items(list, x);
    else if (kw(n, "const")) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddItemToArray(cJSON_AddArrayToObject(e, "enum"), cJSON_Duplicate(kw(n, "const"), 1));
        cJSON_AddItemToArray(list, e);
    } else cJSON_AddItemToArray(list, cJSON_Duplicate(n, 1));
}

static int needs_lower(const cJSON *s) {
    if (!cJSON_IsObject(s)) return 0;
    const cJSON *n = kw(s, "not");
    return (n && !prim_not(n)) || kw(s, "if") || kw(s, "then") || kw(s, "else") || kw(s, "dependentRequired") ||
           kw(s, "dependentSchemas") || kw(s, "dependencies");
}

/* Bit 1: s has unevaluatedProperties (other than true); bit 2: unevaluatedItems. */
static int has_uneval(const cJSON *s) {
    const cJSON *a = kw(s, "unevaluatedProperties"), *b = kw(s, "unevaluatedItems");
    return (a && !cJSON_IsTrue(a)) | (b && !cJSON_IsTrue(b)) << 1;
}

static cJSON *neg_fail(gen *g, const char *fmt, ...) SMOL_PRINTF(2, 3);

/* x, a schema that must hold without evaluating anything (a negation), with its own properties
 * and prefixItems moved to K_NEPROPS and K_NEPREFIX (through its allOf/anyOf/oneOf lists); kept in
 * g->keep. NULL with g->why set when x evaluates members some other way (applicators on keys,
 * references), or names other item keywords while unevaluatedItems applies (items_strict). */
static cJSON *noeval(gen *g, const cJSON *x, int items_strict, int depth) {
    if (!cJSON_IsObject(x)) return keep(g, cJSON_Duplicate(x, 1));
    static const char *const keys[] = {"patternProperties", "additionalProperties", "unevaluatedProperties", "$ref",
                                       "dependentSchemas", "dependencies", "if", "then", "else", K_ADDL, NULL};
    static const char *const items[] = {"items", "contains", "additionalItems", "unevaluatedItems", NULL};
    cJSON *o = keep(g, cJSON_CreateObject());
    for (const cJSON *k = x->child; k; k = k->next) {
        if (in_set(keys, k->string) || (items_strict && in_set(items, k->string)) || depth > 16) {
            return neg_fail(g, "beside unevaluatedProperties/unevaluatedItems (a negation with '%s')", k->string);
        }
        if (strcmp(k->string, "properties") == 0 || strcmp(k->string, "prefixItems") == 0) {
            cJSON_AddItemToObject(o, strcmp(k->string, "properties") == 0 ? K_NEPROPS : K_NEPREFIX, cJSON_Duplicate(k, 1));
        } else if (cJSON_IsArray(k) && (strcmp(k->string, "anyOf") == 0 || strcmp(k->string, "allOf") == 0 ||
                                        strcmp(k->string, "oneOf") == 0)) {
            cJSON *l = cJSON_AddArrayToObject(o, k->string);
            for (const cJSON *e = k->child; e; e = e->next) {
                cJSON *n = noeval(g, e, items_strict, depth + 1);
                if (!n) return NULL;
                cJSON_AddItemToArray(l, cJSON_Duplicate(n, 1));
            }
        } else cJSON_AddItemToObject(o, k->string, cJSON_Duplicate(k, 1));
    }
    return o;
}

static cJSON *neg_fail(gen *g, const char *fmt, ...) SMOL_PRINTF(2, 3);
static cJSON *neg_fail(gen *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->why, sizeof g->why, fmt, ap);
    va_end(ap);
    return NULL;
}

/* {"type": t, k: v} (v taken). */
static cJSON *typed1(const char *t, const char *k, cJSON *v) {
    cJSON *o = cJSON_CreateObject();
    if (t) cJSON_AddStringToObject(o, "type", t);
    cJSON_AddItemToObject(o, k, v);
    return o;
}

/* The complement of a type set (bits of T_*): {type: [...]} and, when integers are excluded but
 * other numbers are not, {not: {type: integer}}; NULL if no type is left. */
static cJSON *type_complement(unsigned t) {
    if (t & T_NUMBER) t |= T_INTEGER;
    unsigned c = T_ALL & ~t;
    if (!c) return NULL;
    cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "type");
    static const char *const names[] = {"null", "boolean", "object", "array", "number", "string", "integer"};
    for (int i = 0; i < 7; i++)
        if ((c >> i & 1) && !(i == 6 && (c & T_NUMBER))) cJSON_AddItemToArray(l, cJSON_CreateString(names[i]));
    if ((c & T_NUMBER) && (t & T_INTEGER)) {
        cJSON *n = cJSON_AddObjectToObject(o, "not");
        cJSON_AddStringToObject(n, "type", "integer");
    }
    return o;
}

static cJSON *neg(gen *g, const cJSON *x, int depth);

/* Adds the negation of x to alts; 0 if x cannot be negated (g->why says why). A negation that
 * nothing satisfies (not true) adds nothing. */
static int add_neg(gen *g, cJSON *alts, const cJSON *x, int depth) {
    cJSON *n = neg(g, x, depth + 1);
    if (!n) return 0;
    if (!cJSON_IsFalse(n)) cJSON_AddItemToArray(alts, cJSON_Duplicate(n, 1));
    return 1;
}

/* {allOf: [a, b]} of copies; NULL parts are true. */
static cJSON *all2(const cJSON *a, const cJSON *b) {
    cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "allOf");
    cJSON_AddItemToArray(l, a ? cJSON_Duplicate(a, 1) : cJSON_CreateTrue());
    cJSON_AddItemToArray(l, b ? cJSON_Duplicate(b, 1) : cJSON_CreateTrue());
    return o;
}

/* A count bound flipped: "min" n -> {max: n-1}, "max" n -> {min: n+1} (alts gets nothing when
 * every value passes, e.g. minLength 0). */
static void neg_count(cJSON *alts, const char *type, const char *other, double v, int is_min) {
    double f = is_min ? ceil(v) - 1 : floor(v) + 1;
    if (is_min && f < 0) return;
    cJSON_AddItemToArray(alts, typed1(type, other, cJSON_CreateNumber(f)));
}

/* The negation of keyword k of schema x as alternatives appended to alts; 0 if not expressible. */
static int neg_keyword(gen *g, const cJSON *x, const cJSON *k, cJSON *alts, int depth) {
    const char *name = k->string;
    static const char *const counts[][3] = {{"minLength", "string", "maxLength"}, {"maxLength", "string", "minLength"},
                                            {"minItems", "array", "maxItems"}, {"maxItems", "array", "minItems"},
                                            {"minProperties", "object", "maxProperties"}, {"maxProperties", "object", "minProperties"}};
    for (int i = 0; i < 6; i++)
        if (strcmp(name, counts[i][0]) == 0 && cJSON_IsNumber(k)) {
            neg_count(alts, counts[i][1], counts[i][2], k->valuedouble, i % 2 == 0);
            return 1;
        }
    if (strcmp(name, "const") == 0 || strcmp(name, "enum") == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "not", typed1(NULL, name, cJSON_Duplicate(k, 1)));
        cJSON_AddItemToArray(alts, o);
        return 1;
    }
    int is_min = strcmp(name, "minimum") == 0, is_max = strcmp(name, "maximum") == 0;
    if ((is_min || is_max) && cJSON_IsNumber(k)) {  /* draft-04: a boolean exclusive* makes it exclusive */
        int excl = cJSON_IsTrue(kw(x, is_min ? "exclusiveMinimum" : "exclusiveMaximum"));
        const char *flip = is_min ? (excl ? "maximum" : "exclusiveMaximum") : (excl ? "minimum" : "exclusiveMinimum");
        cJSON_AddItemToArray(alts, typed1("number", flip, cJSON_CreateNumber(k->valuedouble)));
        return 1;
    }
    if (strcmp(name, "exclusiveMinimum") == 0 || strcmp(name, "exclusiveMaximum") == 0) {
        if (cJSON_IsBool(k)) return 1;  /* draft-04 flag, read with minimum/maximum */
        if (!cJSON_IsNumber(k)) return neg_fail(g, "'%s' is not a number", name) != NULL;
        cJSON_AddItemToArray(alts, typed1("number", name[9] == 'M' && name[10] == 'i' ? "maximum" : "minimum",
                                          cJSON_CreateNumber(k->valuedouble)));
        return 1;
    }
    if (strcmp(name, "required") == 0) {
        for (const cJSON *r = cJSON_IsArray(k) ? k->child : NULL; r; r = r->next) {
            if (!cJSON_IsString(r)) continue;
            cJSON *p = cJSON_CreateObject();
            cJSON_AddItemToObject(p, r->valuestring, cJSON_CreateFalse());
            cJSON_AddItemToArray(alts, typed1("object", "properties", p));
        }
        return 1;
    }
    if (strcmp(name, "properties") == 0 && cJSON_IsObject(k)) {
        for (const cJSON *p = k->child; p; p = p->next) {
            cJSON *np = neg(g, p, depth + 1);
            if (!np) return 0;
            if (cJSON_IsFalse(np)) continue;
            cJSON *o = typed1("object", "properties", cJSON_CreateObject());
            cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(o, "properties"), p->string, cJSON_Duplicate(np, 1));
            cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "required"), cJSON_CreateString(p->string));
            cJSON_AddItemToArray(alts, o);
        }
        return 1;
    }
    if (strcmp(name, "prefixItems") == 0 || (strcmp(name, "items") == 0 && cJSON_IsArray(k))) {
        if (strcmp(name, "items") == 0 ? kw(x, "additionalItems") != NULL : kw(x, "items") != NULL)
            return neg_fail(g, "a tuple prefix with further items cannot be negated") != NULL;
        int i = 0;
        for (const cJSON *p = k->child; p; p = p->next, i++) {
            cJSON *np = neg(g, p, depth + 1);
            if (!np) return 0;
            if (cJSON_IsFalse(np)) continue;
            cJSON *o = typed1("array", "minItems", cJSON_CreateNumber(i + 1)), *l = cJSON_AddArrayToObject(o, "prefixItems");
            for (int j = 0; j < i; j++) cJSON_AddItemToArray(l, cJSON_CreateTrue());
            cJSON_AddItemToArray(l, cJSON_Duplicate(np, 1));
            cJSON_AddItemToArray(alts, o);
        }
        return 1;
    }
    if (strcmp(name, "items") == 0) {  /* some item fails: contains not-items */
        if (kw(x, "prefixItems")) return neg_fail(g, "'items' after 'prefixItems' cannot be negated") != NULL;
        cJSON *ni = neg(g, k, depth + 1);
        if (!ni) return 0;
        if (!cJSON_IsFalse(ni)) cJSON_AddItemToArray(alts, typed1("array", "contains", cJSON_Duplicate(ni, 1)));
        return 1;
    }
    if (strcmp(name, "contains") == 0) {  /* no item matches: items not-contains */
        if (kw(x, "minContains") || kw(x, "maxContains")) return neg_fail(g, "'contains' with counts cannot be negated") != NULL;
        cJSON *nc = neg(g, k, depth + 1);
        if (!nc) return 0;
        cJSON_AddItemToArray(alts, typed1("array", "items", cJSON_Duplicate(nc, 1)));
        return 1;
    }
    if (strcmp(name, "anyOf") == 0 || (strcmp(name, "oneOf") == 0 && cJSON_GetArraySize(k) == 1)) {
        cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "allOf");
        int ok = 1, none = 0;
        for (const cJSON *p = cJSON_IsArray(k) ? k->child : NULL; p && ok; p = p->next) {
            cJSON *np = neg(g, p, depth + 1);
            ok = np != NULL;
            if (np) none |= cJSON_IsFalse(np), cJSON_AddItemToArray(l, cJSON_Duplicate(np, 1));
        }
        if (ok && !none) cJSON_AddItemToArray(alts, o);
        else cJSON_Delete(o);
        return ok;
    }
    if (strcmp(name, "allOf") == 0) {
        for (const cJSON *p = cJSON_IsArray(k) ? k->child : NULL; p; p = p->next)
            if (!add_neg(g, alts, p, depth)) return 0;
        return 1;
    }
    if (strcmp(name, "not") == 0) {
        cJSON_AddItemToArray(alts, cJSON_Duplicate(k, 1));
        return 1;
    }
    if (strcmp(name, "$ref") == 0 && cJSON_IsString(k)) {
        const cJSON *t = smol_jschema_resolve(g->js, k->valuestring);
        if (!t) return neg_fail(g, "cannot resolve $ref '%.200s'", k->valuestring) != NULL;
        return add_neg(g, alts, t, depth);
    }
    if (strcmp(name, "if") == 0) {  /* fails: (if and not then) or (not if and not else) */
        const cJSON *th = kw(x, "then"), *el = kw(x, "else");
        if (!th && !el) return 1;
        cJSON *nt = th ? neg(g, th, depth + 1) : NULL, *ni = el ? neg(g, k, depth + 1) : NULL;
        cJSON *ne = el ? neg(g, el, depth + 1) : NULL;
        if ((th && !nt) || (el && (!ni || !ne))) return 0;
        if (nt && !cJSON_IsFalse(nt)) cJSON_AddItemToArray(alts, all2(k, nt));
        if (ne && !cJSON_IsFalse(ne) && !cJSON_IsFalse(ni)) cJSON_AddItemToArray(alts, all2(ni, ne));
        return 1;
    }
    if (strcmp(name, "then") == 0 || strcmp(name, "else") == 0 || strcmp(name, "minContains") == 0 ||
        strcmp(name, "maxContains") == 0 || strcmp(name, "type") == 0 || strcmp(name, "nullable") == 0)
        return 1;  /* read with if, contains, or as the type set */
    if (strcmp(name, "dependentRequired") == 0 || (strcmp(name, "dependencies") == 0 && cJSON_IsObject(k))) {
        for (const cJSON *d = cJSON_IsObject(k) ? k->child : NULL; d; d = d->next) {
            if (!cJSON_IsArray(d)) {  /* dependencies with a schema: present and failing it */
                cJSON *nd = neg(g, d, depth + 1);
                if (!nd) return 0;
                if (cJSON_IsFalse(nd)) continue;
                cJSON *o = typed1("object", "required", cJSON_CreateStringArray((const char *const[]){d->string}, 1));
                cJSON_AddItemToArray(alts, all2(o, nd));
                cJSON_Delete(o);
                continue;
            }
            for (const cJSON *r = d->child; r; r = r->next) {  /* present, and r missing */
                if (!cJSON_IsString(r)) continue;
                cJSON *o = typed1("object", "required", cJSON_CreateStringArray((const char *const[]){d->string}, 1));
                cJSON *p = cJSON_AddObjectToObject(o, "properties");
                cJSON_AddItemToObject(p, r->valuestring, cJSON_CreateFalse());
                cJSON_AddItemToArray(alts, o);
            }
        }
        return 1;
    }
    if (strcmp(name, "dependentSchemas") == 0 && cJSON_IsObject(k)) {
        for (const cJSON *d = k->child; d; d = d->next) {
            cJSON *nd = neg(g, d, depth + 1);
            if (!nd) return 0;
            if (cJSON_IsFalse(nd)) continue;
            cJSON *o = typed1("object", "required", cJSON_CreateStringArray((const char *const[]){d->string}, 1));
            cJSON_AddItemToArray(alts, all2(o, nd));
            cJSON_Delete(o);
        }
        return 1;
    }
    if (cJSON_IsTrue(k) || (strcmp(name, "uniqueItems") == 0 && cJSON_IsFalse(k))) return 1;  /* no constraint */
    return neg_fail(g, "'not' of '%s' cannot be written as a grammar", name) != NULL;
}

/* A positive schema equivalent to `not x` (kept in g->keep; false if nothing is valid), or NULL
 * with g->why set when some keyword's negation cannot be expressed. */
static cJSON *neg(gen *g, const cJSON *x, int depth) {
    if (depth > 24) return neg_fail(g, "negations nested more than 24 deep");
    if (cJSON_IsTrue(x)) return keep(g, cJSON_CreateFalse());
    if (cJSON_IsFalse(x)) return keep(g, cJSON_CreateTrue());
    if (!cJSON_IsObject(x)) return neg_fail(g, "a schema must be an object or a boolean");
    cJSON *alts = cJSON_CreateArray();
    if (kw(x, "type")) {  /* the value has another type */
        unsigned t = 0;
        const cJSON *ty = kw(x, "type");
        for (const cJSON *e = cJSON_IsArray(ty) ? ty->child : ty; e; e = cJSON_IsArray(ty) ? e->next : NULL)
            t |= cJSON_IsString(e) ? type_bit(e->valuestring) : 0;
        if (cJSON_IsTrue(kw(x, "nullable"))) t |= T_NULL;
        cJSON *c = type_complement(t);
        if (c) cJSON_AddItemToArray(alts, c);
    }
    for (const cJSON *k = x->child; k; k = k->next) {
        if (is_annotation(g, k->string)) continue;
        if (!neg_keyword(g, x, k, alts, depth)) {
            cJSON_Delete(alts);
            return NULL;
        }
    }
    cJSON *out;
    int n = cJSON_GetArraySize(alts);
    if (n == 0) out = cJSON_CreateFalse(), cJSON_Delete(alts);
    else if (n == 1) out = cJSON_DetachItemFromArray(alts, 0), cJSON_Delete(alts);
    else {
        out = cJSON_CreateObject();
        cJSON_AddItemToObject(out, "anyOf", alts);
    }
    return keep(g, out);
}

/* s with not (other than primitive exclusions), if/then/else and the dependencies rewritten
 * into allOf/anyOf parts. strict: unevaluated* apply, so a negation must not name members (a
 * failed `if` or a `not` evaluates nothing). NULL on an error. */
static const cJSON *lower(gen *g, const cJSON *s, int strict) {
    cJSON *out = keep(g, cJSON_CreateObject()), *parts = cJSON_CreateArray();
    static const char *const lk[] = {"not", "if", "then", "else", "dependentRequired", "dependentSchemas", "dependencies", NULL};
    for (const cJSON *k = s->child; k; k = k->next)
        if (!in_set(lk, k->string) || (strcmp(k->string, "not") == 0 && prim_not(k)))
            cJSON_AddItemToObject(out, k->string, cJSON_Duplicate(k, 1));
    const cJSON *n = kw(s, "not"), *i = kw(s, "if"), *th = kw(s, "then"), *el = kw(s, "else");
    if (n && !prim_not(n)) {
        cJSON *nn = neg(g, n, 0), *e = nn ? noeval(g, nn, strict & 2, 0) : NULL;
        if (e || strict) nn = e;   /* without unevaluated*, a negation that cannot be kept apart is merged as before */
        if (nn) cJSON_AddItemToArray(parts, cJSON_Duplicate(nn, 1));
        else if (unsupported(g, "not", g->why)) goto fail;
    }
    if (i && (th || el || strict)) {  /* with unevaluated*, a passing if evaluates members too */
        if (cJSON_IsTrue(i) || cJSON_IsFalse(i)) {
            const cJSON *b = cJSON_IsTrue(i) ? th : el;
            if (b) cJSON_AddItemToArray(parts, cJSON_Duplicate(b, 1));
        } else {
            cJSON *ni = neg(g, i, 0), *e = ni ? noeval(g, ni, strict & 2, 0) : NULL;
            if (e || strict) ni = e;
            if (!ni) {
                if (unsupported(g, "if", g->why)) goto fail;
            } else {
                cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "anyOf");
                cJSON_AddItemToArray(l, all2(i, th));
                cJSON_AddItemToArray(l, all2(ni, el));
                cJSON_AddTrueToObject(o, K_EXCL);   /* if passes, or fails */
                cJSON_AddItemToArray(parts, o);
            }
        }
    }
    const cJSON *deps[3] = {kw(s, "dependentRequired"), kw(s, "dependentSchemas"), kw(s, "dependencies")};
    for (int d = 0; d < 3; d++)
        for (const cJSON *x = cJSON_IsObject(deps[d]) ? deps[d]->child : NULL; x; x = x->next) {
            if (cJSON_IsTrue(x) || (cJSON_IsArray(x) && !x->child)) continue;
            cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "anyOf");
            cJSON *absent = cJSON_CreateObject(), *req = cJSON_CreateObject();
            cJSON_AddItemToObject(cJSON_AddObjectToObject(absent, "properties"), x->string, cJSON_CreateFalse());
            cJSON *rl = cJSON_AddArrayToObject(req, "required");
            for (const cJSON *r = cJSON_IsArray(x) ? x->child : NULL; r; r = r->next) cJSON_AddItemToArray(rl, cJSON_Duplicate(r, 1));
            cJSON_AddItemToArray(rl, cJSON_CreateString(x->string));
            cJSON_AddItemToArray(l, absent);
            if (cJSON_IsArray(x)) cJSON_AddItemToArray(l, req);
            else {
                cJSON_AddItemToArray(l, all2(req, x));
                cJSON_Delete(req);
            }
            cJSON_AddTrueToObject(o, K_EXCL);   /* the key is absent, or present */
            cJSON_AddItemToArray(parts, o);
        }
    if (cJSON_GetArraySize(parts)) {
        cJSON *all = cJSON_GetObjectItemCaseSensitive(out, "allOf");
        if (cJSON_IsArray(all))
            while (parts->child) cJSON_AddItemToArray(all, cJSON_DetachItemFromArray(parts, 0));
        else cJSON_AddItemToObject(out, "allOf", parts), parts = NULL;
    }
    cJSON_Delete(parts);
    return out;
fail:
    cJSON_Delete(parts);
    return NULL;
}

/* Snapshots of the output so a branch that no value satisfies can be dropped. */
typedef struct snap {
    size_t rules_n;
    int n_memo;
} snap;
static snap take_snap(const gen *g) { return (snap){g->rules.n, g->n_memo}; }
/* After a failed generation: 1 (and the output rolled back, the error cleared) if the failure
 * was "no value can match". */
static int drop_empty(gen *g, snap s) {
    if (!g->rc || !g->empty) return 0;
    g->rc = 0;
    g->empty = 0;
    g->rules.n = s.rules_n;
    if (g->rules.p) g->rules.p[s.rules_n] = 0;
    g->n_memo = s.n_memo;
    return 1;
}

/* ---------------------------------------------------------------- schema -> rules */

static char *gen_schema(gen *g, const cJSON *s);

static char *any_value(gen *g) {
    g->used |= U_VALUE | U_STRING | U_CHAR | U_NUMBER;
    ws(g);
    return strdup("value");
}

/* The rule for a child value (array item, property value): one level deeper. */
static char *gen_child(gen *g, const cJSON *s, const char *seg) {
    size_t mark = path_push(g, seg);
    g->level++;
    char *r = gen_schema(g, s);
    g->level--;
    path_pop(g, mark);
    return r;
}

/* Reads a numeric bound; 0 if absent. Draft-04 boolean exclusive* turn minimum/maximum exclusive. */
static int bound(const cJSON *s, int upper, double *v, int *excl) {
    const cJSON *inc = kw(s, upper ? "maximum" : "minimum"), *ex = kw(s, upper ? "exclusiveMaximum" : "exclusiveMinimum");
    int has = 0;
    *excl = 0;
    if (cJSON_IsNumber(inc)) {
        *v = inc->valuedouble;
        has = 1;
        *excl = cJSON_IsTrue(ex);
    }
    if (cJSON_IsNumber(ex) && (!has || (upper ? ex->valuedouble <= *v : ex->valuedouble >= *v))) {
        *v = ex->valuedouble;
        *excl = 1;
        has = 1;
    }
    return has;
}

#define EXACT_INT 9007199254740992.0

static char *gen_integer(gen *g, const cJSON *s) {
    double lo = 0, hi = 0;
    int lex, hex;
    int has_lo = bound(s, 0, &lo, &lex), has_hi = bound(s, 1, &hi, &hex);
    if ((has_lo && fabs(lo) >= EXACT_INT) || (has_hi && fabs(hi) >= EXACT_INT)) {
        unsupported(g, has_lo && fabs(lo) >= EXACT_INT ? "minimum" : "maximum", "bound beyond 2^53");
        if (g->rc) return NULL;
        has_lo = has_lo && fabs(lo) < EXACT_INT;
        has_hi = has_hi && fabs(hi) < EXACT_INT;
    }
    int64_t ilo = has_lo ? (int64_t)(lex ? floor(lo) + 1 : ceil(lo)) : 0;
    int64_t ihi = has_hi ? (int64_t)(hex ? ceil(hi) - 1 : floor(hi)) : 0;
    const cJSON *mo = kw(s, "multipleOf");
    sbuf b = {0};
    if (cJSON_IsNumber(mo) && mo->valuedouble > 0 && mo->valuedouble != floor(mo->valuedouble) &&
        fabs(1 / mo->valuedouble - nearbyint(1 / mo->valuedouble)) < 1e-9)
        mo = NULL;  /* 1/k: every integer is a multiple */
    if (cJSON_IsNumber(mo) && mo->valuedouble != 1) {
        char *r = gen_multiple(g, s, mo->valuedouble, 1, 0);
        if (r || g->rc) return r;
    }
    char *r = int_range_expr(has_lo, ilo, has_hi, ihi);
    if (!r) return gempty(g, "schema at %s: no integer satisfies minimum %g / maximum %g", gpath(g), lo, hi);
    sb_addf(&b, "(%s) (\".\" \"0\"+)?", r);
    free(r);
    return sb_take(&b);
}

/* Pieces of a non-negative magnitude m = I.F between bounds (integers; excl flags): appended
 * to b as alternatives. frac_any / frac_zero / frac_nz are the fraction expressions. */
static int mag_pieces(sbuf *b, int has_lo, int64_t lo, int lex, int has_hi, int64_t hi, int hex, const char *frac_any,
                      const char *frac_nz, int zero_ok, int first) {
    if (has_lo && lo < 0) has_lo = 0, lex = 0;
    if (has_hi && hi < 0) return first;
    if (has_hi && has_lo && (lo > hi || (lo == hi && (lex || hex)))) return first;
    int64_t amin = !has_lo ? 0 : lex ? lo + 1 : lo;            /* I in [amin, amax]: any fraction */
    int64_t amax = has_hi ? hi - 1 : -1;
    if (!has_hi || amin <= amax) {
        sb_addf(b, "%s", first ? "" : " | ");
        uint_range(b, (uint64_t)amin, has_hi ? amax : -1);
        sb_addf(b, " %s", frac_any);
        first = 0;
    }
    if (zero_ok && has_hi && !hex && (!has_lo || hi > lo || (hi == lo && !lex))) {  /* I == hi with a zero fraction */
        sb_addf(b, "%s\"%lld\" (\".\" \"0\"+)?", first ? "" : " | ", (long long)hi);
        first = 0;
    }
    if (has_lo && lex && (!has_hi || lo < hi)) {  /* I == lo with a non-zero fraction */
        sb_addf(b, "%s\"%lld\" %s", first ? "" : " | ", (long long)lo, frac_nz);
        first = 0;
    }
    return first;
}

/* A decimal magnitude: integer part and fraction digits without trailing zeros. */
typedef struct dec {
    uint64_t ip;
    char fr[24];
} dec;

/* |v| as a decimal (the shortest fixed-point text that reads back as v); 0 if it needs more
 * than 20 decimals or is not below 2^53. */
static int to_dec(double v, dec *d) {
    v = fabs(v);
    if (!(v < EXACT_INT)) return 0;
    char t[64];
    for (int k = 0; k <= 20; k++) {
        snprintf(t, sizeof t, "%.*f", k, v);
        if (strtod(t, NULL) != v) continue;
        char *dot = strchr(t, '.');
        d->ip = strtoull(t, NULL, 10);
        snprintf(d->fr, sizeof d->fr, "%s", dot ? dot + 1 : "");
        size_t n = strlen(d->fr);
        while (n && d->fr[n - 1] == '0') d->fr[--n] = 0;
        return 1;
    }
    return 0;
}

static int dec_cmp(const dec *a, const dec *b) {
    if (a->ip != b->ip) return a->ip < b->ip ? -1 : 1;
    int c = strcmp(a->fr, b->fr);
    return (c > 0) - (c < 0);
}

/* Fraction digits (after those already read) that keep 0.D >= 0.r (> with strict); may be empty
 * only when that holds for what was read. */
static void ge_tail(sbuf *b, const char *r, int strict) {
    size_t n = strlen(r);
    sb_add(b, "(");
    for (size_t j = 0; j < n; j++)
        if (r[j] < '9') sb_addf(b, "\"%.*s\" [%c-9] [0-9]* | ", (int)j, r, r[j] + 1);
    if (n) sb_addf(b, "\"%s\" ", r);
    sb_addf(b, "%s)", strict ? "\"0\"* [1-9] [0-9]*" : "[0-9]*");
}

/* Fraction digits (after those already read) that keep 0.D <= 0.r (< with strict); the end may
 * come at once when can_end. */
static void le_tail(sbuf *b, const char *r, int strict, int can_end) {
    size_t n = strlen(r);
    int any = 0;
    sb_add(b, "(");
    if (can_end && n) sb_add(b, "\"\""), any = 1;  /* ending before r is used up: below r */
    for (size_t j = 0; j < n; j++) {
        if (r[j] > '0') sb_addf(b, "%s\"%.*s\" [0-%c] [0-9]*", any++ ? " | " : "", (int)j, r, r[j] - 1);
        if (j > 0) sb_addf(b, "%s\"%.*s\"", any++ ? " | " : "", (int)j, r);
    }
    if (!strict) sb_addf(b, "%s\"%s\" \"0\"*", any++ ? " | " : "", r);
    if (!any) sb_add(b, "[^\\x00-\\U0010FFFF]");
    sb_add(b, ")");
}

/* -1, 0, 1 as the fractions 0.a and 0.b (digit strings, trailing zeros allowed) compare. */
static int frac_cmp(const char *a, const char *b) {
    for (;; a += *a != 0, b += *b != 0) {
        char x = *a ? *a : '0', y = *b ? *b : '0';
        if (x != y) return x < y ? -1 : 1;
        if (!*a && !*b) return 0;
    }
}

/* Fraction text (with its ".", or none for zero) of a magnitude whose fraction lies between 0.l
 * and 0.h (lex/hex: exclusive; has_h 0: no upper limit within the integer). */
static void frac_range(sbuf *b, const char *l, int lex, int has_h, const char *h, int hex) {
    int zero_ok = !*l && !lex;  /* no fraction at all: the value 0 */
    if (has_h && frac_cmp(l, h) == 0) {  /* exactly l (both inclusive, checked by the caller) */
        if (*l) sb_addf(b, "\".\" \"%s\" \"0\"*", l);
        else sb_add(b, "(\".\" \"0\"+)?");
        return;
    }
    sb_add(b, "(\".\" (");
    if (!has_h) {
        ge_tail(b, l, lex);
        sb_addf(b, "))%s", zero_ok ? "?" : "");
        return;
    }
    size_t i = 0, nl = strlen(l);
    while ((i < nl ? l[i] : '0') == h[i]) i++;  /* l < h: they differ at i (h is longer than i) */
    char li = i < nl ? l[i] : '0', hi = h[i];
    for (size_t k = 1; k < i; k++) {  /* D a proper prefix of the common part */
        char d[24];
        snprintf(d, sizeof d, "%.*s", (int)k, h);
        int c = frac_cmp(d, l);
        if (c > 0 || (c == 0 && !lex)) sb_addf(b, "\"%s\" | ", d);
    }
    if (li + 1 <= hi - 1) sb_addf(b, "\"%.*s\" [%c-%c] [0-9]* | ", (int)i, h, li + 1, hi - 1);
    sb_addf(b, "\"%.*s%c\" ", (int)i, h, li);
    ge_tail(b, i < nl ? l + i + 1 : "", lex);
    sb_addf(b, " | \"%.*s%c\" ", (int)i, h, hi);
    le_tail(b, h + i + 1, hex, 1);
    sb_addf(b, "))%s", zero_ok ? "?" : "");
}

/* Fraction text (with its ".") of a magnitude whose fraction is >= 0.f (> with strict). */
static void frac_ge(sbuf *b, const char *f, int strict) { frac_range(b, f, strict, 0, "", 0); }

/* Fraction text (with its ".", or none) of a magnitude whose fraction is <= 0.f (< with strict). */
static void frac_le(sbuf *b, const char *f, int strict) {
    if (!*f) {
        sb_add(b, strict ? "[^\\x00-\\U0010FFFF]" : "(\".\" \"0\"+)?");
        return;
    }
    sb_add(b, "(\".\" ");
    le_tail(b, f, strict, 0);
    sb_add(b, ")?");
}

/* Magnitudes M with lo <= M (lo < M with lex) and, with has_hi, M <= hi (M < hi with hex), as
 * alternatives appended to b; returns first (1 if nothing was added). */
static int dec_pieces(sbuf *b, const dec *lo, int lex, int has_hi, const dec *hi, int hex, int first) {
    if (has_hi && (dec_cmp(lo, hi) > 0 || (dec_cmp(lo, hi) == 0 && (lex || hex)))) return first;
    const char *sep = first ? "" : " | ";
    if (has_hi && lo->ip == hi->ip) {
        sb_addf(b, "%s\"%llu\" ", sep, (unsigned long long)lo->ip);
        frac_range(b, lo->fr, lex, 1, hi->fr, hex);
        return 0;
    }
    if (!has_hi || lo->ip + 1 < hi->ip) {
        sb_add(b, sep);
        uint_range(b, lo->ip + 1, has_hi ? (int64_t)hi->ip - 1 : -1);
        sb_add(b, " (\".\" [0-9]+)?");
        sep = " | ";
    }
    sb_addf(b, "%s\"%llu\" ", sep, (unsigned long long)lo->ip);
    frac_ge(b, lo->fr, lex);
    if (has_hi) sb_addf(b, " | \"%llu\" ", (unsigned long long)hi->ip), frac_le(b, hi->fr, hex);
    return 0;
}

/* Ends the alternation of number pieces in b (first: none yet): the negative pieces neg (none
 * when neg_first) after "-", then ")"; a schema no number satisfies is an error. Takes neg. */
static char *signed_close(gen *g, sbuf *b, int first, char *neg, int neg_first) {
    if (!neg_first && neg) sb_addf(b, "%s\"-\" (%s)", first ? "" : " | ", neg), first = 0;
    free(neg);
    sb_add(b, ")");
    if (first) {
        free(b->p);
        return gempty(g, "schema at %s: no number satisfies the bounds", gpath(g));
    }
    return sb_take(b);
}

/* Numbers between bounds that are not all integers (no multipleOf): exact decimal ranges. */
static char *gen_decimal_range(gen *g, int has_lo, double lo, int lex, int has_hi, double hi, int hex) {
    dec L, H, zero = {0, ""};
    if ((has_lo && !to_dec(lo, &L)) || (has_hi && !to_dec(hi, &H))) {
        unsupported(g, has_lo && !to_dec(lo, &L) ? "minimum" : "maximum", "a bound with more than 20 decimals or beyond 2^53");
        return NULL;
    }
    sbuf b = {0};
    sb_add(&b, "(");
    int first = 1;
    if (!has_hi || hi >= 0) {  /* M >= 0 */
        const dec *l = has_lo && lo >= 0 ? &L : &zero;
        first = dec_pieces(&b, l, has_lo && lo >= 0 ? lex : 0, has_hi, &H, hex, first);
    }
    sbuf n = {0};
    int nf = 1;
    if (!has_lo || lo < 0)  /* "-" M with M > 0: the bounds swap */
        nf = dec_pieces(&n, has_hi && hi < 0 ? &H : &zero, has_hi && hi < 0 ? hex : 1, has_lo, &L, lex, 1);
    return signed_close(g, &b, first, sb_take(&n), nf);
}

/* Numbers of s; frac_only: only numbers that are not integers (a non-zero fraction). */
static char *gen_number(gen *g, const cJSON *s, int frac_only) {
    double lo = 0, hi = 0;
    int lex, hex;
    int has_lo = bound(s, 0, &lo, &lex), has_hi = bound(s, 1, &hi, &hex);
    const cJSON *mo = kw(s, "multipleOf");
    int decimals = -1;  /* multipleOf 10^-k: at most k decimals */
    if (cJSON_IsNumber(mo)) {
        double m = mo->valuedouble;
        for (int k = 0; k <= 9 && decimals < 0; k++)
            if (fabs(m * pow(10, k) - 1) < 1e-9) decimals = k;
        if (decimals < 0) {
            char *r = gen_multiple(g, s, m, 0, frac_only);
            if (r || g->rc) return r;
        }
    }
    if (!has_lo && !has_hi && decimals < 0 && !frac_only) {
        g->used |= U_NUMBER;
        return strdup("number");
    }
    int fractional = (has_lo && lo != floor(lo)) || (has_hi && hi != floor(hi));
    if (fractional && decimals < 0 && !frac_only && (!has_lo || fabs(lo) < EXACT_INT) && (!has_hi || fabs(hi) < EXACT_INT)) {
        char *r = gen_decimal_range(g, has_lo, lo, lex, has_hi, hi, hex);
        if (r || g->rc) return r;
        g->used |= U_NUMBER;  /* lenient: bounds dropped */
        return strdup("number");
    }
    if (fractional && decimals > 0) {   /* multipleOf 0.1, 0.01, ... with decimal bounds: the multiples listed */
        char *r = gen_multiple(g, s, mo->valuedouble, 0, frac_only);
        if (r || g->rc) return r;
    }
    if ((has_lo && (lo != floor(lo) || fabs(lo) >= EXACT_INT)) || (has_hi && (hi != floor(hi) || fabs(hi) >= EXACT_INT))) {
        if (unsupported(g, has_lo && lo != floor(lo) ? "minimum" : "maximum",
                        "number bounds must be integers below 2^53 (or decimals without multipleOf)"))
            return NULL;
        has_lo = has_hi = 0;
        lo = hi = 0;   /* ignored bounds (lenient mode) must not reach the integer casts below */
    }
    char frac_any[80], frac_nz[80];
    if (decimals == 0) snprintf(frac_any, sizeof frac_any, "(\".\" \"0\"+)?"), snprintf(frac_nz, sizeof frac_nz, "[^\\x00-\\U0010FFFF]");
    else if (decimals > 0)
        snprintf(frac_any, sizeof frac_any, "(\".\" ([0-9]{0,%d} [1-9] \"0\"* | \"0\"+))?", decimals - 1),
            snprintf(frac_nz, sizeof frac_nz, "\".\" [0-9]{0,%d} [1-9] \"0\"*", decimals - 1);
    else snprintf(frac_any, sizeof frac_any, "(\".\" [0-9]+)?"), snprintf(frac_nz, sizeof frac_nz, "\".\" [0-9]{0,5} [1-9] [0-9]*");
    if (frac_only && decimals == 0) return gempty(g, "schema at %s: no number that is not an integer is a multiple of 1", gpath(g));
    /* a fraction must survive reading as a double (validators do): a non-zero digit among the
     * first six decimals, and for non-integers an integer part below 10^9 */
    if (frac_only && (!has_hi || hi > 1e9)) has_hi = 1, hi = 1e9, hex = 1;
    if (frac_only && (!has_lo || lo < -1e9)) has_lo = 1, lo = -1e9, lex = 1;
    if (frac_only) snprintf(frac_any, sizeof frac_any, "%s", frac_nz);
    sbuf b = {0};
    sb_add(&b, "(");
    int first = mag_pieces(&b, has_lo, (int64_t)lo, lex, has_hi, (int64_t)hi, hex, frac_any, frac_nz, !frac_only, 1);
    /* negative numbers: magnitude in [-hi, -lo] (bounds swap, and -0 is left out) */
    sbuf n = {0};
    int nf = 1;
    if (!has_lo || lo < 0) {
        int nlex = 1;
        int64_t nlo = 0;
        if (has_hi && hi < 0) nlo = (int64_t)-hi, nlex = hex;
        nf = mag_pieces(&n, 1, nlo, nlex, has_lo, has_lo ? (int64_t)-lo : 0, lex, frac_any, frac_nz, !frac_only, 1);
    }
    return signed_close(g, &b, first, sb_take(&n), nf);
}

/* ---------------------------------------------------------------- multiples of a decimal */

#define MULT_STATES 1024   /* digit-automaton states (residues x fraction positions) at most */
#define MULT_LIST 4096     /* multiples listed between two bounds at most */

typedef __int128 i128;

/* m = p / 10^k with p a positive integer below 10^15; 0 if m is not such a decimal. */
static int mult_dec(double m, uint64_t *p, int *k) {
    dec d;
    if (!(m > 0) || !to_dec(m, &d)) return 0;
    uint64_t v = d.ip;
    for (const char *c = d.fr; *c; c++) {
        if (v >= 100000000000000ull) return 0;
        v = v * 10 + (uint64_t)(*c - '0');
    }
    if (!v || v >= 1000000000000000ull) return 0;
    *p = v, *k = (int)strlen(d.fr);
    return 1;
}

static i128 pow10_i128(int k) {
    i128 v = 1;
    while (k-- > 0) v *= 10;
    return v;
}

/* v * 10^K exactly (v has at most K decimals, |v| < 2^53). */
static i128 scaled(double v, int K) {
    dec d;
    to_dec(v, &d);
    i128 r = (i128)d.ip * pow10_i128(K);
    size_t n = strlen(d.fr);
    for (size_t i = 0; i < n; i++) r += (i128)(d.fr[i] - '0') * pow10_i128(K - 1 - (int)i);
    return v < 0 ? -r : r;
}

static i128 div_floor(i128 a, i128 b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }
static i128 div_ceil(i128 a, i128 b) { return -div_floor(-a, b); }

/* A state of the digit automaton: after j fraction digits (0: in the integer part) the digits
 * read so far, as an integer, are r modulo p. */
typedef struct mstate {
    int p, k;
    unsigned char *alive, *seen;
    int *queue, nq;
    int base;        /* rule number of state 0 */
} mstate;

static int ms_id(const mstate *m, int j, int r) { return j * m->p + r; }

/* 1 when the number may end after j fraction digits with residue r: r * 10^(k-j) = 0 mod p. */
static int ms_accept(const mstate *m, int j, int r) {
    uint64_t v = (uint64_t)r;
    for (int i = j; i < m->k; i++) v = v * 10 % (uint64_t)m->p;
    return v == 0;
}

/* Marks the states from which the number can end (fixpoint over the digit edges). */
static void ms_alive(mstate *m) {
    int p = m->p, k = m->k;
    for (int r = 0; r < p; r++) m->alive[ms_id(m, k, r)] = k > 0 ? r == 0 : 0;
    for (int j = k - 1; j >= 1; j--)
        for (int r = 0; r < p; r++) {
            int a = ms_accept(m, j, r);
            for (int d = 0; d < 10 && !a; d++) a = m->alive[ms_id(m, j + 1, (10 * r + d) % p)];
            m->alive[ms_id(m, j, r)] = (unsigned char)a;
        }
    for (int changed = 1; changed;) {   /* the integer part loops on itself */
        changed = 0;
        for (int r = 0; r < p; r++) {
            if (m->alive[r]) continue;
            int a = ms_accept(m, 0, r);
            for (int d = 0; d < 10 && !a; d++)
                a = m->alive[(10 * r + d) % p] || (k > 0 && m->alive[ms_id(m, 1, (10 * r + d) % p)]);
            if (a) m->alive[r] = 1, changed = 1;
        }
    }
}

static void ms_visit(mstate *m, int id) {
    if (!m->seen[id]) m->seen[id] = 1, m->queue[m->nq++] = id;
}

/* Appends the digits 0-9 (lo..9) that lead from residue r to live states of position j as
 * alternatives "[digits] rN", grouped by target; returns the number of alternatives. */
static int ms_digits(mstate *m, sbuf *b, int r, int j, int lo, int any) {
    int done[10] = {0};
    for (int d = lo; d < 10; d++) {
        int t = ms_id(m, j, (10 * r + d) % m->p);
        if (done[d] || !m->alive[t]) continue;
        sb_addf(b, "%s[", any++ ? " | " : "");
        for (int e = d; e < 10; e++)
            if (!done[e] && ms_id(m, j, (10 * r + e) % m->p) == t) sb_addf(b, "%d", e), done[e] = 1;
        sb_addf(b, "] r%d", m->base + t);
        ms_visit(m, t);
    }
    return any;
}

/* After the integer part with residue r: the end (when allowed) and the fraction. */
static void ms_end(mstate *m, sbuf *b, int r, int any) {
    sbuf f = {0};
    int nf = 0;
    if (m->k > 0) nf = ms_digits(m, &f, r, 1, 0, 0);
    else if (r == 0) sb_add(&f, "\"0\"+"), nf = 1;
    char *ft = sb_take(&f);
    if (nf && ms_accept(m, 0, r)) sb_addf(b, "%s(\".\" (%s))?", any ? " | " : "", ft);
    else if (nf) sb_addf(b, "%s\".\" (%s)", any ? " | " : "", ft);
    else if (ms_accept(m, 0, r)) sb_addf(b, "%s\"\"", any ? " | " : "");
    free(ft);
}

/* JSON numbers >= 0 without exponent whose value times 10^k is a multiple of p: one rule per
 * live state of the digit automaton; returns the start expression. */
static char *mult_magnitude(gen *g, int p, int k) {
    int n = (k + 1) * p;
    mstate m = {p, k, calloc((size_t)n, 1), calloc((size_t)n, 1), malloc((size_t)n * sizeof(int)), 0, g->n_rules + 1};
    if (!m.alive || !m.seen || !m.queue) {
        free(m.alive), free(m.seen), free(m.queue);
        return gfail(g, SMOL_ENOMEM, "schema: out of memory");
    }
    g->n_rules += n;
    ms_alive(&m);
    sbuf s = {0};
    sb_add(&s, "(\"0\" (");
    ms_end(&m, &s, 0, 0);
    sb_add(&s, ")");
    ms_digits(&m, &s, 0, 0, 1, 1);
    sb_add(&s, ")");
    for (int i = 0; i < m.nq; i++) {
        int id = m.queue[i], j = id / p, r = id % p;
        sb_addf(&g->rules, "r%d ::= ", m.base + id);
        if (j == 0) ms_end(&m, &g->rules, r, ms_digits(&m, &g->rules, r, 0, 0, 0));
        else if (j == k) sb_add(&g->rules, "\"0\"*");
        else {
            int a = ms_digits(&m, &g->rules, r, j + 1, 0, 0);
            if (ms_accept(&m, j, r)) sb_addf(&g->rules, "%s\"\"", a ? " | " : "");
        }
        sb_add(&g->rules, "\n");
    }
    free(m.alive), free(m.seen), free(m.queue);
    return sb_take(&s);
}

/* allOf of multipleOf a and b: their least common multiple, when both are decimals and it
 * stays below 10^15 in units of the finer one; 0 otherwise. */
static int mult_lcm(const cJSON *a, const cJSON *b, double *m) {
    uint64_t pa, pb;
    int ka, kb;
    if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !mult_dec(a->valuedouble, &pa, &ka) || !mult_dec(b->valuedouble, &pb, &kb))
        return 0;
    int K = ka > kb ? ka : kb;
    i128 A = (i128)pa * pow10_i128(K - ka), B = (i128)pb * pow10_i128(K - kb);
    i128 x = A, y = B;
    while (y) {
        i128 t = x % y;
        x = y, y = t;
    }
    i128 l = A / x * B;
    if (l >= (i128)1000000000000000ll) return 0;
    char t[64];
    snprintf(t, sizeof t, "%llu.%0*llu", (unsigned long long)(l / pow10_i128(K)), K ? K : 1,
             (unsigned long long)(l % pow10_i128(K)));
    *m = strtod(t, NULL);
    return 1;
}

/* The text of the multiple n / 10^k (n >= 0) as a GBNF expression taking every spelling of
 * its value without exponent: trailing zeros, and ".0..." after an integer. */
static void mult_literal(sbuf *b, i128 n, int k, int negative) {
    i128 ten = pow10_i128(k);
    uint64_t ip = (uint64_t)(n / ten);
    i128 fr = n % ten;
    sb_addf(b, "%s\"%s%llu", n ? "" : "\"-\"? ", negative && n ? "-" : "", (unsigned long long)ip);
    if (!fr) {
        sb_add(b, "\" (\".\" \"0\"+)?");
        return;
    }
    char f[32];
    size_t len = (size_t)k;
    f[len] = 0;
    for (size_t i = len; i-- > 0; fr /= 10) f[i] = (char)('0' + (int)(fr % 10));
    while (len && f[len - 1] == '0') f[--len] = 0;
    sb_addf(b, ".%s\" \"0\"*", f);
}

/* Between both bounds: the multiples j * p / 10^k listed, when at most MULT_LIST; NULL (no
 * error) when there are more or a bound is not a decimal of at most 20 places below 2^53. */
static char *mult_listed(gen *g, uint64_t p, int k, double lo, int lex, double hi, int hex) {
    dec dl, dh;
    if (!to_dec(lo, &dl) || !to_dec(hi, &dh)) return NULL;
    int K = k;
    if ((int)strlen(dl.fr) > K) K = (int)strlen(dl.fr);
    if ((int)strlen(dh.fr) > K) K = (int)strlen(dh.fr);
    if (K > 20) return NULL;
    i128 P = (i128)p * pow10_i128(K - k), LO = scaled(lo, K), HI = scaled(hi, K);
    i128 jlo = div_ceil(LO, P), jhi = div_floor(HI, P);
    if (lex && jlo * P == LO) jlo++;
    if (hex && jhi * P == HI) jhi--;
    if (jhi < jlo) return gempty(g, "schema at %s: no multiple of multipleOf lies between the bounds", gpath(g));
    if (jhi - jlo >= MULT_LIST) return NULL;
    sbuf b = {0};
    sb_add(&b, "(");
    for (i128 j = jlo; j <= jhi; j++) {
        if (j != jlo) sb_add(&b, " | ");
        mult_literal(&b, (j < 0 ? -j : j) * (i128)p, k, j < 0);
    }
    sb_add(&b, ")");
    return sb_take(&b);
}

/* Numbers (int_only: integers) of s that are multiples of m = p / 10^k: listed between two
 * close bounds, else a digit automaton modulo p over the digits scaled by 10^k (exact: x is a
 * multiple when x * 10^k is an integer multiple of p), unsigned for minimum 0, negative for
 * maximum 0. NULL with g->rc unset: refused in lenient mode (the caller drops multipleOf). */
static char *gen_multiple(gen *g, const cJSON *s, double m, int int_only, int frac_only) {
    uint64_t p;
    int k;
    if (!mult_dec(m, &p, &k)) return unsupported(g, "multipleOf", "not a decimal of at most 15 significant digits"), NULL;
    if (frac_only) return unsupported(g, "multipleOf", "beside numbers that are not integers ('not' of an integer type)"), NULL;
    for (int i = 0; int_only && i < k && p % 2 == 0; i++) p /= 2;   /* x * 10^k = 0 mod p: x = 0 mod p / gcd(p, 10^k) */
    for (int i = 0; int_only && i < k && p % 5 == 0; i++) p /= 5;
    if (int_only) k = 0;
    double lo = 0, hi = 0;
    int lex, hex;
    int has_lo = bound(s, 0, &lo, &lex), has_hi = bound(s, 1, &hi, &hex);
    if (has_lo && has_hi) {
        char *r = mult_listed(g, p, k, lo, lex, hi, hex);
        if (r || g->rc) return r;
    }
    int nonneg = has_lo && !has_hi && lo == 0 && !lex, nonpos = has_hi && !has_lo && hi == 0 && !hex;
    if ((has_lo || has_hi) && !nonneg && !nonpos)
        return unsupported(g, "multipleOf", "with bounds other than minimum 0 or maximum 0, unless at most 4096 multiples lie between them"), NULL;
    if ((double)p * (k + 1) > MULT_STATES) {
        char why[160];
        snprintf(why, sizeof why, "step %g needs a digit automaton of %.0f states (at most %d)", m, (double)p * (k + 1), MULT_STATES);
        return unsupported(g, "multipleOf", why), NULL;
    }
    char *mag = mult_magnitude(g, (int)p, k);
    if (!mag) return NULL;
    char *r = nonneg ? dupf("(%s | \"-0\" (\".\" \"0\"+)?)", mag) : nonpos ? dupf("(\"-\" %s | \"0\" (\".\" \"0\"+)?)", mag) : dupf("\"-\"? %s", mag);
    free(mag);
    return r;
}

/* ---------------------------------------------------------------- strings other than listed ones */

/* Appends code point c as UTF-8 inside a GBNF literal. */
static void lit_cp(sbuf *b, uint32_t c) {
    char u[4];
    size_t n;
    if (c < 0x80) u[0] = (char)c, n = 1;
    else if (c < 0x800) u[0] = (char)(0xC0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3F)), n = 2;
    else if (c < 0x10000) u[0] = (char)(0xE0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3F)), u[2] = (char)(0x80 | (c & 0x3F)), n = 3;
    else
        u[0] = (char)(0xF0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3F)), u[2] = (char)(0x80 | ((c >> 6) & 0x3F)),
        u[3] = (char)(0x80 | (c & 0x3F)), n = 4;
    lit_bytes(b, u, n);
}

/* The short escapes of JSON: the letter after '\' and the code point it stands for. */
static const char k_short_esc[8][2] = {{'"', '"'}, {'\\', '\\'}, {'/', '/'}, {'b', 8}, {'f', 12}, {'n', 10}, {'r', 13}, {'t', 9}};

/* One JSON-text character that decodes to c (a BMP code point): raw where JSON allows it, a
 * short escape, or \u with hex digits in either case. */
static void unit_is(sbuf *b, uint32_t c) {
    sb_add(b, "(");
    int any = 0;
    if (c >= 0x20 && c != '"' && c != '\\') sb_add(b, "\""), lit_cp(b, c), sb_add(b, "\""), any = 1;
    for (int i = 0; i < 8; i++)
        if ((uint32_t)(unsigned char)k_short_esc[i][1] == c) sb_addf(b, "%s\"\\x5C\\x%02X\"", any++ ? " | " : "", k_short_esc[i][0]);
    char hex[8];
    snprintf(hex, sizeof hex, "%04x", (unsigned)c);
    sb_addf(b, "%s\"\\x5Cu\"", any ? " | " : "");
    for (int h = 0; h < 4; h++)
        if (isalpha((unsigned char)hex[h])) sb_addf(b, " [%c%c]", hex[h], toupper((unsigned char)hex[h]));
        else sb_addf(b, " \"%c\"", hex[h]);
    sb_add(b, ")");
}

/* left hex digits (either case) spelling none of the n lowercase strings hs. */
static void hex_not(sbuf *b, const char *const *hs, int n, int left) {
    if (n == 0) {
        sb_addf(b, "[0-9a-fA-F]{%d}", left);
        return;
    }
    char firsts[17] = "";
    int nf = 0;
    for (int i = 0; i < n; i++)
        if (!strchr(firsts, hs[i][0])) firsts[nf++] = hs[i][0], firsts[nf] = 0;
    sb_add(b, "([^\\x00-/:-@G-`g-\\U0010FFFF");
    for (int j = 0; j < nf; j++) sb_addf(b, "%c%c", firsts[j], toupper((unsigned char)firsts[j]));
    sb_add(b, "]");
    if (left > 1) sb_addf(b, " [0-9a-fA-F]{%d}", left - 1);
    for (int j = 0; j < nf && left > 1; j++) {
        const char *sub[64];
        int ns = 0;
        for (int i = 0; i < n; i++)
            if (hs[i][0] == firsts[j] && ns < 64) sub[ns++] = hs[i] + 1;
        if (isalpha((unsigned char)firsts[j])) sb_addf(b, " | [%c%c] ", firsts[j], toupper((unsigned char)firsts[j]));
        else sb_addf(b, " | \"%c\" ", firsts[j]);
        hex_not(b, sub, ns, left - 1);
    }
    sb_add(b, ")");
}

/* One JSON-text character that decodes to none of the n code points cs (all in the BMP). */
static void unit_not(sbuf *b, const uint32_t *cs, int n) {
    sb_add(b, "([^\\x00-\\x1F\\x22\\x5C");
    for (int i = 0; i < n; i++) put_cp(b, cs[i]);
    sb_add(b, "]");
    for (int e = 0; e < 8; e++) {
        int taken = 0;
        for (int i = 0; i < n; i++) taken |= cs[i] == (uint32_t)(unsigned char)k_short_esc[e][1];
        if (!taken) sb_addf(b, " | \"\\x5C\\x%02X\"", k_short_esc[e][0]);
    }
    char hex[64][5];
    const char *hp[64];
    int nh = 0;
    for (int i = 0; i < n && nh < 64; i++) snprintf(hex[nh], sizeof hex[nh], "%04x", (unsigned)cs[i]), hp[nh] = hex[nh], nh++;
    sb_add(b, " | \"\\x5Cu\" ");
    hex_not(b, hp, nh, 4);
    sb_add(b, ")");
}

/* A rule for string contents (between the quotes) whose decoded text is none of the n strings
 * (code points cps[i][0..lens[i]), all sharing their first pos code points). */
static char *strings_except(gen *g, uint32_t *const *cps, const int *lens, int n, int pos) {
    g->used |= U_CHAR;
    uint32_t firsts[64];
    int nf = 0, ends = 0;
    for (int i = 0; i < n; i++) {
        if (lens[i] == pos) {
            ends = 1;
            continue;
        }
        int seen = 0;
        for (int j = 0; j < nf; j++) seen |= firsts[j] == cps[i][pos];
        if (!seen && nf < 64) firsts[nf++] = cps[i][pos];
    }
    sbuf b = {0};
    if (!ends) sb_add(&b, "\"\" | ");
    unit_not(&b, firsts, nf);
    sb_add(&b, " char*");
    for (int j = 0; j < nf && !g->rc; j++) {
        uint32_t *sub[64];
        int sl[64], ns = 0;
        for (int i = 0; i < n; i++)
            if (lens[i] > pos && cps[i][pos] == firsts[j]) sub[ns] = cps[i], sl[ns++] = lens[i];
        char *r = strings_except(g, sub, sl, ns, pos + 1);
        if (!r) break;
        sb_add(&b, " | ");
        unit_is(&b, firsts[j]);
        sb_addf(&b, " %s", r);
        free(r);
    }
    char *body = sb_take(&b);
    return g->rc ? (free(body), NULL) : add_rule(g, body);
}

/* The JSON string grammar for any string except the n UTF-8 strings strs. */
static char *string_except(gen *g, const char *const *strs, int n) {
    uint32_t *cps[64];
    int lens[64], k = 0;
    for (int i = 0; i < n && i < 64; i++, k++) {
        size_t len = strlen(strs[i]);
        cps[i] = malloc((len + 1) * sizeof **cps);
        lens[i] = 0;
        if (!cps[i]) break;
        for (const unsigned char *p = (const unsigned char *)strs[i]; *p;) {
            uint32_t c;
            p += utf8_decode(p, &c);
            cps[i][lens[i]++] = c;
        }
    }
    char *r = k == n ? strings_except(g, cps, lens, n, 0) : gfail(g, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < k; i++) free(cps[i]);
    char *e = r ? dupf("\"\\\"\" %s \"\\\"\"", r) : NULL;
    free(r);
    return e;
}

static char *gen_string(gen *g, const cJSON *s, const excl *ex) {
    const cJSON *mn = kw(s, "minLength"), *mx = kw(s, "maxLength"), *pat = kw(s, "pattern");
    const cJSON *fmt = g->o.flags & SMOL_SCHEMA_FORMAT_ANNOTATION ? NULL : kw(s, "format");
    int has_len = cJSON_IsNumber(mn) || cJSON_IsNumber(mx);
    if (ex && ex->n_strs) {
        if ((has_len || cJSON_IsString(pat) || cJSON_IsString(fmt)) &&
            unsupported(g, "not", "excluding strings beside minLength/maxLength/pattern/format"))
            return NULL;
        if (!has_len && !cJSON_IsString(pat) && !cJSON_IsString(fmt)) return string_except(g, ex->strs, ex->n_strs);
    }
    if (cJSON_IsString(pat)) {
        if (has_len && unsupported(g, cJSON_IsNumber(mn) ? "minLength" : "maxLength", "together with pattern")) return NULL;
        if (cJSON_IsString(fmt) && unsupported(g, "format", "together with pattern")) return NULL;
        char *r = pattern_rule(g, pat->valuestring);
        if (!r) return g->rc ? NULL : (g->used |= U_STRING | U_CHAR, strdup("string"));
        char *e = dupf("\"\\\"\" %s \"\\\"\"", r);
        free(r);
        return e;
    }
    if (cJSON_IsString(fmt)) {
        const char *f = fmt->valuestring, *d = format_expr("date"), *t = format_expr("time");
        char *e = NULL;
        if (strcmp(f, "date-time") == 0) e = dupf("\"\\\"\" (%s) [Tt] (%s) \"\\\"\"", d, t);
        else if (format_expr(f)) e = dupf("\"\\\"\" (%s) \"\\\"\"", format_expr(f));
        else {
            char why[300];
            snprintf(why, sizeof why, "unknown format '%.200s'", f);
            if (unsupported(g, "format", why)) return NULL;
        }
        if (e && has_len) {
            free(e);
            if (unsupported(g, cJSON_IsNumber(mn) ? "minLength" : "maxLength", "together with format")) return NULL;
            e = NULL;
        }
        if (e) return e;
    }
    g->used |= U_CHAR;
    if (!has_len) {
        g->used |= U_STRING;
        return strdup("string");
    }
    double a = cJSON_IsNumber(mn) ? mn->valuedouble : 0, z = cJSON_IsNumber(mx) ? mx->valuedouble : -1;
    if (a < 0 || (z >= 0 && z < a)) return gempty(g, "schema at %s: no string satisfies minLength/maxLength", gpath(g));
    if (a > MAX_REPEAT || z > MAX_REPEAT) {
        if (unsupported(g, a > MAX_REPEAT ? "minLength" : "maxLength", "lengths above 1000")) return NULL;
        if (a > MAX_REPEAT) a = 0;
        if (z > MAX_REPEAT) z = -1;
    }
    if (z >= 0) return dupf("\"\\\"\" char{%.0f,%.0f} \"\\\"\"", a, z);
    return dupf("\"\\\"\" char{%.0f,} \"\\\"\"", a);
}

/* contains (with minContains k): arrays of items where at least k items also match contains.
 * Rules pre_j ("j more matches needed") ::= (X sep)* C tail_{j-1}; tail_0 ::= (sep X)*. */
static char *gen_contains(gen *g, const cJSON *s, const cJSON *items, const cJSON *contains) {
    const cJSON *mc = kw(s, "minContains");
    long k = cJSON_IsNumber(mc) ? num_to_long(ceil(mc->valuedouble)) : 1;
    if ((kw(s, "prefixItems") || cJSON_IsArray(items) || kw(s, "minItems") || kw(s, "maxItems")) &&
        unsupported(g, "contains", "together with prefixItems or minItems/maxItems"))
        return NULL;
    if (k > 64 && unsupported(g, "minContains", "above 64")) return NULL;
    char *x = items ? gen_child(g, items, "items") : any_value(g);
    cJSON *both = keep(g, cJSON_CreateObject());
    cJSON *l = cJSON_AddArrayToObject(both, "allOf");
    cJSON_AddItemToArray(l, items ? cJSON_Duplicate(items, 1) : cJSON_CreateTrue());
    cJSON_AddItemToArray(l, cJSON_Duplicate(contains, 1));
    char *c = x ? gen_child(g, both, "contains") : NULL;
    char sep[64];
    snprintf(sep, sizeof sep, "%s\",\"%s", ws(g), ws(g));
    char *tail = (x && c) ? add_rule(g, dupf("(%s %s)*", sep, x)) : NULL;
    for (long j = 1; j <= k && tail; j++) {
        char *pre = add_rule(g, dupf("(%s %s)* %s %s", x, sep, c, tail));
        free(tail);
        tail = pre && j < k ? add_rule(g, dupf("%s %s", sep, pre)) : pre;
        if (j < k) free(pre);
    }
    char *r = tail ? (k > 0 ? dupf("\"[\"%s%s%s\"]\"", ws(g), tail, ws(g))
                            : dupf("\"[\"%s(%s %s)?%s\"]\"", ws(g), x, tail, ws(g)))
                   : NULL;
    free(x);
    free(c);
    free(tail);
    return r;
}

/* The values schema x allows when they are finitely many and listed (enum/const, filtered by
 * the rest of x; type boolean/null alone), or NULL. */
static const cJSON *finite_values(gen *g, const cJSON *x) {
    if (!cJSON_IsObject(x)) return NULL;
    const cJSON *c = kw(x, "const"), *en = kw(x, "enum");
    cJSON *out = keep(g, cJSON_CreateArray());
    if (c || cJSON_IsArray(en)) {
        for (const cJSON *e = c ? c : en->child; e; e = c ? NULL : e->next)
            if (value_ok(x, e) == 1) cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
        return out;
    }
    unsigned t = types_of(x);
    if ((t & ~(unsigned)(T_NULL | T_BOOL)) || has_constraints(g, x, (const char *const[]){"type", "nullable", NULL})) return NULL;
    if (t & T_NULL) cJSON_AddItemToArray(out, cJSON_CreateNull());
    if (t & T_BOOL) cJSON_AddItemToArray(out, cJSON_CreateTrue()), cJSON_AddItemToArray(out, cJSON_CreateFalse());
    return out;
}

typedef struct uniq {
    gen *g;
    const cJSON *s;            /* the array schema: each candidate is checked against it */
    const cJSON *sets[65];     /* values allowed at each position (sets[64]: every later one) */
    int n_sets;
    const cJSON *chosen[64];
    int n, emitted, visited, bad;
    sbuf *b;
} uniq;

/* Every array of distinct values drawn from the position sets that the schema accepts. */
static void uniq_walk(uniq *u) {
    if (u->emitted > 1000 || ++u->visited > 20000 || u->bad) return;
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < u->n; i++) cJSON_AddItemToArray(arr, cJSON_Duplicate(u->chosen[i], 1));
    int ok = value_ok(u->s, arr);
    cJSON_Delete(arr);
    if (ok < 0) u->bad = 1;
    if (ok == 1) {
        const char *w = ws(u->g);
        sb_addf(u->b, "%s\"[\"%s", u->emitted++ ? " | " : "", w);
        for (int i = 0; i < u->n; i++) {
            if (i) sb_addf(u->b, "%s\",\"%s", w, w);
            const_expr(u->g, u->b, u->chosen[i]);
        }
        sb_addf(u->b, "%s\"]\"", w);
    }
    const cJSON *set = u->n < u->n_sets ? u->sets[u->n] : u->sets[64];
    for (const cJSON *v = set && u->n < 64 ? set->child : NULL; v; v = v->next) {
        int dup = 0;
        for (int i = 0; i < u->n && !dup; i++) dup = smol_json_equal(u->chosen[i], v);
        if (dup) continue;
        u->chosen[u->n++] = v;
        uniq_walk(u);
        u->n--;
    }
}

/* uniqueItems: true when every position allows finitely many listed values: the arrays of
 * distinct values are listed (at most 1000), each checked against the whole schema. */
static char *gen_unique(gen *g, const cJSON *s) {
    const char *why = "only when items are drawn from a finite set (enum, const, boolean, null): a grammar cannot compare items";
    uniq u = {.g = g, .s = s};
    const cJSON *prefix = kw(s, "prefixItems"), *rest = kw(s, "items");
    if (cJSON_IsArray(rest)) prefix = rest, rest = kw(s, "additionalItems");
    const cJSON *mx = kw(s, "maxItems");
    long hi = cJSON_IsNumber(mx) ? num_to_long(floor(mx->valuedouble)) : -1;
    for (const cJSON *p = cJSON_IsArray(prefix) ? prefix->child : NULL; p && u.n_sets < 64 && (hi < 0 || u.n_sets < hi); p = p->next) {
        if (!(u.sets[u.n_sets++] = finite_values(g, p)) && !cJSON_IsFalse(p)) return unsupported(g, "uniqueItems", why) ? NULL : (char *)"";
        if (cJSON_IsFalse(p)) break;
    }
    int more = !cJSON_IsFalse(rest) && (hi < 0 || hi > u.n_sets);
    if (more && !(u.sets[64] = finite_values(g, rest))) return unsupported(g, "uniqueItems", why) ? NULL : (char *)"";
    sbuf b = {0};
    u.b = &b;
    uniq_walk(&u);
    if (u.bad || u.emitted > 1000 || u.visited > 20000) {
        free(b.p);
        return unsupported(g, "uniqueItems", u.bad ? "items that the validator cannot check alone" : "more than 1000 arrays of distinct items")
                   ? NULL : (char *)"";
    }
    if (!u.emitted) {
        free(b.p);
        return gempty(g, "schema at %s: no array of distinct items satisfies the schema", gpath(g));
    }
    return sb_take(&b);
}

/* contains with maxContains kmax (and minContains k): every item either matches contains (C) or
 * not (N = items and not contains), and the count of C items is kept in the rules:
 * A_c ::= N T_c | C T_{c+1} (c+1 <= kmax); T_c ::= sep A_c | "" (c >= k). */
static char *gen_contains_counted(gen *g, const cJSON *s, const cJSON *items, const cJSON *contains, long k, long kmax) {
    if ((kw(s, "prefixItems") || cJSON_IsArray(items) || kw(s, "minItems") || kw(s, "maxItems")) &&
        unsupported(g, "contains", "together with prefixItems or minItems/maxItems"))
        return NULL;
    if (kmax > 64) return unsupported(g, "maxContains", "above 64") ? NULL : gen_contains(g, s, items, contains);
    if (kmax < k) return gempty(g, "schema at %s: maxContains is below minContains", gpath(g));
    cJSON *nc = neg(g, contains, 0);
    if (!nc) return unsupported(g, "maxContains", g->why) ? NULL : gen_contains(g, s, items, contains);
    cJSON *ns = keep(g, items ? all_of2(items, nc) : cJSON_Duplicate(nc, 1));
    cJSON *cs = keep(g, items ? all_of2(items, contains) : cJSON_Duplicate(contains, 1));
    snap sn = take_snap(g);
    char *n = gen_child(g, ns, "items");
    if (!n && !drop_empty(g, sn)) return NULL;
    sn = take_snap(g);
    char *c = gen_child(g, cs, "contains");
    if (!c && !drop_empty(g, sn)) return free(n), NULL;
    char sep[64];
    snprintf(sep, sizeof sep, "%s\",\"%s", ws(g), ws(g));
    int base = g->n_rules;
    g->n_rules += 2 * (int)(kmax + 1);  /* A_c is r(base+1+c), T_c is r(base+2+kmax+c) */
    for (long i = 0; i <= kmax; i++) {
        int any = 0;
        sb_addf(&g->rules, "r%ld ::= ", base + 1 + i);
        if (n) sb_addf(&g->rules, "%s r%ld", n, base + 2 + kmax + i), any = 1;
        if (c && i < kmax) sb_addf(&g->rules, "%s%s r%ld", any ? " | " : "", c, base + 3 + kmax + i), any = 1;
        if (!any) sb_add(&g->rules, "[^\\x00-\\U0010FFFF]");
        sb_addf(&g->rules, "\nr%ld ::= %s r%ld%s\n", base + 2 + kmax + i, sep, base + 1 + i, i >= k ? " | \"\"" : "");
    }
    free(n);
    free(c);
    return dupf("\"[\"%s(r%d)%s%s\"]\"", ws(g), base + 1, k == 0 ? "?" : "", ws(g));
}

static char *gen_array(gen *g, const cJSON *s) {
    if (cJSON_IsTrue(kw(s, "uniqueItems"))) {
        char *r = gen_unique(g, s);
        if (!r || *r) return r;  /* "": lenient mode, uniqueness dropped */
    }
    const cJSON *contains = kw(s, "contains"), *mc = kw(s, "minContains"), *ui = kw(s, "unevaluatedItems");
    if (contains && ui && tuple_form(s) && (kw(s, "items") || !kw(s, "prefixItems"))) {
        /* contains evaluates the items it matches, items all past the prefix: with items nothing is
         * left unevaluated, without items or prefix each item matches contains or unevaluatedItems */
        cJSON *o = keep(g, cJSON_Duplicate(s, 1));
        cJSON *u = cJSON_DetachItemFromObjectCaseSensitive(o, "unevaluatedItems");
        if (!kw(o, "items") && !cJSON_IsTrue(u)) {
            cJSON *it = cJSON_IsFalse(u) ? cJSON_Duplicate(contains, 1) : cJSON_CreateObject();
            if (!cJSON_IsFalse(u)) {
                cJSON *l = cJSON_AddArrayToObject(it, "anyOf");
                cJSON_AddItemToArray(l, cJSON_Duplicate(contains, 1));
                cJSON_AddItemToArray(l, cJSON_Duplicate(u, 1));
            }
            cJSON_AddItemToObject(o, "items", it);
        }
        cJSON_Delete(u);
        return gen_array(g, o);
    }
    if (contains) {
        const cJSON *mx = kw(s, "maxContains");
        if (ui && unsupported(g, "unevaluatedItems", "together with contains after prefixItems")) return NULL;
        if (cJSON_IsNumber(mx)) {
            long k = cJSON_IsNumber(mc) ? num_to_long(ceil(mc->valuedouble)) : 1;
            return gen_contains_counted(g, s, kw(s, "items"), contains, k < 0 ? 0 : k, num_to_long(floor(mx->valuedouble)));
        }
        if (!(cJSON_IsNumber(mc) && mc->valuedouble <= 0)) return gen_contains(g, s, kw(s, "items"), contains);
    }
    const cJSON *prefix = kw(s, "prefixItems"), *rest = kw(s, "items");
    const char *rest_kw = "items", *pre_kw = "prefixItems";
    if (cJSON_IsArray(rest)) {  /* draft-04..2019 tuple form */
        prefix = rest;
        pre_kw = "items";
        rest = kw(s, "additionalItems");
        rest_kw = "additionalItems";
    }
    if (!rest) rest = kw(s, "unevaluatedItems"), rest_kw = "unevaluatedItems";
    const cJSON *mn = kw(s, "minItems"), *mx = kw(s, "maxItems");
    long lo = cJSON_IsNumber(mn) ? num_to_long(ceil(mn->valuedouble)) : 0, hi = cJSON_IsNumber(mx) ? num_to_long(floor(mx->valuedouble)) : -1;
    int k = cJSON_IsArray(prefix) ? cJSON_GetArraySize(prefix) : 0;
    int rest_ok = !cJSON_IsFalse(rest);
    if (!rest_ok && (hi < 0 || hi > k)) hi = k;
    for (int i = 0; i < k; i++)  /* a false prefix item ends the array before it */
        if (cJSON_IsFalse(cJSON_GetArrayItem(prefix, i)) && (hi < 0 || hi > i)) hi = i;
    if (hi >= 0 && lo > hi) return gempty(g, "schema at %s: no array length satisfies minItems/maxItems and the items", gpath(g));
    if (lo > MAX_REPEAT || hi > MAX_REPEAT) {
        if (unsupported(g, lo > MAX_REPEAT ? "minItems" : "maxItems", "counts above 1000")) return NULL;
        if (lo > MAX_REPEAT) lo = 0;
        if (hi > MAX_REPEAT) hi = -1;
    }
    int kk = (hi >= 0 && hi < k) ? (int)hi : k;
    char **pr = calloc((size_t)kk + 1, sizeof *pr);
    if (!pr) return gfail(g, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < kk && !g->rc; i++) {
        char seg[64];
        snprintf(seg, sizeof seg, "%s/%d", pre_kw, i);
        pr[i] = gen_child(g, cJSON_GetArrayItem(prefix, i), seg);
    }
    char *rr = NULL;
    if (!g->rc && rest_ok && (hi < 0 || hi > kk)) rr = rest ? gen_child(g, rest, rest_kw) : any_value(g);
    sbuf b = {0};
    if (!g->rc) {
        char sep[64];
        snprintf(sep, sizeof sep, "%s\",\"%s", ws(g), ws(g));
        /* the tail after the prefix: rest items, count in [max(0, lo - kk), hi - kk] */
        sbuf tail = {0};
        if (rr) {
            long tlo = lo > kk ? lo - kk : 0, thi = hi >= 0 ? hi - kk : -1;
            if (kk == 0) {  /* the first item has no separator */
                if (thi < 0) sb_addf(&tail, "%s (%s %s){%ld,}", rr, sep, rr, tlo > 0 ? tlo - 1 : 0);
                else sb_addf(&tail, "%s (%s %s){%ld,%ld}", rr, sep, rr, tlo > 0 ? tlo - 1 : 0, thi - 1);
            } else if (thi < 0) sb_addf(&tail, "(%s %s){%ld,}", sep, rr, tlo);
            else sb_addf(&tail, "(%s %s){%ld,%ld}", sep, rr, tlo, thi);
        }
        char *t = sb_take(&tail);
        /* E_i = P_i (sep E_{i+1})? from the end; the last prefix item is followed by the tail */
        char *e = t;
        for (int i = kk - 1; i >= 0 && e; i--) {
            char *n;
            if (i == kk - 1) n = dupf("%s %s", pr[i], e);
            else n = dupf("%s (%s %s)%s", pr[i], sep, e, i + 1 >= lo ? "?" : "");
            free(e);
            e = n;
        }
        int empty_ok = lo == 0 && (kk > 0 || rr);
        if (e && (kk > 0 || rr)) {
            sb_addf(&b, "\"[\"%s(%s)%s%s\"]\"", ws(g), e, empty_ok ? "?" : "", ws(g));
        } else sb_addf(&b, "\"[\"%s\"]\"", ws(g));
        free(e);
    }
    for (int i = 0; i < kk; i++) free(pr[i]);
    free(pr);
    free(rr);
    if (g->rc) {
        free(b.p);
        return NULL;
    }
    return sb_take(&b);
}

/* The JSON text of string contents as this compiler writes it (canonical escapes); malloc'd. */
static char *json_text_body(const char *s) {
    sbuf b = {0};
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        static const char *const short_esc[32] = {[8] = "b", [9] = "t", [10] = "n", [12] = "f", [13] = "r"};
        if (c == '"') sb_add(&b, "\\\"");
        else if (c == '\\') sb_add(&b, "\\\\");
        else if (c < 0x20 && short_esc[c]) sb_addf(&b, "\\%s", short_esc[c]);
        else if (c < 0x20) sb_addf(&b, "\\u%04x", c);
        else sb_put(&b, (const char *)&c, 1);
    }
    return sb_take(&b);
}

enum { K_TEXT = 0, K_AFTER_BS = 1, K_HEX1 = 2 /* .. K_HEX1 + 3: hex digits left 1..4 */ };

/* A rule for the JSON text of a key (between the quotes) that differs from every one of the n
 * texts (canonical escaped forms). state says where in an escape sequence the texts are. */
static char *not_in_texts(gen *g, const char *const *texts, int n, int state, int depth) {
    g->used |= U_CHAR;
    if (n == 0 || depth > 400) {
        static const char *const rest[] = {"char*", "([\\x22\\x5C/bfnrt] | \"u\" [0-9a-fA-F]{4}) char*"};
        if (state >= K_HEX1) return dupf("[0-9a-fA-F]{%d} char*", state - K_HEX1 + 1);
        return strdup(rest[state]);
    }
    int empty = 0, nf = 0;
    uint32_t firsts[256];
    for (int i = 0; i < n; i++) {
        if (!*texts[i]) {
            empty = 1;
            continue;
        }
        uint32_t cp;
        utf8_decode((const unsigned char *)texts[i], &cp);
        int seen = 0;
        for (int j = 0; j < nf; j++) seen |= firsts[j] == cp;
        if (!seen && nf < 256) firsts[nf++] = cp;
    }
    int has_bs = 0, has_u = 0;
    for (int j = 0; j < nf; j++) has_bs |= firsts[j] == '\\', has_u |= firsts[j] == 'u';
    sbuf b = {0};
    if (state == K_TEXT) {  /* end here, or a character no text has here, or an escape if none has one */
        sb_addf(&b, "%s[^\\x00-\\x1F\\x22\\x5C", empty ? "" : "\"\" | ");
        for (int j = 0; j < nf; j++) put_cp(&b, firsts[j]);
        sb_add(&b, "] char*");
        if (!has_bs) sb_add(&b, " | \"\\x5C\" ([\\x22\\x5C/bfnrt] | \"u\" [0-9a-fA-F]{4}) char*");
    } else if (state == K_AFTER_BS) {
        const char *esc = "\"\\/bfnrt";
        int any = 0;
        for (const char *e = esc; *e; e++) {
            int taken = 0;
            for (int j = 0; j < nf; j++) taken |= firsts[j] == (uint32_t)*e;
            if (!taken) sb_addf(&b, "%s\"\\x%02X\" char*", any++ ? " | " : "", (unsigned char)*e);
        }
        if (!has_u) sb_addf(&b, "%s\"u\" [0-9a-fA-F]{4} char*", any++ ? " | " : "");
        if (!any) sb_add(&b, "[^\\x00-\\U0010FFFF]");
    } else {
        int left = state - K_HEX1 + 1;
        sb_add(&b, "[^\\x00-/:-@G-`g-\\U0010FFFF");  /* a hex digit other than the texts' */
        for (int j = 0; j < nf; j++) put_cp(&b, firsts[j]);
        sb_addf(&b, "] [0-9a-fA-F]{%d} char*", left - 1);
    }
    for (int j = 0; j < nf && !g->rc; j++) {
        const char *sub[256];
        int ns = 0;
        char lit[8] = "";
        for (int i = 0; i < n; i++) {
            if (!*texts[i]) continue;
            uint32_t cp;
            int l = utf8_decode((const unsigned char *)texts[i], &cp);
            if (cp != firsts[j]) continue;
            if (ns < 256) sub[ns++] = texts[i] + l;
            memcpy(lit, texts[i], (size_t)l), lit[l] = 0;
        }
        int next = state == K_TEXT ? (firsts[j] == '\\' ? K_AFTER_BS : K_TEXT)
                 : state == K_AFTER_BS ? (firsts[j] == 'u' ? K_HEX1 + 3 : K_TEXT)
                 : state == K_HEX1 ? K_TEXT : state - 1;
        char *r = not_in_texts(g, sub, ns, next, depth + 1);
        if (!r) break;
        sb_add(&b, " | \"");
        lit_bytes(&b, lit, strlen(lit));
        sb_addf(&b, "\" %s", r);
        free(r);
    }
    char *body = sb_take(&b);
    return g->rc ? (free(body), NULL) : add_rule(g, body);
}

/* A rule for the JSON text of a key that is none of names. */
static char *not_in_names(gen *g, const char *const *names, int n) {
    char **texts = calloc((size_t)n + 1, sizeof *texts);
    if (!texts) return gfail(g, SMOL_ENOMEM, "out of memory");
    int ok = 1;
    for (int i = 0; i < n; i++) ok &= (texts[i] = json_text_body(names[i])) != NULL;
    char *r = ok ? not_in_texts(g, (const char *const *)texts, n, K_TEXT, 0) : gfail(g, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    return r;
}

/* ---------------------------------------------------------------- keys through automata */

#define KEY_DFAS 24        /* automata in one product at most: patterns, names, propertyNames */
#define KEY_STATES 3000    /* product states at most */
#define KEY_CLASSES 64     /* distinct sets of matching patterns at most */

typedef struct kedge {
    int to;
    uint32_t lo, hi;
} kedge;

/* The product of the key automata: d[0..n_pat) patterns (search), then the listed names, then
 * propertyNames' parts; a key's signature says which patterns match, whether it is a listed
 * name and whether propertyNames accepts it. */
typedef struct keyprod {
    smol_rx_dfa *d[KEY_DFAS];
    int role[KEY_DFAS];    /* ROLE_* or a bit: 0-15 pattern i, 16-23 covered by entry j of K_ADDL */
    int n, n_pat;
    int *tup;              /* n ints per product state */
    int n_st;
    unsigned *sig;
    kedge *e;
    int *e0, *ne;
    size_t n_e, cap_e;
    int *hash;
    size_t hcap;
} keyprod;

enum { SIG_NAME = 1u << 30, SIG_PN = 1u << 29, ROLE_NAME = 30, ROLE_PN = 29, SIG_ENTRIES = 0xFF0000u };

/* A regex matching exactly the strings strs[0..n) (code points escaped). */
static char *literal_regex(const char *const *strs, int n) {
    sbuf b = {0};
    sb_add(&b, "^(?:");
    for (int i = 0; i < n; i++) {
        if (i) sb_add(&b, "|");
        for (const char *p = strs[i]; *p;) {
            uint32_t cp;
            p += utf8_decode((const unsigned char *)p, &cp);
            if (cp < 0x80 && isalnum((int)cp)) sb_addf(&b, "%c", (char)cp);
            else sb_addf(&b, "\\u{%X}", cp);
        }
    }
    sb_add(&b, ")$");
    return sb_take(&b);
}

/* Adds the automaton of re to k (search: JSON Schema's pattern semantics); on error an
 * unsupported keyword kw (or the error itself). */
static int key_dfa(gen *g, keyprod *k, char *re, int search, const char *kwd, int role) {
    if (!re) return gfail(g, SMOL_ENOMEM, "out of memory"), -1;
    if (k->n == KEY_DFAS) return free(re), unsupported(g, kwd, "more than 24 patterns and name lists on one object") ? -1 : 1;
    smol_error e;
    int rc = smol_rx_dfa_new(re, search, &k->d[k->n], &e);
    free(re);
    if (rc == SMOL_ENOMEM) return gfail(g, rc, "%s", e.msg), -1;
    if (rc) return unsupported(g, kwd, e.msg) ? -1 : 1;
    k->role[k->n++] = role;
    return 0;
}

static size_t tup_hash(const int *t, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)(uint32_t)t[i]) * 1099511628211ull;
    return (size_t)h;
}

/* The product state of tuple t (added when new); -1 past KEY_STATES. */
static int kp_state(gen *g, keyprod *k, const int *t) {
    size_t h = tup_hash(t, k->n) & (k->hcap - 1);
    for (; k->hash[h]; h = (h + 1) & (k->hcap - 1))
        if (memcmp(k->tup + (size_t)(k->hash[h] - 1) * k->n, t, (size_t)k->n * sizeof *t) == 0) return k->hash[h] - 1;
    if (k->n_st == KEY_STATES) return unsupported(g, "patternProperties", "the keys' automaton needs more than 3000 states"), -1;
    int id = k->n_st++;
    memcpy(k->tup + (size_t)id * k->n, t, (size_t)k->n * sizeof *t);
    unsigned sig = SIG_PN;
    for (int i = 0; i < k->n; i++) {
        int acc = t[i] >= 0 && smol_rx_dfa_accepts(k->d[i], t[i]);
        if (k->role[i] == ROLE_PN) {
            if (!acc) sig &= ~(unsigned)SIG_PN;
        } else sig |= (unsigned)acc << k->role[i];
    }
    k->sig[id] = sig;
    k->hash[h] = id + 1;
    return id;
}

static int cmp_u32_(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* Builds every product state reachable from the start, over the code points a JSON string can
 * hold (no surrogates). 0, or -1 with the error set. */
static int kp_build(gen *g, keyprod *k) {
    k->hcap = 2 * KEY_STATES > 4096 ? 8192 : 4096;
    k->tup = malloc((size_t)KEY_STATES * (size_t)(k->n ? k->n : 1) * sizeof *k->tup);
    k->sig = malloc(KEY_STATES * sizeof *k->sig);
    k->e0 = malloc(KEY_STATES * sizeof *k->e0), k->ne = malloc(KEY_STATES * sizeof *k->ne);
    k->hash = calloc(k->hcap, sizeof *k->hash);
    int *t = malloc((size_t)(k->n + 1) * sizeof *t);
    size_t ncap = 4;
    for (int i = 0; i < k->n; i++)
        for (int s = 0; s < smol_rx_dfa_n_states(k->d[i]); s++) {
            const smol_rx_edge *e;
            ncap += 2 * (size_t)smol_rx_dfa_edges(k->d[i], s, &e);
        }
    uint32_t *cuts = malloc(ncap * sizeof *cuts);
    if (!k->tup || !k->sig || !k->e0 || !k->ne || !k->hash || !t || !cuts) {
        free(t), free(cuts);
        return gfail(g, SMOL_ENOMEM, "out of memory"), -1;
    }
    for (int i = 0; i < k->n; i++) t[i] = 0;
    int rc = kp_state(g, k, t) < 0 ? -1 : 0;
    for (int id = 0; id < k->n_st && !rc; id++) {
        size_t nc = 0;
        cuts[nc++] = 0, cuts[nc++] = 0xD800, cuts[nc++] = 0xE000;
        for (int i = 0; i < k->n; i++) {
            int st = k->tup[(size_t)id * k->n + i];
            const smol_rx_edge *e;
            int ne = st >= 0 ? smol_rx_dfa_edges(k->d[i], st, &e) : 0;
            for (int j = 0; j < ne; j++) {
                cuts[nc++] = e[j].lo;
                if (e[j].hi < 0x10FFFF) cuts[nc++] = e[j].hi + 1;
            }
        }
        qsort(cuts, nc, sizeof *cuts, cmp_u32_);
        k->e0[id] = (int)k->n_e;
        for (size_t c = 0; c < nc && !rc; c++) {
            if ((c && cuts[c] == cuts[c - 1]) || cuts[c] == 0xD800) continue;
            uint32_t lo = cuts[c], hi = 0x10FFFF;
            for (size_t c2 = c + 1; c2 < nc; c2++)
                if (cuts[c2] != lo) {
                    hi = cuts[c2] - 1;
                    break;
                }
            for (int i = 0; i < k->n; i++) t[i] = smol_rx_dfa_step(k->d[i], k->tup[(size_t)id * k->n + i], lo);
            int to = kp_state(g, k, t);
            if (to < 0) {
                rc = -1;
                break;
            }
            if (k->n_e > (size_t)k->e0[id] && k->e[k->n_e - 1].to == to && k->e[k->n_e - 1].hi + 1 == lo) {
                k->e[k->n_e - 1].hi = hi;
                continue;
            }
            if (k->n_e == k->cap_e) {
                size_t nc2 = k->cap_e ? k->cap_e * 2 : 256;
                kedge *q = realloc(k->e, nc2 * sizeof *q);
                if (!q) {
                    rc = -1, gfail(g, SMOL_ENOMEM, "out of memory");
                    break;
                }
                k->e = q, k->cap_e = nc2;
            }
            k->e[k->n_e++] = (kedge){to, lo, hi};
        }
        k->ne[id] = (int)k->n_e - k->e0[id];
    }
    free(t), free(cuts);
    return rc;
}

static void kp_free(keyprod *k) {
    for (int i = 0; i < k->n; i++) smol_rx_dfa_free(k->d[i]);
    free(k->tup), free(k->sig), free(k->e), free(k->e0), free(k->ne), free(k->hash);
}

/* Appends the JSON text of one character in the ranges e[i].lo..hi with e[i].to == to (no
 * surrogates): one class for the raw ones; '"', '\' and control characters escaped (short
 * escapes and \u00XX in either case), '/' also as \/. Every character: the shared char rule. */
static void json_chars(gen *g, sbuf *b, const kedge *e, int n, int to) {
    uint32_t covered = 0;
    for (int i = 0; i < n; i++)
        if (e[i].to == to) covered += e[i].hi - e[i].lo + 1;
    if (covered == 0x110000 - 0x800) {
        g->used |= U_CHAR;
        sb_add(b, "char");
        return;
    }
    int any = 0, raw = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].to != to) continue;
        uint32_t lo = e[i].lo, hi = e[i].hi;
        uint32_t cuts[3][2] = {{lo > 0x20 ? lo : 0x20, hi < 0x21 ? hi : 0x21}, {lo > 0x23 ? lo : 0x23, hi < 0x5B ? hi : 0x5B},
                               {lo > 0x5D ? lo : 0x5D, hi}};
        for (int c = 0; c < 3; c++) {
            if (cuts[c][0] > cuts[c][1]) continue;
            sb_add(b, raw++ ? "" : "[");
            put_cp(b, cuts[c][0]);
            if (cuts[c][1] != cuts[c][0]) sb_add(b, "-"), put_cp(b, cuts[c][1]);
        }
    }
    if (raw) sb_add(b, "]"), any = 1;
    uint32_t ctl = 0;   /* control characters, '"', '\' and '/' in the ranges */
    int quote = 0, bs = 0, slash = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].to != to) continue;
        for (uint32_t c = e[i].lo; c <= e[i].hi && c < 0x20; c++) ctl |= 1u << c;
        quote |= e[i].lo <= '"' && '"' <= e[i].hi, bs |= e[i].lo <= '\\' && '\\' <= e[i].hi;
        slash |= e[i].lo <= '/' && '/' <= e[i].hi;
    }
    static const char short_esc[32] = {[8] = 'b', [9] = 't', [10] = 'n', [12] = 'f', [13] = 'r'};
    if (quote || bs || slash || ctl == 0xFFFFFFFFu) {   /* one-letter escapes */
        sb_addf(b, "%s\"\\x5C\" [%s%s%s%s]", any++ ? " | " : "", quote ? "\\x22" : "", bs ? "\\x5C" : "", slash ? "/" : "",
                ctl == 0xFFFFFFFFu ? "bfnrt" : "");
    }
    if (ctl == 0xFFFFFFFFu) {
        sb_addf(b, " | \"\\x5Cu00\" [01] [0-9a-fA-F]");
        return;
    }
    for (uint32_t c = 0; c < 0x20; c++) {
        if (!(ctl >> c & 1)) continue;
        if (short_esc[c]) sb_addf(b, "%s\"\\x5C%c\"", any++ ? " | " : "", short_esc[c]);
        const char *hex = "0123456789abcdef";
        char l = hex[c & 15], u = (char)toupper(l);
        if (l == u) sb_addf(b, "%s\"\\x5Cu00%u%c\"", any++ ? " | " : "", c >> 4, l);
        else sb_addf(b, "%s\"\\x5Cu00%u\" [%c%c]", any++ ? " | " : "", c >> 4, l, u);
    }
}

/* Rules for the JSON text of the keys whose signature is sig (under mask): one rule per product
 * state from which such a key can still be completed; returns the start rule, or NULL (no error)
 * when no key has that signature. */
static char *kp_rules(gen *g, const keyprod *k, unsigned mask, unsigned sig) {
    unsigned char *live = calloc((size_t)k->n_st, 1);
    if (!live) return gfail(g, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < k->n_st; i++) live[i] = (k->sig[i] & mask) == sig;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < k->n_st; i++)
            for (int j = 0; j < k->ne[i] && !live[i]; j++)
                if (live[k->e[k->e0[i] + j].to]) live[i] = 1, changed = 1;
    }
    if (!live[0]) {
        free(live);
        return NULL;
    }
    int base = g->n_rules + 1;
    g->n_rules += k->n_st;
    for (int i = 0; i < k->n_st; i++) {
        if (!live[i]) continue;
        sb_addf(&g->rules, "r%d ::= ", base + i);
        int alts = 0;
        if ((k->sig[i] & mask) == sig) sb_add(&g->rules, "\"\""), alts++;
        const kedge *e = k->e + k->e0[i];
        for (int j = 0; j < k->ne[i]; j++) {   /* the edges to each live target, grouped */
            int to = e[j].to, first = 1;
            if (!live[to]) continue;
            for (int q = 0; q < j && first; q++) first = e[q].to != to;
            if (!first) continue;
            sb_addf(&g->rules, "%s(", alts++ ? " | " : "");
            json_chars(g, &g->rules, e, k->ne[i], to);
            sb_addf(&g->rules, ") r%d", base + to);
        }
        sb_add(&g->rules, "\n");
    }
    free(live);
    return dupf("r%d", base);
}

/* propertyNames as automata (pattern, minLength/maxLength, const/enum); 1 if pn accepts no
 * key at all (false, or a type without strings). */
static int pn_dfas(gen *g, keyprod *k, const cJSON *pn) {
    if (cJSON_IsFalse(pn)) return 1;
    if (!cJSON_IsObject(pn)) return 0;
    static const char *const ok[] = {"pattern", "minLength", "maxLength", "const", "enum", "type", "$comment",
                                     "title", "description", "examples", "default", "$schema", "$id", NULL};
    for (const cJSON *x = pn->child; x; x = x->next)
        if (!in_set(ok, x->string)) {
            char why[200];
            snprintf(why, sizeof why, "'%s' on keys (only pattern, minLength, maxLength, const and enum)", x->string);
            return unsupported(g, "propertyNames", why) ? -1 : 0;
        }
    if (kw(pn, "type") && !(types_of(pn) & T_STRING)) return 1;
    const cJSON *pat = kw(pn, "pattern"), *mn = kw(pn, "minLength"), *mx = kw(pn, "maxLength");
    if (cJSON_IsString(pat) && key_dfa(g, k, strdup(pat->valuestring), 1, "propertyNames", ROLE_PN) < 0) return -1;
    if (cJSON_IsNumber(mn) || cJSON_IsNumber(mx)) {
        long lo = cJSON_IsNumber(mn) ? num_to_long(ceil(mn->valuedouble)) : 0;
        long hi = cJSON_IsNumber(mx) ? num_to_long(floor(mx->valuedouble)) : -1;
        if (lo > MAX_REPEAT || hi > MAX_REPEAT)
            return unsupported(g, "propertyNames", "key lengths above 1000") ? -1 : 0;
        if (hi >= 0 && hi < lo) return 1;
        char re[64];
        if (hi < 0) snprintf(re, sizeof re, "^[\\s\\S]{%ld,}$", lo);
        else snprintf(re, sizeof re, "^[\\s\\S]{%ld,%ld}$", lo, hi);
        if (key_dfa(g, k, strdup(re), 0, "propertyNames", ROLE_PN) < 0) return -1;
    }
    for (int which = 0; which < 2; which++) {   /* const, then enum: each its own automaton */
        const cJSON *c = kw(pn, which ? "enum" : "const");
        if (!c) continue;
        const char *strs[256];
        int n = 0;
        if (!which && cJSON_IsString(c)) strs[n++] = c->valuestring;
        for (const cJSON *v = which && cJSON_IsArray(c) ? c->child : NULL; v && n < 256; v = v->next)
            if (cJSON_IsString(v)) strs[n++] = v->valuestring;
        if (!n) return 1;
        if (key_dfa(g, k, literal_regex(strs, n), 0, "propertyNames", ROLE_PN) < 0) return -1;
    }
    return 0;
}

/* Extra members through the key automata, appended to e as alternatives: for each set S of
 * patterns that some key (not a listed name, accepted by propertyNames) matches exactly, those
 * keys with a value of allOf(S's schemas); with S empty, additionalProperties (when allowed);
 * and the schema of every K_ADDL entry whose names and patterns the key is outside of. */
static int extras_by_automata(gen *g, sbuf *e, const cJSON *pp, const cJSON *addl, int addl_ok, const cJSON *pn,
                              const char *const *names, int n_names, const cJSON *ents, const char *colon) {
    keyprod k = {0};
    const cJSON *pat[16], *ent[8];
    int rc = 0, n_pp = cJSON_IsObject(pp) ? cJSON_GetArraySize(pp) : 0, n_ent = 0;
    if (n_pp > 16 && unsupported(g, "patternProperties", "more than 16 patterns")) return -1;
    for (const cJSON *x = n_pp ? pp->child : NULL; x && k.n < 16 && !rc; x = x->next) {
        int r = key_dfa(g, &k, strdup(x->string), 1, "patternProperties", k.n_pat);
        if (r < 0) rc = -1;
        else if (r == 0) pat[k.n_pat++] = x;
    }
    if (!rc && n_names && key_dfa(g, &k, literal_regex(names, n_names), 0, "properties", ROLE_NAME) < 0) rc = -1;
    for (const cJSON *x = ents ? ents->child : NULL; x && !rc; x = x->next) {   /* additionalProperties of merged parts */
        if (n_ent == 8) {
            rc = unsupported(g, "additionalProperties", "more than 8 allOf members with their own additional properties") ? -1 : 0;
            break;
        }
        const cJSON *nm = kw(x, "names"), *ps = kw(x, "patterns");
        const char *ns[256];
        int nn = 0;
        for (const cJSON *y = cJSON_IsArray(nm) ? nm->child : NULL; y && nn < 256; y = y->next) ns[nn++] = y->valuestring;
        if (nn && key_dfa(g, &k, literal_regex(ns, nn), 0, "additionalProperties", 16 + n_ent) < 0) rc = -1;
        for (const cJSON *y = cJSON_IsArray(ps) ? ps->child : NULL; y && !rc; y = y->next)
            if (key_dfa(g, &k, strdup(y->valuestring), 1, "patternProperties", 16 + n_ent) < 0) rc = -1;
        ent[n_ent++] = kw(x, "schema");
    }
    int none = rc ? 0 : pn ? pn_dfas(g, &k, pn) : 0;
    if (none < 0) rc = -1;
    if (!rc && !none && kp_build(g, &k)) rc = -1;
    unsigned classes[KEY_CLASSES], cmask = ((1u << k.n_pat) - 1) | SIG_ENTRIES;
    int n_cl = 0;
    for (int i = 0; !rc && !none && i < k.n_st; i++) {
        if ((k.sig[i] & (SIG_NAME | SIG_PN)) != SIG_PN) continue;
        unsigned s = k.sig[i] & cmask;
        int seen = 0;
        for (int j = 0; j < n_cl; j++) seen |= classes[j] == s;
        if (seen) continue;
        if (n_cl == KEY_CLASSES) {
            rc = unsupported(g, "patternProperties", "keys match more than 64 different sets of patterns") ? -1 : 0;
            break;
        }
        classes[n_cl++] = s;
    }
    int first = e->n == 0;
    for (int c = 0; c < n_cl && !rc; c++) {
        unsigned pats = classes[c] & ((1u << k.n_pat) - 1);
        if (!pats && !addl_ok) continue;
        cJSON *all = keep(g, cJSON_CreateObject()), *l = cJSON_AddArrayToObject(all, "allOf");
        char seg[600] = "additionalProperties";
        for (int i = 0; i < k.n_pat; i++)
            if (pats >> i & 1) {
                if (!cJSON_GetArraySize(l)) snprintf(seg, sizeof seg, "patternProperties/%.500s", pat[i]->string);
                cJSON_AddItemToArray(l, cJSON_Duplicate(pat[i], 1));
            }
        if (!pats && addl) cJSON_AddItemToArray(l, cJSON_Duplicate(addl, 1));
        for (int j = 0; j < n_ent; j++)
            if (!(classes[c] >> (16 + j) & 1) && ent[j]) cJSON_AddItemToArray(l, cJSON_Duplicate(ent[j], 1));
        const cJSON *vs = cJSON_GetArraySize(l) == 1 ? l->child : cJSON_GetArraySize(l) ? all : keep(g, cJSON_CreateTrue());
        snap sn = take_snap(g);
        char *v = gen_child(g, vs, seg);
        if (!v) {
            if (drop_empty(g, sn)) continue;
            rc = -1;
            break;
        }
        char *key = kp_rules(g, &k, SIG_NAME | SIG_PN | cmask, SIG_PN | classes[c]);
        if (key) sb_addf(e, "%s\"\\\"\" %s \"\\\"\"%s%s", first ? "" : " | ", key, colon, v), first = 0;
        free(key);
        free(v);
        if (g->rc) rc = -1;
    }
    kp_free(&k);
    return rc;
}

/* 1 if the JSON Schema regex re matches (searches) str; -1 when it cannot be evaluated. */
static int pattern_ok(const char *re, const char *str) {
    cJSON *v = cJSON_CreateString(str), *ps = cJSON_CreateObject();
    cJSON_AddStringToObject(ps, "pattern", re);
    int hit = value_ok(ps, v);
    cJSON_Delete(v);
    cJSON_Delete(ps);
    return hit;
}

/* The schema of listed property name once the K_ADDL entries that do not cover it apply. */
static const cJSON *with_entries(gen *g, const cJSON *sch, const char *name, const cJSON *ents) {
    for (const cJSON *x = ents ? ents->child : NULL; x; x = x->next) {
        int covered = 0;
        for (const cJSON *y = kw(x, "names") ? kw(x, "names")->child : NULL; y && !covered; y = y->next)
            covered = cJSON_IsString(y) && strcmp(y->valuestring, name) == 0;
        for (const cJSON *y = kw(x, "patterns") ? kw(x, "patterns")->child : NULL; y && !covered; y = y->next)
            covered = cJSON_IsString(y) && pattern_ok(y->valuestring, name) == 1;
        if (!covered && kw(x, "schema")) sch = keep(g, all_of2(sch, kw(x, "schema")));
    }
    return sch;
}

/* 1 if string str is valid against schema sub (a fresh validator; unresolvable parts: -1). */
static int value_ok(const cJSON *sub, const cJSON *value) {
    smol_jschema *v;
    if (smol_jschema_from_cjson(sub, 0, &v, NULL)) return -1;
    int rc = smol_jschema_validate(v, value, NULL, 0, NULL);
    smol_jschema_free(v);
    return rc;
}

typedef struct member {
    const char *name;
    const cJSON *schema;
    int required;
} member;

/* s with its K_NEPROPS moved into properties: a name that s lists takes both schemas; another
 * takes its own with what s applies to an unlisted name (its patterns, else additionalProperties
 * or unevaluatedProperties), since nothing evaluates it. */
static const cJSON *place_neprops(gen *g, const cJSON *s) {
    const cJSON *ne = kw(s, K_NEPROPS);
    if (!ne) return s;
    cJSON *o = keep(g, cJSON_Duplicate(s, 1));
    cJSON_DeleteItemFromObjectCaseSensitive(o, K_NEPROPS);
    cJSON *props = cJSON_GetObjectItemCaseSensitive(o, "properties");
    if (!props) props = cJSON_AddObjectToObject(o, "properties");
    const cJSON *pp = kw(s, "patternProperties"), *addl = kw(s, "additionalProperties");
    if (!addl) addl = kw(s, "unevaluatedProperties");
    for (const cJSON *p = ne->child; p; p = p->next) {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(props, p->string);
        if (q) {
            replace(props, p->string, all_of2(q, p));
            continue;
        }
        int hit = 0;   /* matching patterns are applied to listed names by gen_object */
        for (const cJSON *x = cJSON_IsObject(pp) ? pp->child : NULL; x && !hit; x = x->next) hit = pattern_ok(x->string, p->string) == 1;
        cJSON_AddItemToObject(props, p->string, hit || !addl ? cJSON_Duplicate(p, 1) : all_of2(p, addl));
    }
    return o;
}

/* s with its K_NEPREFIX moved into prefixItems: a position s's prefix has takes both schemas;
 * a later one takes its own with what s applies there (items, else unevaluatedItems). */
static const cJSON *place_neprefix(gen *g, const cJSON *s) {
    const cJSON *ne = kw(s, K_NEPREFIX);
    if (!ne) return s;
    if (!tuple_form(s)) return unsupported(g, "items", "an array of items beside a negation with prefixItems") ? NULL : s;
    cJSON *o = keep(g, cJSON_Duplicate(s, 1));
    cJSON_DeleteItemFromObjectCaseSensitive(o, K_NEPREFIX);
    cJSON *pre = cJSON_GetObjectItemCaseSensitive(o, "prefixItems");
    if (!pre) pre = cJSON_AddArrayToObject(o, "prefixItems");
    const cJSON *rest = kw(s, "items");
    if (!rest) rest = kw(s, "unevaluatedItems");
    int n = cJSON_GetArraySize(ne);
    while (cJSON_GetArraySize(pre) < n) cJSON_AddItemToArray(pre, rest ? cJSON_Duplicate(rest, 1) : cJSON_CreateTrue());
    for (int i = 0; i < n; i++) cJSON_ReplaceItemInArray(pre, i, all_of2(cJSON_GetArrayItem(pre, i), cJSON_GetArrayItem(ne, i)));
    return o;
}

/* The members of an object in any order (SMOL_SCHEMA_ANY_ORDER): kv[0..n) the listed members
 * (m[i].required marks the required ones), extra the rule of one other member (NULL: none).
 * Rule A_S, for the set S of listed members written so far (at least one member written): a
 * listed member i outside S then A_{S+i}, another member then A_S, or the end when S holds
 * every required one. Flat alternatives of short rule names (no groups: the engine makes a rule
 * of each; the grammar text is short, its parsing cost grows faster than the text). Returns the
 * rule for the whole member list (no member written yet). */
static char *any_order_members(gen *g, char *const *kv, const member *m, int n, const char *extra, const char *sep) {
    unsigned full = (1u << n) - 1, req = 0;
    for (int i = 0; i < n; i++) req |= m[i].required ? 1u << i : 0;
    char **a = calloc((size_t)full + 1, sizeof *a), **kr = calloc((size_t)n + 1, sizeof *kr);
    char **ck = calloc((size_t)n + 1, sizeof *ck), *ce = extra ? add_rule(g, dupf("%s %s", sep, extra)) : NULL;
    if (!a || !kr || !ck || (extra && !ce)) gfail(g, SMOL_ENOMEM, "out of memory");
    for (int i = 0; i < n && !g->rc; i++) {   /* kr: member i; ck: a comma and member i */
        kr[i] = add_rule(g, strdup(kv[i]));
        ck[i] = kr[i] ? add_rule(g, dupf("%s %s", sep, kr[i])) : NULL;
        if (!ck[i]) gfail(g, SMOL_ENOMEM, "out of memory");
    }
    int first = g->n_rules + 1;   /* A_S is rule r{first + full - S}: written from the full set down */
    for (unsigned set = full + 1; set-- > 0 && !g->rc;) {
        sbuf e = {0};
        char self[32];
        snprintf(self, sizeof self, "r%u", (unsigned)first + full - set);
        for (int i = 0; i < n; i++)
            if (!(set >> i & 1)) sb_addf(&e, "%s%s r%u", e.n ? " | " : "", ck[i], (unsigned)first + full - (set | 1u << i));
        if (ce) sb_addf(&e, "%s%s %s", e.n ? " | " : "", ce, self);
        if ((set & req) == req) sb_addf(&e, "%s\"\"", e.n ? " | " : "");
        char *body = sb_take(&e);
        a[set] = add_rule(g, body);
        if (!a[set] || strcmp(a[set], self) != 0) gfail(g, SMOL_ENOMEM, "out of memory");
    }
    sbuf f = {0};
    if (!g->rc) {
        if (extra) sb_addf(&f, "%s %s", extra, a[0]);
        for (int i = 0; i < n; i++) sb_addf(&f, "%s%s %s", f.n ? " | " : "", kr[i], a[1u << i]);
        if (!req) sb_add(&f, " | \"\"");
    }
    for (unsigned set = 0; a && set <= full; set++) free(a[set]);
    for (int i = 0; kr && ck && i < n; i++) free(kr[i]), free(ck[i]);
    free(a), free(kr), free(ck), free(ce);
    if (g->rc) {
        free(f.p);
        return NULL;
    }
    return add_rule(g, sb_take(&f));
}

static char *gen_object(gen *g, const cJSON *s) {
    const cJSON *props = kw(s, "properties"), *req = kw(s, "required"), *pp = kw(s, "patternProperties");
    const cJSON *addl = kw(s, "additionalProperties"), *pn = kw(s, "propertyNames");
    if (!addl) addl = kw(s, "unevaluatedProperties");
    int addl_ok = !cJSON_IsFalse(addl);
    int n_pp = cJSON_IsObject(pp) ? cJSON_GetArraySize(pp) : 0;
    int pn_keys = pn && !cJSON_IsTrue(pn) && !(cJSON_IsObject(pn) && !has_constraints(g, pn, (const char *const[]){NULL}));
    const cJSON *ents = kw(s, K_ADDL);
    int by_automata = (addl_ok || n_pp) && (n_pp || pn_keys || ents);   /* extra keys need regex products */
    int n_props = cJSON_IsObject(props) ? cJSON_GetArraySize(props) : 0, n_req = cJSON_IsArray(req) ? cJSON_GetArraySize(req) : 0;
    sbuf b = {0};
    member *m = calloc((size_t)(n_props + n_req) + 1, sizeof *m);
    const char **names = calloc((size_t)(n_props + n_req) + 1, sizeof *names);
    if (!m || !names) {
        free(m);
        free(names);
        return gfail(g, SMOL_ENOMEM, "out of memory");
    }
    int n = 0, n_required = 0;
    for (const cJSON *p = n_props ? props->child : NULL; p; p = p->next) {
        int r = 0;
        for (const cJSON *q = n_req ? req->child : NULL; q; q = q->next) r |= cJSON_IsString(q) && strcmp(q->valuestring, p->string) == 0;
        m[n++] = (member){p->string, with_entries(g, p, p->string, ents), r};
    }
    for (const cJSON *q = n_req ? req->child : NULL; q; q = q->next) {  /* required but not listed */
        if (!cJSON_IsString(q) || (n_props && cJSON_GetObjectItemCaseSensitive(props, q->valuestring))) continue;
        int dup = 0;
        for (int i = 0; i < n; i++) dup |= strcmp(m[i].name, q->valuestring) == 0;
        if (dup) continue;
        const cJSON *sch = addl;
        int hits = 0;
        for (const cJSON *x = n_pp ? pp->child : NULL; x; x = x->next) {
            cJSON *str = cJSON_CreateString(q->valuestring), *ps = cJSON_CreateObject();
            cJSON_AddStringToObject(ps, "pattern", x->string);
            int hit = value_ok(ps, str) == 1;
            cJSON_Delete(str);
            cJSON_Delete(ps);
            if (hit) sch = hits++ ? keep(g, all_of2(sch, x)) : x;   /* every matching pattern applies */
        }
        if (cJSON_IsFalse(sch) || (!sch && !addl_ok)) {
            free(m);
            free(names);
            return gempty(g, "schema at %s: required property '%s' is not allowed by the schema", gpath(g), q->valuestring);
        }
        m[n++] = (member){q->valuestring, with_entries(g, sch ? sch : keep(g, cJSON_CreateTrue()), q->valuestring, ents), 1};
    }
    int n_names = n;  /* every listed name is kept out of the additional keys, allowed or not */
    for (int i = 0; i < n; i++) names[i] = m[i].name;
    /* propertyNames and pattern overlaps, checked per named property */
    int k = 0;
    for (int i = 0; i < n; i++) {
        cJSON *str = cJSON_CreateString(m[i].name);
        int allowed = !cJSON_IsFalse(m[i].schema) && (!pn || value_ok(pn, str) != 0);
        for (const cJSON *x = n_pp ? pp->child : NULL; x && allowed; x = x->next) {
            cJSON *ps = cJSON_CreateObject();
            cJSON_AddStringToObject(ps, "pattern", x->string);
            if (value_ok(ps, str) == 1 && m[i].schema != x) m[i].schema = keep(g, all_of2(m[i].schema, x));
            cJSON_Delete(ps);
        }
        cJSON_Delete(str);
        if (!allowed && m[i].required) {
            gempty(g, "schema at %s: required property '%s' is not allowed by the schema", gpath(g), m[i].name);
            break;
        }
        if (allowed) m[k++] = m[i];
    }
    n = k;
    for (int i = 0; i < n; i++) n_required += m[i].required;
    const cJSON *mnp = kw(s, "minProperties"), *mxp = kw(s, "maxProperties");
    /* no listed properties: the counts bound the repetition of the other members */
    int counted = n == 0 && (addl_ok || n_pp) && (cJSON_IsNumber(mnp) || cJSON_IsNumber(mxp));
    long cmin = cJSON_IsNumber(mnp) ? num_to_long(ceil(mnp->valuedouble)) : 0, cmax = cJSON_IsNumber(mxp) ? num_to_long(floor(mxp->valuedouble)) : -1;
    if (counted && ((cmax >= 0 && cmin > cmax) || cmin > MAX_REPEAT || cmax > MAX_REPEAT)) {
        if (unsupported(g, "minProperties", "no count (or one above 1000) satisfies minProperties/maxProperties")) goto out;
        counted = 0;
    }
    if (counted) mnp = mxp = NULL;
    if (!g->rc && cJSON_IsNumber(mnp) && mnp->valuedouble > n_required &&
        unsupported(g, "minProperties", "more than the required properties"))
        goto out;
    if (!g->rc && cJSON_IsNumber(mxp) && (mxp->valuedouble < n || addl_ok || n_pp) &&
        unsupported(g, "maxProperties", "fewer than the properties that may appear"))
        goto out;
    if (!g->rc) {
        char sep[64], colon[64];
        snprintf(sep, sizeof sep, "%s\",\"%s", ws(g), ws(g));
        snprintf(colon, sizeof colon, "%s\":\"%s", ws(g), ws(g));
        char **kv = calloc((size_t)n + 1, sizeof *kv);
        char *extra = NULL;
        int kept = 0;
        for (int i = 0; i < n && !g->rc && kv; i++) {
            char seg[600];
            snprintf(seg, sizeof seg, "properties/%.500s", m[i].name);
            snap sn = take_snap(g);
            char *v = gen_child(g, m[i].schema, seg);
            if (!v && !m[i].required && drop_empty(g, sn)) continue;  /* no value fits: the member is absent */
            if (!v) break;
            sbuf e = {0};
            json_string_expr(&e, m[i].name);
            sb_addf(&e, "%s%s", colon, v);
            free(v);
            m[kept] = m[i];
            kv[kept++] = sb_take(&e);
        }
        if (!g->rc) n = kept;
        if (!g->rc && by_automata) {   /* extra members: keys by the sets of patterns they match */
            sbuf e = {0};
            extras_by_automata(g, &e, pp, addl, addl_ok, pn, names, n_names, ents, colon);
            char *t = sb_take(&e);
            if (t && *t && !g->rc) extra = add_rule(g, t);
            else free(t);
        } else if (!g->rc && addl_ok) {   /* extra members: keys other than the listed names */
            sbuf e = {0};
            char *key = not_in_names(g, names, n_names);
            char *v = key ? (addl ? gen_child(g, addl, "additionalProperties") : any_value(g)) : NULL;
            if (v) sb_addf(&e, "\"\\\"\" %s \"\\\"\"%s%s", key, colon, v);
            free(key);
            free(v);
            extra = add_rule(g, sb_take(&e));
        }
        int any_order = (g->o.flags & SMOL_SCHEMA_ANY_ORDER) && !counted && (n > 1 || (n == 1 && extra));
        if (any_order && !g->rc && n > SMOL_SCHEMA_ANY_ORDER_MAX) {
            char why[160];
            snprintf(why, sizeof why, "%d properties in any order (at most %d: one rule per subset)", n, SMOL_SCHEMA_ANY_ORDER_MAX);
            any_order = 0;  /* lenient: the schema's order */
            unsupported(g, "properties", why);
        }
        /* F_i: members from i on, none written yet; N_i: members from i on after one was written */
        char *f_next = NULL, *n_next = NULL;
        if (any_order && !g->rc) {
            f_next = any_order_members(g, kv, m, n, extra, sep);
            n_next = strdup("\"\"");
        } else if (!g->rc) {
            if (extra && counted) {
                n_next = strdup("\"\"");
                if (cmax == 0) f_next = strdup("\"\"");
                else if (cmax < 0) f_next = add_rule(g, dupf("(%s (%s %s){%ld,})%s", extra, sep, extra, cmin > 1 ? cmin - 1 : 0, cmin ? "" : "?"));
                else f_next = add_rule(g, dupf("(%s (%s %s){%ld,%ld})%s", extra, sep, extra, cmin > 1 ? cmin - 1 : 0, cmax - 1, cmin ? "" : "?"));
            } else if (extra) {
                n_next = add_rule(g, dupf("(%s %s)*", sep, extra));
                f_next = add_rule(g, dupf("(%s %s)?", extra, n_next));
            } else {
                n_next = strdup("\"\"");
                f_next = strdup("\"\"");
            }
        }
        for (int i = any_order ? -1 : n - 1; i >= 0 && !g->rc && kv && f_next && n_next; i--) {
            char *ni = add_rule(g, dupf(m[i].required ? "%s %s %s" : "(%s %s)? %s", sep, kv[i], n_next));
            char *fi = m[i].required ? add_rule(g, dupf("%s %s", kv[i], n_next))
                                     : add_rule(g, dupf("%s %s | %s", kv[i], n_next, f_next));
            free(f_next);
            free(n_next);
            f_next = fi;
            n_next = ni;
        }
        if (!g->rc && f_next) sb_addf(&b, "\"{\"%s%s%s\"}\"", ws(g), f_next, ws(g));
        free(f_next);
        free(n_next);
        free(extra);
        for (int i = 0; kv && i < n; i++) free(kv[i]);
        free(kv);
    }
out:
    free(m);
    free(names);
    if (g->rc) {
        free(b.p);
        return NULL;
    }
    return sb_take(&b);
}

/* The rule for the target of a $ref: one rule per target, so recursion terminates. */
static char *ref_rule(gen *g, const char *ref) {
    const cJSON *t = smol_jschema_resolve(g->js, ref);
    if (!t)
        return gfail(g, SMOL_EUNSUPPORTED, "schema at %s: cannot resolve $ref '%s' (only references within the schema are supported)",
                     gpath(g), ref);
    for (int i = 0; i < g->n_memo; i++) {
        if (g->memo[i].node != t) continue;
        if (!g->memo[i].done && g->memo[i].level == g->level)
            return gfail(g, SMOL_EFORMAT, "schema at %s: circular $ref '%s' with no base case", gpath(g), ref);
        return strdup(g->memo[i].name);
    }
    if (g->n_memo == g->cap_memo) {
        int cap = g->cap_memo ? g->cap_memo * 2 : 16;
        memo *q = realloc(g->memo, (size_t)cap * sizeof *q);
        if (!q) return gfail(g, SMOL_ENOMEM, "out of memory");
        g->memo = q;
        g->cap_memo = cap;
    }
    int idx = g->n_memo++;
    g->memo[idx] = (memo){.node = t, .level = g->level};
    snprintf(g->memo[idx].name, sizeof g->memo[idx].name, "d%d", ++g->n_rules);
    char saved[sizeof g->path];
    memcpy(saved, g->path, sizeof saved);
    snprintf(g->path, sizeof g->path, "%s", ref[0] == '#' ? ref + 1 : ref);
    char *body = gen_schema(g, t);
    memcpy(g->path, saved, sizeof saved);
    if (!body) return NULL;
    sb_addf(&g->rules, "%s ::= %s\n", g->memo[idx].name, body);
    free(body);
    g->memo[idx].done = 1;
    return strdup(g->memo[idx].name);
}

/* enum/const: the listed values that also satisfy the rest of s. */
static char *gen_enum(gen *g, const cJSON *s) {
    const cJSON *c = kw(s, "const"), *en = kw(s, "enum");
    cJSON *rest = cJSON_Duplicate(s, 1);
    if (!rest) return gfail(g, SMOL_ENOMEM, "out of memory");
    cJSON_DeleteItemFromObjectCaseSensitive(rest, "const");
    cJSON_DeleteItemFromObjectCaseSensitive(rest, "enum");
    cJSON_DeleteItemFromObjectCaseSensitive(rest, "nullable");
    sbuf b = {0};
    int any = 0;
    sb_add(&b, "(");
    for (const cJSON *e = c ? c : (cJSON_IsArray(en) ? en->child : NULL); e; e = c ? NULL : e->next) {
        int in_enum = 1;
        if (c && cJSON_IsArray(en)) {
            in_enum = 0;
            for (const cJSON *x = en->child; x; x = x->next) in_enum |= smol_json_equal(x, c);
        }
        int ok = in_enum ? value_ok(rest, e) : 0;
        if (ok == 0 && cJSON_IsNull(e) && cJSON_IsTrue(kw(s, "nullable"))) ok = 1;
        if (ok == 0) continue;
        if (any++) sb_add(&b, " | ");
        const_expr(g, &b, e);
    }
    sb_add(&b, ")");
    cJSON_Delete(rest);
    if (!any) {
        free(b.p);
        return gempty(g, "schema at %s: no enum/const value satisfies the schema", gpath(g));
    }
    return sb_take(&b);
}

/* Reads the primitive `not` of s into ex and drops the types it removes from *t; -1 on an error. */
static int excl_read(gen *g, const cJSON *s, unsigned *t, excl *ex) {
    cJSON *list = keep(g, cJSON_CreateArray()), *rest = keep(g, cJSON_Duplicate(s, 1));
    prim_items(list, kw(s, "not"));
    cJSON_DeleteItemFromObjectCaseSensitive(rest, "not");
    for (const cJSON *it = list->child; it; it = it->next) {
        if (kw(it, "type")) {
            ex->no_int = 1;
            continue;
        }
        for (const cJSON *v = kw(it, "enum")->child; v; v = v->next) {
            if (value_ok(rest, v) == 0) continue;
            int astral = 0;
            for (const unsigned char *p = cJSON_IsString(v) ? (const unsigned char *)v->valuestring : NULL; p && *p; p++) astral |= *p >= 0xF0;
            if (cJSON_IsNull(v)) *t &= ~(unsigned)T_NULL;
            else if (cJSON_IsTrue(v)) ex->no_true = 1;
            else if (cJSON_IsFalse(v)) ex->no_false = 1;
            else if (cJSON_IsNumber(v) && ex->n_nums < 64) ex->nums[ex->n_nums++] = v->valuedouble;
            else if (cJSON_IsString(v) && ex->n_strs < 64 && !astral) ex->strs[ex->n_strs++] = v->valuestring;
            else if (unsupported(g, "not", cJSON_IsString(v) && astral ? "excluding a string with characters outside the BMP"
                                           : cJSON_IsString(v) || cJSON_IsNumber(v) ? "excluding more than 64 values of a type"
                                                                                   : "excluding an array or object value"))
                return -1;
        }
    }
    if (ex->no_true && ex->no_false) *t &= ~(unsigned)T_BOOL;
    if (ex->no_int && !(*t & T_NUMBER)) *t &= ~(unsigned)T_INTEGER;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Ends an alternation of n alternatives built in b: NULL after an error, and "schema at PATH:
 * why" (no value can match) when n is 0. */
static char *alts_take(gen *g, sbuf *b, int n, const char *why) {
    if (g->rc || !n) {
        free(b->p);
        return g->rc ? NULL : gempty(g, "schema at %s: %s", gpath(g), why);
    }
    return sb_take(b);
}

/* Numbers (or integers) of s except the excluded values: the range cut at each of them. */
static char *gen_num_except(gen *g, const cJSON *s, int number, const excl *ex) {
    if (!ex->n_nums) return number ? gen_number(g, s, ex->no_int) : gen_integer(g, s);
    double v[64];
    int n = 0;
    for (int i = 0; i < ex->n_nums; i++) {
        double x = ex->nums[i];
        if (fabs(x) >= EXACT_INT || (!number && x != floor(x))) {
            if (unsupported(g, "not", "excluding a number beyond 2^53")) return NULL;
            continue;
        }
        v[n++] = x;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    sbuf b = {0};
    int any = 0;
    static const char *const lows[] = {"minimum", "exclusiveMinimum"}, *const highs[] = {"maximum", "exclusiveMaximum"};
    for (int i = 0; i <= n && !g->rc; i++) {
        if (i > 0 && i < n && v[i] == v[i - 1]) continue;
        cJSON *c = keep(g, cJSON_Duplicate(s, 1));
        for (int k = 0; k < 2; k++) {
            if (i > 0) cJSON_DeleteItemFromObjectCaseSensitive(c, lows[k]);
            if (i < n) cJSON_DeleteItemFromObjectCaseSensitive(c, highs[k]);
        }
        if (i > 0) cJSON_AddNumberToObject(c, "exclusiveMinimum", v[i - 1]);
        if (i < n) cJSON_AddNumberToObject(c, "exclusiveMaximum", v[i]);
        snap sn = take_snap(g);
        char *r = number ? gen_number(g, c, ex->no_int) : gen_integer(g, c);
        if (!r) {
            if (drop_empty(g, sn)) continue;
            break;
        }
        sb_addf(&b, "%s(%s)", any++ ? " | " : "", r);
        free(r);
    }
    return alts_take(g, &b, any, "no number is left once the 'not' values are excluded");
}

/* A schema without allOf, $ref, anyOf or oneOf: the alternation over its types. */
static char *gen_typed(gen *g, const cJSON *s) {
    for (const cJSON *k = s->child; k; k = k->next)
        if (in_set(k_unsupported, k->string) && unsupported(g, k->string, NULL)) return NULL;
    s = place_neprops(g, s);
    if (!(s = place_neprefix(g, s))) return NULL;
    if (kw(s, "const") || kw(s, "enum")) return gen_enum(g, s);
    unsigned t = types_of(s);
    excl ex = {0};
    if (kw(s, "not") && excl_read(g, s, &t, &ex)) return NULL;
    if (!t) return gempty(g, "schema at %s: 'type' allows no value", gpath(g));
    sbuf b = {0};
    int first = 1;
    char *parts[6] = {0};
    if (t & T_NULL) parts[0] = strdup("\"null\"");
    if (t & T_BOOL) parts[1] = strdup(ex.no_true ? "\"false\"" : ex.no_false ? "\"true\"" : "(\"true\" | \"false\")");
    if (t & T_NUMBER) parts[2] = gen_num_except(g, s, 1, &ex);
    else if (t & T_INTEGER) parts[2] = gen_num_except(g, s, 0, &ex);
    if ((t & T_STRING) && !g->rc) parts[3] = gen_string(g, s, &ex);
    if ((t & T_ARRAY) && !g->rc) parts[4] = gen_array(g, s);
    if ((t & T_OBJECT) && !g->rc) parts[5] = gen_object(g, s);
    for (int i = 0; i < 6; i++) {
        if (parts[i] && !g->rc) sb_addf(&b, "%s%s", first ? "" : " | ", parts[i]), first = 0;
        free(parts[i]);
    }
    if (g->rc) {
        free(b.p);
        return NULL;
    }
    return sb_take(&b);
}

/* oneOf whose branches b[0..n) (merged with the siblings; raw[i] as written) may overlap: anyOf
 * over i of allOf(b_i, not raw_j for every j != i), when each negation can be expressed (the
 * siblings hold in every branch, so only the branches' own keywords are negated). */
static char *one_of_by_negation(gen *g, const cJSON *s, const cJSON *sib, const cJSON *const *b, const cJSON *const *raw,
                                int n) {
    const char *why = "branches may match the same value; exclusivity cannot be enforced (use anyOf)";
    if (n > 6 && unsupported(g, "oneOf", "more than 6 branches that may overlap")) return NULL;
    cJSON *m = keep(g, cJSON_Duplicate(sib, 1)), *l = cJSON_AddArrayToObject(m, "anyOf");
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(o, "allOf");
        cJSON_AddItemToArray(l, o);
        cJSON_AddItemToArray(parts, cJSON_Duplicate(b[i], 1));
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            cJSON *nb = n > 6 ? NULL : neg(g, raw[j], 0);
            if (nb) nb = noeval(g, nb, has_uneval(sib) & 2, 0);   /* a failing branch evaluates nothing */
            if (!nb) {
                char msg[400];
                snprintf(msg, sizeof msg, "%s: %s", why, g->why);
                if (n <= 6 && unsupported(g, "oneOf", msg)) return NULL;
                /* lenient: the branches as anyOf */
                cJSON *a = keep(g, cJSON_Duplicate(s, 1));
                cJSON_AddItemToObject(a, "anyOf", cJSON_DetachItemFromObjectCaseSensitive(a, "oneOf"));
                return gen_schema(g, a);
            }
            cJSON_AddItemToArray(parts, cJSON_Duplicate(nb, 1));
        }
    }
    cJSON_AddTrueToObject(m, K_EXCL);   /* exactly one branch passes */
    return gen_schema(g, m);
}

/* Branch x merged with the sibling keywords sib (kept in g->keep); unevaluated* of sib are
 * added after the merge, so that they see the branch's members too. NULL on an error. */
static const cJSON *merge_branch(gen *g, const cJSON *sib, const cJSON *x) {
    static const char *const uk[2] = {"unevaluatedProperties", "unevaluatedItems"};
    cJSON *m = keep(g, cJSON_Duplicate(sib, 1)), *held[2];
    for (int i = 0; i < 2; i++) held[i] = cJSON_DetachItemFromObjectCaseSensitive(m, uk[i]);
    const cJSON *f = cJSON_IsObject(x) && (kw(x, "allOf") || kw(x, "$ref")) ? flatten(g, x) : x;
    int rc = cJSON_IsObject(x) ? (!f ? -1 : merge_into(g, m, f)) : 0;
    for (int i = 0; i < 2; i++) {
        if (!held[i]) continue;
        const cJSON *had = kw(m, uk[i]);
        if (!rc && had && !cJSON_IsTrue(had) && !smol_json_equal(had, held[i]))
            rc = unsupported(g, uk[i], "in both a schema and its anyOf/oneOf branches") ? -1 : 0;
        if (had) cJSON_Delete(held[i]);
        else cJSON_AddItemToObject(m, uk[i], held[i]);
    }
    return rc ? NULL : m;
}

/* anyOf beside unevaluated*: a value's unevaluated members are those no passing branch
 * evaluates, so the branches become every non-empty conjunction of them (each judged alone:
 * a value passes exactly the branches of one conjunction, which then evaluates what they all
 * do), at most 4 branches (15 conjunctions). */
static char *any_of_subsets(gen *g, const cJSON *s, const cJSON *sib, const cJSON *list) {
    const cJSON *b[4];
    int n = 0;
    for (const cJSON *x = list->child; x; x = x->next) {
        if (cJSON_IsFalse(x)) continue;
        if (n == 4) {
            unsupported(g, has_uneval(sib) & 1 ? "unevaluatedProperties" : "unevaluatedItems",
                        "beside more than 4 anyOf branches (their annotations unite)");
            return NULL;
        }
        b[n++] = x;
    }
    cJSON *m = keep(g, cJSON_Duplicate(sib, 1)), *l = cJSON_AddArrayToObject(m, "anyOf");
    for (unsigned set = 1; set < 1u << n; set++) {
        cJSON *o = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(o, "allOf");
        for (int i = 0; i < n; i++)
            if (set & 1u << i) cJSON_AddItemToArray(parts, cJSON_Duplicate(b[i], 1));
        cJSON_AddItemToArray(l, o);
    }
    cJSON_AddTrueToObject(m, K_EXCL);
    (void)s;
    return gen_schema(g, m);
}

/* anyOf/oneOf: each branch merged with the sibling keywords, as alternatives (branches that no
 * value satisfies are dropped). */
static char *gen_alternatives(gen *g, const cJSON *s) {
    const cJSON *any = kw(s, "anyOf"), *one = kw(s, "oneOf");
    if (cJSON_IsArray(any) && cJSON_IsArray(one)) {
        cJSON *m = keep(g, cJSON_Duplicate(s, 1));
        cJSON_DeleteItemFromObjectCaseSensitive(m, "oneOf");
        cJSON *wrap = cJSON_CreateObject();
        cJSON_AddItemToObject(wrap, "oneOf", cJSON_Duplicate(one, 1));
        cJSON *l = cJSON_CreateArray();
        cJSON_AddItemToArray(l, wrap);
        cJSON_AddItemToObject(m, "allOf", l);
        cJSON *f = flatten(g, m);
        return f ? gen_schema(g, f) : NULL;
    }
    const cJSON *list = cJSON_IsArray(any) ? any : one;
    const char *name = list == any ? "anyOf" : "oneOf";
    cJSON *sib = keep(g, cJSON_Duplicate(s, 1));
    cJSON_DeleteItemFromObjectCaseSensitive(sib, name);
    cJSON_DeleteItemFromObjectCaseSensitive(sib, K_EXCL);
    int has_sib = has_constraints(g, sib, (const char *const[]){NULL});
    if (list == any && has_uneval(sib) && !cJSON_IsTrue(kw(s, K_EXCL)))   /* several branches may pass: their annotations unite */
        return any_of_subsets(g, s, sib, list);
    const cJSON *br[MAX_ALTS];
    unsigned ty[MAX_ALTS];
    int n = 0, idx[MAX_ALTS], i = 0;
    for (const cJSON *x = list->child; x && n < MAX_ALTS && !g->rc; x = x->next, i++) {
        const cJSON *b = x;
        snap sn = take_snap(g);
        if (has_sib && !cJSON_IsFalse(x)) {
            b = merge_branch(g, sib, x);
            if (!b) {
                if (drop_empty(g, sn)) continue;
                break;
            }
        }
        if (cJSON_IsFalse(b)) continue;
        idx[n] = i;
        br[n] = b;
        ty[n++] = types_of(b);
    }
    if (g->rc) return NULL;
    if (list == one) {  /* exclusive when no two branches share a JSON type; else by negation */
        int overlap = 0;
        for (int a = 0; a < n; a++)
            for (int c = a + 1; c < n; c++) overlap |= (ty[a] & ty[c]) != 0;
        const cJSON *raw[MAX_ALTS];
        for (int a = 0; a < n; a++) raw[a] = cJSON_GetArrayItem(list, idx[a]);
        if (overlap) return one_of_by_negation(g, s, sib, br, raw, n);
    }
    if (n == 0) return gempty(g, "schema at %s: no %s branch can match", gpath(g), name);
    sbuf b = {0};
    int n_out = 0;
    for (int a = 0; a < n && !g->rc; a++) {
        char seg[40];
        snprintf(seg, sizeof seg, "%s/%d", name, idx[a]);
        size_t mark = path_push(g, seg);
        snap sn = take_snap(g);
        char *r = gen_schema(g, br[a]);
        path_pop(g, mark);
        if (!r && drop_empty(g, sn)) continue;
        if (r) sb_addf(&b, "%s%s", n_out++ ? " | " : "", r);
        free(r);
    }
    char why[64];
    snprintf(why, sizeof why, "no %s branch can match", name);
    return alts_take(g, &b, n_out, why);
}

static char *gen_schema(gen *g, const cJSON *s) {
    if (cJSON_IsTrue(s)) return any_value(g);
    if (cJSON_IsFalse(s)) return gempty(g, "schema at %s is false: no value can match", gpath(g));
    if (!cJSON_IsObject(s)) return gfail(g, SMOL_EFORMAT, "schema at %s must be an object or a boolean", gpath(g));
    if (++g->depth > MAX_DEPTH) {
        g->depth--;
        return gfail(g, SMOL_ERANGE, "schema at %s: nested more than %d deep", gpath(g), MAX_DEPTH);
    }
    char *r;
    if (needs_lower(s) && !(s = lower(g, s, has_uneval(s)))) {
        g->depth--;
        return NULL;
    }
    const cJSON *ref = kw(s, "$ref");
    if (kw(s, "allOf") || (ref && has_constraints(g, s, (const char *const[]){"$ref", NULL}))) {
        cJSON *f = flatten(g, s);
        r = f ? gen_schema(g, f) : NULL;
    } else if (cJSON_IsString(ref)) {
        r = ref_rule(g, ref->valuestring);
    } else if (cJSON_IsArray(kw(s, "anyOf")) || cJSON_IsArray(kw(s, "oneOf"))) {
        r = gen_alternatives(g, s);
    } else {
        r = gen_typed(g, s);
    }
    g->depth--;
    if (!r) return NULL;
    if (strncmp(r, "d", 1) == 0 && strspn(r + 1, "0123456789") == strlen(r + 1)) return r;  /* a rule name */
    return add_rule(g, r);
}

/* ---------------------------------------------------------------- entry points */

smol_schema_options smol_schema_default_options(void) {
    smol_schema_options o = {.flags = 0, .max_ws = 16, .warn = NULL, .warn_ctx = NULL};
    return o;
}

static void add_primitives(gen *g, sbuf *b) {
    if (g->used & U_VALUE) {
        const char *w = ws(g);
        sb_addf(b, "value ::= object | array | string | number | \"true\" | \"false\" | \"null\"\n");
        sb_addf(b, "object ::= \"{\"%s(string%s\":\"%svalue (%s\",\"%sstring%s\":\"%svalue)*)?%s\"}\"\n", w, w, w, w, w, w, w, w);
        sb_addf(b, "array ::= \"[\"%s(value (%s\",\"%svalue)*)?%s\"]\"\n", w, w, w, w);
    }
    if (g->used & U_STRING) sb_add(b, "string ::= \"\\\"\" char* \"\\\"\"\n");
    if (g->used & (U_CHAR | U_STRING)) sb_add(b, "char ::= [^\\x00-\\x1F\\x22\\x5C] | \"\\x5C\" ([\\x22\\x5C/bfnrt] | \"u\" [0-9a-fA-F]{4})\n");
    if (g->used & U_NUMBER) sb_add(b, "number ::= \"-\"? (\"0\" | [1-9] [0-9]*) (\".\" [0-9]+)? ([eE] [-+]? [0-9]+)?\n");
    if (g->used & U_WS) {
        if (g->o.max_ws > 0) sb_addf(b, "ws ::= \"\\r\"? \"\\n\"? [ \\t]{0,%d}\n", g->o.max_ws);
        else sb_add(b, "ws ::= \"\"\n");
    }
}

int smol_schema_to_gbnf_ex(const char *schema_json, size_t len, const smol_schema_options *opts, char **gbnf,
                           smol_error *err) {
    *gbnf = NULL;
    gen g = {.o = opts ? *opts : smol_schema_default_options(), .err = err};
    if (g.o.max_ws < 0) g.o.max_ws = 0;
    for (size_t i = 0; i < len;) {  /* literals are copied into the grammar: the text must be UTF-8 */
        uint32_t cp;
        unsigned char tail[4] = {0};
        memcpy(tail, schema_json + i, len - i < 4 ? len - i : 4);
        int k = utf8_decode(tail, &cp);
        if ((k == 1 && cp >= 0x80) || (unsigned char)schema_json[i] == 0)
            return smol_fail(err, SMOL_EFORMAT, "schema is not valid UTF-8 text (byte %zu)", i);
        i += (size_t)k;
    }
    if (memmem(schema_json, len, "\\u0000", 6))  /* cJSON strings end at a NUL */
        return smol_fail(err, SMOL_EUNSUPPORTED, "schema strings containing \\u0000 are not supported");
    int rc = smol_jschema_new(schema_json, len, 0, &g.js, err);
    if (rc) return rc;
    g.keep = cJSON_CreateArray();
    if (!g.keep) {
        smol_jschema_free(g.js);
        return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(smol_jschema_root(g.js), "$schema");
    if (cJSON_IsString(ms) && !strstr(ms->valuestring, "://json-schema.org/")) {
        rc = smol_fail(err, SMOL_EUNSUPPORTED, "unsupported keyword '$schema' at /: unknown metaschema '%s'", ms->valuestring);
        smol_jschema_free(g.js);
        cJSON_Delete(g.keep);
        return rc;
    }
    char *root = gen_schema(&g, smol_jschema_root(g.js));
    sbuf out = {0};
    if (root) {
        sb_addf(&out, "root ::= %s\n", root);
        sb_put(&out, g.rules.p ? g.rules.p : "", g.rules.n);
        add_primitives(&g, &out);
        if (g.rules.oom || out.oom) gfail(&g, SMOL_ENOMEM, "out of memory writing the grammar");
    }
    free(root);
    free(g.rules.p);
    free(g.memo);
    cJSON_Delete(g.keep);
    smol_jschema_free(g.js);
    char *text = sb_take(&out);
    if (g.rc || !text) {
        free(text);
        return g.rc ? g.rc : smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    smol_grammar *gr = NULL;  /* the engine checks what no schema walk can: e.g. no finite derivation */
    smol_error gerr;
    rc = smol_grammar_from_gbnf(text, strlen(text), "root", &gr, &gerr);
    smol_grammar_free(gr);
    if (rc) {
        free(text);
        if (strstr(gerr.msg, "finite") || strstr(gerr.msg, "recursion"))
            return smol_fail(err, SMOL_EFORMAT, "the schema has no finite JSON value (a circular $ref with no base case?): %s", gerr.msg);
        return smol_fail(err, SMOL_EUNSUPPORTED, "the grammar engine does not take the compiled schema: %s", gerr.msg);
    }
    *gbnf = text;
    return SMOL_OK;
}

int smol_schema_to_gbnf(const char *schema_json, size_t len, unsigned flags, char **gbnf, smol_error *err) {
    smol_schema_options o = smol_schema_default_options();
    o.flags = flags;
    return smol_schema_to_gbnf_ex(schema_json, len, &o, gbnf, err);
}
