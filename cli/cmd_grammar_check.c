/* cmd_grammar_check.c: `smol grammar-check`: compiles a constraint (GBNF grammar, regex, choice
 * list or JSON Schema) against a tokenizer and checks JSONL instances token by token, computing
 * the token mask at every step (the time the statistics report). */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/jsonl.h"
#include "gen/grammar.h"
#include "gen/schema.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char k_usage[] =
    "usage: smol grammar-check -m TOKENIZER CONSTRAINT [--jsonl INSTANCES] [--stats]\n"
    "       smol grammar-check -m TOKENIZER --batch CASES\n"
    "\n"
    "Compiles a constraint for a tokenizer and checks texts against it: each line {\"text\": ...} of\n"
    "INSTANCES is tokenized (no BOS) and walked through the matcher token by token, the allowed-token\n"
    "mask being computed at every step; prints `accept` or `reject` per line, in order.\n"
    "\n"
    "  -m, --model TOKENIZER   a tokenizer.json, a folder holding one, or a GGUF model\n"
    "  --grammar FILE          a GBNF grammar (llama.cpp syntax), start rule `root`\n"
    "  --regex R               a regular expression the whole text must match (ECMA-262 subset)\n"
    "  --choice 'A|B|C'        one of the texts separated by '|'\n"
    "  --json-schema FILE      a JSON Schema (compiled to GBNF)\n"
    "  --any-order             JSON Schema objects: members in any order (default: the schema's\n"
    "                          order); each listed property at most once\n"
    "  --format-annotation     JSON Schema `format` constrains nothing, as draft 2020-12 says by\n"
    "                          default (default: formats are enforced)\n"
    "  --jsonl FILE            the instances (plain, .gz or .zst; '-' for stdin); without it the\n"
    "                          constraint is only compiled\n"
    "  --stats                 a final JSON line: {\"compile_us\":..., \"mask_us\":{\"p50\",\"p90\",\"p99\",\"max\",\"n\"}}\n"
    "                          (thread CPU time of compiling, and of each mask computation)\n"
    "\n"
    "  --batch CASES           many constraints in one run (one tokenizer load): each line of CASES is\n"
    "                          {\"name\": N, \"schema\": {...} | \"grammar\": GBNF | \"regex\": R,\n"
    "                          \"texts\": [...]}; prints per line {\"name\", \"ok\", \"compile_us\",\n"
    "                          \"accept\": [0/1 per text], \"mask_us\": [every step]} or {\"name\",\n"
    "                          \"ok\": false, \"error\"} for a constraint that does not compile\n"
    "  --slow US               on stderr, every mask that took more than US microseconds, with the\n"
    "                          text before it (to find and profile the slow states)\n"
    "\n"
    "A constraint that does not compile exits 2 with its error.\n"
    "\n"
    "example:\n"
    "  smol grammar-check -m tokenizer.json --grammar json.gbnf --jsonl docs.jsonl --stats\n"
    "  smol grammar-check -m tokenizer.json --batch cases.jsonl > results.jsonl\n"
    "  smol grammar-check -m tokenizer.json --json-schema s.json --any-order --format-annotation --jsonl t.jsonl\n";

typedef struct gc_opts {
    const char *model, *grammar, *regex, *choice, *schema, *jsonl, *batch, *slow;
    int stats;
    unsigned schema_flags;  /* SMOL_SCHEMA_* for --json-schema and --batch schemas */
} gc_opts;

