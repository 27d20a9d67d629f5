/* jsonschema.c: the JSON Schema validator. The schema stays a cJSON tree; preparing it indexes
 * $id/$anchor/$dynamicAnchor resources by absolute URI and compiles every pattern with PCRE2.
 * Validation walks schema and instance together, collecting evaluated properties/items
 * (for unevaluated*) only when a caller asks for them. */
#include "gen/jsonschema.h"
#include "base/error.h"
#include "base/jsonl.h"
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 400
#define MAX_SCOPE 256

typedef struct res_entry {
    char *uri;               /* absolute URI: "base" for $id, "base#name" for anchors */
    const cJSON *node;
    int dynamic;             /* 1: a $dynamicAnchor */
} res_entry;

typedef struct re_entry {
    const cJSON *node;       /* the "pattern" string node, or the patternProperties member */
    pcre2_code *code;
} re_entry;

struct smol_jschema {
    cJSON *root;
    unsigned flags;
    res_entry *res;
    int n_res, cap_res;
    re_entry *re;
    int n_re, cap_re;
};

/* ---------------------------------------------------------------- URIs */

static int has_scheme(const char *s) {
    if (!isalpha((unsigned char)*s)) return 0;
    for (const char *p = s; *p; p++) {
        if (*p == ':') return 1;
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.') return 0;
    }
    return 0;
}

/* Removes "." and ".." segments from the path p (which starts with '/'), in place. */
static void remove_dots(char *p) {
    if (*p != '/') return;
    size_t n = strlen(p), o = 0, starts[128];
    int ns = 0, trail = 0;
    char *out = malloc(n + 2);
    if (!out) return;
    const char *s = p + 1;
    for (;;) {
        size_t l = strcspn(s, "/");
        trail = 0;
        if (l == 1 && s[0] == '.') trail = 1;
        else if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (ns) o = starts[--ns];
            trail = 1;
        } else {
            if (ns < 128) starts[ns++] = o;
            out[o++] = '/';
            memcpy(out + o, s, l);
            o += l;
        }
        if (!s[l]) break;
        s += l + 1;
    }
    if (trail || o == 0) out[o++] = '/';
    out[o] = 0;
    memcpy(p, out, o + 1);
    free(out);
}

/* The absolute form of ref against base (RFC 3986, simplified); malloc'd. */
static char *uri_resolve(const char *base, const char *ref) {
    if (has_scheme(ref) || !*base) return strdup(ref);
    size_t bl = strcspn(base, "#");
    if (*ref == '#' || !*ref) {
        char *o = malloc(bl + strlen(ref) + 1);
        if (!o) return NULL;
        memcpy(o, base, bl);
        strcpy(o + bl, ref);
        return o;
    }
    const char *colon = strchr(base, ':');
    size_t scheme_len = colon ? (size_t)(colon - base) + 1 : 0;
    size_t auth_end = scheme_len;
    int hier = strncmp(base + scheme_len, "//", 2) == 0;
    if (hier) auth_end = scheme_len + 2 + strcspn(base + scheme_len + 2, "/?#");
    size_t keep;
    if (strncmp(ref, "//", 2) == 0) keep = scheme_len;
    else if (*ref == '/') keep = auth_end;
    else if (*ref == '?') keep = auth_end + strcspn(base + auth_end, "?#");
    else {
        size_t path_end = auth_end + strcspn(base + auth_end, "?#");
        keep = path_end;
        while (keep > auth_end && base[keep - 1] != '/') keep--;
        if (keep == auth_end && hier) {  /* no path: "http://h" + "/" */
            char *o = malloc(keep + strlen(ref) + 2);
            if (!o) return NULL;
            memcpy(o, base, keep);
            o[keep] = '/';
            strcpy(o + keep + 1, ref);
            remove_dots(o + auth_end);
            return o;
        }
        if (keep == auth_end && !hier) keep = scheme_len;
    }
    char *o = malloc(keep + strlen(ref) + 1);
    if (!o) return NULL;
    memcpy(o, base, keep);
    strcpy(o + keep, ref);
    if (hier) remove_dots(o + auth_end);
    return o;
}

/* uri without its fragment (an empty "#" included); malloc'd. */
static char *uri_strip_fragment(char *uri) {
    if (uri) uri[strcspn(uri, "#")] = 0;
    return uri;
}

/* ---------------------------------------------------------------- preparing */

typedef struct prep {
    smol_jschema *s;
    smol_error *err;
    char path[1024];
} prep;

static int add_res(smol_jschema *s, const char *uri, const cJSON *node, int dynamic) {
    if (s->n_res == s->cap_res) {
        int cap = s->cap_res ? s->cap_res * 2 : 16;
        res_entry *r = realloc(s->res, (size_t)cap * sizeof *r);
        if (!r) return SMOL_ENOMEM;
        s->res = r;
        s->cap_res = cap;
    }
    char *u = strdup(uri);
    if (!u) return SMOL_ENOMEM;
    s->res[s->n_res++] = (res_entry){u, node, dynamic};
    return SMOL_OK;
}

static const cJSON *find_res(const smol_jschema *s, const char *uri, int dynamic_only) {
    for (int i = 0; i < s->n_res; i++)
        if ((!dynamic_only || s->res[i].dynamic) && strcmp(s->res[i].uri, uri) == 0) return s->res[i].node;
    return NULL;
}

