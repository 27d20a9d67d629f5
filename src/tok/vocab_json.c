/* vocab_json.c: loads a Hugging Face tokenizer.json (BPE model, added tokens, normalizer,
 * pre-tokenizer, decoder, post-processor) and the tokenizer_config.json beside it (BOS/EOS
 * tokens, chat template). The pre-tokenizer family is recognised from its regex strings. Also
 * the older GPT-2 pair of files: vocab.json (or encoder.json) and merges.txt (or vocab.bpe). */
#include "tok/tokenizer.h"
#include "base/error.h"
#include "base/file.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* The Split regexes of the families smol_pretok_split implements. */
static const struct { const char *regex; smol_pretok_kind kind; } k_regexes[] = {
    { "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      SMOL_PRETOK_LLAMA3 },
    { "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      SMOL_PRETOK_QWEN2 },
    { "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", SMOL_PRETOK_GPT2 },
};

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool bool_of(const cJSON *o, const char *key, bool def) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static int add_norm(smol_tokenizer *t, smol_norm_op op, const char *arg, const char *arg2) {
    smol_norm_step *n = realloc(t->norm, (size_t)(t->n_norm + 1) * sizeof *n);
    if (!n) return SMOL_ENOMEM;
    t->norm = n;
    smol_norm_step *s = &t->norm[t->n_norm++];
    *s = (smol_norm_step){ op, arg ? strdup(arg) : NULL, arg2 ? strdup(arg2) : NULL };
    return (arg && !s->arg) || (arg2 && !s->arg2) ? SMOL_ENOMEM : SMOL_OK;
}

static int read_normalizer(smol_tokenizer *t, const cJSON *n, const char *path, smol_error *err) {
    if (!n || cJSON_IsNull(n)) return SMOL_OK;
    const char *type = str_of(n, "type");
    if (!type) return smol_fail(err, SMOL_EFORMAT, "%s: normalizer has no type", path);
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "normalizers")) {
            int rc = read_normalizer(t, e, path, err);
            if (rc) return rc;
        }
        return SMOL_OK;
    }
    int rc = SMOL_OK;
    if (strcmp(type, "NFC") == 0) rc = add_norm(t, SMOL_NORM_NFC, NULL, NULL);
    else if (strcmp(type, "NFKC") == 0) rc = add_norm(t, SMOL_NORM_NFKC, NULL, NULL);
    else if (strcmp(type, "Lowercase") == 0) rc = add_norm(t, SMOL_NORM_LOWERCASE, NULL, NULL);
    else if (strcmp(type, "Prepend") == 0 && str_of(n, "prepend")) rc = add_norm(t, SMOL_NORM_PREPEND, str_of(n, "prepend"), NULL);
    else if (strcmp(type, "Replace") == 0) {
        const char *from = str_of(cJSON_GetObjectItemCaseSensitive(n, "pattern"), "String"), *to = str_of(n, "content");
        if (!from || !to) return smol_fail(err, SMOL_EUNSUPPORTED, "%s: normalizer Replace with a regex pattern is not supported", path);
        rc = add_norm(t, SMOL_NORM_REPLACE, from, to);
    } else {
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: normalizer type '%s' is not supported", path, type);
    }
    return rc ? smol_fail(err, rc, "%s: out of memory", path) : SMOL_OK;
}

/* What the pre-tokenizer steps say. */
typedef struct pre_info {
    smol_pretok_kind split;   /* from a Split regex or ByteLevel(use_regex) */
    bool digits;              /* Digits(individual_digits) */
    bool byte_level;
} pre_info;

