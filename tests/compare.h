/* compare.h: helpers shared by the tests that check logits against reference files: read a
 * whole file, the relative difference of two logit rows, and the arg-max of a row. */
#ifndef SMOL_TESTS_COMPARE_H
#define SMOL_TESTS_COMPARE_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads path into a NUL-terminated buffer (*out, freed by the caller); 0 or -1. */
static inline int test_read_file(const char *path, char **out, size_t *size) {
    FILE *f = fopen(path, "rb");
    *out = NULL;
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    *size = *out ? fread(*out, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!*out || *size != (size_t)n) return -1;
    (*out)[n] = 0;
    return 0;
}

/* The largest |a[i] - b[i]| / max|b| over n values; *at gets the index of the largest |a-b|. */
static inline double rel_diff(const float *a, const float *b, int n, int *at) {
    double maxb = 0, maxd = 0;
    *at = 0;
    for (int i = 0; i < n; i++) {
        if (fabs(b[i]) > maxb) maxb = fabs(b[i]);
        double d = fabs((double)a[i] - b[i]);
        if (d > maxd || d != d) maxd = d, *at = i;
    }
    return maxb > 0 ? maxd / maxb : maxd;
}

static inline int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

#endif
