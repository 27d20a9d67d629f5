/* grammar.c: GBNF text -> grammar (rules of elements: character classes, rule references,
 * alternative ends; groups and repetitions become generated rules), the checks a grammar must
 * pass (defined rules, finite derivations, no left recursion), and the matcher.
 *
 * The matcher is a pushdown automaton run as a lazily built DFA. A stack is an interned node
 * (position in a rule, parent node); a parser state is an interned, sorted set of stacks whose
 * tops are all character classes (or the accept node 0). A DFA state is a parser state plus a
 * partial UTF-8 character; its 256 byte transitions are computed on first use and kept. A token
 * mask is a preorder walk of the token trie advancing DFA states, skipping a whole subtree as
 * soon as a prefix is rejected; masks are cached per DFA state. */
#include "gen/grammar.h"
#include "gen/regex.h"
#include "gen/tokindex.h"
#include "base/error.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ================================================================ grammar representation */

enum { EL_END = 0, EL_CHAR = 1, EL_REF = 2 };

typedef struct gr_elem {
    uint32_t kind : 2;
    uint32_t arg : 30;       /* EL_CHAR: class index; EL_REF: rule index */
} gr_elem;

typedef struct gr_range {
    uint32_t lo, hi;         /* code points, inclusive */
} gr_range;

typedef struct gr_class {
    uint32_t first, n;       /* ranges rg[first .. first + n), sorted and disjoint */
} gr_class;

typedef struct gr_rule {
    char *name;
    uint32_t *alts;          /* start of each alternative in el[] */
    uint32_t n_alts, cap_alts;
    int defined;
    size_t use_off;          /* byte offset + 1 of the first reference (0: none), for "undefined rule" */
} gr_rule;

struct smol_grammar {
    gr_elem *el;
    uint32_t n_el, cap_el;
    gr_range *rg;
    uint32_t n_rg, cap_rg;
    gr_class *cls;
    uint32_t n_cls, cap_cls;
    gr_rule *rules;
    uint32_t n_rules, cap_rules;
    uint32_t root;
    uint32_t *chain;        /* [n_el] or NULL: at the element after the copy in a chain of optional
                               copies of an empty-free atom, chain id << 16 | copies left (see
                               expand_repeats); 0 elsewhere */
};

#define MAX_CP 0x10FFFFu
#define MAX_REPEAT 1000
#define MAX_ELEMENTS (1u << 22)

/* Grows *p (of *cap elements of size sz) to hold at least need; 0 or SMOL_ENOMEM. */
static int grow(void **p, uint32_t *cap, uint32_t need, size_t sz) {
    if (need <= *cap) return 0;
    uint32_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > UINT32_MAX / 2) return SMOL_ENOMEM;
        nc *= 2;
    }
    void *q = realloc(*p, (size_t)nc * sz);
    if (!q) return SMOL_ENOMEM;
    *p = q;
    *cap = nc;
    return 0;
}

void smol_grammar_free(smol_grammar *g) {
    if (!g) return;
    for (uint32_t i = 0; i < g->n_rules; i++) {
        free(g->rules[i].name);
        free(g->rules[i].alts);
    }
    free(g->rules);
    free(g->el);
    free(g->rg);
    free(g->cls);
    free(g->chain);
    free(g);
}

int smol_grammar_n_rules(const smol_grammar *g) { return g ? (int)g->n_rules : 0; }

/* ================================================================ GBNF parser */

/* A sequence of elements under construction. */
typedef struct seq {
    gr_elem *el;
    uint32_t n, cap;
} seq;

/* A repetition whose atom might derive the empty string, expanded once the whole grammar is
 * known (see expand_repeats). */
typedef struct repeat {
    uint32_t rule;          /* the generated rule standing for it */
    seq atom;
    long n_min, n_max;      /* n_max -1: no upper bound */
} repeat;

typedef struct parser {
    const char *s, *end, *p;
    smol_grammar *g;
    smol_error *err;
    int rc;
    int depth;
    repeat *reps;
    uint32_t n_reps, cap_reps;
    uint32_t *names;        /* [cap_names] open-addressing index of rule names: rule + 1, 0 empty */
    uint32_t cap_names;     /* a power of two, at least twice the number of rules; 0: none yet */
} parser;

static void pos_of(const parser *ps, const char *at, uint32_t *line, uint32_t *col) {
    uint32_t l = 1, c = 1;
    for (const char *q = ps->s; q < at && q < ps->end; q++) {
        if (*q == '\n') l++, c = 1;
        else if (((unsigned char)*q & 0xC0) != 0x80) c++;
    }
    *line = l, *col = c;
}

static uint32_t pos_line(const parser *ps, const char *at) {
    uint32_t l, c;
    pos_of(ps, at, &l, &c);
    return l;
}

static uint32_t pos_col(const parser *ps, const char *at) {
    uint32_t l, c;
    pos_of(ps, at, &l, &c);
    return c;
}

/* Records a syntax error at position at (only the first one counts); returns the status. */
static int perr(parser *ps, const char *at, const char *fmt, ...) SMOL_PRINTF(3, 4);
static int perr(parser *ps, const char *at, const char *fmt, ...) {
    if (ps->rc) return ps->rc;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    uint32_t line, col;
    pos_of(ps, at, &line, &col);
    ps->rc = smol_fail(ps->err, SMOL_EFORMAT, "malformed GBNF at %u:%u: %s", line, col, msg);
    return ps->rc;
}

static int oom(parser *ps) {
    if (!ps->rc) ps->rc = smol_fail(ps->err, SMOL_ENOMEM, "GBNF: out of memory");
    return ps->rc;
}

static int seq_push(parser *ps, seq *q, uint32_t kind, uint32_t arg) {
    if (q->n >= MAX_ELEMENTS) {
        if (!ps->rc) ps->rc = smol_fail(ps->err, SMOL_ERANGE, "GBNF: grammar too large (over %u elements after expanding repetitions)", MAX_ELEMENTS);
        return ps->rc;
    }
    if (grow((void **)&q->el, &q->cap, q->n + 1, sizeof *q->el)) return oom(ps);
    q->el[q->n].kind = kind;
    q->el[q->n].arg = arg;
    q->n++;
    return 0;
}

static int seq_append(parser *ps, seq *q, const seq *src) {
    for (uint32_t i = 0; i < src->n; i++)
        if (seq_push(ps, q, src->el[i].kind, src->el[i].arg)) return ps->rc;
    return 0;
}

static int is_word(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Skips spaces, tabs and comments; newlines too when newline_ok. */
static void skip_space(parser *ps, int newline_ok) {
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == ' ' || c == '\t') ps->p++;
        else if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n' && *ps->p != '\r') ps->p++;
        } else if (newline_ok && (c == '\n' || c == '\r')) ps->p++;
        else break;
    }
}

static uint32_t name_hash(const char *name, size_t n) {
    uint32_t h = 2166136261u;                       /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h;
}

/* Rebuilds the name index with room for at least 2 * need rules. 0 or -1 (out of memory). */
static int names_fit(parser *ps, uint32_t need) {
    if (ps->cap_names >= 2 * need && ps->cap_names) return 0;
    uint32_t cap = ps->cap_names ? ps->cap_names : 64;
    while (cap < 2 * need) cap *= 2;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint32_t r = 0; r < ps->g->n_rules; r++) {
        const char *nm = ps->g->rules[r].name;
        uint32_t i = name_hash(nm, strlen(nm)) & (cap - 1);
        while (t[i]) i = (i + 1) & (cap - 1);
        t[i] = r + 1;
    }
    free(ps->names);
    ps->names = t, ps->cap_names = cap;
    return 0;
}

/* Finds or adds the rule called name[0..n). Returns its index or -1 (error set). */
static int32_t rule_get(parser *ps, const char *name, size_t n) {
    smol_grammar *g = ps->g;
    if (g->n_rules >= (1u << 29) || names_fit(ps, g->n_rules + 1)) return oom(ps), -1;
    uint32_t i = name_hash(name, n) & (ps->cap_names - 1);
    for (; ps->names[i]; i = (i + 1) & (ps->cap_names - 1)) {
        const char *nm = g->rules[ps->names[i] - 1].name;
        if (strlen(nm) == n && memcmp(nm, name, n) == 0) return (int32_t)(ps->names[i] - 1);
    }
    if (grow((void **)&g->rules, &g->cap_rules, g->n_rules + 1, sizeof *g->rules)) return oom(ps), -1;
    gr_rule *r = &g->rules[g->n_rules];
    memset(r, 0, sizeof *r);
    r->name = malloc(n + 1);
    if (!r->name) return oom(ps), -1;
    memcpy(r->name, name, n);
    r->name[n] = 0;
    ps->names[i] = g->n_rules + 1;
    return (int32_t)g->n_rules++;
}

/* A new generated rule named BASE-N. */
static int32_t rule_new_generated(parser *ps, uint32_t base) {
    char name[300];
    snprintf(name, sizeof name, "%.200s-%u", ps->g->rules[base].name, ps->g->n_rules);
    int32_t r = rule_get(ps, name, strlen(name));
    if (r >= 0) ps->g->rules[r].defined = 1;
    return r;
}

/* Appends alternative q (plus its end) to rule r. */
static int rule_add_alt(parser *ps, uint32_t r, const seq *q) {
    smol_grammar *g = ps->g;
    if (g->n_el + q->n + 1 > MAX_ELEMENTS) {
        if (!ps->rc) ps->rc = smol_fail(ps->err, SMOL_ERANGE, "GBNF: grammar too large (over %u elements after expanding repetitions)", MAX_ELEMENTS);
        return ps->rc;
    }
    if (grow((void **)&g->el, &g->cap_el, g->n_el + q->n + 1, sizeof *g->el)) return oom(ps);
    gr_rule *ru = &g->rules[r];
    if (grow((void **)&ru->alts, &ru->cap_alts, ru->n_alts + 1, sizeof *ru->alts)) return oom(ps);
    ru->alts[ru->n_alts++] = g->n_el;
    if (q->n) memcpy(g->el + g->n_el, q->el, q->n * sizeof *q->el);
    g->n_el += q->n;
    g->el[g->n_el].kind = EL_END;
    g->el[g->n_el].arg = 0;
    g->n_el++;
    return 0;
}

static int cmp_range(const void *a, const void *b) {
    const gr_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Adds a class from n ranges (any order, may overlap), negated if neg; returns its index or -1. */
static int32_t class_add(parser *ps, gr_range *r, uint32_t n, int neg) {
    if (n) qsort(r, n, sizeof *r, cmp_range);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (m && r[i].lo <= r[m - 1].hi + 1) {
            if (r[i].hi > r[m - 1].hi) r[m - 1].hi = r[i].hi;
        } else r[m++] = r[i];
    }
    smol_grammar *g = ps->g;
    if (grow((void **)&g->rg, &g->cap_rg, g->n_rg + m + 1, sizeof *g->rg) ||
        grow((void **)&g->cls, &g->cap_cls, g->n_cls + 1, sizeof *g->cls))
        return oom(ps), -1;
    uint32_t first = g->n_rg;
    if (!neg) {
        if (m) memcpy(g->rg + g->n_rg, r, m * sizeof *r);
        g->n_rg += m;
    } else {
        uint32_t next = 0;
        for (uint32_t i = 0; i < m; i++) {
            if (r[i].lo > next) g->rg[g->n_rg++] = (gr_range){next, r[i].lo - 1};
            next = r[i].hi + 1;
        }
        if (next <= MAX_CP) g->rg[g->n_rg++] = (gr_range){next, MAX_CP};
    }
    g->cls[g->n_cls] = (gr_class){first, g->n_rg - first};
    return (int32_t)g->n_cls++;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes one UTF-8 character at ps->p (advancing); -1 on invalid UTF-8. */
static int32_t utf8_next(parser *ps) {
    const unsigned char *p = (const unsigned char *)ps->p, *e = (const unsigned char *)ps->end;
    uint32_t c = p[0], n = c < 0x80 ? 0 : c >= 0xF0 && c <= 0xF4 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 && c < 0xE0 ? 1 : 9;
    if (n == 9 || p + n >= e + (n ? 0 : 1)) return -1;
    if (n == 0) {
        ps->p++;
        return (int32_t)c;
    }
    c &= 0x3F >> n;
    for (uint32_t i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80) return -1;
        c = c << 6 | (p[i] & 0x3F);
    }
    ps->p += n + 1;
    return (int32_t)c;
}

/* Parses one character of a literal or class (escapes included). -1 on error (set). */
static int32_t parse_char(parser *ps) {
    const char *at = ps->p;
    if (ps->p >= ps->end) return perr(ps, at, "unexpected end of text"), -1;
    if (*ps->p != '\\') {
        int32_t c = utf8_next(ps);
        if (c < 0) perr(ps, at, "invalid UTF-8");
        return c;
    }
    ps->p++;
    if (ps->p >= ps->end) return perr(ps, at, "unfinished escape"), -1;
    char e = *ps->p++;
    int digits = 0;
    switch (e) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case '\\': case '"': case '[': case ']': case '-': case '\'': case '^': case '/': return e;
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    default: return perr(ps, at, "unknown escape '\\%c'", e), -1;
    }
    uint32_t v = 0;
    for (int i = 0; i < digits; i++) {
        int h = ps->p < ps->end ? hexval((unsigned char)*ps->p) : -1;
        if (h < 0) return perr(ps, ps->p, "expected %d hex digits after '\\%c'", digits, e), -1;
        v = v << 4 | (uint32_t)h;
        ps->p++;
    }
    if (v > MAX_CP) return perr(ps, at, "code point U+%X is past U+10FFFF", v), -1;
    return (int32_t)v;
}

/* "..." into q: one single-character class per character. */
static int parse_literal(parser *ps, seq *q) {
    const char *at = ps->p++;
    while (ps->p < ps->end && *ps->p != '"') {
        if (*ps->p == '\n' || *ps->p == '\r') return perr(ps, ps->p, "newline inside a string (use \\n)");
        int32_t c = parse_char(ps);
        if (c < 0) return ps->rc;
        gr_range r = {(uint32_t)c, (uint32_t)c};
        int32_t k = class_add(ps, &r, 1, 0);
        if (k < 0 || seq_push(ps, q, EL_CHAR, (uint32_t)k)) return ps->rc;
    }
    if (ps->p >= ps->end) return perr(ps, at, "unterminated string");
    ps->p++;
    return 0;
}

