/* smol.h: the public C API of libsmol.
 *
 * Conventions
 *   - Objects are opaque and come in pairs: smol_X_open/smol_X_new ... smol_X_free (NULL is a no-op).
 *   - Functions that can fail return an int status (SMOL_OK = 0, a negative SMOL_E* otherwise) and
 *     fill an optional smol_error with a message that says what is wrong and how to fix it.
 *   - Strings are UTF-8. Sizes are in bytes unless the name says otherwise.
 */
#ifndef SMOL_H
#define SMOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

enum smol_status {
    SMOL_OK           = 0,
    SMOL_EINVAL       = -1,  /* a bad argument or option */
    SMOL_EIO          = -2,  /* a file could not be opened, read or written */
    SMOL_EFORMAT      = -3,  /* a file or text is malformed, truncated or corrupt */
    SMOL_ENOMEM       = -4,  /* out of memory */
    SMOL_EUNSUPPORTED = -5,  /* valid input that this version does not support */
    SMOL_ERANGE       = -6,  /* a limit was passed (context length, vocabulary size, ...) */
    SMOL_ENOTFOUND    = -7,  /* a key, tensor or file that is required is missing */
};

/* What went wrong: the status and a message naming the file, field or value at fault. */
typedef struct smol_error {
    int  code;
    char msg[1024];
} smol_error;

/* A short name of a status code ("format error", ...). */
const char *smol_status_name(int code);

/* ---------------------------------------------------------------- version and CPU */

/* The library version, e.g. "0.1.0". */
const char *smol_version(void);

/* The compiler and flags the library was built with. */
const char *smol_build_flags(void);

/* The CPU features detected at run time, space-separated (e.g. "avx2 fma f16c avx512f"). */
const char *smol_cpu_features(void);

/* The number of physical cores (at least 1): the default thread count. */
int smol_physical_cores(void);


/* ---------------------------------------------------------------- tensor types */

/* Tensor element types use GGML's numbering (as stored in GGUF): 0 f32, 1 f16, 2 q4_0, 3 q4_1,
 * 6 q5_0, 7 q5_1, 8 q8_0, 10..15 q2_K..q8_K, 30 bf16, ... */

/* The name of type t ("f32", "q4_K", ...), or NULL for an unknown id. */
const char *smol_dtype_name(uint32_t t);

/* Bytes taken by n elements of type t; 0 if n is not a whole number of blocks or t is unknown. */
uint64_t smol_dtype_row_size(uint32_t t, uint64_t n);

/* ---------------------------------------------------------------- safetensors files */

/* A set of safetensors tensors: one .safetensors file, or the shards listed by a
 * model.safetensors.index.json, each file memory-mapped once. */
typedef struct smol_st smol_st;

#define SMOL_ST_MAX_DIMS 8

/* One tensor. The shape is in safetensors (PyTorch) order: row-major, outermost dimension
 * first, so a [rows, cols] matrix has shape {rows, cols}; GGUF's ne[] is the reverse. */
typedef struct smol_st_tensor {
    const char *name;
    const char *dtype;       /* as stored: "F32", "F16", "BF16", "I64", "BOOL", ... */
    int32_t type;            /* the tensor type id (SMOL_F32, SMOL_F16, SMOL_BF16, SMOL_I8..SMOL_F64),
                                or -1 for U8/U16/U32/U64/BOOL/F8 types that have none */
    uint32_t n_dims;         /* 0 (a scalar) .. SMOL_ST_MAX_DIMS */
    int64_t shape[SMOL_ST_MAX_DIMS];
    uint64_t n_elements;
    uint64_t nbytes;
    uint64_t offset;         /* from the start of its file's data section */
    const void *data;        /* points into the mapped file */
    int shard;               /* which file holds it (see smol_st_shard_path) */
} smol_st_tensor;

/* Opens a .safetensors file, a model.safetensors.index.json (and its shards), or a folder
 * holding either (model.safetensors is preferred). Corrupt files give SMOL_EFORMAT naming
 * the file and the tensor or field; a folder with neither file gives SMOL_ENOTFOUND. */
int smol_st_open(const char *path, smol_st **out, smol_error *err);

/* Parses a safetensors image in memory; name is used in messages; data must outlive *out. */
int smol_st_open_memory(const void *data, size_t size, const char *name, smol_st **out, smol_error *err);

/* Frees st and unmaps its files; NULL is a no-op. */
void smol_st_free(smol_st *st);

/* The number of tensors (over all shards). */
int64_t smol_st_tensor_count(const smol_st *st);

/* Tensor i, in file order (shard by shard), or NULL if i is out of range. */
const smol_st_tensor *smol_st_tensor_at(const smol_st *st, int64_t i);

/* The tensor named name, or NULL. */
const smol_st_tensor *smol_st_find(const smol_st *st, const char *name);

