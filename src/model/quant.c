/* quant.c: scalar reference conversions between f32 and every stored tensor type (GGML's
 * block formats and rounding), the scalar dot-product kernels, and the run-time choice of the
 * SIMD twins in quant_avx2.c / quant_avx512.c. */
#include "model/quant_internal.h"
#include <math.h>
#include <string.h>
#include "base/cpu.h"
#include "smol.h"

#define H2F smol_f16_to_f32
#define F2H smol_f32_to_f16

/* The SIMD twins reproduce these float expressions exactly; keep them unfused. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static int nearest_int(float x) { return (int)lrintf(x); }  /* ties to even, as GGML */

/* (int)v for v in [lo, hi]; out-of-range and NaN values (only from non-finite input) are
 * clamped instead of being undefined behaviour. */
static int to_int_clamped(float v, int lo, int hi) {
    if (!(v >= (float)lo)) return lo;
    return v >= (float)hi ? hi : (int)v;
}

/* ------------------------------------------------------------------ 32-element blocks */

/* The element of largest magnitude, sign kept (the first one on ties). */
static float signed_absmax(const float *x, int n, float *amax_out) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
    if (amax_out) *amax_out = amax;
    return max;
}

static void quantize_q4_0(const float *x, void *dst, int64_t n) {
    block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float max = signed_absmax(x, QK, NULL), d = max / -8, id = d ? 1.0f / d : 0;
        y[i].d = F2H(d);
        for (int j = 0; j < QK / 2; j++) {
            int a = to_int_clamped(x[j] * id + 8.5f, 0, 15), b = to_int_clamped(x[j + 16] * id + 8.5f, 0, 15);
            y[i].qs[j] = (uint8_t)(a | b << 4);
        }
    }
}

static void quantize_q4_1(const float *x, void *dst, int64_t n) {
    block_q4_1 *y = dst;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK; j++) { lo = x[j] < lo ? x[j] : lo; hi = x[j] > hi ? x[j] : hi; }
        float d = (hi - lo) / 15, id = d ? 1.0f / d : 0;
        y[i].d = F2H(d);
        y[i].m = F2H(lo);
        for (int j = 0; j < QK / 2; j++) {
            int a = to_int_clamped((x[j] - lo) * id + 0.5f, 0, 15), b = to_int_clamped((x[j + 16] - lo) * id + 0.5f, 0, 15);
            y[i].qs[j] = (uint8_t)(a | b << 4);
        }
    }
}

static void put_q5(const float *x, float bias, float lo, float id, uint8_t *qs, uint8_t qh_out[4]) {
    uint32_t qh = 0;
    for (int j = 0; j < QK / 2; j++) {
        int a = to_int_clamped((x[j] - lo) * id + bias, 0, 31), b = to_int_clamped((x[j + 16] - lo) * id + bias, 0, 31);
        qs[j] = (uint8_t)((a & 15) | (b & 15) << 4);
        qh |= (uint32_t)(a >> 4) << j | (uint32_t)(b >> 4) << (j + 16);
    }
    for (int k = 0; k < 4; k++) qh_out[k] = (uint8_t)(qh >> (8 * k));
}

static void quantize_q5_0(const float *x, void *dst, int64_t n) {
    block_q5_0 *y = dst;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float max = signed_absmax(x, QK, NULL), d = max / -16, id = d ? 1.0f / d : 0;
        y[i].d = F2H(d);
        put_q5(x, 16.5f, 0, id, y[i].qs, y[i].qh);
    }
}

static void quantize_q5_1(const float *x, void *dst, int64_t n) {
    block_q5_1 *y = dst;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK; j++) { lo = x[j] < lo ? x[j] : lo; hi = x[j] > hi ? x[j] : hi; }
        float d = (hi - lo) / 31, id = d ? 1.0f / d : 0;
        y[i].d = F2H(d);
        y[i].m = F2H(lo);
        put_q5(x, 0.5f, lo, id, y[i].qs, y[i].qh);
    }
}

void smol_quantize_q8_0_ref(const float *x, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float amax;
        signed_absmax(x, QK, &amax);
        float d = amax / 127, id = d ? 1.0f / d : 0;
        y[i].d = F2H(d);
        for (int j = 0; j < QK; j++) y[i].qs[j] = (int8_t)to_int_clamped(roundf(x[j] * id), -128, 127);
    }
}

static void quantize_q8_1(const float *x, void *dst, int64_t n) {
    block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / QK; i++, x += QK) {
        float amax;
        signed_absmax(x, QK, &amax);
        float d = amax / 127, id = d ? 1.0f / d : 0;
        int sum = 0;
        for (int j = 0; j < QK; j++) sum += y[i].qs[j] = (int8_t)to_int_clamped(roundf(x[j] * id), -128, 127);
        y[i].d = F2H(d);
        y[i].s = F2H((float)sum * d);
    }
}

