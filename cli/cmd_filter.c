/* cmd_filter.c: `smol filter`: streams documents through a chain of datatrove-compatible
 * filters (src/data/filters.h) on a thread pool, in input order, writing kept documents,
 * optionally the dropped ones with their reason, and datatrove-like stats. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/pool.h"
#include "data/doc.h"
#include "data/filters.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_FILTERS 16
#define MAX_THREADS 256
#define BATCH_DOCS 512
#define BATCH_BYTES (8u << 20)

typedef struct step {
    char name[64];
    char *options;        /* recipe options then --option values, comma-joined */
    long in, kept;
    long n_reasons;
    const char *reasons[64];
    long reason_counts[64];
} step;

typedef struct result {
    int dropped_at;       /* index of the filter that dropped it, -1 kept, -2 error */
    const char *reason;
    char *line;           /* the serialized record for the output or exclusion file */
    size_t len;
} result;

typedef struct job {
    smol_filter *chains[MAX_THREADS][MAX_FILTERS];
    int n_filters;
    smol_doc *docs;
    result *res;
    int want_exclusions;
} job;

static double now_sec(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Adds the drop reason (the part after "filter:") to the document's metadata. */
static void mark_dropped(smol_doc *d, const char *filter, const char *reason) {
    cJSON *m = smol_doc_metadata(d);
    if (!m) return;
    const char *colon = strchr(reason, ':');
    cJSON_DeleteItemFromObjectCaseSensitive(m, "filter");
    cJSON_DeleteItemFromObjectCaseSensitive(m, "filter_reason");
    cJSON_AddStringToObject(m, "filter", filter);
    cJSON_AddStringToObject(m, "filter_reason", colon ? colon + 1 : reason);
}

static void run_doc(void *ctx, int task, int thread) {
    job *j = ctx;
    smol_doc *d = &j->docs[task];
    result *r = &j->res[task];
    r->dropped_at = -1;
    r->reason = NULL;
    r->line = NULL;
    for (int k = 0; k < j->n_filters; k++) {
        const char *reason = NULL;
        int rc = smol_filter_apply(j->chains[thread][k], d, &reason);
        if (rc < 0) {
            r->dropped_at = -2;
            r->reason = reason ? reason : "filter error";
            return;
        }
        if (rc == 0) {
            r->dropped_at = k;
            r->reason = reason ? reason : "dropped";
            if (!j->want_exclusions) return;
            mark_dropped(d, smol_filter_name(j->chains[thread][k]), r->reason);
            break;
        }
    }
    r->line = smol_doc_to_json(d, &r->len);
}

static void count_reason(step *s, const char *reason) {
    for (long i = 0; i < s->n_reasons; i++)
        if (s->reasons[i] == reason || !strcmp(s->reasons[i], reason)) {
            s->reason_counts[i]++;
            return;
        }
    if (s->n_reasons < 64) {
        s->reasons[s->n_reasons] = reason;
        s->reason_counts[s->n_reasons++] = 1;
    }
}

typedef struct totals {
    long docs, kept, dropped, skipped;
    uint64_t text_bytes, in_bytes, done_bytes, total_bytes;
    double t0, cpu0, last_report;
} totals;

static void progress(const totals *t, uint64_t cur_bytes, int final) {
    double el = now_sec(CLOCK_MONOTONIC) - t->t0;
    double mb = (double)(t->done_bytes + cur_bytes) / 1e6;
    double rate = el > 0 ? mb / el : 0;
    fprintf(stderr, "\rfilter: %ld docs, %ld kept, %.1f MB, %.1f MB/s", t->docs, t->kept, mb, rate);
    if (!final && t->total_bytes && rate > 0) {
        double left = ((double)t->total_bytes / 1e6 - mb) / rate;
        fprintf(stderr, ", ETA %.0f s", left > 0 ? left : 0);
    }
    fprintf(stderr, final ? "\n" : "   ");
}

/* Writes results of one batch in order; updates counts. */
static int write_batch(job *j, int n, step *steps, totals *t, smol_doc_writer *out, smol_doc_writer *excl,
                       smol_error *err) {
    int rc = SMOL_OK;
    for (int i = 0; i < n; i++) {
        result *r = &j->res[i];
        smol_doc *d = &j->docs[i];
        if (!rc && r->dropped_at == -2)
            rc = smol_fail(err, SMOL_EFORMAT, "%s:%ld: document %s: %s", d->path ? d->path : "?", d->line,
                           d->id ? d->id : "?", r->reason);
        if (!rc) {
            int last = r->dropped_at >= 0 ? r->dropped_at : j->n_filters - 1;
            for (int k = 0; k <= last; k++) steps[k].in++;
            for (int k = 0; k < last; k++) steps[k].kept++;
            if (r->dropped_at < 0) {
                if (j->n_filters) steps[last].kept++;
                t->kept++;
                rc = r->line ? smol_doc_write_line(out, r->line, r->len, err)
                             : smol_fail(err, SMOL_ENOMEM, "out of memory serialising %s", d->id);
            } else {
                count_reason(&steps[r->dropped_at], r->reason);
                t->dropped++;
                if (excl && r->line) rc = smol_doc_write_line(excl, r->line, r->len, err);
            }
        }
        free(r->line);
        smol_doc_free(d);
    }
    return rc;
}

static int write_stats(const char *path, const step *steps, int n_filters, job *j, int n_threads, const totals *t,
                       smol_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "docs_in", (double)t->docs);
    cJSON_AddNumberToObject(root, "text_bytes_in", (double)t->text_bytes);
    cJSON_AddNumberToObject(root, "file_bytes_in", (double)t->done_bytes);
    cJSON_AddNumberToObject(root, "kept", (double)t->kept);
    cJSON_AddNumberToObject(root, "dropped", (double)t->dropped);
    cJSON_AddNumberToObject(root, "skipped_bad_records", (double)t->skipped);
    cJSON_AddNumberToObject(root, "wall_seconds", now_sec(CLOCK_MONOTONIC) - t->t0);
    cJSON_AddNumberToObject(root, "cpu_seconds", now_sec(CLOCK_PROCESS_CPUTIME_ID) - t->cpu0);
    cJSON *arr = cJSON_AddArrayToObject(root, "filters");
    for (int k = 0; k < n_filters; k++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "name", steps[k].name);
        cJSON_AddNumberToObject(s, "total", (double)steps[k].in);
        cJSON_AddNumberToObject(s, "forwarded", (double)steps[k].kept);
        cJSON_AddNumberToObject(s, "dropped", (double)(steps[k].in - steps[k].kept));
        cJSON *rs = cJSON_AddObjectToObject(s, "dropped_reasons");
        for (long i = 0; i < steps[k].n_reasons; i++) {
            const char *colon = strchr(steps[k].reasons[i], ':');
            cJSON_AddNumberToObject(rs, colon ? colon + 1 : steps[k].reasons[i], (double)steps[k].reason_counts[i]);
        }
        /* line-level counters summed by name over the threads' instances */
        const char *names[32], *all[32];
        long vals[32], sum[32] = {0};
        int nc = 0;
        for (int th = 0; th < n_threads; th++) {
            int c = smol_filter_counters(j->chains[th][k], names, vals, 32);
            for (int i = 0; i < c && i < 32; i++) {
                int at = 0;
                while (at < nc && strcmp(all[at], names[i])) at++;
                if (at == nc && nc < 32) all[nc++] = names[i];
                if (at < nc) sum[at] += vals[i];
            }
        }
        if (nc) {
            cJSON *cs = cJSON_AddObjectToObject(s, "counters");
            for (int i = 0; i < nc; i++) cJSON_AddNumberToObject(cs, all[i], (double)sum[i]);
        }
        cJSON_AddItemToArray(arr, s);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    smol_atomic_file af;
    int rc = text ? smol_atomic_open(&af, path, err) : smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    if (!rc) {
        fputs(text, af.fp);
        fputc('\n', af.fp);
        rc = smol_atomic_commit(&af, err);
    }
    free(text);
    return rc;
}

