/* tokenizer.c: the tokenizer object: vocabulary maps, added/special tokens, encoding (special
 * tokens, normalizers, pre-tokenizer, BPE with a per-call word cache) and decoding (whole
 * sequences and a streaming decoder that holds back incomplete UTF-8). */
#include "tok/tokenizer.h"
#include "tok/bpe.h"
#include "base/error.h"
#include "base/file.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---------------------------------------------------------------- byte-to-unicode */

static bool byte_is_printable(uint32_t b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

uint32_t smol_byte_to_unicode(uint8_t b) {
    if (byte_is_printable(b)) return b;
    uint32_t n = 0;  /* non-printable bytes take 256, 257, ... in byte order */
    for (uint32_t i = 0; i < b; i++)
        if (!byte_is_printable(i)) n++;
    return 256 + n;
}

int smol_unicode_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable(cp) ? (int)cp : -1;
    uint32_t n = 0;
    for (uint32_t b = 0; b < 256; b++)
        if (!byte_is_printable(b) && 256 + n++ == cp) return (int)b;
    return -1;
}

/* ---------------------------------------------------------------- storage and maps */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0x243F6A8885A308D3ull ^ n;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ v) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 32;  /* fold so that the low bits, used as the slot, depend on every byte */
    h *= 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 32);
}

smol_tokenizer *smol_tok_alloc(int32_t n_vocab, bool with_scores) {
    smol_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n_vocab = n_vocab;
    t->bos = t->eos = t->unk = -1;
    size_t n = n_vocab > 0 ? (size_t)n_vocab : 1;
    t->text = calloc(n, sizeof *t->text);
    t->text_len = calloc(n, sizeof *t->text_len);
    t->piece = calloc(n, sizeof *t->piece);
    t->piece_len = calloc(n, sizeof *t->piece_len);
    t->type = calloc(n, 1);
    t->eog = calloc(n, 1);
    t->score = with_scores ? calloc(n, sizeof *t->score) : NULL;
    if (!t->text || !t->text_len || !t->piece || !t->piece_len || !t->type || !t->eog || (with_scores && !t->score)) {
        smol_tokenizer_free(t);
        return NULL;
    }
    return t;
}

char *smol_tok_strdup(smol_tokenizer *t, const char *s, size_t n) {
    if (t->n_blocks == t->cap_blocks) {
        size_t cap = t->cap_blocks ? 2 * t->cap_blocks : 16;
        char **b = realloc(t->blocks, cap * sizeof *b);
        if (!b) return NULL;
        t->blocks = b;
        t->cap_blocks = cap;
    }
    char *p = malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    t->blocks[t->n_blocks++] = p;
    return p;
}

int smol_tok_set(smol_tokenizer *t, int32_t id, const char *s, size_t n, uint8_t type, smol_error *err) {
    if (id < 0 || id >= t->n_vocab) return smol_fail(err, SMOL_ERANGE, "token id %d is outside the vocabulary of %d", id, t->n_vocab);
    char *p = smol_tok_strdup(t, s, n);
    if (!p) return smol_fail(err, SMOL_ENOMEM, "out of memory storing token %d", id);
    t->text[id] = p;
    t->text_len[id] = (uint32_t)n;
    t->type[id] = type;
    return SMOL_OK;
}

int32_t smol_tok_find(const smol_tokenizer *t, const char *s, size_t n) {
    if (!t->by_text.slots) return -1;
    uint64_t h = hash_bytes(s, n);
    for (uint64_t i = h & t->by_text.mask;; i = (i + 1) & t->by_text.mask) {
        uint32_t v = t->by_text.slots[i];
        if (!v) return -1;
        int32_t id = (int32_t)v - 1;
        if (t->text_len[id] == n && memcmp(t->text[id], s, n) == 0) return id;
    }
}

static int build_text_map(smol_tokenizer *t) {
    uint64_t size = 64;
    while (size < 2 * (uint64_t)t->n_vocab) size *= 2;
    t->by_text.slots = calloc(size, sizeof *t->by_text.slots);
    if (!t->by_text.slots) return SMOL_ENOMEM;
    t->by_text.mask = size - 1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!t->text[id] || (t->text_len[id] == 0 && t->type[id] == SMOL_TOKEN_UNUSED)) continue;
        if (smol_tok_find(t, t->text[id], t->text_len[id]) >= 0) continue;  /* duplicates: first wins */
        uint64_t h = hash_bytes(t->text[id], t->text_len[id]);
        uint64_t i = h & t->by_text.mask;
        while (t->by_text.slots[i]) i = (i + 1) & t->by_text.mask;
        t->by_text.slots[i] = (uint32_t)id + 1;
    }
    return SMOL_OK;
}