/* ECMA-262 long General_Category names and their PCRE2 short forms. */
static const char *const k_gc[][2] = {
    {"Letter", "L"}, {"Cased_Letter", "L&"}, {"Uppercase_Letter", "Lu"}, {"Lowercase_Letter", "Ll"},
    {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"}, {"Other_Letter", "Lo"}, {"Mark", "M"},
    {"Nonspacing_Mark", "Mn"}, {"Spacing_Mark", "Mc"}, {"Enclosing_Mark", "Me"}, {"Number", "N"},
    {"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Letter_Number", "Nl"}, {"Other_Number", "No"},
    {"Punctuation", "P"}, {"punct", "P"}, {"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"}, {"Close_Punctuation", "Pe"}, {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"}, {"Other_Punctuation", "Po"}, {"Symbol", "S"}, {"Math_Symbol", "Sm"},
    {"Currency_Symbol", "Sc"}, {"Modifier_Symbol", "Sk"}, {"Other_Symbol", "So"}, {"Separator", "Z"},
    {"Space_Separator", "Zs"}, {"Line_Separator", "Zl"}, {"Paragraph_Separator", "Zp"}, {"Other", "C"},
    {"Control", "Cc"}, {"cntrl", "Cc"}, {"Format", "Cf"}, {"Surrogate", "Cs"}, {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
};

/* ECMA-262's white space and line terminators (\s), as the inside of a PCRE2 class. */
#define ECMA_SPACE "\\t\\n\\x0b\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

/* Rewrites ECMA \p{Long_Name}, \p{gc=X} and \p{Script=X} into PCRE2's spellings, and \s (\S
 * outside classes) into ECMA's Unicode white space (PCRE2's is ASCII without UCP); malloc'd. */
static char *ecma_to_pcre(const char *re) {
    size_t n = strlen(re);
    char *out = malloc(n * (sizeof ECMA_SPACE + 4) / 2 + 8), *o = out;
    if (!out) return NULL;
    int in_class = 0;
    while (*re) {
        if (re[0] == '\\' && (re[1] == 's' || (re[1] == 'S' && !in_class))) {
            o += sprintf(o, "%s%s%s", in_class ? "" : re[1] == 'S' ? "[^" : "[", ECMA_SPACE, in_class ? "" : "]");
            re += 2;
            continue;
        }
        if (re[0] == '[' && !in_class) in_class = 1;
        else if (re[0] == ']' && in_class) in_class = 0;
        if (re[0] == '\\' && (re[1] == 'p' || re[1] == 'P') && re[2] == '{') {
            const char *name = re + 3, *close = strchr(name, '}');
            if (close) {
                const char *eq = memchr(name, '=', (size_t)(close - name));
                if (eq) name = eq + 1;
                size_t l = (size_t)(close - name);
                const char *rep = NULL;
                for (size_t i = 0; i < sizeof k_gc / sizeof k_gc[0] && !rep; i++)
                    if (strlen(k_gc[i][0]) == l && memcmp(k_gc[i][0], name, l) == 0) rep = k_gc[i][1];
                *o++ = '\\';
                *o++ = re[1];
                *o++ = '{';
                if (rep && strlen(rep) <= l) {
                    memcpy(o, rep, strlen(rep));
                    o += strlen(rep);
                } else {
                    memcpy(o, name, l);
                    o += l;
                }
                *o++ = '}';
                re = close + 1;
                continue;
            }
        }
        if (re[0] == '\\' && re[1]) *o++ = *re++;
        *o++ = *re++;
    }
    *o = 0;
    return out;
}

/* Compiles an ECMA-262 regex with PCRE2 (UTF, \uXXXX escapes, $ only at the end). */
static pcre2_code *compile_regex(const char *ecma, char *msg, size_t msg_size) {
    char *re = ecma_to_pcre(ecma);
    if (!re) return NULL;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) {
        free(re);
        return NULL;
    }
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
    int ec;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY, &ec, &off, cc);
    pcre2_compile_context_free(cc);
    free(re);
    if (!code && msg) {
        char buf[256];
        pcre2_get_error_message(ec, (PCRE2_UCHAR *)buf, sizeof buf);
        snprintf(msg, msg_size, "%s at offset %zu", buf, (size_t)off);
    }
    return code;
}

static int add_re(prep *p, const cJSON *node, const char *re, const char *kw) {
    smol_jschema *s = p->s;
    char msg[300];
    pcre2_code *code = compile_regex(re, msg, sizeof msg);
    if (!code)
        return smol_fail(p->err, SMOL_EFORMAT, "schema %s/%s: invalid regex '%s': %s", p->path, kw, re, msg);
    if (s->n_re == s->cap_re) {
        int cap = s->cap_re ? s->cap_re * 2 : 16;
        re_entry *r = realloc(s->re, (size_t)cap * sizeof *r);
        if (!r) {
            pcre2_code_free(code);
            return SMOL_ENOMEM;
        }
        s->re = r;
        s->cap_re = cap;
    }
    s->re[s->n_re++] = (re_entry){node, code};
    return SMOL_OK;
}

static int prep_schema(prep *p, const cJSON *node, const char *base, int depth);

static int prep_child(prep *p, const cJSON *node, const char *base, const char *key, int depth) {
    size_t n = strlen(p->path);
    snprintf(p->path + n, sizeof p->path - n, "/%s", key);
    int rc = prep_schema(p, node, base, depth + 1);
    p->path[n] = 0;
    return rc;
}

/* Keywords whose value is a schema, an array of schemas, or an object of schemas. */
static const char *const k_one[] = {"additionalProperties", "not", "if", "then", "else", "contains",
                                    "propertyNames", "unevaluatedProperties", "unevaluatedItems",
                                    "additionalItems", "items", NULL};
static const char *const k_list[] = {"allOf", "anyOf", "oneOf", "prefixItems", "items", NULL};
static const char *const k_map[] = {"properties", "patternProperties", "$defs", "definitions",
                                    "dependentSchemas", "dependencies", NULL};

static int in_list(const char *const *l, const char *k) {
    for (; *l; l++)
        if (strcmp(*l, k) == 0) return 1;
    return 0;
}

static int prep_schema(prep *p, const cJSON *node, const char *base, int depth) {
    if (!cJSON_IsObject(node)) return SMOL_OK;
    if (depth > MAX_DEPTH) return smol_fail(p->err, SMOL_ERANGE, "schema %s: nested more than %d deep", p->path, MAX_DEPTH);
    char *mybase = NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(node, "$id");
    int rc = SMOL_OK;
    if (cJSON_IsString(id)) {
        mybase = uri_strip_fragment(uri_resolve(base, id->valuestring));
        if (!mybase) return SMOL_ENOMEM;
        base = mybase;
        if ((rc = add_res(p->s, base, node, 0))) goto done;
    }
    const char *anchors[2] = {"$anchor", "$dynamicAnchor"};
    for (int a = 0; a < 2; a++) {
        const cJSON *an = cJSON_GetObjectItemCaseSensitive(node, anchors[a]);
        if (!cJSON_IsString(an)) continue;
        size_t n = strlen(base) + strlen(an->valuestring) + 2;
        char *u = malloc(n);
        if (!u) { rc = SMOL_ENOMEM; goto done; }
        snprintf(u, n, "%s#%s", base, an->valuestring);
        rc = add_res(p->s, u, node, a);
        if (!rc && a == 1 && !cJSON_GetObjectItemCaseSensitive(node, "$anchor")) rc = add_res(p->s, u, node, 0);
        free(u);
        if (rc) goto done;
    }
    for (const cJSON *kw = node->child; kw && !rc; kw = kw->next) {
        const char *k = kw->string;
        if (strcmp(k, "pattern") == 0 && cJSON_IsString(kw)) rc = add_re(p, kw, kw->valuestring, "pattern");
        if (!rc && strcmp(k, "patternProperties") == 0 && cJSON_IsObject(kw))
            for (const cJSON *m = kw->child; m && !rc; m = m->next) rc = add_re(p, m, m->string, "patternProperties");
        if (rc) break;
        if (in_list(k_one, k) && (cJSON_IsObject(kw) || cJSON_IsBool(kw))) rc = prep_child(p, kw, base, k, depth);
        else if (in_list(k_list, k) && cJSON_IsArray(kw)) {
            int i = 0;
            for (const cJSON *m = kw->child; m && !rc; m = m->next, i++) {
                char key[80];
                snprintf(key, sizeof key, "%.60s/%d", k, i);
                rc = prep_child(p, m, base, key, depth);
            }
        } else if (in_list(k_map, k) && cJSON_IsObject(kw)) {
            for (const cJSON *m = kw->child; m && !rc; m = m->next) {
                char key[300];
                snprintf(key, sizeof key, "%.60s/%.200s", k, m->string);
                rc = prep_child(p, m, base, key, depth);
            }
        }
    }
done:
    free(mybase);
    return rc;
}

void smol_jschema_free(smol_jschema *s) {
    if (!s) return;
    for (int i = 0; i < s->n_res; i++) free(s->res[i].uri);
    for (int i = 0; i < s->n_re; i++) pcre2_code_free(s->re[i].code);
    free(s->res);
    free(s->re);
    cJSON_Delete(s->root);
    free(s);
}

static void path_push(char *buf, size_t *len, size_t cap, const char *seg);

/* The first key written twice in one object of x, depth first: 1 with path[0..cap) the object's
 * JSON pointer and *key the name; 0 when every object's keys are distinct. n: path's length. */
static int duplicate_key(const cJSON *x, char *path, size_t cap, size_t n, const char **key) {
    if (!cJSON_IsObject(x) && !cJSON_IsArray(x)) return 0;
    int i = 0;
    for (const cJSON *c = x->child; c; c = c->next, i++) {
        if (cJSON_IsObject(x))
            for (const cJSON *d = x->child; d != c; d = d->next)
                if (strcmp(d->string, c->string) == 0) {
                    path[n < cap ? n : cap - 1] = 0;
                    *key = c->string;
                    return 1;
                }
        size_t m = n;
        if (cJSON_IsObject(x)) path_push(path, &m, cap, c->string);
        else {
            char idx[16];
            snprintf(idx, sizeof idx, "%d", i);
            path_push(path, &m, cap, idx);
        }
        if (duplicate_key(c, path, cap, m, key)) return 1;
        path[n < cap ? n : cap - 1] = 0;
    }
    return 0;
}

int smol_jschema_from_cjson(const cJSON *schema, unsigned flags, smol_jschema **out, smol_error *err) {
    *out = NULL;
    if (!schema || !(cJSON_IsObject(schema) || cJSON_IsBool(schema)))
        return smol_fail(err, SMOL_EFORMAT, "a schema must be a JSON object or a boolean");
    char where[512];
    const char *dup = NULL;
    if (duplicate_key(schema, where, sizeof where, 0, &dup))
        return smol_fail(err, SMOL_EFORMAT, "the schema has the key '%.100s' twice in the object at %s", dup,
                         where[0] ? where : "/");
    smol_jschema *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "out of memory preparing a schema");
    s->flags = flags;
    s->root = cJSON_Duplicate(schema, 1);
    int rc = s->root ? add_res(s, "", s->root, 0) : SMOL_ENOMEM;
    prep p = {.s = s, .err = err};
    if (!rc) rc = prep_schema(&p, s->root, "", 0);
    if (rc) {
        if (rc == SMOL_ENOMEM) smol_fail(err, rc, "out of memory preparing a schema");
        smol_jschema_free(s);
        return rc;
    }
    *out = s;
    return SMOL_OK;
}