typedef struct args {
    const char *filters, *recipe, *out, *excl, *stats, *text_field, *id_field;
    const char *inputs[1024];
    int n_inputs;
    const char *options[256];   /* "name.key=value" */
    int n_options;
    int on_error, threads, quiet;
} args;

static int parse_args(int argc, char **argv, args *a) {
    memset(a, 0, sizeof *a);
    a->threads = smol_physical_cores();
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *v = NULL;
        if (cli_opt(argc, argv, &i, "--filters", &a->filters, &bad) || cli_opt(argc, argv, &i, "--recipe", &a->recipe, &bad) ||
            cli_opt(argc, argv, &i, "-o", &a->out, &bad) || cli_opt(argc, argv, &i, "--exclusions", &a->excl, &bad) ||
            cli_opt(argc, argv, &i, "--stats", &a->stats, &bad) ||
            cli_opt(argc, argv, &i, "--text-field", &a->text_field, &bad) ||
            cli_opt(argc, argv, &i, "--id-field", &a->id_field, &bad))
            continue;
        if (cli_opt(argc, argv, &i, "--option", &v, &bad)) {
            if (bad) break;
            const char *dot = strchr(v, '.'), *eq = strchr(v, '=');
            if (!dot || !eq || dot > eq || dot == v || a->n_options == 256)
                return cli_usage_error("filter", "--option expects FILTER.KEY=VALUE, got '%s'", v);
            a->options[a->n_options++] = v;
            continue;
        }
        if (cli_opt(argc, argv, &i, "--on-error", &v, &bad)) {
            if (bad) break;
            if (!strcmp(v, "skip")) a->on_error = SMOL_ON_ERROR_SKIP;
            else if (!strcmp(v, "stop")) a->on_error = SMOL_ON_ERROR_STOP;
            else return cli_usage_error("filter", "--on-error expects skip or stop, got '%s'", v);
            continue;
        }
        if (cli_opt(argc, argv, &i, "-t", &v, &bad) || cli_opt(argc, argv, &i, "--threads", &v, &bad)) {
            long long t;
            if (bad || !cli_int("filter", "-t", v, 1, MAX_THREADS, &t)) return 2;
            a->threads = (int)t;
            continue;
        }
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) { a->quiet = 1; continue; }
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error("filter", "unknown option '%s'", argv[i]);
        if (a->n_inputs == 1024) return cli_usage_error("filter", "at most 1024 inputs");
        a->inputs[a->n_inputs++] = argv[i];
    }
    if (bad) return 2;
    if (!a->n_inputs) return cli_usage_error("filter", "no input files");
    if (!a->out) return cli_usage_error("filter", "no output: give -o OUT.jsonl[.gz|.zst] (or -o - for stdout)");
    if (!a->filters == !a->recipe) return cli_usage_error("filter", "give exactly one of --filters LIST and --recipe NAME");
    if (a->recipe && !smol_filter_recipe(a->recipe))
        return cli_usage_error("filter", "unknown recipe '%s' (known: fineweb)", a->recipe);
    return 0;
}

