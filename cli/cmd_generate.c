/* cmd_generate.c: `smol generate`: continue a prompt with a model, streaming the new text to
 * stdout token by token; logs and speed go to stderr. With --seqs N, N continuations (seeds S,
 * S+1, ...) are decoded together and printed as JSON lines at the end. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "gen/grammar.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct gen_opts {
    const char *model, *tokenizer, *prompt, *prompt_file;
    const char *grammar, *regex, *choice, *schema;   /* structured generation (one at most) */
    const char *stops[16];
    int n_stops;
    long long n_predict, threads, ctx, batch, seqs;
    int kv_f32, verbose, no_budget;
    smol_sampler_params sp;
} gen_opts;

static int write_text(void *user, int index, const char *text, size_t len) {
    (void)user, (void)index;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

/* Parses the sampling flags shared with `smol chat`; returns 1 if argv[*i] was one, -1 on a bad value. */
static int parse_sampling(int argc, char **argv, int *i, smol_sampler_params *sp) {
    const char *v;
    int bad = 0;
    long long n;
    double d;
    const char *cmd = argv[0];
    if (cli_opt(argc, argv, i, "--temp", &v, &bad)) {
        if (bad || !cli_float(cmd, "--temp", v, 0, 100, &d)) return -1;
        sp->temperature = (float)d;
    } else if (cli_opt(argc, argv, i, "--top-k", &v, &bad)) {
        if (bad || !cli_int(cmd, "--top-k", v, 0, 1 << 30, &n)) return -1;
        sp->top_k = (int)n;
    } else if (cli_opt(argc, argv, i, "--top-p", &v, &bad)) {
        if (bad || !cli_float(cmd, "--top-p", v, 1e-6, 1, &d)) return -1;
        sp->top_p = (float)d;
    } else if (cli_opt(argc, argv, i, "--min-p", &v, &bad)) {
        if (bad || !cli_float(cmd, "--min-p", v, 0, 1, &d)) return -1;
        sp->min_p = (float)d;
    } else if (cli_opt(argc, argv, i, "--repeat-penalty", &v, &bad)) {
        if (bad || !cli_float(cmd, "--repeat-penalty", v, 1e-3, 100, &d)) return -1;
        sp->repeat_penalty = (float)d;
    } else if (cli_opt(argc, argv, i, "--sampler", &v, &bad)) {
        if (bad) return -1;
        if (strcmp(v, "standard") && strcmp(v, "llama2c"))
            return cli_usage_error(cmd, "--sampler expects standard or llama2c, got '%s'", v), -1;
        sp->llama2c = strcmp(v, "llama2c") == 0;
    } else if (cli_opt(argc, argv, i, "--seed", &v, &bad)) {
        if (bad || !cli_int(cmd, "--seed", v, 0, (long long)1 << 62, &n)) return -1;
        sp->seed = (uint64_t)n;
    } else {
        return 0;
    }
    return 1;
}

static int parse(int argc, char **argv, gen_opts *o) {
    const char *v;
    int bad = 0;
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        int s = parse_sampling(argc, argv, &i, &o->sp);
        if (s < 0) return 2;
        if (s > 0) continue;
        if (cli_opt(argc, argv, &i, "-m", &o->model, &bad) || cli_opt(argc, argv, &i, "--model", &o->model, &bad) ||
            cli_opt(argc, argv, &i, "-p", &o->prompt, &bad) || cli_opt(argc, argv, &i, "--prompt", &o->prompt, &bad) ||
            cli_opt(argc, argv, &i, "-f", &o->prompt_file, &bad) ||
            cli_opt(argc, argv, &i, "--tokenizer", &o->tokenizer, &bad) ||
            cli_opt(argc, argv, &i, "--grammar", &o->grammar, &bad) || cli_opt(argc, argv, &i, "--regex", &o->regex, &bad) ||
            cli_opt(argc, argv, &i, "--choice", &o->choice, &bad) || cli_opt(argc, argv, &i, "--json-schema", &o->schema, &bad)) {
            if (bad) return 2;
        } else if (cli_opt(argc, argv, &i, "-n", &v, &bad)) {
            if (bad || !cli_int(cmd, "-n", v, -1, 1 << 30, &o->n_predict)) return 2;
        } else if (cli_opt(argc, argv, &i, "-t", &v, &bad) || cli_opt(argc, argv, &i, "--threads", &v, &bad)) {
            if (bad || !cli_int(cmd, "-t", v, 1, 1024, &o->threads)) return 2;
        } else if (cli_opt(argc, argv, &i, "--ctx", &v, &bad)) {
            if (bad || !cli_int(cmd, "--ctx", v, 1, 1 << 24, &o->ctx)) return 2;
        } else if (cli_opt(argc, argv, &i, "--seqs", &v, &bad)) {
            if (bad || !cli_int(cmd, "--seqs", v, 1, 256, &o->seqs)) return 2;
        } else if (strcmp(argv[i], "--no-budget-finish") == 0) {
            o->no_budget = 1;
        } else if (cli_opt(argc, argv, &i, "--batch", &v, &bad)) {
            if (bad || !cli_int(cmd, "--batch", v, 1, 1 << 16, &o->batch)) return 2;
        } else if (cli_opt(argc, argv, &i, "--stop", &v, &bad)) {
            if (bad) return 2;
            if (o->n_stops == 16) return cli_usage_error(cmd, "at most 16 --stop strings");
            o->stops[o->n_stops++] = v;
        } else if (cli_opt(argc, argv, &i, "--kv", &v, &bad)) {
            if (bad) return 2;
            if (strcmp(v, "f32") && strcmp(v, "f16")) return cli_usage_error(cmd, "--kv expects f16 or f32, got '%s'", v);
            o->kv_f32 = strcmp(v, "f32") == 0;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            o->verbose = 1;
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!o->model) return cli_usage_error(cmd, "-m MODEL is required");
    if (o->prompt && o->prompt_file) return cli_usage_error(cmd, "give -p or -f, not both");
    if (!!o->grammar + !!o->regex + !!o->choice + !!o->schema > 1)
        return cli_usage_error(cmd, "give at most one of --grammar, --regex, --choice, --json-schema");
    return 0;
}

/* Loads model, tokenizer and context as the options say. */
static int open_all(const gen_opts *o, smol_model **m, smol_tokenizer **tok, smol_ctx **c, smol_error *err) {
    int rc = smol_model_load(o->model, NULL, m, err);
    if (!rc) rc = smol_tokenizer_load(o->tokenizer ? o->tokenizer : o->model, tok, err);
    if (rc) return rc;
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = (int)o->ctx;
    cp.n_threads = (int)o->threads;
    cp.n_seq = (int)o->seqs;
    if (o->batch) cp.n_batch = (int)o->batch;
    cp.kv_type = o->kv_f32 ? 0 : 1;
    return smol_ctx_new(*m, &cp, c, err);
}

static const char *const k_reasons[] = {"length", "end of generation", "stop string", "callback", "context full"};

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Speed on stderr; with -v also the shape, the seed and the process CPU time of the run (prompt
 * and generation, constraint masks included), which stays meaningful on a loaded machine. */
static void report(const gen_opts *o, const smol_model *m, const smol_gen_result *r, double cpu) {
    const smol_model_info *h = smol_model_get_info(m);
    if (o->verbose)
        fprintf(stderr, "\nsmol generate: %s, %d layers, %d embd, vocab %d, weights %s, seed %llu\n", h->arch, h->n_layer,
                h->n_embd, h->n_vocab, smol_dtype_name(h->weight_type), (unsigned long long)o->sp.seed);
    fprintf(stderr, "\nprompt: %d tokens, %.1f ms (%.1f t/s); generated: %d tokens, %.1f ms (%.1f t/s); stop: %s\n",
            r->n_prompt, r->prompt_ms, r->prompt_ms > 0 ? r->n_prompt * 1e3 / r->prompt_ms : 0.0, r->n_gen, r->gen_ms,
            r->gen_ms > 0 ? r->n_gen * 1e3 / r->gen_ms : 0.0, k_reasons[r->stop_reason % 5]);
    if (o->verbose)
        fprintf(stderr, "cpu: %.1f ms (%.2f generated tokens per CPU second)\n", cpu, cpu > 0 ? r->n_gen * 1e3 / cpu : 0.0);
}

/* The texts of a --seqs run, one per sequence. */
typedef struct seq_text {
    char *p;
    size_t n, cap;
} seq_text;

static int collect_text(void *user, int index, const char *text, size_t len) {
    seq_text *t = &((seq_text *)user)[index];
    if (t->n + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        while (cap < t->n + len + 1) cap *= 2;
        char *q = realloc(t->p, cap);
        if (!q) return 1;
        t->p = q, t->cap = cap;
    }
    memcpy(t->p + t->n, text, len);
    t->n += len;
    t->p[t->n] = 0;
    return 0;
}

/* Prints one JSON line per sequence of a --seqs run: seq, seed, stop, tokens, text. */
static int print_seqs(const gen_opts *o, const seq_text *texts, const smol_gen_result *res, int n) {
    for (int i = 0; i < n; i++) {
        cJSON *j = cJSON_CreateObject();
        if (!j || !cJSON_AddNumberToObject(j, "seq", i) || !cJSON_AddNumberToObject(j, "seed", (double)(o->sp.seed + (uint64_t)i)) ||
            !cJSON_AddStringToObject(j, "stop", k_reasons[res[i].stop_reason % 5]) ||
            !cJSON_AddNumberToObject(j, "tokens", res[i].n_gen) || !cJSON_AddStringToObject(j, "text", texts[i].p ? texts[i].p : "")) {
            cJSON_Delete(j);
            return SMOL_ENOMEM;
        }
        char *line = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!line) return SMOL_ENOMEM;
        printf("%s\n", line);
        free(line);
    }
    return 0;
}

