/* chat.c: chat templates without a Jinja engine. Each supported template is written out in C
 * from the text of its official Jinja source (see docs/chat-templates.md), producing the same
 * prompt as transformers' apply_chat_template for plain {role, content} conversations.
 * A Jinja source is recognised by distinctive substrings (smol_chat_template_detect). */
#include "smol.h"
#include "tok/chat.h"
#include "base/error.h"
#include "base/file.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMOLLM2_SYSTEM "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
#define QWEN25_SYSTEM "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
#define LLAMA31_DATE "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"

static const char *const k_names[] = {"chatml", "smollm2", "qwen2.5", "llama3", "llama3.1", "llama2", "mistral", NULL};
#define SUPPORTED "chatml, smollm2, qwen2.5, llama3, llama3.1 (alias llama3.2), llama2, mistral"

const char *const *smol_chat_template_names(void) { return k_names; }

/* ---------------------------------------------------------------- output buffer */

typedef struct chat_buf {
    char *p;
    size_t n, cap;
    int oom;
} chat_buf;

static void put_n(chat_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void put(chat_buf *b, const char *s) { put_n(b, s, strlen(s)); }

/* The length of the UTF-8 sequence at s (1 for a stray byte) and its code point. */
static size_t utf8_at(const unsigned char *s, size_t n, unsigned *cp) {
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (len > n) len = 1;
    *cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) *cp = *cp << 6 | (s[i] & 0x3f);
    return len;
}

/* Python's str.isspace(), which Jinja's trim and str.strip() use. */
static int py_space(unsigned cp) {
    return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
           cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

/* Appends s with leading and trailing whitespace removed (Python's strip). */
static void put_strip(chat_buf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    unsigned cp;
    size_t len;
    while (p < end && (len = utf8_at(p, (size_t)(end - p), &cp)) && py_space(cp)) p += len;
    const unsigned char *last = p;  /* end of the last non-space character */
    for (const unsigned char *q = p; q < end; q += len) {
        len = utf8_at(q, (size_t)(end - q), &cp);
        if (!py_space(cp)) last = q + len;
    }
    put_n(b, (const char *)p, (size_t)(last - p));
}

/* Appends s as a JSON string, as transformers' tojson filter writes it (ensure_ascii off). */
static void put_json_string(chat_buf *b, const char *s) {
    put(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': put(b, "\\\""); break;
        case '\\': put(b, "\\\\"); break;
        case '\n': put(b, "\\n"); break;
        case '\r': put(b, "\\r"); break;
        case '\t': put(b, "\\t"); break;
        case '\b': put(b, "\\b"); break;
        case '\f': put(b, "\\f"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                put(b, esc);
            } else put_n(b, (const char *)p, 1);
        }
    }
    put(b, "\"");
}

/* ---------------------------------------------------------------- the templates */

static int is_role(const smol_chat_message *m, const char *role) { return strcmp(m->role, role) == 0; }

/* ChatML; default_system (or NULL) is added when the first message is not a system message. */
static int fmt_chatml(chat_buf *b, const smol_chat_message *m, size_t n, bool gen, const char *default_system) {
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && default_system && !is_role(&m[0], "system")) {
            put(b, "<|im_start|>system\n");
            put(b, default_system);
            put(b, "<|im_end|>\n");
        }
        put(b, "<|im_start|>");
        put(b, m[i].role);
        put(b, "\n");
        put(b, m[i].content);
        put(b, "<|im_end|>\n");
    }
    if (gen) put(b, "<|im_start|>assistant\n");
    return SMOL_OK;
}

/* Qwen2.5: the system block always comes first; consecutive tool results share one user turn. */
static int fmt_qwen25(chat_buf *b, const smol_chat_message *m, size_t n, bool gen) {
    size_t i = 0;
    put(b, "<|im_start|>system\n");
    if (n && is_role(&m[0], "system")) put(b, m[i++].content);
    else put(b, QWEN25_SYSTEM);
    put(b, "<|im_end|>\n");
    for (; i < n; i++) {
        if (is_role(&m[i], "tool")) {
            if (i == 0 || !is_role(&m[i - 1], "tool")) put(b, "<|im_start|>user");
            put(b, "\n<tool_response>\n");
            put(b, m[i].content);
            put(b, "\n</tool_response>");
            if (i + 1 == n || !is_role(&m[i + 1], "tool")) put(b, "<|im_end|>\n");
            continue;
        }
        put(b, "<|im_start|>");
        put(b, m[i].role);
        put(b, "\n");
        put(b, m[i].content);
        put(b, "<|im_end|>\n");
    }
    if (gen) put(b, "<|im_start|>assistant\n");
    return SMOL_OK;
}

