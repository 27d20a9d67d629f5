/* filter_fineweb.c: FineWeb's own quality rules (datatrove FineWebQualityFilter): share of lines
 * ending in punctuation, share of short lines, duplicated-line characters, newlines per word. */
#include "data/filters_internal.h"
#include "base/error.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct fw_state {
    double line_punct_thr, short_line_thr, char_duplicates_ratio, new_line_ratio;
    long short_line_length;
    int line_punct_exclude_zero;
} fw_state;

static int fw_init(smol_filter *f, smol_error *err) {
    fw_state *s = calloc(1, sizeof *s);
    if (!s) return smol_fail(err, SMOL_ENOMEM, "filter fineweb_quality: out of memory");
    f->state = s;
    s->line_punct_thr = 0.12;
    s->short_line_thr = 0.67;
    s->short_line_length = 30;
    s->char_duplicates_ratio = 0.01;
    s->new_line_ratio = 0.3;
    return SMOL_OK;
}

static int fw_option(smol_filter *f, const char *key, const char *v, smol_error *err) {
    fw_state *s = f->state;
    if (!strcmp(key, "line_punct_thr")) return filter_opt_double(f, key, v, &s->line_punct_thr, err);
    if (!strcmp(key, "line_punct_exclude_zero")) return filter_opt_bool(f, key, v, &s->line_punct_exclude_zero, err);
    if (!strcmp(key, "short_line_thr")) return filter_opt_double(f, key, v, &s->short_line_thr, err);
    if (!strcmp(key, "short_line_length")) return filter_opt_int(f, key, v, &s->short_line_length, err);
    if (!strcmp(key, "char_duplicates_ratio")) return filter_opt_double(f, key, v, &s->char_duplicates_ratio, err);
    if (!strcmp(key, "new_line_ratio")) return filter_opt_double(f, key, v, &s->new_line_ratio, err);
    return filter_unknown_option(f, key, err);
}

static int fw_apply(smol_filter *f, smol_doc *doc, const char **reason) {
    fw_state *s = f->state;
    const char *t = doc->text;
    size_t n = doc->text_len;
    if (smol_split_char(t, n, '\n', &f->lines)) goto oom;
    size_t nl = f->lines.n;
    long punct = 0, shorts = 0;
    long short_bytes = s->short_line_length > LONG_MAX / 4 ? LONG_MAX : 4 * s->short_line_length;
    for (size_t i = 0; i < nl; i++) {
        const smol_span *l = &f->lines.v[i];
        char c = l->len ? l->s[l->len - 1] : 0;
        punct += c == '.' || c == '\'' || c == '"' || c == '!' || c == '?';
        /* a line of more than 4 * short_line_length bytes has more than short_line_length code points */
        shorts += (long)l->len <= s->short_line_length ||
                  ((long)l->len <= short_bytes && (long)smol_utf8_chars(l->s, l->len) <= s->short_line_length);
    }
    double ratio = (double)punct / (double)nl;
    if (ratio <= s->line_punct_thr && !(ratio == 0 && s->line_punct_exclude_zero)) {
        *reason = "fineweb_quality:line_punct_ratio";
        return 0;
    }
    if ((double)shorts / (double)nl >= s->short_line_thr) {
        *reason = "fineweb_quality:short_line_ratio";
        return 0;
    }
    /* duplicated characters among non-blank lines, over the characters that are not newlines */
    size_t w = 0;
    for (size_t i = 0; i < nl; i++) {
        const char *l = f->lines.v[i].s;
        size_t len = f->lines.v[i].len;
        smol_strip(&l, &len);
        if (len) f->lines.v[w++] = f->lines.v[i];
    }
    f->lines.n = w;
    long dups, dup_chars;
    if (filter_find_duplicates(f, &f->lines, &dups, &dup_chars)) goto oom;
    size_t newlines = nl - 1;
    double body = (double)(smol_utf8_chars(t, n) - newlines);
    if ((body > 0 ? dup_chars / body : 0) >= s->char_duplicates_ratio) {
        *reason = "fineweb_quality:char_dup_ratio";
        return 0;
    }
    if (newlines == 0) return 1;   /* the words are only needed for the newline ratio */
    /* the ratio with a lower bound on the word count bounds it from above (division is
     * monotonic, rounding too): under the threshold, the words need not be split */
    size_t floor_words = smol_word_count_floor(t, n);
    if (floor_words > 0 && !((double)newlines / (double)floor_words > s->new_line_ratio)) return 1;
    const smol_spans *words = smol_doc_words(doc);
    if (!words) goto oom;
    if (words->n == 0 || (double)newlines / (double)words->n > s->new_line_ratio) {
        *reason = "fineweb_quality:list_ratio";
        return 0;
    }
    return 1;
oom:
    *reason = "fineweb_quality: out of memory";
    return SMOL_ENOMEM;
}

static void fw_free(smol_filter *f) { free(f->state); }

const filter_kind filter_kind_fineweb_quality = {"fineweb_quality", fw_init, fw_option, NULL, fw_apply, fw_free};