static void dequantize_q4_0(const void *src, float *y, int64_t n) {
    const block_q4_0 *x = src;
    for (int64_t i = 0; i < n / QK; i++, y += QK) {
        float d = H2F(x[i].d);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * ((x[i].qs[j] & 15) - 8);
            y[j + 16] = d * ((x[i].qs[j] >> 4) - 8);
        }
    }
}

static void dequantize_q4_1(const void *src, float *y, int64_t n) {
    const block_q4_1 *x = src;
    for (int64_t i = 0; i < n / QK; i++, y += QK) {
        float d = H2F(x[i].d), m = H2F(x[i].m);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * (x[i].qs[j] & 15) + m;
            y[j + 16] = d * (x[i].qs[j] >> 4) + m;
        }
    }
}

static uint32_t load_u32le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The 32 5-bit values of a q5 block, 0..31. */
static void get_q5(const uint8_t *qs, const uint8_t *qh4, int *q) {
    uint32_t qh = load_u32le(qh4);
    for (int j = 0; j < QK / 2; j++) {
        q[j] = (qs[j] & 15) | (int)((qh >> j) & 1) << 4;
        q[j + 16] = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
    }
}

static void dequantize_q5_0(const void *src, float *y, int64_t n) {
    const block_q5_0 *x = src;
    for (int64_t i = 0; i < n / QK; i++, y += QK) {
        int q[QK];
        get_q5(x[i].qs, x[i].qh, q);
        float d = H2F(x[i].d);
        for (int j = 0; j < QK; j++) y[j] = d * (q[j] - 16);
    }
}

static void dequantize_q5_1(const void *src, float *y, int64_t n) {
    const block_q5_1 *x = src;
    for (int64_t i = 0; i < n / QK; i++, y += QK) {
        int q[QK];
        get_q5(x[i].qs, x[i].qh, q);
        float d = H2F(x[i].d), m = H2F(x[i].m);
        for (int j = 0; j < QK; j++) y[j] = d * q[j] + m;
    }
}

static void dequantize_q8_0(const void *src, float *y, int64_t n) {
    const block_q8_0 *x = src;
    for (int64_t i = 0; i < n / QK; i++, y += QK) {
        float d = H2F(x[i].d);
        for (int j = 0; j < QK; j++) y[j] = d * x[i].qs[j];
    }
}

static void dequantize_q8_1(const void *src, float *y, int64_t n) {
    const block_q8_1 *x = src;
    for (int64_t i = 0; i < n / QK; i++, y += QK) {
        float d = H2F(x[i].d);
        for (int j = 0; j < QK; j++) y[j] = d * x[i].qs[j];
    }
}

/* ------------------------------------------------------------------ K-quants: dequantize */

static void dequantize_q2_K(const void *src, float *y, int64_t n) {
    const block_q2_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        /* element e: 128-half h, within it 2-bit plane p = (e%128)/32, byte (e%32) of qs[32h..] */
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            int q = (x[i].qs[32 * h + l] >> (2 * p)) & 3;
            uint8_t sc = x[i].scales[e / 16];
            *y++ = d * (sc & 15) * q - dmin * (sc >> 4);
        }
    }
}

/* The 16 signed 6-bit scales of a q3_K super-block. */
static void q3_K_scales(const uint8_t *s, int *out) {
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? s[i] & 15 : s[i - 8] >> 4;
        int hi = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
        out[i] = (lo | hi << 4) - 32;
    }
}

static void dequantize_q3_K(const void *src, float *y, int64_t n) {
    const block_q3_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = H2F(x[i].d);
        int sc[16];
        q3_K_scales(x[i].scales, sc);
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            int q = (x[i].qs[32 * h + l] >> (2 * p)) & 3;
            int high = (x[i].hmask[l] >> (4 * h + p)) & 1;
            *y++ = d * sc[e / 16] * (q - (high ? 0 : 4));
        }
    }
}

static void dequantize_q4_K(const void *src, float *y, int64_t n) {
    const block_q4_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        for (int j = 0; j < 8; j++) {  /* sub-block j: nibble j%2 of qs[32*(j/2) ..] */
            uint8_t sc, m;
            smol_k4_scale_min(j, x[i].scales, &sc, &m);
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            for (int l = 0; l < 32; l++) *y++ = d * sc * ((q[l] >> (4 * (j & 1))) & 15) - dmin * m;
        }
    }
}

static void dequantize_q5_K(const void *src, float *y, int64_t n) {
    const block_q5_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = H2F(x[i].d), dmin = H2F(x[i].dmin);
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            smol_k4_scale_min(j, x[i].scales, &sc, &m);
            const uint8_t *q = x[i].qs + 32 * (j / 2);
            for (int l = 0; l < 32; l++) {
                int v = ((q[l] >> (4 * (j & 1))) & 15) | ((x[i].qh[l] >> j) & 1) << 4;
                *y++ = d * sc * v - dmin * m;
            }
        }
    }
}