static int pairs_grow(smol_pair_map *m) {
    uint64_t size = m->slots ? 2 * (m->mask + 1) : 1024;
    smol_pair_entry *s = calloc(size, sizeof *s);
    if (!s) return SMOL_ENOMEM;
    for (uint64_t i = 0; m->slots && i <= m->mask; i++) {
        if (!m->slots[i].key) continue;
        uint64_t j = smol_pair_slot(m->slots[i].key, size - 1);
        while (s[j].key) j = (j + 1) & (size - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->mask = size - 1;
    return SMOL_OK;
}

/* Drops the compact pair index for good: this vocabulary does not fit it. */
static void pair_index_off(smol_tokenizer *t) {
    free(t->pair_index.slots);
    free(t->pair_index.merged_by_rank);
    memset(&t->pair_index, 0, sizeof t->pair_index);
    t->pair_index.off = true;
}

static void pair_index_put(smol_pair_index *ix, uint64_t key, uint32_t rank) {
    uint64_t j = smol_pair_slot(key, ix->mask);
    while (ix->slots[j]) j = (j + 1) & ix->mask;
    ix->slots[j] = key << 24 | rank;
}

/* Adds a merge (new to the pair map, now holding n pairs) to the compact index, growing it;
 * turns the index off when the merge does not fit it. Returns SMOL_ENOMEM or SMOL_OK. */
static int pair_index_add(smol_tokenizer *t, int32_t left, int32_t right, uint32_t rank, int32_t merged, uint64_t n) {
    smol_pair_index *ix = &t->pair_index;
    if (ix->off) return SMOL_OK;
    if (t->model != SMOL_TOK_BPE || (uint32_t)t->n_vocab > SMOL_PAIR_INDEX_MAX_VOCAB || rank >= SMOL_PAIR_INDEX_MAX_RANK ||
        left < 0 || right < 0 || left >= t->n_vocab || right >= t->n_vocab || (rank < ix->n_ranks && ix->merged_by_rank[rank] >= 0)) {
        pair_index_off(t);  /* a rank shared by two merges (scores), or too large */
        return SMOL_OK;
    }
    if (rank >= ix->n_ranks) {
        uint32_t cap = ix->n_ranks ? ix->n_ranks : 1024;
        while (cap <= rank) cap = cap > SMOL_PAIR_INDEX_MAX_RANK / 2 ? SMOL_PAIR_INDEX_MAX_RANK : 2 * cap;
        int32_t *m = realloc(ix->merged_by_rank, cap * sizeof *m);
        if (!m) return SMOL_ENOMEM;
        for (uint32_t r = ix->n_ranks; r < cap; r++) m[r] = -1;
        ix->merged_by_rank = m;
        ix->n_ranks = cap;
    }
    if (!ix->slots || 2 * n > ix->mask + 1) {
        uint64_t size = ix->slots ? 2 * (ix->mask + 1) : 1024;
        smol_pair_index bigger = *ix;
        bigger.slots = calloc(size, sizeof *bigger.slots);
        bigger.mask = size - 1;
        if (!bigger.slots) return SMOL_ENOMEM;
        for (uint64_t i = 0; ix->slots && i <= ix->mask; i++)
            if (ix->slots[i]) pair_index_put(&bigger, ix->slots[i] >> 24, (uint32_t)(ix->slots[i] & 0xFFFFFF));
        free(ix->slots);
        *ix = bigger;
    }
    ix->merged_by_rank[rank] = merged;
    if (n == 1) {
        ix->by_offset = true;
        ix->offset = (int64_t)merged - rank;
    } else if ((int64_t)merged - rank != ix->offset) {
        ix->by_offset = false;
    }
    pair_index_put(ix, smol_pair_index_key(left, right), rank);
    return SMOL_OK;
}

int smol_tok_add_merge(smol_tokenizer *t, int32_t left, int32_t right, uint32_t rank, int32_t merged) {
    smol_pair_map *m = &t->pairs;
    if (!m->slots || 2 * (m->n + 1) > m->mask + 1)
        if (pairs_grow(m)) return SMOL_ENOMEM;
    uint64_t key = ((uint64_t)(uint32_t)left << 32 | (uint32_t)right) + 1;
    uint64_t i = smol_pair_slot(key, m->mask);
    for (; m->slots[i].key; i = (i + 1) & m->mask)
        if (m->slots[i].key == key) return SMOL_OK;  /* the first (lowest) rank stays */
    m->slots[i] = (smol_pair_entry){ key, rank, merged };
    m->n++;
    return pair_index_add(t, left, right, rank, merged, m->n);
}

int smol_tok_add_merge_text(smol_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen, uint32_t rank) {
    if (!b) {  /* "LEFT RIGHT": split at the first space after the first byte */
        const char *sp = alen > 1 ? memchr(a + 1, ' ', alen - 1) : NULL;
        if (!sp) return SMOL_OK;
        b = sp + 1;
        blen = alen - (size_t)(b - a);
        alen = (size_t)(sp - a);
    }
    int32_t l = smol_tok_find(t, a, alen), r = smol_tok_find(t, b, blen);
    if (l < 0 || r < 0) return SMOL_OK;
    char stack[256];
    char *cat = alen + blen <= sizeof stack ? stack : malloc(alen + blen);
    if (!cat) return SMOL_ENOMEM;
    memcpy(cat, a, alen);
    memcpy(cat + alen, b, blen);
    int32_t m = smol_tok_find(t, cat, alen + blen);
    if (cat != stack) free(cat);
    if (m < 0) return SMOL_OK;
    return smol_tok_add_merge(t, l, r, rank, m);
}

int smol_tok_add_added(smol_tokenizer *t, int32_t id, bool special, bool lstrip, bool rstrip) {
    if (id < 0 || id >= t->n_vocab || !t->text[id] || t->text_len[id] == 0) return SMOL_OK;
    for (int i = 0; i < t->n_added; i++)
        if (t->added[i].id == id) {
            t->added[i] = (smol_added_tok){ id, special, lstrip, rstrip };
            return SMOL_OK;
        }
    smol_added_tok *a = realloc(t->added, (size_t)(t->n_added + 1) * sizeof *a);
    if (!a) return SMOL_ENOMEM;
    t->added = a;
    t->added[t->n_added++] = (smol_added_tok){ id, special, lstrip, rstrip };
    return SMOL_OK;
}

/* ---------------------------------------------------------------- finishing a vocabulary */

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The byte of a "<0xNN>" token, or -1. */
static int byte_token_value(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hexval(s[3]), lo = hexval(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Byte-level decoding of one token: each character mapped back to its byte; a token with a
 * character outside the byte alphabet is kept as it is (as Hugging Face's ByteLevel decoder). */
static int piece_byte_level(smol_tokenizer *t, int32_t id, char *buf) {
    const uint8_t *s = (const uint8_t *)t->text[id];
    size_t n = t->text_len[id], k = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        int b = l > 0 ? smol_unicode_to_byte((uint32_t)cp) : -1;
        if (b < 0) {
            t->piece[id] = t->text[id];
            t->piece_len[id] = (uint32_t)n;
            return SMOL_OK;
        }
        buf[k++] = (char)b;
        i += (size_t)l;
    }
    t->piece[id] = smol_tok_strdup(t, buf, k);
    t->piece_len[id] = (uint32_t)k;
    return t->piece[id] ? SMOL_OK : SMOL_ENOMEM;
}

/* SentencePiece decoding of one token: '▁' becomes a space, <0xNN> byte tokens their byte. */
static int piece_spm(smol_tokenizer *t, int32_t id, char *buf) {
    const char *s = t->text[id];
    size_t n = t->text_len[id], k = 0;
    int b = byte_token_value(s, n);
    if (b >= 0 && (t->type[id] == SMOL_TOKEN_BYTE || t->byte_fallback)) {
        buf[k++] = (char)b;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (i + 2 < n && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
                buf[k++] = ' ';
                i += 2;
            } else {
                buf[k++] = s[i];
            }
        }
    }
    t->piece[id] = smol_tok_strdup(t, buf, k);
    t->piece_len[id] = (uint32_t)k;
    return t->piece[id] ? SMOL_OK : SMOL_ENOMEM;
}

static int build_pieces(smol_tokenizer *t) {
    size_t max = 1;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->text_len[id] > max) max = t->text_len[id];
    char *buf = malloc(max);
    if (!buf) return SMOL_ENOMEM;
    int rc = SMOL_OK;
    for (int32_t id = 0; id < t->n_vocab && !rc; id++) {
        if (!t->text[id]) {
            t->text[id] = "";
            t->type[id] = SMOL_TOKEN_UNUSED;
        }
        rc = t->byte_level ? piece_byte_level(t, id, buf) : piece_spm(t, id, buf);
    }
    free(buf);
    return rc;
}

static void find_byte_tokens(smol_tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        char s[8];
        if (t->byte_level) {
            uint32_t cp = smol_byte_to_unicode((uint8_t)b);
            size_t n = cp < 0x80 ? 1 : 2;
            if (n == 1) s[0] = (char)cp;
            else { s[0] = (char)(0xC0 | (cp >> 6)); s[1] = (char)(0x80 | (cp & 0x3F)); }
            t->byte_id[b] = smol_tok_find(t, s, n);
        } else {
            snprintf(s, sizeof s, "<0x%02X>", b);
            t->byte_id[b] = smol_tok_find(t, s, 6);
        }
    }
}

static int cmp_score_desc(const void *a, const void *b, void *ctx) {
    const float *score = ctx;
    float x = score[*(const int32_t *)a], y = score[*(const int32_t *)b];
    return x > y ? -1 : x < y ? 1 : 0;
}

/* SentencePiece merges: every token that splits at a character boundary into two tokens is
 * the merge of that pair, ranked by the merged token's score (higher first). */
static int build_spm_merges(smol_tokenizer *t) {
    int32_t *order = malloc((size_t)t->n_vocab * sizeof *order);
    uint32_t *rank = malloc((size_t)t->n_vocab * sizeof *rank);
    if (!order || !rank) {
        free(order);
        free(rank);
        return SMOL_ENOMEM;
    }
    for (int32_t i = 0; i < t->n_vocab; i++) order[i] = i;
    qsort_r(order, (size_t)t->n_vocab, sizeof *order, cmp_score_desc, t->score);
    uint32_t r = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (i > 0 && t->score[order[i]] != t->score[order[i - 1]]) r++;
        rank[order[i]] = r;
    }
    int rc = SMOL_OK;
    for (int32_t id = 0; id < t->n_vocab && !rc; id++) {
        const char *s = t->text[id];
        size_t n = t->text_len[id];
        if (n < 2 || smol_tok_find(t, s, n) != id) continue;
        for (size_t k = 1; k < n && !rc; k++) {
            if (((uint8_t)s[k] & 0xC0) == 0x80) continue;
            int32_t l = smol_tok_find(t, s, k), rr = smol_tok_find(t, s + k, n - k);
            if (l >= 0 && rr >= 0) rc = smol_tok_add_merge(t, l, rr, rank[id], id);
        }
    }
    free(order);
    free(rank);
    return rc;
}