/* Fills steps[] from --filters or --recipe, then appends each --option to its filter. */
static int build_steps(const args *a, step *steps, int *n_steps) {
    int n = 0;
    if (a->recipe) {
        for (const smol_filter_step *r = smol_filter_recipe(a->recipe); r->name; r++, n++) {
            snprintf(steps[n].name, sizeof steps[n].name, "%s", r->name);
            steps[n].options = strdup(r->options);
        }
    } else {
        const char *p = a->filters;
        while (*p) {
            size_t len = strcspn(p, ",");
            if (!len || len >= sizeof steps[0].name || n == MAX_FILTERS)
                return cli_usage_error("filter", "--filters expects a comma-separated list of up to %d names", MAX_FILTERS);
            memcpy(steps[n].name, p, len);
            steps[n].name[len] = 0;
            steps[n++].options = strdup("");
            p += len;
            if (*p) p++;
        }
    }
    for (int o = 0; o < a->n_options; o++) {
        const char *v = a->options[o], *dot = strchr(v, '.');
        int found = 0;
        for (int k = 0; k < n; k++) {
            if (strlen(steps[k].name) != (size_t)(dot - v) || strncmp(steps[k].name, v, (size_t)(dot - v))) continue;
            size_t len = strlen(steps[k].options) + strlen(dot + 1) + 2;
            char *joined = malloc(len);
            if (!joined) return 1;
            snprintf(joined, len, "%s%s%s", steps[k].options, *steps[k].options ? "," : "", dot + 1);
            free(steps[k].options);
            steps[k].options = joined;
            found = 1;
        }
        if (!found) return cli_usage_error("filter", "--option %s: no filter '%.*s' in the chain", v, (int)(dot - v), v);
    }
    *n_steps = n;
    return 0;
}

