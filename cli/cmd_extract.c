/* cmd_extract.c: `smol extract`: structured extraction. For each input (a text file, or each
 * JSONL document's text field) a NuExtract-style prompt (or the model's chat template) asks for a
 * JSON object following a JSON Schema; generation is constrained by the schema's grammar (the
 * sampler's token filter driven by a grammar matcher) and every object is checked by the
 * validator before it is written, one per line. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/jsonl.h"
#include "gen/grammar.h"
#include "gen/jsonschema.h"
#include "gen/schema.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define NAME "extract"

typedef struct extract_opts {
    const char *model, *tokenizer, *schema, *instructions, *field, *out, *style, *template_name;
    const char *inputs[256];
    int n_inputs, jsonl, compact, lenient;
    long long n_predict, threads, ctx;
    smol_sampler_params sp;
} extract_opts;

/* ---------------------------------------------------------------- the prompt */

/* NuExtract's template for schema s: an object per object, [element] per array, enum values
 * as a list of choices, "" for every other field. */
static cJSON *template_of(const cJSON *s, const smol_jschema *js, int depth) {
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
    if (cJSON_IsString(ref) && depth < 16) {
        const cJSON *t = smol_jschema_resolve(js, ref->valuestring);
        if (t) return template_of(t, js, depth + 1);
    }
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (cJSON_IsObject(props) && depth < 16) {
        cJSON *o = cJSON_CreateObject();
        for (const cJSON *p = props->child; p; p = p->next) cJSON_AddItemToObject(o, p->string, template_of(p, js, depth + 1));
        return o;
    }
    if (cJSON_IsObject(items) && depth < 16) {
        cJSON *a = cJSON_CreateArray();
        cJSON_AddItemToArray(a, template_of(items, js, depth + 1));
        return a;
    }
    if (cJSON_IsArray(en)) return cJSON_Duplicate(en, 1);
    return cJSON_CreateString("");
}

static const char *k_default_instructions =
    "Extract the information described by the template from the text. Answer with one JSON object.";

/* The prompt for one text; malloc'd. style is "nuextract" or a chat template name. */
static int build_prompt(const extract_opts *o, const char *style, const char *tmpl, const char *text, char **out,
                        smol_error *err) {
    const char *ins = o->instructions ? o->instructions : NULL;
    size_t n = strlen(tmpl) + strlen(text) + (ins ? strlen(ins) : 0) + strlen(k_default_instructions) + 128;
    char *body = malloc(n);
    if (!body) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (strcmp(style, "nuextract") == 0) {
        snprintf(body, n, "<|input|>\n%s%s### Template:\n%s\n### Text:\n%s\n\n<|output|>", ins ? ins : "", ins ? "\n" : "",
                 tmpl, text);
        *out = body;
        return SMOL_OK;
    }
    snprintf(body, n, "%s\n### Template:\n%s\n### Text:\n%s", ins ? ins : k_default_instructions, tmpl, text);
    smol_chat_message msg = {"user", body};
    int rc = smol_chat_apply(style, &msg, 1, true, out, err);
    free(body);
    return rc;
}

/* "nuextract", or the chat template name to use. */
static int pick_style(const extract_opts *o, const char **style, smol_error *err) {
    const char *want = o->style ? o->style : "auto";
    if (strcmp(want, "nuextract") == 0) return *style = "nuextract", SMOL_OK;
    if (o->template_name) {
        for (const char *const *n = smol_chat_template_names(); *n; n++)
            if (strcmp(*n, o->template_name) == 0) return *style = *n, SMOL_OK;
        return smol_fail(err, SMOL_EINVAL, "unknown --template '%s'", o->template_name);
    }
    char *jinja = NULL;
    int rc = smol_chat_template_load(o->tokenizer ? o->tokenizer : o->model, &jinja, err);
    if (!rc) rc = smol_chat_template_detect(jinja, style, err);
    free(jinja);
    if (rc && strcmp(want, "auto") == 0) {  /* no usable chat template: the NuExtract format */
        smol_error_clear(err);
        *style = "nuextract";
        return SMOL_OK;
    }
    return rc;
}

/* ---------------------------------------------------------------- constrained generation */

typedef struct guide {
    smol_ctx *ctx;
    smol_matcher *m;
    const smol_model_info *info;
    int32_t n_tok_vocab;
    uint32_t *bits;
    int started, n_seen;
} guide;

/* The sampler's token filter: feeds the tokens generated since the last call to the matcher,
 * then keeps only the tokens it allows. */
