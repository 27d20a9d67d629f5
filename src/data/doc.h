/* doc.h: documents (a text plus its whole JSON record) and the files that hold them.
 * Readers take .jsonl/.json (plain, .gz or .zst, recognised by their bytes), .txt (the whole
 * file is one document) and .parquet (through data/parquet.h). Writers write JSONL, compressed
 * by the output name's extension (.gz, .zst), through a temporary file renamed on close.
 *   smol_doc_reader *r; smol_doc d;
 *   smol_doc_reader_open("in.jsonl.zst", NULL, &r, err);
 *   while ((rc = smol_doc_read(r, &d, err)) == 1) { ...; smol_doc_free(&d); }   0: end, < 0: error
 */
#ifndef SMOL_DATA_DOC_H
#define SMOL_DATA_DOC_H
#include "smol.h"
#include <cjson/cJSON.h>

/* What a reader does with a bad record (malformed JSON, missing or non-string text, invalid
 * UTF-8): stop with an error naming file:line, or report it on stderr, count it and go on. */
enum { SMOL_ON_ERROR_STOP = 0, SMOL_ON_ERROR_SKIP = 1 };

typedef struct smol_doc_opts {
    const char *text_field;   /* the record's text field (NULL: "text") */
    const char *id_field;     /* the record's id field (NULL: "id"); a missing id becomes "PATH:LINE" */
    int on_error;             /* SMOL_ON_ERROR_STOP (default) or SMOL_ON_ERROR_SKIP */
    int quiet;                /* 1: skipped records are counted but not reported on stderr */
} smol_doc_opts;

/* rec_flags of a document read from JSONL. */
enum {
    SMOL_DOC_LAX = 1,          /* rec is JSON only as cJSON reads it (see smol_json_scan): written through cJSON */
    SMOL_DOC_TEXT_SET = 2,     /* the text was replaced (smol_doc_set_text) */
    SMOL_DOC_TREE_CHANGED = 4, /* json may differ from rec (smol_doc_metadata changed the tree) */
    SMOL_DOC_META_OTHER = 8    /* rec's "metadata" is not an object: changing it needs the tree */
};

/* One document. Everything in it is owned by the document (free with smol_doc_free) except
 * path, which stays valid until its reader is closed. A JSONL record is kept as its bytes
 * (rec) and written back as they are, with only the text value replaced when the text
 * changed and the metadata value when metadata was added; its cJSON tree is built only when
 * asked for (smol_doc_json). */
typedef struct smol_doc {
    const char *id;        /* the id as text (points into json or id_buf) */
    char *text;            /* the text (malloc'd, NUL-terminated; filters may replace it) */
    size_t text_len;       /* bytes in text */
    cJSON *json;           /* the whole record as a tree, metadata kept: for JSONL records NULL until
                            * smol_doc_json or smol_doc_metadata builds it (read it through them) */
    const char *path;      /* the file it came from, for messages */
    long line;             /* its line (JSONL), row (parquet, 1-based) or 1 (.txt, .json arrays: item) */
    char text_field[64];   /* the record field the text was read from and is written back to */
    char *id_buf;          /* storage for an id that is not a string in json */
    void *cache;           /* analysis of the current text shared by filters (word tokens); dropped */
    void (*cache_free)(void *cache);   /* by smol_doc_set_text and smol_doc_free */
    char *rec;             /* JSONL: the record's bytes as read, '{' to '}' (malloc'd), else NULL */
    size_t rec_len;
    size_t text_at, text_end;   /* the text field's string token in rec, quotes included */
    size_t meta_at, meta_end;   /* rec's "metadata" value (meta_end 0: none) */
    cJSON *meta;           /* the metadata object while the record has no tree (smol_doc_metadata) */
    unsigned rec_flags;    /* SMOL_DOC_* */
} smol_doc;

typedef struct smol_doc_reader smol_doc_reader;
typedef struct smol_doc_writer smol_doc_writer;

/* Opens path ("-": JSONL on stdin) for reading documents; opts may be NULL (the defaults). */
int smol_doc_reader_open(const char *path, const smol_doc_opts *opts, smol_doc_reader **out, smol_error *err);

/* Reads the next document into *doc (overwritten, not freed): 1 a document, 0 the end, < 0 an
 * error naming file:line. With SMOL_ON_ERROR_SKIP bad records are counted and skipped. */
int smol_doc_read(smol_doc_reader *r, smol_doc *doc, smol_error *err);

/* Records skipped so far (SMOL_ON_ERROR_SKIP). */
long smol_doc_reader_skipped(const smol_doc_reader *r);

/* Bytes of the file read so far and its size (0 if unknown), for progress reports. */
uint64_t smol_doc_reader_bytes_read(const smol_doc_reader *r);
uint64_t smol_doc_reader_file_size(const smol_doc_reader *r);

/* Closes r; NULL is a no-op. Documents already read stay valid except for their path. */
void smol_doc_reader_close(smol_doc_reader *r);

/* Frees what doc owns and zeroes it; a zeroed doc is a no-op. */
void smol_doc_free(smol_doc *doc);

/* Replaces doc's text with a copy of text[0..len) (filters that rewrite text use it). */
int smol_doc_set_text(smol_doc *doc, const char *text, size_t len, smol_error *err);

/* Makes a document from plain text (id and text copied; json gets {"text", "id"}). */
int smol_doc_from_text(smol_doc *doc, const char *id, const char *text, size_t len, smol_error *err);

/* The record's "metadata" object, created when missing (NULL when out of memory). For a JSONL
 * record only that object is parsed, and the record is written as read with the metadata value
 * (or a new "metadata" key at the end) printed by cJSON. */
cJSON *smol_doc_metadata(smol_doc *doc);

/* The whole record as a cJSON tree, for reading other fields (built from the record's bytes
 * at the first call, so not from two threads at once on one document; NULL when out of
 * memory or for a document without a record). Change it only through smol_doc_metadata. */
const cJSON *smol_doc_json(const smol_doc *doc);

/* Opens path for writing JSONL ("-": stdout); .gz and .zst names are compressed. The file
 * appears at path only when smol_doc_writer_close succeeds. */
int smol_doc_writer_open(const char *path, smol_doc_writer **out, smol_error *err);

/* Writes the document as one line with its text field set to doc->text: a JSONL record as it
 * was read (only the text value re-escaped if the text changed), else its tree as cJSON prints it. */
int smol_doc_write(smol_doc_writer *w, const smol_doc *doc, smol_error *err);

/* Writes one already-serialised JSON line (without its '\n'). */
int smol_doc_write_line(smol_doc_writer *w, const char *line, size_t len, smol_error *err);

/* Serialises doc as its output line (malloc'd, no '\n'): for writing prepared lines from threads. */
char *smol_doc_to_json(const smol_doc *doc, size_t *len);

/* Bytes written so far (before compression). */
uint64_t smol_doc_writer_bytes(const smol_doc_writer *w);

/* Finishes compression, flushes and renames the file into place; frees w (also on failure). */
int smol_doc_writer_close(smol_doc_writer *w, smol_error *err);

/* Drops the output (temporary file deleted) and frees w; NULL is a no-op. */
void smol_doc_writer_abort(smol_doc_writer *w);

/* Offset of the first byte that breaks UTF-8 in s[0..n) (overlongs, surrogates and code points
 * past U+10FFFF are invalid), or n if all of it is valid; path is SMOL_JSON_PATH_AUTO, _SCALAR
 * (8 bytes of ASCII at a time in plain C) or _SSE2 (16 at a time), all with the same answer. */
size_t smol_utf8_bad_offset_path(const char *s, size_t n, int path);

#endif
