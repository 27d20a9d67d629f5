/* scan.c: the multi-phrase counter. Phrases are folded to lower-case ASCII and put in a trie
 * over byte classes (one class per byte value that occurs in a phrase, one for all others);
 * breadth-first failure links turn it into a complete DFA whose transitions carry a flag for
 * "some phrase ends here". The scan loop is one table load per byte; at flagged states the
 * phrases ending there (the state's own and its output links) are checked for word boundaries
 * and self-overlap. */
#include "data/scan.h"
#include "base/error.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>

#define SCAN_OUT_FLAG 0x80000000u

struct smol_scan {
    size_t n;                /* phrases */
    char **phrases;          /* as given */
    size_t *lens;            /* their lengths in bytes */
    uint8_t cls[256];        /* byte -> class */
    uint32_t n_classes;
    uint32_t n_states;
    uint32_t *trans;         /* [state * n_classes + class] = next * n_classes | SCAN_OUT_FLAG if it has outputs */
    int32_t *term;           /* phrase ending exactly at a state, or -1 */
    int32_t *out_link;       /* nearest proper suffix state with a phrase ending, or -1 */
    uint8_t word[256];       /* 1 for [A-Za-z0-9_] */
    uint8_t space[256];      /* 1 for ASCII white space */
};

static uint8_t fold(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }

void smol_scan_free(smol_scan *s) {
    if (!s) return;
    for (size_t i = 0; s->phrases && i < s->n; i++) free(s->phrases[i]);
    free(s->phrases);
    free(s->lens);
    free(s->trans);
    free(s->term);
    free(s->out_link);
    free(s);
}

size_t smol_scan_count(const smol_scan *s) { return s->n; }
const char *smol_scan_phrase(const smol_scan *s, size_t i) { return i < s->n ? s->phrases[i] : NULL; }

/* Builds the trie into go[state * C + class] (-1: none); returns the number of states or -1
 * for a duplicate phrase (its index in *dup). */
static int64_t build_trie(smol_scan *s, int32_t *go, size_t *dup) {
    uint32_t C = s->n_classes, n_states = 1;
    for (size_t k = 0; k < s->n; k++) {
        uint32_t u = 0;
        for (size_t j = 0; j < s->lens[k]; j++) {
            uint32_t c = s->cls[(uint8_t)s->phrases[k][j]];
            if (go[(size_t)u * C + c] < 0) go[(size_t)u * C + c] = (int32_t)n_states++;
            u = (uint32_t)go[(size_t)u * C + c];
        }
        if (s->term[u] >= 0) {
            *dup = k;
            return -1;
        }
        s->term[u] = (int32_t)k;
    }
    return n_states;
}

/* Breadth-first failure links: fills trans (without flags), out_link. */
static int build_links(smol_scan *s, const int32_t *go, uint32_t *fail) {
    uint32_t C = s->n_classes, *queue = malloc((size_t)s->n_states * sizeof *queue);
    if (!queue) return -1;
    size_t head = 0, tail = 0;
    for (uint32_t c = 0; c < C; c++) {
        int32_t v = go[c];
        s->trans[c] = v > 0 ? (uint32_t)v : 0;
        if (v > 0) {
            fail[v] = 0;
            queue[tail++] = (uint32_t)v;
        }
    }
    while (head < tail) {
        uint32_t u = queue[head++];
        s->out_link[u] = s->term[fail[u]] >= 0 ? (int32_t)fail[u] : s->out_link[fail[u]];
        for (uint32_t c = 0; c < C; c++) {
            int32_t v = go[(size_t)u * C + c];
            if (v > 0) {
                fail[v] = s->trans[(size_t)fail[u] * C + c];
                s->trans[(size_t)u * C + c] = (uint32_t)v;
                queue[tail++] = (uint32_t)v;
            } else {
                s->trans[(size_t)u * C + c] = s->trans[(size_t)fail[u] * C + c];
            }
        }
    }
    free(queue);
    return 0;
}