static int guide_filter(void *user, uint8_t *mask, int n_vocab) {
    guide *g = user;
    const int32_t *toks;
    int n = smol_seq_tokens(g->ctx, 0, &toks);
    if (!g->started) g->started = 1, g->n_seen = n;
    for (; g->n_seen < n; g->n_seen++)
        if (smol_matcher_accept_token(g->m, toks[g->n_seen])) return SMOL_EINVAL;
    int rc = smol_matcher_mask(g->m, g->bits);
    if (rc < 0) return rc;
    for (int t = 0; t < n_vocab; t++)
        mask[t] = t < g->n_tok_vocab && (g->bits[t / 32] >> (t % 32) & 1u);
    if (smol_matcher_can_end(g->m))
        for (int i = 0; i < g->info->n_eog; i++)
            if (g->info->eog_ids[i] >= 0 && g->info->eog_ids[i] < n_vocab) mask[g->info->eog_ids[i]] = 1;
    return 0;
}

typedef struct text_buf {
    char *p;
    size_t n, cap;
} text_buf;

static int on_text(void *user, int index, const char *text, size_t len) {
    (void)index;
    text_buf *b = user;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->n + len + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return 1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, text, len);
    b->n += len;
    b->p[b->n] = 0;
    return 0;
}

typedef struct engine {
    smol_model *model;
    smol_tokenizer *tok;
    smol_ctx *ctx;
    smol_grammar *grammar;
    smol_token_index *ti;
    smol_jschema *js;
    char *tmpl;
    const char *style;
} engine;

/* Extracts one object from text into *json (malloc'd, one line); *why says why not (rc 0 and
 * *json NULL) when the output is incomplete or invalid. */
static int extract_one(engine *e, const extract_opts *o, const char *text, char **json, char *why, size_t why_size,
                       smol_error *err) {
    *json = NULL;
    char *prompt = NULL;
    int rc = build_prompt(o, e->style, e->tmpl, text, &prompt, err);
    if (rc) return rc;
    guide g = {.ctx = e->ctx, .info = smol_model_get_info(e->model), .n_tok_vocab = smol_token_index_n_vocab(e->ti)};
    g.bits = calloc(((size_t)g.n_tok_vocab + 31) / 32, sizeof *g.bits);
    rc = g.bits ? smol_matcher_new(e->grammar, e->ti, &g.m, err) : smol_fail(err, SMOL_ENOMEM, "out of memory");
    smol_gen_params gp = smol_gen_default_params();
    gp.n_predict = (int)o->n_predict;
    gp.sampling = o->sp;
    gp.sampling.filter = guide_filter;
    gp.sampling.filter_user = &g;
    text_buf out = {0};
    smol_gen_result res = {0};
    if (!rc) rc = smol_generate(e->ctx, e->tok, prompt, &gp, on_text, &out, &res, err);
    if (rc == SMOL_EINVAL && g.m) {
        snprintf(why, why_size, "the grammar allows no token after %d generated (%.200s): %s", res.n_gen, out.p ? out.p : "",
                 err->msg);
        rc = 0;
        out.n = 0;
    }
    else if (!rc) {
        for (size_t i = 0; i < out.n; i++)  /* JSON text holds raw newlines only between tokens */
            if (out.p[i] == '\n' || out.p[i] == '\r') out.p[i] = ' ';
        int ok = out.p ? smol_jschema_validate_text(e->js, out.p, out.n, why, why_size, err) : 0;
        if (ok < 0) rc = ok;
        else if (ok) *json = out.p, out.p = NULL;
        else if (res.stop_reason == SMOL_STOP_LENGTH) snprintf(why, why_size, "output incomplete after %d tokens (raise -n)", res.n_gen);
        else if (!out.p) snprintf(why, why_size, "no output");
    }
    free(out.p);
    free(prompt);
    free(g.bits);
    smol_matcher_free(g.m);
    return rc;
}

static void print_warning(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "smol extract: warning: %s (ignored)\n", msg);
}

static int open_engine(const extract_opts *o, engine *e, smol_error *err) {
    char *schema;
    size_t len;
    int rc = smol_read_file(o->schema, &schema, &len, err);
    if (rc) return rc;
    char *gbnf = NULL;
    unsigned flags = (o->compact ? SMOL_SCHEMA_COMPACT : 0) | (o->lenient ? SMOL_SCHEMA_LENIENT : 0);
    smol_schema_options so = smol_schema_default_options();
    so.flags = flags;
    so.warn = print_warning;
    so.max_ws = o->compact ? 0 : 2;  /* a little room for the model's habits, not for padding */
    rc = smol_jschema_new(schema, len, 0, &e->js, err);
    if (!rc) rc = smol_schema_to_gbnf_ex(schema, len, &so, &gbnf, err);
    free(schema);
    if (rc) return smol_error_prefix(err, "%s", o->schema), rc;
    rc = smol_grammar_from_gbnf(gbnf, strlen(gbnf), "root", &e->grammar, err);
    free(gbnf);
    cJSON *t = rc ? NULL : template_of(smol_jschema_root(e->js), e->js, 0);
    e->tmpl = t ? cJSON_Print(t) : NULL;
    cJSON_Delete(t);
    if (!rc && !e->tmpl) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (!rc) rc = smol_model_load(o->model, NULL, &e->model, err);
    if (!rc) rc = smol_tokenizer_load(o->tokenizer ? o->tokenizer : o->model, &e->tok, err);
    if (!rc) rc = smol_token_index_new(e->tok, &e->ti, err);
    if (!rc) rc = pick_style(o, &e->style, err);
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = (int)o->ctx;
    cp.n_threads = (int)o->threads;
    if (!rc) rc = smol_ctx_new(e->model, &cp, &e->ctx, err);
    return rc;
}