static int cmp_added_len(const void *a, const void *b, void *ctx) {
    const smol_tokenizer *t = ctx;
    uint32_t x = t->text_len[((const smol_added_tok *)a)->id], y = t->text_len[((const smol_added_tok *)b)->id];
    if (x != y) return x > y ? -1 : 1;
    return ((const smol_added_tok *)a)->id - ((const smol_added_tok *)b)->id;
}

static void mark_eog(smol_tokenizer *t) {
    static const char *const names[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>",
        "<EOT>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|return|>",
    };
    if (t->eos >= 0 && t->eos < t->n_vocab) t->eog[t->eos] = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int32_t id = smol_tok_find(t, names[i], strlen(names[i]));
        if (id >= 0 && (t->type[id] == SMOL_TOKEN_CONTROL || t->type[id] == SMOL_TOKEN_USER_DEFINED)) t->eog[id] = 1;
    }
}

int smol_tok_finish(smol_tokenizer *t, const char *name, smol_error *err) {
    if (build_pieces(t) || build_text_map(t)) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory building the vocabulary", name);
    find_byte_tokens(t);
    if (t->model == SMOL_TOK_SPM) {
        if (!t->score) return smol_fail(err, SMOL_EFORMAT, "%s: a SentencePiece vocabulary needs token scores", name);
        if (build_spm_merges(t)) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory building merges", name);
    }
    if (t->n_added) qsort_r(t->added, (size_t)t->n_added, sizeof *t->added, cmp_added_len, t);
    t->added_min_len = UINT32_MAX;
    for (int i = 0; i < t->n_added; i++) {
        uint32_t n = t->text_len[t->added[i].id];
        uint8_t b = (uint8_t)t->text[t->added[i].id][0];
        t->added_first[b] = 1;
        t->added_lead[b][1] = 1;
        if (!t->added[i].special) t->added_lead[b][0] = 1;
        if (n < t->added_min_len) t->added_min_len = n;
    }
    for (int k = 0; k < 2; k++) {
        t->added_n_lead[k] = 0;
        t->added_one_lead[k] = -1;
        for (int b = 0; b < 256; b++)
            if (t->added_lead[b][k]) {
                t->added_n_lead[k]++;
                t->added_one_lead[k] = b;
            }
    }
    mark_eog(t);
    return SMOL_OK;
}

