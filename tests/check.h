/* check.h: the unit-test harness. Each tests/test_X.c is one binary of named tests.
 *   static void test_foo(void) { CHECK(x == 1, "x=%d", x); }
 *   int main(void) { RUN(test_foo); return check_done(); }
 * Every test prints "PASS name" or "FAIL name" on stdout; a failing CHECK prints
 * file:line, the expression and the message on stderr. tests/run.sh counts the lines. */
#ifndef SMOL_TESTS_CHECK_H
#define SMOL_TESTS_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

static inline int check_getpid_(void) { return (int)getpid(); }

static int check_failures_;
static int check_test_failures_;

#define CHECK(cond, ...) do { if (!(cond)) { check_failures_++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* CHECK that returns from the test at the first failure (for loops over many cases). */
#define REQUIRE(cond, ...) do { if (!(cond)) { CHECK(cond, __VA_ARGS__); return; } } while (0)

#define RUN(fn) check_run_(#fn, fn)

static inline void check_run_(const char *name, void (*fn)(void)) {
    int before = check_failures_;
    fn();
    if (check_failures_ != before) check_test_failures_++;
    printf("%s %s\n", check_failures_ == before ? "PASS" : "FAIL", name);
    fflush(stdout);
}

static inline int check_done(void) { return check_test_failures_ ? 1 : 0; }

/* Path of a file in the shared test data: $SMOL_TEST_DATA/rel (default ../shared/data). */
static inline const char *test_data(const char *rel) {
    static char buf[8][4096];
    static int slot;
    const char *root = getenv("SMOL_TEST_DATA");
    if (!root || !*root) root = "../shared/data";
    char *out = buf[slot++ & 7];
    snprintf(out, sizeof buf[0], "%s/%s", root, rel);
    return out;
}

/* A scratch path under $TMPDIR unique to this process. */
static inline const char *test_tmp(const char *name) {
    static char buf[8][4096];
    static int slot;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    char *out = buf[slot++ & 7];
    snprintf(out, sizeof buf[0], "%s/smol-test-%d-%s", tmp, (int)check_getpid_(), name);
    return out;
}
#endif
