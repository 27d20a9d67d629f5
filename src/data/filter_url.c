/* filter_url.c: datatrove's URLFilter rules over user-given lists (the bundled UT1 lists are
 * not shipped): blocked domains / sub-domains / URLs, banned words, soft-banned words and
 * banned sub-words in the document's url. */
#include "data/filters_internal.h"
#include "base/error.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>

/* A set of strings (open addressing). */
typedef struct str_set {
    char **v;
    size_t cap, n;
} str_set;

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int set_has(const str_set *s, const char *k, size_t n) {
    if (!s->cap) return 0;
    for (size_t i = hash_str(k, n) & (s->cap - 1); s->v[i]; i = (i + 1) & (s->cap - 1))
        if (strlen(s->v[i]) == n && !memcmp(s->v[i], k, n)) return 1;
    return 0;
}

static int set_add(str_set *s, const char *k, size_t n) {
    if (set_has(s, k, n)) return 0;
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = calloc(cap, sizeof *v);
        if (!v) return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) {
                size_t j = hash_str(s->v[i], strlen(s->v[i])) & (cap - 1);
                while (v[j]) j = (j + 1) & (cap - 1);
                v[j] = s->v[i];
            }
        free(s->v);
        s->v = v;
        s->cap = cap;
    }
    char *c = strndup(k, n);
    if (!c) return -1;
    size_t i = hash_str(k, n) & (s->cap - 1);
    while (s->v[i]) i = (i + 1) & (s->cap - 1);
    s->v[i] = c;
    s->n++;
    return 0;
}

static void set_free(str_set *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->v[i]);
    free(s->v);
}

static int is_alnum(char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

/* datatrove's normalize(): drops every non-[a-zA-Z0-9] byte and lowercases. */
static size_t normalize(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        if (is_alnum(s[i])) out[o++] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    return o;
}

typedef struct url_state {
    str_set domains, urls, banned, soft;
    char **subwords;
    size_t n_sub;
    long soft_threshold;
    char field[64];
    char *buf;
    size_t cap;
} url_state;

static int url_init(smol_filter *f, smol_error *err) {
    url_state *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "filter url: out of memory");
    f->state = s;
    s->soft_threshold = 2;
    strcpy(s->field, "url");
    return SMOL_OK;
}

/* Reads a list file: one entry a line, '#' lines skipped; entries normalized or stripped. */
static int load_list(const char *path, int do_normalize, str_set *set, char ***arr, size_t *n_arr, smol_error *err) {
    char *text;
    size_t len;
    int rc = smol_read_file(path, &text, &len, err);
    if (rc) return rc;
    char *line = text, *end = text + len;
    while (line < end && !rc) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (n && line[0] != '#') {
            const char *p = line;
            size_t m = n;
            if (do_normalize) m = normalize(line, n, line);
            else smol_strip(&p, &m);
            if (m && set && set_add(set, p, m)) rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
            if (m && arr) {
                char **a = realloc(*arr, (*n_arr + 1) * sizeof *a);
                if (a) *arr = a;
                if (!a || !(a[*n_arr] = strndup(p, m))) rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
                else (*n_arr)++;
            }
        }
        line += n + 1;
    }
    free(text);
    return rc;
}

static int url_option(smol_filter *f, const char *key, const char *v, smol_error *err) {
    url_state *s = f->state;
    if (!strcmp(key, "domains")) return load_list(v, 0, &s->domains, NULL, NULL, err);
    if (!strcmp(key, "urls")) return load_list(v, 0, &s->urls, NULL, NULL, err);
    if (!strcmp(key, "banned_words")) return load_list(v, 1, &s->banned, NULL, NULL, err);
    if (!strcmp(key, "soft_banned_words")) return load_list(v, 1, &s->soft, NULL, NULL, err);
    if (!strcmp(key, "banned_subwords")) return load_list(v, 1, NULL, &s->subwords, &s->n_sub, err);
    if (!strcmp(key, "soft_word_threshold")) return filter_opt_int(f, key, v, &s->soft_threshold, err);
    if (!strcmp(key, "field")) {
        if (strlen(v) >= sizeof s->field || !*v) return smol_fail(err, SMOL_EINVAL, "filter url: field=%s: bad name", v);
        strcpy(s->field, v);
        return SMOL_OK;
    }
    return filter_unknown_option(f, key, err);
}