/* Streams every input through the chains; fills t. */
static int filter_all(const args *a, job *j, smol_pool *pool, step *steps, totals *t, smol_doc_writer *out,
                      smol_doc_writer *excl, smol_error *err) {
    smol_doc_opts opts = {a->text_field, a->id_field, a->on_error, a->quiet};
    int rc = SMOL_OK;
    for (int f = 0; f < a->n_inputs && !rc; f++) {
        smol_doc_reader *r;
        rc = smol_doc_reader_open(a->inputs[f], &opts, &r, err);
        if (rc) break;
        for (;;) {
            int n = 0;
            size_t bytes = 0;
            while (n < BATCH_DOCS && bytes < BATCH_BYTES) {
                int got = smol_doc_read(r, &j->docs[n], err);
                if (got < 0) rc = got;
                if (got <= 0) break;
                bytes += j->docs[n].text_len;
                n++;
            }
            if (n) {
                smol_pool_run(pool, n, run_doc, j);
                t->docs += n;
                t->text_bytes += bytes;
                int wrc = write_batch(j, n, steps, t, out, excl, err);
                if (!rc) rc = wrc;
            }
            double now = now_sec(CLOCK_MONOTONIC);
            if (!a->quiet && now - t->last_report > 1.0) {
                progress(t, smol_doc_reader_bytes_read(r), 0);
                t->last_report = now;
            }
            if (rc || (n < BATCH_DOCS && bytes < BATCH_BYTES)) break;
        }
        t->done_bytes += smol_doc_reader_bytes_read(r);
        t->skipped += smol_doc_reader_skipped(r);
        smol_doc_reader_close(r);
    }
    return rc;
}

static int run(int argc, char **argv) {
    args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    step *steps = calloc(MAX_FILTERS, sizeof *steps);
    job *j = calloc(1, sizeof *j);
    if (!steps || !j) return 1;
    int n_steps = 0;
    rc = build_steps(&a, steps, &n_steps);
    smol_error err = {0};
    smol_pool *pool = NULL;
    smol_doc_writer *out = NULL, *excl = NULL;
    totals t = {0};
    if (rc) goto done;
    j->n_filters = n_steps;
    j->want_exclusions = a.excl != NULL;
    j->docs = calloc(BATCH_DOCS, sizeof *j->docs);
    j->res = calloc(BATCH_DOCS, sizeof *j->res);
    if (!j->docs || !j->res) { rc = 1; goto done; }
    for (int th = 0; th < a.threads && !rc; th++)
        for (int k = 0; k < n_steps && !rc; k++)
            if (smol_filter_new(steps[k].name, steps[k].options, &j->chains[th][k], &err))
                rc = err.code == SMOL_EINVAL && th == 0 ? cli_usage_error("filter", "%s", err.msg) : cli_fail("filter", &err);
    if (rc) goto done;
    pool = a.threads > 1 ? smol_pool_new(a.threads) : NULL;
    if (a.threads > 1 && !pool) { rc = 1; goto done; }
    for (int f = 0; f < a.n_inputs; f++) {
        struct stat st;
        if (stat(a.inputs[f], &st) == 0 && S_ISREG(st.st_mode)) t.total_bytes += (uint64_t)st.st_size;
    }
    if (smol_doc_writer_open(a.out, &out, &err) || (a.excl && smol_doc_writer_open(a.excl, &excl, &err))) {
        rc = cli_fail("filter", &err);
        goto done;
    }
    t.t0 = t.last_report = now_sec(CLOCK_MONOTONIC);
    t.cpu0 = now_sec(CLOCK_PROCESS_CPUTIME_ID);
    if (filter_all(&a, j, pool, steps, &t, out, excl, &err)) {
        if (!a.quiet) fputc('\n', stderr);
        rc = cli_fail("filter", &err);
        goto done;
    }
    if (!a.quiet) progress(&t, 0, 1);
    int crc = smol_doc_writer_close(out, &err);
    out = NULL;
    if (!crc && excl) {
        crc = smol_doc_writer_close(excl, &err);
        excl = NULL;
    }
    if (!crc && a.stats) crc = write_stats(a.stats, steps, n_steps, j, a.threads, &t, &err);
    if (crc) rc = cli_fail("filter", &err);
    if (!a.quiet && !rc) {
        fprintf(stderr, "filter: kept %ld of %ld documents (%.1f%%), %ld dropped", t.kept, t.docs,
                t.docs ? 100.0 * (double)t.kept / (double)t.docs : 0.0, t.dropped);
        if (t.skipped) fprintf(stderr, ", %ld bad records skipped", t.skipped);
        fputc('\n', stderr);
    }
done:
    smol_doc_writer_abort(out);
    smol_doc_writer_abort(excl);
    smol_pool_free(pool);
    for (int th = 0; th < MAX_THREADS; th++)
        for (int k = 0; k < n_steps; k++) smol_filter_free(j->chains[th][k]);
    for (int k = 0; k < MAX_FILTERS; k++) free(steps[k].options);
    free(j->docs);
    free(j->res);
    free(j);
    free(steps);
    return rc;
}

