/* bpe.c: the BPE merge loop. A word starts as one symbol per byte (byte-level) or per UTF-8
 * character (SentencePiece style); the lowest-ranked adjacent pair found in the merge table is
 * merged (ties: leftmost first) until no pair merges, as llama.cpp and Hugging Face do. */
#include "tok/bpe.h"
#include <stdlib.h>
#include <string.h>

int smol_tokens_push(smol_tokens *out, int32_t id) {
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 64;
        int32_t *p = realloc(out->ids, cap * sizeof *p);
        if (!p) return SMOL_ENOMEM;
        out->ids = p;
        out->cap = cap;
    }
    out->ids[out->n++] = id;
    return SMOL_OK;
}

void smol_bpe_work_free(smol_bpe_work *w) {
    free(w->sym);
    free(w->heap);
    free(w->enc);
    memset(w, 0, sizeof *w);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return SMOL_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return SMOL_ENOMEM;
    *p = q;
    *cap = c;
    return SMOL_OK;
}

/* The length of the character at s[0..n): from its first byte, as llama.cpp, but 1 when the
 * bytes that should follow are not continuation bytes (invalid UTF-8 stays byte by byte). */
static size_t utf8_len(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    size_t l = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    if (l > n) return 1;
    for (size_t i = 1; i < l; i++)
        if ((s[i] & 0xC0) != 0x80) return 1;
    return l;
}

