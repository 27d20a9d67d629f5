/* schema.h: compiles a JSON Schema into GBNF text (llama.cpp's grammar syntax) whose root rule
 * matches exactly the JSON texts the schema accepts, where that can be expressed by a
 * context-free grammar. A keyword that cannot be enforced is an error naming it and its schema
 * path, or (SMOL_SCHEMA_LENIENT) a warning and ignored. See docs/json-schema.md. */
#ifndef SMOL_GEN_SCHEMA_H
#define SMOL_GEN_SCHEMA_H
#include "smol.h"

enum {
    SMOL_SCHEMA_COMPACT = 1u << 0,  /* no whitespace between JSON tokens */
    SMOL_SCHEMA_LENIENT = 1u << 1,  /* keywords that cannot be enforced are warnings, not errors */
    SMOL_SCHEMA_ANY_ORDER = 1u << 2, /* an object's members in any order (default: the schema's order),
                                        at most SMOL_SCHEMA_ANY_ORDER_MAX listed properties per object */
    SMOL_SCHEMA_FORMAT_ANNOTATION = 1u << 3, /* `format` constrains nothing (draft 2020-12's default
                                                annotation; default: formats are enforced) */
};

/* Listed properties (after merging) one object may have under SMOL_SCHEMA_ANY_ORDER: the grammar
 * takes one rule per subset of them written so far. */
#define SMOL_SCHEMA_ANY_ORDER_MAX 12

/* Called once per ignored keyword in lenient mode: message names the keyword and schema path. */
typedef void (*smol_schema_warn_fn)(void *ctx, const char *message);

typedef struct smol_schema_options {
    unsigned flags;               /* SMOL_SCHEMA_* */
    int max_ws;                   /* between tokens: an optional newline, then at most max_ws spaces
                                     or tabs (default 16; 0: none; ignored with SMOL_SCHEMA_COMPACT) */
    smol_schema_warn_fn warn;     /* lenient-mode warnings (NULL: dropped) */
    void *warn_ctx;
} smol_schema_options;

/* The defaults: strict, whitespace "\n"? plus at most 16 spaces/tabs between tokens, no warnings callback. */
smol_schema_options smol_schema_default_options(void);

/* Compiles schema_json (len bytes) into malloc'd, NUL-terminated GBNF text in *gbnf whose start
 * rule is "root". Unsupported keywords give SMOL_EUNSUPPORTED naming keyword and schema path;
 * malformed schemas SMOL_EFORMAT; circular $ref without a base case SMOL_EFORMAT. */
int smol_schema_to_gbnf(const char *schema_json, size_t len, unsigned flags, char **gbnf, smol_error *err);

/* The same with all options (opts may be NULL for the defaults). */
int smol_schema_to_gbnf_ex(const char *schema_json, size_t len, const smol_schema_options *opts, char **gbnf,
                           smol_error *err);

#endif