static int compile(smol_scan *s, smol_error *err) {
    size_t total = 1;
    uint8_t seen[256] = {0};
    for (size_t k = 0; k < s->n; k++) {
        total += s->lens[k];
        for (size_t j = 0; j < s->lens[k]; j++) seen[fold((uint8_t)s->phrases[k][j])] = 1;
    }
    uint32_t C = 1;
    uint8_t folded_class[256] = {0};
    for (int b = 0; b < 256; b++)
        if (seen[b]) folded_class[b] = (uint8_t)C++;
    for (int b = 0; b < 256; b++) s->cls[b] = folded_class[fold((uint8_t)b)];
    s->n_classes = C;
    if (total > (SCAN_OUT_FLAG - 1) / C) return smol_fail(err, SMOL_ERANGE, "phrases too long in all (%zu bytes)", total);
    int32_t *go = malloc(total * C * sizeof *go);
    uint32_t *fail = calloc(total, sizeof *fail);
    s->term = malloc(total * sizeof *s->term);
    s->out_link = malloc(total * sizeof *s->out_link);
    s->trans = malloc(total * C * sizeof *s->trans);
    int rc = SMOL_OK;
    if (!go || !fail || !s->term || !s->out_link || !s->trans) {
        rc = smol_fail(err, SMOL_ENOMEM, "out of memory for %zu phrase bytes", total);
        goto done;
    }
    memset(go, 0xff, total * C * sizeof *go);
    for (size_t i = 0; i < total; i++) s->term[i] = s->out_link[i] = -1;
    size_t dup = 0;
    int64_t n_states = build_trie(s, go, &dup);
    if (n_states < 0) {
        rc = smol_fail(err, SMOL_EINVAL, "phrase '%s' is given twice (matching ignores ASCII case)", s->phrases[dup]);
        goto done;
    }
    s->n_states = (uint32_t)n_states;
    if (build_links(s, go, fail)) {
        rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
        goto done;
    }
    /* premultiply targets and flag the ones with outputs */
    for (size_t i = 0; i < (size_t)s->n_states * C; i++) {
        uint32_t v = s->trans[i];
        s->trans[i] = v * C | (s->term[v] >= 0 || s->out_link[v] >= 0 ? SCAN_OUT_FLAG : 0);
    }
done:
    free(go);
    free(fail);
    return rc;
}

int smol_scan_new(const char *const *phrases, size_t n, smol_scan **out, smol_error *err) {
    *out = NULL;
    if (n == 0) return smol_fail(err, SMOL_EINVAL, "no phrases to scan for");
    smol_scan *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    s->phrases = calloc(n, sizeof *s->phrases);
    s->lens = calloc(n, sizeof *s->lens);
    if (!s->phrases || !s->lens) {
        smol_scan_free(s);
        return smol_fail(err, SMOL_ENOMEM, "out of memory for %zu phrases", n);
    }
    s->n = n;
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(phrases[k]);
        if (len == 0 || memchr(phrases[k], '\n', len) || memchr(phrases[k], '\r', len)) {
            int rc = smol_fail(err, SMOL_EINVAL, "phrase %zu ('%.60s') is empty or holds a line break", k + 1, phrases[k]);
            smol_scan_free(s);
            return rc;
        }
        s->lens[k] = len;
        if (!(s->phrases[k] = strdup(phrases[k]))) {
            smol_scan_free(s);
            return smol_fail(err, SMOL_ENOMEM, "out of memory");
        }
    }
    for (int b = 0; b < 256; b++) {
        s->word[b] = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
        s->space[b] = b == ' ' || (b >= '\t' && b <= '\r');
    }
    int rc = compile(s, err);
    if (rc) {
        smol_scan_free(s);
        return rc;
    }
    *out = s;
    return SMOL_OK;
}

int smol_scan_load(const char *path, smol_scan **out, smol_error *err) {
    char *buf;
    size_t size;
    *out = NULL;
    int rc = smol_read_file(path, &buf, &size, err);
    if (rc) return rc;
    size_t cap = 16, n = 0;
    const char **list = malloc(cap * sizeof *list);
    char *line = buf;
    while (list && line < buf + size) {
        char *nl = memchr(line, '\n', (size_t)(buf + size - line));
        char *end = nl ? nl : buf + size;
        char *next = nl ? nl + 1 : buf + size;
        while (line < end && (*line == ' ' || *line == '\t')) line++;
        while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
        *end = 0;
        if (end > line && *line != '#') {
            if (n == cap) {
                const char **l2 = realloc(list, 2 * cap * sizeof *list);
                if (!l2) break;
                list = l2;
                cap *= 2;
            }
            list[n++] = line;
        }
        line = next;
    }
    if (!list || line < buf + size) rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    else if (n == 0) rc = smol_fail(err, SMOL_EINVAL, "%s: no phrases (one per line)", path);
    else if ((rc = smol_scan_new(list, n, out, err))) smol_error_prefix(err, "%s", path);
    free(list);
    free(buf);
    return rc;
}

smol_scan_tally *smol_scan_tally_new(const smol_scan *s) {
    smol_scan_tally *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n = s->n;
    t->counts = calloc(s->n, sizeof *t->counts);
    t->last_end = calloc(2 * s->n, sizeof *t->last_end);
    if (!t->counts || !t->last_end) {
        smol_scan_tally_free(t);
        return NULL;
    }
    return t;
}

void smol_scan_tally_free(smol_scan_tally *t) {
    if (!t) return;
    free(t->counts);
    free(t->last_end);
    free(t);
}