int smol_jschema_new(const char *json, size_t len, unsigned flags, smol_jschema **out, smol_error *err) {
    *out = NULL;
    size_t off = 0;
    cJSON *doc = smol_json_parse_text(json, len, &off);
    if (!doc) return smol_fail(err, SMOL_EFORMAT, "schema is not valid JSON (near byte %zu)", off);
    int rc = smol_jschema_from_cjson(doc, flags, out, err);
    cJSON_Delete(doc);
    return rc;
}

/* ---------------------------------------------------------------- JSON equality */

int smol_json_equal(const cJSON *a, const cJSON *b) {
    if (!a || !b) return a == b;
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) return a->valuedouble == b->valuedouble;
    if ((a->type & 0xff) != (b->type & 0xff)) return 0;
    if (cJSON_IsString(a)) return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!smol_json_equal(x, y)) return 0;
        return !x && !y;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) return 0;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (!y || !smol_json_equal(x, y)) return 0;
        }
        return 1;
    }
    return 1;  /* null, true, false */
}

/* ---------------------------------------------------------------- formats */

static int digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

static int check_date(const char *s, size_t n) {
    if (n != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2)) return 0;
    int y = num2(s) * 100 + num2(s + 2), m = num2(s + 5), d = num2(s + 8);
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

static int check_time(const char *s, size_t n) {
    if (n < 9 || !digits(s, 2) || s[2] != ':' || !digits(s + 3, 2) || s[5] != ':' || !digits(s + 6, 2)) return 0;
    int h = num2(s), mi = num2(s + 3), se = num2(s + 6);
    size_t i = 8;
    if (s[i] == '.') {
        size_t j = ++i;
        while (i < n && isdigit((unsigned char)s[i])) i++;
        if (i == j) return 0;
    }
    int oh = 0, om = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) i++;
    else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' && digits(s + i + 4, 2)) {
        int sign = s[i] == '+' ? 1 : -1;
        oh = sign * num2(s + i + 1);
        om = sign * num2(s + i + 4);
        if (abs(oh) > 23 || abs(om) > 59) return 0;
        i += 6;
    } else return 0;
    if (i != n || h > 23 || mi > 59 || se > 60) return 0;
    if (se == 60) {  /* a leap second only at 23:59:60 UTC */
        int utc = ((h * 60 + mi - oh * 60 - om) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59) return 0;
    }
    return 1;
}

static int check_duration(const char *s) {
    if (*s++ != 'P' || !*s) return 0;
    static const char date_units[] = "YMD", time_units[] = "HMS";
    int in_time = 0, last = -1, any = 0, weeks = 0;
    while (*s) {
        if (*s == 'T') {
            if (in_time) return 0;
            in_time = 1;
            last = -1;
            s++;
            if (!*s) return 0;
            continue;
        }
        if (!isdigit((unsigned char)*s)) return 0;
        while (isdigit((unsigned char)*s)) s++;
        const char *units = in_time ? time_units : date_units;
        if (*s == 'W' && !in_time) {
            weeks = 1;
            s++;
            any = 1;
            continue;
        }
        const char *u = *s ? strchr(units, *s) : NULL;
        if (!u || (int)(u - units) <= last) return 0;
        last = (int)(u - units);
        any = 1;
        s++;
    }
    if (weeks && (last >= 0 || in_time)) return 0;
    return any;
}

static int check_hostname(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 253) return 0;
    while (*s) {
        size_t l = 0;
        while (s[l] && s[l] != '.') {
            if (!isalnum((unsigned char)s[l]) && s[l] != '-') return 0;
            l++;
        }
        if (l == 0 || l > 63 || s[0] == '-' || s[l - 1] == '-') return 0;
        s += l;
        if (*s == '.' && !*++s) return 0;
    }
    return 1;
}

static int check_ipv4(const char *s) {
    for (int part = 0; part < 4; part++) {
        if (part && *s++ != '.') return 0;
        int n = 0, v = 0;
        while (isdigit((unsigned char)s[n]) && n < 4) v = v * 10 + (s[n++] - '0');
        if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0')) return 0;
        s += n;
    }
    return *s == 0;
}

static int check_email(const char *s) {
    const char *at = strrchr(s, '@');
    if (!at || at == s) return 0;
    for (const char *p = s; p < at; p++)
        if ((unsigned char)*p <= ' ' || strchr("()<>[]:;@\\,\"", *p)) return 0;
    if (s[0] == '.' || at[-1] == '.' || strstr(s, "..")) return 0;
    return check_hostname(at + 1);
}

/* The next code point of UTF-8 text at *p (advancing); -1 when malformed. */
static int32_t next_cp(const char **p) {
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = s[0];
    int n = c < 0x80 ? 0 : c >= 0xF0 && c <= 0xF4 ? 3 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xC2 && c <= 0xDF ? 1 : -1;
    if (n < 0) return -1;
    c &= n ? 0x3Fu >> n : 0x7Fu;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        c = c << 6 | (s[i] & 0x3F);
    }
    *p += n + 1;
    return (int32_t)c;
}

/* 1 if every character of s may appear in a URI reference (unicode: an IRI reference, which
 * also takes characters from U+00A0 on): no space, control or <>"{}|\^`, '%' before two hex digits. */
static int uri_chars(const char *s, int unicode) {
    while (*s) {
        const char *at = s;
        int32_t c = next_cp(&s);
        if (c < 0 || (c >= 0x80 && (!unicode || c < 0xA0))) return 0;
        if (c < 0x80 && (c <= ' ' || c == 0x7f || strchr("<>\"{}|\\^`", c))) return 0;
        if (c == '%' && !(isxdigit((unsigned char)at[1]) && isxdigit((unsigned char)at[2]))) return 0;
    }
    return 1;
}

static int check_uri(const char *s) { return has_scheme(s) && uri_chars(s, 0); }

/* RFC 6901: empty, or "/"-separated segments where '~' is followed by 0 or 1. */
static int check_json_pointer(const char *s) {
    if (*s && *s != '/') return 0;
    for (; *s; s++)
        if (*s == '~' && s[1] != '0' && s[1] != '1') return 0;
    return 1;
}

/* A non-negative integer (no leading zero) then "#" or a JSON pointer. */
static int check_rel_pointer(const char *s) {
    if (!isdigit((unsigned char)*s) || (s[0] == '0' && isdigit((unsigned char)s[1]))) return 0;
    while (isdigit((unsigned char)*s)) s++;
    return strcmp(s, "#") == 0 || check_json_pointer(s);
}

/* RFC 6570 level 4: literals (URI characters, '%' encoded, from U+00A0 on) and expressions
 * {op varname[:len|*], ...} whose names are [A-Za-z0-9_] or %XX, dot-separated. */
static int check_uri_template(const char *s) {
    while (*s) {
        if (*s != '{') {
            const char *at = s;
            int32_t c = next_cp(&s);
            if (c < 0 || (c >= 0x80 && c < 0xA0) || (c < 0x80 && (c <= ' ' || c == 0x7f || strchr("\"'<>\\^`{|}", c))))
                return 0;
            if (c == '%' && !(isxdigit((unsigned char)at[1]) && isxdigit((unsigned char)at[2]))) return 0;
            continue;
        }
        s++;
        if (*s && strchr("+#./;?&=,!@|", *s)) s++;
        for (;;) {   /* varspec */
            int chars = 0;
            for (;;) {
                if (isalnum((unsigned char)*s) || *s == '_') s++, chars++;
                else if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) s += 3, chars++;
                else if (*s == '.' && chars && (isalnum((unsigned char)s[1]) || s[1] == '_' || s[1] == '%')) s++;
                else break;
            }
            if (!chars) return 0;
            if (*s == '*') s++;
            else if (*s == ':') {
                s++;
                int d = 0;
                if (*s < '1' || *s > '9') return 0;
                while (isdigit((unsigned char)*s) && d < 4) s++, d++;
            }
            if (*s == ',') {
                s++;
                continue;
            }
            if (*s++ != '}') return 0;
            break;
        }
    }
    return 1;
}