static void close_engine(engine *e) {
    smol_ctx_free(e->ctx);
    smol_token_index_free(e->ti);
    smol_grammar_free(e->grammar);
    smol_tokenizer_free(e->tok);
    smol_model_free(e->model);
    smol_jschema_free(e->js);
    free(e->tmpl);
}

/* ---------------------------------------------------------------- inputs */

static int is_jsonl(const char *path) {
    return strstr(path, ".jsonl") != NULL || strstr(path, ".ndjson") != NULL;
}

typedef struct counts {
    long ok, failed;
} counts;

static int emit(FILE *fp, engine *e, const extract_opts *o, const char *label, const char *text, counts *c, smol_error *err) {
    char *json = NULL, why[1200] = "";
    int rc = extract_one(e, o, text, &json, why, sizeof why, err);
    if (rc) return smol_error_prefix(err, "%s", label), rc;
    if (json) {
        fprintf(fp, "%s\n", json);
        c->ok++;
    } else {
        fprintf(fp, "null\n");
        fprintf(stderr, "smol extract: %s: %s\n", label, why);
        c->failed++;
    }
    free(json);
    return SMOL_OK;
}

static int run_inputs(FILE *fp, engine *e, const extract_opts *o, counts *c, smol_error *err) {
    for (int i = 0; i < o->n_inputs; i++) {
        const char *path = o->inputs[i];
        if (o->jsonl || is_jsonl(path)) {
            smol_lines *r;
            int rc = smol_lines_open(path, &r, err);
            cJSON *doc = NULL;
            while (!rc && (rc = smol_jsonl_next(r, &doc, err)) == 1) {
                char label[600];
                snprintf(label, sizeof label, "%s:%lld", path, (long long)smol_lines_lineno(r));
                const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, o->field);
                if (!cJSON_IsString(t)) rc = smol_fail(err, SMOL_EFORMAT, "%s: no string field '%s'", label, o->field);
                else rc = emit(fp, e, o, label, t->valuestring, c, err);
                cJSON_Delete(doc);
                doc = NULL;
            }
            smol_lines_close(r);
            if (rc < 0) return rc;
        } else {
            char *text;
            size_t len;
            int rc = smol_read_file(path, &text, &len, err);
            if (!rc) rc = emit(fp, e, o, path, text, c, err);
            free(text);
            if (rc) return rc;
        }
    }
    return SMOL_OK;
}

/* ---------------------------------------------------------------- options */

static int parse(int argc, char **argv, extract_opts *o) {
    const char *v;
    int bad = 0;
    double d;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &o->model, &bad) || cli_opt(argc, argv, &i, "--model", &o->model, &bad) ||
            cli_opt(argc, argv, &i, "--schema", &o->schema, &bad) ||
            cli_opt(argc, argv, &i, "--instructions", &o->instructions, &bad) ||
            cli_opt(argc, argv, &i, "--field", &o->field, &bad) || cli_opt(argc, argv, &i, "-o", &o->out, &bad) ||
            cli_opt(argc, argv, &i, "--prompt-style", &o->style, &bad) ||
            cli_opt(argc, argv, &i, "--template", &o->template_name, &bad) ||
            cli_opt(argc, argv, &i, "--tokenizer", &o->tokenizer, &bad)) {
            if (bad) return 2;
        } else if (cli_opt(argc, argv, &i, "-n", &v, &bad)) {
            if (bad || !cli_int(NAME, "-n", v, 1, 1 << 20, &o->n_predict)) return 2;
        } else if (cli_opt(argc, argv, &i, "-t", &v, &bad)) {
            if (bad || !cli_int(NAME, "-t", v, 1, 1024, &o->threads)) return 2;
        } else if (cli_opt(argc, argv, &i, "--ctx", &v, &bad)) {
            if (bad || !cli_int(NAME, "--ctx", v, 16, 1 << 24, &o->ctx)) return 2;
        } else if (cli_opt(argc, argv, &i, "--temp", &v, &bad)) {
            if (bad || !cli_float(NAME, "--temp", v, 0, 100, &d)) return 2;
            o->sp.temperature = (float)d;
        } else if (cli_opt(argc, argv, &i, "--seed", &v, &bad)) {
            long long s;
            if (bad || !cli_int(NAME, "--seed", v, 0, (long long)1 << 62, &s)) return 2;
            o->sp.seed = (uint64_t)s;
        } else if (strcmp(argv[i], "--jsonl") == 0) o->jsonl = 1;
        else if (strcmp(argv[i], "--compact") == 0) o->compact = 1;
        else if (strcmp(argv[i], "--lenient") == 0) o->lenient = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(NAME, "unknown option '%s'", argv[i]);
        else if (o->n_inputs < 256) o->inputs[o->n_inputs++] = argv[i];
        else return cli_usage_error(NAME, "at most 256 inputs");
    }
    if (!o->model) return cli_usage_error(NAME, "-m MODEL is required");
    if (!o->schema) return cli_usage_error(NAME, "--schema is required");
    if (!o->n_inputs) return cli_usage_error(NAME, "give at least one INPUT (a text file or a .jsonl)");
    if (o->style && strcmp(o->style, "auto") && strcmp(o->style, "chat") && strcmp(o->style, "nuextract"))
        return cli_usage_error(NAME, "--prompt-style is auto, chat or nuextract, not '%s'", o->style);
    return 0;
}

