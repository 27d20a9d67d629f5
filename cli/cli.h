/* cli.h: the `smol` command's subcommand table and small helpers shared by its subcommands.
 * A subcommand is a `const smol_cmd cmd_NAME` in cli/cmd_NAME.c, listed in cli/smol.c.
 * Exit codes: 0 success, 1 the work failed (bad file, ...), 2 bad usage. */
#ifndef SMOL_CLI_H
#define SMOL_CLI_H
#include "smol.h"
#include <stdio.h>

typedef struct smol_cmd {
    const char *name;
    const char *summary;   /* one line for the command list */
    const char *usage;     /* full help: synopsis, options, and at least one example */
    int (*run)(int argc, char **argv);  /* argv[0] is the subcommand's name */
} smol_cmd;

/* Prints "smol NAME: message" for err on stderr and returns 1. */
int cli_fail(const char *name, const smol_error *err);

/* Prints "smol NAME: <formatted>" and a pointer to --help on stderr, returns 2. */
int cli_usage_error(const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* If argv[*i] is `flag`, takes the next argument as its value: returns 1 and advances *i.
 * A missing value prints a usage error and sets *bad. */
int cli_opt(int argc, char **argv, int *i, const char *flag, const char **value, int *bad);

/* Parses s as an integer/float in [lo, hi]; on failure prints a usage error for flag and returns 0. */
int cli_int(const char *cmd, const char *flag, const char *s, long long lo, long long hi, long long *out);
int cli_float(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out);

/* The member of a JSON document at a dotted path ("metadata.score"), or NULL. */
struct cJSON *cli_json_path(const struct cJSON *doc, const char *path);

/* The subcommands. */
extern const smol_cmd cmd_version;
extern const smol_cmd cmd_chat_format;
extern const smol_cmd cmd_generate;
extern const smol_cmd cmd_chat;
extern const smol_cmd cmd_inspect;
extern const smol_cmd cmd_make_model;
extern const smol_cmd cmd_classify;
extern const smol_cmd cmd_langid;
extern const smol_cmd cmd_tokenize;
extern const smol_cmd cmd_filter;
extern const smol_cmd cmd_curate;
extern const smol_cmd cmd_dedup;
extern const smol_cmd cmd_decontam;
extern const smol_cmd cmd_grammar_check;

/* Structured generation for `smol generate` (cmd_grammar_check.c): cli_constraint_new compiles
 * one of a GBNF file, a regex, a '|'-separated choice list or a JSON Schema file (errors: exit 2);
 * cli_constraint_attach sets sp's filter to keep sequence 0 of c on it. */
typedef struct cli_constraint cli_constraint;
int cli_constraint_new(const char *grammar, const char *regex, const char *choice, const char *schema,
                       cli_constraint **out, smol_error *err);
int cli_constraint_attach(cli_constraint *k, const smol_tokenizer *tok, const smol_ctx *c, smol_sampler_params *sp,
                          smol_error *err);
void cli_constraint_free(cli_constraint *k);

extern const smol_cmd cmd_validate;
extern const smol_cmd cmd_extract;
extern const smol_cmd cmd_parquet;
extern const smol_cmd cmd_scan;
extern const smol_cmd cmd_bench;
extern const smol_cmd cmd_convert;
extern const smol_cmd cmd_quantize_gguf;  /* `smol quantize` (cmd_classify.c has a static cmd_quantize) */

#endif
