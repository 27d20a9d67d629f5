/* vocab_gguf.c: builds a tokenizer from a GGUF file's tokenizer.ggml.* keys, with llama.cpp's
 * defaults for the keys a file leaves out. */
#include "tok/tokenizer.h"
#include "base/error.h"
#include <string.h>

static const smol_gguf_value *get_array(const smol_gguf *g, const char *key, uint32_t elem, smol_error *err, int *rc) {
    const smol_gguf_value *v = smol_gguf_get(g, key);
    *rc = SMOL_OK;
    if (!v) return NULL;
    if (v->type != SMOL_GGUF_ARRAY || v->arr_type != elem) {
        *rc = smol_fail(err, SMOL_EFORMAT, "GGUF key %s: expected an array of type %u, found type %u/%u", key, elem,
                        v->type, v->arr_type);
        return NULL;
    }
    return v;
}

static bool get_bool(const smol_gguf *g, const char *key, bool def) {
    const smol_gguf_value *v = smol_gguf_get(g, key);
    if (!v) return def;
    if (v->type == SMOL_GGUF_BOOL) return v->v.b;
    int64_t i;
    return smol_gguf_get_int(g, key, &i) == SMOL_OK ? i != 0 : def;
}

static int32_t get_id(const smol_gguf *g, const char *key, int32_t n_vocab) {
    int64_t v;
    if (smol_gguf_get_int(g, key, &v) != SMOL_OK || v < 0 || v >= n_vocab) return -1;
    return (int32_t)v;
}

/* Kind of model and pre-tokenizer, from tokenizer.ggml.model and tokenizer.ggml.pre. */
static int read_kind(const smol_gguf *g, smol_tokenizer *t, smol_error *err) {
    const char *model = smol_gguf_get_str(g, "tokenizer.ggml.model");
    if (!model) return smol_fail(err, SMOL_ENOTFOUND, "GGUF key tokenizer.ggml.model is missing: the file holds no tokenizer");
    if (strcmp(model, "llama") == 0) {
        t->model = SMOL_TOK_SPM;
        t->add_space_prefix = get_bool(g, "tokenizer.ggml.add_space_prefix", true);
        t->strip_decoded_space = t->add_space_prefix;
        t->add_bos = true;
        return SMOL_OK;
    }
    if (strcmp(model, "gpt2") != 0)
        return smol_fail(err, SMOL_EUNSUPPORTED, "tokenizer.ggml.model '%s' is not supported (only 'llama' and 'gpt2')", model);
    t->model = SMOL_TOK_BPE;
    t->byte_level = true;
    const char *pre = smol_gguf_get_str(g, "tokenizer.ggml.pre");
    if (!pre || strcmp(pre, "default") == 0) pre = "gpt-2";
    int kind = smol_pretok_from_name(pre);
    if (kind < 0) return smol_fail(err, SMOL_EUNSUPPORTED, "tokenizer.ggml.pre '%s' is not supported", pre);
    t->pretok = (smol_pretok_kind)kind;
    if (kind == SMOL_PRETOK_LLAMA3) {  /* llama.cpp: Llama-3 keeps whole words found in the vocabulary */
        t->ignore_merges = true;
        t->add_bos = true;
    }
    return SMOL_OK;
}

static int read_tokens(const smol_gguf *g, smol_tokenizer *t, const smol_gguf_value *toks, smol_error *err) {
    int rc;
    const smol_gguf_value *types = get_array(g, "tokenizer.ggml.token_type", SMOL_GGUF_INT32, err, &rc);
    if (rc) return rc;
    const smol_gguf_value *scores = get_array(g, "tokenizer.ggml.scores", SMOL_GGUF_FLOAT32, err, &rc);
    if (rc) return rc;
    if (types && types->len != toks->len)
        return smol_fail(err, SMOL_EFORMAT, "GGUF key tokenizer.ggml.token_type has %llu entries for %llu tokens",
                         (unsigned long long)types->len, (unsigned long long)toks->len);
    if (scores && scores->len != toks->len)
        return smol_fail(err, SMOL_EFORMAT, "GGUF key tokenizer.ggml.scores has %llu entries for %llu tokens",
                         (unsigned long long)scores->len, (unsigned long long)toks->len);
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int32_t ty = types ? ((const int32_t *)types->v.arr)[i] : SMOL_TOKEN_NORMAL;
        if (ty < SMOL_TOKEN_NORMAL || ty > SMOL_TOKEN_BYTE) ty = SMOL_TOKEN_NORMAL;
        if ((rc = smol_tok_set(t, i, toks->v.strs[i], toks->str_lens[i], (uint8_t)ty, err))) return rc;
        if (t->score) t->score[i] = scores ? ((const float *)scores->v.arr)[i] : 0.0f;
        bool special = ty == SMOL_TOKEN_CONTROL || ty == SMOL_TOKEN_UNKNOWN;
        if ((special || ty == SMOL_TOKEN_USER_DEFINED) && smol_tok_add_added(t, i, special, false, false))
            return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    return SMOL_OK;
}

