/* cmd_chat.c: `smol chat`: an interactive conversation with a model through its chat template.
 * Each line read from stdin is a user message; the reply is streamed to stdout. The history is
 * re-sent through the template every turn and the context reuses what it already holds. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct chat_opts {
    const char *model, *tokenizer, *system, *template_name;
    long long n_predict, threads, ctx;
    smol_sampler_params sp;
} chat_opts;

typedef struct reply {
    char *text;
    size_t n, cap;
} reply;

static int on_text(void *user, int index, const char *text, size_t len) {
    (void)index;
    reply *r = user;
    if (r->n + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        while (cap < r->n + len + 1) cap *= 2;
        char *p = realloc(r->text, cap);
        if (!p) return 1;
        r->text = p;
        r->cap = cap;
    }
    memcpy(r->text + r->n, text, len);
    r->n += len;
    r->text[r->n] = 0;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return 0;
}

static int parse(int argc, char **argv, chat_opts *o) {
    const char *v, *cmd = argv[0];
    int bad = 0;
    double d;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &o->model, &bad) || cli_opt(argc, argv, &i, "--model", &o->model, &bad) ||
            cli_opt(argc, argv, &i, "--system", &o->system, &bad) ||
            cli_opt(argc, argv, &i, "--template", &o->template_name, &bad) ||
            cli_opt(argc, argv, &i, "--tokenizer", &o->tokenizer, &bad)) {
            if (bad) return 2;
        } else if (cli_opt(argc, argv, &i, "-n", &v, &bad)) {
            if (bad || !cli_int(cmd, "-n", v, -1, 1 << 30, &o->n_predict)) return 2;
        } else if (cli_opt(argc, argv, &i, "-t", &v, &bad)) {
            if (bad || !cli_int(cmd, "-t", v, 1, 1024, &o->threads)) return 2;
        } else if (cli_opt(argc, argv, &i, "--ctx", &v, &bad)) {
            if (bad || !cli_int(cmd, "--ctx", v, 1, 1 << 24, &o->ctx)) return 2;
        } else if (cli_opt(argc, argv, &i, "--temp", &v, &bad)) {
            if (bad || !cli_float(cmd, "--temp", v, 0, 100, &d)) return 2;
            o->sp.temperature = (float)d;
        } else if (cli_opt(argc, argv, &i, "--seed", &v, &bad)) {
            long long s;
            if (bad || !cli_int(cmd, "--seed", v, 0, (long long)1 << 62, &s)) return 2;
            o->sp.seed = (uint64_t)s;
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        }
    }
    if (!o->model) return cli_usage_error(cmd, "-m MODEL is required");
    return 0;
}

/* The template name: --template, else recognised from the model's own chat template. */
static int pick_template(const chat_opts *o, const char **name, smol_error *err) {
    if (o->template_name) {
        for (const char *const *n = smol_chat_template_names(); *n; n++)
            if (strcmp(*n, o->template_name) == 0) return *name = *n, SMOL_OK;
        return cli_usage_error("chat", "unknown --template '%s'", o->template_name), SMOL_EINVAL;
    }
    char *jinja = NULL;
    int rc = smol_chat_template_load(o->tokenizer ? o->tokenizer : o->model, &jinja, err);
    if (!rc) rc = smol_chat_template_detect(jinja, name, err);
    free(jinja);
    return rc;
}

/* One turn: the conversation so far through the template, then the reply appended to msgs. */
static int turn(smol_ctx *c, const smol_tokenizer *tok, const char *tmpl, smol_chat_message *msgs, size_t *n_msgs,
                const smol_gen_params *gp, smol_error *err) {
    char *prompt = NULL;
    int rc = smol_chat_apply(tmpl, msgs, *n_msgs, true, &prompt, err);
    reply r = {0};
    smol_gen_result res = {0};
    if (!rc) rc = smol_generate(c, tok, prompt, gp, on_text, &r, &res, err);
    free(prompt);
    fputs("\n", stdout);
    fflush(stdout);
    if (rc) return free(r.text), rc;
    fprintf(stderr, "[%d prompt tokens, %d reused; %d generated, %.1f t/s]\n", res.n_prompt, res.n_reused, res.n_gen,
            res.gen_ms > 0 ? res.n_gen * 1e3 / res.gen_ms : 0.0);
    msgs[*n_msgs].role = "assistant";
    msgs[*n_msgs].content = r.text ? r.text : strdup("");
    ++*n_msgs;
    return SMOL_OK;
}