/* [...] into q as one class. */
static int parse_class(parser *ps, seq *q) {
    const char *at = ps->p++;
    int neg = 0;
    if (ps->p < ps->end && *ps->p == '^') neg = 1, ps->p++;
    gr_range *r = NULL;
    uint32_t n = 0, cap = 0;
    while (ps->p < ps->end && *ps->p != ']') {
        if (*ps->p == '\n' || *ps->p == '\r') {
            free(r);
            return perr(ps, ps->p, "newline inside a character class");
        }
        int32_t lo = parse_char(ps), hi = lo;
        if (lo >= 0 && ps->p + 1 < ps->end && ps->p[0] == '-' && ps->p[1] != ']') {
            ps->p++;
            const char *hat = ps->p;
            hi = parse_char(ps);
            if (hi >= 0 && hi < lo) perr(ps, hat, "range end U+%04X is below its start U+%04X", (unsigned)hi, (unsigned)lo);
        }
        if (ps->rc || grow((void **)&r, &cap, n + 1, sizeof *r)) {
            free(r);
            return ps->rc ? ps->rc : oom(ps);
        }
        r[n++] = (gr_range){(uint32_t)lo, (uint32_t)hi};
    }
    if (ps->p >= ps->end) {
        free(r);
        return perr(ps, at, "unterminated character class");
    }
    ps->p++;
    int32_t k = class_add(ps, r ? r : &(gr_range){0, 0}, n, neg);
    free(r);
    if (k < 0) return ps->rc;
    return seq_push(ps, q, EL_CHAR, (uint32_t)k);
}

static int parse_alternatives(parser *ps, uint32_t rule, int nested);

/* Parses "{m}", "{m,}", "{m,n}" at ps->p; *n_max = -1 for no upper bound. */
static int parse_braces(parser *ps, long *n_min, long *n_max) {
    const char *at = ps->p++;
    long v[2] = {-1, -1};
    int k = 0, comma = 0;
    for (;;) {
        skip_space(ps, 0);
        if (ps->p >= ps->end) return perr(ps, at, "unterminated '{'");
        char c = *ps->p;
        if (c >= '0' && c <= '9') {
            long x = 0;
            while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
                x = x * 10 + (*ps->p++ - '0');
                if (x > MAX_REPEAT) return perr(ps, at, "repetition count above %d", MAX_REPEAT);
            }
            if (v[k] >= 0) return perr(ps, ps->p, "expected ',' or '}'");
            v[k] = x;
        } else if (c == ',' && !comma) {
            comma = 1, k = 1, ps->p++;
        } else if (c == '}') {
            ps->p++;
            break;
        } else return perr(ps, ps->p, "expected a number, ',' or '}' in a repetition");
    }
    if (v[0] < 0) return perr(ps, at, "repetition without a minimum count");
    *n_min = v[0];
    *n_max = comma ? v[1] : v[0];
    if (*n_max >= 0 && *n_max < *n_min) return perr(ps, at, "repetition {%ld,%ld}: maximum below minimum", v[0], v[1]);
    return 0;
}

/* Appends atom repeated n_min..n_max times (n_max -1: unbounded) to q via generated rules. */
static int apply_repeat(parser *ps, uint32_t rule, seq *q, const seq *atom, long n_min, long n_max) {
    for (long i = 0; i < n_min; i++)
        if (seq_append(ps, q, atom)) return ps->rc;
    seq tmp = {0};
    seq empty = {0};
    if (n_max < 0) {                         /* R ::= atom R | (empty) */
        int32_t r = rule_new_generated(ps, rule);
        if (r < 0) return ps->rc;
        if (!seq_append(ps, &tmp, atom) && !seq_push(ps, &tmp, EL_REF, (uint32_t)r) && !rule_add_alt(ps, (uint32_t)r, &tmp))
            rule_add_alt(ps, (uint32_t)r, &empty);
        free(tmp.el);
        return ps->rc ? ps->rc : seq_push(ps, q, EL_REF, (uint32_t)r);
    }
    int32_t inner = -1;                      /* O_k ::= atom O_(k-1) | (empty) */
    for (long k = 0; k < n_max - n_min; k++) {
        int32_t r = rule_new_generated(ps, rule);
        if (r < 0) break;
        tmp.n = 0;
        if (seq_append(ps, &tmp, atom) || (inner >= 0 && seq_push(ps, &tmp, EL_REF, (uint32_t)inner))) break;
        if (rule_add_alt(ps, (uint32_t)r, &tmp) || rule_add_alt(ps, (uint32_t)r, &empty)) break;
        inner = r;
    }
    free(tmp.el);
    if (ps->rc) return ps->rc;
    return inner >= 0 ? seq_push(ps, q, EL_REF, (uint32_t)inner) : 0;
}

/* Is the repetition of atom one to expand later? When atom is only rule references (it might
 * derive the empty string) and two or more copies of it are in play. */
static int repeat_deferred(const seq *atom, long n_min, long n_max) {
    for (uint32_t i = 0; i < atom->n; i++)
        if (atom->el[i].kind != EL_REF) return 0;
    return n_min >= 2 || (n_max >= 0 && n_max - n_min >= 2);
}

/* Appends a reference to a new rule standing for atom{n_min,n_max} and records it. */
static int defer_repeat(parser *ps, uint32_t rule, seq *q, const seq *atom, long n_min, long n_max) {
    int32_t r = rule_new_generated(ps, rule);
    if (r < 0) return ps->rc;
    if (grow((void **)&ps->reps, &ps->cap_reps, ps->n_reps + 1, sizeof *ps->reps)) return oom(ps);
    repeat *rp = &ps->reps[ps->n_reps++];
    *rp = (repeat){(uint32_t)r, {0}, n_min, n_max};
    if (seq_append(ps, &rp->atom, atom)) return ps->rc;
    return seq_push(ps, q, EL_REF, (uint32_t)r);
}

/* One item (with its quantifier) of a sequence into q. */
static int parse_item(parser *ps, uint32_t rule, seq *q, int nested) {
    seq atom = {0};
    const char *at = ps->p;
    char c = *ps->p;
    if (c == '"') {
        parse_literal(ps, &atom);
    } else if (c == '[') {
        parse_class(ps, &atom);
    } else if (c == '.') {
        ps->p++;
        gr_range r = {0, MAX_CP};
        int32_t k = class_add(ps, &r, 1, 0);
        if (k >= 0) seq_push(ps, &atom, EL_CHAR, (uint32_t)k);
    } else if (c == '(') {
        if (++ps->depth > 200) return free(atom.el), perr(ps, at, "groups nested too deeply");
        ps->p++;
        skip_space(ps, 1);
        int32_t r = rule_new_generated(ps, rule);
        if (r >= 0 && !parse_alternatives(ps, (uint32_t)r, 1)) {
            if (ps->p >= ps->end || *ps->p != ')') perr(ps, ps->p, "expected ')' to close the group opened at %u:%u", pos_line(ps, at), pos_col(ps, at));
            else ps->p++, seq_push(ps, &atom, EL_REF, (uint32_t)r);
        }
        ps->depth--;
    } else if (is_word((unsigned char)c)) {
        const char *s = ps->p;
        while (ps->p < ps->end && is_word((unsigned char)*ps->p)) ps->p++;
        int32_t r = rule_get(ps, s, (size_t)(ps->p - s));
        if (r >= 0) {
            gr_rule *ru = &ps->g->rules[r];
            if (!ru->use_off) ru->use_off = (size_t)(s - ps->s) + 1;
            seq_push(ps, &atom, EL_REF, (uint32_t)r);
        }
    } else {
        free(atom.el);
        return perr(ps, at, "expected a string, a [class], a rule name, '(' or '.', got '%c'", c);
    }
    if (ps->rc) return free(atom.el), ps->rc;
    skip_space(ps, nested);
    long n_min = 1, n_max = 1;
    if (ps->p < ps->end) {
        char qc = *ps->p;
        if (qc == '*') n_min = 0, n_max = -1, ps->p++;
        else if (qc == '+') n_min = 1, n_max = -1, ps->p++;
        else if (qc == '?') n_min = 0, n_max = 1, ps->p++;
        else if (qc == '{' && parse_braces(ps, &n_min, &n_max)) return free(atom.el), ps->rc;
    }
    if (n_min == 1 && n_max == 1) seq_append(ps, q, &atom);
    else if (repeat_deferred(&atom, n_min, n_max)) defer_repeat(ps, rule, q, &atom, n_min, n_max);
    else apply_repeat(ps, rule, q, &atom, n_min, n_max);
    free(atom.el);
    skip_space(ps, nested);
    return ps->rc;
}

/* Alternatives separated by '|' into rule, up to ')' (nested) or the end of the line. */
static int parse_alternatives(parser *ps, uint32_t rule, int nested) {
    seq q = {0};
    for (;;) {
        q.n = 0;
        while (ps->p < ps->end) {
            char c = *ps->p;
            if (c == '|' || c == ')' || (!nested && (c == '\n' || c == '\r'))) break;
            if (parse_item(ps, rule, &q, nested)) return free(q.el), ps->rc;
        }
        if (rule_add_alt(ps, rule, &q)) break;
        if (ps->p < ps->end && *ps->p == '|') {
            ps->p++;
            skip_space(ps, 1);
            continue;
        }
        if (!nested && ps->p < ps->end && *ps->p == ')') perr(ps, ps->p, "unmatched ')'");
        break;
    }
    free(q.el);
    return ps->rc;
}

static int parse_rule(parser *ps) {
    const char *at = ps->p, *s = ps->p;
    while (ps->p < ps->end && is_word((unsigned char)*ps->p)) ps->p++;
    if (ps->p == s) return perr(ps, at, "expected a rule name");
    size_t n = (size_t)(ps->p - s);
    skip_space(ps, 0);
    if (ps->end - ps->p < 3 || memcmp(ps->p, "::=", 3) != 0) return perr(ps, ps->p, "expected '::=' after rule name '%.*s'", (int)n, s);
    ps->p += 3;
    int32_t r = rule_get(ps, s, n);
    if (r < 0) return ps->rc;
    if (ps->g->rules[r].defined) return perr(ps, at, "rule '%.*s' is defined twice", (int)n, s);
    ps->g->rules[r].defined = 1;
    skip_space(ps, 1);
    return parse_alternatives(ps, (uint32_t)r, 0);
}

/* ================================================================ grammar checks */

/* Marks rules that derive some finite string (prod) and rules that can derive the empty string
 * (nullable) by fixed-point iteration. */
static void derive_sets(const smol_grammar *g, uint8_t *prod, uint8_t *nullable) {
    memset(prod, 0, g->n_rules);
    memset(nullable, 0, g->n_rules);
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t r = 0; r < g->n_rules; r++) {
            for (uint32_t a = 0; a < g->rules[r].n_alts; a++) {
                int p_ok = 1, n_ok = 1;
                for (const gr_elem *e = g->el + g->rules[r].alts[a]; e->kind != EL_END; e++) {
                    if (e->kind == EL_CHAR) n_ok = 0;
                    else {
                        if (!prod[e->arg]) p_ok = 0;
                        if (!nullable[e->arg]) n_ok = 0;
                    }
                }
                if (p_ok && !prod[r]) prod[r] = 1, changed = 1;
                if (n_ok && !nullable[r]) nullable[r] = 1, changed = 1;
            }
        }
    }
}

/* Left recursion. Edge u -> v when v can be the first symbol of an alternative of u (after
 * nullable rules only); it is a tail edge when nothing follows v in that alternative. A cycle of
 * tail edges only is harmless (the matcher returns to an identical stack: this is how a
 * repetition of something nullable looks); a cycle through any other edge would grow the stack
 * forever and is an error. Strongly connected components by Tarjan's algorithm. */
typedef struct scc_ctx {
    const smol_grammar *g;
    const uint8_t *nullable;
    int32_t *index, *low, *comp;
    uint32_t *stack;
    uint8_t *on_stack;
    uint32_t sp;
    int32_t next_index, n_comp;
} scc_ctx;

static void scc_visit(scc_ctx *s, uint32_t v) {
    s->index[v] = s->low[v] = s->next_index++;
    s->stack[s->sp++] = v;
    s->on_stack[v] = 1;
    const gr_rule *ru = &s->g->rules[v];
    for (uint32_t a = 0; a < ru->n_alts; a++) {
        for (const gr_elem *e = s->g->el + ru->alts[a]; e->kind == EL_REF; e++) {
            uint32_t w = e->arg;
            if (s->index[w] < 0) {
                scc_visit(s, w);
                if (s->low[w] < s->low[v]) s->low[v] = s->low[w];
            } else if (s->on_stack[w] && s->index[w] < s->low[v]) s->low[v] = s->index[w];
            if (!s->nullable[w]) break;
        }
    }
    if (s->low[v] == s->index[v]) {
        uint32_t w;
        do {
            w = s->stack[--s->sp];
            s->on_stack[w] = 0;
            s->comp[w] = s->n_comp;
        } while (w != v);
        s->n_comp++;
    }
}

/* Writes "u -> v -> ... -> u" (a left cycle through edge u -> v inside one component) to msg. */
static void cycle_text(const scc_ctx *s, uint32_t u, uint32_t v, char *msg, size_t cap) {
    const smol_grammar *g = s->g;
    uint32_t n = g->n_rules, *prev = malloc(n * sizeof *prev), *queue = malloc(n * sizeof *queue), qh = 0, qt = 0;
    if (!prev || !queue) {
        snprintf(msg, cap, "%s -> %s", g->rules[u].name, g->rules[v].name);
        free(prev), free(queue);
        return;
    }
    for (uint32_t i = 0; i < n; i++) prev[i] = UINT32_MAX;
    prev[v] = v;
    queue[qt++] = v;
    while (qh < qt && prev[u] == UINT32_MAX) {
        uint32_t x = queue[qh++];
        for (uint32_t a = 0; a < g->rules[x].n_alts; a++)
            for (const gr_elem *e = g->el + g->rules[x].alts[a]; e->kind == EL_REF; e++) {
                if (s->comp[e->arg] == s->comp[u] && prev[e->arg] == UINT32_MAX) prev[e->arg] = x, queue[qt++] = e->arg;
                if (!s->nullable[e->arg]) break;
            }
    }
    uint32_t path[64], k = 0;           /* u, then back from u to v */
    for (uint32_t x = u; k < 64; x = prev[x]) {
        path[k++] = x;
        if (x == v || prev[x] == UINT32_MAX) break;
    }
    size_t len = (size_t)snprintf(msg, cap, "%s", g->rules[u].name);
    for (uint32_t i = k; i-- > 0 && len < cap;) len += (size_t)snprintf(msg + len, cap - len, " -> %s", g->rules[path[i]].name);
    free(prev), free(queue);
}

