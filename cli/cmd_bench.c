/* cmd_bench.c: `smol bench`: prompt-processing (ppN) and generation (tgN) speed of a model, as
 * llama.cpp's llama-bench measures them: each test runs once to warm up, then -r times from an
 * empty KV cache on seeded random tokens; the table or JSON gives the mean and standard deviation
 * of tokens/s, with llama-bench's field names. */
#include "cli.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LIST 16

typedef struct bench_opts {
    const char *model;
    int threads[MAX_LIST], n_threads;
    int prompts[MAX_LIST], n_prompts;
    int gens[MAX_LIST], n_gens;
    int reps, batch, json, kv_f32;
} bench_opts;

/* What the output rows say about the model. */
typedef struct model_desc {
    char type[96];          /* "llama 135M Q8_0" */
    uint64_t size, n_params;
    char cpu[128];
} model_desc;

/* One test's timings: wall-clock (as llama-bench reports) and process CPU time. */
typedef struct bench_result {
    int n_prompt, n_gen, n_threads;
    char time[32];
    int64_t ns[64], cpu_ns[64];
    int n;
} bench_result;

/* ---------------------------------------------------------------- options */

/* Parses "a,b,c" into out (each in [lo, hi]); 0 with a usage error on bad input. */
static int parse_list(const char *cmd, const char *flag, const char *s, int lo, int hi, int *out, int *n) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long long v;
        if (*n == MAX_LIST) return cli_usage_error(cmd, "%s takes at most %d values", flag, MAX_LIST), 0;
        if (!cli_int(cmd, flag, tok, lo, hi, &v)) return 0;
        out[(*n)++] = (int)v;
    }
    if (*n == 0) return cli_usage_error(cmd, "%s needs at least one value", flag), 0;
    return 1;
}

