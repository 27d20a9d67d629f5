/* cmd_make_model.c: `smol make-model`: writes a GGUF model of a known architecture with
 * seeded random weights, llama.cpp's tensor names and metadata, and a tokenizer (one read from
 * a Hugging Face tokenizer.json, or a built-in byte-level vocabulary).
 *
 * Weights are generated row by row while the file is written (smol_gguf_writer_add_tensor_fill),
 * so memory stays small whatever the model size. Each tensor has its own random stream seeded
 * from (--seed, tensor name), so the values do not depend on the output type or tensor order:
 * an f16 model holds the f32 model's weights rounded.
 *
 * Initialisation: matrices N(0, 0.02); norm weights 1 + N(0, 0.02); biases N(0, 0.02);
 * rope_freqs (Llama 3 scaling) the exact frequency divisors. With a tied embedding the logits
 * then have a spread of about 0.02 * sqrt(n_embd) (0.5 for 576), so greedy decoding varies. */
#include "cli.h"
#include "base/file.h"
#include "base/pool.h"
#include "model/archs.h"
#include "model/convert.h"
#include "model/dtype.h"
#include "model/quant.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INIT_STD 0.02
#define MIX_Q4_K_M SMOL_TYPE_Q4_K_M  /* the --type value of llama.cpp's Q4_K_M mix */
#define PROGRESS_MIN_BYTES (64ull << 20)
#define FILL_TASKS 32          /* pool tasks per chunk of rows */

/* ---------------------------------------------------------------- random numbers */

