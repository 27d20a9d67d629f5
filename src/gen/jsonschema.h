/* jsonschema.h: a JSON Schema validator (draft 2020-12, with the draft-04/07 spellings
 * definitions, items-as-array, boolean exclusiveMinimum/Maximum and dependencies). Local $ref
 * (JSON pointers, $anchor, $id-relative URIs), $dynamicRef, unevaluated*; remote references are
 * SMOL_EUNSUPPORTED. Failures name the instance path, the reason and the schema path. */
#ifndef SMOL_GEN_JSONSCHEMA_H
#define SMOL_GEN_JSONSCHEMA_H
#include "smol.h"
#include <cjson/cJSON.h>

typedef struct smol_jschema smol_jschema;

enum {
    SMOL_JSCHEMA_ASSERT_FORMAT = 1u << 0,  /* "format" is an assertion (date, time, date-time, duration,
                                              uuid, email, hostname, ipv4, ipv6, uri); default: annotation */
};

/* Parses and prepares a schema from JSON text (len bytes): regexes are compiled and $id/$anchor
 * resources indexed. Malformed JSON or an invalid regex give SMOL_EFORMAT naming the place. */
int smol_jschema_new(const char *json, size_t len, unsigned flags, smol_jschema **out, smol_error *err);

/* The same from a parsed schema (copied; the caller keeps ownership of schema). */
int smol_jschema_from_cjson(const cJSON *schema, unsigned flags, smol_jschema **out, smol_error *err);

/* Frees s; NULL is a no-op. */
void smol_jschema_free(smol_jschema *s);

/* Validates inst: 1 valid, 0 invalid (why, if not NULL, gets "<instance path>: <reason> (schema
 * <schema path>)"), or a negative status with err set (unresolvable $ref, recursion too deep). */
int smol_jschema_validate(const smol_jschema *s, const cJSON *inst, char *why, size_t why_size, smol_error *err);

/* Validates inst, a node of doc (NULL: doc itself), doc having been parsed from json[0..len): numbers
 * are judged on their own decimal text (exactly, however many digits), as the grammars write them;
 * returns as smol_jschema_validate (which reads a number as the shortest decimal of its double). */
int smol_jschema_validate_doc(const smol_jschema *s, const cJSON *doc, const char *json, size_t len, const cJSON *inst,
                              char *why, size_t why_size, smol_error *err);

/* Parses JSON text and validates it, numbers by their text (as smol_jschema_validate_doc); text that
 * is not JSON is invalid (0) with the reason in why. */
int smol_jschema_validate_text(const smol_jschema *s, const char *json, size_t len, char *why, size_t why_size,
                               smol_error *err);

/* The prepared schema document (a copy owned by s). */
const cJSON *smol_jschema_root(const smol_jschema *s);

/* Resolves ref (a URI reference, e.g. "#/$defs/x", "#anchor", "other.json#/a") against the root's
 * base URI and $id/$anchor resources: the target node in smol_jschema_root's tree, or NULL. */
const cJSON *smol_jschema_resolve(const smol_jschema *s, const char *ref);

/* 1 if s (a NUL-terminated string) is a valid `format` value (names above); unknown formats pass. */
int smol_jschema_check_format(const char *format, const char *s);

/* 1 if the two JSON values are equal in JSON Schema's sense (numbers by value, objects unordered);
 * NULL equals only NULL. */
int smol_json_equal(const cJSON *a, const cJSON *b);

#endif
