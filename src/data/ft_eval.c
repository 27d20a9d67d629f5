/* ft_eval.c: fastText's `test`: N, precision and recall at k over a labelled file, and the
 * per-label counts behind precision/recall/F1 (fastText's Meter). */
#include "data/fasttext.h"
#include "base/error.h"
#include "base/jsonl.h"
#include <stdlib.h>
#include <string.h>

void smol_ft_metrics_free(smol_ft_metrics *mt) {
    if (!mt) return;
    free(mt->label_gold);
    free(mt->label_predicted);
    free(mt->label_predicted_gold);
    memset(mt, 0, sizeof *mt);
}

static void meter_log(smol_ft_metrics *mt, const ft_ids *labels, const smol_ft_prediction *p, int np) {
    mt->n++;
    mt->gold += (int64_t)labels->n;
    mt->predicted += np;
    for (int i = 0; i < np; i++) {
        int32_t l = p[i].label;
        mt->label_predicted[l]++;
        for (size_t j = 0; j < labels->n; j++)
            if (labels->v[j] == l) {
                mt->label_predicted_gold[l]++;
                mt->predicted_gold++;
                break;
            }
    }
    for (size_t j = 0; j < labels->n; j++) mt->label_gold[labels->v[j]]++;
}

int smol_ft_test(const smol_ft *m, const char *path, int k, float threshold, smol_ft_metrics *out, smol_error *err) {
    memset(out, 0, sizeof *out);
    int32_t nl = m->d.nlabels;
    out->nlabels = nl;
    out->label_gold = calloc((size_t)nl + 1, sizeof(int64_t));
    out->label_predicted = calloc((size_t)nl + 1, sizeof(int64_t));
    out->label_predicted_gold = calloc((size_t)nl + 1, sizeof(int64_t));
    smol_ft_scratch *s = smol_ft_scratch_new(m);
    smol_ft_prediction *pred = malloc(((size_t)nl + 1) * sizeof *pred);
    smol_lines *r = NULL;
    int rc = SMOL_OK;
    if (!out->label_gold || !out->label_predicted || !out->label_predicted_gold || !s || !pred)
        rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    if (!rc) rc = smol_lines_open(path, &r, err);
    const char *line;
    size_t len;
    while (!rc && (rc = smol_lines_next(r, &line, &len, err)) == 1) {
        rc = SMOL_OK;
        int64_t nt = ft_tokenize(m, line, len, smol_lines_had_newline(r), s);
        if (nt < 0) {
            rc = smol_fail(err, (int)nt, "%s:%lld: out of memory", path, (long long)smol_lines_lineno(r));
            break;
        }
        if (s->labels.n == 0 || s->words.n == 0) continue;
        int np = smol_ft_predict_ids(m, s, k, threshold, pred);
        if (np < 0) {
            rc = smol_fail(err, np, "%s:%lld: out of memory", path, (long long)smol_lines_lineno(r));
            break;
        }
        meter_log(out, &s->labels, pred, np);
    }
    if (rc > 0) rc = SMOL_OK;
    smol_lines_close(r);
    smol_ft_scratch_free(s);
    free(pred);
    if (rc) smol_ft_metrics_free(out);
    return rc;
}
