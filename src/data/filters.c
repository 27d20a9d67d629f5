/* filters.c: the filter registry (names, options, recipes), helpers shared by the filter
 * families, and the language filter (fastText lid.176, datatrove's LanguageFilter). */
#include "data/filters_internal.h"
#include "base/error.h"
#include "base/file.h"
#include "data/fasttext.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const filter_kind *const k_kinds[] = {&filter_kind_language, &filter_kind_gopher_repetition,
                                             &filter_kind_gopher_quality, &filter_kind_c4_quality,
                                             &filter_kind_fineweb_quality, &filter_kind_url, &filter_kind_pii};
#define N_KINDS (sizeof k_kinds / sizeof k_kinds[0])

static const char *const k_names[] = {"language", "gopher_repetition", "gopher_quality", "c4_quality",
                                      "fineweb_quality", "url", "pii", NULL};

const char *const *smol_filter_names(void) { return k_names; }

/* FineWeb's per-dump order (datatrove examples/fineweb.py) after text extraction. */
static const smol_filter_step k_fineweb[] = {{"language", ""},
                                             {"gopher_repetition", ""},
                                             {"gopher_quality", ""},
                                             {"c4_quality", "filter_no_terminal_punct=0"},
                                             {"fineweb_quality", ""},
                                             {NULL, NULL}};

const smol_filter_step *smol_filter_recipe(const char *name) {
    return name && strcmp(name, "fineweb") == 0 ? k_fineweb : NULL;
}

const char *smol_filter_name(const smol_filter *f) { return f->kind->name; }

int filter_opt_double(const smol_filter *f, const char *key, const char *v, double *out, smol_error *err) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d))
        return smol_fail(err, SMOL_EINVAL, "filter %s: option %s=%s: expected a number", f->kind->name, key, v);
    *out = d;
    return SMOL_OK;
}

int filter_opt_int(const smol_filter *f, const char *key, const char *v, long *out, smol_error *err) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno)
        return smol_fail(err, SMOL_EINVAL, "filter %s: option %s=%s: expected an integer", f->kind->name, key, v);
    *out = x;
    return SMOL_OK;
}

int filter_opt_bool(const smol_filter *f, const char *key, const char *v, int *out, smol_error *err) {
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) *out = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) *out = 0;
    else return smol_fail(err, SMOL_EINVAL, "filter %s: option %s=%s: expected 0/1/true/false", f->kind->name, key, v);
    return SMOL_OK;
}

int filter_unknown_option(const smol_filter *f, const char *key, smol_error *err) {
    return smol_fail(err, SMOL_EINVAL, "filter %s: unknown option '%s' (see docs/filters.md)", f->kind->name, key);
}

void filter_count(smol_filter *f, const char *name, long n) {
    for (int i = 0; i < f->n_counters; i++)
        if (f->counter_names[i] == name || !strcmp(f->counter_names[i], name)) {
            f->counters[i] += n;
            return;
        }
    if (f->n_counters < SMOL_FILTER_MAX_COUNTERS) {
        f->counter_names[f->n_counters] = name;
        f->counters[f->n_counters++] = n;
    }
}

int smol_filter_counters(const smol_filter *f, const char **names, long *values, int max) {
    for (int i = 0; i < f->n_counters && i < max; i++) {
        names[i] = f->counter_names[i];
        values[i] = f->counters[i];
    }
    return f->n_counters;
}

/* A hash of s[0..n) taking 8 bytes a step. */
static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, n - i);
    h = (h ^ w) * 0x94D049BB133111EBull;
    return h ^ (h >> 29);
}

int filter_find_duplicates(smol_filter *f, const smol_spans *items, long *dup_items, long *dup_chars) {
    *dup_items = *dup_chars = 0;
    if (items->n < 2) return 0;   /* nothing to repeat: a one-line text is not hashed */
    size_t cap = 16;
    while (cap < items->n * 2) cap *= 2;
    if (cap > f->dup_slot_cap) {
        free(f->dup_slots);
        f->dup_slots = malloc(cap * sizeof *f->dup_slots);
        f->dup_slot_cap = f->dup_slots ? cap : 0;
        if (!f->dup_slots) return -1;
    }
    if (items->n > f->dup_hash_cap) {
        free(f->dup_hashes);
        f->dup_hashes = malloc(items->n * sizeof *f->dup_hashes);
        f->dup_hash_cap = f->dup_hashes ? items->n : 0;
        if (!f->dup_hashes) return -1;
    }
    int32_t *slot = f->dup_slots;
    uint64_t *hs = f->dup_hashes;
    memset(slot, 0xff, cap * sizeof *slot);
    for (size_t i = 0; i < items->n; i++) {
        const smol_span *it = &items->v[i];
        uint64_t h = hs[i] = hash_bytes(it->s, it->len);
        size_t k = h & (cap - 1);
        int dup = 0;
        for (; slot[k] >= 0; k = (k + 1) & (cap - 1)) {
            const smol_span *o = &items->v[slot[k]];
            if (hs[slot[k]] == h && o->len == it->len && !memcmp(o->s, it->s, it->len)) {
                dup = 1;
                break;
            }
        }
        if (dup) {
            (*dup_items)++;
            *dup_chars += (long)smol_utf8_chars(it->s, it->len);
        } else {
            slot[k] = (int32_t)i;
        }
    }
    return 0;
}