/* The url of doc: record field `field`, else metadata.field; NULL if neither is a string. */
static const char *doc_url(const smol_doc *doc, const char *field) {
    cJSON *u = cJSON_GetObjectItemCaseSensitive(smol_doc_json(doc), field);
    if (!cJSON_IsString(u)) u = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc->json, "metadata"), field);
    return cJSON_IsString(u) ? u->valuestring : NULL;
}

/* Host of url, lowercased into out (no scheme, user, port or path); returns its length. */
static size_t url_host(const char *url, char *out) {
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/?#");
    const char *at = memchr(p, '@', n);
    if (at) { n -= (size_t)(at + 1 - p); p = at + 1; }
    const char *colon = memchr(p, ':', n);
    if (colon) n = (size_t)(colon - p);
    while (n && p[n - 1] == '.') n--;
    for (size_t i = 0; i < n; i++) out[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
    return n;
}

/* Start of the registered domain in host: the last two labels, or three when the last two
 * look like a country second-level suffix (co.uk, com.au). */
static size_t registered_start(const char *h, size_t n) {
    size_t dots[3] = {0}, nd = 0;
    for (size_t i = n; i > 0 && nd < 3; i--)
        if (h[i - 1] == '.') dots[nd++] = i;
    if (nd < 2) return 0;
    size_t tld_len = n - dots[0], sld_len = dots[0] - 1 - dots[1];
    int cc_sld = tld_len == 2 && sld_len <= 3;
    if (cc_sld) return nd >= 3 ? dots[2] : 0;
    return dots[1];
}

static int url_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    url_state *s = f->state;
    const char *url = doc_url(doc, s->field);
    if (!url) { *reason = "url:missing_url"; return 0; }
    size_t n = strlen(url);
    if (n + 1 > s->cap) {
        char *b = realloc(s->buf, n + 1);
        if (!b) { *reason = "url: out of memory"; return SMOL_ENOMEM; }
        s->buf = b;
        s->cap = n + 1;
    }
    size_t hn = url_host(url, s->buf);
    size_t rs = registered_start(s->buf, hn);
    if (set_has(&s->domains, s->buf + rs, hn - rs)) { *reason = "url:domain"; return 0; }
    if (set_has(&s->domains, s->buf, hn)) { *reason = "url:subdomain"; return 0; }
    if (set_has(&s->urls, url, n)) { *reason = "url:url"; return 0; }
    long soft = 0;
    str_set seen = {0};
    for (size_t i = 0; i < n;) {
        while (i < n && !is_alnum(url[i])) i++;
        size_t j = i;
        while (j < n && is_alnum(url[j])) j++;
        if (j > i && !set_has(&seen, url + i, j - i)) {
            if (set_add(&seen, url + i, j - i)) { set_free(&seen); *reason = "url: out of memory"; return SMOL_ENOMEM; }
            if (set_has(&s->banned, url + i, j - i)) { set_free(&seen); *reason = "url:hard_blacklisted"; return 0; }
            soft += set_has(&s->soft, url + i, j - i);
        }
        i = j;
    }
    set_free(&seen);
    if (soft >= s->soft_threshold) { *reason = "url:soft_blacklisted"; return 0; }
    size_t m = normalize(url, n, s->buf);
    s->buf[m] = 0;
    for (size_t k = 0; k < s->n_sub; k++)
        if (strstr(s->buf, s->subwords[k])) { *reason = "url:blacklisted_subword"; return 0; }
    return 1;
}

static void url_free(smol_filter *f) {
    url_state *s = f->state;
    if (!s) return;
    set_free(&s->domains);
    set_free(&s->urls);
    set_free(&s->banned);
    set_free(&s->soft);
    for (size_t k = 0; k < s->n_sub; k++) free(s->subwords[k]);
    free(s->subwords);
    free(s->buf);
    free(s);
}

const filter_kind filter_kind_url = {"url", url_init, url_option, NULL, url_apply, url_free};