/* SMOL_OK, or SMOL_EFORMAT naming a left cycle that goes through a non-tail edge. */
static int check_left_recursion(const smol_grammar *g, const uint8_t *nullable, smol_error *err) {
    uint32_t n = g->n_rules;
    scc_ctx s = {.g = g, .nullable = nullable};
    s.index = malloc(n * sizeof *s.index), s.low = malloc(n * sizeof *s.low), s.comp = malloc(n * sizeof *s.comp);
    s.stack = malloc(n * sizeof *s.stack), s.on_stack = calloc(n, 1);
    int rc = SMOL_OK;
    if (!s.index || !s.low || !s.comp || !s.stack || !s.on_stack) rc = smol_fail(err, SMOL_ENOMEM, "GBNF: out of memory");
    for (uint32_t i = 0; !rc && i < n; i++) s.index[i] = -1;
    for (uint32_t i = 0; !rc && i < n; i++)
        if (s.index[i] < 0) scc_visit(&s, i);
    for (uint32_t u = 0; !rc && u < n; u++)
        for (uint32_t a = 0; !rc && a < g->rules[u].n_alts; a++)
            for (const gr_elem *e = g->el + g->rules[u].alts[a]; !rc && e->kind == EL_REF; e++) {
                if (s.comp[e->arg] == s.comp[u] && e[1].kind != EL_END) {
                    char msg[600];
                    cycle_text(&s, u, e->arg, msg, 400);
                    rc = smol_fail(err, SMOL_EFORMAT, "GBNF: left recursion (%s): a rule reaches itself before any character", msg);
                }
                if (!nullable[e->arg]) break;
            }
    free(s.index), free(s.low), free(s.comp), free(s.stack), free(s.on_stack);
    return rc;
}

/* The first rule referenced but never defined, as an error naming where it is used. */
static int check_defined(const parser *ps) {
    const smol_grammar *g = ps->g;
    for (uint32_t r = 0; r < g->n_rules; r++)
        if (!g->rules[r].defined) {
            uint32_t line = 0, col = 0;
            if (g->rules[r].use_off) pos_of(ps, ps->s + g->rules[r].use_off - 1, &line, &col);
            return smol_fail(ps->err, SMOL_EFORMAT, "GBNF: undefined rule '%s' (used at %u:%u)", g->rules[r].name, line, col);
        }
    return SMOL_OK;
}

/* Every rule is defined (check_defined); finds the root and checks the rules can end. */
static int check_grammar(smol_grammar *g, const char *root, smol_error *err) {
    int found = 0;
    for (uint32_t r = 0; r < g->n_rules; r++)
        if (strcmp(g->rules[r].name, root) == 0) g->root = r, found = 1;
    if (!found) return smol_fail(err, SMOL_EFORMAT, "GBNF: no start rule '%s'", root);
    uint8_t *prod = malloc(g->n_rules * 2 + 1);
    if (!prod) return smol_fail(err, SMOL_ENOMEM, "GBNF: out of memory");
    uint8_t *nullable = prod + g->n_rules;
    derive_sets(g, prod, nullable);
    int rc = 0;
    int32_t bad = -1;                /* prefer naming a rule every alternative of which refers to itself */
    for (uint32_t r = 0; r < g->n_rules; r++) {
        if (prod[r]) continue;
        int self_all = 1;
        for (uint32_t a = 0; a < g->rules[r].n_alts && self_all; a++) {
            int self = 0;
            for (const gr_elem *e = g->el + g->rules[r].alts[a]; e->kind != EL_END; e++)
                if (e->kind == EL_REF && e->arg == r) self = 1;
            self_all = self;
        }
        if (bad < 0 || self_all) bad = (int32_t)r;
        if (self_all) break;
    }
    for (uint32_t r = (uint32_t)(bad < 0 ? 0 : bad); bad >= 0 && r == (uint32_t)bad && !rc; r++)
        if (!prod[r])
            rc = smol_fail(err, SMOL_EFORMAT, "GBNF: rule '%s' has no finite derivation (every alternative recurses)",
                           g->rules[r].name);
    if (!rc) rc = check_left_recursion(g, nullable, err);
    free(prod);
    return rc;
}

/* ================================================================ repetitions of nullable atoms
 *
 * x{m,n} is normally m copies of x then n - m nested optional copies. When x can derive the empty
 * string every copy can be skipped, so a parser state after a few characters holds stacks in
 * every one of the n copies at once (a state per position, each as large as n: quadratic work per
 * byte for ("a"? "b"? "c"?){1000}). Such a repetition matches exactly what x'{0,n} matches, where
 * x' derives the non-empty strings of x (x{m,} likewise is x'*): a copy either adds characters or
 * may as well be left out. x' is built by removing the empty string from the rules x uses: for
 * an alternative X1 .. Xk, one alternative per position i whose X1 .. X(i-1) can all be empty,
 * namely X'i X(i+1) .. Xk (X'i = Xi when Xi cannot be empty). */

typedef struct nullfree {
    parser *ps;
    uint8_t *nul, *nonempty;    /* per rule: derives the empty string / some non-empty string */
    int32_t *ne_of;             /* per rule: its empty-free rule, -1 not made yet */
    uint32_t cap;
    uint32_t *work;             /* rules whose empty-free rule awaits its alternatives */
    uint32_t n_work, cap_work;
    uint32_t *chain_from, *chain_to;   /* per chain of optional copies: its rules O_1 .. O_n */
    uint32_t n_chains;
} nullfree;

/* Makes room for the properties of every rule so far (new ones: 0, 0, -1). */
static int nf_fit(nullfree *nf) {
    uint32_t n = nf->ps->g->n_rules;
    if (n <= nf->cap) return 0;
    uint32_t nc = n * 2;
    uint8_t *a = realloc(nf->nul, nc), *b = realloc(nf->nonempty, nc);
    if (a) nf->nul = a;
    if (b) nf->nonempty = b;
    int32_t *c = realloc(nf->ne_of, nc * sizeof *c);
    if (c) nf->ne_of = c;
    if (!a || !b || !c) return oom(nf->ps);
    memset(nf->nul + nf->cap, 0, nc - nf->cap);
    memset(nf->nonempty + nf->cap, 0, nc - nf->cap);
    for (uint32_t i = nf->cap; i < nc; i++) nf->ne_of[i] = -1;
    nf->cap = nc;
    return 0;
}

/* Gives the rules made since rule index from the properties nul and nonempty. */
static int nf_mark(nullfree *nf, uint32_t from, uint8_t nul, uint8_t nonempty) {
    if (nf_fit(nf)) return nf->ps->rc;
    for (uint32_t r = from; r < nf->ps->g->n_rules; r++) nf->nul[r] = nul, nf->nonempty[r] = nonempty;
    return 0;
}

/* The empty-free rule of nullable rule r (made on first use; its alternatives come later). */
static int32_t nf_rule(nullfree *nf, uint32_t r) {
    if (nf->ne_of[r] >= 0) return nf->ne_of[r];
    int32_t t = rule_new_generated(nf->ps, r);
    if (t < 0 || nf_mark(nf, (uint32_t)t, 0, 1)) return -1;
    if (grow((void **)&nf->work, &nf->cap_work, nf->n_work + 1, sizeof *nf->work)) return oom(nf->ps), -1;
    nf->work[nf->n_work++] = r;
    return nf->ne_of[r] = t;
}

/* Adds to rule target the empty-free alternatives of the sequence x[0..n) (a copy, not into el). */
static int nf_alts(nullfree *nf, uint32_t target, const gr_elem *x, uint32_t n) {
    seq q = {0};
    for (uint32_t i = 0; i < n && !nf->ps->rc; i++) {
        uint32_t k = x[i].kind, a = x[i].arg;
        int last = k == EL_CHAR || !nf->nul[a];
        if (!last && !nf->nonempty[a]) continue;             /* only ever empty: skipped */
        int32_t first = last ? (int32_t)a : nf_rule(nf, a);
        if (first < 0) break;
        if (!last && (uint32_t)first == target && i + 1 == n) continue;   /* target ::= target */
        q.n = 0;
        if (seq_push(nf->ps, &q, k, (uint32_t)first)) break;
        for (uint32_t j = i + 1; j < n; j++)
            if (seq_push(nf->ps, &q, x[j].kind, x[j].arg)) break;
        if (nf->ps->rc || rule_add_alt(nf->ps, target, &q)) break;
        if (last) break;
    }
    free(q.el);
    return nf->ps->rc;
}

/* Marks nonempty[] for the rules so far by a fixed point (some alternative holds a character or
 * a rule that derives a non-empty string). */
static void nf_nonempty(nullfree *nf) {
    const smol_grammar *g = nf->ps->g;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t r = 0; r < g->n_rules; r++) {
            if (nf->nonempty[r]) continue;
            for (uint32_t a = 0; a < g->rules[r].n_alts && !nf->nonempty[r]; a++)
                for (const gr_elem *e = g->el + g->rules[r].alts[a]; e->kind != EL_END; e++)
                    if (e->kind == EL_CHAR || nf->nonempty[e->arg]) {
                        nf->nonempty[r] = 1, changed = 1;
                        break;
                    }
        }
    }
}

/* Expands repetition rp into its rule, through an empty-free atom when the atom can be empty. */
static int expand_one(nullfree *nf, const repeat *rp) {
    parser *ps = nf->ps;
    int nullable = 1, nonempty = 0;
    for (uint32_t i = 0; i < rp->atom.n; i++) {
        nullable &= nf->nul[rp->atom.el[i].arg];
        nonempty |= nf->nonempty[rp->atom.el[i].arg];
    }
    seq q = {0}, atom = {0};
    uint32_t from = ps->g->n_rules;
    if (!nullable) {
        apply_repeat(ps, rp->rule, &q, &rp->atom, rp->n_min, rp->n_max);
    } else if (nonempty) {
        int32_t a = rule_new_generated(ps, rp->rule);
        if (a >= 0 && !nf_mark(nf, (uint32_t)a, 0, 1) && !nf_alts(nf, (uint32_t)a, rp->atom.el, rp->atom.n) &&
            !seq_push(ps, &atom, EL_REF, (uint32_t)a)) {
            from = ps->g->n_rules;
            apply_repeat(ps, rp->rule, &q, &atom, 0, rp->n_max);
            if (rp->n_max >= 2 && !ps->rc) nf->chain_from[nf->n_chains] = from, nf->chain_to[nf->n_chains++] = ps->g->n_rules;
        }
    }
    if (!ps->rc && !nf_mark(nf, from, 1, 1)) rule_add_alt(ps, rp->rule, &q);   /* chain rules: nullable */
    free(q.el), free(atom.el);
    return ps->rc;
}

/* Expands the deferred repetitions: their nullability is found with each standing for its atom
 * (or the empty string when n_min is 0), then each becomes its chain of copies. */
static int expand_repeats(parser *ps) {
    smol_grammar *g = ps->g;
    nullfree nf = {.ps = ps};
    seq empty = {0};
    nf.chain_from = malloc((ps->n_reps + 1) * sizeof *nf.chain_from);
    nf.chain_to = malloc((ps->n_reps + 1) * sizeof *nf.chain_to);
    if (!nf.chain_from || !nf.chain_to) oom(ps);
    for (uint32_t i = 0; i < ps->n_reps && !ps->rc; i++) {
        rule_add_alt(ps, ps->reps[i].rule, &ps->reps[i].atom);
        if (ps->reps[i].n_min == 0) rule_add_alt(ps, ps->reps[i].rule, &empty);
    }
    uint8_t *prod = ps->rc ? NULL : malloc(g->n_rules + 1);
    if (!ps->rc && (!prod || nf_fit(&nf))) oom(ps);
    if (!ps->rc) {
        derive_sets(g, prod, nf.nul);
        nf_nonempty(&nf);
        for (uint32_t i = 0; i < ps->n_reps; i++) g->rules[ps->reps[i].rule].n_alts = 0;
    }
    for (uint32_t i = 0; i < ps->n_reps && !ps->rc; i++) expand_one(&nf, &ps->reps[i]);
    seq alt = {0};
    while (nf.n_work && !ps->rc) {               /* fill the empty-free rules */
        uint32_t r = nf.work[--nf.n_work];
        for (uint32_t a = 0; a < g->rules[r].n_alts && !ps->rc; a++) {
            alt.n = 0;
            for (const gr_elem *e = g->el + g->rules[r].alts[a]; e->kind != EL_END && !ps->rc; e++) seq_push(ps, &alt, e->kind, e->arg);
            if (!ps->rc) nf_alts(&nf, (uint32_t)nf.ne_of[r], alt.el, alt.n);
        }
    }
    if (!ps->rc && nf.n_chains && !(g->chain = calloc(g->n_el + 1, sizeof *g->chain))) oom(ps);
    for (uint32_t c = 0; c < nf.n_chains && !ps->rc; c++)      /* O_k ::= A O_(k-1) | (empty), k >= 2 */
        for (uint32_t r = nf.chain_from[c] + 1; r < nf.chain_to[c] && r - nf.chain_from[c] < 0xFFFF; r++)
            g->chain[g->rules[r].alts[0] + 1] = (c + 1) << 16 | (r - nf.chain_from[c] + 1);
    free(alt.el), free(prod), free(nf.nul), free(nf.nonempty), free(nf.ne_of), free(nf.work);
    free(nf.chain_from), free(nf.chain_to);
    return ps->rc;
}

int smol_grammar_from_gbnf(const char *text, size_t len, const char *root, smol_grammar **out, smol_error *err) {
    *out = NULL;
    if (!text) return smol_fail(err, SMOL_EINVAL, "GBNF: no text");
    smol_grammar *g = calloc(1, sizeof *g);
    if (!g) return smol_fail(err, SMOL_ENOMEM, "GBNF: out of memory");
    parser ps = {.s = text, .end = text + len, .p = text, .g = g, .err = err};
    for (;;) {
        skip_space(&ps, 1);
        if (ps.p >= ps.end) break;
        if (parse_rule(&ps)) break;
    }
    if (!ps.rc && ps.n_reps) expand_repeats(&ps);
    for (uint32_t i = 0; i < ps.n_reps; i++) free(ps.reps[i].atom.el);
    free(ps.reps);
    free(ps.names);
    int rc = ps.rc;
    if (!rc && g->n_rules == 0) rc = smol_fail(err, SMOL_EFORMAT, "GBNF: no rules");
    if (!rc) rc = check_defined(&ps);
    if (!rc) rc = check_grammar(g, root ? root : "root", err);
    if (rc) {
        smol_grammar_free(g);
        return rc;
    }
    *out = g;
    return SMOL_OK;
}