/* Splits "k=v,k=v" and passes each pair to the family's option handler. */
static int parse_options(smol_filter *f, const char *options, smol_error *err) {
    if (!options || !*options) return SMOL_OK;
    char *copy = strdup(options);
    if (!copy) return smol_fail(err, SMOL_ENOMEM, "filter %s: out of memory", f->kind->name);
    int rc = SMOL_OK;
    char *save = NULL;
    for (char *kv = strtok_r(copy, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            rc = smol_fail(err, SMOL_EINVAL, "filter %s: option '%s' is not key=value", f->kind->name, kv);
            break;
        }
        *eq = 0;
        rc = f->kind->option(f, kv, eq + 1, err);
    }
    free(copy);
    return rc;
}

int smol_filter_new(const char *name, const char *options, smol_filter **out, smol_error *err) {
    *out = NULL;
    const filter_kind *kind = NULL;
    for (size_t i = 0; i < N_KINDS; i++)
        if (name && !strcmp(k_kinds[i]->name, name)) kind = k_kinds[i];
    if (!kind)
        return smol_fail(err, SMOL_EINVAL,
                         "unknown filter '%s' (known: language, gopher_repetition, gopher_quality, c4_quality, "
                         "fineweb_quality, url, pii)", name ? name : "(null)");
    smol_filter *f = calloc(1, sizeof *f);
    if (!f) return smol_fail(err, SMOL_ENOMEM, "filter %s: out of memory", name);
    f->kind = kind;
    int rc = kind->init(f, err);
    if (!rc) rc = parse_options(f, options, err);
    if (!rc && kind->ready) rc = kind->ready(f, err);
    if (rc) {
        smol_filter_free(f);
        return rc;
    }
    *out = f;
    return SMOL_OK;
}

int smol_filter_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    *reason = NULL;
    return f->kind->apply(f, doc, reason);
}

void smol_filter_free(smol_filter *f) {
    if (!f) return;
    if (f->kind->free) f->kind->free(f);
    smol_spans_free(&f->lines);
    smol_spans_free(&f->words);
    smol_spans_free(&f->parts);
    free(f->dup_slots);
    free(f->dup_hashes);
    free(f);
}

/* ------------------------------------------------------------------ language */

#define LANG_MAX 32

typedef struct lang_state {
    char model_path[4096];
    double threshold;            /* keep when a wanted language scores above it */
    char langs[LANG_MAX][16];    /* wanted languages; none: any language */
    int n_langs;
    smol_ft *model;
    smol_ft_scratch *scratch;
    smol_ft_prediction *preds;
    int32_t *lang_labels;        /* label index of each wanted language (-1 if the model has none) */
    char *buf;                   /* the text with newlines made spaces */
    size_t buf_cap;
} lang_state;

static int lang_init(smol_filter *f, smol_error *err) {
    lang_state *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "filter language: out of memory");
    f->state = s;
    s->threshold = 0.65;
    strcpy(s->langs[0], "en");
    s->n_langs = 1;
    const char *env = getenv("SMOL_LID_MODEL");
    snprintf(s->model_path, sizeof s->model_path, "%s", env && *env ? env : "lid.176.ftz");
    return SMOL_OK;
}