/* The number of files (1 unless sharded) and the path of file i. */
int smol_st_shard_count(const smol_st *st);
const char *smol_st_shard_path(const smol_st *st, int i);

/* The `__metadata__` string pairs of the first file (or the index's "metadata", numbers as text). */
int64_t smol_st_metadata_count(const smol_st *st);
const char *smol_st_metadata_key(const smol_st *st, int64_t i);
const char *smol_st_metadata_value(const smol_st *st, int64_t i);

/* The metadata value of key, or NULL. */
const char *smol_st_metadata_get(const smol_st *st, const char *key);

/* ---------------------------------------------------------------- Chat templates */

/* One chat message: role ("system", "user", "assistant", ...) and its text. */
typedef struct smol_chat_message {
    const char *role;
    const char *content;
} smol_chat_message;

/* The supported template names, NULL-terminated: "chatml", "smollm2", "qwen2.5", "llama3",
 * "llama3.1", "llama2", "mistral". */
const char *const *smol_chat_template_names(void);

/* Recognises which supported template a Jinja chat template is (by distinctive substrings;
 * see docs/chat-templates.md) and writes its name (a static string) to *name. An unknown
 * template gives SMOL_EUNSUPPORTED listing the supported names. */
int smol_chat_template_detect(const char *jinja_source, const char **name, smol_error *err);

/* Formats n messages with the named template into a malloc'd, NUL-terminated prompt in *out;
 * add_generation_prompt appends the assistant header. Unknown names give SMOL_EINVAL listing
 * the supported ones; roles a template cannot place give SMOL_EINVAL naming the message. */
int smol_chat_apply(const char *template_name, const smol_chat_message *msgs, size_t n,
                    bool add_generation_prompt, char **out, smol_error *err);

/* Reads the Jinja chat template of a model into a malloc'd *out: path is a .gguf
 * (tokenizer.chat_template), a tokenizer.json or tokenizer_config.json (the chat_template of
 * the tokenizer_config.json beside it: a string, or a list of {name, template} of which
 * "default" is taken), or a folder holding one. SMOL_ENOTFOUND if the model has none. */
int smol_chat_template_load(const char *path, char **out, smol_error *err);

/* ---------------------------------------------------------------- GGUF files */

/* Metadata value types, numbered as in the GGUF specification. */
enum smol_gguf_type {
    SMOL_GGUF_UINT8 = 0, SMOL_GGUF_INT8 = 1, SMOL_GGUF_UINT16 = 2, SMOL_GGUF_INT16 = 3,
    SMOL_GGUF_UINT32 = 4, SMOL_GGUF_INT32 = 5, SMOL_GGUF_FLOAT32 = 6, SMOL_GGUF_BOOL = 7,
    SMOL_GGUF_STRING = 8, SMOL_GGUF_ARRAY = 9, SMOL_GGUF_UINT64 = 10, SMOL_GGUF_INT64 = 11,
    SMOL_GGUF_FLOAT64 = 12,
};

/* One metadata value. Scalars are widened: unsigned types in u64, signed in i64, floats in f64.
 * Arrays of numbers or bools keep their element type (arr_type) in `arr`, as a host-aligned
 * copy; arrays of strings are in `strs`/`str_lens`; arrays of arrays in `vals`. */
typedef struct smol_gguf_value {
    uint32_t type;                       /* enum smol_gguf_type */
    uint32_t arr_type;                   /* element type when type == SMOL_GGUF_ARRAY */
    uint64_t len;                        /* string bytes, or array elements */
    union {
        uint64_t u64;
        int64_t  i64;
        double   f64;
        bool     b;
        const char *str;                 /* STRING: NUL-terminated (may hold NULs within len) */
        const void *arr;                 /* ARRAY of numbers/bools: len elements of arr_type */
        const char *const *strs;         /* ARRAY of STRING: len NUL-terminated strings */
        const struct smol_gguf_value *vals; /* ARRAY of ARRAY: len nested values */
    } v;
    const uint64_t *str_lens;            /* ARRAY of STRING: the byte length of each string */
} smol_gguf_value;

/* One tensor: its name, type, shape (ne[0] varies fastest, as GGUF stores it) and bytes. */
typedef struct smol_gguf_tensor {
    const char *name;
    uint32_t type;        /* tensor type id (see smol_dtype_name) */
    uint32_t n_dims;      /* 1..4 */
    int64_t  ne[4];       /* elements per dimension; unused dimensions are 1 */
    uint64_t offset;      /* from the start of the data section */
    uint64_t nbytes;
    const void *data;     /* points into the mapped file */
} smol_gguf_tensor;

typedef struct smol_gguf smol_gguf;

/* Opens and validates a GGUF v2/v3 file, memory-mapped. Corrupt files give SMOL_EFORMAT. */
int smol_gguf_open(const char *path, smol_gguf **out, smol_error *err);

