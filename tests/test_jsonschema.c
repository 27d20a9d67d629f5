/* test_jsonschema.c: the JSON Schema validator against the official JSON Schema Test Suite
 * (draft 2020-12, every case of every file listed in k_supported must agree), plus format
 * checks, draft-04/07 spellings and the wording of failures.
 * `build/tests/test_jsonschema --report` prints the per-file agreement table only. */
#include "check.h"
#include "gen/jsonschema.h"
#include "base/file.h"
#include <cjson/cJSON.h>
#include <dirent.h>

/* The suite files whose every case must agree, except at most max_skip cases whose schemas
 * reference remote documents (SMOL_EUNSUPPORTED). Not listed: refRemote.json (documents on
 * localhost:1234), defs.json and vocabulary.json (they need metaschemas fetched by URI). */
static const struct { const char *name; int max_skip; } k_supported[] = {
    {"additionalProperties.json", 0}, {"allOf.json", 0}, {"anchor.json", 0}, {"anyOf.json", 0},
    {"boolean_schema.json", 0}, {"const.json", 0}, {"contains.json", 0}, {"content.json", 0},
    {"default.json", 0}, {"dependentRequired.json", 0}, {"dependentSchemas.json", 0},
    {"dynamicRef.json", 13}, {"enum.json", 0}, {"exclusiveMaximum.json", 0}, {"exclusiveMinimum.json", 0},
    {"format.json", 0}, {"if-then-else.json", 0}, {"infinite-loop-detection.json", 0}, {"items.json", 0},
    {"maxContains.json", 0}, {"maxItems.json", 0}, {"maxLength.json", 0}, {"maxProperties.json", 0},
    {"maximum.json", 0}, {"minContains.json", 0}, {"minItems.json", 0}, {"minLength.json", 0},
    {"minProperties.json", 0}, {"minimum.json", 0}, {"multipleOf.json", 0}, {"not.json", 0},
    {"oneOf.json", 0}, {"pattern.json", 0}, {"patternProperties.json", 0}, {"prefixItems.json", 0},
    {"properties.json", 0}, {"propertyNames.json", 0}, {"ref.json", 2}, {"required.json", 0},
    {"type.json", 0}, {"unevaluatedItems.json", 0}, {"unevaluatedProperties.json", 0},
    {"uniqueItems.json", 0}, {NULL, 0}};

typedef struct file_score {
    int agreed, total, skipped, remote_skips;
    char first_diff[600];
} file_score;

/* Runs one suite file; returns -1 if it cannot be read. */
static int run_suite_file(const char *path, file_score *fs) {
    memset(fs, 0, sizeof *fs);
    char *text;
    size_t n;
    if (smol_read_file(path, &text, &n, NULL)) return -1;
    cJSON *doc = cJSON_ParseWithLength(text, n);
    free(text);
    if (!doc) return -1;
    cJSON *group;
    cJSON_ArrayForEach(group, doc) {
        cJSON *schema = cJSON_GetObjectItem(group, "schema"), *tests = cJSON_GetObjectItem(group, "tests");
        smol_jschema *s = NULL;
        smol_error err = {0};
        int crc = smol_jschema_from_cjson(schema, 0, &s, &err);
        cJSON *t;
        cJSON_ArrayForEach(t, tests) {
            fs->total++;
            if (crc) {
                fs->skipped++;
                if (!fs->first_diff[0]) snprintf(fs->first_diff, sizeof fs->first_diff, "skipped: %.500s", err.msg);
                continue;
            }
            char why[1024];
            int want = cJSON_IsTrue(cJSON_GetObjectItem(t, "valid"));
            int rc = smol_jschema_validate(s, cJSON_GetObjectItem(t, "data"), why, sizeof why, &err);
            if (getenv("SUITE_DEBUG") && (rc < 0 || rc != want))
                fprintf(stderr, "%s | %s | %s: rc %d want %d: %s\n", path,
                        cJSON_GetObjectItem(group, "description")->valuestring,
                        cJSON_GetObjectItem(t, "description")->valuestring, rc, want, rc < 0 ? err.msg : why);
            if (rc < 0) {
                fs->skipped++;
                fs->remote_skips += rc == SMOL_EUNSUPPORTED && strstr(err.msg, "cannot resolve $ref");
                if (!fs->first_diff[0]) snprintf(fs->first_diff, sizeof fs->first_diff, "skipped: %.500s", err.msg);
            }
            else if (rc == want) fs->agreed++;
            else if (!fs->first_diff[0])
                snprintf(fs->first_diff, sizeof fs->first_diff, "'%.150s' / '%.150s': expected %s, got %s (%.200s)",
                         cJSON_GetObjectItem(group, "description")->valuestring,
                         cJSON_GetObjectItem(t, "description")->valuestring, want ? "valid" : "invalid",
                         rc ? "valid" : "invalid", rc ? "" : why);
        }
        smol_jschema_free(s);
    }
    cJSON_Delete(doc);
    return 0;
}