static bool cand_less(const smol_bpe_cand *a, const smol_bpe_cand *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(smol_bpe_work *w, smol_bpe_cand c) {
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_less(&c, &w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = c;
}

static smol_bpe_cand heap_pop(smol_bpe_work *w) {
    smol_bpe_cand top = w->heap[0], last = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!cand_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = last;
    return top;
}

static const smol_pair_entry *pair_find(const smol_pair_map *m, int32_t a, int32_t b) {
    if (!m->slots) return NULL;
    uint64_t key = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1;
    for (uint64_t i = smol_pair_slot(key, m->mask);; i = (i + 1) & m->mask) {
        const smol_pair_entry *e = &m->slots[i];
        if (e->key == key) return e;
        if (e->key == 0) return NULL;
    }
}

/* Queues the merge of symbol l with its right neighbour, if the pair merges. */
static int try_pair(const smol_tokenizer *t, smol_bpe_work *w, int32_t l) {
    if (l < 0) return SMOL_OK;
    int32_t r = w->sym[l].next;
    if (r < 0 || w->sym[l].id < 0 || w->sym[r].id < 0) return SMOL_OK;
    const smol_pair_entry *e = pair_find(&t->pairs, w->sym[l].id, w->sym[r].id);
    if (!e) return SMOL_OK;
    if (grow((void **)&w->heap, &w->cap_heap, w->n_heap + 1, sizeof *w->heap)) return SMOL_ENOMEM;
    heap_push(w, (smol_bpe_cand){ e->rank, (uint32_t)l, w->sym[l].id, w->sym[r].id });
    return SMOL_OK;
}

/* Splits the word into initial symbols; returns their count, or -1 when out of memory. */
static int64_t split_symbols(const smol_tokenizer *t, smol_bpe_work *w, const char *word, size_t len) {
    if (grow((void **)&w->sym, &w->cap_sym, len, sizeof *w->sym)) return -1;
    int64_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t cl = t->byte_level ? 1 : utf8_len((const uint8_t *)word + i, len - i);
        int32_t id = t->byte_level ? t->byte_id[(uint8_t)word[i]] : smol_tok_find(t, word + i, cl);
        w->sym[n] = (smol_bpe_sym){ id, (int32_t)n - 1, (int32_t)n + 1, (uint32_t)i, (uint32_t)cl };
        n++;
        i += cl;
    }
    if (n) w->sym[n - 1].next = -1;
    return n;
}

/* Emits a symbol the vocabulary lacks: byte tokens, else the unknown token, else nothing. */
static int emit_unknown(const smol_tokenizer *t, const char *s, size_t len, smol_tokens *out) {
    if (t->byte_level) return SMOL_OK;  /* a byte the vocabulary lacks is dropped, as llama.cpp and HF do */
    bool all_bytes = t->byte_fallback || t->model == SMOL_TOK_SPM;
    for (size_t i = 0; all_bytes && i < len; i++)
        if (t->byte_id[(uint8_t)s[i]] < 0) all_bytes = false;
    if (all_bytes) {
        for (size_t i = 0; i < len; i++)
            if (smol_tokens_push(out, t->byte_id[(uint8_t)s[i]])) return SMOL_ENOMEM;
        return SMOL_OK;
    }
    if (t->unk >= 0) return smol_tokens_push(out, t->unk);
    return SMOL_OK;
}

/* With ignore_merges, a word that is a whole token: its id, else -1. */
static int32_t whole_word(const smol_tokenizer *t, smol_bpe_work *w, const char *word, size_t len) {
    if (!t->byte_level) return smol_tok_find(t, word, len);
    if (grow((void **)&w->enc, &w->cap_enc, 2 * len, 1)) return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t cp = smol_byte_to_unicode((uint8_t)word[i]);
        if (cp < 0x80) {
            w->enc[n++] = (char)cp;
        } else {
            w->enc[n++] = (char)(0xC0 | (cp >> 6));
            w->enc[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    return smol_tok_find(t, w->enc, n);
}

/* Merges the symbols [start, end) (all in the vocabulary) until no pair merges. */
static int merge_run(const smol_tokenizer *t, smol_bpe_work *w, int64_t start, int64_t end) {
    w->n_heap = 0;
    for (int64_t i = start; i + 1 < end && t->pairs.slots; i++) {  /* start the table reads early */
        uint64_t key = ((uint64_t)(uint32_t)w->sym[i].id << 32 | (uint32_t)w->sym[i + 1].id) + 1;
        __builtin_prefetch(&t->pairs.slots[smol_pair_slot(key, t->pairs.mask)]);
    }
    for (int64_t i = start; i + 1 < end; i++)
        if (try_pair(t, w, (int32_t)i)) return SMOL_ENOMEM;
    while (w->n_heap) {
        smol_bpe_cand c = heap_pop(w);
        smol_bpe_sym *l = &w->sym[c.left];
        if (l->len == 0 || l->next < 0 || l->id != c.lid) continue;
        smol_bpe_sym *r = &w->sym[l->next];
        if (r->id != c.rid) continue;
        l->id = pair_find(&t->pairs, c.lid, c.rid)->merged;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (l->next >= 0) w->sym[l->next].prev = (int32_t)c.left;
        if (try_pair(t, w, l->prev) || try_pair(t, w, (int32_t)c.left)) return SMOL_ENOMEM;
    }
    return SMOL_OK;
}

#define SMALL_WORD 64

/* The rank of merging a with b in the compact index; UINT32_MAX when they do not merge. */
static inline uint32_t index_rank(const smol_pair_index *ix, int32_t a, int32_t b) {
    uint64_t key = smol_pair_index_key(a, b);
    for (uint64_t i = smol_pair_slot(key, ix->mask);; i = (i + 1) & ix->mask) {
        uint64_t e = ix->slots[i];
        if (e >> 24 == key) return (uint32_t)(e & 0xFFFFFF);
        if (!e) return UINT32_MAX;
    }
}

/* The rank of merging a with b, UINT32_MAX when they do not merge; the result goes to *merged
 * (when the compact index is used, pair_result gives it instead). */
static inline uint32_t pair_rank(const smol_tokenizer *t, int32_t a, int32_t b, int32_t *merged) {
    if (a < 0 || b < 0) return UINT32_MAX;
    if (t->pair_index.slots) return index_rank(&t->pair_index, a, b);
    const smol_pair_entry *e = pair_find(&t->pairs, a, b);
    if (!e) return UINT32_MAX;
    *merged = e->merged;
    return e->rank;
}

/* The result of a merge pair_rank found: from the rank with the compact index, else as stored. */
static inline int32_t pair_result(const smol_tokenizer *t, uint32_t rank, int32_t merged) {
    const smol_pair_index *ix = &t->pair_index;
    if (!ix->slots) return merged;
    return ix->by_offset ? (int32_t)(rank + ix->offset) : ix->merged_by_rank[rank];
}

/* The same merging for a word of at most SMALL_WORD bytes, on arrays linked left to right:
 * the lowest rank (the leftmost among equals) merges, its neighbours' pairs are looked up
 * again. No queue, no moves. */
static int merge_small(const smol_tokenizer *t, const char *word, size_t len, smol_tokens *out) {
    int32_t id[SMALL_WORD], merged[SMALL_WORD];
    uint32_t rank[SMALL_WORD];  /* of the pair a symbol makes with the next one */
    int8_t next[SMALL_WORD];    /* the next symbol, -1 after the last */
    uint8_t start[SMALL_WORD], slen[SMALL_WORD];
    int n = 0;
    if (t->byte_level) {
        for (; n < (int)len; n++) {
            id[n] = t->byte_id[(uint8_t)word[n]];
            start[n] = (uint8_t)n;
            slen[n] = 1;
        }
    } else {
        for (size_t i = 0; i < len; n++) {
            size_t cl = utf8_len((const uint8_t *)word + i, len - i);
            id[n] = smol_tok_find(t, word + i, cl);
            start[n] = (uint8_t)i;
            slen[n] = (uint8_t)cl;
            i += cl;
        }
    }
    for (int i = 0; i < n; i++) next[i] = (int8_t)(i + 1);
    next[n - 1] = -1;
    rank[n - 1] = UINT32_MAX;
    for (int i = 0; i + 1 < n; i++) rank[i] = pair_rank(t, id[i], id[i + 1], &merged[i]);
    for (;;) {
        int best = 0, before = -1;
        for (int prev = 0, i = next[0]; i >= 0; prev = i, i = next[i])
            if (rank[i] < rank[best]) {
                best = i;
                before = prev;
            }
        if (rank[best] == UINT32_MAX) break;
        int r = next[best];
        id[best] = pair_result(t, rank[best], merged[best]);
        slen[best] = (uint8_t)(slen[best] + slen[r]);
        next[best] = next[r];
        rank[best] = next[best] >= 0 ? pair_rank(t, id[best], id[next[best]], &merged[best]) : UINT32_MAX;
        if (before >= 0) rank[before] = pair_rank(t, id[before], id[best], &merged[before]);
    }
    for (int i = 0; i >= 0; i = next[i]) {
        int rc = id[i] >= 0 ? smol_tokens_push(out, id[i]) : emit_unknown(t, word + start[i], slen[i], out);
        if (rc) return rc;
    }
    return SMOL_OK;
}

int smol_bpe_word(const smol_tokenizer *t, smol_bpe_work *w, const char *word, size_t len, smol_tokens *out) {
    if (len == 0) return SMOL_OK;
    if (t->ignore_merges) {
        int32_t id = whole_word(t, w, word, len);
        if (id >= 0) return smol_tokens_push(out, id);
    }
    if (len <= SMALL_WORD) return merge_small(t, word, len, out);
    int64_t n = split_symbols(t, w, word, len);
    if (n < 0) return SMOL_ENOMEM;
    /* A character the vocabulary lacks never merges, so the runs between such characters are
     * merged one at a time: the same result, with small queues (a long SentencePiece text is
     * one word). */
    for (int64_t start = 0; start < n;) {
        int64_t end = start;
        while (end < n && w->sym[end].id >= 0) end++;
        if (merge_run(t, w, start, end)) return SMOL_ENOMEM;
        start = end + 1;
    }
    for (int32_t i = 0; i >= 0; i = w->sym[i].next) {
        const smol_bpe_sym *s = &w->sym[i];
        int rc = s->id >= 0 ? smol_tokens_push(out, s->id) : emit_unknown(t, word + s->start, s->len, out);
        if (rc) return rc;
    }
    return SMOL_OK;
}