/* ---------------------------------------------------------------- encoding */

#define CACHE_KEY 14
#define CACHE_IDS 4
#define KEY_LEN_SHIFT 48     /* key[1] bits 48-55: the word's length */
#define KEY_NIDS_SHIFT 56    /* key[1] bits 56-63: the number of its tokens (not compared) */

/* A remembered word: key[0] holds its bytes 0-7 and key[1] its bytes 8-13, zero-padded, then
 * its length and its number of tokens; ids are its tokens. The words of a call are kept in an
 * open-addressing table that grows to SMOL_TOK_TABLE_MAX_SLOTS (32 bytes a slot, so the
 * frequent words stay in the CPU caches); once it is half full, new words are merged each time
 * they occur. */
typedef struct cache_entry {
    uint64_t key[2];       /* key[1] == 0: an empty slot */
    int32_t ids[CACHE_IDS];
} cache_entry;

typedef struct enc_state {
    const smol_tokenizer *t;
    smol_tokens *out;
    smol_bpe_work work;
    cache_entry *cache;
    uint64_t cache_mask, cache_n, cache_max;  /* cache_max: the most slots it may grow to */
    const char *base, *end; /* the text the pre-tokenizer's offsets refer to, and its end */
    char *buf;              /* escaped SentencePiece text */
    size_t cap_buf;
    int rc;
} enc_state;

/* The table key of a word w[0..len) of 1..CACHE_KEY bytes (see cache_entry), without the
 * token count. Loads 16 bytes at once when the text has them. */
static inline void word_key(const char *w, size_t len, const char *end, uint64_t key[2]) {
    uint64_t a, b;
    if (end - w >= 16) {
        memcpy(&a, w, 8);
        memcpy(&b, w + 8, 8);
    } else {
        char buf[16] = {0};
        memcpy(buf, w, len);
        memcpy(&a, buf, 8);
        memcpy(&b, buf + 8, 8);
    }
    uint64_t mask_a = len >= 8 ? ~0ull : (1ull << (8 * len)) - 1;
    uint64_t mask_b = len <= 8 ? 0 : (1ull << (8 * (len - 8))) - 1;
    key[0] = a & mask_a;
    key[1] = (b & mask_b) | (uint64_t)len << KEY_LEN_SHIFT;
}

/* The hash of a key (the low bits choose the slot). */
static inline uint64_t key_hash(const uint64_t key[2]) {
    uint64_t h = key[0] * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 29) ^ key[1]) * 0xD6E8FEB86659FD93ull;
    return h ^ (h >> 32);
}

/* Doubles the word table, or creates it with `first` slots (a power of two). */
static int cache_grow(enc_state *st, uint64_t first) {
    uint64_t size = st->cache ? 2 * (st->cache_mask + 1) : first;
    cache_entry *c = aligned_alloc(64, size * sizeof *c);  /* a slot never straddles two cache lines */
    if (!c) return SMOL_ENOMEM;
    memset(c, 0, size * sizeof *c);
    for (uint64_t i = 0; st->cache && i <= st->cache_mask; i++) {
        const cache_entry *e = &st->cache[i];
        if (!e->key[1]) continue;
        uint64_t key[2] = { e->key[0], e->key[1] & ~(0xFFull << KEY_NIDS_SHIFT) };
        uint64_t j = key_hash(key) & (size - 1);
        while (c[j].key[1]) j = (j + 1) & (size - 1);
        c[j] = *e;
    }
    free(st->cache);
    st->cache = c;
    st->cache_mask = size - 1;
    return SMOL_OK;
}