/* The number of remote-reference cases allowed to be skipped in a claimed file, or -1. */
static int claimed_skips(const char *name) {
    for (int i = 0; k_supported[i].name; i++)
        if (strcmp(k_supported[i].name, name) == 0) return k_supported[i].max_skip;
    return -1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Prints the per-file table; fails the test for a disagreement in a supported file. */
static void run_suite(int report_only) {
    const char *dir = test_data("json-schema-test-suite/draft2020-12");
    DIR *d = opendir(dir);
    REQUIRE(d, "cannot open %s", dir);
    char *names[128];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 128)
        if (strstr(e->d_name, ".json")) names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    int ta = 0, tt = 0, ts = 0;
    printf("%-32s %9s %8s\n", "file", "agreed", "skipped");
    for (int i = 0; i < nn; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        file_score fs;
        CHECK(run_suite_file(path, &fs) == 0, "cannot read %s", path);
        char cell[32];
        snprintf(cell, sizeof cell, "%d/%d", fs.agreed, fs.total);
        printf("%-32s %9s %8d%s\n", names[i], cell, fs.skipped, claimed_skips(names[i]) >= 0 ? "" : "  (not claimed)");
        ta += fs.agreed;
        tt += fs.total;
        ts += fs.skipped;
        int max_skip = claimed_skips(names[i]);
        if (!report_only && max_skip >= 0)
            CHECK(fs.agreed + fs.skipped == fs.total && fs.skipped <= max_skip && fs.remote_skips == fs.skipped,
                  "%s: %d/%d agree, %d skipped (%d allowed); first difference: %s", names[i], fs.agreed, fs.total,
                  fs.skipped, max_skip, fs.first_diff);
        free(names[i]);
    }
    printf("%-32s %4d/%-4d %8d\n", "total", ta, tt, ts);
    CHECK(nn >= 40, "only %d suite files found", nn);
}

static void test_suite_draft2020_12(void) { run_suite(0); }

static int valid(const char *schema, const char *inst, unsigned flags, char *why, size_t why_size) {
    smol_jschema *s;
    smol_error err;
    if (smol_jschema_new(schema, strlen(schema), flags, &s, &err)) {
        fprintf(stderr, "schema %s: %s\n", schema, err.msg);
        return -100;
    }
    char buf[1024];
    int rc = smol_jschema_validate_text(s, inst, strlen(inst), why ? why : buf, why ? why_size : sizeof buf, &err);
    smol_jschema_free(s);
    return rc;
}

