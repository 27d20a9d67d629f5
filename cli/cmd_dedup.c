/* cmd_dedup.c: `smol dedup`: MinHash near-duplicate removal in four sharded stages (or all at
 * once), a signature dump for checking, and exact dedup by text hash. The work is done by
 * src/data/minhash.c and src/data/dedup.c; this file parses options and reports. */
#include "cli.h"
#include "data/dedup.h"
#include "data/minhash.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char k_name[] = "dedup";

typedef struct dedup_args {
    const char *stage;         /* signatures, buckets, clusters, filter, all, show; or "exact" */
    const char **inputs;
    int n_inputs;
    const char *work, *out, *exclusions;
    smol_minhash_opts o;
    int quiet;
} dedup_args;

static void log_stderr(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "smol dedup: %s\n", msg);
}

/* Parses the options shared by every form; returns 0, or 2 after a usage message. */
static int parse(int argc, char **argv, int first, dedup_args *a) {
    a->inputs = calloc((size_t)argc + 1, sizeof *a->inputs);
    if (!a->inputs) return 1;
    int bad = 0;
    for (int i = first; i < argc && !bad; i++) {
        const char *v = NULL;
        long long x;
        if (cli_opt(argc, argv, &i, "--work", &a->work, &bad) || cli_opt(argc, argv, &i, "-o", &a->out, &bad) ||
            cli_opt(argc, argv, &i, "--exclusions", &a->exclusions, &bad) ||
            cli_opt(argc, argv, &i, "--field", &a->o.text_field, &bad))
            continue;
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            a->quiet = 1;
            continue;
        }
        int *target = NULL;
        long long lo = 0, hi = 0;
        const char *flag = argv[i];
        if (cli_opt(argc, argv, &i, "--rank", &v, &bad)) target = &a->o.rank, hi = 1 << 30;
        else if (cli_opt(argc, argv, &i, "--world-size", &v, &bad)) target = &a->o.world_size, lo = 1, hi = 1 << 30;
        else if (cli_opt(argc, argv, &i, "-t", &v, &bad) || cli_opt(argc, argv, &i, "--threads", &v, &bad))
            target = &a->o.threads, lo = 1, hi = 256;
        else if (cli_opt(argc, argv, &i, "--ngram", &v, &bad)) target = &a->o.n_grams, lo = 1, hi = 64;
        else if (cli_opt(argc, argv, &i, "--buckets", &v, &bad)) target = &a->o.buckets, lo = 1, hi = 1024;
        else if (cli_opt(argc, argv, &i, "--hashes", &v, &bad)) target = &a->o.hashes_per_bucket, lo = 1, hi = 1024;
        else if (cli_opt(argc, argv, &i, "--seed", &v, &bad)) {
            if (!bad && !cli_int(k_name, "--seed", v, 0, 4294967295LL, &x)) return 2;
            if (!bad) a->o.seed = (uint32_t)x;
            continue;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(k_name, "unknown option '%s'", argv[i]);
        } else {
            a->inputs[a->n_inputs++] = argv[i];
            continue;
        }
        if (bad) break;
        if (!cli_int(k_name, flag, v, lo, hi, &x)) return 2;
        *target = (int)x;
    }
    if (bad) return 2;
    if (a->n_inputs == 0) return cli_usage_error(k_name, "no input files");
    if (a->o.rank >= a->o.world_size)
        return cli_usage_error(k_name, "--rank %d must be below --world-size %d", a->o.rank, a->o.world_size);
    if (!a->quiet) a->o.log = log_stderr;
    a->o.exclusions_dir = a->exclusions;
    return 0;
}

static void print_stats(const smol_minhash_stats *s) {
    printf("docs\t%llu\nbytes\t%llu\nsigned\t%llu\npairs\t%llu\nclustered\t%llu\nclusters\t%llu\nto_remove\t%llu\n"
           "removed\t%llu\nkept\t%llu\nskipped\t%llu\n",
           (unsigned long long)s->docs, (unsigned long long)s->bytes, (unsigned long long)s->signed_docs,
           (unsigned long long)s->pairs,
           (unsigned long long)s->clustered, (unsigned long long)s->clusters, (unsigned long long)s->to_remove,
           (unsigned long long)s->removed,
           (unsigned long long)s->kept, (unsigned long long)s->skipped);
}

/* Prints s as a JSON string. */
static void put_json_string(const char *s) {
    cJSON *j = cJSON_CreateString(s);
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    fputs(t ? t : "\"\"", stdout);
    cJSON_free(t);
    cJSON_Delete(j);
}