/* One grammar filter per sequence of a --seqs run: sequence 0 keeps the one cli_constraint_attach
 * set up, the others get clones of its matcher. users[i] is sequence i's filter. */
static int clone_filters(const smol_sampler_params *sp, const smol_ctx *c, int n, smol_grammar_filter *fs,
                         smol_matcher **ms, void **users, smol_error *err) {
    smol_grammar_filter *f0 = sp->filter_user;
    users[0] = f0;
    for (int i = 1; i < n; i++) {
        if (!(ms[i] = smol_matcher_clone(f0->m))) return smol_fail(err, SMOL_ENOMEM, "out of memory");
        int rc = smol_grammar_filter_init(&fs[i], ms[i], c, i, err);
        if (rc) return rc;
        users[i] = &fs[i];
    }
    return SMOL_OK;
}

/* Generates with the loaded model: one streamed text, or o->seqs JSON lines. */
static int generate(const gen_opts *o, smol_ctx *c, const smol_tokenizer *tok, const smol_model *m, const char *prompt,
                    smol_gen_params *gp, smol_error *err) {
    int n = (int)o->seqs, rc;
    double cpu0 = cpu_ms();
    if (n == 1) {
        smol_gen_result res = {0};
        rc = smol_generate(c, tok, prompt, gp, write_text, NULL, &res, err);
        fflush(stdout);
        if (!rc) report(o, m, &res, cpu_ms() - cpu0);
        return rc;
    }
    const char **prompts = malloc((size_t)n * sizeof *prompts);
    seq_text *texts = calloc((size_t)n, sizeof *texts);
    smol_gen_result *res = calloc((size_t)n, sizeof *res);
    smol_grammar_filter *fs = calloc((size_t)n, sizeof *fs);
    smol_matcher **ms = calloc((size_t)n, sizeof *ms);
    void **users = calloc((size_t)n, sizeof *users);
    rc = prompts && texts && res && fs && ms && users ? SMOL_OK : smol_fail(err, SMOL_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < n; i++) prompts[i] = prompt;
    if (!rc && gp->sampling.filter == smol_grammar_filter_apply) {
        rc = clone_filters(&gp->sampling, c, n, fs, ms, users, err);
        gp->filter_users = (void *const *)users;
    }
    if (!rc) rc = smol_generate_batch(c, tok, n, prompts, gp, collect_text, texts, res, err);
    if (!rc && print_seqs(o, texts, res, n)) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    fflush(stdout);
    if (!rc) {
        smol_gen_result all = res[0];
        for (int i = 1; i < n; i++) all.n_gen += res[i].n_gen, all.n_prompt += res[i].n_prompt;
        report(o, m, &all, cpu_ms() - cpu0);
    }
    for (int i = 0; i < n; i++) {
        if (texts) free(texts[i].p);
        if (fs && i > 0) smol_grammar_filter_free(&fs[i]);
        if (ms) smol_matcher_free(ms[i]);
    }
    free(prompts), free(texts), free(res), free(fs), free(ms), free(users);
    return rc;
}

