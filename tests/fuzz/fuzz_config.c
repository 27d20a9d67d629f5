/* fuzz_config.c: libFuzzer target for the pipeline config parser behind `smol curate`
 * (data/config.c, data/pipeline.c). The input is parsed as TOML; the tree is walked and every
 * node checked (lines within the text, keys on table entries, type names); a failure must come
 * with a "NAME:LINE: ..." message. Inputs without '/' also go through smol_pipeline_parse
 * (their input globs then stay within the working folder). */
#include "data/config.h"
#include "data/pipeline.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile uint64_t g_sink;

static void walk(const smol_toml *t, int max_line, int depth) {   /* depth: at most 64 levels of keys times 64 of values */
    if (t->line < 1 || t->line > max_line) __builtin_trap();
    if (!smol_toml_type_name(t->type)) __builtin_trap();
    switch (t->type) {
    case SMOL_TOML_STRING: g_sink += strlen(t->str); break;
    case SMOL_TOML_INT: g_sink += (uint64_t)t->i; break;
    case SMOL_TOML_FLOAT: g_sink += (uint64_t)(t->f == t->f); break;
    case SMOL_TOML_BOOL: g_sink += t->b; break;
    case SMOL_TOML_ARRAY:
    case SMOL_TOML_TABLE:
        for (size_t i = 0; i < t->n; i++) {
            const smol_toml *c = t->items[i];
            if (t->type == SMOL_TOML_TABLE && (!c->key || smol_toml_get(t, c->key) == NULL)) __builtin_trap();
            if (t->type == SMOL_TOML_ARRAY && c->key) __builtin_trap();
            walk(c, max_line, depth + 1);
        }
        break;
    }
}

/* A message "fuzz.toml:N: ..." (or naming the file without a line) with N a line of the text. */
static void check_message(const smol_error *err, int max_line) {
    if (err->code == SMOL_OK || strncmp(err->msg, "fuzz.toml", 9) != 0) __builtin_trap();
    if (err->msg[9] == ':' && err->msg[10] >= '0' && err->msg[10] <= '9') {
        long line = strtol(err->msg + 10, NULL, 10);
        if (line < 1 || line > max_line) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536) return 0;
    const char *text = (const char *)data;
    int lines = 1;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    smol_toml *t = NULL;
    smol_error err;
    if (smol_toml_parse(text, size, "fuzz.toml", &t, &err) != SMOL_OK) {
        if (t) __builtin_trap();
        check_message(&err, lines);
        return 0;
    }
    if (t->type != SMOL_TOML_TABLE) __builtin_trap();
    walk(t, lines, 0);
    smol_toml_free(t);
    if (memchr(data, '/', size)) return 0;
    smol_pipeline *pl = NULL;
    if (smol_pipeline_parse(text, size, "fuzz.toml", &pl, &err) != SMOL_OK) {
        if (pl || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return 0;
    }
    for (int i = 0; i < pl->n_stages; i++) g_sink += strlen(pl->stages[i].name) + strlen(pl->stages[i].type);
    smol_pipeline_free(pl);
    return 0;
}
