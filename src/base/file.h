/* file.h: whole files, read-only memory maps and atomic writes. */
#ifndef SMOL_BASE_FILE_H
#define SMOL_BASE_FILE_H
#include "smol.h"
#include <stdio.h>

/* A read-only view of a whole file: memory-mapped, or read into memory for pipes. */
typedef struct smol_map {
    const uint8_t *data;   /* the file's bytes (NULL for an empty file) */
    size_t size;           /* the file's size */
    int mapped;            /* 1: munmap on close; 0: free on close */
} smol_map;

/* Maps path read-only into m. */
int smol_map_open(smol_map *m, const char *path, smol_error *err);

/* Unmaps or frees m; m may be zeroed or already closed. */
void smol_map_close(smol_map *m);

/* Reads a whole file ("-" for stdin) into a NUL-terminated malloc'd buffer; *size excludes the NUL. */
int smol_read_file(const char *path, char **out, size_t *size, smol_error *err);

/* An output file written to "PATH.tmp.PID" and renamed over PATH by smol_atomic_commit. */
typedef struct smol_atomic_file {
    FILE *fp;
    char path[4096];
    char tmp[4096];
} smol_atomic_file;

/* Opens a temporary file beside path for writing. */
int smol_atomic_open(smol_atomic_file *f, const char *path, smol_error *err);

/* Flushes, fsyncs and renames the temporary file over the final path. */
int smol_atomic_commit(smol_atomic_file *f, smol_error *err);

/* Closes and deletes the temporary file (after a failure); safe after commit. */
void smol_atomic_abort(smol_atomic_file *f);

/* 1 if path is a directory. */
int smol_is_dir(const char *path);

/* 1 if path exists. */
int smol_exists(const char *path);

#endif