/* Parses a GGUF image in memory; data must outlive the returned object. */
int smol_gguf_open_memory(const void *data, size_t size, smol_gguf **out, smol_error *err);

/* Frees g and unmaps its file; NULL is a no-op. */
void smol_gguf_free(smol_gguf *g);

/* The file's GGUF version (2 or 3). */
uint32_t smol_gguf_version(const smol_gguf *g);

/* The data-section alignment (general.alignment, default 32). */
uint32_t smol_gguf_alignment(const smol_gguf *g);

/* The number of metadata keys. */
int64_t smol_gguf_kv_count(const smol_gguf *g);

/* The key of entry i. */
const char *smol_gguf_kv_key(const smol_gguf *g, int64_t i);

/* The value of entry i. */
const smol_gguf_value *smol_gguf_kv_value(const smol_gguf *g, int64_t i);

/* The value of key, or NULL if absent. */
const smol_gguf_value *smol_gguf_get(const smol_gguf *g, const char *key);

/* The string value of key, or NULL if absent or not a string. */
const char *smol_gguf_get_str(const smol_gguf *g, const char *key);

/* Reads an integer-typed key into *out; SMOL_ENOTFOUND if absent, SMOL_EFORMAT if not an integer. */
int smol_gguf_get_int(const smol_gguf *g, const char *key, int64_t *out);

/* Reads a float- or integer-typed key into *out, with the same errors. */
int smol_gguf_get_float(const smol_gguf *g, const char *key, double *out);

/* The number of tensors. */
int64_t smol_gguf_tensor_count(const smol_gguf *g);

/* Tensor i. */
const smol_gguf_tensor *smol_gguf_tensor_at(const smol_gguf *g, int64_t i);

/* The tensor named name, or NULL. */
const smol_gguf_tensor *smol_gguf_find_tensor(const smol_gguf *g, const char *name);

/* A GGUF file under construction: metadata and tensors, written at once by smol_gguf_writer_write. */
typedef struct smol_gguf_writer smol_gguf_writer;

/* A new, empty writer (GGUF v3, alignment 32); NULL when out of memory. */
smol_gguf_writer *smol_gguf_writer_new(void);

/* Frees w; NULL is a no-op. */
void smol_gguf_writer_free(smol_gguf_writer *w);

/* Sets key to a deep copy of v, replacing an earlier value of the same key. */
int smol_gguf_writer_set(smol_gguf_writer *w, const char *key, const smol_gguf_value *v, smol_error *err);

/* Shorthands for scalar and string keys. */
int smol_gguf_writer_set_u32(smol_gguf_writer *w, const char *key, uint32_t v, smol_error *err);
int smol_gguf_writer_set_i32(smol_gguf_writer *w, const char *key, int32_t v, smol_error *err);
int smol_gguf_writer_set_f32(smol_gguf_writer *w, const char *key, float v, smol_error *err);
int smol_gguf_writer_set_bool(smol_gguf_writer *w, const char *key, bool v, smol_error *err);
int smol_gguf_writer_set_str(smol_gguf_writer *w, const char *key, const char *v, smol_error *err);

/* Sets key to an array of n numbers of element type arr_type (host layout), copied. */
int smol_gguf_writer_set_arr(smol_gguf_writer *w, const char *key, uint32_t arr_type, const void *data,
                             uint64_t n, smol_error *err);

/* Sets key to an array of n NUL-terminated strings, copied. */
int smol_gguf_writer_set_arr_str(smol_gguf_writer *w, const char *key, const char *const *strs, uint64_t n,
                                 smol_error *err);

/* Adds a tensor. Its data is referenced, not copied: it must stay valid until the write. */
int smol_gguf_writer_add_tensor(smol_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                const int64_t *ne, const void *data, smol_error *err);

/* Writes the file atomically (temp file + rename). */
int smol_gguf_writer_write(smol_gguf_writer *w, const char *path, smol_error *err);

/* GGUF extras: the metadata type names, the data section, and tensors generated at write time. */

/* The name of metadata type t ("u32", "string", "array", ...), or "?" for an unknown type. */
const char *smol_gguf_type_name(uint32_t t);

/* The byte where the data section starts (tensor offsets count from here). */
uint64_t smol_gguf_data_offset(const smol_gguf *g);

/* The size of the file or memory image in bytes. */
uint64_t smol_gguf_file_size(const smol_gguf *g);

/* Fills rows [row0, row0 + n_rows) of a tensor into buf (rows of ne[0] elements of the tensor's
 * type, packed). Called in row order during the write; returns SMOL_OK or a status with err set. */
typedef int (*smol_gguf_fill_fn)(void *ctx, int64_t row0, int64_t n_rows, void *buf, smol_error *err);

/* Adds a tensor whose bytes fill produces during smol_gguf_writer_write (a few MB at a time),
 * so files larger than memory can be written; ctx must stay valid until the write. */
