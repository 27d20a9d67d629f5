/* quant.h: converting rows between f32 and the stored tensor types, and the dot-product
 * kernels the matrix multiplications are built from. Block layouts are GGML's, bit for bit,
 * so GGUF files written by llama.cpp load unchanged.
 *
 * A weight row of type t is dotted with an activation row already converted to
 * smol_vec_dot_type(t) (q8_0 for the 32-blocks, q8_K for the K-quants, f32 for f32, ...).
 * Every kernel has a scalar reference; SIMD twins are chosen at run time (base/cpu.h). */
#ifndef SMOL_MODEL_QUANT_H
#define SMOL_MODEL_QUANT_H
#include <stddef.h>
#include <stdint.h>

enum smol_simd_level { SMOL_SIMD_SCALAR = 0, SMOL_SIMD_AVX2 = 1, SMOL_SIMD_AVX512 = 2 };

/* Converts n floats (a multiple of the type's block) to type t in dst.
 * Returns 0, or SMOL_EUNSUPPORTED for a type with no quantizer. */
int smol_quantize_row(uint32_t t, const float *src, void *dst, int64_t n);

/* Converts n elements of type t to floats. Returns 0 or SMOL_EUNSUPPORTED. */
int smol_dequantize_row(uint32_t t, const void *src, float *dst, int64_t n);

/* The type activations are converted to before a dot product with weights of type t. */
uint32_t smol_vec_dot_type(uint32_t t);

/* *out = sum over n elements of w[i] * x[i]; w is of the weight type, x of its vec_dot_type. */
typedef void (*smol_vec_dot_fn)(int64_t n, float *out, const void *w, const void *x);

/* The fastest kernel for weight type t on this CPU, or NULL if t has none. */
smol_vec_dot_fn smol_get_vec_dot(uint32_t t);

/* The kernel of one SIMD level (for tests comparing each path with the scalar one);
 * NULL if that level has no kernel for t or the CPU lacks it. */
smol_vec_dot_fn smol_get_vec_dot_level(uint32_t t, int level);

/* A 4x4 tile of a matrix product for float weight types (f32, f16, bf16) with f32
 * activations: y[b * y_stride + r] = dot(w row r, x row b) for r, b < 4, where w row r starts
 * at byte r * w_row_bytes and x row b at x + b * n. n is any length. Only the accumulation
 * order differs from four smol_get_vec_dot(t) calls per activation row. */
typedef void (*smol_gemm4_fn)(int64_t n, const void *w, size_t w_row_bytes, const float *x, float *y,
                              int64_t y_stride);

/* The fastest 4x4 tile kernel for weight type t on this CPU, or NULL if there is none. */
smol_gemm4_fn smol_get_gemm4(uint32_t t);

/* The tile kernel of one SIMD level (for tests); NULL if none or the CPU lacks that level. */
smol_gemm4_fn smol_get_gemm4_level(uint32_t t, int level);

/* acc[i] += a * v[i] for i < n, v of type f32 or f16 (the attention's value rows). Rounding
 * per element is the scalar one's (a * v, then the add) except where the CPU fuses them. */
typedef void (*smol_axpy_fn)(int64_t n, float a, const void *v, float *acc);

/* The fastest axpy kernel for t (SMOL_F32 or SMOL_F16) on this CPU, or NULL for other types. */
smol_axpy_fn smol_get_axpy(uint32_t t);

/* The axpy kernel of one SIMD level (for tests); NULL if none or the CPU lacks it. */
smol_axpy_fn smol_get_axpy_level(uint32_t t, int level);

/* Strided rows of type f32 or f16 (row p at byte p * stride) against one f32 vector:
 * rows_dot: out[p] = dot(row p, x) for p < m; rows_axpy: acc[i] += sum over p < m of a[p] * row p[i].
 * n elements per row. These are the attention's score and value passes over a KV cache. */
typedef void (*smol_rows_dot_fn)(int64_t n, int64_t m, const void *rows, size_t stride, const float *x, float *out);
typedef void (*smol_rows_axpy_fn)(int64_t n, int64_t m, const void *rows, size_t stride, const float *a, float *acc);

/* The fastest strided-rows kernels for t (SMOL_F32 or SMOL_F16), or NULL for other types. */
smol_rows_dot_fn smol_get_rows_dot(uint32_t t);
smol_rows_axpy_fn smol_get_rows_axpy(uint32_t t);

/* The strided-rows kernels of one SIMD level (for tests); NULL if none or the CPU lacks it. */
smol_rows_dot_fn smol_get_rows_dot_level(uint32_t t, int level);
smol_rows_axpy_fn smol_get_rows_axpy_level(uint32_t t, int level);

/* A tile of a matrix product for quantized weights (q8_0, q4_0, q5_0, q4_K, q5_K, q6_K at the
 * AVX-512 level): y[b * y_stride + r] = dot(w row r, x row b) for r < nr (any count >= 1) and
 * b < nx (1..4), w row r at byte r * w_row_bytes, x row b (blocks of smol_vec_dot_type(t): q8_0,
 * or q8_K for the K-quants) at byte b * x_row_bytes. n is a multiple of t's block. The integer
 * block sums equal the scalar kernel's; the float order differs. Rows go four at a time; with
 * nx == 1 (decode) a call over many rows prepares the activations once for all of them. */
typedef void (*smol_tile_q_fn)(int64_t n, const void *w, size_t w_row_bytes, int nr, const void *x,
                               size_t x_row_bytes, int nx, float *y, int64_t y_stride);

/* The fastest quantized tile kernel for weight type t on this CPU, or NULL if there is none. */
smol_tile_q_fn smol_get_tile_q(uint32_t t);

/* The quantized tile kernel of one SIMD level (for tests); NULL if none or the CPU lacks it. */
smol_tile_q_fn smol_get_tile_q_level(uint32_t t, int level);

#endif
