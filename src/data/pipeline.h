/* pipeline.h: the resumable curation pipeline behind `smol curate`. A pipeline file (TOML, see
 * data/config.h and docs/curate.md) names the inputs, the output folder and the stages:
 * per-document stages (filters, formatters, min_length, sample) are fused in one pass per
 * shard; corpus-wide stages (dedup) run between such passes. Input files are the shards; a
 * process with rank R of N takes sorted(files)[R::N]. Every shard output, exclusion file and
 * stats file is written atomically and followed by a completion marker, so a rerun after a
 * crash skips finished shards, redoes the others and ends with the output of one clean run.
 *
 * Output folder layout:
 *   OUT/NNNNN.jsonl[.zst|.gz]         the kept documents of input file NNNNN (in sorted order)
 *   OUT/excluded/SS_NAME/NNNNN.jsonl  documents stage SS dropped, with metadata.filter_reason
 *   OUT/stats.json                    merged counters, one entry per stage (when all shards are done)
 *   OUT/.smol/                        the pipeline text, input list, markers, per-shard stats, work files */
#ifndef SMOL_DATA_PIPELINE_H
#define SMOL_DATA_PIPELINE_H
#include "smol.h"
#include "data/config.h"

enum smol_stage_kind {
    SMOL_STAGE_DOC,      /* per document: keep, drop with a reason, or rewrite the text */
    SMOL_STAGE_CORPUS,   /* over all shards at once (deduplication) */
};

/* One [[stage]] of the pipeline file. */
typedef struct smol_stage_spec {
    char type[32];         /* "filter", "formatter", "dedup_minhash", ... */
    char name[64];         /* the stage's name in stats ("gopher_quality", "min_length", ...) */
    int kind;              /* enum smol_stage_kind */
    char *options;         /* "key=value,key=value" from [stage.options], or NULL */
    const smol_toml *opts; /* [stage.options] as parsed (NULL if absent) */
    int line;              /* where the stage is defined in the pipeline file */
} smol_stage_spec;

typedef struct smol_pipeline {
    char *name;            /* the pipeline file's path (for messages) */
    char *text;            /* its text: stored in OUT/.smol to detect a changed pipeline on rerun */
    smol_toml *root;
    char **inputs;         /* input files, sorted, after expanding the globs of [input] paths */
    int n_inputs;
    const char *text_field, *id_field;
    int on_error;          /* SMOL_ON_ERROR_STOP or SMOL_ON_ERROR_SKIP */
    char *out_dir;
    const char *compression;   /* "zst", "gz" or "none" */
    int exclusions;        /* 1: write excluded documents */
    smol_stage_spec *stages;
    int n_stages;
} smol_pipeline;

/* How one process runs a pipeline. */
typedef struct smol_run_opts {
    int rank, world_size;  /* this process takes input files R, R+N, R+2N, ... (default 0 of 1) */
    int n_threads;         /* shards processed at once (0: 1) */
    int on_error;          /* -1: the pipeline's [input] on_error; else SMOL_ON_ERROR_STOP/SKIP */
    int progress;          /* 1: progress lines on stderr */
    int wait_seconds;      /* how long to wait for other ranks at a corpus-wide stage (0: 3600) */
} smol_run_opts;

/* What a run did (this process only). */
typedef struct smol_run_result {
    int shards_done, shards_skipped;   /* processed now / already complete from an earlier run */
    int64_t docs_in, docs_out;
    int64_t bytes_in;
    int stats_written;                  /* 1: OUT/stats.json was (re)written: every shard is done */
} smol_run_result;

/* The defaults: rank 0 of 1, one thread, on_error from the file, no progress. */
smol_run_opts smol_run_default_opts(void);

/* Parses a pipeline text (name is used in messages: "FILE:LINE: ..."), checks its keys and
 * stages, and expands the input globs (relative paths are taken from the working folder). */
int smol_pipeline_parse(const char *text, size_t len, const char *name, smol_pipeline **out, smol_error *err);

/* Reads and parses the pipeline file at path. */
int smol_pipeline_load(const char *path, smol_pipeline **out, smol_error *err);

/* Frees pl; NULL is a no-op. */
void smol_pipeline_free(smol_pipeline *pl);

/* Writes the pipeline text of a named recipe ("fineweb") over the given inputs and output
 * folder into a malloc'd *text. Unknown recipes give SMOL_EINVAL listing the known ones. */
int smol_pipeline_recipe(const char *recipe, const char *const *inputs, int n_inputs, const char *out_dir,
                         const char *lid_model, char **text, smol_error *err);

/* Runs this process's share of the pipeline; shards completed by an earlier run are skipped.
 * When every shard of every rank is done, writes OUT/stats.json. */
int smol_pipeline_run(const smol_pipeline *pl, const smol_run_opts *opts, smol_run_result *res, smol_error *err);

#endif