static int parse(int argc, char **argv, bench_opts *o) {
    const char *cmd = argv[0], *v;
    int bad = 0;
    long long n;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &o->model, &bad) || cli_opt(argc, argv, &i, "--model", &o->model, &bad)) {
            if (bad) return 2;
        } else if (cli_opt(argc, argv, &i, "-t", &v, &bad) || cli_opt(argc, argv, &i, "--threads", &v, &bad)) {
            if (bad || !parse_list(cmd, "-t", v, 1, 1024, o->threads, &o->n_threads)) return 2;
        } else if (cli_opt(argc, argv, &i, "-p", &v, &bad) || cli_opt(argc, argv, &i, "--n-prompt", &v, &bad)) {
            if (bad || !parse_list(cmd, "-p", v, 0, 1 << 20, o->prompts, &o->n_prompts)) return 2;
        } else if (cli_opt(argc, argv, &i, "-n", &v, &bad) || cli_opt(argc, argv, &i, "--n-gen", &v, &bad)) {
            if (bad || !parse_list(cmd, "-n", v, 0, 1 << 20, o->gens, &o->n_gens)) return 2;
        } else if (cli_opt(argc, argv, &i, "-r", &v, &bad) || cli_opt(argc, argv, &i, "--repetitions", &v, &bad)) {
            if (bad || !cli_int(cmd, "-r", v, 1, 64, &n)) return 2;
            o->reps = (int)n;
        } else if (cli_opt(argc, argv, &i, "-b", &v, &bad) || cli_opt(argc, argv, &i, "--batch", &v, &bad)) {
            if (bad || !cli_int(cmd, "-b", v, 1, 1 << 16, &n)) return 2;
            o->batch = (int)n;
        } else if (cli_opt(argc, argv, &i, "-o", &v, &bad) || cli_opt(argc, argv, &i, "--output", &v, &bad)) {
            if (bad) return 2;
            if (strcmp(v, "json") && strcmp(v, "md")) return cli_usage_error(cmd, "-o expects json or md, got '%s'", v);
            o->json = strcmp(v, "json") == 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (cli_opt(argc, argv, &i, "--kv", &v, &bad)) {
            if (bad) return 2;
            if (strcmp(v, "f16") && strcmp(v, "f32")) return cli_usage_error(cmd, "--kv expects f16 or f32, got '%s'", v);
            o->kv_f32 = strcmp(v, "f32") == 0;
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (!o->model) return cli_usage_error(cmd, "missing -m MODEL");
    return 0;
}

/* ---------------------------------------------------------------- the model's description */

/* llama.cpp's name of a general.file_type. */
static const char *ftype_name(int64_t ft) {
    switch (ft) {
    case 0: return "all F32";
    case 1: return "F16";
    case 2: return "Q4_0";
    case 3: return "Q4_1";
    case 7: return "Q8_0";
    case 8: return "Q5_0";
    case 9: return "Q5_1";
    case 10: return "Q2_K - Medium";
    case 11: return "Q3_K - Small";
    case 12: return "Q3_K - Medium";
    case 13: return "Q3_K - Large";
    case 14: return "Q4_K - Small";
    case 15: return "Q4_K - Medium";
    case 16: return "Q5_K - Small";
    case 17: return "Q5_K - Medium";
    case 18: return "Q6_K";
    case 32: return "BF16";
    default: return NULL;
    }
}

/* The CPU's model name from /proc/cpuinfo. */
static void cpu_name(char *out, size_t cap) {
    snprintf(out, cap, "unknown CPU");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (fp && fgets(line, sizeof line, fp)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = 0;
        snprintf(out, cap, "%s", colon);
        break;
    }
    if (fp) fclose(fp);
}

/* Size, parameter count (every tensor, as llama-bench counts them) and type name of the model. */
static void describe(const char *path, const smol_model *m, model_desc *d) {
    const smol_model_info *h = smol_model_get_info(m);
    const char *ft = NULL;
    d->size = d->n_params = 0;
    smol_gguf *g = NULL;
    smol_st *st = NULL;
    if (smol_gguf_open(path, &g, NULL) == SMOL_OK) {
        for (int64_t i = 0; i < smol_gguf_tensor_count(g); i++) {
            const smol_gguf_tensor *t = smol_gguf_tensor_at(g, i);
            d->size += t->nbytes;
            d->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        }
        int64_t v;
        if (smol_gguf_get_int(g, "general.file_type", &v) == SMOL_OK) ft = ftype_name(v);
    } else if (smol_st_open(path, &st, NULL) == SMOL_OK) {
        for (int64_t i = 0; i < smol_st_tensor_count(st); i++) {
            d->size += smol_st_tensor_at(st, i)->nbytes;
            d->n_params += smol_st_tensor_at(st, i)->n_elements;
        }
    }
    smol_gguf_free(g);
    smol_st_free(st);
    if (!d->n_params) d->n_params = h->n_params;
    char upper[16] = {0};
    if (!ft) {
        const char *n = smol_dtype_name(h->weight_type);
        for (int i = 0; n && n[i] && i < 15; i++) upper[i] = (char)(n[i] >= 'a' && n[i] <= 'z' ? n[i] - 32 : n[i]);
        ft = upper;
    }
    double p = (double)d->n_params;
    if (p >= 1e9) snprintf(d->type, sizeof d->type, "%s %.1fB %s", h->arch, p / 1e9, ft);
    else if (p >= 1e6) snprintf(d->type, sizeof d->type, "%s %.0fM %s", h->arch, p / 1e6, ft);
    else snprintf(d->type, sizeof d->type, "%s %.0fK %s", h->arch, p / 1e3, ft);
    cpu_name(d->cpu, sizeof d->cpu);
}

/* ---------------------------------------------------------------- running the tests */

static int64_t now_ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* splitmix64: the seeded stream of random token ids. */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One run from an empty cache: n_prompt tokens in one smol_eval (pp), or n_gen tokens one at a
 * time, each token drawn at random as llama-bench's tg does. */
static int run_once(smol_ctx *c, int n_prompt, int n_gen, int32_t *tokens, uint64_t *rng, int n_vocab,
                    smol_error *err) {
    smol_seq_truncate(c, 0, 0);
    if (n_prompt > 0) {
        for (int i = 0; i < n_prompt; i++) tokens[i] = (int32_t)(next_rand(rng) % (uint64_t)n_vocab);
        return smol_eval(c, 0, tokens, n_prompt, NULL, err);
    }
    for (int i = 0; i < n_gen; i++) {
        int32_t t = (int32_t)(next_rand(rng) % (uint64_t)n_vocab);
        int rc = smol_eval(c, 0, &t, 1, NULL, err);
        if (rc) return rc;
    }
    return SMOL_OK;
}

static int run_test(smol_ctx *c, int n_prompt, int n_gen, int reps, int n_vocab, bench_result *r, smol_error *err) {
    int32_t *tokens = malloc((size_t)(n_prompt > 0 ? n_prompt : 1) * sizeof *tokens);
    if (!tokens) {
        err->code = SMOL_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory for %d prompt tokens", n_prompt);
        return SMOL_ENOMEM;
    }
    uint64_t rng = 1234;
    memset(r, 0, sizeof *r);
    r->n_prompt = n_prompt;
    r->n_gen = n_gen;
    time_t t0 = time(NULL);
    strftime(r->time, sizeof r->time, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t0));
    int rc = run_once(c, n_prompt, n_gen > 0 ? 1 : 0, tokens, &rng, n_vocab, err);  /* warm-up, as llama-bench */
    for (int i = 0; i < reps && !rc; i++) {
        int64_t w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        rc = run_once(c, n_prompt, n_gen, tokens, &rng, n_vocab, err);
        r->ns[i] = now_ns(CLOCK_MONOTONIC) - w0;
        r->cpu_ns[i] = now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
        r->n = i + 1;
    }
    free(tokens);
    return rc;
}

