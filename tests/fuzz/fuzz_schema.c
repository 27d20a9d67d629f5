/* fuzz_schema.c: libFuzzer target for the JSON Schema compiler and validator. The input is a
 * schema (hostile ones: deep nesting, circular and dangling $ref, huge bounds, bad regexes).
 * Strict and lenient compiles must either succeed with GBNF the engine accepts or fail with a
 * message; the validator must prepare it or fail with a message, and validate a few values. */
#include "gen/schema.h"
#include "gen/jsonschema.h"
#include "gen/grammar.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_compile(const char *text, size_t size, unsigned flags) {
    char *gbnf = NULL;
    smol_error err;
    int rc = smol_schema_to_gbnf(text, size, flags, &gbnf, &err);
    if (rc != SMOL_OK) {
        if (gbnf || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return;
    }
    smol_grammar *g = NULL;
    if (smol_grammar_from_gbnf(gbnf, strlen(gbnf), "root", &g, &err) != SMOL_OK) __builtin_trap();
    smol_grammar_free(g);
    free(gbnf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 20000) return 0;
    const char *text = (const char *)data;
    check_compile(text, size, 0);
    check_compile(text, size, SMOL_SCHEMA_COMPACT | SMOL_SCHEMA_LENIENT);
    smol_jschema *s = NULL;
    smol_error err;
    if (smol_jschema_new(text, size, SMOL_JSCHEMA_ASSERT_FORMAT, &s, &err) != SMOL_OK) {
        if (s || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return 0;
    }
    static const char *const values[] = {"null", "[1, \"a\", {\"b\": [true]}]", "{\"a\": 1, \"b\": \"2024-02-30\"}", "-1.5e3",
                                         "\"caf\\u00e9\"", "{\"x\": {\"x\": {\"x\": {}}}}"};
    char why[256];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        smol_jschema_validate_text(s, values[i], strlen(values[i]), why, sizeof why, &err);
    smol_jschema_free(s);
    return 0;
}
