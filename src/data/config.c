/* config.c: the TOML-subset parser of config.h: a line-oriented scanner over the whole text
 * building a tree of smol_toml nodes, with errors naming the file, line and key. */
#include "data/config.h"
#include "base/error.h"
#include "base/file.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {                    /* how a table came to exist (TOML's rules on redefinition) */
    TBL_IMPLICIT = 1,     /* created as a parent of a [header] */
    TBL_HEADER   = 2,     /* defined by its own [header] or [[header]] */
    TBL_DOTTED   = 4,     /* created by a dotted key (a.b = 1) */
    TBL_INLINE   = 8,     /* an inline table { ... }: closed */
    ARR_TABLES   = 16,    /* an array created by [[header]] */
    ARR_STATIC   = 32,    /* an array value [ ... ]: closed */
};

typedef struct parser {
    const char *s;
    size_t len, pos;
    int line;
    const char *name;
    smol_error *err;
    smol_toml *root, *cur;
} parser;

#define MAX_DEPTH 64

static int perr(parser *p, int code, const char *fmt, const char *a, const char *b) {
    char msg[600];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return smol_fail(p->err, code, "%s:%d: %s", p->name, p->line, msg);
}

const char *smol_toml_type_name(smol_toml_type type) {
    switch (type) {
    case SMOL_TOML_STRING: return "string";
    case SMOL_TOML_INT:    return "integer";
    case SMOL_TOML_FLOAT:  return "float";
    case SMOL_TOML_BOOL:   return "boolean";
    case SMOL_TOML_ARRAY:  return "array";
    case SMOL_TOML_TABLE:  return "table";
    }
    return "?";
}

void smol_toml_free(smol_toml *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) smol_toml_free(t->items[i]);
    free(t->items);
    free(t->key);
    free(t->str);
    free(t);
}

const smol_toml *smol_toml_get(const smol_toml *t, const char *key) {
    if (!t || t->type != SMOL_TOML_TABLE) return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i]->key, key) == 0) return t->items[i];
    return NULL;
}

static smol_toml *node_new(smol_toml_type type, int line) {
    smol_toml *t = calloc(1, sizeof *t);
    if (t) {
        t->type = type;
        t->line = line;
    }
    return t;
}

/* Appends child to parent (a table or array); on failure frees child. */
static int node_add(parser *p, smol_toml *parent, smol_toml *child) {
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        smol_toml **items = realloc(parent->items, cap * sizeof *items);
        if (!items) {
            smol_toml_free(child);
            return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
        }
        parent->items = items;
        parent->cap = cap;
    }
    parent->items[parent->n++] = child;
    return SMOL_OK;
}

/* ------------------------------------------------------------------ scanning */

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }
static int peek_at(const parser *p, size_t k) { return p->pos + k < p->len ? (unsigned char)p->s[p->pos + k] : -1; }

static void skip_ws(parser *p) {
    while (peek(p) == ' ' || peek(p) == '\t') p->pos++;
}

static void skip_comment(parser *p) {
    if (peek(p) == '#')
        while (p->pos < p->len && p->s[p->pos] != '\n') p->pos++;
}

/* Skips blanks, comments and newlines (inside arrays). */
static void skip_ws_nl(parser *p) {
    for (;;) {
        skip_ws(p);
        skip_comment(p);
        if (peek(p) == '\r' && peek_at(p, 1) == '\n') p->pos++;
        if (peek(p) != '\n') return;
        p->pos++;
        p->line++;
    }
}

/* After a value or header: blanks, an optional comment, then a newline or the end. */
static int expect_eol(parser *p) {
    skip_ws(p);
    skip_comment(p);
    if (peek(p) == '\r' && peek_at(p, 1) == '\n') p->pos++;
    if (peek(p) == -1) return SMOL_OK;
    if (peek(p) != '\n') {
        char c[2] = {(char)peek(p), 0};
        return perr(p, SMOL_EFORMAT, "unexpected '%s' after the value (one key = value per line)", c, NULL);
    }
    p->pos++;
    p->line++;
    return SMOL_OK;
}