int smol_gguf_writer_add_tensor_fill(smol_gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                                     const int64_t *ne, smol_gguf_fill_fn fill, void *ctx, smol_error *err);

/* ---------------------------------------------------------------- Models */

/* A loaded model (Llama-family: LlamaForCausalLM, Qwen2ForCausalLM): hyper-parameters and
 * weights. Weights are used in place from the memory-mapped file when their type allows. */
typedef struct smol_model smol_model;

#define SMOL_WEIGHTS_AS_STORED UINT32_MAX

typedef struct smol_model_params {
    uint32_t weight_type;   /* convert weight matrices to this type at load (e.g. 8 = q8_0);
                               SMOL_WEIGHTS_AS_STORED (default) keeps them as stored */
} smol_model_params;

typedef struct smol_model_info {
    char arch[16];          /* "llama" or "qwen2" */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int n_ctx_train;        /* the context length the model was trained with */
    float norm_eps, rope_theta;
    int rope_neox;          /* 1: the two halves of a head rotate together (HF, qwen2); 0: adjacent pairs */
    int bos_id;             /* -1 when the model has none */
    int eog_ids[8];         /* tokens that end generation (eos, eot, ...) */
    int n_eog;
    uint32_t weight_type;   /* the type of the attention/FFN matrices */
    uint64_t n_params;
} smol_model_info;

/* The defaults: weights as stored. */
smol_model_params smol_model_default_params(void);

/* Loads a .gguf file or a Hugging Face folder (config.json + model.safetensors, or shards with
 * model.safetensors.index.json). params may be NULL for the defaults. Missing tensors, wrong
 * shapes and unknown architectures give an error naming them. */
int smol_model_load(const char *path, const smol_model_params *params, smol_model **out, smol_error *err);

/* Frees m and unmaps its files; NULL is a no-op. */
void smol_model_free(smol_model *m);

/* The hyper-parameters of m. */
const smol_model_info *smol_model_get_info(const smol_model *m);

/* ---------------------------------------------------------------- Inference */

/* An inference context over one model: threads, scratch memory and n_seq sequences, each with
 * its own KV cache. Not thread-safe: one caller at a time. The model must outlive it. */
typedef struct smol_ctx smol_ctx;

typedef struct smol_ctx_params {
    int n_ctx;              /* positions per sequence; 0: the model's training context */
    int n_seq;              /* independent sequences (default 1) */
    int n_threads;          /* 0: smol_physical_cores() */
    int n_batch;            /* prompt tokens evaluated per pass (default 256) */
    uint32_t kv_type;       /* KV cache element type: 1 f16 (default) or 0 f32 */
} smol_ctx_params;

/* The defaults: the model's context, 1 sequence, all physical cores, f16 KV cache. */
smol_ctx_params smol_ctx_default_params(void);

/* Creates a context for m; params may be NULL for the defaults. */
int smol_ctx_new(const smol_model *m, const smol_ctx_params *params, smol_ctx **out, smol_error *err);

/* Frees c; NULL is a no-op. */
void smol_ctx_free(smol_ctx *c);

/* The positions per sequence. */
int smol_ctx_n_ctx(const smol_ctx *c);

/* The number of sequences. */
int smol_ctx_n_seq(const smol_ctx *c);

/* The model c runs. */
const smol_model *smol_ctx_model(const smol_ctx *c);

/* Appends n tokens to sequence seq and runs them through the model (matrix x matrix, n_batch
 * at a time). Afterwards smol_get_logits gives the last token's logits; all_logits, when not
 * NULL, receives every token's logits [n][n_vocab]. SMOL_ERANGE if the sequence would pass
 * n_ctx (nothing is evaluated then). */
int smol_eval(smol_ctx *c, int seq, const int32_t *tokens, int n, float *all_logits, smol_error *err);

/* Batched decoding: appends tokens[i] to sequence seqs[i] for n distinct sequences and runs
 * them in one pass; each sequence's logits are then in smol_get_logits(c, seqs[i]). */
int smol_eval_multi(smol_ctx *c, int n, const int *seqs, const int32_t *tokens, smol_error *err);

/* The logits [n_vocab] after the last token evaluated in seq, or NULL if none yet. */
const float *smol_get_logits(const smol_ctx *c, int seq);

/* The number of positions held by sequence seq. */
int smol_seq_len(const smol_ctx *c, int seq);

/* Keeps the first n positions of sequence seq (0 clears it). */
void smol_seq_truncate(smol_ctx *c, int seq, int n);

/* The tokens sequence seq holds (*tokens points into c, valid until the next call that changes
 * it); returns their number. */
int smol_seq_tokens(const smol_ctx *c, int seq, const int32_t **tokens);

/* ---------------------------------------------------------------- Sampling */

typedef struct smol_sampler smol_sampler;