int smol_grammar_from_regex(const char *regex, smol_grammar **out, smol_error *err) {
    *out = NULL;
    char *text = NULL;
    int rc = smol_regex_to_gbnf(regex, "root", &text, err);
    if (rc) return rc;
    rc = smol_grammar_from_gbnf(text, strlen(text), "root", out, err);
    free(text);
    return rc;
}

int smol_grammar_from_choice(const char *const *choices, int n, smol_grammar **out, smol_error *err) {
    *out = NULL;
    if (n <= 0) return smol_fail(err, SMOL_EINVAL, "choice: no choices");
    smol_grammar *g = calloc(1, sizeof *g);
    if (!g) return smol_fail(err, SMOL_ENOMEM, "choice: out of memory");
    parser ps = {.s = "", .end = "", .p = "", .g = g, .err = err};
    int32_t r = rule_get(&ps, "root", 4);
    seq q = {0};
    for (int i = 0; i < n && r >= 0 && !ps.rc; i++) {
        q.n = 0;
        parser cs = {.s = choices[i], .end = choices[i] + strlen(choices[i]), .p = choices[i], .g = g, .err = err};
        while (cs.p < cs.end && !cs.rc) {
            const char *at = cs.p;
            int32_t c = utf8_next(&cs);
            if (c < 0) {
                cs.rc = smol_fail(err, SMOL_EINVAL, "choice %d: invalid UTF-8 at byte %d", i + 1, (int)(at - cs.s));
                break;
            }
            gr_range rg = {(uint32_t)c, (uint32_t)c};
            int32_t k = class_add(&cs, &rg, 1, 0);
            if (k < 0 || seq_push(&cs, &q, EL_CHAR, (uint32_t)k)) break;
        }
        ps.rc = cs.rc;
        if (!ps.rc) rule_add_alt(&ps, (uint32_t)r, &q);
    }
    free(q.el);
    free(ps.names);
    int rc = ps.rc;
    if (!rc) {
        g->rules[0].defined = 1;
        rc = check_grammar(g, "root", err);
    }
    if (rc) {
        smol_grammar_free(g);
        return rc;
    }
    *out = g;
    return SMOL_OK;
}

/* ================================================================ matcher runtime */

#define ST_DEAD (-1)
#define ST_OOM (-2)
#define ST_UNKNOWN (-3)
#define ST_DONE (-4)        /* in a matcher's history: an end-of-generation token was accepted */

/* dstate.alpha_kind: not computed yet; computed (ASCII bytes in alpha[]); computed, and the
 * alphabet holds every non-ASCII character too. */
enum { ALPHA_UNKNOWN = 0, ALPHA_ASCII = 1, ALPHA_UTF8 = 2 };

/* A subtree of the trie is tested for being accepted whole when its state's alphabet is known or
 * the subtree holds at least this many tokens (below that, exploring a new state's alphabet costs
 * more than walking the subtree); a state's alphabet is explored over levels of at most
 * ALPHA_MAX_STATES states, ALPHA_MAX_REACH states in all (from the state, else from each of its
 * first ALPHA_MAX_STACKS stacks alone) and kept only with at least ALPHA_MIN_BYTES bytes. */
#define ALPHA_MIN_TOKENS 256
#define ALPHA_MAX_STATES 24
#define ALPHA_MAX_REACH 40
#define ALPHA_MIN_BYTES 16
#define ALPHA_MAX_STACKS 4

/* A whole-trie walk from a state whose alphabet has at least this many bytes clears refused
 * tokens from the full set rather than setting accepted ones. */
#define NEG_MIN_BYTES 48

/* Reserved nodes: the empty stack (the output is complete), the bottom of a truncated stack
 * (reached with nothing consumed past it) and "something was consumed past the bottom". */
#define N_ACCEPT 0u
#define N_BOTTOM 1u
#define N_UNSURE 2u

/* Masks are computed for states whose stacks are cut to this many frames (shared by every state
 * with the same top frames); tokens that reach past the cut are checked against the full state. */
#define TRUNC_DEPTH 4

typedef struct node {
    uint32_t pos, parent;   /* next element of the alternative; the stack below (0: none) */
} node;

typedef struct dstate {
    uint32_t set;           /* parser state: interned set of nodes */
    uint32_t acc;           /* partial UTF-8 character: bits so far */
    uint8_t need;           /* continuation bytes still to come */
    uint8_t can_end;
    uint8_t has_real;       /* some member is a real stack or the empty one (not a truncation marker) */
    uint8_t bottom;         /* holds N_BOTTOM: a truncated stack was emptied exactly here */
    int32_t trunc;          /* the state with stacks cut to TRUNC_DEPTH frames, -1 unknown */
    uint32_t need_bytes;    /* the fewest bytes that complete the output from here (full states) */
    uint32_t *unsure;       /* with mask (truncated states): trie subtrees the cut left open */
    uint32_t n_unsure;
    uint8_t alpha_kind;     /* ALPHA_*: whether alpha is known and covers non-ASCII characters */
    uint16_t alpha_height;  /* the alphabet holds for strings of at most this many characters */
    uint8_t maybe_known;    /* maybe[] computed */
    uint8_t live_known;     /* live[] computed (live_bytes) */
    uint8_t eq_known;       /* the byte classes after trans[256] are filled */
    uint64_t live[2];       /* ASCII bytes after which the state is alive with a real stack */
    uint64_t maybe[4];      /* bytes that might lead somewhere (a clear bit: the byte is refused) */
    uint64_t alpha[2];      /* ASCII bytes every string of which is accepted from here (state_alphabet) */
    int32_t *trans;         /* [256] next state per byte, ST_UNKNOWN until computed, then the byte
                               classes eq[256] (byte_classes, once eq_known); NULL: none yet */
    uint32_t *mask;         /* cached token mask, or NULL */
    int32_t n_allowed;
} dstate;

/* Open-addressing hash table from a 64-bit key to a uint32 value. */
typedef struct htab {
    uint64_t *keys;         /* key + 1; 0 empty */
    uint32_t *vals;
    uint64_t cap, n;
} htab;

typedef struct runtime {
    const smol_grammar *g;
    const smol_token_index *ti;
    int refs;
    node *nodes;
    uint32_t n_nodes, cap_nodes;
    htab node_map;
    uint32_t *closure;      /* [n_nodes] set id + 1 of the node's closure, 0 unknown */
    uint32_t cap_closure;
    uint32_t *pool;         /* set members */
    uint32_t n_pool, cap_pool;
    uint32_t *set_off, *set_len;
    uint32_t n_sets, cap_sets, cap_sets2;
    htab set_map;           /* hash of members -> set ids chained by probing */
    dstate *ds;
    uint32_t n_ds, cap_ds;
    htab ds_map;
    uint32_t *dfs;          /* closure search stack */
    uint32_t n_dfs, cap_dfs;
    uint32_t *visited;      /* [cap_visited] closure search marks (== stamp: seen) */
    uint32_t cap_visited, stamp;
    uint32_t *scratch;      /* set building */
    uint32_t n_scratch, cap_scratch;
    int32_t *mask_ring;     /* states holding a cached mask, oldest first */
    uint32_t n_ring, ring_head, max_masks;
    int32_t *walk;          /* per-depth states of the trie walk */
    uint32_t *trunc;        /* [cap_trunc] node id + 1 of each node's truncated stack, 0 unknown */
    uint32_t cap_trunc;
    uint32_t *unsure_buf;   /* trie subtrees a truncated walk left open */
    uint32_t n_unsure, cap_unsure;
    uint32_t *el_min;       /* [n_el] fewest bytes from element i to the end of its alternative */
    uint8_t *cls_min;       /* [n_cls] bytes of the class's shortest character (MIN_INF: none) */
    uint32_t *node_min;     /* [cap_node_min] fewest bytes that empty node i's stack */
    uint32_t cap_node_min;
    int32_t start;
} runtime;

struct smol_matcher {
    runtime *rt;
    int32_t *hist;          /* hist[0] the start, hist[n_steps] the current state */
    uint32_t n_hist, cap_hist;
};

/* The number of bits set in x (inline: without -mpopcnt the builtin is a library call). */
static inline int bits64(uint64_t x) {
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (int)((x * 0x0101010101010101ull) >> 56);
}

