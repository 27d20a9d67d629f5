/* cmd_quantize.c: `smol quantize`: a GGUF model to another weight type (llama-quantize's
 * per-tensor rules, see docs/convert.md); progress goes to stderr. The command is
 * cmd_quantize_gguf because cmd_classify.c has a function named cmd_quantize. */
#include "cli.h"
#include <string.h>

int cli_parse_weight_type(const char *cmd, const char *s, int allow_auto, int *out);  /* cmd_convert.c */

static void log_line(void *user, const char *line) { fprintf(stderr, "%s: %s\n", (const char *)user, line); }

static int run(int argc, char **argv) {
    const char *pos[3] = {0}, *threads = NULL;
    int n_pos = 0, bad = 0;
    smol_convert_params p = smol_convert_default_params();
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_opt(argc, argv, &i, "-t", &threads, &bad) || cli_opt(argc, argv, &i, "--threads", &threads, &bad)) continue;
        if (strcmp(argv[i], "--pure") == 0) p.pure = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(argv[0], "unexpected argument '%s'", argv[i]);
        else if (n_pos < 3) pos[n_pos++] = argv[i];
        else return cli_usage_error(argv[0], "unexpected argument '%s'", argv[i]);
    }
    if (bad) return 2;
    if (n_pos < 3) return cli_usage_error(argv[0], "expected IN.gguf OUT.gguf TYPE");
    if (!cli_parse_weight_type(argv[0], pos[2], 0, &p.type)) return 2;
    if (strcmp(pos[0], pos[1]) == 0) return cli_usage_error(argv[0], "the output must differ from the input");
    long long n;
    if (threads) {
        if (!cli_int(argv[0], "--threads", threads, 1, 256, &n)) return 2;
        p.n_threads = (int)n;
    }
    p.log = log_line;
    p.log_user = argv[0];
    smol_error err = {0};
    if (smol_quantize_gguf(pos[0], pos[1], &p, &err)) return cli_fail(argv[0], &err);
    fprintf(stderr, "%s: wrote %s\n", argv[0], pos[1]);
    return 0;
}

const smol_cmd cmd_quantize_gguf = {
    "quantize", "convert a GGUF model's weights to another type (q8_0, q4_0, q4_k_m, ...)",
    "usage: smol quantize IN.gguf OUT.gguf TYPE [--pure] [-t N]\n"
    "\n"
    "Writes IN's metadata and tensors to OUT (atomically) with the 2-D weight matrices converted\n"
    "to TYPE by llama-quantize's per-tensor rules: the output matrix (or a tied token_embd) gets\n"
    "q6_K (q8_0 when its rows are not whole 256-blocks, and for q8_0), q4_k_m gives half of\n"
    "attn_v and ffn_down q6_K, and K-quants fall back when rows are not whole blocks. Norms and\n"
    "other 1-D tensors are copied. general.file_type is set to TYPE's.\n"
    "\n"
    "TYPE: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, q4_k_m\n"
    "\n"
    "options:\n"
    "  --pure            every weight matrix gets TYPE (llama-quantize --pure)\n"
    "  -t, --threads N   threads (default: physical cores); the output does not depend on it\n"
    "\n"
    "examples:\n"
    "  smol quantize smollm2-135m-f32.gguf smollm2-135m-q8_0.gguf q8_0\n"
    "  smol quantize model-f16.gguf model-q4_k_m.gguf q4_k_m -t 2\n",
    run,
};
