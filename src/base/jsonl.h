/* jsonl.h: streaming line and JSONL reader over plain, gzip (.gz) and zstd (.zst) files.
 * The compression is recognised from the first bytes, so names do not matter; "-" is stdin.
 *   smol_lines *r; smol_lines_open(path, &r, err);
 *   while ((rc = smol_lines_next(r, &line, &len, err)) == 1) { ... }   rc 0: end, < 0: error
 * Lines are returned without their '\n' and stay valid until the next call. Errors name the
 * file and the line number. */
#ifndef SMOL_BASE_JSONL_H
#define SMOL_BASE_JSONL_H
#include "smol.h"
#include <cjson/cJSON.h>

typedef struct smol_lines smol_lines;

/* The longest line accepted by default (1 GiB); longer lines give SMOL_ERANGE. */
#define SMOL_LINES_MAX_DEFAULT ((size_t)1 << 30)

/* Opens path for reading lines ("-" for stdin). */
int smol_lines_open(const char *path, smol_lines **out, smol_error *err);

/* Sets the longest line accepted (bytes). */
void smol_lines_set_max(smol_lines *r, size_t max_len);

/* Reads the next line into *line and *len (NUL-terminated, without '\n'): returns 1, 0 at the end,
 * or a negative status (corrupt compressed data, read error, a line past the limit). */
int smol_lines_next(smol_lines *r, const char **line, size_t *len, smol_error *err);

/* 1 if the last line returned ended with '\n' (0 for a final line without one). */
int smol_lines_had_newline(const smol_lines *r);

/* The number of the last line returned (1-based). */
int64_t smol_lines_lineno(const smol_lines *r);

/* The path given to smol_lines_open. */
const char *smol_lines_path(const smol_lines *r);

/* Bytes of the (possibly compressed) file read so far, and its size (0 if unknown: a pipe). */
uint64_t smol_lines_bytes_read(const smol_lines *r);
uint64_t smol_lines_file_size(const smol_lines *r);

/* Closes r; NULL is a no-op. */
void smol_lines_close(smol_lines *r);

/* Parses JSON text json[0..len): one value and nothing after it but whitespace (cJSON alone stops
 * after the value). NULL when the text is not that, with *bad (if not NULL) the byte offset of the
 * first error: inside the value, or the first byte after it. Free with cJSON_Delete. */
cJSON *smol_json_parse_text(const char *json, size_t len, size_t *bad);

/* Reads the next non-blank line as a JSON object into *doc (free with cJSON_Delete): returns 1,
 * 0 at the end, or a negative status; a line that is not a JSON object gives SMOL_EFORMAT
 * naming the file and line. */
int smol_jsonl_next(smol_lines *r, cJSON **doc, smol_error *err);

/* smol_jsonl_next that also gives the line the object was read from (valid until the next read). */
int smol_jsonl_next_line(smol_lines *r, cJSON **doc, const char **line, size_t *len, smol_error *err);

/* ------------------------------------------------------------ JSON scanning without a tree
 * smol_json_scan_object validates one line as a JSON object in a single pass and finds the
 * values of a few top-level keys, without building a cJSON tree. It accepts what
 * cJSON_ParseWithLength accepts (any byte <= 0x20 as whitespace, raw control bytes in strings,
 * numbers such as 01 or 1. that strtod reads, a UTF-8 BOM first, nesting up to 1000 levels),
 * except that only whitespace may follow the object and every \u escape needs four hex digits
 * (cJSON reads bad hex digits as U+0000). */

enum { SMOL_JSON_NONE, SMOL_JSON_NULL, SMOL_JSON_FALSE, SMOL_JSON_TRUE, SMOL_JSON_NUMBER, SMOL_JSON_STRING,
       SMOL_JSON_ARRAY, SMOL_JSON_OBJECT };

/* A top-level key to look for and where its value is. The first occurrence of a duplicated
 * key counts (cJSON_GetObjectItemCaseSensitive finds that one); keys are compared after
 * unescaping, up to a U+0000 in them, as strcmp on cJSON's key does. */
typedef struct smol_json_field {
    const char *name;      /* in: the key */
    int type;              /* out: SMOL_JSON_NONE when absent, else its value's type */
    size_t at, end;        /* out: the value's bytes [at, end) in the line (strings with their quotes) */
    int escaped;           /* out, strings: 1 if the value holds backslash escapes */
} smol_json_field;

/* What smol_json_scan_object found out about the whole line. */
typedef struct smol_json_scan {
    size_t at, end;        /* the object's bytes, '{' to '}' (leading BOM/whitespace and trailing whitespace left out) */
    int lax;               /* 1: accepted only as cJSON reads it (control bytes as whitespace or raw in strings,
                            * numbers outside RFC 8259): not strict JSON as it stands */
    int not_object;        /* on error: 1 if the line is valid JSON but not an object */
    size_t err_at;         /* on error: offset of the first byte at fault */
} smol_json_scan;

/* Validates line[0..len) as one JSON object and fills fields[0..n) (type, at, end). Returns
 * SMOL_OK, or SMOL_EFORMAT with out->err_at / out->not_object telling where and what. */
int smol_json_scan_object(const char *line, size_t len, smol_json_field *fields, int n, smol_json_scan *out);

/* Which scans smol_json_scan_object_path and smol_json_escape_path use: AUTO follows the CPU
 * (base/cpu.h: SSE2 unless SMOL_CPU=scalar); SCALAR is plain C, 8 bytes at a time; SSE2 is
 * taken as SCALAR on builds without SSE2. All give the same results. */
enum { SMOL_JSON_PATH_AUTO = 0, SMOL_JSON_PATH_SCALAR = 1, SMOL_JSON_PATH_SSE2 = 2 };

/* 1 if path (SMOL_JSON_PATH_*) means the SSE2 scans on this build and CPU. */
int smol_json_path_is_sse2(int path);

/* smol_json_scan_object on a chosen path (for tests comparing the paths). */
int smol_json_scan_object_path(const char *line, size_t len, smol_json_field *fields, int n, smol_json_scan *out,
                               int path);

/* Decodes the content of a string token that smol_json_scan_object accepted (s[0..n): the
 * bytes between its quotes) into out, writing at most cap bytes (n is always enough); returns
 * the bytes written. Surrogate pairs become one 4-byte UTF-8 sequence. */
size_t smol_json_unescape(const char *s, size_t n, char *out, size_t cap);

/* The most bytes smol_json_escape writes for len bytes of text. */
#define SMOL_JSON_ESCAPED_MAX(len) (6 * (size_t)(len) + 2)

/* Writes text[0..len) as a JSON string token into out (quotes included; '"', '\\' and control
 * bytes escaped as cJSON prints them, everything else as it is); returns the bytes written. */
size_t smol_json_escape(const char *text, size_t len, char *out);

/* smol_json_escape on a chosen path (SMOL_JSON_PATH_*). */
size_t smol_json_escape_path(const char *text, size_t len, char *out, int path);

#endif