/* Sets bits lo..hi (clipped to ASCII) of the 128-bit set m[2]. */
static inline void ascii_range(uint64_t m[2], uint32_t lo, uint32_t hi) {
    if (lo > 127) return;
    if (hi > 127) hi = 127;
    for (uint32_t w = lo >> 6; w <= hi >> 6; w++) {
        uint32_t a = w == lo >> 6 ? lo & 63 : 0, b = w == hi >> 6 ? hi & 63 : 63;
        m[w] |= (~0ull >> (63 - b)) & (~0ull << a);
    }
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static int htab_grow(htab *h) {
    uint64_t nc = h->cap ? h->cap * 2 : 1024;
    uint64_t *nk = calloc(nc, sizeof *nk);
    uint32_t *nv = malloc(nc * sizeof *nv);
    if (!nk || !nv) return free(nk), free(nv), SMOL_ENOMEM;
    for (uint64_t i = 0; i < h->cap; i++) {
        if (!h->keys[i]) continue;
        uint64_t j = mix64(h->keys[i] - 1) & (nc - 1);
        while (nk[j]) j = (j + 1) & (nc - 1);
        nk[j] = h->keys[i], nv[j] = h->vals[i];
    }
    free(h->keys), free(h->vals);
    h->keys = nk, h->vals = nv, h->cap = nc;
    return 0;
}

/* The slot of key (found, or empty where it would go); grows first when needed. -1 on OOM. */
static int64_t htab_slot(htab *h, uint64_t key) {
    if ((h->n + 1) * 2 > h->cap && htab_grow(h)) return -1;
    uint64_t j = mix64(key) & (h->cap - 1);
    while (h->keys[j] && h->keys[j] != key + 1) j = (j + 1) & (h->cap - 1);
    return (int64_t)j;
}

static void htab_free(htab *h) {
    free(h->keys), free(h->vals);
}

/* Minimal completion lengths are saturated at MIN_INF (nothing completes). */
#define MIN_INF 0x3FFFFFFFu

static uint32_t min_add(uint32_t a, uint32_t b) { return a >= MIN_INF - b ? MIN_INF : a + b; }

/* The id of node (pos, parent), interned; -1 on OOM. */
static int64_t node_id(runtime *rt, uint32_t pos, uint32_t parent) {
    uint64_t key = (uint64_t)pos << 32 | parent;
    int64_t s = htab_slot(&rt->node_map, key);
    if (s < 0) return -1;
    if (rt->node_map.keys[s]) return rt->node_map.vals[s];
    if (grow((void **)&rt->nodes, &rt->cap_nodes, rt->n_nodes + 1, sizeof *rt->nodes) ||
        grow((void **)&rt->node_min, &rt->cap_node_min, rt->n_nodes + 1, sizeof *rt->node_min))
        return -1;
    uint32_t id = rt->n_nodes++;
    rt->nodes[id] = (node){pos, parent};
    /* reserved nodes (positions past the elements) count as complete; parents come first */
    rt->node_min[id] = pos >= rt->g->n_el ? 0 : min_add(rt->el_min[pos], rt->node_min[parent]);
    rt->node_map.keys[s] = key + 1;
    rt->node_map.vals[s] = id;
    rt->node_map.n++;
    return id;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Interns the sorted, deduplicated members m[0..n) as a set; returns its id or -1. */
static int64_t set_id(runtime *rt, const uint32_t *m, uint32_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (uint32_t i = 0; i < n; i++) h = mix64(h ^ m[i]) + i;
    h &= 0x7FFFFFFFFFFFFFFFull;
    for (;;) {                               /* probe by rehashing on a collision of contents */
        int64_t s = htab_slot(&rt->set_map, h);
        if (s < 0) return -1;
        if (!rt->set_map.keys[s]) break;
        uint32_t id = rt->set_map.vals[s];
        if (rt->set_len[id] == n && memcmp(rt->pool + rt->set_off[id], m, n * sizeof *m) == 0) return id;
        h = (h * 31 + 7) & 0x7FFFFFFFFFFFFFFFull;
    }
    if (grow((void **)&rt->pool, &rt->cap_pool, rt->n_pool + n, sizeof *rt->pool)) return -1;
    if (grow((void **)&rt->set_off, &rt->cap_sets, rt->n_sets + 1, sizeof *rt->set_off) ||
        grow((void **)&rt->set_len, &rt->cap_sets2, rt->n_sets + 1, sizeof *rt->set_len))
        return -1;
    int64_t s = htab_slot(&rt->set_map, h);
    if (s < 0) return -1;
    uint32_t id = rt->n_sets++;
    if (n) memcpy(rt->pool + rt->n_pool, m, n * sizeof *m);
    rt->set_off[id] = rt->n_pool;
    rt->set_len[id] = n;
    rt->n_pool += n;
    rt->set_map.keys[s] = h + 1;
    rt->set_map.vals[s] = id;
    rt->set_map.n++;
    return id;
}

static int dfs_push(runtime *rt, uint32_t v) {
    if (grow((void **)&rt->dfs, &rt->cap_dfs, rt->n_dfs + 1, sizeof *rt->dfs)) return -1;
    rt->dfs[rt->n_dfs++] = v;
    return 0;
}

static int grow_visited(runtime *rt, uint32_t x) {
    if (x < rt->cap_visited) return 0;
    uint32_t old = rt->cap_visited;
    if (grow((void **)&rt->visited, &rt->cap_visited, x + 1, sizeof *rt->visited)) return -1;
    memset(rt->visited + old, 0, (rt->cap_visited - old) * sizeof *rt->visited);
    return 0;
}

static int scratch_push(runtime *rt, uint32_t v) {
    if (grow((void **)&rt->scratch, &rt->cap_scratch, rt->n_scratch + 1, sizeof *rt->scratch)) return -1;
    rt->scratch[rt->n_scratch++] = v;
    return 0;
}

/* Sorts and deduplicates scratch[from..] and interns it; the scratch is cut back to from. */
static int64_t scratch_set(runtime *rt, uint32_t from) {
    uint32_t *m = rt->scratch + from, n = rt->n_scratch - from, k = 0;
    if (n > 24) qsort(m, n, sizeof *m, cmp_u32);
    else
        for (uint32_t i = 1; i < n; i++) {         /* small sets (the usual case): insertion sort */
            uint32_t v = m[i], j = i;
            for (; j > 0 && m[j - 1] > v; j--) m[j] = m[j - 1];
            m[j] = v;
        }
    for (uint32_t i = 0; i < n; i++)
        if (!k || m[i] != m[k - 1]) m[k++] = m[i];
    int64_t id = set_id(rt, m, k);
    rt->n_scratch = from;
    return id;
}

/* The set of stacks node n expands to (tops are classes, or N_ACCEPT / N_BOTTOM); -1 on OOM.
 * A depth-first search over empty moves with a visited mark, so cycles of tail calls (a
 * repetition of something that can be empty) end; only complete results are memoized. */
static int64_t closure_of(runtime *rt, uint32_t n) {
    if (n < rt->cap_closure && rt->closure[n]) return rt->closure[n] - 1;
    const smol_grammar *g = rt->g;
    uint32_t from = rt->n_scratch, base = rt->n_dfs;
    if (++rt->stamp == 0) {                 /* wrapped: clear the marks */
        memset(rt->visited, 0, rt->cap_visited * sizeof *rt->visited);
        rt->stamp = 1;
    }
    uint32_t stamp = rt->stamp;
    if (dfs_push(rt, n)) return -1;
    while (rt->n_dfs > base) {
        uint32_t x = rt->dfs[--rt->n_dfs];
        if (x <= N_BOTTOM) {                /* complete, or past the bottom of a truncated stack */
            if (scratch_push(rt, x)) return -1;
            continue;
        }
        if (grow_visited(rt, x)) return -1;
        if (rt->visited[x] == stamp) continue;
        rt->visited[x] = stamp;
        if (x != n && x < rt->cap_closure && rt->closure[x]) {
            uint32_t c = rt->closure[x] - 1;
            for (uint32_t i = 0; i < rt->set_len[c]; i++)
                if (scratch_push(rt, rt->pool[rt->set_off[c] + i])) return -1;
            continue;
        }
        node nd = rt->nodes[x];
        gr_elem e = g->el[nd.pos];
        if (e.kind == EL_CHAR) {
            if (scratch_push(rt, x)) return -1;
        } else if (e.kind == EL_END) {
            if (dfs_push(rt, nd.parent)) return -1;
        } else {
            /* a reference last in its alternative returns straight to the parent (tail call):
             * right recursion such as repetitions keeps a constant stack depth */
            int64_t cont = g->el[nd.pos + 1].kind == EL_END ? nd.parent : node_id(rt, nd.pos + 1, nd.parent);
            if (cont < 0) return -1;
            const gr_rule *ru = &g->rules[e.arg];
            for (uint32_t a = ru->n_alts; a-- > 0;) {
                int64_t child = node_id(rt, ru->alts[a], (uint32_t)cont);
                if (child < 0 || dfs_push(rt, (uint32_t)child)) return -1;
            }
        }
    }
    int64_t id = scratch_set(rt, from);
    if (id < 0) return -1;
    uint32_t old_cap = rt->cap_closure;
    if (grow((void **)&rt->closure, &rt->cap_closure, n + 1, sizeof *rt->closure)) return -1;
    memset(rt->closure + old_cap, 0, (rt->cap_closure - old_cap) * sizeof *rt->closure);
    rt->closure[n] = (uint32_t)id + 1;
    return id;
}

static int class_has(const smol_grammar *g, uint32_t k, uint32_t lo, uint32_t hi) {
    const gr_class *c = &g->cls[k];
    for (uint32_t i = 0; i < c->n; i++) {
        const gr_range *r = &g->rg[c->first + i];
        if (r->lo > hi) return 0;
        if (r->hi >= lo) return 1;
    }
    return 0;
}

/* The chain node of stack n: the first frame (within 16) at the element after a copy in a chain
 * of optional copies, or UINT32_MAX; *h gets a hash of the frames above it, its chain and what
 * lies below it. */
static uint32_t chain_frame(const runtime *rt, uint32_t n, uint64_t *h) {
    const uint32_t *chain = rt->g->chain;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint32_t d = 0; d < 16 && n > N_UNSURE; d++, n = rt->nodes[n].parent) {
        uint32_t c = chain[rt->nodes[n].pos];
        if (c) {
            *h = mix64(x ^ (uint64_t)(c >> 16) << 32 ^ rt->nodes[n].parent);
            return n;
        }
        x = mix64(x ^ rt->nodes[n].pos);
    }
    return UINT32_MAX;
}

/* Do stacks a and b differ only in the copies left at their chain frames (ca, cb)? */
static int same_but_copies(const runtime *rt, uint32_t a, uint32_t ca, uint32_t b, uint32_t cb) {
    while (a != ca && b != cb) {
        if (rt->nodes[a].pos != rt->nodes[b].pos) return 0;
        a = rt->nodes[a].parent, b = rt->nodes[b].parent;
    }
    return a == ca && b == cb && rt->g->chain[rt->nodes[a].pos] >> 16 == rt->g->chain[rt->nodes[b].pos] >> 16 &&
           rt->nodes[a].parent == rt->nodes[b].parent;
}

typedef struct chain_key {
    uint64_t h;
    uint32_t left, node, frame;
} chain_key;

static int cmp_chain_key(const void *a, const void *b) {
    const chain_key *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return x->left > y->left ? -1 : x->left < y->left;   /* most copies left first */
}

/* Drops from scratch[from..] the stacks that another one subsumes: the same frames, but in a
 * chain of optional copies with fewer copies left (x{0,j} matches a subset of what x{0,k}
 * matches for j < k). Keeps a state from holding one stack per number of copies used so far. */
static int prune_chains(runtime *rt, uint32_t from) {
    uint32_t n = rt->n_scratch - from, kept = 0, k = 0;
    if (n < 2) return 0;
    chain_key *key = malloc(n * sizeof *key);
    if (!key) return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t m = rt->scratch[from + i];
        uint64_t h = 0;
        uint32_t f = chain_frame(rt, m, &h);
        if (f == UINT32_MAX) rt->scratch[from + kept++] = m;
        else key[k++] = (chain_key){h, rt->g->chain[rt->nodes[f].pos] & 0xFFFF, m, f};
    }
    if (k > 1) qsort(key, k, sizeof *key, cmp_chain_key);
    for (uint32_t i = 0, lead = 0; i < k; i++) {
        if (i > 0 && key[i].h == key[lead].h && key[i].left < key[lead].left &&
            same_but_copies(rt, key[i].node, key[i].frame, key[lead].node, key[lead].frame))
            continue;
        if (i == 0 || key[i].h != key[lead].h) lead = i;
        rt->scratch[from + kept++] = key[i].node;
    }
    rt->n_scratch = from + kept;
    free(key);
    return 0;
}

/* The parser state after code point cp from set s: set id, ST_DEAD or ST_OOM. */
static int64_t step_cp(runtime *rt, uint32_t s, uint32_t cp) {
    uint32_t from = rt->n_scratch;
    for (uint32_t i = 0; i < rt->set_len[s]; i++) {
        uint32_t n = rt->pool[rt->set_off[s] + i];
        if (n == N_ACCEPT) continue;
        if (n == N_BOTTOM || n == N_UNSURE) {   /* truncated: what follows is not known here */
            if (scratch_push(rt, N_UNSURE)) return rt->n_scratch = from, ST_OOM;
            continue;
        }
        node nd = rt->nodes[n];
        if (!class_has(rt->g, rt->g->el[nd.pos].arg, cp, cp)) continue;
        int64_t next = node_id(rt, nd.pos + 1, nd.parent);
        int64_t c = next < 0 ? -1 : closure_of(rt, (uint32_t)next);
        if (c < 0) return rt->n_scratch = from, ST_OOM;
        for (uint32_t j = 0; j < rt->set_len[c]; j++)
            if (scratch_push(rt, rt->pool[rt->set_off[c] + j])) return rt->n_scratch = from, ST_OOM;
    }
    if (rt->n_scratch == from) return ST_DEAD;
    if (rt->g->chain && prune_chains(rt, from)) return rt->n_scratch = from, ST_OOM;
    int64_t id = scratch_set(rt, from);
    return id < 0 ? ST_OOM : id;
}

/* The fewest bytes that complete the output from parser state set with a partial character (acc
 * so far, need continuation bytes to come): over its stacks, the rest of the character, then
 * the shortest derivation of what follows (reserved nodes count as complete). */
static uint32_t state_need(const runtime *rt, uint32_t set, uint32_t acc, uint32_t need) {
    uint32_t best = MIN_INF, lo = acc << (6 * need), hi = lo | ((1u << (6 * need)) - 1);
    for (uint32_t i = 0; i < rt->set_len[set]; i++) {
        uint32_t n = rt->pool[rt->set_off[set] + i], v;
        if (need == 0 || n <= N_UNSURE) v = rt->node_min[n];
        else {
            uint32_t k = rt->g->el[rt->nodes[n].pos].arg;
            if (!class_has(rt->g, k, lo, hi)) continue;
            v = min_add(need, rt->node_min[n] - rt->cls_min[k]);
        }
        if (v < best) best = v;
    }
    return best;
}

/* The DFA state (set, acc, need), interned: its id or ST_OOM. */
static int32_t dstate_id(runtime *rt, uint32_t set, uint32_t acc, uint32_t need) {
    uint64_t key = (uint64_t)set << 32 | (acc << 2 | need);
    int64_t s = htab_slot(&rt->ds_map, key);
    if (s < 0) return ST_OOM;
    if (rt->ds_map.keys[s]) return (int32_t)rt->ds_map.vals[s];
    if (rt->n_ds >= INT32_MAX / 2 || grow((void **)&rt->ds, &rt->cap_ds, rt->n_ds + 1, sizeof *rt->ds)) return ST_OOM;
    uint32_t id = rt->n_ds++;
    dstate *d = &rt->ds[id];
    memset(d, 0, sizeof *d);
    d->set = set, d->acc = acc, d->need = (uint8_t)need;
    d->trunc = -1;
    for (uint32_t i = 0; i < rt->set_len[set]; i++) {
        uint32_t n = rt->pool[rt->set_off[set] + i];
        if (n == N_ACCEPT && need == 0) d->can_end = 1;
        if (n == N_BOTTOM) d->bottom = 1;
        if (n == N_ACCEPT || n > N_UNSURE) d->has_real = 1;
    }
    d->need_bytes = state_need(rt, set, acc, need);
    rt->ds_map.keys[s] = key + 1;
    rt->ds_map.vals[s] = id;
    rt->ds_map.n++;
    return (int32_t)id;
}

/* Could some stack of set s take a code point in [lo, hi]? */
static int set_can_take(runtime *rt, uint32_t s, uint32_t lo, uint32_t hi) {
    for (uint32_t i = 0; i < rt->set_len[s]; i++) {
        uint32_t n = rt->pool[rt->set_off[s] + i];
        if (n == N_BOTTOM || n == N_UNSURE) return 1;
        if (n > N_UNSURE && class_has(rt->g, rt->g->el[rt->nodes[n].pos].arg, lo, hi)) return 1;
    }
    return 0;
}

/* Computes the transition of state d on byte b (UTF-8 decoding, then the parser step). */
static int32_t compute_trans(runtime *rt, int32_t d, uint32_t b) {
    dstate st = rt->ds[d];
    uint32_t acc, need, min_cp = 0;
    if (st.need == 0) {
        if (b < 0x80) acc = b, need = 0;
        else if (b >= 0xC2 && b <= 0xDF) acc = b & 0x1F, need = 1;
        else if (b >= 0xE0 && b <= 0xEF) acc = b & 0x0F, need = 2;
        else if (b >= 0xF0 && b <= 0xF4) acc = b & 0x07, need = 3;
        else return ST_DEAD;
    } else {
        if ((b & 0xC0) != 0x80) return ST_DEAD;
        acc = st.acc << 6 | (b & 0x3F), need = st.need - 1u;
    }
    if (need == 0) {
        if (acc > MAX_CP || (acc >= 0xD800 && acc <= 0xDFFF)) return ST_DEAD;
        int64_t s = step_cp(rt, st.set, acc);
        if (s < 0) return (int32_t)s;
        return dstate_id(rt, (uint32_t)s, 0, 0);
    }
    uint32_t lo = acc << (6 * need), hi = lo | ((1u << (6 * need)) - 1);
    if (st.need == 0) min_cp = need == 1 ? 0x80 : need == 2 ? 0x800 : 0x10000;   /* no overlong forms */
    if (lo < min_cp) lo = min_cp;
    if (lo > hi || lo > MAX_CP || !set_can_take(rt, st.set, lo, hi < MAX_CP ? hi : MAX_CP)) return ST_DEAD;
    return dstate_id(rt, st.set, acc, need);
}

/* Is every code point of [lo, hi] in class k, or none of them? */
static int class_uniform(const smol_grammar *g, uint32_t k, uint32_t lo, uint32_t hi) {
    const gr_class *c = &g->cls[k];
    for (uint32_t i = 0; i < c->n; i++) {
        const gr_range *r = &g->rg[c->first + i];
        if (r->lo > hi) return 1;
        if (r->hi >= lo) return r->lo <= lo && r->hi >= hi;
    }
    return 1;
}

/* Fills eq[0..256) for state d: eq[b] is a byte whose transition from d equals b's (the same
 * stacks take the code point: step_cp only asks which classes hold it), so one computation
 * serves both. At a character boundary, ASCII bytes between the same class range ends, then
 * (up to 64 stacks) runs of them taken by the same stacks; before the last byte of a character,
 * every continuation byte when no class splits the 64 code points they complete. Otherwise
 * eq[b] = b. */