static void test_formats(void) {
    static const struct { const char *fmt, *s; int ok; } k[] = {
        {"date", "2024-02-29", 1}, {"date", "2023-02-29", 0}, {"date", "2024-13-01", 0}, {"date", "2024-1-01", 0},
        {"time", "12:30:00Z", 1}, {"time", "12:30:00.25+05:30", 1}, {"time", "23:59:60Z", 1}, {"time", "12:59:60Z", 0},
        {"time", "24:00:00Z", 0}, {"time", "12:30:00", 0},
        {"date-time", "2024-05-01T10:00:00Z", 1}, {"date-time", "2024-05-01 10:00:00Z", 0},
        {"duration", "P3Y6M4DT12H30M5S", 1}, {"duration", "P2W", 1}, {"duration", "PT", 0}, {"duration", "P1D2Y", 0},
        {"duration", "P", 0}, {"uuid", "2EB8AA08-AA98-11EA-B4AA-73B441D16380", 1}, {"uuid", "2eb8aa08-aa98-11ea-b4aa", 0},
        {"email", "joe.bloggs@example.com", 1}, {"email", "joe..bloggs@example.com", 0}, {"email", "no-at-sign", 0},
        {"hostname", "www.example.com", 1}, {"hostname", "-bad.example.com", 0}, {"hostname", "a..b", 0},
        {"ipv4", "192.168.0.1", 1}, {"ipv4", "256.1.1.1", 0}, {"ipv4", "01.1.1.1", 0}, {"ipv4", "1.1.1", 0},
        {"ipv6", "::1", 1}, {"ipv6", "2001:db8::8a2e:370:7334", 1}, {"ipv6", "12345::", 0},
        {"uri", "https://example.com/a?b=c#d", 1}, {"uri", "//no-scheme", 0}, {"uri", "http://a b", 0},
        {"unknown-format", "anything", 1},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        CHECK(smol_jschema_check_format(k[i].fmt, k[i].s) == k[i].ok, "format %s of '%s': expected %d", k[i].fmt,
              k[i].s, k[i].ok);
    /* annotation by default (as the 2020-12 suite expects), assertion on request */
    CHECK(valid("{\"format\":\"date\"}", "\"nope\"", 0, NULL, 0) == 1, "format must be an annotation by default");
    CHECK(valid("{\"format\":\"date\"}", "\"nope\"", SMOL_JSCHEMA_ASSERT_FORMAT, NULL, 0) == 0, "asserted format");
}

static void test_old_drafts(void) {
    const char *tuple = "{\"items\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"additionalItems\":false}";
    CHECK(valid(tuple, "[1,\"a\"]", 0, NULL, 0) == 1, "draft-07 tuple");
    CHECK(valid(tuple, "[1,\"a\",3]", 0, NULL, 0) == 0, "additionalItems false");
    CHECK(valid(tuple, "[\"a\"]", 0, NULL, 0) == 0, "tuple item type");
    const char *excl = "{\"minimum\":5,\"exclusiveMinimum\":true,\"maximum\":9,\"exclusiveMaximum\":true}";
    CHECK(valid(excl, "5", 0, NULL, 0) == 0 && valid(excl, "6", 0, NULL, 0) == 1 && valid(excl, "9", 0, NULL, 0) == 0,
          "draft-04 boolean exclusive bounds");
    const char *deps = "{\"dependencies\":{\"a\":[\"b\"],\"c\":{\"required\":[\"d\"]}}}";
    CHECK(valid(deps, "{\"a\":1,\"b\":2}", 0, NULL, 0) == 1, "dependencies array");
    CHECK(valid(deps, "{\"a\":1}", 0, NULL, 0) == 0, "dependencies array missing");
    CHECK(valid(deps, "{\"c\":1}", 0, NULL, 0) == 0, "dependencies schema");
    const char *defs = "{\"definitions\":{\"n\":{\"type\":\"integer\"}},\"properties\":{\"x\":{\"$ref\":\"#/definitions/n\"}}}";
    CHECK(valid(defs, "{\"x\":1}", 0, NULL, 0) == 1 && valid(defs, "{\"x\":\"1\"}", 0, NULL, 0) == 0, "definitions");
}

static void test_failure_messages(void) {
    char why[1024];
    const char *s = "{\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":3}}}}";
    CHECK(valid(s, "{\"tags\":[\"ab\",\"abcd\"]}", 0, why, sizeof why) == 0, "long tag");
    CHECK(strstr(why, "/tags/1: ") == why, "instance path first: %s", why);
    CHECK(strstr(why, "maxLength 3") && strstr(why, "schema /properties/tags/items"), "reason and schema path: %s", why);
    CHECK(valid("{\"required\":[\"a\"]}", "{}", 0, why, sizeof why) == 0 && strstr(why, "'a'"), "required: %s", why);
    CHECK(valid("{}", "{bad json", 0, why, sizeof why) == 0 && strstr(why, "not valid JSON"), "bad json: %s", why);
    smol_jschema *sc;
    smol_error err;
    CHECK(smol_jschema_new("{\"pattern\":\"(\"}", 15, 0, &sc, &err) == SMOL_EFORMAT && strstr(err.msg, "/pattern") &&
              strstr(err.msg, "regex"), "bad regex: %s", err.msg);
    CHECK(smol_jschema_new("{\"a\":", 5, 0, &sc, &err) == SMOL_EFORMAT, "bad schema JSON");
    CHECK(smol_jschema_new("{\"$ref\":\"#\"}", 12, 0, &sc, &err) == 0, "self ref compiles");
    CHECK(smol_jschema_validate_text(sc, "1", 1, why, sizeof why, &err) == SMOL_ERANGE, "endless $ref is an error");
    smol_jschema_free(sc);
    CHECK(smol_jschema_new("{\"$ref\":\"http://x.test/s.json\"}", 32, 0, &sc, &err) == 0, "remote ref compiles");
    CHECK(smol_jschema_validate_text(sc, "1", 1, why, sizeof why, &err) == SMOL_EUNSUPPORTED &&
              strstr(err.msg, "http://x.test/s.json"), "remote ref unsupported: %s", err.msg);
    smol_jschema_free(sc);
}

static void test_ecma_regex(void) {
    /* ECMA $ matches only at the very end; \uXXXX escapes; search, not full match */
    CHECK(valid("{\"pattern\":\"^a$\"}", "\"a\\n\"", 0, NULL, 0) == 0, "$ before a final newline");
    CHECK(valid("{\"pattern\":\"\\\\u00e9\"}", "\"caf\\u00e9\"", 0, NULL, 0) == 1, "\\u escape");
    CHECK(valid("{\"pattern\":\"b\"}", "\"abc\"", 0, NULL, 0) == 1, "unanchored search");
    CHECK(valid("{\"maxLength\":2}", "\"\\u00e9\\u00e9\"", 0, NULL, 0) == 1, "length in code points");
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--report") == 0) {
        run_suite(1);
        return 0;
    }
    RUN(test_suite_draft2020_12);
    RUN(test_formats);
    RUN(test_old_drafts);
    RUN(test_failure_messages);
    RUN(test_ecma_regex);
    return check_done();
}