static int run(int argc, char **argv) {
    extract_opts o = {.field = "text", .n_predict = 512};
    o.sp = smol_sampler_default_params();
    o.sp.temperature = 0;
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    smol_error err = {0};
    engine e = {0};
    counts c = {0};
    smol_atomic_file af;
    FILE *fp = stdout;
    rc = open_engine(&o, &e, &err);
    if (!rc && o.out) {
        rc = smol_atomic_open(&af, o.out, &err);
        if (!rc) fp = af.fp;
    }
    if (!rc) {
        fprintf(stderr, "smol extract: prompt style %s\n", e.style);
        rc = run_inputs(fp, &e, &o, &c, &err);
    }
    if (o.out && fp != stdout) {
        if (!rc) rc = smol_atomic_commit(&af, &err);
        else smol_atomic_abort(&af);
    }
    close_engine(&e);
    if (rc) return cli_fail(NAME, &err);
    fprintf(stderr, "smol extract: %ld objects, %ld failed\n", c.ok, c.failed);
    return c.failed ? 1 : 0;
}

const smol_cmd cmd_extract = {
    .name = NAME,
    .summary = "extract JSON objects that follow a JSON Schema from texts",
    .usage =
        "usage: smol extract -m MODEL --schema SCHEMA.json [options] INPUT...\n"
        "\n"
        "For each INPUT (a text file, or each document of a .jsonl file: its --field) the model fills\n"
        "the schema: generation is constrained by the schema's grammar and every object is checked\n"
        "by the validator. One JSON object per input is written per line (null, with the reason on\n"
        "stderr, when an output is incomplete). Exit status: 0, 1 if an input failed, 2 bad usage.\n"
        "\n"
        "The prompt: with --prompt-style nuextract (or auto when the model has no chat template we\n"
        "know), NuExtract's format\n"
        "  <|input|>\\n### Template:\\n{template}\\n### Text:\\n{text}\\n\\n<|output|>\n"
        "where the template is the schema as an empty JSON object; with a chat template (auto, chat)\n"
        "one user message holding the instructions, the template and the text.\n"
        "\n"
        "options:\n"
        "  -m, --model PATH       .gguf or Hugging Face folder\n"
        "  --schema FILE          the JSON Schema (see docs/json-schema.md for what is supported)\n"
        "  --instructions TEXT    what to extract (default: a generic instruction)\n"
        "  --field F              JSONL field holding the text (default text)\n"
        "  --jsonl                read every INPUT as JSONL (default: by the .jsonl name)\n"
        "  -o FILE                write the objects to FILE (atomically) instead of stdout\n"
        "  --prompt-style S       auto (default), chat or nuextract\n"
        "  --template NAME        the chat template to use (chatml, smollm2, llama3, ...)\n"
        "  --tokenizer PATH       a tokenizer other than the model's\n"
        "  -n N                   at most N tokens per object (default 512)\n"
        "  --temp T, --seed N     sampling (default greedy)\n"
        "  --compact              no whitespace inside the JSON\n"
        "  --lenient              ignore schema keywords the grammar cannot enforce (with a warning)\n"
        "  -t N, --ctx N          threads, context length (default: the model's)\n"
        "\n"
        "example:\n"
        "  smol extract -m SmolLM2-360M-Instruct --schema docs/examples/github-issue.schema.json \\\n"
        "      --instructions 'Turn this bug report into a GitHub issue.' report.txt\n",
    .run = run,
};