static void llama3_turn(chat_buf *b, const char *role, const char *content) {
    put(b, "<|start_header_id|>");
    put(b, role);
    put(b, "<|end_header_id|>\n\n");
    put_strip(b, content);
    put(b, "<|eot_id|>");
}

/* Llama 3 (Meta-Llama-3-*-Instruct): BOS before the first message, contents trimmed. */
static int fmt_llama3(chat_buf *b, const smol_chat_message *m, size_t n, bool gen) {
    for (size_t i = 0; i < n; i++) {
        if (i == 0) put(b, "<|begin_of_text|>");
        llama3_turn(b, m[i].role, m[i].content);
    }
    if (gen) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return SMOL_OK;
}

/* Llama 3.1 / 3.2 without tools: a system turn always opens, with the knowledge-cutoff and
 * date lines before the (trimmed) system message; tool/ipython results are JSON-quoted. */
static int fmt_llama31(chat_buf *b, const smol_chat_message *m, size_t n, bool gen) {
    size_t i = 0;
    put(b, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" LLAMA31_DATE);
    if (n && is_role(&m[0], "system")) put_strip(b, m[i++].content);
    put(b, "<|eot_id|>");
    for (; i < n; i++) {
        if (is_role(&m[i], "tool") || is_role(&m[i], "ipython")) {
            put(b, "<|start_header_id|>ipython<|end_header_id|>\n\n");
            put_json_string(b, m[i].content);  /* the template's `is iterable` is true for strings */
            put(b, "<|eot_id|>");
        } else llama3_turn(b, m[i].role, m[i].content);
    }
    if (gen) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return SMOL_OK;
}

/* Checks message i against the templates' rule: user at even places (counted from first), any
 * other role at odd places. */
static int check_alternate(const smol_chat_message *m, size_t first, size_t i, const char *name, smol_error *err) {
    if (is_role(&m[i], "user") == ((i - first) % 2 == 0)) return SMOL_OK;
    return smol_fail(err, SMOL_EINVAL, "chat template %s: message %zu has role '%s' but roles must alternate "
                     "user/assistant/user/...%s", name, i, m[i].role, first ? " after the system message" : "");
}

/* Llama 2 chat: <<SYS>> block inside the first [INST]; add_generation_prompt has no effect. */
static int fmt_llama2(chat_buf *b, const smol_chat_message *m, size_t n, smol_error *err) {
    size_t first = n && is_role(&m[0], "system") ? 1 : 0;
    for (size_t i = first; i < n; i++) {
        int rc = check_alternate(m, first, i, "llama2", err);
        if (rc) return rc;
    }
    for (size_t i = first; i < n; i++) {
        if (!is_role(&m[i], "user") && !is_role(&m[i], "assistant")) continue;  /* the template prints nothing */
        chat_buf content = {0};
        if (i == first && first) {
            put(&content, "<<SYS>>\n");
            put(&content, m[0].content);
            put(&content, "\n<</SYS>>\n\n");
        }
        put(&content, m[i].content);
        if (content.oom) b->oom = 1;
        else if (is_role(&m[i], "user")) {
            put(b, "<s>[INST] ");
            put_strip(b, content.p);
            put(b, " [/INST]");
        } else {
            put(b, " ");
            put_strip(b, content.p);
            put(b, " </s>");
        }
        free(content.p);
    }
    return SMOL_OK;
}

/* Mistral Instruct v0.1: user/assistant only, no system role, no generation prompt. */
static int fmt_mistral(chat_buf *b, const smol_chat_message *m, size_t n, smol_error *err) {
    for (size_t i = 0; i < n; i++) {
        int rc = check_alternate(m, 0, i, "mistral", err);
        if (rc) return rc;
        if (!is_role(&m[i], "user") && !is_role(&m[i], "assistant"))
            return smol_fail(err, SMOL_EINVAL, "chat template mistral: message %zu has role '%s'; only user and "
                             "assistant roles are supported", i, m[i].role);
    }
    put(b, "<s>");
    for (size_t i = 0; i < n; i++) {
        if (is_role(&m[i], "user")) {
            put(b, "[INST] ");
            put(b, m[i].content);
            put(b, " [/INST]");
        } else {
            put(b, m[i].content);
            put(b, "</s>");
        }
    }
    return SMOL_OK;
}

int smol_chat_apply(const char *name, const smol_chat_message *msgs, size_t n, bool gen, char **out,
                    smol_error *err) {
    *out = NULL;
    if (!name) return smol_fail(err, SMOL_EINVAL, "no chat template given (supported: " SUPPORTED ")");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return smol_fail(err, SMOL_EINVAL, "chat message %zu has no %s", i, msgs[i].role ? "content" : "role");
    chat_buf b = {0};
    put(&b, "");
    int rc;
    if (strcmp(name, "chatml") == 0) rc = fmt_chatml(&b, msgs, n, gen, NULL);
    else if (strcmp(name, "smollm2") == 0) rc = fmt_chatml(&b, msgs, n, gen, SMOLLM2_SYSTEM);
    else if (strcmp(name, "qwen2.5") == 0) rc = fmt_qwen25(&b, msgs, n, gen);
    else if (strcmp(name, "llama3") == 0) rc = fmt_llama3(&b, msgs, n, gen);
    else if (strcmp(name, "llama3.1") == 0 || strcmp(name, "llama3.2") == 0) rc = fmt_llama31(&b, msgs, n, gen);
    else if (strcmp(name, "llama2") == 0) rc = fmt_llama2(&b, msgs, n, err);
    else if (strcmp(name, "mistral") == 0) rc = fmt_mistral(&b, msgs, n, err);
    else rc = smol_fail(err, SMOL_EINVAL, "unknown chat template '%s' (supported: " SUPPORTED ")", name);
    if (!rc && b.oom) rc = smol_fail(err, SMOL_ENOMEM, "out of memory formatting %zu chat messages", n);
    if (rc) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    return SMOL_OK;
}

/* ---------------------------------------------------------------- recognising a Jinja source */

int smol_chat_template_detect(const char *src, const char **name, smol_error *err) {
    *name = NULL;
    if (!src) return smol_fail(err, SMOL_EINVAL, "no chat template source");
    if (strstr(src, "<|start_header_id|>"))
        *name = strstr(src, "Cutting Knowledge Date") ? "llama3.1" : "llama3";
    else if (strstr(src, "<|im_start|>"))
        *name = strstr(src, "You are Qwen, created by Alibaba Cloud") ? "qwen2.5"
                : strstr(src, "named SmolLM")                        ? "smollm2"
                                                                      : "chatml";
    else if (strstr(src, "[INST]") && strstr(src, "<<SYS>>"))
        *name = "llama2";
    else if (strstr(src, "[INST]") && strstr(src, "Only user and assistant roles are supported!"))
        *name = "mistral";
    if (*name) return SMOL_OK;
    char head[61];
    snprintf(head, sizeof head, "%s", src);
    for (char *p = head; *p; p++)
        if (*p == '\n') *p = ' ';
    return smol_fail(err, SMOL_EUNSUPPORTED, "chat template not recognised (it begins '%s%s'); supported: " SUPPORTED
                     "; choose one with --chat-template NAME", head, strlen(src) > 60 ? "..." : "");
}

/* ---------------------------------------------------------------- finding a model's template */

/* chat_template of a tokenizer_config.json: a string, or a list of {name, template}. */
static int template_from_config(const char *path, char **out, smol_error *err) {
    char *text;
    size_t len;
    int rc = smol_read_file(path, &text, &len, err);
    if (rc) return rc;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    free(text);
    if (!root) return smol_fail(err, SMOL_EFORMAT, "%s: not valid JSON (near byte %zu)", path, at);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(root, "chat_template"), *pick = NULL;
    if (cJSON_IsString(ct)) pick = ct;
    else if (cJSON_IsArray(ct)) {
        for (const cJSON *e = ct->child; e && !pick; e = e->next) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "name");
            if (cJSON_IsString(nm) && strcmp(nm->valuestring, "default") == 0)
                pick = cJSON_GetObjectItemCaseSensitive(e, "template");
        }
        if (!pick && cJSON_GetArraySize(ct) == 1) pick = cJSON_GetObjectItemCaseSensitive(ct->child, "template");
    }
    if (!ct || cJSON_IsNull(ct)) rc = smol_fail(err, SMOL_ENOTFOUND, "%s: no chat_template", path);
    else if (!cJSON_IsString(pick))
        rc = smol_fail(err, SMOL_EFORMAT, "%s: chat_template is neither a string nor a list holding a \"default\" "
                       "{name, template}", path);
    else if (!(*out = strdup(pick->valuestring))) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    cJSON_Delete(root);
    return rc;
}