/* Makes room in o for n more ids. */
static int reserve_ids(smol_tokens *o, size_t n) {
    if (o->n + n <= o->cap) return SMOL_OK;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < o->n + n) cap *= 2;
    int32_t *p = realloc(o->ids, cap * sizeof *p);
    if (!p) return SMOL_ENOMEM;
    o->ids = p;
    o->cap = cap;
    return SMOL_OK;
}

/* A word the table does not hold (or cannot: too long): merged, then remembered in slot e
 * (NULL: not remembered) when it has at most CACHE_IDS tokens. */
static __attribute__((noinline)) int encode_new(enc_state *st, const char *w, size_t len, cache_entry *e,
                                                const uint64_t key[2], uint64_t hash) {
    size_t n0 = st->out->n;
    int rc = smol_bpe_word(st->t, &st->work, w, len, st->out);
    if (rc || !e || st->out->n - n0 > CACHE_IDS) return rc;
    if (2 * (st->cache_n + 1) > st->cache_mask + 1) {  /* keep the load at most 1/2 */
        if (st->cache_mask + 1 >= st->cache_max) return SMOL_OK;
        if (cache_grow(st, 0)) return SMOL_OK;  /* no memory for a larger cache: go on without */
        uint64_t i = hash & st->cache_mask;
        while (st->cache[i].key[1]) i = (i + 1) & st->cache_mask;
        e = &st->cache[i];
    }
    uint64_t nids = st->out->n - n0;
    e->key[0] = key[0];
    e->key[1] = key[1] | nids << KEY_NIDS_SHIFT;
    memcpy(e->ids, st->out->ids + n0, nids * sizeof *e->ids);
    st->cache_n++;
    return SMOL_OK;
}

/* Appends the tokens of the word w[0..len): from the table when it holds the word (a hash, one
 * or two 16-byte compares and a 16-byte copy), else merged by encode_new. */
static inline int encode_word(enc_state *st, const char *w, size_t len) {
    if (!st->cache || len > CACHE_KEY) return encode_new(st, w, len, NULL, NULL, 0);
    uint64_t key[2];
    word_key(w, len, st->end, key);
    uint64_t hash = key_hash(key);
    const uint64_t nids_mask = 0xFFull << KEY_NIDS_SHIFT;
    for (uint64_t i = hash & st->cache_mask;; i = (i + 1) & st->cache_mask) {
        cache_entry *e = &st->cache[i];
        if (e->key[0] == key[0] && (e->key[1] & ~nids_mask) == key[1]) {
            smol_tokens *o = st->out;
            if (o->n + CACHE_IDS > o->cap && reserve_ids(o, CACHE_IDS)) return SMOL_ENOMEM;
            memcpy(o->ids + o->n, e->ids, sizeof e->ids);  /* all four: the unused ones are overwritten later */
            o->n += e->key[1] >> KEY_NIDS_SHIFT;
            return SMOL_OK;
        }
        if (!e->key[1]) return encode_new(st, w, len, e, key, hash);
    }
}

static int on_word(void *ctx, size_t start, size_t len) {
    enc_state *st = ctx;
    return st->rc = encode_word(st, st->base + start, len);
}

static char *str_concat(const char *a, size_t an, const char *b, size_t bn, size_t *n) {
    char *p = malloc(an + bn + 1);
    if (!p) return NULL;
    memcpy(p, a, an);
    memcpy(p + an, b, bn);
    p[an + bn] = 0;
    *n = an + bn;
    return p;
}

static char *str_replace_all(const char *s, size_t n, const char *from, const char *to, size_t *out_n) {
    size_t fl = strlen(from), tl = strlen(to), count = 0;
    if (fl == 0) return str_concat(s, n, "", 0, out_n);
    for (size_t i = 0; i + fl <= n;) {
        if (memcmp(s + i, from, fl) == 0) { count++; i += fl; }
        else i++;
    }
    char *p = malloc(n + count * (tl > fl ? tl - fl : 0) + 1), *q = p;
    if (!p) return NULL;
    for (size_t i = 0; i < n;) {
        if (i + fl <= n && memcmp(s + i, from, fl) == 0) { memcpy(q, to, tl); q += tl; i += fl; }
        else *q++ = s[i++];
    }
    *q = 0;
    *out_n = (size_t)(q - p);
    return p;
}

static char *str_lower(const char *s, size_t n, size_t *out_n) {
    char *p = malloc(4 * n + 1);
    size_t k = 0;
    if (!p) return NULL;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l <= 0) { p[k++] = s[i++]; continue; }
        k += (size_t)utf8proc_encode_char(utf8proc_tolower(cp), (uint8_t *)p + k);
        i += (size_t)l;
    }
    p[k] = 0;
    *out_n = k;
    return p;
}

/* Applies one normalizer step to s[0..n): a new string, or NULL when out of memory. Text that
 * is not valid UTF-8 is left as it is by NFC/NFKC. */