const smol_cmd cmd_filter = {
    "filter", "filter documents with FineWeb/Gopher/C4 heuristics, language ID, URL lists and PII masking",
    "usage: smol filter (--filters F1,F2,... | --recipe fineweb) [--option F.KEY=VALUE]...\n"
    "                   IN... -o OUT.jsonl[.gz|.zst] [--exclusions DROPPED.jsonl[.gz|.zst]]\n"
    "                   [--stats stats.json] [--on-error skip|stop] [-t N] [--text-field text]\n"
    "                   [--id-field id] [-q]\n"
    "\n"
    "Each document of IN (.jsonl/.json, plain/.gz/.zst, .txt = one document, .parquet; '-' is\n"
    "stdin) goes through the filters in order; the first that drops it ends its way. Kept\n"
    "documents are written in input order to OUT (atomically; '-' is stdout); with --exclusions\n"
    "dropped ones go there with metadata.filter and metadata.filter_reason.\n"
    "\n"
    "filters (datatrove's defaults; options in docs/filters.md):\n"
    "  language           fastText lid.176: keep en scoring > 0.65 (model=PATH, languages=en+fr,\n"
    "                     threshold=0.65); default model $SMOL_LID_MODEL, then ./lid.176.ftz\n"
    "  gopher_repetition  duplicated lines/paragraphs/n-grams (Gopher table A1)\n"
    "  gopher_quality     word count, mean word length, symbols, bullets, ellipses, stop words\n"
    "  c4_quality         C4 line removal; drops lorem ipsum, '{', fewer than 5 sentences\n"
    "  fineweb_quality    line punctuation, short lines, duplicated lines, newlines per word\n"
    "  url                domains=FILE urls=FILE banned_words=FILE soft_banned_words=FILE\n"
    "                     banned_subwords=FILE soft_word_threshold=2 (url from field url)\n"
    "  pii                replaces e-mail addresses and public IPv4 addresses\n"
    "--recipe fineweb = language,gopher_repetition,gopher_quality,c4_quality\n"
    "                   (filter_no_terminal_punct=0),fineweb_quality\n"
    "--stats writes documents in/kept/dropped per filter and reason; -t threads (default: cores).\n"
    "\n"
    "examples:\n"
    "  smol filter --recipe fineweb --option language.model=lid.176.ftz crawl.jsonl.zst \\\n"
    "      -o kept.jsonl.zst --exclusions dropped.jsonl.zst --stats stats.json\n"
    "  smol filter --filters gopher_quality,pii --option gopher_quality.min_doc_words=100 docs.jsonl -o out.jsonl\n",
    run,
};