/* CPU time of this thread in microseconds: the figures hold up when other work shares the cores. */
static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int parse(int argc, char **argv, gc_opts *o) {
    int bad = 0;
    const char *cmd = argv[0];
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &o->model, &bad) || cli_opt(argc, argv, &i, "--model", &o->model, &bad) ||
            cli_opt(argc, argv, &i, "--grammar", &o->grammar, &bad) || cli_opt(argc, argv, &i, "--regex", &o->regex, &bad) ||
            cli_opt(argc, argv, &i, "--choice", &o->choice, &bad) ||
            cli_opt(argc, argv, &i, "--json-schema", &o->schema, &bad) || cli_opt(argc, argv, &i, "--jsonl", &o->jsonl, &bad) ||
            cli_opt(argc, argv, &i, "--batch", &o->batch, &bad) || cli_opt(argc, argv, &i, "--slow", &o->slow, &bad)) {
            if (bad) return 2;
        } else if (strcmp(argv[i], "--stats") == 0) {
            o->stats = 1;
        } else if (strcmp(argv[i], "--any-order") == 0) {
            o->schema_flags |= SMOL_SCHEMA_ANY_ORDER;
        } else if (strcmp(argv[i], "--format-annotation") == 0) {
            o->schema_flags |= SMOL_SCHEMA_FORMAT_ANNOTATION;
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!o->model) return cli_usage_error(cmd, "-m TOKENIZER is required");
    char *e = NULL;
    if (o->slow && (strtod(o->slow, &e) < 0 || e == o->slow || *e))
        return cli_usage_error(cmd, "--slow takes a number of microseconds, not '%s'", o->slow);
    int n = !!o->grammar + !!o->regex + !!o->choice + !!o->schema;
    if (o->batch && (n || o->jsonl || o->stats))
        return cli_usage_error(cmd, "--batch takes its constraints and texts from its file");
    if (o->batch) return 0;
    if (n != 1) return cli_usage_error(cmd, "give exactly one of --grammar, --regex, --choice, --json-schema");
    if (o->schema_flags && !o->schema) return cli_usage_error(cmd, "--any-order and --format-annotation apply to --json-schema or --batch");
    return 0;
}

/* JSON Schema text -> GBNF text (replacing *text, which is freed). */
static int cli_schema_to_gbnf(const char *json, size_t len, unsigned flags, char **text, size_t *tlen, smol_error *err) {
    char *gbnf = NULL;
    int rc = smol_schema_to_gbnf(json, len, flags, &gbnf, err);
    if (rc) return rc;
    free(*text);
    *text = gbnf;
    *tlen = strlen(gbnf);
    return SMOL_OK;
}

/* Compiles the constraint the options name (a schema with SMOL_SCHEMA_* flags); returns SMOL_OK
 * or the status with err set. */
static int cli_compile_constraint(const char *grammar, const char *regex, const char *choice, const char *schema,
                                  unsigned flags, smol_grammar **out, smol_error *err) {
    int rc;
    if (regex) return smol_grammar_from_regex(regex, out, err);
    if (choice) {
        char *copy = strdup(choice);
        const char **parts = malloc((strlen(choice) + 2) * sizeof *parts);
        if (!copy || !parts) {
            free(copy), free(parts);
            return smol_fail(err, SMOL_ENOMEM, "out of memory");
        }
        int n = 0;
        for (char *p = copy, *q;; p = q + 1) {
            parts[n++] = p;
            if (!(q = strchr(p, '|'))) break;
            *q = 0;
        }
        rc = smol_grammar_from_choice(parts, n, out, err);
        free(copy), free(parts);
        return rc;
    }
    char *text = NULL;
    size_t len = 0;
    const char *path = grammar ? grammar : schema;
    rc = smol_read_file(path, &text, &len, err);
    if (rc) return rc;
    if (schema) {
        rc = cli_schema_to_gbnf(text, len, flags, &text, &len, err);
        if (rc) smol_error_prefix(err, "%s", path);
    }
    if (!rc) {
        rc = smol_grammar_from_gbnf(text, len, "root", out, err);
        if (rc) smol_error_prefix(err, "%s", path);
    }
    free(text);
    return rc;
}

struct cli_constraint {
    smol_grammar *g;
    smol_token_index *ti;
    smol_matcher *m;
    smol_grammar_filter f;
};