/* ---------------------------------------------------------------- output */

typedef struct stats {
    double avg_ns, std_ns, avg_ts, std_ts, avg_cpu_ns;
} stats;

/* Means and sample standard deviations (n - 1), as llama-bench computes them. */
static stats compute_stats(const bench_result *r) {
    stats s = {0};
    double n_tok = r->n_prompt + r->n_gen, sq_ns = 0, sq_ts = 0;
    for (int i = 0; i < r->n; i++) {
        double ts = n_tok * 1e9 / (double)r->ns[i];
        s.avg_ns += (double)r->ns[i] / r->n;
        s.avg_ts += ts / r->n;
        s.avg_cpu_ns += (double)r->cpu_ns[i] / r->n;
    }
    for (int i = 0; i < r->n; i++) {
        double ts = n_tok * 1e9 / (double)r->ns[i];
        sq_ns += ((double)r->ns[i] - s.avg_ns) * ((double)r->ns[i] - s.avg_ns);
        sq_ts += (ts - s.avg_ts) * (ts - s.avg_ts);
    }
    if (r->n > 1) {
        s.std_ns = sqrt(sq_ns / (r->n - 1));
        s.std_ts = sqrt(sq_ts / (r->n - 1));
    }
    return s;
}

/* A JSON string (the characters JSON requires escaped are escaped). */
static void json_str(FILE *fp, const char *s) {
    fputc('"', fp);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(fp, "\\%c", ch);
        else if (ch < 0x20) fprintf(fp, "\\u%04x", ch);
        else fputc(ch, fp);
    }
    fputc('"', fp);
}