static int lang_option(smol_filter *f, const char *key, const char *v, smol_error *err) {
    lang_state *s = f->state;
    if (!strcmp(key, "threshold") || !strcmp(key, "language_threshold"))
        return filter_opt_double(f, key, v, &s->threshold, err);
    if (!strcmp(key, "model")) {
        if (strlen(v) >= sizeof s->model_path) return smol_fail(err, SMOL_EINVAL, "filter language: model path too long");
        strcpy(s->model_path, v);
        return SMOL_OK;
    }
    if (!strcmp(key, "languages")) {
        /* "en", "en+fr+de", or "all" (any language) */
        s->n_langs = 0;
        if (!strcmp(v, "all") || !*v) return SMOL_OK;
        const char *p = v;
        while (*p) {
            size_t n = strcspn(p, "+|");
            if (n == 0 || n >= sizeof s->langs[0] || s->n_langs == LANG_MAX)
                return smol_fail(err, SMOL_EINVAL, "filter language: languages=%s: expected codes like en+fr (at most %d)",
                                 v, LANG_MAX);
            memcpy(s->langs[s->n_langs], p, n);
            s->langs[s->n_langs++][n] = 0;
            p += n;
            if (*p) p++;
        }
        return SMOL_OK;
    }
    return filter_unknown_option(f, key, err);
}

static int lang_ready(smol_filter *f, smol_error *err) {
    lang_state *s = f->state;
    int rc = smol_ft_load(s->model_path, &s->model, err);
    if (rc) {
        smol_error_prefix(err, "filter language (set model=PATH or $SMOL_LID_MODEL)");
        return rc;
    }
    int32_t nl = smol_ft_label_count(s->model);
    s->scratch = smol_ft_scratch_new(s->model);
    s->preds = malloc((size_t)(nl > 0 ? nl : 1) * sizeof *s->preds);
    s->lang_labels = malloc(LANG_MAX * sizeof *s->lang_labels);
    if (!s->scratch || !s->preds || !s->lang_labels) return smol_fail(err, SMOL_ENOMEM, "filter language: out of memory");
    for (int i = 0; i < s->n_langs; i++) {
        char label[64];
        snprintf(label, sizeof label, "__label__%s", s->langs[i]);
        s->lang_labels[i] = smol_ft_label_index(s->model, label);
        if (s->lang_labels[i] < 0) s->lang_labels[i] = smol_ft_label_index(s->model, s->langs[i]);
        if (s->lang_labels[i] < 0)
            return smol_fail(err, SMOL_EINVAL, "filter language: %s has no label for language '%s'", s->model_path,
                             s->langs[i]);
    }
    return SMOL_OK;
}

/* The language code of label i ("__label__en" -> "en"). */
static const char *lang_code(const smol_ft *m, int32_t i) {
    const char *l = smol_ft_label(m, i);
    return l && !strncmp(l, "__label__", 9) ? l + 9 : (l ? l : "");
}

static int lang_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    lang_state *s = f->state;
    if (doc->text_len + 1 > s->buf_cap) {
        char *b = realloc(s->buf, doc->text_len + 1);
        if (!b) { *reason = "language: out of memory"; return SMOL_ENOMEM; }
        s->buf = b;
        s->buf_cap = doc->text_len + 1;
    }
    for (size_t i = 0; i < doc->text_len; i++) s->buf[i] = doc->text[i] == '\n' ? ' ' : doc->text[i];
    int n = smol_ft_predict(s->model, s->scratch, s->buf, doc->text_len, 1, -1, 0.0f, s->preds);
    if (n < 0) { *reason = "language: prediction failed"; return n; }
    const char *lang = n > 0 ? lang_code(s->model, s->preds[0].label) : "";
    double score = n > 0 ? s->preds[0].prob : 0.0;
    cJSON *meta = smol_doc_metadata(doc);
    if (!meta) { *reason = "language: out of memory"; return SMOL_ENOMEM; }
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "language");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "language_score");
    cJSON_AddStringToObject(meta, "language", lang);
    cJSON_AddNumberToObject(meta, "language_score", score);
    int keep = 0;
    if (s->n_langs == 0) keep = score > s->threshold;
    for (int i = 0; i < n && !keep; i++)
        for (int k = 0; k < s->n_langs; k++)
            if (s->preds[i].label == s->lang_labels[k] && s->preds[i].prob > s->threshold) keep = 1;
    if (!keep) *reason = "language:below_threshold";
    return keep;
}

static void lang_free(smol_filter *f) {
    lang_state *s = f->state;
    if (!s) return;
    smol_ft_scratch_free(s->scratch);
    smol_ft_free(s->model);
    free(s->preds);
    free(s->lang_labels);
    free(s->buf);
    free(s);
}

const filter_kind filter_kind_language = {"language", lang_init, lang_option, lang_ready, lang_apply, lang_free};