static int run(int argc, char **argv) {
    chat_opts o = {.n_predict = 512};
    o.sp = smol_sampler_default_params();
    o.sp.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    smol_error err = {0};
    smol_model *m = NULL;
    smol_tokenizer *tok = NULL;
    smol_ctx *c = NULL;
    const char *tmpl = NULL;
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = (int)o.ctx;
    cp.n_threads = (int)o.threads;
    rc = smol_model_load(o.model, NULL, &m, &err);
    if (!rc) rc = smol_tokenizer_load(o.tokenizer ? o.tokenizer : o.model, &tok, &err);
    if (!rc) rc = pick_template(&o, &tmpl, &err);
    if (rc == SMOL_EINVAL && !err.msg[0]) {   /* a bad --template: a usage error, already printed */
        smol_tokenizer_free(tok);
        smol_model_free(m);
        return 2;
    }
    if (!rc) rc = smol_ctx_new(m, &cp, &c, &err);
    size_t cap = 64, n = 0;
    smol_chat_message *msgs = rc ? NULL : malloc(cap * sizeof *msgs);
    if (!rc && o.system) msgs[n++] = (smol_chat_message){"system", strdup(o.system)};
    smol_gen_params gp = smol_gen_default_params();
    gp.n_predict = (int)o.n_predict;
    gp.sampling = o.sp;
    char line[65536];
    if (!rc && isatty(0)) fprintf(stderr, "smol chat: %s with the %s template; an empty line or EOF ends\n", o.model, tmpl);
    while (!rc && msgs && (isatty(0) ? fputs("> ", stderr) : 0, fgets(line, sizeof line, stdin))) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) break;
        if (n + 2 > cap) {
            smol_chat_message *p = realloc(msgs, (cap *= 2) * sizeof *msgs);
            if (!p) break;
            msgs = p;
        }
        msgs[n++] = (smol_chat_message){"user", strdup(line)};
        rc = turn(c, tok, tmpl, msgs, &n, &gp, &err);
    }
    for (size_t i = 0; i < n; i++) free((char *)msgs[i].content);
    free(msgs);
    smol_ctx_free(c);
    smol_tokenizer_free(tok);
    smol_model_free(m);
    return rc ? cli_fail(argv[0], &err) : 0;
}

const smol_cmd cmd_chat = {
    "chat", "talk with an instruction-tuned model through its chat template",
    "usage: smol chat -m MODEL [--system TEXT] [options]\n"
    "\n"
    "Reads one user message per line from stdin and streams each reply to stdout. The\n"
    "conversation is formatted with the model's chat template (recognised from the GGUF or\n"
    "tokenizer_config.json, or chosen with --template); the context keeps what earlier turns\n"
    "evaluated. An empty line or end of input ends the chat.\n"
    "\n"
    "options:\n"
    "  -m, --model PATH   a .gguf file or a Hugging Face folder\n"
    "  --tokenizer PATH   tokenizer and template source (default: the model)\n"
    "  --system TEXT      a system message\n"
    "  --template NAME    chatml, smollm2, qwen2.5, llama3, llama3.1, llama2 or mistral\n"
    "  -n N               the most tokens per reply (default 512)\n"
    "  --temp T           temperature, 0 for greedy (default 0.8)\n"
    "  --seed S           random seed (default: from the clock)\n"
    "  -t N               threads (default: physical cores)\n"
    "  --ctx N            context length (default: the model's)\n"
    "\n"
    "example:\n"
    "  smol chat -m SmolLM2-135M-Instruct.gguf --system 'You are brief.'\n"
    "  printf 'Hi!\\nWhat is 2+2?\\n' | smol chat -m model.gguf --temp 0\n",
    run,
};
