/* simple.c: the smallest complete use of libsmol's public API (include/smol.h only): load a
 * model and its tokenizer, run a prompt, and print a greedy or sampled continuation.
 *
 *   make examples
 *   build/examples/simple MODEL.gguf "Once upon a time" [N_TOKENS] [TEMPERATURE]
 */
#include <smol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const smol_error *err) {
    fprintf(stderr, "simple: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL PROMPT [N_TOKENS] [TEMPERATURE]\n", argv[0]);
        return 2;
    }
    int n_new = argc > 3 ? atoi(argv[3]) : 32;
    float temp = argc > 4 ? (float)atof(argv[4]) : 0.0f;
    smol_error err = {0};

    smol_model *model = NULL;
    smol_tokenizer *tok = NULL;
    smol_ctx *ctx = NULL;
    smol_sampler *sampler = NULL;
    smol_tokens prompt = {0};
    if (smol_model_load(argv[1], NULL, &model, &err)) return fail("load model", &err);
    if (smol_tokenizer_load(argv[1], &tok, &err)) return fail("load tokenizer", &err);
    smol_ctx_params cp = smol_ctx_default_params();
    cp.n_ctx = 512;
    if (smol_ctx_new(model, &cp, &ctx, &err)) return fail("context", &err);

    /* prompt -> token ids (with BOS when the tokenizer wants it) -> one forward pass */
    if (smol_tokenize(tok, argv[2], strlen(argv[2]), SMOL_TOKENIZE_ADD_SPECIAL, &prompt, &err)) return fail("tokenize", &err);
    if (smol_eval(ctx, 0, prompt.ids, (int)prompt.n, NULL, &err)) return fail("prompt", &err);

    smol_sampler_params sp = smol_sampler_default_params();
    sp.temperature = temp;
    sp.seed = 1;
    if (smol_sampler_new(&sp, smol_model_get_info(model)->n_vocab, &sampler, &err)) return fail("sampler", &err);

    /* sample, print, feed back: one token per step */
    smol_detok_stream stream;
    smol_detok_stream_init(&stream, tok, SMOL_DETOKENIZE_KEEP_SPACE);
    char text[256];
    for (int i = 0; i < n_new; i++) {
        int32_t next;
        if (smol_sampler_sample(sampler, smol_get_logits(ctx, 0), &next, &err)) return fail("sample", &err);
        if (smol_token_is_eog(tok, next)) break;
        int n = smol_detok_stream_push(&stream, next, text, sizeof text);
        if (n > 0) fwrite(text, 1, (size_t)n, stdout);
        fflush(stdout);
        if (smol_eval(ctx, 0, &next, 1, NULL, &err)) return fail("decode", &err);
    }
    int n = smol_detok_stream_flush(&stream, text, sizeof text);
    if (n > 0) fwrite(text, 1, (size_t)n, stdout);
    putchar('\n');

    free(prompt.ids);
    smol_sampler_free(sampler);
    smol_ctx_free(ctx);
    smol_tokenizer_free(tok);
    smol_model_free(model);
    return 0;
}
