/* cmd_scan.c: `smol scan`: counts phrases (one pass over the text with all of them at once) in
 * documents read through the document reader (JSONL, .txt, .parquet), per input file or per
 * value of a metadata field, with the words of each group; writes CSV
 * (group,phrase,count,words,per_million_words) and optionally an SVG chart of the rates. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/pool.h"
#include "data/doc.h"
#include "data/scan.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME "scan"
#define BATCH_BYTES ((size_t)64 << 20)   /* text gathered before the threads scan it */
#define BATCH_DOCS 65536
#define PIECE_BYTES ((size_t)1 << 20)    /* long texts are cut after a '\n' near this size */

typedef struct {
    const char *phrases, *group_by, *field, *out, *svg;
    int threads, quiet;
} scan_opts;

typedef struct {
    const char *text;
    size_t len;
    int group;
} scan_piece;

typedef struct {
    char **names;
    int n, cap;
    int *slots;                 /* open-addressing table of group indices (-1 empty) */
    int n_slots;
} scan_groups;

typedef struct {
    const smol_scan *scan;
    scan_piece *pieces;
    int n_pieces, n_tasks;
    smol_scan_tally ***tally;   /* [thread][group] */
    int n_threads, n_groups_alloc, n_groups_ready;
    smol_doc *docs;
    int n_docs;
    size_t batch_bytes;
} scan_ctx;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
    return h;
}

/* The index of group name (added when new), or -1 when out of memory. */
static int group_index(scan_groups *g, const char *name) {
    if (g->n * 2 >= g->n_slots) {
        int ns = g->n_slots ? g->n_slots * 2 : 64;
        int *slots = malloc((size_t)ns * sizeof *slots);
        if (!slots) return -1;
        for (int i = 0; i < ns; i++) slots[i] = -1;
        for (int i = 0; i < g->n; i++) {
            size_t h = (size_t)(hash_str(g->names[i]) & (uint64_t)(ns - 1));
            while (slots[h] >= 0) h = (h + 1) & (size_t)(ns - 1);
            slots[h] = i;
        }
        free(g->slots);
        g->slots = slots;
        g->n_slots = ns;
    }
    size_t h = (size_t)(hash_str(name) & (uint64_t)(g->n_slots - 1));
    while (g->slots[h] >= 0) {
        if (strcmp(g->names[g->slots[h]], name) == 0) return g->slots[h];
        h = (h + 1) & (size_t)(g->n_slots - 1);
    }
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 16;
        char **names = realloc(g->names, (size_t)cap * sizeof *names);
        if (!names) return -1;
        g->names = names;
        g->cap = cap;
    }
    if (!(g->names[g->n] = strdup(name))) return -1;
    g->slots[h] = g->n;
    return g->n++;
}

/* The group of a document: its file, or the --group-by field (top level, then under
 * "metadata"); "(none)" when missing or null. Writes into buf. */
static const char *doc_group(const scan_opts *o, const smol_doc *d, char *buf, size_t size) {
    if (!o->group_by) return d->path;
    const cJSON *json = smol_doc_json(d);
    const cJSON *v = json ? cJSON_GetObjectItemCaseSensitive(json, o->group_by) : NULL;
    if (!v && json) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(json, "metadata");
        if (cJSON_IsObject(m)) v = cJSON_GetObjectItemCaseSensitive(m, o->group_by);
    }
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v) ? "true" : "false";
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (x == floor(x) && fabs(x) < 9e15) snprintf(buf, size, "%.0f", x);
        else snprintf(buf, size, "%.17g", x);
        return buf;
    }
    return "(none)";
}

static void scan_task(void *arg, int task, int thread) {
    scan_ctx *c = arg;
    int per = (c->n_pieces + c->n_tasks - 1) / c->n_tasks;
    int lo = task * per, hi = lo + per < c->n_pieces ? lo + per : c->n_pieces;
    for (int i = lo; i < hi; i++) {
        const scan_piece *p = &c->pieces[i];
        smol_scan_text(c->scan, p->text, p->len, c->tally[thread][p->group]);
    }
}

