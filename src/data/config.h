/* config.h: a TOML-subset parser for pipeline files. Supported: comments, bare/quoted/dotted
 * keys, [tables], [[arrays of tables]] (a later [a.b] refers to the last element of [[a]]),
 * basic and literal strings (single line), integers (with _ and 0x/0o/0b), floats (with
 * exponent, inf, nan), booleans, arrays (over several lines, trailing comma) and inline tables.
 * Not supported: multi-line strings and dates (SMOL_EUNSUPPORTED naming the line).
 * Every value remembers the line it was defined on, so later checks can name it. */
#ifndef SMOL_DATA_CONFIG_H
#define SMOL_DATA_CONFIG_H
#include "smol.h"

typedef enum smol_toml_type {
    SMOL_TOML_STRING, SMOL_TOML_INT, SMOL_TOML_FLOAT, SMOL_TOML_BOOL, SMOL_TOML_ARRAY, SMOL_TOML_TABLE,
} smol_toml_type;

typedef struct smol_toml smol_toml;
struct smol_toml {
    smol_toml_type type;
    int line;              /* 1-based line of the definition */
    char *key;             /* the key in its parent table; NULL for array elements and the root */
    char *str;             /* STRING: NUL-terminated (may hold NULs only through \u0000: refused) */
    int64_t i;             /* INT */
    double f;              /* FLOAT */
    bool b;                /* BOOL */
    smol_toml **items;     /* ARRAY elements or TABLE entries, in file order */
    size_t n, cap;
    int flags;             /* internal: how a table was defined (header, dotted key, inline) */
};

/* Parses text (len bytes); name is used in messages ("FILE:LINE: ..."). *out is the root table. */
int smol_toml_parse(const char *text, size_t len, const char *name, smol_toml **out, smol_error *err);

/* Reads and parses the file at path. */
int smol_toml_load(const char *path, smol_toml **out, smol_error *err);

/* Frees a tree from smol_toml_parse; NULL is a no-op. */
void smol_toml_free(smol_toml *t);

/* The entry key of table t, or NULL (also when t is NULL or not a table). */
const smol_toml *smol_toml_get(const smol_toml *t, const char *key);

/* "string", "integer", "float", "boolean", "array" or "table". */
const char *smol_toml_type_name(smol_toml_type type);

#endif