static int run(int argc, char **argv) {
    gen_opts o = {.n_predict = 128, .seqs = 1};
    o.sp = smol_sampler_default_params();
    o.sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    smol_error err = {0};
    char *prompt = NULL;
    if (o.prompt_file) {
        size_t size;
        if (smol_read_file(o.prompt_file, &prompt, &size, &err)) return cli_fail(argv[0], &err);
    }
    smol_model *m = NULL;
    smol_tokenizer *tok = NULL;
    smol_ctx *c = NULL;
    cli_constraint *k = NULL;
    if ((o.grammar || o.regex || o.choice || o.schema) && (rc = cli_constraint_new(o.grammar, o.regex, o.choice, o.schema, &k, &err))) {
        fprintf(stderr, "smol %s: %s\n", argv[0], err.msg);
        free(prompt);
        return rc == SMOL_EIO || rc == SMOL_ENOMEM ? 1 : 2;
    }
    rc = open_all(&o, &m, &tok, &c, &err);
    smol_gen_params gp = smol_gen_default_params();
    gp.n_predict = (int)o.n_predict;
    gp.budget_finish = !o.no_budget;
    if (!rc && k) rc = cli_constraint_attach(k, tok, c, &o.sp, &err);
    gp.sampling = o.sp;
    gp.stop = o.stops;
    gp.n_stop = o.n_stops;
    if (!rc) rc = generate(&o, c, tok, m, prompt ? prompt : o.prompt ? o.prompt : "", &gp, &err);
    cli_constraint_free(k);
    smol_ctx_free(c);
    smol_tokenizer_free(tok);
    smol_model_free(m);
    free(prompt);
    return rc ? cli_fail(argv[0], &err) : 0;
}