static int read_pre_one(smol_tokenizer *t, const cJSON *p, pre_info *pi, const char *path, smol_error *err) {
    const char *type = str_of(p, "type");
    if (!type) return smol_fail(err, SMOL_EFORMAT, "%s: pre_tokenizer has no type", path);
    if (strcmp(type, "ByteLevel") == 0) {
        if (bool_of(p, "add_prefix_space", false))
            return smol_fail(err, SMOL_EUNSUPPORTED, "%s: pre_tokenizer ByteLevel with add_prefix_space true is not supported", path);
        pi->byte_level = true;
        if (bool_of(p, "use_regex", true)) {
            if (pi->split != SMOL_PRETOK_NONE) goto combo;
            pi->split = SMOL_PRETOK_GPT2;
        }
        return SMOL_OK;
    }
    if (strcmp(type, "Digits") == 0 && bool_of(p, "individual_digits", false) && !pi->digits) {
        pi->digits = true;
        return SMOL_OK;
    }
    if (strcmp(type, "Split") == 0) {
        const char *re = str_of(cJSON_GetObjectItemCaseSensitive(p, "pattern"), "Regex");
        const char *beh = str_of(p, "behavior");
        for (size_t i = 0; re && beh && strcmp(beh, "Isolated") == 0 && !bool_of(p, "invert", false) &&
                           i < sizeof k_regexes / sizeof k_regexes[0]; i++)
            if (strcmp(re, k_regexes[i].regex) == 0) {
                if (pi->split != SMOL_PRETOK_NONE) goto combo;
                pi->split = k_regexes[i].kind;
                return SMOL_OK;
            }
        return smol_fail(err, SMOL_EUNSUPPORTED, "%s: pre_tokenizer Split with regex '%.200s' is not supported", path,
                         re ? re : "(not a regex)");
    }
    if (strcmp(type, "Metaspace") == 0) {
        const char *rep = str_of(p, "replacement"), *scheme = str_of(p, "prepend_scheme");
        if (!rep || bool_of(p, "split", true))
            return smol_fail(err, SMOL_EUNSUPPORTED, "%s: pre_tokenizer type 'Metaspace' with split true is not supported", path);
        if (add_norm(t, SMOL_NORM_REPLACE, " ", rep)) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
        bool always = scheme ? strcmp(scheme, "always") == 0 : bool_of(p, "add_prefix_space", true);
        bool first = scheme && strcmp(scheme, "first") == 0;
        if ((always || first) && add_norm(t, always ? SMOL_NORM_PREPEND : SMOL_NORM_PREPEND_FIRST, rep, NULL))
            return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
        t->strip_decoded_space = always || first;
        return SMOL_OK;
    }
    return smol_fail(err, SMOL_EUNSUPPORTED, "%s: pre_tokenizer type '%s' is not supported", path, type);
combo:
    return smol_fail(err, SMOL_EUNSUPPORTED, "%s: this combination of pre_tokenizer steps is not supported", path);
}

static int read_pre(smol_tokenizer *t, const cJSON *p, const char *path, smol_error *err) {
    pre_info pi = { SMOL_PRETOK_NONE, false, false };
    int rc = SMOL_OK;
    if (p && !cJSON_IsNull(p)) {
        const char *type = str_of(p, "type");
        if (type && strcmp(type, "Sequence") == 0) {
            const cJSON *e;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(p, "pretokenizers"))
                if ((rc = read_pre_one(t, e, &pi, path, err))) return rc;
        } else if ((rc = read_pre_one(t, p, &pi, path, err))) {
            return rc;
        }
    }
    if (pi.digits) {  /* Digits(individual) then the GPT-2 regex: SmolLM, StarCoder */
        if (pi.split != SMOL_PRETOK_GPT2)
            return smol_fail(err, SMOL_EUNSUPPORTED, "%s: pre_tokenizer Digits is only supported before ByteLevel with its regex", path);
        pi.split = SMOL_PRETOK_SMOLLM;
    }
    t->pretok = pi.split;
    t->byte_level = pi.byte_level;
    return SMOL_OK;
}

