/* fuzz_chat.c: libFuzzer target for the chat templates (tok/chat.c). The input, NUL-terminated,
 * goes through template detection (as a Jinja source) and through the conversation parser (as
 * JSON); its lines, taken as role/content pairs with whatever bytes they hold, and any parsed
 * conversation are formatted with every supported template, with and without the generation
 * prompt. A failure must come with a message; "chatml" is checked against the ChatML layout
 * written out here. */
#include "smol.h"
#include "tok/chat.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSGS 64

static volatile uint64_t g_sink;

/* ChatML as its Jinja source writes it. */
static char *chatml(const smol_chat_message *m, size_t n, bool gen) {
    size_t cap = 64;
    for (size_t i = 0; i < n; i++) cap += strlen(m[i].role) + strlen(m[i].content) + 32;
    char *s = malloc(cap), *p = s;
    if (!s) abort();
    *p = 0;
    for (size_t i = 0; i < n; i++) p += sprintf(p, "<|im_start|>%s\n%s<|im_end|>\n", m[i].role, m[i].content);
    if (gen) strcpy(p, "<|im_start|>assistant\n");
    return s;
}

static void apply_all(const smol_chat_message *m, size_t n) {
    for (const char *const *name = smol_chat_template_names(); *name; name++) {
        for (int gen = 0; gen < 2; gen++) {
            char *out = NULL;
            smol_error err;
            if (smol_chat_apply(*name, m, n, gen, &out, &err) != SMOL_OK) {
                if (out || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
                continue;
            }
            if (strcmp(*name, "chatml") == 0) {
                char *want = chatml(m, n, gen);
                if (strcmp(out, want) != 0) __builtin_trap();
                free(want);
            }
            g_sink += strlen(out);
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 20000) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    const char *name = NULL;
    smol_error err;
    if (smol_chat_template_detect(text, &name, &err) == SMOL_OK) {
        char *out = NULL;
        static const smol_chat_message hello[] = {{"user", "hi"}, {"assistant", "hello"}};
        if (!name || smol_chat_apply(name, hello, 2, true, &out, &err) != SMOL_OK) __builtin_trap();
        free(out);
    } else if (name || err.code == SMOL_OK || !err.msg[0]) {
        __builtin_trap();
    }
    smol_chat_messages conv;
    if (smol_chat_messages_parse(text, size, "fuzz.json", &conv, &err) == SMOL_OK) {
        apply_all(conv.msgs, conv.n);
        smol_chat_messages_free(&conv);
    } else if (conv.msgs || conv.json || err.code == SMOL_OK || strncmp(err.msg, "fuzz.json: ", 11) != 0) {
        __builtin_trap();
    }
    /* lines as role, content, role, content, ... (the copy's NULs end a field early) */
    smol_chat_message msgs[MAX_MSGS];
    const char *fields[2 * MAX_MSGS];
    size_t nf = 0;
    for (char *p = text; nf < 2 * MAX_MSGS;) {
        fields[nf++] = p;
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    size_t n = nf / 2;
    for (size_t i = 0; i < n; i++) msgs[i] = (smol_chat_message){fields[2 * i], fields[2 * i + 1]};
    apply_all(msgs, n);
    free(text);
    return 0;
}