static int check_uuid(const char *s) {
    static const int groups[5] = {8, 4, 4, 4, 12};
    for (int g = 0; g < 5; g++) {
        if (g && *s++ != '-') return 0;
        for (int i = 0; i < groups[g]; i++, s++)
            if (!isxdigit((unsigned char)*s)) return 0;
    }
    return *s == 0;
}

int smol_jschema_check_format(const char *format, const char *s) {
    size_t n = strlen(s);
    if (strcmp(format, "date") == 0) return check_date(s, n);
    if (strcmp(format, "time") == 0) return check_time(s, n);
    if (strcmp(format, "date-time") == 0)
        return n > 11 && (s[10] == 'T' || s[10] == 't') && check_date(s, 10) && check_time(s + 11, n - 11);
    if (strcmp(format, "duration") == 0) return check_duration(s);
    if (strcmp(format, "uuid") == 0) return check_uuid(s);
    if (strcmp(format, "email") == 0) return check_email(s);
    if (strcmp(format, "hostname") == 0) return check_hostname(s);
    if (strcmp(format, "ipv4") == 0) return check_ipv4(s);
    if (strcmp(format, "ipv6") == 0) {
        unsigned char buf[16];
        return !strchr(s, '%') && inet_pton(AF_INET6, s, buf) == 1;
    }
    if (strcmp(format, "uri") == 0) return check_uri(s);
    if (strcmp(format, "uri-reference") == 0) return uri_chars(s, 0);
    if (strcmp(format, "iri") == 0) return has_scheme(s) && uri_chars(s, 1);
    if (strcmp(format, "iri-reference") == 0) return uri_chars(s, 1);
    if (strcmp(format, "json-pointer") == 0) return check_json_pointer(s);
    if (strcmp(format, "relative-json-pointer") == 0) return check_rel_pointer(s);
    if (strcmp(format, "uri-template") == 0) return check_uri_template(s);
    return 1;
}

/* ---------------------------------------------------------------- validation state */

typedef struct ann {          /* which children of the current instance were evaluated */
    int n;
    unsigned char *ev;
} ann;

typedef struct vctx {
    const smol_jschema *s;
    smol_error *err;
    char ipath[1024], spath[1024];
    size_t ilen, slen;
    int quiet;                /* > 0 inside anyOf/oneOf/not/if/contains: failures are not reported */
    char *why;
    size_t why_size;
    int have_why;
    int depth;
    const char *scope[MAX_SCOPE];  /* base URIs of the resources entered (dynamic scope) */
    const cJSON *id_done;     /* a $ref target whose own $id is already in the base passed to it */
    int n_scope;
    const struct numtext *nums;  /* the text of the instance's numbers (sorted by node), if known */
    size_t n_nums;
} vctx;

static void path_push(char *buf, size_t *len, size_t cap, const char *seg) {
    size_t n = *len;
    if (n + 2 >= cap) return;
    buf[n++] = '/';
    for (; *seg && n + 3 < cap; seg++) {
        if (*seg == '~' || *seg == '/') {
            buf[n++] = '~';
            buf[n++] = *seg == '~' ? '0' : '1';
        } else buf[n++] = *seg;
    }
    buf[n] = 0;
    *len = n;
}

static void ipush(vctx *v, const char *seg, size_t *save) {
    *save = v->ilen;
    path_push(v->ipath, &v->ilen, sizeof v->ipath, seg);
}
static void ipush_i(vctx *v, int i, size_t *save) {
    char b[24];
    snprintf(b, sizeof b, "%d", i);
    ipush(v, b, save);
}
static void ipop(vctx *v, size_t save) { v->ipath[v->ilen = save] = 0; }

static void spush(vctx *v, const char *seg, size_t *save) {
    *save = v->slen;
    if (v->slen + 2 < sizeof v->spath) {  /* schema paths keep "/" separators between given segments */
        int n = snprintf(v->spath + v->slen, sizeof v->spath - v->slen, "/%s", seg);
        if (n > 0) v->slen = strlen(v->spath);
    }
}
static void spop(vctx *v, size_t save) { v->spath[v->slen = save] = 0; }

static int vfail(vctx *v, const char *fmt, ...) SMOL_PRINTF(2, 3);
static int vfail(vctx *v, const char *fmt, ...) {
    if (v->quiet || v->have_why || !v->why) return 0;
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(v->why, v->why_size, "%s: %s (schema %s)", v->ilen ? v->ipath : "/", reason, v->slen ? v->spath : "/");
    v->have_why = 1;
    return 0;
}

static int ann_new(ann *a, int n) {
    a->n = n;
    a->ev = n ? calloc((size_t)n, 1) : NULL;
    return (n && !a->ev) ? -1 : 0;
}
static void ann_merge(ann *dst, const ann *src) {
    if (!dst || !dst->ev || !src->ev) return;
    for (int i = 0; i < dst->n && i < src->n; i++) dst->ev[i] |= src->ev[i];
}

static int child_count(const cJSON *x) {
    return (cJSON_IsObject(x) || cJSON_IsArray(x)) ? cJSON_GetArraySize(x) : 0;
}

static int validate(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *out);

/* Applies sub to the same instance under schema-path segment seg; merges annotations on success. */
static int apply_same(vctx *v, const cJSON *sub, const cJSON *inst, const char *base, const char *seg, ann *mine) {
    size_t ss;
    spush(v, seg, &ss);
    ann a = {0, NULL};
    int rc;
    if (mine && ann_new(&a, mine->n)) rc = smol_fail(v->err, SMOL_ENOMEM, "out of memory validating");
    else {
        rc = validate(v, sub, inst, base, mine ? &a : NULL);
        if (rc == 1) ann_merge(mine, &a);
    }
    free(a.ev);
    spop(v, ss);
    return rc;
}

/* Applies sub to a child instance (property key or item index). */
static int apply_child(vctx *v, const cJSON *sub, const cJSON *child, const char *base, const char *seg,
                       const char *ikey, int iidx) {
    size_t ss, is;
    spush(v, seg, &ss);
    if (ikey) ipush(v, ikey, &is);
    else ipush_i(v, iidx, &is);
    int rc = validate(v, sub, child, base, NULL);
    ipop(v, is);
    spop(v, ss);
    return rc;
}

/* ---------------------------------------------------------------- $ref */

static int pct_decode(const char *in, char *out, size_t cap) {
    size_t n = 0;
    for (; *in; in++) {
        if (n + 1 >= cap) return -1;
        if (*in == '%' && isxdigit((unsigned char)in[1]) && isxdigit((unsigned char)in[2])) {
            char h[3] = {in[1], in[2], 0};
            out[n++] = (char)strtol(h, NULL, 16);
            in += 2;
        } else out[n++] = *in;
    }
    out[n] = 0;
    return 0;
}

/* Follows JSON pointer ptr from node; *base is updated for every $id passed on the way. */
static const cJSON *follow_pointer(const cJSON *node, const char *ptr, char **base) {
    char tok[512];
    while (*ptr == '/') {
        ptr++;
        size_t n = 0;
        while (*ptr && *ptr != '/' && n + 1 < sizeof tok) {
            if (*ptr == '~' && (ptr[1] == '0' || ptr[1] == '1')) {
                tok[n++] = ptr[1] == '0' ? '~' : '/';
                ptr += 2;
            } else tok[n++] = *ptr++;
        }
        tok[n] = 0;
        if (cJSON_IsObject(node)) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(node, "$id");
            if (cJSON_IsString(id) && *base) {
                char *nb = uri_strip_fragment(uri_resolve(*base, id->valuestring));
                if (!nb) return NULL;
                free(*base);
                *base = nb;
            }
            node = cJSON_GetObjectItemCaseSensitive(node, tok);
        } else if (cJSON_IsArray(node)) {
            char *end;
            long i = strtol(tok, &end, 10);
            node = (*tok && !*end && i >= 0) ? cJSON_GetArrayItem(node, (int)i) : NULL;
        } else return NULL;
        if (!node) return NULL;
    }
    return node;
}