static void dequantize_q6_K(const void *src, float *y, int64_t n) {
    const block_q6_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = H2F(x[i].d);
        for (int e = 0; e < QK_K; e++) {
            /* 128-half h; quarter p = (e%128)/32: low nibbles of ql[64h + l (+32 if p odd)],
             * high nibbles for p >= 2; two bits 2p of qh[32h + l] on top. */
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            int lo = (x[i].ql[64 * h + l + 32 * (p & 1)] >> (4 * (p >> 1))) & 15;
            int hi = (x[i].qh[32 * h + l] >> (2 * p)) & 3;
            *y++ = d * x[i].scales[e / 16] * ((lo | hi << 4) - 32);
        }
    }
}

static void dequantize_q8_K(const void *src, float *y, int64_t n) {
    const block_q8_K *x = src;
    for (int64_t i = 0; i < n / QK_K; i++)
        for (int j = 0; j < QK_K; j++) *y++ = x[i].d * x[i].qs[j];
}

/* ------------------------------------------------------------------ K-quants: quantize */

/* Fits x ~ scale * L + min (min <= 0, L in 0..nmax) minimising the weighted squared error,
 * trying nstep+1 candidate scales around the min/max fit and a least-squares refit of each.
 * Returns scale; *neg_min receives -min. */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L,
                           float *neg_min, float rmin, float rdelta, int nstep) {
    float lo = x[0], hi = x[0], sum_w = w[0], sum_x = w[0] * x[0];
    for (int i = 1; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {
        memset(L, 0, (size_t)n);
        *neg_min = -lo;
        return 0;
    }
    float iscale = nmax / (hi - lo), scale = 1 / iscale, best = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - lo));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * L[i] + lo - x[i];
        best += w[i] * diff * diff;
    }
    for (int s = 0; s <= nstep; s++) {
        float is = (rmin + rdelta * s + nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        uint8_t Lt[32];
        for (int i = 0; i < n; i++) {
            int l = nearest_int(is * (x[i] - lo));
            Lt[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
            sum_l += w[i] * Lt[i];
            sum_l2 += w[i] * Lt[i] * Lt[i];
            sum_xl += w[i] * Lt[i] * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D <= 0) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = this_scale * Lt[i] + this_min - x[i];
            err += w[i] * diff * diff;
        }
        if (err < best) {
            memcpy(L, Lt, (size_t)n);
            best = err;
            scale = this_scale;
            lo = this_min;
        }
    }
    *neg_min = -lo;
    return scale;
}

/* Sub-block scales/mins of a q4_K/q5_K super-block (nmax 15 or 31): fills the 12 packed
 * bytes and d/dmin, and the final quants L (0..nmax) recomputed with the rounded scales. */
static void quantize_k4_block(const float *x, int nmax, float rmin, int nstep, uint8_t *packed,
                              uint16_t *d_out, uint16_t *dmin_out, uint8_t *L) {
    float scales[8], mins[8], w[32], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += xs[l] * xs[l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) w[l] = av_x + fabsf(xs[l]);
        scales[j] = fit_scale_min(32, nmax, xs, w, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63 / max_scale : 0, inv_min = max_min > 0 ? 63 / max_min : 0;
    memset(packed, 0, 12);
    for (int j = 0; j < 8; j++) {
        int ls = nearest_int(inv_scale * scales[j]), lm = nearest_int(inv_min * mins[j]);
        ls = ls > 63 ? 63 : ls;
        lm = lm > 63 ? 63 : lm;
        if (j < 4) {
            packed[j] |= (uint8_t)ls;
            packed[j + 4] |= (uint8_t)lm;
        } else {
            packed[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
            packed[j - 4] |= (uint8_t)((ls >> 4) << 6);
            packed[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d_out = F2H(max_scale / 63);
    *dmin_out = F2H(max_min / 63);
    float d = H2F(*d_out), dmin = H2F(*dmin_out);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        smol_k4_scale_min(j, packed, &sc, &m);
        float ds = d * sc, dm = dmin * m;
        if (!ds) continue;
        for (int l = 0; l < 32; l++) {
            int q = nearest_int((x[32 * j + l] + dm) / ds);
            L[32 * j + l] = (uint8_t)(q < 0 ? 0 : q > nmax ? nmax : q);
        }
    }
}

static void quantize_q4_K(const float *x, void *dst, int64_t n) {
    block_q4_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        uint8_t L[QK_K];
        quantize_k4_block(x, 15, -1.0f, 20, y[i].scales, &y[i].d, &y[i].dmin, L);
        for (int j = 0; j < 4; j++)  /* 64 elements per 32 bytes: low nibble first 32 */
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * j + l] = (uint8_t)(L[64 * j + l] | L[64 * j + 32 + l] << 4);
    }
}

static void quantize_q5_K(const float *x, void *dst, int64_t n) {
    block_q5_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        uint8_t L[QK_K];
        quantize_k4_block(x, 31, -0.5f, 15, y[i].scales, &y[i].d, &y[i].dmin, L);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) {
                int a = L[64 * j + l], b = L[64 * j + 32 + l];
                y[i].qs[32 * j + l] = (uint8_t)((a & 15) | (b & 15) << 4);
                y[i].qh[l] |= (uint8_t)((a >> 4) << (2 * j) | (b >> 4) << (2 * j + 1));
            }
    }
}

