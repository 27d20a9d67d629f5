/* fuzz_schema.c: libFuzzer target for the JSON Schema compiler and validator. The input is a
 * schema (hostile ones: deep nesting, circular and dangling $ref, huge bounds, bad regexes).
 * A strict compile and one more chosen by the last byte (lenient compact, any order with format
 * an annotation, lenient compact any order) must either succeed with GBNF the engine accepts or
 * fail with a message; a value the strict any-order grammar accepts must be valid for the
 * validator (format an annotation there too).
 * The validator must prepare the schema or fail with a message, and validate a few values. */
#include "gen/schema.h"
#include "gen/jsonschema.h"
#include "gen/grammar.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_values[] = {"null", "[1, \"a\", {\"b\": [true]}]", "{\"a\": 1, \"b\": \"2024-02-30\"}", "-1.5e3",
                                       "\"caf\\u00e9\"", "{\"x\": {\"x\": {\"x\": {}}}}", "{\"b\": \"x\", \"a\": 2}", "{}"};
#define N_VALUES (sizeof k_values / sizeof k_values[0])

/* Compiles text with flags; the engine must take what compiles. Returns the grammar or NULL. */
static smol_grammar *check_compile(const char *text, size_t size, unsigned flags) {
    char *gbnf = NULL;
    smol_error err;
    int rc = smol_schema_to_gbnf(text, size, flags, &gbnf, &err);
    if (rc != SMOL_OK) {
        if (gbnf || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return NULL;
    }
    smol_grammar *g = NULL;
    if (smol_grammar_from_gbnf(gbnf, strlen(gbnf), "root", &g, &err) != SMOL_OK) __builtin_trap();
    free(gbnf);
    return g;
}

/* Every value the grammar accepts must be valid for v (the validator's default: format an annotation). */
static void check_sound(const smol_grammar *g, const char *text, size_t size) {
    smol_jschema *v = NULL;
    if (smol_jschema_new(text, size, 0, &v, NULL) != SMOL_OK) return;
    for (size_t i = 0; i < N_VALUES; i++) {
        smol_matcher *m = NULL;
        if (smol_matcher_new(g, NULL, &m, NULL) != SMOL_OK) break;
        int accepted = smol_matcher_accept_bytes(m, k_values[i], strlen(k_values[i])) == 0 && smol_matcher_can_end(m);
        smol_matcher_free(m);
        if (accepted && smol_jschema_validate_text(v, k_values[i], strlen(k_values[i]), NULL, 0, NULL) == 0) __builtin_trap();
    }
    smol_jschema_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 20000) return 0;
    const char *text = (const char *)data;
    smol_grammar_free(check_compile(text, size, 0));
    /* a second compile with flags chosen by the last byte (two compiles per input, as before the
     * any-order flags: slow schemas stay within the timeout) */
    static const unsigned k_flags[] = {SMOL_SCHEMA_COMPACT | SMOL_SCHEMA_LENIENT,
                                       SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_FORMAT_ANNOTATION,
                                       SMOL_SCHEMA_ANY_ORDER | SMOL_SCHEMA_LENIENT | SMOL_SCHEMA_COMPACT};
    unsigned flags = k_flags[size ? data[size - 1] % 3 : 0];
    smol_grammar *g = check_compile(text, size, flags);
    if (g && !(flags & SMOL_SCHEMA_LENIENT)) check_sound(g, text, size);
    smol_grammar_free(g);
    smol_jschema *s = NULL;
    smol_error err;
    if (smol_jschema_new(text, size, SMOL_JSCHEMA_ASSERT_FORMAT, &s, &err) != SMOL_OK) {
        if (s || err.code == SMOL_OK || !err.msg[0]) __builtin_trap();
        return 0;
    }
    char why[256];
    for (size_t i = 0; i < N_VALUES; i++) smol_jschema_validate_text(s, k_values[i], strlen(k_values[i]), why, sizeof why, &err);
    smol_jschema_free(s);
    return 0;
}
