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
    CHECK(valid("{}", "{} x", 0, why, sizeof why) == 0 && strstr(why, "not valid JSON (near byte 3)"), "text after the value: %s", why);
    CHECK(valid("{}", "[1] \r\n\t", 0, why, sizeof why) == 1, "whitespace after the value");
    smol_jschema *sc;
    smol_error err;
    CHECK(smol_jschema_new("{\"pattern\":\"(\"}", 15, 0, &sc, &err) == SMOL_EFORMAT && strstr(err.msg, "/pattern") &&
              strstr(err.msg, "regex"), "bad regex: %s", err.msg);
    CHECK(smol_jschema_new("{\"a\":", 5, 0, &sc, &err) == SMOL_EFORMAT, "bad schema JSON");
    CHECK(smol_jschema_new("{} {}", 5, 0, &sc, &err) == SMOL_EFORMAT && strstr(err.msg, "near byte 3"), "text after the schema: %s", err.msg);
    const char *dup = "{\"properties\":{\"a/b\":{\"items\":[{\"type\":\"string\",\"minimum\":1,\"type\":\"integer\"}]}}}";
    CHECK(smol_jschema_new(dup, strlen(dup), 0, &sc, &err) == SMOL_EFORMAT && strstr(err.msg, "'type' twice") &&
              strstr(err.msg, "at /properties/a~1b/items/0"), "duplicate key: %s", err.msg);
    const char *dup_root = "{\"type\":\"string\",\"type\":\"integer\"}";
    CHECK(smol_jschema_new(dup_root, strlen(dup_root), 0, &sc, &err) == SMOL_EFORMAT && strstr(err.msg, "'type' twice in the object at /"),
          "duplicate key at the root: %s", err.msg);
    const char *same_key_apart = "{\"properties\":{\"type\":{\"type\":\"string\"}},\"type\":\"object\"}";
    CHECK(smol_jschema_new(same_key_apart, strlen(same_key_apart), 0, &sc, &err) == 0, "one key in two objects: %s", err.msg);
    smol_jschema_free(sc);
    CHECK(smol_jschema_new("{\"$ref\":\"#\"}", 12, 0, &sc, &err) == 0, "self ref compiles");
    CHECK(smol_jschema_validate_text(sc, "1", 1, why, sizeof why, &err) == SMOL_ERANGE, "endless $ref is an error");
    smol_jschema_free(sc);
    CHECK(smol_jschema_new("{\"$ref\":\"http://x.test/s.json\"}", 31, 0, &sc, &err) == 0, "remote ref compiles");
    CHECK(smol_jschema_validate_text(sc, "1", 1, why, sizeof why, &err) == SMOL_EUNSUPPORTED &&
              strstr(err.msg, "http://x.test/s.json"), "remote ref unsupported: %s", err.msg);
    smol_jschema_free(sc);
}

/* digits (a decimal integer, most significant first) times f, in place; returns the new length. */
static size_t big_mul(char *digits, size_t n, unsigned f) {
    unsigned carry = 0;
    for (size_t i = n; i-- > 0;) {
        unsigned v = (unsigned)(digits[i] - '0') * f + carry;
        digits[i] = (char)('0' + v % 10), carry = v / 10;
    }
    char head[16];
    size_t h = 0;
    for (; carry; carry /= 10) head[h++] = (char)('0' + carry % 10);
    memmove(digits + h, digits, n + 1);
    for (size_t i = 0; i < h; i++) digits[i] = head[h - 1 - i];
    return n + h;
}

/* The integer text digits[0..n) divided by 10^k, as a JSON number without exponent. */
static void place_point(const char *digits, size_t n, int k, char *out) {
    size_t o = 0;
    if ((size_t)k >= n) {
        out[o++] = '0', out[o++] = '.';
        for (size_t i = n; i < (size_t)k; i++) out[o++] = '0';
        memcpy(out + o, digits, n), o += n;
    } else {
        memcpy(out, digits, n - (size_t)k), o = n - (size_t)k;
        if (k) out[o++] = '.', memcpy(out + o, digits + n - k, (size_t)k), o += (size_t)k;
    }
    out[o] = 0;
}