/* Adds bias to the logit of token before sampling (-INFINITY bans it). */
typedef struct smol_logit_bias {
    int32_t token;
    float bias;
} smol_logit_bias;

/* The constraint hook, called at every step with mask[n_vocab] all 1: clear mask[t] for each
 * token t that may not come next (structured generation). Return 0, or a negative status to
 * stop sampling with that error. */
typedef int (*smol_token_filter_fn)(void *user, uint8_t *mask, int n_vocab);

typedef struct smol_sampler_params {
    float temperature;      /* 0: greedy (argmax); default 0.8 */
    int top_k;              /* keep the k most likely tokens; 0: off (default 40) */
    float top_p;            /* keep the smallest set with probability >= p; 1: off (default 0.95) */
    float min_p;            /* drop tokens below min_p * p(best); 0: off (default 0.05) */
    float repeat_penalty;   /* recent tokens: positive logits divided, negative multiplied; 1: off */
    float frequency_penalty;/* minus this times a recent token's count; 0: off */
    float presence_penalty; /* minus this once per recent token; 0: off */
    int penalty_last_n;     /* how many recent tokens the penalties look at (default 64) */
    uint64_t seed;          /* the random stream (same seed, same choices) */
    const smol_logit_bias *logit_bias;  /* copied at creation */
    int n_logit_bias;
    smol_token_filter_fn filter;        /* optional constraint hook */
    void *filter_user;
    int llama2c;            /* 1: llama2.c's run.c sampler instead (see below) */
} smol_sampler_params;

/* With llama2c set, a step is exactly llama2.c's: its xorshift64* stream seeded with seed,
 * logits / temperature, a float softmax over all tokens, then its top-p (candidates above
 * (1 - top_p) / (n_vocab - 1), sorted, cut where the running sum passes top_p) or, with top_p
 * outside (0, 1), a draw from the whole distribution. Bias, penalties and the filter still
 * apply first; top_k and min_p are not used. Same seed, same tokens as llama2.c's run. */

/* The defaults listed above. */
smol_sampler_params smol_sampler_default_params(void);

/* Creates a sampler for a vocabulary of n_vocab tokens. */
int smol_sampler_new(const smol_sampler_params *params, int n_vocab, smol_sampler **out, smol_error *err);

/* Frees s; NULL is a no-op. */
void smol_sampler_free(smol_sampler *s);

/* Picks the next token from logits [n_vocab] (not modified) into *token; also records it for
 * the penalties (as smol_sampler_accept). SMOL_EINVAL if the filter and bias allow no token. */
int smol_sampler_sample(smol_sampler *s, const float *logits, int32_t *token, smol_error *err);

/* Records token as generated (for the penalties), e.g. prompt tokens. */
void smol_sampler_accept(smol_sampler *s, int32_t token);

/* Forgets the recorded tokens and restarts the random stream from the seed. */
void smol_sampler_reset(smol_sampler *s);

/* ---------------------------------------------------------------- Generation */

typedef struct smol_tokenizer smol_tokenizer;

/* Receives generated text as it is produced (whole UTF-8 characters; stop strings removed);
 * index is the prompt's index in a batch (0 for smol_generate). Return nonzero to stop that
 * sequence. */
typedef int (*smol_text_fn)(void *user, int index, const char *text, size_t len);

enum smol_stop_reason {
    SMOL_STOP_LENGTH = 0,   /* n_predict tokens were generated */
    SMOL_STOP_EOG = 1,      /* the model produced an end-of-generation token */
    SMOL_STOP_STRING = 2,   /* a stop string was produced */
    SMOL_STOP_CALLBACK = 3, /* the text callback asked to stop */
    SMOL_STOP_CONTEXT = 4,  /* the sequence filled its context */
};

typedef struct smol_gen_params {
    int n_predict;          /* the most new tokens (default 128); < 0: until an end token or a full context */
    smol_sampler_params sampling;  /* sequence i of a batch uses seed + i */
    const char *const *stop;       /* stop strings: the text ends before the first one produced */
    int n_stop;
    bool parse_special;     /* special-token texts in the prompt become those tokens (default true) */
    bool ignore_eog;        /* keep going past end-of-generation tokens (default false) */
    void *const *filter_users;     /* when not NULL, sequence i's constraint filter gets filter_users[i]
                                      as its user pointer (one grammar matcher per sequence) */
    bool budget_finish;     /* with a grammar filter (smol_grammar_filter_apply, src/gen/grammar.h): only
                               tokens after which the output can still be completed within n_predict
                               and the context; a constraint that cannot fit gives SMOL_ERANGE before
                               generating (default true) */
} smol_gen_params;

typedef struct smol_gen_result {
    int n_prompt, n_gen;    /* prompt tokens (with BOS) and generated tokens */
    int n_reused;           /* prompt tokens already in the sequence (not evaluated again) */
    double prompt_ms, gen_ms;
    int stop_reason;        /* enum smol_stop_reason */
} smol_gen_result;