/* One JSON line for a document: its words, shingle count and signature (decimal strings). */
static int show_doc(const smol_minhash *m, smol_minhash_scratch *s, const smol_minhash_opts *o, long doc,
                    const char *text, size_t len) {
    uint64_t sig[SMOL_MINHASH_MAX_HASHES];
    char *words;
    size_t wl, nw;
    long k = smol_minhash_signature(m, s, text, len, sig);
    if (k < 0 || smol_minhash_normalize(text, len, &words, &wl, &nw)) return SMOL_ENOMEM;
    printf("{\"doc\":%ld,\"words\":", doc);
    put_json_string(words);
    printf(",\"shingles\":%ld,\"signature\":[", k);
    for (int i = 0; k > 0 && i < o->buckets * o->hashes_per_bucket; i++)
        printf("%s\"%llu\"", i ? "," : "", (unsigned long long)sig[i]);
    printf("]}\n");
    free(words);
    return SMOL_OK;
}

/* smol dedup minhash show FILE...: one JSON line per document with its words and signature. */
static int show(char *const *files, size_t n, const smol_minhash_opts *o) {
    smol_error err = {0};
    smol_minhash *m = NULL;
    smol_minhash_scratch *s = smol_minhash_scratch_new();
    int rc = s ? smol_minhash_new(o, &m, &err) : SMOL_ENOMEM;
    for (size_t fi = 0; fi < n && !rc; fi++) {
        smol_dd_reader *r;
        if ((rc = smol_dd_reader_open(files[fi], o->text_field, &r, &err))) break;
        const char *text;
        size_t len;
        long doc = 0;
        while ((rc = smol_dd_read(r, &text, &len, &err)) == 1)
            if ((rc = show_doc(m, s, o, doc++, text, len))) break;
        smol_dd_reader_close(r);
    }
    smol_minhash_scratch_free(s);
    smol_minhash_free(m);
    if (rc == SMOL_ENOMEM && !err.msg[0]) snprintf(err.msg, sizeof err.msg, "out of memory");
    return rc < 0 ? cli_fail(k_name, &err) : 0;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* Runs one MinHash stage (or all of them) on the listed files. */
static int run_stage(const dedup_args *a, char *const *files, size_t n, smol_minhash_stats *st, smol_error *err) {
    const char *s = a->stage;
    int all = strcmp(s, "all") == 0, rc = 0;
    if (all || strcmp(s, "signatures") == 0) rc = smol_minhash_signatures(files, n, a->work, &a->o, st, err);
    if (!rc && (all || strcmp(s, "buckets") == 0)) rc = smol_minhash_buckets(files, n, a->work, &a->o, st, err);
    if (!rc && (all || strcmp(s, "clusters") == 0)) rc = smol_minhash_clusters(files, n, a->work, &a->o, st, err);
    if (!rc && (all || strcmp(s, "filter") == 0)) rc = smol_minhash_filter(files, n, a->work, a->out, &a->o, st, err);
    return rc;
}

static int run_minhash(dedup_args *a) {
    static const char *const k_stages[] = {"signatures", "buckets", "clusters", "filter", "all", "show"};
    int known = 0;
    for (size_t i = 0; i < sizeof k_stages / sizeof k_stages[0]; i++) known |= strcmp(a->stage, k_stages[i]) == 0;
    if (!known)
        return cli_usage_error(k_name, "unknown minhash stage '%s' (signatures, buckets, clusters, filter, all, show)",
                               a->stage);
    int all = strcmp(a->stage, "all") == 0, filter = strcmp(a->stage, "filter") == 0;
    if ((all || filter) && !a->out) return cli_usage_error(k_name, "minhash %s needs -o OUT_DIR", a->stage);
    char work[4096];
    if (!a->work && all) {
        snprintf(work, sizeof work, "%s.work", a->out);
        a->work = work;
    }
    if (!a->work && strcmp(a->stage, "show") != 0) return cli_usage_error(k_name, "minhash %s needs --work DIR", a->stage);
    smol_error err = {0};
    char **files;
    size_t n;
    if (smol_dd_list_inputs(a->inputs, (size_t)a->n_inputs, &files, &n, &err)) return cli_fail(k_name, &err);
    int rc;
    if (strcmp(a->stage, "show") == 0) {
        rc = show(files, n, &a->o);
    } else {
        smol_minhash_stats st = {0};
        double t0 = now_s();
        rc = run_stage(a, files, n, &st, &err) ? cli_fail(k_name, &err) : 0;
        if (!rc) {
            print_stats(&st);
            if (!a->quiet) fprintf(stderr, "smol dedup: minhash %s done in %.2f s\n", a->stage, now_s() - t0);
        }
    }
    smol_dd_free_list(files, n);
    return rc;
}

static int run_exact(dedup_args *a) {
    if (!a->out) return cli_usage_error(k_name, "exact needs -o OUT_DIR");
    smol_error err = {0};
    char **files;
    size_t n;
    if (smol_dd_list_inputs(a->inputs, (size_t)a->n_inputs, &files, &n, &err)) return cli_fail(k_name, &err);
    smol_exact_opts eo = {.text_field = a->o.text_field, .exclusions_dir = a->exclusions, .log = a->o.log};
    smol_dedup_stats st = {0};
    int rc = smol_dedup_exact(files, n, a->out, &eo, &st, &err) ? cli_fail(k_name, &err) : 0;
    if (!rc)
        printf("docs\t%llu\nkept\t%llu\nremoved\t%llu\n", (unsigned long long)st.docs, (unsigned long long)st.kept,
               (unsigned long long)st.removed);
    smol_dd_free_list(files, n);
    return rc;
}

static int run(int argc, char **argv) {
    dedup_args a = {0};
    smol_minhash_opts_default(&a.o);
    if (argc < 2) return cli_usage_error(k_name, "expected 'minhash STAGE' or 'exact'");
    int minhash = strcmp(argv[1], "minhash") == 0;
    if (!minhash && strcmp(argv[1], "exact") != 0)
        return cli_usage_error(k_name, "unknown method '%s' (minhash or exact)", argv[1]);
    if (minhash && argc < 3) return cli_usage_error(k_name, "minhash needs a stage (signatures, buckets, clusters, filter, all, show)");
    a.stage = minhash ? argv[2] : "exact";
    int rc = parse(argc, argv, minhash ? 3 : 2, &a);
    if (!rc) rc = minhash ? run_minhash(&a) : run_exact(&a);
    free(a.inputs);
    return rc;
}

const smol_cmd cmd_dedup = {
    "dedup", "remove near-duplicate (MinHash, datatrove's stages) or exact duplicate documents",
    "usage: smol dedup minhash STAGE IN... --work DIR [-o OUT_DIR] [--rank R --world-size N] [options]\n"
    "       smol dedup minhash all IN... -o OUT_DIR [--work DIR] [-t N] [options]\n"
    "       smol dedup minhash show IN...\n"
    "       smol dedup exact IN... -o OUT_DIR [--exclusions DIR] [--field F]\n"
    "\n"
    "MinHash as datatrove (FineWeb): text lowercased, punctuation removed, whitespace and digits\n"
    "normalised; word 5-grams hashed with SHA-1 (64 bits); 14 buckets x 8 hashes. STAGE is\n"
    "  signatures  per input file of this shard: its documents' signatures, per bucket\n"
    "  buckets     per bucket of this shard: pairs of documents with equal bucket signatures\n"
    "  clusters    (rank 0) union-find over the pairs: all but the first document of each cluster\n"
    "  filter      per input file of this shard: the kept documents to OUT_DIR/NAME\n"
    "  all         the four stages on this machine, with -t threads\n"
    "  show        print each document's words and signature as JSON lines (for checking)\n"
    "Every stage takes the same IN... (files or directories; sorted, and rank R of N takes\n"
    "files[R::N] or buckets R::N). Outputs are written atomically with a marker in DIR/done, so a\n"
    "rerun skips finished work. Kept records are copied byte for byte; the output does not depend\n"
    "on N or -t. Counts go to stdout, progress to stderr.\n"
    "\n"
    "options:\n"
    "  --work DIR         intermediate files (all: default OUT_DIR.work)\n"
    "  -o OUT_DIR         kept documents, one file per input (NAME: the input's base name)\n"
    "  --exclusions DIR   removed documents, with \"minhash_cluster\" and \"minhash_duplicate_of\"\n"
    "                     (exact: \"exact_duplicate_of\")\n"
    "  --rank R --world-size N   this shard (default 0 of 1)\n"
    "  -t, --threads N    threads (default 1)\n"
    "  --field F          the JSON text field (default text)\n"
    "  --ngram 5 --buckets 14 --hashes 8 --seed 1   MinHash parameters (same for every stage)\n"
    "  -q, --quiet        no progress on stderr\n"
    "\n"
    "examples:\n"
    "  smol dedup minhash all data/*.jsonl -o deduped -t 2\n"
    "  smol dedup minhash signatures data/ --work mh --rank 0 --world-size 4\n"
    "  smol dedup exact data/ -o exact_deduped --exclusions removed\n",
    run,
};