/* Symmetric fit x ~ scale * l, l in -nmax..nmax-1, weighted by x^2: tries 19 inverse scales
 * around -nmax/max and keeps the least-squares scale of the best one. Returns scale. */
static float fit_scale_sym(int n, int nmax, const float *x) {
    float amax, max = signed_absmax(x, n, &amax);
    if (amax < 1e-30f) return 0;
    float best_scale = 0, best = 0;
    for (int s = -9; s <= 9; s++) {
        float iscale = -(nmax + 0.1f * s) / max, sum_lx = 0, sum_l2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sum_lx += w * x[i] * l;
            sum_l2 += w * l * l;
        }
        /* the squared error falls as sum_lx^2 / sum_l2 grows */
        if (sum_l2 > 0 && sum_lx * sum_lx / sum_l2 > best) {
            best = sum_lx * sum_lx / sum_l2;
            best_scale = sum_lx / sum_l2;
        }
    }
    return best_scale;
}

static void quantize_q6_K(const float *x, void *dst, int64_t n) {
    block_q6_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float scales[16], max_scale = 0, amax_scale = 0;
        for (int j = 0; j < 16; j++) {
            scales[j] = fit_scale_sym(16, 32, x + 16 * j);
            if (fabsf(scales[j]) > amax_scale) { amax_scale = fabsf(scales[j]); max_scale = scales[j]; }
        }
        uint8_t L[QK_K];
        memset(L, 32, sizeof L);
        memset(y[i].scales, 0, sizeof y[i].scales);
        y[i].d = 0;
        if (amax_scale > 0) {
            float iscale = -128.0f / max_scale;
            y[i].d = F2H(1 / iscale);
            float d = H2F(y[i].d);
            for (int j = 0; j < 16; j++) {
                int sc = nearest_int(iscale * scales[j]);
                y[i].scales[j] = (int8_t)(sc > 127 ? 127 : sc);
                float ds = d * y[i].scales[j];
                if (!ds) continue;
                for (int l = 0; l < 16; l++) {
                    int q = nearest_int(x[16 * j + l] / ds);
                    L[16 * j + l] = (uint8_t)((q < -32 ? -32 : q > 31 ? 31 : q) + 32);
                }
            }
        }
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const uint8_t *q = L + 128 * h + l;  /* q[0], q[32], q[64], q[96] */
                y[i].ql[64 * h + l] = (uint8_t)((q[0] & 15) | (q[64] & 15) << 4);
                y[i].ql[64 * h + l + 32] = (uint8_t)((q[32] & 15) | (q[96] & 15) << 4);
                y[i].qh[32 * h + l] = (uint8_t)(q[0] >> 4 | (q[32] >> 4) << 2 | (q[64] >> 4) << 4 | (q[96] >> 4) << 6);
            }
    }
}

void smol_quantize_q8_K_ref(const float *x, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++, x += QK_K) {
        float amax, max = signed_absmax(x, QK_K, &amax);
        memset(y[i].bsums, 0, sizeof y[i].bsums);
        if (!amax) {
            y[i].d = 0;
            memset(y[i].qs, 0, QK_K);
            continue;
        }
        float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v > 127 ? 127 : v);
            y[i].bsums[j / 16] = (int16_t)(y[i].bsums[j / 16] + y[i].qs[j]);
        }
        y[i].d = 1 / iscale;
    }
}

/* ------------------------------------------------------------------ scalar dot products */

static void dot_f32(int64_t n, float *out, const void *w, const void *x) {
    const float *a = w, *b = x;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    *out = (float)s;
}

static void dot_f16(int64_t n, float *out, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)H2F(a[i]) * b[i];
    *out = (float)s;
}

static void dot_bf16(int64_t n, float *out, const void *w, const void *x) {
    const uint16_t *a = w;
    const float *b = x;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)smol_bf16_to_f32(a[i]) * b[i];
    *out = (float)s;
}