static int read_vocab(smol_tokenizer **out, const cJSON *root, const char *path, smol_error *err) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *type = str_of(model, "type");
    if (!model || !type) return smol_fail(err, SMOL_EFORMAT, "%s: no model.type", path);
    if (strcmp(type, "BPE") != 0) return smol_fail(err, SMOL_EUNSUPPORTED, "%s: model type '%s' is not supported (only BPE)", path, type);
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab"), *e;
    if (!cJSON_IsObject(vocab)) return smol_fail(err, SMOL_EFORMAT, "%s: model.vocab is not an object", path);
    double max_id = -1, n_entries = 0;
    cJSON_ArrayForEach(e, vocab) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e8)
            return smol_fail(err, SMOL_EFORMAT, "%s: model.vocab entry '%.100s' has no valid id", path, e->string);
        if (e->valuedouble > max_id) max_id = e->valuedouble;
        n_entries++;
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "added_tokens")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 1e8 || !str_of(e, "content"))
            return smol_fail(err, SMOL_EFORMAT, "%s: an added_tokens entry has no valid id or content", path);
        if (id->valuedouble > max_id) max_id = id->valuedouble;
        n_entries++;
    }
    if (max_id < 0) return smol_fail(err, SMOL_EFORMAT, "%s: model.vocab is empty", path);
    /* ids may leave gaps, but not so many that a small file allocates gigabytes */
    if (max_id >= 2 * n_entries + 65536)
        return smol_fail(err, SMOL_EFORMAT, "%s: token id %.0f is far beyond the %.0f entries of model.vocab and "
                         "added_tokens (ids must be nearly dense)", path, max_id, n_entries);
    smol_tokenizer *t = smol_tok_alloc((int32_t)max_id + 1, false);
    if (!t) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
    *out = t;
    t->model = SMOL_TOK_BPE;
    t->ignore_merges = bool_of(model, "ignore_merges", false);
    t->byte_fallback = bool_of(model, "byte_fallback", false);
    cJSON_ArrayForEach(e, vocab) {
        int rc = smol_tok_set(t, (int32_t)e->valuedouble, e->string, strlen(e->string), SMOL_TOKEN_NORMAL, err);
        if (rc) return rc;
    }
    return SMOL_OK;
}

static int read_added(smol_tokenizer *t, const cJSON *root, const char *path, smol_error *err) {
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(root, "added_tokens")) {
        int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
        const char *s = str_of(e, "content");
        bool special = bool_of(e, "special", false);
        if (!*s)   /* an empty added token would match everywhere without consuming text */
            return smol_fail(err, SMOL_EFORMAT, "%s: added_tokens entry %d (id %d) has an empty content", path, i, id);
        i++;
        int rc = smol_tok_set(t, id, s, strlen(s), special ? SMOL_TOKEN_CONTROL : SMOL_TOKEN_USER_DEFINED, err);
        if (rc) return rc;
        if (smol_tok_add_added(t, id, special, bool_of(e, "lstrip", false), bool_of(e, "rstrip", false)))
            return smol_fail(err, SMOL_ENOMEM, "out of memory");
    }
    return SMOL_OK;
}

static int read_merges(smol_tokenizer *t, const cJSON *root, const char *path, smol_error *err) {
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "model"), "merges"), *e;
    uint32_t rank = 0;
    cJSON_ArrayForEach(e, merges) {
        int rc;
        if (cJSON_IsString(e)) {
            rc = smol_tok_add_merge_text(t, e->valuestring, strlen(e->valuestring), NULL, 0, rank);
        } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(cJSON_GetArrayItem(e, 0)) &&
                   cJSON_IsString(cJSON_GetArrayItem(e, 1))) {
            const char *a = cJSON_GetArrayItem(e, 0)->valuestring, *b = cJSON_GetArrayItem(e, 1)->valuestring;
            rc = smol_tok_add_merge_text(t, a, strlen(a), b, strlen(b), rank);
        } else {
            return smol_fail(err, SMOL_EFORMAT, "%s: model.merges entry %u is neither \"a b\" nor [\"a\", \"b\"]", path, rank);
        }
        if (rc) return smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
        rank++;
    }
    return SMOL_OK;
}

/* BOS/EOS added by the post-processor's TemplateProcessing. */
static void read_post(smol_tokenizer *t, const cJSON *post) {
    const char *type = str_of(post, "type");
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(post, "processors")) read_post(t, e);
        return;
    }
    if (!type || strcmp(type, "TemplateProcessing") != 0) return;
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(post, "single");
    int n = cJSON_GetArraySize(single);
    for (int i = 0; i < n; i += n - 1 > 0 ? n - 1 : 1) {
        const char *name = str_of(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(single, i), "SpecialToken"), "id");
        int32_t id = name ? smol_tok_find(t, name, strlen(name)) : -1;
        if (id < 0) continue;
        if (i == 0) { t->add_bos = true; t->bos = id; }
        else { t->add_eos = true; t->eos = id; }
    }
}

static int32_t token_named(const smol_tokenizer *t, const cJSON *v) {
    const char *s = cJSON_IsString(v) ? v->valuestring : str_of(v, "content");
    return s ? smol_tok_find(t, s, strlen(s)) : -1;
}

