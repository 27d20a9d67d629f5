/* cpu.h: the CPU feature table, detected once at run time (the one piece of global state).
 * SIMD kernels are chosen by reading it. SMOL_CPU=scalar|avx2|avx512 in the environment caps
 * the level used, so every path can be exercised and compared on one machine. */
#ifndef SMOL_BASE_CPU_H
#define SMOL_BASE_CPU_H

typedef struct smol_cpu {
    int avx2, fma, f16c;                        /* the AVX2 level: all three */
    int avx512f, avx512bw, avx512vl, avx512dq;  /* the AVX-512 level: all four */
    int avx512vnni, avx512bf16, avxvnni;
    int amx_tile, amx_int8, amx_bf16;
    int sse2;                                   /* the 128-bit level (x86-64 baseline); 0 under SMOL_CPU=scalar */
} smol_cpu;

/* The detected features, capped by SMOL_CPU. Thread-safe; detection runs once. */
const smol_cpu *smol_cpu_get(void);

/* 1 if SSE2 may be used (every x86-64 CPU, unless SMOL_CPU=scalar). */
int smol_cpu_has_sse2(void);

/* 1 if the AVX2 level (avx2+fma+f16c) may be used. */
int smol_cpu_has_avx2(void);

/* 1 if the AVX-512 level (f, bw, vl, dq) may be used. */
int smol_cpu_has_avx512(void);

#endif