/* Makes sure every thread has a tally for groups [0, n_groups). */
static int ensure_tallies(scan_ctx *c, int n_groups) {
    if (n_groups > c->n_groups_alloc) {
        int cap = c->n_groups_alloc ? c->n_groups_alloc : 8;
        while (cap < n_groups) cap *= 2;
        for (int t = 0; t < c->n_threads; t++) {
            smol_scan_tally **a = realloc(c->tally[t], (size_t)cap * sizeof *a);
            if (!a) return -1;
            c->tally[t] = a;
            for (int g = c->n_groups_alloc; g < cap; g++) a[g] = NULL;
        }
        c->n_groups_alloc = cap;
    }
    for (int t = 0; t < c->n_threads; t++)
        for (int g = c->n_groups_ready; g < n_groups; g++)
            if (!c->tally[t][g] && !(c->tally[t][g] = smol_scan_tally_new(c->scan))) return -1;
    if (n_groups > c->n_groups_ready) c->n_groups_ready = n_groups;
    return 0;
}

static int add_piece(scan_ctx *c, int *cap, const char *text, size_t len, int group) {
    if (c->n_pieces == *cap) {
        int nc = *cap ? *cap * 2 : 1024;
        scan_piece *p = realloc(c->pieces, (size_t)nc * sizeof *p);
        if (!p) return -1;
        c->pieces = p;
        *cap = nc;
    }
    c->pieces[c->n_pieces++] = (scan_piece){text, len, group};
    return 0;
}

/* Adds a document's text as pieces cut just after a '\n' (matches never cross a line end). */
static int add_text(scan_ctx *c, int *cap, const char *text, size_t len, int group) {
    while (len > PIECE_BYTES) {
        const char *nl = memchr(text + PIECE_BYTES, '\n', len - PIECE_BYTES);
        if (!nl) break;
        size_t cut = (size_t)(nl + 1 - text);
        if (cut >= len) break;
        if (add_piece(c, cap, text, cut, group)) return -1;
        text += cut;
        len -= cut;
    }
    return add_piece(c, cap, text, len, group);
}

static void flush_batch(scan_ctx *c, smol_pool *pool) {
    if (c->n_pieces) {
        c->n_tasks = c->n_pieces < c->n_threads * 8 ? c->n_pieces : c->n_threads * 8;
        smol_pool_run(pool, c->n_tasks, scan_task, c);
    }
    for (int i = 0; i < c->n_docs; i++) smol_doc_free(&c->docs[i]);
    c->n_docs = 0;
    c->n_pieces = 0;
    c->batch_bytes = 0;
}

static int csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) return fputs(s, f);
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    return fputc('"', f);
}

static double rate(uint64_t count, uint64_t words) { return words ? (double)count * 1e6 / (double)words : 0.0; }

static void write_csv(FILE *f, const smol_scan *s, const scan_groups *g, const int *order, smol_scan_tally **sum) {
    fputs("group,phrase,count,words,per_million_words\n", f);
    for (int k = 0; k < g->n; k++) {
        int gi = order[k];
        for (size_t i = 0; i < smol_scan_count(s); i++) {
            csv_field(f, g->names[gi]);
            fputc(',', f);
            csv_field(f, smol_scan_phrase(s, i));
            fprintf(f, ",%llu,%llu,%.4f\n", (unsigned long long)sum[gi]->counts[i], (unsigned long long)sum[gi]->words,
                    rate(sum[gi]->counts[i], sum[gi]->words));
        }
    }
}

