/* tokindex.c: builds the per-tokenizer token trie used by grammar masks (see tokindex.h). */
#include "gen/tokindex.h"
#include "tok/tokenizer.h"
#include "base/error.h"
#include <stdlib.h>
#include <string.h>

typedef struct sort_ctx {
    const char **bytes;
    const uint32_t *len;
} sort_ctx;

static int cmp_tok(const void *a, const void *b, void *ctx) {
    const sort_ctx *c = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    uint32_t lx = c->len[x], ly = c->len[y];
    int r = memcmp(c->bytes[x], c->bytes[y], lx < ly ? lx : ly);
    if (r) return r;
    if (lx != ly) return lx < ly ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Lays the sorted tokens out as a preorder trie. */
static int build_trie(smol_token_index *ti, const int32_t *order, int32_t n) {
    uint64_t total = 0;
    for (int32_t k = 0; k < n; k++) total += ti->len[order[k]];
    if (total > UINT32_MAX / 2) return SMOL_ERANGE;
    ti->byte = malloc(total ? total : 1);
    ti->depth = malloc((total ? total : 1) * sizeof *ti->depth);
    ti->end = malloc((total ? total : 1) * sizeof *ti->end);
    ti->parent = malloc((total ? total : 1) * sizeof *ti->parent);
    ti->tok_off = malloc((total + 1) * sizeof *ti->tok_off);
    ti->toks = malloc((n ? (size_t)n : 1) * sizeof *ti->toks);
    uint32_t *path = malloc((65536 + 1) * sizeof *path);  /* node index on the current path per depth */
    if (!ti->byte || !ti->depth || !ti->end || !ti->parent || !ti->tok_off || !ti->toks || !path) {
        free(path);
        return SMOL_ENOMEM;
    }
    uint32_t nn = 0, nt = 0, path_len = 0;
    const char *prev = NULL;
    uint32_t prev_len = 0;
    for (int32_t k = 0; k < n; k++) {
        int32_t id = order[k];
        const char *s = ti->bytes[id];
        uint32_t len = ti->len[id], l = 0;
        while (prev && l < len && l < prev_len && s[l] == prev[l]) l++;
        while (path_len > l) ti->end[path[--path_len]] = nn;   /* close the subtrees left behind */
        for (uint32_t d = l; d < len; d++) {
            ti->byte[nn] = (uint8_t)s[d];
            ti->depth[nn] = (uint16_t)(d + 1);
            ti->parent[nn] = d ? path[d - 1] : UINT32_MAX;
            ti->tok_off[nn] = nt;
            path[path_len++] = nn++;
        }
        if (len > ti->max_depth) ti->max_depth = (uint16_t)len;
        ti->toks[nt++] = id;
        prev = s, prev_len = len;
    }
    while (path_len > 0) ti->end[path[--path_len]] = nn;
    ti->tok_off[nn] = nt;
    ti->n_nodes = nn;
    free(path);
    return SMOL_OK;
}

/* Is s[d..n) a strictly valid UTF-8 sequence whose last character may be incomplete? Written
 * into ok[d] for every d (ok[n] = 1), from the end. */
static void utf8_suffixes(const uint8_t *s, uint32_t n, uint8_t *ok) {
    ok[n] = 1;
    for (uint32_t d = n; d-- > 0;) {
        uint8_t b = s[d];
        uint32_t len = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
        uint8_t lo = b == 0xE0 ? 0xA0 : b == 0xF0 ? 0x90 : 0x80, hi = b == 0xED ? 0x9F : b == 0xF4 ? 0x8F : 0xBF;
        int good = len > 0;
        for (uint32_t k = 1; good && k < len && d + k < n; k++) {
            uint8_t c = s[d + k];
            good = k == 1 ? c >= lo && c <= hi : (c & 0xC0) == 0x80;
        }
        ok[d] = (uint8_t)(good && (d + len >= n || ok[d + len]));   /* past n: an incomplete last character */
    }
}

/* Fills below / below_flags: every node on a token's path gets the bytes from its own on. */
static int build_below(smol_token_index *ti) {
    uint32_t nn = ti->n_nodes;
    ti->below = calloc(nn ? nn : 1, sizeof *ti->below);
    ti->below_flags = malloc(nn ? nn : 1);
    ti->height = calloc(nn ? nn : 1, sizeof *ti->height);
    uint8_t *ok = malloc((size_t)ti->max_depth + 1);
    if (!ti->below || !ti->below_flags || !ti->height || !ok) return free(ok), SMOL_ENOMEM;
    memset(ti->below_flags, SMOL_TI_BELOW_UTF8, nn);
    for (uint32_t j = 0; j < nn; j++) {
        if (ti->tok_off[j] == ti->tok_off[j + 1]) continue;          /* no token ends here */
        int32_t id = ti->toks[ti->tok_off[j]];
        const uint8_t *s = (const uint8_t *)ti->bytes[id];
        uint32_t n = ti->len[id];
        utf8_suffixes(s, n, ok);
        uint64_t a0 = 0, a1 = 0;
        uint8_t non_ascii = 0;
        for (uint32_t i = j, d = n; d > 0; i = ti->parent[i], d--) {  /* node i holds byte s[d - 1] */
            uint8_t b = s[d - 1];
            if (b >= 0x80) non_ascii = SMOL_TI_BELOW_NONASCII;
            else if (b < 64) a0 |= 1ull << b;
            else a1 |= 1ull << (b - 64);
            ti->below[i][0] |= a0, ti->below[i][1] |= a1;
            ti->below_flags[i] |= non_ascii;
            if (n - d + 1 > ti->height[i]) ti->height[i] = (uint16_t)(n - d + 1);
            if (!ok[d - 1]) ti->below_flags[i] &= (uint8_t)~SMOL_TI_BELOW_UTF8;
        }
    }
    free(ok);
    return SMOL_OK;
}

int smol_token_index_new(const smol_tokenizer *tok, smol_token_index **out, smol_error *err) {
    *out = NULL;
    if (!tok) return smol_fail(err, SMOL_EINVAL, "token index: no tokenizer");
    int32_t nv = tok->n_vocab;
    smol_token_index *ti = calloc(1, sizeof *ti);
    if (!ti) return smol_fail(err, SMOL_ENOMEM, "token index: out of memory");
    ti->tok = tok;
    ti->n_vocab = nv;
    ti->kind = calloc((size_t)nv + 1, 1);
    ti->bytes = calloc((size_t)nv + 1, sizeof *ti->bytes);
    ti->len = calloc((size_t)nv + 1, sizeof *ti->len);
    ti->eog = malloc(sizeof *ti->eog * ((size_t)nv + 1));
    int32_t *order = malloc(sizeof *order * ((size_t)nv + 1));
    int rc = SMOL_ENOMEM;
    if (!ti->kind || !ti->bytes || !ti->len || !ti->eog || !order) goto fail;
    int32_t n = 0;
    for (int32_t id = 0; id < nv; id++) {
        uint8_t ty = tok->type[id];
        if (tok->eog[id]) {
            ti->kind[id] = SMOL_TI_EOG;
            ti->eog[ti->n_eog++] = id;
            continue;
        }
        if (ty == SMOL_TOKEN_CONTROL || ty == SMOL_TOKEN_UNKNOWN || ty == SMOL_TOKEN_UNUSED) continue;
        if (!tok->piece[id] || tok->piece_len[id] == 0 || tok->piece_len[id] > 65535) continue;
        ti->kind[id] = SMOL_TI_TEXT;
        ti->bytes[id] = tok->piece[id];
        ti->len[id] = tok->piece_len[id];
        order[n++] = id;
    }
    sort_ctx sc = {ti->bytes, ti->len};
    qsort_r(order, (size_t)n, sizeof *order, cmp_tok, &sc);
    rc = build_trie(ti, order, n);
    if (!rc) rc = build_below(ti);
    if (!rc && !(ti->text_mask = calloc(((size_t)nv + 31) / 32 + 1, sizeof *ti->text_mask))) rc = SMOL_ENOMEM;
    if (rc) goto fail;
    for (int32_t k = 0; k < n; k++) ti->text_mask[order[k] >> 5] |= 1u << (order[k] & 31);
    free(order);
    *out = ti;
    return SMOL_OK;
fail:
    free(order);
    smol_token_index_free(ti);
    return smol_fail(err, rc, "token index: %s building the token trie of %d tokens",
                     rc == SMOL_ERANGE ? "too many bytes" : "out of memory", (int)nv);
}

void smol_token_index_free(smol_token_index *ti) {
    if (!ti) return;
    free(ti->byte);
    free(ti->depth);
    free(ti->end);
    free(ti->parent);
    free(ti->tok_off);
    free(ti->toks);
    free(ti->below);
    free(ti->below_flags);
    free(ti->height);
    free(ti->text_mask);
    free(ti->eog);
    free(ti->kind);
    free(ti->bytes);
    free(ti->len);
    free(ti);
}

int32_t smol_token_index_n_vocab(const smol_token_index *ti) { return ti ? ti->n_vocab : 0; }