void smol_scan_tally_add(smol_scan_tally *dst, const smol_scan_tally *src) {
    for (size_t i = 0; i < dst->n && i < src->n; i++) dst->counts[i] += src->counts[i];
    dst->words += src->words;
    dst->bytes += src->bytes;
}

/* The phrases ending at text[end - 1] in state u: counted where they stand at word boundaries
 * and do not overlap the same phrase's previous match in this stream (last_end). */
static void report(const smol_scan *s, const uint8_t *text, size_t len, size_t end, uint32_t u, uint64_t *counts,
                   size_t *last_end) {
    int32_t x = s->term[u] >= 0 ? (int32_t)u : s->out_link[u];
    int after_ok = end == len || !s->word[text[end]];
    while (x >= 0) {
        uint32_t k = (uint32_t)s->term[x];
        size_t start = end - s->lens[k];
        if (after_ok && (start == 0 || !s->word[text[start - 1]]) && (start >= last_end[k])) {
            counts[k]++;
            last_end[k] = end;
        }
        x = s->out_link[x];
    }
}

/* One stream over text[0, len): returns the words; matches go to counts. */
static uint64_t scan_one(const smol_scan *s, const uint8_t *p, size_t len, uint64_t *counts, size_t *last_end) {
    const uint32_t *trans = s->trans;
    const uint8_t *cls = s->cls, *space = s->space;
    uint32_t st = 0;
    uint64_t words = 0;
    unsigned prev_space = 1;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = p[i];
        uint32_t v = trans[st + cls[b]];
        unsigned sp = space[b];
        words += prev_space & (sp ^ 1);
        prev_space = sp;
        st = v & ~SCAN_OUT_FLAG;
        if (__builtin_expect((v & SCAN_OUT_FLAG) != 0, 0))
            report(s, p, len, i + 1, st / s->n_classes, counts, last_end);
    }
    return words;
}

/* Two streams over a = text[0, na) and b = text[na, na + nb) (cut after a '\n') interleaved, so
 * the two chains of dependent table loads overlap; each stream keeps its own last_end. */
static uint64_t scan_two(const smol_scan *s, const uint8_t *a, size_t na, const uint8_t *b, size_t nb, uint64_t *counts,
                         size_t *last_a, size_t *last_b) {
    const uint32_t *trans = s->trans;
    const uint8_t *cls = s->cls, *space = s->space;
    const uint32_t C = s->n_classes;
    uint32_t sa = 0, sb = 0;
    uint64_t words = 0;
    unsigned pa = 1, pb = 1;
    size_t n = na < nb ? na : nb, i;
    for (i = 0; i < n; i++) {
        uint8_t ca = a[i], cb = b[i];
        uint32_t va = trans[sa + cls[ca]], vb = trans[sb + cls[cb]];
        unsigned spa = space[ca], spb = space[cb];
        words += (pa & (spa ^ 1)) + (pb & (spb ^ 1));
        pa = spa;
        pb = spb;
        sa = va & ~SCAN_OUT_FLAG;
        sb = vb & ~SCAN_OUT_FLAG;
        if (__builtin_expect(((va | vb) & SCAN_OUT_FLAG) != 0, 0)) {
            if (va & SCAN_OUT_FLAG) report(s, a, na, i + 1, sa / C, counts, last_a);
            if (vb & SCAN_OUT_FLAG) report(s, b, nb, i + 1, sb / C, counts, last_b);
        }
    }
    /* finish the longer stream from its state */
    const uint8_t *r = na > n ? a : b;
    size_t rn = na > n ? na : nb, *last = na > n ? last_a : last_b;
    uint32_t st = na > n ? sa : sb;
    unsigned prev = na > n ? pa : pb;
    for (; i < rn; i++) {
        uint8_t c = r[i];
        uint32_t v = trans[st + cls[c]];
        unsigned sp = space[c];
        words += prev & (sp ^ 1);
        prev = sp;
        st = v & ~SCAN_OUT_FLAG;
        if (__builtin_expect((v & SCAN_OUT_FLAG) != 0, 0)) report(s, r, rn, i + 1, st / C, counts, last);
    }
    return words;
}

void smol_scan_text(const smol_scan *s, const char *text, size_t len, smol_scan_tally *t) {
    const uint8_t *p = (const uint8_t *)text;
    memset(t->last_end, 0, 2 * t->n * sizeof *t->last_end);
    const uint8_t *nl = len >= 4096 ? memchr(p + len / 2, '\n', len - len / 2) : NULL;
    if (nl && (size_t)(nl + 1 - p) < len) {
        size_t na = (size_t)(nl + 1 - p);
        t->words += scan_two(s, p, na, p + na, len - na, t->counts, t->last_end, t->last_end + t->n);
    } else {
        t->words += scan_one(s, p, len, t->counts, t->last_end);
    }
    t->bytes += len;
}
