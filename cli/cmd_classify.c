/* cmd_classify.c: `smol classify`: fastText-compatible classifiers: supervised training, test,
 * predict, predict-prob and quantize with fastText's argument forms; `score` adds classifier
 * scores to JSONL documents (multi-threaded, order kept, atomic output); `ensemble` turns
 * several score fields into percentile bins and quality levels. `smol langid` runs here too. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/jsonl.h"
#include "base/pool.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME "classify"

/* ---------------------------------------------------------------- the batch engine */

enum { M_PREDICT, M_PROB, M_LANGID, M_SCORE };

typedef struct keep_expr {
    int on;
    char op[3];
    double value;
} keep_expr;

typedef struct stream_opts {
    const smol_ft *m;
    int mode, k, threads, jsonl, progress;
    float threshold;
    const char *field;          /* JSON field holding the text (dots for nested objects) */
    int32_t label;              /* score: label whose probability is the score */
    int regression;             /* score: expected value over __label__<int> labels */
    char key[256], key_int[256];
    keep_expr keep;
    double min_score;           /* langid: drop documents below */
} stream_opts;

typedef struct out_buf {
    char *p;
    size_t n, cap;
    int64_t err_line;           /* first failing line of this task (0: none) */
    char err[256];
    int64_t kept, dropped;
} out_buf;

typedef struct batch {
    char *buf;
    size_t used, cap;
    size_t *off, *len;
    int *eos;
    int n, cap_n;
    int64_t first_line;
    const stream_opts *o;
    smol_ft_scratch **scratch;
    smol_ft_prediction **pred;
    out_buf *outs;
    int n_tasks;
} batch;