static char *norm_step(const smol_norm_step *st, const char *s, size_t n, bool at_start, size_t *out_n) {
    switch (st->op) {
    case SMOL_NORM_NFC:
    case SMOL_NORM_NFKC: {
        utf8proc_uint8_t *dst = NULL;
        int opt = UTF8PROC_STABLE | UTF8PROC_COMPOSE | (st->op == SMOL_NORM_NFKC ? UTF8PROC_COMPAT : 0);
        utf8proc_ssize_t r = utf8proc_map((const uint8_t *)s, (utf8proc_ssize_t)n, &dst, (utf8proc_option_t)opt);
        if (r < 0) return str_concat(s, n, "", 0, out_n);
        *out_n = (size_t)r;
        return (char *)dst;
    }
    case SMOL_NORM_LOWERCASE: return str_lower(s, n, out_n);
    case SMOL_NORM_PREPEND:
    case SMOL_NORM_PREPEND_FIRST:
        if (n == 0 || (st->op == SMOL_NORM_PREPEND_FIRST && !at_start)) return str_concat(s, n, "", 0, out_n);
        return str_concat(st->arg, strlen(st->arg), s, n, out_n);
    case SMOL_NORM_REPLACE: return str_replace_all(s, n, st->arg, st->arg2, out_n);
    }
    return NULL;
}

/* SentencePiece text: an optional '▁' prefix, then every space written as '▁'. */
static int spm_escape(enc_state *st, const char *s, size_t n, bool prefix, size_t *out_n) {
    size_t need = 3 * n + 4;
    if (need > st->cap_buf) {
        char *p = realloc(st->buf, need);
        if (!p) return SMOL_ENOMEM;
        st->buf = p;
        st->cap_buf = need;
    }
    size_t k = 0;
    if (prefix) { memcpy(st->buf, "\xE2\x96\x81", 3); k = 3; }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') { memcpy(st->buf + k, "\xE2\x96\x81", 3); k += 3; }
        else st->buf[k++] = s[i];
    }
    *out_n = k;
    return SMOL_OK;
}

