/* cmd_chat_format.c: `smol chat-format`: formats a JSON conversation with a model's chat template
 * and prints the prompt exactly (no newline added). */
#include "cli.h"
#include "tok/chat.h"
#include "base/error.h"
#include "base/file.h"
#include <stdlib.h>
#include <string.h>

/* The template name: --chat-template, or the one recognised in the model's Jinja source. */
static int pick_template(const char *model, const char *forced, const char **name, smol_error *err) {
    if (forced) {  /* a one-message probe: every template accepts it, so only a bad name fails */
        char *out = NULL;
        smol_chat_message probe = {"user", ""};
        int rc = smol_chat_apply(forced, &probe, 1, false, &out, err);
        free(out);
        *name = forced;
        return rc;
    }
    char *src = NULL;
    int rc = smol_chat_template_load(model, &src, err);
    if (!rc) rc = smol_chat_template_detect(src, name, err);
    if (rc == SMOL_EUNSUPPORTED) smol_error_prefix(err, "%s", model);
    free(src);
    return rc;
}

static int run(int argc, char **argv) {
    const char *model = NULL, *forced = NULL, *input = NULL;
    int gen = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-m", &model, &bad) || cli_opt(argc, argv, &i, "--model", &model, &bad) ||
            cli_opt(argc, argv, &i, "--chat-template", &forced, &bad)) {
            if (bad) return 2;
        } else if (strcmp(argv[i], "--add-generation-prompt") == 0) gen = 1;
        else if (argv[i][0] == '-' && strcmp(argv[i], "-") != 0) return cli_usage_error(argv[0], "unknown option '%s'", argv[i]);
        else if (input) return cli_usage_error(argv[0], "unexpected argument '%s' (one input file)", argv[i]);
        else input = argv[i];
    }
    if (!model && !forced) return cli_usage_error(argv[0], "give a model with -m (or a template with --chat-template)");
    if (!input) input = "-";
    smol_error err = {0};
    const char *name = NULL;
    if (pick_template(model, forced, &name, &err)) return forced && err.code == SMOL_EINVAL
                                                         ? cli_usage_error(argv[0], "%s", err.msg) : cli_fail(argv[0], &err);
    char *text;
    size_t len;
    if (smol_read_file(input, &text, &len, &err)) return cli_fail(argv[0], &err);
    smol_chat_messages conv;
    int rc = smol_chat_messages_parse(text, len, strcmp(input, "-") == 0 ? "<stdin>" : input, &conv, &err);
    free(text);
    if (rc) return cli_fail(argv[0], &err);
    char *prompt = NULL;
    rc = smol_chat_apply(name, conv.msgs, conv.n, gen, &prompt, &err);
    smol_chat_messages_free(&conv);
    if (rc) return cli_fail(argv[0], &err);
    size_t n = strlen(prompt);
    int ok = fwrite(prompt, 1, n, stdout) == n && fflush(stdout) == 0;
    free(prompt);
    if (!ok) {
        fprintf(stderr, "smol %s: cannot write the prompt to stdout\n", argv[0]);
        return 1;
    }
    return 0;
}

const smol_cmd cmd_chat_format = {
    "chat-format", "format a JSON conversation with a model's chat template",
    "usage: smol chat-format -m MODEL [--chat-template NAME] [--add-generation-prompt] [FILE | -]\n"
    "\n"
    "Reads a conversation from FILE (or stdin): a JSON array of {\"role\", \"content\"}\n"
    "messages, or an object holding it as \"messages\". Prints the prompt the model's chat\n"
    "template makes of it, exactly, with no newline added.\n"
    "\n"
    "  -m, --model MODEL        a .gguf (tokenizer.chat_template), a tokenizer.json or\n"
    "                           tokenizer_config.json, or a folder holding tokenizer_config.json\n"
    "  --chat-template NAME     use this template instead of the model's: chatml, smollm2,\n"
    "                           qwen2.5, llama3, llama3.1 (or llama3.2), llama2, mistral\n"
    "  --add-generation-prompt  end with the header that opens the assistant's turn\n"
    "\n"
    "example:\n"
    "  echo '[{\"role\":\"user\",\"content\":\"Hello!\"}]' |\n"
    "    smol chat-format -m SmolLM2-135M-Instruct/ --add-generation-prompt\n",
    run,
};
