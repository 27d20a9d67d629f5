/* smol.c: the `smol` command: dispatches to the subcommands listed below. */
#include "cli.h"
#include <string.h>

/* In the order `smol` lists them; a NULL entry starts a group named in k_groups. */
static const smol_cmd *const k_cmds[] = {
    NULL, &cmd_generate, &cmd_chat, &cmd_bench, &cmd_inspect, &cmd_convert, &cmd_quantize_gguf, &cmd_make_model,
    NULL, &cmd_tokenize, &cmd_chat_format,
    NULL, &cmd_curate, &cmd_filter, &cmd_langid, &cmd_classify, &cmd_dedup, &cmd_decontam, &cmd_scan, &cmd_parquet,
    NULL, &cmd_extract, &cmd_validate, &cmd_grammar_check,
    NULL, &cmd_version,
};
static const char *const k_groups[] = {
    "run models", "tokens and prompts", "curate data", "structured output", "about",
};
#define N_CMDS (sizeof k_cmds / sizeof k_cmds[0])

static const smol_cmd *find_cmd(const char *name) {
    for (size_t i = 0; i < N_CMDS; i++)
        if (k_cmds[i] && strcmp(k_cmds[i]->name, name) == 0) return k_cmds[i];
    return NULL;
}

static void list_cmds(FILE *fp) {
    fprintf(fp, "smol %s: build small language models from curated and synthetic data, and run them on a CPU.\n\n"
                "usage: smol COMMAND [ARGS...]\n\ncommands:\n", smol_version());
    size_t group = 0;
    for (size_t i = 0; i < N_CMDS; i++) {
        if (k_cmds[i]) fprintf(fp, "  %-14s %s\n", k_cmds[i]->name, k_cmds[i]->summary);
        else fprintf(fp, "%s%s:\n", group ? "\n" : "", k_groups[group]), group++;
    }
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
