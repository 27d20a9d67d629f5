/* cmd_tokenize.c: `smol tokenize`: token ids (or pieces, or counts) of a text, a file or each
 * document of a JSONL file, with the tokenizer of a GGUF model or a tokenizer.json. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/jsonl.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

typedef struct tok_opts {
    const char *model, *file, *jsonl, *field, *text;
    unsigned flags;
    int pieces, count;
} tok_opts;

/* Writes v in decimal at p, two digits at a time; returns the end. */
static char *put_uint(char *p, uint32_t v) {
    static const char k_pairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    char tmp[10], *end = tmp + sizeof tmp, *q = end;
    while (v >= 100) {
        q -= 2;
        memcpy(q, k_pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, k_pairs + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    memcpy(p, q, (size_t)(end - q));
    return p + (end - q);
}

/* The ids on one line, separated by spaces: formatted into a 64 KB buffer, one fwrite per
 * buffer. */
static void print_ids(const smol_tokens *ids) {
    enum { BUF = 1 << 16 };
    char *buf = malloc(BUF), stack[64];
    size_t cap = buf ? BUF : sizeof stack, k = 0;
    if (!buf) buf = stack;
    for (size_t i = 0; i < ids->n; i++) {
        if (k > cap - 16) {
            fwrite(buf, 1, k, stdout);
            k = 0;
        }
        if (i) buf[k++] = ' ';
        k = (size_t)(put_uint(buf + k, (uint32_t)ids->ids[i]) - buf);
    }
    buf[k++] = '\n';
    fwrite(buf, 1, k, stdout);
    if (buf != stack) free(buf);
}

/* One line per token: id, a tab, and its stored text with \n, \t, \r and \\ escaped. */
static void print_pieces(const smol_tokenizer *t, const smol_tokens *ids) {
    for (size_t i = 0; i < ids->n; i++) {
        printf("%d\t", ids->ids[i]);
        for (const char *s = smol_token_text(t, ids->ids[i]); s && *s; s++) {
            if (*s == '\n') fputs("\\n", stdout);
            else if (*s == '\t') fputs("\\t", stdout);
            else if (*s == '\r') fputs("\\r", stdout);
            else if (*s == '\\') fputs("\\\\", stdout);
            else putchar(*s);
        }
        putchar('\n');
    }
}

static int emit(const tok_opts *o, const smol_tokenizer *t, const char *text, size_t len, size_t *total, smol_error *err) {
    smol_tokens ids = {0};
    int rc = smol_tokenize(t, text, len, o->flags, &ids, err);
    if (rc) return rc;
    *total += ids.n;
    if (o->count) printf("%zu\n", ids.n);
    else if (o->pieces) print_pieces(t, &ids);
    else print_ids(&ids);
    free(ids.ids);
    return SMOL_OK;
}

static int run_jsonl(const tok_opts *o, const smol_tokenizer *t, size_t *total, smol_error *err) {
    char *data;
    size_t n;
    int rc = smol_read_file(o->jsonl, &data, &n, err);
    if (rc) return rc;
    size_t line = 0;
    for (char *p = data, *end = data + n; p < end && !rc; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        if (nl > p && nl[-1] == '\r') nl[-1] = 0;
        if (*p) {
            cJSON *doc = smol_json_parse_text(p, strlen(p), NULL);
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(doc, o->field);
            if (!doc) rc = smol_fail(err, SMOL_EFORMAT, "%s:%zu: not a JSON object", o->jsonl, line + 1);
            else if (!cJSON_IsString(f)) rc = smol_fail(err, SMOL_EFORMAT, "%s:%zu: no string field '%s'", o->jsonl, line + 1, o->field);
            else rc = emit(o, t, f->valuestring, strlen(f->valuestring), total, err);
            cJSON_Delete(doc);
        }
        p = nl + 1;
    }
    free(data);
    return rc;
}

static int parse_args(int argc, char **argv, tok_opts *o) {
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        const char *a = argv[i];
        if (cli_opt(argc, argv, &i, "-m", &o->model, &bad) || cli_opt(argc, argv, &i, "--model", &o->model, &bad) ||
            cli_opt(argc, argv, &i, "-f", &o->file, &bad) || cli_opt(argc, argv, &i, "--jsonl", &o->jsonl, &bad) ||
            cli_opt(argc, argv, &i, "--field", &o->field, &bad))
            continue;
        if (strcmp(a, "--add-special") == 0) o->flags |= SMOL_TOKENIZE_ADD_SPECIAL;
        else if (strcmp(a, "--parse-special") == 0) o->flags |= SMOL_TOKENIZE_PARSE_SPECIAL;
        else if (strcmp(a, "--pieces") == 0) o->pieces = 1;
        else if (strcmp(a, "--count") == 0) o->count = 1;
        else if (strcmp(a, "--") == 0 && i + 1 < argc && !o->text) o->text = argv[++i];
        else if (a[0] == '-' && a[1]) return cli_usage_error(argv[0], "unknown option '%s'", a);
        else if (!o->text) o->text = a;
        else return cli_usage_error(argv[0], "unexpected argument '%s' (quote the text)", a);
    }
    if (bad) return 2;
    if (!o->model) return cli_usage_error(argv[0], "-m MODEL is required");
    if ((o->text != NULL) + (o->file != NULL) + (o->jsonl != NULL) != 1)
        return cli_usage_error(argv[0], "give exactly one of TEXT, -f FILE or --jsonl FILE");
    if (o->pieces && o->count) return cli_usage_error(argv[0], "--pieces and --count do not go together");
    return 0;
}

static int run(int argc, char **argv) {
    tok_opts o = { .field = "text" };
    int rc = parse_args(argc, argv, &o);
    if (rc) return rc;
    smol_error err = {0};
    smol_tokenizer *t = NULL;
    if (smol_tokenizer_load(o.model, &t, &err)) return cli_fail(argv[0], &err);
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    size_t total = 0;
    if (o.jsonl) {
        rc = run_jsonl(&o, t, &total, &err);
    } else if (o.file) {
        char *data;
        size_t n;
        rc = smol_read_file(o.file, &data, &n, &err);
        if (!rc) rc = emit(&o, t, data, n, &total, &err);
        if (!rc) free(data);
    } else {
        rc = emit(&o, t, o.text, strlen(o.text), &total, &err);
    }
    fflush(stdout);
    smol_tokenizer_free(t);
    if (rc) return cli_fail(argv[0], &err);
    if (o.count) fprintf(stderr, "total %zu tokens\n", total);
    return 0;
}

const smol_cmd cmd_tokenize = {
    "tokenize", "print the token ids of a text, a file or a JSONL file",
    "usage: smol tokenize -m MODEL [options] (TEXT | -f FILE | --jsonl FILE)\n"
    "\n"
    "Tokenizes with the tokenizer of MODEL: a .gguf, a tokenizer.json, or a folder holding\n"
    "tokenizer.json (and tokenizer_config.json). Prints the ids on one line, separated by\n"
    "spaces. By default no BOS/EOS is added and special tokens in the text are not parsed.\n"
    "\n"
    "options:\n"
    "  -m, --model MODEL   the tokenizer (required)\n"
    "  -f FILE             tokenize the whole file ('-' reads stdin)\n"
    "  --jsonl FILE        one line of ids per JSON document, in order ('-' reads stdin)\n"
    "  --field NAME        the JSONL string field to tokenize (default: text)\n"
    "  --add-special       add BOS/EOS as the tokenizer asks\n"
    "  --parse-special     special tokens written in the text (<|im_start|>, ...) become their ids\n"
    "  --pieces            one line per token: its id, a tab and its vocabulary text\n"
    "                      (\\n, \\t, \\r and \\\\ escaped)\n"
    "  --count             print the number of tokens instead (the total goes to stderr)\n"
    "\n"
    "examples:\n"
    "  smol tokenize -m SmolLM2-135M-Instruct/tokenizer.json 'Hello world'\n"
    "  smol tokenize -m model.gguf --pieces -f notes.txt\n"
    "  smol tokenize -m SmolLM2-135M-Instruct --parse-special --count --jsonl docs.jsonl\n",
    run,
};