/* Resolves ref against base: the target schema and the base URI in effect around it (*tbase,
 * malloc'd). NULL with *tbase NULL when it cannot be found. */
static const cJSON *resolve_ref(const smol_jschema *s, const char *base, const char *ref, char **tbase,
                                const char **frag_out) {
    *tbase = NULL;
    char *abs = uri_resolve(base, ref);
    if (!abs) return NULL;
    char *hash = strchr(abs, '#');
    const char *frag = "";
    if (hash) {
        *hash = 0;
        frag = hash + 1;
    }
    const cJSON *doc = find_res(s, abs, 0);
    const cJSON *target = NULL;
    if (doc) {
        if (!*frag) {
            target = doc;
            *tbase = strdup(abs);
        } else if (*frag == '/') {
            char dec[1024];
            *tbase = strdup(abs);
            if (*tbase && pct_decode(frag, dec, sizeof dec) == 0) target = follow_pointer(doc, dec, tbase);
        } else {
            size_t n = strlen(abs) + strlen(frag) + 2;
            char *u = malloc(n);
            if (u) {
                snprintf(u, n, "%s#%s", abs, frag);
                target = find_res(s, u, 0);
                free(u);
                *tbase = strdup(abs);
            }
        }
    }
    if (frag_out) *frag_out = (target && *frag && *frag != '/') ? ref + strcspn(ref, "#") + 1 : NULL;
    if (!target) {
        free(*tbase);
        *tbase = NULL;
    }
    free(abs);
    return target;
}

static int apply_ref(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *mine, int dynamic) {
    const char *kw = dynamic ? "$dynamicRef" : "$ref";
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(sch, kw);
    if (!cJSON_IsString(r)) return 1;
    char *tbase = NULL;
    const char *frag = NULL;
    const cJSON *target = resolve_ref(v->s, base, r->valuestring, &tbase, &frag);
    if (!target)
        return smol_fail(v->err, SMOL_EUNSUPPORTED, "schema %s: cannot resolve %s '%s' (only references within the schema are supported)",
                         v->slen ? v->spath : "/", kw, r->valuestring);
    if (dynamic && frag) {
        const cJSON *da = cJSON_GetObjectItemCaseSensitive(target, "$dynamicAnchor");
        if (cJSON_IsString(da) && strcmp(da->valuestring, frag) == 0) {
            for (int i = 0; i < v->n_scope; i++) {  /* the outermost resource declaring it wins */
                size_t n = strlen(v->scope[i]) + strlen(frag) + 2;
                char *u = malloc(n);
                if (!u) break;
                snprintf(u, n, "%s#%s", v->scope[i], frag);
                const cJSON *t = find_res(v->s, u, 1);
                free(u);
                if (t) {
                    target = t;
                    free(tbase);
                    tbase = strdup(v->scope[i]);
                    break;
                }
            }
        }
    }
    v->id_done = (frag || !strchr(r->valuestring, '#') || !strchr(r->valuestring, '#')[1]) ? target : NULL;
    int pushed = 0;  /* the target's resource joins the dynamic scope even when entered mid-document */
    if (tbase && v->n_scope < MAX_SCOPE && (!v->n_scope || strcmp(v->scope[v->n_scope - 1], tbase) != 0)) {
        v->scope[v->n_scope++] = tbase;
        pushed = 1;
    }
    int rc = tbase ? apply_same(v, target, inst, tbase, kw, mine) : smol_fail(v->err, SMOL_ENOMEM, "out of memory");
    if (pushed) v->n_scope--;
    free(tbase);
    if (rc == 0) vfail(v, "does not match the %s target '%s'", kw, r->valuestring);
    return rc;
}

/* ---------------------------------------------------------------- keyword groups */

static const char *type_name(const cJSON *x) {
    if (cJSON_IsNull(x)) return "null";
    if (cJSON_IsBool(x)) return "boolean";
    if (cJSON_IsNumber(x)) return "number";
    if (cJSON_IsString(x)) return "string";
    if (cJSON_IsArray(x)) return "array";
    return "object";
}

/* ---------------------------------------------------------------- exact decimal numbers */

/* A JSON number as digits * 10^exp: digits are its significant digits (no leading or trailing
 * zeros; n_digits 0 for zero), read from the number's text. */
typedef struct decnum {
    const char *digits;
    size_t n_int;             /* digits before the text's '.' (the rest follow it) */
    size_t n_digits;
    int64_t exp;
    char buf[40];             /* the digits when made from a double */
} decnum;

/* The i-th significant digit of d (0-9); digits may straddle the text's '.'. */
static int dec_digit(const decnum *d, size_t i) {
    return d->digits[i < d->n_int ? i : i + 1] - '0';
}

/* Reads the strict JSON number text s[0..len) into d; 0 if it is not one. */
static int dec_parse(const char *s, size_t len, decnum *d) {
    size_t i = 0;
    if (i < len && s[i] == '-') i++;
    size_t a = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    size_t n_int = i - a, f0 = i, n_frac = 0;
    if (n_int == 0 || (n_int > 1 && s[a] == '0')) return 0;
    if (i < len && s[i] == '.') {
        f0 = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        n_frac = i - f0;
        if (!n_frac) return 0;
    }
    int64_t e = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int neg = 0;
        if (++i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
        if (i >= len || s[i] < '0' || s[i] > '9') return 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 1000000000000ll) e = e * 10 + (s[i] - '0');   /* saturates far past any double */
        if (neg) e = -e;
    }
    if (i != len) return 0;
    /* the digits run a .. a+n_int, then (after '.') f0 .. f0+n_frac; strip zeros at both ends */
    const char *digits = s + a;
    size_t n = n_int + n_frac, lead = 0, trail = 0;
    decnum t = {digits, n_int, n, e - (int64_t)n_frac, {0}};
    while (lead < n && dec_digit(&t, lead) == 0) lead++;
    while (trail < n - lead && dec_digit(&t, n - 1 - trail) == 0) trail++;
    if (lead == n) {
        *d = (decnum){digits, 0, 0, 0, {0}};
        return 1;
    }
    /* skip leading zeros: they lie before the '.' only while lead < n_int */
    d->digits = lead < n_int ? digits + lead : digits + lead + 1;
    d->n_int = lead < n_int ? n_int - lead : 0;
    d->n_digits = n - lead - trail;
    d->exp = t.exp + (int64_t)trail;
    return 1;
}

/* x as the shortest decimal that reads back as x (finite x). */
static void dec_of_double(double x, decnum *d) {
    char t[40];
    for (int p = 0; p < 17; p++) {
        snprintf(t, sizeof t, "%.*e", p, x);
        if (strtod(t, NULL) == x) break;
    }
    char *e = strchr(t, 'e');
    size_t k = 0;
    for (const char *c = t; c < e; c++)
        if (*c >= '0' && *c <= '9') d->buf[k++] = *c;
    int64_t exp = strtoll(e + 1, NULL, 10) - (int64_t)(k - 1);
    while (k && d->buf[k - 1] == '0') k--, exp++;
    d->digits = d->buf, d->n_int = k, d->n_digits = k, d->exp = exp;
    if (k == 0) d->exp = 0;
}

/* 1 if d is an integer. */
static int dec_is_integer(const decnum *d) { return d->n_digits == 0 || d->exp >= 0; }

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) { return (uint64_t)((unsigned __int128)a * b % m); }

/* 1 if x is an integer multiple of m (m > 0, at most 19 significant digits). */
static int dec_is_multiple(const decnum *x, const decnum *m) {
    if (x->n_digits == 0) return 1;
    if (x->exp < m->exp) return 0;    /* x / m = X / M * 10^-g with X not a multiple of 10 */
    uint64_t p = 0, r = 0;
    for (size_t i = 0; i < m->n_digits; i++) p = p * 10 + (uint64_t)dec_digit(m, i);
    for (size_t i = 0; i < x->n_digits; i++) r = (r * 10 + (uint64_t)dec_digit(x, i)) % p;
    uint64_t g = (uint64_t)(x->exp - m->exp), b = 10 % p, f = 1 % p;   /* r * 10^g mod p */
    for (; g; g >>= 1, b = mulmod(b, b, p))
        if (g & 1) f = mulmod(f, b, p);
    return mulmod(r, f, p) == 0;
}

