/* cmd_parquet.c: `smol parquet`: prints the rows of Parquet files as JSONL (one JSON object per
 * row), or their columns with --schema. */
#include "cli.h"
#include "data/parquet.h"
#include <stdio.h>
#include <string.h>

#define NAME "parquet"

static int show_schema(const char *path, smol_parquet *p) {
    printf("%s: %lld rows, %d columns\n", path, (long long)smol_parquet_num_rows(p), smol_parquet_num_columns(p));
    for (int i = 0; i < smol_parquet_num_columns(p); i++) printf("  %s\n", smol_parquet_column_name(p, i));
    if (*smol_parquet_skipped(p)) printf("  skipped (nested or unsupported): %s\n", smol_parquet_skipped(p));
    return 0;
}

static int run(int argc, char **argv) {
    int schema = 0, n_files = 0, bad = 0;
    long long limit = -1;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--schema") == 0) schema = 1;
        else if (cli_opt(argc, argv, &i, "-n", &v, &bad)) {
            if (!cli_int(NAME, "-n", v, 0, (long long)1 << 62, &limit)) return 2;
        } else if (bad) return 2;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(NAME, "unknown option '%s'", argv[i]);
        else n_files++;
    }
    if (!n_files) return cli_usage_error(NAME, "no input file");
    long long printed = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (strcmp(argv[i], "-n") == 0) i++;
            continue;
        }
        smol_error err;
        smol_parquet *p;
        if (smol_parquet_open(argv[i], &p, &err)) return cli_fail(NAME, &err);
        if (schema) {
            show_schema(argv[i], p);
            smol_parquet_close(p);
            continue;
        }
        const char *json;
        size_t len;
        int rc = 0;
        while ((limit < 0 || printed < limit) && (rc = smol_parquet_next_json(p, &json, &len, &err)) == 1) {
            fwrite(json, 1, len, stdout);
            putchar('\n');
            printed++;
        }
        smol_parquet_close(p);
        if (rc < 0 && (limit < 0 || printed < limit)) return cli_fail(NAME, &err);
    }
    if (fflush(stdout)) {
        fprintf(stderr, "smol %s: write error on stdout\n", NAME);
        return 1;
    }
    return 0;
}

const smol_cmd cmd_parquet = {
    NAME, "print Parquet rows as JSONL, or a file's columns",
    "usage: smol parquet [--schema] [-n N] FILE.parquet...\n"
    "\n"
    "Prints each row as one JSON object per line (string, integer, float and boolean columns;\n"
    "null for nulls). Nested columns are skipped (--schema lists them). -n N stops after N rows.\n"
    "Supported: data pages v1/v2, PLAIN, dictionary and DELTA encodings, UNCOMPRESSED, SNAPPY,\n"
    "GZIP and ZSTD compression.\n"
    "\n"
    "examples:\n"
    "  smol parquet --schema train-00000.parquet\n"
    "  smol parquet -n 5 train-00000.parquet > first5.jsonl\n",
    run,
};