/* The defaults: 128 tokens, default sampling, no stop strings. */
smol_gen_params smol_gen_default_params(void);

/* Generates a continuation of prompt in sequence 0 of c: BOS is added when the tokenizer asks
 * for it, and an empty prompt starts from BOS alone. The part of the prompt the sequence already
 * holds is reused (a chat re-sends its history), the rest is evaluated. Text goes to on_text as
 * it is produced; res (may be NULL) gets counts and timings. A prompt longer than the context
 * gives SMOL_ERANGE. */
int smol_generate(smol_ctx *c, const smol_tokenizer *tok, const char *prompt, const smol_gen_params *params,
                  smol_text_fn on_text, void *user, smol_gen_result *res, smol_error *err);

/* The same for n prompts at once in sequences 0..n-1 (n <= the context's n_seq), decoded
 * together one token per sequence per step; res (may be NULL) holds n results. */
int smol_generate_batch(smol_ctx *c, const smol_tokenizer *tok, int n, const char *const *prompts,
                        const smol_gen_params *params, smol_text_fn on_text, void *user, smol_gen_result *res,
                        smol_error *err);



/* ---------------------------------------------------------------- Tokenizers */

/* A tokenizer: byte-level BPE (GPT-2 family: SmolLM2, Llama-3, Qwen2, ...) or SentencePiece-style
 * BPE (Llama-2, Mistral, phi-3, TinyStories), loaded from GGUF or tokenizer.json. Read-only after
 * loading: one tokenizer may be used from several threads at once. */
typedef struct smol_tokenizer smol_tokenizer;

/* Token types, numbered as GGUF's tokenizer.ggml.token_type. */
enum smol_token_attr {
    SMOL_TOKEN_NORMAL = 1, SMOL_TOKEN_UNKNOWN = 2, SMOL_TOKEN_CONTROL = 3,
    SMOL_TOKEN_USER_DEFINED = 4, SMOL_TOKEN_UNUSED = 5, SMOL_TOKEN_BYTE = 6,
};

/* Loads a .gguf, a tokenizer.json (with tokenizer_config.json beside it when present), or a
 * folder holding tokenizer.json. Unsupported models, normalizers and pre-tokenizers give
 * SMOL_EUNSUPPORTED naming the part. */
int smol_tokenizer_load(const char *path, smol_tokenizer **out, smol_error *err);

/* Builds the tokenizer described by a GGUF file's tokenizer.ggml.* keys; g may be freed after. */
int smol_tokenizer_from_gguf(const smol_gguf *g, smol_tokenizer **out, smol_error *err);

/* Frees t; NULL is a no-op. */
void smol_tokenizer_free(smol_tokenizer *t);

/* The number of tokens. */
int32_t smol_tokenizer_n_vocab(const smol_tokenizer *t);

/* The beginning/end-of-sequence tokens, -1 if none. */
int32_t smol_token_bos(const smol_tokenizer *t);
int32_t smol_token_eos(const smol_tokenizer *t);

/* True if SMOL_TOKENIZE_ADD_SPECIAL puts the BOS token first. */
bool smol_tokenizer_adds_bos(const smol_tokenizer *t);

/* True for tokens that end generation: eos, eot, <|im_end|>, <|eot_id|>, ... */
bool smol_token_is_eog(const smol_tokenizer *t, int32_t id);

/* The vocabulary string of id as stored (byte-level or '▁' form), or NULL if out of range. */
const char *smol_token_text(const smol_tokenizer *t, int32_t id);

/* The type of id (enum smol_token_attr), 0 if out of range. */
int smol_token_type(const smol_tokenizer *t, int32_t id);

/* The id of the token whose stored text is text[0..len), or -1. */
int32_t smol_token_lookup(const smol_tokenizer *t, const char *text, size_t len);

/* The chat template (Jinja source) from GGUF or tokenizer_config.json, or NULL. */
const char *smol_tokenizer_chat_template(const smol_tokenizer *t);

/* The pre-tokenizer in use ("llama-bpe", "smollm", ..., "spm" for SentencePiece, "none"). */
const char *smol_tokenizer_pretok_name(const smol_tokenizer *t);

enum {
    SMOL_TOKENIZE_ADD_SPECIAL   = 1,  /* add BOS/EOS as the tokenizer asks */
    SMOL_TOKENIZE_PARSE_SPECIAL = 2,  /* special tokens written in the text become their ids */
};

/* A growable list of token ids; zero-initialise, free ids with free(). */
typedef struct smol_tokens {
    int32_t *ids;
    size_t n, cap;
} smol_tokens;

/* Appends the tokens of text[0..len) to out. Added (non-special) tokens are always matched;
 * special ones only with SMOL_TOKENIZE_PARSE_SPECIAL. Invalid UTF-8 is tokenized byte by byte
 * (byte tokens), never rejected. On failure out is left as it was. */