static void byte_classes(const runtime *rt, const dstate *d, uint8_t *eq) {
    uint32_t set = d->set, n = rt->set_len[set];
    for (uint32_t b = 0; b < 256; b++) eq[b] = (uint8_t)b;
    if (d->need == 1) {
        uint32_t lo = d->acc << 6, hi = lo | 63;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t m = rt->pool[rt->set_off[set] + i];
            if (m > N_UNSURE && !class_uniform(rt->g, rt->g->el[rt->nodes[m].pos].arg, lo, hi)) return;
        }
        for (uint32_t b = 0x81; b < 0xC0; b++) eq[b] = 0x80;
        return;
    }
    if (d->need != 0) return;
    uint64_t cut[3] = {1, 0, 0};                  /* bit b: a run of bytes starts at b (b <= 128) */
    for (uint32_t i = 0; i < n; i++) {
        uint32_t m = rt->pool[rt->set_off[set] + i];
        if (m <= N_UNSURE) continue;               /* the same for every byte */
        const gr_class *c = &rt->g->cls[rt->g->el[rt->nodes[m].pos].arg];
        for (uint32_t j = 0; j < c->n && rt->g->rg[c->first + j].lo < 128; j++) {
            uint32_t lo = rt->g->rg[c->first + j].lo, hi = rt->g->rg[c->first + j].hi;
            cut[lo >> 6] |= 1ull << (lo & 63);
            if (hi < 128) cut[(hi + 1) >> 6] |= 1ull << ((hi + 1) & 63);
        }
    }
    uint64_t sig[128] = {0}, seen[128];
    uint8_t start[129], rep[128], run_of[128];
    uint32_t n_runs = 0;
    for (uint32_t w = 0; w < 2; w++)
        for (uint64_t bits = cut[w]; bits; bits &= bits - 1) start[n_runs++] = (uint8_t)(w * 64 + (uint32_t)__builtin_ctzll(bits));
    start[n_runs] = 128;
    for (uint32_t r = 0; r < n_runs; r++) run_of[start[r]] = (uint8_t)r;
    for (uint32_t i = 0; i < n && n <= 64; i++) {  /* which stacks take each run */
        uint32_t m = rt->pool[rt->set_off[set] + i];
        if (m <= N_UNSURE) continue;
        const gr_class *c = &rt->g->cls[rt->g->el[rt->nodes[m].pos].arg];
        for (uint32_t j = 0; j < c->n && rt->g->rg[c->first + j].lo < 128; j++)
            for (uint32_t r = run_of[rt->g->rg[c->first + j].lo]; r < n_runs && start[r] <= rt->g->rg[c->first + j].hi; r++)
                sig[r] |= 1ull << i;
    }
    uint32_t k = 0;
    for (uint32_t r = 0; r < n_runs; r++) {
        uint32_t j = 0;
        while (n <= 64 && j < k && seen[j] != sig[r]) j++;
        if (n > 64 || j == k) seen[k] = n <= 64 ? sig[r] : 0, rep[k] = start[r], j = k++;
        for (uint32_t b = start[r]; b < start[r + 1]; b++) eq[b] = rep[j];
    }
}

/* The next state from d on byte b (cached): a state id, ST_DEAD or ST_OOM. Bytes the state treats
 * alike share one computation (byte_classes, worked out at the state's second computed
 * transition: many states only ever need one). */
static inline int32_t trans(runtime *rt, int32_t d, uint8_t b) {
    int32_t *t = rt->ds[d].trans;
    if (t && t[b] != ST_UNKNOWN) return t[b];
    if (!t) {                                       /* 256 transitions, then eq[256] */
        t = malloc(256 * sizeof *t + 256);
        if (!t) return ST_OOM;
        for (int i = 0; i < 256; i++) t[i] = ST_UNKNOWN;
        rt->ds[d].trans = t;
    } else if (!rt->ds[d].eq_known) {
        byte_classes(rt, &rt->ds[d], (uint8_t *)(t + 256));
        rt->ds[d].eq_known = 1;
    }
    uint8_t a = rt->ds[d].eq_known ? ((const uint8_t *)(t + 256))[b] : b;
    int32_t r = t[a] != ST_UNKNOWN ? t[a] : compute_trans(rt, d, a);
    if (r == ST_OOM) return r;
    rt->ds[d].trans[a] = rt->ds[d].trans[b] = r;      /* ds may have moved */
    return r;
}

static void runtime_free(runtime *rt) {
    if (!rt || --rt->refs > 0) return;
    for (uint32_t i = 0; i < rt->n_ds; i++) free(rt->ds[i].trans), free(rt->ds[i].mask), free(rt->ds[i].unsure);
    free(rt->trunc);
    free(rt->unsure_buf);
    free(rt->el_min), free(rt->cls_min), free(rt->node_min);
    free(rt->ds);
    htab_free(&rt->ds_map);
    free(rt->nodes);
    htab_free(&rt->node_map);
    free(rt->closure);
    free(rt->pool);
    free(rt->set_off);
    free(rt->set_len);
    htab_free(&rt->set_map);
    free(rt->scratch);
    free(rt->dfs);
    free(rt->visited);
    free(rt->mask_ring);
    free(rt->walk);
    free(rt);
}

/* The UTF-8 length of the smallest code point of class k (MIN_INF for an empty class). */
static uint32_t class_min_bytes(const smol_grammar *g, uint32_t k) {
    if (g->cls[k].n == 0) return MIN_INF;
    uint32_t lo = g->rg[g->cls[k].first].lo;
    return lo < 0x80 ? 1 : lo < 0x800 ? 2 : lo < 0x10000 ? 3 : 4;
}

/* Minimal completion lengths: the shortest derivation of each rule in bytes (a fixed point over
 * the rules: every rule of a checked grammar has a finite one), then for every element the
 * fewest bytes from it to the end of its alternative (rt->el_min). */
static int min_lengths(runtime *rt) {
    const smol_grammar *g = rt->g;
    rt->el_min = malloc(((size_t)g->n_el + 1) * sizeof *rt->el_min);
    rt->cls_min = malloc((size_t)g->n_cls + 1);
    uint32_t *rule_min = malloc(((size_t)g->n_rules + 1) * sizeof *rule_min);
    if (!rt->el_min || !rt->cls_min || !rule_min) return free(rule_min), SMOL_ENOMEM;
    for (uint32_t k = 0; k < g->n_cls; k++) {
        uint32_t b = class_min_bytes(g, k);
        rt->cls_min[k] = (uint8_t)(b == MIN_INF ? 255 : b);
    }
    for (uint32_t r = 0; r < g->n_rules; r++) rule_min[r] = MIN_INF;
    for (int changed = 1; changed;) {
        changed = 0;
        for (uint32_t i = g->n_el; i-- > 0;) {      /* alternatives end with EL_END: suffix sums */
            gr_elem e = g->el[i];
            uint32_t own = e.kind == EL_REF ? rule_min[e.arg] : 0;
            if (e.kind == EL_CHAR) own = rt->cls_min[e.arg] == 255 ? MIN_INF : rt->cls_min[e.arg];
            rt->el_min[i] = e.kind == EL_END ? 0 : min_add(own, rt->el_min[i + 1]);
        }
        for (uint32_t r = g->n_rules; r-- > 0;)
            for (uint32_t a = 0; a < g->rules[r].n_alts; a++)
                if (rt->el_min[g->rules[r].alts[a]] < rule_min[r]) rule_min[r] = rt->el_min[g->rules[r].alts[a]], changed = 1;
    }
    free(rule_min);
    return 0;
}

/* Builds the runtime and its start state. */
static int runtime_new(const smol_grammar *g, const smol_token_index *ti, runtime **out, smol_error *err) {
    runtime *rt = calloc(1, sizeof *rt);
    if (!rt) return smol_fail(err, SMOL_ENOMEM, "grammar matcher: out of memory");
    rt->g = g, rt->ti = ti, rt->refs = 1;
    int rc = SMOL_ENOMEM;
    if (min_lengths(rt) || node_id(rt, UINT32_MAX, 0) != N_ACCEPT || node_id(rt, UINT32_MAX - 1, 0) != N_BOTTOM ||
        node_id(rt, UINT32_MAX - 2, 0) != N_UNSURE)
        goto fail;
    uint32_t from = rt->n_scratch;
    const gr_rule *root = &g->rules[g->root];
    for (uint32_t a = 0; a < root->n_alts; a++) {
        int64_t n = node_id(rt, root->alts[a], 0);
        int64_t c = n < 0 ? -1 : closure_of(rt, (uint32_t)n);
        if (c < 0) goto fail;
        for (uint32_t i = 0; i < rt->set_len[c]; i++)
            if (scratch_push(rt, rt->pool[rt->set_off[c] + i])) goto fail;
    }
    int64_t s = scratch_set(rt, from);
    if (s < 0) goto fail;
    rt->start = dstate_id(rt, (uint32_t)s, 0, 0);
    if (rt->start < 0) goto fail;
    if (ti) {
        size_t words = ((size_t)ti->n_vocab + 31) / 32;
        rt->max_masks = (uint32_t)((64u << 20) / (words * 4 + 1));
        if (rt->max_masks < 4) rt->max_masks = 4;
        if (rt->max_masks > 4096) rt->max_masks = 4096;
        rt->mask_ring = malloc(rt->max_masks * sizeof *rt->mask_ring);
        rt->walk = malloc(((size_t)ti->max_depth + 1) * sizeof *rt->walk);
        if (!rt->mask_ring || !rt->walk) goto fail;
    }
    *out = rt;
    return SMOL_OK;
fail:
    runtime_free(rt);
    return smol_fail(err, rc, "grammar matcher: out of memory");
}

static int push_state(smol_matcher *m, int32_t s) {
    if (grow((void **)&m->hist, &m->cap_hist, m->n_hist + 1, sizeof *m->hist)) return SMOL_ENOMEM;
    m->hist[m->n_hist++] = s;
    return SMOL_OK;
}

int smol_matcher_new(const smol_grammar *g, const smol_token_index *ti, smol_matcher **out, smol_error *err) {
    *out = NULL;
    if (!g) return smol_fail(err, SMOL_EINVAL, "grammar matcher: no grammar");
    smol_matcher *m = calloc(1, sizeof *m);
    if (!m) return smol_fail(err, SMOL_ENOMEM, "grammar matcher: out of memory");
    int rc = runtime_new(g, ti, &m->rt, err);
    if (!rc && push_state(m, m->rt->start)) rc = smol_fail(err, SMOL_ENOMEM, "grammar matcher: out of memory");
    if (rc) {
        smol_matcher_free(m);
        return rc;
    }
    *out = m;
    return SMOL_OK;
}

size_t smol_matcher_work(const smol_matcher *m) { return (size_t)m->rt->n_nodes + m->rt->n_pool; }

void smol_matcher_free(smol_matcher *m) {
    if (!m) return;
    runtime_free(m->rt);
    free(m->hist);
    free(m);
}

smol_matcher *smol_matcher_clone(const smol_matcher *m) {
    smol_matcher *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->hist = malloc(m->cap_hist * sizeof *c->hist);
    if (!c->hist) return free(c), NULL;
    memcpy(c->hist, m->hist, m->n_hist * sizeof *c->hist);
    c->n_hist = m->n_hist, c->cap_hist = m->cap_hist;
    c->rt = m->rt;
    c->rt->refs++;
    return c;
}

static int32_t cur(const smol_matcher *m) { return m->hist[m->n_hist - 1]; }

int smol_matcher_can_end(const smol_matcher *m) {
    int32_t s = cur(m);
    return s == ST_DONE || m->rt->ds[s].can_end;
}

int smol_matcher_is_done(const smol_matcher *m) { return cur(m) == ST_DONE; }

int smol_matcher_n_steps(const smol_matcher *m) { return (int)m->n_hist - 1; }

/* The state after bytes b[0..n) from s: a state id, ST_DEAD or ST_OOM. */
static int32_t run_bytes(runtime *rt, int32_t s, const char *b, size_t n) {
    for (size_t i = 0; i < n && s >= 0; i++) s = trans(rt, s, (uint8_t)b[i]);
    return s;
}

static int32_t clamp_need(uint32_t v) { return v >= MIN_INF ? INT32_MAX : (int32_t)v; }

int32_t smol_matcher_min_bytes(const smol_matcher *m) {
    int32_t s = cur(m);
    return s == ST_DONE ? 0 : clamp_need(m->rt->ds[s].need_bytes);
}

int32_t smol_matcher_min_bytes_after(smol_matcher *m, int32_t id) {
    const smol_token_index *ti = m->rt->ti;
    int32_t s = cur(m);
    if (!ti || id < 0 || id >= ti->n_vocab || s == ST_DONE) return -1;
    if (ti->kind[id] == SMOL_TI_EOG) return m->rt->ds[s].can_end ? 0 : -1;
    if (ti->kind[id] != SMOL_TI_TEXT) return -1;
    s = run_bytes(m->rt, s, ti->bytes[id], ti->len[id]);
    return s < 0 ? -1 : clamp_need(m->rt->ds[s].need_bytes);
}

int smol_matcher_accept_bytes(smol_matcher *m, const char *bytes, size_t n) {
    int32_t s = cur(m);
    if (s == ST_DONE) return SMOL_EINVAL;
    s = run_bytes(m->rt, s, bytes, n);
    if (s == ST_OOM) return SMOL_ENOMEM;
    if (s < 0) return SMOL_EINVAL;
    return push_state(m, s);
}

int smol_matcher_accept_token(smol_matcher *m, int32_t id) {
    const smol_token_index *ti = m->rt->ti;
    if (!ti || id < 0 || id >= ti->n_vocab || cur(m) == ST_DONE) return SMOL_EINVAL;
    if (ti->kind[id] == SMOL_TI_EOG) return smol_matcher_can_end(m) ? push_state(m, ST_DONE) : SMOL_EINVAL;
    if (ti->kind[id] != SMOL_TI_TEXT) return SMOL_EINVAL;
    return smol_matcher_accept_bytes(m, ti->bytes[id], ti->len[id]);
}

int smol_matcher_rollback(smol_matcher *m, int n_tokens) {
    if (n_tokens < 0 || (uint32_t)n_tokens >= m->n_hist) return SMOL_ERANGE;
    m->n_hist -= (uint32_t)n_tokens;
    return SMOL_OK;
}

/* 1 if class k holds every non-ASCII scalar value (U+0080..U+D7FF, U+E000..U+10FFFF), 0 if it
 * holds none of them, -1 if some. Ranges are merged, so a cover is one range. */
static int class_nonascii(const smol_grammar *g, uint32_t k) {
    int lo = 0, hi = 0;
    for (uint32_t i = 0; i < g->cls[k].n; i++) {
        const gr_range *r = &g->rg[g->cls[k].first + i];
        if (r->lo <= 0x80 && r->hi >= 0xD7FF) lo = 1;
        if (r->lo <= 0xE000 && r->hi >= MAX_CP) hi = 1;
    }
    if (lo && hi) return 1;
    return class_has(g, k, 0x80, 0xD7FF) || class_has(g, k, 0xE000, MAX_CP) ? -1 : 0;
}