/* sum(q[j] * y[j]) and sum(y[j]) over one block of 32. */
static int idot32(const int *q, const int8_t *y, int *ysum) {
    int s = 0, t = 0;
    for (int j = 0; j < QK; j++) {
        s += q[j] * y[j];
        t += y[j];
    }
    if (ysum) *ysum = t;
    return s;
}

static void dot_q4_0(int64_t n, float *out, const void *w, const void *x) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++) {
        int q[QK];
        for (int j = 0; j < 16; j++) { q[j] = (a[i].qs[j] & 15) - 8; q[j + 16] = (a[i].qs[j] >> 4) - 8; }
        s += (float)idot32(q, b[i].qs, NULL) * (H2F(a[i].d) * H2F(b[i].d));
    }
    *out = s;
}

static void dot_q4_1(int64_t n, float *out, const void *w, const void *x) {
    const block_q4_1 *a = w;
    const block_q8_0 *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++) {
        int q[QK], ysum;
        for (int j = 0; j < 16; j++) { q[j] = a[i].qs[j] & 15; q[j + 16] = a[i].qs[j] >> 4; }
        int isum = idot32(q, b[i].qs, &ysum);
        float dy = H2F(b[i].d);
        s += (float)isum * (H2F(a[i].d) * dy) + (float)ysum * (H2F(a[i].m) * dy);
    }
    *out = s;
}

static void dot_q5_0(int64_t n, float *out, const void *w, const void *x) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++) {
        int q[QK];
        get_q5(a[i].qs, a[i].qh, q);
        for (int j = 0; j < QK; j++) q[j] -= 16;
        s += (float)idot32(q, b[i].qs, NULL) * (H2F(a[i].d) * H2F(b[i].d));
    }
    *out = s;
}

static void dot_q5_1(int64_t n, float *out, const void *w, const void *x) {
    const block_q5_1 *a = w;
    const block_q8_0 *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++) {
        int q[QK], ysum;
        get_q5(a[i].qs, a[i].qh, q);
        int isum = idot32(q, b[i].qs, &ysum);
        float dy = H2F(b[i].d);
        s += (float)isum * (H2F(a[i].d) * dy) + (float)ysum * (H2F(a[i].m) * dy);
    }
    *out = s;
}

static void dot_q8_0(int64_t n, float *out, const void *w, const void *x) {
    const block_q8_0 *a = w;
    const block_q8_0 *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK; i++) {
        int isum = 0;
        for (int j = 0; j < QK; j++) isum += a[i].qs[j] * b[i].qs[j];
        s += (float)isum * (H2F(a[i].d) * H2F(b[i].d));
    }
    *out = s;
}

static void axpy_f32(int64_t n, float a, const void *v, float *acc) {
    const float *p = v;
    for (int64_t i = 0; i < n; i++) acc[i] += a * p[i];
}

static void axpy_f16(int64_t n, float a, const void *v, float *acc) {
    const uint16_t *p = v;
    for (int64_t i = 0; i < n; i++) acc[i] += a * H2F(p[i]);
}

/* The strided-rows kernels from the single-row ones: the same sums in the same order. */
static void rows_dot_f32(int64_t n, int64_t m, const void *rows, size_t stride, const float *x, float *out) {
    for (int64_t p = 0; p < m; p++) dot_f32(n, &out[p], (const uint8_t *)rows + (size_t)p * stride, x);
}

static void rows_dot_f16(int64_t n, int64_t m, const void *rows, size_t stride, const float *x, float *out) {
    for (int64_t p = 0; p < m; p++) dot_f16(n, &out[p], (const uint8_t *)rows + (size_t)p * stride, x);
}

static void rows_axpy_f32(int64_t n, int64_t m, const void *rows, size_t stride, const float *a, float *acc) {
    for (int64_t p = 0; p < m; p++) axpy_f32(n, a[p], (const uint8_t *)rows + (size_t)p * stride, acc);
}

static void rows_axpy_f16(int64_t n, int64_t m, const void *rows, size_t stride, const float *a, float *acc) {
    for (int64_t p = 0; p < m; p++) axpy_f16(n, a[p], (const uint8_t *)rows + (size_t)p * stride, acc);
}

/* Sum over the 16 sub-blocks of 16 of scale[s] * sum(q * y). */
static int idot_k16(const int *q, const int *scale, const int8_t *y) {
    int total = 0;
    for (int s = 0; s < 16; s++) {
        int sub = 0;
        for (int l = 0; l < 16; l++) sub += q[16 * s + l] * y[16 * s + l];
        total += scale[s] * sub;
    }
    return total;
}