int cli_constraint_new(const char *grammar, const char *regex, const char *choice, const char *schema,
                       cli_constraint **out, smol_error *err) {
    *out = calloc(1, sizeof **out);
    if (!*out) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    int rc = cli_compile_constraint(grammar, regex, choice, schema, 0, &(*out)->g, err);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int cli_constraint_attach(cli_constraint *k, const smol_tokenizer *tok, const smol_ctx *c, smol_sampler_params *sp,
                          smol_error *err) {
    int rc = smol_token_index_new(tok, &k->ti, err);
    if (!rc) rc = smol_matcher_new(k->g, k->ti, &k->m, err);
    if (!rc) rc = smol_grammar_filter_init(&k->f, k->m, c, 0, err);
    if (rc) return rc;
    sp->filter = smol_grammar_filter_apply;
    sp->filter_user = &k->f;
    return SMOL_OK;
}

void cli_constraint_free(cli_constraint *k) {
    if (!k) return;
    smol_grammar_filter_free(&k->f);
    smol_matcher_free(k->m);
    smol_token_index_free(k->ti);
    smol_grammar_free(k->g);
    free(k);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct timings {
    double *v;
    size_t n, cap;
    double slow_us;         /* report masks slower than this on stderr (< 0: none) */
    const char *name;       /* the constraint, in those reports */
} timings;

static int add_time(timings *t, double us) {
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1024;
        double *q = realloc(t->v, nc * sizeof *q);
        if (!q) return SMOL_ENOMEM;
        t->v = q, t->cap = nc;
    }
    t->v[t->n++] = us;
    return 0;
}

/* Prints on stderr a mask that took us microseconds (allowing n tokens) after the first k tokens
 * of ids, with their text. */
static void report_slow(const smol_tokenizer *tok, const char *name, const int32_t *ids, size_t k, double us, int n) {
    char *text = NULL;
    size_t len = 0;
    smol_error e = {0};
    if (smol_detokenize(tok, ids, k, SMOL_DETOKENIZE_LOSSY | SMOL_DETOKENIZE_KEEP_SPACE, &text, &len, &e)) text = NULL;
    fprintf(stderr, "slow mask: %.0f us, %d allowed, %s, step %zu after: ", us, n, name, k);
    char *q = cJSON_PrintUnformatted(&(cJSON){.type = cJSON_String, .valuestring = text ? text : (char *)""});
    fprintf(stderr, "%s\n", q ? q : "?");
    free(q), free(text);
}

/* Walks one text through m token by token; *accept is 1 if every token was allowed and the
 * grammar could end (end-of-generation allowed) after the last. */
static int check_text(smol_matcher *m, const smol_tokenizer *tok, uint32_t *mask, const char *text, size_t len,
                      timings *tm, int *accept, smol_error *err) {
    smol_tokens ids = {0};
    int rc = smol_tokenize(tok, text, len, 0, &ids, err);
    if (rc) return rc;
    smol_matcher_rollback(m, smol_matcher_n_steps(m));
    *accept = 1;
    for (size_t i = 0; i <= ids.n && *accept; i++) {
        double t0 = now_us();
        int n = smol_matcher_mask(m, mask);
        double t1 = now_us();
        if (n < 0) {
            free(ids.ids);
            return smol_fail(err, n, "computing a token mask failed");
        }
        if (add_time(tm, t1 - t0)) {
            free(ids.ids);
            return smol_fail(err, SMOL_ENOMEM, "out of memory");
        }
        if (tm->slow_us >= 0 && t1 - t0 > tm->slow_us) report_slow(tok, tm->name, ids.ids, i, t1 - t0, n);
        if (i == ids.n) {
            *accept = smol_matcher_can_end(m);
            break;
        }
        int32_t id = ids.ids[i];
        if (!(mask[id >> 5] >> (id & 31) & 1)) *accept = 0;
        else if (smol_matcher_accept_token(m, id)) *accept = 0;
    }
    free(ids.ids);
    return SMOL_OK;
}

static int check_all(const gc_opts *o, const smol_tokenizer *tok, smol_matcher *m, timings *tm, smol_error *err) {
    smol_lines *r = NULL;
    int rc = smol_lines_open(o->jsonl, &r, err);
    if (rc) return rc;
    uint32_t *mask = malloc(((size_t)smol_tokenizer_n_vocab(tok) + 31) / 32 * 4);
    if (!mask) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    cJSON *doc = NULL;
    while (!rc && (rc = smol_jsonl_next(r, &doc, err)) == 1) {
        rc = 0;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "text");
        if (!cJSON_IsString(t)) {
            rc = smol_fail(err, SMOL_EFORMAT, "%s:%lld: no \"text\" string", o->jsonl, (long long)smol_lines_lineno(r));
        } else {
            int accept = 0;
            rc = check_text(m, tok, mask, t->valuestring, strlen(t->valuestring), tm, &accept, err);
            if (!rc) puts(accept ? "accept" : "reject");
        }
        cJSON_Delete(doc);
    }
    free(mask);
    smol_lines_close(r);
    return rc < 0 ? rc : 0;
}