static void print_json_row(FILE *fp, const bench_opts *o, const model_desc *d, const bench_result *r, int first) {
    stats s = compute_stats(r);
    fprintf(fp, "%s  {\n    \"build_commit\": ", first ? "" : ",\n");
    json_str(fp, smol_version());
    fprintf(fp, ",\n    \"build_number\": 0,\n    \"cpu_info\": ");
    json_str(fp, d->cpu);
    fprintf(fp, ",\n    \"gpu_info\": \"\",\n    \"backends\": \"CPU\",\n    \"model_filename\": ");
    json_str(fp, o->model);
    fprintf(fp, ",\n    \"model_type\": ");
    json_str(fp, d->type);
    fprintf(fp,
            ",\n    \"model_size\": %" PRIu64 ",\n    \"model_n_params\": %" PRIu64 ",\n    \"n_batch\": %d,\n"
            "    \"n_ubatch\": %d,\n    \"n_threads\": %d,\n    \"type_k\": \"%s\",\n    \"type_v\": \"%s\",\n"
            "    \"n_prompt\": %d,\n    \"n_gen\": %d,\n    \"n_depth\": 0,\n    \"test_time\": \"%s\",\n"
            "    \"avg_ns\": %.0f,\n    \"stddev_ns\": %.0f,\n    \"avg_ts\": %.6f,\n    \"stddev_ts\": %.6f,\n"
            "    \"avg_cpu_ns\": %.0f,\n    \"samples_ns\": [",
            d->size, d->n_params, o->batch, o->batch, r->n_threads, o->kv_f32 ? "f32" : "f16", o->kv_f32 ? "f32" : "f16",
            r->n_prompt, r->n_gen, r->time, s.avg_ns, s.std_ns, s.avg_ts, s.std_ts, s.avg_cpu_ns);
    for (int i = 0; i < r->n; i++) fprintf(fp, "%s%" PRId64, i ? ", " : " ", r->ns[i]);
    fprintf(fp, " ],\n    \"samples_ts\": [");
    for (int i = 0; i < r->n; i++) fprintf(fp, "%s%g", i ? ", " : " ", (r->n_prompt + r->n_gen) * 1e9 / (double)r->ns[i]);
    fprintf(fp, " ],\n    \"samples_cpu_ns\": [");
    for (int i = 0; i < r->n; i++) fprintf(fp, "%s%" PRId64, i ? ", " : " ", r->cpu_ns[i]);
    fprintf(fp, " ]\n  }");
}

static void print_md_header(FILE *fp) {
    fprintf(fp, "| %-30s | %10s | %10s | %-10s | %7s | %15s | %20s |\n", "model", "size", "params", "backend", "threads",
            "test", "t/s");
    fprintf(fp, "| ------------------------------ | ---------: | ---------: | ---------- | ------: | --------------: "
                "| -------------------: |\n");
}

static void print_md_row(FILE *fp, const model_desc *d, const bench_result *r) {
    stats s = compute_stats(r);
    char size[32], params[32], test[32], ts[48];
    snprintf(size, sizeof size, "%.2f MiB", (double)d->size / (1024.0 * 1024.0));
    if (d->n_params >= 1000000000) snprintf(params, sizeof params, "%.2f B", (double)d->n_params / 1e9);
    else snprintf(params, sizeof params, "%.2f M", (double)d->n_params / 1e6);
    if (r->n_prompt > 0) snprintf(test, sizeof test, "pp%d", r->n_prompt);
    else snprintf(test, sizeof test, "tg%d", r->n_gen);
    snprintf(ts, sizeof ts, "%.2f ± %.2f", s.avg_ts, s.std_ts);
    fprintf(fp, "| %-30s | %10s | %10s | %-10s | %7d | %15s | %21s |\n", d->type, size, params, "CPU", r->n_threads, test,
            ts);
    fflush(fp);
}

/* ---------------------------------------------------------------- the command */