/* The text of each number of an instance parsed from text, by node (sorted by address). */
typedef struct numtext {
    const cJSON *node;
    const char *text;
    size_t len;
} numtext;

static int numtext_cmp(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)((const numtext *)a)->node, y = (uintptr_t)((const numtext *)b)->node;
    return (x > y) - (x < y);
}

/* inst as a decimal: its own text when the instance came from text, else the shortest decimal
 * that reads back as its double; 0 if it has neither (an infinite double). */
static int num_of(const vctx *v, const cJSON *inst, decnum *d) {
    numtext key = {inst, NULL, 0};
    const numtext *t = v->n_nums ? bsearch(&key, v->nums, v->n_nums, sizeof key, numtext_cmp) : NULL;
    if (t && dec_parse(t->text, t->len, d)) return 1;
    if (!isfinite(inst->valuedouble)) return 0;
    dec_of_double(inst->valuedouble, d);
    return 1;
}

/* m's shortest decimal text (the one multipleOf is read as). */
static void shortest_text(double m, char *t, size_t cap) {
    for (int p = 1; p <= 17; p++) {
        snprintf(t, cap, "%.*g", p, m);
        if (strtod(t, NULL) == m) return;
    }
}

static int is_integer(const vctx *v, const cJSON *x) {
    decnum d;
    return cJSON_IsNumber(x) && num_of(v, x, &d) && dec_is_integer(&d);
}

static int type_matches(const vctx *v, const char *t, const cJSON *x) {
    if (strcmp(t, "integer") == 0) return is_integer(v, x);
    return strcmp(t, type_name(x)) == 0;
}

static int check_type(vctx *v, const cJSON *t, const cJSON *inst) {
    if (cJSON_IsString(t)) {
        if (type_matches(v, t->valuestring, inst)) return 1;
        return vfail(v, "expected %s, got %s", t->valuestring, type_name(inst));
    }
    if (cJSON_IsArray(t)) {
        for (const cJSON *e = t->child; e; e = e->next)
            if (cJSON_IsString(e) && type_matches(v, e->valuestring, inst)) return 1;
        return vfail(v, "%s is not one of the allowed types", type_name(inst));
    }
    return 1;
}

static double num_kw(const cJSON *sch, const char *k, int *has) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(sch, k);
    *has = cJSON_IsNumber(x);
    return *has ? x->valuedouble : 0;
}

static int check_number(vctx *v, const cJSON *sch, const cJSON *inst) {
    double x = inst->valuedouble, b;
    int has;
    const cJSON *exmin = cJSON_GetObjectItemCaseSensitive(sch, "exclusiveMinimum");
    const cJSON *exmax = cJSON_GetObjectItemCaseSensitive(sch, "exclusiveMaximum");
    b = num_kw(sch, "minimum", &has);
    if (has && (cJSON_IsTrue(exmin) ? !(x > b) : !(x >= b))) return vfail(v, "%.17g is below the minimum %.17g", x, b);
    b = num_kw(sch, "maximum", &has);
    if (has && (cJSON_IsTrue(exmax) ? !(x < b) : !(x <= b))) return vfail(v, "%.17g is above the maximum %.17g", x, b);
    if (cJSON_IsNumber(exmin) && !(x > exmin->valuedouble))
        return vfail(v, "%.17g is not above the exclusive minimum %.17g", x, exmin->valuedouble);
    if (cJSON_IsNumber(exmax) && !(x < exmax->valuedouble))
        return vfail(v, "%.17g is not below the exclusive maximum %.17g", x, exmax->valuedouble);
    b = num_kw(sch, "multipleOf", &has);
    if (has && b > 0 && isfinite(b)) {   /* exact on the decimals: x / b an integer */
        decnum dx, dm;
        dec_of_double(b, &dm);
        if (!num_of(v, inst, &dx) || !dec_is_multiple(&dx, &dm)) {
            char bt[40];
            shortest_text(b, bt, sizeof bt);
            numtext key = {inst, NULL, 0};
            const numtext *t = v->n_nums ? bsearch(&key, v->nums, v->n_nums, sizeof key, numtext_cmp) : NULL;
            if (t) return vfail(v, "%.*s%s is not a multiple of %s", t->len > 60 ? 60 : (int)t->len, t->text, t->len > 60 ? "..." : "", bt);
            return vfail(v, "%.17g is not a multiple of %s", x, bt);
        }
    }
    return 1;
}

static const pcre2_code *find_re(const smol_jschema *s, const cJSON *node) {
    for (int i = 0; i < s->n_re; i++)
        if (s->re[i].node == node) return s->re[i].code;
    return NULL;
}

/* 1 if regex (node's compiled pattern, or re compiled now) finds a match in str; < 0 on error. */
static int re_search(vctx *v, const cJSON *node, const char *re, const char *str) {
    const pcre2_code *code = find_re(v->s, node);
    pcre2_code *tmp = NULL;
    if (!code) {
        char msg[300];
        code = tmp = compile_regex(re, msg, sizeof msg);
        if (!code) return smol_fail(v->err, SMOL_EFORMAT, "schema %s: invalid regex '%s': %s", v->spath, re, msg);
    }
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int rc = md ? pcre2_match(code, (PCRE2_SPTR)str, strlen(str), 0, 0, md, NULL) : PCRE2_ERROR_NOMEMORY;
    pcre2_match_data_free(md);
    pcre2_code_free(tmp);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc == PCRE2_ERROR_BADUTFOFFSET || (rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21)) return 0;
    return smol_fail(v->err, SMOL_ERANGE, "schema %s: regex '%s' failed on %s (PCRE2 error %d)", v->spath, re, v->ipath, rc);
}

