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

/* Reads the next non-blank line as a JSON object into *doc (free with cJSON_Delete): returns 1,
 * 0 at the end, or a negative status; a line that is not a JSON object gives SMOL_EFORMAT
 * naming the file and line. */
int smol_jsonl_next(smol_lines *r, cJSON **doc, smol_error *err);

#endif