static int template_from_gguf(const char *path, char **out, smol_error *err) {
    smol_gguf *g;
    int rc = smol_gguf_open(path, &g, err);
    if (rc) return rc;
    const char *s = smol_gguf_get_str(g, "tokenizer.chat_template");
    if (!s) rc = smol_fail(err, SMOL_ENOTFOUND, "%s: no tokenizer.chat_template key", path);
    else if (!(*out = strdup(s))) rc = smol_fail(err, SMOL_ENOMEM, "out of memory");
    smol_gguf_free(g);
    return rc;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int smol_chat_template_load(const char *path, char **out, smol_error *err) {
    *out = NULL;
    if (ends_with(path, ".gguf") && !smol_is_dir(path)) return template_from_gguf(path, out, err);
    if (ends_with(path, "tokenizer_config.json") && !smol_is_dir(path)) return template_from_config(path, out, err);
    /* a folder, or a tokenizer.json: the tokenizer_config.json in the same folder */
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    size_t dir_len = smol_is_dir(path) ? n : slash ? (size_t)(slash - path) : 0;
    char *cfg = malloc(dir_len + sizeof "/tokenizer_config.json");
    if (!cfg) return smol_fail(err, SMOL_ENOMEM, "out of memory");
    if (dir_len) memcpy(cfg, path, dir_len);
    else cfg[dir_len++] = '.';
    strcpy(cfg + dir_len, "/tokenizer_config.json");
    int rc = SMOL_OK;
    if (!smol_is_dir(path) && !smol_exists(path)) rc = smol_fail(err, SMOL_EIO, "%s: no such file", path);
    else if (!smol_exists(cfg))
        rc = smol_fail(err, SMOL_ENOTFOUND, "%s: no chat template: %s does not exist (give a .gguf, a tokenizer.json "
                       "with a tokenizer_config.json beside it, or a folder holding one)", path, cfg);
    else rc = template_from_config(cfg, out, err);
    free(cfg);
    return rc;
}

/* ---------------------------------------------------------------- conversations as JSON */

int smol_chat_messages_parse(const char *text, size_t len, const char *name, smol_chat_messages *out,
                             smol_error *err) {
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0, line = 1;
        for (size_t i = 0; i < at; i++) line += text[i] == '\n';
        return smol_fail(err, SMOL_EFORMAT, "%s: invalid JSON at byte %zu (line %zu)", name, at, line);
    }
    out->json = root;
    const cJSON *arr = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "messages") : root;
    if (!cJSON_IsArray(arr)) {
        smol_chat_messages_free(out);
        return smol_fail(err, SMOL_EFORMAT, "%s: expected a JSON array of {\"role\", \"content\"} messages or an "
                         "object with \"messages\"", name);
    }
    size_t n = (size_t)cJSON_GetArraySize(arr);
    out->msgs = calloc(n ? n : 1, sizeof *out->msgs);
    if (!out->msgs) {
        smol_chat_messages_free(out);
        return smol_fail(err, SMOL_ENOMEM, "out of memory for %zu messages", n);
    }
    size_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(e, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(e, "content");
        const char *bad = !cJSON_IsObject(e) ? "is not an object"
                          : !cJSON_IsString(role) ? "has no string \"role\""
                          : !cJSON_IsString(content) && !cJSON_IsNull(content) ? "has no string \"content\""
                                                                               : NULL;
        if (bad) {
            smol_chat_messages_free(out);
            return smol_fail(err, SMOL_EFORMAT, "%s: message %zu %s", name, i, bad);
        }
        out->msgs[i].role = role->valuestring;
        out->msgs[i].content = cJSON_IsString(content) ? content->valuestring : "";
    }
    out->n = n;
    return SMOL_OK;
}

void smol_chat_messages_free(smol_chat_messages *m) {
    if (!m) return;
    cJSON_Delete(m->json);
    free(m->msgs);
    memset(m, 0, sizeof *m);
}