const smol_cmd cmd_generate = {
    "generate", "continue a prompt with a model (GGUF or Hugging Face folder)",
    "usage: smol generate -m MODEL [-p PROMPT | -f FILE] [options]\n"
    "\n"
    "Runs a Llama-family model (llama, qwen2) on the CPU and prints the new text to stdout as\n"
    "it is generated (the prompt itself is not printed). An empty prompt starts from BOS.\n"
    "Speed (prompt and generation tokens/s) is reported on stderr.\n"
    "\n"
    "options:\n"
    "  -m, --model PATH      a .gguf file or a Hugging Face folder (config.json + safetensors)\n"
    "  --tokenizer PATH      tokenizer (.gguf, tokenizer.json or folder); default: the model\n"
    "  -p, --prompt TEXT     the prompt (default: empty)\n"
    "  -f FILE               read the prompt from FILE ('-' for stdin)\n"
    "  -n N                  the most new tokens (default 128; -1: until the end token)\n"
    "  --temp T              temperature, 0 for greedy (default 0.8)\n"
    "  --top-k K             keep the K most likely tokens, 0 off (default 40)\n"
    "  --top-p P             nucleus sampling, 1 off (default 0.95)\n"
    "  --min-p P             drop tokens below P x the best one's probability (default 0.05)\n"
    "  --repeat-penalty R    penalise the last 64 tokens, 1 off (default 1)\n"
    "  --seed S              random seed (default: from the clock)\n"
    "  --sampler NAME        standard (default) or llama2c: llama2.c's exact sampler and\n"
    "                        random stream (temperature and --top-p only)\n"
    "  --stop TEXT           stop before TEXT (repeatable)\n"
    "  -t, --threads N       threads (default: physical cores)\n"
    "  --ctx N               context length (default: the model's)\n"
    "  --batch N             prompt tokens per forward pass (default 256)\n"
    "  --kv f16|f32          KV cache type (default f16)\n"
    "  -v, --verbose         print the model's shape, the seed and the CPU time on stderr\n"
    "  --grammar FILE        constrain the output to a GBNF grammar (llama.cpp syntax, rule root)\n"
    "  --regex R             constrain the output to match regular expression R\n"
    "  --choice 'A|B|C'      constrain the output to one of the texts\n"
    "  --json-schema FILE    constrain the output to JSON valid under a JSON Schema\n"
    "                        (generation ends when the constraint is complete and only the end token fits)\n"
    "  --no-budget-finish    under a constraint, do not steer the output to complete within -n and\n"
    "                        the context (by default it is: near the end, only tokens after which the\n"
    "                        shortest completion still fits are drawn, and a constraint whose shortest\n"
    "                        output cannot fit is an error before generating)\n"
    "  --seqs N              decode N continuations together (seeds S, S+1, ...; one matcher each)\n"
    "                        and print one JSON line per sequence at the end:\n"
    "                        {\"seq\", \"seed\", \"stop\", \"tokens\", \"text\"}\n"
    "\n"
    "examples:\n"
    "  smol generate -m stories260K.gguf -n 200 --temp 0\n"
    "  smol generate -m SmolLM2-135M -p 'The capital of France is' -n 32 --temp 0.7 --seed 1\n"
    "  smol generate -m stories260K.gguf -n 256 --temp 1 --top-p 0.9 --seed 133742 --sampler llama2c\n"
    "  smol generate -m SmolLM2-135M -p 'Answer yes or no:' --choice 'yes|no' --temp 0\n"
    "  smol generate -m SmolLM2-135M -p 'A person:' --json-schema person.json --seqs 8 --seed 1 -n 64\n",
    run,
};