/* The ASCII bytes after which state u is alive with a real stack, into live[2]; returns their
 * number, or ST_OOM. */
static int live_bytes(runtime *rt, int32_t u, uint64_t live[2]) {
    if (rt->ds[u].live_known) {
        live[0] = rt->ds[u].live[0], live[1] = rt->ds[u].live[1];
        return bits64(live[0]) + bits64(live[1]);
    }
    live[0] = live[1] = 0;
    int n = 0;
    for (uint32_t b = 0; b < 128; b++) {
        int32_t v = trans(rt, u, (uint8_t)b);
        if (v == ST_OOM) return ST_OOM;
        if (v >= 0 && rt->ds[v].has_real) live[b >> 6] |= 1ull << (b & 63), n++;
    }
    rt->ds[u].live[0] = live[0], rt->ds[u].live[1] = live[1], rt->ds[u].live_known = 1;
    return n;
}

/* The index of state u in reach[0..*n), added if new; -1 when reach is full. */
static int reach_index(int32_t *reach, uint32_t *n, int32_t u) {
    for (uint32_t x = 0; x < *n; x++)
        if (reach[x] == u) return (int)x;
    if (*n == ALPHA_MAX_REACH) return -1;
    reach[*n] = u;
    return (int)(*n)++;
}

/* At least how many ASCII bytes could state u take? An upper bound from its classes, without
 * computing transitions (128 when a truncated stack is in it). */
static int ascii_bound(const runtime *rt, int32_t u) {
    uint64_t m[2] = {0, 0};
    uint32_t set = rt->ds[u].set;
    for (uint32_t i = 0; i < rt->set_len[set]; i++) {
        uint32_t n = rt->pool[rt->set_off[set] + i];
        if (n == N_BOTTOM || n == N_UNSURE) return 128;
        if (n == N_ACCEPT) continue;
        const gr_class *c = &rt->g->cls[rt->g->el[rt->nodes[n].pos].arg];
        for (uint32_t j = 0; j < c->n && rt->g->rg[c->first + j].lo < 128; j++)
            ascii_range(m, rt->g->rg[c->first + j].lo, rt->g->rg[c->first + j].hi);
    }
    return bits64(m[0]) + bits64(m[1]);
}

/* The ASCII bytes on which some state of reach[0..k) that is not poor goes to state x. */
static void ways_into(const runtime *rt, const int32_t *reach, const uint8_t *poor, uint32_t k, int32_t x, uint64_t into[2]) {
    into[0] = into[1] = 0;
    for (uint32_t j = 0; j < k; j++) {
        if (poor[j]) continue;
        const int32_t *tr = rt->ds[reach[j]].trans;
        for (uint32_t b = 0; b < 128; b++)
            if (tr[b] == x) into[b >> 6] |= 1ull << (b & 63);
    }
}

/* Explores from state t: *a (ASCII bytes) and *utf8 (whole non-ASCII characters too) such that
 * every string over them of at most *height characters keeps the matcher alive with a real
 * stack. Breadth first over the states such strings reach, the alphabet narrowed to the live
 * bytes of each. A state with few ways on (inside an escape, at the end of a counted string) is
 * not entered: the bytes leading to it are left out, or, when that would leave too few, the
 * height stops short of the level where it is first met (a string of at most maxLength
 * characters). The search stops at a level of more than ALPHA_MAX_STATES states, past the
 * longest token or at ALPHA_MAX_REACH states; *height is then the number of levels explored in
 * full (else UINT16_MAX). *a is left empty when few bytes qualify or the height is below two.
 * 0 or ST_OOM. */
static int explore_alphabet(runtime *rt, int32_t t, uint64_t a[2], int *utf8, uint32_t *height) {
    int32_t reach[ALPHA_MAX_REACH];
    int uni[ALPHA_MAX_REACH];                    /* where a non-ASCII character leads, -1 nowhere */
    uint8_t poor[ALPHA_MAX_REACH], capped[ALPHA_MAX_REACH];
    uint16_t level_of[ALPHA_MAX_REACH];
    uint32_t n = 1, k, level = 0, level_end = 1, closed = 1, cap = UINT16_MAX;
    uint32_t max_level = rt->ti ? rt->ti->max_depth : 64u;
    reach[0] = t, level_of[0] = 0;
    a[0] = a[1] = 0, *utf8 = 1, *height = 0;
    if (!rt->ds[t].has_real || rt->ds[t].need != 0) return 0;
    a[0] = a[1] = ~0ull;
    for (k = 0; k < n && (a[0] | a[1]) && closed; k++) {
        if (k == level_end) {
            uint32_t width = n - level_end;
            level++, level_end = n;
            if (width > ALPHA_MAX_STATES || level > max_level || level > cap) {
                closed = 0;
                break;
            }
        }
        int32_t r = reach[k];
        uint64_t live[2];
        int nl = ascii_bound(rt, r) < ALPHA_MIN_BYTES ? 0 : live_bytes(rt, r, live);
        if (nl < 0) return ST_OOM;
        uni[k] = -1, poor[k] = nl < ALPHA_MIN_BYTES, capped[k] = 0;
        if (poor[k]) {
            if (k == 0) a[0] = a[1] = 0;
            uint64_t into[2];
            ways_into(rt, reach, poor, k, r, into);
            if (bits64(a[0] & ~into[0]) + bits64(a[1] & ~into[1]) >= ALPHA_MIN_BYTES)
                a[0] &= ~into[0], a[1] &= ~into[1];    /* an escape: leave its ways out */
            else {
                capped[k] = 1;                         /* the end of a counted string: strings reach it */
                if (level_of[k] < cap) cap = level_of[k];  /* (alive) at their last character at best */
                if (cap < 2) a[0] = a[1] = 0;
            }
            continue;
        }
        a[0] &= live[0], a[1] &= live[1];
        int32_t last = ST_UNKNOWN;                  /* runs of bytes mostly go to one state */
        for (uint32_t w = 0; w < 2 && closed; w++)
            for (uint64_t bits = a[w]; bits && closed; bits &= bits - 1) {
                int32_t v = rt->ds[r].trans[w * 64 + (uint32_t)__builtin_ctzll(bits)];
                if (v == last) continue;
                uint32_t before = n;
                int x = reach_index(reach, &n, v);
                if (x < 0) closed = 0;
                else if (n > before) level_of[x] = (uint16_t)(level + 1);
                last = v;
            }
        uint32_t set = rt->ds[r].set;
        for (uint32_t i = 0; i < rt->set_len[set] && *utf8; i++) {
            uint32_t m = rt->pool[rt->set_off[set] + i];
            if (m > N_UNSURE && class_nonascii(rt->g, rt->g->el[rt->nodes[m].pos].arg) < 0) *utf8 = 0;
        }
        if (*utf8 && closed) {                   /* every non-ASCII character goes where U+0080 goes */
            int32_t u = trans(rt, r, 0xC2);      /* its UTF-8 bytes C2 80, through the cached transitions */
            if (u >= 0) u = trans(rt, u, 0x80);
            if (u == ST_OOM) return ST_OOM;
            uint32_t before = n;
            if (u < 0 || !rt->ds[u].has_real) *utf8 = 0;
            else if ((uni[k] = reach_index(reach, &n, u)) < 0) closed = 0;
            else if (n > before) level_of[uni[k]] = (uint16_t)(level + 1);
        }
        if (bits64(a[0]) + bits64(a[1]) < ALPHA_MIN_BYTES) a[0] = a[1] = 0;
    }
    *height = closed ? UINT16_MAX : level;
    if (cap < *height) *height = cap;
    if (*height < 2) a[0] = a[1] = 0;
    if (!(a[0] | a[1])) return 0;
    for (uint32_t x = 0; x < k; x++) {            /* leave out the ways into poor states */
        if (!poor[x] || capped[x]) continue;
        uint64_t into[2];
        ways_into(rt, reach, poor, k, reach[x], into);
        a[0] &= ~into[0], a[1] &= ~into[1];
        for (uint32_t j = 0; j < k; j++)
            if (!poor[j] && uni[j] == (int)x) *utf8 = 0;
    }
    if (bits64(a[0]) + bits64(a[1]) < ALPHA_MIN_BYTES) a[0] = a[1] = 0;
    return 0;
}

/* Fills the alphabet of state t (at a character boundary): what explore_alphabet finds from t,
 * or else the best it finds from one of t's stacks alone, trying the ALPHA_MAX_STACKS stacks
 * whose classes hold the most ASCII bytes (a string that keeps one stack alive keeps the state
 * alive: this is how a property-name state with a few known names beside any other name is
 * handled). 0 or ST_OOM. */
static int state_alphabet(runtime *rt, int32_t t) {
    uint64_t a[2], best[2] = {0, 0};
    uint32_t h, best_h = 0;
    int utf8, best_utf8 = 0, best_n = 0;
    if (explore_alphabet(rt, t, best, &best_utf8, &best_h)) return ST_OOM;
    best_n = bits64(best[0]) + bits64(best[1]);
    const dstate *d0 = &rt->ds[t];                /* a stack alone is alive after no more bytes than */
    int poor = d0->need != 0 ||                   /* the whole state: a poor state has no rich stack */
               (d0->live_known ? bits64(d0->live[0]) + bits64(d0->live[1]) : ascii_bound(rt, t)) < ALPHA_MIN_BYTES;
    uint32_t set = rt->ds[t].set, pick[ALPHA_MAX_STACKS], width[ALPHA_MAX_STACKS], n_pick = 0;
    for (uint32_t i = 0; !poor && best_h < UINT16_MAX && rt->set_len[set] > 1 && i < rt->set_len[set]; i++) {
        uint32_t m = rt->pool[rt->set_off[set] + i], w = 0;        /* the widest classes first */
        if (m <= N_UNSURE) continue;
        const gr_class *c = &rt->g->cls[rt->g->el[rt->nodes[m].pos].arg];
        for (uint32_t j = 0; j < c->n; j++) {
            const gr_range *r = &rt->g->rg[c->first + j];
            if (r->lo < 128) w += (r->hi < 128 ? r->hi : 127) - r->lo + 1;
        }
        if (w < ALPHA_MIN_BYTES) continue;
        uint32_t at = n_pick < ALPHA_MAX_STACKS ? n_pick++ : ALPHA_MAX_STACKS - 1;
        if (at == ALPHA_MAX_STACKS - 1 && n_pick == ALPHA_MAX_STACKS && width[at] >= w && i > at) continue;
        while (at > 0 && width[at - 1] < w) pick[at] = pick[at - 1], width[at] = width[at - 1], at--;
        pick[at] = m, width[at] = w;
    }
    for (uint32_t i = 0; i < n_pick; i++) {
        int64_t one = set_id(rt, &pick[i], 1);
        int32_t u = one < 0 ? ST_OOM : dstate_id(rt, (uint32_t)one, 0, 0);
        if (u == ST_OOM || explore_alphabet(rt, u, a, &utf8, &h)) return ST_OOM;
        int na = bits64(a[0]) + bits64(a[1]);
        if (na && (h > best_h || (h == best_h && (na > best_n || (na == best_n && utf8 && !best_utf8)))))
            best[0] = a[0], best[1] = a[1], best_utf8 = utf8, best_n = na, best_h = h;
    }
    dstate *d = &rt->ds[t];
    d->alpha[0] = best[0], d->alpha[1] = best[1];
    d->alpha_kind = (best[0] | best[1]) && best_utf8 ? ALPHA_UTF8 : ALPHA_ASCII;
    d->alpha_height = (uint16_t)best_h;
    return 0;
}

/* Is every path from trie node i down spelled in the alphabet of state d (so, from d, all the
 * subtree's tokens are allowed)? */
static int alphabet_covers(const dstate *d, const smol_token_index *ti, uint32_t i) {
    uint8_t f = ti->below_flags[i];
    if ((ti->below[i][0] & ~d->alpha[0]) | (ti->below[i][1] & ~d->alpha[1]) || ti->height[i] > d->alpha_height) return 0;
    return !(f & SMOL_TI_BELOW_NONASCII) || (d->alpha_kind == ALPHA_UTF8 && (f & SMOL_TI_BELOW_UTF8));
}

/* Sets the bits of every token in the subtree of trie node i. */
static void set_subtree(const smol_token_index *ti, uint32_t i, uint32_t *allowed) {
    for (uint32_t k = ti->tok_off[i], e = ti->tok_off[ti->end[i]]; k < e; k++) {
        int32_t id = ti->toks[k];
        allowed[id >> 5] |= 1u << (id & 31);
    }
}

/* Clears the bits of the tokens toks[k0 .. k1) (a run of the trie: a subtree, or part of one). */
static void clear_run(const smol_token_index *ti, uint32_t k0, uint32_t k1, uint32_t *allowed) {
    for (uint32_t k = k0; k < k1; k++) {
        int32_t id = ti->toks[k];
        allowed[id >> 5] &= ~(1u << (id & 31));
    }
}

static int unsure_push(runtime *rt, uint32_t i) {
    if (grow((void **)&rt->unsure_buf, &rt->cap_unsure, rt->n_unsure + 1, sizeof *rt->unsure_buf)) return ST_OOM;
    rt->unsure_buf[rt->n_unsure++] = i;
    return 0;
}

static inline void set_tokens(const smol_token_index *ti, uint32_t i, uint32_t *allowed) {
    for (uint32_t k = ti->tok_off[i]; k < ti->tok_off[i + 1]; k++) {
        int32_t id = ti->toks[k];
        allowed[id >> 5] |= 1u << (id & 31);
    }
}

/* Fills d's maybe[]: at a character boundary, the ASCII bytes of its classes and every UTF-8 lead
 * byte if a class holds non-ASCII; all bytes when a truncated stack is in it or mid-character. */
static void state_maybe(const runtime *rt, dstate *d) {
    uint64_t *m = d->maybe;
    m[0] = m[1] = m[2] = m[3] = 0;
    d->maybe_known = 1;
    int wide = d->need != 0;
    for (uint32_t i = 0; i < rt->set_len[d->set] && !wide; i++) {
        uint32_t n = rt->pool[rt->set_off[d->set] + i];
        if (n == N_BOTTOM || n == N_UNSURE) wide = 1;
        if (n <= N_UNSURE) continue;
        uint32_t k = rt->g->el[rt->nodes[n].pos].arg;
        const gr_class *c = &rt->g->cls[k];
        for (uint32_t j = 0; j < c->n && rt->g->rg[c->first + j].lo < 128; j++)
            ascii_range(m, rt->g->rg[c->first + j].lo, rt->g->rg[c->first + j].hi);
        if (class_has(rt->g, k, 0x80, MAX_CP)) m[3] |= ~0ull, m[2] |= ~0ull;   /* leads; the rest dies anyway */
    }
    if (wide) m[0] = m[1] = m[2] = m[3] = ~0ull;
}