int smol_tokenize(const smol_tokenizer *t, const char *text, size_t len, unsigned flags, smol_tokens *out,
                  smol_error *err);

/* The decoded bytes of one token into buf: returns the length, or -needed if cap is short
 * (0 for an id out of range). Special tokens give their text. */
int smol_token_to_bytes(const smol_tokenizer *t, int32_t id, char *buf, size_t cap);

enum {
    SMOL_DETOKENIZE_SKIP_SPECIAL = 1,  /* leave out control and unknown tokens */
    SMOL_DETOKENIZE_LOSSY        = 2,  /* invalid UTF-8 becomes U+FFFD, as Hugging Face decode() */
    SMOL_DETOKENIZE_KEEP_SPACE   = 4,  /* SentencePiece: keep the first token's leading space */
};

/* Decodes a whole sequence into a malloc'd NUL-terminated string as Hugging Face's decode()
 * does (SentencePiece: the leading space of the first token is removed). SMOL_ERANGE names the
 * first id out of range. */
int smol_detokenize(const smol_tokenizer *t, const int32_t *ids, size_t n, unsigned flags, char **out, size_t *len,
                    smol_error *err);

/* Token-by-token decoding for printing: bytes of an incomplete UTF-8 character are held back
 * until the tokens that complete it arrive. The pushes together give smol_detokenize's bytes. */
typedef struct smol_detok_stream {
    const smol_tokenizer *t;
    unsigned flags;           /* SMOL_DETOKENIZE_SKIP_SPECIAL, SMOL_DETOKENIZE_KEEP_SPACE */
    int started;
    uint8_t n_held;
    char held[4];
} smol_detok_stream;

/* Starts a stream over t. */
void smol_detok_stream_init(smol_detok_stream *s, const smol_tokenizer *t, unsigned flags);

/* Adds token id and writes the bytes now complete to buf: returns their count, or -needed if
 * cap is short (nothing is consumed then). Ids out of range write nothing. */
int smol_detok_stream_push(smol_detok_stream *s, int32_t id, char *buf, size_t cap);

/* Writes the bytes still held (an incomplete character at the end); returns their count. */
int smol_detok_stream_flush(smol_detok_stream *s, char *buf, size_t cap);

/* ---------------------------------------------------------------- Classifiers */

/* A fastText-compatible supervised classifier (.bin or quantized .ftz, format version 11/12):
 * see docs/classifiers.md. A loaded model is read-only and may be shared by threads, each
 * with its own smol_ft_scratch. */
typedef struct smol_ft smol_ft;
typedef struct smol_ft_scratch smol_ft_scratch;

/* One predicted label: its index (see smol_ft_label) and probability. */
typedef struct smol_ft_prediction {
    int32_t label;
    float prob;
} smol_ft_prediction;

/* A model's shape and hyper-parameters. */
typedef struct smol_ft_meta {
    int32_t dim, nwords, nlabels, bucket, minn, maxn, word_ngrams, epoch;
    int64_t ntokens, input_rows;
    const char *loss;             /* "softmax", "hs", "ova", "ns" */
    bool quantized, qout, pruned;
} smol_ft_meta;

/* Loads a .bin/.ftz model. Truncated or corrupt files give SMOL_EFORMAT naming the file and the
 * field; word-vector (cbow/skipgram) models give SMOL_EUNSUPPORTED. */
int smol_ft_load(const char *path, smol_ft **out, smol_error *err);

/* The same from a model image in memory (copied; name is used in messages). */
int smol_ft_load_memory(const void *data, size_t size, const char *name, smol_ft **out, smol_error *err);

/* Writes m in fastText's format (atomically); fastText itself can load the file. */
int smol_ft_save(const smol_ft *m, const char *path, smol_error *err);

/* Frees m; NULL is a no-op. */
void smol_ft_free(smol_ft *m);

/* Fills *info with m's shape. */
void smol_ft_info(const smol_ft *m, smol_ft_meta *info);

/* The number of labels, label i's full text ("__label__en"; NULL if out of range), and the
 * index of a label text (-1 if unknown). */
int32_t smol_ft_label_count(const smol_ft *m);
const char *smol_ft_label(const smol_ft *m, int32_t i);
int32_t smol_ft_label_index(const smol_ft *m, const char *label);

/* Per-thread working memory for predicting with m; NULL when out of memory. */
smol_ft_scratch *smol_ft_scratch_new(const smol_ft *m);
void smol_ft_scratch_free(smol_ft_scratch *s);

/* Predicts the k most probable labels (k <= 0: all) with probability >= threshold for text,
 * tokenised as fastText reads one line (all whitespace separates words; eos appends the
 * end-of-line token "</s>" as fastText does for a line ending in a newline). Writes them to out
 * (room for min(k, labels)), best first; returns their count or a negative status. */