static int ob_put(out_buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

static int ob_printf(out_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ob_printf(out_buf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return ob_put(b, tmp, (size_t)(n < (int)sizeof tmp ? n : (int)sizeof tmp - 1));
}

static const char *short_label(const char *l) {
    return strncmp(l, "__label__", 9) == 0 ? l + 9 : l;
}


static int keep_pass(const keep_expr *k, double s) {
    if (!k->on) return 1;
    if (strcmp(k->op, ">=") == 0) return s >= k->value;
    if (strcmp(k->op, ">") == 0) return s > k->value;
    if (strcmp(k->op, "<=") == 0) return s <= k->value;
    if (strcmp(k->op, "<") == 0) return s < k->value;
    return s == k->value;
}

static double round6(double x) { return round(x * 1e6) / 1e6; }

/* The score of one document: p(label), or the expected value over integer labels. */
static double doc_score(const smol_ft *m, const smol_ft_prediction *p, int n, const stream_opts *o) {
    if (!o->regression) {
        for (int i = 0; i < n; i++)
            if (p[i].label == o->label) return p[i].prob;
        return 0.0;
    }
    double s = 0, z = 0;
    for (int i = 0; i < n; i++) {
        s += p[i].prob * atof(short_label(smol_ft_label(m, p[i].label)));
        z += p[i].prob;
    }
    return z > 0 ? s / z : 0;
}

static void set_number(cJSON *obj, const char *key, double v) {
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddNumberToObject(obj, key, v);
}

/* One JSONL document: predict on its text field and add the results. */
static int do_doc(batch *b, int i, int thread, out_buf *ob) {
    const stream_opts *o = b->o;
    const char *line = b->buf + b->off[i];
    size_t len = b->len[i];
    size_t sp = 0;
    while (sp < len && (line[sp] == ' ' || line[sp] == '\t' || line[sp] == '\r')) sp++;
    if (sp == len) return 0;
    cJSON *doc = smol_json_parse_text(line, len, NULL);
    if (!doc || !cJSON_IsObject(doc)) {
        snprintf(ob->err, sizeof ob->err, "%s", doc ? "expected a JSON object" : "invalid JSON");
        cJSON_Delete(doc);
        return -1;
    }
    cJSON *t = cli_json_path(doc, o->field);
    if (!cJSON_IsString(t)) {
        snprintf(ob->err, sizeof ob->err, "no string field '%s'", o->field);
        cJSON_Delete(doc);
        return -1;
    }
    smol_ft_prediction *p = b->pred[thread];
    int k = o->mode == M_SCORE ? -1 : o->k;
    int n = smol_ft_predict(o->m, b->scratch[thread], t->valuestring, strlen(t->valuestring), 1, k, o->threshold, p);
    if (n < 0) {
        snprintf(ob->err, sizeof ob->err, "out of memory");
        cJSON_Delete(doc);
        return -1;
    }
    int keep = 1;
    if (o->mode == M_LANGID) {
        double s = n > 0 ? p[0].prob : 0;
        keep = s >= o->min_score;
        cJSON_DeleteItemFromObjectCaseSensitive(doc, "language");
        cJSON_AddStringToObject(doc, "language", n > 0 ? short_label(smol_ft_label(o->m, p[0].label)) : "unknown");
        set_number(doc, "language_score", round6(s));
        if (o->k > 1) {
            cJSON *all = cJSON_CreateObject();
            for (int j = 0; j < n; j++) cJSON_AddNumberToObject(all, short_label(smol_ft_label(o->m, p[j].label)), round6(p[j].prob));
            cJSON_DeleteItemFromObjectCaseSensitive(doc, "languages");
            cJSON_AddItemToObject(doc, "languages", all);
        }
    } else {
        double s = doc_score(o->m, p, n, o);
        keep = keep_pass(&o->keep, s);
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
        if (!cJSON_IsObject(meta)) {
            cJSON_DeleteItemFromObjectCaseSensitive(doc, "metadata");
            meta = cJSON_AddObjectToObject(doc, "metadata");
        }
        set_number(meta, o->key, round6(s));
        if (o->regression) set_number(meta, o->key_int, (double)(int)lround(fmin(5.0, fmax(0.0, s))));
    }
    if (keep) {
        char *s = cJSON_PrintUnformatted(doc);
        int rc = s ? ob_put(ob, s, strlen(s)) : -1;
        if (!rc) rc = ob_put(ob, "\n", 1);
        free(s);
        ob->kept++;
    } else {
        ob->dropped++;
    }
    cJSON_Delete(doc);
    return 0;
}

/* One text line: fastText's predict/predict-prob output, or langid's "lang score<TAB>line". */
static int do_line(batch *b, int i, int thread, out_buf *ob) {
    const stream_opts *o = b->o;
    const char *line = b->buf + b->off[i];
    smol_ft_prediction *p = b->pred[thread];
    int n = smol_ft_predict(o->m, b->scratch[thread], line, b->len[i], b->eos[i], o->k, o->threshold, p);
    if (n < 0) return -1;
    if (o->mode == M_LANGID) {
        if ((n > 0 ? p[0].prob : 0) < o->min_score) {
            ob->dropped++;
            return 0;
        }
        for (int j = 0; j < n; j++) ob_printf(ob, "%s%s %g", j ? " " : "", short_label(smol_ft_label(o->m, p[j].label)), p[j].prob);
        if (n == 0) ob_printf(ob, "unknown 0");
        ob_put(ob, "\t", 1);
        ob_put(ob, line, b->len[i]);
        ob->kept++;
        return ob_put(ob, "\n", 1);
    }
    for (int j = 0; j < n; j++) {
        ob_printf(ob, "%s%s", j ? " " : "", smol_ft_label(o->m, p[j].label));
        if (o->mode == M_PROB) ob_printf(ob, " %g", p[j].prob);
    }
    return ob_put(ob, "\n", 1);
}

static void batch_task(void *ctx, int task, int thread) {
    batch *b = ctx;
    out_buf *ob = &b->outs[task];
    int lo = (int)((int64_t)b->n * task / b->n_tasks), hi = (int)((int64_t)b->n * (task + 1) / b->n_tasks);
    for (int i = lo; i < hi && !ob->err_line; i++) {
        int rc = b->o->jsonl ? do_doc(b, i, thread, ob) : do_line(b, i, thread, ob);
        if (rc) {
            ob->err_line = b->first_line + i;
            if (!ob->err[0]) snprintf(ob->err, sizeof ob->err, "out of memory");
        }
    }
}

static int batch_add(batch *b, const char *line, size_t len, int eos) {
    if (b->n == b->cap_n) {
        int cap = b->cap_n ? b->cap_n * 2 : 1024;
        size_t *off = realloc(b->off, (size_t)cap * sizeof *off);
        if (off) b->off = off;
        size_t *ln = off ? realloc(b->len, (size_t)cap * sizeof *ln) : NULL;
        if (ln) b->len = ln;
        int *e = ln ? realloc(b->eos, (size_t)cap * sizeof *e) : NULL;
        if (!e) return -1;
        b->eos = e;
        b->cap_n = cap;
    }
    if (b->used + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : (1 << 22);
        while (cap < b->used + len + 1) cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p) return -1;
        b->buf = p;
        b->cap = cap;
    }
    memcpy(b->buf + b->used, line, len);
    b->buf[b->used + len] = 0;
    b->off[b->n] = b->used;
    b->len[b->n] = len;
    b->eos[b->n] = eos;
    b->used += len + 1;
    b->n++;
    return 0;
}

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct progress {
    double start, last;
    uint64_t total, done_files;
    int64_t docs;
} progress;

static void show_progress(progress *pg, const smol_lines *r, int final) {
    double t = now_sec();
    if (!final && t - pg->last < 1.0) return;
    pg->last = t;
    double done = (double)(pg->done_files + (r ? smol_lines_bytes_read(r) : 0));
    double rate = done / (t - pg->start + 1e-9);
    fprintf(stderr, "\r%lld lines, %.1f MB, %.1f MB/s", (long long)pg->docs, done / 1e6, rate / 1e6);
    if (pg->total > 0 && rate > 0 && !final) fprintf(stderr, ", ETA %.0fs   ", ((double)pg->total - done) / rate);
    if (final) fprintf(stderr, " (%.2fs)        \n", t - pg->start);
}

/* Streams every input through the classifier in batches and writes results in order to fp. */
static int run_stream(const stream_opts *o, char **inputs, int n_inputs, FILE *fp, int64_t *kept, int64_t *dropped,
                      smol_error *err) {
    int threads = o->threads > 0 ? o->threads : smol_physical_cores();
    batch b = {0};
    b.o = o;
    b.n_tasks = threads * 4;
    b.scratch = calloc((size_t)threads, sizeof *b.scratch);
    b.pred = calloc((size_t)threads, sizeof *b.pred);
    b.outs = calloc((size_t)b.n_tasks, sizeof *b.outs);
    smol_pool *pool = threads > 1 ? smol_pool_new(threads) : NULL;
    int rc = (!b.scratch || !b.pred || !b.outs || (threads > 1 && !pool)) ? smol_fail(err, SMOL_ENOMEM, "out of memory") : 0;
    for (int t = 0; t < threads && !rc; t++) {
        b.scratch[t] = smol_ft_scratch_new(o->m);
        b.pred[t] = malloc(((size_t)smol_ft_label_count(o->m) + 1) * sizeof(smol_ft_prediction));
        if (!b.scratch[t] || !b.pred[t]) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    progress pg = {now_sec(), now_sec(), 0, 0, 0};
    for (int f = 0; f < n_inputs; f++)
        if (strcmp(inputs[f], "-") != 0) {
            smol_lines *r = NULL;
            if (smol_lines_open(inputs[f], &r, NULL) == 0) pg.total += smol_lines_file_size(r);
            smol_lines_close(r);
        }
    for (int f = 0; f < n_inputs && !rc; f++) {
        smol_lines *r = NULL;
        rc = smol_lines_open(inputs[f], &r, err);
        int more = 1;
        while (!rc && more) {
            b.n = 0;
            b.used = 0;
            b.first_line = smol_lines_lineno(r) + 1;
            const char *line;
            size_t len;
            while (b.n < 8192 && b.used < (16u << 20)) {
                int g = smol_lines_next(r, &line, &len, err);
                if (g < 0) rc = g;
                if (g != 1) {
                    more = 0;
                    break;
                }
                if (batch_add(&b, line, len, smol_lines_had_newline(r))) {
                    rc = smol_fail(err, SMOL_ENOMEM, "%s:%lld: out of memory", inputs[f], (long long)smol_lines_lineno(r));
                    break;
                }
            }
            if (rc || b.n == 0) break;
            for (int t = 0; t < b.n_tasks; t++) b.outs[t].n = 0;
            smol_pool_run(pool, b.n_tasks, batch_task, &b);
            for (int t = 0; t < b.n_tasks && !rc; t++) {
                out_buf *ob = &b.outs[t];
                if (ob->err_line) rc = smol_fail(err, SMOL_EFORMAT, "%s:%lld: %s", inputs[f], (long long)ob->err_line, ob->err);
                else if (ob->n && fwrite(ob->p, 1, ob->n, fp) != ob->n) rc = smol_fail(err, SMOL_EIO, "write failed");
            }
            pg.docs += b.n;
            if (o->progress) show_progress(&pg, r, 0);
        }
        pg.done_files += smol_lines_bytes_read(r);
        smol_lines_close(r);
    }
    if (o->progress && !rc) show_progress(&pg, NULL, 1);
    for (int t = 0; t < b.n_tasks; t++) {
        *kept += b.outs[t].kept;
        *dropped += b.outs[t].dropped;
        free(b.outs[t].p);
    }
    for (int t = 0; t < threads && b.scratch; t++) {
        smol_ft_scratch_free(b.scratch[t]);
        if (b.pred) free(b.pred[t]);
    }
    free(b.scratch);
    free(b.pred);
    free(b.outs);
    free(b.buf);
    free(b.off);
    free(b.len);
    free(b.eos);
    smol_pool_free(pool);
    return rc;
}

/* ---------------------------------------------------------------- fastText-style subcommands */

static int parse_k_thr(const char *cmd, int argc, char **argv, int at, int *k, float *thr) {
    long long kv = 1;
    double tv = 0;
    if (argc > at && !cli_int(cmd, "k", argv[at], -1, 1000000, &kv)) return 2;
    if (argc > at + 1 && !cli_float(cmd, "threshold", argv[at + 1], 0, 1, &tv)) return 2;
    if (argc > at + 2) return cli_usage_error(cmd, "unexpected argument '%s'", argv[at + 2]);
    *k = (int)kv;
    *thr = (float)tv;
    return 0;
}

static int cmd_predict(int argc, char **argv, int prob) {
    if (argc < 3) return cli_usage_error(NAME, "%s needs MODEL and FILE", argv[0]);
    stream_opts o = {0};
    int rc = parse_k_thr(NAME, argc, argv, 3, &o.k, &o.threshold);
    if (rc) return rc;
    smol_error err = {0};
    smol_ft *m = NULL;
    if (smol_ft_load(argv[1], &m, &err)) return cli_fail(NAME, &err);
    o.m = m;
    o.mode = prob ? M_PROB : M_PREDICT;
    const char *th = getenv("SMOL_THREADS");
    o.threads = th ? atoi(th) : 0;
    int64_t kept = 0, dropped = 0;
    rc = run_stream(&o, &argv[2], 1, stdout, &kept, &dropped, &err);
    smol_ft_free(m);
    if (fflush(stdout) != 0 && !rc) rc = smol_fail(&err, SMOL_EIO, "cannot write the output");
    return rc ? cli_fail(NAME, &err) : 0;
}

static int cmd_test(int argc, char **argv) {
    int verbose = 0, n = 0;
    char *pos[4];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--per-label") == 0 || strcmp(argv[i], "-verbose") == 0) verbose = 1;
        else if (argv[i][0] == '-' && argv[i][1] && !(argv[i][1] >= '0' && argv[i][1] <= '9'))
            return cli_usage_error(NAME, "test: unknown option '%s'", argv[i]);
        else if (n < 4) pos[n++] = argv[i];
        else return cli_usage_error(NAME, "test: unexpected argument '%s'", argv[i]);
    }
    if (n < 2) return cli_usage_error(NAME, "test needs MODEL and FILE");
    int k = 1;
    float thr = 0;
    int rc = parse_k_thr(NAME, n, pos, 2, &k, &thr);
    if (rc) return rc;
    smol_error err = {0};
    smol_ft *m = NULL;
    if (smol_ft_load(pos[0], &m, &err)) return cli_fail(NAME, &err);
    smol_ft_metrics mt;
    if (smol_ft_test(m, pos[1], k, thr, &mt, &err)) {
        smol_ft_free(m);
        return cli_fail(NAME, &err);
    }
    if (verbose) {
        for (int32_t i = 0; i < mt.nlabels; i++) {
            if (!mt.label_gold[i] && !mt.label_predicted[i]) continue;
            double p = mt.label_predicted[i] ? (double)mt.label_predicted_gold[i] / (double)mt.label_predicted[i] : NAN;
            double r = mt.label_gold[i] ? (double)mt.label_predicted_gold[i] / (double)mt.label_gold[i] : NAN;
            double f1 = 2 * p * r / (p + r);
            printf("F1-Score : %f  Precision : %f  Recall : %f   %s\n", f1, p, r, smol_ft_label(m, i));
        }
    }
    printf("N\t%lld\n", (long long)mt.n);
    printf("P@%d\t%.3g\n", k, mt.predicted ? (double)mt.predicted_gold / (double)mt.predicted : NAN);
    printf("R@%d\t%.3g\n", k, mt.gold ? (double)mt.predicted_gold / (double)mt.gold : NAN);
    smol_ft_metrics_free(&mt);
    smol_ft_free(m);
    return 0;
}

/* fastText's -flag value options into the training options. */
static int train_flag(smol_ft_train_opts *o, const char *f, const char *v, const char **output) {
    long long iv;
    double dv;
    struct { const char *name; int *dst; long long lo, hi; } ints[] = {
        {"-dim", &o->dim, 1, 65536}, {"-ws", &o->ws, 1, 1000}, {"-epoch", &o->epoch, 1, 1000000},
        {"-minCount", &o->min_count, 0, INT32_MAX}, {"-minCountLabel", &o->min_count_label, 0, INT32_MAX},
        {"-neg", &o->neg, 0, 1000}, {"-wordNgrams", &o->word_ngrams, 1, 64}, {"-bucket", &o->bucket, 0, INT32_MAX},
        {"-minn", &o->minn, 0, 64}, {"-maxn", &o->maxn, 0, 64}, {"-thread", &o->thread, 1, 1024},
        {"-lrUpdateRate", &o->lr_update_rate, 1, INT32_MAX}, {"-seed", &o->seed, 0, INT32_MAX},
        {"-verbose", &o->verbose, 0, 10},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (strcmp(f, ints[i].name) == 0) {
            if (!cli_int(NAME, f, v, ints[i].lo, ints[i].hi, &iv)) return 2;
            *ints[i].dst = (int)iv;
            return 0;
        }
    if (strcmp(f, "-lr") == 0 || strcmp(f, "-t") == 0) {
        if (!cli_float(NAME, f, v, 0, 1e6, &dv)) return 2;
        if (f[1] == 'l') o->lr = dv;
        else o->t = dv;
        return 0;
    }
    if (strcmp(f, "-input") == 0) o->input = v;
    else if (strcmp(f, "-output") == 0) *output = v;
    else if (strcmp(f, "-label") == 0) o->label = v;
    else if (strcmp(f, "-loss") == 0) {
        if (strcmp(v, "softmax") && strcmp(v, "hs") && strcmp(v, "ova") && strcmp(v, "ns"))
            return cli_usage_error(NAME, "-loss expects softmax, ova, hs or ns, got '%s'", v);
        o->loss = v;
    } else return cli_usage_error(NAME, "supervised: unknown option '%s'", f);
    return 0;
}

static int cmd_supervised(int argc, char **argv) {
    smol_ft_train_opts o;
    smol_ft_train_defaults(&o);
    o.verbose = 2;
    o.thread = smol_physical_cores();
    const char *output = NULL;
    for (int i = 1; i < argc; i += 2) {   /* -flag value pairs */
        if (argv[i][0] != '-' || i + 1 >= argc) return cli_usage_error(NAME, "supervised: '%s' needs a value", argv[i]);
        int rc = train_flag(&o, argv[i], argv[i + 1], &output);
        if (rc) return rc;
    }
    if (!o.input || !output) return cli_usage_error(NAME, "supervised needs -input FILE and -output PREFIX");
    smol_error err = {0};
    smol_ft *m = NULL;
    if (smol_ft_train(&o, &m, &err)) return cli_fail(NAME, &err);
    char path[4096];
    snprintf(path, sizeof path, "%s.bin", output);
    int rc = smol_ft_save(m, path, &err);
    smol_ft_free(m);
    if (rc) return cli_fail(NAME, &err);
    if (o.verbose > 0) fprintf(stderr, "wrote %s\n", path);
    return 0;
}

static int cmd_quantize(int argc, char **argv) {
    const char *output = NULL, *input = NULL;
    smol_ft_quant_opts q = {.dsub = 2};
    for (int i = 1; i < argc; i++) {
        long long v;
        if (strcmp(argv[i], "-qnorm") == 0) q.qnorm = true;
        else if (strcmp(argv[i], "-qout") == 0) q.qout = true;
        else if (strcmp(argv[i], "-retrain") == 0)
            return cli_usage_error(NAME, "quantize: -retrain is not supported");
        else if (i + 1 >= argc) return cli_usage_error(NAME, "quantize: '%s' needs a value", argv[i]);
        else if (strcmp(argv[i], "-output") == 0) output = argv[++i];
        else if (strcmp(argv[i], "-input") == 0) input = argv[++i];
        else if (strcmp(argv[i], "-cutoff") == 0) {
            if (!cli_int(NAME, "-cutoff", argv[++i], 0, INT32_MAX, &v)) return 2;
            q.cutoff = v;
        } else if (strcmp(argv[i], "-dsub") == 0) {
            if (!cli_int(NAME, "-dsub", argv[++i], 1, 65536, &v)) return 2;
            q.dsub = (int)v;
        } else if (strcmp(argv[i], "-thread") == 0 || strcmp(argv[i], "-verbose") == 0) i++;
        else return cli_usage_error(NAME, "quantize: unknown option '%s'", argv[i]);
    }
    (void)input;   /* fastText needs -input only for -retrain */
    if (!output) return cli_usage_error(NAME, "quantize needs -output PREFIX (reads PREFIX.bin, writes PREFIX.ftz)");
    char bin[4096], ftz[4096];
    snprintf(bin, sizeof bin, "%s.bin", output);
    snprintf(ftz, sizeof ftz, "%s.ftz", output);
    smol_error err = {0};
    smol_ft *m = NULL;
    if (smol_ft_load(bin, &m, &err)) return cli_fail(NAME, &err);
    int rc = smol_ft_quantize(m, &q, &err);
    if (!rc) rc = smol_ft_save(m, ftz, &err);
    smol_ft_free(m);
    return rc ? cli_fail(NAME, &err) : 0;
}

/* ---------------------------------------------------------------- score and langid */

static int parse_keep(const char *s, keep_expr *k) {
    const char *p = s;
    if (strncmp(p, "score", 5) != 0) return 0;
    p += 5;
    size_t n = strspn(p, "<>=");
    if (n < 1 || n > 2) return 0;
    memcpy(k->op, p, n);
    k->op[n] = 0;
    if (strcmp(k->op, ">=") && strcmp(k->op, ">") && strcmp(k->op, "<=") && strcmp(k->op, "<") && strcmp(k->op, "=="))
        return 0;
    char *end;
    k->value = strtod(p + n, &end);
    if (end == p + n || *end) return 0;
    k->on = 1;
    return 1;
}

static void model_name(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, cap, "%s", b);
    char *dot = strrchr(out, '.');
    if (dot && dot != out) *dot = 0;
}

/* score (and langid, which calls it with --langid): JSONL or text lines in, results out. */
static int cmd_score(int argc, char **argv) {
    stream_opts o = {0};
    o.field = "text";
    o.k = 1;
    o.progress = 1;
    o.label = -1;
    const char *model = NULL, *out = NULL, *label = NULL, *name = NULL, *v = NULL;
    char *inputs[256];
    int n_in = 0, bad = 0, langid = 0, jsonl_forced = 0;
    for (int i = 1; i < argc; i++) {
        long long iv;
        double dv;
        if (cli_opt(argc, argv, &i, "-m", &model, &bad) || cli_opt(argc, argv, &i, "-o", &out, &bad) ||
            cli_opt(argc, argv, &i, "--label", &label, &bad) || cli_opt(argc, argv, &i, "--name", &name, &bad)) {
            if (bad) return 2;
        } else if (cli_opt(argc, argv, &i, "--field", &o.field, &bad)) {
            if (bad) return 2;
            jsonl_forced = 1;
        } else if (cli_opt(argc, argv, &i, "--keep", &v, &bad)) {
            if (bad) return 2;
            if (!parse_keep(v, &o.keep)) return cli_usage_error(argv[0], "--keep expects score>=X, score>X, score<=X, score<X or score==X, got '%s'", v);
        } else if (cli_opt(argc, argv, &i, "--k", &v, &bad)) {
            if (bad || !cli_int(argv[0], "--k", v, 1, 1000, &iv)) return 2;
            o.k = (int)iv;
        } else if (cli_opt(argc, argv, &i, "--threads", &v, &bad)) {
            if (bad || !cli_int(argv[0], "--threads", v, 1, 1024, &iv)) return 2;
            o.threads = (int)iv;
        } else if (cli_opt(argc, argv, &i, "--min-score", &v, &bad)) {
            if (bad || !cli_float(argv[0], "--min-score", v, 0, 1, &dv)) return 2;
            o.min_score = dv;
        } else if (strcmp(argv[i], "--regression") == 0) o.regression = 1;
        else if (strcmp(argv[i], "--langid") == 0) langid = 1;
        else if (strcmp(argv[i], "--jsonl") == 0) jsonl_forced = 1;
        else if (strcmp(argv[i], "--quiet") == 0) o.progress = 0;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(argv[0], "unknown option '%s'", argv[i]);
        else if (n_in < 256) inputs[n_in++] = argv[i];
        else return cli_usage_error(argv[0], "too many inputs (at most 256)");
    }
    const char *cmd = langid ? "langid" : NAME;
    if (!model) return cli_usage_error(cmd, "needs a model: -m MODEL");
    if (n_in == 0) return cli_usage_error(cmd, "needs at least one input file ('-' for stdin)");
    if (!langid && !out) return cli_usage_error(cmd, "score needs -o OUT");
    smol_error err = {0};
    smol_ft *m = NULL;
    if (smol_ft_load(model, &m, &err)) return cli_fail(cmd, &err);
    o.m = m;
    o.mode = langid ? M_LANGID : M_SCORE;
    o.jsonl = !langid || jsonl_forced;
    for (int i = 0; i < n_in && !o.jsonl; i++) o.jsonl = strstr(inputs[i], ".json") != NULL;
    if (!langid) {
        char base[200];
        model_name(name ? name : model, base, sizeof base);
        snprintf(o.key, sizeof o.key, "%s_score", base);
        snprintf(o.key_int, sizeof o.key_int, "%s_int_score", base);
        if (o.regression) {
            for (int32_t i = 0; i < smol_ft_label_count(m); i++) {
                const char *l = short_label(smol_ft_label(m, i));
                char *end;
                strtol(l, &end, 10);
                if (end == l || *end) {
                    smol_ft_free(m);
                    return cli_usage_error(cmd, "--regression needs integer labels (__label__0 ...), the model has '%s'", smol_ft_label(m, i));
                }
            }
        } else {
            o.label = label ? smol_ft_label_index(m, label) : 0;
            if (o.label < 0) {
                smol_ft_free(m);
                return cli_usage_error(cmd, "the model has no label '%s'", label);
            }
        }
    }
    smol_atomic_file af = {0};
    FILE *fp = stdout;
    if (out && strcmp(out, "-") != 0) {
        if (smol_atomic_open(&af, out, &err)) {
            smol_ft_free(m);
            return cli_fail(cmd, &err);
        }
        fp = af.fp;
    }
    int64_t kept = 0, dropped = 0;
    int rc = run_stream(&o, inputs, n_in, fp, &kept, &dropped, &err);
    if (fp != stdout) {
        if (!rc) rc = smol_atomic_commit(&af, &err);
        if (rc) smol_atomic_abort(&af);
    } else if (fflush(stdout) != 0 && !rc) rc = smol_fail(&err, SMOL_EIO, "cannot write the output");
    smol_ft_free(m);
    if (rc) return cli_fail(cmd, &err);
    if (o.progress && (o.jsonl || o.min_score > 0))
        fprintf(stderr, "kept %lld, dropped %lld%s%s\n", (long long)kept, (long long)dropped, out ? ", wrote " : "",
                out ? out : "");
    return 0;
}

/* ---------------------------------------------------------------- ensemble */

typedef struct wscore {
    double s;
    double w;
} wscore;

static int by_s(const void *a, const void *b) {
    const wscore *x = a, *y = b;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* The 5th..95th byte-weighted percentiles of n (score, bytes) pairs: edge p is the smallest
 * score whose cumulative weight reaches p% of the total. */
static void weighted_edges(wscore *v, size_t n, double edges[19]) {
    qsort(v, n, sizeof *v, by_s);
    double total = 0, cum = 0;
    for (size_t i = 0; i < n; i++) total += v[i].w;
    size_t i = 0;
    for (int e = 0; e < 19; e++) {
        double target = total * (e + 1) * 0.05;
        while (i < n && cum + v[i].w < target) cum += v[i++].w;
        edges[e] = i < n ? v[i].s : (n ? v[n - 1].s : 0);
    }
}

static int digitize(double x, const double edges[19]) {
    int b = 0;
    while (b < 19 && x >= edges[b]) b++;
    return b;
}

static int cmd_ensemble(int argc, char **argv) {
    const char *fields_s = NULL, *out = NULL, *v = NULL, *text_field = "text";
    long long sample = 100000;
    char *inputs[256];
    int n_in = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--fields", &fields_s, &bad) || cli_opt(argc, argv, &i, "-o", &out, &bad) ||
            cli_opt(argc, argv, &i, "--field", &text_field, &bad)) {
            if (bad) return 2;
        } else if (cli_opt(argc, argv, &i, "--sample", &v, &bad)) {
            if (bad || !cli_int(NAME, "--sample", v, 1, INT64_MAX / 2, &sample)) return 2;
        } else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(NAME, "ensemble: unknown option '%s'", argv[i]);
        else if (n_in < 256) inputs[n_in++] = argv[i];
    }
    if (!fields_s || !out || n_in == 0) return cli_usage_error(NAME, "ensemble needs --fields A,B,... -o OUT and inputs");
    char fbuf[4096];
    snprintf(fbuf, sizeof fbuf, "%s", fields_s);
    const char *fields[16];
    int nf = 0;
    for (char *t = strtok(fbuf, ","); t && nf < 16; t = strtok(NULL, ",")) fields[nf++] = t;
    smol_error err = {0};
    wscore *vals[16] = {0};
    size_t nv = 0, cap = 0;
    int rc = 0;
    /* pass 1: the sample */
    for (int f = 0; f < n_in && !rc && (long long)nv < sample; f++) {
        smol_lines *r = NULL;
        rc = smol_lines_open(inputs[f], &r, &err);
        cJSON *doc;
        int g;
        while (!rc && (long long)nv < sample && (g = smol_jsonl_next(r, &doc, &err)) != 0) {
            if (g < 0) {
                rc = g;
                break;
            }
            if (nv == cap) {
                cap = cap ? cap * 2 : 4096;
                for (int j = 0; j < nf; j++) vals[j] = realloc(vals[j], cap * sizeof(wscore));
            }
            cJSON *t = cli_json_path(doc, text_field);
            double w = cJSON_IsString(t) ? (double)strlen(t->valuestring) : 0;
            for (int j = 0; j < nf && !rc; j++) {
                cJSON *s = cli_json_path(doc, fields[j]);
                if (!cJSON_IsNumber(s))
                    rc = smol_fail(&err, SMOL_EFORMAT, "%s:%lld: no number field '%s'", inputs[f],
                                   (long long)smol_lines_lineno(r), fields[j]);
                else vals[j][nv] = (wscore){s->valuedouble, w};
            }
            nv++;
            cJSON_Delete(doc);
        }
        smol_lines_close(r);
    }
    double edges[16][19];
    for (int j = 0; j < nf && !rc; j++) {
        weighted_edges(vals[j], nv, edges[j]);
        fprintf(stderr, "%s: edges", fields[j]);
        for (int e = 0; e < 19; e++) fprintf(stderr, " %g", edges[j][e]);
        fprintf(stderr, "\n");
    }
    for (int j = 0; j < nf; j++) free(vals[j]);
    /* pass 2: bins and levels */
    smol_atomic_file af;
    if (!rc) rc = smol_atomic_open(&af, out, &err);
    else return cli_fail(NAME, &err);
    int64_t levels[5] = {0};
    for (int f = 0; f < n_in && !rc; f++) {
        smol_lines *r = NULL;
        rc = smol_lines_open(inputs[f], &r, &err);
        cJSON *doc;
        int g;
        while (!rc && (g = smol_jsonl_next(r, &doc, &err)) != 0) {
            if (g < 0) {
                rc = g;
                break;
            }
            int best = 0;
            for (int j = 0; j < nf && !rc; j++) {
                cJSON *s = cli_json_path(doc, fields[j]);
                if (!cJSON_IsNumber(s))
                    rc = smol_fail(&err, SMOL_EFORMAT, "%s:%lld: no number field '%s'", inputs[f],
                                   (long long)smol_lines_lineno(r), fields[j]);
                else {
                    int b = digitize(s->valuedouble, edges[j]);
                    if (b > best) best = b;
                }
            }
            cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
            if (!cJSON_IsObject(meta)) {
                cJSON_DeleteItemFromObjectCaseSensitive(doc, "metadata");
                meta = cJSON_AddObjectToObject(doc, "metadata");
            }
            int level = best / 4;
            levels[level]++;
            set_number(meta, "ensemble_bin", best);
            set_number(meta, "quality_level", level);
            char *s = cJSON_PrintUnformatted(doc);
            if (s) fprintf(af.fp, "%s\n", s);
            free(s);
            cJSON_Delete(doc);
        }
        smol_lines_close(r);
    }
    if (!rc) rc = smol_atomic_commit(&af, &err);
    if (rc) {
        smol_atomic_abort(&af);
        return cli_fail(NAME, &err);
    }
    fprintf(stderr, "quality levels 0..4: %lld %lld %lld %lld %lld\n", (long long)levels[0], (long long)levels[1],
            (long long)levels[2], (long long)levels[3], (long long)levels[4]);
    return 0;
}

