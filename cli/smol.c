/* smol.c: the `smol` command: dispatches to the subcommands listed below. */
#include "cli.h"
#include <string.h>

static const smol_cmd *const k_cmds[] = {
    &cmd_version,
    &cmd_chat_format,
    &cmd_generate,
    &cmd_chat,
    &cmd_inspect,
    &cmd_make_model,
    &cmd_classify,
    &cmd_langid,
    &cmd_tokenize,
    &cmd_curate,
    &cmd_filter,
    &cmd_dedup,
    &cmd_decontam,
    &cmd_grammar_check,
    &cmd_validate,
    &cmd_extract,
    &cmd_parquet,
    &cmd_scan,
    &cmd_bench,
    &cmd_convert,
    &cmd_quantize_gguf,
};
#define N_CMDS (sizeof k_cmds / sizeof k_cmds[0])

static const smol_cmd *find_cmd(const char *name) {
    for (size_t i = 0; i < N_CMDS; i++)
        if (strcmp(k_cmds[i]->name, name) == 0) return k_cmds[i];
    return NULL;
}

static void list_cmds(FILE *fp) {
    fprintf(fp, "smol %s: build small language models from curated and synthetic data, and run them on a CPU.\n\n"
                "usage: smol COMMAND [ARGS...]\n\ncommands:\n", smol_version());
    for (size_t i = 0; i < N_CMDS; i++) fprintf(fp, "  %-14s %s\n", k_cmds[i]->name, k_cmds[i]->summary);
    fprintf(fp, "  %-14s %s\n\n'smol help COMMAND' or 'smol COMMAND --help' shows a command's options and an example.\n",
            "help", "show a command's usage");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        list_cmds(stdout);
        return 0;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc < 3) {
            list_cmds(stdout);
            return 0;
        }
        const smol_cmd *c = find_cmd(argv[2]);
        if (!c) {
            fprintf(stderr, "smol: unknown command '%s'\n\n", argv[2]);
            list_cmds(stderr);
            return 2;
        }
        fputs(c->usage, stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) name = "version";
    const smol_cmd *c = find_cmd(name);
    if (!c) {
        fprintf(stderr, "smol: unknown command '%s'\n\n", name);
        list_cmds(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(c->usage, stdout);
            return 0;
        }
    }
    return c->run(argc - 1, argv + 1);
}