static void svg_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* A line chart: x the groups in order, y the rate per million words, one series per phrase. */
static void write_svg(FILE *f, const smol_scan *s, const scan_groups *g, const int *order, smol_scan_tally **sum) {
    static const char *const colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                         "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    size_t np = smol_scan_count(s);
    double ymax = 0;
    for (int k = 0; k < g->n; k++)
        for (size_t i = 0; i < np; i++) {
            double r = rate(sum[order[k]]->counts[i], sum[order[k]]->words);
            if (r > ymax) ymax = r;
        }
    if (ymax <= 0) ymax = 1;
    const double left = 70, top = 30, w = 640, h = 360, legend_w = 220;
    double width = left + w + 20 + legend_w, height = top + h + 120;
    double legend_h = 20 + 16.0 * (double)np;
    if (top + legend_h > height) height = top + legend_h + 10;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"11\">\n",
            width, height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.0f\" y=\"18\" font-size=\"13\">phrase rate per million words</text>\n", left);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", left, top + h, left + w, top + h);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", left, top, left, top + h);
    for (int t = 0; t <= 4; t++) {
        double y = top + h - h * t / 4.0;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", left, y, left + w, y);
        double tick = ymax * t / 4.0;
        fprintf(f, tick >= 100 ? "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n"
                               : "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n", left - 4, y + 4, tick);
    }
    double step = g->n > 1 ? w / (g->n - 1) : 0, x0 = g->n > 1 ? left : left + w / 2;
    for (int k = 0; k < g->n; k++) {
        double x = x0 + step * k;
        fprintf(f, "<text transform=\"translate(%.1f,%.0f) rotate(45)\">", x, top + h + 12);
        svg_text(f, g->names[order[k]]);
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < np; i++) {
        const char *col = colors[i % 10];
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\"%s points=\"", col, i >= 10 ? " stroke-dasharray=\"4 2\"" : "");
        for (int k = 0; k < g->n; k++) {
            double r = rate(sum[order[k]]->counts[i], sum[order[k]]->words);
            fprintf(f, "%s%.1f,%.1f", k ? " " : "", x0 + step * k, top + h - h * r / ymax);
        }
        fputs("\"/>\n", f);
        for (int k = 0; k < g->n; k++) {
            double r = rate(sum[order[k]]->counts[i], sum[order[k]]->words);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>", x0 + step * k, top + h - h * r / ymax, col);
            svg_text(f, smol_scan_phrase(s, i));
            fputs(" @ ", f);
            svg_text(f, g->names[order[k]]);
            fprintf(f, ": %.4f</title></circle>\n", r);
        }
        double ly = top + 16.0 * (double)i + 10;
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"3\" fill=\"%s\"/>\n", left + w + 20, ly - 4, col);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">", left + w + 38, ly);
        svg_text(f, smol_scan_phrase(s, i));
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

typedef struct {
    const char *name;
    int index;
} group_ref;

static int cmp_group(const void *a, const void *b) {
    return strcmp(((const group_ref *)a)->name, ((const group_ref *)b)->name);
}

/* Fills order with the group indices sorted by name; -1 when out of memory. */
static int sort_groups(const scan_groups *g, int *order) {
    group_ref *refs = malloc(((size_t)g->n + 1) * sizeof *refs);
    if (!refs) return -1;
    for (int i = 0; i < g->n; i++) refs[i] = (group_ref){g->names[i], i};
    qsort(refs, (size_t)g->n, sizeof *refs, cmp_group);
    for (int i = 0; i < g->n; i++) order[i] = refs[i].index;
    free(refs);
    return 0;
}

/* Writes fn(...) to path atomically, or to stdout when path is NULL. */
static int write_out(const char *path, void (*fn)(FILE *, const smol_scan *, const scan_groups *, const int *, smol_scan_tally **),
                     const smol_scan *s, const scan_groups *g, const int *order, smol_scan_tally **sum) {
    smol_error err;
    if (!path) {
        fn(stdout, s, g, order, sum);
        if (fflush(stdout) == 0) return 0;
        fprintf(stderr, "smol %s: write error on stdout\n", NAME);
        return 1;
    }
    smol_atomic_file af;
    if (smol_atomic_open(&af, path, &err)) return cli_fail(NAME, &err);
    fn(af.fp, s, g, order, sum);
    if (smol_atomic_commit(&af, &err)) return cli_fail(NAME, &err);
    return 0;
}