static void print_stats(double compile_us, timings *tm) {
    qsort(tm->v, tm->n, sizeof *tm->v, cmp_double);
    double q[4] = {0, 0, 0, 0};
    const double at[4] = {0.5, 0.9, 0.99, 1.0};
    for (int k = 0; k < 4 && tm->n; k++) {
        size_t i = (size_t)(at[k] * (double)(tm->n - 1) + 0.5);
        q[k] = tm->v[i];
    }
    printf("{\"compile_us\":%.1f,\"mask_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"max\":%.2f,\"n\":%zu}}\n",
           compile_us, q[0], q[1], q[2], q[3], tm->n);
}

/* The grammar of one --batch case: its "schema" (an object or boolean; compiled from its own
 * text schema[0..schema_len) in the line, so nothing cJSON cannot hold, such as U+0000 in a
 * string, is lost on the way), "grammar" or "regex". */
static int batch_compile(const cJSON *doc, const char *schema, size_t schema_len, unsigned flags, smol_grammar **g,
                         smol_error *err) {
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(doc, "schema");
    const cJSON *gr = cJSON_GetObjectItemCaseSensitive(doc, "grammar");
    const cJSON *re = cJSON_GetObjectItemCaseSensitive(doc, "regex");
    if (cJSON_IsString(re)) return smol_grammar_from_regex(re->valuestring, g, err);
    if (cJSON_IsString(gr)) return smol_grammar_from_gbnf(gr->valuestring, strlen(gr->valuestring), "root", g, err);
    if (!sc || !schema) return smol_fail(err, SMOL_EFORMAT, "no \"schema\", \"grammar\" or \"regex\"");
    char *gbnf = NULL;
    int rc = smol_schema_to_gbnf(schema, schema_len, flags, &gbnf, err);
    if (!rc) rc = smol_grammar_from_gbnf(gbnf, strlen(gbnf), "root", g, err);
    free(gbnf);
    return rc;
}

/* Prints s as a JSON string. */
static void print_json_string(const char *s) {
    char *q = cJSON_PrintUnformatted(&(cJSON){.type = cJSON_String, .valuestring = (char *)s});
    fputs(q ? q : "\"\"", stdout);
    free(q);
}

/* One --batch case: compile (timed), walk every text, print its result line. */
static int batch_case(const cJSON *doc, const char *schema, size_t schema_len, unsigned flags, double slow_us,
                      const smol_tokenizer *tok, const smol_token_index *ti, uint32_t *mask, smol_error *err) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name"), *texts = cJSON_GetObjectItemCaseSensitive(doc, "texts");
    smol_grammar *g = NULL;
    smol_matcher *m = NULL;
    smol_error cerr = {0};
    double c0 = now_us();
    int rc = batch_compile(doc, schema, schema_len, flags, &g, &cerr);
    if (!rc) rc = smol_matcher_new(g, ti, &m, &cerr);
    double compile_us = now_us() - c0;
    fputs("{\"name\":", stdout);
    print_json_string(cJSON_IsString(name) ? name->valuestring : "");
    if (rc == SMOL_ENOMEM) return smol_grammar_free(g), *err = cerr, rc;
    if (rc) {
        fputs(",\"ok\":false,\"error\":", stdout);
        print_json_string(cerr.msg);
        puts("}");
        return SMOL_OK;
    }
    printf(",\"ok\":true,\"compile_us\":%.1f,\"accept\":[", compile_us);
    timings tm = {.slow_us = slow_us, .name = cJSON_IsString(name) ? name->valuestring : ""};
    const cJSON *t;
    int k = 0;
    cJSON_ArrayForEach(t, texts) {
        int accept = 0;
        if (!cJSON_IsString(t)) rc = smol_fail(err, SMOL_EFORMAT, "a \"texts\" item is not a string");
        if (!rc) rc = check_text(m, tok, mask, t->valuestring, strlen(t->valuestring), &tm, &accept, err);
        if (rc) break;
        printf("%s%d", k++ ? "," : "", accept);
    }
    fputs("],\"mask_us\":[", stdout);
    for (size_t i = 0; i < tm.n; i++) printf("%s%.2f", i ? "," : "", tm.v[i]);
    puts("]}");
    free(tm.v);
    smol_matcher_free(m);
    smol_grammar_free(g);
    return rc;
}