static int run(int argc, char **argv) {
    if (argc < 2) return cli_usage_error(NAME, "missing a subcommand (supervised, test, predict, predict-prob, quantize, score, ensemble)");
    const char *sub = argv[1];
    if (strcmp(sub, "predict") == 0) return cmd_predict(argc - 1, argv + 1, 0);
    if (strcmp(sub, "predict-prob") == 0) return cmd_predict(argc - 1, argv + 1, 1);
    if (strcmp(sub, "test") == 0) return cmd_test(argc - 1, argv + 1);
    if (strcmp(sub, "supervised") == 0) return cmd_supervised(argc - 1, argv + 1);
    if (strcmp(sub, "quantize") == 0) return cmd_quantize(argc - 1, argv + 1);
    if (strcmp(sub, "score") == 0) return cmd_score(argc - 1, argv + 1);
    if (strcmp(sub, "ensemble") == 0) return cmd_ensemble(argc - 1, argv + 1);
    return cli_usage_error(NAME, "unknown subcommand '%s'", sub);
}

const smol_cmd cmd_classify = {
    "classify", "fastText-compatible classifiers: train, test, predict, quantize, score JSONL",
    "usage: smol classify SUBCOMMAND ...\n"
    "\n"
    "fastText-compatible text classifiers (.bin and quantized .ftz files; fastText loads ours).\n"
    "\n"
    "  supervised -input FILE -output PREFIX [-dim 100] [-lr 0.1] [-epoch 5] [-wordNgrams 1]\n"
    "             [-bucket 2000000] [-minCount 1] [-minCountLabel 0] [-minn 0] [-maxn 0]\n"
    "             [-loss softmax|ova|hs|ns] [-neg 5] [-thread N] [-label __label__] [-seed 0]\n"
    "             [-lrUpdateRate 100] [-t 1e-4] [-verbose 2]          writes PREFIX.bin\n"
    "  test MODEL FILE [k] [threshold] [--per-label]     N, P@k, R@k (and per-label F1)\n"
    "  predict MODEL FILE [k] [threshold]                 labels per line ('-' = stdin)\n"
    "  predict-prob MODEL FILE [k] [threshold]            labels and probabilities\n"
    "  quantize -output PREFIX [-qnorm] [-qout] [-cutoff N] [-dsub 2]   PREFIX.bin -> PREFIX.ftz\n"
    "  score -m MODEL [--field text] [--label L | --regression] [--name NAME] [--keep EXPR]\n"
    "        [--threads N] [--quiet] IN... -o OUT\n"
    "        adds metadata.NAME_score (NAME: the model's file name) to each JSONL document\n"
    "        (plain, .gz or .zst); --regression scores sum(p_i * i) over labels __label__0..N\n"
    "        and adds NAME_int_score = round(clamp(score, 0, 5)); --keep 'score>=X' writes only\n"
    "        the documents that pass. Output order = input order; written atomically.\n"
    "  ensemble --fields A,B,... [--sample 100000] [--field text] IN... -o OUT\n"
    "        per score field, byte-weighted 5th..95th percentile edges on a sample; bin 0..19\n"
    "        (np.digitize); metadata.ensemble_bin = max bin; metadata.quality_level = bin / 4\n"
    "\n"
    "examples:\n"
    "  smol classify supervised -input cooking.train.txt -output cooking -epoch 25 -wordNgrams 2\n"
    "  smol classify predict-prob cooking.bin questions.txt 3\n"
    "  smol classify test cooking.bin cooking.valid.txt 5\n"
    "  smol classify score -m dclm.bin --label __label__hq --keep 'score>=0.018112' docs.jsonl.zst -o kept.jsonl\n",
    run,
};
