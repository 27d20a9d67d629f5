/* cmd_decontam.c: `smol decontam`: drops documents that reproduce benchmark items (Cosmopedia's
 * 10-gram candidates and difflib match ratio > 0.5); the work is in src/data/decontam.c. */
#include "cli.h"
#include "base/error.h"
#include "data/decontam.h"
#include "data/dedup.h"
#include <stdlib.h>
#include <string.h>

static const char k_name[] = "decontam";

static void log_stderr(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "smol decontam: %s\n", msg);
}

/* Splits "a,b,c" into a NULL-terminated array of copies. */
static char **split_commas(const char *s, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    char **v = calloc(cap + 1, sizeof *v);
    char *copy = strdup(s);
    *n = 0;
    if (!v || !copy) {
        free(v), free(copy);
        return NULL;
    }
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ","))
        if (*tok) v[(*n)++] = strdup(tok);
    free(copy);
    return v;
}

typedef struct decontam_args {
    const char *bench, *out, *exclusions;
    const char **inputs;
    int n_inputs, quiet;
    smol_decontam_opts o;
} decontam_args;

static int parse(int argc, char **argv, decontam_args *a) {
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *v = NULL;
        long long x;
        if (cli_opt(argc, argv, &i, "--bench", &a->bench, &bad) || cli_opt(argc, argv, &i, "-o", &a->out, &bad) ||
            cli_opt(argc, argv, &i, "--exclusions", &a->exclusions, &bad) ||
            cli_opt(argc, argv, &i, "--field", &a->o.text_field, &bad) ||
            cli_opt(argc, argv, &i, "--bench-field", &a->o.bench_field, &bad))
            continue;
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            a->quiet = 1;
        } else if (cli_opt(argc, argv, &i, "--ngram", &v, &bad)) {
            if (!bad && !cli_int(k_name, "--ngram", v, 1, 1000, &x)) return 2;
            if (!bad) a->o.ngram = (int)x;
        } else if (cli_opt(argc, argv, &i, "--threshold", &v, &bad)) {
            if (!bad && !cli_float(k_name, "--threshold", v, 0, 1, &a->o.threshold)) return 2;
        } else if (cli_opt(argc, argv, &i, "--rank", &v, &bad)) {
            if (!bad && !cli_int(k_name, "--rank", v, 0, 1 << 30, &x)) return 2;
            if (!bad) a->o.rank = (int)x;
        } else if (cli_opt(argc, argv, &i, "--world-size", &v, &bad)) {
            if (!bad && !cli_int(k_name, "--world-size", v, 1, 1 << 30, &x)) return 2;
            if (!bad) a->o.world_size = (int)x;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(k_name, "unknown option '%s'", argv[i]);
        } else {
            a->inputs[a->n_inputs++] = argv[i];
        }
    }
    if (bad) return 2;
    if (!a->bench) return cli_usage_error(k_name, "--bench BENCH.jsonl[,...] is required");
    if (!a->out) return cli_usage_error(k_name, "-o OUT is required");
    if (a->n_inputs == 0) return cli_usage_error(k_name, "no input files");
    if (a->o.rank >= a->o.world_size)
        return cli_usage_error(k_name, "--rank %d must be below --world-size %d", a->o.rank, a->o.world_size);
    if (!a->quiet) a->o.log = log_stderr;
    return 0;
}

static int run(int argc, char **argv) {
    decontam_args a = {0};
    smol_decontam_opts_default(&a.o);
    a.inputs = calloc((size_t)argc + 1, sizeof *a.inputs);
    if (!a.inputs) return 1;
    int rc = parse(argc, argv, &a);
    if (rc) {
        free(a.inputs);
        return rc;
    }
    smol_error err = {0};
    size_t n_bench = 0, n = 0;
    char **bench = split_commas(a.bench, &n_bench), **files = NULL;
    smol_decontam *d = NULL;
    smol_decontam_stats st = {0};
    if (!bench) rc = smol_fail(&err, SMOL_ENOMEM, "out of memory");
    if (!rc) rc = smol_decontam_new(bench, n_bench, &a.o, &d, &err);
    if (!rc && !a.quiet)
        fprintf(stderr, "smol decontam: %zu benchmark items, %zu distinct %d-grams\n", smol_decontam_items(d),
                smol_decontam_ngrams(d), a.o.ngram);
    if (!rc) rc = smol_dd_list_inputs(a.inputs, (size_t)a.n_inputs, &files, &n, &err);
    if (!rc) rc = smol_decontam_run(d, files, n, a.out, a.exclusions, &a.o, &st, &err);
    if (!rc)
        printf("docs\t%llu\nkept\t%llu\ndropped\t%llu\ncandidates\t%llu\n", (unsigned long long)st.docs,
               (unsigned long long)st.kept, (unsigned long long)st.dropped, (unsigned long long)st.candidates);
    smol_decontam_free(d);
    smol_dd_free_list(files, n);
    for (size_t i = 0; bench && i < n_bench; i++) free(bench[i]);
    free(bench);
    free(a.inputs);
    return rc ? cli_fail(k_name, &err) : 0;
}

const smol_cmd cmd_decontam = {
    "decontam", "drop documents that reproduce benchmark items (Cosmopedia's 10-gram + match-ratio check)",
    "usage: smol decontam --bench BENCH.jsonl[,...] [--field text] [--bench-field text] [--ngram 10]\n"
    "                     [--threshold 0.5] IN... -o OUT [--exclusions DROPPED] [--rank R --world-size N]\n"
    "\n"
    "Words are \\w+ runs of the NFD text without combining marks, lowercased. A document that shares\n"
    "a word 10-gram with a benchmark item is compared with it as Cosmopedia does: the difflib\n"
    "matching blocks longer than 5 characters, over the item's length; above the threshold the\n"
    "document is dropped. OUT (and DROPPED) ending in .jsonl is one file for all inputs; otherwise\n"
    "a directory with one file per input (and --rank/--world-size shard the inputs). Dropped records\n"
    "get \"metadata\": {\"decontam\": {\"bench\", \"item\", \"ratio\"}} naming the benchmark file and\n"
    "its 0-based item. Inputs: .jsonl (plain, .gz, .zst), .json, .txt, .parquet, or directories.\n"
    "Counts go to stdout, progress to stderr.\n"
    "\n"
    "examples:\n"
    "  smol decontam --bench mmlu.jsonl,hellaswag.jsonl synthetic.jsonl -o clean.jsonl\n"
    "  smol decontam --bench arc.jsonl --exclusions dropped.jsonl data/ -o clean/\n",
    run,
};