static int is_bare(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

static int parse_escape(parser *p, char *o, size_t *n) {
    int c = peek(p);
    p->pos++;
    const char *simple = "b\bt\tn\nf\fr\r\"\"\\\\";
    for (const char *e = simple; *e; e += 2)
        if (c == e[0]) { o[(*n)++] = e[1]; return SMOL_OK; }
    if (c != 'u' && c != 'U') {
        char s[2] = {(char)(c < 0 ? '?' : c), 0};
        return perr(p, SMOL_EFORMAT, "unknown escape '\\%s' in a string", s, NULL);
    }
    int digits = c == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (int i = 0; i < digits; i++, p->pos++) {
        int h = peek(p);
        int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (v < 0) return perr(p, SMOL_EFORMAT, "\\%s escape needs hex digits", c == 'u' ? "u" : "U", NULL);
        cp = cp * 16 + (uint32_t)v;
    }
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return perr(p, SMOL_EFORMAT, "\\u escape is not a usable Unicode scalar value (NUL, surrogate or past U+10FFFF)", NULL, NULL);
    *n += put_utf8(o + *n, cp);
    return SMOL_OK;
}

/* A basic "..." or literal '...' string on one line into a malloc'd *out. */
static int parse_string(parser *p, char **out) {
    int q = peek(p);
    if (peek_at(p, 1) == q && peek_at(p, 2) == q)
        return perr(p, SMOL_EUNSUPPORTED, "multi-line strings (%s) are not supported; use one line with \\n escapes",
                    q == '"' ? "\"\"\"" : "'''", NULL);
    p->pos++;
    size_t start = p->pos, end = start;
    while (end < p->len && p->s[end] != q && p->s[end] != '\n') end += (q == '"' && p->s[end] == '\\' && end + 1 < p->len) ? 2 : 1;
    char *o = malloc(end - start + 1);
    if (!o) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
    size_t n = 0;
    for (;;) {
        int c = peek(p);
        if (c == -1 || c == '\n') {
            free(o);
            return perr(p, SMOL_EFORMAT, "unterminated string (strings end on the line they start)", NULL, NULL);
        }
        p->pos++;
        if (c == q) break;
        if ((c < 0x20 && c != '\t') || c == 0x7F) {
            free(o);
            return perr(p, SMOL_EFORMAT, "control character in a string (use an escape)", NULL, NULL);
        }
        if (c == '\\' && q == '"') {
            int rc = parse_escape(p, o, &n);
            if (rc) { free(o); return rc; }
            continue;
        }
        o[n++] = (char)c;
    }
    o[n] = 0;
    *out = o;
    return SMOL_OK;
}

/* One key component: bare, "basic" or 'literal'. */
static int parse_key_part(parser *p, char **out) {
    int c = peek(p);
    if (c == '"' || c == '\'') return parse_string(p, out);
    size_t start = p->pos;
    while (is_bare(peek(p))) p->pos++;
    if (p->pos == start) {
        char s[2] = {(char)(c < 0 ? ' ' : c), 0};
        return perr(p, SMOL_EFORMAT, c < 0 || c == '\n' ? "a key is missing%s" : "a key is expected, found '%s'",
                    c < 0 || c == '\n' ? "" : s, NULL);
    }
    *out = strndup(p->s + start, p->pos - start);
    return *out ? SMOL_OK : smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
}

typedef struct keypath { char *part[MAX_DEPTH]; int n; } keypath;

static void keypath_free(keypath *k) {
    for (int i = 0; i < k->n; i++) free(k->part[i]);
    k->n = 0;
}

/* A dotted key a.b."c d" into k. */
static int parse_key(parser *p, keypath *k) {
    k->n = 0;
    for (;;) {
        skip_ws(p);
        if (k->n == MAX_DEPTH) return perr(p, SMOL_ERANGE, "key nested too deeply", NULL, NULL);
        int rc = parse_key_part(p, &k->part[k->n]);
        if (rc) return rc;
        k->n++;
        skip_ws(p);
        if (peek(p) != '.') return SMOL_OK;
        p->pos++;
    }
}

/* ------------------------------------------------------------------ values */

static int parse_value(parser *p, smol_toml **out, int depth);

static int bad_number(parser *p, const char *tok) {
    return perr(p, SMOL_EFORMAT, "'%s' is not a value (strings need quotes; numbers, true or false)", tok, NULL);
}

/* Checks digits with single underscores between them, for the given base; copies them to o. */
static int digits_ok(const char *s, size_t n, int base, char *o, size_t *on) {
    if (n == 0 || s[0] == '_' || s[n - 1] == '_') return 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '_') {
            if (s[i + 1] == '_') return 0;
            continue;
        }
        int ok = base == 16 ? ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
                            : (c >= '0' && c < '0' + base);
        if (!ok) return 0;
        o[(*on)++] = (char)c;
    }
    return 1;
}