/* --batch: every case of the file, one result line each. */
static int run_batch(const char *path, unsigned flags, double slow_us, const smol_tokenizer *tok,
                     const smol_token_index *ti, smol_error *err) {
    smol_lines *r = NULL;
    int rc = smol_lines_open(path, &r, err);
    if (rc) return rc;
    uint32_t *mask = malloc(((size_t)smol_tokenizer_n_vocab(tok) + 31) / 32 * 4);
    if (!mask) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    const char *line;
    size_t len;
    cJSON *doc = NULL;
    while (!rc && (rc = smol_jsonl_next_line(r, &doc, &line, &len, err)) == 1) {
        smol_json_field schema = {.name = "schema"};
        smol_json_scan scan;
        if (smol_json_scan_object(line, len, &schema, 1, &scan)) {   /* JSON only as cJSON reads it */
            rc = smol_fail(err, SMOL_EFORMAT, "%s:%lld: invalid JSON near byte %zu", path, (long long)smol_lines_lineno(r),
                           scan.err_at + 1);
            cJSON_Delete(doc);
            break;
        }
        const char *sch = schema.type != SMOL_JSON_NONE ? line + schema.at : NULL;
        rc = batch_case(doc, sch, schema.end - schema.at, flags, slow_us, tok, ti, mask, err);
        if (rc) smol_error_prefix(err, "%s:%lld", path, (long long)smol_lines_lineno(r));
        cJSON_Delete(doc);
        fflush(stdout);
    }
    free(mask);
    smol_lines_close(r);
    return rc < 0 ? rc : 0;
}

static int run(int argc, char **argv) {
    gc_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    smol_error err = {0};
    smol_tokenizer *tok = NULL;
    smol_token_index *ti = NULL;
    if (smol_tokenizer_load(o.model, &tok, &err)) return cli_fail(argv[0], &err);
    double t0 = now_us();
    if (smol_token_index_new(tok, &ti, &err)) {
        smol_tokenizer_free(tok);
        return cli_fail(argv[0], &err);
    }
    double t1 = now_us();
    fprintf(stderr, "smol grammar-check: token index of %d tokens in %.1f ms\n", smol_tokenizer_n_vocab(tok), (t1 - t0) / 1e3);
    if (o.batch) {
        rc = run_batch(o.batch, o.schema_flags, o.slow ? strtod(o.slow, NULL) : -1, tok, ti, &err);
        smol_token_index_free(ti);
        smol_tokenizer_free(tok);
        fflush(stdout);
        return rc ? cli_fail(argv[0], &err) : 0;
    }
    smol_grammar *g = NULL;
    smol_matcher *m = NULL;
    double c0 = now_us();
    rc = cli_compile_constraint(o.grammar, o.regex, o.choice, o.schema, o.schema_flags, &g, &err);
    if (rc) {
        fprintf(stderr, "smol %s: %s\n", argv[0], err.msg);
        smol_token_index_free(ti);
        smol_tokenizer_free(tok);
        return rc == SMOL_EIO || rc == SMOL_ENOMEM ? 1 : 2;
    }
    rc = smol_matcher_new(g, ti, &m, &err);
    double compile_us = now_us() - c0;
    timings tm = {.slow_us = o.slow ? strtod(o.slow, NULL) : -1, .name = o.grammar ? o.grammar : o.schema ? o.schema : "constraint"};
    if (!rc) fprintf(stderr, "smol grammar-check: %d rules, compiled in %.1f us\n", smol_grammar_n_rules(g), compile_us);
    if (!rc && o.jsonl) rc = check_all(&o, tok, m, &tm, &err);
    if (!rc && o.stats) print_stats(compile_us, &tm);
    free(tm.v);
    smol_matcher_free(m);
    smol_grammar_free(g);
    smol_token_index_free(ti);
    smol_tokenizer_free(tok);
    fflush(stdout);
    return rc ? cli_fail(argv[0], &err) : 0;
}

const smol_cmd cmd_grammar_check = {
    .name = "grammar-check",
    .summary = "check texts against a grammar, regex, choice or JSON Schema token by token",
    .usage = k_usage,
    .run = run,
};
