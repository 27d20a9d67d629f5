/* dtype.c: the table of tensor types and their block layouts (GGML numbering). */
#include "model/dtype.h"
#include <strings.h>
#include "smol.h"

static const smol_dtype_info k_types[SMOL_DTYPE_COUNT] = {
    [SMOL_F32] = {"f32", 1, 4},          [SMOL_F16] = {"f16", 1, 2},
    [SMOL_Q4_0] = {"q4_0", 32, 18},      [SMOL_Q4_1] = {"q4_1", 32, 20},
    [SMOL_Q5_0] = {"q5_0", 32, 22},      [SMOL_Q5_1] = {"q5_1", 32, 24},
    [SMOL_Q8_0] = {"q8_0", 32, 34},      [SMOL_Q8_1] = {"q8_1", 32, 36},
    [SMOL_Q2_K] = {"q2_K", 256, 84},     [SMOL_Q3_K] = {"q3_K", 256, 110},
    [SMOL_Q4_K] = {"q4_K", 256, 144},    [SMOL_Q5_K] = {"q5_K", 256, 176},
    [SMOL_Q6_K] = {"q6_K", 256, 210},    [SMOL_Q8_K] = {"q8_K", 256, 292},
    [SMOL_IQ2_XXS] = {"iq2_xxs", 256, 66}, [SMOL_IQ2_XS] = {"iq2_xs", 256, 74},
    [SMOL_IQ3_XXS] = {"iq3_xxs", 256, 98}, [SMOL_IQ1_S] = {"iq1_s", 256, 50},
    [SMOL_IQ4_NL] = {"iq4_nl", 32, 18},  [SMOL_IQ3_S] = {"iq3_s", 256, 110},
    [SMOL_IQ2_S] = {"iq2_s", 256, 82},   [SMOL_IQ4_XS] = {"iq4_xs", 256, 136},
    [SMOL_I8] = {"i8", 1, 1},            [SMOL_I16] = {"i16", 1, 2},
    [SMOL_I32] = {"i32", 1, 4},          [SMOL_I64] = {"i64", 1, 8},
    [SMOL_F64] = {"f64", 1, 8},          [SMOL_IQ1_M] = {"iq1_m", 256, 56},
    [SMOL_BF16] = {"bf16", 1, 2},        [SMOL_TQ1_0] = {"tq1_0", 256, 54},
    [SMOL_TQ2_0] = {"tq2_0", 256, 66},
};

const smol_dtype_info *smol_dtype_get(uint32_t t) {
    if (t >= SMOL_DTYPE_COUNT || !k_types[t].name) return NULL;
    return &k_types[t];
}

int smol_dtype_from_name(const char *name) {
    for (int t = 0; t < SMOL_DTYPE_COUNT; t++)
        if (k_types[t].name && strcasecmp(k_types[t].name, name) == 0) return t;
    return -1;
}

uint64_t smol_dtype_nbytes(uint32_t t, uint64_t n, int *overflow) {
    if (overflow) *overflow = 0;
    const smol_dtype_info *ti = smol_dtype_get(t);
    if (!ti || n % ti->block) return 0;
    uint64_t blocks = n / ti->block;
    if (blocks > UINT64_MAX / ti->size) {
        if (overflow) *overflow = 1;
        return 0;
    }
    return blocks * ti->size;
}

const char *smol_dtype_name(uint32_t t) {
    const smol_dtype_info *ti = smol_dtype_get(t);
    return ti ? ti->name : NULL;
}

uint64_t smol_dtype_row_size(uint32_t t, uint64_t n) { return smol_dtype_nbytes(t, n, NULL); }