/* tokenizer_config.json: special tokens, add_bos/eos and the chat template. */
static int read_config(smol_tokenizer *t, const char *dir, smol_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/tokenizer_config.json", dir);
    if (!smol_exists(path)) return SMOL_OK;
    char *data;
    size_t n;
    int rc = smol_read_file(path, &data, &n, err);
    if (rc) return rc;
    cJSON *c = cJSON_ParseWithLength(data, n);
    free(data);
    if (!c) return smol_fail(err, SMOL_EFORMAT, "%s: not valid JSON", path);
    int32_t id;
    if ((id = token_named(t, cJSON_GetObjectItemCaseSensitive(c, "bos_token"))) >= 0) t->bos = id;
    if ((id = token_named(t, cJSON_GetObjectItemCaseSensitive(c, "eos_token"))) >= 0) t->eos = id;
    if ((id = token_named(t, cJSON_GetObjectItemCaseSensitive(c, "unk_token"))) >= 0) t->unk = id;
    t->add_bos = bool_of(c, "add_bos_token", t->add_bos);
    t->add_eos = bool_of(c, "add_eos_token", t->add_eos);
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(c, "chat_template"), *e;
    const char *src = cJSON_IsString(tmpl) ? tmpl->valuestring : NULL;
    const cJSON *list = cJSON_IsArray(tmpl) ? tmpl : NULL;
    cJSON_ArrayForEach(e, list) {
        const char *name = str_of(e, "name");
        if (name && strcmp(name, "default") == 0) src = str_of(e, "template");
    }
    if (src && !(t->chat_template = strdup(src))) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    cJSON_Delete(c);
    return rc;
}

static int read_decoder(smol_tokenizer *t, const cJSON *d) {
    const char *type = str_of(d, "type");
    if (!type) return SMOL_OK;
    if (strcmp(type, "Sequence") == 0) {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "decoders")) read_decoder(t, e);
    } else if (strcmp(type, "ByteLevel") == 0) {
        t->byte_level = true;
    } else if (strcmp(type, "Strip") == 0) {
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(d, "start");
        if (cJSON_IsNumber(start) && start->valuedouble >= 1) t->strip_decoded_space = true;
    }
    return SMOL_OK;
}

static int load(const char *path, const cJSON *root, smol_tokenizer **out, smol_error *err) {
    int rc = read_vocab(out, root, path, err);
    smol_tokenizer *t = *out;
    if (rc || (rc = read_added(t, root, path, err))) return rc;
    if ((rc = read_normalizer(t, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), path, err))) return rc;
    if ((rc = read_pre(t, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), path, err))) return rc;
    read_decoder(t, cJSON_GetObjectItemCaseSensitive(root, "decoder"));
    for (int32_t id = 0; t->byte_fallback && id < t->n_vocab; id++)
        if (t->text[id] && t->type[id] == SMOL_TOKEN_NORMAL && t->text_len[id] == 6 && memcmp(t->text[id], "<0x", 3) == 0)
            t->type[id] = SMOL_TOKEN_BYTE;
    if ((rc = smol_tok_finish(t, path, err)) || (rc = read_merges(t, root, path, err))) return rc;
    const char *unk = str_of(cJSON_GetObjectItemCaseSensitive(root, "model"), "unk_token");
    if (unk) t->unk = smol_tok_find(t, unk, strlen(unk));
    read_post(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    if ((rc = read_config(t, dir, err))) return rc;
    if (t->eos >= 0) t->eog[t->eos] = 1;
    return SMOL_OK;
}

int smol_tok_load_json(const char *path, smol_tokenizer **out, smol_error *err) {
    *out = NULL;
    char *data;
    size_t n;
    int rc = smol_read_file(path, &data, &n, err);
    if (rc) return rc;
    cJSON *root = cJSON_ParseWithLength(data, n);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= data && at <= data + n ? (long)(at - data) : -1;
        free(data);
        return smol_fail(err, SMOL_EFORMAT, "%s: not valid JSON (error near byte %ld of %zu)", path, off, n);
    }
    free(data);
    smol_tokenizer *t = NULL;
    rc = load(path, root, &t, err);
    cJSON_Delete(root);
    if (rc) {
        smol_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return SMOL_OK;
}

/* ---------------------------------------------------------------- vocab.json + merges.txt */

