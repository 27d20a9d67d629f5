/* dedup.h: exact deduplication by text hash, and the helpers the dedup stages share: the
 * sorted input list and its rank/world_size shards, output names, completion markers,
 * SHA-1, and a document reader/writer pair that keeps each record's bytes as they came.
 *   Input lists are sorted and de-duplicated; rank R of N processes files[R::N] (datatrove's
 *   get_shard), so a document is named by (index of its file in the sorted list, its index in
 *   the file) whatever the number of shards. */
#ifndef SMOL_DATA_DEDUP_H
#define SMOL_DATA_DEDUP_H
#include "smol.h"
#include "data/doc.h"
#include <cjson/cJSON.h>
#include <stdio.h>

/* ---- SHA-1 (FIPS 180-4) */

/* The 20-byte SHA-1 digest of data[0..len). */
void smol_sha1(const void *data, size_t len, uint8_t out[20]);

/* The first 8 bytes of SHA-1(data) read as a little-endian integer (datatrove's sha1_hash64). */
uint64_t smol_sha1_64(const void *data, size_t len);

/* ---- input lists and shards */

/* The sorted input list: files as given, directories expanded to the document files in them
 * (.jsonl, .json, .txt, .parquet, optionally .gz/.zst). Duplicates are removed; two inputs
 * with the same output name (smol_dd_output_name) are an error naming both. Free with
 * smol_dd_free_list. */
int smol_dd_list_inputs(const char *const *paths, size_t n, char ***files, size_t *n_files, smol_error *err);

/* Frees a list from smol_dd_list_inputs. */
void smol_dd_free_list(char **files, size_t n);

/* Checks rank and world_size (0 <= rank < world_size); err names the bad value. */
int smol_dd_check_shard(int rank, int world_size, smol_error *err);

/* The output name of input path: its base name with .parquet/.txt/.json changed to .jsonl
 * (compression suffixes kept: a.jsonl.gz -> a.jsonl.gz, b.parquet -> b.jsonl). */
void smol_dd_output_name(const char *path, char *out, size_t out_size);

/* Creates directory path and its parents (like mkdir -p). */
int smol_dd_mkdirs(const char *path, smol_error *err);

/* Writes the completion marker file dir/name (atomically) holding text. */
int smol_dd_mark_done(const char *dir, const char *name, const char *text, smol_error *err);

/* 1 if the completion marker dir/name exists. */
int smol_dd_is_done(const char *dir, const char *name);

/* Records the input list in work_dir/inputs.list, or checks that the list recorded there is
 * the same (a stage run with other inputs would name the wrong documents). */
int smol_dd_check_inputs(const char *work_dir, char *const *files, size_t n, smol_error *err);

/* ---- documents: records read with their original bytes, written unchanged or as JSON */

typedef struct smol_dd_reader smol_dd_reader;

/* Opens a document file: .jsonl (plain, .gz or .zst; records kept byte for byte) or what
 * data/doc.h reads (.json, .txt, .parquet; records re-serialised). text_field NULL: "text". */
int smol_dd_reader_open(const char *path, const char *text_field, smol_dd_reader **out, smol_error *err);

/* Reads the next document: 1 with *text and *len set (valid until the next call), 0 at the end,
 * < 0 an error naming file:line (bad JSON, a missing or non-string text field). */
int smol_dd_read(smol_dd_reader *r, const char **text, size_t *len, smol_error *err);

/* The current record: its parsed JSON, its raw bytes, and its line number. */
cJSON *smol_dd_json(smol_dd_reader *r);
const char *smol_dd_raw(const smol_dd_reader *r, size_t *len);
long smol_dd_line(const smol_dd_reader *r);

/* Bytes read so far (for progress). */
uint64_t smol_dd_bytes_read(const smol_dd_reader *r);

/* Closes r; NULL is a no-op. */
void smol_dd_reader_close(smol_dd_reader *r);

typedef smol_doc_writer smol_dd_writer;  /* data/doc.h's writer */

/* Opens path for writing JSONL lines (.gz/.zst compressed); the file appears only on a
 * successful close. */
int smol_dd_writer_open(const char *path, smol_dd_writer **out, smol_error *err);

/* Writes one line (without '\n'). */
int smol_dd_write_line(smol_dd_writer *w, const char *line, size_t len, smol_error *err);

/* Writes json as one line. */
int smol_dd_write_json(smol_dd_writer *w, const cJSON *json, smol_error *err);

/* Commits the file and frees w (also on failure). */
int smol_dd_writer_close(smol_dd_writer *w, smol_error *err);

/* Drops the output and frees w; NULL is a no-op. */
void smol_dd_writer_abort(smol_dd_writer *w);

/* ---- exact deduplication */

/* Progress messages from the stages (may be NULL). */
typedef void (*smol_dd_log_fn)(void *ctx, const char *msg);

typedef struct smol_exact_opts {
    const char *text_field;      /* NULL: "text" */
    const char *exclusions_dir;  /* NULL, or a directory for the removed documents */
    smol_dd_log_fn log;
    void *log_ctx;
} smol_exact_opts;

typedef struct smol_dedup_stats {
    uint64_t docs, kept, removed, bytes;
} smol_dedup_stats;

/* Exact dedup: a document whose text (bytes, SHA-1) equals that of an earlier one, in the
 * order (sorted file, index), is removed. Kept records go unchanged to out_dir/NAME for each
 * input; removed ones, with "exact_duplicate_of": "NAME:INDEX", to exclusions_dir/NAME. */
int smol_dedup_exact(char *const *files, size_t n_files, const char *out_dir, const smol_exact_opts *opts,
                     smol_dedup_stats *stats, smol_error *err);

#endif
