/* cmd_convert.c: `smol convert`: a Hugging Face model folder to a GGUF file, as llama.cpp's
 * converter writes it (see docs/convert.md); progress and warnings go to stderr. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Prints a progress line or warning of the library on stderr. */
static void log_line(void *user, const char *line) { fprintf(stderr, "%s: %s\n", (const char *)user, line); }

/* Parses a --type / TYPE value: f32, f16, bf16, q8_0, q4_0, ..., q4_k_m; "auto" when allowed. */
int cli_parse_weight_type(const char *cmd, const char *s, int allow_auto, int *out);

int cli_parse_weight_type(const char *cmd, const char *s, int allow_auto, int *out) {
    static const struct { const char *name; int type; } k[] = {
        {"f32", 0}, {"f16", 1}, {"bf16", 30}, {"q4_0", 2}, {"q4_1", 3}, {"q5_0", 6}, {"q5_1", 7}, {"q8_0", 8},
        {"q2_k", 10}, {"q3_k", 11}, {"q4_k", 12}, {"q4_k_s", 12}, {"q5_k", 13}, {"q5_k_s", 13}, {"q6_k", 14},
        {"q4_k_m", SMOL_TYPE_Q4_K_M}, {"auto", SMOL_TYPE_AS_STORED}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcasecmp(s, k[i].name) == 0 && (allow_auto || k[i].type != SMOL_TYPE_AS_STORED)) {
            *out = k[i].type;
            return 1;
        }
    cli_usage_error(cmd, "unknown type '%s' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, "
                         "q6_k, q4_k_m%s)", s, allow_auto ? ", auto" : "");
    return 0;
}

static int run(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *type = NULL, *threads = NULL;
    smol_convert_params p = smol_convert_default_params();
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_opt(argc, argv, &i, "-o", &out, &bad) || cli_opt(argc, argv, &i, "--output", &out, &bad) ||
            cli_opt(argc, argv, &i, "--type", &type, &bad) || cli_opt(argc, argv, &i, "--outtype", &type, &bad) ||
            cli_opt(argc, argv, &i, "--tokenizer", &p.tokenizer, &bad) || cli_opt(argc, argv, &i, "-t", &threads, &bad) ||
            cli_opt(argc, argv, &i, "--threads", &threads, &bad))
            continue;
        if (strcmp(argv[i], "--pure") == 0) p.pure = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(argv[0], "unexpected argument '%s'", argv[i]);
        else if (!dir) dir = argv[i];
        else return cli_usage_error(argv[0], "unexpected argument '%s' (one model folder)", argv[i]);
    }
    if (bad) return 2;
    if (!dir) return cli_usage_error(argv[0], "missing the model folder");
    if (!out) return cli_usage_error(argv[0], "missing -o OUT.gguf");
    if (type && !cli_parse_weight_type(argv[0], type, 1, &p.type)) return 2;
    long long n;
    if (threads) {
        if (!cli_int(argv[0], "--threads", threads, 1, 256, &n)) return 2;
        p.n_threads = (int)n;
    }
    p.log = log_line;
    p.log_user = argv[0];
    smol_error err = {0};
    if (smol_convert_hf(dir, out, &p, &err)) return cli_fail(argv[0], &err);
    fprintf(stderr, "%s: wrote %s\n", argv[0], out);
    return 0;
}

const smol_cmd cmd_convert = {
    "convert", "convert a Hugging Face model folder to GGUF",
    "usage: smol convert HF_DIR -o OUT.gguf [--type TYPE] [--tokenizer tokenizer.json] [--pure] [-t N]\n"
    "\n"
    "Reads config.json, model.safetensors (or the shards of model.safetensors.index.json),\n"
    "tokenizer.json and tokenizer_config.json from HF_DIR (LlamaForCausalLM or Qwen2ForCausalLM)\n"
    "and writes the GGUF llama.cpp's converter writes: the same keys, tensor names and, for llama,\n"
    "Q/K rows permuted for adjacent-pair RoPE; llama3 RoPE scaling becomes rope_freqs.weight.\n"
    "Without a tokenizer.json the built-in byte vocabulary is embedded (with a warning).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the .gguf to write (atomically)\n"
    "  --type TYPE        weight type: f16 (default, as llama.cpp's converter), f32, bf16, q8_0,\n"
    "                     q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k, q4_k_m, or auto (as stored);\n"
    "                     1-D tensors stay f32; quantized types follow llama-quantize's\n"
    "                     per-tensor rules (see docs/convert.md)\n"
    "  --pure             every weight matrix gets TYPE (no per-tensor rules)\n"
    "  --tokenizer FILE   embed this tokenizer.json instead of the folder's\n"
    "  -t, --threads N    conversion threads (default: physical cores)\n"
    "\n"
    "examples:\n"
    "  smol convert SmolLM2-135M-Instruct -o smollm2-135m-f16.gguf\n"
    "  smol convert Qwen2.5-0.5B-Instruct -o qwen2.5-0.5b-q8_0.gguf --type q8_0\n",
    run,
};
