/* minhash_avx512.c: AVX-512 paths of the MinHash signature (built with AVX-512 flags, called
 * only after smol_cpu_has_avx512()): SHA-1 of 16 one-block shingles at once, and the
 * permutations (a*h + b) mod 2^64 mod (2^61 - 1) with their running minimum, 8 hashes at a time.
 * Both give exactly the scalar results. */
#include "data/minhash.h"
#include <immintrin.h>
#include <string.h>

void smol_minhash_sha1x16_avx512(const char *const *msg, const size_t *len, int n, uint64_t *out);
void smol_minhash_perm_avx512(const uint64_t *h, size_t n_h, const uint64_t *a, const uint64_t *b, int n_hashes,
                              uint64_t *sig);

static inline __m512i f_ch(__m512i b, __m512i c, __m512i d) { return _mm512_ternarylogic_epi32(b, c, d, 0xCA); }
static inline __m512i f_par(__m512i b, __m512i c, __m512i d) { return _mm512_ternarylogic_epi32(b, c, d, 0x96); }
static inline __m512i f_maj(__m512i b, __m512i c, __m512i d) { return _mm512_ternarylogic_epi32(b, c, d, 0xE8); }

/* SHA-1 of n <= 16 messages of at most 55 bytes each (one padded block); out[i] is the
 * little-endian value of the first 8 digest bytes. */
void smol_minhash_sha1x16_avx512(const char *const *msg, const size_t *len, int n, uint64_t *out) {
    uint32_t blk[16][16];  /* [word][lane] */
    memset(blk, 0, sizeof blk);
    for (int l = 0; l < n; l++) {
        uint8_t b[64] = {0};
        memcpy(b, msg[l], len[l]);
        b[len[l]] = 0x80;
        uint64_t bits = (uint64_t)len[l] * 8;
        for (int i = 0; i < 8; i++) b[63 - i] = (uint8_t)(bits >> (8 * i));
        for (int t = 0; t < 16; t++)
            blk[t][l] = (uint32_t)b[4 * t] << 24 | (uint32_t)b[4 * t + 1] << 16 | (uint32_t)b[4 * t + 2] << 8 | b[4 * t + 3];
    }
    __m512i w[16];
    for (int t = 0; t < 16; t++) w[t] = _mm512_loadu_si512(blk[t]);
    __m512i a = _mm512_set1_epi32(0x67452301), bb = _mm512_set1_epi32((int)0xEFCDAB89u);
    __m512i c = _mm512_set1_epi32((int)0x98BADCFEu), d = _mm512_set1_epi32(0x10325476);
    __m512i e = _mm512_set1_epi32((int)0xC3D2E1F0u);
    const __m512i a0 = a, b0 = bb, c0 = c, d0 = d, e0 = e;
    for (int i = 0; i < 80; i++) {
        __m512i wi;
        if (i < 16) wi = w[i];
        else {
            wi = _mm512_rol_epi32(_mm512_xor_si512(_mm512_xor_si512(w[(i - 3) & 15], w[(i - 8) & 15]),
                                                   _mm512_xor_si512(w[(i - 14) & 15], w[i & 15])), 1);
            w[i & 15] = wi;
        }
        __m512i f, k;
        if (i < 20) f = f_ch(bb, c, d), k = _mm512_set1_epi32(0x5A827999);
        else if (i < 40) f = f_par(bb, c, d), k = _mm512_set1_epi32(0x6ED9EBA1);
        else if (i < 60) f = f_maj(bb, c, d), k = _mm512_set1_epi32((int)0x8F1BBCDCu);
        else f = f_par(bb, c, d), k = _mm512_set1_epi32((int)0xCA62C1D6u);
        __m512i t = _mm512_add_epi32(_mm512_add_epi32(_mm512_rol_epi32(a, 5), f),
                                     _mm512_add_epi32(_mm512_add_epi32(e, k), wi));
        e = d, d = c, c = _mm512_rol_epi32(bb, 30), bb = a, a = t;
    }
    uint32_t h0[16], h1[16];
    _mm512_storeu_si512(h0, _mm512_add_epi32(a, a0));
    _mm512_storeu_si512(h1, _mm512_add_epi32(bb, b0));
    (void)c0, (void)d0, (void)e0;
    for (int l = 0; l < n; l++)
        out[l] = (uint64_t)__builtin_bswap32(h1[l]) << 32 | __builtin_bswap32(h0[l]);
}

/* sig[i] = min over the n_h shingle hashes of (a[i]*h + b[i]) mod 2^64 mod (2^61 - 1), for
 * i < n_hashes; n_hashes need not be a multiple of 8 (the tail is masked). */
void smol_minhash_perm_avx512(const uint64_t *h, size_t n_h, const uint64_t *a, const uint64_t *b, int n_hashes,
                              uint64_t *sig) {
    const __m512i p = _mm512_set1_epi64((long long)((UINT64_C(1) << 61) - 1));
    for (int i = 0; i < n_hashes; i += 8) {
        __mmask8 m = n_hashes - i >= 8 ? 0xFF : (__mmask8)((1u << (n_hashes - i)) - 1);
        __m512i va = _mm512_maskz_loadu_epi64(m, a + i), vb = _mm512_maskz_loadu_epi64(m, b + i);
        __m512i acc = _mm512_set1_epi64(-1);
        for (size_t s = 0; s < n_h; s++) {
            __m512i v = _mm512_add_epi64(_mm512_mullo_epi64(_mm512_set1_epi64((long long)h[s]), va), vb);
            __m512i r = _mm512_add_epi64(_mm512_and_si512(v, p), _mm512_srli_epi64(v, 61));
            r = _mm512_min_epu64(r, _mm512_sub_epi64(r, p));
            acc = _mm512_min_epu64(acc, r);
        }
        _mm512_mask_storeu_epi64(sig + i, m, acc);
    }
}