/* Reads the merges file: one "a b" pair a line, ranked by order. A first line starting with
 * "#version" is a header; other lines starting with '#' are real merges ("# #", "## ##"). */
static int read_merges_file(smol_tokenizer *t, const char *path, smol_error *err) {
    char *data;
    size_t n;
    int rc = smol_read_file(path, &data, &n, err);
    if (rc) return rc;
    uint32_t rank = 0;
    for (char *p = data, *end = data + n; p < end && !rc;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        size_t len = (size_t)(nl - p);
        if (len && p[len - 1] == '\r') len--;
        bool header = p == data && len >= 8 && memcmp(p, "#version", 8) == 0;
        if (len && !header) {
            if (!memchr(p + 1, ' ', len > 1 ? len - 1 : 0))
                rc = smol_fail(err, SMOL_EFORMAT, "%s: merge %u '%.*s' is not two tokens", path, rank, (int)(len > 80 ? 80 : len), p);
            else if (smol_tok_add_merge_text(t, p, len, NULL, 0, rank++))
                rc = smol_fail(err, SMOL_ENOMEM, "%s: out of memory", path);
        }
        p = nl + 1;
    }
    free(data);
    return rc;
}

/* A byte-level BPE from a vocab.json and a merges file, with the GPT-2 pre-tokenizer; tokens
 * written <|...|> are special tokens. */
static int load_pair(const char *vocab_path, const char *merges_path, smol_tokenizer **out, smol_error *err) {
    char *data;
    size_t n;
    int rc = smol_read_file(vocab_path, &data, &n, err);
    if (rc) return rc;
    cJSON *vocab = cJSON_ParseWithLength(data, n);
    free(data);
    if (!cJSON_IsObject(vocab)) {
        cJSON_Delete(vocab);
        return smol_fail(err, SMOL_EFORMAT, "%s: not a JSON object of token ids", vocab_path);
    }
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddItemToObject(model, "vocab", vocab);
    smol_tokenizer *t = NULL;
    rc = read_vocab(&t, root, vocab_path, err);
    *out = t;
    const cJSON *e;
    const cJSON *list = rc ? NULL : vocab;
    cJSON_ArrayForEach(e, list) {
        size_t l = strlen(e->string);
        if (l > 4 && memcmp(e->string, "<|", 2) == 0 && memcmp(e->string + l - 2, "|>", 2) == 0) {
            int32_t id = (int32_t)e->valuedouble;
            t->type[id] = SMOL_TOKEN_CONTROL;
            if (smol_tok_add_added(t, id, true, false, false)) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
        }
    }
    cJSON_Delete(root);
    if (rc) return rc;
    t->byte_level = true;
    t->pretok = SMOL_PRETOK_GPT2;
    if ((rc = smol_tok_finish(t, vocab_path, err)) || (rc = read_merges_file(t, merges_path, err))) return rc;
    t->eos = smol_tok_find(t, "<|endoftext|>", 13);
    if (t->eos >= 0) t->eog[t->eos] = 1;
    return SMOL_OK;
}

static bool name_ends(const char *name, const char *suffix) {
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && strcmp(name + n - m, suffix) == 0;
}

int smol_tok_load_pair_dir(const char *dir, smol_tokenizer **out, smol_error *err) {
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return smol_fail(err, SMOL_EIO, "%s: cannot open the folder", dir);
    char vocab[4200] = "", merges[4200] = "";
    struct dirent *de;
    while ((de = readdir(d))) {
        if (name_ends(de->d_name, "vocab.json") || strcmp(de->d_name, "encoder.json") == 0)
            snprintf(vocab, sizeof vocab, "%.3000s/%.1000s", dir, de->d_name);
        else if (name_ends(de->d_name, "merges.txt") || strcmp(de->d_name, "vocab.bpe") == 0)
            snprintf(merges, sizeof merges, "%.3000s/%.1000s", dir, de->d_name);
    }
    closedir(d);
    if (!vocab[0] || !merges[0])
        return smol_fail(err, SMOL_ENOTFOUND, "%s: the folder has no tokenizer.json, nor a vocab.json and merges.txt", dir);
    smol_tokenizer *t = NULL;
    int rc = load_pair(vocab, merges, &t, err);
    if (rc) {
        smol_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return SMOL_OK;
}