/* Runs every pp test, then every tg test, at thread count t; prints each row as it finishes. */
static int bench_threads(const bench_opts *o, const smol_model *m, const model_desc *d, int t, int *first, smol_error *err) {
    int max_p = 1, max_n = 1;
    for (int i = 0; i < o->n_prompts; i++) max_p = o->prompts[i] > max_p ? o->prompts[i] : max_p;
    for (int i = 0; i < o->n_gens; i++) max_n = o->gens[i] > max_n ? o->gens[i] : max_n;
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = max_p > max_n ? max_p : max_n;
    cp.n_threads = t;
    cp.n_batch = o->batch;
    cp.kv_type = o->kv_f32 ? 0 : 1;
    smol_ctx *c = NULL;
    int rc = smol_ctx_new(m, &cp, &c, err);
    int n_vocab = smol_model_get_info(m)->n_vocab;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        int n = pass == 0 ? o->n_prompts : o->n_gens;
        for (int i = 0; i < n && !rc; i++) {
            int np = pass == 0 ? o->prompts[i] : 0, ng = pass == 0 ? 0 : o->gens[i];
            if (np + ng == 0) continue;
            fprintf(stderr, "bench: %s, %d thread%s, %s%d ...\n", o->model, t, t == 1 ? "" : "s", np ? "pp" : "tg",
                    np ? np : ng);
            bench_result r;
            rc = run_test(c, np, ng, o->reps, n_vocab, &r, err);
            r.n_threads = t;
            if (rc) break;
            if (o->json) print_json_row(stdout, o, d, &r, *first);
            else print_md_row(stdout, d, &r);
            *first = 0;
        }
    }
    smol_ctx_free(c);
    return rc;
}

static int run(int argc, char **argv) {
    bench_opts o = {.threads = {smol_physical_cores()}, .n_threads = 1, .prompts = {512}, .n_prompts = 1,
                    .gens = {128}, .n_gens = 1, .reps = 5, .batch = 512};
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    smol_error err = {0};
    smol_model *m = NULL;
    if (smol_model_load(o.model, NULL, &m, &err)) return cli_fail(argv[0], &err);
    model_desc d;
    describe(o.model, m, &d);
    int first = 1;
    if (o.json) fputs("[\n", stdout);
    else print_md_header(stdout);
    for (int i = 0; i < o.n_threads && !rc; i++) rc = bench_threads(&o, m, &d, o.threads[i], &first, &err);
    if (o.json) fputs("\n]\n", stdout);
    else fprintf(stdout, "\nbuild: smol %s\n", smol_version());
    fflush(stdout);
    smol_model_free(m);
    return rc ? cli_fail(argv[0], &err) : 0;
}

const smol_cmd cmd_bench = {
    "bench", "measure prompt and generation speed (tokens/s), as llama-bench does",
    "usage: smol bench -m MODEL [-t N[,N...]] [-p N[,N...]] [-n N[,N...]] [-r REPS] [-b N] [--json]\n"
    "\n"
    "For each thread count: a ppN test for each -p value (N random prompt tokens evaluated as one\n"
    "batch from an empty KV cache) and a tgN test for each -n value (N random tokens evaluated one\n"
    "at a time from an empty cache). Each test runs once to warm up, then REPS times; the result\n"
    "is the mean and standard deviation of tokens/s over the runs (wall-clock time, as llama-bench\n"
    "reports it; the JSON also holds each run's process CPU time). A value 0 skips that test.\n"
    "\n"
    "options:\n"
    "  -m, --model PATH     a .gguf file or a Hugging Face folder\n"
    "  -t, --threads LIST   thread counts (default: physical cores)\n"
    "  -p, --n-prompt LIST  prompt lengths of the pp tests (default 512)\n"
    "  -n, --n-gen LIST     token counts of the tg tests (default 128)\n"
    "  -r, --repetitions R  measured runs per test (default 5)\n"
    "  -b, --batch N        prompt tokens per forward pass (default 512)\n"
    "  --kv f16|f32         KV cache type (default f16)\n"
    "  --json, -o json      a JSON array with llama-bench's field names instead of the table\n"
    "  -o md                the markdown table (default)\n"
    "\n"
    "Results go to stdout, progress to stderr.\n"
    "\n"
    "examples:\n"
    "  smol bench -m smollm2-135m-q8_0.gguf -t 1,2\n"
    "  smol bench -m model.gguf -p 512 -n 128 -r 3 --json > bench.json\n",
    run,
};