/* splitmix64: a small, well-mixed 64-bit generator; one per tensor. */
typedef struct rng {
    uint64_t s;
    int has_spare;
    double spare;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double rng_uniform(rng *r) { return ((rng_next(r) >> 11) + 1) * 0x1.0p-53; }

/* Standard normal (Box-Muller, both values used). */
static double rng_normal(rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u = rng_uniform(r), v = rng_uniform(r);
    double mag = sqrt(-2.0 * log(u)), ang = 2.0 * M_PI * v;
    r->spare = mag * sin(ang);
    r->has_spare = 1;
    return mag * cos(ang);
}

/* The seed of a tensor: the user's seed mixed with the tensor's name. */
static uint64_t tensor_seed(uint64_t seed, const char *name) {
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return seed ^ h;
}

/* The stream of one row: rows are independent, so they can be generated in any order. */
static rng rng_for_row(uint64_t tseed, int64_t row) {
    rng r = {tseed ^ ((uint64_t)row * 0xd1b54a32d192ed03ull), 0, 0};
    rng_next(&r);
    rng_next(&r);
    return r;
}

/* ---------------------------------------------------------------- tensors */

typedef enum init_kind { INIT_MATRIX, INIT_NORM, INIT_BIAS, INIT_ROPE_FREQS } init_kind;

typedef struct progress {
    uint64_t total, done, next_report;   /* bytes */
} progress;

/* What the generator threads share: the pool and a row of scratch floats per thread. */
typedef struct gen_shared {
    smol_pool *pool;
    float **scratch;         /* [threads][max row length] */
    progress prog;
} gen_shared;

/* One tensor to generate: its layout, its initialisation and its seed. */
typedef struct gen_tensor {
    char name[64];
    uint32_t type;
    uint32_t n_dims;
    int64_t ne[2];
    init_kind init;
    uint64_t seed;
    const smol_arch *arch;
    gen_shared *shared;
} gen_tensor;

/* Generates row `row` of t as floats into x. */
static void gen_row(const gen_tensor *t, int64_t row, float *x) {
    int64_t n = t->ne[0];
    rng r = rng_for_row(t->seed, row);
    switch (t->init) {
    case INIT_ROPE_FREQS: smol_arch_rope_factors(t->arch, x, (int)n); break;
    case INIT_NORM:
        for (int64_t i = 0; i < n; i++) x[i] = (float)(1.0 + INIT_STD * rng_normal(&r));
        break;
    default:
        for (int64_t i = 0; i < n; i++) x[i] = (float)(INIT_STD * rng_normal(&r));
    }
}

static void report_progress(progress *p, uint64_t bytes) {
    p->done += bytes;
    if (p->total < PROGRESS_MIN_BYTES || p->done < p->next_report) return;
    fprintf(stderr, "\rmake-model: %3d%% (%" PRIu64 " of %" PRIu64 " MB)", (int)(100 * p->done / p->total),
            p->done >> 20, p->total >> 20);
    if (p->done >= p->total) fputc('\n', stderr);
    p->next_report = p->done + p->total / 50;
}

/* A chunk of rows split into pool tasks. */
typedef struct fill_job {
    const gen_tensor *t;
    int64_t row0, n_rows, per_task;
    unsigned char *out;
    uint64_t row_bytes;
    int rc[FILL_TASKS];      /* the status of each task */
} fill_job;

static void fill_task(void *ctx, int task, int thread) {
    fill_job *j = ctx;
    float *x = j->t->shared->scratch[thread];
    int64_t r0 = task * j->per_task, r1 = r0 + j->per_task < j->n_rows ? r0 + j->per_task : j->n_rows;
    for (int64_t r = r0; r < r1 && !j->rc[task]; r++) {
        gen_row(j->t, j->row0 + r, x);
        j->rc[task] = smol_quantize_row(j->t->type, x, j->out + (uint64_t)r * j->row_bytes, j->t->ne[0]);
    }
}

/* smol_gguf_fill_fn: rows of t in its type, generated on the pool's threads. */
static int fill_tensor(void *ctx, int64_t row0, int64_t n_rows, void *buf, smol_error *err) {
    const gen_tensor *t = ctx;
    fill_job j = {.t = t, .row0 = row0, .n_rows = n_rows, .out = buf,
                  .row_bytes = smol_dtype_row_size(t->type, (uint64_t)t->ne[0])};
    j.per_task = (n_rows + FILL_TASKS - 1) / FILL_TASKS;
    int n_tasks = (int)((n_rows + j.per_task - 1) / j.per_task);
    smol_pool_run(t->shared->pool, n_tasks, fill_task, &j);
    for (int i = 0; i < n_tasks; i++)
        if (j.rc[i]) {
            err->code = j.rc[i];
            snprintf(err->msg, sizeof err->msg, "tensor '%s': cannot convert to %s (%s)", t->name,
                     smol_dtype_name(t->type), smol_status_name(j.rc[i]));
            return j.rc[i];
        }
    report_progress(&t->shared->prog, j.row_bytes * (uint64_t)n_rows);
    return SMOL_OK;
}

/* ---------------------------------------------------------------- tensor types */

/* The type of a weight matrix: role is "attn_v", "ffn_down", "output", ... layer -1 outside blocks. */
static uint32_t matrix_type(int type, const smol_arch *a, const char *role, int layer, int64_t ne0) {
    uint32_t t = (uint32_t)type;
    if (type == MIX_Q4_K_M) {
        int is_output = strcmp(role, "output") == 0 || (a->tied && strcmp(role, "token_embd") == 0);
        int more = layer >= 0 && smol_quant_use_more_bits(layer, a->n_layer) &&
                   (strcmp(role, "attn_v") == 0 || strcmp(role, "ffn_down") == 0);
        t = is_output || more ? SMOL_Q6_K : SMOL_Q4_K;
    }
    return smol_quant_fallback_type(t, ne0);
}

/* ---------------------------------------------------------------- the model's tensors */

typedef struct model_plan {
    const smol_arch *arch;
    int type;                /* a dtype id, or MIX_Q4_K_M */
    uint64_t seed;
    int n_threads;
    gen_tensor *tensors;
    int n_tensors, cap;
    gen_shared shared;
} model_plan;

static gen_tensor *plan_add(model_plan *p, const char *name, uint32_t type, int64_t ne0, int64_t ne1, init_kind init) {
    gen_tensor *t = &p->tensors[p->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->init = init;
    t->seed = tensor_seed(p->seed, name);
    t->arch = p->arch;
    t->shared = &p->shared;
    p->shared.prog.total += smol_dtype_row_size(type, (uint64_t)ne0) * (uint64_t)t->ne[1];
    return t;
}

static void plan_matrix(model_plan *p, const char *name, const char *role, int layer, int64_t ne0, int64_t ne1) {
    plan_add(p, name, matrix_type(p->type, p->arch, role, layer, ne0), ne0, ne1, INIT_MATRIX);
}

/* One transformer block's tensors, in GGUF order (ne[0] = input dimension). */
static void plan_block(model_plan *p, int l) {
    const smol_arch *a = p->arch;
    int64_t hd = a->n_embd / a->n_head, q = hd * a->n_head, kv = hd * a->n_head_kv;
    char name[64];
    static const char *const roles[7] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    const int64_t ne[7][2] = {{a->n_embd, q}, {a->n_embd, kv}, {a->n_embd, kv}, {q, a->n_embd},
                              {a->n_embd, a->n_ff}, {a->n_embd, a->n_ff}, {a->n_ff, a->n_embd}};
    snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
    plan_add(p, name, SMOL_F32, a->n_embd, 0, INIT_NORM);
    for (int i = 0; i < 7; i++) {
        if (i == 4) {
            snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
            plan_add(p, name, SMOL_F32, a->n_embd, 0, INIT_NORM);
        }
        snprintf(name, sizeof name, "blk.%d.%s.weight", l, roles[i]);
        plan_matrix(p, name, roles[i], l, ne[i][0], ne[i][1]);
        if (a->qkv_bias && i < 3) {
            snprintf(name, sizeof name, "blk.%d.%s.bias", l, roles[i]);
            plan_add(p, name, SMOL_F32, ne[i][1], 0, INIT_BIAS);
        }
    }
}

/* Lists every tensor of the model with its type; fails if a type has no quantizer. */
static int plan_model(model_plan *p, smol_error *err) {
    const smol_arch *a = p->arch;
    p->cap = 4 + a->n_layer * 13;
    p->tensors = calloc((size_t)p->cap, sizeof *p->tensors);
    p->shared.scratch = calloc((size_t)p->n_threads, sizeof *p->shared.scratch);
    p->shared.pool = p->n_threads > 1 ? smol_pool_new(p->n_threads) : NULL;
    int ok = p->tensors && p->shared.scratch && (p->n_threads == 1 || p->shared.pool);
    for (int i = 0; ok && i < p->n_threads; i++)
        ok = (p->shared.scratch[i] = malloc(sizeof(float) * (size_t)(a->n_ff > a->n_embd ? a->n_ff : a->n_embd))) != NULL;
    if (!ok) {
        err->code = SMOL_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return SMOL_ENOMEM;
    }
    if (a->rope_factor > 0) plan_add(p, "rope_freqs.weight", SMOL_F32, a->n_embd / a->n_head / 2, 0, INIT_ROPE_FREQS);
    plan_matrix(p, "token_embd.weight", "token_embd", -1, a->n_embd, a->n_vocab);
    for (int l = 0; l < a->n_layer; l++) plan_block(p, l);
    plan_add(p, "output_norm.weight", SMOL_F32, a->n_embd, 0, INIT_NORM);
    if (!a->tied) plan_matrix(p, "output.weight", "output", -1, a->n_embd, a->n_vocab);
    float probe[256] = {0};
    unsigned char out[1024];
    for (int i = 0; i < p->n_tensors; i++) {
        uint32_t t = p->tensors[i].type;
        int rc = smol_quantize_row(t, probe, out, smol_dtype_get(t)->block);
        if (rc) {
            err->code = SMOL_EUNSUPPORTED;
            snprintf(err->msg, sizeof err->msg, "tensor '%s' needs type %s, which has no quantizer in this build",
                     p->tensors[i].name, smol_dtype_name(t));
            return SMOL_EUNSUPPORTED;
        }
    }
    return SMOL_OK;
}

static void plan_free(model_plan *p) {
    for (int i = 0; p->shared.scratch && i < p->n_threads; i++) free(p->shared.scratch[i]);
    free(p->shared.scratch);
    smol_pool_free(p->shared.pool);
    free(p->tensors);
}

/* ---------------------------------------------------------------- metadata */

/* The hyper-parameter keys, named as llama.cpp reads them. */
static int set_hparams(smol_gguf_writer *w, const smol_arch *a, int type, int n_ctx, smol_error *err) {
    char k[128];
    const char *g = a->gguf_arch;
    int rc = smol_gguf_writer_set_str(w, "general.architecture", g, err) ||
             smol_gguf_writer_set_str(w, "general.name", a->display_name, err) ||
             smol_gguf_writer_set_u32(w, "general.file_type", smol_quant_file_type(type), err) ||
             smol_gguf_writer_set_u32(w, "general.quantization_version", 2, err);
#define SET_U32(key, v) (snprintf(k, sizeof k, "%s." key, g), smol_gguf_writer_set_u32(w, k, (uint32_t)(v), err))
#define SET_F32(key, v) (snprintf(k, sizeof k, "%s." key, g), smol_gguf_writer_set_f32(w, k, (float)(v), err))
    rc = rc || SET_U32("context_length", n_ctx) || SET_U32("embedding_length", a->n_embd) ||
         SET_U32("block_count", a->n_layer) || SET_U32("feed_forward_length", a->n_ff) ||
         SET_U32("attention.head_count", a->n_head) || SET_U32("attention.head_count_kv", a->n_head_kv) ||
         SET_F32("attention.layer_norm_rms_epsilon", a->norm_eps) || SET_F32("rope.freq_base", a->rope_theta) ||
         SET_U32("rope.dimension_count", a->n_embd / a->n_head) || SET_U32("vocab_size", a->n_vocab);
#undef SET_U32
#undef SET_F32
    return rc ? err->code : SMOL_OK;
}

/* ---------------------------------------------------------------- tokenizers */

/* ---------------------------------------------------------------- the command */

typedef struct mm_opts {
    const smol_arch *arch;
    int type;                /* dtype id or MIX_Q4_K_M */
    const char *tokenizer;
    uint64_t seed;
    int n_ctx;
    int n_threads;
    const char *out;
} mm_opts;

static int make_model(const mm_opts *o, smol_error *err) {
    model_plan plan = {.arch = o->arch, .type = o->type, .seed = o->seed, .n_threads = o->n_threads};
    smol_vocab v = {0};
    smol_gguf_writer *w = smol_gguf_writer_new();
    int rc = w ? plan_model(&plan, err) : SMOL_ENOMEM;
    if (!rc) rc = set_hparams(w, o->arch, o->type, o->n_ctx, err);
    if (!rc) rc = o->tokenizer ? smol_vocab_from_hf(&v, o->tokenizer, o->arch->n_vocab, err)
                               : smol_vocab_builtin(&v, o->arch->n_vocab, err);
    if (!rc && v.note[0]) fprintf(stderr, "make-model: %s\n", v.note);
    if (!rc) rc = smol_vocab_write(w, &v, err);
    for (int i = 0; i < plan.n_tensors && !rc; i++) {
        gen_tensor *t = &plan.tensors[i];
        rc = smol_gguf_writer_add_tensor_fill(w, t->name, t->type, t->n_dims, t->ne, fill_tensor, t, err);
    }
    if (!rc) {
        fprintf(stderr, "make-model: %s (%s), %d tensors, %" PRIu64 " MB of weights -> %s\n", o->arch->name,
                o->type == MIX_Q4_K_M ? "q4_k_m" : smol_dtype_name((uint32_t)o->type), plan.n_tensors,
                plan.shared.prog.total >> 20, o->out);
        rc = smol_gguf_writer_write(w, o->out, err);
    }
    if (rc && !err->msg[0]) snprintf(err->msg, sizeof err->msg, "%s", smol_status_name(rc));
    smol_gguf_writer_free(w);
    smol_vocab_free(&v);
    plan_free(&plan);
    return rc;
}

static void list_archs(FILE *fp) {
    for (int i = 0; i < smol_arch_count(); i++) fprintf(fp, "%s%s", i ? ", " : "", smol_arch_at(i)->name);
}

/* --type NAME: a tensor type, or q4_k_m. */
static int parse_type(const char *cmd, const char *s, int *out) {
    if (strcasecmp(s, "q4_k_m") == 0) {
        *out = MIX_Q4_K_M;
        return 1;
    }
    int t = smol_dtype_from_name(s);
    static const int ok[] = {SMOL_F32, SMOL_F16, SMOL_BF16, SMOL_Q4_0, SMOL_Q4_1, SMOL_Q5_0, SMOL_Q5_1, SMOL_Q8_0,
                             SMOL_Q2_K, SMOL_Q3_K, SMOL_Q4_K, SMOL_Q5_K, SMOL_Q6_K};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (t == ok[i]) {
            *out = t;
            return 1;
        }
    cli_usage_error(cmd, "unknown --type '%s' (f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, "
                         "q5_k, q6_k, q4_k_m)", s);
    return 0;
}

static int run(int argc, char **argv) {
    mm_opts o = {.type = SMOL_F32, .seed = 42};
    const char *arch = NULL, *type = NULL, *seed = NULL, *ctx = NULL, *threads = NULL;
    int bad = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_opt(argc, argv, &i, "--arch", &arch, &bad) || cli_opt(argc, argv, &i, "--type", &type, &bad) ||
            cli_opt(argc, argv, &i, "--tokenizer", &o.tokenizer, &bad) || cli_opt(argc, argv, &i, "--seed", &seed, &bad) ||
            cli_opt(argc, argv, &i, "--ctx", &ctx, &bad) || cli_opt(argc, argv, &i, "-o", &o.out, &bad) ||
            cli_opt(argc, argv, &i, "--output", &o.out, &bad) || cli_opt(argc, argv, &i, "-t", &threads, &bad) ||
            cli_opt(argc, argv, &i, "--threads", &threads, &bad))
            continue;
        return cli_usage_error(argv[0], "unexpected argument '%s'", argv[i]);
    }
    if (bad) return 2;
    if (!arch) return cli_usage_error(argv[0], "missing --arch NAME");
    if (!o.out) return cli_usage_error(argv[0], "missing -o OUT.gguf");
    if (!(o.arch = smol_arch_find(arch))) {
        fprintf(stderr, "smol %s: unknown --arch '%s'; known architectures: ", argv[0], arch);
        list_archs(stderr);
        fprintf(stderr, "\nTry 'smol %s --help'.\n", argv[0]);
        return 2;
    }
    long long n;
    if (type && !parse_type(argv[0], type, &o.type)) return 2;
    if (seed) {
        if (!cli_int(argv[0], "--seed", seed, 0, INT64_MAX, &n)) return 2;
        o.seed = (uint64_t)n;
    }
    o.n_ctx = o.arch->n_ctx;
    if (ctx) {
        if (!cli_int(argv[0], "--ctx", ctx, 1, 1 << 24, &n)) return 2;
        o.n_ctx = (int)n;
    }
    o.n_threads = smol_physical_cores();
    if (threads) {
        if (!cli_int(argv[0], "--threads", threads, 1, 256, &n)) return 2;
        o.n_threads = (int)n;
    }
    smol_error err = {0};
    if (make_model(&o, &err)) return cli_fail(argv[0], &err);
    return 0;
}