/* Encodes text between added tokens. */
static int encode_segment(enc_state *st, const char *s, size_t n, bool at_start, bool after_special) {
    const smol_tokenizer *t = st->t;
    char *norm = NULL;
    for (int i = 0; i < t->n_norm; i++) {
        size_t nn;
        char *p = norm_step(&t->norm[i], s, n, at_start, &nn);
        free(norm);
        if (!p) return SMOL_ENOMEM;
        norm = p;
        s = p;
        n = nn;
    }
    int rc;
    if (t->model == SMOL_TOK_SPM) {
        size_t en;
        rc = spm_escape(st, s, n, t->add_space_prefix && after_special && n > 0, &en);
        if (!rc) rc = smol_bpe_word(t, &st->work, st->buf, en, st->out);
    } else if (t->pretok == SMOL_PRETOK_NONE) {
        rc = smol_bpe_word(t, &st->work, s, n, st->out);
    } else {
        st->base = s;
        st->end = s + n;
        st->rc = SMOL_OK;
        smol_pretok_split(t->pretok, s, n, on_word, st);
        rc = st->rc;
    }
    free(norm);
    return rc;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* The added token starting at text[p], longest first, or -1. */
static int match_added(const smol_tokenizer *t, const char *text, size_t len, size_t p, unsigned flags) {
    if (!t->added_first[(uint8_t)text[p]] || len - p < t->added_min_len) return -1;
    for (int i = 0; i < t->n_added; i++) {
        const smol_added_tok *a = &t->added[i];
        if (a->special && !(flags & SMOL_TOKENIZE_PARSE_SPECIAL)) continue;
        uint32_t n = t->text_len[a->id];
        if (n <= len - p && memcmp(text + p, t->text[a->id], n) == 0) return i;
    }
    return -1;
}

/* The first position >= p where an added token of this form (k: 1 with special-token
 * parsing) may start, or len. */
static size_t next_lead(const smol_tokenizer *t, int k, const char *text, size_t len, size_t p) {
    if (p >= len || t->added_n_lead[k] == 0) return len;
    if (t->added_n_lead[k] == 1) {
        const char *q = memchr(text + p, t->added_one_lead[k], len - p);
        return q ? (size_t)(q - text) : len;
    }
    while (p < len && !t->added_lead[(uint8_t)text[p]][k]) p++;
    return p;
}

static int encode_all(enc_state *st, const char *text, size_t len, unsigned flags) {
    const smol_tokenizer *t = st->t;
    size_t seg = 0;
    bool after_special = true;
    int rc, lead = (flags & SMOL_TOKENIZE_PARSE_SPECIAL) ? 1 : 0;
    for (size_t p = next_lead(t, lead, text, len, 0); p < len; p = next_lead(t, lead, text, len, p + 1)) {
        int k = match_added(t, text, len, p, flags);
        if (k < 0) continue;
        const smol_added_tok *a = &t->added[k];
        size_t ms = p, me = p + t->text_len[a->id];
        if (a->lstrip) while (ms > seg && is_space(text[ms - 1])) ms--;
        if (a->rstrip) while (me < len && is_space(text[me])) me++;
        if (ms > seg) {
            if ((rc = encode_segment(st, text + seg, ms - seg, seg == 0, after_special))) return rc;
        }
        if ((rc = smol_tokens_push(st->out, a->id))) return rc;
        after_special = true;
        seg = me;
        p = me - 1;
    }
    if (len > seg) return encode_segment(st, text + seg, len - seg, seg == 0, after_special);
    return SMOL_OK;
}

int smol_tok_encode(const smol_tokenizer *t, const char *text, size_t len, unsigned flags, uint64_t max_slots,
                    smol_tokens *out, smol_error *err) {
    if (!t || !out || (!text && len)) return smol_fail(err, SMOL_EINVAL, "smol_tokenize: NULL tokenizer, output or text");
    size_t n0 = out->n;
    enc_state st = { .t = t, .out = out };
    for (st.cache_max = 1; 2 * st.cache_max <= max_slots; st.cache_max *= 2) {}  /* a power of two */
    if (len >= 256 && max_slots >= 16 && t->model == SMOL_TOK_BPE && t->pretok != SMOL_PRETOK_NONE) {
        /* a word cache pays off on longer texts (without one, words are merged each time);
         * sized for about one new word per 128 bytes, so that it seldom has to grow */
        uint64_t first = 4096;
        while (first < len / 64 && first < 65536) first *= 2;
        cache_grow(&st, first < st.cache_max ? first : st.cache_max);
        reserve_ids(out, len / 4 + 16);  /* about one token per 4 bytes; it grows when short */
    }
    int rc = SMOL_OK;
    if ((flags & SMOL_TOKENIZE_ADD_SPECIAL) && t->add_bos && t->bos >= 0) rc = smol_tokens_push(out, t->bos);
    if (!rc) rc = encode_all(&st, text, len, flags);
    if (!rc && (flags & SMOL_TOKENIZE_ADD_SPECIAL) && t->add_eos && t->eos >= 0) rc = smol_tokens_push(out, t->eos);
    free(st.cache);
    free(st.buf);
    smol_bpe_work_free(&st.work);
    if (rc) {
        out->n = n0;
        return smol_fail(err, rc, "smol_tokenize: out of memory for a text of %zu bytes", len);
    }
    return SMOL_OK;
}

int smol_tokenize(const smol_tokenizer *t, const char *text, size_t len, unsigned flags, smol_tokens *out,
                  smol_error *err) {
    return smol_tok_encode(t, text, len, flags, SMOL_TOK_TABLE_MAX_SLOTS, out, err);
}

/* ---------------------------------------------------------------- decoding */

static bool is_special(const smol_tokenizer *t, int32_t id) {
    return t->type[id] == SMOL_TOKEN_CONTROL || t->type[id] == SMOL_TOKEN_UNKNOWN;
}

int smol_token_to_bytes(const smol_tokenizer *t, int32_t id, char *buf, size_t cap) {
    if (!t || id < 0 || id >= t->n_vocab) return 0;
    uint32_t n = t->piece_len[id];
    if (n > cap) return -(int)n;
    memcpy(buf, t->piece[id], n);
    return (int)n;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one (Unicode's rules for
 * the second byte after E0, ED, F0, F4). *maximal gets the length of its valid prefix. */
static size_t utf8_valid(const uint8_t *s, size_t n, size_t *maximal) {
    uint8_t c = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF;
    *maximal = 1;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 0;
    for (size_t i = 1; i < need; i++) {
        if (i >= n || s[i] < lo || s[i] > hi) { *maximal = i; return 0; }
        lo = 0x80;
        hi = 0xBF;
    }
    return need;
}

/* Replaces invalid UTF-8 by U+FFFD, one per maximal invalid part (as Rust's from_utf8_lossy). */
static char *utf8_lossy(const char *s, size_t n, size_t *out_n) {
    char *p = malloc(3 * n + 1);
    size_t k = 0;
    if (!p) return NULL;
    for (size_t i = 0; i < n;) {
        size_t maximal, l = utf8_valid((const uint8_t *)s + i, n - i, &maximal);
        if (l) { memcpy(p + k, s + i, l); k += l; i += l; }
        else { memcpy(p + k, "\xEF\xBF\xBD", 3); k += 3; i += maximal; }
    }
    p[k] = 0;
    *out_n = k;
    return p;
}

int smol_detokenize(const smol_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **out, size_t *len,
                    smol_error *err) {
    if (!t || !out || (!ids && n)) return smol_fail(err, SMOL_EINVAL, "smol_detokenize: NULL tokenizer, ids or output");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab)
            return smol_fail(err, SMOL_ERANGE, "smol_detokenize: id %d at position %zu is outside the vocabulary of %d",
                             ids[i], i, t->n_vocab);
        total += t->piece_len[ids[i]];
    }
    char *p = malloc(total + 1);
    if (!p) return smol_fail(err, SMOL_ENOMEM, "smol_detokenize: out of memory for %zu bytes", total);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if ((flags & SMOL_DETOKENIZE_SKIP_SPECIAL) && is_special(t, ids[i])) continue;
        memcpy(p + k, t->piece[ids[i]], t->piece_len[ids[i]]);
        k += t->piece_len[ids[i]];
    }
    p[k] = 0;
    if (t->strip_decoded_space && !(flags & SMOL_DETOKENIZE_KEEP_SPACE) && k > 0 && p[0] == ' ') {
        memmove(p, p + 1, k);
        k--;
    }
    if (flags & SMOL_DETOKENIZE_LOSSY) {
        size_t ln;
        char *q = utf8_lossy(p, k, &ln);
        free(p);
        if (!q) return smol_fail(err, SMOL_ENOMEM, "smol_detokenize: out of memory");
        p = q;
        k = ln;
    }
    *out = p;
    if (len) *len = k;
    return SMOL_OK;
}