/* multipleOf on numbers of up to 120 digits: j * p / 10^k built by schoolbook multiplication
 * must validate in three spellings (plain, trailing zeros, exponent); adding 10^-(k+1), or
 * 10^-k when p > 1, must not. Integers past 2^53 against integer steps and type integer. */
static void test_big_multiples(void) {
    static const struct { const char *step; unsigned p; int k; } steps[] = {
        {"1.5", 15, 1}, {"0.01", 1, 2}, {"0.1", 1, 1}, {"1e-8", 1, 8}, {"0.00000001", 1, 8},
        {"2", 2, 0}, {"0.3", 3, 1}, {"7", 7, 0}, {"0.25", 25, 2}, {"12", 12, 0}, {"0.07", 7, 2},
    };
    uint64_t rng = 88172645463325252ull;
    int n_cases = 0;
    for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
        char schema[64];
        snprintf(schema, sizeof schema, "{\"multipleOf\":%s}", steps[si].step);
        for (int t = 0; t < 40; t++) {
            char j[200], num[240], alt[260], why[1024];
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t n = 1 + rng % 110;
            for (size_t i = 0; i < n; i++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                j[i] = (char)('0' + (i == 0 ? 1 + rng % 9 : rng % 10));
            }
            j[n] = 0;
            n = big_mul(j, n, steps[si].p);
            place_point(j, n, steps[si].k, num);
            CHECK(valid(schema, num, 0, why, sizeof why) == 1, "%s: %s should be a multiple: %s", schema, num, why);
            snprintf(alt, sizeof alt, "%s%s000", num, strchr(num, '.') ? "" : ".");
            CHECK(valid(schema, alt, 0, why, sizeof why) == 1, "%s: %s should be a multiple: %s", schema, alt, why);
            snprintf(alt, sizeof alt, "-%se-%d", j, steps[si].k);
            CHECK(valid(schema, alt, 0, why, sizeof why) == 1, "%s: %s should be a multiple: %s", schema, alt, why);
            snprintf(alt, sizeof alt, "%s%s1", num, strchr(num, '.') ? "" : ".");   /* + 10^-(k+1) */
            CHECK(valid(schema, alt, 0, why, sizeof why) == 0, "%s: %s is a near miss", schema, alt);
            if (steps[si].p > 1) {   /* + 10^-k: the last digit moved by one */
                size_t i = n;
                while (i-- > 0 && j[i] == '9') j[i] = '0';
                if (i < n) j[i]++;
                place_point(j, n, steps[si].k, num);
                CHECK(valid(schema, num, 0, why, sizeof why) == 0, "%s: %s is a near miss", schema, num);
                CHECK(!strstr(why, "not a multiple of ") || strstr(why, steps[si].step) ||
                          steps[si].step[1] == 'e', "message names the step: %s", why);
            }
            n_cases++;
        }
    }
    CHECK(n_cases == 440, "%d cases", n_cases);
    /* the outputs bench/validity.sh once judged wrongly: 96 digits, exact multiples of 1.5 */
    char big[128] = "";
    for (int i = 0; i < 32; i++) strcat(big, "290");
    big[95] = '7', big[94] = '3', big[93] = '0';   /* 2902...9037: digit sum divisible by 3 */
    CHECK(valid("{\"multipleOf\":1.5}", big, 0, NULL, 0) == 1, "%s is 1.5 * %s", big, "an integer");
    big[95] = '8';
    CHECK(valid("{\"multipleOf\":1.5}", big, 0, NULL, 0) == 0, "%s is no multiple of 1.5", big);
    /* integers beyond 2^53: a double would read 9007199254740993 as ...992 */
    CHECK(valid("{\"multipleOf\":2}", "9007199254740993", 0, NULL, 0) == 0, "2^53 + 1 is odd");
    CHECK(valid("{\"multipleOf\":2}", "9007199254740994", 0, NULL, 0) == 1, "2^53 + 2 is even");
    CHECK(valid("{\"type\":\"integer\",\"multipleOf\":3}", "18446744073709551615", 0, NULL, 0) == 1, "2^64 - 1 = 3 * ...");
    CHECK(valid("{\"type\":\"integer\",\"multipleOf\":3}", "18446744073709551616", 0, NULL, 0) == 0, "2^64 mod 3 = 1");
    CHECK(valid("{\"type\":\"integer\"}", "9007199254740993.5", 0, NULL, 0) == 0, "a fraction past 2^53");
    CHECK(valid("{\"type\":\"integer\"}", "777777777777777777777777777777.7", 0, NULL, 0) == 0, "30 digits and a fraction");
    CHECK(valid("{\"type\":\"integer\"}", "1.5e1", 0, NULL, 0) == 1 && valid("{\"type\":\"integer\"}", "1.50e0", 0, NULL, 0) == 0,
          "integer through an exponent");
    CHECK(valid("{\"type\":\"integer\"}", "1e400", 0, NULL, 0) == 1 && valid("{\"multipleOf\":3}", "1e400", 0, NULL, 0) == 0,
          "beyond the doubles");
    CHECK(valid("{\"multipleOf\":0.1}", "1e-400", 0, NULL, 0) == 0 && valid("{\"multipleOf\":0.1}", "0e-400", 0, NULL, 0) == 1,
          "below the doubles");
    /* inside documents each number keeps its own text (2^53 + 1 = 3 * 3002399751580331; 2^53 + 3
     * is not a multiple of 3): a double reads them as 2^53 (no multiple of 1.5) and 2^53 + 4 (one) */
    const char *doc = "{\"s\":\"1e9 \\\" 7\",\"a\":[1.5,3,9007199254740993,9007199254740995],\"b\":{\"c\":4.5}}";
    const char *sch = "{\"properties\":{\"a\":{\"items\":{\"multipleOf\":1.5}}}}";
    char why[1024];
    CHECK(valid(sch, doc, 0, why, sizeof why) == 0 && strstr(why, "/a/3: 9007199254740995 is not a multiple of 1.5"),
          "by text: %s", why);
    smol_jschema *s;
    smol_error err;
    REQUIRE(smol_jschema_new(sch, strlen(sch), 0, &s, &err) == 0, "%s", err.msg);
    cJSON *d = cJSON_Parse(doc);
    CHECK(smol_jschema_validate(s, d, why, sizeof why, &err) == 0 && strstr(why, "/a/2: 9007199254740992 is not"),
          "by doubles: %s", why);
    CHECK(smol_jschema_validate_doc(s, d, doc, strlen(doc), cJSON_GetObjectItem(d, "a"), why, sizeof why, &err) == 1,
          "the field a is checked against the whole schema (an array): %s", why);
    smol_jschema_free(s);
    sch = "{\"items\":{\"multipleOf\":1.5}}";
    REQUIRE(smol_jschema_new(sch, strlen(sch), 0, &s, &err) == 0, "%s", err.msg);
    CHECK(smol_jschema_validate_doc(s, d, doc, strlen(doc), cJSON_GetObjectItem(d, "a"), why, sizeof why, &err) == 0 &&
              strstr(why, "/3: 9007199254740995 is not a multiple of 1.5"), "field a by text: %s", why);
    smol_jschema_free(s);
    cJSON_Delete(d);
    CHECK(valid("{\"multipleOf\":0.0001}", "0.0075", 0, NULL, 0) == 1, "0.0075 / 0.0001 = 75");
    CHECK(valid("{\"multipleOf\":0.1}", "0.30000000001", 0, NULL, 0) == 0, "no tolerance");
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
    RUN(test_big_multiples);
    return check_done();
}