static void dot_q2_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int q[QK_K], sc[16], summs = 0;
        for (int e = 0; e < QK_K; e++) q[e] = (a[i].qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        for (int k = 0; k < 16; k++) {
            sc[k] = a[i].scales[k] & 15;
            summs += (a[i].scales[k] >> 4) * b[i].bsums[k];
        }
        int isum = idot_k16(q, sc, b[i].qs);
        s += b[i].d * H2F(a[i].d) * (float)isum - b[i].d * H2F(a[i].dmin) * (float)summs;
    }
    *out = s;
}

static void dot_q3_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int q[QK_K], sc[16];
        q3_K_scales(a[i].scales, sc);
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            int high = (a[i].hmask[l] >> (4 * h + p)) & 1;
            q[e] = ((a[i].qs[32 * h + l] >> (2 * p)) & 3) - (high ? 0 : 4);
        }
        s += b[i].d * H2F(a[i].d) * (float)idot_k16(q, sc, b[i].qs);
    }
    *out = s;
}

/* One q4_K / q5_K super-block dotted with q8_K; qh gives the fifth bits (NULL for q4_K). */
static float dot_k4_block(const uint8_t *scales, const uint8_t *qs, const uint8_t *qh, float d,
                          float dmin, const block_q8_K *b) {
    int isum = 0, summs = 0;
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        smol_k4_scale_min(j, scales, &sc, &m);
        int sub = 0;
        for (int l = 0; l < 32; l++) {
            int q = (qs[32 * (j / 2) + l] >> (4 * (j & 1))) & 15;
            if (qh) q |= ((qh[l] >> j) & 1) << 4;
            sub += q * b->qs[32 * j + l];
        }
        isum += sc * sub;
        summs += m * (b->bsums[2 * j] + b->bsums[2 * j + 1]);
    }
    return b->d * d * (float)isum - b->d * dmin * (float)summs;
}

static void dot_q4_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++)
        s += dot_k4_block(a[i].scales, a[i].qs, NULL, H2F(a[i].d), H2F(a[i].dmin), &b[i]);
    *out = s;
}

static void dot_q5_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++)
        s += dot_k4_block(a[i].scales, a[i].qs, a[i].qh, H2F(a[i].d), H2F(a[i].dmin), &b[i]);
    *out = s;
}

static void dot_q6_K(int64_t n, float *out, const void *w, const void *x) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    float s = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int q[QK_K], sc[16];
        for (int e = 0; e < QK_K; e++) {
            int h = e / 128, p = (e % 128) / 32, l = e % 32;
            int lo = (a[i].ql[64 * h + l + 32 * (p & 1)] >> (4 * (p >> 1))) & 15;
            int hi = (a[i].qh[32 * h + l] >> (2 * p)) & 3;
            q[e] = (lo | hi << 4) - 32;
        }
        for (int k = 0; k < 16; k++) sc[k] = a[i].scales[k];
        s += b[i].d * H2F(a[i].d) * (float)idot_k16(q, sc, b[i].qs);
    }
    *out = s;
}

/* ------------------------------------------------------------------ tables and dispatch */

const smol_quant_kernels smol_quant_scalar = {
    .vec_dot = {
        [SMOL_F32] = dot_f32, [SMOL_F16] = dot_f16, [SMOL_BF16] = dot_bf16,
        [SMOL_Q4_0] = dot_q4_0, [SMOL_Q4_1] = dot_q4_1, [SMOL_Q5_0] = dot_q5_0,
        [SMOL_Q5_1] = dot_q5_1, [SMOL_Q8_0] = dot_q8_0, [SMOL_Q2_K] = dot_q2_K,
        [SMOL_Q3_K] = dot_q3_K, [SMOL_Q4_K] = dot_q4_K, [SMOL_Q5_K] = dot_q5_K,
        [SMOL_Q6_K] = dot_q6_K,
    },
    .quantize_q8_0 = smol_quantize_q8_0_ref,
    .quantize_q8_K = smol_quantize_q8_K_ref,
    .axpy = {[SMOL_F32] = axpy_f32, [SMOL_F16] = axpy_f16},
    .rows_dot = {[SMOL_F32] = rows_dot_f32, [SMOL_F16] = rows_dot_f16},
    .rows_axpy = {[SMOL_F32] = rows_axpy_f32, [SMOL_F16] = rows_axpy_f16},
};

/* The AVX-512 kernels use VNNI too; CPUs without it take the AVX2 ones. */
static int has_avx512_vnni(void) { return smol_cpu_has_avx512() && smol_cpu_get()->avx512vnni; }

/* The table of the best level the CPU allows (SMOL_CPU caps it). */
static const smol_quant_kernels *best_kernels(void) {
#if defined(__x86_64__)
    if (has_avx512_vnni()) return &smol_quant_avx512;
    if (smol_cpu_has_avx2()) return &smol_quant_avx2;
#endif
    return &smol_quant_scalar;
}

static void quantize_f16(const float *x, void *dst, int64_t n) {
    uint16_t *y = dst;
    for (int64_t i = 0; i < n; i++) y[i] = F2H(x[i]);
}