const smol_cmd cmd_make_model = {
    "make-model", "write a GGUF model of a known architecture with random weights",
    "usage: smol make-model --arch NAME -o OUT.gguf [--type TYPE] [--tokenizer tokenizer.json]\n"
    "                       [--seed N] [--ctx N] [--threads N]\n"
    "\n"
    "Writes a model with llama.cpp's tensor names and metadata and seeded random weights\n"
    "(matrices N(0, 0.02), norm weights 1 + N(0, 0.02)): same seed, same bytes.\n"
    "\n"
    "options:\n"
    "  --arch NAME        smollm2-135m, smollm2-360m, smollm2-1.7b, llama3.2-1b, llama3.2-3b,\n"
    "                     qwen2.5-0.5b, qwen2.5-1.5b, or tiny (2 layers, hidden 64)\n"
    "  --type TYPE        weight type: f32 (default), f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0,\n"
    "                     q4_k, q5_k, q6_k, or q4_k_m (llama.cpp's mix); norms and biases stay\n"
    "                     f32; rows that are not whole 256-blocks fall back as llama.cpp does\n"
    "  --tokenizer FILE   embed a Hugging Face byte-level BPE tokenizer.json (and the chat\n"
    "                     template of the tokenizer_config.json beside it); without it a\n"
    "                     built-in byte vocabulary with ChatML tokens fills the vocab\n"
    "  --seed N           random seed (default 42)\n"
    "  --ctx N            context_length to record (default: the architecture's)\n"
    "  -t, --threads N    generator threads (default: physical cores); the file does not\n"
    "                     depend on it\n"
    "  -o, --output FILE  the .gguf to write (atomically)\n"
    "\n"
    "examples:\n"
    "  smol make-model --arch tiny -o tiny.gguf\n"
    "  smol make-model --arch smollm2-135m --type q8_0 \\\n"
    "      --tokenizer SmolLM2-135M-Instruct/tokenizer.json -o smollm2-random.gguf\n",
    run,
};
