/* cmd_validate.c: `smol validate`: checks JSONL documents (or one field of each) against a JSON
 * Schema and prints `valid` or `invalid: <path>: <reason>` per line. */
#include "cli.h"
#include "base/error.h"
#include "base/file.h"
#include "base/jsonl.h"
#include "gen/jsonschema.h"
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define NAME "validate"


/* Validates every line of path; counts into *n_valid / *n_invalid. Returns a status. */
/* Prints s and a newline, its control characters escaped as in JSON (\n, \t, \u001f...), so
 * that a reason naming a key such as "foo\nbar" stays on one output line per instance. */
static void print_one_line(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p != 0x7f) putchar(*p);
        else if (*p == '\n') fputs("\\n", stdout);
        else if (*p == '\r') fputs("\\r", stdout);
        else if (*p == '\t') fputs("\\t", stdout);
        else printf("\\u%04x", *p);
    }
    putchar('\n');
}

static int validate_file(const smol_jschema *s, const char *path, const char *field, int json_field,
                         long *n_valid, long *n_invalid, smol_error *err) {
    smol_lines *r;
    int rc = smol_lines_open(path, &r, err);
    if (rc) return rc;
    const char *line;
    size_t len;
    char why[1200];
    while ((rc = smol_lines_next(r, &line, &len, err)) == 1) {
        int ok;
        if (!field) ok = smol_jschema_validate_text(s, line, len, why, sizeof why, err);
        else {
            cJSON *doc = smol_json_parse_text(line, len, NULL);
            const cJSON *x = doc ? cli_json_path(doc, field) : NULL;
            if (!doc) {
                ok = 0;
                snprintf(why, sizeof why, "/: line %lld is not valid JSON", (long long)smol_lines_lineno(r));
            } else if (!x) {
                ok = 0;
                snprintf(why, sizeof why, "/: no field '%s'", field);
            } else if (json_field && cJSON_IsString(x)) {  /* the field holds JSON text */
                ok = smol_jschema_validate_text(s, x->valuestring, strlen(x->valuestring), why, sizeof why, err);
            } else ok = smol_jschema_validate_doc(s, doc, line, len, x, why, sizeof why, err);
            cJSON_Delete(doc);
        }
        if (ok < 0) {
            smol_error_prefix(err, "%s:%lld", path, (long long)smol_lines_lineno(r));
            rc = ok;
            break;
        }
        if (ok) {
            fputs("valid\n", stdout);
            ++*n_valid;
        } else {
            fputs("invalid: ", stdout);
            print_one_line(why);
            ++*n_invalid;
        }
    }
    smol_lines_close(r);
    return rc < 0 ? rc : SMOL_OK;
}

static int run(int argc, char **argv) {
    const char *schema_path = NULL, *field = NULL;
    const char *files[256];
    int n_files = 0, bad = 0, json_field = 0;
    unsigned flags = 0;
    for (int i = 1; i < argc && !bad; i++) {
        if (cli_opt(argc, argv, &i, "--schema", &schema_path, &bad) || cli_opt(argc, argv, &i, "--field", &field, &bad)) continue;
        if (strcmp(argv[i], "--assert-format") == 0) flags |= SMOL_JSCHEMA_ASSERT_FORMAT;
        else if (strcmp(argv[i], "--json-text") == 0) json_field = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(NAME, "unknown option '%s'", argv[i]);
        else if (n_files < 256) files[n_files++] = argv[i];
        else return cli_usage_error(NAME, "at most 256 input files");
    }
    if (bad) return 2;
    if (!schema_path) return cli_usage_error(NAME, "--schema is required");
    if (n_files == 0) files[n_files++] = "-";
    smol_error err = {0};
    char *text;
    size_t len;
    if (smol_read_file(schema_path, &text, &len, &err)) return cli_fail(NAME, &err);
    smol_jschema *s;
    int rc = smol_jschema_new(text, len, flags, &s, &err);
    free(text);
    if (rc) {
        smol_error_prefix(&err, "%s", schema_path);
        return cli_fail(NAME, &err);
    }
    long n_valid = 0, n_invalid = 0;
    for (int f = 0; f < n_files && !rc; f++) rc = validate_file(s, files[f], field, json_field, &n_valid, &n_invalid, &err);
    smol_jschema_free(s);
    fflush(stdout);
    if (rc) return cli_fail(NAME, &err);
    fprintf(stderr, "smol validate: %ld valid, %ld invalid\n", n_valid, n_invalid);
    return n_invalid ? 1 : 0;
}

const smol_cmd cmd_validate = {
    .name = NAME,
    .summary = "check JSONL documents against a JSON Schema",
    .usage =
        "usage: smol validate --schema SCHEMA.json [options] [FILE.jsonl ...]\n"
        "\n"
        "Validates each line of each FILE (plain, .gz or .zst; '-' or none: stdin) against a JSON Schema\n"
        "(draft 2020-12; draft-04/07 spellings accepted) and prints one line per input line:\n"
        "  valid\n"
        "  invalid: <instance path>: <reason> (schema <schema path>)\n"
        "A summary goes to stderr. Exit status: 0 all valid, 1 some invalid or an error, 2 bad usage.\n"
        "\n"
        "options:\n"
        "  --schema FILE      the JSON Schema (required)\n"
        "  --field F          validate field F of each JSON object (dots for nested: meta.output)\n"
        "  --json-text        the field is a string holding JSON text: parse it, then validate\n"
        "  --assert-format    treat 'format' as an assertion (date, time, date-time, duration, uuid,\n"
        "                     email, hostname, ipv4, ipv6, uri); by default it is an annotation\n"
        "\n"
        "example:\n"
        "  smol validate --schema docs/examples/github-issue.schema.json issues.jsonl\n"
        "  smol validate --schema person.json --field output --json-text extracted.jsonl\n",
    .run = run,
};