static int parse_args(int argc, char **argv, scan_opts *o, char **files, int *n_files) {
    int bad = 0;
    *n_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_opt(argc, argv, &i, "--phrases", &o->phrases, &bad) || cli_opt(argc, argv, &i, "--group-by", &o->group_by, &bad) ||
            cli_opt(argc, argv, &i, "--field", &o->field, &bad) || cli_opt(argc, argv, &i, "-o", &o->out, &bad) ||
            cli_opt(argc, argv, &i, "--svg", &o->svg, &bad)) {
            if (bad) return 2;
        } else if (cli_opt(argc, argv, &i, "-t", &v, &bad) || cli_opt(argc, argv, &i, "--threads", &v, &bad)) {
            long long t;
            if (bad || !cli_int(NAME, "-t", v, 1, 256, &t)) return 2;
            o->threads = (int)t;
        } else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            o->quiet = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(NAME, "unknown option '%s'", argv[i]);
        } else {
            files[(*n_files)++] = argv[i];
        }
    }
    if (!o->phrases) return cli_usage_error(NAME, "--phrases FILE is required");
    if (!*n_files) return cli_usage_error(NAME, "no corpus file given");
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A .txt file is one document: it is memory-mapped and scanned in place (no copy). */
static int scan_txt(const scan_opts *o, const char *path, scan_ctx *c, scan_groups *g, smol_pool *pool, int *piece_cap) {
    smol_error err;
    smol_map m;
    flush_batch(c, pool);
    if (smol_map_open(&m, path, &err)) return cli_fail(NAME, &err);
    int gi = group_index(g, o->group_by ? "(none)" : path);
    if (gi < 0 || ensure_tallies(c, g->n) || add_text(c, piece_cap, (const char *)m.data, m.size, gi)) {
        smol_map_close(&m);
        smol_fail(&err, SMOL_ENOMEM, "out of memory");
        return cli_fail(NAME, &err);
    }
    flush_batch(c, pool);
    smol_map_close(&m);
    return 0;
}

static int scan_files(const scan_opts *o, char **files, int n_files, scan_ctx *c, scan_groups *g, smol_pool *pool,
                      long *n_docs) {
    smol_doc_opts dopts = {o->field, NULL, SMOL_ON_ERROR_STOP, 0};
    int piece_cap = 0;
    char numbuf[64];
    for (int fi = 0; fi < n_files; fi++) {
        smol_error err;
        smol_doc_reader *r;
        if (ends_with(files[fi], ".txt")) {
            int rc = scan_txt(o, files[fi], c, g, pool, &piece_cap);
            if (rc) return rc;
            (*n_docs)++;
            continue;
        }
        if (smol_doc_reader_open(files[fi], &dopts, &r, &err)) return cli_fail(NAME, &err);
        int rc;
        for (;;) {
            if (c->n_docs == BATCH_DOCS || c->batch_bytes >= BATCH_BYTES) flush_batch(c, pool);
            smol_doc *d = &c->docs[c->n_docs];
            if ((rc = smol_doc_read(r, d, &err)) != 1) break;
            c->n_docs++;
            (*n_docs)++;
            int gi = group_index(g, doc_group(o, d, numbuf, sizeof numbuf));
            if (gi < 0 || ensure_tallies(c, g->n) || add_text(c, &piece_cap, d->text, d->text_len, gi)) {
                smol_doc_reader_close(r);
                smol_fail(&err, SMOL_ENOMEM, "out of memory");
                return cli_fail(NAME, &err);
            }
            c->batch_bytes += d->text_len;
        }
        flush_batch(c, pool);   /* doc paths point into the reader: scan before closing it */
        smol_doc_reader_close(r);
        if (rc < 0) return cli_fail(NAME, &err);
    }
    return 0;
}

