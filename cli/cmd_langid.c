/* cmd_langid.c: `smol langid`: language identification with fastText's lid.176 model, per line
 * of text files or per JSONL document (adding "language" and "language_score"). It runs
 * `smol classify score --langid`, which does the streaming and threading. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

static int run(int argc, char **argv) {
    char **args = calloc((size_t)argc + 6, sizeof *args);
    if (!args) return 1;
    int n = 0, has_model = 0;
    args[n++] = "classify";
    args[n++] = "score";
    args[n++] = "--langid";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-m") == 0) has_model = 1;
        args[n++] = argv[i];
    }
    if (!has_model) {
        const char *env = getenv("SMOL_LID_MODEL");
        args[n++] = "-m";
        args[n++] = (char *)(env && *env ? env : "lid.176.ftz");
    }
    int rc = cmd_classify.run(n, args);
    free(args);
    return rc;
}

const smol_cmd cmd_langid = {
    "langid", "identify the language of text lines or JSONL documents (fastText lid.176)",
    "usage: smol langid [-m lid.176.ftz] [--field text] [--k N] [--min-score S] [--threads N]\n"
    "                   [--quiet] IN... [-o OUT]\n"
    "\n"
    "Text files: one output line per input line, \"LANG SCORE[ LANG SCORE...]<TAB>LINE\".\n"
    "JSONL (a name containing .json, or --field given): each document gets \"language\" (e.g.\n"
    "\"en\") and \"language_score\" (and \"languages\" with the --k best when k > 1); newlines in\n"
    "the text count as spaces. --min-score 0.65 (FineWeb's cut) drops documents or lines whose\n"
    "best score is lower. Inputs may be plain, .gz or .zst; '-' is stdin; output goes to stdout\n"
    "or, atomically, to -o OUT. The model defaults to $SMOL_LID_MODEL, then ./lid.176.ftz.\n"
    "\n"
    "examples:\n"
    "  smol langid -m lid.176.ftz sentences.txt\n"
    "  smol langid -m lid.176.ftz --min-score 0.65 crawl.jsonl.zst -o english_and_more.jsonl\n",
    run,
};