static void quantize_bf16(const float *x, void *dst, int64_t n) {
    uint16_t *y = dst;
    for (int64_t i = 0; i < n; i++) y[i] = smol_f32_to_bf16(x[i]);
}

static void quantize_f32(const float *x, void *dst, int64_t n) { memcpy(dst, x, (size_t)n * sizeof(float)); }

int smol_quantize_row(uint32_t t, const float *src, void *dst, int64_t n) {
    const smol_dtype_info *ti = smol_dtype_get(t);
    if (!ti || n < 0 || n % ti->block) return SMOL_EINVAL;
    smol_quantize_fn fn = NULL;
    switch (t) {
    case SMOL_F32: fn = quantize_f32; break;
    case SMOL_F16: fn = quantize_f16; break;
    case SMOL_BF16: fn = quantize_bf16; break;
    case SMOL_Q4_0: fn = quantize_q4_0; break;
    case SMOL_Q4_1: fn = quantize_q4_1; break;
    case SMOL_Q5_0: fn = quantize_q5_0; break;
    case SMOL_Q5_1: fn = quantize_q5_1; break;
    case SMOL_Q8_0: fn = best_kernels()->quantize_q8_0; break;
    case SMOL_Q8_1: fn = quantize_q8_1; break;
    case SMOL_Q4_K: fn = quantize_q4_K; break;
    case SMOL_Q5_K: fn = quantize_q5_K; break;
    case SMOL_Q6_K: fn = quantize_q6_K; break;
    case SMOL_Q8_K: fn = best_kernels()->quantize_q8_K; break;
    default: return SMOL_EUNSUPPORTED;
    }
    fn(src, dst, n);
    return SMOL_OK;
}

static void dequantize_f32(const void *src, float *y, int64_t n) { memcpy(y, src, (size_t)n * sizeof(float)); }

static void dequantize_f16(const void *src, float *y, int64_t n) {
    const uint16_t *x = src;
    for (int64_t i = 0; i < n; i++) y[i] = H2F(x[i]);
}

static void dequantize_bf16(const void *src, float *y, int64_t n) {
    const uint16_t *x = src;
    for (int64_t i = 0; i < n; i++) y[i] = smol_bf16_to_f32(x[i]);
}

int smol_dequantize_row(uint32_t t, const void *src, float *dst, int64_t n) {
    const smol_dtype_info *ti = smol_dtype_get(t);
    if (!ti || n < 0 || n % ti->block) return SMOL_EINVAL;
    void (*fn)(const void *, float *, int64_t) = NULL;
    switch (t) {
    case SMOL_F32: fn = dequantize_f32; break;
    case SMOL_F16: fn = dequantize_f16; break;
    case SMOL_BF16: fn = dequantize_bf16; break;
    case SMOL_Q4_0: fn = dequantize_q4_0; break;
    case SMOL_Q4_1: fn = dequantize_q4_1; break;
    case SMOL_Q5_0: fn = dequantize_q5_0; break;
    case SMOL_Q5_1: fn = dequantize_q5_1; break;
    case SMOL_Q8_0: fn = dequantize_q8_0; break;
    case SMOL_Q8_1: fn = dequantize_q8_1; break;
    case SMOL_Q2_K: fn = dequantize_q2_K; break;
    case SMOL_Q3_K: fn = dequantize_q3_K; break;
    case SMOL_Q4_K: fn = dequantize_q4_K; break;
    case SMOL_Q5_K: fn = dequantize_q5_K; break;
    case SMOL_Q6_K: fn = dequantize_q6_K; break;
    case SMOL_Q8_K: fn = dequantize_q8_K; break;
    default: return SMOL_EUNSUPPORTED;
    }
    fn(src, dst, n);
    return SMOL_OK;
}

uint32_t smol_vec_dot_type(uint32_t t) {
    switch (t) {
    case SMOL_Q4_0: case SMOL_Q4_1: case SMOL_Q5_0: case SMOL_Q5_1: case SMOL_Q8_0: return SMOL_Q8_0;
    case SMOL_Q2_K: case SMOL_Q3_K: case SMOL_Q4_K: case SMOL_Q5_K: case SMOL_Q6_K: return SMOL_Q8_K;
    default: return SMOL_F32;  /* f32, f16, bf16 weights take f32 activations */
    }
}

smol_vec_dot_fn smol_get_vec_dot_level(uint32_t t, int level) {
    if (t >= SMOL_DTYPE_COUNT) return NULL;
    switch (level) {
    case SMOL_SIMD_SCALAR: return smol_quant_scalar.vec_dot[t];
#if defined(__x86_64__)
    case SMOL_SIMD_AVX2: return smol_cpu_has_avx2() ? smol_quant_avx2.vec_dot[t] : NULL;
    case SMOL_SIMD_AVX512: return has_avx512_vnni() ? smol_quant_avx512.vec_dot[t] : NULL;
#endif
    default: return NULL;
    }
}