static int number_from(parser *p, const char *tok, smol_toml *v) {
    size_t n = strlen(tok);
    char buf[256];
    size_t bn = 0;
    const char *s = tok;
    if (n >= sizeof buf) return bad_number(p, tok);
    int date = n >= 5 && tok[4] == '-', time = n >= 3 && tok[2] == ':';
    for (size_t k = 0; k < (date ? 4u : time ? 2u : 0u); k++) date = time = (date || time) && tok[k] >= '0' && tok[k] <= '9';
    if (date || time)
        return perr(p, SMOL_EUNSUPPORTED, "dates and times ('%s') are not supported; quote them as a string", tok, NULL);
    if (*s == '+' || *s == '-') buf[bn++] = *s++;
    if (strcmp(s, "inf") == 0 || strcmp(s, "nan") == 0) {
        v->type = SMOL_TOML_FLOAT;
        v->f = s[0] == 'i' ? (tok[0] == '-' ? -INFINITY : INFINITY) : NAN;
        return SMOL_OK;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        if (s != tok || !digits_ok(s + 2, strlen(s + 2), base, buf, &bn)) return bad_number(p, tok);
        buf[bn] = 0;
        errno = 0;
        unsigned long long u = strtoull(buf, NULL, base);
        if (errno || u > INT64_MAX) return perr(p, SMOL_ERANGE, "integer '%s' does not fit in 64 bits", tok, NULL);
        v->type = SMOL_TOML_INT;
        v->i = (int64_t)u;
        return SMOL_OK;
    }
    /* decimal: int part, optional .frac, optional e[+-]exp */
    size_t ip = strcspn(s, ".eE");
    if (!digits_ok(s, ip, 10, buf, &bn)) return bad_number(p, tok);
    if (ip > 1 && s[0] == '0') return perr(p, SMOL_EFORMAT, "leading zeros are not allowed in '%s'", tok, NULL);
    const char *r = s + ip;
    int is_float = 0;
    if (*r == '.') {
        size_t fp = strcspn(r + 1, "eE");
        buf[bn++] = '.';
        if (!digits_ok(r + 1, fp, 10, buf, &bn)) return bad_number(p, tok);
        r += 1 + fp;
        is_float = 1;
    }
    if (*r == 'e' || *r == 'E') {
        buf[bn++] = 'e';
        r++;
        if (*r == '+' || *r == '-') buf[bn++] = *r++;
        if (!digits_ok(r, strlen(r), 10, buf, &bn)) return bad_number(p, tok);
        r += strlen(r);
        is_float = 1;
    }
    if (*r) return bad_number(p, tok);
    buf[bn] = 0;
    errno = 0;
    if (is_float) {
        v->type = SMOL_TOML_FLOAT;
        v->f = strtod(buf, NULL);
    } else {
        v->type = SMOL_TOML_INT;
        v->i = strtoll(buf, NULL, 10);
    }
    if (errno == ERANGE) return perr(p, SMOL_ERANGE, "number '%s' is out of range", tok, NULL);
    return SMOL_OK;
}

static int parse_scalar_word(parser *p, smol_toml *v) {
    size_t start = p->pos;
    while (p->pos < p->len && (is_bare(peek(p)) || peek(p) == '.' || peek(p) == '+' || peek(p) == ':')) p->pos++;
    char tok[256];
    size_t n = p->pos - start;
    if (n == 0) {
        int c = peek(p);
        char s[2] = {(char)(c < 0 ? ' ' : c), 0};
        return perr(p, SMOL_EFORMAT, c < 0 || c == '\n' ? "a value is missing after '='%s" : "a value is expected, found '%s'",
                    c < 0 || c == '\n' ? "" : s, NULL);
    }
    if (n >= sizeof tok) n = sizeof tok - 1;
    memcpy(tok, p->s + start, n);
    tok[n] = 0;
    if (strcmp(tok, "true") == 0 || strcmp(tok, "false") == 0) {
        v->type = SMOL_TOML_BOOL;
        v->b = tok[0] == 't';
        return SMOL_OK;
    }
    return number_from(p, tok, v);
}

static int parse_array(parser *p, smol_toml *arr, int depth) {
    arr->type = SMOL_TOML_ARRAY;
    arr->flags = ARR_STATIC;
    p->pos++;  /* [ */
    for (;;) {
        skip_ws_nl(p);
        if (peek(p) == ']') { p->pos++; return SMOL_OK; }
        if (peek(p) == -1) return perr(p, SMOL_EFORMAT, "array is not closed with ']'", NULL, NULL);
        smol_toml *item;
        int rc = parse_value(p, &item, depth + 1);
        if (rc) return rc;
        if ((rc = node_add(p, arr, item))) return rc;
        skip_ws_nl(p);
        if (peek(p) == ',') { p->pos++; continue; }
        if (peek(p) == ']') { p->pos++; return SMOL_OK; }
        if (peek(p) == -1) return perr(p, SMOL_EFORMAT, "array is not closed with ']'", NULL, NULL);
        return perr(p, SMOL_EFORMAT, "array elements must be separated by ',' and the array closed with ']'", NULL, NULL);
    }
}