void smol_detok_stream_init(smol_detok_stream *s, const smol_tokenizer *t, unsigned flags) {
    memset(s, 0, sizeof *s);
    s->t = t;
    s->flags = flags;
}

/* How many bytes at the end of s[0..n) start a UTF-8 sequence that is not yet complete. */
static size_t incomplete_tail(const uint8_t *s, size_t n) {
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        uint8_t c = s[n - back];
        if ((c & 0xC0) == 0x80) continue;  /* continuation byte: look further back */
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0;
}

int smol_detok_stream_push(smol_detok_stream *s, int32_t id, char *buf, size_t cap) {
    const smol_tokenizer *t = s->t;
    if (!t || id < 0 || id >= t->n_vocab) return 0;
    if ((s->flags & SMOL_DETOKENIZE_SKIP_SPECIAL) && is_special(t, id)) return 0;
    const char *piece = t->piece[id];
    size_t pn = t->piece_len[id];
    if (!s->started && pn > 0) {
        if (t->strip_decoded_space && !(s->flags & SMOL_DETOKENIZE_KEEP_SPACE) && piece[0] == ' ') { piece++; pn--; }
    }
    size_t total = s->n_held + pn;
    if (total > cap) return -(int)total;
    memcpy(buf, s->held, s->n_held);
    memcpy(buf + s->n_held, piece, pn);
    if (pn > 0 || t->piece_len[id] > 0) s->started = 1;
    size_t hold = incomplete_tail((const uint8_t *)buf, total);
    s->n_held = (uint8_t)hold;
    memcpy(s->held, buf + total - hold, hold);
    return (int)(total - hold);
}

int smol_detok_stream_flush(smol_detok_stream *s, char *buf, size_t cap) {
    if (s->n_held > cap) return -(int)s->n_held;
    int n = s->n_held;
    memcpy(buf, s->held, s->n_held);
    s->n_held = 0;
    return n;
}

/* ---------------------------------------------------------------- the object */

void smol_tokenizer_free(smol_tokenizer *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_blocks; i++) free(t->blocks[i]);
    free(t->blocks);
    free(t->text);
    free(t->text_len);
    free(t->piece);
    free(t->piece_len);
    free(t->type);
    free(t->score);
    free(t->eog);
    free(t->by_text.slots);
    free(t->pairs.slots);
    free(t->pair_index.slots);
    free(t->pair_index.merged_by_rank);
    free(t->added);
    for (int i = 0; i < t->n_norm; i++) {
        free(t->norm[i].arg);
        free(t->norm[i].arg2);
    }
    free(t->norm);
    free(t->chat_template);
    free(t);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* True if the file at path starts with the GGUF magic. */
static bool has_gguf_magic(const char *path) {
    FILE *fp = fopen(path, "rb");
    char magic[4] = {0};
    if (!fp) return false;
    size_t n = fread(magic, 1, 4, fp);
    fclose(fp);
    return n == 4 && memcmp(magic, "GGUF", 4) == 0;
}

int smol_tokenizer_load(const char *path, smol_tokenizer **out, smol_error *err) {
    if (!path || !out) return smol_fail(err, SMOL_EINVAL, "smol_tokenizer_load: NULL path or output");
    *out = NULL;
    if (smol_is_dir(path)) {
        char p[4096];
        snprintf(p, sizeof p, "%s/tokenizer.json", path);
        if (smol_exists(p)) return smol_tok_load_json(p, out, err);
        return smol_tok_load_pair_dir(path, out, err);
    }
    if (ends_with(path, ".gguf") || has_gguf_magic(path)) {
        smol_gguf *g = NULL;
        int rc = smol_gguf_open(path, &g, err);
        if (rc) return rc;
        rc = smol_tokenizer_from_gguf(g, out, err);
        smol_gguf_free(g);
        if (rc) smol_error_prefix(err, "%s", path);
        return rc;
    }
    return smol_tok_load_json(path, out, err);
}

int32_t smol_tokenizer_n_vocab(const smol_tokenizer *t) { return t ? t->n_vocab : 0; }
int32_t smol_token_bos(const smol_tokenizer *t) { return t ? t->bos : -1; }
int32_t smol_token_eos(const smol_tokenizer *t) { return t ? t->eos : -1; }
bool smol_tokenizer_adds_bos(const smol_tokenizer *t) { return t && t->add_bos && t->bos >= 0; }

bool smol_token_is_eog(const smol_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_vocab && t->eog[id];
}

const char *smol_token_text(const smol_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_vocab ? t->text[id] : NULL;
}

int smol_token_type(const smol_tokenizer *t, int32_t id) {
    return t && id >= 0 && id < t->n_vocab ? t->type[id] : 0;
}

int32_t smol_token_lookup(const smol_tokenizer *t, const char *text, size_t len) {
    return t && text ? smol_tok_find(t, text, len) : -1;
}

const char *smol_tokenizer_chat_template(const smol_tokenizer *t) { return t ? t->chat_template : NULL; }

const char *smol_tokenizer_pretok_name(const smol_tokenizer *t) {
    if (!t) return NULL;
    if (t->model == SMOL_TOK_SPM) return "spm";
    return t->pretok == SMOL_PRETOK_NONE ? "none" : smol_pretok_name(t->pretok);
}
