/* cmd_curate.c: `smol curate`: runs a curation pipeline file (or a named recipe) over sharded
 * input files, resumably (see src/data/pipeline.h and docs/curate.md). */
#include "cli.h"
#include "data/doc.h"
#include "data/pipeline.h"
#include <stdlib.h>
#include <string.h>

static const char *const k_name = "curate";

typedef struct args {
    const char *pipeline, *recipe, *out, *lid_model;
    const char **inputs;
    int n_inputs;
    int print_only;
    smol_run_opts run;
} args;

/* Parses argv into a; returns 0 or the exit code of a usage error. */
static int parse_args(int argc, char **argv, args *a) {
    int bad = 0;
    a->run = smol_run_default_opts();
    a->run.progress = 1;
    a->inputs = calloc((size_t)argc, sizeof *a->inputs);
    if (!a->inputs) return 1;
    const char *v = NULL;
    long long n;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_opt(argc, argv, &i, "--recipe", &a->recipe, &bad)) continue;
        if (cli_opt(argc, argv, &i, "-o", &a->out, &bad)) continue;
        if (cli_opt(argc, argv, &i, "--lid-model", &a->lid_model, &bad)) continue;
        if (cli_opt(argc, argv, &i, "--rank", &v, &bad)) {
            if (bad || !cli_int(k_name, "--rank", v, 0, 99999, &n)) return 2;
            a->run.rank = (int)n;
            continue;
        }
        if (cli_opt(argc, argv, &i, "--world-size", &v, &bad)) {
            if (bad || !cli_int(k_name, "--world-size", v, 1, 99999, &n)) return 2;
            a->run.world_size = (int)n;
            continue;
        }
        if (cli_opt(argc, argv, &i, "-t", &v, &bad) || cli_opt(argc, argv, &i, "--threads", &v, &bad)) {
            if (bad || !cli_int(k_name, "-t", v, 1, 1024, &n)) return 2;
            a->run.n_threads = (int)n;
            continue;
        }
        if (cli_opt(argc, argv, &i, "--on-error", &v, &bad)) {
            if (bad) return 2;
            if (strcmp(v, "skip") && strcmp(v, "stop")) return cli_usage_error(k_name, "--on-error expects skip or stop, got '%s'", v);
            a->run.on_error = v[1] == 'k' ? SMOL_ON_ERROR_SKIP : SMOL_ON_ERROR_STOP;
            continue;
        }
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) { a->run.progress = 0; continue; }
        if (strcmp(argv[i], "--print") == 0) { a->print_only = 1; continue; }
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(k_name, "unknown option '%s'", argv[i]);
        a->inputs[a->n_inputs++] = argv[i];
    }
    if (bad) return 2;
    if (a->run.rank >= a->run.world_size)
        return cli_usage_error(k_name, "--rank %d needs --world-size greater than it (now %d)", a->run.rank, a->run.world_size);
    if (a->recipe) {
        if (!a->out) return cli_usage_error(k_name, "--recipe needs -o OUT_DIR");
        if (a->n_inputs == 0) return cli_usage_error(k_name, "--recipe needs input files");
        return 0;
    }
    if (a->out || a->lid_model || a->print_only) return cli_usage_error(k_name, "-o, --lid-model and --print go with --recipe");
    if (a->n_inputs != 1) return cli_usage_error(k_name, a->n_inputs ? "one pipeline file, please" : "a pipeline file is needed");
    a->pipeline = a->inputs[0];
    return 0;
}

static int run(int argc, char **argv) {
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc) {
        free(a.inputs);
        return rc;
    }
    smol_error err = {0};
    smol_pipeline *pl = NULL;
    if (a.recipe) {
        char *text = NULL;
        rc = smol_pipeline_recipe(a.recipe, a.inputs, a.n_inputs, a.out, a.lid_model, &text, &err);
        if (rc == SMOL_OK && a.print_only) {
            fputs(text, stdout);
            free(text);
            free(a.inputs);
            return 0;
        }
        char name[64];
        snprintf(name, sizeof name, "recipe %s", a.recipe);
        if (rc == SMOL_OK) rc = smol_pipeline_parse(text, strlen(text), name, &pl, &err);
        free(text);
    } else {
        rc = smol_pipeline_load(a.pipeline, &pl, &err);
    }
    free(a.inputs);
    if (rc) return cli_fail(k_name, &err);
    smol_run_result res;
    rc = smol_pipeline_run(pl, &a.run, &res, &err);
    if (rc == SMOL_OK) {
        printf("shard tasks: %d done, %d already complete\n", res.shards_done, res.shards_skipped);
        printf("documents: %lld read, %lld written\n", (long long)res.docs_in, (long long)res.docs_out);
        if (res.stats_written) printf("stats: %s/stats.json\n", pl->out_dir);
        else printf("stats: waiting for the other ranks (written when all shards are done)\n");
    }
    smol_pipeline_free(pl);
    return rc ? cli_fail(k_name, &err) : 0;
}

const smol_cmd cmd_curate = {
    "curate", "run a resumable curation pipeline (filters, dedup) over sharded JSONL/Parquet files",
    "usage: smol curate PIPELINE.toml [--rank R --world-size N] [-t N] [--on-error skip|stop] [--quiet]\n"
    "       smol curate --recipe fineweb IN... -o OUT_DIR [--lid-model lid.176.ftz] [--print] [...]\n"
    "\n"
    "Runs the stages of a pipeline file in order over the input files (the shards): filters and\n"
    "formatters are fused in one pass per shard, dedup stages run over all shards between passes.\n"
    "Each shard's output (OUT/NNNNN.jsonl.zst), its excluded documents (OUT/excluded/) and stats\n"
    "are written atomically, then a completion marker; a rerun skips finished shards and redoes\n"
    "the rest, so a killed run, rerun, ends with the same files as one clean run. When every\n"
    "shard is done, OUT/stats.json holds the merged counters of every stage.\n"
    "\n"
    "  --rank R --world-size N  this process takes input files R, R+N, ... (sorted order)\n"
    "  -t N                     shards processed at once (default 1)\n"
    "  --on-error skip|stop     malformed records: skip them (counted) or stop (default: the file's)\n"
    "  --recipe fineweb         FineWeb's order: url, language (en, 0.65), gopher_repetition,\n"
    "                           gopher_quality, c4_quality, fineweb_quality, dedup_minhash, pii\n"
    "  --lid-model PATH         the lid.176 model for the recipe's language filter\n"
    "                           (default $SMOL_LID_MODEL, then ./lid.176.ftz)\n"
    "  --print                  print the recipe as a pipeline file and stop\n"
    "  --quiet                  no progress on stderr\n"
    "\n"
    "Pipeline file (TOML; see docs/curate.md and docs/examples/fineweb.toml):\n"
    "  [input]\n"
    "  paths = [\"crawl/*.jsonl.gz\"]\n"
    "  [output]\n"
    "  dir = \"curated\"\n"
    "  [[stage]]\n"
    "  type = \"filter\"\n"
    "  name = \"gopher_quality\"\n"
    "  [stage.options]\n"
    "  min_doc_words = 50\n"
    "  [[stage]]\n"
    "  type = \"dedup_minhash\"\n"
    "\n"
    "examples:\n"
    "  smol curate docs/examples/fineweb.toml -t 2\n"
    "  smol curate --recipe fineweb --lid-model lid.176.ftz crawl/*.jsonl.zst -o curated/\n"
    "  smol curate pipeline.toml --rank 0 --world-size 4 & smol curate pipeline.toml --rank 1 --world-size 4 & ...\n",
    run,
};