static int set_key(parser *p, smol_toml *table, keypath *k, smol_toml *value);

static int parse_inline_table(parser *p, smol_toml *t, int depth) {
    t->type = SMOL_TOML_TABLE;
    t->flags = TBL_INLINE;
    p->pos++;  /* { */
    skip_ws(p);
    if (peek(p) == '}') { p->pos++; return SMOL_OK; }
    for (;;) {
        keypath k;
        int rc = parse_key(p, &k);
        if (rc) { keypath_free(&k); return rc; }
        skip_ws(p);
        if (peek(p) != '=') {
            rc = perr(p, SMOL_EFORMAT, "'=' expected after key '%s'", k.part[k.n - 1], NULL);
            keypath_free(&k);
            return rc;
        }
        p->pos++;
        skip_ws(p);
        smol_toml *v;
        if ((rc = parse_value(p, &v, depth + 1))) { keypath_free(&k); return rc; }
        rc = set_key(p, t, &k, v);
        keypath_free(&k);
        if (rc) return rc;
        skip_ws(p);
        if (peek(p) == ',') { p->pos++; skip_ws(p); continue; }
        if (peek(p) == '}') { p->pos++; return SMOL_OK; }
        return perr(p, SMOL_EFORMAT, "inline table entries are separated by ',' and closed with '}' on one line", NULL, NULL);
    }
}

static int parse_value(parser *p, smol_toml **out, int depth) {
    if (depth > MAX_DEPTH) return perr(p, SMOL_ERANGE, "values nested too deeply", NULL, NULL);
    smol_toml *v = node_new(SMOL_TOML_STRING, p->line);
    if (!v) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
    int c = peek(p), rc;
    if (c == '"' || c == '\'') rc = parse_string(p, &v->str);
    else if (c == '[') rc = parse_array(p, v, depth);
    else if (c == '{') rc = parse_inline_table(p, v, depth);
    else rc = parse_scalar_word(p, v);
    if (rc) {
        smol_toml_free(v);
        return rc;
    }
    *out = v;
    return SMOL_OK;
}

/* ------------------------------------------------------------------ tables */

static const char *what_is(const smol_toml *t) {
    if (t->type == SMOL_TOML_ARRAY) return t->flags & ARR_TABLES ? "an array of tables" : "an array value";
    if (t->type == SMOL_TOML_TABLE) return t->flags & TBL_INLINE ? "an inline table" : "a table";
    return "a value";
}

static int key_taken(parser *p, const char *key, const smol_toml *old) {
    char at[64];
    snprintf(at, sizeof at, "%d", old->line);
    char msg[400];
    snprintf(msg, sizeof msg, "key '%s' is already %s (defined at line %s)", key, what_is(old), at);
    return perr(p, SMOL_EFORMAT, "%s%s", msg, NULL);
}

static smol_toml *child_table(parser *p, smol_toml *parent, const char *key, int flags) {
    smol_toml *t = node_new(SMOL_TOML_TABLE, p->line);
    if (!t) return NULL;
    t->flags = flags;
    t->key = strdup(key);
    if (!t->key || node_add(p, parent, t)) {
        if (!t->key) smol_toml_free(t);
        return NULL;
    }
    return t;
}

/* key = value in table (dotted keys create or extend tables defined by dotted keys). */
static int set_key(parser *p, smol_toml *table, keypath *k, smol_toml *value) {
    smol_toml *t = table;
    for (int i = 0; i + 1 < k->n; i++) {
        smol_toml *c = (smol_toml *)smol_toml_get(t, k->part[i]);
        if (!c) {
            if (!(c = child_table(p, t, k->part[i], TBL_DOTTED))) {
                smol_toml_free(value);
                return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
            }
        } else if (c->type != SMOL_TOML_TABLE || !(c->flags & TBL_DOTTED)) {
            smol_toml_free(value);
            return key_taken(p, k->part[i], c);
        }
        t = c;
    }
    const char *last = k->part[k->n - 1];
    const smol_toml *old = smol_toml_get(t, last);
    if (old) {
        smol_toml_free(value);
        return key_taken(p, last, old);
    }
    if (!(value->key = strdup(last))) {
        smol_toml_free(value);
        return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
    }
    return node_add(p, t, value);
}