static size_t utf8_len(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int check_string(vctx *v, const cJSON *sch, const cJSON *inst) {
    const char *str = inst->valuestring;
    int has;
    double b = num_kw(sch, "minLength", &has);
    size_t n = utf8_len(str);
    if (has && (double)n < b) return vfail(v, "string of %zu characters is shorter than minLength %.0f", n, b);
    b = num_kw(sch, "maxLength", &has);
    if (has && (double)n > b) return vfail(v, "string of %zu characters is longer than maxLength %.0f", n, b);
    const cJSON *pat = cJSON_GetObjectItemCaseSensitive(sch, "pattern");
    if (cJSON_IsString(pat)) {
        int rc = re_search(v, pat, pat->valuestring, str);
        if (rc <= 0) return rc < 0 ? rc : vfail(v, "does not match pattern '%s'", pat->valuestring);
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(sch, "format");
    if ((v->s->flags & SMOL_JSCHEMA_ASSERT_FORMAT) && cJSON_IsString(fmt) && !smol_jschema_check_format(fmt->valuestring, str))
        return vfail(v, "is not a valid %s", fmt->valuestring);
    return 1;
}

static int check_array(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *mine) {
    int n = cJSON_GetArraySize(inst), has;
    double b = num_kw(sch, "minItems", &has);
    if (has && n < b) return vfail(v, "array of %d items has fewer than minItems %.0f", n, b);
    b = num_kw(sch, "maxItems", &has);
    if (has && n > b) return vfail(v, "array of %d items has more than maxItems %.0f", n, b);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(sch, "uniqueItems");
    if (cJSON_IsTrue(u)) {
        int i = 0;
        for (const cJSON *a = inst->child; a; a = a->next, i++) {
            int j = i + 1;
            for (const cJSON *c = a->next; c; c = c->next, j++)
                if (smol_json_equal(a, c)) return vfail(v, "items %d and %d are equal (uniqueItems)", i, j);
        }
    }
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(sch, "prefixItems");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(sch, "items");
    const cJSON *rest = items;
    const char *rest_kw = "items";
    if (cJSON_IsArray(items)) {  /* draft-04..2019 tuple form */
        prefix = items;
        rest = cJSON_GetObjectItemCaseSensitive(sch, "additionalItems");
        rest_kw = "additionalItems";
    }
    int np = 0, i = 0;
    const cJSON *p = cJSON_IsArray(prefix) ? prefix->child : NULL;
    const char *pkw = prefix == items ? "items" : "prefixItems";
    const cJSON *it = inst->child;
    for (; it && p; it = it->next, p = p->next, i++, np++) {
        char seg[64];
        snprintf(seg, sizeof seg, "%s/%d", pkw, i);
        int rc = apply_child(v, p, it, base, seg, NULL, i);
        if (rc != 1) return rc;
        if (mine && mine->ev) mine->ev[i] = 1;
    }
    if (rest && (cJSON_IsObject(rest) || cJSON_IsBool(rest))) {
        for (; it; it = it->next, i++) {
            int rc = apply_child(v, rest, it, base, rest_kw, NULL, i);
            if (rc != 1) return rc;
            if (mine && mine->ev) mine->ev[i] = 1;
        }
    }
    const cJSON *contains = cJSON_GetObjectItemCaseSensitive(sch, "contains");
    if (contains) {
        int found = 0;
        i = 0;
        v->quiet++;
        for (it = inst->child; it; it = it->next, i++) {
            int rc = apply_child(v, contains, it, base, "contains", NULL, i);
            if (rc < 0) {
                v->quiet--;
                return rc;
            }
            if (rc == 1) {
                found++;
                if (mine && mine->ev) mine->ev[i] = 1;
            }
        }
        v->quiet--;
        double mn = 1, mx;
        int has_mn, has_mx;
        double t = num_kw(sch, "minContains", &has_mn);
        if (has_mn) mn = t;
        mx = num_kw(sch, "maxContains", &has_mx);
        if (found < mn) return vfail(v, "%d items match 'contains', fewer than %.0f", found, mn);
        if (has_mx && found > mx) return vfail(v, "%d items match 'contains', more than maxContains %.0f", found, mx);
    }
    return 1;
}

static int check_object(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *mine) {
    int n = cJSON_GetArraySize(inst), has;
    double b = num_kw(sch, "minProperties", &has);
    if (has && n < b) return vfail(v, "object with %d properties has fewer than minProperties %.0f", n, b);
    b = num_kw(sch, "maxProperties", &has);
    if (has && n > b) return vfail(v, "object with %d properties has more than maxProperties %.0f", n, b);
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(sch, "required");
    if (cJSON_IsArray(req))
        for (const cJSON *r = req->child; r; r = r->next)
            if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(inst, r->valuestring))
                return vfail(v, "required property '%s' is missing", r->valuestring);
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(sch, "properties");
    const cJSON *pprops = cJSON_GetObjectItemCaseSensitive(sch, "patternProperties");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(sch, "additionalProperties");
    const cJSON *pnames = cJSON_GetObjectItemCaseSensitive(sch, "propertyNames");
    int i = 0;
    for (const cJSON *m = inst->child; m; m = m->next, i++) {
        int matched = 0, rc;
        char seg[600];
        if (pnames) {
            cJSON *name = cJSON_CreateString(m->string);
            if (!name) return smol_fail(v->err, SMOL_ENOMEM, "out of memory");
            rc = apply_child(v, pnames, name, base, "propertyNames", m->string, 0);
            cJSON_Delete(name);
            if (rc != 1) return rc == 0 ? vfail(v, "property name '%s' is not allowed by propertyNames", m->string) : rc;
        }
        const cJSON *ps = cJSON_IsObject(props) ? cJSON_GetObjectItemCaseSensitive(props, m->string) : NULL;
        if (ps) {
            snprintf(seg, sizeof seg, "properties/%.500s", m->string);
            if ((rc = apply_child(v, ps, m, base, seg, m->string, 0)) != 1) return rc;
            matched = 1;
        }
        if (cJSON_IsObject(pprops))
            for (const cJSON *pp = pprops->child; pp; pp = pp->next) {
                rc = re_search(v, pp, pp->string, m->string);
                if (rc < 0) return rc;
                if (!rc) continue;
                snprintf(seg, sizeof seg, "patternProperties/%.500s", pp->string);
                if ((rc = apply_child(v, pp, m, base, seg, m->string, 0)) != 1) return rc;
                matched = 1;
            }
        if (!matched && addl) {
            if (cJSON_IsFalse(addl)) return vfail(v, "additional property '%s' is not allowed", m->string);
            if ((rc = apply_child(v, addl, m, base, "additionalProperties", m->string, 0)) != 1) return rc;
            matched = 1;
        }
        if (matched && mine && mine->ev) mine->ev[i] = 1;
    }
    const char *dep_kw[3] = {"dependentRequired", "dependentSchemas", "dependencies"};
    for (int d = 0; d < 3; d++) {
        const cJSON *deps = cJSON_GetObjectItemCaseSensitive(sch, dep_kw[d]);
        if (!cJSON_IsObject(deps)) continue;
        for (const cJSON *dp = deps->child; dp; dp = dp->next) {
            if (!cJSON_GetObjectItemCaseSensitive(inst, dp->string)) continue;
            if (cJSON_IsArray(dp)) {
                for (const cJSON *r = dp->child; r; r = r->next)
                    if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(inst, r->valuestring))
                        return vfail(v, "property '%s' requires property '%s'", dp->string, r->valuestring);
            } else if (d > 0) {
                char seg[600];
                snprintf(seg, sizeof seg, "%s/%.500s", dep_kw[d], dp->string);
                int rc = apply_same(v, dp, inst, base, seg, mine);
                if (rc != 1) return rc;
            }
        }
    }
    return 1;
}

static int check_combinators(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *mine) {
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(sch, "allOf");
    int i = 0, rc;
    char seg[40];
    if (cJSON_IsArray(all))
        for (const cJSON *x = all->child; x; x = x->next, i++) {
            snprintf(seg, sizeof seg, "allOf/%d", i);
            if ((rc = apply_same(v, x, inst, base, seg, mine)) != 1) return rc;
        }
    const char *kws[2] = {"anyOf", "oneOf"};
    for (int k = 0; k < 2; k++) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(sch, kws[k]);
        if (!cJSON_IsArray(l)) continue;
        int ok = 0, first = -1;
        i = 0;
        v->quiet++;
        for (const cJSON *x = l->child; x; x = x->next, i++) {
            snprintf(seg, sizeof seg, "%s/%d", kws[k], i);
            rc = apply_same(v, x, inst, base, seg, mine);
            if (rc < 0) {
                v->quiet--;
                return rc;
            }
            if (rc == 1 && ok++ == 0) first = i;
            if (k == 1 && ok > 1) {
                v->quiet--;
                return vfail(v, "matches both oneOf/%d and oneOf/%d", first, i);
            }
        }
        v->quiet--;
        if (!ok) return vfail(v, "matches none of the %s alternatives", kws[k]);
    }
    const cJSON *no = cJSON_GetObjectItemCaseSensitive(sch, "not");
    if (no) {
        v->quiet++;
        rc = apply_same(v, no, inst, base, "not", NULL);
        v->quiet--;
        if (rc < 0) return rc;
        if (rc == 1) return vfail(v, "matches the 'not' schema");
    }
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(sch, "if");
    if (cond) {
        v->quiet++;
        rc = apply_same(v, cond, inst, base, "if", mine);
        v->quiet--;
        if (rc < 0) return rc;
        const char *kw = rc == 1 ? "then" : "else";
        const cJSON *br = cJSON_GetObjectItemCaseSensitive(sch, kw);
        if (br && (rc = apply_same(v, br, inst, base, kw, mine)) != 1) return rc;
    }
    return 1;
}