static int read_merges(const smol_gguf *g, smol_tokenizer *t, smol_error *err) {
    int rc;
    const smol_gguf_value *m = get_array(g, "tokenizer.ggml.merges", SMOL_GGUF_STRING, err, &rc);
    if (rc) return rc;
    if (!m) return smol_fail(err, SMOL_ENOTFOUND, "GGUF key tokenizer.ggml.merges is missing (needed by a 'gpt2' tokenizer)");
    for (uint64_t i = 0; i < m->len; i++)
        if (smol_tok_add_merge_text(t, m->v.strs[i], m->str_lens[i], NULL, 0, (uint32_t)i))
            return smol_fail(err, SMOL_ENOMEM, "out of memory reading merges");
    return SMOL_OK;
}

static void read_special_ids(const smol_gguf *g, smol_tokenizer *t) {
    t->bos = get_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab);
    t->eos = get_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab);
    t->unk = get_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab);
    t->add_bos = get_bool(g, "tokenizer.ggml.add_bos_token", t->add_bos);
    t->add_eos = get_bool(g, "tokenizer.ggml.add_eos_token", false);
    static const char *const eog_keys[] = { "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id" };
    for (size_t i = 0; i < 2; i++) {
        int32_t id = get_id(g, eog_keys[i], t->n_vocab);
        if (id >= 0) t->eog[id] = 1;
    }
}

static int build(const smol_gguf *g, smol_tokenizer **out, smol_error *err) {
    int rc;
    const smol_gguf_value *toks = get_array(g, "tokenizer.ggml.tokens", SMOL_GGUF_STRING, err, &rc);
    if (rc) return rc;
    if (!toks) return smol_fail(err, SMOL_ENOTFOUND, "GGUF key tokenizer.ggml.tokens is missing: the file holds no tokenizer");
    if (toks->len == 0 || toks->len > INT32_MAX / 2)
        return smol_fail(err, SMOL_EFORMAT, "GGUF key tokenizer.ggml.tokens has %llu entries", (unsigned long long)toks->len);
    const char *model = smol_gguf_get_str(g, "tokenizer.ggml.model");
    smol_tokenizer *t = smol_tok_alloc((int32_t)toks->len, model && strcmp(model, "llama") == 0);
    if (!t) return smol_fail(err, SMOL_ENOMEM, "out of memory for %llu tokens", (unsigned long long)toks->len);
    *out = t;
    if ((rc = read_kind(g, t, err)) || (rc = read_tokens(g, t, toks, err))) return rc;
    if ((rc = smol_tok_finish(t, "GGUF tokenizer", err))) return rc;
    if (t->model == SMOL_TOK_BPE && (rc = read_merges(g, t, err))) return rc;
    read_special_ids(g, t);
    const char *tmpl = smol_gguf_get_str(g, "tokenizer.chat_template");
    if (tmpl && !(t->chat_template = strdup(tmpl))) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (t->eos >= 0) t->eog[t->eos] = 1;
    return SMOL_OK;
}

int smol_tokenizer_from_gguf(const smol_gguf *g, smol_tokenizer **out, smol_error *err) {
    if (!g || !out) return smol_fail(err, SMOL_EINVAL, "smol_tokenizer_from_gguf: NULL file or output");
    *out = NULL;
    smol_tokenizer *t = NULL;
    int rc = build(g, &t, err);
    if (rc) {
        smol_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return SMOL_OK;
}