/* [a.b.c] or [[a.b.c]]: sets p->cur. */
static int open_header(parser *p, keypath *k, int array) {
    smol_toml *t = p->root;
    for (int i = 0; i < k->n; i++) {
        int last = i + 1 == k->n;
        smol_toml *c = (smol_toml *)smol_toml_get(t, k->part[i]);
        if (c && c->type == SMOL_TOML_ARRAY && (c->flags & ARR_TABLES)) {
            if (last && array) {
                smol_toml *e = node_new(SMOL_TOML_TABLE, p->line);
                if (!e || node_add(p, c, e)) return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
                e->flags = TBL_HEADER;
                p->cur = e;
                return SMOL_OK;
            }
            if (last) return key_taken(p, k->part[i], c);
            t = c->items[c->n - 1];
            continue;
        }
        if (!c) {
            if (last && array) {
                smol_toml *a = node_new(SMOL_TOML_ARRAY, p->line), *e = node_new(SMOL_TOML_TABLE, p->line);
                if (!a || !e || !(a->key = strdup(k->part[i]))) {
                    smol_toml_free(a);
                    smol_toml_free(e);
                    return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
                }
                a->flags = ARR_TABLES;
                e->flags = TBL_HEADER;
                if (node_add(p, t, a)) { smol_toml_free(e); return SMOL_ENOMEM; }
                if (node_add(p, a, e)) return SMOL_ENOMEM;
                p->cur = e;
                return SMOL_OK;
            }
            if (!(c = child_table(p, t, k->part[i], last ? TBL_HEADER : TBL_IMPLICIT)))
                return smol_fail(p->err, SMOL_ENOMEM, "%s: out of memory", p->name);
            if (!last) { c->line = p->line; }
            t = c;
            continue;
        }
        if (c->type != SMOL_TOML_TABLE || (c->flags & TBL_INLINE) || (last && (array || !(c->flags & TBL_IMPLICIT))))
            return key_taken(p, k->part[i], c);
        if (last) {
            c->flags = TBL_HEADER;
            c->line = p->line;
        }
        t = c;
    }
    p->cur = t;
    return SMOL_OK;
}

static int parse_header(parser *p) {
    int array = peek_at(p, 1) == '[';
    p->pos += array ? 2 : 1;
    keypath k;
    int rc = parse_key(p, &k);
    if (rc == SMOL_OK) {
        skip_ws(p);
        if (peek(p) != ']' || (array && peek_at(p, 1) != ']'))
            rc = perr(p, SMOL_EFORMAT, "table header is not closed with '%s'", array ? "]]" : "]", NULL);
        else {
            p->pos += array ? 2 : 1;
            rc = open_header(p, &k, array);
        }
    }
    keypath_free(&k);
    return rc ? rc : expect_eol(p);
}

static int parse_keyval(parser *p) {
    keypath k;
    int rc = parse_key(p, &k);
    if (rc) { keypath_free(&k); return rc; }
    skip_ws(p);
    if (peek(p) != '=') {
        rc = perr(p, SMOL_EFORMAT, "'=' expected after key '%s'", k.part[k.n - 1], NULL);
        keypath_free(&k);
        return rc;
    }
    p->pos++;
    skip_ws(p);
    smol_toml *v;
    int line = p->line;
    if ((rc = parse_value(p, &v, 0))) { keypath_free(&k); return rc; }
    v->line = line;
    int save = p->line;
    p->line = line;
    rc = set_key(p, p->cur, &k, v);
    p->line = save;
    keypath_free(&k);
    return rc ? rc : expect_eol(p);
}

int smol_toml_parse(const char *text, size_t len, const char *name, smol_toml **out, smol_error *err) {
    *out = NULL;
    parser p = {text, len, 0, 1, name ? name : "<config>", err, NULL, NULL};
    if (memchr(text, 0, len)) return smol_fail(err, SMOL_EFORMAT, "%s: the file holds a NUL byte (not a text file)", p.name);
    if (!(p.root = node_new(SMOL_TOML_TABLE, 1))) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    p.root->flags = TBL_HEADER;
    p.cur = p.root;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) p.pos = 3;
    int rc = SMOL_OK;
    while (rc == SMOL_OK) {
        skip_ws_nl(&p);
        if (peek(&p) == -1) break;
        rc = peek(&p) == '[' ? parse_header(&p) : parse_keyval(&p);
    }
    if (rc) {
        smol_toml_free(p.root);
        return rc;
    }
    *out = p.root;
    return SMOL_OK;
}

int smol_toml_load(const char *path, smol_toml **out, smol_error *err) {
    char *text;
    size_t size;
    *out = NULL;
    int rc = smol_read_file(path, &text, &size, err);
    if (rc) return rc;
    rc = smol_toml_parse(text, size, path, out, err);
    free(text);
    return rc;
}