static double now(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int run(int argc, char **argv) {
    scan_opts o = {0};
    o.field = "text";
    char **files = calloc((size_t)argc, sizeof *files);
    int n_files, rc;
    if (!files) return 1;
    if ((rc = parse_args(argc, argv, &o, files, &n_files))) {
        free(files);
        return rc;
    }
    smol_error err;
    smol_scan *s;
    if (smol_scan_load(o.phrases, &s, &err)) {
        free(files);
        return cli_fail(NAME, &err);
    }
    int threads = o.threads ? o.threads : 1;
    smol_pool *pool = threads > 1 ? smol_pool_new(threads) : NULL;
    scan_ctx c = {0};
    scan_groups g = {0};
    c.scan = s;
    c.n_threads = threads;
    c.tally = calloc((size_t)threads, sizeof *c.tally);
    c.docs = calloc(BATCH_DOCS, sizeof *c.docs);
    long n_docs = 0;
    double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    rc = !c.tally || !c.docs ? 1 : scan_files(&o, files, n_files, &c, &g, pool, &n_docs);
    double wall = now(CLOCK_MONOTONIC) - t0, cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    smol_scan_tally **sum = calloc((size_t)g.n + 1, sizeof *sum);
    int *order = calloc((size_t)g.n + 1, sizeof *order);
    uint64_t bytes = 0;
    for (int gi = 0; rc == 0 && sum && gi < g.n; gi++) {
        sum[gi] = c.tally[0][gi];
        for (int t = 1; t < threads; t++) smol_scan_tally_add(sum[gi], c.tally[t][gi]);
        bytes += sum[gi]->bytes;
    }
    if (rc == 0) {
        rc = !sum || !order || sort_groups(&g, order) ? 1 : write_out(o.out, write_csv, s, &g, order, sum);
        if (rc == 0 && o.svg) rc = write_out(o.svg, write_svg, s, &g, order, sum);
    }
    if (rc == 0 && !o.quiet)
        fprintf(stderr, "smol %s: %ld documents, %.1f MB, %d groups, %zu phrases in %.2f s (%.0f MB/s; %.2f s CPU)\n", NAME,
                n_docs, (double)bytes / 1e6, g.n, smol_scan_count(s), wall, wall > 0 ? (double)bytes / 1e6 / wall : 0.0, cpu);
    for (int t = 0; c.tally && t < threads; t++) {
        for (int gi = 0; gi < c.n_groups_alloc; gi++) smol_scan_tally_free(c.tally[t][gi]);
        free(c.tally[t]);
    }
    for (int i = 0; i < c.n_docs; i++) smol_doc_free(&c.docs[i]);
    for (int i = 0; i < g.n; i++) free(g.names[i]);
    free(g.names);
    free(g.slots);
    free(c.tally);
    free(c.docs);
    free(c.pieces);
    free(sum);
    free(order);
    free(files);
    smol_pool_free(pool);
    smol_scan_free(s);
    return rc;
}

const smol_cmd cmd_scan = {
    NAME, "count phrases per file or per metadata value (one pass, word boundaries), CSV and SVG",
    "usage: smol scan --phrases FILE [--group-by FIELD] [--field text] [-o counts.csv] [--svg chart.svg]\n"
    "                 [-t N] [--quiet] CORPUS...\n"
    "\n"
    "Counts every phrase of FILE (one per line; '#' lines and blank lines ignored) in the text of\n"
    "each document of the CORPUS files (.jsonl/.json, plain/.gz/.zst; .txt: the whole file is one\n"
    "document; .parquet). Matching ignores ASCII case and counts a phrase only where the bytes\n"
    "before and after it are not [A-Za-z0-9_] and where it does not overlap its own previous\n"
    "match: each count equals `LC_ALL=C grep -o -i -w -F PHRASE | wc -l`. Phrases are counted\n"
    "separately (\"new\" and \"new york\" both count in \"new york\"). Words are runs of non-space\n"
    "bytes (as wc -w).\n"
    "\n"
    "Groups are the input files, or the values of --group-by FIELD (a top-level field, else one\n"
    "under \"metadata\"; \"(none)\" when missing), sorted by name. Output: CSV\n"
    "group,phrase,count,words,per_million_words on stdout or, atomically, to -o; --svg writes a\n"
    "line chart of the rate per group, one series per phrase. -t N scans with N threads.\n"
    "\n"
    "examples:\n"
    "  smol scan --phrases phrases.txt war-and-peace.txt\n"
    "  smol scan --phrases ai-words.txt --group-by dump -t 2 fineweb/*.parquet -o rates.csv --svg rates.svg\n",
    run,
};