static int check_unevaluated(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *mine) {
    int is_obj = cJSON_IsObject(inst);
    const char *kw = is_obj ? "unevaluatedProperties" : "unevaluatedItems";
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(sch, kw);
    if (!u || !(is_obj || cJSON_IsArray(inst)) || !mine->ev) return 1;
    int i = 0;
    for (const cJSON *m = inst->child; m; m = m->next, i++) {
        if (mine->ev[i]) continue;
        if (cJSON_IsFalse(u))
            return is_obj ? vfail(v, "unevaluated property '%s' is not allowed", m->string)
                          : vfail(v, "unevaluated item %d is not allowed", i);
        int rc = apply_child(v, u, m, base, kw, is_obj ? m->string : NULL, i);
        if (rc != 1) return rc;
        mine->ev[i] = 1;
    }
    return 1;
}

static int validate_object_schema(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *mine) {
    int rc = apply_ref(v, sch, inst, base, mine, 0);
    if (rc == 1) rc = apply_ref(v, sch, inst, base, mine, 1);
    if (rc != 1) return rc;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(sch, "type");
    if (t && !check_type(v, t, inst)) return 0;
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(sch, "enum");
    if (cJSON_IsArray(en)) {
        int ok = 0;
        for (const cJSON *e = en->child; e && !ok; e = e->next) ok = smol_json_equal(e, inst);
        if (!ok) return vfail(v, "value is not one of the enum values");
    }
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(sch, "const");
    if (co && !smol_json_equal(co, inst)) return vfail(v, "value is not the const value");
    if (cJSON_IsNumber(inst)) rc = check_number(v, sch, inst);
    else if (cJSON_IsString(inst)) rc = check_string(v, sch, inst);
    else if (cJSON_IsArray(inst)) rc = check_array(v, sch, inst, base, mine);
    else if (cJSON_IsObject(inst)) rc = check_object(v, sch, inst, base, mine);
    if (rc != 1) return rc;
    if ((rc = check_combinators(v, sch, inst, base, mine)) != 1) return rc;
    return check_unevaluated(v, sch, inst, base, mine);
}

static int validate(vctx *v, const cJSON *sch, const cJSON *inst, const char *base, ann *out) {
    if (cJSON_IsTrue(sch)) return 1;
    if (cJSON_IsFalse(sch)) return vfail(v, "no value is allowed here (schema false)");
    if (!cJSON_IsObject(sch)) return 1;
    if (++v->depth > MAX_DEPTH) {
        v->depth--;
        return smol_fail(v->err, SMOL_ERANGE, "schema %s: references nest more than %d deep (a $ref cycle?)",
                         v->slen ? v->spath : "/", MAX_DEPTH);
    }
    char *mybase = NULL;
    int pushed = 0;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(sch, "$id");
    int resource = cJSON_IsString(id);
    if (resource && sch == v->id_done) v->id_done = NULL;  /* reached through its own URI: base is set */
    else if (resource) {
        mybase = uri_strip_fragment(uri_resolve(base, id->valuestring));
        if (!mybase) {
            v->depth--;
            return smol_fail(v->err, SMOL_ENOMEM, "out of memory");
        }
        base = mybase;
    }
    if ((resource || v->n_scope == 0) && v->n_scope < MAX_SCOPE) {
        v->scope[v->n_scope++] = base;
        pushed = 1;
    }
    int need = out != NULL || cJSON_GetObjectItemCaseSensitive(sch, "unevaluatedProperties") ||
               cJSON_GetObjectItemCaseSensitive(sch, "unevaluatedItems");
    ann mine = {0, NULL};
    int rc;
    if (need && ann_new(&mine, child_count(inst))) rc = smol_fail(v->err, SMOL_ENOMEM, "out of memory");
    else rc = validate_object_schema(v, sch, inst, base, need ? &mine : NULL);
    if (rc == 1 && out) ann_merge(out, &mine);
    free(mine.ev);
    if (pushed) v->n_scope--;
    free(mybase);
    v->depth--;
    return rc;
}

const cJSON *smol_jschema_root(const smol_jschema *s) { return s->root; }

const cJSON *smol_jschema_resolve(const smol_jschema *s, const char *ref) {
    const char *base = "";
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(s->root, "$id");
    char *rb = cJSON_IsString(id) ? uri_strip_fragment(uri_resolve("", id->valuestring)) : NULL;
    if (rb) base = rb;
    char *tbase = NULL;
    const cJSON *t = resolve_ref(s, base, ref, &tbase, NULL);
    free(tbase);
    free(rb);
    return t;
}

/* The next number token of json[*pos..len) outside strings (its text in *tok, *tlen); 0 at the end. */
static int next_number(const char *json, size_t len, size_t *pos, const char **tok, size_t *tlen) {
    size_t i = *pos;
    while (i < len) {
        char c = json[i];
        if (c == '"') {
            for (i++; i < len && json[i] != '"'; i++)
                if (json[i] == '\\') i++;
            i++;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t a = i;
            while (i < len && json[i] && strchr("0123456789+-.eE", json[i])) i++;
            *tok = json + a, *tlen = i - a, *pos = i;
            return 1;
        } else i++;
    }
    *pos = len;
    return 0;
}

typedef struct numscan {
    const char *json;
    size_t len, pos;
    numtext *t;
    size_t n, cap;
    int bad;                  /* the text does not match the tree: no table */
} numscan;

/* Pairs the numbers of x and its descendants (in document order) with the next number tokens. */
static void scan_numbers(numscan *ns, const cJSON *x) {
    if (cJSON_IsNumber(x)) {
        const char *tok;
        size_t tl;
        char buf[400];
        if (!next_number(ns->json, ns->len, &ns->pos, &tok, &tl)) {
            ns->bad = 1;
            return;
        }
        if (tl < sizeof buf) {   /* the token must read as the node's double */
            memcpy(buf, tok, tl), buf[tl] = 0;
            double d = strtod(buf, NULL);
            if (d != x->valuedouble && !(isnan(d) && isnan(x->valuedouble))) ns->bad = 1;
        }
        if (ns->n == ns->cap) {
            size_t cap = ns->cap ? 2 * ns->cap : 16;
            numtext *t = realloc(ns->t, cap * sizeof *t);
            if (!t) {
                ns->bad = 1;
                return;
            }
            ns->t = t, ns->cap = cap;
        }
        ns->t[ns->n++] = (numtext){x, tok, tl};
    }
    for (const cJSON *c = x->child; c && !ns->bad; c = c->next) scan_numbers(ns, c);
}

static int validate_with(const smol_jschema *s, const cJSON *inst, const numtext *nums, size_t n_nums, char *why,
                         size_t why_size, smol_error *err) {
    vctx *v = calloc(1, sizeof *v);
    if (!v) return smol_fail(err, SMOL_ENOMEM, "out of memory validating");
    v->s = s;
    v->err = err;
    v->why = why_size ? why : NULL;
    v->why_size = why_size;
    v->nums = nums, v->n_nums = n_nums;
    if (v->why) why[0] = 0;
    int rc = validate(v, s->root, inst, "", NULL);
    if (rc == 0 && v->why && !v->have_why) snprintf(why, why_size, "/: does not match the schema");
    free(v);
    return rc;
}

int smol_jschema_validate(const smol_jschema *s, const cJSON *inst, char *why, size_t why_size, smol_error *err) {
    return validate_with(s, inst, NULL, 0, why, why_size, err);
}

int smol_jschema_validate_doc(const smol_jschema *s, const cJSON *doc, const char *json, size_t len, const cJSON *inst,
                              char *why, size_t why_size, smol_error *err) {
    numscan ns = {json, len, 0, NULL, 0, 0, 0};
    if (json && doc) scan_numbers(&ns, doc);
    if (ns.bad) ns.n = 0;
    if (ns.n > 1) qsort(ns.t, ns.n, sizeof *ns.t, numtext_cmp);
    int rc = validate_with(s, inst ? inst : doc, ns.t, ns.n, why, why_size, err);
    free(ns.t);
    return rc;
}

int smol_jschema_validate_text(const smol_jschema *s, const char *json, size_t len, char *why, size_t why_size,
                               smol_error *err) {
    size_t off = 0;
    cJSON *doc = smol_json_parse_text(json, len, &off);
    if (!doc) {
        if (why_size) snprintf(why, why_size, "/: not valid JSON (near byte %zu)", off);
        return 0;
    }
    int rc = smol_jschema_validate_doc(s, doc, json, len, doc, why, why_size, err);
    cJSON_Delete(doc);
    return rc;
}