smol_gemm4_fn smol_get_gemm4_level(uint32_t t, int level) {
    if (t >= SMOL_DTYPE_COUNT) return NULL;
    switch (level) {
#if defined(__x86_64__)
    case SMOL_SIMD_AVX2: return smol_cpu_has_avx2() ? smol_quant_avx2.gemm4[t] : NULL;
    case SMOL_SIMD_AVX512: return has_avx512_vnni() ? smol_quant_avx512.gemm4[t] : NULL;
#endif
    default: return NULL;  /* no scalar tile kernel: four dots do the same */
    }
}

smol_gemm4_fn smol_get_gemm4(uint32_t t) {
    for (int level = SMOL_SIMD_AVX512; level > SMOL_SIMD_SCALAR; level--) {
        smol_gemm4_fn fn = smol_get_gemm4_level(t, level);
        if (fn) return fn;
    }
    return NULL;
}

smol_axpy_fn smol_get_axpy_level(uint32_t t, int level) {
    if (t >= SMOL_DTYPE_COUNT) return NULL;
    switch (level) {
    case SMOL_SIMD_SCALAR: return smol_quant_scalar.axpy[t];
#if defined(__x86_64__)
    case SMOL_SIMD_AVX2: return smol_cpu_has_avx2() ? smol_quant_avx2.axpy[t] : NULL;
    case SMOL_SIMD_AVX512: return has_avx512_vnni() ? smol_quant_avx512.axpy[t] : NULL;
#endif
    default: return NULL;
    }
}

smol_axpy_fn smol_get_axpy(uint32_t t) {
    for (int level = SMOL_SIMD_AVX512; level >= SMOL_SIMD_SCALAR; level--) {
        smol_axpy_fn fn = smol_get_axpy_level(t, level);
        if (fn) return fn;
    }
    return NULL;
}

/* The kernel of table field F for type t at one level (NULL if none or the CPU lacks it). */
#if defined(__x86_64__)
#define LEVEL_PICK(F, t, level) \
    ((t) >= SMOL_DTYPE_COUNT ? NULL : (level) == SMOL_SIMD_SCALAR ? smol_quant_scalar.F[t] \
     : (level) == SMOL_SIMD_AVX2 ? (smol_cpu_has_avx2() ? smol_quant_avx2.F[t] : NULL) \
     : (level) == SMOL_SIMD_AVX512 ? (has_avx512_vnni() ? smol_quant_avx512.F[t] : NULL) : NULL)
#else
#define LEVEL_PICK(F, t, level) ((t) < SMOL_DTYPE_COUNT && (level) == SMOL_SIMD_SCALAR ? smol_quant_scalar.F[t] : NULL)
#endif

smol_rows_dot_fn smol_get_rows_dot_level(uint32_t t, int level) { return LEVEL_PICK(rows_dot, t, level); }

smol_rows_axpy_fn smol_get_rows_axpy_level(uint32_t t, int level) { return LEVEL_PICK(rows_axpy, t, level); }

smol_rows_dot_fn smol_get_rows_dot(uint32_t t) {
    for (int level = SMOL_SIMD_AVX512; level >= SMOL_SIMD_SCALAR; level--)
        if (smol_get_rows_dot_level(t, level)) return smol_get_rows_dot_level(t, level);
    return NULL;
}

smol_rows_axpy_fn smol_get_rows_axpy(uint32_t t) {
    for (int level = SMOL_SIMD_AVX512; level >= SMOL_SIMD_SCALAR; level--)
        if (smol_get_rows_axpy_level(t, level)) return smol_get_rows_axpy_level(t, level);
    return NULL;
}

smol_tile_q_fn smol_get_tile_q_level(uint32_t t, int level) {
    if (t >= SMOL_DTYPE_COUNT) return NULL;
#if defined(__x86_64__)
    if (level == SMOL_SIMD_AVX512) return has_avx512_vnni() ? smol_quant_avx512.tile_q[t] : NULL;
#endif
    (void)level;
    return NULL;  /* no scalar tile kernel: single dots do the same */
}

smol_tile_q_fn smol_get_tile_q(uint32_t t) { return smol_get_tile_q_level(t, SMOL_SIMD_AVX512); }

smol_vec_dot_fn smol_get_vec_dot(uint32_t t) {
    for (int level = SMOL_SIMD_AVX512; level > SMOL_SIMD_SCALAR; level--) {
        smol_vec_dot_fn fn = smol_get_vec_dot_level(t, level);
        if (fn) return fn;
    }
    return smol_get_vec_dot_level(t, SMOL_SIMD_SCALAR);
}