/* Walks trie nodes [i0, i1) (a run of whole subtrees whose parents are at depth base) from state
 * s, setting the bit of every token whose bytes are accepted. In a truncated state, subtrees
 * whose outcome depends on the frames cut off are listed in rt->unsure_buf. With neg, allowed
 * starts with every token of the run set and the walk clears the refused ones instead (cheaper
 * when most are allowed: an accepted subtree costs nothing). 0 or ST_OOM. */
static int walk_trie(runtime *rt, int32_t s, uint32_t i0, uint32_t i1, uint32_t base, int neg, uint32_t *allowed) {
    const smol_token_index *ti = rt->ti;
    const uint8_t *byte = ti->byte;
    const uint16_t *depth = ti->depth;
    const uint32_t *end = ti->end;
    const uint32_t *tok_off = ti->tok_off;
    int32_t *walk = rt->walk;
    walk[base] = s;
    for (uint32_t i = i0; i < i1;) {
        int32_t p = walk[depth[i] - 1], t;
        if (rt->ds[p].need == 0 && (rt->ds[p].alpha_kind || tok_off[end[i]] - tok_off[i] >= ALPHA_MIN_TOKENS)) {
            if (!rt->ds[p].alpha_kind && state_alphabet(rt, p)) return ST_OOM;
            if (alphabet_covers(&rt->ds[p], ti, i)) {   /* every token of the subtree is allowed */
                if (!neg) set_subtree(ti, i, allowed);
                i = end[i];
                continue;
            }
        }
        const int32_t *tr = rt->ds[p].trans;
        if (tr && tr[byte[i]] != ST_UNKNOWN) t = tr[byte[i]];
        else {
            if (!rt->ds[p].maybe_known) state_maybe(rt, &rt->ds[p]);
            if (!(rt->ds[p].maybe[byte[i] >> 6] >> (byte[i] & 63) & 1)) {   /* refused: no class takes it */
                if (neg) clear_run(ti, tok_off[i], tok_off[end[i]], allowed);
                i = end[i];
                continue;
            }
            if ((t = trans(rt, p, byte[i])) == ST_OOM) return ST_OOM;
        }
        if (t < 0) {
            if (neg) clear_run(ti, tok_off[i], tok_off[end[i]], allowed);
            i = end[i];
            continue;
        }
        const dstate *d = &rt->ds[t];
        if (!d->has_real) {
            if (d->bottom && d->need == 0) {        /* the cut stack emptied exactly here */
                if (!neg) set_tokens(ti, i, allowed);
                else clear_run(ti, tok_off[i + 1], tok_off[end[i]], allowed);
                for (uint32_t j = i + 1; j < end[i]; j = end[j])
                    if (unsure_push(rt, j)) return ST_OOM;
            } else {
                if (neg) clear_run(ti, tok_off[i], tok_off[end[i]], allowed);
                if (unsure_push(rt, i)) return ST_OOM;
            }
            i = end[i];
            continue;
        }
        walk[depth[i]] = t;
        if (!neg) set_tokens(ti, i, allowed);
        i++;
    }
    return 0;
}

/* The node of n's stack cut to TRUNC_DEPTH frames (its bottom frame's parent is N_BOTTOM). */
static int64_t trunc_node(runtime *rt, uint32_t n) {
    if (n <= N_UNSURE) return n;
    if (n < rt->cap_trunc && rt->trunc[n]) return rt->trunc[n] - 1;
    uint32_t pos[TRUNC_DEPTH], k = 0, m = n;
    while (k < TRUNC_DEPTH && m > N_UNSURE) pos[k++] = rt->nodes[m].pos, m = rt->nodes[m].parent;
    int64_t r = n;
    if (m > N_UNSURE) {                          /* deeper than the cut: rebuild on N_BOTTOM */
        r = N_BOTTOM;
        while (k > 0 && r >= 0) r = node_id(rt, pos[--k], (uint32_t)r);
        if (r < 0) return -1;
    }
    uint32_t old = rt->cap_trunc;
    if (grow((void **)&rt->trunc, &rt->cap_trunc, n + 1, sizeof *rt->trunc)) return -1;
    memset(rt->trunc + old, 0, (rt->cap_trunc - old) * sizeof *rt->trunc);
    rt->trunc[n] = (uint32_t)r + 1;
    return r;
}

/* The truncated form of DFA state s (s itself when no stack is deeper than the cut). */
static int32_t trunc_state(runtime *rt, int32_t s) {
    if (rt->ds[s].trunc >= 0) return rt->ds[s].trunc;
    uint32_t set = rt->ds[s].set, from = rt->n_scratch;
    for (uint32_t i = 0; i < rt->set_len[set]; i++) {
        int64_t t = trunc_node(rt, rt->pool[rt->set_off[set] + i]);
        if (t < 0 || scratch_push(rt, (uint32_t)t)) return rt->n_scratch = from, ST_OOM;
    }
    int64_t ts = scratch_set(rt, from);
    if (ts < 0) return ST_OOM;
    int32_t r = ts == set ? s : dstate_id(rt, (uint32_t)ts, rt->ds[s].acc, rt->ds[s].need);
    if (r >= 0) rt->ds[s].trunc = r;
    return r;
}

/* Keeps a copy of the mask (and open subtrees) of state s, evicting the oldest when full. */
static void cache_mask(runtime *rt, int32_t s, const uint32_t *allowed, size_t words, const uint32_t *unsure,
                       uint32_t n_unsure) {
    uint32_t *copy, *u = NULL;
    if (n_unsure && !(u = malloc(n_unsure * sizeof *u))) return;
    if (rt->n_ring == rt->max_masks) {
        int32_t old = rt->mask_ring[rt->ring_head];
        copy = rt->ds[old].mask;
        free(rt->ds[old].unsure);
        rt->ds[old].mask = NULL, rt->ds[old].unsure = NULL, rt->ds[old].n_unsure = 0;
        rt->mask_ring[rt->ring_head] = s;
        rt->ring_head = (rt->ring_head + 1) % rt->max_masks;
    } else {
        copy = malloc(words * sizeof *copy);
        if (!copy) return free(u);
        rt->mask_ring[rt->n_ring++] = s;
    }
    memcpy(copy, allowed, words * sizeof *copy);
    if (n_unsure) memcpy(u, unsure, n_unsure * sizeof *u);
    rt->ds[s].mask = copy;
    rt->ds[s].unsure = u;
    rt->ds[s].n_unsure = n_unsure;
}

/* Checks the subtree at trie node j from the full state s (its path bytes first). */
static int recheck(runtime *rt, int32_t s, uint32_t j, uint32_t *allowed) {
    const smol_token_index *ti = rt->ti;
    uint8_t path[65536];
    uint32_t n = 0;
    for (uint32_t a = ti->parent[j]; a != UINT32_MAX; a = ti->parent[a]) path[n++] = ti->byte[a];
    while (n > 0 && s >= 0) s = trans(rt, s, path[--n]);
    if (s == ST_OOM) return ST_OOM;
    if (s < 0) return 0;
    return walk_trie(rt, s, j, ti->end[j], ti->depth[j] - 1u, 0, allowed);
}

static int32_t popcount_words(const uint32_t *w, size_t n) {
    int32_t c = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) c += bits64((uint64_t)w[i] | (uint64_t)w[i + 1] << 32);
    if (i < n) c += bits64(w[i]);
    return c;
}

/* Walks the whole trie from s into allowed (words long): clearing refused tokens from the full
 * set when s has a wide alphabet (most tokens will be allowed), else setting accepted ones.
 * 0 or ST_OOM. */
static int walk_all(runtime *rt, int32_t s, uint32_t *allowed, size_t words) {
    dstate *d = &rt->ds[s];
    if (d->need == 0 && !d->alpha_kind && state_alphabet(rt, s)) return ST_OOM;
    d = &rt->ds[s];
    int neg = d->need == 0 && bits64(d->alpha[0]) + bits64(d->alpha[1]) >= NEG_MIN_BYTES;
    if (neg) memcpy(allowed, rt->ti->text_mask, words * sizeof *allowed);
    else memset(allowed, 0, words * sizeof *allowed);
    return walk_trie(rt, s, 0, rt->ti->n_nodes, 0, neg, allowed);
}

int smol_matcher_mask(smol_matcher *m, uint32_t *allowed) {
    runtime *rt = m->rt;
    const smol_token_index *ti = rt->ti;
    if (!ti) return SMOL_EINVAL;
    size_t words = ((size_t)ti->n_vocab + 31) / 32;
    int32_t s = cur(m);
    if (s == ST_DONE) {
        memset(allowed, 0, words * sizeof *allowed);
        return 0;
    }
    if (rt->ds[s].mask) {
        memcpy(allowed, rt->ds[s].mask, words * sizeof *allowed);
        return rt->ds[s].n_allowed;
    }
    int32_t t = trunc_state(rt, s);
    if (t < 0) return SMOL_ENOMEM;
    if (t != s && !rt->ds[t].mask) {               /* the shared part, cached for every deeper state */
        rt->n_unsure = 0;
        if (walk_all(rt, t, allowed, words)) return SMOL_ENOMEM;
        cache_mask(rt, t, allowed, words, rt->unsure_buf, rt->n_unsure);
        if (!rt->ds[t].mask) return SMOL_ENOMEM;
    }
    if (t != s) {
        memcpy(allowed, rt->ds[t].mask, words * sizeof *allowed);
        uint32_t nu = rt->ds[t].n_unsure;
        const uint32_t *u = rt->ds[t].unsure;
        for (uint32_t k = 0; k < nu; k++) {
            rt->n_unsure = 0;
            if (recheck(rt, s, u[k], allowed)) return SMOL_ENOMEM;
        }
    } else {
        rt->n_unsure = 0;
        if (walk_all(rt, s, allowed, words)) return SMOL_ENOMEM;
    }
    if (rt->ds[s].can_end)
        for (int i = 0; i < ti->n_eog; i++) allowed[ti->eog[i] >> 5] |= 1u << (ti->eog[i] & 31);
    int32_t n = popcount_words(allowed, words);
    cache_mask(rt, s, allowed, words, NULL, 0);
    rt->ds[s].n_allowed = n;
    return n;
}

size_t smol_matcher_forced(smol_matcher *m, char *buf, size_t cap) {
    runtime *rt = m->rt;
    int32_t s = cur(m);
    size_t n = 0, whole = 0;
    while (s >= 0 && n < cap && !rt->ds[s].can_end) {
        int32_t next = ST_DEAD, count = 0;
        uint8_t only = 0;
        for (int b = 0; b < 256 && count < 2; b++) {
            int32_t t = trans(rt, s, (uint8_t)b);
            if (t == ST_OOM) return whole;
            if (t >= 0) next = t, only = (uint8_t)b, count++;
        }
        if (count != 1) break;
        buf[n++] = (char)only;
        s = next;
        if (rt->ds[s].need == 0) whole = n;
    }
    return whole;
}

/* ================================================================ generation filter */

int smol_grammar_filter_init(smol_grammar_filter *f, smol_matcher *m, const smol_ctx *c, int seq, smol_error *err) {
    memset(f, 0, sizeof *f);
    if (!m->rt->ti) return smol_fail(err, SMOL_EINVAL, "grammar filter: the matcher has no token index");
    f->m = m, f->c = c, f->seq = seq, f->base = -1;
    f->n_predict = -1, f->finish = 1;
    f->bits = malloc(((size_t)m->rt->ti->n_vocab + 31) / 32 * sizeof *f->bits);
    if (!f->bits) return smol_fail(err, SMOL_ENOMEM, "grammar filter: out of memory");
    return SMOL_OK;
}

/* Feeds the matcher the tokens the sequence gained since the last call (the first call takes
 * the sequence's length as the start of the constrained text); 0, or the filter's failed status. */
static int filter_catch_up(smol_grammar_filter *f) {
    if (f->status) return f->status;
    const int32_t *toks;
    int len = smol_seq_tokens(f->c, f->seq, &toks);
    if (f->base < 0) f->base = len;
    if (len < f->base + smol_matcher_n_steps(f->m)) return f->status = SMOL_EINVAL;
    for (int i = f->base + smol_matcher_n_steps(f->m); i < len; i++)
        if (smol_matcher_accept_token(f->m, toks[i])) return f->status = SMOL_EINVAL;   /* not sampled under the mask */
    return 0;
}

int smol_grammar_filter_apply(void *user, uint8_t *mask, int n_vocab) {
    smol_grammar_filter *f = user;
    int rc = filter_catch_up(f);
    if (rc) return rc;
    int n = smol_matcher_mask(f->m, f->bits);
    if (n < 0) return f->status = n;
    int32_t nv = f->m->rt->ti->n_vocab;
    for (int t = 0; t < n_vocab; t++)
        if (t >= nv || !(f->bits[t >> 5] >> (t & 31) & 1)) mask[t] = 0;
    return 0;
}

int smol_grammar_filter_remaining(const smol_grammar_filter *f) {
    const int32_t *toks;
    int len = smol_seq_tokens(f->c, f->seq, &toks), base = f->base < 0 ? len : f->base;
    int64_t left = (int64_t)smol_ctx_n_ctx(f->c) - len + 1;
    if (f->n_predict >= 0 && f->n_predict - (int64_t)(len - base) < left) left = f->n_predict - (int64_t)(len - base);
    return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

int smol_grammar_filter_fits(void *user, int32_t token) {
    smol_grammar_filter *f = user;
    if (!f->finish || f->status) return 1;
    int32_t need = smol_matcher_min_bytes_after(f->m, token);
    return need >= 0 && need <= smol_grammar_filter_remaining(f) - 1;
}

void smol_grammar_filter_free(smol_grammar_filter *f) {
    free(f->bits);
    f->bits = NULL;
}

int smol_grammar_filter_allows(void *user, int32_t token) {
    smol_grammar_filter *f = user;
    int rc = filter_catch_up(f);
    if (rc) return rc;
    int32_t need = smol_matcher_min_bytes_after(f->m, token);
    return need >= 0 && (!f->finish || need <= smol_grammar_filter_remaining(f) - 1);
}
