/* util.c: error printing and option parsing shared by the subcommands. */
#include "cli.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *name, const smol_error *err) {
    fprintf(stderr, "smol %s: %s\n", name, err && err->msg[0] ? err->msg : smol_status_name(err ? err->code : -1));
    return 1;
}

int cli_usage_error(const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "smol %s: ", name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'smol %s --help'.\n", name);
    return 2;
}

int cli_opt(int argc, char **argv, int *i, const char *flag, const char **value, int *bad) {
    if (strcmp(argv[*i], flag) != 0) return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(argv[0], "option %s needs a value", flag);
        *bad = 1;
        return 1;
    }
    *value = argv[++*i];
    return 1;
}

int cli_int(const char *cmd, const char *flag, const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_usage_error(cmd, "%s expects an integer from %lld to %lld, got '%s'", flag, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_float(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        cli_usage_error(cmd, "%s expects a number from %g to %g, got '%s'", flag, lo, hi, s);
        return 0;
    }
    *out = v;
    return 1;
}

struct cJSON *cli_json_path(const struct cJSON *doc, const char *path) {
    char part[256];
    while (doc && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = 0;
        doc = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, part) : NULL;
        path += n + (dot ? 1 : 0);
    }
    return (cJSON *)doc;
}