int smol_ft_predict(const smol_ft *m, smol_ft_scratch *s, const char *text, size_t len, int eos, int k,
                    float threshold, smol_ft_prediction *out);

/* fastText's `test` over a labelled file: N (lines with labels and words), P@k, R@k and per-label
 * counts for precision/recall/F1. */
typedef struct smol_ft_metrics {
    int64_t n, gold, predicted, predicted_gold;
    int32_t nlabels;
    int64_t *label_gold, *label_predicted, *label_predicted_gold;   /* [nlabels] */
} smol_ft_metrics;

/* Runs the test (k <= 0: all labels) over path ("-" for stdin, .gz/.zst accepted). */
int smol_ft_test(const smol_ft *m, const char *path, int k, float threshold, smol_ft_metrics *out, smol_error *err);

/* Frees the arrays of *mt. */
void smol_ft_metrics_free(smol_ft_metrics *mt);

/* Supervised training options (fastText's names and defaults for `supervised`). */
typedef struct smol_ft_train_opts {
    const char *input;            /* labelled text: "__label__x ... words" per line */
    const char *label;            /* label prefix, "__label__" */
    double lr, t;                 /* 0.1, 1e-4 */
    int dim, ws, epoch, min_count, min_count_label, neg, word_ngrams, bucket, minn, maxn;
    int thread, lr_update_rate, seed, verbose;
    const char *loss;             /* "softmax" (default), "ova", "hs", "ns" */
} smol_ft_train_opts;

/* Fills o with fastText's supervised defaults (dim 100, epoch 5, lr 0.1, bucket 2000000, ...). */
void smol_ft_train_defaults(smol_ft_train_opts *o);

/* Trains a classifier on o->input (Hogwild threads, linearly decaying learning rate). An empty
 * or label-less input gives SMOL_EFORMAT naming the file. Progress goes to stderr if verbose > 1. */
int smol_ft_train(const smol_ft_train_opts *o, smol_ft **out, smol_error *err);

/* Quantization options (fastText's `quantize`). */
typedef struct smol_ft_quant_opts {
    int dsub;         /* sub-vector size (2) */
    bool qnorm;       /* quantize row norms separately */
    bool qout;        /* quantize the output matrix too */
    int64_t cutoff;   /* keep only the cutoff input rows of largest norm (0: all) */
} smol_ft_quant_opts;

/* Product-quantizes m's input (and with qout its output) matrix in place. */
int smol_ft_quantize(smol_ft *m, const smol_ft_quant_opts *o, smol_error *err);

/* ---------------------------------------------------------------- Conversion */

/* Target types beside the tensor type ids (f32 0, f16 1, q4_0 2, q8_0 8, q4_K 12, q6_K 14, bf16 30, ...). */
#define SMOL_TYPE_AS_STORED (-1)  /* keep each weight's stored type (smol_convert_hf only) */
#define SMOL_TYPE_Q4_K_M    (-2)  /* llama.cpp's Q4_K_M mixture of q4_K and q6_K */

/* Receives one line of progress or a warning ("warning: ..."), without a newline. */
typedef void (*smol_convert_log_fn)(void *user, const char *line);

typedef struct smol_convert_params {
    int type;               /* weight-matrix type: a tensor type id, SMOL_TYPE_Q4_K_M or SMOL_TYPE_AS_STORED
                               (default f16, as llama.cpp's converter); 1-D tensors stay f32 */
    int pure;               /* 1: every matrix gets `type`; 0 (default): llama.cpp's per-tensor rules */
    int n_threads;          /* 0: smol_physical_cores() */
    const char *tokenizer;  /* smol_convert_hf: the tokenizer.json to embed (default: the folder's) */
    smol_convert_log_fn log;  /* progress and warnings; NULL: none */
    void *log_user;
} smol_convert_params;

/* The defaults: f16, llama.cpp's rules, all physical cores, no log. */
smol_convert_params smol_convert_default_params(void);

/* Writes the Hugging Face model in dir (config.json, model.safetensors or its sharded index,
 * tokenizer.json + tokenizer_config.json) as the GGUF llama.cpp's converter writes: llama or qwen2
 * keys, tokenizer.ggml.*, llama.cpp tensor names, llama's Q/K rows in adjacent-pair rope order,
 * rope_freqs.weight for llama3 scaling. Without a tokenizer.json the built-in byte vocabulary is
 * embedded (a warning is logged). out is written atomically. Errors name the file and field. */
int smol_convert_hf(const char *dir, const char *out, const smol_convert_params *params, smol_error *err);

/* Writes the GGUF `in` to `out` (atomically) with its 2-D weights converted to params->type by
 * llama.cpp's rules (see docs/convert.md): all metadata copied, general.file_type set. */
int smol_quantize_gguf(const char *in, const char *out, const smol_convert_params *params, smol_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SMOL_H */
