/* filter_pii.c: datatrove's PIIFormatter as a filter that always keeps: e-mail addresses and
 * public IPv4 addresses in the text are replaced by fixed example values, taken in turn. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "data/filters_internal.h"
#include "base/error.h"
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

/* An e-mail address (the widely used RFC 5322 approximation, lowercase only, as datatrove). */
static const char k_email_re[] =
    "\\b[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    "(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
    "|\\[(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}"
    "(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[a-z0-9-]*[a-z0-9]:)\\])";
/* A dotted IPv4 address (no word boundaries). */
static const char k_ip_re[] = "(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)";

static const char *const k_email_repl[] = {"email@example.com", "firstname.lastname@example.org"};
static const char *const k_ip_repl[] = {"22.214.171.124", "126.96.36.199", "188.8.131.52",
                                        "184.108.40.206", "220.127.116.11", "18.104.22.168"};

typedef struct pii_state {
    int remove_emails, remove_ips, only_public_ips;
    pcre2_code *email, *ip;
    pcre2_match_data *md;
    char *buf;
    size_t cap, len;
} pii_state;

static int pii_init(smol_filter *f, smol_error *err) {
    pii_state *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "filter pii: out of memory");
    f->state = s;
    s->remove_emails = s->remove_ips = s->only_public_ips = 1;
    return SMOL_OK;
}

static int pii_option(smol_filter *f, const char *key, const char *v, smol_error *err) {
    pii_state *s = f->state;
    if (!strcmp(key, "remove_emails")) return filter_opt_bool(f, key, v, &s->remove_emails, err);
    if (!strcmp(key, "remove_ips")) return filter_opt_bool(f, key, v, &s->remove_ips, err);
    if (!strcmp(key, "only_remove_public_ips")) return filter_opt_bool(f, key, v, &s->only_public_ips, err);
    return filter_unknown_option(f, key, err);
}

static pcre2_code *compile(const char *re) {
    int ec;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &ec, &off, NULL);
    if (c) pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

static int pii_ready(smol_filter *f, smol_error *err) {
    pii_state *s = f->state;
    s->email = compile(k_email_re);
    s->ip = compile(k_ip_re);
    s->md = pcre2_match_data_create(4, NULL);
    if (!s->email || !s->ip || !s->md) return smol_fail(err, SMOL_ENOMEM, "filter pii: cannot compile patterns");
    return SMOL_OK;
}

/* 1 if the dotted address is one Python's ipaddress accepts (no leading zeros) and, when
 * public_only, is global (Python's is_global for IPv4 with the 2024 IANA registry update: 192.0.0.0/24
 * is not global except 192.0.0.9 and 192.0.0.10). */
int smol_pii_ip_replaceable(const char *s, size_t n, int public_only) {
    unsigned o[4] = {0};
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') o[k] = o[k] * 10 + (unsigned)(s[i++] - '0');
        if (i - start > 1 && s[start] == '0') return 0;
        if (i == start || o[k] > 255) return 0;
        if (k < 3 && (i >= n || s[i++] != '.')) return 0;
    }
    if (!public_only) return 1;
    uint32_t a = o[0] << 24 | o[1] << 16 | o[2] << 8 | o[3];
    static const struct { uint32_t net; int bits; } k_not_global[] = {
        {0x00000000, 8},  {0x0A000000, 8},  {0x7F000000, 8},  {0xA9FE0000, 16}, {0xAC100000, 12},
        {0xC0000000, 24}, {0xC00000AA, 31}, {0xC0000200, 24}, {0xC0A80000, 16}, {0xC6120000, 15},
        {0xC6336400, 24}, {0xCB007100, 24}, {0xF0000000, 4},  {0xFFFFFFFF, 32}, {0x64400000, 10}};
    if (a == 0xC0000009u || a == 0xC000000Au) return 1;   /* 192.0.0.9, 192.0.0.10: global */
    for (size_t k = 0; k < sizeof k_not_global / sizeof k_not_global[0]; k++) {
        uint32_t mask = k_not_global[k].bits == 32 ? 0xFFFFFFFFu : ~(0xFFFFFFFFu >> k_not_global[k].bits);
        if ((a & mask) == k_not_global[k].net) return 0;
    }
    return 1;
}

static int put(pii_state *s, const char *p, size_t n) {
    if (s->len + n + 1 > s->cap) {
        size_t cap = (s->len + n + 1) * 2;
        char *b = realloc(s->buf, cap);
        if (!b) return -1;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

/* Replaces every match of re in doc's text (ips: only replaceable ones); returns matches replaced or -1. */
static int replace_all(pii_state *s, smol_doc *doc, pcre2_code *re, const char *const *repl, int n_repl, int ips) {
    const char *t = doc->text;
    size_t n = doc->text_len, pos = 0, done = 0;
    int turn = 0, replaced = 0;
    s->len = 0;
    while (pos <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)t, n, pos, 0, s->md, NULL);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        size_t a = ov[0], b = ov[1];
        if (ips && !smol_pii_ip_replaceable(t + a, b - a, s->only_public_ips)) {
            pos = b > a ? b : a + 1;
            continue;
        }
        if (put(s, t + done, a - done) || put(s, repl[turn], strlen(repl[turn]))) return -1;
        turn = (turn + 1) % n_repl;
        replaced++;
        done = b;
        pos = b > a ? b : a + 1;
    }
    if (!replaced) return 0;
    if (put(s, t + done, n - done) || smol_doc_set_text(doc, s->buf, s->len, NULL)) return -1;
    return replaced;
}

static int pii_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    pii_state *s = f->state;
    int n;
    if (s->remove_emails) {
        if ((n = replace_all(s, doc, s->email, k_email_repl, 2, 0)) < 0) goto oom;
        if (n) filter_count(f, "emails-replaced", n);
    }
    if (s->remove_ips) {
        if ((n = replace_all(s, doc, s->ip, k_ip_repl, 6, 1)) < 0) goto oom;
        if (n) filter_count(f, "ips-replaced", n);
    }
    return 1;
oom:
    *reason = "pii: out of memory";
    return SMOL_ENOMEM;
}

static void pii_free(smol_filter *f) {
    pii_state *s = f->state;
    if (!s) return;
    pcre2_code_free(s->email);
    pcre2_code_free(s->ip);
    pcre2_match_data_free(s->md);
    free(s->buf);
    free(s);
}

const filter_kind filter_kind_pii = {"pii", pii_init, pii_option, pii_ready, pii_apply, pii_free};
